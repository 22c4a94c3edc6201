/*
 * mailtest.h: whole mail conversations through a session, for the
 * protocol parsers' tests (test_smtp.c, test_imap.c, test_pop3.c). A conversation is a
 * script of (direction, bytes) steps in capture order; run_all_ways()
 * feeds it in one call per step, byte by byte, and with every two-chunk
 * split of each step, and the facts must come out identical every time.
 * Also the TLS hellos that follow an accepted STARTTLS.
 *
 * Header-only so each test binary stays one file; include it after
 * cmocka.h, with MT_PROTO defined as the protocol a session starts as.
 */
#ifndef STRIPWATCH_MAILTEST_H
#define STRIPWATCH_MAILTEST_H

#ifndef MT_PROTO
#error "define MT_PROTO before including mailtest.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memcap.h"
#include "mail.h"
#include "tls.h"

#define C	0	/* client to server */
#define S	1	/* server to client */
#define GAP	2	/* step: len bytes of dir gap_dir lost */

struct step {
	int		 dir;		/* C, S or GAP */
	const void	*data;		/* NULL: len is a gap (GAP steps) */
	size_t		 len;		/* 0: strlen(data) */
	int		 gap_dir;	/* GAP steps: direction that lost */
};

#define STR(d, s)	{ (d), (s), 0, 0 }
#define BIN(d, p, n)	{ (d), (p), (n), 0 }
#define LOSS(d, n)	{ GAP, NULL, (n), (d) }

struct run {
	struct mail_facts f;
	struct mail_stats st;
	struct memcap	 mem;
	enum mail_state	 state;
	int		 ret[2];	/* last mail_data return per dir */
	uint8_t		 texts[9][TEXT_FIELD_MAX]; /* f's text bytes, kept
					   after the session is freed */
};

/* Point f's text fields at copies in r, so they outlive the session. */
static inline void
snapshot(struct run *r, const struct mail_facts *f)
{
	struct text_field *t[] = {
		&r->f.banner, &r->f.helo, &r->f.cap_masked, &r->f.cmd_masked,
		&r->f.starttls_line, &r->f.injected, &r->f.plaintext,
		&r->f.cred_user, &r->f.tls.sni,
	};
	size_t		 i;

	r->f = *f;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i]->len > 0)
			memcpy(r->texts[i], t[i]->b, t[i]->len);
		t[i]->b = r->texts[i];
		t[i]->cap = 0;		/* not allocated: never freed */
	}
}

static const struct mail_config cfg = {
	.max_line = 1000,	/* RFC 5321 text line limit */
	.max_pipeline = 64,
	.tls_max_bytes = 16384,
};

/* TLS hellos, built once by mt_setup_tls(). */
static uint8_t	 ch[512], sh[256], sh12[256];
static size_t	 ch_len, sh_len, sh12_len;
static const uint8_t tls_tail[] = {	/* CCS, then application data */
	0x14, 0x03, 0x03, 0x00, 0x01, 0x01,
	0x17, 0x03, 0x03, 0x00, 0x04, 'a', 'b', 'c', 'd'
};

static inline void
put8(uint8_t *b, size_t *n, unsigned v)
{
	b[(*n)++] = (uint8_t)v;
}

static inline void
put16(uint8_t *b, size_t *n, unsigned v)
{
	b[(*n)++] = (uint8_t)(v >> 8);
	b[(*n)++] = (uint8_t)v;
}

/* Wrap a handshake body as one record holding one message. */
static inline size_t
tls_wrap(uint8_t *out, unsigned type, const uint8_t *body, size_t blen)
{
	size_t	 n = 0;

	put8(out, &n, 22);
	put16(out, &n, 0x0301);
	put16(out, &n, (unsigned)(blen + 4));
	put8(out, &n, type);
	put8(out, &n, (unsigned)(blen >> 16));
	put16(out, &n, (unsigned)(blen & 0xffff));
	memcpy(out + n, body, blen);
	return n + blen;
}

static inline size_t
build_client_hello(uint8_t *out, const char *sni)
{
	uint8_t	 b[400];
	size_t	 n = 0, ext, slen = strlen(sni);

	put16(b, &n, 0x0303);
	memset(b + n, 0x11, 32);
	n += 32;
	put8(b, &n, 0);			/* session id */
	put16(b, &n, 4);
	put16(b, &n, 0x1301);
	put16(b, &n, 0xc02f);
	put8(b, &n, 1);
	put8(b, &n, 0);
	ext = n;
	n += 2;
	put16(b, &n, 0);		/* server_name */
	put16(b, &n, (unsigned)(slen + 5));
	put16(b, &n, (unsigned)(slen + 3));
	put8(b, &n, 0);
	put16(b, &n, (unsigned)slen);
	memcpy(b + n, sni, slen);
	n += slen;
	put16(b, &n, 43);		/* supported_versions */
	put16(b, &n, 7);
	put8(b, &n, 6);
	put16(b, &n, 0x7a7a);		/* GREASE */
	put16(b, &n, 0x0304);
	put16(b, &n, 0x0303);
	b[ext] = (uint8_t)((n - ext - 2) >> 8);
	b[ext + 1] = (uint8_t)(n - ext - 2);
	return tls_wrap(out, 1, b, n);
}

static inline size_t
build_server_hello(uint8_t *out, uint16_t suite, int tls13)
{
	uint8_t	 b[200];
	size_t	 n = 0;

	put16(b, &n, 0x0303);
	memset(b + n, 0x22, 32);
	n += 32;
	put8(b, &n, 0);
	put16(b, &n, suite);
	put8(b, &n, 0);
	if (tls13) {
		put16(b, &n, 6);
		put16(b, &n, 43);
		put16(b, &n, 2);
		put16(b, &n, 0x0304);
	}
	return tls_wrap(out, 2, b, n);
}

/* ch: a ClientHello offering TLS 1.3 and 1.2; sh: a TLS 1.3 ServerHello
 * and records after it; sh12: a TLS 1.2 ServerHello. */
static inline void
mt_setup_tls(void)
{
	ch_len = build_client_hello(ch, "mx.example.com");
	sh_len = build_server_hello(sh, 0x1301, 1);
	memcpy(sh + sh_len, tls_tail, sizeof(tls_tail));
	sh_len += sizeof(tls_tail);
	sh12_len = build_server_hello(sh12, 0xc02f, 0);
}

static inline size_t
step_len(const struct step *st)
{
	return st->len ? st->len : strlen(st->data);
}

/* Feed bytes in pieces of at most piece bytes (0 = all at once). */
static inline void
feed(struct mail_session *s, struct run *r, int dir, const uint8_t *p,
    size_t n, size_t piece)
{
	size_t	 k;

	while (n > 0 && !r->ret[dir]) {
		k = piece && piece < n ? piece : n;
		r->ret[dir] = mail_data(s, dir, p, k);
		p += k;
		n -= k;
	}
}

/* The end of a run: the last line, the facts, the session freed. */
static inline void
run_end(struct mail_session *s, struct run *r)
{
	mail_end(s);
	snapshot(r, mail_session_facts(s));
	r->state = mail_session_state(s);
	mail_session_free(s);
	assert_int_equal(r->mem.used, 0);	/* every charge given back */
}

/*
 * Run a script on a session started as MT_PROTO: every step whole, except
 * that with piece > 0 every step is cut in pieces of that size, and step
 * split_step is cut at split_at.
 */
static inline void
run_script(const struct step *steps, size_t nsteps, size_t piece,
    size_t split_step, size_t split_at, struct run *r)
{
	struct mail_session *s;
	const uint8_t	*p;
	size_t		 i, n;

	memset(r, 0, sizeof(*r));
	memcap_init(&r->mem, SIZE_MAX);
	s = mail_session_new(MT_PROTO, &cfg, &r->st, &r->mem);
	assert_non_null(s);
	for (i = 0; i < nsteps; i++) {
		if (steps[i].dir == GAP) {
			mail_gap(s, steps[i].gap_dir, (uint32_t)steps[i].len);
			continue;
		}
		p = steps[i].data;
		n = step_len(&steps[i]);
		if (i == split_step) {
			feed(s, r, steps[i].dir, p, split_at, 0);
			feed(s, r, steps[i].dir, p + split_at, n - split_at,
			    0);
		} else
			feed(s, r, steps[i].dir, p, n, piece);
	}
	run_end(s, r);
}

static inline void
text_equal(const struct text_field *a, const struct text_field *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->b, b->b, a->len);
}

static inline void
runs_equal(const struct run *a, const struct run *b)
{
	assert_int_equal(a->f.proto, b->f.proto);
	assert_int_equal(a->f.flags, b->f.flags);
	assert_int_equal(a->f.starttls_reply, b->f.starttls_reply);
	assert_string_equal(a->f.starttls_status, b->f.starttls_status);
	assert_int_equal(a->f.ehlo_reply, b->f.ehlo_reply);
	assert_int_equal(a->f.ehlo_count, b->f.ehlo_count);
	assert_int_equal(a->f.gaps, b->f.gaps);
	text_equal(&a->f.banner, &b->f.banner);
	text_equal(&a->f.helo, &b->f.helo);
	text_equal(&a->f.cap_masked, &b->f.cap_masked);
	text_equal(&a->f.cmd_masked, &b->f.cmd_masked);
	text_equal(&a->f.starttls_line, &b->f.starttls_line);
	text_equal(&a->f.injected, &b->f.injected);
	text_equal(&a->f.plaintext, &b->f.plaintext);
	text_equal(&a->f.cred_user, &b->f.cred_user);
	assert_string_equal(a->f.cred_mech, b->f.cred_mech);
	assert_int_equal(a->f.tls.client_version, b->f.tls.client_version);
	assert_int_equal(a->f.tls.version, b->f.tls.version);
	assert_int_equal(a->f.tls.cipher, b->f.tls.cipher);
	text_equal(&a->f.tls.sni, &b->f.tls.sni);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->ret[0], b->ret[0]);
	assert_int_equal(a->ret[1], b->ret[1]);
	assert_int_equal(a->st.lines, b->st.lines);
	assert_int_equal(a->st.long_lines, b->st.long_lines);
	assert_int_equal(a->st.pipeline_full, b->st.pipeline_full);
	assert_int_equal(a->st.unpaired, b->st.unpaired);
	assert_int_equal(a->st.bad_replies, b->st.bad_replies);
	assert_int_equal(a->st.bad_bdat, b->st.bad_bdat);
}

/* Split points tried in a step: all of them, or a few for huge steps. */
static inline int
split_point(size_t n, size_t idx, size_t *at)
{
	const size_t few[] = { 1, 2, 3, 999, 1000, 1001, 1002, 4096 };

	if (n <= 8192) {
		*at = idx + 1;
		return *at < n;
	}
	if (idx < sizeof(few) / sizeof(few[0])) {
		*at = few[idx];
		return 1;
	}
	idx -= sizeof(few) / sizeof(few[0]);
	if (idx == 0)
		*at = n / 2;
	else if (idx == 1)
		*at = n - 2;
	else if (idx == 2)
		*at = n - 1;
	else
		return 0;
	return 1;
}

/*
 * Feed the script every way and check that the facts never change; returns
 * the run of the one-call-per-step feed for the caller's own assertions.
 */
static inline void
run_all_ways(const struct step *steps, size_t nsteps, struct run *out)
{
	struct run	*r = malloc(sizeof(*r));
	size_t		 i, k, at;

	assert_non_null(r);
	run_script(steps, nsteps, 0, (size_t)-1, 0, out);
	run_script(steps, nsteps, 1, (size_t)-1, 0, r);
	runs_equal(out, r);
	for (i = 0; i < nsteps; i++) {
		if (steps[i].dir == GAP)
			continue;
		for (k = 0; split_point(step_len(&steps[i]), k, &at); k++) {
			run_script(steps, nsteps, 0, i, at, r);
			runs_equal(out, r);
		}
	}
	free(r);
}

/*
 * Random mixes of a protocol's pieces (npieces strings, "" for a NUL
 * byte), TLS bytes, garbage and gaps, in 3000 sessions started as proto,
 * every other one with tight limits and every third one with a tight
 * memcap: no crash, texts bounded, every charge given back (run under
 * ASan and valgrind to see overreads).
 */
static inline void
mt_random_sessions(enum mail_proto proto, const char *const *pieces,
    size_t npieces, unsigned seed)
{
	struct mail_config small = { .max_line = 64, .max_pipeline = 4,
	    .tls_max_bytes = 512 };
	const struct text_field *t[8];
	struct mail_stats st;
	struct memcap	 mem;
	struct mail_session *s;
	const struct mail_facts *f;
	uint8_t		 buf[700];
	size_t		 i, j, n, k;
	int		 dir;

	srand(seed);
	memset(&st, 0, sizeof(st));
	for (i = 0; i < 3000; i++) {
		memcap_init(&mem, i % 3 ? SIZE_MAX : (size_t)rand() % 2048);
		s = mail_session_new(proto, i % 2 ? &small : &cfg, &st, &mem);
		assert_non_null(s);
		for (j = 0; j < 40; j++) {
			dir = rand() % 2;
			k = (size_t)rand() % 10;
			if (k == 0) {
				mail_gap(s, dir, (uint32_t)(rand() % 50));
				continue;
			}
			if (k == 1) {
				n = (size_t)rand() % 8;
				memcpy(buf, ch, n < ch_len ? n : ch_len);
			} else if (k == 2) {
				n = (size_t)rand() % sizeof(buf);
				for (k = 0; k < n; k++)
					buf[k] = (uint8_t)rand();
			} else {
				snprintf((char *)buf, sizeof(buf), "%s",
				    pieces[(size_t)rand() % npieces]);
				n = strlen((char *)buf);
				if (n == 0)
					n = 1;		/* the NUL piece */
			}
			mail_data(s, dir, buf, n);
		}
		mail_end(s);
		f = mail_session_facts(s);
		t[0] = &f->banner, t[1] = &f->helo, t[2] = &f->cap_masked;
		t[3] = &f->cmd_masked, t[4] = &f->starttls_line;
		t[5] = &f->injected, t[6] = &f->plaintext, t[7] = &f->cred_user;
		for (k = 0; k < 8; k++)
			assert_true(t[k]->len <= TEXT_FIELD_MAX);
		assert_non_null(memchr(f->cred_mech, '\0',
		    sizeof(f->cred_mech)));
		assert_true(f->tls.sni.len <= TEXT_FIELD_MAX);
		mail_session_free(s);
		assert_int_equal(mem.used, 0);
	}
}

#define RUN(steps, r)	run_all_ways((steps), sizeof(steps) / \
			    sizeof((steps)[0]), (r))

static inline void
assert_text(const struct text_field *t, const char *want)
{
	assert_int_equal(t->len, strlen(want));
	assert_memory_equal(t->b, want, t->len);
}

/* Whether needle's bytes appear in the len bytes at b. */
static inline int
bytes_hold(const void *b, size_t len, const char *needle)
{
	size_t		 n = strlen(needle), j;

	for (j = 0; j + n <= len; j++)
		if (memcmp((const uint8_t *)b + j, needle, n) == 0)
			return 1;
	return 0;
}

/* Whether needle appears anywhere in the run's facts. */
static inline int
facts_hold(const struct run *r, const char *needle)
{
	return bytes_hold(r->texts, sizeof(r->texts), needle) ||
	    bytes_hold(&r->f, sizeof(r->f), needle);
}

#endif
