/*
 * test_bench.c - unit tests for the modules of `kagi bench`:
 *   bench_ids.c  the identities file (fields, quotes, comments, relative paths, the default
 *                password, every error as FILE:LINE without echoing a value, nothing
 *                half-added), certificates with implicit, explicit and missing keys, names from
 *                the CN, the certificate directory (CA, server, key-less and broken files skipped)
 *   bench_mix.c  parsing --method mixes and their errors, smooth weighted round robin, which
 *                identities each method gets and with which peer configuration, the session
 *                pools
 * Certificates are made here with the `kagi cert` X.509 code (P-256, fast).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "bench_ids.h"
#include "bench_mix.h"
#include "pki_x509.h"
#include "unit_tmpdir.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fixture {
	TALLOC_CTX *ctx;
	char dir[UNIT_TMPDIR_LEN];
	char ca[96];
	struct bench_tls tls;
};

static char *
path_in(struct fixture *f, const char *rel)
{
	return talloc_asprintf(f->ctx, "%s/%s", f->dir, rel);
}

static void
write_pem(struct fixture *f, const char *rel, X509 *x, EVP_PKEY *key)
{
	FILE *fp = fopen(path_in(f, rel), "w");

	assert_non_null(fp);
	assert_int_equal(x ? PEM_write_X509(fp, x)
			   : PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL),
			 1);
	fclose(fp);
}

/*
 * Issue a certificate of profile for cn into DIR/name.pem (issuer NULL: self-signed) and its key
 * into DIR/name.key if with_key. Returns the certificate and (if key_out) the key.
 */
static X509 *
issue(struct fixture *f, const char *name, const char *cn, enum pki_profile profile, X509 *issuer,
      EVP_PKEY *issuer_key, bool with_key, EVP_PKEY **key_out)
{
	static const char *const dns[] = {"radius.kagi.test"};
	struct pki_keyspec ks;
	struct pki_cert_req req = {0};
	GENERAL_NAMES *san = NULL;
	char err[256];
	EVP_PKEY *key;
	X509 *x;

	assert_int_equal(pki_x509_keyspec_parse("ec", &ks, err, sizeof(err)), 0);
	assert_non_null(key = pki_x509_keygen(&ks, err, sizeof(err)));
	if (profile == PKI_PROFILE_SERVER)
		assert_non_null(san = pki_x509_san_new(dns, 1, NULL, 0, NULL, 0, err, sizeof(err)));
	assert_non_null(req.subject = pki_x509_name(cn, NULL, err, sizeof(err)));
	req.profile = profile;
	req.san = san;
	req.not_before = time(NULL) - 3600;
	req.not_after = time(NULL) + 86400;
	x = pki_x509_issue(&req, key, issuer, issuer ? issuer_key : NULL, err, sizeof(err));
	assert_non_null(x);
	X509_NAME_free((X509_NAME *)req.subject);
	GENERAL_NAMES_free(san);
	write_pem(f, talloc_asprintf(f->ctx, "%s.pem", name), x, NULL);
	if (with_key)
		write_pem(f, talloc_asprintf(f->ctx, "%s.key", name), NULL, key);
	if (key_out)
		*key_out = key;
	else
		EVP_PKEY_free(key);
	return x;
}

/* A temporary directory with ca.pem/ca.key and two clients, alice.pem/.key and bob.pem/.key. */
static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	EVP_PKEY *ca_key;
	X509 *ca;

	if (!f)
		return -1;
	f->ctx = talloc_new(NULL);
	if (!f->ctx || unit_tmpdir_make(f->dir, "bench") < 0)
		return -1;
	*state = f;
	ca = issue(f, "ca", "Unit CA", PKI_PROFILE_ROOT, NULL, NULL, true, &ca_key);
	X509_free(issue(f, "alice", "alice@example.org", PKI_PROFILE_CLIENT, ca, ca_key, true,
			NULL));
	X509_free(issue(f, "bob", "bob@example.org", PKI_PROFILE_CLIENT, ca, ca_key, true, NULL));
	X509_free(issue(f, "srv", "radius.kagi.test", PKI_PROFILE_SERVER, ca, ca_key, true, NULL));
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	snprintf(f->ca, sizeof(f->ca), "%s/ca.pem", f->dir);
	f->tls.ca = f->ca;
	f->tls.min_version = TLS1_2_VERSION;
	f->tls.max_version = TLS1_3_VERSION;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	talloc_free(f->ctx);
	unit_tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* ---- bench_ids ---- */

static void
test_ids_file(void **state)
{
	struct fixture *f = *state;
	struct bench_ids *ids = bench_ids_new(f->ctx);
	char *file = path_in(f, "ids"), err[512];

	unit_write_text(file, "# identities for the bench\n"
			 "\n"
			 "alice@example.org cert=alice.pem   # its key is alice.key next to it\n"
			 "  bob\tcert=\"bob.pem\" key=bob.key password=\"p w\\\"q\\\\\"\n"
			 "carol password=secret#1\n"
			 "dave\n"
			 "\"e f\" password=x\n");
	assert_int_equal(bench_ids_read_file(ids, file, "dflt", &f->tls, err, sizeof(err)), 0);
	assert_int_equal(ids->n, 5);
	assert_string_equal(ids->v[0]->name, "alice@example.org");
	assert_non_null(ids->v[0]->ssl_ctx);
	assert_null(ids->v[0]->password);
	assert_string_equal(ids->v[1]->name, "bob");
	assert_non_null(ids->v[1]->ssl_ctx);
	assert_string_equal(ids->v[1]->password, "p w\"q\\");
	assert_string_equal(ids->v[2]->name, "carol");
	assert_null(ids->v[2]->ssl_ctx);
	assert_string_equal(ids->v[2]->password, "secret#1"); /* '#' inside a field is kept */
	assert_string_equal(ids->v[3]->password, "dflt");
	assert_string_equal(ids->v[4]->name, "e f");
	assert_string_equal(ids->v[4]->password, "x");
	talloc_free(ids);
}

static void
test_ids_file_errors(void **state)
{
	static const struct {
		const char *text, *want;
		unsigned line, added;
	} cases[] = {
		{"carol password=a\nbob hunter2\n", "field 2 is not NAME=VALUE", 2, 1},
		{"bob pasword=hunter2\n", "unknown field pasword=", 1, 0},
		{"bob password=a password=hunter2\n", "password= given twice", 1, 0},
		{"bob password=\n", "empty password=", 1, 0},
		{"bob key=alice.key\n", "key= without cert=", 1, 0},
		{"cert=alice.pem\n", "starts with the identity", 1, 0},
		{"bob\n", "neither cert= nor password=", 1, 0},
		{"\n# x\nbob \"hunter2\n", "unterminated quote", 3, 0},
		{"bob c=1 c=2 c=3 c=4 c=5 c=6 c=7 c=8\n", "too many fields", 1, 0},
		{"bob cert=missing.pem\n", "cannot read certificate", 1, 0},
		{"bob cert=srv.key\n", "not a PEM certificate", 1, 0},
		{"bob cert=alice.pem key=bob.key\n", "does not match", 1, 0},
		{"# nothing\n\n", "no identity in it", 0, 0},
	};
	struct fixture *f = *state;
	char *file = path_in(f, "bad"), err[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bench_ids *ids = bench_ids_new(f->ctx);
		char *where = cases[i].line
				      ? talloc_asprintf(f->ctx, "%s:%u: ", file, cases[i].line)
				      : talloc_asprintf(f->ctx, "%s: ", file);

		unit_write_text(file, cases[i].text);
		err[0] = '\0';
		assert_int_equal(bench_ids_read_file(ids, file, NULL, &f->tls, err, sizeof(err)),
				 -1);
		if (!strstr(err, cases[i].want) || strncmp(err, where, strlen(where)) != 0)
			fail_msg("case %zu: \"%s\" is not \"%s...%s\"", i, err, where,
				 cases[i].want);
		/* A password is never shown, even one written where a field should be. */
		assert_null(strstr(err, "hunter2"));
		assert_int_equal(ids->n, cases[i].added);
		talloc_free(ids);
	}
	assert_int_equal(bench_ids_read_file(bench_ids_new(f->ctx), path_in(f, "none"), NULL,
					     &f->tls, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "cannot read"));
}

static void
test_ids_add(void **state)
{
	struct fixture *f = *state;
	struct bench_ids *ids = bench_ids_new(f->ctx);
	char err[512], long_name[300];
	struct bench_id *id;

	/* No name: the certificate's CN; no key: NAME.key next to NAME.pem. */
	id = bench_ids_add(ids, NULL, NULL, path_in(f, "bob.pem"), NULL, &f->tls, NULL, err,
			   sizeof(err));
	assert_non_null(id);
	assert_string_equal(id->name, "bob@example.org");
	assert_non_null(id->ssl_ctx);
	/* A certificate without a key says how to name one. */
	assert_int_equal(mkdir(path_in(f, "nokey"), 0700), 0);
	assert_int_equal(link(path_in(f, "alice.pem"), path_in(f, "nokey/alice.pem")), 0);
	assert_null(bench_ids_add(ids, "alice", NULL, path_in(f, "nokey/alice.pem"), NULL, &f->tls,
				  "here", err, sizeof(err)));
	assert_non_null(strstr(err, "here: no private key for"));
	assert_non_null(strstr(err, "key=FILE (or --key)"));
	/* A password only; an identity too long for User-Name. */
	assert_non_null(bench_ids_add(ids, "carol", "pw", NULL, NULL, &f->tls, NULL, err,
				      sizeof(err)));
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_null(bench_ids_add(ids, long_name, "pw", NULL, NULL, &f->tls, NULL, err,
				  sizeof(err)));
	assert_non_null(strstr(err, "longer than 253"));
	/* A bad CA fails the client context. */
	assert_null(bench_ids_add(ids, "x", NULL, path_in(f, "alice.pem"), NULL,
				  &(struct bench_tls){path_in(f, "none.pem"), TLS1_2_VERSION,
						      TLS1_3_VERSION},
				  NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot load CA"));
	assert_int_equal(ids->n, 2);
	talloc_free(ids);
}

static void
test_ids_dir(void **state)
{
	struct fixture *f = *state;
	struct bench_ids *ids = bench_ids_new(f->ctx);
	char note[512], err[512];

	unit_write_text(path_in(f, "junk.pem"), "not a certificate\n");
	unit_write_text(path_in(f, "junk.key"), "not a key\n");
	assert_int_equal(link(path_in(f, "alice.pem"), path_in(f, "lonely.pem")), 0);
	unit_write_text(path_in(f, "ids"), "ignored: not .pem\n");
	assert_int_equal(bench_ids_read_dir(ids, f->dir, &f->tls, note, sizeof(note), err,
					    sizeof(err)),
			 0);
	assert_int_equal(ids->n, 2);
	assert_string_equal(ids->v[0]->name, "alice@example.org");
	assert_string_equal(ids->v[1]->name, "bob@example.org");
	assert_non_null(ids->v[0]->ssl_ctx);
	assert_null(ids->v[0]->password);
	assert_non_null(strstr(note, "ca.pem (a CA)"));
	assert_non_null(strstr(note, "junk.pem (not a certificate)"));
	assert_non_null(strstr(note, "lonely.pem (no key)"));
	assert_non_null(strstr(note, "srv.pem (no EKU clientAuth)"));
	assert_int_equal(mkdir(path_in(f, "empty"), 0700), 0);
	assert_int_equal(bench_ids_read_dir(ids, path_in(f, "empty"), &f->tls, note, sizeof(note),
					    err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "no client certificate"));
	assert_int_equal(bench_ids_read_dir(ids, path_in(f, "none"), &f->tls, note, sizeof(note),
					    err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "cannot read directory"));
	talloc_free(ids);
}

/* ---- bench_mix ---- */

static void
test_mix_parse(void **state)
{
	static const struct {
		const char *spec, *want;
	} bad[] = {
		{"foo", "unknown method \"foo\""},
		{"tls:2,foo:1", "unknown method \"foo\""},
		{"tls:0", "weight \"0\" of tls"},
		{"tls:1001", "weight \"1001\""},
		{"tls:", "weight \"\""},
		{"tls:x", "weight \"x\""},
		{"tls:-1", "weight \"-1\""},
		{"tls:2,,peap", "an entry is METHOD or METHOD:WEIGHT"},
		{"tls,", "an entry is METHOD or METHOD:WEIGHT"},
		{"", "an entry is METHOD or METHOD:WEIGHT"},
		{"tls,tls:2", "tls given twice"},
		{"peap,peap-mschapv2", "peap-mschapv2 given twice (as peap)"},
	};
	struct fixture *f = *state;
	struct bench_mix *mix;
	char err[512];
	size_t i;

	mix = bench_mix_new(f->ctx, "tls", err, sizeof(err));
	assert_non_null(mix);
	assert_int_equal(mix->n, 1);
	assert_int_equal(mix->m[0].weight, 1);
	assert_int_equal(mix->m[0].method, PEER_TLS);
	mix = bench_mix_new(f->ctx, "tls:3,peap-gtc,ttls-pap:1000", err, sizeof(err));
	assert_non_null(mix);
	assert_int_equal(mix->n, 3);
	assert_string_equal(mix->m[1].name, "peap-gtc");
	assert_int_equal(mix->m[1].method, PEER_PEAP);
	assert_int_equal(mix->m[1].inner, INNER_GTC);
	assert_int_equal(mix->m[2].weight, 1000);
	assert_int_equal(mix->weight_sum, 1004);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(bench_mix_new(f->ctx, bad[i].spec, err, sizeof(err)));
		if (!strstr(err, bad[i].want))
			fail_msg("\"%s\": \"%s\" has no \"%s\"", bad[i].spec, err, bad[i].want);
	}
}

static void
test_mix_pick(void **state)
{
	struct fixture *f = *state;
	struct bench_mix *mix;
	unsigned counts[3] = {0}, i, run = 0, longest = 0;
	struct bench_method *prev = NULL;
	char err[512];

	/* tls:3,peap:1 interleaves: tls tls peap tls, again and again. */
	assert_non_null(mix = bench_mix_new(f->ctx, "tls:3,peap:1", err, sizeof(err)));
	for (i = 0; i < 8; i++)
		assert_ptr_equal(bench_mix_pick(mix), &mix->m[i % 4 == 2 ? 1 : 0]);
	/* 5:2:1 over 800 picks: exactly in proportion, and tls never more than twice in a row. */
	assert_non_null(mix = bench_mix_new(f->ctx, "tls:5,peap:2,ttls-pap:1", err, sizeof(err)));
	for (i = 0; i < 800; i++) {
		struct bench_method *m = bench_mix_pick(mix);

		counts[m - mix->m]++;
		run = m == prev ? run + 1 : 1;
		longest = run > longest ? run : longest;
		prev = m;
	}
	assert_int_equal(counts[0], 500);
	assert_int_equal(counts[1], 200);
	assert_int_equal(counts[2], 100);
	assert_int_equal(longest, 2);
}

/* Identities for the bind tests: alice has a certificate, carol a password, bob both. */
static struct bench_ids *
three_ids(struct fixture *f)
{
	struct bench_ids *ids = bench_ids_new(f->ctx);
	char err[512];

	assert_non_null(bench_ids_add(ids, NULL, NULL, path_in(f, "alice.pem"), NULL, &f->tls,
				      NULL, err, sizeof(err)));
	assert_non_null(bench_ids_add(ids, "carol", "pw-c", NULL, NULL, &f->tls, NULL, err,
				      sizeof(err)));
	assert_non_null(bench_ids_add(ids, NULL, "pw-b", path_in(f, "bob.pem"), NULL, &f->tls,
				      NULL, err, sizeof(err)));
	return ids;
}

static void
test_mix_bind(void **state)
{
	struct fixture *f = *state;
	struct bench_ids *ids = three_ids(f);
	const struct peer_config base = {.outer_identity = "anonymous@example.org",
					 .server_name = "radius.kagi.test",
					 .fragment_size = 1386};
	struct bench_mix *mix;
	const struct bench_method *tls, *peap;
	char err[512];

	assert_non_null(mix = bench_mix_new(f->ctx, "tls,peap:2", err, sizeof(err)));
	assert_int_equal(bench_mix_bind(mix, ids, &base, &f->tls, 1024, 4, err, sizeof(err)), 0);
	tls = &mix->m[0];
	peap = &mix->m[1];
	/* tls: alice and bob, by certificate, their own EAP identity outside too, no password. */
	assert_int_equal(tls->n_ids, 2);
	assert_ptr_equal(tls->ids[0].id, ids->v[0]);
	assert_ptr_equal(tls->ids[1].id, ids->v[2]);
	assert_string_equal(tls->ids[1].pc.identity, "bob@example.org");
	assert_ptr_equal(tls->ids[1].pc.ssl_ctx, ids->v[2]->ssl_ctx);
	assert_null(tls->ids[1].pc.outer_identity);
	assert_null(tls->ids[1].pc.password);
	assert_int_equal(tls->ids[1].pc.method, PEER_TLS);
	assert_string_equal(tls->ids[1].pc.server_name, "radius.kagi.test");
	assert_int_equal(tls->ids[1].pc.fragment_size, 1386);
	/* peap: carol and bob, by password, in the shared context without a certificate. */
	assert_int_equal(peap->n_ids, 2);
	assert_string_equal(peap->ids[0].pc.identity, "carol");
	assert_string_equal(peap->ids[1].pc.password, "pw-b");
	assert_string_equal(peap->ids[1].pc.outer_identity, "anonymous@example.org");
	assert_non_null(mix->pw_ctx);
	assert_ptr_equal(peap->ids[0].pc.ssl_ctx, mix->pw_ctx);
	assert_int_equal(peap->ids[0].pc.inner, INNER_MSCHAPV2);
	/* 1024 sessions over 4 (method, identity) pairs. */
	assert_int_equal(mix->pool_cap, 256);
	/* Each method rotates through its own identities. */
	assert_ptr_equal(bench_mix_next_id(&mix->m[1]), &peap->ids[0]);
	assert_ptr_equal(bench_mix_next_id(&mix->m[1]), &peap->ids[1]);
	assert_ptr_equal(bench_mix_next_id(&mix->m[1]), &peap->ids[0]);
	assert_ptr_equal(bench_mix_next_id(&mix->m[0]), &tls->ids[0]);
	assert_true(bench_mix_uses(mix, ids->v[1]));

	/* tls alone does not use carol; the pools never go below the minimum. */
	assert_non_null(mix = bench_mix_new(f->ctx, "tls", err, sizeof(err)));
	assert_int_equal(bench_mix_bind(mix, ids, &base, &f->tls, 6, 4, err, sizeof(err)), 0);
	assert_false(bench_mix_uses(mix, ids->v[1]));
	assert_null(mix->pw_ctx);
	assert_int_equal(mix->pool_cap, 4);

	/* A method with no identity it can use. */
	talloc_free(ids);
	ids = bench_ids_new(f->ctx);
	assert_non_null(bench_ids_add(ids, "carol", "pw-c", NULL, NULL, &f->tls, NULL, err,
				      sizeof(err)));
	assert_non_null(mix = bench_mix_new(f->ctx, "peap,tls", err, sizeof(err)));
	assert_int_equal(bench_mix_bind(mix, ids, &base, &f->tls, 1024, 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tls needs an identity with a certificate"));
	talloc_free(ids);
	ids = bench_ids_new(f->ctx);
	assert_non_null(bench_ids_add(ids, NULL, NULL, path_in(f, "alice.pem"), NULL, &f->tls,
				      NULL, err, sizeof(err)));
	assert_non_null(mix = bench_mix_new(f->ctx, "ttls-pap", err, sizeof(err)));
	assert_int_equal(bench_mix_bind(mix, ids, &base, &f->tls, 1024, 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ttls-pap needs an identity with a password"));
	talloc_free(ids);
}

static void
test_mix_pool(void **state)
{
	struct fixture *f = *state;
	struct bench_ids *ids = three_ids(f);
	const struct peer_config base = {.fragment_size = 1024};
	SSL_SESSION *s[3];
	struct bench_mix_id *mi;
	struct bench_mix *mix;
	char err[512];
	unsigned i;

	assert_non_null(mix = bench_mix_new(f->ctx, "tls", err, sizeof(err)));
	assert_int_equal(bench_mix_bind(mix, ids, &base, &f->tls, 4, 2, err, sizeof(err)), 0);
	assert_int_equal(mix->pool_cap, 2);
	mi = &mix->m[0].ids[1];
	assert_null(bench_mix_offer(mi, 7));
	for (i = 0; i < 3; i++) {
		assert_non_null(s[i] = SSL_SESSION_new());
		bench_mix_keep(mix, mi, s[i]);
	}
	/* Full at two: the third replaced the first, the other identity's pool is still empty. */
	assert_int_equal(mi->pool.n, 2);
	assert_ptr_equal(bench_mix_offer(mi, 0), s[2]);
	assert_ptr_equal(bench_mix_offer(mi, 1), s[1]);
	assert_ptr_equal(bench_mix_offer(mi, 3), s[1]);
	assert_null(bench_mix_offer(&mix->m[0].ids[0], 0));
	/* Freeing the mix frees what it kept (ASan would see a leak). */
	talloc_free(mix);
	talloc_free(ids);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mix_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mix_pick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mix_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mix_pool, setup, teardown),
	};

	return cmocka_run_group_tests_name("bench", tests, NULL, NULL);
}
