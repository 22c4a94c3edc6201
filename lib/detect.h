/*
 * detect.h: the stripping policy. Turns the facts of an SMTP session into
 * events with severities, at most one per kind per session, and into the
 * session record written when it ends. Findings go to sinks (store, alert,
 * a recording sink in tests) through struct detect_sink.
 */
#ifndef STRIPWATCH_DETECT_H
#define STRIPWATCH_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "history.h"
#include "mail.h"

/* Escaped evidence and text fields: room for TEXT_FIELD_MAX bytes of \xHH. */
#define DETECT_TEXT_MAX	(4 * TEXT_FIELD_MAX + 4)

/* A session's source (a path, an interface), escaped, with its NUL:
 * longer names are cut, ending in "...". */
#define DETECT_SOURCE_MAX	256

enum detect_kind {
	DETECT_CAPABILITY_MASKED = 0,
	DETECT_COMMAND_MASKED,
	DETECT_STARTTLS_REFUSED,
	DETECT_PLAINTEXT_AFTER_STARTTLS,
	DETECT_STARTTLS_INJECTION,
	DETECT_REASSEMBLY_CONFLICT,
	DETECT_BANNER_MASKED,
	DETECT_STARTTLS_VANISHED,
	DETECT_CERTIFICATE_CHANGED,
	DETECT_CLEARTEXT_CREDENTIALS,
	DETECT_PREAUTH_GREETING,
	DETECT_NKINDS
};

enum detect_severity {
	DETECT_SEV_INFO = 0,
	DETECT_SEV_LOW,
	DETECT_SEV_MEDIUM,
	DETECT_SEV_HIGH
};

struct detect_event {
	uint64_t	 ts_us;		/* packet time of the finding */
	uint64_t	 session_id;	/* sessions.id of its session */
	enum detect_kind kind;
	enum detect_severity severity;
	struct flow_tuple tuple;	/* client and server */
	char		 evidence[DETECT_TEXT_MAX]; /* escaped */
};

/* The sessions row. Text fields are escaped; "" means NULL. */
struct detect_session {
	uint64_t	 id;
	uint64_t	 start_us;
	uint64_t	 end_us;
	struct flow_tuple tuple;
	char		 helo[DETECT_TEXT_MAX];
	char		 banner[DETECT_TEXT_MAX];
	uint8_t		 starttls_offered;
	uint8_t		 starttls_requested;
	uint16_t	 starttls_reply;	/* SMTP code; 0 = NULL */
	char		 starttls_status[5];	/* IMAP/POP3 answer word to
						   STARTTLS; "" = NULL */
	const char	*protocol;		/* mail_proto_name() */
	uint8_t		 tls_established;
	const char	*tls_version;		/* NULL when not seen */
	char		 tls_cipher[64];	/* "" = NULL */
	char		 tls_sni[DETECT_TEXT_MAX]; /* "" = NULL */
	char		 cert_sha256[65];	/* hex, "" = NULL */
	uint32_t	 gaps;
	uint32_t	 events;		/* bit per detect_kind raised */
	const char	*outcome;		/* DETECT_OUTCOME_* */
	const char	*close_reason;		/* flow_close_reason_name() */
	uint32_t	 resumed;		/* times the connection was
						   evicted and picked up again:
						   this row then merges into
						   the one of the same id */
	const char	*prev_outcome;		/* the outcome of the row
						   this one replaces (written
						   when the connection was
						   evicted), NULL = none */
	const char	*source;		/* capture file or interface,
						   escaped, < DETECT_SOURCE_MAX
						   bytes; NULL = unknown */
};

/* Values of sessions.outcome. */
#define DETECT_OUTCOME_TLS		"tls"		/* both hellos seen */
#define DETECT_OUTCOME_TLS_UNSEEN	"tls_unverified" /* 220, no handshake
							   seen */
#define DETECT_OUTCOME_STRIPPED		"stripped"	/* tampering event */
#define DETECT_OUTCOME_REFUSED		"refused"	/* STARTTLS refused */
#define DETECT_OUTCOME_NOT_REQUESTED	"plaintext_offered" /* offered, not
							   asked for */
#define DETECT_OUTCOME_NOT_OFFERED	"plaintext"	/* never offered */
#define DETECT_OUTCOME_INCOMPLETE	"incomplete"	/* ended before the
							   EHLO reply */
#define DETECT_NOUTCOMES		7

/* Every outcome above, each once. */
extern const char *const detect_outcomes[DETECT_NOUTCOMES];

/* The place of name in detect_outcomes; DETECT_NOUTCOMES if it is none. */
size_t	detect_outcome_index(const char *name);

/* Where findings go. Calls are synchronous; pointers are only valid during
 * the call. */
struct detect_sink {
	void	(*event)(void *arg, const struct detect_event *ev);
	void	(*session)(void *arg, const struct detect_session *s);
	/* A server's history changed (may be NULL); see detect_flush(). */
	void	(*server)(void *arg, const struct history_server *srv);
	void	*arg;
};

/*
 * Per-session detection state, embedded in the caller's session. A plain
 * value: a session continued after an eviction carries it over, so no
 * kind is raised twice and the server history counts the session once.
 */
struct detect_state {
	uint32_t	 emitted;	/* bit per detect_kind already raised */
	uint32_t	 resumed;	/* the caller's: times continued after
					   an eviction (detect_session) */
	unsigned	 tampered:1;	/* a tampering event was raised: the
					   outcome is "stripped" */
	unsigned	 judged_offer:1; /* history compared with the offer */
	unsigned	 judged_cert:1;	/* history compared with the cert */
	unsigned	 remembered:1;	/* added to the server history */
	unsigned	 written:4;	/* outcome of the last row written, 1 +
					   its place in detect_outcomes; 0 =
					   none yet. Bit fields: the whole
					   state fits an evicted connection's
					   memo (FLOW_MEMO_MAX) */
};

struct detect {
	const struct detect_sink *sinks;
	size_t		 nsinks;
	struct history	*hist;		/* server history, NULL = none */
	uint64_t	 events[DETECT_NKINDS];	/* raised, per kind */
};

/* hist may be NULL: the history-based kinds are then never raised. */
void	detect_init(struct detect *d, const struct detect_sink *sinks,
	    size_t nsinks, struct history *hist);

/*
 * Look at the facts after new bytes were parsed; raise each kind whose
 * condition became true and was not raised yet in this session. Once the
 * server's capabilities are known, they are compared with its history
 * (starttls_vanished); once its certificate is known, with the last one
 * (certificate_changed).
 */
void	detect_update(struct detect *d, struct detect_state *st,
	    const struct mail_facts *f, const struct flow_tuple *t,
	    uint64_t session_id, uint64_t ts_us);

/*
 * Raise reassembly_conflict (once per session) with both versions;
 * old_bytes NULL: only a digest of the first copy was kept, and the
 * evidence says so.
 */
void	detect_conflict(struct detect *d, struct detect_state *st,
	    const struct flow_tuple *t, uint64_t session_id, uint64_t ts_us,
	    const uint8_t *old_bytes, const uint8_t *new_bytes, size_t len);

/*
 * The session ended: fill *out from the facts and hand it to the sinks,
 * then add the session to the server's history (handed over by
 * detect_flush()) unless it was added before (a continuation).
 * Sessions that never looked like SMTP are not recorded. source (may be
 * NULL) must stay valid as long as out.
 */
void	detect_finish(struct detect *d, struct detect_state *st,
	    const struct mail_facts *f, const struct flow_tuple *t,
	    uint64_t session_id, uint64_t start_us, uint64_t end_us,
	    const char *close_reason, const char *source,
	    struct detect_session *out);

/*
 * Whether an event of kind k and severity sev is tampering: it makes its
 * session's outcome stripped (or refused, for starttls_refused). The
 * database's view "tampering" lists the same kinds.
 */
int	detect_kind_tampering(enum detect_kind k, enum detect_severity sev);

/*
 * Hand every server whose history changed since the last call to the
 * sinks, once each (before a database write: one row per server, not one
 * per session).
 */
void	detect_flush(struct detect *d);

const char *detect_kind_name(enum detect_kind k);
const char *detect_severity_name(enum detect_severity s);

#endif
