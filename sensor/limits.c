/*
 * limits.c: every limit of the configuration whose counter moves when it
 * is reached, paired with its setting. On the housekeeping tick, a counter
 * that moved makes one log line naming the setting to raise, at most once
 * per limit_log_interval per limit (lib/caplog.c), and the lines still
 * owed are written at exit. A limit added to the configuration gets its
 * row here, with the counter of counters.c it moves.
 */
#include <string.h>

#include "log.h"
#include "sensor.h"

static const struct caplog_row limit_rows[] = {
	{ "max_flows", "evictions_data", "flow table full",
	    "connections with data evicted" },
	{ "flow_no_data_max", "no_data_full",
	    "flows without data full", "connections without data evicted" },
	{ "flow_resume_max", "resume_forgotten",
	    "memory of evicted connections full",
	    "evicted connections forgotten" },
	{ "reasm_memcap", "memcap_hits", "reassembly memory full",
	    "buffers refused" },
	{ "reasm_ooo_max", "ooo_limit_hits", "out-of-order queue full",
	    "segments not queued" },
	{ "frag_memcap or frag_max_datagrams", "frag_memcap_drops",
	    "fragment memory full", "datagrams dropped" },
	{ "history_max_servers", "servers_forgotten", "server history full",
	    "servers forgotten" },
	{ "db_queue_max or db_queue_memcap", "db_queue_full",
	    "database queue full", "rows dropped" },
	{ "smtp_memcap", "smtp_memcap_hits", "mail session memory full",
	    "buffers refused (lines cut short, commands or TLS messages "
	    "not read)" },
	{ "smtp_max_line", "long_lines", "mail lines over the limit",
	    "lines cut" },
	{ "smtp_max_pipeline", "pipeline_full", "pipelined command queue full",
	    "commands not paired" },
	{ "syslog_queue_max", "syslog_dropped", "syslog queue full",
	    "messages dropped" },
};

#define NLIMITS	(sizeof(limit_rows) / sizeof(limit_rows[0]))

_Static_assert(NLIMITS <= CAPLOG_ROWS_MAX, "the limits fit one table");

/* The current value of each row's counter; 0 for a name not found. */
static size_t
limits_values(struct sensor *s, uint64_t *v)
{
	struct counter	 c[COUNTERS_MAX];
	size_t		 n = counters_collect(s, c, COUNTERS_MAX), i, j;
	size_t		 found = 0;

	for (i = 0; i < NLIMITS; i++) {
		v[i] = 0;
		for (j = 0; j < n; j++)
			if (strcmp(c[j].name, limit_rows[i].counter) == 0) {
				v[i] = c[j].value;
				found++;
				break;
			}
	}
	return found;
}

static void
limits_out(void *arg, const char *line)
{
	(void)arg;
	log_warnx("%s", line);
}

void
limits_init(struct sensor *s)
{
	uint64_t	 v[NLIMITS];

	caplog_init(&s->limits, limit_rows, NLIMITS,
	    s->cfg.limit_log_interval * 1000000ULL);
	if (limits_values(s, v) != NLIMITS)
		fatalx("a limit's counter is missing from the counters");
}

void
limits_reload(struct sensor *s)
{
	caplog_set_interval(&s->limits,
	    s->cfg.limit_log_interval * 1000000ULL);
}

void
limits_check(struct sensor *s, uint64_t now_us)
{
	uint64_t	 v[NLIMITS];

	limits_values(s, v);
	caplog_check(&s->limits, v, now_us, limits_out, NULL);
}

void
limits_flush(struct sensor *s, uint64_t now_us)
{
	uint64_t	 v[NLIMITS];

	limits_values(s, v);
	caplog_flush(&s->limits, v, now_us, limits_out, NULL);
}
