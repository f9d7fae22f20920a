import sys,re,collections
pid=sys.argv[1]; depth=int(sys.argv[2]) if len(sys.argv)>2 else 2
c=collections.Counter(); n=0; total=0
cur=None; stack=[]
def flush():
    global n,total
    if cur!=pid or not stack: return
    total+=1
    if 'libcoreclr' not in stack[0][1]: return
    n+=1
    frames=[s for s,d in stack if 'libcoreclr' not in d][:depth]
    # include the first coreclr-adjacent dso name for context
    c[' <- '.join(f[:160] for f in frames)]+=1
for line in sys.stdin:
    m=re.match(r'\s*(\d+)\s+([\d.]+):\s*$',line)
    if m:
        flush(); cur=m.group(1); stack=[]; continue
    m=re.match(r'\s+[0-9a-f]+\s+(.*)\((.*)\)\s*$',line)
    if m: stack.append((m.group(1).strip(), m.group(2).split('/')[-1]))
flush()
print(f"coreclr samples {n} of {total} ({100*n/total:.1f}%)")
for k,v in c.most_common(30): print(f"{100*v/total:5.1f}%  {k}")
