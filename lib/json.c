/*
 * json.c: writes alerts and sessions as one-line JSON objects into a
 * bounded buffer, escaping every string so that any input gives a line a
 * JSON parser accepts; a line that would not fit is refused whole.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "json.h"
#include "text.h"

/* Address text: decode_addr_str() wants at least 46 bytes. */
#define JSON_ADDR_MAX	64

/* Longest JSON escape of one byte: "\u00XX". */
#define JSON_ESC_MAX	6

static void	 json_put(struct json_out *, const char *, size_t);
static size_t	 json_esc(unsigned char, char[JSON_ESC_MAX]);
static void	 json_quoted(struct json_out *, const char *, size_t);
static void	 json_key(struct json_out *, const char *);
static void	 json_tuple(struct json_out *, const struct flow_tuple *);
static void	 json_tls(struct json_out *, const struct detect_session *);

/* Append n bytes, or mark the object full when they do not fit. */
static void
json_put(struct json_out *o, const char *s, size_t n)
{
	if (o->full || n >= o->cap - o->off) {
		o->full = 1;
		return;
	}
	memcpy(o->buf + o->off, s, n);
	o->off += n;
	o->buf[o->off] = '\0';
}

/* The JSON form of one byte inside a string (RFC 8259 section 7). */
static size_t
json_esc(unsigned char c, char out[JSON_ESC_MAX])
{
	static const char hex[] = "0123456789abcdef";

	if (c == '"' || c == '\\') {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	/* Control bytes must be escaped; DEL and bytes >= 0x80 need not,
	 * but a byte >= 0x80 alone is no UTF-8. Our strings are ASCII:
	 * this only guards against a mistake. */
	memcpy(out, "\\u00", 4);
	out[4] = hex[c >> 4];
	out[5] = hex[c & 0x0f];
	return 6;
}

static void
json_quoted(struct json_out *o, const char *s, size_t n)
{
	char	 e[JSON_ESC_MAX];
	size_t	 i;

	json_put(o, "\"", 1);
	for (i = 0; i < n && !o->full; i++)
		json_put(o, e, json_esc((unsigned char)s[i], e));
	json_put(o, "\"", 1);
}

/* The separator and "key": of a new member (key NULL: none). */
static void
json_key(struct json_out *o, const char *key)
{
	int	 d = o->depth - 1;

	if (d < 0) {
		o->full = 1;		/* a member outside any object */
		return;
	}
	if (!o->first[d])
		json_put(o, ",", 1);
	o->first[d] = 0;
	if (key != NULL) {
		json_quoted(o, key, strlen(key));
		json_put(o, ":", 1);
	}
}

void
json_begin(struct json_out *o, char *buf, size_t cap)
{
	memset(o, 0, sizeof(*o));
	o->buf = buf;
	o->cap = cap;
	if (cap == 0) {
		o->full = 1;
		return;
	}
	buf[0] = '\0';
	json_put(o, "{", 1);
	o->depth = 1;
	o->first[0] = 1;
	o->close[0] = '}';
}

size_t
json_end(struct json_out *o)
{
	while (o->depth > 0)
		json_close(o);
	if (o->full) {
		if (o->cap > 0)
			o->buf[0] = '\0';
		return 0;
	}
	return o->off;
}

/* Open an object ("{}") or an array ("[]") as the next member. */
static void
json_nest(struct json_out *o, const char *key, const char *pair)
{
	if (o->depth >= JSON_DEPTH_MAX) {
		o->full = 1;
		return;
	}
	json_key(o, key);
	json_put(o, pair, 1);
	o->close[o->depth] = pair[1];
	o->first[o->depth++] = 1;
}

void
json_open(struct json_out *o, const char *key)
{
	json_nest(o, key, "{}");
}

void
json_array(struct json_out *o, const char *key)
{
	json_nest(o, key, "[]");
}

void
json_close(struct json_out *o)
{
	if (o->depth == 0)
		return;
	o->depth--;
	json_put(o, &o->close[o->depth], 1);
}

void
json_str(struct json_out *o, const char *key, const char *v)
{
	if (v == NULL) {
		json_null(o, key);
		return;
	}
	json_key(o, key);
	json_quoted(o, v, strlen(v));
}

void
json_uint(struct json_out *o, const char *key, uint64_t v)
{
	char	 n[24];

	json_key(o, key);
	json_put(o, n, (size_t)snprintf(n, sizeof(n), "%" PRIu64, v));
}

void
json_bool(struct json_out *o, const char *key, int v)
{
	json_key(o, key);
	json_put(o, v ? "true" : "false", v ? 4 : 5);
}

void
json_null(struct json_out *o, const char *key)
{
	json_key(o, key);
	json_put(o, "null", 4);
}

void
json_real(struct json_out *o, const char *key, double v)
{
	char	 n[32];

	if (!isfinite(v)) {
		json_null(o, key);
		return;
	}
	json_key(o, key);
	json_put(o, n, (size_t)snprintf(n, sizeof(n), "%.6g", v));
}

void
json_text(struct json_out *o, const char *key, const char *v, size_t max)
{
	char	 t[TEXT_TOKEN_MAX], e[JSON_ESC_MAX];
	size_t	 len, used, n, i, j;

	len = v != NULL ? strnlen(v, max) : 0;
	if (len == 0) {
		json_null(o, key);
		return;
	}
	json_key(o, key);
	json_put(o, "\"", 1);
	for (i = 0; i < len && !o->full; i += used) {
		n = text_token(v + i, len - i, &used, t);
		for (j = 0; j < n; j++)
			json_put(o, e, json_esc((unsigned char)t[j], e));
	}
	json_put(o, "\"", 1);
}

void
json_head(struct json_out *o, const char *type, uint64_t ts_us,
    const char *sensor)
{
	char	 ts[TEXT_TIME_LEN];

	json_str(o, "event_type", type);
	json_str(o, "timestamp", text_time(ts_us, ts, sizeof(ts)));
	json_str(o, "sensor", sensor != NULL ? sensor : "");
}

/* Client as source, server as destination, as Suricata's EVE has them. */
static void
json_tuple(struct json_out *o, const struct flow_tuple *t)
{
	char	 ip[JSON_ADDR_MAX];

	json_str(o, "src_ip", decode_addr_str(&t->client, ip, sizeof(ip)));
	json_uint(o, "src_port", t->client_port);
	json_str(o, "dest_ip", decode_addr_str(&t->server, ip, sizeof(ip)));
	json_uint(o, "dest_port", t->server_port);
}

size_t
json_alert(const struct detect_event *ev, const char *sensor, char *buf,
    size_t len)
{
	struct json_out	 o;

	json_begin(&o, buf, len);
	json_head(&o, "alert", ev->ts_us, sensor);
	json_tuple(&o, &ev->tuple);
	json_uint(&o, "session_id", ev->session_id);
	json_str(&o, "kind", detect_kind_name(ev->kind));
	json_str(&o, "severity", detect_severity_name(ev->severity));
	json_text(&o, "evidence", ev->evidence, sizeof(ev->evidence));
	return json_end(&o);
}

/* The TLS facts of a session; unseen ones are null. */
static void
json_tls(struct json_out *o, const struct detect_session *s)
{
	json_open(o, "tls");
	json_bool(o, "established", s->tls_established);
	json_str(o, "version", s->tls_version);
	json_text(o, "cipher", s->tls_cipher, sizeof(s->tls_cipher));
	json_text(o, "sni", s->tls_sni, sizeof(s->tls_sni));
	json_text(o, "cert_sha256", s->cert_sha256, sizeof(s->cert_sha256));
	json_close(o);
}

size_t
json_session(const struct detect_session *s, const char *sensor, char *buf,
    size_t len)
{
	struct json_out	 o;
	char		 ts[TEXT_TIME_LEN];
	uint32_t	 bits;
	unsigned	 nev;

	for (nev = 0, bits = s->events; bits != 0; bits &= bits - 1)
		nev++;
	json_begin(&o, buf, len);
	json_head(&o, "session", s->end_us, sensor);
	json_tuple(&o, &s->tuple);
	json_uint(&o, "session_id", s->id);
	json_str(&o, "start_ts", text_time(s->start_us, ts, sizeof(ts)));
	json_str(&o, "end_ts", text_time(s->end_us, ts, sizeof(ts)));
	json_str(&o, "protocol", s->protocol != NULL ? s->protocol : "smtp");
	json_text(&o, "helo", s->helo, sizeof(s->helo));
	json_text(&o, "banner", s->banner, sizeof(s->banner));
	json_bool(&o, "starttls_offered", s->starttls_offered);
	json_bool(&o, "starttls_requested", s->starttls_requested);
	/* as the sessions column: SMTP's code, IMAP's or POP3's word */
	if (s->starttls_status[0] != '\0')
		json_str(&o, "starttls_reply", s->starttls_status);
	else if (s->starttls_reply != 0)
		json_uint(&o, "starttls_reply", s->starttls_reply);
	else
		json_null(&o, "starttls_reply");
	json_str(&o, "outcome", s->outcome);
	json_uint(&o, "gaps", s->gaps);
	json_uint(&o, "events", nev);
	json_str(&o, "close_reason", s->close_reason);
	json_uint(&o, "resumed", s->resumed);
	json_text(&o, "source", s->source, DETECT_SOURCE_MAX);
	json_tls(&o, s);
	return json_end(&o);
}
