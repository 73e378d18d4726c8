/*
 * test_pki.c - unit tests for the `kagi cert` certificate authority:
 *   pki_x509.c  key specs, certificate profiles (EKU, SAN email/UPN/DNS, key usage, serials),
 *               CRLs (reason codes, CRL number, signature), PKCS#12 (AES-256, SHA-256 MAC,
 *               password), passwords
 *   pki_files.c atomic file sets: modes, replace with backup, rollback, no-replace
 *   pki_store.c the SQLite inventory: lookups, unique names, revocation, damaged files
 *   pki.c       whole operations on a temporary PKI directory, with time passed in: init,
 *               issue, revoke, renew, export, CRL due/expired, and failures that leave
 *               nothing behind
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pki.h"
#include "pki_files.h"
#include "pki_store.h"
#include "pki_x509.h"
#include "unit_tmpdir.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOW ((time_t)1800000000) /* 2027-01-15 */
#define DAY 86400

/* ---- helpers ---- */

struct fixture {
	TALLOC_CTX *ctx;
	char dir[UNIT_TMPDIR_LEN];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ctx = talloc_new(NULL);
	if (!f->ctx || unit_tmpdir_make(f->dir, "pki") < 0)
		return -1;
	*state = f;
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

static char *
path_in(struct fixture *f, const char *rel)
{
	return talloc_asprintf(f->ctx, "%s/%s", f->dir, rel);
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static char *
read_text(TALLOC_CTX *ctx, const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = talloc_zero_size(ctx, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n)
		buf = NULL;
	fclose(fp);
	return buf;
}

/* Number of directory entries whose names start with '.' (temp files, backups). */
static int
dot_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* A self-signed P-256 root for the x509 tests. */
static X509 *
make_root(EVP_PKEY **key)
{
	struct pki_keyspec ks;
	struct pki_cert_req req = {0};
	char err[256];
	X509_NAME *n;
	X509 *x;

	assert_int_equal(pki_x509_keyspec_parse("ec", &ks, err, sizeof(err)), 0);
	*key = pki_x509_keygen(&ks, err, sizeof(err));
	assert_non_null(*key);
	n = pki_x509_name("Unit CA", NULL, err, sizeof(err));
	assert_non_null(n);
	req.profile = PKI_PROFILE_ROOT;
	req.subject = n;
	req.not_before = NOW - 3600;
	req.not_after = NOW + 3650 * DAY;
	x = pki_x509_issue(&req, *key, NULL, NULL, err, sizeof(err));
	assert_non_null(x);
	X509_NAME_free(n);
	return x;
}

static X509 *
make_leaf(enum pki_profile profile, const char *keyspec, X509 *ca, EVP_PKEY *ca_key,
	  const GENERAL_NAMES *san, EVP_PKEY **key_out)
{
	struct pki_keyspec ks;
	struct pki_cert_req req = {0};
	char err[256];
	X509_NAME *n;
	EVP_PKEY *key;
	X509 *x;

	assert_int_equal(pki_x509_keyspec_parse(keyspec, &ks, err, sizeof(err)), 0);
	key = pki_x509_keygen(&ks, err, sizeof(err));
	assert_non_null(key);
	n = pki_x509_name("leaf", "Org", err, sizeof(err));
	req.profile = profile;
	req.subject = n;
	req.san = san;
	req.not_before = NOW - 3600;
	req.not_after = NOW + 365 * DAY;
	x = pki_x509_issue(&req, key, ca, ca_key, err, sizeof(err));
	assert_non_null(x);
	X509_NAME_free(n);
	if (key_out)
		*key_out = key;
	else
		EVP_PKEY_free(key);
	return x;
}

static bool
verifies(X509 *ca, X509 *leaf, X509_CRL *crl, int purpose)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	bool ok;

	X509_STORE_add_cert(st, ca);
	if (crl) {
		X509_STORE_add_crl(st, crl);
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	}
	X509_STORE_CTX_init(xs, st, leaf, NULL);
	X509_STORE_CTX_set_time(xs, 0, NOW);
	if (purpose)
		X509_STORE_CTX_set_purpose(xs, purpose);
	ok = X509_verify_cert(xs) == 1;
	X509_STORE_CTX_free(xs);
	X509_STORE_free(st);
	ERR_clear_error();
	return ok;
}

/* ---- pki_x509: keys, names ---- */

static void
test_keyspec(void **state)
{
	struct pki_keyspec ks;
	char err[256], buf[32];

	(void)state;
	assert_int_equal(pki_x509_keyspec_parse("ec", &ks, err, sizeof(err)), 0);
	pki_x509_keyspec_str(&ks, buf, sizeof(buf));
	assert_string_equal(buf, "ec:P-256");
	assert_int_equal(pki_x509_keyspec_parse("EC:p-384", &ks, err, sizeof(err)), 0);
	pki_x509_keyspec_str(&ks, buf, sizeof(buf));
	assert_string_equal(buf, "ec:P-384");
	assert_int_equal(pki_x509_keyspec_parse("rsa", &ks, err, sizeof(err)), 0);
	pki_x509_keyspec_str(&ks, buf, sizeof(buf));
	assert_string_equal(buf, "rsa:3072");
	assert_int_equal(pki_x509_keyspec_parse("rsa:2048", &ks, err, sizeof(err)), 0);
	assert_int_equal(ks.bits, 2048);
	assert_int_equal(pki_x509_keyspec_parse("rsa:1024", &ks, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown key type"));
	assert_int_equal(pki_x509_keyspec_parse("dsa", &ks, err, sizeof(err)), -1);
	assert_int_equal(pki_x509_keyspec_parse("ec:P-999", &ks, err, sizeof(err)), -1);
	assert_int_equal(pki_x509_keyspec_parse("", &ks, err, sizeof(err)), -1);
}

static void
test_input_checks(void **state)
{
	(void)state;
	assert_true(pki_name_valid("alice@example.org"));
	assert_true(pki_name_valid("laptop-1.corp_example+x"));
	assert_true(pki_name_valid("A"));
	assert_false(pki_name_valid(""));
	assert_false(pki_name_valid(".hidden"));
	assert_false(pki_name_valid("-opt"));
	assert_false(pki_name_valid("a/b"));
	assert_false(pki_name_valid("../x"));
	assert_false(pki_name_valid("a b"));
	assert_false(pki_name_valid("a\nb"));
	assert_false(pki_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 65 */

	assert_true(pki_dns_valid("radius.kagi.test"));
	assert_true(pki_dns_valid("a-b.c1"));
	assert_true(pki_dns_valid("localhost"));
	assert_false(pki_dns_valid(""));
	assert_false(pki_dns_valid("-a.b"));
	assert_false(pki_dns_valid("a-.b"));
	assert_false(pki_dns_valid("a..b"));
	assert_false(pki_dns_valid(".a"));
	assert_false(pki_dns_valid("a."));
	assert_false(pki_dns_valid("*.example.org"));
	assert_false(pki_dns_valid("a_b.org"));

	assert_true(pki_address_valid("alice@example.org"));
	assert_true(pki_address_valid("first.last+tag@sub.example.org"));
	assert_false(pki_address_valid("alice"));
	assert_false(pki_address_valid("@example.org"));
	assert_false(pki_address_valid("alice@"));
	assert_false(pki_address_valid("a@b@c"));
	assert_false(pki_address_valid("al ice@example.org"));
	assert_false(pki_address_valid("alice@exa mple.org"));
}

static void
test_reasons(void **state)
{
	static const char *const names[] = {"unspecified", "keyCompromise", "affiliationChanged",
					    "superseded", "cessationOfOperation",
					    "privilegeWithdrawn"};
	static const int codes[] = {0, 1, 3, 4, 5, 9}; /* RFC 5280 §5.3.1 */
	enum pki_reason r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(pki_reason_parse(names[i], &r), 0);
		assert_int_equal((int)r, codes[i]);
		assert_string_equal(pki_reason_name(r), names[i]);
	}
	assert_int_equal(pki_reason_parse("KEYCOMPROMISE", &r), 0);
	assert_int_equal(r, PKI_REASON_KEY_COMPROMISE);
	assert_int_equal(pki_reason_parse("cACompromise", &r), -1);
	assert_int_equal(pki_reason_parse("", &r), -1);
}

static void
test_password(void **state)
{
	char a[64], b[64];
	size_t i;

	(void)state;
	assert_int_equal(pki_x509_password(a, sizeof(a)), 0);
	assert_int_equal(pki_x509_password(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), 29); /* 6 groups of 4 */
	assert_string_not_equal(a, b);
	for (i = 0; i < strlen(a); i++) {
		if (i % 5 == 4)
			assert_int_equal(a[i], '-');
		else
			assert_non_null(strchr("0123456789abcdefghjkmnpqrstvwxyz", a[i]));
	}
	assert_int_equal(pki_x509_password(a, 20), -1); /* too small */
}

/* ---- pki_x509: certificates ---- */

static void
test_root_ca(void **state)
{
	EVP_PKEY *key;
	X509 *ca = make_root(&key);
	BASIC_CONSTRAINTS *bc;

	(void)state;
	assert_int_equal(X509_verify(ca, key), 1);
	assert_true(X509_check_ca(ca) > 0);
	bc = X509_get_ext_d2i(ca, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_true(bc->ca);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(ca) & KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(ca));
	assert_true(verifies(ca, ca, NULL, 0));
	X509_free(ca);
	EVP_PKEY_free(key);
}

static void
test_client_cert_sans(void **state)
{
	static const char *const dns[] = {"laptop.corp.example"};
	static const char *const email[] = {"alice@example.org"};
	static const char *const upn[] = {"alice@corp.example"};
	EVP_PKEY *ca_key;
	X509 *ca = make_root(&ca_key), *x;
	GENERAL_NAMES *san, *got;
	char err[256], buf[512];
	bool seen_upn = false;
	int i;

	(void)state;
	san = pki_x509_san_new(dns, 1, email, 1, upn, 1, err, sizeof(err));
	assert_non_null(san);
	x = make_leaf(PKI_PROFILE_CLIENT, "ec", ca, ca_key, san, NULL);
	pki_x509_san_str(x, buf, sizeof(buf));
	assert_string_equal(buf, "email:alice@example.org, UPN:alice@corp.example, "
				 "DNS:laptop.corp.example");
	/* The UPN exactly as kagid reads it: otherName ms-upn with a UTF8String. */
	got = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; got && i < sk_GENERAL_NAME_num(got); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(got, i);

		if (gn->type == GEN_OTHERNAME) {
			assert_int_equal(OBJ_obj2nid(gn->d.otherName->type_id), NID_ms_upn);
			assert_int_equal(gn->d.otherName->value->type, V_ASN1_UTF8STRING);
			seen_upn = true;
		}
	}
	assert_true(seen_upn);
	GENERAL_NAMES_free(got);
	/* EKU clientAuth only, not a CA, digitalSignature only */
	assert_string_equal(pki_x509_eku_str(x), "clientAuth");
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_true(verifies(ca, x, NULL, X509_PURPOSE_SSL_CLIENT));
	assert_false(verifies(ca, x, NULL, X509_PURPOSE_SSL_SERVER));
	pki_x509_dn(X509_get_subject_name(x), buf, sizeof(buf));
	assert_string_equal(buf, "CN=leaf,O=Org");
	GENERAL_NAMES_free(san);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

static void
test_server_cert(void **state)
{
	static const char *const dns[] = {"radius.kagi.test", "radius2.kagi.test"};
	EVP_PKEY *ca_key;
	X509 *ca = make_root(&ca_key), *ec, *rsa;
	GENERAL_NAMES *san;
	char err[256], buf[512];

	(void)state;
	san = pki_x509_san_new(dns, 2, NULL, 0, NULL, 0, err, sizeof(err));
	ec = make_leaf(PKI_PROFILE_SERVER, "ec", ca, ca_key, san, NULL);
	rsa = make_leaf(PKI_PROFILE_SERVER, "rsa:2048", ca, ca_key, san, NULL);
	pki_x509_san_str(ec, buf, sizeof(buf));
	assert_string_equal(buf, "DNS:radius.kagi.test, DNS:radius2.kagi.test");
	assert_string_equal(pki_x509_eku_str(ec), "serverAuth");
	assert_true(verifies(ca, ec, NULL, X509_PURPOSE_SSL_SERVER));
	assert_false(verifies(ca, ec, NULL, X509_PURPOSE_SSL_CLIENT));
	assert_int_equal(X509_check_host(ec, "radius2.kagi.test", 0, 0, NULL), 1);
	/* keyEncipherment only where it means something: RSA key exchange */
	assert_int_equal(X509_get_key_usage(ec), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_key_usage(rsa), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	pki_x509_key_desc(rsa, buf, sizeof(buf));
	assert_string_equal(buf, "rsa:2048");
	pki_x509_key_desc(ec, buf, sizeof(buf));
	assert_string_equal(buf, "ec:P-256");
	GENERAL_NAMES_free(san);
	X509_free(ec);
	X509_free(rsa);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

static void
test_serials(void **state)
{
	EVP_PKEY *ca_key;
	X509 *ca = make_root(&ca_key), *a, *b;
	char sa[80], sb[80];
	BIGNUM *bn;

	(void)state;
	a = make_leaf(PKI_PROFILE_CLIENT, "ec", ca, ca_key, NULL, NULL);
	b = make_leaf(PKI_PROFILE_CLIENT, "ec", ca, ca_key, NULL, NULL);
	pki_x509_serial_hex(a, sa, sizeof(sa));
	pki_x509_serial_hex(b, sb, sizeof(sb));
	assert_int_equal(strlen(sa), 32); /* 16 bytes */
	assert_string_not_equal(sa, sb);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(a), NULL);
	assert_false(BN_is_negative(bn));
	assert_int_equal(BN_num_bytes(bn), 16);
	BN_free(bn);
	X509_free(a);
	X509_free(b);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

/* ---- pki_x509: CRL ---- */

static void
test_crl(void **state)
{
	EVP_PKEY *ca_key;
	X509 *ca = make_root(&ca_key), *a, *b, *c;
	struct pki_revoked list[2];
	char sa[80], sb[80], err[256];
	X509_CRL *crl;
	X509_REVOKED *rv = NULL;
	ASN1_ENUMERATED *reason;
	ASN1_INTEGER *num;
	AUTHORITY_KEYID *aki;

	(void)state;
	a = make_leaf(PKI_PROFILE_CLIENT, "ec", ca, ca_key, NULL, NULL);
	b = make_leaf(PKI_PROFILE_CLIENT, "ec", ca, ca_key, NULL, NULL);
	c = make_leaf(PKI_PROFILE_CLIENT, "ec", ca, ca_key, NULL, NULL);
	pki_x509_serial_hex(a, sa, sizeof(sa));
	pki_x509_serial_hex(b, sb, sizeof(sb));
	list[0] = (struct pki_revoked){sa, NOW - 100, PKI_REASON_KEY_COMPROMISE};
	list[1] = (struct pki_revoked){sb, NOW - 50, PKI_REASON_UNSPECIFIED};
	crl = pki_x509_crl(ca, ca_key, list, 2, 7, NOW, NOW + 30 * DAY, err, sizeof(err));
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, ca_key), 1);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(pki_x509_time(X509_CRL_get0_lastUpdate(crl)), NOW);
	assert_int_equal(pki_x509_time(X509_CRL_get0_nextUpdate(crl)), NOW + 30 * DAY);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	assert_int_equal(ASN1_INTEGER_get(num), 7);
	ASN1_INTEGER_free(num);
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	assert_non_null(aki);
	AUTHORITY_KEYID_free(aki);
	/* keyCompromise carries its reason code; unspecified leaves it out (RFC 5280 §5.3.1) */
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rv, X509_get0_serialNumber(a)), 1);
	reason = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
	assert_non_null(reason);
	assert_int_equal(ASN1_ENUMERATED_get(reason), 1);
	ASN1_ENUMERATED_free(reason);
	assert_int_equal(pki_x509_time(X509_REVOKED_get0_revocationDate(rv)), NOW - 100);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rv, X509_get0_serialNumber(b)), 1);
	assert_null(X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL));
	/* what kagid's verify store does with it */
	assert_false(verifies(ca, a, crl, X509_PURPOSE_SSL_CLIENT));
	assert_false(verifies(ca, b, crl, X509_PURPOSE_SSL_CLIENT));
	assert_true(verifies(ca, c, crl, X509_PURPOSE_SSL_CLIENT));
	X509_CRL_free(crl);
	/* a garbage serial in the inventory is an error, not a silently shorter CRL */
	list[0].serial = "not-hex";
	assert_null(pki_x509_crl(ca, ca_key, list, 1, 8, NOW, NOW + DAY, err, sizeof(err)));
	assert_non_null(strstr(err, "not-hex"));
	X509_free(a);
	X509_free(b);
	X509_free(c);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

/* ---- pki_x509: PKCS#12 ---- */

static void
test_p12(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *ca_key, *key, *pkey = NULL;
	X509 *ca = make_root(&ca_key), *x, *cert = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null(), *cas = NULL;
	const X509_ALGOR *macalg = NULL;
	const ASN1_OBJECT *obj;
	char pw[64], err[256];
	const unsigned char *p;
	unsigned char *der;
	size_t len = 0;
	PKCS12 *p12;

	x = make_leaf(PKI_PROFILE_CLIENT, "ec", ca, ca_key, NULL, &key);
	sk_X509_push(chain, ca);
	assert_int_equal(pki_x509_password(pw, sizeof(pw)), 0);
	der = pki_x509_p12(f->ctx, pw, "alice", key, x, chain, &len, err, sizeof(err));
	assert_non_null(der);
	p = der;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	assert_non_null(p12);
	/* integrity: HMAC-SHA-256 */
	PKCS12_get0_mac(NULL, &macalg, NULL, NULL, p12);
	X509_ALGOR_get0(&obj, NULL, NULL, macalg);
	assert_int_equal(OBJ_obj2nid(obj), NID_sha256);
	assert_int_equal(PKCS12_verify_mac(p12, pw, -1), 1);
	assert_int_equal(PKCS12_verify_mac(p12, "wrong", -1), 0);
	assert_int_equal(PKCS12_verify_mac(p12, "", 0), 0);
	/* wrong password: nothing comes out */
	assert_int_equal(PKCS12_parse(p12, "wrong", &pkey, &cert, &cas), 0);
	assert_null(pkey);
	ERR_clear_error();
	/* right password: the key, the certificate and the CA */
	assert_int_equal(PKCS12_parse(p12, pw, &pkey, &cert, &cas), 1);
	assert_int_equal(EVP_PKEY_eq(pkey, key), 1);
	assert_int_equal(X509_cmp(cert, x), 0);
	assert_int_equal(sk_X509_num(cas), 1);
	assert_int_equal(X509_cmp(sk_X509_value(cas, 0), ca), 0);
	EVP_PKEY_free(pkey);
	X509_free(cert);
	sk_X509_pop_free(cas, X509_free);
	PKCS12_free(p12);
	sk_X509_free(chain);
	EVP_PKEY_free(key);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

/* ---- pki_files ---- */

static void
test_files_commit_modes(void **state)
{
	struct fixture *f = *state;
	struct pki_files *fs = pki_files_new(f->ctx);
	char *a = path_in(f, "a.key"), *b = path_in(f, "b.pem"), err[256];

	assert_int_equal(pki_files_add(fs, a, "secret\n", 7, 0600, PKI_FILES_REPLACE, err,
				       sizeof(err)),
			 0);
	assert_int_equal(pki_files_add(fs, b, "public\n", 7, 0644, PKI_FILES_REPLACE, err,
				       sizeof(err)),
			 0);
	/* staged: temp files only */
	assert_int_equal(access(a, F_OK), -1);
	assert_int_equal(dot_files(f->dir), 2);
	assert_int_equal(pki_files_commit(fs, err, sizeof(err)), 0);
	pki_files_done(fs);
	assert_int_equal(mode_of(a), 0600);
	assert_int_equal(mode_of(b), 0644);
	assert_string_equal(read_text(f->ctx, a), "secret\n");
	assert_int_equal(dot_files(f->dir), 0);
	talloc_free(fs);
	/* still there after the set is freed */
	assert_string_equal(read_text(f->ctx, b), "public\n");
}

static void
test_files_rollback(void **state)
{
	struct fixture *f = *state;
	struct pki_files *fs;
	char *a = path_in(f, "crl.pem"), *b = path_in(f, "new.pem"), err[256];

	unit_write_text(a, "old CRL\n");
	fs = pki_files_new(f->ctx);
	assert_int_equal(pki_files_add(fs, a, "new CRL\n", 8, 0644, PKI_FILES_REPLACE, err,
				       sizeof(err)),
			 0);
	assert_int_equal(pki_files_add(fs, b, "x", 1, 0644, PKI_FILES_REPLACE, err, sizeof(err)),
			 0);
	assert_int_equal(pki_files_commit(fs, err, sizeof(err)), 0);
	assert_string_equal(read_text(f->ctx, a), "new CRL\n");
	/* e.g. the inventory COMMIT failed: everything as before */
	pki_files_rollback(fs);
	assert_string_equal(read_text(f->ctx, a), "old CRL\n");
	assert_int_equal(access(b, F_OK), -1);
	assert_int_equal(dot_files(f->dir), 0);
	talloc_free(fs);

	/* freed without done: rolled back too */
	fs = pki_files_new(f->ctx);
	assert_int_equal(pki_files_add(fs, a, "newer\n", 6, 0644, PKI_FILES_REPLACE, err,
				       sizeof(err)),
			 0);
	assert_int_equal(pki_files_commit(fs, err, sizeof(err)), 0);
	talloc_free(fs);
	assert_string_equal(read_text(f->ctx, a), "old CRL\n");

	/* staged but never committed: only the temp files go */
	fs = pki_files_new(f->ctx);
	assert_int_equal(pki_files_add(fs, b, "y", 1, 0644, PKI_FILES_REPLACE, err, sizeof(err)),
			 0);
	talloc_free(fs);
	assert_int_equal(access(b, F_OK), -1);
	assert_int_equal(dot_files(f->dir), 0);
}

static void
test_files_no_replace(void **state)
{
	struct fixture *f = *state;
	struct pki_files *fs = pki_files_new(f->ctx);
	char *a = path_in(f, "first"), *b = path_in(f, "exists.p12"), err[256];

	unit_write_text(b, "keep me");
	assert_int_equal(pki_files_add(fs, a, "1", 1, 0600, PKI_FILES_NO_REPLACE, err, sizeof(err)),
			 0);
	assert_int_equal(pki_files_add(fs, b, "2", 1, 0600, PKI_FILES_NO_REPLACE, err, sizeof(err)),
			 0);
	/* the second fails: the first is taken back, the existing file untouched */
	assert_int_equal(pki_files_commit(fs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(access(a, F_OK), -1);
	assert_string_equal(read_text(f->ctx, b), "keep me");
	assert_int_equal(dot_files(f->dir), 0);
	talloc_free(fs);
	/* a directory that does not exist */
	fs = pki_files_new(f->ctx);
	assert_int_equal(pki_files_add(fs, path_in(f, "no/such/dir/x"), "1", 1, 0600,
				       PKI_FILES_REPLACE, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "cannot create"));
	talloc_free(fs);
}

/* ---- pki_store ---- */

static struct pki_store *
new_store(struct fixture *f, const char *name)
{
	char *path = path_in(f, name), err[256];
	struct pki_store *st;
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);

	assert_true(fd >= 0);
	close(fd);
	st = pki_store_open(f->ctx, path, PKI_STORE_CREATE, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(pki_store_begin(st, err, sizeof(err)), 0);
	assert_int_equal(pki_store_create_schema(st, err, sizeof(err)), 0);
	assert_int_equal(pki_store_commit(st, err, sizeof(err)), 0);
	return st;
}

static struct pki_cert *
record(TALLOC_CTX *ctx, const char *name, const char *serial)
{
	struct pki_cert *c = talloc_zero(ctx, struct pki_cert);

	c->name = talloc_strdup(c, name);
	c->kind = PKI_KIND_CLIENT;
	c->serial = talloc_strdup(c, serial);
	c->subject = talloc_asprintf(c, "CN=%s", name);
	c->issuer = talloc_strdup(c, "CN=Unit CA");
	c->sans = talloc_strdup(c, "");
	c->key_type = talloc_strdup(c, "ec:P-256");
	c->not_before = NOW;
	c->not_after = NOW + DAY;
	c->issued_at = NOW;
	c->current = true;
	c->pem = talloc_strdup(c, "-----BEGIN CERTIFICATE-----\n");
	return c;
}

static void
test_store(void **state)
{
	struct fixture *f = *state;
	struct pki_store *st = new_store(f, "inv.db");
	struct pki_cert *a = record(f->ctx, "alice", "4A0B"), *b = record(f->ctx, "bob", "5C0D");
	struct pki_cert *found, **v;
	unsigned n;
	char err[256];

	assert_int_equal(pki_store_begin(st, err, sizeof(err)), 0);
	assert_int_equal(pki_store_insert(st, a, err, sizeof(err)), 0);
	assert_int_equal(pki_store_insert(st, b, err, sizeof(err)), 0);
	assert_int_equal(pki_store_commit(st, err, sizeof(err)), 0);
	assert_true(a->id > 0 && b->id > a->id);

	/* by name (any case), by serial ("0x", colons and case do not matter) */
	assert_int_equal(pki_store_find(st, f->ctx, "ALICE", &found, err, sizeof(err)), PKI_FOUND);
	assert_string_equal(found->serial, "4A0B");
	assert_int_equal(pki_store_find(st, f->ctx, "0x5c:0d", &found, err, sizeof(err)),
			 PKI_FOUND);
	assert_string_equal(found->name, "bob");
	assert_int_equal(pki_store_find(st, f->ctx, "carol", &found, err, sizeof(err)),
			 PKI_NOT_FOUND);

	/* one current certificate per name, one row per serial */
	assert_int_equal(pki_store_begin(st, err, sizeof(err)), 0);
	assert_int_equal(pki_store_insert(st, record(f->ctx, "Alice", "6E0F"), err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(pki_store_insert(st, record(f->ctx, "dave", "4A0B"), err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "serial number"));
	/* after supersede, the name is free again; the old row stays findable by serial */
	assert_int_equal(pki_store_set_superseded(st, a->id, err, sizeof(err)), 0);
	assert_int_equal(pki_store_insert(st, record(f->ctx, "alice", "7A7A"), err, sizeof(err)),
			 0);
	assert_int_equal(pki_store_commit(st, err, sizeof(err)), 0);
	assert_int_equal(pki_store_find(st, f->ctx, "alice", &found, err, sizeof(err)), PKI_FOUND);
	assert_string_equal(found->serial, "7A7A");
	assert_int_equal(pki_store_find(st, f->ctx, "4a0b", &found, err, sizeof(err)), PKI_FOUND);
	assert_false(found->current);

	/* revocation, once */
	assert_int_equal(pki_store_begin(st, err, sizeof(err)), 0);
	assert_int_equal(pki_store_set_revoked(st, b->id, NOW + 5, PKI_REASON_KEY_COMPROMISE, err,
					       sizeof(err)),
			 0);
	assert_int_equal(pki_store_set_revoked(st, b->id, NOW + 6, PKI_REASON_SUPERSEDED, err,
					       sizeof(err)),
			 -1);
	assert_int_equal(pki_store_commit(st, err, sizeof(err)), 0);
	assert_int_equal(pki_store_find(st, f->ctx, "bob", &found, err, sizeof(err)), PKI_FOUND);
	assert_true(found->revoked);
	assert_int_equal(found->revoked_at, NOW + 5);
	assert_int_equal(found->reason, PKI_REASON_KEY_COMPROMISE);
	assert_int_equal(pki_store_list_revoked(st, f->ctx, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);

	/* list: current only, or everything */
	assert_int_equal(pki_store_list(st, f->ctx, false, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pki_store_list(st, f->ctx, true, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0]->name, "alice");

	/* a rolled back transaction leaves nothing */
	assert_int_equal(pki_store_begin(st, err, sizeof(err)), 0);
	assert_int_equal(pki_store_insert(st, record(f->ctx, "eve", "0E0E"), err, sizeof(err)), 0);
	pki_store_rollback(st);
	assert_int_equal(pki_store_find(st, f->ctx, "eve", &found, err, sizeof(err)),
			 PKI_NOT_FOUND);

	/* meta */
	assert_int_equal(pki_store_begin(st, err, sizeof(err)), 0);
	assert_int_equal(pki_store_meta_set(st, "k", "1", err, sizeof(err)), 0);
	assert_int_equal(pki_store_meta_set(st, "k", "2", err, sizeof(err)), 0);
	assert_int_equal(pki_store_commit(st, err, sizeof(err)), 0);
	assert_string_equal(pki_store_meta_get(st, f->ctx, "k", err, sizeof(err)), "2");
	assert_null(pki_store_meta_get(st, f->ctx, "missing", err, sizeof(err)));
}

static void
test_store_damaged(void **state)
{
	struct fixture *f = *state;
	char *path, err[512];
	struct pki_store *st = new_store(f, "good.db");
	int fd;

	(void)st;
	/* garbage over the header */
	path = path_in(f, "good.db");
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage garbage garbage garbage!", 32), 32);
	close(fd);
	assert_null(pki_store_open(f->ctx, path, PKI_STORE_OPEN, err, sizeof(err)));
	assert_non_null(strstr(err, "corrupted"));
	/* an empty file (an init that never finished) */
	path = path_in(f, "empty.db");
	unit_write_text(path, "");
	assert_null(pki_store_open(f->ctx, path, PKI_STORE_OPEN, err, sizeof(err)));
	assert_non_null(strstr(err, "not a kagi certificate inventory"));
	/* missing */
	assert_null(pki_store_open(f->ctx, path_in(f, "none.db"), PKI_STORE_OPEN, err,
				   sizeof(err)));
	assert_non_null(strstr(err, "cannot open"));
}

/* ---- pki: whole operations ---- */

static struct pki *
init_pki(struct fixture *f, const char *sub, bool intermediate)
{
	struct pki_init_opts o = {.ca_name = "Unit CA", .intermediate = intermediate};
	char err[512];
	struct pki *p = pki_init(f->ctx, path_in(f, sub), &o, NOW, err, sizeof(err));

	if (!p)
		fail_msg("pki_init: %s", err);
	return p;
}

static struct pki_cert *
issue_client(struct pki *p, TALLOC_CTX *ctx, const char *name, unsigned days)
{
	struct pki_issue_opts o = {.kind = PKI_KIND_CLIENT, .name = name, .days = days};
	char err[512];
	struct pki_cert *c = pki_issue(p, ctx, &o, NOW, err, sizeof(err));

	if (!c)
		fail_msg("pki_issue %s: %s", name, err);
	return c;
}

static void
test_pki_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct pki *p = init_pki(f, "pki", false);
	struct pki_cert *alice, *bob, *c, **v;
	struct pki_renew_opts ro = {0};
	char err[512], pw[64], *crl1, *crl2;
	X509 *ca, *x;
	unsigned n;

	/* init: files and modes */
	assert_int_equal(mode_of(path_in(f, "pki/ca/root.key")), 0600);
	assert_int_equal(mode_of(path_in(f, "pki/inventory.db")), 0600);
	assert_int_equal(mode_of(path_in(f, "pki/ca.pem")), 0644);
	assert_int_equal(mode_of(path_in(f, "pki/crl.pem")), 0644);
	crl1 = read_text(f->ctx, path_in(f, "pki/crl.pem"));
	assert_non_null(strstr(crl1, "BEGIN X509 CRL"));

	/* issue: NAME is an email address, so it is the SAN too */
	alice = issue_client(p, f->ctx, "alice@example.org", 0);
	assert_string_equal(alice->sans, "email:alice@example.org");
	assert_string_equal(alice->subject, "CN=alice@example.org");
	assert_int_equal(alice->not_before, NOW - PKI_BACKDATE);
	assert_int_equal(alice->not_after, NOW + PKI_DEFAULT_CERT_DAYS * DAY);
	assert_int_equal(mode_of(path_in(f, "pki/issued/alice@example.org.key")), 0600);
	bob = issue_client(p, f->ctx, "bob", 0);
	assert_string_equal(bob->sans, "");

	/* the certificate verifies against ca.pem and the CRL */
	ca = pki_x509_read_cert(path_in(f, "pki/ca.pem"), NULL, err, sizeof(err));
	x = pki_x509_read_cert(path_in(f, "pki/issued/bob.pem"), NULL, err, sizeof(err));
	assert_non_null(ca);
	assert_non_null(x);
	assert_true(verifies(ca, x, NULL, X509_PURPOSE_SSL_CLIENT));

	/* revoke: once; the CRL is rewritten (with a new inode, so kagid notices) */
	c = pki_revoke(p, f->ctx, "bob", PKI_REASON_KEY_COMPROMISE, NOW + 10, err, sizeof(err));
	assert_non_null(c);
	assert_true(c->revoked);
	crl2 = read_text(f->ctx, path_in(f, "pki/crl.pem"));
	assert_string_not_equal(crl1, crl2);
	assert_null(pki_revoke(p, f->ctx, "bob", PKI_REASON_UNSPECIFIED, NOW + 20, err,
			       sizeof(err)));
	assert_non_null(strstr(err, "already revoked"));
	assert_string_equal(read_text(f->ctx, path_in(f, "pki/crl.pem")), crl2);
	assert_null(pki_revoke(p, f->ctx, "nobody", PKI_REASON_UNSPECIFIED, NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "no certificate named \"nobody\""));
	/* revoke by serial */
	c = pki_revoke(p, f->ctx, alice->serial, PKI_REASON_AFFILIATION_CHANGED, NOW + 30, err,
		       sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->name, "alice@example.org");

	{
		X509_STORE *st = X509_STORE_new();
		X509_STORE_CTX *xs = X509_STORE_CTX_new();
		X509_LOOKUP *lk = X509_STORE_add_lookup(st, X509_LOOKUP_file());

		X509_STORE_add_cert(st, ca);
		assert_true(X509_load_crl_file(lk, path_in(f, "pki/crl.pem"), X509_FILETYPE_PEM) >
			    0);
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
		X509_STORE_CTX_init(xs, st, x, NULL);
		X509_STORE_CTX_set_time(xs, 0, NOW + 60);
		assert_int_equal(X509_verify_cert(xs), 0);
		assert_int_equal(X509_STORE_CTX_get_error(xs), X509_V_ERR_CERT_REVOKED);
		X509_STORE_CTX_free(xs);
		X509_STORE_free(st);
	}

	/* duplicate names are refused and change nothing */
	assert_null(pki_issue(p, f->ctx,
			      &(struct pki_issue_opts){.kind = PKI_KIND_CLIENT, .name = "BOB"}, NOW,
			      err, sizeof(err)));
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(pki_list(p, f->ctx, true, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);

	/* renew a revoked name: a new serial, the old one kept as history */
	c = pki_renew(p, f->ctx, "bob", &ro, NOW + 100, err, sizeof(err));
	assert_non_null(c);
	assert_string_not_equal(c->serial, bob->serial);
	assert_false(c->revoked);
	assert_int_equal(pki_list(p, f->ctx, false, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pki_list(p, f->ctx, true, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	/* renewing by an old serial points at the name */
	assert_null(pki_renew(p, f->ctx, bob->serial, &ro, NOW + 100, err, sizeof(err)));
	assert_non_null(strstr(err, "earlier certificate"));

	/* export: the renewed bob works, the revoked alice does not */
	assert_non_null(pki_export_p12(p, f->ctx, "bob", path_in(f, "bob.p12"), false, pw,
				       sizeof(pw), NOW + 200, err, sizeof(err)));
	assert_int_equal(mode_of(path_in(f, "bob.p12")), 0600);
	assert_int_equal(strlen(pw), 29);
	assert_null(pki_export_p12(p, f->ctx, "bob", path_in(f, "bob.p12"), false, pw, sizeof(pw),
				   NOW + 200, err, sizeof(err)));
	assert_non_null(strstr(err, "already exists"));
	assert_string_equal(pw, ""); /* no password for a file that was not written */
	assert_null(pki_export_p12(p, f->ctx, "alice@example.org", path_in(f, "alice.p12"), false,
				   pw, sizeof(pw), NOW + 200, err, sizeof(err)));
	assert_non_null(strstr(err, "revoked"));
	assert_int_equal(access(path_in(f, "alice.p12"), F_OK), -1);

	assert_int_equal(dot_files(path_in(f, "pki")), 0);
	assert_int_equal(dot_files(path_in(f, "pki/issued")), 0);
	X509_free(ca);
	X509_free(x);
}

static void
test_pki_crl_due(void **state)
{
	struct fixture *f = *state;
	struct pki *p = init_pki(f, "pki", false);
	char err[512];
	time_t next;

	/* 30-day CRL: fine for three weeks and more, due in its last week, then expired */
	assert_int_equal(pki_crl_status(p, NOW, &next, err, sizeof(err)), PKI_CRL_OK);
	assert_int_equal(next, NOW + 30 * DAY);
	assert_int_equal(pki_crl_status(p, NOW + 22 * DAY, &next, err, sizeof(err)), PKI_CRL_OK);
	assert_int_equal(pki_crl_status(p, NOW + 24 * DAY, &next, err, sizeof(err)), PKI_CRL_DUE);
	assert_int_equal(pki_crl_status(p, NOW + 30 * DAY, &next, err, sizeof(err)),
			 PKI_CRL_EXPIRED);
	/* kagi cert crl: a new nextUpdate */
	assert_int_equal(pki_crl_update(p, NOW + 24 * DAY, err, sizeof(err)), 0);
	assert_int_equal(pki_crl_status(p, NOW + 24 * DAY, &next, err, sizeof(err)), PKI_CRL_OK);
	assert_int_equal(next, NOW + 54 * DAY);
	/* gone */
	unlink(path_in(f, "pki/crl.pem"));
	assert_int_equal(pki_crl_status(p, NOW, &next, err, sizeof(err)), PKI_CRL_BAD);
}

static void
test_pki_expiry(void **state)
{
	struct fixture *f = *state;
	struct pki *p = init_pki(f, "pki", false);
	struct pki_cert *c;
	char err[512], pw[64];

	/* an expired certificate is not handed over */
	c = issue_client(p, f->ctx, "shortlived", 1);
	assert_int_equal(c->not_after, NOW + DAY);
	assert_null(pki_export_p12(p, f->ctx, "shortlived", path_in(f, "s.p12"), false, pw,
				   sizeof(pw), NOW + 2 * DAY, err, sizeof(err)));
	assert_non_null(strstr(err, "expired"));
	/* a certificate does not outlive its CA */
	c = issue_client(p, f->ctx, "longlived", 36500);
	assert_int_equal(c->not_after, NOW + PKI_DEFAULT_CA_DAYS * DAY);
}

static void
test_pki_intermediate(void **state)
{
	struct fixture *f = *state;
	struct pki *p = init_pki(f, "pki", true);
	struct pki_ca_info info;
	struct pki_cert *c;
	char err[512], *leaf, *bundle, *crl;

	assert_int_equal(pki_ca_info(p, &info, err, sizeof(err)), 0);
	assert_string_equal(info.root_subject, "CN=Unit CA");
	assert_string_equal(info.issuing_subject, "CN=Unit CA Issuing CA");
	assert_int_equal(mode_of(path_in(f, "pki/ca/issuing.key")), 0600);
	c = issue_client(p, f->ctx, "carol", 0);
	assert_string_equal(c->issuer, "CN=Unit CA Issuing CA");
	/* leaf file: leaf + issuing CA; ca.pem: root + issuing CA; crl.pem: both CRLs */
	leaf = read_text(f->ctx, path_in(f, "pki/issued/carol.pem"));
	bundle = read_text(f->ctx, path_in(f, "pki/ca.pem"));
	assert_non_null(strstr(strstr(leaf, "BEGIN CERT") + 1, "BEGIN CERT"));
	assert_non_null(strstr(strstr(bundle, "BEGIN CERT") + 1, "BEGIN CERT"));
	assert_non_null(pki_revoke(p, f->ctx, "carol", PKI_REASON_SUPERSEDED, NOW, err,
				   sizeof(err)));
	crl = read_text(f->ctx, path_in(f, "pki/crl.pem"));
	assert_non_null(strstr(strstr(crl, "BEGIN X509 CRL") + 1, "BEGIN X509 CRL"));
}

static void
test_pki_failures_leave_nothing(void **state)
{
	struct fixture *f = *state;
	struct pki_init_opts bad = {.key = "rsa:1000"};
	struct pki_init_opts ok = {0};
	char err[512];
	struct pki *p;

	/* init with bad arguments: no directory */
	assert_null(pki_init(f->ctx, path_in(f, "x"), &bad, NOW, err, sizeof(err)));
	assert_int_equal(access(path_in(f, "x"), F_OK), -1);
	bad = (struct pki_init_opts){.intermediate = true, .ca_days = 10, .issuing_days = 20};
	assert_null(pki_init(f->ctx, path_in(f, "x"), &bad, NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "outlive"));
	assert_int_equal(access(path_in(f, "x"), F_OK), -1);
	/* init over a directory that has a ca.pem but no inventory: refused, untouched */
	mkdir(path_in(f, "foreign"), 0755);
	unit_write_text(path_in(f, "foreign/ca.pem"), "someone else's\n");
	assert_null(pki_init(f->ctx, path_in(f, "foreign"), &ok, NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "not a `kagi cert` PKI"));
	assert_int_equal(access(path_in(f, "foreign/inventory.db"), F_OK), -1);
	/* init twice */
	p = init_pki(f, "pki", false);
	assert_null(pki_init(f->ctx, path_in(f, "pki"), &ok, NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "already holds a PKI"));
	/* open: nothing there */
	assert_null(pki_open(f->ctx, path_in(f, "nowhere"), err, sizeof(err)));
	assert_non_null(strstr(err, "no PKI in"));
	assert_int_equal(access(path_in(f, "nowhere"), F_OK), -1);
	/* issue with a missing CA key: no row, no file */
	rename(path_in(f, "pki/ca/root.key"), path_in(f, "root.key.away"));
	p = pki_open(f->ctx, path_in(f, "pki"), err, sizeof(err));
	assert_non_null(p);
	assert_null(pki_issue(p, f->ctx,
			      &(struct pki_issue_opts){.kind = PKI_KIND_CLIENT, .name = "dave"},
			      NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "missing"));
	assert_int_equal(access(path_in(f, "pki/issued/dave.pem"), F_OK), -1);
	rename(path_in(f, "root.key.away"), path_in(f, "pki/ca/root.key"));
	p = pki_open(f->ctx, path_in(f, "pki"), err, sizeof(err));
	{
		struct pki_cert *c = NULL;

		assert_int_equal(pki_find(p, f->ctx, "dave", &c, err, sizeof(err)), PKI_NOT_FOUND);
	}
	/* bad arguments to issue */
	assert_null(pki_issue(p, f->ctx,
			      &(struct pki_issue_opts){.kind = PKI_KIND_SERVER, .name = "srv"}, NOW,
			      err, sizeof(err)));
	assert_non_null(strstr(err, "--dns"));
	assert_null(pki_issue(p, f->ctx,
			      &(struct pki_issue_opts){.kind = PKI_KIND_CLIENT,
						       .name = "user@example.org",
						       .device = true},
			      NOW, err, sizeof(err)));
	assert_null(pki_issue(p, f->ctx,
			      &(struct pki_issue_opts){.kind = PKI_KIND_CLIENT, .name = "a/b"}, NOW,
			      err, sizeof(err)));
	assert_non_null(strstr(err, "bad certificate name"));
	assert_int_equal(dot_files(path_in(f, "pki")), 0);
	assert_int_equal(dot_files(path_in(f, "pki/issued")), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyspec),
		cmocka_unit_test(test_input_checks),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_root_ca),
		cmocka_unit_test(test_client_cert_sans),
		cmocka_unit_test(test_server_cert),
		cmocka_unit_test(test_serials),
		cmocka_unit_test(test_crl),
		cmocka_unit_test_setup_teardown(test_p12, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_commit_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_no_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pki_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pki_crl_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pki_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pki_intermediate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pki_failures_leave_nothing, setup, teardown),
	};

	return cmocka_run_group_tests_name("pki", tests, NULL, NULL);
}
