/*
 * pipeline.c: wires the stages for one capture: frames in, findings out to
 * the sinks. Owns the flow table, the shared reassembly context and the
 * per-connection application sessions.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

/* The application side of one flow: the mail parser and its verdicts. */
struct session {
	struct pipeline	*p;
	struct flow	*flow;
	struct mail_session *mail;
	struct detect_state det;
	uint64_t	 id;		/* 0 until first needed */
	uint8_t		 learned;	/* the flow table was told */
	uint8_t		 was_smtp;	/* continued: counted as an SMTP
					   session before its eviction */
	uint8_t		 unchanged;	/* continued with nothing left to
					   learn: its row is written already */
};

/*
 * What survives of a session whose connection is evicted from a full flow
 * table (flow_remember()): the continuation takes the same id, raises no
 * kind twice, and its row merges into the first one (store.c).
 */
struct session_memo {
	uint64_t	 id;
	struct detect_state det;
	struct mail_resume mail;
	struct reasm_mark reasm;
};

_Static_assert(sizeof(struct session_memo) <= FLOW_MEMO_MAX,
    "a session's memo fits in the flow table's memory");

struct pipeline {
	struct pipeline_config cfg;
	struct flow_table *flows;
	struct frag_table *frags;
	struct history	*hist;
	struct reasm_ctx reasm;
	struct memcap	 smtp_mem;	/* shared by every SMTP session */
	struct tcp_ctx	 tcp;
	struct detect	 detect;
	struct pipeline_stats stats;
	uint64_t	 next_id;
	uint64_t	 id_stride;
	uint64_t	 now_us;
};

static int	app_data(void *, int, const uint8_t *, size_t, uint64_t);
static void	app_gap(void *, int, uint32_t, uint64_t);
static void	app_conflict(void *, int, uint32_t, const uint8_t *,
		    const uint8_t *, size_t, uint64_t);

static const struct reasm_ops app_ops = {
	.data = app_data,
	.gap = app_gap,
	.conflict = app_conflict,
};

/* Session ids are handed out when a session first needs one, so flows that
 * never turn out to be SMTP do not use any. */
static uint64_t
session_id(struct session *s)
{
	if (s->id == 0) {
		s->id = s->p->next_id;
		s->p->next_id += s->p->id_stride;
	}
	return s->id;
}

static void
session_check(struct session *s, uint64_t ts_us)
{
	const struct mail_facts *f = mail_session_facts(s->mail);

	/* Cheap filter: most data changes no verdict-relevant fact. */
	if (!(f->flags & MAIL_F_PROTO))
		return;
	detect_update(&s->p->detect, &s->det, f, &s->flow->tuple,
	    session_id(s), ts_us);
}

/*
 * Once the parser is done (TLS handshake read, not SMTP, 421), nothing
 * more can be learned from the connection: the flow table evicts it
 * before any that may still show a strip.
 */
static void
session_learned(struct session *s)
{
	if (s->learned || mail_session_state(s->mail) != MAIL_ST_DONE)
		return;
	s->learned = 1;
	flow_mark_learned(s->p->flows, s->flow);
}

static int
app_data(void *app, int dir, const uint8_t *buf, size_t len, uint64_t ts_us)
{
	struct session	*s = app;
	uint32_t	 secrets;
	int		 enough;

	if (s == NULL)		/* no payload seen yet: nothing to parse */
		return REASM_MORE;
	secrets = mail_session_secrets(s->mail);
	enough = mail_data(s->mail, dir, buf, len);
	/* A password went by: reassembly's copy of it goes now. */
	if (mail_session_secrets(s->mail) != secrets)
		reasm_forget_recent(&s->flow->stream, dir);
	session_check(s, ts_us);
	session_learned(s);
	return enough ? REASM_ENOUGH : REASM_MORE;
}

static void
app_gap(void *app, int dir, uint32_t len, uint64_t ts_us)
{
	struct session	*s = app;

	if (s == NULL)
		return;
	mail_gap(s->mail, dir, len);
	session_check(s, ts_us);
	session_learned(s);
}

static void
app_conflict(void *app, int dir, uint32_t seq, const uint8_t *old_bytes,
    const uint8_t *new_bytes, size_t len, uint64_t ts_us)
{
	struct session	*s = app;

	(void)dir;
	(void)seq;
	if (s == NULL)
		return;
	detect_conflict(&s->p->detect, &s->det, &s->flow->tuple,
	    session_id(s), ts_us, old_bytes, new_bytes, len);
}

/* An evicted connection: keep what its continuation needs. */
static void
session_remember(struct pipeline *p, struct flow *f, struct session *s,
    struct session_memo *m)
{
	m->id = s->id;
	m->det = s->det;
	reasm_stream_mark(&f->stream, &m->reasm);
	flow_remember(p->flows, f, m, sizeof(*m));
}

/*
 * The connection ended or was evicted: drain reassembly, record the
 * session, free it. A continuation is counted once, with its first part.
 */
static void
session_end(struct pipeline *p, struct flow *f, enum flow_close_reason why,
    uint64_t ts_us)
{
	struct session	*s = f->app;
	struct session_memo m;
	struct detect_session rec;
	const struct mail_facts *facts;

	if (s == NULL) {
		reasm_stream_free(&p->reasm, &f->stream);
		return;
	}
	reasm_flush(&p->reasm, &f->stream, s, ts_us);
	memset(&m, 0, sizeof(m));
	if (why == FLOW_CLOSE_EVICTED)
		mail_session_save(s->mail, &m.mail);
	mail_end(s->mail);
	facts = mail_session_facts(s->mail);
	/* Evicted again with nothing learned: the row would be the same
	 * (end_ts aside), and a full table churns these. */
	if (why == FLOW_CLOSE_EVICTED && s->unchanged)
		;
	else if (facts->flags & MAIL_F_PROTO) {
		/* end_ts is the last packet, not when expiry noticed it. */
		detect_finish(&p->detect, &s->det, facts, &f->tuple,
		    session_id(s), f->first_us, f->last_us,
		    flow_close_reason_name(why), &rec);
		if (!s->was_smtp)
			p->stats.sessions++;
	} else if (f->resumed == 0)
		p->stats.not_smtp++;
	if (why == FLOW_CLOSE_EVICTED)
		session_remember(p, f, s, &m);
	mail_session_free(s->mail);
	free(s);
	f->app = NULL;
}

/* Flow table close callback (idle, evicted, shutdown, end of linger). */
static void
flow_closed(void *arg, struct flow *f, enum flow_close_reason why,
    uint64_t ts_us)
{
	session_end(arg, f, why, ts_us);
}

/* A continuation of a session evicted before: id, verdicts, parser and
 * stream positions carry over. */
static struct mail_session *
session_resume(struct pipeline *p, struct session *s,
    const struct session_memo *m)
{
	s->id = m->id;
	s->det = m->det;
	s->det.resumed = s->flow->resumed;
	s->was_smtp = (m->mail.flags & MAIL_F_PROTO) != 0;
	reasm_stream_resume(&s->flow->stream, &m->reasm);
	return mail_session_resume(&p->cfg.mail, &p->stats.mail, &p->smtp_mem,
	    &m->mail);
}

static struct session *
session_new(struct pipeline *p, struct flow *f)
{
	struct session	*s;
	struct session_memo m;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->p = p;
	s->flow = f;
	if (flow_resumed(p->flows, f, &m, sizeof(m)))
		s->mail = session_resume(p, s, &m);
	else
		s->mail = mail_session_new(
		    mail_proto_by_port(f->tuple.server_port), &p->cfg.mail,
		    &p->stats.mail, &p->smtp_mem);
	if (s->mail == NULL) {
		free(s);
		return NULL;
	}
	session_learned(s);
	s->unchanged = s->learned && f->resumed > 0;
	return s;
}

struct pipeline *
pipeline_new(const struct pipeline_config *cfg,
    const struct detect_sink *sinks, size_t nsinks)
{
	struct pipeline	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->cfg = *cfg;
	p->next_id = cfg->first_session_id > 0 ? cfg->first_session_id : 1;
	p->id_stride = cfg->session_id_stride > 0 ? cfg->session_id_stride : 1;
	reasm_ctx_init(&p->reasm, &app_ops, &cfg->reasm);
	memcap_init(&p->smtp_mem, cfg->smtp_memcap);
	tcp_ctx_init(&p->tcp, &cfg->tcp);
	if ((p->hist = history_new(&cfg->history)) == NULL ||
	    (p->flows = flow_table_new(&cfg->flow, flow_closed, p)) == NULL ||
	    (p->frags = frag_new(&cfg->frag)) == NULL) {
		flow_table_free(p->flows, 0);
		history_free(p->hist);
		free(p);
		return NULL;
	}
	detect_init(&p->detect, sinks, nsinks, p->hist);
	return p;
}

void
pipeline_set_limits(struct pipeline *p, const struct pipeline_config *cfg)
{
	p->cfg.reasm = cfg->reasm;
	p->cfg.mail = cfg->mail;
	p->reasm.cfg = cfg->reasm;
	p->smtp_mem.limit = cfg->smtp_memcap;
	p->cfg.tcp = cfg->tcp;
	p->tcp.cfg = cfg->tcp;
	frag_set_limits(p->frags, &cfg->frag);
	flow_set_limits(p->flows, &cfg->flow);
	history_set_limits(p->hist, &cfg->history);
}

/*
 * One TCP segment: its connection, then validation (lib/tcp.c) against
 * what the receiver accepts, then the session and reassembly.
 */
static void
segment(struct pipeline *p, const struct decode_pkt *pkt)
{
	struct decode_pkt bare;
	struct flow	*f;
	enum flow_close_reason why;
	enum decode_csum csum;
	int		 dir, created;

	csum = tcp_checksum(&p->tcp, pkt);
	if (tcp_drop_early(&p->tcp, csum))
		return;
	if ((f = flow_lookup(p->flows, pkt, &dir, &created)) == NULL)
		return;
	if (f->lingering) {
		/* A new SYN reuses the ports: the old connection is gone. */
		if ((pkt->flags & (DECODE_TH_SYN | DECODE_TH_ACK)) !=
		    DECODE_TH_SYN) {
			p->stats.after_end++;
			return;
		}
		flow_close(p->flows, f, FLOW_CLOSE_FIN, pkt->ts_us);
		if ((f = flow_lookup(p->flows, pkt, &dir, &created)) == NULL)
			return;
	}
	switch (tcp_segment(&p->tcp, &f->tcp, dir, pkt, csum)) {
	case TCP_DROP:
		return;
	case TCP_ACK_ONLY:
		bare = *pkt;
		bare.payload_len = 0;
		pkt = &bare;
		break;
	}
	/*
	 * The application session comes with the first payload, not the
	 * SYN: a SYN flood then costs a flow entry each, nothing more.
	 */
	if (pkt->payload_len > 0 && f->app == NULL) {
		flow_mark_established(p->flows, f);
		if ((f->app = session_new(p, f)) == NULL) {
			p->stats.session_alloc_failed++;
			return;
		}
	}
	if (reasm_segment(&p->reasm, &f->stream, dir, pkt, f->app)) {
		why = (pkt->flags & DECODE_TH_RST) ? FLOW_CLOSE_RST :
		    FLOW_CLOSE_FIN;
		session_end(p, f, why, pkt->ts_us);
		flow_linger(p->flows, f, why);
	}
}

void
pipeline_frame(struct pipeline *p, int linktype, uint64_t ts_us,
    const uint8_t *frame, uint32_t caplen)
{
	struct decode_pkt pkt;
	const uint8_t	*dgram;
	uint32_t	 dlen;
	uint16_t	 vlan;

	if (ts_us > p->now_us)
		p->now_us = ts_us;
	switch (decode_frame(linktype, frame, caplen, ts_us, &pkt,
	    &p->stats.decode)) {
	case DECODE_OK:
		segment(p, &pkt);
		break;
	case DECODE_FRAGMENT:
		if (!tcp_fragment_ok(&p->tcp, &pkt))
			break;
		vlan = pkt.vlan;	/* the rebuilt datagram has no link */
		if (frag_input(p->frags, &pkt, ts_us, &dgram, &dlen) == 1 &&
		    decode_ip(dgram, dlen, ts_us, &pkt, &p->stats.decode) ==
		    DECODE_OK) {
			pkt.vlan = vlan;
			segment(p, &pkt);
		}
		break;
	default:
		break;
	}
}

void
pipeline_tick(struct pipeline *p, uint64_t now_us)
{
	flow_expire(p->flows, now_us);
	frag_expire(p->frags, now_us);
}

void
pipeline_finish(struct pipeline *p)
{
	flow_close_all(p->flows, FLOW_CLOSE_SHUTDOWN, p->now_us);
	pipeline_flush(p);
}

void
pipeline_flush(struct pipeline *p)
{
	detect_flush(&p->detect);
}

void
pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	flow_table_free(p->flows, p->now_us);
	frag_free(p->frags);
	history_free(p->hist);
	free(p);
}

struct history *
pipeline_history(struct pipeline *p)
{
	return p->hist;
}

uint64_t
pipeline_now(const struct pipeline *p)
{
	return p->now_us;
}

const struct pipeline_stats *
pipeline_get_stats(struct pipeline *p)
{
	p->stats.reasm = p->reasm.stats;
	p->stats.tcp = p->tcp.stats;
	p->stats.flow = flow_table_stats(p->flows);
	p->stats.frag = frag_get_stats(p->frags);
	p->stats.reasm_mem = p->reasm.mem_used;
	p->stats.reasm_mem_peak = p->reasm.mem_peak;
	p->stats.smtp_mem = p->smtp_mem.used;
	p->stats.smtp_mem_peak = p->smtp_mem.peak;
	p->stats.smtp_memcap_hits = p->smtp_mem.hits;
	return &p->stats;
}
