# tests/integration/lib.sh: shared helpers for integration tests (sourced, bash).
#
# Every test script: source this, call kt_init, write config with kt_config, kt_start, run its
# cases with kt_ok / kt_fail, and exits through the EXIT trap, which stops kagid by its PID and
# removes the temp dir. Output is TAP-like: "ok NAME" / "not ok NAME - why"; tests/run counts them.
#
# Environment:
#   KAGID     path of the kagid binary (default: bin/kagid from the repo top)
#   KT_KEEP=1 keep the temp dir for debugging

KT_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KAGID=${KAGID:-$KT_TOP/bin/kagid}
KAGI=${KAGI:-$KT_TOP/bin/kagi}
KT_PID=
KT_PORT=
KT_FAILS=0

kt_ok()   { echo "ok $1"; }
kt_fail() { echo "not ok $1 - ${2:-failed}"; KT_FAILS=$((KT_FAILS + 1)); }
# kt_check NAME CMD...: ok if CMD succeeds
kt_check() { local n=$1; shift; if "$@"; then kt_ok "$n"; else kt_fail "$n"; fi; }

kt_cleanup() {
	kt_stop
	if [ -n "${KT_DIR:-}" ] && [ -z "${KT_KEEP:-}" ]; then rm -rf "$KT_DIR"; fi
}

# kt_init: temp dir $KT_DIR with a test PKI in $KT_DIR/pki (see certs/mkpki.sh).
kt_init() {
	KT_DIR=$(mktemp -d /tmp/kagi-test.XXXXXX)
	trap kt_cleanup EXIT
	mkdir -p "$KT_DIR/raddb"
	KT_SECRET="kt-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
	if [ -n "${KT_PKI_CACHE:-}" ] && [ -d "$KT_PKI_CACHE" ]; then
		cp -a "$KT_PKI_CACHE" "$KT_DIR/pki"
	else
		bash "$KT_TOP/certs/mkpki.sh" --test "$KT_DIR/pki" >"$KT_DIR/mkpki.log" 2>&1 ||
			{ echo "not ok pki - mkpki.sh failed"; cat "$KT_DIR/mkpki.log"; exit 1; }
	fi
}

# kt_free_port: print a free UDP port on 127.0.0.1
kt_free_port() {
	python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

# kt_config [TLS_EXTRA] [LIMITS_EXTRA] [TOP_EXTRA]: write raddb/ for the test PKI.
# The server uses pki/server.pem (RSA) unless KT_SERVER=ec is set. The eap section lists
# KT_METHODS (default "tls"; e.g. "tls, peap, ttls") and then the lines in KT_EAP_EXTRA.
kt_config() {
	local tls_extra=${1:-} limits_extra=${2:-} top_extra=${3:-}
	local srv=server
	[ "${KT_SERVER:-rsa}" = ec ] && srv=server-ec
	KT_PORT=$(kt_free_port)
	cat >"$KT_DIR/raddb/kagi.conf" <<CONF
listen {
    ipaddr = 127.0.0.1
    port = $KT_PORT
}
tls {
    certificate = $KT_DIR/pki/$srv.pem
    private_key = $KT_DIR/pki/$srv.key
    ca_file = $KT_DIR/pki/ca.pem
    crl_file = $KT_DIR/pki/ca.crl
    check_crl = yes
$tls_extra
}
eap {
    methods = { ${KT_METHODS:-tls} }
${KT_EAP_EXTRA:-}
}
limits {
$limits_extra
}
log {
    auth_log = "$KT_DIR/auth.log"
}
$top_extra
CONF
	cat >"$KT_DIR/raddb/clients.conf" <<CONF
client test {
    ipaddr = 127.0.0.1
    secret = "$KT_SECRET"
    shortname = test
}
CONF
	[ -f "$KT_DIR/raddb/users" ] || : >"$KT_DIR/raddb/users"
}

# kt_start [EXTRA ARGS]: start kagid -X in the background; sets KT_PID. Fails the script if
# kagid does not report ready within 10 s.
kt_start() {
	: >"$KT_DIR/auth.log"
	"$KAGID" -d "$KT_DIR/raddb" -X "$@" >"$KT_DIR/kagid.out" 2>"$KT_DIR/kagid.log" &
	KT_PID=$!
	local i
	for i in $(seq 1 200); do
		if grep -q "Ready to process requests" "$KT_DIR/kagid.log" 2>/dev/null; then return 0; fi
		if ! kill -0 "$KT_PID" 2>/dev/null; then break; fi
		sleep 0.05
	done
	echo "not ok kagid-start - kagid did not become ready"
	sed 's/^/# /' "$KT_DIR/kagid.log" | tail -30
	# do not leave a kagid that is alive but never became ready
	kill -KILL "$KT_PID" 2>/dev/null
	wait "$KT_PID" 2>/dev/null
	KT_PID=
	exit 1
}

# kt_stop: SIGTERM kagid, wait up to 5 s, check it exited 0 and that the sanitizers said nothing.
kt_stop() {
	[ -n "${KT_PID:-}" ] || return 0
	local pid=$KT_PID rc i
	KT_PID=
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		echo "not ok kagid-stop - kagid did not stop on SIGTERM"
		KT_FAILS=$((KT_FAILS + 1))
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer" "$KT_DIR/kagid.log" 2>/dev/null; then
		echo "not ok sanitizer - kagid sanitizer report:"
		grep -A30 -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer" "$KT_DIR/kagid.log" | sed 's/^/# /' | head -60
		KT_FAILS=$((KT_FAILS + 1))
	elif [ "$rc" -ne 0 ]; then
		echo "not ok kagid-exit - kagid exited with status $rc"
		tail -20 "$KT_DIR/kagid.log" | sed 's/^/# /'
		KT_FAILS=$((KT_FAILS + 1))
	fi
}

# kt_auth_last: the last JSON line of the auth log
kt_auth_last() { tail -n 1 "$KT_DIR/auth.log"; }

# kt_wait_auth_lines N: wait (up to 5 s) until the auth log has at least N lines
kt_wait_auth_lines() {
	local i
	for i in $(seq 1 100); do
		[ "$(wc -l <"$KT_DIR/auth.log")" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
