/*
 * history.c: the in-memory table of servers and what they offered: a keyed
 * hash and a least-recently-seen list.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "history.h"

/* Buckets per remembered server; chains stay short without resizing. */
#define HISTORY_BUCKETS_PER_SERVER	2

LIST_HEAD(history_bucket, history_server);

struct history {
	struct history_config cfg;
	struct history_bucket *buckets;
	uint32_t	 nbuckets;	/* power of two */
	TAILQ_HEAD(, history_server) lru; /* least recently seen first */
	TAILQ_HEAD(, history_server) dirty; /* changed since the last drain */
	struct history_stats stats;
};

static uint32_t
hash(const struct history *h, const struct decode_addr *a, uint16_t port,
    uint8_t proto)
{
	uint8_t	 key[20];

	key[0] = a->family;
	memcpy(key + 1, a->bytes, 16);
	key[17] = port >> 8;
	key[18] = port & 0xff;
	key[19] = proto;
	return (uint32_t)hash_siphash(h->cfg.seed, key, sizeof(key)) &
	    (h->nbuckets - 1);
}

struct history *
history_new(const struct history_config *cfg)
{
	struct history	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->cfg = *cfg;
	if (h->cfg.max_servers == 0)
		h->cfg.max_servers = 1;
	hash_seed(h->cfg.seed);
	h->nbuckets = hash_buckets((uint64_t)h->cfg.max_servers *
	    HISTORY_BUCKETS_PER_SERVER);
	if ((h->buckets = calloc(h->nbuckets, sizeof(*h->buckets))) == NULL) {
		free(h);
		return NULL;
	}
	TAILQ_INIT(&h->lru);
	TAILQ_INIT(&h->dirty);
	return h;
}

void
history_free(struct history *h)
{
	struct history_server *s;

	if (h == NULL)
		return;
	while ((s = TAILQ_FIRST(&h->lru)) != NULL) {
		TAILQ_REMOVE(&h->lru, s, lru);
		free(s);
	}
	free(h->buckets);
	free(h);
}

static struct history_server *
lookup(struct history *h, const struct decode_addr *a, uint16_t port,
    uint8_t proto)
{
	struct history_server *s;

	LIST_FOREACH(s, &h->buckets[hash(h, a, port, proto)], bucket)
		if (s->port == port && s->proto == proto &&
		    s->addr.family == a->family &&
		    memcmp(s->addr.bytes, a->bytes, sizeof(a->bytes)) == 0)
			return s;
	return NULL;
}

const struct history_server *
history_find(struct history *h, const struct decode_addr *addr,
    uint16_t port, uint8_t proto)
{
	return lookup(h, addr, port, proto);
}

static void
drop_oldest(struct history *h)
{
	struct history_server *s = TAILQ_FIRST(&h->lru);

	if (s == NULL)
		return;
	TAILQ_REMOVE(&h->lru, s, lru);
	LIST_REMOVE(s, bucket);
	if (s->dirty) {		/* its last change is not written */
		TAILQ_REMOVE(&h->dirty, s, dirty_link);
		h->stats.dirty--;
	}
	free(s);
	h->stats.servers--;
	h->stats.dropped++;
}

struct history_server *
history_get(struct history *h, const struct decode_addr *addr,
    uint16_t port, uint8_t proto, uint64_t ts_us)
{
	struct history_server *s;

	if ((s = lookup(h, addr, port, proto)) != NULL) {
		TAILQ_REMOVE(&h->lru, s, lru);
		TAILQ_INSERT_TAIL(&h->lru, s, lru);
		return s;
	}
	if (h->stats.servers >= h->cfg.max_servers)
		drop_oldest(h);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->addr = *addr;
	s->port = port;
	s->proto = proto;
	s->first_us = s->last_us = ts_us;
	LIST_INSERT_HEAD(&h->buckets[hash(h, addr, port, proto)], s, bucket);
	TAILQ_INSERT_TAIL(&h->lru, s, lru);
	h->stats.servers++;
	return s;
}

/* Nothing of s is news any more. */
static void
all_drained(struct history_server *s)
{
	s->cert_new = 0;
	s->drained_sessions = s->sessions;
	s->drained_offered = s->offered;
	s->drained_accepted = s->accepted;
}

void
history_load(struct history *h, const struct history_server *rec)
{
	struct history_server *s;

	if ((s = history_get(h, &rec->addr, rec->port, rec->proto,
	    rec->first_us)) == NULL)
		return;
	s->first_us = rec->first_us;
	s->last_us = rec->last_us;
	s->sessions = rec->sessions;
	s->offered = rec->offered;
	s->accepted = rec->accepted;
	s->last_offered_us = rec->last_offered_us;
	s->have_cert = rec->have_cert;
	memcpy(s->cert_sha256, rec->cert_sha256, sizeof(s->cert_sha256));
	all_drained(s);
}

void
history_mark_dirty(struct history *h, struct history_server *srv)
{
	if (srv->dirty)
		return;
	srv->dirty = 1;
	TAILQ_INSERT_TAIL(&h->dirty, srv, dirty_link);
	h->stats.dirty++;
}

size_t
history_drain(struct history *h,
    void (*out)(void *, const struct history_server *), void *arg)
{
	struct history_server *s;
	size_t		 n = 0;

	while ((s = TAILQ_FIRST(&h->dirty)) != NULL) {
		TAILQ_REMOVE(&h->dirty, s, dirty_link);
		s->dirty = 0;
		h->stats.dirty--;
		out(arg, s);
		all_drained(s);
		n++;
	}
	return n;
}

void
history_set_limits(struct history *h, const struct history_config *cfg)
{
	h->cfg.vanished_after = cfg->vanished_after;
}

const struct history_config *
history_get_config(const struct history *h)
{
	return &h->cfg;
}

const struct history_stats *
history_get_stats(const struct history *h)
{
	return &h->stats;
}
