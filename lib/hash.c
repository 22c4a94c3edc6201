/*
 * hash.c: keyed hashing for the tables that traffic fills (flows,
 * fragments, servers): SipHash under a random key, so crafted addresses
 * cannot aim many entries at one bucket.
 */
#include <sys/random.h>

#include <endian.h>
#include <string.h>

#include "hash.h"

static uint64_t
rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline void
sipround(uint64_t v[4])
{
	v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2];
	v[2] = rotl(v[2], 32);
}

/* 8 bytes at p as a little-endian word: one load where the host is. */
static inline uint64_t
le64(const uint8_t *p)
{
	uint64_t	 x;

	memcpy(&x, p, sizeof(x));
	return le64toh(x);
}

/* The last n < 8 bytes at p, little-endian, in at most three loads. */
static inline uint64_t
le_tail(const uint8_t *p, size_t n)
{
	uint64_t	 x = 0;
	uint32_t	 w;
	uint16_t	 h;
	size_t		 i = 0;

	if (n & 4) {
		memcpy(&w, p, sizeof(w));
		x = le32toh(w);
		i = 4;
	}
	if (n & 2) {
		memcpy(&h, p + i, sizeof(h));
		x |= (uint64_t)le16toh(h) << (8 * i);
		i += 2;
	}
	if (n & 1)
		x |= (uint64_t)p[i] << (8 * i);
	return x;
}

/* SipHash-c-d; inlined with constant rounds by each caller below. */
static inline uint64_t
siphash(const uint64_t key[2], const uint8_t *p, size_t len, int crounds,
    int drounds)
{
	uint64_t	 v[4], m;
	size_t		 left = len;
	int		 i;

	v[0] = key[0] ^ 0x736f6d6570736575ULL;
	v[1] = key[1] ^ 0x646f72616e646f6dULL;
	v[2] = key[0] ^ 0x6c7967656e657261ULL;
	v[3] = key[1] ^ 0x7465646279746573ULL;
	for (; left >= 8; left -= 8, p += 8) {
		m = le64(p);
		v[3] ^= m;
		for (i = 0; i < crounds; i++)
			sipround(v);
		v[0] ^= m;
	}
	m = le_tail(p, left) | ((uint64_t)(len & 0xff) << 56);
	v[3] ^= m;
	for (i = 0; i < crounds; i++)
		sipround(v);
	v[0] ^= m;
	v[2] ^= 0xff;
	for (i = 0; i < drounds; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t
hash_siphash(const uint64_t key[2], const void *data, size_t len)
{
	return siphash(key, data, len, 2, 4);
}

uint64_t
hash_siphash13(const uint64_t key[2], const void *data, size_t len)
{
	return siphash(key, data, len, 1, 3);
}

void
hash_seed(uint64_t seed[2])
{
	static uint64_t	 calls;

	if (seed[0] != 0 || seed[1] != 0)
		return;
	if (getrandom(seed, 2 * sizeof(seed[0]), 0) ==
	    (ssize_t)(2 * sizeof(seed[0])))
		return;
	/* No entropy yet (early boot): an address- and call-derived key
	 * still differs between tables and runs. */
	seed[0] = (uint64_t)(uintptr_t)seed ^ 0x9e3779b97f4a7c15ULL;
	seed[1] = (uint64_t)(uintptr_t)&calls ^ (++calls * 0xc2b2ae3d27d4eb4fULL);
}

uint32_t
hash_buckets(uint64_t want)
{
	uint32_t	 n;

	for (n = HASH_MIN_BUCKETS; n < want && n < HASH_MAX_BUCKETS; n <<= 1)
		;
	return n;
}
