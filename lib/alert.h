/*
 * alert.h: one line per event, to syslog and/or a stream (stdout offline).
 *
 * The line is key=value, RFC 5424 structured data or a JSON object (json.h);
 * text from the wire arrives escaped from detect.c and is quoted, and
 * checked again here, so no CR, LF or control character reaches the log.
 * Every line names the sensor. A rate limit (by packet time) caps lines per
 * interval and reports how many were suppressed.
 *
 * With a forwarder (logfwd.h), stripwatch writes the whole RFC 5424 message
 * itself, "<PRI>1 TIMESTAMP HOSTNAME stripwatch PROCID MSGID SD MSG", with
 * the sensor as HOSTNAME, the event kind as MSGID and the packet time as
 * TIMESTAMP; otherwise syslog(3) sends the line as its message.
 */
#ifndef STRIPWATCH_ALERT_H
#define STRIPWATCH_ALERT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "detect.h"
#include "json.h"

struct logfwd;

#define ALERT_LINE_MAX	2048	/* longest key=value or SD line formatted */

/* Longest RFC 5424 message: header, structured data, then as its MSG the
 * plain line or the JSON object. */
#define ALERT_MSG_MAX	(256 + ALERT_LINE_MAX + JSON_LINE_MAX)

/* Shape of a line; 0 (a zeroed config) is the key=value line. */
enum alert_format {
	ALERT_FORMAT_PLAIN = 0,		/* event=... evidence="..." */
	ALERT_FORMAT_RFC5424,		/* [stripwatch@N event="..." ...] */
	ALERT_FORMAT_JSON		/* {"event_type":"alert",...} */
};

/*
 * SD-ID "stripwatch@N": N is the enterprise number of the organisation
 * running the sensor. 32473 is reserved for documentation (RFC 5612): the
 * default until one is configured, and what a zeroed config gets.
 */
#define ALERT_SD_NAME		"stripwatch"
#define ALERT_ENTERPRISE_DOC	32473

struct alert_config {
	int		 use_syslog;	/* send to syslog (fwd or syslog(3)) */
	int		 facility;	/* LOG_DAEMON etc. */
	FILE		*stream;	/* also write here, NULL = no */
	uint32_t	 rate_limit;	/* lines per interval, 0 = no limit */
	uint32_t	 rate_interval_s; /* interval of the limit, seconds;
					   0 is taken as 1 */
	enum alert_format format;	/* ALERT_FORMAT_* */
	const char	*sensor;	/* sensor name (config_sensor_ok), NULL
					   or "" = none; must outlive a */
	uint32_t	 enterprise;	/* of the SD-ID; 0 = the doc number */
	int		 procid;	/* PROCID of RFC 5424 messages */
	struct logfwd	*fwd;		/* RFC 5424 messages go here instead of
					   syslog(3); NULL = none */
};

struct alert_stats {
	uint64_t	 sent;		/* event lines emitted */
	uint64_t	 suppressed;	/* lines dropped by the rate limit */
};

struct alert;

/* NULL on ENOMEM. The caller opens syslog (openlog) beforehand. */
struct alert *alert_new(const struct alert_config *cfg);
void	alert_free(struct alert *a);

/*
 * Emit the line for ev, subject to the rate limit: at most rate_limit lines
 * per rate_interval_s of packet time. When an interval starts after lines
 * were suppressed, "alerts_suppressed=N interval=Ss" goes out first (also
 * from alert_free()). Priority: high and medium LOG_WARNING, low
 * LOG_NOTICE, info LOG_INFO.
 */
void	alert_event(struct alert *a, const struct detect_event *ev);

/*
 * Format the line for ev into buf (len >= 1, always NUL-terminated):
 * "event=KIND severity=SEV ts=ISO sensor=NAME session=N client=IP:PORT
 * server=IP:PORT evidence=\"...\"", IPv6 as [addr]:port, sensor= left out
 * when sensor is NULL or "". Evidence is checked again (text_token()); if
 * it does not fit, it is cut between escapes and ends in "...". Returns
 * the line's length.
 */
size_t	alert_format(const struct detect_event *ev, const char *sensor,
	    char *buf, size_t len);

/*
 * The same fields as RFC 5424 structured data, "[stripwatch@N
 * event=\"KIND\" ... evidence=\"...\"]", N the enterprise number (0: the
 * documentation number), each value with '"', '\\' and ']'
 * backslash-escaped (RFC 5424 section 6.3.3). Same contract otherwise.
 */
size_t	alert_format_rfc5424(const struct detect_event *ev,
	    const char *sensor, uint32_t enterprise, char *buf, size_t len);

/*
 * A whole RFC 5424 message: "<PRI>1 TIMESTAMP HOST stripwatch PROCID
 * MSGID SD MSG" with pri = facility | severity, the timestamp from ts_us,
 * host "-" when NULL or "", sd "-" when NULL, no MSG when msg is NULL.
 * host, msgid and sd must be ours (checked names, escaped SD). Returns the
 * length, or 0 when it does not fit in len.
 */
size_t	alert_rfc5424_message(int pri, uint64_t ts_us, const char *host,
	    int procid, const char *msgid, const char *sd, const char *msg,
	    char *buf, size_t len);

/* Apply a new configuration (a reload); counters and the current rate
 * limit interval are kept. */
void	alert_set_config(struct alert *a, const struct alert_config *cfg);

const struct alert_stats *alert_get_stats(const struct alert *a);

/* Fill a sink that sends to a. */
void	alert_sink(struct alert *a, struct detect_sink *sink);

#endif
