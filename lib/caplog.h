/*
 * caplog.h: rate-limited reports of limits reached.
 *
 * Each row pairs a counter that moves when a limit bites (a flow evicted, a
 * buffer refused) with the setting that sets the limit. caplog_check(),
 * called on the housekeeping tick with the counters' current values, says
 * when one moved: at once the first time, then at most once per interval
 * per row, each line with how much the counter moved since the last line
 * and which setting to raise. Nothing here logs or reads a clock: lines go
 * to a callback, time is the caller's.
 */
#ifndef STRIPWATCH_CAPLOG_H
#define STRIPWATCH_CAPLOG_H

#include <stddef.h>
#include <stdint.h>

/* Rows of one table at most. */
#define CAPLOG_ROWS_MAX	32

/* Longest line made (longer names are cut). */
#define CAPLOG_LINE_MAX	256

struct caplog_row {
	const char	*setting;	/* what to raise: "max_flows" */
	const char	*counter;	/* the counter's name: "evictions_data" */
	const char	*what;		/* the limit reached: "flow table full" */
	const char	*unit;		/* what the counter counts:
					   "connections with data evicted" */
};

struct caplog {
	const struct caplog_row *rows;
	size_t		 nrows;
	uint64_t	 interval_us;	/* between two lines of one row */
	uint64_t	 start_us;	/* first check; 0 before it */
	uint64_t	 said[CAPLOG_ROWS_MAX];	/* value at the last line */
	uint64_t	 said_us[CAPLOG_ROWS_MAX]; /* its time; 0 = never */
	uint64_t	 lines;		/* lines made */
};

typedef void (*caplog_out)(void *arg, const char *line);

/* rows (at most CAPLOG_ROWS_MAX, more are ignored) must outlive cl. */
void	caplog_init(struct caplog *cl, const struct caplog_row *rows,
	    size_t nrows, uint64_t interval_us);

/* A new interval (a reload); what was said so far stays said. */
void	caplog_set_interval(struct caplog *cl, uint64_t interval_us);

/*
 * values[i] is the current value of rows[i].counter. For each row whose
 * counter moved and that has not made a line for interval_us, call out
 * with one line ("flow table full: 12 connections with data evicted in
 * the last 60 s; raise max_flows"). Returns the lines made.
 */
size_t	caplog_check(struct caplog *cl, const uint64_t *values,
	    uint64_t now_us, caplog_out out, void *arg);

/* The same without waiting for the interval (at exit). */
size_t	caplog_flush(struct caplog *cl, const uint64_t *values,
	    uint64_t now_us, caplog_out out, void *arg);

#endif
