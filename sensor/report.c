/*
 * report.c: stripwatch report: opens the databases read-only (one per
 * sensor, or several of one sensor: a name is a sensor), checks that each
 * is a stripwatch database of this schema, and reads what is stripped
 * since when, per server and per kind, the share of each outcome and the
 * signs of capture loss, built on the database's views so that the
 * report and an operator's queries agree on what tampering is.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "detect.h"
#include "log.h"
#include "report.h"
#include "sensor.h"
#include "storedb.h"
#include "text.h"

/* What one statement may be: a few hundred bytes per database. */
#define REPORT_SQL_MAX		16384

/* A reader waits this long for a writer's lock (WAL: only at recovery). */
#define REPORT_BUSY_MS		5000

/*
 * The oldest schema whose tables and views the report reads (7: the
 * views and sessions.source; 8 only added the sources table).
 */
#define REPORT_SCHEMA_MIN	7

/* Largest relative --since: 100 years. */
#define REPORT_SINCE_MAX_S	(100LL * 366 * 86400)

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: stripwatch report [-d db] ... [--since time] [--json]\n"
	    "  -d, --db PATH  database, read-only; repeatable: the databases\n"
	    "                 of several sensors, reported per sensor name\n"
	    "                 (default %s when it exists, else\n"
	    "                 %s)\n"
	    "  --since TIME   sessions since TIME: 2026-11-28, "
	    "2026-11-28T19:38[:31][Z],\n"
	    "                 or ago: 90m, 24h, 7d, 2w\n"
	    "  --json         one JSON document (doc/stripwatch-report."
	    "schema.json)\n"
	    "  -h, --help     this help\n", SENSOR_DB_OFFLINE, SENSOR_DB_LIVE);
}

static void	 report_err(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

static void
report_err(const char *fmt, ...)
{
	va_list	 ap;

	fputs("stripwatch report: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------ lists */

/* A new zeroed element at the end of l; exits without memory. */
static void *
list_add(struct report_list *l, size_t size)
{
	void	*v;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 16 : 2 * l->cap;
		if ((v = reallocarray(l->v, l->cap, size)) == NULL)
			fatal("report");
		l->v = v;
	}
	v = (char *)l->v + l->n++ * size;
	memset(v, 0, size);
	return v;
}

static void
list_free(struct report_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------- time */

static int
parse_relative(const char *s, time_t now, time_t *t)
{
	static const struct { char unit; long long s; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 7 * 86400 },
	};
	char		*end;
	long long	 n;
	size_t		 i;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end == s || *s < '0' || *s > '9' || errno != 0 ||
	    end[0] == '\0' || end[1] != '\0')
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (units[i].unit == end[0]) {
			if (n > REPORT_SINCE_MAX_S / units[i].s)
				return -1;
			*t = now - (time_t)(n * units[i].s);
			return 0;
		}
	return -1;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.ffffff]]][Z], UTC; -1 if not that or no
 * such time (timegm() would roll 02-30 over). */
static int
parse_iso(const char *s, uint64_t *us)
{
	struct tm	 tm, back;
	unsigned	 frac = 0;
	int		 n = 0, m = 0, digits;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &n) != 3 || n != 10)
		return -1;
	if ((s[n] == 'T' || s[n] == ' ') && sscanf(s + n + 1,
	    "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) == 2 && m == 5) {
		n += 1 + m;
		if (s[n] == ':' && sscanf(s + n + 1, "%2d%n", &tm.tm_sec,
		    &m) == 1 && m == 2)
			n += 1 + m;
		if (s[n] == '.' && sscanf(s + n + 1, "%6u%n", &frac, &m) ==
		    1 && m >= 1) {
			for (digits = m; digits < 6; digits++)
				frac *= 10;
			n += 1 + m;
		}
	}
	if (s[n] == 'Z')
		n++;
	if (s[n] != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	if ((t = timegm(&tm)) == (time_t)-1 || t < 0 ||
	    tm.tm_mday != back.tm_mday || tm.tm_mon != back.tm_mon ||
	    tm.tm_hour != back.tm_hour || tm.tm_min != back.tm_min ||
	    tm.tm_sec != back.tm_sec)
		return -1;
	*us = (uint64_t)t * 1000000 + frac;
	return 0;
}

/* --since TIME as the database writes times; -1 if it is neither. */
static int
report_since(const char *s, uint64_t now_us, char *out, size_t len)
{
	time_t		 t;
	uint64_t	 us;

	if (parse_relative(s, (time_t)(now_us / 1000000), &t) == 0) {
		if (t < 0)
			t = 0;
		us = (uint64_t)t * 1000000 + now_us % 1000000;
	} else if (parse_iso(s, &us) == -1)
		return -1;
	text_time(us, out, len);
	return 0;
}

/* ---------------------------------------------------------- opening */

/* path as a URI that opens it read-only (RFC 3986 escapes). */
static void
uri_of(const char *path, int immutable, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		 o = 0;
	unsigned char	 c;

	o = (size_t)snprintf(out, len, "file:");
	for (; *path != '\0' && o + 4 < len; path++) {
		c = (unsigned char)*path;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("/-._~", c) != NULL)
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	snprintf(out + o, len - o, "?mode=ro%s", immutable ?
	    "&immutable=1" : "");
}

/* Attach path as d<i>, read-only: SQLite's result code. */
static int
attach(sqlite3 *db, const char *path, int i, int immutable)
{
	sqlite3_stmt	*s;
	char		 sql[64], uri[3 * PATH_MAX + 64];
	int		 rc;

	uri_of(path, immutable, uri, sizeof(uri));
	snprintf(sql, sizeof(sql), "ATTACH ? AS d%d", i);
	if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, uri, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* One integer from sql; SQLite's result code (SQLITE_ROW: *v is set). */
static int
query_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc;
}

/*
 * Whether d<i> is a stripwatch database this version reads: SQLITE_OK,
 * or another code with the reason in why.
 */
static int
check_schema(sqlite3 *db, int i, char *why, size_t len)
{
	char		 sql[160];
	int64_t		 v = 0, tables = 0;
	int		 rc;

	snprintf(sql, sizeof(sql), "PRAGMA d%d.user_version", i);
	if ((rc = query_int(db, sql, &v)) == SQLITE_ROW) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
		    "d%d.sqlite_master WHERE type = 'table' AND name IN "
		    "('sessions', 'events', 'stats', 'sensor')", i);
		rc = query_int(db, sql, &tables);
	}
	if (rc != SQLITE_ROW)
		snprintf(why, len, "%s", sqlite3_errmsg(db));
	else if (v > STOREDB_SCHEMA_VERSION)
		snprintf(why, len, "schema version %lld is newer than this "
		    "stripwatch reads (%d): upgrade stripwatch", (long long)v,
		    STOREDB_SCHEMA_VERSION);
	else if (tables != 4 || v <= 0)
		snprintf(why, len, "not a stripwatch database");
	else if (v < REPORT_SCHEMA_MIN)
		snprintf(why, len, "schema version %lld is older than this "
		    "stripwatch reads (%d): a sensor of this version migrates "
		    "it when it opens it", (long long)v, REPORT_SCHEMA_MIN);
	else
		return SQLITE_OK;
	return rc == SQLITE_ROW ? SQLITE_ERROR : rc;
}

/* Attach path as d<i> and check it: SQLite's result code, why if not OK. */
static int
attach_checked(sqlite3 *db, const char *path, int i, int immutable,
    char *why, size_t len)
{
	int	 rc;

	if ((rc = attach(db, path, i, immutable)) != SQLITE_OK) {
		snprintf(why, len, "%s", sqlite3_errmsg(db));
		return rc;
	}
	return check_schema(db, i, why, len);
}

/*
 * Attach and check paths[i]. A database in WAL mode needs its -shm: when
 * neither it nor the file's directory can be written and no -wal is there
 * (no sensor writes it), it is read as it is (immutable).
 */
static int
open_one(sqlite3 *db, const char *path, int i)
{
	struct stat	 sb;
	char		 wal[PATH_MAX + 8], sql[32], why[256];
	int		 rc;

	if (stat(path, &sb) == -1) {
		report_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		report_err("%s: not a regular file", path);
		return -1;
	}
	rc = attach_checked(db, path, i, 0, why, sizeof(why)) & 0xff;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if ((rc == SQLITE_READONLY || rc == SQLITE_CANTOPEN) &&
	    access(wal, F_OK) == -1) {
		snprintf(sql, sizeof(sql), "DETACH d%d", i);
		sqlite3_exec(db, sql, NULL, NULL, NULL);
		rc = attach_checked(db, path, i, 1, why, sizeof(why));
	}
	if (rc == SQLITE_OK)
		return 0;
	report_err("%s: %s", path, why);
	return -1;
}

/* The same file given twice would count its sessions twice. */
static int
same_file_twice(char *const paths[], size_t n)
{
	struct stat	 a, b;
	size_t		 i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (stat(paths[i], &a) == 0 && stat(paths[j], &b) == 0 &&
			    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
				report_err("%s and %s are the same database",
				    paths[i], paths[j]);
				return 1;
			}
	return 0;
}

static sqlite3 *
report_open(char *const paths[], size_t n)
{
	sqlite3	*db;
	size_t	 i;

	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_URI, NULL) != SQLITE_OK)
		fatalx("sqlite: %s", sqlite3_errmsg(db));
	if (n > (size_t)sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, -1)) {
		report_err("%zu databases: SQLite reads %d at once", n,
		    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, -1));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, REPORT_BUSY_MS);
	for (i = 0; i < n; i++)
		if (open_one(db, paths[i], (int)i) == -1) {
			sqlite3_close(db);
			return NULL;
		}
	return db;
}

/* ---------------------------------------------------------- reading */

/* A statement under construction (REPORT_SQL_MAX: more is a bug). */
struct sqlbuf {
	char		 s[REPORT_SQL_MAX];
	size_t		 n;
};

static void	 sql_add(struct sqlbuf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
sql_add(struct sqlbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->s) - b->n)
		fatalx("report: statement longer than %d bytes",
		    REPORT_SQL_MAX);
	b->n += (size_t)n;
}

static struct sqlbuf *
sql_new(void)
{
	struct sqlbuf	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		fatal("report");
	return b;
}

/*
 * One arm per database of the sensor, joined by sep: tmpl with every '@'
 * replaced by the database's number (its schema is d@).
 */
static void
sql_arms(struct sqlbuf *b, const struct report_sensor *s, const char *sep,
    const char *tmpl)
{
	const char	*p;
	size_t		 k;

	for (k = 0; k < s->dbs.n; k++) {
		if (k > 0)
			sql_add(b, "%s", sep);
		for (p = tmpl; *p != '\0'; p++)
			if (*p == '@')
				sql_add(b, "%d", *REPORT_AT(&s->dbs, int, k));
			else
				sql_add(b, "%c", *p);
	}
}

/* The text of column i, cut to len - 1 bytes; "" for NULL. */
static void
col_text(sqlite3_stmt *s, int i, char *out, size_t len)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(out, len, "%s", t != NULL ? (const char *)t : "");
}

/* A count: a negative one (not written by stripwatch) reads 0. */
static uint64_t
col_count(sqlite3_stmt *s, int i)
{
	int64_t	 v = sqlite3_column_int64(s, i);

	return v > 0 ? (uint64_t)v : 0;
}

/* Run b (?1 is since, when set), calling row() for each row. */
static int
run(sqlite3 *db, const struct sqlbuf *b, const char *since,
    void (*row)(sqlite3_stmt *, void *), void *arg)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((rc = sqlite3_prepare_v2(db, b->s, -1, &s, NULL)) == SQLITE_OK) {
		if (since[0] != '\0')
			sqlite3_bind_text(s, 1, since, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			row(s, arg);
		sqlite3_finalize(s);
	}
	if (rc != SQLITE_DONE) {
		report_err("%s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* run(), then b freed and the rows in l sorted by cmp. */
static int
run_sorted(sqlite3 *db, struct sqlbuf *b, const char *since,
    void (*row)(sqlite3_stmt *, void *), void *arg, struct report_list *l,
    size_t size, int (*cmp)(const void *, const void *))
{
	int	 rc = run(db, b, since, row, arg);

	free(b);
	if (l->n > 0)
		qsort(l->v, l->n, size, cmp);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "b,a,b" as "a,b" in out: the kinds of a server, sorted, once each. */
static void
sorted_kinds(const char *list, char *out, size_t len)
{
	char	 copy[REPORT_KINDS_MAX], *v[REPORT_KINDS_MAX / 2], *p, *save;
	size_t	 n = 0, i, used = 0;

	snprintf(copy, sizeof(copy), "%s", list);
	for (p = strtok_r(copy, ",", &save); p != NULL && n < sizeof(v) /
	    sizeof(v[0]); p = strtok_r(NULL, ",", &save))
		v[n++] = p;
	qsort(v, n, sizeof(v[0]), cmp_str);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		if ((i == 0 || strcmp(v[i], v[i - 1]) != 0) && used < len)
			used += (size_t)snprintf(out + used, len - used, "%s%s",
			    used > 0 ? "," : "", v[i]);
}

static void
server_row(sqlite3_stmt *s, void *arg)
{
	struct report_server *v = list_add(arg, sizeof(*v));
	char		 kinds[REPORT_KINDS_MAX];
	uint64_t	 open;

	col_text(s, 0, v->ip, sizeof(v->ip));
	v->port = sqlite3_column_int64(s, 1);
	col_text(s, 2, v->proto, sizeof(v->proto));
	col_text(s, 3, v->first, sizeof(v->first));
	col_text(s, 4, v->last, sizeof(v->last));
	v->tampered = col_count(s, 5);
	open = col_count(s, 6);
	col_text(s, 7, kinds, sizeof(kinds));
	sorted_kinds(kinds, v->kinds, sizeof(v->kinds));
	v->sessions = col_count(s, 8) + open;
}

/* Most tampered first, then the latest, then by name. */
static int
cmp_server(const void *pa, const void *pb)
{
	const struct report_server *a = pa, *b = pb;
	int	 c;

	if (a->tampered != b->tampered)
		return a->tampered > b->tampered ? -1 : 1;
	if ((c = strcmp(b->last, a->last)) != 0 ||
	    (c = strcmp(a->ip, b->ip)) != 0)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return strcmp(a->proto, b->proto);
}

/*
 * Servers with tampering (view tampering, as stripped_servers reads it),
 * with the sessions each had in the same time: its sessions rows, and
 * tampered sessions still open.
 */
static int
read_servers(sqlite3 *db, const struct report *r, struct report_sensor *s)
{
	struct sqlbuf	*b = sql_new();
	char		 count[256];

	sql_add(b, "SELECT server_ip, server_port, protocol, min(start_ts), "
	    "max(start_ts), count(DISTINCT db || '/' || session_id), "
	    "count(DISTINCT CASE WHEN outcome IS NULL THEN db || '/' || "
	    "session_id END), group_concat(DISTINCT kind), ");
	snprintf(count, sizeof(count), "(SELECT count(*) FROM d@.sessions AS "
	    "s WHERE s.server_ip = t.server_ip AND s.server_port = "
	    "t.server_port AND s.protocol = t.protocol%s)",
	    r->since[0] != '\0' ? " AND s.start_ts >= ?1" : "");
	sql_arms(b, s, " + ", count);
	sql_add(b, " FROM (");
	sql_arms(b, s, " UNION ALL ", "SELECT @ AS db, * FROM d@.tampering");
	sql_add(b, ") AS t%s GROUP BY server_ip, server_port, protocol",
	    r->since[0] != '\0' ? " WHERE start_ts >= ?1" : "");
	return run_sorted(db, b, r->since, server_row, &s->servers,
	    &s->servers, sizeof(struct report_server), cmp_server);
}

static void
kind_row(sqlite3_stmt *s, void *arg)
{
	struct report_kind *v = list_add(arg, sizeof(*v));

	col_text(s, 0, v->name, sizeof(v->name));
	v->sessions = col_count(s, 1);
	v->servers = col_count(s, 2);
	col_text(s, 3, v->first, sizeof(v->first));
	col_text(s, 4, v->last, sizeof(v->last));
}

static int
cmp_kind(const void *pa, const void *pb)
{
	const struct report_kind *a = pa, *b = pb;

	if (a->sessions != b->sessions)
		return a->sessions > b->sessions ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Each tampering kind: in how many sessions, at how many servers. */
static int
read_kinds(sqlite3 *db, const struct report *r, struct report_sensor *s)
{
	struct sqlbuf	*b = sql_new();

	sql_add(b, "SELECT kind, count(DISTINCT db || '/' || session_id), "
	    "count(DISTINCT server_ip || ' ' || server_port || ' ' || "
	    "protocol), min(start_ts), max(start_ts) FROM (");
	sql_arms(b, s, " UNION ALL ", "SELECT @ AS db, * FROM d@.tampering");
	sql_add(b, ") WHERE kind IS NOT NULL%s GROUP BY kind",
	    r->since[0] != '\0' ? " AND start_ts >= ?1" : "");
	return run_sorted(db, b, r->since, kind_row, &s->kinds, &s->kinds,
	    sizeof(struct report_kind), cmp_kind);
}

static void
outcome_row(sqlite3_stmt *st, void *arg)
{
	struct report_sensor *s = arg;
	struct report_outcome *v = list_add(&s->outcomes, sizeof(*v));
	char		 t[REPORT_TS_MAX];

	col_text(st, 0, v->name, sizeof(v->name));
	v->sessions = col_count(st, 1);
	s->sessions += v->sessions;
	col_text(st, 2, t, sizeof(t));
	if (t[0] != '\0' && (s->first[0] == '\0' || strcmp(t, s->first) < 0))
		memcpy(s->first, t, sizeof(t));
	col_text(st, 3, t, sizeof(t));
	if (strcmp(t, s->last) > 0)
		memcpy(s->last, t, sizeof(t));
	s->loss.gaps += col_count(st, 4);
	s->loss.gap_sessions += col_count(st, 5);
}

/* Where an outcome goes in the table: detect.h's order, then by name. */
static int
cmp_outcome(const void *pa, const void *pb)
{
	const struct report_outcome *a = pa, *b = pb;
	size_t	 ra = detect_outcome_index(a->name);
	size_t	 rb = detect_outcome_index(b->name);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Sessions per outcome, their span, and the gaps in them. */
static int
read_outcomes(sqlite3 *db, const struct report *r, struct report_sensor *s)
{
	struct sqlbuf	*b = sql_new();

	sql_add(b, "SELECT outcome, count(*), min(start_ts), max(start_ts), "
	    "sum(gaps), sum(gaps > 0) FROM (");
	sql_arms(b, s, " UNION ALL ",
	    "SELECT outcome, start_ts, gaps FROM d@.sessions");
	sql_add(b, ")%s GROUP BY outcome",
	    r->since[0] != '\0' ? " WHERE start_ts >= ?1" : "");
	return run_sorted(db, b, r->since, outcome_row, s, &s->outcomes,
	    sizeof(struct report_outcome), cmp_outcome);
}

static void
drops_row(sqlite3_stmt *st, void *arg)
{
	struct report_loss *l = arg;
	const unsigned char *name = sqlite3_column_text(st, 0);

	if (name == NULL)
		return;
	if (strcmp((const char *)name, "kernel_drops") == 0)
		l->kernel_drops = col_count(st, 1);
	else if (strcmp((const char *)name, "if_drops") == 0)
		l->if_drops = col_count(st, 1);
	l->have_stats = 1;
}

static void
ack_row(sqlite3_stmt *st, void *arg)
{
	struct report_loss *l = arg;

	l->ack_unseen_bytes = col_count(st, 0);
	if (col_count(st, 1) > 0)
		l->have_stats = 1;
}

/*
 * The drops counted per interval, summed; ack_unseen_bytes is a running
 * total per capture process, which starts again from 0 when the sensor
 * does: what each row added to the one before (all of it after a
 * restart, where the total went down), summed.
 */
static int
read_loss(sqlite3 *db, const struct report *r, struct report_sensor *s)
{
	const char	*ts = r->since[0] != '\0' ? " WHERE ts >= ?1" : "";
	struct sqlbuf	*b = sql_new();
	int		 rc;

	sql_add(b, "SELECT name, sum(value), count(*) FROM (");
	sql_arms(b, s, " UNION ALL ", "SELECT name, ts, value FROM d@.stats "
	    "WHERE name IN ('kernel_drops', 'if_drops')");
	sql_add(b, ")%s GROUP BY name", ts);
	rc = run(db, b, r->since, drops_row, &s->loss);
	b->n = 0;
	sql_add(b, "SELECT sum(CASE WHEN prev IS NULL OR value < prev THEN "
	    "value ELSE value - prev END), count(*) FROM (");
	sql_arms(b, s, " UNION ALL ", "SELECT ts, value, lag(value) OVER "
	    "(PARTITION BY worker ORDER BY ts) AS prev FROM d@.stats WHERE "
	    "name = 'ack_unseen_bytes'");
	sql_add(b, ")%s", ts);
	if (rc == 0)
		rc = run(db, b, r->since, ack_row, &s->loss);
	free(b);
	return rc;
}

/* The sensor that wrote d<i>: its name, else the file's path. */
static void
sensor_name(sqlite3 *db, int i, const char *path, char *out, size_t len)
{
	sqlite3_stmt	*s;
	char		 sql[64];

	snprintf(sql, sizeof(sql), "SELECT name FROM d%d.sensor WHERE id = 1",
	    i);
	out[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			col_text(s, 0, out, len);
		sqlite3_finalize(s);
	}
	if (out[0] == '\0')
		snprintf(out, len, "%s", path);
}

/* The databases grouped by the sensor that wrote them, in -d order. */
static void
group_sensors(sqlite3 *db, struct report *r)
{
	struct report_sensor *s;
	char		 name[REPORT_NAME_MAX];
	size_t		 i, k;

	for (i = 0; i < r->npaths; i++) {
		sensor_name(db, (int)i, r->paths[i], name, sizeof(name));
		for (k = 0, s = NULL; k < r->sensors.n && s == NULL; k++)
			if (strcmp(REPORT_AT(&r->sensors, struct report_sensor,
			    k)->name, name) == 0)
				s = REPORT_AT(&r->sensors, struct report_sensor,
				    k);
		if (s == NULL) {
			s = list_add(&r->sensors, sizeof(*s));
			memcpy(s->name, name, sizeof(name));
		}
		*(int *)list_add(&s->dbs, sizeof(int)) = (int)i;
	}
}

/* Everything, in one read transaction: one moment of each database. */
static int
report_read(sqlite3 *db, struct report *r)
{
	struct report_sensor *s;
	size_t		 k;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		report_err("%s", sqlite3_errmsg(db));
		return -1;
	}
	group_sensors(db, r);
	for (k = 0; k < r->sensors.n; k++) {
		s = REPORT_AT(&r->sensors, struct report_sensor, k);
		if (read_outcomes(db, r, s) == -1 ||
		    read_servers(db, r, s) == -1 ||
		    read_kinds(db, r, s) == -1 || read_loss(db, r, s) == -1)
			return -1;
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return 0;
}

static void
report_free(struct report *r)
{
	struct report_sensor *s;
	size_t		 k;

	for (k = 0; k < r->sensors.n; k++) {
		s = REPORT_AT(&r->sensors, struct report_sensor, k);
		list_free(&s->dbs);
		list_free(&s->servers);
		list_free(&s->kinds);
		list_free(&s->outcomes);
	}
	list_free(&r->sensors);
}

/* ---------------------------------------------------------- options */

/* Most -d options; SQLite reads fewer at once (SQLITE_LIMIT_ATTACHED). */
#define REPORT_PATHS_MAX	128

struct report_options {
	char		*paths[REPORT_PATHS_MAX];
	size_t		 npaths;
	const char	*since;
	int		 json;
};

/* -1 to go on, else an exit status. */
static int
report_options(int argc, char *argv[], struct report_options *o)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	while ((ch = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (o->npaths == REPORT_PATHS_MAX) {
				report_err("-d given more than %d times",
				    REPORT_PATHS_MAX);
				return 2;
			}
			o->paths[o->npaths++] = optarg;
			break;
		case 's':
			if (o->since != NULL) {
				report_err("--since given twice");
				return 2;
			}
			o->since = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		report_err("unexpected argument \"%s\"", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

static uint64_t
wall_us(void)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000ULL + (uint64_t)tv.tv_usec;
}

int
report_main(int argc, char *argv[])
{
	static struct report_options o;
	static char	 deflt[] = SENSOR_DB_OFFLINE, live[] = SENSOR_DB_LIVE;
	struct report	 r;
	sqlite3		*db;
	uint64_t	 now = wall_us();
	int		 rc;

	log_init(0, 0, "stripwatch report");
	if ((rc = report_options(argc, argv, &o)) >= 0)
		return rc;
	memset(&r, 0, sizeof(r));
	text_time(now, r.now, sizeof(r.now));
	if (o.since != NULL && report_since(o.since, now, r.since,
	    sizeof(r.since)) == -1) {
		report_err("--since %s: not a time (2026-11-28, "
		    "2026-11-28T19:38:31Z) nor a time ago (24h, 7d)", o.since);
		return 2;
	}
	if (o.npaths == 0)
		o.paths[o.npaths++] = access(deflt, F_OK) == 0 ? deflt : live;
	r.paths = o.paths;
	r.npaths = o.npaths;
	if (same_file_twice(o.paths, o.npaths) ||
	    (db = report_open(o.paths, o.npaths)) == NULL)
		return 1;
	rc = report_read(db, &r);
	sqlite3_close(db);
	if (rc == 0 && (o.json ? report_print_json(&r, stdout) :
	    report_print_text(&r, stdout)) == -1) {
		report_err("standard output: %s", strerror(errno));
		rc = -1;
	}
	report_free(&r);
	return rc == 0 ? 0 : 1;
}
