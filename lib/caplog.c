/*
 * caplog.c: turns counters of limits reached into a few log lines that
 * name the setting to raise, however often the limit bites.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "caplog.h"

#define CAPLOG_US_PER_S	1000000ULL

void
caplog_init(struct caplog *cl, const struct caplog_row *rows, size_t nrows,
    uint64_t interval_us)
{
	memset(cl, 0, sizeof(*cl));
	cl->rows = rows;
	cl->nrows = nrows < CAPLOG_ROWS_MAX ? nrows : CAPLOG_ROWS_MAX;
	cl->interval_us = interval_us;
}

void
caplog_set_interval(struct caplog *cl, uint64_t interval_us)
{
	cl->interval_us = interval_us;
}

/* Row i moved by n since its last line (or since the first check). */
static void
caplog_say(struct caplog *cl, size_t i, uint64_t n, uint64_t now_us,
    caplog_out out, void *arg)
{
	const struct caplog_row *r = &cl->rows[i];
	char		 line[CAPLOG_LINE_MAX];
	uint64_t	 from = cl->said_us[i] != 0 ? cl->said_us[i] :
			    cl->start_us;
	uint64_t	 secs = (now_us - from + CAPLOG_US_PER_S - 1) /
			    CAPLOG_US_PER_S;

	snprintf(line, sizeof(line), "%s: %" PRIu64 " %s in the last %" PRIu64
	    " s; raise %s", r->what, n, r->unit, secs > 0 ? secs : 1,
	    r->setting);
	cl->lines++;
	out(arg, line);
}

static size_t
caplog_run(struct caplog *cl, const uint64_t *values, uint64_t now_us,
    int force, caplog_out out, void *arg)
{
	size_t		 i, n = 0;

	if (cl->start_us == 0 || now_us < cl->start_us)
		cl->start_us = now_us;
	for (i = 0; i < cl->nrows; i++) {
		if (values[i] < cl->said[i])	/* counters started over */
			cl->said[i] = values[i];
		if (values[i] == cl->said[i])
			continue;
		if (!force && cl->said_us[i] != 0 &&
		    now_us < cl->said_us[i] + cl->interval_us)
			continue;
		caplog_say(cl, i, values[i] - cl->said[i], now_us, out, arg);
		cl->said[i] = values[i];
		cl->said_us[i] = now_us > 0 ? now_us : 1;
		n++;
	}
	return n;
}

size_t
caplog_check(struct caplog *cl, const uint64_t *values, uint64_t now_us,
    caplog_out out, void *arg)
{
	return caplog_run(cl, values, now_us, 0, out, arg);
}

size_t
caplog_flush(struct caplog *cl, const uint64_t *values, uint64_t now_us,
    caplog_out out, void *arg)
{
	return caplog_run(cl, values, now_us, 1, out, arg);
}
