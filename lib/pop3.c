/*
 * pop3.c: the POP3 parser of a mail session (mail.c frames the lines). It
 * records facts for detect.c: the greeting, the CAPA list and STLS in it,
 * STLS and its answer, passwords sent in the clear (USER/PASS, AUTH). A
 * server answers commands in the order they came (RFC 2449 pipelining), so
 * each status line pairs with the oldest unanswered command; a "+OK" to a
 * command that has a multi-line response opens it: the CAPA list is read,
 * a message (RETR, TOP) or a listing is stepped over as a body, so what a
 * message quotes is never protocol.
 */
#include <stdio.h>
#include <string.h>

#include "mailpriv.h"

enum pop3_cmd {
	CMD_NONE = 0,		/* nothing queued */
	CMD_UNKNOWN,		/* a verb we do not know */
	CMD_MASKED,		/* XXXX */
	CMD_CAPA,
	CMD_STLS,
	CMD_USER,
	CMD_PASS,
	CMD_APOP,
	CMD_AUTH,
	CMD_QUIT,
	CMD_STAT,
	CMD_LIST,
	CMD_RETR,
	CMD_TOP,
	CMD_UIDL,
	CMD_DELE,
	CMD_NOOP,
	CMD_RSET,
	CMD_LAST,
	CMD_UTF8,
	CMD_LANG
};

/* Queued with a command whose "+OK" opens a multi-line response. */
#define POP3_Q_MULTI		0x80

/* When a command's "+OK" opens a multi-line response. */
enum pop3_multi {
	MULTI_NEVER = 0,
	MULTI_ALWAYS,		/* CAPA, RETR, TOP */
	MULTI_NOARG		/* LIST, UIDL, AUTH, LANG without argument */
};

/* What a server line is. */
enum pop3_status {
	STATUS_NONE = 0,	/* no status line */
	STATUS_OK,		/* "+OK" */
	STATUS_ERR,		/* "-ERR" */
	STATUS_CONT		/* "+" or "+ challenge": SASL goes on */
};

struct pop3_session {
	struct mail_session m;		/* first: mail.c's part */
	struct mail_cmdq q;		/* enum pop3_cmd (| POP3_Q_MULTI)
					   awaiting replies */
	uint8_t		 greeted;	/* the greeting is behind us */
	uint8_t		 user_sent;	/* USER seen: a PASS sends the
					   password of that user */
	/* the CAPA list being read */
	uint8_t		 capa;		/* lines are capabilities until "." */
	uint8_t		 r_offered;	/* STLS in it */
	uint8_t		 r_masked;	/* a masked keyword in it, its line
					   in f.cap_masked */
};

typedef void (*pop3_proceed_fn)(struct pop3_session *, const uint8_t *,
    size_t);
typedef void (*pop3_reply_fn)(struct pop3_session *, int, const uint8_t *,
    size_t);

static void	pop3_proceed_stls(struct pop3_session *, const uint8_t *,
		    size_t);
static void	pop3_proceed_user(struct pop3_session *, const uint8_t *,
		    size_t);
static void	pop3_proceed_pass(struct pop3_session *, const uint8_t *,
		    size_t);
static void	pop3_proceed_auth(struct pop3_session *, const uint8_t *,
		    size_t);
static void	pop3_proceed_quit(struct pop3_session *, const uint8_t *,
		    size_t);
static void	pop3_reply_capa(struct pop3_session *, int, const uint8_t *,
		    size_t);
static void	pop3_reply_stls(struct pop3_session *, int, const uint8_t *,
		    size_t);
static void	pop3_reply_auth(struct pop3_session *, int, const uint8_t *,
		    size_t);

/*
 * Each verb with what its line does, what its final reply does and
 * whether a "+OK" opens a multi-line response. ours: neither SMTP nor IMAP
 * has it, so a first line with it is POP3 (QUIT, NOOP, RSET and AUTH are
 * SMTP's too). APOP sends an MD5 digest of the greeting's timestamp and
 * the secret, never the password, and it cannot be replayed: it is no
 * cleartext credential.
 */
static const struct pop3_verb {
	enum pop3_cmd	 cmd;
	const char	*name;
	pop3_proceed_fn	 proceed;	/* on the command line, or NULL */
	pop3_reply_fn	 reply;		/* on its final reply, or NULL */
	uint8_t		 multi;		/* enum pop3_multi */
	uint8_t		 ours;
} pop3_verbs[] = {
	{ CMD_CAPA,	"CAPA",	NULL,	pop3_reply_capa, MULTI_ALWAYS,	1 },
	{ CMD_STLS,	"STLS",	pop3_proceed_stls, pop3_reply_stls,
	    MULTI_NEVER, 1 },
	{ CMD_USER,	"USER",	pop3_proceed_user, NULL, MULTI_NEVER,	1 },
	{ CMD_PASS,	"PASS",	pop3_proceed_pass, NULL, MULTI_NEVER,	1 },
	{ CMD_APOP,	"APOP",	NULL,	NULL,		MULTI_NEVER,	1 },
	{ CMD_AUTH,	"AUTH",	pop3_proceed_auth, pop3_reply_auth,
	    MULTI_NOARG, 0 },
	{ CMD_QUIT,	"QUIT",	pop3_proceed_quit, NULL, MULTI_NEVER,	0 },
	{ CMD_STAT,	"STAT",	NULL,	NULL,		MULTI_NEVER,	1 },
	{ CMD_LIST,	"LIST",	NULL,	NULL,		MULTI_NOARG,	1 },
	{ CMD_RETR,	"RETR",	NULL,	NULL,		MULTI_ALWAYS,	1 },
	{ CMD_TOP,	"TOP",	NULL,	NULL,		MULTI_ALWAYS,	1 },
	{ CMD_UIDL,	"UIDL",	NULL,	NULL,		MULTI_NOARG,	1 },
	{ CMD_DELE,	"DELE",	NULL,	NULL,		MULTI_NEVER,	1 },
	{ CMD_NOOP,	"NOOP",	NULL,	NULL,		MULTI_NEVER,	0 },
	{ CMD_RSET,	"RSET",	NULL,	NULL,		MULTI_NEVER,	0 },
	{ CMD_LAST,	"LAST",	NULL,	NULL,		MULTI_NEVER,	1 },
	{ CMD_UTF8,	"UTF8",	NULL,	NULL,		MULTI_NEVER,	0 },
	{ CMD_LANG,	"LANG",	NULL,	NULL,		MULTI_NOARG,	0 },
};
#define POP3_NVERBS	(sizeof(pop3_verbs) / sizeof(pop3_verbs[0]))

static const struct pop3_verb *
pop3_verb_by_name(const uint8_t *p, size_t w)
{
	size_t	 i;

	for (i = 0; i < POP3_NVERBS; i++)
		if (mail_ieq(p, w, pop3_verbs[i].name))
			return &pop3_verbs[i];
	return NULL;
}

static const struct pop3_verb *
pop3_verb_by_cmd(enum pop3_cmd cmd)
{
	size_t	 i;

	for (i = 0; i < POP3_NVERBS; i++)
		if (pop3_verbs[i].cmd == cmd)
			return &pop3_verbs[i];
	return NULL;
}

static enum pop3_status
pop3_status(const uint8_t *p, size_t n)
{
	size_t	 w = mail_word(p, n);

	if (mail_ieq(p, w, "+OK"))
		return STATUS_OK;
	if (mail_ieq(p, w, "-ERR"))
		return STATUS_ERR;
	if (w == 1 && p[0] == '+')
		return STATUS_CONT;
	return STATUS_NONE;
}

static void
pop3_proceed_stls(struct pop3_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	mail_starttls_asked(&s->m);
}

/* The name is kept for the password that may follow. */
static void
pop3_proceed_user(struct pop3_session *s, const uint8_t *arg, size_t n)
{
	if (!(s->m.f.flags & MAIL_F_CREDENTIALS))
		text_field_set(&s->m.f.cred_user, arg, n);
	s->user_sent = 1;
}

/*
 * Only that a password went out is recorded: its bytes are not looked at,
 * and never kept as evidence of the line.
 */
static void
pop3_proceed_pass(struct pop3_session *s, const uint8_t *arg, size_t n)
{
	mail_secret(&s->m, arg);
	if (!s->user_sent || n == 0)
		return;
	mail_credentials(&s->m, "USER/PASS", s->m.f.cred_user.b,
	    s->m.f.cred_user.len);
}

/* "AUTH" alone lists the mechanisms (a multi-line response). */
static void
pop3_proceed_auth(struct pop3_session *s, const uint8_t *arg, size_t n)
{
	if (n > 0)
		mail_auth_start(&s->m, "AUTH", arg, n);
}

static void
pop3_proceed_quit(struct pop3_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	s->m.f.flags |= MAIL_F_QUIT;
}

/* "-ERR" to CAPA: an RFC 1939 server, or one made to hide its list. */
static void
pop3_reply_capa(struct pop3_session *s, int ok, const uint8_t *p, size_t n)
{
	(void)p;
	(void)n;
	if (!ok)
		s->m.f.flags |= MAIL_F_CAPS | MAIL_F_CAPS_REFUSED;
}

static void
pop3_reply_stls(struct pop3_session *s, int ok, const uint8_t *p, size_t n)
{
	snprintf(s->m.f.starttls_status, sizeof(s->m.f.starttls_status),
	    "%s", ok ? "+OK" : "-ERR");
	/* as after SMTP's 220: what was pipelined behind STLS is not
	 * answered in the clear */
	if (ok)
		mail_q_clear(&s->m, &s->q);
	mail_starttls_answered(&s->m, ok, p, n);
}

static void
pop3_reply_auth(struct pop3_session *s, int ok, const uint8_t *p, size_t n)
{
	(void)ok;
	(void)p;
	(void)n;
	if (s->m.state == MAIL_ST_AUTH)
		mail_set_state(&s->m, MAIL_ST_COMMAND);
}

/* A verb not in the table: masked (STLS become XXXX), or unknown. */
static void
pop3_unknown(struct pop3_session *s, const uint8_t *p, size_t n, size_t w)
{
	struct mail_facts *f = &s->m.f;

	if (!(f->flags & MAIL_F_PROTO)) {
		mail_foreign_line(&s->m);
		return;
	}
	if (!mail_is_masked_keyword(p, w)) {
		mail_q_push(&s->m, &s->q, CMD_UNKNOWN);
		return;
	}
	if (!(f->flags & MAIL_F_CMD_MASKED)) {
		text_field_set(&f->cmd_masked, p, n);
		f->flags |= MAIL_F_CMD_MASKED;
	}
	mail_q_push(&s->m, &s->q, CMD_MASKED);
}

/* A client command line: find its verb, queue it, act on it. */
static void
pop3_command(struct pop3_session *s, const uint8_t *p, size_t n)
{
	struct mail_facts *f = &s->m.f;
	const struct pop3_verb *v;
	size_t		 w = mail_word(p, n), a;
	uint8_t		 e;

	if ((v = pop3_verb_by_name(p, w)) == NULL) {
		pop3_unknown(s, p, n, w);
		return;
	}
	/* a client speaks only after the greeting: the capture began
	 * later ("QUIT" after lines of another protocol proves nothing) */
	if (!(f->flags & MAIL_F_PROTO) && s->m.d[0].lines == 1) {
		f->flags |= MAIL_F_PROTO | MAIL_F_MIDSTREAM;
		s->greeted = 1;
		mail_set_state(&s->m, MAIL_ST_COMMAND);
	}
	for (a = w; a < n && p[a] == ' '; a++)
		;
	e = (uint8_t)v->cmd;
	if (v->multi == MULTI_ALWAYS || (v->multi == MULTI_NOARG && a == n))
		e |= POP3_Q_MULTI;
	mail_q_push(&s->m, &s->q, e);
	if (v->proceed != NULL)
		v->proceed(s, p + a, n - a);
}

/* The greeting: "+OK banner", or "-ERR" when the server refuses service. */
static void
pop3_greeting(struct pop3_session *s, enum pop3_status st, const uint8_t *p,
    size_t n)
{
	struct mail_facts *f = &s->m.f;
	size_t		 t = mail_word(p, n);

	if (t < n)
		t++;
	text_field_set(&f->banner, p + t, n - t);
	f->flags |= MAIL_F_PROTO | MAIL_F_GREETING;
	s->greeted = 1;
	if (st == STATUS_ERR) {		/* and it closes (RFC 1939 4) */
		f->flags |= MAIL_F_CLOSING;
		mail_set_state(&s->m, MAIL_ST_DONE);
	} else if (s->m.state == MAIL_ST_GREETING)
		mail_set_state(&s->m, MAIL_ST_COMMAND);
}

/* Forget the CAPA list being read; its masked line is no fact yet. */
static void
pop3_capa_reset(struct pop3_session *s)
{
	s->capa = 0;
	s->r_offered = 0;
	s->r_masked = 0;
	if (!(s->m.f.flags & MAIL_F_CAP_MASKED))
		s->m.f.cap_masked.len = 0;
}

/*
 * The list is complete. A masked keyword counts only when STLS itself is
 * missing from it (as for SMTP: a middlebox may mask what it does not
 * know and leave STLS alone).
 */
static void
pop3_capa_end(struct pop3_session *s)
{
	struct mail_facts *f = &s->m.f;

	f->flags |= MAIL_F_CAPS;
	if (s->r_offered)
		f->flags |= MAIL_F_STARTTLS_OFFERED;
	else if (s->r_masked)
		f->flags |= MAIL_F_CAP_MASKED;
	pop3_capa_reset(s);
}

/* A line of the CAPA list: "STLS", "SASL PLAIN", ... up to ".". */
static void
pop3_capa_line(struct pop3_session *s, const uint8_t *p, size_t n)
{
	struct mail_facts *f = &s->m.f;
	size_t		 w;

	if (n == 1 && p[0] == '.') {
		pop3_capa_end(s);
		return;
	}
	if (n > 0 && p[0] == '.') {	/* dot-stuffed (RFC 1939 3) */
		p++;
		n--;
	}
	w = mail_word(p, n);
	if (mail_ieq(p, w, "STLS"))
		s->r_offered = 1;
	else if (!s->r_masked && !(f->flags & MAIL_F_CAP_MASKED) &&
	    mail_is_masked_keyword(p, w)) {
		text_field_set(&f->cap_masked, p, n);
		s->r_masked = 1;
	}
}

/* A "+OK" opened the multi-line response of cmd. */
static void
pop3_multi_start(struct pop3_session *s, enum pop3_cmd cmd)
{
	if (cmd == CMD_CAPA) {
		pop3_capa_reset(s);
		s->capa = 1;
	} else
		mail_body(&s->m, 1);
}

/* A status line after the greeting: pair it with the oldest command. */
static void
pop3_reply(struct pop3_session *s, enum pop3_status st, const uint8_t *p,
    size_t n)
{
	const struct pop3_verb *v;
	uint8_t		 e = mail_q_peek(&s->q);
	enum pop3_cmd	 cmd = (enum pop3_cmd)(e & ~POP3_Q_MULTI);

	if (st == STATUS_CONT) {	/* only within a SASL exchange */
		if (cmd != CMD_AUTH || s->m.state != MAIL_ST_AUTH)
			s->m.stats->bad_replies++;
		return;
	}
	if (cmd == CMD_NONE) {
		s->m.stats->unpaired++;
		return;
	}
	mail_q_pop(&s->m, &s->q);
	if ((v = pop3_verb_by_cmd(cmd)) != NULL && v->reply != NULL)
		v->reply(s, st == STATUS_OK, p, n);
	if (st == STATUS_OK && (e & POP3_Q_MULTI))
		pop3_multi_start(s, cmd);
}

static void
pop3_server_line(struct pop3_session *s, const uint8_t *p, size_t n)
{
	enum pop3_status st;

	if (s->capa) {
		pop3_capa_line(s, p, n);
		return;
	}
	st = pop3_status(p, n);
	if (st == STATUS_NONE || (st == STATUS_CONT && !s->greeted)) {
		s->m.stats->bad_replies++;
		if (!(s->m.f.flags & MAIL_F_PROTO))
			mail_foreign_line(&s->m);
		return;
	}
	if (!s->greeted)
		pop3_greeting(s, st, p, n);
	else
		pop3_reply(s, st, p, n);
}

static void
pop3_line(struct mail_session *m, int dir, const uint8_t *p, size_t n,
    enum mail_role role)
{
	struct pop3_session *s = (struct pop3_session *)m;

	(void)role;
	if (dir == 0)
		pop3_command(s, p, n);
	else
		pop3_server_line(s, p, n);
}

/*
 * Lost bytes shift the pairing of replies with commands, and a pair that
 * is wrong could invent facts (a "+OK" to STLS that answered CAPA): what
 * is queued is dropped and later replies to it count as unpaired. A CAPA
 * list cut by the hole is not judged, and its lines are not read on: its
 * "." may have been lost, and a message after it must not become
 * capabilities.
 */
static void
pop3_gap(struct mail_session *m, int dir)
{
	struct pop3_session *s = (struct pop3_session *)m;

	mail_q_clear(m, &s->q);
	if (dir == 1)
		pop3_capa_reset(s);
}

static void
pop3_init(struct mail_session *m)
{
	struct pop3_session *s = (struct pop3_session *)m;

	mail_q_clear(m, &s->q);
}

static void
pop3_release(struct mail_session *m)
{
	struct pop3_session *s = (struct pop3_session *)m;

	mail_q_clear(m, &s->q);
}

/* A status line from the server, or a verb only POP3 has from the client. */
static int
pop3_claims(int dir, const uint8_t *p, size_t n)
{
	const struct pop3_verb *v;
	enum pop3_status st;

	if (dir == 1) {
		st = pop3_status(p, n);
		return st == STATUS_OK || st == STATUS_ERR;
	}
	v = pop3_verb_by_name(p, mail_word(p, n));
	return v != NULL && v->ours;
}

const struct mail_proto_ops pop3_ops = {
	.proto = MAIL_PROTO_POP3,
	.size = sizeof(struct pop3_session),
	.init = pop3_init,
	.line = pop3_line,
	.gap = pop3_gap,
	.release = pop3_release,
	.claims = pop3_claims,
};
