/*
 * mailpriv.h: the contract between mail.c and the protocol parsers
 * (smtp.c, imap.c, pop3.c); nothing else includes it.
 *
 * mail.c frames each direction into lines and hands every line to the
 * protocol with the role its first bytes gave it (ordinary, injected after
 * STARTTLS, plaintext where TLS should be). A protocol can ask mail.c to
 * step over a dot-terminated body (SMTP DATA, POP3 RETR) or a counted run
 * of bytes (SMTP BDAT, IMAP literals) in one direction, and tells it when
 * STARTTLS was asked for and answered; mail.c then watches for the TLS
 * handshake and feeds it to the TLS reader. The protocol's own session
 * struct begins with struct mail_session.
 */
#ifndef STRIPWATCH_MAILPRIV_H
#define STRIPWATCH_MAILPRIV_H

#include "mail.h"

/*
 * Bytes of a line kept in the session itself when the memcap refuses it a
 * buffer: a reply code with its continuation mark and a capability or a
 * verb ("250-XXXXXXXA", "STARTTLS", "a1 STARTTLS"), what pairing and
 * detection read.
 */
#define MAIL_LINE_HEAD		16

/* How a direction's bytes are read. */
enum mail_mode {
	MAIL_MODE_LINE = 0,	/* lines, each to the protocol */
	MAIL_MODE_BODY,		/* a body ending at a line ".": only lines
				   starting with '.' are framed */
	MAIL_MODE_RAW		/* raw_left bytes, never framed */
};

/* What the start of a line made of it (decided on its first byte). */
enum mail_role {
	MAIL_ROLE_NORMAL = 0,
	MAIL_ROLE_CMD_INJECTED,	/* client, after STARTTLS, before its reply */
	MAIL_ROLE_RESP_INJECTED, /* server, after acceptance, client silent */
	MAIL_ROLE_PLAINTEXT	/* where the TLS handshake should be */
};

struct mail_dir {
	uint8_t		*buf;		/* partial line, NULL unless one is
					   pending (charged to the memcap) */
	uint32_t	 len;		/* bytes kept in buf, <= max_line */
	uint32_t	 cap;		/* size of buf */
	uint64_t	 raw;		/* bytes of the line so far, kept or not */
	uint64_t	 lines;		/* lines completed */
	uint64_t	 raw_left;	/* MAIL_MODE_RAW: bytes still to step */
	uint8_t		 mode;		/* enum mail_mode */
	uint8_t		 in_line;	/* a line has started: role decided */
	uint8_t		 role;		/* enum mail_role of that line */
	uint8_t		 skip;		/* discard to the next LF (gap) */
	uint8_t		 cut;		/* buf could not grow: keep no more
					   bytes of this line */
	uint8_t		 head[MAIL_LINE_HEAD]; /* the line's start when buf
					   could not be had at all */
	uint8_t		 seen;		/* first byte looked at */
	uint8_t		 tls;		/* bytes go to the TLS reader */
	uint8_t		 done;		/* nothing more wanted */
};

struct mail_session {
	const struct mail_proto_ops *ops;
	struct mail_config cfg;		/* a copy: a reload must not change
					   the limits under live buffers */
	struct mail_stats *stats;
	struct memcap	*mem;		/* shared: buffers are charged here */
	enum mail_state	 state;
	struct mail_facts f;
	struct mail_dir	 d[2];		/* client to server, server to client */
	uint8_t		 starttls_pending; /* STARTTLS sent, no reply yet */
	uint8_t		 srv_judged;	/* server bytes after the ClientHello
					   were judged */
	uint8_t		 foreign;	/* lines of another protocol before it
					   looked like this one */
	uint8_t		 guessed;	/* the first line chose the protocol */
	uint8_t		 sasl_mech;	/* enum mail_sasl of the exchange */
	uint8_t		 sasl_step;	/* its client responses so far */
	uint32_t	 secrets;	/* lines that carried a secret, so far:
					   mail_session_secrets() */
	uint16_t	 line_keep;	/* bytes of line evidence may keep:
					   those before a secret (mail_secret);
					   evidence is shorter than 64 KiB */
	const char	*sasl_how;	/* "AUTH" or "AUTHENTICATE" */
	struct tls_parser *tp;		/* after STARTTLS was accepted */
	struct tls_certs *certs;	/* shared fingerprints, may be NULL */
	const uint8_t	*line;		/* the line being parsed, NULL
					   between lines */
};

/* What a protocol parser provides. */
struct mail_proto_ops {
	enum mail_proto	 proto;
	size_t		 size;		/* of its session struct */
	/* Set up the protocol's part (zeroed before). */
	void	(*init)(struct mail_session *);
	/* A whole line of direction dir, without its CR LF. */
	void	(*line)(struct mail_session *, int dir, const uint8_t *,
		    size_t, enum mail_role);
	/* Bytes stepped over in MAIL_MODE_RAW (may be NULL). */
	void	(*raw)(struct mail_session *, int dir, const uint8_t *,
		    size_t);
	/* A body of direction dir ended at its "." line (may be NULL). */
	void	(*body_end)(struct mail_session *, int dir);
	/* Bytes of direction dir were lost (after mail.c's own part). */
	void	(*gap)(struct mail_session *, int dir);
	/* Give back every buffer the protocol holds (may be NULL). */
	void	(*release)(struct mail_session *);
	/*
	 * Whether the first line of a session, of direction dir, can only be
	 * this protocol (its greeting, a command only it has).
	 */
	int	(*claims)(int dir, const uint8_t *, size_t);
	/* Add the protocol's part to a session being saved (may be NULL):
	 * proto_bits, and the commands awaiting replies in q. */
	void	(*save)(const struct mail_session *, struct mail_resume *);
	/* Take it back in a continuation, after mail.c's part (may be
	 * NULL). */
	void	(*resume)(struct mail_session *, const struct mail_resume *);
};

extern const struct mail_proto_ops smtp_ops;
extern const struct mail_proto_ops imap_ops;
extern const struct mail_proto_ops pop3_ops;

/* The one place the state changes; MAIL_ST_DONE is final. */
void	mail_set_state(struct mail_session *, enum mail_state);

/* Whether p (n bytes) equals the ASCII word w, ignoring case. */
int	mail_ieq(const uint8_t *, size_t, const char *);

/* Length of the first word (up to a space or the end). */
size_t	mail_word(const uint8_t *, size_t);

/* A line of another protocol before any sign of this one. */
void	mail_foreign_line(struct mail_session *);

/* The client asked for STARTTLS (STLS): its reply is awaited. */
void	mail_starttls_asked(struct mail_session *);

/*
 * The server answered STARTTLS with line (n bytes): accepted or not. An
 * acceptance starts the watch for the TLS handshake.
 */
void	mail_starttls_answered(struct mail_session *, int accepted,
	    const uint8_t *line, size_t n);

/* A dot-terminated body follows in direction dir. */
void	mail_body(struct mail_session *, int dir);

/* n raw bytes follow in direction dir (0: nothing to step). */
void	mail_raw(struct mail_session *, int dir, uint64_t n);

/*
 * A SASL exchange starts (SMTP and POP3 "AUTH", IMAP "AUTHENTICATE"; how
 * is that word): arg is "MECHANISM [initial-response]". Until the
 * protocol ends it (mail_set_state(MAIL_ST_COMMAND) on the final reply),
 * the client's lines are SASL responses, read here: the user name of a
 * PLAIN or LOGIN exchange is kept and the password flagged as sent in
 * the clear, never kept (the decoded bytes are wiped).
 */
void	mail_auth_start(struct mail_session *, const char *how,
	    const uint8_t *arg, size_t n);

/*
 * The client sent a password outside TLS: how (our own constant text)
 * and the user name (ulen bytes) are kept, the first time.
 */
void	mail_credentials(struct mail_session *, const char *how,
	    const uint8_t *user, size_t ulen);

/*
 * The line being parsed carries a secret (a password, a SASL response)
 * from the byte at from on: what mail.c keeps of the line as evidence (an
 * injected line, plaintext after STARTTLS) ends before it. A protocol
 * that finds a password in a command line calls it; SASL exchanges are
 * marked by mail.c itself.
 */
void	mail_secret(struct mail_session *, const uint8_t *from);

/* Direction dir reads lines again (a body or a run given up). */
void	mail_lines(struct mail_session *, int dir);

/*
 * Commands sent and not answered yet, oldest first, for protocols whose
 * replies come in order (SMTP, POP3): held in the struct up to
 * MAIL_Q_INLINE, beyond in a buffer charged to the memcap, never more
 * than max_pipeline (overflow counted in pipeline_full). An RFC 2920
 * client pipelines MAIL, its RCPTs and DATA at once: 16 covers 14
 * recipients.
 */
#define MAIL_Q_INLINE		16

struct mail_cmdq {
	uint8_t		*q;		/* ring beyond MAIL_Q_INLINE, NULL: qin */
	uint8_t		 qin[MAIL_Q_INLINE]; /* the ring while it fits */
	uint32_t	 cap;		/* entries the ring holds */
	uint32_t	 head;		/* oldest entry */
	uint32_t	 len;		/* entries queued */
};

/* Empty the queue and give back a buffer it grew into. */
void	mail_q_clear(struct mail_session *, struct mail_cmdq *);
void	mail_q_push(struct mail_session *, struct mail_cmdq *, uint8_t cmd);
/* The oldest command, or 0 when none is queued. */
uint8_t	mail_q_peek(const struct mail_cmdq *);
void	mail_q_pop(struct mail_session *, struct mail_cmdq *);

#endif
