/*
 * reasm.h: TCP stream reassembly, one stream = two directions.
 *
 * Segments go in in capture order; each direction's bytes come out in
 * sequence order through struct reasm_ops, exactly once. Retransmissions
 * and SPAN duplicates are dropped; overlaps with different bytes are
 * reported; holes that will never be filled are reported as gaps and
 * skipped. Every byte held is charged to a shared struct reasm_mem.
 */
#ifndef STRIPWATCH_REASM_H
#define STRIPWATCH_REASM_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

#define REASM_TO_SERVER	0	/* direction index: client -> server */
#define REASM_TO_CLIENT	1	/* direction index: server -> client */

/* Return values of reasm_ops.data. */
#define REASM_MORE	0	/* keep delivering this direction */
#define REASM_ENOUGH	1	/* the parser needs no more of it */

/*
 * The seam to the application parser. app is the caller's per-stream
 * pointer given to reasm_segment(). Buffers are only valid during the call.
 */
struct reasm_ops {
	/* len (> 0) in-order bytes of direction dir. */
	int	(*data)(void *app, int dir, const uint8_t *buf, size_t len,
		    uint64_t ts_us);
	/* len bytes of direction dir are lost for good and skipped. */
	void	(*gap)(void *app, int dir, uint32_t len, uint64_t ts_us);
	/*
	 * A segment overlapped bytes already received in direction dir with
	 * different content. old/new are the differing overlap, len bytes
	 * each, at sequence number seq; old is NULL when only a digest of
	 * the first copy was kept (then len is the digested range). Which
	 * version was delivered is the documented policy in reasm.c.
	 */
	void	(*conflict)(void *app, int dir, uint32_t seq,
		    const uint8_t *old_bytes, const uint8_t *new_bytes,
		    size_t len, uint64_t ts_us);
};

/* Limits; each has a config setting and a counter. */
struct reasm_config {
	size_t		 memcap;	/* bytes held by all streams */
	uint32_t	 ooo_max;	/* out-of-order bytes per direction */
	uint32_t	 depth;		/* bytes delivered per direction, 0 =
					   unlimited */
	uint32_t	 conflict_window; /* delivered bytes kept per
					   direction to compare overlaps */
	uint64_t	 ack_grace_us;	/* packet time an ACK-confirmed hole
					   waits for its data (tap skew) */
};

struct reasm_stats {
	uint64_t	 segments;	/* segments offered */
	uint64_t	 bytes;		/* payload bytes delivered */
	uint64_t	 duplicates;	/* segments entirely already seen */
	uint64_t	 overlaps;	/* partial overlaps, same bytes */
	uint64_t	 conflicts;	/* overlaps with different bytes */
	uint64_t	 ooo_queued;	/* segments queued out of order */
	uint64_t	 ooo_limit;	/* ooo_max hits */
	uint64_t	 memcap_hits;	/* memcap refusals */
	uint64_t	 gaps;		/* holes skipped */
	uint64_t	 gap_bytes;	/* bytes in those holes */
	uint64_t	 ack_unseen;	/* ACKs for data never seen (loss
					   estimate, in bytes) */
	uint64_t	 ack_holes_filled; /* holes filled after their ACK was
					   seen, within ack_grace_us (tap
					   skew) */
	uint64_t	 depth_reached;	/* directions cut at depth */
	uint64_t	 bad_seq;	/* segments dropped: sequence number
					   outside any possible window, SYN
					   contradicting data already seen,
					   or bytes past the FIN */
	uint64_t	 unchecked;	/* segments with bytes received before
					   that could not be compared: neither
					   kept nor digested any more */
};

/* Shared state of all streams of one pipeline. */
struct reasm_ctx {
	const struct reasm_ops *ops;
	struct reasm_config cfg;
	uint64_t	 key[2];	/* SipHash key of the digests */
	size_t		 mem_used;	/* bytes charged now */
	size_t		 mem_peak;	/* high-water mark */
	struct reasm_stats stats;
};

struct reasm_seg;
TAILQ_HEAD(reasm_seglist, reasm_seg);

/*
 * Delivered segments remembered by a digest when the memcap refuses the
 * ring of their bytes: a retransmission covering one is hashed over the
 * same range and compared, so conflicts are still seen under memory
 * pressure. Inline, 48 bytes per direction.
 */
#define REASM_DIGESTS	4

struct reasm_digest {
	uint32_t	 seq;		/* first byte */
	uint32_t	 len;		/* bytes, 0 = unused */
	uint32_t	 hash;		/* keyed SipHash of them, 32 bits */
};

struct reasm_dir {
	uint32_t	 next_seq;	/* next byte to deliver */
	uint32_t	 isn;		/* first sequence number seen */
	uint8_t		 flags;		/* REASM_D_* in reasm.c */
	uint32_t	 fin_seq;	/* sequence number of FIN, if seen */
	uint64_t	 delivered;	/* bytes delivered so far */
	uint32_t	 ooo_bytes;	/* bytes queued out of order */
	uint32_t	 hole_ack;	/* highest ACK confirming the hole that
					   waits (hole_us != 0) */
	struct reasm_seglist ooo;	/* queued segments, by sequence */
	uint8_t		*recent;	/* ring of last delivered bytes */
	uint32_t	 recent_len;	/* valid bytes in it */
	uint32_t	 gaps;		/* holes skipped in this direction */
	uint32_t	 recent_size;	/* ring capacity, fixed when allocated
					   (the window may change on reload) */
	uint32_t	 recent_head;	/* ring index of the next byte */
	uint32_t	 ooo_segs;	/* segments queued out of order */
	uint32_t	 ack_max;	/* highest ACK the peer sent for these
					   bytes (REASM_D_ACKED) */
	uint64_t	 hole_us;	/* packet time that ACK was seen, 0 if
					   no confirmed hole waits */
	struct reasm_digest digest[REASM_DIGESTS]; /* without a ring */
	uint32_t	 digest_next;	/* slot of the next digest */
};

struct reasm_stream {
	struct reasm_dir dir[2];	/* REASM_TO_SERVER, REASM_TO_CLIENT */
};

/* Where each direction of a stream stood, to continue it (an eviction). */
struct reasm_mark {
	uint32_t	 next_seq[2];	/* next byte to deliver */
	uint32_t	 fin_seq[2];	/* FIN, when flags say so */
	uint8_t		 flags[2];	/* REASM_D_* kept (reasm.c) */
};

/* Set up the shared context; ops must outlive it. */
void	reasm_ctx_init(struct reasm_ctx *ctx, const struct reasm_ops *ops,
	    const struct reasm_config *cfg);

/* Set up an empty stream. */
void	reasm_stream_init(struct reasm_stream *s);

/*
 * Feed one segment travelling in direction dir (REASM_TO_*). Delivers
 * every byte that became in-order to ctx->ops with app as first argument.
 * The ACK field is applied to the opposite direction (loss accounting and
 * confirmed holes). Returns 1 when the stream is finished (RST, or FIN
 * delivered in both directions), else 0.
 */
int	reasm_segment(struct reasm_ctx *ctx, struct reasm_stream *s, int dir,
	    const struct decode_pkt *p, void *app);

/*
 * End of stream (close, eviction, end of capture): deliver what is queued,
 * reporting holes as gaps, then release all memory of s. s may be reused
 * after reasm_stream_init().
 */
void	reasm_flush(struct reasm_ctx *ctx, struct reasm_stream *s, void *app,
	    uint64_t ts_us);

/* Where s stands (after reasm_flush(): nothing is queued). */
void	reasm_stream_mark(const struct reasm_stream *s, struct reasm_mark *m);

/*
 * Continue, in the fresh stream s, a stream marked by reasm_stream_mark():
 * each direction expects the byte after the last one delivered, so what
 * was lost in between is a gap and what was delivered already a duplicate.
 */
void	reasm_stream_resume(struct reasm_stream *s, const struct reasm_mark *m);

/* Release all memory of s without delivering anything. */
void	reasm_stream_free(struct reasm_ctx *ctx, struct reasm_stream *s);

/*
 * Wipe the delivered bytes of direction dir kept for overlap checks: they
 * held a password (the parser says so), which must not stay in memory.
 * A later retransmission of them is not compared.
 */
void	reasm_forget_recent(struct reasm_stream *s, int dir);

/* Total gaps recorded on s (both directions). */
uint32_t reasm_stream_gaps(const struct reasm_stream *s);

#endif
