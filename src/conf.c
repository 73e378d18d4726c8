/*
 * conf.c - configuration generations from raddb/ (see conf.h), parsed with libconfuse.
 */
#include "conf.h"

#include "codec.h"
#include "eap.h"
#include "hash.h"
#include "mschap.h"
#include "tls_ctx.h"

#include <arpa/inet.h>
#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* libconfuse's error callback has no user pointer; loading runs in one thread at a time. */
static char conf_errbuf[512];

static void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[400];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cfg && cfg->filename)
		snprintf(conf_errbuf, sizeof(conf_errbuf), "%s:%d: %s", cfg->filename, cfg->line,
			 msg);
	else
		snprintf(conf_errbuf, sizeof(conf_errbuf), "%s", msg);
}

static cfg_opt_t listen_opts[] = {
	CFG_STR("ipaddr", "127.0.0.1", CFGF_NONE),
	CFG_INT("port", 1812, CFGF_NONE),
	CFG_END(),
};

static cfg_opt_t tls_opts[] = {
	CFG_STR("certificate", NULL, CFGF_NODEFAULT),
	CFG_STR("private_key", NULL, CFGF_NODEFAULT),
	CFG_STR("private_key_password", NULL, CFGF_NODEFAULT),
	CFG_STR("ca_file", NULL, CFGF_NODEFAULT),
	CFG_STR("crl_file", NULL, CFGF_NODEFAULT),
	CFG_STR("cipher_list", NULL, CFGF_NODEFAULT),
	CFG_STR("tls13_ciphersuites", NULL, CFGF_NODEFAULT),
	CFG_STR("ecdh_curves", NULL, CFGF_NODEFAULT),
	CFG_BOOL("check_crl", cfg_true, CFGF_NONE),
	CFG_BOOL("check_crl_all", cfg_false, CFGF_NONE),
	CFG_BOOL("require_client_eku", cfg_true, CFGF_NONE),
	CFG_STR("min_version", "1.2", CFGF_NONE),
	CFG_STR("max_version", "1.3", CFGF_NONE),
	CFG_INT("fragment_size", 1386, CFGF_NONE),
	CFG_INT("max_message_size", 65536, CFGF_NONE),
	CFG_BOOL("resumption", cfg_true, CFGF_NONE),
	CFG_INT("session_lifetime", 86400, CFGF_NONE),
	CFG_INT("session_cache_size", 10000, CFGF_NONE),
	CFG_INT("chain_cache_size", 10000, CFGF_NONE),
	CFG_END(),
};

static cfg_opt_t eap_opts[] = {
	CFG_STR_LIST("methods", "{tls, peap, ttls}", CFGF_NONE),
	CFG_STR_LIST("inner_methods", "{mschapv2, gtc}", CFGF_NONE),
	CFG_STR_LIST("ttls_inner", "{pap, mschapv2, eap}", CFGF_NONE),
	CFG_BOOL("peap_require_crypto_binding", cfg_false, CFGF_NONE),
	CFG_END(),
};

static cfg_opt_t limits_opts[] = {
	CFG_INT("max_sessions", 16384, CFGF_NONE),
	CFG_INT("max_sessions_per_client", 4096, CFGF_NONE),
	CFG_INT("session_timeout", 30, CFGF_NONE),
	CFG_INT("max_rounds", 50, CFGF_NONE),
	CFG_INT("max_invalid", 5, CFGF_NONE),
	CFG_INT("dup_cache_time", 30, CFGF_NONE),
	CFG_INT("dup_cache_size", 65536, CFGF_NONE),
	CFG_INT("threads", 0, CFGF_NONE),
	CFG_END(),
};

static cfg_opt_t log_opts[] = {
	CFG_STR("auth_log", "-", CFGF_NONE),
	CFG_END(),
};

static cfg_opt_t main_opts[] = {
	CFG_SEC("listen", listen_opts, CFGF_MULTI),
	CFG_SEC("tls", tls_opts, CFGF_NONE),
	CFG_SEC("eap", eap_opts, CFGF_NONE),
	CFG_SEC("limits", limits_opts, CFGF_NONE),
	CFG_SEC("log", log_opts, CFGF_NONE),
	CFG_END(),
};

static cfg_opt_t client_opts[] = {
	CFG_STR("ipaddr", NULL, CFGF_NODEFAULT),
	CFG_STR("secret", NULL, CFGF_NODEFAULT),
	CFG_STR("shortname", NULL, CFGF_NODEFAULT),
	CFG_BOOL("short_secret_ok", cfg_false, CFGF_NONE),
	CFG_END(),
};

static cfg_opt_t clients_opts[] = {
	CFG_SEC("client", client_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END(),
};

static cfg_opt_t user_opts[] = {
	CFG_STR("password", NULL, CFGF_NODEFAULT),
	CFG_STR("nt_hash", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("groups", NULL, CFGF_NODEFAULT),
	CFG_STR("reply", NULL, CFGF_NODEFAULT),
	CFG_BOOL("disabled", cfg_false, CFGF_NONE),
	CFG_END(),
};

static cfg_opt_t rule_opts[] = {
	CFG_STR("issuer", NULL, CFGF_NODEFAULT),
	CFG_STR("subject", NULL, CFGF_NODEFAULT),
	CFG_STR("san", NULL, CFGF_NODEFAULT),
	CFG_STR("identity", "san_or_cn", CFGF_NONE),
	CFG_STR("reply", NULL, CFGF_NODEFAULT),
	CFG_END(),
};

static cfg_opt_t group_opts[] = {
	CFG_STR("reply", NULL, CFGF_NODEFAULT),
	CFG_END(),
};

static cfg_opt_t users_opts[] = {
	CFG_SEC("group", group_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_SEC("user", user_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_SEC("certificate", rule_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END(),
};

static int
conf_destructor(struct conf *c)
{
	unsigned i;

	for (i = 0; i < c->n_clients; i++)
		if (c->clients[i].secret)
			OPENSSL_cleanse(c->clients[i].secret, strlen(c->clients[i].secret));
	if (c->tls.private_key_password)
		OPENSSL_cleanse(c->tls.private_key_password, strlen(c->tls.private_key_password));
	for (i = 0; i < c->n_users; i++) {
		if (c->users[i].password)
			OPENSSL_cleanse(c->users[i].password, strlen(c->users[i].password));
		OPENSSL_cleanse(c->users[i].nt_hash, sizeof(c->users[i].nt_hash));
	}
	return 0;
}

struct conf *
conf_ref(struct conf *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void
conf_unref(struct conf *c)
{
	if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		talloc_free(c);
}

/* Parse one file; NULL with err set. The caller cfg_free()s. */
static cfg_t *
parse_file(const char *dir, const char *name, cfg_opt_t *opts, bool required, char *err,
	   size_t errlen)
{
	char path[PATH_MAX];
	cfg_t *cfg;
	int r;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cfg = cfg_init(opts, CFGF_NONE);
	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cfg_set_error_function(cfg, conf_errfunc);
	if (!required && stat(path, &st) < 0 && errno == ENOENT)
		return cfg; /* empty: all defaults */
	conf_errbuf[0] = '\0';
	r = cfg_parse(cfg, path);
	if (r == CFG_FILE_ERROR) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		cfg_free(cfg);
		return NULL;
	}
	if (r != CFG_SUCCESS) {
		snprintf(err, errlen, "%s", conf_errbuf[0] ? conf_errbuf : "parse error");
		if (!strstr(err, name))
			snprintf(err, errlen, "%s: %s", path,
				 conf_errbuf[0] ? conf_errbuf : "parse error");
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Absolute path: relative ones are relative to the configuration directory. */
static char *
conf_path(struct conf *c, const char *p)
{
	if (!p)
		return NULL;
	if (p[0] == '/')
		return talloc_strdup(c, p);
	return talloc_asprintf(c, "%s/%s", c->dir, p);
}

static int
parse_version(const char *v, int *out)
{
	if (strcmp(v, "1.2") == 0)
		*out = TLS1_2_VERSION;
	else if (strcmp(v, "1.3") == 0)
		*out = TLS1_3_VERSION;
	else
		return -1;
	return 0;
}

static int
parse_prefix(const char *text, struct client *cl)
{
	char buf[128];
	char *slash;
	long prefix = -1;

	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (slash) {
		char *end;

		*slash = '\0';
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1)
			return -1;
	}
	memset(cl->net, 0, sizeof(cl->net));
	if (inet_pton(AF_INET, buf, cl->net) == 1) {
		cl->family = AF_INET;
		if (prefix < 0)
			prefix = 32;
		if (prefix > 32)
			return -1;
	} else if (inet_pton(AF_INET6, buf, cl->net) == 1) {
		cl->family = AF_INET6;
		if (prefix < 0)
			prefix = 128;
		if (prefix > 128)
			return -1;
	} else {
		return -1;
	}
	cl->prefix = (unsigned)prefix;
	return 0;
}

static bool
prefix_match(const uint8_t *net, const uint8_t *addr, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(net, addr, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((net[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

static unsigned
addr_hash(int family, const uint8_t *a)
{
	return hash_bytes(HASH_INIT ^ (unsigned)family, a, family == AF_INET ? 4 : 16);
}

static bool
is_host(const struct client *cl)
{
	return cl->prefix == (cl->family == AF_INET ? 32u : 128u);
}

static int
net_longest_first(const void *x, const void *y, void *arg)
{
	const struct client *clients = arg;
	unsigned a = *(const unsigned *)x, b = *(const unsigned *)y;

	if (clients[a].prefix != clients[b].prefix)
		return clients[a].prefix > clients[b].prefix ? -1 : 1;
	return a < b ? -1 : a > b; /* config order among equals */
}

/*
 * clients_find's index, so that a packet costs one hash probe (hosts) plus a scan of the
 * network entries only, whatever the number of per-AP host entries in clients.conf.
 */
static int
clients_index(struct conf *c)
{
	unsigned n_hosts = 0, size = 2, i;

	for (i = 0; i < c->n_clients; i++)
		n_hosts += is_host(&c->clients[i]);
	while (size < 2 * n_hosts)
		size *= 2;
	c->client_hosts = talloc_zero_array(c, unsigned, size);
	c->client_nets = talloc_array(c, unsigned, c->n_clients - n_hosts + 1);
	if (!c->client_hosts || !c->client_nets)
		return -1;
	c->client_host_mask = size - 1;
	for (i = 0; i < c->n_clients; i++) {
		const struct client *cl = &c->clients[i];
		unsigned s;

		if (!is_host(cl)) {
			c->client_nets[c->n_client_nets++] = i;
			continue;
		}
		for (s = addr_hash(cl->family, cl->net) & c->client_host_mask; c->client_hosts[s];
		     s = (s + 1) & c->client_host_mask) {
			const struct client *o = &c->clients[c->client_hosts[s] - 1];

			if (o->family == cl->family && memcmp(o->net, cl->net, 16) == 0)
				break; /* the same host twice: the first entry keeps it */
		}
		if (!c->client_hosts[s])
			c->client_hosts[s] = i + 1;
	}
	qsort_r(c->client_nets, c->n_client_nets, sizeof(unsigned), net_longest_first,
		c->clients);
	return 0;
}

const struct client *
clients_find(const struct conf *c, const struct sockaddr *addr)
{
	const uint8_t *a;
	int family = addr->sa_family;
	uint8_t v4[4];
	unsigned i, s;

	if (family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;

		a = (const uint8_t *)a6;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(v4, a + 12, 4);
			a = v4;
			family = AF_INET;
		}
	} else {
		return NULL;
	}
	/* A host entry is the longest prefix there is. */
	for (s = addr_hash(family, a) & c->client_host_mask; c->client_hosts && c->client_hosts[s];
	     s = (s + 1) & c->client_host_mask) {
		const struct client *cl = &c->clients[c->client_hosts[s] - 1];

		if (cl->family == family && prefix_match(cl->net, a, cl->prefix))
			return cl;
	}
	for (i = 0; i < c->n_client_nets; i++) {
		const struct client *cl = &c->clients[c->client_nets[i]];

		if (cl->family == family && prefix_match(cl->net, a, cl->prefix))
			return cl;
	}
	return NULL;
}

static int
user_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct user_entry *)a)->name,
			  ((const struct user_entry *)b)->name);
}

const struct user_entry *
users_find(const struct conf *c, const char *name)
{
	struct user_entry key = {.name = (char *)name};

	if (!c->n_users || !name)
		return NULL;
	return bsearch(&key, c->users, c->n_users, sizeof(*c->users), user_cmp);
}

static int
get_uint(cfg_t *sec, const char *name, long min, long max, unsigned *out, const char *where,
	 char *err, size_t errlen)
{
	long v = cfg_getint(sec, name);

	if (v < min || v > max) {
		snprintf(err, errlen, "%s: %s = %ld is out of range (%ld..%ld)", where, name, v, min,
			 max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* An EAP method list: outer methods must be tunnel-capable or TLS, inner ones not. */
static int
parse_methods(cfg_t *sec, const char *opt, uint8_t *out, unsigned *n_out, bool outer, char *err,
	      size_t errlen)
{
	unsigned i, n = cfg_size(sec, opt);

	*n_out = 0;
	if (n == 0 || n > CONF_MAX_METHODS) {
		snprintf(err, errlen, "kagi.conf: eap %s: list 1 to %d methods", opt,
			 CONF_MAX_METHODS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *name = cfg_getnstr(sec, opt, i);
		const struct eap_method *m = eap_method_by_name(name);
		bool tunnel = m && (m->type == EAP_TYPE_TLS || m->type == EAP_TYPE_PEAP ||
				    m->type == EAP_TYPE_TTLS);

		if (!m || tunnel != outer) {
			snprintf(err, errlen, "kagi.conf: eap %s: \"%s\" is not supported there "
					      "(methods: tls, peap, ttls; inner_methods: mschapv2, gtc)",
				 opt, name);
			return -1;
		}
		out[(*n_out)++] = m->type;
	}
	return 0;
}

static int
load_main(struct conf *c, char *err, size_t errlen)
{
	cfg_t *cfg = parse_file(c->dir, "kagi.conf", main_opts, true, err, errlen);
	cfg_t *sec;
	unsigned i, n;
	int ret = -1;
	char where[] = "kagi.conf";

	if (!cfg)
		return -1;

	n = cfg_size(cfg, "listen");
	if (n == 0) {
		snprintf(err, errlen, "kagi.conf: no listen section");
		goto out;
	}
	if (n > CONF_MAX_LISTEN) {
		snprintf(err, errlen, "kagi.conf: at most %d listen sections", CONF_MAX_LISTEN);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct conf_listen *l = &c->listen[i];
		const char *ip;
		long port;

		sec = cfg_getnsec(cfg, "listen", i);
		ip = cfg_getstr(sec, "ipaddr");
		port = cfg_getint(sec, "port");
		if (port < 1 || port > 65535) {
			snprintf(err, errlen, "kagi.conf: listen port %ld out of range", port);
			goto out;
		}
		memset(&l->addr, 0, sizeof(l->addr));
		if (strchr(ip, ':')) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l->addr;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
				goto badip;
			l->addrlen = sizeof(*s6);
			snprintf(l->text, sizeof(l->text), "[%s]:%ld", ip, port);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&l->addr;

			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
				goto badip;
			l->addrlen = sizeof(*s4);
			snprintf(l->text, sizeof(l->text), "%s:%ld", ip, port);
		}
		continue;
badip:
		snprintf(err, errlen, "kagi.conf: listen ipaddr \"%s\" is not an IP address", ip);
		goto out;
	}
	c->n_listen = n;

	sec = cfg_getsec(cfg, "tls");
	if (!cfg_getstr(sec, "certificate") || !cfg_getstr(sec, "private_key") ||
	    !cfg_getstr(sec, "ca_file")) {
		snprintf(err, errlen,
			 "kagi.conf: tls needs certificate, private_key and ca_file");
		goto out;
	}
	c->tls.certificate = conf_path(c, cfg_getstr(sec, "certificate"));
	c->tls.private_key = conf_path(c, cfg_getstr(sec, "private_key"));
	c->tls.ca_file = conf_path(c, cfg_getstr(sec, "ca_file"));
	c->tls.crl_file = conf_path(c, cfg_getstr(sec, "crl_file"));
	if (cfg_getstr(sec, "private_key_password"))
		c->tls.private_key_password =
			talloc_strdup(c, cfg_getstr(sec, "private_key_password"));
	if (cfg_getstr(sec, "cipher_list"))
		c->tls.cipher_list = talloc_strdup(c, cfg_getstr(sec, "cipher_list"));
	if (cfg_getstr(sec, "tls13_ciphersuites"))
		c->tls.tls13_ciphersuites = talloc_strdup(c, cfg_getstr(sec, "tls13_ciphersuites"));
	if (cfg_getstr(sec, "ecdh_curves"))
		c->tls.ecdh_curves = talloc_strdup(c, cfg_getstr(sec, "ecdh_curves"));
	c->tls.check_crl = cfg_getbool(sec, "check_crl");
	c->tls.check_crl_all = cfg_getbool(sec, "check_crl_all");
	c->tls.require_client_eku = cfg_getbool(sec, "require_client_eku");
	c->tls.resumption = cfg_getbool(sec, "resumption");
	if (c->tls.check_crl && !c->tls.crl_file) {
		snprintf(err, errlen,
			 "kagi.conf: check_crl = yes needs crl_file (or set check_crl = no)");
		goto out;
	}
	if (parse_version(cfg_getstr(sec, "min_version"), &c->tls.min_version) < 0 ||
	    parse_version(cfg_getstr(sec, "max_version"), &c->tls.max_version) < 0 ||
	    c->tls.min_version > c->tls.max_version) {
		snprintf(err, errlen,
			 "kagi.conf: tls min_version/max_version must be \"1.2\" or \"1.3\", "
			 "min <= max");
		goto out;
	}
	if (get_uint(sec, "fragment_size", 100, 3000, &c->tls.fragment_size, where, err,
		     errlen) < 0 ||
	    get_uint(sec, "max_message_size", 4096, 1 << 20, &c->tls.max_message_size, where,
		     err, errlen) < 0 ||
	    get_uint(sec, "session_lifetime", 60, 7 * 86400, &c->tls.session_lifetime, where,
		     err, errlen) < 0 ||
	    get_uint(sec, "session_cache_size", 1, 1000000, &c->tls.session_cache_size, where,
		     err, errlen) < 0 ||
	    get_uint(sec, "chain_cache_size", 0, 1000000, &c->tls.chain_cache_size, where, err,
		     errlen) < 0)
		goto out;

	sec = cfg_getsec(cfg, "eap");
	if (parse_methods(sec, "methods", c->methods, &c->n_methods, true, err, errlen) < 0 ||
	    parse_methods(sec, "inner_methods", c->inner_methods, &c->n_inner_methods, false, err,
			  errlen) < 0)
		goto out;
	n = cfg_size(sec, "ttls_inner");
	for (i = 0; i < n; i++) {
		const char *name = cfg_getnstr(sec, "ttls_inner", i);

		if (strcasecmp(name, "pap") == 0)
			c->ttls_pap = true;
		else if (strcasecmp(name, "mschapv2") == 0)
			c->ttls_mschapv2 = true;
		else if (strcasecmp(name, "eap") == 0)
			c->ttls_eap = true;
		else {
			snprintf(err, errlen,
				 "kagi.conf: eap ttls_inner \"%s\": use pap, mschapv2 or eap", name);
			goto out;
		}
	}
	c->peap_require_crypto_binding = cfg_getbool(sec, "peap_require_crypto_binding");

	sec = cfg_getsec(cfg, "limits");
	if (get_uint(sec, "max_sessions", 1, 10000000, &c->limits.max_sessions, where, err,
		     errlen) < 0 ||
	    get_uint(sec, "max_sessions_per_client", 1, 10000000,
		     &c->limits.max_sessions_per_client, where, err, errlen) < 0 ||
	    get_uint(sec, "session_timeout", 1, 3600, &c->limits.session_timeout, where, err,
		     errlen) < 0 ||
	    get_uint(sec, "max_rounds", 4, 1000, &c->limits.max_rounds, where, err, errlen) < 0 ||
	    get_uint(sec, "max_invalid", 1, 100, &c->limits.max_invalid, where, err, errlen) < 0 ||
	    get_uint(sec, "dup_cache_time", 1, 300, &c->limits.dup_cache_time, where, err,
		     errlen) < 0 ||
	    get_uint(sec, "dup_cache_size", 16, 10000000, &c->limits.dup_cache_size, where, err,
		     errlen) < 0 ||
	    get_uint(sec, "threads", 0, CONF_MAX_THREADS, &c->limits.threads, where, err,
		     errlen) < 0)
		goto out;

	sec = cfg_getsec(cfg, "log");
	c->auth_log = cfg_getstr(sec, "auth_log");
	if (strcmp(c->auth_log, "-") != 0)
		c->auth_log = conf_path(c, c->auth_log);
	else
		c->auth_log = talloc_strdup(c, "-");
	ret = 0;
out:
	cfg_free(cfg);
	return ret;
}

static int
load_clients(struct conf *c, char *err, size_t errlen, void (*warn)(void *, const char *),
	     void *arg)
{
	cfg_t *cfg = parse_file(c->dir, "clients.conf", clients_opts, true, err, errlen);
	unsigned i, n;
	int ret = -1;

	if (!cfg)
		return -1;
	n = cfg_size(cfg, "client");
	c->clients = talloc_zero_array(c, struct client, n ? n : 1);
	for (i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(cfg, "client", i);
		struct client *cl = &c->clients[i];
		const char *ip = cfg_getstr(sec, "ipaddr");
		const char *secret = cfg_getstr(sec, "secret");
		const char *shortname = cfg_getstr(sec, "shortname");

		cl->name = talloc_strdup(c, cfg_title(sec));
		if (!ip || parse_prefix(ip, cl) < 0) {
			snprintf(err, errlen,
				 "clients.conf: client %s: ipaddr \"%s\" is not an address or "
				 "prefix",
				 cl->name, ip ? ip : "");
			goto out;
		}
		if (!secret || !*secret) {
			snprintf(err, errlen, "clients.conf: client %s: no secret", cl->name);
			goto out;
		}
		cl->short_secret_ok = cfg_getbool(sec, "short_secret_ok");
		if (strlen(secret) < 16) {
			char msg[300];

			if (!cl->short_secret_ok) {
				snprintf(err, errlen,
					 "clients.conf: client %s: secret shorter than 16 "
					 "characters; use a long random secret (or set "
					 "short_secret_ok = yes)",
					 cl->name);
				goto out;
			}
			snprintf(msg, sizeof(msg),
				 "client %s: secret shorter than 16 characters accepted because "
				 "short_secret_ok = yes. Short secrets can be brute-forced from one "
				 "captured packet: change it",
				 cl->name);
			if (warn)
				warn(arg, msg);
		}
		cl->secret = talloc_strdup(c, secret);
		cl->shortname = talloc_strdup(c, shortname ? shortname : cl->name);
	}
	c->n_clients = n;
	ret = clients_index(c);
	if (ret < 0)
		snprintf(err, errlen, "out of memory");
out:
	/* libconfuse keeps its own copy of the secret: wipe it before freeing. */
	for (i = 0; i < cfg_size(cfg, "client"); i++) {
		char *s = cfg_getstr(cfg_getnsec(cfg, "client", i), "secret");

		if (s)
			OPENSSL_cleanse(s, strlen(s));
	}
	cfg_free(cfg);
	return ret;
}

static int
hex_decode(const char *hex, uint8_t *out, size_t outlen)
{
	size_t i;

	if (strlen(hex) != 2 * outlen)
		return -1;
	for (i = 0; i < outlen; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* password / nt_hash of a user; both wiped from libconfuse's copy afterwards by the caller. */
static int
load_user_secret(struct conf *c, cfg_t *sec, struct user_entry *u, char *err, size_t errlen)
{
	const char *pw = cfg_getstr(sec, "password");
	const char *nt = cfg_getstr(sec, "nt_hash");

	if (pw && nt) {
		snprintf(err, errlen, "users: user %s: give password or nt_hash, not both",
			 u->name);
		return -1;
	}
	if (pw) {
		u->password = talloc_strdup(c, pw);
		if (mschap_nt_hash(pw, u->nt_hash) < 0) {
			snprintf(err, errlen,
				 "users: user %s: cannot compute the NT hash of the password (not "
				 "UTF-8, longer than 256 characters, or MD4 unavailable)",
				 u->name);
			return -1;
		}
		u->has_nt_hash = true;
	} else if (nt) {
		if (hex_decode(nt, u->nt_hash, sizeof(u->nt_hash)) < 0) {
			snprintf(err, errlen, "users: user %s: nt_hash must be 32 hex digits",
				 u->name);
			return -1;
		}
		u->has_nt_hash = true;
	}
	return 0;
}

static void
wipe_user_secrets(cfg_t *cfg)
{
	unsigned i;

	for (i = 0; i < cfg_size(cfg, "user"); i++) {
		cfg_t *sec = cfg_getnsec(cfg, "user", i);
		char *v;

		if ((v = cfg_getstr(sec, "password")) != NULL)
			OPENSSL_cleanse(v, strlen(v));
		if ((v = cfg_getstr(sec, "nt_hash")) != NULL)
			OPENSSL_cleanse(v, strlen(v));
	}
}

static int
load_users(struct conf *c, char *err, size_t errlen, void (*warn)(void *, const char *),
	   void *arg)
{
	cfg_t *cfg = parse_file(c->dir, "users", users_opts, false, err, errlen);
	unsigned i, n;
	char perr[300];
	int ret = -1;

	if (!cfg)
		return -1;
	n = cfg_size(cfg, "group");
	c->groups = talloc_zero_array(c, struct group_entry, n ? n : 1);
	for (i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(cfg, "group", i);
		struct group_entry *g = &c->groups[i];

		g->name = talloc_strdup(c, cfg_title(sec));
		g->reply = codec_pairs_parse(c, cfg_getstr(sec, "reply"), perr, sizeof(perr));
		if (!g->reply) {
			snprintf(err, errlen, "users: group %s: %s", g->name, perr);
			goto out;
		}
	}
	c->n_groups = n;

	n = cfg_size(cfg, "user");
	c->users = talloc_zero_array(c, struct user_entry, n ? n : 1);
	c->n_users = n; /* zeroed entries: the destructor can wipe a partial load */
	for (i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(cfg, "user", i);
		struct user_entry *u = &c->users[i];
		unsigned j;

		u->name = talloc_strdup(c, cfg_title(sec));
		for (j = 0; j < i; j++) {
			if (strcasecmp(c->users[j].name, u->name) == 0) {
				snprintf(err, errlen, "users: user %s defined twice", u->name);
				goto out;
			}
		}
		u->disabled = cfg_getbool(sec, "disabled");
		if (load_user_secret(c, sec, u, err, errlen) < 0)
			goto out;
		u->n_groups = cfg_size(sec, "groups");
		if (u->n_groups) {
			unsigned g;

			u->groups = talloc_array(c, char *, u->n_groups);
			u->group_replies = talloc_array(c, const struct codec_pairs *, u->n_groups);
			for (g = 0; g < u->n_groups; g++) {
				const char *gn = cfg_getnstr(sec, "groups", g);
				unsigned k;

				u->groups[g] = talloc_strdup(c, gn);
				for (k = 0; k < c->n_groups; k++)
					if (strcmp(c->groups[k].name, gn) == 0)
						break;
				/* A group without a block is a label only: allowed, but said. */
				u->group_replies[g] = k < c->n_groups ? c->groups[k].reply : NULL;
				if (k == c->n_groups && warn) {
					char msg[300];

					snprintf(msg, sizeof(msg),
						 "users: user %s: group %s has no `group %s { }` block "
						 "(no reply attributes from it)",
						 u->name, gn, gn);
					warn(arg, msg);
				}
			}
		}
		u->reply = codec_pairs_parse(c, cfg_getstr(sec, "reply"), perr, sizeof(perr));
		if (!u->reply) {
			snprintf(err, errlen, "users: user %s: %s", u->name, perr);
			goto out;
		}
	}
	qsort(c->users, n, sizeof(*c->users), user_cmp);

	n = cfg_size(cfg, "certificate");
	c->rules = talloc_zero_array(c, struct cert_rule, n ? n : 1);
	for (i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(cfg, "certificate", i);
		struct cert_rule *r = &c->rules[i];
		const char *b = cfg_getstr(sec, "identity");

		r->name = talloc_strdup(c, cfg_title(sec));
		if (cfg_getstr(sec, "issuer"))
			r->issuer = talloc_strdup(c, cfg_getstr(sec, "issuer"));
		if (cfg_getstr(sec, "subject"))
			r->subject = talloc_strdup(c, cfg_getstr(sec, "subject"));
		if (cfg_getstr(sec, "san"))
			r->san = talloc_strdup(c, cfg_getstr(sec, "san"));
		if (strcmp(b, "san_or_cn") == 0)
			r->binding = BIND_SAN_OR_CN;
		else if (strcmp(b, "san") == 0)
			r->binding = BIND_SAN;
		else if (strcmp(b, "cn") == 0)
			r->binding = BIND_CN;
		else if (strcmp(b, "none") == 0)
			r->binding = BIND_NONE;
		else {
			snprintf(err, errlen,
				 "users: certificate %s: identity must be san_or_cn, san, cn or "
				 "none",
				 r->name);
			goto out;
		}
		if (r->binding == BIND_NONE && !r->issuer && !r->subject && !r->san) {
			snprintf(err, errlen,
				 "users: certificate %s: identity = none needs an issuer, subject "
				 "or san pattern (it would accept any certificate from the CA)",
				 r->name);
			goto out;
		}
		r->reply = codec_pairs_parse(c, cfg_getstr(sec, "reply"), perr, sizeof(perr));
		if (!r->reply) {
			snprintf(err, errlen, "users: certificate %s: %s", r->name, perr);
			goto out;
		}
	}
	c->n_rules = n;
	ret = 0;
out:
	wipe_user_secrets(cfg);
	cfg_free(cfg);
	return ret;
}

struct conf *
conf_load(TALLOC_CTX *ctx, const char *dir, char *err, size_t errlen,
	  void (*warn)(void *arg, const char *text), void *arg)
{
	static unsigned generation;
	struct conf *c = talloc_zero(ctx, struct conf);
	char *real;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	talloc_set_destructor(c, conf_destructor);
	real = realpath(dir, NULL);
	if (!real) {
		snprintf(err, errlen, "configuration directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	c->dir = talloc_strdup(c, real);
	free(real);
	atomic_init(&c->refs, 1);
	c->generation = ++generation;

	if (load_main(c, err, errlen) < 0 || load_clients(c, err, errlen, warn, arg) < 0 ||
	    load_users(c, err, errlen, warn, arg) < 0)
		goto fail;
	if (c->n_clients == 0 && warn)
		warn(arg, "clients.conf defines no client: every request will be dropped");
	c->tls_server = tls_server_new(c, &c->tls, NULL, err, errlen);
	if (!c->tls_server)
		goto fail;
	return c;
fail:
	talloc_free(c);
	return NULL;
}
