/*
 * test_detect.c: the stripping policy on hand-made facts: each kind fires
 * on its condition only, once per session, with escaped evidence; the
 * outcome of a session follows from its facts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "detect.h"
#include "testutil.h"

struct rec {
	int		 nevents;
	struct detect_event ev[16];
	int		 nsessions;
	struct detect_session s;
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
rec_session(void *arg, const struct detect_session *s)
{
	struct rec	*r = arg;

	r->s = *s;
	r->nsessions++;
}

struct fixture {
	struct rec	 rec;
	struct detect_sink sink;
	struct detect	 d;
	struct detect_state st;
	struct mail_facts f;
	struct flow_tuple t;
	struct detect_session out;
};

static int
setup(void **state)
{
	static struct fixture fx;

	mail_facts_free(&fx.f);		/* the last test's texts */
	memset(&fx, 0, sizeof(fx));
	fx.sink.event = rec_event;
	fx.sink.session = rec_session;
	fx.sink.arg = &fx.rec;
	detect_init(&fx.d, &fx.sink, 1, NULL);
	fx.t.client.family = fx.t.server.family = 4;
	inet_pton(AF_INET, "198.51.100.7", fx.t.client.bytes);
	inet_pton(AF_INET, "192.0.2.25", fx.t.server.bytes);
	fx.t.client_port = 51000;
	fx.t.server_port = 25;
	fx.f.flags = MAIL_F_PROTO | MAIL_F_GREETING | MAIL_F_EHLO;
	*state = &fx;
	return 0;
}

static void
text(struct text_field *t, const char *s)
{
	text_field_set(t, (const uint8_t *)s, strlen(s));
}

static void
update(struct fixture *fx, uint64_t ts)
{
	detect_update(&fx->d, &fx->st, &fx->f, &fx->t, 7, ts);
}

static void
finish(struct fixture *fx)
{
	detect_finish(&fx->d, &fx->st, &fx->f, &fx->t, 7, 100, 200, "fin",
	    NULL, &fx->out);
}

/* A masked keyword alone is not enough: the reply must lack STARTTLS and
 * be complete. */
static void
test_capability_masked(void **state)
{
	struct fixture	*fx = *state;

	fx->f.flags |= MAIL_F_CAP_MASKED;
	text(&fx->f.cap_masked, "250-XXXXXXXA");
	update(fx, 10);
	assert_int_equal(fx->rec.nevents, 0);	/* reply not complete */
	fx->f.flags |= MAIL_F_CAPS;
	update(fx, 11);
	assert_int_equal(fx->rec.nevents, 1);
	assert_int_equal(fx->rec.ev[0].kind, DETECT_CAPABILITY_MASKED);
	assert_int_equal(fx->rec.ev[0].severity, DETECT_SEV_HIGH);
	assert_int_equal(fx->rec.ev[0].ts_us, 11);
	assert_int_equal(fx->rec.ev[0].session_id, 7);
	assert_string_equal(fx->rec.ev[0].evidence, "250-XXXXXXXA");
	assert_int_equal(fx->rec.ev[0].tuple.server_port, 25);
	update(fx, 12);
	update(fx, 13);
	assert_int_equal(fx->rec.nevents, 1);	/* once per session */
	finish(fx);
	assert_int_equal(fx->rec.nevents, 1);
	assert_string_equal(fx->out.outcome, DETECT_OUTCOME_STRIPPED);
	assert_int_equal(fx->out.events, 1u << DETECT_CAPABILITY_MASKED);
}

static void
test_masked_with_starttls_is_quiet(void **state)
{
	struct fixture	*fx = *state;

	fx->f.flags |= MAIL_F_CAP_MASKED | MAIL_F_CAPS |
	    MAIL_F_STARTTLS_OFFERED;
	update(fx, 10);
	finish(fx);
	assert_int_equal(fx->rec.nevents, 0);
	assert_string_equal(fx->out.outcome, DETECT_OUTCOME_NOT_REQUESTED);
}

static void
test_command_masked(void **state)
{
	struct fixture	*fx = *state;

	fx->f.flags |= MAIL_F_CAPS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_CMD_MASKED;
	text(&fx->f.cmd_masked, "XXXXXXXX");
	update(fx, 10);
	assert_int_equal(fx->rec.nevents, 1);
	assert_int_equal(fx->rec.ev[0].kind, DETECT_COMMAND_MASKED);
	assert_string_equal(fx->rec.ev[0].evidence, "XXXXXXXX");
	finish(fx);
	assert_string_equal(fx->out.outcome, DETECT_OUTCOME_STRIPPED);
}

static void
test_refused(void **state)
{
	struct fixture	*fx = *state;

	fx->f.flags |= MAIL_F_CAPS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED;
	update(fx, 10);
	assert_int_equal(fx->rec.nevents, 0);	/* no reply yet */
	fx->f.flags |= MAIL_F_STARTTLS_REPLY;
	fx->f.starttls_reply = 454;
	text(&fx->f.starttls_line, "454 4.7.0 TLS not available");
	update(fx, 11);
	assert_int_equal(fx->rec.nevents, 1);
	assert_int_equal(fx->rec.ev[0].kind, DETECT_STARTTLS_REFUSED);
	assert_int_equal(fx->rec.ev[0].severity, DETECT_SEV_MEDIUM);
	finish(fx);
	assert_string_equal(fx->out.outcome, DETECT_OUTCOME_REFUSED);
	assert_int_equal(fx->out.starttls_reply, 454);
	assert_int_equal(fx->out.starttls_offered, 1);
	assert_int_equal(fx->out.starttls_requested, 1);
}

/* Asked without an offer and refused: not stripping, and plaintext. */
static void
test_refused_without_offer_is_quiet(void **state)
{
	struct fixture	*fx = *state;

	fx->f.flags |= MAIL_F_CAPS | MAIL_F_STARTTLS_REQUESTED |
	    MAIL_F_STARTTLS_REPLY;
	fx->f.starttls_reply = 502;
	update(fx, 10);
	finish(fx);
	assert_int_equal(fx->rec.nevents, 0);
	assert_string_equal(fx->out.outcome, DETECT_OUTCOME_NOT_OFFERED);
}

static void
test_accepted_outcomes(void **state)
{
	struct fixture	*fx = *state;

	fx->f.flags |= MAIL_F_CAPS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED;
	fx->f.starttls_reply = 220;
	finish(fx);
	assert_string_equal(fx->out.outcome, DETECT_OUTCOME_TLS_UNSEEN);
	assert_int_equal(fx->out.tls_established, 0);
	fx->f.flags |= MAIL_F_TLS_CLIENT_HELLO;
	finish(fx);
	assert_int_equal(fx->out.tls_established, 0);
	fx->f.flags |= MAIL_F_TLS_SERVER_HELLO;
	fx->f.tls.client_hello = fx->f.tls.server_hello = 1;
	fx->f.tls.version = 0x0303;
	fx->f.tls.cipher = 0xc02f;
	text_field_set(&fx->f.tls.sni, (const uint8_t *)"mx.example\n", 11);
	fx->f.tls.have_cert = 1;
	memset(fx->f.tls.cert_sha256, 0xab, 32);
	finish(fx);
	assert_int_equal(fx->rec.nevents, 0);
	assert_int_equal(fx->out.tls_established, 1);
	assert_string_equal(fx->out.outcome, DETECT_OUTCOME_TLS);
	assert_string_equal(fx->out.tls_version, "TLS1.2");
	assert_string_equal(fx->out.tls_sni, "mx.example\\n");
	assert_int_equal(strlen(fx->out.cert_sha256), 64);
	assert_int_equal(strspn(fx->out.cert_sha256, "ab"), 64);
	assert_int_equal(fx->rec.nsessions, 3);
}

static void
test_plaintext_after_and_injection(void **state)
{
	struct fixture	*fx = *state;

	fx->f.flags |= MAIL_F_CAPS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED | MAIL_F_RESP_INJECTION |
	    MAIL_F_PLAINTEXT_AFTER;
	fx->f.starttls_reply = 220;
	text(&fx->f.injected, "250 injected\r");
	text(&fx->f.plaintext, "EHLO client");
	update(fx, 10);
	assert_int_equal(fx->rec.nevents, 2);
	assert_int_equal(fx->rec.ev[0].kind, DETECT_PLAINTEXT_AFTER_STARTTLS);
	assert_int_equal(fx->rec.ev[1].kind, DETECT_STARTTLS_INJECTION);
	assert_string_equal(fx->rec.ev[1].evidence, "250 injected\\r");
	finish(fx);
	assert_string_equal(fx->out.outcome, DETECT_OUTCOME_STRIPPED);
}

/* Hostile bytes in evidence and in the record arrive escaped. */
static void
test_escaping(void **state)
{
	struct fixture	*fx = *state;
	static const char hostile[] = "XXXXXXXX \x1b[31m%n\"\r\n\x00\xff";
	size_t		 i;

	fx->f.flags |= MAIL_F_CMD_MASKED;
	text_field_set(&fx->f.cmd_masked, (const uint8_t *)hostile,
	    sizeof(hostile) - 1);
	text(&fx->f.helo, "evil\r\n250 fake");
	text(&fx->f.banner, "mx \x07 ready");
	update(fx, 10);
	assert_string_equal(fx->rec.ev[0].evidence,
	    "XXXXXXXX \\x1b[31m%n\\\"\\r\\n\\x00\\xff");
	finish(fx);
	assert_string_equal(fx->out.helo, "evil\\r\\n250 fake");
	assert_string_equal(fx->out.banner, "mx \\x07 ready");
	for (i = 0; fx->rec.ev[0].evidence[i] != '\0'; i++)
		assert_true(fx->rec.ev[0].evidence[i] >= 0x20 &&
		    fx->rec.ev[0].evidence[i] < 0x7f);
}

static void
test_conflict_once(void **state)
{
	struct fixture	*fx = *state;

	detect_conflict(&fx->d, &fx->st, &fx->t, 7, 5,
	    (const uint8_t *)"250-STARTTLS", (const uint8_t *)"250-XXXXXXXA",
	    12);
	detect_conflict(&fx->d, &fx->st, &fx->t, 7, 6,
	    (const uint8_t *)"a", (const uint8_t *)"b", 1);
	assert_int_equal(fx->rec.nevents, 1);
	assert_int_equal(fx->rec.ev[0].kind, DETECT_REASSEMBLY_CONFLICT);
	assert_non_null(strstr(fx->rec.ev[0].evidence, "250-STARTTLS"));
	assert_non_null(strstr(fx->rec.ev[0].evidence, "250-XXXXXXXA"));
	assert_string_equal(detect_kind_name(DETECT_REASSEMBLY_CONFLICT),
	    "reassembly_conflict");
}

/* Only a digest of the first copy was kept: the evidence says so. */
static void
test_conflict_digest_only(void **state)
{
	struct fixture	*fx = *state;

	detect_conflict(&fx->d, &fx->st, &fx->t, 7, 5, NULL,
	    (const uint8_t *)"250-XXXXXXXA\r\n", 14);
	assert_int_equal(fx->rec.nevents, 1);
	assert_string_equal(fx->rec.ev[0].evidence, "kept=(not kept: its "
	    "digest differs over these 14 bytes) other=[250-XXXXXXXA\\r\\n]");
}

/*
 * A session continued after an eviction carries its detect_state: a kind
 * raised before is not raised again, the server's history counts the
 * session once, and the row says how often it was continued.
 */
static void
test_continuation(void **state)
{
	struct fixture	*fx = *state;
	struct history_config hc = { 16, 1, { 1, 2 } };
	struct history	*h = history_new(&hc);
	struct detect_state saved;

	assert_non_null(h);
	detect_init(&fx->d, &fx->sink, 1, h);
	fx->f.flags |= MAIL_F_CAPS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY;
	fx->f.starttls_reply = 454;
	text(&fx->f.starttls_line, "454 4.7.0 no");
	update(fx, 10);
	assert_int_equal(fx->rec.nevents, 1);
	finish(fx);				/* evicted */
	assert_int_equal(history_find(h, &fx->t.server, 25, 0)->sessions, 1);
	saved = fx->st;				/* in the eviction's memo */
	memset(&fx->st, 0, sizeof(fx->st));
	fx->st = saved;				/* the continuation's */
	fx->st.resumed = 1;
	finish(fx);				/* its end */
	assert_int_equal(fx->rec.nevents, 1);
	assert_int_equal(fx->rec.nsessions, 2);
	assert_int_equal(fx->rec.s.resumed, 1);
	assert_string_equal(fx->rec.s.outcome, DETECT_OUTCOME_REFUSED);
	assert_int_equal(history_find(h, &fx->t.server, 25, 0)->sessions, 1);
	history_free(h);
}

/*
 * The row written when a connection is evicted is replaced by its
 * continuation's: that row names the outcome it replaces, so a reader
 * counting outcomes can count the session once.
 */
static void
test_continuation_replaces_outcome(void **state)
{
	struct fixture	*fx = *state;

	fx->f.flags |= MAIL_F_CAPS | MAIL_F_STARTTLS_OFFERED;
	finish(fx);				/* evicted */
	assert_null(fx->rec.s.prev_outcome);
	assert_string_equal(fx->rec.s.outcome, DETECT_OUTCOME_NOT_REQUESTED);
	fx->st.resumed = 1;
	fx->f.flags |= MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED | MAIL_F_TLS_CLIENT_HELLO |
	    MAIL_F_TLS_SERVER_HELLO;
	fx->f.starttls_reply = 220;
	finish(fx);				/* its end */
	assert_int_equal(fx->rec.nsessions, 2);
	assert_string_equal(fx->rec.s.outcome, DETECT_OUTCOME_TLS);
	assert_non_null(fx->rec.s.prev_outcome);
	assert_string_equal(fx->rec.s.prev_outcome,
	    DETECT_OUTCOME_NOT_REQUESTED);
}

static void
test_not_smtp_not_recorded(void **state)
{
	struct fixture	*fx = *state;

	fx->f.flags = 0;
	finish(fx);
	assert_int_equal(fx->rec.nsessions, 0);
}

static void
test_incomplete_and_plaintext(void **state)
{
	struct fixture	*fx = *state;

	finish(fx);
	assert_string_equal(fx->out.outcome, DETECT_OUTCOME_INCOMPLETE);
	fx->f.flags |= MAIL_F_CAPS;
	finish(fx);
	assert_string_equal(fx->out.outcome, DETECT_OUTCOME_NOT_OFFERED);
	assert_null(fx->out.tls_version);
	assert_string_equal(fx->out.tls_cipher, "");
	assert_string_equal(fx->out.close_reason, "fin");
	assert_int_equal(fx->out.start_us, 100);
	assert_int_equal(fx->out.end_us, 200);
}

static void
test_banner_masked_is_info(void **state)
{
	struct fixture	*fx = *state;

	fx->f.flags |= MAIL_F_BANNER_MASKED | MAIL_F_CAPS |
	    MAIL_F_STARTTLS_OFFERED;
	text(&fx->f.banner, "****2***0*0***");
	update(fx, 10);
	assert_int_equal(fx->rec.nevents, 1);
	assert_int_equal(fx->rec.ev[0].severity, DETECT_SEV_INFO);
	finish(fx);
	/* A masked banner alone does not make the session stripped. */
	assert_string_equal(fx->out.outcome, DETECT_OUTCOME_NOT_REQUESTED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_capability_masked, setup),
		cmocka_unit_test_setup(test_masked_with_starttls_is_quiet,
		    setup),
		cmocka_unit_test_setup(test_command_masked, setup),
		cmocka_unit_test_setup(test_refused, setup),
		cmocka_unit_test_setup(test_refused_without_offer_is_quiet,
		    setup),
		cmocka_unit_test_setup(test_accepted_outcomes, setup),
		cmocka_unit_test_setup(test_plaintext_after_and_injection,
		    setup),
		cmocka_unit_test_setup(test_escaping, setup),
		cmocka_unit_test_setup(test_conflict_once, setup),
		cmocka_unit_test_setup(test_conflict_digest_only, setup),
		cmocka_unit_test_setup(test_continuation, setup),
		cmocka_unit_test_setup(test_continuation_replaces_outcome,
		    setup),
		cmocka_unit_test_setup(test_not_smtp_not_recorded, setup),
		cmocka_unit_test_setup(test_incomplete_and_plaintext, setup),
		cmocka_unit_test_setup(test_banner_masked_is_info, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
