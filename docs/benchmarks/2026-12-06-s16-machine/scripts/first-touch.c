#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){size_t n=256ul<<20;for(int r=0;r<3;r++){char*p=mmap(0,n,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);double t=now();for(size_t i=0;i<n;i+=4096)p[i]=1;double a=now()-t;t=now();memset(p,0,n);double b=now()-t;printf("first touch %.2f us/page (%.0f ms for 256 MiB), memset again %.0f ms\n",a/(n/4096)*1e6,a*1e3,b*1e3);munmap(p,n);}}
