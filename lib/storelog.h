/*
 * storelog.h: what the log says of the database, and when: once when
 * writes start failing, when the error changes, once a minute while it
 * lasts (with the count of failed attempts), once when they resume; rows
 * dropped with the queue full at once, then once a minute; every few
 * seconds while a full queue makes the reading wait; a reopen put off; a
 * housekeeping error; a write-ahead log past db_wal_warn. It keeps what
 * was said, so that nothing is said at every flush.
 *
 * Called by store.c from the capture loop's thread only.
 */
#ifndef STRIPWATCH_STORELOG_H
#define STRIPWATCH_STORELOG_H

#include <stddef.h>
#include <stdint.h>

/* An SQLite error with a path (STOREDB_ERR_MAX), and a word on its cause. */
#define STORELOG_MSG_MAX	576

/* A state that lasts is said again at most this often. */
#define STORELOG_REPEAT_MS	60000

struct storelog {
	const char	*path;		/* the database, named in every line */
	int		 failing;	/* writes fail since since_ms */
	int		 locked;	/* ... the last one by another's lock */
	uint64_t	 attempts;	/* failed writes since */
	uint64_t	 since_ms;
	uint64_t	 logged_ms;	/* last line about the failure */
	char		 msg[STORELOG_MSG_MAX]; /* the failure as said */
	uint64_t	 full_logged_ms; /* last "queue full" line */
	uint64_t	 full_said;	/* db_queue_full when it was said */
	uint64_t	 put_off_logged_ms; /* last "reopen put off" line */
	char		 maint_said[STORELOG_MSG_MAX];
	uint64_t	 maint_logged_ms;
	uint64_t	 wal_said;	/* WAL bytes last warned of, 0 none */
};

/* path must outlive l. */
void	storelog_init(struct storelog *l, const char *path);

/* The clock of every interval here: monotonic milliseconds. */
uint64_t storelog_ms(void);

/* A write's error as an operator reads it (a lock says whose). */
void	storelog_describe(char *dst, size_t len, const char *err,
	    int locked);

/* A write failed (queued rows wait); a write succeeded. */
void	storelog_fail(struct storelog *l, const char *err, int locked,
	    uint64_t queued);
void	storelog_ok(struct storelog *l);

/* The queue was full: queue_full rows dropped so far, by these limits. */
void	storelog_full(struct storelog *l, uint64_t queue_full,
	    uint32_t queue_max, uint64_t queue_memcap);

/* Reading waits for room in a full queue, since waited_ms. */
void	storelog_waiting(struct storelog *l, uint64_t queued, uint64_t bytes,
	    uint64_t waited_ms);

/* The path was opened anew because of why (the file moved, went...). */
void	storelog_reopened(struct storelog *l, const char *why);

/* Opening the path anew had to wait: why it was asked, why it waits. */
void	storelog_put_off(struct storelog *l, const char *why,
	    const char *err);

/* A housekeeping run ended; err "" if it went well. */
void	storelog_maint(struct storelog *l, const char *err);

/* The -wal file is bytes after a checkpoint (storedb_checkpoint()'s ckpt)
 * against warn (0 = never warn). */
void	storelog_wal(struct storelog *l, uint64_t bytes, uint64_t warn,
	    int ckpt);

#endif
