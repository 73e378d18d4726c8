#!/usr/bin/env python3
"""bench/bench.py: race kagid against FreeRADIUS 3.2 and hostapd 2.10 (integrated RADIUS server)
on loopback. Started by bench/run.sh (which installs packages and enters a private network
namespace); see bench/README.md.

For each scenario, every server is configured from the same PKI, secret and user, started on its
own port, checked for correctness with eapol_test (accept, resume, revoked certificate refused),
then driven by the same load generator: a closed-loop saturation cell and an open-loop cell at a
fixed offered rate. Besides: memory per half-open conversation; memory when idle, after a flood
of half-open conversations and after they expire; server CPU per forged packet dropped
(bench/flood.c); kagid's thread scaling (-t 1 / -t 2) in the full-handshake scenarios. Server CPU comes from /proc/PID/stat (utime+stime, all threads), memory from
/proc/PID/status. Results: a table per scenario on stdout, bench/RESULTS.md, and the raw data
in bench/out/results.json. `bench.py --report [FILE]` writes RESULTS.md again from such a file.

Environment (all optional):
  BENCH_SECONDS=10          seconds per measured cell
  BENCH_SERVERS="kagid freeradius hostapd"
  BENCH_SCENARIOS="tls12 tls13 resume peap"
  BENCH_DRIVER=auto         kagi (bin/kagi bench) | eapol (bench/eapol_driver.py) | auto
  BENCH_CONCURRENCY=        saturation concurrency (default: 64 with kagi, 2 x nproc with eapol)
  BENCH_DRIVERS=            load generator processes sharing it (default: 2 with kagi, 1 with eapol)
  BENCH_RATE=               offered auths/s of the latency cell (default: half the slowest
                            server's saturation throughput in that scenario)
  BENCH_HALFOPEN=800        half-open conversations for the memory probe (hostapd holds 1000)
  BENCH_MTU=1400            Framed-MTU the driver sends
  BENCH_SPEED_SECONDS=2     seconds per `openssl speed` measurement (0: skip)
  BENCH_PERF=0              1: perf record kagid during its saturation cells (bench/out/perf-*)
  BENCH_MEMORY=1            0: skip the memory cell (idle, after a half-open flood, after expiry)
  BENCH_MEMORY_FLOOD=4000   half-open conversations of that flood
  BENCH_MEMORY_MAX_WAIT=70  longest expiry wait, seconds (hostapd's compiled-in timeout needs 62)
  BENCH_FORGED=200000       forged Access-Requests per variant and server (0: skip that cell)
  BENCH_SCALING=1           0: skip kagid's thread-scaling cells (tls12 tls13 peap)
  BENCH_SCALING_THREADS="1 2"
  BENCH_NOCACHE=1           0: skip kagid's chain_cache_size = 0 cells (tls12 tls13)
  BENCH_PIN=0               1: in the -t 1 scaling cells, server on CPU 1, load generators on 0
  BENCH_RESULTS=bench/RESULTS.md
"""

import ctypes
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halfopen  # noqa: E402  (bench/halfopen.py)
import probes  # noqa: E402  (bench/probes.py)

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(TOP, "bench")
OUT = os.path.join(HERE, "out")
NPROC = os.cpu_count() or 1
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

SERVER_NAMES = {"kagid": "kagid", "freeradius": "FreeRADIUS", "hostapd": "hostapd"}
SCENARIOS = {
    "tls12": {"title": "EAP-TLS, TLS 1.2, RSA-2048 (full handshake)",
              "method": "tls", "tls": "1.2", "client": "alice", "resume": 0},
    "tls13": {"title": "EAP-TLS, TLS 1.3, ECDSA P-256 (full handshake)",
              "method": "tls", "tls": "1.3", "client": "bob", "resume": 0},
    "resume": {"title": "EAP-TLS, TLS 1.2, RSA-2048, resumed (--resume 1)",
               "method": "tls", "tls": "1.2", "client": "alice", "resume": 1},
    "peap": {"title": "PEAP-MSCHAPv2, TLS 1.2, RSA-2048 server certificate",
             "method": "peap", "tls": "1.2", "client": None, "resume": 0},
}
PASSWORD = "bench-alice-password"


def env(name, default):
    v = os.environ.get(name, "")
    return v if v != "" else default


def log(msg):
    print(f"[bench] {msg}", flush=True)


# ------------------------------------------------------------------------------------------
# processes: every server is started here, tracked by PID and stopped by PID


PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
RUNNING = {}  # pid -> Popen


def _child_setup():
    # die with the harness even if it is SIGKILLed
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setpgid(0, 0)


def child_setup(cpus=None):
    """_child_setup, plus pinning to a set of CPUs when cpus is given (what `taskset -c` does,
    before exec: every thread the child creates inherits it)."""
    if not cpus:
        return _child_setup

    def setup():
        _child_setup()
        os.sched_setaffinity(0, cpus)
    return setup


def stop(p, grace=5.0):
    if p is None or p.poll() is not None:
        RUNNING.pop(getattr(p, "pid", None), None)
        return
    try:
        p.send_signal(signal.SIGTERM)
        p.wait(grace)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)
    RUNNING.pop(p.pid, None)


def stop_all():
    for p in list(RUNNING.values()):
        stop(p)


def on_signal(sig, _frame):
    raise SystemExit(f"interrupted by signal {sig}")


class Server:
    """One server under test. extra_argv is appended to its start command (kagid -t N),
    conf_args to configure.py's (--session-timeout N), cpus pins it (BENCH_PIN)."""

    def __init__(self, kind, scenario, work, pki, secret, extra_argv=(), conf_args=(),
                 cpus=None):
        self.kind, self.scenario = kind, scenario
        self.dir = os.path.join(work, f"{kind}-{scenario}")
        self.port = free_port()
        self.secret = secret
        self.pki = pki
        self.proc = None
        self.cpus = cpus
        r = subprocess.run([sys.executable, os.path.join(HERE, "configure.py"), kind,
                            "--scenario", scenario, "--dir", self.dir, "--pki", pki,
                            "--port", str(self.port), "--secret", secret,
                            "--password", PASSWORD] + list(conf_args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, KAGID=os.path.join(TOP, "bin", "kagid")))
        if r.returncode != 0:
            raise RuntimeError(f"configure {kind}: {r.stderr.strip()}")
        self.start_info = json.loads(r.stdout)
        self.start_info["argv"] += list(extra_argv)
        self.logfile = os.path.join(self.dir, "server.log")

    def start(self):
        lf = open(self.logfile, "w")
        self.proc = subprocess.Popen(self.start_info["argv"], stdout=lf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir,
                                     preexec_fn=child_setup(self.cpus))
        lf.close()
        RUNNING[self.proc.pid] = self.proc
        ready = self.start_info.get("ready") or "AP-ENABLED"
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with status {self.proc.returncode}:\n"
                                   + tail(self.logfile))
            if ready in open(self.logfile, errors="replace").read():
                if udp_bound(self.port):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} did not become ready in 20 s:\n" + tail(self.logfile))

    def stop(self):
        stop(self.proc)

    @property
    def pid(self):
        return self.proc.pid

    def cpu_s(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)

    def status_kb(self, key):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return None


def tail(path, n=25):
    try:
        return "".join(open(path, errors="replace").readlines()[-n:])
    except OSError:
        return ""


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def udp_bound(port):
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            for line in open(path).readlines()[1:]:
                if int(line.split()[1].rsplit(":", 1)[1], 16) == port:
                    return True
        except OSError:
            pass
    return False


# ------------------------------------------------------------------------------------------
# driver


def pick_driver():
    want = env("BENCH_DRIVER", "auto")
    kagi = os.path.join(TOP, "bin", "kagi")
    has_kagi = False
    if os.access(kagi, os.X_OK):
        r = subprocess.run([kagi, "bench", "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        has_kagi = r.returncode == 0 and "--concurrency" in r.stdout
    if want == "kagi" and not has_kagi:
        raise SystemExit("BENCH_DRIVER=kagi but bin/kagi has no working `bench` command")
    if want == "kagi" or (want == "auto" and has_kagi):
        return "kagi", [kagi, "bench"]
    return "eapol", [sys.executable, os.path.join(HERE, "eapol_driver.py")]


def scenario_args(sc, pki, resume=True):
    s = SCENARIOS[sc]
    a = ["--method", s["method"], "--tls", s["tls"], "--ca", os.path.join(pki, "ca.pem")]
    if s["method"] == "tls":
        c = s["client"]
        a += ["--cert", os.path.join(pki, c + ".pem"), "--key", os.path.join(pki, c + ".key"),
              "--identity", f"{c}@example.org"]
    else:
        a += ["--identity", "alice", "--anonymous", "anonymous@example.org",
              "--password", PASSWORD]
    if s["resume"] and resume:
        a += ["--resume", str(s["resume"])]
    return a


def parse_json(out):
    for line in reversed(out.strip().split("\n")):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def run_driver(cmd, srv, sc, pki, extra, budget, resume=True, procs=1, cpus=None):
    """Run the load generator; with procs > 1, that many processes share the concurrency and
    their results are merged (sums; latency p50 ok-weighted, p95/p99 the worst process).
    cpus pins the load generator processes (BENCH_PIN)."""
    base = cmd + ["-a", "127.0.0.1", "-p", str(srv.port), "-s", srv.secret] + \
        scenario_args(sc, pki, resume)
    runs = []
    for k in range(procs):
        ex = list(extra)
        if procs > 1 and "--concurrency" in ex:
            i = ex.index("--concurrency") + 1
            total = int(ex[i])
            ex[i] = str(max(1, total // procs + (1 if k < total % procs else 0)))
        p = subprocess.Popen(base + ex + ["--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, preexec_fn=child_setup(cpus))
        RUNNING[p.pid] = p
        runs.append(p)
    results, end = [], time.monotonic() + budget
    for p in runs:
        try:
            out, err = p.communicate(timeout=max(1.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            out, err = "", f"driver did not finish in {budget:.0f} s"
        RUNNING.pop(p.pid, None)
        j = parse_json(out)
        if j is None:
            return {"error": f"driver exit {p.returncode}: {(err or out).strip()[-400:]}"}
        results.append(j)
    if len(results) == 1:
        return results[0]
    m = {"drivers": len(results)}
    for k in ("auths", "ok", "failed", "resumed"):
        m[k] = sum(r.get(k) or 0 for r in results)
    m["seconds"] = max(r.get("seconds") or 0 for r in results)
    m["auths_per_sec"] = round(m["ok"] / m["seconds"], 2) if m["seconds"] else 0
    oks = [r.get("ok") or 0 for r in results]

    def wmean(key, weights, sub=None):
        vals = [(r.get(key) if sub is None else (r.get(key) or {}).get(sub), w)
                for r, w in zip(results, weights)]
        vals = [(v, w) for v, w in vals if v is not None and w]
        tw = sum(w for _, w in vals)
        return round(sum(v * w for v, w in vals) / tw, 3) if tw else None

    lat = [r.get("latency_ms") or {} for r in results]
    m["latency_ms"] = {"p50": wmean("latency_ms", oks, "p50"),
                       "p95": max((x.get("p95") or 0 for x in lat), default=None),
                       "p99": max((x.get("p99") or 0 for x in lat), default=None)}
    m["rounds_per_auth"] = wmean("rounds_per_auth", oks)
    m["client_cpu_ms_per_auth"] = wmean("client_cpu_ms_per_auth",
                                        [r.get("auths") or 0 for r in results])
    f = {}
    for r in results:
        for k, v in (r.get("failures") or {}).items():
            f[k] = f.get(k, 0) + v
    m["failures"] = f
    return m


def machine_busy_s():
    """CPU seconds all processes on the machine have used (from /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / CLK_TCK


def measure(cmd, srv, sc, pki, extra, budget, perf=None, procs=1, cpus=None):
    c0, t0, m0 = srv.cpu_s(), time.monotonic(), machine_busy_s()
    ru0 = os.times()
    perf_p = None
    if perf:
        perf_p = subprocess.Popen(["perf", "record", "-g", "-q", "-o", perf, "-p", str(srv.pid)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  preexec_fn=_child_setup)
        RUNNING[perf_p.pid] = perf_p
    res = run_driver(cmd, srv, sc, pki, extra, budget, procs=procs, cpus=cpus)
    if perf_p:
        perf_p.send_signal(signal.SIGINT)
        try:
            perf_p.wait(30)
        except subprocess.TimeoutExpired:
            perf_p.kill()
            perf_p.wait()
        RUNNING.pop(perf_p.pid, None)
    wall, cpu = time.monotonic() - t0, srv.cpu_s() - c0
    ru1 = os.times()
    drv = (ru1.children_user - ru0.children_user) + (ru1.children_system - ru0.children_system)
    res["server_cpu_s"] = round(cpu, 3)
    res["driver_cpu_s"] = round(drv, 3)
    # everything else that ran on the machine meanwhile, in cores (a busy machine skews cells)
    busy = machine_busy_s() - m0
    res["machine_cores"] = round(busy / wall, 2) if wall > 0 else None
    res["other_cores"] = round(max(0.0, busy - cpu - drv) / wall, 2) if wall > 0 else None
    res["server_util_pct"] = round(100.0 * cpu / wall, 1) if wall > 0 else None
    ok = res.get("ok") or 0
    res["server_cpu_ms_per_auth"] = round(cpu * 1000.0 / ok, 3) if ok else None
    if ok and (res.get("failed") or 0) > 0.05 * ok:
        # CPU spent on the failures is charged to the successes: not a per-auth cost
        res["server_cpu_ms_per_auth_polluted"] = True
    res["end"] = time.monotonic()
    return res


# ------------------------------------------------------------------------------------------
# correctness checks with eapol_test (independent of the driver under test)


def checks(srv, sc, pki):
    drv = [sys.executable, os.path.join(HERE, "eapol_driver.py")]
    out = {}
    r = run_driver(drv, srv, sc, pki, ["--count", "1", "--concurrency", "1"], 60, resume=False)
    want_v = "TLSv" + SCENARIOS[sc]["tls"]
    out["accept"] = r.get("ok") == 1 and want_v in r.get("tls_versions", {})
    out["rounds"] = r.get("rounds_per_auth")
    if not out["accept"]:
        out["accept_detail"] = r
    if sc in ("tls12", "resume"):
        r = run_driver(drv, srv, "tls12", pki, ["--count", "2", "--concurrency", "1",
                                                 "--resume", "0.5"], 60, resume=False)
        out["resume"] = r.get("ok") == 2 and r.get("resumed") == 1
        out["rounds_resumed"] = r.get("rounds_resumed")
    if SCENARIOS[sc]["method"] == "tls":
        # carol's certificate is listed in ca.crl: every server must refuse it
        argv = [a for a in scenario_args("tls12", pki)]
        i = argv.index("--cert")
        argv[i + 1:i + 2] = [os.path.join(pki, "carol.pem")]
        i = argv.index("--key")
        argv[i + 1:i + 2] = [os.path.join(pki, "carol.key")]
        i = argv.index("--identity")
        argv[i + 1:i + 2] = ["carol@example.org"]
        full = drv + ["-a", "127.0.0.1", "-p", str(srv.port), "-s", srv.secret] + argv + \
            ["--count", "1", "--json"]
        rr = subprocess.run(full, stdout=subprocess.PIPE, text=True, timeout=60)
        try:
            r = json.loads(rr.stdout.strip().split("\n")[-1])
        except ValueError:
            r = {}
        out["revoked_refused"] = r.get("ok") == 0 and r.get("failed") == 1 and \
            "timeout" not in r.get("failures", {})
    return out


# ------------------------------------------------------------------------------------------
# thread scaling (kagid -t 1 / -t 2), memory (idle, flood, expired), cost of a forged packet

SCALING_SCENARIOS = ("tls12", "tls13", "peap")  # the full handshakes


def scaling_cell(cmd, sc, threads, work, pki, secret, conc, procs, secs, mtu, pin,
                 conf_args=()):
    """A fresh `kagid -t THREADS` (threads None: its default), warmed up, then one saturation
    cell like the scenario's. pin: the server on CPU 1, the load generator processes on CPU 0.
    conf_args go to configure.py."""
    srv = Server("kagid", sc, os.path.join(work, f"scaling-t{threads}" + "".join(conf_args)),
                 pki, secret, extra_argv=["-t", str(threads)] if threads else [],
                 cpus={1} if pin else None, conf_args=conf_args)
    drv_cpus = {0} if pin else None
    try:
        srv.start()
        w = run_driver(cmd, srv, sc, pki, ["--count", str(max(20, 2 * conc)),
                                           "--concurrency", str(conc), "--mtu", mtu], 120,
                       cpus=drv_cpus)
        if not w.get("ok"):
            return {"error": f"warm-up failed: {json.dumps(w)[:300]}"}
        time.sleep(0.5)
        r = measure(cmd, srv, sc, pki, ["--duration", f"{secs:g}", "--concurrency", str(conc),
                                        "--mtu", mtu], secs * 3 + 60, procs=procs,
                    cpus=drv_cpus)
        r["workers"] = threads
        r["threads"] = srv.status_kb("Threads")
        r["pinned"] = bool(pin)
        ok = r.get("ok") or 0
        if ok and "error" not in r:
            r["driver_cpu_ms_per_auth"] = round(r["driver_cpu_s"] * 1000.0 / ok, 3)
            r["total_cpu_ms_per_auth"] = round((r["server_cpu_s"] + r["driver_cpu_s"]) * 1000.0
                                               / ok, 3)
            if r["server_cpu_s"] > 0:
                r["auths_per_server_cpu_s"] = round(ok / r["server_cpu_s"], 1)
        return r
    finally:
        srv.stop()


def memory_cell(kind, work, pki, secret, flood_n, max_wait):
    """A fresh server (TLS 1.2 configuration, everything a conversation leaves behind expiring
    after 2 idle seconds where the server can be told so): memory when ready, after flood_n
    half-open conversations, and again once they have expired (unless that takes longer than
    max_wait seconds: hostapd's 60 s are compiled in)."""
    srv = Server(kind, "tls12", os.path.join(work, "memory"), pki, secret,
                 conf_args=["--session-timeout", "2"])
    timeout = srv.start_info.get("session_timeout")
    res = {"flood_n": flood_n, "session_timeout_s": timeout}
    try:
        srv.start()
        time.sleep(1.0)  # whatever a server does right after its ready line
        res["idle"] = probes.memory(srv.pid)
        st, states = {}, {}
        t0 = time.monotonic()
        res["answered"] = halfopen.run(srv.port, secret.encode(), b"alice@example.org",
                                       flood_n, 0, st, states)
        res["rejected"] = st["rejected"]
        t_end = time.monotonic()
        res["flood_s"] = round(t_end - t0, 2)
        time.sleep(0.5)
        res["after_flood"] = probes.memory(srv.pid)
        if timeout is None:  # hostapd: RADIUS_SESSION_TIMEOUT, compiled in
            timeout = 60
            res["session_timeout_s"], res["timeout_fixed"] = timeout, True
        wait = timeout + 2
        if wait > max_wait:
            res["expiry_skipped"] = (f"{timeout} s timeout: waiting would take {wait} s "
                                     f"(BENCH_MEMORY_MAX_WAIT={max_wait:g})")
            return res
        time.sleep(max(0.0, t_end + wait - time.monotonic()))
        # FreeRADIUS 3 reaps expired EAP sessions only when a request continuing a conversation
        # comes in, at most 3 per request (rlm_eap eaplist_find -> eaplist_expire): continue a
        # third of the flood's conversations (plus a margin), the oldest first, on every server
        # alike. Each should now be refused: the answers also show who really expired them.
        keys = sorted(states)[:len(states) // 3 + 16]
        res["probe"] = halfopen.probe(srv.port, secret.encode(), b"alice@example.org", states,
                                      keys)
        time.sleep(1.0)
        res["waited_s"] = round(time.monotonic() - t_end, 1)
        res["after_expiry"] = probes.memory(srv.pid)
        if kind == "kagid":
            try:
                res["expired_logged"] = sum(1 for line in open(os.path.join(srv.dir, "auth.log"))
                                            if "session timeout" in line)
            except OSError:
                pass
        # A second flood of as many new conversations: if the memory the first one freed is
        # reused, RSS hardly grows (the allocator kept it); if it leaked, RSS grows again.
        st = {}
        res["answered2"] = halfopen.run(srv.port, secret.encode(), b"alice@example.org",
                                        flood_n, 2 * flood_n + 2, st)
        res["rejected2"] = st["rejected"]
        time.sleep(0.5)
        res["after_flood2"] = probes.memory(srv.pid)
        return res
    finally:
        srv.stop()


FORGED_VARIANTS = (
    # name, source address, what is wrong
    ("bad_ma", "127.0.0.1", "known client, wrong Message-Authenticator"),
    ("unknown", "127.0.0.2", "unknown client address"),
)


def forged_cell(kind, work, pki, secret, flood_bin, count, extra_argv=()):
    """A fresh server; count forged Access-Requests per variant, as fast as the sender goes.
    Server CPU (whole process) over what the server actually received (the namespace's UDP
    counters), after its socket's queue has drained."""
    srv = Server(kind, "tls12", os.path.join(work, "forged" + "".join(extra_argv)), pki, secret,
                 extra_argv=extra_argv)
    res = {}
    try:
        srv.start()
        time.sleep(1.0)
        a = probes.cpu_snapshot(srv.pid)
        time.sleep(1.0)
        idle_s, _ = probes.cpu_delta_s(a, probes.cpu_snapshot(srv.pid))
        res["idle_cpu_us_per_s"] = round(idle_s * 1e6, 1)
        res["threads"] = probes.status_kb(srv.pid, "Threads")
        if kind == "kagid":
            res["workers"] = int(extra_argv[1]) if "-t" in extra_argv else NPROC
        # A well-formed first request (EAP-Response/Identity); flood.c overwrites the
        # Identifier, the Request Authenticator and the Message-Authenticator (first attribute,
        # value at offset 22) in every copy, so none verifies.
        tmpl = halfopen.request(0, secret.encode(), b"alice@example.org", b"02-00-00-00-00-01")
        for name, src, _what in FORGED_VARIANTS:
            r = {"src": src}
            res[name] = r
            try:
                u0, s0, c0 = probes.udp_counters(), probes.udp_socket(srv.port), \
                    probes.cpu_snapshot(srv.pid)
                t0 = time.monotonic()
                f = probes.run_flood(flood_bin, srv.port, src, count, tmpl, 22,
                                     preexec=_child_setup)
                r["drained"] = probes.wait_rx_empty(srv.port, 15.0)
                time.sleep(0.2)
                u1, s1, c1 = probes.udp_counters(), probes.udp_socket(srv.port), \
                    probes.cpu_snapshot(srv.pid)
                r["wall_s"] = round(time.monotonic() - t0, 3)
            except (RuntimeError, subprocess.TimeoutExpired, OSError, ValueError) as e:
                r["error"] = str(e)
                continue
            if srv.proc.poll() is not None:
                r["error"] = f"{kind} exited during the flood"
                continue
            cpu, how = probes.cpu_delta_s(c0, c1)
            sent = f["sent"]
            d = {k: u1.get(k, 0) - u0.get(k, 0) for k in ("InDatagrams", "OutDatagrams",
                                                          "RcvbufErrors", "InErrors")}
            replies = max(0, d["OutDatagrams"] - sent)  # anything the server sent back
            received = d["InDatagrams"] - min(replies, f.get("replies", 0))
            socket_drops = (s1 or {}).get("drops", 0) - (s0 or {}).get("drops", 0)
            # The socket's drops are receive-buffer overflows plus what a socket filter the
            # server attached dropped (kagid: its unknown-source flood filter). Those the
            # server handled: it told the kernel to drop them.
            filtered = max(0, socket_drops - d["RcvbufErrors"])
            r.update({"sent": sent, "sender_s": f["seconds"],
                      "sender_cpu_s": f["sender_cpu_s"], "sender_user_s": f["sender_user_s"],
                      "sender_sys_s": f["sender_sys_s"],
                      "received": received, "replies": replies,
                      "kernel_dropped": d["RcvbufErrors"],
                      "socket_drops": socket_drops, "filtered": filtered,
                      "server_cpu_s": round(cpu, 6), "cpu_source": how})
            if received + filtered > 0:
                r["us_per_packet"] = round(cpu * 1e6 / (received + filtered), 3)
            log(f"forged {kind} {name}: {r}")
    finally:
        srv.stop()
    return res


# ------------------------------------------------------------------------------------------
# public-key crypto floor (openssl speed)


def openssl_speed(seconds):
    algs = ["rsa2048", "ecdsap256", "ecdhp256", "ecdhx25519"]
    r = subprocess.run(["openssl", "speed", "-seconds", str(seconds)] + algs,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    sp = {}
    for line in r.stdout.split("\n"):
        m = re.match(r"\s*rsa\s+2048 bits\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            sp["rsa_sign"], sp["rsa_verify"] = 1000 / float(m.group(1)), 1000 / float(m.group(2))
        m = re.match(r"\s*256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            sp["ecdsa_sign"], sp["ecdsa_verify"] = 1000 / float(m.group(1)), 1000 / float(m.group(2))
        m = re.match(r"\s*256 bits ecdh \(nistp256\)\s+\S+s\s+([\d.]+)", line)
        if m:
            sp["ecdh_p256"] = 1000 / float(m.group(1))
        m = re.match(r"\s*253 bits ecdh \(X25519\)\s+\S+s\s+([\d.]+)", line)
        if m:
            sp["x25519"] = 1000 / float(m.group(1))
    return sp  # milliseconds per operation


# Public-key operations of one handshake, per side. The key exchange is ECDHE over X25519 (the
# first group OpenSSL clients offer), one key generation plus one derivation on each side. The
# CA is RSA-2048 for every certificate; the server verifies the CRL's signature each time.
HANDSHAKE_OPS = {
    "tls12": {"server": {"rsa_sign": 1, "rsa_verify": 3, "kex": 2},
              "client": {"rsa_sign": 1, "rsa_verify": 2, "kex": 2},
              "what": "server: sign ServerKeyExchange; verify client CertificateVerify, client "
                      "certificate, CRL. client: verify server certificate and "
                      "ServerKeyExchange, sign CertificateVerify"},
    "tls13": {"server": {"ecdsa_sign": 1, "ecdsa_verify": 1, "rsa_verify": 2, "kex": 2},
              "client": {"ecdsa_sign": 1, "ecdsa_verify": 1, "rsa_verify": 1, "kex": 2},
              "what": "server: ECDSA-sign CertificateVerify, ECDSA-verify the client's, "
                      "RSA-verify client certificate and CRL. client: RSA-verify server "
                      "certificate, ECDSA-verify its CertificateVerify, ECDSA-sign its own"},
    "resume": {"server": {}, "client": {},
               "what": "TLS 1.2 abbreviated handshake: no public-key operation"},
    "peap": {"server": {"rsa_sign": 1, "kex": 2}, "client": {"rsa_verify": 2, "kex": 2},
             "what": "server: sign ServerKeyExchange. client: verify server certificate and "
                     "ServerKeyExchange (MSCHAPv2 inside costs microseconds)"},
}


def crypto_floor(sp, sc, side):
    ops = HANDSHAKE_OPS[sc][side]
    kex = sp.get("x25519", sp.get("ecdh_p256"))
    total = 0.0
    for k, n in ops.items():
        v = kex if k == "kex" else sp.get(k)
        if v is None:
            return None
        total += n * v
    return total


# ------------------------------------------------------------------------------------------
# report


def fmt(v, nd=2):
    if v is None:
        return "–"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:.0f}"
        return f"{v:.{nd}f}"
    return str(v)


def ratio(k, peers, higher_better):
    vals = [p for p in peers if p is not None and p > 0]
    if k is None or not vals:
        return "–"
    best = max(vals) if higher_better else min(vals)
    return f"{k / best:.2f}"


def failures_str(r):
    if not r or "error" in r:
        return (r or {}).get("error", "–")
    f = r.get("failures") or {}
    if not f:
        return "0"
    return ", ".join(f"{k}: {v}" for k, v in sorted(f.items(), key=lambda x: -x[1]))


def scenario_table(sc, data, servers, rate, conc, speed):
    def g(srv, cell, *keys):
        r = data.get(srv, {}).get(cell)
        if not r or "error" in r:
            return None
        for k in keys:
            if r is None:
                return None
            r = r.get(k) if isinstance(r, dict) else None
        return r

    rows = []

    def row(label, vals, higher_better=None, nd=2):
        k = vals[0] if servers[0] == "kagid" else None
        peers = [v for s, v in zip(servers, vals) if s != "kagid"]
        rr = ratio(k, peers, higher_better) if higher_better is not None and "kagid" in servers else ""
        rows.append(f"| {label} | " + " | ".join(fmt(v, nd) for v in vals) + f" | {rr} |")

    row(f"auths/s at saturation (concurrency {conc}) ↑",
        [g(s, "sat", "auths_per_sec") for s in servers], True, 1)
    row("server CPU ms per auth at saturation ↓",
        [None if g(s, "sat", "server_cpu_ms_per_auth_polluted") else
         g(s, "sat", "server_cpu_ms_per_auth") for s in servers], False)
    row("server CPU use at saturation, % of one core",
        [g(s, "sat", "server_util_pct") for s in servers], None, 0)
    row(f"p50 latency ms at {rate} auths/s ↓",
        [g(s, "rate", "latency_ms", "p50") for s in servers], False)
    row(f"p99 latency ms at {rate} auths/s ↓",
        [g(s, "rate", "latency_ms", "p99") for s in servers], False)
    row(f"server CPU ms per auth at {rate} auths/s ↓",
        [g(s, "rate", "server_cpu_ms_per_auth") for s in servers], False)
    row("round trips per auth ↓", [g(s, "sat", "rounds_per_auth") for s in servers], False)
    if SCENARIOS[sc]["resume"]:
        vals = []
        for s in servers:
            ok, res = g(s, "sat", "ok"), g(s, "sat", "resumed")
            vals.append(round(100.0 * res / ok, 1) if ok and res is not None else None)
        row("resumed share of ok auths at saturation, %", vals, None, 1)
    hwm = [data.get(s, {}).get("hwm_kb") for s in servers]
    row("peak RSS MB (VmHWM) ↓", [h / 1024.0 if h else None for h in hwm], False, 1)
    row("server threads", [data.get(s, {}).get("threads") for s in servers], None)
    rows.append("| failures at saturation | " + " | ".join(
        failures_str(data.get(s, {}).get("sat")) for s in servers) + " | |")
    rows.append(f"| failures at {rate} auths/s | " + " | ".join(
        failures_str(data.get(s, {}).get("rate")) for s in servers) + " | |")
    row("load generator CPU ms per auth (saturation)",
        [g(s, "sat", "client_cpu_ms_per_auth") for s in servers], None)
    row("other processes on the machine during saturation, cores",
        [g(s, "sat", "other_cores") for s in servers], None)
    ck = []
    for s in servers:
        c = data.get(s, {}).get("checks") or {}
        bits = []
        for key, name in (("accept", "accept"), ("resume", "resume"),
                          ("revoked_refused", "revoked refused")):
            if key in c:
                bits.append(("✓ " if c[key] else "✗ ") + name)
        if data.get(s, {}).get("error"):
            bits.append("error: " + data[s]["error"].split("\n")[0][:80])
        ck.append(", ".join(bits) or "–")
    rows.append("| eapol_test checks | " + " | ".join(ck) + " | |")
    head = ("| | " + " | ".join(SERVER_NAMES[s] for s in servers) + " | kagid / best peer |\n"
            "|---|" + "---|" * len(servers) + "---|")
    fl = crypto_floor(speed, sc, "server") if speed else None
    notes = []
    for s in servers:
        r = data.get(s, {}).get("sat") or {}
        f = r.get("failures") or {}
        if not r.get("server_cpu_ms_per_auth_polluted"):
            continue
        if s == "hostapd":
            notes.append(
                f"hostapd: {r.get('failed')} failed authentications at saturation "
                f"({failures_str(r)}). hostapd 2.10 keeps at most 1000 RADIUS sessions and "
                "holds a finished one for 5 s, so it sustains at most ~200 authentications/s; "
                "past that it answers new conversations with an immediate Access-Reject, and a "
                "closed-loop load generator spins on those rejects. Its CPU per auth at "
                "saturation is therefore not shown (see the fixed-rate row).")
        else:
            notes.append(f"{SERVER_NAMES[s]}: {r.get('failed')} failures at saturation; its CPU "
                         "per auth there is not shown (failures would be charged to successes).")
    note = "".join(f"\n{n}\n" for n in notes)
    if fl is not None and HANDSHAKE_OPS[sc]["server"]:
        note += (f"\nPublic-key crypto floor of one handshake (openssl speed, one core): server "
                 f"{fl:.3f} ms, client {crypto_floor(speed, sc, 'client'):.3f} ms — "
                 f"{HANDSHAKE_OPS[sc]['what']}.\n")
    elif fl is not None:
        note += f"\nPublic-key crypto floor: none ({HANDSHAKE_OPS[sc]['what']}).\n"
    return f"### {SCENARIOS[sc]['title']}\n\n{head}\n" + "\n".join(rows) + "\n" + note


def mb(kb):
    return kb / 1024.0 if kb is not None else None


def summary_memory(r):
    if "error" in r:
        return r["error"]
    g = lambda k, f: (r.get(k) or {}).get(f)  # noqa: E731
    return (f"idle RSS {fmt(mb(g('idle', 'rss_kb')), 1)} MB PSS {fmt(mb(g('idle', 'pss_kb')), 1)}"
            f" MB; {r.get('answered')} answered / {r.get('rejected')} refused of {r['flood_n']}:"
            f" RSS {fmt(mb(g('after_flood', 'rss_kb')), 1)} MB; after expiry "
            + (fmt(mb(g('after_expiry', 'rss_kb')), 1) + " MB" if r.get("after_expiry")
               else r.get("expiry_skipped", "–")))


def nocache_table(data, servers):
    """kagid's saturation cell again with chain_cache_size = 0 (every client chain verified,
    as FreeRADIUS and hostapd do), beside the default run and the peers of the same scenario."""
    nc = data.get("nocache") or {}
    if not nc:
        return ""
    out = ["### Client chain verified every time (kagid chain_cache_size = 0)", "",
           "The scenario tables drive each server with one client certificate, so after its "
           "first authentication kagid's default configuration finds that chain in its "
           "verified-chain cache (a returning client). Here kagid verifies every chain, as the "
           "peers do: a first contact, or every authentication after a CRL reload.", "",
           "| scenario | kagid, chain_cache_size = 0 | kagid, default | best peer "
           "| kagid (0) / best peer |", "|---|---|---|---|---|"]
    for sc, r in nc.items():
        d = data["scenarios"].get(sc, {})

        def cpu(s):
            c = (d.get(s) or {}).get("sat") or {}
            return None if "error" in c else c.get("server_cpu_ms_per_auth")
        peers = [cpu(s) for s in servers if s != "kagid"]
        if "error" in r:
            out.append(f"| {SCENARIOS[sc]['title']} | error: {r['error'].splitlines()[0][:80]} "
                       "| | | |")
            continue
        k = r.get("server_cpu_ms_per_auth")
        best = min([p for p in peers if p], default=None)
        out.append(f"| {SCENARIOS[sc]['title']}: server CPU ms per auth at saturation ↓ "
                   f"| {fmt(k, 3)} | {fmt(cpu('kagid'), 3)} | {fmt(best, 3)} "
                   f"| {ratio(k, peers, False)} |")
        out.append(f"| auths/s | {fmt(r.get('auths_per_sec'), 1)} | | | |")
    return "\n".join(out) + "\n"


def scaling_table(data):
    sc_all = data.get("scaling") or {}
    if not sc_all:
        return ""
    n = data["machine"]["nproc"]
    out = ["### Thread scaling (kagid, saturation)", "",
           f"A fresh `kagid -t N` per cell, driven like the scenario's saturation cell "
           f"(concurrency {data['concurrency']} over {data.get('drivers', 1)} load generator "
           f"process(es), {data['seconds']:g} s)"
           + ("; in the -t 1 cells the server is pinned to CPU 1 and the load generators to "
              "CPU 0 (BENCH_PIN=1)" if data.get("scaling_pinned") else "")
           + ". Ratio row: -t 2 / -t 1 (first and last thread count measured).", "",
           "| scenario | kagid | auths/s ↑ | server CPU ms per auth ↓ | server CPU, % of one "
           "core | load generator CPU ms per auth | server + load generator CPU ms per auth | "
           f"ceiling on {n} cores, auths/s | machine CPU in use, cores | auths per server-CPU-"
           "second ↑ |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for sc, cells in sc_all.items():
        keys = sorted(cells, key=int)
        title = SCENARIOS[sc]["title"]
        for i, t in enumerate(keys):
            r = cells[t]
            if "error" in r:
                out.append(f"| {title if i == 0 else ''} | -t {t} | error: "
                           f"{r['error'].splitlines()[0][:80]} | | | | | | | |")
                continue
            tot = r.get("total_cpu_ms_per_auth")
            out.append(f"| {title if i == 0 else ''} | -t {t} | {fmt(r.get('auths_per_sec'), 1)} "
                       f"| {fmt(r.get('server_cpu_ms_per_auth'), 3)} "
                       f"| {fmt(r.get('server_util_pct'), 0)} "
                       f"| {fmt(r.get('driver_cpu_ms_per_auth'), 3)} | {fmt(tot, 3)} "
                       f"| {fmt(n * 1000.0 / tot if tot else None, 0)} "
                       f"| {fmt(r.get('machine_cores'))} "
                       f"| {fmt(r.get('auths_per_server_cpu_s'), 0)} |")
        if len(keys) < 2:
            continue
        a, b = cells[keys[0]], cells[keys[-1]]
        if "error" in a or "error" in b:
            continue

        def rt(k):
            x, y = a.get(k), b.get(k)
            return f"{y / x:.2f}" if x and y else "–"
        out.append(f"| | -t {keys[-1]} / -t {keys[0]} | {rt('auths_per_sec')} "
                   f"| {rt('server_cpu_ms_per_auth')} | {rt('server_util_pct')} | | | | "
                   f"| {rt('auths_per_server_cpu_s')} |")
        tot = b.get("total_cpu_ms_per_auth")
        if tot and b.get("auths_per_sec"):
            ceil = n * 1000.0 / tot
            notes.append(
                f"- {title}: with -t {keys[-1]} one authentication cost "
                f"{b['server_cpu_ms_per_auth']:.3f} ms of server CPU and "
                f"{b['driver_cpu_ms_per_auth']:.3f} ms of load generator CPU on the same {n} "
                f"cores, so this machine cannot exceed {n} × 1000 / {tot:.3f} = {ceil:.0f} "
                f"auths/s whatever the server does; -t {keys[-1]} reached "
                f"{b['auths_per_sec']:.0f} ({100.0 * b['auths_per_sec'] / ceil:.0f} %), with "
                f"{b.get('machine_cores')} of {n} cores busy. Per server-CPU-second -t "
                f"{keys[-1]} did {rt('auths_per_server_cpu_s')} × what -t {keys[0]} did.")
    out += ["", "What limits the ratio: the load generator runs on the same cores, so the total "
            "CPU per authentication (server + load generator) bounds throughput at "
            f"{n} × 1000 / total ms (the \"ceiling\" column): a second worker thread can only "
            "use what the load generator leaves. The CPU-normalised view is auths per "
            "server-CPU-second: equal values for -t 1 and -t 2 (ratio 1.00) mean the threads "
            "do not slow each other down (no lock contention, no extra wake-ups), i.e. "
            "throughput would scale linearly with threads given free cores; below 1.00 is "
            "what threading costs per authentication.", ""] + notes
    return "\n".join(out) + "\n"


def memory_table(data, servers):
    mem = data.get("memory") or {}
    if not mem:
        return ""
    n = data.get("memory_flood")
    out = ["### Memory: idle, after a flood of half-open conversations, after they expire", "",
           f"A fresh server each (TLS 1.2 configuration). Idle: 1 s after it is ready, before "
           f"any request. Flood: {n} half-open conversations (EAP-Response/Identity, first "
           "Access-Challenge, then silence; bench/halfopen.py), measured 0.5 s after the last. "
           "Expiry: conversations and cached replies set to expire after 2 idle seconds where "
           "the server allows it; the harness waits timeout + 2 s after the flood, continues "
           "some of the old conversations (below) and measures 1 s later. RSS = VmRSS (/proc/PID/status); PSS from "
           "/proc/PID/smaps_rollup (shared library pages divided among the processes mapping "
           "them).", "",
           "| | " + " | ".join(SERVER_NAMES[s] for s in servers) + " | kagid / best peer |",
           "|---|" + "---|" * len(servers) + "---|"]

    def g(s, cell, key):
        r = mem.get(s) or {}
        return (r.get(cell) or {}).get(key)

    def row(label, vals, higher_better=None, nd=1):
        k = vals[0] if servers[0] == "kagid" else None
        peers = [v for s, v in zip(servers, vals) if s != "kagid"]
        rr = ratio(k, peers, higher_better) if higher_better is not None and k is not None \
            else ""
        out.append(f"| {label} | " + " | ".join(v if isinstance(v, str) else fmt(v, nd)
                                                  for v in vals) + f" | {rr} |")

    row("idle RSS MB ↓", [mb(g(s, "idle", "rss_kb")) for s in servers], False)
    row("idle PSS MB ↓", [mb(g(s, "idle", "pss_kb")) for s in servers], False)
    row("idle RSS anonymous / file-backed MB",
        [f"{fmt(mb(g(s, 'idle', 'rss_anon_kb')), 1)} / {fmt(mb(g(s, 'idle', 'rss_file_kb')), 1)}"
         for s in servers])
    row(f"half-open conversations answered / refused (of {n})",
        [f"{(mem.get(s) or {}).get('answered', '–')} / {(mem.get(s) or {}).get('rejected', '–')}"
         for s in servers])
    row("RSS MB after the flood ↓", [mb(g(s, "after_flood", "rss_kb")) for s in servers], False)
    row("PSS MB after the flood ↓", [mb(g(s, "after_flood", "pss_kb")) for s in servers], False)
    how = {"kagid": "limits session_timeout, dup_cache_time",
           "freeradius": "eap timer_expire, cleanup_delay", "hostapd": "compiled in"}
    row("conversation idle timeout, s",
        [f"{(mem.get(s) or {}).get('session_timeout_s', '–')} ({how[s]})" for s in servers])
    row("RSS MB after expiry ↓", [mb(g(s, "after_expiry", "rss_kb")) for s in servers], False)
    row("PSS MB after expiry ↓", [mb(g(s, "after_expiry", "pss_kb")) for s in servers], False)
    back, give = [], []
    for s in servers:
        r = mem.get(s) or {}
        i, f, e = g(s, "idle", "rss_kb"), g(s, "after_flood", "rss_kb"), \
            g(s, "after_expiry", "rss_kb")
        if "error" in r:
            back.append("error: " + r["error"].splitlines()[0][:60])
            give.append("–")
        elif e is None or i is None:
            back.append("n/a: " + r.get("expiry_skipped", "not measured"))
            give.append("–")
        else:
            back.append(f"{(e - i) / 1024.0:+.1f} MB ({100.0 * (e - i) / i:+.0f} %)")
            give.append(fmt(round(100.0 * (f - e) / (f - i)) + 0.0, 0)
                        if f is not None and f - i > 256 else "– (flood grew < 0.25 MB)")
    row("after expiry − idle RSS (returns to within)", back)
    row("share of the flood's growth given back, %", give)
    second = []
    for s in servers:
        r = mem.get(s) or {}
        f2, e = g(s, "after_flood2", "rss_kb"), g(s, "after_expiry", "rss_kb")
        second.append("–" if f2 is None or e is None else
                      f"{f2 / 1024.0:.1f} MB ({(f2 - e) / 1024.0:+.1f} MB; "
                      f"{r.get('answered2')} answered)")
    row("RSS after a second flood of as many new conversations (growth)", second)
    if "kagid" in servers and "expired_logged" in (mem.get("kagid") or {}):
        row("conversations logged as expired (kagid auth log)",
            [str((mem.get(s) or {}).get("expired_logged", "–")) for s in servers])
    row("continuations after the wait: refused / still answered / unanswered", [
        "–" if not (mem.get(s) or {}).get("probe") else
        "{reject} / {challenge} / {none}".format(**mem[s]["probe"]) for s in servers])
    out += ["", "After the wait every server gets the same traffic: a third of the flood's "
            "conversations (plus 16), oldest first, are continued with their State (an "
            "EAP-TLS acknowledgement). FreeRADIUS 3 reaps expired EAP sessions only then — at "
            "most 3 per request that continues a conversation (rlm_eap `eaplist_find` → "
            "`eaplist_expire`), or when its table is full — so without such traffic an idle "
            "FreeRADIUS keeps a flood's sessions however short `timer_expire` is. kagid and "
            "hostapd expire on timers. A conversation still held would be answered (\"still "
            "answered\"); an expired one is refused or ignored.", "",
            "A second flood that barely grows RSS means the first flood's memory was freed "
            "and reused (the allocator kept it rather than returning it to the system); one "
            "that grows it again by as much would mean it leaked."]
    return "\n".join(out) + "\n"


def forged_table(data, servers):
    fg = data.get("forged") or {}
    if not fg and not data.get("forged_error"):
        return ""
    n = data.get("forged_count")
    out = ["### Cost of dropping a forged packet", "",
           f"A fresh server each (TLS 1.2 configuration), idle; then {n} Access-Requests per "
           "variant, each with its own Identifier, a random Request Authenticator and a random "
           "(wrong) Message-Authenticator, sent as fast as bench/flood.c goes (sendmmsg, 64 "
           "per call, 4 sockets; compiled with cc at run time). Server CPU: utime + stime of "
           "the whole process (nanosecond schedstat of its threads when no thread came or "
           "went) from before the flood until its socket's queue is empty, divided by the "
           "datagrams the kernel delivered to the server (the namespace's UDP InDatagrams) "
           "plus those a socket filter the server attached dropped for it (kagid attaches one "
           "during a flood from addresses that are not clients; the socket's drop counter "
           "minus the receive-buffer overflows). What overflowed the server's receive buffer "
           "is \"dropped by the kernel\" and cost the server nothing. The loopback receive path (IP/UDP in softirq) runs on the "
           "sender's CPU; the server pays for reading each datagram and deciding to drop it. "
           "The sender's own code costs next to nothing (its user time below); its kernel "
           "time is the send path plus that loopback delivery.", ""]
    if data.get("forged_error"):
        return "\n".join(out + [f"Not measured: {data['forged_error']}", ""]) + "\n"
    if not data.get("netns"):
        out += ["> Not in a private network namespace: the UDP counters include other traffic "
                "on this host, so \"received\" may be too high.", ""]
    # kagid -t 1, when measured, as an extra column after the peers (not in the ratio)
    servers = list(servers) + (["kagid_t1"] if "kagid_t1" in fg else [])
    names = dict(SERVER_NAMES, kagid_t1="kagid -t 1")
    out += ["| | " + " | ".join(names[s] for s in servers) + " | kagid / best peer |",
            "|---|" + "---|" * len(servers) + "---|"]

    def cell(s, v):
        return ((fg.get(s) or {}).get(v) or {})

    for v, src, what in FORGED_VARIANTS:
        vals = [cell(s, v).get("us_per_packet") for s in servers]
        k = vals[0] if servers[0] == "kagid" else None
        peers = [x for s, x in zip(servers, vals) if not s.startswith("kagid")]
        out.append(f"| {what} (from {src}): server CPU µs per packet ↓ | "
                   + " | ".join(fmt(x, 2) if x is not None else
                                ("error: " + (cell(s, v).get("error") or
                                              (fg.get(s) or {}).get("error", "–"))
                                 .splitlines()[0][:60] if cell(s, v).get("error") or
                                 (fg.get(s) or {}).get("error") else "–")
                                for s, x in zip(servers, vals))
                   + f" | {ratio(k, peers, False) if k is not None else ''} |")
        out.append("| received by the server / sent | " + " | ".join(
            f"{cell(s, v).get('received', '–')} / {cell(s, v).get('sent', '–')}"
            for s in servers) + " | |")
        out.append("| dropped by the kernel (receive buffer full) | " + " | ".join(
            str(cell(s, v).get("kernel_dropped", "–")) for s in servers) + " | |")
        out.append("| dropped by the server's own socket filter | " + " | ".join(
            str(cell(s, v).get("filtered", "–")) for s in servers) + " | |")
        out.append("| replies the server sent (should be 0) | " + " | ".join(
            str(cell(s, v).get("replies", "–")) for s in servers) + " | |")
        out.append("| sender: seconds, thousand packets/s | " + " | ".join(
            f"{fmt(cell(s, v).get('sender_s'), 3)}, "
            f"{fmt(cell(s, v)['sent'] / cell(s, v)['sender_s'] / 1000 if cell(s, v).get('sender_s') else None, 0)}"
            for s in servers) + " | |")

        def per_pkt(s, key):
            c = cell(s, v)
            return c[key] * 1e6 / c["sent"] if c.get("sent") and key in c else None
        out.append("| sender CPU µs per packet sent: user / kernel | " + " | ".join(
            f"{fmt(per_pkt(s, 'sender_user_s'))} / {fmt(per_pkt(s, 'sender_sys_s'))}"
            for s in servers) + " | |")
    out.append("| server threads | " + " | ".join(
        str((fg.get(s) or {}).get("threads", "–")) for s in servers) + " | |")
    out.append("| server CPU when idle, µs per second | " + " | ".join(
        fmt((fg.get(s) or {}).get("idle_cpu_us_per_s"), 0) for s in servers) + " | |")
    ticks = sorted({f"{names[s]} ({v})" for s in servers for v, _, _ in FORGED_VARIANTS
                    if cell(s, v).get("cpu_source") == "ticks"})
    if ticks:
        out += ["", "Threads came or went during " + ", ".join(ticks) + ": server CPU there is "
                "utime + stime in clock ticks (10 ms each), less precise."]
    k = cell("kagid", "bad_ma").get("us_per_packet") if "kagid" in servers else None
    ku = cell("kagid", "unknown").get("us_per_packet") if "kagid" in servers else None
    if k is not None:
        worst = max(x for x in (k, ku) if x is not None)
        out += ["", f"Target for kagid: ≤ 5 µs of server CPU per dropped packet — "
                + ("met" if worst <= 5 else "**not met**")
                + f" ({k:.2f} µs for a wrong Message-Authenticator"
                + (f", {ku:.2f} µs for an unknown client" if ku is not None else "")
                + f", kagid with its default {(fg.get('kagid') or {}).get('workers', '?')} "
                "worker threads)."]
    cu = cell("kagid", "unknown")
    if cu.get("filtered"):
        out += ["", f"Unknown client address: kagid read {cu.get('received')} of the "
                "datagrams itself: those before it saw a flood from addresses that are not "
                "clients and attached its socket filter, and then one in 256 (still logged; "
                f"they show when the flood ends). The kernel dropped the other {cu['filtered']} "
                "for it. Its clients' datagrams pass the filter."]
    if "kagid_t1" in fg:
        out += ["", "\"kagid -t 1\": the same with one worker thread. With more workers than "
                "the sender leaves cores for, each worker wakes up for fewer datagrams at a "
                "time, so the fixed cost of a wake-up (epoll_wait, the context switch) is "
                "spread over fewer packets; a server that is behind reads in batches and pays "
                "least per packet."]
    return "\n".join(out) + "\n"


def versions():
    def first(argv):
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=10)
            for line in r.stdout.split("\n"):
                if line.strip():
                    return line.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
        return "?"

    def deb(p):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        return r.stdout.strip() or "?"

    rev = first(["git", "-C", TOP, "describe", "--always", "--dirty", "--abbrev=10"])
    return {"kagid": f"kagi git {rev}", "freeradius": f"freeradius {deb('freeradius')}",
            "hostapd": f"hostapd {deb('hostapd')}", "eapol_test": f"eapoltest {deb('eapoltest')}",
            "openssl": first(["openssl", "version"])}


def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1048576:.1f} GiB"
    except OSError:
        pass
    return {"nproc": NPROC, "cpu": model, "kernel": platform.release(), "memory": mem,
            "os": first_line("/etc/debian_version")}


def first_line(path):
    try:
        return "Debian " + open(path).readline().strip()
    except OSError:
        return "?"


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


# ------------------------------------------------------------------------------------------


def report_only(path):
    """bench.py --report [results.json]: write RESULTS.md again from a saved run's data."""
    data = json.load(open(path))
    scen = [sc for sc in SCENARIOS if sc in data.get("scenarios", {})]
    servers = [s for s in SERVER_NAMES
               if any(s in (d or {}) for d in data["scenarios"].values())]
    results_md = env("BENCH_RESULTS", os.path.join(HERE, "RESULTS.md"))
    with open(results_md, "w") as f:
        f.write(report(data, servers, scen))
    log(f"wrote {os.path.relpath(results_md, TOP)} from {path}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--report":
        return report_only(sys.argv[2] if len(sys.argv) > 2 else os.path.join(OUT, "results.json"))
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    secs = float(env("BENCH_SECONDS", "10"))
    servers = env("BENCH_SERVERS", "kagid freeradius hostapd").split()
    scen = env("BENCH_SCENARIOS", "tls12 tls13 resume peap").split()
    for s in servers:
        if s not in SERVER_NAMES:
            raise SystemExit(f"unknown server {s} (kagid, freeradius, hostapd)")
    for s in scen:
        if s not in SCENARIOS:
            raise SystemExit(f"unknown scenario {s} ({', '.join(SCENARIOS)})")
    driver, cmd = pick_driver()
    conc = int(env("BENCH_CONCURRENCY", "64" if driver == "kagi" else str(2 * NPROC)))
    # load generator processes in the saturation cell (one event loop may not keep up)
    nproc_drv = int(env("BENCH_DRIVERS", "2" if driver == "kagi" else "1"))
    rate_fixed = env("BENCH_RATE", "")
    halfopen_n = int(env("BENCH_HALFOPEN", "800"))
    mtu = env("BENCH_MTU", "1400")
    speed_s = int(env("BENCH_SPEED_SECONDS", "2"))
    scaling = env("BENCH_SCALING", "1") == "1" and "kagid" in servers
    scaling_threads = [int(x) for x in env("BENCH_SCALING_THREADS", "1 2").split()]
    nocache = env("BENCH_NOCACHE", "1") == "1" and "kagid" in servers
    pin = env("BENCH_PIN", "0") == "1" and NPROC >= 2
    memory_on = env("BENCH_MEMORY", "1") == "1"
    memory_n = int(env("BENCH_MEMORY_FLOOD", "4000"))
    memory_wait = float(env("BENCH_MEMORY_MAX_WAIT", "70"))
    forged_n = int(env("BENCH_FORGED", "200000"))
    perf = env("BENCH_PERF", "0") == "1" and shutil.which("perf")
    results_md = env("BENCH_RESULTS", os.path.join(HERE, "RESULTS.md"))
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="kagi-bench.")
    keep = env("BENCH_KEEP", "0") == "1"
    started = datetime.datetime.now(datetime.timezone.utc)
    log(f"driver: {driver} ({' '.join(cmd)}); {secs:g} s per cell; concurrency {conc} "
        f"over {nproc_drv} load generator process(es); "
        f"servers: {' '.join(servers)}; scenarios: {' '.join(scen)}; work dir {work}")
    if driver == "eapol":
        log("stand-in driver: eapol_test costs ~10 ms CPU per authentication, so throughput "
            "numbers are the driver's limit, not the servers'")
    data = {"driver": driver, "concurrency": conc, "drivers": nproc_drv, "seconds": secs, "machine": machine(),
            "versions": versions(), "date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "netns": os.environ.get("BENCH_IN_NETNS") == "1", "scenarios": {}, "halfopen": {},
            "memory": {}, "forged": {}, "scaling": {}, "nocache": {}, "loadavg_start": loadavg()}
    try:
        if float(data["loadavg_start"]) > 0.25 * NPROC:
            log(f"warning: the machine is busy (load average {data['loadavg_start']} on {NPROC} "
                "CPUs); cells will be skewed. Each table shows other processes' CPU per cell.")
    except ValueError:
        pass
    try:
        pki = os.path.join(work, "pki")
        r = subprocess.run(["bash", os.path.join(TOP, "certs", "mkpki.sh"), "--test", pki],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise SystemExit("mkpki.sh failed:\n" + r.stdout)
        with open(os.path.join(pki, "ca+crl.pem"), "w") as f:
            f.write(open(os.path.join(pki, "ca.pem")).read() + open(os.path.join(pki, "ca.crl")).read())
        secret = "bench-" + secrets.token_hex(12)

        if speed_s > 0:
            log(f"openssl speed ({speed_s} s per measurement)")
            data["speed_ms"] = openssl_speed(speed_s)
        else:
            data["speed_ms"] = {}

        # memory per half-open conversation: a fresh server each, nothing else on it
        for s in servers:
            srv = None
            try:
                srv = Server(s, "tls12", os.path.join(work, "halfopen"), pki, secret)
                srv.start()
                r = subprocess.run([sys.executable, os.path.join(HERE, "halfopen.py"),
                                    "--port", str(srv.port), "--secret", secret,
                                    "--pid", str(srv.pid), "--count", str(halfopen_n),
                                    "--hello"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   timeout=120)
                try:
                    data["halfopen"][s] = json.loads(r.stdout.strip().split("\n")[-1])
                except ValueError:
                    data["halfopen"][s] = {"error": r.stdout.strip()[-300:]}
                log(f"half-open {s}: {data['halfopen'][s]}")
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                data["halfopen"][s] = {"error": str(e)}
                log(f"half-open {s}: {e}")
            finally:
                if srv:
                    srv.stop()

        # memory when idle, after a flood of half-open conversations, after they expired
        if memory_on:
            data["memory_flood"] = memory_n
            for s in servers:
                try:
                    data["memory"][s] = memory_cell(s, work, pki, secret, memory_n, memory_wait)
                except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                    data["memory"][s] = {"error": str(e)}
                log(f"memory {s}: {summary_memory(data['memory'][s])}")
            print(memory_table(data, servers), flush=True)

        # server CPU per forged packet dropped
        if forged_n > 0:
            data["forged_count"] = forged_n
            try:
                flood_bin = probes.build_flood(work)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                flood_bin = None
                data["forged_error"] = str(e)
                log(f"forged packets: {e}")
            cells = [(s, s, ()) for s in servers]
            if "kagid" in servers and NPROC > 1:
                cells.append(("kagid_t1", "kagid", ("-t", "1")))
            for key, s, argv in cells if flood_bin else ():
                try:
                    data["forged"][key] = forged_cell(s, work, pki, secret, flood_bin, forged_n,
                                                      argv)
                except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                    data["forged"][key] = {"error": str(e)}
                    log(f"forged {key}: {e}")
            print(forged_table(data, servers), flush=True)

        for sc in scen:
            d = data["scenarios"].setdefault(sc, {})
            srvs = {}
            sconc = conc
            if driver == "eapol" and SCENARIOS[sc]["resume"] and not env("BENCH_CONCURRENCY", ""):
                # eapol_test idles 100 ms between re-authentications: more runs in parallel
                sconc = conc * 8
            d["_conc"] = sconc
            log(f"== {SCENARIOS[sc]['title']}")
            try:
                for s in servers:
                    d[s] = {}
                    try:
                        srvs[s] = Server(s, sc, work, pki, secret)
                        srvs[s].start()
                        d[s]["port"] = srvs[s].port
                        d[s]["checks"] = checks(srvs[s], sc, pki)
                        log(f"{s} on 127.0.0.1:{srvs[s].port} pid {srvs[s].pid}; "
                            f"checks {d[s]['checks']}")
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        d[s]["error"] = str(e)
                        log(f"{s}: {e}")
                        if s in srvs:
                            srvs[s].stop()
                            del srvs[s]
                # saturation
                for s, srv in srvs.items():
                    w = run_driver(cmd, srv, sc, pki, ["--count", str(max(20, 2 * sconc)),
                                                       "--concurrency", str(sconc),
                                                       "--mtu", mtu], 120)
                    if not w.get("ok"):
                        d[s]["error"] = f"warm-up failed: {json.dumps(w)[:300]}"
                        log(f"{s}: {d[s]['error']}")
                        continue
                    time.sleep(0.5)
                    pf = os.path.join(OUT, f"perf-{sc}.data") if perf and s == "kagid" else None
                    d[s]["sat"] = measure(cmd, srv, sc, pki,
                                          ["--duration", f"{secs:g}", "--concurrency", str(sconc),
                                           "--mtu", mtu], secs * 3 + 60, pf, procs=nproc_drv)
                    log(f"{s} saturation: {summary(d[s]['sat'])}")
                    if pf and os.path.exists(pf):
                        with open(os.path.join(OUT, f"perf-{sc}.txt"), "w") as f:
                            for sort in ("dso", "dso,sym"):
                                f.flush()
                                subprocess.run(["perf", "report", "-i", pf, "--stdio",
                                                "--no-children", "-g", "none", "--sort", sort,
                                                "--percent-limit", "0.5"], stdout=f,
                                               stderr=subprocess.DEVNULL)
                sats = [d[s]["sat"]["auths_per_sec"] for s in srvs
                        if d[s].get("sat", {}).get("auths_per_sec")]
                if rate_fixed:
                    rate = float(rate_fixed)
                else:
                    rate = max(1, int(0.5 * min(sats))) if sats else 10
                d["_rate"] = rate
                # fixed offered load
                rconc = str(max(sconc, 256) if driver == "kagi" else max(sconc, 4 * NPROC))
                for s, srv in srvs.items():
                    if "sat" not in d[s]:
                        continue
                    # hostapd holds finished sessions 5 s (1000 at most): let them expire
                    time.sleep(max(0.5, d[s]["sat"].get("end", 0) + 6.0 - time.monotonic()))
                    d[s]["rate"] = measure(cmd, srv, sc, pki,
                                           ["--duration", f"{secs:g}", "--rate", f"{rate:g}",
                                            "--concurrency", rconc, "--mtu", mtu],
                                           secs * 3 + 60)
                    log(f"{s} at {rate:g}/s: {summary(d[s]['rate'])}")
                for s, srv in srvs.items():
                    d[s]["hwm_kb"] = srv.status_kb("VmHWM")
                    d[s]["threads"] = srv.status_kb("Threads")
            finally:
                for srv in srvs.values():
                    srv.stop()
                    for f in ("server.log",):
                        src = os.path.join(srv.dir, f)
                        if os.path.exists(src):
                            shutil.copy(src, os.path.join(OUT, f"{srv.kind}-{sc}.log"))
            print(scenario_table(sc, d, servers, d.get("_rate"), sconc, data["speed_ms"]),
                  flush=True)

        # kagid's thread scaling in the full-handshake scenarios
        if scaling:
            data["scaling_pinned"] = pin
            for sc in [x for x in scen if x in SCALING_SCENARIOS]:
                cells = data["scaling"].setdefault(sc, {})
                for t in scaling_threads:
                    try:
                        cells[str(t)] = scaling_cell(cmd, sc, t, work, pki, secret, conc,
                                                     nproc_drv, secs, mtu, pin and t == 1)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        cells[str(t)] = {"error": str(e)}
                    log(f"kagid -t {t} {sc} saturation: {summary(cells[str(t)])}")
            print(scaling_table(data), flush=True)

        # kagid verifying every client chain (chain_cache_size = 0), the work the peers do
        if nocache:
            for sc in [x for x in scen if x in ("tls12", "tls13")]:
                try:
                    data["nocache"][sc] = scaling_cell(cmd, sc, None, work, pki, secret, conc,
                                                       nproc_drv, secs, mtu, False,
                                                       conf_args=("--chain-cache", "0"))
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    data["nocache"][sc] = {"error": str(e)}
                log(f"kagid chain_cache_size=0 {sc} saturation: {summary(data['nocache'][sc])}")
            print(nocache_table(data, servers), flush=True)
    finally:
        stop_all()
        data["seconds_total"] = round((datetime.datetime.now(datetime.timezone.utc) -
                                       started).total_seconds())
        data["loadavg_end"] = loadavg()
        with open(os.path.join(OUT, "results.json"), "w") as f:
            json.dump(data, f, indent=1)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")
    md = report(data, servers, scen)
    with open(results_md, "w") as f:
        f.write(md)
    log(f"wrote {os.path.relpath(results_md, TOP)} and bench/out/results.json "
        f"({data['seconds_total']} s)")


def summary(r):
    if "error" in r:
        return r["error"]
    return (f"{r.get('ok')} ok / {r.get('failed')} failed, {r.get('auths_per_sec')} auths/s, "
            f"p99 {r.get('latency_ms', {}).get('p99')} ms, server {r.get('server_cpu_ms_per_auth')} "
            f"ms/auth ({r.get('server_util_pct')}% CPU), rounds {r.get('rounds_per_auth')}"
            + (f", failures {r.get('failures')}" if r.get("failures") else ""))


def targets_table(data, servers, scen):
    """Issue 5's targets, each with what this run measured and whether that meets it."""
    if "kagid" not in servers:
        return ""
    peers = [s for s in servers if s != "kagid"]
    sc_data = data.get("scenarios") or {}
    full = [sc for sc in scen if sc in ("tls12", "tls13", "peap") and sc in sc_data]
    short = {"tls12": "TLS 1.2", "tls13": "TLS 1.3", "resume": "resumed", "peap": "PEAP"}
    rows = []

    def cell(srv, sc, c, key):
        r = (sc_data.get(sc) or {}).get(srv, {}).get(c)
        if not r or "error" in r or (key == "server_cpu_ms_per_auth" and
                                     r.get("server_cpu_ms_per_auth_polluted")):
            return None
        return r.get(key)

    def add(target, parts, met):
        """parts: [(label, text, ok or None)]; met: None when nothing was measured."""
        mark = {True: " ✓", False: " ✗", None: ""} if len(parts) > 1 else {}
        txt = "; ".join((f"{lab} {t}" if lab else t) + mark.get(ok, "")
                        for lab, t, ok in parts) or "not measured"
        n_ok = sum(1 for _, _, ok in parts if ok)
        n = sum(1 for _, _, ok in parts if ok is not None)
        verdict = "–" if met is None else ("**met**" if met else
                                           "not met" + (f" ({n_ok} of {n})" if n > 1 else ""))
        rows.append(f"| {target} | {txt} | {verdict} |")

    def verdict(parts):
        oks = [ok for _, _, ok in parts if ok is not None]
        return None if not oks else all(oks)

    def vs_peers(key, c, higher, limit, sc_list):
        parts = []
        for sc in sc_list:
            k = cell("kagid", sc, c, key)
            pv = [v for v in (cell(p, sc, c, key) for p in peers) if v]
            if k is None or not pv:
                continue
            r = k / (max(pv) if higher else min(pv))
            parts.append((short[sc], f"{r:.2f}", r >= limit if higher else r <= limit))
        return parts

    p = vs_peers("server_cpu_ms_per_auth", "sat", False, 1 / 3, scen)
    add("Server CPU per auth ≤ 1/3 of the best peer's, at saturation (kagid / best peer)", p,
        verdict(p))
    p = vs_peers("server_cpu_ms_per_auth", "rate", False, 1 / 3, scen)
    add("… and at the fixed offered rate", p, verdict(p))
    sp = data.get("speed_ms") or {}
    p = []
    for sc in full:
        k, fl = cell("kagid", sc, "sat", "server_cpu_ms_per_auth"), crypto_floor(sp, sc, "server") if sp else None
        if k and fl:
            p.append((short[sc], f"{k / fl:.1f}× ({k:.2f} / {fl:.2f} ms)", k / fl <= 1.5))
    add("Server CPU per full handshake within 1.5× of the public-key crypto floor", p, verdict(p))
    p = vs_peers("auths_per_sec", "sat", True, 3.0, scen)
    add("Throughput at saturation ≥ 3× the best peer's (kagid / best peer)", p, verdict(p))
    p = []
    for sc, cells in (data.get("scaling") or {}).items():
        c1, c2 = (cells or {}).get("1") or {}, (cells or {}).get("2") or {}
        if c1.get("auths_per_sec") and c2.get("auths_per_sec"):
            r = c2["auths_per_sec"] / c1["auths_per_sec"]
            p.append((short.get(sc, sc), f"{r:.2f}", r >= 1.8))
    add("2 worker threads ≥ 1.8× one (throughput, -t 2 / -t 1)", p, verdict(p))
    k = cell("kagid", "resume", "sat", "server_cpu_ms_per_auth")
    p = [("", f"{k:.2f} ms at saturation", k <= 0.15)] if k is not None else []
    add("Resumed authentication ≤ 0.15 ms of server CPU", p, verdict(p))
    p = []
    for sc in scen:
        k = cell("kagid", sc, "sat", "rounds_per_auth")
        pv = [v for v in (cell(x, sc, "sat", "rounds_per_auth") for x in peers) if v]
        if k and pv:
            p.append((short[sc], f"{k:.2f} vs {min(pv):.2f}", k <= min(pv) - 1 + 0.05))
    add(f"Round trips one fewer than the best peer's at Framed-MTU "
        f"{os.environ.get('BENCH_MTU', '1400')}", p, verdict(p))
    cl = [(sc, cell("kagid", sc, "sat", "client_cpu_ms_per_auth")) for sc in scen]
    cl = [(sc, v) for sc, v in cl if v is not None]
    p = [("", f"at most {max(v for _, v in cl):.2f} ms ("
          + ", ".join(f"{short[sc]} {v:.2f}" for sc, v in cl) + ")",
          max(v for _, v in cl) <= 1.0)] if cl else []
    add("`kagi bench` ≤ 1 ms of client CPU per authentication", p, verdict(p))
    nproc = (data.get("machine") or {}).get("nproc") or NPROC
    p = []
    for sc in full:
        c, fr = cell("kagid", sc, "sat", "client_cpu_ms_per_auth"), cell("freeradius", sc, "sat", "auths_per_sec")
        if c and fr:
            cap = int(nproc) * 1000.0 / c
            p.append((short[sc], f"{cap:.0f}/s = {cap / fr:.1f}× FreeRADIUS's {fr:.0f}/s",
                      cap / fr >= 3.0))
    add(f"`kagi bench` can drive ≥ 3× the full-handshake rate FreeRADIUS sustains (its own "
        f"ceiling on this machine: {nproc} cores × 1000 / its CPU ms per auth)", p, verdict(p))
    ho = (data.get("halfopen") or {}).get("kagid") or {}
    kb = ho.get("kb_per_session")
    p = [("", f"{kb:.2f} KiB (after its ClientHello, with the TLS library's handshake state: "
          f"{fmt(ho.get('kb_per_session_after_hello'))} KiB)", kb <= 16)] if kb is not None else []
    add("≤ 16 KiB per half-open session", p, verdict(p))
    mem = (data.get("memory") or {}).get("kagid") or {}
    idle = (mem.get("idle") or {}).get("rss_kb")
    after = (mem.get("after_expiry") or {}).get("rss_kb")
    p = [("", f"{idle / 1024:.1f} MB", idle <= 9 * 1024)] if idle else []
    add("Idle RSS ≤ 9 MB", p, verdict(p))
    p = ([("", f"{after / 1024:.1f} MB after the flood expired, idle {idle / 1024:.1f} MB "
           f"({100.0 * (after - idle) / idle:+.0f} %)", after - idle <= max(1024, 0.1 * idle))]
         if idle and after else [])
    add("RSS returns near its baseline after sessions expire (within 10 % or 1 MB)", p,
        verdict(p))
    fg = (data.get("forged") or {}).get("kagid") or {}
    p = []
    for key, lab in (("bad_ma", "wrong Message-Authenticator"), ("unknown", "unknown address")):
        v = (fg.get(key) or {}).get("us_per_packet")
        if v is not None:
            p.append((lab, f"{v:.2f} µs", v <= 5.0))
    add("Dropping a forged packet ≤ 5 µs of server CPU", p, verdict(p))
    return ("### Targets at a glance\n\nThe speed targets of issue 5 against this run (details in "
            "the tables below).\n\n| target | measured | |\n|---|---|---|\n" + "\n".join(rows)
            + "\n")


def report(data, servers, scen):
    m, v = data["machine"], data["versions"]
    env_used = " ".join(f"{k}={os.environ[k]}" for k in sorted(os.environ)
                        if k.startswith("BENCH_") and k not in ("BENCH_IN_NETNS",))
    cmd = "make bench" + (f" {env_used}" if env_used else "")
    out = [
        "# kagi benchmark results",
        "",
        "Written by `make bench` (bench/run.sh → bench/bench.py); see bench/README.md for what is",
        "measured and how each server is configured. Every number below comes from one run on",
        "loopback in a private network namespace; rerun to compare on your machine.",
        "",
        f"- Date: {data['date']} (run took {data.get('seconds_total', '?')} s)",
        f"- Command: `{cmd}`",
        f"- Machine: {m['nproc']} CPUs, {m['cpu']}, {m['memory']} RAM, kernel {m['kernel']}, "
        f"{m['os']}; load average {data.get('loadavg_start')} at start, "
        f"{data.get('loadavg_end')} at end",
        f"- Servers: {v['kagid']}; {v['freeradius']}; {v['hostapd']} (integrated RADIUS "
        f"server); {v['openssl']}",
        f"- Load generator: " + ("`kagi bench` (bin/kagi)" if data["driver"] == "kagi" else
                                 f"**stand-in** bench/eapol_driver.py ({v['eapol_test']}, one "
                                 "eapol_test process per conversation)")
        + f"; {data['seconds']:g} s per cell; saturation at concurrency {data['concurrency']} "
          f"spread over {data.get('drivers', 1)} load generator process(es) (BENCH_DRIVERS); "
          "the latency cell offers a fixed rate (open loop) of half the slowest server's "
          "saturation throughput in that scenario, the same rate for every server",
        f"- Network namespace: {'yes (unshare -n), loopback only' if data['netns'] else 'no (host loopback, free ports)'}",
        "",
    ]
    other = [c.get("other_cores") or 0 for d in data["scenarios"].values()
             for x in d.values() if isinstance(x, dict)
             for c in (x.get("sat") or {}, x.get("rate") or {})]
    other += [c.get("other_cores") or 0 for cells in (data.get("scaling") or {}).values()
              for c in cells.values()]
    if other and max(other) > 0.2:
        out += [f"> **Busy machine.** Other processes used up to {max(other):.2f} of {m['nproc']} "
                "cores during some cells (row \"other processes\"): those cells are skewed, "
                "throughput most of all. Rerun on an idle machine for numbers to quote.", ""]
    reduced = [x for x in (
        f"{data['seconds']:g} s cells instead of 10" if data["seconds"] < 10 else "",
        "scenarios: " + " ".join(scen) if scen != ["tls12", "tls13", "resume", "peap"] else "",
        "servers: " + " ".join(servers) if servers != ["kagid", "freeradius", "hostapd"] else "")
        if x]
    if reduced:
        out += [f"> **Reduced run** ({'; '.join(reduced)}): fine for checking the harness; "
                "rerun `make bench` with the defaults for numbers to quote.", ""]
    if data["driver"] == "eapol":
        out += ["> **Stand-in driver.** eapol_test spends ~10 ms of CPU per full authentication "
                "(7.7 ms of it start-up) on the same cores as the server, so \"auths/s at "
                "saturation\" is the driver's ceiling and latency includes process start-up. "
                "Server CPU per auth, round trips, memory and the correctness checks are "
                "meaningful; throughput and latency comparisons are not.", ""]
    tt = targets_table(data, servers, scen)
    if tt:
        out += [tt]
    out += ["Ratios: kagid / best peer; for ↑ rows above 1 is better, for ↓ rows below 1 is "
            "better. Server CPU is utime+stime of the whole process (all threads) from "
            "/proc/PID/stat over the cell, divided by successful authentications.", ""]
    for sc in scen:
        d = data["scenarios"].get(sc)
        if d is None:
            continue
        out.append(scenario_table(sc, d, servers, d.get("_rate"), d.get("_conc", data["concurrency"]),
                                  data.get("speed_ms")))
    for t in (scaling_table(data), nocache_table(data, servers)):
        if t:
            out.append(t)
    out += ["### Memory per half-open conversation", "",
            f"A fresh server each; {os.environ.get('BENCH_HALFOPEN', '800')} conversations sent "
            "EAP-Response/Identity and got their first Access-Challenge, then stopped (the "
            "server must keep their state). VmRSS after minus before, per conversation. Then "
            "each sent its EAP-TLS ClientHello (an OpenSSL client's, TLS 1.2 and 1.3 offered), "
            "got the server's first flight and stopped again: the server now also holds the TLS "
            "library's handshake state (bench/halfopen.py --hello; per conversation from the "
            "same baseline).", "",
            "| | " + " | ".join(SERVER_NAMES[s] for s in servers) + " | kagid / best peer |",
            "|---|" + "---|" * len(servers) + "---|"]
    ho = data.get("halfopen", {})
    vals = [ho.get(s, {}).get("kb_per_session") for s in servers]
    k = vals[0] if servers and servers[0] == "kagid" else None
    out.append("| KB per half-open conversation ↓ | " + " | ".join(fmt(x) for x in vals) + " | "
               + (ratio(k, vals[1:], False) if k is not None else "") + " |")
    out.append("| conversations answered / dropped | " + " | ".join(
        f"{ho.get(s, {}).get('sessions', '–')} / {ho.get(s, {}).get('dropped', '–')}"
        for s in servers) + " | |")
    vals = [ho.get(s, {}).get("kb_per_session_after_hello") for s in servers]
    k = vals[0] if servers and servers[0] == "kagid" else None
    out.append("| KB per conversation stalled after its ClientHello (TLS handshake state too) ↓ | "
               + " | ".join(fmt(x) for x in vals) + " | "
               + (ratio(k, vals[1:], False) if k is not None else "") + " |")
    out.append("| ClientHellos answered / refused | " + " | ".join(
        f"{ho.get(s, {}).get('hello_answered', '–')} / {ho.get(s, {}).get('hello_refused', '–')}"
        for s in servers) + " | |")
    for t in (memory_table(data, servers), forged_table(data, servers)):
        if t:
            out += ["", t.rstrip("\n")]
    sp = data.get("speed_ms") or {}
    if sp:
        out += ["", "### Public-key operations (openssl speed, one core)", "",
                "| operation | ms |", "|---|---|"]
        names = {"rsa_sign": "RSA-2048 sign", "rsa_verify": "RSA-2048 verify",
                 "ecdsa_sign": "ECDSA P-256 sign", "ecdsa_verify": "ECDSA P-256 verify",
                 "ecdh_p256": "ECDH P-256 derive", "x25519": "X25519 derive"}
        for key, name in names.items():
            if key in sp:
                out.append(f"| {name} | {sp[key]:.4f} |")
        out += ["", "| handshake | server ms | client ms | operations |", "|---|---|---|---|"]
        for sc in scen:
            fs, fc = crypto_floor(sp, sc, "server"), crypto_floor(sp, sc, "client")
            out.append(f"| {SCENARIOS[sc]['title']} | {fmt(fs, 3)} | {fmt(fc, 3)} | "
                       f"{HANDSHAKE_OPS[sc]['what']} |")
        out += ["", "The key exchange is counted as X25519 (key generation + derivation on each "
                "side, one derive's cost each), the group OpenSSL clients offer first. The "
                "difference between a server's CPU per auth and the server floor is what it "
                "spends on everything else: TLS record and hash work, EAP/RADIUS, policy, "
                "logging, allocation, system calls."]
    out += ["", "Raw data of this run: bench/out/results.json (not committed); server logs in "
            "bench/out/*.log.", ""]
    return "\n".join(out)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
    except SystemExit:
        stop_all()
        raise
