/*
 * capture.c: opens libpcap handles, live or from a file, compiles the
 * capture filter, widened so tagged, tunnelled and fragmented mail traffic
 * still reaches the decoder, and joins the workers' fanout group.
 */
#include <sys/socket.h>

#include <linux/if_packet.h>

#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>

#include "fanout.h"
#include "sensor.h"

/*
 * Clauses added to the user's filter F when filter_encapsulated is on. A
 * plain "tcp port 25" misses every tunnel (GRE, ERSPAN, VXLAN), every
 * non-first IP fragment, TCP behind IPv6 extension headers ("tcp" only
 * looks at the fixed header's next header) and MPLS- or VLAN-tagged frames
 * in capture files. Tunnels, MPLS and IPv6 extension-header chains are
 * passed whole: their inner ports are at offsets a classic BPF program
 * without loops cannot reach (libpcap's "protochain" needs a backward
 * jump), and such packets are rare enough to let through; the decoder
 * walks them. Each clause is kept only if it compiles for the link type
 * (DLT_RAW knows no "ether proto").
 */
static const char *const widen[] = {
	"ip proto 47",					/* GRE, ERSPAN */
	"udp dst port 4789",				/* VXLAN */
	"ip[6:2] & 0x3fff != 0",			/* IPv4 fragment */
	"ip6 and ip6[6] == 44",				/* IPv6 fragment */
	"ip6 and (ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 60)", /* hop-by-hop,
							   routing, destination
							   options first */
	"ether proto 0x8847 or ether proto 0x8848",	/* MPLS */
};

/*
 * Open a capture file. A classic pcap file (pcapfile.h) is read straight
 * out of buf (buflen bytes) when pf is given: *direct is then set, and
 * libpcap only reads its header. Any other stream reads through buf:
 * stdio's default is one 4 KiB read(2) per block, and on a large file
 * those system calls cost about as much as everything stripwatch does with
 * the packets. buf must stay valid until pcap_close(). "-" is stdin, as
 * for pcap_open_offline(), and always goes through libpcap.
 */
pcap_t *
capture_open_file(const char *path, char *buf, size_t buflen,
    struct pcapfile *pf, int *direct, char *err, size_t len)
{
	char	 ebuf[PCAP_ERRBUF_SIZE];
	FILE	*fp;
	pcap_t	*p;

	*direct = 0;
	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fp != stdin && pf != NULL)
		*direct = pcapfile_open(pf, fileno(fp), (uint8_t *)buf, buflen);
	if (!*direct && buf != NULL &&
	    setvbuf(fp, buf, _IOFBF, buflen) != 0) {
		snprintf(err, len, "%s: setvbuf: %s", path, strerror(errno));
		goto fail;
	}
	/*
	 * Only the capture thread reads the stream; stdio need not lock it
	 * for each of libpcap's two reads per packet (it does once the
	 * process has a second thread, the database writer).
	 */
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	/* On success the handle owns fp: pcap_close() closes it. */
	p = pcap_fopen_offline_with_tstamp_precision(fp,
	    PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (p != NULL)
		return p;
	snprintf(err, len, "%s: %s", path, ebuf);
fail:
	if (fp != stdin)
		fclose(fp);
	*direct = 0;
	return NULL;
}

static int
activate_check(pcap_t *p, int rc, const char *what, char *err, size_t len)
{
	if (rc == 0)
		return 0;
	snprintf(err, len, "%s: %s", what, pcap_geterr(p));
	return -1;
}

pcap_t *
capture_open_live(const struct config *c, char *err, size_t len)
{
	char	 ebuf[PCAP_ERRBUF_SIZE];
	pcap_t	*p;
	int	 rc;

	if ((p = pcap_create(c->interface, ebuf)) == NULL) {
		snprintf(err, len, "%s: %s", c->interface, ebuf);
		return NULL;
	}
	if (activate_check(p, pcap_set_snaplen(p, (int)c->snaplen),
	    "snaplen", err, len) == -1 ||
	    activate_check(p, pcap_set_promisc(p, (int)c->promisc),
	    "promisc", err, len) == -1 ||
	    activate_check(p, pcap_set_buffer_size(p, (int)c->buffer_size),
	    "buffer_size", err, len) == -1 ||
	    activate_check(p, pcap_set_timeout(p, (int)c->capture_timeout_ms),
	    "capture_timeout_ms", err, len) == -1 ||
	    activate_check(p, pcap_set_immediate_mode(p, (int)c->immediate),
	    "immediate", err, len) == -1) {
		pcap_close(p);
		return NULL;
	}
	rc = pcap_activate(p);
	if (rc < 0) {
		snprintf(err, len, "%s: %s", c->interface,
		    rc == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(rc));
		pcap_close(p);
		return NULL;
	}
	if (rc > 0)	/* a warning: capture works, say why it is odd */
		fprintf(stderr, "stripwatch: %s: %s\n", c->interface,
		    pcap_statustostr(rc));
	if (pcap_setnonblock(p, 1, ebuf) == -1) {
		snprintf(err, len, "%s: %s", c->interface, ebuf);
		pcap_close(p);
		return NULL;
	}
	return p;
}

static int
compiles(pcap_t *p, const char *expr)
{
	struct bpf_program prog;

	if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) == -1)
		return 0;
	pcap_freecode(&prog);
	return 1;
}

/*
 * "(F) or (clause)...": with every clause (all) or with those that
 * compile for p.
 */
static void
widen_inner(pcap_t *p, const char *f, int all, char *out, size_t len)
{
	size_t	 i, used;

	used = (size_t)snprintf(out, len, "(%s)", f);
	for (i = 0; i < sizeof(widen) / sizeof(widen[0]); i++) {
		if (!all && !compiles(p, widen[i]))
			continue;
		if (used + strlen(widen[i]) + 8 >= len)
			break;
		used += (size_t)snprintf(out + used, len - used, " or (%s)",
		    widen[i]);
	}
}

/*
 * I or (vlan and (I or (vlan and (I)))), I the widened filter. In libpcap,
 * "vlan" moves the offsets of everything after it, even across "or": the
 * tagged alternatives must come last, each nested inside the one before.
 */
static void
widen_tagged(const char *inner, char *out, size_t len)
{
	snprintf(out, len, "%s or (vlan and (%s or (vlan and (%s))))", inner,
	    inner, inner);
}

/*
 * Compile filter for p into prog, widened when asked; the expression
 * goes to expr. Ethernet, where every clause applies, takes one
 * compilation (each costs about half a million instructions); other link
 * types fall back to trying the clauses one by one. -1 with a message if
 * the filter itself does not compile.
 */
static int
filter_compile(pcap_t *p, const char *filter, int widened,
    struct bpf_program *prog, char *expr, size_t exprlen, char *err,
    size_t len)
{
	char	 inner[4 * CONFIG_STR_MAX];

	if (widened) {
		widen_inner(p, filter, 1, inner, sizeof(inner));
		widen_tagged(inner, expr, exprlen);
		if (pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN) == 0)
			return 0;
	}
	snprintf(expr, exprlen, "%s", filter);
	if (pcap_compile(p, prog, filter, 1, PCAP_NETMASK_UNKNOWN) == -1) {
		snprintf(err, len, "filter \"%s\": %s", filter, pcap_geterr(p));
		return -1;
	}
	if (!widened)
		return 0;
	pcap_freecode(prog);
	widen_inner(p, filter, 0, inner, sizeof(inner));
	widen_tagged(inner, expr, exprlen);
	if (pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN) == 0)
		return 0;
	snprintf(expr, exprlen, "%s", inner);
	if (pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN) == 0)
		return 0;
	snprintf(err, len, "filter \"%s\": %s", expr, pcap_geterr(p));
	return -1;
}

/*
 * The expression installed for filter on p: the filter itself, widened
 * when asked. -1 with a message if the filter does not compile.
 */
int
capture_filter_expr(pcap_t *p, const char *filter, int widened, char *out,
    size_t outlen, char *err, size_t len)
{
	struct bpf_program prog;

	if (filter_compile(p, filter, widened, &prog, out, outlen, err,
	    len) == -1)
		return -1;
	pcap_freecode(&prog);
	return 0;
}

int
capture_set_filter(pcap_t *p, const char *filter, int widened, char *err,
    size_t len)
{
	struct bpf_program prog;
	char		 expr[CAPTURE_EXPR_MAX];

	if (*filter == '\0')
		return 0;
	if (filter_compile(p, filter, widened, &prog, expr, sizeof(expr), err,
	    len) == -1)
		return -1;
	if (pcap_setfilter(p, &prog) == -1) {
		snprintf(err, len, "setfilter: %s", pcap_geterr(p));
		pcap_freecode(&prog);
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

/*
 * Reading a file with the default filter, widened, installs no BPF
 * program: the pipeline checks the innermost TCP ports itself
 * (mail_ports_only), which lets through what the widened program lets
 * through (tags, tunnels, fragments, IPv6 extension headers reach the
 * decoder either way) without running it on every record. An empty
 * filter has no program either. Live capture keeps the program: there it
 * saves copying every frame out of the kernel.
 */
int
capture_file_needs_bpf(const struct config *c)
{
	if (c->filter[0] == '\0')
		return 0;
	return !c->filter_encapsulated ||
	    strcmp(c->filter, MAIL_PORTS_FILTER) != 0;
}

/*
 * Share the interface's packets among the sockets of one fanout group by
 * mail server (fanout.h): one worker sees every session of a server, so
 * its history judges each session as a single process would, and both
 * directions of a connection land on the same worker. IPv4 fragments are
 * first defragmented by the kernel so they follow their flow. Called after
 * pcap_activate(); every worker passes the same key.
 */
int
capture_join_fanout(pcap_t *p, uint16_t group, uint32_t key, char *err,
    size_t len)
{
	struct sock_filter insn[FANOUT_PROG_MAX];
	struct sock_fprog prog;
	uint32_t type = PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_DEFRAG;
	int	 arg = (int)(group | (type << 16));

	prog.len = (unsigned short)fanout_program(insn, key);
	prog.filter = insn;
	if (setsockopt(pcap_fileno(p), SOL_PACKET, PACKET_FANOUT, &arg,
	    sizeof(arg)) == -1) {
		snprintf(err, len, "PACKET_FANOUT group %u: %s", group,
		    strerror(errno));
		return -1;
	}
	/* The group's program; the later workers install the same one. */
	if (setsockopt(pcap_fileno(p), SOL_PACKET, PACKET_FANOUT_DATA, &prog,
	    sizeof(prog)) == -1) {
		snprintf(err, len, "PACKET_FANOUT_DATA group %u: %s", group,
		    strerror(errno));
		return -1;
	}
	return 0;
}
