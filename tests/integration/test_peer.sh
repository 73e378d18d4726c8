#!/usr/bin/env bash
# tests/integration/test_peer.sh: EAP-TLS cases that need a peer eapol_test cannot play, driven
# by tests/integration/eap_peer.py (Python stdlib EAP-TLS peer + NAS).
#
#   no-cert-tls12/13            no client certificate -> Access-Reject, "no client certificate"
#   peer-alice-tls12/13         alice -> Access-Accept, MPPE keys = MSK (sanity of the peer)
#   peer-alice-resume-tls12/13  alice twice in one process: the second is resumed
#   revoked-resume-tls12/13     grace accepted; grace revoked (CRL rewritten, no signal); the same
#                               process resumes the session -> Reject "revoked", resumed true
#   no-resume-after-fail-tls12/13
#                               identity mismatch reject, then the same SSL context offers the
#                               failed conversation's session: it must not be resumed
#   no-resume-after-failed-resume-tls12/13
#                               alice accepted; her session resumed with a wrong identity and
#                               rejected; that session offered again: it must not be resumed
#
# Each case checks eap_peer.py's exit status (its outcome/resumption/MPPE checks) and the JSON
# auth log line(s) kagid wrote.

. "$(dirname "$0")/lib.sh"

kt_init
PKI=$KT_DIR/pki
PEER="$KT_TOP/tests/integration/eap_peer.py"
mkdir -p "$KT_DIR/out"

kt_config
kt_start

# peer NAME ARGS...: run eap_peer.py against kagid, output in $KT_DIR/out/NAME.out
peer() {
	local name=$1
	shift
	timeout 60 python3 "$PEER" --port "$KT_PORT" --secret "$KT_SECRET" --ca "$PKI/ca.pem" "$@" \
		>"$KT_DIR/out/$name.out" 2>&1
}

# user_cert NAME: --cert/--key arguments for a test PKI certificate
user_cert() { echo "--cert $PKI/$1.pem --key $PKI/$1.key"; }

# peer_summary NAME: the per-authentication lines and problems, on one line
peer_summary() {
	grep -E "^auth [0-9]+: (accept|reject|error|not run)|PROBLEM|Traceback|Error" "$KT_DIR/out/$1.out" |
		tr '\n' '|' | cut -c1-500
}

# expect NAME NLINES PEER_ARGS... -- LINE_SPEC...: run the peer, which must exit 0, then the auth
# log must have grown by exactly NLINES lines; each LINE_SPEC is "I:KEY=VALUE,KEY=VALUE" for new
# line I (kt_auth_expect).
expect() {
	local name=$1 nl=$2 base rc why
	shift 2
	local args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	base=$(kt_auth_lines)
	peer "$name" "${args[@]}"
	rc=$?
	if [ $rc -ne 0 ]; then
		kt_wait_auth_lines $((base + nl))
		kt_fail "$name" "eap_peer.py exit $rc: $(peer_summary "$name")"
		return 1
	fi
	if ! why=$(kt_auth_expect "$base" "$nl" "$@"); then
		kt_fail "$name" "$why"
		return 1
	fi
	kt_ok "$name"
}

for v in 12 13; do
	tv=1.${v#1}
	ver=TLSv$tv

	# --- no client certificate --------------------------------------------------------------
	expect no-cert-tls$v 1 --tls "$tv" --identity alice@example.org --expect reject -- \
		"1:result=reject,reason=no client certificate,identity=alice@example.org,method=TLS"

	# --- sanity of the peer: alice is accepted, MPPE keys checked by the peer -----------------
	# shellcheck disable=SC2046
	expect peer-alice-tls$v 1 --tls "$tv" $(user_cert alice) --identity alice@example.org \
		--expect accept --expect-resumed no -- \
		"1:result=accept,reason=ok,tls_version=$ver,resumed=false,identity=alice@example.org"
	if grep -q "mppe=ok" "$KT_DIR/out/peer-alice-tls$v.out"; then
		kt_ok peer-alice-tls$v-mppe
	else
		kt_fail peer-alice-tls$v-mppe "MPPE keys not verified: $(peer_summary peer-alice-tls$v)"
	fi

	# shellcheck disable=SC2046
	expect peer-alice-resume-tls$v 2 --tls "$tv" $(user_cert alice) --identity alice@example.org \
		--count 2 --expect accept --expect-resumed no,yes -- \
		"1:result=accept,tls_version=$ver,resumed=false" \
		"2:result=accept,reason=ok,tls_version=$ver,resumed=true"

	# --- resume after a failed authentication -----------------------------------------------
	# alice's certificate with bob's identity: rejected. The same SSL context then offers that
	# conversation's session (if the client got one) with the right identity: kagid must not
	# resume it (a full handshake, accepted or rejected, is fine).
	# shellcheck disable=SC2046
	expect no-resume-after-fail-tls$v 2 --tls "$tv" $(user_cert alice) \
		--identity bob@example.org,alice@example.org --count 2 --expect reject,any \
		--expect-resumed no,no -- \
		"1:result=reject,reason=identity mismatch,identity=bob@example.org" \
		"2:resumed=false,identity=alice@example.org"
	echo "# no-resume-after-fail-tls$v: $(grep -E '^auth 2: identity' "$KT_DIR/out/no-resume-after-fail-tls$v.out" |
		sed 's/.*, offering/offering/') -> $(grep -E '^auth 2: (accept|reject|error)' \
		"$KT_DIR/out/no-resume-after-fail-tls$v.out" | sed 's/ rounds=.*//')"

	# The same with a resumable session in hand: alice accepted (session S), S resumed with
	# bob's identity and rejected, then the session of that failed conversation (S again for a
	# TLS 1.2 session ID; the resumed TLS 1.3 ticket) offered with the right identity: a session
	# used in a failed authentication must not be resumed any more.
	# shellcheck disable=SC2046
	expect no-resume-after-failed-resume-tls$v 3 --tls "$tv" $(user_cert alice) \
		--identity alice@example.org,bob@example.org,alice@example.org --count 3 \
		--expect accept,reject,any --expect-resumed no,any,no -- \
		"1:result=accept,resumed=false" \
		"2:result=reject,reason=identity mismatch,identity=bob@example.org" \
		"3:resumed=false,identity=alice@example.org"
done

# --- resumption re-checks revocation -----------------------------------------------------------
# One peer process per TLS version: grace is accepted (a full handshake); the test then revokes
# grace's certificate (CRL rewritten on disk, no signal to kagid), waits 1.1 s and lets the peer
# go on: it offers the session, and kagid must resume it and refuse it as revoked.
revoke_resume() {
	local name=$1 tv=$2 who=$3 base rc why ppid i pf=$KT_DIR/$1.pause
	rm -f "$pf" "$pf.waiting"
	base=$(kt_auth_lines)
	timeout 60 python3 "$PEER" --port "$KT_PORT" --secret "$KT_SECRET" --ca "$PKI/ca.pem" \
		--tls "$tv" --cert "$PKI/$who.pem" --key "$PKI/$who.key" --identity "$who@example.org" \
		--count 2 --expect accept,reject --pause-file "$pf" >"$KT_DIR/out/$name.out" 2>&1 &
	ppid=$!
	for i in $(seq 1 300); do
		[ -e "$pf.waiting" ] && break
		kill -0 "$ppid" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -e "$pf.waiting" ]; then
		wait "$ppid"
		kt_fail "$name" "the first authentication did not finish: $(peer_summary "$name")"
		return 1
	fi
	if ! bash "$KT_TOP/certs/mkpki.sh" --revoke "$PKI" "$who" >"$KT_DIR/out/$name.revoke" 2>&1; then
		kt_fail "$name" "mkpki.sh --revoke $who failed: $(tr '\n' ' ' <"$KT_DIR/out/$name.revoke")"
		: >"$pf"
		wait "$ppid"
		return 1
	fi
	sleep 1.1
	: >"$pf"
	wait "$ppid"
	rc=$?
	kt_wait_auth_lines $((base + 2))
	if ! why=$(kt_json_check $((base + 1)) result=accept reason=ok resumed=false identity="$who@example.org"); then
		kt_fail "$name" "first authentication: $why"
		return 1
	fi
	if ! why=$(kt_json_check $((base + 2)) result=reject reason=revoked resumed=true identity="$who@example.org"); then
		kt_fail "$name" "resumption after revocation: $why"
		return 1
	fi
	if [ $rc -ne 0 ]; then
		kt_fail "$name" "eap_peer.py exit $rc: $(peer_summary "$name")"
		return 1
	fi
	echo "# $name: $(grep -E '^auth 2: (accept|reject|error)' "$KT_DIR/out/$name.out" | sed 's/ rounds=.*//')"
	kt_ok "$name"
}

# grace can be revoked once per PKI: keep a copy of the PKI, and run the TLS 1.3 case on a fresh
# kagid over the restored copy (same paths, same config).
cp -a "$PKI" "$KT_DIR/pki.orig"
revoke_resume revoked-resume-tls12 1.2 grace
kt_stop
rm -rf "$PKI" && cp -a "$KT_DIR/pki.orig" "$PKI"
kt_start
revoke_resume revoked-resume-tls13 1.3 grace

kt_stop
[ "$KT_FAILS" -eq 0 ]
