/*
 * pki_store.c - the `kagi cert` inventory in SQLite (see pki_store.h).
 */
#include "pki_store.h"

#include <sqlite3.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* PRAGMA application_id: "kagi" in ASCII, so file(1) and we can tell the file apart. */
#define STORE_APP_ID 0x6b616769
#define STORE_VERSION 1
/* How long a command waits for another one holding the write lock. */
#define STORE_BUSY_MS 60000

struct pki_store {
	sqlite3 *db;
	char *path;
	bool in_tx;
};

static const char schema[] =
	"CREATE TABLE meta (\n"
	"  key TEXT PRIMARY KEY,\n"
	"  value TEXT NOT NULL\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE certs (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  name TEXT NOT NULL,\n"
	"  kind TEXT NOT NULL CHECK (kind IN ('server', 'client')),\n"
	"  serial TEXT NOT NULL UNIQUE,\n"
	"  subject TEXT NOT NULL,\n"
	"  issuer TEXT NOT NULL,\n"
	"  sans TEXT NOT NULL,\n"
	"  key_type TEXT NOT NULL,\n"
	"  not_before INTEGER NOT NULL,\n"
	"  not_after INTEGER NOT NULL,\n"
	"  issued_at INTEGER NOT NULL,\n"
	"  current INTEGER NOT NULL CHECK (current IN (0, 1)),\n"
	"  revoked_at INTEGER,\n"
	"  reason TEXT,\n"
	"  pem TEXT NOT NULL\n"
	");\n"
	"CREATE UNIQUE INDEX certs_current_name ON certs (name COLLATE NOCASE) WHERE current = 1;\n";

#define CERT_COLS                                                                                  \
	"id, name, kind, serial, subject, issuer, sans, key_type, not_before, not_after, "         \
	"issued_at, current, revoked_at, reason, pem"

static const struct {
	enum pki_reason code;
	const char *name;
} reasons[] = {
	{PKI_REASON_UNSPECIFIED, "unspecified"},
	{PKI_REASON_KEY_COMPROMISE, "keyCompromise"},
	{PKI_REASON_AFFILIATION_CHANGED, "affiliationChanged"},
	{PKI_REASON_SUPERSEDED, "superseded"},
	{PKI_REASON_CESSATION_OF_OPERATION, "cessationOfOperation"},
	{PKI_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn"},
};

const char *
pki_reason_name(enum pki_reason r)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == r)
			return reasons[i].name;
	return "unspecified";
}

int
pki_reason_parse(const char *s, enum pki_reason *r)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (strcasecmp(reasons[i].name, s) == 0) {
			*r = reasons[i].code;
			return 0;
		}
	}
	return -1;
}

const char *
pki_reason_list(void)
{
	return "keyCompromise, affiliationChanged, superseded, cessationOfOperation, "
	       "privilegeWithdrawn, unspecified";
}

const char *
pki_kind_name(enum pki_kind k)
{
	return k == PKI_KIND_SERVER ? "server" : "client";
}

/* ---- errors ---- */

static void
db_fail(struct pki_store *st, char *err, size_t errlen, const char *what)
{
	int code = sqlite3_errcode(st->db);

	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		snprintf(err, errlen,
			 "%s: the inventory %s is locked by another command (waited %d s)", what,
			 st->path, STORE_BUSY_MS / 1000);
	else if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		snprintf(err, errlen,
			 "the inventory %s is corrupted (%s); restore it from a backup",
			 st->path, sqlite3_errmsg(st->db));
	else
		snprintf(err, errlen, "%s: inventory %s: %s", what, st->path,
			 sqlite3_errmsg(st->db));
}

/* ---- open ---- */

static int
store_free(struct pki_store *st)
{
	if (st->in_tx)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close_v2(st->db);
	return 0;
}

static int
pragma_int(struct pki_store *st, const char *sql, long long *v, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		db_fail(st, err, errlen, "cannot read the inventory");
		sqlite3_finalize(s);
		return -1;
	}
	*v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return 0;
}

static int
store_check(struct pki_store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	long long app, ver;
	const char *res;
	int rc;

	if (pragma_int(st, "PRAGMA application_id", &app, err, errlen) < 0)
		return -1;
	if (app != STORE_APP_ID) {
		snprintf(err, errlen,
			 "%s is not a kagi certificate inventory (application id %lld); "
			 "corrupted or replaced? restore it from a backup",
			 st->path, app);
		return -1;
	}
	if (pragma_int(st, "PRAGMA user_version", &ver, err, errlen) < 0)
		return -1;
	if (ver != STORE_VERSION) {
		snprintf(err, errlen, "inventory %s has schema version %lld; this kagi knows %d",
			 st->path, ver, STORE_VERSION);
		return -1;
	}
	rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		db_fail(st, err, errlen, "cannot check the inventory");
		sqlite3_finalize(s);
		return -1;
	}
	res = (const char *)sqlite3_column_text(s, 0);
	if (!res || strcmp(res, "ok") != 0) {
		snprintf(err, errlen,
			 "the inventory %s is corrupted (integrity check: %s); restore it from a "
			 "backup",
			 st->path, res ? res : "?");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

struct pki_store *
pki_store_open(TALLOC_CTX *ctx, const char *path, enum pki_store_mode mode, char *err,
	       size_t errlen)
{
	struct pki_store *st = talloc_zero(ctx, struct pki_store);
	int rc;

	if (!st || !(st->path = talloc_strdup(st, path))) {
		snprintf(err, errlen, "out of memory");
		talloc_free(st);
		return NULL;
	}
	/* Never CREATE: the caller makes a new file itself (O_EXCL, mode 0600) for init. */
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open the inventory %s: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		sqlite3_close_v2(st->db);
		talloc_free(st);
		return NULL;
	}
	talloc_set_destructor(st, store_free);
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	sqlite3_extended_result_codes(st->db, 0);
	if (mode == PKI_STORE_OPEN && store_check(st, err, errlen) < 0) {
		talloc_free(st);
		return NULL;
	}
	/* Rollback journal (one file to back up), fsync'd on every commit. */
	if (sqlite3_exec(st->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(st, err, errlen, "cannot open the inventory");
		talloc_free(st);
		return NULL;
	}
	return st;
}

/* ---- transactions ---- */

int
pki_store_begin(struct pki_store *st, char *err, size_t errlen)
{
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(st, err, errlen, "cannot lock the inventory");
		return -1;
	}
	st->in_tx = true;
	return 0;
}

int
pki_store_commit(struct pki_store *st, char *err, size_t errlen)
{
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(st, err, errlen, "cannot save the inventory");
		pki_store_rollback(st);
		return -1;
	}
	st->in_tx = false;
	return 0;
}

void
pki_store_rollback(struct pki_store *st)
{
	if (st->in_tx)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_tx = false;
}

int
pki_store_create_schema(struct pki_store *st, char *err, size_t errlen)
{
	long long app;
	char sql[128];

	if (pragma_int(st, "PRAGMA application_id", &app, err, errlen) < 0)
		return -1;
	if (app != 0) {
		snprintf(err, errlen, "%s already holds an inventory", st->path);
		return -1;
	}
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d;",
		 STORE_APP_ID, STORE_VERSION);
	if (sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(st, err, errlen, "cannot create the inventory");
		return -1;
	}
	return 0;
}

/* ---- meta ---- */

char *
pki_store_meta_get(struct pki_store *st, TALLOC_CTX *ctx, const char *key, char *err,
		   size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char *v = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		v = talloc_strdup(ctx, (const char *)sqlite3_column_text(s, 0));
		if (!v)
			snprintf(err, errlen, "out of memory");
	} else if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "inventory %s: setting \"%s\" is missing", st->path, key);
	} else {
		db_fail(st, err, errlen, "cannot read the inventory");
	}
	sqlite3_finalize(s);
	return v;
}

int
pki_store_meta_set(struct pki_store *st, const char *key, const char *value, char *err,
		   size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db,
				"INSERT INTO meta (key, value) VALUES (?1, ?2) "
				"ON CONFLICT (key) DO UPDATE SET value = excluded.value",
				-1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		db_fail(st, err, errlen, "cannot write the inventory");
		return -1;
	}
	return 0;
}

/* ---- certificates ---- */

static char *
col_str(TALLOC_CTX *ctx, sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	return talloc_strdup(ctx, t ? t : "");
}

static struct pki_cert *
row_cert(TALLOC_CTX *ctx, sqlite3_stmt *s)
{
	struct pki_cert *c = talloc_zero(ctx, struct pki_cert);
	const char *kind, *reason;

	if (!c)
		return NULL;
	c->id = sqlite3_column_int64(s, 0);
	c->name = col_str(c, s, 1);
	kind = (const char *)sqlite3_column_text(s, 2);
	c->kind = kind && strcmp(kind, "server") == 0 ? PKI_KIND_SERVER : PKI_KIND_CLIENT;
	c->serial = col_str(c, s, 3);
	c->subject = col_str(c, s, 4);
	c->issuer = col_str(c, s, 5);
	c->sans = col_str(c, s, 6);
	c->key_type = col_str(c, s, 7);
	c->not_before = (time_t)sqlite3_column_int64(s, 8);
	c->not_after = (time_t)sqlite3_column_int64(s, 9);
	c->issued_at = (time_t)sqlite3_column_int64(s, 10);
	c->current = sqlite3_column_int(s, 11) != 0;
	c->revoked = sqlite3_column_type(s, 12) != SQLITE_NULL;
	c->revoked_at = (time_t)sqlite3_column_int64(s, 12);
	reason = (const char *)sqlite3_column_text(s, 13);
	if (!reason || pki_reason_parse(reason, &c->reason) < 0)
		c->reason = PKI_REASON_UNSPECIFIED;
	c->pem = col_str(c, s, 14);
	if (!c->name || !c->serial || !c->subject || !c->issuer || !c->sans || !c->key_type ||
	    !c->pem) {
		talloc_free(c);
		return NULL;
	}
	return c;
}

int
pki_store_insert(struct pki_store *st, struct pki_cert *c, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db,
				"INSERT INTO certs (name, kind, serial, subject, issuer, sans, "
				"key_type, not_before, not_after, issued_at, current, pem) "
				"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
				-1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, c->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, pki_kind_name(c->kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, c->serial, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, c->subject, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, c->issuer, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 6, c->sans, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 7, c->key_type, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 8, c->not_before);
		sqlite3_bind_int64(s, 9, c->not_after);
		sqlite3_bind_int64(s, 10, c->issued_at);
		sqlite3_bind_int(s, 11, c->current ? 1 : 0);
		sqlite3_bind_text(s, 12, c->pem, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT) {
		if (strstr(sqlite3_errmsg(st->db), "serial"))
			snprintf(err, errlen, "serial number %s is already in the inventory",
				 c->serial);
		else
			snprintf(err, errlen, "a certificate named \"%s\" already exists", c->name);
		return -1;
	}
	if (rc != SQLITE_DONE) {
		db_fail(st, err, errlen, "cannot write the inventory");
		return -1;
	}
	c->id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/* A serial number as typed by an admin: "0x", colons and case do not matter. */
static void
serial_normalize(const char *in, char *out, size_t len)
{
	size_t o = 0;

	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (; *in && o + 1 < len; in++) {
		if (*in == ':')
			continue;
		out[o++] = (char)toupper((unsigned char)*in);
	}
	out[o] = '\0';
}

static enum pki_found
find_one(struct pki_store *st, TALLOC_CTX *ctx, const char *sql, const char *key,
	 struct pki_cert **out, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(s);
		return PKI_NOT_FOUND;
	}
	if (rc != SQLITE_ROW) {
		db_fail(st, err, errlen, "cannot read the inventory");
		sqlite3_finalize(s);
		return PKI_FIND_ERROR;
	}
	*out = row_cert(ctx, s);
	sqlite3_finalize(s);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return PKI_FIND_ERROR;
	}
	return PKI_FOUND;
}

enum pki_found
pki_store_find(struct pki_store *st, TALLOC_CTX *ctx, const char *key, struct pki_cert **out,
	       char *err, size_t errlen)
{
	char serial[128];
	enum pki_found r;

	*out = NULL;
	r = find_one(st, ctx,
		     "SELECT " CERT_COLS " FROM certs WHERE name = ?1 COLLATE NOCASE AND current = 1",
		     key, out, err, errlen);
	if (r != PKI_NOT_FOUND)
		return r;
	serial_normalize(key, serial, sizeof(serial));
	if (!serial[0])
		return PKI_NOT_FOUND;
	return find_one(st, ctx, "SELECT " CERT_COLS " FROM certs WHERE serial = ?1", serial, out,
			err, errlen);
}

static int
list_query(struct pki_store *st, TALLOC_CTX *ctx, const char *sql, struct pki_cert ***out,
	   unsigned *n, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	struct pki_cert **v = NULL;
	unsigned count = 0;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	*out = NULL;
	*n = 0;
	if (rc != SQLITE_OK) {
		db_fail(st, err, errlen, "cannot read the inventory");
		return -1;
	}
	v = talloc_array(ctx, struct pki_cert *, 0);
	while (v && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pki_cert **nv = talloc_realloc(ctx, v, struct pki_cert *, count + 1);

		if (!nv || !(nv[count] = row_cert(nv, s))) {
			v = nv;
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		count++;
	}
	if (!v || rc == SQLITE_NOMEM) {
		snprintf(err, errlen, "out of memory");
		talloc_free(v);
		sqlite3_finalize(s);
		return -1;
	}
	if (rc != SQLITE_DONE) {
		db_fail(st, err, errlen, "cannot read the inventory");
		talloc_free(v);
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	*out = v;
	*n = count;
	return 0;
}

int
pki_store_list(struct pki_store *st, TALLOC_CTX *ctx, bool all, struct pki_cert ***out,
	       unsigned *n, char *err, size_t errlen)
{
	return list_query(st, ctx,
			  all ? "SELECT " CERT_COLS
				" FROM certs ORDER BY name COLLATE NOCASE, issued_at, id"
			      : "SELECT " CERT_COLS " FROM certs WHERE current = 1 "
				"ORDER BY name COLLATE NOCASE",
			  out, n, err, errlen);
}

int
pki_store_list_revoked(struct pki_store *st, TALLOC_CTX *ctx, struct pki_cert ***out,
		       unsigned *n, char *err, size_t errlen)
{
	return list_query(st, ctx,
			  "SELECT " CERT_COLS
			  " FROM certs WHERE revoked_at IS NOT NULL ORDER BY revoked_at, id",
			  out, n, err, errlen);
}

static int
exec_id(struct pki_store *st, const char *sql, int64_t id, int64_t when, const char *text,
	char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, id);
		if (text) {
			sqlite3_bind_int64(s, 2, when);
			sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
		}
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		db_fail(st, err, errlen, "cannot write the inventory");
		return -1;
	}
	if (sqlite3_changes(st->db) != 1) {
		snprintf(err, errlen, "inventory %s: certificate %lld not found", st->path,
			 (long long)id);
		return -1;
	}
	return 0;
}

int
pki_store_set_revoked(struct pki_store *st, int64_t id, time_t when, enum pki_reason reason,
		      char *err, size_t errlen)
{
	return exec_id(st,
		       "UPDATE certs SET revoked_at = ?2, reason = ?3 "
		       "WHERE id = ?1 AND revoked_at IS NULL",
		       id, when, pki_reason_name(reason), err, errlen);
}

int
pki_store_set_superseded(struct pki_store *st, int64_t id, char *err, size_t errlen)
{
	return exec_id(st, "UPDATE certs SET current = 0 WHERE id = ?1", id, 0, NULL, err,
		       errlen);
}
