/*
 * kagi_bench.c - `kagi bench`: many concurrent EAP conversations from one process, event
 * driven (one poll loop, no thread per conversation), retransmitting like a real NAS. Closed
 * loop (--concurrency) or open loop (--rate). Reports auths/s, latency percentiles, failures by
 * reason, round trips per auth and the client's own CPU per auth; --json for scripts.
 */
#include "kagi_bench.h"

#include "codec.h"
#include "peer.h"
#include "tls_conn.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IDS_PER_SOCKET 256
#define MAX_SOCKETS 64
#define MAX_REASONS 32
#define SESSION_POOL 1024
#define MAX_ROUNDS 60

struct conv {
	struct peer *peer;
	TALLOC_CTX *ctx; /* everything of this conversation */
	struct codec_out *req;
	const uint8_t *wire;
	size_t wire_len;
	uint8_t state[253];
	size_t state_len;
	unsigned sock, rounds, tries;
	int id;
	uint64_t start_us, sent_us;
	bool resuming;
};

struct bench {
	/* options */
	const char *server, *port, *secret, *method, *identity, *anonymous, *password;
	const char *ca, *cert, *key, *server_name;
	int min_version, max_version;
	unsigned concurrency, mtu, timeout_ms;
	unsigned long count;
	double duration, rate, resume;
	bool json;
	/* state */
	struct peer_config pc;
	int fds[MAX_SOCKETS];
	unsigned n_fds;
	struct conv *slots[MAX_SOCKETS][IDS_PER_SOCKET];
	unsigned next_id[MAX_SOCKETS];
	unsigned active;
	unsigned long started, ok, failed, rounds_ok;
	double *lat_ms;
	unsigned long lat_n, lat_cap;
	struct {
		char text[96];
		unsigned long n;
	} reasons[MAX_REASONS];
	unsigned n_reasons;
	SSL_SESSION *pool[SESSION_POOL];
	unsigned pool_n, pool_next;
	unsigned long resumed_ok;
	uint64_t t0_us;
	TALLOC_CTX *ctx;
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
		"Usage: kagi bench [options]\n"
		"Load-test a RADIUS server with many concurrent EAP conversations.\n"
		"\n"
		"  -a, --server HOST -p, --port PORT -s, --secret SECRET (or env KAGI_SECRET)\n"
		"  -m, --method M          tls, peap, peap-gtc, ttls-pap, ttls-mschapv2, ...\n"
		"  -i, --identity NAME -A, --anonymous NAME -P, --password PW (or KAGI_PASSWORD)\n"
		"      --ca FILE --cert FILE --key FILE --server-name NAME --tls 1.2|1.3|any\n"
		"      --mtu N             send Framed-MTU N\n"
		"  -c, --concurrency N     conversations in flight (default 32)\n"
		"  -n, --count N           stop after N authentications\n"
		"  -d, --duration SEC      stop after SEC seconds (default 10 if no --count)\n"
		"  -r, --rate R            open loop: start R conversations per second\n"
		"      --resume F          share of conversations that resume a session (0..1)\n"
		"  -t, --timeout MS        retransmit after MS (default 1000, 3 tries)\n"
		"      --json              print the result as one JSON object\n"
		"  -h, --help\n");
}

static void
count_reason(struct bench *b, const char *why)
{
	unsigned i;

	for (i = 0; i < b->n_reasons; i++) {
		if (strcmp(b->reasons[i].text, why) == 0) {
			b->reasons[i].n++;
			return;
		}
	}
	if (b->n_reasons < MAX_REASONS) {
		snprintf(b->reasons[b->n_reasons].text, sizeof(b->reasons[0].text), "%s", why);
		b->reasons[b->n_reasons++].n = 1;
	} else {
		b->reasons[MAX_REASONS - 1].n++;
	}
}

static void
finish(struct bench *b, struct conv *c, bool ok, const char *why)
{
	uint64_t t = now_us();

	if (c->id >= 0)
		b->slots[c->sock][c->id] = NULL;
	if (ok) {
		SSL_SESSION *s = peer_session(c->peer);

		b->ok++;
		b->rounds_ok += c->rounds;
		if (c->resuming && peer_resumed(c->peer))
			b->resumed_ok++;
		if (b->lat_n < b->lat_cap)
			b->lat_ms[b->lat_n++] = (double)(t - c->start_us) / 1000.0;
		if (s) {
			SSL_SESSION_free(b->pool[b->pool_next]);
			b->pool[b->pool_next] = s;
			b->pool_next = (b->pool_next + 1) % SESSION_POOL;
			if (b->pool_n < SESSION_POOL)
				b->pool_n++;
		}
	} else {
		b->failed++;
		count_reason(b, why ? why : "failed");
	}
	b->active--;
	talloc_free(c->ctx);
}

/* Send (or resend) the conversation's current request. */
static void
transmit(struct bench *b, struct conv *c)
{
	c->sent_us = now_us();
	if (send(b->fds[c->sock], c->wire, c->wire_len, 0) < 0 && errno != EAGAIN)
		count_reason(b, "send error");
}

/* Build and send the next Access-Request carrying eap. */
static bool
next_request(struct bench *b, struct conv *c, const struct eap_buf *eap)
{
	const char *user = b->anonymous ? b->anonymous : b->identity;
	char err[200];
	unsigned s, tries;

	if (c->req)
		TALLOC_FREE(c->req);
	if (c->id >= 0)
		b->slots[c->sock][c->id] = NULL;
	/* Find a free identifier on some socket (round robin). */
	for (tries = 0; tries < b->n_fds * IDS_PER_SOCKET; tries++) {
		s = (c->sock + tries / IDS_PER_SOCKET) % b->n_fds;
		if (!b->slots[s][b->next_id[s]])
			break;
		b->next_id[s] = (b->next_id[s] + 1) % IDS_PER_SOCKET;
	}
	if (tries == b->n_fds * IDS_PER_SOCKET)
		return false;
	c->sock = s;
	c->id = (int)b->next_id[s];
	b->next_id[s] = (b->next_id[s] + 1) % IDS_PER_SOCKET;
	b->slots[s][c->id] = c;
	c->req = codec_out_new(c->ctx, 1, (uint8_t)c->id);
	if (!c->req || codec_out_add(c->req, 1, 0, user, strlen(user)) < 0 ||
	    codec_out_add(c->req, 79, 0, eap->data, eap->len) < 0 ||
	    codec_out_add_integer(c->req, 61, 19) < 0 ||
	    (b->mtu && codec_out_add_integer(c->req, 12, b->mtu) < 0) ||
	    (c->state_len && codec_out_add(c->req, 24, 0, c->state, c->state_len) < 0) ||
	    codec_out_encode(c->req, b->secret, &c->wire, &c->wire_len, err, sizeof(err)) < 0)
		return false;
	c->rounds++;
	c->tries = 1;
	transmit(b, c);
	return true;
}

static void
start_one(struct bench *b)
{
	struct conv *c;
	TALLOC_CTX *ctx = talloc_new(b->ctx);
	SSL_SESSION *sess = NULL;
	struct eap_buf eap = {NULL, 0};
	uint32_t rnd = 0;

	if (!ctx)
		return;
	c = talloc_zero(ctx, struct conv);
	c->ctx = ctx;
	c->id = -1;
	c->sock = (unsigned)(b->started % b->n_fds);
	c->start_us = now_us();
	RAND_bytes((uint8_t *)&rnd, sizeof(rnd));
	if (b->resume > 0 && b->pool_n && (double)rnd / 4294967296.0 < b->resume) {
		sess = b->pool[rnd % b->pool_n];
		c->resuming = true;
	}
	c->peer = peer_new(ctx, &b->pc, sess);
	b->started++;
	b->active++;
	if (!c->peer || peer_identity(c->peer, ctx, &eap) < 0 || !next_request(b, c, &eap))
		finish(b, c, false, "cannot start");
}

static void
handle_reply(struct bench *b, unsigned s, const uint8_t *buf, size_t len)
{
	struct conv *c;
	struct codec_request *rep;
	const uint8_t *v;
	size_t vlen;
	char err[200];
	struct eap_buf eap = {NULL, 0};
	enum peer_step st;
	int code;

	if (len < 20 || !(c = b->slots[s][buf[1]]))
		return; /* late duplicate */
	rep = codec_reply_check(c->ctx, c->req, buf, len, b->secret, err, sizeof(err));
	if (!rep) {
		count_reason(b, "bad reply ignored");
		return;
	}
	code = codec_request_code(rep);
	v = codec_request_attr(rep, 79, &vlen);
	if (!v) {
		finish(b, c, false, code == 3 ? "Access-Reject without EAP" : "reply without EAP");
		return;
	}
	st = peer_process(c->peer, c->ctx, v, vlen, &eap);
	if (code == 11 && st == PEER_CONTINUE) {
		const uint8_t *sv = codec_request_attr(rep, 24, &c->state_len);

		if (!sv || c->state_len > sizeof(c->state) || c->rounds >= MAX_ROUNDS) {
			finish(b, c, false, "bad Access-Challenge");
			return;
		}
		memcpy(c->state, sv, c->state_len);
		talloc_free(rep);
		if (!next_request(b, c, &eap))
			finish(b, c, false, "cannot send");
		return;
	}
	if (code == 2 && st == PEER_SUCCESS) {
		uint8_t rk[32], sk[32];
		const uint8_t *msk = peer_msk(c->peer);

		if (codec_reply_mppe(buf, len, c->req, b->secret, rk, sk) != 0 || !msk ||
		    memcmp(rk, msk, 32) != 0 || memcmp(sk, msk + 32, 32) != 0)
			finish(b, c, false, "MPPE keys do not match");
		else
			finish(b, c, true, NULL);
		return;
	}
	finish(b, c, false,
	       code == 3 ? "Access-Reject" : (peer_error(c->peer) ? "peer error" : "bad reply"));
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const struct bench *b, double p)
{
	size_t i;

	if (!b->lat_n)
		return 0;
	i = (size_t)ceil(p / 100.0 * (double)b->lat_n);
	if (i > 0)
		i--;
	return b->lat_ms[i < b->lat_n ? i : b->lat_n - 1];
}

static int
open_sockets(struct bench *b)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res;
	unsigned i, want = (b->concurrency + 127) / 128;
	int r = getaddrinfo(b->server, b->port, &hints, &res);

	if (r != 0) {
		fprintf(stderr, "kagi bench: %s: %s\n", b->server, gai_strerror(r));
		return -1;
	}
	if (want > MAX_SOCKETS)
		want = MAX_SOCKETS;
	for (i = 0; i < want; i++) {
		int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int sz = 4 << 20;

		if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
			fprintf(stderr, "kagi bench: socket: %s\n", strerror(errno));
			if (fd >= 0)
				close(fd);
			freeaddrinfo(res);
			return -1;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		b->fds[b->n_fds++] = fd;
	}
	freeaddrinfo(res);
	return 0;
}

static void
report(struct bench *b, double secs, double cpu_ms)
{
	unsigned i;
	double rate = secs > 0 ? (double)b->ok / secs : 0;
	double rounds = b->ok ? (double)b->rounds_ok / (double)b->ok : 0;
	double cpu_per = b->ok ? cpu_ms / (double)b->ok : 0;

	qsort(b->lat_ms, b->lat_n, sizeof(double), cmp_double);
	if (b->json) {
		printf("{\"auths\":%lu,\"ok\":%lu,\"failed\":%lu,\"resumed\":%lu,\"seconds\":%.3f,"
		       "\"auths_per_sec\":%.1f,\"latency_ms\":{\"p50\":%.3f,\"p95\":%.3f,"
		       "\"p99\":%.3f},\"rounds_per_auth\":%.2f,\"client_cpu_ms_per_auth\":%.3f,"
		       "\"failures\":{",
		       b->ok + b->failed, b->ok, b->failed, b->resumed_ok, secs, rate, pct(b, 50),
		       pct(b, 95), pct(b, 99), rounds, cpu_per);
		for (i = 0; i < b->n_reasons; i++)
			printf("%s\"%s\":%lu", i ? "," : "", b->reasons[i].text, b->reasons[i].n);
		printf("}}\n");
		return;
	}
	printf("%lu authentications in %.2f s: %lu ok (%lu resumed), %lu failed\n",
	       b->ok + b->failed, secs, b->ok, b->resumed_ok, b->failed);
	printf("  %.1f auths/s, latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms\n", rate,
	       pct(b, 50), pct(b, 95), pct(b, 99));
	printf("  %.2f round trips per auth, client CPU %.3f ms per auth\n", rounds, cpu_per);
	for (i = 0; i < b->n_reasons; i++)
		printf("  failure: %s: %lu\n", b->reasons[i].text, b->reasons[i].n);
}

static double
cpu_ms_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

static int
run(struct bench *b)
{
	struct pollfd pfd[MAX_SOCKETS];
	uint8_t buf[CODEC_MAX_PACKET];
	uint64_t end_us, last_progress, next_start_us;
	double cpu0 = cpu_ms_now(), secs;
	unsigned i;
	bool stopping = false;

	b->t0_us = now_us();
	end_us = b->duration > 0 ? b->t0_us + (uint64_t)(b->duration * 1e6) : UINT64_MAX;
	last_progress = b->t0_us;
	next_start_us = b->t0_us;
	for (i = 0; i < b->n_fds; i++) {
		pfd[i].fd = b->fds[i];
		pfd[i].events = POLLIN;
	}
	for (;;) {
		uint64_t t = now_us();
		unsigned s, k;

		if (t >= end_us || (b->count && b->started >= b->count))
			stopping = true;
		if (!stopping) {
			if (b->rate > 0) {
				while (next_start_us <= t && b->active < b->n_fds * 250 &&
				       (!b->count || b->started < b->count)) {
					start_one(b);
					next_start_us += (uint64_t)(1e6 / b->rate);
				}
			} else {
				while (b->active < b->concurrency &&
				       (!b->count || b->started < b->count))
					start_one(b);
			}
		}
		if (stopping && b->active == 0)
			break;
		if (poll(pfd, b->n_fds, 5) < 0 && errno != EINTR)
			break;
		for (s = 0; s < b->n_fds; s++) {
			if (!(pfd[s].revents & POLLIN))
				continue;
			for (k = 0; k < 256; k++) {
				ssize_t n = recv(b->fds[s], buf, sizeof(buf), 0);

				if (n <= 0)
					break;
				handle_reply(b, s, buf, (size_t)n);
			}
		}
		/* Retransmit or give up, like a NAS. */
		t = now_us();
		for (s = 0; s < b->n_fds; s++) {
			for (k = 0; k < IDS_PER_SOCKET; k++) {
				struct conv *c = b->slots[s][k];

				if (!c || t - c->sent_us < (uint64_t)b->timeout_ms * 1000)
					continue;
				if (c->tries >= 3) {
					finish(b, c, false, "timeout");
					continue;
				}
				c->tries++;
				transmit(b, c);
			}
		}
		if (!b->json && t - last_progress >= 1000000) {
			fprintf(stderr, "  %5.1f s: %lu ok, %lu failed, %u in flight\n",
				(double)(t - b->t0_us) / 1e6, b->ok, b->failed, b->active);
			last_progress = t;
		}
		/* A hard stop: never run much past the deadline. */
		if (stopping && t > end_us + (uint64_t)b->timeout_ms * 4000 && b->duration > 0)
			break;
	}
	secs = (double)(now_us() - b->t0_us) / 1e6;
	report(b, secs, cpu_ms_now() - cpu0);
	return b->ok > 0 && b->failed == 0 ? 0 : 1;
}

int
kagi_bench_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"server", required_argument, NULL, 'a'},
		{"port", required_argument, NULL, 'p'},
		{"secret", required_argument, NULL, 's'},
		{"method", required_argument, NULL, 'm'},
		{"identity", required_argument, NULL, 'i'},
		{"anonymous", required_argument, NULL, 'A'},
		{"password", required_argument, NULL, 'P'},
		{"ca", required_argument, NULL, 1},
		{"cert", required_argument, NULL, 2},
		{"key", required_argument, NULL, 3},
		{"tls", required_argument, NULL, 4},
		{"mtu", required_argument, NULL, 5},
		{"resume", required_argument, NULL, 6},
		{"json", no_argument, NULL, 7},
		{"server-name", required_argument, NULL, 8},
		{"concurrency", required_argument, NULL, 'c'},
		{"count", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'},
		{"rate", required_argument, NULL, 'r'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bench *b = talloc_zero(NULL, struct bench);
	char err[256];
	int c, ret;
	unsigned i;

	if (!b)
		return 1;
	b->ctx = b;
	b->server = "127.0.0.1";
	b->port = "1812";
	b->method = "tls";
	b->min_version = TLS1_2_VERSION;
	b->max_version = TLS1_3_VERSION;
	b->concurrency = 32;
	b->timeout_ms = 1000;
	b->secret = getenv("KAGI_SECRET");
	b->password = getenv("KAGI_PASSWORD");
	optind = 1;
	while ((c = getopt_long(argc, argv, "a:p:s:m:i:A:P:c:n:d:r:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			b->server = optarg;
			break;
		case 'p':
			b->port = optarg;
			break;
		case 's':
			b->secret = optarg;
			break;
		case 'm':
			b->method = optarg;
			break;
		case 'i':
			b->identity = optarg;
			break;
		case 'A':
			b->anonymous = optarg;
			break;
		case 'P':
			b->password = optarg;
			break;
		case 1:
			b->ca = optarg;
			break;
		case 2:
			b->cert = optarg;
			break;
		case 3:
			b->key = optarg;
			break;
		case 4:
			if (strcmp(optarg, "1.2") == 0)
				b->max_version = TLS1_2_VERSION;
			else if (strcmp(optarg, "1.3") == 0)
				b->min_version = TLS1_3_VERSION;
			break;
		case 5:
			b->mtu = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 6:
			b->resume = strtod(optarg, NULL);
			break;
		case 7:
			b->json = true;
			break;
		case 8:
			b->server_name = optarg;
			break;
		case 'c':
			b->concurrency = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			b->count = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			b->duration = strtod(optarg, NULL);
			break;
		case 'r':
			b->rate = strtod(optarg, NULL);
			break;
		case 't':
			b->timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			talloc_free(b);
			return 0;
		default:
			usage(stderr);
			talloc_free(b);
			return 2;
		}
	}
	if (peer_parse_method(b->method, &b->pc.method, &b->pc.inner) < 0 || !b->secret ||
	    !b->identity || !b->ca || (b->pc.method == PEER_TLS && !b->cert) ||
	    (b->pc.method != PEER_TLS && !b->password) || b->concurrency < 1 ||
	    b->concurrency > 16000 || b->timeout_ms < 10 || b->resume < 0 || b->resume > 1) {
		fprintf(stderr, "kagi bench: bad or missing options\n");
		usage(stderr);
		talloc_free(b);
		return 2;
	}
	if (!b->count && b->duration <= 0)
		b->duration = 10;
	b->lat_cap = b->count ? b->count : 2000000;
	if (b->lat_cap > 2000000)
		b->lat_cap = 2000000;
	b->lat_ms = talloc_array(b, double, b->lat_cap);
	b->pc.identity = b->identity;
	b->pc.outer_identity = b->anonymous;
	b->pc.password = b->password;
	b->pc.server_name = b->server_name;
	b->pc.fragment_size = b->mtu > 200 ? b->mtu - 14 : 1024;
	b->pc.ssl_ctx = tls_client_ctx_new(b->ca, b->cert, b->key, b->min_version, b->max_version,
					   err, sizeof(err));
	if (!b->lat_ms || !b->pc.ssl_ctx || open_sockets(b) < 0) {
		if (!b->pc.ssl_ctx)
			fprintf(stderr, "kagi bench: %s\n", err);
		SSL_CTX_free(b->pc.ssl_ctx);
		talloc_free(b);
		return 2;
	}
	ret = run(b);
	for (i = 0; i < b->n_fds; i++)
		close(b->fds[i]);
	for (i = 0; i < SESSION_POOL; i++)
		SSL_SESSION_free(b->pool[i]);
	SSL_CTX_free(b->pc.ssl_ctx);
	talloc_free(b);
	return ret;
}
