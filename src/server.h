/*
 * server.h - kagid's server: the receive pipeline and the event loop.
 *
 *   UDP datagram -> client by source address (unknown: dropped, nothing allocated)
 *   -> frame check + Message-Authenticator (missing/bad: dropped, before any state is touched)
 *   -> duplicate cache (retransmission: cached reply bytes) -> decode
 *   -> Status-Server: Access-Accept | Access-Request: EAP session -> method
 *   -> reply (Message-Authenticator first), sign, send, cache; one auth-log line per outcome.
 *
 * The main thread receives and drops; worker threads decode and answer (see server.c).
 */
#ifndef KAGI_SERVER_H
#define KAGI_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <talloc.h>

struct server;
struct conf;

/*
 * server_new - load the configuration from dir, open the auth log and bind the listeners.
 * NULL with err set.
 */
struct server *server_new(TALLOC_CTX *ctx, const char *dir, bool debug, char *err,
			  size_t errlen);

/*
 * server_reload - build a new configuration generation and swap it in; on error the old one
 * stays and -1 is returned with err set. Listen addresses are fixed at start-up.
 */
int server_reload(struct server *srv, char *err, size_t errlen);

/* server_set_threads - worker threads (overrides the configuration; 0 = as configured). */
void server_set_threads(struct server *srv, unsigned n);

/* server_daemonized - kagid left the terminal: "-" logs go to syslog from now on. */
void server_daemonized(struct server *srv);

/* server_run - the event loop until SIGTERM/SIGINT; SIGHUP reloads. 0 on a clean stop. */
int server_run(struct server *srv);

/* conf_check - load a configuration and report (used by kagid -C and kagi check). */
int conf_check(const char *dir, char *err, size_t errlen);

#endif
