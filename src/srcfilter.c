/*
 * srcfilter.c - the kernel-side filter for floods from unknown addresses (see srcfilter.h).
 *
 * The program, for each client prefix of the socket's family: load the source address words
 * it covers (relative to the network header: SKF_NET_OFF), mask the last partial one, compare;
 * all equal: accept. No client matched: accept if a random number (SKF_AD_RANDOM) falls in the
 * sample, else drop. Classic BPF jumps only forward and at most 255 instructions, so each
 * prefix is a short block that ends in its own accept, and a mismatch skips to the next block.
 */
#include "srcfilter.h"

#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ACCEPT 0xffffffffu /* keep the whole datagram */
#define DROP 0u

/* IPv4 source address at offset 12 of its header, IPv6 at 8. */
#define SRC_OFF(family) ((family) == AF_INET ? 12 : 8)

static uint32_t
word_at(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Append one instruction; false when the program would be too long. */
static bool
emit(struct sock_filter *prog, size_t max, size_t *n, uint16_t code, uint8_t jt, uint8_t jf,
     uint32_t k)
{
	if (*n >= max)
		return false;
	prog[(*n)++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
	return true;
}

/*
 * One client prefix: for each 32-bit word it covers, load, mask (if partial) and compare; a
 * mismatch jumps past the block's final accept. Returns false if out of room.
 */
static bool
emit_prefix(const struct client *cl, int family, struct sock_filter *prog, size_t max,
	    size_t *n)
{
	unsigned words = (cl->prefix + 31) / 32, i;
	/* instructions of the block after each compare: the rest of the words, then the accept */
	size_t block = 0;

	for (i = 0; i < words; i++)
		block += cl->prefix >= 32 * (i + 1) ? 2 : 3;
	block += 1;
	for (i = 0; i < words; i++) {
		unsigned bits = cl->prefix >= 32 * (i + 1) ? 32 : cl->prefix - 32 * i;
		uint32_t mask = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		size_t left;

		if (!emit(prog, max, n, BPF_LD | BPF_W | BPF_ABS, 0, 0,
			  (uint32_t)(SKF_NET_OFF + SRC_OFF(family) + 4 * (int)i)))
			return false;
		block--;
		if (bits < 32) {
			if (!emit(prog, max, n, BPF_ALU | BPF_AND | BPF_K, 0, 0, mask))
				return false;
			block--;
		}
		left = block - 1; /* what follows this compare in the block */
		if (!emit(prog, max, n, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)left,
			  word_at(cl->net + 4 * i) & mask))
			return false;
		block--;
	}
	return emit(prog, max, n, BPF_RET | BPF_K, 0, 0, ACCEPT);
}

int
srcfilter_build(const struct client *clients, unsigned n_clients, int family, unsigned sample,
		struct sock_filter *prog, size_t max)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < n_clients; i++) {
		if (clients[i].family != family)
			continue;
		if (clients[i].prefix == 0) /* every address is a client: accept all */
			return emit(prog, max, &n, BPF_RET | BPF_K, 0, 0, ACCEPT) ? (int)n : -1;
		if (!emit_prefix(&clients[i], family, prog, max, &n))
			return -1;
	}
	if (sample) {
		/* A = random; one in sample passes (sample is a power of two). */
		if (!emit(prog, max, &n, BPF_LD | BPF_W | BPF_ABS, 0, 0,
			  (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM)) ||
		    !emit(prog, max, &n, BPF_ALU | BPF_AND | BPF_K, 0, 0, sample - 1) ||
		    !emit(prog, max, &n, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0) ||
		    !emit(prog, max, &n, BPF_RET | BPF_K, 0, 0, ACCEPT))
			return -1;
	}
	return emit(prog, max, &n, BPF_RET | BPF_K, 0, 0, DROP) ? (int)n : -1;
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
		snprintf(err, errlen, "SO_ATTACH_FILTER: %s", strerror(errno));
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
