/*
 * fanout.h: the classic BPF program that shares a mirror port's packets
 * among capture workers (PACKET_FANOUT_CBPF) by mail server: every packet
 * to or from one server address, both directions of every connection,
 * goes to the same worker, so one worker's server history sees all of
 * that server's sessions.
 *
 * The program returns a 32-bit hash; the kernel takes it modulo the
 * number of sockets in the group. The server of a TCP packet is the
 * endpoint with the lower port (as the flow table decides when it saw no
 * SYN). The key, by packet:
 *
 *   TCP over IPv4, or over IPv6 after up to FANOUT_EXT_MAX hop-by-hop,
 *   routing or destination options headers: the server address.
 *
 *   Other IP packets (equal ports, fragments, other extension headers,
 *   other protocols, so tunnels by their outer header): both addresses,
 *   symmetric, so both directions still go together, though maybe not to
 *   the server's worker.
 *
 *   Not IP once the kernel removed one VLAN tag (a second tag, MPLS,
 *   PPPoE): 0, the first worker.
 *
 * Every address is read relative to the network header (SKF_NET_OFF),
 * never the start of the data: when the fanout program runs, a received
 * packet's data starts at its network header but a sent one's at its
 * link header (measured: veth and lo, Linux 6.x).
 */
#ifndef STRIPWATCH_FANOUT_H
#define STRIPWATCH_FANOUT_H

#include <linux/filter.h>

#include <stddef.h>
#include <stdint.h>

/* IPv6 extension headers skipped to reach TCP; more is a fallback. */
#define FANOUT_EXT_MAX	3
/* Instructions of the program at most (BPF_MAXINSNS is 4096). */
#define FANOUT_PROG_MAX	192

/*
 * Write the program, keyed with key (pick it at random: crafted
 * addresses then cannot aim at one worker), into prog, which holds
 * FANOUT_PROG_MAX instructions. Returns the number of instructions.
 * Every worker of a group must install the same program.
 */
size_t	fanout_program(struct sock_filter *prog, uint32_t key);

#endif
