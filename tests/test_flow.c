/*
 * test_flow.c: the connection table: SipHash against its published test
 * vector, symmetric lookup and orientation, idle expiry, eviction order
 * (embryonic flows first, then those with nothing left to learn), the
 * memory of evicted connections, and the close callback on every path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "hash.h"
#include "testutil.h"

struct closed {
	int		 n;
	uint16_t	 client_port[64];
	enum flow_close_reason why[64];
	struct flow_table *t;		/* remember evicted flows in it */
};

static void
on_close(void *arg, struct flow *f, enum flow_close_reason why, uint64_t ts)
{
	struct closed	*c = arg;
	uint16_t	 memo = f->tuple.client_port;

	(void)ts;
	if (c->n < 64) {
		c->client_port[c->n] = f->tuple.client_port;
		c->why[c->n] = why;
	}
	c->n++;
	if (c->t != NULL)
		flow_remember(c->t, f, &memo, sizeof(memo));
}

static struct flow_table *
table_resume(uint32_t max, uint64_t idle_us, uint32_t resume_max,
    struct closed *c)
{
	struct flow_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_flows = max;
	cfg.idle_timeout_us = idle_us;
	cfg.resume_max = resume_max;
	cfg.seed[0] = 1;
	cfg.seed[1] = 2;
	memset(c, 0, sizeof(*c));
	return flow_table_new(&cfg, on_close, c);
}

static struct flow_table *
table(uint32_t max, uint64_t idle_us, struct closed *c)
{
	return table_resume(max, idle_us, 0, c);
}

/* Appendix A of Aumasson & Bernstein, "SipHash: a fast short-input PRF":
 * key 00..0f, message 00..0e -> a129ca6149be45e5. */
static void
test_siphash_vector(void **state)
{
	uint8_t		 kb[16], msg[15];
	uint64_t	 key[2] = { 0, 0 };
	int		 i;

	(void)state;
	for (i = 0; i < 16; i++)
		kb[i] = (uint8_t)i;
	for (i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	for (i = 0; i < 8; i++) {
		key[0] |= (uint64_t)kb[i] << (8 * i);
		key[1] |= (uint64_t)kb[8 + i] << (8 * i);
	}
	assert_true(hash_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL);
	/* The empty message, same key: 726fdb47dd0e0e31. */
	assert_true(hash_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
}

/*
 * SipHash-c-d as the paper writes it, byte by byte: the reference the
 * word-loading implementation is checked against.
 */
#define REF_ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))

static void
ref_round(uint64_t v[4])
{
	v[0] += v[1]; v[1] = REF_ROTL(v[1], 13); v[1] ^= v[0];
	v[0] = REF_ROTL(v[0], 32);
	v[2] += v[3]; v[3] = REF_ROTL(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = REF_ROTL(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = REF_ROTL(v[1], 17); v[1] ^= v[2];
	v[2] = REF_ROTL(v[2], 32);
}

static uint64_t
ref_siphash(const uint64_t key[2], const uint8_t *p, size_t len, int c,
    int d)
{
	uint64_t	 v[4], m;
	size_t		 i, total = len, blocks = len / 8 + 1;
	int		 r;

	v[0] = key[0] ^ 0x736f6d6570736575ULL;
	v[1] = key[1] ^ 0x646f72616e646f6dULL;
	v[2] = key[0] ^ 0x6c7967656e657261ULL;
	v[3] = key[1] ^ 0x7465646279746573ULL;
	while (blocks-- > 0) {
		m = 0;
		for (i = 0; i < 8 && i < len; i++)
			m |= (uint64_t)p[i] << (8 * i);
		if (blocks == 0)	/* the last, under 8 bytes */
			m |= (uint64_t)(total & 0xff) << 56;
		v[3] ^= m;
		for (r = 0; r < c; r++)
			ref_round(v);
		v[0] ^= m;
		p += 8;
		len = len >= 8 ? len - 8 : 0;
	}
	v[2] ^= 0xff;
	for (r = 0; r < d; r++)
		ref_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/*
 * Published SipHash-1-3 values under the zero key (CPython's str/bytes
 * hash with PYTHONHASHSEED=0 gives the same): the reference is right.
 */
static void
test_siphash13_vector(void **state)
{
	uint64_t	 key[2] = { 0, 0 };

	(void)state;
	assert_true(ref_siphash(key, (const uint8_t *)"siphash", 7, 1, 3) ==
	    0x8264ceeccb16bcbeULL);
	assert_true(hash_siphash13(key, "siphash", 7) ==
	    0x8264ceeccb16bcbeULL);
	assert_true(hash_siphash13(key, "digest-sip_hash", 15) ==
	    0xce31007e34130c0aULL);
}

/*
 * Both variants equal the byte-by-byte reference on every length 0..80,
 * at every start offset 0..7 (unaligned loads), on random and all-0xff
 * bytes, under random keys.
 */
static void
test_siphash_reference(void **state)
{
	uint8_t		 buf[8 + 80];
	uint64_t	 key[2];
	size_t		 len, off, i;
	int		 fill;

	(void)state;
	srand(12345);
	for (fill = 0; fill < 2; fill++) {
		for (len = 0; len <= 80; len++) {
			for (off = 0; off < 8; off++) {
				for (i = 0; i < sizeof(buf); i++)
					buf[i] = fill ? 0xff : (uint8_t)rand();
				key[0] = (uint64_t)rand() << 40 ^
				    (uint64_t)rand() << 20 ^ (uint64_t)rand();
				key[1] = fill ? ~(uint64_t)0 :
				    (uint64_t)rand() << 33 ^ (uint64_t)rand();
				assert_true(hash_siphash(key, buf + off, len) ==
				    ref_siphash(key, buf + off, len, 2, 4));
				assert_true(hash_siphash13(key, buf + off,
				    len) ==
				    ref_siphash(key, buf + off, len, 1, 3));
			}
		}
	}
}

static void
test_lookup_both_directions(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(16, 1000000, &c);
	struct decode_pkt syn, synack, data;
	struct flow	*f1, *f2, *f3;
	int		 dir, created;

	(void)state;
	syn = tu_pkt4("10.0.0.1", 40000, "10.0.0.2", 25, 100, 0,
	    DECODE_TH_SYN, NULL, 0, 1);
	synack = tu_pkt4("10.0.0.2", 25, "10.0.0.1", 40000, 500, 101,
	    DECODE_TH_SYN | DECODE_TH_ACK, NULL, 0, 2);
	data = tu_pkt4("10.0.0.1", 40000, "10.0.0.2", 25, 101, 501,
	    DECODE_TH_ACK, "x", 1, 3);
	f1 = flow_lookup(t, &syn, &dir, &created);
	assert_non_null(f1);
	assert_int_equal(created, 1);
	assert_int_equal(dir, REASM_TO_SERVER);
	assert_int_equal(f1->tuple.client_port, 40000);
	assert_int_equal(f1->tuple.server_port, 25);
	f2 = flow_lookup(t, &synack, &dir, &created);
	assert_ptr_equal(f1, f2);
	assert_int_equal(created, 0);
	assert_int_equal(dir, REASM_TO_CLIENT);
	f3 = flow_lookup(t, &data, &dir, &created);
	assert_ptr_equal(f1, f3);
	assert_int_equal(dir, REASM_TO_SERVER);
	assert_int_equal(f1->last_us, 3);
	assert_int_equal(flow_table_stats(t)->active, 1);
	flow_table_free(t, 10);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.why[0], FLOW_CLOSE_SHUTDOWN);
}

/* Without a SYN, the lower port is the server; a SYN-ACK names the server. */
static void
test_orientation(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(16, 1000000, &c);
	struct decode_pkt p;
	struct flow	*f;
	int		 dir, created;

	(void)state;
	p = tu_pkt4("192.0.2.25", 25, "198.51.100.7", 51000, 1, 1,
	    DECODE_TH_ACK, "220 x\r\n", 7, 1);
	f = flow_lookup(t, &p, &dir, &created);
	assert_int_equal(dir, REASM_TO_CLIENT);
	assert_int_equal(f->tuple.server_port, 25);
	p = tu_pkt4("192.0.2.9", 2525, "198.51.100.7", 1024, 1, 1,
	    DECODE_TH_SYN | DECODE_TH_ACK, NULL, 0, 1);
	f = flow_lookup(t, &p, &dir, &created);
	assert_int_equal(dir, REASM_TO_CLIENT);
	assert_int_equal(f->tuple.server_port, 2525);
	assert_int_equal(f->tuple.client_port, 1024);
	flow_table_free(t, 10);
}

/* Stray ACKs and RSTs of unknown connections create nothing. */
static void
test_no_flow_for_stray_segments(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(16, 1000000, &c);
	struct decode_pkt p;
	int		 dir, created;

	(void)state;
	p = tu_pkt4("10.0.0.1", 40000, "10.0.0.2", 25, 1, 1, DECODE_TH_ACK,
	    NULL, 0, 1);
	assert_null(flow_lookup(t, &p, &dir, &created));
	p.flags = DECODE_TH_RST;
	assert_null(flow_lookup(t, &p, &dir, &created));
	p.flags = DECODE_TH_RST | DECODE_TH_ACK;
	p.payload = (const uint8_t *)"x";
	p.payload_len = 1;
	assert_null(flow_lookup(t, &p, &dir, &created));
	assert_int_equal(flow_table_stats(t)->created, 0);
	flow_table_free(t, 10);
}

static struct flow *
open_flow(struct flow_table *t, uint16_t port, uint64_t ts, int data)
{
	struct decode_pkt p;
	int		 dir, created;

	p = tu_pkt4("10.0.0.1", port, "10.0.0.2", 25, 1, 0,
	    data ? DECODE_TH_ACK : DECODE_TH_SYN, data ? "x" : NULL,
	    data ? 1 : 0, ts);
	return flow_lookup(t, &p, &dir, &created);
}

static void
test_idle_expiry(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(16, 100, &c);

	(void)state;
	open_flow(t, 1001, 1000, 1);
	open_flow(t, 1002, 1050, 1);
	open_flow(t, 1003, 1090, 0);
	assert_int_equal(flow_expire(t, 1100), 0);
	assert_int_equal(flow_expire(t, 1101), 1);
	assert_int_equal(c.client_port[0], 1001);
	assert_int_equal(c.why[0], FLOW_CLOSE_IDLE);
	/* Activity refreshes: 1002 seen again at 1150. */
	open_flow(t, 1002, 1150, 1);
	assert_int_equal(flow_expire(t, 1195), 1);
	assert_int_equal(c.client_port[1], 1003);
	assert_int_equal(flow_expire(t, 1251), 1);
	assert_int_equal(c.client_port[2], 1002);
	assert_int_equal(flow_table_stats(t)->active, 0);
	flow_table_free(t, 2000);
	assert_int_equal(c.n, 3);
}

/* A reload shortens the idle time: the next expiry uses it. */
static void
test_set_limits(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(16, 600, &c);
	struct flow_config nc;

	(void)state;
	open_flow(t, 1001, 1000, 1);
	assert_int_equal(flow_expire(t, 1200), 0);
	memset(&nc, 0, sizeof(nc));
	nc.max_flows = 1;		/* the capacity stays 16 */
	nc.idle_timeout_us = 100;
	flow_set_limits(t, &nc);
	assert_int_equal(flow_expire(t, 1101), 1);
	assert_int_equal(c.why[0], FLOW_CLOSE_IDLE);
	open_flow(t, 1002, 1200, 1);
	assert_non_null(open_flow(t, 1003, 1200, 1));
	assert_int_equal(flow_table_stats(t)->active, 2);
	flow_table_free(t, 2000);
}

/* Full table: embryonic flows go first, then the least recently active. */
static void
test_eviction_order(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(16, 1000000, &c);
	struct flow	*f;
	uint16_t	 port;

	(void)state;
	for (port = 2000; port < 2004; port++) {
		f = open_flow(t, port, port, 1);
		flow_mark_established(t, f);
	}
	for (port = 3000; port < 3012; port++)
		open_flow(t, port, port, 0);
	assert_int_equal(flow_table_stats(t)->active, 16);
	/* Touch 2000 so 2001 becomes the oldest established flow. */
	open_flow(t, 2000, 5000, 1);
	/* 12 new flows evict the 12 embryonic ones, oldest first. */
	for (port = 4000; port < 4012; port++)
		open_flow(t, port, 6000 + port, 0);
	assert_int_equal(c.n, 12);
	assert_int_equal(c.client_port[0], 3000);
	assert_int_equal(c.client_port[11], 3011);
	assert_int_equal(c.why[0], FLOW_CLOSE_EVICTED);
	/* Now embryonic 4000.. go before any established flow. */
	open_flow(t, 4100, 20000, 0);
	assert_int_equal(c.client_port[12], 4000);
	/* Mark all embryonic as established; then LRU among all. */
	for (port = 4001; port < 4012; port++)
		flow_mark_established(t, open_flow(t, port, 30000 + port, 1));
	flow_mark_established(t, open_flow(t, 4100, 40000, 1));
	open_flow(t, 4200, 50000, 0);
	assert_int_equal(c.client_port[13], 2001);
	assert_int_equal(flow_table_stats(t)->active, 16);
	assert_true(flow_table_stats(t)->peak == 16);
	flow_table_free(t, 60000);
}

/*
 * Flows without data have a capacity of their own: past no_data_max, a
 * new flow takes the place of the oldest one without data though the
 * table has room, and the flows with data stay. A reload changes it for
 * the flows created after.
 */
static void
test_no_data_max(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(16, 1000000, &c);
	struct flow_config nc;
	uint16_t	 port;

	(void)state;
	memset(&nc, 0, sizeof(nc));
	nc.idle_timeout_us = 1000000;
	nc.no_data_max = 4;
	flow_set_limits(t, &nc);
	for (port = 2000; port < 2004; port++)
		flow_mark_established(t, open_flow(t, port, port, 1));
	for (port = 3000; port < 3010; port++)
		open_flow(t, port, port, 0);
	assert_int_equal(flow_table_stats(t)->active, 8);
	assert_int_equal(c.n, 6);
	assert_int_equal(c.client_port[0], 3000);
	assert_int_equal(c.client_port[5], 3005);
	assert_int_equal(c.why[0], FLOW_CLOSE_EVICTED);
	assert_int_equal(flow_table_stats(t)->no_data_full, 6);
	assert_int_equal(flow_table_stats(t)->evicted_embryonic, 6);
	assert_int_equal(flow_table_stats(t)->evicted_data, 0);
	/* A flow that gets data leaves the count: room for one more. */
	flow_mark_established(t, open_flow(t, 3009, 4000, 1));
	open_flow(t, 3100, 4001, 0);
	assert_int_equal(c.n, 6);
	nc.no_data_max = 0;		/* up to max_flows again */
	flow_set_limits(t, &nc);
	for (port = 3200; port < 3207; port++)
		open_flow(t, port, 5000 + port, 0);
	assert_int_equal(flow_table_stats(t)->active, 16);
	assert_int_equal(c.n, 6);
	flow_table_free(t, 60000);
}

/*
 * By what losing a flow costs: one without data, then those with nothing
 * left to learn (oldest first, however recently active), then the least
 * recently active of the rest.
 */
static void
test_eviction_by_value(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(8, 1000000, &c);
	struct flow	*f[8];
	uint16_t	 port;

	(void)state;
	for (port = 0; port < 8; port++) {
		f[port] = open_flow(t, (uint16_t)(2000 + port), port + 1,
		    port != 3);
		if (port != 3)
			flow_mark_established(t, f[port]);
	}
	flow_mark_learned(t, f[1]);
	flow_mark_learned(t, f[4]);
	flow_mark_learned(t, f[3]);	/* no data: stays embryonic */
	open_flow(t, 2000, 9, 1);	/* 2000 and 2001 active again */
	open_flow(t, 2001, 10, 1);
	for (port = 0; port < 4; port++)
		flow_mark_established(t, open_flow(t, (uint16_t)(3000 + port),
		    11 + port, 1));
	assert_int_equal(c.n, 4);
	assert_int_equal(c.client_port[0], 2003);	/* no data */
	assert_int_equal(c.client_port[1], 2004);	/* learned, oldest */
	assert_int_equal(c.client_port[2], 2001);	/* learned */
	assert_int_equal(c.client_port[3], 2002);	/* least recent */
	assert_int_equal(flow_table_stats(t)->evicted_embryonic, 1);
	assert_int_equal(flow_table_stats(t)->evicted_data, 3);
	assert_int_equal(flow_table_stats(t)->evicted_learned, 2);
	assert_int_equal(flow_table_stats(t)->closed[FLOW_CLOSE_EVICTED], 4);
	flow_table_free(t, 100);
}

/* A payload segment of 10.0.0.1:port <-> 10.0.0.2:25, either way. */
static struct decode_pkt
seg_of(uint16_t port, int from_server, uint8_t flags, uint64_t ts)
{
	if (from_server)
		return tu_pkt4("10.0.0.2", 25, "10.0.0.1", port, 1, 1, flags,
		    "y", 1, ts);
	return tu_pkt4("10.0.0.1", port, "10.0.0.2", 25, 1, 1, flags, "x", 1,
	    ts);
}

/*
 * An evicted connection with data is remembered: seen again (here from
 * the server, without a SYN), the new flow continues it with the original
 * orientation, first time and the owner's memo, once. A SYN on its ports
 * forgets it; so do the idle timeout and, for room, resume_max.
 */
static void
test_remember_and_resume(void **state)
{
	struct closed	 c;
	struct flow_table *t = table_resume(2, 1000, 2, &c);
	struct decode_pkt p;
	struct flow	*f;
	uint16_t	 memo;
	int		 dir, created;

	(void)state;
	c.t = t;
	f = open_flow(t, 4000, 5, 0);		/* a SYN: client 4000 */
	p = seg_of(4000, 0, DECODE_TH_ACK, 6);
	flow_mark_established(t, flow_lookup(t, &p, &dir, &created));
	flow_mark_established(t, open_flow(t, 4001, 7, 1));
	flow_mark_established(t, open_flow(t, 4002, 8, 1));
	assert_int_equal(c.n, 1);
	assert_int_equal(flow_table_stats(t)->remembered, 1);
	/* The server speaks first after the eviction. */
	p = seg_of(4000, 1, DECODE_TH_ACK, 20);
	f = flow_lookup(t, &p, &dir, &created);
	assert_non_null(f);
	assert_int_equal(created, 1);
	assert_int_equal(dir, REASM_TO_CLIENT);
	assert_int_equal(f->tuple.client_port, 4000);
	assert_int_equal(f->first_us, 5);
	assert_int_equal(f->resumed, 1);
	memo = 0;
	assert_int_equal(flow_resumed(t, f, &memo, sizeof(memo)), 1);
	assert_int_equal(memo, 4000);
	assert_int_equal(flow_resumed(t, f, &memo, sizeof(memo)), 0);
	assert_int_equal(flow_table_stats(t)->resumed, 1);
	flow_mark_established(t, f);
	/* 4001 was evicted for it; a SYN on its ports is a new connection. */
	assert_int_equal(c.client_port[1], 4001);
	p = tu_pkt4("10.0.0.1", 4001, "10.0.0.2", 25, 7, 0, DECODE_TH_SYN,
	    NULL, 0, 21);
	f = flow_lookup(t, &p, &dir, &created);
	assert_int_equal(f->resumed, 0);
	assert_int_equal(flow_resumed(t, f, &memo, sizeof(memo)), 0);
	assert_int_equal(c.client_port[2], 4002);
	assert_int_equal(flow_table_stats(t)->remembered, 1);	/* 4002 */
	flow_mark_established(t, f);
	flow_mark_established(t, open_flow(t, 4003, 22, 1));	/* 4000 */
	flow_mark_established(t, open_flow(t, 4004, 23, 1));	/* 4001 */
	/* Two remembered at most: 4002 (oldest) made room for 4001. */
	assert_int_equal(flow_table_stats(t)->remembered, 2);
	assert_int_equal(flow_table_stats(t)->resume_dropped, 1);
	p = seg_of(4002, 0, DECODE_TH_ACK, 24);
	f = flow_lookup(t, &p, &dir, &created);
	assert_int_equal(f->resumed, 0);
	flow_mark_established(t, f);
	/* A flow without data is not remembered: 4006 evicts 4005. */
	p = tu_pkt4("10.0.0.1", 4005, "10.0.0.2", 25, 7, 0, DECODE_TH_SYN,
	    NULL, 0, 25);
	flow_lookup(t, &p, &dir, &created);
	p = tu_pkt4("10.0.0.1", 4006, "10.0.0.2", 25, 7, 0, DECODE_TH_SYN,
	    NULL, 0, 26);
	flow_lookup(t, &p, &dir, &created);
	assert_int_equal(c.client_port[c.n - 1], 4005);
	assert_int_equal(flow_table_stats(t)->remembered, 2);
	/* The idle timeout after an eviction forgets it. */
	flow_expire(t, 25 + 1000);
	assert_int_equal(flow_table_stats(t)->remembered, 1);
	flow_expire(t, 26 + 1000);
	assert_int_equal(flow_table_stats(t)->remembered, 0);
	flow_table_free(t, 2000);
}

/* Many flows: each one is found again, none lost (hash and chains). */
static void
test_many_flows(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(20000, 1000000, &c);
	struct decode_pkt p;
	char		 src[32];
	int		 i, dir, created;

	(void)state;
	for (i = 0; i < 20000; i++) {
		snprintf(src, sizeof(src), "10.%d.%d.1", i / 256, i % 256);
		p = tu_pkt4(src, 1024 + (i % 5000), "192.0.2.1", 25, 1, 0,
		    DECODE_TH_SYN, NULL, 0, (uint64_t)i);
		assert_non_null(flow_lookup(t, &p, &dir, &created));
		assert_int_equal(created, 1);
	}
	for (i = 0; i < 20000; i++) {
		snprintf(src, sizeof(src), "10.%d.%d.1", i / 256, i % 256);
		p = tu_pkt4("192.0.2.1", 25, src, 1024 + (i % 5000), 1, 2,
		    DECODE_TH_SYN | DECODE_TH_ACK, NULL, 0, 30000);
		assert_non_null(flow_lookup(t, &p, &dir, &created));
		assert_int_equal(created, 0);
		assert_int_equal(dir, REASM_TO_CLIENT);
	}
	assert_int_equal(c.n, 0);
	flow_table_free(t, 40000);
	assert_int_equal(c.n, 20000);
}

/*
 * The key is the same from both directions for every shape of tuple:
 * IPv4 and IPv6, equal addresses (ports decide), addresses that differ
 * only in their first or last byte (with equal ports too). All flows are
 * made first, then each is looked up from the other side: with more flows
 * than recent slots, most are found through the keyed hash; a flow never
 * answers for another tuple.
 */
static void
test_key_both_directions(void **state)
{
	enum { N = 4000 };
	static struct decode_pkt syn[N];
	struct closed	 c;
	struct flow_table *t = table(N, 1000000, &c);
	struct flow	*made[N], *f;
	struct decode_pkt r;
	int		 i, j, dir, created;

	(void)state;
	srand(777);
	for (i = 0; i < N; i++) {
		syn[i] = tu_pkt4("0.0.0.0", 0, "0.0.0.0", 0, 1, 0,
		    DECODE_TH_SYN, NULL, 0, 1);
		syn[i].src.family = syn[i].dst.family = i % 2 ? 6 : 4;
		for (j = 0; j < (i % 2 ? 16 : 4); j++)
			syn[i].src.bytes[j] = syn[i].dst.bytes[j] =
			    (uint8_t)(i % 7 == 0 ? 0xff : rand());
		if (i % 3 == 1)		/* differ in the first byte */
			syn[i].dst.bytes[0] ^= (uint8_t)(1 + i % 255);
		else if (i % 3 == 2)	/* ... or only in the last */
			syn[i].dst.bytes[i % 2 ? 15 : 3] ^= 0x80;
		syn[i].sport = syn[i].dport = (uint16_t)(1024 + i);
		if (i % 5 != 0 || i % 3 == 0)	/* else equal ports */
			*(i % 4 ? &syn[i].dport : &syn[i].sport) = 25;
		made[i] = flow_lookup(t, &syn[i], &dir, &created);
		assert_non_null(made[i]);
		assert_int_equal(created, 1);
	}
	for (i = 0; i < N; i++) {
		r = syn[i];
		r.src = syn[i].dst;
		r.dst = syn[i].src;
		r.sport = syn[i].dport;
		r.dport = syn[i].sport;
		r.flags = DECODE_TH_SYN | DECODE_TH_ACK;
		f = flow_lookup(t, &r, &dir, &created);
		assert_ptr_equal(f, made[i]);
		assert_int_equal(created, 0);
		assert_int_equal(dir, REASM_TO_CLIENT);
	}
	assert_int_equal(c.n, 0);
	flow_table_free(t, 2);
}

/*
 * Two connections that share a recent slot (ports changed by the same
 * bits give the same fold), seen in turn: each packet finds its own flow,
 * whatever the slot holds.
 */
static void
test_recent_slot_shared(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(16, 1000000, &c);
	struct decode_pkt a, b;
	struct flow	*fa, *fb;
	int		 i, dir, created;

	(void)state;
	a = tu_pkt4("10.0.0.1", 40000, "10.0.0.2", 25, 1, 0, DECODE_TH_SYN,
	    NULL, 0, 1);
	b = tu_pkt4("10.0.0.1", 40000 ^ 1, "10.0.0.2", 25 ^ 1, 1, 0,
	    DECODE_TH_SYN, NULL, 0, 1);
	fa = flow_lookup(t, &a, &dir, &created);
	fb = flow_lookup(t, &b, &dir, &created);
	assert_non_null(fa);
	assert_non_null(fb);
	assert_ptr_not_equal(fa, fb);
	a.flags = b.flags = DECODE_TH_ACK;
	for (i = 0; i < 4; i++) {
		assert_ptr_equal(flow_lookup(t, i % 2 ? &a : &b, &dir,
		    &created), i % 2 ? fa : fb);
		assert_int_equal(created, 0);
		assert_int_equal(dir, REASM_TO_SERVER);
	}
	flow_table_free(t, 2);
}

/*
 * A closed flow is gone from the recent table too: a later bare ACK of
 * its connection finds nothing (and creates nothing), rather than the
 * closed flow, whose memory now waits for reuse.
 */
static void
test_recent_forgets_closed(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(16, 100, &c);
	struct decode_pkt ack;
	int		 dir, created;

	(void)state;
	assert_non_null(open_flow(t, 1001, 1000, 1));
	assert_int_equal(flow_expire(t, 1101), 1);
	ack = tu_pkt4("10.0.0.1", 1001, "10.0.0.2", 25, 5, 0, DECODE_TH_ACK,
	    NULL, 0, 1102);
	assert_null(flow_lookup(t, &ack, &dir, &created));
	assert_int_equal(created, 0);
	flow_table_free(t, 2000);
}

/*
 * A flow slot freed by a close is reused by the next new connection: it
 * must start as a fresh flow (no state, no application session, not on the
 * main or linger list of the one before).
 */
static void
test_reused_flow_is_fresh(void **state)
{
	struct closed	 c;
	struct flow_table *t = table(1, 1000000, &c);
	struct decode_pkt a, b, b2;
	struct flow	*f;
	int		 dir, created, i;

	(void)state;
	for (i = 0; i < 3; i++) {
		a = tu_pkt4("10.0.0.1", (uint16_t)(40000 + i), "10.0.0.2", 25,
		    100, 0, DECODE_TH_SYN, NULL, 0, 1);
		f = flow_lookup(t, &a, &dir, &created);
		assert_non_null(f);
		f->app = &c;		/* state a reuse must not keep */
		flow_mark_established(t, f);
		flow_linger(t, f, FLOW_CLOSE_FIN);
		f->app = NULL;
	}
	/* The table holds one flow: each new one evicted the last. */
	assert_int_equal(c.n, 2);
	b = tu_pkt4("10.0.0.3", 50000, "10.0.0.2", 25, 7, 0, DECODE_TH_SYN,
	    NULL, 0, 2);
	f = flow_lookup(t, &b, &dir, &created);
	assert_non_null(f);
	assert_int_equal(created, 1);
	assert_null(f->app);
	assert_int_equal(f->established, 0);
	assert_int_equal(f->lingering, 0);
	assert_int_equal(f->first_us, 2);
	assert_int_equal(f->tuple.client_port, 50000);
	assert_int_equal(flow_table_stats(t)->active, 1);
	/* It is findable, and only under its own key. */
	b2 = tu_pkt4("10.0.0.2", 25, "10.0.0.3", 50000, 9, 8,
	    DECODE_TH_SYN | DECODE_TH_ACK, NULL, 0, 3);
	assert_ptr_equal(flow_lookup(t, &b2, &dir, &created), f);
	assert_int_equal(dir, REASM_TO_CLIENT);
	flow_table_free(t, 10);
	assert_int_equal(c.n, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vector),
		cmocka_unit_test(test_siphash13_vector),
		cmocka_unit_test(test_siphash_reference),
		cmocka_unit_test(test_lookup_both_directions),
		cmocka_unit_test(test_orientation),
		cmocka_unit_test(test_no_flow_for_stray_segments),
		cmocka_unit_test(test_idle_expiry),
		cmocka_unit_test(test_set_limits),
		cmocka_unit_test(test_eviction_order),
		cmocka_unit_test(test_no_data_max),
		cmocka_unit_test(test_eviction_by_value),
		cmocka_unit_test(test_remember_and_resume),
		cmocka_unit_test(test_many_flows),
		cmocka_unit_test(test_key_both_directions),
		cmocka_unit_test(test_recent_slot_shared),
		cmocka_unit_test(test_recent_forgets_closed),
		cmocka_unit_test(test_reused_flow_is_fresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
