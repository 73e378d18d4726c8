/*
 * kagi.c - the kagi admin CLI: configuration check (`kagi check`) and the certificate
 * authority (`kagi cert`). The EAP test peer (`kagi test`) and the load generator
 * (`kagi bench`) come next.
 *
 * `kagi cert` parses options and prints; the work is in pki.c (CA operations on a PKI
 * directory), pki_store.c (the SQLite inventory), pki_files.c (atomic file sets) and
 * pki_x509.c (OpenSSL). Exit status: 0 done, 1 failed (nothing changed), 2 usage error.
 */
#include "kagi_bench.h"
#include "kagi_test.h"
#include "mschap.h"
#include "codec.h"
#include "pki.h"
#include "pki_x509.h"
#include "server.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PKI_DEFAULT_DIR "certs/pki"
#define EXPIRING_DAYS 30

static void
usage(FILE *fp)
{
	fprintf(fp, "Usage: kagi COMMAND [ARGS]\n"
		    "\n"
		    "Commands:\n"
		    "  check [-d DIR]   check a kagid configuration directory (default: raddb)\n"
		    "  cert COMMAND     certificate authority: init, issue, list, show, renew,\n"
		    "                   revoke, export, crl (`kagi cert --help`)\n"
		    "  test [OPTIONS]   one EAP authentication against a RADIUS server, as NAS\n"
		    "                   and supplicant (`kagi test --help`)\n"
		    "  bench [OPTIONS]  load-test a RADIUS server with concurrent EAP\n"
		    "                   conversations (`kagi bench --help`)\n"
		    "  help             this help\n"
		    "\n"
		    "Run `kagid --help` for the daemon.\n");
}

static int
cmd_check(int argc, char **argv)
{
	char err[1024];
	const char *dir = "raddb";

	if (argc == 4 && strcmp(argv[2], "-d") == 0)
		dir = argv[3];
	else if (argc != 2) {
		fprintf(stderr, "Usage: kagi check [-d DIR]\n");
		return 2;
	}
	if (codec_init("/usr/share/freeradius", true, err, sizeof(err)) < 0 ||
	    mschap_init(err, sizeof(err)) < 0 || conf_check(dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "Configuration error: %s\n", err);
		return 1;
	}
	mschap_free();
	codec_free();
	return 0;
}

/* test and bench: the EAP peer needs the dictionaries and MS-CHAPv2's MD4/DES. */
static int
cmd_peer(int argc, char **argv, int (*fn)(int, char **))
{
	char err[512];
	int rc;

	if (codec_init("/usr/share/freeradius", true, err, sizeof(err)) < 0 ||
	    mschap_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "kagi: %s\n", err);
		return 2;
	}
	rc = fn(argc - 1, argv + 1);
	mschap_free();
	codec_free();
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* kagi cert */

enum cert_cmd {
	CERT_INIT,
	CERT_ISSUE,
	CERT_LIST,
	CERT_SHOW,
	CERT_RENEW,
	CERT_REVOKE,
	CERT_EXPORT,
	CERT_CRL,
	CERT_HELP,
	CERT_NCMDS,
};

/* Options, as bits: each command accepts a subset. */
enum cert_opt {
	OPT_DIR = 1 << 0,
	OPT_HELP = 1 << 1,
	OPT_NAME = 1 << 2,
	OPT_ORG = 1 << 3,
	OPT_KEY = 1 << 4,
	OPT_DAYS = 1 << 5,
	OPT_INTERMEDIATE = 1 << 6,
	OPT_ISSUING_DAYS = 1 << 7,
	OPT_CERT_DAYS = 1 << 8,
	OPT_CRL_DAYS = 1 << 9,
	OPT_DNS = 1 << 10,
	OPT_EMAIL = 1 << 11,
	OPT_UPN = 1 << 12,
	OPT_DEVICE = 1 << 13,
	OPT_ALL = 1 << 14,
	OPT_PEM = 1 << 15,
	OPT_REVOKE_OLD = 1 << 16,
	OPT_REASON = 1 << 17,
	OPT_P12 = 1 << 18,
	OPT_OUT = 1 << 19,
	OPT_FORCE = 1 << 20,
};

#define MAX_SAN 16

struct cert_args {
	enum cert_cmd cmd;
	unsigned given; /* enum cert_opt bits */
	const char *dir;
	const char *name, *org, *key, *reason, *out;
	unsigned days, issuing_days, cert_days, crl_days;
	const char *dns[MAX_SAN], *email[MAX_SAN], *upn[MAX_SAN];
	unsigned n_dns, n_email, n_upn;
	const char *pos[3];
	int n_pos;
};

static const struct cert_cmd_info {
	const char *name;
	unsigned opts; /* accepted besides --dir and --help */
	int min_pos, max_pos;
	const char *synopsis;
	const char *help;
} cert_cmds[CERT_NCMDS] = {
	[CERT_INIT] = {"init",
		       OPT_NAME | OPT_ORG | OPT_KEY | OPT_DAYS | OPT_INTERMEDIATE |
			       OPT_ISSUING_DAYS | OPT_CERT_DAYS | OPT_CRL_DAYS,
		       0, 0,
		       "init [--name CN] [--org O] [--key TYPE] [--days N] [--intermediate]\n"
		       "     [--issuing-days N] [--cert-days N] [--crl-days N]",
		       "Create the certificate authority in DIR: a root CA (and with --intermediate an\n"
		       "issuing CA below it, which then signs every certificate), an empty CRL and the\n"
		       "inventory. Keys are mode 0600. Prints what to put in raddb/kagi.conf.\n"
		       "\n"
		       "  --name CN          root CA common name (default \"" PKI_DEFAULT_CA_NAME "\")\n"
		       "  --org O            organisation (O=) in every certificate's subject\n"
		       "  --key TYPE         ec (P-256, the default), ec:P-384, rsa (3072 bits),\n"
		       "                     rsa:2048, rsa:4096; also the default for issued certificates\n"
		       "  --days N           root CA lifetime (default 3650)\n"
		       "  --intermediate     also create an issuing CA\n"
		       "  --issuing-days N   issuing CA lifetime (default 1825)\n"
		       "  --cert-days N      default lifetime of issued certificates (default 730)\n"
		       "  --crl-days N       CRL lifetime (nextUpdate; default 30): run `kagi cert crl`\n"
		       "                     before it runs out\n"},
	[CERT_ISSUE] = {"issue", OPT_DNS | OPT_EMAIL | OPT_UPN | OPT_DEVICE | OPT_KEY | OPT_DAYS, 2,
			2,
			"issue server NAME --dns DNS [--dns DNS...] [--key TYPE] [--days N]\n"
			"issue client NAME [--email ADDR] [--upn UPN] [--device] [--dns DNS]\n"
			"                  [--key TYPE] [--days N]",
			"Issue a key and a certificate named NAME (its CN, and its file name in\n"
			"DIR/issued/). NAME: letters, digits and . _ @ + -, at most 64.\n"
			"\n"
			"server: EKU serverAuth and SAN dNSName for each --dns (at least one: Android 11+\n"
			"and Windows check the server name against them).\n"
			"client: EKU clientAuth. kagid's default identity binding accepts an EAP\n"
			"identity equal to a SAN (email, DNS, UPN) or to the CN, so NAME itself works as\n"
			"the identity; when NAME is an email address and no --email is given, it is also\n"
			"put in the SAN.\n"
			"\n"
			"  --dns DNS          SAN dNSName (repeatable)\n"
			"  --email ADDR       SAN email (rfc822Name) (repeatable)\n"
			"  --upn UPN          SAN Microsoft UPN otherName, user@domain (repeatable)\n"
			"  --device           machine certificate: SAN dNSName NAME (identity host/NAME)\n"
			"  --key TYPE         key type (default: the one given to init)\n"
			"  --days N           lifetime (default: init's --cert-days)\n"},
	[CERT_LIST] = {"list", OPT_ALL, 0, 0, "list [--all]",
		       "List the certificates: name, kind, status (valid, expiring within 30 days,\n"
		       "expired, revoked), expiry, serial and subject. Warns when the CRL is near its\n"
		       "nextUpdate.\n"
		       "\n"
		       "  --all              also the earlier certificates of renewed names (status old)\n"},
	[CERT_SHOW] = {"show", OPT_PEM, 1, 1, "show NAME|SERIAL [--pem]",
		       "Show one certificate: subject, issuer, SANs, EKU, validity, status, files.\n"
		       "\n"
		       "  --pem              print the certificate in PEM instead (never the key)\n"},
	[CERT_RENEW] = {"renew", OPT_KEY | OPT_DAYS | OPT_REVOKE_OLD, 1, 1,
			"renew NAME [--days N] [--key TYPE] [--revoke-old]",
			"Issue a new key and certificate for NAME, with the same subject, SANs and\n"
			"kind, replacing DIR/issued/NAME.pem and .key. The previous certificate stays\n"
			"valid until it expires (devices keep working until they get the new one),\n"
			"unless --revoke-old. Works on a revoked NAME too.\n"
			"\n"
			"  --days N           lifetime (default: init's --cert-days)\n"
			"  --key TYPE         key type (default: the same as before)\n"
			"  --revoke-old       revoke the previous certificate (reason superseded)\n"},
	[CERT_REVOKE] = {"revoke", OPT_REASON, 1, 1, "revoke NAME|SERIAL [--reason REASON]",
			 "Revoke a certificate and rewrite DIR/crl.pem atomically. kagid re-reads the\n"
			 "CRL when it changes: the certificate is refused from its next\n"
			 "authentication, with no restart and no signal.\n"
			 "\n"
			 "  --reason REASON    keyCompromise, affiliationChanged, superseded,\n"
			 "                     cessationOfOperation, privilegeWithdrawn or unspecified\n"
			 "                     (the default)\n"},
	[CERT_EXPORT] = {"export", OPT_P12 | OPT_OUT | OPT_FORCE, 1, 1,
			 "export NAME [--p12] [--out FILE] [--force]",
			 "Write a PKCS#12 file with NAME's key, certificate and the CA chain, for\n"
			 "handing over (USB stick, encrypted mail). It is encrypted with AES-256-CBC\n"
			 "(PBKDF2) and has a SHA-256 MAC; the password is generated and printed once,\n"
			 "on stdout, and stored nowhere. Give it to the user by another channel.\n"
			 "\n"
			 "  --p12              PKCS#12 (the only format; the default)\n"
			 "  --out FILE         where to write it (default NAME.p12 here); mode 0600\n"
			 "  --force            replace FILE if it exists\n"},
	[CERT_CRL] = {"crl", 0, 0, 0, "crl",
		      "Write a fresh CRL (new thisUpdate and nextUpdate). kagid refuses every client\n"
		      "certificate once the CRL has expired: run this from cron or a systemd timer,\n"
		      "say daily.\n"},
	[CERT_HELP] = {"help", 0, 0, 1, "help [COMMAND]", "Help on a command.\n"},
};

/* Print a synopsis: each line after prefix; continuation lines (indented) under it. */
static void
print_synopsis(FILE *fp, const char *syn, const char *prefix, const char *cont)
{
	const char *line = syn, *nl;

	do {
		nl = strchr(line, '\n');
		fprintf(fp, "%s%.*s\n", line == syn || *line != ' ' ? prefix : cont,
			nl ? (int)(nl - line) : (int)strlen(line), line);
		line = nl + 1;
	} while (nl);
}

static void
cert_usage(FILE *fp)
{
	int i;

	fprintf(fp, "Usage: kagi cert [--dir DIR] COMMAND [ARGS]\n"
		    "\n"
		    "The certificate authority for 802.1X: create it, issue server and client\n"
		    "certificates, hand them over as PKCS#12, revoke them (kagid picks the new CRL up\n"
		    "on its own). The PKI lives in DIR: --dir, else $KAGI_PKI, else " PKI_DEFAULT_DIR
		    ".\n"
		    "\n"
		    "Commands:\n");
	for (i = 0; i < CERT_NCMDS; i++)
		print_synopsis(fp, cert_cmds[i].synopsis, "  ", "  ");
	fprintf(fp, "\nRun `kagi cert COMMAND --help` for the details of one.\n");
}

static void
cert_cmd_usage(FILE *fp, enum cert_cmd c)
{
	print_synopsis(fp, cert_cmds[c].synopsis, "Usage: kagi cert [--dir DIR] ",
		       "                             ");
	fprintf(fp, "\n%s", cert_cmds[c].help);
}

static int
find_cmd(const char *s)
{
	int i;

	for (i = 0; i < CERT_NCMDS; i++)
		if (strcmp(cert_cmds[i].name, s) == 0)
			return i;
	return -1;
}

static int
parse_days(const char *opt, const char *s, unsigned *v)
{
	char *end;
	unsigned long n = strtoul(s, &end, 10);

	if (!*s || *end || s[0] == '-' || n == 0 || n > 36500) {
		fprintf(stderr, "kagi cert: %s wants a number of days from 1 to 36500, not \"%s\"\n",
			opt, s);
		return -1;
	}
	*v = (unsigned)n;
	return 0;
}

static int
push_san(const char **v, unsigned *n, const char *opt, const char *s)
{
	if (*n >= MAX_SAN) {
		fprintf(stderr, "kagi cert: at most %d %s\n", MAX_SAN, opt);
		return -1;
	}
	v[(*n)++] = s;
	return 0;
}

/* Returns 0, or the exit status (2) after printing why. */
static int
cert_parse(int argc, char **argv, struct cert_args *a)
{
	enum {
		L_NAME = 256, L_ORG, L_KEY, L_DAYS, L_INTERMEDIATE, L_ISSUING_DAYS, L_CERT_DAYS,
		L_CRL_DAYS, L_DNS, L_EMAIL, L_UPN, L_DEVICE, L_ALL, L_PEM, L_REVOKE_OLD, L_REASON,
		L_P12, L_FORCE,
	};
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"name", required_argument, NULL, L_NAME},
		{"org", required_argument, NULL, L_ORG},
		{"key", required_argument, NULL, L_KEY},
		{"days", required_argument, NULL, L_DAYS},
		{"intermediate", no_argument, NULL, L_INTERMEDIATE},
		{"issuing-days", required_argument, NULL, L_ISSUING_DAYS},
		{"cert-days", required_argument, NULL, L_CERT_DAYS},
		{"crl-days", required_argument, NULL, L_CRL_DAYS},
		{"dns", required_argument, NULL, L_DNS},
		{"email", required_argument, NULL, L_EMAIL},
		{"upn", required_argument, NULL, L_UPN},
		{"device", no_argument, NULL, L_DEVICE},
		{"all", no_argument, NULL, L_ALL},
		{"pem", no_argument, NULL, L_PEM},
		{"revoke-old", no_argument, NULL, L_REVOKE_OLD},
		{"reason", required_argument, NULL, L_REASON},
		{"p12", no_argument, NULL, L_P12},
		{"out", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, L_FORCE},
		{NULL, 0, NULL, 0},
	};
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{OPT_NAME, "--name"}, {OPT_ORG, "--org"}, {OPT_KEY, "--key"}, {OPT_DAYS, "--days"},
		{OPT_INTERMEDIATE, "--intermediate"}, {OPT_ISSUING_DAYS, "--issuing-days"},
		{OPT_CERT_DAYS, "--cert-days"}, {OPT_CRL_DAYS, "--crl-days"}, {OPT_DNS, "--dns"},
		{OPT_EMAIL, "--email"}, {OPT_UPN, "--upn"}, {OPT_DEVICE, "--device"},
		{OPT_ALL, "--all"}, {OPT_PEM, "--pem"}, {OPT_REVOKE_OLD, "--revoke-old"},
		{OPT_REASON, "--reason"}, {OPT_P12, "--p12"}, {OPT_OUT, "--out"},
		{OPT_FORCE, "--force"},
	};
	int c, i, cmd;
	size_t k;

	memset(a, 0, sizeof(*a));
	a->cmd = CERT_NCMDS;
	opterr = 0;
	optind = 1;
	/* GNU getopt permutes: options may come before or after the command and its NAME. */
	while ((c = getopt_long(argc, argv, ":d:ho:", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->given |= OPT_DIR, a->dir = optarg;
			break;
		case 'h':
			a->given |= OPT_HELP;
			break;
		case L_NAME:
			a->given |= OPT_NAME, a->name = optarg;
			break;
		case L_ORG:
			a->given |= OPT_ORG, a->org = optarg;
			break;
		case L_KEY:
			a->given |= OPT_KEY, a->key = optarg;
			break;
		case L_DAYS:
			a->given |= OPT_DAYS;
			if (parse_days("--days", optarg, &a->days) < 0)
				return 2;
			break;
		case L_INTERMEDIATE:
			a->given |= OPT_INTERMEDIATE;
			break;
		case L_ISSUING_DAYS:
			a->given |= OPT_ISSUING_DAYS;
			if (parse_days("--issuing-days", optarg, &a->issuing_days) < 0)
				return 2;
			break;
		case L_CERT_DAYS:
			a->given |= OPT_CERT_DAYS;
			if (parse_days("--cert-days", optarg, &a->cert_days) < 0)
				return 2;
			break;
		case L_CRL_DAYS:
			a->given |= OPT_CRL_DAYS;
			if (parse_days("--crl-days", optarg, &a->crl_days) < 0)
				return 2;
			break;
		case L_DNS:
			a->given |= OPT_DNS;
			if (push_san(a->dns, &a->n_dns, "--dns", optarg) < 0)
				return 2;
			break;
		case L_EMAIL:
			a->given |= OPT_EMAIL;
			if (push_san(a->email, &a->n_email, "--email", optarg) < 0)
				return 2;
			break;
		case L_UPN:
			a->given |= OPT_UPN;
			if (push_san(a->upn, &a->n_upn, "--upn", optarg) < 0)
				return 2;
			break;
		case L_DEVICE:
			a->given |= OPT_DEVICE;
			break;
		case L_ALL:
			a->given |= OPT_ALL;
			break;
		case L_PEM:
			a->given |= OPT_PEM;
			break;
		case L_REVOKE_OLD:
			a->given |= OPT_REVOKE_OLD;
			break;
		case L_REASON:
			a->given |= OPT_REASON, a->reason = optarg;
			break;
		case L_P12:
			a->given |= OPT_P12;
			break;
		case 'o':
			a->given |= OPT_OUT, a->out = optarg;
			break;
		case L_FORCE:
			a->given |= OPT_FORCE;
			break;
		case ':':
			fprintf(stderr, "kagi cert: %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "kagi cert: unknown option %s (see `kagi cert --help`)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		cert_usage((a->given & OPT_HELP) ? stdout : stderr);
		a->cmd = CERT_HELP;
		return (a->given & OPT_HELP) ? -1 : 2;
	}
	cmd = find_cmd(argv[optind]);
	if (cmd < 0) {
		fprintf(stderr, "kagi cert: unknown command \"%s\"\n\n", argv[optind]);
		cert_usage(stderr);
		return 2;
	}
	a->cmd = (enum cert_cmd)cmd;
	if (a->given & OPT_HELP) {
		cert_cmd_usage(stdout, a->cmd);
		return -1;
	}
	for (i = optind + 1; i < argc; i++) {
		if (a->n_pos >= cert_cmds[cmd].max_pos) {
			fprintf(stderr, "kagi cert %s: unexpected argument \"%s\"\n\n",
				cert_cmds[cmd].name, argv[i]);
			cert_cmd_usage(stderr, a->cmd);
			return 2;
		}
		a->pos[a->n_pos++] = argv[i];
	}
	if (a->n_pos < cert_cmds[cmd].min_pos) {
		fprintf(stderr, "kagi cert %s: missing argument\n\n", cert_cmds[cmd].name);
		cert_cmd_usage(stderr, a->cmd);
		return 2;
	}
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if ((a->given & names[k].bit) && !(cert_cmds[cmd].opts & names[k].bit)) {
			fprintf(stderr, "kagi cert %s: %s does not apply here\n\n",
				cert_cmds[cmd].name, names[k].name);
			cert_cmd_usage(stderr, a->cmd);
			return 2;
		}
	}
	if (!a->dir)
		a->dir = getenv("KAGI_PKI");
	if (!a->dir || !*a->dir)
		a->dir = PKI_DEFAULT_DIR;
	return 0;
}

/* ---- presentation ---- */

static void
date_str(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t > 0 && gmtime_r(&t, &tm))
		strftime(buf, len, "%Y-%m-%d", &tm);
	else
		snprintf(buf, len, "-");
}

static void
datetime_str(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t > 0 && gmtime_r(&t, &tm))
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(buf, len, "-");
}

static const char *
status_str(const struct pki_cert *c, time_t now)
{
	if (c->revoked)
		return "revoked";
	if (!c->current)
		return "old";
	if (c->not_after < now)
		return "expired";
	if (c->not_after - now < (time_t)EXPIRING_DAYS * 86400)
		return "expiring";
	return "valid";
}

/* " --dir DIR" when the PKI was named on the command line, for hints that can be pasted. */
static char *
dir_opt(TALLOC_CTX *ctx, const struct cert_args *a)
{
	return (a->given & OPT_DIR) ? talloc_asprintf(ctx, " --dir %s", a->dir)
				    : talloc_strdup(ctx, "");
}

/* An absolute form of path for kagi.conf snippets (the path itself if that fails). */
static const char *
abs_path(const char *path, char *buf)
{
	return realpath(path, buf) ? buf : path;
}

static void
crl_warning(struct pki *p, time_t now)
{
	char err[512], when[64];
	time_t next;

	switch (pki_crl_status(p, now, &next, err, sizeof(err))) {
	case PKI_CRL_OK:
		break;
	case PKI_CRL_DUE:
		datetime_str(next, when, sizeof(when));
		fprintf(stderr,
			"warning: the CRL expires on %s (in %ld hours): run `kagi cert crl` now; "
			"once it has expired kagid refuses every client certificate\n",
			when, (long)((next - now) / 3600));
		break;
	case PKI_CRL_EXPIRED:
		datetime_str(next, when, sizeof(when));
		fprintf(stderr,
			"warning: the CRL EXPIRED on %s: kagid refuses every client certificate "
			"(reason \"CRL expired\") until you run `kagi cert crl`\n",
			when);
		break;
	case PKI_CRL_BAD:
		fprintf(stderr, "warning: %s\n", err);
		break;
	}
}

static void
print_conf_ca(struct pki *p)
{
	char a[PATH_MAX], b[PATH_MAX];
	char *ca = pki_path(p, p, PKI_CA_FILE), *crl = pki_path(p, p, PKI_CRL_FILE);

	printf("In raddb/kagi.conf (relative paths are relative to raddb/):\n"
	       "    tls {\n"
	       "        ca_file = %s\n"
	       "        crl_file = %s\n"
	       "        check_crl = yes\n"
	       "        ...\n"
	       "    }\n",
	       abs_path(ca, a), abs_path(crl, b));
	talloc_free(ca);
	talloc_free(crl);
}

/* ---- commands ---- */

static int
cert_init(TALLOC_CTX *ctx, const struct cert_args *a, time_t now)
{
	struct pki_init_opts o = {
		.ca_name = a->name,
		.org = a->org,
		.key = a->key,
		.ca_days = a->days,
		.intermediate = (a->given & OPT_INTERMEDIATE) != 0,
		.issuing_days = a->issuing_days,
		.cert_days = a->cert_days,
		.crl_days = a->crl_days,
	};
	struct pki_ca_info info;
	struct pki *p;
	char err[1024], until[64];

	if ((a->given & OPT_ISSUING_DAYS) && !o.intermediate) {
		fprintf(stderr, "kagi cert init: --issuing-days needs --intermediate\n");
		return 2;
	}
	p = pki_init(ctx, a->dir, &o, now, err, sizeof(err));
	if (!p || pki_ca_info(p, &info, err, sizeof(err)) < 0) {
		fprintf(stderr, "kagi cert init: %s\n", err);
		return 1;
	}
	printf("Created the certificate authority in %s\n", a->dir);
	date_str(info.root_not_after, until, sizeof(until));
	printf("  root CA     %s (%s, valid until %s)\n", info.root_subject, info.root_key, until);
	if (info.issuing_subject[0]) {
		date_str(info.issuing_not_after, until, sizeof(until));
		printf("  issuing CA  %s (%s, valid until %s)\n", info.issuing_subject,
		       info.issuing_key, until);
	}
	printf("  CRL         %s/%s (empty, valid %u days)\n\n", a->dir, PKI_CRL_FILE,
	       info.crl_days);
	print_conf_ca(p);
	printf("\nNext: kagi cert%s issue server NAME --dns NAME, then kagi cert%s issue client "
	       "NAME\n",
	       dir_opt(ctx, a), dir_opt(ctx, a));
	return 0;
}

static int
cert_issue(TALLOC_CTX *ctx, struct pki *p, const struct cert_args *a, time_t now)
{
	struct pki_issue_opts o = {
		.name = a->pos[1],
		.dns = a->dns,
		.n_dns = a->n_dns,
		.email = a->email,
		.n_email = a->n_email,
		.upn = a->upn,
		.n_upn = a->n_upn,
		.device = (a->given & OPT_DEVICE) != 0,
		.key = a->key,
		.days = a->days,
	};
	struct pki_cert *c;
	char err[1024], until[64], ab[PATH_MAX], bb[PATH_MAX];
	char *cert, *key;

	if (strcmp(a->pos[0], "server") == 0)
		o.kind = PKI_KIND_SERVER;
	else if (strcmp(a->pos[0], "client") == 0)
		o.kind = PKI_KIND_CLIENT;
	else {
		fprintf(stderr, "kagi cert issue: \"%s\": say server or client\n\n", a->pos[0]);
		cert_cmd_usage(stderr, CERT_ISSUE);
		return 2;
	}
	c = pki_issue(p, ctx, &o, now, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "kagi cert issue: %s\n", err);
		return 1;
	}
	cert = pki_cert_path(ctx, p, c->name);
	key = pki_key_path(ctx, p, c->name);
	date_str(c->not_after, until, sizeof(until));
	printf("Issued %s certificate \"%s\", serial %s, valid until %s\n", pki_kind_name(c->kind),
	       c->name, c->serial, until);
	printf("  subject      %s\n", c->subject);
	printf("  SAN          %s\n", c->sans[0] ? c->sans : "(none)");
	printf("  EKU          %s\n", c->kind == PKI_KIND_SERVER ? "serverAuth" : "clientAuth");
	printf("  certificate  %s\n", cert);
	printf("  private key  %s (mode 0600)\n", key);
	if (c->kind == PKI_KIND_SERVER)
		printf("\nIn raddb/kagi.conf:\n    tls {\n        certificate = %s\n"
		       "        private_key = %s\n    }\n",
		       abs_path(cert, ab), abs_path(key, bb));
	else
		printf("\nHand it over: kagi cert%s export %s\n", dir_opt(ctx, a), c->name);
	return 0;
}

static int
cert_list(TALLOC_CTX *ctx, struct pki *p, const struct cert_args *a, time_t now)
{
	struct pki_cert **v;
	unsigned n, i;
	int wn = 4, wk = 6, ws = 6;
	char err[1024], until[64];

	if (pki_list(p, ctx, (a->given & OPT_ALL) != 0, &v, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "kagi cert list: %s\n", err);
		return 1;
	}
	for (i = 0; i < n; i++) {
		int l = (int)strlen(v[i]->name);

		wn = l > wn ? l : wn;
		l = (int)strlen(v[i]->serial);
		ws = l > ws ? l : ws;
	}
	printf("%-*s  %-*s  %-8s  %-10s  %-*s  %s\n", wn, "NAME", wk, "KIND", "STATUS", "EXPIRES",
	       ws, "SERIAL", "SUBJECT");
	for (i = 0; i < n; i++) {
		date_str(v[i]->not_after, until, sizeof(until));
		printf("%-*s  %-*s  %-8s  %-10s  %-*s  %s\n", wn, v[i]->name, wk,
		       pki_kind_name(v[i]->kind), status_str(v[i], now), until, ws, v[i]->serial,
		       v[i]->subject);
	}
	if (n == 0)
		fprintf(stderr, "(no certificates yet: kagi cert issue ...)\n");
	crl_warning(p, now);
	return 0;
}

static int
cert_show(TALLOC_CTX *ctx, struct pki *p, const struct cert_args *a, time_t now)
{
	struct pki_cert *c = NULL;
	char err[1024], t1[64], t2[64], key[64];
	X509 *x;

	switch (pki_find(p, ctx, a->pos[0], &c, err, sizeof(err))) {
	case PKI_FOUND:
		break;
	case PKI_NOT_FOUND:
		fprintf(stderr, "kagi cert show: no certificate named \"%s\" or with that serial "
				"number\n",
			a->pos[0]);
		return 1;
	case PKI_FIND_ERROR:
		fprintf(stderr, "kagi cert show: %s\n", err);
		return 1;
	}
	if (a->given & OPT_PEM) {
		fputs(c->pem, stdout);
		return 0;
	}
	x = pki_x509_read_cert(NULL, c->pem, err, sizeof(err));
	if (!x) {
		fprintf(stderr, "kagi cert show: %s\n", err);
		return 1;
	}
	pki_x509_key_desc(x, key, sizeof(key));
	printf("name         %s\n", c->name);
	printf("kind         %s\n", pki_kind_name(c->kind));
	printf("status       %s\n", status_str(c, now));
	if (c->revoked) {
		datetime_str(c->revoked_at, t1, sizeof(t1));
		printf("revoked      %s, reason %s\n", t1, pki_reason_name(c->reason));
	}
	printf("serial       %s\n", c->serial);
	printf("subject      %s\n", c->subject);
	printf("issuer       %s\n", c->issuer);
	printf("SAN          %s\n", c->sans[0] ? c->sans : "(none)");
	printf("EKU          %s\n", pki_x509_eku_str(x));
	printf("key          %s\n", key);
	datetime_str(c->not_before, t1, sizeof(t1));
	datetime_str(c->not_after, t2, sizeof(t2));
	printf("valid        %s to %s\n", t1, t2);
	datetime_str(c->issued_at, t1, sizeof(t1));
	printf("issued       %s\n", t1);
	if (c->current) {
		printf("certificate  %s\n", pki_cert_path(ctx, p, c->name));
		printf("private key  %s\n", pki_key_path(ctx, p, c->name));
	} else {
		printf("             (an earlier certificate of \"%s\", renewed since)\n", c->name);
	}
	X509_free(x);
	return 0;
}

static int
cert_renew(TALLOC_CTX *ctx, struct pki *p, const struct cert_args *a, time_t now)
{
	struct pki_renew_opts o = {
		.key = a->key,
		.days = a->days,
		.revoke_old = (a->given & OPT_REVOKE_OLD) != 0,
	};
	struct pki_cert *c;
	char err[1024], until[64];

	c = pki_renew(p, ctx, a->pos[0], &o, now, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "kagi cert renew: %s\n", err);
		return 1;
	}
	date_str(c->not_after, until, sizeof(until));
	printf("Renewed \"%s\": new key, serial %s, valid until %s\n", c->name, c->serial, until);
	printf("  certificate  %s\n", pki_cert_path(ctx, p, c->name));
	printf("  private key  %s\n", pki_key_path(ctx, p, c->name));
	printf("The previous certificate %s.\n", o.revoke_old
							 ? "is revoked (superseded); CRL rewritten"
							 : "stays valid until it expires or is revoked");
	if (c->kind == PKI_KIND_CLIENT)
		printf("Hand the new one over: kagi cert%s export %s\n", dir_opt(ctx, a),
		       c->name);
	return 0;
}

static int
cert_revoke(TALLOC_CTX *ctx, struct pki *p, const struct cert_args *a, time_t now)
{
	enum pki_reason reason = PKI_REASON_UNSPECIFIED;
	struct pki_cert *c;
	char err[1024];

	if (a->reason && pki_reason_parse(a->reason, &reason) < 0) {
		fprintf(stderr, "kagi cert revoke: unknown reason \"%s\" (%s)\n", a->reason,
			pki_reason_list());
		return 2;
	}
	c = pki_revoke(p, ctx, a->pos[0], reason, now, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "kagi cert revoke: %s\n", err);
		return 1;
	}
	printf("Revoked \"%s\" (serial %s, reason %s); wrote %s/%s.\n", c->name, c->serial,
	       pki_reason_name(c->reason), a->dir, PKI_CRL_FILE);
	printf("kagid refuses this certificate from its next authentication (it re-reads the "
	       "CRL by itself).\n");
	return 0;
}

static int
cert_export(TALLOC_CTX *ctx, struct pki *p, const struct cert_args *a, time_t now)
{
	char err[1024], password[64];
	const char *out = a->out;
	struct pki_cert *c;

	if (!out) {
		if (!pki_name_valid(a->pos[0])) {
			fprintf(stderr, "kagi cert export: give --out FILE\n");
			return 2;
		}
		out = talloc_asprintf(ctx, "%s.p12", a->pos[0]);
	}
	if (!(a->given & OPT_FORCE) && access(out, F_OK) == 0) {
		fprintf(stderr, "kagi cert export: %s exists (--force replaces it)\n", out);
		return 1;
	}
	c = pki_export_p12(p, ctx, a->pos[0], out, (a->given & OPT_FORCE) != 0, password,
			   sizeof(password), now, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "kagi cert export: %s\n", err);
		return 1;
	}
	printf("Wrote %s: key, certificate and CA chain of \"%s\" (serial %s),\n"
	       "PKCS#12 with AES-256-CBC, PBKDF2 and a SHA-256 MAC; mode 0600.\n",
	       out, c->name, c->serial);
	printf("Password (shown once, stored nowhere): %s\n", password);
	fflush(stdout);
	OPENSSL_cleanse(password, sizeof(password));
	return 0;
}

static int
cert_crl(struct pki *p, const struct cert_args *a, time_t now)
{
	char err[1024], when[64];
	time_t next;

	if (pki_crl_update(p, now, err, sizeof(err)) < 0) {
		fprintf(stderr, "kagi cert crl: %s\n", err);
		return 1;
	}
	if (pki_crl_status(p, now, &next, err, sizeof(err)) == PKI_CRL_BAD) {
		fprintf(stderr, "kagi cert crl: %s\n", err);
		return 1;
	}
	datetime_str(next, when, sizeof(when));
	printf("Wrote %s/%s; next update %s.\n", a->dir, PKI_CRL_FILE, when);
	return 0;
}

static int
cmd_cert(int argc, char **argv)
{
	struct cert_args a;
	TALLOC_CTX *ctx;
	struct pki *p;
	char err[1024];
	time_t now = time(NULL);
	int rc;

	rc = cert_parse(argc - 1, argv + 1, &a);
	if (rc == -1)
		return 0; /* help printed */
	if (rc != 0)
		return rc;
	if (a.cmd == CERT_HELP) {
		int c = a.n_pos ? find_cmd(a.pos[0]) : -1;

		if (a.n_pos && c < 0) {
			fprintf(stderr, "kagi cert help: unknown command \"%s\"\n", a.pos[0]);
			return 2;
		}
		if (c < 0)
			cert_usage(stdout);
		else
			cert_cmd_usage(stdout, (enum cert_cmd)c);
		return 0;
	}
	ctx = talloc_new(NULL);
	if (!ctx)
		return 1;
	if (a.cmd == CERT_INIT) {
		rc = cert_init(ctx, &a, now);
		talloc_free(ctx);
		return rc;
	}
	p = pki_open(ctx, a.dir, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "kagi cert %s: %s\n", cert_cmds[a.cmd].name, err);
		talloc_free(ctx);
		return 1;
	}
	switch (a.cmd) {
	case CERT_ISSUE:
		rc = cert_issue(ctx, p, &a, now);
		break;
	case CERT_LIST:
		rc = cert_list(ctx, p, &a, now);
		break;
	case CERT_SHOW:
		rc = cert_show(ctx, p, &a, now);
		break;
	case CERT_RENEW:
		rc = cert_renew(ctx, p, &a, now);
		break;
	case CERT_REVOKE:
		rc = cert_revoke(ctx, p, &a, now);
		break;
	case CERT_EXPORT:
		rc = cert_export(ctx, p, &a, now);
		break;
	case CERT_CRL:
		rc = cert_crl(p, &a, now);
		break;
	default:
		rc = 2;
		break;
	}
	talloc_free(ctx);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		if (argc >= 3 && strcmp(argv[1], "help") == 0 && strcmp(argv[2], "cert") == 0) {
			cert_usage(stdout);
			return 0;
		}
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc, argv);
	if (strcmp(argv[1], "cert") == 0)
		return cmd_cert(argc, argv);
	if (strcmp(argv[1], "test") == 0)
		return cmd_peer(argc, argv, kagi_test_main);
	if (strcmp(argv[1], "bench") == 0)
		return cmd_peer(argc, argv, kagi_bench_main);
	fprintf(stderr, "kagi: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
