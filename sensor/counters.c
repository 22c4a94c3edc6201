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
		{ "frag_overlaps", ps->frag->overlaps },
		{ "frag_duplicates", ps->frag->duplicates },
		{ "frag_invalid", ps->frag->invalid },
		{ "flows", ps->flow->created },
		{ "flows_active", ps->flow->active },
		{ "evictions", ps->flow->closed[FLOW_CLOSE_EVICTED] },
		{ "evictions_no_data", ps->flow->evicted_embryonic },
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
		{ "servers_forgotten", hs->dropped },
		{ "events_db", ss->events },
		{ "db_dropped", ss->dropped },
		{ "db_retries", ss->retries },
		{ "alerts", as->sent },
		{ "alerts_suppressed", as->suppressed },
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
 * A memory cap that refused something since it was last logged is logged
 * with how often, at most once per stats_interval of packet time (now_us
 * UINT64_MAX: now, for the summary at exit).
 */
void
counters_log_caps(struct sensor *s, uint64_t now_us)
{
	const struct pipeline_stats *ps;

	if (now_us < s->next_cap_log_us)
		return;
	ps = pipeline_get_stats(s->pipe);
	if (ps->smtp_memcap_hits == s->smtp_memcap_logged)
		return;
	log_warnx("smtp_memcap of %" PRIu64 " bytes reached: %" PRIu64
	    " SMTP buffers refused (lines cut short, commands or TLS "
	    "messages not read)", s->cfg.smtp_memcap,
	    ps->smtp_memcap_hits - s->smtp_memcap_logged);
	s->smtp_memcap_logged = ps->smtp_memcap_hits;
	s->next_cap_log_us = now_us + s->cfg.stats_interval * 1000000ULL;
}
