/*
 * bench_ids.h - the identities `kagi bench` authenticates as: each with its EAP identity, its own
 * client SSL_CTX when it has a certificate, and/or a password. Read from the command line, from an
 * identities file (--identities) or from a directory of NAME.pem/NAME.key pairs (--cert-dir).
 * Everything is loaded once, before the run. Nothing here logs: errors come back in a buffer.
 */
#ifndef KAGI_BENCH_IDS_H
#define KAGI_BENCH_IDS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <talloc.h>

struct bench_id {
	const char *name;     /* the EAP identity (inner identity for PEAP/TTLS) */
	const char *password; /* for PEAP/TTLS, or NULL */
	SSL_CTX *ssl_ctx;     /* client context with this identity's certificate, or NULL */
	unsigned long ok, failed; /* counted by kagi bench */
};

/* What every client context shares: the CA that must sign the server, the TLS versions. */
struct bench_tls {
	const char *ca;
	int min_version, max_version;
};

/*
 * The identities, in the order they were added. A talloc object: freeing it frees them all, their
 * client contexts with them, and wipes their passwords.
 */
struct bench_ids {
	struct bench_id **v;
	unsigned n;
};

/* bench_ids_new - an empty list, child of ctx. NULL if out of memory. */
struct bench_ids *bench_ids_new(TALLOC_CTX *ctx);

/*
 * bench_ids_add - add one identity to ids. password (may be NULL) is copied and wiped when the
 * list is freed. With cert, the certificate chain and its key are loaded into a new client SSL_CTX
 * (freed with the list); key NULL means NAME.key next to NAME.pem, else a key inside cert. name
 * NULL means the certificate's CN. where ("FILE:LINE", may be NULL) prefixes error messages.
 * Returns the new identity, or NULL with a message in err.
 */
struct bench_id *bench_ids_add(struct bench_ids *ids, const char *name, const char *password,
			       const char *cert, const char *key, const struct bench_tls *tls,
			       const char *where, char *err, size_t errlen);

/*
 * bench_ids_read_file - add the identities of an identities file: one per line,
 *     IDENTITY [cert=PATH [key=PATH]] [password=PW]
 * fields separated by blanks, values may be double-quoted ("a b", \" and \\ inside), '#' at the
 * start of a line or after a blank starts a comment. Relative paths are taken from the file's
 * directory. A line with neither cert= nor password= gets default_password (may be NULL). 0, or
 * -1 with "FILE:LINE: why" in err (nothing is half-added: the caller stops).
 */
int bench_ids_read_file(struct bench_ids *ids, const char *file, const char *default_password,
			const struct bench_tls *tls, char *err, size_t errlen);

/*
 * bench_ids_read_dir - add one identity per DIR/NAME.pem that has a DIR/NAME.key, named by the
 * certificate's CN (NAME if it has none), in file name order. Files that are not a client
 * certificate (a CA, no EKU clientAuth, not a certificate, no key) are skipped and listed in note
 * (may be truncated). 0, or -1 with err (also when no certificate was usable).
 */
int bench_ids_read_dir(struct bench_ids *ids, const char *dir, const struct bench_tls *tls,
		       char *note, size_t notelen, char *err, size_t errlen);

#endif
