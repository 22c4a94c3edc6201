/*
 * smtp.h: the SMTP parser. It reads both directions of one session and keeps
 * facts about it (banner, EHLO capabilities, STARTTLS request and reply,
 * what followed); it judges nothing. detect.c turns the facts into events.
 *
 * Bytes come in order per direction (dir 0 = client to server, 1 = server to
 * client) in capture order across directions. Lines are framed on LF with an
 * optional CR, bounded by max_line; commands are queued (pipelining) and each
 * reply is paired with the oldest unanswered command. Message bodies (DATA,
 * BDAT) and AUTH exchanges are never read as commands or replies.
 */
#ifndef STRIPWATCH_SMTP_H
#define STRIPWATCH_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "tls.h"

/* Raw bytes kept as evidence or for the record; longer input is cut. */
#define SMTP_TEXT_MAX	256

struct smtp_text {
	uint16_t	 len;		/* bytes in b, <= SMTP_TEXT_MAX */
	uint8_t		 b[SMTP_TEXT_MAX]; /* raw, not NUL-terminated */
};

struct smtp_config {
	uint32_t	 max_line;	/* longest line kept; beyond: discard to
					   the next LF, count it */
	uint32_t	 max_pipeline;	/* unanswered commands queued */
	uint32_t	 tls_max_bytes;	/* TLS handshake bytes buffered per
					   direction */
};

/* Fact flags, set once and never cleared. */
#define SMTP_F_SMTP		0x00000001u /* looks like SMTP (220 banner or
					       a known command) */
#define SMTP_F_BANNER		0x00000002u /* 220 greeting seen */
#define SMTP_F_EHLO		0x00000004u /* client sent EHLO */
#define SMTP_F_HELO		0x00000008u /* client sent HELO */
#define SMTP_F_EHLO_REPLY	0x00000010u /* EHLO reply complete */
#define SMTP_F_EHLO_REFUSED	0x00000020u /* EHLO answered 4xx/5xx */
#define SMTP_F_STARTTLS_OFFERED	0x00000040u /* STARTTLS in an EHLO reply */
#define SMTP_F_CAP_MASKED	0x00000080u /* masked keyword in EHLO reply */
#define SMTP_F_CMD_MASKED	0x00000100u /* client sent a masked verb */
#define SMTP_F_STARTTLS_REQUESTED 0x00000200u /* client sent STARTTLS */
#define SMTP_F_STARTTLS_REPLY	0x00000400u /* STARTTLS got a reply */
#define SMTP_F_STARTTLS_ACCEPTED 0x00000800u /* ... and it was 220 */
#define SMTP_F_CMD_INJECTION	0x00001000u /* client bytes after STARTTLS
					       before its reply, not TLS */
#define SMTP_F_RESP_INJECTION	0x00002000u /* server bytes after the 220,
					       before the client spoke, not
					       TLS */
#define SMTP_F_PLAINTEXT_AFTER	0x00004000u /* plaintext where the TLS
					       handshake should be */
#define SMTP_F_TLS_CLIENT_HELLO	0x00008000u /* ClientHello after 220 */
#define SMTP_F_TLS_SERVER_HELLO	0x00010000u /* ServerHello after 220 */
#define SMTP_F_BANNER_MASKED	0x00020000u /* banner of '*' around digits
					       (PIX/ASA) */
#define SMTP_F_GAP		0x00040000u /* bytes were lost */
#define SMTP_F_MIDSTREAM	0x00080000u /* joined after the banner */
#define SMTP_F_QUIT		0x00100000u /* QUIT seen */

/* Everything detect.c and the session record need. */
struct smtp_facts {
	uint32_t	 flags;		/* SMTP_F_* */
	uint16_t	 starttls_reply; /* code answering STARTTLS, 0 none */
	uint16_t	 ehlo_reply;	/* final code answering EHLO, 0 none */
	uint32_t	 ehlo_count;	/* EHLO/HELO commands seen */
	uint32_t	 gaps;		/* gaps reported by reassembly */
	struct smtp_text banner;	/* first line of the greeting, after
					   the code */
	struct smtp_text helo;		/* EHLO/HELO argument */
	struct smtp_text cap_masked;	/* the masked capability line */
	struct smtp_text cmd_masked;	/* the masked command line */
	struct smtp_text starttls_line;	/* the reply line to STARTTLS */
	struct smtp_text injected;	/* first injected bytes */
	struct smtp_text plaintext;	/* first plaintext after the 220 */
	struct tls_facts tls;		/* handshake facts after the 220 */
};

/* Parser counters, shared by all sessions of a pipeline. */
struct smtp_stats {
	uint64_t	 lines;		/* lines parsed */
	uint64_t	 long_lines;	/* lines over max_line, discarded */
	uint64_t	 pipeline_full;	/* commands dropped: queue full */
	uint64_t	 unpaired;	/* replies with no command queued */
	uint64_t	 bad_replies;	/* server lines that are no reply */
	uint64_t	 bad_bdat;	/* BDAT lines with an unusable size */
};

enum smtp_state {
	SMTP_ST_BANNER = 0,	/* waiting for the greeting */
	SMTP_ST_COMMAND,	/* commands and replies */
	SMTP_ST_DATA,		/* client sends a DATA body */
	SMTP_ST_BDAT,		/* client sends a BDAT chunk */
	SMTP_ST_AUTH,		/* SASL exchange */
	SMTP_ST_TLS_WAIT,	/* 220 to STARTTLS: expecting TLS */
	SMTP_ST_TLS,		/* handshake under way or done */
	SMTP_ST_DONE		/* nothing more to learn */
};

/* Commands awaiting their reply that survive an eviction (the oldest). */
#define SMTP_RESUME_QUEUE	4

/*
 * What a session's parser keeps when its connection is evicted from the
 * flow table, to go on when the connection is seen again: the facts that
 * detect.c and the outcome read, the state, the commands awaiting their
 * reply. Partial lines, TLS records and text are not kept: the
 * continuation skips to the next line, and the session row written at the
 * eviction holds the text.
 */
struct smtp_resume {
	uint32_t	 flags;		/* SMTP_F_* */
	uint32_t	 gaps;
	uint16_t	 ehlo_reply;
	uint16_t	 starttls_reply;
	uint16_t	 bits;		/* SMTP_R_* in smtp.c */
	uint8_t		 state;		/* enum smtp_state */
	uint8_t		 qlen;		/* entries in q */
	uint8_t		 q[SMTP_RESUME_QUEUE]; /* oldest command first */
};

struct smtp_session;

/* New session parser; cfg is copied, stats must outlive it. NULL on ENOMEM. */
struct smtp_session *smtp_session_new(const struct smtp_config *cfg,
	    struct smtp_stats *stats);
void	smtp_session_free(struct smtp_session *s);

/*
 * Feed in-order bytes of direction dir. Returns 1 when nothing more is
 * wanted from that direction (REASM_ENOUGH), else 0.
 */
int	smtp_data(struct smtp_session *s, int dir, const uint8_t *buf,
	    size_t len);

/* len bytes of direction dir were lost: resynchronise at the next line. */
void	smtp_gap(struct smtp_session *s, int dir, uint32_t len);

/* End of session: a last line without LF is parsed. */
void	smtp_end(struct smtp_session *s);

/* Keep what a continuation needs (before smtp_end(): a line cut by the
 * eviction is then skipped, not parsed twice). */
void	smtp_session_save(const struct smtp_session *s, struct smtp_resume *r);

/*
 * A parser that continues a session saved by smtp_session_save(), for the
 * bytes that follow in each direction. NULL on ENOMEM.
 */
struct smtp_session *smtp_session_resume(const struct smtp_config *cfg,
	    struct smtp_stats *stats, const struct smtp_resume *r);

const struct smtp_facts *smtp_session_facts(const struct smtp_session *s);
enum smtp_state smtp_session_state(const struct smtp_session *s);
const char *smtp_state_name(enum smtp_state st);

/*
 * Whether keyword (len bytes) is a masked one: three or more 'X' (any
 * case), optionally followed by one other letter ("XXXXXXXA", "XXXB").
 * Real extensions starting with X (XEXCH50, X-ANONYMOUSTLS) are not.
 */
int	smtp_is_masked_keyword(const uint8_t *kw, size_t len);

#endif
