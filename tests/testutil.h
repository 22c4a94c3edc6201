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

/* One's complement sum of n bytes (RFC 1071), unfolded. */
static inline uint32_t
tu_sum(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t	 i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

/* The checksum field for a sum: folded and complemented. */
static inline uint16_t
tu_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Set the header checksum of the IPv4 header at ip. */
static inline void
tu_ip4_csum(uint8_t *ip)
{
	size_t	 hlen = (size_t)(ip[0] & 0x0f) * 4;

	ip[10] = ip[11] = 0;
	tu_be16(ip + 10, tu_fold(tu_sum(0, ip, hlen)));
}

/*
 * Set the TCP checksum of the IPv4 or IPv6 packet at ip (no IPv6
 * extension headers); tcp_len is the TCP header and payload length.
 */
static inline void
tu_tcp_csum(uint8_t *ip, size_t tcp_len)
{
	int	 v6 = ip[0] >> 4 == 6;
	uint8_t	*tcp = ip + (v6 ? 40 : (size_t)(ip[0] & 0x0f) * 4);
	uint32_t sum;

	sum = v6 ? tu_sum(0, ip + 8, 32) : tu_sum(0, ip + 12, 8);
	sum += 6 + (uint32_t)tcp_len;
	tcp[16] = tcp[17] = 0;
	tu_be16(tcp + 16, tu_fold(tu_sum(sum, tcp, tcp_len)));
}

/*
 * Write an IPv4 + TCP header (20 + 20 bytes, no options) and payload at
 * buf, with correct checksums; returns the bytes written.
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
	tu_tcp(buf + 20, sport, dport, seq, ack, flags, payload, len);
	tu_ip4_csum(ip);
	tu_tcp_csum(ip, 20 + len);
	return 40 + len;
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
	tu_tcp(buf + 40, sport, dport, seq, ack, flags, payload, len);
	tu_tcp_csum(ip, 20 + len);
	return 60 + len;
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
