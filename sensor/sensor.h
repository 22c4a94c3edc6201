/*
 * sensor.h: the state of the stripwatch program, shared by its files:
 * main.c (options, lifecycle, offline reading), live.c (the libevent loop
 * of one capture process), workers.c (several capture processes joined by
 * PACKET_FANOUT), capture.c (libpcap handles and filters), priv.c
 * (dropping privileges).
 */
#ifndef STRIPWATCH_SENSOR_H
#define STRIPWATCH_SENSOR_H

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

#include "alert.h"
#include "config.h"
#include "detect.h"
#include "pcapfile.h"
#include "pipeline.h"
#include "store.h"

#define SENSOR_DB_OFFLINE	"./stripwatch.db"
#define SENSOR_DB_LIVE		"/var/lib/stripwatch/stripwatch.db"
#define SENSOR_TICK_US		1000000ULL	/* housekeeping period */
#define SENSOR_NOTICE_US	60000000ULL	/* between repeated notices */

/* A setting given as an option (-d, -f, -i, -u): it overrides the file. */
struct sensor_override {
	const char	*key;
	const char	*value;
};
#define SENSOR_OVERRIDES_MAX	4

struct sensor {
	struct config	 cfg;
	const char	*config_path;	/* -c, NULL if none */
	struct sensor_override overrides[SENSOR_OVERRIDES_MAX];
	size_t		 noverrides;	/* applied at start and each reload */
	int		 live;		/* -i: live capture */
	int		 syslog_forced;	/* --syslog / --no-syslog: 1 / 0,
					   -1 = by config and mode */
	int		 verbose;
	struct store	*store;
	struct alert	*alert;
	struct detect_sink sinks[2];
	struct pipeline	*pipe;
	pcap_t		*pcap;
	int		 linktype;
	uint64_t	 next_tick_us;	/* packet time of next housekeeping */
	uint64_t	 next_flush_us;	/* packet time of next db flush */
	uint64_t	 frames;	/* frames read */
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
	uint64_t	 smtp_memcap_logged; /* smtp_memcap_hits last logged */
	uint64_t	 next_cap_log_us; /* packet time a cap may be logged */
	uint64_t	 offload_told;	/* offloading senders logged so far */
	uint64_t	 offload_next_us; /* packet time the next such line
					   may be logged */
};

/* One named counter; counters.c lists them all. */
struct counter {
	const char	*name;
	uint64_t	 value;
};
#define COUNTERS_MAX	128

/* counters.c */
size_t	 counters_collect(struct sensor *s, struct counter *c, size_t max);
void	 counters_log_caps(struct sensor *s, uint64_t now_us);

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

/* priv.c */
void	 priv_drop(const char *user);

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
void	 sensor_store_config(struct sensor *s, struct store_config *sc);
void	 sensor_open_outputs(struct sensor *s);
void	 sensor_close_outputs(struct sensor *s);

/* live.c */
int	 live_run(struct sensor *s);
void	 live_notify(const char *msg);

/* workers.c */
int	 workers_run(struct sensor *s);

#endif
