/*
 * test_tls.c: the TLS handshake reader on hand-built hellos and on a
 * certificate made here with libcrypto, whole, split at every byte, packed
 * several to a record or spread over records, and on garbage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "memcap.h"
#include "tls.h"

#define MAXB	16384		/* max_bytes of most parsers here */

/* No limit: the parsers here are judged on what they read. */
static struct memcap mem = { .limit = SIZE_MAX };

static void
put8(uint8_t *b, size_t *n, unsigned v)
{
	b[(*n)++] = (uint8_t)v;
}

static void
put16(uint8_t *b, size_t *n, unsigned v)
{
	b[(*n)++] = (uint8_t)(v >> 8);
	b[(*n)++] = (uint8_t)v;
}

static void
put24(uint8_t *b, size_t *n, size_t v)
{
	b[(*n)++] = (uint8_t)(v >> 16);
	b[(*n)++] = (uint8_t)(v >> 8);
	b[(*n)++] = (uint8_t)v;
}

/* A handshake message: type, 24-bit length, body. */
static size_t
hs_msg(uint8_t *out, unsigned type, const uint8_t *body, size_t blen)
{
	size_t	 n = 0;

	put8(out, &n, type);
	put24(out, &n, blen);
	memcpy(out + n, body, blen);
	return n + blen;
}

/* Cut handshake bytes into records of at most frag bytes of body. */
static size_t
records(uint8_t *out, const uint8_t *hs, size_t len, size_t frag)
{
	size_t	 n = 0, k;

	while (len > 0) {
		k = len < frag ? len : frag;
		put8(out, &n, 22);
		put16(out, &n, 0x0303);
		put16(out, &n, (unsigned)k);
		memcpy(out + n, hs, k);
		n += k;
		hs += k;
		len -= k;
	}
	return n;
}

/* ClientHello body; sni may be NULL; versions may be empty. */
static size_t
client_hello_body(uint8_t *b, const char *sni, const uint16_t *vers,
    size_t nvers, int with_ext)
{
	size_t	 n = 0, ext, slen, i;

	put16(b, &n, 0x0303);
	memset(b + n, 0x11, 32);
	n += 32;
	put8(b, &n, 32);		/* session id */
	memset(b + n, 0x33, 32);
	n += 32;
	put16(b, &n, 6);
	put16(b, &n, 0x1301);
	put16(b, &n, 0xc02f);
	put16(b, &n, 0x00ff);
	put8(b, &n, 1);
	put8(b, &n, 0);
	if (!with_ext)
		return n;
	ext = n;
	n += 2;
	put16(b, &n, 0xfafa);		/* GREASE extension, empty */
	put16(b, &n, 0);
	if (sni != NULL) {
		slen = strlen(sni);
		put16(b, &n, 0);
		put16(b, &n, (unsigned)(slen + 5));
		put16(b, &n, (unsigned)(slen + 3));
		put8(b, &n, 0);
		put16(b, &n, (unsigned)slen);
		memcpy(b + n, sni, slen);
		n += slen;
	}
	put16(b, &n, 10);		/* supported_groups, ignored */
	put16(b, &n, 4);
	put16(b, &n, 2);
	put16(b, &n, 0x001d);
	if (nvers > 0) {
		put16(b, &n, 43);
		put16(b, &n, (unsigned)(1 + 2 * nvers));
		put8(b, &n, (unsigned)(2 * nvers));
		for (i = 0; i < nvers; i++)
			put16(b, &n, vers[i]);
	}
	b[ext] = (uint8_t)((n - ext - 2) >> 8);
	b[ext + 1] = (uint8_t)(n - ext - 2);
	return n;
}

static size_t
server_hello_body(uint8_t *b, uint16_t suite, uint16_t sv)
{
	size_t	 n = 0;

	put16(b, &n, 0x0303);
	memset(b + n, 0x22, 32);
	n += 32;
	put8(b, &n, 0);
	put16(b, &n, suite);
	put8(b, &n, 0);
	put16(b, &n, sv ? 10 : 4);
	put16(b, &n, 0xff01);		/* renegotiation_info */
	put16(b, &n, 0);
	if (sv) {
		put16(b, &n, 43);
		put16(b, &n, 2);
		put16(b, &n, sv);
	}
	return n;
}

/* A self-signed certificate for cn (organisation Example Org), as DER. */
static size_t
make_cert_cn(uint8_t **der, const char *cn)
{
	EVP_PKEY	*key = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	X509_NAME	*name;
	int		 len;

	assert_non_null(key);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Example Org", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	*der = NULL;
	len = i2d_X509(x, der);
	assert_true(len > 0);
	X509_free(x);
	EVP_PKEY_free(key);
	return (size_t)len;
}

static size_t
make_cert(uint8_t **der)
{
	return make_cert_cn(der, "mx.example.test");
}

/* Certificate body: the leaf, then extra bytes as a second certificate. */
static size_t
certificate_body(uint8_t *b, const uint8_t *leaf, size_t leaf_len,
    size_t extra)
{
	size_t	 n = 0;

	put24(b, &n, 3 + leaf_len + (extra ? 3 + extra : 0));
	put24(b, &n, leaf_len);
	memcpy(b + n, leaf, leaf_len);
	n += leaf_len;
	if (extra) {
		put24(b, &n, extra);
		memset(b + n, 0x5a, extra);
		n += extra;
	}
	return n;
}

static uint8_t	 ch_rec[1024];
static size_t	 ch_rec_len;

static int
setup(void **state)
{
	static const uint16_t vers[] = { 0x3a3a, 0x0304, 0x0303 };
	uint8_t		 body[600], hs[700];
	size_t		 n;

	(void)state;
	n = client_hello_body(body, "mx.example.com", vers, 3, 1);
	n = hs_msg(hs, 1, body, n);
	ch_rec_len = records(ch_rec, hs, n, 16384);
	return 0;
}

static void
test_client_hello(void **state)
{
	struct tls_parser *tp = tls_parser_new(MAXB, &mem, NULL);
	struct tls_facts f;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(tls_feed(tp, 0, ch_rec, ch_rec_len, &f), 1);
	assert_int_equal(f.client_hello, 1);
	assert_int_equal(f.server_hello, 0);
	/* 0x3a3a is GREASE: higher, but not a version */
	assert_int_equal(f.client_version, 0x0304);
	assert_int_equal(f.sni.len, 14);
	assert_memory_equal(f.sni.b, "mx.example.com", 14);
	assert_int_equal(f.not_tls[0], 0);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

static void
test_client_hello_legacy(void **state)
{
	struct tls_parser *tp = tls_parser_new(MAXB, &mem, NULL);
	struct tls_facts f;
	uint8_t		 body[200], hs[300], rec[400];
	size_t		 n;

	(void)state;
	memset(&f, 0, sizeof(f));
	n = client_hello_body(body, NULL, NULL, 0, 0);
	body[0] = 3;
	body[1] = 1;		/* TLS 1.0, no extensions */
	n = hs_msg(hs, 1, body, n);
	n = records(rec, hs, n, 16384);
	assert_int_equal(tls_feed(tp, 0, rec, n, &f), 1);
	assert_int_equal(f.client_hello, 1);
	assert_int_equal(f.client_version, 0x0301);
	assert_int_equal(f.sni.len, 0);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

/* Every split of the ClientHello record, and byte by byte. */
static void
test_client_hello_splits(void **state)
{
	struct tls_parser *tp;
	struct tls_facts f;
	size_t		 k, i;
	int		 r;

	(void)state;
	for (k = 1; k < ch_rec_len; k++) {
		memset(&f, 0, sizeof(f));
		tp = tls_parser_new(MAXB, &mem, NULL);
		assert_int_equal(tls_feed(tp, 0, ch_rec, k, &f), 0);
		assert_int_equal(tls_feed(tp, 0, ch_rec + k, ch_rec_len - k,
		    &f), 1);
		assert_int_equal(f.client_hello, 1);
		assert_int_equal(f.client_version, 0x0304);
		assert_int_equal(f.sni.len, 14);
		tls_facts_free(&f);
	tls_parser_free(tp);
	}
	memset(&f, 0, sizeof(f));
	tp = tls_parser_new(MAXB, &mem, NULL);
	for (i = 0, r = 0; i < ch_rec_len; i++) {
		assert_int_equal(r, 0);
		r = tls_feed(tp, 0, ch_rec + i, 1, &f);
	}
	assert_int_equal(r, 1);
	assert_int_equal(f.client_hello, 1);
	assert_memory_equal(f.sni.b, "mx.example.com", 14);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

/*
 * A handshake message split across segments is buffered on a memcap
 * shared with the other sessions: charged while it waits, given back when
 * it is parsed; refused, the direction is given up and the refusal counted.
 */
static void
test_memcap(void **state)
{
	struct memcap	 small;
	struct tls_parser *tp;
	struct tls_facts f;

	(void)state;
	memset(&f, 0, sizeof(f));
	tp = tls_parser_new(MAXB, &mem, NULL);
	assert_int_equal(tls_feed(tp, 0, ch_rec, 10, &f), 0);
	assert_int_equal(mem.used, 1024);	/* TLS_BUF_INIT */
	assert_int_equal(tls_feed(tp, 0, ch_rec + 10, ch_rec_len - 10, &f), 1);
	assert_int_equal(f.client_hello, 1);
	assert_int_equal(mem.used, 0);
	tls_facts_free(&f);
	tls_parser_free(tp);

	memset(&f, 0, sizeof(f));
	memcap_init(&small, 512);
	tp = tls_parser_new(MAXB, &small, NULL);
	assert_int_equal(tls_feed(tp, 0, ch_rec, 10, &f), 1);
	assert_int_equal(tls_feed(tp, 0, ch_rec + 10, ch_rec_len - 10, &f), 1);
	assert_int_equal(f.client_hello, 0);
	assert_int_equal(small.hits, 1);
	assert_int_equal(small.used, 0);
	assert_int_equal(small.peak, 0);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

/* The ClientHello spread over records of 7 bytes each. */
static void
test_client_hello_fragmented(void **state)
{
	static const uint16_t vers[] = { 0x0303 };
	struct tls_parser *tp = tls_parser_new(MAXB, &mem, NULL);
	struct tls_facts f;
	uint8_t		 body[600], hs[700], rec[2000];
	size_t		 n;

	(void)state;
	memset(&f, 0, sizeof(f));
	n = client_hello_body(body, "a.example", vers, 1, 1);
	n = hs_msg(hs, 1, body, n);
	n = records(rec, hs, n, 7);
	assert_int_equal(tls_feed(tp, 0, rec, n, &f), 1);
	assert_int_equal(f.client_hello, 1);
	assert_int_equal(f.client_version, 0x0303);
	assert_int_equal(f.sni.len, 9);
	assert_memory_equal(f.sni.b, "a.example", 9);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

static void
test_server_hello_13(void **state)
{
	struct tls_parser *tp;
	struct tls_facts f;
	uint8_t		 body[200], hs[300], rec[400];
	size_t		 n, k;

	(void)state;
	n = server_hello_body(body, 0x1302, 0x0304);
	n = hs_msg(hs, 2, body, n);
	n = records(rec, hs, n, 16384);
	for (k = 1; k <= n; k++) {
		memset(&f, 0, sizeof(f));
		tp = tls_parser_new(MAXB, &mem, NULL);
		if (k < n)
			assert_int_equal(tls_feed(tp, 1, rec, k, &f), 0);
		else
			assert_int_equal(tls_feed(tp, 1, rec, k, &f), 1);
		assert_int_equal(tls_feed(tp, 1, rec + k, n - k, &f), 1);
		assert_int_equal(f.server_hello, 1);
		assert_int_equal(f.version, 0x0304);	/* legacy says 1.2 */
		assert_int_equal(f.cipher, 0x1302);
		assert_int_equal(f.have_cert, 0);
		tls_facts_free(&f);
	tls_parser_free(tp);
	}
}

/* TLS 1.2: ServerHello, Certificate, ServerHelloDone in one record. */
static void
test_server_flight_12_one_record(void **state)
{
	struct tls_parser *tp = tls_parser_new(MAXB, &mem, NULL);
	struct tls_facts f;
	uint8_t		*der, body[4096], hs[8192], rec[9000];
	uint8_t		 want[32];
	unsigned int	 wlen = 0;
	size_t		 der_len, n, hn = 0;

	(void)state;
	memset(&f, 0, sizeof(f));
	der_len = make_cert(&der);
	n = server_hello_body(body, 0xc02f, 0);
	hn += hs_msg(hs + hn, 2, body, n);
	n = certificate_body(body, der, der_len, 0);
	hn += hs_msg(hs + hn, 11, body, n);
	hn += hs_msg(hs + hn, 14, body, 0);
	n = records(rec, hs, hn, 16384);
	assert_int_equal(tls_feed(tp, 1, rec, n, &f), 1);
	assert_int_equal(f.server_hello, 1);
	assert_int_equal(f.version, 0x0303);
	assert_int_equal(f.cipher, 0xc02f);
	assert_int_equal(f.have_cert, 1);
	assert_true(EVP_Digest(der, der_len, want, &wlen, EVP_sha256(),
	    NULL));
	assert_int_equal(wlen, 32);
	assert_memory_equal(f.cert_sha256, want, 32);
	OPENSSL_free(der);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

/* The facts of a TLS 1.2 server flight carrying the leaf der. */
static void
server_flight(const uint8_t *der, size_t der_len, struct tls_facts *f)
{
	struct tls_parser *tp = tls_parser_new(MAXB, &mem, NULL);
	uint8_t		 body[4096], hs[8192], rec[9000];
	size_t		 n, hn = 0;

	memset(f, 0, sizeof(*f));
	n = server_hello_body(body, 0xc02f, 0);
	hn += hs_msg(hs + hn, 2, body, n);
	assert_true(der_len < 4000);
	n = certificate_body(body, der, der_len, 0);
	hn += hs_msg(hs + hn, 11, body, n);
	n = records(rec, hs, hn, 16384);
	assert_int_equal(tls_feed(tp, 1, rec, n, f), 1);
	assert_int_equal(f->have_cert, 1);
	tls_parser_free(tp);
}

/*
 * 200 certificates, each read twice in a different order: each time its
 * own digest.
 */
static void
test_certificate_digests(void **state)
{
	enum { NCERT = 200 };
	uint8_t		*der[NCERT], want[32];
	size_t		 len[NCERT];
	struct tls_facts f;
	char		 cn[64];
	unsigned int	 wlen;
	int		 i, round, k;

	(void)state;
	for (i = 0; i < NCERT; i++) {
		snprintf(cn, sizeof(cn), "mx%d.example.test", i);
		len[i] = make_cert_cn(&der[i], cn);
	}
	for (round = 0; round < 2; round++)
		for (k = 0; k < NCERT; k++) {
			i = round == 0 ? k : (k * 7) % NCERT;
			server_flight(der[i], len[i], &f);
			wlen = 0;
			assert_true(EVP_Digest(der[i], len[i], want, &wlen,
			    EVP_sha256(), NULL));
			assert_memory_equal(f.cert_sha256, want, 32);
		}
	for (i = 0; i < NCERT; i++)
		OPENSSL_free(der[i]);
}

/* The Certificate message spread over two records, fed byte by byte. */
static void
test_certificate_two_records(void **state)
{
	struct tls_parser *tp = tls_parser_new(MAXB, &mem, NULL);
	struct tls_facts f;
	uint8_t		*der, body[4096], hs[8192], rec[9000];
	uint8_t		 want[32];
	unsigned int	 wlen = 0;
	size_t		 der_len, n, hn = 0, off = 0, i;
	int		 r = 0;

	(void)state;
	memset(&f, 0, sizeof(f));
	der_len = make_cert(&der);
	n = server_hello_body(body, 0x009c, 0);
	off = records(rec, hs, hs_msg(hs, 2, body, n), 16384);
	n = certificate_body(body, der, der_len, 0);
	hn = hs_msg(hs, 11, body, n);
	/* first record: header and half the leaf; second: the rest */
	off += records(rec + off, hs, hn / 2, 16384);
	off += records(rec + off, hs + hn / 2, hn - hn / 2, 16384);
	for (i = 0; i < off; i++) {
		assert_int_equal(r, 0);
		r = tls_feed(tp, 1, rec + i, 1, &f);
	}
	assert_int_equal(r, 1);
	assert_int_equal(f.cipher, 0x009c);
	assert_int_equal(f.have_cert, 1);
	EVP_Digest(der, der_len, want, &wlen, EVP_sha256(), NULL);
	assert_memory_equal(f.cert_sha256, want, 32);
	OPENSSL_free(der);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

/* A chain bigger than max_bytes: the leaf is read as soon as it is in. */
static void
test_certificate_leaf_before_chain(void **state)
{
	struct tls_parser *tp = tls_parser_new(4096, &mem, NULL);
	struct tls_facts f;
	uint8_t		*der, *body = malloc(20000), *hs = malloc(20100);
	uint8_t		*rec = malloc(21000);
	size_t		 der_len, n, off;

	(void)state;
	memset(&f, 0, sizeof(f));
	der_len = make_cert(&der);
	n = server_hello_body(body, 0xc030, 0);
	off = records(rec, hs, hs_msg(hs, 2, body, n), 16384);
	n = certificate_body(body, der, der_len, 12000);
	n = hs_msg(hs, 11, body, n);
	off += records(rec + off, hs, n, 16384);
	assert_int_equal(tls_feed(tp, 1, rec, off, &f), 1);
	assert_int_equal(f.have_cert, 1);
	OPENSSL_free(der);
	free(body);
	free(hs);
	free(rec);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

/* Resumption: ServerHello then ChangeCipherSpec, no certificate. */
static void
test_server_ccs_stops(void **state)
{
	static const uint8_t ccs[] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01 };
	struct tls_parser *tp = tls_parser_new(MAXB, &mem, NULL);
	struct tls_facts f;
	uint8_t		 body[200], hs[300], rec[400];
	size_t		 n;

	(void)state;
	memset(&f, 0, sizeof(f));
	n = server_hello_body(body, 0xc02b, 0);
	n = records(rec, hs, hs_msg(hs, 2, body, n), 16384);
	assert_int_equal(tls_feed(tp, 1, rec, n, &f), 0);
	assert_int_equal(tls_feed(tp, 1, ccs, sizeof(ccs), &f), 1);
	assert_int_equal(f.server_hello, 1);
	assert_int_equal(f.have_cert, 0);
	assert_int_equal(f.not_tls[1], 0);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

static void
test_not_tls(void **state)
{
	static const char ehlo[] = "EHLO client.example.org\r\n";
	static const uint8_t big[] = { 22, 3, 3, 0xff, 0xff };
	static const uint8_t badver[] = { 22, 2, 0, 0, 4, 1, 0, 0, 0 };
	struct tls_parser *tp = tls_parser_new(MAXB, &mem, NULL);
	struct tls_facts f;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(tls_feed(tp, 0, (const uint8_t *)ehlo,
	    strlen(ehlo), &f), 1);
	assert_int_equal(f.not_tls[0], 1);
	assert_int_equal(f.not_tls[1], 0);
	assert_int_equal(tls_feed(tp, 1, big, sizeof(big), &f), 1);
	assert_int_equal(f.not_tls[1], 1);
	assert_int_equal(f.client_hello, 0);
	tls_facts_free(&f);
	tls_parser_free(tp);

	memset(&f, 0, sizeof(f));
	tp = tls_parser_new(MAXB, &mem, NULL);
	assert_int_equal(tls_feed(tp, 0, badver, sizeof(badver), &f), 1);
	assert_int_equal(f.not_tls[0], 1);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

/* Bad lengths inside a message: nothing parsed, nothing read outside. */
static void
test_truncated(void **state)
{
	static const uint16_t vers[] = { 0x0304 };
	struct tls_parser *tp;
	struct tls_facts f;
	uint8_t		 body[600], hs[700], rec[800], *copy;
	size_t		 n, cut, hn;

	(void)state;
	n = client_hello_body(body, "x.example", vers, 1, 1);
	/* every shorter body, announced as exactly that long */
	for (cut = 0; cut < n; cut++) {
		memset(&f, 0, sizeof(f));
		tp = tls_parser_new(MAXB, &mem, NULL);
		hn = hs_msg(hs, 1, body, cut);
		hn = records(rec, hs, hn, 16384);
		copy = malloc(hn);	/* exact size: valgrind sees overreads */
		memcpy(copy, rec, hn);
		assert_int_equal(tls_feed(tp, 0, copy, hn, &f), 1);
		if (cut < 2 + 32 + 1 + 32 + 2 + 6 + 2)
			assert_int_equal(f.client_hello, 0);
		free(copy);
		tls_facts_free(&f);
	tls_parser_free(tp);
	}
	/* a message longer than max_bytes: given up, not buffered */
	memset(&f, 0, sizeof(f));
	tp = tls_parser_new(1024, &mem, NULL);
	n = 0;
	put8(rec, &n, 22);
	put16(rec, &n, 0x0301);
	put16(rec, &n, 8);
	put8(rec, &n, 1);
	put24(rec, &n, 0xffffff);
	memset(rec + n, 0, 4);
	assert_int_equal(tls_feed(tp, 0, rec, n + 4, &f), 1);
	assert_int_equal(f.client_hello, 0);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

/* Endless small handshake messages nobody asked for: bounded. */
static void
test_bounded(void **state)
{
	struct tls_parser *tp = tls_parser_new(4096, &mem, NULL);
	struct tls_facts f;
	uint8_t		 rec[9];
	size_t		 n = 0, i;
	int		 r = 0;

	(void)state;
	memset(&f, 0, sizeof(f));
	put8(rec, &n, 22);
	put16(rec, &n, 0x0303);
	put16(rec, &n, 4);
	put8(rec, &n, 99);		/* unknown type, empty */
	put24(rec, &n, 0);
	for (i = 0; i < 100000 && !r; i++)
		r = tls_feed(tp, 1, rec, n, &f);
	assert_int_equal(r, 1);
	assert_true(i * n <= 4096 + n);
	tls_facts_free(&f);
	tls_parser_free(tp);
}

/* Random bytes, with and without a valid record header in front. */
static void
test_garbage(void **state)
{
	struct tls_parser *tp;
	struct tls_facts f;
	uint8_t		 buf[600];
	size_t		 i, j, n;

	(void)state;
	srand(1);
	for (i = 0; i < 5000; i++) {
		n = (size_t)rand() % sizeof(buf);
		for (j = 0; j < n; j++)
			buf[j] = (uint8_t)rand();
		if (i % 2 && n > 9) {
			buf[0] = 22;
			buf[1] = 3;
			buf[2] = 3;
			buf[3] = (uint8_t)((n - 5) >> 8);
			buf[4] = (uint8_t)(n - 5);
			buf[5] = (uint8_t)(1 + i % 2 * (i / 2 % 16));
			buf[6] = 0;
			buf[7] = (uint8_t)((n - 9) >> 8);
			buf[8] = (uint8_t)(n - 9);
		}
		memset(&f, 0, sizeof(f));
		tp = tls_parser_new(MAXB, &mem, NULL);
		tls_feed(tp, (int)(i % 2), buf, n, &f);
		tls_feed(tp, (int)(i % 2), buf, n, &f);
		assert_true(f.sni.len <= TEXT_FIELD_MAX);
		tls_facts_free(&f);
	tls_parser_free(tp);
	}
}

static void
test_looks_like_handshake(void **state)
{
	static const uint8_t ok[] = { 22, 3, 1, 0, 200 };
	static const uint8_t v2[] = { 22, 2 };
	static const uint8_t v35[] = { 22, 3, 5 };
	static const uint8_t ehlo[] = { 'E', 'H' };

	(void)state;
	assert_true(tls_looks_like_handshake(ok, 1));
	assert_true(tls_looks_like_handshake(ok, 2));
	assert_true(tls_looks_like_handshake(ok, sizeof(ok)));
	assert_false(tls_looks_like_handshake(ok, 0));
	assert_false(tls_looks_like_handshake(v2, sizeof(v2)));
	assert_false(tls_looks_like_handshake(v35, sizeof(v35)));
	assert_false(tls_looks_like_handshake(ehlo, sizeof(ehlo)));
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(tls_version_name(0x0300), "SSL3.0");
	assert_string_equal(tls_version_name(0x0301), "TLS1.0");
	assert_string_equal(tls_version_name(0x0302), "TLS1.1");
	assert_string_equal(tls_version_name(0x0303), "TLS1.2");
	assert_string_equal(tls_version_name(0x0304), "TLS1.3");
	assert_null(tls_version_name(0x0305));
	assert_null(tls_version_name(0x7a7a));
	assert_string_equal(tls_cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
	assert_string_equal(tls_cipher_name(0x1303),
	    "TLS_CHACHA20_POLY1305_SHA256");
	assert_string_equal(tls_cipher_name(0xc02f),
	    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	assert_string_equal(tls_cipher_name(0xcca9),
	    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
	assert_string_equal(tls_cipher_name(0x000a),
	    "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
	assert_string_equal(tls_cipher_name(0x0035),
	    "TLS_RSA_WITH_AES_256_CBC_SHA");
	assert_null(tls_cipher_name(0x0000));
	assert_null(tls_cipher_name(0x00ff));
}

/* The leaf's fingerprint from a TLS 1.2 server flight read with certs. */
static void
cached_flight(struct tls_certs *certs, const uint8_t *der, size_t len,
    uint8_t out[32])
{
	struct tls_parser *tp = tls_parser_new(65536, &mem, certs);
	struct tls_facts f;
	uint8_t		*body, *hs, *rec;
	size_t		 n, hn = 0;

	assert_true(len < 60000);
	body = malloc(len + 64);
	hs = malloc(len + 256);
	rec = malloc(len + 512);
	assert_true(body != NULL && hs != NULL && rec != NULL);
	memset(&f, 0, sizeof(f));
	n = server_hello_body(body, 0xc02f, 0);
	hn += hs_msg(hs + hn, 2, body, n);
	n = certificate_body(body, der, len, 0);
	hn += hs_msg(hs + hn, 11, body, n);
	n = records(rec, hs, hn, 16384);
	assert_int_equal(tls_feed(tp, 1, rec, n, &f), 1);
	assert_int_equal(f.have_cert, 1);
	memcpy(out, f.cert_sha256, 32);
	tls_facts_free(&f);
	tls_parser_free(tp);
	free(body);
	free(hs);
	free(rec);
}

/* Feed der through certs and check its fingerprint against libcrypto's. */
static void
check_cached(struct tls_certs *certs, const uint8_t *der, size_t len)
{
	uint8_t		 got[32], want[32];
	unsigned int	 wlen = 0;

	cached_flight(certs, der, len, got);
	assert_true(EVP_Digest(der, len, want, &wlen, EVP_sha256(), NULL));
	assert_memory_equal(got, want, 32);
}

static uint32_t
rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * The fingerprint cache gives the digest of the very bytes read, whatever
 * it held: certificates of every length from 1 byte, differing in one byte
 * only (first, middle, last: the same slot when the tail is the same),
 * more of them than slots, at and over TLS_CERTS_DER_MAX, all-0xff; each
 * checked against SHA-256 computed here, with and without a cache.
 */
static void
test_cert_cache(void **state)
{
	struct tls_certs *c1 = tls_certs_new(1), *c4 = tls_certs_new(4);
	struct tls_certs *c0 = tls_certs_new(0), *all[] = { c1, c4, c0, NULL };
	const struct tls_certs_stats *st;
	uint8_t		*a, *b;
	uint32_t	 x = 12345;
	size_t		 i, j, k, len, lens[] = { 1, 2, 7, 8, 9, 63, 64, 65, 421,
			    1500, TLS_CERTS_DER_MAX - 1, TLS_CERTS_DER_MAX,
			    TLS_CERTS_DER_MAX + 1, 20000 };

	(void)state;
	assert_non_null(c1);
	assert_non_null(c4);
	assert_non_null(c0);
	a = malloc(20000);
	b = malloc(20000);
	assert_true(a != NULL && b != NULL);
	for (k = 0; k < 4; k++) {
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			len = lens[i];
			for (j = 0; j < len; j++)
				a[j] = (uint8_t)(len * 7 + j * 13);
			memcpy(b, a, len);
			b[0] ^= 1;		/* same tail, same slot */
			check_cached(all[k], a, len);
			check_cached(all[k], a, len);	/* a hit */
			check_cached(all[k], b, len);	/* not a's */
			check_cached(all[k], a, len);
			b[0] ^= 1;
			b[len / 2] ^= 0x80;	/* the middle */
			check_cached(all[k], b, len);
			check_cached(all[k], a, len);
			memset(b, 0xff, len);
			check_cached(all[k], b, len);
			check_cached(all[k], b, len);
			b[len - 1] = 0xfe;	/* the last byte */
			check_cached(all[k], b, len);
		}
		/* random certificates, more than the slots, read twice */
		for (i = 0; i < 200; i++) {
			len = 1 + rnd(&x) % 3000;
			for (j = 0; j < len; j++)
				a[j] = (uint8_t)rnd(&x);
			check_cached(all[k], a, len);
			check_cached(all[k], a, len);
		}
	}
	/* Every certificate up to the cap once hashed is then found (one
	 * slot: the one just put); over the cap, or without slots, never. */
	st = tls_certs_stats(c1);
	assert_true(st->hits > 0);
	assert_int_equal(st->hits + st->misses,
	    (sizeof(lens) / sizeof(lens[0])) * 9 + 400);
	st = tls_certs_stats(c0);
	assert_int_equal(st->hits, 0);
	assert_int_equal(st->misses, (sizeof(lens) / sizeof(lens[0])) * 9 +
	    400);
	free(a);
	free(b);
	for (k = 0; all[k] != NULL; k++)
		tls_certs_free(all[k]);
	tls_certs_free(NULL);
}

/* One slot, a certificate seen again right away: hashed once; one over
 * TLS_CERTS_DER_MAX: hashed every time. */
static void
test_cert_cache_counts(void **state)
{
	struct tls_certs *c = tls_certs_new(1);
	const struct tls_certs_stats *st;
	uint8_t		*der, *big;
	size_t		 len;
	int		 i;

	(void)state;
	assert_non_null(c);
	st = tls_certs_stats(c);
	len = make_cert(&der);
	for (i = 0; i < 3; i++)
		check_cached(c, der, len);
	assert_int_equal(st->misses, 1);
	assert_int_equal(st->hits, 2);
	big = calloc(1, TLS_CERTS_DER_MAX + 1);
	assert_non_null(big);
	for (i = 0; i < 3; i++)
		check_cached(c, big, TLS_CERTS_DER_MAX + 1);
	assert_int_equal(st->misses, 4);
	assert_int_equal(st->hits, 2);
	check_cached(c, der, len);	/* still there: big never took it */
	assert_int_equal(st->hits, 3);
	free(big);
	OPENSSL_free(der);
	tls_certs_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_hello),
		cmocka_unit_test(test_client_hello_legacy),
		cmocka_unit_test(test_client_hello_splits),
		cmocka_unit_test(test_client_hello_fragmented),
		cmocka_unit_test(test_memcap),
		cmocka_unit_test(test_server_hello_13),
		cmocka_unit_test(test_server_flight_12_one_record),
		cmocka_unit_test(test_certificate_digests),
		cmocka_unit_test(test_certificate_two_records),
		cmocka_unit_test(test_certificate_leaf_before_chain),
		cmocka_unit_test(test_server_ccs_stops),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_looks_like_handshake),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_cert_cache),
		cmocka_unit_test(test_cert_cache_counts),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
