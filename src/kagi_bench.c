/*
 * kagi_bench.c - `kagi bench`: many concurrent EAP conversations from one process, event
 * driven (one poll loop, no thread per conversation), retransmitting like a real NAS. Closed
 * loop (--concurrency) or open loop (--rate). A weighted mix of methods (bench_mix.h:
 * --method tls:3,peap:1) and many identities (bench_ids.h: --identities, --cert-dir), every
 * certificate loaded before the run. Reports auths/s, latency percentiles, failures by reason,
 * round trips per auth and resumptions, in total and per method, and the client's own CPU per
 * auth; --json for scripts.
 */
#include "kagi_bench.h"

#include "bench_ids.h"
#include "bench_mix.h"
#include "codec.h"
#include "peer.h"
#include "tls_pkey.h"

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
#define SESSION_POOL 1024 /* resumable sessions kept, shared out over (method, identity) */
#define MIN_POOL 4	  /* ... but at least this many per (method, identity) */
#define MAX_ROUNDS 60
#define MAX_FAILED_IDS 32 /* identities named in the report's failures */
#define MAX_LATENCIES 2000000

struct conv {
	struct peer *peer;
	TALLOC_CTX *ctx; /* everything of this conversation */
	struct bench_method *m;
	struct bench_mix_id *mi;
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

/* One latency: float keeps the array as small as a double each (0.1 us precision at 1 s). */
struct lat {
	float ms;
	unsigned m; /* index of the method */
};

struct bench {
	/* options */
	const char *server, *port, *secret, *method, *identity, *anonymous, *password;
	const char *ca, *cert, *key, *server_name, *ids_file, *cert_dir;
	int min_version, max_version;
	unsigned concurrency, mtu, timeout_ms;
	unsigned long count;
	double duration, rate, resume;
	bool json;
	/* state */
	struct bench_mix *mix;
	struct bench_ids *ids;
	int fds[MAX_SOCKETS];
	unsigned n_fds;
	struct conv *slots[MAX_SOCKETS][IDS_PER_SOCKET];
	unsigned next_id[MAX_SOCKETS];
	unsigned active;
	unsigned long started;
	struct bench_tally t;
	struct codec_mac *mac; /* reply checks: MD5 and HMAC-MD5 contexts kept */
	struct lat *lat;
	unsigned long lat_n, lat_cap;
	uint64_t t0_us;
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
		"Load-test a RADIUS server with many concurrent EAP conversations, as NAS and\n"
		"supplicants. Exit 0 if every authentication succeeded, 1 if any failed, 2 on\n"
		"bad options.\n"
		"\n"
		"Server:\n"
		"  -a, --server HOST      RADIUS server (default 127.0.0.1)\n"
		"  -p, --port PORT        (default 1812)\n"
		"  -s, --secret SECRET    shared secret (or env KAGI_SECRET)\n"
		"      --ca FILE          CA that must have issued the server certificate\n"
		"      --server-name NAME expected name in the server certificate\n"
		"      --tls 1.2|1.3|any  TLS version (default any)\n"
		"      --mtu N            send Framed-MTU N (and fragment to fit)\n"
		"Methods:\n"
		"  -m, --method MIX       one method or a weighted mix METHOD[:WEIGHT],...\n"
		"                         (weights 1 to %d, default 1), e.g. tls:3,peap:1.\n"
		"                         Methods: tls (default), peap (= peap-mschapv2),\n"
		"                         peap-gtc, ttls-pap, ttls-mschapv2, ttls-eap-mschapv2,\n"
		"                         ttls-eap-gtc\n"
		"Identities: tls rotates through those with a certificate, the other methods\n"
		"through those with a password; an identity with both serves both.\n"
		"  -i, --identity NAME    identity (inner identity for PEAP/TTLS); with --cert,\n"
		"                         the certificate's CN if not given\n"
		"      --cert FILE        client certificate (PEM, may hold the key too)\n"
		"      --key FILE         its key (default: NAME.key next to NAME.pem)\n"
		"  -P, --password PW      password of -i (better: env KAGI_PASSWORD), also of\n"
		"                         --identities lines with neither cert= nor password=\n"
		"  -A, --anonymous NAME   outer identity for PEAP/TTLS (User-Name and\n"
		"                         EAP-Response/Identity), e.g. anonymous@example.org\n"
		"      --identities FILE  more identities, one a line:\n"
		"                           IDENTITY [cert=PATH [key=PATH]] [password=PW]\n"
		"                         values may be \"double quoted\"; '#' starts a\n"
		"                         comment; paths are relative to FILE's directory\n"
		"      --cert-dir DIR     one identity per DIR/NAME.pem with DIR/NAME.key,\n"
		"                         named by its CN (CA and server certificates skipped)\n"
		"Load:\n"
		"  -c, --concurrency N    conversations in flight (default 32)\n"
		"  -n, --count N          stop after N authentications\n"
		"  -d, --duration SEC     stop after SEC seconds (default 10 if no --count)\n"
		"  -r, --rate R           open loop: start R conversations per second\n"
		"      --resume F         share of conversations that resume a session (0..1),\n"
		"                         one made by the same method and identity\n"
		"  -t, --timeout MS       retransmit after MS (default 1000, 3 tries)\n"
		"Output: in total and per method, auths/s, latency p50/p95/p99, round trips per\n"
		"auth, resumptions and failures by reason; the client's CPU per auth; a progress\n"
		"line a second on stderr.\n"
		"      --json             the result as one JSON object (\"methods\": per method)\n"
		"  -h, --help\n",
		BENCH_MAX_WEIGHT);
}

static void
count_reason(struct bench_tally *t, const char *why)
{
	unsigned i;

	for (i = 0; i < t->n_why; i++) {
		if (strcmp(t->why[i].text, why) == 0) {
			t->why[i].n++;
			return;
		}
	}
	if (t->n_why < BENCH_MAX_REASONS) {
		snprintf(t->why[t->n_why].text, sizeof(t->why[0].text), "%s", why);
		t->why[t->n_why++].n = 1;
	} else {
		t->why[BENCH_MAX_REASONS - 1].n++;
	}
}

/* Count a reason in total and for the conversation's method. */
static void
conv_reason(struct bench *b, const struct conv *c, const char *why)
{
	count_reason(&b->t, why);
	count_reason(&c->m->t, why);
}

static void
finish(struct bench *b, struct conv *c, bool ok, const char *why)
{
	struct bench_tally *mt = &c->m->t;

	if (c->id >= 0)
		b->slots[c->sock][c->id] = NULL;
	if (ok) {
		bool resumed = c->resuming && peer_resumed(c->peer);
		SSL_SESSION *s;

		b->t.ok++;
		mt->ok++;
		c->mi->id->ok++;
		b->t.rounds_ok += c->rounds;
		mt->rounds_ok += c->rounds;
		b->t.resumed_ok += resumed;
		mt->resumed_ok += resumed;
		if (b->lat_n < b->lat_cap) {
			b->lat[b->lat_n].ms = (float)(now_us() - c->start_us) / 1000.0f;
			b->lat[b->lat_n++].m = (unsigned)(c->m - b->mix->m);
		}
		if (b->resume > 0 && (s = peer_session(c->peer)))
			bench_mix_keep(b->mix, c->mi, s);
	} else {
		b->t.failed++;
		mt->failed++;
		c->mi->id->failed++;
		conv_reason(b, c, why ? why : "failed");
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
		conv_reason(b, c, "send error");
}

/* Build and send the next Access-Request carrying eap. */
static bool
next_request(struct bench *b, struct conv *c, const struct eap_buf *eap)
{
	const struct peer_config *pc = &c->mi->pc;
	const char *user = pc->outer_identity ? pc->outer_identity : pc->identity;
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
	/* RFC 2865 §4.1: NAS-IP-Address or NAS-Identifier is a MUST. */
	if (!c->req || codec_out_add(c->req, 1, 0, user, strlen(user)) < 0 ||
	    codec_out_add(c->req, 32, 0, "kagi-bench", 10) < 0 ||
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
	TALLOC_CTX *ctx = talloc_new(b);
	SSL_SESSION *sess = NULL;
	struct eap_buf eap = {NULL, 0};

	if (!ctx)
		return;
	c = talloc_zero(ctx, struct conv);
	if (!c) {
		talloc_free(ctx);
		return;
	}
	c->ctx = ctx;
	c->id = -1;
	c->sock = (unsigned)(b->started % b->n_fds);
	c->start_us = now_us();
	c->m = bench_mix_pick(b->mix);
	c->mi = bench_mix_next_id(c->m);
	if (b->resume > 0 && c->mi->pool.n) {
		uint32_t rnd[2] = {0, 0};

		RAND_bytes((uint8_t *)rnd, sizeof(rnd));
		if ((double)rnd[0] / 4294967296.0 < b->resume) {
			sess = bench_mix_offer(c->mi, rnd[1]);
			c->resuming = true;
		}
	}
	c->peer = peer_new(ctx, &c->mi->pc, sess);
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
	rep = codec_reply_check(c->ctx, c->req, buf, len, b->secret, b->mac, err, sizeof(err));
	if (!rep) {
		conv_reason(b, c, "bad reply ignored");
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
open_sockets(struct bench *b, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res;
	unsigned i, want = (b->concurrency + 127) / 128;
	int r = getaddrinfo(b->server, b->port, &hints, &res);

	if (r != 0) {
		snprintf(err, errlen, "%s: %s", b->server, gai_strerror(r));
		return -1;
	}
	if (want > MAX_SOCKETS)
		want = MAX_SOCKETS;
	for (i = 0; i < want; i++) {
		int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int sz = 4 << 20;

		if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
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

/* Latency percentiles of a total or of one method, in milliseconds. */
struct pcts {
	double p50, p95, p99;
};

static int
cmp_lat(const void *a, const void *b)
{
	const struct lat *x = a, *y = b;

	return x->ms < y->ms ? -1 : x->ms > y->ms;
}

/* By method, then by latency: each method's latencies sorted in one slice. */
static int
cmp_method_lat(const void *a, const void *b)
{
	const struct lat *x = a, *y = b;

	return x->m != y->m ? (x->m < y->m ? -1 : 1) : cmp_lat(a, b);
}

/* The p-th percentile (nearest rank) of n latencies sorted by ms, 0 if none. */
static double
pct(const struct lat *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)ceil(p / 100.0 * (double)n);
	if (i > 0)
		i--;
	return v[i < n ? i : n - 1].ms;
}

static struct pcts
pcts_of(const struct lat *v, size_t n)
{
	return (struct pcts){pct(v, n, 50), pct(v, n, 95), pct(v, n, 99)};
}

/* s as a JSON string: identities come from files and certificates, so escape them. */
static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* The fields a total and a method share: counts, rate, latency, failures. */
static void
tally_json(const struct bench_tally *t, const struct pcts *l, double secs)
{
	unsigned i;

	printf("\"auths\":%lu,\"ok\":%lu,\"failed\":%lu,\"resumed\":%lu,\"auths_per_sec\":%.1f,"
	       "\"latency_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f},\"rounds_per_auth\":%.2f,"
	       "\"failures\":{",
	       t->ok + t->failed, t->ok, t->failed, t->resumed_ok,
	       secs > 0 ? (double)t->ok / secs : 0, l->p50, l->p95, l->p99,
	       t->ok ? (double)t->rounds_ok / (double)t->ok : 0);
	for (i = 0; i < t->n_why; i++) {
		printf("%s", i ? "," : "");
		json_str(t->why[i].text);
		printf(":%lu", t->why[i].n);
	}
	printf("}");
}

static void
report_json(const struct bench *b, const struct pcts *all, const struct pcts *by_m, double secs,
	    double cpu_ms)
{
	unsigned i, shown = 0;

	printf("{");
	tally_json(&b->t, all, secs);
	printf(",\"seconds\":%.3f,\"client_cpu_ms_per_auth\":%.3f,\"identities\":%u,\"methods\":{",
	       secs, b->t.ok ? cpu_ms / (double)b->t.ok : 0, b->ids->n);
	for (i = 0; i < b->mix->n; i++) {
		const struct bench_method *m = &b->mix->m[i];

		printf("%s", i ? "," : "");
		json_str(m->name);
		printf(":{\"weight\":%u,\"identities\":%u,", m->weight, m->n_ids);
		tally_json(&m->t, &by_m[i], secs);
		printf("}");
	}
	printf("},\"failed_identities\":{");
	for (i = 0; i < b->ids->n && shown < MAX_FAILED_IDS; i++) {
		if (!b->ids->v[i]->failed)
			continue;
		printf("%s", shown++ ? "," : "");
		json_str(b->ids->v[i]->name);
		printf(":%lu", b->ids->v[i]->failed);
	}
	printf("}}\n");
}

static void
tally_text(const struct bench_tally *t, const char *indent)
{
	unsigned i;

	for (i = 0; i < t->n_why; i++)
		printf("%sfailure: %s: %lu\n", indent, t->why[i].text, t->why[i].n);
}

static void
report_text(const struct bench *b, const struct pcts *all, const struct pcts *by_m, double secs,
	    double cpu_ms)
{
	const struct bench_tally *t = &b->t;
	unsigned i, shown = 0;

	printf("%lu authentications in %.2f s: %lu ok (%lu resumed), %lu failed\n",
	       t->ok + t->failed, secs, t->ok, t->resumed_ok, t->failed);
	printf("  %.1f auths/s, latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms\n",
	       secs > 0 ? (double)t->ok / secs : 0, all->p50, all->p95, all->p99);
	printf("  %.2f round trips per auth, client CPU %.3f ms per auth\n",
	       t->ok ? (double)t->rounds_ok / (double)t->ok : 0,
	       t->ok ? cpu_ms / (double)t->ok : 0);
	tally_text(t, "  ");
	for (i = 0; b->mix->n > 1 && i < b->mix->n; i++) {
		const struct bench_method *m = &b->mix->m[i];

		printf("  %s (weight %u, %u identit%s): %lu ok (%lu resumed), %lu failed, "
		       "%.1f auths/s,\n    latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, "
		       "%.2f round trips per auth\n",
		       m->name, m->weight, m->n_ids, m->n_ids == 1 ? "y" : "ies", m->t.ok,
		       m->t.resumed_ok, m->t.failed, secs > 0 ? (double)m->t.ok / secs : 0,
		       by_m[i].p50, by_m[i].p95, by_m[i].p99,
		       m->t.ok ? (double)m->t.rounds_ok / (double)m->t.ok : 0);
		tally_text(&m->t, "    ");
	}
	for (i = 0; i < b->ids->n; i++) {
		if (!b->ids->v[i]->failed)
			continue;
		if (shown++ < MAX_FAILED_IDS)
			printf("%s%s %lu", shown > 1 ? ", " : "  failed identities: ",
			       b->ids->v[i]->name, b->ids->v[i]->failed);
	}
	if (shown > MAX_FAILED_IDS)
		printf(" and %u more", shown - MAX_FAILED_IDS);
	if (shown)
		printf("\n");
}

/*
 * The results, in total and per method. The latencies are sorted once by time for the total,
 * then by method and time, so that each method's are one sorted slice.
 */
static void
report(struct bench *b, double secs, double cpu_ms)
{
	struct pcts all, by_m[BENCH_MAX_MIX];
	size_t n_m[BENCH_MAX_MIX] = {0}, off = 0;
	unsigned long i;
	unsigned k;

	qsort(b->lat, b->lat_n, sizeof(b->lat[0]), cmp_lat);
	all = pcts_of(b->lat, b->lat_n);
	if (b->mix->n > 1)
		qsort(b->lat, b->lat_n, sizeof(b->lat[0]), cmp_method_lat);
	for (i = 0; i < b->lat_n; i++)
		n_m[b->lat[i].m]++;
	for (k = 0; k < b->mix->n; k++) {
		by_m[k] = pcts_of(b->lat + off, n_m[k]);
		off += n_m[k];
	}
	if (b->json)
		report_json(b, &all, by_m, secs, cpu_ms);
	else
		report_text(b, &all, by_m, secs, cpu_ms);
}

static double
cpu_ms_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

/* One line a second on stderr: totals, and what each method of a mix has done. */
static void
progress(const struct bench *b, uint64_t t)
{
	unsigned i;

	fprintf(stderr, "  %5.1f s: %lu ok, %lu failed, %u in flight",
		(double)(t - b->t0_us) / 1e6, b->t.ok, b->t.failed, b->active);
	for (i = 0; b->mix->n > 1 && i < b->mix->n; i++)
		fprintf(stderr, "%s%s %lu ok", i ? ", " : " (", b->mix->m[i].name,
			b->mix->m[i].t.ok);
	fprintf(stderr, "%s\n", b->mix->n > 1 ? ")" : "");
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
			progress(b, t);
			last_progress = t;
		}
		/* A hard stop: never run much past the deadline. */
		if (stopping && t > end_us + (uint64_t)b->timeout_ms * 4000 && b->duration > 0)
			break;
	}
	secs = (double)(now_us() - b->t0_us) / 1e6;
	report(b, secs, cpu_ms_now() - cpu0);
	return b->t.ok > 0 && b->t.failed == 0 ? 0 : 1;
}

/* Say (on stderr) which identities no method of the mix can use: likely a mistake. */
static void
note_unused(const struct bench *b)
{
	const char *first = NULL;
	unsigned j, unused = 0;

	for (j = 0; j < b->ids->n; j++)
		if (!bench_mix_uses(b->mix, b->ids->v[j]) && !unused++)
			first = b->ids->v[j]->name;
	if (unused)
		fprintf(stderr,
			"kagi bench: note: %u of %u identities (first %s) serve no method of the "
			"mix\n",
			unused, b->ids->n, first);
}

/*
 * Everything a run needs, made before it starts: the mix, the identities with every
 * certificate and key loaded, the peer configurations, the sockets. 0, or -1 with err.
 */
static int
bench_prepare(struct bench *b, char *err, size_t errlen)
{
	struct bench_tls tls = {b->ca, b->min_version, b->max_version};
	struct peer_config base = {
		.outer_identity = b->anonymous,
		.server_name = b->server_name,
		.fragment_size = b->mtu > 200 ? b->mtu - 14 : 1024,
	};
	char note[1024];

	if (!b->secret || !*b->secret) {
		snprintf(err, errlen, "need --secret SECRET (or env KAGI_SECRET)");
		return -1;
	}
	if (!b->ca) {
		snprintf(err, errlen, "need --ca FILE, the CA that issued the server certificate");
		return -1;
	}
	if (b->key && !b->cert) {
		snprintf(err, errlen, "--key without --cert");
		return -1;
	}
	if (!(b->mix = bench_mix_new(b, b->method, err, errlen)))
		return -1;
	if (!(b->ids = bench_ids_new(b))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((b->identity || b->cert) && !bench_ids_add(b->ids, b->identity, b->password, b->cert,
						       b->key, &tls, NULL, err, errlen))
		return -1;
	if (b->ids_file &&
	    bench_ids_read_file(b->ids, b->ids_file, b->password, &tls, err, errlen) < 0)
		return -1;
	if (b->cert_dir) {
		if (bench_ids_read_dir(b->ids, b->cert_dir, &tls, note, sizeof(note), err, errlen) <
		    0)
			return -1;
		if (*note)
			fprintf(stderr, "kagi bench: --cert-dir %s: %s\n", b->cert_dir, note);
	}
	if (!b->ids->n) {
		snprintf(err, errlen,
			 "no identity: -i NAME with --cert or a password, --identities FILE or "
			 "--cert-dir DIR");
		return -1;
	}
	if (bench_mix_bind(b->mix, b->ids, &base, &tls, SESSION_POOL, MIN_POOL, err, errlen) < 0)
		return -1;
	note_unused(b);
	if (!b->count && b->duration <= 0)
		b->duration = 10;
	b->lat_cap = b->count && b->count < MAX_LATENCIES ? b->count : MAX_LATENCIES;
	if (!(b->lat = talloc_array(b, struct lat, b->lat_cap)) || !(b->mac = codec_mac_new(b))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return open_sockets(b, err, errlen);
}

/* The sockets go with the run (the mix and the identities free their OpenSSL objects). */
static int
bench_destructor(struct bench *b)
{
	unsigned i;

	for (i = 0; i < b->n_fds; i++)
		close(b->fds[i]);
	return 0;
}

enum bench_opts {
	OPTS_RUN,
	OPTS_HELP, /* --help printed: exit 0 */
	OPTS_BAD,  /* said why on stderr: exit 2 */
};

/* A number from min to max (whole if whole) in *out, or false after saying what is wrong. */
static bool
opt_number(const char *opt, const char *arg, double min, double max, bool whole, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end == arg || *end || errno || !(v >= min && v <= max) || (whole && v != floor(v))) {
		fprintf(stderr, "kagi bench: %s \"%s\": want a%s number from %g to %g\n", opt, arg,
			whole ? " whole" : "", min, max);
		return false;
	}
	*out = v;
	return true;
}

static enum bench_opts
bench_options(struct bench *b, int argc, char **argv)
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
		{"identities", required_argument, NULL, 9},
		{"cert-dir", required_argument, NULL, 10},
		{"concurrency", required_argument, NULL, 'c'},
		{"count", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'},
		{"rate", required_argument, NULL, 'r'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	double v;
	int c;

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
			if (peer_parse_tls(optarg, &b->min_version, &b->max_version) < 0) {
				fprintf(stderr, "kagi bench: --tls 1.2, 1.3 or any\n");
				return OPTS_BAD;
			}
			break;
		case 5:
			if (!opt_number("--mtu", optarg, 0, 65535, true, &v))
				return OPTS_BAD;
			b->mtu = (unsigned)v;
			break;
		case 6:
			if (!opt_number("--resume", optarg, 0, 1, false, &b->resume))
				return OPTS_BAD;
			break;
		case 7:
			b->json = true;
			break;
		case 8:
			b->server_name = optarg;
			break;
		case 9:
			b->ids_file = optarg;
			break;
		case 10:
			b->cert_dir = optarg;
			break;
		case 'c':
			if (!opt_number("--concurrency", optarg, 1, 16000, true, &v))
				return OPTS_BAD;
			b->concurrency = (unsigned)v;
			break;
		case 'n':
			if (!opt_number("--count", optarg, 0, 1e12, true, &v))
				return OPTS_BAD;
			b->count = (unsigned long)v;
			break;
		case 'd':
			if (!opt_number("--duration", optarg, 0, 1e7, false, &b->duration))
				return OPTS_BAD;
			break;
		case 'r':
			if (!opt_number("--rate", optarg, 0, 1e7, false, &b->rate))
				return OPTS_BAD;
			break;
		case 't':
			if (!opt_number("--timeout", optarg, 10, 600000, true, &v))
				return OPTS_BAD;
			b->timeout_ms = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			return OPTS_HELP;
		default:
			usage(stderr);
			return OPTS_BAD;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kagi bench: unexpected argument \"%s\" (kagi bench --help)\n",
			argv[optind]);
		return OPTS_BAD;
	}
	return OPTS_RUN;
}

int
kagi_bench_main(int argc, char **argv)
{
	struct bench *b = talloc_zero(NULL, struct bench);
	char err[768];
	int ret;

	if (!b)
		return 1;
	talloc_set_destructor(b, bench_destructor);
	b->server = "127.0.0.1";
	b->port = "1812";
	b->method = "tls";
	b->min_version = TLS1_2_VERSION;
	b->max_version = TLS1_3_VERSION;
	b->concurrency = 32;
	b->timeout_ms = 1000;
	b->secret = getenv("KAGI_SECRET");
	b->password = getenv("KAGI_PASSWORD");
	switch (bench_options(b, argc, argv)) {
	case OPTS_HELP:
		ret = 0;
		break;
	case OPTS_BAD:
		ret = 2;
		break;
	default:
		tls_pkey_fast_decode();
		if (bench_prepare(b, err, sizeof(err)) < 0) {
			fprintf(stderr, "kagi bench: %s\n", err);
			ret = 2;
		} else {
			ret = run(b);
		}
	}
	talloc_free(b);
	return ret;
}
