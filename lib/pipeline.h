/*
 * pipeline.h: the stages wired together, without I/O of its own.
 *
 * decode (-> frag) -> flow -> tcp -> reasm -> mail -> detect -> sinks. The sensor feeds it
 * frames from libpcap; tests and fuzz harnesses feed it frames from memory.
 * Time is the packets' time only: nothing here reads the clock.
 */
#ifndef STRIPWATCH_PIPELINE_H
#define STRIPWATCH_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "detect.h"
#include "flow.h"
#include "frag.h"
#include "history.h"
#include "memcap.h"
#include "reasm.h"
#include "mail.h"
#include "tcp.h"

struct pipeline_config {
	struct flow_config flow;
	struct frag_config frag;
	struct history_config history;
	struct reasm_config reasm;
	struct mail_config mail;
	size_t		 smtp_memcap;	/* bytes all SMTP sessions hold beyond
					   their structs: partial lines, deep
					   command queues, TLS buffers */
	uint32_t	 tls_cert_cache; /* certificates whose fingerprint is
					   kept (tls.h), fixed at
					   pipeline_new() */
	struct tcp_config tcp;
	int		 mail_ports_only; /* drop TCP with neither port in
					   MAIL_PORTS before it makes a flow:
					   what the default filter does */
	uint64_t	 first_session_id; /* ids are given from here up */
	uint32_t	 session_id_stride; /* step between ids (0 = 1): N
					   capture workers sharing one
					   database take ids first + i,
					   first + i + N, ... */
};

struct pipeline_stats {
	struct decode_stats decode;
	struct reasm_stats reasm;
	struct mail_stats mail;
	struct tcp_stats tcp;
	const struct flow_stats *flow;	/* owned by the flow table */
	const struct frag_stats *frag;	/* owned by the fragment table */
	uint64_t	 sessions;	/* SMTP sessions recorded */
	uint64_t	 not_smtp;	/* flows closed that were not SMTP */
	uint64_t	 after_end;	/* segments of finished connections
					   (late retransmissions), ignored */
	uint64_t	 filtered;	/* segments of other ports dropped
					   (mail_ports_only) */
	uint64_t	 session_alloc_failed; /* sessions not tracked: ENOMEM */
	size_t		 reasm_mem;	/* reassembly bytes held now */
	size_t		 reasm_mem_peak; /* and at most */
	size_t		 smtp_mem;	/* bytes charged to smtp_memcap now */
	size_t		 smtp_mem_peak;	/* and at most */
	uint64_t	 smtp_memcap_hits; /* buffers smtp_memcap refused */
	struct tls_certs_stats tls_cert_cache; /* fingerprints found in
					   the cache, or computed */
};

struct pipeline;

/* sinks must outlive the pipeline. NULL on ENOMEM. */
struct pipeline *pipeline_new(const struct pipeline_config *cfg,
	    const struct detect_sink *sinks, size_t nsinks);

/* Finish every open session (written to the sinks) and free. */
void	pipeline_free(struct pipeline *p);

/*
 * One captured frame of link type linktype (DECODE_LINK_*). Returns 0 when
 * mail_ports_only dropped it as the default filter would have: TCP of
 * other ports, or a frame that is neither a TCP segment nor an IP
 * fragment (not TCP, damaged, too deep). Such a frame leaves only
 * counters behind; its time is not the pipeline's, nor should it drive
 * the caller's housekeeping, as if BPF had never passed it. Else 1.
 */
int	pipeline_frame(struct pipeline *p, int linktype, uint64_t ts_us,
	    const uint8_t *frame, uint32_t caplen);

/*
 * Where the frames fed from now on come from: a capture file as named to
 * the program, "-" for standard input, an interface. Sessions first seen
 * to be mail from now on name it (detect_session.source), continuations
 * of earlier sessions keep theirs. The name is escaped (text.h) and cut
 * to DETECT_SOURCE_MAX - 1 bytes; the copy, returned, lives as long as
 * the pipeline (one allocation per call). NULL on ENOMEM.
 */
const char *pipeline_set_source(struct pipeline *p, const char *name);

/* Housekeeping by packet time: expire idle flows and fragments. */
void	pipeline_tick(struct pipeline *p, uint64_t now_us);

/* End of input: finish and record every open session (and flush). */
void	pipeline_finish(struct pipeline *p);

/*
 * Before a database write: hand the sinks what is batched in the
 * pipeline (server history changed since the last flush).
 */
void	pipeline_flush(struct pipeline *p);

/*
 * Apply new limits (a reload): timeouts, memory caps, the SMTP and TLS
 * limits of sessions that start from now on, vanished_after. The flow
 * table and the server history keep their capacity.
 */
void	pipeline_set_limits(struct pipeline *p, const struct pipeline_config *cfg);

/* The server history, to fill from the database before the first frame. */
struct history *pipeline_history(struct pipeline *p);

/* Latest packet time seen, 0 before the first. */
uint64_t pipeline_now(const struct pipeline *p);

const struct pipeline_stats *pipeline_get_stats(struct pipeline *p);

#endif
