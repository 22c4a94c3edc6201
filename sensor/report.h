/*
 * report.h: stripwatch report, what is stripped and since when, read from
 * one or more databases: report.c reads them (read-only, per sensor name),
 * reportout.c prints what it read as a table or as one JSON document.
 */
#ifndef STRIPWATCH_REPORT_H
#define STRIPWATCH_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Text from a database, kept cut to these (with the NUL). */
#define REPORT_TS_MAX		32	/* "2026-11-28T19:38:31.123456Z" */
#define REPORT_NAME_MAX		64	/* a sensor, an address, a kind */
#define REPORT_KINDS_MAX	256	/* a server's kinds, comma-separated */

/* A server with tampered sessions. */
struct report_server {
	char		 ip[REPORT_NAME_MAX];
	int64_t		 port;
	char		 proto[REPORT_NAME_MAX];
	char		 first[REPORT_TS_MAX];	/* first tampered session */
	char		 last[REPORT_TS_MAX];	/* last one */
	uint64_t	 tampered;		/* tampered sessions */
	uint64_t	 sessions;		/* sessions seen */
	char		 kinds[REPORT_KINDS_MAX]; /* sorted, "a,b"; "" none */
};

/* An event kind of tampering. */
struct report_kind {
	char		 name[REPORT_NAME_MAX];
	uint64_t	 sessions;		/* sessions it was raised in */
	uint64_t	 servers;		/* servers it was raised at */
	char		 first[REPORT_TS_MAX];
	char		 last[REPORT_TS_MAX];
};

struct report_outcome {
	char		 name[REPORT_NAME_MAX];
	uint64_t	 sessions;
};

/* Signs that the capture missed packets. */
struct report_loss {
	int		 have_stats;	/* the stats table has rows (live) */
	uint64_t	 kernel_drops;	/* per interval rows, summed */
	uint64_t	 if_drops;
	uint64_t	 ack_unseen_bytes; /* running totals, summed over
					   restarts */
	uint64_t	 gaps;		/* sessions.gaps, summed */
	uint64_t	 gap_sessions;	/* sessions with a gap */
};

/* A growing array of n elements of size size. */
struct report_list {
	void		*v;
	size_t		 n;
	size_t		 cap;
};

/* What one sensor's databases hold (one or more: a name is a sensor). */
struct report_sensor {
	char		 name[REPORT_NAME_MAX];
	struct report_list dbs;		/* of int: indexes into report.paths */
	uint64_t	 sessions;
	char		 first[REPORT_TS_MAX];	/* first session's start */
	char		 last[REPORT_TS_MAX];	/* last session's start */
	struct report_list servers;	/* of struct report_server, most
					   tampered first */
	struct report_list kinds;	/* of struct report_kind */
	struct report_list outcomes;	/* of struct report_outcome */
	struct report_loss loss;
};

struct report {
	char		 now[REPORT_TS_MAX];	/* when it was made */
	char		 since[REPORT_TS_MAX];	/* "" = every session */
	char *const	*paths;			/* the databases, as given */
	size_t		 npaths;
	struct report_list sensors;	/* of struct report_sensor */
};

/* stripwatch report ...: argv[0] is "report". Returns the exit status. */
int	report_main(int argc, char *argv[]);

/* reportout.c: the report on fp. 0, or -1 (errno). */
int	report_print_text(const struct report *r, FILE *fp);
int	report_print_json(const struct report *r, FILE *fp);

/* report.c, for reportout.c: element i of a list of elements of type t. */
#define REPORT_AT(l, t, i)	(&((t *)(l)->v)[i])

#endif
