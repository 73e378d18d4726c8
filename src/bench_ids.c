/*
 * bench_ids.c - the identities of `kagi bench` (see bench_ids.h): the identities file, the
 * certificate directory, and one client SSL_CTX per certificate, loaded once before the run so
 * that a conversation only picks a pointer.
 */
#include "bench_ids.h"

#include "tls_conn.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FIELDS 8
#define MAX_IDENTITY 253 /* RFC 2865 §5.1: User-Name carries it */

/* An identity owns its client context and wipes its password when it goes. */
static int
id_destructor(struct bench_id *id)
{
	SSL_CTX_free(id->ssl_ctx);
	if (id->password)
		explicit_bzero((char *)id->password, strlen(id->password));
	return 0;
}

struct bench_ids *
bench_ids_new(TALLOC_CTX *ctx)
{
	return talloc_zero(ctx, struct bench_ids);
}

static void
errf(char *err, size_t errlen, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Write "where: message" (or just the message) into err. */
static void
errf(char *err, size_t errlen, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s%s%s", where ? where : "", where ? ": " : "", msg);
}

/* A key file never prompts: an encrypted key is refused rather than blocking the bench. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* The certificate's CN as UTF-8, child of ctx, or NULL. */
static char *
cert_cn(TALLOC_CTX *ctx, X509 *x)
{
	X509_NAME *sn = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(sn, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	char *s;
	int n;

	if (i < 0)
		return NULL;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(sn, i)));
	if (n <= 0)
		return NULL;
	s = talloc_strndup(ctx, (const char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return s;
}

/* PATH without its directory and its last extension, child of ctx. */
static char *
base_name(TALLOC_CTX *ctx, const char *path)
{
	const char *b = strrchr(path, '/'), *dot;

	b = b ? b + 1 : path;
	dot = strrchr(b, '.');
	return talloc_strndup(ctx, b, dot && dot > b ? (size_t)(dot - b) : strlen(b));
}

/*
 * The key that goes with cert when none was named: NAME.key next to NAME.pem (the layout of
 * `kagi cert` and certs/mkpki.sh), else cert itself (a PEM holding both). Child of ctx.
 */
static char *
implicit_key(TALLOC_CTX *ctx, const char *cert)
{
	const char *dot = strrchr(cert, '.'), *slash = strrchr(cert, '/');
	char *k;

	if (dot && (!slash || dot > slash + 1)) {
		k = talloc_asprintf(ctx, "%.*s.key", (int)(dot - cert), cert);
		if (k && strcmp(k, cert) != 0 && access(k, F_OK) == 0)
			return k;
		talloc_free(k);
	}
	return talloc_strdup(ctx, cert);
}

/*
 * Check that cert and key load and belong together, with a message saying which file is wrong,
 * then make the client context. *cn gets the certificate's CN (child of ctx) if cn is not NULL.
 */
static SSL_CTX *
load_cert(TALLOC_CTX *ctx, const char *cert, const char *key, const struct bench_tls *tls,
	  char **cn, const char *where, char *err, size_t errlen)
{
	bool named = key != NULL;
	EVP_PKEY *pkey = NULL;
	SSL_CTX *sc = NULL;
	X509 *x = NULL;
	FILE *fp;
	char e[256];

	if (!(fp = fopen(cert, "r"))) {
		errf(err, errlen, where, "cannot read certificate %s: %s", cert, strerror(errno));
		goto out;
	}
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (!x) {
		errf(err, errlen, where, "%s: not a PEM certificate", cert);
		goto out;
	}
	if (!key && !(key = implicit_key(ctx, cert))) {
		errf(err, errlen, where, "out of memory");
		goto out;
	}
	if (!(fp = fopen(key, "r"))) {
		errf(err, errlen, where, "cannot read key %s: %s", key, strerror(errno));
		goto out;
	}
	pkey = PEM_read_PrivateKey(fp, NULL, no_passphrase, NULL);
	fclose(fp);
	if (!pkey && !named && strcmp(key, cert) == 0) {
		errf(err, errlen, where,
		     "no private key for %s: name it with key=FILE (or --key), or put NAME.key "
		     "next to NAME.pem",
		     cert);
		goto out;
	}
	if (!pkey) {
		errf(err, errlen, where, "%s: not a PEM private key (an encrypted key is refused)",
		     key);
		goto out;
	}
	if (X509_check_private_key(x, pkey) != 1) {
		errf(err, errlen, where, "key %s does not match certificate %s", key, cert);
		goto out;
	}
	sc = tls_client_ctx_new(tls->ca, cert, key, tls->min_version, tls->max_version, e,
				sizeof(e));
	if (!sc) {
		errf(err, errlen, where, "%s", e);
		goto out;
	}
	if (cn)
		*cn = cert_cn(ctx, x);
out:
	EVP_PKEY_free(pkey);
	X509_free(x);
	ERR_clear_error();
	return sc;
}

struct bench_id *
bench_ids_add(struct bench_ids *ids, const char *name, const char *password, const char *cert,
	      const char *key, const struct bench_tls *tls, const char *where, char *err,
	      size_t errlen)
{
	struct bench_id *id = talloc_zero(ids, struct bench_id);
	struct bench_id **v;
	char *cn = NULL;

	if (!id) {
		errf(err, errlen, where, "out of memory");
		return NULL;
	}
	talloc_set_destructor(id, id_destructor);
	if (cert && !(id->ssl_ctx = load_cert(id, cert, key, tls, name ? NULL : &cn, where, err,
					      errlen)))
		goto fail;
	if (!name)
		name = cn ? cn : cert ? base_name(id, cert) : NULL;
	if (!name || !*name || strlen(name) > MAX_IDENTITY) {
		errf(err, errlen, where, "%s",
		     !name || !*name ? "empty identity" : "identity longer than 253 octets");
		goto fail;
	}
	id->name = talloc_strdup(id, name);
	if (password)
		id->password = talloc_strdup(id, password);
	if (!id->name || (password && !id->password) ||
	    !(v = talloc_realloc(ids, ids->v, struct bench_id *, ids->n + 1))) {
		errf(err, errlen, where, "out of memory");
		goto fail;
	}
	/* Only a complete identity joins the list: on an error nothing is half-added. */
	ids->v = v;
	ids->v[ids->n++] = id;
	return id;
fail:
	talloc_free(id);
	return NULL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Split line in place into at most max fields. Double quotes group blanks (\" and \\ inside);
 * '#' where a field would start ends the line. Returns the count, -1 for an unterminated quote,
 * -2 for too many fields.
 */
static int
split_fields(char *line, char **tok, int max)
{
	char *r = line, *w = line;
	int n = 0;

	for (;;) {
		bool quoted = false;
		char stop;

		while (is_blank(*r))
			r++;
		if (!*r || *r == '#')
			return n;
		if (n == max)
			return -2;
		tok[n++] = w;
		while (*r && (quoted || !is_blank(*r))) {
			if (*r == '"') {
				quoted = !quoted;
				r++;
				continue;
			}
			if (quoted && *r == '\\' && (r[1] == '"' || r[1] == '\\'))
				r++;
			*w++ = *r++;
		}
		if (quoted)
			return -1;
		stop = *r;
		*w++ = '\0'; /* w <= r: the field is already copied */
		if (!stop)
			return n;
		r++;
	}
}

/* A relative path in the identities file is relative to the file's directory. */
static const char *
resolve(TALLOC_CTX *ctx, const char *dir, const char *path)
{
	if (!path || path[0] == '/' || !dir)
		return path;
	return talloc_asprintf(ctx, "%s%s", dir, path);
}

/* One non-empty line of an identities file: tok[0] is the identity, then NAME=VALUE fields. */
static int
parse_line(struct bench_ids *ids, TALLOC_CTX *tmp, const char *where, const char *dir,
	   char **tok, int n, const char *default_password, const struct bench_tls *tls,
	   char *err, size_t errlen)
{
	static const char *const names[] = {"cert", "key", "password"};
	const char *val[3] = {NULL, NULL, NULL};
	const char *cert, *key;
	int i;
	size_t k;

	for (k = 0; k < 3; k++) {
		size_t l = strlen(names[k]);

		if (strncmp(tok[0], names[k], l) == 0 && tok[0][l] == '=') {
			errf(err, errlen, where, "a line starts with the identity, not %s=",
			     names[k]);
			return -1;
		}
	}
	for (i = 1; i < n; i++) {
		const char *eq = strchr(tok[i], '=');

		/* Never echo a field: a password written without "password=" would be shown. */
		if (!eq) {
			errf(err, errlen, where,
			     "field %d is not NAME=VALUE (cert=, key= or password=)", i + 1);
			return -1;
		}
		for (k = 0; k < 3; k++)
			if (strlen(names[k]) == (size_t)(eq - tok[i]) &&
			    strncmp(tok[i], names[k], (size_t)(eq - tok[i])) == 0)
				break;
		if (k == 3) {
			errf(err, errlen, where, "unknown field %.*s= (cert=, key= or password=)",
			     (int)(eq - tok[i] > 20 ? 20 : eq - tok[i]), tok[i]);
			return -1;
		}
		if (val[k]) {
			errf(err, errlen, where, "%s= given twice", names[k]);
			return -1;
		}
		if (!eq[1]) {
			errf(err, errlen, where, "empty %s=", names[k]);
			return -1;
		}
		val[k] = eq + 1;
	}
	if (val[1] && !val[0]) {
		errf(err, errlen, where, "key= without cert=");
		return -1;
	}
	if (!val[0] && !val[2])
		val[2] = default_password;
	if (!val[0] && !val[2]) {
		errf(err, errlen, where,
		     "%s has neither cert= nor password= (and no -P or KAGI_PASSWORD)", tok[0]);
		return -1;
	}
	cert = resolve(tmp, dir, val[0]);
	key = resolve(tmp, dir, val[1]);
	if ((val[0] && !cert) || (val[1] && !key)) {
		errf(err, errlen, where, "out of memory");
		return -1;
	}
	return bench_ids_add(ids, tok[0], val[2], cert, key, tls, where, err, errlen) ? 0 : -1;
}

int
bench_ids_read_file(struct bench_ids *ids, const char *file, const char *default_password,
		    const struct bench_tls *tls, char *err, size_t errlen)
{
	FILE *fp = fopen(file, "r");
	TALLOC_CTX *tmp;
	const char *slash = strrchr(file, '/');
	char *line = NULL, *dir = NULL;
	size_t cap = 0;
	unsigned lineno = 0, before = ids->n;
	int ret = -1;

	if (!fp) {
		errf(err, errlen, NULL, "cannot read %s: %s", file, strerror(errno));
		return -1;
	}
	tmp = talloc_new(NULL);
	if (!tmp || (slash && !(dir = talloc_strndup(tmp, file, (size_t)(slash - file) + 1)))) {
		errf(err, errlen, NULL, "out of memory");
		goto out;
	}
	while (getline(&line, &cap, fp) >= 0) {
		char *tok[MAX_FIELDS], where[300];
		int n = split_fields(line, tok, MAX_FIELDS);

		snprintf(where, sizeof(where), "%s:%u", file, ++lineno);
		if (n == -1 || n == -2) {
			errf(err, errlen, where, "%s",
			     n == -1 ? "unterminated quote" : "too many fields");
			goto out;
		}
		if (n > 0 && parse_line(ids, tmp, where, dir, tok, n, default_password, tls, err,
					errlen) < 0)
			goto out;
	}
	if (ferror(fp)) {
		errf(err, errlen, NULL, "cannot read %s: %s", file, strerror(errno));
		goto out;
	}
	if (ids->n == before) {
		errf(err, errlen, NULL, "%s: no identity in it", file);
		goto out;
	}
	ret = 0;
out:
	if (line) {
		explicit_bzero(line, cap); /* it held passwords */
		free(line);
	}
	fclose(fp);
	talloc_free(tmp);
	return ret;
}

/* Why the certificate in path cannot be a client's, or NULL if it can. */
static const char *
not_client_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	const char *why = NULL;
	X509 *x;

	if (!fp)
		return "unreadable";
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (!x) {
		ERR_clear_error();
		return "not a certificate";
	}
	/* kagid refuses a client certificate without EKU clientAuth; skip CA and server ones. */
	if (X509_check_ca(x))
		why = "a CA";
	else if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE) ||
		 !(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT))
		why = "no EKU clientAuth";
	X509_free(x);
	return why;
}

int
bench_ids_read_dir(struct bench_ids *ids, const char *dir, const struct bench_tls *tls,
		   char *note, size_t notelen, char *err, size_t errlen)
{
	struct dirent **ents = NULL;
	TALLOC_CTX *tmp = talloc_new(NULL);
	char *skipped;
	int n = scandir(dir, &ents, NULL, alphasort), i, ret = -1;
	unsigned added = 0;

	note[0] = '\0';
	if (n < 0) {
		errf(err, errlen, NULL, "cannot read directory %s: %s", dir, strerror(errno));
		talloc_free(tmp);
		return -1;
	}
	skipped = talloc_strdup(tmp, "");
	for (i = 0; i < n; i++) {
		const char *fn = ents[i]->d_name, *why;
		size_t l = strlen(fn);
		char *cert, *key;

		if (fn[0] == '.' || l <= 4 || strcmp(fn + l - 4, ".pem") != 0)
			continue;
		cert = talloc_asprintf(tmp, "%s/%s", dir, fn);
		key = talloc_asprintf(tmp, "%s/%.*s.key", dir, (int)(l - 4), fn);
		if (!cert || !key || !skipped) {
			errf(err, errlen, NULL, "out of memory");
			goto out;
		}
		why = access(key, F_OK) != 0 ? "no key" : not_client_cert(cert);
		if (why) {
			skipped = talloc_asprintf_append(skipped, "%s%s (%s)", *skipped ? ", " : "",
							 fn, why);
			continue;
		}
		if (!bench_ids_add(ids, NULL, NULL, cert, key, tls, NULL, err, errlen))
			goto out;
		added++;
	}
	if (!added) {
		errf(err, errlen, NULL,
		     "%s: no client certificate (NAME.pem with NAME.key and EKU clientAuth)", dir);
		goto out;
	}
	if (skipped && *skipped)
		snprintf(note, notelen, "skipped %s", skipped);
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	talloc_free(tmp);
	return ret;
}
