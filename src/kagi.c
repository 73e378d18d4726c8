/*
 * kagi.c - the kagi admin CLI. Today: configuration check. Certificate lifecycle (`kagi cert`),
 * the EAP test peer (`kagi test`) and the load generator (`kagi bench`) come next.
 */
#include "codec.h"
#include "server.h"

#include <stdio.h>
#include <string.h>

static void
usage(FILE *fp)
{
	fprintf(fp, "Usage: kagi COMMAND [ARGS]\n"
		    "\n"
		    "Commands:\n"
		    "  check [-d DIR]   check a kagid configuration directory (default: raddb)\n"
		    "  help             this help\n"
		    "\n"
		    "Run `kagid --help` for the daemon.\n");
}

int
main(int argc, char **argv)
{
	char err[1024];
	const char *dir = "raddb";

	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "check") == 0) {
		if (argc == 4 && strcmp(argv[2], "-d") == 0)
			dir = argv[3];
		else if (argc != 2) {
			fprintf(stderr, "Usage: kagi check [-d DIR]\n");
			return 2;
		}
		if (codec_init("/usr/share/freeradius", err, sizeof(err)) < 0 ||
		    conf_check(dir, err, sizeof(err)) < 0) {
			fprintf(stderr, "Configuration error: %s\n", err);
			return 1;
		}
		codec_free();
		return 0;
	}
	fprintf(stderr, "kagi: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
