/*
 * storedb.h: one SQLite connection to stripwatch's database: the schema
 * and its migrations, statements prepared once, a batch of rows written in
 * one transaction, retention, checkpoints, and reading back what a new
 * process needs (session ids, server history). The only part of stripwatch
 * that includes sqlite3.h.
 *
 * A connection is used by one thread at a time and has no mutex of its own
 * (SQLITE_OPEN_NOMUTEX); store.c hands it between the capture loop and its
 * writer thread, under its own mutex.
 */
#ifndef STRIPWATCH_STOREDB_H
#define STRIPWATCH_STOREDB_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "storerow.h"

/* Schema version kept in PRAGMA user_version. */
#define STOREDB_SCHEMA_VERSION	8

/* Error text: a path plus an SQLite message fit comfortably. */
#define STOREDB_ERR_MAX		512

struct storedb;

/*
 * Open or create the database at path, apply the schema (migrating an
 * older one) and WAL mode, prepare the statements. On failure returns NULL
 * and writes "path: reason" into err.
 */
struct storedb *storedb_open(const char *path, uint32_t busy_timeout_ms,
	    char *err, size_t errlen);

/* Close; the last connection to a file checkpoints it. NULL is a no-op. */
void	storedb_close(struct storedb *db);

/*
 * Close a connection whose file was moved away or deleted (its name is
 * about to serve a new database): the whole WAL is copied into the file
 * first, and its -wal and -shm names are removed when they are still this
 * connection's. 0 closed; -1 another connection's read transaction kept
 * part of the WAL: still open, still writing to the old file
 * (storedb_error()).
 */
int	storedb_release(struct storedb *db);

/* How long a statement waits for another connection's lock. */
void	storedb_set_busy_timeout(struct storedb *db, uint32_t ms);

/*
 * Write rows in one transaction; stats rows carry worker. A row refused by
 * a constraint (a duplicate sessions.id can never be written) is marked
 * refused and skipped rather than block every row behind it; n[kind]
 * counts the rows written. 0, or -1 rolled back (storedb_error()).
 */
int	storedb_write(struct storedb *db, const struct storerowq *rows,
	    uint32_t worker, uint64_t n[STOREROW_NKINDS]);

/* The last error; "" after a successful write. */
const char *storedb_error(const struct storedb *db);

/* Whether the last error was a lock held by another connection (it goes
 * away by itself), rather than a failure (disk full, read-only, I/O). */
int	storedb_locked(const struct storedb *db);

/*
 * Delete sessions, events and stats rows older than now_us - days, in one
 * transaction; days 0 keeps everything. Rows deleted, or -1.
 */
int	storedb_retention(struct storedb *db, uint64_t now_us, uint32_t days);

/*
 * Checkpoint the WAL without waiting: truncate it to nothing when no other
 * connection is in the way, else copy what can be copied. 0 truncated,
 * 1 another connection's transaction kept part of it, -1 error.
 */
int	storedb_checkpoint(struct storedb *db);

/* Bytes of the database's -wal file now (0 if there is none). */
uint64_t storedb_wal_bytes(const struct storedb *db);

/*
 * The first sessions.id not used by the database: above every sessions.id
 * and every events.session_id. 0 and *next, or -1.
 */
int	storedb_next_session_id(struct storedb *db, uint64_t *next);

/*
 * Record name as the sensor writing this database (table sensor, one
 * row); written only when it differs, so capture workers opening the
 * same database take no write lock for it. 0, or -1.
 */
int	storedb_set_sensor(struct storedb *db, const char *name);

/*
 * Whether sessions rows named source when written (table sources, as the
 * rows hold it: escaped): 1 yes, 0 no, -1 error.
 */
int	storedb_source_seen(struct storedb *db, const char *source);

/* Read back the max most recently seen servers, oldest first. n or -1. */
int	storedb_load_servers(struct storedb *db, uint32_t max,
	    void (*load)(void *, const struct history_server *), void *arg);

#endif
