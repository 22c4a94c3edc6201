/*
 * counters.c: the sensor's counters, named once. The same list feeds the
 * "stats:" log line (SIGUSR1, -v) and the stats table, so an operator finds
 * a counter under one name everywhere. Every limit of the configuration
 * has its counter here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "sensor.h"

size_t
counters_collect(struct sensor *s, struct counter *c, size_t max)
{
	const struct pipeline_stats *ps = pipeline_get_stats(s->pipe);
	const struct store_stats *ss = store_get_stats(s->store);
	const struct alert_stats *as = alert_get_stats(s->alert);
	const struct history_stats *hs =
	    history_get_stats(pipeline_history(s->pipe));
	const struct counter all[] = {
		{ "frames", ps->decode.frames },
		{ "tcp", ps->decode.result[DECODE_OK] },
		{ "truncated", ps->decode.result[DECODE_TRUNCATED] },
		{ "malformed", ps->decode.result[DECODE_MALFORMED] },
		{ "unsupported", ps->decode.result[DECODE_UNSUPPORTED] },
		{ "too_deep", ps->decode.result[DECODE_TOO_DEEP] },
		{ "fragments", ps->frag->fragments },
		{ "frag_reassembled", ps->frag->reassembled },
		{ "frag_timeouts", ps->frag->timeouts },
		{ "frag_memcap_drops", ps->frag->memcap_drops },
		{ "flows", ps->flow->created },
		{ "flows_active", ps->flow->active },
		{ "evictions", ps->flow->closed[FLOW_CLOSE_EVICTED] },
		{ "evictions_no_data", ps->flow->evicted_embryonic },
		{ "idle_expired", ps->flow->closed[FLOW_CLOSE_IDLE] },
		{ "after_end", ps->after_end },
		{ "sessions", ps->sessions },
		{ "not_smtp", ps->not_smtp },
		{ "gaps", ps->reasm.gaps },
		{ "gap_bytes", ps->reasm.gap_bytes },
		{ "ack_unseen_bytes", ps->reasm.ack_unseen },
		{ "duplicates", ps->reasm.duplicates },
		{ "conflicts", ps->reasm.conflicts },
		{ "memcap_hits", ps->reasm.memcap_hits },
		{ "ooo_limit_hits", ps->reasm.ooo_limit },
		{ "depth_reached", ps->reasm.depth_reached },
		{ "reasm_mem", ps->reasm_mem },
		{ "reasm_mem_peak", ps->reasm_mem_peak },
		{ "long_lines", ps->smtp.long_lines },
		{ "pipeline_full", ps->smtp.pipeline_full },
		{ "servers_forgotten", hs->dropped },
		{ "events_db", ss->events },
		{ "sessions_db", ss->sessions },
		{ "db_dropped", ss->dropped },
		{ "db_retries", ss->retries },
		{ "db_queued", ss->queued },
		{ "db_queue_mem", ss->queue_bytes },
		{ "db_queue_mem_peak", ss->queue_bytes_peak },
		{ "db_queue_full", ss->queue_full },
		{ "db_given_up", ss->given_up },
		{ "db_rejected", ss->rejected },
		{ "db_reopened", ss->reopened },
		{ "db_wal_bytes", ss->wal_bytes },
		{ "alerts", as->sent },
		{ "alerts_suppressed", as->suppressed },
		{ "kernel_drops", s->kernel_drops },
		{ "if_drops", s->if_drops },
	};
	size_t	 n = sizeof(all) / sizeof(all[0]);

	if (n > max)
		n = max;
	memcpy(c, all, n * sizeof(*c));
	return n;
}

void
sensor_log_stats(struct sensor *s)
{
	struct counter	 c[COUNTERS_MAX];
	char		 line[COUNTERS_MAX * 40];
	size_t		 i, n, used;

	n = counters_collect(s, c, COUNTERS_MAX);
	used = (size_t)snprintf(line, sizeof(line), "stats:");
	for (i = 0; i < n && used < sizeof(line); i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used,
		    " %s=%" PRIu64, c[i].name, c[i].value);
	log_info("%s", line);
}
