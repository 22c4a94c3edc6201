/*
 * imap.c: the IMAP parser of a mail session (IMAP4rev1, RFC 3501;
 * IMAP4rev2, RFC 9051; mail.c frames the lines). It records the greeting,
 * the capabilities shown before login, STARTTLS (RFC 2595) and its tagged
 * answer, and passwords sent outside TLS (LOGIN, AUTHENTICATE with or
 * without an initial response, RFC 4959), for detect.c.
 *
 * Answers pair with commands by tag, not by order: a tagged OK, NO or BAD
 * answers the command that carried its tag, and untagged responses in
 * between answer nothing. Literals ("{n}", "{n+}" of RFC 7888, literal8
 * "~{n}") are stepped over by their length in both directions: a fetched
 * message, an appended one or a literal mailbox name is never read as
 * protocol, whatever it quotes.
 *
 * Capabilities are a fact about the server's offer only before login:
 * after it (and after a PREAUTH greeting) a server lists no STARTTLS, as
 * RFC 3501 allows it only in the not-authenticated state. A capture that
 * joined late does not know which state it is in, so there a list counts
 * only when it shows a sign of the not-authenticated state (STARTTLS,
 * LOGINDISABLED, AUTH=, a masked keyword).
 */
#include <stdio.h>
#include <string.h>

#include "mailpriv.h"

/*
 * Bytes of a tag kept to pair its answer. Clients use short tags ("a1",
 * "A0001", "ABCD12"); longer ones are compared on this prefix and their
 * length. Kept small with IMAP_PENDING so that an IMAP session costs no
 * more than an SMTP one.
 */
#define IMAP_TAG_MAX		12
/* Commands awaiting an answer that matters: one each of STARTTLS, LOGIN
 * or AUTHENTICATE, and CAPABILITY. */
#define IMAP_PENDING		3
/*
 * Literal sizes beyond this are refused as bad: RFC 3501 allows up to
 * 2^32 - 1 and RFC 9051 literal8 up to 2^63; no real message comes within
 * orders of magnitude of 2^48, and a larger size is junk or an attempt to
 * make the parser step over the rest of the session.
 */
#define IMAP_LITERAL_MAX	(UINT64_C(1) << 48)
/* Decimal digits of IMAP_LITERAL_MAX: a longer size is too large. */
#define IMAP_LITERAL_DIGITS	15

enum imap_cmd {
	CMD_UNKNOWN = 0,	/* a command we do not know */
	CMD_CAPABILITY,
	CMD_STARTTLS,
	CMD_LOGIN,
	CMD_AUTHENTICATE,
	CMD_LOGOUT,
	CMD_OTHER		/* known, nothing to do */
};

/* What the server says of a tagged command. */
enum imap_status {
	ST_OK = 0,
	ST_NO,
	ST_BAD
};

/* Whether the session is logged in (RFC 3501 3.1, 3.2). */
enum imap_authed {
	AUTHED_UNKNOWN = 0,	/* joined late: not known */
	AUTHED_NOT,		/* greeting OK, no login yet */
	AUTHED_YES		/* PREAUTH, or LOGIN/AUTHENTICATE said OK */
};

/* What the client literal being stepped over is. */
enum imap_lit {
	LIT_OTHER = 0,		/* nothing we keep */
	LIT_USER		/* LOGIN's user name: kept */
};

struct imap_tag {
	uint8_t		 b[IMAP_TAG_MAX]; /* its first bytes */
	uint8_t		 len;		/* its length, capped at UINT8_MAX;
					   0 = none */
};

struct imap_pending {
	struct imap_tag	 tag;
	uint8_t		 verb;		/* 1 + its index in imap_verbs[], 0:
					   a free slot */
};

struct imap_session {
	struct mail_session m;		/* first: mail.c's part */
	struct imap_pending pend[IMAP_PENDING]; /* commands awaiting their
					   tagged answer */
	uint8_t		 pend_next;	/* slot the next one takes */
	uint8_t		 greeted;	/* the server's first line is behind
					   us (greeting or not) */
	uint8_t		 authed;	/* enum imap_authed */
	/* the client's command going on after a literal */
	struct imap_tag	 c_tag;		/* its tag */
	uint8_t		 c_cont;	/* its next line continues it */
	uint8_t		 c_cmd;		/* enum imap_cmd */
	uint8_t		 c_args;	/* LOGIN: arguments begun */
	uint8_t		 c_lit;		/* enum imap_lit being stepped over */
	uint8_t		 c_sync;	/* it waits for the server's "+" */
	uint8_t		 c_seen;	/* some of its bytes came */
	uint32_t	 c_gaps;	/* f.gaps when it began */
	/* the server's response going on after a literal */
	uint8_t		 s_cont;
};

typedef void (*imap_proceed_fn)(struct imap_session *, const uint8_t *,
    size_t);
typedef void (*imap_answer_fn)(struct imap_session *, enum imap_status,
    const uint8_t *, size_t);

static void	imap_proceed_starttls(struct imap_session *, const uint8_t *,
		    size_t);
static void	imap_proceed_login(struct imap_session *, const uint8_t *,
		    size_t);
static void	imap_proceed_authenticate(struct imap_session *,
		    const uint8_t *, size_t);
static void	imap_proceed_logout(struct imap_session *, const uint8_t *,
		    size_t);
static void	imap_answer_capability(struct imap_session *,
		    enum imap_status, const uint8_t *, size_t);
static void	imap_answer_starttls(struct imap_session *, enum imap_status,
		    const uint8_t *, size_t);
static void	imap_answer_login(struct imap_session *, enum imap_status,
		    const uint8_t *, size_t);

/* What a first line must carry after the command to claim the session. */
enum imap_args {
	ARGS_NONE = 0,		/* nothing */
	ARGS_SOME,		/* something */
	ARGS_TWO		/* two words, or a literal */
};

/*
 * Each command with what its line does and what its tagged answer does.
 * Only IMAP sends "tag COMMAND", so every row can claim a session; args
 * keeps other protocols' lines out ("AUTH LOGIN" is SMTP, not an IMAP
 * LOGIN tagged "AUTH").
 */
static const struct imap_verb {
	enum imap_cmd	 cmd;
	const char	*name;
	imap_proceed_fn	 proceed;	/* on the command line, or NULL */
	imap_answer_fn	 answer;	/* on its tagged answer, or NULL */
	enum imap_args	 args;
} imap_verbs[] = {
	{ CMD_CAPABILITY, "CAPABILITY", NULL,	imap_answer_capability,
	    ARGS_NONE },
	{ CMD_STARTTLS,	"STARTTLS",	imap_proceed_starttls,
	    imap_answer_starttls, ARGS_NONE },
	{ CMD_LOGIN,	"LOGIN",	imap_proceed_login, imap_answer_login,
	    ARGS_TWO },
	{ CMD_AUTHENTICATE, "AUTHENTICATE", imap_proceed_authenticate,
	    imap_answer_login, ARGS_SOME },
	{ CMD_LOGOUT,	"LOGOUT",	imap_proceed_logout, NULL, ARGS_NONE },
	{ CMD_OTHER,	"NOOP",		NULL,		NULL,	ARGS_NONE },
	{ CMD_OTHER,	"ID",		NULL,		NULL,	ARGS_SOME },
	{ CMD_OTHER,	"ENABLE",	NULL,		NULL,	ARGS_SOME },
	{ CMD_OTHER,	"SELECT",	NULL,		NULL,	ARGS_SOME },
	{ CMD_OTHER,	"EXAMINE",	NULL,		NULL,	ARGS_SOME },
	{ CMD_OTHER,	"CREATE",	NULL,		NULL,	ARGS_SOME },
	{ CMD_OTHER,	"DELETE",	NULL,		NULL,	ARGS_SOME },
	{ CMD_OTHER,	"RENAME",	NULL,		NULL,	ARGS_TWO },
	{ CMD_OTHER,	"SUBSCRIBE",	NULL,		NULL,	ARGS_SOME },
	{ CMD_OTHER,	"UNSUBSCRIBE",	NULL,		NULL,	ARGS_SOME },
	{ CMD_OTHER,	"LIST",		NULL,		NULL,	ARGS_TWO },
	{ CMD_OTHER,	"LSUB",		NULL,		NULL,	ARGS_TWO },
	{ CMD_OTHER,	"NAMESPACE",	NULL,		NULL,	ARGS_NONE },
	{ CMD_OTHER,	"STATUS",	NULL,		NULL,	ARGS_TWO },
	{ CMD_OTHER,	"APPEND",	NULL,		NULL,	ARGS_TWO },
	{ CMD_OTHER,	"IDLE",		NULL,		NULL,	ARGS_NONE },
	{ CMD_OTHER,	"CHECK",	NULL,		NULL,	ARGS_NONE },
	{ CMD_OTHER,	"CLOSE",	NULL,		NULL,	ARGS_NONE },
	{ CMD_OTHER,	"UNSELECT",	NULL,		NULL,	ARGS_NONE },
	{ CMD_OTHER,	"EXPUNGE",	NULL,		NULL,	ARGS_NONE },
	{ CMD_OTHER,	"SEARCH",	NULL,		NULL,	ARGS_SOME },
	{ CMD_OTHER,	"FETCH",	NULL,		NULL,	ARGS_TWO },
	{ CMD_OTHER,	"STORE",	NULL,		NULL,	ARGS_TWO },
	{ CMD_OTHER,	"COPY",		NULL,		NULL,	ARGS_TWO },
	{ CMD_OTHER,	"MOVE",		NULL,		NULL,	ARGS_TWO },
	{ CMD_OTHER,	"UID",		NULL,		NULL,	ARGS_TWO },
};
#define IMAP_NVERBS	(sizeof(imap_verbs) / sizeof(imap_verbs[0]))

/* The status words of a response, in enum imap_status order. */
static const char *const imap_status_names[] = { "OK", "NO", "BAD" };

/*
 * A tag character: ASTRING-CHAR but '+' (RFC 3501 9), i.e. printable
 * ASCII but the atom-specials ( ) { SP % * " \ and '+'.
 */
static int
imap_tag_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\+", c) == NULL;
}

static int
imap_is_tag(const uint8_t *p, size_t n)
{
	size_t	 i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!imap_tag_char(p[i]))
			return 0;
	return 1;
}

static void
imap_tag_set(struct imap_tag *t, const uint8_t *p, size_t n)
{
	memcpy(t->b, p, n < IMAP_TAG_MAX ? n : IMAP_TAG_MAX);
	t->len = (uint8_t)(n < UINT8_MAX ? n : UINT8_MAX);
}

static int
imap_tag_eq(const struct imap_tag *t, const uint8_t *p, size_t n)
{
	return t->len > 0 && t->len == (n < UINT8_MAX ? n : UINT8_MAX) &&
	    memcmp(t->b, p, n < IMAP_TAG_MAX ? n : IMAP_TAG_MAX) == 0;
}

/* Offset of the first byte after the spaces at p + i. */
static size_t
imap_skip(const uint8_t *p, size_t n, size_t i)
{
	while (i < n && p[i] == ' ')
		i++;
	return i;
}

/* Whether p (n bytes) is one of the status words; which in *st. */
static int
imap_status(const uint8_t *p, size_t n, enum imap_status *st)
{
	size_t	 i;

	for (i = 0; i < sizeof(imap_status_names) / sizeof(char *); i++)
		if (mail_ieq(p, n, imap_status_names[i])) {
			*st = (enum imap_status)i;
			return 1;
		}
	return 0;
}

/*
 * Whether the line ends in a literal marker "{n}" or "{n+}": 1 with the
 * size, whether the sender waits for a "+" before sending it (*sync) and
 * where the marker begins (*at), 0 when it does not, -1 for a marker
 * whose size cannot be used (counted; the line then ends there).
 */
static int
imap_literal(struct imap_session *s, const uint8_t *p, size_t n,
    uint64_t *size, int *sync, size_t *at)
{
	size_t		 end, i;

	if (n < 2 || p[n - 1] != '}')
		return 0;
	end = n - 1;
	*sync = !(p[end - 1] == '+');
	if (!*sync)
		end--;
	for (i = end; i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9'; i--)
		;
	if (i == 0 || p[i - 1] != '{')
		return 0;		/* text ending in '}' */
	*at = i - 1;
	if (i == end || end - i > IMAP_LITERAL_DIGITS)
		goto bad;
	for (*size = 0; i < end; i++)
		*size = *size * 10 + (uint64_t)(p[i] - '0');
	if (*size > IMAP_LITERAL_MAX)
		goto bad;
	return 1;
bad:
	s->m.stats->bad_bdat++;
	return -1;
}

/*
 * A quoted string at p (p[0] is '"'): returns the bytes it takes, up to
 * its closing quote or the end of the line. With out, its value (the
 * escapes \" and \\ undone) is written there, at most TEXT_FIELD_MAX
 * bytes, and its length to *olen. A password is read with out NULL: no
 * copy of it is made.
 */
static size_t
imap_quoted(const uint8_t *p, size_t n, uint8_t *out, size_t *olen)
{
	size_t	 i, o = 0;

	for (i = 1; i < n && p[i] != '"'; i++) {
		if (p[i] == '\\' && i + 1 < n)
			i++;
		if (out != NULL && o < TEXT_FIELD_MAX)
			out[o++] = p[i];
	}
	if (olen != NULL)
		*olen = o;
	return i < n ? i + 1 : n;
}

/* The first user name of the session is kept until its password comes. */
static void
imap_user(struct imap_session *s, const uint8_t *p, size_t n)
{
	if (!(s->m.f.flags & MAIL_F_CREDENTIALS))
		text_field_set(&s->m.f.cred_user, p, n);
}

/* Bytes of a literal user name: added to what came before. */
static void
imap_user_more(struct imap_session *s, const uint8_t *p, size_t n)
{
	struct text_field *u = &s->m.f.cred_user;
	uint8_t		 buf[TEXT_FIELD_MAX];
	size_t		 have = u->len, take;

	/* bytes after a hole would make a name that was never sent */
	if ((s->m.f.flags & MAIL_F_CREDENTIALS) || s->m.f.gaps != s->c_gaps ||
	    have >= TEXT_FIELD_MAX)
		return;
	take = n < TEXT_FIELD_MAX - have ? n : TEXT_FIELD_MAX - have;
	if (have > 0)
		memcpy(buf, u->b, have);
	memcpy(buf + have, p, take);
	text_field_set(u, buf, have + take);
}

/*
 * LOGIN's arguments on one line (a literal marker excluded): the user
 * name is kept, the password only counted, never copied.
 */
static void
imap_login_args(struct imap_session *s, const uint8_t *p, size_t n)
{
	uint8_t		 user[TEXT_FIELD_MAX];
	size_t		 i = imap_skip(p, n, 0), len, ulen;

	while (i < n && s->c_args < 2) {
		if (s->c_args == 1)	/* never kept as evidence either */
			mail_secret(&s->m, p + i);
		if (p[i] == '"')
			len = imap_quoted(p + i, n - i,
			    s->c_args == 0 ? user : NULL, &ulen);
		else {
			len = mail_word(p + i, n - i);
			ulen = len;
			if (s->c_args == 0)
				memcpy(user, p + i, ulen < TEXT_FIELD_MAX ?
				    ulen : TEXT_FIELD_MAX);
		}
		if (s->c_args++ == 0)
			imap_user(s, user, ulen < TEXT_FIELD_MAX ? ulen :
			    TEXT_FIELD_MAX);
		i = imap_skip(p, n, i + len);
	}
}

/*
 * Remember a command whose tagged answer matters, in a free slot; when
 * none is free the oldest gives way (counted in pipeline_full).
 */
static void
imap_pend(struct imap_session *s, const uint8_t *tag, size_t tlen,
    const struct imap_verb *v)
{
	struct imap_pending *pd;
	size_t		 i, k;

	for (i = 0; i < IMAP_PENDING; i++) {
		k = (s->pend_next + i) % IMAP_PENDING;
		if (s->pend[k].verb == 0)
			break;
	}
	if (i == IMAP_PENDING) {
		k = s->pend_next;
		s->m.stats->pipeline_full++;
	}
	pd = &s->pend[k];
	imap_tag_set(&pd->tag, tag, tlen);
	pd->verb = (uint8_t)(v - imap_verbs + 1);
	s->pend_next = (uint8_t)((k + 1) % IMAP_PENDING);
}

static const struct imap_verb *
imap_verb_by_name(const uint8_t *p, size_t w)
{
	size_t	 i;

	for (i = 0; i < IMAP_NVERBS; i++)
		if (mail_ieq(p, w, imap_verbs[i].name))
			return &imap_verbs[i];
	return NULL;
}

/* Commands only sent before login: a late capture learns the state. */
static void
imap_before_login(struct imap_session *s)
{
	if (s->authed == AUTHED_UNKNOWN)
		s->authed = AUTHED_NOT;
}

static void
imap_proceed_starttls(struct imap_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	imap_before_login(s);
	mail_starttls_asked(&s->m);
}

static void
imap_proceed_login(struct imap_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	imap_before_login(s);
	s->c_args = 0;
}

static void
imap_proceed_authenticate(struct imap_session *s, const uint8_t *arg,
    size_t n)
{
	imap_before_login(s);
	mail_auth_start(&s->m, "AUTHENTICATE", arg, n);
}

static void
imap_proceed_logout(struct imap_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	s->m.f.flags |= MAIL_F_QUIT;
}

/*
 * A capability list, atoms up to the end of the line or a ']' (line is
 * the whole line, kept as evidence of a masked one): what it offers.
 */
static void
imap_caps(struct imap_session *s, const uint8_t *line, size_t linelen,
    const uint8_t *p, size_t n)
{
	struct mail_facts *f = &s->m.f;
	const uint8_t	*rb = memchr(p, ']', n);
	size_t		 i, w;
	int		 offered = 0, disabled = 0, masked = 0, auth = 0;

	if (rb != NULL)
		n = (size_t)(rb - p);
	for (i = imap_skip(p, n, 0); i < n; i = imap_skip(p, n, i + w)) {
		w = mail_word(p + i, n - i);
		offered |= mail_ieq(p + i, w, "STARTTLS");
		disabled |= mail_ieq(p + i, w, "LOGINDISABLED");
		masked |= mail_is_masked_keyword(p + i, w);
		auth |= w > 5 && mail_ieq(p + i, 5, "AUTH=");
	}
	if (s->authed == AUTHED_YES || (s->authed == AUTHED_UNKNOWN &&
	    !(offered || disabled || masked || auth)))
		return;
	f->flags |= MAIL_F_CAPS;
	if (offered)
		f->flags |= MAIL_F_STARTTLS_OFFERED;
	if (disabled)
		f->flags |= MAIL_F_LOGINDISABLED;
	if (masked && !offered && !(f->flags & MAIL_F_CAP_MASKED)) {
		text_field_set(&f->cap_masked, line, linelen);
		f->flags |= MAIL_F_CAP_MASKED;
	}
}

/* Response text that may open with a code: "[CAPABILITY ...]" lists. */
static void
imap_resp_code(struct imap_session *s, const uint8_t *line, size_t linelen,
    const uint8_t *text, size_t n)
{
	size_t	 w;

	if (n < 2 || text[0] != '[')
		return;
	w = mail_word(text + 1, n - 1);
	if (mail_ieq(text + 1, w, "CAPABILITY"))
		imap_caps(s, line, linelen, text + 1 + w, n - 1 - w);
}

static void
imap_answer_capability(struct imap_session *s, enum imap_status st,
    const uint8_t *p, size_t n)
{
	(void)p;
	(void)n;
	if (st == ST_OK || s->authed == AUTHED_YES)
		return;
	s->m.f.flags |= MAIL_F_CAPS | MAIL_F_CAPS_REFUSED;
}

static void
imap_answer_starttls(struct imap_session *s, enum imap_status st,
    const uint8_t *p, size_t n)
{
	snprintf(s->m.f.starttls_status, sizeof(s->m.f.starttls_status), "%s",
	    imap_status_names[st]);
	mail_starttls_answered(&s->m, st == ST_OK, p, n);
}

/* LOGIN or AUTHENTICATE answered: a SASL exchange ends here. */
static void
imap_answer_login(struct imap_session *s, enum imap_status st,
    const uint8_t *p, size_t n)
{
	(void)p;
	(void)n;
	if (s->m.state == MAIL_ST_AUTH)
		mail_set_state(&s->m, MAIL_ST_COMMAND);
	if (st == ST_OK)
		s->authed = AUTHED_YES;
}

/* The client's command is complete: a LOGIN has sent its password. */
static void
imap_command_done(struct imap_session *s)
{
	s->c_cont = 0;
	if (s->c_cmd == CMD_LOGIN && s->c_args >= 2)
		mail_credentials(&s->m, "LOGIN", s->m.f.cred_user.b,
		    s->m.f.cred_user.len);
}

/*
 * Arguments of the client's command on one line (after the command word
 * on its first line, the whole of a continuation line): LOGIN's read, a
 * literal at the end stepped over, after which the command goes on.
 */
static void
imap_client_args(struct imap_session *s, const uint8_t *p, size_t n)
{
	uint64_t	 size;
	size_t		 at = n;
	int		 lit, sync;

	lit = imap_literal(s, p, n, &size, &sync, &at);
	if (lit == -1)
		at = n;		/* no literal: the line ends the command */
	if (s->c_cmd == CMD_LOGIN)
		imap_login_args(s, p, at);
	if (lit != 1) {
		imap_command_done(s);
		return;
	}
	s->c_lit = LIT_OTHER;
	if (s->c_cmd == CMD_LOGIN && s->c_args < 2 && s->c_args++ == 0) {
		s->c_lit = LIT_USER;
		imap_user(s, p, 0);
	}
	s->c_cont = 1;
	s->c_sync = (uint8_t)sync;
	s->c_seen = 0;
	s->c_gaps = s->m.f.gaps;
	mail_raw(&s->m, 0, size);
}

static void
imap_masked_command(struct imap_session *s, const uint8_t *p, size_t n)
{
	struct mail_facts *f = &s->m.f;

	if (f->flags & MAIL_F_CMD_MASKED)
		return;
	text_field_set(&f->cmd_masked, p, n);
	f->flags |= MAIL_F_CMD_MASKED;
}

/*
 * Split "tag COMMAND args": the tag's length, where the command word
 * starts (*c) and its length (*cw); 0 when the line has no valid tag and
 * command.
 */
static int
imap_split(const uint8_t *p, size_t n, size_t *tlen, size_t *c, size_t *cw)
{
	*tlen = mail_word(p, n);
	if (!imap_is_tag(p, *tlen) || *tlen == n)
		return 0;
	*c = imap_skip(p, n, *tlen);
	*cw = mail_word(p + *c, n - *c);
	return *cw > 0;
}

/* Whether the arguments of a first line fit the command (claims). */
static int
imap_args_fit(const struct imap_verb *v, const uint8_t *p, size_t n)
{
	size_t		 i = imap_skip(p, n, 0);

	switch (v->args) {
	case ARGS_NONE:
		return i == n;
	case ARGS_SOME:
		return i < n;
	case ARGS_TWO:
		if (i < n && p[n - 1] == '}')
			return 1;	/* a literal: the rest follows */
		i = imap_skip(p, n, i + mail_word(p + i, n - i));
		return i < n;
	}
	return 0;
}

/* A line "tag COMMAND args" of a command IMAP has, as claims() reads it. */
static const struct imap_verb *
imap_is_command(const uint8_t *p, size_t n)
{
	const struct imap_verb *v;
	size_t		 tlen, c, cw;

	if (!imap_split(p, n, &tlen, &c, &cw) ||
	    (v = imap_verb_by_name(p + c, cw)) == NULL ||
	    !imap_args_fit(v, p + c + cw, n - c - cw))
		return NULL;
	return v;
}

/* A client line that starts a command: find it, act on it. */
static void
imap_command(struct imap_session *s, const uint8_t *p, size_t n)
{
	const struct imap_verb *v;
	size_t		 tlen, c, cw, a;

	if (!imap_split(p, n, &tlen, &c, &cw))
		return;		/* IDLE's "DONE", junk: no command */
	if (!(s->m.f.flags & MAIL_F_PROTO) && imap_is_command(p, n) != NULL)
		s->m.f.flags |= MAIL_F_PROTO;
	a = imap_skip(p, n, c + cw);
	imap_tag_set(&s->c_tag, p, tlen);
	if ((v = imap_verb_by_name(p + c, cw)) == NULL) {
		if (mail_is_masked_keyword(p + c, cw))
			imap_masked_command(s, p, n);
		s->c_cmd = CMD_UNKNOWN;
	} else {
		s->c_cmd = (uint8_t)v->cmd;
		if (v->answer != NULL)
			imap_pend(s, p, tlen, v);
		if (v->proceed != NULL)
			v->proceed(s, p + a, n - a);
	}
	if (s->m.state != MAIL_ST_AUTH)	/* SASL: no literals to follow */
		imap_client_args(s, p + a, n - a);
}

static void
imap_client_line(struct imap_session *s, const uint8_t *p, size_t n)
{
	if (s->c_cont)
		imap_client_args(s, p, n);
	else
		imap_command(s, p, n);
}

/* The server's first line was no greeting: the capture joined late. */
static void
imap_joined_late(struct imap_session *s)
{
	s->greeted = 1;
	s->m.f.flags |= MAIL_F_PROTO | MAIL_F_MIDSTREAM;
	if (s->m.state == MAIL_ST_GREETING)
		mail_set_state(&s->m, MAIL_ST_COMMAND);
}

/* "* OK", "* PREAUTH" or "* BYE" as the server's first line. */
static void
imap_greeting(struct imap_session *s, const uint8_t *p, size_t n,
    const uint8_t *word, size_t w, const uint8_t *text, size_t tlen)
{
	struct mail_facts *f = &s->m.f;

	s->greeted = 1;
	f->flags |= MAIL_F_PROTO | MAIL_F_GREETING;
	text_field_set(&f->banner, text, tlen);
	if (s->m.state == MAIL_ST_GREETING)
		mail_set_state(&s->m, MAIL_ST_COMMAND);
	if (mail_ieq(word, w, "PREAUTH")) {
		f->flags |= MAIL_F_PREAUTH;
		s->authed = AUTHED_YES;
	} else if (mail_ieq(word, w, "BYE")) {
		f->flags |= MAIL_F_CLOSING;
		mail_set_state(&s->m, MAIL_ST_DONE);
	} else {
		s->authed = AUTHED_NOT;
		imap_resp_code(s, p, n, text, tlen);
	}
}

/*
 * A server line that may end in a literal (data responses, and what
 * follows a literal): step over it, and the response goes on after it.
 */
static void
imap_data_line(struct imap_session *s, const uint8_t *p, size_t n)
{
	uint64_t	 size;
	size_t		 at;
	int		 sync;

	if (imap_literal(s, p, n, &size, &sync, &at) != 1)
		return;
	s->s_cont = 1;
	mail_raw(&s->m, 1, size);
}

/* "* ..." from the server. */
static void
imap_untagged(struct imap_session *s, const uint8_t *p, size_t n)
{
	const uint8_t	*word = p + 2, *text;
	size_t		 w = mail_word(word, n - 2), t;
	enum imap_status st;

	t = imap_skip(p, n, 2 + w);
	text = p + t;
	if (!s->greeted && (mail_ieq(word, w, "OK") ||
	    mail_ieq(word, w, "PREAUTH") || mail_ieq(word, w, "BYE"))) {
		imap_greeting(s, p, n, word, w, text, n - t);
		return;
	}
	if (!s->greeted)
		imap_joined_late(s);
	if (mail_ieq(word, w, "CAPABILITY"))
		imap_caps(s, p, n, text, n - t);
	else if (imap_status(word, w, &st)) {
		if (st == ST_OK)
			imap_resp_code(s, p, n, text, n - t);
	} else if (!mail_ieq(word, w, "PREAUTH") && !mail_ieq(word, w, "BYE"))
		imap_data_line(s, p, n);
}

/*
 * The client's synchronizing literal waits for "+": a tagged answer
 * before any of its bytes refused it, and the client sends none.
 */
static void
imap_literal_refused(struct imap_session *s, const uint8_t *tag, size_t tlen)
{
	if (!s->c_cont || !s->c_sync || s->c_seen ||
	    !imap_tag_eq(&s->c_tag, tag, tlen))
		return;
	if (s->m.d[0].mode == MAIL_MODE_RAW)
		mail_lines(&s->m, 0);
	s->c_cont = 0;
}

/* "tag OK|NO|BAD ...": answers the command that carried tag. */
static void
imap_tagged(struct imap_session *s, const uint8_t *p, size_t n, size_t tlen,
    enum imap_status st, size_t t)
{
	struct imap_pending *pd;
	const struct imap_verb *v;
	size_t		 i;

	if (!s->greeted)
		imap_joined_late(s);
	imap_literal_refused(s, p, tlen);
	for (i = 0; i < IMAP_PENDING; i++) {
		pd = &s->pend[i];
		if (pd->verb == 0 || !imap_tag_eq(&pd->tag, p, tlen))
			continue;
		v = &imap_verbs[pd->verb - 1];
		pd->verb = 0;
		v->answer(s, st, p, n);
		break;
	}
	if (st == ST_OK)	/* after the answer: login changes the state */
		imap_resp_code(s, p, n, p + t, n - t);
}

static void
imap_server_line(struct imap_session *s, const uint8_t *p, size_t n)
{
	size_t		 w = mail_word(p, n), c, sw;
	enum imap_status st;

	if (s->s_cont) {
		s->s_cont = 0;
		imap_data_line(s, p, n);
		return;
	}
	if (w == 1 && p[0] == '*' && n > 2) {
		imap_untagged(s, p, n);
		return;
	}
	if (w == 1 && p[0] == '+') {	/* continuation request */
		if (!s->greeted)
			imap_joined_late(s);
		return;
	}
	c = imap_skip(p, n, w);
	sw = mail_word(p + c, n - c);
	if (imap_is_tag(p, w) && imap_status(p + c, sw, &st)) {
		imap_tagged(s, p, n, w, st, imap_skip(p, n, c + sw));
		return;
	}
	s->m.stats->bad_replies++;
	if (!(s->m.f.flags & MAIL_F_PROTO))
		mail_foreign_line(&s->m);
}

static void
imap_line(struct mail_session *m, int dir, const uint8_t *p, size_t n,
    enum mail_role role)
{
	struct imap_session *s = (struct imap_session *)m;

	(void)role;
	if (dir == 0)
		imap_client_line(s, p, n);
	else
		imap_server_line(s, p, n);
}

/* Literal bytes: only a LOGIN user name is kept; a password never. */
static void
imap_raw(struct mail_session *m, int dir, const uint8_t *p, size_t n)
{
	struct imap_session *s = (struct imap_session *)m;

	if (dir != 0)
		return;
	s->c_seen = 1;
	if (s->c_lit == LIT_USER)
		imap_user_more(s, p, n);
}

/*
 * Lost bytes: a command or response going on after a literal cannot be
 * followed further. Pending tags stay: an answer after the hole still
 * names its command.
 */
static void
imap_gap(struct mail_session *m, int dir)
{
	struct imap_session *s = (struct imap_session *)m;

	if (dir == 0) {
		s->c_cont = 0;
		s->c_lit = LIT_OTHER;
	} else
		s->s_cont = 0;
}

static void
imap_init(struct mail_session *m)
{
	(void)m;		/* all zero: nothing pending, state unknown */
}

/*
 * Whether a client line's tag can claim a session: one that is not all
 * letters. Clients number their tags ("a1", "A0001", "1", "."); a capture
 * that joins inside an SMTP or POP3 message must not take its prose ("I
 * select the...", "e FETCH x y" cut mid-line) for an IMAP command.
 */
static int
imap_tag_claims(const uint8_t *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' &&
		    p[i] <= 'Z')))
			return 1;
	return 0;
}

/* A greeting from the server, or a command only IMAP has from the client. */
static int
imap_claims(int dir, const uint8_t *p, size_t n)
{
	size_t	 w;

	if (dir == 0)
		return imap_tag_claims(p, mail_word(p, n)) &&
		    imap_is_command(p, n) != NULL;
	if (n < 3 || p[0] != '*' || p[1] != ' ')
		return 0;
	w = mail_word(p + 2, n - 2);
	return mail_ieq(p + 2, w, "OK") || mail_ieq(p + 2, w, "PREAUTH") ||
	    mail_ieq(p + 2, w, "BYE");
}

const struct mail_proto_ops imap_ops = {
	.proto = MAIL_PROTO_IMAP,
	.size = sizeof(struct imap_session),
	.init = imap_init,
	.line = imap_line,
	.raw = imap_raw,
	.gap = imap_gap,
	.claims = imap_claims,
};
