/*
 * pcapfile.c: reads the records of a classic pcap file out of one large
 * buffer, in place, the way libpcap's reader would return them.
 *
 * The buffer is filled by pread(2) at the reader's own offset (libpcap's
 * stdio stream on the same descriptor has read the file header and moved
 * the shared offset). A record is handed out where it lies; only the
 * unread tail of the buffer, less than one record, is moved to the front
 * before the next fill. Every length comes from the file, so each one is
 * checked against what the buffer holds before a byte is read.
 */
#include <byteswap.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "pcapfile.h"

#define MAGIC_USEC	0xa1b2c3d4u	/* microsecond timestamps */
#define MAGIC_NSEC	0xa1b23c4du	/* nanosecond timestamps */
#define VERSION_MAJOR	2
#define VERSION_MINOR	4
#define LINKTYPE_MASK	0x03ffffffu	/* the rest: FCS length bits */

static uint32_t
get32(const struct pcapfile *pf, const uint8_t *p)
{
	uint32_t	 v;

	memcpy(&v, p, 4);
	return pf->swapped ? bswap_32(v) : v;
}

static uint16_t
get16(const struct pcapfile *pf, const uint8_t *p)
{
	uint16_t	 v;

	memcpy(&v, p, 2);
	return pf->swapped ? bswap_16(v) : v;
}

/*
 * A timestamp field as libpcap 1.10 hands it on: signed in a file of this
 * machine's byte order, unsigned in one of the other (its byte swap
 * yields an unsigned value). Times past 2038 and garbage then come out as
 * they did through libpcap, so a file gives the same sessions either way.
 */
static int64_t
ts_field(const struct pcapfile *pf, const uint8_t *p)
{
	int32_t		 sv;

	if (pf->swapped)
		return get32(pf, p);
	memcpy(&sv, p, 4);	/* ours: read as the signed field it is */
	return sv;
}

/* The magic number in the writer's byte order says ours or not. */
static int
magic(struct pcapfile *pf, const uint8_t *hdr)
{
	uint32_t	 m;

	memcpy(&m, hdr, 4);
	if (m == bswap_32(MAGIC_USEC) || m == bswap_32(MAGIC_NSEC)) {
		pf->swapped = 1;
		m = bswap_32(m);
	}
	if (m != MAGIC_USEC && m != MAGIC_NSEC)
		return 0;
	pf->nano = m == MAGIC_NSEC;
	return 1;
}

int
pcapfile_open(struct pcapfile *pf, int fd, uint8_t *buf, size_t cap)
{
	uint8_t		 hdr[PCAPFILE_HDR_LEN];
	uint32_t	 snaplen;

	memset(pf, 0, sizeof(*pf));
	if (buf == NULL || cap < PCAPFILE_BUF_MIN ||
	    pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    !magic(pf, hdr) || get16(pf, hdr + 4) != VERSION_MAJOR ||
	    get16(pf, hdr + 6) != VERSION_MINOR ||
	    !decode_link_supported((int)(get32(pf, hdr + 20) &
	    LINKTYPE_MASK)))
		return 0;
	/* As libpcap 1.10 takes it: not positive as an int means the limit. */
	snaplen = get32(pf, hdr + 16);
	if (snaplen == 0 || snaplen > INT32_MAX)
		snaplen = PCAPFILE_MAX_CAPLEN;
	pf->snaplen = snaplen;
	pf->fd = fd;
	pf->foff = PCAPFILE_HDR_LEN;
	pf->buf = buf;
	pf->cap = cap;
	return 1;
}

/*
 * Make want (<= cap) unread bytes available if the file has them: 1, 0 if
 * the file ends first, -1 on a read error. The unread tail, less than a
 * record, moves to the front, then the rest of the buffer is read.
 */
static int
refill(struct pcapfile *pf, size_t want)
{
	ssize_t		 n;

	memmove(pf->buf, pf->buf + pf->off, pf->end - pf->off);
	pf->end -= pf->off;
	pf->off = 0;
	while (pf->end < want && !pf->eof) {
		n = pread(pf->fd, pf->buf + pf->end, pf->cap - pf->end,
		    (off_t)pf->foff);
		if (n < 0) {
			snprintf(pf->err, sizeof(pf->err),
			    "error reading dump file: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			pf->eof = 1;
		pf->end += (size_t)n;
		pf->foff += (uint64_t)n;
	}
	return pf->end >= want;
}

/* refill() when the buffer does not hold want bytes already. */
static inline int
fill(struct pcapfile *pf, size_t want)
{
	return pf->end - pf->off >= want ? 1 : refill(pf, want);
}

/* A record header and the captured length it claims, checked. */
static int
record_header(struct pcapfile *pf, uint32_t *caplen)
{
	int		 rc;

	if ((rc = fill(pf, PCAPFILE_REC_HDR_LEN)) != 1) {
		if (rc == 0 && pf->end > pf->off) {
			snprintf(pf->err, sizeof(pf->err), "truncated dump "
			    "file; tried to read %d header bytes, only got %zu",
			    PCAPFILE_REC_HDR_LEN, pf->end - pf->off);
			return -1;
		}
		return rc;
	}
	*caplen = get32(pf, pf->buf + pf->off + 8);
	if (*caplen > PCAPFILE_MAX_CAPLEN) {
		if (*caplen > pf->snaplen)
			snprintf(pf->err, sizeof(pf->err), "invalid packet "
			    "capture length %u, bigger than snaplen of %u",
			    *caplen, pf->snaplen);
		else
			snprintf(pf->err, sizeof(pf->err), "invalid packet "
			    "capture length %u, bigger than maximum of %u",
			    *caplen, PCAPFILE_MAX_CAPLEN);
		return -1;
	}
	return 1;
}

/*
 * The file ends inside a record's bytes. libpcap reads a record longer
 * than the snapshot length in two steps, and names the one that failed.
 */
static void
truncated(struct pcapfile *pf, uint32_t caplen)
{
	size_t		 got = pf->end - pf->off - PCAPFILE_REC_HDR_LEN;
	uint32_t	 tried = caplen;

	if (caplen > pf->snaplen && got < pf->snaplen)
		tried = pf->snaplen;
	snprintf(pf->err, sizeof(pf->err), "truncated dump file; tried to "
	    "read %u captured bytes, only got %zu", tried, got);
}

int
pcapfile_next(struct pcapfile *pf, struct pcapfile_rec *r)
{
	const uint8_t	*h;
	uint32_t	 caplen;
	int		 rc;

	if ((rc = record_header(pf, &caplen)) != 1)
		return rc;
	if ((rc = fill(pf, PCAPFILE_REC_HDR_LEN + (size_t)caplen)) != 1) {
		if (rc == 0)
			truncated(pf, caplen);
		return -1;
	}
	h = pf->buf + pf->off;
	r->ts_sec = ts_field(pf, h);
	r->ts_usec = ts_field(pf, h + 4);
	if (pf->nano)
		r->ts_usec /= 1000;
	r->len = get32(pf, h + 12);
	/* A record longer than the file's snapshot length is cut to it. */
	r->caplen = caplen > pf->snaplen ? pf->snaplen : caplen;
	r->data = h + PCAPFILE_REC_HDR_LEN;
	pf->off += PCAPFILE_REC_HDR_LEN + (size_t)caplen;
	return 1;
}
