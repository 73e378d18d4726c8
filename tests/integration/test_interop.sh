#!/usr/bin/env bash
# tests/integration/test_interop.sh: `kagi test` against RADIUS servers that are not kagid —
# hostapd 2.10's RADIUS server (always: make test installs hostapd) and FreeRADIUS 3.2 (when the
# freeradius package is installed, e.g. after `make bench`). Every method kagi test offers, over
# TLS 1.2 and 1.3, three authentications each: all accepted, the MPPE keys the server sent equal
# to the ones kagi derived itself (so our peer's key derivations agree with independent
# implementations), and at least one resumed. Both servers are configured by bench/configure.py
# and propose PEAP first, so every other method also exercises the peer's Nak.
#
# Known server bug, not tested against: hostapd 2.10 derives a different PEAP tunnel key under
# TLS 1.3 than wpa_supplicant 2.10 (eapol_test with peapver=0 crypto_binding=2 fails its
# Compound MAC against hostapd too); kagid and FreeRADIUS agree with wpa_supplicant.
set -u
. "$(dirname "$0")/lib.sh"
kt_init
KT_SECRET_IO="io-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
PW="io-Pass-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
SRV_PID=

srv_stop() {
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null
	local i
	for i in $(seq 1 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=
}
trap 'srv_stop; kt_cleanup' EXIT

# udp_bound PORT: is something listening on 127.0.0.1:PORT/udp?
udp_bound() {
	python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
PY
}

# srv_start NAME: configure and start NAME (hostapd | freeradius) on a free port; false on failure.
srv_start() {
	local name=$1 conf argv ready i
	SRV_PORT=$(kt_free_port)
	conf=$(python3 "$KT_TOP/bench/configure.py" "$name" --scenario peap --dir "$KT_DIR/$name" \
		--pki "$KT_DIR/pki" --port "$SRV_PORT" --secret "$KT_SECRET_IO" --password "$PW") || return 1
	mapfile -t argv < <(python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])["argv"]))' "$conf")
	ready=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ready"] or "")' "$conf")
	"${argv[@]}" >"$KT_DIR/$name.log" 2>&1 &
	SRV_PID=$!
	for i in $(seq 1 200); do
		if ! kill -0 "$SRV_PID" 2>/dev/null; then break; fi
		if [ -n "$ready" ]; then grep -q "$ready" "$KT_DIR/$name.log" && return 0
		elif udp_bound "$SRV_PORT"; then return 0; fi
		sleep 0.05
	done
	tail -20 "$KT_DIR/$name.log" | sed 's/^/# /'
	srv_stop
	return 1
}

export KAGI_PASSWORD=$PW
tlsid=(-i alice@example.org --cert "$KT_DIR/pki/alice.pem" --key "$KT_DIR/pki/alice.key")
pwid=(-i alice -A anonymous@example.org)

run_server() {
	local name=$1 m v id out
	if ! srv_start "$name"; then
		kt_fail "interop-$name-start" "$name did not start (log above)"
		return
	fi
	for m in tls peap peap-gtc ttls-pap ttls-mschapv2 ttls-eap-mschapv2 ttls-eap-gtc; do
		for v in 1.2 1.3; do
			if [ "$name" = hostapd ] && [ "$v" = 1.3 ] && [[ $m == peap* ]]; then
				echo "# skipped interop-$name-$m-tls$v: hostapd 2.10's PEAP key under TLS 1.3 (see the top)"
				continue
			fi
			if [ "$m" = tls ]; then id=("${tlsid[@]}"); else id=("${pwid[@]}"); fi
			out="$KT_DIR/$name-$m-$v.out"
			if timeout 60 "$KAGI" test -a 127.0.0.1 -p "$SRV_PORT" -s "$KT_SECRET_IO" \
				--ca "$KT_DIR/pki/ca.pem" --server-name radius.kagi.test -m "$m" "${id[@]}" \
				--tls "$v" -n 3 >"$out" 2>&1 &&
				[ "$(grep -c "Access-Accept after .*TLSv$v.*MPPE keys match" "$out")" -eq 3 ] &&
				grep -q "TLSv$v resumed, MPPE keys match" "$out"; then
				kt_ok "interop-$name-$m-tls$v"
			else
				kt_fail "interop-$name-$m-tls$v" "$(tr '\n' '|' <"$out" | tail -c 400)"
			fi
		done
	done
	srv_stop
}

run_server hostapd
if command -v freeradius >/dev/null 2>&1 && [ -d /etc/freeradius/3.0 ]; then
	run_server freeradius
else
	echo "# FreeRADIUS not installed: only hostapd tested (make bench installs it)"
fi
exit $((KT_FAILS > 0))
