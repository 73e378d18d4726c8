/*
 * pki.c - the `kagi cert` certificate authority on a PKI directory (see pki.h).
 *
 * Every change follows the same order: check the arguments, read the CA, make keys (slow, so
 * outside the lock), BEGIN IMMEDIATE, check against the inventory, sign, write the rows, stage
 * the files, rename the files into place, COMMIT. If COMMIT fails, the files are put back; if
 * the process dies between the renames and COMMIT, SQLite's journal undoes the rows and the
 * files left are either unreferenced (a new NAME, replaced by the next issue) or a CRL that
 * revokes a little early: never a certificate in use that the inventory does not know.
 */
#include "pki.h"

#include "pki_files.h"
#include "pki_x509.h"

#include <openssl/err.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY 86400
#define MAX_DAYS 36500

struct pki {
	char *dir;
	struct pki_store *store;
	/* settings, from the inventory */
	char *ca_name;
	char *org; /* "" for none */
	struct pki_keyspec key;
	unsigned cert_days, crl_days;
	bool intermediate;
	/* the CA, read on first use; signer is the issuing CA, or the root without one */
	X509 *root, *signer;
	EVP_PKEY *root_key, *signer_key;
};

static int
pki_free(struct pki *p)
{
	X509_free(p->root);
	X509_free(p->signer);
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->signer_key);
	return 0;
}

static void
fmt_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(buf, len, "?");
}

/* ---- input checks ---- */

bool
pki_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	/* The CN upper bound (RFC 5280 ub-common-name) and a safe file name. */
	if (len == 0 || len > 64 || !isalnum((unsigned char)name[0]))
		return false;
	for (i = 1; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._@+-", name[i]))
			return false;
	return true;
}

bool
pki_dns_valid(const char *dns)
{
	size_t len = strlen(dns), label = 0, i;

	if (len == 0 || len > 253 || dns[0] == '.' || dns[len - 1] == '.')
		return false;
	for (i = 0; i <= len; i++) {
		char c = dns[i];

		if (c == '.' || c == '\0') {
			/* LDH labels of 1..63 (RFC 1035 §2.3.1), not starting or ending with '-'. */
			if (label == 0 || label > 63 || dns[i - 1] == '-' || dns[i - label] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)c) || c == '-') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

bool
pki_address_valid(const char *addr)
{
	const char *at = strchr(addr, '@'), *p;

	if (!at || at == addr || strchr(at + 1, '@') || strlen(addr) > 254)
		return false;
	for (p = addr; p < at; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".!#$%&'*+/=?^_`{|}~-", *p))
			return false;
	return pki_dns_valid(at + 1);
}

static int
check_days(unsigned days, const char *what, char *err, size_t errlen)
{
	if (days == 0 || days > MAX_DAYS) {
		snprintf(err, errlen, "%s must be between 1 and %d days", what, MAX_DAYS);
		return -1;
	}
	return 0;
}

static bool
text_ok(const char *s, size_t max)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > max)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* ---- paths ---- */

char *
pki_path(TALLOC_CTX *ctx, const struct pki *p, const char *rel)
{
	return talloc_asprintf(ctx, "%s/%s", p->dir, rel);
}

char *
pki_cert_path(TALLOC_CTX *ctx, const struct pki *p, const char *name)
{
	return talloc_asprintf(ctx, "%s/issued/%s.pem", p->dir, name);
}

char *
pki_key_path(TALLOC_CTX *ctx, const struct pki *p, const char *name)
{
	return talloc_asprintf(ctx, "%s/issued/%s.key", p->dir, name);
}

/* ---- the CA ---- */

static int
ca_load_certs(struct pki *p, char *err, size_t errlen)
{
	char e[512];
	char *path;

	if (p->root)
		return 0;
	path = pki_path(p, p, "ca/root.pem");
	p->root = path ? pki_x509_read_cert(path, NULL, e, sizeof(e)) : NULL;
	talloc_free(path);
	if (!p->root)
		goto fail;
	if (p->intermediate) {
		path = pki_path(p, p, "ca/issuing.pem");
		p->signer = path ? pki_x509_read_cert(path, NULL, e, sizeof(e)) : NULL;
		talloc_free(path);
		if (!p->signer)
			goto fail;
	} else {
		X509_up_ref(p->root);
		p->signer = p->root;
	}
	return 0;
fail:
	X509_free(p->root);
	p->root = NULL;
	snprintf(err, errlen, "the CA of %s is missing or damaged: %s", p->dir, e);
	return -1;
}

static EVP_PKEY *
ca_read_key(struct pki *p, const char *rel, X509 *cert, char *err, size_t errlen)
{
	char e[512];
	char *path = pki_path(p, p, rel);
	EVP_PKEY *k = path ? pki_x509_read_key(path, e, sizeof(e)) : NULL;

	if (!k) {
		snprintf(err, errlen, "the CA of %s is missing or damaged: %s", p->dir, e);
	} else if (X509_check_private_key(cert, k) != 1) {
		snprintf(err, errlen, "the CA key %s does not belong to the CA certificate", path);
		EVP_PKEY_free(k);
		k = NULL;
	}
	ERR_clear_error();
	talloc_free(path);
	return k;
}

/* ca_load - the CA certificates and the signing key (and the root key: need_root). */
static int
ca_load(struct pki *p, bool need_root, char *err, size_t errlen)
{
	if (ca_load_certs(p, err, errlen) < 0)
		return -1;
	if (!p->signer_key) {
		p->signer_key = ca_read_key(p, p->intermediate ? "ca/issuing.key" : "ca/root.key",
					    p->signer, err, errlen);
		if (!p->signer_key)
			return -1;
	}
	if (need_root && !p->root_key) {
		if (!p->intermediate) {
			EVP_PKEY_up_ref(p->signer_key);
			p->root_key = p->signer_key;
		} else if (!(p->root_key = ca_read_key(p, "ca/root.key", p->root, err, errlen))) {
			return -1;
		}
	}
	return 0;
}

/* The PEM that follows a leaf in DIR/issued/NAME.pem: the issuing CA, if there is one. */
static char *
chain_pem(TALLOC_CTX *ctx, struct pki *p)
{
	return p->intermediate ? pki_x509_cert_pem(ctx, p->signer) : talloc_strdup(ctx, "");
}

int
pki_ca_info(struct pki *p, struct pki_ca_info *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof(*info));
	if (ca_load_certs(p, err, errlen) < 0)
		return -1;
	pki_x509_dn(X509_get_subject_name(p->root), info->root_subject,
		    sizeof(info->root_subject));
	pki_x509_key_desc(p->root, info->root_key, sizeof(info->root_key));
	info->root_not_after = pki_x509_time(X509_get0_notAfter(p->root));
	if (p->intermediate) {
		pki_x509_dn(X509_get_subject_name(p->signer), info->issuing_subject,
			    sizeof(info->issuing_subject));
		pki_x509_key_desc(p->signer, info->issuing_key, sizeof(info->issuing_key));
		info->issuing_not_after = pki_x509_time(X509_get0_notAfter(p->signer));
	}
	info->cert_days = p->cert_days;
	info->crl_days = p->crl_days;
	pki_x509_keyspec_str(&p->key, info->default_key, sizeof(info->default_key));
	return 0;
}

/* ---- records ---- */

static struct pki_cert *
record_new(TALLOC_CTX *ctx, X509 *x, const char *name, enum pki_kind kind, time_t now)
{
	struct pki_cert *c = talloc_zero(ctx, struct pki_cert);
	char buf[2048];

	if (!c)
		return NULL;
	c->name = talloc_strdup(c, name);
	c->kind = kind;
	pki_x509_serial_hex(x, buf, sizeof(buf));
	c->serial = talloc_strdup(c, buf);
	pki_x509_dn(X509_get_subject_name(x), buf, sizeof(buf));
	c->subject = talloc_strdup(c, buf);
	pki_x509_dn(X509_get_issuer_name(x), buf, sizeof(buf));
	c->issuer = talloc_strdup(c, buf);
	pki_x509_san_str(x, buf, sizeof(buf));
	c->sans = talloc_strdup(c, buf);
	pki_x509_key_desc(x, buf, sizeof(buf));
	c->key_type = talloc_strdup(c, buf);
	c->not_before = pki_x509_time(X509_get0_notBefore(x));
	c->not_after = pki_x509_time(X509_get0_notAfter(x));
	c->issued_at = now;
	c->current = true;
	c->pem = pki_x509_cert_pem(c, x);
	if (!c->name || !c->serial || !c->subject || !c->issuer || !c->sans || !c->key_type ||
	    !c->pem) {
		talloc_free(c);
		return NULL;
	}
	return c;
}

/* ---- CRL ---- */

/* The text of DIR/crl.pem: the signing CA's CRL, then (with an issuing CA) the root's. */
static char *
crl_make(struct pki *p, TALLOC_CTX *ctx, time_t now, char *err, size_t errlen)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct pki_cert **revoked;
	struct pki_revoked *list;
	unsigned n, i;
	char *s, *pem = NULL, num[32];
	long number;
	X509_CRL *crl = NULL;
	time_t next = now + (time_t)p->crl_days * DAY;

	if (!tmp)
		goto fail;
	s = pki_store_meta_get(p->store, tmp, "crl_number", err, errlen);
	if (!s)
		goto fail;
	/* RFC 5280 §5.2.3: monotonically increasing for each CRL of an issuer. */
	number = strtol(s, NULL, 10) + 1;
	snprintf(num, sizeof(num), "%ld", number);
	if (pki_store_meta_set(p->store, "crl_number", num, err, errlen) < 0 ||
	    pki_store_list_revoked(p->store, tmp, &revoked, &n, err, errlen) < 0)
		goto fail;
	list = talloc_zero_array(tmp, struct pki_revoked, n ? n : 1);
	if (!list)
		goto fail;
	for (i = 0; i < n; i++) {
		list[i].serial = revoked[i]->serial;
		list[i].when = revoked[i]->revoked_at;
		list[i].reason = (int)revoked[i]->reason;
	}
	crl = pki_x509_crl(p->signer, p->signer_key, list, n, number, now, next, err, errlen);
	if (!crl || !(pem = pki_x509_crl_pem(tmp, crl)))
		goto fail;
	if (p->intermediate) {
		/* The root has signed one CA certificate only, which is not revoked. */
		char *root_pem;

		X509_CRL_free(crl);
		crl = pki_x509_crl(p->root, p->root_key, NULL, 0, number, now, next, err, errlen);
		if (!crl || !(root_pem = pki_x509_crl_pem(tmp, crl)) ||
		    !(pem = talloc_strdup_append(pem, root_pem)))
			goto fail;
	}
	X509_CRL_free(crl);
	pem = talloc_steal(ctx, pem);
	talloc_free(tmp);
	return pem;
fail:
	if (!err[0])
		snprintf(err, errlen, "out of memory");
	X509_CRL_free(crl);
	talloc_free(tmp);
	return NULL;
}

enum pki_crl_state
pki_crl_status(struct pki *p, time_t now, time_t *next_update, char *err, size_t errlen)
{
	char *path = pki_path(NULL, p, PKI_CRL_FILE);
	time_t this_update, life, margin;
	int n;

	*next_update = 0;
	if (!path) {
		snprintf(err, errlen, "out of memory");
		return PKI_CRL_BAD;
	}
	n = pki_x509_read_crls(path, &this_update, next_update, err, errlen);
	talloc_free(path);
	if (n < 0)
		return PKI_CRL_BAD;
	if (*next_update <= now)
		return PKI_CRL_EXPIRED;
	/* Due when less than a third of its life, or a week, is left. */
	life = *next_update - this_update;
	margin = life / 3 < 7 * DAY ? life / 3 : 7 * DAY;
	return *next_update - now < margin ? PKI_CRL_DUE : PKI_CRL_OK;
}

/* ---- committing a change ---- */

/* Files into place, then the inventory; if the inventory cannot commit, the files go back. */
static int
commit_all(struct pki *p, struct pki_files *fs, char *err, size_t errlen)
{
	if (pki_files_commit(fs, err, errlen) < 0) {
		pki_store_rollback(p->store);
		return -1;
	}
	if (pki_store_commit(p->store, err, errlen) < 0) {
		pki_files_rollback(fs);
		return -1;
	}
	pki_files_done(fs);
	return 0;
}

static int
stage_str(struct pki_files *fs, const char *path, const char *s, mode_t mode,
	  enum pki_files_flags flags, char *err, size_t errlen)
{
	if (!path || !s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return pki_files_add(fs, path, s, strlen(s), mode, flags, err, errlen);
}

/* ---- open ---- */

static int
meta_uint(struct pki *p, const char *key, unsigned *v, char *err, size_t errlen)
{
	char *s = pki_store_meta_get(p->store, p, key, err, errlen);
	char *end;
	unsigned long n;

	if (!s)
		return -1;
	n = strtoul(s, &end, 10);
	if (*end || n == 0 || n > MAX_DAYS) {
		snprintf(err, errlen, "inventory %s/%s: bad setting %s = \"%s\"", p->dir,
			 PKI_INVENTORY, key, s);
		return -1;
	}
	*v = (unsigned)n;
	return 0;
}

static int
load_settings(struct pki *p, char *err, size_t errlen)
{
	char *key, *inter;

	if (!(p->ca_name = pki_store_meta_get(p->store, p, "ca_name", err, errlen)) ||
	    !(p->org = pki_store_meta_get(p->store, p, "org", err, errlen)) ||
	    !(key = pki_store_meta_get(p->store, p, "key", err, errlen)) ||
	    !(inter = pki_store_meta_get(p->store, p, "intermediate", err, errlen)))
		return -1;
	if (pki_x509_keyspec_parse(key, &p->key, err, errlen) < 0 ||
	    meta_uint(p, "cert_days", &p->cert_days, err, errlen) < 0 ||
	    meta_uint(p, "crl_days", &p->crl_days, err, errlen) < 0)
		return -1;
	p->intermediate = strcmp(inter, "yes") == 0;
	return 0;
}

struct pki *
pki_open(TALLOC_CTX *ctx, const char *dir, char *err, size_t errlen)
{
	struct pki *p = talloc_zero(ctx, struct pki);
	char *db;
	struct stat st;

	if (!p || !(p->dir = talloc_strdup(p, dir)) || !(db = pki_path(p, p, PKI_INVENTORY))) {
		snprintf(err, errlen, "out of memory");
		talloc_free(p);
		return NULL;
	}
	talloc_set_destructor(p, pki_free);
	if (stat(db, &st) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen,
				 "no PKI in %s (%s not found); create one with `kagi cert init "
				 "--dir %s`",
				 dir, db, dir);
		else
			snprintf(err, errlen, "%s: %s", db, strerror(errno));
		talloc_free(p);
		return NULL;
	}
	p->store = pki_store_open(p, db, PKI_STORE_OPEN, err, errlen);
	if (!p->store || load_settings(p, err, errlen) < 0) {
		talloc_free(p);
		return NULL;
	}
	return p;
}

/* ---- init ---- */

struct init_state {
	char *db, *cadir, *issued;
	bool made_dir, made_ca, made_issued, made_db;
};

static void
init_undo(const char *dir, const struct init_state *s)
{
	char journal[4096];

	if (s->made_db) {
		unlink(s->db);
		snprintf(journal, sizeof(journal), "%s-journal", s->db);
		unlink(journal);
	}
	if (s->made_issued)
		rmdir(s->issued);
	if (s->made_ca)
		rmdir(s->cadir);
	if (s->made_dir)
		rmdir(dir);
}

static int
init_check(const char *dir, const struct init_state *s, char *err, size_t errlen)
{
	static const char *const taken[] = {PKI_CA_FILE, PKI_CRL_FILE, "ca", "issued"};
	struct stat st;
	size_t i;

	if (stat(s->db, &st) == 0) {
		snprintf(err, errlen, "%s already holds a PKI (%s); nothing changed", dir, s->db);
		return -1;
	}
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, taken[i]);
		if (lstat(path, &st) == 0) {
			snprintf(err, errlen,
				 "%s exists but %s has no inventory: not a `kagi cert` PKI "
				 "directory; choose another --dir (nothing changed)",
				 path, dir);
			return -1;
		}
	}
	return 0;
}

static int
init_settings(struct pki *p, const struct pki_init_opts *o, unsigned cert_days,
	      unsigned crl_days, char *err, size_t errlen)
{
	char key[32], num[32];

	pki_x509_keyspec_str(&p->key, key, sizeof(key));
	if (pki_store_meta_set(p->store, "ca_name", p->ca_name, err, errlen) < 0 ||
	    pki_store_meta_set(p->store, "org", p->org, err, errlen) < 0 ||
	    pki_store_meta_set(p->store, "key", key, err, errlen) < 0 ||
	    pki_store_meta_set(p->store, "intermediate", o->intermediate ? "yes" : "no", err,
			       errlen) < 0 ||
	    pki_store_meta_set(p->store, "crl_number", "0", err, errlen) < 0)
		return -1;
	snprintf(num, sizeof(num), "%u", cert_days);
	if (pki_store_meta_set(p->store, "cert_days", num, err, errlen) < 0)
		return -1;
	snprintf(num, sizeof(num), "%u", crl_days);
	return pki_store_meta_set(p->store, "crl_days", num, err, errlen);
}

struct pki *
pki_init(TALLOC_CTX *ctx, const char *dir, const struct pki_init_opts *o, time_t now,
	 char *err, size_t errlen)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct init_state s = {0};
	struct pki *p = NULL;
	struct pki_files *fs;
	const char *ca_name = o->ca_name ? o->ca_name : PKI_DEFAULT_CA_NAME;
	unsigned ca_days = o->ca_days ? o->ca_days : PKI_DEFAULT_CA_DAYS;
	unsigned issuing_days = o->issuing_days ? o->issuing_days : PKI_DEFAULT_ISSUING_DAYS;
	unsigned cert_days = o->cert_days ? o->cert_days : PKI_DEFAULT_CERT_DAYS;
	unsigned crl_days = o->crl_days ? o->crl_days : PKI_DEFAULT_CRL_DAYS;
	struct pki_keyspec ks;
	X509_NAME *name = NULL;
	struct pki_cert_req req;
	char *crl, *bundle, issuing_cn[128];
	int fd;

	err[0] = '\0';
	if (!tmp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!text_ok(ca_name, 64 - 11) || (o->org && *o->org && !text_ok(o->org, 64))) {
		snprintf(err, errlen, "CA and organisation names: 1 to 53 and 64 printable "
				      "characters");
		goto fail;
	}
	if (pki_x509_keyspec_parse(o->key ? o->key : PKI_DEFAULT_KEY, &ks, err, errlen) < 0 ||
	    check_days(ca_days, "the CA lifetime", err, errlen) < 0 ||
	    check_days(issuing_days, "the issuing CA lifetime", err, errlen) < 0 ||
	    check_days(cert_days, "the certificate lifetime", err, errlen) < 0 ||
	    check_days(crl_days, "the CRL lifetime", err, errlen) < 0)
		goto fail;
	if (o->intermediate && issuing_days > ca_days) {
		snprintf(err, errlen, "the issuing CA cannot outlive the root (%u > %u days)",
			 issuing_days, ca_days);
		goto fail;
	}

	s.db = talloc_asprintf(tmp, "%s/%s", dir, PKI_INVENTORY);
	s.cadir = talloc_asprintf(tmp, "%s/ca", dir);
	s.issued = talloc_asprintf(tmp, "%s/issued", dir);
	p = talloc_zero(ctx, struct pki);
	if (!s.db || !s.cadir || !s.issued || !p || !(p->dir = talloc_strdup(p, dir)) ||
	    !(p->ca_name = talloc_strdup(p, ca_name)) ||
	    !(p->org = talloc_strdup(p, o->org ? o->org : ""))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	talloc_set_destructor(p, pki_free);
	p->key = ks;
	p->cert_days = cert_days;
	p->crl_days = crl_days;
	p->intermediate = o->intermediate;
	if (init_check(dir, &s, err, errlen) < 0)
		goto fail;

	/* Keys first: the slow part, and nothing on disk yet. */
	p->root_key = pki_x509_keygen(&ks, err, errlen);
	if (!p->root_key)
		goto fail;
	if (o->intermediate) {
		p->signer_key = pki_x509_keygen(&ks, err, errlen);
		if (!p->signer_key)
			goto fail;
	} else {
		EVP_PKEY_up_ref(p->root_key);
		p->signer_key = p->root_key;
	}

	if (pki_files_mkdirs(dir, 0755, &s.made_dir, err, errlen) < 0)
		goto fail;
	if (mkdir(s.cadir, 0700) < 0 || (s.made_ca = true, mkdir(s.issued, 0755) < 0)) {
		snprintf(err, errlen, "cannot create directories in %s: %s", dir, strerror(errno));
		goto fail;
	}
	s.made_issued = true;
	/* The inventory file: O_EXCL (a concurrent init loses here), mode 0600 from the start. */
	fd = open(s.db, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", s.db, strerror(errno));
		goto fail;
	}
	close(fd);
	s.made_db = true;
	p->store = pki_store_open(p, s.db, PKI_STORE_CREATE, err, errlen);
	if (!p->store || pki_store_begin(p->store, err, errlen) < 0 ||
	    pki_store_create_schema(p->store, err, errlen) < 0 ||
	    init_settings(p, o, cert_days, crl_days, err, errlen) < 0)
		goto fail;

	/* Root CA. */
	name = pki_x509_name(ca_name, p->org, err, errlen);
	if (!name)
		goto fail;
	memset(&req, 0, sizeof(req));
	req.profile = PKI_PROFILE_ROOT;
	req.subject = name;
	req.not_before = now - PKI_BACKDATE;
	req.not_after = now + (time_t)ca_days * DAY;
	req.root_has_issuing = o->intermediate;
	p->root = pki_x509_issue(&req, p->root_key, NULL, NULL, err, errlen);
	X509_NAME_free(name);
	name = NULL;
	if (!p->root)
		goto fail;
	/* Issuing CA. */
	if (o->intermediate) {
		snprintf(issuing_cn, sizeof(issuing_cn), "%s Issuing CA", ca_name);
		name = pki_x509_name(issuing_cn, p->org, err, errlen);
		if (!name)
			goto fail;
		req.profile = PKI_PROFILE_ISSUING;
		req.subject = name;
		req.not_after = now + (time_t)issuing_days * DAY;
		p->signer = pki_x509_issue(&req, p->signer_key, p->root, p->root_key, err, errlen);
		X509_NAME_free(name);
		name = NULL;
		if (!p->signer)
			goto fail;
	} else {
		X509_up_ref(p->root);
		p->signer = p->root;
	}

	crl = crl_make(p, tmp, now, err, errlen);
	if (!crl)
		goto fail;
	bundle = pki_x509_cert_pem(tmp, p->root);
	if (bundle && o->intermediate)
		bundle = talloc_strdup_append(bundle, pki_x509_cert_pem(tmp, p->signer));
	fs = pki_files_new(tmp);
	if (!fs)
		goto fail;
	/* Nothing may exist yet: NO_REPLACE everywhere; ca.pem last, as "the PKI is there". */
	if (stage_str(fs, pki_path(tmp, p, "ca/root.key"), pki_x509_key_pem(tmp, p->root_key),
		      0600, PKI_FILES_NO_REPLACE, err, errlen) < 0 ||
	    stage_str(fs, pki_path(tmp, p, "ca/root.pem"), pki_x509_cert_pem(tmp, p->root), 0644,
		      PKI_FILES_NO_REPLACE, err, errlen) < 0)
		goto fail;
	if (o->intermediate &&
	    (stage_str(fs, pki_path(tmp, p, "ca/issuing.key"),
		       pki_x509_key_pem(tmp, p->signer_key), 0600, PKI_FILES_NO_REPLACE, err,
		       errlen) < 0 ||
	     stage_str(fs, pki_path(tmp, p, "ca/issuing.pem"), pki_x509_cert_pem(tmp, p->signer),
		       0644, PKI_FILES_NO_REPLACE, err, errlen) < 0))
		goto fail;
	if (stage_str(fs, pki_path(tmp, p, PKI_CRL_FILE), crl, 0644, PKI_FILES_NO_REPLACE, err,
		      errlen) < 0 ||
	    stage_str(fs, pki_path(tmp, p, PKI_CA_FILE), bundle, 0644, PKI_FILES_NO_REPLACE, err,
		      errlen) < 0)
		goto fail;
	if (commit_all(p, fs, err, errlen) < 0)
		goto fail;
	talloc_free(tmp);
	return p;
fail:
	if (!err[0])
		snprintf(err, errlen, "out of memory");
	X509_NAME_free(name);
	/* Files first (tmp owns the file set), then the inventory, then the directories. */
	talloc_free(tmp);
	talloc_free(p);
	init_undo(dir, &s);
	return NULL;
}

/* ---- issue ---- */

/* Append the strings of add[0..n) to a talloc array of const char *. */
static const char **
strv_add(const char **v, unsigned *count, const char *const *add, unsigned n)
{
	const char **nv = talloc_realloc(NULL, v, const char *, *count + n + 1);
	unsigned i;

	if (!nv)
		return NULL;
	for (i = 0; i < n; i++)
		nv[(*count)++] = add[i];
	return nv;
}

static int
check_names(const struct pki_issue_opts *o, char *err, size_t errlen)
{
	unsigned i;

	if (!pki_name_valid(o->name)) {
		snprintf(err, errlen,
			 "bad certificate name \"%s\": 1 to 64 letters, digits and . _ @ + -, "
			 "starting with a letter or digit",
			 o->name);
		return -1;
	}
	for (i = 0; i < o->n_dns; i++) {
		if (!pki_dns_valid(o->dns[i])) {
			snprintf(err, errlen, "bad DNS name \"%s\"", o->dns[i]);
			return -1;
		}
	}
	for (i = 0; i < o->n_email; i++) {
		if (!pki_address_valid(o->email[i])) {
			snprintf(err, errlen, "bad email address \"%s\"", o->email[i]);
			return -1;
		}
	}
	for (i = 0; i < o->n_upn; i++) {
		if (!pki_address_valid(o->upn[i])) {
			snprintf(err, errlen, "bad UPN \"%s\" (user@domain)", o->upn[i]);
			return -1;
		}
	}
	if (o->device && !pki_dns_valid(o->name)) {
		snprintf(err, errlen, "--device: the name \"%s\" must be a DNS name", o->name);
		return -1;
	}
	if (o->kind == PKI_KIND_SERVER && o->n_dns == 0) {
		snprintf(err, errlen,
			 "a server certificate needs at least one --dns name (supplicants check "
			 "the server name against it)");
		return -1;
	}
	if (o->kind == PKI_KIND_SERVER && (o->n_email || o->n_upn || o->device)) {
		snprintf(err, errlen, "--email, --upn and --device are for client certificates");
		return -1;
	}
	return 0;
}

static time_t
not_after_for(struct pki *p, time_t now, unsigned days)
{
	time_t want = now + (time_t)days * DAY;
	time_t ca = pki_x509_time(X509_get0_notAfter(p->signer));

	/* A certificate cannot usefully outlive its issuer (RFC 5280 §6.1.3: checked per link). */
	return ca > 0 && ca < want ? ca : want;
}

/* Sign, insert, stage the files and commit; the lock is held. Returns the new record. */
static struct pki_cert *
sign_and_store(struct pki *p, TALLOC_CTX *ctx, enum pki_kind kind, const char *cname,
	       const X509_NAME *subject, const GENERAL_NAMES *san, EVP_PKEY *key, unsigned days,
	       time_t now, struct pki_files *fs, char *err, size_t errlen)
{
	struct pki_cert_req req;
	struct pki_cert *rec;
	X509 *x;
	char *leaf;

	memset(&req, 0, sizeof(req));
	req.profile = kind == PKI_KIND_SERVER ? PKI_PROFILE_SERVER : PKI_PROFILE_CLIENT;
	req.subject = subject;
	req.san = san;
	req.not_before = now - PKI_BACKDATE;
	req.not_after = not_after_for(p, now, days);
	x = pki_x509_issue(&req, key, p->signer, p->signer_key, err, errlen);
	if (!x)
		return NULL;
	rec = record_new(ctx, x, cname, kind, now);
	X509_free(x);
	if (!rec) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (pki_store_insert(p->store, rec, err, errlen) < 0)
		return NULL;
	leaf = talloc_asprintf(rec, "%s%s", rec->pem, chain_pem(rec, p));
	if (stage_str(fs, pki_cert_path(rec, p, cname), leaf, 0644, PKI_FILES_REPLACE, err,
		      errlen) < 0 ||
	    stage_str(fs, pki_key_path(rec, p, cname), pki_x509_key_pem(rec, key), 0600,
		      PKI_FILES_REPLACE, err, errlen) < 0)
		return NULL;
	return rec;
}

static void
describe(const struct pki_cert *c, time_t now, char *buf, size_t len)
{
	char date[64];

	if (c->revoked) {
		fmt_date(c->revoked_at, date, sizeof(date));
		snprintf(buf, len, "serial %s, revoked on %s (%s)", c->serial, date,
			 pki_reason_name(c->reason));
	} else {
		fmt_date(c->not_after, date, sizeof(date));
		snprintf(buf, len, "serial %s, %s %s", c->serial,
			 c->not_after < now ? "expired on" : "valid until", date);
	}
}

struct pki_cert *
pki_issue(struct pki *p, TALLOC_CTX *ctx, const struct pki_issue_opts *o, time_t now,
	  char *err, size_t errlen)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct pki_keyspec ks = p->key;
	unsigned days = o->days ? o->days : p->cert_days;
	const char **dns = NULL, **email = NULL;
	unsigned n_dns = 0, n_email = 0;
	GENERAL_NAMES *san = NULL;
	X509_NAME *subject = NULL;
	EVP_PKEY *key = NULL;
	struct pki_cert *rec = NULL, *old;
	struct pki_files *fs;
	char why[256];

	err[0] = '\0';
	if (!tmp)
		goto fail;
	if (check_names(o, err, errlen) < 0 ||
	    (o->key && pki_x509_keyspec_parse(o->key, &ks, err, errlen) < 0) ||
	    check_days(days, "the certificate lifetime", err, errlen) < 0)
		goto fail;
	/* The SANs: what the options say, and NAME itself where it is an identity. */
	dns = strv_add(NULL, &n_dns, o->dns, o->n_dns);
	if (dns && o->device)
		dns = strv_add(dns, &n_dns, &o->name, 1);
	email = strv_add(NULL, &n_email, o->email, o->n_email);
	if (email && o->kind == PKI_KIND_CLIENT && o->n_email == 0 && pki_address_valid(o->name))
		email = strv_add(email, &n_email, &o->name, 1);
	if (!dns || !email)
		goto fail;
	san = pki_x509_san_new(dns, n_dns, email, n_email, o->upn, o->n_upn, err, errlen);
	if (!san || !(subject = pki_x509_name(o->name, p->org, err, errlen)) ||
	    ca_load(p, false, err, errlen) < 0 || !(key = pki_x509_keygen(&ks, err, errlen)))
		goto fail;

	if (pki_store_begin(p->store, err, errlen) < 0)
		goto fail;
	switch (pki_store_find(p->store, tmp, o->name, &old, err, errlen)) {
	case PKI_FOUND:
		if (strcasecmp(old->name, o->name) != 0)
			break; /* o->name happens to be the serial number of another certificate */
		describe(old, now, why, sizeof(why));
		snprintf(err, errlen,
			 "a certificate named \"%s\" already exists (%s); nothing changed. "
			 "`kagi cert renew %s` makes a new one for it",
			 old->name, why, old->name);
		goto fail_tx;
	case PKI_NOT_FOUND:
		break;
	case PKI_FIND_ERROR:
		goto fail_tx;
	}
	fs = pki_files_new(tmp);
	if (!fs)
		goto fail_tx;
	rec = sign_and_store(p, tmp, o->kind, o->name, subject, san, key, days, now, fs, err,
			     errlen);
	if (!rec || commit_all(p, fs, err, errlen) < 0)
		goto fail_tx;
	rec = talloc_steal(ctx, rec);
	goto out;
fail_tx:
	pki_store_rollback(p->store);
fail:
	if (!err[0])
		snprintf(err, errlen, "out of memory");
	rec = NULL;
out:
	talloc_free(dns);
	talloc_free(email);
	GENERAL_NAMES_free(san);
	X509_NAME_free(subject);
	EVP_PKEY_free(key);
	talloc_free(tmp);
	return rec;
}

/* ---- revoke ---- */

static const char *
not_found(const char *key, char *err, size_t errlen)
{
	snprintf(err, errlen, "no certificate named \"%s\" or with that serial number", key);
	return err;
}

struct pki_cert *
pki_revoke(struct pki *p, TALLOC_CTX *ctx, const char *key, enum pki_reason reason,
	   time_t now, char *err, size_t errlen)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct pki_cert *c = NULL;
	struct pki_files *fs;
	char *crl, why[256];

	err[0] = '\0';
	if (!tmp)
		goto fail;
	if (ca_load(p, true, err, errlen) < 0 || pki_store_begin(p->store, err, errlen) < 0)
		goto fail;
	switch (pki_store_find(p->store, tmp, key, &c, err, errlen)) {
	case PKI_FOUND:
		break;
	case PKI_NOT_FOUND:
		not_found(key, err, errlen);
		goto fail_tx;
	case PKI_FIND_ERROR:
		goto fail_tx;
	}
	if (c->revoked) {
		describe(c, now, why, sizeof(why));
		snprintf(err, errlen, "\"%s\" is already revoked (%s); nothing changed", c->name,
			 why);
		goto fail_tx;
	}
	if (pki_store_set_revoked(p->store, c->id, now, reason, err, errlen) < 0)
		goto fail_tx;
	c->revoked = true;
	c->revoked_at = now;
	c->reason = reason;
	crl = crl_make(p, tmp, now, err, errlen);
	fs = crl ? pki_files_new(tmp) : NULL;
	if (!fs ||
	    stage_str(fs, pki_path(tmp, p, PKI_CRL_FILE), crl, 0644, PKI_FILES_REPLACE, err,
		      errlen) < 0 ||
	    commit_all(p, fs, err, errlen) < 0)
		goto fail_tx;
	c = talloc_steal(ctx, c);
	talloc_free(tmp);
	return c;
fail_tx:
	pki_store_rollback(p->store);
fail:
	if (!err[0])
		snprintf(err, errlen, "out of memory");
	talloc_free(tmp);
	return NULL;
}

int
pki_crl_update(struct pki *p, time_t now, char *err, size_t errlen)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct pki_files *fs;
	char *crl;

	err[0] = '\0';
	if (!tmp)
		goto fail;
	if (ca_load(p, true, err, errlen) < 0 || pki_store_begin(p->store, err, errlen) < 0)
		goto fail;
	crl = crl_make(p, tmp, now, err, errlen);
	fs = crl ? pki_files_new(tmp) : NULL;
	if (!fs ||
	    stage_str(fs, pki_path(tmp, p, PKI_CRL_FILE), crl, 0644, PKI_FILES_REPLACE, err,
		      errlen) < 0 ||
	    commit_all(p, fs, err, errlen) < 0) {
		pki_store_rollback(p->store);
		goto fail;
	}
	talloc_free(tmp);
	return 0;
fail:
	if (!err[0])
		snprintf(err, errlen, "out of memory");
	talloc_free(tmp);
	return -1;
}

/* ---- renew ---- */

struct pki_cert *
pki_renew(struct pki *p, TALLOC_CTX *ctx, const char *key, const struct pki_renew_opts *o,
	  time_t now, char *err, size_t errlen)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct pki_cert *old = NULL, *rec = NULL;
	struct pki_keyspec ks;
	unsigned days = o->days ? o->days : p->cert_days;
	X509 *ox = NULL;
	GENERAL_NAMES *san = NULL;
	EVP_PKEY *nk = NULL;
	struct pki_files *fs;
	char *crl;

	err[0] = '\0';
	if (!tmp)
		goto fail;
	if ((o->key && pki_x509_keyspec_parse(o->key, &ks, err, errlen) < 0) ||
	    check_days(days, "the certificate lifetime", err, errlen) < 0 ||
	    ca_load(p, o->revoke_old, err, errlen) < 0 ||
	    pki_store_begin(p->store, err, errlen) < 0)
		goto fail;
	switch (pki_store_find(p->store, tmp, key, &old, err, errlen)) {
	case PKI_FOUND:
		break;
	case PKI_NOT_FOUND:
		not_found(key, err, errlen);
		goto fail_tx;
	case PKI_FIND_ERROR:
		goto fail_tx;
	}
	if (!old->current) {
		snprintf(err, errlen,
			 "serial %s is an earlier certificate of \"%s\"; renew \"%s\" instead",
			 old->serial, old->name, old->name);
		goto fail_tx;
	}
	if (!o->key && pki_x509_keyspec_parse(old->key_type, &ks, err, errlen) < 0)
		ks = p->key;
	err[0] = '\0';
	ox = pki_x509_read_cert(NULL, old->pem, err, errlen);
	if (!ox)
		goto fail_tx;
	san = X509_get_ext_d2i(ox, NID_subject_alt_name, NULL, NULL);
	nk = pki_x509_keygen(&ks, err, errlen);
	fs = nk ? pki_files_new(tmp) : NULL;
	if (!fs || pki_store_set_superseded(p->store, old->id, err, errlen) < 0)
		goto fail_tx;
	rec = sign_and_store(p, tmp, old->kind, old->name, X509_get_subject_name(ox), san, nk,
			     days, now, fs, err, errlen);
	if (!rec)
		goto fail_tx;
	if (o->revoke_old && !old->revoked) {
		if (pki_store_set_revoked(p->store, old->id, now, PKI_REASON_SUPERSEDED, err,
					  errlen) < 0 ||
		    !(crl = crl_make(p, tmp, now, err, errlen)) ||
		    stage_str(fs, pki_path(tmp, p, PKI_CRL_FILE), crl, 0644, PKI_FILES_REPLACE, err,
			      errlen) < 0)
			goto fail_tx;
	}
	if (commit_all(p, fs, err, errlen) < 0)
		goto fail_tx;
	rec = talloc_steal(ctx, rec);
	goto out;
fail_tx:
	pki_store_rollback(p->store);
fail:
	if (!err[0])
		snprintf(err, errlen, "out of memory");
	rec = NULL;
out:
	X509_free(ox);
	GENERAL_NAMES_free(san);
	EVP_PKEY_free(nk);
	talloc_free(tmp);
	return rec;
}

/* ---- export ---- */

struct pki_cert *
pki_export_p12(struct pki *p, TALLOC_CTX *ctx, const char *key, const char *path,
	       bool overwrite, char *password, size_t pwlen, time_t now, char *err,
	       size_t errlen)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	struct pki_cert *c = NULL;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	STACK_OF(X509) *chain = NULL;
	struct pki_files *fs;
	unsigned char *der;
	size_t len = 0;
	char why[256], *kpath;

	err[0] = '\0';
	password[0] = '\0';
	if (!tmp)
		goto fail;
	if (ca_load_certs(p, err, errlen) < 0)
		goto fail;
	/* The lock keeps a concurrent renew from swapping the key under us. */
	if (pki_store_begin(p->store, err, errlen) < 0)
		goto fail;
	switch (pki_store_find(p->store, tmp, key, &c, err, errlen)) {
	case PKI_FOUND:
		break;
	case PKI_NOT_FOUND:
		not_found(key, err, errlen);
		goto fail;
	case PKI_FIND_ERROR:
		goto fail;
	}
	describe(c, now, why, sizeof(why));
	if (!c->current) {
		snprintf(err, errlen,
			 "serial %s is an earlier certificate of \"%s\" and its key is gone; "
			 "export \"%s\"",
			 c->serial, c->name, c->name);
		goto fail;
	}
	if (c->revoked || c->not_after < now) {
		snprintf(err, errlen,
			 "\"%s\" cannot be used (%s): nothing exported; `kagi cert renew %s` "
			 "makes a new one",
			 c->name, why, c->name);
		goto fail;
	}
	kpath = pki_key_path(tmp, p, c->name);
	x = pki_x509_read_cert(NULL, c->pem, err, errlen);
	if (!x || !kpath || !(k = pki_x509_read_key(kpath, err, errlen)))
		goto fail;
	if (X509_check_private_key(x, k) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s does not belong to certificate \"%s\" (serial %s)", kpath,
			 c->name, c->serial);
		goto fail;
	}
	chain = sk_X509_new_null();
	if (!chain || (p->intermediate && !sk_X509_push(chain, p->signer)) ||
	    !sk_X509_push(chain, p->root) || pki_x509_password(password, pwlen) < 0)
		goto fail;
	der = pki_x509_p12(tmp, password, c->name, k, x, chain, &len, err, errlen);
	fs = der ? pki_files_new(tmp) : NULL;
	if (!fs ||
	    pki_files_add(fs, path, der, len, 0600,
			  overwrite ? PKI_FILES_REPLACE : PKI_FILES_NO_REPLACE, err, errlen) < 0 ||
	    pki_files_commit(fs, err, errlen) < 0)
		goto fail;
	pki_files_done(fs);
	OPENSSL_cleanse(der, len);
	pki_store_rollback(p->store); /* nothing to write: just release the lock */
	c = talloc_steal(ctx, c);
	goto out;
fail:
	pki_store_rollback(p->store);
	if (!err[0])
		snprintf(err, errlen, "out of memory");
	OPENSSL_cleanse(password, pwlen);
	password[0] = '\0';
	c = NULL;
out:
	sk_X509_free(chain); /* the certificates belong to p */
	X509_free(x);
	EVP_PKEY_free(k);
	talloc_free(tmp);
	return c;
}

/* ---- queries ---- */

enum pki_found
pki_find(struct pki *p, TALLOC_CTX *ctx, const char *key, struct pki_cert **out, char *err,
	 size_t errlen)
{
	return pki_store_find(p->store, ctx, key, out, err, errlen);
}

int
pki_list(struct pki *p, TALLOC_CTX *ctx, bool all, struct pki_cert ***out, unsigned *n,
	 char *err, size_t errlen)
{
	return pki_store_list(p->store, ctx, all, out, n, err, errlen);
}
