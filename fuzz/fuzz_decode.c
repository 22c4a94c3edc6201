/*
 * fuzz_decode.c: libFuzzer harness for the frame decoder. The first input
 * byte picks a link type, the rest is one frame; the same bytes also go
 * through decode_ip() as a rebuilt datagram. Checks that a DECODE_OK result
 * points inside the frame it came from, and that decode_frame()'s fast path
 * gives what the general walk alone gives (decode_frame_walk()), and that
 * checksumming the segment reads only it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every link type decode.h names, plus one it does not (Wi-Fi, 105). */
static const int links[] = {
	DECODE_LINK_NULL, DECODE_LINK_EN10MB, DECODE_LINK_RAW,
	DECODE_LINK_RAW_ALT, DECODE_LINK_LOOP, DECODE_LINK_LINUX_SLL,
	DECODE_LINK_IPV4, DECODE_LINK_IPV6, DECODE_LINK_LINUX_SLL2, 105,
};
#define NLINKS	(sizeof(links) / sizeof(links[0]))

/* The result must only refer to bytes of frame[0..len). */
static void
check(enum decode_result r, const struct decode_pkt *p, const uint8_t *frame,
    size_t len)
{
	const uint8_t	*end = frame + len;

	if ((unsigned)r >= DECODE_NRESULTS)
		abort();
	if (decode_result_name(r) == NULL)
		abort();
	if (r != DECODE_OK)
		return;
	if (p->src.family != 4 && p->src.family != 6)
		abort();
	if (p->src.family != p->dst.family)
		abort();
	if (p->payload_len > 0 && (p->payload < frame ||
	    p->payload > end || p->payload_len > (size_t)(end - p->payload)))
		abort();
	if (p->ip != NULL && (p->ip < frame || p->ip > end ||
	    p->ip_len > (size_t)(end - p->ip)))
		abort();
}

/* The fast path and the walk: the same result, fields and counters. */
static void
same(int link, const uint8_t *frame, size_t len,
    const struct decode_pkt *a, enum decode_result ra,
    const struct decode_stats *sa)
{
	struct decode_stats sb = { 0 };
	struct decode_pkt b;

	if (decode_frame_walk(link, frame, (uint32_t)len, 1, &b, &sb) != ra ||
	    memcmp(sa, &sb, sizeof(sb)) != 0)
		abort();
	if (ra == DECODE_OK && (a->ts_us != b.ts_us ||
	    memcmp(&a->src, &b.src, sizeof(b.src)) != 0 ||
	    memcmp(&a->dst, &b.dst, sizeof(b.dst)) != 0 ||
	    a->sport != b.sport || a->dport != b.dport || a->seq != b.seq ||
	    a->ack != b.ack || a->flags != b.flags || a->window != b.window ||
	    a->layers != b.layers || a->vlan != b.vlan ||
	    a->payload != b.payload || a->payload_len != b.payload_len ||
	    a->payload_missing != b.payload_missing || a->ip != b.ip ||
	    a->ip_len != b.ip_len || a->tcp != b.tcp ||
	    a->tcp_len != b.tcp_len || a->udp != b.udp ||
	    a->udp_len != b.udp_len || a->udp_pseudo != b.udp_pseudo ||
	    a->csum != b.csum || a->opts != b.opts || a->wscale != b.wscale ||
	    a->mss != b.mss || a->tsval != b.tsval || a->tsecr != b.tsecr))
		abort();
}

/*
 * The checksum reads the segment the walk recorded, and its paths agree:
 * the vector one where the CPU has it, whatever the length.
 */
static void
sums(const struct decode_pkt *p)
{
	int	 a, b;

	(void)decode_checksum(p);
	if (p->tcp == NULL || (p->csum & DECODE_CSUM_NOTCP))
		return;
	a = decode_sum(DECODE_SUM_SCALAR, p->seq, p->tcp, p->tcp_len);
	b = decode_sum(DECODE_SUM_AVX2, p->seq, p->tcp, p->tcp_len);
	if (a < 0 || (b != -1 && b != a))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decode_stats st = { 0 };
	struct decode_pkt pkt;
	enum decode_result r;
	uint8_t		*frame;
	size_t		 len;
	char		 buf[64];
	int		 link;

	if (size < 1)
		return 0;
	link = links[data[0] % NLINKS];
	len = size - 1;
	/* An exact-size heap copy so ASan sees any read past the end. */
	if ((frame = malloc(len ? len : 1)) == NULL)
		return 0;
	if (len)
		memcpy(frame, data + 1, len);
	r = decode_frame(link, frame, (uint32_t)len, 1, &pkt, &st);
	check(r, &pkt, frame, len);
	same(link, frame, len, &pkt, r, &st);
	if (r == DECODE_OK) {
		decode_addr_str(&pkt.src, buf, sizeof(buf));
		decode_addr_str(&pkt.dst, buf, sizeof(buf));
		sums(&pkt);
	}
	if (st.frames != 1 || st.result[r] != 1)
		abort();
	r = decode_ip(frame, (uint32_t)len, 2, &pkt, &st);
	check(r, &pkt, frame, len);
	free(frame);
	return 0;
}
