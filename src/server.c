/*
 * server.c - receive pipeline, sessions to replies, logging, event loop (see server.h).
 * RFC 2865, RFC 3579 §3 (EAP over RADIUS), RFC 5080 §2.2 (duplicates), RFC 5997 (Status-Server).
 *
 * Threads: every worker thread waits on all the listening sockets (its own epoll set, with
 * EPOLLEXCLUSIVE so that a datagram wakes one worker, not all) and takes a request from
 * receipt to reply: no hand-off between threads, so no queue and no extra wake-up per packet.
 * The socket's receive buffer is the only queue; when the workers cannot keep up, the kernel
 * drops, and the NAS retransmits. The main thread handles signals (reload, stop), the
 * once-a-second expiry and the kernel filter for floods from unknown addresses (srcfilter.h).
 * A conversation is worked on by one thread at a time (session_claim), and the duplicate cache
 * marks a request pending while it is being answered, so a retransmission is never worked on
 * twice. The RADIUS codec, the session table, the duplicate
 * cache, the TLS session cache and the authentication log each have their own lock. A worker
 * holds a reference to the configuration generation it last saw (renewed after a reload) for
 * the requests it works on; a conversation holds its own for as long as it lasts.
 */
#include "server.h"

#include "auth_log.h"
#include "codec.h"
#include "conf.h"
#include "dupcache.h"
#include "eap.h"
#include "log.h"
#include "policy.h"
#include "session.h"
#include "srcfilter.h"
#include "tls_ctx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 64
#define DROP_LOG_BURST 10 /* drop warnings per kind per 10 s outside -X */
#define RCVBUF_BYTES (4 << 20)
/*
 * Unknown-source floods (srcfilter.h): at FLOOD_ON datagrams a second from addresses that are
 * not clients, those are dropped in the kernel, one in FLOOD_SAMPLE still let through (to log
 * and to measure); after FLOOD_QUIET_S seconds under FLOOD_OFF a second, the filter goes.
 */
#define FLOOD_ON 500
#define FLOOD_OFF 50
#define FLOOD_SAMPLE 256
#define FLOOD_QUIET_S 10
/*
 * Floods of datagrams that are dropped after reading them (a wrong Message-Authenticator from a
 * client's address, a broken packet, an unknown source the kernel filter does not cover): at
 * FLOOD_ON a second (over 100 ms) in one worker, it pauses PACE_US after emptying the socket
 * before it waits again, for PACE_MS after the last such burst. Each wake-up then reads a batch
 * instead of a datagram or two: the wake-up (a context switch) cost more than the checks. A
 * request from a client waits at most PACE_US more meanwhile; the receive buffer holds the
 * datagrams of the pause.
 */
#define PACE_US 200
#define PACE_MS 1000

enum drop_kind {
	DROP_UNKNOWN_CLIENT,
	DROP_BAD_PACKET,
	DROP_KINDS,
};

/* A received request on its way through a worker: the datagram and where it came from. */
struct job {
	struct conf *conf;	 /* the generation cl belongs to (the worker's reference) */
	const struct client *cl; /* the RADIUS client it came from */
	int fd;			 /* the socket it came in on (the reply goes out there) */
	const struct sockaddr *from;
	socklen_t fromlen;
	const uint8_t *buf;
	size_t len;  /* the RADIUS Length (trailing bytes ignored) */
	bool status; /* Status-Server: never in the duplicate cache */
	uint64_t now_ms;
	struct codec_mac *mac; /* the worker's HMAC-MD5/MD5 contexts (NULL: slower fallback) */
};

/* Warnings about dropped packets, rate limited per kind (each worker keeps its own counts). */
struct drop_limit {
	uint64_t window_ms[DROP_KINDS];
	unsigned logged[DROP_KINDS];
	unsigned long suppressed[DROP_KINDS];
};

/*
 * A worker thread's own state: nothing here is shared, so nothing here needs a lock, except
 * unknown, which main reads (flood_check).
 */
/* Datagrams of one kind counted over 100 ms windows (burst_hit). */
struct burst {
	uint64_t start_ms;
	unsigned n;
};

struct worker {
	struct server *srv;
	struct conf *conf; /* reference: the generation it last saw */
	unsigned gen;	   /* srv->conf_gen when conf was taken */
	struct codec_mac *mac; /* Message-Authenticator checks, reply signing */
	struct drop_limit drops;
	atomic_ulong unknown; /* datagrams dropped as not from a client, ever */
	struct burst unknown_burst; /* unknown sources seen (main told at a flood's rate) */
	struct burst dropped_burst; /* datagrams read and dropped (paced at a flood's rate) */
	uint64_t pace_until_ms; /* pausing after each emptied socket until then (0: not) */
};

struct server {
	char *dir;
	bool debug;
	struct session_table *sessions;
	struct dupcache *dups;
	struct tls_cache *tls_cache;
	bool daemon;
	int fds[16];
	int fd_family[16];
	unsigned n_fds;
	/* the unknown-source flood filter (main only) */
	bool filter_on;
	bool filter_unusable;	    /* cannot be built for this configuration (until a reload) */
	unsigned long unknown_seen; /* the workers' unknown counts summed at the last check */
	unsigned quiet_s;	    /* seconds in a row under FLOOD_OFF while on */
	uint64_t filter_tick_ms;    /* when that check was */
	unsigned threads_wanted; /* -t, else the configuration's threads (0: one per CPU) */
	unsigned long live_peak; /* most sessions + cached replies since the last trim (main) */
	pthread_t *threads;
	struct worker *workers;
	unsigned n_threads;
	int stop_fd;  /* eventfd: written once to stop the workers */
	int flood_fd; /* eventfd: a worker saw many unknown sources; main checks at once */
	/*
	 * conf_lock: the current generation, swapped by main. Each worker keeps a reference to the
	 * generation it last saw and takes the lock only when conf_gen says it changed, so the
	 * receive path touches no lock and no shared counter for a packet it drops.
	 */
	pthread_mutex_t conf_lock;
	struct conf *conf;
	atomic_uint conf_gen;
	/* lock: the authentication log (swapped on reload) and the eviction warning counts */
	pthread_mutex_t lock;
	struct auth_log *auth_log;
	uint64_t evict_window_ms;
	unsigned evict_logged;
	unsigned long evict_suppressed;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
addr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
		snprintf(out, outlen, "%s:%u", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		port = ntohs(s6->sin6_port);
		snprintf(out, outlen, "[%s]:%u", ip, port);
	} else {
		snprintf(out, outlen, "?");
	}
}

static void
addr_ip(const struct sockaddr *sa, char *out, size_t outlen)
{
	out[0] = '\0';
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  (socklen_t)outlen);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)outlen);
}

/*
 * Warnings about dropped packets: all of them in -X, else a burst per 10 s per kind and then a
 * count of the rest.
 */
static bool
drop_should_log(struct worker *w, enum drop_kind k, uint64_t now_ms)
{
	struct drop_limit *d = &w->drops;

	if (w->srv->debug)
		return true;
	if (now_ms - d->window_ms[k] >= 10000) {
		if (d->suppressed[k])
			log_warn("... and %lu more such packets dropped in the last 10 s",
				 d->suppressed[k]);
		d->window_ms[k] = now_ms;
		d->logged[k] = 0;
		d->suppressed[k] = 0;
	}
	if (d->logged[k] >= DROP_LOG_BURST) {
		d->suppressed[k]++;
		return false;
	}
	d->logged[k]++;
	return true;
}

/* ---- authentication log ---- */

/* The line is made outside the lock (workers do not wait on each other's JSON), then written. */
static void
write_auth_record(struct server *srv, const struct auth_record *r)
{
	char *line = auth_log_format(NULL, r);

	if (!line)
		return;
	pthread_mutex_lock(&srv->lock);
	auth_log_put(srv->auth_log, line);
	pthread_mutex_unlock(&srv->lock);
	talloc_free(line);
}

static void
log_session(struct server *srv, struct eap_session *s, const char *result, uint64_t now_ms)
{
	struct auth_record r = {
		.client = s->client,
		.nas = s->nas,
		.calling_station_id = s->calling_station_id[0] ? s->calling_station_id : NULL,
		.identity = s->identity,
		.outer_identity = s->outer_identity[0] && strcmp(s->outer_identity, s->identity)
					  ? s->outer_identity
					  : NULL,
		.method = s->method ? s->method->name : NULL,
		.inner_method = s->inner_method,
		.tls_version = s->tls_version,
		.resumed = s->resumed,
		.cert_subject = s->cert ? s->cert->subject : NULL,
		.cert_issuer = s->cert ? s->cert->issuer : NULL,
		.cert_serial = s->cert ? s->cert->serial : NULL,
		.result = result,
		.reason = s->reason ? s->reason : (strcmp(result, "accept") == 0 ? "ok" : "?"),
		.rounds = s->rounds,
		.ms = now_ms > s->created_ms ? now_ms - s->created_ms : 0,
	};

	write_auth_record(srv, &r);
	if (strcmp(result, "accept") == 0)
		log_info("Login OK: [%s] (from client %s, %s%s%s)", s->identity, s->client,
			 s->method ? "EAP-" : "", s->method ? s->method->name : "",
			 s->resumed ? ", resumed" : "");
	else
		log_info("Login incorrect: [%s] (from client %s): %s", s->identity, s->client,
			 r.reason);
}

static void
log_no_session(struct server *srv, const struct client *cl, const char *nas,
	       struct codec_request *req, const char *reason)
{
	char identity[254] = "", csid[64] = "";
	struct auth_record r = {
		.client = cl->shortname,
		.nas = nas,
		.result = "reject",
		.reason = reason,
		.rounds = 1,
	};

	codec_request_string(req, CODEC_ATTR_USER_NAME, identity, sizeof(identity));
	if (codec_request_string(req, CODEC_ATTR_CALLING_STATION_ID, csid, sizeof(csid)))
		r.calling_station_id = csid;
	r.identity = identity;
	write_auth_record(srv, &r);
	log_info("Login incorrect: [%s] (from client %s): %s", identity, cl->shortname, reason);
}

/* Called by the session table (its lock held) from whichever thread evicts or expires. */
static void
session_dropped(void *arg, struct eap_session *s, const char *why)
{
	struct server *srv = arg;
	uint64_t now_ms = mono_ms();

	if (strcmp(why, "evicted") == 0) {
		s->reason = "evicted: session table full (least recently active dropped)";
		if (!srv->debug) {
			bool quiet = false;

			pthread_mutex_lock(&srv->lock);
			if (now_ms - srv->evict_window_ms >= 10000) {
				if (srv->evict_suppressed)
					log_warn("%lu half-open conversations evicted in the last "
						 "10 s (session table full)",
						 srv->evict_suppressed);
				srv->evict_window_ms = now_ms;
				srv->evict_logged = 0;
				srv->evict_suppressed = 0;
			}
			if (srv->evict_logged >= DROP_LOG_BURST) {
				srv->evict_suppressed++;
				quiet = true;
			} else {
				srv->evict_logged++;
			}
			pthread_mutex_unlock(&srv->lock);
			if (quiet)
				return;
		}
	} else if (s->reason) {
		/* Keep why it was failing (a fatal alert the peer never acknowledged, say). */
		char was[sizeof(s->reason_buf)];

		snprintf(was, sizeof(was), "%s", s->reason);
		session_set_reason(s, "%s; then the peer stopped answering (session timeout)", was);
	} else {
		s->reason = "peer stopped answering (session timeout)";
	}
	log_session(srv, s, "abandoned", now_ms);
}

static void
trace_session(void *arg, const char *text)
{
	struct eap_session *s = arg;

	log_msg(LOG_LVL_DEBUG, "(%02x%02x%02x%02x) %s", s->state[0], s->state[1], s->state[2],
		s->state[3], text);
}

static void
trace_attr(void *arg, const char *text)
{
	(void)arg;
	log_msg(LOG_LVL_DEBUG, "  %s", text);
}

/* ---- replies ---- */

static int
send_reply(struct server *srv, const struct job *job, struct codec_reply *rep, uint64_t now_ms)
{
	const struct client *cl = job->cl;
	const struct sockaddr *to = job->from;
	const uint8_t *out;
	size_t outlen;
	char err[256];

	if (codec_reply_encode_mac(rep, cl->secret, job->mac, &out, &outlen, err, sizeof(err)) < 0) {
		log_error("client %s: %s", cl->shortname, err);
		return -1;
	}
	if (srv->debug) {
		char a[80];

		addr_text(to, a, sizeof(a));
		log_msg(LOG_LVL_DEBUG, "Sent %s Id %u to %s length %zu",
			codec_code_name(codec_reply_code(rep)), job->buf[1], a, outlen);
		codec_reply_describe(rep, trace_attr, NULL);
	}
	/* Cached before it is sent: a retransmission racing the reply must find it. */
	if (!job->status)
		dupcache_store(srv->dups, to, job->buf[1], job->buf + 4, out, outlen, now_ms,
			       (uint64_t)job->conf->limits.dup_cache_time * 1000,
			       job->conf->limits.dup_cache_size);
	if (sendto(job->fd, out, outlen, 0, to, job->fromlen) < 0)
		log_warn("sendto: %s", strerror(errno));
	return 0;
}

static struct codec_reply *
reply_eap(TALLOC_CTX *ctx, struct codec_request *req, int code, const struct eap_buf *eap)
{
	struct codec_reply *rep = codec_reply_new(ctx, req, code);

	if (!rep)
		return NULL;
	if (eap && eap->len &&
	    codec_reply_add(rep, CODEC_ATTR_EAP_MESSAGE, 0, eap->data, eap->len) < 0)
		return NULL;
	return rep;
}

static struct codec_reply *
build_accept(TALLOC_CTX *ctx, struct codec_request *req, struct eap_session *s,
	     const struct eap_buf *eap)
{
	struct codec_reply *rep = reply_eap(ctx, req, CODEC_ACCESS_ACCEPT, eap);

	if (!rep)
		return NULL;
	if (s->have_keys) {
		/* RFC 5216 §2.3 / RFC 2548: Recv-Key = MSK[0..31], Send-Key = MSK[32..63]. */
		if (codec_reply_add_mppe(rep, s->msk, s->msk + 32) < 0)
			return NULL;
		/* RFC 4072 §6.2: EAP-Key-Name only when the NAS asked for it. */
		if (codec_request_has(req, CODEC_ATTR_EAP_KEY_NAME) && s->session_id_len)
			codec_reply_add(rep, CODEC_ATTR_EAP_KEY_NAME, 0, s->session_id,
					s->session_id_len);
	}
	/*
	 * Most specific first, and each attribute from the most specific source that has it: the
	 * user, its groups in order, then the certificate rule. A configured User-Name replaces
	 * the authenticated identity (RFC 2865 §5.1: at most one).
	 */
	if (s->user) {
		unsigned g;

		if (codec_reply_add_pairs(rep, s->user->reply) < 0)
			return NULL;
		for (g = 0; g < s->user->n_groups; g++)
			if (codec_reply_add_pairs(rep, s->user->group_replies[g]) < 0)
				return NULL;
	}
	if (codec_reply_add_pairs(rep, s->reply_rule) < 0)
		return NULL;
	if (s->identity[0] && !codec_reply_has(rep, CODEC_ATTR_USER_NAME))
		codec_reply_add_string(rep, CODEC_ATTR_USER_NAME, s->identity);
	return rep;
}

/* ---- Access-Request ---- */

static struct codec_reply *
handle_access_request(struct server *srv, TALLOC_CTX *ctx, const struct job *job,
		      struct codec_request *req, uint64_t now_ms)
{
	const struct client *cl = job->cl;
	const struct sockaddr *from = job->from;
	size_t eap_len = 0, state_len = 0;
	const uint8_t *eap = codec_request_attr(req, CODEC_ATTR_EAP_MESSAGE, &eap_len);
	const uint8_t *state = codec_request_attr(req, CODEC_ATTR_STATE, &state_len);
	struct eap_session *s;
	struct eap_buf out = {NULL, 0};
	enum eap_step step;
	struct codec_reply *rep;
	const uint8_t *enc;
	size_t enc_len;
	char nas[INET6_ADDRSTRLEN], why[256];

	addr_ip(from, nas, sizeof(nas));
	if (!eap) {
		log_no_session(srv, cl, nas, req,
			       "no EAP-Message (kagid authenticates 802.1X/EAP only)");
		return codec_reply_new(ctx, req, CODEC_ACCESS_REJECT);
	}

	if (!state) {
		struct conf *c = job->conf;
		char err[300];
		int r = tls_server_refresh(c->tls_server, err, sizeof(err));

		if (r > 0)
			log_info("CRL %s changed: reloaded", c->tls.crl_file);
		else if (r < 0)
			log_error("%s", err);

		s = session_create(srv->sessions, cl->name, c->limits.max_sessions,
				   c->limits.max_sessions_per_client, now_ms);
		if (!s) {
			log_error("cannot create a session (out of memory)");
			return NULL;
		}
		s->conf = conf_ref(c);
		s->methods = s->conf->methods;
		s->n_methods = s->conf->n_methods;
		snprintf(s->client, sizeof(s->client), "%s", cl->shortname);
		snprintf(s->nas, sizeof(s->nas), "%s", nas);
		codec_request_string(req, CODEC_ATTR_CALLING_STATION_ID, s->calling_station_id,
				     sizeof(s->calling_station_id));
		s->framed_mtu = codec_request_integer(req, CODEC_ATTR_FRAMED_MTU, 0);
		if (srv->debug) {
			s->trace = trace_session;
			s->trace_arg = s;
		}
		s->now = time(NULL);
		session_trace(s, "new conversation from client %s", cl->shortname);
		step = eap_start(s, ctx, eap, eap_len, &out);
	} else {
		bool busy;

		s = session_claim(srv->sessions, state, state_len, cl->name, now_ms, &busy);
		if (busy) {
			/*
			 * Another thread is answering this conversation: a second request with
			 * the same State but a new Identifier (a confused or replaying NAS).
			 * Nothing is changed; the NAS retransmits if it still cares.
			 */
			if (srv->debug)
				log_msg(LOG_LVL_DEBUG, "conversation busy: request dropped");
			return NULL;
		}
		if (!s) {
			log_no_session(srv, cl, nas, req, "unknown State");
			rep = codec_reply_new(ctx, req, CODEC_ACCESS_REJECT);
			/* RFC 3579 §2.6.3: a Reject carries EAP-Failure. */
			if (rep && eap_failure(ctx, eap_len >= 2 ? eap[1] : 0, &out) == 0)
				codec_reply_add(rep, CODEC_ATTR_EAP_MESSAGE, 0, out.data, out.len);
			return rep;
		}
		s->now = time(NULL);
		step = eap_continue(s, ctx, eap, eap_len, &out);
	}

	switch (step) {
	case EAP_STEP_CONTINUE:
		rep = reply_eap(ctx, req, CODEC_ACCESS_CHALLENGE, &out);
		if (rep)
			codec_reply_add(rep, CODEC_ATTR_STATE, 0, s->state, sizeof(s->state));
		session_release(s, now_ms);
		return rep;
	case EAP_STEP_SUCCESS:
		/* Encoded (and kept) before anything is logged or kept: what is logged is sent. */
		rep = build_accept(ctx, req, s, &out);
		if (!rep || codec_reply_encode_mac(rep, cl->secret, job->mac, &enc, &enc_len, why,
						   sizeof(why)) < 0) {
			log_error("client %s: cannot send Access-Accept: %s", cl->shortname,
				  rep ? why : "out of memory");
			session_set_reason(s, "Access-Accept could not be built: %s",
					   rep ? why : "out of memory");
			out.data = NULL; /* the EAP-Success was not sent: EAP-Failure instead */
			break;
		}
		if (s->method && s->method->accepted)
			s->method->accepted(s, s->now);
		log_session(srv, s, "accept", now_ms);
		talloc_free(s);
		return rep;
	case EAP_STEP_FAIL:
	default:
		break;
	}
	if (!out.data)
		eap_failure(ctx, s->last_id, &out);
	rep = reply_eap(ctx, req, CODEC_ACCESS_REJECT, &out);
	log_session(srv, s, "reject", now_ms);
	talloc_free(s);
	return rep;
}

/* Decode, answer, send (or drop) a request that passed the checks of handle_datagram. */
static void
process_job(struct worker *w, struct job *job)
{
	struct server *srv = w->srv;
	const struct client *cl = job->cl;
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct codec_request *req = NULL;
	struct codec_reply *rep = NULL;
	char err[256], a[80];

	if (ctx)
		req = codec_request_decode(ctx, job->buf, job->len, cl->secret, err, sizeof(err));
	if (!req) {
		if (drop_should_log(w, DROP_BAD_PACKET, job->now_ms)) {
			addr_text(job->from, a, sizeof(a));
			log_warn("Dropping packet from client %s (%s): %s", cl->shortname, a,
				 ctx ? err : "out of memory");
		}
		goto out;
	}
	if (srv->debug) {
		addr_text(job->from, a, sizeof(a));
		log_msg(LOG_LVL_DEBUG, "Received %s Id %u from %s length %zu (client %s)",
			codec_code_name(codec_request_code(req)), job->buf[1], a, job->len,
			cl->shortname);
		codec_request_describe(req, trace_attr, NULL);
	}
	if (job->status)
		rep = codec_reply_new(ctx, req, CODEC_ACCESS_ACCEPT); /* RFC 5997 §3 */
	else
		rep = handle_access_request(srv, ctx, job, req, job->now_ms);
	if (rep && send_reply(srv, job, rep, job->now_ms) == 0)
		goto out_ok;
out:
	/* No reply: a retransmission of this request is worked on afresh. */
	if (!job->status)
		dupcache_cancel(srv->dups, job->from, job->buf[1], job->buf + 4);
out_ok:
	talloc_free(ctx);
}

/*
 * One datagram: drop what must be dropped before anything is allocated (unknown client, bad
 * framing or Message-Authenticator), answer a retransmission from the cache, work on the rest.
 */
/* The worker's reference to the current configuration generation, renewed if it changed. */
static struct conf *
worker_conf(struct worker *w)
{
	struct server *srv = w->srv;
	struct conf *old = NULL;

	if (atomic_load_explicit(&srv->conf_gen, memory_order_acquire) != w->gen || !w->conf) {
		pthread_mutex_lock(&srv->conf_lock);
		old = w->conf;
		w->conf = conf_ref(srv->conf);
		w->gen = atomic_load_explicit(&srv->conf_gen, memory_order_relaxed);
		pthread_mutex_unlock(&srv->conf_lock);
		conf_unref(old);
	}
	return w->conf;
}

/* Count one; true when this window just reached a flood's rate (FLOOD_ON a second). */
static bool
burst_hit(struct burst *b, uint64_t now_ms)
{
	if (now_ms - b->start_ms >= 100) {
		b->start_ms = now_ms;
		b->n = 0;
	}
	return ++b->n == FLOOD_ON / 10;
}

/*
 * A datagram from an address that is not a client: at a flood's rate (FLOOD_ON a second, over
 * 100 ms) main is told at once rather than at its next once-a-second tick.
 */
static void
note_unknown(struct worker *w, uint64_t now_ms)
{
	static const uint64_t one = 1;

	if (burst_hit(&w->unknown_burst, now_ms) &&
	    write(w->srv->flood_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("eventfd: %s", strerror(errno));
}

/* A datagram read and dropped: at a flood's rate, pace the reads (PACE_US). */
static void
note_dropped(struct worker *w, uint64_t now_ms)
{
	if (!burst_hit(&w->dropped_burst, now_ms))
		return;
	if (!w->pace_until_ms)
		log_warn("Flood of packets being dropped (%u in 100 ms; the warnings above say why): "
			 "reading them in batches, so a request may wait up to %d us more, until a "
			 "second passes without such a burst",
			 w->dropped_burst.n, PACE_US);
	w->pace_until_ms = now_ms + PACE_MS;
}

static void
handle_datagram(struct worker *w, int fd, const uint8_t *buf, size_t n,
		const struct sockaddr *from, socklen_t fromlen)
{
	struct server *srv = w->srv;
	struct job job = {.fd = fd, .from = from, .fromlen = fromlen, .buf = buf, .mac = w->mac};
	const struct conf_limits *lim;
	enum codec_raw_result raw;
	size_t cached_len = 0;
	uint8_t cached[CODEC_MAX_PACKET];
	char a[80];

	job.now_ms = mono_ms();
	job.conf = worker_conf(w); /* the worker's reference covers this request */
	lim = &job.conf->limits;

	job.cl = clients_find(job.conf, from);
	if (!job.cl) {
		atomic_fetch_add_explicit(&w->unknown, 1, memory_order_relaxed);
		note_unknown(w, job.now_ms);
		note_dropped(w, job.now_ms);
		if (drop_should_log(w, DROP_UNKNOWN_CLIENT, job.now_ms)) {
			addr_text(from, a, sizeof(a));
			log_warn("Dropping packet from unknown client %s (add it to clients.conf)",
				 a);
		}
		return;
	}
	raw = codec_check_raw_mac(buf, n, job.cl->secret, &job.len, w->mac);
	if (raw != CODEC_RAW_OK) {
		note_dropped(w, job.now_ms);
		if (drop_should_log(w, DROP_BAD_PACKET, job.now_ms)) {
			addr_text(from, a, sizeof(a));
			if (raw == CODEC_RAW_BAD_CODE)
				log_warn("Dropping %s (code %u) from client %s (%s): kagid answers "
					 "Access-Request and Status-Server only%s",
					 codec_code_name(buf[0]), buf[0], job.cl->shortname, a,
					 buf[0] == CODEC_ACCOUNTING_REQUEST
						 ? " (it does no RADIUS accounting: turn accounting "
						   "off on the NAS or send it to an accounting server)"
						 : "");
			else
				log_warn("Dropping packet from client %s (%s): %s",
					 job.cl->shortname, a, codec_raw_result_str(raw));
		}
		return;
	}
	/* RFC 5997 §3: Status-Server is answered afresh each time, never from the cache. */
	job.status = buf[0] == CODEC_STATUS_SERVER;
	if (!job.status) {
		switch (dupcache_begin(srv->dups, from, buf[1], buf + 4, job.now_ms,
				       (uint64_t)lim->dup_cache_time * 1000, lim->dup_cache_size,
				       cached, sizeof(cached), &cached_len)) {
		case DUP_REPLY:
			if (srv->debug) {
				addr_text(from, a, sizeof(a));
				log_msg(LOG_LVL_DEBUG,
					"Retransmission of Id %u from %s: sending the cached reply",
					buf[1], a);
			}
			if (sendto(fd, cached, cached_len, 0, from, fromlen) < 0)
				log_warn("sendto: %s", strerror(errno));
			return;
		case DUP_PENDING:
			if (srv->debug) {
				addr_text(from, a, sizeof(a));
				log_msg(LOG_LVL_DEBUG,
					"Retransmission of Id %u from %s: still being answered", buf[1],
					a);
			}
			return;
		case DUP_NONE:
			break;
		}
	}
	process_job(w, &job);
}

/*
 * Read what is waiting on a listening socket (non-blocking), at most MAX_BATCH datagrams.
 * True if the socket was emptied.
 */
static bool
drain_socket(struct worker *w, int fd, uint8_t *buf, size_t buflen)
{
	unsigned k;

	for (k = 0; k < MAX_BATCH; k++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t got = recvfrom(fd, buf, buflen, 0, (struct sockaddr *)&from, &fromlen);

		if (got < 0)
			return true;
		handle_datagram(w, fd, buf, (size_t)got, (struct sockaddr *)&from, fromlen);
	}
	return false;
}

/* In a flood of dropped datagrams (note_dropped), let the next batch gather before waiting. */
static void
pace(struct worker *w)
{
	static const struct timespec pause = {0, PACE_US * 1000L};

	if (!w->pace_until_ms)
		return;
	if (mono_ms() >= w->pace_until_ms) {
		w->pace_until_ms = 0;
		return;
	}
	nanosleep(&pause, NULL);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct server *srv = w->srv;
	struct epoll_event ev[16];
	uint8_t *buf = malloc(CODEC_MAX_PACKET + 1);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	unsigned i;

	w->mac = codec_mac_new(NULL); /* NULL: codec_check_raw_mac's slower fallback */

	if (!buf || ep < 0) {
		log_error("worker thread: %s", strerror(errno));
		goto out;
	}
	/* EPOLLEXCLUSIVE: a datagram wakes one waiting worker, not all of them. */
	for (i = 0; i < srv->n_fds; i++) {
		struct epoll_event e = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = srv->fds[i]};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, srv->fds[i], &e) < 0) {
			log_error("epoll_ctl: %s", strerror(errno));
			goto out;
		}
	}
	{
		struct epoll_event e = {.events = EPOLLIN, .data.fd = srv->stop_fd};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, srv->stop_fd, &e) < 0) {
			log_error("epoll_ctl: %s", strerror(errno));
			goto out;
		}
	}
	for (;;) {
		int n = epoll_wait(ep, ev, 16, -1), k;
		bool emptied = false;

		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			break;
		}
		for (k = 0; k < n; k++) {
			if (ev[k].data.fd == srv->stop_fd)
				goto out;
			emptied |= drain_socket(w, ev[k].data.fd, buf, CODEC_MAX_PACKET + 1);
		}
		if (emptied)
			pace(w);
	}
out:
	if (ep >= 0)
		close(ep);
	free(buf);
	TALLOC_FREE(w->mac);
	return NULL;
}

/* ---- set-up ---- */

static void
conf_warn(void *arg, const char *text)
{
	(void)arg;
	log_warn("%s", text);
}

/*
 * Start the worker threads: -t, else the configuration's threads, else one per CPU; with -X and
 * neither set, one, so that the trace reads one request at a time (as freeradius -X does).
 */
static int
workers_start(struct server *srv)
{
	unsigned n = srv->threads_wanted ? srv->threads_wanted : srv->conf->limits.threads, i;

	if (n == 0)
		n = srv->debug ? 1 : (unsigned)get_nprocs();
	if (n == 0)
		n = 1;
	if (n > CONF_MAX_THREADS)
		n = CONF_MAX_THREADS;
	srv->threads = talloc_zero_array(srv, pthread_t, n);
	srv->workers = talloc_zero_array(srv, struct worker, n);
	if (!srv->threads || !srv->workers)
		return -1;
	for (i = 0; i < n; i++) {
		int e;

		srv->workers[i].srv = srv;
		e = pthread_create(&srv->threads[i], NULL, worker_main, &srv->workers[i]);

		if (e) {
			log_error("cannot start worker thread: %s", strerror(e));
			return srv->n_threads ? 0 : -1;
		}
		srv->n_threads++;
	}
	return 0;
}

/* Stop the workers after the request each is on. */
static void
workers_stop(struct server *srv)
{
	uint64_t one = 1;
	unsigned i;

	if (!srv->n_threads)
		return;
	if (write(srv->stop_fd, &one, sizeof(one)) != sizeof(one))
		log_error("cannot stop the worker threads: %s", strerror(errno));
	for (i = 0; i < srv->n_threads; i++) {
		pthread_join(srv->threads[i], NULL);
		conf_unref(srv->workers[i].conf);
		srv->workers[i].conf = NULL;
	}
	srv->n_threads = 0;
}

static int
server_destructor(struct server *srv)
{
	unsigned i;

	workers_stop(srv);
	for (i = 0; i < srv->n_fds; i++)
		close(srv->fds[i]);
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	if (srv->flood_fd >= 0)
		close(srv->flood_fd);
	/* Sessions hold configuration references: free them before the generation. */
	TALLOC_FREE(srv->sessions);
	conf_unref(srv->conf);
	pthread_mutex_destroy(&srv->conf_lock);
	pthread_mutex_destroy(&srv->lock);
	return 0;
}

static int
open_listener(const struct conf_listen *l, char *err, size_t errlen)
{
	int fd = socket(l->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, rcvbuf = RCVBUF_BYTES;

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * The receive buffer is the queue in front of the workers: room for bursts (thousands of
	 * APs re-authenticating at once). The kernel caps it at net.core.rmem_max.
	 */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", l->text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct server *
server_new(TALLOC_CTX *ctx, const char *dir, bool debug, char *err, size_t errlen)
{
	struct server *srv = talloc_zero(ctx, struct server);
	unsigned i;

	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->debug = debug;
	srv->dir = talloc_strdup(srv, dir);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_mutex_init(&srv->conf_lock, NULL);
	srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	srv->flood_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	talloc_set_destructor(srv, server_destructor);
	if (srv->stop_fd < 0 || srv->flood_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	/*
	 * Not a talloc child of srv: the last reference to a generation may be dropped by a
	 * worker thread, and talloc trees are not shared between threads.
	 */
	srv->conf = conf_load(NULL, dir, err, errlen, conf_warn, NULL);
	if (!srv->conf)
		goto fail;
	srv->sessions = session_table_new(srv, session_dropped, srv);
	srv->dups = dupcache_new(srv);
	srv->tls_cache = tls_cache_new(srv, srv->conf->tls.session_cache_size,
				       srv->conf->tls.session_lifetime);
	if (!srv->sessions || !srv->dups || !srv->tls_cache) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	tls_server_set_cache(srv->conf->tls_server, srv->tls_cache);
	srv->auth_log = auth_log_open(srv, srv->conf->auth_log, err, errlen);
	if (!srv->auth_log)
		goto fail;
	for (i = 0; i < srv->conf->n_listen; i++) {
		int fd = open_listener(&srv->conf->listen[i], err, errlen);

		if (fd < 0)
			goto fail;
		srv->fd_family[srv->n_fds] = srv->conf->listen[i].addr.ss_family;
		srv->fds[srv->n_fds++] = fd;
		log_info("Listening on %s", srv->conf->listen[i].text);
	}
	return srv;
fail:
	talloc_free(srv);
	return NULL;
}

void
server_daemonized(struct server *srv)
{
	srv->daemon = true;
	auth_log_to_syslog(srv->auth_log);
}

void
server_set_threads(struct server *srv, unsigned n)
{
	srv->threads_wanted = n;
}

/*
 * Attach (or replace, after a reload) the unknown-source filter on every socket. A failure is
 * logged once per configuration: kagid then drops the flood itself.
 */
static bool
filter_attach(struct server *srv)
{
	char err[128];
	unsigned i;

	for (i = 0; i < srv->n_fds && !srv->filter_unusable; i++)
		if (srcfilter_attach(srv->fds[i], srv->fd_family[i], srv->conf->clients,
				     srv->conf->n_clients, FLOOD_SAMPLE, err, sizeof(err)) < 0) {
			log_warn("cannot filter unknown sources in the kernel (%s): kagid drops "
				 "them itself",
				 err);
			while (i--)
				srcfilter_detach(srv->fds[i]);
			srv->filter_unusable = true;
		}
	return !srv->filter_unusable;
}

static void
filter_detach(struct server *srv)
{
	unsigned i;

	for (i = 0; i < srv->n_fds; i++)
		srcfilter_detach(srv->fds[i]);
}

int
server_reload(struct server *srv, char *err, size_t errlen)
{
	struct conf *c = conf_load(NULL, srv->dir, err, errlen, conf_warn, NULL), *old;
	struct auth_log *al = NULL;

	if (!c)
		return -1;
	if (strcmp(c->auth_log, auth_log_path(srv->auth_log)) != 0 || strcmp(c->auth_log, "-")) {
		al = auth_log_open(srv, c->auth_log, err, errlen);
		if (!al) {
			conf_unref(c);
			return -1;
		}
	}
	if (c->n_listen != srv->conf->n_listen ||
	    memcmp(c->listen, srv->conf->listen, sizeof(c->listen)) != 0)
		log_warn("listen addresses changed: they take effect on restart only");
	if (c->limits.threads != srv->conf->limits.threads && !srv->threads_wanted)
		log_warn("threads changed: it takes effect on restart only");
	tls_server_set_cache(c->tls_server, srv->tls_cache);
	/* Requests and sessions in flight keep their references to the old generation. */
	pthread_mutex_lock(&srv->conf_lock);
	old = srv->conf;
	srv->conf = c;
	atomic_fetch_add_explicit(&srv->conf_gen, 1, memory_order_release);
	pthread_mutex_unlock(&srv->conf_lock);
	conf_unref(old);
	/* The new client list goes into the filter at once (no new client is kept out). */
	srv->filter_unusable = false;
	if (srv->filter_on && !filter_attach(srv)) {
		filter_detach(srv);
		srv->filter_on = false;
	}
	if (al) {
		if (srv->daemon)
			auth_log_to_syslog(al);
		pthread_mutex_lock(&srv->lock);
		talloc_free(srv->auth_log);
		srv->auth_log = al;
		pthread_mutex_unlock(&srv->lock);
	}
	return 0;
}

/*
 * The rate of datagrams from addresses that are not clients since the last check (counted by
 * the workers; while the filter is on they see one in FLOOD_SAMPLE) turns the filter on or off.
 * Called once a second, and at once when a worker sees a flood's rate while the filter is off.
 */
static void
flood_check(struct server *srv, uint64_t now_ms)
{
	unsigned long total = 0, rate;
	uint64_t ms = now_ms - srv->filter_tick_ms;
	unsigned i;

	for (i = 0; i < srv->n_threads; i++)
		total += atomic_load_explicit(&srv->workers[i].unknown, memory_order_relaxed);
	rate = (total - srv->unknown_seen) * 1000 / (ms ? ms : 1);
	if (srv->filter_on)
		rate *= FLOOD_SAMPLE;
	srv->unknown_seen = total;
	srv->filter_tick_ms = now_ms;
	if (!srv->filter_on && rate >= FLOOD_ON && filter_attach(srv)) {
		srv->filter_on = true;
		srv->quiet_s = 0;
		log_warn("Flood of about %lu packets/s from addresses that are not clients: the "
			 "kernel drops those now (1 in %u still reaches kagid and is logged); "
			 "clients are not affected",
			 rate, FLOOD_SAMPLE);
	} else if (srv->filter_on) {
		srv->quiet_s = rate < FLOOD_OFF ? srv->quiet_s + 1 : 0;
		if (srv->quiet_s >= FLOOD_QUIET_S) {
			filter_detach(srv);
			srv->filter_on = false;
			log_info("The flood from unknown addresses is over: every packet reaches "
				 "kagid again");
		}
	}
}

static void
server_tick(struct server *srv, uint64_t now_ms)
{
	unsigned long live;

	session_expire(srv->sessions, now_ms,
		       (uint64_t)srv->conf->limits.session_timeout * 1000);
	dupcache_expire(srv->dups, now_ms);
	tls_cache_expire(srv->tls_cache, time(NULL));
	if (srv->workers)
		flood_check(srv, now_ms);
	/*
	 * After a flood of abandoned conversations, give the memory back to the system: once the
	 * conversations and the cached replies interleaved with them (a page goes back only when
	 * nothing on it is in use) have fallen to half their peak. A steady load never triggers it,
	 * so pages it is about to reuse are not handed back and faulted in again every second.
	 */
	live = (unsigned long)session_count(srv->sessions) + dupcache_count(srv->dups);
	if (live > srv->live_peak)
		srv->live_peak = live;
	if (srv->live_peak >= 200 && live <= srv->live_peak / 2) {
		malloc_trim(0);
		srv->live_peak = live;
	}
}

int
server_run(struct server *srv)
{
	struct pollfd pfd[2];
	sigset_t mask;
	int sfd;
	uint64_t now_ms, last_tick;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	/* Blocked before the workers start, so they inherit the mask: signals come to signalfd. */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return -1;
	}
	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = srv->flood_fd;
	pfd[1].events = POLLIN;
	last_tick = mono_ms();
	if (workers_start(srv) < 0) {
		log_error("cannot start the worker threads");
		close(sfd);
		return -1;
	}
	log_info("%u worker thread%s%s", srv->n_threads, srv->n_threads == 1 ? "" : "s",
		 srv->debug && !srv->threads_wanted && !srv->conf->limits.threads
			 ? " (-X: one, for a readable trace; -t N or limits { threads } for more)"
			 : "");
	log_debug("RADIUS dictionary: %s", codec_dict_complete()
						   ? "all vendors"
						   : "RFC and Microsoft attributes (vendor ones print as "
						     "Attr-26.<vendor>.<n>; naming one in the configuration "
						     "loads all vendors)");
	log_info("Ready to process requests");

	for (;;) {
		int r = poll(pfd, 2, 1000);

		now_ms = mono_ms();
		if (r < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (r > 0 && (pfd[1].revents & POLLIN)) {
			uint64_t n;

			if (read(srv->flood_fd, &n, sizeof(n)) == sizeof(n) && !srv->filter_on)
				flood_check(srv, now_ms);
		}
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			bool stop = false;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					char err[512];

					log_info("SIGHUP: reloading configuration from %s", srv->dir);
					if (server_reload(srv, err, sizeof(err)) < 0)
						log_error("reload refused, still serving the previous "
							  "configuration: %s",
							  err);
					else
						log_info("configuration reloaded (generation %u)",
							 srv->conf->generation);
				} else {
					stop = true;
				}
			}
			if (stop) {
				log_info("Exiting normally");
				break;
			}
		}
		if (now_ms - last_tick >= 1000) {
			server_tick(srv, now_ms);
			last_tick = now_ms;
		}
	}
	workers_stop(srv);
	close(sfd);
	return 0;
}

/*
 * kagid -C: whether the kernel takes the unknown-source flood filter for these clients (tried
 * on a scratch socket of each family that has listeners).
 */
static void
filter_check(const struct conf *c)
{
	static const int families[2] = {AF_INET, AF_INET6};
	unsigned i, f;

	for (f = 0; f < 2; f++) {
		char err[160];
		bool listens = false;
		int fd;

		for (i = 0; i < c->n_listen; i++)
			listens |= c->listen[i].addr.ss_family == families[f];
		if (!listens)
			continue;
		fd = socket(families[f], SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (srcfilter_attach(fd, families[f], c->clients, c->n_clients, FLOOD_SAMPLE, err,
				     sizeof(err)) == 0)
			printf("  flood filter for unknown %s sources: ok\n",
			       families[f] == AF_INET ? "IPv4" : "IPv6");
		else
			printf("  flood filter for unknown %s sources: not possible, %s (kagid "
			       "drops such floods itself)\n",
			       families[f] == AF_INET ? "IPv4" : "IPv6", err);
		close(fd);
	}
}

int
conf_check(const char *dir, char *err, size_t errlen)
{
	struct conf *c = conf_load(NULL, dir, err, errlen, conf_warn, NULL);
	unsigned i;

	if (!c)
		return -1;
	printf("Configuration in %s is OK\n", c->dir);
	for (i = 0; i < c->n_listen; i++)
		printf("  listen %s\n", c->listen[i].text);
	printf("  %u client(s), %u user(s), %u certificate rule(s)\n", c->n_clients, c->n_users,
	       c->n_rules);
	printf("  TLS %s..%s, CRL %s, client EKU %s, resumption %s\n",
	       c->tls.min_version == TLS1_3_VERSION ? "1.3" : "1.2",
	       c->tls.max_version == TLS1_3_VERSION ? "1.3" : "1.2",
	       c->tls.check_crl ? "checked" : "NOT checked",
	       c->tls.require_client_eku ? "required" : "not required",
	       c->tls.resumption ? "on" : "off");
	if (c->limits.threads)
		printf("  %u worker thread(s)\n", c->limits.threads);
	else
		printf("  worker threads: one per CPU (%d here)\n", get_nprocs());
	printf("  RADIUS dictionary: %s\n", codec_dict_complete()
						 ? "all vendors (the configuration names vendor attributes)"
						 : "RFC and Microsoft attributes (no vendor attributes configured)");
	filter_check(c);
	conf_unref(c);
	return 0;
}
