/*
 * logfwd.h: hands whole syslog messages (RFC 5424, written by alert.c) to
 * the local syslog socket, one datagram each, or to a TCP receiver, each
 * framed by octet counting ("LEN SP MSG", RFC 6587 section 3.4.1).
 *
 * It never blocks the caller: messages wait in a queue of at most
 * queue_max bytes, allocated once, while the receiver is away or slow;
 * beyond, new messages are dropped and counted. A lost connection is
 * retried by logfwd_poll() after LOGFWD_BACKOFF_MIN_US, doubling up to
 * LOGFWD_BACKOFF_MAX_US; a message cut by a lost connection is sent again
 * whole. A receiver that closed its end is noticed before the next send
 * (as rsyslog does); one that vanishes without a word (a dead host) can
 * still take the messages sent before TCP notices: plain TCP syslog has
 * no acknowledgements.
 */
#ifndef STRIPWATCH_LOGFWD_H
#define STRIPWATCH_LOGFWD_H

#include <stddef.h>
#include <stdint.h>

/* Retry a lost receiver soon, then back off: an outage of a collector
 * costs a connection attempt a minute at most. */
#define LOGFWD_BACKOFF_MIN_US	1000000ULL
#define LOGFWD_BACKOFF_MAX_US	60000000ULL

/* Longest message taken; RFC 5424 receivers must accept 480 octets and
 * should accept 2048; rsyslog's default limit is 8 KiB. */
#define LOGFWD_MSG_MAX		(32 * 1024)

struct logfwd_config {
	const char	*host;		/* TCP receiver; NULL or "" = local */
	uint16_t	 port;
	const char	*path;		/* local datagram socket (/dev/log) */
	size_t		 queue_max;	/* bytes waiting at most */
};

struct logfwd_stats {
	uint64_t	 sent;		/* messages handed to the kernel */
	uint64_t	 dropped;	/* lost: queue full, too long, or given
					   up (logfwd_discard) */
	uint64_t	 reconnects;	/* connections (re)established */
	uint64_t	 queued;	/* messages waiting now */
};

struct logfwd;

/*
 * Resolve the receiver (getaddrinfo: may wait for DNS, so at start only)
 * and allocate the queue; the first connection is tried at once. NULL
 * with a message in err when the host does not resolve or memory lacks.
 */
struct logfwd *logfwd_new(const struct logfwd_config *cfg, char *err,
	    size_t errlen);
void	logfwd_free(struct logfwd *f);

/* Queue one message (len bytes, no trailing newline) and send what can
 * go without waiting. */
void	logfwd_send(struct logfwd *f, const char *msg, size_t len);

/* Connect when a retry is due, finish a connection in progress, send. */
void	logfwd_poll(struct logfwd *f);

/*
 * Try the receiver at the next logfwd_poll() whatever the backoff, and
 * from the shortest delay on (at exit: the last seconds are not spent
 * waiting out a minute's backoff).
 */
void	logfwd_hurry(struct logfwd *f);

/* Give up what still waits (at exit), counted in dropped; how many. */
uint64_t logfwd_discard(struct logfwd *f);

/*
 * Once per change of state, a sentence for the log: the receiver lost
 * (with the reason), reached again, or the queue full; NULL otherwise.
 */
const char *logfwd_news(struct logfwd *f);

/* "host:port" or the socket path, for messages. */
const char *logfwd_name(const struct logfwd *f);

const struct logfwd_stats *logfwd_get_stats(const struct logfwd *f);

#endif
