/*
 * mailpcap.h: the facts a capture file leaves, session by session, for
 * the parsers' tests. Each frame goes through decode, the flow table and
 * reassembly into a mail session the way lib/pipeline.c sends it; unlike
 * the pipeline, which hands on only detect.c's verdicts, this keeps every
 * session's facts for the test to read.
 *
 * Header-only, include after mailtest.h (struct run, snapshot()).
 */
#ifndef STRIPWATCH_MAILPCAP_H
#define STRIPWATCH_MAILPCAP_H

#include <pcap/pcap.h>

#include "decode.h"
#include "flow.h"
#include "reasm.h"

/* Sessions kept per capture (the first ones; more are only counted). */
#ifndef MP_MAX
#define MP_MAX		32
#endif

struct mp_session {
	struct flow_tuple tuple;
	struct run	 r;		/* its facts, as a mailtest.h run */
};

struct mp_capture {
	uint16_t	 port;		/* the server port read; 0: any */
	struct flow_table *flows;
	struct reasm_ctx reasm;
	struct memcap	 mem;
	struct mail_stats st;
	int		 n;		/* sessions ended, kept up to MP_MAX */
	int		 not_mail;	/* connections that never looked like
					   mail (refused, no payload): the
					   pipeline records no session */
	struct mp_session s[MP_MAX];
};

struct mp_app {
	struct mp_capture *cap;
	struct mail_session *mail;
};

static int
mp_data(void *app, int dir, const uint8_t *buf, size_t len, uint64_t ts)
{
	struct mp_app	*a = app;

	(void)ts;
	if (a == NULL)
		return REASM_MORE;
	return mail_data(a->mail, dir, buf, len) ? REASM_ENOUGH : REASM_MORE;
}

static void
mp_gap(void *app, int dir, uint32_t len, uint64_t ts)
{
	struct mp_app	*a = app;

	(void)ts;
	if (a != NULL)
		mail_gap(a->mail, dir, len);
}

static const struct reasm_ops mp_ops = { .data = mp_data, .gap = mp_gap };

/* A connection ended: drain it and keep its session's facts. */
static void
mp_end(struct mp_capture *c, struct flow *f, uint64_t ts)
{
	struct mp_app	*a = f->app;
	struct mp_session *s;

	if (a == NULL) {
		reasm_stream_free(&c->reasm, &f->stream);
		if (!f->lingering)	/* else its session ended already */
			c->not_mail++;
		return;
	}
	reasm_flush(&c->reasm, &f->stream, a, ts);
	mail_end(a->mail);
	if (!(mail_session_facts(a->mail)->flags & MAIL_F_PROTO))
		c->not_mail++;
	else if (c->n++ < MP_MAX) {
		s = &c->s[c->n - 1];
		memset(s, 0, sizeof(*s));
		s->tuple = f->tuple;
		snapshot(&s->r, mail_session_facts(a->mail));
		s->r.state = mail_session_state(a->mail);
	}
	mail_session_free(a->mail);
	free(a);
	f->app = NULL;
}

static void
mp_closed(void *arg, struct flow *f, enum flow_close_reason why, uint64_t ts)
{
	(void)why;
	mp_end(arg, f, ts);
}

static void
mp_segment(struct mp_capture *c, const struct decode_pkt *pkt)
{
	struct mp_app	*a;
	struct flow	*f;
	int		 dir, created;

	if (c->port != 0 && pkt->sport != c->port && pkt->dport != c->port)
		return;
	if ((f = flow_lookup(c->flows, pkt, &dir, &created)) == NULL ||
	    f->lingering)
		return;
	if (pkt->payload_len > 0 && f->app == NULL) {
		flow_mark_established(c->flows, f);
		a = calloc(1, sizeof(*a));
		assert_non_null(a);
		a->cap = c;
		a->mail = mail_session_new(
		    mail_proto_by_port(f->tuple.server_port), &cfg, &c->st,
		    &c->mem);
		assert_non_null(a->mail);
		f->app = a;
	}
	if (reasm_segment(&c->reasm, &f->stream, dir, pkt, f->app)) {
		mp_end(c, f, pkt->ts_us);
		flow_linger(c->flows, f, FLOW_CLOSE_FIN);
	}
}

/*
 * Read the capture at path into c, only connections to port when it is
 * not 0; -1 when it cannot be opened.
 */
static int
mp_read_port(const char *path, uint16_t port, struct mp_capture *c)
{
	const struct flow_config fc = { .max_flows = 1024,
	    .idle_timeout_us = 600ULL * 1000000,
	    .linger_us = 30ULL * 1000000 };
	const struct reasm_config rc = { .memcap = 32 << 20,
	    .ooo_max = 256 << 10, .conflict_window = 0 };
	char		 err[PCAP_ERRBUF_SIZE];
	struct decode_stats ds;
	struct decode_pkt pkt;
	struct pcap_pkthdr *h;
	const u_char	*data;
	pcap_t		*pc;
	uint64_t	 ts = 0;

	memset(c, 0, sizeof(*c));
	memset(&ds, 0, sizeof(ds));
	c->port = port;
	if ((pc = pcap_open_offline(path, err)) == NULL)
		return -1;
	memcap_init(&c->mem, SIZE_MAX);
	reasm_ctx_init(&c->reasm, &mp_ops, &rc);
	c->flows = flow_table_new(&fc, mp_closed, c);
	assert_non_null(c->flows);
	while (pcap_next_ex(pc, &h, &data) == 1) {
		ts = (uint64_t)h->ts.tv_sec * 1000000 +
		    (uint64_t)h->ts.tv_usec;
		if (decode_frame(pcap_datalink(pc), data, h->caplen, ts, &pkt,
		    &ds) == DECODE_OK)
			mp_segment(c, &pkt);
	}
	pcap_close(pc);
	flow_table_free(c->flows, ts);
	assert_int_equal(c->mem.used, 0);
	return 0;
}

#endif
