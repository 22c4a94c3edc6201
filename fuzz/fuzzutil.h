/*
 * fuzzutil.h: what every libFuzzer harness of stripwatch shares: a pipeline
 * configured from the real defaults (or tightened limits, so the caps are
 * reached with small inputs), and a checking sink that aborts when a
 * finding breaks the output contract (escaping, one event per kind per
 * session, a known outcome, a JSON line for each finding). Header-only, like tests/testutil.h.
 */
#ifndef STRIPWATCH_FUZZUTIL_H
#define STRIPWATCH_FUZZUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "config.h"
#include "detect.h"
#include "json.h"
#include "pipeline.h"

/*
 * Session ids the checking sink remembers events for. Ids are handed out
 * from 1 upwards per pipeline, and one fuzz input makes far fewer sessions
 * than this; ids above it are simply not checked.
 */
#define FUZZ_MAX_SESSIONS	4096

/* struct fuzz_check.done: the last row of a session said ... */
#define FUZZ_ROW_EVICTED	1	/* evicted: a continuation may follow */
#define FUZZ_ROW_FINAL		2	/* ended: nothing may follow */

struct fuzz_check {
	uint32_t	 kinds[FUZZ_MAX_SESSIONS]; /* event bits per session */
	uint8_t		 done[FUZZ_MAX_SESSIONS];  /* FUZZ_ROW_*, 0 none */
	uint32_t	 resumed[FUZZ_MAX_SESSIONS]; /* of the last row */
	uint64_t	 events;
	uint64_t	 sessions;
	char		 json[JSON_LINE_MAX];	/* a finding's JSON line */
};

static inline void
fuzz_fail(const char *what, const char *text)
{
	fprintf(stderr, "fuzz contract violation: %s: \"%s\"\n", what, text);
	abort();
}

/* Text that reaches SQLite or a log line: printable ASCII only, bounded. */
static inline void
fuzz_check_text(const char *what, const char *s, size_t size)
{
	size_t	 i;

	if (memchr(s, '\0', size) == NULL)
		fuzz_fail(what, "(not NUL-terminated)");
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			fuzz_fail(what, s);
}

/* A JSON line: always written (json.h sizes it), printable, one object. */
static inline void
fuzz_check_json(const char *what, size_t n, const char *line)
{
	if (n == 0 || n != strlen(line) || line[0] != '{' ||
	    line[n - 1] != '}')
		fuzz_fail(what, line);
	fuzz_check_text(what, line, n + 1);
}

static inline void
fuzz_sink_event(void *arg, const struct detect_event *ev)
{
	struct fuzz_check *c = arg;
	char	 line[ALERT_LINE_MAX];
	size_t	 n;

	c->events++;
	if ((unsigned)ev->kind >= DETECT_NKINDS)
		fuzz_fail("event kind", "out of range");
	if ((unsigned)ev->severity > DETECT_SEV_HIGH)
		fuzz_fail("event severity", "out of range");
	if (ev->session_id == 0)
		fuzz_fail("event session id", "0");
	fuzz_check_text("evidence", ev->evidence, sizeof(ev->evidence));
	if (ev->session_id < FUZZ_MAX_SESSIONS) {
		if (c->done[ev->session_id] == FUZZ_ROW_FINAL)
			fuzz_fail("event", "after its session row");
		if (c->kinds[ev->session_id] & (1u << ev->kind))
			fuzz_fail("event kind raised twice",
			    detect_kind_name(ev->kind));
		c->kinds[ev->session_id] |= 1u << ev->kind;
	}
	n = alert_format(ev, "fuzz", line, sizeof(line));
	if (n != strlen(line))
		fuzz_fail("alert_format length", line);
	fuzz_check_text("alert line", line, sizeof(line));
	n = alert_format_rfc5424(ev, "fuzz", 0, line, sizeof(line));
	if (n != strlen(line))
		fuzz_fail("alert_format_rfc5424 length", line);
	fuzz_check_text("rfc5424 line", line, sizeof(line));
	fuzz_check_json("json alert", json_alert(ev, "fuzz", c->json,
	    sizeof(c->json)), c->json);
}

static inline void
fuzz_sink_session(void *arg, const struct detect_session *s)
{
	static const char *const outcomes[] = {
		DETECT_OUTCOME_TLS, DETECT_OUTCOME_TLS_UNSEEN,
		DETECT_OUTCOME_STRIPPED, DETECT_OUTCOME_REFUSED,
		DETECT_OUTCOME_NOT_REQUESTED, DETECT_OUTCOME_NOT_OFFERED,
		DETECT_OUTCOME_INCOMPLETE,
	};
	struct fuzz_check *c = arg;
	size_t	 i;

	c->sessions++;
	if (s->id == 0)
		fuzz_fail("session id", "0");
	if (s->id < FUZZ_MAX_SESSIONS) {
		/* Only a continuation after an eviction writes a row again. */
		if (c->done[s->id] == FUZZ_ROW_FINAL ||
		    (c->done[s->id] != 0 && s->resumed <= c->resumed[s->id]))
			fuzz_fail("session row", "written twice");
		c->done[s->id] = s->close_reason != NULL &&
		    strcmp(s->close_reason, "evicted") == 0 ?
		    FUZZ_ROW_EVICTED : FUZZ_ROW_FINAL;
		c->resumed[s->id] = s->resumed;
		if (s->events != c->kinds[s->id])
			fuzz_fail("session events", "differ from events sent");
	}
	if (s->end_us < s->start_us)
		fuzz_fail("session", "ends before it starts");
	fuzz_check_text("helo", s->helo, sizeof(s->helo));
	fuzz_check_text("banner", s->banner, sizeof(s->banner));
	fuzz_check_text("tls_cipher", s->tls_cipher, sizeof(s->tls_cipher));
	fuzz_check_text("tls_sni", s->tls_sni, sizeof(s->tls_sni));
	fuzz_check_text("cert_sha256", s->cert_sha256,
	    sizeof(s->cert_sha256));
	if (s->outcome == NULL)
		fuzz_fail("outcome", "NULL");
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		if (strcmp(s->outcome, outcomes[i]) == 0)
			break;
	if (i == sizeof(outcomes) / sizeof(outcomes[0]))
		fuzz_fail("outcome not a DETECT_OUTCOME_* value", s->outcome);
	if (s->close_reason == NULL)
		fuzz_fail("close_reason", "NULL");
	fuzz_check_json("json session", json_session(s, "fuzz", c->json,
	    sizeof(c->json)), c->json);
}

/*
 * Tables sized per fuzz input. The shipped 131072 flows and 65536 servers
 * cost megabytes of zeroed buckets per pipeline_new() and slow the fuzzer
 * a hundredfold; an input makes a handful of flows at most.
 */
#define FUZZ_MAX_FLOWS		1024

/*
 * Pipeline limits: the shipped defaults, or (tight != 0) the smallest
 * values the configuration accepts, so line, queue, buffer and memory caps
 * are all reachable within a few kilobytes of fuzz input.
 */
static inline void
fuzz_pipeline_config(struct pipeline_config *pc, int tight)
{
	struct config c;

	config_defaults(&c);
	memset(pc, 0, sizeof(*pc));
	pc->flow.max_flows = tight ? 16 : FUZZ_MAX_FLOWS;
	pc->flow.resume_max = tight ? 1 : FUZZ_MAX_FLOWS;
	pc->flow.no_data_max = tight ? 2 : FUZZ_MAX_FLOWS / 2;
	pc->flow.idle_timeout_us = c.flow_idle_timeout * 1000000ULL;
	pc->flow.seed[0] = 0x0123456789abcdefULL;	/* reproducible */
	pc->flow.seed[1] = 0xfedcba9876543210ULL;
	pc->frag.memcap = (size_t)c.frag_memcap;
	pc->frag.max_datagrams = (uint32_t)c.frag_max_datagrams;
	pc->frag.timeout_us = c.frag_timeout * 1000000ULL;
	pc->reasm.memcap = tight ? 64 * 1024 : (size_t)c.reasm_memcap;
	pc->reasm.ooo_max = tight ? 2048 : (uint32_t)c.reasm_ooo_max;
	pc->reasm.depth = tight ? 4096 : (uint32_t)c.reasm_depth;
	pc->reasm.conflict_window = tight ? 64 :
	    (uint32_t)c.reasm_conflict_window;
	pc->mail.max_line = tight ? 512 : (uint32_t)c.smtp_max_line;
	pc->mail.max_pipeline = tight ? 1 : (uint32_t)c.smtp_max_pipeline;
	pc->mail.tls_max_bytes = tight ? 1024 : (uint32_t)c.tls_max_bytes;
	pc->smtp_memcap = tight ? 2048 : (size_t)c.smtp_memcap;
	pc->history.max_servers = tight ? 1 : FUZZ_MAX_FLOWS;
	pc->history.vanished_after = (uint32_t)c.vanished_after;
	pc->history.seed[0] = 1;
	pc->history.seed[1] = 2;
	pc->first_session_id = 1;
}

/* A fresh checking sink; c must outlive the pipeline. */
static inline void
fuzz_sink_init(struct fuzz_check *c, struct detect_sink *sink)
{
	memset(c, 0, sizeof(*c));
	memset(sink, 0, sizeof(*sink));	/* sink ops added later stay NULL */
	sink->event = fuzz_sink_event;
	sink->session = fuzz_sink_session;
	sink->arg = c;
}

#endif
