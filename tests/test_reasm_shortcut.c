/*
 * test_reasm_shortcut.c: reassembly's shortcuts (segments that can change
 * nothing, in-order data with nothing queued) against the general path.
 * lib/reasm.c is built here a second time without them (REASM_SHORTCUTS 0,
 * its functions renamed ref_*) as the reference. Random sessions, at the
 * ISNs that break sequence arithmetic, with overlaps, altered copies,
 * holes, ACKs, FIN, RST, parsers that have enough, depth, small memcaps
 * and evictions, go through both; every delivery, gap, conflict, counter,
 * return value and stream position must be the same after each segment.
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

#define REASM_SHORTCUTS		0
#define reasm_ctx_init		ref_reasm_ctx_init
#define reasm_stream_init	ref_reasm_stream_init
#define reasm_segment		ref_reasm_segment
#define reasm_flush		ref_reasm_flush
#define reasm_stream_mark	ref_reasm_stream_mark
#define reasm_stream_resume	ref_reasm_stream_resume
#define reasm_stream_free	ref_reasm_stream_free
#define reasm_forget_recent	ref_reasm_forget_recent
#define reasm_stream_gaps	ref_reasm_stream_gaps
/* reasm.h declared the real ones: the reference's own, as it uses them. */
void	ref_reasm_stream_free(struct reasm_ctx *, struct reasm_stream *);
#include "../lib/reasm.c"
#undef reasm_ctx_init
#undef reasm_stream_init
#undef reasm_segment
#undef reasm_flush
#undef reasm_stream_mark
#undef reasm_stream_resume
#undef reasm_stream_free
#undef reasm_forget_recent
#undef reasm_stream_gaps

#define CONTENT		4096	/* bytes each direction may send */
#define LOG_MAX		(64 * 1024)
#define STEPS		300
#define RUNS		2000

/* Segments offered while their sender's direction was stopped, and
 * in order with nothing queued: the shortcuts' cases, which the runs
 * must reach. */
static uint64_t	 n_stopped, n_in_order;

/* The events one implementation handed over since the last comparison. */
struct side {
	struct reasm_ctx ctx;
	struct reasm_stream s;
	uint8_t		 log[LOG_MAX];
	size_t		 loglen;
	uint64_t	 delivered[2];
	uint64_t	 enough_at[2];	/* answer ENOUGH from here, 0 never */
};

static void
log_put(struct side *sd, const void *b, size_t n)
{
	assert_true(sd->loglen + n <= LOG_MAX);
	memcpy(sd->log + sd->loglen, b, n);
	sd->loglen += n;
}

static void
log_event(struct side *sd, char what, int dir, uint64_t a, uint64_t b)
{
	uint64_t	 v[2] = { a, b };

	log_put(sd, &what, 1);
	log_put(sd, &dir, sizeof(dir));
	log_put(sd, v, sizeof(v));
}

static int
sd_data(void *app, int dir, const uint8_t *buf, size_t len, uint64_t ts)
{
	struct side	*sd = app;

	log_event(sd, 'D', dir, len, ts);
	log_put(sd, buf, len);
	sd->delivered[dir] += len;
	if (sd->enough_at[dir] != 0 && sd->delivered[dir] >= sd->enough_at[dir])
		return REASM_ENOUGH;
	return REASM_MORE;
}

static void
sd_gap(void *app, int dir, uint32_t len, uint64_t ts)
{
	log_event(app, 'G', dir, len, ts);
}

static void
sd_conflict(void *app, int dir, uint32_t seq, const uint8_t *old,
    const uint8_t *new, size_t len, uint64_t ts)
{
	struct side	*sd = app;

	log_event(sd, 'C', dir, seq, len + (ts << 32));
	if (old != NULL)
		log_put(sd, old, len);
	else
		log_put(sd, "-", 1);
	log_put(sd, new, len);
}

static const struct reasm_ops sd_ops = {
	.data = sd_data,
	.gap = sd_gap,
	.conflict = sd_conflict,
};

/* xorshift64*: the runs are the same on every machine. */
static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * 0x2545f4914f6cdd1dULL;
}

static uint32_t
below(uint64_t *st, uint32_t n)
{
	return (uint32_t)(rnd(st) % n);
}

/* Both sides hold the same events, counters and positions. */
static void
same(struct side *a, struct side *b)
{
	struct reasm_mark ma, mb;

	assert_int_equal(a->loglen, b->loglen);
	assert_memory_equal(a->log, b->log, a->loglen);
	a->loglen = b->loglen = 0;
	assert_memory_equal(&a->ctx.stats, &b->ctx.stats,
	    sizeof(a->ctx.stats));
	assert_int_equal(a->ctx.mem_used, b->ctx.mem_used);
	assert_int_equal(a->ctx.mem_peak, b->ctx.mem_peak);
	reasm_stream_mark(&a->s, &ma);
	ref_reasm_stream_mark(&b->s, &mb);
	assert_memory_equal(&ma, &mb, sizeof(ma));
	assert_int_equal(reasm_stream_gaps(&a->s), ref_reasm_stream_gaps(&b->s));
}

static const uint32_t isns[] = { 0, 1, 0xffffffffU, 0xfffffff6U, 0x7fffffffU };

/* One random session through both sides. */
static void
run(uint64_t seed, struct side *a, struct side *b)
{
	static uint8_t	 content[2][CONTENT], alt[2][CONTENT];
	struct reasm_config cfg;
	struct decode_pkt p;
	uint64_t	 st = seed * 0x9e3779b97f4a7c15ULL + 1, ts = 1000000;
	uint32_t	 isn[2], front[2], off, len, i;
	int		 dir, ra, rb;

	for (dir = 0; dir < 2; dir++) {
		for (i = 0; i < CONTENT; i++) {
			content[dir][i] = (uint8_t)rnd(&st);
			alt[dir][i] = below(&st, 4) == 0 ? content[dir][i] ^ 0x20 :
			    content[dir][i];
		}
		isn[dir] = below(&st, 3) == 0 ? (uint32_t)rnd(&st) :
		    isns[below(&st, sizeof(isns) / sizeof(isns[0]))];
		front[dir] = 0;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.memcap = below(&st, 4) == 0 ? 40 + below(&st, 400) : 1 << 20;
	cfg.ooo_max = below(&st, 4) == 0 ? below(&st, 300) : 64 * 1024;
	cfg.depth = below(&st, 3) == 0 ? 1 + below(&st, 1500) : 0;
	cfg.conflict_window = below(&st, 4) == 0 ? 0 : 8 + below(&st, 120);
	cfg.ack_grace_us = below(&st, 2) == 0 ? 0 : below(&st, 3000);
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	reasm_ctx_init(&a->ctx, &sd_ops, &cfg);
	ref_reasm_ctx_init(&b->ctx, &sd_ops, &cfg);
	memcpy(b->ctx.key, a->ctx.key, sizeof(a->ctx.key));
	reasm_stream_init(&a->s);
	ref_reasm_stream_init(&b->s);
	for (dir = 0; dir < 2; dir++)
		a->enough_at[dir] = b->enough_at[dir] =
		    below(&st, 2) == 0 ? 0 : 1 + below(&st, 1200);

	for (i = 0; i < STEPS; i++) {
		memset(&p, 0, sizeof(p));
		dir = (int)below(&st, 2);
		ts += below(&st, 800);
		p.ts_us = ts;
		if (i < 4 && below(&st, 2) == 0) {
			p.flags = DECODE_TH_SYN | (dir == 1 ? DECODE_TH_ACK : 0);
			p.seq = isn[dir] - 1;
			p.ack = isn[!dir];
		} else {
			/* Mostly at the sender's front, else behind or ahead. */
			off = front[dir];
			switch (below(&st, 6)) {
			case 0:
				off -= off < 60 ? off : below(&st, 60);
				break;
			case 1:
				off += below(&st, 200);
				break;
			}
			len = below(&st, 5) == 0 ? 0 : below(&st, 160);
			if (off + len > CONTENT - 1)
				off = len = 0;
			p.seq = isn[dir] + off;
			p.payload_len = len;
			p.payload = below(&st, 8) == 0 ? alt[dir] + off :
			    content[dir] + off;
			if (off + len > front[dir])
				front[dir] = off + len;
			p.flags = below(&st, 10) == 0 ? 0 : DECODE_TH_ACK;
			p.ack = isn[!dir] + front[!dir] -
			    (front[!dir] > 0 ? below(&st, front[!dir] + 1) : 0);
			if (below(&st, 25) == 0)
				p.flags |= DECODE_TH_FIN;
			if (below(&st, 120) == 0)
				p.flags |= DECODE_TH_RST;
		}
		if (a->s.dir[dir].flags & REASM_D_STOP)
			n_stopped++;
		else if (p.payload_len > 0 &&
		    p.seq == a->s.dir[dir].next_seq &&
		    TAILQ_EMPTY(&a->s.dir[dir].ooo))
			n_in_order++;
		ra = reasm_segment(&a->ctx, &a->s, dir, &p, a);
		rb = ref_reasm_segment(&b->ctx, &b->s, dir, &p, b);
		assert_int_equal(ra, rb);
		same(a, b);
		if (ra || below(&st, 60) == 0) {
			/* Closed, or evicted and continued. */
			struct reasm_mark ma, mb;

			reasm_flush(&a->ctx, &a->s, a, ts);
			ref_reasm_flush(&b->ctx, &b->s, b, ts);
			reasm_stream_mark(&a->s, &ma);
			ref_reasm_stream_mark(&b->s, &mb);
			reasm_stream_init(&a->s);
			ref_reasm_stream_init(&b->s);
			if (!ra) {
				reasm_stream_resume(&a->s, &ma);
				ref_reasm_stream_resume(&b->s, &mb);
			}
			same(a, b);
		} else if (below(&st, 80) == 0) {
			reasm_forget_recent(&a->s, dir);
			ref_reasm_forget_recent(&b->s, dir);
		}
	}
	reasm_flush(&a->ctx, &a->s, a, ts);
	ref_reasm_flush(&b->ctx, &b->s, b, ts);
	same(a, b);
	assert_int_equal(a->ctx.mem_used, 0);
}

static void
test_shortcuts_match_general_path(void **state)
{
	struct side	*a, *b;
	uint64_t	 seed;

	(void)state;
	a = malloc(sizeof(*a));
	b = malloc(sizeof(*b));
	assert_non_null(a);
	assert_non_null(b);
	for (seed = 1; seed <= RUNS; seed++)
		run(seed, a, b);
	print_message("%llu segments of stopped directions, %llu in order\n",
	    (unsigned long long)n_stopped, (unsigned long long)n_in_order);
	assert_true(n_stopped > RUNS * 10);
	assert_true(n_in_order > RUNS * 10);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shortcuts_match_general_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
