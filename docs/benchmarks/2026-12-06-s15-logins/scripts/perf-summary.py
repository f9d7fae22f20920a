# Shares of a perf script by DSO and symbol (self and inclusive) for one pid, over a time window from its first sample.
# usage: perf script -F pid,time,ip,sym,dso | python3 pa.py PID [t_from t_to] ; prints timeline or window profile
import sys,collections,re
pid=sys.argv[1]; win=(float(sys.argv[2]),float(sys.argv[3])) if len(sys.argv)>3 else None
b=collections.defaultdict(collections.Counter); t0=None
selfc=collections.Counter(); incl=collections.Counter(); dsoc=collections.Counter(); n=0
cur=None; stack=[]
def flush():
    global n
    if cur is None: return
    p,t=cur
    if p!=pid: return
    rel=t-t0
    if win is None:
        if stack: b[int(rel/0.5)][stack[0][1][:14]]+=1
        return
    if not (win[0]<=rel<win[1]) or not stack: return
    n+=1
    selfc[stack[0][0][:100]+' ['+stack[0][1][:12]+']']+=1; dsoc[stack[0][1]]+=1
    seen=set()
    for s,d in stack:
        if s not in seen: seen.add(s); incl[s[:110]]+=1
for line in sys.stdin:
    m=re.match(r'\s*(\d+)\s+([\d.]+):\s*$',line)
    if m:
        flush(); cur=(m.group(1),float(m.group(2))); stack=[]
        if t0 is None: t0=cur[1]
        continue
    m=re.match(r'\s+[0-9a-f]+\s+(.*)\((.*)\)\s*$',line)
    if m: stack.append((m.group(1).strip(), m.group(2).split('/')[-1]))
flush()
if win is None:
    for k in sorted(b):
        tot=sum(b[k].values()); print('%4.1fs %5d '%(k*0.5,tot)+' '.join('%s=%d%%'%(d,100*c/tot) for d,c in b[k].most_common(6)))
else:
    print('samples',n)
    for d,c in dsoc.most_common(10): print('  %5.1f%% %s'%(100*c/n,d))
    print('-- self'); [print('  %5.1f%% %s'%(100*c/n,s)) for s,c in selfc.most_common(int(sys.argv[4]) if len(sys.argv)>4 else 40)]
    print('-- inclusive'); [print('  %5.1f%% %s'%(100*c/n,s)) for s,c in incl.most_common(int(sys.argv[5]) if len(sys.argv)>5 else 80)]
