/*
 * storelog.c: the database's lines in the log, each said when something
 * changes, and again at most once a minute while it lasts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "storelog.h"

void
storelog_init(struct storelog *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	l->path = path;
}

uint64_t
storelog_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
storelog_describe(char *dst, size_t len, const char *err, int locked)
{
	snprintf(dst, len, "%s%s", err, locked ? " (another process holds "
	    "its write lock)" : "");
}

/* Whether a line said at then may be said again now. */
static int
storelog_due(uint64_t then, uint64_t now)
{
	return then == 0 || now - then >= STORELOG_REPEAT_MS;
}

void
storelog_fail(struct storelog *l, const char *err, int locked,
    uint64_t queued)
{
	uint64_t	 now = storelog_ms();
	char		 msg[STORELOG_MSG_MAX];

	l->attempts++;
	l->locked = locked;
	storelog_describe(msg, sizeof(msg), err, locked);
	if (!l->failing) {
		l->failing = 1;
		l->since_ms = now;
		log_warnx("database %s: %s; rows wait in memory and are "
		    "retried", l->path, msg);
	} else if (strcmp(l->msg, msg) != 0)
		log_warnx("database %s: now %s (after %" PRIu64 " failed "
		    "attempts)", l->path, msg, l->attempts - 1);
	else if (storelog_due(l->logged_ms, now))
		log_warnx("database %s: still %s (%" PRIu64 " failed attempts "
		    "in %" PRIu64 " s, %" PRIu64 " rows waiting)", l->path,
		    msg, l->attempts, (now - l->since_ms) / 1000, queued);
	else
		return;
	l->logged_ms = now;
	snprintf(l->msg, sizeof(l->msg), "%s", msg);
}

void
storelog_ok(struct storelog *l)
{
	if (!l->failing)
		return;
	log_info("database %s: writes resumed after %" PRIu64 " failed "
	    "attempts in %" PRIu64 " s", l->path, l->attempts,
	    (storelog_ms() - l->since_ms) / 1000);
	l->failing = 0;
	l->attempts = 0;
	l->msg[0] = '\0';
}

void
storelog_full(struct storelog *l, uint64_t queue_full, uint32_t queue_max,
    uint64_t queue_memcap)
{
	uint64_t	 now = storelog_ms();

	if (!storelog_due(l->full_logged_ms, now))
		return;
	log_warnx("database %s: queue full (db_queue_max %" PRIu32 " rows, "
	    "db_queue_memcap %" PRIu64 " bytes): %" PRIu64 " rows dropped%s; "
	    "db_queue_full=%" PRIu64 "%s%s", l->path, queue_max, queue_memcap,
	    queue_full - l->full_said, l->full_said != 0 ? " since the last "
	    "line" : "", queue_full, l->failing ? "; the database: " : "",
	    l->failing ? l->msg : "");
	l->full_said = queue_full;
	l->full_logged_ms = now;
}

void
storelog_waiting(struct storelog *l, uint64_t queued, uint64_t bytes,
    uint64_t waited_ms)
{
	log_warnx("database %s: queue full (%" PRIu64 " rows, %" PRIu64
	    " KiB); reading waits for the database: %s (%" PRIu64 " s so "
	    "far)", l->path, queued, bytes / 1024, l->failing ? l->msg :
	    "the writer is still busy", waited_ms / 1000);
}

void
storelog_reopened(struct storelog *l, const char *why)
{
	log_warnx("database %s: %s; opened the path anew (rows written "
	    "before stay in the old file)", l->path, why);
	l->put_off_logged_ms = 0;
}

void
storelog_put_off(struct storelog *l, const char *why, const char *err)
{
	uint64_t	 now = storelog_ms();

	if (!storelog_due(l->put_off_logged_ms, now))
		return;
	log_warnx("database %s: %s; %s: rows go on to the old file until it "
	    "can be let go", l->path, why, err);
	l->put_off_logged_ms = now;
}

void
storelog_maint(struct storelog *l, const char *err)
{
	uint64_t	 now = storelog_ms();

	if (err[0] == '\0' || (strcmp(err, l->maint_said) == 0 &&
	    !storelog_due(l->maint_logged_ms, now)))
		return;
	log_warnx("database %s: %s", l->path, err);
	snprintf(l->maint_said, sizeof(l->maint_said), "%s", err);
	l->maint_logged_ms = now;
}

/* Said when it passes warn, again each time it doubles, and when back. */
void
storelog_wal(struct storelog *l, uint64_t bytes, uint64_t warn, int ckpt)
{
	if (warn == 0 || bytes <= warn) {
		if (l->wal_said != 0)
			log_info("database %s: write-ahead log back to %"
			    PRIu64 " KiB", l->path, bytes / 1024);
		l->wal_said = 0;
		return;
	}
	if (l->wal_said != 0 && bytes < 2 * l->wal_said)
		return;
	log_warnx("database %s: write-ahead log %s-wal is %" PRIu64 " KiB "
	    "(db_wal_warn %" PRIu64 " KiB): %s", l->path, l->path,
	    bytes >> 10, warn >> 10, ckpt == 1 ? "another connection keeps "
	    "a transaction open (a reader that does not finish), so "
	    "checkpoints cannot reset it" : "checkpoints do not keep up");
	l->wal_said = bytes;
}
