/*
 * frag.h: rebuilds IPv4 and IPv6 datagrams from their fragments.
 *
 * decode_frame() answers DECODE_FRAGMENT for a fragment; frag_input() keeps
 * its bytes until the datagram is whole and then hands back the datagram,
 * which the caller decodes with decode_ip(). Memory is bounded by a memcap
 * (the oldest datagram is dropped to make room) and by a datagram count; a
 * datagram that never completes is dropped after a timeout counted from
 * its first fragment. Overlaps follow Linux (see frag.c): a duplicate is
 * dropped, a partial overlap discards the datagram.
 */
#ifndef STRIPWATCH_FRAG_H
#define STRIPWATCH_FRAG_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* Largest datagram handed back: IPv6 header plus a 65535-byte payload. */
#define FRAG_MAX_DATAGRAM	(40 + 65535)

struct frag_config {
	size_t		 memcap;	/* bytes held for pending datagrams */
	uint32_t	 max_datagrams;	/* datagrams pending at once */
	uint64_t	 timeout_us;	/* first fragment to giving up */
	uint64_t	 seed[2];	/* hash key; 0,0 = pick at random */
};

struct frag_stats {
	uint64_t	 fragments;	/* fragments offered */
	uint64_t	 reassembled;	/* datagrams handed back */
	uint64_t	 timeouts;	/* datagrams dropped incomplete by age */
	uint64_t	 memcap_drops;	/* datagrams dropped to stay within
					   memcap or max_datagrams */
	uint64_t	 overlaps;	/* datagrams discarded: a fragment
					   overlapped held bytes in part */
	uint64_t	 duplicates;	/* fragments dropped: all their bytes
					   were held already */
	uint64_t	 invalid;	/* fragments refused: bad length or
					   offset, truncated by the capture;
					   a final fragment contradicting the
					   known end (datagram discarded) */
	uint64_t	 pending;	/* datagrams held now */
	size_t		 mem;		/* bytes charged now */
	size_t		 mem_peak;	/* and at most */
};

struct frag_table;

/*
 * Allocate a table: its hash buckets and the FRAG_MAX_DATAGRAM output
 * buffer are allocated here once; fragment bytes later, each charged to
 * cfg->memcap. A max_datagrams of 0 is taken as 1. NULL on ENOMEM.
 */
struct frag_table *frag_new(const struct frag_config *cfg);

/* Drop every pending datagram and free the table. NULL is a no-op. */
void	frag_free(struct frag_table *t);

/*
 * Offer one fragment: p is the result of a decode that answered
 * DECODE_FRAGMENT (p->ip, p->ip_len: the innermost IP header and its
 * bytes). Expires datagrams older than the timeout first. Returns 1 when
 * this fragment completes a datagram: *datagram and *len then describe the
 * whole IP datagram (header rewritten as unfragmented, checksum zero) in a
 * buffer owned by the table, valid until the next call on t. Returns 0
 * when the fragment was kept, or refused and counted.
 */
int	frag_input(struct frag_table *t, const struct decode_pkt *p,
	    uint64_t ts_us, const uint8_t **datagram, uint32_t *len);

/*
 * Drop datagrams whose first fragment came timeout_us or more before
 * now_us. Returns how many. Cost: O(expired).
 */
size_t	frag_expire(struct frag_table *t, uint64_t now_us);

/*
 * Apply new memcap, max_datagrams and timeout (a reload), dropping the
 * oldest datagrams if the new limits are lower. The seed and the number of
 * hash buckets are kept.
 */
void	frag_set_limits(struct frag_table *t, const struct frag_config *cfg);

const struct frag_stats *frag_get_stats(const struct frag_table *t);

#endif
