/*
 * memcap.h: a byte budget shared by many owners, such as every SMTP
 * session of a pipeline. An owner charges bytes before it allocates them
 * and releases them after it frees them; a refused charge is counted, and
 * the high-water mark is kept, so the limit has a counter and a gauge.
 */
#ifndef STRIPWATCH_MEMCAP_H
#define STRIPWATCH_MEMCAP_H

#include <stddef.h>
#include <stdint.h>

struct memcap {
	size_t		 limit;		/* bytes charged at most */
	size_t		 used;		/* bytes charged now */
	size_t		 peak;		/* most bytes charged at once */
	uint64_t	 hits;		/* charges refused */
};

/* An empty budget of limit bytes. */
void	memcap_init(struct memcap *m, size_t limit);

/* Charge n bytes: 0, or -1 (counted in hits) if used would pass limit. */
int	memcap_charge(struct memcap *m, size_t n);

/* Give back n bytes charged before. */
void	memcap_release(struct memcap *m, size_t n);

/*
 * realloc() of p (old bytes, charged; NULL and 0 for a new block) to n
 * bytes, the difference charged first. NULL, with p and its charge left
 * as they were, when the memcap (counted) or malloc says no.
 */
void	*memcap_realloc(struct memcap *m, void *p, size_t old, size_t n);

/* free() p, which holds n charged bytes, and give them back. */
void	memcap_free(struct memcap *m, void *p, size_t n);

#endif
