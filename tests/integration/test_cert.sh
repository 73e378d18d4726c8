#!/usr/bin/env bash
# tests/integration/test_cert.sh: `kagi cert`, the certificate lifecycle, end to end.
#
#   1. init -> issue a server and clients (email, UPN, device, RSA) -> file modes, EKUs, SANs,
#      `openssl verify` with the CRL
#   2. kagid running on that PKI: the clients pass eapol_test; one is revoked and, with no
#      signal, refused within 2 s (reason "revoked"; latency measured and printed) while the
#      others still pass; renew; `kagi cert crl`
#   3. export: `openssl pkcs12 -info` reads it (no -legacy) with the printed password, AES-256 /
#      PBKDF2 / SHA-256 MAC, the chain is in it, a wrong password fails; eapol_test
#      authenticates with the .p12 itself
#   4. bad input: unknown names, duplicates, revoking twice, corrupted inventory, missing CA,
#      init over a PKI that is not ours: clear error, non-zero exit, nothing written
#   5. concurrency: parallel `issue` and parallel `revoke` all succeed, distinct serials, a
#      consistent inventory and a CRL with every revocation
#   6. an issuing CA (init --intermediate): chain files, verify, kagid accepts then refuses
#   7. no private key is ever printed; the PKCS#12 password only once, on stdout

. "$(dirname "$0")/lib.sh"

command -v eapol_test >/dev/null || { echo "not ok eapol_test - eapol_test not installed (Debian: eapoltest)"; exit 1; }

kt_init
T=10 # eapol_test timeout (s)
P=$KT_DIR/kpki       # the PKI under test
OUT=$KT_DIR/out      # command outputs
mkdir -p "$OUT" "$KT_DIR/eap"

# kc ARGS...: kagi cert on $P
kc() { "$KAGI" cert --dir "$P" "$@"; }

# run NAME CMD...: run CMD, stdout to $OUT/NAME.out, stderr to $OUT/NAME.err; its exit status
run() {
	local n=$1
	shift
	"$@" >"$OUT/$n.out" 2>"$OUT/$n.err"
}

# expect_ok NAME CMD...: CMD must exit 0
expect_ok() {
	local n=$1
	shift
	if run "$n" "$@"; then kt_ok "$n"; else kt_fail "$n" "exit $?: $(head -c 300 "$OUT/$n.err")"; fi
}

# snapshot DIR: every file (name, mode, content hash), for "nothing changed" checks
snapshot() {
	(cd "$1" && find . -print0 | sort -z | xargs -0 stat -c '%n %a %s' &&
		find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# expect_refused NAME WANT DIR CMD...: CMD must fail (exit not 0), say WANT (grep -E) on
# stderr, and leave DIR exactly as it was
expect_refused() {
	local n=$1 want=$2 dir=$3 before after rc
	shift 3
	before=$(snapshot "$dir")
	run "$n" "$@"
	rc=$?
	after=$(snapshot "$dir")
	if [ "$rc" -eq 0 ]; then
		kt_fail "$n" "exit 0, wanted an error"
	elif ! grep -qE "$want" "$OUT/$n.err"; then
		kt_fail "$n" "stderr lacks /$want/: $(head -c 300 "$OUT/$n.err")"
	elif [ "$before" != "$after" ]; then
		kt_fail "$n" "$dir changed: $(diff <(echo "$before") <(echo "$after") | head -5 | tr '\n' ' ')"
	else
		kt_ok "$n"
	fi
}

# peer_conf NAME IDENTITY CA CERT KEY [EXTRA]: eapol_test config $KT_DIR/eap/NAME.conf
peer_conf() {
	local name=$1 id=$2 ca=$3 cert=$4 key=$5 extra=${6:-}
	{
		echo "network={"
		echo "    key_mgmt=WPA-EAP"
		echo "    eap=TLS"
		echo "    identity=\"$id\""
		echo "    ca_cert=\"$ca\""
		[ -n "$cert" ] && echo "    client_cert=\"$cert\""
		echo "    private_key=\"$key\""
		echo "    domain_match=\"radius.kagi.test\""
		echo "    phase1=\"tls_disable_tlsv1_3=0\""
		[ -n "$extra" ] && echo "    $extra"
		echo "}"
	} >"$KT_DIR/eap/$name.conf"
}

# client_conf NAME IDENTITY PKI CERTNAME: a peer for DIR/issued/CERTNAME.{pem,key}
client_conf() {
	peer_conf "$1" "$2" "$3/ca.pem" "$3/issued/$4.pem" "$3/issued/$4.key"
}

# eap NAME: run eapol_test with $KT_DIR/eap/NAME.conf; exit status 0 = SUCCESS
eap() {
	eapol_test -c "$KT_DIR/eap/$1.conf" -a 127.0.0.1 -p "$KT_PORT" -s "$KT_SECRET" -t "$T" \
		>"$OUT/eap-$1.log" 2>&1
}

# last_auth FIELD: a field of the last auth log line
last_auth() {
	tail -n 1 "$KT_DIR/auth.log" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read()).get(sys.argv[1], ""))' "$1" 2>/dev/null
}

# expect_accept TEST CONF IDENTITY
expect_accept() {
	local n=$1 conf=$2 id=$3 lines
	lines=$(wc -l <"$KT_DIR/auth.log")
	if ! eap "$conf"; then
		kt_fail "$n" "eapol_test failed: $(grep -E 'Access-Reject|FAILURE|alert' "$OUT/eap-$conf.log" | head -3 | tr '\n' ' ') reason=$(last_auth reason)"
		return
	fi
	kt_wait_auth_lines $((lines + 1))
	if [ "$(last_auth result)" != accept ] || [ "$(last_auth identity)" != "$id" ]; then
		kt_fail "$n" "auth log: $(kt_auth_last | head -c 300)"
	else
		kt_ok "$n"
	fi
}

# expect_reject TEST CONF REASON
expect_reject() {
	local n=$1 conf=$2 reason=$3 lines
	lines=$(wc -l <"$KT_DIR/auth.log")
	if eap "$conf"; then
		kt_fail "$n" "eapol_test succeeded, wanted a reject ($reason)"
		return
	fi
	kt_wait_auth_lines $((lines + 1))
	if [ "$(last_auth result)" != reject ] || [ "$(last_auth reason)" != "$reason" ]; then
		kt_fail "$n" "auth log: $(kt_auth_last | head -c 300)"
	else
		kt_ok "$n"
	fi
}

# write_conf PKI SERVERNAME: raddb/ for kagid on PKI, by hand (lib.sh's kt_config is for mkpki)
write_conf() {
	local pki=$1 srv=$2
	KT_PORT=$(kt_free_port)
	cat >"$KT_DIR/raddb/kagi.conf" <<CONF
listen {
    ipaddr = 127.0.0.1
    port = $KT_PORT
}
tls {
    certificate = $pki/issued/$srv.pem
    private_key = $pki/issued/$srv.key
    ca_file = $pki/ca.pem
    crl_file = $pki/crl.pem
    check_crl = yes
    check_crl_all = yes
    require_client_eku = yes
}
eap {
    methods = { tls }
}
log {
    auth_log = "$KT_DIR/auth.log"
}
CONF
	cat >"$KT_DIR/raddb/clients.conf" <<CONF
client test {
    ipaddr = 127.0.0.1
    secret = "$KT_SECRET"
    shortname = test
}
CONF
	: >"$KT_DIR/raddb/users"
}

now_s() { date +%s.%N; }

# ---------------------------------------------------------------------------------------------
# 1. init and issue

expect_ok init kc init --name "Kagi Test CA" --org "Kagi Tests" --crl-days 30
mode() { stat -c %a "$1" 2>/dev/null; }
m="$(mode "$P/ca/root.key") $(mode "$P/inventory.db") $(mode "$P/ca") $(mode "$P/ca.pem") $(mode "$P/crl.pem")"
kt_check "init-modes ($m)" [ "$m" = "600 600 700 644 644" ]
kt_check init-says-kagi-conf grep -q "crl_file = .*/crl.pem" "$OUT/init.out"
# ECDSA P-256 by default, 16-byte positive serial
kt_check init-ec-p256 sh -c "openssl x509 -in '$P/ca/root.pem' -noout -text | grep -q 'NIST CURVE: P-256'"

expect_ok issue-server kc issue server radius.kagi.test --dns radius.kagi.test --dns radius2.kagi.test
expect_ok issue-alice kc issue client alice@example.org
expect_ok issue-bob kc issue client bob --upn bob@corp.example --email bob@example.org
expect_ok issue-device kc issue client laptop1.corp.example --device
expect_ok issue-rsa kc issue client carol@example.org --key rsa:2048

m="$(mode "$P/issued/radius.kagi.test.key") $(mode "$P/issued/alice@example.org.key") $(mode "$P/issued/alice@example.org.pem")"
kt_check "issue-modes ($m)" [ "$m" = "600 600 644" ]

# ext FILE NAME: one extension of a certificate on one line, "critical" first if it is
ext() {
	openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null |
		sed -e '1s/.*: critical$/critical/' -e '1{/^critical$/!d}' -e 's/^ *//' | tr '\n' ' ' | sed 's/ *$//'
}
# q CMD...: CMD, quietly
q() { "$@" >/dev/null 2>&1; }
I=$P/issued
e=$(ext "$I/radius.kagi.test.pem" extendedKeyUsage)
kt_check "server-eku ($e)" [ "$e" = "TLS Web Server Authentication" ]
e=$(ext "$I/radius.kagi.test.pem" subjectAltName)
kt_check "server-san ($e)" [ "$e" = "DNS:radius.kagi.test, DNS:radius2.kagi.test" ]
e=$(ext "$I/radius.kagi.test.pem" keyUsage)
kt_check "server-ku-ec ($e)" [ "$e" = "critical Digital Signature" ]
e=$(ext "$I/carol@example.org.pem" keyUsage)
kt_check "client-ku-rsa ($e)" [ "$e" = "critical Digital Signature" ]
e=$(ext "$I/alice@example.org.pem" extendedKeyUsage)
kt_check "client-eku ($e)" [ "$e" = "TLS Web Client Authentication" ]
e=$(ext "$I/alice@example.org.pem" subjectAltName)
kt_check "client-san-email-from-name ($e)" [ "$e" = "email:alice@example.org" ]
e=$(ext "$I/bob.pem" subjectAltName)
kt_check "client-san-email-upn ($e)" [ "$e" = "email:bob@example.org, othername: UPN::bob@corp.example" ]
e=$(ext "$I/laptop1.corp.example.pem" subjectAltName)
kt_check "client-san-device ($e)" [ "$e" = "DNS:laptop1.corp.example" ]
e=$(ext "$I/carol@example.org.pem" basicConstraints)
kt_check "client-not-ca ($e)" [ "$e" = "critical CA:FALSE" ]
e=$(openssl x509 -in "$I/bob.pem" -noout -subject -nameopt RFC2253)
kt_check "client-cn-is-name ($e)" [ "$e" = "subject=CN=bob,O=Kagi Tests" ]
s=$(openssl x509 -in "$I/bob.pem" -noout -serial | cut -d= -f2)
# 16 random bytes, the top bits 01: positive and always 32 hex digits
if [[ $s =~ ^[4-7][0-9A-F]{31}$ ]]; then kt_ok "serial-16-bytes-positive ($s)"; else kt_fail "serial-16-bytes-positive ($s)"; fi
kt_check serial-in-show sh -c "'$KAGI' cert --dir '$P' show bob | grep -q '^serial *$s'"

for f in radius.kagi.test alice@example.org bob laptop1.corp.example carol@example.org; do
	if openssl verify -CAfile "$P/ca.pem" -crl_check -CRLfile "$P/crl.pem" "$I/$f.pem" >"$OUT/verify-$f" 2>&1; then
		kt_ok "openssl-verify-$f"
	else
		kt_fail "openssl-verify-$f" "$(tr '\n' ' ' <"$OUT/verify-$f")"
	fi
done
kt_check openssl-verify-purpose-server q openssl verify -CAfile "$P/ca.pem" -purpose sslserver "$I/radius.kagi.test.pem"
kt_check openssl-verify-purpose-client q openssl verify -CAfile "$P/ca.pem" -purpose sslclient "$I/alice@example.org.pem"
kt_check openssl-crl-verify sh -c "openssl crl -in '$P/crl.pem' -CAfile '$P/ca.pem' -noout 2>&1 | grep -q 'verify OK'"

run list kc list
kt_check "list-shows-5 ($(grep -c ' valid ' "$OUT/list.out"))" [ "$(grep -c ' valid ' "$OUT/list.out")" -eq 5 ]
kt_check list-columns grep -qE '^NAME +KIND +STATUS +EXPIRES +SERIAL +SUBJECT' "$OUT/list.out"

# ---------------------------------------------------------------------------------------------
# 2. kagid on this PKI: pass, revoke, refused within 2 s without a signal

write_conf "$P" radius.kagi.test
kt_start

client_conf alice alice@example.org "$P" alice@example.org
client_conf bob bob@corp.example "$P" bob # identity = the UPN SAN
client_conf device host/laptop1.corp.example "$P" laptop1.corp.example
client_conf carol carol@example.org "$P" carol@example.org
expect_accept lifecycle-alice-passes alice alice@example.org
expect_accept lifecycle-bob-passes bob bob@corp.example
expect_accept lifecycle-device-passes device host/laptop1.corp.example
expect_accept lifecycle-rsa-client-passes carol carol@example.org

pid_before=$KT_PID
crl_before=$(sha256sum <"$P/crl.pem")
t0=$(now_s)
if ! run revoke-bob kc revoke bob --reason keyCompromise; then
	kt_fail revoke-bob "exit $?: $(cat "$OUT/revoke-bob.err")"
else
	t_rev=$(now_s)
	kt_ok revoke-bob
	# Try until refused (each try is a full EAP-TLS conversation), at most 2 s after the revoke.
	refused=0 tries=0
	while :; do
		tries=$((tries + 1))
		lines=$(wc -l <"$KT_DIR/auth.log")
		if ! eap bob; then
			t1=$(now_s)
			kt_wait_auth_lines $((lines + 1))
			refused=1
			break
		fi
		awk -v a="$t0" -v b="$(now_s)" 'BEGIN { exit !(b - a > 2.0) }' && break
		sleep 0.05
	done
	if [ $refused -eq 1 ]; then
		lat=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		revt=$(awk -v a="$t0" -v b="$t_rev" 'BEGIN { printf "%.3f", b - a }')
		echo "# revocation latency: ${lat}s from \`kagi cert revoke\` start to bob's refused authentication (revoke command ${revt}s; attempt $tries)"
		kt_check "revoked-refused-within-2s (${lat}s)" awk -v l="$lat" 'BEGIN { exit !(l <= 2.0) }'
		r=$(last_auth reason)
		kt_check "revoked-reason ($r)" [ "$r" = revoked ]
		kt_check revoked-in-kagid-log grep -q '"reason":"revoked"' "$KT_DIR/auth.log"
	else
		kt_fail revoked-refused-within-2s "bob still accepted 2 s after the revoke ($tries tries)"
	fi
	kt_check revoke-no-restart-no-signal sh -c "kill -0 $pid_before && [ '$KT_PID' = '$pid_before' ] && ! grep -qi 'SIGHUP\|reload.*config' '$KT_DIR/kagid.log'"
	kt_check kagid-reloaded-crl grep -q "CRL .* changed: reloaded" "$KT_DIR/kagid.log"
fi
kt_check crl-rewritten sh -c "[ '$(sha256sum <"$P/crl.pem")' != '$crl_before' ]"
expect_accept after-revoke-alice-still-passes alice alice@example.org
expect_accept after-revoke-device-still-passes device host/laptop1.corp.example
expect_reject after-revoke-bob-still-refused bob revoked
s=$(openssl x509 -in "$I/bob.pem" -noout -serial | cut -d= -f2)
kt_check crl-lists-bob-keycompromise sh -c "openssl crl -in '$P/crl.pem' -noout -text | grep -A4 'Serial Number: $s' | grep -q 'Key Compromise'"
kt_check openssl-verify-refuses-revoked sh -c "! openssl verify -CAfile '$P/ca.pem' -crl_check -CRLfile '$P/crl.pem' '$I/bob.pem' >/dev/null 2>&1"
run list-after-revoke kc list
kt_check list-status-revoked grep -qE '^bob +client +revoked ' "$OUT/list-after-revoke.out"
run show-bob kc show bob
kt_check show-revoked-reason grep -q 'revoked .*reason keyCompromise' "$OUT/show-bob.out"

# renew: a new certificate for bob (revoked) works; the old serial stays revoked
expect_ok renew-bob kc renew bob
s2=$(openssl x509 -in "$I/bob.pem" -noout -serial | cut -d= -f2)
kt_check "renew-new-serial ($s2)" test -n "$s2" -a "$s2" != "$s"
expect_accept renewed-bob-passes bob bob@corp.example
run list-all kc list --all
kt_check list-all-history sh -c "[ \$(grep -c '^bob ' '$OUT/list-all.out') -eq 2 ]"
# renew --revoke-old: carol's previous certificate is revoked as superseded
cp "$I/carol@example.org.pem" "$KT_DIR/carol-old.pem"
cp "$I/carol@example.org.key" "$KT_DIR/carol-old.key"
expect_ok renew-carol-revoke-old kc renew carol@example.org --revoke-old
peer_conf carol-old carol@example.org "$P/ca.pem" "$KT_DIR/carol-old.pem" "$KT_DIR/carol-old.key"
expect_reject renew-revoke-old-refused carol-old revoked
expect_accept renew-revoke-old-new-passes carol carol@example.org

# kagi cert crl: a fresh CRL (higher CRL number), still accepted by kagid
n1=$(openssl crl -in "$P/crl.pem" -noout -crlnumber | cut -d= -f2)
expect_ok crl-refresh kc crl
n2=$(openssl crl -in "$P/crl.pem" -noout -crlnumber | cut -d= -f2)
kt_check "crl-number-increases ($n1 -> $n2)" [ $((n2)) -gt $((n1)) ]
nu=$(openssl crl -in "$P/crl.pem" -noout -nextupdate | cut -d= -f2)
kt_check "crl-next-update-30-days ($nu)" [ $(( $(date -d "$nu" +%s) - $(date +%s) )) -gt $((29 * 86400)) ]
expect_accept after-crl-refresh-alice-passes alice alice@example.org

# ---------------------------------------------------------------------------------------------
# 3. export

if run export-alice kc export alice@example.org --p12 --out "$KT_DIR/alice.p12"; then
	kt_ok export-alice
else
	kt_fail export-alice "$(cat "$OUT/export-alice.err")"
fi
pw=$(sed -n 's/^Password (shown once, stored nowhere): //p' "$OUT/export-alice.out")
kt_check "export-password-strong (${#pw} chars)" [ ${#pw} -ge 24 ]
kt_check "export-mode ($(mode "$KT_DIR/alice.p12"))" [ "$(mode "$KT_DIR/alice.p12")" = 600 ]
if openssl pkcs12 -info -noout -in "$KT_DIR/alice.p12" -passin "pass:$pw" >"$OUT/p12-info" 2>&1; then
	kt_ok openssl-pkcs12-info-no-legacy
else
	kt_fail openssl-pkcs12-info-no-legacy "$(tr '\n' ' ' <"$OUT/p12-info")"
fi
kt_check p12-mac-sha256 grep -q "^MAC: sha256" "$OUT/p12-info"
kt_check p12-key-aes256-pbkdf2 grep -q "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC" "$OUT/p12-info"
kt_check p12-certs-aes256 grep -q "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC" "$OUT/p12-info"
kt_check p12-no-legacy-algs sh -c "! grep -qiE 'RC2|3DES|DES-EDE|sha1' '$OUT/p12-info'"
n=$(openssl pkcs12 -in "$KT_DIR/alice.p12" -passin "pass:$pw" -nokeys 2>/dev/null | grep -c "BEGIN CERTIFICATE")
kt_check "p12-has-chain ($n certs)" [ "$n" -eq 2 ]
kt_check p12-key-matches sh -c "[ \"\$(openssl pkcs12 -in '$KT_DIR/alice.p12' -passin 'pass:$pw' -nocerts -nodes 2>/dev/null | openssl pkey -pubout)\" = \"\$(openssl x509 -in '$I/alice@example.org.pem' -noout -pubkey)\" ]"
kt_check p12-wrong-password-fails sh -c "! openssl pkcs12 -info -noout -in '$KT_DIR/alice.p12' -passin pass:wrong-password >/dev/null 2>&1"
kt_check p12-empty-password-fails sh -c "! openssl pkcs12 -info -noout -in '$KT_DIR/alice.p12' -passin pass: >/dev/null 2>&1"
# The .p12 itself works in a supplicant (wpa_supplicant reads PKCS#12 with private_key_passwd).
peer_conf alice-p12 alice@example.org "$P/ca.pem" "" "$KT_DIR/alice.p12" "private_key_passwd=\"$pw\""
expect_accept eapol-test-with-p12 alice-p12 alice@example.org
peer_conf alice-p12-bad alice@example.org "$P/ca.pem" "" "$KT_DIR/alice.p12" 'private_key_passwd="not-the-password"'
kt_check eapol-test-p12-wrong-password-fails sh -c "! eapol_test -c '$KT_DIR/eap/alice-p12-bad.conf' -a 127.0.0.1 -p $KT_PORT -s '$KT_SECRET' -t 5 >/dev/null 2>&1"
# two exports, two passwords
run export-alice2 kc export alice@example.org --out "$KT_DIR/alice2.p12"
pw2=$(sed -n 's/^Password (shown once, stored nowhere): //p' "$OUT/export-alice2.out")
kt_check export-new-password-each-time test -n "$pw2" -a "$pw2" != "$pw"
mkdir -p "$KT_DIR/exp"
cp "$KT_DIR/alice.p12" "$KT_DIR/exp/alice.p12"
expect_refused export-exists-no-force "exists.*--force" "$KT_DIR/exp" kc export alice@example.org --out "$KT_DIR/exp/alice.p12"
expect_ok export-force kc export alice@example.org --out "$KT_DIR/exp/alice.p12" --force
expect_refused export-old-serial "earlier certificate" "$KT_DIR/exp" kc export "$s" --out "$KT_DIR/exp/bob-old.p12"

kt_stop

# ---------------------------------------------------------------------------------------------
# 4. bad input: clear error, non-zero exit, nothing written

expect_refused unknown-name-revoke "no certificate named \"nobody\"" "$P" kc revoke nobody
expect_refused unknown-name-show "no certificate named" "$P" kc show nobody
expect_refused unknown-name-renew "no certificate named" "$P" kc renew nobody
expect_refused unknown-name-export "no certificate named" "$P" kc export nobody --out "$KT_DIR/nobody.p12"
expect_refused unknown-serial-revoke "no certificate named" "$P" kc revoke 0x4242
expect_refused duplicate-name "already exists" "$P" kc issue client alice@example.org
expect_refused duplicate-name-other-kind "already exists" "$P" kc issue server alice@example.org --dns x.example.org
expect_refused duplicate-name-case "already exists" "$P" kc issue client ALICE@example.org
expect_refused revoke-twice "already revoked" "$P" kc revoke "$s"
expect_ok revoke-carol kc revoke carol@example.org --reason cessationOfOperation
expect_refused revoke-twice-by-name "already revoked" "$P" kc revoke carol@example.org
expect_refused export-revoked "cannot be used .*revoked" "$P" kc export carol@example.org --out "$KT_DIR/exp/carol.p12"
kt_check export-revoked-wrote-nothing [ ! -e "$KT_DIR/exp/carol.p12" ]
expect_refused bad-reason "unknown reason" "$P" kc revoke alice@example.org --reason because
expect_refused bad-name "bad certificate name" "$P" kc issue client "../etc/passwd"
expect_refused bad-name-space "bad certificate name" "$P" kc issue client "a b"
expect_refused bad-dns "bad DNS name" "$P" kc issue server srv2 --dns "not a name"
expect_refused server-needs-dns "at least one --dns" "$P" kc issue server srv2
expect_refused bad-email "bad email" "$P" kc issue client dave --email "no-at-sign"
expect_refused bad-upn "bad UPN" "$P" kc issue client dave --upn "@corp"
expect_refused bad-key "unknown key type" "$P" kc issue client dave --key dsa
expect_refused bad-kind "say server or client" "$P" kc issue laptop dave
expect_refused bad-days "number of days" "$P" kc issue client dave --days -3
expect_refused option-not-for-command "does not apply" "$P" kc list --dns x
expect_refused unknown-command "unknown command" "$P" kc frobnicate
expect_refused unknown-option "unknown option" "$P" kc list --frob
# help is discoverable
kt_check help-cert sh -c "'$KAGI' cert --help | grep -q 'revoke NAME|SERIAL'"
kt_check help-command sh -c "'$KAGI' cert revoke --help | grep -q keyCompromise"
kt_check help-top sh -c "'$KAGI' --help | grep -q 'cert COMMAND'"

# missing CA: no PKI at all, and a PKI whose CA key is gone
expect_refused missing-pki "no PKI in" "$P" "$KAGI" cert --dir "$KT_DIR/nowhere" issue client dave
kt_check missing-pki-created-nothing [ ! -e "$KT_DIR/nowhere" ]
cp -a "$P" "$KT_DIR/nokey"
rm -f "$KT_DIR/nokey/ca/root.key"
expect_refused missing-ca-key "CA of .* is missing.*root.key" "$KT_DIR/nokey" "$KAGI" cert --dir "$KT_DIR/nokey" issue client dave
expect_refused missing-ca-key-revoke "CA of .* is missing" "$KT_DIR/nokey" "$KAGI" cert --dir "$KT_DIR/nokey" revoke alice@example.org
cp -a "$P" "$KT_DIR/nocert"
rm -f "$KT_DIR/nocert/ca/root.pem"
expect_refused missing-ca-cert "CA of .* is missing.*root.pem" "$KT_DIR/nocert" "$KAGI" cert --dir "$KT_DIR/nocert" issue client dave
# init over an existing PKI, or over a directory that holds someone else's ca.pem (mkpki.sh)
expect_refused init-twice "already holds a PKI" "$P" kc init
expect_refused init-over-foreign "not a .kagi cert. PKI" "$KT_DIR/pki" "$KAGI" cert --dir "$KT_DIR/pki" init
expect_refused init-bad-key "unknown key type" "$P" "$KAGI" cert --dir "$KT_DIR/new" init --key ec:P-999
kt_check init-failed-left-nothing [ ! -e "$KT_DIR/new" ]

# corrupted inventory: garbage over the header, and a truncated file
cp -a "$P" "$KT_DIR/bad1"
dd if=/dev/urandom of="$KT_DIR/bad1/inventory.db" bs=512 count=1 conv=notrunc 2>/dev/null
expect_refused corrupted-header-list "inventory .* is corrupted" "$KT_DIR/bad1" "$KAGI" cert --dir "$KT_DIR/bad1" list
expect_refused corrupted-header-issue "inventory .* is corrupted" "$KT_DIR/bad1" "$KAGI" cert --dir "$KT_DIR/bad1" issue client dave
cp -a "$P" "$KT_DIR/bad2"
truncate -s $(($(stat -c %s "$KT_DIR/bad2/inventory.db") / 2)) "$KT_DIR/bad2/inventory.db"
expect_refused corrupted-truncated-revoke "inventory .* is corrupted" "$KT_DIR/bad2" "$KAGI" cert --dir "$KT_DIR/bad2" revoke alice@example.org
cp -a "$P" "$KT_DIR/bad3"
echo "not a database at all" >"$KT_DIR/bad3/inventory.db"
expect_refused corrupted-text-file "inventory .* is corrupted|not a kagi" "$KT_DIR/bad3" "$KAGI" cert --dir "$KT_DIR/bad3" list
# a valid SQLite file that is not ours
cp -a "$P" "$KT_DIR/bad4"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.commit()' "$KT_DIR/bad4/other.db"
mv "$KT_DIR/bad4/other.db" "$KT_DIR/bad4/inventory.db"
expect_refused foreign-sqlite "not a kagi certificate inventory" "$KT_DIR/bad4" "$KAGI" cert --dir "$KT_DIR/bad4" list

# ---------------------------------------------------------------------------------------------
# 5. concurrency: commands at the same time queue on the inventory lock

before=$(kc list | tail -n +2 | wc -l)
pids=()
for i in 1 2 3 4 5 6 7 8; do
	"$KAGI" cert --dir "$P" issue client "par$i@example.org" >"$OUT/par$i.out" 2>"$OUT/par$i.err" &
	pids+=($!)
done
fails=0
for i in "${!pids[@]}"; do wait "${pids[$i]}" || fails=$((fails + 1)); done
kt_check "concurrent-issue-all-succeed ($fails failed)" [ $fails -eq 0 ]
run list-par kc list
after=$(tail -n +2 "$OUT/list-par.out" | wc -l)
kt_check "concurrent-issue-inventory ($before + 8 = $after)" [ "$after" -eq $((before + 8)) ]
serials=$(for i in 1 2 3 4 5 6 7 8; do openssl x509 -in "$I/par$i@example.org.pem" -noout -serial; done | sort -u | wc -l)
kt_check "concurrent-issue-distinct-serials ($serials)" [ "$serials" -eq 8 ]
dbserials=$(grep -E '^par[0-9]@' "$OUT/list-par.out" | awk '{print $5}' | sort -u | wc -l)
kt_check "concurrent-issue-inventory-serials ($dbserials)" [ "$dbserials" -eq 8 ]
ok=0
for i in 1 2 3 4 5 6 7 8; do
	f=$I/par$i@example.org
	openssl verify -CAfile "$P/ca.pem" "$f.pem" >/dev/null 2>&1 &&
		[ "$(openssl pkey -in "$f.key" -pubout 2>/dev/null)" = "$(openssl x509 -in "$f.pem" -noout -pubkey)" ] && ok=$((ok + 1))
done
kt_check "concurrent-issue-files-consistent ($ok/8)" [ $ok -eq 8 ]
# revokes at the same time: every one must end up in the CRL (no lost update)
pids=()
for i in 1 2 3 4 5 6; do
	"$KAGI" cert --dir "$P" revoke "par$i@example.org" --reason affiliationChanged >"$OUT/prev$i.out" 2>"$OUT/prev$i.err" &
	pids+=($!)
done
fails=0
for i in "${!pids[@]}"; do wait "${pids[$i]}" || fails=$((fails + 1)); done
kt_check "concurrent-revoke-all-succeed ($fails failed)" [ $fails -eq 0 ]
openssl crl -in "$P/crl.pem" -noout -text >"$OUT/crl-par.txt"
n=0
for i in 1 2 3 4 5 6; do
	s=$(openssl x509 -in "$I/par$i@example.org.pem" -noout -serial | cut -d= -f2)
	grep -q "Serial Number: $s" "$OUT/crl-par.txt" && n=$((n + 1))
done
kt_check "concurrent-revoke-crl-has-all ($n/6)" [ $n -eq 6 ]
for i in 7 8; do
	kt_check "concurrent-revoke-par$i-valid" q openssl verify -CAfile "$P/ca.pem" -crl_check -CRLfile "$P/crl.pem" "$I/par$i@example.org.pem"
done
kt_check no-temp-files-left sh -c "[ -z \"\$(find '$P' -name '.*' ! -name . | head -1)\" ]"

# ---------------------------------------------------------------------------------------------
# 6. an issuing CA below the root

Q=$KT_DIR/kpki2
kq() { "$KAGI" cert --dir "$Q" "$@"; }
expect_ok init-intermediate kq init --intermediate --name "Kagi Test Root" --key ec:P-384
expect_ok inter-issue-server kq issue server radius.kagi.test --dns radius.kagi.test --key ec
expect_ok inter-issue-client kq issue client erin@example.org --key rsa:2048
expect_ok inter-issue-client2 kq issue client frank@example.org
n=$(grep -c "BEGIN CERTIFICATE" "$Q/ca.pem")
kt_check "inter-ca-bundle ($n certs)" [ "$n" -eq 2 ]
n=$(grep -c "BEGIN CERTIFICATE" "$Q/issued/erin@example.org.pem")
kt_check "inter-leaf-has-chain ($n certs)" [ "$n" -eq 2 ]
n=$(grep -c "BEGIN X509 CRL" "$Q/crl.pem")
kt_check "inter-two-crls ($n)" [ "$n" -eq 2 ]
kt_check inter-root-pathlen sh -c "openssl x509 -in '$Q/ca/root.pem' -noout -ext basicConstraints | grep -q 'pathlen:1'"
kt_check inter-issuing-pathlen sh -c "openssl x509 -in '$Q/ca/issuing.pem' -noout -ext basicConstraints | grep -q 'pathlen:0'"
for f in radius.kagi.test erin@example.org frank@example.org; do
	kt_check "inter-openssl-verify-crl-all-$f" q openssl verify -CAfile "$Q/ca/root.pem" -untrusted "$Q/ca/issuing.pem" -crl_check_all -CRLfile "$Q/crl.pem" "$Q/issued/$f.pem"
done
write_conf "$Q" radius.kagi.test
kt_start
client_conf erin erin@example.org "$Q" erin@example.org
client_conf frank frank@example.org "$Q" frank@example.org
expect_accept inter-erin-passes erin erin@example.org
expect_accept inter-frank-passes frank frank@example.org
expect_ok inter-revoke-erin kq revoke erin@example.org --reason keyCompromise
expect_reject inter-erin-refused erin revoked
expect_accept inter-frank-still-passes frank frank@example.org
run inter-export kq export frank@example.org --out "$KT_DIR/frank.p12"
pw=$(sed -n 's/^Password (shown once, stored nowhere): //p' "$OUT/inter-export.out")
n=$(openssl pkcs12 -in "$KT_DIR/frank.p12" -passin "pass:$pw" -nokeys 2>/dev/null | grep -c "BEGIN CERTIFICATE")
kt_check "inter-p12-full-chain ($n certs)" [ "$n" -eq 3 ]
kt_stop

# ---------------------------------------------------------------------------------------------
# 7. secrets: no private key in any output; the password once, on stdout only

if grep -l "PRIVATE KEY" "$OUT"/*.out "$OUT"/*.err >/dev/null 2>&1; then
	kt_fail no-private-key-printed "in $(grep -l "PRIVATE KEY" "$OUT"/*.out "$OUT"/*.err | head -3 | tr '\n' ' ')"
else
	kt_ok no-private-key-printed
fi
cakey=$(grep -v '^-----' "$P/ca/root.key" | head -1 | cut -c1-40)
if grep -rqF "$cakey" "$OUT"; then kt_fail no-ca-key-printed; else kt_ok no-ca-key-printed; fi
pw=$(sed -n 's/^Password (shown once, stored nowhere): //p' "$OUT/export-alice.out")
n=$(grep -cF "$pw" "$OUT/export-alice.out")
kt_check "password-shown-once ($n)" [ "$n" -eq 1 ]
kt_check password-not-on-stderr sh -c "! grep -qiF -e password -e '$pw' '$OUT/export-alice.err'"
kt_check password-not-stored sh -c "! grep -rqaF '$pw' '$P'"

exit $((KT_FAILS > 0))
