/*
 * test_fanout.c: the program that steers packets to capture workers, run
 * by a classic BPF interpreter that sees a packet as the kernel's fanout
 * hook does (data at the link or the network header, the ethertype as
 * SKF_AD_PROTOCOL, a failed load returns 0). One server, all its clients
 * and both directions give one value; servers spread over workers; what
 * cannot be parsed stays symmetric. tests/live-workers.sh checks the same
 * program in the kernel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"
#include "testutil.h"

#define KEY	0x5eed1234u

/* A frame as the hook sees it. */
struct pkt {
	uint8_t		 b[256];
	size_t		 len;
	size_t		 net;		/* network header offset */
	uint16_t	 proto;		/* skb->protocol */
};

/* Load size bytes at k relative to skb data (data at data_off). */
static int
load(const struct pkt *p, size_t data_off, int32_t k, int size,
    uint32_t *out)
{
	size_t	 at;
	int	 i;

	if (k == SKF_AD_OFF + SKF_AD_PROTOCOL) {
		*out = p->proto;
		return 0;
	}
	if (k >= SKF_NET_OFF && k < SKF_AD_OFF)
		at = p->net + (size_t)(k - SKF_NET_OFF);
	else if (k >= 0)
		at = data_off + (size_t)k;
	else
		return -1;
	if (at + (size_t)size > p->len)
		return -1;
	*out = 0;
	for (i = 0; i < size; i++)
		*out = (*out << 8) | p->b[at + (size_t)i];
	return 0;
}

static int
size_of(uint16_t code)
{
	switch (BPF_SIZE(code)) {
	case BPF_W:
		return 4;
	case BPF_H:
		return 2;
	default:
		return 1;
	}
}

static uint32_t
alu(uint16_t code, uint32_t a, uint32_t v)
{
	switch (BPF_OP(code)) {
	case BPF_ADD: return a + v;
	case BPF_SUB: return a - v;
	case BPF_MUL: return a * v;
	case BPF_AND: return a & v;
	case BPF_OR: return a | v;
	case BPF_XOR: return a ^ v;
	case BPF_LSH: return v < 32 ? a << v : 0;
	case BPF_RSH: return v < 32 ? a >> v : 0;
	default: fail_msg("alu op %#x", code);
	}
	return 0;
}

static int
jmp(uint16_t code, uint32_t a, uint32_t v)
{
	switch (BPF_OP(code)) {
	case BPF_JEQ: return a == v;
	case BPF_JGT: return a > v;
	case BPF_JGE: return a >= v;
	case BPF_JSET: return (a & v) != 0;
	default: fail_msg("jump op %#x", code);
	}
	return 0;
}

/* Run prog on p with skb data at data_off; what the kernel would return. */
static uint32_t
run(const struct sock_filter *prog, size_t n, const struct pkt *p,
    size_t data_off)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS], v;
	size_t	 pc = 0;

	memset(M, 0, sizeof(M));
	for (;;) {
		const struct sock_filter *in;

		assert_true(pc < n);
		in = &prog[pc++];
		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
		case BPF_LDX:
			if (BPF_MODE(in->code) == BPF_IMM)
				v = in->k;
			else if (BPF_MODE(in->code) == BPF_MEM) {
				assert_true(in->k < BPF_MEMWORDS);
				v = M[in->k];
			} else if (load(p, data_off, (int32_t)in->k +
			    (BPF_MODE(in->code) == BPF_IND ? (int32_t)X : 0),
			    size_of(in->code), &v) == -1)
				return 0;
			if (BPF_CLASS(in->code) == BPF_LD)
				A = v;
			else
				X = v;
			break;
		case BPF_ST:
		case BPF_STX:
			assert_true(in->k < BPF_MEMWORDS);
			M[in->k] = BPF_CLASS(in->code) == BPF_ST ? A : X;
			break;
		case BPF_ALU:
			A = alu(in->code, A, BPF_SRC(in->code) == BPF_X ? X :
			    in->k);
			break;
		case BPF_JMP:
			if (BPF_OP(in->code) == BPF_JA)
				pc += in->k;
			else
				pc += jmp(in->code, A, BPF_SRC(in->code) ==
				    BPF_X ? X : in->k) ? in->jt : in->jf;
			break;
		case BPF_RET:
			return BPF_RVAL(in->code) == BPF_A ? A : in->k;
		case BPF_MISC:
			if (BPF_MISCOP(in->code) == BPF_TAX)
				X = A;
			else
				A = X;
			break;
		default:
			fail_msg("class %#x", in->code);
		}
	}
}

struct prog {
	struct sock_filter insn[FANOUT_PROG_MAX];
	size_t		 n;
};

/* What the hook returns, checked to be the same wherever data starts. */
static uint32_t
steer(const struct prog *pr, const struct pkt *p)
{
	uint32_t at_link = run(pr->insn, pr->n, p, 0);
	uint32_t at_net = run(pr->insn, pr->n, p, p->net);

	assert_int_equal(at_link, at_net);
	return at_net;
}

/* Ethernet, then IPv4 (ihl words, frag field) carrying a TCP header. */
static void
ip4(struct pkt *p, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, uint8_t proto, int ihl, uint16_t frag)
{
	uint8_t	*ip = p->b + 14;
	size_t	 hl = (size_t)ihl * 4;

	memset(p, 0, sizeof(*p));
	tu_be16(p->b + 12, 0x0800);
	p->proto = 0x0800;
	p->net = 14;
	ip[0] = (uint8_t)(0x40 | ihl);
	tu_be16(ip + 6, frag);
	ip[9] = proto;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	memset(ip + 20, 1, hl - 20);	/* options: NOPs */
	tu_tcp(ip + hl, sport, dport, 1, 2, 0x18, NULL, 0);
	p->len = 14 + hl + 20;
	tu_be16(ip + 2, (uint16_t)(hl + 20));
}

static void
tcp4(struct pkt *p, const char *src, uint16_t sport, const char *dst,
    uint16_t dport)
{
	ip4(p, src, sport, dst, dport, 6, 5, 0x4000);
}

/* Ethernet, IPv6, next headers next[0..n-1] (8 bytes each but the
 * first, 16), then TCP. */
static void
tcp6(struct pkt *p, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, const uint8_t *next, int n)
{
	uint8_t	*ip = p->b + 14, *h = ip + 40;
	int	 i;

	memset(p, 0, sizeof(*p));
	tu_be16(p->b + 12, 0x86dd);
	p->proto = 0x86dd;
	p->net = 14;
	ip[0] = 0x60;
	ip[6] = n > 0 ? next[0] : 6;
	inet_pton(AF_INET6, src, ip + 8);
	inet_pton(AF_INET6, dst, ip + 24);
	for (i = 0; i < n; i++) {
		size_t	 len = i == 0 ? 16 : 8;

		h[0] = i + 1 < n ? next[i + 1] : 6;
		h[1] = (uint8_t)(len / 8 - 1);
		h += len;
	}
	tu_tcp(h, sport, dport, 1, 2, 0x18, NULL, 0);
	p->len = (size_t)(h - p->b) + 20;
}

static int
setup(void **state)
{
	static struct prog pr;

	pr.n = fanout_program(pr.insn, KEY);
	*state = &pr;
	return 0;
}

static void
test_program_shape(void **state)
{
	const struct prog *pr = *state;
	size_t	 i;

	assert_true(pr->n > 0 && pr->n <= FANOUT_PROG_MAX);
	assert_true(pr->n <= BPF_MAXINSNS);
	assert_int_equal(BPF_CLASS(pr->insn[pr->n - 1].code), BPF_RET);
	/* Every jump lands inside the program. */
	for (i = 0; i < pr->n; i++) {
		const struct sock_filter *in = &pr->insn[i];

		if (BPF_CLASS(in->code) != BPF_JMP)
			continue;
		if (BPF_OP(in->code) == BPF_JA)
			assert_true(i + 1 + in->k < pr->n);
		else
			assert_true(i + 1 + (in->jt > in->jf ? in->jt :
			    in->jf) < pr->n);
	}
}

/* Both directions, every client, options or not: one value. */
static void
test_ipv4_server(void **state)
{
	const struct prog *pr = *state;
	struct pkt	 p;
	uint32_t	 v, w;
	char		 client[32];
	int		 i;

	tcp4(&p, "192.0.2.10", 40000, "198.51.100.25", 25);
	v = steer(pr, &p);
	tcp4(&p, "198.51.100.25", 25, "192.0.2.10", 40000);
	assert_int_equal(steer(pr, &p), v);
	for (i = 0; i < 200; i++) {
		snprintf(client, sizeof(client), "10.%d.%d.7", i / 7, i % 250);
		tcp4(&p, client, (uint16_t)(1024 + 300 * i), "198.51.100.25",
		    25);
		assert_int_equal(steer(pr, &p), v);
		tcp4(&p, "198.51.100.25", 25, client, (uint16_t)(1024 +
		    300 * i));
		assert_int_equal(steer(pr, &p), v);
	}
	ip4(&p, "192.0.2.99", 51000, "198.51.100.25", 25, 6, 15, 0);
	assert_int_equal(steer(pr, &p), v);
	/* The lower port names the server, whatever the port is. */
	tcp4(&p, "198.51.100.25", 2525, "192.0.2.10", 3000);
	assert_int_equal(steer(pr, &p), v);
	/* Another server, another value (for this key). */
	tcp4(&p, "192.0.2.10", 40000, "198.51.100.26", 25);
	w = steer(pr, &p);
	assert_true(w != v);
}

static void
test_ipv6_server(void **state)
{
	const struct prog *pr = *state;
	static const uint8_t ext3[] = { 0, 43, 60 }, ext4[] = { 0, 60, 43, 60 },
	    frag[] = { 44 };
	struct pkt	 p;
	uint32_t	 v, pair;

	tcp6(&p, "2001:db8:1::10", 40000, "2001:db8:2::25", 25, NULL, 0);
	v = steer(pr, &p);
	tcp6(&p, "2001:db8:2::25", 25, "2001:db8:1::77", 50000, NULL, 0);
	assert_int_equal(steer(pr, &p), v);
	tcp6(&p, "2001:db8:1::10", 40000, "2001:db8:2::25", 25, ext3,
	    FANOUT_EXT_MAX);
	assert_int_equal(steer(pr, &p), v);
	tcp6(&p, "2001:db8:2::25", 25, "2001:db8:1::10", 40000, ext3, 1);
	assert_int_equal(steer(pr, &p), v);
	tcp6(&p, "2001:db8:1::10", 40000, "2001:db8:2::26", 25, NULL, 0);
	assert_true(steer(pr, &p) != v);
	/* Beyond FANOUT_EXT_MAX, or a fragment: both addresses, both ways. */
	tcp6(&p, "2001:db8:1::10", 40000, "2001:db8:2::25", 25, ext4, 4);
	pair = steer(pr, &p);
	tcp6(&p, "2001:db8:2::25", 25, "2001:db8:1::10", 40000, ext4, 4);
	assert_int_equal(steer(pr, &p), pair);
	tcp6(&p, "2001:db8:2::25", 25, "2001:db8:1::10", 40000, frag, 1);
	assert_int_equal(steer(pr, &p), pair);
	tcp6(&p, "2001:db8:1::10", 1, "2001:db8:2::25", 2, frag, 1);
	assert_int_equal(steer(pr, &p), pair);
}

/* Fragments, equal ports, other protocols: symmetric in the addresses. */
static void
test_fallbacks_symmetric(void **state)
{
	const struct prog *pr = *state;
	struct pkt	 p;
	uint32_t	 pair;

	ip4(&p, "192.0.2.10", 40000, "198.51.100.25", 25, 6, 5, 0x2000);
	pair = steer(pr, &p);
	ip4(&p, "198.51.100.25", 9, "192.0.2.10", 9, 6, 5, 0x0010);
	assert_int_equal(steer(pr, &p), pair);
	tcp4(&p, "198.51.100.25", 25, "192.0.2.10", 25);
	assert_int_equal(steer(pr, &p), pair);
	tcp4(&p, "192.0.2.10", 25, "198.51.100.25", 25);
	assert_int_equal(steer(pr, &p), pair);
	ip4(&p, "192.0.2.10", 1, "198.51.100.25", 2, 47, 5, 0x4000); /* GRE */
	assert_int_equal(steer(pr, &p), pair);
	ip4(&p, "198.51.100.25", 3, "192.0.2.10", 4, 17, 5, 0);	/* UDP */
	assert_int_equal(steer(pr, &p), pair);
}

/* Not IP once the kernel took one VLAN tag off: the first worker. */
static void
test_not_ip(void **state)
{
	const struct prog *pr = *state;
	struct pkt	 p;

	tcp4(&p, "192.0.2.10", 40000, "198.51.100.25", 25);
	p.proto = 0x8100;		/* a second tag */
	assert_int_equal(steer(pr, &p), 0);
	p.proto = 0x8847;		/* MPLS */
	assert_int_equal(steer(pr, &p), 0);
	p.proto = 0x0800;
	p.len = 14 + 20 + 1;		/* cut inside the ports */
	assert_int_equal(steer(pr, &p), 0);
}

/* Servers spread: every worker of 2, 3 and 4 gets about its share. */
static void
test_spread(void **state)
{
	const struct prog *pr = *state;
	struct pkt	 p;
	char		 server[32];
	int		 count[3][4], i, w, n;

	memset(count, 0, sizeof(count));
	for (i = 0; i < 1200; i++) {
		snprintf(server, sizeof(server), "198.51.%d.%d", i / 200,
		    i % 200);
		tcp4(&p, "192.0.2.10", 40000, server, 25);
		for (n = 2; n <= 4; n++)
			count[n - 2][steer(pr, &p) % (uint32_t)n]++;
	}
	for (n = 2; n <= 4; n++)
		for (w = 0; w < n; w++)
			assert_in_range(count[n - 2][w], 1200 / n * 8 / 10,
			    1200 / n * 12 / 10);
}

/* The key changes which server goes where. */
static void
test_keyed(void **state)
{
	const struct prog *pr = *state;
	struct prog	 other;
	struct pkt	 p;
	char		 server[32];
	int		 i, moved = 0;

	other.n = fanout_program(other.insn, KEY ^ 0x80000001u);
	for (i = 0; i < 64; i++) {
		snprintf(server, sizeof(server), "198.51.100.%d", i);
		tcp4(&p, "192.0.2.10", 40000, server, 25);
		moved += steer(pr, &p) % 2 != steer(&other, &p) % 2;
	}
	assert_true(moved > 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_program_shape),
		cmocka_unit_test(test_ipv4_server),
		cmocka_unit_test(test_ipv6_server),
		cmocka_unit_test(test_fallbacks_symmetric),
		cmocka_unit_test(test_not_ip),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_keyed),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
