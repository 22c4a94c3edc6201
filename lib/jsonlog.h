/*
 * jsonlog.h: the json_log file: one JSON object per line (json.h) for
 * every alert and session, and whatever else the caller writes (counters).
 *
 * Each line goes out whole in one write(2) to a descriptor opened with
 * O_APPEND: lines of several processes never interleave, and a file
 * renamed away (logrotate) keeps getting whole lines until
 * jsonlog_open() is called again (SIGHUP), after which they go to the new
 * file; none is lost or split in between. A line that cannot be written
 * (disk full, a FIFO nobody drains) is dropped and counted, never waited
 * for; a line the disk only took in part is ended by a newline before the
 * next, so that one line is spoilt, not two.
 */
#ifndef STRIPWATCH_JSONLOG_H
#define STRIPWATCH_JSONLOG_H

#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "json.h"

struct jsonlog_stats {
	uint64_t	 written;	/* lines written */
	uint64_t	 dropped;	/* lines lost: write failed or cut */
};

struct jsonlog;

/* A closed log (lines are not counted until a file is open); sensor is
 * copied (the "sensor" of every line). NULL on ENOMEM. */
struct jsonlog *jsonlog_new(const char *sensor);
void	jsonlog_free(struct jsonlog *j);

/* Rename the sensor (a reload). */
void	jsonlog_set_sensor(struct jsonlog *j, const char *sensor);

/*
 * Open path for appending (created 0640), and close the file written so
 * far; "" closes. On failure the old file stays in use: -1 with a message
 * in err.
 */
int	jsonlog_open(struct jsonlog *j, const char *path, char *err,
	    size_t errlen);

/* The file open now, "" when closed. */
const char *jsonlog_path(const struct jsonlog *j);

/*
 * Write one line (len bytes, no newline; the newline is added). Returns
 * 0, or -1 when it was dropped.
 */
int	jsonlog_write(struct jsonlog *j, const char *line, size_t len);

/*
 * Once per change of state, a sentence for the log: writing failed (and
 * why) or works again; NULL otherwise.
 */
const char *jsonlog_news(struct jsonlog *j);

const struct jsonlog_stats *jsonlog_get_stats(const struct jsonlog *j);

/* Fill a sink that writes alerts and sessions to j. */
void	jsonlog_sink(struct jsonlog *j, struct detect_sink *sink);

#endif
