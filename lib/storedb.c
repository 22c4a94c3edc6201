/*
 * storedb.c: one SQLite connection to the database: schema and its
 * migrations, statements prepared once, batches of rows written in one
 * transaction, retention, checkpoints, and what a starting process reads
 * back. The only file of stripwatch that includes sqlite3.h.
 */
#include <sys/stat.h>

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "decode.h"
#include "detect.h"
#include "mail.h"
#include "storedb.h"
#include "text.h"

/* Address text: decode_addr_str() wants at least 46 bytes. */
#define STOREDB_ADDR_MAX	64

#define STOREDB_US_PER_DAY	86400000000ULL

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
	ST_SOURCE_SEEN,
	ST_UPSERT_SOURCE,
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
	    "cert_sha256, gaps, events, close_reason, resumed, protocol, "
	    "source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?)",
	/*
	 * A connection evicted and seen again: its continuation's row (same
	 * id) completes the first one. The continuation carries the verdicts
	 * and counts over (outcome, events, gaps are its own); text the
	 * continuation could not see is kept, and so is the first source.
	 */
	[ST_MERGE_SESSION] = "INSERT INTO sessions (id, start_ts, end_ts, "
	    "client_ip, client_port, server_ip, server_port, helo, banner, "
	    "starttls_offered, starttls_requested, starttls_reply, "
	    "tls_established, outcome, tls_version, tls_cipher, tls_sni, "
	    "cert_sha256, gaps, events, close_reason, resumed, protocol, "
	    "source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
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
	    "resumed = excluded.resumed, "
	    "source = coalesce(source, excluded.source)",
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
	    "starttls_accepted, last_offered, cert_sha256, protocol) VALUES (?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (server_ip, server_port, "
	    "protocol) DO UPDATE SET "
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
	    "last_offered, cert_sha256, protocol FROM (SELECT * FROM servers ORDER BY "
	    "last_seen DESC LIMIT ?) ORDER BY last_seen ASC",
	[ST_SOURCE_SEEN] = "SELECT EXISTS (SELECT 1 FROM sources WHERE "
	    "source = ?)",
	[ST_UPSERT_SOURCE] = "INSERT INTO sources (source, first_written, "
	    "last_written) VALUES (?1, ?2, ?2) ON CONFLICT (source) DO UPDATE "
	    "SET last_written = excluded.last_written",
};

/*
 * Migrations: step i takes user_version i to i + 1. A later schema adds a
 * step (ALTER TABLE ...) and raises STOREDB_SCHEMA_VERSION.
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
	/*
	 * 5 -> 6: IMAP and POP3 beside SMTP. A session names its protocol; a
	 * server is one per address, port and protocol (its own offer), so
	 * the table is rebuilt with the protocol in its key (SQLite cannot
	 * change a primary key in place). What was there is SMTP's.
	 */
	"ALTER TABLE sessions ADD COLUMN protocol TEXT NOT NULL DEFAULT 'smtp';"
	"CREATE TABLE servers_v6 ("
	"  server_ip TEXT NOT NULL,"
	"  server_port INTEGER NOT NULL,"
	"  first_seen TEXT,"
	"  last_seen TEXT,"
	"  sessions INTEGER,"
	"  starttls_offered INTEGER,"
	"  starttls_accepted INTEGER,"
	"  last_offered TEXT,"
	"  cert_sha256 TEXT,"
	"  protocol TEXT NOT NULL DEFAULT 'smtp',"
	"  PRIMARY KEY (server_ip, server_port, protocol));"
	"INSERT INTO servers_v6 (server_ip, server_port, first_seen, last_seen,"
	"  sessions, starttls_offered, starttls_accepted, last_offered,"
	"  cert_sha256) SELECT server_ip, server_port, first_seen, last_seen,"
	"  sessions, starttls_offered, starttls_accepted, last_offered,"
	"  cert_sha256 FROM servers;"
	"DROP TABLE servers;"
	"ALTER TABLE servers_v6 RENAME TO servers;"
	"CREATE INDEX servers_last_seen ON servers (last_seen);",
	/*
	 * 6 -> 7: the database an operator queries. Each session names its
	 * source (capture file or interface; NULL before this version). The
	 * views answer the usual questions; the indexes are those the views,
	 * the README's queries, stripwatch report, retention and the re-read
	 * check use, no more: each one costs every write.
	 */
	"ALTER TABLE sessions ADD COLUMN source TEXT;"
	"DROP INDEX IF EXISTS sessions_server_ip;"
	"CREATE INDEX sessions_server ON sessions (server_ip, server_port,"
	"  protocol, start_ts);"
	"CREATE INDEX sessions_day ON sessions (substr(start_ts, 1, 10),"
	"  protocol, outcome);"
	/* Only tampered sessions are in it: it costs the writer nothing for
	 * the others. */
	"CREATE INDEX sessions_tampered ON sessions (start_ts)"
	"  WHERE outcome IN ('stripped', 'refused');"
	"CREATE INDEX sessions_source ON sessions (source);"
	"CREATE INDEX stats_name ON stats (name, ts);"
	/*
	 * Each event with its session, once that row is written; while the
	 * session is open, its start is the event's time and its protocol
	 * the port's guess (143 IMAP, 110 POP3, else SMTP).
	 */
	"CREATE VIEW alerts AS"
	" SELECT events.ts AS ts, events.kind AS kind,"
	"  events.severity AS severity, events.server_ip AS server_ip,"
	"  events.server_port AS server_port, events.client_ip AS client_ip,"
	"  events.client_port AS client_port,"
	"  coalesce(sessions.protocol, CASE events.server_port"
	"   WHEN 143 THEN 'imap' WHEN 110 THEN 'pop3' ELSE 'smtp' END)"
	"   AS protocol,"
	"  sessions.outcome AS outcome, events.evidence AS evidence,"
	"  (SELECT name FROM sensor) AS sensor,"
	"  events.session_id AS session_id,"
	"  coalesce(sessions.start_ts, events.ts) AS session_start,"
	"  events.id AS event_id"
	" FROM events LEFT JOIN sessions ON sessions.id = events.session_id;"
	/*
	 * Every sign of tampering: each tampering event (the kinds detect.c
	 * says make a session stripped or refused), and each session
	 * recorded stripped or refused (kind NULL), whose events may have
	 * been lost. A session is in as many rows as it has signs.
	 */
	"CREATE VIEW tampering AS"
	" SELECT session_id, session_start AS start_ts, server_ip,"
	"  server_port, protocol, outcome, kind, severity, ts"
	" FROM alerts"
	" WHERE kind IN ('capability_masked', 'command_masked',"
	"   'starttls_refused', 'plaintext_after_starttls',"
	"   'starttls_injection', 'starttls_vanished', 'preauth_greeting')"
	"  AND (kind <> 'preauth_greeting' OR severity = 'high')"
	" UNION ALL"
	" SELECT id, start_ts, server_ip, server_port, protocol, outcome,"
	"  NULL, NULL, start_ts"
	" FROM sessions WHERE outcome IN ('stripped', 'refused');"
	"CREATE VIEW stripped_servers AS"
	" SELECT server_ip, server_port, protocol,"
	"  min(start_ts) AS first_tampered, max(start_ts) AS last_tampered,"
	"  count(DISTINCT session_id) AS tampered,"
	"  (SELECT count(*) FROM sessions WHERE"
	"    sessions.server_ip = tampering.server_ip AND"
	"    sessions.server_port = tampering.server_port AND"
	"    sessions.protocol = tampering.protocol) +"
	"   count(DISTINCT CASE WHEN outcome IS NULL THEN session_id END)"
	"   AS sessions,"
	"  group_concat(DISTINCT kind) AS kinds"
	" FROM tampering GROUP BY server_ip, server_port, protocol;"
	"CREATE VIEW outcomes_daily AS"
	" SELECT substr(start_ts, 1, 10) AS day, protocol, outcome,"
	"  count(*) AS sessions"
	" FROM sessions GROUP BY day, protocol, outcome;",
	/*
	 * 7 -> 8: the sources whose sessions are in the database, one row
	 * each, instead of an index of sessions by source: "was this file
	 * read?" is one row away, and a session row costs one index less
	 * (about 4% of the instructions of a packet). Those written before
	 * have no times.
	 */
	"CREATE TABLE sources ("
	"  source TEXT PRIMARY KEY,"
	"  first_written TEXT,"
	"  last_written TEXT);"
	"INSERT INTO sources (source) SELECT DISTINCT source FROM sessions"
	"  WHERE source IS NOT NULL;"
	"DROP INDEX sessions_source;",
};

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) ==
    STOREDB_SCHEMA_VERSION, "one migration step per schema version");


/* A file this connection has open, by identity (its name may move). */
struct storedb_file {
	char		*path;
	dev_t		 dev;
	ino_t		 ino;
	int		 known;		/* stat() found it after the open */
};

struct storedb {
	sqlite3		*db;
	sqlite3_stmt	*stmt[ST_NSTMTS];
	uint32_t	 busy_ms;	/* busy timeout set on db */
	int		 code;		/* primary result code of the last
					   error, SQLITE_OK if none */
	char		 err[STOREDB_ERR_MAX];	/* last error, "" if none */
	unsigned long	 entered;	/* storedb_enter() */
	struct storedb_file wal;	/* the -wal file ... */
	struct storedb_file shm;	/* ... and the -shm file it uses */
	/* The source last recorded in this transaction (sources table). */
	char		 source[DETECT_SOURCE_MAX];
	size_t		 source_len;	/* 0: none yet */
	char		 written[TEXT_TIME_LEN];	/* this transaction's
							   wall-clock time */
	char		 names[];	/* their paths */
};

static void	 storedb_seterr(struct storedb *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Every function that uses the connection starts here. The connection has
 * no mutex of its own (SQLITE_OPEN_NOMUTEX), and SQLite is not built with
 * ThreadSanitizer: the write here is what make tsan sees, so two threads
 * using one connection without the hand-over's ordering show as a race.
 */
static void
storedb_enter(struct storedb *db)
{
	db->entered++;
}

/* Record an error: SQLite's result code rc and a message. */
static void
storedb_seterr(struct storedb *db, int rc, const char *fmt, ...)
{
	va_list	 ap;

	db->code = rc & 0xff;
	va_start(ap, fmt);
	vsnprintf(db->err, sizeof(db->err), fmt, ap);
	va_end(ap);
}

/* The connection's last error as the message, with rc. */
static void
storedb_sqlerr(struct storedb *db, int rc)
{
	storedb_seterr(db, rc, "%s", sqlite3_errmsg(db->db));
}

/* Run SQL without results; on error the message is in db->err. */
static int
storedb_exec(struct storedb *db, const char *sql)
{
	char	*msg = NULL;
	int	 rc;

	if ((rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg)) != SQLITE_OK) {
		storedb_seterr(db, rc, "%s", msg != NULL ? msg :
		    sqlite3_errmsg(db->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
storedb_user_version(struct storedb *db, int *version)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((rc = sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &s,
	    NULL)) != SQLITE_OK) {
		storedb_sqlerr(db, rc);
		return -1;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	else
		storedb_sqlerr(db, rc);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* A version this program can use or migrate from; else the reason. */
static int
storedb_check_version(struct storedb *db, int v)
{
	if (v > STOREDB_SCHEMA_VERSION) {
		storedb_seterr(db, SQLITE_ERROR, "schema version %d is newer "
		    "than this stripwatch knows (%d); upgrade stripwatch", v,
		    STOREDB_SCHEMA_VERSION);
		return -1;
	}
	if (v < 0) {
		storedb_seterr(db, SQLITE_ERROR, "invalid schema version %d",
		    v);
		return -1;
	}
	return 0;
}

/*
 * Bring the schema from version v to STOREDB_SCHEMA_VERSION in one
 * transaction; the version is read again inside it, in case another
 * process migrated meanwhile.
 */
static int
storedb_migrate(struct storedb *db, int v)
{
	char	 sql[64];

	if (v == STOREDB_SCHEMA_VERSION)
		return 0;
	if (storedb_exec(db, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (storedb_user_version(db, &v) == -1 ||
	    storedb_check_version(db, v) == -1)
		goto fail;
	for (; v < STOREDB_SCHEMA_VERSION; v++)
		if (storedb_exec(db, store_migrations[v]) == -1)
			goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    STOREDB_SCHEMA_VERSION);
	if (storedb_exec(db, sql) == -1 || storedb_exec(db, "COMMIT") == -1)
		goto fail;
	return 0;
fail:
	if (!sqlite3_get_autocommit(db->db))
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Connection settings, then schema. The first statement reading the file
 * is where "file is not a database" shows. */
static int
storedb_setup(struct storedb *db)
{
	int	 v;

	storedb_set_busy_timeout(db, db->busy_ms);
	if (sqlite3_db_readonly(db->db, "main") == 1) {
		storedb_seterr(db, SQLITE_READONLY, "database is read-only");
		return -1;
	}
	/* Refuse a newer schema before changing anything in the file. */
	if (storedb_user_version(db, &v) == -1 ||
	    storedb_check_version(db, v) == -1)
		return -1;
	if (storedb_exec(db, "PRAGMA journal_mode = WAL") == -1 ||
	    storedb_exec(db, "PRAGMA synchronous = NORMAL") == -1 ||
	    storedb_exec(db, "PRAGMA foreign_keys = OFF") == -1)
		return -1;
	return storedb_migrate(db, v);
}

static int
storedb_prepare(struct storedb *db)
{
	int	 i, rc;

	for (i = 0; i < ST_NSTMTS; i++) {
		if ((rc = sqlite3_prepare_v3(db->db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &db->stmt[i], NULL)) !=
		    SQLITE_OK) {
			storedb_sqlerr(db, rc);
			return -1;
		}
	}
	return 0;
}

/* Which file f->path is now; with journal_mode = WAL set, SQLite holds
 * both the -wal and the -shm open. */
static void
storedb_file_known(struct storedb_file *f)
{
	struct stat	 sb;

	f->known = stat(f->path, &sb) == 0;
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
}

/* Whether f->path still names the file this connection has open. */
static int
storedb_file_same(const struct storedb_file *f)
{
	struct stat	 sb;

	return f->known && stat(f->path, &sb) == 0 && sb.st_dev == f->dev &&
	    sb.st_ino == f->ino;
}

static pthread_once_t storedb_once = PTHREAD_ONCE_INIT;

/*
 * SQLite's process-wide settings, before its first use: no memory
 * statistics (nothing reads them, and keeping them takes a global mutex
 * at every allocation SQLite makes). Too late (SQLite already in use
 * elsewhere in the process) is harmless: the defaults stay.
 */
static void
storedb_configure(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct storedb *
storedb_open(const char *path, uint32_t busy_timeout_ms, char *err,
    size_t errlen)
{
	struct storedb	*db;
	size_t		 len = strlen(path) + sizeof("-wal");
	int		 rc;

	if ((db = calloc(1, sizeof(*db) + 2 * len)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	db->wal.path = db->names;
	db->shm.path = db->names + len;
	snprintf(db->wal.path, len, "%s-wal", path);
	snprintf(db->shm.path, len, "%s-shm", path);
	db->busy_ms = busy_timeout_ms;
	pthread_once(&storedb_once, storedb_configure);
	/* No mutex: one thread at a time uses a connection (storedb.h). */
	rc = sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		storedb_seterr(db, rc, "%s", db->db != NULL ?
		    sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
	if (rc != SQLITE_OK || storedb_setup(db) == -1 ||
	    storedb_prepare(db) == -1) {
		snprintf(err, errlen, "%s: %s", path, db->err);
		storedb_close(db);
		return NULL;
	}
	storedb_file_known(&db->wal);
	storedb_file_known(&db->shm);
	return db;
}

void
storedb_close(struct storedb *db)
{
	int	 i;

	if (db == NULL)
		return;
	storedb_enter(db);
	for (i = 0; i < ST_NSTMTS; i++)
		sqlite3_finalize(db->stmt[i]);
	sqlite3_close(db->db);
	free(db);
}

/*
 * SQLite does not checkpoint a moved database when it closes, and leaves
 * its -wal and -shm under the old names: the rows of the WAL would stay
 * out of the moved file, and a new database at the path would read that
 * WAL as its own. So: checkpoint everything first (readers get the busy
 * timeout to finish), close, and remove the names if they are still this
 * connection's files, not those of a database another process has opened
 * at the path since.
 */
int
storedb_release(struct storedb *db)
{
	int	 rc, nlog = -1, ncopied = -1;

	storedb_enter(db);
	rc = sqlite3_wal_checkpoint_v2(db->db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, &nlog, &ncopied);
	if (rc != SQLITE_OK || nlog != 0) {
		storedb_seterr(db, rc, "%s", rc == SQLITE_OK ||
		    rc == SQLITE_BUSY ? "another connection is reading the "
		    "old file" : sqlite3_errmsg(db->db));
		return -1;
	}
	if (storedb_file_same(&db->wal))
		unlink(db->wal.path);
	if (storedb_file_same(&db->shm))
		unlink(db->shm.path);
	storedb_close(db);
	return 0;
}

void
storedb_set_busy_timeout(struct storedb *db, uint32_t ms)
{
	storedb_enter(db);
	db->busy_ms = ms;
	sqlite3_busy_timeout(db->db, ms > INT_MAX ? INT_MAX : (int)ms);
}

const char *
storedb_error(const struct storedb *db)
{
	return db->err;
}

int
storedb_locked(const struct storedb *db)
{
	return db->code == SQLITE_BUSY || db->code == SQLITE_LOCKED;
}

/*
 * Text is bound without a copy (SQLITE_STATIC): it is a queued row's,
 * which is recycled only after its batch is written, or a buffer of the
 * function that steps the statement. SQLite reads a binding only in
 * sqlite3_step(), and every statement has each of its parameters bound
 * anew before each step, so a binding left behind by an earlier row is
 * never read.
 */

/* Bind len bytes of text, none as NULL. */
static int
store_bind_textn(sqlite3_stmt *s, int idx, const char *text, size_t len)
{
	if (text == NULL || len == 0)
		return sqlite3_bind_null(s, idx);
	return sqlite3_bind_text(s, idx, text, (int)len, SQLITE_STATIC);
}

/* Bind text, "" as NULL. */
static int
store_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
	return store_bind_textn(s, idx, text, text != NULL ? strlen(text) :
	    0);
}

/* Bind text field i of row r, "" as NULL. */
static int
store_bind_field(sqlite3_stmt *s, int idx, const struct storerow *r,
    unsigned i)
{
	return store_bind_textn(s, idx, storerow_text(r, i), r->tlen[i]);
}

/* Step a bound statement once, then reset it; SQLITE_DONE on success. */
static int
store_step(struct storedb *db, enum store_stmt which)
{
	sqlite3_stmt	*s = db->stmt[which];
	int		 rc;

	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		storedb_sqlerr(db, rc);
	sqlite3_reset(s);
	return rc;
}

/* A bind failed: say why, leave the statement clean. */
static int
store_bind_failed(struct storedb *db, sqlite3_stmt *s)
{
	storedb_sqlerr(db, sqlite3_errcode(db->db));
	sqlite3_clear_bindings(s);
	return SQLITE_ERROR;
}

static int
store_write_event(struct storedb *db, const struct storerow_event *r)
{
	sqlite3_stmt	*s = db->stmt[ST_INS_EVENT];
	char		 ts[TEXT_TIME_LEN], cli[STOREDB_ADDR_MAX];
	char		 srv[STOREDB_ADDR_MAX];

	text_time(r->ts_us, ts, sizeof(ts));
	decode_addr_str(&r->tuple.client, cli, sizeof(cli));
	decode_addr_str(&r->tuple.server, srv, sizeof(srv));
	if (store_bind_text(s, 1, ts) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (sqlite3_int64)r->session_id) !=
	    SQLITE_OK ||
	    store_bind_text(s, 3, detect_kind_name(r->kind)) != SQLITE_OK ||
	    store_bind_text(s, 4, detect_severity_name(r->severity)) !=
	    SQLITE_OK ||
	    store_bind_text(s, 5, cli) != SQLITE_OK ||
	    sqlite3_bind_int(s, 6, r->tuple.client_port) != SQLITE_OK ||
	    store_bind_text(s, 7, srv) != SQLITE_OK ||
	    sqlite3_bind_int(s, 8, r->tuple.server_port) != SQLITE_OK ||
	    sqlite3_bind_text(s, 9, storerow_text(&r->hdr, STOREROW_EVIDENCE),
	    r->hdr.tlen[STOREROW_EVIDENCE], SQLITE_STATIC) != SQLITE_OK)
		return store_bind_failed(db, s);
	return store_step(db, ST_INS_EVENT);
}

/*
 * sessions.starttls_reply: SMTP's reply code, IMAP's and POP3's answer
 * word ("OK", "NO", "BAD", "+OK", "-ERR"); NULL when STARTTLS got none.
 */
static int
bind_starttls_reply(sqlite3_stmt *s, int idx, const struct storerow_session *r)
{
	if (r->hdr.tlen[STOREROW_STARTTLS_STATUS] > 0)
		return store_bind_field(s, idx, &r->hdr,
		    STOREROW_STARTTLS_STATUS);
	if (r->starttls_reply != 0)
		return sqlite3_bind_int(s, idx, r->starttls_reply);
	return sqlite3_bind_null(s, idx);
}

/* sessions.protocol: a row that names none is SMTP, as the column's
 * default says for the rows from before the column. */
static int
bind_protocol(sqlite3_stmt *s, int idx, const char *name)
{
	return store_bind_text(s, idx, name != NULL && name[0] != '\0' ?
	    name : mail_proto_name(MAIL_PROTO_SMTP));
}

/*
 * The sources table: a session row written names its source there, once
 * per source and transaction (rows come in runs of one source), with the
 * transaction's time.
 */
static int
store_write_source(struct storedb *db, const struct storerow *h)
{
	sqlite3_stmt	*s = db->stmt[ST_UPSERT_SOURCE];
	const char	*src = storerow_text(h, STOREROW_SOURCE);
	size_t		 len = h->tlen[STOREROW_SOURCE];
	int		 rc;

	if (len == 0 || (len == db->source_len &&
	    memcmp(src, db->source, len) == 0))
		return SQLITE_DONE;
	if (store_bind_textn(s, 1, src, len) != SQLITE_OK ||
	    store_bind_text(s, 2, db->written) != SQLITE_OK)
		return store_bind_failed(db, s);
	if ((rc = store_step(db, ST_UPSERT_SOURCE)) != SQLITE_DONE)
		return rc;
	/* Longer than any source (DETECT_SOURCE_MAX): never cached. */
	if (len < sizeof(db->source)) {
		memcpy(db->source, src, len);
		db->source_len = len;
	}
	return SQLITE_DONE;
}

static int
store_write_session(struct storedb *db, const struct storerow_session *r)
{
	enum store_stmt	 which = r->resumed > 0 ? ST_MERGE_SESSION :
			    ST_INS_SESSION;
	sqlite3_stmt	*s = db->stmt[which];
	const struct storerow *h = &r->hdr;
	char		 t0[TEXT_TIME_LEN], t1[TEXT_TIME_LEN];
	char		 cli[STOREDB_ADDR_MAX], srv[STOREDB_ADDR_MAX];
	uint32_t	 bits;
	int		 nev, ok, rc;

	for (nev = 0, bits = r->events; bits != 0; bits &= bits - 1)
		nev++;
	text_time(r->start_us, t0, sizeof(t0));
	text_time(r->end_us, t1, sizeof(t1));
	decode_addr_str(&r->tuple.client, cli, sizeof(cli));
	decode_addr_str(&r->tuple.server, srv, sizeof(srv));
	ok = sqlite3_bind_int64(s, 1, (sqlite3_int64)r->id) == SQLITE_OK &&
	    store_bind_text(s, 2, t0) == SQLITE_OK &&
	    store_bind_text(s, 3, t1) == SQLITE_OK &&
	    store_bind_text(s, 4, cli) == SQLITE_OK &&
	    sqlite3_bind_int(s, 5, r->tuple.client_port) == SQLITE_OK &&
	    store_bind_text(s, 6, srv) == SQLITE_OK &&
	    sqlite3_bind_int(s, 7, r->tuple.server_port) == SQLITE_OK &&
	    store_bind_field(s, 8, h, STOREROW_HELO) == SQLITE_OK &&
	    store_bind_field(s, 9, h, STOREROW_BANNER) == SQLITE_OK &&
	    sqlite3_bind_int(s, 10, r->starttls_offered) == SQLITE_OK &&
	    sqlite3_bind_int(s, 11, r->starttls_requested) == SQLITE_OK &&
	    bind_starttls_reply(s, 12, r) == SQLITE_OK &&
	    sqlite3_bind_int(s, 13, r->tls_established) == SQLITE_OK &&
	    store_bind_field(s, 14, h, STOREROW_OUTCOME) == SQLITE_OK &&
	    store_bind_field(s, 15, h, STOREROW_TLS_VERSION) == SQLITE_OK &&
	    store_bind_field(s, 16, h, STOREROW_TLS_CIPHER) == SQLITE_OK &&
	    store_bind_field(s, 17, h, STOREROW_TLS_SNI) == SQLITE_OK &&
	    store_bind_field(s, 18, h, STOREROW_CERT) == SQLITE_OK &&
	    sqlite3_bind_int64(s, 19, r->gaps) == SQLITE_OK &&
	    sqlite3_bind_int(s, 20, nev) == SQLITE_OK &&
	    store_bind_field(s, 21, h, STOREROW_CLOSE_REASON) == SQLITE_OK &&
	    sqlite3_bind_int64(s, 22, r->resumed) == SQLITE_OK &&
	    bind_protocol(s, 23, storerow_text(h, STOREROW_PROTOCOL)) ==
	    SQLITE_OK &&
	    store_bind_field(s, 24, h, STOREROW_SOURCE) == SQLITE_OK;
	if (!ok)
		return store_bind_failed(db, s);
	if ((rc = store_step(db, which)) != SQLITE_DONE)
		return rc;
	return store_write_source(db, h);
}

static int
store_write_stat(struct storedb *db, const struct storerow_stat *r,
    uint32_t worker)
{
	sqlite3_stmt	*s = db->stmt[ST_INS_STAT];
	char		 ts[TEXT_TIME_LEN];

	text_time(r->ts_us, ts, sizeof(ts));
	if (store_bind_text(s, 1, ts) != SQLITE_OK ||
	    store_bind_field(s, 2, &r->hdr, STOREROW_STAT_NAME) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, r->value) != SQLITE_OK ||
	    sqlite3_bind_int(s, 4, (int)worker) != SQLITE_OK)
		return store_bind_failed(db, s);
	return store_step(db, ST_INS_STAT);
}

static int
store_write_server(struct storedb *db, const struct storerow_server *r)
{
	sqlite3_stmt	*s = db->stmt[ST_UPSERT_SERVER];
	const struct history_server *h = &r->srv;
	char		 ip[STOREDB_ADDR_MAX], t0[TEXT_TIME_LEN];
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
	    store_bind_text(s, 9, cert) == SQLITE_OK &&
	    store_bind_text(s, 10, mail_proto_name((enum mail_proto)h->proto)) ==
	    SQLITE_OK;
	if (!ok)
		return store_bind_failed(db, s);
	return store_step(db, ST_UPSERT_SERVER);
}

static int
store_write_row(struct storedb *db, const struct storerow *r,
    uint32_t worker)
{
	switch (r->kind) {
	case STOREROW_EVENT:
		return store_write_event(db,
		    (const struct storerow_event *)r);
	case STOREROW_SESSION:
		return store_write_session(db,
		    (const struct storerow_session *)r);
	case STOREROW_STAT:
		return store_write_stat(db, (const struct storerow_stat *)r,
		    worker);
	case STOREROW_SERVER:
		return store_write_server(db,
		    (const struct storerow_server *)r);
	default:
		break;
	}
	abort();
}

/* End a failed transaction, keeping the error text already set. */
static void
storedb_rollback(struct storedb *db)
{
	if (!sqlite3_get_autocommit(db->db)) {
		sqlite3_step(db->stmt[ST_ROLLBACK]);
		sqlite3_reset(db->stmt[ST_ROLLBACK]);
	}
}

int
storedb_write(struct storedb *db, const struct storerowq *rows,
    uint32_t worker, uint64_t n[STOREROW_NKINDS])
{
	struct storerow	*r;
	struct timespec	 now;
	int		 rc;

	storedb_enter(db);
	memset(n, 0, STOREROW_NKINDS * sizeof(*n));
	clock_gettime(CLOCK_REALTIME, &now);
	text_time((uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec /
	    1000, db->written, sizeof(db->written));
	db->source_len = 0;
	if (store_step(db, ST_BEGIN) != SQLITE_DONE)
		goto fail;
	TAILQ_FOREACH(r, rows, entry) {
		rc = store_write_row(db, r, worker);
		r->refused = (rc & 0xff) == SQLITE_CONSTRAINT;
		if (rc == SQLITE_DONE)
			n[r->kind]++;
		else if (!r->refused)
			goto fail;
	}
	if (store_step(db, ST_COMMIT) != SQLITE_DONE)
		goto fail;
	db->code = SQLITE_OK;
	db->err[0] = '\0';
	return 0;
fail:
	storedb_rollback(db);
	return -1;
}

int
storedb_retention(struct storedb *db, uint64_t now_us, uint32_t days)
{
	static const enum store_stmt del[] = {
		ST_DEL_SESSIONS, ST_DEL_EVENTS, ST_DEL_STATS
	};
	char	 cutoff[TEXT_TIME_LEN];
	size_t	 i;
	int64_t	 deleted = 0;

	storedb_enter(db);
	if (days == 0 || days > now_us / STOREDB_US_PER_DAY)
		return 0;	/* keep forever, or nothing that old */
	text_time(now_us - days * STOREDB_US_PER_DAY, cutoff, sizeof(cutoff));
	if (store_step(db, ST_BEGIN) != SQLITE_DONE)
		goto fail;
	for (i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
		if (store_bind_text(db->stmt[del[i]], 1, cutoff) !=
		    SQLITE_OK) {
			store_bind_failed(db, db->stmt[del[i]]);
			goto fail;
		}
		if (store_step(db, del[i]) != SQLITE_DONE)
			goto fail;
		deleted += sqlite3_changes(db->db);
	}
	if (store_step(db, ST_COMMIT) != SQLITE_DONE)
		goto fail;
	return deleted > INT_MAX ? INT_MAX : (int)deleted;
fail:
	storedb_rollback(db);
	return -1;
}

/*
 * TRUNCATE waits for readers to leave the WAL and for no writer; with the
 * busy handler off it does not wait but falls back to what PASSIVE does
 * and says SQLITE_BUSY: the WAL is then only reset when no reader is in
 * the way, and a long-lived reader shows as a WAL that keeps growing.
 */
int
storedb_checkpoint(struct storedb *db)
{
	int	 rc;

	storedb_enter(db);
	sqlite3_busy_timeout(db->db, 0);
	rc = sqlite3_wal_checkpoint_v2(db->db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	storedb_set_busy_timeout(db, db->busy_ms);
	if (rc == SQLITE_OK)
		return 0;
	if (rc == SQLITE_BUSY)
		return 1;
	storedb_seterr(db, rc, "checkpoint: %s", sqlite3_errmsg(db->db));
	return -1;
}

uint64_t
storedb_wal_bytes(const struct storedb *db)
{
	struct stat	 sb;

	if (stat(db->wal.path, &sb) == -1)
		return 0;
	return (uint64_t)sb.st_size;
}

int
storedb_next_session_id(struct storedb *db, uint64_t *next)
{
	sqlite3_stmt	*s = db->stmt[ST_NEXT_ID];
	int		 rc;

	storedb_enter(db);
	*next = 1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_int64(s, 0) > 0)
			*next = (uint64_t)sqlite3_column_int64(s, 0);
	} else
		storedb_sqlerr(db, rc);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : -1;
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
	int		 proto;

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
	if ((proto = mail_proto_by_name((const char *)sqlite3_column_text(s,
	    9))) == -1)
		return -1;	/* a protocol this version does not know */
	rec->proto = (uint8_t)proto;
	return 0;
}

int
storedb_load_servers(struct storedb *db, uint32_t max,
    void (*load)(void *, const struct history_server *), void *arg)
{
	sqlite3_stmt	*s = db->stmt[ST_LOAD_SERVERS];
	struct history_server rec;
	int		 rc, n = 0;

	storedb_enter(db);
	if ((rc = sqlite3_bind_int64(s, 1, max)) != SQLITE_OK) {
		storedb_sqlerr(db, rc);
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (load_server_row(s, &rec) == 0) {
			load(arg, &rec);
			n++;
		}
	if (rc != SQLITE_DONE)
		storedb_sqlerr(db, rc);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? n : -1;
}

/* One value from a one-parameter statement: SQLITE_ROW/DONE, or error. */
static int
storedb_step_text(struct storedb *db, const char *sql, const char *arg,
    sqlite3_stmt **out)
{
	int	 rc;

	if ((rc = sqlite3_prepare_v2(db->db, sql, -1, out, NULL)) !=
	    SQLITE_OK) {
		storedb_seterr(db, rc, "sensor name: %s",
		    sqlite3_errmsg(db->db));
		return rc;
	}
	if ((rc = sqlite3_bind_text(*out, 1, arg, -1, SQLITE_STATIC)) ==
	    SQLITE_OK)
		rc = sqlite3_step(*out);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		storedb_seterr(db, rc, "sensor name: %s",
		    sqlite3_errmsg(db->db));
	return rc;
}

int
storedb_set_sensor(struct storedb *db, const char *name)
{
	sqlite3_stmt	*s = NULL;
	int		 rc, same;

	storedb_enter(db);
	/* Even an INSERT that inserts nothing takes the write lock: look
	 * first. */
	rc = storedb_step_text(db, "SELECT count(*) FROM sensor WHERE id = 1 "
	    "AND name = ?", name, &s);
	same = rc == SQLITE_ROW && sqlite3_column_int(s, 0) > 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return -1;
	if (same)
		return 0;
	rc = storedb_step_text(db, "INSERT INTO sensor (id, name) VALUES "
	    "(1, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name", name,
	    &s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
storedb_source_seen(struct storedb *db, const char *source)
{
	sqlite3_stmt	*s = db->stmt[ST_SOURCE_SEEN];
	int		 rc, seen = -1;

	storedb_enter(db);
	if ((rc = sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC)) ==
	    SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		seen = sqlite3_column_int(s, 0) != 0;
	else
		storedb_sqlerr(db, rc);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return seen;
}
