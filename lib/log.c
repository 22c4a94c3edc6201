/*
 * log.c: diagnostics to stderr or syslog, in the OpenBSD daemons' shape.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static int	 log_to_syslog;
static int	 log_mirror;	/* syslog and stderr both */
static int	 log_verbose;
static int	 log_status_shown;	/* a status line is on the terminal */

/* The capture thread and the database writer both write to stderr; one
 * lock keeps a line and the status line from cutting into each other. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void	 log_vwrite(int pri, const char *fmt, va_list ap, int with_errno)
		    __attribute__((format(printf, 2, 0)));

void
log_init(int to_syslog, int verbose, const char *ident)
{
	log_verbose = verbose;
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_set_syslog(to_syslog);
}

int
log_get_verbose(void)
{
	return log_verbose;
}

/*
 * Under systemd stderr already goes to the journal, so syslog alone; in a
 * terminal or a test harness, syslog and stderr.
 */
void
log_set_syslog(int to_syslog)
{
	log_to_syslog = to_syslog;
	log_mirror = to_syslog && getenv("JOURNAL_STREAM") == NULL;
}

/* With log_lock held: the status line goes, so the next line starts at
 * the left margin of a clean row. */
static void
status_erase_locked(void)
{
	if (!log_status_shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	log_status_shown = 0;
}

void
log_status(const char *line)
{
	pthread_mutex_lock(&log_lock);
	if (line == NULL)
		status_erase_locked();
	else {
		fprintf(stderr, "\r%s\033[K", line);
		fflush(stderr);
		log_status_shown = 1;
	}
	pthread_mutex_unlock(&log_lock);
}

static void
log_vwrite(int pri, const char *fmt, va_list ap, int with_errno)
{
	/* The longest line is the stats line (sensor/counters.c): over
	 * 1 KiB with a hundred counters; one cut short loses the last. */
	char	 msg[4096];
	int	 saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	pthread_mutex_lock(&log_lock);
	status_erase_locked();
	if (log_to_syslog) {
		if (with_errno)
			syslog(pri, "%s: %s", msg, strerror(saved));
		else
			syslog(pri, "%s", msg);
	}
	if (!log_to_syslog || log_mirror) {
		if (with_errno)
			fprintf(stderr, "stripwatch: %s: %s\n", msg,
			    strerror(saved));
		else
			fprintf(stderr, "stripwatch: %s\n", msg);
		fflush(stderr);
	}
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
