#!/usr/bin/env bash
# tests/integration/test_eaptls.sh: EAP-TLS end to end with eapol_test (wpa_supplicant 2.10).
#
# Three kagid instances, one after the other:
#   ec      server-ec.pem (ECDSA P-256): bob (ECDSA client) with TLS 1.2 and 1.3
#   frag    fragment_size = 200 in kagi.conf
#   nist    ecdh_curves P-384:P-256, chain_cache_size = 0
#   anon    anonymous outer identities (RFC 9190 §2.1.1: "anonymous@example.org", "@example.org")
#           with TLS 1.2/1.3 and resumption, the built-in rule and then an `identity = none`
#           rule: the certificate's identity is authorized (users entry reply, disabled) and
#           logged, the anonymous one is outer_identity; a named wrong identity and another
#           realm are still refused
#   rsa     server.pem (RSA): alice with TLS 1.2/1.3, resumption, Framed-MTU 300/1400; the
#           rejects (untrusted CA, revoked, expired, EKU, identity mismatch); CRL re-read at
#           run time (grace); resumption after revocation (bob, alice: revoked last).
# Then no secret (shared secret, private keys, MPPE keys) may appear in any kagid output.
#
# Not covered here: EAP-TLS without a client certificate (eapol_test refuses to run EAP-TLS
# without a private key).
#
# eapol_test facts this relies on (checked with 2.10), beyond those in lib.sh:
#   - in an "-r N" run the client offers the previous session (TLS 1.2 session ID, TLS 1.3
#     ticket);
#   - "decapsulated EAP packet (code=1 id=I len=L)" for each EAP-Request received.

. "$(dirname "$0")/lib.sh"

kt_need_eapol_test
kt_init
PKI=$KT_DIR/pki
mkdir -p "$KT_DIR/out" "$KT_DIR/logs"
# every auth log line this script checks must be a full record
KT_AUTH_KEYS="time client nas identity method result reason rounds ms"

# ---------------------------------------------------------------------------------------------
# helpers

# peer_conf NAME CERT IDENTITY TLS [LINE]: write $KT_DIR/NAME.conf for EAP-TLS with the test PKI
# certificate CERT; TLS is 12, 13 or any (kt_eapol_phase1); LINE is one more network line
peer_conf() {
	kt_eapol_conf "$1" TLS "$3" "$(kt_eapol_phase1 "$4")" "client_cert=\"$PKI/$2.pem\"" \
		"private_key=\"$PKI/$2.key\"" ${5:+"$5"}
}

# max_eap_len NAME: the largest EAP-Request kagid sent in that conversation
max_eap_len() {
	grep -o 'decapsulated EAP packet (code=1 id=[0-9]* len=[0-9]*)' "$KT_DIR/out/$1.out" |
		sed 's/.*len=\([0-9]*\))/\1/' | sort -n | tail -n 1
}

# expect_eap_size NAME MAX [MIN]: NAME-eap-size is ok if the largest EAP-Request of run NAME was
# at most MAX bytes (and more than MIN)
expect_eap_size() {
	local m
	m=$(max_eap_len "$1")
	if [ -n "$m" ] && [ "$m" -le "$2" ] && [ "$m" -gt "${3:-0}" ]; then
		kt_ok "$1-eap-size"
	else
		kt_fail "$1-eap-size" "largest EAP-Request was ${m:-?} bytes, want ${3:+> $3 and }<= $2"
	fi
}

# expect_rounds_kagi NAME CERT TLS WANT: `kagi test` with Framed-MTU 1400 and the client
# certificate CERT (identity CERT@example.org) is accepted after exactly WANT round trips, by its
# own count and by kagid's auth log.
expect_rounds_kagi() {
	local name=$1 cert=$2 tls=$3 want=$4 base why out=$KT_DIR/out/$1.out
	base=$(kt_auth_lines)
	KAGI_SECRET=$KT_SECRET "$KAGI" test -p "$KT_PORT" -m tls -i "$cert@example.org" \
		--cert "$PKI/$cert.pem" --key "$PKI/$cert.key" --ca "$PKI/ca.pem" --tls "$tls" \
		--mtu 1400 -v >"$out" 2>&1
	if ! grep -q "Access-Accept after $want rounds" "$out"; then
		kt_fail "$name" "$(grep -E 'Access-|rounds' "$out" | tail -1)"
	elif ! kt_wait_auth_lines $((base + 1)) ||
		! why=$(kt_json_check $((base + 1)) result=accept rounds="$want"); then
		kt_fail "$name" "auth log: ${why:-no line}"
	else
		kt_ok "$name"
	fi
}

# expect_accept NAME CONF VERSION IDENTITY NAUTH RESUME [eapol_test ARGS...]
#   NAUTH conversations, all accepted with MPPE keys; with RESUME=yes the 2nd and later ones must
#   be resumed. VERSION is TLSv1.2 or TLSv1.3. Exactly NAUTH auth log lines, each an accept of
#   IDENTITY with its certificate.
expect_accept() {
	local name=$1 conf=$2 ver=$3 id=$4 nauth=$5 resume=$6 res=false spec why
	shift 6
	[ "$resume" = yes ] && res=true
	spec="result=accept,reason=ok,method=TLS,client=test,nas=127.0.0.1,tls_version=$ver,identity=$id"
	spec+=",cert_issuer~CN=Kagi Demo CA,cert_subject~CN=$id"
	if why=$(kt_eapol_accepts "$name" "$conf" "$nauth" "$ver" "$resume" "$spec,resumed=false" \
		"$spec,resumed=$res" "$@"); then
		kt_ok "$name"
	else
		kt_fail "$name" "$why"
		return 1
	fi
}

# expect_reject NAME CONF IDENTITY REASON [eapol_test ARGS...]: eapol_test fails after an
# Access-Reject, and the auth log has one new line: reject of IDENTITY with REASON.
expect_reject() {
	local name=$1 conf=$2 id=$3 reason=$4 why
	shift 4
	if why=$(kt_eapol_rejects "$name" "$conf" \
		"result=reject,reason=$reason,method=TLS,client=test,identity=$id" "$@"); then
		kt_ok "$name"
	else
		kt_fail "$name" "$why"
		return 1
	fi
}

# n_cached: how many times this kagid skipped verifying a chain it had verified before
n_cached() { grep -c 'client chain verified before' "$KT_DIR/kagid.log"; }

# start_instance [TLS_EXTRA]: config + start kagid
start_instance() { kt_config "${1:-}"; kt_start; }

# expect_refused_resume NAME CONF IDENTITY VERSION REASON DELAY CMD...: one eapol_test -r 1 run
# through the relay (kt_eapol_relayed), which runs CMD and then waits DELAY seconds before the
# second conversation: this lets a test change things (revoke a certificate) between a first
# authentication and a resumption. The first must be accepted, the second (a resumption
# attempt) rejected with REASON.
expect_refused_resume() {
	local name=$1 conf=$2 id=$3 ver=$4 reason=$5 delay=$6
	shift 6
	local base rc why
	base=$(kt_auth_lines)
	kt_eapol_relayed "$name" "$conf" "$delay" "$@"
	rc=$?
	if ! why=$(kt_eapol_hook_ran "$name"); then
		kt_fail "$name" "the command between the two conversations did not run: $why"
		return 1
	fi
	kt_wait_auth_lines $((base + 2))
	if ! why=$(kt_json_check $((base + 1)) result=accept tls_version="$ver" identity="$id" resumed=false); then
		kt_fail "$name" "first conversation: $why"
		return 1
	fi
	if [ $rc -eq 0 ] || [ "$(grep -c 'code=3 (Access-Reject)' "$KT_DIR/out/$name.out")" -ne 1 ]; then
		kt_fail "$name" "second conversation not rejected (eapol_test exit $rc, resumed: $(kt_eapol_resumed_flags "$name")): $(kt_eapol_summary "$name")"
		return 1
	fi
	if ! why=$(kt_json_check $((base + 2)) result=reject reason="$reason" identity="$id"); then
		kt_fail "$name" "second conversation: $why"
		return 1
	fi
	echo "# $name: resumed flags per conversation (eapol_test): $(kt_eapol_resumed_flags "$name")"
	kt_ok "$name"
}

# expect_revoked_resume NAME CONF CERT IDENTITY VERSION: CERT is revoked between the two
# conversations; the resumption attempt is rejected with "revoked".
expect_revoked_resume() {
	expect_refused_resume "$1" "$2" "$4" "$5" revoked 1.3 \
		bash "$KT_TOP/certs/mkpki.sh" --revoke "$PKI" "$3"
}

# utc_in SECONDS: the time SECONDS from now, as openssl ca wants it (YYMMDDHHMMSSZ)
utc_in() { date -u -d "@$(($(date +%s) + $1))" +%y%m%d%H%M%SZ; }

# short_lived_cert NAME SECONDS: a client certificate NAME@example.org (P-256, EKU clientAuth)
# from the test CA that expires SECONDS from now.
short_lived_cert() {
	local name=$1 secs=$2 d=$PKI/ca
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$name.key" 2>/dev/null &&
		printf '%s\n' "basicConstraints = critical, CA:FALSE" "keyUsage = critical, digitalSignature" \
			"extendedKeyUsage = clientAuth" "subjectAltName = email:$name@example.org" >"$d/ext/$name.ext" &&
		openssl req -new -key "$PKI/$name.key" -subj "/CN=$name@example.org" -out "$d/ext/$name.csr" \
			-config "$d/openssl.cnf" 2>/dev/null &&
		(cd "$d" && openssl ca -config openssl.cnf -batch -notext -in "ext/$name.csr" \
			-out "../$name.pem" -extfile "ext/$name.ext" -startdate "$(utc_in -3600)" \
			-enddate "$(utc_in "$secs")" >/dev/null 2>&1)
}

# weak_cert NAME: a client certificate NAME@example.org from the test CA with an RSA-1024 key
# (below OpenSSL's security level 2, which kagid keeps).
weak_cert() {
	local name=$1 d=$PKI/ca
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$PKI/$name.key" 2>/dev/null &&
		printf '%s\n' "basicConstraints = critical, CA:FALSE" "keyUsage = critical, digitalSignature" \
			"extendedKeyUsage = clientAuth" "subjectAltName = email:$name@example.org" >"$d/ext/$name.ext" &&
		openssl req -new -key "$PKI/$name.key" -subj "/CN=$name@example.org" -out "$d/ext/$name.csr" \
			-config "$d/openssl.cnf" 2>/dev/null &&
		(cd "$d" && openssl ca -config openssl.cnf -batch -notext -in "ext/$name.csr" \
			-out "../$name.pem" -extfile "ext/$name.ext" >/dev/null 2>&1)
}

# crl_valid_for SECONDS: rewrite the test CA's CRL (atomically) with a nextUpdate SECONDS away.
crl_valid_for() {
	local tmp
	tmp=$(mktemp "$PKI/.ca.crl.XXXXXX")
	(cd "$PKI/ca" && openssl ca -config openssl.cnf -batch -gencrl -crlsec "$1" -out "$tmp" 2>/dev/null) &&
		chmod 0644 "$tmp" && mv -f "$tmp" "$PKI/ca.crl"
}

# ---------------------------------------------------------------------------------------------
# 1. ECDSA server certificate, ECDSA client (bob)

KT_SERVER=ec start_instance
peer_conf bob12 bob bob@example.org 12
peer_conf bob13 bob bob@example.org 13
expect_accept ec-bob-tls12 bob12 TLSv1.2 bob@example.org 1 no
# eapol_test prints the SHA-256 of each certificate the server presents
h=$(openssl x509 -in "$PKI/server-ec.pem" -outform DER | sha256sum | cut -d' ' -f1)
if grep -q "CTRL-EVENT-EAP-PEER-CERT depth=0 .*hash=$h" "$KT_DIR/out/ec-bob-tls12.out"; then
	kt_ok ec-server-cert-is-ecdsa
else
	kt_fail ec-server-cert-is-ecdsa "server did not present server-ec.pem: $(grep 'PEER-CERT depth=0' "$KT_DIR/out/ec-bob-tls12.out" | head -1)"
fi
expect_accept ec-bob-tls13 bob13 TLSv1.3 bob@example.org 1 no
expect_accept ec-bob-tls13-resume bob13 TLSv1.3 bob@example.org 2 yes
# Framed-MTU 1400 (what APs send): the server flight fits one EAP fragment, and so does the flight
# of a client that sends its own certificate without the root (kagi test; eapol_test adds the
# CA, which the server has anyway, and needs a second fragment). A full handshake then takes 4
# round trips: Identity, ClientHello, client Finished, final ACK. FreeRADIUS and hostapd take 5+.
for v in 1.2 1.3; do
	expect_rounds_kagi ec-bob-tls$v-mtu1400-4-rounds bob "$v" 4
done
kt_stop_save ec

# ---------------------------------------------------------------------------------------------
# 2. kagi.conf fragment_size = 200: no EAP-Request bigger than 200 TLS bytes + 10 header bytes

start_instance "    fragment_size = 200"
peer_conf alice12 alice alice@example.org 12
peer_conf alice13 alice alice@example.org 13
for v in 12 13; do
	expect_accept frag200-tls$v alice$v TLSv1.$((v - 10)) alice@example.org 1 no &&
		expect_eap_size frag200-tls$v 210
done
kt_stop_save frag

# ---------------------------------------------------------------------------------------------
# 2b. ECDHE over NIST curves only (ecdh_curves): the server generates its P-384/P-256 key shares
# inside libssl while RSA and ECDSA client keys are decoded by tls_pkey.c's direct path. With
# chain_cache_size = 0, every full handshake verifies the client chain.

start_instance '    ecdh_curves = "P-384:P-256"
    chain_cache_size = 0'
peer_conf alice12 alice alice@example.org 12
peer_conf alice13 alice alice@example.org 13
peer_conf bob12 bob bob@example.org 12
peer_conf bob13 bob bob@example.org 13
for v in 12 13; do
	expect_accept nist-ecdhe-alice-tls$v alice$v TLSv1.$((v - 10)) alice@example.org 2 yes
	expect_accept nist-ecdhe-bob-tls$v bob$v TLSv1.$((v - 10)) bob@example.org 1 no
done
if [ "$(n_cached)" -eq 0 ] && [ "$(grep -c 'TLS: verify depth 0 ' "$KT_DIR/kagid.log")" -ge 4 ]; then
	kt_ok chain-cache-off-verifies-every-time
else
	kt_fail chain-cache-off-verifies-every-time "$(n_cached) skipped verifications"
fi
kt_stop_save nist

# ---------------------------------------------------------------------------------------------
# 2c. Anonymous outer identities (RFC 9190 §2.1.1, RFC 7542 §2.4): the certificate names the
# user. alice's users entry gives her Session-Timeout 4321, which eapol_test prints.

# accepts_with NAME NUM VALUE: how many Access-Accepts of run NAME carry attribute NUM with the
# value eapol_test prints as VALUE ("Value: VALUE" under "Attribute NUM (...)")
accepts_with() {
	awk -v num="$2" -v val="$3" '
		/^RADIUS message: code=/ { acc = /code=2 \(Access-Accept\)/; attr = 0; next }
		!/^ / { acc = 0 }
		acc && /^ +Attribute / { attr = ($2 == num); next }
		acc && attr && /^ +Value: / { if (substr($0, index($0, "Value: ") + 7) == val) n++; attr = 0 }
		END { print n + 0 }' "$KT_DIR/out/$1.out"
}

# expect_anon_accept NAME CONF VERSION OUTER ID NAUTH: NAUTH conversations of CONF (outer
# identity OUTER), the 2nd and later resumed, all accepted as ID (auth log identity ID,
# outer_identity OUTER) with User-Name ID and ID's Session-Timeout in every Access-Accept.
expect_anon_accept() {
	local name=$1 conf=$2 ver=$3 outer=$4 id=$5 nauth=$6 spec why res=no n1 n27
	[ "$nauth" -gt 1 ] && res=yes
	spec="result=accept,reason=ok,method=TLS,tls_version=$ver,identity=$id,outer_identity=$outer"
	spec+=",cert_subject~CN=$id"
	if ! why=$(kt_eapol_accepts "$name" "$conf" "$nauth" "$ver" "$res" "$spec,resumed=false" \
		"$spec,resumed=true"); then
		kt_fail "$name" "$why"
		return 1
	fi
	n1=$(accepts_with "$name" 1 "'$id'")
	n27=$(accepts_with "$name" 27 4321)
	if [ "$n1" -ne "$nauth" ] || [ "$n27" -ne "$nauth" ]; then
		kt_fail "$name" "of $nauth Access-Accepts, $n1 have User-Name '$id', $n27 Session-Timeout 4321"
		return 1
	fi
	kt_ok "$name"
}

cat >"$KT_DIR/raddb/users" <<'USERS'
user alice@example.org {
    reply = "Session-Timeout = 4321"
}
user bob@example.org {
    disabled = yes
}
USERS
start_instance
for v in 12 13; do
	for outer in anonymous@example.org @example.org; do
		tag=${outer%%@*}
		tag=${tag:-at}
		peer_conf anon$v-$tag alice "$outer" $v
		expect_anon_accept anon-$tag-tls$v-resume anon$v-$tag TLSv1.$((v - 10)) "$outer" \
			alice@example.org 2
	done
done
peer_conf anon13-norealm alice anonymous 13
expect_anon_accept anon-norealm-tls13 anon13-norealm TLSv1.3 anonymous alice@example.org 1
# still strict: a named identity must be the certificate's; the realm must be the certificate's
peer_conf anon13-named alice anon@example.org 13
expect_reject anon-named-mismatch-tls13 anon13-named anon@example.org "identity mismatch"
peer_conf anon12-realm alice anonymous@example.com 12
expect_reject anon-other-realm-tls12 anon12-realm anonymous@example.com \
	"identity mismatch (anonymous identity of another realm than the certificate)"
# a disabled user is refused under the certificate's identity
peer_conf anon13-bob bob @example.org 13
if why=$(kt_eapol_rejects anon-disabled-tls13 anon13-bob \
	"result=reject,reason=user disabled,identity=bob@example.org,outer_identity=@example.org"); then
	kt_ok anon-disabled-tls13
else
	kt_fail anon-disabled-tls13 "$why"
fi
kt_stop_save anon

# The same with a rule that binds no identity (identity = none): the certificate still names
# the user, whose users entry applies.
cat >>"$KT_DIR/raddb/users" <<'USERS'
certificate any {
    issuer = "*CN=Kagi Demo CA*"
    identity = none
}
USERS
start_instance
expect_anon_accept anon-rule-none-tls13-resume anon13-anonymous TLSv1.3 anonymous@example.org \
	alice@example.org 2
expect_anon_accept anon-rule-none-tls12 anon12-at TLSv1.2 @example.org alice@example.org 1
kt_stop_save anon-none
: >"$KT_DIR/raddb/users"

# ---------------------------------------------------------------------------------------------
# 3. RSA server certificate

start_instance

# successes
expect_accept alice-tls12 alice12 TLSv1.2 alice@example.org 1 no
if why=$(kt_json_check "$(kt_auth_lines)" calling_station_id=02-00-00-00-00-01); then
	kt_ok alice-tls12-calling-station-id
else
	kt_fail alice-tls12-calling-station-id "$why"
fi
expect_accept alice-tls13 alice13 TLSv1.3 alice@example.org 1 no
# RSA-2048 and TLS 1.2 at Framed-MTU 1400: leaf-only server chain, one fragment each way: 4 rounds
expect_rounds_kagi alice-tls1.2-mtu1400-4-rounds alice 1.2 4
# A client that authenticates again with a full handshake sends the same chain: kagid verified
# it against the same CA certificates and CRL a moment ago and does not verify it again (-X says
# so); the outcome is the same.
before=$(n_cached)
expect_accept alice-tls12-full-again alice12 TLSv1.2 alice@example.org 1 no
if [ "$(n_cached)" -gt "$before" ]; then
	kt_ok alice-full-again-chain-not-reverified
else
	kt_fail alice-full-again-chain-not-reverified "no 'client chain verified before' in the trace"
fi
expect_accept alice-tls12-resume alice12 TLSv1.2 alice@example.org 3 yes
expect_accept alice-tls13-resume alice13 TLSv1.3 alice@example.org 3 yes

# Framed-MTU: kagid's EAP-Requests must fit in it
peer_conf alice12-f300 alice alice@example.org 12 "fragment_size=300"
peer_conf alice13-f300 alice alice@example.org 13 "fragment_size=300"
for v in 12 13; do
	expect_accept mtu300-tls$v alice$v-f300 TLSv1.$((v - 10)) alice@example.org 1 no -N 12:d:300 &&
		expect_eap_size mtu300-tls$v 300
done
expect_accept mtu1400-tls13 alice13 TLSv1.3 alice@example.org 1 no -N 12:d:1400 &&
	expect_eap_size mtu1400-tls13 1400 300

# rejects, with both TLS versions
for v in 12 13; do
	peer_conf mallory$v mallory mallory@example.org $v
	peer_conf carol$v carol carol@example.org $v
	peer_conf dave$v dave dave@example.org $v
	peer_conf frank$v frank frank@example.org $v
	peer_conf erin$v erin erin@example.org $v
	peer_conf alice-as-bob$v alice bob@example.org $v
	expect_reject reject-untrusted-ca-tls$v mallory$v mallory@example.org "untrusted CA"
	expect_reject reject-revoked-tls$v carol$v carol@example.org revoked
	expect_reject reject-expired-tls$v dave$v dave@example.org expired
	expect_reject reject-eku-serverauth-tls$v frank$v frank@example.org "missing clientAuth EKU"
	expect_reject reject-no-eku-tls$v erin$v erin@example.org "missing clientAuth EKU"
	expect_reject reject-identity-mismatch-tls$v alice-as-bob$v bob@example.org "identity mismatch"
done

# An RSA-1024 client key (the supplicant lowered its own security level to offer it) is refused
if weak_cert walter; then
	for v in 12 13; do
		peer_conf walter$v walter walter@example.org $v 'openssl_ciphers="DEFAULT@SECLEVEL=0"'
		expect_reject reject-weak-key-tls$v walter$v walter@example.org "key too weak"
	done
else
	kt_fail reject-weak-key "could not issue an RSA-1024 certificate"
fi

# CRL re-read at run time: grace passes, is revoked (no signal to kagid), then fails
peer_conf grace12 grace grace@example.org 12
peer_conf grace13 grace grace@example.org 13
expect_accept grace-before-revoke grace13 TLSv1.3 grace@example.org 1 no
if bash "$KT_TOP/certs/mkpki.sh" --revoke "$PKI" grace >"$KT_DIR/revoke-grace.log" 2>&1; then
	sleep 1.2
	expect_reject grace-after-revoke-tls13 grace13 grace@example.org revoked
	expect_reject grace-after-revoke-tls12 grace12 grace@example.org revoked
else
	kt_fail grace-revoke "mkpki.sh --revoke failed: $(cat "$KT_DIR/revoke-grace.log")"
fi

# A session made before a revocation must not be resumed after it (bob: TLS 1.2 session ID;
# alice: TLS 1.3 ticket). These revoke bob and alice, so they come last.
peer_conf bob12-rsa bob bob@example.org 12
expect_revoked_resume revoked-resume-tls12 bob12-rsa bob bob@example.org TLSv1.2
expect_revoked_resume revoked-resume-tls13 alice13 alice alice@example.org TLSv1.3

# A resumption must see what changed with time alone, the CRL and the certificate files being
# untouched: a CRL past its nextUpdate, a client certificate past its notAfter. (kagid skips
# re-verifying a resumed chain against the same store only while neither has passed.)
if short_lived_cert judy 3600 && crl_valid_for 6; then
	peer_conf judy12 judy judy@example.org 12
	expect_refused_resume crl-expired-resume-tls12 judy12 judy@example.org TLSv1.2 \
		"CRL expired" 7 true
	crl_valid_for 2592000 || kt_fail crl-restore "could not write a fresh CRL"
else
	kt_fail crl-expired-resume-tls12 "could not write a CRL valid for 6 s"
fi
if short_lived_cert ivan 6; then
	peer_conf ivan12 ivan ivan@example.org 12
	expect_refused_resume cert-expired-resume-tls12 ivan12 ivan@example.org TLSv1.2 expired 7 true
else
	kt_fail cert-expired-resume-tls12 "could not issue a short-lived certificate"
fi

# The same two with full handshakes only: a chain verified before is verified again once a
# certificate's notAfter or the CRL's nextUpdate has passed (time alone, files untouched).
if short_lived_cert kim 6; then
	peer_conf kim12 kim kim@example.org 12
	expect_accept cert-expiring-full-tls12 kim12 TLSv1.2 kim@example.org 1 no
	expect_accept cert-expiring-full-again-tls12 kim12 TLSv1.2 kim@example.org 1 no
	sleep 7
	expect_reject cert-expired-full-tls12 kim12 kim@example.org expired
else
	kt_fail cert-expired-full-tls12 "could not issue a short-lived certificate"
fi
if short_lived_cert lena 3600 && crl_valid_for 6; then
	peer_conf lena13 lena lena@example.org 13
	expect_accept crl-expiring-full-tls13 lena13 TLSv1.3 lena@example.org 1 no
	expect_accept crl-expiring-full-again-tls13 lena13 TLSv1.3 lena@example.org 1 no
	sleep 7
	expect_reject crl-expired-full-tls13 lena13 lena@example.org "CRL expired"
	crl_valid_for 2592000 || kt_fail crl-restore "could not write a fresh CRL"
else
	kt_fail crl-expired-full-tls13 "could not write a CRL valid for 6 s"
fi

kt_stop_save rsa

# ---------------------------------------------------------------------------------------------
# 4. No secrets in kagid's output: shared secret, private keys (PEM bodies), MPPE keys

if why=$(python3 - "$KT_SECRET" "$PKI" "$KT_DIR/out" "$KT_DIR"/logs/* <<'PY'
import glob, os, re, sys
secret, pki, outdir, logs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
text = {p: open(p, encoding="utf-8", errors="replace").read() for p in logs}
hexonly = {p: re.sub(r"[^0-9a-f]", "", t.lower()) for p, t in text.items()}
problems = []
for p, t in text.items():
    if secret in t:
        problems.append(f"{os.path.basename(p)}: shared secret")
# private keys: every base64 body line of every test key
for k in glob.glob(os.path.join(pki, "*.key")):
    body = [l.strip() for l in open(k) if l.strip() and not l.startswith("-----")]
    for p, t in text.items():
        if any(len(l) >= 32 and l in t for l in body):
            problems.append(f"{os.path.basename(p)}: private key {os.path.basename(k)}")
# MPPE keys as eapol_test derived them (plaintext, hex)
mppe = set()
for o in glob.glob(os.path.join(outdir, "*.out")):
    for m in re.finditer(r"MS-MPPE-(?:Send|Recv)-Key \([a-z]+\) - hexdump\(len=\d+\):((?: [0-9a-f]{2})+)", open(o, errors="replace").read()):
        mppe.add(m.group(1).replace(" ", ""))
for key in mppe:
    for p, h in hexonly.items():
        if key in h:
            problems.append(f"{os.path.basename(p)}: an MPPE key")
if not mppe:
    problems.append("(no MPPE keys found in eapol_test outputs to look for)")
print("; ".join(sorted(set(problems))))
sys.exit(1 if problems else 0)
PY
); then
	kt_ok no-secrets-in-logs
else
	kt_fail no-secrets-in-logs "$why"
fi

[ "$KT_FAILS" -eq 0 ]
