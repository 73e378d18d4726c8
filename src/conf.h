/*
 * conf.h - one configuration generation: kagi.conf, clients.conf and users, parsed with
 * libconfuse, plus the TLS server context built from them.
 *
 * A generation is immutable once loaded. SIGHUP builds a new one beside the old; sessions hold
 * a reference (conf_ref/conf_unref) to the generation they started with, so a reload never
 * changes a conversation in flight.
 */
#ifndef KAGI_CONF_H
#define KAGI_CONF_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <talloc.h>

struct codec_pairs;
struct tls_server;

#define CONF_MAX_LISTEN 16
#define CONF_MAX_THREADS 64
#define CONF_MAX_METHODS 8

struct conf_listen {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[64];
};

/* A RADIUS client (NAS): matched by source address within a prefix. */
struct client {
	char *name;
	char *shortname;
	int family;
	uint8_t net[16];
	unsigned prefix;
	char *secret;
	bool short_secret_ok;
};

enum cert_binding {
	BIND_SAN_OR_CN,
	BIND_SAN,
	BIND_CN,
	BIND_NONE,
};

/* A `certificate NAME { ... }` rule in raddb/users. */
struct cert_rule {
	char *name;
	char *issuer;	/* fnmatch glob over the issuer DN, NULL = any */
	char *subject;	/* glob over the subject DN */
	char *san;	/* glob that at least one SAN must match */
	enum cert_binding binding;
	struct codec_pairs *reply;
};

/* A `user NAME { ... }` entry in raddb/users. */
struct user_entry {
	char *name;
	bool disabled;
	char *password;	 /* cleartext, or NULL */
	bool has_nt_hash; /* nt_hash given (or derived from password) */
	uint8_t nt_hash[16];
	char **groups;
	unsigned n_groups;
	const struct codec_pairs **group_replies; /* the groups' reply lists, in order */
	struct codec_pairs *reply;
};

/* A `group NAME { reply = "..." }` entry in raddb/users. */
struct group_entry {
	char *name;
	struct codec_pairs *reply;
};

struct conf_tls {
	char *certificate;
	char *private_key;
	char *private_key_password;
	char *ca_file;
	char *crl_file;
	char *cipher_list;
	char *tls13_ciphersuites;
	char *ecdh_curves;
	bool check_crl;
	bool check_crl_all;
	bool require_client_eku;
	int min_version; /* TLS1_2_VERSION, ... */
	int max_version;
	unsigned fragment_size;
	unsigned max_message_size;
	bool resumption;
	unsigned session_lifetime;
	unsigned session_cache_size;
	unsigned chain_cache_size; /* verified client chains remembered (0: none) */
};

struct conf_limits {
	unsigned max_sessions;
	unsigned max_sessions_per_client;
	unsigned session_timeout;
	unsigned max_rounds;
	unsigned max_invalid;
	unsigned dup_cache_time;
	unsigned dup_cache_size;
	unsigned threads; /* worker threads; 0 = one per CPU */
};

struct conf {
	char *dir;
	unsigned generation;
	atomic_uint refs; /* sessions on worker threads hold references */

	struct conf_listen listen[CONF_MAX_LISTEN];
	unsigned n_listen;

	struct conf_tls tls;
	struct tls_server *tls_server;

	uint8_t methods[CONF_MAX_METHODS]; /* EAP types in order of preference */
	unsigned n_methods;
	uint8_t inner_methods[CONF_MAX_METHODS]; /* inside PEAP and TTLS-EAP */
	unsigned n_inner_methods;
	bool ttls_pap, ttls_mschapv2, ttls_eap; /* TTLS inner forms allowed */
	bool peap_require_crypto_binding;

	struct conf_limits limits;
	char *auth_log;

	struct client *clients;
	unsigned n_clients;
	/* clients_find's index: host entries (/32, /128) hashed (slot = index + 1, 0 empty), the
	 * other entries by prefix length, longest first (config order among equals) */
	unsigned *client_hosts;
	unsigned client_host_mask;
	unsigned *client_nets;
	unsigned n_client_nets;

	struct cert_rule *rules;
	unsigned n_rules;
	struct user_entry *users; /* sorted by lower-cased name */
	unsigned n_users;
	struct group_entry *groups;
	unsigned n_groups;
};

/*
 * conf_load - parse DIR/kagi.conf, DIR/clients.conf and DIR/users and build the TLS server
 * context. Returns a talloc child of ctx with one reference, or NULL with err set (naming the
 * file and line). Warnings (e.g. short secrets allowed explicitly) go to warn(arg, text).
 */
struct conf *conf_load(TALLOC_CTX *ctx, const char *dir, char *err, size_t errlen,
		       void (*warn)(void *arg, const char *text), void *arg);

struct conf *conf_ref(struct conf *c);
/* conf_unref - drop a reference; frees the generation on the last one. */
void conf_unref(struct conf *c);

/* clients_find - the client whose prefix holds addr (longest prefix wins), or NULL. */
const struct client *clients_find(const struct conf *c, const struct sockaddr *addr);

/* users_find - case-insensitive lookup, or NULL. */
const struct user_entry *users_find(const struct conf *c, const char *name);


#endif
