/*
 * pki_store.h - the inventory of `kagi cert`: every certificate the CA issued, in SQLite.
 *
 * One database file (DIR/inventory.db). Every change runs in a BEGIN IMMEDIATE transaction, and
 * the connection waits (busy_timeout) for another writer instead of failing: two `kagi cert`
 * commands at the same time run one after the other. SQLite's rollback journal makes a commit
 * all-or-nothing across a crash. Opening checks the application id, the schema version and
 * runs PRAGMA quick_check, so a damaged or foreign file is refused with a clear message before
 * anything is written.
 *
 * Certificate names are unique among current certificates (a partial unique index); renewing a
 * certificate keeps the previous one as history (current = 0).
 */
#ifndef KAGI_PKI_STORE_H
#define KAGI_PKI_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <talloc.h>

struct pki_store;

enum pki_kind {
	PKI_KIND_SERVER,
	PKI_KIND_CLIENT,
};

/* RFC 5280 §5.3.1 CRLReason codes (the ones an admin of a Wi-Fi CA uses). */
enum pki_reason {
	PKI_REASON_UNSPECIFIED = 0,
	PKI_REASON_KEY_COMPROMISE = 1,
	PKI_REASON_AFFILIATION_CHANGED = 3,
	PKI_REASON_SUPERSEDED = 4,
	PKI_REASON_CESSATION_OF_OPERATION = 5,
	PKI_REASON_PRIVILEGE_WITHDRAWN = 9,
};

/* One certificate of the inventory. Strings are talloc children of the record. */
struct pki_cert {
	int64_t id;
	char *name; /* CN and file name */
	enum pki_kind kind;
	char *serial; /* upper-case hex */
	char *subject, *issuer; /* RFC 2253 */
	char *sans;		/* "DNS:a, email:b, UPN:c" */
	char *key_type;		/* "ec:P-256", "rsa:3072" */
	time_t not_before, not_after, issued_at;
	bool current; /* the certificate NAME stands for (false: renewed since) */
	bool revoked;
	time_t revoked_at;
	enum pki_reason reason;
	char *pem; /* the certificate */
};

enum pki_store_mode {
	PKI_STORE_OPEN,	  /* an existing inventory */
	PKI_STORE_CREATE, /* a new, empty file (made by the caller with mode 0600) */
};

/* The three outcomes of a lookup. */
enum pki_found {
	PKI_FOUND,
	PKI_NOT_FOUND,
	PKI_FIND_ERROR,
};

/*
 * pki_store_open - open the inventory at path. With PKI_STORE_OPEN the file must exist and
 * pass the checks above. The connection closes when the result (child of ctx) is freed; an
 * open transaction is rolled back then. NULL with err set.
 */
struct pki_store *pki_store_open(TALLOC_CTX *ctx, const char *path, enum pki_store_mode mode,
				 char *err, size_t errlen);

/* pki_store_begin - BEGIN IMMEDIATE: take the write lock now, waiting for another writer. */
int pki_store_begin(struct pki_store *st, char *err, size_t errlen);
int pki_store_commit(struct pki_store *st, char *err, size_t errlen);
/* pki_store_rollback - undo the open transaction, if there is one. */
void pki_store_rollback(struct pki_store *st);

/*
 * pki_store_create_schema - tables and header marks of a new inventory (in a transaction).
 * Fails if the file already holds a kagi inventory (another `init` won the race).
 */
int pki_store_create_schema(struct pki_store *st, char *err, size_t errlen);

/* pki_store_meta_get - a setting (talloc child of ctx), or NULL with err set if absent. */
char *pki_store_meta_get(struct pki_store *st, TALLOC_CTX *ctx, const char *key, char *err,
			 size_t errlen);
int pki_store_meta_set(struct pki_store *st, const char *key, const char *value, char *err,
		       size_t errlen);

/* pki_store_insert - add c (c->id is set). A duplicate current name or serial fails. */
int pki_store_insert(struct pki_store *st, struct pki_cert *c, char *err, size_t errlen);

/*
 * pki_store_find - the current certificate named key, or else the certificate whose serial
 * number is key (hex, any case, optional "0x" and colons). *out is a child of ctx.
 */
enum pki_found pki_store_find(struct pki_store *st, TALLOC_CTX *ctx, const char *key,
			      struct pki_cert **out, char *err, size_t errlen);

/*
 * pki_store_list - certificates ordered by name then issue time: current ones only, or every
 * one (history too) with all. The array and records are children of ctx.
 */
int pki_store_list(struct pki_store *st, TALLOC_CTX *ctx, bool all, struct pki_cert ***out,
		   unsigned *n, char *err, size_t errlen);

/* pki_store_list_revoked - every revoked certificate (for the CRL). */
int pki_store_list_revoked(struct pki_store *st, TALLOC_CTX *ctx, struct pki_cert ***out,
			   unsigned *n, char *err, size_t errlen);

/* pki_store_set_revoked - mark certificate id revoked at when for reason. */
int pki_store_set_revoked(struct pki_store *st, int64_t id, time_t when, enum pki_reason reason,
			  char *err, size_t errlen);

/* pki_store_set_superseded - certificate id is no longer its name's current certificate. */
int pki_store_set_superseded(struct pki_store *st, int64_t id, char *err, size_t errlen);

/* pki_reason_name / pki_reason_parse - RFC 5280 names ("keyCompromise"); parse: -1 if unknown. */
const char *pki_reason_name(enum pki_reason r);
int pki_reason_parse(const char *s, enum pki_reason *r);
/* pki_reason_list - the accepted names, for help texts. */
const char *pki_reason_list(void);

const char *pki_kind_name(enum pki_kind k);

#endif
