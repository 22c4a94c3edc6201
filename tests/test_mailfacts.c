/*
 * test_mailfacts.c: the facts the mail parsers draw from whole captures,
 * bundled (pcaps/, made by tools/pcapgen.py) and public
 * (../shared/pcaps-public, skipped when absent). tests/mailpcap.h reads
 * them (decode, flows, reassembly, one mail session per connection to the
 * row's server port) and keeps every session's facts, where the pipeline
 * hands on only what detect.c made of them; so each row checks what the
 * parser saw, whatever the policy does with it.
 *
 * MAILFACTS_PRINT=1 in the environment prints every session's facts.
 */
#define MT_PROTO	MAIL_PROTO_POP3	/* unused: sessions start as
					   their server port says */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mailtest.h"
#include "mailpcap.h"

#include <stdio.h>
#include <unistd.h>

static void
print_text(const char *name, const struct text_field *t)
{
	char	 buf[4 * TEXT_FIELD_MAX + 4];

	if (t->len == 0)
		return;
	text_escape(buf, sizeof(buf), t->b, t->len);
	printf("    %s \"%s\"\n", name, buf);
}

static void
cap_print(const char *file, const struct mp_capture *cp)
{
	const struct mail_facts *f;
	int	 i;

	printf("%s: %d sessions, %d not mail, unpaired %llu, bad replies "
	    "%llu\n", file, cp->n, cp->not_mail,
	    (unsigned long long)cp->st.unpaired,
	    (unsigned long long)cp->st.bad_replies);
	for (i = 0; i < cp->n && i < MP_MAX; i++) {
		f = &cp->s[i].r.f;
		printf("  %s flags 0x%08x state %s status \"%s\" mech \"%s\" "
		    "tls 0x%04x\n", mail_proto_name(f->proto), f->flags,
		    mail_state_name(cp->s[i].r.state), f->starttls_status,
		    f->cred_mech, f->tls.version);
		print_text("banner", &f->banner);
		print_text("cred_user", &f->cred_user);
		print_text("cap_masked", &f->cap_masked);
		print_text("cmd_masked", &f->cmd_masked);
		print_text("starttls_line", &f->starttls_line);
		print_text("injected", &f->injected);
		print_text("plaintext", &f->plaintext);
	}
}

/*
 * What one session must show. Text fields: NULL must be empty, "*" is
 * not checked, anything else is the exact text.
 */
struct want {
	enum mail_proto	 proto;
	uint32_t	 flags;		/* exactly these MAIL_F_* */
	const char	*banner;
	const char	*status;	/* starttls_status */
	const char	*mech;		/* cred_mech */
	const char	*user;		/* cred_user */
	const char	*cap_masked;
	const char	*cmd_masked;
	const char	*injected;
	const char	*plaintext;
	uint16_t	 tls_version;	/* ServerHello's, 0 none */
};

#define CAP_MAX_WANT	6

struct capcase {
	const char	*file;		/* pcaps/NAME or public:DIR/NAME */
	uint16_t	 port;		/* the server port read */
	const char	*password;	/* sent in the capture: in no fact */
	uint64_t	 unpaired;	/* replies without a command */
	uint64_t	 bad_replies;	/* server lines that are no reply */
	int		 not_mail;	/* connections without a mail session */
	int		 nsessions;
	struct want	 s[CAP_MAX_WANT];
};

static void
want_text(const char *file, const char *name, const struct text_field *t,
    const char *want)
{
	if (want != NULL && strcmp(want, "*") == 0)
		return;
	if (want == NULL)
		want = "";
	if (t->len != strlen(want) || memcmp(t->b, want, t->len) != 0)
		fail_msg("%s: %s is \"%.*s\", not \"%s\"", file, name,
		    (int)t->len, (const char *)t->b, want);
}

static void
want_session(const char *file, const struct run *r, const struct want *w)
{
	const struct mail_facts *f = &r->f;

	if (f->proto != w->proto || f->flags != w->flags)
		fail_msg("%s: %s flags 0x%08x, not %s 0x%08x", file,
		    mail_proto_name(f->proto), f->flags,
		    mail_proto_name(w->proto), w->flags);
	want_text(file, "banner", &f->banner, w->banner);
	assert_string_equal(f->starttls_status, w->status ? w->status : "");
	assert_string_equal(f->cred_mech, w->mech ? w->mech : "");
	want_text(file, "cred_user", &f->cred_user, w->user);
	want_text(file, "cap_masked", &f->cap_masked, w->cap_masked);
	want_text(file, "cmd_masked", &f->cmd_masked, w->cmd_masked);
	want_text(file, "injected", &f->injected, w->injected);
	want_text(file, "plaintext", &f->plaintext, w->plaintext);
	assert_int_equal(f->tls.version, w->tls_version);
}

/* Run the rows (public ones only when the public captures are there). */
static void
run_cases(const struct capcase *cases, size_t n)
{
	struct mp_capture *cp;
	char		 path[512];
	const char	*file;
	size_t		 i;
	int		 k;

	snprintf(path, sizeof(path), "%s/../shared/pcaps-public", TOP);
	if (strncmp(cases[0].file, "public:", 7) == 0 && access(path, R_OK))
		skip();
	assert_non_null(cp = calloc(1, sizeof(*cp)));
	for (i = 0; i < n; i++) {
		file = cases[i].file;
		if (strncmp(file, "public:", 7) == 0)
			snprintf(path, sizeof(path),
			    "%s/../shared/pcaps-public/%s", TOP, file + 7);
		else
			snprintf(path, sizeof(path), "%s/%s", TOP, file);
		assert_int_equal(mp_read_port(path, cases[i].port, cp), 0);
		if (getenv("MAILFACTS_PRINT") != NULL)
			cap_print(file, cp);
		if (cp->n != cases[i].nsessions ||
		    cp->not_mail != cases[i].not_mail)
			fail_msg("%s: %d sessions and %d not mail, not %d and %d",
			    file, cp->n, cp->not_mail, cases[i].nsessions,
			    cases[i].not_mail);
		for (k = 0; k < cp->n; k++) {
			want_session(file, &cp->s[k].r, &cases[i].s[k]);
			if (cases[i].password != NULL &&
			    facts_hold(&cp->s[k].r, cases[i].password))
				fail_msg("%s: the password is in the facts",
				    file);
		}
		if (cp->st.unpaired != cases[i].unpaired ||
		    cp->st.bad_replies != cases[i].bad_replies)
			fail_msg("%s: %llu unpaired, %llu bad replies", file,
			    (unsigned long long)cp->st.unpaired,
			    (unsigned long long)cp->st.bad_replies);
	}
	free(cp);
}

#define P3	MAIL_PROTO_POP3
#define GREETED	(MAIL_F_PROTO | MAIL_F_GREETING)
#define CAPS	(GREETED | MAIL_F_CAPS)
#define OFFERED	(CAPS | MAIL_F_STARTTLS_OFFERED)
#define ASKED	(MAIL_F_STARTTLS_REQUESTED | MAIL_F_STARTTLS_REPLY)
#define ACCEPTED (ASKED | MAIL_F_STARTTLS_ACCEPTED)
#define HELLOS	(MAIL_F_TLS_CLIENT_HELLO | MAIL_F_TLS_SERVER_HELLO)
#define CRED	MAIL_F_CREDENTIALS
#define QUIT	MAIL_F_QUIT

#define DOVECOT	"Dovecot (Debian) ready."
#define PW	"hunter2-PW"

/*
 * The POP3 captures of tools/pcapgen.py, each as its README line says
 * (pcaps/README); tests/pcap-cases-pop3 says what detect.c is to make of
 * them.
 */
static const struct capcase pop3_bundled[] = {
	{ "pcaps/pop3-clean-stls.pcap", 110, NULL, 0, 0, 0, 1, {
	    { P3, OFFERED | ACCEPTED | HELLOS, DOVECOT, "+OK", NULL, NULL,
	      NULL, NULL, NULL, NULL, 0x0303 } } },
	{ "pcaps/pop3-clean-stls-tls13.pcap", 110, NULL, 0, 0, 0, 1, {
	    { P3, OFFERED | ACCEPTED | HELLOS, DOVECOT, "+OK", NULL, NULL,
	      NULL, NULL, NULL, NULL, 0x0304 } } },
	{ "pcaps/pop3-clean-retr-quotes.pcap", 110, NULL, 0, 0, 0, 1, {
	    { P3, CAPS | QUIT, DOVECOT, NULL, NULL, NULL, NULL, NULL, NULL,
	      NULL, 0 } } },
	{ "pcaps/pop3-clean-pipelined.pcap", 110, NULL, 0, 0, 0, 1, {
	    { P3, CAPS | QUIT, DOVECOT, NULL, NULL, NULL, NULL, NULL, NULL,
	      NULL, 0 } } },
	{ "pcaps/pop3-pos-capa-masked.pcap", 110, PW, 0, 0, 0, 1, {
	    { P3, CAPS | MAIL_F_CAP_MASKED | CRED | QUIT, DOVECOT, NULL,
	      "USER/PASS", "bob", "XXXX", NULL, NULL, NULL, 0 } } },
	{ "pcaps/pop3-pos-cmd-masked.pcap", 110, PW, 0, 0, 0, 1, {
	    { P3, OFFERED | MAIL_F_CMD_MASKED | CRED | QUIT, DOVECOT, NULL,
	      "USER/PASS", "bob", NULL, "XXXX", NULL, NULL, 0 } } },
	{ "pcaps/pop3-pos-refused.pcap", 110, NULL, 0, 0, 0, 1, {
	    { P3, OFFERED | ASKED | QUIT, DOVECOT, "-ERR", NULL, NULL, NULL,
	      NULL, NULL, NULL, 0 } } },
	{ "pcaps/pop3-pos-plaintext-after-stls.pcap", 110, PW, 0, 0, 0, 1, {
	    { P3, OFFERED | ACCEPTED | MAIL_F_PLAINTEXT_AFTER | CRED | QUIT,
	      DOVECOT, "+OK", "USER/PASS", "bob", NULL, NULL, NULL,
	      "USER bob", 0 } } },
	{ "pcaps/pop3-pos-cmd-injection.pcap", 110, NULL, 0, 0, 0, 1, {
	    { P3, OFFERED | ACCEPTED | MAIL_F_CMD_INJECTION | HELLOS, DOVECOT,
	      "+OK", NULL, "*", NULL, NULL, "USER bob", NULL, 0x0303 } } },
	{ "pcaps/pop3-pos-resp-injection.pcap", 110, NULL, 1, 0, 0, 1, {
	    { P3, OFFERED | ACCEPTED | MAIL_F_RESP_INJECTION | HELLOS,
	      DOVECOT, "+OK", NULL, NULL, NULL, NULL, "+OK Logged in.", NULL,
	      0x0303 } } },
	{ "pcaps/pop3-pos-auth-plain-ir.pcap", 110, PW, 0, 0, 0, 1, {
	    { P3, OFFERED | CRED | QUIT, DOVECOT, NULL, "AUTH PLAIN", "bob",
	      NULL, NULL, NULL, NULL, 0 } } },
	{ "pcaps/pop3-pos-auth-plain-cont.pcap", 110, PW, 0, 0, 0, 1, {
	    { P3, CAPS | CRED | QUIT, DOVECOT, NULL, "AUTH PLAIN", "bob",
	      NULL, NULL, NULL, NULL, 0 } } },
	{ "pcaps/pop3-hist-vanished.pcap", 110, PW, 0, 0, 0, 2, {
	    { P3, OFFERED | ACCEPTED | HELLOS, DOVECOT, "+OK", NULL, NULL,
	      NULL, NULL, NULL, NULL, 0x0303 },
	    { P3, CAPS | CRED | QUIT, DOVECOT, NULL, "USER/PASS", "bob", NULL,
	      NULL, NULL, NULL, 0 } } },
};

static void
test_pop3_bundled(void **state)
{
	(void)state;
	run_cases(pop3_bundled, sizeof(pop3_bundled) /
	    sizeof(pop3_bundled[0]));
}

/*
 * The public POP3 captures, what tshark shows of each (tshark -r FILE -Y
 * pop; -qz follow,tcp,ascii,N for the CAPA lists; -Y tls.handshake for
 * the hellos) and so what the parser must see.
 */
static const struct capcase pop3_public[] = {
	/* Cyrus greeting with an APOP timestamp, STLS (no CAPA), +OK, TLS
	 * 1.2 ClientHello and ServerHello (0x009f) */
	{ "public:zeek/pop3-starttls.pcap", 110, NULL, 0, 0, 0, 1, {
	    { P3, GREETED | ACCEPTED | HELLOS, "ladymacbeth.local Cyrus POP3 "
	      "v2.3.16 server ready <15125655727712503824.1400173552@"
	      "ladymacbeth.local>", "+OK", NULL, NULL, NULL, NULL, NULL, NULL,
	      0x0303 } } },
	/* lavabit: AUTH alone refused, CAPA with STLS, STLS, +OK, a TLS 1.0
	 * ClientHello (SNI pop.lavabit.com) and ServerHello */
	{ "public:nDPI/pop3_stls.pcap", 110, NULL, 0, 0, 0, 1, {
	    { P3, OFFERED | ACCEPTED | HELLOS, "lavad", "+OK", NULL, NULL,
	      NULL, NULL, NULL, NULL, 0x0301 } } },
	/* Zeek's five 1&1 sessions (CAPA with STLS, never used): CAPA and
	 * QUIT pipelined twice; AUTH alone -ERR, CAPA, AUTH PLAIN + its
	 * response, -ERR (a password sent, wrong); the same accepted, with
	 * QUIT; the same with STAT, LIST, UIDL, three RETRs, QUIT. Two
	 * more servers answer each of three SYNs with RST, the SYNs from one
	 * client port: two connections (4-tuples) without a session. The
	 * passwords are napier and napier123. */
	{ "public:zeek/pop3.pcap", 110, "napier", 0, 0, 2, 5, {
	    { P3, OFFERED | QUIT, "POP server ready H mimap4 "
	      "0MHoUr-1VDxRD3Ui5-003eq2", NULL, NULL, NULL, NULL, NULL, NULL,
	      NULL, 0 },
	    { P3, OFFERED | CRED, "POP server ready H mimap8 "
	      "0MHXFQ-1VDgSF1308-003NYq", NULL, "AUTH PLAIN",
	      "digitalinvestigator@networksims.com", NULL, NULL, NULL, NULL,
	      0 },
	    { P3, OFFERED | QUIT, "POP server ready H mimap9 "
	      "0MK0or-1VBlin3ixZ-001RVN", NULL, NULL, NULL, NULL, NULL, NULL,
	      NULL, 0 },
	    { P3, OFFERED | CRED | QUIT, "POP server ready H mimap13 "
	      "0MW5rZ-1VayeZ2jFp-00XVZd", NULL, "AUTH PLAIN",
	      "digitalinvestigator@networksims.com", NULL, NULL, NULL, NULL,
	      0 },
	    { P3, OFFERED | CRED | QUIT, "POP server ready H mimap15 "
	      "0LfD5x-1VsVU4327M-00pHSn", NULL, "AUTH PLAIN",
	      "digitalinvestigator@networksims.com", NULL, NULL, NULL, NULL,
	      0 } } },
	/* the same five sessions (without the refused connections) after a
	 * mail.com session: user, pass (pippozzo), list, uidl, retr 2,
	 * quit, no CAPA */
	{ "public:nDPI/pop3.pcap", 110, "pippozzo", 0, 0, 0, 6, {
	    { P3, GREETED | CRED | QUIT, "POP server ready H migmxus005",
	      NULL, "USER/PASS", "cicciopernacchio@mail.com", NULL, NULL,
	      NULL, NULL, 0 },
	    { P3, OFFERED | QUIT, "*", NULL, NULL, NULL, NULL, NULL, NULL,
	      NULL, 0 },
	    { P3, OFFERED | CRED, "*", NULL, "AUTH PLAIN", "*", NULL, NULL,
	      NULL, NULL, 0 },
	    { P3, OFFERED | QUIT, "*", NULL, NULL, NULL, NULL, NULL, NULL,
	      NULL, 0 },
	    { P3, OFFERED | CRED | QUIT, "*", NULL, "AUTH PLAIN", "*", NULL,
	      NULL, NULL, NULL, 0 },
	    { P3, OFFERED | CRED | QUIT, "*", NULL, "AUTH PLAIN", "*", NULL,
	      NULL, NULL, NULL, 0 } } },
	/* arkime's synthetic NTLM logins: on 110 AUTH NTLM, "+ ", two
	 * tokens, +OK Logged in, QUIT: no password crosses the wire */
	{ "public:arkime/ntlm_synthetic.pcap", 110, NULL, 0, 0, 0, 1, {
	    { P3, GREETED | QUIT, "POP3 server ready", NULL, NULL, NULL, NULL,
	      NULL, NULL, NULL, 0 } } },
};

static void
test_pop3_public(void **state)
{
	(void)state;
	run_cases(pop3_public, sizeof(pop3_public) / sizeof(pop3_public[0]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pop3_bundled),
		cmocka_unit_test(test_pop3_public),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
