/*
 * test_frag.c: IPv4 and IPv6 datagrams cut into fragments by hand, fed
 * through decode_ip() and frag_input() in order, reversed, overlapping
 * (Linux's policy: duplicates dropped, partial overlaps discard),
 * incomplete, over the memcap, and at random; the rebuilt datagram must
 * equal the unfragmented original byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "frag.h"
#include "testutil.h"

#define TCP_PAYLOAD	180u		/* TCP header + this = 200 bytes */
#define FRAG_PART	200u		/* fragmentable part of the datagram */
#define ID4		0x4242
#define ID6		0xcafe0001u
#define SEC		1000000ull

/* Largest datagram built here: 20 + 65520 bytes of fragmentable part. */
static uint8_t	 big[20 + 65520];

struct dgram {
	uint8_t		 b[256];
	size_t		 n;
	size_t		 hdr;		/* unfragmentable part */
};

static struct frag_config
config(size_t memcap, uint32_t max, uint64_t timeout)
{
	struct frag_config c;

	memset(&c, 0, sizeof(c));
	c.memcap = memcap;
	c.max_datagrams = max;
	c.timeout_us = timeout;
	c.seed[0] = 1;
	c.seed[1] = 2;
	return c;
}

/* IPv4 + TCP, id ID4, TCP payload bytes i * 7 + 1. */
static struct dgram
orig4(void)
{
	struct dgram	 d;
	uint8_t		 pl[TCP_PAYLOAD];
	size_t		 i;

	for (i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 7 + 1);
	d.n = tu_ipv4_tcp(d.b, "192.0.2.1", 40000, "198.51.100.25", 25,
	    1000, 2000, DECODE_TH_ACK | DECODE_TH_PUSH, pl, sizeof(pl));
	tu_be16(d.b + 4, ID4);
	d.b[10] = d.b[11] = 0;	/* as frag.c rebuilds it: not verified */
	d.hdr = 20;
	assert_int_equal(d.n, 20 + FRAG_PART);
	return d;
}

/* IPv6 + hop-by-hop (8 bytes) + TCP. */
static struct dgram
orig6(void)
{
	struct dgram	 d;
	uint8_t		*ip = d.b;
	size_t		 i;

	memset(&d, 0, sizeof(d));
	ip[0] = 0x60;
	tu_be16(ip + 4, 8 + FRAG_PART);
	ip[6] = 0;			/* hop-by-hop */
	ip[7] = 64;
	inet_pton(AF_INET6, "2001:db8::1", ip + 8);
	inet_pton(AF_INET6, "2001:db8::25", ip + 24);
	ip[40] = 6;			/* -> TCP */
	ip[41] = 0;
	ip[42] = 1;			/* PadN, 4 bytes */
	ip[43] = 4;
	tu_be16(ip + 48, 40000);
	tu_be16(ip + 50, 25);
	tu_be32(ip + 52, 1000);
	tu_be32(ip + 56, 2000);
	ip[60] = 5 << 4;
	ip[61] = DECODE_TH_ACK;
	for (i = 0; i < TCP_PAYLOAD; i++)
		ip[68 + i] = (uint8_t)(i * 3 + 5);
	d.hdr = 48;
	d.n = 48 + FRAG_PART;
	return d;
}

/*
 * Fragment of o: fragmentable bytes [off, off + len) taken from data (o's
 * own bytes when data is NULL). Returns the fragment's length in buf.
 */
static size_t
mkfrag(uint8_t *buf, const struct dgram *o, uint32_t off, uint32_t len,
    int more, const uint8_t *data)
{
	const uint8_t	*src = data != NULL ? data : o->b + o->hdr + off;

	memcpy(buf, o->b, o->hdr);
	if (o->hdr == 20) {
		tu_be16(buf + 2, (uint16_t)(20 + len));
		tu_be16(buf + 6, (uint16_t)((more ? 0x2000 : 0) | off / 8));
		memcpy(buf + 20, src, len);
		return 20 + len;
	}
	tu_be16(buf + 4, (uint16_t)(8 + 8 + len));
	buf[40] = 44;			/* hop-by-hop -> fragment */
	buf[48] = 6;
	buf[49] = 0;
	tu_be16(buf + 50, (uint16_t)(off | (more ? 1 : 0)));
	tu_be32(buf + 52, ID6);
	memcpy(buf + 56, src, len);
	return 56 + len;
}

/* Decode a fragment as the pipeline would, then offer it. */
static int
feed(struct frag_table *t, const uint8_t *frag, size_t n, uint64_t ts,
    const uint8_t **dg, uint32_t *dlen)
{
	struct decode_pkt p;

	assert_int_equal(decode_ip(frag, (uint32_t)n, ts, &p, NULL),
	    DECODE_FRAGMENT);
	assert_ptr_equal(p.ip, frag);
	return frag_input(t, &p, ts, dg, dlen);
}

static int
feed_part(struct frag_table *t, const struct dgram *o, uint32_t off,
    uint32_t len, int more, uint64_t ts, const uint8_t **dg, uint32_t *dlen)
{
	uint8_t		 buf[512];
	size_t		 n;

	n = mkfrag(buf, o, off, len, more, NULL);
	return feed(t, buf, n, ts, dg, dlen);
}

/* The rebuilt datagram decodes to the original TCP segment. */
static void
check_rebuilt(const struct dgram *o, const uint8_t *dg, uint32_t dlen)
{
	struct decode_pkt p;

	assert_int_equal(dlen, o->n);
	assert_memory_equal(dg, o->b, o->n);
	assert_int_equal(decode_ip(dg, dlen, 0, &p, NULL), DECODE_OK);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 25);
	assert_int_equal(p.seq, 1000);
	assert_int_equal(p.payload_len, TCP_PAYLOAD);
	assert_ptr_equal(p.payload, dg + o->hdr + 20);
}

static void
in_order(const struct dgram *o)
{
	struct frag_config c = config(1 << 20, 16, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	const struct frag_stats *st;
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0;

	assert_non_null(t);
	st = frag_get_stats(t);
	assert_int_equal(feed_part(t, o, 0, 80, 1, 10, &dg, &dlen), 0);
	assert_int_equal(st->pending, 1);
	assert_true(st->mem >= 80);
	assert_int_equal(feed_part(t, o, 80, 80, 1, 11, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, o, 160, 40, 0, 12, &dg, &dlen), 1);
	check_rebuilt(o, dg, dlen);
	assert_int_equal(st->fragments, 3);
	assert_int_equal(st->reassembled, 1);
	assert_int_equal(st->pending, 0);
	assert_int_equal(st->mem, 0);
	assert_int_equal(st->overlaps + st->invalid + st->timeouts +
	    st->memcap_drops, 0);
	frag_free(t);
}

static void
test_in_order4(void **state)
{
	struct dgram	 o = orig4();

	(void)state;
	in_order(&o);
}

static void
test_in_order6(void **state)
{
	struct dgram	 o = orig6();

	(void)state;
	in_order(&o);
}

static void
reverse(const struct dgram *o)
{
	struct frag_config c = config(1 << 20, 16, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0, off;

	assert_non_null(t);
	/* Eight fragments of 24 bytes and a last one of 8, last first. */
	assert_int_equal(feed_part(t, o, 192, 8, 0, 1, &dg, &dlen), 0);
	for (off = 168; off > 0; off -= 24)
		assert_int_equal(feed_part(t, o, off, 24, 1, 2, &dg, &dlen),
		    0);
	assert_int_equal(feed_part(t, o, 0, 24, 1, 3, &dg, &dlen), 1);
	check_rebuilt(o, dg, dlen);
	assert_int_equal(frag_get_stats(t)->reassembled, 1);
	frag_free(t);
}

static void
test_reverse4(void **state)
{
	struct dgram	 o = orig4();

	(void)state;
	reverse(&o);
}

static void
test_reverse6(void **state)
{
	struct dgram	 o = orig6();

	(void)state;
	reverse(&o);
}

/*
 * A fragment overlapping held bytes in part discards the whole datagram
 * (Linux since 4.19, RFC 5722), whichever copy came first: a receiver
 * builds neither version, so the sensor must not either.
 */
static void
overlap_discards(const struct dgram *o)
{
	struct frag_config c = config(1 << 20, 16, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	const struct frag_stats *st;
	uint8_t		 buf[512], evil[120];
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0;
	size_t		 n;

	assert_non_null(t);
	st = frag_get_stats(t);
	memset(evil, 'X', sizeof(evil));
	/* [0, 80) genuine, then [40, 160) forged. */
	assert_int_equal(feed_part(t, o, 0, 80, 1, 1, &dg, &dlen), 0);
	n = mkfrag(buf, o, 40, 120, 1, evil);
	assert_int_equal(feed(t, buf, n, 2, &dg, &dlen), 0);
	assert_int_equal(st->overlaps, 1);
	assert_int_equal(st->pending, 0);
	assert_int_equal(st->mem, 0);
	/* The rest alone never completes a datagram. */
	assert_int_equal(feed_part(t, o, 160, 40, 0, 3, &dg, &dlen), 0);
	assert_int_equal(st->reassembled, 0);
	frag_free(t);

	/* Forged first, genuine later: discarded all the same. */
	t = frag_new(&c);
	assert_non_null(t);
	st = frag_get_stats(t);
	n = mkfrag(buf, o, 40, 120, 1, evil);
	assert_int_equal(feed(t, buf, n, 4, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, o, 0, 80, 1, 5, &dg, &dlen), 0);
	assert_int_equal(st->overlaps, 1);
	assert_int_equal(feed_part(t, o, 160, 40, 0, 5, &dg, &dlen), 0);
	assert_int_equal(st->reassembled, 0);
	frag_free(t);
}

static void
test_overlap_discards4(void **state)
{
	struct dgram	 o = orig4();

	(void)state;
	overlap_discards(&o);
}

static void
test_overlap_discards6(void **state)
{
	struct dgram	 o = orig6();

	(void)state;
	overlap_discards(&o);
}

/*
 * A fragment whose bytes are all held is a duplicate: dropped, counted,
 * the datagram kept with the copy received first, even when the
 * duplicate's bytes differ (as Linux keeps it).
 */
static void
test_duplicate_kept_first(void **state)
{
	struct frag_config c = config(1 << 20, 16, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	const struct frag_stats *st;
	struct dgram	 o = orig4();
	uint8_t		 buf[512], evil[80];
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0;
	size_t		 n;

	(void)state;
	assert_non_null(t);
	st = frag_get_stats(t);
	memset(evil, 'X', sizeof(evil));
	assert_int_equal(feed_part(t, &o, 0, 80, 1, 1, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &o, 0, 80, 1, 1, &dg, &dlen), 0);
	n = mkfrag(buf, &o, 8, 64, 1, evil);
	assert_int_equal(feed(t, buf, n, 2, &dg, &dlen), 0);
	assert_int_equal(st->duplicates, 2);
	assert_int_equal(st->overlaps, 0);
	assert_int_equal(feed_part(t, &o, 80, 120, 0, 3, &dg, &dlen), 1);
	check_rebuilt(&o, dg, dlen);
	assert_int_equal(st->mem, 0);
	frag_free(t);
}

/* A fragment spanning two held pieces and the hole between discards. */
static void
test_overlap_spanning_hole(void **state)
{
	struct frag_config c = config(1 << 20, 16, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	struct dgram	 o = orig6();
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0;

	(void)state;
	assert_non_null(t);
	assert_int_equal(feed_part(t, &o, 0, 48, 1, 1, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &o, 96, 104, 0, 1, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &o, 8, 160, 1, 1, &dg, &dlen), 0);
	assert_int_equal(frag_get_stats(t)->overlaps, 1);
	assert_int_equal(frag_get_stats(t)->pending, 0);
	/* Disjoint pieces in any order still rebuild it. */
	assert_int_equal(feed_part(t, &o, 96, 104, 0, 2, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &o, 0, 48, 1, 2, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &o, 48, 48, 1, 2, &dg, &dlen), 1);
	check_rebuilt(&o, dg, dlen);
	frag_free(t);
}

static void
test_timeout(void **state)
{
	struct frag_config c = config(1 << 20, 16, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	const struct frag_stats *st;
	struct dgram	 o = orig4();
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0;

	(void)state;
	assert_non_null(t);
	st = frag_get_stats(t);
	assert_int_equal(feed_part(t, &o, 0, 80, 1, 100, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &o, 160, 40, 0, 200, &dg, &dlen), 0);
	assert_int_equal(frag_expire(t, 100 + 30 * SEC - 1), 0);
	assert_int_equal(st->pending, 1);
	assert_int_equal(frag_expire(t, 100 + 30 * SEC), 1);
	assert_int_equal(st->timeouts, 1);
	assert_int_equal(st->pending, 0);
	assert_int_equal(st->mem, 0);
	/* The missing piece, too late: a new datagram that stays pending. */
	assert_int_equal(feed_part(t, &o, 80, 80, 1, 100 + 31 * SEC, &dg,
	    &dlen), 0);
	assert_int_equal(st->pending, 1);
	/* A later fragment of anything expires it on the way in. */
	assert_int_equal(feed_part(t, &o, 0, 80, 1, 100 + 70 * SEC, &dg,
	    &dlen), 0);
	assert_int_equal(st->timeouts, 2);
	assert_int_equal(st->pending, 1);
	assert_int_equal(st->reassembled, 0);
	frag_free(t);
}

/* Over the memcap the oldest datagram goes; the newest completes. */
static void
test_memcap(void **state)
{
	struct frag_config c;
	struct frag_table *t;
	const struct frag_stats *st;
	struct dgram	 a = orig4(), b = orig4();
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0;
	size_t		 one;

	(void)state;
	/* Measure what a datagram with one 80-byte piece costs. */
	c = config(1 << 20, 16, 30 * SEC);
	t = frag_new(&c);
	assert_non_null(t);
	assert_int_equal(feed_part(t, &a, 0, 80, 1, 1, &dg, &dlen), 0);
	one = frag_get_stats(t)->mem;
	frag_free(t);

	/* Room for one datagram of 200 bytes, not two. */
	c = config(one + 300, 16, 30 * SEC);
	t = frag_new(&c);
	assert_non_null(t);
	st = frag_get_stats(t);
	tu_be16(b.b + 4, ID4 + 1);
	assert_int_equal(feed_part(t, &a, 0, 80, 1, 1, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &b, 0, 80, 1, 2, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &b, 80, 80, 1, 3, &dg, &dlen), 0);
	assert_int_equal(st->memcap_drops, 1);
	assert_int_equal(st->pending, 1);
	assert_true(st->mem <= c.memcap);
	assert_true(st->mem_peak <= c.memcap);
	assert_int_equal(feed_part(t, &b, 160, 40, 0, 4, &dg, &dlen), 1);
	check_rebuilt(&b, dg, dlen);
	/* a lost its first piece: the rest does not complete it. */
	assert_int_equal(feed_part(t, &a, 80, 120, 0, 5, &dg, &dlen), 0);
	assert_int_equal(st->pending, 1);
	frag_free(t);

	/* A memcap below one fragment holds nothing at all. */
	c = config(64, 16, 30 * SEC);
	t = frag_new(&c);
	assert_non_null(t);
	st = frag_get_stats(t);
	assert_int_equal(feed_part(t, &a, 0, 80, 1, 1, &dg, &dlen), 0);
	assert_int_equal(st->pending, 0);
	assert_int_equal(st->mem, 0);
	assert_true(st->memcap_drops >= 1);
	frag_free(t);
}

/* The datagram being filled is never the one evicted for its own bytes. */
static void
test_memcap_keeps_current(void **state)
{
	struct frag_config c;
	struct frag_table *t;
	const struct frag_stats *st;
	struct dgram	 a = orig4(), b = orig4();
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0;
	size_t		 one;

	(void)state;
	c = config(1 << 20, 16, 30 * SEC);
	t = frag_new(&c);
	assert_non_null(t);
	assert_int_equal(feed_part(t, &a, 0, 80, 1, 1, &dg, &dlen), 0);
	one = frag_get_stats(t)->mem;
	frag_free(t);

	/* a (oldest) and b fit; a's next piece needs b's room. */
	c = config(2 * one + 100, 16, 30 * SEC);
	t = frag_new(&c);
	assert_non_null(t);
	st = frag_get_stats(t);
	tu_be16(b.b + 4, ID4 + 1);
	assert_int_equal(feed_part(t, &a, 0, 80, 1, 1, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &b, 0, 80, 1, 2, &dg, &dlen), 0);
	assert_int_equal(st->pending, 2);
	assert_int_equal(feed_part(t, &a, 80, 80, 1, 3, &dg, &dlen), 0);
	assert_int_equal(st->memcap_drops, 1);
	assert_int_equal(st->pending, 1);
	assert_int_equal(feed_part(t, &a, 160, 40, 0, 4, &dg, &dlen), 1);
	check_rebuilt(&a, dg, dlen);
	frag_free(t);
}

/*
 * Only the first fragment carries options that are not copied (RFC 791):
 * the rebuilt header is the offset-0 fragment's, whatever came first.
 */
static void
test_header_from_first_fragment(void **state)
{
	struct frag_config c = config(1 << 20, 16, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	struct dgram	 o = orig4();
	uint8_t		 buf[512], want[256];
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0;
	size_t		 n;

	(void)state;
	assert_non_null(t);
	/* The later fragment, plain 20-byte header, arrives first. */
	assert_int_equal(feed_part(t, &o, 80, 120, 0, 1, &dg, &dlen), 0);
	/* The first fragment: IHL 6 with a record-route-like option. */
	n = mkfrag(buf, &o, 0, 80, 1, NULL);
	memmove(buf + 24, buf + 20, 80);
	buf[0] = 0x46;
	memcpy(buf + 20, "\x07\x03\x04\x00", 4);
	tu_be16(buf + 2, (uint16_t)(n + 4));
	assert_int_equal(feed(t, buf, n + 4, 2, &dg, &dlen), 1);
	memcpy(want, buf, 24);
	tu_be16(want + 2, 24 + FRAG_PART);
	tu_be16(want + 6, 0);
	memcpy(want + 24, o.b + 20, FRAG_PART);
	assert_int_equal(dlen, 24 + FRAG_PART);
	assert_memory_equal(dg, want, dlen);
	frag_free(t);
}

static void
test_max_datagrams(void **state)
{
	struct frag_config c = config(1 << 20, 2, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	const struct frag_stats *st;
	struct dgram	 o[3];
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0;
	int		 i;

	(void)state;
	assert_non_null(t);
	st = frag_get_stats(t);
	for (i = 0; i < 3; i++) {
		o[i] = orig4();
		tu_be16(o[i].b + 4, (uint16_t)(100 + i));
		assert_int_equal(feed_part(t, &o[i], 0, 80, 1, (uint64_t)i,
		    &dg, &dlen), 0);
	}
	assert_int_equal(st->pending, 2);
	assert_int_equal(st->memcap_drops, 1);
	/* o[0] was the oldest and is gone; o[1] still completes. */
	assert_int_equal(feed_part(t, &o[1], 80, 120, 0, 5, &dg, &dlen), 1);
	check_rebuilt(&o[1], dg, dlen);
	assert_int_equal(feed_part(t, &o[0], 80, 120, 0, 6, &dg, &dlen), 0);
	assert_int_equal(st->pending, 2);
	assert_int_equal(st->memcap_drops, 1);
	/* A reload with a lower limit drops down to it. */
	c.max_datagrams = 1;
	frag_set_limits(t, &c);
	assert_int_equal(st->pending, 1);
	frag_free(t);
}

/* Same id, other protocol or other address: separate datagrams. */
static void
test_keying(void **state)
{
	struct frag_config c = config(1 << 20, 16, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	struct dgram	 o = orig4(), other = orig4();
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0;

	(void)state;
	assert_non_null(t);
	other.b[15] = 99;		/* another source address */
	assert_int_equal(feed_part(t, &o, 0, 80, 1, 1, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &other, 80, 120, 0, 1, &dg, &dlen), 0);
	other = o;
	other.b[9] = 17;		/* UDP */
	assert_int_equal(feed_part(t, &other, 80, 120, 0, 1, &dg, &dlen), 0);
	assert_int_equal(frag_get_stats(t)->pending, 3);
	assert_int_equal(feed_part(t, &o, 80, 120, 0, 1, &dg, &dlen), 1);
	check_rebuilt(&o, dg, dlen);
	frag_free(t);
}

static void
test_invalid(void **state)
{
	struct frag_config c = config(1 << 20, 16, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	const struct frag_stats *st;
	static const uint8_t zero8[8];
	struct dgram	 o = orig4(), o2 = orig4();
	struct decode_pkt p;
	uint8_t		 buf[512];
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0;
	size_t		 n;

	(void)state;
	assert_non_null(t);
	st = frag_get_stats(t);
	tu_be16(o2.b + 4, ID4 + 1);
	/* A non-final fragment whose length is not a multiple of 8. */
	assert_int_equal(feed_part(t, &o, 0, 81, 1, 1, &dg, &dlen), 0);
	assert_int_equal(st->invalid, 1);
	/* Cut by the snap length: the IP says more than is there. */
	n = mkfrag(buf, &o, 0, 80, 1, NULL);
	assert_int_equal(decode_ip(buf, (uint32_t)n - 1, 0, &p, NULL),
	    DECODE_FRAGMENT);
	assert_int_equal(frag_input(t, &p, 1, &dg, &dlen), 0);
	assert_int_equal(st->invalid, 2);
	/* Beyond 65535 bytes. */
	n = mkfrag(buf, &o, 65528, 8, 0, zero8);
	assert_int_equal(feed(t, buf, n, 1, &dg, &dlen), 0);
	assert_int_equal(st->invalid, 3);
	/* Two final fragments that disagree on the end: the datagram is
	 * discarded, as the receiver discards it. */
	assert_int_equal(feed_part(t, &o, 160, 40, 0, 1, &dg, &dlen), 0);
	assert_int_equal(st->pending, 1);
	assert_int_equal(feed_part(t, &o, 160, 32, 0, 1, &dg, &dlen), 0);
	assert_int_equal(st->invalid, 4);
	assert_int_equal(st->pending, 0);
	/* A final fragment ending before bytes already held. */
	assert_int_equal(feed_part(t, &o, 0, 80, 1, 1, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &o2, 0, 80, 1, 1, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &o2, 8, 8, 0, 1, &dg, &dlen), 0);
	assert_int_equal(st->invalid, 5);
	/* Not a fragment at all, and no IP. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(frag_input(t, &p, 1, &dg, &dlen), 0);
	p.ip = o.b;
	p.ip_len = (uint32_t)o.n;
	assert_int_equal(frag_input(t, &p, 1, &dg, &dlen), 0);
	assert_int_equal(st->invalid, 7);
	/* Valid fragments still complete the datagram. */
	assert_int_equal(feed_part(t, &o, 80, 80, 1, 2, &dg, &dlen), 0);
	assert_int_equal(feed_part(t, &o, 160, 40, 0, 2, &dg, &dlen), 1);
	check_rebuilt(&o, dg, dlen);
	assert_int_equal(st->fragments, 12);
	frag_free(t);
}

/* All fragments valid, but header + payload exceed 65535 bytes. */
static void
test_too_big(void **state)
{
	struct frag_config c = config(1 << 20, 16, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	struct decode_pkt p;
	uint8_t		*buf;
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0, off, len;
	int		 r = 0;

	(void)state;
	assert_non_null(t);
	buf = malloc(20 + 8000);
	assert_non_null(buf);
	memset(big, 0, sizeof(big));
	tu_ipv4_tcp(big, "192.0.2.1", 1, "198.51.100.25", 25, 0, 0, 0, NULL,
	    0);
	for (off = 0; off < 65520; off += len) {
		len = 65520 - off < 8000 ? 65520 - off : 8000;
		memcpy(buf, big, 20);
		tu_be16(buf + 2, (uint16_t)(20 + len));
		tu_be16(buf + 6, (uint16_t)((off + len < 65520 ? 0x2000 : 0) |
		    off / 8));
		memcpy(buf + 20, big + 20 + off, len);
		assert_int_equal(decode_ip(buf, 20 + len, 0, &p, NULL),
		    DECODE_FRAGMENT);
		r = frag_input(t, &p, 0, &dg, &dlen);
		assert_int_equal(r, 0);
	}
	assert_int_equal(frag_get_stats(t)->invalid, 1);
	assert_int_equal(frag_get_stats(t)->pending, 0);
	assert_int_equal(frag_get_stats(t)->mem, 0);
	free(buf);
	frag_free(t);
}

/* The largest IPv4 datagram there is, in 9 fragments. */
static void
test_largest(void **state)
{
	struct frag_config c = config(1 << 20, 16, 30 * SEC);
	struct frag_table *t = frag_new(&c);
	struct decode_pkt p;
	uint8_t		*buf;
	const uint8_t	*dg = NULL;
	uint32_t	 dlen = 0, off, len, i, total = 65515;
	int		 r = 0;

	(void)state;
	assert_non_null(t);
	buf = malloc(20 + 8000);
	assert_non_null(buf);
	tu_ipv4_tcp(big, "192.0.2.1", 1, "198.51.100.25", 25, 0, 0, 0, NULL,
	    0);
	tu_be16(big + 2, 65535);
	big[10] = big[11] = 0;	/* as frag.c rebuilds it */
	for (i = 40; i < 65535; i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	for (off = 0; off < total; off += len) {
		len = total - off < 8000 ? total - off : 8000;
		memcpy(buf, big, 20);
		tu_be16(buf + 2, (uint16_t)(20 + len));
		tu_be16(buf + 6, (uint16_t)((off + len < total ? 0x2000 : 0) |
		    off / 8));
		memcpy(buf + 20, big + 20 + off, len);
		assert_int_equal(decode_ip(buf, 20 + len, 0, &p, NULL),
		    DECODE_FRAGMENT);
		r = frag_input(t, &p, 0, &dg, &dlen);
	}
	assert_int_equal(r, 1);
	assert_int_equal(dlen, 65535);
	assert_memory_equal(dg, big, 65535);
	assert_int_equal(decode_ip(dg, dlen, 0, &p, NULL), DECODE_OK);
	assert_int_equal(p.payload_len, 65535 - 40);
	free(buf);
	frag_free(t);
}

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Random fragments of a few datagrams, with random data, under a small
 * memcap: the memcap holds, the table stays consistent, whatever comes out
 * decodes without harm, and valgrind sees no leak after frag_free().
 */
static void
test_random(void **state)
{
	struct frag_config c = config(4096, 4, 5 * SEC);
	struct frag_table *t = frag_new(&c);
	const struct frag_stats *st;
	struct dgram	 o[2] = { orig4(), orig6() };
	struct decode_pkt p;
	uint8_t		 buf[512], data[FRAG_PART];
	const uint8_t	*dg;
	uint32_t	 s = 12345, off, len, dlen, i;
	uint64_t	 ts = 0, done = 0;
	int		 k, more;

	(void)state;
	assert_non_null(t);
	st = frag_get_stats(t);
	for (i = 0; i < 20000; i++) {
		k = (int)(rnd(&s) % 2);
		off = (rnd(&s) % (FRAG_PART / 8)) * 8;
		len = rnd(&s) % (FRAG_PART - off + 1);
		more = (int)(rnd(&s) % 3 != 0);
		if (more)
			len &= ~7u;
		if (more && len == 0)
			len = 8;
		if (off + len > FRAG_PART)
			continue;
		memcpy(data, o[k].b + o[k].hdr + off, len);
		if (rnd(&s) % 8 == 0)
			data[rnd(&s) % (len + 1) % FRAG_PART] ^= 0xff;
		tu_be16(o[k].b + 4, (uint16_t)(rnd(&s) % 4));
		ts += rnd(&s) % (SEC / 4);
		memcpy(buf, o[k].b, o[k].hdr);
		dlen = (uint32_t)mkfrag(buf, &o[k], off, len, more, data);
		if (k == 1)
			tu_be32(buf + 52, rnd(&s) % 4);
		if (decode_ip(buf, dlen, ts, &p, NULL) != DECODE_FRAGMENT)
			continue;
		dg = NULL;
		if (frag_input(t, &p, ts, &dg, &dlen)) {
			done++;
			assert_non_null(dg);
			assert_true(dlen <= FRAG_MAX_DATAGRAM);
			(void)decode_ip(dg, dlen, ts, &p, NULL);
		}
		assert_true(st->mem <= c.memcap);
		assert_true(st->pending <= c.max_datagrams);
	}
	assert_int_equal(st->reassembled, done);
	assert_true(done > 0);
	assert_true(st->memcap_drops > 0);
	assert_true(st->overlaps > 0);
	frag_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order4),
		cmocka_unit_test(test_in_order6),
		cmocka_unit_test(test_reverse4),
		cmocka_unit_test(test_reverse6),
		cmocka_unit_test(test_overlap_discards4),
		cmocka_unit_test(test_overlap_discards6),
		cmocka_unit_test(test_duplicate_kept_first),
		cmocka_unit_test(test_overlap_spanning_hole),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_memcap),
		cmocka_unit_test(test_memcap_keeps_current),
		cmocka_unit_test(test_header_from_first_fragment),
		cmocka_unit_test(test_max_datagrams),
		cmocka_unit_test(test_keying),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_largest),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
