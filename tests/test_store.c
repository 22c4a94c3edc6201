/*
 * test_store.c: the SQLite store on temporary databases: schema and
 * version, row round-trips read back with a second connection, busy and
 * failing databases keeping their queue, the queue bounds (rows and
 * bytes of compact rows), ids, retention, the writer thread (order kept,
 * failures reported and retried), a full queue waiting out a lock, the
 * database file deleted, moved or replaced under the store, checkpoints
 * against a reader, and what the log says of it all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mail.h"
#include "store.h"
#include "storedb.h"

#define T0	1700000000123456ULL	/* 2023-11-14T22:13:20.123456Z */
#define DAY_US	86400000000ULL

struct fixture {
	char	 dir[64];
	char	 path[128];
};

static int
setup(void **state)
{
	struct fixture	*fx;

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/sw.db", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;
	struct dirent	*de;
	char		 p[512];
	DIR		*d;

	if ((d = opendir(fx->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", fx->dir, de->d_name);
			chmod(p, 0644);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static struct store *
open_store_cfg(const struct fixture *fx, const struct store_config *cfg)
{
	char		 err[512];
	struct store	*st;

	st = store_open(fx->path, cfg, err, sizeof(err));
	if (st == NULL)
		fail_msg("store_open: %s", err);
	return st;
}

static struct store *
open_store(const struct fixture *fx, uint32_t queue_max)
{
	struct store_config cfg = { .queue_memcap = 1 << 20,
	    .queue_max = queue_max, .busy_timeout_ms = 50, .worker = 3 };

	return open_store_cfg(fx, &cfg);
}

/* A second, independent connection, as a reader or another writer. */
static sqlite3 *
peer(const struct fixture *fx)
{
	sqlite3	*db;

	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

static void
peer_exec(sqlite3 *db, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static int64_t
peer_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*s;
	int64_t		 v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* The first column of sql's first row as text into buf ("" for NULL). */
static void
peer_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt	*s;
	const unsigned char *t;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	t = sqlite3_column_text(s, 0);
	snprintf(buf, len, "%s", t != NULL ? (const char *)t : "");
	sqlite3_finalize(s);
}

/* The column names of a table, comma-separated. */
static void
peer_columns(sqlite3 *db, const char *table, char *buf, size_t len)
{
	sqlite3_stmt	*s;
	char		 sql[128];
	size_t		 off = 0;

	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	buf[0] = '\0';
	while (sqlite3_step(s) == SQLITE_ROW)
		off += snprintf(buf + off, len - off, "%s%s %s",
		    off ? "," : "", sqlite3_column_text(s, 1),
		    sqlite3_column_text(s, 2));
	sqlite3_finalize(s);
}

static void
addr4(struct decode_addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	a->family = 4;
	assert_int_equal(inet_pton(AF_INET, s, a->bytes), 1);
}

static void
addr6(struct decode_addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	a->family = 6;
	assert_int_equal(inet_pton(AF_INET6, s, a->bytes), 1);
}

static struct detect_event
mkevent(uint64_t ts, uint64_t session, const char *evidence)
{
	struct detect_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.ts_us = ts;
	ev.session_id = session;
	ev.kind = DETECT_CAPABILITY_MASKED;
	ev.severity = DETECT_SEV_HIGH;
	addr4(&ev.tuple.client, "192.0.2.10");
	addr4(&ev.tuple.server, "198.51.100.25");
	ev.tuple.client_port = 40001;
	ev.tuple.server_port = 25;
	snprintf(ev.evidence, sizeof(ev.evidence), "%s", evidence);
	return ev;
}

/* The protocols of the servers a store_load_servers() call read back. */
static int	 loaded_protos;

static void
count_protos(void *arg, const struct history_server *rec)
{
	(void)arg;
	loaded_protos |= 1 << rec->proto;
}

static struct detect_session
mksession(uint64_t id, uint64_t start)
{
	struct detect_session s;

	memset(&s, 0, sizeof(s));
	s.id = id;
	s.start_us = start;
	s.end_us = start + 2500000;
	addr4(&s.tuple.client, "192.0.2.10");
	addr4(&s.tuple.server, "198.51.100.25");
	s.tuple.client_port = 40001;
	s.tuple.server_port = 25;
	s.outcome = "plaintext";
	s.close_reason = "fin";
	return s;
}

static void
test_schema(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	sqlite3		*db;
	char		 cols[1024], q[256];
	static const char *const idx[][2] = {
		{ "events", "kind" }, { "events", "session_id" },
		{ "events", "ts" }, { "sessions", "start_ts" },
		{ "sessions", "server_ip" },
		{ "stats", "ts" }, { "stats", "name" },
	};
	size_t		 i;

	st = open_store(fx, 100);
	db = peer(fx);
	assert_int_equal(peer_int(db, "PRAGMA user_version"),
	    STOREDB_SCHEMA_VERSION);
	peer_columns(db, "sessions", cols, sizeof(cols));
	assert_string_equal(cols, "id INTEGER,start_ts TEXT,end_ts TEXT,"
	    "client_ip TEXT,client_port INTEGER,server_ip TEXT,"
	    "server_port INTEGER,helo TEXT,banner TEXT,"
	    "starttls_offered INTEGER,starttls_requested INTEGER,"
	    "starttls_reply INTEGER,tls_established INTEGER,outcome TEXT,"
	    "tls_version TEXT,tls_cipher TEXT,tls_sni TEXT,cert_sha256 TEXT,"
	    "gaps INTEGER,events INTEGER,close_reason TEXT,resumed INTEGER,"
	    "protocol TEXT,source TEXT");
	peer_columns(db, "events", cols, sizeof(cols));
	assert_string_equal(cols, "id INTEGER,ts TEXT,session_id INTEGER,"
	    "kind TEXT,severity TEXT,client_ip TEXT,client_port INTEGER,"
	    "server_ip TEXT,server_port INTEGER,evidence TEXT");
	peer_columns(db, "stats", cols, sizeof(cols));
	assert_string_equal(cols, "ts TEXT,name TEXT,value INTEGER,"
	    "worker INTEGER");
	peer_columns(db, "servers", cols, sizeof(cols));
	assert_string_equal(cols, "server_ip TEXT,server_port INTEGER,"
	    "first_seen TEXT,last_seen TEXT,sessions INTEGER,"
	    "starttls_offered INTEGER,starttls_accepted INTEGER,"
	    "last_offered TEXT,cert_sha256 TEXT,protocol TEXT");
	peer_columns(db, "sources", cols, sizeof(cols));
	assert_string_equal(cols, "source TEXT,first_written TEXT,"
	    "last_written TEXT");
	peer_columns(db, "sensor", cols, sizeof(cols));
	assert_string_equal(cols, "id INTEGER,name TEXT");
	for (i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		snprintf(q, sizeof(q), "SELECT count(*) FROM sqlite_master m, "
		    "pragma_index_info(m.name) i WHERE m.type = 'index' AND "
		    "m.tbl_name = '%s' AND i.name = '%s' AND i.seqno = 0",
		    idx[i][0], idx[i][1]);
		assert_true(peer_int(db, q) >= 1);
	}
	/* Those and no more: each index costs every write. */
	assert_int_equal(peer_int(db, "SELECT group_concat(name, ' ') = "
	    "'events_kind events_session_id events_ts servers_last_seen "
	    "sessions_day sessions_server sessions_start_ts "
	    "sessions_tampered stats_name stats_ts' FROM (SELECT name FROM "
	    "sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY "
	    "name)"), 1);
	sqlite3_close(db);
	assert_string_equal(store_error(st), "");
	store_close(st);

	/* Reopening a current database changes nothing. */
	st = open_store(fx, 100);
	store_close(st);
	db = peer(fx);
	assert_int_equal(peer_int(db, "PRAGMA user_version"),
	    STOREDB_SCHEMA_VERSION);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table'"), 6);
	assert_int_equal(peer_int(db, "SELECT group_concat(name, ' ') = "
	    "'alerts outcomes_daily stripped_servers tampering' FROM (SELECT "
	    "name FROM sqlite_master WHERE type = 'view' ORDER BY name)"), 1);
	sqlite3_close(db);
}

static void
test_wal_mode(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	sqlite3		*db;
	sqlite3_stmt	*s;

	st = open_store(fx, 100);
	db = peer(fx);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);
	assert_int_equal(store_checkpoint(st), 0);
	store_close(st);
}

static void
test_session_roundtrip(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session a, b;
	struct store	*st;
	sqlite3		*db;
	sqlite3_stmt	*s;
	char		 version[16];
	int		 i;

	/* Minimal session: every optional field empty. */
	a = mksession(1, T0);
	a.events = 0x5;		/* two kinds raised */
	snprintf(a.helo, sizeof(a.helo), "client.example");
	/* Everything set, over IPv6. */
	b = mksession(2, T0 + 1000000);
	addr6(&b.tuple.client, "2001:db8::10");
	addr6(&b.tuple.server, "2001:db8:1::25");
	b.tuple.client_port = 65535;
	b.tuple.server_port = 587;
	snprintf(b.helo, sizeof(b.helo), "[2001:db8::10]");
	snprintf(b.banner, sizeof(b.banner), "mx.example ESMTP \\x1b");
	b.starttls_offered = 1;
	b.starttls_requested = 1;
	b.starttls_reply = 220;
	b.tls_established = 1;
	snprintf(version, sizeof(version), "TLS1.3");
	b.tls_version = version;
	snprintf(b.tls_cipher, sizeof(b.tls_cipher), "TLS_AES_128_GCM_SHA256");
	snprintf(b.tls_sni, sizeof(b.tls_sni), "mx.example");
	memset(b.cert_sha256, 'a', 64);
	b.gaps = 3;
	b.events = 0;
	b.outcome = "tls";
	b.close_reason = "rst";
	b.source = "/srv/pcap/mx \\\"1\\\".pcap";

	st = open_store(fx, 100);
	store_session(st, &a);
	store_session(st, &b);
	/* The caller's strings are only valid during the call. */
	snprintf(version, sizeof(version), "garbage");
	assert_int_equal(store_get_stats(st)->queued, 2);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->sessions, 2);
	assert_int_equal(store_get_stats(st)->flushes, 1);
	assert_int_equal(store_get_stats(st)->queued, 0);

	db = peer(fx);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT * FROM sessions "
	    "ORDER BY id", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(s, 0), 1);
	assert_string_equal(sqlite3_column_text(s, 1),
	    "2023-11-14T22:13:20.123456Z");
	assert_string_equal(sqlite3_column_text(s, 2),
	    "2023-11-14T22:13:22.623456Z");
	assert_string_equal(sqlite3_column_text(s, 3), "192.0.2.10");
	assert_int_equal(sqlite3_column_int(s, 4), 40001);
	assert_string_equal(sqlite3_column_text(s, 5), "198.51.100.25");
	assert_int_equal(sqlite3_column_int(s, 6), 25);
	assert_string_equal(sqlite3_column_text(s, 7), "client.example");
	assert_int_equal(sqlite3_column_type(s, 8), SQLITE_NULL); /* banner */
	assert_int_equal(sqlite3_column_type(s, 9), SQLITE_INTEGER);
	assert_int_equal(sqlite3_column_int(s, 9), 0);
	assert_int_equal(sqlite3_column_int(s, 10), 0);
	assert_int_equal(sqlite3_column_type(s, 11), SQLITE_NULL); /* reply */
	assert_int_equal(sqlite3_column_int(s, 12), 0);
	assert_string_equal(sqlite3_column_text(s, 13), "plaintext");
	for (i = 14; i <= 17; i++)	/* tls_version .. cert_sha256 */
		assert_int_equal(sqlite3_column_type(s, i), SQLITE_NULL);
	assert_int_equal(sqlite3_column_int(s, 18), 0);
	assert_int_equal(sqlite3_column_int(s, 19), 2);	/* bits of 0x5 */
	assert_string_equal(sqlite3_column_text(s, 20), "fin");
	assert_int_equal(sqlite3_column_type(s, 23), SQLITE_NULL); /* source */

	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(s, 0), 2);
	assert_string_equal(sqlite3_column_text(s, 1),
	    "2023-11-14T22:13:21.123456Z");
	assert_string_equal(sqlite3_column_text(s, 3), "2001:db8::10");
	assert_int_equal(sqlite3_column_int(s, 4), 65535);
	assert_string_equal(sqlite3_column_text(s, 5), "2001:db8:1::25");
	assert_int_equal(sqlite3_column_int(s, 6), 587);
	assert_string_equal(sqlite3_column_text(s, 7), "[2001:db8::10]");
	assert_string_equal(sqlite3_column_text(s, 8),
	    "mx.example ESMTP \\x1b");
	assert_int_equal(sqlite3_column_int(s, 9), 1);
	assert_int_equal(sqlite3_column_int(s, 10), 1);
	assert_int_equal(sqlite3_column_int(s, 11), 220);
	assert_int_equal(sqlite3_column_int(s, 12), 1);
	assert_string_equal(sqlite3_column_text(s, 13), "tls");
	assert_string_equal(sqlite3_column_text(s, 14), "TLS1.3");
	assert_string_equal(sqlite3_column_text(s, 15),
	    "TLS_AES_128_GCM_SHA256");
	assert_string_equal(sqlite3_column_text(s, 16), "mx.example");
	assert_int_equal(strlen((const char *)sqlite3_column_text(s, 17)), 64);
	assert_int_equal(sqlite3_column_text(s, 17)[63], 'a');
	assert_int_equal(sqlite3_column_int(s, 18), 3);
	assert_int_equal(sqlite3_column_int(s, 19), 0);
	assert_string_equal(sqlite3_column_text(s, 20), "rst");
	assert_string_equal(sqlite3_column_text(s, 23), b.source);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
	store_close(st);
}

static void
test_event_roundtrip(void **state)
{
	static const char hostile[] = "'); DROP TABLE events;--";
	struct fixture	*fx = *state;
	struct detect_event ev;
	struct detect_sink sink;
	struct store	*st;
	sqlite3		*db;
	sqlite3_stmt	*s;

	st = open_store(fx, 100);
	store_sink(st, &sink);
	assert_ptr_equal(sink.arg, st);
	ev = mkevent(T0, 42, hostile);
	sink.event(sink.arg, &ev);
	ev = mkevent(T0 + 1, 43, "250-XXXXXXXA");
	ev.kind = DETECT_STARTTLS_REFUSED;
	ev.severity = DETECT_SEV_MEDIUM;
	addr6(&ev.tuple.client, "::1");
	addr6(&ev.tuple.server, "fe80::1");
	ev.tuple.server_port = 465;
	sink.event(sink.arg, &ev);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->events, 2);

	db = peer(fx);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, ts, session_id, "
	    "kind, severity, client_ip, client_port, server_ip, server_port, "
	    "evidence FROM events ORDER BY id", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(s, 1),
	    "2023-11-14T22:13:20.123456Z");
	assert_int_equal(sqlite3_column_int64(s, 2), 42);
	assert_string_equal(sqlite3_column_text(s, 3), "capability_masked");
	assert_string_equal(sqlite3_column_text(s, 4), "high");
	assert_string_equal(sqlite3_column_text(s, 5), "192.0.2.10");
	assert_int_equal(sqlite3_column_int(s, 6), 40001);
	assert_string_equal(sqlite3_column_text(s, 7), "198.51.100.25");
	assert_int_equal(sqlite3_column_int(s, 8), 25);
	assert_string_equal(sqlite3_column_text(s, 9), hostile);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(s, 1),
	    "2023-11-14T22:13:20.123457Z");
	assert_int_equal(sqlite3_column_int64(s, 2), 43);
	assert_string_equal(sqlite3_column_text(s, 3), "starttls_refused");
	assert_string_equal(sqlite3_column_text(s, 4), "medium");
	assert_string_equal(sqlite3_column_text(s, 5), "::1");
	assert_string_equal(sqlite3_column_text(s, 7), "fe80::1");
	assert_int_equal(sqlite3_column_int(s, 8), 465);
	assert_string_equal(sqlite3_column_text(s, 9), "250-XXXXXXXA");
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	/* The events table is still there, with both rows. */
	assert_int_equal(peer_int(db, "SELECT count(*) FROM events"), 2);
	sqlite3_close(db);
	store_close(st);
}

static double
elapsed_ms(const struct timespec *a)
{
	struct timespec	 b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1e3 + (b.tv_nsec - a->tv_nsec) / 1e6;
}

static void
test_busy_keeps_queue(void **state)
{
	struct fixture	*fx = *state;
	struct detect_event ev;
	struct detect_session s;
	struct timespec	 t;
	struct store	*st;
	sqlite3		*db;
	double		 ms;

	st = open_store(fx, 100);	/* busy_timeout 50 ms */
	db = peer(fx);
	peer_exec(db, "BEGIN IMMEDIATE");
	ev = mkevent(T0, 1, "a");
	store_event(st, &ev);
	s = mksession(1, T0);
	store_session(st, &s);
	store_stat(st, T0, "flows", 7);

	clock_gettime(CLOCK_MONOTONIC, &t);
	assert_int_equal(store_flush(st), -1);
	ms = elapsed_ms(&t);
	assert_true(ms >= 30);		/* it did wait for the lock ... */
	assert_true(ms < 1000);		/* ... but not much past 50 ms */
	assert_non_null(strstr(store_error(st), "locked"));
	assert_int_equal(store_get_stats(st)->retries, 1);
	assert_int_equal(store_get_stats(st)->queued, 3);
	assert_int_equal(store_get_stats(st)->flushes, 0);
	/* Still held: a second attempt fails the same way. */
	assert_int_equal(store_flush(st), -1);
	assert_int_equal(store_get_stats(st)->retries, 2);

	peer_exec(db, "COMMIT");
	assert_int_equal(store_flush(st), 0);
	assert_string_equal(store_error(st), "");
	assert_int_equal(store_get_stats(st)->queued, 0);
	assert_int_equal(store_get_stats(st)->events, 1);
	assert_int_equal(store_get_stats(st)->sessions, 1);
	assert_int_equal(store_get_stats(st)->stat_rows, 1);
	assert_int_equal(store_get_stats(st)->dropped, 0);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM events"), 1);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions"), 1);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM stats"), 1);
	sqlite3_close(db);
	store_close(st);
}

/* A write that fails mid-transaction (here: the table went away) rolls
 * back everything, keeps every row, and the next flush writes them. */
static void
test_write_error_keeps_queue(void **state)
{
	struct fixture	*fx = *state;
	struct detect_event ev;
	struct detect_session s;
	struct store	*st;
	sqlite3		*db;

	st = open_store(fx, 100);
	db = peer(fx);
	s = mksession(9, T0);
	store_session(st, &s);		/* written before the failing row */
	ev = mkevent(T0, 9, "x");
	store_event(st, &ev);
	peer_exec(db, "ALTER TABLE events RENAME TO events_away");
	assert_int_equal(store_flush(st), -1);
	assert_non_null(strstr(store_error(st), "events"));
	assert_int_equal(store_get_stats(st)->queued, 2);
	assert_int_equal(store_get_stats(st)->retries, 1);
	/* The session row was rolled back with the failed event. */
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions"), 0);

	peer_exec(db, "ALTER TABLE events_away RENAME TO events");
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions"), 1);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM events "
	    "WHERE session_id = 9"), 1);
	sqlite3_close(db);
	store_close(st);
}

/* A row that can never be written does not block the rows behind it. */
static void
test_duplicate_id_rejected(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session s;
	struct detect_event ev;
	struct store	*st;
	sqlite3		*db;

	st = open_store(fx, 100);
	s = mksession(5, T0);
	store_session(st, &s);
	s.outcome = "tls";
	store_session(st, &s);
	ev = mkevent(T0, 5, "after");
	store_event(st, &ev);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->rejected, 1);
	assert_int_equal(store_get_stats(st)->sessions, 1);
	assert_int_equal(store_get_stats(st)->events, 1);
	db = peer(fx);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions WHERE "
	    "id = 5 AND outcome = 'plaintext'"), 1);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM events"), 1);
	sqlite3_close(db);
	store_close(st);
}

/*
 * A session continued after an eviction: its second row (resumed > 0)
 * merges into the first under the same id; what only the first part saw
 * (helo, banner, certificate) stays, the continuation's verdicts and end
 * win.
 */
static void
test_resumed_row_merges(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session a, b;
	struct store	*st;
	sqlite3		*db;

	st = open_store(fx, 100);
	a = mksession(7, T0);
	snprintf(a.helo, sizeof(a.helo), "client.example.org");
	snprintf(a.banner, sizeof(a.banner), "mx ESMTP");
	snprintf(a.cert_sha256, sizeof(a.cert_sha256), "%064d", 0);
	a.starttls_offered = 1;
	a.events = 1u << DETECT_CAPABILITY_MASKED;
	a.outcome = "incomplete";
	a.close_reason = "evicted";
	a.source = "first.pcap";
	store_session(st, &a);
	b = mksession(7, T0);
	b.source = "second.pcap";
	b.end_us = T0 + 9000000;
	b.starttls_requested = 1;
	b.starttls_reply = 454;
	b.events = a.events | 1u << DETECT_STARTTLS_REFUSED;
	b.outcome = "stripped";
	b.resumed = 1;
	store_session(st, &b);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->rejected, 0);
	db = peer(fx);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions"), 1);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions WHERE "
	    "id = 7 AND helo = 'client.example.org' AND banner = 'mx ESMTP' "
	    "AND cert_sha256 IS NOT NULL AND starttls_offered = 1 AND "
	    "starttls_requested = 1 AND starttls_reply = 454 AND events = 2 "
	    "AND outcome = 'stripped' AND close_reason = 'fin' AND "
	    "resumed = 1 AND end_ts > start_ts AND "
	    "end_ts LIKE '%:29.123456Z' AND source = 'first.pcap'"), 1);
	/* A continuation whose first row was lost is a row of its own. */
	b.id = 8;
	store_session(st, &b);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions WHERE "
	    "id = 8 AND helo IS NULL AND resumed = 1"), 1);
	sqlite3_close(db);
	store_close(st);
}

static void
test_queue_overflow(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	sqlite3		*db;
	int		 i;

	st = open_store(fx, 3);
	for (i = 1; i <= 5; i++)
		store_stat(st, T0 + i, "n", i);
	assert_int_equal(store_get_stats(st)->queued, 3);
	assert_int_equal(store_get_stats(st)->dropped, 2);
	assert_int_equal(store_flush(st), 0);
	db = peer(fx);
	/* The oldest two (1, 2) were dropped. */
	assert_int_equal(peer_int(db, "SELECT count(*) FROM stats"), 3);
	assert_int_equal(peer_int(db, "SELECT min(value) FROM stats"), 3);
	assert_int_equal(peer_int(db, "SELECT max(value) FROM stats"), 5);
	sqlite3_close(db);
	/* Spare rows are reused: a second round behaves the same. */
	for (i = 6; i <= 10; i++)
		store_stat(st, T0 + i, "n", i);
	assert_int_equal(store_get_stats(st)->dropped, 4);
	assert_int_equal(store_flush(st), 0);
	db = peer(fx);
	assert_int_equal(peer_int(db, "SELECT sum(value) FROM stats"),
	    3 + 4 + 5 + 8 + 9 + 10);
	sqlite3_close(db);
	store_close(st);
}

/* The tables of schema 2, as that version made them. */
static void
schema_v2(sqlite3 *db)
{
	peer_exec(db, "CREATE TABLE sessions (id INTEGER PRIMARY KEY, "
	    "start_ts TEXT, end_ts TEXT, client_ip TEXT, client_port INTEGER, "
	    "server_ip TEXT, server_port INTEGER, helo TEXT, banner TEXT, "
	    "starttls_offered INTEGER, starttls_requested INTEGER, "
	    "starttls_reply INTEGER, tls_established INTEGER, outcome TEXT, "
	    "tls_version TEXT, tls_cipher TEXT, tls_sni TEXT, cert_sha256 TEXT, "
	    "gaps INTEGER, events INTEGER, close_reason TEXT);"
	    "CREATE TABLE events (id INTEGER PRIMARY KEY, ts TEXT, "
	    "session_id INTEGER, kind TEXT, severity TEXT, client_ip TEXT, "
	    "client_port INTEGER, server_ip TEXT, server_port INTEGER, "
	    "evidence TEXT);"
	    "CREATE TABLE stats (ts TEXT, name TEXT, value INTEGER);"
	    "CREATE TABLE servers (server_ip TEXT NOT NULL, server_port "
	    "INTEGER NOT NULL, first_seen TEXT, last_seen TEXT, sessions "
	    "INTEGER, starttls_offered INTEGER, starttls_accepted INTEGER, "
	    "last_offered TEXT, cert_sha256 TEXT, PRIMARY KEY (server_ip, "
	    "server_port));");
}

/*
 * A database of schema 2 (before stats.worker) is migrated in place: its
 * rows are kept, old stats rows read worker 0, new ones carry theirs.
 */
static void
test_migrate_from_v2(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	sqlite3		*db;

	db = peer(fx);
	schema_v2(db);
	peer_exec(db, "INSERT INTO stats VALUES ('2026-01-01T00:00:00.000000Z', 'x', 1);"
	    "INSERT INTO sessions (id) VALUES (41);"
	    "INSERT INTO servers VALUES ('198.51.100.25', 25, "
	    "'2026-01-01T00:00:00.000000Z', '2026-01-02T00:00:00.000000Z', 7, "
	    "5, 4, '2026-01-02T00:00:00.000000Z', NULL);"
	    "PRAGMA user_version = 2");
	sqlite3_close(db);
	st = open_store(fx, 100);
	assert_true(store_next_session_id(st) == 42);
	store_stat(st, T0, "y", 2);
	assert_int_equal(store_flush(st), 0);
	store_close(st);
	db = peer(fx);
	assert_int_equal(peer_int(db, "PRAGMA user_version"),
	    STOREDB_SCHEMA_VERSION);
	assert_int_equal(peer_int(db, "SELECT worker FROM stats WHERE "
	    "name = 'x'"), 0);
	assert_int_equal(peer_int(db, "SELECT worker FROM stats WHERE "
	    "name = 'y'"), 3);
	/* What was there is SMTP's (schema 6): sessions and servers. */
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions WHERE "
	    "id = 41 AND protocol = 'smtp'"), 1);
	assert_int_equal(peer_int(db, "SELECT sessions FROM servers WHERE "
	    "server_port = 25 AND protocol = 'smtp' AND starttls_offered = 5"),
	    7);
	sqlite3_close(db);
}

/*
 * A database of schema 6 (before sessions.source and the views) is
 * migrated in place: its rows are kept, with no source, and the views
 * read them; a new row names its source.
 */
static void
test_migrate_from_v6(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session a = mksession(9, T0);
	struct store	*st;
	sqlite3		*db;

	/* Schema 2, then what versions 3 to 6 added. */
	db = peer(fx);
	schema_v2(db);
	peer_exec(db, "CREATE INDEX events_kind ON events (kind);"
	    "CREATE INDEX events_session_id ON events (session_id);"
	    "CREATE INDEX events_ts ON events (ts);"
	    "CREATE INDEX sessions_start_ts ON sessions (start_ts);"
	    "CREATE INDEX sessions_server_ip ON sessions (server_ip);"
	    "CREATE INDEX stats_ts ON stats (ts);"
	    "ALTER TABLE stats ADD COLUMN worker INTEGER NOT NULL DEFAULT 0;"
	    "CREATE TABLE sensor (id INTEGER PRIMARY KEY CHECK (id = 1), "
	    "name TEXT NOT NULL);"
	    "ALTER TABLE sessions ADD COLUMN resumed INTEGER NOT NULL "
	    "DEFAULT 0;"
	    "ALTER TABLE sessions ADD COLUMN protocol TEXT NOT NULL DEFAULT "
	    "'smtp';"
	    "DROP TABLE servers;"
	    "CREATE TABLE servers (server_ip TEXT NOT NULL, server_port "
	    "INTEGER NOT NULL, first_seen TEXT, last_seen TEXT, sessions "
	    "INTEGER, starttls_offered INTEGER, starttls_accepted INTEGER, "
	    "last_offered TEXT, cert_sha256 TEXT, protocol TEXT NOT NULL "
	    "DEFAULT 'smtp', PRIMARY KEY (server_ip, server_port, protocol));"
	    "CREATE INDEX servers_last_seen ON servers (last_seen);"
	    "INSERT INTO sensor VALUES (1, 'old-tap');"
	    "INSERT INTO sessions (id, start_ts, server_ip, server_port, "
	    "outcome, protocol) VALUES "
	    "(5, '2026-01-01T00:00:00.000000Z', '192.0.2.1', 143, 'refused', "
	    "'imap'), (6, '2026-01-02T00:00:00.000000Z', '192.0.2.1', 143, "
	    "'tls', 'imap'), (7, '2026-01-03T00:00:00.000000Z', '192.0.2.1', "
	    "143, 'stripped', 'imap');"
	    "INSERT INTO events (ts, session_id, kind, severity, server_ip, "
	    "server_port) VALUES ('2026-01-01T00:00:01.000000Z', 5, "
	    "'starttls_refused', 'medium', '192.0.2.1', 143), "
	    "('2026-01-03T00:00:01.000000Z', 7, 'capability_masked', 'high', "
	    "'192.0.2.1', 143);"
	    "INSERT INTO stats VALUES ('2026-01-01T00:00:00.000000Z', "
	    "'kernel_drops', 3, 1);"
	    "PRAGMA user_version = 6");
	sqlite3_close(db);
	st = open_store(fx, 100);
	assert_true(store_next_session_id(st) == 8);
	a.source = "eth1";
	store_session(st, &a);
	assert_int_equal(store_flush(st), 0);
	store_close(st);
	db = peer(fx);
	assert_int_equal(peer_int(db, "PRAGMA user_version"),
	    STOREDB_SCHEMA_VERSION);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions WHERE "
	    "id IN (5, 6, 7) AND source IS NULL"), 3);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions WHERE "
	    "id = 9 AND source = 'eth1'"), 1);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM events"), 2);
	assert_int_equal(peer_int(db, "SELECT sum(value) FROM stats WHERE "
	    "worker = 1"), 3);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sensor WHERE "
	    "name = 'old-tap'"), 1);
	/* The views read the rows from before: sessions 5 and 7 tampered,
	 * of the server's three. */
	assert_int_equal(peer_int(db, "SELECT count(*) FROM stripped_servers "
	    "WHERE server_ip = '192.0.2.1' AND server_port = 143 AND "
	    "protocol = 'imap' AND tampered = 2 AND sessions = 3 AND "
	    "first_tampered = '2026-01-01T00:00:00.000000Z' AND "
	    "last_tampered = '2026-01-03T00:00:00.000000Z'"), 1);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM alerts WHERE "
	    "sensor = 'old-tap' AND protocol = 'imap' AND outcome = 'refused' "
	    "AND kind = 'starttls_refused'"), 1);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'sessions_server_ip'"), 0);
	sqlite3_close(db);
}

/*
 * A database of schema 7 (sessions indexed by source, no sources table)
 * is migrated in place: each source of its sessions gets its row, with
 * no times, and the index goes.
 */
static void
test_migrate_from_v7(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session a = mksession(9, T0);
	struct store	*st;
	sqlite3		*db;

	/* Schema 7 is schema 8 without its last step. */
	st = open_store(fx, 100);
	store_close(st);
	db = peer(fx);
	peer_exec(db, "DROP TABLE sources;"
	    "CREATE INDEX sessions_source ON sessions (source);"
	    "INSERT INTO sessions (id, start_ts, source) VALUES "
	    "(5, '2026-01-01T00:00:00.000000Z', 'old.pcap'), "
	    "(6, '2026-01-01T00:00:01.000000Z', 'old.pcap'), "
	    "(7, '2026-01-01T00:00:02.000000Z', 'eth0'), "
	    "(8, '2026-01-01T00:00:03.000000Z', NULL);"
	    "PRAGMA user_version = 7");
	sqlite3_close(db);
	st = open_store(fx, 100);
	assert_int_equal(store_source_seen(st, "old.pcap"), 1);
	assert_int_equal(store_source_seen(st, "eth0"), 1);
	assert_int_equal(store_source_seen(st, "new.pcap"), 0);
	a.source = "new.pcap";
	store_session(st, &a);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_source_seen(st, "new.pcap"), 1);
	store_close(st);
	db = peer(fx);
	assert_int_equal(peer_int(db, "PRAGMA user_version"),
	    STOREDB_SCHEMA_VERSION);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sources WHERE "
	    "source IN ('old.pcap', 'eth0') AND first_written IS NULL AND "
	    "last_written IS NULL"), 2);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sources"), 3);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions"), 5);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'sessions_source'"), 0);
	sqlite3_close(db);
}

/*
 * The database's view of tampering and detect.c's agree on every kind
 * and severity: an event is in the view exactly when it makes its
 * session stripped or refused. So do the outcomes.
 */
static void
test_tampering_view_matches_detect(void **state)
{
	static const char *const outcomes[] = {
		DETECT_OUTCOME_TLS, DETECT_OUTCOME_TLS_UNSEEN,
		DETECT_OUTCOME_STRIPPED, DETECT_OUTCOME_REFUSED,
		DETECT_OUTCOME_NOT_REQUESTED, DETECT_OUTCOME_NOT_OFFERED,
		DETECT_OUTCOME_INCOMPLETE,
	};
	struct fixture	*fx = *state;
	struct detect_event ev;
	struct detect_session ss;
	struct store	*st;
	sqlite3		*db;
	char		 q[160];
	uint64_t	 id;
	int		 k, sev, want;
	size_t		 i;

	st = open_store(fx, 1000);
	for (k = 0; k < DETECT_NKINDS; k++)
		for (sev = DETECT_SEV_INFO; sev <= DETECT_SEV_HIGH; sev++) {
			ev = mkevent(T0, (uint64_t)(k * 10 + sev + 1), "x");
			ev.kind = (enum detect_kind)k;
			ev.severity = (enum detect_severity)sev;
			store_event(st, &ev);
		}
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
		ss = mksession(1000 + i, T0);
		ss.outcome = outcomes[i];
		store_session(st, &ss);
	}
	assert_int_equal(store_flush(st), 0);
	store_close(st);
	db = peer(fx);
	for (k = 0; k < DETECT_NKINDS; k++)
		for (sev = DETECT_SEV_INFO; sev <= DETECT_SEV_HIGH; sev++) {
			id = (uint64_t)(k * 10 + sev + 1);
			snprintf(q, sizeof(q), "SELECT count(*) FROM tampering "
			    "WHERE session_id = %llu AND kind = '%s'",
			    (unsigned long long)id,
			    detect_kind_name((enum detect_kind)k));
			want = detect_kind_tampering((enum detect_kind)k,
			    (enum detect_severity)sev);
			if (peer_int(db, q) != want)
				fail_msg("%s %s: tampering %d in detect.c",
				    detect_kind_name((enum detect_kind)k),
				    detect_severity_name(
				    (enum detect_severity)sev), want);
		}
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
		snprintf(q, sizeof(q), "SELECT count(*) FROM tampering WHERE "
		    "session_id = %zu AND kind IS NULL", 1000 + i);
		assert_int_equal(peer_int(db, q),
		    strcmp(outcomes[i], DETECT_OUTCOME_STRIPPED) == 0 ||
		    strcmp(outcomes[i], DETECT_OUTCOME_REFUSED) == 0);
	}
	sqlite3_close(db);
}

/* Whether written rows name a source; queued ones do not count yet. */
static void
test_source_seen(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session a = mksession(1, T0), b = mksession(2, T0);
	struct store	*st;

	st = open_store(fx, 100);
	a.source = "a.pcap";
	store_session(st, &a);
	assert_int_equal(store_source_seen(st, "a.pcap"), 0);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_source_seen(st, "a.pcap"), 1);
	assert_int_equal(store_source_seen(st, "b.pcap"), 0);
	assert_int_equal(store_source_seen(st, "a.pcap'--"), 0);
	/* With the writer thread running. */
	b.source = "b.pcap";
	store_session(st, &b);
	assert_int_equal(store_flush_async(st), 0);
	assert_int_equal(store_source_seen(st, "b.pcap"), 1);
	store_close(st);
}

/*
 * The sources table: one row per source of written sessions, whatever
 * their number and however they interleave, with the wall-clock time of
 * the first and the last transaction that wrote one; a session without a
 * source adds none.
 */
static void
test_sources_table(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session s;
	struct store	*st;
	sqlite3		*db;
	char		 first[TEXT_TIME_LEN], before[TEXT_TIME_LEN];
	char		 again[TEXT_TIME_LEN];
	struct timespec	 now;
	uint64_t	 id;

	clock_gettime(CLOCK_REALTIME, &now);
	text_time((uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec /
	    1000, before, sizeof(before));
	st = open_store(fx, 100);
	for (id = 1; id <= 6; id++) {
		s = mksession(id, T0 + id);
		s.source = id == 6 ? NULL : id % 2 ? "a.pcap" : "eth1";
		store_session(st, &s);
	}
	assert_int_equal(store_flush(st), 0);
	db = peer(fx);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sources"), 2);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sources WHERE "
	    "source IN ('a.pcap', 'eth1') AND first_written = last_written"),
	    2);
	peer_text(db, "SELECT first_written FROM sources WHERE source = "
	    "'a.pcap'", first, sizeof(first));
	sqlite3_close(db);
	assert_true(strcmp(first, before) >= 0);
	/* A later transaction: the last time moves, the first stays. */
	s = mksession(7, T0 + 7);
	s.source = "a.pcap";
	store_session(st, &s);
	assert_int_equal(store_flush(st), 0);
	store_close(st);
	db = peer(fx);
	peer_text(db, "SELECT first_written FROM sources WHERE source = "
	    "'a.pcap'", again, sizeof(again));
	assert_string_equal(again, first);
	assert_int_equal(peer_int(db, "SELECT last_written > first_written "
	    "FROM sources WHERE source = 'a.pcap'"), 1);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sources"), 2);
	sqlite3_close(db);
}

/*
 * IMAP and POP3 beside SMTP: a session names its protocol, the answer to
 * STARTTLS is IMAP's or POP3's word where SMTP has a code, and one
 * address and port holds a server per protocol, each loaded back as its
 * own.
 */
static void
test_protocols(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session s = mksession(1, T0);
	struct history_server srv;
	struct store	*st;
	sqlite3		*db;
	int		 protos;

	st = open_store(fx, 100);
	s.protocol = "imap";
	s.tuple.server_port = 143;
	snprintf(s.starttls_status, sizeof(s.starttls_status), "NO");
	store_session(st, &s);
	s = mksession(2, T0);
	s.protocol = "smtp";
	s.starttls_reply = 454;
	store_session(st, &s);
	s = mksession(3, T0);		/* a row that names no protocol */
	store_session(st, &s);
	memset(&srv, 0, sizeof(srv));
	addr4(&srv.addr, "198.51.100.25");
	srv.port = 110;
	srv.first_us = srv.last_us = T0;
	srv.sessions = 2;
	srv.proto = MAIL_PROTO_POP3;
	store_server(st, &srv);
	srv.proto = MAIL_PROTO_SMTP;
	srv.sessions = 5;
	store_server(st, &srv);
	assert_int_equal(store_flush(st), 0);
	protos = store_load_servers(st, 10, count_protos, NULL);
	store_close(st);
	assert_int_equal(protos, 2);
	db = peer(fx);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions WHERE "
	    "id = 1 AND protocol = 'imap' AND starttls_reply = 'NO'"), 1);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions WHERE "
	    "id = 2 AND protocol = 'smtp' AND starttls_reply = 454"), 1);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions WHERE "
	    "id = 3 AND protocol = 'smtp' AND starttls_reply IS NULL"), 1);
	assert_int_equal(peer_int(db, "SELECT sessions FROM servers WHERE "
	    "server_port = 110 AND protocol = 'pop3'"), 2);
	assert_int_equal(peer_int(db, "SELECT sessions FROM servers WHERE "
	    "server_port = 110 AND protocol = 'smtp'"), 5);
	sqlite3_close(db);
	assert_int_equal(loaded_protos, (1 << MAIL_PROTO_POP3) |
	    (1 << MAIL_PROTO_SMTP));
}

/*
 * The sensor's name: one row, renamed in place; the same name again needs
 * no write, so it goes through while another process holds the write lock,
 * where a new name cannot.
 */
static void
test_sensor_identity(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	sqlite3		*db;
	sqlite3_stmt	*q;

	st = open_store(fx, 100);
	assert_int_equal(store_set_sensor(st, "mx-tap1"), 0);
	assert_int_equal(store_set_sensor(st, "mx-tap2"), 0);
	db = peer(fx);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sensor"), 1);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, name FROM sensor",
	    -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 1);
	assert_string_equal((const char *)sqlite3_column_text(q, 1),
	    "mx-tap2");
	sqlite3_finalize(q);
	peer_exec(db, "BEGIN IMMEDIATE");
	assert_int_equal(store_set_sensor(st, "mx-tap2"), 0);
	assert_int_equal(store_set_sensor(st, "other"), -1);
	assert_non_null(strstr(store_error(st), "sensor name"));
	peer_exec(db, "COMMIT");
	sqlite3_close(db);
	store_close(st);
}

static void
test_stats_rows(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	sqlite3		*db;
	sqlite3_stmt	*s;
	char		 longname[200];

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	st = open_store(fx, 100);
	store_stat(st, T0, "decode.truncated", -5);
	store_stat(st, 0, longname, INT64_MAX);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->stat_rows, 2);
	db = peer(fx);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT ts, name, value, "
	    "worker FROM stats ORDER BY rowid", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(s, 0),
	    "2023-11-14T22:13:20.123456Z");
	assert_string_equal(sqlite3_column_text(s, 1), "decode.truncated");
	assert_int_equal(sqlite3_column_int64(s, 2), -5);
	assert_int_equal(sqlite3_column_int(s, 3), 3);	/* cfg.worker */
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(s, 0),
	    "1970-01-01T00:00:00.000000Z");
	assert_int_equal(strlen((const char *)sqlite3_column_text(s, 1)),
	    STORE_STAT_NAME_MAX - 1);
	assert_true(sqlite3_column_int64(s, 2) == INT64_MAX);
	sqlite3_finalize(s);
	sqlite3_close(db);
	store_close(st);
}

static void
test_next_session_id(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session s;
	struct detect_event ev;
	struct store	*st;

	st = open_store(fx, 100);
	assert_int_equal(store_next_session_id(st), 1);
	s = mksession(7, T0);
	store_session(st, &s);
	assert_int_equal(store_next_session_id(st), 8);	/* queued */
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_next_session_id(st), 8);	/* written */
	/* An event of a session whose row is not written yet. */
	ev = mkevent(T0, 20, "e");
	store_event(st, &ev);
	assert_int_equal(store_next_session_id(st), 21);
	store_close(st);		/* flushes */
	st = open_store(fx, 100);
	assert_int_equal(store_next_session_id(st), 21);
	store_close(st);
}

static void
test_retention(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session s;
	struct detect_event ev;
	struct store	*st;
	sqlite3		*db;
	uint64_t	 now = T0 + 30 * DAY_US;

	st = open_store(fx, 100);
	s = mksession(1, now - 10 * DAY_US);
	store_session(st, &s);
	s = mksession(2, now - 1 * DAY_US);
	store_session(st, &s);
	ev = mkevent(now - 8 * DAY_US, 1, "old");
	store_event(st, &ev);
	ev = mkevent(now - 6 * DAY_US, 2, "new");
	store_event(st, &ev);
	store_stat(st, now - 9 * DAY_US, "old", 1);
	store_stat(st, now, "new", 2);
	assert_int_equal(store_flush(st), 0);

	assert_int_equal(store_retention(st, now, 0), 0);	/* forever */
	assert_int_equal(store_retention(st, now, UINT32_MAX), 0);
	assert_int_equal(store_retention(st, now, 11), 0);
	assert_int_equal(store_retention(st, now, 7), 3);
	db = peer(fx);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions"), 1);
	assert_int_equal(peer_int(db, "SELECT id FROM sessions"), 2);
	assert_int_equal(peer_int(db, "SELECT session_id FROM events"), 2);
	assert_int_equal(peer_int(db, "SELECT value FROM stats"), 2);
	/* Held lock: -1 with the reason, nothing deleted. */
	peer_exec(db, "BEGIN IMMEDIATE");
	assert_int_equal(store_retention(st, now, 1), -1);
	assert_non_null(strstr(store_error(st), "locked"));
	peer_exec(db, "COMMIT");
	/* Exactly at the cutoff is kept: only the 6-day-old event goes. */
	assert_int_equal(store_retention(st, now, 1), 1);
	sqlite3_close(db);
	store_close(st);
}

static void
test_close_flushes(void **state)
{
	struct fixture	*fx = *state;
	struct detect_event ev;
	struct store	*st;
	sqlite3		*db;

	st = open_store(fx, 100);
	ev = mkevent(T0, 3, "kept");
	store_event(st, &ev);
	store_close(st);
	db = peer(fx);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM events"), 1);
	sqlite3_close(db);
	store_close(NULL);
}

/* The stats values in the order they were inserted, "1,2,3". */
static void
peer_stat_values(sqlite3 *db, char *buf, size_t len)
{
	sqlite3_stmt	*s;
	const char	*v;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(value) "
	    "FROM (SELECT value FROM stats ORDER BY rowid)", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = (const char *)sqlite3_column_text(s, 0);
	snprintf(buf, len, "%s", v != NULL ? v : "");
	sqlite3_finalize(s);
}

static void
expect_sequence(char *buf, size_t len, int n)
{
	size_t	 off = 0;
	int	 i;

	buf[0] = '\0';
	for (i = 1; i <= n; i++)
		off += snprintf(buf + off, len - off, "%s%d", i > 1 ? "," : "",
		    i);
}

/* The stats table holds the values 1 .. n, in the order they came. */
static void
assert_stat_sequence(const struct fixture *fx, int n)
{
	char	 got[4096], want[4096];
	sqlite3	*db = peer(fx);

	peer_stat_values(db, got, sizeof(got));
	expect_sequence(want, sizeof(want), n);
	assert_string_equal(got, want);
	sqlite3_close(db);
}

/* Rows handed to the writer and rows queued meanwhile: all written, in
 * the order they came. */
static void
test_async_in_order(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	int		 i;

	st = open_store(fx, 1000);
	for (i = 1; i <= 300; i++) {
		store_stat(st, T0 + (uint64_t)i, "n", i);
		if (i % 7 == 0)
			assert_int_equal(store_flush_async(st), 0);
	}
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->queued, 0);
	assert_int_equal(store_get_stats(st)->stat_rows, 300);
	assert_int_equal(store_get_stats(st)->dropped, 0);
	assert_true(store_get_stats(st)->flushes >= 2);
	assert_stat_sequence(fx, 300);
	store_close(st);
}

/*
 * The writer meets a locked database: store_flush_async() reports it on a
 * later call, the rows (with those queued meanwhile) wait in order and are
 * written once the lock goes.
 */
static void
test_async_busy_retried(void **state)
{
	struct fixture	*fx = *state;
	struct timespec	 pause = { 0, 10 * 1000 * 1000 };
	struct store	*st;
	sqlite3		*db;
	char		 got[256], want[256];
	int		 i, rc = 0;

	st = open_store(fx, 100);	/* busy_timeout 50 ms */
	db = peer(fx);
	peer_exec(db, "BEGIN IMMEDIATE");
	for (i = 1; i <= 3; i++)
		store_stat(st, T0, "n", i);
	assert_int_equal(store_flush_async(st), 0);
	for (i = 4; i <= 6; i++)
		store_stat(st, T0, "n", i);
	for (i = 0; i < 500 && rc == 0; i++) {
		rc = store_flush_async(st);
		if (rc == 0)
			nanosleep(&pause, NULL);
	}
	assert_int_equal(rc, -1);
	assert_non_null(strstr(store_error(st), "locked"));
	assert_true(store_get_stats(st)->retries >= 1);
	assert_int_equal(store_get_stats(st)->queued, 6);
	assert_int_equal(store_get_stats(st)->stat_rows, 0);

	peer_exec(db, "COMMIT");
	assert_int_equal(store_flush(st), 0);
	assert_string_equal(store_error(st), "");
	assert_int_equal(store_get_stats(st)->queued, 0);
	assert_int_equal(store_get_stats(st)->dropped, 0);
	peer_stat_values(db, got, sizeof(got));
	expect_sequence(want, sizeof(want), 6);
	assert_string_equal(got, want);
	sqlite3_close(db);
	store_close(st);
}

/* wait_when_full (reading a file): a queue far smaller than the rows waits
 * for the writer instead of dropping. */
static void
test_async_wait_when_full(void **state)
{
	struct fixture	*fx = *state;
	struct store_config cfg = { .queue_memcap = 1 << 20, .queue_max = 10,
	    .busy_timeout_ms = 50, .wait_when_full = 1 };
	struct store	*st;
	int		 i;

	st = open_store_cfg(fx, &cfg);
	for (i = 1; i <= 500; i++) {
		store_stat(st, T0, "n", i);
		(void)store_flush_async(st);
	}
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->dropped, 0);
	assert_int_equal(store_get_stats(st)->stat_rows, 500);
	assert_stat_sequence(fx, 500);
	store_close(st);
}

/*
 * Retention and checkpoint asked of the writer: they run after the next
 * batch, even an empty one; a failure is reported once.
 */
static void
test_async_maintenance(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session s;
	struct store	*st;
	sqlite3		*db;
	uint64_t	 now = T0 + 30 * DAY_US;

	st = open_store(fx, 100);
	s = mksession(1, now - 10 * DAY_US);
	store_session(st, &s);
	s = mksession(2, now - 1 * DAY_US);
	store_session(st, &s);
	store_maintain(st, now, 7);
	assert_int_equal(store_flush_async(st), 0);
	assert_int_equal(store_flush(st), 0);	/* waits for the writer */
	assert_string_equal(store_maint_error(st), "");
	db = peer(fx);
	/* Written, then the 10-day-old session deleted. */
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions"), 1);
	assert_int_equal(peer_int(db, "SELECT id FROM sessions"), 2);
	assert_int_equal(store_get_stats(st)->sessions, 2);

	/* Nothing queued: the request alone wakes the writer. */
	peer_exec(db, "ALTER TABLE sessions RENAME TO sessions_away");
	store_maintain(st, now, 7);
	assert_int_equal(store_flush_async(st), 0);
	assert_int_equal(store_flush(st), 0);
	assert_non_null(strstr(store_maint_error(st), "retention: "));
	assert_string_equal(store_maint_error(st), "");	/* once */
	assert_string_equal(store_error(st), "");	/* rows were fine */
	peer_exec(db, "ALTER TABLE sessions_away RENAME TO sessions");
	sqlite3_close(db);
	store_close(st);
}

/*
 * Housekeeping asked for while the writer is busy (here: waiting for a
 * lock) is the next hand-over's, not the running one's. The run in
 * progress keeps the request it was handed (make tsan checks the two are
 * never shared unsynchronised), and the new one is carried out next.
 */
static void
test_async_maintenance_while_busy(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session s;
	struct timespec	 pause = { 0, 20 * 1000 * 1000 };
	struct store	*st;
	sqlite3		*db;
	uint64_t	 now = T0 + 30 * DAY_US;

	st = open_store(fx, 100);	/* busy_timeout 50 ms */
	s = mksession(1, now - 10 * DAY_US);
	store_session(st, &s);
	assert_int_equal(store_flush(st), 0);
	db = peer(fx);
	peer_exec(db, "BEGIN IMMEDIATE");
	s = mksession(2, now - 1 * DAY_US);
	store_session(st, &s);
	store_maintain(st, now, 0);		/* keep everything */
	assert_int_equal(store_flush_async(st), 0);
	store_maintain(st, now, 7);		/* the writer is waiting */
	nanosleep(&pause, NULL);
	peer_exec(db, "COMMIT");
	(void)store_flush(st);			/* first run done, rows in */
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions"), 2);
	assert_int_equal(store_flush_async(st), 0);	/* the second */
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions"), 1);
	assert_int_equal(peer_int(db, "SELECT id FROM sessions"), 2);
	sqlite3_close(db);
	store_close(st);
}

/*
 * The connection goes back and forth between the writer and the caller
 * (reading ids, the sensor's name, housekeeping) many times; with no
 * mutex of its own, only the hand-over orders the two (make tsan).
 */
static void
test_async_handover(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	int		 i;

	st = open_store(fx, 1000);
	for (i = 1; i <= 200; i++) {
		store_stat(st, T0 + (uint64_t)i, "n", i);
		assert_int_equal(store_flush_async(st), 0);
		switch (i % 4) {
		case 0:
			assert_true(store_next_session_id(st) >= 1);
			break;
		case 1:
			assert_int_equal(store_set_sensor(st, "s"), 0);
			break;
		case 2:
			assert_true(store_checkpoint(st) >= 0);
			break;
		default:
			store_maintain(st, T0 + (uint64_t)i, 0);
			break;
		}
	}
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->stat_rows, 200);
	assert_stat_sequence(fx, 200);
	store_close(st);
}

/* Closing with a batch in the writer's hands and rows behind it. */
static void
test_async_close(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	sqlite3		*db;
	int		 i;

	st = open_store(fx, 100);
	for (i = 1; i <= 20; i++) {
		store_stat(st, T0, "n", i);
		if (i == 10)
			(void)store_flush_async(st);
	}
	store_close(st);
	db = peer(fx);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM stats"), 20);
	assert_int_equal(peer_int(db, "SELECT sum(value) FROM stats"), 210);
	sqlite3_close(db);
}

static void
test_newer_version_refused(void **state)
{
	struct fixture	*fx = *state;
	struct store_config cfg = { .queue_memcap = 1 << 20, .queue_max = 10,
	    .busy_timeout_ms = 50 };
	char		 err[512];
	sqlite3		*db;

	db = peer(fx);
	peer_exec(db, "CREATE TABLE future (x); PRAGMA user_version = 1000");
	sqlite3_close(db);
	assert_null(store_open(fx->path, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, fx->path));
	assert_non_null(strstr(err, "newer"));
	db = peer(fx);
	assert_int_equal(peer_int(db, "PRAGMA user_version"), 1000);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'sessions'"), 0);
	/* Not even the journal mode was changed. */
	assert_int_equal(peer_int(db, "SELECT journal_mode = 'delete' FROM "
	    "pragma_journal_mode"), 1);
	sqlite3_close(db);
}

static void
test_open_errors(void **state)
{
	struct fixture	*fx = *state;
	struct store_config cfg = { .queue_memcap = 1 << 20, .queue_max = 10,
	    .busy_timeout_ms = 50 };
	char		 err[512], junk[192];
	FILE		*f;
	int		 i;

	/* No such directory. */
	assert_null(store_open("/nonexistent-stripwatch-dir/x.db", &cfg, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-stripwatch-dir/x.db"));
	assert_non_null(strstr(err, "unable to open"));
	/* A file that is not a database. */
	snprintf(junk, sizeof(junk), "%s/junk", fx->dir);
	assert_non_null(f = fopen(junk, "w"));
	for (i = 0; i < 100; i++)
		fputs("this is not a database\n", f);
	fclose(f);
	assert_null(store_open(junk, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, junk));
	assert_non_null(strstr(err, "not a database"));
}

/* The file exists and is mode 0444; open it as a user who cannot write. */
static int
open_readonly_as_nobody(const struct fixture *fx)
{
	struct store_config cfg = { .queue_memcap = 1 << 20, .queue_max = 10,
	    .busy_timeout_ms = 50 };
	char		 err[512];
	pid_t		 pid;
	int		 status;

	if ((pid = fork()) == 0) {
		if (setgroups(0, NULL) == -1 || setgid(65534) == -1 ||
		    setuid(65534) == -1)
			_exit(77);
		if (store_open(fx->path, &cfg, err, sizeof(err)) != NULL)
			_exit(1);
		if (strstr(err, fx->path) == NULL ||
		    strstr(err, "read-only") == NULL)
			_exit(2);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_readonly_file(void **state)
{
	struct fixture	*fx = *state;
	struct store_config cfg = { .queue_memcap = 1 << 20, .queue_max = 10,
	    .busy_timeout_ms = 50 };
	char		 err[512];
	int		 rc;

	store_close(open_store(fx, 10));
	assert_int_equal(chmod(fx->path, 0444), 0);
	if (geteuid() != 0) {
		assert_null(store_open(fx->path, &cfg, err, sizeof(err)));
		assert_non_null(strstr(err, fx->path));
		assert_non_null(strstr(err, "read-only"));
		return;
	}
	/* root writes through mode bits: test as an unprivileged user. */
	assert_int_equal(chmod(fx->dir, 0755), 0);
	rc = open_readonly_as_nobody(fx);
	if (rc == 77)
		skip();
	assert_int_equal(rc, 0);
}

/* ------------------------------------------------------------------ */

/* What stripwatch logs (stderr here), caught in a file of the fixture. */
static int	 saved_stderr = -1;

static void
log_catch(const struct fixture *fx)
{
	char	 p[192];
	int	 fd;

	snprintf(p, sizeof(p), "%s/log", fx->dir);
	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

/* Stop catching; the lines caught are in buf. */
static void
log_release(const struct fixture *fx, char *buf, size_t len)
{
	char	 p[192];
	FILE	*f;
	size_t	 n;

	fflush(stderr);
	assert_int_equal(dup2(saved_stderr, 2), 2);
	close(saved_stderr);
	snprintf(p, sizeof(p), "%s/log", fx->dir);
	assert_non_null(f = fopen(p, "r"));
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Lines of buf holding needle. */
static int
log_count(const char *buf, const char *needle)
{
	char		 line[1024];
	const char	*p, *eol;
	size_t		 len;
	int		 n = 0;

	for (p = buf; *p != '\0'; p = *eol != '\0' ? eol + 1 : eol) {
		if ((eol = strchr(p, '\n')) == NULL)
			eol = p + strlen(p);
		len = (size_t)(eol - p) < sizeof(line) - 1 ?
		    (size_t)(eol - p) : sizeof(line) - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		if (strstr(line, needle) != NULL)
			n++;
	}
	return n;
}

static int64_t
count_in(const char *path, const char *sql)
{
	sqlite3	*db;
	int64_t	 n;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	n = peer_int(db, sql);
	sqlite3_close(db);
	return n;
}

/*
 * Rows are compact copies: a session of an ordinary client takes a few
 * hundred bytes of the queue, not the size of struct detect_session; the
 * largest possible one still fits; written rows give their bytes back.
 */
static void
test_rows_compact(void **state)
{
	struct fixture	*fx = *state;
	struct detect_session s;
	struct store	*st;
	uint64_t	 one;

	st = open_store(fx, 100);
	s = mksession(1, T0);
	snprintf(s.helo, sizeof(s.helo), "client.example");
	snprintf(s.banner, sizeof(s.banner), "mx.example ESMTP Postfix");
	store_session(st, &s);
	one = store_get_stats(st)->queue_bytes;
	assert_true(one > 100);
	assert_true(one <= 320);
	assert_true(one < sizeof(struct detect_session) / 8);
	/* Every text at its longest. */
	s = mksession(2, T0);
	memset(s.helo, 'h', sizeof(s.helo) - 1);
	memset(s.banner, 'b', sizeof(s.banner) - 1);
	memset(s.tls_sni, 's', sizeof(s.tls_sni) - 1);
	memset(s.tls_cipher, 'c', sizeof(s.tls_cipher) - 1);
	memset(s.cert_sha256, 'f', sizeof(s.cert_sha256) - 1);
	store_session(st, &s);
	assert_true(store_get_stats(st)->queue_bytes - one > 3 *
	    sizeof(s.helo));
	assert_true(store_get_stats(st)->queue_bytes - one <= 4096 + 16);
	assert_int_equal(store_get_stats(st)->queue_bytes_peak,
	    store_get_stats(st)->queue_bytes);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->queue_bytes, 0);
	assert_int_equal(count_in(fx->path, "SELECT length(helo) + "
	    "length(banner) + length(tls_sni) FROM sessions WHERE id = 2"),
	    3 * (sizeof(s.helo) - 1));
	store_close(st);
}

/* The queue's bound in bytes: the oldest rows make room, counted. */
static void
test_queue_memcap(void **state)
{
	struct fixture	*fx = *state;
	struct store_config cfg = { .queue_memcap = 8192, .queue_max = 100000,
	    .busy_timeout_ms = 50 };
	const struct store_stats *ss;
	struct store	*st;
	int		 i;

	st = open_store_cfg(fx, &cfg);
	ss = store_get_stats(st);
	for (i = 1; i <= 300; i++)
		store_stat(st, T0, "n", i);
	assert_true(ss->queue_bytes <= 8192);
	assert_true(ss->queue_bytes_peak <= 8192);
	assert_true(ss->queued > 50);
	assert_int_equal(ss->queue_full, 300 - ss->queued);
	assert_int_equal(ss->dropped, ss->queue_full);
	assert_int_equal(store_flush(st), 0);
	/* The newest rows are the ones kept. */
	assert_int_equal(count_in(fx->path, "SELECT max(value) FROM stats"),
	    300);
	assert_int_equal(count_in(fx->path, "SELECT min(value) FROM stats"),
	    301 - (int64_t)ss->stat_rows);
	store_close(st);
}

/*
 * A database that fails is said once, not at every flush; its recovery
 * once, with how many attempts failed in between.
 */
static void
test_log_on_change(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	sqlite3		*db;
	char		 log[8192];
	int		 i;

	st = open_store(fx, 100);	/* busy_timeout 50 ms */
	db = peer(fx);
	peer_exec(db, "BEGIN IMMEDIATE");
	log_catch(fx);
	store_stat(st, T0, "n", 1);
	for (i = 0; i < 10; i++)
		assert_int_equal(store_flush(st), -1);
	peer_exec(db, "COMMIT");
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_flush(st), 0);
	log_release(fx, log, sizeof(log));
	assert_int_equal(log_count(log, "database"), 2);
	assert_int_equal(log_count(log, "database is locked (another process "
	    "holds its write lock); rows wait in memory"), 1);
	assert_int_equal(log_count(log, "writes resumed after 10 failed "
	    "attempts"), 1);
	assert_int_equal(store_get_stats(st)->retries, 10);
	sqlite3_close(db);
	store_close(st);
}

/* Closing with rows the database will not take: given up, counted. */
static void
test_close_counts_given_up(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	sqlite3		*db;
	int		 i;

	st = open_store(fx, 100);
	db = peer(fx);
	peer_exec(db, "BEGIN IMMEDIATE");
	for (i = 0; i < 5; i++)
		store_stat(st, T0, "n", i);
	assert_int_equal(store_close(st), 5);
	peer_exec(db, "COMMIT");
	sqlite3_close(db);
}

/* Another connection holds the write lock for ms, from a thread. */
struct holder {
	const char	*path;
	int		 ms;
	atomic_int	 locked;
	pthread_t	 thread;
};

static void *
hold_lock(void *arg)
{
	struct holder	*h = arg;
	struct timespec	 t = { h->ms / 1000, (h->ms % 1000) * 1000000L };
	sqlite3		*db;

	if (sqlite3_open(h->path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		abort();
	atomic_store(&h->locked, 1);
	nanosleep(&t, NULL);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return NULL;
}

static void
hold_lock_start(struct holder *h, const char *path, int ms)
{
	struct timespec	 t = { 0, 5 * 1000 * 1000 };

	h->path = path;
	h->ms = ms;
	atomic_init(&h->locked, 0);
	assert_int_equal(pthread_create(&h->thread, NULL, hold_lock, h), 0);
	while (!atomic_load(&h->locked))
		nanosleep(&t, NULL);
}

/*
 * wait_when_full (reading a file) with the write lock held far longer than
 * fail_wait_ms: the full queue waits until the lock goes; nothing is lost.
 */
static void
test_wait_full_outlasts_lock(void **state)
{
	struct fixture	*fx = *state;
	struct store_config cfg = { .queue_memcap = 1 << 20, .queue_max = 10,
	    .busy_timeout_ms = 50, .wait_when_full = 1, .fail_wait_ms = 100 };
	struct holder	 h;
	struct timespec	 t;
	struct store	*st;
	int		 i;

	st = open_store_cfg(fx, &cfg);
	clock_gettime(CLOCK_MONOTONIC, &t);
	hold_lock_start(&h, fx->path, 1200);
	for (i = 1; i <= 200; i++) {
		store_stat(st, T0, "n", i);
		if (i % 3 == 0)
			(void)store_flush_async(st);
	}
	assert_true(elapsed_ms(&t) >= 1000);
	pthread_join(h.thread, NULL);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->dropped, 0);
	assert_int_equal(store_get_stats(st)->stat_rows, 200);
	assert_true(store_get_stats(st)->retries >= 1);
	assert_stat_sequence(fx, 200);
	store_close(st);
}

/*
 * wait_when_full against a database that fails other than by a lock (a
 * table gone, as a full disk would fail every write): after fail_wait_ms
 * the oldest rows are dropped and counted, and reading goes on.
 */
static void
test_wait_full_gives_up_on_failure(void **state)
{
	struct fixture	*fx = *state;
	struct store_config cfg = { .queue_memcap = 1 << 20, .queue_max = 10,
	    .busy_timeout_ms = 50, .wait_when_full = 1, .fail_wait_ms = 300 };
	const struct store_stats *ss;
	struct timespec	 t;
	struct store	*st;
	sqlite3		*db;
	int		 i;

	st = open_store_cfg(fx, &cfg);
	ss = store_get_stats(st);
	db = peer(fx);
	peer_exec(db, "ALTER TABLE stats RENAME TO stats_away");
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (i = 1; i <= 50; i++)
		store_stat(st, T0, "n", i);
	assert_true(elapsed_ms(&t) >= 250);
	assert_true(elapsed_ms(&t) < 5000);
	assert_int_equal(ss->queue_full, 40);
	assert_int_equal(ss->dropped, 40);
	assert_int_equal(ss->queued, 10);
	peer_exec(db, "ALTER TABLE stats_away RENAME TO stats");
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(peer_int(db, "SELECT min(value) FROM stats"), 41);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM stats"), 10);
	sqlite3_close(db);
	store_close(st);
}

static volatile sig_atomic_t stop_asked;

static void
on_alarm(int sig)
{
	(void)sig;
	stop_asked = 1;
}

/*
 * A run asked to stop (a signal sets the flag stop_waiting points to)
 * while its full queue waits out a lock: it waits no more, the rows that
 * do not fit are dropped and counted, and reading can end.
 */
static void
test_wait_full_stops_on_signal(void **state)
{
	struct fixture	*fx = *state;
	struct store_config cfg = { .queue_memcap = 1 << 20, .queue_max = 10,
	    .busy_timeout_ms = 50, .wait_when_full = 1, .fail_wait_ms = 100,
	    .stop_waiting = &stop_asked };
	struct itimerval it = { { 0, 0 }, { 0, 300 * 1000 } };
	struct holder	 h;
	struct timespec	 t;
	struct store	*st;
	int		 i;

	stop_asked = 0;
	assert_true(signal(SIGALRM, on_alarm) != SIG_ERR);
	st = open_store_cfg(fx, &cfg);
	hold_lock_start(&h, fx->path, 2500);
	clock_gettime(CLOCK_MONOTONIC, &t);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	for (i = 1; i <= 30; i++)
		store_stat(st, T0, "n", i);
	assert_true(elapsed_ms(&t) >= 250);
	assert_true(elapsed_ms(&t) < 2000);
	assert_true(store_get_stats(st)->queue_full >= 20);
	pthread_join(h.thread, NULL);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->stat_rows +
	    store_get_stats(st)->queue_full, 30);
	store_close(st);
	signal(SIGALRM, SIG_DFL);
}

/*
 * The database file deleted under the store: the next flush notices,
 * opens the path anew, and the rows queued since reach the new file.
 */
static void
test_reopen_deleted(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	char		 log[4096], got[64];
	sqlite3		*db;
	int		 i;

	st = open_store(fx, 100);
	for (i = 1; i <= 3; i++)
		store_stat(st, T0, "n", i);
	assert_int_equal(store_flush_async(st), 0);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(unlink(fx->path), 0);
	for (i = 4; i <= 5; i++)
		store_stat(st, T0, "n", i);
	log_catch(fx);
	assert_int_equal(store_flush_async(st), 0);
	assert_int_equal(store_flush(st), 0);
	log_release(fx, log, sizeof(log));
	assert_int_equal(store_get_stats(st)->reopened, 1);
	assert_int_equal(log_count(log, "the file was moved or deleted; "
	    "opened the path anew"), 1);
	db = peer(fx);
	peer_stat_values(db, got, sizeof(got));
	assert_string_equal(got, "4,5");
	sqlite3_close(db);
	/* The same store goes on writing there. */
	store_stat(st, T0, "n", 6);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(count_in(fx->path, "SELECT count(*) FROM stats"), 3);
	assert_int_equal(store_get_stats(st)->stat_rows, 6);
	store_close(st);
}

/*
 * logrotate: the file renamed, then store_reopen() (SIGHUP), with rows
 * queued before and after. The old file and the new one together hold
 * every row exactly once; the old file is whole (its WAL went into it).
 */
static void
test_reopen_renamed(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	char		 old[192], a[4096], b[4096], want[4096];
	sqlite3		*db;
	int		 i;

	snprintf(old, sizeof(old), "%s.1", fx->path);
	st = open_store(fx, 100);
	for (i = 1; i <= 30; i++) {
		store_stat(st, T0, "n", i);
		if (i == 10)
			(void)store_flush_async(st);
		if (i == 20) {
			(void)store_flush(st);
			assert_int_equal(rename(fx->path, old), 0);
			store_reopen(st);
		}
	}
	assert_int_equal(store_flush_async(st), 0);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->reopened, 1);
	store_close(st);
	assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
	peer_stat_values(db, a, sizeof(a));
	sqlite3_close(db);
	db = peer(fx);
	peer_stat_values(db, b, sizeof(b));
	sqlite3_close(db);
	expect_sequence(want, sizeof(want), 20);
	assert_string_equal(a, want);
	assert_string_equal(b, "21,22,23,24,25,26,27,28,29,30");
}

/*
 * Renamed while another process reads the old file (a read transaction
 * open): the old WAL cannot all go into it yet, so the store keeps the old
 * connection and its rows go on to the old file; once the reader is done,
 * the next flush opens the path anew. Every row is in one file, once.
 */
static void
test_reopen_reader_in_old_file(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	char		 old[192], log[4096];
	sqlite3		*db;

	snprintf(old, sizeof(old), "%s.1", fx->path);
	st = open_store(fx, 100);
	store_stat(st, T0, "n", 1);
	assert_int_equal(store_flush(st), 0);
	db = peer(fx);			/* the reader, in the old file */
	peer_exec(db, "BEGIN");
	assert_int_equal(peer_int(db, "SELECT count(*) FROM stats"), 1);
	assert_int_equal(rename(fx->path, old), 0);
	store_stat(st, T0, "n", 2);
	log_catch(fx);
	assert_int_equal(store_flush(st), 0);
	store_stat(st, T0, "n", 3);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->reopened, 0);
	peer_exec(db, "COMMIT");
	sqlite3_close(db);
	store_stat(st, T0, "n", 4);
	assert_int_equal(store_flush(st), 0);
	log_release(fx, log, sizeof(log));
	assert_int_equal(store_get_stats(st)->reopened, 1);
	assert_int_equal(log_count(log, "another connection is reading the "
	    "old file: rows go on to the old file"), 1);
	assert_int_equal(log_count(log, "opened the path anew"), 1);
	store_close(st);
	assert_int_equal(count_in(old, "SELECT group_concat(value, '') FROM "
	    "stats"), 123);
	assert_int_equal(count_in(fx->path, "SELECT group_concat(value, '') "
	    "FROM stats"), 4);
}

/*
 * A -wal file at the path with no database beside it, and not the one
 * the store had open: it belongs to a file moved away and still open
 * elsewhere, and a new database there would take its pages for its own.
 * The store does not open until it is gone; the rows wait meanwhile.
 */
static void
test_reopen_refuses_foreign_wal(void **state)
{
	struct fixture	*fx = *state;
	struct store	*st;
	char		 wal[192], log[4096];
	FILE		*f;

	snprintf(wal, sizeof(wal), "%s-wal", fx->path);
	st = open_store(fx, 100);
	store_stat(st, T0, "n", 1);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(unlink(fx->path), 0);
	assert_int_equal(unlink(wal), 0);
	assert_non_null(f = fopen(wal, "w"));	/* someone else's */
	fputs("not ours", f);
	fclose(f);
	store_stat(st, T0, "n", 2);
	log_catch(fx);
	assert_int_equal(store_flush(st), -1);
	assert_int_equal(store_flush(st), -1);
	assert_non_null(strstr(store_error(st), "cannot open anew"));
	assert_int_equal(access(fx->path, F_OK), -1);
	assert_int_equal(unlink(wal), 0);
	assert_int_equal(store_flush(st), 0);
	log_release(fx, log, sizeof(log));
	assert_int_equal(log_count(log, "cannot open anew"), 1);
	assert_int_equal(log_count(log, "writes resumed after 2 failed"), 1);
	assert_int_equal(count_in(fx->path, "SELECT value FROM stats"), 2);
	store_close(st);
}

/*
 * A reader that keeps a read transaction open: checkpoints cannot reset
 * the WAL, which grows past wal_warn, and the log says why. Once the
 * reader is gone, the next checkpoint truncates the -wal file to nothing.
 */
static void
test_wal_reader(void **state)
{
	struct fixture	*fx = *state;
	struct store_config cfg = { .queue_memcap = 1 << 22, .queue_max = 10000,
	    .busy_timeout_ms = 50, .wal_warn = 16384 };
	struct detect_session s;
	struct store	*st;
	struct stat	 sb;
	char		 wal[192], log[4096];
	sqlite3		*db;
	int		 i;

	snprintf(wal, sizeof(wal), "%s-wal", fx->path);
	st = open_store_cfg(fx, &cfg);
	db = peer(fx);
	peer_exec(db, "BEGIN");
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions"), 0);
	for (i = 1; i <= 500; i++) {
		s = mksession((uint64_t)i, T0);
		memset(s.banner, 'b', 200);
		store_session(st, &s);
	}
	log_catch(fx);
	store_maintain(st, T0, 0);
	assert_int_equal(store_flush_async(st), 0);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_checkpoint(st), 1);
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size > 16384);
	assert_true(store_get_stats(st)->wal_bytes > 16384);
	peer_exec(db, "COMMIT");
	store_maintain(st, T0, 0);
	assert_int_equal(store_flush_async(st), 0);
	assert_int_equal(store_flush(st), 0);
	log_release(fx, log, sizeof(log));
	assert_int_equal(log_count(log, "a reader that does not finish"), 1);
	assert_int_equal(log_count(log, "write-ahead log back to 0 KiB"), 1);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(store_get_stats(st)->wal_bytes, 0);
	assert_int_equal(peer_int(db, "SELECT count(*) FROM sessions"), 500);
	sqlite3_close(db);
	store_close(st);
}

/* A reload: new limits apply to the store as it is, counters go on. */
static void
test_set_config(void **state)
{
	struct fixture	*fx = *state;
	struct store_config cfg = { .queue_memcap = 1 << 20, .queue_max = 100,
	    .busy_timeout_ms = 50, .worker = 3 };
	struct store	*st;
	int		 i;

	st = open_store_cfg(fx, &cfg);
	store_stat(st, T0, "n", 0);
	assert_int_equal(store_flush(st), 0);
	cfg.queue_max = 4;
	cfg.worker = 9;		/* stays: the process is the same */
	store_set_config(st, &cfg);
	for (i = 1; i <= 6; i++)
		store_stat(st, T0, "n", i);
	assert_int_equal(store_get_stats(st)->queue_full, 2);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->stat_rows, 5);
	assert_int_equal(count_in(fx->path, "SELECT count(*) FROM stats "
	    "WHERE worker = 3"), 5);
	store_close(st);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_schema),
		T(test_wal_mode),
		T(test_session_roundtrip),
		T(test_event_roundtrip),
		T(test_busy_keeps_queue),
		T(test_write_error_keeps_queue),
		T(test_duplicate_id_rejected),
		T(test_resumed_row_merges),
		T(test_queue_overflow),
		T(test_migrate_from_v2),
		T(test_migrate_from_v6),
		T(test_migrate_from_v7),
		T(test_tampering_view_matches_detect),
		T(test_source_seen),
		T(test_sources_table),
		T(test_protocols),
		T(test_sensor_identity),
		T(test_stats_rows),
		T(test_next_session_id),
		T(test_retention),
		T(test_close_flushes),
		T(test_async_in_order),
		T(test_async_busy_retried),
		T(test_async_wait_when_full),
		T(test_async_maintenance),
		T(test_async_maintenance_while_busy),
		T(test_async_handover),
		T(test_async_close),
		T(test_newer_version_refused),
		T(test_open_errors),
		T(test_readonly_file),
		T(test_rows_compact),
		T(test_queue_memcap),
		T(test_log_on_change),
		T(test_close_counts_given_up),
		T(test_wait_full_outlasts_lock),
		T(test_wait_full_gives_up_on_failure),
		T(test_wait_full_stops_on_signal),
		T(test_reopen_deleted),
		T(test_reopen_renamed),
		T(test_reopen_reader_in_old_file),
		T(test_reopen_refuses_foreign_wal),
		T(test_wal_reader),
		T(test_set_config),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
