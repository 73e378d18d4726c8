/*
 * policy.h - who may get in: certificate identity binding and authorization rules from
 * raddb/users. Pure string logic (no OpenSSL), so it is unit-tested on its own.
 *
 * A certificate that passed chain, date, EKU and revocation checks is accepted only if it
 * matches a rule: never "any certificate from the CA". An anonymous outer identity (RFC 7542
 * §2.4, as RFC 9190 §2.1.1 recommends to EAP-TLS 1.3 peers) is bound by the certificate
 * itself: the identity authorized is then the one the certificate names.
 */
#ifndef KAGI_POLICY_H
#define KAGI_POLICY_H

#include <stdbool.h>

struct conf;
struct cert_rule;
struct user_entry;

#define CERT_MAX_SAN 16
#define CERT_NAME_MAX 256

enum san_type {
	SAN_EMAIL,
	SAN_DNS,
	SAN_UPN,
	SAN_URI,
};

/* What the TLS layer learned about the peer's leaf certificate. */
struct cert_facts {
	char subject[CERT_NAME_MAX]; /* RFC 2253 one-line DN */
	char issuer[CERT_NAME_MAX];
	char serial[80]; /* upper-case hex */
	char cn[CERT_NAME_MAX];
	unsigned n_san;
	enum san_type san_type[CERT_MAX_SAN];
	char san[CERT_MAX_SAN][CERT_NAME_MAX];
	bool has_eku;	 /* extendedKeyUsage present */
	bool eku_client; /* ... and it lists clientAuth */
};

/* An NAI has at most 253 octets (RFC 7542 §2.2): longer certificate names name no one. */
#define POLICY_NAI_MAX 253

struct policy_outcome {
	const struct cert_rule *rule;	/* the rule that matched, or NULL for the built-in one */
	const struct user_entry *user;	/* users entry for the identity, if any */
	const char *identity;		/* the identity authorized (NULL if none was bound) */
	const char *reason;		/* why it was rejected (static string) */
};

/*
 * policy_check_cert - apply the certificate rules for an EAP identity. Returns true (accept)
 * or false with out->reason set: "identity mismatch" (for an anonymous identity with a detail
 * in brackets), "no matching certificate rule", "missing clientAuth EKU", "user disabled".
 *
 * out->identity is the identity the rule bound, also when a later check refuses it: the EAP
 * identity itself, or, when that is anonymous (policy_identity_is_anonymous), the certificate's
 * first name under the rule's binding (SAN UPN, email, DNS, then the CN), preferring one in the
 * anonymous identity's realm. If the anonymous identity has a realm and the certificate names
 * only identities of other realms, that is a mismatch (except with binding none). The users
 * entry is looked up under out->identity. It points into f or at identity.
 */
bool policy_check_cert(const struct conf *c, const struct cert_facts *f, const char *identity,
		       bool require_eku, struct policy_outcome *out);

/*
 * policy_check_user - may this inner (password) identity log in? Returns the user entry, or
 * NULL with *reason set: "unknown user", "user disabled".
 */
const struct user_entry *policy_check_user(const struct conf *c, const char *name,
					   const char **reason);

/*
 * policy_check_password - compare a cleartext password with the user's password (or, when only
 * an NT hash is stored, with that). Constant time for equal lengths.
 */
bool policy_check_password(const struct user_entry *u, const char *password);

/*
 * policy_identity_is_anonymous - is identity an anonymous NAI (RFC 7542 §2.4): a user part that
 * is empty or "anonymous" (any case), with or without "@realm"? "anonymous", "@example.org" and
 * "Anonymous@example.org" are; "", "anon@example.org" and "anonymous.user@example.org" are not.
 * Sets *realm (if realm is not NULL) to the realm within identity, or NULL if there is none.
 */
bool policy_identity_is_anonymous(const char *identity, const char **realm);

/* policy_identity_binds - does identity equal a SAN or the CN (per binding mode)? */
bool policy_identity_binds(const struct cert_facts *f, const char *identity, int binding);

#endif
