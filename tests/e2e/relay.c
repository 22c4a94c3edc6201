/*
 * relay.c: the middlebox of the live end-to-end test, a TCP relay that
 * passes SMTP through untouched, or masks STARTTLS the way a Cisco ASA
 * (the server's capability) or a meddling ISP (the client's command) does.
 *
 *	relay -m pass|asa|isp -l ADDR:PORT -c ADDR:PORT
 *
 * Each accepted connection gets its own connection to the -c address.
 * Until the server answers 220 to a STARTTLS, bytes are handled line by
 * line (bounded) so a rewrite works on lines split across reads; from then
 * on, both directions are copied untouched, so nothing inside TLS is ever
 * rewritten. SIGTERM or SIGINT closes everything and exits 0.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <err.h>
#include <signal.h>
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
 * at most 512 octets and text lines 1000 (RFC 5321 4.5.3.1); a longer
 * line is passed on in pieces of this size, untouched.
 */
#define RELAY_LINE_MAX		4096
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

enum relay_mode {
	MODE_PASS,		/* copy everything */
	MODE_ASA,		/* 250-STARTTLS -> 250-XXXXXXXA */
	MODE_ISP		/* STARTTLS -> XXXXXXXX */
};

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

struct relay;

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct relay	*relay;
	unsigned int	 id;		/* for the log */
	struct bufferevent *cli;	/* accepted from the client */
	struct bufferevent *srv;	/* our connection to the server */
	enum conn_state	 state;
	int		 midline[2];	/* inside an overlong line, per
					   direction: pass on to its LF */
	int		 in_body;	/* after a 354: message text, whose
					   lines are not commands */
	int		 closing;	/* one side gone: drain, then free */
};

TAILQ_HEAD(conn_list, conn);

struct relay {
	struct event_base *base;
	enum relay_mode	 mode;
	struct sockaddr_storage server;	/* where to connect */
	int		 serverlen;
	struct conn_list conns;
	unsigned int	 nconns;
	unsigned int	 next_id;
};

static const char *const mode_names[] = { "pass", "asa", "isp" };

static void	 usage(void) __attribute__((noreturn));
static int	 parse_mode(const char *, enum relay_mode *);
static int	 line_is_starttls_cmd(const char *, size_t);
static int	 line_is_starttls_cap(const char *, size_t);
static int	 line_is_cmd(const char *, size_t, const char *);
static int	 line_is_final_reply(const char *, size_t);
static size_t	 line_content_len(const char *, size_t);
static void	 conn_client_line(struct conn *, char *, size_t);
static void	 conn_server_line(struct conn *, char *, size_t);
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

static void
usage(void)
{
	fprintf(stderr, "usage: relay -m pass|asa|isp -l ADDR:PORT "
	    "-c ADDR:PORT\n");
	exit(2);
}

static int
parse_mode(const char *s, enum relay_mode *mode)
{
	size_t	 i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*mode = (enum relay_mode)i;
			return 0;
		}
	}
	return -1;
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

static int
line_is_starttls_cmd(const char *line, size_t len)
{
	return line_is_cmd(line, len, "STARTTLS");
}

/* "250-STARTTLS" or "250 STARTTLS", as an EHLO reply line. */
static int
line_is_starttls_cap(const char *line, size_t len)
{
	if (len < 4 || strncmp(line, "250", 3) != 0 ||
	    (line[3] != '-' && line[3] != ' '))
		return 0;
	return line_is_starttls_cmd(line + 4, len - 4);
}

/* A reply's last line: three digits, then a space or nothing. */
static int
line_is_final_reply(const char *line, size_t len)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9')
		return 0;
	return len == 3 || line[3] == ' ';
}

static void
conn_client_line(struct conn *c, char *line, size_t len)
{
	size_t	 n = line_content_len(line, len);

	if (c->in_body) {
		if (n == 1 && line[0] == '.')
			c->in_body = 0;
		return;
	}
	if (!line_is_starttls_cmd(line, n))
		return;
	if (c->relay->mode == MODE_ISP) {
		memcpy(line, "XXXXXXXX", 8);
		fprintf(stderr, "relay: conn %u: masked STARTTLS command\n",
		    c->id);
		return;
	}
	c->state = ST_STARTTLS;
}

static void
conn_server_line(struct conn *c, char *line, size_t len)
{
	size_t	 n = line_content_len(line, len);

	if (c->relay->mode == MODE_ASA && line_is_starttls_cap(line, n)) {
		memcpy(line + 4, "XXXXXXXA", 8);
		fprintf(stderr, "relay: conn %u: masked STARTTLS capability\n",
		    c->id);
	}
	if (!line_is_final_reply(line, n))
		return;
	if (strncmp(line, "354", 3) == 0)
		c->in_body = 1;
	if (c->state != ST_STARTTLS)
		return;
	if (strncmp(line, "220", 3) == 0) {
		c->state = ST_COPY;
		fprintf(stderr, "relay: conn %u: TLS starts, copying\n",
		    c->id);
	} else
		c->state = ST_PLAIN;
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
 * mode says. Stops at a partial line (more bytes will come), when the
 * client has asked for STARTTLS (its bytes wait), or when TLS starts.
 */
static void
conn_pump_lines(struct conn *c, enum conn_dir dir)
{
	struct bufferevent *from = dir == DIR_C2S ? c->cli : c->srv;
	struct bufferevent *to = dir == DIR_C2S ? c->srv : c->cli;
	struct evbuffer	*in = bufferevent_get_input(from);
	struct evbuffer_ptr eol;
	char		 line[RELAY_LINE_MAX];
	size_t		 avail, len;

	while (c->state == ST_PLAIN ||
	    (c->state == ST_STARTTLS && dir == DIR_S2C)) {
		if ((avail = evbuffer_get_length(in)) == 0)
			return;
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
			conn_client_line(c, line, len);
		else
			conn_server_line(c, line, len);
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
	const char	*laddr = NULL, *caddr = NULL;
	struct evconnlistener *l;
	struct event	*ev_term, *ev_int;
	struct conn	*c;

	memset(&r, 0, sizeof(r));
	r.mode = MODE_PASS;
	r.serverlen = sizeof(r.server);
	TAILQ_INIT(&r.conns);
	while ((ch = getopt(argc, argv, "c:l:m:")) != -1) {
		switch (ch) {
		case 'c':
			caddr = optarg;
			break;
		case 'l':
			laddr = optarg;
			break;
		case 'm':
			if (parse_mode(optarg, &r.mode) == -1)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || laddr == NULL || caddr == NULL)
		usage();
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
	fprintf(stderr, "relay: listening on %s, relaying to %s, mode %s\n",
	    laddr, caddr, mode_names[r.mode]);
	event_base_dispatch(r.base);
	while ((c = TAILQ_FIRST(&r.conns)) != NULL)
		conn_free(c);
	evconnlistener_free(l);
	event_free(ev_term);
	event_free(ev_int);
	event_base_free(r.base);
	return 0;
}
