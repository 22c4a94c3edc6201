/*
 * decode.h: turns one captured frame into a TCP segment description.
 *
 * Decoding walks link layer, tunnels and IP with a bounds-checked cursor.
 * It allocates nothing and keeps no state: everything it returns points into
 * the caller's frame, which must stay valid while the result is used.
 */
#ifndef STRIPWATCH_DECODE_H
#define STRIPWATCH_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Link types, numbered as libpcap's DLT_* values (pcap_datalink()). */
#define DECODE_LINK_NULL	0	/* BSD loopback, host-order AF */
#define DECODE_LINK_EN10MB	1	/* Ethernet */
#define DECODE_LINK_RAW		12	/* raw IPv4/IPv6 (DLT_RAW on Linux) */
#define DECODE_LINK_RAW_ALT	14	/* raw IP (DLT_RAW on some BSDs) */
#define DECODE_LINK_LOOP	108	/* OpenBSD loopback, network-order AF */
#define DECODE_LINK_LINUX_SLL	113	/* Linux cooked v1 */
#define DECODE_LINK_IPV4	228	/* raw IPv4 */
#define DECODE_LINK_IPV6	229	/* raw IPv6 */
#define DECODE_LINK_LINUX_SLL2	276	/* Linux cooked v2 */

/*
 * Nesting bound for tags, labels and tunnels: deep enough for QinQ inside
 * VXLAN inside GRE, shallow enough that a crafted frame cannot make the
 * decoder loop.
 */
#define DECODE_MAX_LAYERS	16

/* TCP flags as on the wire. */
#define DECODE_TH_FIN	0x01
#define DECODE_TH_SYN	0x02
#define DECODE_TH_RST	0x04
#define DECODE_TH_PUSH	0x08
#define DECODE_TH_ACK	0x10
#define DECODE_TH_URG	0x20

/* struct decode_pkt.csum: what decoding found about checksums. */
#define DECODE_CSUM_IP_BAD	0x01	/* innermost IPv4 header failed */
#define DECODE_CSUM_NOTCP	0x02	/* TCP checksum cannot be verified:
					   bytes missing, or an IPv6 routing
					   header hides the final address */
#define DECODE_CSUM_UDP		0x04	/* a VXLAN UDP checksum to verify */

/* struct decode_pkt.opts: TCP options present. */
#define DECODE_OPT_MSS		0x01
#define DECODE_OPT_WSCALE	0x02
#define DECODE_OPT_SACKOK	0x04
#define DECODE_OPT_TS		0x08

/* Result of decode_checksum(). */
enum decode_csum {
	DECODE_CSUM_OK = 0,	/* every checksum verified */
	DECODE_CSUM_BAD,	/* one failed */
	DECODE_CSUM_PARTIAL,	/* the TCP checksum holds only the
				   pseudo-header sum: transmit offload on
				   the capturing host */
	DECODE_CSUM_UNCHECKED	/* could not be verified (truncated) */
};

struct decode_addr {
	uint8_t		 family;	/* 4 or 6 */
	uint8_t		 bytes[16];	/* IPv4 in bytes[0..3], rest zero */
};

/* Outcome of decode_frame(); each non-OK value has a counter. */
enum decode_result {
	DECODE_OK = 0,		/* a TCP segment, *out filled */
	DECODE_NOT_TCP,		/* valid, but not TCP (ARP, UDP, ICMP...) */
	DECODE_FRAGMENT,	/* IPv4/IPv6 fragment: only ts_us, src,
				   dst, vlan, layers, ip, ip_len set */
	DECODE_TRUNCATED,	/* caplen shorter than a header needs */
	DECODE_MALFORMED,	/* impossible length or version field */
	DECODE_UNSUPPORTED,	/* link type or encapsulation not handled */
	DECODE_TOO_DEEP,	/* more than DECODE_MAX_LAYERS layers */
	DECODE_BAD_CHECKSUM,	/* an outer (tunnel) IPv4 header failed
				   its checksum */
	DECODE_NRESULTS
};

/* One TCP segment. Pointers refer into the frame given to decode_frame(). */
struct decode_pkt {
	uint64_t	 ts_us;		/* capture time, microseconds */
	struct decode_addr src;		/* innermost IP source */
	struct decode_addr dst;		/* innermost IP destination */
	uint16_t	 sport;		/* TCP source port */
	uint16_t	 dport;		/* TCP destination port */
	uint32_t	 seq;		/* TCP sequence number */
	uint32_t	 ack;		/* TCP acknowledgement number */
	uint8_t		 flags;		/* DECODE_TH_* */
	uint16_t	 window;	/* raw window field */
	uint8_t		 layers;	/* layers walked, for diagnostics */
	uint16_t	 vlan;		/* innermost 802.1Q VLAN id, 0 if none */
	const uint8_t	*payload;	/* TCP payload, within the IP length */
	uint32_t	 payload_len;	/* bytes of payload present */
	uint32_t	 payload_missing; /* IP length says more than captured */
	const uint8_t	*ip;		/* innermost IP header (also on
					   DECODE_FRAGMENT) */
	uint32_t	 ip_len;	/* its bytes present in the frame */
	const uint8_t	*tcp;		/* TCP header */
	uint32_t	 tcp_len;	/* TCP header and payload, as the IP
					   length says */
	const uint8_t	*udp;		/* innermost VXLAN UDP header with a
					   checksum (DECODE_CSUM_UDP) */
	uint32_t	 udp_len;	/* its length field */
	uint32_t	 udp_pseudo;	/* its pseudo-header sum */
	uint8_t		 csum;		/* DECODE_CSUM_* flags */
	uint8_t		 opts;		/* DECODE_OPT_* present */
	uint8_t		 wscale;	/* window scale shift (OPT_WSCALE) */
	uint16_t	 mss;		/* maximum segment size (OPT_MSS) */
	uint32_t	 tsval;		/* timestamp value (OPT_TS) */
	uint32_t	 tsecr;		/* timestamp echo reply (OPT_TS) */
};

/* Counters, indexed by enum decode_result, plus per-layer counts. */
struct decode_stats {
	uint64_t	 frames;		/* frames offered */
	uint64_t	 result[DECODE_NRESULTS];
	uint64_t	 vlan;			/* 802.1Q/802.1ad tags seen */
	uint64_t	 mpls;			/* MPLS labels seen */
	uint64_t	 gre;			/* GRE headers seen */
	uint64_t	 erspan;		/* ERSPAN headers seen */
	uint64_t	 vxlan;			/* VXLAN headers seen */
	uint64_t	 ipv4;			/* IPv4 headers seen */
	uint64_t	 ipv6;			/* IPv6 headers seen */
	uint64_t	 tcp;			/* TCP headers decoded */
};

/*
 * Decode one frame of the given link type (a DECODE_LINK_* value).
 * caplen is the number of bytes in frame. On DECODE_OK, *out describes the
 * innermost TCP segment; ts_us is copied from the argument. stats, if not
 * NULL, is updated. Never reads outside frame[0..caplen).
 */
enum decode_result decode_frame(int linktype, const uint8_t *frame,
    uint32_t caplen, uint64_t ts_us, struct decode_pkt *out,
    struct decode_stats *stats);

/*
 * decode_frame() without its fast path for the common Ethernet/IP/TCP
 * frame: every frame through the general walk. The result is the same;
 * tests and fuzzers compare the two.
 */
enum decode_result decode_frame_walk(int linktype, const uint8_t *frame,
    uint32_t caplen, uint64_t ts_us, struct decode_pkt *out,
    struct decode_stats *stats);

/*
 * Decode starting at an IPv4 or IPv6 header (version from the first nibble),
 * for a datagram rebuilt from fragments. Same contract as decode_frame(),
 * except that the checksum of that first header is not verified: the
 * rebuilt header has none, its fragments' headers were verified.
 */
enum decode_result decode_ip(const uint8_t *ip, uint32_t len, uint64_t ts_us,
    struct decode_pkt *out, struct decode_stats *stats);

/*
 * Verify the TCP checksum of a DECODE_OK segment (IPv4 or IPv6
 * pseudo-header) and the UDP checksum of the VXLAN tunnel around it, if it
 * has one. Costs one pass over the segment; decode_frame() does not do it
 * so callers pay only when they ask. The IPv4 header checksums are always
 * verified by decode_frame() (DECODE_CSUM_IP_BAD, DECODE_BAD_CHECKSUM).
 */
enum decode_csum decode_checksum(const struct decode_pkt *p);

/*
 * The ways decode_checksum() can sum a span: 8-byte words on any CPU, or
 * 32-byte vectors for long spans on x86-64 CPUs with AVX2. Each gives the
 * same sum; they are named so that tests can check each one and which one
 * is taken.
 */
enum decode_sum_path {
	DECODE_SUM_SCALAR,
	DECODE_SUM_AVX2
};

/* The path decode_checksum() takes for a span of len bytes here. */
enum decode_sum_path decode_sum_path(size_t len);

/*
 * The one's complement sum (RFC 1071) of len bytes at p plus the unfolded
 * 64-bit start, folded to 16 bits in host byte order, not complemented,
 * by the given path whatever len; -1 if this build or CPU lacks the path
 * or len is outside what it takes (DECODE_SUM_AVX2: 32 to 65,535).
 */
int	decode_sum(enum decode_sum_path path, uint64_t start, const uint8_t *p,
    size_t len);

/* A big-endian field at p, whose bytes the caller checked are there. */
static inline uint16_t
decode_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
decode_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Whether decode_frame() knows the link type. */
int decode_link_supported(int linktype);

/* Short name of a result, for stats ("truncated", "malformed", ...). */
const char *decode_result_name(enum decode_result r);

/* Longest address text with its NUL (an IPv6 address with an IPv4 tail). */
#define DECODE_ADDR_TEXT_MAX	46

/*
 * Format an address as text ("192.0.2.1", "2001:db8::1"), as inet_ntop()
 * does; "?" when buf is shorter than the text or the family unknown.
 */
const char *decode_addr_str(const struct decode_addr *a, char *buf,
    size_t len);

/* Parse text from decode_addr_str() back; 0, or -1 if it is no address. */
int	decode_addr_parse(struct decode_addr *a, const char *text);

#endif
