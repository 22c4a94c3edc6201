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
	const struct jsonlog_stats *js = jsonlog_get_stats(s->jsonlog);
	const struct logfwd_stats *fs = s->fwd != NULL ?
	    logfwd_get_stats(s->fwd) : NULL;
	const struct counter all[] = {
		{ "frames", ps->decode.frames },
		{ "bad_timestamps", s->bad_timestamps },
		{ "tcp", ps->decode.result[DECODE_OK] },
		{ "truncated", ps->decode.result[DECODE_TRUNCATED] },
		{ "malformed", ps->decode.result[DECODE_MALFORMED] },
		{ "unsupported", ps->decode.result[DECODE_UNSUPPORTED] },
		{ "too_deep", ps->decode.result[DECODE_TOO_DEEP] },
		{ "fragments", ps->frag->fragments },
		{ "frag_reassembled", ps->frag->reassembled },
		{ "frag_timeouts", ps->frag->timeouts },
		{ "frag_memcap_drops", ps->frag->memcap_drops },
		{ "frag_overlaps", ps->frag->overlaps },
		{ "frag_duplicates", ps->frag->duplicates },
		{ "frag_invalid", ps->frag->invalid },
		{ "flows", ps->flow->created },
		{ "flows_active", ps->flow->active },
		{ "evictions", ps->flow->closed[FLOW_CLOSE_EVICTED] },
		{ "evictions_no_data", ps->flow->evicted_embryonic },
		{ "no_data_full", ps->flow->no_data_full },
		{ "evictions_data", ps->flow->evicted_data },
		{ "evictions_learned", ps->flow->evicted_learned },
		{ "resumed", ps->flow->resumed },
		{ "resume_forgotten", ps->flow->resume_dropped },
		{ "idle_expired", ps->flow->closed[FLOW_CLOSE_IDLE] },
		{ "after_end", ps->after_end },
		{ "filtered", ps->filtered },
		{ "bad_checksum", ps->tcp.bad_checksum +
		    ps->decode.result[DECODE_BAD_CHECKSUM] },
		{ "checksum_offloaded", ps->tcp.checksum_offloaded },
		{ "checksum_unverified", ps->tcp.checksum_unverified },
		{ "out_of_window", ps->tcp.out_of_window },
		{ "rst_ignored", ps->tcp.rst_ignored },
		{ "paws_dropped", ps->tcp.paws_dropped },
		{ "probes", ps->tcp.probes },
		{ "sessions", ps->sessions },
		{ "not_smtp", ps->not_smtp },
		{ "gaps", ps->reasm.gaps },
		{ "gap_bytes", ps->reasm.gap_bytes },
		{ "ack_unseen_bytes", ps->reasm.ack_unseen },
		{ "ack_holes_filled", ps->reasm.ack_holes_filled },
		{ "duplicates", ps->reasm.duplicates },
		{ "conflicts", ps->reasm.conflicts },
		{ "overlaps_unchecked", ps->reasm.unchecked },
		{ "memcap_hits", ps->reasm.memcap_hits },
		{ "ooo_limit_hits", ps->reasm.ooo_limit },
		{ "depth_reached", ps->reasm.depth_reached },
		{ "reasm_mem", ps->reasm_mem },
		{ "reasm_mem_peak", ps->reasm_mem_peak },
		{ "long_lines", ps->mail.long_lines },
		{ "pipeline_full", ps->mail.pipeline_full },
		{ "smtp_memcap_hits", ps->smtp_memcap_hits },
		{ "smtp_mem", ps->smtp_mem },
		{ "smtp_mem_peak", ps->smtp_mem_peak },
		{ "tls_cert_cache_hits", ps->tls_cert_cache.hits },
		{ "tls_cert_cache_misses", ps->tls_cert_cache.misses },
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
		{ "json_written", js->written },
		{ "json_dropped", js->dropped },
		{ "syslog_dropped", fs != NULL ? fs->dropped : 0 },
		{ "syslog_reconnects", fs != NULL ? fs->reconnects : 0 },
		{ "kernel_drops", s->kernel_drops },
		{ "if_drops", s->if_drops },
	};
	size_t	 n = sizeof(all) / sizeof(all[0]);

	_Static_assert(sizeof(all) / sizeof(all[0]) <= COUNTERS_MAX,
	    "COUNTERS_MAX is too small for the counter list");
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

/*
 * The counters as one json_log line, {"event_type":"stats", ...,
 * "worker":N,"stats":{"frames":N,...}}, running totals as on the log line.
 */
void
counters_json(struct sensor *s, uint64_t now_us)
{
	static char	 line[JSON_LINE_MAX];
	struct counter	 c[COUNTERS_MAX];
	struct json_out	 o;
	size_t		 i, n, len;

	if (s->jsonlog == NULL || jsonlog_path(s->jsonlog)[0] == '\0')
		return;
	n = counters_collect(s, c, COUNTERS_MAX);
	json_begin(&o, line, sizeof(line));
	json_head(&o, "stats", now_us, s->name);
	json_uint(&o, "worker", (uint64_t)s->worker);
	json_open(&o, "stats");
	for (i = 0; i < n; i++)
		json_uint(&o, c[i].name, c[i].value);
	if ((len = json_end(&o)) > 0)
		jsonlog_write(s->jsonlog, line, len);
}
