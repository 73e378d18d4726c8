/*
 * kagi_test.c - `kagi test`: one authentication against any RADIUS server, acting as both the
 * NAS and the supplicant (peer.h). Prints each round, the TLS version, the result, the reply
 * attributes and whether the MPPE keys match what the peer derived. Exit 0 only on
 * Access-Accept with matching keys.
 */
#include "kagi_test.h"

#include "bench_ids.h"
#include "codec.h"
#include "eap.h"
#include "peer.h"
#include "tls_conn.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 60

struct test_opts {
	const char *server, *port, *secret, *method;
	const char *identity, *anonymous, *password;
	const char *ca, *cert, *key, *server_name;
	int min_version, max_version;
	unsigned mtu, count, timeout_ms, fragment;
	bool verbose;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
		"Usage: kagi test [options]\n"
		"One EAP authentication against a RADIUS server, as NAS and supplicant.\n"
		"\n"
		"  -a, --server HOST        RADIUS server (default 127.0.0.1)\n"
		"  -p, --port PORT          (default 1812)\n"
		"  -s, --secret SECRET      shared secret (or env KAGI_SECRET)\n"
		"  -m, --method M           tls, peap (= peap-mschapv2), peap-gtc, ttls-pap,\n"
		"                           ttls-mschapv2, ttls-eap-mschapv2, ttls-eap-gtc\n"
		"  -i, --identity NAME      identity (inner identity for PEAP/TTLS); for EAP-TLS\n"
		"                           the certificate's CN if not given\n"
		"  -A, --anonymous NAME     outer identity for PEAP/TTLS (e.g. anonymous@example.org)\n"
		"  -P, --password PW        password (better: env KAGI_PASSWORD)\n"
		"      --ca FILE            CA that must have issued the server certificate\n"
		"      --cert FILE          client certificate (EAP-TLS)\n"
		"      --key FILE           its key (default: NAME.key next to NAME.pem, else FILE)\n"
		"      --server-name NAME   expected name in the server certificate\n"
		"      --tls 1.2|1.3|any    TLS version (default any)\n"
		"      --mtu N              send Framed-MTU N (and fragment to fit)\n"
		"  -n, --count N            authenticate N times, resuming the TLS session\n"
		"  -t, --timeout MS         per-request timeout (default 3000, 3 tries)\n"
		"  -v, --verbose            trace every EAP and TLS step\n"
		"  -h, --help\n");
}

static void
trace_cb(void *arg, const char *text)
{
	(void)arg;
	printf("    %s\n", text);
}

static void
attr_line(void *arg, const char *text)
{
	(void)arg;
	if (strncmp(text, "EAP-Message", 11) && strncmp(text, "Message-Authenticator", 21))
		printf("    %s\n", text);
}

static int
open_socket(const struct test_opts *o)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res, *ai;
	int fd = -1, r = getaddrinfo(o->server, o->port, &hints, &res);

	if (r != 0) {
		fprintf(stderr, "kagi test: %s: %s\n", o->server, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "kagi test: cannot reach %s:%s\n", o->server, o->port);
	return fd;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Send a request, wait for its verified reply (retransmitting like a NAS). */
static struct codec_request *
exchange(TALLOC_CTX *ctx, int fd, const struct test_opts *o, struct codec_out *req,
	 uint8_t *raw, size_t *rawlen)
{
	const uint8_t *out;
	size_t outlen;
	char err[256];
	unsigned tries;
	bool refused = false;

	if (codec_out_encode(req, o->secret, &out, &outlen, err, sizeof(err)) < 0) {
		fprintf(stderr, "kagi test: %s\n", err);
		return NULL;
	}
	for (tries = 0; tries < 3; tries++) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t deadline = now_ms() + o->timeout_ms;

		if (send(fd, out, outlen, 0) < 0) {
			fprintf(stderr, "kagi test: send: %s\n", strerror(errno));
			return NULL;
		}
		while (now_ms() < deadline) {
			ssize_t n;
			struct codec_request *rep;

			if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
				break;
			n = recv(fd, raw, CODEC_MAX_PACKET, 0);
			if (n < 0 && errno == ECONNREFUSED)
				refused = true;
			if (n <= 0)
				continue;
			rep = codec_reply_check(ctx, req, raw, (size_t)n, o->secret, NULL, err,
						sizeof(err));
			if (!rep) {
				fprintf(stderr, "kagi test: ignoring a reply: %s\n", err);
				continue;
			}
			*rawlen = (size_t)n;
			return rep;
		}
		if (tries < 2)
			printf("  (no answer in %u ms, retransmitting)\n", o->timeout_ms);
	}
	if (refused)
		fprintf(stderr,
			"kagi test: no answer from %s:%s, and the port is closed (ICMP port "
			"unreachable): is the RADIUS server running, on that address and port?\n",
			o->server, o->port);
	else
		fprintf(stderr,
			"kagi test: no answer from %s:%s after 3 tries: a RADIUS server silently "
			"drops requests it cannot verify, so check that this machine's address is "
			"one of its clients and that the shared secret is the same on both sides "
			"(kagid logs why it drops a packet)\n",
			o->server, o->port);
	return NULL;
}

/*
 * "EAP-Response/TLS, 1386 bytes, more fragments" for the EAP packet in d (len octets), into out.
 * For the TLS-based types the flags that matter to the exchange: start, more fragments, and an
 * empty acknowledgement.
 */
static const char *
eap_describe(const uint8_t *d, size_t len, char *out, size_t outlen)
{
	static const char *codes[] = {"?", "Request", "Response", "Success", "Failure"};
	const char *code = len >= 1 && d[0] <= 4 ? codes[d[0]] : "?";
	const char *flag = "";

	if (len < 4) {
		snprintf(out, outlen, "no EAP");
		return out;
	}
	if (len < 5 || d[0] > 2) {
		snprintf(out, outlen, "EAP-%s", code);
		return out;
	}
	if (d[4] == EAP_TYPE_TLS || d[4] == EAP_TYPE_TTLS || d[4] == EAP_TYPE_PEAP) {
		uint8_t f = len >= 6 ? d[5] : 0;

		flag = f & 0x20 ? ", start" : f & 0x40 ? ", more fragments" : len <= 6 ? ", ack" : "";
	}
	snprintf(out, outlen, "EAP-%s/%s, %zu bytes%s", code, eap_type_name(d[4]), len, flag);
	return out;
}

/* One authentication. Returns 0 on Accept with matching keys. */
static int
authenticate(const struct test_opts *o, const struct peer_config *pc, int fd,
	     SSL_SESSION **session, unsigned n)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct peer *p = peer_new(ctx, pc, *session);
	struct eap_buf eap = {NULL, 0};
	uint8_t state[253], raw[CODEC_MAX_PACKET], id;
	size_t state_len = 0, rawlen = 0;
	unsigned round;
	uint64_t t0 = now_ms();
	int ret = 1;
	char csid[32];

	if (!p || peer_identity(p, ctx, &eap) < 0) {
		fprintf(stderr, "kagi test: cannot start the peer (password not UTF-8?)\n");
		goto out;
	}
	RAND_bytes(&id, 1);
	snprintf(csid, sizeof(csid), "02-00-00-00-00-%02X", n & 0xff);
	printf("Authentication %u: %s as \"%s\"\n", n, o->method, o->identity);
	for (round = 1; round <= MAX_ROUNDS; round++) {
		TALLOC_CTX *rctx = talloc_new(ctx);
		struct codec_out *req = codec_out_new(rctx, 1, id++);
		struct codec_request *rep;
		const uint8_t *v;
		size_t vlen;
		enum peer_step st;
		int code;
		const char *user = o->anonymous ? o->anonymous : o->identity;

		/* RFC 2865 §4.1: NAS-IP-Address or NAS-Identifier is a MUST. */
		if (!req || codec_out_add(req, 1, 0, user, strlen(user)) < 0 ||
		    codec_out_add(req, 32, 0, "kagi-test", 9) < 0 ||
		    codec_out_add(req, 79, 0, eap.data, eap.len) < 0 ||
		    codec_out_add(req, 31, 0, csid, strlen(csid)) < 0 ||
		    codec_out_add_integer(req, 61, 19) < 0 || /* NAS-Port-Type 802.11 */
		    (o->mtu && codec_out_add_integer(req, 12, o->mtu) < 0) ||
		    codec_out_add(req, 102, 0, "", 0) < 0 || /* ask for EAP-Key-Name */
		    (state_len && codec_out_add(req, 24, 0, state, state_len) < 0)) {
			fprintf(stderr, "kagi test: cannot build the request\n");
			goto out;
		}
		rep = exchange(rctx, fd, o, req, raw, &rawlen);
		if (!rep)
			goto out;
		code = codec_request_code(rep);
		v = codec_request_attr(rep, 79, &vlen);
		{
			char sent[96], got[96];

			printf("  round %u: -> Access-Request (%s) <- %s (%s)\n", round,
			       eap_describe(eap.data, eap.len, sent, sizeof(sent)), codec_code_name(code),
			       eap_describe(v, v ? vlen : 0, got, sizeof(got)));
		}
		talloc_free(eap.data);
		eap.data = NULL;
		if (!v) {
			printf("  %s without EAP-Message\n", codec_code_name(code));
			goto out;
		}
		st = peer_process(p, ctx, v, vlen, &eap);
		if (code == 11 && st == PEER_CONTINUE) {
			const uint8_t *sv = codec_request_attr(rep, 24, &state_len);

			if (!sv || state_len > sizeof(state)) {
				printf("  Access-Challenge without State\n");
				goto out;
			}
			memcpy(state, sv, state_len);
			talloc_free(rctx);
			continue;
		}
		if (code == 2 && st == PEER_SUCCESS) {
			uint8_t rk[32], sk[32];
			const uint8_t *msk = peer_msk(p);
			bool keys = codec_reply_mppe(raw, rawlen, req, o->secret, rk, sk) == 0 && msk &&
				    CRYPTO_memcmp(rk, msk, 32) == 0 &&
				    CRYPTO_memcmp(sk, msk + 32, 32) == 0;

			printf("  Access-Accept after %u rounds, %llu ms: %s%s, MPPE keys %s\n",
			       round, (unsigned long long)(now_ms() - t0),
			       peer_tls_version(p) ? peer_tls_version(p) : "?",
			       peer_resumed(p) ? " resumed" : "",
			       keys ? "match" : "DO NOT MATCH");
			printf("  reply attributes:\n");
			codec_request_describe(rep, attr_line, NULL);
			SSL_SESSION_free(*session);
			*session = peer_session(p);
			ret = keys ? 0 : 1;
			OPENSSL_cleanse(rk, sizeof(rk));
			OPENSSL_cleanse(sk, sizeof(sk));
			goto out;
		}
		printf("  %s: %s\n", codec_code_name(code),
		       peer_error(p) ? peer_error(p) : "the peer refused the server's answer");
		goto out;
	}
	printf("  gave up after %d rounds\n", MAX_ROUNDS);
out:
	talloc_free(ctx);
	return ret;
}

/* A missing or bad option: say which, point at --help, exit code 2. */
static int
usage_error(const char *why)
{
	fprintf(stderr, "kagi test: %s (see kagi test --help)\n", why);
	return 2;
}

int
kagi_test_main(int argc, char **argv)
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
		{"server-name", required_argument, NULL, 4},
		{"tls", required_argument, NULL, 5},
		{"mtu", required_argument, NULL, 6},
		{"count", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct test_opts o = {
		.server = "127.0.0.1",
		.port = "1812",
		.method = "tls",
		.min_version = TLS1_2_VERSION,
		.max_version = TLS1_3_VERSION,
		.count = 1,
		.timeout_ms = 3000,
	};
	struct peer_config pc;
	struct bench_ids *ids = NULL;
	SSL_SESSION *session = NULL;
	char err[256];
	int c, fd, ret = 0;
	unsigned i;

	o.secret = getenv("KAGI_SECRET");
	o.password = getenv("KAGI_PASSWORD");
	optind = 1;
	while ((c = getopt_long(argc, argv, "a:p:s:m:i:A:P:n:t:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o.server = optarg;
			break;
		case 'p':
			o.port = optarg;
			break;
		case 's':
			o.secret = optarg;
			break;
		case 'm':
			o.method = optarg;
			break;
		case 'i':
			o.identity = optarg;
			break;
		case 'A':
			o.anonymous = optarg;
			break;
		case 'P':
			o.password = optarg;
			break;
		case 1:
			o.ca = optarg;
			break;
		case 2:
			o.cert = optarg;
			break;
		case 3:
			o.key = optarg;
			break;
		case 4:
			o.server_name = optarg;
			break;
		case 5:
			if (peer_parse_tls(optarg, &o.min_version, &o.max_version) < 0) {
				fprintf(stderr, "kagi test: --tls 1.2, 1.3 or any\n");
				return 2;
			}
			break;
		case 6:
			o.mtu = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			o.count = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			o.timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	memset(&pc, 0, sizeof(pc));
	if (peer_parse_method(o.method, &pc.method, &pc.inner) < 0) {
		fprintf(stderr, "kagi test: unknown method \"%s\"\n", o.method);
		return 2;
	}
	if (!o.secret || !*o.secret)
		return usage_error("no shared secret: give --secret or set KAGI_SECRET");
	if (!o.ca)
		return usage_error("--ca FILE is required: the CA that must have issued the server "
				   "certificate");
	if (pc.method == PEER_TLS && !o.cert)
		return usage_error("EAP-TLS needs a client certificate: --cert FILE");
	if (pc.method != PEER_TLS && !o.identity)
		return usage_error("PEAP and TTLS need --identity (the inner identity)");
	if (pc.method != PEER_TLS && !o.password)
		return usage_error("PEAP and TTLS need a password: set KAGI_PASSWORD (or --password)");
	if (o.count < 1 || o.count > 100)
		return usage_error("--count takes 1 to 100");
	if (o.timeout_ms < 10)
		return usage_error("--timeout takes at least 10 ms");
	if (pc.method == PEER_TLS) {
		/* As kagi bench: the key next to the certificate, the identity its CN by default. */
		struct bench_tls bt = {o.ca, o.min_version, o.max_version};
		struct bench_id *id;

		ids = bench_ids_new(NULL);
		id = ids ? bench_ids_add(ids, o.identity, NULL, o.cert, o.key, &bt, NULL, err,
					 sizeof(err))
			 : NULL;
		if (!id) {
			fprintf(stderr, "kagi test: %s\n", ids ? err : "out of memory");
			talloc_free(ids);
			return 2;
		}
		o.identity = id->name;
		pc.ssl_ctx = id->ssl_ctx;
	} else {
		pc.ssl_ctx = tls_client_ctx_new(o.ca, o.cert, o.key, o.min_version, o.max_version,
						err, sizeof(err));
		if (!pc.ssl_ctx) {
			fprintf(stderr, "kagi test: %s\n", err);
			return 2;
		}
	}
	pc.identity = o.identity;
	pc.outer_identity = o.anonymous;
	pc.password = o.password;
	pc.server_name = o.server_name;
	pc.fragment_size = o.mtu > 200 ? o.mtu - 14 : 1024;
	if (o.verbose) {
		pc.trace = trace_cb;
		pc.trace_arg = NULL;
	}
	fd = open_socket(&o);
	if (fd >= 0) {
		for (i = 1; i <= o.count && ret == 0; i++)
			ret = authenticate(&o, &pc, fd, &session, i);
		close(fd);
	}
	SSL_SESSION_free(session);
	if (ids)
		talloc_free(ids); /* and the client context of its identity */
	else
		SSL_CTX_free(pc.ssl_ctx);
	if (fd < 0)
		return 2;
	printf("%s\n", ret == 0 ? "SUCCESS" : "FAILURE");
	return ret;
}
