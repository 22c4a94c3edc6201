/*
 * jsonlog.c: appends JSON lines to the json_log file, one write(2) per
 * line, reopens it on request, and counts what it could not write.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonlog.h"

#define JSONLOG_PATH_MAX	1024
#define JSONLOG_SENSOR_MAX	64
#define JSONLOG_NEWS_MAX	(JSONLOG_PATH_MAX + 128)

struct jsonlog {
	int		 fd;		/* -1: closed */
	char		 path[JSONLOG_PATH_MAX];
	char		 sensor[JSONLOG_SENSOR_MAX];
	int		 cut;		/* the last line went out in part */
	int		 failing;	/* the last write failed */
	int		 told;		/* the log knows it fails */
	int		 err;		/* errno of the failure */
	struct jsonlog_stats stats;
	char		 line[JSON_LINE_MAX];	/* formatted here */
	char		 news[JSONLOG_NEWS_MAX];
};

static void	 jsonlog_sink_event(void *, const struct detect_event *);
static void	 jsonlog_sink_session(void *, const struct detect_session *);

struct jsonlog *
jsonlog_new(const char *sensor)
{
	struct jsonlog	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->fd = -1;
	jsonlog_set_sensor(j, sensor);
	return j;
}

void
jsonlog_free(struct jsonlog *j)
{
	if (j == NULL)
		return;
	if (j->fd != -1)
		close(j->fd);
	free(j);
}

void
jsonlog_set_sensor(struct jsonlog *j, const char *sensor)
{
	snprintf(j->sensor, sizeof(j->sensor), "%s",
	    sensor != NULL ? sensor : "");
}

int
jsonlog_open(struct jsonlog *j, const char *path, char *err, size_t errlen)
{
	int	 fd = -1;

	if (strlen(path) >= sizeof(j->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	/* O_NONBLOCK: a FIFO whose reader stalls drops lines, never stops
	 * the capture loop (regular files ignore it). */
	if (path[0] != '\0' && (fd = open(path, O_WRONLY | O_APPEND |
	    O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0640)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (j->fd != -1)
		close(j->fd);
	j->fd = fd;
	j->cut = 0;
	memmove(j->path, path, strlen(path) + 1);
	return 0;
}

const char *
jsonlog_path(const struct jsonlog *j)
{
	return j->path;
}

int
jsonlog_write(struct jsonlog *j, const char *line, size_t len)
{
	struct iovec	 iov[3];
	size_t		 total;
	ssize_t		 n;
	int		 i = 0;

	if (j->fd == -1)
		return 0;
	if (j->cut) {
		iov[i].iov_base = (void *)"\n";
		iov[i++].iov_len = 1;
	}
	iov[i].iov_base = (void *)line;
	iov[i++].iov_len = len;
	iov[i].iov_base = (void *)"\n";
	iov[i++].iov_len = 1;
	total = len + 1 + (size_t)j->cut;
	do
		n = writev(j->fd, iov, i);
	while (n == -1 && errno == EINTR);
	if (n >= 0 && (size_t)n == total) {
		j->cut = 0;
		j->failing = 0;
		j->stats.written++;
		return 0;
	}
	/* A part written leaves a line without its end: end it first next
	 * time, or it would spoil the next line too. */
	if (n > 0)
		j->cut = 1;
	j->err = n == -1 ? errno : ENOSPC;
	j->failing = 1;
	j->stats.dropped++;
	return -1;
}

const char *
jsonlog_news(struct jsonlog *j)
{
	if (j->failing && !j->told) {
		j->told = 1;
		snprintf(j->news, sizeof(j->news), "%s: %s; lines dropped",
		    j->path, strerror(j->err));
		return j->news;
	}
	if (!j->failing && j->told) {
		j->told = 0;
		snprintf(j->news, sizeof(j->news), "%s: writing again",
		    j->path);
		return j->news;
	}
	return NULL;
}

const struct jsonlog_stats *
jsonlog_get_stats(const struct jsonlog *j)
{
	return &j->stats;
}

static void
jsonlog_sink_event(void *arg, const struct detect_event *ev)
{
	struct jsonlog	*j = arg;
	size_t		 n;

	if (j->fd == -1)
		return;
	if ((n = json_alert(ev, j->sensor, j->line, sizeof(j->line))) > 0)
		jsonlog_write(j, j->line, n);
	else
		j->stats.dropped++;	/* cannot be: json.h sizes lines */
}

static void
jsonlog_sink_session(void *arg, const struct detect_session *s)
{
	struct jsonlog	*j = arg;
	size_t		 n;

	if (j->fd == -1)
		return;
	if ((n = json_session(s, j->sensor, j->line, sizeof(j->line))) > 0)
		jsonlog_write(j, j->line, n);
	else
		j->stats.dropped++;
}

void
jsonlog_sink(struct jsonlog *j, struct detect_sink *sink)
{
	sink->event = jsonlog_sink_event;
	sink->session = jsonlog_sink_session;
	sink->server = NULL;
	sink->arg = j;
}
