#!/usr/bin/env bash
# tests/integration/test_daemon.sh: kagid as a daemon: options, -C configuration check, SIGHUP
# reload, SIGTERM, the -X trace, short secrets. Authentications use eap_peer.py (it prints the
# Access-Accept's attributes and checks the MPPE keys).
#
#   help-kagid, help-kagi           --help exits 0; kagid's mentions -X, -C, -d
#   check-good                      kagid -C -d DIR exits 0 on a good configuration
#   check-flood-filter              ... and says the unknown-source flood filter fits
#   check-flood-filter-too-many     ... or, for 1500 client subnets, that it cannot be built
#   check-dictionary-core / -vendors / check-unknown-attribute
#                                   vendor dictionaries load only when a reply names a vendor
#                                   attribute; an unknown attribute name is a clear error
#   check-unknown-option / check-short-secret / check-missing-cert / check-key-mismatch
#                                   kagid -C exits non-zero, and its error names the problem
#   check-short-secret-not-echoed   ... without printing the short secret itself
#   hup-before                      alice accepted, no Filter-Id yet
#   hup-reload-users                users gains a reply for alice, SIGHUP: the Accept carries
#                                   Filter-Id "reloaded"
#   hup-broken-alive / hup-broken-logged / hup-broken-still-serves
#                                   broken kagi.conf + SIGHUP: kagid keeps running, says the
#                                   reload was refused, and alice is still accepted (with the
#                                   configuration loaded before: Filter-Id "reloaded")
#   trace-packets, trace-eap-tls    -X traces packets and EAP-TLS steps
#   trace-no-secret, trace-no-private-key
#                                   the shared secret and the server key body appear nowhere in
#                                   kagid's output
#   sigterm                         kagid exits 0 within 2 s of SIGTERM
#   clients-longest-prefix          clients.conf: host entries beat prefixes, longer prefixes beat
#                                   shorter ones whatever their order, a repeated host keeps its
#                                   first entry
#   short-secret-ok-starts / short-secret-ok-warns / short-secret-ok-auth
#                                   a 10-character secret with short_secret_ok = yes: kagid
#                                   starts, warns on stderr, and authenticates with it

. "$(dirname "$0")/lib.sh"

kt_init
PKI=$KT_DIR/pki
PEER="$KT_TOP/tests/integration/eap_peer.py"
RADDB=$KT_DIR/raddb
mkdir -p "$KT_DIR/out"

# peer NAME [SECRET] ARGS...: alice via eap_peer.py, output in $KT_DIR/out/NAME.out
peer() {
	local name=$1 secret=$2
	shift 2
	timeout 60 python3 "$PEER" --port "$KT_PORT" --secret "$secret" --ca "$PKI/ca.pem" \
		--cert "$PKI/alice.pem" --key "$PKI/alice.key" --identity alice@example.org --show-attrs \
		"$@" >"$KT_DIR/out/$name.out" 2>&1
}
peer_summary() {
	grep -E "^auth [0-9]+: (accept|reject|error)|reply:|PROBLEM|Traceback|Error" "$KT_DIR/out/$1.out" |
		tr '\n' '|' | cut -c1-400
}
one_line() { tr '\n' ' ' <"$1" | cut -c1-300; }

# --- --help ----------------------------------------------------------------------------------

if out=$("$KAGID" --help 2>&1); then
	miss=
	for o in -X -C -d; do
		printf '%s\n' "$out" | grep -q -- "$o" || miss="$miss $o"
	done
	if [ -z "$miss" ]; then kt_ok help-kagid; else kt_fail help-kagid "--help does not mention:$miss"; fi
else
	kt_fail help-kagid "kagid --help exit status $?"
fi
if [ -x "$KAGI" ]; then
	if "$KAGI" --help >"$KT_DIR/out/kagi-help" 2>&1 && [ -s "$KT_DIR/out/kagi-help" ]; then
		kt_ok help-kagi
	else
		kt_fail help-kagi "kagi --help failed or printed nothing: $(one_line "$KT_DIR/out/kagi-help")"
	fi
else
	kt_fail help-kagi "$KAGI not built"
fi

# --- kagid -C --------------------------------------------------------------------------------

kt_config
cp -a "$RADDB" "$KT_DIR/raddb.good"

# check_bad NAME REGEX: kagid -C on $RADDB must fail, and its output must match REGEX (grep -Ei)
check_bad() {
	local name=$1 re=$2 rc
	"$KAGID" -C -d "$RADDB" >"$KT_DIR/out/$name" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		kt_fail "$name" "kagid -C exited 0 on a broken configuration: $(one_line "$KT_DIR/out/$name")"
	elif [ $rc -ge 128 ]; then
		kt_fail "$name" "kagid -C died with status $rc: $(one_line "$KT_DIR/out/$name")"
	elif ! grep -Eqi -- "$re" "$KT_DIR/out/$name"; then
		kt_fail "$name" "error does not name the problem (/$re/): $(one_line "$KT_DIR/out/$name")"
	else
		kt_ok "$name"
		echo "# $name: $(one_line "$KT_DIR/out/$name")"
	fi
}
restore() { rm -rf "$RADDB" && cp -a "$KT_DIR/raddb.good" "$RADDB"; }

if "$KAGID" -C -d "$RADDB" >"$KT_DIR/out/check-good" 2>&1; then
	kt_ok check-good
else
	kt_fail check-good "kagid -C exit $?: $(one_line "$KT_DIR/out/check-good")"
fi

# The kernel takes the unknown-source flood filter for this client list (IPv4 listener)
if grep -q 'flood filter for unknown IPv4 sources: ok' "$KT_DIR/out/check-good"; then
	kt_ok check-flood-filter
else
	kt_fail check-flood-filter "$(grep -i 'flood filter' "$KT_DIR/out/check-good" || echo 'no flood filter line')"
fi

# 1500 client subnets are more than a classic BPF program holds: -C says so, the check passes
restore
for i in $(seq 0 1499); do
	printf 'client net%d {\n    ipaddr = 10.%d.%d.0/24\n    secret = "%s"\n}\n' \
		"$i" $((i / 256)) $((i % 256)) "$KT_SECRET"
done >>"$RADDB/clients.conf"
if "$KAGID" -C -d "$RADDB" >"$KT_DIR/out/check-flood-filter-too-many" 2>&1 &&
	grep -q 'flood filter for unknown IPv4 sources: not possible, too many client prefixes' \
		"$KT_DIR/out/check-flood-filter-too-many"; then
	kt_ok check-flood-filter-too-many
else
	kt_fail check-flood-filter-too-many "$(grep -i 'flood filter' "$KT_DIR/out/check-flood-filter-too-many" || one_line "$KT_DIR/out/check-flood-filter-too-many")"
fi
restore

# RADIUS dictionaries: the core set, all vendors once a reply names a vendor attribute, and a
# clear error for a name no dictionary has
if grep -q 'RADIUS dictionary: RFC and Microsoft' "$KT_DIR/out/check-good"; then
	kt_ok check-dictionary-core
else
	kt_fail check-dictionary-core "$(grep -i dictionary "$KT_DIR/out/check-good")"
fi
restore
printf 'user vendorful {\n    password = "vendorful-pw-1"\n    reply = "Aruba-User-Role = staff"\n}\n' >>"$RADDB/users"
if "$KAGID" -C -d "$RADDB" >"$KT_DIR/out/check-dictionary-vendors" 2>&1 &&
	grep -q 'RADIUS dictionary: all vendors' "$KT_DIR/out/check-dictionary-vendors"; then
	kt_ok check-dictionary-vendors
else
	kt_fail check-dictionary-vendors "$(one_line "$KT_DIR/out/check-dictionary-vendors")"
fi
restore
printf 'user nosuch {\n    password = "nosuch-pw-123"\n    reply = "No-Such-Attribute-Anywhere = 1"\n}\n' >>"$RADDB/users"
check_bad check-unknown-attribute "No-Such-Attribute-Anywhere"

# worker threads: out of range in kagi.conf, and bad -t values
restore
sed -i '/^ *threads *=/d; s/^limits {/limits {\n    threads = 65/' "$RADDB/kagi.conf"
check_bad check-threads-range "threads"
restore
bad_t=
for t in 0 65 abc -1 ""; do
	"$KAGID" -C -d "$RADDB" -t "$t" >"$KT_DIR/out/bad-t" 2>&1
	rc=$?
	[ $rc -eq 2 ] && grep -q -- "-t" "$KT_DIR/out/bad-t" || bad_t="$bad_t '$t'->$rc"
done
if [ -z "$bad_t" ]; then kt_ok bad-thread-count
else kt_fail bad-thread-count "not refused with exit 2 and a message:$bad_t"; fi
if "$KAGID" -C -d "$RADDB" >"$KT_DIR/out/check-threads" 2>&1 && grep -qiE "worker thread" "$KT_DIR/out/check-threads"; then
	kt_ok check-shows-threads
else
	kt_fail check-shows-threads "$(one_line "$KT_DIR/out/check-threads")"
fi

# an unknown option in the tls section
restore
sed -i 's/^tls {/tls {\n    bogus_tls_option = yes/' "$RADDB/kagi.conf"
check_bad check-unknown-option "bogus_tls_option"

# a client with a 10-character secret (and no short_secret_ok)
restore
SHORT=Qz7short10
sed -i "s/secret = \".*\"/secret = \"$SHORT\"/" "$RADDB/clients.conf"
check_bad check-short-secret "secret"
if grep -q "$SHORT" "$KT_DIR/out/check-short-secret"; then
	kt_fail check-short-secret-not-echoed "kagid -C printed the shared secret: $(one_line "$KT_DIR/out/check-short-secret")"
else
	kt_ok check-short-secret-not-echoed
fi

# a missing certificate file
restore
sed -i "s|certificate = .*|certificate = $KT_DIR/pki/no-such-server.pem|" "$RADDB/kagi.conf"
check_bad check-missing-cert "no-such-server\\.pem"

# a private key that does not belong to the certificate (alice's key with the server certificate)
restore
sed -i "s|private_key = .*|private_key = $KT_DIR/pki/alice.key|" "$RADDB/kagi.conf"
check_bad check-key-mismatch "(private.?key|key).*(match|belong|pair)|(match|belong|pair).*(private.?key|key)"
restore

# --- SIGHUP ----------------------------------------------------------------------------------

kt_start

# wait_log_since N REGEX: wait (up to 3 s) until a line after line N of kagid.log matches REGEX
wait_log_since() {
	local _
	for _ in $(seq 1 60); do
		tail -n +"$(($1 + 1))" "$KT_DIR/kagid.log" | grep -Eqi -- "$2" && return 0
		sleep 0.05
	done
	return 1
}
log_lines() { wc -l <"$KT_DIR/kagid.log"; }

if peer hup-before "$KT_SECRET" --expect accept; then
	if grep -q 'reply: Filter-Id' "$KT_DIR/out/hup-before.out"; then
		kt_fail hup-before "Filter-Id before any users entry: $(peer_summary hup-before)"
	else
		kt_ok hup-before
	fi
else
	kt_fail hup-before "alice not accepted: $(peer_summary hup-before)"
fi

cat >>"$RADDB/users" <<'EOF'
user alice@example.org {
    reply = "Filter-Id = \"reloaded\""
}
EOF
n=$(log_lines)
kill -HUP "$KT_PID"
sleep 0.5
wait_log_since "$n" "reloaded|refused|error" >/dev/null
if peer hup-reload-users "$KT_SECRET" --expect accept &&
	grep -q 'reply: Filter-Id = "reloaded"' "$KT_DIR/out/hup-reload-users.out"; then
	kt_ok hup-reload-users
else
	kt_fail hup-reload-users "no Filter-Id \"reloaded\" after SIGHUP: $(peer_summary hup-reload-users) log: $(tail -n +$((n + 1)) "$KT_DIR/kagid.log" | head -5 | tr '\n' ' ')"
fi

# a broken kagi.conf: refused, the previous configuration keeps serving
cp "$RADDB/kagi.conf" "$KT_DIR/kagi.conf.good"
printf '\nthis_is_not_an_option = 42\n' >>"$RADDB/kagi.conf"
n=$(log_lines)
kill -HUP "$KT_PID"
sleep 0.5
wait_log_since "$n" "refus|reject|error|fail" >/dev/null
if kill -0 "$KT_PID" 2>/dev/null; then
	kt_ok hup-broken-alive
else
	kt_fail hup-broken-alive "kagid died after SIGHUP with a broken kagi.conf: $(tail -n 5 "$KT_DIR/kagid.log" | tr '\n' ' ')"
fi
newlog=$(tail -n +$((n + 1)) "$KT_DIR/kagid.log")
if printf '%s\n' "$newlog" | grep -Ei "reload" | grep -Ei "refus|not reloaded|keep|previous" | grep -qi "error"; then
	kt_ok hup-broken-logged
	echo "# hup-broken-logged: $(printf '%s\n' "$newlog" | grep -Ei 'reload' | head -2 | tr '\n' ' ')"
else
	kt_fail hup-broken-logged "no error saying the reload was refused: $(printf '%s\n' "$newlog" | head -5 | tr '\n' ' ')"
fi
if kill -0 "$KT_PID" 2>/dev/null && peer hup-broken-still-serves "$KT_SECRET" --expect accept &&
	grep -q 'reply: Filter-Id = "reloaded"' "$KT_DIR/out/hup-broken-still-serves.out"; then
	kt_ok hup-broken-still-serves
else
	kt_fail hup-broken-still-serves "alice not served by the previous configuration: $(peer_summary hup-broken-still-serves)"
fi
cp "$KT_DIR/kagi.conf.good" "$RADDB/kagi.conf"

# --- the -X trace ----------------------------------------------------------------------------

trace=$KT_DIR/kagid.log
if grep -q "Received Access-Request" "$trace" && grep -q "Sent Access-Challenge" "$trace"; then
	kt_ok trace-packets
else
	kt_fail trace-packets "-X output lacks \"Received Access-Request\" / \"Sent Access-Challenge\": $(head -c 300 "$trace" | tr '\n' ' ')"
fi
if grep -q "EAP-TLS:" "$trace"; then
	kt_ok trace-eap-tls
else
	kt_fail trace-eap-tls "-X output has no \"EAP-TLS:\" line"
fi
if grep -qF -- "$KT_SECRET" "$KT_DIR/kagid.log" "$KT_DIR/kagid.out" "$KT_DIR/auth.log"; then
	kt_fail trace-no-secret "the shared secret appears in: $(grep -lF -- "$KT_SECRET" "$KT_DIR/kagid.log" "$KT_DIR/kagid.out" "$KT_DIR/auth.log" | tr '\n' ' ')"
else
	kt_ok trace-no-secret
fi
leak=
while IFS= read -r l; do
	case $l in -----*|"") continue ;; esac
	if grep -qF -- "$l" "$KT_DIR/kagid.log" "$KT_DIR/kagid.out" "$KT_DIR"/out/check-* 2>/dev/null; then
		leak="$leak $l"
		break
	fi
done <"$PKI/server.key"
if [ -z "$leak" ]; then
	kt_ok trace-no-private-key
else
	kt_fail trace-no-private-key "a line of server.key's body appears in kagid's output:${leak:0:80}"
fi

# --- SIGTERM ---------------------------------------------------------------------------------

pid=$KT_PID
KT_PID=
t0=$(date +%s%N)
kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
if kill -0 "$pid" 2>/dev/null; then
	kt_fail sigterm "kagid still running 2 s after SIGTERM"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
else
	wait "$pid"
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ $rc -eq 0 ]; then
		kt_ok sigterm
		echo "# sigterm: exited 0 after ${ms} ms"
	else
		kt_fail sigterm "exit status $rc after SIGTERM"
	fi
fi
if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$KT_DIR/kagid.log"; then
	kt_fail sanitizer "$(grep -m1 -A8 -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$KT_DIR/kagid.log" | tr '\n' ' ')"
fi
cp "$KT_DIR/kagid.log" "$KT_DIR/kagid.main.log"

# --- short_secret_ok -------------------------------------------------------------------------

SHORT=Kw3shrt10x
sed -i "s/secret = \".*\"/secret = \"$SHORT\"\n    short_secret_ok = yes/" "$RADDB/clients.conf"
KT_PID=
: >"$KT_DIR/auth.log"
"$KAGID" -d "$RADDB" -X >"$KT_DIR/kagid.out" 2>"$KT_DIR/kagid.log" &
KT_PID=$!
for _ in $(seq 1 200); do
	grep -q "Ready to process requests" "$KT_DIR/kagid.log" 2>/dev/null && break
	kill -0 "$KT_PID" 2>/dev/null || break
	sleep 0.05
done
if grep -q "Ready to process requests" "$KT_DIR/kagid.log"; then
	kt_ok short-secret-ok-starts
	if grep -Ei "warn" "$KT_DIR/kagid.log" | grep -Eqi "secret"; then
		kt_ok short-secret-ok-warns
		echo "# short-secret-ok-warns: $(grep -Ei "warn" "$KT_DIR/kagid.log" | grep -Ei "secret" | head -1 | cut -c1-200)"
	else
		kt_fail short-secret-ok-warns "no warning about the short secret on stderr: $(head -n 5 "$KT_DIR/kagid.log" | tr '\n' ' ')"
	fi
	if grep -qF -- "$SHORT" "$KT_DIR/kagid.log" "$KT_DIR/kagid.out"; then
		kt_fail short-secret-ok-not-echoed "the short secret itself is in kagid's output"
	else
		kt_ok short-secret-ok-not-echoed
	fi
	if peer short-secret-ok-auth "$SHORT" --expect accept; then
		kt_ok short-secret-ok-auth
	else
		kt_fail short-secret-ok-auth "$(peer_summary short-secret-ok-auth)"
	fi
else
	kill -0 "$KT_PID" 2>/dev/null && kill -KILL "$KT_PID"
	wait "$KT_PID" 2>/dev/null
	KT_PID=
	kt_fail short-secret-ok-starts "kagid did not start: $(tail -n 5 "$KT_DIR/kagid.log" | tr '\n' ' ')"
fi
kt_stop

# --- clients.conf: longest prefix wins, host entries looked up directly -------------------------
# Entries in an order where the longest match is never the first: /8 (secret A), a host (B), a /24
# (C), a second entry for the same host (D, ignored: the first keeps it), a /16 (E). Each
# Status-Server (RFC 5997, with Message-Authenticator) comes from its own 127.x address, signed
# with one secret; it is answered only if that secret belongs to the client the address maps to.
kt_config
cat >"$KT_DIR/raddb/clients.conf" <<CONF
client wide { ipaddr = 127.0.0.0/8
    secret = "secret-A-wide-0123456789" }
client host3 { ipaddr = 127.0.0.3
    secret = "secret-B-host-0123456789" }
client net24 { ipaddr = 127.0.0.0/24
    secret = "secret-C-net24-0123456789" }
client host3again { ipaddr = 127.0.0.3
    secret = "secret-D-again-0123456789" }
client net16 { ipaddr = 127.1.0.0/16
    secret = "secret-E-net16-0123456789" }
CONF
kt_start
if why=$(python3 - "$KT_PORT" <<'PY'
import hashlib, hmac, os, socket, struct, sys
port = int(sys.argv[1])
def status_server(src, secret):
    auth = os.urandom(16)
    attrs = bytes([80, 18]) + bytes(16)
    pkt = bytearray(struct.pack("!BBH", 12, 7, 20 + len(attrs)) + auth + attrs)
    pkt[22:38] = hmac.new(secret.encode(), bytes(pkt), hashlib.md5).digest()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(0.5)
    s.sendto(bytes(pkt), ("127.0.0.1", port))
    try:
        s.recv(4096)
        return True
    except socket.timeout:
        return False
    finally:
        s.close()
cases = [("127.0.0.3", "secret-B-host-0123456789", True),   # host beats /24 and /8
         ("127.0.0.3", "secret-D-again-0123456789", False), # duplicate host entry: first wins
         ("127.0.0.3", "secret-C-net24-0123456789", False),
         ("127.0.0.4", "secret-C-net24-0123456789", True),  # /24 beats /8
         ("127.0.0.4", "secret-A-wide-0123456789", False),
         ("127.1.2.3", "secret-E-net16-0123456789", True),  # /16 beats /8
         ("127.2.0.1", "secret-A-wide-0123456789", True)]   # only /8
bad = [f"{src} with {sec[:8]}: {'answered' if got else 'dropped'}"
       for src, sec, want in cases for got in [status_server(src, sec)] if got != want]
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
); then
	kt_ok clients-longest-prefix
else
	kt_fail clients-longest-prefix "$why"
fi
kt_stop

[ "$KT_FAILS" -eq 0 ]
