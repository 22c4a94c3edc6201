/*
 * tcp.h: segment validation in front of reassembly.
 *
 * Each segment of a known connection is judged against what its receiver
 * would accept: checksum, window, RST rules (RFC 5961), timestamps (PAWS,
 * RFC 7323). Keep-alives are recognised and reduced to their ACK. Only
 * segments that pass go on to reasm_segment(), so reassembly sees the
 * conversation the endpoints saw. Every rejection has a counter.
 */
#ifndef STRIPWATCH_TCP_H
#define STRIPWATCH_TCP_H

#include <stdint.h>

#include "decode.h"

/* checksum_validation setting. */
enum tcp_checksum_mode {
	TCP_CSUM_AUTO = 0,	/* verify; trust senders that offload */
	TCP_CSUM_YES,		/* verify; a failure is always dropped */
	TCP_CSUM_NO		/* do not verify TCP/UDP checksums */
};

struct tcp_config {
	enum tcp_checksum_mode checksum;
};

struct tcp_stats {
	uint64_t	 bad_checksum;	/* segments dropped: checksum failed */
	uint64_t	 checksum_offloaded; /* accepted unverified: their
					   sender offloads checksums */
	uint64_t	 checksum_unverified; /* accepted unverified: bytes
					   missing from the capture */
	uint64_t	 offloading_senders; /* connection directions whose
					   checksums are taken as offloaded */
	uint64_t	 out_of_window;	/* segments dropped: more than a
					   window from what the receiver
					   expects */
	uint64_t	 rst_ignored;	/* resets not taken (RFC 5961) */
	uint64_t	 paws_dropped;	/* segments dropped: timestamp older
					   than the last accepted (PAWS) */
	uint64_t	 probes;	/* keep-alives reduced to their ACK */
};

/* What one side of a connection has shown as sender and receiver. */
struct tcp_dir {
	uint32_t	 snd_max;	/* one past the highest sequence
					   number sent (TCP_D_SENT) */
	uint32_t	 ack;		/* highest ACK sent (TCP_D_ACKED) */
	uint32_t	 win_end;	/* highest ack + window advertised */
	uint32_t	 ts_recent;	/* last accepted TSval (TCP_D_TSREC) */
	uint16_t	 flags;		/* TCP_D_* in tcp.c */
	uint8_t		 wscale;	/* shift its SYN offered */
	uint8_t		 csum;		/* checksum trust, TCP_CK_* in tcp.c */
};

/* Per connection, in struct flow; all zero is the initial state. */
struct tcp_state {
	struct tcp_dir	 dir[2];	/* by sender: REASM_TO_SERVER, ... */
};

struct tcp_ctx {
	struct tcp_config cfg;
	struct tcp_stats stats;
};

void	tcp_ctx_init(struct tcp_ctx *ctx, const struct tcp_config *cfg);

/*
 * Checksum verdict of p under the configured mode, before any connection
 * state: DECODE_CSUM_OK when the mode is "no". Call once per segment and
 * hand the result to tcp_segment().
 */
enum decode_csum tcp_checksum(const struct tcp_ctx *ctx,
	    const struct decode_pkt *p);

/*
 * Whether a segment with checksum verdict csum is dropped before a
 * connection is looked up (mode "yes": it never creates a flow). Counted.
 */
int	tcp_drop_early(struct tcp_ctx *ctx, enum decode_csum csum);

/*
 * Whether an IP fragment goes on to reassembly: one whose IPv4 header
 * checksum failed is dropped (counted) unless the mode is "no".
 */
int	tcp_fragment_ok(struct tcp_ctx *ctx, const struct decode_pkt *p);

/* Verdicts of tcp_segment(). */
#define TCP_DROP	0	/* the receiver would drop it (counted) */
#define TCP_PASS	1	/* on to reassembly as it is */
#define TCP_ACK_ONLY	2	/* on to reassembly without its payload:
				   a keep-alive's old byte */

/*
 * Judge segment p travelling in direction dir (REASM_TO_*) of connection
 * st; returns a TCP_* verdict. Updates st from accepted segments only.
 */
int	tcp_segment(struct tcp_ctx *ctx, struct tcp_state *st, int dir,
	    const struct decode_pkt *p, enum decode_csum csum);

/* Name of a checksum_validation value, and back (-1: unknown). */
const char *tcp_checksum_mode_name(enum tcp_checksum_mode m);
int	tcp_checksum_mode_parse(const char *s);

#endif
