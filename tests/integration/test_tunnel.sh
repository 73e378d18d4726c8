#!/usr/bin/env bash
# tests/integration/test_tunnel.sh: PEAPv0 and EAP-TTLS end to end with eapol_test
# (wpa_supplicant 2.10), password users from raddb/users.
#
# Users: alice (password, reply Tunnel-Type/Tunnel-Medium-Type/Tunnel-Private-Group-Id "10" and
# Filter-Id "staff"), bob (nt_hash only, computed here; a non-ASCII password; Filter-Id
# "contractors"), carol (disabled), hup1..hup6 (disabled by a SIGHUP during a test).
# Every peer uses the outer identity anonymous@example.org.
#
#   main instance (methods tls, peap, ttls):
#     ok-METHOD-tlsV        PEAP-MSCHAPv2, PEAP-GTC, TTLS-PAP, TTLS-MSCHAPv2, TTLS-EAP-MSCHAPv2,
#                           TTLS-EAP-GTC x TLS 1.2 / 1.3, alice, eapol_test -r 2: three Accepts,
#                           MPPE keys OK 3/0, resumed 0 1 1, the Accept attributes of alice in
#                           all three (and User-Name = the inner identity), auth log
#                           identity/outer_identity/method/inner_method/tls_version/resumed
#     nthash-METHOD-tlsV    bob (nt_hash only) with every method, -r 1
#     cb{0,1,2}-...         PEAP crypto_binding=0/1/2 on the peer (+ GTC with 2), -r 1
#     reject-METHOD-{wrongpw,unknown,disabled}
#                           Access-Reject, reason "wrong password" / "unknown user" /
#                           "user disabled" in the auth log, for PEAP-MSCHAPv2, PEAP-GTC,
#                           TTLS-PAP, TTLS-MSCHAPv2, TTLS-EAP-MSCHAPv2 (and TTLS-EAP-GTC)
#     failed-then-reauth-*  wrong password with eapol_test -r 1: rejected, nothing accepted
#                           or resumed (eapol_test stops at the first failure, and
#                           wpa_supplicant offers its session again only after a success, so:)
#     failed-then-resume-tlsV
#                           ttls_pap_peer.py offers the session of a rejected conversation
#                           (TLS 1.3 ticket / TLS 1.2 session ID): kagid must not resume it
#                           (full handshake, resumed=false) and must reject; the control case
#                           (a success first) is resumed.
#     hup-disable-METHOD-tlsV
#                           one eapol_test -r 1 through a relay: accepted, then the relay
#                           disables the user in raddb/users and sends SIGHUP before
#                           forwarding the second conversation; its resumption (resumed=1 on
#                           the peer) is refused with "user disabled", logged resumed=true
#     refused-resume-reused-tlsV
#                           the same with ttls_pap_peer.py, which then offers the first session
#                           twice more: full handshakes (a refused session is forgotten), refused
#   cbreq instance (peap_require_crypto_binding = yes):
#     cbreq-cb0             crypto_binding=0 rejected, reason mentions Crypto-Binding
#     cbreq-cb{1,2}         accepted, with fast reconnect (-r 1); TTLS is not affected
#   then: no password, NT hash (of any user) or shared secret in auth.log, kagid's -X stderr
#   or stdout of either instance (plain text, hex of UTF-8 and of UTF-16LE).

. "$(dirname "$0")/lib.sh"

kt_need_eapol_test
kt_init
PKI=$KT_DIR/pki
mkdir -p "$KT_DIR/out" "$KT_DIR/logs"
ANON=anonymous@example.org
export KT_METHODS="tls, peap, ttls"

# Test passwords: distinct and recognizable, so the leak check can look for them.
ALICE_PW=Al1ce-Tunnel-pw-7Q
BOB_PW=$(printf 'B\xc3\xb8b-NT-only-pw-X9') # U+00F8: the NT hash is MD4 of UTF-16LE
CAROL_PW=Car0l-Disabled-pw-3Z
HUP_PW=Hup-User-pw-5M
WRONG_PW=Wr0ng-Guess-pw-K2

# nt_hash PASSWORD: upper-case hex MD4 of the UTF-16LE password
nt_hash() {
	printf '%s' "$1" | iconv -f UTF-8 -t UTF-16LE |
		openssl dgst -md4 -provider legacy -provider default -r | cut -c1-32 | tr a-f A-F
}
# the helper itself, on the RFC 2759 §9.2 vector
if [ "$(nt_hash clientPass)" != 44EBBA8D5312B8D611474411F56989AE ]; then
	echo "not ok nt-hash-helper - NT hash of clientPass is '$(nt_hash clientPass)'"
	exit 1
fi
BOB_NT=$(nt_hash "$BOB_PW")
ALICE_NT=$(nt_hash "$ALICE_PW")

ALICE_REPLY='Tunnel-Type = VLAN, Tunnel-Medium-Type = IEEE-802, Tunnel-Private-Group-Id = \"10\", Filter-Id = \"staff\"'
# what eapol_test shows of the Accept's attributes (attrs_summary below)
ALICE_ATTRS="1='alice' 11[7] 64=0000000d 65=00000006 81=3130"
BOB_ATTRS="1='bob' 11[13]"

# write_users [DISABLED_USER...]: raddb/users; the hup users named are disabled
write_users() {
	local u d
	{
		cat <<EOF
user alice {
    password = "$ALICE_PW"
    groups = { staff }
    reply = "$ALICE_REPLY"
}
user bob {
    nt_hash = "$BOB_NT"
    reply = "Filter-Id = \"contractors\""
}
user carol {
    password = "$CAROL_PW"
    disabled = yes
}
EOF
		for u in hup1 hup2 hup3 hup4 hup5 hup6; do
			d=no
			case " $* " in *" $u "*) d=yes ;; esac
			printf 'user %s {\n    password = "%s"\n    disabled = %s\n}\n' "$u" "$HUP_PW" "$d"
		done
	} >"$KT_DIR/raddb/users.tmp"
	mv "$KT_DIR/raddb/users.tmp" "$KT_DIR/raddb/users"
}

# ---------------------------------------------------------------------------------------------
# helpers

# method table: NAME -> eap, phase2, inner_method in the auth log
m_eap() { case $1 in peap-*) echo PEAP ;; *) echo TTLS ;; esac; }
m_phase2() {
	case $1 in
	peap-mschapv2 | ttls-mschapv2) echo "auth=MSCHAPV2" ;;
	peap-gtc) echo "auth=GTC" ;;
	ttls-pap) echo "auth=PAP" ;;
	ttls-eap-mschapv2) echo "autheap=MSCHAPV2" ;;
	ttls-eap-gtc) echo "autheap=GTC" ;;
	esac
}
m_inner() {
	case $1 in
	*-mschapv2) echo MSCHAPv2 ;;
	*-gtc) echo GTC ;;
	*-pap) echo PAP ;;
	esac
}

# peer_conf NAME METHOD USER PASSWORD TLS [PHASE1_EXTRA]: write $KT_DIR/NAME.conf (TLS 12 or
# 13; with 13 the peer offers TLS 1.3 without refusing older versions, and the checks see that
# kagid picks it)
peer_conf() {
	local name=$1 m=$2 user=$3 pw=$4 tls=$5 extra=${6:-}
	[ "$tls" = 13 ] && tls=any
	kt_eapol_conf "$name" "$(m_eap "$m")" "$user" "$(kt_eapol_phase1 "$tls" "$extra")" \
		"anonymous_identity=\"$ANON\"" "password=\"$pw\"" "phase2=\"$(m_phase2 "$m")\""
}

# attrs_summary NAME: one line per Access-Accept in the eapol_test output: its attributes
# (without Message-Authenticator, EAP-Message and the MS-MPPE VSAs), sorted: NUM=VALUE as
# eapol_test prints it, or NUM[LENGTH] when it prints no value
attrs_summary() {
	python3 - "$KT_DIR/out/$1.out" <<'PY'
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
i = 0
while i < len(lines):
    if "RADIUS message: code=2 (Access-Accept)" in lines[i]:
        attrs, i = [], i + 1
        while i < len(lines) and lines[i].startswith(" "):
            m = re.match(r"\s+Attribute (\d+) \(.*\) length=(\d+)$", lines[i])
            if m:
                num, ln = int(m.group(1)), int(m.group(2))
                val = None
                if i + 1 < len(lines) and lines[i + 1].strip().startswith("Value: "):
                    val = lines[i + 1].strip()[len("Value: "):]
                    i += 1
                if num not in (26, 79, 80):
                    attrs.append((num, f"{num}={val}" if val is not None else f"{num}[{ln}]"))
            i += 1
        print(" ".join(a for _, a in sorted(attrs)))
        continue
    i += 1
PY
}

# expect_accept NAME METHOD USER PASSWORD TLS NAUTH ATTRS [PHASE1_EXTRA [eapol_test ARGS...]]
#   NAUTH conversations, all accepted with MPPE keys; the 2nd and later ones resumed (fast
#   reconnect: inner_method "resumed"); every Accept carries ATTRS.
expect_accept() {
	local name=$1 m=$2 user=$3 pw=$4 tls=$5 nauth=$6 attrs=$7 extra=${8:-}
	shift 8 2>/dev/null || shift $#
	local ver=TLSv1.${tls#1} spec why got
	peer_conf "$name" "$m" "$user" "$pw" "$tls" "$extra"
	spec="result=accept,reason=ok,client=test,nas=127.0.0.1,method=$(m_eap "$m"),identity=$user"
	spec+=",outer_identity=$ANON,tls_version=$ver,cert_subject!"
	if ! why=$(kt_eapol_accepts "$name" "$name" "$nauth" "$ver" yes \
		"$spec,inner_method=$(m_inner "$m"),resumed=false" "$spec,inner_method=resumed,resumed=true" "$@"); then
		kt_fail "$name" "$why"
		return 1
	fi
	got=$(attrs_summary "$name")
	if [ "$(printf '%s\n' "$got" | grep -c .)" -ne "$nauth" ] ||
		printf '%s\n' "$got" | grep -qvxF "$attrs"; then
		kt_fail "$name" "Accept attributes: got [$(printf '%s' "$got" | tr '\n' '|')], want $nauth x [$attrs]"
		return 1
	fi
	kt_ok "$name"
}

# expect_reject NAME METHOD USER PASSWORD TLS REASON [PHASE1_EXTRA]: one conversation, an
# Access-Reject and no Access-Accept, and one auth log line: reject with reason REASON (or
# ~SUBSTRING)
expect_reject() {
	local name=$1 m=$2 user=$3 pw=$4 tls=$5 reason=$6 extra=${7:-}
	local spec why
	peer_conf "$name" "$m" "$user" "$pw" "$tls" "$extra"
	case $reason in ~*) spec="result=reject,reason$reason" ;; *) spec="result=reject,reason=$reason" ;; esac
	spec+=",client=test,method=$(m_eap "$m"),inner_method=$(m_inner "$m"),identity=$user"
	spec+=",outer_identity=$ANON,tls_version=TLSv1.${tls#1},resumed=false"
	if ! why=$(kt_eapol_rejects "$name" "$name" "$spec"); then
		kt_fail "$name" "$why"
		return 1
	fi
	if grep -q "code=2 (Access-Accept)" "$KT_DIR/out/$name.out"; then
		kt_fail "$name" "an Access-Accept received: must be rejected"
		return 1
	fi
	kt_ok "$name"
}

# ---------------------------------------------------------------------------------------------
# 1. main instance

write_users
kt_config
kt_start

METHODS="peap-mschapv2 peap-gtc ttls-pap ttls-mschapv2 ttls-eap-mschapv2 ttls-eap-gtc"

# alice, every method, both TLS versions, two resumptions each
for v in 12 13; do
	for m in $METHODS; do
		expect_accept "ok-$m-tls$v" "$m" alice "$ALICE_PW" "$v" 3 "$ALICE_ATTRS"
	done
done

# bob: nt_hash only
for m in $METHODS; do
	v=13
	case $m in ttls-pap | peap-mschapv2 | ttls-eap-gtc) v=12 ;; esac
	expect_accept "nthash-$m-tls$v" "$m" bob "$BOB_PW" "$v" 2 "$BOB_ATTRS"
done

# PEAP crypto binding on the peer: 0 = never, 1 = if offered (default), 2 = required
for v in 12 13; do
	for cb in 0 1 2; do
		expect_accept "cb$cb-peap-mschapv2-tls$v" peap-mschapv2 alice "$ALICE_PW" "$v" 2 \
			"$ALICE_ATTRS" "crypto_binding=$cb"
	done
done
expect_accept cb2-peap-gtc-tls13 peap-gtc alice "$ALICE_PW" 13 2 "$ALICE_ATTRS" "crypto_binding=2"

# rejects: wrong password, unknown user, disabled user (with its right password)
i=0
for m in $METHODS; do
	v=$((12 + i % 2)) # alternate TLS versions
	i=$((i + 1))
	expect_reject "reject-$m-wrongpw" "$m" alice "$WRONG_PW" "$v" "wrong password"
	expect_reject "reject-$m-wrongpw-nthash" "$m" bob "$WRONG_PW" $((25 - v)) "wrong password"
	expect_reject "reject-$m-unknown" "$m" mallory "$ALICE_PW" "$v" "unknown user"
	expect_reject "reject-$m-disabled" "$m" carol "$CAROL_PW" $((25 - v)) "user disabled"
done

# A failed inner login with eapol_test -r 1: rejected, and nothing accepted or resumed
# afterwards. (eapol_test 2.10 stops at the first failure, so there is one conversation; and
# wpa_supplicant offers its TLS session again only after a success: the real "resume after a
# failure" attempt is made with ttls_pap_peer.py below.)
failed_then_reauth() {
	local name=$1 m=$2 v=$3 base rc n i why
	peer_conf "$name" "$m" alice "$WRONG_PW" "$v"
	base=$(kt_auth_lines)
	kt_eapol_test "$name" "$name" "$KT_PORT" -r 1
	rc=$?
	local out=$KT_DIR/out/$name.out
	n=$(grep -c "CTRL-EVENT-EAP-STARTED" "$out")
	kt_wait_auth_lines $((base + n))
	sleep 0.05
	if [ $rc -eq 0 ] || grep -q "code=2 (Access-Accept)" "$out" ||
		[ "$(grep -c 'code=3 (Access-Reject)' "$out")" -ne "$n" ] || [ "$n" -lt 1 ]; then
		kt_fail "$name" "want only Access-Rejects (exit $rc, $n conversations): $(kt_eapol_summary "$name")"
		return 1
	fi
	if grep -q "Handshake finished - resumed=1" "$out"; then
		kt_fail "$name" "a conversation was resumed: $(kt_eapol_resumed_flags "$name")"
		return 1
	fi
	if [ "$(kt_auth_lines)" -ne $((base + n)) ]; then
		kt_fail "$name" "auth log: $(($(kt_auth_lines) - base)) new lines for $n conversations"
		return 1
	fi
	for i in $(seq 1 "$n"); do
		if ! why=$(kt_json_check $((base + i)) result=reject reason="wrong password" \
			identity=alice resumed=false); then
			kt_fail "$name" "auth log line $i: $why"
			return 1
		fi
	done
	kt_ok "$name"
}
failed_then_reauth failed-then-reauth-peap-mschapv2-tls13 peap-mschapv2 13
failed_then_reauth failed-then-reauth-ttls-pap-tls12 ttls-pap 12

# The session of a rejected conversation offered anyway (ttls_pap_peer.py): never resumed.
# peer_run NAME TLS PASSWORDS EXPECT EXPECT_RESUMED: two conversations as alice
peer_run() {
	local name=$1 tls=$2 pws=$3 exp=$4 expres=$5
	python3 "$KT_TOP/tests/integration/ttls_pap_peer.py" --port "$KT_PORT" \
		--secret "$KT_SECRET" --ca "$PKI/ca.pem" --user alice --password "$pws" \
		--tls "$tls" --count 2 --expect "$exp" --expect-resumed "$expres" \
		>"$KT_DIR/out/$name.out" 2>&1
}
for v in 12 13; do
	tls=1.${v#1}
	# control: a success first, its session is resumed (so the peer does offer sessions)
	base=$(kt_auth_lines)
	if peer_run "resume-control-tls$v" "$tls" "$ALICE_PW,$WRONG_PW" accept,accept no,yes &&
		kt_wait_auth_lines $((base + 2)) &&
		why=$(kt_json_check $((base + 2)) result=accept identity=alice inner_method=resumed resumed=true); then
		kt_ok "resume-control-tls$v"
	else
		kt_fail "resume-control-tls$v" "$(grep -E 'auth [0-9]|RESULT|Error|error' "$KT_DIR/out/resume-control-tls$v.out" | tr '\n' '|') ${why:-}"
	fi
	# a rejected login, then its session offered with the right password: a full handshake
	# (not resumed) and an inner authentication that succeeds
	base=$(kt_auth_lines)
	if peer_run "failed-then-resume-tls$v" "$tls" "$WRONG_PW,$ALICE_PW" reject,accept no,no &&
		kt_wait_auth_lines $((base + 2)) &&
		why=$(kt_json_check $((base + 1)) result=reject reason="wrong password" resumed=false) &&
		why=$(kt_json_check $((base + 2)) result=accept inner_method=PAP resumed=false); then
		kt_ok "failed-then-resume-tls$v"
	else
		kt_fail "failed-then-resume-tls$v" "$(grep -E 'auth [0-9]|RESULT|Error|error' "$KT_DIR/out/failed-then-resume-tls$v.out" | tr '\n' '|') ${why:-}"
	fi
	# and with the wrong password again: rejected, not resumed
	base=$(kt_auth_lines)
	if peer_run "failed-then-resume-wrong-tls$v" "$tls" "$WRONG_PW" reject,reject no,no &&
		kt_wait_auth_lines $((base + 2)) &&
		why=$(kt_json_check $((base + 2)) result=reject reason="wrong password" resumed=false); then
		kt_ok "failed-then-resume-wrong-tls$v"
	else
		kt_fail "failed-then-resume-wrong-tls$v" "$(grep -E 'auth [0-9]|RESULT|Error|error' "$KT_DIR/out/failed-then-resume-wrong-tls$v.out" | tr '\n' '|') ${why:-}"
	fi
done

# Disable a user and SIGHUP between a first authentication and its resumption. The relay
# (tests/integration/hookrelay.py) forwards everything between eapol_test and kagid; at the 2nd
# EAP-Response/Identity it runs the hook (rewrite users, SIGHUP, wait for the reload).

# the hook: disable the users given, SIGHUP kagid, wait until it says the reload is done
cat >"$KT_DIR/disable_hook.sh" <<EOF
#!/usr/bin/env bash
n=\$(grep -c "configuration reloaded" "$KT_DIR/kagid.log")
$(declare -f write_users)
KT_DIR=$KT_DIR ALICE_PW=$ALICE_PW BOB_NT=$BOB_NT CAROL_PW=$CAROL_PW HUP_PW=$HUP_PW
ALICE_REPLY='$ALICE_REPLY'
write_users "\$@"
kill -HUP \$KAGID_PID || exit 1
for i in \$(seq 1 100); do
	[ "\$(grep -c "configuration reloaded" "$KT_DIR/kagid.log")" -gt "\$n" ] && exit 0
	grep -q "reload refused" "$KT_DIR/kagid.log" && { echo "reload refused"; exit 1; }
	sleep 0.05
done
echo "no reload within 5 s"
exit 1
EOF

# hup_disable NAME METHOD TLS USER: USER is accepted, disabled + SIGHUP, then the resumption
# of its session must be refused with "user disabled"
hup_disable() {
	local name=$1 m=$2 v=$3 user=$4 ver=TLSv1.${3#1}
	local base rc why out=$KT_DIR/out/$1.out
	peer_conf "$name" "$m" "$user" "$HUP_PW" "$v"
	base=$(kt_auth_lines)
	# shellcheck disable=SC2086 # DISABLED: one word a user
	kt_eapol_relayed "$name" "$name" 0 bash "$KT_DIR/disable_hook.sh" $DISABLED "$user"
	rc=$?
	DISABLED="$DISABLED $user"
	if ! why=$(kt_eapol_hook_ran "$name"); then
		kt_fail "$name" "disabling the user between the two conversations failed: $why"
		return 1
	fi
	kt_wait_auth_lines $((base + 2))
	if ! why=$(kt_json_check $((base + 1)) result=accept identity="$user" tls_version="$ver" \
		resumed=false inner_method="$(m_inner "$m")"); then
		kt_fail "$name" "first conversation: $why"
		return 1
	fi
	if [ $rc -eq 0 ] || [ "$(grep -c 'code=3 (Access-Reject)' "$out")" -ne 1 ] ||
		[ "$(grep -c 'code=2 (Access-Accept)' "$out")" -ne 1 ]; then
		kt_fail "$name" "second conversation not rejected (eapol_test exit $rc): $(kt_eapol_summary "$name")"
		return 1
	fi
	# the peer did offer the session and kagid did resume it, then refused the user
	if [ "$(kt_eapol_resumed_flags "$name")" != "0 1" ]; then
		kt_fail "$name" "resumed per conversation (eapol_test): '$(kt_eapol_resumed_flags "$name")', want '0 1'"
		return 1
	fi
	if ! why=$(kt_json_check $((base + 2)) result=reject reason="user disabled" identity="$user" \
		outer_identity="$ANON" method="$(m_eap "$m")" tls_version="$ver" resumed=true); then
		kt_fail "$name" "second conversation: $why"
		return 1
	fi
	kt_ok "$name"
}
DISABLED=""
hup_disable hup-disable-peap-tls12 peap-mschapv2 12 hup1
hup_disable hup-disable-peap-tls13 peap-gtc 13 hup2
hup_disable hup-disable-ttls-tls12 ttls-eap-mschapv2 12 hup3
hup_disable hup-disable-ttls-tls13 ttls-pap 13 hup4
# (a disabled user is refused afresh too)
expect_reject reject-after-hup-disabled ttls-pap hup4 "$HUP_PW" 12 "user disabled"

# The same, then the first session offered again (ttls_pap_peer.py --reuse-first): a refused
# resumption must leave nothing resumable behind, and kagid must survive it (it is checked by
# ASan at the end). Conversations: accept; [disable + SIGHUP]; resumed and refused; then the
# first session twice more: full handshakes, refused.
refused_resume_reused() {
	local name=$1 v=$2 user=$3 pp base i why
	local pause=$KT_DIR/$name.pause
	base=$(kt_auth_lines)
	python3 "$KT_TOP/tests/integration/ttls_pap_peer.py" --port "$KT_PORT" \
		--secret "$KT_SECRET" --ca "$PKI/ca.pem" --user "$user" --password "$HUP_PW" \
		--tls "1.${v#1}" --count 4 --reuse-first --pause-file "$pause" \
		--expect accept,reject --expect-resumed no,yes,no >"$KT_DIR/out/$name.out" 2>&1 &
	pp=$!
	for i in $(seq 1 200); do [ -e "$pause.waiting" ] && break; sleep 0.05; done
	if ! KAGID_PID=$KT_PID bash "$KT_DIR/disable_hook.sh" $DISABLED "$user" >"$KT_DIR/$name.hook" 2>&1; then
		kt_fail "$name" "disabling $user failed: $(tr '\n' ' ' <"$KT_DIR/$name.hook")"
	fi
	DISABLED="$DISABLED $user"
	touch "$pause"
	wait "$pp"
	local rc=$?
	kt_wait_auth_lines $((base + 4))
	if [ $rc -ne 0 ]; then
		kt_fail "$name" "$(grep -E 'auth [0-9]|RESULT' "$KT_DIR/out/$name.out" | tr '\n' '|')"
		return 1
	fi
	if ! why=$(kt_json_check $((base + 2)) result=reject reason="user disabled" resumed=true); then
		kt_fail "$name" "conversation 2: $why"
		return 1
	fi
	for i in 3 4; do
		if ! why=$(kt_json_check $((base + i)) result=reject reason="user disabled" identity="$user"); then
			kt_fail "$name" "conversation $i: $why"
			return 1
		fi
	done
	kt_ok "$name"
}
refused_resume_reused refused-resume-reused-tls12 12 hup5
refused_resume_reused refused-resume-reused-tls13 13 hup6

kt_stop_save main

# ---------------------------------------------------------------------------------------------
# 2. peap_require_crypto_binding = yes

write_users
KT_EAP_EXTRA="    peap_require_crypto_binding = yes" kt_config
kt_start
expect_reject cbreq-cb0-tls12 peap-mschapv2 alice "$ALICE_PW" 12 "~Crypto-Binding" "crypto_binding=0"
expect_reject cbreq-cb0-tls13 peap-gtc alice "$ALICE_PW" 13 "~Crypto-Binding" "crypto_binding=0"
expect_accept cbreq-cb1-tls13 peap-mschapv2 alice "$ALICE_PW" 13 2 "$ALICE_ATTRS" "crypto_binding=1"
expect_accept cbreq-cb2-tls12 peap-gtc bob "$BOB_PW" 12 2 "$BOB_ATTRS" "crypto_binding=2"
expect_accept cbreq-ttls-unaffected ttls-mschapv2 alice "$ALICE_PW" 13 2 "$ALICE_ATTRS"
kt_stop_save cbreq

# ---------------------------------------------------------------------------------------------
# 3. No secrets in kagid's output

if why=$(python3 - "$KT_SECRET" "$ALICE_NT" "$BOB_NT" "$(nt_hash "$CAROL_PW")" \
	"$(nt_hash "$HUP_PW")" "$(nt_hash "$WRONG_PW")" -- "$ALICE_PW" "$BOB_PW" "$CAROL_PW" \
	"$HUP_PW" "$WRONG_PW" -- "$KT_DIR"/logs/* <<'PY'
import os, sys
a = sys.argv[1:]
i = a.index("--")
j = a.index("--", i + 1)
secret, hashes, pws, logs = a[0], a[1:i], a[i + 1:j], a[j + 1:]
if not logs:
    print("no logs to check")
    sys.exit(1)
problems = []
for p in logs:
    raw = open(p, "rb").read()
    low = raw.lower()
    hexonly = bytes(c for c in low if c in b"0123456789abcdef")
    name = os.path.basename(p)
    if secret.encode() in raw:
        problems.append(f"{name}: shared secret")
    for pw in pws:
        b = pw.encode()
        forms = {"text": (b, raw), "hex": (b.hex().encode(), hexonly),
                 "UTF-16LE hex": (pw.encode("utf-16-le").hex().encode(), hexonly)}
        for what, (needle, hay) in forms.items():
            if needle in hay:
                problems.append(f"{name}: a password ({what})")
    for h in hashes:
        if h.lower().encode() in hexonly:
            problems.append(f"{name}: an NT hash")
print("; ".join(sorted(set(problems))))
sys.exit(1 if problems else 0)
PY
); then
	kt_ok no-passwords-in-logs
else
	kt_fail no-passwords-in-logs "$why"
fi

[ "$KT_FAILS" -eq 0 ]
