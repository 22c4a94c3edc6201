/*
 * mail.c: what SMTP, IMAP and POP3 sessions share: framing each direction
 * into lines, stepping over bodies and counted runs of bytes, the watch
 * for the TLS handshake after STARTTLS, and which protocol a session
 * speaks. The protocols read the lines (mailpriv.h is their contract).
 *
 * Long lines: a line longer than max_line is counted in long_lines, its
 * first max_line bytes are kept and the rest is discarded up to the LF;
 * the kept prefix is then parsed like any line. That keeps reply codes,
 * tags and continuation marks (and command/reply pairing) in step even
 * when a peer sends an absurd line.
 *
 * Memory: a line split across segments is copied into a buffer that
 * exists only until its LF (most sessions hold none between packets); the
 * buffer and the TLS reader's buffers are charged to a memcap shared by
 * all sessions. A line whose buffer the memcap refuses keeps what it had
 * and is parsed on that prefix at its LF, like an over-long line.
 *
 * First bytes: the judgement "TLS or plaintext" after STARTTLS is made on
 * the first byte(s) of a line as they arrive (tls_looks_like_handshake()
 * judges on what is there), and the line keeps that role until its LF.
 *
 * Which protocol: the server port gives a first guess; the first line of
 * the session (a greeting, or a command only one protocol has) decides,
 * before any fact was recorded, so a POP3 server on port 25 or SMTP on an
 * odd port is still read right.
 */
#include <openssl/evp.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "mailpriv.h"
#include "memcap.h"
#include "tls.h"

/* First size of a partial-line buffer: most lines are shorter. */
#define MAIL_LINE_INIT		256
/*
 * Lines of another protocol (a server line that is no reply, a client
 * opening with an HTTP method) seen before the session looked like mail,
 * after which it is given up. Generous on purpose: junk lines in front of
 * a real greeting (inserted for the sensor alone, or a broken server) must
 * not hide the session that follows, and parsing a few dozen lines of a
 * stray protocol on a mail port costs little.
 */
#define MAIL_FOREIGN_MAX	32

static const struct mail_proto_ops *const protos[] = {
	[MAIL_PROTO_SMTP] = &smtp_ops,
	[MAIL_PROTO_IMAP] = &imap_ops,
	[MAIL_PROTO_POP3] = &pop3_ops,
};
#define NPROTOS	(sizeof(protos) / sizeof(protos[0]))

static const char *const proto_names[] = {
	[MAIL_PROTO_SMTP] = "smtp",
	[MAIL_PROTO_IMAP] = "imap",
	[MAIL_PROTO_POP3] = "pop3",
};

/*
 * Longest SASL response decoded to find a user name: PLAIN carries
 * authzid, authcid and password (each at most 255 bytes, RFC 4616), well
 * inside 1 KiB; a longer response is not looked into.
 */
#define MAIL_SASL_MAX		1024

/* SASL mechanisms whose responses carry the password itself. */
enum mail_sasl {
	SASL_NONE = 0,
	SASL_PLAIN,		/* RFC 4616: authzid NUL authcid NUL passwd */
	SASL_LOGIN,		/* user, then password, each a response */
	SASL_OTHER		/* challenge-response or tokens: not read */
};

static const char *const state_names[] = {
	"greeting", "command", "auth", "tls_wait", "tls", "done"
};

/* struct mail_resume.bits; per direction: MAIL_R_CUT << dir, ... */
#define MAIL_R_PENDING		0x0002	/* STARTTLS awaits its reply */
#define MAIL_R_SRV_JUDGED	0x0004	/* see mail_session.srv_judged */
#define MAIL_R_CUT		0x0010	/* a line was cut: skip to its end */
#define MAIL_R_TLS		0x0040	/* the direction was reading TLS */
#define MAIL_R_DONE		0x0100	/* nothing more wanted from it */
#define MAIL_R_BODY		0x0400	/* inside a dot-terminated body */
#define MAIL_R_RAW		0x1000	/* inside a counted run */

static void	 line_end(struct mail_session *, int, const uint8_t *, size_t,
		    uint64_t);
static void	 line_reset(struct mail_session *, struct mail_dir *);

void
mail_set_state(struct mail_session *s, enum mail_state st)
{
	if (s->state == MAIL_ST_DONE)
		return;		/* final */
	s->state = st;
}

/*
 * No strlen(w) first: a verb is looked up by trying each name in turn, and
 * most differ at the first byte; w's NUL ends the comparison.
 */
int
mail_ieq(const uint8_t *p, size_t n, const char *w)
{
	size_t	 i;
	uint8_t	 a;

	for (i = 0; i < n; i++) {
		a = p[i];
		if (a >= 'a' && a <= 'z')
			a = (uint8_t)(a - 'a' + 'A');
		if (w[i] == '\0' || a != (uint8_t)w[i])
			return 0;
	}
	return w[n] == '\0';
}

size_t
mail_word(const uint8_t *p, size_t n)
{
	const uint8_t	*sp = memchr(p, ' ', n);

	return sp == NULL ? n : (size_t)(sp - p);
}

int
mail_is_masked_keyword(const uint8_t *kw, size_t len)
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

void
mail_foreign_line(struct mail_session *s)
{
	if (++s->foreign >= MAIL_FOREIGN_MAX)
		mail_set_state(s, MAIL_ST_DONE);	/* not mail */
}

void
mail_starttls_asked(struct mail_session *s)
{
	s->f.flags |= MAIL_F_STARTTLS_REQUESTED;
	s->starttls_pending = 1;
}

void
mail_starttls_answered(struct mail_session *s, int accepted,
    const uint8_t *line, size_t n)
{
	s->starttls_pending = 0;
	text_field_set(&s->f.starttls_line, line, n);
	s->f.flags |= MAIL_F_STARTTLS_REPLY;
	if (!accepted) {
		mail_set_state(s, MAIL_ST_COMMAND);
		return;
	}
	s->f.flags |= MAIL_F_STARTTLS_ACCEPTED;
	/* The TLS reader comes with the first TLS byte (tls_start()). */
	mail_set_state(s, s->d[0].tls ? MAIL_ST_TLS : MAIL_ST_TLS_WAIT);
}

void
mail_credentials(struct mail_session *s, const char *how,
    const uint8_t *user, size_t ulen)
{
	if (s->f.flags & MAIL_F_CREDENTIALS)
		return;
	s->f.flags |= MAIL_F_CREDENTIALS;
	s->secrets++;
	snprintf(s->f.cred_mech, sizeof(s->f.cred_mech), "%s", how);
	if (user != s->f.cred_user.b)	/* LOGIN kept it there already */
		text_field_set(&s->f.cred_user, user, ulen);
}

void
mail_secret(struct mail_session *s, const uint8_t *from)
{
	size_t	 off;

	assert(s->line != NULL && from >= s->line);
	s->secrets++;
	if ((off = (size_t)(from - s->line)) < s->line_keep)
		s->line_keep = (uint16_t)off;
}

/*
 * Decode base64 text into out (room for MAIL_SASL_MAX bytes); returns the
 * decoded length without padding, or -1 for text that is not base64 or
 * too long. The caller wipes out.
 */
static int
sasl_decode(const uint8_t *p, size_t n, uint8_t *out)
{
	int	 len, pad = 0;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > MAIL_SASL_MAX)
		return -1;
	if ((len = EVP_DecodeBlock(out, p, (int)n)) < 0)
		return -1;
	while (pad < 2 && p[n - 1 - (size_t)pad] == '=')
		pad++;
	return len - pad;
}

/* The authcid of a PLAIN response: between the first and second NUL. */
static void
sasl_plain(struct mail_session *s, const uint8_t *b, size_t n,
    const char *how)
{
	const uint8_t	*u, *nul;

	if ((u = memchr(b, '\0', n)) == NULL)
		return;
	u++;
	if ((nul = memchr(u, '\0', n - (size_t)(u - b))) == NULL)
		return;
	mail_credentials(s, how, u, (size_t)(nul - u));
}

/* One client response of the SASL exchange. */
static void
sasl_response(struct mail_session *s, const uint8_t *p, size_t n)
{
	uint8_t		 buf[MAIL_SASL_MAX];
	char		 how[MAIL_MECH_MAX];
	int		 len;

	if (n == 1 && p[0] == '*') {	/* the client cancels */
		mail_set_state(s, MAIL_ST_COMMAND);
		return;
	}
	if (s->sasl_mech != SASL_PLAIN && s->sasl_mech != SASL_LOGIN)
		return;
	snprintf(how, sizeof(how), "%s %s", s->sasl_how,
	    s->sasl_mech == SASL_PLAIN ? "PLAIN" : "LOGIN");
	if ((len = sasl_decode(p, n, buf)) < 0)
		return;
	if (s->sasl_mech == SASL_PLAIN)
		sasl_plain(s, buf, (size_t)len, how);
	else if (s->sasl_step == 0) {	/* the user name: keep it */
		if (!(s->f.flags & MAIL_F_CREDENTIALS))
			text_field_set(&s->f.cred_user, buf, (size_t)len);
	}
	else if (s->sasl_step == 1)	/* the password */
		mail_credentials(s, how, s->f.cred_user.b,
		    s->f.cred_user.len);
	s->sasl_step++;
	explicit_bzero(buf, sizeof(buf));
}

void
mail_auth_start(struct mail_session *s, const char *how, const uint8_t *arg,
    size_t n)
{
	size_t	 w = mail_word(arg, n), a;

	mail_set_state(s, MAIL_ST_AUTH);
	s->sasl_how = how;
	s->sasl_step = 0;
	if (mail_ieq(arg, w, "PLAIN"))
		s->sasl_mech = SASL_PLAIN;
	else if (mail_ieq(arg, w, "LOGIN"))
		s->sasl_mech = SASL_LOGIN;
	else
		s->sasl_mech = SASL_OTHER;
	for (a = w; a < n && arg[a] == ' '; a++)
		;
	/* an initial response (RFC 4954, 4959); "=" is an empty one */
	if (a < n && !(n - a == 1 && arg[a] == '=')) {
		mail_secret(s, arg + a);
		sasl_response(s, arg + a, n - a);
	}
}

void
mail_body(struct mail_session *s, int dir)
{
	s->d[dir].mode = MAIL_MODE_BODY;
}

void
mail_raw(struct mail_session *s, int dir, uint64_t n)
{
	if (n == 0)
		return;
	s->d[dir].mode = MAIL_MODE_RAW;
	s->d[dir].raw_left = n;
}

void
mail_lines(struct mail_session *s, int dir)
{
	s->d[dir].mode = MAIL_MODE_LINE;
	s->d[dir].raw_left = 0;
}

void
mail_q_clear(struct mail_session *s, struct mail_cmdq *q)
{
	q->head = 0;
	q->len = 0;
	memcap_free(s->mem, q->q, q->cap);
	q->q = NULL;
	q->cap = s->cfg.max_pipeline < MAIL_Q_INLINE ?
	    s->cfg.max_pipeline : MAIL_Q_INLINE;
}

/* Double the full ring, up to max_pipeline; 0, or -1 if it cannot. */
static int
q_grow(struct mail_session *s, struct mail_cmdq *q)
{
	const uint8_t	*old = q->q != NULL ? q->q : q->qin;
	uint32_t	 ncap, i;
	uint8_t		*nq;

	if (q->cap >= s->cfg.max_pipeline)
		return -1;
	ncap = q->cap > s->cfg.max_pipeline / 2 ? s->cfg.max_pipeline :
	    q->cap * 2;
	if ((nq = memcap_realloc(s->mem, NULL, 0, ncap)) == NULL)
		return -1;
	for (i = 0; i < q->len; i++)
		nq[i] = old[(q->head + i) % q->cap];
	memcap_free(s->mem, q->q, q->cap);
	q->q = nq;
	q->cap = ncap;
	q->head = 0;
	return 0;
}

void
mail_q_push(struct mail_session *s, struct mail_cmdq *q, uint8_t cmd)
{
	uint8_t		*ring;

	if (q->len >= q->cap && q_grow(s, q) == -1) {
		s->stats->pipeline_full++;
		return;
	}
	ring = q->q != NULL ? q->q : q->qin;
	ring[(q->head + q->len) % q->cap] = cmd;
	q->len++;
}

uint8_t
mail_q_peek(const struct mail_cmdq *q)
{
	if (q->len == 0)
		return 0;
	return (q->q != NULL ? q->q : q->qin)[q->head];
}

void
mail_q_pop(struct mail_session *s, struct mail_cmdq *q)
{
	assert(q->len > 0);
	q->head = (q->head + 1) % q->cap;
	if (--q->len == 0)
		mail_q_clear(s, q);
}

/* Where the kept bytes of the pending line are. */
static const uint8_t *
line_kept(const struct mail_dir *d)
{
	return d->buf != NULL ? d->buf : d->head;
}

static void
line_free(struct mail_session *s, struct mail_dir *d)
{
	if (d->buf == NULL)
		return;		/* the usual case: called after every line */
	memcap_free(s->mem, d->buf, d->cap);
	d->buf = NULL;
	d->cap = 0;
}

/*
 * Forget the partial line and its buffer: none is held between lines. The
 * kept bytes are wiped first: a line may have carried a password.
 */
static void
line_reset(struct mail_session *s, struct mail_dir *d)
{
	if (d->len > 0)
		explicit_bzero(d->buf != NULL ? d->buf : d->head, d->len);
	d->len = 0;
	d->raw = 0;
	d->in_line = 0;
	d->cut = 0;
	line_free(s, d);
}

/* Make buf hold need bytes (<= max_line); 0, or -1 if the memcap or
 * malloc says no. */
static int
line_grow(struct mail_session *s, struct mail_dir *d, size_t need)
{
	uint32_t	 max = s->cfg.max_line, ncap;
	uint8_t		*nb;

	ncap = d->cap ? d->cap : MAIL_LINE_INIT;
	while (ncap < need && ncap < max)
		ncap = ncap > max / 2 ? max : ncap * 2;
	if (ncap > max)
		ncap = max;
	if ((nb = memcap_realloc(s->mem, d->buf, d->cap, ncap)) == NULL)
		return -1;
	d->buf = nb;
	d->cap = ncap;
	return 0;
}

/*
 * Keep bytes of a partial line, at most max_line of them. When buf cannot
 * grow, what fits is kept and the rest of the line is not: bytes after a
 * hole would make a line that was never sent.
 */
static void
line_append(struct mail_session *s, struct mail_dir *d, const uint8_t *p,
    size_t n)
{
	size_t		 take = n;

	d->raw += n;
	if (d->cut)
		return;
	if (take > s->cfg.max_line - d->len)
		take = s->cfg.max_line - d->len;
	if (d->len + take > d->cap && line_grow(s, d, d->len + take)) {
		d->cut = 1;
		if (d->buf == NULL) {
			if (take > MAIL_LINE_HEAD - d->len)
				take = MAIL_LINE_HEAD - d->len;
			memcpy(d->head + d->len, p, take);
			d->len += (uint32_t)take;
			return;
		}
		take = d->cap - d->len;
	}
	if (take == 0)
		return;
	memcpy(d->buf + d->len, p, take);
	d->len += (uint32_t)take;
}

static void
tls_start(struct mail_session *s, int dir)
{
	if (s->tp == NULL &&
	    (s->tp = tls_parser_new(s->cfg.tls_max_bytes, s->mem,
	    s->certs)) == NULL) {
		s->d[dir].done = 1;	/* ENOMEM: cannot read it */
		return;
	}
	s->d[dir].tls = 1;
}

static void
tls_bytes(struct mail_session *s, int dir, const uint8_t *p, size_t n)
{
	if (tls_feed(s->tp, dir, p, n, &s->f.tls))
		s->d[dir].done = 1;
	if (s->f.tls.client_hello)
		s->f.flags |= MAIL_F_TLS_CLIENT_HELLO;
	if (s->f.tls.server_hello)
		s->f.flags |= MAIL_F_TLS_SERVER_HELLO;
	if (s->d[0].done && s->d[1].done)
		mail_set_state(s, MAIL_ST_DONE);
}

/*
 * A new line starts in direction dir with p[0]: decide what it is (TLS
 * instead of a line, not mail at all, injected, plaintext after STARTTLS).
 */
static void
line_start(struct mail_session *s, int dir, const uint8_t *p, size_t n)
{
	struct mail_dir	*d = &s->d[dir];
	int		 first = !d->seen;

	d->seen = 1;
	d->in_line = 1;
	d->role = MAIL_ROLE_NORMAL;
	if (first && !(s->f.flags & MAIL_F_PROTO) &&
	    (p[0] > 0x7e || (p[0] < 0x20 && p[0] != '\t' && p[0] != '\r' &&
	    p[0] != '\n'))) {
		mail_set_state(s, MAIL_ST_DONE);	/* binary, TLS, SSLv2 */
		return;
	}
	if (dir == 0 && s->state == MAIL_ST_TLS_WAIT) {
		mail_set_state(s, tls_looks_like_handshake(p, n) ?
		    MAIL_ST_TLS : MAIL_ST_COMMAND);
		d->role = MAIL_ROLE_PLAINTEXT;
	} else if (dir == 0 && s->starttls_pending)
		d->role = MAIL_ROLE_CMD_INJECTED; /* unless TLS racing the reply */
	else if (dir == 1 && s->state == MAIL_ST_TLS_WAIT)
		d->role = MAIL_ROLE_RESP_INJECTED;
	else if (dir == 1 && s->state == MAIL_ST_TLS && !s->srv_judged) {
		s->srv_judged = 1;
		d->role = MAIL_ROLE_PLAINTEXT;
	} else
		return;
	if (tls_looks_like_handshake(p, n)) {
		d->in_line = 0;
		tls_start(s, dir);
	}
}

/* The facts a line's role adds, whatever the protocol makes of it. */
static void
line_role(struct mail_session *s, const uint8_t *p, size_t n,
    enum mail_role role)
{
	uint32_t	 inj = role == MAIL_ROLE_CMD_INJECTED ?
	    MAIL_F_CMD_INJECTION : MAIL_F_RESP_INJECTION;

	switch (role) {
	case MAIL_ROLE_CMD_INJECTED:
	case MAIL_ROLE_RESP_INJECTED:
		if (s->f.flags & inj)
			break;
		text_field_set(&s->f.injected, p, n);
		s->f.flags |= inj;
		break;
	case MAIL_ROLE_PLAINTEXT:
		if (s->f.flags & MAIL_F_PLAINTEXT_AFTER)
			break;
		text_field_set(&s->f.plaintext, p, n);
		s->f.flags |= MAIL_F_PLAINTEXT_AFTER;
		break;
	case MAIL_ROLE_NORMAL:
		break;
	}
}

/*
 * The first line of a session, before any fact: if the protocol being
 * parsed cannot have sent it and another one claims it, switch. The
 * protocol's part of the session is set up anew; the shared part (the
 * line being read) stays.
 */
static void
guess(struct mail_session *s, int dir, const uint8_t *p, size_t n)
{
	const struct mail_proto_ops *o;
	size_t		 i;

	s->guessed = 1;
	if (s->ops->claims(dir, p, n))
		return;
	for (i = 0; i < NPROTOS; i++) {
		o = protos[i];
		if (o == NULL || o == s->ops || !o->claims(dir, p, n))
			continue;
		if (s->ops->release != NULL)
			s->ops->release(s);
		memset((uint8_t *)s + sizeof(*s), 0, o->size - sizeof(*s));
		s->ops = o;
		s->f.proto = o->proto;
		o->init(s);
		return;
	}
}

/*
 * A line of direction dir ended: p holds kept bytes of it, raw its length
 * before the LF. Lines over max_line are parsed on their first max_line
 * bytes (see the top of this file). A body's lines are only looked at for
 * its end.
 */
static void
line_end(struct mail_session *s, int dir, const uint8_t *p, size_t kept,
    uint64_t raw)
{
	struct mail_dir	*d = &s->d[dir];
	enum mail_role	 role = (enum mail_role)d->role;
	size_t		 n = kept;

	s->stats->lines++;
	if (raw > s->cfg.max_line) {
		s->stats->long_lines++;
		if (n > s->cfg.max_line)
			n = s->cfg.max_line;
	} else if (n == raw && n > 0 && p[n - 1] == '\r')
		n--;
	d->lines++;
	d->in_line = 0;
	s->line = p;
	s->line_keep = (uint16_t)(n < UINT16_MAX ? n : UINT16_MAX);
	if (d->mode == MAIL_MODE_BODY) {
		if (n == 1 && p[0] == '.') {
			mail_lines(s, dir);
			if (s->ops->body_end != NULL)
				s->ops->body_end(s, dir);
		}
	} else if (dir == 0 && s->state == MAIL_ST_AUTH) {
		mail_secret(s, p);
		sasl_response(s, p, n);
	} else {
		if (!s->guessed && !(s->f.flags & MAIL_F_PROTO))
			guess(s, dir, p, n);
		s->ops->line(s, dir, p, n, role);
	}
	/* after the parser: it knows where a password begins */
	line_role(s, p, n < s->line_keep ? n : s->line_keep, role);
	s->line = NULL;
	line_reset(s, d);
}

/* Raw bytes of direction dir: to the protocol, then back to lines. */
static size_t
raw_bytes(struct mail_session *s, int dir, const uint8_t *p, size_t n)
{
	struct mail_dir	*d = &s->d[dir];
	size_t		 i = n < d->raw_left ? n : (size_t)d->raw_left;

	if (s->ops->raw != NULL)
		s->ops->raw(s, dir, p, i);
	if ((d->raw_left -= i) == 0)
		mail_lines(s, dir);
	return i;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define MAIL_BODY_AVX2	1

/*
 * Bodies from this many bytes are searched with AVX2 where the CPU has
 * it; shorter ones, a line or two, cost about the same with memchr() per
 * line.
 */
#define MAIL_BODY_AVX2_MIN	128

/* body_dot_avx2(): no LF followed by '.' in what it looked at. */
#define MAIL_BODY_NONE		SIZE_MAX

/*
 * Where in p[0 .. n) an LF is followed by '.', 32 pairs at a time (one
 * compare for LFs, one for dots a byte further, a mask of both) instead of
 * a memchr() per line: the LF's index, or MAIL_BODY_NONE with *upto set to
 * the index before which every pair was looked at (the rest, less than 33
 * bytes, is the caller's). Reads p[0 .. n) only.
 */
__attribute__((target("avx2")))
static size_t
body_dot_avx2(const uint8_t *p, size_t n, size_t *upto)
{
	const __m256i	 lf = _mm256_set1_epi8('\n');
	const __m256i	 dot = _mm256_set1_epi8('.');
	__m256i		 a, b;
	uint32_t	 m;
	size_t		 i;

	for (i = 0; i + 33 <= n; i += 32) {
		a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
		b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i +
		    1));
		m = (uint32_t)_mm256_movemask_epi8(_mm256_and_si256(
		    _mm256_cmpeq_epi8(a, lf), _mm256_cmpeq_epi8(b, dot)));
		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
	}
	*upto = i;
	return MAIL_BODY_NONE;
}
#endif

/*
 * Body lines from p[0], which is no '.': every line up to the next one that
 * starts with '.' is stepped over at once. Returns the bytes stepped.
 */
static size_t
body_skip(struct mail_dir *d, const uint8_t *p, size_t n)
{
	const uint8_t	*q = p, *end = p + n, *lf;

#ifdef MAIL_BODY_AVX2
	if (n >= MAIL_BODY_AVX2_MIN && __builtin_cpu_supports("avx2")) {
		size_t	 upto, at = body_dot_avx2(p, n, &upto);

		if (at != MAIL_BODY_NONE)
			return at + 1;
		q = p + upto;
	}
#endif
	while ((lf = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		q = lf + 1;
		if (q == end || *q == '.')
			return (size_t)(q - p);
	}
	d->skip = 1;		/* the last line goes on in the next bytes */
	return n;
}

/* Consume some bytes of direction dir; returns how many (0 only after a
 * decision that changes how the next call consumes). */
static size_t
consume(struct mail_session *s, int dir, const uint8_t *p, size_t n)
{
	struct mail_dir	*d = &s->d[dir];
	const uint8_t	*lf;
	size_t		 i;

	if (d->tls) {
		tls_bytes(s, dir, p, n);
		return n;
	}
	if (d->mode == MAIL_MODE_RAW && !d->in_line)
		return raw_bytes(s, dir, p, n);
	/*
	 * A body is most of the bytes, and only a line "." in it matters: a
	 * body line not starting with '.' is stepped over without being
	 * framed (a cut one is skipped to its end like a long line).
	 */
	if (d->mode == MAIL_MODE_BODY && !d->in_line && !d->skip &&
	    p[0] != '.')
		return body_skip(d, p, n);
	/* before the search for the LF: the next call makes it again */
	if (!d->in_line && !d->skip) {
		line_start(s, dir, p, n);
		return 0;
	}
	lf = memchr(p, '\n', n);
	if (d->skip) {
		if (lf == NULL)
			return n;
		d->skip = 0;
		return (size_t)(lf - p) + 1;
	}
	if (lf == NULL) {
		line_append(s, d, p, n);
		return n;
	}
	i = (size_t)(lf - p);
	if (d->raw == 0)
		line_end(s, dir, p, i, i);		/* in place */
	else {
		line_append(s, d, p, i);
		line_end(s, dir, line_kept(d), d->len, d->raw);
	}
	return i + 1;
}

static int
finished(const struct mail_session *s, int dir)
{
	return s->state == MAIL_ST_DONE || s->d[dir].done;
}

static size_t
session_size(void)
{
	size_t	 i, max = sizeof(struct mail_session);

	for (i = 0; i < NPROTOS; i++)
		if (protos[i] != NULL && protos[i]->size > max)
			max = protos[i]->size;
	return max;
}

struct mail_session *
mail_session_new(enum mail_proto proto, const struct mail_config *cfg,
    struct mail_stats *stats, struct memcap *mem)
{
	struct mail_session *s;

	if ((unsigned)proto >= NPROTOS || protos[proto] == NULL)
		proto = MAIL_PROTO_SMTP;
	if ((s = calloc(1, session_size())) == NULL)
		return NULL;
	s->ops = protos[proto];
	s->cfg = *cfg;
	s->stats = stats;
	s->mem = mem;
	s->state = MAIL_ST_GREETING;
	s->f.proto = proto;
	s->ops->init(s);
	return s;
}

/* Give back every buffer: the session will parse nothing more. */
static void
release(struct mail_session *s)
{
	line_free(s, &s->d[0]);
	line_free(s, &s->d[1]);
	if (s->ops->release != NULL)
		s->ops->release(s);
	tls_parser_free(s->tp);
	s->tp = NULL;
}

/* The facts' own bytes; they outlive release() for detect.c to read. */
void
mail_facts_free(struct mail_facts *f)
{
	text_field_free(&f->banner);
	text_field_free(&f->helo);
	text_field_free(&f->cap_masked);
	text_field_free(&f->cmd_masked);
	text_field_free(&f->starttls_line);
	text_field_free(&f->injected);
	text_field_free(&f->plaintext);
	text_field_free(&f->cred_user);
	tls_facts_free(&f->tls);
}

void
mail_session_free(struct mail_session *s)
{
	if (s == NULL)
		return;
	release(s);
	mail_facts_free(&s->f);
	free(s);
}

int
mail_data(struct mail_session *s, int dir, const uint8_t *buf, size_t len)
{
	size_t	 off = 0;

	assert(dir == 0 || dir == 1);
	while (off < len && !finished(s, dir))
		off += consume(s, dir, buf + off, len - off);
	if (s->state == MAIL_ST_DONE)
		release(s);	/* a pending line will never end */
	return finished(s, dir);
}

void
mail_gap(struct mail_session *s, int dir, uint32_t len)
{
	struct mail_dir	*d;

	assert(dir == 0 || dir == 1);
	d = &s->d[dir];
	s->f.flags |= MAIL_F_GAP;
	s->f.gaps++;
	if (finished(s, dir))
		return;
	if (d->tls) {		/* records cannot be found again */
		d->done = 1;
		if (s->d[!dir].done) {
			mail_set_state(s, MAIL_ST_DONE);
			release(s);
		}
		return;
	}
	if (d->mode == MAIL_MODE_RAW && !d->in_line) {
		if (len < d->raw_left) {
			d->raw_left -= len;
			return;
		}
		mail_lines(s, dir);	/* the run ended in the hole */
	}
	if (s->ops->gap != NULL)
		s->ops->gap(s, dir);
	line_reset(s, d);
	d->skip = 1;
}

void
mail_end(struct mail_session *s)
{
	struct mail_dir	*d;
	int		 dir;

	for (dir = 0; dir < 2; dir++) {
		d = &s->d[dir];
		if (finished(s, dir) || d->tls || d->skip || !d->in_line)
			continue;
		line_end(s, dir, line_kept(d), d->len, d->raw);
	}
}

void
mail_session_save(const struct mail_session *s, struct mail_resume *r)
{
	const struct mail_dir *d;
	int		 dir;

	memset(r, 0, sizeof(*r));
	r->flags = s->f.flags;
	r->gaps = s->f.gaps;
	r->ehlo_reply = s->f.ehlo_reply;
	r->starttls_reply = s->f.starttls_reply;
	r->proto = (uint8_t)s->f.proto;
	r->state = (uint8_t)s->state;
	r->bits = (s->starttls_pending ? MAIL_R_PENDING : 0) |
	    (s->srv_judged ? MAIL_R_SRV_JUDGED : 0);
	for (dir = 0; dir < 2; dir++) {
		d = &s->d[dir];
		if (d->in_line || d->skip)
			r->bits |= MAIL_R_CUT << dir;
		if (d->tls)
			r->bits |= MAIL_R_TLS << dir;
		if (d->done)
			r->bits |= MAIL_R_DONE << dir;
		if (d->mode == MAIL_MODE_BODY)
			r->bits |= MAIL_R_BODY << dir;
		if (d->mode == MAIL_MODE_RAW)
			r->bits |= MAIL_R_RAW << dir;
	}
	if (s->ops->save != NULL)
		s->ops->save(s, r);
}

/* One direction of a continuation: where its bytes can be read again. */
static void
resume_dir(struct mail_session *s, int dir, uint16_t bits)
{
	struct mail_dir	*d = &s->d[dir];

	d->seen = 1;
	d->skip = (bits & (MAIL_R_CUT << dir)) != 0;
	/*
	 * TLS records cannot be found again in the middle of a stream, and
	 * the rest of a counted run went with the parser: what follows could
	 * be its bytes read as commands.
	 */
	d->done = (bits & ((MAIL_R_DONE | MAIL_R_TLS | MAIL_R_RAW) << dir)) !=
	    0;
	if (bits & (MAIL_R_BODY << dir))
		d->mode = MAIL_MODE_BODY;
}

struct mail_session *
mail_session_resume(const struct mail_config *cfg, struct mail_stats *stats,
    struct memcap *mem, const struct mail_resume *r)
{
	struct mail_session *s;

	if ((s = mail_session_new((enum mail_proto)r->proto, cfg, stats,
	    mem)) == NULL)
		return NULL;
	s->guessed = 1;		/* the first part chose the protocol */
	s->f.flags = r->flags;
	s->f.gaps = r->gaps;
	s->f.ehlo_reply = r->ehlo_reply;
	s->f.starttls_reply = r->starttls_reply;
	s->state = r->state <= MAIL_ST_DONE ? (enum mail_state)r->state :
	    MAIL_ST_DONE;
	s->starttls_pending = (r->bits & MAIL_R_PENDING) != 0;
	s->srv_judged = (r->bits & MAIL_R_SRV_JUDGED) != 0;
	resume_dir(s, 0, r->bits);
	resume_dir(s, 1, r->bits);
	if (s->d[0].done && s->d[1].done)
		s->state = MAIL_ST_DONE;
	if (s->ops->resume != NULL)
		s->ops->resume(s, r);
	return s;
}

void
mail_session_certs(struct mail_session *s, struct tls_certs *certs)
{
	s->certs = certs;
}

const struct mail_facts *
mail_session_facts(const struct mail_session *s)
{
	return &s->f;
}

uint32_t
mail_session_secrets(const struct mail_session *s)
{
	return s->secrets;
}

enum mail_state
mail_session_state(const struct mail_session *s)
{
	return s->state;
}

const char *
mail_state_name(enum mail_state st)
{
	if ((unsigned)st >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[st];
}

const char *
mail_proto_name(enum mail_proto p)
{
	if ((unsigned)p >= MAIL_NPROTOS)
		return "unknown";
	return proto_names[p];
}

int
mail_proto_by_name(const char *name)
{
	int	 p;

	for (p = 0; p < MAIL_NPROTOS; p++)
		if (name != NULL && strcmp(name, proto_names[p]) == 0)
			return p;
	return -1;
}

enum mail_proto
mail_proto_by_port(uint16_t port)
{
	switch (port) {
	case 143:
		return MAIL_PROTO_IMAP;
	case 110:
		return MAIL_PROTO_POP3;
	default:
		return MAIL_PROTO_SMTP;
	}
}

