/*
 * gen.c: writes the deterministic capture files stripwatch is benchmarked
 * on: a mail gateway (thousands of SMTP sessions, most upgraded to TLS), an
 * uplink where bulk HTTPS carries most of the bytes, a SYN flood with a
 * few real sessions inside it, and 100,000 sessions open at once. Also writes FILE.json: what is in the trace
 * and what stripwatch must find in it.
 *
 *   gen [-s seed] [-n count] [-b body_scale] [-c cert.der] TRACE FILE
 *
 *   TRACE mail      -n = SMTP sessions (default 6000)
 *         uplink    -n = megabytes of wire data (default 400)
 *         synflood  -n = SYNs (default 1000000)
 *         concurrent -n = SMTP sessions open at once (default 100000)
 *
 * Every TCP connection has a three-way handshake, data cut at the MSS with
 * correct sequence and acknowledgement numbers, an ACK every second full
 * segment, and a FIN close; IPv4 and TCP checksums are correct. Sessions
 * run concurrently: each of a fixed number of slots renders one whole
 * session into memory and the slots are merged by timestamp, so memory is
 * bounded by the slots, not by the trace. Two random streams are kept
 * apart: one decides the structure (kinds, sizes, addresses), the other
 * fills ciphertext, so -b changes body sizes without changing anything
 * else (the heap allocation check relies on that).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 2026-11-28T19:38:31Z, the same epoch as tools/pcapgen.py. */
#define BASE_TS_US	(1795894711ULL * 1000000ULL)
#define MSS		1460	/* Ethernet MSS: 1500 MTU - 40 */
#define RTT_US		20000	/* one round trip, client to server */
#define STEP_US		50	/* between back-to-back segments */
#define THINK_US	1500	/* a peer's processing time */
#define SNAPLEN		262144	/* what tcpdump writes by default */
#define ETH_HDR		14
#define IP_HDR		20
#define TCP_HDR		20
#define SYN_OPTS	20	/* MSS, SACK-permitted, timestamps, wscale */
#define FRAME_MAX	(ETH_HDR + IP_HDR + TCP_HDR + SYN_OPTS + MSS)
#define TLS_PLAIN_MAX	16384	/* RFC 8446 5.1: plaintext per record */
#define TLS_AEAD_OVER	24	/* explicit nonce + GCM tag, TLS 1.2 */
#define BODY_MIN	2048	/* mail-gateway bodies: 2 KB ... */
#define BODY_MAX	(200 * 1024)	/* ... to 200 KB */
#define HTTPS_MIN	(128 * 1024)	/* one HTTPS response, at least */
#define HTTPS_MAX	(4 * 1024 * 1024)	/* and at most */
#define RAND_POOL	(1024 * 1024)	/* ciphertext is cut from this */
#define TEXT_POOL	(512 * 1024)	/* message text is cut from this */
#define MAX_SLOTS	64	/* concurrent sessions in a trace */
#define MAX_LISTED	4096	/* tampered sessions listed in the JSON */
#define SCRATCH		(64 * 1024)	/* one SMTP/TLS message at most */
#define REC_HDR		12	/* per rendered frame: ts(8) + len(4) */

enum side { C = 0, S = 1 };

enum tcpflag { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };

/* What a session does; the outcome stripwatch must report follows. */
enum kind {
	K_TLS12,	/* STARTTLS, TLS 1.2 with a certificate: tls */
	K_TLS13,	/* STARTTLS, TLS 1.3: tls */
	K_PLAIN,	/* server never offers STARTTLS: plaintext */
	K_OFFERED,	/* offered, client does not ask: plaintext_offered */
	K_CAP_MASKED,	/* ASA masks 250-STARTTLS: stripped */
	K_CMD_MASKED,	/* STARTTLS rewritten to XXXXXXXX: stripped */
	K_REFUSED,	/* 454 to STARTTLS: refused */
	K_HTTPS,	/* bulk HTTPS on 443: filtered out */
	K_CONFLICT,	/* TLS 1.2, the EHLO reply followed by a masked copy
			   at the same sequence numbers: tls, and a
			   reassembly conflict */
	NKINDS
};

static const char *const kind_names[NKINDS] = {
	"tls12", "tls13", "plain", "offered", "capability_masked",
	"command_masked", "refused", "https", "conflict"
};

static const char *const kind_outcome[NKINDS] = {
	"tls", "tls", "plaintext", "plaintext_offered", "stripped",
	"stripped", "refused", NULL, "tls"
};

/* Cumulative per-mille of each SMTP kind in the mixes. */
static const struct { enum kind k; unsigned permille; } mix[] = {
	{ K_TLS12, 700 }, { K_TLS13, 820 }, { K_PLAIN, 900 },
	{ K_OFFERED, 940 }, { K_CAP_MASKED, 970 }, { K_CMD_MASKED, 985 },
	{ K_REFUSED, 1000 },
};

struct rng {
	uint64_t	 s[4];		/* xoshiro256** state */
};

/* One TCP connection being rendered into a slot. */
struct conn {
	uint32_t	 ip[2];		/* client, server (host order) */
	uint16_t	 port[2];
	uint32_t	 nxt[2];	/* next sequence number to send */
	uint16_t	 ipid[2];
	uint8_t		 ttl[2];
	uint64_t	 now;		/* time of the next segment */
	int		 last;		/* side that spoke last, -1 none */
	unsigned	 unacked[2];	/* full segments sent, not acked */
	struct slot	*out;
};

/* A session rendered in memory: frames as [ts][len][bytes]. */
struct slot {
	uint8_t		*buf;
	size_t		 len, cap, pos;
	uint64_t	 next_ts;	/* of the frame at pos; UINT64_MAX: none */
	uint64_t	 free_at;	/* time the last frame was written */
};

struct summary {
	uint64_t	 frames, wire_bytes, file_bytes;
	uint64_t	 kinds[NKINDS];
	uint64_t	 kind_bytes[NKINDS];	/* wire bytes per kind */
	uint64_t	 syns;
	unsigned	 concurrent;	/* concurrent: sessions open at once */
	unsigned	 lingering;	/* ... of which past TLS early */
	unsigned	 nlisted;
	struct {
		enum kind k;
		uint32_t cip, sip;
		uint16_t cport, sport;
	} listed[MAX_LISTED];
};

struct gen {
	struct rng	 st;		/* structure: kinds, sizes, addresses */
	struct rng	 fill;		/* ciphertext offsets */
	double		 body_scale;
	uint8_t		*randpool;
	char		*text;		/* lines of message text */
	size_t		 textlen;
	uint32_t	*lines;		/* offsets of line starts in text */
	size_t		 nlines;
	uint8_t		*cert;
	size_t		 certlen;
	FILE		*fp;
	struct summary	 sum;
	uint8_t		 scratch[SCRATCH];
	uint8_t		 frame[FRAME_MAX];
};

static void	 fatal(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

static void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "gen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* ---------------------------------------------------------------- rng */

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
	int	 i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(struct rng *r)
{
	uint64_t res = rotl(r->s[1] * 5, 7) * 9, t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return res;
}

/* Uniform in [0, n); n > 0. The tiny modulo bias does not matter here. */
static uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)((rng_next(r) >> 32) % n);
}

/* Log-uniform in [lo, hi]: many small, few large, like mail sizes. */
static uint32_t
rng_logu(struct rng *r, uint32_t lo, uint32_t hi)
{
	double	 u = (double)(rng_next(r) >> 11) / 9007199254740992.0;

	return (uint32_t)(lo * exp(u * log((double)hi / lo)));
}

/* -------------------------------------------------------------- bytes */

struct bb {
	uint8_t		*p;
	size_t		 len, cap;
};

static void
bb_need(struct bb *b, size_t n)
{
	if (n > b->cap - b->len)
		fatal("message larger than the scratch buffer");
}

static void
put8(struct bb *b, unsigned v)
{
	bb_need(b, 1);
	b->p[b->len++] = (uint8_t)v;
}

static void
put16(struct bb *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void
put24(struct bb *b, unsigned v)
{
	put8(b, v >> 16);
	put16(b, v & 0xffff);
}

static void
putn(struct bb *b, const void *p, size_t n)
{
	bb_need(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
puts_(struct bb *b, const char *s)
{
	putn(b, s, strlen(s));
}

static void
putf(struct bb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
putf(struct bb *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf((char *)b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		fatal("line larger than the scratch buffer");
	b->len += (size_t)n;
}

/* Random bytes: a slice of the pool at a random offset. */
static void
putrand(struct gen *g, struct bb *b, size_t n)
{
	size_t	 off;

	if (n > RAND_POOL)
		fatal("random run too long");
	off = rng_below(&g->fill, RAND_POOL - (uint32_t)n + 1);
	putn(b, g->randpool + off, n);
}

/* Open a length field of w bytes; close it with len_end. */
static size_t
len_begin(struct bb *b, int w)
{
	size_t	 at = b->len;

	while (w-- > 0)
		put8(b, 0);
	return at;
}

static void
len_end(struct bb *b, size_t at, int w)
{
	size_t	 n = b->len - at - (size_t)w;
	int	 i;

	for (i = w - 1; i >= 0; i--, n >>= 8)
		b->p[at + (size_t)i] = (uint8_t)n;
}

static void
bb_init(struct gen *g, struct bb *b)
{
	b->p = g->scratch;
	b->len = 0;
	b->cap = sizeof(g->scratch);
}

/* ----------------------------------------------------------- frames */

static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t	 i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
be32(uint8_t *p, uint32_t v)
{
	be16(p, v >> 16);
	be16(p + 2, v & 0xffff);
}

static void
slot_append(struct slot *sl, uint64_t ts, const uint8_t *p, size_t n)
{
	size_t	 need = sl->len + REC_HDR + n;

	if (need > sl->cap) {
		size_t	 ncap = sl->cap ? sl->cap : 65536;

		while (ncap < need)
			ncap *= 2;
		if ((sl->buf = realloc(sl->buf, ncap)) == NULL)
			fatal("out of memory");
		sl->cap = ncap;
	}
	memcpy(sl->buf + sl->len, &ts, 8);
	memcpy(sl->buf + sl->len + 8, &(uint32_t){ (uint32_t)n }, 4);
	memcpy(sl->buf + sl->len + REC_HDR, p, n);
	sl->len = need;
}

/* One segment from side with flags and payload, at c->now. */
static void
emit(struct gen *g, struct conn *c, int side, unsigned flags,
    const uint8_t *data, size_t n)
{
	static const uint8_t mac[2][6] = {
		{ 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 },	/* client side router */
		{ 0x02, 0x00, 0x5e, 0x20, 0x00, 0x02 },	/* server */
	};
	uint8_t	*f = g->frame, *ip = f + ETH_HDR, *tcp = ip + IP_HDR;
	size_t	 opt = (flags & SYN) ? SYN_OPTS : 0, tl = TCP_HDR + opt + n;
	uint32_t sum;
	int	 other = 1 - side;

	memcpy(f, mac[other], 6);
	memcpy(f + 6, mac[side], 6);
	be16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = 0;
	be16(ip + 2, (unsigned)(IP_HDR + tl));
	be16(ip + 4, c->ipid[side]++);
	be16(ip + 6, 0x4000);			/* DF */
	ip[8] = c->ttl[side];
	ip[9] = 6;
	be16(ip + 10, 0);
	be32(ip + 12, c->ip[side]);
	be32(ip + 16, c->ip[other]);
	be16(ip + 10, csum_fold(csum_add(0, ip, IP_HDR)));
	be16(tcp, c->port[side]);
	be16(tcp + 2, c->port[other]);
	be32(tcp + 4, (flags & SYN) ? c->nxt[side] - 1 : c->nxt[side]);
	be32(tcp + 8, (flags & ACK) ? c->nxt[other] : 0);
	tcp[12] = (uint8_t)(((TCP_HDR + opt) / 4) << 4);
	tcp[13] = (uint8_t)flags;
	be16(tcp + 14, side == C ? 64240 : 65160);
	be16(tcp + 16, 0);
	be16(tcp + 18, 0);
	if (opt) {
		static const uint8_t o[SYN_OPTS] = {
			2, 4, MSS >> 8, MSS & 0xff,	/* MSS */
			4, 2,				/* SACK permitted */
			8, 10, 0, 0, 0, 1, 0, 0, 0, 0,	/* timestamps */
			1,				/* NOP */
			3, 3, 7,			/* window scale */
		};
		memcpy(tcp + TCP_HDR, o, SYN_OPTS);
	}
	if (n > 0)
		memcpy(tcp + TCP_HDR + opt, data, n);
	sum = csum_add(0, ip + 12, 8);
	sum += 6 + (uint32_t)tl;
	sum = csum_add(sum, tcp, tl);
	be16(tcp + 16, csum_fold(sum));
	slot_append(c->out, c->now, f, ETH_HDR + IP_HDR + tl);
}

static void
conn_init(struct conn *c, struct gen *g, struct slot *out, uint32_t cip,
    uint16_t cport, uint32_t sip, uint16_t sport, uint64_t start)
{
	memset(c, 0, sizeof(*c));
	c->ip[C] = cip;
	c->ip[S] = sip;
	c->port[C] = cport;
	c->port[S] = sport;
	c->nxt[C] = (uint32_t)rng_next(&g->st) + 1;	/* after the SYN */
	c->nxt[S] = (uint32_t)rng_next(&g->st) + 1;
	c->ipid[C] = (uint16_t)rng_next(&g->st);
	c->ipid[S] = (uint16_t)rng_next(&g->st);
	c->ttl[C] = (uint8_t)(40 + rng_below(&g->st, 24));
	c->ttl[S] = 64;
	c->now = start;
	c->last = -1;
	c->out = out;
}

static void
handshake(struct gen *g, struct conn *c)
{
	emit(g, c, C, SYN, NULL, 0);
	c->now += RTT_US / 2;
	emit(g, c, S, SYN | ACK, NULL, 0);
	c->now += RTT_US / 2;
	emit(g, c, C, ACK, NULL, 0);
	c->now += THINK_US;
}

/* side's peer acknowledges everything it has received. */
static void
ack(struct gen *g, struct conn *c, int side)
{
	emit(g, c, side, ACK, NULL, 0);
	c->unacked[1 - side] = 0;
}

/* A side takes the turn: if it spoke last, the peer ACKs first. */
static void
turn_begin(struct gen *g, struct conn *c, int side)
{
	if (c->last == side) {
		ack(g, c, 1 - side);
		c->now += THINK_US;
	}
}

/* The turn ends: half a round trip and the peer's thinking pass. */
static void
turn_end(struct conn *c, int side)
{
	c->unacked[side] = 0;
	c->last = side;
	c->now += RTT_US / 2 + THINK_US;
}

/*
 * side writes n bytes: MSS segments STEP_US apart, the peer ACKing every
 * second full one, as Linux does with delayed ACKs in bulk transfer.
 */
static void
segs(struct gen *g, struct conn *c, int side, const uint8_t *p, size_t n)
{
	size_t	 part;

	while (n > 0) {
		part = n > MSS ? MSS : n;
		emit(g, c, side, ACK | (part == n ? PSH : 0), p, part);
		c->nxt[side] += (uint32_t)part;
		p += part;
		n -= part;
		if (part == MSS && ++c->unacked[side] == 2)
			ack(g, c, 1 - side);
		c->now += STEP_US;
	}
}

/* One turn of side: n bytes in one flight. */
static void
say(struct gen *g, struct conn *c, int side, const uint8_t *p, size_t n)
{
	turn_begin(g, c, side);
	segs(g, c, side, p, n);
	turn_end(c, side);
}

static void
say_bb(struct gen *g, struct conn *c, int side, const struct bb *b)
{
	say(g, c, side, b->p, b->len);
}

static void
close_conn(struct gen *g, struct conn *c)
{
	if (c->last >= 0)
		ack(g, c, 1 - c->last);
	c->now += THINK_US;
	emit(g, c, C, FIN | ACK, NULL, 0);
	c->nxt[C]++;
	c->now += RTT_US / 2;
	emit(g, c, S, FIN | ACK, NULL, 0);
	c->nxt[S]++;
	c->now += RTT_US / 2;
	emit(g, c, C, ACK, NULL, 0);
}

/* ---------------------------------------------------------------- TLS */

static size_t
rec_begin(struct bb *b, unsigned type, unsigned version)
{
	put8(b, type);
	put16(b, version);
	return len_begin(b, 2);
}

static void
ext_sni(struct bb *b, const char *name)
{
	size_t	 e, l;

	put16(b, 0);				/* server_name */
	e = len_begin(b, 2);
	l = len_begin(b, 2);
	put8(b, 0);				/* host_name */
	put16(b, (unsigned)strlen(name));
	puts_(b, name);
	len_end(b, l, 2);
	len_end(b, e, 2);
}

/* A ClientHello as OpenSSL 3 sends it: TLS 1.3 and 1.2, SNI. */
static void
client_hello(struct gen *g, struct bb *b, const char *sni)
{
	static const uint16_t suites[] = { 0x1302, 0x1303, 0x1301, 0xc02c,
	    0xc030, 0xcca9, 0xcca8, 0xc02b, 0xc02f, 0x009f, 0x009e, 0x00ff };
	static const uint8_t tail[] = {
		0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02,	/* ec fmts */
		0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x1d, 0x00, 0x17,
		0x00, 0x1e, 0x00, 0x19, 0x00, 0x18,		/* groups */
		0x00, 0x23, 0x00, 0x00,				/* ticket */
		0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00,	/* etm, ems */
		0x00, 0x0d, 0x00, 0x0c, 0x00, 0x0a, 0x04, 0x03, 0x05, 0x03,
		0x06, 0x03, 0x08, 0x07, 0x08, 0x04,		/* sigalgs */
		0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03,
		0x00, 0x2d, 0x00, 0x02, 0x01, 0x01,		/* psk modes */
		0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20,
	};
	size_t	 r, h, x, i;

	r = rec_begin(b, 22, 0x0301);
	put8(b, 1);
	h = len_begin(b, 3);
	put16(b, 0x0303);
	putrand(g, b, 32);
	put8(b, 32);
	putrand(g, b, 32);
	put16(b, sizeof(suites));
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		put16(b, suites[i]);
	put8(b, 1);
	put8(b, 0);
	x = len_begin(b, 2);
	ext_sni(b, sni);
	putn(b, tail, sizeof(tail));
	putrand(g, b, 32);			/* x25519 key share */
	len_end(b, x, 2);
	len_end(b, h, 3);
	len_end(b, r, 2);
}

/* TLS 1.2: ServerHello, Certificate, ServerKeyExchange, ServerHelloDone. */
static void
server_flight_12(struct gen *g, struct bb *b)
{
	size_t	 r, h, l;

	r = rec_begin(b, 22, 0x0303);
	put8(b, 2);
	h = len_begin(b, 3);
	put16(b, 0x0303);
	putrand(g, b, 32);
	put8(b, 32);
	putrand(g, b, 32);
	put16(b, 0xc02f);		/* ECDHE-RSA-AES128-GCM-SHA256 */
	put8(b, 0);
	put16(b, 9);
	putn(b, "\xff\x01\x00\x01\x00\x00\x17\x00\x00", 9);
	len_end(b, h, 3);
	put8(b, 11);
	h = len_begin(b, 3);
	l = len_begin(b, 3);
	put24(b, (unsigned)g->certlen);
	putn(b, g->cert, g->certlen);
	len_end(b, l, 3);
	len_end(b, h, 3);
	put8(b, 12);
	h = len_begin(b, 3);
	putn(b, "\x03\x00\x17\x41\x04", 5);
	putrand(g, b, 64);
	putn(b, "\x04\x01\x01\x00", 4);
	putrand(g, b, 256);
	len_end(b, h, 3);
	put8(b, 14);
	put24(b, 0);
	len_end(b, r, 2);
}

/* TLS 1.3: ServerHello, the compatibility CCS, encrypted rest. */
static void
server_flight_13(struct gen *g, struct bb *b)
{
	size_t	 r, h;

	r = rec_begin(b, 22, 0x0303);
	put8(b, 2);
	h = len_begin(b, 3);
	put16(b, 0x0303);
	putrand(g, b, 32);
	put8(b, 32);
	putrand(g, b, 32);
	put16(b, 0x1302);
	put8(b, 0);
	put16(b, 46);
	putn(b, "\x00\x2b\x00\x02\x03\x04\x00\x33\x00\x24\x00\x1d\x00\x20",
	    14);
	putrand(g, b, 32);
	len_end(b, h, 3);
	len_end(b, r, 2);
	putn(b, "\x14\x03\x03\x00\x01\x01", 6);
	r = rec_begin(b, 23, 0x0303);
	putrand(g, b, 1580 + g->certlen);
	len_end(b, r, 2);
}

/* Application data records carrying n bytes of plaintext. */
static void
app_data(struct gen *g, struct bb *b, size_t n)
{
	size_t	 r, part;

	do {
		part = n > TLS_PLAIN_MAX ? TLS_PLAIN_MAX : n;
		r = rec_begin(b, 23, 0x0303);
		putrand(g, b, part + TLS_AEAD_OVER);
		len_end(b, r, 2);
		n -= part;
	} while (n > 0);
}

/* A large encrypted transfer, sent one record at a time. */
static void
say_app_data(struct gen *g, struct conn *c, int side, size_t n)
{
	struct bb b;
	size_t	 part;

	turn_begin(g, c, side);
	do {
		bb_init(g, &b);
		part = n > 3 * TLS_PLAIN_MAX ? 3 * TLS_PLAIN_MAX : n;
		app_data(g, &b, part);
		n -= part;
		segs(g, c, side, b.p, b.len);
	} while (n > 0);
	turn_end(c, side);
}

static void
say_app(struct gen *g, struct conn *c, int side, size_t n)
{
	struct bb b;

	bb_init(g, &b);
	app_data(g, &b, n);
	say_bb(g, c, side, &b);
}

/*
 * Flight n (0-3) of a handshake after STARTTLS or on 443, version 12 or
 * 13: ClientHello; the server's hello (and certificate); the client's
 * finish; the server's finish (TLS 1.2 only: 1.3 has no flight 3).
 */
static void
tls_flight(struct gen *g, struct conn *c, int n, const char *sni, int v13)
{
	struct bb b;
	size_t	 r;

	bb_init(g, &b);
	switch (n) {
	case 0:
		client_hello(g, &b, sni);
		say_bb(g, c, C, &b);
		break;
	case 1:
		if (v13)
			server_flight_13(g, &b);
		else
			server_flight_12(g, &b);
		say_bb(g, c, S, &b);
		break;
	case 2:
		if (!v13) {
			r = rec_begin(&b, 22, 0x0303);
			putn(&b, "\x10\x00\x00\x42\x41\x04", 6);
			putrand(g, &b, 64);
			len_end(&b, r, 2);
		}
		putn(&b, "\x14\x03\x03\x00\x01\x01", 6);
		r = rec_begin(&b, v13 ? 23 : 22, 0x0303);
		putrand(g, &b, v13 ? 53 : 40);
		len_end(&b, r, 2);
		say_bb(g, c, C, &b);
		break;
	default:
		if (v13)
			break;
		putn(&b, "\x14\x03\x03\x00\x01\x01", 6);
		r = rec_begin(&b, 22, 0x0303);
		putrand(g, &b, 40);
		len_end(&b, r, 2);
		say_bb(g, c, S, &b);
		break;
	}
}

static void
tls_handshake(struct gen *g, struct conn *c, const char *sni, int v13)
{
	int	 n;

	for (n = 0; n < 4; n++)
		tls_flight(g, c, n, sni, v13);
}

static void
tls_close_notify(struct gen *g, struct conn *c, int side)
{
	struct bb b;
	size_t	 r;

	bb_init(g, &b);
	r = rec_begin(&b, 21, 0x0303);
	putrand(g, &b, 26);
	len_end(&b, r, 2);
	say_bb(g, c, side, &b);
}

/* --------------------------------------------------------------- SMTP */

static const char *const words[] = {
	"the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog",
	"while", "relay", "hosts", "queue", "deferred", "mail", "for",
	"later", "delivery", "and", "operators", "read", "their", "logs",
	"invoice", "attached", "please", "find", "meeting", "tomorrow",
	"regards", "report", "quarterly", "numbers", "review", "draft",
};

/* Lines of 60-76 characters, none starting with '.'. */
static void
text_init(struct gen *g)
{
	struct rng r;
	size_t	 cap = TEXT_POOL / 40, len = 0, w;

	rng_seed(&r, 0x7465787421ULL);
	if ((g->text = malloc(TEXT_POOL + 128)) == NULL ||
	    (g->lines = malloc(cap * sizeof(*g->lines))) == NULL)
		fatal("out of memory");
	while (len < TEXT_POOL && g->nlines < cap) {
		size_t	 start = len, target = 60 + rng_below(&r, 17);

		g->lines[g->nlines++] = (uint32_t)len;
		while (len - start < target) {
			w = rng_below(&r, sizeof(words) / sizeof(words[0]));
			if (len > start)
				g->text[len++] = ' ';
			memcpy(g->text + len, words[w], strlen(words[w]));
			len += strlen(words[w]);
		}
		g->text[len++] = '\r';
		g->text[len++] = '\n';
	}
	g->textlen = len;
}

/* A message of about n bytes, dot-terminated, written 48 KB at a time. */
static void
say_message(struct gen *g, struct conn *c, size_t n, unsigned id)
{
	struct bb b;
	size_t	 line, sent = 0, l0, l1;

	turn_begin(g, c, C);
	bb_init(g, &b);
	putf(&b, "Received: from client.example.org ([198.18.0.1])\r\n"
	    "\tby mx.example.net (Postfix) with ESMTP id %08X\r\n"
	    "Date: Sat, 28 Nov 2026 19:38:31 +0000\r\n"
	    "From: bob@example.org\r\nTo: alice@example.net\r\n"
	    "Subject: quarterly report %u\r\n"
	    "Message-Id: <%u.%08X@client.example.org>\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n",
	    id, id, id, (unsigned)rng_next(&g->st));
	line = rng_below(&g->st, (uint32_t)g->nlines);
	for (;;) {
		l0 = g->lines[line];
		l1 = line + 1 < g->nlines ? g->lines[line + 1] : g->textlen;
		line = line + 1 < g->nlines ? line + 1 : 0;
		if (sent + b.len + (l1 - l0) + 3 > n)
			break;
		if (b.len + (l1 - l0) + 3 > 48 * 1024) {
			segs(g, c, C, b.p, b.len);
			sent += b.len;
			bb_init(g, &b);
		}
		putn(&b, g->text + l0, l1 - l0);
	}
	puts_(&b, ".\r\n");
	segs(g, c, C, b.p, b.len);
	turn_end(c, C);
}

static void
line_out(struct gen *g, struct conn *c, int side, const char *s)
{
	struct bb b;

	bb_init(g, &b);
	puts_(&b, s);
	puts_(&b, "\r\n");
	say_bb(g, c, side, &b);
}

static const char *const ehlo_caps[] = {
	"PIPELINING", "SIZE 52428800", "VRFY", "ETRN", "STARTTLS",
	"ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING",
};

/* What a Cisco ASA lets through unchanged; others become X...X<letter>. */
static int
asa_known(const char *cap)
{
	static const char *const known[] = { "PIPELINING", "SIZE", "VRFY",
	    "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "CHUNKING" };
	size_t	 i, n = strcspn(cap, " =");

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == n && strncmp(known[i], cap, n) == 0)
			return 1;
	return 0;
}

/* The EHLO reply of host as a server of kind k (or an ASA) sends it. */
static void
ehlo_text(struct bb *b, const char *host, enum kind k)
{
	size_t	 i, n = sizeof(ehlo_caps) / sizeof(ehlo_caps[0]), j;
	char	 letter = 'A';

	putf(b, "250-%s\r\n", host);
	for (i = 0; i < n; i++) {
		const char *cap = ehlo_caps[i];
		char	 sep = i + 1 == n ? ' ' : '-';

		if (k == K_PLAIN && strcmp(cap, "STARTTLS") == 0)
			continue;
		if (k == K_CAP_MASKED && !asa_known(cap)) {
			putf(b, "250%c", sep);
			for (j = 1; j < strlen(cap); j++)
				put8(b, 'X');
			put8(b, (unsigned char)letter++);
			puts_(b, "\r\n");
		} else
			putf(b, "250%c%s\r\n", sep, cap);
	}
}

static void
ehlo_reply(struct gen *g, struct conn *c, const char *host, enum kind k)
{
	struct bb b;

	bb_init(g, &b);
	ehlo_text(&b, host, k);
	say_bb(g, c, S, &b);
}

/*
 * Right after the EHLO reply, a copy of it at the same sequence numbers
 * with the capabilities an ASA masks masked (as long as the real ones):
 * chaff that the first copy must win over, and a reassembly conflict.
 */
static void
ehlo_chaff(struct gen *g, struct conn *c, const char *host)
{
	struct bb b;
	uint32_t end = c->nxt[S];

	bb_init(g, &b);
	ehlo_text(&b, host, K_CAP_MASKED);
	c->nxt[S] -= (uint32_t)b.len;
	segs(g, c, S, b.p, b.len);
	if (c->nxt[S] != end)
		fatal("chaff of another length than the EHLO reply");
}

/* MAIL, RCPT, DATA, the message, QUIT in plaintext, lock-step: one turn
 * each. */
#define ENVELOPE_TURNS	10

static void
envelope_turn(struct gen *g, struct conn *c, int i, size_t body, unsigned id)
{
	static const char *const lines[ENVELOPE_TURNS] = {
		"MAIL FROM:<bob@example.org> SIZE=120000", "250 2.1.0 Ok",
		"RCPT TO:<alice@example.net>", "250 2.1.5 Ok", "DATA",
		"354 End data with <CR><LF>.<CR><LF>", NULL, NULL, "QUIT",
		"221 2.0.0 Bye",
	};
	char	 buf[128];

	if (i == 6) {
		say_message(g, c, body, id);
		return;
	}
	if (i == 7) {
		snprintf(buf, sizeof(buf), "250 2.0.0 Ok: queued as %08X", id);
		line_out(g, c, S, buf);
		return;
	}
	line_out(g, c, i % 2 == 0 ? C : S, lines[i]);
}

/* The same conversation inside TLS: record sizes only. */
static void
tls_envelope(struct gen *g, struct conn *c, size_t body)
{
	say_app(g, c, C, 40);			/* EHLO again */
	say_app(g, c, S, 180);			/* EHLO reply */
	say_app(g, c, C, 90);			/* MAIL, RCPT, DATA pipelined */
	say_app(g, c, S, 80);
	say_app_data(g, c, C, body);
	say_app(g, c, S, 45);
	say_app(g, c, C, 6);			/* QUIT */
	say_app(g, c, S, 20);
	tls_close_notify(g, c, S);
}

/* Servers: TLS-capable MXs and two that never offer STARTTLS. */
#define TLS_SERVERS	8
#define PLAIN_SERVERS	2

static void
pick_server(struct gen *g, enum kind k, uint32_t *ip, uint16_t *port,
    unsigned *n)
{
	if (k == K_PLAIN) {
		*n = rng_below(&g->st, PLAIN_SERVERS);
		*ip = 0x0a020001 + *n;			/* 10.2.0.x */
		*port = 25;
		*n += 100;
		return;
	}
	*n = rng_below(&g->st, TLS_SERVERS);
	*ip = 0x0a010001 + *n;				/* 10.1.0.x */
	*port = *n >= 6 ? 587 : 25;
}

static void
list_session(struct gen *g, enum kind k, const struct conn *c)
{
	struct summary *s = &g->sum;

	if (s->nlisted >= MAX_LISTED)
		return;
	s->listed[s->nlisted].k = k;
	s->listed[s->nlisted].cip = c->ip[C];
	s->listed[s->nlisted].sip = c->ip[S];
	s->listed[s->nlisted].cport = c->port[C];
	s->listed[s->nlisted].sport = c->port[S];
	s->nlisted++;
}

/* One turn of a scripted SMTP session (struct sess.script). */
enum turn {
	T_OPEN,			/* handshake and greeting */
	T_EHLO,
	T_EHLO_REPLY,
	T_EHLO_CHAFF,		/* a masked copy of the EHLO reply */
	T_STARTTLS,
	T_TLS_READY,		/* 220 to STARTTLS */
	T_MASKED_CMD,		/* XXXXXXXX instead of STARTTLS */
	T_NOT_RECOGNIZED,	/* 502 to it */
	T_TLS_REFUSED,		/* 454 to STARTTLS */
	T_FLIGHT,		/* T_FLIGHT + n: handshake flight n */
	T_ENVELOPE = T_FLIGHT + 4, /* T_ENVELOPE + i: plaintext turn i */
	T_TLS_MAIL = T_ENVELOPE + ENVELOPE_TURNS, /* the mail inside TLS */
	T_TLS_RECORD,		/* a short TLS record, either side */
	T_IDLE,			/* TLS records now and then until the trace
				   ends (concurrent trace, scheduler) */
	T_CLOSE,		/* FIN both ways */
	T_END
};

#define SCRIPT_MAX	20

/* How a session goes on once its TLS handshake is over. */
enum tls_style {
	TLS_WHOLE_MAIL,		/* the mail, then close */
	TLS_SHORT,		/* a few short records, then close */
	TLS_LINGER		/* short records until the trace ends */
};

struct sess {
	struct conn	 c;
	enum kind	 k;
	uint32_t	 body;		/* message bytes */
	uint32_t	 id;		/* queue id */
	uint16_t	 srv;		/* server number */
	uint16_t	 start;		/* concurrent: round of the first turn */
	uint8_t		 turn;		/* index into script */
	uint8_t		 linger;	/* concurrent: TLS_LINGER */
	uint8_t		 script[SCRIPT_MAX]; /* enum turn, up to T_END */
};

static void
script_build(struct sess *s, enum tls_style style)
{
	uint8_t	*t = s->script;
	size_t	 n = 0;
	int	 i;

	t[n++] = T_OPEN;
	t[n++] = T_EHLO;
	t[n++] = T_EHLO_REPLY;
	if (s->k == K_CONFLICT)
		t[n++] = T_EHLO_CHAFF;
	if (s->k == K_TLS12 || s->k == K_TLS13 || s->k == K_CONFLICT) {
		t[n++] = T_STARTTLS;
		t[n++] = T_TLS_READY;
		for (i = 0; i < 4; i++)
			t[n++] = (uint8_t)(T_FLIGHT + i);
		if (style == TLS_WHOLE_MAIL)
			t[n++] = T_TLS_MAIL;
		else {
			if (style == TLS_LINGER)
				t[n++] = T_IDLE;
			for (i = 0; i < 4; i++)
				t[n++] = T_TLS_RECORD;
		}
	} else {
		if (s->k == K_CMD_MASKED) {
			t[n++] = T_MASKED_CMD;
			t[n++] = T_NOT_RECOGNIZED;
		} else if (s->k == K_REFUSED) {
			t[n++] = T_STARTTLS;
			t[n++] = T_TLS_REFUSED;
		}
		for (i = 0; i < ENVELOPE_TURNS; i++)
			t[n++] = (uint8_t)(T_ENVELOPE + i);
	}
	t[n++] = T_CLOSE;
	t[n++] = T_END;
	if (n > SCRIPT_MAX)
		fatal("script too long");
}

/*
 * A session of kind k from time start, rendered into out. Client address
 * cip, or 0 for a random one in 198.18/15.
 */
static void
sess_init(struct gen *g, struct sess *s, enum kind k, struct slot *out,
    uint64_t start, uint32_t cip, enum tls_style style)
{
	uint32_t sip;
	uint16_t sport, cport;
	unsigned srv;
	size_t	 body;

	memset(s, 0, sizeof(*s));
	pick_server(g, k, &sip, &sport, &srv);
	if (cip == 0)
		cip = 0xc6120000 | rng_below(&g->st, 1u << 17);
	cport = (uint16_t)(1024 + rng_below(&g->st, 64512));
	body = rng_logu(&g->st, BODY_MIN, BODY_MAX);
	s->body = (uint32_t)((double)body * g->body_scale);
	s->id = (uint32_t)rng_next(&g->st);
	s->k = k;
	s->srv = (uint16_t)srv;
	conn_init(&s->c, g, out, cip, cport, sip, sport, start);
	script_build(s, style);
}

static void
turn_run(struct gen *g, struct sess *s, int t)
{
	struct conn *c = &s->c;
	char	 host[64], buf[160];

	snprintf(host, sizeof(host), "mx%u.example.net", s->srv);
	switch (t) {
	case T_OPEN:
		handshake(g, c);
		snprintf(buf, sizeof(buf), "220 %s ESMTP Postfix (Debian/GNU)",
		    host);
		line_out(g, c, S, buf);
		break;
	case T_EHLO:
		line_out(g, c, C, "EHLO client.example.org");
		break;
	case T_EHLO_REPLY:
		ehlo_reply(g, c, host, s->k == K_CONFLICT ? K_TLS12 : s->k);
		break;
	case T_EHLO_CHAFF:
		ehlo_chaff(g, c, host);
		break;
	case T_STARTTLS:
		line_out(g, c, C, "STARTTLS");
		break;
	case T_TLS_READY:
		line_out(g, c, S, "220 2.0.0 Ready to start TLS");
		break;
	case T_MASKED_CMD:
		line_out(g, c, C, "XXXXXXXX");
		break;
	case T_NOT_RECOGNIZED:
		line_out(g, c, S, "502 5.5.2 Error: command not recognized");
		break;
	case T_TLS_REFUSED:
		line_out(g, c, S, "454 4.7.0 TLS not available due to "
		    "local problem");
		break;
	case T_TLS_MAIL:
		tls_envelope(g, c, s->body);
		break;
	case T_TLS_RECORD:
	case T_IDLE:
		say_app(g, c, rng_below(&g->st, 2) ? S : C,
		    20 + rng_below(&g->st, 200));
		break;
	case T_CLOSE:
		close_conn(g, c);
		break;
	default:
		if (t >= T_ENVELOPE)
			envelope_turn(g, c, t - T_ENVELOPE, s->body, s->id);
		else
			tls_flight(g, c, t - T_FLIGHT, host, s->k == K_TLS13);
		break;
	}
}

/* One SMTP session of kind k, rendered into sl from time start. */
static void
smtp_session(struct gen *g, struct slot *sl, enum kind k, uint64_t start)
{
	struct sess s;

	sess_init(g, &s, k, sl, start, 0, TLS_WHOLE_MAIL);
	for (s.turn = 0; s.script[s.turn] != T_END; s.turn++)
		turn_run(g, &s, s.script[s.turn]);
	if (kind_outcome[k] != NULL && strcmp(kind_outcome[k], "tls") != 0)
		list_session(g, k, &s.c);
}

static enum kind
pick_kind(struct gen *g)
{
	unsigned r = rng_below(&g->st, 1000);
	size_t	 i;

	for (i = 0; i < sizeof(mix) / sizeof(mix[0]); i++)
		if (r < mix[i].permille)
			return mix[i].k;
	return K_TLS12;
}

/* Bulk HTTPS: TLS 1.3 handshake, 1-3 requests, large responses. */
static void
https_session(struct gen *g, struct slot *sl, uint64_t start)
{
	struct conn c;
	unsigned n = 1 + rng_below(&g->st, 2), i, srv;
	char	 sni[64];

	srv = rng_below(&g->st, 64);
	conn_init(&c, g, sl, 0xc0a80000 | rng_below(&g->st, 65536),
	    (uint16_t)(32768 + rng_below(&g->st, 28000)), 0xcb007100 + srv,
	    443, start);
	snprintf(sni, sizeof(sni), "cdn%u.example.com", srv);
	handshake(g, &c);
	tls_handshake(g, &c, sni, rng_below(&g->st, 4) != 0);
	for (i = 0; i < n; i++) {
		say_app(g, &c, C, 300 + rng_below(&g->st, 400));
		say_app_data(g, &c, S, (size_t)((double)rng_logu(&g->st,
		    HTTPS_MIN, HTTPS_MAX) * g->body_scale));
	}
	tls_close_notify(g, &c, C);
	close_conn(g, &c);
}

/* ------------------------------------------------------------- output */

static void
out_write(struct gen *g, const void *p, size_t n)
{
	if (fwrite(p, 1, n, g->fp) != n)
		fatal("write: %s", strerror(errno));
	g->sum.file_bytes += n;
}

static void
pcap_header(struct gen *g)
{
	uint32_t h[6] = { 0xa1b2c3d4, 2 | (4u << 16), 0, 0, SNAPLEN, 1 };

	out_write(g, h, sizeof(h));
}

static void
pcap_frame(struct gen *g, uint64_t ts, const uint8_t *p, uint32_t n)
{
	uint32_t h[4] = { (uint32_t)(ts / 1000000), (uint32_t)(ts % 1000000),
	    n, n };

	out_write(g, h, sizeof(h));
	out_write(g, p, n);
	g->sum.frames++;
	g->sum.wire_bytes += n;
}

static void
slot_load(struct slot *sl)
{
	uint64_t ts;

	if (sl->pos >= sl->len) {
		sl->next_ts = UINT64_MAX;
		return;
	}
	memcpy(&ts, sl->buf + sl->pos, 8);
	sl->next_ts = ts;
}

static void
slot_reset(struct slot *sl)
{
	sl->len = sl->pos = 0;
}

/* Write the slot's next frame; return its wire length. */
static uint32_t
slot_pop(struct gen *g, struct slot *sl)
{
	uint32_t n;

	memcpy(&n, sl->buf + sl->pos + 8, 4);
	pcap_frame(g, sl->next_ts, sl->buf + sl->pos + REC_HDR, n);
	sl->free_at = sl->next_ts;
	sl->pos += REC_HDR + n;
	slot_load(sl);
	return n;
}

/* ------------------------------------------------------------- traces */

struct plan {
	unsigned	 nslots;
	uint64_t	 sessions;	/* mail: SMTP sessions to write */
	uint64_t	 bytes;		/* uplink: wire bytes to write */
	uint64_t	 syns;		/* synflood: SYNs to write */
	uint64_t	 syn_gap_us;	/* between SYNs */
	unsigned	 real;		/* synflood: real sessions */
	unsigned	 concurrent;	/* concurrent: sessions */
};

/* What the next session in a slot is; NKINDS when none is due. */
static enum kind
next_kind(struct gen *g, const struct plan *pl, uint64_t started)
{
	const struct summary *s = &g->sum;
	uint64_t smtp = s->wire_bytes - s->kind_bytes[K_HTTPS];

	if (pl->sessions > 0)
		return started < pl->sessions ? pick_kind(g) : NKINDS;
	if (pl->bytes > 0) {
		if (s->wire_bytes >= pl->bytes)
			return NKINDS;
		return smtp * 19 < s->kind_bytes[K_HTTPS] ? pick_kind(g) :
		    K_HTTPS;
	}
	if (started >= pl->real)
		return NKINDS;
	/* every fourth real session inside the flood has a masked STARTTLS */
	return started % 4 == 1 ? K_CAP_MASKED : pick_kind(g);
}

static uint64_t
next_start(struct gen *g, const struct plan *pl, const struct slot *sl,
    uint64_t started)
{
	uint64_t t = sl->free_at + 1000 + rng_below(&g->st, 20000);
	uint64_t due;

	if (pl->real > 0) {
		due = BASE_TS_US + 50000 + started * (pl->syns *
		    pl->syn_gap_us / (pl->real + 1));
		if (due > t)
			t = due;
	}
	return t;
}

/* Fill an empty slot with its next session; 0 when none is due. */
static int
refill(struct gen *g, const struct plan *pl, struct slot *sl,
    uint64_t *started, enum kind *kinds, unsigned idx)
{
	enum kind k = next_kind(g, pl, *started);
	uint64_t start;

	if (k == NKINDS)
		return 0;
	start = next_start(g, pl, sl, *started);
	slot_reset(sl);
	if (k == K_HTTPS)
		https_session(g, sl, start);
	else
		smtp_session(g, sl, k, start);
	kinds[idx] = k;
	g->sum.kinds[k]++;
	(*started)++;
	slot_load(sl);
	return 1;
}

/* The flood's next SYN: distinct sources, one server. */
static void
flood_syn(struct gen *g, uint64_t i, uint64_t ts)
{
	static uint8_t buf[REC_HDR + FRAME_MAX];	/* one frame at a time */
	struct slot tmp = { 0 };
	struct conn c;
	uint32_t src = 0x64400000 | (uint32_t)((i * 2654435761u) & 0x3fffff);

	tmp.buf = buf;
	tmp.cap = sizeof(buf);
	conn_init(&c, g, &tmp, src, (uint16_t)(1024 + rng_below(&g->st,
	    64512)), 0x0a010001, 25, ts);
	emit(g, &c, C, SYN, NULL, 0);
	pcap_frame(g, ts, buf + REC_HDR, (uint32_t)tmp.len - REC_HDR);
	g->sum.syns++;
}

static void
run(struct gen *g, const struct plan *pl)
{
	struct slot slots[MAX_SLOTS];
	enum kind kinds[MAX_SLOTS];
	uint64_t started = 0, syn = 0, syn_ts = BASE_TS_US;
	unsigned i, best;
	int	 live = 0;

	memset(slots, 0, sizeof(slots));
	for (i = 0; i < pl->nslots; i++) {
		slots[i].free_at = BASE_TS_US + i * 3000;
		slots[i].next_ts = UINT64_MAX;
		live += refill(g, pl, &slots[i], &started, kinds, i);
	}
	while (live > 0 || syn < pl->syns) {
		best = MAX_SLOTS;
		for (i = 0; i < pl->nslots; i++)
			if (slots[i].next_ts != UINT64_MAX && (best ==
			    MAX_SLOTS || slots[i].next_ts <
			    slots[best].next_ts))
				best = i;
		if (syn < pl->syns && (best == MAX_SLOTS ||
		    syn_ts <= slots[best].next_ts)) {
			flood_syn(g, syn++, syn_ts);
			syn_ts += pl->syn_gap_us;
			continue;
		}
		if (best == MAX_SLOTS)
			break;
		g->sum.kind_bytes[kinds[best]] += slot_pop(g, &slots[best]);
		if (slots[best].next_ts == UINT64_MAX &&
		    !refill(g, pl, &slots[best], &started, kinds, best))
			live--;
	}
	for (i = 0; i < pl->nslots; i++)
		free(slots[i].buf);
}

/* --------------------------------------------------------- concurrent */

/*
 * The concurrent trace: n SMTP sessions all open at once, each advanced
 * one turn at a time in rounds (in a new random order every round), so
 * the flow table has to hold all of them. Half of them ("lingering") go
 * through STARTTLS and the TLS handshake first and then only send a short
 * TLS record now and then until every other session has ended: nothing
 * is left to learn from them, yet they stay as recently active as the
 * rest. The others start over CONC_WAVE_ROUNDS rounds and think between
 * turns, like servers doing DNS and policy lookups; 1% of n each are
 * capability masked, command masked, refused, and TLS sessions whose EHLO
 * reply is followed by a conflicting copy; the rest follow the mail mix
 * without tampering.
 */
#define CONC_DEFAULT		100000
#define CONC_MAX		(1u << 17)	/* one client address each */
#define CONC_EARLY_ROUNDS	12	/* rounds before the others start */
#define CONC_WAVE_ROUNDS	10	/* rounds over which they start */
#define CONC_FRAME_US		20	/* between frames */
#define CONC_BODY_MIN		300	/* message bytes, log-uniform */
#define CONC_BODY_MAX		3000
#define CONC_IDLE_PERMILLE	400	/* a lingering session speaks */
#define CONC_THINK_PERMILLE	500	/* a session waits for a round */

/* Render turn t of s and write its frames, CONC_FRAME_US apart. */
static void
conc_turn(struct gen *g, struct sess *s, int t, uint64_t *clock)
{
	struct slot *sl = s->c.out;
	uint32_t n;

	slot_reset(sl);
	turn_run(g, s, t);
	while (sl->pos < sl->len) {
		memcpy(&n, sl->buf + sl->pos + 8, 4);
		pcap_frame(g, *clock, sl->buf + sl->pos + REC_HDR, n);
		g->sum.kind_bytes[s->k] += n;
		sl->pos += REC_HDR + n;
		*clock += CONC_FRAME_US;
	}
}

/* The untampered part of the mail mix. */
static enum kind
conc_ordinary(struct gen *g)
{
	enum kind k;

	do
		k = pick_kind(g);
	while (k == K_CAP_MASKED || k == K_CMD_MASKED || k == K_REFUSED);
	return k;
}

/* Kinds of which the trace has 1% each; each is listed and checked. */
static const enum kind conc_listed[] = {
	K_CAP_MASKED, K_CMD_MASKED, K_REFUSED, K_CONFLICT
};
#define CONC_NLISTED	(sizeof(conc_listed) / sizeof(conc_listed[0]))

static void
conc_init(struct gen *g, struct sess *ss, unsigned n, struct slot *out)
{
	unsigned i, nlinger = n / 2, ntamper = n / 100;
	enum kind k;
	int	 listed;

	for (i = 0; i < n; i++) {
		listed = i >= nlinger && i < nlinger + CONC_NLISTED * ntamper;
		if (i < nlinger)
			k = rng_below(&g->st, 820) < 700 ? K_TLS12 : K_TLS13;
		else if (listed)
			k = conc_listed[(i - nlinger) / ntamper];
		else
			k = conc_ordinary(g);
		sess_init(g, &ss[i], k, out, 0, 0xc6120000 + i,
		    i < nlinger ? TLS_LINGER : TLS_SHORT);
		/* short messages: the table's size is the point here */
		ss[i].body = rng_logu(&g->st, CONC_BODY_MIN, CONC_BODY_MAX);
		ss[i].linger = i < nlinger;
		ss[i].start = (uint16_t)(i < nlinger ? rng_below(&g->st, 4) :
		    CONC_EARLY_ROUNDS + rng_below(&g->st, CONC_WAVE_ROUNDS));
		g->sum.kinds[k]++;
		if (listed)
			list_session(g, k, &ss[i].c);
	}
	g->sum.concurrent = n;
	g->sum.lingering = nlinger;
}

/* Whether s takes its next turn this round (else: none, or it waits). */
static int
conc_due(struct gen *g, struct sess *s, unsigned round, unsigned others)
{
	if (s->script[s->turn] == T_END || s->start > round)
		return 0;
	if (s->script[s->turn] == T_IDLE) {
		if (others == 0) {
			s->turn++;	/* the end: close */
			return 1;
		}
		return -(rng_below(&g->st, 1000) < CONC_IDLE_PERMILLE);
	}
	return s->linger || round == s->start ||
	    rng_below(&g->st, 1000) >= CONC_THINK_PERMILLE;
}

static void
conc_run(struct gen *g, unsigned n)
{
	struct sess *ss;
	struct slot tmp;
	uint32_t *order, x;
	uint64_t clock = BASE_TS_US;
	unsigned round, i, j, active = n, others = n - n / 2;
	int	 due;

	if (n < 200 || n > CONC_MAX)
		fatal("concurrent: -n must be 200..%u", CONC_MAX);
	if ((ss = calloc(n, sizeof(*ss))) == NULL ||
	    (order = malloc(n * sizeof(*order))) == NULL)
		fatal("out of memory");
	memset(&tmp, 0, sizeof(tmp));
	conc_init(g, ss, n, &tmp);
	for (i = 0; i < n; i++)
		order[i] = i;
	for (round = 0; active > 0; round++) {
		for (i = n - 1; i > 0; i--) {
			j = rng_below(&g->st, i + 1);
			x = order[i];
			order[i] = order[j];
			order[j] = x;
		}
		for (i = 0; i < n; i++) {
			struct sess *s = &ss[order[i]];

			if ((due = conc_due(g, s, round, others)) == 0)
				continue;
			if (due < 0) {		/* lingering: a record */
				conc_turn(g, s, T_IDLE, &clock);
				continue;
			}
			conc_turn(g, s, s->script[s->turn], &clock);
			if (s->script[++s->turn] == T_END) {
				active--;
				if (!s->linger)
					others--;
			}
		}
	}
	free(tmp.buf);
	free(order);
	free(ss);
}

/* --------------------------------------------------------------- JSON */

static void
ip_str(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
	    (ip >> 8) & 0xff, ip & 0xff);
}

static void
write_json(struct gen *g, const char *path, const char *trace,
    uint64_t seed)
{
	struct summary *s = &g->sum;
	FILE	*fp;
	char	 a[16], b[16];
	uint64_t outcomes[NKINDS] = { 0 };
	unsigned i, j;
	int	 first;

	if ((fp = fopen(path, "w")) == NULL)
		fatal("%s: %s", path, strerror(errno));
	fprintf(fp, "{\n  \"trace\": \"%s\",\n  \"seed\": %" PRIu64 ",\n"
	    "  \"body_scale\": %g,\n  \"frames\": %" PRIu64 ",\n"
	    "  \"wire_bytes\": %" PRIu64 ",\n  \"file_bytes\": %" PRIu64 ",\n"
	    "  \"syns\": %" PRIu64 ",\n  \"concurrent\": %u,\n"
	    "  \"lingering\": %u,\n  \"kinds\": {", trace, seed,
	    g->body_scale, s->frames, s->wire_bytes, s->file_bytes, s->syns,
	    s->concurrent, s->lingering);
	for (i = 0; i < NKINDS; i++)
		fprintf(fp, "%s\"%s\": %" PRIu64, i ? ", " : "",
		    kind_names[i], s->kinds[i]);
	fprintf(fp, "},\n  \"kind_wire_bytes\": {");
	for (i = 0; i < NKINDS; i++)
		fprintf(fp, "%s\"%s\": %" PRIu64, i ? ", " : "",
		    kind_names[i], s->kind_bytes[i]);
	fprintf(fp, "},\n  \"outcomes\": {");
	first = 1;
	for (i = 0; i < NKINDS; i++) {
		if (kind_outcome[i] == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (kind_outcome[j] != NULL &&
			    strcmp(kind_outcome[i], kind_outcome[j]) == 0)
				break;
		if (j < i)
			continue;
		for (j = i; j < NKINDS; j++)
			if (kind_outcome[j] != NULL &&
			    strcmp(kind_outcome[i], kind_outcome[j]) == 0)
				outcomes[i] += s->kinds[j];
		fprintf(fp, "%s\"%s\": %" PRIu64, first ? "" : ", ",
		    kind_outcome[i], outcomes[i]);
		first = 0;
	}
	fprintf(fp, "},\n  \"sessions_listed\": [");
	for (i = 0; i < s->nlisted; i++) {
		ip_str(s->listed[i].cip, a, sizeof(a));
		ip_str(s->listed[i].sip, b, sizeof(b));
		fprintf(fp, "%s\n    {\"kind\": \"%s\", \"outcome\": \"%s\", "
		    "\"client_ip\": \"%s\", \"client_port\": %u, "
		    "\"server_ip\": \"%s\", \"server_port\": %u}",
		    i ? "," : "", kind_names[s->listed[i].k],
		    kind_outcome[s->listed[i].k], a, s->listed[i].cport, b,
		    s->listed[i].sport);
	}
	fprintf(fp, "\n  ]\n}\n");
	if (fclose(fp) == EOF)
		fatal("%s: %s", path, strerror(errno));
}

/* ---------------------------------------------------------------- main */

static void
load_cert(struct gen *g, const char *path)
{
	FILE	*fp;
	long	 n;

	if (path == NULL) {		/* a DER-shaped stand-in */
		g->certlen = 900;
		if ((g->cert = malloc(g->certlen)) == NULL)
			fatal("out of memory");
		memcpy(g->cert, g->randpool, g->certlen);
		memcpy(g->cert, "\x30\x82\x03\x80", 4);
		return;
	}
	if ((fp = fopen(path, "rb")) == NULL)
		fatal("%s: %s", path, strerror(errno));
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) <= 0 ||
	    n > 16384 || fseek(fp, 0, SEEK_SET) == -1)
		fatal("%s: not a certificate of a sane size", path);
	g->certlen = (size_t)n;
	if ((g->cert = malloc(g->certlen)) == NULL)
		fatal("out of memory");
	if (fread(g->cert, 1, g->certlen, fp) != g->certlen)
		fatal("%s: short read", path);
	fclose(fp);
}

static void
usage(void)
{
	fprintf(stderr, "usage: gen [-s seed] [-n count] [-b body_scale] "
	    "[-c cert.der] mail|uplink|synflood|concurrent FILE\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static struct gen g;
	struct plan pl;
	uint64_t seed = 1, n = 0;
	const char *cert = NULL, *trace;
	char	 json[4096];
	size_t	 i;
	int	 ch;

	g.body_scale = 1.0;
	while ((ch = getopt(argc, argv, "b:c:n:s:")) != -1) {
		switch (ch) {
		case 'b':
			g.body_scale = strtod(optarg, NULL);
			if (!(g.body_scale > 0 && g.body_scale <= 100))
				usage();
			break;
		case 'c':
			cert = optarg;
			break;
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	trace = argv[0];
	rng_seed(&g.st, seed);
	rng_seed(&g.fill, seed ^ 0x66696c6c);
	if ((g.randpool = malloc(RAND_POOL)) == NULL)
		fatal("out of memory");
	for (i = 0; i + 8 <= RAND_POOL; i += 8) {
		uint64_t v = rng_next(&g.fill);

		memcpy(g.randpool + i, &v, 8);
	}
	text_init(&g);
	load_cert(&g, cert);
	memset(&pl, 0, sizeof(pl));
	if (strcmp(trace, "mail") == 0) {
		pl.nslots = 32;
		pl.sessions = n ? n : 6000;
	} else if (strcmp(trace, "uplink") == 0) {
		pl.nslots = 16;
		pl.bytes = (n ? n : 400) * 1000000ULL;
	} else if (strcmp(trace, "synflood") == 0) {
		pl.nslots = 2;
		pl.syns = n ? n : 1000000;
		pl.syn_gap_us = 10;		/* 100k SYN/s */
		pl.real = 24;
	} else if (strcmp(trace, "concurrent") == 0)
		pl.concurrent = n ? (unsigned)n : CONC_DEFAULT;
	else
		usage();
	if ((g.fp = fopen(argv[1], "wb")) == NULL)
		fatal("%s: %s", argv[1], strerror(errno));
	setvbuf(g.fp, NULL, _IOFBF, 4 << 20);
	pcap_header(&g);
	if (pl.concurrent > 0)
		conc_run(&g, pl.concurrent);
	else
		run(&g, &pl);
	if (fclose(g.fp) == EOF)
		fatal("%s: %s", argv[1], strerror(errno));
	snprintf(json, sizeof(json), "%s.json", argv[1]);
	write_json(&g, json, trace, seed);
	free(g.randpool);
	free(g.text);
	free(g.lines);
	free(g.cert);
	return 0;
}
