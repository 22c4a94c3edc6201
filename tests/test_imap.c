/*
 * test_imap.c: the IMAP parser on whole conversations (mailtest.h feeds
 * each in one chunk per step, byte by byte and split at every offset, and
 * the facts must not change): greetings, capabilities in the greeting and
 * in responses, STARTTLS and its tagged answer, masking, injection,
 * plaintext after the upgrade, passwords sent in the clear (never kept),
 * literals in both directions with the protocol they quote, joining late,
 * gaps, hostile bytes; each positive case with a clean twin.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"

/* The protocol a session starts as: IMAP, as port 143 makes it. */
static enum mail_proto mt_proto = MAIL_PROTO_IMAP;
#define MT_PROTO	mt_proto
#include "mailtest.h"
#define MP_MAX		128	/* arkime_synthetic.pcap holds 94 */
#include "mailpcap.h"

#define CAPS_DOVECOT	"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE " \
			"LITERAL+"
#define GREET_TEXT	"[CAPABILITY " CAPS_DOVECOT " STARTTLS " \
			"LOGINDISABLED] Dovecot (Debian) ready."
#define GREETING	"* OK " GREET_TEXT "\r\n"
/* the same server behind a relay that deleted STARTTLS and LOGINDISABLED */
#define GREETING_NOTLS	"* OK [CAPABILITY " CAPS_DOVECOT " AUTH=PLAIN] " \
			"Dovecot (Debian) ready.\r\n"
#define STARTTLS_OK	"a1 OK Begin TLS negotiation now.\r\n"
#define BASE		(MAIL_F_PROTO | MAIL_F_GREETING | MAIL_F_CAPS)
#define TLS_FLAGS	(MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY | \
			MAIL_F_STARTTLS_ACCEPTED)

static int
setup_tls(void **state)
{
	(void)state;
	mt_setup_tls();
	return 0;
}

/* Run as a session that the port made SMTP, then back to IMAP. */
static void
run_from_smtp(const struct step *steps, size_t n, struct run *r)
{
	mt_proto = MAIL_PROTO_SMTP;
	run_all_ways(steps, n, r);
	mt_proto = MAIL_PROTO_IMAP;
}

static void
test_clean_starttls(void **state)
{
	struct run	 r;
	struct step	 tls13[] = {
		STR(S, GREETING), STR(C, "a1 STARTTLS\r\n"),
		STR(S, STARTTLS_OK),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};
	struct step	 tls12[] = {
		STR(S, GREETING), STR(C, "a1 STARTTLS\r\n"),
		STR(S, STARTTLS_OK),
		BIN(C, ch, ch_len), BIN(S, sh12, sh12_len),
	};

	(void)state;
	RUN(tls13, &r);
	assert_int_equal(r.f.proto, MAIL_PROTO_IMAP);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_LOGINDISABLED | TLS_FLAGS | MAIL_F_TLS_CLIENT_HELLO |
	    MAIL_F_TLS_SERVER_HELLO);
	assert_text(&r.f.banner, GREET_TEXT);
	assert_text(&r.f.starttls_line, "a1 OK Begin TLS negotiation now.");
	assert_string_equal(r.f.starttls_status, "OK");
	assert_int_equal(r.f.starttls_reply, 0);
	assert_int_equal(r.f.tls.version, 0x0304);
	assert_int_equal(r.f.tls.sni.len, 14);
	assert_int_equal(r.state, MAIL_ST_DONE);
	assert_int_equal(r.st.lines, 3);
	assert_int_equal(r.st.bad_replies, 0);
	assert_int_equal(r.f.cap_masked.len, 0);
	assert_int_equal(r.f.injected.len, 0);
	RUN(tls12, &r);
	assert_true(r.f.flags & MAIL_F_TLS_SERVER_HELLO);
	assert_int_equal(r.f.tls.version, 0x0303);
	assert_int_equal(r.f.tls.cipher, 0xc02f);
}

/* "* OK Ready." shows nothing; a CAPABILITY response or a [CAPABILITY]
 * code in a tagged OK does. */
static void
test_caps_in_responses(void **state)
{
	struct run	 r;
	struct step	 greet[] = {
		STR(S, "* OK IMAP4rev1 server ready\r\n"),
		STR(C, "a1 NOOP\r\n"), STR(S, "a1 OK done\r\n"),
	};
	struct step	 resp[] = {
		STR(S, "* OK IMAP4rev1 server ready\r\n"),
		STR(C, "a1 CAPABILITY\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n"
		    "a1 OK CAPABILITY completed\r\n"),
	};
	struct step	 code[] = {
		STR(S, "* OK IMAP4rev1 server ready\r\n"),
		STR(C, "a1 NOOP\r\n"),
		STR(S, "a1 OK [CAPABILITY IMAP4rev1 STARTTLS] NOOP done\r\n"),
	};
	struct step	 none[] = {
		STR(S, "* OK IMAP4rev1 server ready\r\n"),
		STR(C, "a1 CAPABILITY\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 AUTH=PLAIN IDLE\r\n"
		    "a1 OK CAPABILITY completed\r\n"),
	};
	struct step	 refused[] = {
		STR(S, "* OK IMAP4rev1 server ready\r\n"),
		STR(C, "a1 CAPABILITY\r\n"), STR(S, "a1 BAD not now\r\n"),
	};

	(void)state;
	RUN(greet, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING);
	assert_text(&r.f.banner, "IMAP4rev1 server ready");
	RUN(resp, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED);
	RUN(code, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED);
	RUN(none, &r);
	assert_int_equal(r.f.flags, BASE);
	RUN(refused, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_CAPS_REFUSED);
}

/* NO and BAD refuse; untagged lines and other tags answer nothing. */
static void
test_starttls_refused(void **state)
{
	struct run	 r;
	struct step	 no[] = {
		STR(S, GREETING), STR(C, "a0 NOOP\r\na1 STARTTLS\r\n"),
		STR(S, "a0 OK NOOP completed\r\n* OK [ALERT] hold on\r\n"
		    "* NO not yet\r\n* BAD nor now\r\n"),
		STR(S, "a1 NO STARTTLS not available\r\n"),
		STR(C, "a2 LOGOUT\r\n"), STR(S, "* BYE\r\na2 OK bye\r\n"),
	};
	struct step	 bad[] = {
		STR(S, GREETING), STR(C, "a1 STARTTLS\r\n"),
		STR(S, "a1 BAD [CLIENTBUG] TLS not configured\r\n"),
	};
	struct step	 unanswered[] = {
		STR(S, GREETING), STR(C, "a1 STARTTLS\r\n"),
		STR(S, "* OK still here\r\nA1 OK other tag\r\n"),
	};

	(void)state;
	RUN(no, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_LOGINDISABLED | MAIL_F_STARTTLS_REQUESTED |
	    MAIL_F_STARTTLS_REPLY | MAIL_F_QUIT);
	assert_string_equal(r.f.starttls_status, "NO");
	assert_text(&r.f.starttls_line, "a1 NO STARTTLS not available");
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	assert_int_equal(r.st.bad_replies, 0);
	RUN(bad, &r);
	assert_string_equal(r.f.starttls_status, "BAD");
	assert_false(r.f.flags & MAIL_F_STARTTLS_ACCEPTED);
	RUN(unanswered, &r);
	assert_false(r.f.flags & MAIL_F_STARTTLS_REPLY);
	assert_string_equal(r.f.starttls_status, "");
}

/*
 * STARTTLS masked in the greeting; the client logs in in the clear. A
 * masked keyword beside STARTTLS, and the real capabilities that start
 * with X, are no mask.
 */
static void
test_capability_masked(void **state)
{
	struct run	 r;
	struct step	 masked[] = {
		STR(S, "* OK [CAPABILITY IMAP4rev1 LITERAL+ XXXXXXXX "
		    "AUTH=PLAIN] Dovecot ready.\r\n"),
		STR(C, "a1 LOGIN bob Masked-PW1\r\n"),
		STR(S, "a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"),
	};
	struct step	 in_resp[] = {
		STR(S, "* OK Dovecot ready.\r\n"), STR(C, "a1 CAPABILITY\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 XXXXXXXA LOGINDISABLED\r\n"
		    "a1 OK done\r\n"),
	};
	struct step	 beside[] = {
		STR(S, "* OK [CAPABILITY IMAP4rev1 XXXXXXXX STARTTLS] hi\r\n"),
	};
	struct step	 xcaps[] = {
		STR(S, "* OK [CAPABILITY IMAP4rev1 XLIST X-GM-EXT-1 "
		    "XAPPLEPUSHSERVICE XYMHIGHESTMODSEQ X-SUN-IMAP XLIST-EXT "
		    "STARTTLS] Gimap ready\r\n"),
	};

	(void)state;
	RUN(masked, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_CAP_MASKED |
	    MAIL_F_CREDENTIALS);
	assert_text(&r.f.cap_masked, "* OK [CAPABILITY IMAP4rev1 LITERAL+ "
	    "XXXXXXXX AUTH=PLAIN] Dovecot ready.");
	assert_text(&r.f.cred_user, "bob");
	assert_string_equal(r.f.cred_mech, "LOGIN");
	assert_false(facts_hold(&r, "Masked-PW1"));
	RUN(in_resp, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_CAP_MASKED |
	    MAIL_F_LOGINDISABLED);
	assert_text(&r.f.cap_masked,
	    "* CAPABILITY IMAP4rev1 XXXXXXXA LOGINDISABLED");
	RUN(beside, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED);
	RUN(xcaps, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED);
	assert_int_equal(r.f.cap_masked.len, 0);
}

static void
test_masked_keyword_rule(void **state)
{
	static const char *const real[] = {
		"XLIST", "X-GM-EXT-1", "XAPPLEPUSHSERVICE", "XYMHIGHESTMODSEQ",
		"X-SUN-IMAP", "XLIST-EXT", "X-NETSCAPE",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(real) / sizeof(real[0]); i++)
		assert_false(mail_is_masked_keyword((const uint8_t *)real[i],
		    strlen(real[i])));
	assert_true(mail_is_masked_keyword((const uint8_t *)"XXXXXXXX", 8));
}

static void
test_command_masked(void **state)
{
	struct run	 r;
	struct step	 masked[] = {
		STR(S, GREETING), STR(C, "a1 XXXXXXXX\r\n"),
		STR(S, "a1 BAD Error in IMAP command received by server.\r\n"),
		STR(C, "a2 LOGOUT\r\n"),
	};
	struct step	 clean[] = {
		STR(S, GREETING), STR(C, "a1 XLIST \"\" *\r\n"),
		STR(S, "a1 BAD unknown\r\n"), STR(C, "a2 LOGOUT\r\n"),
	};

	(void)state;
	RUN(masked, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_LOGINDISABLED | MAIL_F_CMD_MASKED | MAIL_F_QUIT);
	assert_text(&r.f.cmd_masked, "a1 XXXXXXXX");
	RUN(clean, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_LOGINDISABLED | MAIL_F_QUIT);
}

/*
 * A LOGIN rides in the STARTTLS segment: injected, and a password in the
 * clear, which the evidence of the injection must not carry.
 */
static void
test_command_injection(void **state)
{
	struct run	 r;
	struct step	 inj[] = {
		STR(S, GREETING),
		STR(C, "a1 STARTTLS\r\na2 LOGIN bob Inject-PW2\r\n"),
		STR(S, STARTTLS_OK), BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};
	struct step	 clean[] = {
		STR(S, GREETING), STR(C, "a1 STARTTLS\r\n"),
		STR(S, STARTTLS_OK),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};

	(void)state;
	RUN(inj, &r);
	assert_true(r.f.flags & MAIL_F_CMD_INJECTION);
	assert_true(r.f.flags & MAIL_F_CREDENTIALS);
	assert_true(r.f.flags & MAIL_F_TLS_SERVER_HELLO);
	assert_text(&r.f.injected, "a2 LOGIN bob ");
	assert_false(facts_hold(&r, "Inject-PW2"));
	RUN(clean, &r);
	assert_false(r.f.flags & (MAIL_F_CMD_INJECTION | MAIL_F_CREDENTIALS));
}

static void
test_response_injection(void **state)
{
	struct run	 r;
	struct step	 inj[] = {
		STR(S, GREETING), STR(C, "a1 STARTTLS\r\n"),
		STR(S, "a1 OK Begin TLS negotiation now.\r\n"
		    "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};

	(void)state;
	RUN(inj, &r);
	assert_true(r.f.flags & MAIL_F_RESP_INJECTION);
	assert_false(r.f.flags & MAIL_F_CMD_INJECTION);
	assert_text(&r.f.injected, "* CAPABILITY IMAP4rev1 AUTH=PLAIN");
	assert_true(r.f.flags & MAIL_F_TLS_SERVER_HELLO);
}

/* OK to STARTTLS, then the client logs in in plaintext. */
static void
test_plaintext_after(void **state)
{
	struct run	 r;
	struct step	 plain[] = {
		STR(S, GREETING), STR(C, "a1 STARTTLS\r\n"),
		STR(S, STARTTLS_OK),
		STR(C, "a2 LOGIN \"bob\" \"After-PW3\"\r\n"),
		STR(S, "a2 OK Logged in\r\n"),
	};

	(void)state;
	RUN(plain, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_LOGINDISABLED | TLS_FLAGS | MAIL_F_PLAINTEXT_AFTER |
	    MAIL_F_CREDENTIALS);
	assert_text(&r.f.plaintext, "a2 LOGIN \"bob\" ");
	assert_text(&r.f.cred_user, "bob");
	assert_false(facts_hold(&r, "After-PW3"));
	assert_int_equal(r.state, MAIL_ST_COMMAND);
}

/* One LOGIN; the user it must keep and the password it must not. */
static void
login_case(const char *client, const char *server, const char *user,
    const char *password)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREETING_NOTLS), STR(C, client), STR(S, server),
		STR(C, "a2 LOGOUT\r\n"),
	};

	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_CREDENTIALS | MAIL_F_QUIT);
	assert_string_equal(r.f.cred_mech, "LOGIN");
	assert_text(&r.f.cred_user, user);
	if (*password != '\0')
		assert_false(facts_hold(&r, password));
	assert_int_equal(r.st.bad_replies, 0);
}

/* Atoms, quoted strings with escapes, literals synchronizing or not. */
static void
test_login_forms(void **state)
{
	(void)state;
	login_case("a1 LOGIN bob Atom-PW4\r\n", "a1 OK in\r\n", "bob",
	    "Atom-PW4");
	login_case("a1 login \"b\\\"o\\\\b\" \"Quo\\\"ted-PW5\"\r\n",
	    "a1 OK in\r\n", "b\"o\\b", "ted-PW5");
	login_case("a1 LOGIN {5}\r\nalice {9}\r\nLitPW-6xy\r\n",
	    "+ Ready\r\n+ Ready\r\na1 OK in\r\n", "alice", "LitPW-6xy");
	login_case("a1 LOGIN {4+}\r\ncarl {8+}\r\nLit+PW-7\r\n",
	    "a1 OK in\r\n", "carl", "Lit+PW-7");
	login_case("a1 LOGIN \"dave\" {10+}\r\nLitPW-8 \"x\r\n",
	    "a1 OK in\r\n", "dave", "LitPW-8");
	login_case("a1 LOGIN eve \"\"\r\n", "a1 NO [AUTHENTICATIONFAILED] "
	    "bad\r\n", "eve", "");
}

/* A LOGIN that does not end sends no password; a refused literal means
 * the client sends no literal bytes, and the next command is read. */
static void
test_login_incomplete(void **state)
{
	struct run	 r;
	struct step	 one_arg[] = {
		STR(S, GREETING), STR(C, "a1 LOGIN bob\r\n"),
		STR(S, "a1 BAD missing\r\n"),
	};
	struct step	 user_refused[] = {
		STR(S, GREETING), STR(C, "a1 LOGIN {300}\r\n"),
		STR(S, "a1 BAD literal too long\r\n"),
		STR(C, "a2 STARTTLS\r\n"), STR(S, "a2 OK go\r\n"),
	};
	struct step	 pass_refused[] = {
		STR(S, GREETING), STR(C, "a1 LOGIN bob {6}\r\n"),
		STR(S, "a1 NO [PRIVACYREQUIRED] no\r\n"),
		STR(C, "a2 LOGOUT\r\n"),
	};
	struct step	 unfinished[] = {
		STR(S, GREETING), STR(C, "a1 LOGIN bob {6+}\r\nsecret"),
	};

	(void)state;
	RUN(one_arg, &r);
	assert_false(r.f.flags & MAIL_F_CREDENTIALS);
	RUN(user_refused, &r);
	assert_false(r.f.flags & MAIL_F_CREDENTIALS);
	assert_true(r.f.flags & MAIL_F_STARTTLS_ACCEPTED);
	RUN(pass_refused, &r);
	assert_false(r.f.flags & MAIL_F_CREDENTIALS);
	assert_true(r.f.flags & MAIL_F_QUIT);
	RUN(unfinished, &r);
	assert_false(r.f.flags & MAIL_F_CREDENTIALS);
}

/* AUTHENTICATE PLAIN with SASL-IR and with a continuation, LOGIN; other
 * mechanisms and a cancelled exchange send no password. */
static void
test_authenticate(void **state)
{
	struct run	 r;
	/* "\0alice\0Sasl-PW9" */
	struct step	 ir[] = {
		STR(S, GREETING_NOTLS),
		STR(C, "a1 AUTHENTICATE PLAIN AGFsaWNlAFNhc2wtUFc5\r\n"),
		STR(S, "a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"),
		STR(C, "a2 LOGOUT\r\n"),
	};
	struct step	 cont[] = {
		STR(S, GREETING_NOTLS), STR(C, "a1 AUTHENTICATE PLAIN\r\n"),
		STR(S, "+ \r\n"), STR(C, "AGFsaWNlAFNhc2wtUFc5\r\n"),
		STR(S, "a1 OK Logged in\r\n"), STR(C, "a2 LOGOUT\r\n"),
	};
	/* "bob", "Sasl-PW10" */
	struct step	 login[] = {
		STR(S, GREETING_NOTLS), STR(C, "a1 AUTHENTICATE LOGIN\r\n"),
		STR(S, "+ VXNlcm5hbWU6\r\n"), STR(C, "Ym9i\r\n"),
		STR(S, "+ UGFzc3dvcmQ6\r\n"), STR(C, "U2FzbC1QVzEw\r\n"),
		STR(S, "a1 OK Logged in\r\n"), STR(C, "a2 LOGOUT\r\n"),
	};
	struct step	 none[] = {
		STR(S, GREETING_NOTLS), STR(C, "a1 AUTHENTICATE CRAM-MD5\r\n"),
		STR(S, "+ PDEyMzQ+\r\n"),
		STR(C, "Ym9iIDAxMjM0NTY3ODlhYmNkZWY=\r\n"),
		STR(S, "a1 NO failed\r\n"),
		STR(C, "a2 AUTHENTICATE PLAIN\r\n"), STR(S, "+ \r\n"),
		STR(C, "*\r\n"), STR(S, "a2 BAD cancelled\r\n"),
		STR(C, "a3 LOGOUT\r\n"),
	};

	(void)state;
	RUN(ir, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_CREDENTIALS | MAIL_F_QUIT);
	assert_string_equal(r.f.cred_mech, "AUTHENTICATE PLAIN");
	assert_text(&r.f.cred_user, "alice");
	assert_false(facts_hold(&r, "Sasl-PW9"));
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	RUN(cont, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_CREDENTIALS | MAIL_F_QUIT);
	assert_text(&r.f.cred_user, "alice");
	assert_false(facts_hold(&r, "Sasl-PW9"));
	RUN(login, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_CREDENTIALS | MAIL_F_QUIT);
	assert_string_equal(r.f.cred_mech, "AUTHENTICATE LOGIN");
	assert_text(&r.f.cred_user, "bob");
	assert_false(facts_hold(&r, "Sasl-PW10"));
	RUN(none, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_QUIT);
	assert_int_equal(r.state, MAIL_ST_COMMAND);
}

/* LOGINDISABLED shown, the client logs in anyway (Dovecot's answer). */
static void
test_logindisabled(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREETING), STR(C, "a1 LOGIN bob Disabled-PW11\r\n"),
		STR(S, "* BAD [ALERT] Plaintext authentication not allowed "
		    "without SSL/TLS, but your client did it anyway. If "
		    "anyone was listening, the password was exposed.\r\n"
		    "a1 NO [PRIVACYREQUIRED] Plaintext authentication "
		    "disallowed on non-secure (SSL/TLS) connections.\r\n"),
		STR(C, "a2 LOGOUT\r\n"),
	};
	struct step	 clean[] = {
		STR(S, GREETING), STR(C, "a1 LOGOUT\r\n"),
		STR(S, "* BYE Logging out\r\na1 OK Logout completed.\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_LOGINDISABLED | MAIL_F_CREDENTIALS | MAIL_F_QUIT);
	assert_false(facts_hold(&r, "Disabled-PW11"));
	RUN(clean, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_LOGINDISABLED | MAIL_F_QUIT);
	assert_int_equal(r.state, MAIL_ST_COMMAND);
}

/* PREAUTH: logged in by the connection, its capabilities no offer. */
static void
test_preauth(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "* PREAUTH [CAPABILITY IMAP4rev1 IDLE] Logged in as "
		    "bob\r\n"),
		STR(C, "a1 STARTTLS\r\n"), STR(S, "a1 BAD not now\r\n"),
		STR(C, "a2 CAPABILITY\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 IDLE\r\na2 OK done\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_PREAUTH | MAIL_F_STARTTLS_REQUESTED |
	    MAIL_F_STARTTLS_REPLY);
	assert_text(&r.f.banner, "[CAPABILITY IMAP4rev1 IDLE] Logged in as "
	    "bob");
	assert_string_equal(r.f.starttls_status, "BAD");
}

static void
test_bye_greeting(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "* BYE Too many connections from your IP\r\n"),
		STR(C, "a1 CAPABILITY\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_CLOSING);
	assert_text(&r.f.banner, "Too many connections from your IP");
	assert_int_equal(r.state, MAIL_ST_DONE);
}

/* After login a server lists no STARTTLS: that is no missing offer. */
static void
test_post_login_caps(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "* OK ready\r\n"), STR(C, "a1 LOGIN bob PostPW-12\r\n"),
		STR(S, "a1 OK [CAPABILITY IMAP4rev1 IDLE SORT] Logged in\r\n"),
		STR(C, "a2 CAPABILITY\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 IDLE SORT XXXXXXXX\r\n"
		    "a2 OK done\r\n"),
	};
	struct step	 failed[] = {
		STR(S, "* OK ready\r\n"), STR(C, "a1 LOGIN bob PostPW-12\r\n"),
		STR(S, "a1 NO [AUTHENTICATIONFAILED] failed\r\n"),
		STR(C, "a2 CAPABILITY\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na2 OK done\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_CREDENTIALS);
	RUN(failed, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_CREDENTIALS);
}

#define DECOY_BODY	"Subject: protocol in a message\r\n\r\n" \
			"* CAPABILITY IMAP4rev1 STARTTLS\r\n" \
			"* OK [CAPABILITY IMAP4rev1 XXXXXXXX] hi\r\n" \
			"a1 LOGIN bob secret\r\na1 OK Begin TLS\r\n" \
			"+OK\r\nSTLS\r\n* PREAUTH x\r\n{5}\r\n"

/*
 * Literals are body text, never protocol: a fetched message (one literal,
 * several in one response), a literal mailbox name, an appended message.
 */
static void
test_literal_decoys(void **state)
{
	char		 fetch[512], two[1024], append[512], list[128];
	struct run	 r;
	struct step	 server[] = {
		STR(S, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"),
		STR(C, "a1 FETCH 1 BODY[]\r\n"), STR(S, fetch),
		STR(S, "a1 OK Fetch completed.\r\n"),
		STR(C, "a2 STARTTLS\r\n"),
		STR(S, two), STR(S, list), STR(S, "a2 NO no\r\n"),
	};
	struct step	 client[] = {
		STR(S, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
		STR(C, append), STR(S, "+ Ready for literal data\r\n"),
		STR(C, DECOY_BODY "\r\n"), STR(S, "a3 OK APPEND done\r\n"),
		STR(C, "a4 LOGOUT\r\n"),
	};
	size_t		 blen = strlen(DECOY_BODY);

	(void)state;
	snprintf(fetch, sizeof(fetch), "* 1 FETCH (BODY[] {%zu}\r\n%s)\r\n",
	    blen, DECOY_BODY);
	snprintf(two, sizeof(two), "* 1 FETCH (UID 7 BODY[HEADER] {%zu}\r\n"
	    "%s BODY[TEXT] {%zu+}\r\n%s FLAGS (\\Seen))\r\n", blen,
	    DECOY_BODY, blen, DECOY_BODY);
	snprintf(list, sizeof(list), "* LIST () \"/\" {%zu}\r\n%s\r\n",
	    strlen("a2 OK go"), "a2 OK go");
	snprintf(append, sizeof(append), "a3 APPEND INBOX (\\Seen) {%zu}\r\n",
	    blen);
	RUN(server, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_REQUESTED |
	    MAIL_F_STARTTLS_REPLY);
	assert_text(&r.f.starttls_line, "a2 NO no");
	assert_int_equal(r.st.bad_replies, 0);
	assert_int_equal(r.st.lines, 12);
	RUN(client, &r);
	assert_int_equal(r.f.flags, BASE | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_QUIT);
	assert_int_equal(r.st.bad_replies, 0);
}

/* Sizes that cannot be used are counted; the line ends there. */
static void
test_literal_bad_size(void **state)
{
	struct run	 r;
	struct step	 server[] = {
		STR(S, "* OK ready\r\n"),
		STR(S, "* 1 FETCH (BODY[] {99999999999999999999}\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 STARTTLS\r\n"),
		STR(S, "* 2 FETCH (BODY[] {281474976710657}\r\n"),
		STR(S, "* LIST () \"/\" {}\r\n"),
		STR(S, "* OK [ALERT] braces {in text}\r\n"),
	};
	struct step	 client[] = {
		STR(S, "* OK ready\r\n"), STR(C, "a1 APPEND INBOX {1x}\r\n"),
		STR(C, "a2 LOGIN bob {123456789012345678}\r\n"),
		STR(C, "a3 STARTTLS\r\n"),
	};
	struct step	 max[] = {
		STR(S, "* OK ready\r\n"),
		STR(S, "* 1 FETCH (BODY[] {281474976710656}\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 STARTTLS\r\n"),
	};

	(void)state;
	RUN(server, &r);
	assert_int_equal(r.st.bad_bdat, 3);
	assert_true(r.f.flags & MAIL_F_STARTTLS_OFFERED);
	RUN(client, &r);
	assert_int_equal(r.st.bad_bdat, 1);
	assert_true(r.f.flags & MAIL_F_STARTTLS_REQUESTED);
	/* two arguments begun: a password, whatever its size said */
	assert_true(r.f.flags & MAIL_F_CREDENTIALS);
	RUN(max, &r);
	assert_int_equal(r.st.bad_bdat, 0);
	assert_false(r.f.flags & MAIL_F_STARTTLS_OFFERED);
}

/* Joined late: tagged or data responses first; a list counts only with
 * a sign of the not-authenticated state. */
static void
test_midstream(void **state)
{
	struct run	 r;
	struct step	 late[] = {
		STR(S, "* 3 EXISTS\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 IDLE SORT\r\n"),
		STR(C, "a7 LOGOUT\r\n"), STR(S, "a7 OK bye\r\n"),
	};
	struct step	 tagged[] = {
		STR(S, "a5 OK FETCH completed.\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n"),
	};
	struct step	 login[] = {
		STR(C, "x LOGIN bob LatePW-13\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 IDLE\r\nx NO failed\r\n"),
	};

	(void)state;
	RUN(late, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_MIDSTREAM |
	    MAIL_F_QUIT);
	RUN(tagged, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_MIDSTREAM |
	    MAIL_F_CAPS | MAIL_F_STARTTLS_OFFERED);
	RUN(login, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_MIDSTREAM |
	    MAIL_F_CAPS | MAIL_F_CREDENTIALS);
	assert_false(facts_hold(&r, "LatePW-13"));
}

/* The client's first command captured before the greeting. */
static void
test_client_ahead(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(C, "a1 CAPABILITY\r\n"), STR(S, GREETING_NOTLS),
		STR(S, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na1 OK done\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE);
	assert_int_equal(r.st.bad_replies, 0);
}

/* Which protocol a first line claims, whatever the port suggested. */
static void
test_claims(void **state)
{
	struct run	 r;
	struct step	 greet[] = {
		STR(S, GREETING), STR(C, "a1 STARTTLS\r\n"),
		STR(S, STARTTLS_OK),
	};
	struct step	 cmd[] = {
		STR(C, "A0001 CAPABILITY\r\n"),
		STR(S, "* CAPABILITY IMAP4rev1 STARTTLS\r\nA0001 OK done\r\n"),
	};
	struct step	 smtp_auth[] = {
		STR(C, "AUTH LOGIN\r\n"), STR(S, "334 VXNlcm5hbWU6\r\n"),
	};
	struct step	 smtp[] = {
		STR(S, "220 mx.example.com ESMTP\r\n"),
		STR(C, "a1 LOGIN x y\r\n"),
	};
	/* joined inside an SMTP message: prose, not a tagged command */
	struct step	 prose[] = {
		STR(C, "I select the best offer\r\n.\r\n"),
		STR(S, "250 2.0.0 Ok: queued\r\n"),
	};

	(void)state;
	run_from_smtp(greet, sizeof(greet) / sizeof(greet[0]), &r);
	assert_int_equal(r.f.proto, MAIL_PROTO_IMAP);
	assert_true(r.f.flags & MAIL_F_STARTTLS_ACCEPTED);
	run_from_smtp(cmd, sizeof(cmd) / sizeof(cmd[0]), &r);
	assert_int_equal(r.f.proto, MAIL_PROTO_IMAP);
	assert_true(r.f.flags & MAIL_F_STARTTLS_OFFERED);
	run_from_smtp(smtp_auth, sizeof(smtp_auth) / sizeof(smtp_auth[0]),
	    &r);
	assert_int_equal(r.f.proto, MAIL_PROTO_SMTP);
	RUN(smtp, &r);
	assert_int_equal(r.f.proto, MAIL_PROTO_SMTP);
	run_from_smtp(prose, sizeof(prose) / sizeof(prose[0]), &r);
	assert_int_equal(r.f.proto, MAIL_PROTO_SMTP);
}

/* Tags pair exactly, the long ones too. */
static void
test_tags(void **state)
{
	struct run	 r;
	struct step	 longtag[] = {
		STR(S, GREETING), STR(C, "abcdefghijklmnop1 STARTTLS\r\n"),
		STR(S, "abcdefghijklmnop OK not it\r\n"
		    "abcdefghijklmnop12 OK nor this\r\n"
		    "abcdefghijklmnop1 NO this one\r\n"),
	};
	struct step	 overflow[] = {
		STR(S, "* OK ready\r\n"),
		STR(C, "a1 CAPABILITY\r\na2 CAPABILITY\r\na3 CAPABILITY\r\n"
		    "a4 STARTTLS\r\n"),
		STR(S, "a4 OK go\r\n"),
	};

	(void)state;
	RUN(longtag, &r);
	assert_text(&r.f.starttls_line, "abcdefghijklmnop1 NO this one");
	RUN(overflow, &r);
	assert_int_equal(r.st.pipeline_full, 1);
	assert_true(r.f.flags & MAIL_F_STARTTLS_ACCEPTED);
}

/* IDLE's DONE, continuation requests and junk lines are stepped over. */
static void
test_idle(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, GREETING), STR(C, "a1 IDLE\r\n"),
		STR(S, "+ idling\r\n"),
		STR(S, "* 4 EXISTS\r\n"), STR(C, "DONE\r\n"),
		STR(S, "a1 OK Idle completed.\r\n"), STR(C, "a2 STARTTLS\r\n"),
		STR(S, "a2 OK go\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_true(r.f.flags & MAIL_F_STARTTLS_ACCEPTED);
	assert_int_equal(r.st.bad_replies, 0);
}

/* Lost bytes: a literal ending in the hole, a LOGIN cut by one. */
static void
test_gaps(void **state)
{
	struct run	 r;
	struct step	 in_literal[] = {
		STR(S, "* OK ready\r\n"), STR(C, "a1 FETCH 1 BODY[]\r\n"),
		STR(S, "* 1 FETCH (BODY[] {40}\r\n0123456789"), LOSS(S, 40),
		STR(S, "ail)\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\n"),
	};
	struct step	 within[] = {
		STR(S, "* OK ready\r\n"),
		STR(S, "* 1 FETCH (BODY[] {40}\r\n0123456789"), LOSS(S, 10),
		STR(S, "* CAPABILITY IMAP4rev1 STARTTLS\r\n)\r\n"),
	};
	struct step	 user[] = {
		STR(S, "* OK ready\r\n"), STR(C, "a1 LOGIN {10+}\r\nabcd"),
		LOSS(C, 3), STR(C, "xyz pw\r\n"),
	};

	(void)state;
	RUN(in_literal, &r);
	/* the rest of the line after the hole is skipped, then lines */
	assert_true(r.f.flags & MAIL_F_STARTTLS_OFFERED);
	assert_true(r.f.flags & MAIL_F_GAP);
	RUN(within, &r);
	assert_false(r.f.flags & MAIL_F_STARTTLS_OFFERED);
	RUN(user, &r);
	/* no name that was never sent: only the bytes before the hole */
	assert_true(r.f.flags & MAIL_F_CREDENTIALS);
	assert_text(&r.f.cred_user, "abcd");
}

/* Over-long lines, NUL bytes, lines of another protocol. */
static void
test_hostile(void **state)
{
	char		*line;
	struct run	 r;
	struct step	 longl[] = {
		STR(S, GREETING), STR(C, NULL), STR(C, "a2 STARTTLS\r\n"),
		STR(S, "a2 OK go\r\n"),
	};
	struct step	 nul[] = {
		STR(S, GREETING),
		BIN(C, "a1 LOGIN b\0b p\0w\r\na2 STARTTLS\r\n", 31),
		BIN(S, "a1 NO\0x\r\na2 OK go\r\n", 19),
	};
	struct step	 http[] = {
		STR(C, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		STR(S, "HTTP/1.1 200 OK\r\n"),
	};
	struct step	 binary[] = {
		BIN(S, "\0\1\2\3\n", 5),
	};

	(void)state;
	line = malloc(3000);
	assert_non_null(line);
	memset(line, 'a', 2996);
	memcpy(line, "a1 SEARCH ", 10);
	memcpy(line + 2996, "{5}\n", 4);	/* cut before: no literal */
	longl[1].data = line;
	longl[1].len = 3000;
	RUN(longl, &r);
	assert_int_equal(r.st.long_lines, 1);
	assert_true(r.f.flags & MAIL_F_STARTTLS_ACCEPTED);
	free(line);
	RUN(nul, &r);
	assert_true(r.f.flags & MAIL_F_STARTTLS_ACCEPTED);
	assert_true(r.f.flags & MAIL_F_CREDENTIALS);
	RUN(http, &r);
	assert_int_equal(r.f.flags, 0);
	RUN(binary, &r);
	assert_int_equal(r.f.flags, 0);
	assert_int_equal(r.state, MAIL_ST_DONE);
}

/* Random mixes of IMAP pieces, TLS bytes, garbage and gaps: no crash,
 * evidence bounded, every charge given back (run under ASan too). */
static void
test_random_input(void **state)
{
	static const char *const pieces[] = {
		"* OK [CAPABILITY IMAP4rev1 STARTTLS]\r\n", "* PREAUTH x\r\n",
		"* BYE\r\n", "a1 STARTTLS\r\n", "a1 OK go\r\n", "a1 NO\r\n",
		"a2 LOGIN bob pw\r\n", "a2 LOGIN {3}\r\n", "{5+}\r\n",
		"{0}\r\n", "* 1 FETCH (BODY[] {7}\r\n", "+ \r\n",
		"a3 AUTHENTICATE PLAIN\r\n",
		"AGJvYgBwdw==\r\n", "*\r\n", "a4 XXXXXXXX\r\n", "\"q\\\"\r\n",
		"* CAPABILITY XXXXXXXX LOGINDISABLED\r\n", "\r\n", "\n", "\0",
		"a5 LOGOUT\r\n", "{99999999999999999}\r\n", ")\r\n",
	};

	(void)state;
	mt_random_sessions(MAIL_PROTO_IMAP, pieces,
	    sizeof(pieces) / sizeof(pieces[0]), 16);
}

#define F_CONV		(MAIL_F_PROTO | MAIL_F_GREETING | MAIL_F_CAPS)
#define F_TLS		(F_CONV | MAIL_F_STARTTLS_OFFERED | TLS_FLAGS | \
			MAIL_F_TLS_CLIENT_HELLO | MAIL_F_TLS_SERVER_HELLO)
#define PUBLIC		TOP "/../shared/pcaps-public/"

/*
 * What each capture with IMAP must leave, session by session on port
 * 143: the bundled ones as tools/pcapgen.py scripted them, the public
 * ones as tshark shows them (tests/pcap-cases-imap says why).
 */
static const struct cap_want {
	const char	*file;
	int		 n;		/* IMAP sessions */
	uint32_t	 flags[2];	/* of the first two */
	const char	*mech;		/* cred_mech of the first with one */
	const char	*user;		/* and its user */
	const char	*password;	/* nowhere in any facts */
} caps_want[] = {
	{ TOP "/pcaps/imap-clean-starttls-tls12.pcap", 1,
	    { F_TLS | MAIL_F_LOGINDISABLED }, NULL, NULL, NULL },
	{ TOP "/pcaps/imap-clean-starttls-tls13.pcap", 1,
	    { F_TLS | MAIL_F_LOGINDISABLED }, NULL, NULL, NULL },
	{ TOP "/pcaps/imap-clean-body-quotes.pcap", 1,
	    { F_CONV | MAIL_F_QUIT }, NULL, NULL, "Imap-Secr3t" },
	{ TOP "/pcaps/imap-clean-bye.pcap", 1,
	    { MAIL_F_PROTO | MAIL_F_GREETING | MAIL_F_CLOSING },
	    NULL, NULL, NULL },
	{ TOP "/pcaps/imap-pos-capability-masked.pcap", 1,
	    { F_CONV | MAIL_F_CAP_MASKED | MAIL_F_CREDENTIALS | MAIL_F_QUIT },
	    "LOGIN", "bob", "Imap-Secr3t" },
	{ TOP "/pcaps/imap-pos-cmd-masked.pcap", 1,
	    { F_CONV | MAIL_F_STARTTLS_OFFERED | MAIL_F_LOGINDISABLED |
	    MAIL_F_CMD_MASKED | MAIL_F_QUIT }, NULL, NULL, NULL },
	{ TOP "/pcaps/imap-pos-refused.pcap", 1,
	    { F_CONV | MAIL_F_STARTTLS_OFFERED | MAIL_F_LOGINDISABLED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY | MAIL_F_QUIT },
	    NULL, NULL, NULL },
	{ TOP "/pcaps/imap-pos-plaintext-after-starttls.pcap", 1,
	    { F_CONV | MAIL_F_STARTTLS_OFFERED | TLS_FLAGS |
	    MAIL_F_PLAINTEXT_AFTER | MAIL_F_CREDENTIALS | MAIL_F_QUIT },
	    "LOGIN", "bob", "Imap-Secr3t" },
	{ TOP "/pcaps/imap-pos-cmd-injection.pcap", 1,
	    { F_TLS | MAIL_F_CMD_INJECTION | MAIL_F_CREDENTIALS },
	    "LOGIN", "bob", "Imap-Secr3t" },
	{ TOP "/pcaps/imap-pos-resp-injection.pcap", 1,
	    { F_TLS | MAIL_F_LOGINDISABLED | MAIL_F_RESP_INJECTION },
	    NULL, NULL, NULL },
	{ TOP "/pcaps/imap-pos-preauth.pcap", 1,
	    { MAIL_F_PROTO | MAIL_F_GREETING | MAIL_F_PREAUTH | MAIL_F_QUIT },
	    NULL, NULL, NULL },
	{ TOP "/pcaps/imap-pos-logindisabled-login.pcap", 1,
	    { F_CONV | MAIL_F_STARTTLS_OFFERED | MAIL_F_LOGINDISABLED |
	    MAIL_F_CREDENTIALS | MAIL_F_QUIT }, "LOGIN", "bob",
	    "Imap-Secr3t" },
	{ TOP "/pcaps/imap-pos-auth-plain-ir.pcap", 1,
	    { F_CONV | MAIL_F_CREDENTIALS | MAIL_F_QUIT },
	    "AUTHENTICATE PLAIN", "bob", "Imap-Secr3t" },
	{ TOP "/pcaps/imap-pos-auth-plain-cont.pcap", 1,
	    { F_CONV | MAIL_F_CREDENTIALS | MAIL_F_QUIT },
	    "AUTHENTICATE PLAIN", "bob", "Imap-Secr3t" },
	{ TOP "/pcaps/imap-hist-starttls-vanished.pcap", 2,
	    { F_TLS | MAIL_F_LOGINDISABLED,
	    F_CONV | MAIL_F_CREDENTIALS | MAIL_F_QUIT }, "LOGIN", "bob",
	    "Imap-Secr3t" },
	{ PUBLIC "zeek/imap-starttls.pcap", 1, { F_TLS }, NULL, NULL, NULL },
	{ PUBLIC "mercury/imap2.pcap", 1, { F_TLS }, NULL, NULL, NULL },
	{ PUBLIC "chrissanders-packets/mail_receiver_server_3.pcapng", 1,
	    { F_TLS | MAIL_F_LOGINDISABLED }, NULL, NULL, NULL },
	{ PUBLIC "suricata-verify/imap.pcap", 1,
	    { F_CONV | MAIL_F_STARTTLS_OFFERED | MAIL_F_CREDENTIALS |
	    MAIL_F_QUIT }, "AUTHENTICATE PLAIN",
	    "digitalinvestigator@networksims.com", "napier123" },
	{ PUBLIC "suricata-verify/tcp-async-01.pcap", 1,
	    { F_CONV | MAIL_F_STARTTLS_OFFERED }, NULL, NULL, NULL },
	{ PUBLIC "arkime/arkime_synthetic.pcap", 2,
	    { MAIL_F_PROTO | MAIL_F_GREETING, MAIL_F_PROTO | MAIL_F_GREETING },
	    NULL, NULL, NULL },
	{ PUBLIC "arkime/ntlm_synthetic.pcap", 1,
	    { MAIL_F_PROTO | MAIL_F_GREETING | MAIL_F_QUIT },
	    NULL, NULL, NULL },
};

static void
check_capture(const struct cap_want *w, struct mp_capture *c)
{
	const struct run *r;
	int		 i, k = 0, creds = 0;

	for (i = 0; i < c->n && i < MP_MAX; i++) {
		r = &c->s[i].r;
		if (c->s[i].tuple.server_port != 143)
			continue;
		assert_int_equal(r->f.proto, MAIL_PROTO_IMAP);
		if (k < 2)
			assert_int_equal(r->f.flags, w->flags[k]);
		if (w->mech != NULL && !creds &&
		    (r->f.flags & MAIL_F_CREDENTIALS)) {
			assert_string_equal(r->f.cred_mech, w->mech);
			assert_text(&r->f.cred_user, w->user);
			creds = 1;
		}
		if (w->password != NULL)
			assert_false(facts_hold(r, w->password));
		k++;
	}
	assert_int_equal(k, w->n);
	assert_int_equal(creds, w->mech != NULL);
	/* the bundled ones hold nothing but IMAP */
	if (strstr(w->file, "pcaps-public") == NULL)
		assert_int_equal(c->st.bad_replies, 0);
}

/* The bundled and public captures through decode, flows and reassembly. */
static void
test_captures(void **state)
{
	static struct mp_capture c;
	size_t		 i;
	int		 public = 0;

	(void)state;
	for (i = 0; i < sizeof(caps_want) / sizeof(caps_want[0]); i++) {
		if (mp_read_port(caps_want[i].file, 0, &c) == -1) {
			/* bundled ones must be there, public ones may not */
			assert_non_null(strstr(caps_want[i].file,
			    "/shared/pcaps-public/"));
			continue;
		}
		public += strstr(caps_want[i].file, "pcaps-public") != NULL;
		check_capture(&caps_want[i], &c);
	}
	if (public == 0)
		print_message("public captures absent: only pcaps/ checked\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_starttls),
		cmocka_unit_test(test_caps_in_responses),
		cmocka_unit_test(test_starttls_refused),
		cmocka_unit_test(test_capability_masked),
		cmocka_unit_test(test_masked_keyword_rule),
		cmocka_unit_test(test_command_masked),
		cmocka_unit_test(test_command_injection),
		cmocka_unit_test(test_response_injection),
		cmocka_unit_test(test_plaintext_after),
		cmocka_unit_test(test_login_forms),
		cmocka_unit_test(test_login_incomplete),
		cmocka_unit_test(test_authenticate),
		cmocka_unit_test(test_logindisabled),
		cmocka_unit_test(test_preauth),
		cmocka_unit_test(test_bye_greeting),
		cmocka_unit_test(test_post_login_caps),
		cmocka_unit_test(test_literal_decoys),
		cmocka_unit_test(test_literal_bad_size),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_client_ahead),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_random_input),
		cmocka_unit_test(test_captures),
	};

	return cmocka_run_group_tests(tests, setup_tls, NULL);
}
