/*
 * test_reasm.c: TCP reassembly, shape by shape, at the ISNs that break
 * sequence arithmetic (0, 1, 2^32-1, 2^32-10), in the manner of Suricata's
 * stream tests. Expectations come from the segments' intervals and the
 * documented first-copy-wins policy, never from the code's own output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reasm.h"
#include "testutil.h"

#define C2S	REASM_TO_SERVER
#define S2C	REASM_TO_CLIENT

#define REC_MAX		8192	/* bytes recorded per direction */
#define REC_GAPS	64
#define REC_CONFS	16
#define REC_CONF_BYTES	64

#define F_SYN	DECODE_TH_SYN
#define F_ACK	DECODE_TH_ACK
#define F_FIN	DECODE_TH_FIN
#define F_RST	DECODE_TH_RST

struct rec_gap {
	int		 dir;
	uint32_t	 len;
	size_t		 at;		/* bytes of dir delivered before it */
};

struct rec_conf {
	int		 dir;
	uint32_t	 seq;
	size_t		 len;
	int		 digest_only;	/* no old bytes were handed over */
	uint8_t		 old[REC_CONF_BYTES];
	uint8_t		 new[REC_CONF_BYTES];
};

/* What the reassembler handed over, per direction. */
struct rec {
	uint8_t		 data[2][REC_MAX];
	size_t		 len[2];
	struct rec_gap	 gap[REC_GAPS];
	size_t		 ngap;
	struct rec_conf	 conf[REC_CONFS];
	size_t		 nconf;
	size_t		 enough_at[2];	/* answer ENOUGH from here, 0 never */
	const uint8_t	*expect[2];	/* if set: check each byte in place */
	size_t		 pos[2];	/* stream offset incl. gaps */
};

/* One test's world: a context, a stream, a recorder. */
struct tc {
	struct reasm_ctx ctx;
	struct reasm_stream s;
	struct rec	 rec;
	uint64_t	 ts;
};

static int
rec_data(void *app, int dir, const uint8_t *buf, size_t len, uint64_t ts)
{
	struct rec	*r = app;

	(void)ts;
	assert_true(len > 0);
	assert_true(r->len[dir] + len <= REC_MAX);
	if (r->expect[dir] != NULL)
		assert_memory_equal(buf, r->expect[dir] + r->pos[dir], len);
	memcpy(r->data[dir] + r->len[dir], buf, len);
	r->len[dir] += len;
	r->pos[dir] += len;
	if (r->enough_at[dir] != 0 && r->len[dir] >= r->enough_at[dir])
		return REASM_ENOUGH;
	return REASM_MORE;
}

static void
rec_gap(void *app, int dir, uint32_t len, uint64_t ts)
{
	struct rec	*r = app;

	(void)ts;
	assert_true(len > 0);
	assert_true(r->ngap < REC_GAPS);
	r->gap[r->ngap].dir = dir;
	r->gap[r->ngap].len = len;
	r->gap[r->ngap].at = r->len[dir];
	r->ngap++;
	r->pos[dir] += len;
}

static void
rec_conflict(void *app, int dir, uint32_t seq, const uint8_t *old,
    const uint8_t *new, size_t len, uint64_t ts)
{
	struct rec	*r = app;
	struct rec_conf	*c;

	(void)ts;
	assert_true(len > 0 && len <= REC_CONF_BYTES);
	assert_true(r->nconf < REC_CONFS);
	c = &r->conf[r->nconf++];
	c->dir = dir;
	c->seq = seq;
	c->len = len;
	c->digest_only = old == NULL;
	if (old != NULL)
		memcpy(c->old, old, len);
	memcpy(c->new, new, len);
}

static const struct reasm_ops rec_ops = {
	.data = rec_data,
	.gap = rec_gap,
	.conflict = rec_conflict,
};

static const struct reasm_ops bare_ops = {
	.data = rec_data,
};

static struct reasm_config
cfg_default(void)
{
	struct reasm_config c;

	memset(&c, 0, sizeof(c));
	c.memcap = 1 << 20;
	c.ooo_max = 64 * 1024;
	c.depth = 0;
	c.conflict_window = 64;
	return c;
}

static struct tc *
tc_new(const struct reasm_config *cfg)
{
	struct tc	*t;

	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	reasm_ctx_init(&t->ctx, &rec_ops, cfg);
	reasm_stream_init(&t->s);
	t->ts = 1000000;
	return t;
}

/* Free the stream and the world; every charged byte must be back. */
static void
tc_free(struct tc *t)
{
	reasm_stream_free(&t->ctx, &t->s);
	assert_int_equal(t->ctx.mem_used, 0);
	assert_true(t->ctx.mem_peak <= t->ctx.cfg.memcap);
	free(t);
}

static int
seg(struct tc *t, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
    const void *buf, uint32_t len)
{
	struct decode_pkt p;
	int		 rv;

	if (dir == C2S)
		p = tu_pkt4("192.0.2.1", 40000, "192.0.2.25", 25, seq, ack,
		    flags, buf, len, t->ts++);
	else
		p = tu_pkt4("192.0.2.25", 25, "192.0.2.1", 40000, seq, ack,
		    flags, buf, len, t->ts++);
	rv = reasm_segment(&t->ctx, &t->s, dir, &p, &t->rec);
	assert_true(t->ctx.mem_used <= t->ctx.cfg.memcap);
	assert_true(t->ctx.mem_peak <= t->ctx.cfg.memcap);
	return rv;
}

/* Pattern byte at stream offset off: base + off % 26 ('a' or 'A'). */
static uint8_t
pat(char base, uint32_t off)
{
	return (uint8_t)(base + off % 26);
}

static void
fill(uint8_t *b, char base, uint32_t off, uint32_t n)
{
	uint32_t	 i;

	for (i = 0; i < n; i++)
		b[i] = pat(base, off + i);
}

/* Send n pattern bytes at offset off from data base `base` (seq of byte 0). */
static int
send_pat(struct tc *t, int dir, uint32_t base, uint32_t off, uint32_t n,
    char ch, uint8_t flags)
{
	uint8_t		 buf[2048];

	assert_true(n <= sizeof(buf));
	fill(buf, ch, off, n);
	return seg(t, dir, base + off, 0, flags, buf, n);
}

static void
assert_pat(const struct rec *r, int dir, size_t from, char base,
    uint32_t off, uint32_t n)
{
	uint32_t	 i;

	assert_true(r->len[dir] >= from + n);
	for (i = 0; i < n; i++)
		assert_int_equal(r->data[dir][from + i], pat(base, off + i));
}

/* Handshake, a command and a reply, orderly close from both sides. */
static void
test_in_order(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);
	const uint32_t	 ci = 1000, si = 5000;

	(void)state;
	assert_int_equal(seg(t, C2S, ci, 0, F_SYN, NULL, 0), 0);
	assert_int_equal(seg(t, S2C, si, ci + 1, F_SYN | F_ACK, NULL, 0), 0);
	assert_int_equal(seg(t, C2S, ci + 1, si + 1, F_ACK, NULL, 0), 0);
	assert_int_equal(seg(t, S2C, si + 1, ci + 1, F_ACK, "220 hi\r\n", 8),
	    0);
	assert_int_equal(seg(t, C2S, ci + 1, si + 9, F_ACK, "EHLO x\r\n", 8),
	    0);
	assert_int_equal(seg(t, C2S, ci + 9, si + 9, F_ACK, "QUIT\r\n", 6),
	    0);
	assert_int_equal(t->rec.len[C2S], 14);
	assert_memory_equal(t->rec.data[C2S], "EHLO x\r\nQUIT\r\n", 14);
	assert_int_equal(t->rec.len[S2C], 8);
	assert_memory_equal(t->rec.data[S2C], "220 hi\r\n", 8);
	assert_int_equal(t->s.dir[C2S].isn, ci);
	assert_int_equal(t->s.dir[C2S].next_seq, ci + 15);
	assert_int_equal(t->s.dir[C2S].delivered, 14);
	/* The ring was allocated lazily and charged. */
	assert_int_equal(t->ctx.mem_used, 2 * cfg.conflict_window);
	assert_int_equal(seg(t, C2S, ci + 15, si + 9, F_FIN | F_ACK, NULL, 0),
	    0);
	assert_int_equal(seg(t, S2C, si + 9, ci + 16, F_FIN | F_ACK, NULL, 0),
	    1);
	/* FIN takes one sequence number. */
	assert_int_equal(t->s.dir[C2S].next_seq, ci + 16);
	assert_int_equal(t->s.dir[S2C].next_seq, si + 10);
	assert_int_equal(t->ctx.stats.bytes, 22);
	assert_int_equal(t->ctx.stats.segments, 8);
	assert_int_equal(t->ctx.stats.duplicates, 0);
	assert_int_equal(t->ctx.stats.overlaps, 0);
	assert_int_equal(t->ctx.stats.ack_unseen, 0);
	assert_int_equal(t->ctx.stats.gaps, 0);
	assert_int_equal(t->ctx.stats.bad_seq, 0);
	/* Finished directions hold nothing. */
	assert_int_equal(t->ctx.mem_used, 0);
	tc_free(t);
}

/* Four 5-byte segments in every one of the 24 arrival orders. */
static void
test_ooo_permutations(void **state)
{
	struct reasm_config cfg = cfg_default();
	int		 perm[24][4], n = 0, a, b, c, d, i, j;
	uint32_t	 isn = 0xfffffff0u;

	(void)state;
	for (a = 0; a < 4; a++)
		for (b = 0; b < 4; b++)
			for (c = 0; c < 4; c++)
				for (d = 0; d < 4; d++) {
					if (a == b || a == c || a == d ||
					    b == c || b == d || c == d)
						continue;
					perm[n][0] = a;
					perm[n][1] = b;
					perm[n][2] = c;
					perm[n][3] = d;
					n++;
				}
	assert_int_equal(n, 24);
	for (i = 0; i < n; i++) {
		struct tc *t = tc_new(&cfg);
		int	 have[4] = { 0 }, next = 0, queued = 0;

		seg(t, C2S, isn, 0, F_SYN, NULL, 0);
		for (j = 0; j < 4; j++) {
			int	 k = perm[i][j];

			/* Model: queued iff it does not start at the
			 * contiguous prefix. */
			if (k != next)
				queued++;
			have[k] = 1;
			while (next < 4 && have[next])
				next++;
			send_pat(t, C2S, isn + 1, 5 * k, 5, 'a', F_ACK);
		}
		assert_int_equal(t->rec.len[C2S], 20);
		assert_pat(&t->rec, C2S, 0, 'a', 0, 20);
		assert_int_equal(t->ctx.stats.ooo_queued, queued);
		assert_int_equal(t->ctx.stats.duplicates, 0);
		assert_int_equal(t->ctx.stats.overlaps, 0);
		assert_int_equal(t->ctx.stats.gaps, 0);
		assert_int_equal(t->s.dir[C2S].ooo_bytes, 0);
		assert_int_equal(t->s.dir[C2S].ooo_segs, 0);
		tc_free(t);
	}
}

/* One segment fills two holes and covers the queued data between. */
static void
test_ooo_fill_spanning(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);
	const uint32_t	 b = 7;

	(void)state;
	seg(t, C2S, b - 1, 0, F_SYN, NULL, 0);
	send_pat(t, C2S, b, 5, 5, 'a', 0);
	send_pat(t, C2S, b, 15, 5, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 0);
	assert_int_equal(t->s.dir[C2S].ooo_bytes, 10);
	send_pat(t, C2S, b, 0, 25, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 25);
	assert_pat(&t->rec, C2S, 0, 'a', 0, 25);
	assert_int_equal(t->ctx.stats.overlaps, 1);
	assert_int_equal(t->ctx.stats.conflicts, 0);
	/* Partial fill: [30,35) queued, [25,28) then [28,30) arrive. */
	send_pat(t, C2S, b, 30, 5, 'a', 0);
	send_pat(t, C2S, b, 25, 3, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 28);
	send_pat(t, C2S, b, 28, 2, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 35);
	assert_pat(&t->rec, C2S, 0, 'a', 0, 35);
	assert_int_equal(t->ctx.stats.gaps, 0);
	tc_free(t);
}

/*
 * Overlap shapes against an existing copy E = [10,20) (offsets into the
 * stream). N is the later copy, with the same or different bytes.
 */
struct shape {
	const char	*name;
	uint32_t	 start, end;	/* N */
};

static const struct shape shapes[] = {
	{ "same start, shorter",	10, 15 },
	{ "same start, longer",		10, 25 },
	{ "starts before, ends inside",	 5, 15 },
	{ "starts before, same end",	 5, 20 },
	{ "starts inside, ends inside",	12, 18 },
	{ "starts inside, ends after",	15, 25 },
	{ "starts inside, same end",	15, 20 },
	{ "exact duplicate",		10, 20 },
	{ "contains",			 5, 25 },
	{ "fills hole, ends inside",	 0, 15 },
	{ "fills hole, contains",	 0, 25 },
};

static const uint32_t isns[] = { 0, 1, 0xffffffffu, 0xfffffff6u };

#define E_START	10
#define E_END	20

#define CHECK(cond) do {						\
	if (!(cond))							\
		fail_msg("%s, isn %u, %s bytes, %s: %s", where,		\
		    (unsigned)isn, diff ? "different" : "same",		\
		    sh->name, #cond);					\
} while (0)

static uint32_t
umax(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static uint32_t
umin(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/*
 * Check one finished case: output is the stream built by first-wins from
 * the existing copy [ex_start, ex_end) (pattern 'a') and N ('a' or 'A'),
 * and the counters say what the overlap was.
 */
static void
check_case(struct tc *t, const char *where, uint32_t isn, int diff,
    const struct shape *sh, uint32_t ex_start, uint32_t ex_end,
    uint32_t total)
{
	uint32_t	 os = umax(sh->start, ex_start);
	uint32_t	 oe = umin(sh->end, ex_end);
	int		 contained = sh->start >= ex_start && sh->end <= ex_end;
	uint32_t	 i;
	uint8_t		 want;

	CHECK(t->rec.len[C2S] == total);
	for (i = 0; i < total && i < t->rec.len[C2S]; i++) {
		if (i >= ex_start && i < ex_end)
			want = pat('a', i);
		else if (i >= sh->start && i < sh->end)
			want = pat(diff ? 'A' : 'a', i);
		else
			want = pat('a', i);
		CHECK(t->rec.data[C2S][i] == want);
	}
	CHECK(t->ctx.stats.gaps == 0);
	if (diff) {
		CHECK(t->ctx.stats.conflicts == 1);
		CHECK(t->ctx.stats.duplicates == 0);
		CHECK(t->ctx.stats.overlaps == 0);
		CHECK(t->rec.nconf == 1);
		CHECK(t->rec.conf[0].dir == C2S);
		CHECK(t->rec.conf[0].seq == isn + 1 + os);
		CHECK(t->rec.conf[0].len == oe - os);
		for (i = 0; i < oe - os && i < t->rec.conf[0].len; i++) {
			CHECK(t->rec.conf[0].old[i] == pat('a', os + i));
			CHECK(t->rec.conf[0].new[i] == pat('A', os + i));
		}
	} else {
		CHECK(t->ctx.stats.conflicts == 0);
		CHECK(t->rec.nconf == 0);
		CHECK(t->ctx.stats.duplicates == (contained ? 1u : 0u));
		CHECK(t->ctx.stats.overlaps == (contained ? 0u : 1u));
	}
}

/* E is queued out of order; N arrives; the hole before both is filled. */
static void
run_queued(uint32_t isn, int diff, const struct shape *sh)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);
	const char	*where = "queued";
	uint32_t	 base = isn + 1, fill_end = umin(E_START, sh->start);
	int		 contained = sh->start >= E_START && sh->end <= E_END;

	CHECK(seg(t, C2S, isn, 0, F_SYN, NULL, 0) == 0);
	send_pat(t, C2S, base, E_START, E_END - E_START, 'a', 0);
	send_pat(t, C2S, base, sh->start, sh->end - sh->start,
	    diff ? 'A' : 'a', 0);
	if (fill_end > 0)
		send_pat(t, C2S, base, 0, fill_end, 'a', 0);
	CHECK(t->ctx.stats.ooo_queued ==
	    (sh->start == 0 || contained ? 1u : 2u));
	check_case(t, where, isn, diff, sh, E_START, E_END,
	    umax(sh->end, E_END));
	CHECK(t->s.dir[C2S].ooo_bytes == 0);
	tc_free(t);
}

/* [0,20) is delivered; N is a retransmission overlapping it. */
static void
run_delivered(uint32_t isn, int diff, const struct shape *sh)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);
	const char	*where = "delivered";
	struct shape	 dsh = *sh;

	CHECK(seg(t, C2S, isn, 0, F_SYN, NULL, 0) == 0);
	send_pat(t, C2S, isn + 1, 0, 10, 'a', 0);
	send_pat(t, C2S, isn + 1, 10, 10, 'a', 0);
	CHECK(t->rec.len[C2S] == 20);
	send_pat(t, C2S, isn + 1, sh->start, sh->end - sh->start,
	    diff ? 'A' : 'a', 0);
	/* Against delivered data the existing copy is all of [0,20). */
	check_case(t, where, isn, diff, &dsh, 0, E_END, umax(sh->end, E_END));
	CHECK(t->ctx.stats.ooo_queued == 0);
	tc_free(t);
}

static void
test_overlap_table(void **state)
{
	size_t		 i, k;
	int		 diff;

	(void)state;
	for (k = 0; k < sizeof(isns) / sizeof(isns[0]); k++)
		for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
			for (diff = 0; diff < 2; diff++) {
				run_queued(isns[k], diff, &shapes[i]);
				run_delivered(isns[k], diff, &shapes[i]);
			}
}

/* Mid-stream pickup just before the wrap, reordered across it. */
static void
test_wrap_middle(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);
	const uint32_t	 b = 0xfffffffau;
	uint8_t		 alt[4];

	(void)state;
	send_pat(t, C2S, b, 0, 4, 'a', F_ACK);		/* ..fffffffd */
	send_pat(t, C2S, b, 8, 4, 'a', F_ACK);		/* 2..5: queued */
	assert_int_equal(t->rec.len[C2S], 4);
	send_pat(t, C2S, b, 4, 4, 'a', F_ACK);		/* fffffffe..1 */
	assert_int_equal(t->rec.len[C2S], 12);
	assert_pat(&t->rec, C2S, 0, 'a', 0, 12);
	assert_int_equal(t->s.dir[C2S].next_seq, 6);
	/* A retransmission across the wrap with other bytes. */
	fill(alt, 'A', 4, 4);
	seg(t, C2S, b + 4, 0, F_ACK, alt, 4);
	assert_int_equal(t->rec.nconf, 1);
	assert_int_equal(t->rec.conf[0].seq, 0xfffffffeu);
	assert_int_equal(t->rec.conf[0].len, 4);
	assert_memory_equal(t->rec.conf[0].new, alt, 4);
	assert_int_equal(t->rec.conf[0].old[0], pat('a', 4));
	assert_int_equal(t->rec.conf[0].old[3], pat('a', 7));
	assert_int_equal(t->rec.len[C2S], 12);
	tc_free(t);
}

/* No SYN: the first data segment is the base; older bytes are dropped. */
static void
test_midstream(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);

	(void)state;
	seg(t, S2C, 777, 123456, F_ACK, "250 OK\r\n", 8);
	assert_int_equal(t->rec.len[S2C], 8);
	assert_int_equal(t->s.dir[S2C].isn, 777);
	/* The client direction has no base: its ACK counts nothing. */
	assert_int_equal(t->ctx.stats.ack_unseen, 0);
	seg(t, S2C, 767, 123456, F_ACK, "0123456789", 10);
	assert_int_equal(t->rec.len[S2C], 8);
	assert_int_equal(t->ctx.stats.duplicates, 1);
	seg(t, C2S, 123456, 785, F_ACK, "RCPT TO:<a@b>\r\n", 15);
	assert_int_equal(t->rec.len[C2S], 15);
	assert_memory_equal(t->rec.data[C2S], "RCPT TO:<a@b>\r\n", 15);
	/* SYN arriving late, consistent with the base: harmless. */
	seg(t, C2S, 123455, 0, F_SYN, NULL, 0);
	assert_int_equal(t->ctx.stats.bad_seq, 0);
	seg(t, C2S, 123471, 785, F_ACK, "DATA\r\n", 6);
	assert_int_equal(t->rec.len[C2S], 21);
	tc_free(t);
}

/* FIN after a hole finishes only once the hole is filled. */
static void
test_fin_after_hole(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);
	const uint32_t	 ci = 0xffffffffu, si = 0;

	(void)state;
	seg(t, C2S, ci, 0, F_SYN, NULL, 0);
	seg(t, S2C, si, ci + 1, F_SYN | F_ACK, NULL, 0);
	send_pat(t, C2S, ci + 1, 0, 5, 'a', 0);
	assert_int_equal(send_pat(t, C2S, ci + 1, 10, 5, 'a', F_FIN), 0);
	assert_int_equal(seg(t, S2C, si + 1, 0, F_FIN, NULL, 0), 0);
	/* Data after the FIN is not stream data. */
	assert_int_equal(send_pat(t, C2S, ci + 1, 15, 5, 'a', 0), 0);
	assert_int_equal(t->ctx.stats.bad_seq, 1);
	assert_int_equal(t->rec.len[C2S], 5);
	assert_int_equal(send_pat(t, C2S, ci + 1, 5, 5, 'a', 0), 1);
	assert_int_equal(t->rec.len[C2S], 15);
	assert_pat(&t->rec, C2S, 0, 'a', 0, 15);
	/* Finished stays finished. */
	assert_int_equal(seg(t, S2C, si + 2, 0, F_ACK, NULL, 0), 1);
	tc_free(t);
}

/* RST ends the stream at once; flush then hands over the queue. */
static void
test_rst_then_flush(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);

	(void)state;
	seg(t, C2S, 100, 0, F_SYN, NULL, 0);
	send_pat(t, C2S, 101, 0, 5, 'a', 0);
	send_pat(t, C2S, 101, 8, 4, 'a', 0);
	send_pat(t, C2S, 101, 14, 3, 'a', 0);
	/* An RST far outside any window is not believed. */
	assert_int_equal(seg(t, C2S, 101 + 0x80000000u, 0, F_RST, NULL, 0),
	    0);
	assert_int_equal(t->ctx.stats.bad_seq, 1);
	assert_int_equal(seg(t, S2C, 9000, 106, F_RST | F_ACK, NULL, 0), 1);
	assert_int_equal(t->rec.len[C2S], 5);
	assert_true(t->ctx.mem_used > 0);
	reasm_flush(&t->ctx, &t->s, &t->rec, t->ts);
	assert_int_equal(t->ctx.mem_used, 0);
	assert_int_equal(t->rec.len[C2S], 12);
	assert_pat(&t->rec, C2S, 0, 'a', 0, 5);
	assert_pat(&t->rec, C2S, 5, 'a', 8, 4);
	assert_pat(&t->rec, C2S, 9, 'a', 14, 3);
	assert_int_equal(t->rec.ngap, 2);
	assert_int_equal(t->rec.gap[0].len, 3);
	assert_int_equal(t->rec.gap[0].at, 5);
	assert_int_equal(t->rec.gap[1].len, 2);
	assert_int_equal(t->rec.gap[1].at, 9);
	assert_int_equal(reasm_stream_gaps(&t->s), 2);
	assert_int_equal(t->ctx.stats.gap_bytes, 5);
	tc_free(t);
}

/* ooo_max forces the first hole to be skipped; the rest still flows. */
static void
test_ooo_max_gap(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t;

	(void)state;
	cfg.ooo_max = 10;
	t = tc_new(&cfg);
	seg(t, C2S, 0xfffffff6u, 0, F_SYN, NULL, 0);
	send_pat(t, C2S, 0xfffffff7u, 0, 5, 'a', 0);
	send_pat(t, C2S, 0xfffffff7u, 10, 5, 'a', 0);
	send_pat(t, C2S, 0xfffffff7u, 20, 5, 'a', 0);
	assert_int_equal(t->s.dir[C2S].ooo_bytes, 10);
	send_pat(t, C2S, 0xfffffff7u, 30, 5, 'a', 0);
	assert_int_equal(t->ctx.stats.ooo_limit, 1);
	assert_int_equal(t->rec.ngap, 1);
	assert_int_equal(t->rec.gap[0].len, 5);
	assert_int_equal(t->rec.gap[0].at, 5);
	assert_int_equal(t->rec.len[C2S], 10);
	assert_true(t->s.dir[C2S].ooo_bytes <= 10);
	send_pat(t, C2S, 0xfffffff7u, 15, 5, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 20);
	reasm_flush(&t->ctx, &t->s, &t->rec, t->ts);
	assert_int_equal(t->rec.len[C2S], 25);
	assert_pat(&t->rec, C2S, 0, 'a', 0, 5);
	assert_pat(&t->rec, C2S, 5, 'a', 10, 15);
	assert_pat(&t->rec, C2S, 20, 'a', 30, 5);
	assert_int_equal(t->rec.ngap, 2);
	assert_int_equal(t->rec.gap[1].len, 5);
	assert_int_equal(t->rec.gap[1].at, 20);
	/* A single segment larger than ooo_max is delivered after a gap. */
	tc_free(t);
	t = tc_new(&cfg);
	seg(t, C2S, 50, 0, F_SYN, NULL, 0);
	send_pat(t, C2S, 51, 3, 20, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 20);
	assert_int_equal(t->rec.ngap, 1);
	assert_int_equal(t->rec.gap[0].len, 3);
	tc_free(t);
}

/*
 * A memcap smaller than the traffic: holes are skipped, memory never
 * exceeds the cap (checked after every segment by seg()), all received
 * bytes still come out in order.
 */
static void
test_memcap_gap(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t;
	uint32_t	 i;

	(void)state;
	cfg.memcap = 200;
	cfg.conflict_window = 0;
	t = tc_new(&cfg);
	seg(t, C2S, 0, 0, F_SYN, NULL, 0);
	for (i = 0; i < 10; i++)
		send_pat(t, C2S, 1, 10 + 60 * i, 50, 'a', 0);
	assert_true(t->ctx.stats.memcap_hits > 0);
	assert_true(t->ctx.stats.gaps > 0);
	reasm_flush(&t->ctx, &t->s, &t->rec, t->ts);
	assert_int_equal(t->ctx.mem_used, 0);
	assert_int_equal(t->rec.len[C2S], 500);
	for (i = 0; i < 10; i++)
		assert_pat(&t->rec, C2S, 50 * i, 'a', 10 + 60 * i, 50);
	assert_int_equal(t->rec.ngap, 10);
	for (i = 0; i < 10; i++) {
		assert_int_equal(t->rec.gap[i].len, 10);
		assert_int_equal(t->rec.gap[i].at, 50 * i);
	}
	assert_int_equal(t->ctx.stats.gap_bytes, 100);
	tc_free(t);
}

/* Two streams share one memcap: the second one degrades, not the cap. */
static void
test_memcap_shared(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t;
	struct reasm_stream s2;

	(void)state;
	cfg.memcap = 1000;
	cfg.conflict_window = 0;
	t = tc_new(&cfg);
	reasm_stream_init(&s2);
	seg(t, C2S, 0, 0, F_SYN, NULL, 0);
	send_pat(t, C2S, 1, 100, 990, 'a', 0);	/* cannot fit */
	assert_int_equal(t->rec.len[C2S], 990);	/* gap, delivered */
	assert_int_equal(t->rec.gap[0].len, 100);
	send_pat(t, C2S, 1, 1200, 500, 'a', 0);	/* fits: queued */
	assert_int_equal(t->rec.len[C2S], 990);
	assert_true(t->ctx.mem_used > 500);
	{
		struct decode_pkt p;
		uint8_t	 buf[600];

		fill(buf, 'a', 0, sizeof(buf));
		p = tu_pkt4("192.0.2.2", 1, "192.0.2.25", 25, 10, 0, 0,
		    buf, 100, 1);
		reasm_segment(&t->ctx, &s2, C2S, &p, &t->rec);
		p = tu_pkt4("192.0.2.2", 1, "192.0.2.25", 25, 210, 0, 0,
		    buf, 600, 2);
		reasm_segment(&t->ctx, &s2, C2S, &p, &t->rec);
		assert_true(t->ctx.mem_used <= cfg.memcap);
		/* 100 then, after a 100-byte gap, 600. */
		assert_int_equal(s2.dir[C2S].gaps, 1);
		assert_int_equal(s2.dir[C2S].delivered, 700);
	}
	reasm_stream_free(&t->ctx, &s2);
	tc_free(t);
}

/* The peer's ACK confirms a hole: skip it when data waits behind it. */
static void
test_ack_confirmed_hole(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);
	const uint32_t	 c = 0xfffffffeu, sv = 900;

	(void)state;
	seg(t, C2S, c - 1, 0, F_SYN, NULL, 0);
	seg(t, S2C, sv, c, F_SYN | F_ACK, NULL, 0);
	send_pat(t, C2S, c, 0, 5, 'a', F_ACK);
	send_pat(t, C2S, c, 10, 5, 'a', F_ACK);
	/* ACK below the hole: nothing. */
	seg(t, S2C, sv + 1, c + 5, F_ACK, NULL, 0);
	assert_int_equal(t->rec.ngap, 0);
	/* ACK covering part of the hole: that part is lost. */
	seg(t, S2C, sv + 1, c + 8, F_ACK, NULL, 0);
	assert_int_equal(t->rec.ngap, 1);
	assert_int_equal(t->rec.gap[0].len, 3);
	assert_int_equal(t->rec.len[C2S], 5);
	/* The rest of the hole arrives after all. */
	send_pat(t, C2S, c, 8, 2, 'a', F_ACK);
	assert_int_equal(t->rec.len[C2S], 12);
	assert_pat(&t->rec, C2S, 5, 'a', 8, 7);
	/* Another hole, confirmed whole: gap and queued data at once. */
	send_pat(t, C2S, c, 20, 5, 'a', F_ACK);
	send_pat(t, C2S, c, 30, 5, 'a', F_ACK);
	seg(t, S2C, sv + 1, c + 35, F_ACK, NULL, 0);
	assert_int_equal(t->rec.ngap, 3);
	assert_int_equal(t->rec.gap[1].len, 5);
	assert_int_equal(t->rec.gap[1].at, 12);
	assert_int_equal(t->rec.gap[2].len, 5);
	assert_int_equal(t->rec.gap[2].at, 17);
	assert_int_equal(t->rec.len[C2S], 22);
	assert_int_equal(t->ctx.stats.ack_unseen, 0);
	/* ACK ahead with nothing queued: no gap (mirror reordering). */
	seg(t, S2C, sv + 1, c + 40, F_ACK, NULL, 0);
	assert_int_equal(t->rec.ngap, 3);
	assert_int_equal(t->ctx.stats.ack_unseen, 5);
	send_pat(t, C2S, c, 35, 5, 'a', F_ACK);
	assert_int_equal(t->rec.len[C2S], 27);
	assert_int_equal(t->ctx.stats.gaps, 3);
	assert_int_equal(t->ctx.stats.gap_bytes, 13);
	tc_free(t);
}

/* An ACK of the FIN confirms the hole before it: gap, then finished. */
/*
 * A handshake at client ISN c and server ISN sv, the client's bytes
 * [0, 10) and [20, 30), and the server's ACK of all 30: a confirmed hole
 * at [10, 20), waiting out a 200 ms grace.
 */
static struct tc *
grace_hole(uint32_t c, uint32_t sv)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t;

	cfg.ack_grace_us = 200000;
	t = tc_new(&cfg);
	seg(t, C2S, c - 1, 0, F_SYN, NULL, 0);
	seg(t, S2C, sv, c, F_SYN | F_ACK, NULL, 0);
	send_pat(t, C2S, c, 0, 10, 'a', F_ACK);
	send_pat(t, C2S, c, 20, 10, 'a', F_ACK);
	seg(t, S2C, sv + 1, c + 30, F_ACK, NULL, 0);
	assert_int_equal(t->rec.ngap, 0);
	return t;
}

/*
 * A skewed tap: the receiver's ACK for a hole is captured before the data
 * that fills it. Within the grace the data is delivered in order, no gap.
 */
static void
test_ack_grace_skew(void **state)
{
	struct tc	*t;
	const uint32_t	 c = 0xfffffff0u, sv = 900;

	(void)state;
	t = grace_hole(c, sv);
	t->ts += 1000;					/* 1 ms later */
	send_pat(t, C2S, c, 10, 10, 'a', F_ACK);
	assert_int_equal(t->rec.ngap, 0);
	assert_int_equal(t->rec.len[C2S], 30);
	assert_pat(&t->rec, C2S, 0, 'a', 0, 30);
	/* Later segments of the stream find nothing pending. */
	seg(t, S2C, sv + 1, c + 30, F_ACK, NULL, 0);
	assert_int_equal(t->ctx.stats.gaps, 0);
	assert_int_equal(t->ctx.stats.ack_holes_filled, 1);
	tc_free(t);
}

/* The grace runs out by packet time: the hole is declared then. */
static void
test_ack_grace_expires(void **state)
{
	struct tc	*t;
	const uint32_t	 c = 1, sv = 0xffffffffu;

	(void)state;
	t = grace_hole(c, sv);
	t->ts += 150000;
	seg(t, S2C, sv + 1, c + 30, F_ACK, NULL, 0);	/* within the grace */
	assert_int_equal(t->rec.ngap, 0);
	t->ts += 60000;			/* 210 ms after the ACK: any segment */
	send_pat(t, S2C, sv + 1, 0, 4, 'A', F_ACK);
	assert_int_equal(t->rec.ngap, 1);
	assert_int_equal(t->rec.gap[0].len, 10);
	assert_int_equal(t->rec.gap[0].at, 10);
	assert_int_equal(t->rec.len[C2S], 20);
	/* The late copy is old now: not delivered twice. */
	send_pat(t, C2S, c, 10, 10, 'a', F_ACK);
	assert_int_equal(t->rec.len[C2S], 20);
	assert_int_equal(t->ctx.stats.ack_holes_filled, 0);
	tc_free(t);
}

/* A hole still waiting at the end of the connection is declared then. */
static void
test_ack_grace_flush(void **state)
{
	struct tc	*t;
	const uint32_t	 c = 0, sv = 7;

	(void)state;
	t = grace_hole(c, sv);
	reasm_flush(&t->ctx, &t->s, &t->rec, t->ts);
	assert_int_equal(t->rec.ngap, 1);
	assert_int_equal(t->rec.gap[0].len, 10);
	assert_int_equal(t->rec.len[C2S], 20);
	tc_free(t);
}

static void
test_ack_confirms_fin(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);

	(void)state;
	seg(t, C2S, 1, 0, F_SYN, NULL, 0);
	seg(t, S2C, 0xfffffffdu, 2, F_SYN | F_ACK, NULL, 0);
	send_pat(t, C2S, 2, 0, 5, 'a', 0);
	assert_int_equal(seg(t, C2S, 2 + 10, 0, F_FIN, NULL, 0), 0);
	/* ACK up to the FIN but not of it: the bytes may still come. */
	assert_int_equal(seg(t, S2C, 0xfffffffeu, 2 + 10, F_ACK, NULL, 0), 0);
	assert_int_equal(t->rec.ngap, 0);
	assert_int_equal(seg(t, S2C, 0xfffffffeu, 2 + 11, F_ACK | F_FIN,
	    NULL, 0), 1);
	assert_int_equal(t->rec.ngap, 1);
	assert_int_equal(t->rec.gap[0].len, 5);
	assert_int_equal(t->rec.gap[0].at, 5);
	assert_int_equal(t->ctx.stats.ack_unseen, 0);
	tc_free(t);
}

/* ack_unseen counts every acknowledged-but-unseen byte exactly once. */
static void
test_ack_unseen(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);
	const uint32_t	 c = 0xfffffff6u;	/* data base: c */

	(void)state;
	seg(t, C2S, c - 1, 0, F_SYN, NULL, 0);
	seg(t, S2C, 0, c, F_SYN | F_ACK, NULL, 0);
	send_pat(t, C2S, c, 0, 5, 'a', 0);
	seg(t, S2C, 1, c + 10, F_ACK, NULL, 0);
	assert_int_equal(t->ctx.stats.ack_unseen, 5);
	seg(t, S2C, 1, c + 10, F_ACK, NULL, 0);
	assert_int_equal(t->ctx.stats.ack_unseen, 5);
	seg(t, S2C, 1, c + 12, F_ACK, NULL, 0);
	assert_int_equal(t->ctx.stats.ack_unseen, 7);
	send_pat(t, C2S, c, 5, 15, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 20);
	seg(t, S2C, 1, c + 20, F_ACK, NULL, 0);
	assert_int_equal(t->ctx.stats.ack_unseen, 7);
	seg(t, S2C, 1, c + 25, F_ACK, NULL, 0);
	assert_int_equal(t->ctx.stats.ack_unseen, 12);
	/* Queued data raises the edge: [30,40) queued, ack 45. */
	send_pat(t, C2S, c, 30, 10, 'a', 0);
	seg(t, S2C, 1, c + 45, F_ACK, NULL, 0);
	assert_int_equal(t->ctx.stats.ack_unseen, 17);
	/* and the confirmed hole [20,30) was skipped. */
	assert_int_equal(t->rec.ngap, 1);
	assert_int_equal(t->rec.gap[0].len, 10);
	assert_int_equal(t->rec.len[C2S], 30);
	/* An ACK without the ACK flag is ignored; a wild one is bad. */
	seg(t, S2C, 1, c + 100, 0, NULL, 0);
	assert_int_equal(t->ctx.stats.ack_unseen, 17);
	seg(t, S2C, 1, c + 0x60000000u, F_ACK, NULL, 0);
	assert_int_equal(t->ctx.stats.ack_unseen, 17);
	assert_int_equal(t->ctx.stats.bad_seq, 1);
	tc_free(t);
}

/* depth cuts a direction; FIN still closes it. */
static void
test_depth(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t;

	(void)state;
	cfg.depth = 12;
	t = tc_new(&cfg);
	seg(t, C2S, 10, 0, F_SYN, NULL, 0);
	seg(t, S2C, 20, 11, F_SYN | F_ACK, NULL, 0);
	send_pat(t, C2S, 11, 20, 5, 'a', 0);	/* queued, freed at stop */
	send_pat(t, C2S, 11, 0, 10, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 10);
	send_pat(t, C2S, 11, 10, 10, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 12);
	assert_pat(&t->rec, C2S, 0, 'a', 0, 12);
	assert_int_equal(t->ctx.stats.depth_reached, 1);
	assert_int_equal(t->ctx.stats.bytes, 12);
	assert_int_equal(t->ctx.mem_used, 0);
	send_pat(t, C2S, 11, 20, 10, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 12);
	/* The other direction is not affected. */
	send_pat(t, S2C, 21, 0, 8, 'a', 0);
	assert_int_equal(t->rec.len[S2C], 8);
	assert_int_equal(seg(t, C2S, 11 + 30, 0, F_FIN, NULL, 0), 0);
	assert_int_equal(seg(t, S2C, 29, 0, F_FIN, NULL, 0), 1);
	assert_int_equal(t->ctx.stats.depth_reached, 1);
	tc_free(t);
}

/* The parser says REASM_ENOUGH: that direction stops, uncounted. */
static void
test_enough(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);

	(void)state;
	t->rec.enough_at[S2C] = 6;
	seg(t, S2C, 0xffffffffu, 0, F_SYN, NULL, 0);
	send_pat(t, S2C, 0, 10, 4, 'a', 0);	/* queued */
	send_pat(t, S2C, 0, 0, 4, 'a', 0);
	assert_int_equal(t->rec.len[S2C], 4);
	send_pat(t, S2C, 0, 4, 6, 'a', 0);
	/* [4,10) said ENOUGH: the queued [10,14) is not delivered. */
	assert_int_equal(t->rec.len[S2C], 10);
	assert_int_equal(t->ctx.stats.depth_reached, 0);
	assert_int_equal(t->ctx.mem_used, 0);
	send_pat(t, S2C, 0, 14, 4, 'a', 0);
	assert_int_equal(t->rec.len[S2C], 10);
	send_pat(t, C2S, 500, 0, 20, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 20);
	reasm_flush(&t->ctx, &t->s, &t->rec, t->ts);
	assert_int_equal(t->rec.len[S2C], 10);
	assert_int_equal(t->rec.ngap, 0);
	tc_free(t);
}

/* conflict_window 0: no ring, no comparison of delivered data. */
static void
test_conflict_window_off(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t;

	(void)state;
	cfg.conflict_window = 0;
	t = tc_new(&cfg);
	seg(t, C2S, 0, 0, F_SYN, NULL, 0);
	send_pat(t, C2S, 1, 0, 10, 'a', 0);
	assert_int_equal(t->ctx.mem_used, 0);
	assert_null(t->s.dir[C2S].recent);
	send_pat(t, C2S, 1, 0, 10, 'A', 0);
	assert_int_equal(t->ctx.stats.conflicts, 0);
	assert_int_equal(t->ctx.stats.duplicates, 1);
	assert_int_equal(t->rec.len[C2S], 10);
	/* Queued bytes are still compared. */
	send_pat(t, C2S, 1, 20, 10, 'a', 0);
	send_pat(t, C2S, 1, 25, 10, 'A', 0);
	assert_int_equal(t->ctx.stats.conflicts, 1);
	assert_int_equal(t->rec.nconf, 1);
	assert_int_equal(t->rec.conf[0].seq, 1 + 25);
	assert_int_equal(t->rec.conf[0].len, 5);
	send_pat(t, C2S, 1, 10, 10, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 35);
	assert_pat(&t->rec, C2S, 0, 'a', 0, 30);
	assert_pat(&t->rec, C2S, 30, 'A', 30, 5);
	tc_free(t);
}

/* Only the last conflict_window bytes are compared; the ring wraps. */
static void
test_conflict_window_limit(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t;
	uint8_t		 buf[20];
	uint32_t	 i;

	(void)state;
	cfg.conflict_window = 8;
	t = tc_new(&cfg);
	seg(t, C2S, 0xfffffffbu, 0, F_SYN, NULL, 0);
	for (i = 0; i < 5; i++)		/* 3-byte pieces wrap the ring */
		send_pat(t, C2S, 0xfffffffcu, 3 * i, 3, 'a', 0);
	assert_int_equal(t->rec.len[C2S], 15);
	assert_int_equal(t->s.dir[C2S].recent_len, 8);
	/* Entirely older than the window: nothing to compare. */
	send_pat(t, C2S, 0xfffffffcu, 0, 7, 'A', 0);
	assert_int_equal(t->ctx.stats.conflicts, 0);
	assert_int_equal(t->ctx.stats.duplicates, 1);
	/* Bytes 9 and 13 differ: reported as the span 9..13. */
	fill(buf, 'a', 8, 7);
	buf[1] = '#';
	buf[5] = '#';
	seg(t, C2S, 0xfffffffcu + 8, 0, 0, buf, 7);
	assert_int_equal(t->ctx.stats.conflicts, 1);
	assert_int_equal(t->rec.conf[0].seq, 0xfffffffcu + 9);
	assert_int_equal(t->rec.conf[0].len, 5);
	assert_memory_equal(t->rec.conf[0].new, buf + 1, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(t->rec.conf[0].old[i], pat('a', 9 + i));
	/* The ring is intact after being rotated for the report. */
	send_pat(t, C2S, 0xfffffffcu, 15, 3, 'a', 0);
	send_pat(t, C2S, 0xfffffffcu, 0, 18, 'A', 0);
	assert_int_equal(t->ctx.stats.conflicts, 2);
	assert_int_equal(t->rec.conf[1].seq, 0xfffffffcu + 10);
	assert_int_equal(t->rec.conf[1].len, 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(t->rec.conf[1].old[i], pat('a', 10 + i));
	tc_free(t);
}

/*
 * The memcap refuses the ring: delivered segments are remembered by digest
 * and a retransmission that covers one whole is still compared, across the
 * wrap of the sequence space. What covers no whole segment, or a segment
 * older than the last REASM_DIGESTS, is counted as unchecked.
 */
static void
test_conflict_by_digest(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t;
	uint32_t	 base = 0xfffffff6u, i;
	uint8_t		 buf[40];

	(void)state;
	cfg.memcap = cfg.conflict_window - 1;	/* no ring fits */
	t = tc_new(&cfg);
	seg(t, C2S, base - 1, 0, F_SYN, NULL, 0);
	send_pat(t, C2S, base, 0, 10, 'a', 0);	/* wraps past 2^32 */
	send_pat(t, C2S, base, 10, 10, 'a', 0);
	assert_null(t->s.dir[C2S].recent);
	assert_true(t->ctx.stats.memcap_hits > 0);
	/* The same bytes again: a duplicate, nothing to report. */
	send_pat(t, C2S, base, 0, 10, 'a', 0);
	assert_int_equal(t->ctx.stats.conflicts, 0);
	assert_int_equal(t->ctx.stats.duplicates, 1);
	/* Other bytes over the first segment. */
	send_pat(t, C2S, base, 0, 10, 'A', 0);
	assert_int_equal(t->ctx.stats.conflicts, 1);
	assert_int_equal(t->rec.nconf, 1);
	assert_int_equal(t->rec.conf[0].seq, base);
	assert_int_equal(t->rec.conf[0].len, 10);
	assert_true(t->rec.conf[0].digest_only);
	for (i = 0; i < 10; i++)
		assert_int_equal(t->rec.conf[0].new[i], pat('A', i));
	/* One copy of both: only the second differs (byte 15). */
	fill(buf, 'a', 0, 20);
	buf[15] = '#';
	seg(t, C2S, base, 0, 0, buf, 20);
	assert_int_equal(t->rec.nconf, 2);
	assert_int_equal(t->rec.conf[1].seq, base + 10);
	assert_int_equal(t->rec.conf[1].len, 10);
	assert_int_equal(t->rec.conf[1].new[5], '#');
	assert_int_equal(t->ctx.stats.unchecked, 0);
	/* A piece of a segment cannot be hashed against it. */
	send_pat(t, C2S, base, 2, 5, 'A', 0);
	assert_int_equal(t->rec.nconf, 2);
	assert_int_equal(t->ctx.stats.unchecked, 1);
	/* Four more segments push the first two out of the digests. */
	for (i = 0; i < REASM_DIGESTS; i++)
		send_pat(t, C2S, base, 20 + 5 * i, 5, 'a', 0);
	send_pat(t, C2S, base, 0, 10, 'A', 0);
	assert_int_equal(t->rec.nconf, 2);
	assert_int_equal(t->ctx.stats.unchecked, 2);
	send_pat(t, C2S, base, 20, 5, 'A', 0);
	assert_int_equal(t->rec.nconf, 3);
	assert_int_equal(t->rec.conf[2].seq, base + 20);
	/* First copy wins: the parser saw the original bytes only. */
	assert_int_equal(t->rec.len[C2S], 20 + 5 * REASM_DIGESTS);
	assert_pat(&t->rec, C2S, 0, 'a', 0, 20 + 5 * REASM_DIGESTS);
	tc_free(t);
}

/*
 * A stream marked and resumed in a fresh one (an evicted connection seen
 * again): bytes already delivered are duplicates, the next ones continue
 * in order, a hole before them is a gap.
 */
static void
test_mark_resume(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct reasm_mark m;
	struct tc	*t;

	(void)state;
	t = tc_new(&cfg);
	seg(t, C2S, 0xfffffffeu, 0, F_SYN, NULL, 0);
	seg(t, S2C, 99, 0xffffffffu, F_SYN | F_ACK, NULL, 0);
	send_pat(t, C2S, 0xffffffffu, 0, 10, 'a', 0);
	send_pat(t, S2C, 100, 0, 30, 'A', 0);
	reasm_flush(&t->ctx, &t->s, &t->rec, t->ts);
	reasm_stream_mark(&t->s, &m);
	reasm_stream_init(&t->s);
	reasm_stream_resume(&t->s, &m);
	send_pat(t, C2S, 0xffffffffu, 5, 10, 'a', 0);	/* 5 old, 5 new */
	assert_int_equal(t->rec.len[C2S], 15);
	assert_int_equal(t->ctx.stats.overlaps, 1);
	assert_pat(&t->rec, C2S, 0, 'a', 0, 15);
	send_pat(t, S2C, 100, 40, 10, 'A', 0);		/* 10 lost */
	assert_int_equal(t->rec.len[S2C], 30);
	reasm_flush(&t->ctx, &t->s, &t->rec, t->ts);
	assert_int_equal(t->rec.ngap, 1);
	assert_int_equal(t->rec.gap[0].dir, S2C);
	assert_int_equal(t->rec.gap[0].len, 10);
	assert_int_equal(t->rec.gap[0].at, 30);
	assert_pat(&t->rec, S2C, 30, 'A', 40, 10);
	tc_free(t);
}

/* A new SYN with another ISN restarts a direction that sent no data. */
static void
test_syn_reuse(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);

	(void)state;
	seg(t, C2S, 100, 0, F_SYN, NULL, 0);
	seg(t, C2S, 100, 0, F_SYN, NULL, 0);		/* retransmit */
	send_pat(t, C2S, 101, 50, 5, 'a', 0);		/* queued */
	seg(t, C2S, 5000, 0, F_SYN, NULL, 0);		/* new ISN */
	assert_int_equal(t->s.dir[C2S].isn, 5000);
	assert_int_equal(t->s.dir[C2S].ooo_bytes, 0);
	assert_int_equal(t->ctx.stats.bad_seq, 0);
	seg(t, C2S, 5001, 0, 0, "MAIL", 4);
	assert_int_equal(t->rec.len[C2S], 4);
	/* After data, a contradicting SYN is dropped, payload and all. */
	seg(t, C2S, 7000, 0, F_SYN, "XXXX", 4);
	assert_int_equal(t->ctx.stats.bad_seq, 1);
	assert_int_equal(t->s.dir[C2S].isn, 5000);
	assert_int_equal(t->s.dir[C2S].ooo_bytes, 0);
	/* SYN with data (TFO): data starts after the SYN. */
	seg(t, S2C, 0xffffffffu, 0, F_SYN, "220 ", 4);
	assert_int_equal(t->rec.len[S2C], 4);
	assert_memory_equal(t->rec.data[S2C], "220 ", 4);
	assert_int_equal(t->s.dir[S2C].next_seq, 4);
	tc_free(t);
}

/* Segments far outside any window are dropped before they cost memory. */
static void
test_bad_window(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);
	size_t		 mem;

	(void)state;
	seg(t, C2S, 0, 0, F_SYN, NULL, 0);
	send_pat(t, C2S, 1, 0, 4, 'a', 0);
	mem = t->ctx.mem_used;
	send_pat(t, C2S, 5 + (1u << 30) + 1, 0, 4, 'a', 0);
	send_pat(t, C2S, 5 - (1u << 30) - 10, 0, 4, 'a', 0);
	assert_int_equal(t->ctx.stats.bad_seq, 2);
	assert_int_equal(t->ctx.mem_used, mem);
	assert_int_equal(t->s.dir[C2S].ooo_bytes, 0);
	/* Just inside the window is queued. */
	send_pat(t, C2S, 5 + (1u << 30) - 10, 0, 4, 'a', 0);
	assert_int_equal(t->s.dir[C2S].ooo_bytes, 4);
	tc_free(t);
}

/* ops->gap and ops->conflict may be NULL. */
static void
test_null_ops(void **state)
{
	struct reasm_config cfg = cfg_default();
	struct tc	*t = tc_new(&cfg);

	(void)state;
	t->ctx.ops = &bare_ops;
	seg(t, C2S, 0, 0, F_SYN, NULL, 0);
	send_pat(t, C2S, 1, 0, 5, 'a', 0);
	send_pat(t, C2S, 1, 0, 5, 'A', 0);
	send_pat(t, C2S, 1, 10, 5, 'a', 0);
	reasm_flush(&t->ctx, &t->s, &t->rec, t->ts);
	assert_int_equal(t->ctx.stats.conflicts, 1);
	assert_int_equal(t->ctx.stats.gaps, 1);
	assert_int_equal(t->rec.len[C2S], 10);
	tc_free(t);
}

/* Deterministic xorshift, so a failure can be replayed. */
static uint32_t
rnd(uint32_t *st)
{
	uint32_t	 x = *st;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *st = x;
}

/*
 * Random segmentation, order and duplication (same bytes) of a 3000-byte
 * stream crossing the wrap, with tight and loose limits. Every byte that
 * comes out must be the right byte at the right offset (checked inside
 * rec_data), delivered + gaps must add up to the stream, and with loose
 * limits nothing may be lost.
 */
static void
test_random(void **state)
{
	static uint8_t	 stream[3000];
	uint32_t	 st = 0x12345678, iter, i, n, off, len;
	const uint32_t	 isn = 0xfffffa00u;
	uint64_t	 gaps = 0, memcap_hits = 0, ooo_limit = 0, dups = 0;

	(void)state;
	fill(stream, 'a', 0, sizeof(stream));
	for (i = 0; i < sizeof(stream); i++)
		stream[i] ^= (uint8_t)(i * 7);
	for (iter = 0; iter < 200; iter++) {
		struct reasm_config cfg = cfg_default();
		struct tc *t;
		int	 tight = iter % 2;
		uint32_t segs[512][2], nseg = 0, k, tmp0, tmp1;

		if (tight) {
			cfg.ooo_max = 300 + rnd(&st) % 600;
			cfg.memcap = 400 + rnd(&st) % 2000;
			cfg.conflict_window = rnd(&st) % 3 * 64;
		}
		t = tc_new(&cfg);
		t->rec.expect[C2S] = stream;
		for (off = 0; off < sizeof(stream); off += len) {
			len = 1 + rnd(&st) % 200;
			if (off + len > sizeof(stream))
				len = sizeof(stream) - off;
			segs[nseg][0] = off;
			segs[nseg][1] = len;
			nseg++;
			assert_true(nseg < 400);
		}
		/* Duplicates and overlapping re-cuts of the same bytes. */
		n = nseg;
		for (i = 0; i < n / 4 && nseg < 512; i++) {
			off = rnd(&st) % (sizeof(stream) - 1);
			len = 1 + rnd(&st) % 300;
			if (off + len > sizeof(stream))
				len = sizeof(stream) - off;
			segs[nseg][0] = off;
			segs[nseg][1] = len;
			nseg++;
		}
		for (i = nseg - 1; i > 0; i--) {	/* shuffle */
			k = rnd(&st) % (i + 1);
			tmp0 = segs[i][0];
			tmp1 = segs[i][1];
			segs[i][0] = segs[k][0];
			segs[i][1] = segs[k][1];
			segs[k][0] = tmp0;
			segs[k][1] = tmp1;
		}
		seg(t, C2S, isn, 0, F_SYN, NULL, 0);
		for (i = 0; i < nseg; i++)
			seg(t, C2S, isn + 1 + segs[i][0], 0, 0,
			    stream + segs[i][0], segs[i][1]);
		reasm_flush(&t->ctx, &t->s, &t->rec, t->ts);
		assert_int_equal(t->ctx.mem_used, 0);
		assert_int_equal(t->ctx.stats.conflicts, 0);
		assert_int_equal(t->rec.pos[C2S], sizeof(stream));
		assert_int_equal(t->rec.len[C2S] + t->ctx.stats.gap_bytes,
		    sizeof(stream));
		gaps += t->ctx.stats.gaps;
		memcap_hits += t->ctx.stats.memcap_hits;
		ooo_limit += t->ctx.stats.ooo_limit;
		dups += t->ctx.stats.duplicates + t->ctx.stats.overlaps;
		if (!tight) {
			assert_int_equal(t->ctx.stats.gaps, 0);
			assert_memory_equal(t->rec.data[C2S], stream,
			    sizeof(stream));
		}
		tc_free(t);
	}
	/* The run did exercise every path it claims to. */
	assert_true(gaps > 0 && memcap_hits > 0 && ooo_limit > 0 && dups > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_ooo_permutations),
		cmocka_unit_test(test_ooo_fill_spanning),
		cmocka_unit_test(test_overlap_table),
		cmocka_unit_test(test_wrap_middle),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_fin_after_hole),
		cmocka_unit_test(test_rst_then_flush),
		cmocka_unit_test(test_ooo_max_gap),
		cmocka_unit_test(test_memcap_gap),
		cmocka_unit_test(test_conflict_by_digest),
		cmocka_unit_test(test_mark_resume),
		cmocka_unit_test(test_memcap_shared),
		cmocka_unit_test(test_ack_confirmed_hole),
		cmocka_unit_test(test_ack_grace_skew),
		cmocka_unit_test(test_ack_grace_expires),
		cmocka_unit_test(test_ack_grace_flush),
		cmocka_unit_test(test_ack_confirms_fin),
		cmocka_unit_test(test_ack_unseen),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_enough),
		cmocka_unit_test(test_conflict_window_off),
		cmocka_unit_test(test_conflict_window_limit),
		cmocka_unit_test(test_syn_reuse),
		cmocka_unit_test(test_bad_window),
		cmocka_unit_test(test_null_ops),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
