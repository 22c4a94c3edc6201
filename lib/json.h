/*
 * json.h: one JSON object (RFC 8259) per line, for the json_log file and
 * alert_format = json: alerts, sessions and counters, each naming the
 * sensor that saw them. Field names follow Suricata's EVE (src_ip is the
 * client, dest_ip the server); doc/stripwatch.schema.json and the README
 * describe every field.
 *
 * Text from the wire (helo, banner, evidence, tls.sni) is carried as the
 * database holds it, escaped by text.h's rules, checked again with
 * text_token(), and then escaped for JSON: a JSON value equals the
 * database column byte for byte, and no byte of it can end a string or a
 * line. Every other string is ours (names, addresses, times).
 */
#ifndef STRIPWATCH_JSON_H
#define STRIPWATCH_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "detect.h"

/*
 * Longest line formatted. A session carries three wire texts of at most
 * DETECT_TEXT_MAX characters each and its source, every character at
 * worst doubled by JSON escaping, plus fixed fields well under 2 KiB: it
 * always fits.
 */
#define JSON_LINE_MAX	16384
_Static_assert(JSON_LINE_MAX >= 2 * (3 * DETECT_TEXT_MAX +
    DETECT_SOURCE_MAX) + 2048, "JSON_LINE_MAX too small for a session line");

/* Nested objects and arrays: a line, "tls", "stats"; stripwatch report's
 * document, its sensors, their servers and each one's kinds. */
#define JSON_DEPTH_MAX	6

/*
 * A bounded object being written into a caller's buffer. When something
 * does not fit, the object is marked full and json_end() returns 0: a line
 * is written whole or not at all, never cut into invalid JSON.
 */
struct json_out {
	char		*buf;
	size_t		 cap;		/* size of buf */
	size_t		 off;		/* characters written */
	int		 depth;		/* objects and arrays open */
	int		 first[JSON_DEPTH_MAX]; /* no member yet at depth */
	char		 close[JSON_DEPTH_MAX]; /* '}' or ']' at depth */
	int		 full;		/* something did not fit */
};

/* Start the top-level object in buf (cap bytes). */
void	json_begin(struct json_out *o, char *buf, size_t cap);

/*
 * Close every open object; returns the line's length (NUL-terminated, no
 * newline), or 0 if it did not fit.
 */
size_t	json_end(struct json_out *o);

/*
 * Members of the object open now, or elements of the array open now (key
 * NULL). A NULL string is written as null.
 */
void	json_open(struct json_out *o, const char *key);	/* nested object */
void	json_array(struct json_out *o, const char *key);	/* nested array */
void	json_close(struct json_out *o);		/* the innermost one */
void	json_str(struct json_out *o, const char *key, const char *v);
void	json_uint(struct json_out *o, const char *key, uint64_t v);
void	json_bool(struct json_out *o, const char *key, int v);
void	json_null(struct json_out *o, const char *key);
/* A finite number, six significant digits; NaN or infinity is null. */
void	json_real(struct json_out *o, const char *key, double v);

/*
 * Wire text (text.h escaping expected, checked again), at most max bytes
 * of v read; "" or NULL is null, as in the database.
 */
void	json_text(struct json_out *o, const char *key, const char *v,
	    size_t max);

/*
 * "event_type", "timestamp" (ISO-8601 UTC with microseconds) and "sensor":
 * the members every line starts with.
 */
void	json_head(struct json_out *o, const char *type, uint64_t ts_us,
	    const char *sensor);

/*
 * An alert: the head, src_ip, src_port, dest_ip, dest_port, session_id,
 * kind, severity, evidence. Returns the length, or 0 (did not fit).
 */
size_t	json_alert(const struct detect_event *ev, const char *sensor,
	    char *buf, size_t len);

/*
 * A session (timestamp: its end): the columns of the sessions table, the
 * TLS facts nested under "tls". Returns the length, or 0.
 */
size_t	json_session(const struct detect_session *s, const char *sensor,
	    char *buf, size_t len);

#endif
