/*
 * fuzz_decode.c: libFuzzer harness for the frame decoder. The first input
 * byte picks a link type, the rest is one frame; the same bytes also go
 * through decode_ip() as a rebuilt datagram. Checks that a DECODE_OK result
 * points inside the frame it came from.
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
	if (r == DECODE_OK) {
		decode_addr_str(&pkt.src, buf, sizeof(buf));
		decode_addr_str(&pkt.dst, buf, sizeof(buf));
	}
	if (st.frames != 1 || st.result[r] != 1)
		abort();
	r = decode_ip(frame, (uint32_t)len, 2, &pkt, &st);
	check(r, &pkt, frame, len);
	free(frame);
	return 0;
}
