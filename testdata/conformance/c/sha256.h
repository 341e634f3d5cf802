/* sha256.h - a small SHA-256 (FIPS 180-4) for the C conformance guest. */
#ifndef CONFORMANCE_SHA256_H
#define CONFORMANCE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256 {
    uint32_t h[8];
    uint64_t len;      /* bytes hashed so far */
    uint8_t block[64]; /* the pending partial block */
    size_t n;          /* bytes in block */
} sha256;

void sha256_init(sha256 *s);
void sha256_write(sha256 *s, const void *p, size_t n);
void sha256_sum(sha256 *s, uint8_t out[32]);

#endif
