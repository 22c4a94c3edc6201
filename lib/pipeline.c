/*
 * pipeline.c: wires the stages for one capture: frames in, findings out to
 * the sinks. Owns the flow table, the shared reassembly context and the
 * per-connection application sessions.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "text.h"

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

/*
 * Where frames come from (pipeline_set_source()), from the first session
 * id given while they did. A session's source is the one it got its id
 * under (when it was first seen to be mail): a continuation after an
 * eviction keeps its id, so it keeps its first source, with nothing
 * stored per session.
 */
struct pipeline_source {
	SLIST_ENTRY(pipeline_source) next;	/* the one before it */
	uint64_t	 first_id;
	char		 name[];		/* escaped */
};

struct pipeline {
	struct pipeline_config cfg;
	struct flow_table *flows;
	struct frag_table *frags;
	struct history	*hist;
	struct reasm_ctx reasm;
	struct memcap	 smtp_mem;	/* shared by every SMTP session */
	struct tls_certs *certs;	/* certificate fingerprints, shared */
	struct tcp_ctx	 tcp;
	struct detect	 detect;
	struct pipeline_stats stats;
	uint64_t	 next_id;
	uint64_t	 id_stride;
	uint64_t	 now_us;
	SLIST_HEAD(, pipeline_source) sources;	/* the newest first */
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

/* The source a session with this id came from; NULL if none was set. */
static const char *
source_of(const struct pipeline *p, uint64_t id)
{
	const struct pipeline_source *src;

	SLIST_FOREACH(src, &p->sources, next)
		if (id >= src->first_id)
			return src->name;
	return NULL;
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
	uint64_t	 id;

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
		id = session_id(s);
		detect_finish(&p->detect, &s->det, facts, &f->tuple, id,
		    f->first_us, f->last_us, flow_close_reason_name(why),
		    source_of(p, id), &rec);
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
	mail_session_certs(s->mail, p->certs);
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
	SLIST_INIT(&p->sources);
	reasm_ctx_init(&p->reasm, &app_ops, &cfg->reasm);
	memcap_init(&p->smtp_mem, cfg->smtp_memcap);
	tcp_ctx_init(&p->tcp, &cfg->tcp);
	if ((p->hist = history_new(&cfg->history)) == NULL ||
	    (p->certs = tls_certs_new(cfg->tls_cert_cache)) == NULL ||
	    (p->flows = flow_table_new(&cfg->flow, flow_closed, p)) == NULL ||
	    (p->frags = frag_new(&cfg->frag)) == NULL) {
		flow_table_free(p->flows, 0);
		tls_certs_free(p->certs);
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
 * With the default filter, whether a TCP segment's ports are not mail
 * ports: it goes no further (counted). The ports are the innermost TCP
 * header's, so a tunnel's inner TCP is judged as if it had come bare, and
 * reading a file needs no BPF program at all.
 */
static inline int
filtered(struct pipeline *p, const struct decode_pkt *pkt)
{
	if (!p->cfg.mail_ports_only || mail_port_watched(pkt->sport) ||
	    mail_port_watched(pkt->dport))
		return 0;
	p->stats.filtered++;
	return 1;
}

/*
 * One TCP segment: its connection, then validation (lib/tcp.c) against
 * what the receiver accepts, then the session and reassembly. Always
 * inlined: every frame then sets up one stack frame here, not two.
 */
static inline __attribute__((always_inline)) void
segment(struct pipeline *p, const struct decode_pkt *pkt)
{
	struct decode_pkt bare;
	struct flow	*f;
	enum flow_close_reason why;
	enum decode_csum csum;
	int		 dir, created;

	csum = tcp_checksum(&p->tcp, pkt);
	/* A checksum that holds is never dropped: spare the call. */
	if (csum != DECODE_CSUM_OK && tcp_drop_early(&p->tcp, csum))
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

/* An IP fragment: held until its datagram is whole, then a segment. */
static void
fragment(struct pipeline *p, struct decode_pkt *pkt, uint64_t ts_us)
{
	const uint8_t	*dgram;
	uint32_t	 dlen;
	uint16_t	 vlan;

	if (!tcp_fragment_ok(&p->tcp, pkt))
		return;
	vlan = pkt->vlan;	/* the rebuilt datagram has no link */
	if (frag_input(p->frags, pkt, ts_us, &dgram, &dlen) == 1 &&
	    decode_ip(dgram, dlen, ts_us, pkt, &p->stats.decode) ==
	    DECODE_OK && !filtered(p, pkt)) {
		pkt->vlan = vlan;
		segment(p, pkt);
	}
}

int
pipeline_frame(struct pipeline *p, int linktype, uint64_t ts_us,
    const uint8_t *frame, uint32_t caplen)
{
	struct decode_pkt pkt;

	switch (decode_frame(linktype, frame, caplen, ts_us, &pkt,
	    &p->stats.decode)) {
	case DECODE_OK:
		if (filtered(p, &pkt))
			return 0;
		segment(p, &pkt);
		break;
	case DECODE_FRAGMENT:
		fragment(p, &pkt, ts_us);
		break;
	default:
		/* Not TCP, or damaged: counted by decode, nothing to see. */
		if (p->cfg.mail_ports_only)
			return 0;
		break;
	}
	if (ts_us > p->now_us)
		p->now_us = ts_us;
	return 1;
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

const char *
pipeline_set_source(struct pipeline *p, const char *name)
{
	struct pipeline_source *src;
	char		 buf[DETECT_SOURCE_MAX];
	size_t		 len;

	len = text_escape(buf, sizeof(buf), (const uint8_t *)name,
	    strlen(name));
	if ((src = malloc(sizeof(*src) + len + 1)) == NULL)
		return NULL;
	src->first_id = p->next_id;
	memcpy(src->name, buf, len + 1);
	SLIST_INSERT_HEAD(&p->sources, src, next);
	return src->name;
}

void
pipeline_free(struct pipeline *p)
{
	struct pipeline_source *src;

	if (p == NULL)
		return;
	/* The sessions it finishes still name their source. */
	flow_table_free(p->flows, p->now_us);
	while ((src = SLIST_FIRST(&p->sources)) != NULL) {
		SLIST_REMOVE_HEAD(&p->sources, next);
		free(src);
	}
	frag_free(p->frags);
	history_free(p->hist);
	tls_certs_free(p->certs);
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
	p->stats.tls_cert_cache = *tls_certs_stats(p->certs);
	return &p->stats;
}
