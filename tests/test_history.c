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
};

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
session(struct fx *fx, uint32_t flags, uint16_t starttls_reply,
    const uint8_t *cert, uint64_t ts)
{
	struct smtp_facts f;
	struct detect_state st;
	struct detect_session out;

	memset(&f, 0, sizeof(f));
	memset(&st, 0, sizeof(st));
	f.flags = SMTP_F_SMTP | SMTP_F_BANNER | flags;
	f.starttls_reply = starttls_reply;
	if (cert != NULL) {
		f.tls.have_cert = 1;
		memcpy(f.tls.cert_sha256, cert, 32);
	}
	detect_update(&fx->d, &st, &f, &fx->t, 1, ts);
	detect_finish(&fx->d, &st, &f, &fx->t, 1, ts, ts + 10, "fin", &out);
	detect_flush(&fx->d);
}

#define OFFERED	(SMTP_F_EHLO | SMTP_F_EHLO_REPLY | SMTP_F_STARTTLS_OFFERED)
#define NO_OFFER (SMTP_F_EHLO | SMTP_F_EHLO_REPLY)
#define TLS_OK	(SMTP_F_STARTTLS_REQUESTED | SMTP_F_STARTTLS_REPLY | \
		    SMTP_F_STARTTLS_ACCEPTED)

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
	struct smtp_facts f;
	struct detect_state st;

	session(fx, OFFERED, 0, NULL, 1000);
	session(fx, SMTP_F_EHLO | SMTP_F_EHLO_REFUSED | SMTP_F_HELO, 0, NULL,
	    2000);
	assert_int_equal(fx->rec.nevents, 1);
	assert_non_null(strstr(fx->rec.ev[0].evidence, "EHLO refused"));
	assert_int_equal(fx->rec.ev[0].severity, DETECT_SEV_HIGH);
	/* HELO alone (reply seen): medium, the client may be old. */
	memset(&f, 0, sizeof(f));
	memset(&st, 0, sizeof(st));
	f.flags = SMTP_F_SMTP | SMTP_F_HELO;
	detect_update(&fx->d, &st, &f, &fx->t, 2, 3000);
	assert_int_equal(fx->rec.nevents, 1);	/* no reply yet */
	f.ehlo_reply = 250;
	detect_update(&fx->d, &st, &f, &fx->t, 2, 3001);
	assert_int_equal(fx->rec.nevents, 2);
	assert_int_equal(fx->rec.ev[1].severity, DETECT_SEV_MEDIUM);
	assert_non_null(strstr(fx->rec.ev[1].evidence, "HELO only"));
}

/* Capabilities never seen (one-sided capture): no judgment, no record. */
static void
test_unknown_is_not_judged(void **state)
{
	struct fx	*fx = *state;

	session(fx, OFFERED, 0, NULL, 1000);
	session(fx, SMTP_F_EHLO, 0, NULL, 2000);
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
	uint32_t	 refused = OFFERED | SMTP_F_STARTTLS_REQUESTED |
	    SMTP_F_STARTTLS_REPLY;

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
	struct smtp_facts f;
	struct detect_state st;
	struct detect_session out;
	int		 i;

	memset(&f, 0, sizeof(f));
	f.flags = SMTP_F_SMTP | OFFERED;
	for (i = 0; i < 5; i++) {
		memset(&st, 0, sizeof(st));
		detect_finish(&fx->d, &st, &f, &fx->t, 1, 1000 + i, 2000 + i,
		    "fin", &out);
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
		assert_non_null(history_get(fx->h, &a, port, port));
	assert_non_null(history_get(fx->h, &a, 1, 100));	/* touch 1 */
	assert_non_null(history_get(fx->h, &a, 9, 101));
	assert_null(history_find(fx->h, &a, 2));
	assert_non_null(history_find(fx->h, &a, 1));
	assert_int_equal(history_get_stats(fx->h)->servers, 8);
	assert_int_equal(history_get_stats(fx->h)->dropped, 1);
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
	char		 path[] = "/tmp/swhistXXXXXX", db[64], err[256], aux[80];
	uint8_t		 cert[32];
	int		 fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	snprintf(db, sizeof(db), "%s.db", path);
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
	srv = history_find(h2, &fx->t.server, 25);
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
	unlink(db);
	snprintf(aux, sizeof(aux), "%s-wal", db);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", db);
	unlink(aux);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vanished_after_offer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanished_shapes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_is_not_judged,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_threshold, setup,
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
