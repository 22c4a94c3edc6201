/*
 * decode.c: walks one captured frame from its link layer through tags,
 * labels and tunnels down to the innermost TCP header.
 *
 * The walk is a loop over small layer handlers; each reads its header with a
 * bounds-checked cursor and names the layer that follows. Nothing is
 * allocated and nothing is remembered between frames.
 *
 * Checksums: every IPv4 header's is verified on the way (20 bytes, always
 * cheap); a tunnel's failing header drops the frame, the innermost one's is
 * reported in decode_pkt.csum for the TCP stage to judge, because capture
 * hosts that offload checksums show them wrong. The TCP and VXLAN UDP
 * checksums cost a pass over the payload: decode_checksum() does that on
 * request, from what the walk recorded.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "decode.h"

/* LINKTYPE_RAW as written in pcap files; callers may pass it unmapped. */
#define LINKTYPE_RAW		101

/*
 * Upper bound on handler calls per frame. Every tag, label or tunnel costs
 * at most four calls (header, dispatch, IP, IP dispatch), so this is never
 * reached by a frame within DECODE_MAX_LAYERS; it only backs that bound.
 */
#define WALK_MAX_STEPS		(4 * DECODE_MAX_LAYERS + 16)

/*
 * IPv6 extension headers followed per IP header. A real chain holds at most
 * hop-by-hop, destination, routing, fragment, AH, destination (RFC 8200
 * 4.1); a longer one is crafted.
 */
#define IPV6_MAX_EXT		8

#define TCPOPT_EOL		0
#define TCPOPT_NOP		1
#define TCPOPT_MSS		2
#define TCPOPT_WSCALE		3
#define TCPOPT_SACKOK		4
#define TCPOPT_TS		8
#define TCP_MAX_WSCALE		14	/* RFC 7323 2.3: larger is taken as 14 */

#define ETHERTYPE_IPV4		0x0800
#define ETHERTYPE_IPV6		0x86dd
#define ETHERTYPE_VLAN		0x8100	/* 802.1Q */
#define ETHERTYPE_QINQ		0x88a8	/* 802.1ad */
#define ETHERTYPE_QINQ_OLD	0x9100	/* pre-standard QinQ */
#define ETHERTYPE_MPLS		0x8847
#define ETHERTYPE_MPLS_MC	0x8848
#define ETHERTYPE_TEB		0x6558	/* GRE transparent Ethernet bridging */
#define ETHERTYPE_ERSPAN2	0x88be	/* also ERSPAN I without GRE seq */
#define ETHERTYPE_ERSPAN3	0x22eb

#define IPPROTO_NUM_HOPOPTS	0
#define IPPROTO_NUM_IPIP	4
#define IPPROTO_NUM_TCP		6
#define IPPROTO_NUM_UDP		17
#define IPPROTO_NUM_IPV6	41
#define IPPROTO_NUM_ROUTING	43
#define IPPROTO_NUM_FRAGMENT	44
#define IPPROTO_NUM_GRE		47
#define IPPROTO_NUM_ESP		50
#define IPPROTO_NUM_AH		51
#define IPPROTO_NUM_NONE	59
#define IPPROTO_NUM_DSTOPTS	60
#define IPPROTO_NUM_MOBILITY	135
#define IPPROTO_NUM_HIP		139
#define IPPROTO_NUM_SHIM6	140

#define VXLAN_PORT		4789	/* IANA, RFC 7348 */
#define VXLAN_FLAG_I		0x08	/* VNI valid */

#define GRE_C			0x8000	/* checksum present */
#define GRE_R			0x4000	/* routing present (RFC 1701) */
#define GRE_K			0x2000	/* key present */
#define GRE_S			0x1000	/* sequence number present */
#define GRE_VERSION		0x0007

#define ERSPAN3_LEN		12
#define ERSPAN3_SUBHDR_LEN	8	/* platform specific sub-header */
#define ERSPAN3_FT_ETHER	0
#define ERSPAN3_FT_IP		2

/* Address families seen in DLT_NULL / DLT_LOOP headers. */
#define NULL_AF_INET		2
#define NULL_AF_INET6_LINUX	10
#define NULL_AF_INET6_BSD	24	/* NetBSD, OpenBSD */
#define NULL_AF_INET6_FREEBSD	28
#define NULL_AF_INET6_DARWIN	30

/* A read window over the frame: bytes [off, end) may still be read. */
struct cursor {
	const uint8_t	*base;		/* start of the frame */
	uint32_t	 off;		/* next byte to read */
	uint32_t	 end;		/* first byte that must not be read */
};

enum layer {
	L_ETHER,	/* Ethernet II header */
	L_ETHERTYPE,	/* dispatch on w->ethertype */
	L_VLAN,		/* one 802.1Q/802.1ad tag */
	L_MPLS,		/* one MPLS label */
	L_MPLS_PAYLOAD,	/* guess what follows the bottom label */
	L_IP,		/* dispatch on the IP version nibble */
	L_IPV4,
	L_IPV6,
	L_GRE,
	L_ERSPAN2,
	L_ERSPAN3,
	L_UDP,
	L_VXLAN,
	L_SLL,
	L_SLL2,
	L_NULL,
	L_LOOP,
	L_TCP,
	L_DONE
};

/* State of one walk through a frame. */
struct walk {
	struct cursor	 c;		/* what is left to read */
	uint32_t	 caplen;	/* bytes captured */
	uint64_t	 limit;		/* end claimed by the IP headers so far;
					   UINT64_MAX before the first */
	enum layer	 next;		/* handler to run next */
	uint16_t	 ethertype;	/* input of L_ETHERTYPE */
	unsigned	 depth;		/* tags, labels and tunnels so far */
	int		 rebuilt;	/* the first IP header was rebuilt from
					   fragments: it has no checksum */
	int		 routed;	/* this IPv6 header has a routing
					   header with segments left */
	struct decode_pkt *out;
	struct decode_stats *st;	/* never NULL inside the walk */
};

typedef enum decode_result (*layer_fn)(struct walk *);

static int
cur_skip(struct cursor *c, uint32_t n)
{
	if (c->end - c->off < n)
		return 0;
	c->off += n;
	return 1;
}

static int
cur_u8(struct cursor *c, uint8_t *v)
{
	if (c->end - c->off < 1)
		return 0;
	*v = c->base[c->off++];
	return 1;
}

static int
cur_be16(struct cursor *c, uint16_t *v)
{
	if (c->end - c->off < 2)
		return 0;
	*v = decode_be16(c->base + c->off);
	c->off += 2;
	return 1;
}

static int
cur_be32(struct cursor *c, uint32_t *v)
{
	if (c->end - c->off < 4)
		return 0;
	*v = decode_be32(c->base + c->off);
	c->off += 4;
	return 1;
}

static int
cur_copy(struct cursor *c, uint8_t *dst, uint32_t n)
{
	if (c->end - c->off < n)
		return 0;
	memcpy(dst, c->base + c->off, n);
	c->off += n;
	return 1;
}

static int
cur_peek_u8(const struct cursor *c, uint8_t *v)
{
	if (c->end - c->off < 1)
		return 0;
	*v = c->base[c->off];
	return 1;
}

/* Never widens the window. */
static void
cur_limit(struct cursor *c, uint64_t end)
{
	if (end < c->end)
		c->end = (uint32_t)end;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* One add-with-carry of the 64-bit word at p + off, in csum_* assembly. */
#define CSUM_ADC(off)	"adcq " #off "(%[p]), %[s]\n\t"

/*
 * 128 bytes at a time in one add-with-carry chain of 64-bit words, as
 * Linux's csum_partial does on x86-64: about one instruction per 8 bytes,
 * so verifying a full segment stays a small part of its cost. The chain
 * runs on across blocks (lea and dec leave the carry flag alone), so
 * the last carry is added back once. blocks > 0; the bytes read are
 * exactly p[0 .. 128 * blocks).
 */
static uint64_t
csum_blocks(uint64_t sum, const uint8_t *p, size_t blocks)
{
	__asm__(
	    "clc\n\t"
	    "1:\n\t"
	    CSUM_ADC(0) CSUM_ADC(8) CSUM_ADC(16) CSUM_ADC(24) CSUM_ADC(32)
	    CSUM_ADC(40) CSUM_ADC(48) CSUM_ADC(56) CSUM_ADC(64) CSUM_ADC(72)
	    CSUM_ADC(80) CSUM_ADC(88) CSUM_ADC(96) CSUM_ADC(104)
	    CSUM_ADC(112) CSUM_ADC(120)
	    "leaq 128(%[p]), %[p]\n\t"
	    "decq %[n]\n\t"
	    "jnz 1b\n\t"
	    "adcq $0, %[s]"
	    : [s] "+r" (sum), [p] "+r" (p), [n] "+r" (blocks)
	    : "m" (*(const uint8_t (*)[128 * blocks])p)
	    : "cc");
	return sum;
}

/*
 * The 8-byte words of a span shorter than 128 bytes: one straight chain
 * each for 64, 32, 16 and 8 bytes, as n's bits say, instead of a loop of
 * 32-bit adds (a segment's tail averages 64 bytes). Reads exactly
 * p[0 .. n & ~7); returns the sum with each chain's carry added back.
 */
#define CSUM_CHAIN(bytes, words)					\
	__asm__("addq 0(%[p]), %[s]\n\t" words "adcq $0, %[s]"	\
	    : [s] "+r" (sum)						\
	    : [p] "r" (p), "m" (*(const uint8_t (*)[bytes])p)		\
	    : "cc")

static uint64_t
csum_words(uint64_t sum, const uint8_t *p, size_t n)
{
	if (n & 64) {
		CSUM_CHAIN(64, CSUM_ADC(8) CSUM_ADC(16) CSUM_ADC(24)
		    CSUM_ADC(32) CSUM_ADC(40) CSUM_ADC(48) CSUM_ADC(56));
		p += 64;
	}
	if (n & 32) {
		CSUM_CHAIN(32, CSUM_ADC(8) CSUM_ADC(16) CSUM_ADC(24));
		p += 32;
	}
	if (n & 16) {
		CSUM_CHAIN(16, CSUM_ADC(8));
		p += 16;
	}
	if (n & 8)
		CSUM_CHAIN(8, "");
	return sum;
}
#else
/* Portable: two 32-bit words per step into the 64-bit sum. */
static uint64_t
csum_words(uint64_t sum, const uint8_t *p, size_t n)
{
	uint32_t	 w, v;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 4);
		memcpy(&v, p + 4, 4);
		sum += (uint64_t)w + v;
	}
	return sum;
}
#endif

/*
 * The last n < 8 bytes, zero-padded to a word in memory order (an odd
 * last byte so pads its 16-bit word as RFC 1071 says), added with the
 * carry brought back so a sum near 2^64 cannot lose it.
 */
static uint64_t
csum_last(uint64_t sum, const uint8_t *p, size_t n)
{
	uint8_t		 b[8] = { 0 };
	uint64_t	 w;
	size_t		 i = 0;

	if (n & 4) {
		memcpy(b, p, 4);
		i = 4;
	}
	if (n & 2) {
		memcpy(b + i, p + i, 2);
		i += 2;
	}
	if (n & 1)
		b[i] = p[i];
	memcpy(&w, b, sizeof(w));
	sum += w;
	return sum + (sum < w);
}

/*
 * Internet checksum (RFC 1071) accumulated into 64 bits in host byte
 * order: the one's complement sum does not depend on it, and folding at
 * the end needs no byte swaps. n may be odd only for the last piece of a
 * checksummed span. Any CPU; csum_add() prefers csum_avx2() for long
 * spans.
 */
static __attribute__((noinline)) uint64_t
csum_scalar(uint64_t sum, const uint8_t *p, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (n >= 128) {
		sum = csum_blocks(sum, p, n / 128);
		p += n & ~(size_t)127;
		n &= 127;
	}
#endif
	sum = csum_words(sum, p, n);
	p += n & ~(size_t)7;
	return csum_last(sum, p, n & 7);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define CSUM_AVX2	1

/*
 * Spans from CSUM_AVX2_MIN bytes are summed with AVX2 on CPUs that have
 * it: below that, its fixed cost (constants, the lanes' final reduction,
 * a call) outweighs the 1.5 instructions it saves per 32 bytes. Counted
 * with callgrind over lengths 128 to 447, both paths cost the same from
 * about 384 bytes on.
 */
#define CSUM_AVX2_MIN	448

/*
 * The most bytes csum_avx2() takes: an IP packet's, 65,535. That is at
 * most 2,048 blocks of 32 bytes, the tail's included, and each 32-bit
 * lane takes two words of each block, so it ends below 2^28, and the
 * sums of two lanes it is reduced to below 2^29: far inside 32 bits
 * (leaving them would take 512 KiB). A longer span, which no IP packet
 * carries, takes the scalar path.
 */
#define CSUM_AVX2_MAX	65535
_Static_assert(CSUM_AVX2_MIN >= 32, "csum_avx2() reads a whole last block");

/*
 * The 16 words of 32 bytes at p, as eight 32-bit sums of pairs. vpmaddwd
 * multiplies signed words, so each word's top bit is flipped first: that
 * makes it the word minus 32768, exactly, and csum_avx2() adds the 32768s
 * back. Three instructions (vpxor with the load, vpmaddwd, vpaddd into
 * the caller's accumulator) against four 8-byte add-with-carry.
 */
__attribute__((target("avx2")))
static inline __m256i
csum_avx2_32(const uint8_t *p, __m256i flip, __m256i ones)
{
	__m256i	 w = _mm256_loadu_si256((const __m256i *)(const void *)p);

	return _mm256_madd_epi16(_mm256_xor_si256(w, flip), ones);
}

/*
 * The 256-byte rounds of csum_avx2(), from q to end (a multiple of 256
 * bytes): the eight blocks of a round are added in a tree, so that each
 * round adds to acc once.
 */
__attribute__((target("avx2")))
static __m256i
csum_avx2_rounds(__m256i acc, const uint8_t *q, const uint8_t *end,
    __m256i flip, __m256i ones)
{
	__m256i		 a, b;

	for (; q < end; q += 256) {
		a = _mm256_add_epi32(_mm256_add_epi32(
		    csum_avx2_32(q, flip, ones),
		    csum_avx2_32(q + 32, flip, ones)), _mm256_add_epi32(
		    csum_avx2_32(q + 64, flip, ones),
		    csum_avx2_32(q + 96, flip, ones)));
		b = _mm256_add_epi32(_mm256_add_epi32(
		    csum_avx2_32(q + 128, flip, ones),
		    csum_avx2_32(q + 160, flip, ones)), _mm256_add_epi32(
		    csum_avx2_32(q + 192, flip, ones),
		    csum_avx2_32(q + 224, flip, ones)));
		acc = _mm256_add_epi32(acc, _mm256_add_epi32(a, b));
	}
	return acc;
}

/*
 * Bytes 32..63 are 0xff: as a mask, the 32 bytes from csum_avx2_tail + r
 * keep the last r bytes of a vector and clear the others.
 */
static const uint8_t csum_avx2_tail[64] = {
	[32] = 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};

/*
 * csum_scalar() for CSUM_AVX2_MIN <= n <= CSUM_AVX2_MAX on an AVX2 CPU
 * (any n from 32 gives the same sum): the 32-byte blocks in vector
 * lanes, 256 bytes a round, then the last n % 32 bytes as one more block
 * that ends where the span does, its bytes already summed cleared.
 * Reads exactly p[0 .. n).
 */
__attribute__((target("avx2")))
static uint64_t
csum_avx2(uint64_t sum, const uint8_t *p, size_t n)
{
	const uint8_t	*q = p, *end = p + (n & ~(size_t)255);
	size_t		 even = n & ~(size_t)1;
	__m256i		 flip, ones, acc, last;
	__m128i		 h;
	uint64_t	 lo, hi;

	/* Made once, in registers, not again before each use. */
	ones = _mm256_set1_epi32(-1);
	__asm__("" : "+x" (ones));
	flip = _mm256_slli_epi16(ones, 15);
	ones = _mm256_srli_epi16(ones, 15);
	/*
	 * Each lane takes two flipped words of every block: starting it at
	 * 65536 per block, the tail's included, gives back their 32768s, so
	 * that each lane ends as its words' true sum, from 0 to below 2^28.
	 */
	acc = _mm256_set1_epi32((int)(((n >> 5) + 1) << 16));
	acc = csum_avx2_rounds(acc, q, end, flip, ones);
	q = end;
	if (n & 128) {
		acc = _mm256_add_epi32(acc, _mm256_add_epi32(
		    _mm256_add_epi32(csum_avx2_32(q, flip, ones),
		    csum_avx2_32(q + 32, flip, ones)),
		    _mm256_add_epi32(csum_avx2_32(q + 64, flip, ones),
		    csum_avx2_32(q + 96, flip, ones))));
		q += 128;
	}
	if (n & 64) {
		acc = _mm256_add_epi32(acc, _mm256_add_epi32(
		    csum_avx2_32(q, flip, ones),
		    csum_avx2_32(q + 32, flip, ones)));
		q += 64;
	}
	if (n & 32)
		acc = _mm256_add_epi32(acc, csum_avx2_32(q, flip, ones));
	/*
	 * The even tail: the 32 bytes ending at even, which starts on a
	 * word boundary, of which the first 32 - even % 32 were summed
	 * above. Cleared, they add 0 once the block's 32768s are back.
	 */
	last = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)
	    (const void *)(csum_avx2_tail + (even & 31))),
	    _mm256_loadu_si256((const __m256i *)(const void *)
	    (p + even - 32)));
	acc = _mm256_add_epi32(acc, _mm256_madd_epi16(
	    _mm256_xor_si256(last, flip), ones));
	/*
	 * Four lanes, each below 2^29, read as two 64-bit words: 2^32 is 1
	 * modulo 65535, so each word sums like its two lanes. An odd last
	 * byte starts a word: in little-endian order, its low byte.
	 */
	h = _mm_add_epi32(_mm256_castsi256_si128(acc),
	    _mm256_extracti128_si256(acc, 1));
	lo = (uint64_t)_mm_cvtsi128_si64(h) + (p[n - 1] & (0u - (n & 1)));
	hi = (uint64_t)_mm_extract_epi64(h, 1);
	sum += lo;
	sum += sum < lo;
	sum += hi;
	return sum + (sum < hi);
}

/*
 * Whether csum_add() takes csum_avx2() for n bytes: where it is faster and
 * the CPU has it (libgcc reads CPUID once at start-up, so the test is one
 * load and a bit).
 */
static inline int
csum_avx2_takes(size_t n)
{
	return n >= CSUM_AVX2_MIN && n <= CSUM_AVX2_MAX &&
	    __builtin_cpu_supports("avx2");
}
#endif

/*
 * The sum of a span, by the cheaper path for its length on this CPU.
 * Small enough to be inlined into its callers, with csum_scalar() kept
 * apart, so that the vector path skips the stack protector's work for
 * csum_last()'s buffer (8 instructions a call).
 */
static inline uint64_t
csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
#ifdef CSUM_AVX2
	if (csum_avx2_takes(n))
		return csum_avx2(sum, p, n);
#endif
	return csum_scalar(sum, p, n);
}

static uint16_t
csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * Sum of the TCP/UDP pseudo-header (RFC 793, RFC 8200 8.1), unfolded:
 * addresses as 32-bit words, then the length and protocol words as they
 * would be loaded from memory in network order.
 */
static uint64_t
csum_pseudo(const struct decode_addr *src, const struct decode_addr *dst,
    uint8_t proto, uint32_t len)
{
	uint64_t	 sum = (uint64_t)htonl(len) + htonl(proto);
	uint32_t	 a[4], b[4];

	/* Each family's own fixed size, so that both sums are straight
	 * lines: this runs for every segment. */
	if (src->family == 4) {
		memcpy(a, src->bytes, 4);
		memcpy(b, dst->bytes, 4);
		return sum + a[0] + b[0];
	}
	memcpy(a, src->bytes, 16);
	memcpy(b, dst->bytes, 16);
	return sum + a[0] + a[1] + a[2] + a[3] + b[0] + b[1] + b[2] + b[3];
}

/* The IPv4 header checksum: hlen is a multiple of 4, at least 20. */
static inline int
ip4_header_ok(const uint8_t *h, uint32_t hlen)
{
	return csum_fold(csum_add(0, h, hlen)) == 0xffff;
}

/*
 * The same for the fast path's header of exactly 20 bytes: five 32-bit
 * words added into 64 bits cannot carry out, so no carry chain, no call
 * and no tail handling (csum_add's general path cost twice as much).
 */
static inline int
ip4_header20_ok(const uint8_t *h)
{
	uint32_t	 w[5];

	memcpy(w, h, sizeof(w));
	return csum_fold((uint64_t)w[0] + w[1] + w[2] + w[3] + w[4]) ==
	    0xffff;
}

/*
 * A header did not fit. If an IP length cut the window, the packet is
 * inconsistent; otherwise the snap length cut it.
 */
static enum decode_result
short_read(const struct walk *w)
{
	if (w->limit <= w->caplen)
		return DECODE_MALFORMED;
	return DECODE_TRUNCATED;
}

/* One more tag, label or tunnel. */
static enum decode_result
deeper(struct walk *w)
{
	if (++w->depth > DECODE_MAX_LAYERS)
		return DECODE_TOO_DEEP;
	return DECODE_OK;
}

static void
header_seen(struct walk *w)
{
	if (w->out->layers < UINT8_MAX)
		w->out->layers++;
}

static enum decode_result
layer_ether(struct walk *w)
{
	if (!cur_skip(&w->c, 12) || !cur_be16(&w->c, &w->ethertype))
		return short_read(w);
	header_seen(w);
	w->next = L_ETHERTYPE;
	return DECODE_OK;
}

static enum decode_result
layer_ethertype(struct walk *w)
{
	switch (w->ethertype) {
	case ETHERTYPE_IPV4:
		w->next = L_IPV4;
		break;
	case ETHERTYPE_IPV6:
		w->next = L_IPV6;
		break;
	case ETHERTYPE_VLAN:
	case ETHERTYPE_QINQ:
	case ETHERTYPE_QINQ_OLD:
		w->next = L_VLAN;
		break;
	case ETHERTYPE_MPLS:
	case ETHERTYPE_MPLS_MC:
		w->next = L_MPLS;
		break;
	default:
		return DECODE_NOT_TCP;
	}
	return DECODE_OK;
}

static enum decode_result
layer_vlan(struct walk *w)
{
	enum decode_result r;
	uint16_t	 tci;

	if ((r = deeper(w)) != DECODE_OK)
		return r;
	if (!cur_be16(&w->c, &tci) || !cur_be16(&w->c, &w->ethertype))
		return short_read(w);
	header_seen(w);
	w->st->vlan++;
	w->out->vlan = tci & 0x0fff;
	w->next = L_ETHERTYPE;
	return DECODE_OK;
}

static enum decode_result
layer_mpls(struct walk *w)
{
	enum decode_result r;
	uint32_t	 lse;

	if ((r = deeper(w)) != DECODE_OK)
		return r;
	if (!cur_be32(&w->c, &lse))
		return short_read(w);
	header_seen(w);
	w->st->mpls++;
	w->next = (lse & 0x100) ? L_MPLS_PAYLOAD : L_MPLS;
	return DECODE_OK;
}

static enum decode_result	layer_ip(struct walk *);

/*
 * MPLS does not say what it carries. IP shows in its version nibble; a
 * first nibble of 0 is the pseudowire control word (RFC 4385) before an
 * Ethernet frame.
 */
static enum decode_result
layer_mpls_payload(struct walk *w)
{
	uint8_t		 b;

	if (!cur_peek_u8(&w->c, &b))
		return short_read(w);
	if (b >> 4 == 0) {
		if (!cur_skip(&w->c, 4))
			return short_read(w);
		w->next = L_ETHER;
		return DECODE_OK;
	}
	if (b >> 4 != 4 && b >> 4 != 6)
		return DECODE_UNSUPPORTED;
	return layer_ip(w);
}

static enum decode_result
layer_ip(struct walk *w)
{
	uint8_t		 b;

	if (!cur_peek_u8(&w->c, &b))
		return short_read(w);
	switch (b >> 4) {
	case 4:
		w->next = L_IPV4;
		break;
	case 6:
		w->next = L_IPV6;
		break;
	default:
		return DECODE_MALFORMED;
	}
	return DECODE_OK;
}

/* What an IP header (or its last extension header) says comes next. */
static enum decode_result
ip_next(struct walk *w, uint8_t proto)
{
	enum decode_result r = DECODE_OK;

	switch (proto) {
	case IPPROTO_NUM_TCP:
		w->next = L_TCP;
		break;
	case IPPROTO_NUM_UDP:
		w->next = L_UDP;
		break;
	case IPPROTO_NUM_GRE:
		w->next = L_GRE;
		break;
	case IPPROTO_NUM_IPIP:
		r = deeper(w);
		w->next = L_IPV4;
		break;
	case IPPROTO_NUM_IPV6:
		r = deeper(w);
		w->next = L_IPV6;
		break;
	default:
		r = DECODE_NOT_TCP;
		break;
	}
	return r;
}

/* The IP header at start claims to end at start + len. */
static void
ip_claim(struct walk *w, uint32_t start, uint32_t len)
{
	uint64_t	 end = (uint64_t)start + len;

	if (end < w->limit)
		w->limit = end;
	cur_limit(&w->c, end);
	w->out->ip = w->c.base + start;
	w->out->ip_len = w->c.end - start;
}

static enum decode_result
layer_ipv4(struct walk *w)
{
	struct decode_pkt *out = w->out;
	uint32_t	 start = w->c.off;
	uint16_t	 total, frag;
	uint8_t		 vihl, proto, hlen;

	if (out->csum & DECODE_CSUM_IP_BAD)
		return DECODE_BAD_CHECKSUM;	/* it was a tunnel's */
	if (!cur_u8(&w->c, &vihl) || !cur_skip(&w->c, 1) ||
	    !cur_be16(&w->c, &total) || !cur_skip(&w->c, 2) ||
	    !cur_be16(&w->c, &frag) || !cur_skip(&w->c, 1) ||
	    !cur_u8(&w->c, &proto) || !cur_skip(&w->c, 2))
		return short_read(w);
	hlen = (uint8_t)((vihl & 0x0f) * 4);
	if (vihl >> 4 != 4 || hlen < 20 || total < hlen)
		return DECODE_MALFORMED;
	memset(&out->src, 0, sizeof(out->src));
	memset(&out->dst, 0, sizeof(out->dst));
	if (!cur_copy(&w->c, out->src.bytes, 4) ||
	    !cur_copy(&w->c, out->dst.bytes, 4))
		return short_read(w);
	out->src.family = out->dst.family = 4;
	header_seen(w);
	w->st->ipv4++;
	ip_claim(w, start, total);
	if (!cur_skip(&w->c, hlen - 20u))
		return short_read(w);
	if (!w->rebuilt && !ip4_header_ok(w->c.base + start, hlen))
		out->csum |= DECODE_CSUM_IP_BAD;
	w->rebuilt = 0;
	w->routed = 0;
	if (frag & 0x3fff)		/* MF or a fragment offset */
		return DECODE_FRAGMENT;
	return ip_next(w, proto);
}

/* Walk IPv6 extension headers up to the upper-layer protocol. */
static enum decode_result
ipv6_ext(struct walk *w, uint8_t nh)
{
	uint16_t	 offm;
	uint8_t		 next, len;
	unsigned	 n;

	for (n = 0; n <= IPV6_MAX_EXT; n++) {
		switch (nh) {
		case IPPROTO_NUM_ROUTING:
			/* segments left: the checksum uses the last hop */
			if (w->c.end - w->c.off >= 4 &&
			    w->c.base[w->c.off + 3] != 0)
				w->routed = 1;
			/* FALLTHROUGH */
		case IPPROTO_NUM_HOPOPTS:
		case IPPROTO_NUM_DSTOPTS:
		case IPPROTO_NUM_MOBILITY:
		case IPPROTO_NUM_HIP:
		case IPPROTO_NUM_SHIM6:
			if (!cur_u8(&w->c, &next) || !cur_u8(&w->c, &len) ||
			    !cur_skip(&w->c, (len + 1u) * 8 - 2))
				return short_read(w);
			break;
		case IPPROTO_NUM_AH:
			if (!cur_u8(&w->c, &next) || !cur_u8(&w->c, &len) ||
			    !cur_skip(&w->c, (len + 2u) * 4 - 2))
				return short_read(w);
			break;
		case IPPROTO_NUM_FRAGMENT:
			if (!cur_u8(&w->c, &next) || !cur_skip(&w->c, 1) ||
			    !cur_be16(&w->c, &offm) || !cur_skip(&w->c, 4))
				return short_read(w);
			if (offm & 0xfff9)	/* offset or M: not atomic */
				return DECODE_FRAGMENT;
			break;
		case IPPROTO_NUM_ESP:
		case IPPROTO_NUM_NONE:
			return DECODE_NOT_TCP;
		default:
			return ip_next(w, nh);
		}
		nh = next;
	}
	return DECODE_TOO_DEEP;
}

static enum decode_result
layer_ipv6(struct walk *w)
{
	struct decode_pkt *out = w->out;
	uint32_t	 start = w->c.off;
	uint16_t	 plen;
	uint8_t		 vtc, nh;

	if (out->csum & DECODE_CSUM_IP_BAD)
		return DECODE_BAD_CHECKSUM;	/* it was a tunnel's */
	w->rebuilt = 0;
	w->routed = 0;
	if (!cur_u8(&w->c, &vtc) || !cur_skip(&w->c, 3) ||
	    !cur_be16(&w->c, &plen) || !cur_u8(&w->c, &nh) ||
	    !cur_skip(&w->c, 1))
		return short_read(w);
	if (vtc >> 4 != 6)
		return DECODE_MALFORMED;
	if (!cur_copy(&w->c, out->src.bytes, 16) ||
	    !cur_copy(&w->c, out->dst.bytes, 16))
		return short_read(w);
	out->src.family = out->dst.family = 6;
	header_seen(w);
	w->st->ipv6++;
	ip_claim(w, start, 40u + plen);
	return ipv6_ext(w, nh);
}

/*
 * GRE version 0 (RFC 2784, 2890). The routing variant of RFC 1701 and
 * PPTP's version 1 are not handled.
 */
static enum decode_result
layer_gre(struct walk *w)
{
	enum decode_result r;
	uint16_t	 fl, proto;

	if ((r = deeper(w)) != DECODE_OK)
		return r;
	if (!cur_be16(&w->c, &fl) || !cur_be16(&w->c, &proto))
		return short_read(w);
	header_seen(w);
	w->st->gre++;
	if ((fl & GRE_VERSION) != 0 || (fl & GRE_R))
		return DECODE_UNSUPPORTED;
	if (((fl & GRE_C) && !cur_skip(&w->c, 4)) ||
	    ((fl & GRE_K) && !cur_skip(&w->c, 4)) ||
	    ((fl & GRE_S) && !cur_skip(&w->c, 4)))
		return short_read(w);
	switch (proto) {
	case ETHERTYPE_TEB:
		w->next = L_ETHER;
		break;
	case ETHERTYPE_ERSPAN2:
		if (fl & GRE_S) {
			w->next = L_ERSPAN2;
			break;
		}
		/* ERSPAN type I: no header, the mirrored frame follows. */
		w->st->erspan++;
		w->next = L_ETHER;
		break;
	case ETHERTYPE_ERSPAN3:
		w->next = L_ERSPAN3;
		break;
	default:
		w->ethertype = proto;
		w->next = L_ETHERTYPE;
		break;
	}
	return DECODE_OK;
}

static enum decode_result
layer_erspan2(struct walk *w)
{
	enum decode_result r;

	if ((r = deeper(w)) != DECODE_OK)
		return r;
	if (!cur_skip(&w->c, 8))
		return short_read(w);
	header_seen(w);
	w->st->erspan++;
	w->next = L_ETHER;
	return DECODE_OK;
}

/*
 * ERSPAN type III: 12 bytes whose last bit (O) announces an 8-byte
 * platform sub-header. The frame type field may say the mirror carries IP
 * rather than Ethernet.
 */
static enum decode_result
layer_erspan3(struct walk *w)
{
	enum decode_result r;
	const uint8_t	*h;
	uint8_t		 ft;

	if ((r = deeper(w)) != DECODE_OK)
		return r;
	if (!cur_skip(&w->c, ERSPAN3_LEN))
		return short_read(w);
	h = w->c.base + w->c.off - ERSPAN3_LEN;
	if ((h[11] & 0x01) && !cur_skip(&w->c, ERSPAN3_SUBHDR_LEN))
		return short_read(w);
	header_seen(w);
	w->st->erspan++;
	ft = (h[10] >> 2) & 0x1f;
	if (ft == ERSPAN3_FT_ETHER)
		w->next = L_ETHER;
	else if (ft == ERSPAN3_FT_IP)
		w->next = L_IP;
	else
		return DECODE_UNSUPPORTED;
	return DECODE_OK;
}

/*
 * A VXLAN tunnel's UDP checksum (0: none, RFC 7348) is recorded for
 * decode_checksum(), which needs the outer addresses seen only here.
 */
static enum decode_result
layer_udp(struct walk *w)
{
	struct decode_pkt *out = w->out;
	uint32_t	 start = w->c.off;
	uint16_t	 dport, len, sum;

	if (!cur_skip(&w->c, 2) || !cur_be16(&w->c, &dport) ||
	    !cur_be16(&w->c, &len) || !cur_be16(&w->c, &sum))
		return short_read(w);
	header_seen(w);
	if (dport != VXLAN_PORT)
		return DECODE_NOT_TCP;
	out->csum &= (uint8_t)~DECODE_CSUM_UDP;
	if (sum != 0 && len >= 8 && len <= w->c.end - start && !w->routed) {
		out->csum |= DECODE_CSUM_UDP;
		out->udp = w->c.base + start;
		out->udp_len = len;
		out->udp_pseudo = csum_fold(csum_pseudo(&out->src, &out->dst,
		    IPPROTO_NUM_UDP, len));
	}
	w->next = L_VXLAN;
	return DECODE_OK;
}

static enum decode_result
layer_vxlan(struct walk *w)
{
	enum decode_result r;
	uint8_t		 flags;

	if ((r = deeper(w)) != DECODE_OK)
		return r;
	if (!cur_u8(&w->c, &flags) || !cur_skip(&w->c, 7))
		return short_read(w);
	header_seen(w);
	w->st->vxlan++;
	if (!(flags & VXLAN_FLAG_I))
		return DECODE_MALFORMED;
	w->next = L_ETHER;
	return DECODE_OK;
}

/* Linux cooked v1: 14 bytes of packet type, hardware type and address. */
static enum decode_result
layer_sll(struct walk *w)
{
	if (!cur_skip(&w->c, 14) || !cur_be16(&w->c, &w->ethertype))
		return short_read(w);
	header_seen(w);
	w->next = L_ETHERTYPE;
	return DECODE_OK;
}

/* Linux cooked v2: protocol first, then 18 bytes we do not need. */
static enum decode_result
layer_sll2(struct walk *w)
{
	if (!cur_be16(&w->c, &w->ethertype) || !cur_skip(&w->c, 18))
		return short_read(w);
	header_seen(w);
	w->next = L_ETHERTYPE;
	return DECODE_OK;
}

/* Returns 0 for an address family that is neither IPv4 nor IPv6. */
static int
loop_af(struct walk *w, uint32_t af)
{
	switch (af) {
	case NULL_AF_INET:
		w->next = L_IPV4;
		return 1;
	case NULL_AF_INET6_LINUX:
	case NULL_AF_INET6_BSD:
	case NULL_AF_INET6_FREEBSD:
	case NULL_AF_INET6_DARWIN:
		w->next = L_IPV6;
		return 1;
	}
	return 0;
}

/* BSD loopback: the family is in the capturing host's byte order. */
static enum decode_result
layer_null(struct walk *w)
{
	uint32_t	 af, swapped;

	if (!cur_be32(&w->c, &af))
		return short_read(w);
	header_seen(w);
	swapped = (af >> 24) | ((af >> 8) & 0xff00) | ((af << 8) & 0xff0000) |
	    (af << 24);
	if (loop_af(w, af) || loop_af(w, swapped))
		return DECODE_OK;
	return DECODE_NOT_TCP;
}

/* OpenBSD loopback: the family in network byte order. */
static enum decode_result
layer_loop(struct walk *w)
{
	uint32_t	 af;

	if (!cur_be32(&w->c, &af))
		return short_read(w);
	header_seen(w);
	if (loop_af(w, af))
		return DECODE_OK;
	return DECODE_NOT_TCP;
}

/* One option at o (len bytes of value after kind and length). */
static void
tcp_option(struct decode_pkt *out, uint8_t kind, const uint8_t *v,
    uint8_t len)
{
	if (kind == TCPOPT_MSS && len == 2) {
		out->opts |= DECODE_OPT_MSS;
		out->mss = (uint16_t)(v[0] << 8 | v[1]);
	} else if (kind == TCPOPT_WSCALE && len == 1) {
		out->opts |= DECODE_OPT_WSCALE;
		out->wscale = v[0] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : v[0];
	} else if (kind == TCPOPT_SACKOK && len == 0)
		out->opts |= DECODE_OPT_SACKOK;
	else if (kind == TCPOPT_TS && len == 8) {
		out->opts |= DECODE_OPT_TS;
		out->tsval = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
		    (uint32_t)v[2] << 8 | v[3];
		out->tsecr = (uint32_t)v[4] << 24 | (uint32_t)v[5] << 16 |
		    (uint32_t)v[6] << 8 | v[7];
	}
}

/* The options between the fixed header and the data offset. */
static void
tcp_options(struct decode_pkt *out, const uint8_t *o, uint32_t n)
{
	uint32_t	 i = 0;
	uint8_t		 len;

	while (i < n && o[i] != TCPOPT_EOL) {
		if (o[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (n - i < 2 || (len = o[i + 1]) < 2 || len > n - i)
			return;		/* malformed: stop, keep what we have */
		tcp_option(out, o[i], o + i + 2, (uint8_t)(len - 2));
		i += len;
	}
}

static enum decode_result
layer_tcp(struct walk *w)
{
	struct decode_pkt *out = w->out;
	uint32_t	 start = w->c.off;
	uint8_t		 doff;

	if (!cur_be16(&w->c, &out->sport) || !cur_be16(&w->c, &out->dport) ||
	    !cur_be32(&w->c, &out->seq) || !cur_be32(&w->c, &out->ack) ||
	    !cur_u8(&w->c, &doff) || !cur_u8(&w->c, &out->flags) ||
	    !cur_be16(&w->c, &out->window) || !cur_skip(&w->c, 4))
		return short_read(w);
	doff >>= 4;
	if (doff < 5)
		return DECODE_MALFORMED;
	if (!cur_skip(&w->c, (doff - 5u) * 4))
		return short_read(w);
	header_seen(w);
	w->st->tcp++;
	tcp_options(out, w->c.base + start + 20, (doff - 5u) * 4);
	/* Every path to TCP passes an IP header, so limit is set. */
	assert(w->limit >= w->c.end);
	out->payload = w->c.base + w->c.off;
	out->payload_len = w->c.end - w->c.off;
	out->payload_missing = (uint32_t)(w->limit - w->c.end);
	out->tcp = w->c.base + start;
	out->tcp_len = w->c.end - start;
	if (out->payload_missing > 0 || w->routed)
		out->csum |= DECODE_CSUM_NOTCP;
	w->next = L_DONE;
	return DECODE_OK;
}

static const layer_fn handlers[L_DONE] = {
	[L_ETHER] = layer_ether,
	[L_ETHERTYPE] = layer_ethertype,
	[L_VLAN] = layer_vlan,
	[L_MPLS] = layer_mpls,
	[L_MPLS_PAYLOAD] = layer_mpls_payload,
	[L_IP] = layer_ip,
	[L_IPV4] = layer_ipv4,
	[L_IPV6] = layer_ipv6,
	[L_GRE] = layer_gre,
	[L_ERSPAN2] = layer_erspan2,
	[L_ERSPAN3] = layer_erspan3,
	[L_UDP] = layer_udp,
	[L_VXLAN] = layer_vxlan,
	[L_SLL] = layer_sll,
	[L_SLL2] = layer_sll2,
	[L_NULL] = layer_null,
	[L_LOOP] = layer_loop,
	[L_TCP] = layer_tcp,
};

/* Map a link type to the first layer; 0 if unknown. */
static int
link_first(int linktype, enum layer *first)
{
	switch (linktype) {
	case DECODE_LINK_NULL:
		*first = L_NULL;
		break;
	case DECODE_LINK_EN10MB:
		*first = L_ETHER;
		break;
	case DECODE_LINK_RAW:
	case DECODE_LINK_RAW_ALT:
	case LINKTYPE_RAW:
		*first = L_IP;
		break;
	case DECODE_LINK_LOOP:
		*first = L_LOOP;
		break;
	case DECODE_LINK_LINUX_SLL:
		*first = L_SLL;
		break;
	case DECODE_LINK_IPV4:
		*first = L_IPV4;
		break;
	case DECODE_LINK_IPV6:
		*first = L_IPV6;
		break;
	case DECODE_LINK_LINUX_SLL2:
		*first = L_SLL2;
		break;
	default:
		return 0;
	}
	return 1;
}

static enum decode_result
walk_run(struct walk *w)
{
	enum decode_result r;
	unsigned	 steps;

	for (steps = 0; w->next != L_DONE; steps++) {
		if (steps >= WALK_MAX_STEPS)
			return DECODE_TOO_DEEP;
		assert(w->next < L_DONE && handlers[w->next] != NULL);
		if ((r = handlers[w->next](w)) != DECODE_OK)
			return r;
	}
	return DECODE_OK;
}

/*
 * The fast path: Ethernet, then IPv4 without options and not a fragment,
 * or IPv6 without extension headers, then TCP, its header whole within
 * the frame and the IP length. Nearly every frame on a mail link has this
 * shape; one length check up front replaces the walk's check per field.
 * Every other frame takes the walk, which gives the same result for these
 * ones (test_decode compares the two on every bundled capture).
 */
#define FAST_ETHER	14
#define FAST_IPV4	20
#define FAST_IPV6	40
#define FAST_TCP	20

/*
 * The IP header at frame + FAST_ETHER, hlen bytes, says the datagram ends
 * at ip_end; the TCP header follows it. Fills out as the walk's TCP layer
 * does; 0 if the TCP header does not fit (the walk says why).
 */
static inline int
fast_tcp(const uint8_t *frame, uint32_t caplen, uint32_t hlen,
    uint64_t ip_end, struct decode_pkt *out)
{
	uint32_t	 t = FAST_ETHER + hlen, end, doff;
	const uint8_t	*th = frame + t;

	end = ip_end < caplen ? (uint32_t)ip_end : caplen;
	if (end < t + FAST_TCP)
		return 0;
	doff = (uint32_t)(th[12] >> 4) * 4;
	if (doff < FAST_TCP || end - t < doff)
		return 0;
	out->sport = decode_be16(th);
	out->dport = decode_be16(th + 2);
	out->seq = decode_be32(th + 4);
	out->ack = decode_be32(th + 8);
	out->flags = th[13];
	out->window = decode_be16(th + 14);
	out->layers = 3;		/* Ethernet, IP, TCP */
	if (doff > FAST_TCP)		/* most segments have none */
		tcp_options(out, th + FAST_TCP, doff - FAST_TCP);
	out->ip = frame + FAST_ETHER;
	out->ip_len = end - FAST_ETHER;
	out->tcp = th;
	out->tcp_len = end - t;
	out->payload = th + doff;
	out->payload_len = end - t - doff;
	out->payload_missing = (uint32_t)(ip_end - end);
	if (out->payload_missing > 0)
		out->csum |= DECODE_CSUM_NOTCP;
	return 1;
}

static int
fast_ipv4(const uint8_t *frame, uint32_t caplen, struct decode_pkt *out)
{
	const uint8_t	*ip = frame + FAST_ETHER;
	uint16_t	 total;

	if (caplen < FAST_ETHER + FAST_IPV4 + FAST_TCP || ip[0] != 0x45 ||
	    (decode_be16(ip + 6) & 0x3fff) != 0 || ip[9] != IPPROTO_NUM_TCP ||
	    (total = decode_be16(ip + 2)) < FAST_IPV4)
		return 0;
	out->src.family = out->dst.family = 4;
	memcpy(out->src.bytes, ip + 12, 4);
	memcpy(out->dst.bytes, ip + 16, 4);
	memset(out->src.bytes + 4, 0, 12);
	memset(out->dst.bytes + 4, 0, 12);
	_Static_assert(FAST_IPV4 == 20, "ip4_header20_ok() sums 20 bytes");
	if (!ip4_header20_ok(ip))
		out->csum |= DECODE_CSUM_IP_BAD;
	return fast_tcp(frame, caplen, FAST_IPV4,
	    (uint64_t)FAST_ETHER + total, out);
}

static int
fast_ipv6(const uint8_t *frame, uint32_t caplen, struct decode_pkt *out)
{
	const uint8_t	*ip = frame + FAST_ETHER;

	if (caplen < FAST_ETHER + FAST_IPV6 + FAST_TCP || ip[0] >> 4 != 6 ||
	    ip[6] != IPPROTO_NUM_TCP)
		return 0;
	out->src.family = out->dst.family = 6;
	memcpy(out->src.bytes, ip + 8, 16);
	memcpy(out->dst.bytes, ip + 24, 16);
	return fast_tcp(frame, caplen, FAST_IPV6,
	    (uint64_t)FAST_ETHER + FAST_IPV6 + decode_be16(ip + 4), out);
}

/*
 * The fields of *out the fast path does not write, zeroed: the rest it
 * writes for every frame it takes (addresses in full, the TCP fields),
 * so the whole result need not be cleared first, which cost a call and
 * 144 bytes of stores a frame. A frame the fast path declines goes to
 * the walk, which clears everything. A new field of struct decode_pkt is
 * either written by fast_ipv4/fast_ipv6/fast_tcp or zeroed here, and
 * compared in tests/test_decode.c (same_pkt(), over a result filled with
 * junk first).
 */
static void
fast_reset(struct decode_pkt *out, uint64_t ts_us)
{
	_Static_assert(sizeof(struct decode_pkt) == 144,
	    "a new field of struct decode_pkt: see fast_reset()");
	out->ts_us = ts_us;
	out->vlan = 0;
	out->udp = NULL;
	out->udp_len = 0;
	out->udp_pseudo = 0;
	out->csum = 0;
	out->opts = 0;
	out->wscale = 0;
	out->mss = 0;
	out->tsval = 0;
	out->tsecr = 0;
}

/* 1 with *out filled and counted, or 0: the walk decodes the frame. */
static int
decode_fast(const uint8_t *frame, uint32_t caplen, uint64_t ts_us,
    struct decode_pkt *out, struct decode_stats *stats)
{
	uint16_t	 type;
	int		 ok;

	if (caplen < FAST_ETHER)
		return 0;
	fast_reset(out, ts_us);
	type = decode_be16(frame + 12);
	if (type == ETHERTYPE_IPV4)
		ok = fast_ipv4(frame, caplen, out);
	else if (type == ETHERTYPE_IPV6)
		ok = fast_ipv6(frame, caplen, out);
	else
		ok = 0;
	if (!ok || stats == NULL)
		return ok;
	stats->frames++;
	stats->result[DECODE_OK]++;
	if (type == ETHERTYPE_IPV4)
		stats->ipv4++;
	else
		stats->ipv6++;
	stats->tcp++;
	return 1;
}

static enum decode_result
decode_start(enum layer first, int rebuilt, const uint8_t *frame,
    uint32_t caplen, uint64_t ts_us, struct decode_pkt *out,
    struct decode_stats *stats)
{
	struct decode_stats scratch;
	struct walk	 w;
	enum decode_result r;

	assert(out != NULL);
	assert(frame != NULL || caplen == 0);
	memset(out, 0, sizeof(*out));
	out->ts_us = ts_us;
	memset(&w, 0, sizeof(w));
	w.c.base = frame;
	w.c.end = caplen;
	w.caplen = caplen;
	w.limit = UINT64_MAX;
	w.next = first;
	w.rebuilt = rebuilt;
	w.out = out;
	if (stats == NULL) {
		memset(&scratch, 0, sizeof(scratch));
		stats = &scratch;
	}
	w.st = stats;
	r = walk_run(&w);
	w.st->frames++;
	w.st->result[r]++;
	return r;
}

enum decode_result
decode_frame(int linktype, const uint8_t *frame, uint32_t caplen,
    uint64_t ts_us, struct decode_pkt *out, struct decode_stats *stats)
{
	if (linktype == DECODE_LINK_EN10MB &&
	    decode_fast(frame, caplen, ts_us, out, stats))
		return DECODE_OK;
	return decode_frame_walk(linktype, frame, caplen, ts_us, out, stats);
}

enum decode_result
decode_frame_walk(int linktype, const uint8_t *frame, uint32_t caplen,
    uint64_t ts_us, struct decode_pkt *out, struct decode_stats *stats)
{
	enum layer	 first;

	if (!link_first(linktype, &first)) {
		memset(out, 0, sizeof(*out));
		out->ts_us = ts_us;
		if (stats != NULL) {
			stats->frames++;
			stats->result[DECODE_UNSUPPORTED]++;
		}
		return DECODE_UNSUPPORTED;
	}
	return decode_start(first, 0, frame, caplen, ts_us, out, stats);
}

/* A datagram handed back by frag reassembly counts as one more frame. */
enum decode_result
decode_ip(const uint8_t *ip, uint32_t len, uint64_t ts_us,
    struct decode_pkt *out, struct decode_stats *stats)
{
	return decode_start(L_IP, 1, ip, len, ts_us, out, stats);
}

/*
 * A segment whose checksum field holds just the pseudo-header sum is what
 * a sender with transmit offload hands its NIC; a capture on that host
 * shows it so (Linux CHECKSUM_PARTIAL).
 */
enum decode_csum
decode_checksum(const struct decode_pkt *p)
{
	uint64_t	 pseudo;
	uint16_t	 field;

	if (p->csum & DECODE_CSUM_UDP) {
		if (csum_fold(csum_add(p->udp_pseudo, p->udp, p->udp_len)) !=
		    0xffff)
			return DECODE_CSUM_BAD;
	}
	if (p->csum & DECODE_CSUM_IP_BAD)
		return DECODE_CSUM_BAD;
	if ((p->csum & DECODE_CSUM_NOTCP) || p->tcp == NULL ||
	    p->tcp_len < 20)
		return DECODE_CSUM_UNCHECKED;
	pseudo = csum_pseudo(&p->src, &p->dst, IPPROTO_NUM_TCP, p->tcp_len);
	if (csum_fold(csum_add(pseudo, p->tcp, p->tcp_len)) == 0xffff)
		return DECODE_CSUM_OK;
	memcpy(&field, p->tcp + 16, 2);
	if (field == csum_fold(pseudo))
		return DECODE_CSUM_PARTIAL;
	return DECODE_CSUM_BAD;
}

enum decode_sum_path
decode_sum_path(size_t len)
{
#ifdef CSUM_AVX2
	if (csum_avx2_takes(len))
		return DECODE_SUM_AVX2;
#endif
	(void)len;
	return DECODE_SUM_SCALAR;
}

int
decode_sum(enum decode_sum_path path, uint64_t start, const uint8_t *p,
    size_t len)
{
	switch (path) {
	case DECODE_SUM_SCALAR:
		return csum_fold(csum_scalar(start, p, len));
	case DECODE_SUM_AVX2:
#ifdef CSUM_AVX2
		/* Its last block ends at the span's end: 32 bytes at least. */
		if (len >= 32 && len <= CSUM_AVX2_MAX &&
		    __builtin_cpu_supports("avx2"))
			return csum_fold(csum_avx2(start, p, len));
#endif
		break;
	}
	return -1;
}

int
decode_link_supported(int linktype)
{
	enum layer	 first;

	return link_first(linktype, &first);
}

const char *
decode_result_name(enum decode_result r)
{
	static const char *const names[DECODE_NRESULTS] = {
		[DECODE_OK] = "ok",
		[DECODE_NOT_TCP] = "not-tcp",
		[DECODE_FRAGMENT] = "fragment",
		[DECODE_TRUNCATED] = "truncated",
		[DECODE_MALFORMED] = "malformed",
		[DECODE_UNSUPPORTED] = "unsupported",
		[DECODE_TOO_DEEP] = "too-deep",
		[DECODE_BAD_CHECKSUM] = "bad-checksum",
	};

	if ((unsigned)r >= DECODE_NRESULTS)
		return "unknown";
	return names[r];
}

/* v in decimal, no leading zeros. */
static char *
addr_dec8(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

static char *
addr4_text(char *p, const uint8_t *b)
{
	p = addr_dec8(p, b[0]);
	*p++ = '.';
	p = addr_dec8(p, b[1]);
	*p++ = '.';
	p = addr_dec8(p, b[2]);
	*p++ = '.';
	return addr_dec8(p, b[3]);
}

/* v in lowercase hex, no leading zeros. */
static char *
addr_hex16(char *p, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	int		 shift = 12;

	while (shift > 0 && (v >> shift) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = hex[(v >> shift) & 0xf];
	return p;
}

/*
 * RFC 5952 text, as inet_ntop() writes it: the longest run of two or more
 * zero words (the first of equal ones) becomes "::", and an IPv4-mapped
 * or IPv4-compatible address ends in dotted decimal.
 */
static char *
addr6_text(char *p, const uint8_t *b)
{
	unsigned	 w[8], i, run = 0, zero = 0, nzero = 0;

	for (i = 0; i < 8; i++) {
		w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
		run = w[i] == 0 ? run + 1 : 0;
		if (run > nzero) {
			nzero = run;
			zero = i + 1 - run;
		}
	}
	if (nzero < 2)
		nzero = 0;
	for (i = 0; i < 8; i++) {
		if (nzero > 0 && i >= zero && i < zero + nzero) {
			if (i == zero)
				*p++ = ':';
			continue;
		}
		if (i > 0)
			*p++ = ':';
		if (i == 6 && zero == 0 && (nzero == 6 ||
		    (nzero == 5 && w[5] == 0xffff)))
			return addr4_text(p, b + 12);
		p = addr_hex16(p, w[i]);
	}
	if (nzero > 0 && zero + nzero == 8)
		*p++ = ':';
	return p;
}

/*
 * By hand rather than inet_ntop(): the database writer formats two
 * addresses per row, and glibc's inet_ntop() costs about 1,800
 * instructions each (a sprintf per word).
 */
const char *
decode_addr_str(const struct decode_addr *a, char *buf, size_t len)
{
	char		 text[DECODE_ADDR_TEXT_MAX], *end;

	if (buf == NULL || len == 0)
		return "?";
	if (a->family == 4)
		end = addr4_text(text, a->bytes);
	else if (a->family == 6)
		end = addr6_text(text, a->bytes);
	else
		end = NULL;
	if (end == NULL || (size_t)(end - text) >= len) {
		snprintf(buf, len, "?");
		return buf;
	}
	memcpy(buf, text, (size_t)(end - text));
	buf[end - text] = '\0';
	return buf;
}

int
decode_addr_parse(struct decode_addr *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, a->bytes) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, a->bytes) == 1) {
		a->family = 6;
		return 0;
	}
	return -1;
}
