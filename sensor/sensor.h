/*
 * sensor.h: the state of the stripwatch program, shared by its files:
 * main.c (options, lifecycle, offline reading), live.c (the libevent loop
 * of one capture process), workers.c (several capture processes joined by
 * PACKET_FANOUT), capture.c (libpcap handles and filters), priv.c
 * (dropping privileges), summary.c and progress.c (what a run over files
 * says at its end, and while it reads).
 */
#ifndef STRIPWATCH_SENSOR_H
#define STRIPWATCH_SENSOR_H

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

#include "alert.h"
#include "caplog.h"
#include "config.h"
#include "detect.h"
#include "jsonlog.h"
#include "logfwd.h"
#include "pcapfile.h"
#include "pipeline.h"
#include "store.h"

#define SENSOR_DB_OFFLINE	"./stripwatch.db"
#define SENSOR_DB_LIVE		"/var/lib/stripwatch/stripwatch.db"
#ifndef SENSOR_CONFIG_FILE	/* the Makefile's, from SYSCONFDIR */
#define SENSOR_CONFIG_FILE	"/etc/stripwatch/stripwatch.conf"
#endif
#define SENSOR_TICK_US		1000000ULL	/* housekeeping period */
#define SENSOR_NOTICE_US	60000000ULL	/* between repeated notices */

/* A setting given as an option (-d, -f, -i, -u, --json-log): it overrides
 * the file, at start and at every reload. */
struct sensor_override {
	const char	*key;
	const char	*value;
};
#define SENSOR_OVERRIDES_MAX	5
#define SENSOR_SYSLOG_SOCKET	"/dev/log"	/* the local syslog socket */
#define SENSOR_NSINKS		4		/* store, alert, json_log,
						   summary */

/* What a run over capture files did (summary.c). */
#define SUMMARY_OUTCOMES	(DETECT_NOUTCOMES + 1)	/* and other */
struct summary {
	uint64_t	 start_us;	/* monotonic clock at the start */
	uint32_t	 files;		/* -r files taken up */
	uint32_t	 files_failed;	/* ... that could not be read whole */
	uint64_t	 outcomes[SUMMARY_OUTCOMES]; /* sessions by the
					   outcome of their last row */
	uint64_t	 evicted;	/* ... whose last row was written when
					   the flow table evicted them */
	uint64_t	 rewritten;	/* rows written again: an evicted
					   connection picked up again */
	uint64_t	 events[DETECT_NKINDS];	/* raised, by kind */
};

/* The progress line of the reading (progress.c). */
enum progress_mode {
	PROGRESS_OFF = 0,
	PROGRESS_TERMINAL,		/* redrawn in place, stderr a tty */
	PROGRESS_PLAIN			/* a line every few seconds */
};
#define PROGRESS_FRAMES		1024	/* frames between two looks at the
					   clock: a power of two */
struct progress {
	enum progress_mode mode;
	const char	*path;		/* the file being read */
	uint64_t	 size;		/* its bytes, 0 = unknown (a pipe) */
	uint64_t	 start_us;	/* monotonic clock when it was opened */
	uint64_t	 next_us;	/* ... when the line may be redrawn */
	uint32_t	 index;		/* its place among the -r files, 1.. */
	uint32_t	 nfiles;
};

struct sensor {
	struct config	 cfg;
	const char	*config_path;	/* -c, NULL if none */
	struct sensor_override overrides[SENSOR_OVERRIDES_MAX];
	size_t		 noverrides;	/* applied at start and each reload */
	int		 live;		/* -i: live capture */
	int		 syslog_forced;	/* --syslog / --no-syslog: 1 / 0,
					   -1 = by config and mode */
	int		 verbose;
	int		 alerts_to_stderr; /* live on a terminal without
					   syslog: alerts shown there */
	char		 name[CONFIG_SENSOR_MAX]; /* sensor_name, or the host
					   name */
	struct store	*store;
	struct alert	*alert;
	struct jsonlog	*jsonlog;	/* json_log (closed when "") */
	struct logfwd	*fwd;		/* own syslog messages, NULL = by
					   syslog(3) */
	struct detect_sink sinks[SENSOR_NSINKS];
	struct pipeline	*pipe;
	pcap_t		*pcap;
	int		 linktype;
	uint64_t	 next_tick_us;	/* packet time of next housekeeping */
	uint64_t	 next_flush_us;	/* packet time of next db flush */
	uint64_t	 frames;	/* frames read */
	uint64_t	 bad_timestamps; /* frames whose capture time made no
					   sense: the time before is used */
	struct pcap_stat last_ps;	/* previous pcap_stats, for deltas */
	uint64_t	 kernel_drops;	/* packets dropped, summed deltas */
	int		 worker;	/* index of this capture process */
	int		 nworkers;	/* capture processes in all (>= 1) */
	uint16_t	 fanout_group;	/* PACKET_FANOUT group, workers > 1 */
	uint32_t	 fanout_key;	/* the group's steering key (fanout.h) */
	int		 ready_fd;	/* worker: tells the supervisor it
					   captures; -1 = tell systemd */
	uint64_t	 if_drops;	/* interface drops, summed deltas */
	int		 errors;	/* input errors: exit status 1 */
	char		*filebuf;	/* -r: CAPTURE_FILE_BUFFER bytes */
	struct pcapfile	 file;		/* -r: a classic pcap file's reader */
	int		 file_direct;	/* records come from file, not
					   libpcap */
	uint64_t	 file_frames;	/* frames read of the current file */
	int		 progress_forced; /* --progress / --no-progress: 1 /
					   0, -1 = when stderr is a tty */
	struct progress	 progress;	/* -r: the reading's progress line */
	struct summary	 summary;	/* -r: what the run did */
	uint64_t	 offload_told;	/* offloading senders logged so far */
	uint64_t	 offload_next_us; /* packet time the next such line
					   may be logged */
	struct caplog	 limits;	/* limits reached, said in the log */
};

/* One named counter; counters.c lists them all. */
struct counter {
	const char	*name;
	uint64_t	 value;
};
#define COUNTERS_MAX	128

/* counters.c */
size_t	 counters_collect(struct sensor *s, struct counter *c, size_t max);
void	 counters_json(struct sensor *s, uint64_t now_us);

/* capture.c */
pcap_t	*capture_open_live(const struct config *c, char *err, size_t len);
pcap_t	*capture_open_file(const char *path, char *buf, size_t buflen,
	    struct pcapfile *pf, int *direct, char *err, size_t len);
#define CAPTURE_FILE_BUFFER	(1024 * 1024)	/* read buffer for -r */
#define CAPTURE_EXPR_MAX	(16 * CONFIG_STR_MAX)	/* widened filter */
int	 capture_set_filter(pcap_t *p, const char *filter, int widen,
	    char *err, size_t len);
int	 capture_filter_expr(pcap_t *p, const char *filter, int widen,
	    char *out, size_t outlen, char *err, size_t len);
int	 capture_file_needs_bpf(const struct config *c);
int	 capture_join_fanout(pcap_t *p, uint16_t group, uint32_t key,
	    char *err, size_t len);

/* summary.c: the lines said at the end of a run over files. */
void	 summary_start(struct summary *sm);
void	 summary_sink(struct summary *sm, struct detect_sink *sink);
void	 summary_print(const struct summary *sm, const struct sensor *s,
	    const struct store_stats *ss);

/* progress.c */
void	 progress_init(struct progress *p, int forced);
void	 progress_file(struct progress *p, const char *path, int fd,
	    uint32_t index, uint32_t nfiles);
void	 progress_update(struct progress *p, uint64_t pos, uint64_t frames);
void	 progress_end(struct progress *p);
uint64_t progress_position(struct sensor *s);
uint64_t progress_now_us(void);

/* limits.c */
void	 limits_init(struct sensor *s);
void	 limits_reload(struct sensor *s);
void	 limits_check(struct sensor *s, uint64_t now_us);
void	 limits_flush(struct sensor *s, uint64_t now_us);

/* priv.c */
void	 priv_drop(const char *user);

/* preflight.c: -n; 0 if a start would find what it needs, else -1 with
 * each failure said on stderr. files: the -r files, none for live. */
int	 preflight_check(const struct sensor *s, char *const files[],
	    size_t nfiles);

/* main.c, counters.c */
int	 sensor_read_config(const struct sensor *s, struct config *c,
	    char *err, size_t len);
void	 sensor_default_database(const struct sensor *s, struct config *c);
void	 sensor_log_stats(struct sensor *s);
void	 sensor_frame(struct sensor *s, const struct pcap_pkthdr *h,
	    const uint8_t *bytes);
void	 sensor_pipeline_config(const struct config *c,
	    struct pipeline_config *pc);
void	 sensor_alert_config(const struct sensor *s, struct alert_config *ac);
void	 sensor_foreground_alerts(struct sensor *s);
void	 sensor_store_config(struct sensor *s, struct store_config *sc);
struct store *sensor_store_open(struct sensor *s, char *err, size_t errlen);
void	 sensor_open_outputs(struct sensor *s);
void	 sensor_close_outputs(struct sensor *s);
void	 sensor_set_name(struct sensor *s);
int	 sensor_open_json(struct sensor *s, char *err, size_t errlen);
int	 sensor_open_fwd(struct sensor *s, char *err, size_t errlen);
void	 sensor_outputs_news(struct sensor *s);

/* live.c */
int	 live_run(struct sensor *s);
void	 live_notify(const char *msg);

/* workers.c */
int	 workers_run(struct sensor *s);

#endif
