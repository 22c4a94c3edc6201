/*
 * config.h: every setting of stripwatch in one struct, read from a
 * "key = value" file. Defaults, ranges, units and which settings need a
 * restart live in one table in config.c; conf/stripwatch.conf documents
 * each setting.
 */
#ifndef STRIPWATCH_CONFIG_H
#define STRIPWATCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_STR_MAX	1024	/* longest string value */

/* A sensor name: a host name's length and letters (see config_sensor_ok). */
#define CONFIG_SENSOR_MAX	64

struct config {
	/* capture */
	char		 interface[CONFIG_STR_MAX];
	char		 filter[CONFIG_STR_MAX];
	uint64_t	 filter_encapsulated;	/* widen filter to tags,
						   tunnels, fragments */
	uint64_t	 snaplen;
	uint64_t	 promisc;
	uint64_t	 buffer_size;		/* kernel ring, bytes */
	uint64_t	 capture_timeout_ms;
	uint64_t	 immediate;
	uint64_t	 dispatch_budget;	/* packets per wakeup */
	uint64_t	 workers;		/* capture processes */
	/* IP fragments */
	uint64_t	 frag_memcap;
	uint64_t	 frag_max_datagrams;
	uint64_t	 frag_timeout;		/* seconds */
	/* flows and reassembly */
	uint64_t	 max_flows;
	uint64_t	 flow_no_data_max;	/* flows without data */
	uint64_t	 flow_idle_timeout;	/* seconds */
	uint64_t	 flow_linger;		/* seconds */
	uint64_t	 flow_resume_max;	/* evicted connections
						   remembered */
	uint64_t	 reasm_memcap;
	uint64_t	 reasm_ooo_max;
	uint64_t	 reasm_depth;
	uint64_t	 reasm_conflict_window;
	uint64_t	 reasm_ack_grace_ms;	/* an ACK-confirmed hole waits */
	char		 checksum_validation[8]; /* auto | yes | no */
	/* server history */
	uint64_t	 history_max_servers;
	uint64_t	 vanished_after;
	/* SMTP */
	uint64_t	 smtp_max_line;
	uint64_t	 smtp_max_pipeline;
	uint64_t	 tls_max_bytes;
	uint64_t	 tls_cert_cache;	/* certificate fingerprints kept */
	uint64_t	 smtp_memcap;		/* partial lines, queues, TLS
						   buffers of all sessions */
	/* database */
	char		 database[CONFIG_STR_MAX];
	uint64_t	 db_queue_max;
	uint64_t	 db_queue_memcap;	/* bytes of queued rows */
	uint64_t	 db_busy_timeout_ms;
	uint64_t	 db_flush_interval_ms;
	uint64_t	 db_final_timeout;	/* seconds */
	uint64_t	 db_wal_warn;		/* bytes, 0 = never */
	uint64_t	 retention_days;
	uint64_t	 stats_interval;	/* seconds */
	uint64_t	 limit_log_interval;	/* seconds */
	/* alerts */
	char		 syslog[8];		/* auto | yes | no */
	char		 syslog_facility[32];
	char		 alert_format[16];	/* plain | rfc5424 | json */
	uint64_t	 alert_rate_limit;
	uint64_t	 alert_rate_interval;	/* seconds */
	char		 syslog_target[CONFIG_STR_MAX]; /* host:port over TCP,
						   "" = the local socket */
	uint64_t	 syslog_enterprise;	/* SD-ID stripwatch@N */
	uint64_t	 syslog_queue_max;	/* bytes waiting to be sent */
	uint64_t	 syslog_final_timeout;	/* seconds, at exit */
	/* JSON lines */
	char		 json_log[CONFIG_STR_MAX];
	/* process */
	char		 user[64];
	char		 sensor_name[CONFIG_SENSOR_MAX]; /* "" = host name */
};

/* Fill c with the defaults. */
void	config_defaults(struct config *c);

/*
 * Read path over c (keeping defaults for what it does not set). On error
 * returns -1 with "path:line: message" in err.
 */
int	config_load(struct config *c, const char *path, char *err,
	    size_t errlen);

/*
 * Set one key from text (the command line uses this too). Returns 0, or -1
 * with a message (without file:line) in err.
 */
int	config_set(struct config *c, const char *key, const char *value,
	    char *err, size_t errlen);

/*
 * Whether a reload (SIGHUP) cannot apply key: 1 it needs a restart, 0 a
 * reload applies it, -1 no such setting. The settings table says which.
 */
int	config_needs_restart(const char *key);

/* One setting that differs between the running and the reloaded file. */
struct config_change {
	const char	*name;
	const char	*was, *now;	/* values as the file writes them */
	int		 restart;	/* needs a restart: next keeps was */
};

/*
 * A reload: compare next (the file read anew) with run (the running
 * settings). Each setting that needs a restart is set back in next to its
 * running value. changed (may be NULL) is called once per setting that
 * differs, in table order. Returns how many differ.
 */
int	config_reload(const struct config *run, struct config *next,
	    void (*changed)(void *, const struct config_change *), void *arg);

/* Write every setting as "key = value" lines (for -n -v and the docs). */
void	config_dump(const struct config *c, void (*out)(void *, const char *),
	    void *arg);

/*
 * Whether name may name a sensor: 1 to CONFIG_SENSOR_MAX - 1 letters,
 * digits, '.', '_' or '-', not starting with '.' or '-'. Such a name needs
 * no escaping in a syslog HOSTNAME, JSON, SQL text or a file name.
 */
int	config_sensor_ok(const char *name);

/*
 * Split a syslog_target "host:port" or "[v6 address]:port" into host (at
 * most hostlen bytes with its NUL) and port. 0, or -1 when malformed.
 */
int	config_target(const char *target, char *host, size_t hostlen,
	    uint16_t *port);

/* syslog facility number for a name ("daemon", "local0"..), or -1. */
int	config_facility(const char *name);

#endif
