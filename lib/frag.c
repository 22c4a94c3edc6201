/*
 * frag.c: holds IPv4 and IPv6 fragments until their datagram is whole,
 * within a memory cap, a datagram count and a timeout.
 *
 * A pending datagram is a sorted list of disjoint pieces. Overlap policy,
 * the same for IPv4 and IPv6, is the one Linux applies since the
 * FragmentSmack fixes (4.19) and RFC 5722 requires for IPv6: a fragment
 * whose bytes are all held already is a duplicate and is dropped (the copy
 * received first stays, whatever the duplicate says); a fragment that
 * overlaps held bytes only in part, or a final fragment that contradicts
 * the datagram's known end, discards the whole datagram, as the receiver
 * discards it. A sensor that rebuilt such a datagram would see bytes the
 * end host never accepted. Fragments are rare, so their bytes are
 * allocated as they come; every allocation is charged to the memcap first.
 */
#include <sys/queue.h>
#include <sys/types.h>

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "frag.h"
#include "hash.h"

/*
 * Pieces per datagram. 64 KiB over 576-byte links, the smallest MTU every
 * IPv4 host must accept, is 118 fragments; more is a crafted train of tiny
 * fragments, and every fragment costs a walk over the pieces.
 */
#define FRAG_MAX_PIECES		256

/* Largest IPv4 datagram: the total length field is 16 bits. */
#define FRAG_MAX_IPV4		65535

/* Largest IPv6 payload without the jumbo option (which is never fragmented). */
#define FRAG_MAX_IPV6_PAYLOAD	65535

/* Fragment offsets and the length of non-final fragments count 8 bytes. */
#define FRAG_UNIT		8

/*
 * IPv6 headers walked before the fragment header: hop-by-hop, destination,
 * routing (RFC 8200 4.5 unfragmentable part), with room for repeats.
 */
#define FRAG_MAX_IPV6_EXT	8

/* Buckets at most, whatever max_datagrams says: 8 MiB of list heads. */
#define FRAG_MAX_BUCKETS	(1u << 20)

#define IPV6_NH_HOPOPTS		0
#define IPV6_NH_ROUTING		43
#define IPV6_NH_FRAGMENT	44
#define IPV6_NH_DSTOPTS		60

/* Identity of a datagram; fully zeroed before filling so memcmp works. */
struct frag_key {
	uint8_t		 family;	/* 4 or 6 */
	uint8_t		 proto;		/* IPv4 protocol; 0 for IPv6, whose
					   fragments may disagree (RFC 8200) */
	uint8_t		 pad[2];
	uint32_t	 id;		/* identification */
	uint8_t		 src[16];
	uint8_t		 dst[16];
};

/* Bytes [off, off + len) of the datagram's fragmentable part. */
struct frag_piece {
	TAILQ_ENTRY(frag_piece) entry;	/* by offset, disjoint */
	uint32_t	 off;
	uint32_t	 len;
	uint8_t		 data[];
};

TAILQ_HEAD(frag_piece_list, frag_piece);

struct frag_dgram {
	struct frag_key	 key;
	uint64_t	 first_us;	/* first fragment's time */
	uint32_t	 total;		/* payload length, once have_last */
	uint32_t	 held;		/* payload bytes held */
	uint32_t	 npieces;	/* pieces in the list */
	uint8_t		 have_last;	/* the final fragment was seen */
	uint8_t		 nh;		/* IPv6: offset-0 fragment's next hdr */
	uint16_t	 nh_off;	/* IPv6: next-header byte to rewrite */
	uint16_t	 hdr_len;	/* unfragmentable part; 0 = not yet */
	uint8_t		*hdr;		/* from the offset-0 fragment */
	size_t		 mem;		/* bytes charged for this datagram */
	struct frag_piece_list pieces;
	LIST_ENTRY(frag_dgram) bucket;	/* hash chain */
	TAILQ_ENTRY(frag_dgram) age;	/* oldest first */
};

LIST_HEAD(frag_bucket, frag_dgram);
TAILQ_HEAD(frag_age, frag_dgram);

struct frag_table {
	struct frag_config cfg;
	struct frag_stats st;
	struct frag_bucket *buckets;
	uint32_t	 nbuckets;	/* a power of two */
	struct frag_age	 age;
	uint8_t		*out;		/* FRAG_MAX_DATAGRAM bytes */
};

/* One fragment as parsed from its IP header. */
struct frag_in {
	struct frag_key	 key;
	uint32_t	 off;		/* payload offset in the datagram */
	uint32_t	 len;		/* payload bytes */
	int		 more;		/* more fragments follow */
	const uint8_t	*data;		/* the payload */
	const uint8_t	*hdr;		/* unfragmentable part */
	uint16_t	 hdr_len;
	uint16_t	 nh_off;	/* IPv6 */
	uint8_t		 nh;		/* IPv6 */
};

/* Payload length rules shared by both families. */
static int
frag_len_ok(const struct frag_in *in)
{
	if (in->more && (in->len == 0 || in->len % FRAG_UNIT != 0))
		return 0;
	return (uint64_t)in->off + in->len <= FRAG_MAX_IPV6_PAYLOAD;
}

static int
parse_ipv4(const uint8_t *ip, uint32_t len, struct frag_in *in)
{
	uint32_t	 hl, total;
	uint16_t	 ff;

	if (len < 20 || ip[0] >> 4 != 4)
		return 0;
	hl = (ip[0] & 0x0fu) * 4;
	total = decode_be16(ip + 2);
	/* A capture cut short of the IP length cannot be rebuilt. */
	if (hl < 20 || total < hl || total > len)
		return 0;
	ff = decode_be16(ip + 6);
	in->off = (ff & 0x1fffu) * FRAG_UNIT;
	in->more = (ff & 0x2000) != 0;
	if (!in->more && in->off == 0)
		return 0;		/* not a fragment */
	in->key.family = 4;
	in->key.proto = ip[9];
	in->key.id = decode_be16(ip + 4);
	memcpy(in->key.src, ip + 12, 4);
	memcpy(in->key.dst, ip + 16, 4);
	in->hdr = ip;
	in->hdr_len = (uint16_t)hl;
	in->data = ip + hl;
	in->len = total - hl;
	return frag_len_ok(in);
}

/*
 * Find the fragment header after the unfragmentable part. At most
 * FRAG_MAX_IPV6_EXT headers of at most 2048 bytes precede it, so its
 * offset fits the 16-bit hdr_len.
 */
static int
parse_ipv6(const uint8_t *ip, uint32_t len, struct frag_in *in)
{
	uint32_t	 end, pos = 40, n;
	uint16_t	 offm;
	uint8_t		 nh;

	if (len < 40 || ip[0] >> 4 != 6)
		return 0;
	end = 40u + decode_be16(ip + 4);
	if (end > len)
		return 0;
	nh = ip[6];
	in->nh_off = 6;
	for (n = 0; nh != IPV6_NH_FRAGMENT; n++) {
		if (n >= FRAG_MAX_IPV6_EXT || (nh != IPV6_NH_HOPOPTS &&
		    nh != IPV6_NH_ROUTING && nh != IPV6_NH_DSTOPTS) ||
		    end - pos < 2)
			return 0;
		in->nh_off = (uint16_t)pos;
		nh = ip[pos];
		pos += (ip[pos + 1] + 1u) * 8;
		if (pos > end)
			return 0;
	}
	if (end - pos < 8)
		return 0;
	offm = decode_be16(ip + pos + 2);
	in->nh = ip[pos];
	in->off = offm & 0xfff8u;
	in->more = offm & 0x0001;
	in->key.family = 6;
	in->key.id = decode_be32(ip + pos + 4);
	memcpy(in->key.src, ip + 8, 16);
	memcpy(in->key.dst, ip + 24, 16);
	in->hdr = ip;
	in->hdr_len = (uint16_t)pos;
	in->data = ip + pos + 8;
	in->len = end - pos - 8;
	return frag_len_ok(in);
}

static int
parse_fragment(const struct decode_pkt *p, struct frag_in *in)
{
	memset(in, 0, sizeof(*in));
	if (p->ip == NULL || p->ip_len == 0)
		return 0;
	switch (p->ip[0] >> 4) {
	case 4:
		return parse_ipv4(p->ip, p->ip_len, in);
	case 6:
		return parse_ipv6(p->ip, p->ip_len, in);
	}
	return 0;
}

static uint32_t
key_hash(const struct frag_table *t, const struct frag_key *k)
{
	return (uint32_t)hash_siphash(t->cfg.seed, k, sizeof(*k)) &
	    (t->nbuckets - 1);
}

static struct frag_dgram *
dgram_find(struct frag_table *t, const struct frag_key *k, uint32_t h)
{
	struct frag_dgram *d;

	LIST_FOREACH(d, &t->buckets[h], bucket)
		if (memcmp(&d->key, k, sizeof(*k)) == 0)
			return d;
	return NULL;
}

static void
dgram_drop(struct frag_table *t, struct frag_dgram *d)
{
	struct frag_piece *p;

	while ((p = TAILQ_FIRST(&d->pieces)) != NULL) {
		TAILQ_REMOVE(&d->pieces, p, entry);
		free(p);
	}
	free(d->hdr);
	LIST_REMOVE(d, bucket);
	TAILQ_REMOVE(&t->age, d, age);
	assert(t->st.mem >= d->mem && t->st.pending > 0);
	t->st.mem -= d->mem;
	t->st.pending--;
	free(d);
}

/* Drop the oldest datagram other than keep; 0 if there is none. */
static int
drop_oldest(struct frag_table *t, const struct frag_dgram *keep)
{
	struct frag_dgram *d = TAILQ_FIRST(&t->age);

	if (d != NULL && d == keep)
		d = TAILQ_NEXT(d, age);
	if (d == NULL)
		return 0;
	dgram_drop(t, d);
	t->st.memcap_drops++;
	return 1;
}

/*
 * Make room for need more bytes, dropping the oldest other datagrams, and
 * charge them to the table (the caller charges its datagram).
 */
static int
charge(struct frag_table *t, const struct frag_dgram *keep, size_t need)
{
	while (t->st.mem > t->cfg.memcap || need > t->cfg.memcap - t->st.mem)
		if (!drop_oldest(t, keep))
			return 0;
	t->st.mem += need;
	if (t->st.mem > t->st.mem_peak)
		t->st.mem_peak = t->st.mem;
	return 1;
}

static struct frag_dgram *
dgram_new(struct frag_table *t, const struct frag_key *k, uint32_t h,
    uint64_t ts_us)
{
	struct frag_dgram *d;

	while (t->st.pending >= t->cfg.max_datagrams)
		if (!drop_oldest(t, NULL))
			break;
	if (!charge(t, NULL, sizeof(*d))) {
		t->st.memcap_drops++;
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		t->st.mem -= sizeof(*d);
		t->st.memcap_drops++;
		return NULL;
	}
	d->key = *k;
	d->first_us = ts_us;
	d->mem = sizeof(*d);
	TAILQ_INIT(&d->pieces);
	LIST_INSERT_HEAD(&t->buckets[h], d, bucket);
	TAILQ_INSERT_TAIL(&t->age, d, age);
	t->st.pending++;
	return d;
}

/* Keep the header of the offset-0 fragment; the first one seen wins. */
static int
dgram_set_hdr(struct frag_table *t, struct frag_dgram *d,
    const struct frag_in *in)
{
	if (in->off != 0 || d->hdr != NULL)
		return 1;
	if (!charge(t, d, in->hdr_len)) {
		t->st.memcap_drops++;
		return 0;
	}
	d->mem += in->hdr_len;
	if ((d->hdr = malloc(in->hdr_len)) == NULL) {
		t->st.memcap_drops++;
		return 0;
	}
	memcpy(d->hdr, in->hdr, in->hdr_len);
	d->hdr_len = in->hdr_len;
	d->nh_off = in->nh_off;
	d->nh = in->nh;
	return 1;
}

/* Add bytes [off, off + len) as a new piece before next (NULL: at end). */
static int
piece_add(struct frag_table *t, struct frag_dgram *d,
    struct frag_piece *next, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct frag_piece *p;

	if (d->npieces >= FRAG_MAX_PIECES) {
		t->st.invalid++;
		return 0;
	}
	if (!charge(t, d, sizeof(*p) + len)) {
		t->st.memcap_drops++;
		return 0;
	}
	d->mem += sizeof(*p) + len;
	if ((p = malloc(sizeof(*p) + len)) == NULL) {
		t->st.memcap_drops++;
		return 0;
	}
	p->off = off;
	p->len = len;
	memcpy(p->data, data, len);
	if (next != NULL)
		TAILQ_INSERT_BEFORE(next, p, entry);
	else
		TAILQ_INSERT_TAIL(&d->pieces, p, entry);
	d->npieces++;
	d->held += len;
	return 1;
}

/* How a fragment meets the bytes already held (see the policy above). */
enum frag_fit {
	FRAG_FIT_NEW,		/* touches no held byte */
	FRAG_FIT_DUP,		/* every byte already held */
	FRAG_FIT_OVERLAP	/* some bytes held, some not */
};

/* Pieces are disjoint, so the intersections add up to the bytes held. */
static enum frag_fit
dgram_fit(const struct frag_dgram *d, const struct frag_in *in)
{
	const struct frag_piece *p;
	uint32_t	 end = in->off + in->len, held = 0, lo, hi;

	TAILQ_FOREACH(p, &d->pieces, entry) {
		if (p->off >= end)
			break;
		lo = p->off > in->off ? p->off : in->off;
		hi = p->off + p->len < end ? p->off + p->len : end;
		if (hi > lo)
			held += hi - lo;
	}
	if (held == 0)
		return FRAG_FIT_NEW;
	return held == in->len ? FRAG_FIT_DUP : FRAG_FIT_OVERLAP;
}

/* Add the bytes of in, which overlap nothing held, in offset order. */
static int
dgram_fill(struct frag_table *t, struct frag_dgram *d,
    const struct frag_in *in)
{
	struct frag_piece *p;

	if (in->len == 0)
		return 1;
	TAILQ_FOREACH(p, &d->pieces, entry)
		if (p->off >= in->off + in->len)
			break;
	return piece_add(t, d, p, in->off, in->data, in->len);
}

/* Whether in agrees with the end of the datagram known so far. */
static int
dgram_end_ok(struct frag_dgram *d, const struct frag_in *in)
{
	struct frag_piece *last = TAILQ_LAST(&d->pieces, frag_piece_list);
	uint32_t	 end = in->off + in->len;

	if (d->have_last)
		return in->more ? end <= d->total : end == d->total;
	if (in->more)
		return 1;
	if (last != NULL && last->off + last->len > end)
		return 0;
	d->have_last = 1;
	d->total = end;
	return 1;
}

/* Write the whole datagram into t->out; 0 if it would be too long. */
static int
dgram_build(struct frag_table *t, const struct frag_dgram *d, uint32_t *len)
{
	const struct frag_piece *p;
	uint32_t	 n = d->hdr_len, ff;
	uint8_t		*o = t->out;

	if (d->key.family == 4 && n + d->total > FRAG_MAX_IPV4)
		return 0;
	if (d->key.family == 6 && n - 40 + d->total > FRAG_MAX_IPV6_PAYLOAD)
		return 0;
	memcpy(o, d->hdr, n);
	TAILQ_FOREACH(p, &d->pieces, entry) {
		assert(p->off == n - d->hdr_len);
		memcpy(o + n, p->data, p->len);
		n += p->len;
	}
	assert(n - d->hdr_len == d->total && n <= FRAG_MAX_DATAGRAM);
	if (d->key.family == 4) {
		o[2] = (uint8_t)(n >> 8);
		o[3] = (uint8_t)n;
		ff = decode_be16(o + 6) & 0x4000;	/* keep DF, clear MF/offset */
		o[6] = (uint8_t)(ff >> 8);
		o[7] = 0;
		o[10] = o[11] = 0;		/* checksum: not verified */
	} else {
		o[4] = (uint8_t)((n - 40) >> 8);
		o[5] = (uint8_t)(n - 40);
		o[d->nh_off] = d->nh;
	}
	*len = n;
	return 1;
}

struct frag_table *
frag_new(const struct frag_config *cfg)
{
	struct frag_table *t;
	uint32_t	 i;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cfg = *cfg;
	if (t->cfg.max_datagrams == 0)
		t->cfg.max_datagrams = 1;
	t->nbuckets = hash_buckets(t->cfg.max_datagrams);
	if (t->nbuckets > FRAG_MAX_BUCKETS)
		t->nbuckets = FRAG_MAX_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->out = malloc(FRAG_MAX_DATAGRAM);
	if (t->buckets == NULL || t->out == NULL) {
		free(t->buckets);
		free(t->out);
		free(t);
		return NULL;
	}
	for (i = 0; i < t->nbuckets; i++)
		LIST_INIT(&t->buckets[i]);
	TAILQ_INIT(&t->age);
	hash_seed(t->cfg.seed);
	return t;
}

void
frag_free(struct frag_table *t)
{
	struct frag_dgram *d;

	if (t == NULL)
		return;
	while ((d = TAILQ_FIRST(&t->age)) != NULL)
		dgram_drop(t, d);
	free(t->buckets);
	free(t->out);
	free(t);
}

int
frag_input(struct frag_table *t, const struct decode_pkt *p, uint64_t ts_us,
    const uint8_t **datagram, uint32_t *len)
{
	struct frag_dgram *d;
	struct frag_in	 in;
	uint32_t	 h;

	t->st.fragments++;
	frag_expire(t, ts_us);
	if (!parse_fragment(p, &in)) {
		t->st.invalid++;
		return 0;
	}
	h = key_hash(t, &in.key);
	if ((d = dgram_find(t, &in.key, h)) == NULL &&
	    (d = dgram_new(t, &in.key, h, ts_us)) == NULL)
		return 0;
	if (!dgram_end_ok(d, &in)) {
		t->st.invalid++;
		dgram_drop(t, d);
		return 0;
	}
	switch (dgram_fit(d, &in)) {
	case FRAG_FIT_DUP:
		t->st.duplicates++;
		return 0;
	case FRAG_FIT_OVERLAP:
		t->st.overlaps++;
		dgram_drop(t, d);
		return 0;
	case FRAG_FIT_NEW:
		break;
	}
	if (!dgram_set_hdr(t, d, &in) || !dgram_fill(t, d, &in)) {
		dgram_drop(t, d);
		return 0;
	}
	if (!d->have_last || d->hdr == NULL || d->held != d->total)
		return 0;
	if (!dgram_build(t, d, len)) {
		t->st.invalid++;
		dgram_drop(t, d);
		return 0;
	}
	dgram_drop(t, d);
	t->st.reassembled++;
	*datagram = t->out;
	return 1;
}

size_t
frag_expire(struct frag_table *t, uint64_t now_us)
{
	struct frag_dgram *d;
	size_t		 n = 0;

	while ((d = TAILQ_FIRST(&t->age)) != NULL && now_us >= d->first_us &&
	    now_us - d->first_us >= t->cfg.timeout_us) {
		dgram_drop(t, d);
		t->st.timeouts++;
		n++;
	}
	return n;
}

void
frag_set_limits(struct frag_table *t, const struct frag_config *cfg)
{
	t->cfg.memcap = cfg->memcap;
	t->cfg.max_datagrams = cfg->max_datagrams > 0 ? cfg->max_datagrams : 1;
	t->cfg.timeout_us = cfg->timeout_us;
	while (t->st.pending > t->cfg.max_datagrams ||
	    t->st.mem > t->cfg.memcap)
		if (!drop_oldest(t, NULL))
			break;
}

const struct frag_stats *
frag_get_stats(const struct frag_table *t)
{
	return &t->st;
}
