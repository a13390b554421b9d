/*
 * Native reference for the header-check benchmark (bench/work.bench.ts): double SHA-256 of 80-byte
 * block headers with OpenSSL's SHA-256, the midstate way a C miner does it — the context after the
 * header's first 64 bytes is computed once and copied for each nonce, then the 16-byte tail is hashed
 * and the 32-byte digest hashed again (with the same low-level calls: OpenSSL 3's one-shot SHA256() goes
 * through the EVP layer and is several times slower). One thread (one core). OpenSSL picks its fastest SHA-256 code
 * for this CPU (SHA extensions where the CPU has them).
 *
 *   cc -O2 -o sha256d-openssl sha256d-openssl.c -lcrypto
 *   ./sha256d-openssl [milliseconds]   → prints "<header checks per second> <checksum>"
 *
 * Timed by the process's CPU time (CLOCK_PROCESS_CPUTIME_ID), as bench/work.bench.ts times the
 * JavaScript and WebAssembly kernels (cpuRate): on a shared machine the wall clock also counts the
 * time other processes held the core.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  double ms = argc > 1 ? atof(argv[1]) : 1500; /* of CPU time */
  unsigned char header[80];
  for (int i = 0; i < 80; i++) header[i] = (unsigned char)(i * 37 + 11);
  SHA256_CTX mid;
  SHA256_Init(&mid);
  SHA256_Update(&mid, header, 64);
  unsigned char tail[16], h1[32], h2[32];
  memcpy(tail, header + 64, 16);
  uint32_t nonce = 0, check = 0;
  uint64_t done = 0;
  double t0 = now(), t = t0;
  while ((t - t0) * 1000 < ms) {
    for (int i = 0; i < 10000; i++) {
      SHA256_CTX c = mid;
      tail[12] = nonce;
      tail[13] = nonce >> 8;
      tail[14] = nonce >> 16;
      tail[15] = nonce >> 24;
      nonce++;
      SHA256_Update(&c, tail, 16);
      SHA256_Final(h1, &c);
      SHA256_Init(&c);
      SHA256_Update(&c, h1, 32);
      SHA256_Final(h2, &c);
      check ^= h2[31];
    }
    done += 10000;
    t = now();
  }
  printf("%.0f %u\n", done / (t - t0), check);
  return 0;
}
