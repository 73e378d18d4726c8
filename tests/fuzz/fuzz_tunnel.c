/*
 * fuzz_tunnel.c - libFuzzer target: what a client sends through a real PEAP or EAP-TTLS tunnel.
 * Each input runs a TLS handshake between kagid's PEAP or TTLS method (a configuration loaded
 * with conf_load, as kagid does) and an in-process client (kagid's TLS connection in client
 * mode and the EAP-TLS framer, as kagi test does). After the handshake, each chunk of the input
 * (2-byte length prefix) goes to the server as tunnel plaintext in its own EAP-Response; an
 * empty chunk sends an empty Response (an ACK), and so do up to two more after the last chunk.
 * So the bytes reach what only an established tunnel reaches: TTLS phase 2 (PAP, MS-CHAPv2 and
 * EAP AVPs), PEAP's header-less inner EAP, its Result and Crypto-Binding TLVs. The first byte
 * picks the method (bit 0: PEAP or TTLS) and the TLS version (bit 1: 1.2 or 1.3). Invariants:
 * every answer is a well-formed EAP packet of the step's code, the server's TLS framing is
 * valid, a failure says why, and a success names an enabled user and carries keys. An input
 * runs the handshake again: expect hundreds of runs a second, not thousands.
 * FUZZ_TUNNEL_TRACE=1 prints the server's trace.
 */
#include "conf.h"
#include "eap.h"
#include "fuzz_check.h"
#include "eap_tls_common.h"
#include "mschap.h"
#include "session.h"
#include "tls_conn.h"

#include <ftw.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <talloc.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static struct conf *conf;
static SSL_CTX *client_ctx[2]; /* TLS 1.2 only, TLS 1.3 only */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_dir(void)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void
write_file(const char *name, const char *text, X509 *x, EVP_PKEY *k)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || (text && fputs(text, f) < 0) || (x && PEM_write_X509(f, x) != 1) ||
	    (k && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1) || fclose(f) != 0)
		abort();
}

/* A self-signed P-256 server certificate (cheap handshakes); it is its own CA file. */
static void
make_pki(void)
{
	static const char *const exts[][2] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,digitalSignature,keyCertSign"},
		{"extendedKeyUsage", "serverAuth"},
		{"subjectAltName", "DNS:radius.fuzz.test"},
	};
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
	X509V3_CTX v3;
	size_t i;

	if (!k || !name || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) || X509_set_pubkey(x, k) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)"radius.fuzz.test", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		abort();
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, OBJ_sn2nid(exts[i][0]),
							exts[i][1]);

		if (!e || X509_add_ext(x, e, -1) != 1)
			abort();
		X509_EXTENSION_free(e);
	}
	if (X509_sign(x, k, EVP_sha256()) <= 0)
		abort();
	write_file("server.pem", NULL, x, NULL);
	write_file("server.key", NULL, NULL, k);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
setup(void)
{
	char err[512], conf_text[1024], path[128], hex[33];
	uint8_t nt[16];
	unsigned i;

	if (mschap_init(err, sizeof(err)) < 0)
		abort();
	snprintf(dir, sizeof(dir), "/tmp/kagi-fuzz-tunnel.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	make_pki();
	snprintf(conf_text, sizeof(conf_text),
		 "listen {\n ipaddr = 127.0.0.1\n}\n"
		 "tls {\n certificate = %s/server.pem\n private_key = %s/server.key\n"
		 " ca_file = %s/server.pem\n check_crl = no\n fragment_size = 1000\n}\n"
		 "eap {\n methods = { peap, ttls }\n inner_methods = { mschapv2, gtc }\n"
		 " ttls_inner = { pap, mschapv2, eap }\n}\n"
		 "limits {\n max_rounds = 50\n max_invalid = 5\n}\n",
		 dir, dir, dir);
	write_file("kagi.conf", conf_text, NULL, NULL);
	write_file("clients.conf",
		   "client fuzz {\n ipaddr = 127.0.0.1\n secret = \"fuzz-secret-0123456789\"\n}\n",
		   NULL, NULL);
	/* A cleartext-password user, an NT-hash-only user and a disabled one. */
	if (mschap_nt_hash("b\xc3\xb6"
			   "b-secret",
			   nt) < 0)
		abort();
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02X", nt[i]);
	snprintf(conf_text, sizeof(conf_text),
		 "user alice {\n password = \"Alice-pw-1\"\n}\n"
		 "user bob {\n nt_hash = \"%s\"\n}\n"
		 "user carol {\n password = \"carol-pw\"\n disabled = yes\n}\n",
		 hex);
	write_file("users", conf_text, NULL, NULL);
	conf = conf_load(NULL, dir, err, sizeof(err), NULL, NULL);
	if (!conf) {
		fprintf(stderr, "fuzz_tunnel: %s\n", err);
		abort();
	}
	snprintf(path, sizeof(path), "%s/server.pem", dir);
	client_ctx[0] = tls_client_ctx_new(path, NULL, NULL, TLS1_2_VERSION, TLS1_2_VERSION, err,
					   sizeof(err));
	client_ctx[1] = tls_client_ctx_new(path, NULL, NULL, TLS1_3_VERSION, TLS1_3_VERSION, err,
					   sizeof(err));
	if (!client_ctx[0] || !client_ctx[1])
		abort();
	/* Everything is loaded (no CRL is read later): nothing is left behind, even on a crash. */
	rm_dir();
}

/* The client's next Response: an ACK of a fragment, else pending TLS output (next fragment) or
 * an ACK. */
static void
respond(TALLOC_CTX *ctx, struct tls_conn *c, struct tls_frame *f, bool ack_fragment, uint8_t id,
	uint8_t type, struct eap_buf *resp)
{
	struct eap_buf td = {NULL, 0};
	uint8_t *buf = NULL;
	size_t n = ack_fragment ? 0 : tls_conn_pull(c, ctx, &buf);

	if ((n && tls_frame_queue(ctx, f, buf, n) < 0) ||
	    (!ack_fragment && tls_frame_has_out(f) ? tls_frame_next(ctx, f, 0, &td)
						    : tls_frame_ack(ctx, 0, &td)) < 0 ||
	    eap_packet_build(ctx, EAP_CODE_RESPONSE, id, type, td.data, td.len, resp) < 0)
		abort();
}

/* After the handshake: the input's next chunk into the tunnel (none: an ACK). False at the end. */
static bool
next_chunk(struct tls_conn *c, const uint8_t *data, size_t size, size_t *off)
{
	size_t len;

	if (*off + 2 > size)
		return false;
	len = ((size_t)data[*off] << 8) | data[*off + 1];
	*off += 2;
	if (len > size - *off)
		len = size - *off;
	if (len && tls_conn_write(c, data + *off, len) < 0)
		abort();
	*off += len;
	return true;
}

/* FUZZ_TUNNEL_TRACE=1: the server's -X trace on stderr, to see how far a seed gets. */
static void
trace(void *arg, const char *text)
{
	(void)arg;
	fprintf(stderr, "%s\n", text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t peap[1] = {25}, ttls[1] = {21};
	static const uint8_t identity[] = {EAP_CODE_RESPONSE, 1, 0, 14, EAP_TYPE_IDENTITY,
					   'a', 'n', 'o', 'n', 'y', 'm', 'o', 'u', 's'};
	TALLOC_CTX *ctx;
	struct eap_session *s;
	struct tls_conn *c = NULL;
	struct tls_frame f;
	struct eap_buf out = {NULL, 0};
	enum eap_step step;
	size_t off = 1;
	unsigned rounds = 0, acks = 0;
	bool done = false;
	char err[256];

	if (size < 1)
		return 0;
	if (!conf)
		setup();
	ctx = talloc_new(NULL);
	s = talloc_zero(ctx, struct eap_session);
	if (!ctx || !s)
		abort();
	s->conf = conf;
	s->methods = data[0] & 1 ? ttls : peap;
	s->n_methods = 1;
	s->now = time(NULL);
	if (getenv("FUZZ_TUNNEL_TRACE"))
		s->trace = trace;
	step = eap_start(s, ctx, identity, sizeof(identity), &out);
	fuzz_check_answer(s, step, &out, s->methods[0], true);
	tls_frame_init(&f, 1000, 0, 65536);
	while (step == EAP_STEP_CONTINUE && rounds++ < 60) {
		const uint8_t *td = out.data + 5;
		size_t tlen = out.len - 5;
		struct eap_buf resp = {NULL, 0};
		const char *reason = NULL;
		enum frame_rx rx = FRAME_RX_ACK;
		uint8_t flags;

		if (!c) {
			/* The method's Start. */
			if (!(td[0] & TLS_FLAG_S))
				abort();
			c = tls_conn_new_client(ctx, client_ctx[(data[0] >> 1) & 1],
						"radius.fuzz.test", NULL, err, sizeof(err));
			if (!c)
				abort();
			tls_conn_handshake(c);
		} else {
			rx = tls_frame_receive(ctx, &f, td, tlen, &flags, &reason);
			if (rx == FRAME_RX_ERROR)
				abort(); /* the server's framing is ours: it must be valid */
			if (rx == FRAME_RX_COMPLETE) {
				if (tls_conn_push(c, f.in, f.in_len) < 0)
					abort();
				tls_frame_consumed(&f);
				if (!done) {
					enum tls_step ts = tls_conn_handshake(c);

					if (ts == TLS_STEP_FAIL)
						break; /* e.g. the server's alert */
					done = ts == TLS_STEP_DONE;
				}
			}
			if (done && rx != FRAME_RX_MORE) {
				uint8_t app[4096];

				while (tls_conn_read(c, app, sizeof(app)) > 0)
					;
				/* After the last chunk, two ACKs to let the server finish. */
				if (!tls_frame_has_out(&f) && !next_chunk(c, data, size, &off) &&
				    acks++ == 2)
					break;
			}
		}
		respond(ctx, c, &f, rx == FRAME_RX_MORE, out.data[1], s->methods[0], &resp);
		out.data = NULL;
		out.len = 0;
		step = eap_continue(s, ctx, resp.data, resp.len, &out);
		fuzz_check_answer(s, step, &out, s->methods[0], true);
	}
	talloc_free(ctx);
	return 0;
}
