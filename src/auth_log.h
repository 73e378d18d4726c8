/*
 * auth_log.h - one JSON object per line per finished authentication (accept, reject or
 * abandoned), written with jansson. Records carry no secrets by construction: there is no field
 * for a password, shared secret or key.
 */
#ifndef KAGI_AUTH_LOG_H
#define KAGI_AUTH_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

struct auth_record {
	const char *client;
	const char *nas;
	const char *calling_station_id;
	const char *identity;
	const char *outer_identity;
	const char *method;
	const char *inner_method;
	const char *tls_version;
	bool resumed;
	const char *cert_subject;
	const char *cert_issuer;
	const char *cert_serial;
	const char *result; /* "accept", "reject", "abandoned" */
	const char *reason;
	unsigned rounds;
	uint64_t ms;
};

struct auth_log;

/* auth_log_open - "-" is stdout, anything else a file opened for append. NULL + err. */
struct auth_log *auth_log_open(TALLOC_CTX *ctx, const char *path, char *err, size_t errlen);
const char *auth_log_path(const struct auth_log *l);

/* auth_log_format - the JSON line (no newline) into a talloc string; NULL on failure. */
char *auth_log_format(TALLOC_CTX *ctx, const struct auth_record *r);

/*
 * auth_log_to_syslog - a daemon has no stdout: send the lines of a "-" log to syslog instead.
 */
void auth_log_to_syslog(struct auth_log *l);

/* auth_log_put - append a line from auth_log_format and flush. */
void auth_log_put(struct auth_log *l, const char *line);

#endif
