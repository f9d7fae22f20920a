#include <stdio.h>
#include <time.h>
#include <string.h>
#include <openssl/evp.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){
  unsigned char n[32],p[32],q[32]; memset(n,7,32); size_t l=32;
  EVP_PKEY*k0=EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519,NULL,n,32); EVP_PKEY_get_raw_public_key(k0,p,&l);
  EVP_PKEY*peer=EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519,NULL,p,32);
  int N=20000;
  // keep one private key & ctx: derive only
  EVP_PKEY_CTX*c=EVP_PKEY_CTX_new(k0,NULL); EVP_PKEY_derive_init(c); EVP_PKEY_derive_set_peer(c,peer);
  double t=now(); for(int i=0;i<N;i++){ l=32; EVP_PKEY_derive(c,q,&l);} printf("derive only %.1f us\n",(now()-t)/N*1e6);
  t=now(); for(int i=0;i<N;i++){ n[0]=i; EVP_PKEY*k=EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519,NULL,n,32); l=32; EVP_PKEY_get_raw_public_key(k,q,&l); EVP_PKEY_free(k);} printf("keygen from raw (pub) %.1f us\n",(now()-t)/N*1e6);
  t=now(); for(int i=0;i<N;i++){ n[0]=i; EVP_PKEY*k=EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519,NULL,n,32); EVP_PKEY*pp=EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519,NULL,p,32); EVP_PKEY_CTX*cc=EVP_PKEY_CTX_new(k,NULL); EVP_PKEY_derive_init(cc); EVP_PKEY_derive_set_peer(cc,pp); l=32; EVP_PKEY_derive(cc,q,&l); EVP_PKEY_CTX_free(cc); EVP_PKEY_free(pp); EVP_PKEY_free(k);} printf("full agree path %.1f us\n",(now()-t)/N*1e6);
}
