/*
 * testutil.h: frame and segment builders shared by the cmocka tests.
 * Header-only so each test binary stays one file.
 */
#ifndef STRIPWATCH_TESTUTIL_H
#define STRIPWATCH_TESTUTIL_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "decode.h"

/* A decoded IPv4 segment, as decode_frame() would produce it. */
static inline struct decode_pkt
tu_pkt4(const char *src, uint16_t sport, const char *dst, uint16_t dport,
    uint32_t seq, uint32_t ack, uint8_t flags, const void *payload,
    uint32_t len, uint64_t ts_us)
{
	struct decode_pkt p;

	memset(&p, 0, sizeof(p));
	p.ts_us = ts_us;
	p.src.family = 4;
	p.dst.family = 4;
	inet_pton(AF_INET, src, p.src.bytes);
	inet_pton(AF_INET, dst, p.dst.bytes);
	p.sport = sport;
	p.dport = dport;
	p.seq = seq;
	p.ack = ack;
	p.flags = flags;
	p.payload = payload;
	p.payload_len = len;
	return p;
}

static inline void
tu_be16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

static inline void
tu_be32(uint8_t *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v & 0xff;
}

/* A 20-byte TCP header (no options) and payload at tcp; returns 20 + len. */
static inline size_t
tu_tcp(uint8_t *tcp, uint16_t sport, uint16_t dport, uint32_t seq,
    uint32_t ack, uint8_t flags, const void *payload, size_t len)
{
	memset(tcp, 0, 20);
	tu_be16(tcp, sport);
	tu_be16(tcp + 2, dport);
	tu_be32(tcp + 4, seq);
	tu_be32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	tu_be16(tcp + 14, 65535);
	if (len)
		memcpy(tcp + 20, payload, len);
	return 20 + len;
}

/*
 * Write an IPv4 + TCP header (20 + 20 bytes, no options) and payload at
 * buf; returns the bytes written. Checksums are left zero: stripwatch does
 * not verify them (offloading makes them wrong in most captures).
 */
static inline size_t
tu_ipv4_tcp(uint8_t *buf, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
    const void *payload, size_t len)
{
	uint8_t	*ip = buf;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	tu_be16(ip + 2, (uint16_t)(40 + len));
	ip[8] = 64;
	ip[9] = 6;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	return 20 + tu_tcp(buf + 20, sport, dport, seq, ack, flags, payload,
	    len);
}

/* The same over IPv6 (40-byte header, no extension); returns the bytes. */
static inline size_t
tu_ipv6_tcp(uint8_t *buf, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
    const void *payload, size_t len)
{
	uint8_t	*ip = buf;

	memset(ip, 0, 40);
	ip[0] = 0x60;
	tu_be16(ip + 4, (uint16_t)(20 + len));
	ip[6] = 6;
	ip[7] = 64;
	inet_pton(AF_INET6, src, ip + 8);
	inet_pton(AF_INET6, dst, ip + 24);
	return 40 + tu_tcp(buf + 40, sport, dport, seq, ack, flags, payload,
	    len);
}

/* Ethernet II header with the given ethertype; returns 14. */
static inline size_t
tu_eth(uint8_t *buf, uint16_t ethertype)
{
	static const uint8_t macs[12] = { 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6 };

	memcpy(buf, macs, 12);
	tu_be16(buf + 12, ethertype);
	return 14;
}

#endif
