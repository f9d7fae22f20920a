#include <stdio.h>
#include <dlfcn.h>
#include <time.h>
#include <string.h>
typedef int (*smf)(unsigned char*, const unsigned char*, const unsigned char*);
typedef int (*smb)(unsigned char*, const unsigned char*);
typedef int (*initf)(void);
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  void*h=dlopen(argv[1],RTLD_NOW); if(!h){printf("%s\n",dlerror());return 1;}
  ((initf)dlsym(h,"sodium_init"))();
  smf mult=(smf)dlsym(h,"crypto_scalarmult_curve25519"); smb base=(smb)dlsym(h,"crypto_scalarmult_curve25519_base");
  unsigned char n[32],p[32],q[32]; memset(n,7,32); base(p,n);
  int N=20000; double t=now(); for(int i=0;i<N;i++){ n[0]=i; base(q,n);} double tb=(now()-t)/N*1e6;
  t=now(); for(int i=0;i<N;i++){ n[0]=i; mult(q,n,p);} double tm=(now()-t)/N*1e6;
  printf("%s base %.1f us mult %.1f us\n",argv[1],tb,tm);
}
