#!/usr/bin/env python3
"""Ranges per label over a folder of `parley bench --scenario idle --json` reports (labels: file names without -N.json)."""
import json, sys, glob, os, re, collections
rows = collections.defaultdict(list)
for path in sorted(glob.glob(os.path.join(sys.argv[1], '*.json'))):
    label = re.sub(r'-\d+\.json$', '', os.path.basename(path))
    r = json.load(open(path)); q = r['ResumedLogins']; c = r['LoginCpu']; qc = q['Cpu']
    rows[label].append((r['LoginsPerSecond'], q['LoginsPerSecond'], c['ServerMicrosecondsPerMessage'], qc['ServerMicrosecondsPerMessage'],
                        c['GeneratorMicrosecondsPerMessage'], qc['GeneratorMicrosecondsPerMessage'], qc.get('ServerCores') or 0, qc['GeneratorCores']))
rng = lambda xs, f='%.0f': (f + ' – ' + f) % (min(xs), max(xs))
print('%-16s %3s %-15s %-15s %-17s %-17s %-11s' % ('label', 'n', 'full/s', 'resumed/s', 'srv us full/res', 'gen us full/res', 'cores res'))
for label, rs in rows.items():
    z = list(zip(*rs))
    print('%-16s %3d %-15s %-15s %-17s %-17s %.2f+%.2f' % (label, len(rs), rng(z[0]), rng(z[1]), rng(z[2]) + ' / ', rng(z[4]), sum(z[6]) / len(rs), sum(z[7]) / len(rs)))
    print('%-16s %3s %-15s %-15s %-17s %-17s' % ('', '', '', '', rng(z[3]), rng(z[5])))
