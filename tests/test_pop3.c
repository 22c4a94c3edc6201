/*
 * test_pop3.c: the POP3 parser on whole conversations (tests/mailtest.h
 * feeds each every way and checks that the facts never change). Every
 * positive case has a clean twin that differs in the one thing the fact
 * is about.
 */
#define MT_PROTO	MAIL_PROTO_POP3

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mailtest.h"


#define GREET	"+OK Dovecot ready.\r\n"
#define CAPA_TLS "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n" \
		"AUTH-RESP-CODE\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"
#define CAPA_MASKED "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n" \
		"PIPELINING\r\nAUTH-RESP-CODE\r\nXXXX\r\nUSER\r\n" \
		"SASL PLAIN LOGIN\r\n.\r\n"
#define CAPA_NOTLS "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nUSER\r\n" \
		"SASL PLAIN LOGIN\r\n.\r\n"
#define BASE_FLAGS (MAIL_F_PROTO | MAIL_F_GREETING | MAIL_F_CAPS)
#define ACCEPTED (MAIL_F_STARTTLS_OFFERED | MAIL_F_STARTTLS_REQUESTED | \
		    MAIL_F_STARTTLS_REPLY | MAIL_F_STARTTLS_ACCEPTED)
#define HELLOS	(MAIL_F_TLS_CLIENT_HELLO | MAIL_F_TLS_SERVER_HELLO)

/* base64 of "\0alice\0s3cr3t-PW", of "bob", of "hunter2-PW" */
#define PLAIN_ALICE	"AGFsaWNlAHMzY3IzdC1QVw=="
#define B64_BOB		"Ym9i"
#define B64_HUNTER	"aHVudGVyMi1QVw=="

static int
setup(void **state)
{
	(void)state;
	mt_setup_tls();
	return 0;
}

/* Dovecot: CAPA with STLS, STLS, +OK, both TLS hellos. */
static void
test_clean_stls(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, CAPA_TLS),
		STR(C, "STLS\r\n"),
		STR(S, "+OK Begin TLS negotiation now.\r\n"),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.proto, MAIL_PROTO_POP3);
	assert_int_equal(r.f.flags, BASE_FLAGS | ACCEPTED | HELLOS);
	assert_text(&r.f.banner, "Dovecot ready.");
	assert_text(&r.f.starttls_line, "+OK Begin TLS negotiation now.");
	assert_string_equal(r.f.starttls_status, "+OK");
	assert_int_equal(r.f.starttls_reply, 0);
	assert_int_equal(r.f.tls.version, 0x0304);
	assert_int_equal(r.f.tls.sni.len, 14);
	assert_memory_equal(r.f.tls.sni.b, "mx.example.com", 14);
	assert_int_equal(r.state, MAIL_ST_DONE);
	assert_int_equal(r.ret[0], 1);
	assert_int_equal(r.ret[1], 1);
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.st.bad_replies, 0);
	assert_int_equal(r.st.lines, 15);
}

/* The same with a TLS 1.2 ServerHello and the STLS before any CAPA (a
 * client configured to require TLS). */
static void
test_stls_without_capa(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "+OK ladymacbeth.local Cyrus POP3 v2.3.16 server ready "
		    "<1512565572@ladymacbeth.local>\r\n"),
		STR(C, "STLS\r\n"), STR(S, "+OK Begin TLS negotiation now\r\n"),
		BIN(C, ch, ch_len), BIN(S, sh12, sh12_len),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED | HELLOS);
	assert_text(&r.f.banner, "ladymacbeth.local Cyrus POP3 v2.3.16 "
	    "server ready <1512565572@ladymacbeth.local>");
	assert_int_equal(r.f.tls.version, 0x0303);
	assert_int_equal(r.f.tls.cipher, 0xc02f);
}

/* No STLS in the list, the client logs in with APOP: nothing but CAPS. */
static void
test_no_stls_apop(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>"
		    "\r\n"),
		STR(C, "CAPA\r\n"), STR(S, CAPA_NOTLS),
		STR(C, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"),
		STR(S, "+OK mrose's maildrop has 2 messages (320 octets)\r\n"),
		STR(C, "QUIT\r\n"), STR(S, "+OK dewey POP3 server signing off\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_QUIT);
	assert_int_equal(r.f.cred_user.len, 0);
	assert_string_equal(r.f.cred_mech, "");
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.st.bad_replies, 0);
}

/*
 * STLS masked in the CAPA list, the client falls back to USER/PASS: a
 * masked capability, and credentials sent in the clear (the user kept,
 * the password nowhere).
 */
static void
test_capa_masked(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, CAPA_MASKED),
		STR(C, "USER bob\r\n"), STR(S, "+OK\r\n"),
		STR(C, "PASS hunter2-PW\r\n"), STR(S, "+OK Logged in.\r\n"),
		STR(C, "STAT\r\n"), STR(S, "+OK 0 0\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_CAP_MASKED |
	    MAIL_F_CREDENTIALS);
	assert_text(&r.f.cap_masked, "XXXX");
	assert_string_equal(r.f.cred_mech, "USER/PASS");
	assert_text(&r.f.cred_user, "bob");
	assert_false(facts_hold(&r, "hunter2"));
	assert_int_equal(r.st.unpaired, 0);
}

/*
 * Clean twins: a list with STLS and a masked keyword (something else was
 * masked), and real capabilities that start with X. Neither masks STLS.
 */
static void
test_capa_masked_twins(void **state)
{
	struct run	 r;
	struct step	 both[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"),
		STR(S, "+OK\r\nXXXA\r\nSTLS\r\nXXXXXXXB\r\n.\r\n"),
		STR(C, "QUIT\r\n"), STR(S, "+OK\r\n"),
	};
	struct step	 xreal[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"),
		STR(S, "+OK\r\nX-LOGIN-DELAY 900\r\nXTND\r\nXOAUTH2\r\n.\r\n"),
	};
	struct step	 masked_arg[] = {	/* "SASL XXXX" masks no STLS */
		STR(S, GREET), STR(C, "CAPA\r\n"),
		STR(S, "+OK\r\nSASL XXXXX PLAIN\r\n.\r\n"),
	};

	(void)state;
	RUN(both, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_QUIT);
	assert_int_equal(r.f.cap_masked.len, 0);
	RUN(xreal, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS);
	RUN(masked_arg, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS);
}

/* A second list is judged on its own: the mask counts when it lacks STLS. */
static void
test_capa_twice(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"),
		STR(S, "+OK\r\nXXXA\r\nSTLS\r\n.\r\n"),
		STR(C, "CAPA\r\n"), STR(S, "+OK\r\nTOP\r\nXXXX\r\n.\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_true(r.f.flags & MAIL_F_CAP_MASKED);
	assert_text(&r.f.cap_masked, "XXXX");
}

/* "-ERR" to CAPA: an RFC 1939 server, or one made to hide its list. */
static void
test_capa_refused(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "+OK lavad\r\n"), STR(C, "CAPA\r\n"),
		STR(S, "-ERR Unrecognized command.\r\n"),
		STR(C, "USER carol\r\n"), STR(S, "+OK\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_CAPS_REFUSED);
	assert_int_equal(r.st.unpaired, 0);
	/* a name without its password is no credential */
	assert_false(r.f.flags & MAIL_F_CREDENTIALS);
}

/* A line "..", dot-stuffed, does not end the list; what follows counts. */
static void
test_capa_dot_stuffing(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREET), STR(C, "CAPA\r\nSTAT\r\n"),
		STR(S, "+OK\r\n..\r\n..XXXX\r\nSTLS\r\n.\r\n+OK 1 20\r\n"),
	};
	struct step	 stuffed_mask[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"),
		STR(S, "+OK\r\n..\r\n.XXXX\r\n.\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED);
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.st.bad_replies, 0);
	RUN(stuffed_mask, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_CAP_MASKED);
	assert_text(&r.f.cap_masked, "XXXX");
}

/* The client's STLS masked; its twin, a real X verb, is no mask. */
static void
test_command_masked(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, CAPA_TLS),
		STR(C, "XXXX\r\n"), STR(S, "-ERR Unknown command.\r\n"),
		STR(C, "USER bob\r\n"), STR(S, "+OK\r\n"),
	};
	struct step	 twin[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, CAPA_TLS),
		STR(C, "XTND XMIT\r\n"), STR(S, "-ERR Unknown command.\r\n"),
		STR(C, "STLS\r\n"), STR(S, "+OK Begin TLS\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_CMD_MASKED);
	assert_text(&r.f.cmd_masked, "XXXX");
	assert_int_equal(r.st.unpaired, 0);
	RUN(twin, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | ACCEPTED);
	assert_int_equal(r.st.unpaired, 0);
}

static void
test_stls_refused(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, CAPA_TLS),
		STR(C, "STLS\r\n"),
		STR(S, "-ERR [SYS/TEMP] TLS not available\r\n"),
		STR(C, "QUIT\r\n"), STR(S, "+OK Logging out\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY | MAIL_F_QUIT);
	assert_string_equal(r.f.starttls_status, "-ERR");
	assert_text(&r.f.starttls_line, "-ERR [SYS/TEMP] TLS not available");
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	assert_int_equal(r.st.unpaired, 0);
}

/* "+OK" to STLS, then plaintext USER/PASS where TLS should be. */
static void
test_plaintext_after(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, CAPA_TLS),
		STR(C, "STLS\r\n"), STR(S, "+OK Begin TLS negotiation now.\r\n"),
		STR(C, "USER bob\r\n"), STR(S, "+OK\r\n"),
		STR(C, "PASS hunter2-PW\r\n"), STR(S, "+OK Logged in.\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | ACCEPTED |
	    MAIL_F_PLAINTEXT_AFTER | MAIL_F_CREDENTIALS);
	assert_text(&r.f.plaintext, "USER bob");
	assert_text(&r.f.cred_user, "bob");
	assert_false(facts_hold(&r, "hunter2"));
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	assert_int_equal(r.st.unpaired, 0);
}

/* "STLS\r\nUSER bob\r\n" in one segment: the USER rides in the clear. */
static void
test_command_injection(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, CAPA_TLS),
		STR(C, "STLS\r\nUSER bob\r\n"),
		STR(S, "+OK Begin TLS negotiation now.\r\n"),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};
	struct step	 twin[] = {		/* the same bytes in order */
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, CAPA_TLS),
		STR(C, "STLS\r\n"),
		STR(S, "+OK Begin TLS negotiation now.\r\n"),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | ACCEPTED | HELLOS |
	    MAIL_F_CMD_INJECTION);
	assert_text(&r.f.injected, "USER bob");
	assert_int_equal(r.st.unpaired, 0);
	RUN(twin, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | ACCEPTED | HELLOS);
	assert_int_equal(r.f.injected.len, 0);
}

/* Server bytes after the "+OK" before the client's ClientHello. */
static void
test_response_injection(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, CAPA_TLS),
		STR(C, "STLS\r\n"),
		STR(S, "+OK Begin TLS negotiation now.\r\n"
		    "+OK Logged in.\r\n"),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};

	struct step	 capa[] = {	/* what was pipelined behind STLS */
		STR(S, GREET), STR(C, "STLS\r\nCAPA\r\n"),
		STR(S, "+OK Begin TLS\r\n+OK\r\nXXXX\r\n.\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | ACCEPTED | HELLOS |
	    MAIL_F_RESP_INJECTION);
	assert_text(&r.f.injected, "+OK Logged in.");
	assert_text(&r.f.starttls_line, "+OK Begin TLS negotiation now.");
	/* is not answered in the clear: the injected lines are no list */
	RUN(capa, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED | MAIL_F_CMD_INJECTION |
	    MAIL_F_RESP_INJECTION);
	assert_text(&r.f.injected, "+OK");
	assert_int_equal(r.st.unpaired, 1);
	assert_int_equal(r.st.bad_replies, 2);
}

/*
 * SASL outside TLS: PLAIN with an initial response, PLAIN after a "+ "
 * continuation, LOGIN in two steps. The user is kept with the mechanism,
 * the password bytes nowhere (neither as text nor as base64).
 */
static void
test_auth_credentials(void **state)
{
	struct run	 r;
	struct step	 ir[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, CAPA_NOTLS),
		STR(C, "AUTH PLAIN " PLAIN_ALICE "\r\n"),
		STR(S, "+OK Logged in.\r\n"), STR(C, "STAT\r\n"),
		STR(S, "+OK 1 200\r\n"),
	};
	struct step	 cont[] = {
		STR(S, GREET), STR(C, "AUTH PLAIN\r\n"), STR(S, "+ \r\n"),
		STR(C, PLAIN_ALICE "\r\n"), STR(S, "+OK Logged in.\r\n"),
		STR(C, "LIST 1\r\n"), STR(S, "+OK 1 200\r\n"),
	};
	struct step	 login[] = {
		STR(S, GREET), STR(C, "AUTH LOGIN\r\n"),
		STR(S, "+ VXNlcm5hbWU6\r\n"), STR(C, B64_BOB "\r\n"),
		STR(S, "+ UGFzc3dvcmQ6\r\n"), STR(C, B64_HUNTER "\r\n"),
		STR(S, "+OK Logged in.\r\n"), STR(C, "QUIT\r\n"),
		STR(S, "+OK Logging out.\r\n"),
	};

	(void)state;
	RUN(ir, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_CREDENTIALS);
	assert_string_equal(r.f.cred_mech, "AUTH PLAIN");
	assert_text(&r.f.cred_user, "alice");
	assert_false(facts_hold(&r, "s3cr3t"));
	assert_false(facts_hold(&r, PLAIN_ALICE));
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	assert_int_equal(r.st.unpaired, 0);
	RUN(cont, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_CREDENTIALS);
	assert_string_equal(r.f.cred_mech, "AUTH PLAIN");
	assert_text(&r.f.cred_user, "alice");
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.st.bad_replies, 0);
	RUN(login, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_CREDENTIALS | MAIL_F_QUIT);
	assert_string_equal(r.f.cred_mech, "AUTH LOGIN");
	assert_text(&r.f.cred_user, "bob");
	assert_false(facts_hold(&r, "hunter2"));
	assert_false(facts_hold(&r, B64_HUNTER));
	assert_int_equal(r.st.unpaired, 0);
}

/*
 * The first injected or plaintext line is evidence, but a password or a
 * SASL response in it is not: PASS and AUTH lines are kept up to it (and
 * a user name is evidence).
 */
static void
test_evidence_without_password(void **state)
{
	struct run	 r;
	struct step	 pass[] = {
		STR(S, GREET), STR(C, "USER bob\r\n"), STR(S, "+OK\r\n"),
		STR(C, "STLS\r\nPASS hunter2-PW\r\n"),
		STR(S, "+OK Begin TLS\r\n"), BIN(C, ch, ch_len),
	};
	struct step	 plain[] = {
		STR(S, GREET), STR(C, "STLS\r\n"), STR(S, "+OK Begin TLS\r\n"),
		STR(C, "AUTH PLAIN " PLAIN_ALICE "\r\n"),
		STR(S, "+OK Logged in.\r\n"),
	};
	struct step	 user[] = {	/* a user name is evidence */
		STR(S, GREET), STR(C, "STLS\r\n"), STR(S, "+OK Begin TLS\r\n"),
		STR(C, "USER bob\r\n"),
	};

	(void)state;
	RUN(pass, &r);
	assert_true(r.f.flags & MAIL_F_CMD_INJECTION);
	assert_true(r.f.flags & MAIL_F_CREDENTIALS);
	assert_text(&r.f.injected, "PASS ");
	assert_false(facts_hold(&r, "hunter2"));
	RUN(plain, &r);
	assert_true(r.f.flags & MAIL_F_PLAINTEXT_AFTER);
	assert_true(r.f.flags & MAIL_F_CREDENTIALS);
	assert_text(&r.f.plaintext, "AUTH PLAIN ");
	assert_false(facts_hold(&r, PLAIN_ALICE));
	assert_false(facts_hold(&r, "s3cr3t"));
	RUN(user, &r);
	assert_text(&r.f.plaintext, "USER bob");
}

/*
 * Twins without a password in the clear: NTLM (tokens, no password), a
 * cancelled LOGIN, AUTH alone (lists the mechanisms, multi-line), APOP,
 * USER without PASS and PASS without USER.
 */
static void
test_auth_no_credentials(void **state)
{
	struct run	 r;
	struct step	 ntlm[] = {
		STR(S, "+OK POP3 server ready\r\n"), STR(C, "AUTH NTLM\r\n"),
		STR(S, "+ \r\n"),
		STR(C, "TlRMTVNTUAABAAAABwIAAgcABwAoAAAACAAIAC8AAAAK\r\n"),
		STR(S, "+ TlRMTVNTUAACAAAADgAOADgAAAAFAgACASNFZ4mrze8=\r\n"),
		STR(C, "TlRMTVNTUAADAAAAGAAYAFgAAAAYABgAcAAAAA4ADgCI\r\n"),
		STR(S, "+OK Logged in\r\n"), STR(C, "QUIT\r\n"),
		STR(S, "+OK Bye\r\n"),
	};
	struct step	 cancel[] = {
		STR(S, GREET), STR(C, "AUTH LOGIN\r\n"),
		STR(S, "+ VXNlcm5hbWU6\r\n"), STR(C, B64_BOB "\r\n"),
		STR(S, "+ UGFzc3dvcmQ6\r\n"), STR(C, "*\r\n"),
		STR(S, "-ERR Authentication aborted\r\n"),
		STR(C, "NOOP\r\n"), STR(S, "+OK\r\n"),
	};
	struct step	 list[] = {
		STR(S, GREET), STR(C, "AUTH\r\n"),
		STR(S, "+OK\r\nPLAIN\r\nLOGIN\r\n+OK\r\n.\r\n"),
		STR(C, "USER bob\r\nQUIT\r\n"), STR(S, "+OK\r\n+OK Bye\r\n"),
	};
	struct step	 pass_alone[] = {
		STR(S, GREET), STR(C, "PASS hunter2-PW\r\n"),
		STR(S, "-ERR No username given.\r\n"),
		STR(C, "AUTH\r\n"), STR(S, "-ERR 1 argument required\r\n"),
	};

	(void)state;
	RUN(ntlm, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_QUIT);
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.st.bad_replies, 0);
	RUN(cancel, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING);
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	assert_int_equal(r.st.unpaired, 0);
	RUN(list, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_QUIT);
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.st.bad_replies, 0);
	RUN(pass_alone, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING);
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	assert_int_equal(r.st.unpaired, 0);
}

/*
 * A message that quotes protocol: status lines, STLS, USER/PASS, masked
 * keywords, IMAP's CAPABILITY and LOGIN, a dot-stuffed "." line. All of
 * it is body text; the STLS after it pairs with its own "+OK".
 */
#define QUOTING_BODY "Subject: how to read mail\r\n\r\n" \
		"+OK Dovecot ready.\r\nSTLS\r\nXXXX\r\nUSER bob\r\n" \
		"PASS hunter2-PW\r\n-ERR nope\r\n+ \r\n..\r\n...STLS\r\n" \
		"* CAPABILITY IMAP4rev1 STARTTLS\r\na1 LOGIN bob secret\r\n" \
		"* OK [CAPABILITY IMAP4rev1 XXXXXXXX] ready\r\n.\r\n"

static void
test_body_quotes(void **state)
{
	struct run	 r;
	struct step	 retr[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, CAPA_TLS),
		STR(C, "RETR 1\r\n"), STR(S, "+OK 412 octets\r\n" QUOTING_BODY),
		STR(C, "TOP 1 5\r\n"), STR(S, "+OK\r\n" QUOTING_BODY),
		STR(C, "STLS\r\n"), STR(S, "+OK Begin TLS\r\n"),
		BIN(C, ch, ch_len),
	};
	struct step	 refused[] = {		/* -ERR: no body follows */
		STR(S, GREET), STR(C, "RETR 9\r\n"),
		STR(S, "-ERR There's no message 9.\r\n"),
		STR(C, "STLS\r\n"), STR(S, "+OK Begin TLS\r\n"),
	};

	(void)state;
	RUN(retr, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | ACCEPTED |
	    MAIL_F_TLS_CLIENT_HELLO);
	assert_text(&r.f.starttls_line, "+OK Begin TLS");
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.st.bad_replies, 0);
	RUN(refused, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED);
	assert_int_equal(r.st.unpaired, 0);
}

/*
 * LIST and UIDL answer one line with an argument, a listing without;
 * the whole lot pipelined (RFC 2449), the replies in one segment.
 */
static void
test_pipelined(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREET),
		STR(C, "CAPA\r\nSTAT\r\nLIST\r\nLIST 2\r\nUIDL\r\nUIDL 1\r\n"
		    "DELE 1\r\nLAST\r\nRSET\r\nNOOP\r\nSTLS\r\n"),
		STR(S, CAPA_TLS "+OK 2 320\r\n+OK 2 messages\r\n1 120\r\n"
		    "2 200\r\n.\r\n+OK 2 200\r\n+OK\r\n1 whqtswO00WBw418f\r\n"
		    "2 QhdPYR:00WBw1Ph7x7\r\n.\r\n+OK 1 whqtswO00WBw418f\r\n"
		    "+OK message 1 deleted\r\n+OK 0\r\n+OK\r\n+OK\r\n"
		    "+OK Begin TLS\r\n"),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | ACCEPTED | HELLOS);
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.st.bad_replies, 0);
	assert_int_equal(r.st.pipeline_full, 0);
}

/* Commands in lower case (nDPI's capture), LF-only lines. */
static void
test_lower_case_lf(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "+OK POP server ready H migmxus005\n"),
		STR(C, "user cicciopernacchio@mail.com\n"),
		STR(S, "+OK password required for user\n"),
		STR(C, "pass pippozzo\n"), STR(S, "+ok mailbox has 2 messages\n"),
		STR(C, "list\n"), STR(S, "+OK\n1 8836\n2 8836\n.\n"),
		STR(C, "stls\n"), STR(S, "-err not now\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_CREDENTIALS | MAIL_F_STARTTLS_REQUESTED |
	    MAIL_F_STARTTLS_REPLY);
	assert_text(&r.f.cred_user, "cicciopernacchio@mail.com");
	assert_false(facts_hold(&r, "pippozzo"));
	assert_string_equal(r.f.starttls_status, "-ERR");
	assert_int_equal(r.st.unpaired, 0);
}

/* "-ERR" as the greeting: the server refuses service and closes. */
static void
test_greeting_refused(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "-ERR [SYS/TEMP] too many connections\r\n"),
		STR(C, "CAPA\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_CLOSING);
	assert_text(&r.f.banner, "[SYS/TEMP] too many connections");
	assert_int_equal(r.state, MAIL_ST_DONE);
}

/*
 * Joined late: the first line is the client's (a POP3 client speaks only
 * after the greeting), and the first "+OK" answers it.
 */
static void
test_midstream(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(C, "CAPA\r\n"), STR(S, CAPA_TLS),
		STR(C, "STLS\r\n"), STR(S, "+OK Begin TLS\r\n"),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};
	struct step	 retr[] = {
		STR(C, "RETR 1\r\n"), STR(S, "+OK\r\n" QUOTING_BODY),
		STR(C, "QUIT\r\n"), STR(S, "+OK\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_MIDSTREAM |
	    MAIL_F_CAPS | ACCEPTED | HELLOS);
	assert_int_equal(r.f.banner.len, 0);
	assert_int_equal(r.st.unpaired, 0);
	RUN(retr, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_MIDSTREAM |
	    MAIL_F_QUIT);
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.st.bad_replies, 0);
}

/*
 * Lost server bytes inside the CAPA list: the list is not judged (its
 * STLS, or its ".", may be in the hole) and the message after it is not
 * read as capabilities. Lost client bytes: what was queued is dropped,
 * its reply counts as unpaired, and the next command pairs with its own.
 */
static void
test_gaps(void **state)
{
	struct run	 r;
	struct step	 server[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), STR(S, "+OK\r\nTOP\r\n"),
		LOSS(S, 20), STR(S, "ER\r\nUSER\r\n.\r\n"),
		STR(C, "RETR 1\r\n"), STR(S, "+OK\r\nSTLS\r\nXXXX\r\n.\r\n"),
	};
	struct step	 client[] = {
		STR(S, GREET), STR(C, "CAPA\r\n"), LOSS(C, 30),
		STR(C, "A 1\r\n"), STR(S, CAPA_TLS), STR(C, "STLS\r\n"),
		STR(S, "-ERR not now\r\n"),
	};

	(void)state;
	RUN(server, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_GAP);
	assert_int_equal(r.f.gaps, 1);
	RUN(client, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_GAP | MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY);
	assert_string_equal(r.f.starttls_status, "-ERR");
	assert_int_equal(r.st.unpaired, 1);
}

/* A 1 MB command line: counted, cut, and the pairing stays in step. */
static void
test_long_line(void **state)
{
	struct run	 r;
	size_t		 n = 1024 * 1024;
	char		*line = malloc(n + 16);
	struct step	 steps[] = {
		STR(S, GREET), STR(C, NULL),
		STR(S, "-ERR Unknown command\r\n"), STR(C, "STLS\r\n"),
		STR(S, "+OK Begin TLS\r\n"),
	};

	(void)state;
	assert_non_null(line);
	memcpy(line, "USER ", 5);
	memset(line + 5, 'a', n);
	memcpy(line + 5 + n, "\r\n", 3);
	steps[1].data = line;
	steps[1].len = strlen(line);
	RUN(steps, &r);
	assert_int_equal(r.st.long_lines, 1);
	assert_string_equal(r.f.starttls_status, "+OK");
	assert_int_equal(r.st.unpaired, 0);
	assert_true(r.f.cred_user.len <= TEXT_FIELD_MAX);
	free(line);
}

/* NULs, control bytes and 8-bit text are kept raw for detect.c to escape;
 * a server line that is no status is counted, never paired. */
static void
test_hostile_bytes(void **state)
{
	static const char greet[] = "+OK \x1b[31mred\0\xff\r\n";
	static const char user[] = "USER \x01\0bob\r\n";
	struct run	 r;
	struct step	 steps[] = {
		BIN(S, greet, sizeof(greet) - 1), STR(C, "CAPA\r\n"),
		STR(S, "+OK\r\nST\0LS\r\n\x80XXXX\r\n.\r\n"),
		BIN(C, user, sizeof(user) - 1), STR(S, "*OK\r\n+OK\r\n"),
		STR(C, "PASS \0\r\n"), STR(S, "+OK\r\n"),
	};

	(void)state;
	steps[2].len = 22;
	steps[5].len = 8;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_CREDENTIALS);
	assert_int_equal(r.f.banner.len, 10);
	assert_memory_equal(r.f.banner.b, "\x1b[31mred\0\xff", 10);
	assert_int_equal(r.f.cred_user.len, 5);
	assert_memory_equal(r.f.cred_user.b, "\x01\0bob", 5);
	assert_int_equal(r.st.bad_replies, 1);
	assert_int_equal(r.st.unpaired, 0);
}

/* Not POP3 on port 110: given up after the foreign-line limit. */
static void
test_not_pop3(void **state)
{
	struct run	 r;
	struct step	 http[] = {
		STR(C, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		STR(S, "HTTP/1.1 400 Bad Request\r\n"),
	};
	struct step	 tls[] = {		/* POP3S on the wrong port */
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};
	char		 plus[40 * 9 + 1];
	struct step	 cont[] = { STR(S, plus) };
	int		 i;

	(void)state;
	for (i = 0; i < 40; i++)	/* "+ " lines are no greeting */
		memcpy(plus + 9 * i, "+ hello\r\n", 9);
	plus[sizeof(plus) - 1] = '\0';
	RUN(cont, &r);
	assert_int_equal(r.f.flags, 0);
	assert_int_equal(r.state, MAIL_ST_DONE);
	RUN(http, &r);
	assert_false(r.f.flags & MAIL_F_PROTO);
	RUN(tls, &r);
	assert_int_equal(r.f.flags, 0);
	assert_int_equal(r.state, MAIL_ST_DONE);
}

/* An unterminated last line is parsed at the end. */
static void
test_end_parses_last_line(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREET), STR(C, "USER bob\r\nPASS x"),
	};

	(void)state;
	RUN(steps, &r);
	assert_true(r.f.flags & MAIL_F_CREDENTIALS);
}

static void
say(struct mail_session *s, int dir, const char *text)
{
	mail_data(s, dir, (const uint8_t *)text, strlen(text));
}

/* The first line decides the protocol, whatever the port guessed. */
static void
test_claims(void **state)
{
	static const struct {
		enum mail_proto	 start;
		int		 dir;
		const char	*line;
		enum mail_proto	 want;
	} t[] = {
		{ MAIL_PROTO_SMTP, S, "+OK ready\r\n", MAIL_PROTO_POP3 },
		{ MAIL_PROTO_SMTP, S, "-ERR busy\r\n", MAIL_PROTO_POP3 },
		{ MAIL_PROTO_SMTP, C, "CAPA\r\n", MAIL_PROTO_POP3 },
		{ MAIL_PROTO_SMTP, C, "STLS\r\n", MAIL_PROTO_POP3 },
		{ MAIL_PROTO_SMTP, C, "RETR 1\r\n", MAIL_PROTO_POP3 },
		{ MAIL_PROTO_SMTP, C, "apop a b\r\n", MAIL_PROTO_POP3 },
		{ MAIL_PROTO_SMTP, C, "QUIT\r\n", MAIL_PROTO_SMTP },
		{ MAIL_PROTO_SMTP, C, "AUTH PLAIN\r\n", MAIL_PROTO_SMTP },
		{ MAIL_PROTO_SMTP, S, "+ \r\n", MAIL_PROTO_SMTP },
		{ MAIL_PROTO_SMTP, S, "+OKAY\r\n", MAIL_PROTO_SMTP },
		{ MAIL_PROTO_POP3, S, "220 mx ESMTP\r\n", MAIL_PROTO_SMTP },
		{ MAIL_PROTO_POP3, C, "EHLO x\r\n", MAIL_PROTO_SMTP },
		{ MAIL_PROTO_POP3, C, "NOOP\r\n", MAIL_PROTO_POP3 },
		{ MAIL_PROTO_POP3, S, "+OK\r\n", MAIL_PROTO_POP3 },
	};
	struct mail_stats st;
	struct memcap	 mem;
	struct mail_session *s;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&st, 0, sizeof(st));
		memcap_init(&mem, SIZE_MAX);
		s = mail_session_new(t[i].start, &cfg, &st, &mem);
		assert_non_null(s);
		say(s, t[i].dir, t[i].line);
		assert_int_equal(mail_session_facts(s)->proto, t[i].want);
		mail_session_free(s);
		assert_int_equal(mem.used, 0);
	}
}

/* Random mixes of POP3 pieces, TLS bytes, garbage and gaps. */
static void
test_random_input(void **state)
{
	static const char *const pieces[] = {
		"+OK ready\r\n", "-ERR no\r\n", "+ \r\n", "+\r\n", ".\r\n",
		"..\r\n", "STLS\r\n", "XXXX\r\n", "CAPA\r\n", "USER bob\r\n",
		"PASS pw\r\n", "AUTH\r\n", "AUTH PLAIN\r\n", "AUTH LOGIN Ym9i\r\n",
		PLAIN_ALICE "\r\n", "*\r\n", "RETR 1\r\n", "TOP 1 1\r\n",
		"LIST\r\n", "UIDL 1\r\n", "QUIT\r\n", "\r\n", "\n", "\r", "\0",
		"SASL PLAIN\r\n",
	};

	(void)state;
	mt_random_sessions(MAIL_PROTO_POP3, pieces,
	    sizeof(pieces) / sizeof(pieces[0]), 11);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_stls),
		cmocka_unit_test(test_stls_without_capa),
		cmocka_unit_test(test_no_stls_apop),
		cmocka_unit_test(test_capa_masked),
		cmocka_unit_test(test_capa_masked_twins),
		cmocka_unit_test(test_capa_twice),
		cmocka_unit_test(test_capa_refused),
		cmocka_unit_test(test_capa_dot_stuffing),
		cmocka_unit_test(test_command_masked),
		cmocka_unit_test(test_stls_refused),
		cmocka_unit_test(test_plaintext_after),
		cmocka_unit_test(test_command_injection),
		cmocka_unit_test(test_response_injection),
		cmocka_unit_test(test_auth_credentials),
		cmocka_unit_test(test_auth_no_credentials),
		cmocka_unit_test(test_evidence_without_password),
		cmocka_unit_test(test_body_quotes),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_lower_case_lf),
		cmocka_unit_test(test_greeting_refused),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_not_pop3),
		cmocka_unit_test(test_end_parses_last_line),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_random_input),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
