/*
 * log.h: the program's own diagnostics (not alerts): stderr in the
 * foreground, syslog when daemonised or asked to.
 *
 * log_warn appends strerror(errno), log_warnx does not; fatal/fatalx log
 * and exit(1). The library stages never call fatal on wire data.
 */
#ifndef STRIPWATCH_LOG_H
#define STRIPWATCH_LOG_H

#include <stdarg.h>

/* to_syslog: 0 = stderr, 1 = syslog (and stderr unless it is the journal);
 * openlog is done here. verbose: also log_debug lines. */
void	log_init(int to_syslog, int verbose, const char *ident);
void	log_set_syslog(int to_syslog);
int	log_get_verbose(void);

/*
 * A status line on stderr, a terminal: line (no newline, shorter than the
 * terminal is wide) replaces the one shown; NULL erases it. Every other
 * line written here erases it first; the next call draws it again.
 */
void	log_status(const char *line);

void	log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
