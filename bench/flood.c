/*
 * bench/flood.c - the forged-packet sender of bench.py's drop-cost cell.
 *
 *   flood DST_IP PORT SRC_IP COUNT SOCKETS TEMPLATE_HEX MA_OFFSET
 *
 * Sends COUNT copies of one RADIUS Access-Request (TEMPLATE_HEX, built by bench.py) from SOCKETS
 * UDP sockets bound to SRC_IP, as fast as sendmmsg(2) allows, in batches of 64. Every datagram
 * gets its own Identifier, a random Request Authenticator and a random Message-Authenticator
 * value (the 16 bytes at MA_OFFSET), so no two are duplicates and none verifies: the server has
 * to drop each one (RFC 3579 §3.2: silently discard on a bad Message-Authenticator; RFC 2865
 * §3: silently discard from an unknown client). The datagrams are written into a ring of
 * buffers before the clock starts; per datagram the loop only patches 33 bytes, so the sender
 * costs well under a microsecond of CPU per datagram and the kernel's loopback delivery is most
 * of its time.
 *
 * Compiled by bench.py at run time (cc -O2) into its work directory; not installed, not part
 * of `make`. Prints one JSON line: {"sent":N,"seconds":S,"replies":R}, where replies counts
 * datagrams the server sent back (there should be none).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_SOCKETS 64
#define MAX_PACKET 4096

static uint64_t
xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void
fill_random(uint8_t *p, uint64_t *s)
{
	uint64_t a = xorshift64(s), b = xorshift64(s);

	memcpy(p, &a, 8);
	memcpy(p + 8, &b, 8);
}

static int
unhex(const char *hex, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(hex), i;

	if (n % 2 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][MAX_PACKET];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in dst = {.sin_family = AF_INET}, src = {.sin_family = AF_INET};
	uint8_t tmpl[MAX_PACKET];
	size_t tlen, ma;
	long count, sent = 0, replies = 0;
	int nsock, socks[MAX_SOCKETS], i, k;
	uint64_t rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	unsigned id = 0;
	double t0, t1;

	if (argc != 8) {
		fprintf(stderr, "usage: flood DST_IP PORT SRC_IP COUNT SOCKETS TEMPLATE_HEX MA_OFFSET\n");
		return 2;
	}
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	count = atol(argv[4]);
	nsock = atoi(argv[5]);
	ma = (size_t)atol(argv[7]);
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[3], &src.sin_addr) != 1 || count < 1 || nsock < 1 ||
	    nsock > MAX_SOCKETS || unhex(argv[6], tmpl, sizeof(tmpl), &tlen) < 0 || tlen < 20 ||
	    ma + 16 > tlen) {
		fprintf(stderr, "flood: bad arguments\n");
		return 2;
	}
	for (i = 0; i < nsock; i++) {
		socks[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (socks[i] < 0 || bind(socks[i], (struct sockaddr *)&src, sizeof(src)) < 0 ||
		    connect(socks[i], (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			fprintf(stderr, "flood: socket %s: %s\n", argv[3], strerror(errno));
			return 1;
		}
	}
	memset(msgs, 0, sizeof(msgs));
	for (k = 0; k < BATCH; k++) {
		memcpy(bufs[k], tmpl, tlen);
		iov[k].iov_base = bufs[k];
		iov[k].iov_len = tlen;
		msgs[k].msg_hdr.msg_iov = &iov[k];
		msgs[k].msg_hdr.msg_iovlen = 1;
	}

	t0 = now_s();
	for (i = 0; sent < count; i = (i + 1) % nsock) {
		int n = count - sent < BATCH ? (int)(count - sent) : BATCH, r;

		for (k = 0; k < n; k++) {
			bufs[k][1] = (uint8_t)id++;
			fill_random(bufs[k] + 4, &rng);	  /* Request Authenticator */
			fill_random(bufs[k] + ma, &rng); /* Message-Authenticator: wrong */
		}
		r = sendmmsg(socks[i], msgs, (unsigned)n, 0);
		if (r < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
				continue;
			fprintf(stderr, "flood: sendmmsg: %s\n", strerror(errno));
			return 1;
		}
		sent += r;
	}
	t1 = now_s();

	/* A server should answer none of these; count what came back anyway. */
	for (i = 0; i < nsock; i++) {
		uint8_t rbuf[MAX_PACKET];

		while (recv(socks[i], rbuf, sizeof(rbuf), MSG_DONTWAIT) >= 0)
			replies++;
		close(socks[i]);
	}
	printf("{\"sent\":%ld,\"seconds\":%.6f,\"replies\":%ld}\n", sent, t1 - t0, replies);
	return 0;
}
