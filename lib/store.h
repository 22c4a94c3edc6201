/*
 * store.h: the SQLite database of sessions and events.
 *
 * Rows are queued in memory by the sink calls and written in one transaction
 * per flush by a writer thread, off the packet path: store_flush_async()
 * hands the queue over and returns at once. When the database is busy (a
 * reader holds a lock) or failing (disk full, read-only), rows stay queued,
 * up to queue_max, and are retried at the next flush; beyond that the oldest
 * are dropped and counted. Schema and migrations live in store.c; this is
 * the only part of stripwatch that includes sqlite3.h.
 *
 * Every function is called from one thread (the capture loop); the writer
 * thread is internal.
 */
#ifndef STRIPWATCH_STORE_H
#define STRIPWATCH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "detect.h"

/* Schema version kept in PRAGMA user_version. */
#define STORE_SCHEMA_VERSION	5

struct store_config {
	uint32_t	 queue_max;	/* rows waiting in memory at most */
	uint32_t	 busy_timeout_ms; /* wait for a lock per statement */
	uint32_t	 worker;	/* capture worker writing (stats.worker) */
	int		 wait_when_full; /* a full queue waits for the writer
					   instead of dropping (reading a
					   file: nothing need be lost) */
};

struct store_stats {
	uint64_t	 sessions;	/* session rows written */
	uint64_t	 events;	/* event rows written */
	uint64_t	 flushes;	/* transactions committed */
	uint64_t	 retries;	/* flushes deferred (busy, error) */
	uint64_t	 dropped;	/* rows lost: queue full */
	uint64_t	 queued;	/* rows waiting now */
	uint64_t	 stat_rows;	/* stats rows written */
	uint64_t	 server_rows;	/* servers rows written */
	uint64_t	 rejected;	/* rows refused by a constraint (a
					   duplicate sessions.id), skipped so
					   they cannot block the queue */
};

struct store;

/*
 * Open or create the database at path, apply the schema and WAL mode.
 * On failure returns NULL and writes a message into err.
 */
struct store *store_open(const char *path, const struct store_config *cfg,
	    char *err, size_t errlen);

/*
 * Record name as the sensor writing this database (table sensor, one
 * row), right after store_open(); written only when it differs, so
 * capture workers opening the same database need no write lock for it.
 * Returns 0, or -1 (store_error()).
 */
int	store_set_sensor(struct store *st, const char *name);

/* Stop the writer, flush what is queued (best effort) and close. */
void	store_close(struct store *st);

/* Queue a copy of a row; never blocks, never touches the disk. */
void	store_event(struct store *st, const struct detect_event *ev);
void	store_session(struct store *st, const struct detect_session *s);

/*
 * Write every queued row in one transaction, on the calling thread, after
 * waiting for the writer's batch. Returns 0 when the queue is empty
 * afterwards, -1 when rows remain (error text in store_error()).
 */
int	store_flush(struct store *st);

/*
 * Give up the rows still queued (at exit, when the database would not
 * take them): they are counted in dropped. Returns how many.
 */
uint64_t store_discard(struct store *st);

/*
 * Hand every queued row to the writer thread (started at the first call)
 * and return without waiting; does nothing while the writer still works on
 * the previous batch. Returns -1 when the last batch finished failed and
 * its rows are queued again for the next call (store_error()), else 0.
 */
int	store_flush_async(struct store *st);

/*
 * The first sessions.id not used yet: above every id in sessions, every
 * events.session_id and every queued row. 1 for an empty database.
 */
uint64_t store_next_session_id(struct store *st);

/*
 * Last error message, "" if none since the last successful flush (while
 * the writer works: as it was when the batch was handed over).
 */
const char *store_error(struct store *st);

const struct store_stats *store_get_stats(const struct store *st);

/* Longest stats name kept (with its NUL); names are ours, not wire data. */
#define STORE_STAT_NAME_MAX	64

/*
 * Queue a stats row (ts, name, value) like the sink rows; name is copied
 * and cut to STORE_STAT_NAME_MAX - 1 bytes.
 */
void	store_stat(struct store *st, uint64_t ts_us, const char *name,
	    int64_t value);

/*
 * Delete sessions, events and stats rows older than now_us - days (by
 * sessions.start_ts, events.ts, stats.ts), in one transaction. days 0 keeps
 * everything. Returns the number of rows deleted, or -1 (store_error()).
 */
int	store_retention(struct store *st, uint64_t now_us, uint32_t days);

/* Passive WAL checkpoint: copies what it can without waiting. 0 or -1. */
int	store_checkpoint(struct store *st);

/*
 * Ask the writer thread for housekeeping after the next batch (the next
 * store_flush_async(), even with nothing queued): store_retention() with
 * now_us and retention_days, then store_checkpoint(). Returns at once.
 */
void	store_maintain(struct store *st, uint64_t now_us,
	    uint32_t retention_days);

/*
 * The error of the last housekeeping run, once, when it has finished and
 * failed since the last call; "" otherwise.
 */
const char *store_maint_error(struct store *st);

/* Queue the current record of a server (servers table, upserted). */
void	store_server(struct store *st, const struct history_server *srv);

/*
 * Read back the max most recently seen servers, oldest first, calling
 * load(arg, rec) for each (at start, before any packet). Returns the
 * number read or -1 (store_error()).
 */
int	store_load_servers(struct store *st, uint32_t max,
	    void (*load)(void *, const struct history_server *), void *arg);

/* Fill a sink that queues into st. */
void	store_sink(struct store *st, struct detect_sink *sink);

#endif
