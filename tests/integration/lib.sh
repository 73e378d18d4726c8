# tests/integration/lib.sh: shared helpers for integration tests (sourced, bash).
#
# Every test script: source this, call kt_init, write config with kt_config, kt_start, run its
# cases with kt_ok / kt_fail, and exits through the EXIT trap, which stops kagid by its PID and
# removes the temp dir. Output is TAP-like: "ok NAME" / "not ok NAME - why"; tests/run counts them.
# Checks of the auth log (kt_auth_*, kt_json_check) and of eapol_test runs (kt_eapol_*) print
# why they fail and return 1, for the script to report: why=$(kt_...) || kt_fail NAME "$why".
#
# Environment:
#   KAGID     path of the kagid binary (default: bin/kagid from the repo top)
#   KT_KEEP=1 keep the temp dir for debugging
#   KT_EAPOL_TIMEOUT  eapol_test's timeout in seconds (default 10)

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
	# kagid -X runs one worker unless told otherwise: the tests run two (KT_THREADS), so that
	# every script exercises concurrent workers, unless the script sets threads itself.
	case $limits_extra in *threads*) ;; *) limits_extra="$limits_extra
    threads = ${KT_THREADS:-2}" ;; esac
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

# kt_stop_save TAG: kt_stop, then keep this instance's auth.log, kagid.log and kagid.out as
# $KT_DIR/logs/TAG.* (for checks over every instance, like the no-secrets ones); the next
# kt_start begins them afresh.
kt_stop_save() {
	kt_stop
	mkdir -p "$KT_DIR/logs"
	local f
	for f in auth.log kagid.log kagid.out; do
		cp "$KT_DIR/$f" "$KT_DIR/logs/$1.$f" 2>/dev/null
	done
}

# ---------------------------------------------------------------------------------------------
# The auth log: one JSON object a line (log { auth_log } in kagi.conf).

# kt_auth_lines: how many lines the auth log has
kt_auth_lines() { wc -l <"$KT_DIR/auth.log"; }

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

# KT_AUTH_KEYS: keys kt_json_check requires in every line it checks, whatever the SPECs ask
# (space-separated; default none).

# kt_json_check LINE SPEC...: check line LINE (1-based) of the auth log: a JSON object in which
# every SPEC holds:
#   KEY=VALUE    equal: "true"/"false" mean the JSON booleans, all digits a number, else a string
#   KEY~TEXT     a string that contains TEXT
#   KEY!         absent or null
# and that has every key of KT_AUTH_KEYS. Prints why not (nothing when all hold); returns 0 / 1.
kt_json_check() {
	KT_AUTH_KEYS=${KT_AUTH_KEYS:-} python3 - "$KT_DIR/auth.log" "$@" <<'PY'
import json, os, sys
path, n = sys.argv[1], int(sys.argv[2])
lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
if n < 1 or len(lines) < n:
    print(f"auth log has {len(lines)} lines, wanted line {n}")
    sys.exit(1)
try:
    o = json.loads(lines[n - 1])
except ValueError as e:
    print(f"auth log line {n} is not JSON ({e}): {lines[n-1][:200]}")
    sys.exit(1)
if not isinstance(o, dict):
    print(f"auth log line {n} is not an object")
    sys.exit(1)
errs = [f"{k} missing" for k in os.environ["KT_AUTH_KEYS"].split() if k not in o]
for spec in sys.argv[3:]:
    if spec.endswith("!"):
        if o.get(spec[:-1]) is not None:
            errs.append(f"{spec[:-1]}={o.get(spec[:-1])!r} (want none)")
        continue
    if "~" in spec and ("=" not in spec or spec.index("~") < spec.index("=")):
        k, v = spec.split("~", 1)
        got = o.get(k)
        if not isinstance(got, str) or v not in got:
            errs.append(f"{k}={got!r} (want it to contain {v!r})")
        continue
    k, v = spec.split("=", 1)
    want = {"true": True, "false": False}.get(v, int(v) if v.isdigit() else v)
    got = o.get(k, "<missing>")
    if got != want:
        errs.append(f"{k}={got!r} (want {want!r})")
if errs:
    print("; ".join(errs) + " | line: " + lines[n - 1][:400])
    sys.exit(1)
PY
}

# kt_auth_expect BASE N [I:SPEC,SPEC...]...: the auth log, which had BASE lines, gets exactly N
# more: waits up to 5 s for them, checks new line I (1-based) against its kt_json_check SPECs
# (comma-separated, so no value may hold a comma), then waits 0.1 s for a line too many. Prints
# why not; returns 0 / 1.
kt_auth_expect() {
	local base=$1 n=$2 spec why specs
	shift 2
	if ! kt_wait_auth_lines $((base + n)); then
		echo "auth log: $(($(kt_auth_lines) - base)) new lines, want $n"
		return 1
	fi
	for spec in "$@"; do
		IFS=, read -r -a specs <<<"${spec#*:}"
		if ! why=$(kt_json_check $((base + ${spec%%:*})) "${specs[@]}"); then
			echo "auth log line ${spec%%:*}: $why"
			return 1
		fi
	done
	sleep 0.1
	if [ "$(kt_auth_lines)" -ne $((base + n)) ]; then
		echo "auth log: $(($(kt_auth_lines) - base)) new lines, want $n: $(tail -n +$((base + n + 1)) "$KT_DIR/auth.log" | head -3 | tr '\n' ' ')"
		return 1
	fi
}

# ---------------------------------------------------------------------------------------------
# eapol_test (wpa_supplicant 2.10) as the peer. Each run NAME leaves its output in
# $KT_DIR/out/NAME.out, which the kt_eapol_* checks read. Facts they rely on:
#   - "-r N": N re-authentications in one process; each conversation starts with
#     "CTRL-EVENT-EAP-STARTED", and a resumed TLS handshake prints
#     "OpenSSL: Handshake finished - resumed=1";
#   - "SSL: Using TLS version TLSvX.Y" for each handshake;
#   - it ends with "MPPE keys OK: N  mismatch: M" and "SUCCESS" or "FAILURE" (exit 0 / not 0).

KT_EAPOL_TIMEOUT=${KT_EAPOL_TIMEOUT:-10} # eapol_test -t (s)

# kt_need_eapol_test: end the script with "not ok eapol_test" unless eapol_test is installed
kt_need_eapol_test() {
	command -v eapol_test >/dev/null && return 0
	echo "not ok eapol_test - eapol_test not installed (Debian: eapoltest)"
	exit 1
}

# kt_eapol_phase1 TLS [WORD...]: an eapol_test phase1 value for TLS 1.2 only (TLS=12), TLS 1.3
# only (13) or any version up to 1.3 (any), followed by the WORDs (e.g. crypto_binding=2).
kt_eapol_phase1() {
	local p1
	case $1 in
	12) p1="tls_disable_tlsv1_3=1" ;;
	13) p1="tls_disable_tlsv1_0=1 tls_disable_tlsv1_1=1 tls_disable_tlsv1_2=1 tls_disable_tlsv1_3=0" ;;
	any) p1="tls_disable_tlsv1_3=0" ;;
	*)
		echo "kt_eapol_phase1: TLS is 12, 13 or any, not '$1'" >&2
		return 1
		;;
	esac
	shift
	echo "$p1${*:+ $*}"
}

# kt_eapol_conf NAME EAP IDENTITY PHASE1 [LINE...]: write $KT_DIR/NAME.conf, one eapol_test
# network block: WPA-EAP, method EAP (TLS, PEAP, TTLS), IDENTITY, the test CA with domain_match
# radius.kagi.test (the test server certificates' name), phase1 PHASE1 (kt_eapol_phase1), then
# each LINE as it is (key=value; quote strings yourself: 'password="x"').
kt_eapol_conf() {
	local name=$1 eap=$2 id=$3 p1=$4 line
	shift 4
	{
		cat <<EOF
network={
    key_mgmt=WPA-EAP
    eap=$eap
    identity="$id"
    ca_cert="$KT_DIR/pki/ca.pem"
    domain_match="radius.kagi.test"
    phase1="$p1"
EOF
		for line in "$@"; do
			echo "    $line"
		done
		echo "}"
	} >"$KT_DIR/$name.conf"
}

# kt_eapol_test NAME CONF PORT [ARG...]: run eapol_test with $KT_DIR/CONF.conf against
# 127.0.0.1:PORT with the shared secret and KT_EAPOL_TIMEOUT, then the ARGs (e.g. -r 1 for a
# second conversation); output in $KT_DIR/out/NAME.out. Returns eapol_test's exit status.
kt_eapol_test() {
	local name=$1 conf=$2 port=$3
	shift 3
	mkdir -p "$KT_DIR/out"
	eapol_test -c "$KT_DIR/$conf.conf" -a 127.0.0.1 -p "$port" -s "$KT_SECRET" \
		-t "$KT_EAPOL_TIMEOUT" "$@" >"$KT_DIR/out/$name.out" 2>&1
}

# kt_eapol_relayed NAME CONF DELAY CMD...: kt_eapol_test NAME CONF -r 1 (two conversations)
# through tests/integration/hookrelay.py, which, at the start of the second conversation, runs
# CMD (with KAGID_PID set to kagid's PID), records its result in $KT_DIR/NAME.hook (see
# kt_eapol_hook_ran) and waits DELAY seconds before it forwards. Returns eapol_test's status.
kt_eapol_relayed() {
	local name=$1 conf=$2 delay=$3 pf=$KT_DIR/$1.port rpid rc i
	shift 3
	rm -f "$pf" "$KT_DIR/$name.hook"
	KAGID_PID=$KT_PID python3 "$KT_TOP/tests/integration/hookrelay.py" "$KT_PORT" 2 "$delay" \
		"$pf" "$KT_DIR/$name.hook" "$@" &
	rpid=$!
	for i in $(seq 1 100); do
		[ -s "$pf" ] && break
		sleep 0.02
	done
	kt_eapol_test "$name" "$conf" "$(cat "$pf")" -r 1
	rc=$?
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	return $rc
}

# kt_eapol_hook_ran NAME: the command of kt_eapol_relayed NAME ran and exited 0; prints its
# record (exit status and output) on one line if not.
kt_eapol_hook_ran() {
	local mark=$KT_DIR/$1.hook
	[ -s "$mark" ] && head -n 1 "$mark" | grep -qx "rc=0" && return 0
	tr '\n' ' ' <"$mark" 2>/dev/null
	return 1
}

# kt_eapol_summary NAME: the telling lines of run NAME (RADIUS verdicts, EAP events, TLS alerts,
# PEAP/TTLS errors, timeouts, MPPE keys, the result), on one line for a failure message
kt_eapol_summary() {
	grep -E "Access-Reject|Access-Accept|CTRL-EVENT-EAP-(FAILURE|SUCCESS)|alert|TLS: |timed out|MPPE keys|^SUCCESS|^FAILURE|EAP-PEAP: |EAP-TTLS: .*(fail|Fail|invalid|Invalid)" \
		"$KT_DIR/out/$1.out" | grep -v hexdump | tail -n 8 | tr '\n' '|' | cut -c1-500
}

# kt_eapol_resumed_flags NAME: for each conversation of run NAME, 1 if its TLS handshake was
# resumed, else 0; space-separated ("0 1 1")
kt_eapol_resumed_flags() {
	awk '/CTRL-EVENT-EAP-STARTED/ { if (n) printf "%d ", r; n++; r = 0 }
	     /OpenSSL: Handshake finished - resumed=1/ { r = 1 }
	     END { if (n) printf "%d", r }' "$KT_DIR/out/$1.out"
}

# kt_eapol_accepts NAME CONF NAUTH VERSION RESUMED FIRST LATER [ARG...]: run eapol_test NAME
# with CONF against kagid (kt_eapol_test with -r NAUTH-1, then the ARGs) and check that it had NAUTH
# conversations, all accepted: status 0 and "SUCCESS" last, "MPPE keys OK: NAUTH  mismatch: 0",
# every handshake with TLS VERSION (TLSv1.2, TLSv1.3), the 2nd and later ones resumed
# (RESUMED=yes) or all full handshakes (no); and that the auth log got exactly NAUTH lines, the
# first one matching FIRST and the others LATER (comma-separated kt_json_check SPECs). Prints
# why not; returns 0 / 1.
kt_eapol_accepts() {
	local name=$1 conf=$2 nauth=$3 ver=$4 resume=$5 first=$6 later=$7
	shift 7
	local out=$KT_DIR/out/$name.out base rc why flags want=0 i specs
	[ "$nauth" -gt 1 ] && set -- -r $((nauth - 1)) "$@"
	base=$(kt_auth_lines)
	kt_eapol_test "$name" "$conf" "$KT_PORT" "$@"
	rc=$?
	for i in $(seq 2 "$nauth"); do
		if [ "$resume" = yes ]; then want="$want 1"; else want="$want 0"; fi
	done
	flags=$(kt_eapol_resumed_flags "$name")
	if [ "$rc" -ne 0 ] || [ "$(tail -n 1 "$out")" != SUCCESS ]; then
		why="eapol_test exit $rc: $(kt_eapol_summary "$name")"
	elif ! grep -qx "MPPE keys OK: $nauth  mismatch: 0" "$out"; then
		why="MPPE keys: $(grep 'MPPE keys' "$out")"
	elif [ "$(grep -c "SSL: Using TLS version $ver" "$out")" -lt 1 ] ||
		grep "SSL: Using TLS version" "$out" | grep -qv "$ver"; then
		why="TLS version: $(grep 'SSL: Using TLS version' "$out" | sort | uniq -c | tr '\n' ' ')"
	elif [ "$flags" != "$want" ]; then
		why="resumed per conversation (eapol_test): got '$flags', want '$want'"
	else
		specs=("1:$first")
		for i in $(seq 2 "$nauth"); do specs+=("$i:$later"); done
		kt_auth_expect "$base" "$nauth" "${specs[@]}"
		return
	fi
	echo "$why"
	kt_wait_auth_lines $((base + nauth)) # let kagid finish before the next case
	return 1
}

# kt_eapol_rejects NAME CONF SPEC [ARG...]: run eapol_test NAME with CONF against kagid
# (kt_eapol_test, one conversation) and check that it was rejected: status not 0, no "SUCCESS" line, an
# Access-Reject received; and that the auth log got exactly one line, matching SPEC
# (comma-separated kt_json_check SPECs). Prints why not; returns 0 / 1.
kt_eapol_rejects() {
	local name=$1 conf=$2 spec=$3 out=$KT_DIR/out/$1.out base rc
	shift 3
	base=$(kt_auth_lines)
	kt_eapol_test "$name" "$conf" "$KT_PORT" "$@"
	rc=$?
	if [ "$rc" -eq 0 ] || grep -qx SUCCESS "$out"; then
		echo "eapol_test succeeded (exit $rc): must be rejected"
	elif ! grep -q "code=3 (Access-Reject)" "$out"; then
		echo "no Access-Reject received: $(kt_eapol_summary "$name")"
	else
		kt_auth_expect "$base" 1 "1:$spec"
		return
	fi
	kt_wait_auth_lines $((base + 1)) # let kagid finish before the next case
	return 1
}
