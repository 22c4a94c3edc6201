/*
 * storerow.c: compact copies of the rows waiting for the database, and the
 * spare lists that recycle them by size class.
 */
#include <stdlib.h>
#include <string.h>

#include "storerow.h"

/* The texts a row holds, before it is allocated: where and how long. */
struct storerow_texts {
	const char	*p[STOREROW_TEXTS];
	size_t		 len[STOREROW_TEXTS];
	unsigned	 n;
};

_Static_assert(sizeof(struct storerow_session) +
    3 * sizeof(((struct detect_session *)0)->helo) +
    sizeof(((struct detect_session *)0)->tls_cipher) +
    sizeof(((struct detect_session *)0)->cert_sha256) +
    3 * STOREROW_NAME_MAX + DETECT_SOURCE_MAX <= STOREROW_MAX_SIZE,
    "the largest session row fits the largest size class");
_Static_assert(sizeof(struct storerow_event) +
    sizeof(((struct detect_event *)0)->evidence) <= STOREROW_MAX_SIZE,
    "the largest event row fits the largest size class");

void
storerow_pool_init(struct storerow_pool *p)
{
	unsigned	 i;

	for (i = 0; i < STOREROW_CLASSES; i++)
		TAILQ_INIT(&p->spare[i]);
	p->spare_bytes = 0;
}

void
storerow_pool_free(struct storerow_pool *p)
{
	struct storerow	*r;
	unsigned	 i;

	for (i = 0; i < STOREROW_CLASSES; i++)
		while ((r = TAILQ_FIRST(&p->spare[i])) != NULL) {
			TAILQ_REMOVE(&p->spare[i], r, entry);
			free(r);
		}
	p->spare_bytes = 0;
}

/* Add text field src, at most max bytes (stopping at a NUL). */
static void
texts_add(struct storerow_texts *t, const char *src, size_t max)
{
	if (src == NULL)
		src = "";
	t->p[t->n] = src;
	t->len[t->n] = strnlen(src, max);
	t->n++;
}

static unsigned
size_class(size_t size)
{
	return (unsigned)((size + STOREROW_ALIGN - 1) / STOREROW_ALIGN) - 1;
}

/*
 * A row of kind whose fixed part is fixed bytes, followed by the texts of
 * t; its head is filled, the rest of the fixed part zeroed. NULL on ENOMEM.
 */
static struct storerow *
row_new(struct storerow_pool *p, enum storerow_kind kind, size_t fixed,
    const struct storerow_texts *t)
{
	struct storerow	*r;
	size_t		 size = fixed;
	unsigned	 i, c;
	char		*dst;

	for (i = 0; i < t->n; i++)
		size += t->len[i] + 1;
	c = size_class(size);
	if (c >= STOREROW_CLASSES)
		abort();	/* the asserts above say it cannot be */
	if ((r = TAILQ_FIRST(&p->spare[c])) != NULL) {
		TAILQ_REMOVE(&p->spare[c], r, entry);
		p->spare_bytes -= r->size;
	} else if ((r = malloc((c + 1) * STOREROW_ALIGN)) == NULL)
		return NULL;
	memset(r, 0, fixed);
	r->size = (c + 1) * STOREROW_ALIGN;
	r->text_off = (uint16_t)fixed;
	r->kind = (uint8_t)kind;
	dst = (char *)r + fixed;
	for (i = 0; i < t->n; i++) {
		r->tlen[i] = (uint16_t)t->len[i];
		memcpy(dst, t->p[i], t->len[i]);
		dst[t->len[i]] = '\0';
		dst += t->len[i] + 1;
	}
	return r;
}

struct storerow *
storerow_event(struct storerow_pool *p, const struct detect_event *ev)
{
	struct storerow_texts	 t = { .n = 0 };
	struct storerow_event	*r;

	texts_add(&t, ev->evidence, sizeof(ev->evidence) - 1);
	if ((r = (struct storerow_event *)row_new(p, STOREROW_EVENT,
	    sizeof(*r), &t)) == NULL)
		return NULL;
	r->ts_us = ev->ts_us;
	r->session_id = ev->session_id;
	r->tuple = ev->tuple;
	r->kind = (uint8_t)ev->kind;
	r->severity = (uint8_t)ev->severity;
	return &r->hdr;
}

struct storerow *
storerow_session(struct storerow_pool *p, const struct detect_session *s)
{
	struct storerow_texts	 t = { .n = 0 };
	struct storerow_session	*r;

	/* In enum storerow_session_text's order. */
	texts_add(&t, s->helo, sizeof(s->helo) - 1);
	texts_add(&t, s->banner, sizeof(s->banner) - 1);
	texts_add(&t, s->tls_cipher, sizeof(s->tls_cipher) - 1);
	texts_add(&t, s->tls_sni, sizeof(s->tls_sni) - 1);
	texts_add(&t, s->cert_sha256, sizeof(s->cert_sha256) - 1);
	texts_add(&t, s->outcome, STOREROW_NAME_MAX - 1);
	texts_add(&t, s->tls_version, STOREROW_NAME_MAX - 1);
	texts_add(&t, s->close_reason, STOREROW_NAME_MAX - 1);
	texts_add(&t, s->protocol, STOREROW_NAME_MAX - 1);
	texts_add(&t, s->starttls_status, sizeof(s->starttls_status) - 1);
	texts_add(&t, s->source, DETECT_SOURCE_MAX - 1);
	if ((r = (struct storerow_session *)row_new(p, STOREROW_SESSION,
	    sizeof(*r), &t)) == NULL)
		return NULL;
	r->id = s->id;
	r->start_us = s->start_us;
	r->end_us = s->end_us;
	r->tuple = s->tuple;
	r->gaps = s->gaps;
	r->events = s->events;
	r->resumed = s->resumed;
	r->starttls_reply = s->starttls_reply;
	r->starttls_offered = s->starttls_offered;
	r->starttls_requested = s->starttls_requested;
	r->tls_established = s->tls_established;
	return &r->hdr;
}

struct storerow *
storerow_stat(struct storerow_pool *p, uint64_t ts_us, const char *name,
    int64_t value)
{
	struct storerow_texts	 t = { .n = 0 };
	struct storerow_stat	*r;

	texts_add(&t, name, STOREROW_STAT_NAME_MAX - 1);
	if ((r = (struct storerow_stat *)row_new(p, STOREROW_STAT,
	    sizeof(*r), &t)) == NULL)
		return NULL;
	r->ts_us = ts_us;
	r->value = value;
	return &r->hdr;
}

struct storerow *
storerow_server(struct storerow_pool *p, const struct history_server *srv)
{
	struct storerow_texts	 t = { .n = 0 };
	struct storerow_server	*r;

	if ((r = (struct storerow_server *)row_new(p, STOREROW_SERVER,
	    sizeof(*r), &t)) == NULL)
		return NULL;
	r->srv = *srv;
	return &r->hdr;
}

void
storerow_put(struct storerow_pool *p, struct storerow *r)
{
	if (p->spare_bytes + r->size > STOREROW_SPARE_BYTES) {
		free(r);
		return;
	}
	TAILQ_INSERT_HEAD(&p->spare[size_class(r->size)], r, entry);
	p->spare_bytes += r->size;
}

const char *
storerow_text(const struct storerow *r, unsigned i)
{
	const char	*p = (const char *)r + r->text_off;
	unsigned	 j;

	for (j = 0; j < i; j++)
		p += r->tlen[j] + 1;
	return p;
}

size_t
storerow_cost(const struct storerow *r)
{
	return r->size + STOREROW_MALLOC_HEAD;
}
