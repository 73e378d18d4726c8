#!/usr/bin/env bash
# tests/integration/test_ipv6.sh: kagid listens on IPv6 loopback and IPv4 at once; a client
# matched by an IPv6 prefix authenticates with EAP-TLS over ::1; IPv4 still works.
set -u
. "$(dirname "$0")/lib.sh"
kt_init
kt_config
port=$KT_PORT
# Same port on both families (IPV6_V6ONLY keeps them apart).
cat >>"$KT_DIR/raddb/kagi.conf" <<CONF
listen {
    ipaddr = ::1
    port = $port
}
CONF
cat >>"$KT_DIR/raddb/clients.conf" <<CONF
client test6 {
    ipaddr = ::1/128
    secret = "$KT_SECRET"
    shortname = test6
}
CONF
kt_start

cat >"$KT_DIR/tls.conf" <<CONF
network={
    key_mgmt=WPA-EAP
    eap=TLS
    identity="alice@example.org"
    ca_cert="$KT_DIR/pki/ca.pem"
    client_cert="$KT_DIR/pki/alice.pem"
    private_key="$KT_DIR/pki/alice.key"
    phase1="tls_disable_tlsv1_3=0"
}
CONF
for addr in ::1 127.0.0.1; do
	if timeout 30 eapol_test -c "$KT_DIR/tls.conf" -a "$addr" -p "$port" -s "$KT_SECRET" -t 10 \
		>"$KT_DIR/e.log" 2>&1 && grep -q "MPPE keys OK: 1  mismatch: 0" "$KT_DIR/e.log"; then
		kt_ok "eap-tls-over-$addr"
	else
		kt_fail "eap-tls-over-$addr" "eapol_test failed: $(tail -1 "$KT_DIR/e.log")"
	fi
done
kt_wait_auth_lines 2
if python3 - "$KT_DIR/auth.log" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["client"] for l in lines] == ["test6", "test"], lines
assert lines[0]["nas"] == "::1" and lines[0]["result"] == "accept", lines[0]
PY
then kt_ok ipv6-client-matched; else kt_fail ipv6-client-matched "auth log does not show the IPv6 client"; fi
kt_stop
exit $((KT_FAILS > 0))
