/*
 * fuzz_pcap.c: libFuzzer harness for a whole capture file. The input is
 * read by libpcap from memory (pcap or pcapng, as the sensor reads -r
 * files) and every record goes through the pipeline with the sensor's
 * once-a-second housekeeping, into the checking sink and the alert sink.
 * The first input byte of a capture is its magic, so the fuzzer cannot pick
 * limits; the default limits are used. A classic pcap file is also read
 * by lib/pcapfile.c, as the sensor reads it, from a memfd: every record
 * and the end (EOF, or the same error) must be what libpcap gives, or the
 * harness aborts.
 */
#define _GNU_SOURCE		/* memfd_create */
#include <sys/mman.h>

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "fuzzutil.h"
#include "pcapfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Housekeeping period by packet time, as SENSOR_TICK_US in the sensor. */
#define TICK_US		1000000ULL

/*
 * Records read per input at most: a tiny input cannot hold more than a few
 * thousand records, so this only stops a reader that does not advance.
 */
#define MAX_RECORDS	100000

static void
run(pcap_t *pc, struct pipeline *p)
{
	struct pcap_pkthdr *h;
	const u_char	*bytes;
	uint64_t	 ts, next_tick = 0;
	int		 link = pcap_datalink(pc), n = 0;

	if (!decode_link_supported(link))
		return;
	while (n++ < MAX_RECORDS && pcap_next_ex(pc, &h, &bytes) == 1) {
		ts = (uint64_t)h->ts.tv_sec * 1000000ULL +
		    (uint64_t)h->ts.tv_usec;
		pipeline_frame(p, link, ts, bytes, h->caplen);
		if (ts >= next_tick) {
			pipeline_tick(p, ts);
			next_tick = ts + TICK_US;
		}
	}
}

/* One record of each reader: the same, or abort. */
static int
same_record(pcap_t *pc, struct pcapfile *pf)
{
	struct pcap_pkthdr *h;
	struct pcapfile_rec r;
	const u_char	*bytes;
	int		 rc = pcap_next_ex(pc, &h, &bytes);
	int		 mine = pcapfile_next(pf, &r);

	if (rc != 1) {
		if (mine != (rc == PCAP_ERROR_BREAK ? 0 : -1) ||
		    (rc == PCAP_ERROR && strcmp(pf->err, pcap_geterr(pc)) != 0))
			abort();
		return 0;
	}
	if (mine != 1 || r.ts_sec != (int64_t)h->ts.tv_sec ||
	    r.ts_usec != (int64_t)h->ts.tv_usec || r.caplen != h->caplen ||
	    r.len != h->len || memcmp(r.data, bytes, h->caplen) != 0)
		abort();
	return 1;
}

/* lib/pcapfile.c against libpcap on the same bytes. */
static void
pcapfile_check(const uint8_t *data, size_t size)
{
	static uint8_t	 buf[PCAPFILE_BUF_MIN];
	char		 ebuf[PCAP_ERRBUF_SIZE];
	struct pcapfile	 pf;
	pcap_t		*pc;
	FILE		*f;
	int		 fd, n = 0;

	if ((fd = memfd_create("fuzz_pcap", 0)) == -1)
		return;
	if (write(fd, data, size) != (ssize_t)size ||
	    !pcapfile_open(&pf, fd, buf, sizeof(buf)) ||
	    (f = fmemopen((void *)data, size, "rb")) == NULL) {
		close(fd);
		return;
	}
	if ((pc = pcap_fopen_offline_with_tstamp_precision(f,
	    PCAP_TSTAMP_PRECISION_MICRO, ebuf)) == NULL)
		fclose(f);
	else {
		while (n++ < MAX_RECORDS && same_record(pc, &pf))
			;
		pcap_close(pc);
	}
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_check check;
	static FILE	*devnull;
	struct pipeline_config pc;
	struct alert_config ac;
	struct detect_sink sinks[2];
	struct pipeline	*p;
	struct alert	*a;
	char		 ebuf[PCAP_ERRBUF_SIZE];
	pcap_t		*pcap;
	FILE		*f;

	if (size == 0)
		return 0;
	pcapfile_check(data, size);
	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	if ((f = fmemopen((void *)data, size, "rb")) == NULL)
		return 0;
	if ((pcap = pcap_fopen_offline_with_tstamp_precision(f,
	    PCAP_TSTAMP_PRECISION_MICRO, ebuf)) == NULL) {
		fclose(f);
		return 0;
	}
	memset(&ac, 0, sizeof(ac));
	ac.stream = devnull;
	ac.rate_limit = 100;
	ac.rate_interval_s = 60;
	fuzz_pipeline_config(&pc, 0);
	fuzz_sink_init(&check, &sinks[0]);
	if ((a = alert_new(&ac)) == NULL) {
		pcap_close(pcap);
		return 0;
	}
	alert_sink(a, &sinks[1]);
	if ((p = pipeline_new(&pc, sinks, 2)) != NULL) {
		run(pcap, p);
		pipeline_finish(p);
		pipeline_free(p);
	}
	alert_free(a);
	pcap_close(pcap);	/* closes f */
	return 0;
}
