/*
 * test_tcp.c: segment validation in front of reassembly. Expectations come
 * from the RFCs (793 windows, 5961 resets, 7323 scaling and PAWS) and the
 * offload rule documented in lib/tcp.c, never from the code's output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "reasm.h"
#include "tcp.h"
#include "testutil.h"

#define C2S	REASM_TO_SERVER
#define S2C	REASM_TO_CLIENT

#define SYN	DECODE_TH_SYN
#define ACK	DECODE_TH_ACK
#define RST	DECODE_TH_RST
#define FIN	DECODE_TH_FIN

#define SLACK	65536U		/* lib/tcp.c TCP_WINDOW_SLACK */
#define UNKNOWN	(8U << 20)	/* lib/tcp.c TCP_WINDOW_UNKNOWN */

struct w {
	struct tcp_ctx	 ctx;
	struct tcp_state st;
};

static uint8_t	 data[4096];

static void
w_init(struct w *w, enum tcp_checksum_mode mode)
{
	struct tcp_config cfg;

	memset(w, 0, sizeof(*w));
	memset(&cfg, 0, sizeof(cfg));
	cfg.checksum = mode;
	tcp_ctx_init(&w->ctx, &cfg);
}

static struct decode_pkt
pkt(int dir, uint32_t seq, uint32_t ack, uint8_t flags, uint32_t len,
    uint16_t window)
{
	struct decode_pkt p;

	if (dir == C2S)
		p = tu_pkt4("192.0.2.1", 40000, "192.0.2.25", 25, seq, ack,
		    flags, data, len, 1);
	else
		p = tu_pkt4("192.0.2.25", 25, "192.0.2.1", 40000, seq, ack,
		    flags, data, len, 1);
	p.window = window;
	return p;
}

/* Offer p with checksum verdict csum; 1 if it goes on to reassembly. */
static int
offer(struct w *w, int dir, const struct decode_pkt *p, enum decode_csum csum)
{
	return tcp_segment(&w->ctx, &w->st, dir, p, csum);
}

static int
tx(struct w *w, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
    uint32_t len, uint16_t window)
{
	struct decode_pkt p = pkt(dir, seq, ack, flags, len, window);

	return offer(w, dir, &p, DECODE_CSUM_OK);
}

/* A segment with window 1000 and checksum verdict csum. */
static int
txc(struct w *w, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
    uint32_t len, enum decode_csum csum)
{
	struct decode_pkt p = pkt(dir, seq, ack, flags, len, 1000);

	return offer(w, dir, &p, csum);
}

/* SYN and SYN-ACK with window scale shifts (-1: option absent). */
static void
handshake(struct w *w, uint32_t c, uint32_t s, int cws, int sws,
    uint16_t swin)
{
	struct decode_pkt p;

	p = pkt(C2S, c, 0, SYN, 0, 64240);
	if (cws >= 0) {
		p.opts |= DECODE_OPT_WSCALE;
		p.wscale = (uint8_t)cws;
	}
	assert_true(offer(w, C2S, &p, DECODE_CSUM_OK));
	p = pkt(S2C, s, c + 1, SYN | ACK, 0, swin);
	if (sws >= 0) {
		p.opts |= DECODE_OPT_WSCALE;
		p.wscale = (uint8_t)sws;
	}
	assert_true(offer(w, S2C, &p, DECODE_CSUM_OK));
}

/* --- checksums under auto, yes, no ---------------------------------- */

/* A sender wrong from its first segment offloads; once right, for good. */
static void
test_auto_offload_first(void **state)
{
	struct w	 w;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	assert_true(txc(&w, C2S, 100, 0, SYN, 0, DECODE_CSUM_BAD));
	assert_true(txc(&w, C2S, 101, 0, ACK, 10, DECODE_CSUM_BAD));
	assert_int_equal(w.ctx.stats.checksum_offloaded, 2);
	assert_int_equal(w.ctx.stats.offloading_senders, 1);
	/* The first right one makes the direction verified for good. */
	assert_true(txc(&w, C2S, 111, 0, ACK, 10, DECODE_CSUM_OK));
	assert_false(txc(&w, C2S, 121, 0, ACK, 10, DECODE_CSUM_BAD));
	assert_int_equal(w.ctx.stats.bad_checksum, 1);
	/* A dropped segment taught nothing: 121 is still next. */
	assert_int_equal(w.st.dir[C2S].snd_max, 121);
}

/* Right from the start: failures are chaff, dropped; the offload mark
 * (pseudo-header sum only) is accepted. */
static void
test_auto_verified_first(void **state)
{
	struct w	 w;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	handshake(&w, 100, 900, 7, 7, 1000);
	assert_false(txc(&w, S2C, 901, 101, ACK, 10, DECODE_CSUM_BAD));
	assert_false(txc(&w, S2C, 901, 101, ACK | RST, 0, DECODE_CSUM_BAD));
	assert_int_equal(w.ctx.stats.bad_checksum, 2);
	assert_true(txc(&w, S2C, 901, 101, ACK, 10, DECODE_CSUM_PARTIAL));
	assert_int_equal(w.ctx.stats.checksum_offloaded, 1);
	assert_int_equal(w.ctx.stats.offloading_senders, 1);
	/* Still chaff without the mark, even after a right one. */
	assert_true(txc(&w, S2C, 911, 101, ACK, 10, DECODE_CSUM_OK));
	assert_false(txc(&w, S2C, 921, 101, ACK, 10, DECODE_CSUM_BAD));
	assert_true(txc(&w, S2C, 921, 101, ACK, 10, DECODE_CSUM_PARTIAL));
	assert_int_equal(w.ctx.stats.offloading_senders, 1);
}

/* A sender whose failures carry the offload mark: other failures are not
 * offload but chaff. */
static void
test_auto_partial(void **state)
{
	struct w	 w;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	assert_true(txc(&w, S2C, 900, 0, SYN, 0, DECODE_CSUM_PARTIAL));
	assert_true(txc(&w, S2C, 901, 0, ACK, 10, DECODE_CSUM_PARTIAL));
	assert_false(txc(&w, S2C, 911, 0, ACK, 10, DECODE_CSUM_BAD));
	assert_int_equal(w.ctx.stats.checksum_offloaded, 2);
	assert_int_equal(w.ctx.stats.bad_checksum, 1);
	/* Truncated captures cannot be verified: taken, counted. */
	assert_true(txc(&w, S2C, 911, 0, ACK, 10, DECODE_CSUM_UNCHECKED));
	assert_int_equal(w.ctx.stats.checksum_unverified, 1);
}

static void
test_mode_yes_no(void **state)
{
	struct w	 w;
	uint8_t		 buf[128];
	struct decode_pkt p;
	size_t		 n;

	(void)state;
	w_init(&w, TCP_CSUM_YES);
	assert_true(tcp_drop_early(&w.ctx, DECODE_CSUM_BAD));
	assert_true(tcp_drop_early(&w.ctx, DECODE_CSUM_PARTIAL));
	assert_false(tcp_drop_early(&w.ctx, DECODE_CSUM_OK));
	assert_false(tcp_drop_early(&w.ctx, DECODE_CSUM_UNCHECKED));
	assert_int_equal(w.ctx.stats.bad_checksum, 2);
	/* Even a first segment: yes never assumes offload. */
	assert_false(txc(&w, C2S, 100, 0, SYN, 0, DECODE_CSUM_BAD));
	/* auto decides per sender, never before the connection. */
	w_init(&w, TCP_CSUM_AUTO);
	assert_false(tcp_drop_early(&w.ctx, DECODE_CSUM_BAD));
	/* no: a broken frame is not even looked at. */
	n = tu_ipv4_tcp(buf, "192.0.2.1", 1, "192.0.2.2", 25, 1, 0, ACK, "x",
	    1);
	buf[n - 1] ^= 0xff;
	assert_int_equal(decode_frame(DECODE_LINK_IPV4, buf, (uint32_t)n, 0,
	    &p, NULL), DECODE_OK);
	assert_int_equal(tcp_checksum(&w.ctx, &p), DECODE_CSUM_BAD);
	w_init(&w, TCP_CSUM_NO);
	assert_int_equal(tcp_checksum(&w.ctx, &p), DECODE_CSUM_OK);
	assert_int_equal(tcp_checksum_mode_parse("auto"), TCP_CSUM_AUTO);
	assert_int_equal(tcp_checksum_mode_parse("no"), TCP_CSUM_NO);
	assert_int_equal(tcp_checksum_mode_parse("maybe"), -1);
}

/* A fragment whose IPv4 header fails never reaches the fragment table. */
static void
test_fragment_header(void **state)
{
	struct w	 w;
	uint8_t		 buf[128];
	struct decode_pkt p;
	size_t		 n;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	n = tu_ipv4_tcp(buf, "192.0.2.1", 1, "192.0.2.2", 25, 1, 0, ACK, "xy",
	    2);
	buf[6] = 0x20;			/* MF */
	tu_ip4_csum(buf);
	assert_int_equal(decode_frame(DECODE_LINK_IPV4, buf, (uint32_t)n, 0,
	    &p, NULL), DECODE_FRAGMENT);
	assert_true(tcp_fragment_ok(&w.ctx, &p));
	buf[8] = 63;			/* TTL changed, checksum not */
	assert_int_equal(decode_frame(DECODE_LINK_IPV4, buf, (uint32_t)n, 0,
	    &p, NULL), DECODE_FRAGMENT);
	assert_false(tcp_fragment_ok(&w.ctx, &p));
	assert_int_equal(w.ctx.stats.bad_checksum, 1);
	w_init(&w, TCP_CSUM_NO);
	assert_true(tcp_fragment_ok(&w.ctx, &p));
}

/* --- window ----------------------------------------------------------- */

/*
 * The server's window is scaled by the shift its SYN offered, once both
 * SYNs offered scaling (RFC 7323 2.2); the SYN's own window never is. Data
 * is refused from one window (at least SLACK) beyond the right edge.
 */
static void
test_window_scaled(void **state)
{
	struct w	 w;
	const uint32_t	 c = 0xfffffff0u, s = 5000;
	uint32_t	 edge;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	handshake(&w, c, s, 2, 7, 1000);
	/* SYN-ACK: edge c + 1 + 1000, unscaled. */
	edge = c + 1 + 1000;
	assert_true(tx(&w, C2S, edge + SLACK - 10, s + 1, ACK, 10, 100));
	assert_false(tx(&w, C2S, edge + SLACK, s + 1, ACK, 10, 100));
	assert_int_equal(w.ctx.stats.out_of_window, 1);
	/* An ACK with window 1000 << 7 = 128000 > SLACK. */
	assert_true(tx(&w, S2C, s + 1, c + 1, ACK, 0, 1000));
	edge = c + 1 + 128000;
	assert_true(tx(&w, C2S, edge + 128000 - 1, s + 1, ACK, 1, 100));
	assert_false(tx(&w, C2S, edge + 128000, s + 1, ACK, 1, 100));
	/* Left of the receiver's ACK is a retransmission or tap skew. */
	assert_true(tx(&w, C2S, c + 1 - 200000, s + 1, ACK, 10, 100));
	/* The client's window: 100 << 2. */
	assert_true(tx(&w, S2C, s + 1 + 400 + SLACK - 1, c + 1, ACK, 1, 1));
	assert_false(tx(&w, S2C, s + 1 + 400 + SLACK, c + 1, ACK, 1, 1));
	assert_int_equal(w.ctx.stats.out_of_window, 3);
}

/* Scaling only when both SYNs offered it. */
static void
test_window_one_sided_scale(void **state)
{
	struct w	 w;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	handshake(&w, 100, 900, 7, -1, 60000);
	assert_true(tx(&w, S2C, 901, 101, ACK, 0, 60000));
	/* 60000 unscaled, SLACK 65536: the last byte allowed. */
	assert_true(tx(&w, C2S, 101 + 60000 + SLACK - 1, 901, ACK, 1, 100));
	assert_false(tx(&w, C2S, 101 + 60000 + SLACK, 901, ACK, 1, 100));
}

/*
 * The ports reused before any data, with other sequence numbers: the new
 * handshake's window counts, not the old one's.
 */
static void
test_window_new_isn(void **state)
{
	struct w	 w;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	handshake(&w, 100, 900, 0, 0, 1000);
	assert_true(tx(&w, C2S, 101, 901, ACK, 0, 1000));
	handshake(&w, 0x80000000u, 0x40000000u, 0, 0, 1000);
	assert_true(tx(&w, C2S, 0x80000001u, 0x40000001u, ACK, 10, 1000));
	assert_false(tx(&w, C2S, 0x80000001u + 1000 + SLACK, 0x40000001u,
	    ACK, 10, 1000));
	/* After data, a SYN changes nothing here (reassembly refuses it). */
	assert_true(tx(&w, C2S, 5, 0, SYN, 0, 1000));
	assert_true(tx(&w, C2S, 0x80000001u + 10, 0x40000001u, ACK, 10,
	    1000));
	assert_int_equal(w.st.dir[C2S].snd_max, 0x80000001u + 20);
}

/* Picked up mid-stream: the scale is unknown, the window generous. */
static void
test_window_midstream(void **state)
{
	struct w	 w;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	/* Only the client seen so far: nothing to refuse by. */
	assert_true(tx(&w, C2S, 1000, 50, ACK, 10, 100));
	assert_true(tx(&w, C2S, 1000 + (1U << 29), 50, ACK, 10, 100));
	assert_int_equal(w.ctx.stats.out_of_window, 0);
	assert_true(tx(&w, S2C, 50, 1010, ACK, 0, 100));
	assert_true(tx(&w, C2S, 1010 + 2 * UNKNOWN - 1, 50, ACK, 1, 100));
	assert_false(tx(&w, C2S, 1010 + 2 * UNKNOWN, 50, ACK, 1, 100));
}

/* --- resets (RFC 5961 3.2) --------------------------------------------- */

static void
test_rst_rules(void **state)
{
	struct w	 w;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	handshake(&w, 100, 900, 7, 7, 1000);
	assert_true(tx(&w, C2S, 101, 901, ACK, 20, 1000));	/* -> 121 */
	/* In the window but not exact: a challenge ACK, not a reset. */
	assert_false(tx(&w, C2S, 131, 0, RST, 0, 0));
	assert_false(tx(&w, C2S, 122, 0, RST, 0, 0));
	/* Far outside. */
	assert_false(tx(&w, C2S, 121 + (1U << 29), 0, RST, 0, 0));
	assert_int_equal(w.ctx.stats.rst_ignored, 3);
	/* From the server: exact is the client's ACK of it. */
	assert_false(tx(&w, S2C, 905, 0, RST, 0, 0));
	assert_true(tx(&w, S2C, 901, 0, RST | ACK, 0, 0));
	/* Exact for the client: its next sequence number. */
	assert_true(tx(&w, C2S, 121, 0, RST, 0, 0));
	assert_int_equal(w.ctx.stats.rst_ignored, 4);
}

/* A RST answering a SYN is judged by its ACK (RFC 793 SYN-SENT). */
static void
test_rst_answers_syn(void **state)
{
	struct w	 w;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	assert_true(txc(&w, C2S, 0xffffffffu, 0, SYN, 0, DECODE_CSUM_OK));
	assert_false(tx(&w, S2C, 0, 1, RST, 0, 0));		/* no ACK */
	assert_false(tx(&w, S2C, 0, 1, RST | ACK, 0, 0));	/* wrong ACK */
	assert_true(tx(&w, S2C, 0, 0, RST | ACK, 0, 0));	/* isn + 1 */
}

/* --- timestamps (PAWS, RFC 7323 5) -------------------------------------- */

static struct decode_pkt
ts_pkt(int dir, uint32_t seq, uint32_t ack, uint8_t flags, uint32_t len,
    uint32_t tsval)
{
	struct decode_pkt p = pkt(dir, seq, ack, flags, len, 1000);

	p.opts |= DECODE_OPT_TS;
	p.tsval = tsval;
	return p;
}

static int
ts_send(struct w *w, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
    uint32_t len, uint32_t tsval)
{
	struct decode_pkt p = ts_pkt(dir, seq, ack, flags, len, tsval);

	return offer(w, dir, &p, DECODE_CSUM_OK);
}

static void
ts_handshake(struct w *w, uint32_t cts, int server_ts)
{
	struct decode_pkt p;

	p = ts_pkt(C2S, 100, 0, SYN, 0, cts);
	assert_true(offer(w, C2S, &p, DECODE_CSUM_OK));
	p = ts_pkt(S2C, 900, 101, SYN | ACK, 0, 77);
	if (!server_ts)
		p.opts = 0;
	assert_true(offer(w, S2C, &p, DECODE_CSUM_OK));
}

/* TSvals wrap: "older" is a signed 32-bit difference. */
static void
test_paws_wrap(void **state)
{
	struct w	 w;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	ts_handshake(&w, 0xfffffff0u, 1);
	assert_true(ts_send(&w, C2S, 101, 901, ACK, 10, 0x10));	/* newer */
	assert_true(ts_send(&w, S2C, 901, 111, ACK, 0, 78));
	assert_false(ts_send(&w, C2S, 111, 901, ACK, 10, 0xfffffff5u));
	assert_int_equal(w.ctx.stats.paws_dropped, 1);
	/* One tick older is tolerated (Linux TCP_PAWS_WINDOW). */
	assert_true(ts_send(&w, C2S, 111, 901, ACK, 10, 0xf));
	/* A RST is exempt. */
	assert_true(ts_send(&w, C2S, 121, 0, RST, 0, 3));
}

/* Without timestamps on both SYNs there is no PAWS. */
static void
test_paws_not_negotiated(void **state)
{
	struct w	 w;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	ts_handshake(&w, 5000, 0);
	assert_true(ts_send(&w, C2S, 101, 901, ACK, 10, 6000));
	assert_true(ts_send(&w, C2S, 111, 901, ACK, 10, 10));
	assert_int_equal(w.ctx.stats.paws_dropped, 0);
}

/*
 * A segment injected ahead of the expected sequence number with a huge
 * TSval is in the window, but must not become the reference that makes
 * every real segment look stale.
 */
static void
test_paws_injected_tsval(void **state)
{
	struct w	 w;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	ts_handshake(&w, 1000, 1);
	assert_true(ts_send(&w, C2S, 101, 901, ACK, 10, 1001));
	assert_true(ts_send(&w, S2C, 901, 111, ACK, 0, 80));
	assert_true(ts_send(&w, C2S, 111 + 3000, 901, ACK, 10, 0x7fff0000));
	assert_true(ts_send(&w, C2S, 111, 901, ACK, 10, 1002));
	assert_int_equal(w.ctx.stats.paws_dropped, 0);
}

/* --- benign shapes --------------------------------------------------- */

static void
test_keepalive(void **state)
{
	struct w	 w;
	struct decode_pkt p;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	handshake(&w, 100, 900, 7, 7, 1000);
	assert_true(tx(&w, C2S, 101, 901, ACK, 20, 1000));	/* -> 121 */
	/* Windows: one byte at snd_nxt - 1, not the byte sent there. */
	data[0] = 0;
	p = pkt(C2S, 120, 901, ACK, 1, 1000);
	assert_int_equal(offer(&w, C2S, &p, DECODE_CSUM_OK), TCP_ACK_ONLY);
	/* BSD/Linux: no byte. */
	p = pkt(C2S, 120, 901, ACK, 0, 1000);
	assert_int_equal(offer(&w, C2S, &p, DECODE_CSUM_OK), TCP_PASS);
	assert_int_equal(w.ctx.stats.probes, 2);
	/* A byte at snd_nxt is new data, not a probe. */
	p = pkt(C2S, 121, 901, ACK, 1, 1000);
	assert_int_equal(offer(&w, C2S, &p, DECODE_CSUM_OK), TCP_PASS);
	assert_int_equal(w.ctx.stats.probes, 2);
	/* Pure ACKs and window updates: taken, nothing counted. */
	assert_true(tx(&w, S2C, 901, 122, ACK, 0, 1000));
	assert_true(tx(&w, S2C, 901, 122, ACK, 0, 2000));
	assert_int_equal(w.ctx.stats.probes, 2);
	assert_int_equal(w.ctx.stats.out_of_window, 0);
}

/*
 * The client fills the server's 20-byte window, the server acknowledges
 * with window 0: the zero-window probe carries the next real byte. Taken,
 * counted.
 */
static void
test_zero_window_probe(void **state)
{
	struct w	 w;
	struct decode_pkt p;

	(void)state;
	w_init(&w, TCP_CSUM_AUTO);
	handshake(&w, 100, 900, 7, 7, 20);
	assert_true(tx(&w, C2S, 101, 901, ACK, 20, 1000));
	assert_true(tx(&w, S2C, 901, 121, ACK, 0, 0));	/* window 0 */
	p = pkt(C2S, 121, 901, ACK, 1, 1000);
	assert_int_equal(offer(&w, C2S, &p, DECODE_CSUM_OK), TCP_PASS);
	assert_int_equal(w.ctx.stats.probes, 1);
	assert_int_equal(w.ctx.stats.out_of_window, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auto_offload_first),
		cmocka_unit_test(test_auto_verified_first),
		cmocka_unit_test(test_auto_partial),
		cmocka_unit_test(test_mode_yes_no),
		cmocka_unit_test(test_fragment_header),
		cmocka_unit_test(test_window_scaled),
		cmocka_unit_test(test_window_one_sided_scale),
		cmocka_unit_test(test_window_new_isn),
		cmocka_unit_test(test_window_midstream),
		cmocka_unit_test(test_rst_rules),
		cmocka_unit_test(test_rst_answers_syn),
		cmocka_unit_test(test_paws_wrap),
		cmocka_unit_test(test_paws_not_negotiated),
		cmocka_unit_test(test_paws_injected_tsval),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_zero_window_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
