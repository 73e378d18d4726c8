#!/usr/bin/env python3
"""bench/configure.py: write one benchmark server's configuration for one scenario.

    configure.py kagid|freeradius|hostapd --scenario tls12|tls13|resume|peap --dir OUT
                 --pki PKI --port PORT --secret SECRET --password PW [--session-timeout SEC]

All three servers get the same PKI (certs/mkpki.sh --test), the same shared secret, the same
password user (alice, for PEAP), CRL checking on, TLS 1.2 and 1.3 enabled and resumption on. In
every scenario each server proposes the scenario's EAP method first (TLS, or PEAP for "peap"),
so no server pays a Nak round the others do not. The server certificate is RSA-2048
(server.pem), or ECDSA P-256 (server-ec.pem) in the TLS 1.3 scenario.

The FreeRADIUS configuration is a copy of the stock Debian /etc/freeradius/3.0 with only what a
benchmark needs changed (see edit_freeradius): the default site, modules and policies stay as
an administrator would run them. The start command for the server is printed on stdout as JSON
({"argv": [...], "ready": "text printed on stdout/stderr once listening"}).

--session-timeout SEC (the memory cell) lets everything a conversation leaves behind expire
after SEC idle seconds: the unfinished EAP conversation and the copy of the last reply kept for
retransmissions. kagid: `limits { session_timeout, dup_cache_time }`; FreeRADIUS:
`eap { timer_expire }` and `cleanup_delay` in radiusd.conf. hostapd's RADIUS server has no such
setting (RADIUS_SESSION_TIMEOUT, 60 s, is compiled in): its output then says
"session_timeout": null. Without the option the output carries each server's default.
"""

import argparse
import json
import os
import re
import shutil
import sys

FR_STOCK = "/etc/freeradius/3.0"


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def server_cert(a):
    name = "server-ec" if a.scenario == "tls13" else "server"
    return os.path.join(a.pki, name + ".pem"), os.path.join(a.pki, name + ".key")


def first_method(a):
    return "peap" if a.scenario == "peap" else "tls"


# ------------------------------------------------------------------------------------------
# kagid


def conf_kagid(a):
    cert, key = server_cert(a)
    order = ["peap", "tls", "ttls"] if first_method(a) == "peap" else ["tls", "peap", "ttls"]
    write(os.path.join(a.dir, "kagi.conf"), f"""# written by bench/configure.py ({a.scenario})
listen {{
    ipaddr = 127.0.0.1
    port = {a.port}
}}
tls {{
    certificate = {cert}
    private_key = {key}
    ca_file = {a.pki}/ca.pem
    crl_file = {a.pki}/ca.crl
    check_crl = yes
    min_version = "1.2"
    max_version = "1.3"
    resumption = yes
""" + (f"    chain_cache_size = {a.chain_cache}\n" if a.chain_cache is not None else "") + f"""}}
eap {{
    methods = {{ {", ".join(order)} }}
}}
log {{
    auth_log = "{a.dir}/auth.log"
}}
""" + (f"""limits {{
    session_timeout = {a.session_timeout}
    dup_cache_time = {a.session_timeout}
}}
""" if a.session_timeout else ""))
    write(os.path.join(a.dir, "clients.conf"), f"""client bench {{
    ipaddr = 127.0.0.1
    secret = "{a.secret}"
    shortname = bench
}}
""")
    write(os.path.join(a.dir, "users"), f"""user alice {{
    password = "{a.password}"
}}
""")
    kagid = os.environ.get("KAGID", "bin/kagid")
    return {"argv": [kagid, "-d", a.dir, "-f"], "ready": "Ready to process requests",
            "session_timeout": a.session_timeout or 30}


# ------------------------------------------------------------------------------------------
# FreeRADIUS 3.2


def fr_sections(lines):
    """Yield (index, section path as a tuple of names, line) for a FreeRADIUS config file."""
    path = []
    for i, line in enumerate(lines):
        code = re.sub(r"\$\{[^}]*\}", "", line.split("#", 1)[0])
        yield i, tuple(path), line
        opens = re.findall(r"([\w.-]+(?:\s+[\w.-]+)?)\s*\{", code)
        for name in opens:
            path.append(name.split()[0])
        for _ in range(code.count("}")):
            if path:
                path.pop()


def drop_blocks(text, start_re):
    """Remove every top-level-in-its-parent block whose first line matches start_re."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        if re.match(start_re, lines[i]):
            depth = 0
            while i < len(lines):
                code = lines[i].split("#", 1)[0]
                depth += code.count("{") - code.count("}")
                i += 1
                if depth <= 0:
                    break
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def edit_freeradius(a, raddb):
    cert, key = server_cert(a)
    eap_path = os.path.join(raddb, "mods-available", "eap")
    lines = open(eap_path).read().split("\n")
    seen = set()
    for i, path, line in fr_sections(lines):
        s = line.strip()
        ind = line[:len(line) - len(line.lstrip())]
        top = path == ("eap",)
        tlsc = path == ("eap", "tls-config")
        cache = path == ("eap", "tls-config", "cache")
        if top and s.startswith("timer_expire") and a.session_timeout:
            lines[i] = f"{ind}timer_expire = {a.session_timeout}"
            seen.add("timer_expire")
        elif top and s.startswith("default_eap_type"):
            lines[i] = f"{ind}default_eap_type = {first_method(a)}"
            seen.add("default_eap_type")
        elif tlsc and s.startswith("private_key_password"):
            lines[i] = ind + "#" + s
        elif tlsc and s.startswith("private_key_file"):
            lines[i] = f"{ind}private_key_file = {key}"
            seen.add("key")
        elif tlsc and s.startswith("certificate_file"):
            lines[i] = f"{ind}certificate_file = {cert}"
            seen.add("cert")
        elif tlsc and s.startswith("ca_file"):
            # CA and CRL in one file: OpenSSL loads both, and check_crl needs the CRL there
            # (or in a hashed ca_path).
            lines[i] = f"{ind}ca_file = {a.pki}/ca+crl.pem"
            seen.add("ca")
        elif tlsc and re.match(r"ca_path\s*=", s):
            lines[i] = ind + "#" + s  # stock ${cadir} would add the Debian test CAs
        elif tlsc and re.match(r"#\s*check_crl\s*=", s):
            lines[i] = f"{ind}check_crl = yes"
            seen.add("crl")
        elif tlsc and s.startswith("tls_max_version"):
            lines[i] = f'{ind}tls_max_version = "1.3"'
            seen.add("max")
        elif cache and s.startswith("enable"):
            lines[i] = f"{ind}enable = yes"
            seen.add("cache")
        elif cache and re.match(r"#\s*name\s*=", s):
            lines[i] = f'{ind}name = "kagi-bench"'
            seen.add("name")
        elif cache and re.match(r"#\s*persist_dir\s*=", s):
            lines[i] = f'{ind}persist_dir = "{a.dir}/tlscache"'
            seen.add("persist")
    need = {"default_eap_type", "key", "cert", "ca", "crl", "max", "cache", "name", "persist"}
    if a.session_timeout:
        need.add("timer_expire")
    if need - seen:
        sys.exit(f"configure.py: stock mods-available/eap changed; could not set {sorted(need - seen)}")
    write(eap_path, "\n".join(lines))
    os.makedirs(os.path.join(a.dir, "tlscache"), mode=0o700, exist_ok=True)

    conf = os.path.join(raddb, "radiusd.conf")
    text = open(conf).read()
    subs = [
        (r"(?m)^(\s*)user = freerad$", r"\1#user = freerad"),
        (r"(?m)^(\s*)group = freerad$", r"\1#group = freerad"),
        # stock 1: every Reject is held for a second; no Reject is expected here, and a failed
        # auth should not stall the load generator's slot
        (r"(?m)^(\s*)reject_delay = 1$", r"\g<1>reject_delay = 0"),
        (r"(?m)^logdir = .*$", f"logdir = {a.dir}/log"),
        (r"(?m)^run_dir = .*$", f"run_dir = {a.dir}/run"),
    ]
    if a.session_timeout:
        # how long a request (and its reply, for retransmissions) is kept after the reply
        subs.append((r"(?m)^cleanup_delay = 5$", f"cleanup_delay = {a.session_timeout}"))
    for pat, rep in subs:
        text, n = re.subn(pat, rep, text)
        if n != 1:
            sys.exit(f"configure.py: stock radiusd.conf changed ({pat})")
    write(conf, text)
    for d in ("log", "run", "log/radacct"):
        os.makedirs(os.path.join(a.dir, d), exist_ok=True)

    # default site: only our auth listener (no acct, no IPv6, no port 1812)
    site = os.path.join(raddb, "sites-available", "default")
    text = drop_blocks(open(site).read(), r"^listen \{")
    text, n = re.subn(r"(?m)^server default \{$",
                      "server default {\nlisten {\n\ttype = auth\n\tipaddr = 127.0.0.1\n"
                      f"\tport = {a.port}\n}}", text)
    if n != 1:
        sys.exit("configure.py: stock sites-available/default changed")
    write(site, text)
    # inner-tunnel: its debugging listener on 127.0.0.1:18120 is not needed for PEAP
    site = os.path.join(raddb, "sites-available", "inner-tunnel")
    write(site, drop_blocks(open(site).read(), r"^listen \{"))

    write(os.path.join(raddb, "clients.conf"), f"""client bench {{
\tipaddr = 127.0.0.1
\tsecret = "{a.secret}"
\tshortname = bench
}}
""")
    users = os.path.join(raddb, "mods-config", "files", "authorize")
    stock = open(users).read()
    write(users, f'alice\tCleartext-Password := "{a.password}"\n\n' + stock)


def conf_freeradius(a):
    raddb = os.path.join(a.dir, "raddb")
    shutil.copytree(FR_STOCK, raddb, symlinks=True)
    edit_freeradius(a, raddb)
    return {"argv": ["freeradius", "-d", raddb, "-f", "-l", "stdout"],
            "ready": "Ready to process requests", "session_timeout": a.session_timeout or 60}


# ------------------------------------------------------------------------------------------
# hostapd 2.10 integrated RADIUS server


def conf_hostapd(a):
    cert, key = server_cert(a)
    m = "PEAP,TLS,TTLS" if first_method(a) == "peap" else "TLS,PEAP,TTLS"
    write(os.path.join(a.dir, "eap_user"), f"""# phase 1: any identity; the first method listed is proposed first
*\t{m}
# phase 2 (inside PEAP/TTLS)
"alice"\tMSCHAPV2,GTC,TTLS-PAP,TTLS-MSCHAPV2\t"{a.password}"\t[2]
""")
    write(os.path.join(a.dir, "clients"), f"127.0.0.1/32 {a.secret}\n")
    write(os.path.join(a.dir, "hostapd.conf"), f"""# written by bench/configure.py ({a.scenario})
driver=none
interface=bench
logger_stdout=-1
logger_stdout_level=2
eap_server=1
eap_user_file={a.dir}/eap_user
radius_server_clients={a.dir}/clients
radius_server_auth_port={a.port}
ca_cert={a.pki}/ca+crl.pem
server_cert={cert}
private_key={key}
check_crl=1
crl_reload_interval=300
tls_flags=[ENABLE-TLSv1.3]
tls_session_lifetime=3600
""")
    # RADIUS_SESSION_TIMEOUT in hostapd's src/radius/radius_server.c: not configurable
    return {"argv": ["hostapd", os.path.join(a.dir, "hostapd.conf")], "ready": None,
            "session_timeout": None if a.session_timeout else 60}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("server", choices=["kagid", "freeradius", "hostapd"])
    p.add_argument("--scenario", required=True, choices=["tls12", "tls13", "resume", "peap"])
    p.add_argument("--dir", required=True)
    p.add_argument("--pki", required=True)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--secret", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--session-timeout", type=int, default=0,
                   help="idle seconds before an unfinished conversation expires (kagid, FreeRADIUS)")
    p.add_argument("--chain-cache", type=int, default=None,
                   help="kagid chain_cache_size (0: verify every client chain, as the peers do)")
    a = p.parse_args()
    a.dir, a.pki = os.path.abspath(a.dir), os.path.abspath(a.pki)
    os.makedirs(a.dir, mode=0o700, exist_ok=True)
    if not os.path.exists(os.path.join(a.pki, "ca+crl.pem")):
        with open(os.path.join(a.pki, "ca+crl.pem"), "w") as f:
            f.write(open(os.path.join(a.pki, "ca.pem")).read())
            f.write(open(os.path.join(a.pki, "ca.crl")).read())
    r = {"kagid": conf_kagid, "freeradius": conf_freeradius, "hostapd": conf_hostapd}[a.server](a)
    print(json.dumps(r))


if __name__ == "__main__":
    main()
