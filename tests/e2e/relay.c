/*
 * relay.c: the middlebox of the live end-to-end tests, a TCP relay that
 * passes a mail protocol through untouched or meddles with its STARTTLS
 * the way middleboxes and attackers do: masks it like a Cisco ASA (the
 * server's SMTP capability) or a meddling ISP (the client's SMTP command),
 * deletes it from the IMAP or POP3 capabilities, refuses it itself, or
 * makes the IMAP greeting a PREAUTH one.
 *
 *	relay [-p smtp|imap|pop3] -m MODE -l ADDR:PORT -c ADDR:PORT
 *
 * The modes (table modes[]), and the protocols each applies to:
 *	pass	all	copy everything
 *	asa	smtp	250-STARTTLS -> 250-XXXXXXXA
 *	isp	smtp	STARTTLS -> XXXXXXXX
 *	strip	imap	STARTTLS deleted from every capability list (the
 *			greeting's [CAPABILITY ...] code, * CAPABILITY)
 *		pop3	the STLS line deleted from the CAPA response
 *	refuse	all	STARTTLS (POP3: STLS) answered by the relay (454,
 *			"tag NO", "-ERR"); it never reaches the server
 *	preauth	imap	the greeting's "* OK" made "* PREAUTH"
 *
 * Each accepted connection gets its own connection to the -c address.
 * Until the server accepts STARTTLS, bytes are handled line by line
 * (bounded) so a rewrite works on lines split across reads; message text
 * (an SMTP DATA body, an IMAP literal, a POP3 message) is never rewritten.
 * From the acceptance on, both directions are copied untouched, so nothing
 * inside TLS is ever rewritten. SIGTERM or SIGINT closes everything and
 * exits 0.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <err.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

/*
 * Longest plaintext line that is looked at. SMTP commands and replies are
 * at most 512 octets and text lines 1000 (RFC 5321 4.5.3.1), POP3
 * responses 512 (RFC 2449); IMAP has no limit, but the lines the relay
 * rewrites are short. A longer line is passed on in pieces of this size,
 * untouched.
 */
#define RELAY_LINE_MAX		4096
/* Bytes a rewrite may add to a line ("OK" -> "PREAUTH"). */
#define RELAY_LINE_GROW		16
/*
 * Bytes queued per direction before the relay stops reading from the
 * sender until the receiver catches up: bounds memory per connection.
 * Must exceed RELAY_LINE_MAX so a whole line always fits.
 */
#define RELAY_BUF_MAX		(256 * 1024)
/* Connections at once; more are refused. A test opens a handful. */
#define RELAY_CONN_MAX		64
/* Seconds without traffic before a connection is dropped (Postfix's own
 * smtpd_timeout is 300 s; the test never waits that long). */
#define RELAY_IDLE_SECS		300
/* Seconds to wait for the server to accept. */
#define RELAY_CONNECT_SECS	10
/* Digits of an IMAP literal's size that are read: 10^18 bytes fit in a
 * uint64_t, and no test sends that much. */
#define RELAY_LITERAL_DIGITS	18

enum relay_proto {
	PROTO_SMTP,
	PROTO_IMAP,
	PROTO_POP3,
	NPROTOS
};

#define P_SMTP			(1u << PROTO_SMTP)
#define P_IMAP			(1u << PROTO_IMAP)
#define P_POP3			(1u << PROTO_POP3)
#define P_ALL			(P_SMTP | P_IMAP | P_POP3)

enum conn_state {
	ST_PLAIN,		/* line by line, rewriting */
	ST_STARTTLS,		/* client asked; its next bytes wait for
				   the server's answer */
	ST_COPY			/* TLS under way: bytes copied untouched */
};

enum conn_dir {
	DIR_C2S,		/* client to server */
	DIR_S2C			/* server to client */
};

/* What a server line says of a pending STARTTLS. */
enum answer {
	ANSWER_NONE,		/* not the answer (an untagged line, a
				   reply's first lines) */
	ANSWER_ACCEPT,
	ANSWER_REFUSE
};

/* POP3: what a multi-line response holds. */
enum multi {
	MULTI_NONE,		/* no multi-line response */
	MULTI_TEXT,		/* a message or a listing */
	MULTI_CAPA		/* capabilities */
};

struct relay;
struct conn;

/*
 * A protocol: how its lines are told apart from message text, what its
 * STARTTLS command and answer look like. The note functions see every
 * line of their direction (content without CRLF) and return whether it is
 * protocol, which a mode may rewrite, rather than message text.
 */
struct proto {
	const char	*name;
	const char	*starttls;	/* the command's verb */
	int		 tagged;	/* commands start with a tag (IMAP) */
	const char	*refusal;	/* an answer refusing it (after the
					   command's tag) */
	int		(*client_note)(struct conn *, const char *, size_t);
	int		(*server_note)(struct conn *, const char *, size_t);
	enum answer	(*starttls_answer)(const char *, size_t);
};

/*
 * A mode's rewrite of a protocol line: line holds len bytes (CRLF
 * included) in a buffer of cap; returns the new length, 0 to drop it.
 */
typedef size_t (*rewrite_fn)(struct conn *, char *, size_t, size_t);

struct mode {
	const char	*name;
	unsigned int	 protos;	/* P_* it applies to */
	rewrite_fn	 client;	/* NULL: lines passed as they are */
	rewrite_fn	 server;
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct relay	*relay;
	unsigned int	 id;		/* for the log */
	struct bufferevent *cli;	/* accepted from the client */
	struct bufferevent *srv;	/* our connection to the server */
	enum conn_state	 state;
	int		 midline[2];	/* inside an overlong line, per
					   direction: pass on to its LF */
	uint64_t	 literal[2];	/* IMAP: literal bytes still to pass
					   untouched, per direction */
	unsigned int	 server_lines;	/* lines from the server so far */
	int		 in_body;	/* SMTP: after a 354, message text
					   from the client; POP3: enum multi,
					   the response being passed */
	int		 multi_sent;	/* POP3: enum multi, what the last
					   command's +OK opens */
	int		 closing;	/* one side gone: drain, then free */
};

TAILQ_HEAD(conn_list, conn);

struct relay {
	struct event_base *base;
	const struct proto *proto;
	const struct mode *mode;
	struct sockaddr_storage server;	/* where to connect */
	int		 serverlen;
	struct conn_list conns;
	unsigned int	 nconns;
	unsigned int	 next_id;
};

static void	 usage(void) __attribute__((noreturn));
static const struct proto *find_proto(const char *);
static const struct mode *find_mode(const char *, const struct proto *);
static size_t	 line_content_len(const char *, size_t);
static int	 word_is(const char *, size_t, const char *);
static const char *find_word(const char *, size_t, const char *);
static int	 line_is_cmd(const char *, size_t, const char *);
static size_t	 imap_tag_len(const char *, size_t);
static int	 starttls_cmd(const struct proto *, const char *, size_t);
static int	 imap_literal(const char *, size_t, uint64_t *);
static int	 smtp_client_note(struct conn *, const char *, size_t);
static int	 smtp_server_note(struct conn *, const char *, size_t);
static enum answer smtp_starttls_answer(const char *, size_t);
static int	 imap_client_note(struct conn *, const char *, size_t);
static int	 imap_server_note(struct conn *, const char *, size_t);
static enum answer imap_starttls_answer(const char *, size_t);
static int	 pop3_client_note(struct conn *, const char *, size_t);
static int	 pop3_server_note(struct conn *, const char *, size_t);
static enum answer pop3_starttls_answer(const char *, size_t);
static size_t	 asa_server(struct conn *, char *, size_t, size_t);
static size_t	 isp_client(struct conn *, char *, size_t, size_t);
static size_t	 strip_imap_server(struct conn *, char *, size_t, size_t);
static size_t	 strip_pop3_server(struct conn *, char *, size_t, size_t);
static size_t	 refuse_client(struct conn *, char *, size_t, size_t);
static size_t	 preauth_server(struct conn *, char *, size_t, size_t);
static size_t	 conn_client_line(struct conn *, char *, size_t, size_t);
static size_t	 conn_server_line(struct conn *, char *, size_t, size_t);
static void	 conn_move_raw(struct conn *, enum conn_dir, size_t);
static void	 conn_pump_lines(struct conn *, enum conn_dir);
static void	 conn_pump(struct conn *, enum conn_dir);
static void	 conn_backpressure(struct conn *, enum conn_dir);
static void	 conn_close(struct conn *);
static void	 conn_free(struct conn *);
static void	 conn_readcb(struct bufferevent *, void *);
static void	 conn_writecb(struct bufferevent *, void *);
static void	 conn_eventcb(struct bufferevent *, short, void *);
static void	 relay_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	 relay_signal(evutil_socket_t, short, void *);

static const struct proto protos[NPROTOS] = {
	[PROTO_SMTP] = { "smtp", "STARTTLS", 0,
	    "454 4.7.0 TLS not available due to local problem",
	    smtp_client_note, smtp_server_note, smtp_starttls_answer },
	[PROTO_IMAP] = { "imap", "STARTTLS", 1,
	    "NO [UNAVAILABLE] TLS is not available",
	    imap_client_note, imap_server_note, imap_starttls_answer },
	[PROTO_POP3] = { "pop3", "STLS", 0, "-ERR TLS is not available",
	    pop3_client_note, pop3_server_note, pop3_starttls_answer },
};

/* One row per mode and the protocols it applies to; a name may repeat
 * with other protocols and other rewrites. */
static const struct mode modes[] = {
	{ "pass",    P_ALL,  NULL,               NULL },
	{ "asa",     P_SMTP, NULL,               asa_server },
	{ "isp",     P_SMTP, isp_client,         NULL },
	{ "strip",   P_IMAP, NULL,               strip_imap_server },
	{ "strip",   P_POP3, NULL,               strip_pop3_server },
	{ "refuse",  P_ALL,  refuse_client,      NULL },
	{ "preauth", P_IMAP, NULL,               preauth_server },
};

static void
usage(void)
{
	fprintf(stderr, "usage: relay [-p smtp|imap|pop3] "
	    "-m pass|asa|isp|strip|refuse|preauth -l ADDR:PORT "
	    "-c ADDR:PORT\n");
	exit(2);
}

static const struct proto *
find_proto(const char *s)
{
	size_t	 i;

	for (i = 0; i < NPROTOS; i++)
		if (strcmp(s, protos[i].name) == 0)
			return &protos[i];
	return NULL;
}

static const struct mode *
find_mode(const char *s, const struct proto *p)
{
	unsigned int bit = 1u << (p - protos);
	size_t	 i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(s, modes[i].name) == 0 && (modes[i].protos & bit))
			return &modes[i];
	return NULL;
}

/* Length of a line without its LF or CRLF. */
static size_t
line_content_len(const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return len;
}

/* Whether the len bytes at p are the word, in any case. */
static int
word_is(const char *p, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(p, word, len) == 0;
}

/* Where the word first is in the len bytes at p, in any case; NULL if
 * nowhere. */
static const char *
find_word(const char *p, size_t len, const char *word)
{
	size_t	 wlen = strlen(word), i;

	for (i = 0; i + wlen <= len; i++)
		if (strncasecmp(p + i, word, wlen) == 0)
			return p + i;
	return NULL;
}

/* Whether the line is the command verb, alone (trailing blanks allowed). */
static int
line_is_cmd(const char *line, size_t len, const char *verb)
{
	size_t	 vlen = strlen(verb), i;

	if (len < vlen || strncasecmp(line, verb, vlen) != 0)
		return 0;
	for (i = vlen; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t')
			return 0;
	return 1;
}

/* Whether the line is the protocol's STARTTLS command. */
static int
starttls_cmd(const struct proto *p, const char *line, size_t n)
{
	size_t	 t = 0;

	if (p->tagged && (t = imap_tag_len(line, n)) == 0)
		return 0;
	return line_is_cmd(line + t, n - t, p->starttls);
}

/* --- SMTP */

/* Lines after the server's 354 are the message, up to a lone dot. */
static int
smtp_client_note(struct conn *c, const char *line, size_t n)
{
	if (!c->in_body)
		return 1;
	if (n == 1 && line[0] == '.')
		c->in_body = 0;
	return 0;
}

static int
smtp_server_note(struct conn *c, const char *line, size_t n)
{
	if (n >= 3 && strncmp(line, "354", 3) == 0 &&
	    (n == 3 || line[3] == ' '))
		c->in_body = 1;
	return 1;
}

/* A reply's last line: three digits, then a space or nothing. */
static enum answer
smtp_starttls_answer(const char *line, size_t n)
{
	if (n < 3 || line[0] < '2' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' ||
	    (n > 3 && line[3] != ' '))
		return ANSWER_NONE;
	return strncmp(line, "220", 3) == 0 ? ANSWER_ACCEPT : ANSWER_REFUSE;
}

/* --- IMAP */

/* Length of the tag that starts a line, with its space; 0 if none. */
static size_t
imap_tag_len(const char *line, size_t n)
{
	size_t	 i;

	for (i = 0; i < n && line[i] != ' '; i++)
		continue;
	return i > 0 && i < n ? i + 1 : 0;
}

/*
 * A line ending in a literal's announcement, "{n}", "{n+}" (RFC 7888) or
 * "~{n}": 1 and its size in *size.
 */
static int
imap_literal(const char *line, size_t n, uint64_t *size)
{
	size_t	 end, i;

	if (n < 3 || line[n - 1] != '}')
		return 0;
	end = n - 1;
	if (line[end - 1] == '+')
		end--;
	for (i = end; i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9'; i--)
		continue;
	if (i == end || i == 0 || line[i - 1] != '{' ||
	    end - i > RELAY_LITERAL_DIGITS)
		return 0;
	for (*size = 0; i < end; i++)
		*size = *size * 10 + (uint64_t)(line[i] - '0');
	return 1;
}

/* The bytes a literal announces follow the line, in either direction. */
static int
imap_client_note(struct conn *c, const char *line, size_t n)
{
	imap_literal(line, n, &c->literal[DIR_C2S]);
	return 1;
}

static int
imap_server_note(struct conn *c, const char *line, size_t n)
{
	imap_literal(line, n, &c->literal[DIR_S2C]);
	return 1;
}

/* The tagged line: "tag OK ..." accepts; untagged ones are no answer. */
static enum answer
imap_starttls_answer(const char *line, size_t n)
{
	size_t	 t = imap_tag_len(line, n);

	if (t == 0 || line[0] == '*' || line[0] == '+')
		return ANSWER_NONE;
	return n - t >= 2 && strncasecmp(line + t, "OK", 2) == 0 &&
	    (n - t == 2 || line[t + 2] == ' ') ? ANSWER_ACCEPT : ANSWER_REFUSE;
}

/* --- POP3 */

/*
 * The commands whose +OK opens a multi-line response (RFC 1939, 2449):
 * CAPA, RETR and TOP always, LIST and UIDL without an argument. The
 * relay's clients send one command at a time, so the response that
 * follows is its answer.
 */
static int
pop3_client_note(struct conn *c, const char *line, size_t n)
{
	if (line_is_cmd(line, n, "CAPA"))
		c->multi_sent = MULTI_CAPA;
	else if (n > 5 && (strncasecmp(line, "RETR ", 5) == 0 ||
	    strncasecmp(line, "TOP ", 4) == 0))
		c->multi_sent = MULTI_TEXT;
	else if (line_is_cmd(line, n, "LIST") || line_is_cmd(line, n, "UIDL"))
		c->multi_sent = MULTI_TEXT;
	else
		c->multi_sent = MULTI_NONE;
	return 1;
}

/* The lines of a multi-line response, up to the lone dot, are message
 * text or a listing, except the CAPA response's: capabilities. */
static int
pop3_server_note(struct conn *c, const char *line, size_t n)
{
	if (c->in_body != MULTI_NONE) {
		if (n == 1 && line[0] == '.') {
			c->in_body = MULTI_NONE;
			return 1;
		}
		return c->in_body == MULTI_CAPA;
	}
	if (n >= 3 && strncmp(line, "+OK", 3) == 0)
		c->in_body = c->multi_sent;
	c->multi_sent = MULTI_NONE;
	return 1;
}

static enum answer
pop3_starttls_answer(const char *line, size_t n)
{
	if (n >= 3 && strncmp(line, "+OK", 3) == 0)
		return ANSWER_ACCEPT;
	return n >= 4 && strncmp(line, "-ERR", 4) == 0 ? ANSWER_REFUSE :
	    ANSWER_NONE;
}

/* --- the modes' rewrites */

/* "250-STARTTLS" or "250 STARTTLS" in the EHLO reply: masked. */
static size_t
asa_server(struct conn *c, char *line, size_t len, size_t cap)
{
	size_t	 n = line_content_len(line, len);

	(void)cap;
	if (n >= 4 && strncmp(line, "250", 3) == 0 &&
	    (line[3] == '-' || line[3] == ' ') &&
	    line_is_cmd(line + 4, n - 4, "STARTTLS")) {
		memcpy(line + 4, "XXXXXXXA", 8);
		fprintf(stderr, "relay: conn %u: masked STARTTLS capability\n",
		    c->id);
	}
	return len;
}

static size_t
isp_client(struct conn *c, char *line, size_t len, size_t cap)
{
	(void)cap;
	if (starttls_cmd(c->relay->proto, line, line_content_len(line, len))) {
		memcpy(line, "XXXXXXXX", 8);
		fprintf(stderr, "relay: conn %u: masked STARTTLS command\n",
		    c->id);
	}
	return len;
}

/*
 * Delete the STARTTLS atoms of a capability list: an untagged CAPABILITY
 * response, or a [CAPABILITY ...] response code (the greeting, a tagged
 * OK). The list ends at the line's end or at the code's "]".
 */
static size_t
strip_imap_server(struct conn *c, char *line, size_t len, size_t cap)
{
	size_t	 n = line_content_len(line, len), i, end, w;
	const char *code = NULL;
	int	 deleted = 0;

	(void)cap;
	if (n > 13 && strncasecmp(line, "* CAPABILITY ", 13) == 0)
		i = 12;
	else if ((code = find_word(line, n, "[CAPABILITY ")) != NULL)
		i = (size_t)(code - line) + 11;
	else
		return len;
	for (end = i; end < n && !(code != NULL && line[end] == ']'); end++)
		continue;
	while (i < end) {
		for (w = i + 1; w < end && line[w] != ' ' && line[w] != ']';
		    w++)
			continue;
		if (word_is(line + i + 1, w - i - 1, "STARTTLS")) {
			memmove(line + i, line + w, len - w);
			len -= w - i;
			end -= w - i;
			deleted = 1;
		} else
			i = w;
	}
	if (deleted)
		fprintf(stderr, "relay: conn %u: deleted STARTTLS from the "
		    "capabilities\n", c->id);
	return len;
}

/* The STLS line of the CAPA response: dropped. */
static size_t
strip_pop3_server(struct conn *c, char *line, size_t len, size_t cap)
{
	(void)cap;
	if (c->in_body != MULTI_CAPA ||
	    !line_is_cmd(line, line_content_len(line, len), "STLS"))
		return len;
	fprintf(stderr, "relay: conn %u: deleted STLS from the CAPA "
	    "response\n", c->id);
	return 0;
}

/* The client's STARTTLS answered by the relay: the server never sees it. */
static size_t
refuse_client(struct conn *c, char *line, size_t len, size_t cap)
{
	const struct proto *p = c->relay->proto;
	size_t	 n = line_content_len(line, len);

	(void)cap;
	if (!starttls_cmd(p, line, n))
		return len;
	evbuffer_add_printf(bufferevent_get_output(c->cli), "%.*s%s\r\n",
	    p->tagged ? (int)imap_tag_len(line, n) : 0, line, p->refusal);
	fprintf(stderr, "relay: conn %u: refused %s\n", c->id, p->starttls);
	return 0;
}

/* The greeting "* OK ..." made "* PREAUTH ...": logged in, no STARTTLS. */
static size_t
preauth_server(struct conn *c, char *line, size_t len, size_t cap)
{
	const size_t grow = sizeof("PREAUTH") - sizeof("OK");

	if (c->server_lines != 1 || len + grow > cap ||
	    strncasecmp(line, "* OK ", 5) != 0)
		return len;
	memmove(line + 4 + grow, line + 4, len - 4);
	memcpy(line + 2, "PREAUTH", 7);
	fprintf(stderr, "relay: conn %u: made the greeting PREAUTH\n", c->id);
	return len + grow;
}

/* --- lines through a connection */

/* A client line: the mode's rewrite if it is protocol, then STARTTLS. */
static size_t
conn_client_line(struct conn *c, char *line, size_t len, size_t cap)
{
	const struct relay *r = c->relay;

	if (!r->proto->client_note(c, line, line_content_len(line, len)))
		return len;
	if (r->mode->client != NULL &&
	    (len = r->mode->client(c, line, len, cap)) == 0)
		return 0;
	if (starttls_cmd(r->proto, line, line_content_len(line, len)))
		c->state = ST_STARTTLS;
	return len;
}

/* A server line: the mode's rewrite if it is protocol; the STARTTLS
 * answer ends the line by line part, or not. */
static size_t
conn_server_line(struct conn *c, char *line, size_t len, size_t cap)
{
	const struct relay *r = c->relay;
	size_t	 n = line_content_len(line, len);

	c->server_lines++;
	if (!r->proto->server_note(c, line, n))
		return len;
	if (r->mode->server != NULL &&
	    (len = r->mode->server(c, line, len, cap)) == 0)
		return 0;
	if (c->state != ST_STARTTLS)
		return len;
	switch (r->proto->starttls_answer(line, n)) {
	case ANSWER_ACCEPT:
		c->state = ST_COPY;
		fprintf(stderr, "relay: conn %u: TLS starts, copying\n",
		    c->id);
		break;
	case ANSWER_REFUSE:
		c->state = ST_PLAIN;
		break;
	case ANSWER_NONE:
		break;
	}
	return len;
}

/* Pass len bytes from the sender's input to the receiver unchanged. */
static void
conn_move_raw(struct conn *c, enum conn_dir dir, size_t len)
{
	struct bufferevent *from = dir == DIR_C2S ? c->cli : c->srv;
	struct bufferevent *to = dir == DIR_C2S ? c->srv : c->cli;

	evbuffer_remove_buffer(bufferevent_get_input(from),
	    bufferevent_get_output(to), len);
}

/*
 * Take whole lines from the sender and hand them on, rewritten where the
 * mode says; an IMAP literal's bytes go as they are. Stops at a partial
 * line (more bytes will come), when the client has asked for STARTTLS (its
 * bytes wait), or when TLS starts.
 */
static void
conn_pump_lines(struct conn *c, enum conn_dir dir)
{
	struct bufferevent *from = dir == DIR_C2S ? c->cli : c->srv;
	struct bufferevent *to = dir == DIR_C2S ? c->srv : c->cli;
	struct evbuffer	*in = bufferevent_get_input(from);
	struct evbuffer_ptr eol;
	char		 line[RELAY_LINE_MAX + RELAY_LINE_GROW];
	size_t		 avail, len;

	while (c->state == ST_PLAIN ||
	    (c->state == ST_STARTTLS && dir == DIR_S2C)) {
		if ((avail = evbuffer_get_length(in)) == 0)
			return;
		if (c->literal[dir] > 0) {
			len = avail < c->literal[dir] ? avail :
			    (size_t)c->literal[dir];
			conn_move_raw(c, dir, len);
			c->literal[dir] -= len;
			continue;
		}
		eol = evbuffer_search(in, "\n", 1, NULL);
		if (c->midline[dir]) {
			conn_move_raw(c, dir, eol.pos < 0 ? avail :
			    (size_t)eol.pos + 1);
			c->midline[dir] = eol.pos < 0;
			continue;
		}
		if (eol.pos < 0 && avail < RELAY_LINE_MAX)
			return;
		if (eol.pos < 0 || (size_t)eol.pos >= RELAY_LINE_MAX) {
			conn_move_raw(c, dir, RELAY_LINE_MAX);
			c->midline[dir] = 1;
			continue;
		}
		len = (size_t)eol.pos + 1;
		if (evbuffer_remove(in, line, len) != (int)len)
			errx(1, "evbuffer_remove: short read");
		if (dir == DIR_C2S)
			len = conn_client_line(c, line, len, sizeof(line));
		else
			len = conn_server_line(c, line, len, sizeof(line));
		evbuffer_add(bufferevent_get_output(to), line, len);
	}
}

/* Move what the sender has to the receiver, as the state allows. */
static void
conn_pump(struct conn *c, enum conn_dir dir)
{
	struct bufferevent *from = dir == DIR_C2S ? c->cli : c->srv;
	struct bufferevent *to = dir == DIR_C2S ? c->srv : c->cli;

	if (c->state != ST_COPY)
		conn_pump_lines(c, dir);
	if (c->state == ST_COPY) {
		evbuffer_add_buffer(bufferevent_get_output(to),
		    bufferevent_get_input(from));
	}
	conn_backpressure(c, dir);
	/* The answer to STARTTLS released the client's held bytes. */
	if (dir == DIR_S2C && c->state != ST_STARTTLS &&
	    evbuffer_get_length(bufferevent_get_input(c->cli)) > 0)
		conn_pump(c, DIR_C2S);
}

/* Stop reading from a sender whose receiver is RELAY_BUF_MAX behind. */
static void
conn_backpressure(struct conn *c, enum conn_dir dir)
{
	struct bufferevent *from = dir == DIR_C2S ? c->cli : c->srv;
	struct bufferevent *to = dir == DIR_C2S ? c->srv : c->cli;

	if (evbuffer_get_length(bufferevent_get_output(to)) >= RELAY_BUF_MAX)
		bufferevent_disable(from, EV_READ);
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->closing)
		return;
	conn_pump(c, bev == c->cli ? DIR_C2S : DIR_S2C);
}

/* The receiver drained: resume its sender, or finish a closing conn. */
static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct bufferevent *peer = bev == c->cli ? c->srv : c->cli;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(c->cli)) == 0 &&
		    evbuffer_get_length(bufferevent_get_output(c->srv)) == 0)
			conn_free(c);
		return;
	}
	if (!(bufferevent_get_enabled(peer) & EV_READ))
		bufferevent_enable(peer, EV_READ);
}

/*
 * One side is gone: hand the other what is left (a partial line as it
 * is), then free once that has been written.
 */
static void
conn_close(struct conn *c)
{
	struct evbuffer	*cin = bufferevent_get_input(c->cli);
	struct evbuffer	*sin = bufferevent_get_input(c->srv);
	struct evbuffer	*cout = bufferevent_get_output(c->cli);
	struct evbuffer	*sout = bufferevent_get_output(c->srv);

	c->closing = 1;
	bufferevent_disable(c->cli, EV_READ);
	bufferevent_disable(c->srv, EV_READ);
	evbuffer_add_buffer(sout, cin);
	evbuffer_add_buffer(cout, sin);
	if (evbuffer_get_length(cout) == 0 && evbuffer_get_length(sout) == 0)
		conn_free(c);
}

static void
conn_free(struct conn *c)
{
	struct relay	*r = c->relay;

	fprintf(stderr, "relay: conn %u: closed\n", c->id);
	TAILQ_REMOVE(&r->conns, c, entry);
	r->nconns--;
	bufferevent_free(c->cli);
	bufferevent_free(c->srv);
	free(c);
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	const struct timeval idle = { RELAY_IDLE_SECS, 0 };

	if (what & BEV_EVENT_CONNECTED) {
		bufferevent_set_timeouts(c->srv, &idle, &idle);
		bufferevent_enable(c->srv, EV_READ | EV_WRITE);
		bufferevent_enable(c->cli, EV_READ | EV_WRITE);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		fprintf(stderr, "relay: conn %u: %s: %s\n", c->id,
		    bev == c->cli ? "client" : "server",
		    evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	if (what & BEV_EVENT_TIMEOUT)
		fprintf(stderr, "relay: conn %u: %s timed out\n", c->id,
		    bev == c->cli ? "client" : "server");
	if (c->closing) {
		/* The side we were draining to is gone too. */
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		/* Nothing more can be written to a broken side. */
		evbuffer_drain(bufferevent_get_output(bev),
		    evbuffer_get_length(bufferevent_get_output(bev)));
	}
	conn_close(c);
}

static void
relay_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct relay	*r = arg;
	struct conn	*c;
	const struct timeval idle = { RELAY_IDLE_SECS, 0 };
	const struct timeval conn_to = { RELAY_CONNECT_SECS, 0 };

	(void)l;
	(void)sa;
	(void)salen;
	if (r->nconns >= RELAY_CONN_MAX || (c = calloc(1, sizeof(*c))) ==
	    NULL) {
		warnx("connection dropped: %u open, or out of memory",
		    r->nconns);
		evutil_closesocket(fd);
		return;
	}
	c->relay = r;
	c->id = ++r->next_id;
	c->state = ST_PLAIN;
	c->cli = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->srv = bufferevent_socket_new(r->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->cli == NULL || c->srv == NULL)
		errx(1, "bufferevent_socket_new failed");
	TAILQ_INSERT_TAIL(&r->conns, c, entry);
	r->nconns++;
	bufferevent_setcb(c->cli, conn_readcb, conn_writecb, conn_eventcb, c);
	bufferevent_setcb(c->srv, conn_readcb, conn_writecb, conn_eventcb, c);
	bufferevent_setwatermark(c->cli, EV_READ, 0, RELAY_BUF_MAX);
	bufferevent_setwatermark(c->srv, EV_READ, 0, RELAY_BUF_MAX);
	bufferevent_setwatermark(c->cli, EV_WRITE, RELAY_BUF_MAX / 2, 0);
	bufferevent_setwatermark(c->srv, EV_WRITE, RELAY_BUF_MAX / 2, 0);
	bufferevent_set_timeouts(c->cli, &idle, &idle);
	bufferevent_set_timeouts(c->srv, &conn_to, &conn_to);
	bufferevent_disable(c->cli, EV_READ);
	fprintf(stderr, "relay: conn %u: accepted\n", c->id);
	if (bufferevent_socket_connect(c->srv,
	    (struct sockaddr *)&r->server, r->serverlen) == -1) {
		warnx("conn %u: connect failed", c->id);
		conn_free(c);
	}
}

static void
relay_signal(evutil_socket_t sig, short what, void *arg)
{
	struct relay	*r = arg;

	(void)sig;
	(void)what;
	event_base_loopexit(r->base, NULL);
}

int
main(int argc, char *argv[])
{
	struct relay	 r;
	struct sockaddr_storage listen_ss;
	int		 listenlen = sizeof(listen_ss), ch;
	const char	*laddr = NULL, *caddr = NULL, *mode = "pass";
	struct evconnlistener *l;
	struct event	*ev_term, *ev_int;
	struct conn	*c;

	memset(&r, 0, sizeof(r));
	r.proto = &protos[PROTO_SMTP];
	r.serverlen = sizeof(r.server);
	TAILQ_INIT(&r.conns);
	while ((ch = getopt(argc, argv, "c:l:m:p:")) != -1) {
		switch (ch) {
		case 'c':
			caddr = optarg;
			break;
		case 'l':
			laddr = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'p':
			if ((r.proto = find_proto(optarg)) == NULL)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || laddr == NULL || caddr == NULL)
		usage();
	if ((r.mode = find_mode(mode, r.proto)) == NULL)
		errx(2, "no mode %s for %s", mode, r.proto->name);
	if (evutil_parse_sockaddr_port(laddr, (struct sockaddr *)&listen_ss,
	    &listenlen) == -1)
		errx(2, "bad listen address: %s", laddr);
	if (evutil_parse_sockaddr_port(caddr, (struct sockaddr *)&r.server,
	    &r.serverlen) == -1)
		errx(2, "bad server address: %s", caddr);
	signal(SIGPIPE, SIG_IGN);
	if ((r.base = event_base_new()) == NULL)
		errx(1, "event_base_new failed");
	l = evconnlistener_new_bind(r.base, relay_accept, &r,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
	    (struct sockaddr *)&listen_ss, listenlen);
	if (l == NULL)
		err(1, "listen on %s", laddr);
	ev_term = evsignal_new(r.base, SIGTERM, relay_signal, &r);
	ev_int = evsignal_new(r.base, SIGINT, relay_signal, &r);
	if (ev_term == NULL || ev_int == NULL || evsignal_add(ev_term, NULL) ==
	    -1 || evsignal_add(ev_int, NULL) == -1)
		errx(1, "cannot watch signals");
	fprintf(stderr, "relay: listening on %s, relaying %s to %s, mode %s\n",
	    laddr, r.proto->name, caddr, r.mode->name);
	event_base_dispatch(r.base);
	while ((c = TAILQ_FIRST(&r.conns)) != NULL)
		conn_free(c);
	evconnlistener_free(l);
	event_free(ev_term);
	event_free(ev_int);
	event_base_free(r.base);
	return 0;
}
