/*
 * detect.c: the stripping policy. Reads the parser's facts, decides which
 * event kinds hold, raises each at most once per session, and builds the
 * session record with its outcome.
 */
#include <stdio.h>
#include <string.h>

#include "detect.h"
#include "text.h"

/* Evidence bytes kept per side of a reassembly conflict. */
#define DETECT_CONFLICT_SHOW	64

/* Room for the escaped first 64 bytes of a user name in evidence: names
 * are short, and the rest of the line must fit beside it. */
#define DETECT_USER_SHOW	(4 * 64 + 4)

/* When an event makes its session's outcome "stripped". */
enum tamper { TAMPER_NO = 0, TAMPER_YES, TAMPER_IF_HIGH };

struct kind_info {
	const char		*name;
	enum detect_severity	 severity;	/* the usual one */
	enum tamper		 tampering;
};

static const struct kind_info kinds[DETECT_NKINDS] = {
	[DETECT_CAPABILITY_MASKED] = { "capability_masked", DETECT_SEV_HIGH, 1 },
	[DETECT_COMMAND_MASKED] = { "command_masked", DETECT_SEV_HIGH, 1 },
	[DETECT_STARTTLS_REFUSED] = { "starttls_refused", DETECT_SEV_MEDIUM, 0 },
	[DETECT_PLAINTEXT_AFTER_STARTTLS] =
	    { "plaintext_after_starttls", DETECT_SEV_HIGH, 1 },
	[DETECT_STARTTLS_INJECTION] = { "starttls_injection", DETECT_SEV_HIGH, 1 },
	[DETECT_REASSEMBLY_CONFLICT] =
	    { "reassembly_conflict", DETECT_SEV_MEDIUM, 0 },
	[DETECT_BANNER_MASKED] = { "banner_masked", DETECT_SEV_INFO, 0 },
	[DETECT_STARTTLS_VANISHED] = { "starttls_vanished", DETECT_SEV_HIGH, 1 },
	[DETECT_CERTIFICATE_CHANGED] =
	    { "certificate_changed", DETECT_SEV_MEDIUM, 0 },
	/* a password went by in the clear: what it exposes, not a strip */
	[DETECT_CLEARTEXT_CREDENTIALS] =
	    { "cleartext_credentials", DETECT_SEV_MEDIUM, 0 },
	/* PREAUTH makes STARTTLS impossible: a strip when the server
	 * offered STARTTLS before (high), maybe its setting otherwise */
	[DETECT_PREAUTH_GREETING] =
	    { "preauth_greeting", DETECT_SEV_MEDIUM, TAMPER_IF_HIGH },
};

void
detect_init(struct detect *d, const struct detect_sink *sinks, size_t nsinks,
    struct history *hist)
{
	memset(d, 0, sizeof(*d));
	d->sinks = sinks;
	d->nsinks = nsinks;
	d->hist = hist;
}

const char *
detect_kind_name(enum detect_kind k)
{
	return k < DETECT_NKINDS ? kinds[k].name : "unknown";
}

const char *
detect_severity_name(enum detect_severity s)
{
	static const char *const names[] = { "info", "low", "medium", "high" };

	return s <= DETECT_SEV_HIGH ? names[s] : "unknown";
}

static void
escape_text(char *dst, size_t len, const struct text_field *t)
{
	text_escape(dst, len, t->b, t->len);
}

/*
 * What judging one session at one moment needs: where findings go, the
 * session's state and facts, and its server's record in the history,
 * looked up once and only when a judgement asks for it.
 */
struct judge {
	struct detect	*d;
	struct detect_state *st;
	const struct mail_facts *f;
	const struct flow_tuple *t;
	uint64_t	 session_id;
	uint64_t	 ts_us;
	const struct history_server *srv; /* valid once looked up */
	int		 looked_up;
};

static void
judge_init(struct judge *j, struct detect *d, struct detect_state *st,
    const struct mail_facts *f, const struct flow_tuple *t,
    uint64_t session_id, uint64_t ts_us)
{
	memset(j, 0, sizeof(*j));
	j->d = d;
	j->st = st;
	j->f = f;
	j->t = t;
	j->session_id = session_id;
	j->ts_us = ts_us;
}

/* The server's record (address, port, protocol), or NULL. */
static const struct history_server *
server(struct judge *j)
{
	if (!j->looked_up && j->d->hist != NULL)
		j->srv = history_find(j->d->hist, &j->t->server,
		    j->t->server_port, (uint8_t)j->f->proto);
	j->looked_up = 1;
	return j->srv;
}

/*
 * The server's record when it has offered STARTTLS before: what the
 * tampering events and starttls_vanished quote. NULL otherwise.
 */
static const struct history_server *
offered_before(struct judge *j)
{
	const struct history_server *srv = server(j);

	return srv != NULL && srv->offered > 0 ? srv : NULL;
}

static int
raised(const struct judge *j, enum detect_kind kind)
{
	return (j->st->emitted & (1u << kind)) != 0;
}

/* Emit kind once per session at severity sev; evidence is escaped. */
/* Whether the event makes its session's outcome "stripped". */
static int
makes_stripped(enum detect_kind kind, enum detect_severity sev)
{
	return kinds[kind].tampering == TAMPER_YES ||
	    (kinds[kind].tampering == TAMPER_IF_HIGH && sev == DETECT_SEV_HIGH);
}

/* A refusal makes the outcome "refused" (outcome()): tampering too. */
int
detect_kind_tampering(enum detect_kind k, enum detect_severity sev)
{
	if (k >= DETECT_NKINDS)
		return 0;
	return k == DETECT_STARTTLS_REFUSED || makes_stripped(k, sev);
}

static void
emit_sev(struct judge *j, enum detect_kind kind, enum detect_severity sev,
    const char *evidence)
{
	struct detect	*d = j->d;
	struct detect_event ev;
	size_t		 i;

	if (raised(j, kind))
		return;
	j->st->emitted |= 1u << kind;
	if (makes_stripped(kind, sev))
		j->st->tampered = 1;
	d->events[kind]++;
	memset(&ev, 0, sizeof(ev));
	ev.ts_us = j->ts_us;
	ev.session_id = j->session_id;
	ev.kind = kind;
	ev.severity = sev;
	ev.tuple = *j->t;
	snprintf(ev.evidence, sizeof(ev.evidence), "%s", evidence);
	for (i = 0; i < d->nsinks; i++)
		if (d->sinks[i].event != NULL)
			d->sinks[i].event(d->sinks[i].arg, &ev);
}

static void
emit(struct judge *j, enum detect_kind kind, const char *evidence)
{
	emit_sev(j, kind, kinds[kind].severity, evidence);
}

static void
emit_text(struct judge *j, enum detect_kind kind,
    const struct text_field *evidence)
{
	char	 buf[DETECT_TEXT_MAX];

	if (raised(j, kind))
		return;
	escape_text(buf, sizeof(buf), evidence);
	emit(j, kind, buf);
}

/* Append "; offered in N of M earlier sessions, last T" to buf. */
static void
history_note(char *buf, size_t len, const struct history_server *srv)
{
	char	 when[TEXT_TIME_LEN];
	size_t	 used = strlen(buf);

	if (used >= len)
		return;
	snprintf(buf + used, len - used, "; offered in %llu of %llu earlier "
	    "sessions, last %s", (unsigned long long)srv->offered,
	    (unsigned long long)srv->sessions,
	    text_time(srv->last_offered_us, when, sizeof(when)));
}

/*
 * A tampering event: its own evidence, then the server's history when it
 * offered STARTTLS before, so the one alert of a tampered session says
 * both what was done and what the server normally does.
 */
static void
emit_tamper(struct judge *j, enum detect_kind kind, enum detect_severity sev,
    const struct text_field *evidence)
{
	const struct history_server *srv;
	char	 buf[DETECT_TEXT_MAX];

	if (raised(j, kind))
		return;
	escape_text(buf, sizeof(buf), evidence);
	if ((srv = offered_before(j)) != NULL)
		history_note(buf, sizeof(buf), srv);
	emit_sev(j, kind, sev, buf);
}

/*
 * The masked capability is judged on the whole list of capabilities: an
 * ASA masks every extension it does not know, so a masked keyword only
 * means stripping when STARTTLS itself is missing from that list.
 */
static int
capability_masked(const struct mail_facts *f)
{
	return (f->flags & MAIL_F_CAP_MASKED) &&
	    (f->flags & MAIL_F_CAPS) &&
	    !(f->flags & MAIL_F_STARTTLS_OFFERED);
}

/* Offered, asked for, answered, and not accepted (SMTP 454 or 5xx, IMAP
 * NO or BAD, POP3 -ERR). */
static int
starttls_refused(const struct mail_facts *f)
{
	uint32_t need = MAIL_F_STARTTLS_OFFERED | MAIL_F_STARTTLS_REQUESTED |
	    MAIL_F_STARTTLS_REPLY;

	return (f->flags & need) == need &&
	    !(f->flags & MAIL_F_STARTTLS_ACCEPTED);
}

/*
 * What the server showed of its capabilities: 0 = not known yet, else why
 * no offer is missing or present. A client that never tried EHLO tells
 * little about the server, so HELO alone is judged at lower severity. A
 * 421 greeting or EHLO reply is the server going away (overloaded,
 * shutting down), not a downgrade: a client then gives up the session
 * (Postfix defers) instead of sending mail without TLS, so it is neither
 * judged nor counted in the server's history.
 */
enum offer_view { OFFER_UNKNOWN, OFFER_SEEN, OFFER_NONE, OFFER_EHLO_REFUSED,
    OFFER_HELO_ONLY, OFFER_CLOSING };

static enum offer_view
offer_view(const struct mail_facts *f)
{
	if (f->flags & MAIL_F_STARTTLS_OFFERED)
		return OFFER_SEEN;
	if (f->flags & MAIL_F_CLOSING)
		return OFFER_CLOSING;
	if (f->flags & MAIL_F_CAPS_REFUSED)
		return OFFER_EHLO_REFUSED;
	if (f->flags & MAIL_F_CAPS)
		return OFFER_NONE;
	if ((f->flags & MAIL_F_HELO) && !(f->flags & MAIL_F_EHLO) &&
	    f->ehlo_reply != 0)
		return OFFER_HELO_ONLY;
	return OFFER_UNKNOWN;
}

/* Why an offer is missing, in each protocol's words. */
static const char *
offer_missing(enum offer_view v, enum mail_proto proto)
{
	static const char *const none[MAIL_NPROTOS] = {
		[MAIL_PROTO_SMTP] = "no STARTTLS in the EHLO reply",
		[MAIL_PROTO_IMAP] = "no STARTTLS among the capabilities",
		[MAIL_PROTO_POP3] = "no STLS in the CAPA reply",
	};
	static const char *const refused[MAIL_NPROTOS] = {
		[MAIL_PROTO_SMTP] = "EHLO refused",
		[MAIL_PROTO_IMAP] = "CAPABILITY refused",
		[MAIL_PROTO_POP3] = "CAPA refused",
	};

	if ((unsigned)proto >= MAIL_NPROTOS)
		proto = MAIL_PROTO_SMTP;
	switch (v) {
	case OFFER_NONE:
		return none[proto];
	case OFFER_EHLO_REFUSED:
		return refused[proto];
	case OFFER_HELO_ONLY:
		return "client used HELO only";
	default:
		return "";
	}
}

/*
 * The judgements below are asked after every segment of a session and
 * most often have nothing to do: each one's test of that stays in a small
 * function the compiler inlines, the work (and its stack buffers) in
 * another.
 */
static void
judge_offer_now(struct judge *j, enum offer_view v)
{
	const struct history_server *srv;
	char		 buf[DETECT_TEXT_MAX];

	j->st->judged_offer = 1;
	/* A masked capability already explains (and reports) the missing
	 * offer: one alert per tampered session. */
	if (v == OFFER_SEEN || v == OFFER_CLOSING ||
	    raised(j, DETECT_CAPABILITY_MASKED) ||
	    (srv = offered_before(j)) == NULL ||
	    srv->offered < history_get_config(j->d->hist)->vanished_after)
		return;
	snprintf(buf, sizeof(buf), "%s", offer_missing(v, j->f->proto));
	history_note(buf, sizeof(buf), srv);
	emit_sev(j, DETECT_STARTTLS_VANISHED, v == OFFER_HELO_ONLY ?
	    DETECT_SEV_MEDIUM : DETECT_SEV_HIGH, buf);
}

static void
judge_offer(struct judge *j)
{
	enum offer_view	 v;

	if (j->st->judged_offer || j->d->hist == NULL ||
	    (v = offer_view(j->f)) == OFFER_UNKNOWN)
		return;
	judge_offer_now(j, v);
}

static void
judge_cert_now(struct judge *j)
{
	const struct history_server *srv;
	char		 was[65], now[65], buf[DETECT_TEXT_MAX];

	j->st->judged_cert = 1;
	if ((srv = server(j)) == NULL || !srv->have_cert ||
	    memcmp(srv->cert_sha256, j->f->tls.cert_sha256, 32) == 0)
		return;
	text_hex(was, srv->cert_sha256, 32);
	text_hex(now, j->f->tls.cert_sha256, 32);
	snprintf(buf, sizeof(buf), "was %s now %s", was, now);
	emit(j, DETECT_CERTIFICATE_CHANGED, buf);
}

static void
judge_cert(struct judge *j)
{
	if (j->st->judged_cert || j->d->hist == NULL || !j->f->tls.have_cert)
		return;
	judge_cert_now(j);
}

/*
 * A password sent outside TLS. High when the client had the protection
 * and did not use it, or lost it: STARTTLS offered in this session,
 * masked in its capabilities (an offer a middlebox took away), or in the
 * server's history, or LOGINDISABLED (the server said not to).
 */
static void
judge_credentials_now(struct judge *j)
{
	const struct mail_facts *f = j->f;
	const struct history_server *srv = NULL;
	enum detect_severity sev = DETECT_SEV_MEDIUM;
	char		 user[DETECT_USER_SHOW], buf[DETECT_TEXT_MAX];

	if ((f->flags & (MAIL_F_STARTTLS_OFFERED | MAIL_F_LOGINDISABLED)) ||
	    capability_masked(f) || (srv = offered_before(j)) != NULL)
		sev = DETECT_SEV_HIGH;
	escape_text(user, sizeof(user), &f->cred_user);
	snprintf(buf, sizeof(buf), "%s %s user=%s%s%s%s",
	    mail_proto_name(f->proto), f->cred_mech, user,
	    (f->flags & MAIL_F_LOGINDISABLED) ? "; LOGINDISABLED" : "",
	    (f->flags & MAIL_F_STARTTLS_OFFERED) ? "; STARTTLS offered" : "",
	    capability_masked(f) ? "; STARTTLS masked" : "");
	if (srv != NULL && !(f->flags & MAIL_F_STARTTLS_OFFERED))
		history_note(buf, sizeof(buf), srv);
	emit_sev(j, DETECT_CLEARTEXT_CREDENTIALS, sev, buf);
}

static void
judge_credentials(struct judge *j)
{
	if (!(j->f->flags & MAIL_F_CREDENTIALS) ||
	    raised(j, DETECT_CLEARTEXT_CREDENTIALS))
		return;
	judge_credentials_now(j);
}

/* An IMAP PREAUTH greeting: the session starts authenticated, so
 * STARTTLS can no longer be asked for (RFC 3501 6.2.1). */
static void
judge_preauth(struct judge *j)
{
	if (!(j->f->flags & MAIL_F_PREAUTH))
		return;
	emit_tamper(j, DETECT_PREAUTH_GREETING, offered_before(j) != NULL ?
	    DETECT_SEV_HIGH : kinds[DETECT_PREAUTH_GREETING].severity,
	    &j->f->banner);
}

/* A refusal from a server that normally accepts is worse. */
static enum detect_severity
refused_severity(struct judge *j)
{
	const struct history_server *srv = server(j);

	if (srv != NULL && srv->accepted > 0)
		return DETECT_SEV_HIGH;
	return kinds[DETECT_STARTTLS_REFUSED].severity;
}

/* The events the session's facts alone raise. */
static void
judge_facts(struct judge *j)
{
	const struct mail_facts *f = j->f;

	if (capability_masked(f))
		emit_tamper(j, DETECT_CAPABILITY_MASKED,
		    kinds[DETECT_CAPABILITY_MASKED].severity, &f->cap_masked);
	if (f->flags & MAIL_F_CMD_MASKED)
		emit_tamper(j, DETECT_COMMAND_MASKED,
		    kinds[DETECT_COMMAND_MASKED].severity, &f->cmd_masked);
	if (starttls_refused(f) && !raised(j, DETECT_STARTTLS_REFUSED))
		emit_tamper(j, DETECT_STARTTLS_REFUSED, refused_severity(j),
		    &f->starttls_line);
	if (f->flags & MAIL_F_PLAINTEXT_AFTER)
		emit_tamper(j, DETECT_PLAINTEXT_AFTER_STARTTLS,
		    kinds[DETECT_PLAINTEXT_AFTER_STARTTLS].severity,
		    &f->plaintext);
	if (f->flags & (MAIL_F_CMD_INJECTION | MAIL_F_RESP_INJECTION))
		emit_tamper(j, DETECT_STARTTLS_INJECTION,
		    kinds[DETECT_STARTTLS_INJECTION].severity, &f->injected);
	if (f->flags & MAIL_F_BANNER_MASKED)
		emit_text(j, DETECT_BANNER_MASKED, &f->banner);
}

void
detect_update(struct detect *d, struct detect_state *st,
    const struct mail_facts *f, const struct flow_tuple *t,
    uint64_t session_id, uint64_t ts_us)
{
	struct judge	 j;

	judge_init(&j, d, st, f, t, session_id, ts_us);
	judge_facts(&j);
	judge_preauth(&j);
	judge_offer(&j);
	judge_cert(&j);
	judge_credentials(&j);
}

void
detect_conflict(struct detect *d, struct detect_state *st,
    const struct flow_tuple *t, uint64_t session_id, uint64_t ts_us,
    const uint8_t *old_bytes, const uint8_t *new_bytes, size_t len)
{
	char	 o[4 * DETECT_CONFLICT_SHOW + 4], n[4 * DETECT_CONFLICT_SHOW + 4];
	char	 buf[DETECT_TEXT_MAX];
	size_t	 show = len < DETECT_CONFLICT_SHOW ? len : DETECT_CONFLICT_SHOW;
	struct judge	 j;

	if (st->emitted & (1u << DETECT_REASSEMBLY_CONFLICT))
		return;
	judge_init(&j, d, st, NULL, t, session_id, ts_us);
	text_escape(n, sizeof(n), new_bytes, show);
	if (old_bytes != NULL) {
		text_escape(o, sizeof(o), old_bytes, show);
		snprintf(buf, sizeof(buf), "kept=[%s] other=[%s]", o, n);
	} else
		snprintf(buf, sizeof(buf), "kept=(not kept: its digest differs "
		    "over these %zu bytes) other=[%s]", len, n);
	emit(&j, DETECT_REASSEMBLY_CONFLICT, buf);
}

const char *const detect_outcomes[DETECT_NOUTCOMES] = {
	DETECT_OUTCOME_TLS, DETECT_OUTCOME_TLS_UNSEEN, DETECT_OUTCOME_STRIPPED,
	DETECT_OUTCOME_REFUSED, DETECT_OUTCOME_NOT_REQUESTED,
	DETECT_OUTCOME_NOT_OFFERED, DETECT_OUTCOME_INCOMPLETE
};

size_t
detect_outcome_index(const char *name)
{
	size_t	 i;

	for (i = 0; i < DETECT_NOUTCOMES; i++)
		if (strcmp(name, detect_outcomes[i]) == 0)
			break;
	return i;
}

static const char *
outcome(const struct detect_state *st, const struct mail_facts *f)
{
	if (st->tampered)
		return DETECT_OUTCOME_STRIPPED;
	if (st->emitted & (1u << DETECT_STARTTLS_REFUSED))
		return DETECT_OUTCOME_REFUSED;
	if ((f->flags & MAIL_F_TLS_CLIENT_HELLO) &&
	    (f->flags & MAIL_F_TLS_SERVER_HELLO))
		return DETECT_OUTCOME_TLS;
	if (f->flags & MAIL_F_STARTTLS_ACCEPTED)
		return DETECT_OUTCOME_TLS_UNSEEN;
	if ((f->flags & MAIL_F_STARTTLS_REQUESTED) &&
	    !(f->flags & MAIL_F_STARTTLS_REPLY))
		return DETECT_OUTCOME_INCOMPLETE;
	if (f->flags & MAIL_F_STARTTLS_OFFERED)
		return DETECT_OUTCOME_NOT_REQUESTED;
	if (f->flags & MAIL_F_CLOSING)
		return DETECT_OUTCOME_INCOMPLETE;
	if (f->flags & (MAIL_F_CAPS | MAIL_F_HELO))
		return DETECT_OUTCOME_NOT_OFFERED;
	return DETECT_OUTCOME_INCOMPLETE;
}

static void
fill_tls(struct detect_session *s, const struct tls_facts *tls)
{
	const char	*name;

	if (tls->server_hello) {
		s->tls_version = tls_version_name(tls->version);
		if ((name = tls_cipher_name(tls->cipher)) != NULL)
			snprintf(s->tls_cipher, sizeof(s->tls_cipher), "%s",
			    name);
		else
			snprintf(s->tls_cipher, sizeof(s->tls_cipher),
			    "0x%04X", tls->cipher);
	}
	if (tls->client_hello && tls->sni.len > 0)
		text_escape(s->tls_sni, sizeof(s->tls_sni), tls->sni.b,
		    tls->sni.len);
	if (tls->have_cert)
		text_hex(s->cert_sha256, tls->cert_sha256, 32);
}

/* Add this session to its server's record and hand the record over;
 * 0 while its capabilities are not known. */
static int
remember(struct detect *d, const struct mail_facts *f,
    const struct flow_tuple *t, uint64_t start_us, uint64_t end_us)
{
	struct history_server *srv;

	if (d->hist == NULL || offer_view(f) == OFFER_UNKNOWN ||
	    offer_view(f) == OFFER_CLOSING ||
	    (srv = history_get(d->hist, &t->server, t->server_port,
	    (uint8_t)f->proto, start_us)) == NULL)
		return 0;
	if (end_us > srv->last_us)
		srv->last_us = end_us;
	srv->sessions++;
	if (f->flags & MAIL_F_STARTTLS_OFFERED) {
		srv->offered++;
		if (end_us > srv->last_offered_us)
			srv->last_offered_us = end_us;
	}
	if (f->flags & MAIL_F_STARTTLS_ACCEPTED)
		srv->accepted++;
	if (f->tls.have_cert) {
		srv->have_cert = srv->cert_new = 1;
		memcpy(srv->cert_sha256, f->tls.cert_sha256, 32);
	}
	history_mark_dirty(d->hist, srv);
	return 1;
}

static void
server_out(void *arg, const struct history_server *srv)
{
	struct detect	*d = arg;
	size_t		 i;

	for (i = 0; i < d->nsinks; i++)
		if (d->sinks[i].server != NULL)
			d->sinks[i].server(d->sinks[i].arg, srv);
}

void
detect_flush(struct detect *d)
{
	if (d->hist != NULL)
		history_drain(d->hist, server_out, d);
}

void
detect_finish(struct detect *d, struct detect_state *st,
    const struct mail_facts *f, const struct flow_tuple *t,
    uint64_t session_id, uint64_t start_us, uint64_t end_us,
    const char *close_reason, const char *source, struct detect_session *out)
{
	size_t	 i;

	memset(out, 0, sizeof(*out));
	if (!(f->flags & MAIL_F_PROTO))
		return;
	detect_update(d, st, f, t, session_id, end_us);
	out->id = session_id;
	out->start_us = start_us;
	out->end_us = end_us;
	out->tuple = *t;
	escape_text(out->helo, sizeof(out->helo), &f->helo);
	escape_text(out->banner, sizeof(out->banner), &f->banner);
	out->starttls_offered = (f->flags & MAIL_F_STARTTLS_OFFERED) != 0;
	out->starttls_requested = (f->flags & MAIL_F_STARTTLS_REQUESTED) != 0;
	if (f->flags & MAIL_F_STARTTLS_REPLY) {
		out->starttls_reply = f->starttls_reply;
		memcpy(out->starttls_status, f->starttls_status,
		    sizeof(out->starttls_status));
		out->starttls_status[sizeof(out->starttls_status) - 1] = '\0';
	}
	out->protocol = mail_proto_name(f->proto);
	out->tls_established = (f->flags & MAIL_F_TLS_CLIENT_HELLO) &&
	    (f->flags & MAIL_F_TLS_SERVER_HELLO);
	fill_tls(out, &f->tls);
	out->gaps = f->gaps;
	out->events = st->emitted;
	out->outcome = outcome(st, f);
	out->close_reason = close_reason;
	out->resumed = st->resumed;
	out->prev_outcome = st->written > 0 ?
	    detect_outcomes[st->written - 1] : NULL;
	_Static_assert(DETECT_NOUTCOMES < 16, "written holds 4 bits");
	if ((i = detect_outcome_index(out->outcome)) < DETECT_NOUTCOMES)
		st->written = (unsigned)(i + 1) & 0xf;
	out->source = source;
	for (i = 0; i < d->nsinks; i++)
		if (d->sinks[i].session != NULL)
			d->sinks[i].session(d->sinks[i].arg, out);
	if (!st->remembered)
		st->remembered = (uint8_t)remember(d, f, t, start_us, end_us);
}
