#!/usr/bin/env bash
# tests/integration/test_raw.sh: raw-packet tests of kagid's RADIUS layer (raw_radius.py).
#
# Main run: a kagid with small session limits (so the flood case fills the table), every case
# but "expiry", "unknown-flood-kernel-filter" and "bad-mac-flood-paced". Then a second kagid with
# session_timeout = 2 for those three (the second rewrites clients.conf and turns the kernel
# filter on and off; the third makes it pace its reads for a while).
# KT_KEEP=1 keeps $KT_DIR (kagid-main.log / auth-main.log: the first instance's logs).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# Under ASan freed memory sits in a 256 MB quarantine, which would hide nothing but makes RSS
# meaningless for the bounded-memory case; a small quarantine keeps use-after-free detection.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"

limits() {
	cat <<EOF
    max_sessions = 500
    max_sessions_per_client = 400
    max_rounds = 50
    max_invalid = 5
    session_timeout = $1
EOF
}

kt_init
kt_config "" "$(limits 30)"
kt_start
python3 "$HERE/raw_radius.py" --port "$KT_PORT" --secret "$KT_SECRET" --pid "$KT_PID" \
	--dir "$KT_DIR" --skip accounting-request-named,expiry,expiry-keeps-reason,unknown-flood-kernel-filter,bad-mac-flood-paced
rc=$?
kt_stop
cp "$KT_DIR/kagid.log" "$KT_DIR/kagid-main.log" 2>/dev/null
cp "$KT_DIR/auth.log" "$KT_DIR/auth-main.log" 2>/dev/null

kt_config "" "$(limits 2)"
kt_start
python3 "$HERE/raw_radius.py" --port "$KT_PORT" --secret "$KT_SECRET" --pid "$KT_PID" \
	--dir "$KT_DIR" --only accounting-request-named,expiry,expiry-keeps-reason,unknown-flood-kernel-filter,bad-mac-flood-paced --no-selftest || rc=1
kt_stop

[ "$KT_FAILS" -eq 0 ] || rc=1
exit "$rc"
