/*
 * bench_mix.c - the method mix of `kagi bench` (see bench_mix.h): parsing --method, smooth
 * weighted round robin over the methods, round robin over each method's identities, and the
 * per-(method, identity) session pools of --resume.
 */
#include "bench_mix.h"

#include "tls_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
mix_destructor(struct bench_mix *mix)
{
	unsigned i, j, k;

	for (i = 0; i < mix->n; i++) {
		for (j = 0; j < mix->m[i].n_ids; j++) {
			const struct bench_pool *p = &mix->m[i].ids[j].pool;

			for (k = 0; k < p->n; k++)
				SSL_SESSION_free(p->s[k]);
		}
	}
	SSL_CTX_free(mix->pw_ctx);
	return 0;
}

/* "WEIGHT" as a whole number from 1 to BENCH_MAX_WEIGHT, or 0. */
static unsigned
parse_weight(const char *s)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	return errno || *end || v > BENCH_MAX_WEIGHT ? 0 : (unsigned)v;
}

/* One entry of the spec, item = "METHOD[:WEIGHT]" (modified), added to mix. 0 or -1 + err. */
static int
parse_entry(struct bench_mix *mix, char *item, char *err, size_t errlen)
{
	struct bench_method *m = &mix->m[mix->n];
	char *w = strchr(item, ':');
	unsigned i;

	if (w)
		*w++ = '\0';
	m->weight = w ? parse_weight(w) : 1;
	if (!m->weight) {
		snprintf(err, errlen,
			 "--method: weight \"%s\" of %s: a weight is a whole number from 1 to %d",
			 w, item, BENCH_MAX_WEIGHT);
		return -1;
	}
	if (mix->n == BENCH_MAX_MIX) {
		snprintf(err, errlen, "--method: at most %d methods in a mix", BENCH_MAX_MIX);
		return -1;
	}
	if (peer_parse_method(item, &m->method, &m->inner) < 0) {
		snprintf(err, errlen,
			 "--method: unknown method \"%s\" (tls, peap, peap-gtc, ttls-pap, "
			 "ttls-mschapv2, ttls-eap-mschapv2, ttls-eap-gtc)",
			 item);
		return -1;
	}
	for (i = 0; i < mix->n; i++) {
		if (mix->m[i].method == m->method && mix->m[i].inner == m->inner) {
			snprintf(err, errlen, "--method: %s given twice (as %s)", item,
				 mix->m[i].name);
			return -1;
		}
	}
	/* A known method name is short: it fits. */
	snprintf(m->name, sizeof(m->name), "%.*s", (int)sizeof(m->name) - 1, item);
	mix->weight_sum += m->weight;
	mix->n++;
	return 0;
}

struct bench_mix *
bench_mix_new(TALLOC_CTX *ctx, const char *spec, char *err, size_t errlen)
{
	struct bench_mix *mix = talloc_zero(ctx, struct bench_mix);
	const char *p = spec;

	if (!mix) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	talloc_set_destructor(mix, mix_destructor);
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char item[64];

		if (len == 0 || len >= sizeof(item)) {
			snprintf(err, errlen,
				 "--method %.100s: an entry is METHOD or METHOD:WEIGHT", spec);
			goto fail;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (parse_entry(mix, item, err, errlen) < 0)
			goto fail;
		if (!end)
			return mix;
		p = end + 1;
	}
fail:
	talloc_free(mix);
	return NULL;
}

int
bench_mix_bind(struct bench_mix *mix, const struct bench_ids *ids,
	       const struct peer_config *base, const struct bench_tls *tls, unsigned sessions,
	       unsigned min_per_pair, char *err, size_t errlen)
{
	unsigned i, j, pairs = 0;

	for (i = 0; i < mix->n; i++) {
		struct bench_method *m = &mix->m[i];
		bool is_tls = m->method == PEER_TLS;

		if (!is_tls && !mix->pw_ctx &&
		    !(mix->pw_ctx = tls_client_ctx_new(tls->ca, NULL, NULL, tls->min_version,
						       tls->max_version, err, errlen)))
			return -1;
		if (!(m->ids = talloc_zero_array(mix, struct bench_mix_id, ids->n))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		for (j = 0; j < ids->n; j++) {
			struct bench_id *id = ids->v[j];
			struct peer_config *pc;

			if (is_tls ? !id->ssl_ctx : !id->password)
				continue;
			m->ids[m->n_ids].id = id;
			pc = &m->ids[m->n_ids++].pc;
			*pc = *base;
			pc->method = m->method;
			pc->inner = m->inner;
			pc->identity = id->name;
			/* kagid binds an EAP-TLS identity to its certificate: tunnels hide it. */
			if (is_tls)
				pc->outer_identity = NULL;
			/* EAP-TLS has no use for a password: the peer would hash it for nothing. */
			pc->password = is_tls ? NULL : id->password;
			pc->ssl_ctx = is_tls ? id->ssl_ctx : mix->pw_ctx;
		}
		if (!m->n_ids) {
			snprintf(err, errlen,
				 is_tls ? "%s needs an identity with a certificate (--cert, "
					  "cert= in --identities, or --cert-dir)"
					: "%s needs an identity with a password (-P or "
					  "KAGI_PASSWORD, password= in --identities)",
				 m->name);
			return -1;
		}
		pairs += m->n_ids;
	}
	mix->pool_cap = pairs && sessions / pairs > min_per_pair ? sessions / pairs : min_per_pair;
	if (!mix->pool_cap)
		mix->pool_cap = 1;
	return 0;
}

/*
 * Smooth weighted round robin (as nginx balances upstreams): each method gains its weight, the
 * one furthest ahead runs and pays back the total. tls:3,peap:1 gives tls tls peap tls, spread
 * evenly rather than in bursts.
 */
struct bench_method *
bench_mix_pick(struct bench_mix *mix)
{
	struct bench_method *best = &mix->m[0]; /* a mix has one method at least */
	unsigned i;

	for (i = 0; i < mix->n; i++) {
		struct bench_method *m = &mix->m[i];

		m->current += m->weight;
		if (m->current > best->current)
			best = m;
	}
	best->current -= mix->weight_sum;
	return best;
}

struct bench_mix_id *
bench_mix_next_id(struct bench_method *m)
{
	struct bench_mix_id *mi = &m->ids[m->next];

	m->next = (m->next + 1) % m->n_ids;
	return mi;
}

bool
bench_mix_uses(const struct bench_mix *mix, const struct bench_id *id)
{
	unsigned i, k;

	for (i = 0; i < mix->n; i++)
		for (k = 0; k < mix->m[i].n_ids; k++)
			if (mix->m[i].ids[k].id == id)
				return true;
	return false;
}

void
bench_mix_keep(struct bench_mix *mix, struct bench_mix_id *mi, SSL_SESSION *s)
{
	struct bench_pool *p = &mi->pool;

	if (!p->s && !(p->s = talloc_zero_array(mix, SSL_SESSION *, mix->pool_cap))) {
		SSL_SESSION_free(s);
		return;
	}
	if (p->n < mix->pool_cap) {
		p->s[p->n++] = s;
		return;
	}
	SSL_SESSION_free(p->s[p->next]);
	p->s[p->next] = s;
	p->next = (p->next + 1) % mix->pool_cap;
}

SSL_SESSION *
bench_mix_offer(const struct bench_mix_id *mi, uint32_t rnd)
{
	return mi->pool.n ? mi->pool.s[rnd % mi->pool.n] : NULL;
}
