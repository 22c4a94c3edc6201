/*
 * test_decode.c: frames built by hand for every link type and
 * encapsulation decode.c knows, plus truncated, inconsistent and mutated
 * frames that must be refused without reading outside the capture.
 */
#define _XOPEN_SOURCE	700	/* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "testutil.h"

/* The segment every test carries: 192.0.2.1:40000 -> 198.51.100.25:25. */
static const uint8_t SRC4[4] = { 192, 0, 2, 1 };
static const uint8_t DST4[4] = { 198, 51, 100, 25 };
static const uint8_t SRC6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0x01 };
static const uint8_t DST6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0x25 };
#define SPORT		40000
#define DPORT		25
#define SEQ		0x11223344u
#define ACK		0x55667788u
#define FLAGS		(DECODE_TH_PUSH | DECODE_TH_ACK)
#define PAYLOAD		"EHLO relay.example\r\n"
#define PAYLOAD_LEN	20u

/* A frame under construction. */
struct fb {
	uint8_t		 b[4096];
	size_t		 n;
};

static void
put(struct fb *f, const void *p, size_t n)
{
	assert_true(f->n + n <= sizeof(f->b));
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void
put8(struct fb *f, uint8_t v)
{
	put(f, &v, 1);
}

static void
put16(struct fb *f, uint16_t v)
{
	put8(f, v >> 8);
	put8(f, v & 0xff);
}

static void
put32(struct fb *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static void
put_zero(struct fb *f, size_t n)
{
	while (n-- > 0)
		put8(f, 0);
}

static void
put_eth(struct fb *f, uint16_t type)
{
	assert_true(f->n + 14 <= sizeof(f->b));
	f->n += tu_eth(f->b + f->n, type);
}

static void
put_ip4(struct fb *f, const uint8_t src[4], const uint8_t dst[4],
    uint8_t proto, size_t payload_len)
{
	put8(f, 0x45);
	put8(f, 0);
	put16(f, (uint16_t)(20 + payload_len));
	put16(f, 0x1234);
	put16(f, 0);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put(f, src, 4);
	put(f, dst, 4);
	tu_ip4_csum(f->b + f->n - 20);
}

static void
put_ip6(struct fb *f, const uint8_t src[16], const uint8_t dst[16],
    uint8_t nh, size_t payload_len)
{
	put32(f, 0x60000000);
	put16(f, (uint16_t)payload_len);
	put8(f, nh);
	put8(f, 64);
	put(f, src, 16);
	put(f, dst, 16);
}

/* TCP header of doff words (options zero-filled) and the test payload. */
static void
put_tcp(struct fb *f, uint8_t doff)
{
	put16(f, SPORT);
	put16(f, DPORT);
	put32(f, SEQ);
	put32(f, ACK);
	put8(f, (uint8_t)(doff << 4));
	put8(f, FLAGS);
	put16(f, 29200);
	put32(f, 0);
	put_zero(f, (doff - 5u) * 4);
	put(f, PAYLOAD, PAYLOAD_LEN);
}

/* IPv4 + TCP segment; returns the offset of its payload. */
static size_t
put_seg4(struct fb *f)
{
	put_ip4(f, SRC4, DST4, 6, 20 + PAYLOAD_LEN);
	put_tcp(f, 5);
	return f->n - PAYLOAD_LEN;
}

static size_t
put_seg6(struct fb *f)
{
	put_ip6(f, SRC6, DST6, 6, 20 + PAYLOAD_LEN);
	put_tcp(f, 5);
	return f->n - PAYLOAD_LEN;
}

static void
check_tcp(const struct decode_pkt *p, const uint8_t *frame, size_t poff)
{
	assert_int_equal(p->sport, SPORT);
	assert_int_equal(p->dport, DPORT);
	assert_int_equal(p->seq, SEQ);
	assert_int_equal(p->ack, ACK);
	assert_int_equal(p->flags, FLAGS);
	assert_int_equal(p->window, 29200);
	assert_ptr_equal(p->payload, frame + poff);
	assert_int_equal(p->payload_len, PAYLOAD_LEN);
	assert_int_equal(p->payload_missing, 0);
	assert_memory_equal(p->payload, PAYLOAD, PAYLOAD_LEN);
}

static void
check_seg4(const struct decode_pkt *p, const uint8_t *frame, size_t poff)
{
	static const uint8_t zero[12];

	assert_int_equal(p->src.family, 4);
	assert_int_equal(p->dst.family, 4);
	assert_memory_equal(p->src.bytes, SRC4, 4);
	assert_memory_equal(p->dst.bytes, DST4, 4);
	assert_memory_equal(p->src.bytes + 4, zero, 12);
	assert_memory_equal(p->dst.bytes + 4, zero, 12);
	assert_ptr_equal(p->ip, frame + poff - 40);
	assert_int_equal(p->ip_len, 40 + PAYLOAD_LEN);
	check_tcp(p, frame, poff);
}

static void
check_seg6(const struct decode_pkt *p, const uint8_t *frame, size_t poff)
{
	assert_int_equal(p->src.family, 6);
	assert_memory_equal(p->src.bytes, SRC6, 16);
	assert_memory_equal(p->dst.bytes, DST6, 16);
	check_tcp(p, frame, poff);
}

/* Decode f as linktype; expect OK and the IPv4 test segment at poff. */
static struct decode_pkt
expect_seg4(int linktype, const struct fb *f, size_t poff)
{
	struct decode_pkt p;

	assert_int_equal(decode_frame(linktype, f->b, (uint32_t)f->n, 77, &p,
	    NULL), DECODE_OK);
	assert_int_equal(p.ts_us, 77);
	check_seg4(&p, f->b, poff);
	return p;
}

static struct decode_pkt
expect_seg6(int linktype, const struct fb *f, size_t poff)
{
	struct decode_pkt p;

	assert_int_equal(decode_frame(linktype, f->b, (uint32_t)f->n, 77, &p,
	    NULL), DECODE_OK);
	check_seg6(&p, f->b, poff);
	return p;
}

static enum decode_result
decode_fb(int linktype, const struct fb *f, struct decode_pkt *p)
{
	return decode_frame(linktype, f->b, (uint32_t)f->n, 0, p, NULL);
}

/*
 * Offer every prefix of f, each in a buffer of exactly that size so that
 * valgrind sees any overread. A prefix shorter than the headers (hdr bytes)
 * is TRUNCATED; a longer one is OK with the payload cut to what is there.
 */
static void
truncation_sweep(int linktype, const struct fb *f, size_t hdr)
{
	struct decode_pkt p;
	enum decode_result r;
	uint32_t	 caplen;
	uint8_t		*copy;

	assert_true(hdr + PAYLOAD_LEN == f->n);
	for (caplen = 0; caplen < f->n; caplen++) {
		copy = malloc(caplen ? caplen : 1);
		assert_non_null(copy);
		memcpy(copy, f->b, caplen);
		r = decode_frame(linktype, copy, caplen, 0, &p, NULL);
		if (caplen < hdr) {
			assert_int_equal(r, DECODE_TRUNCATED);
		} else {
			assert_int_equal(r, DECODE_OK);
			assert_ptr_equal(p.payload, copy + hdr);
			assert_int_equal(p.payload_len, caplen - hdr);
			assert_int_equal(p.payload_missing, f->n - caplen);
		}
		free(copy);
	}
}

static void
test_ethernet(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	put_eth(&f, 0x0800);
	poff = put_seg4(&f);
	p = expect_seg4(DECODE_LINK_EN10MB, &f, poff);
	assert_int_equal(p.vlan, 0);
	assert_int_equal(p.layers, 3);	/* Ethernet, IPv4, TCP */
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);
}

/* Ethernet pads short frames to 60 bytes; the IP length excludes it. */
static void
test_ethernet_padding(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	put_eth(&f, 0x0800);
	poff = put_seg4(&f);
	put(&f, "\xde\xad\xbe\xef\xde\xad", 6);
	expect_seg4(DECODE_LINK_EN10MB, &f, poff);

	/* A bare ACK: 54 bytes padded to 60, no payload at all. */
	memset(&f, 0, sizeof(f));
	put_eth(&f, 0x0800);
	put_ip4(&f, SRC4, DST4, 6, 20);
	put_tcp(&f, 5);
	f.n -= PAYLOAD_LEN;
	put(&f, "PADPAD", 6);
	assert_int_equal(f.n, 60);
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.payload_missing, 0);
	assert_int_equal(p.ip_len, 40);
}

static void
test_vlan(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_stats st;
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	memset(&st, 0, sizeof(st));
	put_eth(&f, 0x8100);
	put16(&f, 0x2000 | 100);	/* PCP 1, VID 100 */
	put16(&f, 0x0800);
	poff = put_seg4(&f);
	p = expect_seg4(DECODE_LINK_EN10MB, &f, poff);
	assert_int_equal(p.vlan, 100);
	assert_int_equal(decode_frame(DECODE_LINK_EN10MB, f.b, (uint32_t)f.n,
	    0, &p, &st), DECODE_OK);
	assert_int_equal(st.vlan, 1);
	assert_int_equal(st.ipv4, 1);
	assert_int_equal(st.tcp, 1);
	assert_int_equal(st.frames, 1);
	assert_int_equal(st.result[DECODE_OK], 1);
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);
}

/* 802.1ad outer tag, 802.1Q inner: the inner (customer) VID is kept. */
static void
test_qinq(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	put_eth(&f, 0x88a8);
	put16(&f, 10);
	put16(&f, 0x8100);
	put16(&f, 20);
	put16(&f, 0x0800);
	poff = put_seg4(&f);
	p = expect_seg4(DECODE_LINK_EN10MB, &f, poff);
	assert_int_equal(p.vlan, 20);
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);

	memset(&f, 0, sizeof(f));
	put_eth(&f, 0x9100);
	put16(&f, 0xf000 | 4095);	/* PCP 7, DEI, VID 4095 */
	put16(&f, 0x86dd);
	poff = put_seg6(&f);
	p = expect_seg6(DECODE_LINK_EN10MB, &f, poff);
	assert_int_equal(p.vlan, 4095);
}

static void
test_sll(void **state)
{
	struct fb	 f = { .n = 0 };
	size_t		 poff;

	(void)state;
	put16(&f, 0);			/* to us */
	put16(&f, 1);			/* ARPHRD_ETHER */
	put16(&f, 6);
	put(&f, "\x00\x01\x02\x03\x04\x05\x00\x00", 8);
	put16(&f, 0x0800);
	assert_int_equal(f.n, 16);
	poff = put_seg4(&f);
	expect_seg4(DECODE_LINK_LINUX_SLL, &f, poff);
	truncation_sweep(DECODE_LINK_LINUX_SLL, &f, poff);

	memset(&f, 0, sizeof(f));
	put16(&f, 4);			/* sent by us */
	put16(&f, 1);
	put16(&f, 6);
	put_zero(&f, 8);
	put16(&f, 0x86dd);
	poff = put_seg6(&f);
	expect_seg6(DECODE_LINK_LINUX_SLL, &f, poff);
}

static void
test_sll2(void **state)
{
	struct fb	 f = { .n = 0 };
	size_t		 poff;

	(void)state;
	put16(&f, 0x86dd);		/* protocol */
	put16(&f, 0);			/* reserved */
	put32(&f, 3);			/* ifindex */
	put16(&f, 1);			/* ARPHRD_ETHER */
	put8(&f, 0);			/* packet type */
	put8(&f, 6);			/* address length */
	put(&f, "\x00\x01\x02\x03\x04\x05\x00\x00", 8);
	assert_int_equal(f.n, 20);
	poff = put_seg6(&f);
	expect_seg6(DECODE_LINK_LINUX_SLL2, &f, poff);
	truncation_sweep(DECODE_LINK_LINUX_SLL2, &f, poff);

	/* ARP over SLL2 is valid, just not ours. */
	f.b[0] = 0x08;
	f.b[1] = 0x06;
	assert_int_equal(decode_fb(DECODE_LINK_LINUX_SLL2, &f,
	    &(struct decode_pkt){ 0 }), DECODE_NOT_TCP);
}

static void
test_raw(void **state)
{
	static const int v4links[] = { DECODE_LINK_RAW, DECODE_LINK_RAW_ALT,
	    101, DECODE_LINK_IPV4 };
	static const int v6links[] = { DECODE_LINK_RAW, DECODE_LINK_RAW_ALT,
	    101, DECODE_LINK_IPV6 };
	struct fb	 f4 = { .n = 0 }, f6 = { .n = 0 };
	struct decode_pkt p;
	size_t		 poff4, poff6, i;

	(void)state;
	poff4 = put_seg4(&f4);
	poff6 = put_seg6(&f6);
	for (i = 0; i < sizeof(v4links) / sizeof(v4links[0]); i++) {
		expect_seg4(v4links[i], &f4, poff4);
		p = expect_seg6(v6links[i], &f6, poff6);
		assert_ptr_equal(p.ip, f6.b);
		assert_int_equal(p.ip_len, 60 + PAYLOAD_LEN);
	}
	truncation_sweep(DECODE_LINK_RAW, &f4, poff4);
	truncation_sweep(DECODE_LINK_IPV6, &f6, poff6);
	/* The dedicated link types insist on their version. */
	assert_int_equal(decode_fb(DECODE_LINK_IPV4, &f6, &p),
	    DECODE_MALFORMED);
	assert_int_equal(decode_fb(DECODE_LINK_IPV6, &f4, &p),
	    DECODE_MALFORMED);
	/* Version 5 is nothing. */
	f4.b[0] = 0x55;
	assert_int_equal(decode_fb(DECODE_LINK_RAW, &f4, &p),
	    DECODE_MALFORMED);
}

/* DLT_NULL: AF in the capturing host's order, either order accepted. */
static void
test_null(void **state)
{
	static const uint32_t af6[] = { 10, 24, 28, 30 };
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;
	size_t		 poff, i;

	(void)state;
	put(&f, "\x02\x00\x00\x00", 4);	/* little-endian host */
	poff = put_seg4(&f);
	expect_seg4(DECODE_LINK_NULL, &f, poff);
	truncation_sweep(DECODE_LINK_NULL, &f, poff);
	memcpy(f.b, "\x00\x00\x00\x02", 4);	/* big-endian host */
	expect_seg4(DECODE_LINK_NULL, &f, poff);

	for (i = 0; i < sizeof(af6) / sizeof(af6[0]); i++) {
		memset(&f, 0, sizeof(f));
		put32(&f, af6[i]);
		poff = put_seg6(&f);
		expect_seg6(DECODE_LINK_NULL, &f, poff);
		f.b[3] = 0;
		f.b[0] = (uint8_t)af6[i];
		expect_seg6(DECODE_LINK_NULL, &f, poff);
	}
	/* AF_UNIX (1) is not IP. */
	memcpy(f.b, "\x01\x00\x00\x00", 4);
	assert_int_equal(decode_fb(DECODE_LINK_NULL, &f, &p), DECODE_NOT_TCP);
}

/* DLT_LOOP: network order only. */
static void
test_loop(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	put32(&f, 2);
	poff = put_seg4(&f);
	expect_seg4(DECODE_LINK_LOOP, &f, poff);
	truncation_sweep(DECODE_LINK_LOOP, &f, poff);
	memcpy(f.b, "\x02\x00\x00\x00", 4);
	assert_int_equal(decode_fb(DECODE_LINK_LOOP, &f, &p), DECODE_NOT_TCP);
	memset(&f, 0, sizeof(f));
	put32(&f, 24);
	poff = put_seg6(&f);
	expect_seg6(DECODE_LINK_LOOP, &f, poff);
}

static uint32_t
mpls_lse(uint32_t label, int bottom)
{
	return label << 12 | (bottom ? 0x100u : 0) | 64;
}

static void
test_mpls(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_stats st;
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	put_eth(&f, 0x8847);
	put32(&f, mpls_lse(1000, 1));
	poff = put_seg4(&f);
	expect_seg4(DECODE_LINK_EN10MB, &f, poff);
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);

	memset(&f, 0, sizeof(f));
	memset(&st, 0, sizeof(st));
	put_eth(&f, 0x8847);
	put32(&f, mpls_lse(16, 0));
	put32(&f, mpls_lse(17, 0));
	put32(&f, mpls_lse(18, 1));
	poff = put_seg6(&f);
	expect_seg6(DECODE_LINK_EN10MB, &f, poff);
	assert_int_equal(decode_frame(DECODE_LINK_EN10MB, f.b, (uint32_t)f.n,
	    0, &p, &st), DECODE_OK);
	assert_int_equal(st.mpls, 3);
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);

	/* Ethernet pseudowire with a control word. */
	memset(&f, 0, sizeof(f));
	put_eth(&f, 0x8847);
	put32(&f, mpls_lse(99, 1));
	put32(&f, 0x00000007);		/* control word, sequence 7 */
	put_eth(&f, 0x8100);
	put16(&f, 42);
	put16(&f, 0x0800);
	poff = put_seg4(&f);
	p = expect_seg4(DECODE_LINK_EN10MB, &f, poff);
	assert_int_equal(p.vlan, 42);

	/* A payload whose first nibble is neither 0, 4 nor 6. */
	f.b[18] = 0x50;
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_UNSUPPORTED);
}

/* Outer Ethernet + IPv4 10.0.0.1 -> 10.0.0.2 with protocol proto. */
static void
put_outer4(struct fb *f, uint8_t proto, size_t payload_len)
{
	static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };

	put_eth(f, 0x0800);
	put_ip4(f, a, b, proto, payload_len);
}

static void
test_gre_ipv4(void **state)
{
	struct fb	 f = { .n = 0 }, in = { .n = 0 };
	struct decode_stats st;
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	put_seg4(&in);
	put_outer4(&f, 47, 4 + in.n);
	put16(&f, 0);
	put16(&f, 0x0800);
	put(&f, in.b, in.n);
	poff = f.n - PAYLOAD_LEN;
	p = expect_seg4(DECODE_LINK_EN10MB, &f, poff);
	assert_int_equal(p.layers, 5);	/* Eth, IPv4, GRE, IPv4, TCP */
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);

	/* Checksum, key and sequence present: 12 more bytes. */
	memset(&f, 0, sizeof(f));
	memset(&st, 0, sizeof(st));
	put_outer4(&f, 47, 16 + in.n);
	put16(&f, 0x8000 | 0x2000 | 0x1000);
	put16(&f, 0x0800);
	put32(&f, 0xffff0000);
	put32(&f, 0xabcdef01);
	put32(&f, 12345);
	put(&f, in.b, in.n);
	poff = f.n - PAYLOAD_LEN;
	expect_seg4(DECODE_LINK_EN10MB, &f, poff);
	assert_int_equal(decode_frame(DECODE_LINK_EN10MB, f.b, (uint32_t)f.n,
	    0, &p, &st), DECODE_OK);
	assert_int_equal(st.gre, 1);
	assert_int_equal(st.ipv4, 2);
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);

	/* GRE version 1 (PPTP) is not handled. */
	f.b[34 + 1] = 0x01;
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_UNSUPPORTED);
}

static void
test_gre_teb(void **state)
{
	struct fb	 f = { .n = 0 }, in = { .n = 0 };
	size_t		 poff;

	(void)state;
	put_eth(&in, 0x86dd);
	put_seg6(&in);
	put_outer4(&f, 47, 8 + in.n);
	put16(&f, 0x2000);		/* key */
	put16(&f, 0x6558);
	put32(&f, 7);
	put(&f, in.b, in.n);
	poff = f.n - PAYLOAD_LEN;
	expect_seg6(DECODE_LINK_EN10MB, &f, poff);
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);
}

static void
test_erspan2(void **state)
{
	struct fb	 f = { .n = 0 }, in = { .n = 0 };
	struct decode_stats st;
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	memset(&st, 0, sizeof(st));
	put_eth(&in, 0x8100);
	put16(&in, 300);
	put16(&in, 0x0800);
	put_seg4(&in);
	put_outer4(&f, 47, 8 + 8 + in.n);
	put16(&f, 0x1000);		/* sequence: type II */
	put16(&f, 0x88be);
	put32(&f, 1);
	put32(&f, 0x10000000 | 5);	/* ver 1, session 5 */
	put32(&f, 0);
	put(&f, in.b, in.n);
	poff = f.n - PAYLOAD_LEN;
	p = expect_seg4(DECODE_LINK_EN10MB, &f, poff);
	assert_int_equal(p.vlan, 300);
	assert_int_equal(decode_frame(DECODE_LINK_EN10MB, f.b, (uint32_t)f.n,
	    0, &p, &st), DECODE_OK);
	assert_int_equal(st.erspan, 1);
	assert_int_equal(st.gre, 1);
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);

	/* Type I: no sequence bit and no ERSPAN header. */
	memset(&f, 0, sizeof(f));
	put_outer4(&f, 47, 4 + in.n);
	put16(&f, 0);
	put16(&f, 0x88be);
	put(&f, in.b, in.n);
	poff = f.n - PAYLOAD_LEN;
	expect_seg4(DECODE_LINK_EN10MB, &f, poff);
}

static void
put_erspan3(struct fb *f, const struct fb *in, int o_flag, uint8_t ft)
{
	put_outer4(f, 47, 8 + 12 + (o_flag ? 8 : 0) + in->n);
	put16(f, 0x1000);
	put16(f, 0x22eb);
	put32(f, 9);
	put32(f, 0x20000000 | 5);	/* ver 2, session 5 */
	put32(f, 0xdeadbeef);		/* timestamp */
	put16(f, 0);			/* SGT */
	put16(f, (uint16_t)((ft << 10) | (o_flag ? 1 : 0)));
	if (o_flag)
		put(f, "\x04\x00\x00\x00\xff\xff\xff\xff", 8);
	put(f, in->b, in->n);
}

static void
test_erspan3(void **state)
{
	struct fb	 f = { .n = 0 }, in = { .n = 0 }, ip = { .n = 0 };
	size_t		 poff;

	(void)state;
	put_eth(&in, 0x0800);
	put_seg4(&in);
	put_erspan3(&f, &in, 0, 0);
	poff = f.n - PAYLOAD_LEN;
	expect_seg4(DECODE_LINK_EN10MB, &f, poff);
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);

	memset(&f, 0, sizeof(f));
	put_erspan3(&f, &in, 1, 0);
	poff = f.n - PAYLOAD_LEN;
	assert_int_equal(poff, 14 + 20 + 8 + 12 + 8 + 14 + 40);
	expect_seg4(DECODE_LINK_EN10MB, &f, poff);
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);

	/* Frame type 2: the mirror carries IP without Ethernet. */
	put_seg6(&ip);
	memset(&f, 0, sizeof(f));
	put_erspan3(&f, &ip, 0, 2);
	poff = f.n - PAYLOAD_LEN;
	expect_seg6(DECODE_LINK_EN10MB, &f, poff);
}

static void
put_vxlan(struct fb *f, const struct fb *in, uint8_t flags)
{
	put_outer4(f, 17, 8 + 8 + in->n);
	put16(f, 54321);
	put16(f, 4789);
	put16(f, (uint16_t)(8 + 8 + in->n));
	put16(f, 0);
	put8(f, flags);
	put_zero(f, 3);
	put32(f, 42u << 8);		/* VNI 42 */
	put(f, in->b, in->n);
}

static void
test_vxlan(void **state)
{
	struct fb	 f = { .n = 0 }, in = { .n = 0 };
	struct decode_stats st;
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	memset(&st, 0, sizeof(st));
	put_eth(&in, 0x88a8);
	put16(&in, 7);
	put16(&in, 0x8100);
	put16(&in, 8);
	put16(&in, 0x0800);
	put_seg4(&in);
	put_vxlan(&f, &in, 0x08);
	poff = f.n - PAYLOAD_LEN;
	p = expect_seg4(DECODE_LINK_EN10MB, &f, poff);
	assert_int_equal(p.vlan, 8);
	assert_int_equal(decode_frame(DECODE_LINK_EN10MB, f.b, (uint32_t)f.n,
	    0, &p, &st), DECODE_OK);
	assert_int_equal(st.vxlan, 1);
	assert_int_equal(st.vlan, 2);
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);

	memset(&f, 0, sizeof(f));
	put_vxlan(&f, &in, 0x00);
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_MALFORMED);
	/* UDP to another port is just UDP. */
	f.b[34 + 3] = 53;
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_NOT_TCP);
}

static void
test_ipv6_ext(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ip6(&f, SRC6, DST6, 0, 8 + 16 + 20 + PAYLOAD_LEN);
	put8(&f, 60);			/* hop-by-hop -> destination */
	put8(&f, 0);			/* 8 bytes */
	put(&f, "\x01\x04\x00\x00\x00\x00", 6);
	put8(&f, 6);			/* destination -> TCP */
	put8(&f, 1);			/* 16 bytes */
	put8(&f, 1);
	put8(&f, 12);
	put_zero(&f, 12);
	put_tcp(&f, 5);
	poff = f.n - PAYLOAD_LEN;
	p = expect_seg6(DECODE_LINK_EN10MB, &f, poff);
	assert_ptr_equal(p.ip, f.b + 14);
	assert_int_equal(p.ip_len, 40 + 24 + 20 + PAYLOAD_LEN);
	truncation_sweep(DECODE_LINK_EN10MB, &f, poff);

	/* Routing header and AH (length in 4-byte units minus 2). */
	memset(&f, 0, sizeof(f));
	put_ip6(&f, SRC6, DST6, 43, 8 + 16 + 20 + PAYLOAD_LEN);
	put8(&f, 51);
	put8(&f, 0);
	put_zero(&f, 6);
	put8(&f, 6);
	put8(&f, 2);			/* (2 + 2) * 4 = 16 bytes */
	put_zero(&f, 14);
	put_tcp(&f, 5);
	expect_seg6(DECODE_LINK_RAW, &f, f.n - PAYLOAD_LEN);

	/* ESP and no-next-header are not TCP. */
	f.b[40] = 50;
	assert_int_equal(decode_fb(DECODE_LINK_RAW, &f, &p), DECODE_NOT_TCP);
	f.b[40] = 59;
	assert_int_equal(decode_fb(DECODE_LINK_RAW, &f, &p), DECODE_NOT_TCP);
}

static void
test_ipv6_ext_too_many(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;
	int		 i;

	(void)state;
	put_ip6(&f, SRC6, DST6, 60, 9 * 8 + 20 + PAYLOAD_LEN);
	for (i = 0; i < 9; i++) {
		put8(&f, i < 8 ? 60 : 6);
		put_zero(&f, 7);
	}
	put_tcp(&f, 5);
	assert_int_equal(decode_fb(DECODE_LINK_RAW, &f, &p), DECODE_TOO_DEEP);
}

static void
put_ip6_frag(struct fb *f, uint16_t offm)
{
	put_ip6(f, SRC6, DST6, 44, 8 + 20 + PAYLOAD_LEN);
	put8(f, 6);
	put8(f, 0);
	put16(f, offm);
	put32(f, 0xcafe0001);
	put_tcp(f, 5);
}

static void
test_ipv6_fragment(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ip6_frag(&f, 0x0001);	/* offset 0, more fragments */
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_FRAGMENT);
	assert_ptr_equal(p.ip, f.b + 14);
	assert_int_equal(p.ip_len, 40 + 8 + 20 + PAYLOAD_LEN);
	assert_int_equal(p.src.family, 6);
	assert_memory_equal(p.src.bytes, SRC6, 16);
	assert_memory_equal(p.dst.bytes, DST6, 16);

	f.b[14 + 42] = 0x01;		/* offset 32 bytes, last */
	f.b[14 + 43] = 0x00;
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_FRAGMENT);

	/* Atomic fragment (offset 0, M 0) is the whole datagram. */
	memset(&f, 0, sizeof(f));
	put_eth(&f, 0x86dd);
	put_ip6_frag(&f, 0x0000);
	expect_seg6(DECODE_LINK_EN10MB, &f, f.n - PAYLOAD_LEN);
}

static void
test_ipv4_fragment(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_stats st;
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	memset(&st, 0, sizeof(st));
	put_eth(&f, 0x0800);
	poff = put_seg4(&f);
	f.b[14 + 6] = 0x20;		/* MF, offset 0 */
	assert_int_equal(decode_frame(DECODE_LINK_EN10MB, f.b, (uint32_t)f.n,
	    5, &p, &st), DECODE_FRAGMENT);
	assert_int_equal(st.result[DECODE_FRAGMENT], 1);
	assert_ptr_equal(p.ip, f.b + 14);
	assert_int_equal(p.ip_len, 40 + PAYLOAD_LEN);
	assert_int_equal(p.src.family, 4);
	assert_memory_equal(p.src.bytes, SRC4, 4);
	assert_memory_equal(p.dst.bytes, DST4, 4);
	assert_int_equal(p.ts_us, 5);

	f.b[14 + 6] = 0x00;		/* offset 8 * 0x12, last */
	f.b[14 + 7] = 0x12;
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_FRAGMENT);

	f.b[14 + 6] = 0x40;		/* DF only: a whole datagram */
	f.b[14 + 7] = 0x00;
	expect_seg4(DECODE_LINK_EN10MB, &f, poff);
}

static void
test_ip_and_tcp_options(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	put8(&f, 0x46);			/* IHL 6: 4 bytes of options */
	put8(&f, 0);
	put16(&f, 24 + 32 + PAYLOAD_LEN);
	put32(&f, 0);
	put8(&f, 64);
	put8(&f, 6);
	put16(&f, 0);
	put(&f, SRC4, 4);
	put(&f, DST4, 4);
	put32(&f, 0x01010100);		/* NOP NOP NOP EOL */
	put_tcp(&f, 8);			/* 12 bytes of TCP options */
	poff = f.n - PAYLOAD_LEN;
	assert_int_equal(poff, 24 + 32);
	assert_int_equal(decode_fb(DECODE_LINK_RAW, &f, &p), DECODE_OK);
	check_tcp(&p, f.b, poff);
	truncation_sweep(DECODE_LINK_RAW, &f, poff);
}

/* The IP length says more than the snap length kept. */
static void
test_payload_missing(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;

	(void)state;
	put_eth(&f, 0x0800);
	put_seg4(&f);
	tu_be16(f.b + 14 + 2, 40 + 1460);
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p), DECODE_OK);
	assert_int_equal(p.payload_len, PAYLOAD_LEN);
	assert_int_equal(p.payload_missing, 1460 - PAYLOAD_LEN);
	assert_int_equal(p.ip_len, 40 + PAYLOAD_LEN);
}

static void
test_ipv4_malformed(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;

	(void)state;
	put_eth(&f, 0x0800);
	put_seg4(&f);
	f.b[14] = 0x44;			/* IHL 4 */
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_MALFORMED);
	f.b[14] = 0x4f;			/* IHL 15: 60 bytes */
	tu_be16(f.b + 16, 59);		/* total < IHL * 4 */
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_MALFORMED);
	f.b[14] = 0x45;
	tu_be16(f.b + 16, 19);		/* total < 20 */
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_MALFORMED);
	tu_be16(f.b + 16, 30);		/* TCP header cut by the IP length */
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_MALFORMED);
	tu_be16(f.b + 16, 40 + PAYLOAD_LEN);
	f.b[14] = 0x65;			/* version 6 in an IPv4 ethertype */
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_MALFORMED);
}

static void
test_tcp_malformed(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;
	uint8_t		*th;

	(void)state;
	put_eth(&f, 0x0800);
	put_seg4(&f);
	th = f.b + 14 + 20;
	th[12] = 4 << 4;		/* data offset < 5 */
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_MALFORMED);
	th[12] = 15 << 4;		/* 60 bytes, segment has 40 */
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_MALFORMED);
	/* Same header, but the IP says more than was captured. */
	tu_be16(f.b + 16, 200);
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_TRUNCATED);
}

static void
test_too_many_tags(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;
	int		 i;

	(void)state;
	put_eth(&f, 0x8100);
	for (i = 1; i < DECODE_MAX_LAYERS; i++) {
		put16(&f, (uint16_t)i);
		put16(&f, 0x8100);
	}
	put16(&f, DECODE_MAX_LAYERS);
	put16(&f, 0x0800);
	put_seg4(&f);
	p = expect_seg4(DECODE_LINK_EN10MB, &f, f.n - PAYLOAD_LEN);
	assert_int_equal(p.vlan, DECODE_MAX_LAYERS);

	memset(&f, 0, sizeof(f));
	put_eth(&f, 0x8100);
	for (i = 0; i < DECODE_MAX_LAYERS; i++) {
		put16(&f, (uint16_t)i);
		put16(&f, 0x8100);
	}
	put16(&f, 99);
	put16(&f, 0x0800);
	put_seg4(&f);
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_TOO_DEEP);

	/* An endless MPLS stack: no bottom-of-stack bit. */
	memset(&f, 0, sizeof(f));
	put_eth(&f, 0x8847);
	for (i = 0; i < 40; i++)
		put32(&f, mpls_lse((uint32_t)i, 0));
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_TOO_DEEP);
}

/* GRE nested n times around the test segment. */
static void
nested_gre(struct fb *f, int n)
{
	static const uint8_t a[4] = { 10, 9, 9, 1 }, b[4] = { 10, 9, 9, 2 };
	struct fb	 in = { .n = 0 };
	int		 i;

	put_seg4(&in);
	for (i = 0; i < n; i++) {
		memset(f, 0, sizeof(*f));
		put_ip4(f, a, b, 47, 4 + in.n);
		put16(f, 0);
		put16(f, 0x0800);
		put(f, in.b, in.n);
		in = *f;
	}
}

static void
test_too_many_tunnels(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;

	(void)state;
	nested_gre(&f, DECODE_MAX_LAYERS);
	expect_seg4(DECODE_LINK_RAW, &f, f.n - PAYLOAD_LEN);
	nested_gre(&f, DECODE_MAX_LAYERS + 1);
	assert_int_equal(decode_fb(DECODE_LINK_RAW, &f, &p), DECODE_TOO_DEEP);
}

static void
test_not_tcp(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;

	(void)state;
	put_eth(&f, 0x0806);		/* ARP */
	put_zero(&f, 28);
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_NOT_TCP);
	memset(&f, 0, sizeof(f));
	put_outer4(&f, 1, 8);		/* ICMP */
	put_zero(&f, 8);
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_NOT_TCP);
	/* GRE keepalive-like payload of an unknown type. */
	memset(&f, 0, sizeof(f));
	put_outer4(&f, 47, 4);
	put16(&f, 0);
	put16(&f, 0x880b);		/* PPP */
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p),
	    DECODE_NOT_TCP);
}

static void
test_unsupported_link(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_stats st;
	struct decode_pkt p;

	(void)state;
	memset(&st, 0, sizeof(st));
	put_seg4(&f);
	assert_int_equal(decode_frame(9999, f.b, (uint32_t)f.n, 0, &p, &st),
	    DECODE_UNSUPPORTED);
	assert_int_equal(decode_frame(105, f.b, (uint32_t)f.n, 0, &p, &st),
	    DECODE_UNSUPPORTED);	/* 802.11 */
	assert_int_equal(st.frames, 2);
	assert_int_equal(st.result[DECODE_UNSUPPORTED], 2);
	assert_false(decode_link_supported(9999));
	assert_false(decode_link_supported(105));
	assert_true(decode_link_supported(DECODE_LINK_EN10MB));
	assert_true(decode_link_supported(DECODE_LINK_NULL));
	assert_true(decode_link_supported(DECODE_LINK_LINUX_SLL2));
	assert_true(decode_link_supported(101));
}

static void
test_decode_ip(void **state)
{
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;
	size_t		 poff;

	(void)state;
	poff = put_seg6(&f);
	assert_int_equal(decode_ip(f.b, (uint32_t)f.n, 9, &p, NULL),
	    DECODE_OK);
	check_seg6(&p, f.b, poff);
	assert_int_equal(p.ts_us, 9);
	assert_int_equal(decode_ip(f.b, 0, 9, &p, NULL), DECODE_TRUNCATED);
}

static void
test_names(void **state)
{
	struct decode_addr a;
	char		 buf[64];

	(void)state;
	memset(&a, 0, sizeof(a));
	a.family = 4;
	memcpy(a.bytes, SRC4, 4);
	assert_string_equal(decode_addr_str(&a, buf, sizeof(buf)),
	    "192.0.2.1");
	a.family = 6;
	memcpy(a.bytes, DST6, 16);
	assert_string_equal(decode_addr_str(&a, buf, sizeof(buf)),
	    "2001:db8::25");
	assert_string_equal(decode_addr_str(&a, buf, 5), "?");
	a.family = 0;
	assert_string_equal(decode_addr_str(&a, buf, sizeof(buf)), "?");
	assert_string_equal(decode_result_name(DECODE_OK), "ok");
	assert_string_equal(decode_result_name(DECODE_TRUNCATED), "truncated");
	assert_string_equal(decode_result_name(DECODE_TOO_DEEP), "too-deep");
	assert_string_equal(decode_result_name(DECODE_NRESULTS), "unknown");
}

/* xorshift32: deterministic, so a failure can be replayed. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Address text of family fam (4 or 6) given as bytes in text form. */
static const char *
addr_text(int fam, const char *in, char *buf, size_t len)
{
	struct decode_addr a;

	memset(&a, 0, sizeof(a));
	a.family = (uint8_t)fam;
	assert_int_equal(inet_pton(fam == 4 ? AF_INET : AF_INET6, in,
	    a.bytes), 1);
	return decode_addr_str(&a, buf, len);
}

/*
 * The database, the JSON lines and syslog show addresses as RFC 5952
 * says (section 4: lowercase, no leading zeros, the longest run of zero
 * words as "::", the first of two equal runs, never a lone zero word),
 * IPv4-mapped addresses with a dotted tail.
 */
static void
test_addr_text(void **state)
{
	static const struct {
		int		 fam;
		const char	*in, *want;
	} t[] = {
		{ 4, "0.0.0.0", "0.0.0.0" },
		{ 4, "255.255.255.255", "255.255.255.255" },
		{ 4, "10.0.100.9", "10.0.100.9" },
		{ 4, "192.0.2.250", "192.0.2.250" },
		{ 6, "::", "::" },
		{ 6, "::1", "::1" },
		{ 6, "1::", "1::" },
		{ 6, "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
		{ 6, "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
		{ 6, "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },
		{ 6, "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
		{ 6, "fe80::0abc:00de:f000:000f", "fe80::abc:de:f000:f" },
		{ 6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
		{ 6, "::ffff:192.0.2.1", "::ffff:192.0.2.1" },
		{ 6, "::192.0.2.1", "::192.0.2.1" },
		{ 6, "::1:c000:201", "::1:c000:201" },
		{ 6, "64:ff9b::192.0.2.1", "64:ff9b::c000:201" },
		{ 6, "0:0:0:0:0:1:0:0", "::1:0:0" },
	};
	char		 buf[64];
	size_t		 i, n;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_string_equal(addr_text(t[i].fam, t[i].in, buf,
		    sizeof(buf)), t[i].want);
		/* Room for the text and its NUL, not one byte less. */
		n = strlen(t[i].want);
		assert_string_equal(addr_text(t[i].fam, t[i].in, buf, n + 1),
		    t[i].want);
		assert_string_equal(addr_text(t[i].fam, t[i].in, buf, n), "?");
	}
	assert_string_equal(decode_addr_str(&(struct decode_addr){ .family =
	    5 }, buf, sizeof(buf)), "?");
	assert_string_equal(decode_addr_str(&(struct decode_addr){ .family =
	    4 }, NULL, 0), "?");
}

/*
 * Every pattern of zero words (where the shortening happens), with random
 * other words and random IPv4 addresses, reads as inet_ntop() writes it,
 * and back (inet_pton) as the same bytes.
 */
static void
test_addr_text_random(void **state)
{
	struct decode_addr a, back;
	char		 buf[64], want[64];
	uint32_t	 seed = 0x5eed;
	unsigned	 mask, k, w;

	(void)state;
	for (mask = 0; mask < 256; mask++)
		for (k = 0; k < 16; k++) {
			memset(&a, 0, sizeof(a));
			a.family = 6;
			for (w = 0; w < 8; w++) {
				uint32_t v = mask & (1u << w) ? 0 :
				    rnd(&seed) >> (k % 4 * 4);

				a.bytes[2 * w] = (uint8_t)(v >> 8);
				a.bytes[2 * w + 1] = (uint8_t)v;
			}
			if (k == 15 && (mask & 0x3f) == 0x3f)
				a.bytes[10] = a.bytes[11] = 0xff;
			assert_non_null(inet_ntop(AF_INET6, a.bytes, want,
			    sizeof(want)));
			assert_string_equal(decode_addr_str(&a, buf,
			    sizeof(buf)), want);
			assert_int_equal(decode_addr_parse(&back, buf), 0);
			assert_memory_equal(&back, &a, sizeof(a));
		}
	for (k = 0; k < 4096; k++) {
		uint32_t v = rnd(&seed);

		memset(&a, 0, sizeof(a));
		a.family = 4;
		/* Octets of one, two and three digits alike. */
		for (w = 0; w < 4; w++)
			a.bytes[w] = (uint8_t)(v >> (8 * w)) >> (k % 3 * 3);
		assert_non_null(inet_ntop(AF_INET, a.bytes, want,
		    sizeof(want)));
		assert_string_equal(decode_addr_str(&a, buf, sizeof(buf)),
		    want);
	}
}

/*
 * Mutate valid frames at random and offer them, in exact-size buffers,
 * under every link type. Nothing may crash, and an OK result must point
 * inside the buffer.
 */
static void
test_mutations(void **state)
{
	static const int links[] = { DECODE_LINK_NULL, DECODE_LINK_EN10MB,
	    DECODE_LINK_RAW, DECODE_LINK_LOOP, DECODE_LINK_LINUX_SLL,
	    DECODE_LINK_IPV4, DECODE_LINK_IPV6, DECODE_LINK_LINUX_SLL2 };
	struct fb	 base[4], in = { .n = 0 };
	struct decode_stats st;
	struct decode_pkt p;
	uint32_t	 s = 0x9e3779b9, caplen, j, n;
	uint8_t		*copy;
	int		 i, k;
	enum decode_result r;

	(void)state;
	memset(base, 0, sizeof(base));
	memset(&st, 0, sizeof(st));
	put_eth(&in, 0x0800);
	put_seg4(&in);
	put_vxlan(&base[0], &in, 0x08);
	put_erspan3(&base[1], &in, 1, 0);
	put_eth(&base[2], 0x8847);
	put32(&base[2], mpls_lse(5, 1));
	put_seg6(&base[2]);
	put_eth(&base[3], 0x86dd);
	put_ip6_frag(&base[3], 0);
	for (i = 0; i < 20000; i++) {
		const struct fb *b = &base[rnd(&s) % 4];

		caplen = rnd(&s) % (uint32_t)(b->n + 1);
		copy = malloc(caplen ? caplen : 1);
		assert_non_null(copy);
		memcpy(copy, b->b, caplen);
		n = rnd(&s) % 6;
		for (j = 0; j < n && caplen > 0; j++)
			copy[rnd(&s) % caplen] = (uint8_t)rnd(&s);
		for (k = 0; k < (int)(sizeof(links) / sizeof(links[0])); k++) {
			r = decode_frame(links[k], copy, caplen, 0, &p, &st);
			assert_true(r < DECODE_NRESULTS);
			if (r != DECODE_OK)
				continue;
			assert_true(p.payload >= copy);
			assert_true(p.payload + p.payload_len <=
			    copy + caplen);
			assert_true(p.ip >= copy && p.ip < p.payload + 1);
		}
		free(copy);
	}
	assert_int_equal(st.frames, 20000u * 8);
	/* The mutations reached every outcome but unsupported link types. */
	assert_true(st.result[DECODE_OK] > 0);
	assert_true(st.result[DECODE_TRUNCATED] > 0);
	assert_true(st.result[DECODE_MALFORMED] > 0);
	assert_true(st.result[DECODE_NOT_TCP] > 0);
}

/* --- checksums and TCP options ----------------------------------------- */

/* The checksum field as transmit offload leaves it: the folded sum of the
 * pseudo-header alone, not complemented. */
static void
make_partial(uint8_t *ip, size_t tcp_len)
{
	int	 v6 = ip[0] >> 4 == 6;
	uint8_t	*tcp = ip + (v6 ? 40 : 20);
	uint32_t sum;

	sum = v6 ? tu_sum(0, ip + 8, 32) : tu_sum(0, ip + 12, 8);
	sum += 6 + (uint32_t)tcp_len;
	tu_be16(tcp + 16, (uint16_t)~tu_fold(sum));
}

/* TCP over IPv4 and IPv6, payload lengths around the word sizes summed. */
static void
test_checksum_tcp(void **state)
{
	static const size_t lens[] = { 0, 1, 3, 7, 8, 20, 1459, 1460 };
	uint8_t		 buf[2048], pl[1460];
	struct decode_pkt p;
	size_t		 i, n, len, hl;
	int		 v6;

	(void)state;
	for (i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 131 + 7);
	for (v6 = 0; v6 < 2; v6++)
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		len = lens[i];
		hl = v6 ? 40 : 20;
		n = v6 ? tu_ipv6_tcp(buf, "2001:db8::1", 40000, "2001:db8::25",
		    25, 1, 2, DECODE_TH_ACK, pl, len) :
		    tu_ipv4_tcp(buf, "192.0.2.1", 40000, "198.51.100.25", 25,
		    1, 2, DECODE_TH_ACK, pl, len);
		assert_int_equal(decode_frame(DECODE_LINK_RAW, buf,
		    (uint32_t)n, 0, &p, NULL), DECODE_OK);
		assert_int_equal(p.csum, 0);
		assert_int_equal(decode_checksum(&p), DECODE_CSUM_OK);
		buf[n - 1] ^= 0x01;	/* last payload or header byte */
		assert_int_equal(decode_checksum(&p), DECODE_CSUM_BAD);
		buf[n - 1] ^= 0x01;
		buf[hl + 14] ^= 0x80;	/* the window */
		assert_int_equal(decode_checksum(&p), DECODE_CSUM_BAD);
		buf[hl + 14] ^= 0x80;
		make_partial(buf, 20 + len);
		assert_int_equal(decode_checksum(&p), DECODE_CSUM_PARTIAL);
		if (len == 0)
			continue;
		/* Snapped short: cannot be verified. */
		assert_int_equal(decode_frame(DECODE_LINK_RAW, buf,
		    (uint32_t)n - 1, 0, &p, NULL), DECODE_OK);
		assert_int_equal(p.payload_missing, 1);
		assert_int_equal(decode_checksum(&p), DECODE_CSUM_UNCHECKED);
	}
}

/*
 * The word-wide sum against testutil's plain 16-bit one: every TCP length
 * from 20 to 339 bytes and some large ones, at every start offset 0..7,
 * over random and all-0xff bytes (the most carries). Each segment
 * verifies, and fails with any one bit flipped.
 */
static void
test_checksum_reference(void **state)
{
	static const size_t big[] = { 1459, 1460, 4096 + 7, 65495 };
	static uint8_t	 buf[8 + 40 + 20 + 65495], pl[65495];
	struct decode_pkt p;
	size_t		 i, k, n, len, off, at;
	int		 fill, v6;

	(void)state;
	srand(4242);
	for (fill = 0; fill < 2; fill++)
	for (k = 0; k < 320 + sizeof(big) / sizeof(big[0]); k++)
	for (off = 0; off < 8; off++) {
		len = k < 320 ? k : big[k - 320];
		v6 = (int)(k + off) % 2;
		for (i = 0; i < len; i++)
			pl[i] = fill ? 0xff : (uint8_t)rand();
		n = v6 ? tu_ipv6_tcp(buf + off, "2001:db8::1", 40000,
		    "2001:db8::25", 25, 1, 2, DECODE_TH_ACK, pl, len) :
		    tu_ipv4_tcp(buf + off, "192.0.2.1", 40000,
		    "198.51.100.25", 25, 1, 2, DECODE_TH_ACK, pl, len);
		assert_int_equal(decode_frame(DECODE_LINK_RAW, buf + off,
		    (uint32_t)n, 0, &p, NULL), DECODE_OK);
		assert_int_equal(decode_checksum(&p), DECODE_CSUM_OK);
		at = (v6 ? 40 : 20) + (size_t)rand() % (20 + len);
		buf[off + at] ^= (uint8_t)(1u << (rand() % 8));
		assert_int_equal(decode_checksum(&p), DECODE_CSUM_BAD);
	}
	/*
	 * Random segments ending in 7 bytes past the last 8-byte word: one
	 * in a few hundred brings the running sum so near 2^64 that adding
	 * the tail carries out, and that carry must not be lost.
	 */
	for (k = 0; k < 6000; k++) {
		len = 8 * (k % 40) + 3;		/* 20 + len = 8j + 7 */
		for (i = 0; i < len; i++)
			pl[i] = (uint8_t)rand();
		n = tu_ipv4_tcp(buf, "192.0.2.1", 40000, "198.51.100.25", 25,
		    (uint32_t)rand(), (uint32_t)rand(), DECODE_TH_ACK, pl, len);
		assert_int_equal(decode_frame(DECODE_LINK_RAW, buf,
		    (uint32_t)n, 0, &p, NULL), DECODE_OK);
		assert_int_equal(decode_checksum(&p), DECODE_CSUM_OK);
	}
}

/*
 * The sum's paths against RFC 1071 done byte by byte: the folded sum of
 * big-endian words, an odd last byte padded.
 */
static uint16_t
ref_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t
ref_sum(const uint8_t *p, size_t n)
{
	uint64_t	 sum = 0;
	size_t		 i;

	for (i = 0; i < n; i++)
		sum += i % 2 ? p[i] : (uint64_t)p[i] << 8;
	return ref_fold(sum);
}

/*
 * What a path must give for bytes whose reference sum is ref after a
 * 64-bit start, whose 16-bit pieces add like words: the paths sum in host
 * order, so the reference's value in host order (htons), plus the start.
 */
static int
ref_with(uint64_t start, uint16_t ref)
{
	return ref_fold((uint64_t)htons(ref) + ref_fold(start));
}

/* Each path the build and CPU have: the scalar one always. */
static int
have_path(enum decode_sum_path path)
{
	static const uint8_t	 zero[64];

	return decode_sum(path, 0, zero, sizeof(zero)) != -1;
}

/*
 * Every length 0..2100 at every start offset 0..63 over random bytes:
 * every tail, every alignment, spans on both sides of where the paths
 * change. The reference grows byte by byte with the length.
 */
static void
test_sum_paths_random(void **state)
{
	static const enum decode_sum_path paths[] = {
		DECODE_SUM_SCALAR, DECODE_SUM_AVX2
	};
	static uint8_t	 buf[64 + 2100];
	uint64_t	 ref;
	size_t		 i, k, off, len;
	int		 want;

	(void)state;
	assert_true(have_path(DECODE_SUM_SCALAR));
	srand(1071);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
		if (!have_path(paths[k]))
			continue;
		for (off = 0; off < 64; off++) {
			ref = 0;
			for (len = 0; len <= 2100; len++) {
				want = ref_with(0, ref_fold(ref));
				if (paths[k] == DECODE_SUM_AVX2 && len < 32)
					want = -1;
				assert_int_equal(decode_sum(paths[k], 0,
				    buf + off, len), want);
				if (len < 2100)
					ref += len % 2 ? buf[off + len] :
					    (uint64_t)buf[off + len] << 8;
			}
		}
	}
}

/*
 * The extremes: every word 0xffff (the most carries), 0x0000 (a sum of 0,
 * not 0xffff), 0x8000 and 0x7fff in either byte order (the vector path's
 * flipped words at their most negative and positive), up to the longest
 * span an IP packet holds. The 64-bit starts climb to 2^64 in steps fine
 * enough that some addition of every path carries out of 64 bits.
 */
static void
test_sum_paths_extremes(void **state)
{
	static const uint8_t fills[][2] = {
		{ 0xff, 0xff }, { 0x00, 0x00 }, { 0x80, 0x00 }, { 0x00, 0x80 },
		{ 0x7f, 0xff }, { 0xff, 0x7f }
	};
	static const size_t lens[] = {
		32, 33, 255, 256, 257, 1479, 1480, 4097, 65533, 65534, 65535
	};
	static uint8_t	 buf[65535];
	enum decode_sum_path path;
	uint64_t	 start;
	uint16_t	 ref;
	size_t		 f, i, l, k;
	unsigned	 sh;

	(void)state;
	for (f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = fills[f][i % 2];
		for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			ref = ref_sum(buf, lens[l]);
			for (k = 0; k <= 3 * 256; k++) {
				/* 0, then UINT64_MAX - j << 40, 48, 56 */
				sh = 40 + 8 * (k / 256 % 3);
				start = k == 0 ? 0 :
				    UINT64_MAX - ((uint64_t)(k % 256) << sh);
				for (path = DECODE_SUM_SCALAR;
				    path <= DECODE_SUM_AVX2; path++) {
					if (!have_path(path))
						continue;
					assert_int_equal(decode_sum(path, start,
					    buf, lens[l]),
					    ref_with(start, ref));
				}
			}
		}
	}
	/* Beyond an IP packet the vector path declines (its lanes' bound). */
	assert_int_equal(decode_sum(DECODE_SUM_AVX2, 0, buf, 65536), -1);
}

/*
 * Where the CPU has AVX2, long spans take it (so that a build or a change
 * that loses it fails here, not only in a benchmark), short ones and
 * those beyond an IP packet do not.
 */
static void
test_sum_path_chosen(void **state)
{
	int	 avx2 = 0;

	(void)state;
#if defined(__x86_64__) && defined(__GNUC__)
	avx2 = __builtin_cpu_supports("avx2") != 0;
#endif
	assert_int_equal(have_path(DECODE_SUM_AVX2), avx2);
	assert_int_equal(decode_sum_path(1480),
	    avx2 ? DECODE_SUM_AVX2 : DECODE_SUM_SCALAR);
	assert_int_equal(decode_sum_path(65535),
	    avx2 ? DECODE_SUM_AVX2 : DECODE_SUM_SCALAR);
	assert_int_equal(decode_sum_path(0), DECODE_SUM_SCALAR);
	assert_int_equal(decode_sum_path(20), DECODE_SUM_SCALAR);
	assert_int_equal(decode_sum_path(65536), DECODE_SUM_SCALAR);
}

/* The innermost IPv4 header's checksum is reported, a tunnel's drops. */
static void
test_checksum_ipv4_header(void **state)
{
	struct fb	 f = { .n = 0 }, in = { .n = 0 };
	struct decode_stats st;
	struct decode_pkt p;

	(void)state;
	in.n = tu_ipv4_tcp(in.b, "192.0.2.1", 40000, "198.51.100.25", 25, 1,
	    2, DECODE_TH_ACK, PAYLOAD, PAYLOAD_LEN);
	in.b[8] = 1;			/* TTL changed, checksum not */
	assert_int_equal(decode_fb(DECODE_LINK_IPV4, &in, &p), DECODE_OK);
	assert_int_equal(p.csum & DECODE_CSUM_IP_BAD, DECODE_CSUM_IP_BAD);
	assert_int_equal(decode_checksum(&p), DECODE_CSUM_BAD);
	/* A datagram rebuilt from fragments carries no checksum. */
	in.b[10] = in.b[11] = 0;
	assert_int_equal(decode_ip(in.b, (uint32_t)in.n, 0, &p, NULL),
	    DECODE_OK);
	assert_int_equal(p.csum, 0);
	assert_int_equal(decode_checksum(&p), DECODE_CSUM_OK);
	/* IPv4 in GRE: the inner header is the innermost. */
	tu_ip4_csum(in.b);
	in.b[8] = 2;
	put_outer4(&f, 47, 4 + in.n);
	put16(&f, 0);
	put16(&f, 0x0800);
	put(&f, in.b, in.n);
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p), DECODE_OK);
	assert_int_equal(p.csum & DECODE_CSUM_IP_BAD, DECODE_CSUM_IP_BAD);
	/* The tunnel's header failing drops the frame, counted. */
	tu_ip4_csum(f.b + 14 + 24);
	f.b[14 + 8] = 1;
	memset(&st, 0, sizeof(st));
	assert_int_equal(decode_frame(DECODE_LINK_EN10MB, f.b, (uint32_t)f.n,
	    0, &p, &st), DECODE_BAD_CHECKSUM);
	assert_int_equal(st.result[DECODE_BAD_CHECKSUM], 1);
	assert_string_equal(decode_result_name(DECODE_BAD_CHECKSUM),
	    "bad-checksum");
}

/* A VXLAN tunnel's UDP checksum, when it has one, covers the mirror. */
static void
test_checksum_vxlan(void **state)
{
	struct fb	 f = { .n = 0 }, in = { .n = 0 };
	struct decode_pkt p;
	uint32_t	 sum;
	size_t		 ulen;

	(void)state;
	put_eth(&in, 0x0800);
	in.n += tu_ipv4_tcp(in.b + in.n, "192.0.2.1", 40000, "198.51.100.25",
	    25, 1, 2, DECODE_TH_ACK, PAYLOAD, PAYLOAD_LEN);
	put_vxlan(&f, &in, 0x08);
	/* Without a UDP checksum only the inner TCP one is verified. */
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p), DECODE_OK);
	assert_int_equal(p.csum & DECODE_CSUM_UDP, 0);
	assert_int_equal(decode_checksum(&p), DECODE_CSUM_OK);
	ulen = 8 + 8 + in.n;
	sum = tu_sum(0, f.b + 14 + 12, 8) + 17 + (uint32_t)ulen;
	tu_be16(f.b + 34 + 6, tu_fold(tu_sum(sum, f.b + 34, ulen)));
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p), DECODE_OK);
	assert_int_equal(p.csum & DECODE_CSUM_UDP, DECODE_CSUM_UDP);
	assert_int_equal(decode_checksum(&p), DECODE_CSUM_OK);
	/* The UDP checksum alone wrong. */
	f.b[34 + 7] ^= 0x10;
	assert_int_equal(decode_fb(DECODE_LINK_EN10MB, &f, &p), DECODE_OK);
	assert_int_equal(decode_checksum(&p), DECODE_CSUM_BAD);
}

static void
put_tcp_opts(struct fb *f, const uint8_t *opt, size_t n)
{
	size_t	 start;

	assert_true(n % 4 == 0);
	put_ip4(f, SRC4, DST4, 6, 20 + n);
	start = f->n;
	put_tcp(f, 5);
	f->n = start;			/* rewrite with options */
	put16(f, SPORT);
	put16(f, DPORT);
	put32(f, SEQ);
	put32(f, ACK);
	put8(f, (uint8_t)((5 + n / 4) << 4));
	put8(f, DECODE_TH_SYN);
	put16(f, 29200);
	put32(f, 0);
	put(f, opt, n);
	tu_be16(f->b + start - 18, (uint16_t)(40 + n));
	tu_ip4_csum(f->b + start - 20);
}

static void
test_tcp_options(void **state)
{
	static const uint8_t all[] = {
		2, 4, 0x05, 0xb4,		/* MSS 1460 */
		1, 3, 3, 7,			/* NOP, window scale 7 */
		4, 2,				/* SACK permitted */
		8, 10, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 9, /* timestamps */
	};
	static const uint8_t odd[] = {
		3, 3, 15, 1,			/* scale 15: taken as 14 */
		2, 0, 5, 0xb4,			/* length 0: parsing stops */
	};
	static const uint8_t over[] = {
		1, 1, 8, 10,			/* runs past the header */
	};
	struct fb	 f = { .n = 0 };
	struct decode_pkt p;

	(void)state;
	put_tcp_opts(&f, all, sizeof(all));
	assert_int_equal(decode_fb(DECODE_LINK_IPV4, &f, &p), DECODE_OK);
	assert_int_equal(p.opts, DECODE_OPT_MSS | DECODE_OPT_WSCALE |
	    DECODE_OPT_SACKOK | DECODE_OPT_TS);
	assert_int_equal(p.mss, 1460);
	assert_int_equal(p.wscale, 7);
	assert_int_equal(p.tsval, 0xfffffff0u);
	assert_int_equal(p.tsecr, 9);
	assert_int_equal(p.payload_len, 0);
	memset(&f, 0, sizeof(f));
	put_tcp_opts(&f, odd, sizeof(odd));
	assert_int_equal(decode_fb(DECODE_LINK_IPV4, &f, &p), DECODE_OK);
	assert_int_equal(p.opts, DECODE_OPT_WSCALE);
	assert_int_equal(p.wscale, 14);
	memset(&f, 0, sizeof(f));
	put_tcp_opts(&f, over, sizeof(over));
	assert_int_equal(decode_fb(DECODE_LINK_IPV4, &f, &p), DECODE_OK);
	assert_int_equal(p.opts, 0);
}

/* Two results of one frame, field by field (padding aside). */
static void
same_pkt(const struct decode_pkt *a, const struct decode_pkt *b)
{
	assert_int_equal(a->ts_us, b->ts_us);
	assert_memory_equal(&a->src, &b->src, sizeof(a->src));
	assert_memory_equal(&a->dst, &b->dst, sizeof(a->dst));
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ack, b->ack);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->window, b->window);
	assert_int_equal(a->layers, b->layers);
	assert_int_equal(a->vlan, b->vlan);
	assert_ptr_equal(a->payload, b->payload);
	assert_int_equal(a->payload_len, b->payload_len);
	assert_int_equal(a->payload_missing, b->payload_missing);
	assert_ptr_equal(a->ip, b->ip);
	assert_int_equal(a->ip_len, b->ip_len);
	assert_ptr_equal(a->tcp, b->tcp);
	assert_int_equal(a->tcp_len, b->tcp_len);
	assert_ptr_equal(a->udp, b->udp);
	assert_int_equal(a->udp_len, b->udp_len);
	assert_int_equal(a->udp_pseudo, b->udp_pseudo);
	assert_int_equal(a->csum, b->csum);
	assert_int_equal(a->opts, b->opts);
	assert_int_equal(a->wscale, b->wscale);
	assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->tsval, b->tsval);
	assert_int_equal(a->tsecr, b->tsecr);
}

/*
 * decode_frame() (fast path for plain Ethernet/IP/TCP) and the general
 * walk alone: the same result, fields and counters. Returns 1 when the
 * frame was a TCP segment over Ethernet.
 */
static int
both_paths(int link, const uint8_t *frame, uint32_t caplen)
{
	struct decode_stats sa, sb;
	struct decode_pkt a, b;
	enum decode_result ra, rb;

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	/* Junk in both: a field either path leaves unset shows. */
	memset(&a, 0xa5, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	ra = decode_frame(link, frame, caplen, 77, &a, &sa);
	rb = decode_frame_walk(link, frame, caplen, 77, &b, &sb);
	assert_int_equal(ra, rb);
	assert_memory_equal(&sa, &sb, sizeof(sa));
	if (ra == DECODE_OK)
		same_pkt(&a, &b);
	return link == DECODE_LINK_EN10MB && ra == DECODE_OK;
}

static long both_frames, both_tcp;

static int
both_paths_file(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	char		 ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char	*data;
	pcap_t		*p;

	(void)st;
	(void)ftw;
	if (type != FTW_F || strstr(path, ".pcap") == NULL ||
	    (p = pcap_open_offline(path, ebuf)) == NULL)
		return 0;
	while (pcap_next_ex(p, &h, &data) == 1) {
		both_frames++;
		both_tcp += both_paths(pcap_datalink(p), data, h->caplen);
	}
	pcap_close(p);
	return 0;
}

/* Every frame of every capture at hand. */
static void
test_fast_path_captures(void **state)
{
	(void)state;
	both_frames = both_tcp = 0;
	nftw(TOP "/pcaps", both_paths_file, 8, FTW_PHYS);
	nftw(TOP "/tests/regress", both_paths_file, 8, FTW_PHYS);
	nftw(TOP "/../shared/pcaps-public", both_paths_file, 8, FTW_PHYS);
	assert_true(both_tcp > 1000);
}

/*
 * Plain IPv4 and IPv6 segments with options, cut at every length, and
 * with each header byte set to values that change the shape (IP options,
 * fragments, lengths, versions, data offsets, other protocols): the fast
 * path must agree with the walk, or leave the frame to it.
 */
static void
test_fast_path_mutations(void **state)
{
	static const uint8_t opts[] = { 2, 4, 5, 0xb4, 1, 3, 3, 7 };
	static const uint8_t vals[] = { 0x00, 0x01, 0x05, 0x06, 0x11, 0x20,
	    0x2b, 0x40, 0x44, 0x45, 0x46, 0x50, 0x60, 0x7f, 0x80, 0xa0, 0xf0,
	    0xff };
	struct fb	 f;
	uint8_t		 m[4096];
	size_t		 i, v, n, hdr;
	int		 v6;

	(void)state;
	for (v6 = 0; v6 <= 1; v6++) {
		memset(&f, 0, sizeof(f));
		put_eth(&f, v6 ? 0x86dd : 0x0800);
		if (v6)
			f.n += tu_ipv6_tcp(f.b + f.n, "2001:db8::1", SPORT,
			    "2001:db8::25", DPORT, SEQ, ACK, FLAGS, PAYLOAD,
			    PAYLOAD_LEN);
		else
			put_tcp_opts(&f, opts, sizeof(opts));
		hdr = v6 ? 14 + 40 + 20 : 14 + 20 + 20 + sizeof(opts);
		for (n = 0; n <= f.n + 8; n++)
			both_paths(DECODE_LINK_EN10MB, f.b, (uint32_t)n);
		for (i = 12; i < hdr; i++)
			for (v = 0; v < sizeof(vals); v++) {
				memcpy(m, f.b, f.n);
				m[i] = vals[v];
				both_paths(DECODE_LINK_EN10MB, m,
				    (uint32_t)f.n);
				both_paths(DECODE_LINK_EN10MB, m,
				    (uint32_t)(hdr - 1));
			}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet),
		cmocka_unit_test(test_ethernet_padding),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_qinq),
		cmocka_unit_test(test_sll),
		cmocka_unit_test(test_sll2),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_mpls),
		cmocka_unit_test(test_gre_ipv4),
		cmocka_unit_test(test_gre_teb),
		cmocka_unit_test(test_erspan2),
		cmocka_unit_test(test_erspan3),
		cmocka_unit_test(test_vxlan),
		cmocka_unit_test(test_checksum_tcp),
		cmocka_unit_test(test_checksum_reference),
		cmocka_unit_test(test_sum_paths_random),
		cmocka_unit_test(test_sum_paths_extremes),
		cmocka_unit_test(test_sum_path_chosen),
		cmocka_unit_test(test_checksum_ipv4_header),
		cmocka_unit_test(test_checksum_vxlan),
		cmocka_unit_test(test_tcp_options),
		cmocka_unit_test(test_ipv6_ext),
		cmocka_unit_test(test_ipv6_ext_too_many),
		cmocka_unit_test(test_ipv6_fragment),
		cmocka_unit_test(test_ipv4_fragment),
		cmocka_unit_test(test_ip_and_tcp_options),
		cmocka_unit_test(test_payload_missing),
		cmocka_unit_test(test_ipv4_malformed),
		cmocka_unit_test(test_tcp_malformed),
		cmocka_unit_test(test_too_many_tags),
		cmocka_unit_test(test_too_many_tunnels),
		cmocka_unit_test(test_not_tcp),
		cmocka_unit_test(test_unsupported_link),
		cmocka_unit_test(test_decode_ip),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_addr_text),
		cmocka_unit_test(test_addr_text_random),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_fast_path_captures),
		cmocka_unit_test(test_fast_path_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
