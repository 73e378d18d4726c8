#!/usr/bin/env bash
# tests/integration/test_kagi_peer.sh: `kagi test` (the built-in EAP peer) and `kagi bench`
# against a kagid started here: every method over TLS 1.2 and 1.3 with resumption and MPPE key
# checks, failures exit non-zero, short bench runs complete with no failure: one method, a
# weighted mix, many identities (an identities file, a certificate directory), resumption in a
# mix; bad bench input exits 2 with a message.
set -u
. "$(dirname "$0")/lib.sh"
kt_init
cat >"$KT_DIR/raddb/users" <<'USERS'
group staff {
    reply = "Session-Timeout = 3600"
}
user alice {
    password = "peer-test-Pass-1"
    groups = { staff }
    reply = "Filter-Id = \"peer-ok\""
}
group vlan20 {
    reply = "Tunnel-Type = VLAN, Tunnel-Medium-Type = IEEE-802, Tunnel-Private-Group-Id = \"20\", Session-Timeout = 28800, Filter-Id = \"group-a\", Filter-Id = \"group-b\""
}
user dave {
    password = "peer-test-Pass-1"
    groups = { vlan20, staff }
    reply = "Tunnel-Type = VLAN, Tunnel-Medium-Type = IEEE-802, Tunnel-Private-Group-Id = \"10\", User-Name = \"dave@corp.example\", Class = \"c-one\", Class = \"c-two\""
}
USERS
# acl N: a reply of N Cisco-AVPair lines of 57 octets each (an inline ACL, as controllers take)
acl() {
	local i
	printf '    reply = "'
	for i in $(seq "$1"); do
		[ "$i" -gt 1 ] && printf ', '
		printf 'Cisco-AVPair = \\"ip:inacl#%03d=permit tcp any host 10.0.0.1 eq 443 log\\"' "$i"
	done
	printf '"\n'
}
# frank: an Accept of about 3.3 KB, under RADIUS's 4096 octets; greg's would be over
{ echo 'user frank {'; echo '    password = "peer-test-Pass-1"'; acl 50; echo '}'
  echo 'user greg {'; echo '    password = "peer-test-Pass-1"'; acl 70; echo '}'; } >>"$KT_DIR/raddb/users"
KT_METHODS="tls, peap, ttls" kt_config
kt_start
common=(-a 127.0.0.1 -p "$KT_PORT" -s "$KT_SECRET" --ca "$KT_DIR/pki/ca.pem" --server-name radius.kagi.test)
tlsid=(-i alice@example.org --cert "$KT_DIR/pki/alice.pem" --key "$KT_DIR/pki/alice.key")
pwid=(-i alice -A anonymous@example.org)
export KAGI_PASSWORD=peer-test-Pass-1

for m in tls peap peap-gtc ttls-pap ttls-mschapv2 ttls-eap-mschapv2 ttls-eap-gtc; do
	for v in 1.2 1.3; do
		if [ "$m" = tls ]; then id=("${tlsid[@]}"); else id=("${pwid[@]}"); fi
		if "$KAGI" test "${common[@]}" -m "$m" "${id[@]}" --tls "$v" -n 3 >"$KT_DIR/t.out" 2>&1 &&
			[ "$(grep -c 'MPPE keys match' "$KT_DIR/t.out")" -eq 3 ] &&
			[ "$(grep -c 'TLSv'"$v"' resumed' "$KT_DIR/t.out")" -eq 2 ]; then
			kt_ok "kagi-test-$m-tls$v"
		else
			kt_fail "kagi-test-$m-tls$v" "$(tr '\n' '|' <"$KT_DIR/t.out" | tail -c 300)"
		fi
	done
done
if grep -q 'Filter-Id = "peer-ok"' "$KT_DIR/t.out" && grep -q 'Session-Timeout = 3600' "$KT_DIR/t.out"; then kt_ok kagi-test-reply-attributes
else kt_fail kagi-test-reply-attributes "reply attributes not printed"; fi

# Each attribute from the most specific source that has it: dave's own VLAN, User-Name and two
# Class values (octets: "c-one", "c-two"); from his groups only what he lacks: Session-Timeout
# of vlan20 (the first group listed, not staff's), both its Filter-Ids.
"$KAGI" test "${common[@]}" -m peap -i dave -A anonymous@example.org >"$KT_DIR/t.out" 2>&1
sed -n '/reply attributes:/,$p' "$KT_DIR/t.out" >"$KT_DIR/attrs"
want_once() { [ "$(grep -c -- "$1" "$KT_DIR/attrs")" -eq 1 ]; }
if grep -q 'Access-Accept' "$KT_DIR/t.out" && want_once 'Tunnel-Private-Group-Id' &&
	want_once 'Tunnel-Private-Group-Id.*"10"' && want_once 'Tunnel-Type' &&
	want_once 'Session-Timeout = 28800' && ! grep -q 'Session-Timeout = 3600' "$KT_DIR/attrs" &&
	want_once 'User-Name = "dave@corp.example"' && ! grep -q 'User-Name = "dave"' "$KT_DIR/attrs" &&
	want_once 'Class = 0x632d6f6e65' && want_once 'Class = 0x632d74776f' &&
	want_once 'Filter-Id = "group-a"' && want_once 'Filter-Id = "group-b"'; then
	kt_ok reply-most-specific-wins
else
	kt_fail reply-most-specific-wins "$(tr '\n' '|' <"$KT_DIR/attrs" | tail -c 600)"
fi

# A reply up to RADIUS's 4096 octets is sent whole; one over it is never half sent: the
# conversation is rejected, logged as such with the reason, not as an accept.
base=$(kt_auth_lines)
if "$KAGI" test "${common[@]}" -m peap -i frank -A anonymous@example.org >"$KT_DIR/t.out" 2>&1 &&
	[ "$(grep -c 'Cisco-AVPair' "$KT_DIR/t.out")" -eq 50 ] &&
	why=$(kt_auth_expect "$base" 1 "1:result=accept,identity=frank"); then
	kt_ok reply-large-sent-whole
else
	kt_fail reply-large-sent-whole "${why:-} $(tr '\n' '|' <"$KT_DIR/t.out" | tail -c 300)"
fi
base=$(kt_auth_lines)
if ! "$KAGI" test "${common[@]}" -m peap -i greg -A anonymous@example.org >"$KT_DIR/t.out" 2>&1 &&
	grep -q 'Access-Reject' "$KT_DIR/t.out" && ! grep -q 'Access-Accept' "$KT_DIR/t.out" &&
	why=$(kt_auth_expect "$base" 1 "1:result=reject,identity=greg,reason~reply too large") &&
	grep -q 'cannot send Access-Accept: reply too large' "$KT_DIR/kagid.log"; then
	kt_ok reply-too-large-rejected
else
	kt_fail reply-too-large-rejected "${why:-} $(tr '\n' '|' <"$KT_DIR/t.out" | tail -c 300)"
fi

# What kagi test and kagi bench send, as a NAS does: a silent listener keeps the first
# Access-Request. RFC 2865 §4.1: NAS-Identifier (or NAS-IP-Address) is a MUST; RFC 3579: with
# EAP-Message, a Message-Authenticator.
nas_attrs() { # nas_attrs NAME CMD...: run CMD against the listener, check the captured request
	local name=$1 port lp
	shift
	port=$(kt_free_port)
	rm -f "$KT_DIR/captured" "$KT_DIR/listening"
	python3 - "$port" "$KT_DIR/captured" "$KT_DIR/listening" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[3], "w").close()
s.settimeout(10)
try:
    d, _ = s.recvfrom(4096)
    open(sys.argv[2], "wb").write(d)
except socket.timeout:
    pass
PY
	lp=$!
	for _ in $(seq 100); do [ -e "$KT_DIR/listening" ] && break; sleep 0.05; done
	"$@" -p "$port" >/dev/null 2>&1
	wait "$lp"
	if python3 - "$KT_DIR/captured" "$name" <<'PY'; then kt_ok "$name"; else kt_fail "$name" "see above"; fi
import sys
d = open(sys.argv[1], "rb").read()
assert d[0] == 1, "not an Access-Request"
attrs, i = {}, 20
while i + 2 <= len(d):
    t, l = d[i], d[i + 1]
    attrs.setdefault(t, []).append(d[i + 2:i + l])
    i += l
want = b"kagi-test" if "test" in sys.argv[2] else b"kagi-bench"
assert attrs.get(32) == [want], f"NAS-Identifier {attrs.get(32)}"
assert len(attrs.get(80, [b""])[0]) == 16, "no Message-Authenticator"
assert attrs.get(61) == [b"\0\0\0\x13"], "NAS-Port-Type not Wireless-802.11"
assert 79 in attrs and 1 in attrs, "no EAP-Message / User-Name"
PY
}
nas_attrs kagi-test-nas-attributes "$KAGI" test -a 127.0.0.1 -s "$KT_SECRET" --ca "$KT_DIR/pki/ca.pem" \
	-m tls "${tlsid[@]}" -t 100
nas_attrs kagi-bench-nas-attributes "$KAGI" bench -a 127.0.0.1 -s "$KT_SECRET" --ca "$KT_DIR/pki/ca.pem" \
	-m tls "${tlsid[@]}" -n 1 -c 1 -t 100

# EAP-TLS with --cert alone: the key is NAME.key next to NAME.pem, the identity the CN.
if "$KAGI" test "${common[@]}" -m tls --cert "$KT_DIR/pki/alice.pem" >"$KT_DIR/t.out" 2>&1 &&
	grep -q 'as "alice@example.org"' "$KT_DIR/t.out" && grep -q 'MPPE keys match' "$KT_DIR/t.out"; then
	kt_ok kagi-test-cert-defaults
else kt_fail kagi-test-cert-defaults "$(tr '\n' '|' <"$KT_DIR/t.out" | tail -c 300)"; fi
# Every round is printed with what each side's EAP packet was.
if grep -q '^  round 1: -> Access-Request (EAP-Response/Identity, 22 bytes) <- Access-Challenge (EAP-Request/TLS, 6 bytes, start)$' "$KT_DIR/t.out" &&
	grep -q '^  round 2: -> Access-Request (EAP-Response/TLS, [0-9]* bytes) <- Access-Challenge (EAP-Request/TLS' "$KT_DIR/t.out" &&
	grep -q '^  round [3-9]: -> Access-Request (EAP-Response/TLS, 6 bytes, ack) <- Access-Accept (EAP-Success)$' "$KT_DIR/t.out"; then
	kt_ok kagi-test-rounds-printed
else kt_fail kagi-test-cert-defaults "$(tr '\n' '|' <"$KT_DIR/t.out" | tail -c 300)"; fi
# test_bad NAME WANT ARGS...: kagi test ARGS must exit 2 and say WANT.
test_bad() {
	local name=$1 want=$2 rc
	shift 2
	KAGI_SECRET= "$KAGI" test "$@" >"$KT_DIR/t.out" 2>&1
	rc=$?
	if [ "$rc" -eq 2 ] && grep -qF -- "$want" "$KT_DIR/t.out"; then kt_ok "$name"
	else kt_fail "$name" "exit $rc: $(head -c 300 "$KT_DIR/t.out")"; fi
}
test_bad kagi-test-no-secret "no shared secret" -a 127.0.0.1 -p "$KT_PORT" --ca "$KT_DIR/pki/ca.pem" \
	-m tls --cert "$KT_DIR/pki/alice.pem"
test_bad kagi-test-key-mismatch "does not match certificate" "${common[@]}" -m tls \
	--cert "$KT_DIR/pki/alice.pem" --key "$KT_DIR/pki/bob.key"
test_bad kagi-test-peap-no-identity "need --identity" "${common[@]}" -m peap
test_bad kagi-test-no-ca "--ca FILE is required" -a 127.0.0.1 -p "$KT_PORT" -s "$KT_SECRET" -m tls \
	--cert "$KT_DIR/pki/alice.pem"

# Failures: wrong password, wrong secret, untrusted server name.
if KAGI_PASSWORD=wrong "$KAGI" test "${common[@]}" -m peap "${pwid[@]}" >"$KT_DIR/t.out" 2>&1; then
	kt_fail kagi-test-wrong-password "exit 0 with a wrong password"
elif grep -q "Access-Reject" "$KT_DIR/t.out"; then kt_ok kagi-test-wrong-password
else kt_fail kagi-test-wrong-password "no Access-Reject shown"; fi
if "$KAGI" test -a 127.0.0.1 -p "$KT_PORT" -s wrong-secret-0123456789 --ca "$KT_DIR/pki/ca.pem" \
	-m tls "${tlsid[@]}" -t 200 >"$KT_DIR/t.out" 2>&1; then
	kt_fail kagi-test-wrong-secret "exit 0 with a wrong secret"
elif grep -q "no answer from 127.0.0.1:$KT_PORT after 3 tries.*shared secret" "$KT_DIR/t.out"; then
	kt_ok kagi-test-wrong-secret
else kt_fail kagi-test-wrong-secret "no hint at the secret: $(tail -c 300 "$KT_DIR/t.out")"; fi
# Nothing listens on a free port: the port unreachable is reported as such.
closed=$(kt_free_port)
if "$KAGI" test -a 127.0.0.1 -p "$closed" -s "$KT_SECRET" --ca "$KT_DIR/pki/ca.pem" -m tls \
	"${tlsid[@]}" -t 100 >"$KT_DIR/t.out" 2>&1; then
	kt_fail kagi-test-port-closed "exit 0 with nothing listening"
elif grep -q "the port is closed" "$KT_DIR/t.out"; then kt_ok kagi-test-port-closed
else kt_fail kagi-test-port-closed "$(tail -c 300 "$KT_DIR/t.out")"; fi
base=$(kt_auth_lines)
if "$KAGI" test "${common[@]/radius.kagi.test/evil.example.com}" -m tls "${tlsid[@]}" >"$KT_DIR/t.out" 2>&1; then
	kt_fail kagi-test-server-name "exit 0 although the server name does not match"
else kt_ok kagi-test-server-name; fi
# ... and, as a supplicant does (RFC 5216 §2.1.3), it sent its alert to the server, which ended the
# conversation with a Reject at once rather than waiting for it to time out.
kt_wait_auth_lines $((base + 1))
if tail -n +$((base + 1)) "$KT_DIR/auth.log" | grep '"result":"reject"' | grep -q 'peer sent TLS alert'; then
	kt_ok kagi-test-alert-reaches-server
else
	kt_fail kagi-test-alert-reaches-server "$(tail -n +$((base + 1)) "$KT_DIR/auth.log" | head -1)"
fi

# A short bench run: every authentication succeeds, JSON is well formed.
if "$KAGI" bench "${common[@]}" -m tls "${tlsid[@]}" -c 8 -n 200 --resume 0.5 --json >"$KT_DIR/b.json" 2>"$KT_DIR/b.err" &&
	python3 - "$KT_DIR/b.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] == 200 and r["failed"] == 0, r
assert 0 < r["resumed"] < 200, r
assert r["latency_ms"]["p50"] <= r["latency_ms"]["p99"], r
assert 3 <= r["rounds_per_auth"] <= 10, r
PY
then kt_ok kagi-bench-tls
else kt_fail kagi-bench-tls "$(cat "$KT_DIR/b.json" "$KT_DIR/b.err" | tail -c 300)"; fi
if "$KAGI" bench "${common[@]}" -m peap "${pwid[@]}" -c 4 -n 40 --json >"$KT_DIR/b.json" 2>&1 &&
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ok"]==40 and r["failed"]==0, r' "$KT_DIR/b.json"; then
	kt_ok kagi-bench-peap
else kt_fail kagi-bench-peap "$(tail -c 300 "$KT_DIR/b.json")"; fi

# kagi bench with a weighted mix of methods and many identities. Two more client certificates,
# signed by the test CA; identities file paths are relative to the file's directory.
B=$KT_DIR/bench
mkdir -p "$B"
for n in kim lee; do
	cat >"$B/$n.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = email:$n@example.org
EXT
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$B/$n.key" 2>/dev/null &&
		openssl req -new -key "$B/$n.key" -subj "/CN=$n@example.org" -out "$B/$n.csr" &&
		openssl x509 -req -in "$B/$n.csr" -CA "$KT_DIR/pki/ca.pem" -CAkey "$KT_DIR/pki/ca.key" \
			-set_serial "0x1$(openssl rand -hex 7)" -days 30 -extfile "$B/$n.ext" \
			-out "$B/$n.pem" 2>/dev/null ||
		kt_fail "kagi-bench-pki" "cannot issue $n's certificate"
	rm -f "$B/$n.csr" "$B/$n.ext"
done
# alice twice: by certificate for tls, by password (KAGI_PASSWORD, the default) for PEAP/TTLS.
cat >"$B/ids" <<'IDS'
# identities for kagi bench
alice@example.org cert=../pki/alice.pem key=../pki/alice.key
bob@example.org   cert="../pki/bob.pem"    # bob.key next to it
grace@example.org cert=../pki/grace.pem
kim@example.org   cert=kim.pem
lee@example.org   cert=lee.pem
alice
IDS
printf 'alice@example.org cert=../pki/alice.pem\nalice\n' >"$B/two"

# bench_json NAME PYTHON-CHECKS ARGS...: kagi bench ARGS --json must exit 0 and its JSON (r) pass
# the checks; the auth log lines of the run are in lines.
bench_json() {
	local name=$1 checks=$2 before
	shift 2
	before=$(wc -l <"$KT_DIR/auth.log")
	if "$KAGI" bench "${common[@]}" "$@" --json >"$KT_DIR/b.json" 2>"$KT_DIR/b.err" &&
		python3 - "$KT_DIR/b.json" "$KT_DIR/auth.log" "$before" "$checks" <<'PY'
import json, sys, time
r = json.load(open(sys.argv[1]))
want = r["ok"] + r["failed"]
for _ in range(100):  # kagid may log a line just after its reply
    lines = [json.loads(l) for l in open(sys.argv[2]).read().splitlines()[int(sys.argv[3]):]]
    if len(lines) >= want:
        break
    time.sleep(0.05)
m = r["methods"]
exec(sys.argv[4])
PY
	then kt_ok "$name"
	else kt_fail "$name" "$(cat "$KT_DIR/b.json" "$KT_DIR/b.err" | tr '\n' '|' | tail -c 400)"; fi
}

# tls:2,peap:1: all succeed, exactly 2 tls for 1 peap, per-method counts add up to the total.
bench_json kagi-bench-mix '
assert r["ok"] == 150 and r["failed"] == 0 and not r["failures"], r
assert list(m) == ["tls", "peap"], m
assert m["tls"]["ok"] == 100 and m["peap"]["ok"] == 50, m
for k in ("auths", "ok", "failed", "resumed"):
    assert sum(x[k] for x in m.values()) == r[k], k
assert m["tls"]["weight"] == 2 and m["tls"]["identities"] == 1 and m["peap"]["identities"] == 1, m
assert all(x["latency_ms"]["p50"] > 0 and x["rounds_per_auth"] > 2 for x in m.values()), m
got = {(l["method"], l["identity"]) for l in lines}
assert got == {("TLS", "alice@example.org"), ("PEAP", "alice")}, got
' -m tls:2,peap:1 --identities "$B/two" -A anonymous@example.org -c 6 -n 150

# An identities file of five certificates and one password: every identity authenticates.
bench_json kagi-bench-identities-file '
assert r["ok"] == 120 and r["failed"] == 0, r
assert r["identities"] == 6 and m["tls"]["identities"] == 5 and m["ttls-pap"]["identities"] == 1, r
ok = {l["identity"] for l in lines if l["result"] == "accept"}
want = {"alice@example.org", "bob@example.org", "grace@example.org", "kim@example.org",
        "lee@example.org", "alice"}
assert ok == want, ok
for l in lines:
    assert l["method"] != "TLS" or l["cert_subject"] == "CN=" + l["identity"], l
' -m tls:5,ttls-pap:1 --identities "$B/ids" -A anonymous@example.org -c 8 -n 120

# --cert-dir: the client certificates of a directory, named by their CN; CA, key-less and
# non-client certificates skipped.
mkdir -p "$B/dir"
cp "$B"/kim.* "$B"/lee.* "$KT_DIR"/pki/{alice,bob,grace,erin}.{pem,key} "$KT_DIR/pki/ca.pem" \
	"$KT_DIR/pki/carol.pem" "$B/dir/"
bench_json kagi-bench-cert-dir '
assert r["ok"] == 50 and r["failed"] == 0 and r["identities"] == 5, r
ok = {l["identity"] for l in lines if l["result"] == "accept"}
assert ok == {"alice@example.org", "bob@example.org", "grace@example.org", "kim@example.org",
              "lee@example.org"}, ok
err = open(sys.argv[1].replace("b.json", "b.err")).read()
assert "erin.pem (no EKU clientAuth)" in err and "ca.pem (no key)" in err, err
' --cert-dir "$B/dir" -c 5 -n 50

# Resumption in a mix: sessions resume in both methods, each only as the identity that made it
# (a TLS session resumed by another identity would not match its stored certificate).
bench_json kagi-bench-mix-resume '
assert r["ok"] == 240 and r["failed"] == 0 and not r["failures"], r
assert r["resumed"] > 0 and m["tls"]["resumed"] > 0 and m["peap"]["resumed"] > 0, m
assert sum(x["resumed"] for x in m.values()) == r["resumed"], m
res = [l for l in lines if l["resumed"]]
assert len(res) >= r["resumed"], (len(res), r["resumed"])
for l in res:
    assert l["method"] != "TLS" or l["cert_subject"] == "CN=" + l["identity"], l
' -m tls:2,peap:1 --identities "$B/ids" -A anonymous@example.org -c 8 -n 240 --resume 0.5

# Bad input: a clear message and exit 2, no password shown.
mkdir -p "$B/nokey" && cp "$KT_DIR/pki/alice.pem" "$B/nokey/"
printf 'alice@example.org cert=../pki/alice.pem\n\nbob peer-test-Pass-1\n' >"$B/bad"
bench_bad() {
	local name=$1 want=$2 rc
	shift 2
	"$KAGI" bench "${common[@]}" "$@" -n 1 >"$KT_DIR/b.out" 2>&1
	rc=$?
	if [ "$rc" -eq 2 ] && grep -qF -- "$want" "$KT_DIR/b.out" &&
		! grep -q peer-test-Pass-1 "$KT_DIR/b.out"; then
		kt_ok "$name"
	else kt_fail "$name" "exit $rc: $(tr '\n' '|' <"$KT_DIR/b.out" | tail -c 300)"; fi
}
bench_bad kagi-bench-bad-method 'unknown method "tsl"' -m tls:2,tsl:1 "${tlsid[@]}"
bench_bad kagi-bench-bad-weight 'weight "0" of tls' -m tls:0,peap "${tlsid[@]}"
bench_bad kagi-bench-bad-identities-line "$B/bad:3: field 2 is not NAME=VALUE" \
	--identities "$B/bad"
bench_bad kagi-bench-cert-without-key "no private key for $B/nokey/alice.pem" \
	--cert "$B/nokey/alice.pem"
bench_bad kagi-bench-method-without-identity "peap needs an identity with a password" \
	-m tls,peap --cert-dir "$B/dir"
# Every option is in --help.
missing=
"$KAGI" bench --help >"$KT_DIR/b.out" || missing="(exit $?)"
for o in server port secret ca server-name tls mtu method identity cert key password anonymous \
	identities cert-dir concurrency count duration rate resume timeout json help; do
	grep -q -- "--$o\b" "$KT_DIR/b.out" || missing="$missing --$o"
done
if [ -z "$missing" ]; then kt_ok kagi-bench-help
else kt_fail kagi-bench-help "not documented:$missing"; fi

# No password in any log.
if grep -rq "peer-test-Pass-1" "$KT_DIR/auth.log" "$KT_DIR/kagid.log"; then
	kt_fail no-password-in-logs "the password appears in kagid's logs"
else kt_ok no-password-in-logs; fi
kt_stop
exit $((KT_FAILS > 0))
