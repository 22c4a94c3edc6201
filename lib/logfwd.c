/*
 * logfwd.c: a non-blocking sender of syslog messages, to a local datagram
 * socket or a TCP receiver with octet-counting framing, behind a bounded
 * queue, with reconnection and backoff, so an absent or slow log receiver
 * never holds up the capture loop.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logfwd.h"

/* A connection attempt that neither succeeds nor fails this long (no
 * answer to the SYN) is given up and retried with backoff. */
#define LOGFWD_CONNECT_TIMEOUT_US 10000000ULL

/* Addresses of the receiver kept from getaddrinfo (IPv6 and IPv4). */
#define LOGFWD_ADDRS_MAX	4

/* Each queued message: its length, then its bytes (framed for TCP). */
#define LOGFWD_HDR		sizeof(uint32_t)

#define LOGFWD_NAME_MAX		1100
#define LOGFWD_NEWS_MAX		(LOGFWD_NAME_MAX + 256)

enum logfwd_state {
	LOGFWD_DOWN = 0,	/* no socket; retry at next_try_us */
	LOGFWD_CONNECTING,	/* TCP connect in progress */
	LOGFWD_UP
};

struct logfwd {
	int		 tcp;		/* else the local datagram socket */
	char		 name[LOGFWD_NAME_MAX];
	struct sockaddr_storage addr[LOGFWD_ADDRS_MAX];
	socklen_t	 addrlen[LOGFWD_ADDRS_MAX];
	int		 naddr;
	int		 cur;		/* address tried last */
	int		 fd;
	enum logfwd_state state;
	uint64_t	 since_us;	/* connect started */
	uint64_t	 next_try_us;
	uint64_t	 backoff_us;	/* next delay after a failure */
	char		*q;		/* queue of [len][bytes] entries */
	size_t		 qcap, qhead, qtail;
	size_t		 head_sent;	/* TCP: bytes of the head entry sent */
	struct logfwd_stats stats;
	int		 failing;	/* the receiver was lost */
	int		 told_failing;	/* ... and the log was told */
	int		 full;		/* a message was dropped: queue full */
	int		 told_full;
	char		 reason[128];	/* why it was lost */
	char		 news[LOGFWD_NEWS_MAX];
};

static uint64_t	 logfwd_now(void);
static int	 logfwd_resolve(struct logfwd *, const char *, uint16_t,
		    char *, size_t);
static void	 logfwd_lost(struct logfwd *, const char *, int);
static void	 logfwd_up(struct logfwd *);
static void	 logfwd_connect(struct logfwd *, uint64_t);
static void	 logfwd_check_connect(struct logfwd *, uint64_t);
static int	 logfwd_peer_closed(struct logfwd *);
static int	 logfwd_send_head(struct logfwd *);
static void	 logfwd_flush(struct logfwd *);
static int	 logfwd_enqueue(struct logfwd *, const char *, size_t);

static uint64_t
logfwd_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL +
	    (uint64_t)ts.tv_nsec / 1000;
}

static int
logfwd_resolve(struct logfwd *f, const char *host, uint16_t port,
    char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 serv[8];
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(serv, sizeof(serv), "%u", (unsigned)port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", f->name, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && f->naddr < LOGFWD_ADDRS_MAX;
	    ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(f->addr[0]))
			continue;
		memcpy(&f->addr[f->naddr], ai->ai_addr, ai->ai_addrlen);
		f->addrlen[f->naddr++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (f->naddr == 0) {
		snprintf(err, errlen, "%s: no usable address", f->name);
		return -1;
	}
	return 0;
}

struct logfwd *
logfwd_new(const struct logfwd_config *cfg, char *err, size_t errlen)
{
	struct logfwd		*f;
	struct sockaddr_un	*sun;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->q = malloc(cfg->queue_max)) == NULL) {
		snprintf(err, errlen, "syslog queue: out of memory");
		free(f);
		return NULL;
	}
	f->qcap = cfg->queue_max;
	f->fd = -1;
	f->cur = -1;
	f->backoff_us = LOGFWD_BACKOFF_MIN_US;
	f->tcp = cfg->host != NULL && cfg->host[0] != '\0';
	if (f->tcp) {
		snprintf(f->name, sizeof(f->name), strchr(cfg->host, ':') ?
		    "[%s]:%u" : "%s:%u", cfg->host, (unsigned)cfg->port);
		if (logfwd_resolve(f, cfg->host, cfg->port, err, errlen) == -1) {
			logfwd_free(f);
			return NULL;
		}
		return f;
	}
	snprintf(f->name, sizeof(f->name), "%s", cfg->path);
	sun = (struct sockaddr_un *)&f->addr[0];
	if (strlen(cfg->path) >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "%s: path too long", cfg->path);
		logfwd_free(f);
		return NULL;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, cfg->path, strlen(cfg->path) + 1);
	f->addrlen[0] = sizeof(*sun);
	f->naddr = 1;
	return f;
}

void
logfwd_free(struct logfwd *f)
{
	if (f == NULL)
		return;
	if (f->fd != -1)
		close(f->fd);
	free(f->q);
	free(f);
}

/* The connection failed or broke (err: errno, or 0 with why). */
static void
logfwd_lost(struct logfwd *f, const char *why, int err)
{
	uint64_t	 now = logfwd_now();

	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
	/* A broken connection is retried soon; failed attempts back off. */
	if (f->state == LOGFWD_UP)
		f->backoff_us = LOGFWD_BACKOFF_MIN_US;
	f->state = LOGFWD_DOWN;
	f->next_try_us = now + f->backoff_us;
	f->backoff_us = f->backoff_us * 2 > LOGFWD_BACKOFF_MAX_US ?
	    LOGFWD_BACKOFF_MAX_US : f->backoff_us * 2;
	f->head_sent = 0;	/* the receiver drops a cut frame: resend */
	snprintf(f->reason, sizeof(f->reason), "%s%s%s", why,
	    err != 0 ? ": " : "", err != 0 ? strerror(err) : "");
	f->failing = 1;
}

static void
logfwd_up(struct logfwd *f)
{
	f->state = LOGFWD_UP;
	f->backoff_us = LOGFWD_BACKOFF_MIN_US;
	f->failing = 0;
	f->stats.reconnects++;
}

static void
logfwd_connect(struct logfwd *f, uint64_t now)
{
	int	 i;

	f->cur = (f->cur + 1) % f->naddr;
	i = f->cur;
	f->fd = socket(f->addr[i].ss_family, (f->tcp ? SOCK_STREAM :
	    SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd == -1) {
		logfwd_lost(f, "socket", errno);
		return;
	}
	f->since_us = now;
	if (connect(f->fd, (struct sockaddr *)&f->addr[i], f->addrlen[i]) ==
	    0)
		logfwd_up(f);
	else if (f->tcp && errno == EINPROGRESS)
		f->state = LOGFWD_CONNECTING;
	else
		logfwd_lost(f, "connect", errno);
}

static void
logfwd_check_connect(struct logfwd *f, uint64_t now)
{
	struct pollfd	 p = { f->fd, POLLOUT, 0 };
	socklen_t	 len = sizeof(int);
	int		 soerr = 0;

	if (poll(&p, 1, 0) == 0) {
		if (now - f->since_us >= LOGFWD_CONNECT_TIMEOUT_US)
			logfwd_lost(f, "connect", ETIMEDOUT);
		return;
	}
	if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr != 0)
		logfwd_lost(f, "connect", soerr);
	else
		logfwd_up(f);
}

/*
 * A receiver that went away closed its end; a send would still succeed
 * once and its message be lost. Look first (receivers send nothing:
 * whatever they did send is read and ignored).
 */
static int
logfwd_peer_closed(struct logfwd *f)
{
	char	 buf[512];
	ssize_t	 n;

	while ((n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n == 0) {
		logfwd_lost(f, "closed by the receiver", 0);
		return 1;
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		logfwd_lost(f, "receive", errno);
		return 1;
	}
	return 0;
}

/* Send (the rest of) the head entry; 1 when it went whole, else 0. */
static int
logfwd_send_head(struct logfwd *f)
{
	uint32_t	 len;
	const char	*p = f->q + f->qhead + LOGFWD_HDR;
	ssize_t		 n;

	memcpy(&len, f->q + f->qhead, LOGFWD_HDR);
	n = send(f->fd, p + f->head_sent, len - f->head_sent,
	    MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ENOBUFS)
			return 0;
		if (!f->tcp && errno == EMSGSIZE) {
			f->stats.dropped++;	/* never fits: not retried */
			return 1;
		}
		logfwd_lost(f, "send", errno);
		return 0;
	}
	f->head_sent += (size_t)n;
	if (f->head_sent < len)
		return 0;
	f->stats.sent++;
	return 1;
}

static void
logfwd_flush(struct logfwd *f)
{
	uint32_t	 len;

	if (f->state != LOGFWD_UP || f->qhead == f->qtail)
		return;
	if (f->tcp && f->head_sent == 0 && logfwd_peer_closed(f))
		return;
	while (f->state == LOGFWD_UP && f->qhead < f->qtail) {
		if (!logfwd_send_head(f))
			break;
		memcpy(&len, f->q + f->qhead, LOGFWD_HDR);
		f->qhead += LOGFWD_HDR + len;
		f->head_sent = 0;
		f->stats.queued--;
	}
	if (f->qhead == f->qtail)
		f->qhead = f->qtail = 0;
}

/* Append one entry, framed for TCP ("LEN SP MSG"); -1 when full. */
static int
logfwd_enqueue(struct logfwd *f, const char *msg, size_t len)
{
	char		 pre[16];
	size_t		 plen = 0, need;
	uint32_t	 elen;

	if (f->tcp)
		plen = (size_t)snprintf(pre, sizeof(pre), "%zu ", len);
	need = LOGFWD_HDR + plen + len;
	if (f->qcap - f->qtail < need && f->qhead > 0) {
		memmove(f->q, f->q + f->qhead, f->qtail - f->qhead);
		f->qtail -= f->qhead;
		f->qhead = 0;
	}
	if (f->qcap - f->qtail < need)
		return -1;
	elen = (uint32_t)(plen + len);
	memcpy(f->q + f->qtail, &elen, LOGFWD_HDR);
	memcpy(f->q + f->qtail + LOGFWD_HDR, pre, plen);
	memcpy(f->q + f->qtail + LOGFWD_HDR + plen, msg, len);
	f->qtail += need;
	f->stats.queued++;
	return 0;
}

void
logfwd_send(struct logfwd *f, const char *msg, size_t len)
{
	if (len == 0 || len > LOGFWD_MSG_MAX ||
	    logfwd_enqueue(f, msg, len) == -1) {
		f->stats.dropped++;
		f->full = len <= LOGFWD_MSG_MAX;
		return;
	}
	f->full = 0;
	logfwd_poll(f);
}

void
logfwd_poll(struct logfwd *f)
{
	uint64_t	 now = logfwd_now();

	if (f->state == LOGFWD_DOWN && now >= f->next_try_us)
		logfwd_connect(f, now);
	if (f->state == LOGFWD_CONNECTING)
		logfwd_check_connect(f, now);
	logfwd_flush(f);
}

void
logfwd_hurry(struct logfwd *f)
{
	f->next_try_us = 0;
	f->backoff_us = LOGFWD_BACKOFF_MIN_US;
}

uint64_t
logfwd_discard(struct logfwd *f)
{
	uint64_t	 n = f->stats.queued;

	f->stats.dropped += n;
	f->stats.queued = 0;
	f->qhead = f->qtail = 0;
	f->head_sent = 0;
	return n;
}

const char *
logfwd_news(struct logfwd *f)
{
	if (f->failing && !f->told_failing) {
		f->told_failing = 1;
		snprintf(f->news, sizeof(f->news), "%s: %s; messages wait in "
		    "memory and are retried", f->name, f->reason);
		return f->news;
	}
	if (!f->failing && f->told_failing && f->state == LOGFWD_UP) {
		f->told_failing = 0;
		snprintf(f->news, sizeof(f->news), "%s: sending again",
		    f->name);
		return f->news;
	}
	if (f->full != f->told_full) {
		f->told_full = f->full;
		if (f->full) {
			snprintf(f->news, sizeof(f->news), "%s: queue full, "
			    "messages dropped", f->name);
			return f->news;
		}
	}
	return NULL;
}

const char *
logfwd_name(const struct logfwd *f)
{
	return f->name;
}

const struct logfwd_stats *
logfwd_get_stats(const struct logfwd *f)
{
	return &f->stats;
}
