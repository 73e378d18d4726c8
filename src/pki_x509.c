/*
 * pki_x509.c - keys, certificates, CRLs and PKCS#12 for `kagi cert` (see pki_x509.h).
 * OpenSSL 3 API only; nothing here touches the inventory or logs.
 */
#include "pki_x509.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The newest OpenSSL error as text, for messages. */
static const char *
ossl_why(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown OpenSSL error";
}

static void
ossl_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, ossl_why());
	ERR_clear_error();
}

/* ---- keys ---- */

int
pki_x509_keyspec_parse(const char *s, struct pki_keyspec *ks, char *err, size_t errlen)
{
	const char *param = strchr(s, ':');
	size_t alen = param ? (size_t)(param - s) : strlen(s);

	if (param)
		param++;
	if (alen == 2 && strncasecmp(s, "ec", 2) == 0) {
		ks->alg = PKI_KEY_EC;
		ks->bits = 0;
		if (!param || strcasecmp(param, "P-256") == 0 || strcasecmp(param, "prime256v1") == 0)
			ks->curve = "P-256";
		else if (strcasecmp(param, "P-384") == 0 || strcasecmp(param, "secp384r1") == 0)
			ks->curve = "P-384";
		else
			goto bad;
		return 0;
	}
	if (alen == 3 && strncasecmp(s, "rsa", 3) == 0) {
		ks->alg = PKI_KEY_RSA;
		ks->curve = NULL;
		if (!param)
			ks->bits = 3072;
		else if (strcmp(param, "2048") == 0)
			ks->bits = 2048;
		else if (strcmp(param, "3072") == 0)
			ks->bits = 3072;
		else if (strcmp(param, "4096") == 0)
			ks->bits = 4096;
		else
			goto bad;
		return 0;
	}
bad:
	snprintf(err, errlen,
		 "unknown key type \"%s\" (ec, ec:P-256, ec:P-384, rsa, rsa:2048, rsa:3072, "
		 "rsa:4096)",
		 s);
	return -1;
}

void
pki_x509_keyspec_str(const struct pki_keyspec *ks, char *buf, size_t len)
{
	if (ks->alg == PKI_KEY_EC)
		snprintf(buf, len, "ec:%s", ks->curve);
	else
		snprintf(buf, len, "rsa:%u", ks->bits);
}

EVP_PKEY *
pki_x509_keygen(const struct pki_keyspec *ks, char *err, size_t errlen)
{
	EVP_PKEY *key;

	if (ks->alg == PKI_KEY_EC)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", ks->curve);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)ks->bits);
	if (!key)
		ossl_fail(err, errlen, "key generation failed");
	return key;
}

/* ---- certificates ---- */

X509_NAME *
pki_x509_name(const char *cn, const char *org, char *err, size_t errlen)
{
	X509_NAME *n = X509_NAME_new();

	if (!n)
		goto fail;
	if (org && *org &&
	    !X509_NAME_add_entry_by_NID(n, NID_organizationName, MBSTRING_UTF8,
					(const unsigned char *)org, -1, -1, 0))
		goto fail;
	if (!X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0))
		goto fail;
	return n;
fail:
	X509_NAME_free(n);
	ossl_fail(err, errlen, "cannot build the subject name");
	return NULL;
}

static int
san_push_ia5(GENERAL_NAMES *gens, int type, const char *value)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (!gn || !s || !ASN1_STRING_set(s, value, -1))
		goto fail;
	GENERAL_NAME_set0_value(gn, type, s);
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		GENERAL_NAME_free(gn);
		return -1;
	}
	return 0;
fail:
	ASN1_IA5STRING_free(s);
	GENERAL_NAME_free(gn);
	return -1;
}

/* Microsoft UPN: otherName { type-id 1.3.6.1.4.1.311.20.2.3, value [0] UTF8String }. */
static int
san_push_upn(GENERAL_NAMES *gens, const char *upn)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_TYPE *val = ASN1_TYPE_new();
	ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();
	ASN1_OBJECT *oid = OBJ_nid2obj(NID_ms_upn);

	if (!gn || !val || !s || !oid || !ASN1_STRING_set(s, upn, -1))
		goto fail;
	ASN1_TYPE_set(val, V_ASN1_UTF8STRING, s);
	s = NULL; /* owned by val */
	if (!GENERAL_NAME_set0_othername(gn, OBJ_dup(oid), val))
		goto fail;
	val = NULL;
	if (!sk_GENERAL_NAME_push(gens, gn))
		goto fail;
	return 0;
fail:
	ASN1_UTF8STRING_free(s);
	ASN1_TYPE_free(val);
	GENERAL_NAME_free(gn);
	return -1;
}

GENERAL_NAMES *
pki_x509_san_new(const char *const *dns, unsigned n_dns, const char *const *email,
		 unsigned n_email, const char *const *upn, unsigned n_upn, char *err,
		 size_t errlen)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	unsigned i;

	if (!gens)
		goto fail;
	for (i = 0; i < n_email; i++)
		if (san_push_ia5(gens, GEN_EMAIL, email[i]) < 0)
			goto fail;
	for (i = 0; i < n_upn; i++)
		if (san_push_upn(gens, upn[i]) < 0)
			goto fail;
	for (i = 0; i < n_dns; i++)
		if (san_push_ia5(gens, GEN_DNS, dns[i]) < 0)
			goto fail;
	return gens;
fail:
	GENERAL_NAMES_free(gens);
	ossl_fail(err, errlen, "cannot build the subjectAltName");
	return NULL;
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static int
set_random_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return 0;
	/* Top bits 01: positive in DER and always 16 bytes long (126 random bits). */
	b[0] = (unsigned char)((b[0] & 0x3f) | 0x40);
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static const EVP_MD *
sig_md(EVP_PKEY *key)
{
	char curve[64];
	size_t len = 0;

	if (EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve),
					   &len) &&
	    (strcmp(curve, "secp384r1") == 0 || strcmp(curve, "P-384") == 0))
		return EVP_sha384();
	return EVP_sha256();
}

X509 *
pki_x509_issue(const struct pki_cert_req *req, EVP_PKEY *key, X509 *issuer,
	       EVP_PKEY *issuer_key, char *err, size_t errlen)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	const char *bc, *ku;
	bool rsa = EVP_PKEY_is_a(key, "RSA");

	if (!x)
		goto fail;
	if (!issuer != !issuer_key || (!issuer && req->profile != PKI_PROFILE_ROOT)) {
		snprintf(err, errlen, "internal error: issuer and key must go together");
		X509_free(x);
		return NULL;
	}
	if (!X509_set_version(x, X509_VERSION_3) || !set_random_serial(x) ||
	    !X509_set_subject_name(x, req->subject) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : req->subject) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), req->not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), req->not_after) || !X509_set_pubkey(x, key))
		goto fail;

	switch (req->profile) {
	case PKI_PROFILE_ROOT:
		bc = req->root_has_issuing ? "critical,CA:TRUE,pathlen:1"
					   : "critical,CA:TRUE,pathlen:0";
		ku = "critical,keyCertSign,cRLSign";
		break;
	case PKI_PROFILE_ISSUING:
		bc = "critical,CA:TRUE,pathlen:0";
		ku = "critical,keyCertSign,cRLSign";
		break;
	case PKI_PROFILE_SERVER:
		bc = "critical,CA:FALSE";
		/* RSA key exchange (TLS 1.2 RSA suites) needs keyEncipherment. */
		ku = rsa ? "critical,digitalSignature,keyEncipherment"
			 : "critical,digitalSignature";
		break;
	case PKI_PROFILE_CLIENT:
	default:
		bc = "critical,CA:FALSE";
		ku = "critical,digitalSignature";
		break;
	}
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	/* The subject key id first: a self-signed root's authority key id is taken from it. */
	if (!add_ext(x, &ctx, NID_basic_constraints, bc) || !add_ext(x, &ctx, NID_key_usage, ku) ||
	    !add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"))
		goto fail;
	if (req->profile == PKI_PROFILE_SERVER && !add_ext(x, &ctx, NID_ext_key_usage, "serverAuth"))
		goto fail;
	if (req->profile == PKI_PROFILE_CLIENT && !add_ext(x, &ctx, NID_ext_key_usage, "clientAuth"))
		goto fail;
	if (req->san && sk_GENERAL_NAME_num(req->san) > 0 &&
	    X509_add1_ext_i2d(x, NID_subject_alt_name, (void *)req->san, 0, X509V3_ADD_DEFAULT) != 1)
		goto fail;
	if (X509_sign(x, issuer ? issuer_key : key, sig_md(issuer ? issuer_key : key)) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	ossl_fail(err, errlen, "cannot make the certificate");
	return NULL;
}

static void
serial_hex(const ASN1_INTEGER *ai, char *buf, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	snprintf(buf, len, "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
}

void
pki_x509_serial_hex(const X509 *x, char *buf, size_t len)
{
	serial_hex(X509_get0_serialNumber(x), buf, len);
}

void
pki_x509_dn(const X509_NAME *name, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	buf[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		n = BIO_get_mem_data(b, &p);
		snprintf(buf, len, "%.*s", (int)n, p);
	}
	BIO_free(b);
}

void
pki_x509_san_str(const X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		const char *tag = NULL;
		const ASN1_STRING *s = NULL;
		int n;

		switch (gn->type) {
		case GEN_DNS:
			tag = "DNS", s = gn->d.dNSName;
			break;
		case GEN_EMAIL:
			tag = "email", s = gn->d.rfc822Name;
			break;
		case GEN_URI:
			tag = "URI", s = gn->d.uniformResourceIdentifier;
			break;
		case GEN_OTHERNAME:
			if (OBJ_obj2nid(gn->d.otherName->type_id) == NID_ms_upn &&
			    gn->d.otherName->value->type == V_ASN1_UTF8STRING)
				tag = "UPN", s = gn->d.otherName->value->value.utf8string;
			break;
		default:
			break;
		}
		if (!tag)
			continue;
		n = snprintf(buf + used, len - used, "%s%s:%.*s", used ? ", " : "", tag,
			     ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	GENERAL_NAMES_free(gens);
}

const char *
pki_x509_eku_str(X509 *x)
{
	uint32_t eku = X509_get_extended_key_usage(x);

	if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE))
		return "none";
	if ((eku & XKU_SSL_SERVER) && (eku & XKU_SSL_CLIENT))
		return "serverAuth, clientAuth";
	if (eku & XKU_SSL_SERVER)
		return "serverAuth";
	if (eku & XKU_SSL_CLIENT)
		return "clientAuth";
	return "other";
}

time_t
pki_x509_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return (time_t)-1;
	return timegm(&tm);
}

void
pki_x509_key_desc(X509 *x, char *buf, size_t len)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	char curve[64];
	size_t n = 0;

	if (k && EVP_PKEY_is_a(k, "EC") &&
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve),
					   &n))
		snprintf(buf, len, "ec:%s",
			 strcmp(curve, "prime256v1") == 0  ? "P-256"
			 : strcmp(curve, "secp384r1") == 0 ? "P-384"
							   : curve);
	else if (k && EVP_PKEY_is_a(k, "RSA"))
		snprintf(buf, len, "rsa:%d", EVP_PKEY_get_bits(k));
	else
		snprintf(buf, len, "%s", k ? EVP_PKEY_get0_type_name(k) : "?");
}

/* ---- CRLs ---- */

static X509_REVOKED *
revoked_entry(const struct pki_revoked *r)
{
	X509_REVOKED *rv = X509_REVOKED_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = NULL;
	ASN1_ENUMERATED *reason = NULL;

	if (!rv || !BN_hex2bn(&bn, r->serial) || !(serial = BN_to_ASN1_INTEGER(bn, NULL)) ||
	    !(when = ASN1_TIME_set(NULL, r->when)) || !X509_REVOKED_set_serialNumber(rv, serial) ||
	    !X509_REVOKED_set_revocationDate(rv, when))
		goto fail;
	/* RFC 5280 §5.3.1: "unspecified" SHOULD be expressed by leaving the reason code out. */
	if (r->reason != 0) {
		reason = ASN1_ENUMERATED_new();
		if (!reason || !ASN1_ENUMERATED_set(reason, r->reason) ||
		    X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, reason, 0, 0) != 1)
			goto fail;
	}
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return rv;
fail:
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_REVOKED_free(rv);
	return NULL;
}

X509_CRL *
pki_x509_crl(X509 *issuer, EVP_PKEY *key, const struct pki_revoked *list, unsigned n,
	     long number, time_t now, time_t next, char *err, size_t errlen)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t_this = ASN1_TIME_set(NULL, now), *t_next = ASN1_TIME_set(NULL, next);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509_EXTENSION *aki = NULL;
	X509V3_CTX ctx;
	unsigned i;

	if (!crl || !t_this || !t_next || !num || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) ||
	    !X509_CRL_set1_lastUpdate(crl, t_this) || !X509_CRL_set1_nextUpdate(crl, t_next))
		goto fail;
	for (i = 0; i < n; i++) {
		X509_REVOKED *rv = revoked_entry(&list[i]);

		if (!rv || !X509_CRL_add0_revoked(crl, rv)) {
			X509_REVOKED_free(rv);
			snprintf(err, errlen, "bad serial number \"%s\" in the inventory",
				 list[i].serial);
			goto fail_quiet;
		}
	}
	X509_CRL_sort(crl);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!aki || !X509_CRL_add_ext(crl, aki, -1) || !ASN1_INTEGER_set(num, number) ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
		goto fail;
	if (X509_CRL_sign(crl, key, sig_md(key)) <= 0)
		goto fail;
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t_this);
	ASN1_TIME_free(t_next);
	return crl;
fail:
	ossl_fail(err, errlen, "cannot make the CRL");
fail_quiet:
	ERR_clear_error();
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t_this);
	ASN1_TIME_free(t_next);
	X509_CRL_free(crl);
	return NULL;
}

/* ---- PKCS#12 ---- */

unsigned char *
pki_x509_p12(TALLOC_CTX *ctx, const char *password, const char *name, EVP_PKEY *key,
	     X509 *cert, STACK_OF(X509) *chain, size_t *len, char *err, size_t errlen)
{
	PKCS12 *p12;
	unsigned char *der = NULL, *out = NULL;
	int n;

	/*
	 * AES-256-CBC for the key bag and the certificate bag: OpenSSL 3 uses PBES2 with PBKDF2
	 * (HMAC-SHA-256) for it. mac_iter -1: no MAC here, the SHA-256 MAC is set just below
	 * (PKCS12_create would use SHA-1).
	 */
	p12 = PKCS12_create(password, name, key, cert, chain, NID_aes_256_cbc, NID_aes_256_cbc,
			    PKCS12_DEFAULT_ITER, -1, 0);
	if (!p12 || PKCS12_set_mac(p12, password, -1, NULL, 0, PKCS12_DEFAULT_ITER,
				   EVP_sha256()) != 1) {
		PKCS12_free(p12);
		ossl_fail(err, errlen, "cannot make the PKCS#12 file");
		return NULL;
	}
	n = i2d_PKCS12(p12, &der);
	PKCS12_free(p12);
	if (n <= 0) {
		ossl_fail(err, errlen, "cannot encode the PKCS#12 file");
		return NULL;
	}
	out = talloc_memdup(ctx, der, (size_t)n);
	OPENSSL_free(der);
	if (!out) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*len = (size_t)n;
	return out;
}

int
pki_x509_password(char *buf, size_t len)
{
	/*
	 * Crockford's base32 alphabet, lower case: 32 symbols, so a byte modulo 32 is uniform; no
	 * i, l, o or u, so it survives being read aloud or typed from paper.
	 */
	static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
	unsigned char r[24];
	size_t i, o = 0;

	if (len < 30 || RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	for (i = 0; i < sizeof(r); i++) {
		if (i > 0 && i % 4 == 0)
			buf[o++] = '-';
		buf[o++] = alphabet[r[i] % 32];
	}
	buf[o] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

/* ---- PEM ---- */

static char *
bio_to_str(TALLOC_CTX *ctx, BIO *b)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);

	return n >= 0 ? talloc_strndup(ctx, p, (size_t)n) : NULL;
}

char *
pki_x509_cert_pem(TALLOC_CTX *ctx, X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;

	if (b && PEM_write_bio_X509(b, cert))
		s = bio_to_str(ctx, b);
	BIO_free(b);
	return s;
}

char *
pki_x509_crl_pem(TALLOC_CTX *ctx, X509_CRL *crl)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;

	if (b && PEM_write_bio_X509_CRL(b, crl))
		s = bio_to_str(ctx, b);
	BIO_free(b);
	return s;
}

static int
wipe_str(char *s)
{
	OPENSSL_cleanse(s, talloc_get_size(s));
	return 0;
}

char *
pki_x509_key_pem(TALLOC_CTX *ctx, EVP_PKEY *key)
{
	/* A secure-memory BIO: its buffer is wiped when it is freed. */
	BIO *b = BIO_new(BIO_s_secmem());
	char *s = NULL;

	if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		s = bio_to_str(ctx, b);
		if (s)
			talloc_set_destructor(s, wipe_str);
	}
	BIO_free(b);
	return s;
}

X509 *
pki_x509_read_cert(const char *path, const char *pem, char *err, size_t errlen)
{
	BIO *b = path ? BIO_new_file(path, "r") : BIO_new_mem_buf(pem, -1);
	X509 *x;

	if (!b) {
		snprintf(err, errlen, "cannot read %s: %s", path ? path : "certificate",
			 path ? strerror(errno) : "out of memory");
		ERR_clear_error();
		return NULL;
	}
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!x)
		snprintf(err, errlen, "%s: no PEM certificate in it (%s)", path ? path : "certificate",
			 ossl_why());
	ERR_clear_error();
	return x;
}

EVP_PKEY *
pki_x509_read_key(const char *path, char *err, size_t errlen)
{
	BIO *b = BIO_new_file(path, "r");
	EVP_PKEY *k;

	if (!b) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		ERR_clear_error();
		return NULL;
	}
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!k)
		snprintf(err, errlen, "%s: no unencrypted PEM private key in it (%s)", path,
			 ossl_why());
	ERR_clear_error();
	return k;
}

int
pki_x509_read_crls(const char *path, time_t *this_update, time_t *next_update, char *err,
		   size_t errlen)
{
	BIO *b = BIO_new_file(path, "r");
	X509_CRL *crl;
	int n = 0;

	*this_update = 0;
	*next_update = 0;
	if (!b) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		ERR_clear_error();
		return -1;
	}
	while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
		time_t t = pki_x509_time(X509_CRL_get0_lastUpdate(crl));
		time_t nx = pki_x509_time(X509_CRL_get0_nextUpdate(crl));

		if (t > *this_update)
			*this_update = t;
		if (nx > 0 && (*next_update == 0 || nx < *next_update))
			*next_update = nx;
		X509_CRL_free(crl);
		n++;
	}
	BIO_free(b);
	ERR_clear_error();
	if (n == 0) {
		snprintf(err, errlen, "%s: no PEM CRL in it", path);
		return -1;
	}
	return n;
}
