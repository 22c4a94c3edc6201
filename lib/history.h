/*
 * history.h: what each mail server did in earlier sessions, so a session
 * can be judged against it. A server that offered STARTTLS yesterday and
 * shows no offer today is the silent strip that one session cannot see.
 *
 * The table lives in memory (bounded, least recently seen dropped first)
 * and is persisted through the store's servers table: loaded at start,
 * written back as sessions end. Nothing here touches the disk.
 */
#ifndef STRIPWATCH_HISTORY_H
#define STRIPWATCH_HISTORY_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

struct history_config {
	uint32_t	 max_servers;	/* servers remembered at most */
	uint32_t	 vanished_after; /* sessions with an offer before a
					   missing offer is starttls_vanished */
	uint64_t	 seed[2];	/* hash key; 0,0 = pick at random */
};

/*
 * One server: address, port and protocol (enum mail_proto; a port may
 * serve another protocol than its usual one, and each has its own offer).
 */
struct history_server {
	struct decode_addr addr;
	uint16_t	 port;
	uint8_t		 proto;
	uint64_t	 first_us;	/* first session seen */
	uint64_t	 last_us;	/* last session seen */
	uint64_t	 sessions;	/* sessions whose capabilities were seen */
	uint64_t	 offered;	/* ... with STARTTLS offered */
	uint64_t	 accepted;	/* STARTTLS answered 220 */
	uint64_t	 last_offered_us; /* last session with the offer */
	uint8_t		 have_cert;
	uint8_t		 cert_sha256[32]; /* last leaf certificate seen */
	uint8_t		 cert_new;	/* ... seen since last drained */
	uint8_t		 dirty;		/* changed since last drained */
	/* Of sessions, offered, accepted: the part already drained (or
	 * loaded). The rest is what the database does not have yet. */
	uint64_t	 drained_sessions;
	uint64_t	 drained_offered;
	uint64_t	 drained_accepted;
	LIST_ENTRY(history_server) bucket;
	TAILQ_ENTRY(history_server) lru;
	TAILQ_ENTRY(history_server) dirty_link;
};

struct history_stats {
	uint64_t	 servers;	/* remembered now */
	uint64_t	 dropped;	/* forgotten to stay within max_servers */
	uint64_t	 dirty;		/* changed, not handed over yet */
};

struct history;

/* NULL on ENOMEM. */
struct history *history_new(const struct history_config *cfg);
void	history_free(struct history *h);

/* The record of a server, or NULL if never seen. */
const struct history_server *history_find(struct history *h,
	    const struct decode_addr *addr, uint16_t port, uint8_t proto);

/*
 * The record of a server, created (zeroed, first_us = ts_us) if needed,
 * dropping the least recently seen server when full. NULL on ENOMEM.
 */
struct history_server *history_get(struct history *h,
	    const struct decode_addr *addr, uint16_t port, uint8_t proto,
	    uint64_t ts_us);

/* Store a record read back from the database (at start): all drained. */
void	history_load(struct history *h, const struct history_server *rec);

/* srv changed: hand it over at the next history_drain(). */
void	history_mark_dirty(struct history *h, struct history_server *srv);

/*
 * Call out(arg, srv) once for each server changed since the last drain,
 * however many sessions changed it, and mark it clean: what srv counts
 * beyond its drained_* fields, and its certificate if cert_new, is news
 * to out, and is not news again. Returns how many. This is what keeps one
 * database write per server per flush, and lets several processes add
 * their news to one row.
 */
size_t	history_drain(struct history *h,
	    void (*out)(void *, const struct history_server *), void *arg);

/*
 * A reload: a new vanished_after; max_servers (the table was sized for
 * it) and the hash key stay.
 */
void	history_set_limits(struct history *h, const struct history_config *cfg);

const struct history_config *history_get_config(const struct history *h);
const struct history_stats *history_get_stats(const struct history *h);

#endif
