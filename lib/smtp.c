/*
 * smtp.c: the SMTP parser of a mail session (mail.c frames the lines). It
 * records facts about the session (greeting, EHLO capabilities, STARTTLS
 * and its reply) for detect.c; it pairs each reply with the oldest
 * unanswered command and keeps message bodies (DATA, BDAT) and SASL
 * exchanges out of command parsing.
 */
#include <string.h>

#include "mailpriv.h"

/* "250-" or "250 ": where the text of a reply line starts. */
#define SMTP_CODE_LEN		4
/* The masked keyword an ASA makes of STARTTLS has its length. */
#define SMTP_STARTTLS_LEN	8
/* A PIX/ASA-masked greeting has at least this many '*'. */
#define SMTP_MASK_STARS		4
/* BDAT sizes beyond this are refused as bad (RFC 3030 sets no limit; no
 * real chunk is within orders of magnitude of it). */
#define SMTP_BDAT_MAX		(UINT64_C(1) << 48)

enum smtp_cmd {
	CMD_NONE = 0,		/* nothing queued */
	CMD_UNKNOWN,		/* a verb we do not know */
	CMD_MASKED,		/* XXXXXXXX */
	CMD_EOD,		/* internal: end of a DATA body */
	CMD_EHLO,
	CMD_HELO,
	CMD_STARTTLS,
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,
	CMD_BDAT,
	CMD_AUTH,
	CMD_RSET,
	CMD_QUIT,
	CMD_NOOP,
	CMD_VRFY,
	CMD_EXPN,
	CMD_HELP,
	CMD_ETRN,
	CMD_XCLIENT,
	CMD_XFORWARD
};

struct smtp_session {
	struct mail_session m;		/* first: mail.c's part */
	struct mail_cmdq q;		/* enum smtp_cmd awaiting replies */
	uint8_t		 greeted;	/* server's greeting (or first reply)
					   is behind us */
	/* the server reply being read */
	uint32_t	 r_lines;	/* lines of it so far */
	uint8_t		 r_offered;	/* STARTTLS keyword in it */
	uint8_t		 r_kwlen;	/* keyword length of r_masked */
	uint8_t		 cap_kwlen;	/* keyword length of f.cap_masked */
	struct text_field r_masked;	/* masked capability line in it */
};

typedef void (*smtp_proceed_fn)(struct smtp_session *, const uint8_t *,
    size_t);
typedef void (*smtp_reply_fn)(struct smtp_session *, unsigned,
    const uint8_t *, size_t);

static void	smtp_proceed_ehlo(struct smtp_session *, const uint8_t *,
		    size_t);
static void	smtp_proceed_helo(struct smtp_session *, const uint8_t *,
		    size_t);
static void	smtp_proceed_starttls(struct smtp_session *, const uint8_t *,
		    size_t);
static void	smtp_proceed_data(struct smtp_session *, const uint8_t *,
		    size_t);
static void	smtp_proceed_bdat(struct smtp_session *, const uint8_t *,
		    size_t);
static void	smtp_proceed_auth(struct smtp_session *, const uint8_t *,
		    size_t);
static void	smtp_proceed_quit(struct smtp_session *, const uint8_t *,
		    size_t);
static void	smtp_reply_ehlo(struct smtp_session *, unsigned,
		    const uint8_t *, size_t);
static void	smtp_reply_helo(struct smtp_session *, unsigned,
		    const uint8_t *, size_t);
static void	smtp_reply_starttls(struct smtp_session *, unsigned,
		    const uint8_t *, size_t);
static void	smtp_reply_data(struct smtp_session *, unsigned,
		    const uint8_t *, size_t);
static void	smtp_reply_auth(struct smtp_session *, unsigned,
		    const uint8_t *, size_t);

/*
 * Each verb with what its line does and what its reply does. ours: only
 * SMTP has it, so a first line with it is SMTP (POP3 and IMAP clients
 * also say QUIT, NOOP, AUTH, RSET).
 */
static const struct smtp_verb {
	enum smtp_cmd	 cmd;
	const char	*name;
	smtp_proceed_fn	 proceed;	/* on the command line, or NULL */
	smtp_reply_fn	 reply;		/* on its final reply, or NULL */
	int		 ours;
} smtp_verbs[] = {
	{ CMD_EHLO,	"EHLO",		smtp_proceed_ehlo, smtp_reply_ehlo, 1 },
	{ CMD_HELO,	"HELO",		smtp_proceed_helo, smtp_reply_helo, 1 },
	{ CMD_STARTTLS,	"STARTTLS",	smtp_proceed_starttls,
	    smtp_reply_starttls, 1 },
	{ CMD_MAIL,	"MAIL",		NULL,		NULL,		1 },
	{ CMD_RCPT,	"RCPT",		NULL,		NULL,		1 },
	{ CMD_DATA,	"DATA",		smtp_proceed_data, smtp_reply_data, 1 },
	{ CMD_BDAT,	"BDAT",		smtp_proceed_bdat, NULL,	1 },
	{ CMD_AUTH,	"AUTH",		smtp_proceed_auth, smtp_reply_auth, 0 },
	{ CMD_RSET,	"RSET",		NULL,		NULL,		0 },
	{ CMD_QUIT,	"QUIT",		smtp_proceed_quit, NULL,	0 },
	{ CMD_NOOP,	"NOOP",		NULL,		NULL,		0 },
	{ CMD_VRFY,	"VRFY",		NULL,		NULL,		1 },
	{ CMD_EXPN,	"EXPN",		NULL,		NULL,		1 },
	{ CMD_HELP,	"HELP",		NULL,		NULL,		1 },
	{ CMD_ETRN,	"ETRN",		NULL,		NULL,		1 },
	{ CMD_XCLIENT,	"XCLIENT",	NULL,		NULL,		1 },
	{ CMD_XFORWARD,	"XFORWARD",	NULL,		NULL,		1 },
};
#define SMTP_NVERBS	(sizeof(smtp_verbs) / sizeof(smtp_verbs[0]))

/* First words of other protocols' requests: the client is clearly not
 * speaking SMTP when it opens with one of these. */
static const char *const smtp_foreign[] = {
	"GET", "POST", "HEAD", "PUT", "OPTIONS", "CONNECT", "DELETE",
	"SSH-2.0-", "SSH-1.99-"
};

static void	smtp_reply_line(struct smtp_session *, const uint8_t *,
		    size_t, unsigned, int);

static int
smtp_is_foreign(const uint8_t *p, size_t n)
{
	size_t	 i, w;

	for (i = 0; i < sizeof(smtp_foreign) / sizeof(smtp_foreign[0]); i++) {
		w = strlen(smtp_foreign[i]);
		if (smtp_foreign[i][w - 1] == '-') {
			if (n >= w && memcmp(p, smtp_foreign[i], w) == 0)
				return 1;
		} else if (n > w && p[w] == ' ' &&
		    memcmp(p, smtp_foreign[i], w) == 0)
			return 1;
	}
	return 0;
}

/* "DDD", "DDD-..." or "DDD ..." with 200 <= DDD <= 599. */
static int
smtp_reply_code(const uint8_t *p, size_t n, unsigned *code, int *cont)
{
	if (n < 3 || p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9')
		return 0;
	if (n > 3 && p[3] != ' ' && p[3] != '-')
		return 0;
	*code = (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
	    (unsigned)(p[2] - '0');
	*cont = n > 3 && p[3] == '-';
	return 1;
}

/* PIX/ASA greeting: only '*', digits and spaces, and enough '*'. */
static int
smtp_is_masked_banner(const uint8_t *p, size_t n)
{
	size_t	 i, stars = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '*')
			stars++;
		else if (p[i] != ' ' && (p[i] < '0' || p[i] > '9'))
			return 0;
	}
	return stars >= SMTP_MASK_STARS;
}

static enum smtp_cmd
smtp_q_peek(const struct smtp_session *s)
{
	return (enum smtp_cmd)mail_q_peek(&s->q);
}

static const struct smtp_verb *
smtp_verb_by_name(const uint8_t *p, size_t w)
{
	size_t	 i;

	for (i = 0; i < SMTP_NVERBS; i++)
		if (mail_ieq(p, w, smtp_verbs[i].name))
			return &smtp_verbs[i];
	return NULL;
}

static const struct smtp_verb *
smtp_verb_by_cmd(enum smtp_cmd cmd)
{
	size_t	 i;

	for (i = 0; i < SMTP_NVERBS; i++)
		if (smtp_verbs[i].cmd == cmd)
			return &smtp_verbs[i];
	return NULL;
}

static void
smtp_proceed_ehlo(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	s->m.f.flags |= MAIL_F_EHLO;
	if (s->m.f.ehlo_count++ == 0)
		text_field_set(&s->m.f.helo, arg, n);
}

static void
smtp_proceed_helo(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	s->m.f.flags |= MAIL_F_HELO;
	if (s->m.f.ehlo_count++ == 0)
		text_field_set(&s->m.f.helo, arg, n);
}

static void
smtp_proceed_starttls(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	mail_starttls_asked(&s->m);
}

/* The body follows without waiting for 354: see smtp_reply_data(). */
static void
smtp_proceed_data(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	mail_body(&s->m, 0);
}

/* "BDAT size [LAST]": size bytes of chunk follow the line. */
static void
smtp_proceed_bdat(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	uint64_t	 size = 0;
	size_t		 i, w = mail_word(arg, n);

	if (w == 0) {
		s->m.stats->bad_bdat++;
		return;
	}
	for (i = 0; i < w; i++) {
		if (arg[i] < '0' || arg[i] > '9' ||
		    size > (SMTP_BDAT_MAX - (uint64_t)(arg[i] - '0')) / 10) {
			s->m.stats->bad_bdat++;
			return;
		}
		size = size * 10 + (uint64_t)(arg[i] - '0');
	}
	mail_raw(&s->m, 0, size);
}

static void
smtp_proceed_auth(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	mail_auth_start(&s->m, "AUTH", arg, n);
}

static void
smtp_proceed_quit(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	s->m.f.flags |= MAIL_F_QUIT;
}

/* Commit what the EHLO reply said, now that it is complete. */
static void
smtp_reply_ehlo(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	struct mail_facts *f = &s->m.f;

	(void)p;
	(void)n;
	f->flags |= MAIL_F_CAPS;
	f->ehlo_reply = (uint16_t)code;
	if (code >= 400) {
		f->flags |= MAIL_F_CAPS_REFUSED;
		return;
	}
	if (s->r_offered)
		f->flags |= MAIL_F_STARTTLS_OFFERED;
	if (s->r_masked.len > 0 && (!(f->flags & MAIL_F_CAP_MASKED) ||
	    (s->cap_kwlen != SMTP_STARTTLS_LEN &&
	    s->r_kwlen == SMTP_STARTTLS_LEN))) {
		text_field_set(&f->cap_masked, s->r_masked.b,
		    s->r_masked.len);
		s->cap_kwlen = s->r_kwlen;
		f->flags |= MAIL_F_CAP_MASKED;
	}
}

/*
 * A HELO reply shows no capabilities, so MAIL_F_CAPS stays clear; its code
 * goes to ehlo_reply unless an EHLO was answered before (detect.c reads
 * HELO && !EHLO && ehlo_reply as "HELO-only session, answered").
 */
static void
smtp_reply_helo(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	(void)p;
	(void)n;
	if (s->m.f.ehlo_reply == 0)
		s->m.f.ehlo_reply = (uint16_t)code;
}

static void
smtp_reply_starttls(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	s->m.f.starttls_reply = (uint16_t)code;
	/* RFC 3207 4.2: a server discards what was sent before the 220. */
	if (code == 220)
		mail_q_clear(&s->m, &s->q);
	mail_starttls_answered(&s->m, code == 220, p, n);
}

static void
smtp_reply_data(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	(void)p;
	(void)n;
	if (code != 354 && s->m.d[0].mode == MAIL_MODE_BODY)
		mail_lines(&s->m, 0);
}

static void
smtp_reply_auth(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	(void)code;
	(void)p;
	(void)n;
	if (s->m.state == MAIL_ST_AUTH)
		mail_set_state(&s->m, MAIL_ST_COMMAND);
}

/* A client command line: find its verb, queue it, act on it. */
static void
smtp_command(struct smtp_session *s, const uint8_t *p, size_t n)
{
	struct mail_facts *f = &s->m.f;
	const struct smtp_verb *v;
	size_t		 w = mail_word(p, n), a;
	int		 first = s->m.d[0].lines == 1;

	if ((v = smtp_verb_by_name(p, w)) == NULL) {
		if (first && !(f->flags & MAIL_F_PROTO) &&
		    smtp_is_foreign(p, n)) {
			mail_foreign_line(&s->m);
			return;
		}
		if (mail_is_masked_keyword(p, w)) {
			if (!(f->flags & MAIL_F_CMD_MASKED)) {
				text_field_set(&f->cmd_masked, p, n);
				f->flags |= MAIL_F_CMD_MASKED;
			}
			mail_q_push(&s->m, &s->q, CMD_MASKED);
		} else
			mail_q_push(&s->m, &s->q, CMD_UNKNOWN);
		return;
	}
	/* a greeting, or a known verb as the first line (joined late);
	 * "QUIT" after lines of another protocol proves nothing */
	if (!(f->flags & MAIL_F_PROTO) &&
	    (v->cmd == CMD_EHLO || v->cmd == CMD_HELO))
		f->flags |= MAIL_F_PROTO;
	else if (!(f->flags & MAIL_F_PROTO) && first) {
		f->flags |= MAIL_F_PROTO | MAIL_F_MIDSTREAM;
		if (s->m.state == MAIL_ST_GREETING)
			mail_set_state(&s->m, MAIL_ST_COMMAND);
	}
	mail_q_push(&s->m, &s->q, v->cmd);
	for (a = w; a < n && p[a] == ' '; a++)
		;
	if (v->proceed != NULL)
		v->proceed(s, p + a, n - a);
}


/* A line after the first of an EHLO reply: "250-KEYWORD params". */
static void
smtp_capability(struct smtp_session *s, const uint8_t *p, size_t n)
{
	const uint8_t	*kw = p + SMTP_CODE_LEN;
	size_t		 w;

	if (n <= SMTP_CODE_LEN)
		return;
	w = mail_word(kw, n - SMTP_CODE_LEN);
	if (mail_ieq(kw, w, "STARTTLS")) {
		s->r_offered = 1;
		return;
	}
	if (!mail_is_masked_keyword(kw, w))
		return;
	if (s->r_masked.len == 0 || (s->r_kwlen != SMTP_STARTTLS_LEN &&
	    w == SMTP_STARTTLS_LEN)) {
		text_field_set(&s->r_masked, p, n);
		s->r_kwlen = (uint8_t)(w > UINT8_MAX ? UINT8_MAX : w);
	}
}

/* A server line while waiting for the greeting. */
static void
smtp_banner_line(struct smtp_session *s, const uint8_t *p, size_t n,
    unsigned code, int cont)
{
	struct mail_facts *f = &s->m.f;
	const uint8_t	*text = p + SMTP_CODE_LEN;
	size_t		 tlen = n > SMTP_CODE_LEN ? n - SMTP_CODE_LEN : 0;

	if (s->r_lines == 0 && (code != 220 ||
	    smtp_q_peek(s) == CMD_STARTTLS)) {
		/* not a greeting: we joined after it (421/554 are greetings
		 * refusing service) */
		f->flags |= MAIL_F_PROTO;
		if (code != 421 && code != 554)
			f->flags |= MAIL_F_MIDSTREAM;
		s->greeted = 1;
		if (s->m.state == MAIL_ST_GREETING)
			mail_set_state(&s->m, MAIL_ST_COMMAND);
		smtp_reply_line(s, p, n, code, cont);
		return;
	}
	if (s->r_lines++ == 0) {
		text_field_set(&f->banner, text, tlen);
		if (smtp_is_masked_banner(text, tlen))
			f->flags |= MAIL_F_BANNER_MASKED;
		f->flags |= MAIL_F_PROTO | MAIL_F_GREETING;
	}
	if (!cont) {
		s->r_lines = 0;
		s->greeted = 1;
		if (s->m.state == MAIL_ST_GREETING)
			mail_set_state(&s->m, MAIL_ST_COMMAND);
	}
}

static void
smtp_reply_done(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	const struct smtp_verb *v;
	enum smtp_cmd	 cmd = smtp_q_peek(s);

	if (cmd == CMD_NONE)
		s->m.stats->unpaired++;
	else if (!(cmd == CMD_AUTH && code == 334)) {	/* SASL goes on */
		mail_q_pop(&s->m, &s->q);
		if ((v = smtp_verb_by_cmd(cmd)) != NULL && v->reply != NULL)
			v->reply(s, code, p, n);
	}
	if (code == 421) {	/* the server closes the session */
		if (s->m.f.ehlo_reply == 0 || s->m.f.ehlo_reply == 421)
			s->m.f.flags |= MAIL_F_CLOSING;
		mail_set_state(&s->m, MAIL_ST_DONE);
	}
}

/* One line of a reply; the last one pairs the reply with its command. */
static void
smtp_reply_line(struct smtp_session *s, const uint8_t *p, size_t n,
    unsigned code, int cont)
{
	if (s->r_lines++ == 0) {
		s->r_offered = 0;
		s->r_masked.len = 0;
		s->r_kwlen = 0;
	} else if (smtp_q_peek(s) == CMD_EHLO && code / 100 == 2)
		smtp_capability(s, p, n);
	if (cont)
		return;
	s->r_lines = 0;
	smtp_reply_done(s, code, p, n);
}

static void
smtp_server_line(struct smtp_session *s, const uint8_t *p, size_t n)
{
	unsigned	 code;
	int		 cont;

	if (!smtp_reply_code(p, n, &code, &cont)) {
		s->m.stats->bad_replies++;
		if (!(s->m.f.flags & MAIL_F_PROTO))
			mail_foreign_line(&s->m);
		return;
	}
	if (!s->greeted)	/* the client may be ahead in the capture */
		smtp_banner_line(s, p, n, code, cont);
	else
		smtp_reply_line(s, p, n, code, cont);
}

static void
smtp_line(struct mail_session *m, int dir, const uint8_t *p, size_t n,
    enum mail_role role)
{
	struct smtp_session *s = (struct smtp_session *)m;

	(void)role;
	if (dir == 0)
		smtp_command(s, p, n);
	else
		smtp_server_line(s, p, n);
}

/* A DATA body ended: its reply pairs with this. */
static void
smtp_body_end(struct mail_session *m, int dir)
{
	struct smtp_session *s = (struct smtp_session *)m;

	if (dir == 0)
		mail_q_push(m, &s->q, CMD_EOD);
}

/*
 * Client: replies to lost commands will come. Server: lost replies shift
 * the pairing. Either way a wrong pair could invent facts (an EHLO
 * "reply" without STARTTLS), so what is queued is dropped and the replies
 * to it are counted unpaired instead.
 */
static void
smtp_gap(struct mail_session *m, int dir)
{
	struct smtp_session *s = (struct smtp_session *)m;

	if (dir == 1 || m->d[0].mode != MAIL_MODE_BODY)
		mail_q_clear(m, &s->q);
	if (dir == 1)
		s->r_lines = 0;
}

static void
smtp_init(struct mail_session *m)
{
	struct smtp_session *s = (struct smtp_session *)m;

	mail_q_clear(m, &s->q);
}

static void
smtp_release(struct mail_session *m)
{
	struct smtp_session *s = (struct smtp_session *)m;

	mail_q_clear(m, &s->q);
	text_field_free(&s->r_masked);
}

/* struct mail_resume.proto_bits */
#define SMTP_R_GREETED		0x01	/* the greeting is behind us */

static void
smtp_save(const struct mail_session *m, struct mail_resume *r)
{
	const struct smtp_session *s = (const struct smtp_session *)m;
	uint32_t	 i;

	r->proto_bits = s->greeted ? SMTP_R_GREETED : 0;
	/* A reply cut in the middle cannot be paired: its end will be read
	 * as unpaired, as after a gap (smtp_gap()). */
	if (s->r_lines > 0)
		return;
	for (i = 0; i < s->q.len && i < MAIL_RESUME_QUEUE; i++)
		r->q[i] = (s->q.q != NULL ? s->q.q : s->q.qin)[(s->q.head + i) %
		    s->q.cap];
	r->qlen = (uint8_t)i;
}

static void
smtp_resume(struct mail_session *m, const struct mail_resume *r)
{
	struct smtp_session *s = (struct smtp_session *)m;
	uint32_t	 i;

	s->greeted = (r->proto_bits & SMTP_R_GREETED) != 0;
	m->f.ehlo_count = (r->flags & (MAIL_F_EHLO | MAIL_F_HELO)) ? 1 : 0;
	for (i = 0; i < r->qlen && i < MAIL_RESUME_QUEUE; i++)
		mail_q_push(m, &s->q, r->q[i]);
}

/* A reply code from the server, or a verb only SMTP has from the client. */
static int
smtp_claims(int dir, const uint8_t *p, size_t n)
{
	const struct smtp_verb *v;
	unsigned	 code;
	int		 cont;

	if (dir == 1)
		return smtp_reply_code(p, n, &code, &cont);
	v = smtp_verb_by_name(p, mail_word(p, n));
	return v != NULL && v->ours;
}

const struct mail_proto_ops smtp_ops = {
	.proto = MAIL_PROTO_SMTP,
	.size = sizeof(struct smtp_session),
	.init = smtp_init,
	.line = smtp_line,
	.body_end = smtp_body_end,
	.gap = smtp_gap,
	.release = smtp_release,
	.claims = smtp_claims,
	.save = smtp_save,
	.resume = smtp_resume,
};
