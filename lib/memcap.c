/*
 * memcap.c: the accounting of a shared byte budget. A limit lowered below
 * what is charged (a reload) refuses new charges until enough is released;
 * nothing already held is taken back.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "memcap.h"

void
memcap_init(struct memcap *m, size_t limit)
{
	memset(m, 0, sizeof(*m));
	m->limit = limit;
}

int
memcap_charge(struct memcap *m, size_t n)
{
	if (m->used > m->limit || n > m->limit - m->used) {
		m->hits++;
		return -1;
	}
	m->used += n;
	if (m->used > m->peak)
		m->peak = m->used;
	return 0;
}

void
memcap_release(struct memcap *m, size_t n)
{
	assert(m->used >= n);
	m->used -= n;
}

void *
memcap_realloc(struct memcap *m, void *p, size_t old, size_t n)
{
	void	*np;

	if (n > old && memcap_charge(m, n - old) == -1)
		return NULL;
	if ((np = realloc(p, n)) == NULL) {
		if (n > old)
			memcap_release(m, n - old);
		return NULL;
	}
	if (n < old)
		memcap_release(m, old - n);
	return np;
}

void
memcap_free(struct memcap *m, void *p, size_t n)
{
	if (p == NULL)
		return;
	free(p);
	memcap_release(m, n);
}
