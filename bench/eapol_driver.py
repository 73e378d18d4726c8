#!/usr/bin/env python3
"""bench/eapol_driver.py: a stand-in for `kagi bench`, built on eapol_test (one process per
conversation), with the same command line and the same JSON result.

    eapol_driver.py -a 127.0.0.1 -p PORT -s SECRET --method tls|peap|ttls-pap --tls 1.2|1.3
        --ca CA.pem [--cert C.pem --key K.pem] --identity ID [--password PW]
        [--concurrency N] [--count N | --duration SEC] [--rate R] [--resume 0..1]
        [--mtu 1400] --json

It prints one JSON object:
  {"auths":N,"ok":N,"failed":N,"seconds":S,"auths_per_sec":X,
   "latency_ms":{"p50":..,"p95":..,"p99":..},"rounds_per_auth":R,
   "failures":{"reason":n,...},"client_cpu_ms_per_auth":C, ...extras}

What a stand-in can and cannot measure:
  - every eapol_test run costs ~8 ms of CPU just to start and ~10 ms per full handshake, so on
    a small machine the throughput it reaches is the driver's, not the server's;
  - latency is the wall time of one eapol_test run (start-up included) for full handshakes;
    with --resume, eapol_test re-authenticates in one process (-r K) and waits 100 ms between
    authentications, so a resumed authentication's latency is the run's wall time minus those
    pauses, divided by the authentications it made (an average per run, not per auth);
  - --resume F > 0: each run makes one full handshake then K resumed ones, K = F/(1-F) capped at
    REAUTH_MAX (F = 1 gives K = REAUTH_MAX); all of them count, "resumed" says how many resumed.
  - rounds are counted from eapol_test's own output (Access-Requests sent, per authentication).
"""

import argparse
import json
import math
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time

REAUTH_MAX = 9
REAUTH_GAP = 0.1  # eapol_test waits 100 ms before each re-authentication


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, math.ceil(p / 100.0 * len(sorted_vals)) - 1))
    return round(sorted_vals[k], 3)


def write_conf(a, path):
    tls = {
        "1.2": "tls_disable_tlsv1_0=1 tls_disable_tlsv1_1=1 tls_disable_tlsv1_2=0 tls_disable_tlsv1_3=1",
        "1.3": "tls_disable_tlsv1_0=1 tls_disable_tlsv1_1=1 tls_disable_tlsv1_2=1 tls_disable_tlsv1_3=0",
    }[a.tls]
    lines = ["network={", "    key_mgmt=WPA-EAP", f'    ca_cert="{a.ca}"']
    if a.method == "tls":
        lines += ["    eap=TLS", f'    identity="{a.identity}"',
                  f'    client_cert="{a.cert}"', f'    private_key="{a.key}"']
    else:
        inner = "auth=MSCHAPV2" if a.method == "peap" else "auth=PAP"
        lines += [f"    eap={'PEAP' if a.method == 'peap' else 'TTLS'}",
                  f'    anonymous_identity="{a.anonymous}"', f'    identity="{a.identity}"',
                  f'    password="{a.password or ""}"', f'    phase2="{inner}"']
    lines += [f'    phase1="{tls}"', "}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def parse_run(out, rc):
    """Split one eapol_test output into authentications: list of dicts."""
    segs = out.split("CTRL-EVENT-EAP-STARTED")[1:]
    auths = []
    for s in segs:
        ok = "CTRL-EVENT-EAP-SUCCESS" in s
        reason = None
        if not ok:
            if "CTRL-EVENT-EAP-FAILURE" in s or "EAP Failure" in s:
                reason = "eap-failure"
            elif "code=3 (Access-Reject)" in s:
                reason = "access-reject"
            else:
                reason = "no-result"
        v = re.search(r"SSL: Using TLS version (\S+)", s)
        auths.append({
            "ok": ok, "reason": reason,
            "rounds": s.count("Sending RADIUS message to authentication server"),
            "resumed": "Handshake finished - resumed=1" in s,
            "tls": v.group(1) if v else None,
        })
    if not auths:
        auths = [{"ok": False, "reason": "no-eap-start", "rounds": 0, "resumed": False, "tls": None}]
    if "MPPE keys OK" not in out and any(x["ok"] for x in auths):
        # eapol_test compares the MS-MPPE keys with its own; a mismatch fails the run
        for x in auths:
            if x["ok"]:
                x["ok"], x["reason"] = False, "mppe-mismatch"
    m = re.search(r"MPPE keys OK: (\d+)\s+mismatch: (\d+)", out)
    if m:
        # eapol_test counts a failed authentication (no keys) as a mismatch too
        extra = int(m.group(2)) - sum(1 for x in auths if not x["ok"])
        for x in auths:
            if extra <= 0:
                break
            if x["ok"]:
                x["ok"], x["reason"] = False, "mppe-mismatch"
                extra -= 1
    if rc != 0 and all(x["ok"] for x in auths):
        # e.g. timeout waiting for a later re-authentication
        auths[-1].update(ok=False, reason=f"exit-{rc}")
    if "EAPOL test timed out" in out:
        for x in auths:
            if not x["ok"]:
                x["reason"] = "timeout"
    return auths


def main():
    p = argparse.ArgumentParser(description="eapol_test stand-in for kagi bench")
    p.add_argument("-a", dest="addr", default="127.0.0.1")
    p.add_argument("-p", dest="port", type=int, required=True)
    p.add_argument("-s", dest="secret", required=True)
    p.add_argument("--method", choices=["tls", "peap", "ttls-pap"], default="tls")
    p.add_argument("--tls", choices=["1.2", "1.3"], default="1.2")
    p.add_argument("--ca", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--identity", required=True)
    p.add_argument("--anonymous", default="anonymous@example.org")
    p.add_argument("--password")
    p.add_argument("--concurrency", type=int, default=4)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--count", type=int)
    g.add_argument("--duration", type=float)
    p.add_argument("--rate", type=float, default=0.0)
    p.add_argument("--resume", type=float, default=0.0)
    p.add_argument("--mtu", type=int, default=0)
    p.add_argument("--timeout", type=int, default=10, help="seconds per eapol_test run")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.count is None and a.duration is None:
        a.count = 100
    if a.method == "tls" and not (a.cert and a.key):
        p.error("--method tls needs --cert and --key")

    reauth = 0
    if a.resume > 0:
        reauth = REAUTH_MAX if a.resume >= 1 else max(1, min(REAUTH_MAX, round(a.resume / (1 - a.resume))))
    per_run = reauth + 1

    tmp = tempfile.mkdtemp(prefix="kagi-eapol-")
    conf = os.path.join(tmp, "peer.conf")
    write_conf(a, conf)
    base = ["eapol_test", "-c", conf, "-a", a.addr, "-p", str(a.port), "-s", a.secret,
            "-t", str(a.timeout)]
    if reauth:
        base += ["-r", str(reauth)]
    if a.mtu:
        base += ["-N", f"12:d:{a.mtu}"]

    lock = threading.Lock()
    results = []  # (latency_ms per auth, auth dict)
    runs_total = None if a.count is None else math.ceil(a.count / per_run)
    state = {"next": 0}
    t0 = time.monotonic()
    deadline = None if a.duration is None else t0 + a.duration
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)

    def next_job():
        """Return the scheduled start time of the next run, or None when done."""
        with lock:
            i = state["next"]
            if runs_total is not None and i >= runs_total:
                return None
            sched = t0 + i * per_run / a.rate if a.rate > 0 else time.monotonic()
            if deadline is not None and sched >= deadline:
                return None
            now = time.monotonic()
            if deadline is not None and a.rate <= 0 and now >= deadline:
                return None
            state["next"] = i + 1
            if deadline is not None and a.rate > 0 and now > deadline + 1.0:
                # the driver fell behind the offered load: count the run as not sent
                state["backlog"] = state.get("backlog", 0) + per_run
                return -1.0
            return sched

    def worker():
        while True:
            sched = next_job()
            if sched is None:
                return
            if sched < 0:
                continue
            wait = sched - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(random.randrange(256) for _ in range(5))
            start = time.monotonic()
            try:
                r = subprocess.run(base + ["-M", mac], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=a.timeout * per_run + 5)
                out, rc = r.stdout.decode("utf-8", "replace"), r.returncode
            except subprocess.TimeoutExpired:
                out, rc = "EAPOL test timed out", -1
            end = time.monotonic()
            auths = parse_run(out, rc)
            # measured from the scheduled start (open loop: queueing counts as latency)
            wall = (end - min(sched, start)) - REAUTH_GAP * (len(auths) - 1)
            lat = max(wall, 0.0) * 1000.0 / len(auths)
            with lock:
                for x in auths:
                    results.append((lat, x))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, a.concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_ms = ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) * 1000.0
    try:
        os.unlink(conf)
        os.rmdir(tmp)
    except OSError:
        pass

    for _ in range(state.get("backlog", 0)):
        results.append((None, {"ok": False, "reason": "driver-backlog", "rounds": 0,
                               "resumed": False, "tls": None}))
    ok = [r for r in results if r[1]["ok"]]
    fails = {}
    for _, x in results:
        if not x["ok"]:
            fails[x["reason"]] = fails.get(x["reason"], 0) + 1
    lat = sorted(l for l, _ in ok)
    rounds = [x["rounds"] for _, x in ok]
    vers = {}
    for _, x in ok:
        vers[x["tls"] or "?"] = vers.get(x["tls"] or "?", 0) + 1
    res = {
        "auths": len(results), "ok": len(ok), "failed": len(results) - len(ok),
        "seconds": round(seconds, 3),
        "auths_per_sec": round(len(ok) / seconds, 2) if seconds > 0 else 0,
        "latency_ms": {"p50": pct(lat, 50), "p95": pct(lat, 95), "p99": pct(lat, 99)},
        "rounds_per_auth": round(sum(rounds) / len(rounds), 2) if rounds else None,
        "failures": fails,
        "client_cpu_ms_per_auth": round(cpu_ms / len(results), 2) if results else None,
        # extras (not in the kagi bench contract)
        "driver": "eapol_test",
        "resumed": sum(1 for _, x in ok if x["resumed"]),
        "tls_versions": vers,
    }
    if reauth:
        fr = [x["rounds"] for _, x in ok if not x["resumed"]]
        rr = [x["rounds"] for _, x in ok if x["resumed"]]
        res["rounds_full"] = round(sum(fr) / len(fr), 2) if fr else None
        res["rounds_resumed"] = round(sum(rr) / len(rr), 2) if rr else None
    print(json.dumps(res))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
