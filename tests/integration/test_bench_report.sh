#!/usr/bin/env bash
# tests/integration/test_bench_report.sh: bench/bench.py's report from a saved run (no servers
# are started): the "Targets at a glance" table gives each of issue 5's targets the right verdict
# from the numbers, and `bench.py --report FILE` writes RESULTS.md from such a file.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/kagi-benchreport.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
py() { # py NAME: run the Python on stdin, "ok NAME" if it exits 0
	local name=$1
	if python3 - "$top/bench" "$tmp" >"$tmp/$name.out" 2>&1; then echo "ok $name"
	else echo "not ok $name - $(tail -c 400 "$tmp/$name.out" | tr '\n' '|')"; fails=$((fails + 1)); fi
}

py bench-report-targets <<'PY'
import json, os, sys
sys.path.insert(0, sys.argv[1])
import bench

def cell(auths, cpu, rounds, client, polluted=False):
    c = {"auths_per_sec": auths, "server_cpu_ms_per_auth": cpu, "rounds_per_auth": rounds,
         "client_cpu_ms_per_auth": client, "ok": 100, "resumed": 0}
    if polluted:
        c["server_cpu_ms_per_auth_polluted"] = True
    return c

def scen(k, fr, ha):
    return {"kagid": {"sat": k, "rate": k}, "freeradius": {"sat": fr, "rate": fr},
            "hostapd": {"sat": ha, "rate": ha}}

data = {
    "machine": {"nproc": 2},
    "speed_ms": {"rsa_sign": 0.3, "rsa_verify": 0.02, "ecdsa_sign": 0.03, "ecdsa_verify": 0.08,
                 "ecdh_p256": 0.06, "x25519": 0.04},
    "scenarios": {
        # TLS 1.2: everything met but the floor (0.5 ms vs floor 0.3+0.06+0.08 = 0.44 -> 1.1x met)
        "tls12": scen(cell(3100, 0.50, 4, 0.6), cell(1000, 1.60, 5, 0.8),
                      cell(200, 9.0, 6, 4.0, polluted=True)),
        # resumed: CPU 0.16 ms misses 0.15; rounds 3 vs 3.01 miss "one fewer"
        "resume": scen(cell(9000, 0.16, 3, 0.1), cell(2000, 0.70, 3.01, 0.2),
                       cell(200, 0.9, 3.06, 4.0, polluted=True)),
    },
    "scaling": {"tls12": {"1": {"auths_per_sec": 1000}, "2": {"auths_per_sec": 1900}}},
    "halfopen": {"kagid": {"kb_per_session": 2.0, "kb_per_session_after_hello": 50.0}},
    "memory": {"kagid": {"idle": {"rss_kb": 8000}, "after_expiry": {"rss_kb": 8500}}},
    "forged": {"kagid": {"bad_ma": {"us_per_packet": 5.2}, "unknown": {"us_per_packet": 0.1}}},
}
t = bench.targets_table(data, ["kagid", "freeradius", "hostapd"], ["tls12", "resume"])
rows = {l.split(" | ")[0].lstrip("| "): l for l in t.splitlines() if l.startswith("| ")}
def verdict(prefix):
    [l] = [v for k, v in rows.items() if k.startswith(prefix)]
    return l.rstrip(" |").rsplit(" | ", 1)[1]
# hostapd's polluted CPU is not a peer value: 0.5 / 1.6 = 0.31 met, resumed 0.16 / 0.7 = 0.23 met
assert verdict("Server CPU per auth ≤ 1/3") == "**met**", t
assert "TLS 1.2 0.31" in rows[[k for k in rows if k.startswith("Server CPU per auth")][0]], t
assert verdict("Server CPU per full handshake within 1.5×") == "**met**", t
assert verdict("Throughput at saturation ≥ 3×") == "**met**", t   # 3.1 and 4.5
assert verdict("2 worker threads") == "**met**", t                 # 1.9
assert verdict("Resumed authentication ≤ 0.15 ms") == "not met", t
assert verdict("Round trips one fewer") == "not met (1 of 2)", t
assert verdict("`kagi bench` ≤ 1 ms") == "**met**", t
assert verdict("`kagi bench` can drive") == "**met**", t           # 2000/0.6 = 3333 = 3.3x
assert verdict("≤ 16 KiB") == "**met**", t
assert verdict("Idle RSS") == "**met**", t
assert verdict("RSS returns near") == "**met**", t                  # +500 KB < 1 MB
assert verdict("Dropping a forged packet") == "not met (1 of 2)", t
# one number moved across its limit flips its verdict
data["scenarios"]["tls12"]["kagid"]["sat"]["server_cpu_ms_per_auth"] = 0.55
data["memory"]["kagid"]["after_expiry"]["rss_kb"] = 9200
t = bench.targets_table(data, ["kagid", "freeradius", "hostapd"], ["tls12", "resume"])
rows = {l.split(" | ")[0].lstrip("| "): l for l in t.splitlines() if l.startswith("| ")}
assert verdict("Server CPU per auth ≤ 1/3") == "not met (1 of 2)", t
assert verdict("RSS returns near") == "not met", t
# nothing measured: no verdict
assert "| Idle RSS ≤ 9 MB | not measured | – |" in bench.targets_table(
    {"scenarios": {}}, ["kagid"], []), "empty data"
# what the rest of the report needs from a run
data.update({"machine": {"nproc": 2, "cpu": "test CPU", "memory": "1 GiB", "kernel": "6.1",
                         "os": "Debian 12"},
             "versions": {k: k + " 1.0" for k in ("kagid", "freeradius", "hostapd", "openssl",
                                                  "eapol_test")},
             "date": "2026-01-01 00:00 UTC", "driver": "kagi", "seconds": 10.0,
             "concurrency": 64, "drivers": 2, "netns": True})
json.dump(data, open(os.path.join(sys.argv[2], "results.json"), "w"))
PY

if BENCH_RESULTS="$tmp/RESULTS.md" python3 "$top/bench/bench.py" --report "$tmp/results.json" \
	>"$tmp/report.out" 2>&1 && grep -q '^### Targets at a glance' "$tmp/RESULTS.md" &&
	grep -q '^| Resumed authentication ≤ 0.15 ms of server CPU | 0.16 ms at saturation | not met |$' "$tmp/RESULTS.md"; then
	echo "ok bench-report-from-file"
else
	echo "not ok bench-report-from-file - $(tail -c 400 "$tmp/report.out" | tr '\n' '|')"
	fails=$((fails + 1))
fi
[ "$fails" -eq 0 ]
