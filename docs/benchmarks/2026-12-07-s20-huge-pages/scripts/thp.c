#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <sys/resource.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  size_t n=(size_t)256<<20; int huge=atoi(argv[1]);
  char*p=mmap(0,n+(2<<20),PROT_NONE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE,-1,0);
  p=(char*)(((unsigned long)p+(2<<20)-1)&~((2UL<<20)-1));
  if(huge) madvise(p,n,MADV_HUGEPAGE);
  mprotect(p,n,PROT_READ|PROT_WRITE);
  struct rusage a,b; getrusage(RUSAGE_SELF,&a); double t0=now();
  for(size_t i=0;i<n;i+=4096) p[i]=1;
  double t1=now(); getrusage(RUSAGE_SELF,&b);
  printf("huge=%d touch 256 MiB: %.1f ms, %.2f us per 4k page, minflt %ld\n",huge,(t1-t0)*1e3,(t1-t0)*1e6/(n/4096),b.ru_minflt-a.ru_minflt);
  t0=now(); memset(p,2,n); t1=now(); printf("  second pass memset %.1f ms\n",(t1-t0)*1e3);
}
