/*
 * mail.h: one mail session (SMTP, IMAP or POP3) followed from both
 * directions, and the facts it leaves for detect.c. What the three
 * protocols share lives in mail.c: framing lines, stepping over message
 * bodies and literals, the STARTTLS hand-over to the TLS reader, telling
 * the protocols apart. Each protocol's parser (smtp.c, imap.c, pop3.c)
 * reads the lines and fills the same facts; nothing here judges.
 *
 * Bytes come in order per direction (dir 0 = client to server, 1 = server
 * to client) in capture order across directions. Lines are framed on LF
 * with an optional CR, bounded by max_line. Memory a session holds beyond
 * its fixed struct (a line split across segments, a deep command queue,
 * TLS handshake buffers) is charged to a struct memcap shared by all
 * sessions; what it refuses is counted there.
 */
#ifndef STRIPWATCH_MAIL_H
#define STRIPWATCH_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "text.h"
#include "tls.h"

enum mail_proto {
	MAIL_PROTO_SMTP = 0,
	MAIL_PROTO_IMAP,
	MAIL_PROTO_POP3,
	MAIL_NPROTOS
};

struct mail_config {
	uint32_t	 max_line;	/* longest line kept; beyond: discard to
					   the next LF, count it */
	uint32_t	 max_pipeline;	/* unanswered commands queued */
	uint32_t	 tls_max_bytes;	/* TLS handshake bytes buffered per
					   direction */
};

/*
 * Fact flags, set once and never cleared. "Capabilities" are SMTP's EHLO
 * reply, IMAP's CAPABILITY response or greeting code, POP3's CAPA
 * response; "STARTTLS" is POP3's STLS too.
 */
#define MAIL_F_PROTO		0x00000001u /* looks like the protocol (a
					       greeting or a known command) */
#define MAIL_F_GREETING		0x00000002u /* greeting seen */
#define MAIL_F_EHLO		0x00000004u /* SMTP: client sent EHLO */
#define MAIL_F_HELO		0x00000008u /* SMTP: client sent HELO */
#define MAIL_F_CAPS		0x00000010u /* capabilities shown, complete */
#define MAIL_F_CAPS_REFUSED	0x00000020u /* the request for them refused
					       (EHLO 4xx/5xx, CAPA -ERR) */
#define MAIL_F_STARTTLS_OFFERED	0x00000040u /* STARTTLS among them */
#define MAIL_F_CAP_MASKED	0x00000080u /* a masked keyword among them */
#define MAIL_F_CMD_MASKED	0x00000100u /* client sent a masked verb */
#define MAIL_F_STARTTLS_REQUESTED 0x00000200u /* client sent STARTTLS */
#define MAIL_F_STARTTLS_REPLY	0x00000400u /* STARTTLS got a reply */
#define MAIL_F_STARTTLS_ACCEPTED 0x00000800u /* ... that accepted it */
#define MAIL_F_CMD_INJECTION	0x00001000u /* client bytes after STARTTLS
					       before its reply, not TLS */
#define MAIL_F_RESP_INJECTION	0x00002000u /* server bytes after the
					       acceptance, before the client
					       spoke, not TLS */
#define MAIL_F_PLAINTEXT_AFTER	0x00004000u /* plaintext where the TLS
					       handshake should be */
#define MAIL_F_TLS_CLIENT_HELLO	0x00008000u /* ClientHello after it */
#define MAIL_F_TLS_SERVER_HELLO	0x00010000u /* ServerHello after it */
#define MAIL_F_BANNER_MASKED	0x00020000u /* SMTP: banner of '*' around
					       digits (PIX/ASA) */
#define MAIL_F_GAP		0x00040000u /* bytes were lost */
#define MAIL_F_MIDSTREAM	0x00080000u /* joined after the greeting */
#define MAIL_F_QUIT		0x00100000u /* QUIT/LOGOUT seen */
#define MAIL_F_CLOSING		0x00200000u /* the server refused service
					       before showing capabilities
					       (SMTP 421, IMAP BYE greeting) */
#define MAIL_F_CREDENTIALS	0x00400000u /* the client sent a password
					       outside TLS (cred_mech) */
#define MAIL_F_LOGINDISABLED	0x00800000u /* IMAP: LOGINDISABLED among
					       the capabilities */
#define MAIL_F_PREAUTH		0x01000000u /* IMAP: PREAUTH greeting: logged
					       in by the connection itself,
					       STARTTLS is then impossible
					       (RFC 3501 7.1.4, 6.2.1) */

/* Longest name of how credentials were sent ("AUTHENTICATE PLAIN"). */
#define MAIL_MECH_MAX	24

/*
 * Everything detect.c and the session record need. The text fields are
 * the session's own (text.h): mail_session_free() gives them back.
 */
struct mail_facts {
	enum mail_proto	 proto;
	uint32_t	 flags;		/* MAIL_F_* */
	uint16_t	 starttls_reply; /* SMTP: code answering STARTTLS, 0
					   none (see starttls_line) */
	char		 starttls_status[5]; /* IMAP "OK", "NO", "BAD"; POP3
					   "+OK", "-ERR": the answer to
					   STARTTLS/STLS; "" none or SMTP */
	uint16_t	 ehlo_reply;	/* SMTP: final code answering EHLO, 0
					   none */
	uint32_t	 ehlo_count;	/* SMTP: EHLO/HELO commands seen */
	uint32_t	 gaps;		/* gaps reported by reassembly */
	struct text_field banner;	/* the greeting's first line, after
					   the code or status */
	struct text_field helo;		/* SMTP: EHLO/HELO argument */
	struct text_field cap_masked;	/* the masked capability line */
	struct text_field cmd_masked;	/* the masked command line */
	struct text_field starttls_line;	/* the reply line to STARTTLS */
	struct text_field injected;	/* first injected bytes */
	struct text_field plaintext;	/* first plaintext after acceptance */
	struct text_field cred_user;	/* the user name sent with the first
					   cleartext password (never the
					   password) */
	char		 cred_mech[MAIL_MECH_MAX]; /* how: "AUTH PLAIN",
					   "LOGIN", "USER/PASS"... */
	struct tls_facts tls;		/* handshake facts after it */
};

/* Parser counters, shared by all sessions of a pipeline. */
struct mail_stats {
	uint64_t	 lines;		/* lines parsed */
	uint64_t	 long_lines;	/* lines over max_line, discarded */
	uint64_t	 pipeline_full;	/* commands dropped: queue full
					   (max_pipeline, or the memcap) */
	uint64_t	 unpaired;	/* replies with no command queued */
	uint64_t	 bad_replies;	/* server lines that are no reply */
	uint64_t	 bad_bdat;	/* SMTP BDAT, IMAP literal sizes that
					   cannot be used */
};

/* Where a session is; the same for every protocol. */
enum mail_state {
	MAIL_ST_GREETING = 0,	/* waiting for the greeting */
	MAIL_ST_COMMAND,	/* commands and replies */
	MAIL_ST_AUTH,		/* SASL exchange: its lines are no commands */
	MAIL_ST_TLS_WAIT,	/* STARTTLS accepted: expecting TLS */
	MAIL_ST_TLS,		/* handshake under way or done */
	MAIL_ST_DONE		/* nothing more to learn */
};

/* Commands awaiting their reply that survive an eviction (the oldest). */
#define MAIL_RESUME_QUEUE	4

/*
 * What a session keeps when its connection is evicted from the flow
 * table, to go on when the connection is seen again: the facts that
 * detect.c and the outcome read (not their text: the session row written
 * at the eviction holds it), the state, where each direction stood, the
 * commands awaiting their reply. Partial lines, TLS records and the rest
 * of a counted run are not kept: the continuation skips to the next line,
 * or gives up a direction it can no longer frame.
 */
struct mail_resume {
	uint32_t	 flags;		/* MAIL_F_* */
	uint32_t	 gaps;
	uint16_t	 ehlo_reply;
	uint16_t	 starttls_reply;
	uint16_t	 bits;		/* MAIL_R_* in mail.c */
	uint8_t		 proto;		/* enum mail_proto */
	uint8_t		 state;		/* enum mail_state */
	uint8_t		 proto_bits;	/* the protocol's own */
	uint8_t		 qlen;		/* entries in q */
	uint8_t		 q[MAIL_RESUME_QUEUE]; /* oldest command first */
};

struct mail_session;
struct memcap;

/*
 * New session, parsed as proto until its content says otherwise (see
 * mail.c); cfg is copied, stats and mem (shared with the other sessions)
 * must outlive it. NULL on ENOMEM.
 */
struct mail_session *mail_session_new(enum mail_proto proto,
	    const struct mail_config *cfg, struct mail_stats *stats,
	    struct memcap *mem);
void	mail_session_free(struct mail_session *s);

/*
 * Feed in-order bytes of direction dir. Returns 1 when nothing more is
 * wanted from that direction (REASM_ENOUGH), else 0.
 */
int	mail_data(struct mail_session *s, int dir, const uint8_t *buf,
	    size_t len);

/* len bytes of direction dir were lost: resynchronise at the next line. */
void	mail_gap(struct mail_session *s, int dir, uint32_t len);

/* End of session: a last line without LF is parsed. */
void	mail_end(struct mail_session *s);

/* Keep what a continuation needs (before mail_end(): a line cut by the
 * eviction is then skipped, not parsed twice). */
void	mail_session_save(const struct mail_session *s, struct mail_resume *r);

/*
 * A session that continues one saved by mail_session_save(), for the
 * bytes that follow in each direction. NULL on ENOMEM.
 */
struct mail_session *mail_session_resume(const struct mail_config *cfg,
	    struct mail_stats *stats, struct memcap *mem,
	    const struct mail_resume *r);

/*
 * Where the session looks up its server certificate's fingerprint
 * (tls.h; shared, must outlive s; NULL, the default: always computed).
 */
void	mail_session_certs(struct mail_session *s, struct tls_certs *certs);

const struct mail_facts *mail_session_facts(const struct mail_session *s);

/*
 * Give back the text fields of facts built outside a session (tests);
 * a session's own are given back by mail_session_free().
 */
void	mail_facts_free(struct mail_facts *f);
enum mail_state mail_session_state(const struct mail_session *s);

/*
 * How many lines so far carried a secret (a password, a SASL response):
 * when it grows, the caller wipes its own copies of the client's bytes.
 */
uint32_t mail_session_secrets(const struct mail_session *s);
const char *mail_state_name(enum mail_state st);

/* "smtp", "imap", "pop3" (sessions.protocol). */
const char *mail_proto_name(enum mail_proto p);

/* The protocol of a name mail_proto_name() gives; -1 for another. */
int	mail_proto_by_name(const char *name);

/*
 * The protocol a server port suggests (25, 465, 587, 2525 SMTP; 143 IMAP;
 * 110 POP3); SMTP for any other port. The content decides in the end.
 */
enum mail_proto mail_proto_by_port(uint16_t port);

/*
 * The ports the default filter watches, one list for everything built
 * from it: the default of the filter setting (MAIL_PORTS_FILTER, also what
 * --print-filter widens) and the pipeline's own check of a segment's ports
 * (mail_port_watched()). Adding a port is one more NEXT line.
 */
#define MAIL_PORTS(FIRST, NEXT) \
	FIRST(25) \
	NEXT(587) \
	NEXT(2525) \
	NEXT(143) \
	NEXT(110)

#define MAIL_PORTS_FILTER_FIRST(p)	"tcp port " #p
#define MAIL_PORTS_FILTER_NEXT(p)	" or tcp port " #p
/* "tcp port 25 or tcp port 587 or ...": the default filter. */
#define MAIL_PORTS_FILTER \
	MAIL_PORTS(MAIL_PORTS_FILTER_FIRST, MAIL_PORTS_FILTER_NEXT)

#define MAIL_PORTS_CASE(p)	case p:

/* Whether port is one of MAIL_PORTS. Inline: asked of both ports of
 * every TCP segment read. */
static inline int
mail_port_watched(uint16_t port)
{
	switch (port) {
	MAIL_PORTS(MAIL_PORTS_CASE, MAIL_PORTS_CASE)
		return 1;
	default:
		return 0;
	}
}

/*
 * Whether keyword (len bytes) is a masked one: three or more 'X' (any
 * case), optionally followed by one other letter ("XXXXXXXA", "XXXB").
 * Real extensions starting with X (XEXCH50, X-ANONYMOUSTLS) are not.
 */
int	mail_is_masked_keyword(const uint8_t *kw, size_t len);

#endif
