/*
 * log.c: diagnostics to stderr or syslog, in the OpenBSD daemons' shape.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static int	 log_to_syslog;
static int	 log_mirror;	/* syslog and stderr both */
static int	 log_verbose;

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

static void
log_vwrite(int pri, const char *fmt, va_list ap, int with_errno)
{
	char	 msg[1024];
	int	 saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
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
