#!/usr/bin/env python3
"""eap_peer.py: a small EAP-TLS peer + NAS for testing kagid (Python 3 standard library only).

It plays both the supplicant and the access point: it sends RADIUS Access-Requests (RFC 2865)
with a Message-Authenticator (RFC 3579, HMAC-MD5) carrying EAP-Response/Identity and then EAP-TLS
(RFC 5216; RFC 9190 for TLS 1.3), and drives the TLS client with ssl.MemoryBIO +
SSLContext.wrap_bio.

    eap_peer.py --port P --secret S --ca ca.pem [--cert c.pem --key c.key] [--tls 1.2|1.3|any]
                [--identity ID[,ID...]] [--count N] [--expect accept|reject|any[,...]]
                [--expect-resumed yes|no|any[,...]] [--pause-file PATH] [--mtu N]
                [--session-file PATH] [--server-name NAME] [--show-attrs] [--quiet]

Lists (--identity, --expect, --expect-resumed) give one value per authentication; the last value
repeats. With --count N the N authentications run one after the other in this process, on one
SSLContext, each offering the TLS session of the one before (also when that one failed: this is
a test tool). With --pause-file PATH, before authentication 2..N the peer writes PATH.waiting,
waits (at most 30 s) until PATH exists, deletes it, and goes on.

--session-file PATH: after the run, write a description of the last TLS session to PATH (id,
ticket, protocol). Python's ssl module can only resume a session on the SSLContext that made it,
so a session cannot be carried from one process to the next: use --count for resumption.

Outcome checks (exit 0 only if all hold, 1 otherwise):
  - each authentication ends as --expect says (accept = Access-Accept with EAP-Success,
    reject = Access-Reject with EAP-Failure);
  - every reply has a valid Response Authenticator and Message-Authenticator;
  - resumption as --expect-resumed says (the TLS client's own view: SSLObject.session_reused);
  - on accept: MS-MPPE-Recv-Key / MS-MPPE-Send-Key (RFC 2548 s2.4.2/2.4.3, salt-decrypted with
    the shared secret and the request authenticator) equal MSK[0:32] / MSK[32:64];
  - with TLS 1.3, an accept must follow the commitment message (application data 0x00, RFC 9190).

The MSK: Python's ssl module has no key exporter, so the peer derives it itself from the TLS
secrets OpenSSL writes to a key log (SSLContext.keylog_filename, NSS key log format, in a private
temp file removed at exit): TLS 1.2 = PRF(master_secret, "client EAP encryption",
client_random + server_random) (RFC 5216 s2.3, RFC 5705 without context); TLS 1.3 =
TLS-Exporter("EXPORTER_EAP_TLS_Key_Material", 0x0D, 128) from the EXPORTER_SECRET (RFC 9190
s2.3, RFC 8446 s7.5). The client and server randoms are read from the ClientHello/ServerHello
the peer sends and receives. If the secrets cannot be found the check reports "mppe=unchecked"
and fails (use --no-mppe-check to skip it on purpose).

Bounded: each RADIUS request is sent at most 3 times (2 s apart), at most 60 rounds and 30 s
per authentication.
"""

import argparse
import hashlib
import hmac
import os
import shutil
import socket
import ssl
import struct
import sys
import tempfile
import time

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT, ACCESS_CHALLENGE = 1, 2, 3, 11
CODE_NAMES = {1: "Access-Request", 2: "Access-Accept", 3: "Access-Reject", 11: "Access-Challenge"}
A_USER_NAME, A_NAS_IP, A_SERVICE_TYPE, A_FILTER_ID, A_FRAMED_MTU = 1, 4, 6, 11, 12
A_STATE, A_VSA, A_CALLED, A_CALLING, A_EAP, A_MA, A_NAS_PORT_TYPE = 24, 26, 30, 31, 79, 80, 61
ATTR_NAMES = {1: "User-Name", 6: "Service-Type", 11: "Filter-Id", 18: "Reply-Message",
              24: "State", 25: "Class", 27: "Session-Timeout", 64: "Tunnel-Type",
              65: "Tunnel-Medium-Type", 79: "EAP-Message", 80: "Message-Authenticator",
              81: "Tunnel-Private-Group-Id"}
TEXT_ATTRS = {1, 11, 18}
EAP_REQUEST, EAP_RESPONSE, EAP_SUCCESS, EAP_FAILURE = 1, 2, 3, 4
EAP_IDENTITY, EAP_TLS = 1, 13
TLS_L, TLS_M, TLS_S = 0x80, 0x40, 0x20

MAX_ROUNDS = 60
AUTH_TIMEOUT = 30.0
RETRY_WAIT = 2.0
RETRIES = 3


class PeerError(Exception):
    """A protocol violation or a timeout: the authentication ends as "error"."""


def say(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# RADIUS


def attr(t, v):
    if len(v) > 253:
        raise ValueError("attribute %d too long" % t)
    return bytes([t, len(v) + 2]) + v


def hmac_md5(key, data):
    return hmac.new(key, data, hashlib.md5).digest()


class Reply:
    def __init__(self, raw, req_id, req_auth, secret):
        if len(raw) < 20:
            raise PeerError("reply of %d bytes" % len(raw))
        self.code, self.id, ln = struct.unpack("!BBH", raw[:4])
        if ln < 20 or ln > len(raw):
            raise PeerError("reply Length %d, datagram %d" % (ln, len(raw)))
        raw = raw[:ln]
        if self.id != req_id:
            raise PeerError("reply id %d for request id %d" % (self.id, req_id))
        if hashlib.md5(raw[:4] + req_auth + raw[20:] + secret).digest() != raw[4:20]:
            raise PeerError("bad Response Authenticator in %s" % self.name())
        self.attrs = []
        off, ma = 20, None
        while off < ln:
            if off + 2 > ln or raw[off + 1] < 2 or off + raw[off + 1] > ln:
                raise PeerError("malformed attribute at offset %d" % off)
            t, al = raw[off], raw[off + 1]
            if t == A_MA:
                if ma is not None:
                    raise PeerError("two Message-Authenticators")
                ma = off + 2
            self.attrs.append((t, raw[off + 2:off + al]))
            off += al
        if ma is None or ln - ma < 16 or raw[ma - 1] != 18:
            raise PeerError("%s without a valid Message-Authenticator attribute" % self.name())
        chk = bytearray(raw)
        chk[4:20] = req_auth
        chk[ma:ma + 16] = bytes(16)
        if hmac_md5(secret, bytes(chk)) != raw[ma:ma + 16]:
            raise PeerError("bad Message-Authenticator in %s" % self.name())

    def name(self):
        return CODE_NAMES.get(self.code, "code %d" % self.code)

    def get(self, t):
        return [v for a, v in self.attrs if a == t]

    def first(self, t):
        v = self.get(t)
        return v[0] if v else None

    def eap(self):
        parts = self.get(A_EAP)
        return b"".join(parts) if parts else None

    def vsas(self):
        """[(vendor, type, value)] of RFC 2865 s5.26 format VSAs."""
        res = []
        for v in self.get(A_VSA):
            if len(v) < 4:
                continue
            vendor = struct.unpack("!I", v[:4])[0]
            i = 4
            while i + 2 <= len(v) and v[i + 1] >= 2 and i + v[i + 1] <= len(v):
                res.append((vendor, v[i], v[i + 2:i + v[i + 1]]))
                i += v[i + 1]
        return res


class Nas:
    def __init__(self, host, port, secret, args):
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                  socket.SOCK_DGRAM)
        self.sock.connect((host, port))
        self.secret = secret
        self.args = args
        self.rid = int.from_bytes(os.urandom(1), "big")

    def request(self, identity, eap, state):
        """Send one Access-Request, return (Reply, request authenticator)."""
        self.rid = (self.rid + 1) & 0xFF
        auth = os.urandom(16)
        attrs = [(A_MA, bytes(16)), (A_USER_NAME, identity.encode()),
                 (A_NAS_IP, socket.inet_aton("127.0.0.1")), (A_SERVICE_TYPE, struct.pack("!I", 2)),
                 (A_NAS_PORT_TYPE, struct.pack("!I", 19)),
                 (A_CALLED, b"02-00-00-00-00-00:kagi-test"),
                 (A_CALLING, self.args.calling_station_id.encode())]
        if self.args.mtu:
            attrs.append((A_FRAMED_MTU, struct.pack("!I", self.args.mtu)))
        attrs += [(A_EAP, eap[i:i + 253]) for i in range(0, len(eap), 253)]
        if state is not None:
            attrs.append((A_STATE, state))
        body = b"".join(attr(t, v) for t, v in attrs)
        pkt = bytearray(struct.pack("!BBH", ACCESS_REQUEST, self.rid, 20 + len(body)) + auth + body)
        pkt[22:38] = hmac_md5(self.secret, bytes(pkt))
        pkt = bytes(pkt)
        for _ in range(RETRIES):
            self.sock.send(pkt)
            end = time.monotonic() + RETRY_WAIT
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.sock.settimeout(left)
                try:
                    raw = self.sock.recv(65535)
                except socket.timeout:
                    break
                except ConnectionRefusedError:
                    raise PeerError("ICMP port unreachable: nothing listens on the port")
                if len(raw) >= 2 and raw[1] != self.rid:
                    continue  # a late reply to an earlier request
                return Reply(raw, self.rid, auth, self.secret), auth
        raise PeerError("no reply to Access-Request id %d after %d tries" % (self.rid, RETRIES))


# ---------------------------------------------------------------------------------------------
# EAP / EAP-TLS framing


def eap_pkt(code, eid, typ, data=b""):
    body = bytes([typ]) + data
    return struct.pack("!BBH", code, eid, 4 + len(body)) + body


def parse_eap(b):
    if b is None or len(b) < 4:
        raise PeerError("EAP packet of %s bytes" % (None if b is None else len(b)))
    code, eid, ln = struct.unpack("!BBH", b[:4])
    if ln != len(b):
        raise PeerError("EAP Length %d but %d bytes" % (ln, len(b)))
    if code in (EAP_SUCCESS, EAP_FAILURE):
        return code, eid, None, b""
    if ln < 5:
        raise PeerError("EAP Request without a type")
    return code, eid, b[4], b[5:]


def flag_str(f):
    s = "".join(n for bit, n in ((TLS_L, "L"), (TLS_M, "M"), (TLS_S, "S")) if f & bit)
    return s or "-"


# ---------------------------------------------------------------------------------------------
# key derivation (TLS 1.2 PRF, TLS 1.3 exporter) from the NSS key log


def hash_for(cipher_name):
    return hashlib.sha384 if cipher_name.upper().endswith("SHA384") else hashlib.sha256


def tls12_prf(h, secret, label, seed, n):
    seed = label + seed
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, h).digest()
        out += hmac.new(secret, a + seed, h).digest()
    return out[:n]


def hkdf_expand(h, prk, info, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), h).digest()
        out += t
        i += 1
    return out[:n]


def hkdf_expand_label(h, secret, label, context, n):
    full = b"tls13 " + label
    info = struct.pack("!H", n) + bytes([len(full)]) + full + bytes([len(context)]) + context
    return hkdf_expand(h, secret, info, n)


def tls13_exporter(h, exporter_secret, label, context, n):
    derived = hkdf_expand_label(h, exporter_secret, label, h(b"").digest(), h().digest_size)
    return hkdf_expand_label(h, derived, b"exporter", h(context).digest(), n)


def read_keylog(path):
    """{(LABEL, client_random): secret}"""
    res = {}
    try:
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) == 3 and not line.startswith("#"):
                    try:
                        res[(p[0], bytes.fromhex(p[1]))] = bytes.fromhex(p[2])
                    except ValueError:
                        pass
    except OSError:
        pass
    return res


def hello_random(data, hs_type):
    """The 32-byte random of the first handshake message in TLS records `data` if it is of type
    hs_type (1 ClientHello, 2 ServerHello), else None."""
    if len(data) >= 5 + 4 + 2 + 32 and data[0] == 22 and data[5] == hs_type:
        return data[11:43]
    return None


def decrypt_mppe(value, secret, req_auth):
    """RFC 2548 s2.4.2: salt(2) + encrypted string -> key."""
    if len(value) < 2 + 16 or (len(value) - 2) % 16:
        raise PeerError("MPPE key attribute of %d bytes" % len(value))
    salt, c = value[:2], value[2:]
    if not salt[0] & 0x80:
        raise PeerError("MPPE salt without its high bit set")
    out, prev = b"", req_auth + salt
    for i in range(0, len(c), 16):
        b = hashlib.md5(secret + prev).digest()
        out += bytes(x ^ y for x, y in zip(c[i:i + 16], b))
        prev = c[i:i + 16]
    if out[0] > len(out) - 1:
        raise PeerError("MPPE key length %d in %d bytes" % (out[0], len(out)))
    return out[1:1 + out[0]]


# ---------------------------------------------------------------------------------------------
# one authentication


class Auth:
    def __init__(self, peer, n, identity, session):
        self.peer, self.n, self.identity = peer, n, identity
        self.args = peer.args
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        kw = {}
        if self.args.server_name:
            kw["server_hostname"] = self.args.server_name
        self.obj = peer.ctx.wrap_bio(self.inc, self.out, server_side=False, **kw)
        self.offered = False
        if session is not None:
            try:
                self.obj.session = session
                self.offered = True
            except (ValueError, TypeError, ssl.SSLError) as e:
                say("  (cannot offer the previous session: %s)" % e)
        self.hs_done = False
        self.tls_error = None
        self.appdata = b""
        self.client_random = self.server_random = None
        self.rounds = 0
        self.max_req = 0
        self.outcome = None
        self.reply = None
        self.req_auth = None
        self.problems = []

    # TLS -------------------------------------------------------------------------------------
    def tls_step(self, data):
        if data:
            if self.server_random is None:
                self.server_random = hello_random(data, 2)
            self.inc.write(data)
        if not self.hs_done and self.tls_error is None:
            try:
                self.obj.do_handshake()
                self.hs_done = True
                say("  TLS handshake done: %s %s resumed=%s" % (
                    self.obj.version(), self.obj.cipher()[0], self.obj.session_reused))
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as e:
                self.tls_error = str(e)
                say("  TLS error: %s" % e)
        if self.hs_done and self.tls_error is None:
            for _ in range(100):
                try:
                    d = self.obj.read(16384)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:
                    say("  TLS close_notify from the server")
                    break
                except ssl.SSLError as e:
                    self.tls_error = str(e)
                    say("  TLS error: %s" % e)
                    break
                if not d:
                    break
                say("  TLS application data from the server: %s" % d[:16].hex())
                self.appdata += d
        out = self.out.read()
        if out and self.client_random is None:
            self.client_random = hello_random(out, 1)
        return out

    # EAP-TLS ---------------------------------------------------------------------------------
    def exchange(self, eap, state):
        self.rounds += 1
        if self.rounds > MAX_ROUNDS:
            raise PeerError("more than %d rounds" % MAX_ROUNDS)
        if time.monotonic() > self.deadline:
            raise PeerError("authentication took longer than %d s" % AUTH_TIMEOUT)
        reply, auth = self.peer.nas.request(self.identity, eap, state)
        self.reply, self.req_auth = reply, auth
        return reply

    def frag_size(self):
        if self.args.mtu:
            return max(self.args.mtu - 10, 16)
        return self.args.fragment_size

    def fragments(self, data):
        fs = self.frag_size()
        if not data:
            return [b"\x00"]
        if len(data) <= fs:
            return [b"\x00" + data]
        res = []
        for i in range(0, len(data), fs):
            chunk = data[i:i + fs]
            more = i + fs < len(data)
            if i == 0:
                res.append(bytes([TLS_L | TLS_M]) + struct.pack("!I", len(data)) + chunk)
            else:
                res.append(bytes([TLS_M if more else 0]) + chunk)
        return res

    def run(self):
        self.deadline = time.monotonic() + AUTH_TIMEOUT
        eid = int.from_bytes(os.urandom(1), "big")
        sent = eap_pkt(EAP_RESPONSE, eid, EAP_IDENTITY, self.identity.encode())
        say("  r1 -> EAP-Response/Identity %r" % self.identity)
        reply = self.exchange(sent, None)
        queue = []          # EAP-TLS type data still to send (fragments of our flight)
        inbuf, in_len = b"", None
        started = False
        while True:
            eap = reply.eap()
            if reply.code in (ACCESS_ACCEPT, ACCESS_REJECT):
                want = EAP_SUCCESS if reply.code == ACCESS_ACCEPT else EAP_FAILURE
                code = parse_eap(eap)[0] if eap else None
                say("  <- %s (EAP %s)" % (reply.name(), {3: "Success", 4: "Failure"}.get(
                    code, "none" if code is None else "code %d" % code)))
                if code != want:
                    self.problems.append("%s carries EAP code %s" % (reply.name(), code))
                self.outcome = "accept" if reply.code == ACCESS_ACCEPT else "reject"
                return
            if reply.code != ACCESS_CHALLENGE:
                raise PeerError("unexpected %s" % reply.name())
            state = reply.first(A_STATE)
            code, eid, typ, data = parse_eap(eap)
            if code != EAP_REQUEST:
                raise PeerError("Access-Challenge with EAP code %d" % code)
            self.max_req = max(self.max_req, len(eap))
            if typ != EAP_TLS:
                raise PeerError("EAP-Request of type %d, not EAP-TLS" % typ)
            if not data:
                raise PeerError("EAP-TLS request without flags")
            flags = data[0]
            frag = data[5:] if flags & TLS_L else data[1:]
            if flags & TLS_L and len(data) < 5:
                raise PeerError("EAP-TLS L flag without length")
            desc = "<- Challenge EAP-TLS id=%d flags=%s %dB" % (eid, flag_str(flags), len(frag))
            if flags & TLS_S:
                if started:
                    raise PeerError("second EAP-TLS Start")
                started = True
                queue = self.fragments(self.tls_step(b""))
            elif queue:
                # we are sending a fragmented flight: this must be the server's ACK
                if frag or flags & (TLS_M | TLS_L):
                    raise PeerError("expected an EAP-TLS ACK, got flags=%s %dB" % (
                        flag_str(flags), len(frag)))
            else:
                if not started:
                    raise PeerError("EAP-TLS without a Start first")
                if flags & TLS_L:
                    L = struct.unpack("!I", data[1:5])[0]
                    if in_len is None and not inbuf:
                        in_len = L
                inbuf += frag
                if flags & TLS_M:
                    queue = [b"\x00"]  # ACK the fragment
                else:
                    if in_len is not None and in_len != len(inbuf):
                        self.problems.append("EAP-TLS length %d but %d bytes" % (in_len, len(inbuf)))
                    msg, inbuf, in_len = inbuf, b"", None
                    queue = self.fragments(self.tls_step(msg))
            tls = queue.pop(0)
            rflags = tls[0]
            rlen = len(tls) - (5 if rflags & TLS_L else 1)
            say("  r%d %s | -> EAP-TLS id=%d flags=%s %dB%s" % (
                self.rounds + 1, desc, eid, flag_str(rflags), rlen, " (ACK)" if rlen == 0 else ""))
            reply = self.exchange(eap_pkt(EAP_RESPONSE, eid, EAP_TLS, tls), state)

    # results ---------------------------------------------------------------------------------
    def msk(self):
        """(MSK or None, why not)"""
        if not self.hs_done:
            return None, "handshake not finished"
        if self.client_random is None:
            return None, "no ClientHello random seen"
        keys = read_keylog(self.peer.keylog) if self.peer.keylog else {}
        ver = self.obj.version()
        h = hash_for(self.obj.cipher()[0])
        if ver == "TLSv1.3":
            es = keys.get(("EXPORTER_SECRET", self.client_random))
            if es is None:
                return None, "no EXPORTER_SECRET in the key log"
            return tls13_exporter(h, es, b"EXPORTER_EAP_TLS_Key_Material", b"\x0d", 128), ""
        if ver == "TLSv1.2":
            ms = keys.get(("CLIENT_RANDOM", self.client_random))
            sid = self.obj.session.id if self.obj.session is not None else b""
            if ms is None and self.obj.session_reused:
                ms = self.peer.master_secrets.get(sid)
            if ms is None:
                return None, "no master secret in the key log"
            if sid:
                self.peer.master_secrets[sid] = ms
            if self.server_random is None:
                return None, "no ServerHello random seen"
            return tls12_prf(h, ms, b"client EAP encryption",
                             self.client_random + self.server_random, 128), ""
        return None, "TLS version %s" % ver

    def check_mppe(self):
        """"ok", "unchecked: why" or "MISMATCH ..." """
        v = {t: val for vendor, t, val in self.reply.vsas() if vendor == 311 and t in (16, 17)}
        if 16 not in v or 17 not in v:
            return "MISSING (MS-MPPE-Send-Key/Recv-Key not in the Access-Accept)"
        try:
            recv = decrypt_mppe(v[17], self.peer.secret, self.req_auth)
            send = decrypt_mppe(v[16], self.peer.secret, self.req_auth)
        except PeerError as e:
            return "MISMATCH (%s)" % e
        if self.args.no_mppe_check:
            return "skipped"
        msk, why = self.msk()
        if msk is None:
            return "unchecked: " + why
        bad = []
        if recv != msk[0:32]:
            bad.append("Recv-Key (%d bytes) != MSK[0:32]" % len(recv))
        if send != msk[32:64]:
            bad.append("Send-Key (%d bytes) != MSK[32:64]" % len(send))
        return "MISMATCH (%s)" % ", ".join(bad) if bad else "ok"

    def reply_attrs(self):
        res = []
        for t, v in self.reply.attrs:
            if t in (A_EAP, A_MA, A_STATE):
                continue
            if t == A_VSA and len(v) >= 6:
                vendor = struct.unpack("!I", v[:4])[0]
                if vendor == 311 and v[4] in (16, 17):
                    res.append("MS-MPPE-%s-Key = <%d bytes>" % ("Send" if v[4] == 16 else "Recv",
                                                                len(v) - 6))
                    continue
                res.append("Vendor-%d-Attr-%d = 0x%s" % (vendor, v[4], v[6:].hex()))
                continue
            name = ATTR_NAMES.get(t, "Attr-%d" % t)
            if t in TEXT_ATTRS or (t == 81 and v and all(32 <= c < 127 for c in v[1:])):
                s = v[1:] if t == 81 and v and v[0] < 0x20 else v
                res.append('%s = "%s"' % (name, s.decode("utf-8", "replace")))
            elif len(v) == 4:
                res.append("%s = %d" % (name, struct.unpack("!I", v)[0]))
            else:
                res.append("%s = 0x%s" % (name, v.hex()))
        return res


# ---------------------------------------------------------------------------------------------


class Peer:
    def __init__(self, args):
        self.args = args
        self.secret = args.secret.encode()
        self.nas = Nas(args.host, args.port, self.secret, args)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = bool(args.server_name)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.ca)
        if args.cert:
            ctx.load_cert_chain(args.cert, args.key or None)
        if args.tls == "1.2":
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        elif args.tls == "1.3":
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
        else:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.tmpdir = None
        self.keylog = None
        if not args.no_mppe_check:
            self.tmpdir = tempfile.mkdtemp(prefix="eap_peer.")
            self.keylog = os.path.join(self.tmpdir, "keylog")
            ctx.keylog_filename = self.keylog
        self.ctx = ctx
        self.master_secrets = {}

    def close(self):
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def pick(lst, i):
    return lst[min(i, len(lst) - 1)]


def wait_pause(path, n):
    with open(path + ".waiting", "w") as f:
        f.write("%d\n" % n)
    say("  waiting for %s" % path)
    end = time.monotonic() + 30
    while not os.path.exists(path):
        if time.monotonic() > end:
            os.unlink(path + ".waiting")
            return False
        time.sleep(0.05)
    os.unlink(path)
    os.unlink(path + ".waiting")
    return True


def main():
    ap = argparse.ArgumentParser(description="EAP-TLS peer + NAS for testing kagid")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1812)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--ca", required=True, help="CA file to verify the server certificate")
    ap.add_argument("--cert", help="client certificate (PEM); without it no client certificate")
    ap.add_argument("--key", help="client private key (PEM)")
    ap.add_argument("--tls", choices=("1.2", "1.3", "any"), default="any")
    ap.add_argument("--identity", default="anonymous", help="EAP identity, or a comma list")
    ap.add_argument("--server-name", help="check the server certificate against this name")
    ap.add_argument("--mtu", type=int, help="send Framed-MTU and keep our EAP packets within it")
    ap.add_argument("--fragment-size", type=int, default=1000,
                    help="TLS bytes per EAP-TLS fragment we send (without --mtu)")
    ap.add_argument("--calling-station-id", default="02-00-00-00-00-01")
    ap.add_argument("--count", type=int, default=1, help="authentications in a row (resuming)")
    ap.add_argument("--expect", default="accept", help="accept|reject|any, or a comma list")
    ap.add_argument("--expect-resumed", default="any", help="yes|no|any, or a comma list")
    ap.add_argument("--pause-file", help="before auth 2..N wait until this file exists")
    ap.add_argument("--session-file", help="write the last TLS session's description here")
    ap.add_argument("--no-mppe-check", action="store_true",
                    help="do not derive the MSK (the MPPE attributes must still be present)")
    ap.add_argument("--show-attrs", action="store_true", help="print the final reply's attributes")
    args = ap.parse_args()
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")
    if not 1 <= args.count <= 20:
        ap.error("--count must be 1..20")
    idents = args.identity.split(",")
    expects = args.expect.split(",")
    resumes = args.expect_resumed.split(",")
    for e in expects:
        if e not in ("accept", "reject", "any"):
            ap.error("--expect: %r" % e)
    for r in resumes:
        if r not in ("yes", "no", "any"):
            ap.error("--expect-resumed: %r" % r)

    peer = Peer(args)
    ok = True
    session = None
    try:
        for i in range(args.count):
            if i > 0 and args.pause_file and not wait_pause(args.pause_file, i + 1):
                say("auth %d: not run (no %s within 30 s)" % (i + 1, args.pause_file))
                ok = False
                break
            ident = pick(idents, i)
            say("auth %d: identity %s, TLS %s, %s, %s" % (
                i + 1, ident, args.tls, "client cert " + os.path.basename(args.cert)
                if args.cert else "no client cert",
                "offering the previous session (id %dB, ticket %s)" % (
                    len(session.id), "yes" if session.has_ticket else "no")
                if session is not None else "no session to offer"))
            a = Auth(peer, i + 1, ident, session)
            try:
                a.run()
            except PeerError as e:
                a.outcome = "error"
                a.problems.append(str(e))
            # the session of this conversation (even a failed one) is offered by the next
            try:
                s = a.obj.session
            except (ValueError, ssl.SSLError):
                s = None
            if s is not None:
                session = s
            resumed = a.hs_done and a.obj.session_reused
            mppe = "-"
            if a.outcome == "accept":
                mppe = a.check_mppe()
                if mppe not in ("ok", "skipped"):
                    a.problems.append("MPPE keys: " + mppe)
                if a.hs_done and a.obj.version() == "TLSv1.3" and b"\x00" not in a.appdata:
                    a.problems.append("TLS 1.3 accept without the commitment message (0x00)")
            want, want_res = pick(expects, i), pick(resumes, i)
            if want != "any" and a.outcome != want:
                a.problems.append("outcome %s, expected %s" % (a.outcome, want))
            if want_res != "any" and resumed != (want_res == "yes"):
                a.problems.append("resumed=%s, expected %s" % (resumed, want_res))
            say("auth %d: %s tls=%s resumed=%s offered=%s mppe=%s rounds=%d max_eap_request=%d%s" % (
                i + 1, a.outcome, (a.obj.version() or "-") if a.hs_done else "-", "yes" if resumed else "no",
                "yes" if a.offered else "no", mppe, a.rounds, a.max_req,
                " tls_error=%r" % a.tls_error if a.tls_error else ""))
            if a.reply is not None and (args.show_attrs or a.outcome == "accept"):
                for line in a.reply_attrs():
                    say("  reply: " + line)
            for p in a.problems:
                say("  PROBLEM: " + p)
                ok = False
        if args.session_file:
            with open(args.session_file, "w") as f:
                if session is None:
                    f.write("none\n")
                else:
                    f.write("id=%s has_ticket=%s timeout=%d\n" % (
                        session.id.hex(), session.has_ticket, session.timeout))
    finally:
        peer.close()
    say("RESULT: %s" % ("OK" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
