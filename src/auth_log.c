/*
 * auth_log.c - the authentication log (see auth_log.h).
 */
#include "auth_log.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

struct auth_log {
	FILE *fp;
	bool own;
	bool syslog;
	char *path;
};

static int
log_free(struct auth_log *l)
{
	if (l->own && l->fp)
		fclose(l->fp);
	return 0;
}

struct auth_log *
auth_log_open(TALLOC_CTX *ctx, const char *path, char *err, size_t errlen)
{
	struct auth_log *l = talloc_zero(ctx, struct auth_log);

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->path = talloc_strdup(l, path);
	if (strcmp(path, "-") == 0) {
		l->fp = stdout;
	} else {
		l->fp = fopen(path, "a");
		if (!l->fp) {
			snprintf(err, errlen, "cannot open auth_log %s: %s", path, strerror(errno));
			talloc_free(l);
			return NULL;
		}
		l->own = true;
	}
	talloc_set_destructor(l, log_free);
	return l;
}

void
auth_log_to_syslog(struct auth_log *l)
{
	if (!l->own)
		l->syslog = true;
}

const char *
auth_log_path(const struct auth_log *l)
{
	return l->path;
}

#define LINE_GUESS 2048 /* octets: the usual line is under 600 */
#define FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

/* A JSON string for any bytes: valid UTF-8 as is, anything else escaped as \xNN text. */
static json_t *
jstr(const char *s)
{
	json_t *j;
	char buf[1024];
	size_t i, o = 0;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	for (i = 0; s[i] && o < sizeof(buf) - 5; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	return json_string(buf);
}

char *
auth_log_format(TALLOC_CTX *ctx, const struct auth_record *r)
{
	struct timespec ts;
	struct tm tm;
	char tbuf[40], tfull[64];
	json_t *o = json_object();
	char *out;
	size_t n;

	if (!o)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(tfull, sizeof(tfull), "%s.%03uZ", tbuf, (unsigned)(ts.tv_nsec / 1000000) % 1000u);

	json_object_set_new_nocheck(o, "time", json_string(tfull));
	json_object_set_new_nocheck(o, "client", jstr(r->client));
	json_object_set_new_nocheck(o, "nas", jstr(r->nas));
	json_object_set_new_nocheck(o, "calling_station_id", jstr(r->calling_station_id));
	json_object_set_new_nocheck(o, "identity", jstr(r->identity));
	if (r->outer_identity)
		json_object_set_new_nocheck(o, "outer_identity", jstr(r->outer_identity));
	json_object_set_new_nocheck(o, "method", jstr(r->method));
	if (r->inner_method)
		json_object_set_new_nocheck(o, "inner_method", jstr(r->inner_method));
	json_object_set_new_nocheck(o, "tls_version", jstr(r->tls_version));
	json_object_set_new_nocheck(o, "resumed", json_boolean(r->resumed));
	json_object_set_new_nocheck(o, "cert_subject", jstr(r->cert_subject));
	json_object_set_new_nocheck(o, "cert_issuer", jstr(r->cert_issuer));
	json_object_set_new_nocheck(o, "cert_serial", jstr(r->cert_serial));
	json_object_set_new_nocheck(o, "result", jstr(r->result));
	json_object_set_new_nocheck(o, "reason", jstr(r->reason));
	json_object_set_new_nocheck(o, "rounds", json_integer(r->rounds));
	json_object_set_new_nocheck(o, "ms", json_integer((json_int_t)r->ms));
	/*
	 * Straight into the talloc string, sized for almost every line (jansson's own growing
	 * buffer and the copy of it cost more); a longer line is dumped again at its size.
	 */
	out = talloc_size(ctx, LINE_GUESS + 1);
	n = out ? json_dumpb(o, out, LINE_GUESS, FLAGS) : 0;
	if (n > LINE_GUESS) {
		char *bigger = talloc_realloc_size(ctx, out, n + 1);

		if (bigger)
			out = bigger;
		if (!bigger || json_dumpb(o, out, n, FLAGS) != n)
			n = 0;
	}
	if (n)
		out[n] = '\0';
	else
		TALLOC_FREE(out);
	json_decref(o);
	return out;
}

void
auth_log_put(struct auth_log *l, const char *line)
{
	if (l->syslog) {
		syslog(LOG_INFO, "%s", line);
		return;
	}
	fprintf(l->fp, "%s\n", line);
	fflush(l->fp);
}
