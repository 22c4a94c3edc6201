/*
 * store.c: the SQLite database of sessions, events and stats: schema and
 * its migrations, statements prepared once, the bounded in-memory queue
 * of row copies, and the writer thread that writes the queue in one
 * transaction per store_flush_async(). The only file of stripwatch that
 * includes sqlite3.h.
 */
#include <sys/queue.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "decode.h"
#include "detect.h"
#include "store.h"
#include "text.h"

/* Error text: a path plus an SQLite message fit comfortably. */
#define STORE_ERR_MAX		512

/* A queue_max of 0 would drop every row before it is written. */
#define STORE_QUEUE_MIN		1

/*
 * Written rows kept per kind for reuse, so a steady flow of sessions does
 * not malloc per row; small enough (at most ~64 x 4.5 KiB) to give the
 * memory of a burst back.
 */
#define STORE_SPARE_MAX		64

/* Copies of detect_session's constant strings ("plaintext_offered",
 * "TLS1.3", "shutdown"): program constants, far shorter than this. */
#define STORE_NAME_MAX		32

/* Address text: decode_addr_str() wants at least 46 bytes. */
#define STORE_ADDR_MAX		64

#define STORE_US_PER_DAY	86400000000ULL

enum store_kind {
	STORE_ROW_EVENT = 0,
	STORE_ROW_SESSION,
	STORE_ROW_STAT,
	STORE_ROW_SERVER,
	STORE_NKINDS
};

/* Common head of every queued row; the kind says which struct holds it. */
struct store_row {
	TAILQ_ENTRY(store_row) entry;	/* queue or spare list */
	enum store_kind	 kind;
};
TAILQ_HEAD(store_rowq, store_row);

struct store_event_row {
	struct store_row hdr;		/* first: the row is cast from it */
	struct detect_event ev;		/* copy of the event */
};

struct store_session_row {
	struct store_row hdr;		/* first: the row is cast from it */
	struct detect_session s;	/* copy; its pointers are not used */
	char		 tls_version[STORE_NAME_MAX];	/* "" = NULL */
	char		 outcome[STORE_NAME_MAX];	/* "" = NULL */
	char		 close_reason[STORE_NAME_MAX];	/* "" = NULL */
};

struct store_stat_row {
	struct store_row hdr;		/* first: the row is cast from it */
	uint64_t	 ts_us;
	int64_t		 value;
	char		 name[STORE_STAT_NAME_MAX];
};

struct store_server_row {
	struct store_row hdr;		/* first: the row is cast from it */
	struct history_server srv;	/* copy; its list links are unused */
};

/* Statements prepared at open, indexes into store_sql[]. */
enum store_stmt {
	ST_BEGIN = 0,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_INS_SESSION,
	ST_MERGE_SESSION,
	ST_INS_EVENT,
	ST_INS_STAT,
	ST_NEXT_ID,
	ST_DEL_SESSIONS,
	ST_DEL_EVENTS,
	ST_DEL_STATS,
	ST_UPSERT_SERVER,
	ST_LOAD_SERVERS,
	ST_NSTMTS
};

static const char *const store_sql[ST_NSTMTS] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_INS_SESSION] = "INSERT INTO sessions (id, start_ts, end_ts, "
	    "client_ip, client_port, server_ip, server_port, helo, banner, "
	    "starttls_offered, starttls_requested, starttls_reply, "
	    "tls_established, outcome, tls_version, tls_cipher, tls_sni, "
	    "cert_sha256, gaps, events, close_reason, resumed) VALUES (?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	/*
	 * A connection evicted and seen again: its continuation's row (same
	 * id) completes the first one. The continuation carries the verdicts
	 * and counts over (outcome, events, gaps are its own); text the
	 * continuation could not see is kept.
	 */
	[ST_MERGE_SESSION] = "INSERT INTO sessions (id, start_ts, end_ts, "
	    "client_ip, client_port, server_ip, server_port, helo, banner, "
	    "starttls_offered, starttls_requested, starttls_reply, "
	    "tls_established, outcome, tls_version, tls_cipher, tls_sni, "
	    "cert_sha256, gaps, events, close_reason, resumed) VALUES (?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (id) DO UPDATE SET "
	    "start_ts = min(start_ts, excluded.start_ts), "
	    "end_ts = max(end_ts, excluded.end_ts), "
	    "helo = coalesce(helo, excluded.helo), "
	    "banner = coalesce(banner, excluded.banner), "
	    "starttls_offered = max(starttls_offered, "
	    "excluded.starttls_offered), "
	    "starttls_requested = max(starttls_requested, "
	    "excluded.starttls_requested), "
	    "starttls_reply = coalesce(excluded.starttls_reply, "
	    "starttls_reply), "
	    "tls_established = max(tls_established, excluded.tls_established), "
	    "outcome = excluded.outcome, "
	    "tls_version = coalesce(excluded.tls_version, tls_version), "
	    "tls_cipher = coalesce(excluded.tls_cipher, tls_cipher), "
	    "tls_sni = coalesce(excluded.tls_sni, tls_sni), "
	    "cert_sha256 = coalesce(excluded.cert_sha256, cert_sha256), "
	    "gaps = excluded.gaps, events = max(events, excluded.events), "
	    "close_reason = excluded.close_reason, "
	    "resumed = excluded.resumed",
	[ST_INS_EVENT] = "INSERT INTO events (ts, session_id, kind, severity, "
	    "client_ip, client_port, server_ip, server_port, evidence) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_INS_STAT] = "INSERT INTO stats (ts, name, value, worker) "
	    "VALUES (?, ?, ?, ?)",
	/* Events may name a session whose row was lost: skip past those
	 * ids too. */
	[ST_NEXT_ID] = "SELECT max(coalesce((SELECT max(id) FROM sessions), 0),"
	    " coalesce((SELECT max(session_id) FROM events), 0)) + 1",
	[ST_DEL_SESSIONS] = "DELETE FROM sessions WHERE start_ts < ?",
	[ST_DEL_EVENTS] = "DELETE FROM events WHERE ts < ?",
	[ST_DEL_STATS] = "DELETE FROM stats WHERE ts < ?",
	/*
	 * A row adds what one process learnt since its last write (its
	 * counts beyond history's drained_* fields) to what the table has:
	 * with several workers, or a server forgotten from memory and seen
	 * again, no writer overwrites another's sessions. Times widen; the
	 * certificate is the one seen last (by last_seen, as the sessions'
	 * own times are not kept). SQLite's max() and min() of a NULL are
	 * NULL, hence the coalesce().
	 */
	[ST_UPSERT_SERVER] = "INSERT INTO servers (server_ip, server_port, "
	    "first_seen, last_seen, sessions, starttls_offered, "
	    "starttls_accepted, last_offered, cert_sha256) VALUES (?, ?, ?, ?, "
	    "?, ?, ?, ?, ?) ON CONFLICT (server_ip, server_port) DO UPDATE SET "
	    "first_seen = coalesce(min(first_seen, excluded.first_seen), "
	    "first_seen, excluded.first_seen), "
	    "last_seen = coalesce(max(last_seen, excluded.last_seen), "
	    "last_seen, excluded.last_seen), "
	    "sessions = coalesce(sessions, 0) + excluded.sessions, "
	    "starttls_offered = coalesce(starttls_offered, 0) + "
	    "excluded.starttls_offered, "
	    "starttls_accepted = coalesce(starttls_accepted, 0) + "
	    "excluded.starttls_accepted, "
	    "last_offered = coalesce(max(last_offered, excluded.last_offered), "
	    "last_offered, excluded.last_offered), "
	    "cert_sha256 = CASE WHEN excluded.cert_sha256 IS NOT NULL AND "
	    "(last_seen IS NULL OR excluded.last_seen >= last_seen) THEN "
	    "excluded.cert_sha256 ELSE coalesce(cert_sha256, "
	    "excluded.cert_sha256) END",
	[ST_LOAD_SERVERS] = "SELECT server_ip, server_port, first_seen, "
	    "last_seen, sessions, starttls_offered, starttls_accepted, "
	    "last_offered, cert_sha256 FROM (SELECT * FROM servers ORDER BY "
	    "last_seen DESC LIMIT ?) ORDER BY last_seen ASC",
};

/*
 * Migrations: step i takes user_version i to i + 1. A later schema adds a
 * step (ALTER TABLE ...) and raises STORE_SCHEMA_VERSION.
 */
static const char *const store_migrations[] = {
	/* 0 -> 1: the first schema. Column names are a contract with users
	 * of the database. */
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  start_ts TEXT,"
	"  end_ts TEXT,"
	"  client_ip TEXT,"
	"  client_port INTEGER,"
	"  server_ip TEXT,"
	"  server_port INTEGER,"
	"  helo TEXT,"
	"  banner TEXT,"
	"  starttls_offered INTEGER,"
	"  starttls_requested INTEGER,"
	"  starttls_reply INTEGER,"
	"  tls_established INTEGER,"
	"  outcome TEXT,"
	"  tls_version TEXT,"
	"  tls_cipher TEXT,"
	"  tls_sni TEXT,"
	"  cert_sha256 TEXT,"
	"  gaps INTEGER,"
	"  events INTEGER,"
	"  close_reason TEXT);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  ts TEXT,"
	"  session_id INTEGER,"
	"  kind TEXT,"
	"  severity TEXT,"
	"  client_ip TEXT,"
	"  client_port INTEGER,"
	"  server_ip TEXT,"
	"  server_port INTEGER,"
	"  evidence TEXT);"
	"CREATE TABLE stats (ts TEXT, name TEXT, value INTEGER);"
	"CREATE INDEX events_kind ON events (kind);"
	"CREATE INDEX events_session_id ON events (session_id);"
	"CREATE INDEX events_ts ON events (ts);"
	"CREATE INDEX sessions_start_ts ON sessions (start_ts);"
	"CREATE INDEX sessions_server_ip ON sessions (server_ip);"
	"CREATE INDEX stats_ts ON stats (ts);",
	/* 1 -> 2: what each server offered, for starttls_vanished and
	 * certificate_changed across restarts. */
	"CREATE TABLE servers ("
	"  server_ip TEXT NOT NULL,"
	"  server_port INTEGER NOT NULL,"
	"  first_seen TEXT,"
	"  last_seen TEXT,"
	"  sessions INTEGER,"
	"  starttls_offered INTEGER,"
	"  starttls_accepted INTEGER,"
	"  last_offered TEXT,"
	"  cert_sha256 TEXT,"
	"  PRIMARY KEY (server_ip, server_port));"
	"CREATE INDEX servers_last_seen ON servers (last_seen);",
	/* 2 -> 3: with several capture workers, whose counters a row holds. */
	"ALTER TABLE stats ADD COLUMN worker INTEGER NOT NULL DEFAULT 0;",
	/* 3 -> 4: the name of the sensor writing this database, so that the
	 * databases of several sensors can be read together (ATTACH). */
	"CREATE TABLE sensor ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  name TEXT NOT NULL);",
	/* 4 -> 5: sessions continued after their connection was evicted
	 * from a full flow table (one row, merged). */
	"ALTER TABLE sessions ADD COLUMN resumed INTEGER NOT NULL DEFAULT 0;",
};

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) ==
    STORE_SCHEMA_VERSION, "one migration step per schema version");

/*
 * Two threads share a store: the caller's (the capture loop) and, from the
 * first store_flush_async() on, a writer. The connection, the statements,
 * err and the batch_* fields belong to the writer while busy is set and to
 * the caller otherwise; busy is set only by the caller and cleared only by
 * the writer, under mu. queue, the spare lists and stats are the caller's
 * alone. So the capture loop never waits for SQLite (a lock held by a
 * reader, a slow disk), and the writer never touches a packet.
 */
struct store {
	sqlite3		*db;
	struct store_config cfg;
	struct store_rowq queue;		/* oldest first, not handed
						   over yet */
	struct store_rowq spare[STORE_NKINDS];	/* written, for reuse */
	size_t		 nspare[STORE_NKINDS];
	sqlite3_stmt	*stmt[ST_NSTMTS];
	struct store_stats stats;
	char		 err[STORE_ERR_MAX];	/* last error, "" if none */
	char		 err_shown[STORE_ERR_MAX]; /* err when handed over */

	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;			/* busy or stop changed */
	pthread_t	 thread;
	int		 thread_state;		/* STORE_THREAD_* */
	int		 busy;			/* batch is the writer's */
	int		 stop;			/* writer: exit when idle */
	struct store_rowq batch;		/* handed over, older than
						   anything in queue */
	struct store_rowq rejected;		/* batch rows refused by a
						   constraint */
	int		 batch_rc;		/* 0 written, -1 rolled back */
	int		 batch_done;		/* a result waits for reaping */
	uint64_t	 batch_n[STORE_NKINDS];	/* rows written per kind */
	int		 last_rc;		/* of the last batch reaped */

	/* Housekeeping (store_maintain): asked by the caller, handed over
	 * with the next batch, run by the writer after it. */
	int		 maint_asked;		/* caller: not handed over */
	int		 maint_run;		/* writer: run after batch */
	uint64_t	 ask_now_us;		/* caller: the request */
	uint32_t	 ask_days;		/* retention; 0 keeps all */
	uint64_t	 run_now_us;		/* writer: copied at hand-over */
	uint32_t	 run_days;
	int		 maint_done;		/* writer: ran, not reported */
	char		 maint_err[STORE_ERR_MAX]; /* "" if it went well */
	char		 maint_shown[STORE_ERR_MAX]; /* caller's copy */
};

#define STORE_THREAD_NONE	0	/* not started: writes run inline */
#define STORE_THREAD_RUNNING	1
#define STORE_THREAD_FAILED	2	/* could not start: inline for good */

static void	 store_seterr(struct store *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 store_exec(struct store *, const char *);
static int	 store_user_version(struct store *, int *);
static int	 store_check_version(struct store *, int);
static int	 store_migrate(struct store *, int);
static int	 store_setup(struct store *);
static int	 store_prepare(struct store *);
static size_t	 store_row_size(enum store_kind);
static struct store_row *store_row_get(struct store *, enum store_kind);
static void	 store_row_put(struct store *, struct store_row *);
static void	 store_enqueue(struct store *, struct store_row *);
static void	 store_copy_name(char *, size_t, const char *);
static int	 store_bind_text(sqlite3_stmt *, int, const char *);
static int	 store_write_event(struct store *,
		    const struct store_event_row *);
static int	 store_write_session(struct store *,
		    const struct store_session_row *);
static int	 store_write_stat(struct store *,
		    const struct store_stat_row *);
static int	 store_write_row(struct store *, const struct store_row *);
static int	 store_step(struct store *, enum store_stmt);
static void	 store_rollback(struct store *);
static void	 store_sink_event(void *, const struct detect_event *);
static void	 store_sink_session(void *, const struct detect_session *);
static void	 store_free_rows(struct store *);
static int	 store_write_batch(struct store *, struct store_rowq *,
		    struct store_rowq *, uint64_t *);
static void	 store_reap(struct store *);
static int	 store_busy(struct store *);
static void	 store_wait(struct store *);
static void	 store_stop_writer(struct store *);
static int	 store_do_retention(struct store *, uint64_t, uint32_t);
static int	 store_do_checkpoint(struct store *);
static void	 store_do_maintenance(struct store *);

static void
store_seterr(struct store *st, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
}

/* Run SQL without results; on error the message is in st->err. */
static int
store_exec(struct store *st, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		store_seterr(st, "%s", msg != NULL ? msg :
		    sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
store_user_version(struct store *st, int *version)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK) {
		store_seterr(st, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	else
		store_seterr(st, "%s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* A version this program can use or migrate from; else the reason. */
static int
store_check_version(struct store *st, int v)
{
	if (v > STORE_SCHEMA_VERSION) {
		store_seterr(st, "schema version %d is newer than this "
		    "stripwatch knows (%d); upgrade stripwatch", v,
		    STORE_SCHEMA_VERSION);
		return -1;
	}
	if (v < 0) {
		store_seterr(st, "invalid schema version %d", v);
		return -1;
	}
	return 0;
}

/*
 * Bring the schema from version v to STORE_SCHEMA_VERSION in one
 * transaction; the version is read again inside it, in case another
 * process migrated meanwhile.
 */
static int
store_migrate(struct store *st, int v)
{
	char	 sql[64];

	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (store_exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (store_user_version(st, &v) == -1 ||
	    store_check_version(st, v) == -1)
		goto fail;
	for (; v < STORE_SCHEMA_VERSION; v++)
		if (store_exec(st, store_migrations[v]) == -1)
			goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    STORE_SCHEMA_VERSION);
	if (store_exec(st, sql) == -1 || store_exec(st, "COMMIT") == -1)
		goto fail;
	return 0;
fail:
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Connection settings, then schema. The first statement reading the file
 * is where "file is not a database" shows. */
static int
store_setup(struct store *st)
{
	int	 v, ms;

	ms = st->cfg.busy_timeout_ms > INT_MAX ? INT_MAX :
	    (int)st->cfg.busy_timeout_ms;
	if (sqlite3_busy_timeout(st->db, ms) != SQLITE_OK) {
		store_seterr(st, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	if (sqlite3_db_readonly(st->db, "main") == 1) {
		store_seterr(st, "database is read-only");
		return -1;
	}
	/* Refuse a newer schema before changing anything in the file. */
	if (store_user_version(st, &v) == -1 ||
	    store_check_version(st, v) == -1)
		return -1;
	if (store_exec(st, "PRAGMA journal_mode = WAL") == -1 ||
	    store_exec(st, "PRAGMA synchronous = NORMAL") == -1 ||
	    store_exec(st, "PRAGMA foreign_keys = OFF") == -1)
		return -1;
	return store_migrate(st, v);
}

static int
store_prepare(struct store *st)
{
	int	 i;

	for (i = 0; i < ST_NSTMTS; i++) {
		if (sqlite3_prepare_v3(st->db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
		    SQLITE_OK) {
			store_seterr(st, "%s", sqlite3_errmsg(st->db));
			return -1;
		}
	}
	return 0;
}

/* Whether table sensor already holds name: 1, 0, or -1 (st->err). */
static int
store_sensor_is(struct store *st, const char *name)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sensor WHERE "
	    "id = 1 AND name = ?", -1, &s, NULL) != SQLITE_OK) {
		store_seterr(st, "sensor name: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	if ((rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT)) ==
	    SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = sqlite3_column_int(s, 0) > 0;
	else {
		store_seterr(st, "sensor name: %s", sqlite3_errmsg(st->db));
		rc = -1;
	}
	sqlite3_finalize(s);
	return rc;
}

int
store_set_sensor(struct store *st, const char *name)
{
	sqlite3_stmt	*s;
	int		 rc;

	store_wait(st);
	/* Even an INSERT that inserts nothing takes the write lock: look
	 * first. */
	if ((rc = store_sensor_is(st, name)) != 0)
		return rc == 1 ? 0 : -1;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO sensor (id, name) VALUES "
	    "(1, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name", -1,
	    &s, NULL) != SQLITE_OK) {
		store_seterr(st, "sensor name: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	if ((rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT)) ==
	    SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		store_seterr(st, "sensor name: %s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

struct store *
store_open(const char *path, const struct store_config *cfg, char *err,
    size_t errlen)
{
	struct store	*st;
	int		 i, rc;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	st->cfg = *cfg;
	if (st->cfg.queue_max < STORE_QUEUE_MIN)
		st->cfg.queue_max = STORE_QUEUE_MIN;
	TAILQ_INIT(&st->queue);
	TAILQ_INIT(&st->batch);
	TAILQ_INIT(&st->rejected);
	for (i = 0; i < STORE_NKINDS; i++)
		TAILQ_INIT(&st->spare[i]);
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		store_seterr(st, "%s", st->db != NULL ?
		    sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
	if (rc != SQLITE_OK || store_setup(st) == -1 ||
	    store_prepare(st) == -1) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path, st->err);
		store_close(st);
		return NULL;
	}
	return st;
}

static void
store_free_rows(struct store *st)
{
	struct store_row	*r;
	int			 i;

	TAILQ_CONCAT(&st->queue, &st->batch, entry);
	TAILQ_CONCAT(&st->queue, &st->rejected, entry);
	while ((r = TAILQ_FIRST(&st->queue)) != NULL) {
		TAILQ_REMOVE(&st->queue, r, entry);
		free(r);
	}
	for (i = 0; i < STORE_NKINDS; i++) {
		while ((r = TAILQ_FIRST(&st->spare[i])) != NULL) {
			TAILQ_REMOVE(&st->spare[i], r, entry);
			free(r);
		}
		st->nspare[i] = 0;
	}
	st->stats.queued = 0;
}

void
store_close(struct store *st)
{
	int	 i;

	if (st == NULL)
		return;
	store_stop_writer(st);
	if (st->stmt[ST_BEGIN] != NULL)
		(void)store_flush(st);
	for (i = 0; i < ST_NSTMTS; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	store_free_rows(st);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

static size_t
store_row_size(enum store_kind kind)
{
	switch (kind) {
	case STORE_ROW_EVENT:
		return sizeof(struct store_event_row);
	case STORE_ROW_SESSION:
		return sizeof(struct store_session_row);
	case STORE_ROW_STAT:
		return sizeof(struct store_stat_row);
	case STORE_ROW_SERVER:
		return sizeof(struct store_server_row);
	default:
		break;
	}
	abort();
}

/* A row of the kind, reused when one is spare; NULL on ENOMEM. */
static struct store_row *
store_row_get(struct store *st, enum store_kind kind)
{
	struct store_row	*r;

	if ((r = TAILQ_FIRST(&st->spare[kind])) != NULL) {
		TAILQ_REMOVE(&st->spare[kind], r, entry);
		st->nspare[kind]--;
	} else if ((r = malloc(store_row_size(kind))) == NULL)
		return NULL;
	r->kind = kind;
	return r;
}

/* r is in no list: keep it for reuse or free it. */
static void
store_row_put(struct store *st, struct store_row *r)
{
	if (st->nspare[r->kind] < STORE_SPARE_MAX) {
		TAILQ_INSERT_HEAD(&st->spare[r->kind], r, entry);
		st->nspare[r->kind]++;
	} else
		free(r);
}

/*
 * Append r; when the queue is full the oldest row not handed over yet makes
 * room. With wait_when_full, a full queue first waits for the writer's
 * batch: reading a file can wait, a live capture cannot.
 */
static void
store_enqueue(struct store *st, struct store_row *r)
{
	struct store_row	*old;

	if (st->stats.queued >= st->cfg.queue_max && st->cfg.wait_when_full)
		store_wait(st);
	while (st->stats.queued >= st->cfg.queue_max &&
	    (old = TAILQ_FIRST(&st->queue)) != NULL) {
		TAILQ_REMOVE(&st->queue, old, entry);
		st->stats.queued--;
		st->stats.dropped++;
		store_row_put(st, old);
	}
	TAILQ_INSERT_TAIL(&st->queue, r, entry);
	st->stats.queued++;
}

/* Copy a constant string of the caller; NULL becomes "" (stored NULL). */
static void
store_copy_name(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

void
store_event(struct store *st, const struct detect_event *ev)
{
	struct store_event_row	*r;

	if ((r = (struct store_event_row *)store_row_get(st,
	    STORE_ROW_EVENT)) == NULL) {
		st->stats.dropped++;
		return;
	}
	r->ev = *ev;
	r->ev.evidence[sizeof(r->ev.evidence) - 1] = '\0';
	store_enqueue(st, &r->hdr);
}

void
store_session(struct store *st, const struct detect_session *s)
{
	struct store_session_row *r;

	if ((r = (struct store_session_row *)store_row_get(st,
	    STORE_ROW_SESSION)) == NULL) {
		st->stats.dropped++;
		return;
	}
	r->s = *s;
	/* The caller's pointers are only valid during this call. */
	store_copy_name(r->tls_version, sizeof(r->tls_version),
	    s->tls_version);
	store_copy_name(r->outcome, sizeof(r->outcome), s->outcome);
	store_copy_name(r->close_reason, sizeof(r->close_reason),
	    s->close_reason);
	r->s.tls_version = r->s.outcome = r->s.close_reason = NULL;
	r->s.helo[sizeof(r->s.helo) - 1] = '\0';
	r->s.banner[sizeof(r->s.banner) - 1] = '\0';
	r->s.tls_cipher[sizeof(r->s.tls_cipher) - 1] = '\0';
	r->s.tls_sni[sizeof(r->s.tls_sni) - 1] = '\0';
	r->s.cert_sha256[sizeof(r->s.cert_sha256) - 1] = '\0';
	store_enqueue(st, &r->hdr);
}

void
store_stat(struct store *st, uint64_t ts_us, const char *name,
    int64_t value)
{
	struct store_stat_row	*r;

	if ((r = (struct store_stat_row *)store_row_get(st,
	    STORE_ROW_STAT)) == NULL) {
		st->stats.dropped++;
		return;
	}
	r->ts_us = ts_us;
	r->value = value;
	store_copy_name(r->name, sizeof(r->name), name);
	store_enqueue(st, &r->hdr);
}

void
store_server(struct store *st, const struct history_server *srv)
{
	struct store_server_row	*r;

	if ((r = (struct store_server_row *)store_row_get(st,
	    STORE_ROW_SERVER)) == NULL) {
		st->stats.dropped++;
		return;
	}
	r->srv = *srv;
	store_enqueue(st, &r->hdr);
}

/* Bind text, "" as NULL; SQLite copies it. */
static int
store_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
	if (text == NULL || text[0] == '\0')
		return sqlite3_bind_null(s, idx);
	return sqlite3_bind_text(s, idx, text, -1, SQLITE_TRANSIENT);
}

/* Step a bound statement once, then reset it; SQLITE_DONE on success. */
static int
store_step(struct store *st, enum store_stmt which)
{
	sqlite3_stmt	*s = st->stmt[which];
	int		 rc;

	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		store_seterr(st, "%s", sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

static int
store_write_event(struct store *st, const struct store_event_row *r)
{
	sqlite3_stmt	*s = st->stmt[ST_INS_EVENT];
	const struct detect_event *ev = &r->ev;
	char		 ts[TEXT_TIME_LEN], cli[STORE_ADDR_MAX];
	char		 srv[STORE_ADDR_MAX];

	text_time(ev->ts_us, ts, sizeof(ts));
	decode_addr_str(&ev->tuple.client, cli, sizeof(cli));
	decode_addr_str(&ev->tuple.server, srv, sizeof(srv));
	if (store_bind_text(s, 1, ts) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (sqlite3_int64)ev->session_id) !=
	    SQLITE_OK ||
	    store_bind_text(s, 3, detect_kind_name(ev->kind)) != SQLITE_OK ||
	    store_bind_text(s, 4, detect_severity_name(ev->severity)) !=
	    SQLITE_OK ||
	    store_bind_text(s, 5, cli) != SQLITE_OK ||
	    sqlite3_bind_int(s, 6, ev->tuple.client_port) != SQLITE_OK ||
	    store_bind_text(s, 7, srv) != SQLITE_OK ||
	    sqlite3_bind_int(s, 8, ev->tuple.server_port) != SQLITE_OK ||
	    sqlite3_bind_text(s, 9, ev->evidence, -1, SQLITE_TRANSIENT) !=
	    SQLITE_OK) {
		store_seterr(st, "%s", sqlite3_errmsg(st->db));
		sqlite3_clear_bindings(s);
		return SQLITE_ERROR;
	}
	return store_step(st, ST_INS_EVENT);
}

static int
store_write_session(struct store *st, const struct store_session_row *r)
{
	const struct detect_session *ds = &r->s;
	enum store_stmt	 which = ds->resumed > 0 ? ST_MERGE_SESSION :
			    ST_INS_SESSION;
	sqlite3_stmt	*s = st->stmt[which];
	char		 t0[TEXT_TIME_LEN], t1[TEXT_TIME_LEN];
	char		 cli[STORE_ADDR_MAX], srv[STORE_ADDR_MAX];
	uint32_t	 bits;
	int		 nev, ok;

	for (nev = 0, bits = ds->events; bits != 0; bits &= bits - 1)
		nev++;
	text_time(ds->start_us, t0, sizeof(t0));
	text_time(ds->end_us, t1, sizeof(t1));
	decode_addr_str(&ds->tuple.client, cli, sizeof(cli));
	decode_addr_str(&ds->tuple.server, srv, sizeof(srv));
	ok = sqlite3_bind_int64(s, 1, (sqlite3_int64)ds->id) == SQLITE_OK &&
	    store_bind_text(s, 2, t0) == SQLITE_OK &&
	    store_bind_text(s, 3, t1) == SQLITE_OK &&
	    store_bind_text(s, 4, cli) == SQLITE_OK &&
	    sqlite3_bind_int(s, 5, ds->tuple.client_port) == SQLITE_OK &&
	    store_bind_text(s, 6, srv) == SQLITE_OK &&
	    sqlite3_bind_int(s, 7, ds->tuple.server_port) == SQLITE_OK &&
	    store_bind_text(s, 8, ds->helo) == SQLITE_OK &&
	    store_bind_text(s, 9, ds->banner) == SQLITE_OK &&
	    sqlite3_bind_int(s, 10, ds->starttls_offered) == SQLITE_OK &&
	    sqlite3_bind_int(s, 11, ds->starttls_requested) == SQLITE_OK &&
	    (ds->starttls_reply == 0 ? sqlite3_bind_null(s, 12) :
	    sqlite3_bind_int(s, 12, ds->starttls_reply)) == SQLITE_OK &&
	    sqlite3_bind_int(s, 13, ds->tls_established) == SQLITE_OK &&
	    store_bind_text(s, 14, r->outcome) == SQLITE_OK &&
	    store_bind_text(s, 15, r->tls_version) == SQLITE_OK &&
	    store_bind_text(s, 16, ds->tls_cipher) == SQLITE_OK &&
	    store_bind_text(s, 17, ds->tls_sni) == SQLITE_OK &&
	    store_bind_text(s, 18, ds->cert_sha256) == SQLITE_OK &&
	    sqlite3_bind_int64(s, 19, ds->gaps) == SQLITE_OK &&
	    sqlite3_bind_int(s, 20, nev) == SQLITE_OK &&
	    store_bind_text(s, 21, r->close_reason) == SQLITE_OK &&
	    sqlite3_bind_int64(s, 22, ds->resumed) == SQLITE_OK;
	if (!ok) {
		store_seterr(st, "%s", sqlite3_errmsg(st->db));
		sqlite3_clear_bindings(s);
		return SQLITE_ERROR;
	}
	return store_step(st, which);
}

static int
store_write_stat(struct store *st, const struct store_stat_row *r)
{
	sqlite3_stmt	*s = st->stmt[ST_INS_STAT];
	char		 ts[TEXT_TIME_LEN];

	text_time(r->ts_us, ts, sizeof(ts));
	if (store_bind_text(s, 1, ts) != SQLITE_OK ||
	    store_bind_text(s, 2, r->name) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, r->value) != SQLITE_OK ||
	    sqlite3_bind_int(s, 4, (int)st->cfg.worker) != SQLITE_OK) {
		store_seterr(st, "%s", sqlite3_errmsg(st->db));
		sqlite3_clear_bindings(s);
		return SQLITE_ERROR;
	}
	return store_step(st, ST_INS_STAT);
}

static int
store_write_server(struct store *st, const struct store_server_row *r)
{
	sqlite3_stmt	*s = st->stmt[ST_UPSERT_SERVER];
	const struct history_server *h = &r->srv;
	char		 ip[STORE_ADDR_MAX], t0[TEXT_TIME_LEN];
	char		 t1[TEXT_TIME_LEN], t2[TEXT_TIME_LEN], cert[65];
	int		 ok;

	decode_addr_str(&h->addr, ip, sizeof(ip));
	text_time(h->first_us, t0, sizeof(t0));
	text_time(h->last_us, t1, sizeof(t1));
	if (h->last_offered_us != 0)
		text_time(h->last_offered_us, t2, sizeof(t2));
	else
		t2[0] = '\0';
	if (h->have_cert && h->cert_new)
		text_hex(cert, h->cert_sha256, 32);
	else
		cert[0] = '\0';
	/* What this process adds (ST_UPSERT_SERVER). */
	ok = store_bind_text(s, 1, ip) == SQLITE_OK &&
	    sqlite3_bind_int(s, 2, h->port) == SQLITE_OK &&
	    store_bind_text(s, 3, t0) == SQLITE_OK &&
	    store_bind_text(s, 4, t1) == SQLITE_OK &&
	    sqlite3_bind_int64(s, 5, (sqlite3_int64)(h->sessions -
	    h->drained_sessions)) == SQLITE_OK &&
	    sqlite3_bind_int64(s, 6, (sqlite3_int64)(h->offered -
	    h->drained_offered)) == SQLITE_OK &&
	    sqlite3_bind_int64(s, 7, (sqlite3_int64)(h->accepted -
	    h->drained_accepted)) == SQLITE_OK &&
	    store_bind_text(s, 8, t2) == SQLITE_OK &&
	    store_bind_text(s, 9, cert) == SQLITE_OK;
	if (!ok) {
		store_seterr(st, "%s", sqlite3_errmsg(st->db));
		sqlite3_clear_bindings(s);
		return SQLITE_ERROR;
	}
	return store_step(st, ST_UPSERT_SERVER);
}

static int
store_write_row(struct store *st, const struct store_row *r)
{
	switch (r->kind) {
	case STORE_ROW_EVENT:
		return store_write_event(st,
		    (const struct store_event_row *)r);
	case STORE_ROW_SESSION:
		return store_write_session(st,
		    (const struct store_session_row *)r);
	case STORE_ROW_STAT:
		return store_write_stat(st, (const struct store_stat_row *)r);
	case STORE_ROW_SERVER:
		return store_write_server(st,
		    (const struct store_server_row *)r);
	default:
		break;
	}
	abort();
}

/* End a failed transaction, keeping the error text already set. */
static void
store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db)) {
		sqlite3_step(st->stmt[ST_ROLLBACK]);
		sqlite3_reset(st->stmt[ST_ROLLBACK]);
	}
}

/*
 * Write q in one transaction on the calling thread, which owns the
 * connection. Rows refused by a constraint (a duplicate sessions.id can
 * never be written) move to rejected rather than block every row behind
 * them; n[kind] counts the rows written. 0, or -1 rolled back (st->err).
 */
static int
store_write_batch(struct store *st, struct store_rowq *q,
    struct store_rowq *rejected, uint64_t *n)
{
	struct store_row	*r, *next;
	int			 rc;

	memset(n, 0, STORE_NKINDS * sizeof(*n));
	if (store_step(st, ST_BEGIN) != SQLITE_DONE)
		goto fail;
	for (r = TAILQ_FIRST(q); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		rc = store_write_row(st, r);
		if (rc == SQLITE_DONE) {
			n[r->kind]++;
			continue;
		}
		if ((rc & 0xff) != SQLITE_CONSTRAINT)
			goto fail;
		TAILQ_REMOVE(q, r, entry);
		TAILQ_INSERT_TAIL(rejected, r, entry);
	}
	if (store_step(st, ST_COMMIT) != SQLITE_DONE)
		goto fail;
	st->err[0] = '\0';
	return 0;
fail:
	store_rollback(st);
	return -1;
}

/*
 * Caller, writer idle: account for the last batch. Written rows go back to
 * the spare lists; a failed batch goes back to the head of the queue, in
 * order, to be retried with what came after it.
 */
static void
store_reap(struct store *st)
{
	struct store_row	*r;
	int			 i;

	if (!st->batch_done)
		return;
	st->batch_done = 0;
	while ((r = TAILQ_FIRST(&st->rejected)) != NULL) {
		TAILQ_REMOVE(&st->rejected, r, entry);
		st->stats.queued--;
		st->stats.rejected++;
		store_row_put(st, r);
	}
	st->last_rc = st->batch_rc;
	if (st->batch_rc == -1) {
		TAILQ_CONCAT(&st->batch, &st->queue, entry);
		TAILQ_CONCAT(&st->queue, &st->batch, entry);
		st->stats.retries++;
		return;
	}
	while ((r = TAILQ_FIRST(&st->batch)) != NULL) {
		TAILQ_REMOVE(&st->batch, r, entry);
		st->stats.queued--;
		store_row_put(st, r);
	}
	st->stats.events += st->batch_n[STORE_ROW_EVENT];
	st->stats.sessions += st->batch_n[STORE_ROW_SESSION];
	st->stats.stat_rows += st->batch_n[STORE_ROW_STAT];
	st->stats.server_rows += st->batch_n[STORE_ROW_SERVER];
	for (i = 0; i < STORE_NKINDS; i++)
		st->batch_n[i] = 0;
	st->stats.flushes++;
}

/* Caller: whether the writer holds a batch now (the connection is its). */
static int
store_busy(struct store *st)
{
	int	 busy;

	pthread_mutex_lock(&st->mu);
	busy = st->busy;
	pthread_mutex_unlock(&st->mu);
	return busy;
}

/* Caller: wait until the writer is idle, then reap its batch. */
static void
store_wait(struct store *st)
{
	pthread_mutex_lock(&st->mu);
	while (st->busy)
		pthread_cond_wait(&st->cv, &st->mu);
	pthread_mutex_unlock(&st->mu);
	store_reap(st);
}

int
store_flush(struct store *st)
{
	store_wait(st);
	if (TAILQ_EMPTY(&st->queue))
		return 0;
	TAILQ_CONCAT(&st->batch, &st->queue, entry);
	st->batch_rc = store_write_batch(st, &st->batch, &st->rejected,
	    st->batch_n);
	st->batch_done = 1;
	store_reap(st);
	return st->last_rc;
}

uint64_t
store_discard(struct store *st)
{
	struct store_row	*r;
	uint64_t		 n = 0;

	store_wait(st);
	while ((r = TAILQ_FIRST(&st->queue)) != NULL) {
		TAILQ_REMOVE(&st->queue, r, entry);
		st->stats.queued--;
		st->stats.dropped++;
		store_row_put(st, r);
		n++;
	}
	return n;
}

static void *
store_writer(void *arg)
{
	struct store	*st = arg;
	int		 rc;

	pthread_mutex_lock(&st->mu);
	for (;;) {
		while (!st->busy && !st->stop)
			pthread_cond_wait(&st->cv, &st->mu);
		if (!st->busy)
			break;
		pthread_mutex_unlock(&st->mu);
		rc = TAILQ_EMPTY(&st->batch) ? 0 :
		    store_write_batch(st, &st->batch, &st->rejected,
		    st->batch_n);
		if (st->maint_run)
			store_do_maintenance(st);
		pthread_mutex_lock(&st->mu);
		st->batch_rc = rc;
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

/* Caller, writer idle: move a housekeeping request to the writer's side;
 * whether there was one. */
static int
store_take_maint(struct store *st)
{
	if (!st->maint_asked)
		return 0;
	st->maint_asked = 0;
	st->run_now_us = st->ask_now_us;
	st->run_days = st->ask_days;
	return 1;
}

int
store_flush_async(struct store *st)
{
	int	 rc;

	if (store_busy(st))
		return st->last_rc;
	store_reap(st);
	if (TAILQ_EMPTY(&st->queue) && !st->maint_asked)
		return st->last_rc;
	if (st->thread_state == STORE_THREAD_NONE)
		store_start_writer(st);
	if (st->thread_state != STORE_THREAD_RUNNING) {
		/* No thread: the same work, in the same order, inline. */
		rc = store_flush(st);
		if (store_take_maint(st))
			store_do_maintenance(st);
		return rc;
	}
	memcpy(st->err_shown, st->err, sizeof(st->err_shown));
	TAILQ_CONCAT(&st->batch, &st->queue, entry);
	st->batch_done = !TAILQ_EMPTY(&st->batch);
	st->maint_run = store_take_maint(st);
	pthread_mutex_lock(&st->mu);
	st->busy = 1;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return st->last_rc;
}

uint64_t
store_next_session_id(struct store *st)
{
	const struct store_row	*r;
	sqlite3_stmt		*s = st->stmt[ST_NEXT_ID];
	uint64_t		 next = 1, id;

	store_wait(st);
	if (sqlite3_step(s) == SQLITE_ROW) {
		if (sqlite3_column_int64(s, 0) > 0)
			next = (uint64_t)sqlite3_column_int64(s, 0);
	} else
		store_seterr(st, "%s", sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	TAILQ_FOREACH(r, &st->queue, entry) {
		if (r->kind == STORE_ROW_SESSION)
			id = ((const struct store_session_row *)r)->s.id;
		else if (r->kind == STORE_ROW_EVENT)
			id = ((const struct store_event_row *)r)->ev.session_id;
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
	store_wait(st);
	return store_do_retention(st, now_us, days);
}

/* The connection's owner: delete rows older than days before now_us. */
static int
store_do_retention(struct store *st, uint64_t now_us, uint32_t days)
{
	static const enum store_stmt del[] = {
		ST_DEL_SESSIONS, ST_DEL_EVENTS, ST_DEL_STATS
	};
	char	 cutoff[TEXT_TIME_LEN];
	size_t	 i;
	int64_t	 deleted = 0;

	if (days == 0 || days > now_us / STORE_US_PER_DAY)
		return 0;	/* keep forever, or nothing that old */
	text_time(now_us - days * STORE_US_PER_DAY, cutoff, sizeof(cutoff));
	if (store_step(st, ST_BEGIN) != SQLITE_DONE)
		goto fail;
	for (i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
		if (store_bind_text(st->stmt[del[i]], 1, cutoff) !=
		    SQLITE_OK) {
			store_seterr(st, "%s", sqlite3_errmsg(st->db));
			goto fail;
		}
		if (store_step(st, del[i]) != SQLITE_DONE)
			goto fail;
		deleted += sqlite3_changes(st->db);
	}
	if (store_step(st, ST_COMMIT) != SQLITE_DONE)
		goto fail;
	return deleted > INT_MAX ? INT_MAX : (int)deleted;
fail:
	store_rollback(st);
	return -1;
}

static int
unhex_sha256(uint8_t *out, const char *hex)
{
	unsigned	 v;
	int		 i;

	if (hex == NULL || strlen(hex) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* One servers row into rec; -1 if it does not parse (it is skipped). */
static int
load_server_row(sqlite3_stmt *s, struct history_server *rec)
{
	const char	*ip = (const char *)sqlite3_column_text(s, 0);

	memset(rec, 0, sizeof(*rec));
	if (ip == NULL || decode_addr_parse(&rec->addr, ip) == -1 ||
	    text_parse_time((const char *)sqlite3_column_text(s, 2),
	    &rec->first_us) == -1 ||
	    text_parse_time((const char *)sqlite3_column_text(s, 3),
	    &rec->last_us) == -1)
		return -1;
	rec->port = (uint16_t)sqlite3_column_int(s, 1);
	rec->sessions = (uint64_t)sqlite3_column_int64(s, 4);
	rec->offered = (uint64_t)sqlite3_column_int64(s, 5);
	rec->accepted = (uint64_t)sqlite3_column_int64(s, 6);
	if (text_parse_time((const char *)sqlite3_column_text(s, 7),
	    &rec->last_offered_us) == -1)
		rec->last_offered_us = 0;
	rec->have_cert = unhex_sha256(rec->cert_sha256,
	    (const char *)sqlite3_column_text(s, 8)) == 0;
	return 0;
}

int
store_load_servers(struct store *st, uint32_t max,
    void (*load)(void *, const struct history_server *), void *arg)
{
	sqlite3_stmt	*s = st->stmt[ST_LOAD_SERVERS];
	struct history_server rec;
	int		 rc, n = 0;

	store_wait(st);
	if (sqlite3_bind_int64(s, 1, max) != SQLITE_OK) {
		store_seterr(st, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (load_server_row(s, &rec) == 0) {
			load(arg, &rec);
			n++;
		}
	if (rc != SQLITE_DONE)
		store_seterr(st, "%s", sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? n : -1;
}

int
store_checkpoint(struct store *st)
{
	store_wait(st);
	return store_do_checkpoint(st);
}

static int
store_do_checkpoint(struct store *st)
{
	if (sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL) != SQLITE_OK) {
		store_seterr(st, "checkpoint: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/*
 * The connection's owner: retention, then a passive checkpoint. Their
 * errors go to maint_err; err keeps saying how the last batch went.
 */
static void
store_do_maintenance(struct store *st)
{
	char	 saved[STORE_ERR_MAX];

	memcpy(saved, st->err, sizeof(saved));
	st->maint_err[0] = '\0';
	if (store_do_retention(st, st->run_now_us, st->run_days) == -1)
		snprintf(st->maint_err, sizeof(st->maint_err),
		    "retention: %.480s", st->err);
	else if (store_do_checkpoint(st) == -1)
		snprintf(st->maint_err, sizeof(st->maint_err), "%s", st->err);
	memcpy(st->err, saved, sizeof(st->err));
	st->maint_run = 0;
	st->maint_done = 1;
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
	if (!store_busy(st) && st->maint_done) {
		memcpy(st->maint_shown, st->maint_err,
		    sizeof(st->maint_shown));
		st->maint_done = 0;
	}
	return st->maint_shown;
}

const char *
store_error(struct store *st)
{
	return store_busy(st) ? st->err_shown : st->err;
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
