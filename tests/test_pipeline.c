/*
 * test_pipeline.c: whole conversations as Ethernet frames through
 * decode -> flow -> reasm -> smtp -> detect, into a recording sink. The
 * same conversation cut into tiny segments, duplicated, reordered or joined
 * mid-stream must give the same sessions and events as the plain one.
 */
#define _GNU_SOURCE		/* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "testutil.h"

#define MAXFRAMES	512
#define FRAMELEN	1600

struct frames {
	int		 n;
	uint8_t		 b[MAXFRAMES][FRAMELEN];
	uint32_t	 len[MAXFRAMES];
	uint64_t	 ts[MAXFRAMES];
};

/* A TCP conversation under construction: sequence numbers per side. */
struct conv {
	struct frames	*fr;
	uint32_t	 cseq, sseq;	/* next seq of client, server */
	uint64_t	 ts;
	uint16_t	 cport;
	size_t		 mss;		/* payload per segment */
};

static void
add_frame(struct conv *c, int from_client, uint8_t flags, const void *data,
    size_t len)
{
	struct frames	*fr = c->fr;
	uint8_t		*b;
	size_t		 n;

	assert_true(fr->n < MAXFRAMES);
	b = fr->b[fr->n];
	n = tu_eth(b, 0x0800);
	if (from_client)
		n += tu_ipv4_tcp(b + n, "198.51.100.7", c->cport,
		    "192.0.2.25", 25, c->cseq, c->sseq, flags, data, len);
	else
		n += tu_ipv4_tcp(b + n, "192.0.2.25", 25, "198.51.100.7",
		    c->cport, c->sseq, c->cseq, flags, data, len);
	fr->len[fr->n] = (uint32_t)n;
	fr->ts[fr->n] = c->ts;
	c->ts += 1000;
	fr->n++;
}

static void
conv_open(struct conv *c, struct frames *fr, uint16_t cport, size_t mss)
{
	memset(c, 0, sizeof(*c));
	c->fr = fr;
	c->cseq = 0xfffffff0u;	/* wraps during the conversation */
	c->sseq = 1000;
	c->ts = 1700000000000000ULL;
	c->cport = cport;
	c->mss = mss;
	add_frame(c, 1, DECODE_TH_SYN, NULL, 0);
	c->cseq++;
	add_frame(c, 0, DECODE_TH_SYN | DECODE_TH_ACK, NULL, 0);
	c->sseq++;
	add_frame(c, 1, DECODE_TH_ACK, NULL, 0);
}

static void
say(struct conv *c, int from_client, const char *text)
{
	size_t	 len = strlen(text), off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < c->mss ? len - off : c->mss;
		add_frame(c, from_client, DECODE_TH_ACK | DECODE_TH_PUSH,
		    text + off, n);
		if (from_client)
			c->cseq += (uint32_t)n;
		else
			c->sseq += (uint32_t)n;
	}
}

static void
conv_close(struct conv *c)
{
	add_frame(c, 1, DECODE_TH_FIN | DECODE_TH_ACK, NULL, 0);
	c->cseq++;
	add_frame(c, 0, DECODE_TH_FIN | DECODE_TH_ACK, NULL, 0);
	c->sseq++;
	add_frame(c, 1, DECODE_TH_ACK, NULL, 0);
}

/* The ASA-masked conversation: the client continues in plaintext. */
static void
asa_conversation(struct frames *fr, uint16_t cport, size_t mss)
{
	struct conv	 c;

	conv_open(&c, fr, cport, mss);
	say(&c, 0, "220 mx.example.net ESMTP Postfix\r\n");
	say(&c, 1, "EHLO client.example.org\r\n");
	say(&c, 0, "250-mx.example.net\r\n250-PIPELINING\r\n"
	    "250-SIZE 10240000\r\n250-XXXXXXXA\r\n250-8BITMIME\r\n"
	    "250 DSN\r\n");
	say(&c, 1, "MAIL FROM:<a@example.org>\r\n");
	say(&c, 0, "250 2.1.0 Ok\r\n");
	say(&c, 1, "RCPT TO:<b@example.net>\r\n");
	say(&c, 0, "250 2.1.5 Ok\r\n");
	say(&c, 1, "DATA\r\n");
	say(&c, 0, "354 End data with <CR><LF>.<CR><LF>\r\n");
	say(&c, 1, "Subject: quoting\r\n\r\n250-XXXXXXXA\r\nXXXXXXXX\r\n"
	    "STARTTLS\r\n.\r\n");
	say(&c, 0, "250 2.0.0 Ok: queued\r\n");
	say(&c, 1, "QUIT\r\n");
	say(&c, 0, "221 2.0.0 Bye\r\n");
	conv_close(&c);
}

/* A clean session whose body quotes masked keywords. */
static void
clean_conversation(struct frames *fr, uint16_t cport, size_t mss)
{
	struct conv	 c;

	conv_open(&c, fr, cport, mss);
	say(&c, 0, "220 mx.example.net ESMTP\r\n");
	say(&c, 1, "EHLO client.example.org\r\n");
	say(&c, 0, "250-mx.example.net\r\n250-XEXCH50\r\n"
	    "250-X-ANONYMOUSTLS\r\n250 XRDST\r\n");
	say(&c, 1, "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
	    "DATA\r\n");
	say(&c, 0, "250 Ok\r\n250 Ok\r\n354 go\r\n");
	say(&c, 1, "250-XXXXXXXA\r\nXXXXXXXX\r\n.\r\n");
	say(&c, 0, "250 queued\r\n");
	say(&c, 1, "QUIT\r\n");
	say(&c, 0, "221 Bye\r\n");
	conv_close(&c);
}

struct rec {
	int		 nevents;
	enum detect_kind kinds[32];
	uint64_t	 ev_session[32];
	char		 evidence[32][DETECT_TEXT_MAX];
	int		 nsessions;
	struct detect_session s[40];
};

static void
rec_event(void *arg, const struct detect_event *ev)
{
	struct rec	*r = arg;

	if (r->nevents < 32) {
		r->kinds[r->nevents] = ev->kind;
		r->ev_session[r->nevents] = ev->session_id;
		memcpy(r->evidence[r->nevents], ev->evidence,
		    sizeof(ev->evidence));
	}
	r->nevents++;
}

static void
rec_session(void *arg, const struct detect_session *s)
{
	struct rec	*r = arg;

	if (r->nsessions < 40)
		r->s[r->nsessions] = *s;
	r->nsessions++;
}

static void
base_config(struct pipeline_config *pc_out, uint32_t max_flows)
{
	struct pipeline_config pc;

	memset(&pc, 0, sizeof(pc));
	pc.flow.max_flows = max_flows;
	pc.flow.idle_timeout_us = 60ULL * 1000000;
	pc.flow.linger_us = 10ULL * 1000000;
	pc.flow.resume_max = 64;
	pc.frag.memcap = 1 << 20;
	pc.frag.max_datagrams = 64;
	pc.frag.timeout_us = 30ULL * 1000000;
	pc.history.max_servers = 64;
	pc.history.vanished_after = 1;
	pc.reasm.memcap = 1 << 20;
	pc.reasm.ooo_max = 64 * 1024;
	pc.reasm.conflict_window = 2048;
	pc.mail.max_line = 4096;
	pc.mail.max_pipeline = 64;
	pc.mail.tls_max_bytes = 32768;
	pc.smtp_memcap = 1 << 20;
	pc.first_session_id = 100;
	*pc_out = pc;
}

static struct pipeline *
pipeline_with(struct rec *r, struct detect_sink *sink,
    const struct pipeline_config *pc)
{
	memset(r, 0, sizeof(*r));
	memset(sink, 0, sizeof(*sink));
	sink->event = rec_event;
	sink->session = rec_session;
	sink->arg = r;
	return pipeline_new(pc, sink, 1);
}

static struct pipeline *
new_pipeline(struct rec *r, struct detect_sink *sink, uint32_t max_flows)
{
	struct pipeline_config pc;

	base_config(&pc, max_flows);
	return pipeline_with(r, sink, &pc);
}

static struct pipeline *
new_pipeline_memcap(struct rec *r, struct detect_sink *sink,
    uint32_t max_flows, size_t memcap)
{
	struct pipeline_config pc;

	base_config(&pc, max_flows);
	pc.reasm.memcap = memcap;
	return pipeline_with(r, sink, &pc);
}

static void
feed(struct pipeline *p, const struct frames *fr, const int *order, int n)
{
	int	 i, k;

	for (i = 0; i < n; i++) {
		k = order != NULL ? order[i] : i;
		pipeline_frame(p, DECODE_LINK_EN10MB, fr->ts[k], fr->b[k],
		    fr->len[k]);
	}
}

static struct frames *
frames_new(void)
{
	struct frames	*fr = calloc(1, sizeof(*fr));

	assert_non_null(fr);
	return fr;
}

/* Run fr (in order, or as given) and expect one stripped session with one
 * capability_masked event. */
static void
expect_asa(const struct frames *fr, const int *order, int n)
{
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);

	feed(p, fr, order, n);
	pipeline_finish(p);
	assert_int_equal(r.nevents, 1);
	assert_int_equal(r.kinds[0], DETECT_CAPABILITY_MASKED);
	assert_int_equal(r.nsessions, 1);
	assert_int_equal(r.ev_session[0], r.s[0].id);
	assert_int_equal(r.s[0].id, 100);
	assert_string_equal(r.s[0].outcome, DETECT_OUTCOME_STRIPPED);
	assert_string_equal(r.s[0].helo, "client.example.org");
	assert_string_equal(r.s[0].banner, "mx.example.net ESMTP Postfix");
	assert_int_equal(r.s[0].starttls_offered, 0);
	assert_int_equal(r.s[0].tuple.server_port, 25);
	assert_int_equal(r.s[0].tuple.client_port, 40000);
	assert_int_equal(r.s[0].gaps, 0);
	pipeline_free(p);
}

static void
test_asa_plain(void **state)
{
	struct frames	*fr = frames_new();

	(void)state;
	asa_conversation(fr, 40000, 1460);
	expect_asa(fr, NULL, fr->n);
	free(fr);
}

/* Every segment carries 1..7 bytes: lines and keywords split everywhere. */
static void
test_asa_tiny_segments(void **state)
{
	struct frames	*fr;
	size_t		 mss;

	(void)state;
	for (mss = 1; mss <= 7; mss++) {
		fr = frames_new();
		asa_conversation(fr, 40000, mss);
		expect_asa(fr, NULL, fr->n);
		free(fr);
	}
}

/* SPAN duplicates: every frame twice. */
static void
test_asa_duplicated(void **state)
{
	struct frames	*fr = frames_new();
	int		 order[2 * MAXFRAMES], i;

	(void)state;
	asa_conversation(fr, 40000, 16);
	for (i = 0; i < fr->n; i++)
		order[2 * i] = order[2 * i + 1] = i;
	expect_asa(fr, order, 2 * fr->n);
	free(fr);
}

/* Each pair of neighbouring data frames swapped. */
static void
test_asa_reordered(void **state)
{
	struct frames	*fr = frames_new();
	int		 order[MAXFRAMES], i, t;

	(void)state;
	asa_conversation(fr, 40000, 5);
	for (i = 0; i < fr->n; i++)
		order[i] = i;
	for (i = 3; i + 1 < fr->n - 3; i += 2) {
		t = order[i];
		order[i] = order[i + 1];
		order[i + 1] = t;
	}
	expect_asa(fr, order, fr->n);
	free(fr);
}

/* Joined after the handshake and the banner: no SYN seen. */
static void
test_asa_midstream(void **state)
{
	struct frames	*fr = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	int		 order[MAXFRAMES], i, n = 0;

	(void)state;
	asa_conversation(fr, 40000, 1460);
	for (i = 4; i < fr->n; i++)	/* skip SYN, SYN-ACK, ACK, banner */
		order[n++] = i;
	feed(p, fr, order, n);
	pipeline_finish(p);
	assert_int_equal(r.nevents, 1);
	assert_int_equal(r.kinds[0], DETECT_CAPABILITY_MASKED);
	assert_int_equal(r.nsessions, 1);
	assert_int_equal(r.s[0].tuple.server_port, 25);
	pipeline_free(p);
	free(fr);
}

static void
test_clean_is_quiet(void **state)
{
	struct frames	*fr = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);

	(void)state;
	clean_conversation(fr, 40001, 3);
	feed(p, fr, NULL, fr->n);
	pipeline_finish(p);
	assert_int_equal(r.nevents, 0);
	assert_int_equal(r.nsessions, 1);
	assert_string_equal(r.s[0].outcome, DETECT_OUTCOME_NOT_OFFERED);
	assert_string_equal(r.s[0].close_reason, "fin");
	pipeline_free(p);
	free(fr);
}

/* Two sessions interleaved frame by frame keep their own state; ids are
 * given in the order sessions need them. */
static void
test_interleaved_sessions(void **state)
{
	struct frames	*a = frames_new(), *b = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	int		 i;

	(void)state;
	asa_conversation(a, 40000, 7);
	clean_conversation(b, 40001, 7);
	for (i = 0; i < a->n || i < b->n; i++) {
		if (i < a->n)
			pipeline_frame(p, DECODE_LINK_EN10MB, a->ts[i],
			    a->b[i], a->len[i]);
		if (i < b->n)
			pipeline_frame(p, DECODE_LINK_EN10MB, b->ts[i],
			    b->b[i], b->len[i]);
	}
	pipeline_finish(p);
	assert_int_equal(r.nevents, 1);
	assert_int_equal(r.nsessions, 2);
	assert_true(r.s[0].id != r.s[1].id);
	for (i = 0; i < 2; i++) {
		if (r.s[i].tuple.client_port == 40000) {
			assert_string_equal(r.s[i].outcome,
			    DETECT_OUTCOME_STRIPPED);
			assert_int_equal(r.ev_session[0], r.s[i].id);
		} else
			assert_string_equal(r.s[i].outcome,
			    DETECT_OUTCOME_NOT_OFFERED);
	}
	pipeline_free(p);
	free(a);
	free(b);
}

/* A full table evicts an open session: it is finished and recorded. */
static void
test_eviction_records_session(void **state)
{
	struct frames	*fr = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	struct conv	 c;
	int		 i;

	(void)state;
	conv_open(&c, fr, 40000, 1460);
	say(&c, 0, "220 mx ESMTP\r\n");
	say(&c, 1, "EHLO c\r\n");
	say(&c, 0, "250-mx\r\n250 XXXXXXXA\r\n");
	feed(p, fr, NULL, fr->n);
	assert_int_equal(r.nevents, 1);	/* raised while open */
	assert_int_equal(r.nsessions, 0);
	/* 16 new connections with data push it out. */
	for (i = 0; i < 16; i++) {
		struct frames	*g = frames_new();
		struct conv	 d;

		conv_open(&d, g, (uint16_t)(50000 + i), 1460);
		d.ts = c.ts + 1000000 * (uint64_t)(i + 1);
		say(&d, 0, "220 x\r\n");
		feed(p, g, NULL, g->n);
		free(g);
	}
	assert_true(r.nsessions >= 1);
	assert_int_equal(r.s[0].tuple.client_port, 40000);
	assert_string_equal(r.s[0].close_reason, "evicted");
	assert_string_equal(r.s[0].outcome, DETECT_OUTCOME_STRIPPED);
	pipeline_free(p);
	free(fr);
}

/* Idle sessions are finished by packet time. */
static void
test_idle_expiry(void **state)
{
	struct frames	*fr = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	struct conv	 c;

	(void)state;
	conv_open(&c, fr, 40000, 1460);
	say(&c, 0, "220 mx ESMTP\r\n");
	feed(p, fr, NULL, fr->n);
	pipeline_tick(p, c.ts + 30ULL * 1000000);
	assert_int_equal(r.nsessions, 0);
	pipeline_tick(p, c.ts + 61ULL * 1000000);
	assert_int_equal(r.nsessions, 1);
	assert_string_equal(r.s[0].close_reason, "idle");
	assert_string_equal(r.s[0].outcome, DETECT_OUTCOME_INCOMPLETE);
	/* The session ended with its last packet, not when it expired. */
	assert_true(r.s[0].end_us == fr->ts[fr->n - 1]);
	assert_true(r.s[0].start_us == fr->ts[0]);
	pipeline_free(p);
	free(fr);
}

/*
 * A hole confirmed by an ACK before any payload was seen (a FIN beyond a
 * lost segment): reassembly reports a gap while the flow has no session
 * yet. Found by fuzzing; must be ignored, not crash.
 */
static void
test_gap_before_payload(void **state)
{
	struct frames	*fr = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	struct conv	 c;

	(void)state;
	conv_open(&c, fr, 40000, 1460);
	c.sseq += 100;			/* 100 server bytes never captured */
	add_frame(&c, 0, DECODE_TH_FIN | DECODE_TH_ACK, NULL, 0);
	c.sseq++;
	add_frame(&c, 1, DECODE_TH_ACK, NULL, 0);	/* acks the FIN */
	add_frame(&c, 1, DECODE_TH_RST, NULL, 0);
	feed(p, fr, NULL, fr->n);
	pipeline_finish(p);
	assert_int_equal(r.nsessions, 0);
	assert_int_equal(r.nevents, 0);
	pipeline_free(p);
	free(fr);
}

/*
 * Copies arriving after the connection ended (a retransmitted EHLO reply
 * after both FINs) are absorbed by the lingering flow: no second session,
 * no second event. A new SYN on the same ports is a new connection.
 */
static void
test_after_end(void **state)
{
	struct frames	*fr = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	uint64_t	 after;
	int		 n, ehlo_reply = -1, i;

	(void)state;
	asa_conversation(fr, 40000, 1460);
	for (i = 0; i < fr->n; i++)
		if (fr->len[i] > 100 && memmem(fr->b[i], fr->len[i],
		    "XXXXXXXA", 8) != NULL && ehlo_reply < 0)
			ehlo_reply = i;
	assert_true(ehlo_reply > 0);
	feed(p, fr, NULL, fr->n);
	assert_int_equal(r.nsessions, 1);	/* FIN both ways: ended */
	/* The last ACK came after both FINs: already absorbed. */
	after = pipeline_get_stats(p)->after_end;
	assert_int_equal(after, 1);
	n = fr->n;
	/* The stray copy, one second later. */
	fr->ts[ehlo_reply] = fr->ts[n - 1] + 1000000;
	pipeline_frame(p, DECODE_LINK_EN10MB, fr->ts[ehlo_reply],
	    fr->b[ehlo_reply], fr->len[ehlo_reply]);
	assert_int_equal(pipeline_get_stats(p)->after_end, after + 1);
	assert_int_equal(r.nsessions, 1);
	assert_int_equal(r.nevents, 1);
	/* The same conversation again on the same ports. */
	fr->n = 0;
	asa_conversation(fr, 40000, 1460);
	for (i = 0; i < fr->n; i++)
		fr->ts[i] += 5000000;
	feed(p, fr, NULL, fr->n);
	pipeline_finish(p);
	assert_int_equal(r.nsessions, 2);
	assert_int_equal(r.nevents, 2);
	assert_true(r.s[0].id != r.s[1].id);
	assert_string_equal(r.s[1].close_reason, "fin");
	pipeline_free(p);
	free(fr);
}

/* Index of the first frame of fr whose bytes hold text. */
static int
frame_with(const struct frames *fr, const char *text)
{
	int	 i;

	for (i = 0; i < fr->n; i++)
		if (memmem(fr->b[i], fr->len[i], text, strlen(text)) != NULL)
			return i;
	fail_msg("no frame holds \"%s\"", text);
	return -1;
}

/* Frames [from, to) of fr, moved in time to start at ts (if not 0). */
static uint64_t
feed_range(struct pipeline *p, struct frames *fr, int from, int to,
    uint64_t ts)
{
	uint64_t	 shift = ts != 0 ? ts - fr->ts[from] : 0;
	int		 i;

	for (i = from; i < to; i++) {
		fr->ts[i] += shift;
		pipeline_frame(p, DECODE_LINK_EN10MB, fr->ts[i], fr->b[i],
		    fr->len[i]);
	}
	return fr->ts[to - 1];
}

/*
 * Another connection from port, at ts: a greeting (an SMTP session that
 * may still show anything), or bytes no SMTP peer sends (nothing to
 * learn). Returns the time of its last frame.
 */
static uint64_t
other_connection(struct pipeline *p, uint16_t port, uint64_t ts, int binary)
{
	struct frames	*g = frames_new();
	struct conv	 d;

	conv_open(&d, g, port, 1460);
	if (binary)
		say(&d, 1, "\x16\x03\x01\x00\x02hi");
	else
		say(&d, 0, "220 x\r\n");
	ts = feed_range(p, g, 0, g->n, ts);
	free(g);
	return ts;
}

/* The rows recorded for client port cport; all must carry the same id. */
static int
rows_of(const struct rec *r, uint16_t cport, const struct detect_session **last)
{
	int	 i, n = 0;

	*last = NULL;
	for (i = 0; i < r->nsessions && i < 40; i++) {
		if (r->s[i].tuple.client_port != cport)
			continue;
		if (*last != NULL)
			assert_int_equal(r->s[i].id, (*last)->id);
		*last = &r->s[i];
		n++;
	}
	return n;
}

/*
 * A full table evicts connections with nothing left to learn (here: not
 * SMTP) before an open SMTP session, even one idle longer: the masked
 * EHLO reply that comes later is still seen, in one session.
 */
static void
test_eviction_spares_learning(void **state)
{
	struct frames	*fr = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	const struct detect_session *s;
	uint64_t	 ts;
	int		 cut, i;

	(void)state;
	asa_conversation(fr, 40000, 1460);
	cut = frame_with(fr, "250-mx.example.net");
	ts = feed_range(p, fr, 0, cut, 0);
	for (i = 0; i < 15; i++)
		ts = other_connection(p, (uint16_t)(50000 + i), ts + 1000, 1);
	assert_int_equal(pipeline_get_stats(p)->flow->active, 16);
	for (i = 0; i < 8; i++)
		ts = other_connection(p, (uint16_t)(51000 + i), ts + 1000, 0);
	feed_range(p, fr, cut, fr->n, ts + 1000);
	pipeline_finish(p);
	assert_int_equal(pipeline_get_stats(p)->flow->evicted_data, 8);
	assert_int_equal(pipeline_get_stats(p)->flow->evicted_learned, 8);
	assert_int_equal(r.nevents, 1);
	assert_int_equal(r.kinds[0], DETECT_CAPABILITY_MASKED);
	assert_int_equal(rows_of(&r, 40000, &s), 1);
	assert_int_equal(s->id, r.ev_session[0]);
	assert_string_equal(s->outcome, DETECT_OUTCOME_STRIPPED);
	assert_string_equal(s->close_reason, "fin");
	assert_int_equal(s->resumed, 0);
	assert_int_equal(pipeline_get_stats(p)->not_smtp, 15);
	pipeline_free(p);
	free(fr);
}

/* Evict the session of fr (cut before frame text) with 16 connections
 * that may still show something, then let it go on. */
static void
evict_midway(struct pipeline *p, struct frames *fr, const char *text)
{
	uint64_t	 ts;
	int		 cut = frame_with(fr, text), i;

	ts = feed_range(p, fr, 0, cut, 0);
	for (i = 0; i < 16; i++)
		ts = other_connection(p, (uint16_t)(50000 + i), ts + 1000, 0);
	feed_range(p, fr, cut, fr->n, ts + 1000);
	pipeline_finish(p);
}

/*
 * A session evicted after its masked EHLO reply and seen again: one
 * session (the same id in both rows, the second marked resumed and
 * merging into the first), the event raised once, no bogus mid-stream
 * session.
 */
static void
test_resumed_after_eviction(void **state)
{
	struct frames	*fr = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	const struct detect_session *s;

	(void)state;
	asa_conversation(fr, 40000, 1460);
	evict_midway(p, fr, "MAIL FROM");
	assert_int_equal(r.nevents, 1);
	assert_int_equal(r.kinds[0], DETECT_CAPABILITY_MASKED);
	assert_int_equal(rows_of(&r, 40000, &s), 2);
	assert_int_equal(s->id, r.ev_session[0]);
	assert_int_equal(s->resumed, 1);
	assert_string_equal(s->close_reason, "fin");
	assert_string_equal(s->outcome, DETECT_OUTCOME_STRIPPED);
	assert_true(s->start_us == fr->ts[0]);
	assert_true(s->end_us == fr->ts[fr->n - 2]);	/* the last FIN */
	assert_int_equal(s->gaps, 0);
	/* 16 others and this one, counted once. */
	assert_int_equal(pipeline_get_stats(p)->sessions, 17);
	assert_int_equal(pipeline_get_stats(p)->flow->resumed, 1);
	pipeline_free(p);
	free(fr);
}

/*
 * Each session names the source it was first seen in, escaped: the
 * sessions of the second file name it, and a session of the first file
 * evicted and continued in the second keeps the first, in both rows.
 */
static void
test_source_of_sessions(void **state)
{
	struct frames	*fr = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	const struct detect_session *s;
	const char	*b;
	uint64_t	 ts;
	int		 cut, i, others = 0;

	(void)state;
	asa_conversation(fr, 40000, 1460);
	cut = frame_with(fr, "MAIL FROM");
	assert_string_equal(pipeline_set_source(p, "a.pcap"), "a.pcap");
	ts = feed_range(p, fr, 0, cut, 0);
	b = pipeline_set_source(p, "dir/b\x1b\n.pcap");
	assert_string_equal(b, "dir/b\\x1b\\n.pcap");
	for (i = 0; i < 16; i++)
		ts = other_connection(p, (uint16_t)(50000 + i), ts + 1000, 0);
	feed_range(p, fr, cut, fr->n, ts + 1000);
	pipeline_finish(p);
	assert_int_equal(rows_of(&r, 40000, &s), 2);
	for (i = 0; i < r.nsessions; i++) {
		if (r.s[i].tuple.client_port == 40000)
			assert_string_equal(r.s[i].source, "a.pcap");
		else {
			assert_string_equal(r.s[i].source, b);
			others++;
		}
	}
	assert_int_equal(others, 16);
	pipeline_free(p);
	free(fr);
}

/* A name longer than a source may be is cut, and says so. */
static void
test_source_cut(void **state)
{
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	char		 name[2 * DETECT_SOURCE_MAX];
	const char	*kept;

	(void)state;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	kept = pipeline_set_source(p, name);
	assert_int_equal(strlen(kept), DETECT_SOURCE_MAX - 1);
	assert_string_equal(kept + strlen(kept) - 3, "...");
	pipeline_free(p);
}

/* The refusal comes after the eviction: the continuation pairs it with
 * the STARTTLS sent before. */
static void
test_resumed_refusal(void **state)
{
	struct frames	*fr = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	const struct detect_session *s;
	struct conv	 c;

	(void)state;
	conv_open(&c, fr, 40000, 1460);
	say(&c, 0, "220 mx.example.net ESMTP\r\n");
	say(&c, 1, "EHLO client.example.org\r\n");
	say(&c, 0, "250-mx.example.net\r\n250-PIPELINING\r\n"
	    "250-STARTTLS\r\n250 8BITMIME\r\n");
	say(&c, 1, "STARTTLS\r\n");
	say(&c, 0, "454 4.7.0 TLS not available\r\n");
	say(&c, 1, "MAIL FROM:<a@example.org>\r\n");
	say(&c, 0, "250 2.1.0 Ok\r\n");
	say(&c, 1, "QUIT\r\n");
	say(&c, 0, "221 Bye\r\n");
	conv_close(&c);
	evict_midway(p, fr, "454 4.7.0");
	assert_int_equal(r.nevents, 1);
	assert_int_equal(r.kinds[0], DETECT_STARTTLS_REFUSED);
	assert_int_equal(rows_of(&r, 40000, &s), 2);
	assert_int_equal(s->id, r.ev_session[0]);
	assert_string_equal(s->outcome, DETECT_OUTCOME_REFUSED);
	assert_int_equal(s->starttls_offered, 1);
	assert_int_equal(s->starttls_reply, 454);
	pipeline_free(p);
	free(fr);
}

/*
 * Reassembly memory taken by another session's rings: a conflicting copy
 * of the EHLO reply is still found, by digest, and the evidence says
 * that the first copy's bytes were not kept.
 */
static void
test_conflict_under_memcap(void **state)
{
	struct frames	*a = frames_new(), *b = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline_memcap(&r, &sink, 16, 4096);
	struct conv	 c;
	uint32_t	 sseq;
	uint64_t	 ts;

	(void)state;
	clean_conversation(a, 40001, 1460);
	ts = feed_range(p, a, 0, 6, 0);		/* both rings taken */
	conv_open(&c, b, 40000, 1460);
	say(&c, 0, "220 mx.example.net ESMTP\r\n");
	say(&c, 1, "EHLO client.example.org\r\n");
	sseq = c.sseq;
	say(&c, 0, "250-mx.example.net\r\n250-STARTTLS\r\n250 DSN\r\n");
	c.sseq = sseq;		/* the same bytes' place, other bytes */
	say(&c, 0, "250-mx.example.net\r\n250-XXXXXXXA\r\n250 DSN\r\n");
	say(&c, 1, "QUIT\r\n");
	say(&c, 0, "221 Bye\r\n");
	conv_close(&c);
	ts = feed_range(p, b, 0, b->n, ts + 1000);
	feed_range(p, a, 6, a->n, ts + 1000);
	pipeline_finish(p);
	assert_true(pipeline_get_stats(p)->reasm.memcap_hits > 0);
	assert_int_equal(r.nevents, 1);
	assert_int_equal(r.kinds[0], DETECT_REASSEMBLY_CONFLICT);
	assert_non_null(strstr(r.evidence[0], "not kept"));
	assert_non_null(strstr(r.evidence[0], "XXXXXXXA"));
	pipeline_free(p);
	free(a);
	free(b);
}

/*
 * A password the client sent in the clear is not kept by reassembly for
 * overlap checks: a later "retransmission" of that segment with other
 * bytes is not compared, so no evidence can quote the password (before,
 * reassembly_conflict showed kept=[AUTH PLAIN <the credentials>]).
 */
static void
test_password_not_kept(void **state)
{
	static const char *const blob = "AGFsaWNlAHMzY3IzdC1QVw==";
	struct frames	*fr = frames_new();
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	struct conv	 c;
	uint32_t	 cseq;
	int		 i;

	(void)state;
	conv_open(&c, fr, 40000, 1460);
	say(&c, 0, "220 mx.example.net ESMTP\r\n");
	say(&c, 1, "EHLO client.example.org\r\n");
	say(&c, 0, "250-mx.example.net\r\n250 AUTH PLAIN\r\n");
	cseq = c.cseq;
	say(&c, 1, "AUTH PLAIN AGFsaWNlAHMzY3IzdC1QVw==\r\n");
	say(&c, 0, "235 2.7.0 ok\r\n");
	c.cseq = cseq;		/* the same bytes' place, other bytes */
	say(&c, 1, "AUTH PLAIN AGFsaWNlAGFub3RoZXItUFc=\r\n");
	say(&c, 1, "QUIT\r\n");
	say(&c, 0, "221 Bye\r\n");
	conv_close(&c);
	feed(p, fr, NULL, fr->n);
	pipeline_finish(p);
	assert_true(r.nevents >= 1);
	for (i = 0; i < r.nevents && i < 32; i++) {
		assert_int_not_equal(r.kinds[i], DETECT_REASSEMBLY_CONFLICT);
		assert_null(strstr(r.evidence[i], blob));
		assert_null(strstr(r.evidence[i], "s3cr3t"));
	}
	assert_int_equal(r.kinds[0], DETECT_CLEARTEXT_CREDENTIALS);
	pipeline_free(p);
	free(fr);
}

/* Garbage frames of every length: counted, never a crash, no session. */
static void
test_garbage_frames(void **state)
{
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline	*p = new_pipeline(&r, &sink, 16);
	uint8_t		 junk[256];
	uint32_t	 i, x = 12345;
	int		 lt;
	static const int links[] = { DECODE_LINK_EN10MB, DECODE_LINK_RAW,
	    DECODE_LINK_NULL, DECODE_LINK_LINUX_SLL, DECODE_LINK_LINUX_SLL2,
	    999 };

	(void)state;
	for (lt = 0; lt < 6; lt++)
		for (i = 0; i < 2000; i++) {
			size_t	 k;

			for (k = 0; k < sizeof(junk); k++) {
				x = x * 1103515245u + 12345u;
				junk[k] = (uint8_t)(x >> 16);
			}
			junk[0] = (i & 1) ? 0x45 : junk[0];
			pipeline_frame(p, links[lt], i, junk, i % 257);
		}
	pipeline_finish(p);
	assert_int_equal(pipeline_get_stats(p)->decode.frames, 12000);
	pipeline_free(p);
}

/* A session stopped right after the 220 to STARTTLS: its TLS reader
 * exists, and no line is pending. */
static void
starttls_conversation(struct frames *fr, uint16_t cport)
{
	struct conv	 c;

	conv_open(&c, fr, cport, 1460);
	say(&c, 0, "220 mx.example.net ESMTP\r\n");
	say(&c, 1, "EHLO client.example.org\r\n");
	say(&c, 0, "250-mx.example.net\r\n250 STARTTLS\r\n");
	say(&c, 1, "STARTTLS\r\n");
	say(&c, 0, "220 go ahead\r\n");
}

/*
 * What a tracked flow holds outside every memcap (the flow entry, its
 * session, the SMTP parser and the TLS reader, with malloc's overhead)
 * is at most what the memory budget counts for it, max_flows times
 * FLOW_BYTES. Measured on flows at their largest, past STARTTLS.
 */
#define FLOW_BYTES	1229	/* README, "Memory budget": 1.2 KiB */
#define COST_FLOWS	200

static void
test_flow_fixed_cost(void **state)
{
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline_config pc;
	struct pipeline	*p;
	struct frames	*fr = frames_new();
	const struct pipeline_stats *st;
	size_t		 before, held;
	int		 i;

	(void)state;
	base_config(&pc, 256);
	pc.reasm.conflict_window = 0;	/* rings are reasm_memcap's */
	p = pipeline_with(&r, &sink, &pc);
	assert_non_null(p);
	before = mallinfo2().uordblks;
	for (i = 0; i < COST_FLOWS; i++) {
		fr->n = 0;
		starttls_conversation(fr, (uint16_t)(20000 + i));
		feed(p, fr, NULL, fr->n);
	}
	held = mallinfo2().uordblks - before;
	st = pipeline_get_stats(p);
	assert_int_equal(st->flow->active, COST_FLOWS);
	assert_int_equal(st->smtp_mem, 0);
	assert_int_equal(st->reasm_mem, 0);
	print_message("%zu bytes per connection\n", held / COST_FLOWS);
	assert_true(held / COST_FLOWS <= FLOW_BYTES);
	pipeline_free(p);
	free(fr);
}

/* A SYN from 198.51.100.7:40000 to 192.0.2.25:dport, GRE-tunnelled or not. */
static uint32_t
syn_frame(uint8_t *b, uint16_t dport, int gre)
{
	size_t	 n = tu_eth(b, 0x0800), outer = n;

	if (gre) {
		memset(b + n, 0, 24);
		b[n] = 0x45;
		b[n + 8] = 64;
		b[n + 9] = 47;
		inet_pton(AF_INET, "203.0.113.1", b + n + 12);
		inet_pton(AF_INET, "203.0.113.2", b + n + 16);
		tu_be16(b + n + 22, 0x0800);	/* GRE: no flags, IPv4 */
		n += 24;
	}
	n += tu_ipv4_tcp(b + n, "198.51.100.7", 40000, "192.0.2.25", dport,
	    1, 0, DECODE_TH_SYN, NULL, 0);
	if (gre) {
		tu_be16(b + outer + 2, (uint16_t)(n - outer));
		tu_ip4_csum(b + outer);
	}
	return (uint32_t)n;
}

/*
 * mail_ports_only (the default filter, checked in the pipeline): TCP of
 * other ports, bare or inside a tunnel, makes no flow, leaves the
 * pipeline's time alone and is counted; a mail port passes either way.
 * Without it every port is tracked, as a user's own filter wants.
 */
static void
test_mail_ports_only(void **state)
{
	static const struct { uint16_t port; int gre, only, taken; } cases[] = {
		{ 443, 0, 1, 0 }, { 443, 1, 1, 0 }, { 24, 0, 1, 0 },
		{ 25, 0, 1, 1 }, { 587, 1, 1, 1 }, { 2525, 0, 1, 1 },
		{ 443, 0, 0, 1 }, { 443, 1, 0, 1 },
	};
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline_config pc;
	struct pipeline	*p;
	const struct pipeline_stats *st;
	uint8_t		 b[256];
	size_t		 i;
	uint32_t	 n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base_config(&pc, 16);
		pc.mail_ports_only = cases[i].only;
		p = pipeline_with(&r, &sink, &pc);
		assert_non_null(p);
		n = syn_frame(b, cases[i].port, cases[i].gre);
		assert_int_equal(pipeline_frame(p, DECODE_LINK_EN10MB,
		    1700000000000000ULL, b, n), cases[i].taken);
		st = pipeline_get_stats(p);
		assert_int_equal(st->decode.result[DECODE_OK], 1);
		assert_int_equal(st->flow->created, cases[i].taken);
		assert_int_equal(st->filtered, !cases[i].taken);
		assert_int_equal(pipeline_now(p),
		    cases[i].taken ? 1700000000000000ULL : 0);
		pipeline_free(p);
	}
}

/*
 * The filter's answer for every port, as source and as destination,
 * against mail_port_watched() itself.
 */
static void
test_mail_ports_every_port(void **state)
{
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline_config pc;
	struct pipeline	*p;
	uint8_t		 b[256];
	uint32_t	 port, n, taken = 0;
	int		 side, want;

	(void)state;
	assert_false(mail_port_watched(40000));
	base_config(&pc, 16);
	pc.mail_ports_only = 1;
	p = pipeline_with(&r, &sink, &pc);
	assert_non_null(p);
	for (port = 0; port <= UINT16_MAX; port++)
		for (side = 0; side < 2; side++) {
			n = (uint32_t)tu_eth(b, 0x0800);
			n += (uint32_t)tu_ipv4_tcp(b + n, "198.51.100.7",
			    side ? (uint16_t)port : 40000, "192.0.2.25",
			    side ? 40000 : (uint16_t)port, 1, 0,
			    DECODE_TH_SYN, NULL, 0);
			want = mail_port_watched((uint16_t)port);
			assert_int_equal(pipeline_frame(p, DECODE_LINK_EN10MB,
			    1700000000000000ULL, b, n), want);
			taken += (uint32_t)want;
		}
	assert_int_equal(pipeline_get_stats(p)->filtered,
	    2 * 65536 - taken);
	assert_true(taken >= 2 * 5);
	pipeline_free(p);
}

/* An ARP frame is what the default filter drops before any TCP. */
static void
test_mail_ports_only_not_tcp(void **state)
{
	struct rec	 r;
	struct detect_sink sink;
	struct pipeline_config pc;
	struct pipeline	*p;
	uint8_t		 b[64];
	size_t		 n;
	int		 only;

	(void)state;
	memset(b, 0, sizeof(b));
	n = tu_eth(b, 0x0806) + 28;
	for (only = 0; only <= 1; only++) {
		base_config(&pc, 16);
		pc.mail_ports_only = only;
		p = pipeline_with(&r, &sink, &pc);
		assert_int_equal(pipeline_frame(p, DECODE_LINK_EN10MB, 5, b,
		    (uint32_t)n), !only);
		assert_int_equal(pipeline_now(p), only ? 0 : 5);
		pipeline_free(p);
	}
}

/* The default filter's text and the pipeline's check are one list. */
static void
test_mail_ports_list(void **state)
{
	static const uint16_t listed[] = {
#define LISTED(port)	port,
		MAIL_PORTS(LISTED, LISTED)
#undef LISTED
	};
	char		 clause[32];
	size_t		 i;
	uint32_t	 port, n = 0;

	(void)state;
	for (i = 0; i < sizeof(listed) / sizeof(listed[0]); i++) {
		assert_true(mail_port_watched(listed[i]));
		snprintf(clause, sizeof(clause), "tcp port %u", listed[i]);
		assert_non_null(strstr(MAIL_PORTS_FILTER, clause));
	}
	for (port = 0; port <= UINT16_MAX; port++)
		n += (uint32_t)mail_port_watched((uint16_t)port);
	assert_int_equal(n, sizeof(listed) / sizeof(listed[0]));
	assert_true(mail_port_watched(25) && mail_port_watched(587) &&
	    mail_port_watched(2525) && !mail_port_watched(465));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_asa_plain),
		cmocka_unit_test(test_asa_tiny_segments),
		cmocka_unit_test(test_asa_duplicated),
		cmocka_unit_test(test_asa_reordered),
		cmocka_unit_test(test_asa_midstream),
		cmocka_unit_test(test_clean_is_quiet),
		cmocka_unit_test(test_interleaved_sessions),
		cmocka_unit_test(test_eviction_records_session),
		cmocka_unit_test(test_idle_expiry),
		cmocka_unit_test(test_gap_before_payload),
		cmocka_unit_test(test_after_end),
		cmocka_unit_test(test_eviction_spares_learning),
		cmocka_unit_test(test_resumed_after_eviction),
		cmocka_unit_test(test_resumed_refusal),
		cmocka_unit_test(test_source_of_sessions),
		cmocka_unit_test(test_source_cut),
		cmocka_unit_test(test_conflict_under_memcap),
		cmocka_unit_test(test_password_not_kept),
		cmocka_unit_test(test_garbage_frames),
		cmocka_unit_test(test_flow_fixed_cost),
		cmocka_unit_test(test_mail_ports_only),
		cmocka_unit_test(test_mail_ports_only_not_tcp),
		cmocka_unit_test(test_mail_ports_every_port),
		cmocka_unit_test(test_mail_ports_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
