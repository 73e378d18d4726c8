/*
 * srcfilter.c - the kernel-side filter for floods from unknown addresses (see srcfilter.h).
 *
 * Classic BPF, relative to the network header (SKF_NET_OFF). No client matched: accept if a
 * random number (SKF_AD_RANDOM) falls in the sample, else drop. Jumps go only forward and a
 * conditional one at most 255 instructions, so:
 *  - IPv4: the source address is kept in scratch memory; each prefix is load, mask, compare,
 *    and every host entry a single compare, each jumping on a match to the next shared accept,
 *    a "station" placed every couple of hundred instructions (the flow skips over it). So a
 *    list of individual access points costs one instruction each.
 *  - IPv6: the address is kept in scratch memory too; each prefix is a short block that loads
 *    the words it covers, masks the last partial one, compares each (a mismatch skips to the
 *    next block) and ends in its own accept.
 * Loads from the packet (with SKF_NET_OFF) are expensive for the kernel (helper calls once
 * translated) and the kernel bounds a filter's size (net.core.optmem_max), so each word of the
 * address is loaded from the packet once.
 */
#include "srcfilter.h"

#include "conf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ACCEPT 0xffffffffu /* keep the whole datagram */
#define DROP 0u
#define STATION_GAP 240	   /* a compare's shared accept is at most this far ahead */

/* IPv4 source address at offset 12 of its header, IPv6 at 8. */
#define SRC_OFF(family) ((family) == AF_INET ? 12 : 8)

/* A program being written; compares waiting for the next shared accept. */
struct prog {
	struct sock_filter *insn;
	size_t max, n;
	size_t pending[STATION_GAP];
	unsigned n_pending;
	bool full; /* an instruction did not fit */
};

static uint32_t
word_at(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint32_t
mask_of(unsigned bits)
{
	return bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
}

static void
emit(struct prog *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (p->n >= p->max) {
		p->full = true;
		return;
	}
	p->insn[p->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

/* The shared accept for the pending compares; the flow jumps over it. */
static void
station(struct prog *p)
{
	unsigned i;

	if (!p->n_pending)
		return;
	emit(p, BPF_JMP | BPF_JA, 0, 0, 1);
	emit(p, BPF_RET | BPF_K, 0, 0, ACCEPT);
	for (i = 0; i < p->n_pending && !p->full; i++)
		p->insn[p->pending[i]].jt = (uint8_t)(p->n - 1 - p->pending[i] - 1);
	p->n_pending = 0;
}

/* A compare of A with k that jumps to the next station when equal. */
static void
compare_accept(struct prog *p, uint32_t k)
{
	if (p->n_pending && p->n - p->pending[0] >= STATION_GAP - 8)
		station(p);
	if (p->n < p->max)
		p->pending[p->n_pending++] = p->n;
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, k);
}

static void
build_v4(struct prog *p, const struct client *clients, unsigned n)
{
	bool masked = false;
	unsigned i;

	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + SRC_OFF(AF_INET)));
	emit(p, BPF_ST, 0, 0, 0);
	/* Prefixes first: each needs the address back in A before its mask. */
	for (i = 0; i < n; i++) {
		const struct client *c = &clients[i];

		if (c->family != AF_INET || c->prefix >= 32)
			continue;
		if (p->n_pending && p->n - p->pending[0] >= STATION_GAP - 8)
			station(p);
		emit(p, BPF_LD | BPF_MEM, 0, 0, 0);
		emit(p, BPF_ALU | BPF_AND | BPF_K, 0, 0, mask_of(c->prefix));
		compare_accept(p, word_at(c->net) & mask_of(c->prefix));
		masked = true;
	}
	if (masked)
		emit(p, BPF_LD | BPF_MEM, 0, 0, 0);
	for (i = 0; i < n; i++)
		if (clients[i].family == AF_INET && clients[i].prefix >= 32)
			compare_accept(p, word_at(clients[i].net));
	station(p);
}

/*
 * One IPv6 prefix: for each 32-bit word it covers, load (from scratch memory), mask (if
 * partial) and compare; a mismatch jumps past the block's final accept.
 */
static void
build_v6_prefix(struct prog *p, const struct client *cl)
{
	unsigned words = (cl->prefix + 31) / 32, i;
	/* instructions of the block after each compare: the rest of the words, then the accept */
	size_t block = 1;

	for (i = 0; i < words; i++)
		block += cl->prefix >= 32 * (i + 1) ? 2 : 3;
	for (i = 0; i < words; i++) {
		unsigned bits = cl->prefix >= 32 * (i + 1) ? 32 : cl->prefix - 32 * i;

		emit(p, BPF_LD | BPF_MEM, 0, 0, i);
		block--;
		if (bits < 32) {
			emit(p, BPF_ALU | BPF_AND | BPF_K, 0, 0, mask_of(bits));
			block--;
		}
		/* a mismatch skips what follows this compare in the block */
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(block - 1),
		     word_at(cl->net + 4 * i) & mask_of(bits));
		block--;
	}
	emit(p, BPF_RET | BPF_K, 0, 0, ACCEPT);
}

/* The source address into scratch words 0-3 (a load from memory is the kernel's cheapest). */
static void
build_v6(struct prog *p, const struct client *clients, unsigned n)
{
	unsigned i;

	for (i = 0; i < 4; i++) {
		emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0,
		     (uint32_t)(SKF_NET_OFF + SRC_OFF(AF_INET6) + 4 * (int)i));
		emit(p, BPF_ST, 0, 0, i);
	}
	for (i = 0; i < n; i++)
		if (clients[i].family == AF_INET6)
			build_v6_prefix(p, &clients[i]);
}

int
srcfilter_build(const struct client *clients, unsigned n_clients, int family, unsigned sample,
		struct sock_filter *insn, size_t max)
{
	struct prog p = {.insn = insn, .max = max};
	bool any = false;
	unsigned i;

	for (i = 0; i < n_clients; i++) {
		if (clients[i].family != family)
			continue;
		if (clients[i].prefix == 0) {
			/* every address is a client: accept all */
			emit(&p, BPF_RET | BPF_K, 0, 0, ACCEPT);
			return p.full ? -1 : (int)p.n;
		}
		any = true;
	}
	if (any && family == AF_INET)
		build_v4(&p, clients, n_clients);
	else if (any)
		build_v6(&p, clients, n_clients);
	if (sample) {
		/* A = random; one in sample passes (sample is a power of two). */
		emit(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM));
		emit(&p, BPF_ALU | BPF_AND | BPF_K, 0, 0, sample - 1);
		emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
		emit(&p, BPF_RET | BPF_K, 0, 0, ACCEPT);
	}
	emit(&p, BPF_RET | BPF_K, 0, 0, DROP);
	return p.full ? -1 : (int)p.n;
}

int
srcfilter_attach(int fd, int family, const struct client *clients, unsigned n, unsigned sample,
		 char *err, size_t errlen)
{
	struct sock_filter *prog = malloc(SRCFILTER_MAX_INSNS * sizeof(*prog));
	int len = prog ? srcfilter_build(clients, n, family, sample, prog, SRCFILTER_MAX_INSNS)
		       : -1;
	struct sock_fprog fp = {.len = (unsigned short)len, .filter = prog};
	int r = -1;

	if (!prog)
		snprintf(err, errlen, "out of memory");
	else if (len < 0)
		snprintf(err, errlen, "too many client prefixes for a kernel filter");
	else if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0)
		snprintf(err, errlen, "SO_ATTACH_FILTER: %s%s", strerror(errno),
			 errno == ENOMEM ? " (a filter for this many clients needs a larger "
					   "net.core.optmem_max)"
					 : "");
	else
		r = 0;
	free(prog);
	return r;
}

int
srcfilter_detach(int fd)
{
	int dummy = 0;

	return setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof(dummy)) < 0 &&
			       errno != ENOENT
		       ? -1
		       : 0;
}
