/*
 * malloccount.c: an LD_PRELOAD shim that counts heap allocations, so the
 * benchmark can show that stripwatch allocates per session, not per packet.
 *
 *   MALLOCCOUNT_OUT=FILE LD_PRELOAD=./malloccount.so program ...
 *
 * Counts malloc, calloc, realloc (non-NULL size), posix_memalign,
 * aligned_alloc and memalign calls of the whole process (the program and
 * every library it uses) and writes "allocs=N bytes=N" to FILE at exit. It
 * forwards to glibc's __libc_* entry points, so it needs no dlsym (which
 * would itself allocate while the shim is being set up).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern void	*__libc_malloc(size_t);
extern void	*__libc_calloc(size_t, size_t);
extern void	*__libc_realloc(void *, size_t);
extern void	*__libc_memalign(size_t, size_t);

void		*malloc(size_t);
void		*calloc(size_t, size_t);
void		*realloc(void *, size_t);
int		 posix_memalign(void **, size_t, size_t);
void		*aligned_alloc(size_t, size_t);
void		*memalign(size_t, size_t);

static uint64_t	 allocs;	/* the process is single-threaded where it
				   matters; a lost update would only
				   undercount by one */
static uint64_t	 bytes;

void *
malloc(size_t n)
{
	allocs++;
	bytes += n;
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	allocs++;
	bytes += n * size;
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	if (n > 0) {
		allocs++;
		bytes += n;
	}
	return __libc_realloc(p, n);
}

void *
memalign(size_t align, size_t n)
{
	allocs++;
	bytes += n;
	return __libc_memalign(align, n);
}

void *
aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	void	*p = memalign(align, n);

	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

static void report(void) __attribute__((destructor));

static void
report(void)
{
	const char *path = getenv("MALLOCCOUNT_OUT");
	FILE	*fp;

	if (path == NULL || (fp = fopen(path, "w")) == NULL)
		return;
	fprintf(fp, "allocs=%llu bytes=%llu\n", (unsigned long long)allocs,
	    (unsigned long long)bytes);
	fclose(fp);
}
