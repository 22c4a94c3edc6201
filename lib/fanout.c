/*
 * fanout.c: writes the classic BPF program that steers each mail server's
 * packets to one capture worker (see fanout.h for what it keys on and
 * why). A small assembler with forward labels keeps the program readable.
 */
#include <stdlib.h>
#include <string.h>

#include "fanout.h"

#define NET(off)	((uint32_t)(SKF_NET_OFF + (off)))
#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_IPV6	0x86dd
#define PROTO_TCP	6
#define IP6_HOPOPTS	0
#define IP6_ROUTING	43
#define IP6_DSTOPTS	60

/* Mixing constants: the golden ratio, then MurmurHash3's finalizer. */
#define MIX_WORD	0x9e3779b1u
#define MIX_FINAL1	0x85ebca6bu
#define MIX_FINAL2	0xc2b2ae35u

/* Scratch memory words. */
enum { M_FAMILY, M_SPORT, M_LEN, M_NEXT, M_OFF, M_HASH };

enum label {
	L_V4, L_V6, L_NONIP, L_PORTS, L_SRC, L_DST, L_PAIR, L_SRC4, L_DST4,
	L_PAIR4, L_ONE, L_ADDR6, L_PAIR6, L_FINAL,
	L_EXT,			/* L_EXT + i: the i-th extension header */
	L_NLABELS = L_EXT + FANOUT_EXT_MAX
};

#define NOWHERE	(-1)		/* a jump branch that falls through */

struct fixup {
	size_t		 at;		/* instruction */
	int		 jt, jf;	/* labels, or NOWHERE */
};

struct asm {
	struct sock_filter *p;
	size_t		 n;
	long		 label[L_NLABELS];	/* instruction, -1 = unset */
	struct fixup	 fix[FANOUT_PROG_MAX];
	size_t		 nfix;
	int		 bad;
};

static void
op(struct asm *a, uint16_t code, uint32_t k)
{
	if (a->n >= FANOUT_PROG_MAX) {
		a->bad = 1;
		return;
	}
	a->p[a->n].code = code;
	a->p[a->n].jt = a->p[a->n].jf = 0;
	a->p[a->n].k = k;
	a->n++;
}

static void
here(struct asm *a, enum label l)
{
	a->label[l] = (long)a->n;
}

/* Conditional jump: to jt if the test holds, else to jf (forward). */
static void
jump(struct asm *a, uint16_t code, uint32_t k, int jt, int jf)
{
	if (a->nfix >= FANOUT_PROG_MAX) {
		a->bad = 1;
		return;
	}
	a->fix[a->nfix].at = a->n;
	a->fix[a->nfix].jt = jt;
	a->fix[a->nfix].jf = jf;
	a->nfix++;
	op(a, BPF_JMP | code, k);
}

/* Unconditional: ja has a 32-bit offset, so any distance. */
static void
go(struct asm *a, enum label l)
{
	jump(a, BPF_JA, 0, l, NOWHERE);
}

/* Offset from the instruction after `at` to label l; -1 if impossible. */
static long
distance(const struct asm *a, size_t at, int l)
{
	if (l == NOWHERE)
		return 0;
	if (a->label[l] < 0 || a->label[l] <= (long)at)
		return -1;
	return a->label[l] - (long)at - 1;
}

static int
resolve(struct asm *a)
{
	struct sock_filter *in;
	size_t		 i;
	long		 t, f;

	for (i = 0; i < a->nfix; i++) {
		in = &a->p[a->fix[i].at];
		t = distance(a, a->fix[i].at, a->fix[i].jt);
		f = distance(a, a->fix[i].at, a->fix[i].jf);
		if (t < 0 || f < 0)
			return -1;
		if (BPF_OP(in->code) == BPF_JA)
			in->k = (uint32_t)t;
		else if (t > 255 || f > 255)
			return -1;
		else {
			in->jt = (uint8_t)t;
			in->jf = (uint8_t)f;
		}
	}
	return 0;
}

/* IPv4: TCP not fragmented reaches L_PORTS with X = the header length. */
static void
ipv4(struct asm *a)
{
	here(a, L_V4);
	op(a, BPF_LD | BPF_B | BPF_ABS, NET(9));
	jump(a, BPF_JEQ | BPF_K, PROTO_TCP, NOWHERE, L_PAIR4);
	op(a, BPF_LD | BPF_H | BPF_ABS, NET(6));
	jump(a, BPF_JSET | BPF_K, 0x3fff, L_PAIR4, NOWHERE);
	op(a, BPF_LD | BPF_B | BPF_ABS, NET(0));
	op(a, BPF_ALU | BPF_AND | BPF_K, 0x0f);
	op(a, BPF_ALU | BPF_LSH | BPF_K, 2);
	op(a, BPF_MISC | BPF_TAX, 0);
	op(a, BPF_LD | BPF_IMM, 4);
	op(a, BPF_ST, M_FAMILY);
	go(a, L_PORTS);
}

/*
 * IPv6: skip up to FANOUT_EXT_MAX extension headers of known length
 * ((len + 1) * 8 bytes); TCP reaches L_PORTS with X = its offset.
 */
static void
ipv6(struct asm *a)
{
	int	 i;

	here(a, L_V6);
	op(a, BPF_LD | BPF_IMM, 6);
	op(a, BPF_ST, M_FAMILY);
	op(a, BPF_LDX | BPF_IMM, 40);
	op(a, BPF_LD | BPF_B | BPF_ABS, NET(6));
	for (i = 0; i < FANOUT_EXT_MAX; i++) {
		jump(a, BPF_JEQ | BPF_K, PROTO_TCP, L_PORTS, NOWHERE);
		jump(a, BPF_JEQ | BPF_K, IP6_HOPOPTS, L_EXT + i, NOWHERE);
		jump(a, BPF_JEQ | BPF_K, IP6_ROUTING, L_EXT + i, NOWHERE);
		jump(a, BPF_JEQ | BPF_K, IP6_DSTOPTS, L_EXT + i, L_PAIR6);
		here(a, L_EXT + i);
		op(a, BPF_LD | BPF_B | BPF_IND, NET(1));
		op(a, BPF_ALU | BPF_ADD | BPF_K, 1);
		op(a, BPF_ALU | BPF_LSH | BPF_K, 3);
		op(a, BPF_ST, M_LEN);
		op(a, BPF_LD | BPF_B | BPF_IND, NET(0));
		op(a, BPF_ST, M_NEXT);
		op(a, BPF_LD | BPF_MEM, M_LEN);
		op(a, BPF_ALU | BPF_ADD | BPF_X, 0);
		op(a, BPF_MISC | BPF_TAX, 0);
		op(a, BPF_LD | BPF_MEM, M_NEXT);
	}
	jump(a, BPF_JEQ | BPF_K, PROTO_TCP, L_PORTS, L_PAIR6);
}

/* The lower port names the server; equal ports name no one. */
static void
ports(struct asm *a)
{
	here(a, L_PORTS);
	op(a, BPF_LD | BPF_H | BPF_IND, NET(0));
	op(a, BPF_ST, M_SPORT);
	op(a, BPF_LD | BPF_H | BPF_IND, NET(2));
	op(a, BPF_LDX | BPF_MEM, M_SPORT);
	jump(a, BPF_JGT | BPF_X, 0, L_SRC, NOWHERE);
	jump(a, BPF_JEQ | BPF_X, 0, L_PAIR, L_DST);
	here(a, L_SRC);
	op(a, BPF_LD | BPF_MEM, M_FAMILY);
	jump(a, BPF_JEQ | BPF_K, 4, L_SRC4, NOWHERE);
	op(a, BPF_LDX | BPF_IMM, 8);
	go(a, L_ADDR6);
	here(a, L_DST);
	op(a, BPF_LD | BPF_MEM, M_FAMILY);
	jump(a, BPF_JEQ | BPF_K, 4, L_DST4, NOWHERE);
	op(a, BPF_LDX | BPF_IMM, 24);
	go(a, L_ADDR6);
	here(a, L_PAIR);
	op(a, BPF_LD | BPF_MEM, M_FAMILY);
	jump(a, BPF_JEQ | BPF_K, 4, L_PAIR4, L_PAIR6);
}

/* One 32-bit word, an IPv4 address or the sum of two: mix with the key. */
static void
hash_ipv4(struct asm *a, uint32_t key)
{
	here(a, L_SRC4);
	op(a, BPF_LD | BPF_W | BPF_ABS, NET(12));
	go(a, L_ONE);
	here(a, L_DST4);
	op(a, BPF_LD | BPF_W | BPF_ABS, NET(16));
	go(a, L_ONE);
	here(a, L_PAIR4);	/* the sum: the same both ways */
	op(a, BPF_LD | BPF_W | BPF_ABS, NET(12));
	op(a, BPF_MISC | BPF_TAX, 0);
	op(a, BPF_LD | BPF_W | BPF_ABS, NET(16));
	op(a, BPF_ALU | BPF_ADD | BPF_X, 0);
	here(a, L_ONE);
	op(a, BPF_ALU | BPF_XOR | BPF_K, key);
	op(a, BPF_ALU | BPF_MUL | BPF_K, MIX_WORD);
	go(a, L_FINAL);
}

/* hash = (hash ^ word) * MIX_WORD over the four words of an address
 * (at X), or of the sums of both addresses' words. */
static void
hash_ipv6(struct asm *a, uint32_t key)
{
	uint32_t i;

	here(a, L_ADDR6);
	op(a, BPF_STX, M_OFF);
	op(a, BPF_LD | BPF_IMM, key);
	op(a, BPF_ST, M_HASH);
	for (i = 0; i < 16; i += 4) {
		op(a, BPF_LDX | BPF_MEM, M_OFF);
		op(a, BPF_LD | BPF_W | BPF_IND, NET(i));
		op(a, BPF_MISC | BPF_TAX, 0);
		op(a, BPF_LD | BPF_MEM, M_HASH);
		op(a, BPF_ALU | BPF_XOR | BPF_X, 0);
		op(a, BPF_ALU | BPF_MUL | BPF_K, MIX_WORD);
		op(a, BPF_ST, M_HASH);
	}
	go(a, L_FINAL);
	here(a, L_PAIR6);
	op(a, BPF_LD | BPF_IMM, key);
	op(a, BPF_ST, M_HASH);
	for (i = 0; i < 16; i += 4) {
		op(a, BPF_LD | BPF_W | BPF_ABS, NET(8 + i));
		op(a, BPF_MISC | BPF_TAX, 0);
		op(a, BPF_LD | BPF_W | BPF_ABS, NET(24 + i));
		op(a, BPF_ALU | BPF_ADD | BPF_X, 0);
		op(a, BPF_MISC | BPF_TAX, 0);
		op(a, BPF_LD | BPF_MEM, M_HASH);
		op(a, BPF_ALU | BPF_XOR | BPF_X, 0);
		op(a, BPF_ALU | BPF_MUL | BPF_K, MIX_WORD);
		op(a, BPF_ST, M_HASH);
	}
	op(a, BPF_LD | BPF_MEM, M_HASH);
}

/* x ^= x >> s, the finalizer's step; clobbers X. */
static void
xorshift(struct asm *a, uint32_t s)
{
	op(a, BPF_MISC | BPF_TAX, 0);
	op(a, BPF_ALU | BPF_RSH | BPF_K, s);
	op(a, BPF_ALU | BPF_XOR | BPF_X, 0);
}

/* Spread the bits so that hash modulo any count of workers is even. */
static void
final(struct asm *a)
{
	here(a, L_FINAL);
	xorshift(a, 16);
	op(a, BPF_ALU | BPF_MUL | BPF_K, MIX_FINAL1);
	xorshift(a, 13);
	op(a, BPF_ALU | BPF_MUL | BPF_K, MIX_FINAL2);
	xorshift(a, 16);
	op(a, BPF_RET | BPF_A, 0);
}

size_t
fanout_program(struct sock_filter *prog, uint32_t key)
{
	struct asm	 a;

	memset(&a, 0, sizeof(a));
	memset(a.label, 0xff, sizeof(a.label));
	a.p = prog;
	op(&a, BPF_LD | BPF_H | BPF_ABS, (uint32_t)(SKF_AD_OFF +
	    SKF_AD_PROTOCOL));
	jump(&a, BPF_JEQ | BPF_K, ETHERTYPE_IPV4, L_V4, NOWHERE);
	jump(&a, BPF_JEQ | BPF_K, ETHERTYPE_IPV6, L_V6, L_NONIP);
	here(&a, L_NONIP);
	op(&a, BPF_RET | BPF_K, 0);
	ipv4(&a);
	ipv6(&a);
	ports(&a);
	hash_ipv4(&a, key);
	hash_ipv6(&a, key);
	final(&a);
	/* Our own program: a failure here is a bug, not bad input. */
	if (a.bad || resolve(&a) == -1)
		abort();
	return a.n;
}
