/*
 * tcp.c: judges each segment the way its receiver would before reassembly
 * sees it, so a segment the endpoint drops cannot change what the sensor
 * believes (Ptacek and Newsham, 1998).
 *
 * Checksums (checksum_validation). A sender whose checksums are wrong
 * from its first segment on is taken to offload them: a capture taken on
 * that host (tcpdump on the mail server, the sensor's own traffic) shows
 * what the kernel handed the NIC, and so does a capture rewritten without
 * fixing checksums. Its segments are accepted unverified. The first
 * segment of that direction that passes makes it verified for good: after
 * it, a failing segment is dropped. A checksum that holds exactly the
 * pseudo-header sum is what transmit offload leaves (Linux
 * CHECKSUM_PARTIAL) and is accepted in any state; once a sender's
 * failures carry that mark, a failure without it is dropped. So chaff
 * after a real handshake is caught unless it forges that mark; chaff in
 * a direction whose every checksum was wrong from the start, or that
 * carries the mark, cannot be told from offload (README, "Checksums").
 *
 * Window. A receiver accepts data up to the right edge it advertised (ack
 * + window, scaled as the handshake agreed). On a tap an ACK may be
 * captured before the data it acknowledges, and a window update after data
 * it allowed, so data left of the ACK is normal and only data more than a
 * window beyond the highest edge is refused (at least TCP_WINDOW_SLACK).
 * Without the handshake the scale is unknown: the window is taken as
 * TCP_WINDOW_UNKNOWN. Without any segment from the receiver nothing is
 * refused (one-sided capture).
 *
 * Resets (RFC 5961 3.2). Only a RST at exactly the next sequence number
 * expected ends tracking: the sender's own next sequence number, or the
 * receiver's last ACK. A real stack answers an in-window but inexact RST
 * with a challenge ACK and keeps the connection; its genuine peer then
 * resets exactly, which is taken. If nothing follows, the connection ends
 * by idle expiry with everything delivered, so nothing is lost by
 * waiting. A RST answering a SYN is judged by its ACK (RFC 793).
 *
 * Timestamps (PAWS, RFC 7323 5). When both SYNs carried timestamps, a
 * non-RST segment whose TSval is older than the last accepted one from that
 * sender is dropped, as Linux does (one tick of tolerance). The remembered
 * TSval is only updated by accepted segments that reach the receiver's
 * expected sequence number, so a segment injected further on with a huge
 * TSval cannot make every later real segment look stale.
 *
 * Keep-alives (zero or one byte at the sender's next sequence number
 * minus one; Windows sends a byte that is not the original) are reduced to
 * their ACK: the byte is old and must not be compared as a retransmission.
 */
#include <string.h>

#include "tcp.h"

#define SEQ_DIFF(a, b)	((int32_t)((uint32_t)(a) - (uint32_t)(b)))
#define SEQ_LT(a, b)	(SEQ_DIFF(a, b) < 0)
#define SEQ_GT(a, b)	(SEQ_DIFF(a, b) > 0)
#define SEQ_GEQ(a, b)	(SEQ_DIFF(a, b) >= 0)
#define SEQ_LEQ(a, b)	(SEQ_DIFF(a, b) <= 0)

/*
 * Least room beyond the advertised right edge before data is refused: a
 * tap's skew can show data sent on a window update before the update, and
 * a zero-window probe's byte lies just beyond a closed window. 64 KiB is
 * the largest unscaled window.
 */
#define TCP_WINDOW_SLACK	65536U

/*
 * Window assumed when the scale is unknown (connection picked up in the
 * middle): above Linux's default largest receive buffer (tcp_rmem, 6 MiB),
 * far below the 1 GiB a scale of 14 allows.
 */
#define TCP_WINDOW_UNKNOWN	(8U << 20)

/* Linux's TCP_PAWS_WINDOW: a TSval one tick older is still taken. */
#define TCP_PAWS_WINDOW		1

/* struct tcp_dir.flags */
#define TCP_D_SENT	0x01	/* snd_max valid */
#define TCP_D_SYN	0x02	/* this side sent a SYN */
#define TCP_D_WS	0x04	/* ... offering window scaling */
#define TCP_D_TS	0x08	/* ... with timestamps */
#define TCP_D_ACKED	0x10	/* ack and win_end valid */
#define TCP_D_TSREC	0x20	/* ts_recent valid */
#define TCP_D_DATA	0x40	/* sent data or a FIN */

/* struct tcp_dir.csum: what this sender's checksums have shown. */
#define TCP_CK_UNKNOWN	0	/* nothing judged yet */
#define TCP_CK_VERIFIED	1	/* one passed: failures are dropped */
#define TCP_CK_OFFLOAD	2	/* wrong from the first segment on */
#define TCP_CK_PARTIAL	3	/* failures carry the offload mark: others
				   are dropped, as when verified */

void
tcp_ctx_init(struct tcp_ctx *ctx, const struct tcp_config *cfg)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = *cfg;
}

enum decode_csum
tcp_checksum(const struct tcp_ctx *ctx, const struct decode_pkt *p)
{
	if (ctx->cfg.checksum == TCP_CSUM_NO)
		return DECODE_CSUM_OK;
	return decode_checksum(p);
}

int
tcp_drop_early(struct tcp_ctx *ctx, enum decode_csum csum)
{
	if (ctx->cfg.checksum != TCP_CSUM_YES ||
	    (csum != DECODE_CSUM_BAD && csum != DECODE_CSUM_PARTIAL))
		return 0;
	ctx->stats.bad_checksum++;
	return 1;
}

int
tcp_fragment_ok(struct tcp_ctx *ctx, const struct decode_pkt *p)
{
	if (ctx->cfg.checksum == TCP_CSUM_NO ||
	    !(p->csum & DECODE_CSUM_IP_BAD))
		return 1;
	ctx->stats.bad_checksum++;
	return 0;
}

/*
 * A failing checksum from sender d: 1 to accept it as offloaded. Each
 * sender is counted once, when it is first taken to offload.
 */
static int
csum_failed(struct tcp_ctx *ctx, struct tcp_dir *d, enum decode_csum csum)
{
	if (csum == DECODE_CSUM_PARTIAL) {
		if (d->csum != TCP_CK_PARTIAL && d->csum != TCP_CK_OFFLOAD) {
			d->csum = TCP_CK_PARTIAL;
			ctx->stats.offloading_senders++;
		}
		return 1;
	}
	if (d->csum == TCP_CK_UNKNOWN) {
		d->csum = TCP_CK_OFFLOAD;
		ctx->stats.offloading_senders++;
	}
	return d->csum == TCP_CK_OFFLOAD;
}

/* The checksum verdict under the sender's trust state; 0 to drop. */
static int
csum_check(struct tcp_ctx *ctx, struct tcp_dir *d, enum decode_csum csum)
{
	switch (csum) {
	case DECODE_CSUM_OK:
		if (d->csum != TCP_CK_PARTIAL)
			d->csum = TCP_CK_VERIFIED;
		return 1;
	case DECODE_CSUM_UNCHECKED:
		ctx->stats.checksum_unverified++;
		return 1;
	default:
		break;
	}
	if (ctx->cfg.checksum == TCP_CSUM_AUTO && csum_failed(ctx, d, csum)) {
		ctx->stats.checksum_offloaded++;
		return 1;
	}
	ctx->stats.bad_checksum++;
	return 0;
}

/*
 * Whether both sides' SYNs carried flag (0: whether both sent a SYN).
 * both is the flags the two sides share (both_flags()), read once per
 * segment.
 */
static int
both_syn(uint16_t both, uint16_t flag)
{
	uint16_t	 need = TCP_D_SYN | flag;

	return (both & need) == need;
}

static uint16_t
both_flags(const struct tcp_state *st)
{
	return st->dir[0].flags & st->dir[1].flags;
}

/* The window sender d advertised in p, in bytes. */
static uint32_t
window_of(uint16_t both, const struct tcp_dir *d, const struct decode_pkt *p)
{
	if (p->flags & DECODE_TH_SYN)
		return p->window;	/* never scaled (RFC 7323 2.2) */
	if (!both_syn(both, 0))
		return TCP_WINDOW_UNKNOWN;
	if (both_syn(both, TCP_D_WS))
		return (uint32_t)p->window << d->wscale;
	return p->window;
}

/*
 * A SYN starts this side afresh (a retransmission, or the ports reused
 * before any data), and a bare SYN makes the peer's ACKs, which answered
 * the old sequence numbers, void.
 */
static void
syn_input(struct tcp_dir *d, struct tcp_dir *peer, const struct decode_pkt *p)
{
	uint8_t		 csum = d->csum;

	memset(d, 0, sizeof(*d));
	d->csum = csum;
	if (!(p->flags & DECODE_TH_ACK))
		peer->flags &= (uint16_t)~TCP_D_ACKED;
	d->flags |= TCP_D_SYN;
	if (p->opts & DECODE_OPT_WSCALE) {
		d->flags |= TCP_D_WS;
		d->wscale = p->wscale;
	}
	if (p->opts & DECODE_OPT_TS) {
		d->flags |= TCP_D_TS;
		d->flags |= TCP_D_TSREC;
		d->ts_recent = p->tsval;
	}
}

/* PAWS: 0 when p's TSval is older than the last accepted from d. */
static int
paws_ok(uint16_t both, const struct tcp_dir *d, const struct decode_pkt *p)
{
	if ((p->flags & (DECODE_TH_RST | DECODE_TH_SYN)) ||
	    !(p->opts & DECODE_OPT_TS) || !(d->flags & TCP_D_TSREC) ||
	    !both_syn(both, TCP_D_TS))
		return 1;
	return SEQ_DIFF(d->ts_recent, p->tsval) <= TCP_PAWS_WINDOW;
}

/* RFC 5961 3.2 and RFC 793 SYN-SENT: whether a RST from s is taken. */
static int
rst_ok(const struct tcp_dir *s, const struct tcp_dir *r,
    const struct decode_pkt *p)
{
	if (!(s->flags & TCP_D_SENT) && (r->flags & TCP_D_SYN) &&
	    !(r->flags & TCP_D_ACKED))
		return (p->flags & DECODE_TH_ACK) && p->ack == r->snd_max;
	if (!(s->flags & TCP_D_SENT) && !(r->flags & TCP_D_ACKED))
		return 1;		/* nothing to judge it by */
	return ((s->flags & TCP_D_SENT) && p->seq == s->snd_max) ||
	    ((r->flags & TCP_D_ACKED) && p->seq == r->ack);
}

/* Whether data (or FIN) at seq lies within reach of receiver r. */
static int
window_ok(struct tcp_ctx *ctx, const struct tcp_dir *r, uint32_t seq,
    uint32_t len)
{
	uint32_t	 win, slack;

	if (!(r->flags & TCP_D_ACKED))
		return 1;
	win = r->win_end - r->ack;
	if (win == 0 && len == 1 && seq == r->win_end)
		ctx->stats.probes++;	/* zero-window probe: a real byte */
	slack = win > TCP_WINDOW_SLACK ? win : TCP_WINDOW_SLACK;
	return SEQ_LT(seq, r->win_end + slack);
}

/* A keep-alive: nothing new, at most one old byte before snd_max. */
static int
keepalive(const struct tcp_dir *s, const struct decode_pkt *p)
{
	return (s->flags & TCP_D_SENT) && p->payload_len <= 1 &&
	    (p->flags & (DECODE_TH_SYN | DECODE_TH_FIN | DECODE_TH_RST)) == 0 &&
	    p->seq == s->snd_max - 1;
}

/* The TSval of accepted segment p, ending at end, if it may be kept. */
static void
ts_update(struct tcp_dir *s, const struct tcp_dir *r,
    const struct decode_pkt *p, uint32_t end)
{
	uint32_t	 expect;

	expect = (r->flags & TCP_D_ACKED) ? r->ack :
	    (s->flags & TCP_D_SENT) ? s->snd_max : p->seq;
	if (SEQ_LEQ(p->seq, expect) && SEQ_GEQ(end, expect) &&
	    (!(s->flags & TCP_D_TSREC) || SEQ_GT(p->tsval, s->ts_recent))) {
		s->ts_recent = p->tsval;
		s->flags |= TCP_D_TSREC;
	}
}

/* Remember what accepted segment p (len bytes of it) shows about s. */
static void
update(uint16_t both, struct tcp_dir *s, const struct tcp_dir *r,
    const struct decode_pkt *p, uint32_t len)
{
	uint32_t	 end = p->seq + len, right;

	end += (p->flags & DECODE_TH_SYN) ? 1 : 0;
	end += (p->flags & DECODE_TH_FIN) ? 1 : 0;
	if (p->opts & DECODE_OPT_TS)
		ts_update(s, r, p, end);
	if (!(s->flags & TCP_D_SENT) || SEQ_GT(end, s->snd_max))
		s->snd_max = end;
	s->flags |= TCP_D_SENT;
	if (len > 0 || (p->flags & DECODE_TH_FIN))
		s->flags |= TCP_D_DATA;
	if (!(p->flags & DECODE_TH_ACK))
		return;
	right = p->ack + window_of(both, s, p);
	if (!(s->flags & TCP_D_ACKED) || SEQ_GT(p->ack, s->ack))
		s->ack = p->ack;
	if (!(s->flags & TCP_D_ACKED) || SEQ_GT(right, s->win_end))
		s->win_end = right;
	s->flags |= TCP_D_ACKED;
}

/*
 * Order as in Linux's tcp_validate_incoming(): checksum, PAWS, sequence
 * (window), RST. The SYN's options are read first: PAWS and scaling need
 * them.
 */
int
tcp_segment(struct tcp_ctx *ctx, struct tcp_state *st, int dir,
    const struct decode_pkt *p, enum decode_csum csum)
{
	struct tcp_dir	*s = &st->dir[dir], *r = &st->dir[!dir];
	uint32_t	 len = p->payload_len;
	uint16_t	 both;
	int		 verdict = TCP_PASS;

	if (!csum_check(ctx, s, csum))
		return TCP_DROP;
	if (p->flags & DECODE_TH_SYN) {
		if (s->flags & TCP_D_DATA)
			return TCP_PASS;	/* reassembly refuses it */
		syn_input(s, r, p);
	}
	both = both_flags(st);
	if (!paws_ok(both, s, p)) {
		ctx->stats.paws_dropped++;
		return TCP_DROP;
	}
	if (p->flags & DECODE_TH_RST) {
		if (rst_ok(s, r, p))
			return TCP_PASS;
		ctx->stats.rst_ignored++;
		return TCP_DROP;
	}
	if ((len > 0 || (p->flags & DECODE_TH_FIN)) &&
	    !window_ok(ctx, r, p->seq, len)) {
		ctx->stats.out_of_window++;
		return TCP_DROP;
	}
	if (keepalive(s, p)) {
		ctx->stats.probes++;
		if (len > 0)
			verdict = TCP_ACK_ONLY;
	}
	update(both, s, r, p, verdict == TCP_ACK_ONLY ? 0 : len);
	return verdict;
}

const char *
tcp_checksum_mode_name(enum tcp_checksum_mode m)
{
	switch (m) {
	case TCP_CSUM_AUTO:
		return "auto";
	case TCP_CSUM_YES:
		return "yes";
	case TCP_CSUM_NO:
		return "no";
	}
	return "?";
}

int
tcp_checksum_mode_parse(const char *s)
{
	int		 m;

	for (m = TCP_CSUM_AUTO; m <= TCP_CSUM_NO; m++)
		if (strcmp(s, tcp_checksum_mode_name(m)) == 0)
			return m;
	return -1;
}
