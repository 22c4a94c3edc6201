/*
 * tls.h: facts from the cleartext start of a TLS handshake after STARTTLS.
 *
 * Reads TLS records from each direction until it has the ClientHello
 * (offered version, SNI), the ServerHello (chosen version, cipher suite) and,
 * for TLS 1.2 and older, the server's leaf certificate (its SHA-256
 * fingerprint: what the history compares and the database keeps). Records
 * may be split across segments and several handshake messages may share a
 * record; buffering is bounded by max_bytes and by a memcap shared with the
 * other sessions.
 */
#ifndef STRIPWATCH_TLS_H
#define STRIPWATCH_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "text.h"

/*
 * What was learned; all zero until seen. The SNI is allocated when seen
 * (text.h; DNS names are at most 253 bytes, TEXT_FIELD_MAX are kept):
 * tls_facts_free() gives it back.
 */
struct tls_facts {
	uint8_t		 client_hello;	/* a ClientHello was parsed */
	uint8_t		 server_hello;	/* a ServerHello was parsed */
	uint8_t		 have_cert;	/* cert_sha256 is set */
	uint8_t		 not_tls[2];	/* direction 0/1 sent non-TLS bytes */
	uint16_t	 client_version; /* highest version offered (incl.
					   supported_versions) */
	uint16_t	 version;	/* version chosen by the server (incl.
					   supported_versions) */
	uint16_t	 cipher;	/* cipher suite chosen */
	struct text_field sni;		/* raw server_name bytes */
	uint8_t		 cert_sha256[32];	/* leaf certificate digest */
};

/* Give back what f holds (the SNI); f is empty again. */
void	tls_facts_free(struct tls_facts *f);

struct tls_parser;

struct memcap;

/*
 * The fingerprints of recently seen leaf certificates, shared by the
 * sessions of one pipeline (one thread): a server shows the same
 * certificate to every client, and hashing it is most of what reading a
 * handshake costs. A certificate is found by its whole DER, compared byte
 * for byte, never by a digest; each of the n slots holds one certificate
 * of at most TLS_CERTS_DER_MAX bytes (longer ones are hashed every time),
 * so the cache holds at most n x TLS_CERTS_DER_MAX bytes. A slot is chosen
 * from the certificate's length and last bytes (its signature): crafted
 * certificates can only evict each other, each costing what hashing it
 * would without a cache.
 */
#define TLS_CERTS_DER_MAX	8192

struct tls_certs;

struct tls_certs_stats {
	uint64_t	 hits;		/* fingerprints taken from the cache */
	uint64_t	 misses;	/* computed (and cached when they fit) */
};

/* A cache of n certificates (0: none, every one is hashed). NULL on
 * ENOMEM. */
struct tls_certs *tls_certs_new(uint32_t n);
void	tls_certs_free(struct tls_certs *c);
const struct tls_certs_stats *tls_certs_stats(const struct tls_certs *c);

/*
 * New parser for one session; max_bytes bounds what is buffered per
 * direction while waiting for a whole handshake message, and every buffer
 * is charged to mem (shared, must outlive the parser): a direction whose
 * message cannot be buffered is given up, as beyond max_bytes. The leaf
 * certificate's fingerprint is looked up in certs (shared, must outlive
 * the parser; NULL: always computed). NULL on ENOMEM.
 */
struct tls_parser *tls_parser_new(uint32_t max_bytes, struct memcap *mem,
	    struct tls_certs *certs);
void	tls_parser_free(struct tls_parser *tp);

/*
 * Feed bytes of direction dir (0 = client to server, 1 = server to client).
 * Updates *f. Returns 1 when nothing more is wanted from this direction
 * (hellos/certificate found, encrypted data reached, not TLS, max_bytes
 * exceeded or the memcap refused a buffer), else 0.
 */
int	tls_feed(struct tls_parser *tp, int dir, const uint8_t *buf, size_t len,
	    struct tls_facts *f);

/*
 * Whether buf starts like a TLS handshake record (content type 22, version
 * 3.x). len may be short: 1 or 2 bytes are judged on what is there.
 */
int	tls_looks_like_handshake(const uint8_t *buf, size_t len);

/* "SSL3.0", "TLS1.0" .. "TLS1.3", or NULL if unknown. */
const char *tls_version_name(uint16_t v);

/* IANA name of a cipher suite ("TLS_AES_128_GCM_SHA256"), or NULL. */
const char *tls_cipher_name(uint16_t suite);

#endif
