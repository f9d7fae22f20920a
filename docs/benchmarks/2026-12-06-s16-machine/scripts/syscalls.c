#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){int n=1000000;double t=now();for(int i=0;i<n;i++)syscall(SYS_getpid);printf("getpid syscall %.3f us\n",(now()-t)/n*1e6);
int sv[2];socketpair(AF_UNIX,SOCK_STREAM,0,sv);char b[64];t=now();for(int i=0;i<200000;i++){write(sv[0],b,64);read(sv[1],b,64);}printf("unix write+read %.3f us\n",(now()-t)/200000*1e6);
/* loopback tcp connect+accept+close */
int l=socket(AF_INET,SOCK_STREAM,0);struct sockaddr_in a;memset(&a,0,sizeof a);a.sin_family=AF_INET;a.sin_addr.s_addr=htonl(0x7f000001);a.sin_port=0;bind(l,(void*)&a,sizeof a);listen(l,1024);socklen_t al=sizeof a;getsockname(l,(void*)&a,&al);
int m=5000;t=now();for(int i=0;i<m;i++){int c=socket(AF_INET,SOCK_STREAM,0);connect(c,(void*)&a,sizeof a);int s=accept(l,0,0);write(c,b,64);read(s,b,64);write(s,b,64);read(c,b,64);struct linger lg={1,0};setsockopt(c,SOL_SOCKET,SO_LINGER,&lg,sizeof lg);close(c);close(s);}printf("tcp connect+accept+2 roundtrip+close %.1f us\n",(now()-t)/m*1e6);
}
