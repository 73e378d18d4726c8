/*
 * pki_x509.h - the certificate authority's OpenSSL work for `kagi cert`: keys, certificates
 * (RFC 5280 profiles for a root CA, an issuing CA, TLS servers and TLS clients), CRLs
 * (RFC 5280 §5, with CRL Number and reason codes), PKCS#12 files (RFC 7292, AES-256-CBC with
 * PBKDF2 and a SHA-256 MAC), PEM encoding and reading. No files are written and nothing is
 * logged here: errors come back in err.
 *
 * Extended key usage and SANs follow what supplicants check (RFC 5216 §5.3): a server
 * certificate carries EKU serverAuth and SAN dNSName entries (Android 11+ and Windows match the
 * configured server name against them); a client certificate carries EKU clientAuth and SAN
 * entries (email, DNS, Microsoft UPN) that kagid's identity binding compares with the EAP
 * identity.
 */
#ifndef KAGI_PKI_X509_H
#define KAGI_PKI_X509_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <talloc.h>

/* ---- keys ---- */

enum pki_key_alg {
	PKI_KEY_EC,
	PKI_KEY_RSA,
};

struct pki_keyspec {
	enum pki_key_alg alg;
	unsigned bits;	   /* RSA modulus size */
	const char *curve; /* EC: "P-256" or "P-384" (static strings) */
};

/*
 * pki_x509_keyspec_parse - "ec" (P-256), "ec:P-384", "rsa" (3072 bits), "rsa:2048",
 * "rsa:4096". Returns 0, or -1 with err set.
 */
int pki_x509_keyspec_parse(const char *s, struct pki_keyspec *ks, char *err, size_t errlen);
/* pki_x509_keyspec_str - the canonical text of ks ("ec:P-256", "rsa:3072") into buf. */
void pki_x509_keyspec_str(const struct pki_keyspec *ks, char *buf, size_t len);

/* pki_x509_keygen - a new private key; the caller frees it (EVP_PKEY_free). NULL with err. */
EVP_PKEY *pki_x509_keygen(const struct pki_keyspec *ks, char *err, size_t errlen);

/* ---- certificates ---- */

enum pki_profile {
	PKI_PROFILE_ROOT,    /* self-signed CA */
	PKI_PROFILE_ISSUING, /* intermediate CA, pathlen 0 */
	PKI_PROFILE_SERVER,  /* EKU serverAuth */
	PKI_PROFILE_CLIENT,  /* EKU clientAuth */
};

struct pki_cert_req {
	enum pki_profile profile;
	const X509_NAME *subject;
	/* SAN entries (may be NULL for CAs; a server certificate needs at least one DNS name) */
	const GENERAL_NAMES *san;
	time_t not_before, not_after;
	bool root_has_issuing; /* ROOT: allow one CA below (pathlen 1, else 0) */
};

/*
 * pki_x509_name - a subject "CN=cn" (with "O=org" first when org is set). The caller frees it
 * (X509_NAME_free). NULL with err set.
 */
X509_NAME *pki_x509_name(const char *cn, const char *org, char *err, size_t errlen);

/*
 * pki_x509_san_new - SAN entries from lists of DNS names, email addresses (rfc822Name) and
 * UPNs (otherName 1.3.6.1.4.1.311.20.2.3, UTF8String). The caller frees it
 * (GENERAL_NAMES_free). NULL with err set.
 */
GENERAL_NAMES *pki_x509_san_new(const char *const *dns, unsigned n_dns,
				const char *const *email, unsigned n_email,
				const char *const *upn, unsigned n_upn, char *err, size_t errlen);

/*
 * pki_x509_issue - sign a certificate for key: self-signed when issuer is NULL (the root), else
 * signed by issuer/issuer_key. The serial number is 16 random bytes, positive (RFC 5280
 * §4.1.2.2 allows 20 octets; CA/B Forum asks for 64 random bits at least). SHA-256 signatures
 * (SHA-384 for a P-384 signing key). The caller frees the certificate (X509_free).
 */
X509 *pki_x509_issue(const struct pki_cert_req *req, EVP_PKEY *key, X509 *issuer,
		     EVP_PKEY *issuer_key, char *err, size_t errlen);

/* pki_x509_serial_hex - the serial number in upper-case hex (as kagid logs it) into buf. */
void pki_x509_serial_hex(const X509 *x, char *buf, size_t len);

/* pki_x509_dn - the subject or issuer DN in RFC 2253 form into buf. */
void pki_x509_dn(const X509_NAME *name, char *buf, size_t len);

/*
 * pki_x509_san_str - the certificate's SAN entries as "DNS:a, email:b, UPN:c" (empty when
 * there are none) into buf.
 */
void pki_x509_san_str(const X509 *x, char *buf, size_t len);

/* pki_x509_eku_str - "serverAuth", "clientAuth", "serverAuth, clientAuth" or "none". */
const char *pki_x509_eku_str(X509 *x);

/* pki_x509_time - an ASN1_TIME as seconds since the epoch (UTC); -1 if it cannot be read. */
time_t pki_x509_time(const ASN1_TIME *t);

/* pki_x509_key_desc - "ec:P-256", "rsa:3072", ... for a certificate's public key. */
void pki_x509_key_desc(X509 *x, char *buf, size_t len);

/* ---- CRLs ---- */

struct pki_revoked {
	const char *serial; /* upper-case hex */
	time_t when;
	int reason; /* RFC 5280 §5.3.1 CRLReason code; 0 (unspecified) is left out of the entry */
};

/*
 * pki_x509_crl - a v2 CRL signed by issuer/key listing the n entries, with thisUpdate now,
 * nextUpdate next, CRL Number number and the Authority Key Identifier (RFC 5280 §5.2.1, §5.2.3).
 * The caller frees it (X509_CRL_free). NULL with err set.
 */
X509_CRL *pki_x509_crl(X509 *issuer, EVP_PKEY *key, const struct pki_revoked *list, unsigned n,
		       long number, time_t now, time_t next, char *err, size_t errlen);

/* ---- PKCS#12 ---- */

/*
 * pki_x509_p12 - a PKCS#12 file (DER) with key, cert and the chain, key and certificates
 * encrypted with AES-256-CBC (PBES2, PBKDF2 with HMAC-SHA-256), integrity by HMAC-SHA-256 MAC,
 * friendly name name. The result is a talloc child of ctx; NULL with err set.
 */
unsigned char *pki_x509_p12(TALLOC_CTX *ctx, const char *password, const char *name,
			    EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain, size_t *len,
			    char *err, size_t errlen);

/*
 * pki_x509_password - a random password for a PKCS#12 file: 24 characters from a 32-letter
 * alphabet without look-alikes (120 bits), in groups of four joined by '-'. buf needs 30
 * bytes. Returns 0, or -1 if the random generator failed.
 */
int pki_x509_password(char *buf, size_t len);

/* ---- PEM ---- */

/* pki_x509_cert_pem - cert in PEM as a talloc string (child of ctx). NULL when out of memory. */
char *pki_x509_cert_pem(TALLOC_CTX *ctx, X509 *cert);
/* pki_x509_crl_pem - the same for a CRL. */
char *pki_x509_crl_pem(TALLOC_CTX *ctx, X509_CRL *crl);
/*
 * pki_x509_key_pem - the private key in unencrypted PKCS#8 PEM as a talloc string, wiped when
 * it is freed. NULL when out of memory.
 */
char *pki_x509_key_pem(TALLOC_CTX *ctx, EVP_PKEY *key);

/* pki_x509_read_cert - the first certificate in a PEM file or string (path NULL: pem). */
X509 *pki_x509_read_cert(const char *path, const char *pem, char *err, size_t errlen);
/* pki_x509_read_key - a private key from an unencrypted PEM file. */
EVP_PKEY *pki_x509_read_key(const char *path, char *err, size_t errlen);
/*
 * pki_x509_read_crls - the CRLs of a PEM file: the earliest nextUpdate and the latest
 * thisUpdate among them, and their count. Returns the count (> 0), or -1 with err set.
 */
int pki_x509_read_crls(const char *path, time_t *this_update, time_t *next_update,
		       char *err, size_t errlen);

#endif
