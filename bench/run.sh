#!/usr/bin/env bash
# bench/run.sh: `make bench` — race kagid against FreeRADIUS 3.2 and hostapd 2.10 on loopback.
#
#   bash bench/run.sh            (or: make bench; BENCH_SECONDS=5 make bench)
#
# 1. installs the missing Debian packages (freeradius, hostapd, eapoltest, iproute2; linux-perf
#    too with BENCH_PERF=1), stopping a freeradius system service the package install started;
# 2. builds bin/kagid and bin/kagi if it was not started by make;
# 3. re-executes itself in a private network namespace (unshare -n, loopback only: nothing it
#    starts can collide with a server on 1812 or be reached from outside), then runs
#    bench/bench.py, which does the measuring and writes bench/RESULTS.md.
# Every server is started by bench.py, tracked by PID and stopped by PID (and dies with the
# harness through PR_SET_PDEATHSIG). Settings: see bench/README.md (BENCH_* variables).
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"

if [ "${BENCH_IN_NETNS:-}" = 1 ]; then
	ip link set lo up
	exec python3 "$TOP/bench/bench.py"
fi

pkgs="freeradius hostapd eapoltest iproute2 util-linux openssl procps python3"
[ "${BENCH_PERF:-0}" = 1 ] && pkgs="$pkgs linux-perf"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "[bench] installing missing Debian packages:$missing"
	SUDO=
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
	# Debian's freeradius package starts a system server on 1812; the benchmark runs its own.
	case " $missing " in *" freeradius "*)
		if command -v systemctl >/dev/null && systemctl is-active --quiet freeradius 2>/dev/null; then
			echo "[bench] stopping and disabling the freeradius system service the package started"
			$SUDO systemctl disable --now freeradius || true
		fi ;;
	esac
fi

if [ -z "${MAKELEVEL:-}" ]; then
	make -C "$TOP" --no-print-directory all
fi
for b in bin/kagid bin/kagi; do
	[ -x "$b" ] || { echo "[bench] $b missing (run make)" >&2; exit 1; }
done

if [ "${BENCH_NETNS:-1}" = 1 ]; then
	if unshare -n true 2>/dev/null; then
		exec unshare -n -- env BENCH_IN_NETNS=1 bash "$TOP/bench/run.sh"
	elif unshare -rn true 2>/dev/null; then
		exec unshare -rn -- env BENCH_IN_NETNS=1 bash "$TOP/bench/run.sh"
	fi
	echo "[bench] warning: cannot create a network namespace; using host loopback with free ports" >&2
fi
exec python3 "$TOP/bench/bench.py"
