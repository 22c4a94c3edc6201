/*
 * storerow.h: a row waiting for the database, as a compact copy: its
 * fixed fields, then only the text bytes each field really has (a session
 * of a plain client is a few hundred bytes, not the 3.4 KiB of the
 * detect structs). Rows are allocated in STOREROW_ALIGN steps and recycled
 * by size, so the memory a queue of rows holds is known to the byte and a
 * steady flow of sessions does not call malloc per row.
 *
 * No SQLite here: store.c queues rows, storedb.c writes them. Texts are
 * NUL-terminated inside the row and stay put until the row is recycled,
 * so a writer may bind them without copying.
 */
#ifndef STRIPWATCH_STOREROW_H
#define STRIPWATCH_STOREROW_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "history.h"

enum storerow_kind {
	STOREROW_EVENT = 0,
	STOREROW_SESSION,
	STOREROW_STAT,
	STOREROW_SERVER,
	STOREROW_NKINDS
};

/* Text fields of a session row, in the order they are kept. */
enum storerow_session_text {
	STOREROW_HELO = 0,
	STOREROW_BANNER,
	STOREROW_TLS_CIPHER,
	STOREROW_TLS_SNI,
	STOREROW_CERT,
	STOREROW_OUTCOME,
	STOREROW_TLS_VERSION,
	STOREROW_CLOSE_REASON,
	STOREROW_PROTOCOL,
	STOREROW_STARTTLS_STATUS,
	STOREROW_SOURCE,
	STOREROW_SESSION_TEXTS
};

/* Text fields of an event row (evidence) and of a stats row (name). */
#define STOREROW_EVIDENCE	0
#define STOREROW_STAT_NAME	0

/* Most text fields a row has (a session's). */
#define STOREROW_TEXTS		STOREROW_SESSION_TEXTS

/* Rows are allocated in steps of this many bytes (one size class each). */
#define STOREROW_ALIGN		64

/*
 * What the allocator adds to each row (glibc: an 8-byte chunk header,
 * 16-byte alignment); counted in storerow_cost() so a queue's bound in
 * bytes is a bound on the memory it takes.
 */
#define STOREROW_MALLOC_HEAD	16

/* Copies of constant names ("plaintext_offered", "TLS1.3", "shutdown")
 * are cut to this; program constants, far shorter. */
#define STOREROW_NAME_MAX	32

/* Longest stats name kept (with its NUL); names are ours, not wire data. */
#define STOREROW_STAT_NAME_MAX	64

/* Head of every row; the kind says which struct below holds it. */
struct storerow {
	TAILQ_ENTRY(storerow) entry;	/* queue, batch or spare list */
	uint32_t	 size;		/* bytes allocated (a size class) */
	uint16_t	 text_off;	/* texts start here, from the head */
	uint8_t		 kind;		/* enum storerow_kind */
	uint8_t		 refused;	/* set by the writer: refused by a
					   constraint, never to be written */
	uint16_t	 tlen[STOREROW_TEXTS]; /* bytes of each text, no NUL */
};
TAILQ_HEAD(storerowq, storerow);

struct storerow_event {
	struct storerow	 hdr;		/* first: the row is cast from it */
	uint64_t	 ts_us;
	uint64_t	 session_id;
	struct flow_tuple tuple;
	uint8_t		 kind;		/* enum detect_kind */
	uint8_t		 severity;	/* enum detect_severity */
};

struct storerow_session {
	struct storerow	 hdr;		/* first: the row is cast from it */
	uint64_t	 id;
	uint64_t	 start_us;
	uint64_t	 end_us;
	struct flow_tuple tuple;
	uint32_t	 gaps;
	uint32_t	 events;	/* bit per detect_kind raised */
	uint32_t	 resumed;	/* times continued after an eviction:
					   the row merges into its first */
	uint16_t	 starttls_reply; /* 0 = NULL */
	uint8_t		 starttls_offered;
	uint8_t		 starttls_requested;
	uint8_t		 tls_established;
};

struct storerow_stat {
	struct storerow	 hdr;		/* first: the row is cast from it */
	uint64_t	 ts_us;
	int64_t		 value;
};

struct storerow_server {
	struct storerow	 hdr;		/* first: the row is cast from it */
	struct history_server srv;	/* copy; its list links are unused */
};

/* Size classes: every row fits the largest (a session with every text
 * at its longest). */
#define STOREROW_MAX_SIZE	4096
#define STOREROW_CLASSES	(STOREROW_MAX_SIZE / STOREROW_ALIGN)

/*
 * Rows written and kept for reuse, by size class, up to
 * STOREROW_SPARE_BYTES in all: enough for the rows of a busy second, small
 * enough to give the memory of a burst back.
 */
#define STOREROW_SPARE_BYTES	(256 * 1024)

struct storerow_pool {
	struct storerowq spare[STOREROW_CLASSES];
	size_t		 spare_bytes;	/* held in the spare lists */
};

void	storerow_pool_init(struct storerow_pool *p);
void	storerow_pool_free(struct storerow_pool *p);

/*
 * A compact copy of a sink's row (the caller's pointers are only valid
 * during the call; the copy owns everything it needs). Text fields are
 * cut at their struct's size, constant names at STOREROW_NAME_MAX - 1,
 * stats names at STOREROW_STAT_NAME_MAX - 1. NULL on ENOMEM.
 */
struct storerow *storerow_event(struct storerow_pool *p,
	    const struct detect_event *ev);
struct storerow *storerow_session(struct storerow_pool *p,
	    const struct detect_session *s);
struct storerow *storerow_stat(struct storerow_pool *p, uint64_t ts_us,
	    const char *name, int64_t value);
struct storerow *storerow_server(struct storerow_pool *p,
	    const struct history_server *srv);

/* r is in no list: keep it for reuse or free it. */
void	storerow_put(struct storerow_pool *p, struct storerow *r);

/* Text field i of r, NUL-terminated; "" means NULL in the database. */
const char *storerow_text(const struct storerow *r, unsigned i);

/* Bytes r takes from memory, allocator included: a queue's unit. */
size_t	storerow_cost(const struct storerow *r);

#endif
