/*
 * pcapfile.h: the records of a classic pcap file read straight out of a
 * large buffer.
 *
 * libpcap reads a file record by record: two fread() calls and a copy of
 * every packet into its own buffer, which costs about as much as decoding
 * the packet. This reader fills one buffer with large pread() calls and
 * hands out each record in place. It takes only the common format: pcap
 * version 2.4, micro- or nanosecond timestamps, either byte order, a link
 * type decode.c reads, on a file that can be read at an offset. Everything
 * else (pcapng, the old and patched formats, pipes) is left to libpcap,
 * which also validates the file header and names the link type. What it returns for a file is what
 * pcap_next_ex() returns with microsecond precision asked for: the same
 * records, cut to the same length, with the same timestamps, and an error
 * where libpcap has one.
 */
#ifndef STRIPWATCH_PCAPFILE_H
#define STRIPWATCH_PCAPFILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Largest captured length a record may claim: libpcap's limit for every
 * link type decode.c reads (MAXIMUM_SNAPLEN). A larger one is an error.
 */
#define PCAPFILE_MAX_CAPLEN	262144

#define PCAPFILE_HDR_LEN	24	/* file header */
#define PCAPFILE_REC_HDR_LEN	16	/* record header */

/* Smallest buffer: the largest record with its header. */
#define PCAPFILE_BUF_MIN	(PCAPFILE_REC_HDR_LEN + PCAPFILE_MAX_CAPLEN)

struct pcapfile {
	int		 fd;
	uint64_t	 foff;		/* file offset of buf[end] */
	uint8_t		*buf;		/* the caller's */
	size_t		 cap;		/* its size, >= PCAPFILE_BUF_MIN */
	size_t		 off;		/* next unread byte in buf */
	size_t		 end;		/* bytes of buf filled */
	uint32_t	 snaplen;	/* longer records are cut to this */
	uint8_t		 swapped;	/* written in the other byte order */
	uint8_t		 nano;		/* nanosecond timestamps */
	uint8_t		 eof;		/* read(2) found the end */
	char		 err[128];	/* why pcapfile_next() failed */
};

/* One record, as pcap_next_ex() gives it (struct pcap_pkthdr). */
struct pcapfile_rec {
	int64_t		 ts_sec;	/* as libpcap gives them (pcapfile.c) */
	int64_t		 ts_usec;	/* microseconds, whatever the file's
					   precision; not checked < 10^6 */
	uint32_t	 caplen;	/* bytes at data */
	uint32_t	 len;		/* length on the wire */
	const uint8_t	*data;		/* valid until the next call */
};

/*
 * Whether the file open on fd is one this reader takes (its header read
 * with pread(2), so the file offset does not move). If so, pf is set up to
 * read its records into buf (cap bytes, at least PCAPFILE_BUF_MIN, owned
 * by the caller) and returns 1; else 0, and libpcap should read it.
 */
int	pcapfile_open(struct pcapfile *pf, int fd, uint8_t *buf, size_t cap);

/*
 * The next record into *r: 1, 0 at the end of the file, -1 on an error
 * (damaged file, read error) with the reason in pf->err; after -1 or 0,
 * nothing more is read.
 */
int	pcapfile_next(struct pcapfile *pf, struct pcapfile_rec *r);

#endif
