/*
 * flow.h: the table of TCP connections being watched.
 *
 * A flow is found from either direction of a connection (the key is
 * symmetric) with a hash keyed by a random seed, so crafted addresses cannot
 * build long chains. The table has a fixed capacity: when full, a flow is
 * closed to make room, chosen by what losing it costs: a finished one
 * (lingering), then one without data (a SYN flood is all of them), then
 * one with nothing left to learn (its owner said so), then the least
 * recently active. Flows without data have a capacity of their own
 * (no_data_max, below max_flows): a SYN flood recycles those and never
 * fills a table sized for the connections with data. Idle flows are
 * expired by packet time. Closing always goes through the close callback,
 * so the application session of an evicted flow is finished like any
 * other.
 *
 * A connection evicted with data may be remembered (flow_remember()):
 * when it is seen again, the new flow continues it (flow_resumed()), with
 * the original orientation and start, and its owner's summary.
 */
#ifndef STRIPWATCH_FLOW_H
#define STRIPWATCH_FLOW_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "reasm.h"
#include "tcp.h"

/* Why a flow was closed; passed to the close callback. */
enum flow_close_reason {
	FLOW_CLOSE_FIN = 0,	/* FIN delivered both ways */
	FLOW_CLOSE_RST,		/* reset */
	FLOW_CLOSE_IDLE,	/* idle longer than idle_timeout */
	FLOW_CLOSE_EVICTED,	/* table full: made room */
	FLOW_CLOSE_SHUTDOWN,	/* end of capture or program */
	FLOW_CLOSE_NREASONS
};

struct flow_config {
	uint32_t	 max_flows;	/* capacity of the table */
	uint32_t	 no_data_max;	/* flows without data at most (a SYN
					   flood is all of them); 0 = up to
					   max_flows */
	uint64_t	 idle_timeout_us; /* idle time before expiry */
	uint64_t	 linger_us;	/* a finished flow absorbs late
					   retransmissions this long */
	uint32_t	 resume_max;	/* evicted connections remembered at
					   most; 0 = none */
	uint64_t	 seed[2];	/* hash key; 0,0 = pick at random */
};

/* Bytes of the owner's summary of an evicted connection (flow_remember). */
#define FLOW_MEMO_MAX	64

/* Endpoints of a connection, oriented client -> server. */
struct flow_tuple {
	struct decode_addr client;
	struct decode_addr server;
	uint16_t	 client_port;
	uint16_t	 server_port;
};

struct flow {
	struct flow_tuple tuple;	/* oriented endpoints */
	uint64_t	 first_us;	/* first packet time */
	uint64_t	 last_us;	/* last packet time */
	uint32_t	 hash;		/* keyed hash of the tuple */
	uint8_t		 syn_seen;	/* orientation came from a SYN */
	uint8_t		 established;	/* payload seen: on the main LRU */
	uint8_t		 lingering;	/* finished, on the linger list */
	uint8_t		 learned;	/* nothing left to learn: on the
					   learned list */
	uint32_t	 resumed;	/* times the connection was evicted
					   and picked up again */
	struct reasm_stream stream;	/* both directions' reassembly */
	struct tcp_state tcp;		/* what each side's receiver accepts */
	void		*app;		/* application session, owned by the
					   close callback */
	LIST_ENTRY(flow) bucket;	/* hash chain */
	TAILQ_ENTRY(flow) lru;		/* least recently active first, on
					   the embryonic, main, learned or
					   linger list */
};

struct flow_stats {
	uint64_t	 created;	/* flows created */
	uint64_t	 closed[FLOW_CLOSE_NREASONS]; /* by reason */
	uint64_t	 active;	/* flows in the table now */
	uint64_t	 peak;		/* most flows at once */
	uint64_t	 not_created;	/* allocation failures */
	uint64_t	 evicted_embryonic; /* evictions of flows without data */
	uint64_t	 no_data_full;	/* ... of which made room among
					   no_data_max of them */
	uint64_t	 evicted_data;	/* evictions of flows with data */
	uint64_t	 evicted_learned; /* ... of which nothing was left to
					   learn */
	uint64_t	 lingered;	/* finished flows removed after
					   lingering */
	uint64_t	 resumed;	/* evicted connections seen again and
					   continued */
	uint64_t	 resume_dropped; /* remembered connections forgotten
					   for room (resume_max) */
	uint64_t	 remembered;	/* evicted connections remembered now */
};

/* Called once per flow as it leaves the table; must release f->app. */
typedef void (*flow_close_cb)(void *arg, struct flow *f,
    enum flow_close_reason why, uint64_t ts_us);

struct flow_table;

/* Allocate a table; NULL on allocation failure. */
struct flow_table *flow_table_new(const struct flow_config *cfg,
	    flow_close_cb close_cb, void *arg);

/* Close every flow (FLOW_CLOSE_SHUTDOWN) and free the table. */
void	flow_table_free(struct flow_table *t, uint64_t ts_us);

/*
 * Find the flow of packet p, creating it if needed (evicting one when
 * full, in the order given at the top). A flow is only
 * created for a SYN or a segment with payload: stray ACKs and RSTs of
 * unknown connections return NULL with *created 0. *dir is set to REASM_TO_SERVER or
 * REASM_TO_CLIENT. *created is set to 1 for a new flow. Orientation of a new
 * flow: the sender of a SYN is the client, the sender of a SYN-ACK the
 * server; without either, the endpoint with the lower port is the server.
 * Returns NULL for a segment that creates no flow or when allocation
 * fails (counted in not_created).
 */
struct flow *flow_lookup(struct flow_table *t, const struct decode_pkt *p,
	    int *dir, int *created);

/*
 * Mark f as carrying data. Flows without data yet (a SYN flood is all of
 * them) are evicted before flows with data, so a flood cannot push real
 * sessions out of a full table.
 */
void	flow_mark_established(struct flow_table *t, struct flow *f);

/*
 * The owner will learn nothing more from f (its parser is done: TLS
 * handshake seen, not the protocol watched, ...): f is evicted before any
 * flow that may still show something, so a full table costs no detection
 * while such flows exist. O(1).
 */
void	flow_mark_learned(struct flow_table *t, struct flow *f);

/*
 * Only from the close callback of an eviction of a flow with data: remember
 * the connection, with len (<= FLOW_MEMO_MAX) bytes of the owner's summary
 * of it, until it is seen again (flow_resumed()), idles out
 * (idle_timeout_us after the eviction) or a SYN reuses its ports. At most
 * resume_max are kept; for room the oldest is forgotten (resume_dropped).
 */
void	flow_remember(struct flow_table *t, const struct flow *f,
	    const void *memo, size_t len);

/*
 * Right after flow_lookup() created f: when f continues a remembered
 * connection, copy the owner's summary (len bytes) to memo and return 1
 * (f->resumed counts the pickups; f->first_us and f->tuple are the
 * original connection's). Else 0.
 */
int	flow_resumed(struct flow_table *t, const struct flow *f, void *memo,
	    size_t len);

/*
 * The connection ended (FIN both ways, or RST) and its session was
 * finished by the caller: keep f, without application state, for
 * linger_us so retransmissions and stray copies that arrive after the end
 * are recognised (and ignored) instead of opening a new flow. why is
 * counted now; the later removal is not counted again. Lingering flows are
 * the first evicted.
 */
void	flow_linger(struct flow_table *t, struct flow *f,
	    enum flow_close_reason why);

/*
 * A reload: new idle and linger times, applied at the next expiry, and a
 * new no_data_max for the flows created after; the capacity and the hash
 * key stay those the table was made with.
 */
void	flow_set_limits(struct flow_table *t, const struct flow_config *cfg);

/* Close and remove f now, with the given reason. */
void	flow_close(struct flow_table *t, struct flow *f,
	    enum flow_close_reason why, uint64_t ts_us);

/* Close flows idle since before now_us - idle_timeout. Returns how many. */
size_t	flow_expire(struct flow_table *t, uint64_t now_us);

/* Close every flow with the given reason. */
void	flow_close_all(struct flow_table *t, enum flow_close_reason why,
	    uint64_t ts_us);

const struct flow_stats *flow_table_stats(const struct flow_table *t);

/* Short name of a close reason ("fin", "rst", "idle", ...). */
const char *flow_close_reason_name(enum flow_close_reason why);

#endif
