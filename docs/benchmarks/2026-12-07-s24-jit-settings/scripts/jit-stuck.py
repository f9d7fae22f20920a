import re,sys,collections
def load(f):
    d={}
    for line in open(f):
        m=re.match(r'\s*\d+: JIT compiled (.*) \[(.*?), IL size=(\d+), code size=(\d+)',line)
        if m: d[m[1]]=m[2]
    return d
files=sys.argv[1:]
ds=[load(f) for f in files]
names=set().union(*ds)
for n in sorted(names):
    fin=[d.get(n,'-') for d in ds]
    opt=[('Tier1' in t and 'Instrumented' not in t) or t=='FullOpts' for t in fin]
    if any(opt) and not all(opt):
        print(''.join('T' if o else '.' for o in opt), n[:140], [t[:22] for t in fin])
