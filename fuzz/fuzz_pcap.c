/*
 * fuzz_pcap.c: libFuzzer harness for a whole capture file. The input is
 * read by libpcap from memory (pcap or pcapng, as the sensor reads -r
 * files) and every record goes through the pipeline with the sensor's
 * once-a-second housekeeping, into the checking sink and the alert sink.
 * The first input byte of a capture is its magic, so the fuzzer cannot pick
 * limits; the default limits are used.
 */
#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "alert.h"
#include "fuzzutil.h"

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
