/*
 * tls_conn.c - TLS server connection over memory BIOs, certificate facts and re-checks.
 * See tls_conn.h.
 */
#include "tls_conn.h"

#include "conf.h"
#include "policy.h"
#include "tls_ctx.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/*
 * What a cached session remembers of the verification of its client certificate: the verify
 * store it passed against, and until when that result holds (the earliest notAfter of the
 * chain and nextUpdate of the CRLs). While both still hold, a resumption needs no new
 * verification: nothing it would look at has changed.
 */
struct verify_stamp {
	unsigned long store_gen;
	time_t until;
};

struct tls_conn {
	unsigned char resumed_id[SSL_MAX_SSL_SESSION_ID_LENGTH];
	unsigned resumed_idlen;
	SSL *ssl;
	BIO *rbio; /* records from the peer (owned by ssl) */
	BIO *wbio; /* records to the peer (owned by ssl) */
	struct tls_cache *cache;
	SSL_SESSION *pending; /* created by this handshake, cached on Accept */
	int verify_err;	      /* first X509 verify error, 0 if none */
	int verify_depth;
	char reason[200];
	char *note; /* child: attached to the session on commit */
	uint8_t *facts;		 /* child: the peer's certificate facts, packed (facts_pack) */
	bool facts_from_session; /* the last tls_conn_peer_facts came from the session */
	/* the verify store this connection started with (tls_server_store_ref) */
	unsigned long store_gen;
	time_t crl_until;
	/* the stamp put on the session at commit: set when the peer's chain verified here */
	bool have_stamp;
	struct verify_stamp stamp;
	void (*trace)(void *arg, const char *text);
	void *trace_arg;
};

static int
conn_free(struct tls_conn *c)
{
	SSL_SESSION_free(c->pending);
	/*
	 * EAP conversations end without close_notify. Without this, SSL_free treats the session
	 * as broken and removes it from the cache; whether it stays is our decision (Accept).
	 */
	SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(c->ssl);
	return 0;
}

/* X509 verify errors, in the words of the authentication log. */
static const char *
verify_reason(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_REVOKED:
		return "revoked";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "not yet valid";
	case X509_V_ERR_INVALID_PURPOSE:
		return "missing clientAuth EKU";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return "untrusted CA";
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		return "no CRL for the issuer";
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return "CRL expired";
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return "CRL not yet valid";
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
		return "CRL signature invalid";
	/* below OpenSSL's security level 2: RSA/DSA/DH < 2048 bits, EC < 224, SHA-1 signatures */
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
		return "key too weak";
	case X509_V_ERR_CA_MD_TOO_WEAK:
		return "signature too weak";
	default:
		return "certificate invalid";
	}
}

static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
	int depth = X509_STORE_CTX_get_error_depth(xs);

	if (!c)
		return ok;
	if (!ok && !c->verify_err) {
		c->verify_err = X509_STORE_CTX_get_error(xs);
		c->verify_depth = depth;
	}
	if (c->trace) {
		char buf[400], subj[256] = "";
		X509 *x = X509_STORE_CTX_get_current_cert(xs);

		if (x)
			X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
		snprintf(buf, sizeof(buf), "TLS: verify depth %d %s: %s", depth, subj,
			 ok ? "ok"
			    : X509_verify_cert_error_string(X509_STORE_CTX_get_error(xs)));
		c->trace(c->trace_arg, buf);
	}
	return ok;
}

static const char *
handshake_name(unsigned t)
{
	switch (t) {
	case 1:
		return "ClientHello";
	case 2:
		return "ServerHello";
	case 4:
		return "NewSessionTicket";
	case 5:
		return "EndOfEarlyData";
	case 8:
		return "EncryptedExtensions";
	case 11:
		return "Certificate";
	case 12:
		return "ServerKeyExchange";
	case 13:
		return "CertificateRequest";
	case 14:
		return "ServerHelloDone";
	case 15:
		return "CertificateVerify";
	case 16:
		return "ClientKeyExchange";
	case 20:
		return "Finished";
	case 24:
		return "KeyUpdate";
	default:
		return "handshake message";
	}
}

static void
msg_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
       void *arg)
{
	struct tls_conn *c = SSL_get_app_data(ssl);
	const uint8_t *p = buf;
	char line[200];
	const char *dir = write_p ? "->" : "<-";

	(void)version;
	(void)arg;
	if (!c || !c->trace)
		return;
	switch (content_type) {
	case SSL3_RT_HANDSHAKE:
		if (len < 1)
			return;
		snprintf(line, sizeof(line), "TLS: %s %s (%zu bytes)", dir, handshake_name(p[0]),
			 len);
		break;
	case SSL3_RT_ALERT:
		if (len < 2)
			return;
		snprintf(line, sizeof(line), "TLS: %s alert %s: %s", dir,
			 p[0] == 2 ? "fatal" : "warning", SSL_alert_desc_string_long(p[1]));
		break;
	case SSL3_RT_CHANGE_CIPHER_SPEC:
		snprintf(line, sizeof(line), "TLS: %s ChangeCipherSpec", dir);
		break;
	case SSL3_RT_APPLICATION_DATA:
		snprintf(line, sizeof(line), "TLS: %s application data (%zu bytes)", dir, len);
		break;
	default:
		return;
	}
	c->trace(c->trace_arg, line);
}

static int sess_note_idx = -1;
static int sess_stamp_idx = -1;
static int sess_facts_idx = -1;
static pthread_once_t sess_note_once = PTHREAD_ONCE_INIT;

/* A packed facts blob (facts_pack) starts with its whole length. */
static size_t
blob_len(const void *blob)
{
	uint32_t n;

	memcpy(&n, blob, sizeof(n));
	return n;
}

/*
 * A session duplicated by OpenSSL (a TLS 1.3 ticket after a resumption) gets its own copy of
 * our data: argl is its size, 0 for a NUL-terminated string (the note), -1 for a blob that
 * starts with its length (the certificate facts).
 */
static int
exdata_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx, long argl,
	   void *argp)
{
	void *d = *(void **)from_d;

	(void)to;
	(void)from;
	(void)idx;
	(void)argp;
	if (d)
		*(void **)from_d = argl > 0   ? OPENSSL_memdup(d, (size_t)argl)
				   : argl < 0 ? OPENSSL_memdup(d, blob_len(d))
					      : OPENSSL_strdup(d);
	return 1;
}

static void
exdata_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	OPENSSL_free(ptr);
}

static void
sess_note_init(void)
{
	sess_note_idx =
		SSL_SESSION_get_ex_new_index(0, "kagi note", NULL, exdata_dup, exdata_free);
	sess_stamp_idx = SSL_SESSION_get_ex_new_index((long)sizeof(struct verify_stamp),
						      "kagi verify stamp", NULL, exdata_dup,
						      exdata_free);
	sess_facts_idx = SSL_SESSION_get_ex_new_index(-1, "kagi certificate facts", NULL,
						      exdata_dup, exdata_free);
}

/* An SSL object on ctx_ssl with two memory BIOs, owned by a new talloc'd tls_conn. */
static struct tls_conn *
conn_create(TALLOC_CTX *ctx, SSL_CTX *ssl_ctx, char *err, size_t errlen)
{
	struct tls_conn *c = talloc_zero(ctx, struct tls_conn);

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->ssl = SSL_new(ssl_ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (!c->ssl || !c->rbio || !c->wbio) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		SSL_free(c->ssl);
		talloc_free(c);
		snprintf(err, errlen, "cannot create TLS connection");
		ERR_clear_error();
		return NULL;
	}
	talloc_set_destructor(c, conn_free);
	/* An empty read is "no data yet", not EOF. */
	BIO_set_mem_eof_return(c->rbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_app_data(c->ssl, c);
	return c;
}

struct tls_conn *
tls_conn_new(TALLOC_CTX *ctx, struct tls_server *srv, bool want_client_cert, char *err,
	     size_t errlen)
{
	struct tls_conn *c = conn_create(ctx, tls_server_ssl_ctx(srv), err, errlen);
	X509_STORE *store;

	if (!c)
		return NULL;
	/* The verify store is per connection: a CRL reload swaps it without touching the CTX. */
	store = tls_server_store_ref(srv, &c->store_gen, &c->crl_until);
	SSL_set1_verify_cert_store(c->ssl, store);
	X509_STORE_free(store);
	SSL_set_accept_state(c->ssl);
	/* PEAP and TTLS authenticate the user inside the tunnel: no certificate request. */
	if (want_client_cert)
		SSL_set_verify(c->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			       verify_cb);
	else
		SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
	pthread_once(&sess_note_once, sess_note_init);
	c->cache = tls_server_cache(srv);
	return c;
}

SSL_CTX *
tls_client_ctx_new(const char *ca_file, const char *cert, const char *key, int min_version,
		   int max_version, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, min_version);
	SSL_CTX_set_max_proto_version(ctx, max_version);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* EAP peers resume by session ID (TLS 1.2) and PSK tickets (TLS 1.3). */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
	if (!ca_file || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		snprintf(err, errlen, "cannot load CA %s", ca_file ? ca_file : "(none)");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/*
	 * Send the chain in the certificate file and nothing else, like a supplicant does: OpenSSL's
	 * automatic chain would add the CA from ca_file, which the server already has, and push the
	 * client's flight into a second EAP fragment.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
	if (cert && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		     SSL_CTX_use_PrivateKey_file(ctx, key ? key : cert, SSL_FILETYPE_PEM) != 1 ||
		     SSL_CTX_check_private_key(ctx) != 1)) {
		snprintf(err, errlen, "cannot load client certificate %s / key %s", cert,
			 key ? key : cert);
		goto fail;
	}
	ERR_clear_error();
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_conn *
tls_conn_new_client(TALLOC_CTX *ctx, SSL_CTX *cctx, const char *server_name,
		    SSL_SESSION *session, char *err, size_t errlen)
{
	struct tls_conn *c = conn_create(ctx, cctx, err, errlen);

	if (!c)
		return NULL;
	SSL_set_connect_state(c->ssl);
	SSL_set_verify(c->ssl, SSL_VERIFY_PEER, verify_cb);
	if (server_name && SSL_set1_host(c->ssl, server_name) != 1) {
		snprintf(err, errlen, "bad server name %s", server_name);
		talloc_free(c);
		return NULL;
	}
	if (session)
		SSL_set_session(c->ssl, session);
	return c;
}

SSL_SESSION *
tls_conn_get_session(const struct tls_conn *c)
{
	SSL_SESSION *s = SSL_get1_session(c->ssl);

	if (s && !SSL_SESSION_is_resumable(s)) {
		SSL_SESSION_free(s);
		return NULL;
	}
	return s;
}

void
tls_conn_set_eap_type(struct tls_conn *c, uint8_t type)
{
	unsigned char sid_ctx[] = "kagi-eap-?";

	sid_ctx[sizeof(sid_ctx) - 2] = type;
	SSL_set_session_id_context(c->ssl, sid_ctx, sizeof(sid_ctx) - 1);
}

void
tls_conn_set_trace(struct tls_conn *c, void (*fn)(void *arg, const char *text), void *arg)
{
	c->trace = fn;
	c->trace_arg = arg;
	if (fn)
		SSL_set_msg_callback(c->ssl, msg_cb);
}

int
tls_conn_push(struct tls_conn *c, const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	if (len > 0x7fffffff || BIO_write(c->rbio, data, (int)len) != (int)len)
		return -1;
	return 0;
}

static void
set_fail_reason(struct tls_conn *c)
{
	unsigned long e = ERR_peek_error();
	int r = ERR_GET_REASON(e);

	if (c->verify_err) {
		snprintf(c->reason, sizeof(c->reason), "%s", verify_reason(c->verify_err));
		return;
	}
	switch (r) {
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		snprintf(c->reason, sizeof(c->reason), "no client certificate");
		return;
	case SSL_R_NO_SHARED_CIPHER:
		snprintf(c->reason, sizeof(c->reason), "no shared cipher");
		return;
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_HTTP_REQUEST:
		snprintf(c->reason, sizeof(c->reason), "not a TLS record (garbage from the peer)");
		return;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_VERSION_TOO_LOW:
		snprintf(c->reason, sizeof(c->reason), "TLS version not allowed");
		return;
	default:
		break;
	}
	if (e && ERR_GET_LIB(e) == ERR_LIB_SSL && r >= SSL_AD_REASON_OFFSET) {
		/* The peer sent an alert: most often it does not trust our server certificate. */
		int alert = r - SSL_AD_REASON_OFFSET;
		bool cert_alert = alert == SSL_AD_UNKNOWN_CA || alert == SSL_AD_BAD_CERTIFICATE ||
				  alert == SSL_AD_CERTIFICATE_UNKNOWN ||
				  alert == SSL_AD_UNSUPPORTED_CERTIFICATE;

		snprintf(c->reason, sizeof(c->reason), "peer sent TLS alert: %s%s",
			 SSL_alert_desc_string_long(alert),
			 cert_alert ? " (the client does not trust the server certificate: check "
				      "its CA and server name settings)"
				    : "");
		return;
	}
	snprintf(c->reason, sizeof(c->reason), "TLS handshake failed%s%s", e ? ": " : "",
		 e ? ERR_reason_error_string(e) : "");
}

enum tls_step
tls_conn_handshake(struct tls_conn *c)
{
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		/*
		 * Remember which cached session was resumed: a new ticket replaces the SSL's
		 * session, and a refused resumption must remove the original from the cache.
		 */
		SSL_SESSION *s = SSL_get_session(c->ssl);

		if (s && SSL_session_reused(c->ssl) && !c->resumed_idlen) {
			unsigned len;
			const unsigned char *id = SSL_SESSION_get_id(s, &len);

			if (len <= sizeof(c->resumed_id)) {
				memcpy(c->resumed_id, id, len);
				c->resumed_idlen = len;
			}
		}
		return TLS_STEP_DONE;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return TLS_STEP_CONTINUE;
	set_fail_reason(c);
	ERR_clear_error();
	return TLS_STEP_FAIL;
}

size_t
tls_conn_pending(const struct tls_conn *c)
{
	return BIO_ctrl_pending(c->wbio);
}

size_t
tls_conn_pull(struct tls_conn *c, TALLOC_CTX *ctx, uint8_t **out)
{
	size_t n = BIO_ctrl_pending(c->wbio);
	int r;

	*out = NULL;
	if (n == 0)
		return 0;
	*out = talloc_array(ctx, uint8_t, n);
	if (!*out)
		return 0;
	r = BIO_read(c->wbio, *out, (int)n);
	if (r <= 0) {
		TALLOC_FREE(*out);
		return 0;
	}
	/*
	 * A memory BIO keeps the largest size it ever had: after a big flight (the certificate
	 * chain), a conversation waiting for its peer would hold that copy for nothing. A fresh
	 * one replaces it (SSL_set0_wbio keeps OpenSSL's handshake buffering BIO in front).
	 */
	if (r > 1024 && BIO_ctrl_pending(c->wbio) == 0) {
		BIO *fresh = BIO_new(BIO_s_mem());

		if (fresh) {
			SSL_set0_wbio(c->ssl, fresh);
			c->wbio = fresh;
		}
	}
	return (size_t)r;
}

int
tls_conn_write(struct tls_conn *c, const uint8_t *data, size_t len)
{
	int r;

	ERR_clear_error();
	r = SSL_write(c->ssl, data, (int)len);
	ERR_clear_error();
	return r == (int)len ? 0 : -1;
}

int
tls_conn_read(struct tls_conn *c, uint8_t *buf, size_t cap)
{
	int r, e;

	ERR_clear_error();
	r = SSL_read(c->ssl, buf, (int)(cap > 0x7fffffff ? 0x7fffffff : cap));
	if (r > 0)
		return r;
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	set_fail_reason(c);
	ERR_clear_error();
	return -1;
}

void
tls_conn_set_note(struct tls_conn *c, const char *note)
{
	talloc_free(c->note);
	c->note = note ? talloc_strdup(c, note) : NULL;
}

const char *
tls_conn_session_note(const struct tls_conn *c)
{
	SSL_SESSION *s = SSL_get_session(c->ssl);

	if (!s || sess_note_idx < 0 || !tls_conn_resumed(c))
		return NULL;
	return SSL_SESSION_get_ex_data(s, sess_note_idx);
}

int
tls_conn_new_ticket(struct tls_conn *c)
{
	int r;

	if (SSL_new_session_ticket(c->ssl) != 1)
		return -1;
	/* Write it now (into the memory BIO), not with some later SSL_write or SSL_read. */
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	ERR_clear_error();
	return r == 1 ? 0 : -1;
}

int
tls_conn_export(struct tls_conn *c, const char *label, const uint8_t *context, size_t ctxlen,
		bool use_context, uint8_t *out, size_t outlen)
{
	int r = SSL_export_keying_material(c->ssl, out, outlen, label, strlen(label), context,
					   ctxlen, use_context ? 1 : 0);

	ERR_clear_error();
	return r == 1 ? 0 : -1;
}

void
tls_conn_randoms(const struct tls_conn *c, uint8_t client_random[32], uint8_t server_random[32])
{
	SSL_get_client_random(c->ssl, client_random, 32);
	SSL_get_server_random(c->ssl, server_random, 32);
}

int
tls_conn_version(const struct tls_conn *c)
{
	return SSL_version(c->ssl);
}

const char *
tls_conn_version_str(const struct tls_conn *c)
{
	return SSL_get_version(c->ssl);
}

bool
tls_conn_resumed(const struct tls_conn *c)
{
	return SSL_session_reused(c->ssl) == 1;
}

const char *
tls_conn_reason(const struct tls_conn *c)
{
	return c->reason[0] ? c->reason : NULL;
}

/* Copy an ASN1 string as UTF-8; refuse embedded NULs (the "null prefix" trick). */
static bool
asn1_copy(const ASN1_STRING *s, char *out, size_t outlen)
{
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, s);
	bool ok = false;

	out[0] = '\0';
	if (n < 0)
		return false;
	if ((size_t)n < outlen && memchr(utf8, '\0', (size_t)n) == NULL) {
		memcpy(out, utf8, (size_t)n);
		out[n] = '\0';
		ok = true;
	}
	OPENSSL_free(utf8);
	return ok;
}

static void
name_oneline(const X509_NAME *name, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	out[0] = '\0';
	if (!b)
		return;
	X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_read(b, out, (int)outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}

static void
facts_from_x509(X509 *x, struct cert_facts *f)
{
	const X509_NAME *subj = X509_get_subject_name(x);
	GENERAL_NAMES *sans;
	EXTENDED_KEY_USAGE *eku;
	int idx, i;
	BIGNUM *bn;

	memset(f, 0, sizeof(*f));
	name_oneline(subj, f->subject, sizeof(f->subject));
	name_oneline(X509_get_issuer_name(x), f->issuer, sizeof(f->issuer));
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	if (bn) {
		char *hex = BN_bn2hex(bn);

		if (hex)
			snprintf(f->serial, sizeof(f->serial), "%s", hex);
		OPENSSL_free(hex);
		BN_free(bn);
	}
	/* The most specific (last) CN. */
	idx = -1;
	for (i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1); i >= 0;
	     i = X509_NAME_get_index_by_NID(subj, NID_commonName, i))
		idx = i;
	if (idx >= 0)
		asn1_copy(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)), f->cn,
			  sizeof(f->cn));

	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; sans && i < sk_GENERAL_NAME_num(sans) && f->n_san < CERT_MAX_SAN; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		char *dst = f->san[f->n_san];
		bool ok = false;

		switch (gn->type) {
		case GEN_EMAIL:
			ok = asn1_copy(gn->d.rfc822Name, dst, CERT_NAME_MAX);
			f->san_type[f->n_san] = SAN_EMAIL;
			break;
		case GEN_DNS:
			ok = asn1_copy(gn->d.dNSName, dst, CERT_NAME_MAX);
			f->san_type[f->n_san] = SAN_DNS;
			break;
		case GEN_URI:
			ok = asn1_copy(gn->d.uniformResourceIdentifier, dst, CERT_NAME_MAX);
			f->san_type[f->n_san] = SAN_URI;
			break;
		case GEN_OTHERNAME:
			/* Microsoft UPN, 1.3.6.1.4.1.311.20.2.3, a UTF8String. */
			if (OBJ_obj2nid(gn->d.otherName->type_id) == NID_ms_upn &&
			    gn->d.otherName->value->type == V_ASN1_UTF8STRING) {
				ok = asn1_copy(gn->d.otherName->value->value.utf8string, dst,
					       CERT_NAME_MAX);
				f->san_type[f->n_san] = SAN_UPN;
			}
			break;
		default:
			break;
		}
		if (ok)
			f->n_san++;
	}
	GENERAL_NAMES_free(sans);

	/*
	 * The EKU extension alone: X509_get_extension_flags would decode every extension and
	 * hash the certificate, which a chain found in the verified-chain cache never needed.
	 * Present but undecodable (or twice): an EKU without clientAuth, so refused when required.
	 */
	idx = -1;
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &idx, NULL);
	f->has_eku = eku || idx != -1;
	for (i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_client_auth)
			f->eku_client = true;
	EXTENDED_KEY_USAGE_free(eku);
	ERR_clear_error();
}

/*
 * The facts of a certificate in a few hundred octets instead of the 5 KB of struct cert_facts,
 * for the session cache: length (uint32), subject, issuer, serial and CN (each NUL-terminated),
 * the SAN count, each SAN's type and value, the EKU flags. A resumption reads them back instead
 * of parsing the same certificate again (two DN printings and the SAN extension: about 6 % of a
 * resumed EAP-TLS authentication).
 */
static uint8_t *
facts_pack(TALLOC_CTX *ctx, const struct cert_facts *f)
{
	const char *strs[4 + CERT_MAX_SAN];
	size_t len = sizeof(uint32_t) + 1 + 2, i, n = 0;
	uint8_t *b, *p;
	uint32_t total;

	strs[n++] = f->subject;
	strs[n++] = f->issuer;
	strs[n++] = f->serial;
	strs[n++] = f->cn;
	for (i = 0; i < f->n_san && i < CERT_MAX_SAN; i++)
		strs[n++] = f->san[i];
	for (i = 0; i < n; i++)
		len += strlen(strs[i]) + 1;
	len += n - 4; /* a type octet per SAN */
	b = p = talloc_size(ctx, len);
	if (!b)
		return NULL;
	total = (uint32_t)len;
	memcpy(p, &total, sizeof(total));
	p += sizeof(total);
	for (i = 0; i < n; i++) {
		size_t sl = strlen(strs[i]) + 1;

		if (i == 4)
			*p++ = (uint8_t)(n - 4);
		if (i >= 4)
			*p++ = (uint8_t)f->san_type[i - 4];
		memcpy(p, strs[i], sl);
		p += sl;
	}
	if (n == 4)
		*p++ = 0;
	*p++ = f->has_eku;
	*p++ = f->eku_client;
	return b;
}

/* Copy the NUL-terminated string at *p (inside end) into out; false if it does not fit. */
static bool
unpack_str(const uint8_t **p, const uint8_t *end, char *out, size_t outlen)
{
	const uint8_t *nul = memchr(*p, '\0', (size_t)(end - *p));

	if (!nul || (size_t)(nul - *p) >= outlen)
		return false;
	memcpy(out, *p, (size_t)(nul - *p) + 1);
	*p = nul + 1;
	return true;
}

static bool
facts_unpack(const uint8_t *b, struct cert_facts *f)
{
	const uint8_t *p = b + sizeof(uint32_t), *end = b + blob_len(b);
	unsigned i, n;

	memset(f, 0, sizeof(*f));
	if (!unpack_str(&p, end, f->subject, sizeof(f->subject)) ||
	    !unpack_str(&p, end, f->issuer, sizeof(f->issuer)) ||
	    !unpack_str(&p, end, f->serial, sizeof(f->serial)) ||
	    !unpack_str(&p, end, f->cn, sizeof(f->cn)) || p >= end || *p > CERT_MAX_SAN)
		return false;
	n = *p++;
	for (i = 0; i < n; i++) {
		if (p >= end)
			return false;
		f->san_type[i] = (enum san_type)(*p++);
		if (!unpack_str(&p, end, f->san[i], sizeof(f->san[i])))
			return false;
	}
	f->n_san = n;
	if (end - p != 2)
		return false;
	f->has_eku = p[0];
	f->eku_client = p[1];
	return true;
}

bool
tls_conn_peer_facts(struct tls_conn *c, struct cert_facts *f)
{
	X509 *x = SSL_get0_peer_certificate(c->ssl);
	SSL_SESSION *s = SSL_get_session(c->ssl);
	const uint8_t *kept;

	c->facts_from_session = false;
	if (!x)
		return false;
	kept = s && sess_facts_idx >= 0 && tls_conn_resumed(c)
		       ? SSL_SESSION_get_ex_data(s, sess_facts_idx)
		       : NULL;
	if (kept && facts_unpack(kept, f)) {
		c->facts_from_session = true;
		return true;
	}
	facts_from_x509(x, f);
	TALLOC_FREE(c->facts);
	c->facts = facts_pack(c, f); /* for the session, on commit */
	return true;
}

bool
tls_conn_facts_from_session(const struct tls_conn *c)
{
	return c->facts_from_session;
}

/* The earliest notAfter of a chain, limited by crl_until (0: no limit from CRLs). */
static time_t
chain_until(STACK_OF(X509) *chain, time_t crl_until)
{
	time_t until = crl_until;
	int i;

	for (i = 0; chain && i < sk_X509_num(chain); i++) {
		struct tm tm;
		time_t t;

		if (ASN1_TIME_to_tm(X509_get0_notAfter(sk_X509_value(chain, i)), &tm) != 1)
			return 1; /* unreadable: no shortcut for this session */
		t = timegm(&tm);
		if (until == 0 || t < until)
			until = t;
	}
	return until;
}

/* The chain of c verified against store gen, a result that holds until `until`. */
static void
stamp_set(struct tls_conn *c, unsigned long gen, time_t until)
{
	c->have_stamp = true;
	c->stamp.store_gen = gen;
	c->stamp.until = until;
}

/*
 * The key of a client's chain in the verified-chain cache: SHA-256 over the SHA-256 of each
 * certificate it sent (leaf first). False if it cannot be computed (then: no shortcut).
 */
static bool
chain_key(X509 *leaf, STACK_OF(X509) *sent, unsigned char key[32])
{
	unsigned char digests[8 * 32];
	unsigned n = 0, len;
	int i;

	if (!leaf || X509_digest(leaf, EVP_sha256(), digests, &len) != 1 || len != 32)
		return false;
	n = 32;
	for (i = 0; sent && i < sk_X509_num(sent); i++) {
		X509 *x = sk_X509_value(sent, i);

		if (x == leaf)
			continue;
		if (n + 32 > sizeof(digests) ||
		    X509_digest(x, EVP_sha256(), digests + n, &len) != 1 || len != 32)
			return false;
		n += 32;
	}
	return EVP_Digest(digests, n, key, &len, EVP_sha256(), NULL) == 1 && len == 32;
}

/*
 * A client that authenticates again with a full handshake (roaming, no resumption) sends the
 * same chain: verifying it (chain and CRL signatures, revocation) gives the same answer as long
 * as the store (CA certificates, CRLs) is the same and no notAfter or CRL nextUpdate has
 * passed, the condition a resumption already uses (struct verify_stamp). Only successes are
 * remembered: a failing chain is verified every time, for its reason.
 */
int
tls_conn_verify_chain(X509_STORE_CTX *xs, void *arg)
{
	struct tls_server *srv = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
	unsigned char key[32];
	time_t now = time(NULL), until;
	bool keyed;
	int ok;

	if (!c)
		return X509_verify_cert(xs);
	keyed = chain_key(X509_STORE_CTX_get0_cert(xs), X509_STORE_CTX_get0_untrusted(xs), key);
	if (keyed && tls_server_chain_known(srv, key, c->store_gen, now, &until)) {
		stamp_set(c, c->store_gen, until);
		if (c->trace)
			c->trace(c->trace_arg, "TLS: client chain verified before against the same "
					       "CA certificates and CRLs, nothing in it expired "
					       "since: not verified again");
		return 1;
	}
	ok = X509_verify_cert(xs);
	if (ok == 1) {
		stamp_set(c, c->store_gen,
			  chain_until(X509_STORE_CTX_get0_chain(xs), c->crl_until));
		if (keyed)
			tls_server_chain_put(srv, key, c->store_gen, c->stamp.until, now);
	}
	return ok;
}

/* The stamp of the session being resumed, if it has one. */
static const struct verify_stamp *
session_stamp(const struct tls_conn *c)
{
	SSL_SESSION *s = SSL_get_session(c->ssl);

	if (!s || sess_stamp_idx < 0)
		return NULL;
	return SSL_SESSION_get_ex_data(s, sess_stamp_idx);
}

bool
tls_conn_recheck(struct tls_conn *c, struct tls_server *srv, time_t now, const char **reason)
{
	X509 *leaf = SSL_get0_peer_certificate(c->ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c->ssl);
	const struct verify_stamp *st = session_stamp(c);
	X509_STORE_CTX *xs = NULL;
	X509_STORE *store;
	unsigned long gen;
	time_t crl_until;
	bool ok = false;

	if (!leaf) {
		*reason = "no client certificate";
		return false;
	}
	/* The store as of now: the CRL may have changed since the session was cached. */
	store = tls_server_store_ref(srv, &gen, &crl_until);
	if (st && st->store_gen == gen && now < st->until) {
		/*
		 * Same CA certificates and CRLs as when the chain was last verified, and none of
		 * them, nor the CRL, has expired since: the verification would say the same.
		 */
		stamp_set(c, st->store_gen, st->until);
		ok = true;
		goto out;
	}
	xs = X509_STORE_CTX_new();
	if (!xs || X509_STORE_CTX_init(xs, store, leaf, chain) != 1) {
		*reason = "out of memory";
		goto out;
	}
	X509_STORE_CTX_set_purpose(xs, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(xs) == 1) {
		ok = true;
		stamp_set(c, gen, chain_until(X509_STORE_CTX_get0_chain(xs), crl_until));
	} else {
		*reason = verify_reason(X509_STORE_CTX_get_error(xs));
	}
out:
	X509_STORE_CTX_free(xs);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok;
}

int
tls_conn_new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_conn *c = SSL_get_app_data(ssl);

	if (!c)
		return 0;
	SSL_SESSION_free(c->pending);
	c->pending = sess; /* we keep the reference OpenSSL gave us */
	return 1;
}

/*
 * Put copy (OPENSSL-allocated; NULL clears) into the session's ex_data idx, freeing what was
 * there. False, with copy freed and the old data kept, if OpenSSL refused.
 */
static bool
sess_replace(SSL_SESSION *s, int idx, void *copy)
{
	void *old = SSL_SESSION_get_ex_data(s, idx);

	if (!SSL_SESSION_set_ex_data(s, idx, copy)) {
		OPENSSL_free(copy);
		return false;
	}
	OPENSSL_free(old);
	return true;
}

void
tls_conn_commit_session(struct tls_conn *c, time_t now)
{
	if (!c->pending || !c->cache)
		return;
	/*
	 * A full handshake whose client chain verified was stamped by tls_conn_verify_chain; a
	 * resumption passes on the stamp tls_conn_recheck left (a TLS 1.3 ticket is a copy of the
	 * session). No stamp, no shortcut: whatever OpenSSL copied from the resumed session is
	 * removed.
	 */
	if (sess_stamp_idx >= 0) {
		struct verify_stamp *copy =
			c->have_stamp ? OPENSSL_memdup(&c->stamp, sizeof(c->stamp)) : NULL;

		if ((c->have_stamp && !copy) || !sess_replace(c->pending, sess_stamp_idx, copy))
			return; /* out of memory: not resumable */
	}
	if (c->facts && sess_facts_idx >= 0) {
		uint8_t *copy = OPENSSL_memdup(c->facts, blob_len(c->facts));

		/* Without them a resumption reads the certificate again: not an error. */
		if (copy)
			sess_replace(c->pending, sess_facts_idx, copy);
	}
	if (c->note && sess_note_idx >= 0) {
		char *copy = OPENSSL_strdup(c->note);

		if (!copy || !sess_replace(c->pending, sess_note_idx, copy))
			return; /* without its note the session must not be resumable */
	}
	tls_cache_put(c->cache, c->pending, now);
	SSL_SESSION_free(c->pending);
	c->pending = NULL;
}

void
tls_conn_forget_session(struct tls_conn *c)
{
	SSL_SESSION *s = SSL_get_session(c->ssl);
	const unsigned char *id;
	unsigned len;

	if (!c->cache)
		return;
	if (c->resumed_idlen)
		tls_cache_remove(c->cache, c->resumed_id, c->resumed_idlen);
	if (!s)
		return;
	id = SSL_SESSION_get_id(s, &len);
	tls_cache_remove(c->cache, id, len);
}
