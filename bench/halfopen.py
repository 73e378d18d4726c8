#!/usr/bin/env python3
"""bench/halfopen.py: memory held per half-open EAP conversation.

    halfopen.py --port PORT --secret SECRET --pid PID [--count N] [--identity ID]

Opens N conversations that stop after the first round (Access-Request with EAP-Response/
Identity and Message-Authenticator; the server answers with an Access-Challenge and has to keep
the conversation's state), and reports the server's resident memory before and after, as JSON:
  {"sessions": answered, "dropped": n, "rss_before_kb": .., "rss_after_kb": ..,
   "kb_per_session": ..}
A short warm-up of 50 conversations comes first, so that one-time allocations (first session
table page, first SSL objects, thread stacks) are not charged to the sessions. Each
conversation has its own Calling-Station-Id; requests go out from several sockets so that
RADIUS identifiers never repeat on one source port. Bounded: every reply is waited for at most
2 seconds, once.
"""

import argparse
import hashlib
import hmac
import json
import os
import select
import socket
import struct
import sys
import time

A_USER_NAME, A_NAS_IP, A_FRAMED_MTU, A_CALLING, A_EAP, A_MA, A_NAS_PORT_TYPE = 1, 4, 12, 31, 79, 80, 61


def attr(t, v):
    return bytes([t, len(v) + 2]) + v


def request(rid, secret, identity, mac):
    eap = struct.pack("!BBH", 2, 0, 5 + len(identity)) + b"\x01" + identity
    auth = os.urandom(16)
    attrs = (attr(A_MA, bytes(16)) + attr(A_USER_NAME, identity) +
             attr(A_NAS_IP, socket.inet_aton("127.0.0.1")) + attr(A_CALLING, mac) +
             attr(A_FRAMED_MTU, struct.pack("!I", 1400)) +
             attr(A_NAS_PORT_TYPE, struct.pack("!I", 19)) + attr(A_EAP, eap))
    pkt = bytearray(struct.pack("!BBH", 1, rid, 20 + len(attrs)) + auth + attrs)
    pkt[22:38] = hmac.new(secret, bytes(pkt), hashlib.md5).digest()
    return bytes(pkt)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def run(port, secret, identity, count, start):
    """Open count conversations; return how many were answered with an Access-Challenge."""
    per_sock = 200
    socks = []
    answered = 0
    i = 0
    while i < count:
        n = min(per_sock, count - i)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.connect(("127.0.0.1", port))
        socks.append(s)
        pending = set()
        for rid in range(n):
            k = start + i + rid
            mac = ("02-%02X-%02X-%02X-%02X-%02X" % (0xbe, (k >> 24) & 255, (k >> 16) & 255,
                                                    (k >> 8) & 255, k & 255)).encode()
            s.send(request(rid, secret, identity, mac))
            pending.add(rid)
            if rid % 32 == 31:
                answered += drain(s, pending, 0.0)
        answered += drain(s, pending, 2.0)
        i += n
    for s in socks:
        s.close()
    return answered


def drain(s, pending, wait):
    got = 0
    end = time.monotonic() + wait
    while pending:
        left = end - time.monotonic()
        r, _, _ = select.select([s], [], [], max(0.0, left))
        if not r:
            break
        data = s.recv(4096)
        if len(data) >= 20 and data[0] == 11 and data[1] in pending:
            pending.discard(data[1])
            got += 1
    return got


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--count", type=int, default=800)
    p.add_argument("--identity", default="alice@example.org")
    a = p.parse_args()
    secret, ident = a.secret.encode(), a.identity.encode()
    warm = run(a.port, secret, ident, 50, 0)
    time.sleep(0.5)
    before = rss_kb(a.pid)
    got = run(a.port, secret, ident, a.count, 1000)
    time.sleep(0.5)
    after = rss_kb(a.pid)
    res = {"sessions": got, "dropped": a.count - got, "warmup_answered": warm,
           "rss_before_kb": before, "rss_after_kb": after,
           "kb_per_session": round((after - before) / got, 2) if got and before and after else None}
    print(json.dumps(res))
    return 0 if got else 1


if __name__ == "__main__":
    sys.exit(main())
