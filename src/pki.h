/*
 * pki.h - the client-certificate authority behind `kagi cert`: a PKI directory with a root CA
 * (and optionally an issuing CA below it), the inventory of issued certificates, their keys,
 * and the CRL kagid reads.
 *
 * Layout of a PKI directory DIR (see README.md, "Managing certificates"):
 *
 *   DIR/inventory.db          SQLite inventory (0600): settings, every certificate issued
 *   DIR/ca.pem                the CA certificates (root, issuing CA): kagi.conf ca_file
 *   DIR/crl.pem               the CRL(s), PEM: kagi.conf crl_file
 *   DIR/ca/root.pem, .key     root CA (key 0600, directory 0700)
 *   DIR/ca/issuing.pem, .key  issuing CA, with `init --intermediate`
 *   DIR/issued/NAME.pem       certificate NAME followed by the issuing CA (if any)
 *   DIR/issued/NAME.key       its private key (0600)
 *
 * Every operation that changes something runs in one inventory transaction (BEGIN IMMEDIATE:
 * concurrent commands queue) and writes its files with pki_files (temp file, fsync, rename);
 * when anything fails, neither the inventory nor the files change. Nothing here logs or prints:
 * errors come back in err, results as records for the caller to present.
 *
 * Time is passed in as now (seconds since the epoch, UTC).
 */
#ifndef KAGI_PKI_H
#define KAGI_PKI_H

#include "pki_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <talloc.h>

struct pki;

#define PKI_INVENTORY "inventory.db"
#define PKI_CA_FILE "ca.pem"
#define PKI_CRL_FILE "crl.pem"

/* Defaults of `kagi cert init`. */
#define PKI_DEFAULT_CA_NAME "Kagi CA"
#define PKI_DEFAULT_KEY "ec"
#define PKI_DEFAULT_CA_DAYS 3650
#define PKI_DEFAULT_ISSUING_DAYS 1825
#define PKI_DEFAULT_CERT_DAYS 730
#define PKI_DEFAULT_CRL_DAYS 30

/* Certificates start this long before they are made: a device whose clock is a little slow
 * still accepts a fresh certificate. */
#define PKI_BACKDATE 3600

struct pki_init_opts {
	const char *ca_name;   /* CN of the root CA; NULL: PKI_DEFAULT_CA_NAME */
	const char *org;       /* O= in every subject; NULL: none */
	const char *key;       /* CA key and default for issued certificates; NULL: "ec" */
	unsigned ca_days;      /* 0: defaults above */
	bool intermediate;     /* also an issuing CA, which signs every certificate */
	unsigned issuing_days;
	unsigned cert_days;    /* default lifetime of issued certificates */
	unsigned crl_days;     /* CRL nextUpdate = now + crl_days */
};

struct pki_issue_opts {
	enum pki_kind kind;
	const char *name; /* CN and file name: [A-Za-z0-9][A-Za-z0-9._@+-]*, at most 64 */
	const char *const *dns; /* SAN dNSName (a server needs one at least) */
	unsigned n_dns;
	const char *const *email; /* SAN rfc822Name; with none, NAME when NAME is an address */
	unsigned n_email;
	const char *const *upn; /* SAN otherName UPN */
	unsigned n_upn;
	bool device;	 /* SAN dNSName NAME too (machine identity "host/NAME") */
	const char *key; /* NULL: the PKI default */
	unsigned days;	 /* 0: the PKI default */
};

struct pki_renew_opts {
	const char *key; /* NULL: the same key type as before */
	unsigned days;	 /* 0: the PKI default */
	bool revoke_old; /* revoke the previous certificate (reason superseded) */
};

struct pki_ca_info {
	char root_subject[256], issuing_subject[256]; /* issuing: "" when there is none */
	char root_key[32], issuing_key[32];
	time_t root_not_after, issuing_not_after;
	unsigned cert_days, crl_days;
	char default_key[32];
};

enum pki_crl_state {
	PKI_CRL_OK,
	PKI_CRL_DUE,	 /* nextUpdate is near: run `kagi cert crl` */
	PKI_CRL_EXPIRED, /* kagid refuses every client certificate */
	PKI_CRL_BAD,	 /* missing or unreadable (err set) */
};

/*
 * pki_init - create the PKI in dir (created if missing; it must not hold a PKI or a ca.pem):
 * keys, CA certificates, an empty CRL and the inventory. Returns the open PKI (child of ctx),
 * or NULL with err set and nothing left behind.
 */
struct pki *pki_init(TALLOC_CTX *ctx, const char *dir, const struct pki_init_opts *o,
		     time_t now, char *err, size_t errlen);

/* pki_open - open the PKI in dir. NULL with err set (no PKI there, corrupted inventory). */
struct pki *pki_open(TALLOC_CTX *ctx, const char *dir, char *err, size_t errlen);

/* pki_path - DIR/rel, child of ctx. */
char *pki_path(TALLOC_CTX *ctx, const struct pki *p, const char *rel);
/* pki_cert_path / pki_key_path - DIR/issued/NAME.pem and .key, children of ctx. */
char *pki_cert_path(TALLOC_CTX *ctx, const struct pki *p, const char *name);
char *pki_key_path(TALLOC_CTX *ctx, const struct pki *p, const char *name);

/* pki_ca_info - what the CA is (reads the CA certificates, not the keys). */
int pki_ca_info(struct pki *p, struct pki_ca_info *info, char *err, size_t errlen);

/*
 * pki_issue - a new key and certificate NAME. The record (child of ctx) describes it; NULL with
 * err set if NAME exists, an argument is invalid or the CA cannot be read.
 */
struct pki_cert *pki_issue(struct pki *p, TALLOC_CTX *ctx, const struct pki_issue_opts *o,
			   time_t now, char *err, size_t errlen);

/*
 * pki_revoke - revoke the certificate named or numbered key and write the new CRL. Fails if it
 * is unknown or already revoked. Returns the updated record (child of ctx) or NULL.
 */
struct pki_cert *pki_revoke(struct pki *p, TALLOC_CTX *ctx, const char *key,
			    enum pki_reason reason, time_t now, char *err, size_t errlen);

/*
 * pki_renew - a new key and certificate for NAME with the same subject, SANs and profile; the
 * previous one stays in the inventory as history (and is revoked if o->revoke_old). Returns the
 * new record (child of ctx) or NULL.
 */
struct pki_cert *pki_renew(struct pki *p, TALLOC_CTX *ctx, const char *key,
			   const struct pki_renew_opts *o, time_t now, char *err, size_t errlen);

/* pki_crl_update - write a fresh CRL (new thisUpdate/nextUpdate and CRL number). */
int pki_crl_update(struct pki *p, time_t now, char *err, size_t errlen);

/*
 * pki_crl_status - the state of DIR/crl.pem at now; *next_update is its nextUpdate (the
 * earliest, when it holds several CRLs).
 */
enum pki_crl_state pki_crl_status(struct pki *p, time_t now, time_t *next_update, char *err,
				  size_t errlen);

/*
 * pki_export_p12 - write a PKCS#12 file at path with the key, the certificate and the CA chain
 * of the current certificate NAME, protected by a new random password copied to password
 * (size at least 30). An existing path is an error unless overwrite. The record (child of
 * ctx) is returned, or NULL with err set.
 */
struct pki_cert *pki_export_p12(struct pki *p, TALLOC_CTX *ctx, const char *key,
				const char *path, bool overwrite, char *password, size_t pwlen,
				time_t now, char *err, size_t errlen);

/* pki_find - see pki_store_find. */
enum pki_found pki_find(struct pki *p, TALLOC_CTX *ctx, const char *key, struct pki_cert **out,
			char *err, size_t errlen);

/* pki_list - see pki_store_list. */
int pki_list(struct pki *p, TALLOC_CTX *ctx, bool all, struct pki_cert ***out, unsigned *n,
	     char *err, size_t errlen);

/* Input checks (also used for messages before anything runs). */
bool pki_name_valid(const char *name);
bool pki_dns_valid(const char *dns);
bool pki_address_valid(const char *addr); /* email or UPN: local@domain */

#endif
