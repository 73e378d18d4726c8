#!/usr/bin/env bash
# tests/integration/test_kagi_peer.sh: `kagi test` (the built-in EAP peer) and `kagi bench`
# against a kagid started here: every method over TLS 1.2 and 1.3 with resumption and MPPE key
# checks, failures exit non-zero, and a short bench run completes with no failure.
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
USERS
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

# Failures: wrong password, wrong secret, untrusted server name.
if KAGI_PASSWORD=wrong "$KAGI" test "${common[@]}" -m peap "${pwid[@]}" >"$KT_DIR/t.out" 2>&1; then
	kt_fail kagi-test-wrong-password "exit 0 with a wrong password"
elif grep -q "Access-Reject" "$KT_DIR/t.out"; then kt_ok kagi-test-wrong-password
else kt_fail kagi-test-wrong-password "no Access-Reject shown"; fi
if "$KAGI" test -a 127.0.0.1 -p "$KT_PORT" -s wrong-secret-0123456789 --ca "$KT_DIR/pki/ca.pem" \
	-m tls "${tlsid[@]}" -t 200 >"$KT_DIR/t.out" 2>&1; then
	kt_fail kagi-test-wrong-secret "exit 0 with a wrong secret"
else kt_ok kagi-test-wrong-secret; fi
if "$KAGI" test "${common[@]/radius.kagi.test/evil.example.com}" -m tls "${tlsid[@]}" >"$KT_DIR/t.out" 2>&1; then
	kt_fail kagi-test-server-name "exit 0 although the server name does not match"
else kt_ok kagi-test-server-name; fi

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

# No password in any log.
if grep -rq "peer-test-Pass-1" "$KT_DIR/auth.log" "$KT_DIR/kagid.log"; then
	kt_fail no-password-in-logs "the password appears in kagid's logs"
else kt_ok no-password-in-logs; fi
kt_stop
exit $((KT_FAILS > 0))
