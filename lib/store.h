/*
 * store.h: the SQLite database of sessions and events, as the rest of
 * stripwatch sees it.
 *
 * Rows are queued in memory by the sink calls, as compact copies, and
 * written in one transaction per flush by a writer thread, off the packet
 * path: store_flush_async() hands the queue over and returns at once. When
 * the database is busy (another process holds its write lock) or failing
 * (disk full, read-only), rows stay queued and are retried at the next
 * flush; the queue is bounded in rows (queue_max) and in bytes
 * (queue_memcap). Beyond, live, the oldest rows are dropped and counted;
 * reading a file, the caller waits for the database instead.
 *
 * One store lives as long as the process: its queue and its counters
 * survive a reload. The file at the path is watched: when it is moved,
 * deleted or replaced (checked at each flush), or when store_reopen() asks,
 * the writer opens the path anew before writing the next batch; rows
 * already handed to the old file are written there first. Queued rows are
 * never freed unwritten while the store lives; rows given up (at exit, or
 * dropped when full) are counted.
 *
 * Changes of the database's state are logged here, once each: failing
 * ("database PATH: ..."), recovered ("writes resumed after N failed
 * attempts"), reopened, rows dropped (rate-limited), a write-ahead log
 * grown past wal_warn.
 *
 * Every function is called from one thread (the capture loop); the writer
 * thread is internal. Schema, statements and SQLite are storedb.c's;
 * the compact rows storerow.c's.
 */
#ifndef STRIPWATCH_STORE_H
#define STRIPWATCH_STORE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"

struct store_config {
	uint64_t	 queue_memcap;	/* bytes of queued rows at most,
					   allocator included */
	uint32_t	 queue_max;	/* rows waiting in memory at most */
	uint32_t	 busy_timeout_ms; /* wait for a lock per statement */
	uint32_t	 worker;	/* capture worker writing (stats.worker) */
	int		 wait_when_full; /* a full queue waits for the writer
					   instead of dropping (reading a
					   file: nothing need be lost) */
	uint32_t	 fail_wait_ms;	/* with wait_when_full: how long a full
					   queue waits for a database that
					   fails other than by a lock (disk
					   full); a lock is waited out */
	uint64_t	 wal_warn;	/* warn when the -wal file is larger
					   after a checkpoint; 0 = never */
	const volatile sig_atomic_t *stop_waiting; /* with wait_when_full:
					   once non-zero (a signal asked the
					   run to stop), a full queue waits
					   no more; NULL = never */
};

struct store_stats {
	uint64_t	 sessions;	/* session rows written */
	uint64_t	 events;	/* event rows written */
	uint64_t	 flushes;	/* transactions committed */
	uint64_t	 retries;	/* flushes deferred (busy, error) */
	uint64_t	 dropped;	/* rows lost: queue_full + given_up +
					   no_memory */
	uint64_t	 queue_full;	/* dropped: the queue was full */
	uint64_t	 given_up;	/* dropped: still queued at exit */
	uint64_t	 no_memory;	/* dropped: no memory for the copy */
	uint64_t	 queued;	/* rows waiting now */
	uint64_t	 queue_bytes;	/* memory they take now */
	uint64_t	 queue_bytes_peak; /* and at most */
	uint64_t	 stat_rows;	/* stats rows written */
	uint64_t	 server_rows;	/* servers rows written */
	uint64_t	 rejected;	/* rows refused by a constraint (a
					   duplicate sessions.id), skipped so
					   they cannot block the queue */
	uint64_t	 reopened;	/* database opened anew at the path */
	uint64_t	 wal_bytes;	/* -wal file after the last checkpoint */
};

struct store;

/* Longest sensor name kept (config.h's CONFIG_SENSOR_MAX fits). */
#define STORE_SENSOR_MAX	64

/*
 * Open or create the database at path, apply the schema and WAL mode.
 * On failure returns NULL and writes a message into err.
 */
struct store *store_open(const char *path, const struct store_config *cfg,
	    char *err, size_t errlen);

/*
 * Stop the writer, write what is queued (one attempt) and close. Rows the
 * database would not take are given up (counted in given_up): returns how
 * many.
 */
uint64_t store_close(struct store *st);

/*
 * Record name as the sensor writing this database (table sensor, one
 * row), now and in every file the path is opened anew on; written only
 * when it differs, so capture workers opening the same database need no
 * write lock for it. Returns 0, or -1 (store_error()).
 */
int	store_set_sensor(struct store *st, const char *name);

/*
 * New limits, busy timeout and warnings (a reload). The busy timeout
 * reaches the connection with the next batch; a smaller queue makes room
 * as rows come. The path and the worker stay.
 */
void	store_set_config(struct store *st, const struct store_config *cfg);

/*
 * Open the database at the path anew before the next batch (SIGHUP), as
 * when the file is found moved, deleted or replaced. Returns at once.
 */
void	store_reopen(struct store *st);

/*
 * Queue a copy of a row; never touches the disk. It never blocks either,
 * except with wait_when_full, when the queue is full: then it waits for
 * the writer until the row fits (see fail_wait_ms), logging every few
 * seconds what it waits for.
 */
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
 * take them): they are counted in given_up and dropped. Returns how many.
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
 * the writer works: as it was when the batch was handed over). A lock
 * held by another process reads "database is locked (...)".
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

/*
 * WAL checkpoint without waiting: the -wal file is truncated when no other
 * connection is in the way, else what can be copied is. 0 truncated, 1 a
 * reader or writer kept part of it, -1 error (store_error()).
 */
int	store_checkpoint(struct store *st);

/*
 * Ask the writer thread for housekeeping after the next batch (the next
 * store_flush_async(), even with nothing queued): store_retention() with
 * now_us and retention_days, then store_checkpoint(), then the size of the
 * -wal file against wal_warn. Returns at once; errors are logged.
 */
void	store_maintain(struct store *st, uint64_t now_us,
	    uint32_t retention_days);

/*
 * The error of the last housekeeping run, once, when it has finished and
 * failed since the last call; "" otherwise.
 */
const char *store_maint_error(struct store *st);

/*
 * Whether rows already written name source as their sessions.source
 * (escaped, as detect_session.source holds it); waits for the writer's
 * batch. 1 yes, 0 no, -1 error (store_error()).
 */
int	store_source_seen(struct store *st, const char *source);

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
