/*
 * test_history.c: server history and the judgments built on it:
 * starttls_vanished (and its three shapes), certificate_changed, the raised
 * severity of a refusal, bounded memory, and the round trip through the
 * servers table that makes it survive a restart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect.h"
#include "history.h"
#include "store.h"
#include "testutil.h"

struct rec {
	int		 nevents;
	struct detect_event ev[16];
	int		 nservers;
	struct history_server last;
	const char	*last_outcome;	/* of the last session finished */
};

static void
rec_session(void *arg, const struct detect_session *s)
{
	struct rec	*r = arg;

	r->last_outcome = s->outcome;
}

static void
rec_event(void *arg, const struct detect_event *ev)
{
	struct rec	*r = arg;

	if (r->nevents < 16)
		r->ev[r->nevents] = *ev;
	r->nevents++;
}

static void
rec_server(void *arg, const struct history_server *srv)
{
	struct rec	*r = arg;

	r->last = *srv;
	r->nservers++;
}

struct fx {
	struct rec	 rec;
	struct detect_sink sink;
	struct history	*h;
	struct detect	 d;
	struct flow_tuple t;
};

static int
setup(void **state)
{
	static struct fx fx;
	struct history_config hc = { 8, 1, { 1, 2 } };

	memset(&fx, 0, sizeof(fx));
	fx.sink.event = rec_event;
	fx.sink.server = rec_server;
	fx.sink.session = rec_session;
	fx.sink.arg = &fx.rec;
	fx.h = history_new(&hc);
	assert_non_null(fx.h);
	detect_init(&fx.d, &fx.sink, 1, fx.h);
	fx.t.client.family = fx.t.server.family = 4;
	inet_pton(AF_INET, "198.51.100.7", fx.t.client.bytes);
	inet_pton(AF_INET, "192.0.2.25", fx.t.server.bytes);
	fx.t.client_port = 51000;
	fx.t.server_port = 25;
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	history_free(fx->h);
	return 0;
}

/* One whole session with these facts: update at every step, finish. */
static void
session_in(struct detect *d, const struct flow_tuple *t, uint32_t flags,
    uint16_t starttls_reply, const uint8_t *cert, uint64_t ts)
{
	struct mail_facts f;
	struct detect_state st;
	struct detect_session out;

	memset(&f, 0, sizeof(f));
	memset(&st, 0, sizeof(st));
	f.flags = MAIL_F_PROTO | MAIL_F_GREETING | flags;
	f.starttls_reply = starttls_reply;
	if (cert != NULL) {
		f.tls.have_cert = 1;
		memcpy(f.tls.cert_sha256, cert, 32);
	}
	detect_update(d, &st, &f, t, 1, ts);
	detect_finish(d, &st, &f, t, 1, ts, ts + 10, "fin", NULL, &out);
	detect_flush(d);
}

static void
session(struct fx *fx, uint32_t flags, uint16_t starttls_reply,
    const uint8_t *cert, uint64_t ts)
{
	session_in(&fx->d, &fx->t, flags, starttls_reply, cert, ts);
}

#define OFFERED	(MAIL_F_EHLO | MAIL_F_CAPS | MAIL_F_STARTTLS_OFFERED)
#define NO_OFFER (MAIL_F_EHLO | MAIL_F_CAPS)
#define TLS_OK	(MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY | \
		    MAIL_F_STARTTLS_ACCEPTED)

static int
count_kind(const struct rec *r, enum detect_kind k)
{
	int	 i, n = 0;

	for (i = 0; i < r->nevents && i < 16; i++)
		n += r->ev[i].kind == k;
	return n;
}

static void
test_vanished_after_offer(void **state)
{
	struct fx	*fx = *state;

	session(fx, NO_OFFER, 0, NULL, 1000);	/* never offered: quiet */
	assert_int_equal(fx->rec.nevents, 0);
	session(fx, OFFERED, 0, NULL, 2000);
	assert_int_equal(fx->rec.nevents, 0);
	assert_int_equal(fx->rec.last.offered, 1);
	assert_int_equal(fx->rec.last.sessions, 2);
	session(fx, NO_OFFER, 0, NULL, 3000);
	assert_int_equal(count_kind(&fx->rec, DETECT_STARTTLS_VANISHED), 1);
	assert_int_equal(fx->rec.ev[0].severity, DETECT_SEV_HIGH);
	assert_non_null(strstr(fx->rec.ev[0].evidence,
	    "no STARTTLS in the EHLO reply"));
	assert_non_null(strstr(fx->rec.ev[0].evidence, "offered in 1 of 2"));
	/* Another server on the same address is another server. */
	fx->t.server_port = 587;
	session(fx, NO_OFFER, 0, NULL, 4000);
	assert_int_equal(count_kind(&fx->rec, DETECT_STARTTLS_VANISHED), 1);
}

static void
test_vanished_shapes(void **state)
{
	struct fx	*fx = *state;
	struct mail_facts f;
	struct detect_state st;

	session(fx, OFFERED, 0, NULL, 1000);
	session(fx, MAIL_F_EHLO | MAIL_F_CAPS_REFUSED | MAIL_F_HELO, 0, NULL,
	    2000);
	assert_int_equal(fx->rec.nevents, 1);
	assert_non_null(strstr(fx->rec.ev[0].evidence, "EHLO refused"));
	assert_int_equal(fx->rec.ev[0].severity, DETECT_SEV_HIGH);
	/* HELO alone (reply seen): medium, the client may be old. */
	memset(&f, 0, sizeof(f));
	memset(&st, 0, sizeof(st));
	f.flags = MAIL_F_PROTO | MAIL_F_HELO;
	detect_update(&fx->d, &st, &f, &fx->t, 2, 3000);
	assert_int_equal(fx->rec.nevents, 1);	/* no reply yet */
	f.ehlo_reply = 250;
	detect_update(&fx->d, &st, &f, &fx->t, 2, 3001);
	assert_int_equal(fx->rec.nevents, 2);
	assert_int_equal(fx->rec.ev[1].severity, DETECT_SEV_MEDIUM);
	assert_non_null(strstr(fx->rec.ev[1].evidence, "HELO only"));
}

/*
 * 421 as the EHLO reply or the greeting is the server closing, not a
 * downgrade: no starttls_vanished, and the session does not dilute the
 * server's record.
 */
static void
test_closing_is_not_judged(void **state)
{
	struct fx	*fx = *state;
	struct mail_facts f;
	struct detect_state st;
	struct detect_session out;

	session(fx, OFFERED, 0, NULL, 1000);
	session(fx, MAIL_F_EHLO | MAIL_F_CAPS | MAIL_F_CAPS_REFUSED |
	    MAIL_F_CLOSING, 0, NULL, 2000);
	session(fx, MAIL_F_CLOSING, 0, NULL, 3000);
	assert_int_equal(fx->rec.nevents, 0);
	assert_int_equal(fx->rec.last.sessions, 1);
	/* Its outcome: the session ended before any capability. */
	memset(&f, 0, sizeof(f));
	memset(&st, 0, sizeof(st));
	f.flags = MAIL_F_PROTO | MAIL_F_GREETING | MAIL_F_EHLO |
	    MAIL_F_CAPS | MAIL_F_CAPS_REFUSED | MAIL_F_CLOSING;
	f.ehlo_reply = 421;
	detect_finish(&fx->d, &st, &f, &fx->t, 9, 4000, 4010,
	    "fin", NULL, &out);
	assert_string_equal(out.outcome, DETECT_OUTCOME_INCOMPLETE);
	/* Any other refusal of EHLO still counts (the next test too). */
	session(fx, MAIL_F_EHLO | MAIL_F_CAPS | MAIL_F_CAPS_REFUSED,
	    0, NULL, 5000);
	assert_int_equal(count_kind(&fx->rec, DETECT_STARTTLS_VANISHED), 1);
}

/*
 * One alert per tampered session: a masked capability explains the
 * missing offer, so starttls_vanished stays quiet and the history goes
 * into capability_masked's evidence; a refusal quotes it too.
 */
static void
test_one_alert_per_tampered_session(void **state)
{
	struct fx	*fx = *state;
	struct mail_facts f;
	struct detect_state st;
	struct detect_session out;

	session(fx, OFFERED | TLS_OK, 220, NULL, 1000);
	session(fx, OFFERED, 0, NULL, 2000);
	memset(&f, 0, sizeof(f));
	memset(&st, 0, sizeof(st));
	f.flags = MAIL_F_PROTO | MAIL_F_GREETING | NO_OFFER | MAIL_F_CAP_MASKED;
	text_field_set(&f.cap_masked, (const uint8_t *)"250-XXXXXXXA", 12);
	detect_update(&fx->d, &st, &f, &fx->t, 3, 3000);
	detect_finish(&fx->d, &st, &f, &fx->t, 3, 3000, 3010,
	    "fin", NULL, &out);
	assert_int_equal(fx->rec.nevents, 1);
	assert_int_equal(fx->rec.ev[0].kind, DETECT_CAPABILITY_MASKED);
	assert_non_null(strstr(fx->rec.ev[0].evidence,
	    "250-XXXXXXXA; offered in 2 of 2 earlier sessions, last "));
	assert_string_equal(out.outcome, DETECT_OUTCOME_STRIPPED);
	mail_facts_free(&f);
	/* A refusal by a server that offers: its line, then the history. */
	session(fx, OFFERED | MAIL_F_STARTTLS_REQUESTED |
	    MAIL_F_STARTTLS_REPLY, 454, NULL, 4000);
	assert_int_equal(fx->rec.nevents, 2);
	assert_int_equal(fx->rec.ev[1].kind, DETECT_STARTTLS_REFUSED);
	assert_non_null(strstr(fx->rec.ev[1].evidence, "; offered in 2 of 3"));
	/* The silent strip itself still raises starttls_vanished. */
	session(fx, NO_OFFER, 0, NULL, 5000);
	assert_int_equal(count_kind(&fx->rec, DETECT_STARTTLS_VANISHED), 1);
}

/* A session of protocol proto with these facts, cred_user set. */
static void
cred_session(struct fx *fx, enum mail_proto proto, uint32_t flags,
    uint64_t ts)
{
	struct mail_facts f;
	struct detect_state st;
	struct detect_session out;

	memset(&f, 0, sizeof(f));
	memset(&st, 0, sizeof(st));
	f.proto = proto;
	f.flags = MAIL_F_PROTO | MAIL_F_GREETING | flags;
	snprintf(f.cred_mech, sizeof(f.cred_mech), "LOGIN");
	text_field_set(&f.cred_user, (const uint8_t *)"bob\x1b[2J\"", 8);
	text_field_set(&f.banner, (const uint8_t *)"[CAPABILITY IMAP4rev1] hi",
	    25);
	detect_update(&fx->d, &st, &f, &fx->t, 5, ts);
	detect_finish(&fx->d, &st, &f, &fx->t, 5, ts, ts + 10,
	    "fin", NULL, &out);
	detect_flush(&fx->d);
	mail_facts_free(&f);
}

/*
 * cleartext_credentials: medium when nothing protected the client, high
 * when STARTTLS was offered (here or before) or LOGINDISABLED said no;
 * the user name escaped, the protocol and how in the evidence.
 */
static void
test_cleartext_credentials(void **state)
{
	struct fx	*fx = *state;

	fx->t.server_port = 143;
	cred_session(fx, MAIL_PROTO_IMAP, MAIL_F_CREDENTIALS, 1000);
	assert_int_equal(fx->rec.nevents, 1);
	assert_int_equal(fx->rec.ev[0].kind, DETECT_CLEARTEXT_CREDENTIALS);
	assert_int_equal(fx->rec.ev[0].severity, DETECT_SEV_MEDIUM);
	assert_string_equal(fx->rec.ev[0].evidence,
	    "imap LOGIN user=bob\\x1b[2J\\\"");
	cred_session(fx, MAIL_PROTO_IMAP, MAIL_F_CREDENTIALS |
	    MAIL_F_LOGINDISABLED, 2000);
	assert_int_equal(fx->rec.ev[1].severity, DETECT_SEV_HIGH);
	assert_non_null(strstr(fx->rec.ev[1].evidence, "; LOGINDISABLED"));
	cred_session(fx, MAIL_PROTO_IMAP, MAIL_F_CREDENTIALS | MAIL_F_CAPS |
	    MAIL_F_STARTTLS_OFFERED, 3000);
	assert_int_equal(fx->rec.ev[2].severity, DETECT_SEV_HIGH);
	/* The offer is gone now, but the history remembers it: high, and
	 * starttls_vanished too (two findings: the strip and the leak). */
	cred_session(fx, MAIL_PROTO_IMAP, MAIL_F_CREDENTIALS | MAIL_F_CAPS,
	    4000);
	assert_int_equal(fx->rec.nevents, 5);
	assert_int_equal(count_kind(&fx->rec, DETECT_STARTTLS_VANISHED), 1);
	assert_int_equal(fx->rec.ev[4].kind, DETECT_CLEARTEXT_CREDENTIALS);
	assert_int_equal(fx->rec.ev[4].severity, DETECT_SEV_HIGH);
	assert_non_null(strstr(fx->rec.ev[4].evidence, "offered in 1 of"));
}

/* preauth_greeting: high (and the session stripped) when the server
 * offered STARTTLS before, medium without such a history. */
static void
test_preauth_greeting(void **state)
{
	struct fx	*fx = *state;

	fx->t.server_port = 143;
	cred_session(fx, MAIL_PROTO_IMAP, MAIL_F_PREAUTH, 1000);
	assert_int_equal(fx->rec.nevents, 1);
	assert_int_equal(fx->rec.ev[0].kind, DETECT_PREAUTH_GREETING);
	assert_int_equal(fx->rec.ev[0].severity, DETECT_SEV_MEDIUM);
	assert_string_equal(fx->rec.ev[0].evidence,
	    "[CAPABILITY IMAP4rev1] hi");
	cred_session(fx, MAIL_PROTO_IMAP, MAIL_F_CAPS |
	    MAIL_F_STARTTLS_OFFERED, 2000);
	cred_session(fx, MAIL_PROTO_IMAP, MAIL_F_PREAUTH, 3000);
	assert_int_equal(fx->rec.nevents, 2);
	assert_int_equal(fx->rec.ev[1].severity, DETECT_SEV_HIGH);
	assert_non_null(strstr(fx->rec.ev[1].evidence, "; offered in 1 of"));
	assert_string_equal(fx->rec.last_outcome, DETECT_OUTCOME_STRIPPED);
}

/* Capabilities never seen (one-sided capture): no judgment, no record. */
static void
test_unknown_is_not_judged(void **state)
{
	struct fx	*fx = *state;

	session(fx, OFFERED, 0, NULL, 1000);
	session(fx, MAIL_F_EHLO, 0, NULL, 2000);
	assert_int_equal(fx->rec.nevents, 0);
	assert_int_equal(fx->rec.nservers, 1);
}

static void
test_threshold(void **state)
{
	struct fx	*fx = *state;
	struct history_config hc = { 8, 3, { 1, 2 } };

	history_free(fx->h);
	fx->h = history_new(&hc);
	detect_init(&fx->d, &fx->sink, 1, fx->h);
	session(fx, OFFERED, 0, NULL, 1000);
	session(fx, OFFERED, 0, NULL, 2000);
	session(fx, NO_OFFER, 0, NULL, 3000);
	assert_int_equal(fx->rec.nevents, 0);	/* 2 < 3 */
	session(fx, OFFERED, 0, NULL, 4000);
	session(fx, NO_OFFER, 0, NULL, 5000);
	assert_int_equal(count_kind(&fx->rec, DETECT_STARTTLS_VANISHED), 1);
}

/* A reload raises the threshold of the running history. */
static void
test_set_limits(void **state)
{
	struct fx	*fx = *state;
	struct history_config hc = { 1, 2, { 0, 0 } };

	history_set_limits(fx->h, &hc);
	assert_int_equal(history_get_config(fx->h)->vanished_after, 2);
	assert_int_not_equal(history_get_config(fx->h)->max_servers, 1);
	session(fx, OFFERED, 0, NULL, 1000);
	session(fx, NO_OFFER, 0, NULL, 2000);
	assert_int_equal(fx->rec.nevents, 0);	/* 1 < 2 */
	session(fx, OFFERED, 0, NULL, 3000);
	session(fx, NO_OFFER, 0, NULL, 4000);
	assert_int_equal(count_kind(&fx->rec, DETECT_STARTTLS_VANISHED), 1);
}

static void
test_certificate_changed(void **state)
{
	struct fx	*fx = *state;
	uint8_t		 a[32], b[32];

	memset(a, 0x11, 32);
	memset(b, 0x22, 32);
	session(fx, OFFERED | TLS_OK, 220, a, 1000);
	session(fx, OFFERED | TLS_OK, 220, a, 2000);
	assert_int_equal(fx->rec.nevents, 0);
	session(fx, OFFERED | TLS_OK, 220, b, 3000);
	assert_int_equal(count_kind(&fx->rec, DETECT_CERTIFICATE_CHANGED), 1);
	assert_non_null(strstr(fx->rec.ev[0].evidence,
	    "was 1111111111111111111111111111111111111111111111111111111111111111"));
	assert_non_null(strstr(fx->rec.ev[0].evidence, "now 2222"));
	/* The new one is now the known one. */
	session(fx, OFFERED | TLS_OK, 220, b, 4000);
	assert_int_equal(fx->rec.nevents, 1);
	assert_int_equal(fx->rec.last.accepted, 4);
}

static void
test_refused_severity(void **state)
{
	struct fx	*fx = *state;
	uint32_t	 refused = OFFERED | MAIL_F_STARTTLS_REQUESTED |
	    MAIL_F_STARTTLS_REPLY;

	session(fx, refused, 454, NULL, 1000);
	assert_int_equal(fx->rec.ev[0].kind, DETECT_STARTTLS_REFUSED);
	assert_int_equal(fx->rec.ev[0].severity, DETECT_SEV_MEDIUM);
	session(fx, OFFERED | TLS_OK, 220, NULL, 2000);
	session(fx, refused, 454, NULL, 3000);
	assert_int_equal(fx->rec.nevents, 2);
	assert_int_equal(fx->rec.ev[1].severity, DETECT_SEV_HIGH);
}

/* Many sessions of one server between flushes: one record handed over. */
static void
test_one_row_per_flush(void **state)
{
	struct fx	*fx = *state;
	struct mail_facts f;
	struct detect_state st;
	struct detect_session out;
	int		 i;

	memset(&f, 0, sizeof(f));
	f.flags = MAIL_F_PROTO | OFFERED;
	for (i = 0; i < 5; i++) {
		memset(&st, 0, sizeof(st));
		detect_finish(&fx->d, &st, &f, &fx->t, 1, 1000 + i, 2000 + i,
		    "fin", NULL, &out);
	}
	assert_int_equal(fx->rec.nservers, 0);
	assert_int_equal(history_get_stats(fx->h)->dirty, 1);
	detect_flush(&fx->d);
	assert_int_equal(fx->rec.nservers, 1);
	assert_int_equal(fx->rec.last.sessions, 5);
	assert_int_equal(fx->rec.last.offered, 5);
	detect_flush(&fx->d);
	assert_int_equal(fx->rec.nservers, 1);
	assert_int_equal(history_get_stats(fx->h)->dirty, 0);
}

/* Full: the least recently seen server is forgotten. */
static void
test_bounded(void **state)
{
	struct fx	*fx = *state;
	struct decode_addr a;
	uint16_t	 port;

	(void)fx;
	memset(&a, 0, sizeof(a));
	a.family = 4;
	for (port = 1; port <= 8; port++)
		assert_non_null(history_get(fx->h, &a, port, 0, port));
	assert_non_null(history_get(fx->h, &a, 1, 0, 100));	/* touch 1 */
	assert_non_null(history_get(fx->h, &a, 9, 0, 101));
	assert_null(history_find(fx->h, &a, 2, 0));
	assert_non_null(history_find(fx->h, &a, 1, 0));
	assert_int_equal(history_get_stats(fx->h)->servers, 8);
	assert_int_equal(history_get_stats(fx->h)->dropped, 1);
}

/* A database path in /tmp; rmdb() removes it with its WAL files. */
static void
tmpdb(char *db, size_t len)
{
	char	 path[] = "/tmp/swhistXXXXXX";
	int	 fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	snprintf(db, len, "%s.db", path);
}

static void
rmdb(const char *db)
{
	char	 aux[80];

	unlink(db);
	snprintf(aux, sizeof(aux), "%s-wal", db);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", db);
	unlink(aux);
}

/* The servers table as a new process would load it. */
static struct history *
reload(const char *db, uint32_t max)
{
	struct store_config sc = { .queue_memcap = 1 << 20, .queue_max = 1000,
	    .busy_timeout_ms = 100 };
	struct history_config hc = { 8, 1, { 5, 6 } };
	struct history	*h;
	struct store	*st;
	char		 err[256];

	hc.max_servers = max;
	h = history_new(&hc);
	assert_non_null(h);
	st = store_open(db, &sc, err, sizeof(err));
	assert_non_null(st);
	assert_true(store_load_servers(st, max,
	    (void (*)(void *, const struct history_server *))history_load,
	    h) >= 0);
	store_close(st);
	return h;
}

/* One process of several: its history, its detector, its store; events
 * are also recorded in the fixture. */
struct worker {
	struct history	*h;
	struct detect	 d;
	struct store	*st;
	struct detect_sink sinks[2];
};

static void
worker_open(struct fx *fx, struct worker *w, const char *db,
    uint32_t max_servers)
{
	struct store_config sc = { .queue_memcap = 1 << 20, .queue_max = 1000,
	    .busy_timeout_ms = 2000 };
	struct history_config hc = { 8, 1, { 7, 8 } };
	char		 err[256];

	hc.max_servers = max_servers;
	w->h = history_new(&hc);
	assert_non_null(w->h);
	w->st = store_open(db, &sc, err, sizeof(err));
	assert_non_null(w->st);
	w->sinks[0] = fx->sink;
	store_sink(w->st, &w->sinks[1]);
	detect_init(&w->d, w->sinks, 2, w->h);
}

static void
worker_close(struct worker *w)
{
	store_close(w->st);
	history_free(w->h);
}

/* One session of the fixture's server in worker w, then a flush. */
static void
worker_session(struct fx *fx, struct worker *w, uint32_t flags,
    const uint8_t *cert, uint64_t ts)
{
	session_in(&w->d, &fx->t, flags, flags & MAIL_F_STARTTLS_ACCEPTED ?
	    220 : 0, cert, ts);
	assert_int_equal(store_flush(w->st), 0);
}

/*
 * Two workers see one server (a fallback path of the fanout, or a restart
 * under another key): the servers row holds the sessions of both, the
 * widest times and the certificate seen last, and a process that loads
 * it goes on from there.
 */
static void
test_workers_add_up(void **state)
{
	struct fx	*fx = *state;
	struct worker	 a, b;
	struct history	*h;
	const struct history_server *srv;
	char		 db[64];
	uint8_t		 ca[32], cb[32];
	uint64_t	 t = 1700000000000000ULL;

	memset(ca, 0xaa, sizeof(ca));
	memset(cb, 0xbb, sizeof(cb));
	tmpdb(db, sizeof(db));
	worker_open(fx, &a, db, 8);
	worker_open(fx, &b, db, 8);
	worker_session(fx, &a, OFFERED | TLS_OK, ca, t + 1000);
	worker_session(fx, &a, OFFERED | TLS_OK, ca, t + 2000);
	worker_session(fx, &b, OFFERED | TLS_OK, cb, t + 3000);
	worker_session(fx, &b, NO_OFFER, NULL, t + 4000);
	worker_session(fx, &a, OFFERED, NULL, t + 5000);
	worker_close(&a);
	worker_close(&b);
	/* b's history saw the offer at 3000 only, a's never a missing one. */
	assert_int_equal(count_kind(&fx->rec, DETECT_STARTTLS_VANISHED), 1);

	h = reload(db, 8);
	srv = history_find(h, &fx->t.server, 25, 0);
	assert_non_null(srv);
	assert_int_equal(srv->sessions, 5);
	assert_int_equal(srv->offered, 4);
	assert_int_equal(srv->accepted, 3);
	assert_true(srv->first_us == t + 1000);
	assert_true(srv->last_us == t + 5010);
	assert_true(srv->last_offered_us == t + 5010);
	assert_int_equal(srv->have_cert, 1);
	assert_memory_equal(srv->cert_sha256, cb, 32);	/* the later one */
	history_free(h);

	/* A new process adds to the loaded row, not the loaded row again. */
	worker_open(fx, &a, db, 8);
	assert_int_equal(store_load_servers(a.st, 8,
	    (void (*)(void *, const struct history_server *))history_load,
	    a.h), 1);
	worker_session(fx, &a, NO_OFFER, NULL, t + 6000);
	assert_int_equal(count_kind(&fx->rec, DETECT_STARTTLS_VANISHED), 2);
	worker_close(&a);
	h = reload(db, 8);
	srv = history_find(h, &fx->t.server, 25, 0);
	assert_non_null(srv);
	assert_int_equal(srv->sessions, 6);
	assert_int_equal(srv->offered, 4);
	assert_memory_equal(srv->cert_sha256, cb, 32);
	history_free(h);
	rmdb(db);
}

/* Forgotten from memory (history_max_servers) and seen again: the
 * database keeps the sessions it had. */
static void
test_forgotten_server_keeps_counts(void **state)
{
	struct fx	*fx = *state;
	struct worker	 w;
	struct history	*h;
	const struct history_server *srv;
	char		 db[64];

	tmpdb(db, sizeof(db));
	worker_open(fx, &w, db, 1);
	worker_session(fx, &w, OFFERED, NULL, 1000);
	worker_session(fx, &w, OFFERED, NULL, 2000);
	fx->t.server_port = 587;		/* another server: 25 forgotten */
	worker_session(fx, &w, OFFERED, NULL, 3000);
	assert_int_equal(history_get_stats(w.h)->dropped, 1);
	fx->t.server_port = 25;
	worker_session(fx, &w, NO_OFFER, NULL, 4000);
	worker_close(&w);
	h = reload(db, 8);
	srv = history_find(h, &fx->t.server, 25, 0);
	assert_non_null(srv);
	assert_int_equal(srv->sessions, 3);
	assert_int_equal(srv->offered, 2);
	history_free(h);
	rmdb(db);
}

/* Written by one run, read by the next: the restart keeps the verdict. */
static void
test_survives_restart(void **state)
{
	struct fx	*fx = *state;
	struct store_config sc = { .queue_memcap = 1 << 20, .queue_max = 1000,
	    .busy_timeout_ms = 100 };
	struct detect_sink sinks[2];
	struct history_config hc = { 8, 1, { 3, 4 } };
	struct history	*h2;
	const struct history_server *srv;
	struct store	*st;
	char		 db[64], err[256];
	uint8_t		 cert[32];

	tmpdb(db, sizeof(db));
	st = store_open(db, &sc, err, sizeof(err));
	assert_non_null(st);
	sinks[0] = fx->sink;
	store_sink(st, &sinks[1]);
	detect_init(&fx->d, sinks, 2, fx->h);
	memset(cert, 0x5c, sizeof(cert));
	session(fx, OFFERED | TLS_OK, 220, cert, 1700000000000000ULL);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_get_stats(st)->server_rows, 1);
	store_close(st);

	/* A new process: new history, loaded from the database. */
	h2 = history_new(&hc);
	st = store_open(db, &sc, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_load_servers(st, 8,
	    (void (*)(void *, const struct history_server *))history_load,
	    h2), 1);
	srv = history_find(h2, &fx->t.server, 25, 0);
	assert_non_null(srv);
	assert_int_equal(srv->sessions, 1);
	assert_int_equal(srv->offered, 1);
	assert_int_equal(srv->accepted, 1);
	assert_int_equal(srv->have_cert, 1);
	assert_memory_equal(srv->cert_sha256, cert, 32);
	assert_true(srv->last_offered_us == 1700000000000010ULL);
	assert_true(srv->first_us == 1700000000000000ULL);
	store_close(st);
	history_free(fx->h);
	fx->h = h2;
	detect_init(&fx->d, &fx->sink, 1, fx->h);
	session(fx, NO_OFFER, 0, NULL, 1700000100000000ULL);
	assert_int_equal(count_kind(&fx->rec, DETECT_STARTTLS_VANISHED), 1);
	rmdb(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vanished_after_offer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_closing_is_not_judged,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_one_alert_per_tampered_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleartext_credentials,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_preauth_greeting, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_vanished_shapes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_is_not_judged,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_threshold, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_set_limits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_certificate_changed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_severity, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_row_per_flush, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_survives_restart, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_workers_add_up, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_forgotten_server_keeps_counts,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
