#!/usr/bin/env python3
"""raw_radius.py: raw-packet tests of kagid's RADIUS layer (Python 3 standard library only).

A small RADIUS / EAP / EAP-TLS packet builder (RFC 2865, 2869, 3579, 5080, 5997, 3748, 5216)
and the test cases run against a kagid that tests/integration/test_raw.sh starts.

    raw_radius.py --port PORT --secret SECRET --pid PID --dir KT_DIR [--only A,B] [--skip A,B]
    raw_radius.py --selftest          check the packet builder against known values, no server
    raw_radius.py --list              print the case names

Output is TAP-like: "ok NAME" or "not ok NAME - why", with "# ..." diagnostic lines. Exit status
0 when every case passed. Every socket operation has a timeout: a packet is "dropped" when no
reply arrives within DROP_WAIT seconds. All loops are bounded.

Choices where the spec leaves room (RFC behaviour asserted):
  - a datagram longer than its Length field is answered (RFC 2865 s3: the extra octets are
    padding and are ignored); a Length over 4096 or under 20, or bigger than the datagram, is
    dropped;
  - the EAP-Failure in a Reject may carry any identifier; Proxy-State must be copied in order
    into every reply (RFC 2865 s5.33), its position among the other attributes is free;
  - a peer EAP framing error may be answered by resending the last request, or dropped, but the
    conversation must end in Reject after at most max_invalid + 1 invalid packets;
  - EAP-TLS abuse must end in Reject (with EAP-Failure) within 60 Access-Requests in total.
"""

import argparse
import hashlib
import hmac
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

try:
    import ssl
except ImportError:  # pragma: no cover - the TLS peer cases report the missing module
    ssl = None

# ---------------------------------------------------------------------------------------------
# constants

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT, ACCESS_CHALLENGE, STATUS_SERVER = 1, 2, 3, 11, 12
CODE_NAMES = {1: "Access-Request", 2: "Access-Accept", 3: "Access-Reject", 4: "Accounting-Request",
              11: "Access-Challenge", 12: "Status-Server"}

A_USER_NAME, A_NAS_IP, A_FRAMED_MTU, A_STATE, A_VSA = 1, 4, 12, 24, 26
A_CALLING, A_PROXY_STATE, A_EAP, A_MA = 31, 33, 79, 80

EAP_REQUEST, EAP_RESPONSE, EAP_SUCCESS, EAP_FAILURE = 1, 2, 3, 4
EAP_IDENTITY, EAP_NAK, EAP_TLS = 1, 3, 13
TLS_L, TLS_M, TLS_S = 0x80, 0x40, 0x20

DROP_WAIT = 0.4      # seconds without a reply after which a packet counts as dropped
REPLY_WAIT = 3.0     # seconds to wait for a reply that must come
ROUND_LIMIT = 60     # Access-Requests per abusive conversation before we call it unbounded
MAX_INVALID = 5      # limits.max_invalid in the wrapper's kagi.conf
BUDGET = 55.0        # seconds for the whole run; later cases are reported as not run


class Fail(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# RADIUS packet builder / parser


def attr(t, v):
    if len(v) > 253:
        raise ValueError("attribute value too long")
    return bytes([t, len(v) + 2]) + v


def eap_chunks(eap):
    """EAP-Message attributes for one EAP packet (253-byte pieces, RFC 3579 s3.1)."""
    return [(A_EAP, eap[i:i + 253]) for i in range(0, len(eap), 253)] or [(A_EAP, b"")]


def hmac_md5(key, data):
    return hmac.new(key, data, hashlib.md5).digest()


def build(code, rid, auth, attrs, secret, ma="first", bad_ma=False, length=None, trailer=b""):
    """Encode a request. attrs: list of (type, value). ma: "first", "last" or None.

    The Message-Authenticator is HMAC-MD5(secret, packet with MA zeroed), computed over the
    packet exactly as sent up to Length (plus nothing else). bad_ma flips a bit of it after.
    length overrides the Length field (the MA still covers the bytes before any trailer).
    """
    items = list(attrs)
    if ma == "first":
        items.insert(0, (A_MA, bytes(16)))
    elif ma == "last":
        items.append((A_MA, bytes(16)))
    body = b""
    ma_off = None
    for t, v in items:
        if t == A_MA and ma_off is None and ma:
            ma_off = 20 + len(body) + 2
        body += attr(t, v)
    total = 20 + len(body)
    hdr = struct.pack("!BBH", code, rid, total if length is None else length)
    pkt = bytearray(hdr + auth + body)
    if ma:
        pkt[ma_off:ma_off + 16] = hmac_md5(secret, bytes(pkt))
        if bad_ma:
            pkt[ma_off + 3] ^= 0x10
    return bytes(pkt) + trailer


def sign_ma_raw(pkt, secret, ma_off):
    """Fill a Message-Authenticator whose 16-byte value starts at ma_off in a raw packet."""
    pkt = bytearray(pkt)
    pkt[ma_off:ma_off + 16] = bytes(16)
    pkt[ma_off:ma_off + 16] = hmac_md5(secret, bytes(pkt))
    return bytes(pkt)


def build_reply(code, rid, req_auth, attrs, secret):
    """Encode a reply the way an RFC 3579 server must: MA first (HMAC with the request
    authenticator in the header), then the Response Authenticator over the result."""
    body = attr(A_MA, bytes(16)) + b"".join(attr(t, v) for t, v in attrs)
    total = 20 + len(body)
    pkt = bytearray(struct.pack("!BBH", code, rid, total) + req_auth + body)
    pkt[22:38] = hmac_md5(secret, bytes(pkt))
    pkt[4:20] = hashlib.md5(bytes(pkt[:4]) + req_auth + bytes(pkt[20:]) + secret).digest()
    return bytes(pkt)


class Packet:
    def __init__(self, raw):
        if len(raw) < 20:
            raise ValueError("datagram of %d bytes" % len(raw))
        self.raw = raw
        self.code, self.id, self.length = struct.unpack("!BBH", raw[:4])
        if self.length < 20 or self.length > 4096 or self.length > len(raw):
            raise ValueError("Length field %d, datagram %d" % (self.length, len(raw)))
        self.auth = raw[4:20]
        self.attrs = []          # (type, value, offset of the value)
        off = 20
        while off < self.length:
            if off + 2 > self.length:
                raise ValueError("attribute header past the end at %d" % off)
            t, ln = raw[off], raw[off + 1]
            if ln < 2 or off + ln > self.length:
                raise ValueError("attribute %d length %d at %d" % (t, ln, off))
            self.attrs.append((t, raw[off + 2:off + ln], off + 2))
            off += ln

    def get(self, t):
        return [v for a, v, _ in self.attrs if a == t]

    def first(self, t):
        v = self.get(t)
        return v[0] if v else None

    def eap(self):
        parts = self.get(A_EAP)
        return b"".join(parts) if parts else None

    def name(self):
        return CODE_NAMES.get(self.code, "code %d" % self.code)

    def summary(self):
        s = "%s id=%d len=%d attrs=[%s]" % (self.name(), self.id, self.length,
                                             ",".join(str(a) for a, _, _ in self.attrs))
        e = self.eap()
        if e:
            s += " eap=" + eap_summary(e)
        return s


def verify_reply(raw, req_id, req_auth, secret):
    """Check a reply against its request. Returns (Packet or None, [problems])."""
    try:
        p = Packet(raw)
    except ValueError as e:
        return None, ["malformed reply: %s" % e]
    probs = []
    if p.length != len(raw):
        probs.append("Length %d but datagram %d" % (p.length, len(raw)))
    if p.id != req_id:
        probs.append("id %d, request id %d" % (p.id, req_id))
    expect = hashlib.md5(raw[:4] + req_auth + raw[20:p.length] + secret).digest()
    if expect != p.auth:
        probs.append("bad Response Authenticator")
    mas = [(v, off) for t, v, off in p.attrs if t == A_MA]
    if not mas:
        probs.append("no Message-Authenticator")
    else:
        if p.attrs[0][0] != A_MA:
            probs.append("Message-Authenticator is not the first attribute (first is %d)"
                         % p.attrs[0][0])
        if len(mas) > 1:
            probs.append("%d Message-Authenticators" % len(mas))
        v, off = mas[0]
        if len(v) != 16:
            probs.append("Message-Authenticator of %d bytes" % len(v))
        else:
            tmp = bytearray(raw[:p.length])
            tmp[4:20] = req_auth
            tmp[off:off + 16] = bytes(16)
            if hmac_md5(secret, bytes(tmp)) != v:
                probs.append("bad Message-Authenticator")
    return p, probs


# ---------------------------------------------------------------------------------------------
# EAP / EAP-TLS


def eap_pkt(code, eid, typ=None, data=b"", length=None):
    if code in (EAP_SUCCESS, EAP_FAILURE) and typ is None:
        return struct.pack("!BBH", code, eid, 4 if length is None else length)
    body = bytes([typ]) + data
    return struct.pack("!BBH", code, eid, 4 + len(body) if length is None else length) + body


def tls_data(flags, L=None, data=b""):
    if L is not None:
        flags |= TLS_L
        return bytes([flags]) + struct.pack("!I", L) + data
    return bytes([flags]) + data


def parse_eap(b):
    """(code, id, type or None, type data). Raises ValueError on broken framing."""
    if b is None or len(b) < 4:
        raise ValueError("EAP packet of %s bytes" % (None if b is None else len(b)))
    code, eid, ln = struct.unpack("!BBH", b[:4])
    if ln != len(b):
        raise ValueError("EAP Length %d, %d bytes" % (ln, len(b)))
    if code in (EAP_SUCCESS, EAP_FAILURE):
        return code, eid, None, b""
    if ln < 5:
        raise ValueError("EAP Request/Response without type")
    return code, eid, b[4], b[5:]


def parse_tls(d):
    """(flags, L or None, fragment) of EAP-TLS type data."""
    if not d:
        raise ValueError("EAP-TLS without flags")
    flags = d[0]
    if flags & TLS_L:
        if len(d) < 5:
            raise ValueError("EAP-TLS L flag without length")
        return flags, struct.unpack("!I", d[1:5])[0], d[5:]
    return flags, None, d[1:]


def eap_summary(b):
    try:
        code, eid, typ, d = parse_eap(b)
    except ValueError as e:
        return "<%s>" % e
    names = {1: "Request", 2: "Response", 3: "Success", 4: "Failure"}
    s = "%s/id=%d" % (names.get(code, str(code)), eid)
    if typ == EAP_TLS and d:
        f, L, frag = parse_tls(d)
        s += "/TLS flags=%02x%s data=%d" % (f, "" if L is None else " L=%d" % L, len(frag))
    elif typ is not None:
        s += "/type=%d data=%d" % (typ, len(d))
    return s


# ---------------------------------------------------------------------------------------------
# sockets and conversations


class Sock:
    """A UDP socket towards the server with its own RADIUS id counter."""

    def __init__(self, t, src="127.0.0.1", rcvbuf=None):
        self.t = t
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.bind((src, 0))
        self.s.settimeout(REPLY_WAIT)
        self.rid = os.urandom(1)[0]
        self.keep = False      # kept open across cases (the flood's conversations)
        t.socks.append(self)

    def next_id(self):
        self.rid = (self.rid + 1) & 0xff
        return self.rid

    def port(self):
        return self.s.getsockname()[1]

    def send(self, raw):
        self.s.sendto(raw, self.t.server)

    def recv(self, timeout, rid=None):
        """Next datagram from the server (with id rid if given) within timeout, else None."""
        deadline = time.monotonic() + timeout
        for _ in range(1000):
            rem = deadline - time.monotonic()
            if rem <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], rem)
            if not r:
                return None
            data, addr = self.s.recvfrom(65535)
            if addr != self.t.server:
                continue
            if rid is None or (len(data) >= 2 and data[1] == rid):
                return data
        return None

    def drain(self):
        for _ in range(10000):
            r, _, _ = select.select([self.s], [], [], 0)
            if not r:
                return
            self.s.recvfrom(65535)

    def close(self):
        self.s.close()


class Reply:
    def __init__(self, raw, pkt):
        self.raw = raw
        self.pkt = pkt
        self.code = pkt.code
        self.state = pkt.first(A_STATE)
        self.eap = pkt.eap()
        self.eap_parsed = None
        if self.eap is not None:
            try:
                self.eap_parsed = parse_eap(self.eap)
            except ValueError:
                self.eap_parsed = None

    def summary(self):
        return self.pkt.summary()

    def tls(self):
        """(flags, L, data) of an EAP-Request/TLS, else None."""
        e = self.eap_parsed
        if e is None or e[0] != EAP_REQUEST or e[2] != EAP_TLS:
            return None
        return parse_tls(e[3])

    def is_tls_ack(self):
        x = self.tls()
        return x is not None and x[2] == b"" and not x[0] & (TLS_M | TLS_S)


class Conv:
    """One EAP conversation as a NAS would carry it."""

    n = 0

    def __init__(self, t, sock=None, identity=None, proxy_states=()):
        Conv.n += 1
        self.t = t
        self.sock = sock or Sock(t)
        self.num = Conv.n
        self.csid = "02-%s-%02X-%02X" % (t.run_tag, (self.num >> 8) & 0xff, self.num & 0xff)
        self.identity = identity or "raw%d@raw.test" % self.num
        self.proxy_states = list(proxy_states)
        self.state = None
        self.eap_id = None     # identifier of the last EAP-Request from the server
        self.rounds = 0        # Access-Requests sent (not counting retransmissions)
        self.last_reply = None
        self.trace = []

    # -- packet building

    def attrs(self, eap, state):
        a = [(A_USER_NAME, self.identity.encode()), (A_NAS_IP, bytes([127, 0, 0, 1])),
             (A_CALLING, self.csid.encode()), (A_FRAMED_MTU, struct.pack("!I", 1400))]
        if state:
            a.append((A_STATE, state))
        if eap is not None:
            a += eap_chunks(eap)
        a += [(A_PROXY_STATE, p) for p in self.proxy_states]
        return a

    def build(self, eap, state="cur", secret=None, bad_ma=False, ma="first", rid=None, auth=None,
              extra=()):
        if state == "cur":
            state = self.state
        rid = self.sock.next_id() if rid is None else rid
        auth = os.urandom(16) if auth is None else auth
        raw = build(ACCESS_REQUEST, rid, auth, self.attrs(eap, state) + list(extra),
                    self.t.secret if secret is None else secret, ma=ma, bad_ma=bad_ma)
        return raw, rid, auth

    # -- exchanges

    def send_raw(self, raw, rid, auth, timeout=REPLY_WAIT, new=True, must=True):
        """Send a request; return the verified Reply, or None (when must=False) on timeout."""
        if new:
            self.rounds += 1
        self.sock.send(raw)
        data = self.sock.recv(timeout, rid)
        if data is None:
            if must:
                raise Fail("no reply to %s (round %d, conversation %s)"
                           % (Packet(raw).summary(), self.rounds, self.csid))
            return None
        return self.accept_reply(data, rid, auth)

    def accept_reply(self, data, rid, auth):
        pkt, probs = verify_reply(data, rid, auth, self.t.secret)
        if probs:
            raise Fail("bad reply (%s): %s" % (pkt.summary() if pkt else "?", "; ".join(probs)))
        r = Reply(data, pkt)
        got_ps = pkt.get(A_PROXY_STATE)
        if got_ps != self.proxy_states:
            raise Fail("Proxy-State not copied in order: sent %r got %r"
                       % (self.proxy_states, got_ps))
        if r.code == ACCESS_CHALLENGE:
            if r.state is None or len(r.state) != 16:
                raise Fail("Challenge with State %r (want 16 bytes)" % r.state)
            if len(pkt.get(A_STATE)) != 1:
                raise Fail("Challenge with %d State attributes" % len(pkt.get(A_STATE)))
            if r.eap_parsed is None or r.eap_parsed[0] != EAP_REQUEST:
                raise Fail("Challenge without a well-formed EAP-Request: %s" % r.summary())
            self.state = r.state
            self.eap_id = r.eap_parsed[1]
        elif r.code == ACCESS_REJECT:
            self.state = None
        elif r.code == ACCESS_ACCEPT:
            self.state = None
        else:
            raise Fail("unexpected reply code %d" % r.code)
        self.last_reply = r
        self.trace.append(r.summary())
        return r

    def exchange(self, eap, timeout=REPLY_WAIT, must=True, **kw):
        raw, rid, auth = self.build(eap, **kw)
        return self.send_raw(raw, rid, auth, timeout=timeout, must=must)

    def start(self):
        """EAP-Response/Identity without State; expect Challenge with EAP-Request/TLS Start."""
        r = self.exchange(eap_pkt(EAP_RESPONSE, os.urandom(1)[0], EAP_IDENTITY,
                                  self.identity.encode()), state=None)
        expect_start(r)
        return r

    def tls(self, flags=0, L=None, data=b"", **kw):
        return self.exchange(eap_pkt(EAP_RESPONSE, self.eap_id, EAP_TLS, tls_data(flags, L, data)),
                             **kw)

    def ack(self, **kw):
        return self.tls(0, None, b"", **kw)

    def send_tls_message(self, msg, frag=1000):
        """Send one TLS message, fragmented (RFC 5216 s2.1.5); reply to the last fragment."""
        if len(msg) <= frag:
            return self.tls(0, None, msg)
        off, first = 0, True
        for _ in range(len(msg) // frag + 2):
            chunk = msg[off:off + frag]
            off += len(chunk)
            more = off < len(msg)
            r = self.tls(TLS_M if more else 0, len(msg) if first else None, chunk)
            if not more:
                return r
            if r.code != ACCESS_CHALLENGE or not r.is_tls_ack():
                raise Fail("fragment not ACKed: %s" % r.summary())
            first = False
        raise Fail("fragmentation loop")

    def recv_tls_message(self, r):
        """Reassemble the server's TLS message starting at reply r, ACKing its fragments."""
        buf = b""
        for _ in range(200):
            if r.code != ACCESS_CHALLENGE:
                raise Fail("expected a Challenge, got %s" % r.summary())
            x = r.tls()
            if x is None:
                raise Fail("expected EAP-Request/TLS, got %s" % r.summary())
            flags, L, d = x
            buf += d
            if not flags & TLS_M:
                return buf
            r = self.ack()
        raise Fail("server sent more than 200 fragments")

    def handshake(self, peer, r=None):
        """Run the TLS handshake from the Start to Accept/Reject; return the final Reply."""
        out = peer.step(b"")
        r = self.send_tls_message(out)
        for _ in range(40):
            if r.code in (ACCESS_ACCEPT, ACCESS_REJECT):
                return r
            data = self.recv_tls_message(r)
            out = peer.step(data)
            r = self.send_tls_message(out) if out else self.ack()
        raise Fail("handshake did not finish in 40 rounds")


def expect_start(r):
    if r.code != ACCESS_CHALLENGE:
        raise Fail("Identity answered with %s, want Challenge" % r.summary())
    x = r.tls()
    if x is None or not x[0] & TLS_S:
        raise Fail("Identity answered without EAP-TLS Start: %s" % r.summary())


def expect_reject_failure(r, what=""):
    if r is None:
        raise Fail("no reply%s" % what)
    if r.code != ACCESS_REJECT:
        raise Fail("want Access-Reject%s, got %s" % (what, r.summary()))
    if r.eap_parsed is None or r.eap_parsed[0] != EAP_FAILURE:
        raise Fail("Reject without EAP-Failure%s: %s" % (what, r.summary()))


class TlsPeer:
    """An EAP-TLS peer on top of the ssl module (memory BIOs)."""

    def __init__(self, pki, name="alice", max_version=None):
        if ssl is None:
            raise Fail("python ssl module missing")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(os.path.join(pki, "ca.pem"))
        ctx.load_cert_chain(os.path.join(pki, name + ".pem"), os.path.join(pki, name + ".key"))
        if max_version == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=False)
        self.done = False

    def step(self, data):
        if data:
            self.inc.write(data)
        if not self.done:
            try:
                self.obj.do_handshake()
                self.done = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as e:
                raise Fail("client TLS error: %s" % e)
        if self.done:
            for _ in range(100):
                try:
                    if not self.obj.read(4096):
                        break
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    break
        return self.out.read()


# ---------------------------------------------------------------------------------------------
# the test context


class T:
    def __init__(self, args):
        self.args = args
        self.secret = args.secret.encode()
        self.server = ("127.0.0.1", args.port)
        self.dir = args.dir
        self.pki = os.path.join(args.dir, "pki") if args.dir else None
        self.pid = args.pid
        self.socks = []
        self.run_tag = "%02X-%02X" % tuple(os.urandom(2))
        self.t0 = time.monotonic()
        self.fails = 0
        self.notes = []

    def note(self, text):
        self.notes.append(text)

    # -- server health

    def status_server(self, proxy_states=(), src="127.0.0.1", timeout=REPLY_WAIT):
        s = Sock(self, src)
        rid, auth = s.next_id(), os.urandom(16)
        raw = build(STATUS_SERVER, rid, auth, [(A_PROXY_STATE, p) for p in proxy_states],
                    self.secret)
        s.send(raw)
        data = s.recv(timeout, rid)
        s.close()
        if data is None:
            raise Fail("no reply to Status-Server")
        pkt, probs = verify_reply(data, rid, auth, self.secret)
        if probs:
            raise Fail("Status-Server reply: " + "; ".join(probs))
        if pkt.code != ACCESS_ACCEPT:
            raise Fail("Status-Server answered with %s" % pkt.name())
        return pkt

    def alive(self, after=""):
        try:
            self.status_server()
        except Fail as e:
            raise Fail("server not alive after %s: %s" % (after, e))
        if self.pid and not os.path.exists("/proc/%d" % self.pid):
            raise Fail("kagid process %d gone after %s" % (self.pid, after))

    def expect_drop(self, raw, what, src="127.0.0.1"):
        s = Sock(self, src)
        s.send(raw)
        data = s.recv(DROP_WAIT)
        s.close()
        if data is not None:
            try:
                summ = Packet(data).summary()
            except ValueError:
                summ = "%d bytes" % len(data)
            raise Fail("%s was answered (%s), want silently dropped" % (what, summ))
        self.alive(what)

    # -- auth log

    def auth_lines(self):
        path = os.path.join(self.dir, "auth.log")
        out = []
        try:
            with open(path, "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines():
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        out.append({"_bad": line})
        except OSError:
            pass
        return out

    def wait_log(self, pred, timeout=3.0):
        deadline = time.monotonic() + timeout
        for _ in range(400):
            for e in self.auth_lines():
                if isinstance(e, dict) and "_bad" not in e and pred(e):
                    return e
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)
        return None

    def log_reject(self, conv, reason=None):
        """The reject line for conv (by Calling-Station-Id); fail if missing or reason empty."""
        e = self.wait_log(lambda e: e.get("calling_station_id") == conv.csid
                          and e.get("result") == "reject")
        if e is None:
            seen = [x for x in self.auth_lines() if x.get("calling_station_id") == conv.csid]
            raise Fail("no reject line in auth.log for %s (lines for it: %s)"
                       % (conv.csid, json.dumps(seen)[:300]))
        if not e.get("reason"):
            raise Fail("reject line without reason: %s" % json.dumps(e))
        if reason is not None and e.get("reason") != reason:
            raise Fail("reject reason %r, want %r" % (e.get("reason"), reason))
        return e

    # -- memory

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise Fail("no VmRSS for pid %d" % self.pid)

    def asan(self):
        try:
            with open("/proc/%d/exe" % self.pid, "rb") as f:
                return b"__asan_init" in f.read()
        except OSError:
            return False


# ---------------------------------------------------------------------------------------------
# the cases

CASES = []


def case(name):
    def deco(fn):
        CASES.append((name, fn))
        return fn
    return deco


def eap_identity(conv):
    return eap_pkt(EAP_RESPONSE, os.urandom(1)[0], EAP_IDENTITY, conv.identity.encode())


# 1. Status-Server

@case("status-server")
def c_status(t):
    p = t.status_server()
    if p.attrs[0][0] != A_MA:
        raise Fail("MA not first")


@case("status-server-proxy-state")
def c_status_ps(t):
    ps = [b"\x01first-proxy", b"second\x00proxy-state"]
    p = t.status_server(proxy_states=ps)
    if p.get(A_PROXY_STATE) != ps:
        raise Fail("Proxy-State sent %r, got %r" % (ps, p.get(A_PROXY_STATE)))


# 2. Message-Authenticator / secret

@case("drop-no-ma")
def c_no_ma(t):
    c = Conv(t)
    raw, _, _ = c.build(eap_identity(c), state=None, ma=None)
    t.expect_drop(raw, "Access-Request with EAP-Message and no MA")


@case("drop-no-ma-no-eap")
def c_no_ma_noeap(t):
    s = Sock(t)
    raw = build(ACCESS_REQUEST, s.next_id(), os.urandom(16),
                [(A_USER_NAME, b"plain"), (A_NAS_IP, bytes([127, 0, 0, 1]))], t.secret, ma=None)
    t.expect_drop(raw, "Access-Request without EAP and without MA")


@case("drop-bad-ma")
def c_bad_ma(t):
    c = Conv(t)
    raw, _, _ = c.build(eap_identity(c), state=None, bad_ma=True)
    t.expect_drop(raw, "Access-Request with a bad MA")
    raw, _, _ = c.build(eap_identity(c), state=None, bad_ma=True, ma="last")
    t.expect_drop(raw, "Access-Request with a bad MA (last attribute)")


@case("drop-ma-bad-length")
def c_ma_len(t):
    pkt = build(ACCESS_REQUEST, 11, os.urandom(16),
                [(A_MA, bytes(10)), (A_USER_NAME, b"x")], t.secret, ma=None)
    pkt = pkt[:22] + hmac_md5(t.secret, pkt)[:10] + pkt[32:]
    t.expect_drop(pkt, "MA of 10 bytes")


@case("drop-wrong-secret")
def c_wrong_secret(t):
    c = Conv(t)
    raw, _, _ = c.build(eap_identity(c), state=None, secret=t.secret + b"x")
    t.expect_drop(raw, "Access-Request signed with a wrong secret")
    raw = build(STATUS_SERVER, 7, os.urandom(16), [], b"not-the-secret")
    t.expect_drop(raw, "Status-Server signed with a wrong secret")


@case("drop-status-server-no-ma")
def c_status_no_ma(t):
    raw = build(STATUS_SERVER, 9, os.urandom(16), [(A_NAS_IP, bytes([127, 0, 0, 1]))],
                t.secret, ma=None)
    t.expect_drop(raw, "Status-Server without MA")


# 3. unknown client

@case("drop-unknown-client")
def c_unknown_client(t):
    try:
        Sock(t, "127.0.0.2").close()
    except OSError as e:
        raise Fail("cannot bind 127.0.0.2: %s" % e)
    raw = build(STATUS_SERVER, 3, os.urandom(16), [], t.secret)
    t.expect_drop(raw, "Status-Server from 127.0.0.2", src="127.0.0.2")
    c = Conv(t)
    raw, _, _ = c.build(eap_identity(c), state=None)
    t.expect_drop(raw, "Access-Request from 127.0.0.2", src="127.0.0.2")


def kagid_log_count(t, text):
    try:
        with open(os.path.join(t.dir, "kagid.log"), "rb") as f:
            return f.read().count(text.encode())
    except OSError:
        return 0


def wait_kagid_log(t, text, timeout, before=0):
    """True once kagid.log holds text more than `before` times (bounded wait)."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout * 10) + 1):
        if kagid_log_count(t, text) > before:
            return True
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return False


def udp_socket_drops(port):
    """The kernel's drop counter of the UDP socket bound to 127.0.0.1:port (/proc/net/udp)."""
    want = "0100007F:%04X" % port
    with open("/proc/net/udp") as f:
        for line in f.read().splitlines()[1:]:
            cols = line.split()
            if cols[1] == want:
                return int(cols[-1])
    raise Fail("no UDP socket on 127.0.0.1:%d in /proc/net/udp" % port)


def start_flood(t, raw, src):
    """Send raw to kagid from src at about 4000 packets/s in a thread, until the returned event
    is set (and at most 60 s, even if the test body hangs). Returns (event, thread)."""
    stop = threading.Event()

    def flood():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.setblocking(False)
        end = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < end:
            for _ in range(40):
                try:
                    s.sendto(raw, t.server)
                except OSError:
                    pass
            time.sleep(0.01)
        s.close()

    th = threading.Thread(target=flood)
    th.start()
    return stop, th


@case("unknown-flood-kernel-filter")
def c_unknown_flood(t):
    """About 4000 packets/s from an address that is not a client: kagid has the kernel drop
    those (its socket's drop counter grows), clients are answered throughout, a client added
    by SIGHUP during the flood is answered at once, and after the flood every packet from the
    address reaches kagid again (it logs it)."""
    for ip in ("127.0.0.2", "127.0.0.3"):
        try:
            Sock(t, ip).close()
        except OSError as e:
            raise Fail("cannot bind %s: %s" % (ip, e))
    raw = build(ACCESS_REQUEST, 1, os.urandom(16), [(A_USER_NAME, b"flood")], t.secret,
                bad_ma=True)
    stop, th = start_flood(t, raw, "127.0.0.2")
    try:
        if not wait_kagid_log(t, "Flood of about", 5):
            raise Fail("no flood warning after 5 s of ~4000 packets/s from 127.0.0.2")
        drops = udp_socket_drops(t.server[1])
        time.sleep(0.5)
        if udp_socket_drops(t.server[1]) <= drops:
            raise Fail("filter on, but the socket's drop counter does not grow")
        t.alive("the kernel filter went on")
        Conv(t).start()
        with open(os.path.join(t.dir, "raddb", "clients.conf"), "a") as f:
            f.write('client added {\n    ipaddr = 127.0.0.3\n    secret = "%s"\n}\n'
                    % t.secret.decode())
        reloads = kagid_log_count(t, "configuration reloaded")
        os.kill(t.pid, signal.SIGHUP)
        if not wait_kagid_log(t, "configuration reloaded", 5, reloads):
            raise Fail("no reload within 5 s of SIGHUP")
        t.status_server(src="127.0.0.3")
    finally:
        stop.set()
        th.join()
    if not wait_kagid_log(t, "flood from unknown addresses is over", 16):
        raise Fail("filter still on 16 s after the flood stopped")
    seen = kagid_log_count(t, "unknown client 127.0.0.2")
    t.expect_drop(raw, "Access-Request from 127.0.0.2 after the flood", src="127.0.0.2")
    if not wait_kagid_log(t, "unknown client 127.0.0.2", 2, seen):
        raise Fail("after the flood a packet from 127.0.0.2 did not reach kagid (not logged)")


@case("bad-mac-flood-paced")
def c_bad_mac_flood(t):
    """About 4000 packets/s with a wrong Message-Authenticator from the client's own address:
    kagid says it reads them in batches (it pauses after emptying its socket instead of waking
    up for each), and the client is still answered throughout: a conversation starts, and
    Status-Server is answered, during the flood; a conversation starts after it."""
    raw = build(ACCESS_REQUEST, 1, os.urandom(16), [(A_USER_NAME, b"forged")], t.secret,
                bad_ma=True)
    seen = kagid_log_count(t, "Flood of packets being dropped")
    stop, th = start_flood(t, raw, "127.0.0.1")
    try:
        if not wait_kagid_log(t, "Flood of packets being dropped", 5, seen):
            raise Fail("no pacing warning after 5 s of ~4000 forged packets/s from 127.0.0.1")
        for i in range(3):
            Conv(t).start()
            # a paced worker pauses 0.2 ms: a second is room for a loaded machine, not a
            # stalled one
            t.status_server(timeout=1.0)
    finally:
        stop.set()
        th.join()
    time.sleep(1.2)  # the pacing ends a second after the last burst
    Conv(t).start()
    t.status_server()


# 4. malformed

def good_request(t, extra=()):
    c = Conv(t)
    return c.build(eap_identity(c), state=None, extra=extra)[0]


@case("malformed-length-gt-datagram")
def c_len_gt(t):
    raw = bytearray(good_request(t))
    struct.pack_into("!H", raw, 2, len(raw) + 20)
    raw = sign_ma_raw(bytes(raw), t.secret, 22)
    t.expect_drop(raw, "Length bigger than the datagram")


@case("malformed-length-lt-20")
def c_len_lt(t):
    raw = bytearray(good_request(t))
    struct.pack_into("!H", raw, 2, 19)
    raw = sign_ma_raw(bytes(raw), t.secret, 22)
    t.expect_drop(raw, "Length 19")
    raw = bytearray(raw)
    struct.pack_into("!H", raw, 2, 0)
    t.expect_drop(sign_ma_raw(bytes(raw), t.secret, 22), "Length 0")


@case("malformed-length-over-4096")
def c_len_big(t):
    c = Conv(t)
    raw, _, _ = c.build(eap_identity(c), state=None,
                        extra=[(A_PROXY_STATE, os.urandom(250))] * 17)
    if len(raw) <= 4096:
        raise Fail("test bug: packet of %d bytes" % len(raw))
    t.expect_drop(raw, "a %d-byte packet" % len(raw))


def malformed_attrs(t, tail):
    """MA first (valid over the whole datagram), a User-Name, then the broken tail."""
    body = attr(A_MA, bytes(16)) + attr(A_USER_NAME, b"bob") + tail
    raw = struct.pack("!BBH", ACCESS_REQUEST, 77, 20 + len(body)) + os.urandom(16) + body
    return sign_ma_raw(raw, t.secret, 22)


@case("malformed-attr-len-0")
def c_attr0(t):
    t.expect_drop(malformed_attrs(t, bytes([A_CALLING, 0]) + b"abcdef"), "attribute length 0")


@case("malformed-attr-len-1")
def c_attr1(t):
    t.expect_drop(malformed_attrs(t, bytes([A_CALLING, 1]) + b"abcdef"), "attribute length 1")
    t.expect_drop(malformed_attrs(t, bytes([A_CALLING])), "1-byte attribute header at the end")


@case("malformed-attr-past-end")
def c_attr_past(t):
    t.expect_drop(malformed_attrs(t, bytes([A_CALLING, 50]) + b"0123456789"),
                  "attribute running past the end")
    # the attribute runs past Length but not past the datagram
    raw = bytearray(malformed_attrs(t, bytes([A_CALLING, 12]) + b"0123456789"))
    struct.pack_into("!H", raw, 2, len(raw) - 4)
    raw = sign_ma_raw(bytes(raw[:len(raw) - 4]), t.secret, 22) + bytes(raw[len(raw) - 4:])
    t.expect_drop(raw, "attribute running past Length (datagram longer)")


@case("malformed-truncated-10")
def c_trunc(t):
    t.expect_drop(good_request(t)[:10], "a 10-byte datagram")
    t.expect_drop(b"", "an empty datagram")


@case("malformed-bad-code")
def c_code(t):
    for code in (99, ACCESS_ACCEPT, ACCESS_CHALLENGE, 4, 0, 255):
        raw = build(code, 5, os.urandom(16), [(A_USER_NAME, b"x")], t.secret)
        t.expect_drop(raw, "a packet with code %d" % code)


@case("accounting-request-named")
def c_acct(t):
    """kagid does no accounting: an Accounting-Request from a client is dropped with a warning
    that names it and says what to do (run on a fresh instance: drop warnings are rate-limited)."""
    before = kagid_log_count(t, "Dropping Accounting-Request (code 4) from client")
    raw = build(4, 6, bytes(16), [(A_USER_NAME, b"x"), (40, struct.pack("!I", 1))], t.secret,
                ma=None)
    t.expect_drop(raw, "an Accounting-Request")
    if not wait_kagid_log(t, "no RADIUS accounting: turn accounting off on the NAS", 2.0,
                          before=before):
        raise Fail("no warning naming the Accounting-Request in kagid's log")


@case("padding-ignored")
def c_padding(t):
    """RFC 2865 s3: octets past Length are padding, ignored on reception."""
    c = Conv(t)
    raw, rid, auth = c.build(eap_identity(c), state=None)
    r = c.send_raw(raw + bytes(7), rid, auth)
    expect_start(r)


# 5. retransmission

@case("retransmit-identity")
def c_retx_identity(t):
    c = Conv(t)
    raw, rid, auth = c.build(eap_identity(c), state=None)
    r1 = c.send_raw(raw, rid, auth)
    expect_start(r1)
    r2 = c.send_raw(raw, rid, auth, new=False)
    if r1.raw != r2.raw:
        raise Fail("retransmitted Identity got a different reply: %s / %s (State %s / %s)"
                   % (r1.summary(), r2.summary(), r1.state.hex(), r2.state.hex()))
    # continue normally from the (single) conversation
    r = c.tls(TLS_L | TLS_M, 4000, os.urandom(1000))
    if r.code != ACCESS_CHALLENGE or not r.is_tls_ack():
        raise Fail("after the retransmission, a fragment got %s" % r.summary())


@case("id-reuse-new-authenticator")
def c_id_reuse(t):
    """RFC 5080 s2.2.2: same id from the same port with another authenticator is a new request."""
    c = Conv(t)
    raw, rid, auth = c.build(eap_identity(c), state=None)
    r1 = c.send_raw(raw, rid, auth)
    expect_start(r1)
    d = Conv(t, sock=c.sock)
    raw2, _, auth2 = d.build(eap_identity(d), state=None, rid=rid)
    r2 = d.send_raw(raw2, rid, auth2)
    expect_start(r2)
    if r2.state == r1.state:
        raise Fail("a new request reusing id %d got the State of the previous one" % rid)


@case("retransmit-midway")
def c_retx_mid(t):
    c = Conv(t, identity=cert_identity(t, "alice"))
    c.start()
    peer = TlsPeer(t.pki)
    hello = peer.step(b"")
    frags = [hello[i:i + 200] for i in range(0, len(hello), 200)]
    if len(frags) < 2:
        raise Fail("test bug: ClientHello of %d bytes" % len(hello))
    raw, rid, auth = c.build(eap_pkt(EAP_RESPONSE, c.eap_id, EAP_TLS,
                                     tls_data(TLS_M, len(hello), frags[0])))
    r1 = c.send_raw(raw, rid, auth)
    if not r1.is_tls_ack():
        raise Fail("first fragment answered with %s, want ACK" % r1.summary())
    r2 = c.send_raw(raw, rid, auth, new=False)
    if r1.raw != r2.raw:
        raise Fail("retransmitted fragment got a different reply: %s / %s"
                   % (r1.summary(), r2.summary()))
    # the state did not advance: the remaining fragments complete the ClientHello
    for i, f in enumerate(frags[1:]):
        last = i == len(frags) - 2
        r = c.tls(0 if last else TLS_M, None, f)
        if not last and not r.is_tls_ack():
            raise Fail("fragment %d answered with %s" % (i + 2, r.summary()))
    data = c.recv_tls_message(r)
    out = peer.step(data)
    for _ in range(40):
        r = c.send_tls_message(out) if out else c.ack()
        if r.code in (ACCESS_ACCEPT, ACCESS_REJECT):
            break
        out = peer.step(c.recv_tls_message(r))
    if r.code != ACCESS_ACCEPT:
        raise Fail("conversation after the retransmission ended with %s" % r.summary())


@case("retransmit-burst")
def c_retx_burst(t):
    """Every request of a full EAP-TLS conversation sent 4 times back to back, as an impatient
    NAS would: the copies that arrive while the server works on the first must not be worked on
    again (kagid's worker threads could pick them up), the ones after get the cached reply. Every
    reply must be the same bytes, the last round must not turn into "unknown State" once the
    conversation has ended, and there is exactly one auth-log line."""
    c = Conv(t, identity=cert_identity(t, "alice"))
    peer = TlsPeer(t.pki)

    def burst(eap, state="cur"):
        raw, rid, auth = c.build(eap, state=state)
        c.rounds += 1
        for _ in range(4):
            c.sock.send(raw)
        first = c.sock.recv(REPLY_WAIT, rid)
        if first is None:
            raise Fail("no reply to a burst of 4 copies (round %d)" % c.rounds)
        r = c.accept_reply(first, rid, auth)
        for _ in range(3):
            more = c.sock.recv(DROP_WAIT, rid)
            if more is None:
                break      # a copy that arrived while the first was being answered: dropped
            if more != first:
                raise Fail("copies of one request got different replies in round %d: %s / %s"
                           % (c.rounds, r.summary(), Reply(more, Packet(more)).summary()))
        return r

    r = burst(eap_pkt(EAP_RESPONSE, os.urandom(1)[0], EAP_IDENTITY, c.identity.encode()),
              state=None)
    expect_start(r)
    out = peer.step(b"")
    for _ in range(40):
        # RFC 5216 s2.1.5 fragments of 1000 bytes, each one sent in a burst too
        off = 0
        for _ in range(len(out) // 1000 + 2):
            chunk = out[off:off + 1000]
            more = off + len(chunk) < len(out)
            flags = (TLS_M if more else 0) | (TLS_L if off == 0 and more else 0)
            r = burst(eap_pkt(EAP_RESPONSE, c.eap_id, EAP_TLS,
                              tls_data(flags, len(out) if flags & TLS_L else None, chunk)))
            off += len(chunk)
            if not more:
                break
            if not r.is_tls_ack():
                raise Fail("fragment answered with %s" % r.summary())
        if r.code in (ACCESS_ACCEPT, ACCESS_REJECT):
            break
        out = peer.step(c.recv_tls_message(r))
    if r.code != ACCESS_ACCEPT:
        raise Fail("bursty conversation ended with %s" % r.summary())
    time.sleep(0.2)
    lines = [e for e in t.auth_lines() if e.get("calling_station_id") == c.csid]
    if len(lines) != 1 or lines[0].get("result") != "accept":
        raise Fail("want one accept line for the conversation, got %s" % json.dumps(lines)[:300])


# 6. forged packets during a request in flight

@case("forged-inflight")
def c_forged(t):
    c = Conv(t, identity=cert_identity(t, "alice"))
    c.start()
    peer = TlsPeer(t.pki)
    hello = peer.step(b"")
    eap = eap_pkt(EAP_RESPONSE, c.eap_id, EAP_TLS, tls_data(0, None, hello))
    raw, rid, auth = c.build(eap)
    # F1: the very bytes of the coming legitimate request, MA broken
    f1 = bytearray(raw)
    f1[24] ^= 0x01
    c.sock.send(bytes(f1))
    if c.sock.recv(DROP_WAIT, rid) is not None:
        raise Fail("forged copy (same id/authenticator/State, bad MA) was answered")
    # F2: same id and State, another authenticator, bad MA
    f2, _, _ = c.build(eap, rid=rid, bad_ma=True)
    c.sock.send(f2)
    if c.sock.recv(DROP_WAIT, rid) is not None:
        raise Fail("forged packet (same id/State, other authenticator, bad MA) was answered")
    r1 = c.send_raw(raw, rid, auth)
    if r1.code != ACCESS_CHALLENGE or r1.tls() is None or not r1.tls()[2]:
        raise Fail("legitimate ClientHello after forgeries got %s" % r1.summary())
    r2 = c.send_raw(raw, rid, auth, new=False)
    if r2.raw != r1.raw:
        raise Fail("retransmitted ClientHello got a different reply: %s / %s"
                   % (r1.summary(), r2.summary()))
    data = c.recv_tls_message(r1)
    out = peer.step(data)
    for _ in range(40):
        r = c.send_tls_message(out) if out else c.ack()
        if r.code in (ACCESS_ACCEPT, ACCESS_REJECT):
            break
        out = peer.step(c.recv_tls_message(r))
    if r.code != ACCESS_ACCEPT:
        raise Fail("conversation after the forgeries ended with %s" % r.summary())


# 7. unknown State, no EAP

@case("unknown-state-reject")
def c_unknown_state(t):
    c = Conv(t)
    c.eap_id = 42
    r = c.tls(0, None, b"", state=os.urandom(16))
    expect_reject_failure(r)


@case("unknown-state-logged")
def c_unknown_state_log(t):
    c = Conv(t)
    c.eap_id = 43
    expect_reject_failure(c.tls(0, None, b"", state=os.urandom(16)))
    t.log_reject(c, "unknown State")


@case("bare-request-reject")
def c_bare(t):
    s = Sock(t)
    rid, auth = s.next_id(), os.urandom(16)
    raw = build(ACCESS_REQUEST, rid, auth, [(A_USER_NAME, b"nobody"),
                                            (A_NAS_IP, bytes([127, 0, 0, 1]))], t.secret)
    s.send(raw)
    data = s.recv(REPLY_WAIT, rid)
    if data is None:
        raise Fail("no reply to an Access-Request without EAP-Message")
    pkt, probs = verify_reply(data, rid, auth, t.secret)
    if probs:
        raise Fail("; ".join(probs))
    if pkt.code != ACCESS_REJECT:
        raise Fail("got %s, want Access-Reject" % pkt.summary())


@case("eap-start")
def c_eap_start(t):
    """RFC 3579 s2.1: an EAP-Start (EAP-Message of 0 octets, or 2 as NASes send it) is answered
    with EAP-Request/Identity; the conversation then goes on as usual, to an Accept."""
    for start in (b"", b"\x02\x00"):
        c = Conv(t, identity=cert_identity(t, "alice"))
        r = c.exchange(start, state=None)
        if r.code != ACCESS_CHALLENGE or r.eap_parsed[2] != EAP_IDENTITY or r.eap_parsed[3]:
            raise Fail("EAP-Start %r answered with %s, want EAP-Request/Identity"
                       % (start, r.summary()))
        asked = c.eap_id
        # a Response of another type is not the identity: the Request/Identity comes again
        r = c.exchange(eap_pkt(EAP_RESPONSE, asked, EAP_TLS, b"\x00"))
        if r.code != ACCESS_CHALLENGE or r.eap_parsed[2] != EAP_IDENTITY or c.eap_id != asked:
            raise Fail("wrong Response to the Request/Identity answered with %s" % r.summary())
        expect_start(c.exchange(eap_pkt(EAP_RESPONSE, asked, EAP_IDENTITY,
                                        c.identity.encode())))
        if start:
            continue
        r = c.handshake(TlsPeer(t.pki))
        if r.code != ACCESS_ACCEPT:
            raise Fail("conversation begun by EAP-Start ended with %s" % r.summary())
        e = t.wait_log(lambda e: e.get("calling_station_id") == c.csid)
        if e is None or e.get("result") != "accept" or e.get("identity") != c.identity:
            raise Fail("auth log after EAP-Start: %s" % e)


# 8/9. Proxy-State, States

@case("challenge-proxy-state")
def c_challenge_ps(t):
    ps = [b"\x00\x01proxy-one", b"proxy-two\xff"]
    c = Conv(t, proxy_states=ps)
    c.start()            # accept_reply checks the Proxy-States, in order
    c.proxy_states = [b"third"]
    c.eap_id = (c.eap_id + 1) & 0xff
    r = c.exchange(eap_pkt(EAP_RESPONSE, 9, EAP_TLS, b"\x00"), state=os.urandom(16))
    expect_reject_failure(r, " (unknown State)")


@case("distinct-states")
def c_states(t):
    states = []
    for _ in range(20):
        c = Conv(t)
        states.append(c.start().state)
    if len(set(states)) != len(states):
        raise Fail("%d distinct States in %d conversations" % (len(set(states)), len(states)))


@case("full-handshake")
def c_full(t):
    c = Conv(t, identity=cert_identity(t, "alice"))
    c.start()
    r = c.handshake(TlsPeer(t.pki))
    if r.code != ACCESS_ACCEPT:
        e = t.wait_log(lambda e: e.get("calling_station_id") == c.csid, 1.0)
        raise Fail("alice rejected: %s (log %s)" % (r.summary(), e))
    if r.eap_parsed is None or r.eap_parsed[0] != EAP_SUCCESS:
        raise Fail("Accept without EAP-Success: %s" % r.summary())
    mppe = set()
    for v in r.pkt.get(A_VSA):
        if len(v) >= 6 and struct.unpack("!I", v[:4])[0] == 311:
            mppe.add(v[4])
            if v[4] in (16, 17) and (len(v) < 4 + 2 + 2 + 34 or not v[6] & 0x80):
                raise Fail("malformed MS-MPPE key attribute %d" % v[4])
    if not {16, 17} <= mppe:
        raise Fail("Accept without MS-MPPE-Send/Recv-Key")
    e = t.wait_log(lambda e: e.get("calling_station_id") == c.csid)
    if e is None or e.get("result") != "accept":
        raise Fail("no accept line in the auth log (%s)" % e)


def cert_identity(t, name):
    try:
        d = ssl._ssl._test_decode_cert(os.path.join(t.pki, name + ".pem"))
        for k, v in d.get("subjectAltName", ()):
            if k == "email":
                return v
    except Exception:
        pass
    return name + "@example.org"


# 10. EAP-TLS fragment abuse

def drive_to_reject(t, c, payload, on_ack=None, limit=ROUND_LIMIT):
    """Send EAP-TLS type data `payload`, then keep the conversation going (ACK whatever the
    server sends; on a server ACK send on_ack() or, if None, an ACK) until Access-Reject."""
    r = c.exchange(eap_pkt(EAP_RESPONSE, c.eap_id, EAP_TLS, payload))
    for _ in range(limit + 5):
        if r.code == ACCESS_REJECT:
            expect_reject_failure(r)
            e = t.log_reject(c)
            t.note("%s: Reject after %d rounds, reason %r" % (c.csid, c.rounds, e.get("reason")))
            return e
        if r.code == ACCESS_ACCEPT:
            raise Fail("Access-Accept for an abusive conversation")
        if c.rounds >= limit:
            raise Fail("no Reject after %d rounds (last reply %s)" % (c.rounds, r.summary()))
        nxt = None
        if r.is_tls_ack() and on_ack is not None:
            nxt = on_ack()
        if nxt is None:
            nxt = tls_data(0)
        r = c.exchange(eap_pkt(EAP_RESPONSE, c.eap_id, EAP_TLS, nxt))
    raise Fail("loop bound")


@case("tls-huge-length")
def c_huge(t):
    c = Conv(t)
    c.start()
    e = drive_to_reject(t, c, tls_data(TLS_M, 16 << 20, os.urandom(1000)))
    if c.rounds > 4:
        raise Fail("L = 16 MiB rejected only after %d rounds" % c.rounds)


@case("tls-length-lt-data")
def c_l_lt(t):
    c = Conv(t)
    c.start()
    drive_to_reject(t, c, tls_data(TLS_M, 100, os.urandom(500)))
    c = Conv(t)
    c.start()
    drive_to_reject(t, c, tls_data(0, 100, os.urandom(500)))


@case("tls-length-gt-data")
def c_l_gt(t):
    c = Conv(t)
    c.start()
    drive_to_reject(t, c, tls_data(0, 1000, b"\x16\x03\x01" + os.urandom(97)))


@case("tls-endless-fragments")
def c_endless(t):
    c = Conv(t)
    c.start()
    e = drive_to_reject(t, c, tls_data(TLS_M, 60000, os.urandom(1000)),
                        on_ack=lambda: tls_data(TLS_M, None, os.urandom(1000)))
    if c.rounds > 52:
        raise Fail("rejected only after %d rounds (max_rounds = 50)" % c.rounds)


@case("tls-fragments-exceed-length")
def c_exceed(t):
    c = Conv(t)
    c.start()
    drive_to_reject(t, c, tls_data(TLS_M, 3000, os.urandom(1000)),
                    on_ack=lambda: tls_data(TLS_M, None, os.urandom(1000)))
    if c.rounds > 8:
        raise Fail("3000-byte message still reassembling after %d rounds" % c.rounds)


@case("tls-restart-midway")
def c_restart(t):
    c = Conv(t)
    c.start()
    r = c.tls(TLS_M, 60000, os.urandom(1000))
    if not r.is_tls_ack():
        raise Fail("first fragment answered with %s" % r.summary())
    r = c.tls(TLS_M, None, os.urandom(1000))
    if not r.is_tls_ack():
        raise Fail("second fragment answered with %s" % r.summary())
    sent = [0]

    def more():
        sent[0] += 1
        return tls_data(TLS_M, 30000 + sent[0], os.urandom(1000))
    drive_to_reject(t, c, tls_data(TLS_M, 30000, os.urandom(1000)), on_ack=more)


@case("tls-garbage")
def c_garbage(t):
    c = Conv(t)
    c.start()
    junk = bytes([0x42]) + os.urandom(299)
    drive_to_reject(t, c, tls_data(0, len(junk), junk))


@case("tls-partial-record")
def c_partial(t):
    """A complete EAP-TLS message holding only the start of a TLS record."""
    c = Conv(t)
    c.start()
    rec = b"\x16\x03\x01\x40\x00" + b"\x01\x00\x3f\xfc" + os.urandom(200)
    drive_to_reject(t, c, tls_data(0, len(rec), rec))


def invalid_until_reject(t, c, make, what):
    """Send invalid EAP packets (make() -> EAP bytes) until Reject; at most MAX_INVALID + 1."""
    replies = []
    for i in range(MAX_INVALID + 3):
        raw, rid, auth = c.build(make())
        r = c.send_raw(raw, rid, auth, timeout=DROP_WAIT, must=False)
        replies.append("none" if r is None else r.summary())
        if r is not None and r.code == ACCESS_REJECT:
            expect_reject_failure(r)
            e = t.log_reject(c)
            t.note("%s (%s): Reject after %d invalid packets (replies: %s), reason %r"
                   % (c.csid, what, i + 1, ", ".join(x.split(" ")[0] for x in replies),
                      e.get("reason")))
            if i + 1 > MAX_INVALID + 1:
                raise Fail("Reject only after %d invalid packets" % (i + 1))
            return
        if r is not None and r.code == ACCESS_ACCEPT:
            raise Fail("Accept")
    raise Fail("no Reject after %d %s (replies: %s)" % (MAX_INVALID + 3, what, ", ".join(replies)))


@case("eap-length-too-big")
def c_eap_len(t):
    c = Conv(t)
    c.start()
    invalid_until_reject(t, c, lambda: eap_pkt(EAP_RESPONSE, c.eap_id, EAP_TLS, b"\x00",
                                                length=40), "EAP Length > data")


@case("eap-truncated")
def c_eap_short(t):
    c = Conv(t)
    c.start()
    invalid_until_reject(t, c, lambda: bytes([EAP_RESPONSE, c.eap_id, 0]), "3-byte EAP")


@case("eap-wrong-id")
def c_eap_id(t):
    c = Conv(t)
    c.start()
    invalid_until_reject(t, c, lambda: eap_pkt(EAP_RESPONSE, (c.eap_id - 1) & 0xff, EAP_TLS,
                                                b"\x00"), "wrong EAP id")


@case("eap-request-from-peer")
def c_eap_req(t):
    c = Conv(t)
    c.start()
    invalid_until_reject(t, c, lambda: eap_pkt(EAP_REQUEST, c.eap_id, EAP_TLS, b"\x20"),
                         "EAP-Request from the peer")


@case("eap-nak-reject")
def c_nak(t):
    c = Conv(t)
    c.start()
    r = c.exchange(eap_pkt(EAP_RESPONSE, c.eap_id, EAP_NAK, bytes([25])))
    expect_reject_failure(r, " to a Nak asking for PEAP")
    e = t.log_reject(c)
    t.note("%s: Nak -> reason %r" % (c.csid, e.get("reason")))


# 11. bounded memory under a flood


def pipeline(t, items, window=48, tries=3):
    """items: list of (conv, eap_bytes). Send them with at most `window` outstanding, collect
    the replies (verified, conv state updated). Returns the number of items with no reply."""
    queue = list(enumerate(items))
    outstanding = {}       # (sock index, rid) -> [item index, raw, auth, sent time, tries]
    lost = 0
    done = 0
    by_sock = {}
    for conv, _ in items:
        by_sock.setdefault(id(conv.sock), conv.sock)
    socks = list(by_sock.values())
    deadline = time.monotonic() + 60
    while (queue or outstanding) and time.monotonic() < deadline:
        while queue and len(outstanding) < window:
            i, (conv, eap) = queue.pop(0)
            raw, rid, auth = conv.build(eap, state=None if eap[4:5] == b"\x01" else "cur")
            key = (id(conv.sock), rid)
            if key in outstanding:
                raise Fail("test bug: id reuse")
            conv.rounds += 1
            conv.sock.send(raw)
            outstanding[key] = [i, raw, auth, time.monotonic(), 1, conv]
        r, _, _ = select.select([s.s for s in socks], [], [], 0.2)
        smap = {s.s: s for s in socks}
        for so in r:
            for _ in range(64):
                if not select.select([so], [], [], 0)[0]:
                    break
                data, addr = so.recvfrom(65535)
                if addr != t.server:
                    continue
                key = (id(smap[so]), data[1] if len(data) > 1 else -1)
                o = outstanding.pop(key, None)
                if o is None:
                    continue
                o[5].accept_reply(data, key[1], o[2])
                done += 1
        now = time.monotonic()
        for key, o in list(outstanding.items()):
            if now - o[3] > 1.0:
                if o[4] >= tries:
                    del outstanding[key]
                    lost += 1
                else:
                    o[5].sock.send(o[1])
                    o[3], o[4] = now, o[4] + 1
    return lost + len(queue) + len(outstanding)


@case("flood-bounded-memory")
def c_flood(t):
    if not t.pid:
        raise Fail("no --pid")
    asan = t.asan()
    rss0 = t.rss_kb()
    # 200 conversations parked mid-reassembly with 8 KB of fragments each
    psocks = [Sock(t, rcvbuf=1 << 20) for _ in range(20)]
    parked = [Conv(t, sock=psocks[i % 20]) for i in range(200)]
    lost = pipeline(t, [(c, eap_identity(c)) for c in parked])
    if lost:
        raise Fail("%d of 200 Identity requests unanswered" % lost)
    for c in parked:
        expect_start(c.last_reply)
    for k in range(8):
        items = [(c, eap_pkt(EAP_RESPONSE, c.eap_id, EAP_TLS,
                             tls_data(TLS_M, 60000 if k == 0 else None, os.urandom(1024))))
                 for c in parked]
        lost = pipeline(t, items)
        if lost:
            raise Fail("%d of 200 fragments unanswered in round %d" % (lost, k + 1))
        bad = [c.last_reply.summary() for c in parked if not c.last_reply.is_tls_ack()]
        if bad:
            raise Fail("fragment %d not ACKed: %s" % (k + 1, bad[0]))
    rss1 = t.rss_kb()
    # 3000 half-open conversations (Identity only) from 30 source ports
    fsocks = [Sock(t, rcvbuf=1 << 20) for _ in range(30)]
    flood = [Conv(t, sock=fsocks[i % 30]) for i in range(3000)]
    lost = pipeline(t, [(c, eap_identity(c)) for c in flood[:1500]])
    rss2 = t.rss_kb()
    lost += pipeline(t, [(c, eap_identity(c)) for c in flood[1500:]])
    rss3 = t.rss_kb()
    for s in psocks + fsocks:
        s.drain()
        s.keep = True
    t.flood = (parked, flood)
    grow = rss3 - rss0
    t.note("RSS kB: start %d, after parking 200x8KB %d, after 1500 half-open %d, after 3000 %d"
           " (growth %d kB; ASan build: %s)" % (rss0, rss1, rss2, rss3, grow, asan))
    if lost:
        raise Fail("%d of 3000 Identity requests unanswered (the flood locked conversations out)"
                   % lost)
    nostart = [c.last_reply.summary() for c in flood if c.last_reply is None
               or c.last_reply.code != ACCESS_CHALLENGE]
    if nostart:
        raise Fail("%d flood conversations got no Start, e.g. %s" % (len(nostart), nostart[0]))
    # The table holds at most 400 sessions of this client. Measured on kagid (glibc malloc):
    # growth about 6 MB with eviction, 38 MB (and 17 MB in the second half) when the limits are
    # raised so that all 3200 sessions stay. Under ASan (the wrapper sets quarantine_size_mb=16):
    # 47 MB with eviction, 84 MB (27 MB in the second half) without. Bounds in between, generous
    # for the evicting server, failing for one that keeps every conversation.
    bound = 24 * 1024 if not asan else 64 * 1024
    if grow > bound:
        raise Fail("RSS grew by %d kB during the flood (bound %d kB)" % (grow, bound))
    steady = rss3 - rss2
    sbound = 8 * 1024 if not asan else 16 * 1024
    if steady > sbound:
        raise Fail("RSS grew by %d kB during the second 1500 half-open conversations, with the"
                   " table already full (bound %d kB)" % (steady, sbound))


@case("flood-evicts-oldest")
def c_evict(t):
    if not getattr(t, "flood", None):
        raise Fail("flood case did not run")
    parked, flood = t.flood
    c = parked[0]
    r = c.tls(TLS_M, None, os.urandom(1024))
    if r.code != ACCESS_REJECT:
        raise Fail("oldest parked conversation still served after 3000 newer ones: %s"
                   % r.summary())
    expect_reject_failure(r, " (evicted conversation)")
    c = flood[0]
    r = c.tls(TLS_M, 5000, os.urandom(1000))
    if r.code != ACCESS_REJECT:
        raise Fail("oldest half-open conversation still served: %s" % r.summary())
    expect_reject_failure(r, " (evicted conversation)")
    c = flood[-1]
    r = c.tls(TLS_M, 5000, os.urandom(1000))
    if r.code != ACCESS_CHALLENGE or not r.is_tls_ack():
        raise Fail("newest half-open conversation lost: %s" % r.summary())


@case("flood-fresh-user")
def c_fresh(t):
    t.alive("the flood")
    c = Conv(t, identity=cert_identity(t, "alice"))
    c.start()
    r = c.handshake(TlsPeer(t.pki))
    if r.code != ACCESS_ACCEPT:
        raise Fail("a real user after the flood got %s" % r.summary())


@case("auth-log-json")
def c_log(t):
    lines = t.auth_lines()
    if not lines:
        raise Fail("auth.log is empty")
    for e in lines:
        if not isinstance(e, dict) or "_bad" in e:
            raise Fail("auth.log line is not a JSON object: %r" % (e.get("_bad", e),))
        if e.get("result") not in ("accept", "reject", "abandoned"):
            raise Fail("auth.log line with result %r: %s" % (e.get("result"), json.dumps(e)))
        if e.get("result") == "reject" and not e.get("reason"):
            raise Fail("reject line without reason: %s" % json.dumps(e))


# 12. session expiry (run on a kagid with session_timeout = 2)

@case("expiry")
def c_expiry(t):
    a = Conv(t)
    a.start()
    b = Conv(t)
    b.start()
    rb = b.tls(TLS_M, 60000, os.urandom(1000))
    if not rb.is_tls_ack():
        raise Fail("fragment answered with %s" % rb.summary())
    # b stays active (a fragment every second) for 3.5 s; a idles
    t_end = time.monotonic() + 3.2
    for _ in range(4):
        time.sleep(min(1.0, max(0.0, t_end - time.monotonic())))
        rb = b.tls(TLS_M, None, os.urandom(1000))
        if not rb.is_tls_ack():
            raise Fail("active conversation (a fragment every second) expired: %s"
                       % rb.summary())
    r = a.tls(TLS_M, 5000, os.urandom(1000))
    expect_reject_failure(r, " for a State idle for 3 s")
    t.log_reject(a, "unknown State")
    e = t.wait_log(lambda e: e.get("calling_station_id") == a.csid
                   and e.get("result") == "abandoned")
    if e is None:
        raise Fail("no abandoned line for the expired conversation %s" % a.csid)


@case("expiry-keeps-reason")
def c_expiry_reason(t):
    """A conversation that was failing (kagid sent a TLS alert) and then went silent is logged
    abandoned with why it was failing, not only the timeout."""
    c = Conv(t, identity="dave@example.org")
    c.start()
    peer = TlsPeer(t.pki, name="dave", max_version="1.2")  # dave's certificate has expired
    r = c.send_tls_message(peer.step(b""))
    for _ in range(10):
        data = c.recv_tls_message(r)
        if data.startswith(b"\x15"):
            break  # kagid's alert: not acknowledged, the peer goes silent
        r = c.send_tls_message(peer.step(data))
    else:
        raise Fail("no TLS alert for an expired client certificate")
    e = t.wait_log(lambda e: e.get("calling_station_id") == c.csid, timeout=6.0)
    if e is None or e.get("result") != "abandoned":
        raise Fail("no abandoned line for the silent conversation (%s)" % e)
    why = e.get("reason") or ""
    if "expired" not in why.split(";")[0] or "; then the peer stopped answering" not in why:
        raise Fail("abandoned with reason %r: want the certificate's, then the timeout" % why)


# ---------------------------------------------------------------------------------------------
# self-test of the builder (no server needed)


def selftest():
    # RFC 2104 HMAC-MD5 test vector 1
    assert hmac_md5(b"\x0b" * 16, b"Hi There").hex() == "9294727a3638bb1c13f48ef8158bfc9d"
    # RFC 2865 s7.1: Access-Request / Access-Accept, secret "xyzzy5461"
    req = bytes.fromhex("010000380f403f947397 8057bd83d5cb98f4227a01066e656d6f02120dbe708d93d413ce"
                        "3196e43f782a0aee0406c0a801100506 00000003".replace(" ", ""))
    rsp = bytes.fromhex("0200002686fe220e7624ba2a1005f6bf9b55e0b20606000000010f06000000000e06c0a8"
                        "0103")
    s = b"xyzzy5461"
    p = Packet(req)
    assert [a for a, _, _ in p.attrs] == [1, 2, 4, 5]
    b = hashlib.md5(s + req[4:20]).digest()
    assert bytes(x ^ y for x, y in zip(b, b"arctangent".ljust(16, b"\0"))) == p.first(2)
    assert hashlib.md5(rsp[:4] + req[4:20] + rsp[20:] + s).digest() == rsp[4:20]
    pk, probs = verify_reply(rsp, 0, req[4:20], s)
    assert probs == ["no Message-Authenticator"], probs
    # round trip: a request with MA first/last verifies; reply built and verified
    for pos in ("first", "last"):
        raw = build(1, 9, bytes(range(16)), [(1, b"u"), (79, b"\x02\x01\x00\x06\x01u")], s,
                    ma=pos)
        q = Packet(raw)
        v, off = [(v, off) for t, v, off in q.attrs if t == A_MA][0]
        assert hmac_md5(s, raw[:off] + bytes(16) + raw[off + 16:]) == v
        assert sign_ma_raw(raw, s, off) == raw
        bad = build(1, 9, bytes(range(16)), [(1, b"u")], s, ma=pos, bad_ma=True)
        assert bad != build(1, 9, bytes(range(16)), [(1, b"u")], s, ma=pos)
    rep = build_reply(11, 9, bytes(range(16)), [(24, b"S" * 16), (33, b"p1"), (33, b"p2")], s)
    pk, probs = verify_reply(rep, 9, bytes(range(16)), s)
    assert probs == [], probs
    assert pk.get(33) == [b"p1", b"p2"] and pk.attrs[0][0] == A_MA
    # a reply with MA last, or a tampered byte, is reported
    tampered = bytearray(rep)
    tampered[-1] ^= 1
    assert "bad Response Authenticator" in verify_reply(bytes(tampered), 9, bytes(range(16)), s)[1]
    # malformed packets are refused by the parser
    for junk in (rep[:10], rep[:2] + b"\x00\x13" + rep[4:], rep + b"\x01\x00",
                 rep[:2] + struct.pack("!H", len(rep) + 2) + rep[4:] + b"\x01\x00"):
        try:
            Packet(junk)
            if junk == rep + b"\x01\x00":
                pass  # padding beyond Length: fine
            else:
                raise AssertionError("parsed malformed %r" % junk[:8])
        except ValueError:
            pass
    # EAP / EAP-TLS
    big = eap_pkt(EAP_RESPONSE, 5, EAP_TLS, tls_data(TLS_M, 60000, bytes(1000)))
    ch = eap_chunks(big)
    assert len(big) == 1010 and [len(v) for _, v in ch] == [253, 253, 253, 251] and b"".join(v for _, v in ch) == big
    assert parse_eap(big)[:3] == (EAP_RESPONSE, 5, EAP_TLS)
    assert parse_tls(parse_eap(big)[3]) == (TLS_L | TLS_M, 60000, bytes(1000))
    assert eap_pkt(EAP_FAILURE, 3) == b"\x04\x03\x00\x04"
    print("ok builder-selftest")
    return 0


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int)
    ap.add_argument("--secret")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--dir")
    ap.add_argument("--only", default="")
    ap.add_argument("--skip", default="")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--no-selftest", action="store_true", help="skip the builder self-test")
    args = ap.parse_args()
    if args.list:
        for n, _ in CASES:
            print(n)
        return 0
    if args.selftest:
        return selftest()
    if not (args.port and args.secret and args.dir):
        ap.error("--port, --secret and --dir are required")
    only = [x for x in args.only.split(",") if x]
    skip = [x for x in args.skip.split(",") if x]
    unknown = [x for x in only + skip if x not in dict(CASES)]
    if unknown:
        ap.error("unknown case(s): %s" % ", ".join(unknown))
    t = T(args)
    if not args.no_selftest:
        try:
            selftest()
        except AssertionError as e:
            print("not ok builder-selftest - %s" % e)
            return 1
    fails = 0
    for name, fn in CASES:
        if (only and name not in only) or name in skip:
            continue
        if time.monotonic() - t.t0 > BUDGET:
            print("not ok %s - not run: the %.0f s time budget is spent" % (name, BUDGET))
            fails += 1
            continue
        t.notes = []
        t0 = time.monotonic()
        try:
            fn(t)
            print("ok %s" % name)
        except Fail as e:
            print("not ok %s - %s" % (name, e))
            fails += 1
        except Exception as e:  # a bug in the test or an unexpected server answer
            print("not ok %s - %s: %s" % (name, type(e).__name__, e))
            fails += 1
        for n in t.notes:
            print("# %s" % n)
        dt = time.monotonic() - t0
        if dt > 2:
            print("# %s took %.1f s" % (name, dt))
        for s in t.socks:
            if not s.keep:
                s.close()
        t.socks = [s for s in t.socks if s.keep]
        sys.stdout.flush()
    print("# %d failed, %.1f s" % (fails, time.monotonic() - t.t0))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
