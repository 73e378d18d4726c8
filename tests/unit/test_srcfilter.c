/*
 * test_srcfilter.c - unit tests for src/srcfilter.c, with the program attached to real UDP
 * sockets on loopback and datagrams sent from several 127.0.0.0/8 addresses (and ::1): what
 * comes from a client prefix (host, /24, /8, /0, IPv6 prefixes cut inside a word) passes, what
 * does not is dropped, the sample lets one in N through, detaching lets everything through,
 * thousands of host entries work, and more entries than a program can hold give no program.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "conf.h"
#include "srcfilter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct client
cl(const char *ip, unsigned prefix)
{
	struct client c;

	memset(&c, 0, sizeof(c));
	c.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	c.prefix = prefix;
	assert_int_equal(inet_pton(c.family, ip, c.net), 1);
	return c;
}

static socklen_t
sockaddr_of(const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		return sizeof(*s6);
	}
	((struct sockaddr_in *)ss)->sin_family = AF_INET;
	((struct sockaddr_in *)ss)->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr), 1);
	return sizeof(struct sockaddr_in);
}

/* A receiving socket on ip, port chosen by the kernel; its address in *to. -1 if ip is absent. */
static int
receiver(const char *ip, struct sockaddr_storage *to, socklen_t *tolen)
{
	int fd = socket(strchr(ip, ':') ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	*tolen = sockaddr_of(ip, 0, to);
	if (bind(fd, (struct sockaddr *)to, *tolen) < 0) {
		close(fd);
		return -1;
	}
	assert_int_equal(getsockname(fd, (struct sockaddr *)to, tolen), 0);
	return fd;
}

/* Send count one-octet datagrams (value tag) from ip. */
static void
send_from(const char *ip, const struct sockaddr_storage *to, socklen_t tolen, uint8_t tag,
	  unsigned count)
{
	struct sockaddr_storage from;
	socklen_t fromlen = sockaddr_of(ip, 0, &from);
	int fd = socket(from.ss_family, SOCK_DGRAM, 0);
	unsigned i;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&from, fromlen), 0);
	for (i = 0; i < count; i++)
		assert_int_equal(sendto(fd, &tag, 1, 0, (const struct sockaddr *)to, tolen), 1);
	close(fd);
}

/*
 * Everything queued on fd up to the end marker (tag 0xFF, sent last from an address that
 * passes), counted by tag.
 */
static void
collect(int fd, unsigned counts[256])
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint8_t tag;

	memset(counts, 0, 256 * sizeof(counts[0]));
	for (;;) {
		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(recv(fd, &tag, 1, 0), 1);
		counts[tag]++;
		if (tag == 0xFF)
			return;
	}
}

static void
attach(int fd, int family, const struct client *c, unsigned n, unsigned sample)
{
	char err[128] = "";

	if (srcfilter_attach(fd, family, c, n, sample, err, sizeof(err)) < 0)
		fail_msg("srcfilter_attach: %s", err);
}

static void
test_ipv4(void **state)
{
	const struct client clients[] = {
		cl("::1", 128),	       /* the other family: not in an IPv4 program */
		cl("127.0.0.1", 32),   /* the end marker's sender */
		cl("127.0.0.2", 32),   /* a host */
		cl("127.0.1.0", 24),   /* a prefix */
		cl("10.0.0.0", 8),     /* elsewhere */
		cl("127.0.3.128", 25), /* the upper half of 127.0.3.0/24 */
	};
	static const struct {
		const char *ip;
		bool passes;
	} from[] = {
		{"127.0.0.2", true},	{"127.0.0.3", false},	{"127.0.1.77", true},
		{"127.0.1.255", true},	{"127.0.2.1", false},	{"127.1.0.1", false},
		{"127.0.3.200", true},	{"127.0.3.127", false}, {"127.0.0.254", false},
	};
	struct sockaddr_storage to;
	socklen_t tolen;
	int fd = receiver("127.0.0.1", &to, &tolen);
	unsigned counts[256], i;

	(void)state;
	assert_true(fd >= 0);
	attach(fd, AF_INET, clients, sizeof(clients) / sizeof(clients[0]), 0);
	for (i = 0; i < sizeof(from) / sizeof(from[0]); i++)
		send_from(from[i].ip, &to, tolen, (uint8_t)(i + 1), 1);
	send_from("127.0.0.1", &to, tolen, 0xFF, 1);
	collect(fd, counts);
	for (i = 0; i < sizeof(from) / sizeof(from[0]); i++)
		if (counts[i + 1] != (from[i].passes ? 1u : 0u))
			fail_msg("%s: %u datagrams passed", from[i].ip, counts[i + 1]);

	/* Sample 1: every unknown datagram passes. */
	attach(fd, AF_INET, clients, sizeof(clients) / sizeof(clients[0]), 1);
	send_from("127.0.0.3", &to, tolen, 1, 3);
	send_from("127.0.0.1", &to, tolen, 0xFF, 1);
	collect(fd, counts);
	assert_int_equal(counts[1], 3);

	/* Sample 64 of 3200: about 50 (0 or more than 150 is out by far more than 10 sigma). */
	attach(fd, AF_INET, clients, sizeof(clients) / sizeof(clients[0]), 64);
	send_from("127.0.0.3", &to, tolen, 1, 3200);
	send_from("127.0.0.1", &to, tolen, 0xFF, 1);
	collect(fd, counts);
	if (counts[1] < 1 || counts[1] > 150)
		fail_msg("sample 1 in 64 let %u of 3200 through", counts[1]);

	/* A /0 client: everything is a client. */
	{
		const struct client all[] = {cl("10.0.0.0", 8), cl("0.0.0.0", 0)};

		attach(fd, AF_INET, all, 2, 0);
		send_from("127.0.0.3", &to, tolen, 1, 1);
		send_from("127.0.0.1", &to, tolen, 0xFF, 1);
		collect(fd, counts);
		assert_int_equal(counts[1], 1);
	}

	/* Detached: everything reaches the socket again. */
	attach(fd, AF_INET, clients, sizeof(clients) / sizeof(clients[0]), 0);
	assert_int_equal(srcfilter_detach(fd), 0);
	send_from("127.0.0.3", &to, tolen, 1, 1);
	send_from("127.0.0.1", &to, tolen, 0xFF, 1);
	collect(fd, counts);
	assert_int_equal(counts[1], 1);
	assert_int_equal(srcfilter_detach(fd), 0); /* nothing attached: fine */
	close(fd);
}

/*
 * IPv6: loopback has one address, so whether ::1 passes is decided by the client list. A
 * datagram sent with the filter attached, then the marker after detaching: the first arrives
 * (before the marker) only if it passed.
 */
static bool
v6_passes(int fd, const struct sockaddr_storage *to, socklen_t tolen, const struct client *c,
	  unsigned n)
{
	unsigned counts[256];

	attach(fd, AF_INET6, c, n, 0);
	send_from("::1", to, tolen, 1, 1);
	assert_int_equal(srcfilter_detach(fd), 0);
	send_from("::1", to, tolen, 0xFF, 1);
	collect(fd, counts);
	return counts[1] == 1;
}

static void
test_ipv6(void **state)
{
	static const struct {
		const char *net;
		unsigned prefix;
		bool passes;
	} cases[] = {
		{"::1", 128, true},	 {"::2", 128, false},	      {"::", 127, true},
		{"::", 128, false},	 {"fe80::", 10, false},	      {"::", 0, true},
		{"::", 96, true},	 {"::1:0", 112, false},	      {"::", 112, true},
		{"2001:db8::", 32, false}, {"0:0:0:1::", 64, false}, {"::", 1, true},
	};
	struct sockaddr_storage to;
	socklen_t tolen;
	int fd = receiver("::1", &to, &tolen);
	unsigned i;

	(void)state;
	if (fd < 0)
		skip(); /* no IPv6 loopback on this machine */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct client c[] = {cl("127.0.0.1", 32), cl(cases[i].net, cases[i].prefix)};

		if (v6_passes(fd, &to, tolen, c, 2) != cases[i].passes)
			fail_msg("::1 against %s/%u: expected %s", cases[i].net, cases[i].prefix,
				 cases[i].passes ? "pass" : "drop");
	}
	/* The second prefix matches after the first does not. */
	{
		const struct client c[] = {cl("2001:db8::", 32), cl("fe80::", 64), cl("::1", 128)};

		assert_true(v6_passes(fd, &to, tolen, c, 3));
		assert_false(v6_passes(fd, &to, tolen, c, 2));
	}
	close(fd);
}

static void
test_program_size(void **state)
{
	struct sock_filter *prog = malloc(SRCFILTER_MAX_INSNS * sizeof(*prog));
	struct client *many = calloc(4100, sizeof(*many));
	int n;
	unsigned i;

	(void)state;
	assert_non_null(prog);
	assert_non_null(many);
	for (i = 0; i < 4100; i++) {
		many[i].family = AF_INET;
		many[i].prefix = 24;
		many[i].net[0] = 10;
		many[i].net[1] = (uint8_t)(i >> 8);
		many[i].net[2] = (uint8_t)i;
	}
	/* IPv4 prefixes take 3 instructions each: 2000 do not fit. */
	assert_int_equal(srcfilter_build(many, 2000, AF_INET, 256, prog, SRCFILTER_MAX_INSNS), -1);
	/* A host entry takes one (plus a shared accept every couple of hundred): 4000 fit. */
	for (i = 0; i < 4100; i++)
		many[i].prefix = 32;
	n = srcfilter_build(many, 4000, AF_INET, 256, prog, SRCFILTER_MAX_INSNS);
	assert_true(n > 4000 && n <= SRCFILTER_MAX_INSNS);
	/* Every conditional jump lands inside the program (the kernel would refuse it). */
	for (i = 0; i < (unsigned)n; i++)
		if (BPF_CLASS(prog[i].code) == BPF_JMP && BPF_OP(prog[i].code) != BPF_JA)
			assert_true(i + 1 + prog[i].jt < (unsigned)n && i + 1 + prog[i].jf < (unsigned)n);
	assert_int_equal(srcfilter_build(many, 4100, AF_INET, 256, prog, SRCFILTER_MAX_INSNS), -1);
	/* No client of the family: only the sample and the drop. */
	assert_int_equal(srcfilter_build(many, 1000, AF_INET6, 0, prog, SRCFILTER_MAX_INSNS), 1);
	free(many);
	free(prog);
}

/*
 * Many host entries (access points listed one by one), the ones that matter last, and a prefix
 * among them: the shared accepts along the way work on a real socket.
 */
static void
test_many_hosts(void **state)
{
	enum { HOSTS = 1500 }; /* fits the 20 KB net.core.optmem_max of Linux before 6.9 */
	struct client *c = calloc(HOSTS + 3, sizeof(*c));
	struct sockaddr_storage to;
	socklen_t tolen;
	int fd = receiver("127.0.0.1", &to, &tolen);
	unsigned counts[256], i;

	(void)state;
	assert_non_null(c);
	assert_true(fd >= 0);
	for (i = 0; i < HOSTS; i++) {
		c[i].family = AF_INET;
		c[i].prefix = 32;
		c[i].net[0] = 10;
		c[i].net[1] = (uint8_t)(i >> 8);
		c[i].net[2] = (uint8_t)i;
		c[i].net[3] = 1;
	}
	c[700] = cl("127.0.1.0", 24);
	c[HOSTS] = cl("127.0.0.1", 32);
	c[HOSTS + 1] = cl("10.200.0.0", 16);
	c[HOSTS + 2] = cl("127.0.0.2", 32);
	attach(fd, AF_INET, c, HOSTS + 3, 0);
	send_from("127.0.0.2", &to, tolen, 1, 1);
	send_from("127.0.0.3", &to, tolen, 2, 1);
	send_from("127.0.1.9", &to, tolen, 3, 1);
	send_from("127.0.0.1", &to, tolen, 0xFF, 1);
	collect(fd, counts);
	assert_int_equal(counts[1], 1);
	assert_int_equal(counts[2], 0);
	assert_int_equal(counts[3], 1);
	close(fd);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_program_size),
		cmocka_unit_test(test_many_hosts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
