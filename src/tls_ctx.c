/*
 * tls_ctx.c - SSL_CTX, client-certificate verify store with CRL reload, resumption cache.
 * See tls_ctx.h. Nothing here logs: errors come back in err.
 */
#include "tls_ctx.h"

#include "conf.h"
#include "dlist.h"
#include "hash.h"
#include "tls_conn.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define CACHE_BUCKETS 4096

/*
 * One cache shape, two uses: the resumption cache (key: session ID, value: the session) and the
 * verified-chain cache (key: SHA-256 of a client's certificates, value: the store they verified
 * against and until when that holds).
 */
struct cache_entry {
	struct dlist lru;
	struct cache_entry *hnext;
	unsigned char id[SSL_MAX_SSL_SESSION_ID_LENGTH];
	unsigned idlen;
	time_t created;
	SSL_SESSION *sess;
	unsigned long store_gen;
	time_t until;
};

struct tls_cache {
	struct cache_entry *buckets[CACHE_BUCKETS];
	struct dlist lru; /* oldest first */
	unsigned count, max, lifetime;
	/* Worker threads share it. Recursive: OpenSSL's remove callback may run inside a call. */
	pthread_mutex_t lock;
};

struct tls_server {
	SSL_CTX *ctx;
	struct tls_cache *chains; /* client chains verified against its stores (NULL: off) */
	X509_STORE *store;
	unsigned long store_gen; /* unique to this store (store_gens) */
	time_t crl_until;	 /* earliest nextUpdate of the store's CRLs (0: none) */
	const struct conf_tls *cfg;
	struct tls_cache *cache;
	struct stat crl_st;
	bool crl_st_valid;
	struct stat bad_st; /* last CRL file that failed to load, reported once */
	bool bad_st_valid;
	/* store and the CRL file state: workers refresh and read them concurrently */
	pthread_mutex_t lock;
};

/* Default TLS 1.2 ciphers: the set of OpenSSL's DEFAULT, ECDHE with AES-128-GCM first. */
#define TLS_DEFAULT_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ALL:!COMPLEMENTOFDEFAULT:!eNULL"
#define TLS_DEFAULT_SUITES13 \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static int ssl_ex_server = -1;

/*
 * Every verify store ever built gets a number from here, never reused: a resumed session that
 * was verified against store N need not be verified again while N is the current store (the
 * process-wide counter is what makes numbers unique across configuration generations).
 */
static atomic_ulong store_gens;

/* ---- resumption cache ---- */

static unsigned
cache_hash(const unsigned char *id, unsigned len)
{
	return hash_bytes(HASH_INIT, id, len) % CACHE_BUCKETS;
}

static struct cache_entry **
cache_slot(struct tls_cache *c, const unsigned char *id, unsigned len)
{
	struct cache_entry **pp = &c->buckets[cache_hash(id, len)];

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->idlen == len && memcmp((*pp)->id, id, len) == 0)
			break;
	return pp;
}

static int
cache_entry_free(struct cache_entry *e)
{
	SSL_SESSION_free(e->sess);
	return 0;
}

static void
cache_unlink(struct tls_cache *c, struct cache_entry **pp)
{
	struct cache_entry *e = *pp;

	*pp = e->hnext;
	dlist_del(&e->lru);
	c->count--;
	talloc_free(e);
}

static int
cache_free(struct tls_cache *c)
{
	struct dlist *n;

	while ((n = dlist_first(&c->lru)) != NULL) {
		struct cache_entry *e = dlist_entry(n, struct cache_entry, lru);

		cache_unlink(c, cache_slot(c, e->id, e->idlen));
	}
	pthread_mutex_destroy(&c->lock);
	return 0;
}

struct tls_cache *
tls_cache_new(TALLOC_CTX *ctx, unsigned max, unsigned lifetime)
{
	struct tls_cache *c = talloc_zero(ctx, struct tls_cache);

	if (!c)
		return NULL;
	pthread_mutexattr_t attr;

	dlist_init(&c->lru);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	c->max = max ? max : 1;
	c->lifetime = lifetime;
	talloc_set_destructor(c, cache_free);
	return c;
}

unsigned
tls_cache_count(struct tls_cache *cache)
{
	unsigned n;

	if (!cache)
		return 0;
	pthread_mutex_lock(&cache->lock);
	n = cache->count;
	pthread_mutex_unlock(&cache->lock);
	return n;
}

void
tls_cache_remove(struct tls_cache *c, const unsigned char *id, unsigned idlen)
{
	struct cache_entry **pp;

	if (!c || idlen > SSL_MAX_SSL_SESSION_ID_LENGTH)
		return;
	pthread_mutex_lock(&c->lock);
	pp = cache_slot(c, id, idlen);
	if (*pp)
		cache_unlink(c, pp);
	pthread_mutex_unlock(&c->lock);
}

/* A new entry for key id (replacing one with that key; the oldest go when full), or NULL.
 * Caller holds c->lock. */
static struct cache_entry *
cache_insert(struct tls_cache *c, const unsigned char *id, unsigned len, time_t now)
{
	struct cache_entry *e, **pp = cache_slot(c, id, len);

	if (*pp)
		cache_unlink(c, pp);
	while (c->count >= c->max) {
		struct cache_entry *old = dlist_entry(c->lru.next, struct cache_entry, lru);

		cache_unlink(c, cache_slot(c, old->id, old->idlen));
	}
	e = talloc_zero(c, struct cache_entry);
	if (!e)
		return NULL;
	memcpy(e->id, id, len);
	e->idlen = len;
	e->created = now;
	talloc_set_destructor(e, cache_entry_free);
	pp = cache_slot(c, id, len);
	e->hnext = *pp;
	*pp = e;
	dlist_add_tail(&c->lru, &e->lru);
	c->count++;
	return e;
}

void
tls_cache_put(struct tls_cache *c, SSL_SESSION *sess, time_t now)
{
	const unsigned char *id;
	unsigned len;
	struct cache_entry *e;

	if (!c)
		return;
	id = SSL_SESSION_get_id(sess, &len);
	if (len == 0 || len > SSL_MAX_SSL_SESSION_ID_LENGTH)
		return;
	pthread_mutex_lock(&c->lock);
	e = cache_insert(c, id, len, now);
	if (e) {
		SSL_SESSION_up_ref(sess);
		e->sess = sess;
	}
	pthread_mutex_unlock(&c->lock);
}

void
tls_server_chain_put(struct tls_server *srv, const unsigned char key[32],
		     unsigned long store_gen, time_t until, time_t now)
{
	struct tls_cache *c = srv->chains;
	struct cache_entry *e;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	e = cache_insert(c, key, 32, now);
	if (e) {
		e->store_gen = store_gen;
		e->until = until;
	}
	pthread_mutex_unlock(&c->lock);
}

bool
tls_server_chain_known(struct tls_server *srv, const unsigned char key[32],
		       unsigned long store_gen, time_t now, time_t *until)
{
	struct tls_cache *c = srv->chains;
	struct cache_entry **pp;
	bool known = false;

	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	pp = cache_slot(c, key, 32);
	if (*pp && ((*pp)->store_gen != store_gen || now >= (*pp)->until)) {
		cache_unlink(c, pp); /* another store, or something in the chain expired */
	} else if (*pp) {
		*until = (*pp)->until;
		known = true;
	}
	pthread_mutex_unlock(&c->lock);
	return known;
}

void
tls_cache_expire(struct tls_cache *c, time_t now)
{
	struct dlist *n;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	while ((n = dlist_first(&c->lru)) != NULL) {
		struct cache_entry *e = dlist_entry(n, struct cache_entry, lru);

		if (e->created + (time_t)c->lifetime > now)
			break;
		cache_unlink(c, cache_slot(c, e->id, e->idlen));
	}
	pthread_mutex_unlock(&c->lock);
}

static SSL_SESSION *
cache_get_cb(SSL *ssl, const unsigned char *id, int len, int *copy)
{
	struct tls_server *srv = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ex_server);
	struct tls_cache *c = srv ? srv->cache : NULL;
	struct cache_entry **pp;
	SSL_SESSION *sess = NULL;

	*copy = 0;
	if (!c || len <= 0 || len > SSL_MAX_SSL_SESSION_ID_LENGTH)
		return NULL;
	pthread_mutex_lock(&c->lock);
	pp = cache_slot(c, id, (unsigned)len);
	if (*pp && (*pp)->created + (time_t)c->lifetime <= time(NULL)) {
		cache_unlink(c, pp);
	} else if (*pp) {
		/*
		 * The reference is taken here, under the lock (*copy stays 0: OpenSSL takes this
		 * one over), so another thread evicting the entry cannot free it under us.
		 */
		sess = (*pp)->sess;
		SSL_SESSION_up_ref(sess);
	}
	pthread_mutex_unlock(&c->lock);
	return sess;
}

static void
cache_remove_cb(SSL_CTX *ctx, SSL_SESSION *sess)
{
	struct tls_server *srv = SSL_CTX_get_ex_data(ctx, ssl_ex_server);
	const unsigned char *id;
	unsigned len;

	if (!srv || !srv->cache)
		return;
	id = SSL_SESSION_get_id(sess, &len);
	tls_cache_remove(srv->cache, id, len);
}

/* ---- verify store ---- */

/* The earliest nextUpdate of the CRLs loaded (0 when none has one). */
static void
crl_until_update(time_t *until, const X509_CRL *crl)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	struct tm tm;
	time_t t;

	if (!next || ASN1_TIME_to_tm(next, &tm) != 1)
		return;
	t = timegm(&tm);
	if (*until == 0 || t < *until)
		*until = t;
}

static int
load_crls(X509_STORE *store, const char *file, time_t *until, char *err, size_t errlen)
{
	BIO *bio = BIO_new_file(file, "r");
	X509_CRL *crl;
	int n = 0;

	if (!bio) {
		snprintf(err, errlen, "cannot open CRL file %s", file);
		return -1;
	}
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
		X509_STORE_add_crl(store, crl);
		crl_until_update(until, crl);
		X509_CRL_free(crl);
		n++;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (n == 0) {
		snprintf(err, errlen, "no CRL found in %s (PEM expected)", file);
		return -1;
	}
	return n;
}

/*
 * OpenSSL fills some caches of a certificate or CRL lazily, on first use (a certificate's
 * decoded extensions, a CRL's sorted list of revoked serials), and in OpenSSL 3.0 those first
 * uses race when two threads verify against a fresh store at once (ThreadSanitizer shows it).
 * Fill them here, in the one thread that builds the store, before any worker can see it.
 */
static void
store_prewarm(X509_STORE *store)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	int i;

	for (i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);
		X509 *x = X509_OBJECT_get0_X509(o);
		X509_CRL *crl = X509_OBJECT_get0_X509_CRL(o);
		X509_REVOKED *rev;

		if (x)
			X509_check_purpose(x, -1, 0);
		if (crl && serial)
			X509_CRL_get0_by_serial(crl, &rev, serial);
	}
	ASN1_INTEGER_free(serial);
	ERR_clear_error();
}

static X509_STORE *
store_build(const struct conf_tls *cfg, time_t *crl_until, char *err, size_t errlen)
{
	X509_STORE *store = X509_STORE_new();
	unsigned long flags = 0;

	if (!store) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (X509_STORE_load_file(store, cfg->ca_file) != 1) {
		snprintf(err, errlen, "cannot load CA certificates from %s: %s", cfg->ca_file,
			 ERR_reason_error_string(ERR_peek_last_error()));
		goto fail;
	}
	*crl_until = 0;
	if (cfg->crl_file && load_crls(store, cfg->crl_file, crl_until, err, errlen) < 0)
		goto fail;
	if (cfg->check_crl)
		flags |= X509_V_FLAG_CRL_CHECK;
	if (cfg->check_crl && cfg->check_crl_all)
		flags |= X509_V_FLAG_CRL_CHECK_ALL;
	X509_STORE_set_flags(store, flags);
	X509_STORE_set_purpose(store, X509_PURPOSE_SSL_CLIENT);
	store_prewarm(store);
	return store;
fail:
	ERR_clear_error();
	X509_STORE_free(store);
	return NULL;
}

static bool
stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int refresh_locked(struct tls_server *srv, char *err, size_t errlen);

int
tls_server_refresh(struct tls_server *srv, char *err, size_t errlen)
{
	int r;

	if (!srv->cfg->crl_file)
		return 0;
	pthread_mutex_lock(&srv->lock);
	r = refresh_locked(srv, err, errlen);
	pthread_mutex_unlock(&srv->lock);
	return r;
}

/* Server lock held. */
static int
refresh_locked(struct tls_server *srv, char *err, size_t errlen)
{
	struct stat st;
	X509_STORE *store;
	time_t crl_until;

	if (stat(srv->cfg->crl_file, &st) < 0) {
		if (srv->bad_st_valid && srv->bad_st.st_ino == 0)
			return 0;
		memset(&srv->bad_st, 0, sizeof(srv->bad_st));
		srv->bad_st_valid = true;
		snprintf(err, errlen, "CRL file %s is gone; still using the last one loaded",
			 srv->cfg->crl_file);
		return -1;
	}
	if (srv->crl_st_valid && stat_same(&st, &srv->crl_st))
		return 0;
	if (srv->bad_st_valid && stat_same(&st, &srv->bad_st))
		return 0;
	store = store_build(srv->cfg, &crl_until, err, errlen);
	if (!store) {
		srv->bad_st = st;
		srv->bad_st_valid = true;
		return -1;
	}
	/*
	 * New conversations take the new store (tls_server_store_ref); ones in flight keep their
	 * reference. The SSL_CTX is not touched: other threads are creating SSLs from it.
	 */
	X509_STORE_free(srv->store);
	srv->store = store;
	srv->store_gen = atomic_fetch_add(&store_gens, 1) + 1;
	srv->crl_until = crl_until;
	srv->crl_st = st;
	srv->crl_st_valid = true;
	srv->bad_st_valid = false;
	return 1;
}

/* ---- context ---- */

static int
server_free(struct tls_server *srv)
{
	SSL_CTX_free(srv->ctx);
	X509_STORE_free(srv->store);
	pthread_mutex_destroy(&srv->lock);
	return 0;
}

static int
key_password_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pw = u;
	size_t len;

	(void)rwflag;
	if (!pw)
		return 0;
	len = strlen(pw);
	if (len >= (size_t)size)
		return 0;
	memcpy(buf, pw, len);
	return (int)len;
}

/*
 * A self-signed CA in the certificate file is not sent: the peer must have it already to trust
 * us (RFC 8446 §4.4.2, RFC 5246 §7.4.2), and leaving it out keeps the server flight in one EAP
 * fragment at the usual MTU.
 */
static void
drop_self_signed_from_chain(SSL_CTX *ctx)
{
	STACK_OF(X509) *chain = NULL, *keep;
	int i;

	if (SSL_CTX_get0_chain_certs(ctx, &chain) != 1 || !chain || sk_X509_num(chain) == 0)
		return;
	keep = sk_X509_new_null();
	if (!keep)
		return;
	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (X509_check_issued(x, x) != X509_V_OK && sk_X509_push(keep, x) <= 0) {
			sk_X509_free(keep);
			return;
		}
	}
	if (sk_X509_num(keep) != sk_X509_num(chain))
		SSL_CTX_set1_chain(ctx, keep);
	sk_X509_free(keep);
}

struct tls_server *
tls_server_new(TALLOC_CTX *ctx, const struct conf_tls *cfg, struct tls_cache *cache, char *err,
	       size_t errlen)
{
	struct tls_server *srv;
	STACK_OF(X509_NAME) *names;
	static const unsigned char sid_ctx[] = "kagi-eap";
	const char *ciphers = cfg->cipher_list ? cfg->cipher_list : TLS_DEFAULT_CIPHERS;
	const char *suites13 =
		cfg->tls13_ciphersuites ? cfg->tls13_ciphersuites : TLS_DEFAULT_SUITES13;
	long mode;

	if (ssl_ex_server < 0)
		ssl_ex_server = SSL_CTX_get_ex_new_index(0, "kagi tls_server", NULL, NULL, NULL);

	srv = talloc_zero(ctx, struct tls_server);
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&srv->lock, NULL);
	srv->cfg = cfg;
	srv->cache = cache;
	talloc_set_destructor(srv, server_free);
	if (cfg->chain_cache_size &&
	    !(srv->chains = tls_cache_new(srv, cfg->chain_cache_size, cfg->session_lifetime))) {
		snprintf(err, errlen, "out of memory");
		talloc_free(srv);
		return NULL;
	}

	srv->ctx = SSL_CTX_new(TLS_server_method());
	if (!srv->ctx) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		goto fail;
	}
	SSL_CTX_set_ex_data(srv->ctx, ssl_ex_server, srv);
	if (!SSL_CTX_set_min_proto_version(srv->ctx, cfg->min_version) ||
	    !SSL_CTX_set_max_proto_version(srv->ctx, cfg->max_version)) {
		snprintf(err, errlen, "unsupported TLS version range");
		goto fail;
	}
	/*
	 * No renegotiation, no compression. Tickets off: TLS 1.2 resumes by session ID and TLS 1.3
	 * by stateful tickets, both through our own cache, so a session becomes resumable only when
	 * its conversation ends in Accept.
	 */
	/*
	 * Send exactly the chain of the certificate file (minus a root: see above). Record
	 * buffers are freed whenever empty: a conversation waiting for its peer in the middle of
	 * the handshake then holds 52 KB instead of 61 (test_memory.sh).
	 */
	SSL_CTX_set_mode(srv->ctx, SSL_MODE_NO_AUTO_CHAIN | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(srv->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					       SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(srv->ctx, 0);

	/*
	 * Unless configured: OpenSSL's default suites, AES-128-GCM first (as Mozilla's
	 * "intermediate" profile orders them). Its SHA-256 PRF and HKDF cost a fraction of SHA-384's
	 * on CPUs with SHA extensions, and a resumption is mostly PRF work.
	 */
	if (SSL_CTX_set_cipher_list(srv->ctx, ciphers) != 1) {
		snprintf(err, errlen, "bad cipher_list \"%s\"", ciphers);
		goto fail;
	}
	if (SSL_CTX_set_ciphersuites(srv->ctx, suites13) != 1) {
		snprintf(err, errlen, "bad tls13_ciphersuites \"%s\"", suites13);
		goto fail;
	}
	if (cfg->ecdh_curves && SSL_CTX_set1_groups_list(srv->ctx, cfg->ecdh_curves) != 1) {
		snprintf(err, errlen, "bad ecdh_curves \"%s\"", cfg->ecdh_curves);
		goto fail;
	}

	SSL_CTX_set_default_passwd_cb(srv->ctx, key_password_cb);
	SSL_CTX_set_default_passwd_cb_userdata(srv->ctx, cfg->private_key_password);
	if (SSL_CTX_use_certificate_chain_file(srv->ctx, cfg->certificate) != 1) {
		snprintf(err, errlen, "cannot load server certificate %s: %s", cfg->certificate,
			 ERR_reason_error_string(ERR_peek_last_error()));
		goto fail;
	}
	drop_self_signed_from_chain(srv->ctx);
	{
		/* Workers share these certificates: fill their caches now (see store_prewarm). */
		STACK_OF(X509) *chain = NULL;
		int i;

		X509_check_purpose(SSL_CTX_get0_certificate(srv->ctx), -1, 0);
		SSL_CTX_get0_chain_certs(srv->ctx, &chain);
		for (i = 0; i < sk_X509_num(chain); i++)
			X509_check_purpose(sk_X509_value(chain, i), -1, 0);
	}
	if (SSL_CTX_use_PrivateKey_file(srv->ctx, cfg->private_key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "cannot load private key %s: %s", cfg->private_key,
			 ERR_reason_error_string(ERR_peek_last_error()));
		goto fail;
	}
	if (SSL_CTX_check_private_key(srv->ctx) != 1) {
		snprintf(err, errlen, "private key %s does not match certificate %s",
			 cfg->private_key, cfg->certificate);
		goto fail;
	}
	/* The password is not needed after this. */
	SSL_CTX_set_default_passwd_cb_userdata(srv->ctx, NULL);

	srv->store = store_build(cfg, &srv->crl_until, err, errlen);
	if (!srv->store)
		goto fail;
	srv->store_gen = atomic_fetch_add(&store_gens, 1) + 1;
	SSL_CTX_set1_verify_cert_store(srv->ctx, srv->store);
	SSL_CTX_set_cert_verify_callback(srv->ctx, tls_conn_verify_chain, srv);
	if (cfg->crl_file) {
		struct stat st;

		if (stat(cfg->crl_file, &st) == 0) {
			srv->crl_st = st;
			srv->crl_st_valid = true;
		}
	}
	names = SSL_load_client_CA_file(cfg->ca_file);
	if (names)
		SSL_CTX_set_client_CA_list(srv->ctx, names);

	SSL_CTX_set_session_id_context(srv->ctx, sid_ctx, sizeof(sid_ctx) - 1);
	mode = SSL_SESS_CACHE_OFF;
	if (cfg->resumption)
		mode = SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL |
		       SSL_SESS_CACHE_NO_AUTO_CLEAR;
	SSL_CTX_set_session_cache_mode(srv->ctx, mode);
	SSL_CTX_set_timeout(srv->ctx, (long)cfg->session_lifetime);
	SSL_CTX_sess_set_get_cb(srv->ctx, cache_get_cb);
	SSL_CTX_sess_set_remove_cb(srv->ctx, cache_remove_cb);
	SSL_CTX_sess_set_new_cb(srv->ctx, tls_conn_new_session_cb);
	ERR_clear_error();
	return srv;
fail:
	ERR_clear_error();
	talloc_free(srv);
	return NULL;
}

void
tls_server_set_cache(struct tls_server *srv, struct tls_cache *cache)
{
	srv->cache = cache;
}

SSL_CTX *
tls_server_ssl_ctx(const struct tls_server *srv)
{
	return srv->ctx;
}

X509_STORE *
tls_server_store_ref(struct tls_server *srv, unsigned long *gen, time_t *crl_until)
{
	X509_STORE *st;

	pthread_mutex_lock(&srv->lock);
	st = srv->store;
	X509_STORE_up_ref(st);
	*gen = srv->store_gen;
	*crl_until = srv->crl_until;
	pthread_mutex_unlock(&srv->lock);
	return st;
}

const struct conf_tls *
tls_server_conf(const struct tls_server *srv)
{
	return srv->cfg;
}

struct tls_cache *
tls_server_cache(const struct tls_server *srv)
{
	return srv->cache;
}
