"""bench/probes.py: what bench.py reads about a running server and the network namespace.

- Memory of a process: VmRSS / VmHWM (/proc/PID/status) and Rss / Pss (/proc/PID/smaps_rollup;
  PSS charges shared pages — libc, libssl, libcrypto text — to the processes mapping them in
  proportion, so a small process linked against big shared libraries is not charged all of
  them).
- CPU time of a process: utime + stime from /proc/PID/stat (clock ticks, 10 ms, but includes
  threads that have exited), and the nanosecond run time of each live thread from
  /proc/PID/task/TID/schedstat (exact, but a thread that exited takes its time with it). The
  drop-cost cell uses the nanosecond sum when the set of threads did not change, else ticks.
- The kernel's UDP counters of the network namespace (/proc/net/snmp, "Udp:"): InDatagrams
  (delivered to a socket), RcvbufErrors (dropped because a socket's receive buffer was full),
  OutDatagrams. In the namespace bench/run.sh creates, only the harness's traffic moves them.
- One UDP socket's receive queue and drop count (/proc/net/udp, by local port).
- The forged-packet sender (bench/flood.c), compiled with cc into the work directory.

Nothing here starts a server; every function is a bounded read or a bounded child process.
"""

import json
import os
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))


def status_kb(pid, key):
    """A "key: N kB" line of /proc/PID/status, in KB (None if absent)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def smaps_rollup_kb(pid):
    """{"Rss": KB, "Pss": KB, ...} from /proc/PID/smaps_rollup ({} if unreadable)."""
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[0].endswith(":") and parts[2] == "kB":
                    out[parts[0][:-1]] = int(parts[1])
    except OSError:
        pass
    return out


def memory(pid):
    """VmRSS, VmHWM, Rss/Pss (and their anonymous / file parts) of a process, in KB."""
    r = smaps_rollup_kb(pid)
    return {"rss_kb": status_kb(pid, "VmRSS"), "hwm_kb": status_kb(pid, "VmHWM"),
            "pss_kb": r.get("Pss"), "pss_anon_kb": r.get("Pss_Anon"),
            "pss_file_kb": r.get("Pss_File"), "rss_anon_kb": status_kb(pid, "RssAnon"),
            "rss_file_kb": status_kb(pid, "RssFile"), "threads": status_kb(pid, "Threads")}


def cpu_ticks_s(pid):
    """utime + stime of the whole process (all threads, live or exited), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_threads_ns(pid):
    """{tid: nanoseconds on CPU} for the live threads of a process (schedstat)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                out[int(tid)] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return out


def cpu_snapshot(pid):
    return {"ticks_s": cpu_ticks_s(pid), "threads_ns": cpu_threads_ns(pid)}


def cpu_delta_s(a, b):
    """CPU seconds between two snapshots, and how it was measured ("schedstat" when the same
    threads lived at both ends, so the nanosecond sum is complete; else "ticks")."""
    ta, tb = a["threads_ns"], b["threads_ns"]
    if ta and set(ta) == set(tb):
        return sum(tb[t] - ta[t] for t in tb) / 1e9, "schedstat"
    return b["ticks_s"] - a["ticks_s"], "ticks"


def udp_counters():
    """The "Udp:" counters of /proc/net/snmp (this network namespace) as a dict."""
    with open("/proc/net/snmp") as f:
        lines = [line.split() for line in f if line.startswith("Udp:")]
    if len(lines) < 2:
        return {}
    return {k: int(v) for k, v in zip(lines[0][1:], lines[1][1:])}


def udp_socket(port):
    """{"rx_queue": bytes, "drops": n} of the IPv4 UDP socket bound to a local port (summed
    over sockets sharing it), or None."""
    found = None
    try:
        with open("/proc/net/udp") as f:
            for line in f.readlines()[1:]:
                p = line.split()
                if int(p[1].rsplit(":", 1)[1], 16) != port:
                    continue
                found = found or {"rx_queue": 0, "drops": 0}
                found["rx_queue"] += int(p[4].split(":")[1], 16)
                found["drops"] += int(p[-1])
    except (OSError, ValueError, IndexError):
        return None
    return found


def wait_rx_empty(port, limit_s=10.0):
    """Wait until the server's socket has read everything queued (bounded); True if it did."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        s = udp_socket(port)
        if s is None or s["rx_queue"] == 0:
            return True
        time.sleep(0.02)
    return False


def build_flood(workdir):
    """Compile bench/flood.c into workdir; return the binary's path, or raise RuntimeError."""
    cc = os.environ.get("CC", "cc")
    out = os.path.join(workdir, "flood")
    r = subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-o", out, os.path.join(HERE, "flood.c")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{cc} bench/flood.c failed: {r.stdout.strip()[-300:]}")
    return out


def run_flood(binary, port, src, count, template, ma_offset, sockets=4, preexec=None,
              timeout=120):
    """Send count forged datagrams (see flood.c); return its JSON, plus the sender's CPU."""
    t0 = os.times()
    r = subprocess.run([binary, "127.0.0.1", str(port), src, str(count), str(sockets),
                        template.hex(), str(ma_offset)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, preexec_fn=preexec)
    t1 = os.times()
    if r.returncode != 0:
        raise RuntimeError(f"flood exit {r.returncode}: {r.stderr.strip()[-300:]}")
    res = json.loads(r.stdout.strip().split("\n")[-1])
    res["sender_user_s"] = round(t1.children_user - t0.children_user, 3)
    res["sender_sys_s"] = round(t1.children_system - t0.children_system, 3)
    res["sender_cpu_s"] = round(res["sender_user_s"] + res["sender_sys_s"], 3)
    return res
