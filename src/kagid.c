/*
 * kagid.c - the kagi RADIUS daemon: options, configuration, listeners, event loop.
 */
#include "codec.h"
#include "log.h"
#include "mschap.h"
#include "server.h"
#include "tls_pkey.h"

#include <getopt.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <unistd.h>

#define DICT_DIR "/usr/share/freeradius"

static void
usage(FILE *fp)
{
	fprintf(fp,
		"Usage: kagid [-d DIR] [-f] [-X] [-C] [-t N] [-D DICTDIR]\n"
		"kagi RADIUS server for 802.1X (EAP-TLS, TLS 1.2 and 1.3).\n"
		"\n"
		"  -d DIR      configuration directory (default: raddb)\n"
		"  -f          stay in the foreground (log to stderr)\n"
		"  -X          debug: foreground, trace every packet and EAP/TLS step\n"
		"  -C          check the configuration and exit (0 = OK)\n"
		"  -t N        worker threads (default: limits { threads } in kagi.conf,\n"
		"              else one per CPU)\n"
		"  -D DICTDIR  RADIUS dictionary directory (default: " DICT_DIR ")\n"
		"  -h, --help  this help\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop, SIGHUP reloads the configuration.\n"
		"Files in DIR: kagi.conf, clients.conf, users. See README.md.\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = "raddb", *dict = DICT_DIR;
	bool foreground = false, debug = false, check = false;
	char err[1024];
	struct server *srv;
	int c, ret;
	unsigned threads = 0;

	while ((c = getopt_long(argc, argv, "d:fXCt:D:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'X':
			debug = foreground = true;
			break;
		case 'C':
			check = true;
			break;
		case 't': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*optarg < '0' || *optarg > '9' || *end || n < 1 || n > 64) {
				fprintf(stderr, "kagid: -t wants a number of threads from 1 to 64\n");
				return 2;
			}
			threads = (unsigned)n;
			break;
		}
		case 'D':
			dict = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	log_init(debug, false);
	if (codec_init(dict, false, err, sizeof(err)) < 0 || mschap_init(err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 1;
	}
	if (tls_pkey_fast_decode())
		log_debug("TLS: certificate public keys decoded directly (no OpenSSL 3.0 decoder search)");
	if (check) {
		ret = conf_check(dir, err, sizeof(err)) == 0 ? 0 : 1;
		if (ret)
			fprintf(stderr, "Configuration error: %s\n", err);
		mschap_free();
		codec_free();
		return ret;
	}

	srv = server_new(NULL, dir, debug, err, sizeof(err));
	if (!srv) {
		log_error("%s", err);
		mschap_free();
		codec_free();
		return 1;
	}
	server_set_threads(srv, threads);
	if (!foreground) {
		if (daemon(1, 0) < 0) {
			log_error("cannot become a daemon");
			talloc_free(srv);
			return 1;
		}
		log_init(false, true);
		server_daemonized(srv);
	}
	ret = server_run(srv) == 0 ? 0 : 1;
	talloc_free(srv);
	mschap_free();
	codec_free();
	OPENSSL_cleanup();
	return ret;
}
