/*
 * progress.c: how far the reading of capture files has got, on stderr.
 * On a terminal, one line redrawn in place a few times a second (percent
 * of the file's bytes, MB/s, time left) and erased before any other line
 * (log.c's status line); forced where stderr is no terminal, a plain line
 * every few seconds. The reading loop calls progress_update() only every
 * PROGRESS_FRAMES frames, so the clock is read once per thousand packets.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sensor.h"

#define PROGRESS_TTY_US		250000ULL	/* a terminal's redraw period */
#define PROGRESS_PLAIN_US	5000000ULL	/* a plain line's period */
#define PROGRESS_COLUMNS	79		/* the line, prefix included:
						   never wraps on 80 */
#define PROGRESS_PREFIX		"stripwatch: reading "

/* The monotonic clock, in microseconds. */
uint64_t
progress_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL +
	    (uint64_t)ts.tv_nsec / 1000ULL;
}

void
progress_init(struct progress *p, int forced)
{
	int	 tty = isatty(STDERR_FILENO);

	memset(p, 0, sizeof(*p));
	if (forced == 0)
		p->mode = PROGRESS_OFF;
	else if (tty)
		p->mode = PROGRESS_TERMINAL;
	else
		p->mode = forced > 0 ? PROGRESS_PLAIN : PROGRESS_OFF;
}

static uint64_t
period_us(const struct progress *p)
{
	return p->mode == PROGRESS_TERMINAL ? PROGRESS_TTY_US :
	    PROGRESS_PLAIN_US;
}

/* A new file: its size when it is a regular file (a pipe has none). */
void
progress_file(struct progress *p, const char *path, int fd, uint32_t index,
    uint32_t nfiles)
{
	struct stat	 st;

	if (p->mode == PROGRESS_OFF)
		return;
	p->path = path;
	p->size = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ?
	    (uint64_t)st.st_size : 0;
	p->index = index;
	p->nfiles = nfiles;
	p->start_us = progress_now_us();
	p->next_us = p->start_us + period_us(p);
}

/* "1:05" or "2:01:05". */
static void
fmt_duration(uint64_t s, char *buf, size_t len)
{
	if (s >= 3600)
		snprintf(buf, len, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64,
		    s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%" PRIu64 ":%02" PRIu64, s / 60, s % 60);
}

/* What follows the file's name: how far, how fast, how long still. */
static void
fmt_tail(const struct progress *p, uint64_t pos, uint64_t frames,
    uint64_t us, char *buf, size_t len)
{
	char		 t[32];
	uint64_t	 rate = us > 0 ? pos * 1000000ULL / us : 0;

	if (p->size == 0 || pos == UINT64_MAX) {
		fmt_duration(us / 1000000ULL, t, sizeof(t));
		snprintf(buf, len, "%" PRIu64 " frames, %s", frames, t);
		return;
	}
	if (pos > p->size)
		pos = p->size;
	fmt_duration(rate > 0 ? (p->size - pos) / rate : 0, t, sizeof(t));
	snprintf(buf, len, "%" PRIu64 "%%, %" PRIu64 ".%" PRIu64 " MB/s, %s "
	    "left", pos * 100 / p->size, rate / 1000000, rate / 100000 % 10,
	    t);
}

/*
 * Every PROGRESS_FRAMES frames: pos is the bytes of the file read so far
 * (UINT64_MAX when unknown), frames those of the file.
 */
void
progress_update(struct progress *p, uint64_t pos, uint64_t frames)
{
	char		 tail[64], count[24], line[PROGRESS_COLUMNS + 64];
	const char	*name;
	uint64_t	 now;
	size_t		 i;
	int		 room;

	if (p->mode == PROGRESS_OFF || (now = progress_now_us()) < p->next_us)
		return;
	p->next_us = now + period_us(p);
	fmt_tail(p, pos, frames, now - p->start_us, tail, sizeof(tail));
	count[0] = '\0';
	if (p->nfiles > 1)
		snprintf(count, sizeof(count), "[%" PRIu32 "/%" PRIu32 "] ",
		    p->index, p->nfiles);
	name = strrchr(p->path, '/') != NULL ? strrchr(p->path, '/') + 1 :
	    p->path;
	if (*name == '\0')
		name = p->path;
	room = PROGRESS_COLUMNS - (int)strlen(PROGRESS_PREFIX) -
	    (int)strlen(count) - (int)strlen(": ") - (int)strlen(tail);
	if (room < 4)
		room = 4;
	if ((int)strlen(name) > room)	/* the end of a name tells most */
		snprintf(line, sizeof(line), "%s%s...%s: %s", PROGRESS_PREFIX,
		    count, name + strlen(name) - (size_t)(room - 3), tail);
	else
		snprintf(line, sizeof(line), "%s%s%s: %s", PROGRESS_PREFIX,
		    count, name, tail);
	line[PROGRESS_COLUMNS] = '\0';	/* a tail longer than a line */
	for (i = 0; line[i] != '\0'; i++)	/* a file name's bytes */
		if (!isprint((unsigned char)line[i]))
			line[i] = '?';
	if (p->mode == PROGRESS_TERMINAL)
		log_status(line);
	else	/* log.c adds the prefix */
		log_info("%s", line + strlen("stripwatch: "));
}

/* The file is read: the line goes. */
void
progress_end(struct progress *p)
{
	if (p->mode == PROGRESS_TERMINAL)
		log_status(NULL);
}

/* Bytes of the file being read that were consumed, UINT64_MAX if that
 * cannot be known (a pipe read by libpcap). */
uint64_t
progress_position(struct sensor *s)
{
	off_t	 off;

	if (s->file_direct)
		return s->file.foff - (uint64_t)(s->file.end - s->file.off);
	if (s->pcap == NULL || (off = ftello(pcap_file(s->pcap))) < 0)
		return UINT64_MAX;
	return (uint64_t)off;
}
