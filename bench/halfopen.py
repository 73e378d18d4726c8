#!/usr/bin/env python3
"""bench/halfopen.py: memory held per half-open EAP conversation.

    halfopen.py --port PORT --secret SECRET --pid PID [--count N] [--identity ID] [--hello]

Opens N conversations that stop after the first round (Access-Request with EAP-Response/
Identity and Message-Authenticator; the server answers with an Access-Challenge and has to keep
the conversation's state), and reports the server's resident memory before and after, as JSON:
  {"sessions": answered, "dropped": unanswered, "rejected": answered otherwise,
   "rss_before_kb": .., "rss_after_kb": .., "kb_per_session": ..}
With --hello, each conversation then sends its EAP-TLS ClientHello, and the memory per
conversation is measured again: a conversation stalled in the middle of its TLS handshake, which
also holds the TLS library's handshake state ("kb_per_session_after_hello", from the same
baseline). A short warm-up of 50 conversations comes first, so that one-time allocations (first session
table page, first SSL objects, thread stacks) are not charged to the sessions. Each
conversation has its own Calling-Station-Id; requests go out from several sockets so that
RADIUS identifiers never repeat on one source port. Bounded: every reply is waited for at most
2 seconds, once. bench.py also imports run() and probe() for its memory cell (flood, expiry).
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

A_USER_NAME, A_NAS_IP, A_FRAMED_MTU, A_STATE, A_CALLING, A_EAP, A_MA, A_NAS_PORT_TYPE = \
    1, 4, 12, 24, 31, 79, 80, 61


def attr(t, v):
    return bytes([t, len(v) + 2]) + v


def mac_of(k):
    """The Calling-Station-Id of conversation k."""
    return ("02-%02X-%02X-%02X-%02X-%02X" % (0xbe, (k >> 24) & 255, (k >> 16) & 255,
                                             (k >> 8) & 255, k & 255)).encode()


def request(rid, secret, identity, mac, state=None, eap=None):
    """An Access-Request with Message-Authenticator (first, at offset 22): by default the
    conversation's first (EAP-Response/Identity); with state and eap, a later round."""
    if eap is None:
        eap = struct.pack("!BBH", 2, 0, 5 + len(identity)) + b"\x01" + identity
    auth = os.urandom(16)
    attrs = (attr(A_MA, bytes(16)) + attr(A_USER_NAME, identity) +
             attr(A_NAS_IP, socket.inet_aton("127.0.0.1")) + attr(A_CALLING, mac) +
             attr(A_FRAMED_MTU, struct.pack("!I", 1400)) +
             attr(A_NAS_PORT_TYPE, struct.pack("!I", 19)) +
             b"".join(attr(A_EAP, eap[i:i + 253]) for i in range(0, len(eap), 253)) +
             (attr(A_STATE, state) if state is not None else b""))
    pkt = bytearray(struct.pack("!BBH", 1, rid, 20 + len(attrs)) + auth + attrs)
    pkt[22:38] = hmac.new(secret, bytes(pkt), hashlib.md5).digest()
    return bytes(pkt)


def reply_state(data):
    """(State, EAP Identifier) of an Access-Challenge, or None."""
    state, eap_id, i = None, None, 20
    while i + 2 <= len(data):
        t, n = data[i], data[i + 1]
        if n < 2:
            break
        if t == A_STATE:
            state = data[i + 2:i + n]
        elif t == A_EAP and eap_id is None and n >= 4:
            eap_id = data[i + 3]
        i += n
    return (state, eap_id) if state is not None and eap_id is not None else None


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def _exchange(port, secret, packets, stats, states=None):
    """Send (k, build(rid)) requests, 200 per socket (so Identifiers never repeat on one source
    port), each waited for at most 2 s once. Counts reply codes in stats ("challenge",
    "reject" for any other code, "none"); with states, keeps each challenged conversation's
    (State, EAP Identifier) under k."""
    for key in ("challenge", "reject", "none"):
        stats.setdefault(key, 0)
    socks = []
    for first in range(0, len(packets), 200):
        chunk = packets[first:first + 200]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.connect(("127.0.0.1", port))
        socks.append(s)
        pending = {}
        for rid, (k, build) in enumerate(chunk):
            s.send(build(rid))
            pending[rid] = k
            if rid % 32 == 31:
                drain(s, pending, 0.0, stats, states)
        drain(s, pending, 2.0, stats, states)
        stats["none"] += len(pending)
    for s in socks:
        s.close()


def run(port, secret, identity, count, start, stats=None, states=None):
    """Open count conversations (numbered start, start + 1, ...); return how many were answered
    with an Access-Challenge. Other answers (hostapd's Access-Reject past its 1000 sessions)
    are counted in stats["rejected"] when stats is given; they end the wait for that request
    too. With states (a dict), each challenged conversation's State is kept for probe()."""
    st = {}
    _exchange(port, secret, [(k, (lambda rid, k=k: request(rid, secret, identity, mac_of(k))))
                             for k in range(start, start + count)], st, states)
    if stats is not None:
        stats["rejected"] = stats.get("rejected", 0) + st["reject"]
    return st["challenge"]


def probe(port, secret, identity, states, keys):
    """Continue conversations opened by run(): for each k in keys, one more round with its
    State (an EAP-TLS acknowledgement, RFC 5216 §2.1.5: flags 0, no data). A conversation the
    server still holds would go on (Access-Challenge); an expired one is refused. Returns
    {"challenge": n, "reject": n, "none": n}."""
    st = {}

    def build(rid, k):
        state, eap_id = states[k]
        return request(rid, secret, identity, mac_of(k), state,
                       struct.pack("!BBHBB", 2, eap_id, 6, 13, 0))
    _exchange(port, secret, [(k, (lambda rid, k=k: build(rid, k))) for k in keys], st)
    return st


def client_hello():
    """A TLS ClientHello as an OpenSSL client sends it (Python's ssl, memory BIOs): TLS 1.2 and
    1.3 offered, no certificate check (the handshake never gets that far)."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def hello_round(port, secret, identity, states, keys):
    """Continue conversations opened by run() with their EAP-TLS ClientHello (RFC 5216 §2.1.1):
    the server starts the TLS handshake, answers with its first flight (or its first fragment)
    and must now hold the handshake's state too. Returns {"challenge": n, ...} like probe()."""
    ch, st = client_hello(), {}

    def build(rid, k):
        state, eap_id = states[k]
        return request(rid, secret, identity, mac_of(k), state,
                       struct.pack("!BBHBB", 2, eap_id, 6 + len(ch), 13, 0) + ch)
    _exchange(port, secret, [(k, (lambda rid, k=k: build(rid, k))) for k in keys], st)
    return st


def drain(s, pending, wait, st, states=None):
    end = time.monotonic() + wait
    while pending:
        left = end - time.monotonic()
        r, _, _ = select.select([s], [], [], max(0.0, left))
        if not r:
            break
        data = s.recv(4096)
        if len(data) < 20 or data[1] not in pending:
            continue
        k = pending.pop(data[1])
        if data[0] == 11:
            st["challenge"] += 1
            if states is not None:
                rs = reply_state(data)
                if rs:
                    states[k] = rs
        else:
            st["reject"] += 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--count", type=int, default=800)
    p.add_argument("--identity", default="alice@example.org")
    p.add_argument("--hello", action="store_true",
                   help="then send each conversation's ClientHello and measure again")
    a = p.parse_args()
    secret, ident = a.secret.encode(), a.identity.encode()
    st, states = {}, {}
    warm_states = {}
    warm = run(a.port, secret, ident, 50, 0, states=warm_states)
    if a.hello:  # the first SSL objects, buffers and handshake keys are one-time costs too
        hello_round(a.port, secret, ident, warm_states, list(warm_states))
    time.sleep(0.5)
    before = rss_kb(a.pid)
    got = run(a.port, secret, ident, a.count, 1000, st, states)
    time.sleep(0.5)
    after = rss_kb(a.pid)
    res = {"sessions": got, "dropped": a.count - got - st["rejected"],
           "rejected": st["rejected"], "warmup_answered": warm,
           "rss_before_kb": before, "rss_after_kb": after,
           "kb_per_session": round((after - before) / got, 2) if got and before and after else None}
    if a.hello:
        hs = hello_round(a.port, secret, ident, states, list(states))
        time.sleep(0.5)
        after_hello = rss_kb(a.pid)
        res.update({"hello_answered": hs["challenge"], "hello_refused": hs["reject"],
                    "rss_after_hello_kb": after_hello,
                    "kb_per_session_after_hello":
                        round((after_hello - before) / hs["challenge"], 2)
                        if hs["challenge"] and before and after_hello else None})
    print(json.dumps(res))
    return 0 if got else 1


if __name__ == "__main__":
    sys.exit(main())
