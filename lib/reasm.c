/*
 * reasm.c: turns the TCP segments of one connection, in capture order, into
 * each direction's byte stream in sequence order, exactly once.
 *
 * Per direction: the first SYN (its seq + 1) or, for a stream picked up in
 * the middle, the first data or FIN segment sets the base. In-order bytes
 * go straight from the packet to ops->data; bytes after a hole are copied
 * into a sorted list of non-overlapping segments until the hole is filled,
 * confirmed lost by an ACK, or a limit forces it to be skipped as a gap.
 * All sequence arithmetic is modulo 2^32 (signed 32-bit difference).
 *
 * Overlap policy: the first copy received wins, both for bytes already
 * delivered and for bytes queued out of order. A passive sensor cannot know
 * which copy the receiver kept; first-wins matches BSD and Linux for most
 * overlap shapes and keeps what the parser saw stable. Overlapping bytes are
 * compared with the copy we hold (the last conflict_window delivered bytes,
 * or the queued bytes): when they differ, ops->conflict reports both
 * versions, which is what tells the operator the two views differ
 * (Ptacek-Newsham evasion, a tampering middlebox, or a broken stack).
 * When the memcap refuses a direction its ring, the last REASM_DIGESTS
 * delivered segments are kept as keyed digests instead: a retransmission
 * that covers one is hashed over the same range, and a difference is
 * reported without the first copy's bytes. Bytes that can be compared
 * neither way are counted (unchecked).
 *
 * Memory: every queued segment (struct and bytes) and every ring is charged
 * to ctx->mem_used before it is allocated; nothing else is allocated (the
 * digests are inline).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "reasm.h"

/* Sequence number comparison modulo 2^32, as in RFC 1982 / BSD tcp_seq.h. */
#define SEQ_DIFF(a, b)	((int32_t)((uint32_t)(a) - (uint32_t)(b)))
#define SEQ_LT(a, b)	(SEQ_DIFF(a, b) < 0)
#define SEQ_LEQ(a, b)	(SEQ_DIFF(a, b) <= 0)
#define SEQ_GT(a, b)	(SEQ_DIFF(a, b) > 0)
#define SEQ_GEQ(a, b)	(SEQ_DIFF(a, b) >= 0)

/*
 * TCP's largest window is 65535 << 14 (RFC 7323), just under 2^30: a real
 * segment never lies further than that from the next byte expected. Beyond
 * it, the segment is garbage or an attempt to make us queue far ahead.
 */
#define REASM_MAX_WINDOW	(1U << 30)

/*
 * Largest payload accepted in one segment: above any IP datagram, GRO/TSO
 * super-frame or BIG TCP packet (512 KiB) a capture can hold, and small
 * enough that seq + len never leaves the signed-difference range.
 */
#define REASM_MAX_SEGMENT	(1U << 24)

/*
 * Segments queued out of order per direction. ooo_max bounds the bytes;
 * this bounds the list walk (and the per-segment overhead) when a peer
 * sends many tiny out-of-order segments. 1024 full-size segments exceed
 * the default ooo_max, so it only binds on crafted traffic.
 */
#define REASM_MAX_OOO_SEGS	1024

/*
 * The shortcuts for segments that can change nothing (segment_inert()) and
 * for in-order data with nothing queued (data_input()). Tests build this
 * file a second time without them, as the reference the shortcuts must
 * match event for event.
 */
#ifndef REASM_SHORTCUTS
#define REASM_SHORTCUTS	1
#endif

/* struct reasm_dir.flags */
#define REASM_D_BASE	0x01	/* next_seq is valid */
#define REASM_D_SYN	0x02	/* base came from a SYN */
#define REASM_D_FIN	0x04	/* fin_seq is valid */
#define REASM_D_DONE	0x08	/* every byte before the FIN delivered */
#define REASM_D_STOP	0x10	/* depth reached or parser had enough */
#define REASM_D_ACKED	0x20	/* ack_max is valid */
#define REASM_D_RST	0x40	/* a reset was sent in this direction */
#define REASM_D_NORING	0x80	/* ring refused by the memcap: do not retry */
/* What a continuation keeps (reasm_stream_mark()). */
#define REASM_D_KEPT	(REASM_D_BASE | REASM_D_FIN | REASM_D_DONE | \
			    REASM_D_STOP)

struct reasm_seg {
	TAILQ_ENTRY(reasm_seg) entry;	/* in reasm_dir.ooo, by seq */
	uint32_t	 seq;		/* sequence number of data[0] */
	uint32_t	 len;		/* bytes in data, > 0 */
	uint8_t		 data[];	/* copy of the payload */
};

/* What every step of one call needs: where to deliver, and when. */
struct reasm_call {
	struct reasm_ctx *ctx;
	struct reasm_dir *d;		/* the direction being worked on */
	int		 dir;		/* its REASM_TO_* index */
	void		*app;		/* caller's pointer for ctx->ops */
	uint64_t	 ts_us;		/* packet time */
};

/* The payload being placed, and what was found about it so far. */
struct reasm_in {
	uint32_t	 seq;		/* sequence number of buf[0] */
	const uint8_t	*buf;		/* payload, in the caller's packet */
	uint32_t	 len;		/* bytes in buf */
	uint32_t	 cur;		/* bytes of buf already handled */
	uint32_t	 covered;	/* bytes we had already */
	int		 conflict;	/* some of them differed */
	int		 queued;	/* some bytes were queued */
};

static int	 mem_charge(struct reasm_ctx *, size_t);
static void	 mem_release(struct reasm_ctx *, size_t);
static void	 call_init(struct reasm_call *, struct reasm_ctx *,
		    struct reasm_stream *, int, void *, uint64_t);
static uint32_t	 seg_end(const struct reasm_seg *);
static void	 seg_unlink(struct reasm_dir *, struct reasm_seg *);
static void	 seg_destroy(struct reasm_ctx *, struct reasm_seg *);
static struct reasm_seg *seg_find(struct reasm_dir *, uint32_t);
static struct reasm_seg *seg_first_live(struct reasm_dir *);
static void	 queue_free(struct reasm_ctx *, struct reasm_dir *);
static void	 ring_free(struct reasm_ctx *, struct reasm_dir *);
static void	 ring_reset(struct reasm_dir *);
static int	 ring_alloc(struct reasm_call *);
static void	 ring_append(struct reasm_call *, const uint8_t *, uint32_t);
static void	 ring_reverse(uint8_t *, uint32_t, uint32_t);
static void	 ring_linearize(struct reasm_dir *);
static void	 dir_release(struct reasm_ctx *, struct reasm_dir *);
static void	 dir_stop(struct reasm_call *);
static void	 report_diff(struct reasm_call *, struct reasm_in *, uint32_t,
		    const uint8_t *, const uint8_t *, uint32_t);
static void	 compare_recent(struct reasm_call *, struct reasm_in *,
		    uint32_t);
static uint32_t	 digest_of(const struct reasm_ctx *, const uint8_t *,
		    uint32_t);
static void	 digest_add(struct reasm_call *, const uint8_t *, uint32_t);
static void	 compare_digests(struct reasm_call *, struct reasm_in *,
		    uint32_t);
static void	 compare_queued(struct reasm_call *, struct reasm_in *,
		    const struct reasm_seg *);
static void	 deliver(struct reasm_call *, const uint8_t *, uint32_t);
static void	 gap(struct reasm_call *, uint32_t);
static void	 drain(struct reasm_call *, struct reasm_in *);
static int	 queue_piece(struct reasm_call *, struct reasm_seg *,
		    uint32_t, const uint8_t *, uint32_t);
static void	 skip_hole(struct reasm_call *, struct reasm_in *, uint32_t);
static void	 place_old(struct reasm_call *, struct reasm_in *);
static void	 place(struct reasm_call *, struct reasm_in *);
static void	 classify(struct reasm_ctx *, const struct reasm_in *);
static void	 data_input(struct reasm_call *, uint32_t, const uint8_t *,
		    uint32_t);
static void	 fin_input(struct reasm_call *, uint32_t);
static int	 fin_settled(const struct reasm_dir *);
static void	 fin_check(struct reasm_ctx *, struct reasm_dir *);
static int	 syn_input(struct reasm_call *, uint32_t);
static int	 in_window(const struct reasm_dir *, uint32_t);
static uint32_t	 recv_edge(struct reasm_dir *);
static void	 ack_unseen(struct reasm_ctx *, struct reasm_dir *, uint32_t);
static int	 hole_confirmed(const struct reasm_dir *, uint32_t);
static void	 ack_holes(struct reasm_call *, uint32_t);
static void	 hole_wait(struct reasm_call *);
static void	 ack_input(struct reasm_call *, uint32_t);
static int	 segment_inert(const struct reasm_stream *, int,
		    const struct decode_pkt *);
static int	 segment_input(struct reasm_ctx *, struct reasm_stream *, int,
		    const struct decode_pkt *, void *);
static int	 stream_finished(const struct reasm_stream *);
static void	 flush_dir(struct reasm_call *);

/* Charge n bytes to the memcap; -1 (and counted) if it would exceed it. */
static int
mem_charge(struct reasm_ctx *ctx, size_t n)
{
	if (n > ctx->cfg.memcap || ctx->mem_used > ctx->cfg.memcap - n) {
		ctx->stats.memcap_hits++;
		return -1;
	}
	ctx->mem_used += n;
	if (ctx->mem_used > ctx->mem_peak)
		ctx->mem_peak = ctx->mem_used;
	return 0;
}

static void
mem_release(struct reasm_ctx *ctx, size_t n)
{
	assert(ctx->mem_used >= n);
	ctx->mem_used -= n;
}

static void
call_init(struct reasm_call *c, struct reasm_ctx *ctx,
    struct reasm_stream *s, int dir, void *app, uint64_t ts_us)
{
	c->ctx = ctx;
	c->d = &s->dir[dir];
	c->dir = dir;
	c->app = app;
	c->ts_us = ts_us;
}

static uint32_t
seg_end(const struct reasm_seg *q)
{
	return q->seq + q->len;
}

static void
seg_unlink(struct reasm_dir *d, struct reasm_seg *q)
{
	TAILQ_REMOVE(&d->ooo, q, entry);
	assert(d->ooo_bytes >= q->len && d->ooo_segs > 0);
	d->ooo_bytes -= q->len;
	d->ooo_segs--;
}

/* A queued segment may have held a password: its bytes go with it. */
static void
seg_destroy(struct reasm_ctx *ctx, struct reasm_seg *q)
{
	mem_release(ctx, sizeof(*q) + q->len);
	explicit_bzero(q->data, q->len);
	free(q);
}

/*
 * First queued segment ending after seq, or NULL. Walks from the tail: new
 * data usually lands after everything queued, so this is O(1) then.
 */
static struct reasm_seg *
seg_find(struct reasm_dir *d, uint32_t seq)
{
	struct reasm_seg *q, *prev;

	q = TAILQ_LAST(&d->ooo, reasm_seglist);
	if (q == NULL || SEQ_LEQ(seg_end(q), seq))
		return NULL;
	while ((prev = TAILQ_PREV(q, reasm_seglist, entry)) != NULL &&
	    SEQ_GT(seg_end(prev), seq))
		q = prev;
	return q;
}

/* First queued segment, unless it lies at or after the FIN. */
static struct reasm_seg *
seg_first_live(struct reasm_dir *d)
{
	struct reasm_seg *q = TAILQ_FIRST(&d->ooo);

	if (q != NULL && (d->flags & REASM_D_FIN) &&
	    SEQ_GEQ(q->seq, d->fin_seq))
		return NULL;
	return q;
}

static void
queue_free(struct reasm_ctx *ctx, struct reasm_dir *d)
{
	struct reasm_seg *q;

	while ((q = TAILQ_FIRST(&d->ooo)) != NULL) {
		seg_unlink(d, q);
		seg_destroy(ctx, q);
	}
}

static void
ring_free(struct reasm_ctx *ctx, struct reasm_dir *d)
{
	if (d->recent != NULL) {
		free(d->recent);
		mem_release(ctx, d->recent_size);
	}
	d->recent = NULL;
	d->recent_size = 0;
	ring_reset(d);
}

/* Forget the ring's bytes: after a gap they no longer end at next_seq. */
static void
ring_reset(struct reasm_dir *d)
{
	d->recent_len = 0;
	d->recent_head = 0;
}

static int
ring_alloc(struct reasm_call *c)
{
	struct reasm_dir *d = c->d;
	uint32_t	 size = c->ctx->cfg.conflict_window;

	if (size == 0 || (d->flags & REASM_D_NORING))
		return 0;
	if (mem_charge(c->ctx, size) == -1) {
		d->flags |= REASM_D_NORING;
		return 0;
	}
	if ((d->recent = malloc(size)) == NULL) {
		mem_release(c->ctx, size);
		c->ctx->stats.memcap_hits++;
		d->flags |= REASM_D_NORING;
		return 0;
	}
	d->recent_size = size;
	ring_reset(d);
	return 1;
}

/*
 * Remember n delivered bytes. While the ring is not full its bytes sit at
 * [0, recent_len) and recent_head == recent_len; once full, the oldest byte
 * is at recent_head.
 */
static void
ring_append(struct reasm_call *c, const uint8_t *buf, uint32_t n)
{
	struct reasm_dir *d = c->d;
	uint32_t	 size, first;

	if (d->recent == NULL && !ring_alloc(c))
		return;
	size = d->recent_size;
	if (n >= size) {
		memcpy(d->recent, buf + (n - size), size);
		d->recent_head = 0;
		d->recent_len = size;
		return;
	}
	first = size - d->recent_head;
	if (first > n)
		first = n;
	memcpy(d->recent + d->recent_head, buf, first);
	memcpy(d->recent, buf + first, n - first);
	d->recent_head = first == n ? d->recent_head + n : n - first;
	if (d->recent_head == size)
		d->recent_head = 0;
	d->recent_len = n > size - d->recent_len ? size : d->recent_len + n;
}

static void
ring_reverse(uint8_t *b, uint32_t from, uint32_t to)
{
	uint8_t		 t;

	while (from + 1 < to) {
		t = b[from];
		b[from++] = b[--to];
		b[to] = t;
	}
}

/*
 * Rotate a full ring so its oldest byte is at index 0, making any range of
 * it contiguous. O(ring); done only to report a conflict.
 */
static void
ring_linearize(struct reasm_dir *d)
{
	uint32_t	 h = d->recent_head;

	if (h == 0)
		return;
	assert(d->recent_len == d->recent_size);
	ring_reverse(d->recent, 0, h);
	ring_reverse(d->recent, h, d->recent_size);
	ring_reverse(d->recent, 0, d->recent_size);
	d->recent_head = 0;
}

static void
dir_release(struct reasm_ctx *ctx, struct reasm_dir *d)
{
	queue_free(ctx, d);
	ring_free(ctx, d);
}

/* Deliver nothing more in this direction; keep tracking FIN and RST. */
static void
dir_stop(struct reasm_call *c)
{
	c->d->flags |= REASM_D_STOP;
	dir_release(c->ctx, c->d);
}

/*
 * n bytes at seq were received twice: old is the copy we hold, new the
 * later one. Report the span from the first to the last differing byte.
 */
static void
report_diff(struct reasm_call *c, struct reasm_in *in, uint32_t seq,
    const uint8_t *old, const uint8_t *new, uint32_t n)
{
	uint32_t	 i, j;

	for (i = 0; i < n && old[i] == new[i]; i++)
		;
	if (i == n)
		return;
	for (j = n - 1; old[j] == new[j]; j--)
		;
	in->conflict = 1;
	c->ctx->stats.conflicts++;
	if (c->ctx->ops->conflict != NULL)
		c->ctx->ops->conflict(c->app, c->dir, seq + i, old + i,
		    new + i, j - i + 1, c->ts_us);
}

/*
 * Compare the first n bytes of in (all before next_seq) with the ring,
 * where the ring holds them. Pieces are compared in place; the ring is
 * only rotated when a difference has to be reported contiguously.
 */
static void
compare_recent(struct reasm_call *c, struct reasm_in *in, uint32_t n)
{
	struct reasm_dir *d = c->d;
	uint32_t	 seq = in->seq, back, skip, first;
	const uint8_t	*new = in->buf;
	uint64_t	 idx;

	if (c->ctx->cfg.conflict_window == 0 || n == 0)
		return;
	if (d->recent == NULL) {
		compare_digests(c, in, n);
		return;
	}
	back = d->next_seq - seq;
	if (back > d->recent_len) {
		c->ctx->stats.unchecked++;	/* older than the ring */
		skip = back - d->recent_len;
		if (skip >= n)
			return;
		seq += skip;
		new += skip;
		n -= skip;
		back = d->recent_len;
	}
	idx = ((uint64_t)d->recent_head + d->recent_size - back) %
	    d->recent_size;
	first = d->recent_size - (uint32_t)idx;
	if (first > n)
		first = n;
	if (memcmp(d->recent + idx, new, first) == 0 &&
	    memcmp(d->recent, new + first, n - first) == 0)
		return;
	if (first < n) {
		ring_linearize(d);
		idx = d->recent_size - back;
	}
	report_diff(c, in, seq, d->recent + idx, new, n);
}

static uint32_t
digest_of(const struct reasm_ctx *ctx, const uint8_t *buf, uint32_t n)
{
	return (uint32_t)hash_siphash(ctx->key, buf, n);
}

/* Remember n delivered bytes by their digest (no ring to keep them). */
static void
digest_add(struct reasm_call *c, const uint8_t *buf, uint32_t n)
{
	struct reasm_dir *d = c->d;
	struct reasm_digest *g = &d->digest[d->digest_next];

	g->seq = d->next_seq;
	g->len = n;
	g->hash = digest_of(c->ctx, buf, n);
	d->digest_next = (d->digest_next + 1) % REASM_DIGESTS;
}

/*
 * The first n bytes of in, all delivered before, against the digests of
 * the segments they cover whole. A piece covering no whole segment cannot
 * be compared: counted.
 */
static void
compare_digests(struct reasm_call *c, struct reasm_in *in, uint32_t n)
{
	struct reasm_dir *d = c->d;
	const struct reasm_digest *g;
	uint32_t	 covered = 0, off, i;

	for (i = 0; i < REASM_DIGESTS; i++) {
		g = &d->digest[i];
		if (g->len == 0 || SEQ_LT(g->seq, in->seq) ||
		    SEQ_GT(g->seq + g->len, in->seq + n))
			continue;
		off = g->seq - in->seq;
		covered += g->len;
		if (digest_of(c->ctx, in->buf + off, g->len) == g->hash)
			continue;
		in->conflict = 1;
		c->ctx->stats.conflicts++;
		if (c->ctx->ops->conflict != NULL)
			c->ctx->ops->conflict(c->app, c->dir, g->seq, NULL,
			    in->buf + off, g->len, c->ts_us);
	}
	if (covered < n)
		c->ctx->stats.unchecked++;
}

/* The unhandled bytes of in that fall inside queued segment q. */
static void
compare_queued(struct reasm_call *c, struct reasm_in *in,
    const struct reasm_seg *q)
{
	uint32_t	 cseq = in->seq + in->cur, n;

	if (in->cur >= in->len || SEQ_GEQ(cseq, seg_end(q)))
		return;
	assert(SEQ_GEQ(cseq, q->seq));
	n = seg_end(q) - cseq;
	if (n > in->len - in->cur)
		n = in->len - in->cur;
	report_diff(c, in, cseq, q->data + (cseq - q->seq), in->buf + in->cur,
	    n);
	in->covered += n;
	in->cur += n;
}

/* Hand n bytes at next_seq to the parser, within the depth. */
static void
deliver(struct reasm_call *c, const uint8_t *buf, uint32_t n)
{
	struct reasm_ctx *ctx = c->ctx;
	struct reasm_dir *d = c->d;
	uint32_t	 depth = ctx->cfg.depth;
	uint64_t	 room;
	int		 rv;

	assert(n > 0 && !(d->flags & REASM_D_STOP));
	if (depth != 0) {
		room = d->delivered < depth ? depth - d->delivered : 0;
		if (room == 0) {
			ctx->stats.depth_reached++;
			dir_stop(c);
			return;
		}
		if (n > room)
			n = (uint32_t)room;
	}
	ring_append(c, buf, n);
	if (d->recent == NULL && ctx->cfg.conflict_window > 0)
		digest_add(c, buf, n);
	d->next_seq += n;
	d->delivered += n;
	ctx->stats.bytes += n;
	rv = ctx->ops->data(c->app, c->dir, buf, n, c->ts_us);
	if (rv == REASM_ENOUGH)
		dir_stop(c);
	else if (depth != 0 && d->delivered >= depth) {
		ctx->stats.depth_reached++;
		dir_stop(c);
	}
}

/* The n bytes at next_seq are lost for good: report and skip them. */
static void
gap(struct reasm_call *c, uint32_t n)
{
	struct reasm_ctx *ctx = c->ctx;

	assert(n > 0 && !(c->d->flags & REASM_D_STOP));
	c->d->gaps++;
	ctx->stats.gaps++;
	ctx->stats.gap_bytes += n;
	c->d->next_seq += n;
	ring_reset(c->d);
	if (ctx->ops->gap != NULL)
		ctx->ops->gap(c->app, c->dir, n, c->ts_us);
}

/*
 * Deliver the queued segments that have become contiguous with next_seq,
 * up to the FIN. Bytes of in that they cover are compared first (the
 * queued copy came first and wins).
 */
static void
drain(struct reasm_call *c, struct reasm_in *in)
{
	struct reasm_dir *d = c->d;
	struct reasm_seg *q;
	uint32_t	 n;

	while (!(d->flags & REASM_D_STOP) &&
	    (q = seg_first_live(d)) != NULL && q->seq == d->next_seq) {
		if (in != NULL)
			compare_queued(c, in, q);
		n = q->len;
		if ((d->flags & REASM_D_FIN) && SEQ_GT(seg_end(q), d->fin_seq))
			n = d->fin_seq - q->seq;
		seg_unlink(d, q);
		deliver(c, q->data, n);
		seg_destroy(c->ctx, q);
	}
}

/*
 * Copy n bytes at seq into the queue before next (NULL: at the tail).
 * Returns 0, counted, when ooo_max, the segment bound or the memcap says no.
 */
static int
queue_piece(struct reasm_call *c, struct reasm_seg *next, uint32_t seq,
    const uint8_t *buf, uint32_t n)
{
	struct reasm_ctx *ctx = c->ctx;
	struct reasm_dir *d = c->d;
	struct reasm_seg *q;

	if ((uint64_t)d->ooo_bytes + n > ctx->cfg.ooo_max ||
	    d->ooo_segs >= REASM_MAX_OOO_SEGS) {
		ctx->stats.ooo_limit++;
		return 0;
	}
	if (mem_charge(ctx, sizeof(*q) + n) == -1)
		return 0;
	if ((q = malloc(sizeof(*q) + n)) == NULL) {
		mem_release(ctx, sizeof(*q) + n);
		ctx->stats.memcap_hits++;
		return 0;
	}
	q->seq = seq;
	q->len = n;
	memcpy(q->data, buf, n);
	if (next != NULL)
		TAILQ_INSERT_BEFORE(next, q, entry);
	else
		TAILQ_INSERT_TAIL(&d->ooo, q, entry);
	d->ooo_bytes += n;
	d->ooo_segs++;
	return 1;
}

/*
 * Bytes at cseq cannot be queued: declare the first hole lost, up to the
 * first queued data or to cseq, and deliver what became contiguous. Memory
 * is freed and progress made every time, so placing never stalls.
 */
static void
skip_hole(struct reasm_call *c, struct reasm_in *in, uint32_t cseq)
{
	struct reasm_dir *d = c->d;
	struct reasm_seg *q = seg_first_live(d);
	uint32_t	 target = cseq;

	if (q != NULL && SEQ_LT(q->seq, cseq))
		target = q->seq;
	gap(c, target - d->next_seq);
	drain(c, in);
}

/* The bytes of in before next_seq: old, compared with the ring. */
static void
place_old(struct reasm_call *c, struct reasm_in *in)
{
	uint32_t	 old;

	if (!SEQ_LT(in->seq, c->d->next_seq))
		return;
	old = c->d->next_seq - in->seq;
	if (old > in->len)
		old = in->len;
	compare_recent(c, in, old);
	in->covered += old;
	in->cur = old;
}

/*
 * Walk in from its first new byte: bytes we hold already are compared,
 * bytes at next_seq are delivered from the packet, bytes after a hole are
 * queued. Queued segments never overlap and always start after next_seq.
 */
static void
place(struct reasm_call *c, struct reasm_in *in)
{
	struct reasm_dir *d = c->d;
	struct reasm_seg *q;
	uint32_t	 cseq, n;

	place_old(c, in);
	while (in->cur < in->len && !(d->flags & REASM_D_STOP)) {
		cseq = in->seq + in->cur;
		assert(SEQ_GEQ(cseq, d->next_seq));
		q = seg_find(d, cseq);
		if (q != NULL && SEQ_LEQ(q->seq, cseq)) {
			compare_queued(c, in, q);
			continue;
		}
		n = in->len - in->cur;
		if (q != NULL && SEQ_LT(q->seq, cseq + n))
			n = q->seq - cseq;
		if (cseq == d->next_seq) {
			deliver(c, in->buf + in->cur, n);
			in->cur += n;
			drain(c, in);
		} else if (queue_piece(c, q, cseq, in->buf + in->cur, n)) {
			in->cur += n;
			in->queued = 1;
		} else
			skip_hole(c, in, cseq);
	}
}

/* One count per segment: a conflict was counted per report already. */
static void
classify(struct reasm_ctx *ctx, const struct reasm_in *in)
{
	if (in->queued)
		ctx->stats.ooo_queued++;
	if (in->conflict)
		return;
	if (in->covered == in->len)
		ctx->stats.duplicates++;
	else if (in->covered > 0)
		ctx->stats.overlaps++;
}

static void
data_input(struct reasm_call *c, uint32_t seq, const uint8_t *buf,
    uint32_t len)
{
	struct reasm_dir *d = c->d;
	struct reasm_in	 in;

	if (d->flags & (REASM_D_STOP | REASM_D_DONE))
		return;
	if (!(d->flags & REASM_D_BASE)) {
		d->isn = seq;
		d->next_seq = seq;
		d->flags |= REASM_D_BASE;
	}
	if ((d->flags & REASM_D_FIN) && SEQ_GT(seq + len, d->fin_seq)) {
		c->ctx->stats.bad_seq++;
		if (SEQ_GEQ(seq, d->fin_seq))
			return;
		len = d->fin_seq - seq;
	}
	if (REASM_SHORTCUTS && seq == d->next_seq && TAILQ_EMPTY(&d->ooo)) {
		/* In order, nothing queued: what place() would do, direct. */
		deliver(c, buf, len);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.seq = seq;
	in.buf = buf;
	in.len = len;
	place(c, &in);
	classify(c->ctx, &in);
}

/* A FIN at sequence number fin; the first one seen counts. */
static void
fin_input(struct reasm_call *c, uint32_t fin)
{
	struct reasm_dir *d = c->d;

	if (!(d->flags & REASM_D_BASE)) {
		d->isn = fin;
		d->next_seq = fin;
		d->flags |= REASM_D_BASE;
	}
	if (d->flags & REASM_D_FIN)
		return;
	d->flags |= REASM_D_FIN;
	d->fin_seq = fin;
}

/* Whether fin_check() has nothing to do for d. */
static int
fin_settled(const struct reasm_dir *d)
{
	return (d->flags & (REASM_D_FIN | REASM_D_DONE)) != REASM_D_FIN;
}

/* Finished once every byte before the FIN was delivered (or cut). */
static void
fin_check(struct reasm_ctx *ctx, struct reasm_dir *d)
{
	if (!(d->flags & REASM_D_FIN) || (d->flags & REASM_D_DONE))
		return;
	if (!(d->flags & REASM_D_STOP)) {
		if (SEQ_LT(d->next_seq, d->fin_seq))
			return;
		if (d->next_seq == d->fin_seq)
			d->next_seq++;
	}
	d->flags |= REASM_D_DONE;
	dir_release(ctx, d);
}

/*
 * A SYN at seq. Returns 0 when it contradicts a direction that already
 * delivered data (the segment is then dropped).
 */
static int
syn_input(struct reasm_call *c, uint32_t seq)
{
	struct reasm_dir *d = c->d;
	uint32_t	 gaps;

	if (d->flags & REASM_D_BASE) {
		if ((d->flags & REASM_D_SYN) ? seq == d->isn :
		    seq + 1 == d->isn)
			return 1;	/* retransmitted or late SYN */
		if (d->delivered != 0)
			return 0;
		/* Port reuse before any data: start over. */
		dir_release(c->ctx, d);
		gaps = d->gaps;
		memset(d, 0, sizeof(*d));
		TAILQ_INIT(&d->ooo);
		d->gaps = gaps;
	}
	d->isn = seq;
	d->next_seq = seq + 1;
	d->flags |= REASM_D_BASE | REASM_D_SYN;
	return 1;
}

/* Whether seq is a plausible sequence number for d. */
static int
in_window(const struct reasm_dir *d, uint32_t seq)
{
	int32_t		 diff;

	if (!(d->flags & REASM_D_BASE) || (d->flags & REASM_D_STOP))
		return 1;
	diff = SEQ_DIFF(seq, d->next_seq);
	return diff <= (int32_t)REASM_MAX_WINDOW &&
	    diff >= -(int32_t)REASM_MAX_WINDOW;
}

/* One past the highest sequence number received in d. */
static uint32_t
recv_edge(struct reasm_dir *d)
{
	struct reasm_seg *q = TAILQ_LAST(&d->ooo, reasm_seglist);
	uint32_t	 edge = d->next_seq;

	if (q != NULL && SEQ_GT(seg_end(q), edge))
		edge = seg_end(q);
	if ((d->flags & REASM_D_FIN) && SEQ_GT(d->fin_seq + 1, edge))
		edge = d->fin_seq + 1;
	return edge;
}

/* Count bytes acknowledged but never seen, each byte once. */
static void
ack_unseen(struct reasm_ctx *ctx, struct reasm_dir *d, uint32_t ack)
{
	uint32_t	 from = recv_edge(d);

	if ((d->flags & REASM_D_ACKED) && SEQ_GT(d->ack_max, from))
		from = d->ack_max;
	if (SEQ_GT(ack, from)) {
		ctx->stats.ack_unseen += ack - from;
		from = ack;
	}
	d->ack_max = from;
	d->flags |= REASM_D_ACKED;
}

/* A hole at next_seq that ack covers, with data or the FIN after it. */
static int
hole_confirmed(const struct reasm_dir *d, uint32_t ack)
{
	struct reasm_seg *q = seg_first_live((struct reasm_dir *)d);

	if (d->flags & REASM_D_STOP || !SEQ_GT(ack, d->next_seq))
		return 0;
	return q != NULL || ((d->flags & REASM_D_FIN) &&
	    SEQ_GT(ack, d->fin_seq) && SEQ_LT(d->next_seq, d->fin_seq));
}

/*
 * The receiver has every byte before ack, so a hole below it with data (or
 * the FIN) after it will never be retransmitted to us: skip it. On a tap
 * the ACK may have been captured before the data (skewed directions), so
 * the hole is declared only once it has stayed open for ack_grace_us of
 * packet time (hole_wait() looks again on every later segment). With
 * nothing after the hole the data may simply not have reached the mirror
 * yet, so nothing is declared.
 */
static void
ack_holes(struct reasm_call *c, uint32_t ack)
{
	struct reasm_dir *d = c->d;
	struct reasm_seg *q;

	if (d->hole_us != 0 && SEQ_GT(d->hole_ack, ack))
		ack = d->hole_ack;	/* a reordered lower ACK */
	if (!hole_confirmed(d, ack)) {
		if (d->hole_us != 0 && !(d->flags & REASM_D_STOP))
			c->ctx->stats.ack_holes_filled++;
		d->hole_us = 0;
		return;
	}
	if (d->hole_us == 0)
		d->hole_us = c->ts_us > 0 ? c->ts_us : 1;
	d->hole_ack = ack;
	if (c->ctx->cfg.ack_grace_us > 0 &&
	    c->ts_us < d->hole_us + c->ctx->cfg.ack_grace_us)
		return;
	d->hole_us = 0;
	while (!(d->flags & REASM_D_STOP) &&
	    (q = seg_first_live(d)) != NULL && SEQ_GT(ack, d->next_seq)) {
		gap(c, (SEQ_LT(ack, q->seq) ? ack : q->seq) - d->next_seq);
		drain(c, NULL);
	}
	if (!(d->flags & REASM_D_STOP) && (d->flags & REASM_D_FIN) &&
	    seg_first_live(d) == NULL && SEQ_GT(ack, d->fin_seq) &&
	    SEQ_LT(d->next_seq, d->fin_seq))
		gap(c, d->fin_seq - d->next_seq);
}

/*
 * A confirmed hole waits: declare it when its grace is over, or forget it
 * when the missing bytes came (counted: the tap showed them late).
 */
static void
hole_wait(struct reasm_call *c)
{
	if (c->d->hole_us != 0)
		ack_holes(c, c->d->hole_ack);
}

/* An ACK for the direction in c (sent by its peer). */
static void
ack_input(struct reasm_call *c, uint32_t ack)
{
	struct reasm_dir *d = c->d;

	if (!(d->flags & REASM_D_BASE) ||
	    (d->flags & (REASM_D_STOP | REASM_D_DONE)))
		return;
	if (SEQ_DIFF(ack, recv_edge(d)) > (int32_t)REASM_MAX_WINDOW) {
		c->ctx->stats.bad_seq++;
		return;
	}
	ack_unseen(c->ctx, d, ack);
	ack_holes(c, ack);
}

static int
stream_finished(const struct reasm_stream *s)
{
	if ((s->dir[0].flags | s->dir[1].flags) & REASM_D_RST)
		return 1;
	return (s->dir[0].flags & s->dir[1].flags & REASM_D_DONE) != 0;
}

void
reasm_ctx_init(struct reasm_ctx *ctx, const struct reasm_ops *ops,
    const struct reasm_config *cfg)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->ops = ops;
	ctx->cfg = *cfg;
	hash_seed(ctx->key);
}

void
reasm_stream_init(struct reasm_stream *s)
{
	memset(s, 0, sizeof(*s));
	TAILQ_INIT(&s->dir[0].ooo);
	TAILQ_INIT(&s->dir[1].ooo);
}

/*
 * Whether p can change nothing in s, so the steps below may be skipped:
 * its sender's direction is stopped (the parser had enough, or the depth
 * was reached), which every step for its sequence number and payload
 * ignores; its ACK, if any, is for a direction that ignores ACKs too; no
 * hole waits for its grace; no FIN awaits fin_check(). Once a parser is
 * done (after STARTTLS, the encrypted rest of a session) this is nearly
 * every segment. SYN, FIN and RST always take the full path.
 */
static int
segment_inert(const struct reasm_stream *s, int dir,
    const struct decode_pkt *p)
{
	const struct reasm_dir *d = &s->dir[dir], *peer = &s->dir[!dir];

	if ((p->flags & (DECODE_TH_SYN | DECODE_TH_FIN | DECODE_TH_RST)) ||
	    !(d->flags & REASM_D_STOP) || (d->hole_us | peer->hole_us) != 0)
		return 0;
	if ((p->flags & DECODE_TH_ACK) && (peer->flags & REASM_D_BASE) &&
	    !(peer->flags & (REASM_D_STOP | REASM_D_DONE)))
		return 0;
	return fin_settled(d) && fin_settled(peer);
}

/*
 * Order of work: the SYN (it sets or resets the base), the window check,
 * RST, the ACK (the peer's bytes it confirms precede this segment's data
 * causally), the payload, the FIN. Kept out of line so that the inert
 * segments reasm_segment() turns away do not pay for its frame.
 */
static __attribute__((noinline)) int
segment_input(struct reasm_ctx *ctx, struct reasm_stream *s, int dir,
    const struct decode_pkt *p, void *app)
{
	struct reasm_call c, peer;
	uint32_t	 seq, len = p->payload_len;

	call_init(&c, ctx, s, dir, app, p->ts_us);
	if ((p->flags & DECODE_TH_SYN) && !syn_input(&c, p->seq)) {
		ctx->stats.bad_seq++;
		return 0;
	}
	seq = p->seq + ((p->flags & DECODE_TH_SYN) ? 1 : 0);
	if (!in_window(c.d, seq)) {
		ctx->stats.bad_seq++;
		return 0;
	}
	if (p->flags & DECODE_TH_RST) {
		c.d->flags |= REASM_D_RST;
		return 1;
	}
	if (p->flags & DECODE_TH_ACK) {
		call_init(&peer, ctx, s, !dir, app, p->ts_us);
		ack_input(&peer, p->ack);
	}
	if (len > 0)
		data_input(&c, seq, p->payload, len);
	if (p->flags & DECODE_TH_FIN)
		fin_input(&c, seq + len);
	hole_wait(&c);
	call_init(&peer, ctx, s, !dir, app, p->ts_us);
	hole_wait(&peer);
	fin_check(ctx, &s->dir[0]);
	fin_check(ctx, &s->dir[1]);
	return stream_finished(s);
}

int
reasm_segment(struct reasm_ctx *ctx, struct reasm_stream *s, int dir,
    const struct decode_pkt *p, void *app)
{
	uint32_t	 len = p->payload_len;

	assert(dir == REASM_TO_SERVER || dir == REASM_TO_CLIENT);
	ctx->stats.segments++;
	if (stream_finished(s))
		return 1;
	if (len > REASM_MAX_SEGMENT || (len > 0 && p->payload == NULL)) {
		ctx->stats.bad_seq++;
		return 0;
	}
	if (REASM_SHORTCUTS && segment_inert(s, dir, p))
		return 0;
	return segment_input(ctx, s, dir, p, app);
}

/* Deliver the queue in order, holes as gaps, up to the FIN. */
static void
flush_dir(struct reasm_call *c)
{
	struct reasm_dir *d = c->d;
	struct reasm_seg *q;

	if (d->flags & (REASM_D_STOP | REASM_D_DONE))
		return;
	while (!(d->flags & REASM_D_STOP) &&
	    (q = seg_first_live(d)) != NULL) {
		assert(SEQ_GT(q->seq, d->next_seq));
		gap(c, q->seq - d->next_seq);
		drain(c, NULL);
	}
	if (!(d->flags & REASM_D_STOP) && (d->flags & REASM_D_FIN) &&
	    SEQ_LT(d->next_seq, d->fin_seq))
		gap(c, d->fin_seq - d->next_seq);
}

void
reasm_flush(struct reasm_ctx *ctx, struct reasm_stream *s, void *app,
    uint64_t ts_us)
{
	struct reasm_call c;
	int		 dir;

	for (dir = 0; dir < 2; dir++) {
		call_init(&c, ctx, s, dir, app, ts_us);
		flush_dir(&c);
	}
	reasm_stream_free(ctx, s);
}

void
reasm_stream_mark(const struct reasm_stream *s, struct reasm_mark *m)
{
	int	 dir;

	memset(m, 0, sizeof(*m));
	for (dir = 0; dir < 2; dir++) {
		m->next_seq[dir] = s->dir[dir].next_seq;
		m->fin_seq[dir] = s->dir[dir].fin_seq;
		m->flags[dir] = s->dir[dir].flags & REASM_D_KEPT;
	}
}

void
reasm_stream_resume(struct reasm_stream *s, const struct reasm_mark *m)
{
	struct reasm_dir *d;
	int		 dir;

	for (dir = 0; dir < 2; dir++) {
		d = &s->dir[dir];
		d->flags = m->flags[dir] & REASM_D_KEPT;
		d->next_seq = d->isn = m->next_seq[dir];
		d->fin_seq = m->fin_seq[dir];
	}
}

void
reasm_stream_free(struct reasm_ctx *ctx, struct reasm_stream *s)
{
	dir_release(ctx, &s->dir[0]);
	dir_release(ctx, &s->dir[1]);
}

void
reasm_forget_recent(struct reasm_stream *s, int dir)
{
	struct reasm_dir *d = &s->dir[dir];

	if (d->recent != NULL)
		explicit_bzero(d->recent, d->recent_size);
	ring_reset(d);
}

uint32_t
reasm_stream_gaps(const struct reasm_stream *s)
{
	return s->dir[0].gaps + s->dir[1].gaps;
}
