/*
 * reportout.c: stripwatch report's output, a table for an 80-column
 * terminal or one JSON document (doc/stripwatch-report.schema.json).
 * Text read from a database is printed escaped (text.h), as the sensor
 * wrote it: a crafted database cannot send a terminal escape.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "report.h"
#include "text.h"

/* Shown in the table: wider only when the text is longer. */
#define OUT_SERVER_W	53	/* "[ffff:...:255.255.255.255]:65535" */
#define OUT_KIND_W	24	/* "plaintext_after_starttls" */
#define OUT_LINE_W	80

/* Whole document sizes tried: from this, doubling, up to the last. */
#define OUT_JSON_FIRST	(64 * 1024)
#define OUT_JSON_LAST	(1024 * 1024 * 1024)

/* A database's text as text_escape() makes it (see text_token()). */
static const char *
clean(const char *in, char *out, size_t len)
{
	char	 t[TEXT_TOKEN_MAX];
	size_t	 used, n, o = 0, inlen = strlen(in);

	while (inlen > 0 && o + TEXT_TOKEN_MAX < len) {
		n = text_token(in, inlen, &used, t);
		memcpy(out + o, t, n);
		o += n;
		in += used;
		inlen -= used;
	}
	out[o] = '\0';
	return out;
}

/* "2026-11-28T19:38:31.123456Z" as "2026-11-28 19:38:31" (width 19) or
 * "2026-11-28 19:38" (16); "-" for none. */
static const char *
when(const char *ts, size_t width, char *out, size_t len)
{
	char	*t;

	if (ts[0] == '\0')
		return "-";
	clean(ts, out, len);
	if (strlen(out) > width)
		out[width] = '\0';
	if ((t = strchr(out, 'T')) != NULL)
		*t = ' ';
	return out;
}

/* address:port, an IPv6 address in brackets. */
static const char *
server(const struct report_server *v, char *out, size_t len)
{
	char	 ip[4 * REPORT_NAME_MAX];

	clean(v->ip, ip, sizeof(ip));
	snprintf(out, len, strchr(ip, ':') != NULL ? "[%s]:%lld" : "%s:%lld",
	    ip, (long long)v->port);
	return out;
}

/* "a,b,c" as "a, b, c" at indent, lines cut before OUT_LINE_W. */
static void
wrap_list(FILE *fp, const char *list, int indent)
{
	char	 copy[4 * REPORT_KINDS_MAX], *p, *save;
	int	 col = 0, n;

	clean(list, copy, sizeof(copy));
	for (p = strtok_r(copy, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		n = (int)strlen(p);
		if (col > 0 && col + 2 + n >= OUT_LINE_W) {
			fprintf(fp, ",\n");
			col = 0;
		} else if (col > 0) {
			fprintf(fp, ", ");
			col += 2;
		}
		if (col == 0)
			col = fprintf(fp, "%*s", indent, "");
		col += fprintf(fp, "%s", p);
	}
	if (col > 0)
		fputc('\n', fp);
}

static void
text_servers(const struct report_sensor *s, FILE *fp)
{
	const struct report_server *v;
	char		 name[8 * REPORT_NAME_MAX], a[REPORT_TS_MAX];
	char		 b[REPORT_TS_MAX], proto[4 * REPORT_NAME_MAX];
	size_t		 i;

	if (s->servers.n == 0) {
		fprintf(fp, "  No STARTTLS stripped or refused.\n");
		return;
	}
	fprintf(fp, "  STARTTLS stripped or refused, by server\n"
	    "  %-*s %-5s %8s %8s\n", OUT_SERVER_W, "server", "proto",
	    "tampered", "sessions");
	for (i = 0; i < s->servers.n; i++) {
		v = REPORT_AT(&s->servers, struct report_server, i);
		fprintf(fp, "  %-*s %-5s %8llu %8llu\n"
		    "      first %s, last %s\n", OUT_SERVER_W,
		    server(v, name, sizeof(name)),
		    clean(v->proto, proto, sizeof(proto)),
		    (unsigned long long)v->tampered,
		    (unsigned long long)v->sessions,
		    when(v->first, 19, a, sizeof(a)),
		    when(v->last, 19, b, sizeof(b)));
		wrap_list(fp, v->kinds, 6);
	}
}

static void
text_kinds(const struct report_sensor *s, FILE *fp)
{
	const struct report_kind *v;
	char		 name[4 * REPORT_NAME_MAX], a[REPORT_TS_MAX];
	char		 b[REPORT_TS_MAX];
	size_t		 i;

	if (s->kinds.n == 0)
		return;
	fprintf(fp, "\n  %-*s %8s %7s  %-16s  %s\n", OUT_KIND_W, "by kind",
	    "sessions", "servers", "first", "last");
	for (i = 0; i < s->kinds.n; i++) {
		v = REPORT_AT(&s->kinds, struct report_kind, i);
		fprintf(fp, "  %-*s %8llu %7llu  %-16s  %s\n", OUT_KIND_W,
		    clean(v->name, name, sizeof(name)),
		    (unsigned long long)v->sessions,
		    (unsigned long long)v->servers,
		    when(v->first, 16, a, sizeof(a)),
		    when(v->last, 16, b, sizeof(b)));
	}
}

static double
share(uint64_t part, uint64_t whole)
{
	return whole > 0 ? (double)part / (double)whole : 0;
}

static void
text_outcomes(const struct report_sensor *s, FILE *fp)
{
	const struct report_outcome *v;
	char		 name[4 * REPORT_NAME_MAX];
	size_t		 i;

	fprintf(fp, "\n  %-*s %8s %7s\n", OUT_KIND_W, "outcome", "sessions",
	    "share");
	for (i = 0; i < s->outcomes.n; i++) {
		v = REPORT_AT(&s->outcomes, struct report_outcome, i);
		fprintf(fp, "  %-*s %8llu %6.1f%%\n", OUT_KIND_W,
		    clean(v->name, name, sizeof(name)),
		    (unsigned long long)v->sessions,
		    100 * share(v->sessions, s->sessions));
	}
}

static void
text_loss(const struct report_sensor *s, FILE *fp)
{
	const struct report_loss *l = &s->loss;

	fprintf(fp, "\n  capture loss: gaps %llu, in %llu sessions\n",
	    (unsigned long long)l->gaps, (unsigned long long)l->gap_sessions);
	if (l->have_stats)
		fprintf(fp, "  kernel_drops %llu, if_drops %llu, "
		    "ack_unseen_bytes %llu\n",
		    (unsigned long long)l->kernel_drops,
		    (unsigned long long)l->if_drops,
		    (unsigned long long)l->ack_unseen_bytes);
	else
		fprintf(fp, "  no counters in the stats table (a sensor "
		    "writes them live only)\n");
}

static void
text_sensor(const struct report *r, const struct report_sensor *s, FILE *fp)
{
	char		 buf[4 * PATH_MAX], a[REPORT_TS_MAX], b[REPORT_TS_MAX];
	size_t		 k;

	fprintf(fp, "\nsensor %s\n", clean(s->name, buf, sizeof(buf)));
	for (k = 0; k < s->dbs.n; k++)
		fprintf(fp, "  database %s\n", clean(r->paths[*REPORT_AT(
		    &s->dbs, int, k)], buf, sizeof(buf)));
	if (s->sessions == 0) {
		fprintf(fp, "  No sessions.\n");
		return;
	}
	fprintf(fp, "  %llu sessions, %s to %s UTC\n\n",
	    (unsigned long long)s->sessions, when(s->first, 19, a, sizeof(a)),
	    when(s->last, 19, b, sizeof(b)));
	text_servers(s, fp);
	text_kinds(s, fp);
	text_outcomes(s, fp);
	text_loss(s, fp);
}

int
report_print_text(const struct report *r, FILE *fp)
{
	char	 a[REPORT_TS_MAX], b[REPORT_TS_MAX];
	size_t	 k;

	fprintf(fp, "stripwatch report, %s UTC\n", when(r->now, 19, a,
	    sizeof(a)));
	if (r->since[0] != '\0')
		fprintf(fp, "sessions since %s UTC\n",
		    when(r->since, 19, b, sizeof(b)));
	else
		fprintf(fp, "every session\n");
	for (k = 0; k < r->sensors.n; k++)
		text_sensor(r, REPORT_AT(&r->sensors, struct report_sensor, k),
		    fp);
	return fflush(fp) == 0 && !ferror(fp) ? 0 : -1;
}

/* ------------------------------------------------------------ JSON */

/* A database's text: "" is null. */
static void
json_db(struct json_out *o, const char *key, const char *v)
{
	json_text(o, key, v, strlen(v));
}

static void
json_kinds(struct json_out *o, const char *list)
{
	char	 copy[REPORT_KINDS_MAX], *p, *save;

	json_array(o, "kinds");
	snprintf(copy, sizeof(copy), "%s", list);
	for (p = strtok_r(copy, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save))
		json_db(o, NULL, p);
	json_close(o);
}

static void
json_port(struct json_out *o, int64_t port)
{
	if (port >= 0 && port <= 65535)
		json_uint(o, "server_port", (uint64_t)port);
	else
		json_null(o, "server_port");
}

static void
json_servers(struct json_out *o, const struct report_sensor *s)
{
	const struct report_server *v;
	size_t		 i;

	json_array(o, "stripped_servers");
	for (i = 0; i < s->servers.n; i++) {
		v = REPORT_AT(&s->servers, struct report_server, i);
		json_open(o, NULL);
		json_db(o, "server_ip", v->ip);
		json_port(o, v->port);
		json_db(o, "protocol", v->proto);
		json_uint(o, "tampered", v->tampered);
		json_uint(o, "sessions", v->sessions);
		json_db(o, "first_tampered", v->first);
		json_db(o, "last_tampered", v->last);
		json_kinds(o, v->kinds);
		json_close(o);
	}
	json_close(o);
}

static void
json_kind_list(struct json_out *o, const struct report_sensor *s)
{
	const struct report_kind *v;
	size_t		 i;

	json_array(o, "kinds");
	for (i = 0; i < s->kinds.n; i++) {
		v = REPORT_AT(&s->kinds, struct report_kind, i);
		json_open(o, NULL);
		json_db(o, "kind", v->name);
		json_uint(o, "sessions", v->sessions);
		json_uint(o, "servers", v->servers);
		json_db(o, "first", v->first);
		json_db(o, "last", v->last);
		json_close(o);
	}
	json_close(o);
}

static void
json_outcomes(struct json_out *o, const struct report_sensor *s)
{
	const struct report_outcome *v;
	size_t		 i;

	json_array(o, "outcomes");
	for (i = 0; i < s->outcomes.n; i++) {
		v = REPORT_AT(&s->outcomes, struct report_outcome, i);
		json_open(o, NULL);
		json_db(o, "outcome", v->name);
		json_uint(o, "sessions", v->sessions);
		json_real(o, "share", share(v->sessions, s->sessions));
		json_close(o);
	}
	json_close(o);
}

/* A counter of the stats table: null when it has none. */
static void
json_counter(struct json_out *o, const char *key, int have, uint64_t v)
{
	if (have)
		json_uint(o, key, v);
	else
		json_null(o, key);
}

static void
json_loss(struct json_out *o, const struct report_loss *l)
{
	json_open(o, "capture_loss");
	json_counter(o, "kernel_drops", l->have_stats, l->kernel_drops);
	json_counter(o, "if_drops", l->have_stats, l->if_drops);
	json_counter(o, "ack_unseen_bytes", l->have_stats,
	    l->ack_unseen_bytes);
	json_uint(o, "gaps", l->gaps);
	json_uint(o, "sessions_with_gaps", l->gap_sessions);
	json_close(o);
}

static void
json_sensor(struct json_out *o, const struct report *r,
    const struct report_sensor *s)
{
	char	 path[4 * PATH_MAX + 4];
	size_t	 k;
	const char *p;

	json_open(o, NULL);
	json_db(o, "sensor", s->name);
	json_array(o, "databases");
	for (k = 0; k < s->dbs.n; k++) {
		p = r->paths[*REPORT_AT(&s->dbs, int, k)];
		text_escape(path, sizeof(path), (const uint8_t *)p, strlen(p));
		json_db(o, NULL, path);
	}
	json_close(o);
	json_uint(o, "sessions", s->sessions);
	json_db(o, "first_session", s->first);
	json_db(o, "last_session", s->last);
	json_servers(o, s);
	json_kind_list(o, s);
	json_outcomes(o, s);
	json_loss(o, &s->loss);
	json_close(o);
}

/* The document into buf (len bytes); its length, or 0 if it did not fit. */
static size_t
json_report(const struct report *r, char *buf, size_t len)
{
	struct json_out	 o;
	size_t		 k;

	json_begin(&o, buf, len);
	json_db(&o, "generated", r->now);
	json_db(&o, "since", r->since);
	json_array(&o, "sensors");
	for (k = 0; k < r->sensors.n; k++)
		json_sensor(&o, r, REPORT_AT(&r->sensors,
		    struct report_sensor, k));
	return json_end(&o);
}

int
report_print_json(const struct report *r, FILE *fp)
{
	char	*buf = NULL;
	size_t	 len, n = 0;

	for (len = OUT_JSON_FIRST; n == 0 && len <= OUT_JSON_LAST; len *= 2) {
		free(buf);
		if ((buf = malloc(len)) == NULL)
			return -1;
		n = json_report(r, buf, len);
	}
	if (n == 0) {
		free(buf);
		errno = EFBIG;
		return -1;
	}
	fprintf(fp, "%s\n", buf);
	free(buf);
	return fflush(fp) == 0 && !ferror(fp) ? 0 : -1;
}
