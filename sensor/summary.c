/*
 * summary.c: what a run over capture files did, said on stderr at its end
 * in a few lines of at most 80 columns: files and frames read and how
 * long it took, sessions by outcome, events by kind, rows written to the
 * database and rows lost. A sink beside the store counts the findings, so
 * the numbers are this run's, whatever the database held before.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "sensor.h"

/* Columns of a line after log.c's "stripwatch: " prefix. */
#define SUMMARY_WIDTH	(80 - (int)sizeof("stripwatch: ") + 1)
#define SUMMARY_INDENT	"  "		/* a continued line */

void
summary_start(struct summary *sm)
{
	memset(sm, 0, sizeof(*sm));
	sm->start_us = progress_now_us();
}

static void
on_event(void *arg, const struct detect_event *ev)
{
	struct summary	*sm = arg;

	if (ev->kind < DETECT_NKINDS)
		sm->events[ev->kind]++;
}

/*
 * A connection evicted from a full flow table is written with what it
 * showed so far, and again, under the same id, if it comes back: as in
 * the database, a session counts once, under the outcome of its last row.
 */
static void
on_session(void *arg, const struct detect_session *ds)
{
	struct summary	*sm = arg;

	if (ds->prev_outcome != NULL) {	/* only an evicted row is replaced */
		sm->outcomes[detect_outcome_index(ds->prev_outcome)]--;
		sm->evicted--;
		sm->rewritten++;
	}
	sm->outcomes[detect_outcome_index(ds->outcome)]++;
	if (strcmp(ds->close_reason, "evicted") == 0)
		sm->evicted++;
}

void
summary_sink(struct summary *sm, struct detect_sink *sink)
{
	memset(sink, 0, sizeof(*sink));
	sink->event = on_event;
	sink->session = on_session;
	sink->arg = sm;
}

/* Items joined by ", " after a head, a line logged whenever the next
 * would not fit. */
struct wrap {
	char		 buf[256];
	int		 len;
	const char	*sep;		/* before the next item */
};

static void	 wrap_add(struct wrap *w, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Start a line with head; the first item follows after first_sep. */
static void
wrap_begin(struct wrap *w, const char *first_sep, const char *head)
{
	w->len = snprintf(w->buf, sizeof(w->buf), "%s", head);
	w->sep = first_sep;
}

static void
wrap_add(struct wrap *w, const char *fmt, ...)
{
	char	 item[CONFIG_STR_MAX + 64];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Room is kept for the comma that ends a line continued. */
	if (w->len + (int)strlen(w->sep) + n > SUMMARY_WIDTH - 1 &&
	    w->len > (int)strlen(SUMMARY_INDENT)) {
		log_info("%s%s", w->buf, strcmp(w->sep, ", ") == 0 ? "," : "");
		w->len = snprintf(w->buf, sizeof(w->buf), SUMMARY_INDENT);
		w->sep = "";
	}
	w->len += snprintf(w->buf + w->len, sizeof(w->buf) - (size_t)w->len,
	    "%s%s", w->sep, item);
	if (w->len >= (int)sizeof(w->buf))
		w->len = (int)sizeof(w->buf) - 1;
	w->sep = ", ";
}

static void
wrap_end(struct wrap *w)
{
	log_info("%s", w->buf);
	w->len = 0;
}

static const char *
outcome_name(size_t i)
{
	return i < DETECT_NOUTCOMES ? detect_outcomes[i] : "other";
}

static const char *
kind_name(size_t i)
{
	return detect_kind_name((enum detect_kind)i);
}

/*
 * "WHAT N: n1 name1, n2 name2, ..." for the counts that are not zero,
 * then "(M evicted mid-session)" when evicted is not.
 */
static void
print_counts(const char *what, const uint64_t *counts, size_t n,
    const char *(*name)(size_t), uint64_t evicted)
{
	struct wrap	 w;
	char		 head[64];
	uint64_t	 total = 0;
	size_t		 i;

	for (i = 0; i < n; i++)
		total += counts[i];
	snprintf(head, sizeof(head), "%s %" PRIu64 "%s", what, total,
	    total > 0 ? ":" : "");
	wrap_begin(&w, " ", head);
	for (i = 0; i < n; i++)
		if (counts[i] > 0)
			wrap_add(&w, "%" PRIu64 " %s", counts[i], name(i));
	if (evicted > 0) {
		w.sep = " ";
		wrap_add(&w, "(%" PRIu64 " evicted mid-session)", evicted);
	}
	wrap_end(&w);
}

void
summary_print(const struct summary *sm, const struct sensor *s,
    const struct store_stats *ss)
{
	struct wrap	 w;
	char		 head[64];
	uint64_t	 us = progress_now_us() - sm->start_us;

	snprintf(head, sizeof(head), "read %" PRIu32 " file%s", sm->files,
	    sm->files == 1 ? "" : "s");
	wrap_begin(&w, ", ", head);
	if (sm->files_failed > 0)
		wrap_add(&w, "%" PRIu32 " with an error", sm->files_failed);
	wrap_add(&w, "%" PRIu64 " frames in %" PRIu64 ".%" PRIu64 " s",
	    s->frames, us / 1000000, us / 100000 % 10);
	wrap_end(&w);
	print_counts("sessions", sm->outcomes, SUMMARY_OUTCOMES, outcome_name,
	    sm->evicted);
	print_counts("events", sm->events, DETECT_NKINDS, kind_name, 0);
	snprintf(head, sizeof(head), "rows %" PRIu64 " written",
	    ss->sessions + ss->events - sm->rewritten);
	wrap_begin(&w, ", ", head);
	wrap_add(&w, "%" PRIu64 " dropped", ss->dropped + ss->rejected);
	wrap_add(&w, "database %s", s->cfg.database);
	wrap_end(&w);
}
