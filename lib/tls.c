/*
 * tls.c: reads the cleartext start of a TLS handshake (records, then
 * ClientHello, ServerHello and the TLS <= 1.2 Certificate) and records what
 * it learns in struct tls_facts; it stops each direction as soon as nothing
 * more can be learned from it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "memcap.h"
#include "tls.h"

#define TLS_CT_CCS		20	/* ChangeCipherSpec: encryption next */
#define TLS_CT_ALERT		21
#define TLS_CT_HANDSHAKE	22
#define TLS_CT_APPDATA		23

#define TLS_HS_CLIENT_HELLO	1
#define TLS_HS_SERVER_HELLO	2
#define TLS_HS_CERTIFICATE	11
#define TLS_HS_SERVER_DONE	14

#define TLS_EXT_SERVER_NAME	0
#define TLS_EXT_SUPPORTED_VERSIONS 43

#define TLS_V_SSL3		0x0300
#define TLS_V_12		0x0303
#define TLS_V_13		0x0304

#define TLS_REC_HDR		5	/* type, version, length */
#define TLS_HS_HDR		4	/* type, 24-bit length */
#define TLS_RANDOM_LEN		32
/* RFC 8446 5.2: a record body is at most 2^14 + 2048 bytes (ciphertext). */
#define TLS_REC_MAX		(16384 + 2048)
/* First size of the handshake buffer: a ClientHello is usually < 600. */
#define TLS_BUF_INIT		1024

struct tls_dir {
	uint8_t		 hdr[TLS_REC_HDR]; /* record header being read */
	uint8_t		 hdr_len;	/* bytes of it read */
	uint8_t		 done;		/* nothing more wanted */
	uint32_t	 rec_left;	/* body bytes of this record to come */
	uint8_t		*msg;		/* handshake bytes not parsed yet */
	uint32_t	 msg_len;	/* bytes in msg */
	uint32_t	 msg_cap;	/* size of msg, <= max_bytes */
	uint64_t	 seen;		/* bytes read in this direction */
};

struct tls_parser {
	uint32_t	 max_bytes;	/* bytes read per direction at most */
	struct memcap	*mem;		/* charged for every msg buffer */
	struct tls_certs *certs;	/* shared fingerprints, may be NULL */
	struct tls_dir	 d[2];		/* client to server, server to client */
};

/* One cached certificate: its whole DER and its digest. */
struct tls_cert_slot {
	uint8_t		*der;		/* NULL until first filled */
	uint32_t	 len;		/* bytes of der in use, 0: empty */
	uint32_t	 cap;		/* bytes allocated, <= TLS_CERTS_DER_MAX */
	uint8_t		 sha256[32];
};

struct tls_certs {
	struct tls_cert_slot *slot;
	uint32_t	 n;		/* slots */
	struct tls_certs_stats st;
};

/* A bounds-checked reader over a handshake message. */
struct cur {
	const uint8_t	*p;
	size_t		 len;
};

static int	cur_u8(struct cur *, uint8_t *);
static int	cur_be16(struct cur *, uint16_t *);
static int	cur_be24(struct cur *, uint32_t *);
static int	cur_skip(struct cur *, size_t);
static int	cur_sub(struct cur *, size_t, struct cur *);
static int	tls_is_grease(uint16_t);
static int	tls_ext_sni(struct cur *, struct tls_facts *);
static int	tls_ext_client_versions(struct cur *, struct tls_facts *);
static int	tls_client_hello(struct cur *, struct tls_facts *);
static int	tls_server_hello(struct cur *, struct tls_facts *);
static void	tls_leaf(struct tls_certs *, const uint8_t *, size_t,
		    struct tls_facts *);
static int	tls_certificate(struct tls_certs *, const uint8_t *, size_t,
		    size_t, struct tls_facts *);
static int	tls_message(struct tls_parser *, int, uint8_t,
		    const uint8_t *, size_t, struct tls_facts *);
static void	tls_messages(struct tls_parser *, int, struct tls_facts *);
static int	tls_append(struct tls_parser *, struct tls_dir *,
		    const uint8_t *, size_t);
static void	tls_buf_free(struct tls_parser *, struct tls_dir *);
static void	tls_record_header(struct tls_dir *, int, struct tls_facts *);

static int
cur_u8(struct cur *c, uint8_t *v)
{
	if (c->len < 1)
		return 0;
	*v = c->p[0];
	c->p++;
	c->len--;
	return 1;
}

static int
cur_be16(struct cur *c, uint16_t *v)
{
	if (c->len < 2)
		return 0;
	*v = (uint16_t)(c->p[0] << 8 | c->p[1]);
	c->p += 2;
	c->len -= 2;
	return 1;
}

static int
cur_be24(struct cur *c, uint32_t *v)
{
	if (c->len < 3)
		return 0;
	*v = (uint32_t)c->p[0] << 16 | (uint32_t)c->p[1] << 8 | c->p[2];
	c->p += 3;
	c->len -= 3;
	return 1;
}

static int
cur_skip(struct cur *c, size_t n)
{
	if (c->len < n)
		return 0;
	c->p += n;
	c->len -= n;
	return 1;
}

/* Split the next n bytes off c into sub. */
static int
cur_sub(struct cur *c, size_t n, struct cur *sub)
{
	if (c->len < n)
		return 0;
	sub->p = c->p;
	sub->len = n;
	return cur_skip(c, n);
}

/* RFC 8701: GREASE values are 0x?A?A with both bytes equal. */
static int
tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* server_name: the first host_name entry. */
static int
tls_ext_sni(struct cur *c, struct tls_facts *f)
{
	struct cur	 list, name;
	uint16_t	 llen, nlen;
	uint8_t		 type;

	if (!cur_be16(c, &llen) || !cur_sub(c, llen, &list))
		return 0;
	while (list.len > 0) {
		if (!cur_u8(&list, &type) || !cur_be16(&list, &nlen) ||
		    !cur_sub(&list, nlen, &name))
			return 0;
		if (type != 0)
			continue;
		text_field_set(&f->sni, name.p, name.len);
		return 1;
	}
	return 1;
}

/* supported_versions in a ClientHello: keep the highest real version. */
static int
tls_ext_client_versions(struct cur *c, struct tls_facts *f)
{
	struct cur	 list;
	uint16_t	 v;
	uint8_t		 llen;

	if (!cur_u8(c, &llen) || !cur_sub(c, llen, &list))
		return 0;
	while (cur_be16(&list, &v))
		if (!tls_is_grease(v) && v > f->client_version)
			f->client_version = v;
	return 1;
}

static int
tls_client_hello(struct cur *c, struct tls_facts *f)
{
	struct cur	 exts, ext;
	uint16_t	 version, n16, type;
	uint8_t		 n8;

	if (!cur_be16(c, &version) || !cur_skip(c, TLS_RANDOM_LEN) ||
	    !cur_u8(c, &n8) || !cur_skip(c, n8) ||		/* session id */
	    !cur_be16(c, &n16) || !cur_skip(c, n16) ||		/* suites */
	    !cur_u8(c, &n8) || !cur_skip(c, n8))		/* compression */
		return 0;
	f->client_version = version;
	text_field_set(&f->sni, NULL, 0);
	if (c->len == 0)
		return 1;	/* no extensions (SSL 3.0 style) */
	if (!cur_be16(c, &n16) || !cur_sub(c, n16, &exts))
		return 0;
	while (exts.len > 0) {
		if (!cur_be16(&exts, &type) || !cur_be16(&exts, &n16) ||
		    !cur_sub(&exts, n16, &ext))
			return 0;
		if (type == TLS_EXT_SERVER_NAME && !tls_ext_sni(&ext, f))
			return 0;
		if (type == TLS_EXT_SUPPORTED_VERSIONS &&
		    !tls_ext_client_versions(&ext, f))
			return 0;
	}
	return 1;
}

static int
tls_server_hello(struct cur *c, struct tls_facts *f)
{
	struct cur	 exts, ext;
	uint16_t	 version, suite, n16, type, chosen = 0;
	uint8_t		 n8;

	if (!cur_be16(c, &version) || !cur_skip(c, TLS_RANDOM_LEN) ||
	    !cur_u8(c, &n8) || !cur_skip(c, n8) ||		/* session id */
	    !cur_be16(c, &suite) || !cur_skip(c, 1))	/* compression */
		return 0;
	if (c->len > 0) {
		if (!cur_be16(c, &n16) || !cur_sub(c, n16, &exts))
			return 0;
		while (exts.len > 0) {
			if (!cur_be16(&exts, &type) ||
			    !cur_be16(&exts, &n16) ||
			    !cur_sub(&exts, n16, &ext))
				return 0;
			if (type == TLS_EXT_SUPPORTED_VERSIONS &&
			    !cur_be16(&ext, &chosen))
				return 0;
		}
	}
	f->version = chosen ? chosen : version;
	f->cipher = suite;
	return 1;
}

/*
 * The slot a certificate can be cached in, from its length and its last
 * (up to) 8 bytes: the end of the signature, which differs between any
 * two real certificates, where their first bytes (DER headers, issuer)
 * often do not. Only a place to look: a hit is proven by the whole DER.
 */
static struct tls_cert_slot *
tls_certs_slot(struct tls_certs *c, const uint8_t *der, size_t len)
{
	uint64_t	 tail = 0, h;
	size_t		 k = len < 8 ? len : 8;

	memcpy(&tail, der + len - k, k);
	h = (tail ^ len) * 0x9e3779b97f4a7c15ULL;
	return &c->slot[(uint32_t)(((h >> 32) * c->n) >> 32)];
}

/* The digest of der when it is cached; else NULL. */
static const uint8_t *
tls_certs_find(struct tls_certs *c, const uint8_t *der, size_t len)
{
	struct tls_cert_slot *sl;

	if (c == NULL || c->n == 0 || len > TLS_CERTS_DER_MAX)
		return NULL;
	sl = tls_certs_slot(c, der, len);
	if (sl->len != len || memcmp(sl->der, der, len) != 0)
		return NULL;
	c->st.hits++;
	return sl->sha256;
}

/* Keep der and its digest, in place of what its slot held. */
static void
tls_certs_put(struct tls_certs *c, const uint8_t *der, size_t len,
    const uint8_t sha256[32])
{
	struct tls_cert_slot *sl;
	uint8_t		*nb;

	if (c == NULL)
		return;
	c->st.misses++;
	if (c->n == 0 || len > TLS_CERTS_DER_MAX)
		return;
	sl = tls_certs_slot(c, der, len);
	sl->len = 0;
	if (len > sl->cap) {
		if ((nb = realloc(sl->der, len)) == NULL)
			return;		/* not cached: hashed next time */
		sl->der = nb;
		sl->cap = (uint32_t)len;
	}
	memcpy(sl->der, der, len);
	memcpy(sl->sha256, sha256, 32);
	sl->len = (uint32_t)len;
}

struct tls_certs *
tls_certs_new(uint32_t n)
{
	struct tls_certs *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (n > 0 && (c->slot = calloc(n, sizeof(*c->slot))) == NULL) {
		free(c);
		return NULL;
	}
	c->n = n;
	return c;
}

void
tls_certs_free(struct tls_certs *c)
{
	uint32_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		free(c->slot[i].der);
	free(c->slot);
	free(c);
}

const struct tls_certs_stats *
tls_certs_stats(const struct tls_certs *c)
{
	return &c->st;
}

/*
 * Digest of the leaf certificate's DER. Nothing else of it is kept: the
 * digest is what the history compares and the database records.
 */
static void
tls_leaf(struct tls_certs *certs, const uint8_t *der, size_t len,
    struct tls_facts *f)
{
	/*
	 * Fetched and allocated once, kept for the life of the process:
	 * EVP_sha256() makes EVP_Digest fetch the provider's implementation
	 * anew on every call, and EVP_Digest allocates and frees a context
	 * each time; together they cost several times hashing a certificate.
	 */
	static EVP_MD	*sha256;
	static EVP_MD_CTX *ctx;
	const uint8_t	*known;
	unsigned int	 dlen = 0;

	if ((known = tls_certs_find(certs, der, len)) != NULL) {
		memcpy(f->cert_sha256, known, sizeof(f->cert_sha256));
		f->have_cert = 1;
		return;
	}
	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) ==
	    NULL)
		return;
	if (ctx == NULL && (ctx = EVP_MD_CTX_new()) == NULL)
		return;
	if (!EVP_DigestInit_ex2(ctx, sha256, NULL) ||
	    !EVP_DigestUpdate(ctx, der, len) ||
	    !EVP_DigestFinal_ex(ctx, f->cert_sha256, &dlen) ||
	    dlen != sizeof(f->cert_sha256))
		return;
	f->have_cert = 1;
	tls_certs_put(certs, der, len, f->cert_sha256);
}

/*
 * Certificate body (avail of mlen bytes present): the leaf is the first
 * entry, so it can be read before the rest of the chain has arrived.
 * Returns 1 when done with it, 0 when more bytes are needed.
 */
static int
tls_certificate(struct tls_certs *certs, const uint8_t *body, size_t avail,
    size_t mlen, struct tls_facts *f)
{
	struct cur	 c = { body, avail };
	uint32_t	 list_len, cert_len;

	if (!cur_be24(&c, &list_len) || !cur_be24(&c, &cert_len))
		return avail >= mlen;	/* complete yet too short: give up */
	if (cert_len == 0 || cert_len > list_len || 6 + (size_t)cert_len > mlen)
		return 1;		/* malformed: nothing to learn */
	if (c.len < cert_len)
		return 0;
	tls_leaf(certs, c.p, cert_len, f);
	return 1;
}

/* One whole handshake message. Returns 1 when the direction is done. */
static int
tls_message(struct tls_parser *tp, int dir, uint8_t type,
    const uint8_t *body, size_t len, struct tls_facts *f)
{
	struct cur	 c = { body, len };

	if (dir == 0) {
		if (type == TLS_HS_CLIENT_HELLO && tls_client_hello(&c, f))
			f->client_hello = 1;
		return 1;	/* the client's first message is all we read */
	}
	switch (type) {
	case TLS_HS_SERVER_HELLO:
		if (!tls_server_hello(&c, f))
			return 1;
		f->server_hello = 1;
		return f->version >= TLS_V_13;	/* the rest is encrypted */
	case TLS_HS_CERTIFICATE:
		if (f->version < TLS_V_13)
			tls_certificate(tp->certs, body, len, len, f);
		return 1;
	case TLS_HS_SERVER_DONE:
		return 1;
	default:
		return 0;
	}
}

/* Parse every whole message buffered in direction dir. */
static void
tls_messages(struct tls_parser *tp, int dir, struct tls_facts *f)
{
	struct tls_dir	*d = &tp->d[dir];
	uint32_t	 mlen;
	size_t		 whole;

	while (!d->done && d->msg_len >= TLS_HS_HDR) {
		mlen = (uint32_t)d->msg[1] << 16 | (uint32_t)d->msg[2] << 8 |
		    d->msg[3];
		whole = TLS_HS_HDR + (size_t)mlen;
		if (whole > d->msg_len) {
			if (dir == 1 && d->msg[0] == TLS_HS_CERTIFICATE &&
			    f->version < TLS_V_13) {
				/* the leaf may be complete before the chain */
				if (tls_certificate(tp->certs,
				    d->msg + TLS_HS_HDR,
				    d->msg_len - TLS_HS_HDR, mlen, f))
					d->done = 1;
			} else if (whole > tp->max_bytes)
				d->done = 1;	/* can never be buffered */
			return;
		}
		if (tls_message(tp, dir, d->msg[0], d->msg + TLS_HS_HDR, mlen,
		    f))
			d->done = 1;
		memmove(d->msg, d->msg + whole, d->msg_len - whole);
		d->msg_len -= (uint32_t)whole;
	}
}

/*
 * Buffer handshake bytes, growing lazily up to max_bytes; each growth is
 * charged to the shared memcap first. 0 when it cannot be buffered.
 */
static int
tls_append(struct tls_parser *tp, struct tls_dir *d, const uint8_t *buf,
    size_t len)
{
	size_t		 need = (size_t)d->msg_len + len, ncap;
	uint8_t		*n;

	if (need > tp->max_bytes)
		return 0;
	if (need > d->msg_cap) {
		ncap = d->msg_cap ? d->msg_cap : TLS_BUF_INIT;
		while (ncap < need)
			ncap *= 2;
		if (ncap > tp->max_bytes)
			ncap = tp->max_bytes;
		if ((n = memcap_realloc(tp->mem, d->msg, d->msg_cap,
		    ncap)) == NULL)
			return 0;
		d->msg = n;
		d->msg_cap = (uint32_t)ncap;
	}
	memcpy(d->msg + d->msg_len, buf, len);
	d->msg_len += (uint32_t)len;
	return 1;
}

/* A whole record header was read: judge it. */
static void
tls_record_header(struct tls_dir *d, int dir, struct tls_facts *f)
{
	uint16_t	 version = (uint16_t)(d->hdr[1] << 8 | d->hdr[2]);
	uint16_t	 len = (uint16_t)(d->hdr[3] << 8 | d->hdr[4]);

	if (version < TLS_V_SSL3 || version > TLS_V_13 || len == 0 ||
	    len > TLS_REC_MAX) {
		f->not_tls[dir] = 1;
		d->done = 1;
		return;
	}
	switch (d->hdr[0]) {
	case TLS_CT_HANDSHAKE:
		d->rec_left = len;
		return;
	case TLS_CT_CCS:
	case TLS_CT_ALERT:
	case TLS_CT_APPDATA:
		d->done = 1;	/* encrypted or over: nothing to learn */
		return;
	default:
		f->not_tls[dir] = 1;
		d->done = 1;
	}
}

static void
tls_buf_free(struct tls_parser *tp, struct tls_dir *d)
{
	memcap_free(tp->mem, d->msg, d->msg_cap);
	d->msg = NULL;
	d->msg_len = d->msg_cap = 0;
}

void
tls_facts_free(struct tls_facts *f)
{
	text_field_free(&f->sni);
}

struct tls_parser *
tls_parser_new(uint32_t max_bytes, struct memcap *mem, struct tls_certs *certs)
{
	struct tls_parser *tp;

	if ((tp = calloc(1, sizeof(*tp))) == NULL)
		return NULL;
	tp->max_bytes = max_bytes;
	tp->mem = mem;
	tp->certs = certs;
	return tp;
}

void
tls_parser_free(struct tls_parser *tp)
{
	if (tp == NULL)
		return;
	tls_buf_free(tp, &tp->d[0]);
	tls_buf_free(tp, &tp->d[1]);
	free(tp);
}

int
tls_feed(struct tls_parser *tp, int dir, const uint8_t *buf, size_t len,
    struct tls_facts *f)
{
	struct tls_dir	*d;
	size_t		 off = 0, n;

	if (dir != 0 && dir != 1)
		return 1;
	d = &tp->d[dir];
	while (off < len && !d->done && d->seen < tp->max_bytes) {
		if (d->hdr_len < TLS_REC_HDR) {
			d->hdr[d->hdr_len++] = buf[off++];
			d->seen++;
			if (d->hdr_len == TLS_REC_HDR)
				tls_record_header(d, dir, f);
			continue;
		}
		n = len - off;
		if (n > d->rec_left)
			n = d->rec_left;
		if (n > tp->max_bytes - d->seen)
			n = tp->max_bytes - d->seen;
		if (!tls_append(tp, d, buf + off, n)) {
			d->done = 1;
			break;
		}
		off += n;
		d->seen += n;
		d->rec_left -= (uint32_t)n;
		if (d->rec_left == 0)
			d->hdr_len = 0;
		tls_messages(tp, dir, f);
	}
	if (d->seen >= tp->max_bytes)
		d->done = 1;
	if (d->done)
		tls_buf_free(tp, d);	/* nothing more will be parsed */
	return d->done;
}

int
tls_looks_like_handshake(const uint8_t *buf, size_t len)
{
	if (len < 1 || buf[0] != TLS_CT_HANDSHAKE)
		return 0;
	if (len >= 2 && buf[1] != 3)
		return 0;
	if (len >= 3 && buf[2] > 4)
		return 0;
	return 1;
}

const char *
tls_version_name(uint16_t v)
{
	switch (v) {
	case 0x0300:
		return "SSL3.0";
	case 0x0301:
		return "TLS1.0";
	case 0x0302:
		return "TLS1.1";
	case 0x0303:
		return "TLS1.2";
	case 0x0304:
		return "TLS1.3";
	default:
		return NULL;
	}
}

/* The suites seen in practice on SMTP servers; IANA names. */
static const struct {
	uint16_t	 id;
	const char	*name;
} tls_ciphers[] = {
	{ 0x1301, "TLS_AES_128_GCM_SHA256" },
	{ 0x1302, "TLS_AES_256_GCM_SHA384" },
	{ 0x1303, "TLS_CHACHA20_POLY1305_SHA256" },
	{ 0x1304, "TLS_AES_128_CCM_SHA256" },
	{ 0x1305, "TLS_AES_128_CCM_8_SHA256" },
	{ 0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
	{ 0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
	{ 0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" },
	{ 0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" },
	{ 0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" },
	{ 0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
	{ 0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" },
	{ 0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" },
	{ 0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
	{ 0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM" },
	{ 0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM" },
	{ 0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA" },
	{ 0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA" },
	{ 0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256" },
	{ 0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA" },
	{ 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA" },
	{ 0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256" },
	{ 0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0x0005, "TLS_RSA_WITH_RC4_128_SHA" },
	{ 0x0004, "TLS_RSA_WITH_RC4_128_MD5" },
	{ 0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA" },
};

const char *
tls_cipher_name(uint16_t suite)
{
	size_t	 i;

	for (i = 0; i < sizeof(tls_ciphers) / sizeof(tls_ciphers[0]); i++)
		if (tls_ciphers[i].id == suite)
			return tls_ciphers[i].name;
	return NULL;
}
