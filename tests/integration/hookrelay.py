#!/usr/bin/env python3
"""hookrelay.py UPSTREAM_PORT NTH DELAY PORTFILE MARKFILE CMD...

A RADIUS UDP relay on 127.0.0.1 (its port written to PORTFILE) in front of kagid. When it sees
the NTH EAP-Response/Identity (the start of the NTH conversation of an `eapol_test -r` run) it
runs CMD, records its result in MARKFILE, waits DELAY seconds, then forwards: a test can change
things (revoke a certificate, disable a user) between an authentication and a resumption.
Bounded: it exits after 60 seconds.
"""
import os, select, socket, subprocess, sys, time
upstream, nth, delay, portfile, markfile = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
cmd = sys.argv[6:]
down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
down.bind(("127.0.0.1", 0))
up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
up.connect(("127.0.0.1", upstream))
with open(portfile + ".tmp", "w") as f:
    f.write(str(down.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)

def is_identity_response(p):
    if len(p) < 20 or p[0] != 1:
        return False
    eap, i = b"", 20
    while i + 2 <= len(p):
        t, l = p[i], p[i + 1]
        if l < 2:
            break
        if t == 79:
            eap += p[i + 2:i + l]
        i += l
    return len(eap) >= 5 and eap[0] == 2 and eap[4] == 1

client, seen, fired = None, 0, False
deadline = time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([down, up], [], [], 0.5)
    for s in r:
        if s is down:
            data, client = down.recvfrom(65535)
            if is_identity_response(data) and not fired:
                seen += 1
                if seen == nth:
                    fired = True
                    res = subprocess.run(cmd, capture_output=True, text=True)
                    with open(markfile, "w") as f:
                        f.write(f"rc={res.returncode}\n{res.stdout}{res.stderr}")
                    time.sleep(delay)
            up.send(data)
        else:
            try:
                data = up.recv(65535)
            except OSError:
                continue
            if client:
                down.sendto(data, client)
