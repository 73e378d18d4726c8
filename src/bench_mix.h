/*
 * bench_mix.h - the method mix of `kagi bench` (--method tls:3,peap:1): which method runs next
 * (smooth weighted round robin), which identity it runs as (each method rotates through those it
 * can use: a certificate for EAP-TLS, a password for PEAP/TTLS), and the TLS sessions each
 * (method, identity) made, so that --resume only ever offers a session to the method and
 * identity it belongs to. Nothing here logs: errors come back in a buffer.
 */
#ifndef KAGI_BENCH_MIX_H
#define KAGI_BENCH_MIX_H

#include "bench_ids.h"
#include "peer.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#define BENCH_MAX_MIX 16
#define BENCH_MAX_WEIGHT 1000
#define BENCH_MAX_REASONS 32

/* What kagi bench counts, in total and for each method. */
struct bench_tally {
	unsigned long ok, failed, rounds_ok, resumed_ok;
	struct {
		char text[96];
		unsigned long n;
	} why[BENCH_MAX_REASONS]; /* failures by reason */
	unsigned n_why;
};

/* The sessions one (method, identity) made, offered again by --resume. */
struct bench_pool {
	SSL_SESSION **s; /* pool_cap of them, allocated with the first */
	unsigned n, next;
};

/*
 * One identity as one method uses it: the peer configuration its conversations point at (it
 * lives as long as the mix) and the sessions they made.
 */
struct bench_mix_id {
	struct bench_id *id;
	struct peer_config pc;
	struct bench_pool pool;
};

/* One method of the mix: its weight, the identities it rotates through, its results. */
struct bench_method {
	char name[24]; /* as given on the command line */
	enum peer_method method;
	enum peer_inner inner;
	unsigned weight;
	long current; /* smooth weighted round robin */
	struct bench_mix_id *ids;
	unsigned n_ids, next;
	struct bench_tally t;
};

/* The mix. A talloc object: freeing it frees the sessions it keeps and its PEAP/TTLS context. */
struct bench_mix {
	struct bench_method m[BENCH_MAX_MIX];
	unsigned n, weight_sum;
	unsigned pool_cap;  /* sessions kept per (method, identity) */
	SSL_CTX *pw_ctx;    /* PEAP/TTLS conversations: no client certificate */
};

/*
 * bench_mix_new - parse spec, "METHOD[:WEIGHT],..." (weights 1 to BENCH_MAX_WEIGHT, default 1;
 * methods as peer_parse_method, each at most once). Child of ctx. NULL with err on a bad spec.
 */
struct bench_mix *bench_mix_new(TALLOC_CTX *ctx, const char *spec, char *err, size_t errlen);

/*
 * bench_mix_bind - give each method the identities of ids it can use, in order, each with a
 * copy of base (server name, outer identity for PEAP/TTLS, fragment size) completed with the
 * method, the identity, its password (PEAP/TTLS) and its client context (EAP-TLS; PEAP/TTLS
 * share one made here from tls). Shares out the session pools: sessions in total (at least
 * min_per_pair per (method, identity)). The identities must outlive the mix. 0, or -1 with err
 * (a method with no identity it can use).
 */
int bench_mix_bind(struct bench_mix *mix, const struct bench_ids *ids,
		   const struct peer_config *base, const struct bench_tls *tls, unsigned sessions,
		   unsigned min_per_pair, char *err, size_t errlen);

/* bench_mix_pick - the method of the next conversation (smooth weighted round robin). */
struct bench_method *bench_mix_pick(struct bench_mix *mix);

/* bench_mix_next_id - the identity m runs as next (round robin over its identities). */
struct bench_mix_id *bench_mix_next_id(struct bench_method *m);

/* bench_mix_uses - whether some method of the mix uses id. */
bool bench_mix_uses(const struct bench_mix *mix, const struct bench_id *id);

/*
 * bench_mix_keep - keep s (the caller's reference passes to the pool) for mi, replacing the
 * oldest when the pool is full.
 */
void bench_mix_keep(struct bench_mix *mix, struct bench_mix_id *mi, SSL_SESSION *s);

/* bench_mix_offer - one of mi's sessions picked by rnd (still the pool's), or NULL if none. */
SSL_SESSION *bench_mix_offer(const struct bench_mix_id *mi, uint32_t rnd);

#endif
