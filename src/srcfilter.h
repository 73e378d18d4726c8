/*
 * srcfilter.h - during a flood from addresses that are not clients, drop those datagrams in the
 * kernel (a classic BPF socket filter on the listening socket), so they cost kagid nothing: no
 * wake-up, no system call. Datagrams from every configured client prefix pass as before. One in
 * `sample` unknown datagrams still passes, so kagid keeps logging them and sees when the flood
 * ends. server.c decides when to attach and detach (see server_tick).
 */
#ifndef KAGI_SRCFILTER_H
#define KAGI_SRCFILTER_H

#include <linux/filter.h>
#include <stddef.h>

struct client;

/* The longest program the kernel takes (BPF_MAXINSNS). */
#define SRCFILTER_MAX_INSNS 4096

/*
 * srcfilter_build - the program for a socket of family (AF_INET or AF_INET6) that passes
 * datagrams from the n clients' prefixes of that family, and of the rest one in sample (a power
 * of two; 0: none). Returns the number of instructions written to prog (at most max), or -1 if
 * the clients need more (thousands of separate prefixes: then there is no filter).
 */
int srcfilter_build(const struct client *clients, unsigned n, int family, unsigned sample,
		    struct sock_filter *prog, size_t max);

/* srcfilter_attach - build and attach (replacing any filter on fd). 0, or -1 with err set. */
int srcfilter_attach(int fd, int family, const struct client *clients, unsigned n,
		     unsigned sample, char *err, size_t errlen);

/* srcfilter_detach - remove the filter from fd (everything reaches kagid again). 0 or -1. */
int srcfilter_detach(int fd);

#endif
