/*
 * config.h: every setting of stripwatch in one struct, read from a
 * "key = value" file. Defaults, ranges and units live in one table in
 * config.c; conf/stripwatch.conf documents each setting.
 */
#ifndef STRIPWATCH_CONFIG_H
#define STRIPWATCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_STR_MAX	1024	/* longest string value */

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
	uint64_t	 flow_idle_timeout;	/* seconds */
	uint64_t	 flow_linger;		/* seconds */
	uint64_t	 reasm_memcap;
	uint64_t	 reasm_ooo_max;
	uint64_t	 reasm_depth;
	uint64_t	 reasm_conflict_window;
	/* server history */
	uint64_t	 history_max_servers;
	uint64_t	 vanished_after;
	/* SMTP */
	uint64_t	 smtp_max_line;
	uint64_t	 smtp_max_pipeline;
	uint64_t	 tls_max_bytes;
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
	/* alerts */
	char		 syslog[8];		/* auto | yes | no */
	char		 syslog_facility[32];
	char		 alert_format[16];	/* plain | rfc5424 */
	uint64_t	 alert_rate_limit;
	uint64_t	 alert_rate_interval;	/* seconds */
	/* process */
	char		 user[64];
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

/* Write every setting as "key = value" lines (for -n -v and the docs). */
void	config_dump(const struct config *c, void (*out)(void *, const char *),
	    void *arg);

/* syslog facility number for a name ("daemon", "local0"..), or -1. */
int	config_facility(const char *name);

#endif
