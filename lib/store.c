/*
 * store.c: the database as the rest of stripwatch sees it: the bounded
 * queue of compact rows, the writer thread that writes it in one
 * transaction per store_flush_async(), the watch on the database file
 * (reopened when moved, deleted or replaced), and the account of what was
 * written, retried and lost, logged when it changes. The SQLite side is
 * storedb.c's, the rows storerow.c's.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "storedb.h"
#include "storelog.h"
#include "storerow.h"

#define STORE_ERR_MAX		STOREDB_ERR_MAX

/* A queue_max of 0 would drop every row before it is written. */
#define STORE_QUEUE_MIN		1

/* A queue_memcap below one largest row could never take it. */
#define STORE_MEMCAP_MIN	(STOREROW_MAX_SIZE + STOREROW_MALLOC_HEAD)

/* While a full queue waits for the database: a line this often. */
#define STORE_WAIT_LOG_MS	5000

/*
 * Between two attempts of a full queue waiting for a failed write: the
 * write itself waits busy_timeout_ms for a lock, which may be 0.
 */
#define STORE_RETRY_PAUSE_MS	100

_Static_assert(STORE_STAT_NAME_MAX == STOREROW_STAT_NAME_MAX,
    "one length of stats names");

/* The file a connection has open, to notice it moved, went or changed. */
struct store_file {
	dev_t		 dev;
	ino_t		 ino;
};

/* Why the path is opened anew (store_job.reopen). */
enum store_reopen {
	STORE_REOPEN_NO = 0,
	STORE_REOPEN_ASKED,		/* store_reopen(): SIGHUP */
	STORE_REOPEN_GONE,		/* no file at the path any more */
	STORE_REOPEN_REPLACED,		/* another file at the path */
	STORE_REOPEN_RETRY		/* no connection: the last open failed */
};

/* The file at the path is not the one open: its WAL must go into it. */
#define STORE_REOPEN_MOVED(r) \
	((r) == STORE_REOPEN_GONE || (r) == STORE_REOPEN_REPLACED)

/*
 * One hand-over to the writer: what the caller gives (rows and requests)
 * and what the writer leaves for the caller to reap.
 */
struct store_job {
	int		 handed;	/* a job is out or waits for reaping */
	/* from the caller */
	struct storerowq rows;		/* the batch, older than the queue */
	enum store_reopen reopen;	/* open the path anew first */
	uint32_t	 busy_ms;	/* busy timeout for the connection */
	uint32_t	 worker;	/* stats.worker of stats rows */
	int		 maint;		/* housekeeping after the rows */
	uint64_t	 now_us;	/* its time ... */
	uint32_t	 days;		/* ... and retention, 0 keeps all */
	/* from the writer */
	int		 rc;		/* rows: 0 written, -1 kept */
	int		 locked;	/* the failure was another's lock */
	char		 err[STORE_ERR_MAX]; /* why rows or the open failed */
	uint64_t	 n[STOREROW_NKINDS]; /* rows written per kind */
	int		 opened;	/* reopen: 1 done, -1 failed, 0 put
					   off (a reader in the old file) */
	struct store_file file;		/* what the new connection opened */
	int		 maint_ran;
	char		 maint_err[STORE_ERR_MAX]; /* "" if it went well */
	int		 ckpt;		/* storedb_checkpoint() */
	uint64_t	 wal_bytes;	/* -wal after it */
};

/*
 * Two threads share a store: the caller's (the capture loop) and, from the
 * first store_flush_async() on, a writer. The connection (db) and the job
 * belong to the writer while busy is set and to the caller otherwise; busy
 * is set only by the caller and cleared only by the writer, under mu.
 * Everything else is the caller's alone: the writer reads nothing but db,
 * path and the job. So the capture loop never waits for SQLite (a lock
 * held by a reader, a slow disk), and the writer never touches a packet.
 */
struct store {
	struct store_config cfg;
	char		*path;			/* the configured path */
	char		 sensor[STORE_SENSOR_MAX]; /* name for table sensor,
						   "" unset; written while
						   the writer is idle */
	struct storedb	*db;			/* NULL: the last open failed */
	struct store_file file;			/* what db has open */
	struct storerow_pool pool;		/* spare rows */
	struct storerowq queue;			/* oldest first, not handed
						   over yet */
	struct store_stats stats;
	struct storelog	 log;			/* what it said */
	char		 err[STORELOG_MSG_MAX];	/* last error, "" if none */
	int		 last_rc;		/* of the last batch reaped */
	enum store_reopen reopen_asked;		/* for the next job */

	/* Housekeeping asked for (store_maintain), for the next job. */
	int		 maint_asked;
	uint64_t	 ask_now_us;
	uint32_t	 ask_days;
	int		 maint_new;		/* maint_err not read yet */
	char		 maint_err[STORE_ERR_MAX];
	char		 maint_shown[STORE_ERR_MAX];

	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;			/* busy or stop changed */
	pthread_t	 thread;
	int		 thread_state;		/* STORE_THREAD_* */
	int		 busy;			/* the job is the writer's */
	int		 stop;			/* writer: exit when idle */
	struct store_job job;
};

#define STORE_THREAD_NONE	0	/* not started: writes run inline */
#define STORE_THREAD_RUNNING	1
#define STORE_THREAD_FAILED	2	/* could not start: inline for good */

static void
sleep_ms(uint64_t ms)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/* The identity of the file at path; -1 (errno) if there is none. */
static int
store_file_at(const char *path, struct store_file *f)
{
	struct stat	 sb;

	if (stat(path, &sb) == -1)
		return -1;
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	return 0;
}

static void
store_apply_config(struct store *st, const struct store_config *cfg)
{
	st->cfg = *cfg;
	if (st->cfg.queue_max < STORE_QUEUE_MIN)
		st->cfg.queue_max = STORE_QUEUE_MIN;
	if (st->cfg.queue_memcap < STORE_MEMCAP_MIN)
		st->cfg.queue_memcap = STORE_MEMCAP_MIN;
}

struct store *
store_open(const char *path, const struct store_config *cfg, char *err,
    size_t errlen)
{
	struct store	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		free(st);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if ((st->db = storedb_open(path, cfg->busy_timeout_ms, err,
	    errlen)) == NULL) {
		free(st->path);
		free(st);
		return NULL;
	}
	if (store_file_at(path, &st->file) == -1)
		st->reopen_asked = STORE_REOPEN_GONE;	/* already gone */
	store_apply_config(st, cfg);
	storelog_init(&st->log, st->path);
	storerow_pool_init(&st->pool);
	TAILQ_INIT(&st->queue);
	TAILQ_INIT(&st->job.rows);
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	return st;
}

void
store_set_config(struct store *st, const struct store_config *cfg)
{
	uint32_t	 worker = st->cfg.worker;

	store_apply_config(st, cfg);
	st->cfg.worker = worker;
}

void
store_reopen(struct store *st)
{
	if (st->reopen_asked == STORE_REOPEN_NO)
		st->reopen_asked = STORE_REOPEN_ASKED;
}

/* r leaves the queue or the batch: account for it, recycle it. */
static void
store_unqueue(struct store *st, struct storerow *r)
{
	st->stats.queued--;
	st->stats.queue_bytes -= storerow_cost(r);
	storerow_put(&st->pool, r);
}

/* ------------------------------------------------------- the writer */

/*
 * Whether path has no database but a -wal or -shm file: they belong to
 * the file that was moved away, still open in another process, and a new
 * database there would take the old one's pages for its own.
 */
static int
store_orphan_wal(const char *path)
{
	static const char *const sfx[] = { "-wal", "-shm" };
	struct store_file f;
	char		 p[STORE_ERR_MAX];
	size_t		 i;

	if (store_file_at(path, &f) == 0 || errno != ENOENT)
		return 0;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		if (store_file_at(p, &f) == 0)
			return 1;
	}
	return 0;
}

/*
 * Writer or inline: close the connection, open the path anew. A file
 * moved away or deleted gets its whole WAL first; while a reader keeps
 * part of it, the old connection stays and the rows go on to the old file
 * (none is lost with it; the next flush tries again).
 */
static void
store_do_reopen(struct store *st, struct store_job *j)
{
	if (st->db != NULL && STORE_REOPEN_MOVED(j->reopen)) {
		if (storedb_release(st->db) == -1) {
			snprintf(j->err, sizeof(j->err), "%s",
			    storedb_error(st->db));
			return;
		}
	} else
		storedb_close(st->db);
	st->db = NULL;
	if (store_orphan_wal(st->path)) {
		snprintf(j->err, sizeof(j->err), "cannot open anew: the -wal "
		    "and -shm files of the old database are still there "
		    "(another process has it open)");
		j->opened = -1;
		return;
	}
	if ((st->db = storedb_open(st->path, j->busy_ms, j->err,
	    sizeof(j->err))) == NULL) {
		j->opened = -1;
		return;
	}
	/* A new file is this sensor's too. */
	if (st->sensor[0] != '\0' &&
	    storedb_set_sensor(st->db, st->sensor) == -1)
		snprintf(j->err, sizeof(j->err), "%s", storedb_error(st->db));
	j->opened = store_file_at(st->path, &j->file) == 0 ? 1 : -1;
	if (j->opened == -1)
		snprintf(j->err, sizeof(j->err), "%s: %s", st->path,
		    strerror(errno));
}

/* Writer or inline: retention, a checkpoint, the size of the WAL. */
static void
store_do_maintenance(struct store *st, struct store_job *j)
{
	j->maint_ran = 1;
	j->maint_err[0] = '\0';
	if (storedb_retention(st->db, j->now_us, j->days) == -1)
		snprintf(j->maint_err, sizeof(j->maint_err), "retention: %.480s",
		    storedb_error(st->db));
	else if ((j->ckpt = storedb_checkpoint(st->db)) == -1)
		snprintf(j->maint_err, sizeof(j->maint_err), "%s",
		    storedb_error(st->db));
	j->wal_bytes = storedb_wal_bytes(st->db);
}

/* The writer's work (or the caller's, inline) on one job. */
static void
store_run(struct store *st, struct store_job *j)
{
	j->opened = 0;
	j->maint_ran = 0;
	j->rc = 0;
	j->locked = 0;
	memset(j->n, 0, sizeof(j->n));
	if (j->reopen != STORE_REOPEN_NO)
		store_do_reopen(st, j);
	else if (st->db != NULL)
		storedb_set_busy_timeout(st->db, j->busy_ms);
	if (!TAILQ_EMPTY(&j->rows)) {
		if (st->db == NULL)
			j->rc = -1;	/* j->err says why it is not open */
		else if ((j->rc = storedb_write(st->db, &j->rows, j->worker,
		    j->n)) == -1) {
			snprintf(j->err, sizeof(j->err), "%s",
			    storedb_error(st->db));
			j->locked = storedb_locked(st->db);
		}
	}
	if (j->maint && st->db != NULL)
		store_do_maintenance(st, j);
}

static void *
store_writer(void *arg)
{
	struct store	*st = arg;

	pthread_mutex_lock(&st->mu);
	for (;;) {
		while (!st->busy && !st->stop)
			pthread_cond_wait(&st->cv, &st->mu);
		if (!st->busy)
			break;
		pthread_mutex_unlock(&st->mu);
		store_run(st, &st->job);
		pthread_mutex_lock(&st->mu);
		st->busy = 0;
		pthread_cond_broadcast(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/*
 * Start the writer with every signal blocked: signals are the capture
 * loop's business. Started at the first asynchronous flush, so after the
 * program has dropped its privileges (capabilities are per thread).
 */
static void
store_start_writer(struct store *st)
{
	sigset_t	 all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	st->thread_state = pthread_create(&st->thread, NULL, store_writer,
	    st) == 0 ? STORE_THREAD_RUNNING : STORE_THREAD_FAILED;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ------------------------------------------------ the caller's side */

/* Caller: whether the writer holds a job now (the connection is its). */
static int
store_busy(struct store *st)
{
	int	 busy;

	pthread_mutex_lock(&st->mu);
	busy = st->busy;
	pthread_mutex_unlock(&st->mu);
	return busy;
}

/* Caller, job done: what the reopen did. */
static void
store_reap_reopen(struct store *st, const struct store_job *j)
{
	static const char *const why[] = {
		[STORE_REOPEN_GONE] = "the file was moved or deleted",
		[STORE_REOPEN_REPLACED] = "another file took its place",
	};

	if (j->opened == 0 && STORE_REOPEN_MOVED(j->reopen))
		storelog_put_off(&st->log, why[j->reopen], j->err);
	if (j->opened != 1)
		return;
	st->file = j->file;
	st->stats.reopened++;
	if (STORE_REOPEN_MOVED(j->reopen))
		storelog_reopened(&st->log, why[j->reopen]);
}

/* Caller, job done: rows written go back to the spare lists; rows of a
 * failed write back to the head of the queue, in order. */
static void
store_reap_rows(struct store *st, struct store_job *j)
{
	struct storerow	*r;

	st->last_rc = j->rc;
	if (j->rc == -1) {
		TAILQ_CONCAT(&j->rows, &st->queue, entry);
		TAILQ_CONCAT(&st->queue, &j->rows, entry);
		st->stats.retries++;
		storelog_describe(st->err, sizeof(st->err), j->err, j->locked);
		storelog_fail(&st->log, j->err, j->locked, st->stats.queued);
		return;
	}
	while ((r = TAILQ_FIRST(&j->rows)) != NULL) {
		TAILQ_REMOVE(&j->rows, r, entry);
		if (r->refused)
			st->stats.rejected++;
		store_unqueue(st, r);
	}
	st->stats.events += j->n[STOREROW_EVENT];
	st->stats.sessions += j->n[STOREROW_SESSION];
	st->stats.stat_rows += j->n[STOREROW_STAT];
	st->stats.server_rows += j->n[STOREROW_SERVER];
	st->stats.flushes++;
	st->err[0] = '\0';
	storelog_ok(&st->log);
}

/* Caller, writer idle: account for the last job. */
static void
store_reap(struct store *st)
{
	struct store_job *j = &st->job;
	int		 had_rows = !TAILQ_EMPTY(&j->rows);

	if (!j->handed)
		return;
	j->handed = 0;
	store_reap_reopen(st, j);
	if (had_rows)
		store_reap_rows(st, j);
	else if (j->opened == -1) {
		snprintf(st->err, sizeof(st->err), "%s", j->err);
		storelog_fail(&st->log, j->err, 0, st->stats.queued);
	}
	if (j->maint_ran) {
		snprintf(st->maint_err, sizeof(st->maint_err), "%s",
		    j->maint_err);
		st->maint_new = 1;
		storelog_maint(&st->log, j->maint_err);
		st->stats.wal_bytes = j->wal_bytes;
		storelog_wal(&st->log, j->wal_bytes, st->cfg.wal_warn, j->ckpt);
	}
}

/* Caller: wait until the writer is idle, then reap its job. */
static void
store_wait(struct store *st)
{
	pthread_mutex_lock(&st->mu);
	while (st->busy)
		pthread_cond_wait(&st->cv, &st->mu);
	pthread_mutex_unlock(&st->mu);
	store_reap(st);
}

/* Caller: wait at most ms for the writer; whether it is idle now. */
static int
store_wait_ms(struct store *st, uint64_t ms)
{
	struct timespec	 until;
	int		 busy;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(ms / 1000);
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->mu);
	while (st->busy && pthread_cond_timedwait(&st->cv, &st->mu,
	    &until) == 0)
		;
	busy = st->busy;
	pthread_mutex_unlock(&st->mu);
	if (!busy)
		store_reap(st);
	return !busy;
}

/*
 * Caller, writer idle: is the file at the path still the one open? Only
 * its absence counts as gone: a path the sensor cannot look at is not a
 * reason to drop a working connection.
 */
static void
store_check_file(struct store *st)
{
	struct store_file f;

	if (st->db == NULL)
		st->reopen_asked = STORE_REOPEN_RETRY;
	else if (store_file_at(st->path, &f) == -1) {
		if (errno == ENOENT)
			st->reopen_asked = STORE_REOPEN_GONE;
	} else if (f.dev != st->file.dev || f.ino != st->file.ino)
		st->reopen_asked = STORE_REOPEN_REPLACED;
}

/* Caller, writer idle: whether a job has anything to do (housekeeping
 * too, with_maint). */
static int
store_has_work(struct store *st, int with_maint)
{
	store_check_file(st);
	return !TAILQ_EMPTY(&st->queue) || (with_maint && st->maint_asked) ||
	    st->reopen_asked != STORE_REOPEN_NO;
}

/*
 * Caller, writer idle and reaped: give the queue and requests to a job;
 * housekeeping only with_maint, else it waits for the next one.
 */
static void
store_hand_over(struct store *st, int with_maint)
{
	struct store_job *j = &st->job;

	TAILQ_CONCAT(&j->rows, &st->queue, entry);
	j->reopen = st->reopen_asked;
	st->reopen_asked = STORE_REOPEN_NO;
	j->busy_ms = st->cfg.busy_timeout_ms;
	j->worker = st->cfg.worker;
	j->maint = with_maint && st->maint_asked;
	j->now_us = st->ask_now_us;
	j->days = st->ask_days;
	if (j->maint)
		st->maint_asked = 0;
	j->handed = 1;
}

/* Caller, writer idle and reaped: the next job, on this thread. */
static void
store_run_inline(struct store *st, int with_maint)
{
	store_hand_over(st, with_maint);
	store_run(st, &st->job);
	store_reap(st);
}

/*
 * Caller, writer idle and reaped: start the next job on the writer (or
 * inline when it cannot run), if there is work.
 */
static void
store_kick(struct store *st)
{
	if (!store_has_work(st, 1))
		return;
	if (st->thread_state == STORE_THREAD_NONE)
		store_start_writer(st);
	if (st->thread_state != STORE_THREAD_RUNNING) {
		store_run_inline(st, 1);
		return;
	}
	store_hand_over(st, 1);
	pthread_mutex_lock(&st->mu);
	st->busy = 1;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

int
store_flush_async(struct store *st)
{
	if (store_busy(st))
		return st->last_rc;
	store_reap(st);
	store_kick(st);
	return st->last_rc;
}

int
store_flush(struct store *st)
{
	store_wait(st);
	if (store_has_work(st, 0))
		store_run_inline(st, 0);
	return TAILQ_EMPTY(&st->queue) ? 0 : -1;
}

uint64_t
store_discard(struct store *st)
{
	struct storerow	*r;
	uint64_t	 n = 0;

	store_wait(st);
	while ((r = TAILQ_FIRST(&st->queue)) != NULL) {
		TAILQ_REMOVE(&st->queue, r, entry);
		store_unqueue(st, r);
		n++;
	}
	st->stats.given_up += n;
	st->stats.dropped += n;
	return n;
}

static void
store_stop_writer(struct store *st)
{
	if (st->thread_state != STORE_THREAD_RUNNING)
		return;
	pthread_mutex_lock(&st->mu);
	st->stop = 1;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->thread, NULL);
	st->thread_state = STORE_THREAD_NONE;
	st->stop = 0;
	store_reap(st);
}

uint64_t
store_close(struct store *st)
{
	uint64_t	 n;

	if (st == NULL)
		return 0;
	store_stop_writer(st);
	(void)store_flush(st);
	n = store_discard(st);
	storedb_close(st->db);
	storerow_pool_free(&st->pool);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st->path);
	free(st);
	return n;
}

/* ------------------------------------------------------- the queue */

static int
store_fits(const struct store *st, size_t cost)
{
	return st->stats.queued < st->cfg.queue_max &&
	    st->stats.queue_bytes + cost <= st->cfg.queue_memcap;
}

/*
 * With wait_when_full, whether a full queue may go on waiting: always
 * while writes succeed or meet a lock (another process lets go sooner or
 * later), for fail_wait_ms once they fail otherwise (a full disk need not
 * empty itself); never once the run is asked to stop.
 */
static int
store_may_wait(const struct store *st)
{
	const struct storelog *l = &st->log;

	if (st->cfg.stop_waiting != NULL && *st->cfg.stop_waiting != 0)
		return 0;
	return !l->failing || l->locked ||
	    storelog_ms() - l->since_ms < st->cfg.fail_wait_ms;
}

/*
 * Caller, the queue full for a row of cost bytes: hand the queue to the
 * writer and wait for it until the row fits or waiting is no use; a line
 * every STORE_WAIT_LOG_MS says what it waits for.
 */
static void
store_wait_for_room(struct store *st, size_t cost)
{
	uint64_t	 start = storelog_ms(), now;
	uint64_t	 next_log = start + STORE_WAIT_LOG_MS;

	while (!store_fits(st, cost) && store_may_wait(st)) {
		if (store_wait_ms(st, STORE_RETRY_PAUSE_MS) &&
		    !store_fits(st, cost)) {
			if (st->last_rc == -1)
				sleep_ms(STORE_RETRY_PAUSE_MS);
			store_kick(st);
		}
		if ((now = storelog_ms()) >= next_log) {
			storelog_waiting(&st->log, st->stats.queued,
			    st->stats.queue_bytes, now - start);
			next_log = now + STORE_WAIT_LOG_MS;
		}
	}
}

/* n rows dropped with the queue full. */
static void
store_lost_full(struct store *st, uint64_t n)
{
	st->stats.queue_full += n;
	st->stats.dropped += n;
	storelog_full(&st->log, st->stats.queue_full, st->cfg.queue_max,
	    st->cfg.queue_memcap);
}

/*
 * Append r. When the queue is full the oldest rows not handed over yet
 * make room (counted); when the rows handed over fill it alone, r itself
 * is dropped. With wait_when_full, a full queue first waits for the
 * writer: reading a file can wait, a live capture cannot.
 */
static void
store_enqueue(struct store *st, struct storerow *r)
{
	struct storerow	*old;
	size_t		 cost = storerow_cost(r);
	uint64_t	 n = 0;

	if (!store_fits(st, cost) && st->cfg.wait_when_full) {
		store_wait_for_room(st, cost);
		store_wait(st);		/* its rows are the oldest */
	} else if (!store_fits(st, cost) && !store_busy(st))
		store_reap(st);
	while (!store_fits(st, cost) && (old = TAILQ_FIRST(&st->queue)) !=
	    NULL) {
		TAILQ_REMOVE(&st->queue, old, entry);
		store_unqueue(st, old);
		n++;
	}
	if (!store_fits(st, cost)) {
		storerow_put(&st->pool, r);
		store_lost_full(st, n + 1);
		return;
	}
	if (n > 0)
		store_lost_full(st, n);
	TAILQ_INSERT_TAIL(&st->queue, r, entry);
	st->stats.queued++;
	st->stats.queue_bytes += cost;
	if (st->stats.queue_bytes > st->stats.queue_bytes_peak)
		st->stats.queue_bytes_peak = st->stats.queue_bytes;
}

/* A row copy or NULL (no memory: counted). */
static void
store_add(struct store *st, struct storerow *r)
{
	if (r == NULL) {
		st->stats.no_memory++;
		st->stats.dropped++;
		return;
	}
	store_enqueue(st, r);
}

void
store_event(struct store *st, const struct detect_event *ev)
{
	store_add(st, storerow_event(&st->pool, ev));
}

void
store_session(struct store *st, const struct detect_session *s)
{
	store_add(st, storerow_session(&st->pool, s));
}

void
store_stat(struct store *st, uint64_t ts_us, const char *name,
    int64_t value)
{
	store_add(st, storerow_stat(&st->pool, ts_us, name, value));
}

void
store_server(struct store *st, const struct history_server *srv)
{
	store_add(st, storerow_server(&st->pool, srv));
}

/* ------------------------------------------ reading and housekeeping */

/* Caller, writer idle: the connection, or NULL with the reason set. */
static struct storedb *
store_db(struct store *st)
{
	store_wait(st);
	if (st->db == NULL)
		snprintf(st->err, sizeof(st->err), "%s: not open", st->path);
	return st->db;
}

uint64_t
store_next_session_id(struct store *st)
{
	const struct storerow *r;
	struct storedb	*db;
	uint64_t	 next = 1, id;

	if ((db = store_db(st)) != NULL &&
	    storedb_next_session_id(db, &next) == -1)
		snprintf(st->err, sizeof(st->err), "%s", storedb_error(db));
	TAILQ_FOREACH(r, &st->queue, entry) {
		if (r->kind == STOREROW_SESSION)
			id = ((const struct storerow_session *)r)->id;
		else if (r->kind == STOREROW_EVENT)
			id = ((const struct storerow_event *)r)->session_id;
		else
			continue;
		if (id >= next)
			next = id + 1;
	}
	return next;
}

int
store_retention(struct store *st, uint64_t now_us, uint32_t days)
{
	struct storedb	*db;
	int		 n;

	if ((db = store_db(st)) == NULL)
		return -1;
	if ((n = storedb_retention(db, now_us, days)) == -1)
		snprintf(st->err, sizeof(st->err), "%s", storedb_error(db));
	return n;
}

int
store_checkpoint(struct store *st)
{
	struct storedb	*db;
	int		 rc;

	if ((db = store_db(st)) == NULL)
		return -1;
	if ((rc = storedb_checkpoint(db)) == -1)
		snprintf(st->err, sizeof(st->err), "%s", storedb_error(db));
	return rc;
}

int
store_load_servers(struct store *st, uint32_t max,
    void (*load)(void *, const struct history_server *), void *arg)
{
	struct storedb	*db;
	int		 n;

	if ((db = store_db(st)) == NULL)
		return -1;
	if ((n = storedb_load_servers(db, max, load, arg)) == -1)
		snprintf(st->err, sizeof(st->err), "%s", storedb_error(db));
	return n;
}

int
store_source_seen(struct store *st, const char *source)
{
	struct storedb	*db;
	int		 seen;

	if ((db = store_db(st)) == NULL)
		return -1;
	if ((seen = storedb_source_seen(db, source)) == -1)
		snprintf(st->err, sizeof(st->err), "%s", storedb_error(db));
	return seen;
}

void
store_maintain(struct store *st, uint64_t now_us, uint32_t retention_days)
{
	st->maint_asked = 1;
	st->ask_now_us = now_us;
	st->ask_days = retention_days;
}

const char *
store_maint_error(struct store *st)
{
	st->maint_shown[0] = '\0';
	if (st->maint_new) {
		memcpy(st->maint_shown, st->maint_err,
		    sizeof(st->maint_shown));
		st->maint_new = 0;
	}
	return st->maint_shown;
}

int
store_set_sensor(struct store *st, const char *name)
{
	store_wait(st);
	snprintf(st->sensor, sizeof(st->sensor), "%s", name);
	if (st->db == NULL)
		return 0;	/* written when the path opens again */
	if (storedb_set_sensor(st->db, st->sensor) == -1) {
		snprintf(st->err, sizeof(st->err), "%s", storedb_error(st->db));
		return -1;
	}
	return 0;
}

const char *
store_error(struct store *st)
{
	return st->err;
}

const struct store_stats *
store_get_stats(const struct store *st)
{
	return &st->stats;
}

static void
store_sink_event(void *arg, const struct detect_event *ev)
{
	store_event(arg, ev);
}

static void
store_sink_session(void *arg, const struct detect_session *s)
{
	store_session(arg, s);
}

static void
store_sink_server(void *arg, const struct history_server *srv)
{
	store_server(arg, srv);
}

void
store_sink(struct store *st, struct detect_sink *sink)
{
	sink->event = store_sink_event;
	sink->session = store_sink_session;
	sink->server = store_sink_server;
	sink->arg = st;
}
