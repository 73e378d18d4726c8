#!/usr/bin/env bash
# certs/mkpki.sh: interim demo/test PKI for kagi (openssl CLI only; OpenSSL 3.0).
# A `kagi cert` CLI will replace it. See certs/README.md.
#
#   mkpki.sh [--test] [--force] OUTDIR   create the PKI in OUTDIR (does nothing if OUTDIR/ca.pem
#                                        exists, unless --force)
#   mkpki.sh --revoke OUTDIR NAME        revoke OUTDIR/NAME.pem, rewrite OUTDIR/ca.crl atomically
#
# The CA database (index.txt, serial, crlnumber, openssl.cnf) lives in OUTDIR/ca/. All paths in
# it are relative to that directory, so OUTDIR can be copied or moved as a whole.
set -euo pipefail
umask 077

prog=${0##*/}
usage() {
	cat >&2 <<EOF
usage: $prog [--test] [--force] OUTDIR
       $prog --revoke OUTDIR NAME
EOF
	exit 2
}
die() { echo "$prog: $*" >&2; exit 1; }

command -v openssl >/dev/null || die "openssl not found"

mode=create test=0 force=0
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--test) test=1 ;;
	--force) force=1 ;;
	--revoke) mode=revoke ;;
	-h | --help) usage ;;
	--) shift; args+=("$@"); break ;;
	-*) echo "$prog: unknown option $1" >&2; usage ;;
	*) args+=("$1") ;;
	esac
	shift
done

CA_DAYS=3650
SERVER_DAYS=730
CLIENT_DAYS=730
CRL_DAYS=30

# ca_cmd CADIR ARGS...: run `openssl ca` on the database in CADIR (cwd = CADIR).
ca_cmd() {
	local dir=$1
	shift
	(cd "$dir" && openssl ca -config openssl.cnf -batch "$@")
}

# gencrl OUTDIR: regenerate OUTDIR/ca.crl atomically (temp file in OUTDIR, then mv).
gencrl() {
	local out=$1 tmp
	tmp=$(mktemp "$out/.ca.crl.XXXXXX")
	if ! ca_cmd "$out/ca" -gencrl -crldays "$CRL_DAYS" -out "$tmp" 2>"$tmp.err"; then
		cat "$tmp.err" >&2
		rm -f "$tmp" "$tmp.err"
		die "could not generate the CRL"
	fi
	rm -f "$tmp.err"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$out/ca.crl"
}

if [ "$mode" = revoke ]; then
	[ ${#args[@]} -eq 2 ] || usage
	out=${args[0]} name=${args[1]}
	case $name in */* | "" | .*) die "bad certificate name: $name" ;; esac
	[ -f "$out/ca/openssl.cnf" ] || die "$out/ca/openssl.cnf not found (not a mkpki.sh PKI)"
	[ -f "$out/$name.pem" ] || die "$out/$name.pem not found"
	out=$(cd "$out" && pwd)
	# Refuse a certificate that this CA did not issue (e.g. mallory, signed by other-ca).
	if ! openssl verify -partial_chain -no_check_time -CAfile "$out/ca.pem" \
		"$out/$name.pem" >/dev/null 2>&1; then
		die "$name.pem was not issued by $out/ca.pem"
	fi
	if ! err=$(ca_cmd "$out/ca" -revoke "$out/$name.pem" -crl_reason keyCompromise 2>&1); then
		if printf '%s' "$err" | grep -q "Already revoked"; then
			echo "$prog: $name is already revoked"
		else
			printf '%s\n' "$err" >&2
			die "could not revoke $name"
		fi
	fi
	gencrl "$out"
	echo "$prog: revoked $name (serial $(openssl x509 -in "$out/$name.pem" -noout -serial | cut -d= -f2)); wrote $out/ca.crl"
	exit 0
fi

[ ${#args[@]} -eq 1 ] || usage
out=${args[0]}

# Everything this script may create in OUTDIR (for --force).
all_names="ca server alice server-ec bob carol dave erin frank grace other-ca mallory"

if [ -e "$out/ca.pem" ]; then
	if [ "$force" -eq 0 ]; then
		echo "$prog: $out/ca.pem exists; PKI left as it is (use --force to recreate it)"
		exit 0
	fi
	for n in $all_names; do rm -f "$out/$n.pem" "$out/$n.key"; done
	rm -rf "$out/ca" "$out/ca.crl"
fi

if [ ! -d "$out" ]; then
	mkdir -p "$out"
	chmod 0755 "$out" # certificates and the CRL readable; keys are 0600
fi
out=$(cd "$out" && pwd)
# Build in a temp dir inside OUTDIR, move into place at the end (ca.pem last), so that an
# interrupted run leaves no half-made PKI behind.
work=$(mktemp -d "$out/.mkpki.XXXXXX")
trap 'rm -rf "$work"' EXIT
cad=$work/ca
mkdir -p "$cad/newcerts" "$cad/ext"
: >"$cad/index.txt"
echo "unique_subject = no" >"$cad/index.txt.attr"
# Random positive 64-bit starting serial; `openssl ca` increments it.
printf '%02X%s\n' $((0x$(openssl rand -hex 1) & 0x7f | 0x10)) "$(openssl rand -hex 7 | tr a-f A-F)" >"$cad/serial"
echo 1000 >"$cad/crlnumber"

cat >"$cad/openssl.cnf" <<'EOF'
# OpenSSL CA configuration written by certs/mkpki.sh. Paths are relative to this directory:
# run `openssl ca -config openssl.cnf ...` from here.
[ ca ]
default_ca = kagi_ca

[ kagi_ca ]
dir              = .
database         = $dir/index.txt
new_certs_dir    = $dir/newcerts
serial           = $dir/serial
crlnumber        = $dir/crlnumber
certificate      = $dir/../ca.pem
private_key      = $dir/../ca.key
default_md       = sha256
default_days     = 730
default_crl_days = 30
policy           = policy_any
unique_subject   = no
copy_extensions  = none
preserve         = no
email_in_dn      = yes
crl_extensions   = crl_ext

[ policy_any ]
commonName             = supplied
countryName            = optional
stateOrProvinceName    = optional
localityName           = optional
organizationName       = optional
organizationalUnitName = optional
emailAddress           = optional

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ req ]
distinguished_name = req_dn
prompt             = no
default_md         = sha256

[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF

# --- keys: generated in parallel (RSA key generation is the cost) ---
# spec: NAME:rsa|ec
keyspec="ca:rsa server:rsa alice:rsa"
if [ "$test" -eq 1 ]; then
	keyspec="$keyspec server-ec:ec bob:ec carol:rsa dave:rsa erin:rsa frank:rsa grace:rsa"
	keyspec="$keyspec other-ca:rsa mallory:rsa"
fi
genkey() {
	local name=$1 alg=$2
	case $alg in
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/$name.key" ;;
	ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-pkeyopt ec_param_enc:named_curve -out "$work/$name.key" ;;
	esac 2>"$work/$name.keyerr"
}
pids=()
for spec in $keyspec; do
	genkey "${spec%%:*}" "${spec##*:}" &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || die "key generation failed: $(cat "$work"/*.keyerr)"; done
rm -f "$work"/*.keyerr
chmod 0600 "$work"/*.key

# --- certificates ---
# mkca NAME CN: self-signed root CA
mkca() {
	local name=$1 cn=$2
	openssl req -config "$cad/openssl.cnf" -new -x509 -key "$work/$name.key" \
		-subj "/CN=$cn" -days "$CA_DAYS" -sha256 -extensions v3_ca \
		-set_serial "0x$(openssl rand -hex 8 | sed 's/^./1/')" -out "$work/$name.pem"
}

# ext_server / ext_client SAN [EKU] [KU]: print an extension section for `openssl ca -extfile`
ext_leaf() {
	local san=$1 eku=$2 ku=$3
	echo "basicConstraints = critical, CA:FALSE"
	echo "keyUsage = critical, $ku"
	[ -n "$eku" ] && echo "extendedKeyUsage = $eku"
	echo "subjectKeyIdentifier = hash"
	echo "authorityKeyIdentifier = keyid, issuer"
	echo "subjectAltName = $san"
}

# issue NAME CN SAN EKU KU [openssl ca date args...]: sign a leaf with the kagi CA
issue() {
	local name=$1 cn=$2 san=$3 eku=$4 ku=$5
	shift 5
	ext_leaf "$san" "$eku" "$ku" >"$cad/ext/$name.ext"
	openssl req -new -key "$work/$name.key" -subj "/CN=$cn" -out "$cad/ext/$name.csr" \
		-config "$cad/openssl.cnf"
	ca_cmd "$cad" -notext -in "ext/$name.csr" -out "../$name.pem" \
		-extfile "ext/$name.ext" "$@"
	rm -f "$cad/ext/$name.csr"
}

# issue_other NAME CN SAN EKU KU CA: sign a leaf with another CA (no database: x509 -req)
issue_other() {
	local name=$1 cn=$2 san=$3 eku=$4 ku=$5 ca=$6
	ext_leaf "$san" "$eku" "$ku" >"$work/$name.ext"
	openssl req -new -key "$work/$name.key" -subj "/CN=$cn" -out "$work/$name.csr" \
		-config "$cad/openssl.cnf"
	openssl x509 -req -in "$work/$name.csr" -CA "$work/$ca.pem" -CAkey "$work/$ca.key" \
		-set_serial "0x$(openssl rand -hex 8 | sed 's/^./1/')" -days "$CLIENT_DAYS" -sha256 \
		-extfile "$work/$name.ext" -out "$work/$name.pem"
	rm -f "$work/$name.csr" "$work/$name.ext"
}

server() { issue "$1" radius.kagi.test DNS:radius.kagi.test serverAuth "$2" -days "$SERVER_DAYS"; }
client() { local n=$1 u=$2; shift 2; issue "$n" "$u" "email:$u" "$@"; }

# Quiet while it works; on failure the EXIT trap shows the log.
exec 3>&1 4>&2 >"$work/mkpki.log" 2>&1
trap 'rc=$?; if [ $rc -ne 0 ]; then exec 1>&3 2>&4; cat "$work/mkpki.log" >&2; echo "$prog: failed" >&2; fi; rm -rf "$work"' EXIT
{
	mkca ca "Kagi Demo CA"
	server server "digitalSignature, keyEncipherment"
	client alice alice@example.org clientAuth digitalSignature -days "$CLIENT_DAYS"

	if [ "$test" -eq 1 ]; then
		server server-ec digitalSignature
		client bob bob@example.org clientAuth digitalSignature -days "$CLIENT_DAYS"
		client carol carol@example.org clientAuth digitalSignature -days "$CLIENT_DAYS"
		client dave dave@example.org clientAuth digitalSignature \
			-startdate 20200101000000Z -enddate 20210101000000Z
		client erin erin@example.org "" digitalSignature -days "$CLIENT_DAYS"
		client frank frank@example.org serverAuth digitalSignature -days "$CLIENT_DAYS"
		client grace grace@example.org clientAuth digitalSignature -days "$CLIENT_DAYS"
		ca_cmd "$cad" -revoke ../carol.pem -crl_reason keyCompromise
		mkca other-ca "Evil CA"
		issue_other mallory mallory@example.org email:mallory@example.org clientAuth \
			digitalSignature other-ca
	fi

	gencrl "$work"
}
exec 1>&3 2>&4 3>&- 4>&-
rm -f "$work/mkpki.log"
chmod 0644 "$work"/*.pem "$work/ca.crl"
chmod 0600 "$work"/*.key

# --- move into place: database and leaves first, ca.pem last ---
rm -rf "$out/ca"
mv "$cad" "$out/ca"
for f in "$work"/*.key "$work"/*.pem "$work/ca.crl"; do
	case ${f##*/} in ca.pem) continue ;; esac
	mv -f "$f" "$out/"
done
mv -f "$work/ca.pem" "$out/ca.pem"

echo "$prog: PKI written to $out"
for f in "$out"/*.pem; do
	printf '  %-14s %s\n' "${f##*/}" "$(openssl x509 -in "$f" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
done
