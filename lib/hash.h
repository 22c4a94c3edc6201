/*
 * hash.h: keyed hashing for the tables that traffic fills. Every table an
 * attacker can put entries in (flows, IP fragments, servers) hashes with
 * SipHash under a random key and sizes its buckets the same way.
 */
#ifndef STRIPWATCH_HASH_H
#define STRIPWATCH_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Bucket counts: a power of two between these. */
#define HASH_MIN_BUCKETS	16
#define HASH_MAX_BUCKETS	(1u << 30)

/* SipHash-2-4 of len bytes under key (Aumasson and Bernstein, 2012). */
uint64_t hash_siphash(const uint64_t key[2], const void *data, size_t len);

/*
 * SipHash-1-3: the same keyed function with one compression and three
 * finalization rounds, about half the cost. For a hash table whose outputs
 * an attacker never sees it keeps the flooding resistance that matters
 * (its designers recommend it there; Rust's HashMap and CPython hash with
 * it); the flow table, looked up on every packet, uses it.
 */
uint64_t hash_siphash13(const uint64_t key[2], const void *data,
    size_t len);

/* A key of 0,0 is replaced by random bytes (getrandom); others are kept,
 * so tests can fix one. */
void	hash_seed(uint64_t seed[2]);

/* The smallest power of two >= want, within the bounds above. */
uint32_t hash_buckets(uint64_t want);

#endif
