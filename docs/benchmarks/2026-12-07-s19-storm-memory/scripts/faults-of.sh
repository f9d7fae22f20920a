#!/bin/bash
# faults-of.sh DIR: page faults per login from storm-ab3 JSON reports
for f in $1/*.json; do python3 -c "
import json;r=json.load(open('$f'));c=r['LoginCpu'];q=r['ResumedLogins'];qc=q['Cpu']
print('%-28s full %5.0f/s gen %5.1f us faults srv %.1f gen %.1f | resumed %5.0f/s srv %5.1f gen %5.1f us faults srv %.1f gen %.1f'%('$f'.split('/')[-1],r['LoginsPerSecond'],c['GeneratorMicrosecondsPerMessage'],c['ServerPageFaultsPerMessage'],c['GeneratorPageFaultsPerMessage'],q['LoginsPerSecond'],qc['ServerMicrosecondsPerMessage'],qc['GeneratorMicrosecondsPerMessage'],qc['ServerPageFaultsPerMessage'],qc['GeneratorPageFaultsPerMessage']))"; done
