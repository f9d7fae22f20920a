# by-thread.py SCRIPT PID [TOP]: perf samples of one process by thread name; per thread name, the outermost Parley frame
# (the work item that runs) and the top self symbols
import sys, collections, re
path, pid, top = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 8
samples = []
cur = None
for line in open(path, errors='replace'):
    if not line.strip():
        if cur: samples.append(cur)
        cur = None; continue
    if not line.startswith('\t') and not line.startswith(' '):
        m = re.match(r'(.*?)\s+(\d+)/(\d+)', line)
        cur = [m.group(1), m.group(2), []] if m else None
        continue
    if cur is not None:
        parts = line.strip().split(' ', 1)
        cur[2].append(parts[1] if len(parts) > 1 else '?')
if cur: samples.append(cur)
mine = [s for s in samples if s[1] == pid]
n = len(mine)
print(f"pid {pid}: {n} samples")
by = collections.defaultdict(list)
for comm, _, frames in mine:
    by[comm].append(frames)
def short(f):
    f = re.sub(r'\[Optimized.*|\(/.*|\(\[.*', '', f).strip()
    f = re.sub(r'instance |class |valuetype ', '', f)
    return f[:110]
for comm, stacks in sorted(by.items(), key=lambda x: -len(x[1])):
    print(f"== {comm}: {100*len(stacks)/n:.1f}%")
    outer = collections.Counter(); selfs = collections.Counter(); kern = 0
    for frames in stacks:
        selfs[short(frames[0])] += 1
        if 'kernel' in frames[0]: kern += 1
        o = None
        for f in reversed(frames):
            if re.search(r'\[Parley\.\w+\] Parley', f):
                o = f; break
        outer[short(o) if o else '(no Parley frame)'] += 1
    print(f"   kernel self {100*kern/len(stacks):.1f}% of thread")
    print("   outermost Parley frame:")
    for k, v in outer.most_common(top): print(f"     {100*v/n:5.1f}%  {k}")
    print("   self:")
    for k, v in selfs.most_common(top): print(f"     {100*v/n:5.1f}%  {k}")
