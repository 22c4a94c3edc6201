/*
 * fuzz_stream.c: libFuzzer harness for everything above the decoder:
 * flow, reassembly, SMTP and TLS parsing, detection. The input is a script
 * of TCP segments that are built into real IPv4/IPv6 frames and fed to the
 * pipeline, so sequence numbers, flags, overlaps and payloads are all under
 * the fuzzer's control while every frame still decodes.
 *
 * Built with -DFUZZ_SMTP_DIRECT it is the other variant: the script's
 * payloads go straight to mail_data()/mail_gap() with direction switches,
 * so the mail protocol parsers (SMTP, IMAP, POP3) and the TLS reader see
 * arbitrary interleavings that reassembly would smooth out; after every
 * record the facts go through detect.c into the checking sink.
 *
 * Input: one header byte, then records until the input ends.
 *   header: bit 0 IPv6, bit 1 tight limits, bit 2 open with a handshake,
 *           bit 3 port 587 instead of 25, bit 4 TCP options (window
 *           scale on SYNs, timestamps on every segment: in mode 0 the
 *           low 7 bits of aux set the TSval that many ms back), bit 5
 *           segments with an odd payload length get a bad checksum,
 *           bits 6-7 the protocol the session starts as (enum
 *           mail_proto: 0 SMTP, 1 IMAP, 2 POP3, 3 SMTP; in the pipeline
 *           variant its port, 143 or 110, instead of 25/587).
 *   record: ctl, aux, len (2 bytes, little-endian, cut to what is left),
 *           payload.
 *   ctl:    bit 0 direction (1 = server to client), bit 1 FIN, bit 2 SYN,
 *           bit 3 RST, bit 4 no ACK flag, bits 5-6 sequence mode
 *           (0 next byte, 1 skip aux bytes ahead, 2 go aux bytes back,
 *           3 new sequence number aux << 24), bit 7 second connection.
 *   aux:    0xff in mode 0: one hour passes and housekeeping runs.
 * In the direct variant ctl bit 1 reports a gap of aux bytes instead of
 * sending the payload, and bit 2 ends the session.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"
#include "mail.h"
#include "testutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Largest payload of one scripted segment. 65535 minus headers is what
 * one IPv4 datagram can carry; the fuzzer's inputs are far smaller anyway.
 */
#define SEG_MAX		(65535 - 60)

#define H_IPV6		0x01
#define H_TIGHT		0x02
#define H_HANDSHAKE	0x04
#define H_SUBMISSION	0x08
#define H_OPTIONS	0x10
#define H_BADSUM	0x20

/* TCP options added with H_OPTIONS: at most window scale and timestamps. */
#define OPT_MAX		16
#define H_PROTO(h)	((enum mail_proto)(((h) >> 6) & 3) < MAIL_NPROTOS ? \
			    (enum mail_proto)(((h) >> 6) & 3) : MAIL_PROTO_SMTP)

#define C_DIR		0x01
#define C_FIN		0x02
#define C_SYN		0x04
#define C_RST		0x08
#define C_NOACK		0x10
#define C_MODE(c)	(((c) >> 5) & 3)
#define C_FLOW2		0x80

/* Per connection and direction: the next sequence number to send. */
struct conn {
	uint32_t	 seq[2];
	uint32_t	 tsval[2];	/* last TSval sent (H_OPTIONS) */
	uint16_t	 cport;
};

/* How the next segment is dressed (header bits, and per record). */
struct dress {
	int		 v6;
	int		 options;	/* H_OPTIONS */
	int		 badsum;	/* H_BADSUM */
	uint32_t	 ts_back;	/* ms to set this TSval back */
};

struct script {
	const uint8_t	*p;
	size_t		 left;
};

/* One record; 0 when the input is used up. */
static int
next_record(struct script *s, uint8_t *ctl, uint8_t *aux,
    const uint8_t **payload, size_t *len)
{
	size_t	 n;

	if (s->left < 4)
		return 0;
	*ctl = s->p[0];
	*aux = s->p[1];
	n = (size_t)s->p[2] | (size_t)s->p[3] << 8;
	s->p += 4;
	s->left -= 4;
	if (n > s->left)
		n = s->left;
	*payload = s->p;
	*len = n;
	s->p += n;
	s->left -= n;
	return 1;
}

#ifdef FUZZ_SMTP_DIRECT

/* What detect.c makes of the facts so far, into the checking sink. */
static void
judge(struct detect *d, struct detect_state *st, struct mail_session *s,
    uint64_t ts)
{
	static const struct flow_tuple tuple;

	if (mail_session_facts(s)->flags & MAIL_F_PROTO)
		detect_update(d, st, mail_session_facts(s), &tuple, 1, ts);
}

static void
finish(struct detect *d, struct detect_state *st, struct mail_session *s,
    uint64_t ts)
{
	static const struct flow_tuple tuple;
	const struct mail_facts *f = mail_session_facts(s);
	struct detect_session out;

	if (f->banner.len > TEXT_FIELD_MAX || f->helo.len > TEXT_FIELD_MAX ||
	    f->cred_user.len > TEXT_FIELD_MAX ||
	    memchr(f->cred_mech, '\0', sizeof(f->cred_mech)) == NULL ||
	    memchr(f->starttls_status, '\0', sizeof(f->starttls_status)) ==
	    NULL)
		abort();
	detect_finish(d, st, f, &tuple, 1, 0, ts, "fin", NULL, &out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_check check;
	struct pipeline_config pc;
	struct mail_stats st = { 0 };
	struct detect_sink sink;
	struct detect	 d;
	struct detect_state ds = { 0 };
	struct memcap	 mem;
	struct mail_session *s;
	struct script	 sc;
	const uint8_t	*payload;
	uint64_t	 ts = 1;
	uint8_t		 ctl, aux, *copy;
	size_t		 len;

	if (size < 1)
		return 0;
	fuzz_pipeline_config(&pc, data[0] & H_TIGHT);
	fuzz_sink_init(&check, &sink);
	detect_init(&d, &sink, 1, NULL);
	memcap_init(&mem, pc.smtp_memcap);
	if ((s = mail_session_new(H_PROTO(data[0]), &pc.mail, &st, &mem)) ==
	    NULL)
		return 0;
	sc.p = data + 1;
	sc.left = size - 1;
	while (next_record(&sc, &ctl, &aux, &payload, &len)) {
		ts++;
		if (ctl & C_FIN) {
			mail_gap(s, ctl & C_DIR, aux);
			judge(&d, &ds, s, ts);
			continue;
		}
		if (ctl & C_SYN)
			break;
		if (len == 0)
			continue;
		/* Exact-size copy: ASan catches reads past the segment. */
		if ((copy = malloc(len)) == NULL)
			break;
		memcpy(copy, payload, len);
		mail_data(s, ctl & C_DIR, copy, len);
		free(copy);
		judge(&d, &ds, s, ts);
	}
	mail_end(s);
	if (mail_session_facts(s)->banner.len > TEXT_FIELD_MAX ||
	    mail_session_facts(s)->helo.len > TEXT_FIELD_MAX ||
	    mail_session_facts(s)->cred_user.len > TEXT_FIELD_MAX)
		abort();
	finish(&d, &ds, s, ts);
	if (mail_state_name(mail_session_state(s)) == NULL)
		abort();
	mail_session_free(s);
	if (mem.used != 0)
		abort();	/* a buffer's charge was not given back */
	return 0;
}

#else

/* Insert olen bytes of TCP options into the packet at ip; new length. */
static size_t
add_options(uint8_t *ip, size_t n, int v6, const uint8_t *opt, size_t olen)
{
	size_t		 hl = v6 ? 40 : 20;
	uint8_t		*tcp = ip + hl;

	memmove(tcp + 20 + olen, tcp + 20, n - hl - 20);
	memcpy(tcp + 20, opt, olen);
	tcp[12] = (uint8_t)((5 + olen / 4) << 4);
	n += olen;
	if (v6)
		tu_be16(ip + 4, (uint16_t)(n - 40));
	else {
		tu_be16(ip + 2, (uint16_t)n);
		tu_ip4_csum(ip);
	}
	tu_tcp_csum(ip, n - hl);
	return n;
}

/* Window scale on a SYN, timestamps always; fills opt, returns length. */
static size_t
options(struct conn *c, int dir, uint8_t flags, const struct dress *dr,
    uint64_t ts, uint8_t *opt)
{
	size_t		 n = 0;
	uint32_t	 val = (uint32_t)(ts / 1000) + (dir ? 5000000u : 0) -
			    dr->ts_back;

	if (flags & DECODE_TH_SYN) {
		memcpy(opt, "\x01\x03\x03\x07", 4);	/* NOP, wscale 7 */
		n = 4;
	}
	memcpy(opt + n, "\x01\x01\x08\x0a", 4);
	tu_be32(opt + n + 4, val);
	tu_be32(opt + n + 8, c->tsval[!dir]);
	c->tsval[dir] = val;
	return n + 12;
}

/* Build one frame for conn c and hand it to the pipeline. */
static void
send_segment(struct pipeline *p, const struct dress *dr,
    uint16_t sport_server, struct conn *c, int dir, uint8_t flags,
    const uint8_t *payload, size_t len, uint64_t ts)
{
	static uint8_t	 frame[14 + 60 + OPT_MAX + SEG_MAX];
	uint8_t		*ip = frame + 14, opt[OPT_MAX];
	uint16_t	 sport, dport;
	uint32_t	 seq, ack;
	size_t		 n, olen;
	int		 v6 = dr->v6;

	sport = dir ? sport_server : c->cport;
	dport = dir ? c->cport : sport_server;
	seq = c->seq[dir];
	ack = c->seq[!dir];
	if (len > SEG_MAX - OPT_MAX)
		len = SEG_MAX - OPT_MAX;
	if (!v6) {
		tu_eth(frame, 0x0800);
		n = tu_ipv4_tcp(ip, dir ? "192.0.2.25" : "198.51.100.7",
		    sport, dir ? "198.51.100.7" : "192.0.2.25", dport, seq,
		    ack, flags, payload, len);
	} else {
		tu_eth(frame, 0x86dd);
		n = tu_ipv6_tcp(ip, dir ? "2001:db8::25" : "2001:db8::7",
		    sport, dir ? "2001:db8::7" : "2001:db8::25", dport, seq,
		    ack, flags, payload, len);
	}
	if (dr->options) {
		olen = options(c, dir, flags, dr, ts, opt);
		n = add_options(ip, n, v6, opt, olen);
	}
	if (dr->badsum && (len & 1))
		ip[(v6 ? 40 : 20) + 17] ^= 0x5a;
	pipeline_frame(p, DECODE_LINK_EN10MB, ts, frame, (uint32_t)(14 + n));
}

static void
handshake(struct pipeline *p, const struct dress *dr, uint16_t port,
    struct conn *c, uint64_t *ts)
{
	send_segment(p, dr, port, c, 0, DECODE_TH_SYN, NULL, 0, ++*ts);
	c->seq[0]++;
	c->seq[1]--;
	send_segment(p, dr, port, c, 1, DECODE_TH_SYN | DECODE_TH_ACK, NULL,
	    0, ++*ts);
	c->seq[1]++;
	send_segment(p, dr, port, c, 0, DECODE_TH_ACK, NULL, 0, ++*ts);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_check check;
	struct pipeline_config pc;
	struct detect_sink sink;
	struct pipeline	*p;
	struct conn	 conns[2] = {
		{ { 1000, 2000000 }, { 0, 0 }, 40000 },
		{ { 0xfffffff0u, 0x7ffffff0u }, { 0, 0 }, 40001 },
	};
	struct dress	 dr;
	struct conn	*c;
	struct script	 sc;
	const uint8_t	*payload;
	uint64_t	 ts = 1700000000ULL * 1000000;
	uint16_t	 port;
	uint8_t		 ctl, aux, flags;
	size_t		 len;
	int		 dir;

	if (size < 1)
		return 0;
	memset(&dr, 0, sizeof(dr));
	dr.v6 = data[0] & H_IPV6;
	dr.options = data[0] & H_OPTIONS;
	dr.badsum = data[0] & H_BADSUM;
	switch (H_PROTO(data[0])) {
	case MAIL_PROTO_IMAP:
		port = 143;
		break;
	case MAIL_PROTO_POP3:
		port = 110;
		break;
	default:
		port = (data[0] & H_SUBMISSION) ? 587 : 25;
		break;
	}
	fuzz_pipeline_config(&pc, data[0] & H_TIGHT);
	fuzz_sink_init(&check, &sink);
	if ((p = pipeline_new(&pc, &sink, 1)) == NULL)
		return 0;
	if (data[0] & H_HANDSHAKE) {
		handshake(p, &dr, port, &conns[0], &ts);
		handshake(p, &dr, port, &conns[1], &ts);
	}
	sc.p = data + 1;
	sc.left = size - 1;
	while (next_record(&sc, &ctl, &aux, &payload, &len)) {
		c = &conns[(ctl & C_FLOW2) ? 1 : 0];
		dir = ctl & C_DIR;
		dr.ts_back = 0;
		switch (C_MODE(ctl)) {
		case 0:
			dr.ts_back = aux & 0x7f;
			if (aux == 0xff) {
				ts += 3600ULL * 1000000;
				pipeline_tick(p, ts);
			}
			break;
		case 1:
			c->seq[dir] += aux;
			break;
		case 2:
			c->seq[dir] -= aux;
			break;
		default:
			c->seq[dir] = (uint32_t)aux << 24;
			break;
		}
		flags = (ctl & C_NOACK) ? 0 : DECODE_TH_ACK;
		if (ctl & C_FIN)
			flags |= DECODE_TH_FIN;
		if (ctl & C_SYN)
			flags |= DECODE_TH_SYN;
		if (ctl & C_RST)
			flags |= DECODE_TH_RST;
		if (len > 0)
			flags |= DECODE_TH_PUSH;
		send_segment(p, &dr, port, c, dir, flags, payload, len, ++ts);
		c->seq[dir] += (uint32_t)len +
		    ((flags & (DECODE_TH_SYN | DECODE_TH_FIN)) ? 1 : 0);
	}
	pipeline_finish(p);
	if (pipeline_get_stats(p)->reasm_mem != 0)
		abort();	/* every stream flushed: nothing held */
	pipeline_free(p);
	return 0;
}

#endif
