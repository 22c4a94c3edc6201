/*
 * alert.c: turns each event into one log line (key=value, RFC 5424
 * structured data or JSON) for syslog and/or a stream, checks once more
 * that no byte of it can break a line or a quoted value, writes whole RFC
 * 5424 messages for a forwarder, and rate-limits lines by packet time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "alert.h"
#include "decode.h"
#include "detect.h"
#include "json.h"
#include "log.h"
#include "logfwd.h"
#include "text.h"

/* Longest output of one evidence token: "\xHH" with its backslash
 * escaped again for RFC 5424 is 5; "\\" or "\"" escaped is 4. */
#define ALERT_TOK_MAX	8

/* "[" IPv6 text (at most 45) "]:" port, escaped for RFC 5424. */
#define ALERT_EP_MAX	128

#define ALERT_ELLIPSIS	"..."
#define ALERT_ELLIPSIS_LEN (sizeof(ALERT_ELLIPSIS) - 1)

#define ALERT_US_PER_S	1000000ULL

/* "stripwatch@" and a 32-bit number. */
#define ALERT_SD_ID_MAX	32

/* Longest sensor name kept in a line: config_sensor_ok() allows 63. */
#define ALERT_SENSOR_MAX 63
#define ALERT_SENSOR_FIELD (ALERT_SENSOR_MAX + 16)	/* sensor="..." */

struct alert {
	struct alert_config cfg;
	struct alert_stats stats;
	int		 stream_tty;	/* the stream is a terminal */
	int		 started;	/* an interval has begun */
	uint64_t	 window_us;	/* packet time the interval began */
	uint32_t	 in_window;	/* lines sent in this interval */
	uint64_t	 pending;	/* suppressed, not reported yet */
	uint64_t	 last_us;	/* packet time of the last suppressed */
	char		 line[JSON_LINE_MAX];	/* the line, or MSG */
	char		 sd[ALERT_LINE_MAX];	/* structured data */
	char		 msg[ALERT_MSG_MAX];	/* a whole RFC 5424 message */
};

/* A bounded output buffer, always NUL-terminated. */
struct alert_buf {
	char		*b;
	size_t		 cap;		/* size of b, >= 1 */
	size_t		 off;		/* characters written */
};

static size_t	 alert_token(const char *src, size_t len, size_t *used,
		    int sd, char out[ALERT_TOK_MAX]);
static void	 alert_put(struct alert_buf *, const char *, size_t);
static void	 alert_puts(struct alert_buf *, const char *);
static void	 alert_put_escaped(struct alert_buf *, const char *, size_t,
		    size_t, int);
static void	 alert_endpoint(const struct decode_addr *, uint16_t, int,
		    char *, size_t);
static size_t	 alert_format_ev(const struct detect_event *, const char *,
		    uint32_t, char *, size_t, int);
static const char *alert_sd_id(uint32_t, char *, size_t);
static int	 alert_priority(enum detect_severity);
static void	 alert_emit(struct alert *, int, const char *, uint64_t,
		    const char *, const char *);
static size_t	 alert_report_line(const struct alert *, uint64_t, uint32_t,
		    int, char *, size_t);
static void	 alert_report(struct alert *);
static int	 alert_admit(struct alert *, uint64_t);
static void	 alert_sink_event(void *, const struct detect_event *);
static void	 alert_sink_session(void *, const struct detect_session *);

/*
 * One unit of evidence (src, len >= 1) as it goes out; *used is set to the
 * bytes consumed. text_token() keeps it text_escape() text; with sd, '"',
 * '\\' and ']' of the result are escaped once more for an RFC 5424
 * PARAM-VALUE.
 */
static size_t
alert_token(const char *src, size_t len, size_t *used, int sd,
    char out[ALERT_TOK_MAX])
{
	char		 t[TEXT_TOKEN_MAX];
	size_t		 n, i, o = 0;

	n = text_token(src, len, used, t);
	for (i = 0; i < n; i++) {
		if (sd && (t[i] == '"' || t[i] == '\\' || t[i] == ']'))
			out[o++] = '\\';
		out[o++] = t[i];
	}
	return o;
}

/* Append up to n bytes of s, as many as fit. */
static void
alert_put(struct alert_buf *ab, const char *s, size_t n)
{
	size_t	 room = ab->cap - 1 - ab->off;

	if (n > room)
		n = room;
	memcpy(ab->b + ab->off, s, n);
	ab->off += n;
	ab->b[ab->off] = '\0';
}

static void
alert_puts(struct alert_buf *ab, const char *s)
{
	alert_put(ab, s, strlen(s));
}

/*
 * Append src (len bytes) escaped, leaving reserve characters free for what
 * follows. Never cuts a token; when cut, ends in "...".
 */
static void
alert_put_escaped(struct alert_buf *ab, const char *src, size_t len,
    size_t reserve, int sd)
{
	char	 tok[ALERT_TOK_MAX];
	size_t	 avail, body, total = 0, used, n, i;

	avail = ab->cap - 1 - ab->off;
	avail = avail > reserve ? avail - reserve : 0;
	for (i = 0; i < len; i += used)
		total += alert_token(src + i, len - i, &used, sd, tok);
	body = total <= avail ? avail : avail > ALERT_ELLIPSIS_LEN ?
	    avail - ALERT_ELLIPSIS_LEN : 0;
	for (i = 0; i < len; i += used) {
		n = alert_token(src + i, len - i, &used, sd, tok);
		if (n > body)
			break;
		alert_put(ab, tok, n);
		body -= n;
		avail -= n;
	}
	if (i < len)
		alert_put(ab, ALERT_ELLIPSIS, avail < ALERT_ELLIPSIS_LEN ?
		    avail : ALERT_ELLIPSIS_LEN);
}

/* "192.0.2.1:25" or "[2001:db8::1]:25"; with sd, escaped for RFC 5424. */
static void
alert_endpoint(const struct decode_addr *a, uint16_t port, int sd,
    char *buf, size_t len)
{
	char		 ip[64], raw[ALERT_EP_MAX];
	struct alert_buf ab = { buf, len, 0 };

	decode_addr_str(a, ip, sizeof(ip));
	if (a->family == 6)
		snprintf(raw, sizeof(raw), "[%s]:%u", ip, (unsigned)port);
	else
		snprintf(raw, sizeof(raw), "%s:%u", ip, (unsigned)port);
	buf[0] = '\0';
	alert_put_escaped(&ab, raw, strlen(raw), 0, sd);
}

/* "stripwatch@N"; 0 is the documentation number. */
static const char *
alert_sd_id(uint32_t enterprise, char *buf, size_t len)
{
	snprintf(buf, len, ALERT_SD_NAME "@%lu", (unsigned long)(enterprise ?
	    enterprise : ALERT_ENTERPRISE_DOC));
	return buf;
}

static size_t
alert_format_ev(const struct detect_event *ev, const char *sensor,
    uint32_t enterprise, char *buf, size_t len, int sd)
{
	char		 ts[TEXT_TIME_LEN], cli[ALERT_EP_MAX];
	char		 srv[ALERT_EP_MAX], id[ALERT_SD_ID_MAX];
	char		 sens[ALERT_SENSOR_FIELD];
	const char	*tail = sd ? "\"]" : "\"";
	struct alert_buf ab = { buf, len, 0 };
	int		 n;

	if (buf == NULL || len == 0)
		return 0;
	text_time(ev->ts_us, ts, sizeof(ts));
	alert_endpoint(&ev->tuple.client, ev->tuple.client_port, sd, cli,
	    sizeof(cli));
	alert_endpoint(&ev->tuple.server, ev->tuple.server_port, sd, srv,
	    sizeof(srv));
	/* Names and numbers are ours, the sensor name is checked
	 * (config_sensor_ok): none needs escaping. */
	sens[0] = '\0';
	if (sensor != NULL && sensor[0] != '\0')
		snprintf(sens, sizeof(sens), sd ? "sensor=\"%.*s\" " :
		    "sensor=%.*s ", ALERT_SENSOR_MAX, sensor);
	if (sd)
		n = snprintf(buf, len, "[%s event=\"%s\" "
		    "severity=\"%s\" ts=\"%s\" %ssession=\"%" PRIu64 "\" "
		    "client=\"%s\" server=\"%s\" evidence=\"",
		    alert_sd_id(enterprise, id, sizeof(id)),
		    detect_kind_name(ev->kind),
		    detect_severity_name(ev->severity), ts, sens,
		    ev->session_id, cli, srv);
	else
		n = snprintf(buf, len, "event=%s severity=%s ts=%s "
		    "%ssession=%" PRIu64 " client=%s server=%s evidence=\"",
		    detect_kind_name(ev->kind),
		    detect_severity_name(ev->severity), ts, sens,
		    ev->session_id, cli, srv);
	if (n < 0)
		n = 0;
	ab.off = (size_t)n < len ? (size_t)n : len - 1;
	alert_put_escaped(&ab, ev->evidence,
	    strnlen(ev->evidence, sizeof(ev->evidence)), strlen(tail), sd);
	alert_puts(&ab, tail);
	return ab.off;
}

size_t
alert_format(const struct detect_event *ev, const char *sensor, char *buf,
    size_t len)
{
	return alert_format_ev(ev, sensor, 0, buf, len, 0);
}

size_t
alert_format_rfc5424(const struct detect_event *ev, const char *sensor,
    uint32_t enterprise, char *buf, size_t len)
{
	return alert_format_ev(ev, sensor, enterprise, buf, len, 1);
}

size_t
alert_rfc5424_message(int pri, uint64_t ts_us, const char *host,
    int procid, const char *msgid, const char *sd, const char *msg,
    char *buf, size_t len)
{
	char	 ts[TEXT_TIME_LEN];
	int	 n;

	/* TIMESTAMP is RFC 3339 with at most six fraction digits and "Z":
	 * text_time()'s form. Beyond year 9999 it says so; send NILVALUE. */
	text_time(ts_us, ts, sizeof(ts));
	n = snprintf(buf, len, "<%d>1 %s %s " ALERT_SD_NAME " %d %s %s%s%s",
	    pri, ts[0] >= '0' && ts[0] <= '9' ? ts : "-",
	    host != NULL && host[0] != '\0' ? host : "-", procid, msgid,
	    sd != NULL ? sd : "-", msg != NULL ? " " : "",
	    msg != NULL ? msg : "");
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

struct alert *
alert_new(const struct alert_config *cfg)
{
	struct alert	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->cfg = *cfg;
	a->stream_tty = cfg->stream != NULL && isatty(fileno(cfg->stream));
	return a;
}

void
alert_free(struct alert *a)
{
	if (a == NULL)
		return;
	alert_report(a);
	free(a);
}

void
alert_set_config(struct alert *a, const struct alert_config *cfg)
{
	a->cfg = *cfg;
	a->stream_tty = cfg->stream != NULL && isatty(fileno(cfg->stream));
}

static int
alert_priority(enum detect_severity sev)
{
	switch (sev) {
	case DETECT_SEV_HIGH:
	case DETECT_SEV_MEDIUM:
		return LOG_WARNING;
	case DETECT_SEV_LOW:
		return LOG_NOTICE;
	default:
		return LOG_INFO;
	}
}

/*
 * Send one line. With a forwarder, syslog gets the whole RFC 5424 message
 * (sd, when not NULL, as its structured data, line as MSG); in the rfc5424
 * format the stream shows that message too, else the line.
 */
static void
alert_emit(struct alert *a, int pri, const char *msgid, uint64_t ts_us,
    const char *sd, const char *line)
{
	int	 fwd = a->cfg.use_syslog && a->cfg.fwd != NULL;
	size_t	 n = 0;

	if (fwd || (a->cfg.format == ALERT_FORMAT_RFC5424 &&
	    a->cfg.stream != NULL))
		n = alert_rfc5424_message(a->cfg.facility | pri, ts_us,
		    a->cfg.sensor, a->cfg.procid, msgid, sd, line, a->msg,
		    sizeof(a->msg));
	if (fwd && n > 0)
		logfwd_send(a->cfg.fwd, a->msg, n);
	else if (a->cfg.use_syslog && !fwd)
		syslog(a->cfg.facility | pri, "%s", sd != NULL &&
		    a->cfg.format == ALERT_FORMAT_RFC5424 ? sd : line);
	if (a->cfg.stream != NULL) {
		/* A progress line on the same terminal must not run into
		 * it; a log line of another thread must not cut it. */
		if (a->stream_tty)
			log_status(NULL);
		flockfile(a->cfg.stream);
		fputs(a->cfg.format == ALERT_FORMAT_RFC5424 && n > 0 ?
		    a->msg : line, a->cfg.stream);
		fputc('\n', a->cfg.stream);
		fflush(a->cfg.stream);
		funlockfile(a->cfg.stream);
	}
}

/* The "alerts_suppressed" line in the format asked for (sd: its SD). */
static size_t
alert_report_line(const struct alert *a, uint64_t ts_us, uint32_t iv,
    int sd, char *buf, size_t len)
{
	struct json_out	 o;
	char		 id[ALERT_SD_ID_MAX];
	const char	*sensor = a->cfg.sensor != NULL ? a->cfg.sensor : "";
	int		 n;

	if (!sd && a->cfg.format == ALERT_FORMAT_JSON) {
		json_begin(&o, buf, len);
		json_head(&o, "alerts_suppressed", ts_us, sensor);
		json_uint(&o, "count", a->pending);
		json_uint(&o, "interval_s", iv);
		return json_end(&o);
	}
	if (sd)
		n = snprintf(buf, len, "[%s alerts_suppressed=\"%" PRIu64 "\" "
		    "interval=\"%us\"%s%.*s%s]", alert_sd_id(a->cfg.enterprise,
		    id, sizeof(id)), a->pending, (unsigned)iv,
		    sensor[0] ? " sensor=\"" : "", ALERT_SENSOR_MAX, sensor,
		    sensor[0] ? "\"" : "");
	else
		n = snprintf(buf, len, "alerts_suppressed=%" PRIu64
		    " interval=%us%s%.*s", a->pending, (unsigned)iv,
		    sensor[0] ? " sensor=" : "", ALERT_SENSOR_MAX, sensor);
	return n < 0 ? 0 : (size_t)n;
}

/* Say how many lines the last intervals suppressed, if any. */
static void
alert_report(struct alert *a)
{
	uint32_t	 iv = a->cfg.rate_interval_s ? a->cfg.rate_interval_s : 1;
	int		 rfc = a->cfg.format == ALERT_FORMAT_RFC5424;

	if (a->pending == 0)
		return;
	alert_report_line(a, a->last_us, iv, 0, a->line, sizeof(a->line));
	if (rfc)
		alert_report_line(a, a->last_us, iv, 1, a->sd, sizeof(a->sd));
	alert_emit(a, LOG_NOTICE, "alerts_suppressed", a->last_us,
	    rfc ? a->sd : NULL, a->line);
	a->pending = 0;
}

/*
 * Whether a line at packet time ts may go out. An interval starts at the
 * first line after the previous one ended; time running backwards by more
 * than an interval (a new capture file) starts one too.
 */
static int
alert_admit(struct alert *a, uint64_t ts)
{
	uint64_t	 iv;

	if (a->cfg.rate_limit == 0) {
		alert_report(a);
		return 1;
	}
	iv = (uint64_t)(a->cfg.rate_interval_s ? a->cfg.rate_interval_s : 1) *
	    ALERT_US_PER_S;
	if (!a->started || (ts >= a->window_us && ts - a->window_us >= iv) ||
	    (ts < a->window_us && a->window_us - ts > iv)) {
		alert_report(a);
		a->started = 1;
		a->window_us = ts;
		a->in_window = 0;
	}
	if (a->in_window >= a->cfg.rate_limit) {
		a->stats.suppressed++;
		a->pending++;
		a->last_us = ts;	/* the report carries its time */
		return 0;
	}
	a->in_window++;
	return 1;
}

void
alert_event(struct alert *a, const struct detect_event *ev)
{
	const char	*sd = NULL;

	if (!alert_admit(a, ev->ts_us))
		return;
	switch (a->cfg.format) {
	case ALERT_FORMAT_JSON:
		if (json_alert(ev, a->cfg.sensor, a->line,
		    sizeof(a->line)) == 0)
			return;		/* cannot be: json.h sizes it */
		break;
	case ALERT_FORMAT_RFC5424:
		alert_format_rfc5424(ev, a->cfg.sensor, a->cfg.enterprise,
		    a->sd, sizeof(a->sd));
		sd = a->sd;
		/* The plain line is its MSG. */
		alert_format(ev, a->cfg.sensor, a->line, sizeof(a->line));
		break;
	default:
		alert_format(ev, a->cfg.sensor, a->line, sizeof(a->line));
		break;
	}
	alert_emit(a, alert_priority(ev->severity),
	    detect_kind_name(ev->kind), ev->ts_us, sd, a->line);
	a->stats.sent++;
}

const struct alert_stats *
alert_get_stats(const struct alert *a)
{
	return &a->stats;
}

static void
alert_sink_event(void *arg, const struct detect_event *ev)
{
	alert_event(arg, ev);
}

/* Sessions are the database's business; the log gets events only. */
static void
alert_sink_session(void *arg, const struct detect_session *s)
{
	(void)arg;
	(void)s;
}

void
alert_sink(struct alert *a, struct detect_sink *sink)
{
	sink->event = alert_sink_event;
	sink->session = alert_sink_session;
	sink->server = NULL;
	sink->arg = a;
}
