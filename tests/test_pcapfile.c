/*
 * test_pcapfile.c: the classic pcap reader against libpcap itself. Every
 * bundled capture and a set of written files (both byte orders,
 * nanosecond timestamps, odd snapshot lengths, damaged records, records
 * across the buffer's refills) are read both ways: the same records, the
 * same bytes, the same end, the same error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <byteswap.h>
#include <fcntl.h>
#include <glob.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcapfile.h"

#define BUFLEN		(1024 * 1024)

/* Read path both ways; returns the records compared (-1: not taken). */
static long
compare_with_libpcap(const char *path)
{
	static uint8_t	 buf[BUFLEN];
	char		 ebuf[PCAP_ERRBUF_SIZE];
	struct pcapfile	 pf;
	struct pcapfile_rec r;
	struct pcap_pkthdr *h;
	const u_char	*data;
	pcap_t		*p;
	long		 n = 0;
	int		 fd, rc, mine;

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	if (!pcapfile_open(&pf, fd, buf, sizeof(buf))) {
		close(fd);
		return -1;
	}
	p = pcap_open_offline_with_tstamp_precision(path,
	    PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (p == NULL)
		fail_msg("%s: libpcap: %s", path, ebuf);
	for (;;) {
		rc = pcap_next_ex(p, &h, &data);
		mine = pcapfile_next(&pf, &r);
		if (rc != 1) {
			assert_int_equal(mine, rc == PCAP_ERROR_BREAK ? 0 : -1);
			if (rc == PCAP_ERROR)
				assert_string_equal(pf.err, pcap_geterr(p));
			break;
		}
		assert_int_equal(mine, 1);
		assert_int_equal(r.ts_sec, (int64_t)h->ts.tv_sec);
		assert_int_equal(r.ts_usec, (int64_t)h->ts.tv_usec);
		assert_int_equal(r.caplen, h->caplen);
		assert_int_equal(r.len, h->len);
		assert_memory_equal(r.data, data, h->caplen);
		n++;
	}
	pcap_close(p);
	close(fd);
	return n;
}

static void
test_bundled_captures(void **state)
{
	static const char *const patterns[] = {
		TOP "/pcaps/*.pcap", TOP "/pcaps/*.pcapng",
		TOP "/tests/regress/*.pcap",
	};
	glob_t		 g;
	size_t		 i, j, taken = 0;

	(void)state;
	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		if (glob(patterns[i], 0, NULL, &g) != 0)
			continue;
		for (j = 0; j < g.gl_pathc; j++)
			if (compare_with_libpcap(g.gl_pathv[j]) >= 0)
				taken++;
		globfree(&g);
	}
	/* pcaps/ holds dozens of classic files and one pcapng. */
	assert_true(taken >= 40);
}

/* A capture file being written, in either byte order. */
struct wfile {
	FILE		*fp;
	int		 swap;
	char		 path[64];
};

static void
w32(struct wfile *w, uint32_t v)
{
	if (w->swap)
		v = bswap_32(v);
	assert_int_equal(fwrite(&v, 4, 1, w->fp), 1);
}

static void
w16(struct wfile *w, uint16_t v)
{
	if (w->swap)
		v = bswap_16(v);
	assert_int_equal(fwrite(&v, 2, 1, w->fp), 1);
}

static void
wopen(struct wfile *w, int swap, uint32_t magic, uint16_t major,
    uint16_t minor, uint32_t snaplen)
{
	int	 fd;

	snprintf(w->path, sizeof(w->path), "/tmp/test_pcapfile.XXXXXX");
	fd = mkstemp(w->path);
	assert_true(fd >= 0);
	w->fp = fdopen(fd, "wb");
	w->swap = swap;
	w32(w, magic);
	w16(w, major);
	w16(w, minor);
	w32(w, 0);
	w32(w, 0);
	w32(w, snaplen);
	w32(w, 1);		/* Ethernet */
}

/* A record of caplen bytes (payload, or a pattern) claiming len. */
static void
wrec(struct wfile *w, uint32_t sec, uint32_t frac, uint32_t caplen,
    uint32_t len, size_t write_bytes)
{
	size_t	 i;

	w32(w, sec);
	w32(w, frac);
	w32(w, caplen);
	w32(w, len);
	for (i = 0; i < write_bytes; i++)
		fputc((int)((i * 7 + caplen) & 0xff), w->fp);
}

/* Close, compare both readers, remove; returns the records. */
static long
wdone(struct wfile *w)
{
	long	 n;

	assert_int_equal(fclose(w->fp), 0);
	n = compare_with_libpcap(w->path);
	unlink(w->path);
	return n;
}

static void
test_byte_orders_and_precision(void **state)
{
	static const uint32_t magics[] = { 0xa1b2c3d4u, 0xa1b23c4du };
	struct wfile	 w;
	int		 swap;
	size_t		 m;

	(void)state;
	for (swap = 0; swap <= 1; swap++)
		for (m = 0; m < 2; m++) {
			wopen(&w, swap, magics[m], 2, 4, 65535);
			wrec(&w, 1795894711, 123456789, 60, 60, 60);
			/* Negative and out-of-range fields, as libpcap
			 * passes them on. */
			wrec(&w, 0xffffffffu, 0x80000000u, 1, 1500, 1);
			wrec(&w, 0x80000000u, 999999999, 0, 0, 0);
			wrec(&w, 5, 0xfffffc18u, 14, 14, 14);
			assert_int_equal(wdone(&w), 4);
		}
}

static void
test_snapshot_lengths(void **state)
{
	static const uint32_t snaps[] = { 0, 100, 262144, 262145, 983040,
	    0x7fffffffu, 0x80000000u, 0xffffffffu };
	struct wfile	 w;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(snaps) / sizeof(snaps[0]); i++) {
		wopen(&w, 0, 0xa1b2c3d4u, 2, 4, snaps[i]);
		wrec(&w, 1, 2, 60, 60, 60);
		/* Longer than a snapshot of 100: cut to it, rest skipped. */
		wrec(&w, 1, 3, 200, 1500, 200);
		wrec(&w, 1, 4, 262144, 262144, 262144);
		wrec(&w, 1, 5, 40, 40, 40);
		assert_int_equal(wdone(&w), 4);
	}
}

static void
test_damaged_records(void **state)
{
	/* One record each: snapshot length, caplen, len, bytes written. */
	static const uint32_t bad[][4] = {
		{ 100, 1000, 1000, 500 },	/* cut past the snapshot */
		{ 100, 1000, 1000, 50 },	/* and before it */
		{ 65535, 0x7fffffff, 60, 60 },	/* beyond any snapshot */
		{ 0, 262145, 262145, 262145 },	/* beyond the limit only */
		{ 983040, 905969666, 54, 54 },
	};
	struct wfile	 w;
	size_t		 i;

	(void)state;
	/* The header of a record cut short. */
	wopen(&w, 0, 0xa1b2c3d4u, 2, 4, 65535);
	wrec(&w, 1, 2, 60, 60, 60);
	assert_int_equal(fwrite("\x01\x02\x03\x04\x05", 5, 1, w.fp), 1);
	assert_int_equal(wdone(&w), 1);
	/* Its bytes cut short, in the other byte order. */
	wopen(&w, 1, 0xa1b2c3d4u, 2, 4, 65535);
	wrec(&w, 1, 2, 60, 60, 60);
	wrec(&w, 1, 3, 1000, 1000, 999);
	assert_int_equal(wdone(&w), 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wopen(&w, 0, 0xa1b2c3d4u, 2, 4, bad[i][0]);
		wrec(&w, 1, 3, bad[i][1], bad[i][2], bad[i][3]);
		assert_int_equal(wdone(&w), 0);
	}
	/* Nothing but the file header. */
	wopen(&w, 0, 0xa1b2c3d4u, 2, 4, 65535);
	assert_int_equal(wdone(&w), 0);
}

/* Other formats and versions are left to libpcap. */
static void
test_not_taken(void **state)
{
	struct wfile	 w;

	(void)state;
	wopen(&w, 0, 0xa1b2c3d4u, 2, 3, 65535);
	wrec(&w, 1, 2, 60, 60, 60);
	assert_int_equal(wdone(&w), -1);
	wopen(&w, 0, 0xa1b2cd34u, 2, 4, 65535);	/* Kuznetzov's format */
	assert_int_equal(wdone(&w), -1);
	/* USBPCAP: libpcap allows it longer records. */
	wopen(&w, 0, 0xa1b2c3d4u, 2, 4, 0);
	assert_int_equal(fseek(w.fp, 20, SEEK_SET), 0);
	w32(&w, 249);
	assert_int_equal(wdone(&w), -1);
	assert_int_equal(compare_with_libpcap(TOP
	    "/pcaps/link-pcapng.pcapng"), -1);
}

/*
 * Records of every size up to the largest run across many refills of
 * the buffer, some exactly at its end.
 */
static void
test_refills(void **state)
{
	struct wfile	 w;
	uint32_t	 len, i;
	long		 n = 0;

	(void)state;
	wopen(&w, 0, 0xa1b2c3d4u, 2, 4, 0);
	for (i = 0; i < 3000; i++) {
		len = (i * 2654435761u) % 5000;
		if (i % 97 == 0)
			len = 262144 - i;
		wrec(&w, i, i, len, len, len);
		n++;
	}
	assert_int_equal(wdone(&w), n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bundled_captures),
		cmocka_unit_test(test_byte_orders_and_precision),
		cmocka_unit_test(test_snapshot_lengths),
		cmocka_unit_test(test_damaged_records),
		cmocka_unit_test(test_not_taken),
		cmocka_unit_test(test_refills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
