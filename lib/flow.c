/*
 * flow.c: the connection table: keyed symmetric hash, LRU lists by what
 * evicting costs, idle expiry and eviction, each ending in the owner's
 * close callback; and the memory of connections evicted with data.
 */
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "hash.h"

/*
 * Buckets per flow slot. Two buckets per flow keeps chains short without a
 * resize; with a keyed hash, an attacker cannot aim at one bucket.
 */
#define FLOW_BUCKETS_PER_FLOW	2

/*
 * Closed flows kept for reuse. Under a SYN flood every packet opens a flow
 * and evicts one: recycling them keeps that loop free of malloc and free
 * (calloc never takes glibc's per-thread cache), and bounds what a burst
 * leaves behind to about 260 KiB.
 */
#define FLOW_SPARE_MAX		1024

/*
 * Slots of the table of recently seen flows. At any moment most packets
 * belong to a few hundred connections; a flow found in this table skips
 * the keyed hash and the chain walk. 16 KiB of pointers and folds.
 */
#define FLOW_RECENT		1024

/*
 * A recently seen flow and the fold of its endpoints (recent_fold()): a
 * packet of another connection is turned away by the fold, without
 * reading the flow. Under a SYN flood every packet misses, and reading a
 * flow created a thousand packets before would cost a cache miss each.
 */
struct flow_recent {
	struct flow	*f;
	uint32_t	 fold;
};

/*
 * A connection evicted with data and remembered (flow_remember()) until it
 * is seen again. About 160 bytes: resume_max of them bound the memory.
 */
struct flow_ghost {
	struct flow_tuple tuple;	/* as the evicted flow had it */
	uint32_t	 hash;		/* keyed hash of the tuple */
	uint32_t	 resumed;	/* pickups before this eviction */
	uint64_t	 first_us;	/* first packet of the connection */
	uint64_t	 evicted_us;	/* packet time of the eviction */
	LIST_ENTRY(flow_ghost) bucket;	/* hash chain, or the spare list */
	TAILQ_ENTRY(flow_ghost) age;	/* oldest eviction first */
	uint8_t		 memo[FLOW_MEMO_MAX]; /* the owner's summary */
};

LIST_HEAD(flow_bucket, flow);
TAILQ_HEAD(flow_lru, flow);
LIST_HEAD(flow_ghost_bucket, flow_ghost);
TAILQ_HEAD(flow_ghost_age, flow_ghost);

/* The eviction under way: flow_remember() is only valid for it. */
struct flow_evicting {
	const struct flow *f;
	uint64_t	 ts_us;
};

struct flow_table {
	struct flow_config cfg;
	flow_close_cb	 close_cb;
	void		*arg;
	struct flow_bucket *buckets;
	uint32_t	 nbuckets;	/* power of two */
	struct flow_lru	 embryonic;	/* flows without data, oldest first */
	struct flow_lru	 main;		/* flows with data, oldest first */
	struct flow_lru	 learned;	/* flows with nothing left to learn,
					   oldest first */
	struct flow_lru	 linger;	/* finished flows, oldest first */
	uint32_t	 nembryonic;	/* flows on the embryonic list */
	/* recently seen flows, by recent_slot(): only a shortcut, an entry
	   is used when the full tuple matches */
	struct flow_recent recent[FLOW_RECENT];
	struct flow_bucket spare;	/* closed flows for reuse */
	uint32_t	 nspare;
	struct flow_stats stats;
	/* remembered connections, from the first eviction on */
	struct flow_ghost_bucket *gbuckets; /* NULL until needed */
	uint32_t	 ngbuckets;	/* power of two */
	struct flow_ghost_age ghosts;	/* remembered, oldest first */
	struct flow_ghost_bucket gspare; /* allocated, unused */
	uint32_t	 nghosts;	/* allocated in all, <= resume_max */
	struct flow_evicting evicting;
	const struct flow *handoff_flow; /* created from a ghost ... */
	uint8_t		 handoff[FLOW_MEMO_MAX]; /* ... with this memo */
};

/*
 * The canonical (direction-free) key of a connection: the lower endpoint,
 * then the other, each an address only as long as it is (4 or 16 bytes)
 * and its port. The length tells the families apart: an IPv4 key is 12
 * bytes, two SipHash blocks. Each address is copied as its whole 16-byte
 * field (fixed-size moves, no call) and the next field overwrites the
 * unused tail, hence the room after the key.
 */
struct flow_keybuf {
	uint8_t		 b[2 * (16 + 2) + 16];
	size_t		 len;
};

static size_t
addr_len(const struct decode_addr *a)
{
	return a->family == 4 ? 4 : 16;
}

/*
 * Whether p's source is the lower endpoint. Any total order will do as
 * long as both directions of a connection agree: whole words compare
 * without a call.
 */
static int
src_is_lower(const struct decode_pkt *p)
{
	uint64_t	 s[2], d[2];

	memcpy(s, p->src.bytes, sizeof(s));
	memcpy(d, p->dst.bytes, sizeof(d));
	if (s[0] != d[0])
		return s[0] < d[0];
	if (s[1] != d[1])
		return s[1] < d[1];
	return p->sport <= p->dport;
}

static void
make_key(struct flow_keybuf *k, const struct decode_pkt *p)
{
	const struct decode_addr *lo = &p->src, *hi = &p->dst;
	uint16_t	 plo = p->sport, phi = p->dport;
	size_t		 n = addr_len(&p->src);

	if (!src_is_lower(p)) {
		lo = &p->dst;
		hi = &p->src;
		plo = p->dport;
		phi = p->sport;
	}
	memcpy(k->b, lo->bytes, sizeof(lo->bytes));
	memcpy(k->b + n, &plo, sizeof(plo));
	memcpy(k->b + n + 2, hi->bytes, sizeof(hi->bytes));
	memcpy(k->b + 2 * n + 2, &phi, sizeof(phi));
	k->len = 2 * n + 4;
}

static int
addr_eq(const struct decode_addr *a, const struct decode_addr *b)
{
	return a->family == b->family &&
	    memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

/* REASM_TO_SERVER or REASM_TO_CLIENT if p belongs to t, else -1. */
static int
tuple_dir(const struct flow_tuple *t, const struct decode_pkt *p)
{
	if (p->sport == t->client_port && p->dport == t->server_port &&
	    addr_eq(&p->src, &t->client) && addr_eq(&p->dst, &t->server))
		return REASM_TO_SERVER;
	if (p->sport == t->server_port && p->dport == t->client_port &&
	    addr_eq(&p->src, &t->server) && addr_eq(&p->dst, &t->client))
		return REASM_TO_CLIENT;
	return -1;
}

static int
match_dir(const struct flow *f, const struct decode_pkt *p)
{
	return tuple_dir(&f->tuple, p);
}

/*
 * A fold of both endpoints of a connection, the same in both directions:
 * its low bits are the connection's slot in the recent table, all of it
 * is kept there beside the flow. It is not keyed: crafted connections
 * can share a slot and a fold, which only costs them one tuple
 * comparison before the keyed lookup, as a miss does.
 */
static uint32_t
recent_fold(const struct decode_addr *a, uint16_t aport,
    const struct decode_addr *b, uint16_t bport)
{
	uint64_t	 x[2], y[2], v;

	memcpy(x, a->bytes, sizeof(x));
	memcpy(y, b->bytes, sizeof(y));
	v = x[0] ^ x[1] ^ y[0] ^ y[1] ^ aport ^ bport;
	v ^= v >> 32;
	return (uint32_t)(v ^ (v >> 16));
}

static struct flow_recent *
recent_entry(struct flow_table *t, uint32_t fold)
{
	return &t->recent[fold & (FLOW_RECENT - 1)];
}

static void
recent_set(struct flow_table *t, uint32_t fold, struct flow *f)
{
	struct flow_recent *e = recent_entry(t, fold);

	e->f = f;
	e->fold = fold;
}

static struct flow_lru *
lru_of(struct flow_table *t, const struct flow *f)
{
	if (f->lingering)
		return &t->linger;
	if (f->learned)
		return &t->learned;
	return f->established ? &t->main : &t->embryonic;
}

/* Take f off its LRU list. */
static void
lru_unlink(struct flow_table *t, struct flow *f)
{
	struct flow_lru	*l = lru_of(t, f);

	TAILQ_REMOVE(l, f, lru);
	if (l == &t->embryonic)
		t->nembryonic--;
}

/* The remembered connection p belongs to, or NULL. */
static struct flow_ghost *
ghost_find(struct flow_table *t, const struct decode_pkt *p, uint32_t h)
{
	struct flow_ghost *g;

	if (TAILQ_EMPTY(&t->ghosts))
		return NULL;
	LIST_FOREACH(g, &t->gbuckets[h & (t->ngbuckets - 1)], bucket)
		if (g->hash == h && tuple_dir(&g->tuple, p) >= 0)
			return g;
	return NULL;
}

static void
ghost_release(struct flow_table *t, struct flow_ghost *g)
{
	LIST_REMOVE(g, bucket);
	TAILQ_REMOVE(&t->ghosts, g, age);
	LIST_INSERT_HEAD(&t->gspare, g, bucket);
	t->stats.remembered--;
}

/*
 * A free ghost: a spare one, a new one while fewer than resume_max exist,
 * else the oldest remembered connection is forgotten. NULL on ENOMEM.
 */
static struct flow_ghost *
ghost_get(struct flow_table *t)
{
	struct flow_ghost *g;

	if (t->gbuckets == NULL) {
		t->ngbuckets = hash_buckets(t->cfg.resume_max);
		if ((t->gbuckets = calloc(t->ngbuckets,
		    sizeof(*t->gbuckets))) == NULL)
			return NULL;
	}
	if (LIST_EMPTY(&t->gspare) && t->nghosts < t->cfg.resume_max &&
	    (g = malloc(sizeof(*g))) != NULL) {
		LIST_INSERT_HEAD(&t->gspare, g, bucket);
		t->nghosts++;
	}
	if (LIST_EMPTY(&t->gspare)) {
		if ((g = TAILQ_FIRST(&t->ghosts)) == NULL)
			return NULL;
		ghost_release(t, g);
		t->stats.resume_dropped++;
	}
	g = LIST_FIRST(&t->gspare);
	LIST_REMOVE(g, bucket);
	return g;
}

static void
ghosts_free(struct flow_table *t)
{
	struct flow_ghost *g;

	while ((g = TAILQ_FIRST(&t->ghosts)) != NULL)
		ghost_release(t, g);
	while ((g = LIST_FIRST(&t->gspare)) != NULL) {
		LIST_REMOVE(g, bucket);
		free(g);
	}
	free(t->gbuckets);
}

void
flow_remember(struct flow_table *t, const struct flow *f, const void *memo,
    size_t len)
{
	struct flow_ghost *g;

	if (t->evicting.f != f || !f->established || f->lingering ||
	    t->cfg.resume_max == 0 || len > FLOW_MEMO_MAX ||
	    (g = ghost_get(t)) == NULL)
		return;
	g->tuple = f->tuple;
	g->hash = f->hash;
	g->resumed = f->resumed;
	g->first_us = f->first_us;
	g->evicted_us = t->evicting.ts_us;
	memset(g->memo, 0, sizeof(g->memo));
	memcpy(g->memo, memo, len);
	LIST_INSERT_HEAD(&t->gbuckets[g->hash & (t->ngbuckets - 1)], g,
	    bucket);
	TAILQ_INSERT_TAIL(&t->ghosts, g, age);
	t->stats.remembered++;
}

int
flow_resumed(struct flow_table *t, const struct flow *f, void *memo,
    size_t len)
{
	if (t->handoff_flow != f || f == NULL || len > FLOW_MEMO_MAX)
		return 0;
	memcpy(memo, t->handoff, len);
	t->handoff_flow = NULL;
	return 1;
}

/* Forget connections evicted longer than the idle timeout ago. */
static void
ghosts_expire(struct flow_table *t, uint64_t now_us)
{
	struct flow_ghost *g;

	while ((g = TAILQ_FIRST(&t->ghosts)) != NULL &&
	    g->evicted_us + t->cfg.idle_timeout_us < now_us)
		ghost_release(t, g);
}

struct flow_table *
flow_table_new(const struct flow_config *cfg, flow_close_cb close_cb,
    void *arg)
{
	struct flow_table *t;
	uint32_t	 i;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cfg = *cfg;
	if (t->cfg.max_flows == 0)
		t->cfg.max_flows = 1;
	hash_seed(t->cfg.seed);
	t->nbuckets = hash_buckets((uint64_t)t->cfg.max_flows *
	    FLOW_BUCKETS_PER_FLOW);
	if ((t->buckets = calloc(t->nbuckets, sizeof(*t->buckets))) == NULL) {
		free(t);
		return NULL;
	}
	for (i = 0; i < t->nbuckets; i++)
		LIST_INIT(&t->buckets[i]);
	TAILQ_INIT(&t->embryonic);
	TAILQ_INIT(&t->main);
	TAILQ_INIT(&t->learned);
	TAILQ_INIT(&t->linger);
	LIST_INIT(&t->spare);
	TAILQ_INIT(&t->ghosts);
	LIST_INIT(&t->gspare);
	t->close_cb = close_cb;
	t->arg = arg;
	return t;
}

void
flow_close(struct flow_table *t, struct flow *f, enum flow_close_reason why,
    uint64_t ts_us)
{
	struct flow_recent *e;

	e = recent_entry(t, recent_fold(&f->tuple.client,
	    f->tuple.client_port, &f->tuple.server, f->tuple.server_port));
	if (e->f == f)
		e->f = NULL;
	if (t->handoff_flow == f)
		t->handoff_flow = NULL;
	LIST_REMOVE(f, bucket);
	lru_unlink(t, f);
	t->stats.active--;
	if (f->lingering)
		t->stats.lingered++;	/* counted when it ended */
	else if (why < FLOW_CLOSE_NREASONS)
		t->stats.closed[why]++;
	if (t->close_cb != NULL)
		t->close_cb(t->arg, f, why, ts_us);
	if (t->nspare < FLOW_SPARE_MAX) {
		LIST_INSERT_HEAD(&t->spare, f, bucket);
		t->nspare++;
	} else
		free(f);
}

void
flow_close_all(struct flow_table *t, enum flow_close_reason why,
    uint64_t ts_us)
{
	struct flow	*f;

	while ((f = TAILQ_FIRST(&t->linger)) != NULL)
		flow_close(t, f, why, ts_us);
	while ((f = TAILQ_FIRST(&t->embryonic)) != NULL)
		flow_close(t, f, why, ts_us);
	while ((f = TAILQ_FIRST(&t->learned)) != NULL)
		flow_close(t, f, why, ts_us);
	while ((f = TAILQ_FIRST(&t->main)) != NULL)
		flow_close(t, f, why, ts_us);
}

void
flow_table_free(struct flow_table *t, uint64_t ts_us)
{
	struct flow	*f;

	if (t == NULL)
		return;
	flow_close_all(t, FLOW_CLOSE_SHUTDOWN, ts_us);
	while ((f = LIST_FIRST(&t->spare)) != NULL) {
		LIST_REMOVE(f, bucket);
		free(f);
	}
	ghosts_free(t);
	free(t->buckets);
	free(t);
}

/* Close f to make room; its close callback may remember it. */
static void
evict(struct flow_table *t, struct flow *f, uint64_t ts_us)
{
	t->evicting.f = f;
	t->evicting.ts_us = ts_us;
	flow_close(t, f, FLOW_CLOSE_EVICTED, ts_us);
	t->evicting.f = NULL;
}

/*
 * Make room, cheapest loss first: a finished flow, one without data, one
 * with nothing left to learn, then the least recently active.
 */
static void
evict_one(struct flow_table *t, uint64_t ts_us)
{
	struct flow	*f;

	if ((f = TAILQ_FIRST(&t->linger)) != NULL)
		;	/* already finished: costs nothing to drop */
	else if ((f = TAILQ_FIRST(&t->embryonic)) != NULL)
		t->stats.evicted_embryonic++;
	else if ((f = TAILQ_FIRST(&t->learned)) != NULL) {
		t->stats.evicted_learned++;
		t->stats.evicted_data++;
	} else if ((f = TAILQ_FIRST(&t->main)) != NULL)
		t->stats.evicted_data++;
	else
		return;
	evict(t, f, ts_us);
}

/* Flows without data are at no_data_max: the oldest makes room. */
static void
evict_no_data(struct flow_table *t, uint64_t ts_us)
{
	struct flow	*f;

	if ((f = TAILQ_FIRST(&t->embryonic)) == NULL)
		return;
	t->stats.evicted_embryonic++;
	t->stats.no_data_full++;
	evict(t, f, ts_us);
}

/* Client/server from the SYN bits, else the lower port is the server. */
static void
orient(struct flow *f, const struct decode_pkt *p)
{
	int	 src_is_client;

	if ((p->flags & (DECODE_TH_SYN | DECODE_TH_ACK)) == DECODE_TH_SYN)
		src_is_client = 1;
	else if (p->flags & DECODE_TH_SYN)
		src_is_client = 0;
	else
		src_is_client = p->sport >= p->dport;
	f->syn_seen = (p->flags & DECODE_TH_SYN) != 0;
	if (src_is_client) {
		f->tuple.client = p->src;
		f->tuple.client_port = p->sport;
		f->tuple.server = p->dst;
		f->tuple.server_port = p->dport;
	} else {
		f->tuple.client = p->dst;
		f->tuple.client_port = p->dport;
		f->tuple.server = p->src;
		f->tuple.server_port = p->sport;
	}
}

/*
 * A remembered connection that p continues: take it out (its memo into the
 * handoff) before an eviction could forget it. A SYN on its ports is a new
 * connection: the old one is forgotten.
 */
static int
resume_take(struct flow_table *t, const struct decode_pkt *p, uint32_t h,
    struct flow_ghost *out)
{
	struct flow_ghost *g;

	if ((g = ghost_find(t, p, h)) == NULL)
		return 0;
	*out = *g;
	ghost_release(t, g);
	return !(p->flags & DECODE_TH_SYN);
}

static struct flow *
create(struct flow_table *t, const struct decode_pkt *p, uint32_t h)
{
	struct flow_ghost g;
	struct flow	*f;
	int		 resume = resume_take(t, p, h, &g);

	if (t->stats.active >= t->cfg.max_flows)
		evict_one(t, p->ts_us);
	else if (t->cfg.no_data_max > 0 &&
	    t->nembryonic >= t->cfg.no_data_max)
		evict_no_data(t, p->ts_us);
	if ((f = LIST_FIRST(&t->spare)) != NULL) {
		LIST_REMOVE(f, bucket);
		t->nspare--;
		memset(f, 0, sizeof(*f));
	} else if ((f = calloc(1, sizeof(*f))) == NULL) {
		t->stats.not_created++;
		return NULL;
	}
	orient(f, p);
	f->hash = h;
	f->first_us = f->last_us = p->ts_us;
	if (resume) {
		f->tuple = g.tuple;
		f->first_us = g.first_us;
		f->resumed = g.resumed + 1;
		memcpy(t->handoff, g.memo, sizeof(t->handoff));
		t->handoff_flow = f;
		t->stats.resumed++;
	}
	reasm_stream_init(&f->stream);
	LIST_INSERT_HEAD(&t->buckets[h & (t->nbuckets - 1)], f, bucket);
	TAILQ_INSERT_TAIL(&t->embryonic, f, lru);
	t->nembryonic++;
	t->stats.created++;
	if (++t->stats.active > t->stats.peak)
		t->stats.peak = t->stats.active;
	return f;
}

/* p belongs to f: note the activity. */
static struct flow *
found(struct flow_table *t, struct flow *f, const struct decode_pkt *p,
    uint32_t fold)
{
	recent_set(t, fold, f);
	if (f->lingering)	/* stray copies do not prolong it */
		return f;
	if (p->ts_us > f->last_us)
		f->last_us = p->ts_us;
	if (TAILQ_NEXT(f, lru) != NULL) {
		TAILQ_REMOVE(lru_of(t, f), f, lru);
		TAILQ_INSERT_TAIL(lru_of(t, f), f, lru);
	}
	return f;
}

/*
 * The keyed lookup, and the creation, for a packet whose flow the recent
 * table did not hold. Out of line: its key buffer and the creation's
 * state would give every packet a larger frame and a stack check.
 */
static __attribute__((noinline)) struct flow *
lookup_keyed(struct flow_table *t, const struct decode_pkt *p, int *dir,
    int *created, uint32_t fold)
{
	struct flow_keybuf k;
	struct flow	*f;
	uint32_t	 h;
	int		 d;

	make_key(&k, p);
	h = (uint32_t)hash_siphash13(t->cfg.seed, k.b, k.len);
	LIST_FOREACH(f, &t->buckets[h & (t->nbuckets - 1)], bucket) {
		if (f->hash != h || (d = match_dir(f, p)) < 0)
			continue;
		*dir = d;
		return found(t, f, p, fold);
	}
	if ((p->flags & DECODE_TH_RST) ||
	    ((p->flags & DECODE_TH_SYN) == 0 && p->payload_len == 0))
		return NULL;
	if ((f = create(t, p, h)) == NULL)
		return NULL;
	*created = 1;
	*dir = match_dir(f, p);
	recent_set(t, fold, f);
	return f;
}

struct flow *
flow_lookup(struct flow_table *t, const struct decode_pkt *p, int *dir,
    int *created)
{
	struct flow_recent *e;
	uint32_t	 fold;
	int		 d;

	*created = 0;
	fold = recent_fold(&p->src, p->sport, &p->dst, p->dport);
	e = recent_entry(t, fold);
	if (e->f != NULL && e->fold == fold && (d = match_dir(e->f, p)) >= 0) {
		*dir = d;
		return found(t, e->f, p, fold);
	}
	return lookup_keyed(t, p, dir, created, fold);
}

void
flow_mark_established(struct flow_table *t, struct flow *f)
{
	if (f->established || f->lingering)
		return;
	lru_unlink(t, f);
	f->established = 1;
	TAILQ_INSERT_TAIL(&t->main, f, lru);
}

void
flow_mark_learned(struct flow_table *t, struct flow *f)
{
	if (f->learned || f->lingering || !f->established)
		return;
	TAILQ_REMOVE(&t->main, f, lru);
	f->learned = 1;
	TAILQ_INSERT_TAIL(&t->learned, f, lru);
}

void
flow_linger(struct flow_table *t, struct flow *f, enum flow_close_reason why)
{
	if (f->lingering)
		return;
	lru_unlink(t, f);
	f->lingering = 1;
	TAILQ_INSERT_TAIL(&t->linger, f, lru);
	if (why < FLOW_CLOSE_NREASONS)
		t->stats.closed[why]++;
}

/* Close idle flows at the head of one list; the list is in time order. */
static size_t
expire_list(struct flow_table *t, struct flow_lru *l, uint64_t timeout_us,
    uint64_t now_us)
{
	struct flow	*f;
	size_t		 n = 0;

	while ((f = TAILQ_FIRST(l)) != NULL &&
	    f->last_us + timeout_us < now_us) {
		flow_close(t, f, FLOW_CLOSE_IDLE, now_us);
		n++;
	}
	return n;
}

void
flow_set_limits(struct flow_table *t, const struct flow_config *cfg)
{
	t->cfg.idle_timeout_us = cfg->idle_timeout_us;
	t->cfg.linger_us = cfg->linger_us;
	t->cfg.no_data_max = cfg->no_data_max;
}

size_t
flow_expire(struct flow_table *t, uint64_t now_us)
{
	ghosts_expire(t, now_us);
	return expire_list(t, &t->linger, t->cfg.linger_us, now_us) +
	    expire_list(t, &t->embryonic, t->cfg.idle_timeout_us, now_us) +
	    expire_list(t, &t->learned, t->cfg.idle_timeout_us, now_us) +
	    expire_list(t, &t->main, t->cfg.idle_timeout_us, now_us);
}

const struct flow_stats *
flow_table_stats(const struct flow_table *t)
{
	return &t->stats;
}

const char *
flow_close_reason_name(enum flow_close_reason why)
{
	static const char *const names[FLOW_CLOSE_NREASONS] = {
		"fin", "rst", "idle", "evicted", "shutdown"
	};

	return why < FLOW_CLOSE_NREASONS ? names[why] : "unknown";
}
