#!/usr/bin/env bash
# tests/integration/test_threads.sh: kagid's worker threads under concurrent load.
#
# kagid runs 4 worker threads (more than this machine has CPUs, so threads really interleave)
# while two `kagi bench` processes drive EAP-TLS and PEAP conversations at once, with resumption,
# and the configuration is reloaded (SIGHUP) and a certificate revoked in the middle of it:
#   - no authentication fails, and the auth log has one accept line per success (no lost or
#     doubled conversation);
#   - a certificate revoked during the load is refused afterwards, resumption included;
#   - no conversation is left in the session table once the load is over (nothing leaked by a
#     racing thread: the expiry would log it as abandoned);
#   - kagid stops cleanly (kt_stop checks the exit status and ASan/UBSan reports).
# With KAGID_TSAN set (make test sets it to a ThreadSanitizer build of kagid), the whole scenario
# runs a second time on that binary, and any data race it reports fails the test.
set -u
. "$(dirname "$0")/lib.sh"

scenario() {
local tag=$1
kt_init
cat >"$KT_DIR/raddb/users" <<'USERS'
user alice {
    password = "threads-Pass-1"
}
USERS
KT_METHODS="tls, peap, ttls" kt_config "" "    threads = 4
    session_timeout = 2"
kt_start
if grep -q "4 worker threads" "$KT_DIR/kagid.log"; then kt_ok $tag-configured
else kt_fail $tag-configured "$(grep -i thread "$KT_DIR/kagid.log" | head -3)"; fi

common=(-a 127.0.0.1 -p "$KT_PORT" -s "$KT_SECRET" --ca "$KT_DIR/pki/ca.pem")
export KAGI_PASSWORD=threads-Pass-1
"$KAGI" bench "${common[@]}" -m tls -i alice@example.org --cert "$KT_DIR/pki/alice.pem" \
	--key "$KT_DIR/pki/alice.key" -c 24 -n 600 --resume 0.3 --json >"$KT_DIR/b1.json" 2>"$KT_DIR/b1.err" &
b1=$!
"$KAGI" bench "${common[@]}" -m peap -i alice -A anonymous@example.org -c 24 -n 400 --resume 0.3 \
	--json >"$KT_DIR/b2.json" 2>"$KT_DIR/b2.err" &
b2=$!
# A reload in the middle of the load: conversations in flight finish on their generation.
sleep 1
kill -HUP "$KT_PID"
wait "$b1"
r1=$?
wait "$b2"
r2=$?

ok_total=$(python3 - "$KT_DIR/b1.json" "$KT_DIR/b2.json" <<'PY'
import json, sys
tot = 0
for f in sys.argv[1:]:
    j = json.load(open(f))
    if j["failed"]:
        print("FAIL %s: %s" % (f, j["failures"]))
        sys.exit(1)
    tot += j["ok"]
print(tot)
PY
)
if [ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] && [ "$ok_total" = 1000 ]; then kt_ok $tag-load-no-failure
else kt_fail $tag-load-no-failure "exit $r1/$r2, $ok_total; $(tail -c 200 "$KT_DIR/b1.err" "$KT_DIR/b2.err")"; fi
if grep -q "configuration reloaded" "$KT_DIR/kagid.log"; then kt_ok $tag-reload-under-load
else kt_fail $tag-reload-under-load "no reload in the log"; fi

sleep 0.3
accepts=$(grep -c '"result":"accept"' "$KT_DIR/auth.log")
others=$(grep -vc '"result":"accept"' "$KT_DIR/auth.log")
if [ "$accepts" = 1000 ] && [ "$others" = 0 ]; then kt_ok $tag-one-log-line-per-auth
else kt_fail $tag-one-log-line-per-auth "$accepts accept lines, $others others for 1000 auths"; fi

# Nothing left behind: every conversation above finished (-n), so once session_timeout has
# passed the expiry finds none to drop (it would log an "abandoned" line for each).
sleep 3
abandoned=$(grep -c '"result":"abandoned"' "$KT_DIR/auth.log")
if [ "$abandoned" = 0 ]; then kt_ok $tag-nothing-left
else kt_fail $tag-nothing-left "$abandoned conversations left behind and expired"; fi

# Revoke alice while a resumable session of hers exists and load runs: refused afterwards.
"$KAGI" bench "${common[@]}" -m tls -i alice@example.org --cert "$KT_DIR/pki/alice.pem" \
	--key "$KT_DIR/pki/alice.key" -c 16 -d 3 --resume 0.5 --json >"$KT_DIR/b3.json" 2>/dev/null &
b3=$!
sleep 1
bash "$KT_TOP/certs/mkpki.sh" --revoke "$KT_DIR/pki" alice >"$KT_DIR/revoke.log" 2>&1 ||
	kt_fail $tag-revoke-setup "$(tail -3 "$KT_DIR/revoke.log")"
wait "$b3"
# The bench stopped on its duration with conversations in flight: their "abandoned" lines come
# when they expire, possibly after the line of this check, so look at its own line.
base=$(kt_auth_lines)
if "$KAGI" test "${common[@]}" -m tls -i alice@example.org --cert "$KT_DIR/pki/alice.pem" \
	--key "$KT_DIR/pki/alice.key" >"$KT_DIR/t.out" 2>&1; then
	kt_fail $tag-revoked-refused "alice accepted after revocation"
elif tail -n +$((base + 1)) "$KT_DIR/auth.log" | grep '"result":"reject"' |
	grep -q '"reason":"revoked'; then kt_ok $tag-revoked-refused
else kt_fail $tag-revoked-refused "$(tail -n +$((base + 1)) "$KT_DIR/auth.log" | grep -v '"abandoned"' | tail -1)"; fi

kt_stop
kt_cleanup
}

scenario threads
if [ -n "${KAGID_TSAN:-}" ]; then
	KAGID=$KAGID_TSAN
	export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1"
	scenario tsan
fi
[ "$KT_FAILS" -eq 0 ]
