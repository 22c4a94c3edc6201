/*
 * test_smtp.c: the SMTP parser on whole conversations (tests/mailtest.h
 * feeds each every way and checks that the facts never change).
 */
#define MT_PROTO	MAIL_PROTO_SMTP

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>

#include "mailtest.h"
#include "mailpriv.h"	/* mail_ieq() */

/* STARTTLS with the ClientHello in one segment, 220 with the ServerHello. */
static uint8_t	 racing_c[600], racing_s[300];
static size_t	 racing_c_len, racing_s_len;

static int
setup_tls(void **state)
{
	(void)state;
	mt_setup_tls();
	memcpy(racing_c, "STARTTLS\r\n", 10);
	memcpy(racing_c + 10, ch, ch_len);
	racing_c_len = 10 + ch_len;
	memcpy(racing_s, "220 2.0.0 go ahead\r\n", 20);
	memcpy(racing_s + 20, sh, sh_len);
	racing_s_len = 20 + sh_len;
	return 0;
}

#define BANNER	"220 mx.example.com ESMTP Postfix\r\n"
#define EHLO	"EHLO client.example.org\r\n"
#define CAPS_TLS "250-mx.example.com\r\n250-PIPELINING\r\n" \
		"250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
#define CAPS_NOTLS "250-mx.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
#define BASE_FLAGS (MAIL_F_PROTO | MAIL_F_GREETING | MAIL_F_EHLO | \
		    MAIL_F_CAPS)

static void
test_clean_starttls(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\n"),
		STR(S, "220 2.0.0 Ready to start TLS\r\n"),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED | MAIL_F_TLS_CLIENT_HELLO |
	    MAIL_F_TLS_SERVER_HELLO);
	assert_text(&r.f.banner, "mx.example.com ESMTP Postfix");
	assert_text(&r.f.helo, "client.example.org");
	assert_text(&r.f.starttls_line, "220 2.0.0 Ready to start TLS");
	assert_int_equal(r.f.starttls_reply, 220);
	assert_int_equal(r.f.ehlo_reply, 250);
	assert_int_equal(r.f.ehlo_count, 1);
	assert_int_equal(r.f.tls.client_version, 0x0304);
	assert_int_equal(r.f.tls.version, 0x0304);
	assert_int_equal(r.f.tls.cipher, 0x1301);
	assert_int_equal(r.f.tls.sni.len, 14);
	assert_memory_equal(r.f.tls.sni.b, "mx.example.com", 14);
	assert_int_equal(r.state, MAIL_ST_DONE);
	assert_int_equal(r.ret[0], 1);
	assert_int_equal(r.ret[1], 1);
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.st.bad_replies, 0);
	assert_int_equal(r.st.lines, 9);
}

static void
test_no_starttls(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_NOTLS),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
		STR(C, "RCPT TO:<b@example.com>\r\n"), STR(S, "250 ok\r\n"),
		STR(C, "DATA\r\n"), STR(S, "354 go\r\n"),
		STR(C, "Subject: hi\r\n\r\nhello\r\n.\r\n"),
		STR(S, "250 queued\r\n"), STR(C, "QUIT\r\n"),
		STR(S, "221 bye\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_QUIT);
	assert_int_equal(r.f.starttls_reply, 0);
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.ret[0], 0);
}

static void
test_exchange_caps(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "220 ex.example.com Microsoft ESMTP MAIL Service\r\n"),
		STR(C, EHLO),
		STR(S, "250-ex.example.com Hello [192.0.2.1]\r\n"
		    "250-XEXCH50\r\n250-X-ANONYMOUSTLS\r\n250-XRDST\r\n"
		    "250-X-EXPS GSSAPI NTLM\r\n250-XCLIENT NAME ADDR\r\n"
		    "250-XFORWARD NAME\r\n250-STARTTLS\r\n"
		    "250 XSHADOW\r\n"),
		STR(C, "QUIT\r\n"), STR(S, "221 bye\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_QUIT);
	assert_int_equal(r.f.cap_masked.len, 0);
}

static void
test_asa_masked(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "220 mx.example.com ESMTP\r\n"), STR(C, EHLO),
		STR(S, "250-mx.example.com\r\n250-PIPELINING\r\n"
		    "250-XXXXXXXA\r\n250 8BITMIME\r\n"),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_CAP_MASKED);
	assert_text(&r.f.cap_masked, "250-XXXXXXXA");
}

static void
test_asa_exchange_masked(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "220 mx.example.com ESMTP\r\n"), STR(C, EHLO),
		STR(S, "250-mx.example.com\r\n250-XXXA\r\n250-XXXXXXXB\r\n"
		    "250-XXXC\r\n250 SIZE\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_CAP_MASKED);
	/* the one as long as STARTTLS wins */
	assert_text(&r.f.cap_masked, "250-XXXXXXXB");
}

static void
test_command_masked(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "XXXXXXXX\r\n"),
		STR(S, "500 5.5.1 command unrecognized\r\n"),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_CMD_MASKED);
	assert_text(&r.f.cmd_masked, "XXXXXXXX");
	assert_int_equal(r.st.unpaired, 0);
}

static void
test_starttls_refused(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\n"),
		STR(S, "454 4.7.0 TLS not available\r\n"),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY);
	assert_int_equal(r.f.starttls_reply, 454);
	assert_text(&r.f.starttls_line, "454 4.7.0 TLS not available");
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	assert_int_equal(r.st.unpaired, 0);
}

static void
test_plaintext_after(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\n"), STR(S, "220 go ahead\r\n"),
		STR(C, "EHLO again.example.org\r\n"),
		STR(S, "250-mx.example.com\r\n250 PIPELINING\r\n"),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED | MAIL_F_PLAINTEXT_AFTER);
	assert_text(&r.f.plaintext, "EHLO again.example.org");
	assert_text(&r.f.helo, "client.example.org");
	assert_int_equal(r.f.ehlo_count, 2);
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	assert_int_equal(r.st.unpaired, 0);
}

static void
test_command_injection(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\nRSET\r\n"), STR(S, "220 go ahead\r\n"),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED | MAIL_F_CMD_INJECTION |
	    MAIL_F_TLS_CLIENT_HELLO | MAIL_F_TLS_SERVER_HELLO);
	assert_text(&r.f.injected, "RSET");
}

static void
test_response_injection(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\n"), STR(S, "220 go\r\n250 x\r\n"),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED | MAIL_F_RESP_INJECTION |
	    MAIL_F_TLS_CLIENT_HELLO | MAIL_F_TLS_SERVER_HELLO);
	assert_text(&r.f.injected, "250 x");
	assert_text(&r.f.starttls_line, "220 go");
}

/* The ClientHello is captured before the 220 it waited for. */
static void
test_client_hello_races(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		BIN(C, racing_c, racing_c_len),
		BIN(S, racing_s, racing_s_len),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED | MAIL_F_TLS_CLIENT_HELLO |
	    MAIL_F_TLS_SERVER_HELLO);
	assert_int_equal(r.f.starttls_reply, 220);
	assert_int_equal(r.state, MAIL_ST_DONE);
}

/* Injected commands get no reply after the 220: the next reply is the
 * plaintext EHLO's. */
static void
test_injection_then_plaintext(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\nRSET\r\n"), STR(S, "220 go ahead\r\n"),
		STR(C, "EHLO client.example.org\r\n"),
		STR(S, "250-mx.example.com\r\n250 XXXXXXXA\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_true(r.f.flags & MAIL_F_CMD_INJECTION);
	assert_true(r.f.flags & MAIL_F_PLAINTEXT_AFTER);
	assert_text(&r.f.cap_masked, "250 XXXXXXXA");
	assert_int_equal(r.st.unpaired, 0);
}

/* Server plaintext where its ServerHello should be. */
static void
test_server_plaintext_after_hello(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\n"), STR(S, "220 go\r\n"),
		BIN(C, ch, ch_len), STR(S, "250 decrypted\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_true(r.f.flags & MAIL_F_PLAINTEXT_AFTER);
	assert_true(r.f.flags & MAIL_F_TLS_CLIENT_HELLO);
	assert_false(r.f.flags & MAIL_F_RESP_INJECTION);
	assert_text(&r.f.plaintext, "250 decrypted");
}

static void
test_data_body_quotes(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_NOTLS),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
		STR(C, "RCPT TO:<b@example.com>\r\n"), STR(S, "250 ok\r\n"),
		STR(C, "DATA\r\n"), STR(S, "354 go\r\n"),
		STR(C, "Subject: quoting\r\n\r\n250-XXXXXXXA\r\nXXXXXXXX\r\n"
		    "STARTTLS\r\nEHLO evil\r\n..\r\n.x\r\n220 go\r\n.\r\n"),
		STR(S, "250 queued\r\n"),
		STR(C, "RSET\r\nSTARTTLS\r\n"), STR(S, "250 ok\r\n454 no\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	/* the only STARTTLS is the real one after the body */
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_REQUESTED |
	    MAIL_F_STARTTLS_REPLY);
	assert_int_equal(r.f.starttls_reply, 454);
	assert_int_equal(r.f.ehlo_count, 1);
	assert_int_equal(r.st.unpaired, 0);
}

/*
 * Random bodies, each line's first byte often a '.', commands inside, bare
 * LFs and CRs: the body ends at its "." line and not before, whether it
 * comes at once (long spans are searched 32 bytes at a time where the CPU
 * can), one byte at a time (line by line), or cut at random points.
 */
static void
test_data_body_random(void **state)
{
	static const char alphabet[] = "ab .\r\t.EHLO x";
	static const char *const words[] = {
		"EHLO evil", "STARTTLS", "250 ok", ".", ".\r", "220 go",
	};
	static const struct step head[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
		STR(C, "RCPT TO:<b@example.com>\r\n"), STR(S, "250 ok\r\n"),
		STR(C, "DATA\r\n"), STR(S, "354 go\r\n"),
	}, tail[] = {
		STR(S, "250 queued\r\n250 ok\r\n250 ok\r\n250 ok\r\n"
		    "454 no\r\n"),
	};
	/* After the body, in the same bytes: pipelined commands, enough
	 * for its end to be where the search goes 32 bytes at a time. */
	static const char after[] = ".\r\nRSET\r\nNOOP\r\nNOOP\r\n"
	    "STARTTLS\r\n";
	static char	 body[8192 + 64];
	struct step	 steps[16];
	struct run	 r, one;
	char		 ln[160];
	size_t		 n, lines, len, i, k, cut[4];
	int		 trial;

	(void)state;
	srand(20261204);
	for (trial = 0; trial < 300; trial++) {
		lines = (size_t)rand() % 120;
		for (n = 0; lines > 0; lines--) {
			if (rand() % 4 == 0)
				len = (size_t)snprintf(ln, sizeof(ln), "%s",
				    words[(size_t)rand() % 6]);
			else
				for (len = (size_t)rand() % 150, i = 0;
				    i < len; i++)
					ln[i] = alphabet[(size_t)rand() %
					    (sizeof(alphabet) - 1)];
			/* Stuffed, as a client sends it: no line of the
			 * body is "." (or ".\r" before a bare LF). */
			if (len > 0 && ln[0] == '.')
				body[n++] = '.';
			memcpy(body + n, ln, len);
			n += len;
			n += (size_t)snprintf(body + n, 3, "%s",
			    rand() % 3 ? "\r\n" : "\n");
		}
		n += (size_t)snprintf(body + n, sizeof(after), "%s", after);
		/* The body in up to three pieces, cut at random. */
		cut[0] = 0, cut[3] = n;
		cut[1] = (size_t)rand() % (n + 1);
		cut[2] = cut[1] + (size_t)rand() % (n - cut[1] + 1);
		memcpy(steps, head, sizeof(head));
		k = sizeof(head) / sizeof(head[0]);
		for (i = 0; i < 3; i++)
			if (cut[i + 1] > cut[i]) {
				steps[k].dir = C, steps[k].gap_dir = 0;
				steps[k].data = body + cut[i];
				steps[k++].len = cut[i + 1] - cut[i];
			}
		memcpy(steps + k, tail, sizeof(tail));
		k += sizeof(tail) / sizeof(tail[0]);
		run_script(steps, k, 0, (size_t)-1, 0, &r);
		run_script(steps, k, 1, (size_t)-1, 0, &one);
		runs_equal(&r, &one);
		assert_int_equal(r.f.flags, BASE_FLAGS |
		    MAIL_F_STARTTLS_OFFERED | MAIL_F_STARTTLS_REQUESTED |
		    MAIL_F_STARTTLS_REPLY);
		assert_int_equal(r.f.starttls_reply, 454);
		assert_int_equal(r.f.ehlo_count, 1);
		assert_int_equal(r.st.unpaired, 0);
		assert_int_equal(r.st.pipeline_full, 0);
	}
}

/* DATA refused: the client is not in a body, its next line is a command. */
static void
test_data_refused(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "DATA\r\n"), STR(S, "554 no valid recipients\r\n"),
		STR(C, "STARTTLS\r\n"), STR(S, "220 go\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_true(r.f.flags & MAIL_F_STARTTLS_ACCEPTED);
	assert_int_equal(r.state, MAIL_ST_TLS_WAIT);
}

static void
test_bdat(void **state)
{
	struct run	 r;
	/* 20 + 14 chunk bytes, full of CRLF and commands */
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
		STR(C, "BDAT 20\r\nSTARTTLS\r\nXXXXXXXX\r\nBDAT 14 LAST\r\n"
		    "EHLO evil\r\n.\r\n"),
		STR(S, "250 20 bytes\r\n250 14 bytes\r\n"),
		STR(C, "BDAT 99999999999999999999999\r\n"),
		STR(S, "501 bad size\r\n"),
		STR(C, "BDAT 0 LAST\r\n"), STR(S, "250 empty\r\n"),
		STR(C, "QUIT\r\n"), STR(S, "221 bye\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_QUIT);
	assert_int_equal(r.f.ehlo_count, 1);
	assert_int_equal(r.st.bad_bdat, 1);
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.state, MAIL_ST_COMMAND);
}

static void
test_auth(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "AUTH LOGIN\r\n"), STR(S, "334 VXNlcm5hbWU6\r\n"),
		STR(C, "STARTTLS\r\n"),		/* valid base64 */
		STR(S, "334 UGFzc3dvcmQ6\r\n"),
		STR(C, "XXXXXXXX\r\n"), STR(S, "235 2.7.0 ok\r\n"),
		STR(C, "AUTH PLAIN\r\n"), STR(S, "334 \r\n"),
		/* cancelled: the next line is a command again */
		STR(C, "*\r\nNOOP\r\n"),
		STR(S, "501 5.7.0 cancelled\r\n250 ok\r\n"),
		STR(C, "AUTH PLAIN AGZvbwBiYXI=\r\n"), STR(S, "235 ok\r\n"),
		STR(C, "QUIT\r\n"), STR(S, "221 bye\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	/* The LOGIN exchange sent a password in the clear. */
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_QUIT | MAIL_F_CREDENTIALS);
	assert_string_equal(r.f.cred_mech, "AUTH LOGIN");
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.state, MAIL_ST_COMMAND);
}

static void
test_pipelined(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>"
		    "\r\nRCPT TO:<c@example.com>\r\nDATA\r\n"),
		STR(S, "250 ok\r\n250 ok\r\n550 no such user\r\n354 go\r\n"),
		STR(C, "body\r\n.\r\nRSET\r\nSTARTTLS\r\n"),
		STR(S, "250 queued\r\n250 reset\r\n454 4.7.0 later\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	/* 454 reaches STARTTLS only if every earlier reply found its own */
	assert_int_equal(r.f.starttls_reply, 454);
	assert_text(&r.f.starttls_line, "454 4.7.0 later");
	assert_int_equal(r.st.unpaired, 0);
	assert_int_equal(r.st.bad_replies, 0);
}

static void
test_mixed_case(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, "eHlO client.example.org\r\n"),
		STR(S, "250-mx.example.com\r\n250-StartTls\r\n250 SIZE\r\n"),
		STR(C, "staRttLs\r\n"), STR(S, "220 go\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED);
	assert_text(&r.f.helo, "client.example.org");
	assert_int_equal(r.state, MAIL_ST_TLS_WAIT);
}

static void
test_lf_only(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "220 mx.example.com ESMTP\n"),
		STR(C, "EHLO client.example.org\n"),
		STR(S, "250-mx.example.com\n250-STARTTLS\n250 SIZE\n"),
		STR(C, "STARTTLS\n"), STR(S, "220 go\n"),
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED | MAIL_F_TLS_CLIENT_HELLO |
	    MAIL_F_TLS_SERVER_HELLO);
	assert_text(&r.f.banner, "mx.example.com ESMTP");
	assert_text(&r.f.starttls_line, "220 go");
}

static void
test_multiline_banner(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "220-mx.example.com ESMTP first\r\n220-second\r\n"
		    "220 third\r\n"),
		STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\n"), STR(S, "220 go\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_text(&r.f.banner, "mx.example.com ESMTP first");
	assert_true(r.f.flags & MAIL_F_STARTTLS_OFFERED);
	assert_int_equal(r.f.starttls_reply, 220);
	assert_int_equal(r.st.unpaired, 0);
}

static void
test_masked_banner(void **state)
{
	struct run	 r;
	struct step	 a[] = {
		STR(S, "220 ****2***0*0***\r\n"), STR(C, EHLO),
		STR(S, CAPS_NOTLS),
	};
	struct step	 b[] = {
		STR(S, "220 *******************************0*2******0******"
		    "*****20*0*\r\n"),
	};
	struct step	 c[] = {
		STR(S, "220 mail 2.0 ***\r\n"),
	};
	struct step	 d[] = {
		STR(S, "220 2 0 0 ***\r\n"),
	};

	(void)state;
	RUN(a, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_BANNER_MASKED);
	assert_text(&r.f.banner, "****2***0*0***");
	RUN(b, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_BANNER_MASKED);
	RUN(c, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING);
	RUN(d, &r);		/* too few '*' */
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING);
}

static void
test_ehlo_refused_helo(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO),
		STR(S, "500 5.5.1 unrecognized command\r\n"),
		STR(C, "HELO client.example.org\r\n"),
		STR(S, "250 mx.example.com\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_CAPS_REFUSED |
	    MAIL_F_HELO);
	assert_int_equal(r.f.ehlo_reply, 500);
	assert_int_equal(r.f.ehlo_count, 2);
	assert_text(&r.f.helo, "client.example.org");
}

/* HELO only: answered, but no capabilities were shown. */
static void
test_helo_only(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, "HELO old.example.org\r\n"),
		STR(S, "250 mx.example.com\r\n"),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING | MAIL_F_HELO);
	assert_int_equal(r.f.ehlo_reply, 250);
	assert_int_equal(r.f.ehlo_count, 1);
	assert_text(&r.f.helo, "old.example.org");
}

static void
test_long_line(void **state)
{
	struct run	 r;
	size_t		 n = 1024 * 1024, len;
	char		*line = malloc(n + 64);
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, NULL), STR(S, "500 5.5.2 line too long\r\n"),
		STR(C, "STARTTLS\r\n"), STR(S, "220 go\r\n"),
	};

	(void)state;
	assert_non_null(line);
	memcpy(line, "MAIL FROM:<", 11);
	memset(line + 11, 'a', n);
	memcpy(line + 11 + n, ">\r\n", 4);
	len = strlen(line);
	steps[3].data = line;
	steps[3].len = len;
	RUN(steps, &r);
	assert_int_equal(r.st.long_lines, 1);
	/* the 500 went to the long MAIL line, so 220 reached STARTTLS */
	assert_int_equal(r.f.starttls_reply, 220);
	assert_int_equal(r.st.unpaired, 0);
	free(line);
}

/* A session of cfg with counters of its own and a memcap of limit bytes. */
static struct mail_session *
session_on(struct mail_stats *st, struct memcap *mem, size_t limit)
{
	struct mail_session *s;

	memset(st, 0, sizeof(*st));
	memcap_init(mem, limit);
	s = mail_session_new(MAIL_PROTO_SMTP, &cfg, st, mem);
	assert_non_null(s);
	return s;
}

/* While a 1 MB line streams in, the session holds at most max_line. */
static void
test_long_line_memory(void **state)
{
	struct mail_stats st;
	struct memcap	 mem;
	struct mail_session *s;
	uint8_t		 chunk[1460];
	size_t		 before, peak = 0, now, i;

	(void)state;
	memset(chunk, 'z', sizeof(chunk));
	s = session_on(&st, &mem, SIZE_MAX);
	mail_data(s, S, (const uint8_t *)BANNER, strlen(BANNER));
	mail_data(s, C, (const uint8_t *)"MAIL FROM:<", 11);
	before = mallinfo2().uordblks;
	for (i = 0; i < 1024 * 1024 / sizeof(chunk); i++) {
		assert_int_equal(mail_data(s, C, chunk, sizeof(chunk)), 0);
		now = mallinfo2().uordblks;
		if (now > peak)
			peak = now;
	}
	assert_true(peak - before <= cfg.max_line + 64);
	mail_data(s, C, (const uint8_t *)">\r\nQUIT\r\n", 9);
	assert_int_equal(st.long_lines, 1);
	assert_true(mail_session_facts(s)->flags & MAIL_F_QUIT);
	mail_session_free(s);
}

static void
say(struct mail_session *s, int dir, const char *text)
{
	mail_data(s, dir, (const uint8_t *)text, strlen(text));
}

/*
 * A line split across segments holds a buffer only until its LF: between
 * lines a session holds nothing beyond its struct, whatever came before.
 */
static void
test_line_buffer_released(void **state)
{
	struct mail_stats st;
	struct memcap	 mem;
	struct mail_session *s;
	size_t		 before;

	(void)state;
	s = session_on(&st, &mem, SIZE_MAX);
	say(s, S, BANNER);
	before = mallinfo2().uordblks;
	say(s, C, "EHLO client.exa");
	assert_int_equal(mem.used, 256);	/* SMTP_LINE_INIT */
	say(s, C, "mple.org\r\n");
	assert_int_equal(mem.used, 0);
	assert_int_equal(mallinfo2().uordblks, before);
	say(s, S, "250-mx.example.com\r\n250 STA");
	assert_int_equal(mem.used, 256);
	say(s, S, "RTTLS\r\n");
	assert_int_equal(mem.used, 0);
	assert_int_equal(mallinfo2().uordblks, before);
	assert_true(mail_session_facts(s)->flags & MAIL_F_STARTTLS_OFFERED);
	assert_int_equal(mem.peak, 256);
	mail_session_free(s);
}

/*
 * Sessions share smtp_memcap: once it is spent, a split line keeps the
 * start it had (a reply code, a keyword) and is parsed on that at its LF,
 * as an over-long line is, so the facts and the pairing stay right.
 */
static void
test_memcap_cuts_line(void **state)
{
	struct mail_stats st;
	struct memcap	 mem;
	struct mail_session *a, *b;
	const struct mail_facts *f;
	char		 line[600];

	(void)state;
	a = session_on(&st, &mem, 600);
	b = mail_session_new(MAIL_PROTO_SMTP, &cfg, &st, &mem);
	assert_non_null(b);
	/* a holds a 400-byte partial line: 512 of the 600 bytes */
	memcpy(line, "EHLO ", 5);
	memset(line + 5, 'a', 395);
	line[400] = '\0';
	say(a, S, BANNER);
	say(a, C, line);
	assert_int_equal(mem.used, 512);
	/* b's masked capability line is split after 300 bytes */
	say(b, S, BANNER);
	say(b, C, EHLO);
	memcpy(line, "250-mx\r\n250-XXXXXXXA ", 21);
	memset(line + 21, 'p', 300);
	line[321] = '\0';
	say(b, S, line);
	assert_int_equal(mem.hits, 1);
	assert_int_equal(mem.used, 512);
	say(b, S, "ppp\r\n250 8BITMIME\r\n");
	say(b, C, "STARTTLS\r\n");
	say(b, S, "454 not now\r\n");
	f = mail_session_facts(b);
	assert_true(f->flags & MAIL_F_CAP_MASKED);
	assert_true(f->flags & MAIL_F_CAPS);
	assert_false(f->flags & MAIL_F_STARTTLS_OFFERED);
	assert_int_equal(f->cap_masked.len, 16);	/* SMTP_LINE_HEAD */
	assert_memory_equal(f->cap_masked.b, "250-XXXXXXXA ppp", 16);
	assert_int_equal(f->starttls_reply, 454);	/* still paired */
	assert_int_equal(st.unpaired, 0);
	assert_int_equal(st.long_lines, 0);
	/* a's line ends: all of it was kept */
	say(a, C, "\r\n");
	assert_int_equal(mail_session_facts(a)->helo.len, TEXT_FIELD_MAX);
	assert_int_equal(mem.used, 0);
	assert_int_equal(mem.peak, 512);
	mail_session_free(a);
	mail_session_free(b);
}

/*
 * A pipeline deeper than the session's own ring takes a buffer charged to
 * the memcap until it drains; refused, the commands beyond are counted.
 */
static void
test_memcap_pipeline(void **state)
{
	struct mail_stats st;
	struct memcap	 mem;
	struct mail_session *s;
	int		 i;

	(void)state;
	s = session_on(&st, &mem, SIZE_MAX);
	say(s, S, BANNER);
	say(s, C, EHLO);
	say(s, S, CAPS_TLS);
	for (i = 0; i < 40; i++)
		say(s, C, "RCPT TO:<b@example.net>\r\n");
	assert_int_equal(mem.used, 64);	/* 16, 32, then max_pipeline */
	for (i = 0; i < 40; i++)
		say(s, S, "250 ok\r\n");
	assert_int_equal(mem.used, 0);
	assert_int_equal(st.pipeline_full, 0);
	mem.limit = 0;			/* nothing more may be charged */
	for (i = 0; i < 20; i++)
		say(s, C, "RCPT TO:<b@example.net>\r\n");
	assert_int_equal(st.pipeline_full, 4);	/* 16 fit in the session */
	assert_int_equal(mem.hits, 4);
	for (i = 0; i < 20; i++)
		say(s, S, "250 ok\r\n");
	assert_int_equal(st.unpaired, 4);
	say(s, C, "STARTTLS\r\n");
	say(s, S, "220 go\r\n");
	assert_int_equal(mail_session_facts(s)->starttls_reply, 220);
	mail_session_free(s);
	assert_int_equal(mem.used, 0);
}

static void
test_many_pipelined(void **state)
{
	struct run	 r;
	size_t		 n = 100000, i;
	char		*cmds = malloc(n * 6 + 1), *replies = malloc(n * 8 + 1);
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, NULL), STR(S, NULL),
		STR(C, "STARTTLS\r\n"), STR(S, "220 go\r\n"),
	};

	(void)state;
	assert_non_null(cmds);
	assert_non_null(replies);
	for (i = 0; i < n; i++) {
		memcpy(cmds + i * 6, "NOOP\r\n", 6);
		memcpy(replies + i * 8, "250 ok\r\n", 8);
	}
	cmds[n * 6] = replies[n * 8] = '\0';
	steps[3].data = cmds;
	steps[4].data = replies;
	RUN(steps, &r);
	assert_int_equal(r.st.pipeline_full, n - cfg.max_pipeline);
	assert_int_equal(r.st.unpaired, n - cfg.max_pipeline);
	assert_int_equal(r.f.starttls_reply, 220);
	free(cmds);
	free(replies);
}

static void
test_nul_bytes(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), BIN(C, "EHLO cli\0ent\r\n", 14),
		BIN(S, "250-mx\r\n250-PIPE\0LINING\r\n250 STARTTLS\r\n", 39),
		BIN(C, "STA\0RTTLS\r\n", 11),
		STR(S, "500 what\r\n"),
		BIN(C, "\0\0\0\r\n", 5), STR(S, "500 what\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED);
	assert_int_equal(r.f.helo.len, 7);
	assert_memory_equal(r.f.helo.b, "cli\0ent", 7);
	assert_int_equal(r.st.unpaired, 0);
}

static void
test_gap_resync(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "MAIL FROM:<a@example.org>\r\nRCPT T"), LOSS(C, 5),
		STR(C, "b@example.com>\r\n"),
		/* pairing is unreliable after the gap: both unpaired */
		STR(S, "250 ok\r\n250 ok\r\n"),
		STR(C, "STARTTLS\r\n"), STR(S, "220 go\r\n"),
	};
	struct step	 body[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "DATA\r\n"), STR(S, "354 go\r\n"),
		STR(C, "line one\r\nli"), LOSS(C, 3),
		STR(C, "e two\r\nSTARTTLS\r\n.\r\n"), STR(S, "250 ok\r\n"),
		STR(C, "QUIT\r\n"), STR(S, "221 bye\r\n"),
	};
	struct step	 bdat[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "BDAT 30 LAST\r\n0123456789"), LOSS(C, 10),
		STR(C, "STARTTLS\r\nQUIT\r\n"), STR(S, "250 ok\r\n"),
		STR(S, "221 bye\r\n"),
	};

	struct step	 server[] = {
		STR(S, BANNER), STR(C, EHLO),
		STR(S, "250-mx.example.com\r\n250-PIPE"), LOSS(S, 30),
		STR(S, "LINING\r\n250 SIZE\r\n"),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
	};

	(void)state;
	/* the EHLO reply was cut: no capability verdict from a part of it */
	RUN(server, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING | MAIL_F_EHLO |
	    MAIL_F_GAP);
	assert_int_equal(r.st.unpaired, 1);
	RUN(steps, &r);
	assert_true(r.f.flags & MAIL_F_GAP);
	assert_int_equal(r.f.gaps, 1);
	assert_int_equal(r.st.unpaired, 2);
	assert_int_equal(r.f.starttls_reply, 220);
	assert_true(r.f.flags & MAIL_F_STARTTLS_ACCEPTED);

	RUN(body, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_GAP | MAIL_F_QUIT);
	assert_int_equal(r.st.unpaired, 0);

	RUN(bdat, &r);
	/* 10 + 10 lost + 10 chunk bytes, then commands again */
	assert_int_equal(r.f.flags, BASE_FLAGS | MAIL_F_STARTTLS_OFFERED |
	    MAIL_F_GAP | MAIL_F_QUIT);
	assert_int_equal(r.st.unpaired, 0);
}

static void
test_midstream(void **state)
{
	struct run	 r;
	struct step	 a[] = {
		STR(C, "RCPT TO:<x@example.com>\r\n"), STR(S, "250 ok\r\n"),
		STR(C, "DATA\r\n"), STR(S, "354 go\r\n"),
		STR(C, "STARTTLS\r\n.\r\n"), STR(S, "250 queued\r\n"),
		STR(C, "QUIT\r\n"), STR(S, "221 bye\r\n"),
	};
	struct step	 b[] = {
		STR(S, "250-PIPELINING\r\n250 STARTTLS\r\n"),
		STR(C, "STARTTLS\r\n"), STR(S, "220 go\r\n"),
	};

	(void)state;
	RUN(a, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_MIDSTREAM |
	    MAIL_F_QUIT);
	assert_int_equal(r.st.unpaired, 0);
	RUN(b, &r);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_MIDSTREAM |
	    MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY |
	    MAIL_F_STARTTLS_ACCEPTED);
	assert_int_equal(r.st.unpaired, 1);
}

static void
test_not_smtp(void **state)
{
	struct run	 r;
	struct step	 tls465[] = {
		BIN(C, ch, ch_len), BIN(S, sh, sh_len),
	};
	struct step	 http[] = {
		STR(C, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		STR(S, "HTTP/1.1 200 OK\r\n"),
	};
	struct step	 http_long[] = {
		STR(C, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		STR(S, "HTTP/1.1 200 OK\r\nServer: x\r\nDate: x\r\n"
		    "Content-Type: text/html\r\nContent-Length: 10\r\n"
		    "Connection: close\r\n\r\n<html>\r\n"),
		STR(S, "<p>\r\n<p>\r\n<p>\r\n<p>\r\n<p>\r\n<p>\r\n<p>\r\n"
		    "<p>\r\n<p>\r\n<p>\r\n<p>\r\n<p>\r\n<p>\r\n<p>\r\n"
		    "<p>\r\n<p>\r\n<p>\r\n<p>\r\n<p>\r\n<p>\r\n<p>\r\n"
		    "<p>\r\n<p>\r\n<p>\r\n"),
	};
	struct step	 ssh[] = {
		STR(S, "SSH-2.0-OpenSSH_9.2\r\n"), STR(C, "SSH-2.0-x\r\n"),
	};
	struct step	 binary[] = {
		BIN(S, "\0\1\2\3\n", 5),
	};

	(void)state;
	RUN(tls465, &r);
	assert_int_equal(r.f.flags, 0);
	assert_int_equal(r.state, MAIL_ST_DONE);
	assert_int_equal(r.ret[0], 1);
	assert_int_equal(r.ret[1], 1);
	/* Lines of another protocol: never SMTP, given up after a few. */
	RUN(http, &r);
	assert_int_equal(r.f.flags, 0);
	assert_int_equal(r.state, MAIL_ST_GREETING);
	RUN(http_long, &r);
	assert_int_equal(r.f.flags, 0);
	assert_int_equal(r.state, MAIL_ST_DONE);
	RUN(ssh, &r);
	assert_int_equal(r.f.flags, 0);
	RUN(binary, &r);
	assert_int_equal(r.state, MAIL_ST_DONE);
}

/*
 * One junk line in front of the greeting (inserted where only the sensor
 * sees it, or a broken server) must not hide the strip that follows.
 */
static void
test_junk_before_greeting(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, "999 not a reply\r\n"), STR(S, "hello\r\n"),
		STR(S, "220 mx.example ESMTP\r\n"), STR(C, "EHLO c\r\n"),
		STR(S, "250-mx.example\r\n250 XXXXXXXA\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_true(r.f.flags & MAIL_F_PROTO);
	assert_true(r.f.flags & MAIL_F_CAP_MASKED);
	assert_true(r.f.flags & MAIL_F_CAPS);
	assert_int_equal(r.st.bad_replies, 2);
}

/*
 * POP3 on an SMTP port, client side only or from its greeting: the first
 * line (a verb only POP3 has, "+OK") makes the session POP3's, whatever
 * the port said.
 */
static void
test_pop3_on_smtp_port(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(C, "user someone@example.com\r\n"), STR(C, "pass x\r\n"),
		STR(C, "list\r\n"), STR(C, "quit\r\n"),
	};
	struct step	 server[] = {
		STR(S, "+OK POP server ready\r\n"), STR(C, "CAPA\r\n"),
		STR(C, "QUIT\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.proto, MAIL_PROTO_POP3);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_MIDSTREAM |
	    MAIL_F_CREDENTIALS | MAIL_F_QUIT);
	assert_text(&r.f.cred_user, "someone@example.com");
	RUN(server, &r);
	assert_int_equal(r.f.proto, MAIL_PROTO_POP3);
	assert_int_equal(r.f.flags, MAIL_F_PROTO | MAIL_F_GREETING |
	    MAIL_F_QUIT);
	assert_text(&r.f.banner, "POP server ready");
}

/*
 * The client's whole transaction is captured before the (multi-line)
 * greeting: greeting lines are not a reply to the queued EHLO, even those
 * looking like masked keywords in an anonymised capture.
 */
static void
test_client_ahead_of_banner(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(C, "EHLO xxxxxx.example.com\r\nMAIL FROM:<a@x.net>\r\n"
		    "RCPT TO:<b@x.net>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n"
		    ".\r\n"),
		STR(S, "220-xxxxxxxx.xx.xxx.com ESMTP Sendmail\r\n"),
		STR(S, "220-xxxxxxxxxxxxxxxxxxxxxxxx its companies do not\r\n"
		    "220 transmit bulk e-mail.\r\n"
		    "250-xxxxxxxx.xx.xxx.com Hello\r\n250-PIPELINING\r\n"
		    "250 HELP\r\n"),
		STR(S, "250 2.1.0 Sender ok\r\n"),
		STR(S, "250 2.1.5 Recipient ok\r\n"),
		STR(S, "354 Enter mail\r\n"), STR(S, "250 2.0.0 accepted\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.f.flags, BASE_FLAGS);
	assert_text(&r.f.banner, "xxxxxxxx.xx.xxx.com ESMTP Sendmail");
	assert_int_equal(r.f.ehlo_reply, 250);
	assert_int_equal(r.st.unpaired, 0);
}

static void
test_server_closing(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO),
		STR(S, "421 4.3.2 shutting down\r\n"), STR(C, "QUIT\r\n"),
	};

	(void)state;
	RUN(steps, &r);
	assert_int_equal(r.state, MAIL_ST_DONE);
	assert_int_equal(r.ret[0], 1);
	assert_int_equal(r.f.ehlo_reply, 421);
	assert_true(r.f.flags & MAIL_F_CLOSING);
	assert_false(r.f.flags & MAIL_F_QUIT);
}

/* 421 as the greeting closes too; 421 after capabilities were shown (an
 * idle timeout) does not make the session a closing one. */
static void
test_server_closing_shapes(void **state)
{
	struct run	 r;
	struct step	 greet[] = {
		STR(S, "421 mx.example.net too busy\r\n"), STR(C, EHLO),
	};
	struct step	 later[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "NOOP\r\n"), STR(S, "421 4.4.2 timeout\r\n"),
	};

	(void)state;
	RUN(greet, &r);
	assert_true(r.f.flags & MAIL_F_CLOSING);
	assert_int_equal(r.state, MAIL_ST_DONE);
	RUN(later, &r);
	assert_false(r.f.flags & MAIL_F_CLOSING);
	assert_true(r.f.flags & MAIL_F_STARTTLS_OFFERED);
	assert_int_equal(r.state, MAIL_ST_DONE);
}

/*
 * AUTH PLAIN and LOGIN in the clear: the user name is kept with how it
 * was sent, the password never. Other mechanisms, a cancelled exchange
 * and a user name alone send no password.
 */
static void
test_cleartext_credentials(void **state)
{
	struct run	 r;
	struct step	 plain[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "AUTH PLAIN AGFsaWNlAHMzY3IzdC1QVw==\r\n"),
		STR(S, "235 2.7.0 ok\r\n"), STR(C, "QUIT\r\n"),
	};
	struct step	 login[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "AUTH LOGIN\r\n"), STR(S, "334 VXNlcm5hbWU6\r\n"),
		STR(C, "Ym9i\r\n"), STR(S, "334 UGFzc3dvcmQ6\r\n"),
		STR(C, "aHVudGVyMi1QVw==\r\n"), STR(S, "235 ok\r\n"),
		STR(C, "MAIL FROM:<bob@example.org>\r\n"),
	};
	struct step	 none[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "AUTH CRAM-MD5\r\n"), STR(S, "334 PDEyMzQ+\r\n"),
		STR(C, "Ym9iIDAxMjM0NTY3ODlhYmNkZWY=\r\n"), STR(S, "235 ok\r\n"),
		STR(C, "AUTH LOGIN YWxpY2U=\r\n"), STR(S, "334 UGFzc3dvcmQ6\r\n"),
		STR(C, "*\r\n"), STR(S, "501 cancelled\r\n"),
		STR(C, "NOOP\r\n"), STR(S, "250 ok\r\n"),
	};

	(void)state;
	RUN(plain, &r);
	assert_true(r.f.flags & MAIL_F_CREDENTIALS);
	assert_string_equal(r.f.cred_mech, "AUTH PLAIN");
	assert_text(&r.f.cred_user, "alice");
	assert_false(facts_hold(&r, "s3cr3t-PW"));
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	RUN(login, &r);
	assert_true(r.f.flags & MAIL_F_CREDENTIALS);
	assert_string_equal(r.f.cred_mech, "AUTH LOGIN");
	assert_text(&r.f.cred_user, "bob");
	assert_false(facts_hold(&r, "hunter2-PW"));
	assert_int_equal(r.st.unpaired, 0);
	RUN(none, &r);
	assert_false(r.f.flags & MAIL_F_CREDENTIALS);
	assert_int_equal(r.state, MAIL_ST_COMMAND);
	assert_int_equal(r.st.unpaired, 0);
}

/*
 * A password in a line kept as evidence (plaintext after the 220, a line
 * injected behind STARTTLS) is cut off before it: the evidence goes to
 * the database and syslog.
 */
static void
test_secret_not_evidence(void **state)
{
	struct run	 r;
	struct step	 plain[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\n"), STR(S, "220 go ahead\r\n"),
		STR(C, "AUTH PLAIN AGFsaWNlAHMzY3IzdC1QVw==\r\n"),
		STR(S, "235 2.7.0 ok\r\n"),
	};
	struct step	 inj[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\nAUTH PLAIN AGFsaWNlAHMzY3IzdC1QVw==\r\n"),
		STR(S, "220 go ahead\r\n"),
	};

	(void)state;
	RUN(plain, &r);
	assert_true(r.f.flags & MAIL_F_PLAINTEXT_AFTER);
	assert_true(r.f.flags & MAIL_F_CREDENTIALS);
	assert_text(&r.f.plaintext, "AUTH PLAIN ");
	assert_false(facts_hold(&r, "AGFsaWNlAHMzY3IzdC1QVw"));
	RUN(inj, &r);
	assert_true(r.f.flags & MAIL_F_CMD_INJECTION);
	assert_text(&r.f.injected, "AUTH PLAIN ");
	assert_false(facts_hold(&r, "AGFsaWNlAHMzY3IzdC1QVw"));
}

/* An unterminated last line is parsed at the end. */
static void
test_end_parses_last_line(void **state)
{
	struct run	 r;
	struct step	 steps[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS"),
	};

	(void)state;
	RUN(steps, &r);
	assert_true(r.f.flags & MAIL_F_STARTTLS_REQUESTED);
}

/* Random mixes of SMTP pieces, TLS bytes, garbage and gaps. */
static void
test_random_input(void **state)
{
	static const char *const pieces[] = {
		"220 mx ESMTP\r\n", "220-a\r\n", "EHLO x\r\n", "250-STARTTLS\r\n",
		"250-XXXXXXXA\r\n", "250 ok\r\n", "STARTTLS\r\n", "220 go\r\n",
		"DATA\r\n", "354 go\r\n", ".\r\n", "BDAT 5\r\n", "BDAT 99999\r\n",
		"AUTH LOGIN\r\n", "334 x\r\n", "*\r\n", "XXXXXXXX\r\n", "421 bye\r\n",
		"\r\n", "\n", "\r", "\0", "HELO y\r\n", "500 no\r\n", "QUIT\r\n",
	};

	(void)state;
	mt_random_sessions(MAIL_PROTO_SMTP, pieces,
	    sizeof(pieces) / sizeof(pieces[0]), 7);
}

static void
test_masked_keyword(void **state)
{
	static const struct {
		const char	*kw;
		int		 masked;
	} t[] = {
		{ "XXXXXXXA", 1 }, { "XXXXXXXX", 1 }, { "XXXA", 1 },
		{ "XXX", 1 }, { "xxxxxxxb", 1 }, { "XXXXXXXXXXXXXXXX", 1 },
		{ "XX", 0 }, { "XXA", 0 }, { "XEXCH50", 0 },
		{ "X-ANONYMOUSTLS", 0 }, { "XRDST", 0 }, { "X-EXPS", 0 },
		{ "XCLIENT", 0 }, { "XFORWARD", 0 }, { "XXXXXXAB", 0 },
		{ "XXXX1", 0 }, { "XXXX-", 0 }, { "AXXX", 0 }, { "", 0 },
		{ "STARTTLS", 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(mail_is_masked_keyword(
		    (const uint8_t *)t[i].kw, strlen(t[i].kw)), t[i].masked);
}

/* mail_ieq() against strlen and a case-folding compare, on every prefix
 * and extension of the verbs, every case, and bytes around the letters. */
static void
test_ieq(void **state)
{
	static const char *const words[] = { "", "A", "EHLO", "HELO",
	    "STARTTLS", "STLS", "AUTHENTICATE", "DATA", "QUIT" };
	uint8_t		 p[32];
	size_t		 i, k, n, j;
	int		 want;

	(void)state;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
			for (n = 0; n <= strlen(words[k]) + 1; n++) {
				memset(p, 'E', sizeof(p));
				memcpy(p, words[k], strlen(words[k]));
				for (j = 0; j < n; j++)
					if (j % 2 && p[j] >= 'A' && p[j] <= 'Z')
						p[j] = (uint8_t)(p[j] + 32);
				want = n == strlen(words[i]);
				for (j = 0; want && j < n; j++)
					want = (p[j] & ~0x20) ==
					    (uint8_t)words[i][j] &&
					    (p[j] | 0x20) >= 'a' &&
					    (p[j] | 0x20) <= 'z';
				assert_int_equal(mail_ieq(p, n, words[i]), want);
			}
	/* bytes that fold onto letters only by a wrong mask */
	assert_false(mail_ieq((const uint8_t *)"\x05HLO", 4, "EHLO"));
	assert_false(mail_ieq((const uint8_t *)"EHL\x0f", 4, "EHLO"));
	assert_false(mail_ieq((const uint8_t *)"EHLO", 4, "EHL"));
	assert_false(mail_ieq((const uint8_t *)"EHL", 3, "EHLO"));
	assert_true(mail_ieq((const uint8_t *)"eHlO", 4, "EHLO"));
	assert_false(mail_ieq((const uint8_t *)"EHLO", 4, "ehlo"));
	/* a NUL on the wire where the name ends */
	assert_false(mail_ieq((const uint8_t *)"EHLO\0\0\0", 7, "EHLO"));
	assert_false(mail_ieq((const uint8_t *)"\0", 1, ""));
}

/*
 * A session saved when its connection is evicted and continued by a new
 * parser: steps [0, cut) and the first at bytes of step cut go to the
 * first parser, the rest to the continuation.
 */
static void
run_resumed(const struct step *steps, size_t nsteps, size_t cut, size_t at,
    struct run *r)
{
	struct mail_session *s;
	struct mail_resume sv;
	size_t		 i, n, from;

	memset(r, 0, sizeof(*r));
	memcap_init(&r->mem, SIZE_MAX);
	s = mail_session_new(MAIL_PROTO_SMTP, &cfg, &r->st, &r->mem);
	assert_non_null(s);
	for (i = 0; i <= cut && i < nsteps; i++) {
		n = i < cut ? step_len(&steps[i]) : at;
		feed(s, r, steps[i].dir, steps[i].data, n, 0);
	}
	mail_session_save(s, &sv);
	mail_session_free(s);
	s = mail_session_resume(&cfg, &r->st, &r->mem, &sv);
	assert_non_null(s);
	r->ret[0] = r->ret[1] = 0;
	for (i = cut; i < nsteps; i++) {
		from = i == cut ? at : 0;
		n = step_len(&steps[i]);
		feed(s, r, steps[i].dir, (const uint8_t *)steps[i].data + from,
		    n - from, 0);
	}
	run_end(s, r);
}

/* What the verdicts read must not depend on where an eviction cut. */
static void
resumed_equal(const struct run *whole, const struct run *r)
{
	assert_int_equal(r->f.flags, whole->f.flags);
	assert_int_equal(r->f.starttls_reply, whole->f.starttls_reply);
	assert_int_equal(r->f.ehlo_reply, whole->f.ehlo_reply);
	assert_int_equal(r->state, whole->state);
	assert_int_equal(r->st.unpaired, whole->st.unpaired);
}

/*
 * Cut between any two steps, the continuation finds the same facts as the
 * whole conversation: pending commands (pipelined, STARTTLS awaiting its
 * reply) are paired, a DATA body is still a body, TLS is still expected.
 */
static void
test_resume_at_every_step(void **state)
{
	static const struct step refused[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\n"), STR(S, "454 4.7.0 not now\r\n"),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
		STR(C, "QUIT\r\n"), STR(S, "221 bye\r\n"),
	}, masked[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_NOTLS),
		STR(C, "XXXXXXXX\r\n"), STR(S, "502 5.5.2 what\r\n"),
		STR(C, "QUIT\r\n"), STR(S, "221 bye\r\n"),
	}, pipelined[] = {
		STR(S, BANNER), STR(C, EHLO),
		STR(C, "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>"
		    "\r\nDATA\r\n"),
		STR(S, CAPS_TLS), STR(S, "250 ok\r\n"), STR(S, "250 ok\r\n"),
		STR(S, "354 go\r\n"),
		STR(C, "Subject: quoting\r\n\r\nXXXXXXXX\r\nSTARTTLS\r\n"
		    ".\r\n"), STR(S, "250 queued\r\n"),
		STR(C, "STARTTLS\r\n"), STR(S, "220 go\r\n"),
		STR(C, "MAIL FROM:<c@example.org>\r\n"),
	};
	static const struct {
		const struct step *steps;
		size_t		 n;
	} scripts[] = {
		{ refused, sizeof(refused) / sizeof(refused[0]) },
		{ masked, sizeof(masked) / sizeof(masked[0]) },
		{ pipelined, sizeof(pipelined) / sizeof(pipelined[0]) },
	};
	struct run	*whole = malloc(sizeof(*whole)), *r = malloc(sizeof(*r));
	size_t		 i, cut;

	(void)state;
	assert_true(whole != NULL && r != NULL);
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		run_script(scripts[i].steps, scripts[i].n, 0, (size_t)-1, 0,
		    whole);
		for (cut = 1; cut < scripts[i].n; cut++) {
			run_resumed(scripts[i].steps, scripts[i].n, cut, 0, r);
			resumed_equal(whole, r);
		}
	}
	assert_true(whole->f.flags & MAIL_F_PLAINTEXT_AFTER);
	free(whole);
	free(r);
}

/*
 * Cut inside a line or inside a reply, the continuation invents nothing:
 * the cut command is not seen, and the end of a cut EHLO reply is not
 * paired with the EHLO (its first half held the STARTTLS offer, so a
 * pairing would report the offer missing).
 */
static void
test_resume_cut_inside(void **state)
{
	static const struct step line[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "STARTTLS\r\n"), STR(S, "454 4.7.0 not now\r\n"),
	}, reply[] = {
		STR(S, BANNER), STR(C, EHLO),
		STR(S, "250-mx.example.com\r\n250-STARTTLS\r\n250-SIZE 1\r\n"
		    "250 8BITMIME\r\n"),
		STR(C, "MAIL FROM:<a@example.org>\r\n"), STR(S, "250 ok\r\n"),
	}, bdat[] = {
		STR(S, BANNER), STR(C, EHLO), STR(S, CAPS_TLS),
		STR(C, "BDAT 22\r\nSTARTTLS\r\nXXXXXXXX\r\n\r\n"),
		STR(S, "250 22 bytes\r\n"),
	};
	struct run	 r;

	(void)state;
	run_resumed(line, 5, 3, 4, &r);		/* "STAR" | "TTLS" */
	assert_false(r.f.flags & (MAIL_F_STARTTLS_REQUESTED |
	    MAIL_F_STARTTLS_REPLY));
	assert_int_equal(r.st.unpaired, 1);
	run_resumed(reply, 5, 2, 34, &r);	/* after "250-STARTTLS" */
	assert_false(r.f.flags & (MAIL_F_CAPS | MAIL_F_STARTTLS_OFFERED));
	assert_int_equal(r.f.ehlo_reply, 0);
	run_resumed(bdat, 5, 3, 19, &r);	/* inside the chunk */
	assert_false(r.f.flags & (MAIL_F_STARTTLS_REQUESTED |
	    MAIL_F_CMD_MASKED));
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_string_equal(mail_state_name(MAIL_ST_GREETING), "greeting");
	assert_string_equal(mail_state_name(MAIL_ST_TLS_WAIT), "tls_wait");
	assert_string_equal(mail_state_name(MAIL_ST_DONE), "done");
	assert_string_equal(mail_state_name((enum mail_state)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_starttls),
		cmocka_unit_test(test_no_starttls),
		cmocka_unit_test(test_exchange_caps),
		cmocka_unit_test(test_asa_masked),
		cmocka_unit_test(test_asa_exchange_masked),
		cmocka_unit_test(test_command_masked),
		cmocka_unit_test(test_starttls_refused),
		cmocka_unit_test(test_plaintext_after),
		cmocka_unit_test(test_command_injection),
		cmocka_unit_test(test_response_injection),
		cmocka_unit_test(test_client_hello_races),
		cmocka_unit_test(test_injection_then_plaintext),
		cmocka_unit_test(test_server_plaintext_after_hello),
		cmocka_unit_test(test_data_body_quotes),
		cmocka_unit_test(test_data_body_random),
		cmocka_unit_test(test_data_refused),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_mixed_case),
		cmocka_unit_test(test_lf_only),
		cmocka_unit_test(test_multiline_banner),
		cmocka_unit_test(test_masked_banner),
		cmocka_unit_test(test_ehlo_refused_helo),
		cmocka_unit_test(test_helo_only),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_long_line_memory),
		cmocka_unit_test(test_line_buffer_released),
		cmocka_unit_test(test_memcap_cuts_line),
		cmocka_unit_test(test_memcap_pipeline),
		cmocka_unit_test(test_many_pipelined),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_gap_resync),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_not_smtp),
		cmocka_unit_test(test_junk_before_greeting),
		cmocka_unit_test(test_pop3_on_smtp_port),
		cmocka_unit_test(test_client_ahead_of_banner),
		cmocka_unit_test(test_server_closing),
		cmocka_unit_test(test_cleartext_credentials),
		cmocka_unit_test(test_secret_not_evidence),
		cmocka_unit_test(test_server_closing_shapes),
		cmocka_unit_test(test_end_parses_last_line),
		cmocka_unit_test(test_random_input),
		cmocka_unit_test(test_masked_keyword),
		cmocka_unit_test(test_ieq),
		cmocka_unit_test(test_resume_at_every_step),
		cmocka_unit_test(test_resume_cut_inside),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, setup_tls, NULL);
}
