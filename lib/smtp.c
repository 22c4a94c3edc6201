/*
 * smtp.c: follows one SMTP session from both directions and records facts
 * about it (greeting, EHLO capabilities, STARTTLS and what followed) for
 * detect.c; it frames lines, pairs replies with queued commands and keeps
 * message bodies and SASL exchanges out of command parsing.
 *
 * Long lines: a line longer than max_line is counted in long_lines, its
 * first max_line bytes are kept and the rest is discarded up to the LF;
 * the kept prefix is then parsed like any line. That keeps reply codes and
 * continuation marks (and command/reply pairing) in step even when a peer
 * sends an absurd line.
 *
 * First bytes: the judgement "TLS or plaintext" after STARTTLS is made on
 * the first byte(s) of a line as they arrive (tls_looks_like_handshake()
 * judges on what is there), and the line keeps that role until its LF.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"
#include "tls.h"

/* First size of a partial-line buffer: most SMTP lines are shorter. */
#define SMTP_LINE_INIT		256
/*
 * A partial-line buffer larger than this is freed when its line ends, so
 * that one long line does not pin max_line bytes for the whole session.
 */
#define SMTP_LINE_KEEP		1024
/* "250-" or "250 ": where the text of a reply line starts. */
#define SMTP_CODE_LEN		4
/* The masked keyword an ASA makes of STARTTLS has its length. */
#define SMTP_STARTTLS_LEN	8
/* A PIX/ASA-masked greeting has at least this many '*'. */
#define SMTP_MASK_STARS		4
/*
 * Lines of another protocol (a server line that is no reply, a client
 * opening with an HTTP method) seen before the session looked like SMTP,
 * after which it is given up as not SMTP. Generous on purpose: junk lines
 * in front of a real greeting (inserted for the sensor alone, or a broken
 * server) must not hide the session that follows, and parsing a few dozen
 * lines of a stray protocol on a mail port costs little.
 */
#define SMTP_FOREIGN_MAX	32
/* BDAT sizes beyond this are refused as bad (RFC 3030 sets no limit; no
 * real chunk is within orders of magnitude of it). */
#define SMTP_BDAT_MAX		(UINT64_C(1) << 48)

/* struct smtp_resume.bits; per direction: SMTP_R_CUT << dir, ... */
#define SMTP_R_GREETED		0x0001	/* the greeting is behind us */
#define SMTP_R_PENDING		0x0002	/* STARTTLS awaits its reply */
#define SMTP_R_SRV_JUDGED	0x0004	/* see smtp_session.srv_judged */
#define SMTP_R_CUT		0x0010	/* a line was cut: skip to its end */
#define SMTP_R_TLS		0x0040	/* the direction was reading TLS */
#define SMTP_R_DONE		0x0100	/* nothing more wanted from it */

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

/* What the start of a line made of it (decided on its first byte). */
enum smtp_role {
	ROLE_NORMAL = 0,
	ROLE_CMD_INJECTED,	/* client, after STARTTLS, before its reply */
	ROLE_RESP_INJECTED,	/* server, after the 220, client silent */
	ROLE_PLAINTEXT		/* where the TLS handshake should be */
};

struct smtp_dir {
	uint8_t		*buf;		/* partial line, NULL until needed */
	uint32_t	 len;		/* bytes kept in buf, <= max_line */
	uint32_t	 cap;		/* size of buf */
	uint64_t	 raw;		/* bytes of the line so far, kept or not */
	uint64_t	 lines;		/* lines completed */
	uint8_t		 in_line;	/* a line has started: role decided */
	uint8_t		 role;		/* enum smtp_role of that line */
	uint8_t		 skip;		/* discard to the next LF (gap) */
	uint8_t		 seen;		/* first byte looked at */
	uint8_t		 tls;		/* bytes go to the TLS reader */
	uint8_t		 done;		/* nothing more wanted */
};

struct smtp_session {
	struct smtp_config cfg;		/* a copy: a reload must not change
					   the limits under live buffers */
	struct smtp_stats *stats;
	enum smtp_state	 state;
	struct smtp_facts f;
	struct smtp_dir	 d[2];		/* client to server, server to client */
	uint8_t		*q;		/* ring of enum smtp_cmd, lazily */
	uint32_t	 qhead;		/* oldest entry */
	uint32_t	 qlen;		/* entries queued */
	uint8_t		 starttls_pending; /* STARTTLS sent, no reply yet */
	uint8_t		 srv_judged;	/* server bytes after the ClientHello
					   were judged */
	uint8_t		 greeted;	/* server's greeting (or first reply)
					   is behind us */
	uint8_t		 foreign;	/* lines of another protocol before it
					   looked like SMTP */
	uint64_t	 bdat_left;	/* bytes of the BDAT chunk to come */
	/* the server reply being read */
	uint32_t	 r_lines;	/* lines of it so far */
	uint8_t		 r_offered;	/* STARTTLS keyword in it */
	uint8_t		 r_kwlen;	/* keyword length of r_masked */
	uint8_t		 cap_kwlen;	/* keyword length of f.cap_masked */
	struct smtp_text r_masked;	/* masked capability line in it */
	struct tls_parser *tp;		/* after the 220 to STARTTLS */
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

/* Each verb with what its line does and what its reply does. */
static const struct smtp_verb {
	enum smtp_cmd	 cmd;
	const char	*name;
	smtp_proceed_fn	 proceed;	/* on the command line, or NULL */
	smtp_reply_fn	 reply;		/* on its final reply, or NULL */
} smtp_verbs[] = {
	{ CMD_EHLO,	"EHLO",		smtp_proceed_ehlo, smtp_reply_ehlo },
	{ CMD_HELO,	"HELO",		smtp_proceed_helo, smtp_reply_helo },
	{ CMD_STARTTLS,	"STARTTLS",	smtp_proceed_starttls,
	    smtp_reply_starttls },
	{ CMD_MAIL,	"MAIL",		NULL,		NULL },
	{ CMD_RCPT,	"RCPT",		NULL,		NULL },
	{ CMD_DATA,	"DATA",		smtp_proceed_data, smtp_reply_data },
	{ CMD_BDAT,	"BDAT",		smtp_proceed_bdat, NULL },
	{ CMD_AUTH,	"AUTH",		smtp_proceed_auth, smtp_reply_auth },
	{ CMD_RSET,	"RSET",		NULL,		NULL },
	{ CMD_QUIT,	"QUIT",		smtp_proceed_quit, NULL },
	{ CMD_NOOP,	"NOOP",		NULL,		NULL },
	{ CMD_VRFY,	"VRFY",		NULL,		NULL },
	{ CMD_EXPN,	"EXPN",		NULL,		NULL },
	{ CMD_HELP,	"HELP",		NULL,		NULL },
	{ CMD_ETRN,	"ETRN",		NULL,		NULL },
	{ CMD_XCLIENT,	"XCLIENT",	NULL,		NULL },
	{ CMD_XFORWARD,	"XFORWARD",	NULL,		NULL },
};
#define SMTP_NVERBS	(sizeof(smtp_verbs) / sizeof(smtp_verbs[0]))

/* First words of other protocols' requests: the client is clearly not
 * speaking SMTP when it opens with one of these. */
static const char *const smtp_foreign[] = {
	"GET", "POST", "HEAD", "PUT", "OPTIONS", "CONNECT", "DELETE",
	"SSH-2.0-", "SSH-1.99-"
};

static const char *const smtp_state_names[] = {
	"banner", "command", "data", "bdat", "auth", "tls_wait", "tls", "done"
};

static void	smtp_set_state(struct smtp_session *, enum smtp_state);
static void	smtp_text_set(struct smtp_text *, const uint8_t *, size_t);
static int	smtp_ieq(const uint8_t *, size_t, const char *);
static int	smtp_is_foreign(const uint8_t *, size_t);
static size_t	smtp_word(const uint8_t *, size_t);
static int	smtp_reply_code(const uint8_t *, size_t, unsigned *, int *);
static int	smtp_is_masked_banner(const uint8_t *, size_t);
static void	smtp_q_clear(struct smtp_session *);
static void	smtp_q_push(struct smtp_session *, enum smtp_cmd);
static enum smtp_cmd smtp_q_peek(const struct smtp_session *);
static void	smtp_q_pop(struct smtp_session *);
static const struct smtp_verb *smtp_verb_by_cmd(enum smtp_cmd);
static void	smtp_command(struct smtp_session *, const uint8_t *, size_t);
static void	smtp_client_line(struct smtp_session *, const uint8_t *,
		    size_t, enum smtp_role);
static void	smtp_capability(struct smtp_session *, const uint8_t *,
		    size_t);
static void	smtp_banner_line(struct smtp_session *, const uint8_t *,
		    size_t, unsigned, int);
static void	smtp_reply_line(struct smtp_session *, const uint8_t *,
		    size_t, unsigned, int);
static void	smtp_reply_done(struct smtp_session *, unsigned,
		    const uint8_t *, size_t);
static void	smtp_server_line(struct smtp_session *, const uint8_t *,
		    size_t, enum smtp_role);
static void	smtp_line_end(struct smtp_session *, int, const uint8_t *,
		    size_t, uint64_t);
static void	smtp_line_reset(struct smtp_dir *);
static void	smtp_append(struct smtp_session *, struct smtp_dir *,
		    const uint8_t *, size_t);
static void	smtp_tls_start(struct smtp_session *, int);
static void	smtp_tls_bytes(struct smtp_session *, int, const uint8_t *,
		    size_t);
static void	smtp_line_start(struct smtp_session *, int, const uint8_t *,
		    size_t);
static size_t	smtp_consume(struct smtp_session *, int, const uint8_t *,
		    size_t);
static int	smtp_finished(const struct smtp_session *, int);

/* The one place the state changes. */
static void
smtp_set_state(struct smtp_session *s, enum smtp_state st)
{
	if (s->state == SMTP_ST_DONE)
		return;		/* final */
	s->state = st;
}

static void
smtp_text_set(struct smtp_text *t, const uint8_t *p, size_t n)
{
	if (n > SMTP_TEXT_MAX)
		n = SMTP_TEXT_MAX;
	memcpy(t->b, p, n);
	t->len = (uint16_t)n;
}

/* Whether p (n bytes) equals the ASCII word w, ignoring case. */
static int
smtp_ieq(const uint8_t *p, size_t n, const char *w)
{
	size_t	 i;
	uint8_t	 a, b;

	if (strlen(w) != n)
		return 0;
	for (i = 0; i < n; i++) {
		a = p[i];
		b = (uint8_t)w[i];
		if (a >= 'a' && a <= 'z')
			a = (uint8_t)(a - 'a' + 'A');
		if (a != b)
			return 0;
	}
	return 1;
}

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

/* Length of the first word (up to a space or the end). */
static size_t
smtp_word(const uint8_t *p, size_t n)
{
	const uint8_t	*sp = memchr(p, ' ', n);

	return sp == NULL ? n : (size_t)(sp - p);
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

int
smtp_is_masked_keyword(const uint8_t *kw, size_t len)
{
	size_t	 x = 0;

	while (x < len && (kw[x] == 'X' || kw[x] == 'x'))
		x++;
	if (x < 3)
		return 0;
	if (x == len)
		return 1;
	return x + 1 == len && ((kw[x] >= 'A' && kw[x] <= 'Z') ||
	    (kw[x] >= 'a' && kw[x] <= 'z'));
}

static void
smtp_q_clear(struct smtp_session *s)
{
	s->qhead = 0;
	s->qlen = 0;
}

/* Queue a command; bounded by max_pipeline, overflow counted. */
static void
smtp_q_push(struct smtp_session *s, enum smtp_cmd cmd)
{
	uint32_t	 cap = s->cfg.max_pipeline;

	if (s->q == NULL && cap > 0)
		s->q = malloc(cap);
	if (s->q == NULL || s->qlen >= cap) {
		s->stats->pipeline_full++;
		return;
	}
	s->q[(s->qhead + s->qlen) % cap] = (uint8_t)cmd;
	s->qlen++;
}

static enum smtp_cmd
smtp_q_peek(const struct smtp_session *s)
{
	if (s->qlen == 0)
		return CMD_NONE;
	return (enum smtp_cmd)s->q[s->qhead];
}

static void
smtp_q_pop(struct smtp_session *s)
{
	assert(s->qlen > 0);
	s->qhead = (s->qhead + 1) % s->cfg.max_pipeline;
	s->qlen--;
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
	s->f.flags |= SMTP_F_EHLO;
	if (s->f.ehlo_count++ == 0)
		smtp_text_set(&s->f.helo, arg, n);
}

static void
smtp_proceed_helo(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	s->f.flags |= SMTP_F_HELO;
	if (s->f.ehlo_count++ == 0)
		smtp_text_set(&s->f.helo, arg, n);
}

static void
smtp_proceed_starttls(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	s->f.flags |= SMTP_F_STARTTLS_REQUESTED;
	s->starttls_pending = 1;
}

/* The body follows without waiting for 354: see smtp_reply_data(). */
static void
smtp_proceed_data(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	smtp_set_state(s, SMTP_ST_DATA);
}

/* "BDAT size [LAST]": size bytes of chunk follow the line. */
static void
smtp_proceed_bdat(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	uint64_t	 size = 0;
	size_t		 i, w = smtp_word(arg, n);

	if (w == 0) {
		s->stats->bad_bdat++;
		return;
	}
	for (i = 0; i < w; i++) {
		if (arg[i] < '0' || arg[i] > '9' ||
		    size > (SMTP_BDAT_MAX - (uint64_t)(arg[i] - '0')) / 10) {
			s->stats->bad_bdat++;
			return;
		}
		size = size * 10 + (uint64_t)(arg[i] - '0');
	}
	if (size > 0) {
		s->bdat_left = size;
		smtp_set_state(s, SMTP_ST_BDAT);
	}
}

static void
smtp_proceed_auth(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	smtp_set_state(s, SMTP_ST_AUTH);
}

static void
smtp_proceed_quit(struct smtp_session *s, const uint8_t *arg, size_t n)
{
	(void)arg;
	(void)n;
	s->f.flags |= SMTP_F_QUIT;
}

/* Commit what the EHLO reply said, now that it is complete. */
static void
smtp_reply_ehlo(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	(void)p;
	(void)n;
	s->f.flags |= SMTP_F_EHLO_REPLY;
	s->f.ehlo_reply = (uint16_t)code;
	if (code >= 400) {
		s->f.flags |= SMTP_F_EHLO_REFUSED;
		return;
	}
	if (s->r_offered)
		s->f.flags |= SMTP_F_STARTTLS_OFFERED;
	if (s->r_masked.len > 0 && (!(s->f.flags & SMTP_F_CAP_MASKED) ||
	    (s->cap_kwlen != SMTP_STARTTLS_LEN &&
	    s->r_kwlen == SMTP_STARTTLS_LEN))) {
		s->f.cap_masked = s->r_masked;
		s->cap_kwlen = s->r_kwlen;
		s->f.flags |= SMTP_F_CAP_MASKED;
	}
}

/*
 * A HELO reply shows no capabilities, so SMTP_F_EHLO_REPLY stays clear;
 * its code goes to ehlo_reply unless an EHLO was answered before (detect.c
 * reads HELO && !EHLO && ehlo_reply as "HELO-only session, answered").
 */
static void
smtp_reply_helo(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	(void)p;
	(void)n;
	if (s->f.ehlo_reply == 0)
		s->f.ehlo_reply = (uint16_t)code;
}

static void
smtp_reply_starttls(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	s->starttls_pending = 0;
	s->f.starttls_reply = (uint16_t)code;
	smtp_text_set(&s->f.starttls_line, p, n);
	s->f.flags |= SMTP_F_STARTTLS_REPLY;
	if (code != 220) {
		smtp_set_state(s, SMTP_ST_COMMAND);
		return;
	}
	s->f.flags |= SMTP_F_STARTTLS_ACCEPTED;
	/* RFC 3207 4.2: a server discards what was sent before the 220. */
	smtp_q_clear(s);
	smtp_set_state(s, s->d[0].tls ? SMTP_ST_TLS : SMTP_ST_TLS_WAIT);
	if (s->tp == NULL &&
	    (s->tp = tls_parser_new(s->cfg.tls_max_bytes)) == NULL) {
		s->d[0].done = s->d[1].done = 1;	/* ENOMEM */
		smtp_set_state(s, SMTP_ST_DONE);
	}
}

static void
smtp_reply_data(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	(void)p;
	(void)n;
	if (code != 354 && s->state == SMTP_ST_DATA)
		smtp_set_state(s, SMTP_ST_COMMAND);
}

static void
smtp_reply_auth(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	(void)code;
	(void)p;
	(void)n;
	if (s->state == SMTP_ST_AUTH)
		smtp_set_state(s, SMTP_ST_COMMAND);
}

/* A line of another protocol before any sign of SMTP. */
static void
smtp_foreign_line(struct smtp_session *s)
{
	if (++s->foreign >= SMTP_FOREIGN_MAX)
		smtp_set_state(s, SMTP_ST_DONE);	/* not SMTP */
}

/* A client command line: find its verb, queue it, act on it. */
static void
smtp_command(struct smtp_session *s, const uint8_t *p, size_t n)
{
	const struct smtp_verb *v = NULL;
	size_t		 w = smtp_word(p, n), i, a;
	int		 first = s->d[0].lines == 1;

	for (i = 0; i < SMTP_NVERBS && v == NULL; i++)
		if (smtp_ieq(p, w, smtp_verbs[i].name))
			v = &smtp_verbs[i];
	if (v == NULL) {
		if (first && !(s->f.flags & SMTP_F_SMTP) &&
		    smtp_is_foreign(p, n)) {
			smtp_foreign_line(s);
			return;
		}
		if (smtp_is_masked_keyword(p, w)) {
			if (!(s->f.flags & SMTP_F_CMD_MASKED)) {
				smtp_text_set(&s->f.cmd_masked, p, n);
				s->f.flags |= SMTP_F_CMD_MASKED;
			}
			smtp_q_push(s, CMD_MASKED);
		} else
			smtp_q_push(s, CMD_UNKNOWN);
		return;
	}
	/* a greeting, or a known verb as the first line (joined late);
	 * "QUIT" after lines of another protocol proves nothing */
	if (!(s->f.flags & SMTP_F_SMTP) &&
	    (v->cmd == CMD_EHLO || v->cmd == CMD_HELO))
		s->f.flags |= SMTP_F_SMTP;
	else if (!(s->f.flags & SMTP_F_SMTP) && first) {
		s->f.flags |= SMTP_F_SMTP | SMTP_F_MIDSTREAM;
		if (s->state == SMTP_ST_BANNER)
			smtp_set_state(s, SMTP_ST_COMMAND);
	}
	smtp_q_push(s, v->cmd);
	for (a = w; a < n && p[a] == ' '; a++)
		;
	if (v->proceed != NULL)
		v->proceed(s, p + a, n - a);
}

static void
smtp_client_line(struct smtp_session *s, const uint8_t *p, size_t n,
    enum smtp_role role)
{
	if (role == ROLE_CMD_INJECTED &&
	    !(s->f.flags & SMTP_F_CMD_INJECTION)) {
		smtp_text_set(&s->f.injected, p, n);
		s->f.flags |= SMTP_F_CMD_INJECTION;
	} else if (role == ROLE_PLAINTEXT &&
	    !(s->f.flags & SMTP_F_PLAINTEXT_AFTER)) {
		smtp_text_set(&s->f.plaintext, p, n);
		s->f.flags |= SMTP_F_PLAINTEXT_AFTER;
	}
	switch (s->state) {
	case SMTP_ST_DATA:
		if (n == 1 && p[0] == '.') {
			smtp_q_push(s, CMD_EOD);
			smtp_set_state(s, SMTP_ST_COMMAND);
		}
		return;
	case SMTP_ST_AUTH:
		if (n == 1 && p[0] == '*')	/* RFC 4954: cancel */
			smtp_set_state(s, SMTP_ST_COMMAND);
		return;
	default:
		smtp_command(s, p, n);
	}
}

/* A line after the first of an EHLO reply: "250-KEYWORD params". */
static void
smtp_capability(struct smtp_session *s, const uint8_t *p, size_t n)
{
	const uint8_t	*kw = p + SMTP_CODE_LEN;
	size_t		 w;

	if (n <= SMTP_CODE_LEN)
		return;
	w = smtp_word(kw, n - SMTP_CODE_LEN);
	if (smtp_ieq(kw, w, "STARTTLS")) {
		s->r_offered = 1;
		return;
	}
	if (!smtp_is_masked_keyword(kw, w))
		return;
	if (s->r_masked.len == 0 || (s->r_kwlen != SMTP_STARTTLS_LEN &&
	    w == SMTP_STARTTLS_LEN)) {
		smtp_text_set(&s->r_masked, p, n);
		s->r_kwlen = (uint8_t)(w > UINT8_MAX ? UINT8_MAX : w);
	}
}

/* A server line while waiting for the greeting. */
static void
smtp_banner_line(struct smtp_session *s, const uint8_t *p, size_t n,
    unsigned code, int cont)
{
	const uint8_t	*text = p + SMTP_CODE_LEN;
	size_t		 tlen = n > SMTP_CODE_LEN ? n - SMTP_CODE_LEN : 0;

	if (s->r_lines == 0 && (code != 220 ||
	    smtp_q_peek(s) == CMD_STARTTLS)) {
		/* not a greeting: we joined after it (421/554 are greetings
		 * refusing service) */
		s->f.flags |= SMTP_F_SMTP;
		if (code != 421 && code != 554)
			s->f.flags |= SMTP_F_MIDSTREAM;
		s->greeted = 1;
		if (s->state == SMTP_ST_BANNER)
			smtp_set_state(s, SMTP_ST_COMMAND);
		smtp_reply_line(s, p, n, code, cont);
		return;
	}
	if (s->r_lines++ == 0) {
		smtp_text_set(&s->f.banner, text, tlen);
		if (smtp_is_masked_banner(text, tlen))
			s->f.flags |= SMTP_F_BANNER_MASKED;
		s->f.flags |= SMTP_F_SMTP | SMTP_F_BANNER;
	}
	if (!cont) {
		s->r_lines = 0;
		s->greeted = 1;
		if (s->state == SMTP_ST_BANNER)
			smtp_set_state(s, SMTP_ST_COMMAND);
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
smtp_reply_done(struct smtp_session *s, unsigned code, const uint8_t *p,
    size_t n)
{
	const struct smtp_verb *v;
	enum smtp_cmd	 cmd = smtp_q_peek(s);

	if (cmd == CMD_NONE)
		s->stats->unpaired++;
	else if (!(cmd == CMD_AUTH && code == 334)) {	/* SASL goes on */
		smtp_q_pop(s);
		if ((v = smtp_verb_by_cmd(cmd)) != NULL && v->reply != NULL)
			v->reply(s, code, p, n);
	}
	if (code == 421)	/* the server closes the session */
		smtp_set_state(s, SMTP_ST_DONE);
}

static void
smtp_server_line(struct smtp_session *s, const uint8_t *p, size_t n,
    enum smtp_role role)
{
	unsigned	 code;
	int		 cont;

	if (role == ROLE_RESP_INJECTED &&
	    !(s->f.flags & SMTP_F_RESP_INJECTION)) {
		smtp_text_set(&s->f.injected, p, n);
		s->f.flags |= SMTP_F_RESP_INJECTION;
	} else if (role == ROLE_PLAINTEXT &&
	    !(s->f.flags & SMTP_F_PLAINTEXT_AFTER)) {
		smtp_text_set(&s->f.plaintext, p, n);
		s->f.flags |= SMTP_F_PLAINTEXT_AFTER;
	}
	if (!smtp_reply_code(p, n, &code, &cont)) {
		s->stats->bad_replies++;
		if (!(s->f.flags & SMTP_F_SMTP))
			smtp_foreign_line(s);
		return;
	}
	if (!s->greeted)	/* the client may be ahead in the capture */
		smtp_banner_line(s, p, n, code, cont);
	else
		smtp_reply_line(s, p, n, code, cont);
}

/*
 * A line of direction dir ended: p holds kept bytes of it, raw its length
 * before the LF. Lines over max_line are parsed on their first max_line
 * bytes (see the top of this file).
 */
static void
smtp_line_end(struct smtp_session *s, int dir, const uint8_t *p, size_t kept,
    uint64_t raw)
{
	static const uint8_t empty[1];
	struct smtp_dir	*d = &s->d[dir];
	enum smtp_role	 role = (enum smtp_role)d->role;
	size_t		 n = kept;

	if (p == NULL)		/* nothing kept (allocation failed) */
		p = empty;
	s->stats->lines++;
	if (raw > s->cfg.max_line) {
		s->stats->long_lines++;
		if (n > s->cfg.max_line)
			n = s->cfg.max_line;
	} else if (n == raw && n > 0 && p[n - 1] == '\r')
		n--;
	d->lines++;
	d->in_line = 0;
	if (dir == 0)
		smtp_client_line(s, p, n, role);
	else
		smtp_server_line(s, p, n, role);
	smtp_line_reset(d);
}

/* Forget the partial line; free its buffer if it grew large. */
static void
smtp_line_reset(struct smtp_dir *d)
{
	d->len = 0;
	d->raw = 0;
	d->in_line = 0;
	if (d->cap > SMTP_LINE_KEEP) {
		free(d->buf);
		d->buf = NULL;
		d->cap = 0;
	}
}

/* Keep bytes of a partial line, at most max_line of them. */
static void
smtp_append(struct smtp_session *s, struct smtp_dir *d, const uint8_t *p,
    size_t n)
{
	uint32_t	 max = s->cfg.max_line, ncap;
	size_t		 take = n;
	uint8_t		*nb;

	d->raw += n;
	if (take > max - d->len)
		take = max - d->len;
	if (take == 0)
		return;
	if (d->len + take > d->cap) {
		ncap = d->cap ? d->cap : SMTP_LINE_INIT;
		while (ncap < d->len + take && ncap < max)
			ncap = ncap > max / 2 ? max : ncap * 2;
		if (ncap > max)
			ncap = max;
		if ((nb = realloc(d->buf, ncap)) == NULL)
			return;		/* the line is parsed truncated */
		d->buf = nb;
		d->cap = ncap;
	}
	memcpy(d->buf + d->len, p, take);
	d->len += (uint32_t)take;
}

static void
smtp_tls_start(struct smtp_session *s, int dir)
{
	if (s->tp == NULL &&
	    (s->tp = tls_parser_new(s->cfg.tls_max_bytes)) == NULL) {
		s->d[dir].done = 1;	/* ENOMEM: cannot read it */
		return;
	}
	s->d[dir].tls = 1;
}

static void
smtp_tls_bytes(struct smtp_session *s, int dir, const uint8_t *p, size_t n)
{
	if (tls_feed(s->tp, dir, p, n, &s->f.tls))
		s->d[dir].done = 1;
	if (s->f.tls.client_hello)
		s->f.flags |= SMTP_F_TLS_CLIENT_HELLO;
	if (s->f.tls.server_hello)
		s->f.flags |= SMTP_F_TLS_SERVER_HELLO;
	if (s->d[0].done && s->d[1].done)
		smtp_set_state(s, SMTP_ST_DONE);
}

/*
 * A new line starts in direction dir with p[0]: decide what it is (TLS
 * instead of a line, not SMTP at all, injected, plaintext after STARTTLS).
 */
static void
smtp_line_start(struct smtp_session *s, int dir, const uint8_t *p, size_t n)
{
	struct smtp_dir	*d = &s->d[dir];
	int		 first = !d->seen, tls = tls_looks_like_handshake(p, n);

	d->seen = 1;
	d->in_line = 1;
	d->role = ROLE_NORMAL;
	if (first && !(s->f.flags & SMTP_F_SMTP) &&
	    (p[0] > 0x7e || (p[0] < 0x20 && p[0] != '\t' && p[0] != '\r' &&
	    p[0] != '\n'))) {
		smtp_set_state(s, SMTP_ST_DONE);	/* binary, TLS, SSLv2 */
		return;
	}
	if (dir == 0 && s->state == SMTP_ST_TLS_WAIT) {
		smtp_set_state(s, tls ? SMTP_ST_TLS : SMTP_ST_COMMAND);
		d->role = ROLE_PLAINTEXT;
	} else if (dir == 0 && s->starttls_pending)
		d->role = ROLE_CMD_INJECTED;	/* unless TLS racing the 220 */
	else if (dir == 1 && s->state == SMTP_ST_TLS_WAIT)
		d->role = ROLE_RESP_INJECTED;
	else if (dir == 1 && s->state == SMTP_ST_TLS && !s->srv_judged) {
		s->srv_judged = 1;
		d->role = ROLE_PLAINTEXT;
	} else
		return;
	if (tls) {
		d->in_line = 0;
		smtp_tls_start(s, dir);
	}
}

/* Consume some bytes of direction dir; returns how many (0 only after a
 * decision that changes how the next call consumes). */
static size_t
smtp_consume(struct smtp_session *s, int dir, const uint8_t *p, size_t n)
{
	struct smtp_dir	*d = &s->d[dir];
	const uint8_t	*lf;
	size_t		 i;

	if (d->tls) {
		smtp_tls_bytes(s, dir, p, n);
		return n;
	}
	if (dir == 0 && s->state == SMTP_ST_BDAT && !d->in_line) {
		i = n < s->bdat_left ? n : (size_t)s->bdat_left;
		if ((s->bdat_left -= i) == 0)
			smtp_set_state(s, SMTP_ST_COMMAND);
		return i;
	}
	/*
	 * A DATA body is most of the bytes, and only a line "." in it
	 * matters: a body line not starting with '.' is stepped over without
	 * being framed (a cut one is skipped to its end like a long line).
	 */
	if (dir == 0 && s->state == SMTP_ST_DATA && !d->in_line &&
	    !d->skip && p[0] != '.') {
		if ((lf = memchr(p, '\n', n)) == NULL) {
			d->skip = 1;
			return n;
		}
		return (size_t)(lf - p) + 1;
	}
	lf = memchr(p, '\n', n);
	if (d->skip) {
		if (lf == NULL)
			return n;
		d->skip = 0;
		return (size_t)(lf - p) + 1;
	}
	if (!d->in_line) {
		smtp_line_start(s, dir, p, n);
		return 0;
	}
	if (lf == NULL) {
		smtp_append(s, d, p, n);
		return n;
	}
	i = (size_t)(lf - p);
	if (d->raw == 0)
		smtp_line_end(s, dir, p, i, i);		/* in place */
	else {
		smtp_append(s, d, p, i);
		smtp_line_end(s, dir, d->buf, d->len, d->raw);
	}
	return i + 1;
}

static int
smtp_finished(const struct smtp_session *s, int dir)
{
	return s->state == SMTP_ST_DONE || s->d[dir].done;
}

struct smtp_session *
smtp_session_new(const struct smtp_config *cfg, struct smtp_stats *stats)
{
	struct smtp_session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cfg = *cfg;
	s->stats = stats;
	s->state = SMTP_ST_BANNER;
	return s;
}

void
smtp_session_free(struct smtp_session *s)
{
	if (s == NULL)
		return;
	free(s->d[0].buf);
	free(s->d[1].buf);
	free(s->q);
	tls_parser_free(s->tp);
	free(s);
}

int
smtp_data(struct smtp_session *s, int dir, const uint8_t *buf, size_t len)
{
	size_t	 off = 0;

	assert(dir == 0 || dir == 1);
	while (off < len && !smtp_finished(s, dir))
		off += smtp_consume(s, dir, buf + off, len - off);
	return smtp_finished(s, dir);
}

void
smtp_gap(struct smtp_session *s, int dir, uint32_t len)
{
	struct smtp_dir	*d;

	assert(dir == 0 || dir == 1);
	d = &s->d[dir];
	s->f.flags |= SMTP_F_GAP;
	s->f.gaps++;
	if (smtp_finished(s, dir))
		return;
	if (d->tls) {		/* records cannot be found again */
		d->done = 1;
		if (s->d[!dir].done)
			smtp_set_state(s, SMTP_ST_DONE);
		return;
	}
	if (dir == 0 && s->state == SMTP_ST_BDAT && !d->in_line) {
		if (len < s->bdat_left) {
			s->bdat_left -= len;
			return;
		}
		s->bdat_left = 0;	/* the chunk ended in the hole */
		smtp_set_state(s, SMTP_ST_COMMAND);
	}
	/*
	 * Client: replies to lost commands will come. Server: lost replies
	 * shift the pairing. Either way a wrong pair could invent facts
	 * (an EHLO "reply" without STARTTLS), so what is queued is dropped
	 * and the replies to it are counted unpaired instead.
	 */
	if (dir == 1 || s->state != SMTP_ST_DATA)
		smtp_q_clear(s);
	if (dir == 1)
		s->r_lines = 0;
	smtp_line_reset(d);
	d->skip = 1;
}

void
smtp_end(struct smtp_session *s)
{
	struct smtp_dir	*d;
	int		 dir;

	for (dir = 0; dir < 2; dir++) {
		d = &s->d[dir];
		if (smtp_finished(s, dir) || d->tls || d->skip || !d->in_line)
			continue;
		smtp_line_end(s, dir, d->buf, d->len, d->raw);
	}
}

void
smtp_session_save(const struct smtp_session *s, struct smtp_resume *r)
{
	const struct smtp_dir *d;
	uint32_t	 i;
	int		 dir;

	memset(r, 0, sizeof(*r));
	r->flags = s->f.flags;
	r->gaps = s->f.gaps;
	r->ehlo_reply = s->f.ehlo_reply;
	r->starttls_reply = s->f.starttls_reply;
	r->state = (uint8_t)s->state;
	r->bits = (s->greeted ? SMTP_R_GREETED : 0) |
	    (s->starttls_pending ? SMTP_R_PENDING : 0) |
	    (s->srv_judged ? SMTP_R_SRV_JUDGED : 0);
	for (dir = 0; dir < 2; dir++) {
		d = &s->d[dir];
		if (d->in_line || d->skip)
			r->bits |= SMTP_R_CUT << dir;
		if (d->tls)
			r->bits |= SMTP_R_TLS << dir;
		if (d->done)
			r->bits |= SMTP_R_DONE << dir;
	}
	/* A reply cut in the middle cannot be paired: its end will be read
	 * as unpaired, as after a gap (smtp_gap()). */
	if (s->r_lines > 0)
		return;
	for (i = 0; i < s->qlen && i < SMTP_RESUME_QUEUE; i++)
		r->q[i] = s->q[(s->qhead + i) % s->cfg.max_pipeline];
	r->qlen = (uint8_t)i;
}

/* One direction of a continuation: where its bytes can be read again. */
static void
smtp_resume_dir(struct smtp_session *s, int dir, uint16_t bits)
{
	struct smtp_dir	*d = &s->d[dir];

	d->seen = 1;
	d->skip = (bits & (SMTP_R_CUT << dir)) != 0;
	/* TLS records cannot be found again in the middle of a stream. */
	d->done = (bits & ((SMTP_R_DONE | SMTP_R_TLS) << dir)) != 0;
}

struct smtp_session *
smtp_session_resume(const struct smtp_config *cfg, struct smtp_stats *stats,
    const struct smtp_resume *r)
{
	struct smtp_session *s;
	uint32_t	 i;

	if ((s = smtp_session_new(cfg, stats)) == NULL)
		return NULL;
	s->f.flags = r->flags;
	s->f.gaps = r->gaps;
	s->f.ehlo_reply = r->ehlo_reply;
	s->f.starttls_reply = r->starttls_reply;
	s->f.ehlo_count = (r->flags & (SMTP_F_EHLO | SMTP_F_HELO)) ? 1 : 0;
	s->state = r->state <= SMTP_ST_DONE ? (enum smtp_state)r->state :
	    SMTP_ST_DONE;
	s->greeted = (r->bits & SMTP_R_GREETED) != 0;
	s->starttls_pending = (r->bits & SMTP_R_PENDING) != 0;
	s->srv_judged = (r->bits & SMTP_R_SRV_JUDGED) != 0;
	smtp_resume_dir(s, 0, r->bits);
	smtp_resume_dir(s, 1, r->bits);
	/* The chunk's remaining size went with the parser: what follows
	 * could be its bytes read as commands. */
	if (s->state == SMTP_ST_BDAT)
		s->d[0].done = 1;
	if (s->d[0].done && s->d[1].done)
		s->state = SMTP_ST_DONE;
	for (i = 0; i < r->qlen && i < SMTP_RESUME_QUEUE; i++)
		smtp_q_push(s, (enum smtp_cmd)r->q[i]);
	return s;
}

const struct smtp_facts *
smtp_session_facts(const struct smtp_session *s)
{
	return &s->f;
}

enum smtp_state
smtp_session_state(const struct smtp_session *s)
{
	return s->state;
}

const char *
smtp_state_name(enum smtp_state st)
{
	if ((unsigned)st >= sizeof(smtp_state_names) /
	    sizeof(smtp_state_names[0]))
		return "unknown";
	return smtp_state_names[st];
}
