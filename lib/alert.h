/*
 * alert.h: one line per event, to syslog and/or a stream (stdout offline).
 *
 * The line is key=value (or the same as RFC 5424 structured data); text
 * from the wire arrives escaped from detect.c and is quoted, and checked
 * again here, so no CR, LF or control character reaches the log. A rate
 * limit (by packet time) caps lines per interval and reports how many were
 * suppressed.
 */
#ifndef STRIPWATCH_ALERT_H
#define STRIPWATCH_ALERT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "detect.h"

#define ALERT_LINE_MAX	2048	/* longest line formatted */

/* Shape of a line; 0 (a zeroed config) is the key=value line. */
enum alert_format {
	ALERT_FORMAT_PLAIN = 0,		/* event=... evidence="..." */
	ALERT_FORMAT_RFC5424		/* [stripwatch@32473 event="..." ...] */
};

/* SD-ID of the RFC 5424 structured data (enterprise number of RFC 5612's
 * documentation examples until one is registered). */
#define ALERT_SD_ID	"stripwatch@32473"

struct alert_config {
	int		 use_syslog;	/* send to syslog(3) */
	int		 facility;	/* LOG_DAEMON etc. */
	FILE		*stream;	/* also write here, NULL = no */
	uint32_t	 rate_limit;	/* lines per interval, 0 = no limit */
	uint32_t	 rate_interval_s; /* interval of the limit, seconds;
					   0 is taken as 1 */
	enum alert_format format;	/* ALERT_FORMAT_* */
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
 * "event=KIND severity=SEV ts=ISO session=N client=IP:PORT
 * server=IP:PORT evidence=\"...\"", IPv6 as [addr]:port. Evidence is
 * checked again: a control byte, DEL, a byte >= 0x80 becomes \xHH, a bare
 * '"' or a backslash not starting an escape is escaped; if it does not fit,
 * it is cut between escapes and ends in "...". Returns the line's length.
 */
size_t	alert_format(const struct detect_event *ev, char *buf, size_t len);

/*
 * The same fields as RFC 5424 structured data, "[stripwatch@32473
 * event=\"KIND\" ... evidence=\"...\"]", each value with '"', '\\' and
 * ']' backslash-escaped (RFC 5424 section 6.3.3). Same contract otherwise.
 */
size_t	alert_format_rfc5424(const struct detect_event *ev, char *buf,
	    size_t len);

/* Apply a new configuration (a reload); counters and the current rate
 * limit interval are kept. */
void	alert_set_config(struct alert *a, const struct alert_config *cfg);

const struct alert_stats *alert_get_stats(const struct alert *a);

/* Fill a sink that sends to a. */
void	alert_sink(struct alert *a, struct detect_sink *sink);

#endif
