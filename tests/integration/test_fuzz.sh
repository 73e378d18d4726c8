#!/usr/bin/env bash
# tests/integration/test_fuzz.sh: a short libFuzzer run of each target in tests/fuzz (seeds plus
# FUZZ_SMOKE_TIME seconds of mutation each, default 10). `make fuzz` runs them longer.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
t=${FUZZ_SMOKE_TIME:-10}
shopt -s nullglob
fuzzers=("$top"/build/fuzz/fuzz_*)
if [ ${#fuzzers[@]} -eq 0 ]; then
	echo "not ok fuzz - no fuzz targets built (make fuzz-smoke)"
	exit 1
fi
for f in "${fuzzers[@]}"; do
	n=${f##*/fuzz_}
	work=$(mktemp -d /tmp/kagi-fuzz.XXXXXX)
	cp "$top"/tests/fuzz/corpus/"$n"/* "$work"/ 2>/dev/null
	if (cd "$work" && "$f" -max_total_time="$t" -max_len=4096 -timeout=10 "$work" >"$work/log" 2>&1); then
		echo "ok fuzz-$n ($(grep -o 'Done [0-9]* runs' "$work/log" | head -1))"
	else
		echo "not ok fuzz-$n - crash or leak, see below"
		grep -B2 -A25 -E "ERROR|SUMMARY" "$work/log" | head -60 | sed 's/^/# /'
	fi
	rm -rf "$work"
done
