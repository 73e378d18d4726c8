/*
 * test_keys.c - EAP-TLS key material as src/eap_tls.c derives it, checked against a real TLS
 * handshake run in-process: an OpenSSL client SSL against a tls_conn (src/tls_conn.h) over
 * memory BIOs, for TLS 1.2 and TLS 1.3.
 *
 *   TLS 1.2, RFC 5216 §2.3: Key_Material = TLS-PRF-128(master_secret, "client EAP encryption",
 *       client.random || server.random); MSK = [0..63], EMSK = [64..127];
 *       Session-Id = 0x0D || client.random || server.random.
 *   TLS 1.3, RFC 9190 §2.3: Key_Material = TLS-Exporter("EXPORTER_EAP_TLS_Key_Material",
 *       0x0D, 128), Method-Id = TLS-Exporter("EXPORTER_EAP_TLS_Method-Id", 0x0D, 64).
 *
 * Each value is computed three ways: by the server (tls_conn_export, and tls_base_derive_keys,
 * which EAP-TLS, PEAP and TTLS use to fill the session's MSK, EMSK and Session-Id), by
 * SSL_export_keying_material on the client, and independently here from the client's secrets
 * (TLS 1.2 master secret with EVP_KDF "TLS1-PRF"; TLS 1.3 exporter_master_secret from the
 * key-log callback with HKDF-Expand-Label, RFC 8446 §7.1 and §7.5).
 *
 * The PKI (EC P-256 CA, server and client certificates) is made in the group setup with the
 * OpenSSL API, in a mkdtemp directory removed afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "conf.h"
#include "eap_tls_base.h"
#include "policy.h"
#include "session.h"
#include "tls_conn.h"
#include "tls_ctx.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <unistd.h>

#define CLIENT_SERIAL 0x7A5B3C2D1E0F9988ULL

struct pki {
	char dir[64];
	char ca_pem[128], server_pem[128], server_key[128];
	EVP_PKEY *ca_key, *server_key_obj, *client_key;
	X509 *ca, *server, *client, *client_noeku;
	EVP_PKEY *client_noeku_key;
};

static struct pki pki;

/* ---- PKI ---- */

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A certificate for key, signed by ca_key (self-signed when issuer is NULL). */
static X509 *
make_cert(EVP_PKEY *key, uint64_t serial, const char *cn, const char *org, X509 *issuer,
	  EVP_PKEY *ca_key, const char *const *exts)
{
	X509 *x = X509_new();
	X509_NAME *name;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	name = X509_get_subject_name(x);
	if (org)
		assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
							    (const unsigned char *)org, -1, -1, 0),
				 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						    (const unsigned char *)cn, -1, -1, 0),
			 1);
	assert_int_equal(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name), 1);
	for (; exts && exts[0]; exts += 2)
		add_ext(x, issuer ? issuer : x, OBJ_sn2nid(exts[0]), exts[1]);
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	return x;
}

static void
write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (x)
		assert_int_equal(PEM_write_X509(f, x), 1);
	if (k)
		assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(fclose(f), 0);
}

static int
group_setup(void **state)
{
	static const char *const ca_exts[] = {
		"basicConstraints", "critical,CA:TRUE",
		"keyUsage", "critical,keyCertSign,cRLSign",
		"subjectKeyIdentifier", "hash",
		NULL};
	static const char *const server_exts[] = {
		"basicConstraints", "critical,CA:FALSE",
		"keyUsage", "critical,digitalSignature",
		"extendedKeyUsage", "serverAuth",
		"subjectAltName", "DNS:radius.kagi.test",
		NULL};
	static const char *const client_exts[] = {
		"basicConstraints", "critical,CA:FALSE",
		"keyUsage", "critical,digitalSignature",
		"extendedKeyUsage", "clientAuth",
		"subjectAltName",
		"email:alice@example.org,DNS:alice-laptop.example.org,"
		"otherName:msUPN;UTF8:alice@corp.example.org",
		NULL};
	static const char *const noeku_exts[] = {
		"basicConstraints", "critical,CA:FALSE",
		"keyUsage", "critical,digitalSignature",
		"extendedKeyUsage", "serverAuth",
		"subjectAltName", "email:frank@example.org",
		NULL};

	(void)state;
	snprintf(pki.dir, sizeof(pki.dir), "/tmp/kagi-test-keys.XXXXXX");
	if (!mkdtemp(pki.dir))
		return -1;
	snprintf(pki.ca_pem, sizeof(pki.ca_pem), "%s/ca.pem", pki.dir);
	snprintf(pki.server_pem, sizeof(pki.server_pem), "%s/server.pem", pki.dir);
	snprintf(pki.server_key, sizeof(pki.server_key), "%s/server.key", pki.dir);

	pki.ca_key = EVP_EC_gen("P-256");
	pki.server_key_obj = EVP_EC_gen("P-256");
	pki.client_key = EVP_EC_gen("P-256");
	pki.client_noeku_key = EVP_EC_gen("P-256");
	if (!pki.ca_key || !pki.server_key_obj || !pki.client_key || !pki.client_noeku_key)
		return -1;
	pki.ca = make_cert(pki.ca_key, 1, "Kagi Test CA", NULL, NULL, pki.ca_key, ca_exts);
	pki.server = make_cert(pki.server_key_obj, 2, "radius.kagi.test", NULL, pki.ca,
			       pki.ca_key, server_exts);
	pki.client = make_cert(pki.client_key, CLIENT_SERIAL, "alice@example.org", "Kagi Tests",
			       pki.ca, pki.ca_key, client_exts);
	pki.client_noeku = make_cert(pki.client_noeku_key, 4, "frank@example.org", NULL, pki.ca,
				     pki.ca_key, noeku_exts);
	write_pem(pki.ca_pem, pki.ca, NULL);
	write_pem(pki.server_pem, pki.server, NULL);
	write_pem(pki.server_key, NULL, pki.server_key_obj);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	X509_free(pki.ca);
	X509_free(pki.server);
	X509_free(pki.client);
	X509_free(pki.client_noeku);
	EVP_PKEY_free(pki.ca_key);
	EVP_PKEY_free(pki.server_key_obj);
	EVP_PKEY_free(pki.client_key);
	EVP_PKEY_free(pki.client_noeku_key);
	unlink(pki.ca_pem);
	unlink(pki.server_pem);
	unlink(pki.server_key);
	rmdir(pki.dir);
	return 0;
}

/* ---- one handshake ---- */

struct hs {
	TALLOC_CTX *ctx;
	struct conf_tls cfg;
	struct tls_server *srv;
	struct tls_conn *conn;
	SSL_CTX *cctx;
	SSL *client;
	BIO *c_in, *c_out; /* client's read and write BIOs */
	char exporter_secret_hex[200];
	enum tls_step last;
};

/* The client's key log: keep EXPORTER_SECRET (TLS 1.3). */
static int keylog_idx = -1;

static void
keylog_cb(const SSL *ssl, const char *line)
{
	struct hs *h = SSL_get_ex_data(ssl, keylog_idx);
	const char *p;

	if (!h || strncmp(line, "EXPORTER_SECRET ", 16) != 0)
		return;
	p = strrchr(line, ' ');
	assert_non_null(p);
	snprintf(h->exporter_secret_hex, sizeof(h->exporter_secret_hex), "%s", p + 1);
}

/* When set, the next hs_init servers resume sessions from this cache. */
static struct tls_cache *hs_cache;
/* When set, the next hs_init servers do not require clientAuth in the EKU. */
static bool hs_any_eku;

static void
hs_init(struct hs *h, int version, X509 *client_cert, EVP_PKEY *client_key)
{
	char err[256] = "";
	X509_STORE *store;

	memset(h, 0, sizeof(*h));
	h->ctx = talloc_new(NULL);
	assert_non_null(h->ctx);
	h->cfg.certificate = pki.server_pem;
	h->cfg.private_key = pki.server_key;
	h->cfg.ca_file = pki.ca_pem;
	h->cfg.min_version = TLS1_2_VERSION;
	h->cfg.max_version = TLS1_3_VERSION;
	h->cfg.require_client_eku = !hs_any_eku;
	h->cfg.fragment_size = 1024;
	h->cfg.max_message_size = 65536;
	h->cfg.session_lifetime = 3600;
	h->cfg.resumption = hs_cache != NULL;
	h->srv = tls_server_new(h->ctx, &h->cfg, hs_cache, err, sizeof(err));
	if (!h->srv)
		fail_msg("tls_server_new: %s", err);
	h->conn = tls_conn_new(h->ctx, h->srv, true, err, sizeof(err));
	if (!h->conn)
		fail_msg("tls_conn_new: %s", err);

	if (keylog_idx < 0)
		keylog_idx = SSL_get_ex_new_index(0, "test keylog", NULL, NULL, NULL);
	h->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(h->cctx);
	assert_int_equal(SSL_CTX_set_min_proto_version(h->cctx, version), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(h->cctx, version), 1);
	store = SSL_CTX_get_cert_store(h->cctx);
	assert_int_equal(X509_STORE_add_cert(store, pki.ca), 1);
	SSL_CTX_set_verify(h->cctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_keylog_callback(h->cctx, keylog_cb);
	if (client_cert) {
		assert_int_equal(SSL_CTX_use_certificate(h->cctx, client_cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(h->cctx, client_key), 1);
	}
	h->client = SSL_new(h->cctx);
	assert_non_null(h->client);
	SSL_set_ex_data(h->client, keylog_idx, h);
	assert_int_equal(SSL_set1_host(h->client, "radius.kagi.test"), 1);
	h->c_in = BIO_new(BIO_s_mem());
	h->c_out = BIO_new(BIO_s_mem());
	assert_non_null(h->c_in);
	assert_non_null(h->c_out);
	BIO_set_mem_eof_return(h->c_in, -1);
	SSL_set_bio(h->client, h->c_in, h->c_out);
	SSL_set_connect_state(h->client);
}

static void
hs_free(struct hs *h)
{
	SSL_free(h->client);
	SSL_CTX_free(h->cctx);
	talloc_free(h->ctx);
	ERR_clear_error();
}

/* Shuttle records until both sides are done or one fails. Returns the server's last step. */
static enum tls_step
hs_run(struct hs *h)
{
	bool client_done = false;
	enum tls_step st = TLS_STEP_CONTINUE;
	int rounds;

	for (rounds = 0; rounds < 20; rounds++) {
		uint8_t buf[16384];
		uint8_t *out = NULL;
		int n, r;
		size_t m;

		if (!client_done) {
			r = SSL_do_handshake(h->client);
			if (r == 1) {
				client_done = true;
			} else {
				int e = SSL_get_error(h->client, r);

				if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
					break; /* client failed (e.g. an alert from the server) */
			}
		}
		/* client -> server */
		while ((n = BIO_read(h->c_out, buf, sizeof(buf))) > 0)
			assert_int_equal(tls_conn_push(h->conn, buf, (size_t)n), 0);
		if (st != TLS_STEP_DONE) {
			st = tls_conn_handshake(h->conn);
			if (st == TLS_STEP_FAIL)
				break;
		}
		/* server -> client */
		m = tls_conn_pull(h->conn, h->ctx, &out);
		if (m) {
			assert_int_equal(BIO_write(h->c_in, out, (int)m), (int)m);
			talloc_free(out);
		}
		if (client_done && st == TLS_STEP_DONE && tls_conn_pending(h->conn) == 0 &&
		    BIO_ctrl_pending(h->c_out) == 0)
			break;
	}
	h->last = st;
	return st;
}

/* ---- independent computations ---- */

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2, i;

	assert_true(n <= cap);
	for (i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* RFC 5246 §5 PRF through EVP_KDF "TLS1-PRF" (the label is the start of the seed). */
static void
tls12_prf(const EVP_MD *md, const uint8_t *secret, size_t slen, const char *label,
	  const uint8_t *seed, size_t seedlen, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *kc;
	uint8_t full[256];
	size_t llen = strlen(label);
	OSSL_PARAM params[4];

	assert_non_null(kdf);
	kc = EVP_KDF_CTX_new(kdf);
	assert_non_null(kc);
	assert_true(llen + seedlen <= sizeof(full));
	memcpy(full, label, llen);
	memcpy(full + llen, seed, seedlen);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)EVP_MD_get0_name(md), 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, slen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, full, llen + seedlen);
	params[3] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(kc, out, outlen, params), 1);
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
}

/* RFC 8446 §7.1 HKDF-Expand-Label. */
static void
hkdf_expand_label(const EVP_MD *md, const uint8_t *secret, size_t slen, const char *label,
		  const uint8_t *context, size_t clen, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kc;
	uint8_t info[2 + 1 + 255 + 1 + 255];
	size_t n = 0, llen = 6 + strlen(label);
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[5];

	assert_non_null(kdf);
	kc = EVP_KDF_CTX_new(kdf);
	assert_non_null(kc);
	assert_true(llen <= 255 && clen <= 255);
	info[n++] = (uint8_t)(outlen >> 8);
	info[n++] = (uint8_t)outlen;
	info[n++] = (uint8_t)llen;
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, llen - 6);
	n += llen;
	info[n++] = (uint8_t)clen;
	if (clen)
		memcpy(info + n, context, clen);
	n += clen;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)EVP_MD_get0_name(md), 0);
	params[1] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	params[4] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(kc, out, outlen, params), 1);
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
}

/* RFC 8446 §7.5 TLS-Exporter(label, context, length) from exporter_master_secret. */
static void
tls13_exporter(const EVP_MD *md, const uint8_t *ems, size_t emslen, const char *label,
	       const uint8_t *context, size_t clen, uint8_t *out, size_t outlen)
{
	uint8_t empty_hash[EVP_MAX_MD_SIZE], ctx_hash[EVP_MAX_MD_SIZE], derived[EVP_MAX_MD_SIZE];
	unsigned hlen = 0, hlen2 = 0;

	assert_int_equal(EVP_Digest("", 0, empty_hash, &hlen, md, NULL), 1);
	/* Derive-Secret(Secret, label, "") */
	hkdf_expand_label(md, ems, emslen, label, empty_hash, hlen, derived, hlen);
	assert_int_equal(EVP_Digest(context, clen, ctx_hash, &hlen2, md, NULL), 1);
	hkdf_expand_label(md, derived, hlen, "exporter", ctx_hash, hlen2, out, outlen);
}

static const EVP_MD *
negotiated_md(SSL *ssl)
{
	const EVP_MD *md = SSL_CIPHER_get_handshake_digest(SSL_get_current_cipher(ssl));

	assert_non_null(md);
	return md;
}

/* Run tls_base_derive_keys on a fresh session over h's connection. Caller frees the table. */
static struct eap_session *
derive_session(struct hs *h, uint8_t type, const char *label12, struct session_table **t)
{
	struct tls_base b;
	struct eap_session *s;

	*t = session_table_new(NULL, NULL, NULL);
	assert_non_null(*t);
	s = session_create(*t, "nas", 0, 0, 0);
	assert_non_null(s);
	memset(&b, 0, sizeof(b));
	b.conn = h->conn;
	b.type = type;
	b.name = "TLS";
	assert_false(s->have_keys);
	assert_int_equal(tls_base_derive_keys(s, &b, label12), 0);
	assert_true(s->have_keys);
	assert_int_equal(s->session_id_len, 65);
	assert_int_equal(s->session_id[0], type);
	return s;
}

/* ---- tests ---- */

static void
test_tls12_keys(void **state)
{
	struct hs h;
	static const uint8_t type_code[1] = {0x0D};
	uint8_t km_srv[128], km_cli[128], km_prf[128], master[48];
	uint8_t cr[32], sr[32], ccr[32], csr[32], seed[64];
	size_t mlen;

	(void)state;
	hs_init(&h, TLS1_2_VERSION, pki.client, pki.client_key);
	assert_int_equal(hs_run(&h), TLS_STEP_DONE);
	assert_int_equal(SSL_is_init_finished(h.client), 1);
	assert_int_equal(tls_conn_version(h.conn), TLS1_2_VERSION);
	assert_string_equal(tls_conn_version_str(h.conn), "TLSv1.2");
	assert_false(tls_conn_resumed(h.conn));
	assert_null(tls_conn_reason(h.conn));

	/* Server exporter, as eap_tls.c calls it: no context. */
	assert_int_equal(tls_conn_export(h.conn, "client EAP encryption", NULL, 0, false, km_srv,
					 sizeof(km_srv)),
			 0);
	/* The client's view. */
	assert_int_equal(SSL_export_keying_material(h.client, km_cli, sizeof(km_cli),
						    "client EAP encryption", 21, NULL, 0, 0),
			 1);
	assert_memory_equal(km_srv, km_cli, sizeof(km_srv));

	/* RFC 5216 §2.3, independently: PRF(master_secret, label, client.random||server.random). */
	mlen = SSL_SESSION_get_master_key(SSL_get_session(h.client), master, sizeof(master));
	assert_int_equal(mlen, 48);
	SSL_get_client_random(h.client, ccr, 32);
	SSL_get_server_random(h.client, csr, 32);
	memcpy(seed, ccr, 32);
	memcpy(seed + 32, csr, 32);
	tls12_prf(negotiated_md(h.client), master, mlen, "client EAP encryption", seed,
		  sizeof(seed), km_prf, sizeof(km_prf));
	assert_memory_equal(km_srv, km_prf, sizeof(km_srv));

	/* Session-Id = 0x0D || client.random || server.random (tls_conn_randoms). */
	tls_conn_randoms(h.conn, cr, sr);
	assert_memory_equal(cr, ccr, 32);
	assert_memory_equal(sr, csr, 32);
	assert_memory_not_equal(cr, sr, 32);

	/* What EAP-TLS puts in the session: MSK = KM[0..63] (a 64-octet PRF, checked against 128). */
	{
		struct session_table *t;
		struct eap_session *s = derive_session(&h, 13, "client EAP encryption", &t);
		uint8_t ttls_km[128];

		assert_memory_equal(s->msk, km_prf, 64);
		assert_memory_equal(s->session_id + 1, ccr, 32);
		assert_memory_equal(s->session_id + 33, csr, 32);
		talloc_free(t);

		/* EAP-TTLS (RFC 5281 §8): the same PRF with "ttls keying material". */
		s = derive_session(&h, 21, "ttls keying material", &t);
		tls12_prf(negotiated_md(h.client), master, mlen, "ttls keying material", seed,
			  sizeof(seed), ttls_km, sizeof(ttls_km));
		assert_memory_equal(s->msk, ttls_km, 64);
		assert_memory_not_equal(ttls_km, km_prf, 64);
		talloc_free(t);
	}

	/* The label and a context both change the output (the arguments are really used). */
	assert_int_equal(tls_conn_export(h.conn, "client EAP encryptioN", NULL, 0, false, km_cli,
					 sizeof(km_cli)),
			 0);
	assert_memory_not_equal(km_srv, km_cli, 64);
	assert_int_equal(tls_conn_export(h.conn, "client EAP encryption", type_code, 1, true,
					 km_cli, sizeof(km_cli)),
			 0);
	assert_memory_not_equal(km_srv, km_cli, 64);
	hs_free(&h);
}

static void
test_tls13_keys(void **state)
{
	struct hs h;
	static const uint8_t type_code[1] = {0x0D};
	uint8_t km_srv[128], km_cli[128], km_ind[128], ems[EVP_MAX_MD_SIZE];
	uint8_t mid_srv[64], mid_cli[64], mid_ind[64];
	size_t emslen;
	const EVP_MD *md;

	(void)state;
	hs_init(&h, TLS1_3_VERSION, pki.client, pki.client_key);
	assert_int_equal(hs_run(&h), TLS_STEP_DONE);
	assert_int_equal(tls_conn_version(h.conn), TLS1_3_VERSION);
	assert_string_equal(tls_conn_version_str(h.conn), "TLSv1.3");
	assert_false(tls_conn_resumed(h.conn));

	assert_int_equal(tls_conn_export(h.conn, "EXPORTER_EAP_TLS_Key_Material", type_code, 1,
					 true, km_srv, sizeof(km_srv)),
			 0);
	assert_int_equal(SSL_export_keying_material(h.client, km_cli, sizeof(km_cli),
						    "EXPORTER_EAP_TLS_Key_Material", 29, type_code,
						    1, 1),
			 1);
	assert_memory_equal(km_srv, km_cli, sizeof(km_srv));

	assert_int_equal(tls_conn_export(h.conn, "EXPORTER_EAP_TLS_Method-Id", type_code, 1, true,
					 mid_srv, sizeof(mid_srv)),
			 0);
	assert_int_equal(SSL_export_keying_material(h.client, mid_cli, sizeof(mid_cli),
						    "EXPORTER_EAP_TLS_Method-Id", 26, type_code, 1,
						    1),
			 1);
	assert_memory_equal(mid_srv, mid_cli, sizeof(mid_srv));
	assert_memory_not_equal(mid_srv, km_srv, sizeof(mid_srv));

	/* RFC 8446 §7.5 from the client's exporter_master_secret. */
	assert_true(h.exporter_secret_hex[0] != '\0');
	emslen = unhex(h.exporter_secret_hex, ems, sizeof(ems));
	md = negotiated_md(h.client);
	assert_int_equal(emslen, (size_t)EVP_MD_get_size(md));
	tls13_exporter(md, ems, emslen, "EXPORTER_EAP_TLS_Key_Material", type_code, 1, km_ind,
		       sizeof(km_ind));
	assert_memory_equal(km_srv, km_ind, sizeof(km_srv));
	tls13_exporter(md, ems, emslen, "EXPORTER_EAP_TLS_Method-Id", type_code, 1, mid_ind,
		       sizeof(mid_ind));
	assert_memory_equal(mid_srv, mid_ind, sizeof(mid_srv));

	/* What EAP-TLS puts in the session: MSK = KM[0..63], Session-Id = 0x0D || Method-Id. */
	{
		struct session_table *t;
		struct eap_session *s = derive_session(&h, 13, "client EAP encryption", &t);
		static const uint8_t peap_code[1] = {25};
		uint8_t peap_km[128];

		assert_memory_equal(s->msk, km_ind, 64);
		assert_memory_equal(s->session_id + 1, mid_ind, 64);
		talloc_free(t);

		/* PEAP over TLS 1.3 (RFC 9427 §2.1): the same labels, its own type code. */
		s = derive_session(&h, 25, "client EAP encryption", &t);
		tls13_exporter(md, ems, emslen, "EXPORTER_EAP_TLS_Key_Material", peap_code, 1,
			       peap_km, sizeof(peap_km));
		assert_memory_equal(s->msk, peap_km, 64);
		assert_memory_not_equal(peap_km, km_ind, 64);
		talloc_free(t);
	}

	/* The context octet matters: 0x0D, not an empty context. */
	assert_int_equal(tls_conn_export(h.conn, "EXPORTER_EAP_TLS_Key_Material", NULL, 0, false,
					 km_cli, sizeof(km_cli)),
			 0);
	assert_memory_not_equal(km_srv, km_cli, 64);
	hs_free(&h);
}

static void
check_alice_facts(const struct cert_facts *f)
{
	unsigned i;
	bool email = false, dns = false, upn = false;

	assert_string_equal(f->subject, "CN=alice@example.org,O=Kagi Tests");
	assert_string_equal(f->issuer, "CN=Kagi Test CA");
	assert_string_equal(f->serial, "7A5B3C2D1E0F9988");
	assert_string_equal(f->cn, "alice@example.org");
	assert_int_equal(f->n_san, 3);
	for (i = 0; i < f->n_san; i++) {
		if (f->san_type[i] == SAN_EMAIL) {
			assert_string_equal(f->san[i], "alice@example.org");
			email = true;
		} else if (f->san_type[i] == SAN_DNS) {
			assert_string_equal(f->san[i], "alice-laptop.example.org");
			dns = true;
		} else if (f->san_type[i] == SAN_UPN) {
			assert_string_equal(f->san[i], "alice@corp.example.org");
			upn = true;
		}
	}
	assert_true(email);
	assert_true(dns);
	assert_true(upn);
	assert_true(f->has_eku);
	assert_true(f->eku_client);
}

static void
test_peer_facts(void **state)
{
	static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct hs h;
		struct cert_facts f;

		hs_init(&h, versions[i], pki.client, pki.client_key);
		assert_int_equal(hs_run(&h), TLS_STEP_DONE);
		memset(&f, 0xAA, sizeof(f));
		assert_true(tls_conn_peer_facts(h.conn, &f));
		check_alice_facts(&f);
		hs_free(&h);
	}
}

/*
 * A resumption takes the certificate facts kept with the session instead of parsing the
 * certificate again, and they are the facts of the full handshake: TLS 1.2 (session ID) and
 * TLS 1.3 (a ticket naming the cached session).
 */
static void
test_peer_facts_resumed(void **state)
{
	static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};
	TALLOC_CTX *keep = talloc_new(NULL);

	(void)state;
	assert_non_null(keep);
	for (size_t i = 0; i < 2; i++) {
		struct hs h1, h2;
		struct cert_facts f1, f2;
		SSL_SESSION *sess;
		uint8_t *out = NULL, buf[256];
		size_t m;

		hs_cache = tls_cache_new(keep, 16, 3600);
		assert_non_null(hs_cache);
		hs_init(&h1, versions[i], pki.client, pki.client_key);
		assert_int_equal(hs_run(&h1), TLS_STEP_DONE);
		memset(&f1, 0xAA, sizeof(f1));
		assert_true(tls_conn_peer_facts(h1.conn, &f1));
		assert_false(tls_conn_facts_from_session(h1.conn));
		if (versions[i] == TLS1_3_VERSION) {
			/* The ticket, as EAP-TLS sends it once the peer passed its checks. */
			assert_int_equal(tls_conn_new_ticket(h1.conn), 0);
			m = tls_conn_pull(h1.conn, h1.ctx, &out);
			assert_true(m > 0);
			assert_int_equal(BIO_write(h1.c_in, out, (int)m), (int)m);
			assert_true(SSL_read(h1.client, buf, sizeof(buf)) <= 0);
		}
		tls_conn_commit_session(h1.conn, time(NULL));
		assert_int_equal(tls_cache_count(hs_cache), 1);
		sess = SSL_get1_session(h1.client);
		assert_non_null(sess);

		hs_init(&h2, versions[i], pki.client, pki.client_key);
		assert_int_equal(SSL_set_session(h2.client, sess), 1);
		assert_int_equal(hs_run(&h2), TLS_STEP_DONE);
		assert_true(tls_conn_resumed(h2.conn));
		memset(&f2, 0x55, sizeof(f2));
		assert_true(tls_conn_peer_facts(h2.conn, &f2));
		assert_true(tls_conn_facts_from_session(h2.conn));
		check_alice_facts(&f2);
		assert_memory_equal(&f1, &f2, sizeof(f1));
		SSL_SESSION_free(sess);
		hs_free(&h2);
		hs_free(&h1);
		hs_cache = NULL;
	}
	talloc_free(keep);
}

/* Without a client certificate the handshake fails, with a reason, and there are no facts. */
static void
test_no_client_cert(void **state)
{
	struct hs h;
	struct cert_facts f;

	(void)state;
	hs_init(&h, TLS1_2_VERSION, NULL, NULL);
	assert_int_equal(hs_run(&h), TLS_STEP_FAIL);
	assert_non_null(tls_conn_reason(h.conn));
	assert_string_equal(tls_conn_reason(h.conn), "no client certificate");
	assert_false(tls_conn_peer_facts(h.conn, &f));
	/* An alert is waiting to be sent. */
	assert_true(tls_conn_pending(h.conn) > 0);
	hs_free(&h);
}

/*
 * The EKU facts policy checks again on every authentication (a chain from the verified-chain
 * cache is not verified again): no EKU at all, and clientAuth among others (clientAuth alone
 * is alice's, in test_peer_facts). The server here does not require an EKU, so the first
 * handshake completes; an EKU without clientAuth is refused by the purpose check either way
 * (test_client_cert_wrong_eku).
 */
static void
test_peer_facts_eku(void **state)
{
	static const char *const no_eku_exts[] = {
		"basicConstraints", "critical,CA:FALSE",
		"keyUsage", "critical,digitalSignature",
		"subjectAltName", "email:gina@example.org",
		NULL};
	static const char *const two_eku_exts[] = {
		"basicConstraints", "critical,CA:FALSE",
		"extendedKeyUsage", "serverAuth,clientAuth",
		NULL};
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *certs[2];
	static const bool has_eku[2] = {false, true}, eku_client[2] = {false, true};

	(void)state;
	assert_non_null(k);
	certs[0] = make_cert(k, 21, "gina@example.org", NULL, pki.ca, pki.ca_key, no_eku_exts);
	certs[1] = make_cert(k, 22, "hank@example.org", NULL, pki.ca, pki.ca_key, two_eku_exts);
	hs_any_eku = true;
	for (size_t i = 0; i < 2; i++) {
		struct hs h;
		struct cert_facts f;

		hs_init(&h, TLS1_3_VERSION, certs[i], k);
		if (hs_run(&h) != TLS_STEP_DONE)
			fail_msg("case %zu: handshake failed: %s", i, tls_conn_reason(h.conn));
		memset(&f, 0xAA, sizeof(f));
		assert_true(tls_conn_peer_facts(h.conn, &f));
		if (f.has_eku != has_eku[i] || f.eku_client != eku_client[i])
			fail_msg("case %zu: has_eku %d eku_client %d", i, f.has_eku, f.eku_client);
		hs_free(&h);
		X509_free(certs[i]);
	}
	hs_any_eku = false;
	EVP_PKEY_free(k);
}

/* A client certificate without clientAuth in its EKU fails the chain's purpose check. */
static void
test_client_cert_wrong_eku(void **state)
{
	struct hs h;

	(void)state;
	hs_init(&h, TLS1_3_VERSION, pki.client_noeku, pki.client_noeku_key);
	assert_int_equal(hs_run(&h), TLS_STEP_FAIL);
	assert_non_null(tls_conn_reason(h.conn));
	assert_string_equal(tls_conn_reason(h.conn), "missing clientAuth EKU");
	hs_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls12_keys),
		cmocka_unit_test(test_tls13_keys),
		cmocka_unit_test(test_peer_facts),
		cmocka_unit_test(test_peer_facts_resumed),
		cmocka_unit_test(test_no_client_cert),
		cmocka_unit_test(test_client_cert_wrong_eku),
		cmocka_unit_test(test_peer_facts_eku),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
