#!/usr/bin/env python3
"""ttls_pap_peer.py: a minimal EAP-TTLS/PAP peer + NAS for testing kagid's resumption rules.

    ttls_pap_peer.py --port P --secret S --ca ca.pem --user NAME --password PW[,PW...]
                     [--tls 1.2|1.3] [--count N] [--expect accept|reject[,...]]
                     [--expect-resumed yes|no[,...]]

Unlike wpa_supplicant, which offers its TLS session again only after a *successful*
authentication, this peer offers the session of the previous conversation whatever its outcome
(also after a rejected inner login): kagid must then run a full handshake (the session of a
failed conversation is never resumable). The TLS session is the one the server gave us: in
TLS 1.3 the ticket kagid sends after the handshake (the peer sends its Finished alone and reads
the ticket before sending its AVPs, as wpa_supplicant does); in TLS 1.2 the session ID.

Per conversation: EAP-Response/Identity "anonymous@example.org", EAP-TTLS handshake (RFC 5281;
no client certificate; a Nak if kagid proposes EAP-TLS first), then, on a full handshake, User-Name + User-Password AVPs (§11.2.5,
password NUL-padded to 16 octets); on a resumed one no AVPs (an empty TTLS response), like
wpa_supplicant. --password gives one password per conversation (the last one repeats).
--reuse-first offers the session of the first conversation in every later one (a ticket or
session ID used again after the server refused a resumption); --pause-file lets the test change
the configuration between conversation 1 and 2.

RADIUS, EAP framing and checks (Response Authenticator, Message-Authenticator) come from
eap_peer.py. Exit 0 only if every conversation ends as --expect / --expect-resumed say.
"""

import argparse
import os
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eap_peer import (ACCESS_ACCEPT, ACCESS_CHALLENGE, ACCESS_REJECT, EAP_FAILURE,  # noqa: E402
                      EAP_IDENTITY, EAP_REQUEST, EAP_RESPONSE, EAP_SUCCESS, TLS_L, TLS_M,
                      TLS_S, Nas, PeerError, eap_pkt, parse_eap, say)

EAP_TTLS = 21
EAP_NAK = 3
MAX_ROUNDS = 40


def avp(code, data):
    """A non-vendor AVP with the M flag, padded to 4 octets."""
    hdr = struct.pack("!IB", code, 0x40) + (8 + len(data)).to_bytes(3, "big")
    return hdr + data + b"\x00" * ((4 - (len(data) & 3)) & 3)


def pap_avps(user, password):
    pw = password.encode()
    pw += b"\x00" * ((16 - len(pw) % 16) % 16 if pw else 16)
    return avp(1, user.encode()) + avp(2, pw)


class Conversation:
    def __init__(self, args, ctx, nas, session, password):
        self.args, self.nas, self.password = args, nas, password
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=False)
        self.offered = False
        if session is not None:
            self.obj.session = session
            self.offered = True
        self.hs_done = False
        self.avps_sent = False
        self.naked = False
        self.rounds = 0

    def tls(self, data):
        """Feed server TLS bytes; return what to send (may be empty)."""
        if data:
            self.inc.write(data)
        if not self.hs_done:
            try:
                self.obj.do_handshake()
                self.hs_done = True
                say("  TLS handshake done: %s resumed=%s" % (self.obj.version(),
                                                              self.obj.session_reused))
            except ssl.SSLWantReadError:
                pass
        if self.hs_done:
            # post-handshake messages (the TLS 1.3 ticket); no application data expected
            try:
                d = self.obj.read(16384)
                if d:
                    raise PeerError("unexpected tunnel data from the server: %r" % d[:32])
            except ssl.SSLWantReadError:
                pass
        out = self.out.read()
        if not out and self.hs_done and not self.avps_sent and not self.obj.session_reused:
            # our own flight is out: now phase 2 (wpa_supplicant does the same)
            self.obj.write(pap_avps(self.args.user, self.password))
            self.avps_sent = True
            out = self.out.read()
        return out

    def run(self):
        eid = 1
        reply, _ = self.nas.request("anonymous@example.org",
                                    eap_pkt(EAP_RESPONSE, eid, EAP_IDENTITY,
                                            b"anonymous@example.org"), None)
        inbuf = b""
        queue = []
        while True:
            self.rounds += 1
            if self.rounds > MAX_ROUNDS:
                raise PeerError("too many rounds")
            eap = reply.eap()
            if reply.code in (ACCESS_ACCEPT, ACCESS_REJECT):
                code = parse_eap(eap)[0] if eap else None
                want = EAP_SUCCESS if reply.code == ACCESS_ACCEPT else EAP_FAILURE
                if code != want:
                    raise PeerError("%s with EAP code %s" % (reply.name(), code))
                return "accept" if reply.code == ACCESS_ACCEPT else "reject"
            if reply.code != ACCESS_CHALLENGE:
                raise PeerError("unexpected %s" % reply.name())
            state = reply.first(24)
            code, eid, typ, data = parse_eap(eap)
            if code == EAP_REQUEST and typ != EAP_TTLS and not self.naked:
                # another method proposed first (EAP-TLS): Nak, asking for TTLS
                self.naked = True
                reply, _ = self.nas.request("anonymous@example.org",
                                            eap_pkt(EAP_RESPONSE, eid, EAP_NAK, bytes([EAP_TTLS])),
                                            state)
                continue
            if code != EAP_REQUEST or typ != EAP_TTLS or not data:
                raise PeerError("expected an EAP-TTLS request, got code %d type %s" % (code, typ))
            flags = data[0]
            frag = data[5:] if flags & TLS_L else data[1:]
            if queue:
                if frag:
                    raise PeerError("expected an ACK while sending fragments")
            elif flags & TLS_S:
                queue = self.fragments(self.tls(b""))
            else:
                inbuf += frag
                if flags & TLS_M:
                    queue = [b"\x00"]
                else:
                    msg, inbuf = inbuf, b""
                    queue = self.fragments(self.tls(msg))
            reply, _ = self.nas.request("anonymous@example.org",
                                        eap_pkt(EAP_RESPONSE, eid, EAP_TTLS, queue.pop(0)), state)

    @staticmethod
    def fragments(data, size=1000):
        if not data:
            return [b"\x00"]
        if len(data) <= size:
            return [b"\x00" + data]
        res = []
        for i in range(0, len(data), size):
            more = i + size < len(data)
            if i == 0:
                res.append(bytes([TLS_L | TLS_M]) + struct.pack("!I", len(data)) + data[:size])
            else:
                res.append(bytes([TLS_M if more else 0]) + data[i:i + size])
        return res


def main():
    ap = argparse.ArgumentParser(description="EAP-TTLS/PAP peer + NAS for testing kagid")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True, help="one per conversation, comma-separated")
    ap.add_argument("--tls", choices=("1.2", "1.3"), default="1.3")
    ap.add_argument("--count", type=int, default=2)
    ap.add_argument("--expect", default="accept")
    ap.add_argument("--expect-resumed", default="no")
    ap.add_argument("--calling-station-id", default="02-00-00-00-00-02")
    ap.add_argument("--mtu", type=int, default=0)
    ap.add_argument("--reuse-first", action="store_true",
                    help="offer the session of conversation 1 in every later one")
    ap.add_argument("--pause-file", help="before conversation 2, write PATH.waiting and wait "
                    "(at most 20 s) until PATH exists")
    args = ap.parse_args()
    pick = lambda lst, i: lst[min(i, len(lst) - 1)]  # noqa: E731
    passwords = args.password.split(",")
    expects = args.expect.split(",")
    resumes = args.expect_resumed.split(",")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(args.ca)
    v = ssl.TLSVersion.TLSv1_2 if args.tls == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = ctx.maximum_version = v
    nas = Nas(args.host, args.port, args.secret.encode(), args)

    ok, session, first = True, None, None
    for i in range(args.count):
        if i == 1 and args.pause_file:
            open(args.pause_file + ".waiting", "w").close()
            end = time.monotonic() + 20
            while not os.path.exists(args.pause_file) and time.monotonic() < end:
                time.sleep(0.05)
            if not os.path.exists(args.pause_file):
                say("RESULT: FAIL (no %s within 20 s)" % args.pause_file)
                return 1
        if args.reuse_first and first is not None:
            session = first
        c = Conversation(args, ctx, nas, session, pick(passwords, i))
        try:
            outcome = c.run()
        except (PeerError, ssl.SSLError) as e:
            outcome = "error (%s)" % e
        try:
            s = c.obj.session
        except (ValueError, ssl.SSLError):
            s = None
        if s is not None:
            session = s  # offered next time, whatever happened
            if first is None:
                first = s
        resumed = c.hs_done and c.obj.session_reused
        problems = []
        if outcome != pick(expects, i):
            problems.append("outcome %s, expected %s" % (outcome, pick(expects, i)))
        if ("yes" if resumed else "no") != pick(resumes, i):
            problems.append("resumed=%s, expected %s" % (resumed, pick(resumes, i)))
        if i > 0 and not c.offered:
            problems.append("no session to offer (the server gave us none)")
        say("auth %d: %s tls=%s offered=%s resumed=%s session_has_ticket=%s%s" % (
            i + 1, outcome, c.obj.version() if c.hs_done else "-", c.offered, resumed,
            getattr(s, "has_ticket", None), "".join(" PROBLEM: " + p for p in problems)))
        ok = ok and not problems
    say("RESULT: %s" % ("OK" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
