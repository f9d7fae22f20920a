#include <stdio.h>
#include <time.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){
  unsigned char n[32],p[32],mypub[32],q[32]; memset(n,7,32); size_t l=32;
  EVP_PKEY*k0=EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519,NULL,n,32); EVP_PKEY_get_raw_public_key(k0,mypub,&l);
  unsigned char n2[32]; memset(n2,9,32); EVP_PKEY*k2=EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519,NULL,n2,32); l=32; EVP_PKEY_get_raw_public_key(k2,p,&l);
  EVP_PKEY_CTX*fctx=EVP_PKEY_CTX_new_from_name(NULL,"X25519",NULL);
  int N=20000; double t;
  for(int round=0;round<2;round++){
  t=now(); for(int i=0;i<N;i++){
    OSSL_PARAM params[3]; params[0]=OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,n,32); params[1]=OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,mypub,32); params[2]=OSSL_PARAM_construct_end();
    EVP_PKEY*k=NULL; EVP_PKEY_fromdata_init(fctx); if(EVP_PKEY_fromdata(fctx,&k,EVP_PKEY_KEYPAIR,params)!=1){printf("fromdata failed\n");return 1;}
    EVP_PKEY*pp=EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519,NULL,p,32);
    EVP_PKEY_CTX*cc=EVP_PKEY_CTX_new(k,NULL); EVP_PKEY_derive_init(cc); EVP_PKEY_derive_set_peer(cc,pp); l=32; EVP_PKEY_derive(cc,q,&l);
    EVP_PKEY_CTX_free(cc); EVP_PKEY_free(pp); EVP_PKEY_free(k);} printf("fromdata(priv+pub) agree path %.1f us\n",(now()-t)/N*1e6);
  t=now(); for(int i=0;i<N;i++){
    OSSL_PARAM params[3]; params[0]=OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,n,32); params[1]=OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,mypub,32); params[2]=OSSL_PARAM_construct_end();
    EVP_PKEY*k=NULL; EVP_PKEY_fromdata_init(fctx); EVP_PKEY_fromdata(fctx,&k,EVP_PKEY_KEYPAIR,params); EVP_PKEY_free(k);} printf("  fromdata alone %.1f us\n",(now()-t)/N*1e6);
  }
  unsigned char ref[32]; l=32; EVP_PKEY_CTX*c=EVP_PKEY_CTX_new(k0,NULL); EVP_PKEY_derive_init(c); EVP_PKEY*pp=EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519,NULL,p,32); EVP_PKEY_derive_set_peer(c,pp); EVP_PKEY_derive(c,ref,&l);
  printf("same secret: %d\n", memcmp(ref,q,32)==0);
}
