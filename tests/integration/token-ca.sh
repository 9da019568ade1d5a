# A small test CA for the token tests (sourced after lib.sh): a root, an
# intermediate, and leaf certificates with the qualified-eSeal extensions
# (keyUsage nonRepudiation, QCP-l-qscd, QCStatements QcCompliance, QcSSCD,
# QcType eseal), issued with the openssl tool for a CSR.

TCA="$T/ca"

tca_init() {
    mkdir -p "$TCA"
    cat > "$TCA/ext.cnf" <<'EOC'
[ca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,nonRepudiation
certificatePolicies = 0.4.0.194112.1.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
1.3.6.1.5.5.7.1.3 = ASN1:SEQUENCE:qcs
[noqc]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[qcs]
compliance = SEQUENCE:qc_compliance
sscd = SEQUENCE:qc_sscd
type = SEQUENCE:qc_type
[qc_compliance]
id = OID:0.4.0.1862.1.1
[qc_sscd]
id = OID:0.4.0.1862.1.4
[qc_type]
id = OID:0.4.0.1862.1.6
types = SEQUENCE:qc_types
[qc_types]
eseal = OID:0.4.0.1862.1.6.2
EOC
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TCA/root.key" -out "$TCA/root.pem" \
        -days 3650 -subj "/C=NL/O=Test Trust Services/CN=Test Root CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" > /dev/null 2>&1 || return 1
    openssl req -new -newkey rsa:2048 -nodes -keyout "$TCA/int.key" -out "$TCA/int.csr" \
        -subj "/C=NL/O=Test Trust Services/CN=Test Qualified eSeal CA" > /dev/null 2>&1 || return 1
    openssl x509 -req -in "$TCA/int.csr" -CA "$TCA/root.pem" -CAkey "$TCA/root.key" \
        -set_serial 0x1001 -days 3000 -sha256 -extfile "$TCA/ext.cnf" -extensions ca \
        -out "$TCA/int.pem" > /dev/null 2>&1 || return 1
    cat "$TCA/int.pem" "$TCA/root.pem" > "$TCA/chain.pem"
    trust_anchor_add "$TCA/root.pem"
}

# tca_issue CSR OUT [SECTION] [DAYS]: a leaf for the CSR's key and subject.
tca_issue() {
    openssl x509 -req -in "$1" -CA "$TCA/int.pem" -CAkey "$TCA/int.key" \
        -set_serial "0x$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')" -days "${4:-365}" -sha256 \
        -extfile "$TCA/ext.cnf" -extensions "${3:-leaf}" -out "$2" > /dev/null 2>&1
}

# tca_soft_csr OUT: a CSR for a software key (a certificate for another key).
tca_soft_csr() {
    openssl req -new -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$1" \
        -subj "/C=NL/O=Example B.V./organizationIdentifier=NTRNL-12345678/CN=Other Seal" \
        > /dev/null 2>&1
}

TOKEN_SUBJECT="/C=NL/O=Example B.V./organizationIdentifier=NTRNL-12345678/CN=Example Seal"

# tca_objects MODULE TOKEN_LABEL PIN OUT: every object on the token, logged
# in, as JSON [{"class":..., attribute name: hex or int}], read with ctypes
# straight from the module, so that the attributes the agent wrote (and
# pkcs11-tool does not print, such as CKA_CERTIFICATE_CATEGORY) can be
# asserted on.
tca_objects() {
    python3 - "$@" <<'PY'
import ctypes, json, sys
mod, want, pin, out = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode(), sys.argv[4]
U = ctypes.c_ulong
lib = ctypes.CDLL(mod)
fl = ctypes.c_void_p()
assert lib.C_GetFunctionList(ctypes.byref(fl)) == 0
tab = ctypes.cast(fl, ctypes.POINTER(ctypes.c_void_p))
def fn(i, *args):
    return ctypes.CFUNCTYPE(U, *args)(tab[1 + i])
class Attr(ctypes.Structure):
    _fields_ = [("type", U), ("pValue", ctypes.c_void_p), ("ulValueLen", U)]
P = ctypes.c_void_p
assert fn(0, P)(None) == 0
n = U(0)
fn(4, ctypes.c_ubyte, P, P)(1, None, ctypes.byref(n))
slots = (U * max(n.value, 1))()
fn(4, ctypes.c_ubyte, P, P)(1, slots, ctypes.byref(n))
slot = None
for s in slots[:n.value]:
    info = ctypes.create_string_buffer(512)
    if fn(6, U, P)(s, info) == 0 and info.raw[:32].rstrip(b" ") == want:
        slot = s
assert slot is not None, "token not found"
h = U(0)
assert fn(12, U, U, P, P, P)(slot, 6, None, None, ctypes.byref(h)) == 0
assert fn(18, U, U, P, U)(h, 1, pin, len(pin)) == 0
NAMES = {0x0: "class", 0x1: "token", 0x2: "private", 0x3: "label", 0x11: "value",
         0x80: "certificate_type", 0x81: "issuer", 0x82: "serial_number",
         0x86: "trusted", 0x87: "certificate_category", 0x100: "key_type",
         0x101: "subject", 0x102: "id", 0x103: "sensitive", 0x108: "sign",
         0x162: "extractable", 0x165: "always_sensitive", 0x164: "never_extractable",
         0x170: "local"}
ULONGS = {0x0, 0x80, 0x87, 0x100}
BOOLS = {0x1, 0x2, 0x86, 0x103, 0x108, 0x162, 0x164, 0x165, 0x170}
assert fn(26, U, P, U)(h, None, 0) == 0
objs, got, hs = [], U(0), (U * 64)()
fn(27, U, P, U, P)(h, hs, 64, ctypes.byref(got))
fn(28, U)(h)
for o in hs[:got.value]:
    d = {}
    for t, name in NAMES.items():
        a = Attr(t, None, 0)
        if fn(24, U, U, P, U)(h, o, ctypes.byref(a), 1) != 0 or a.ulValueLen == U(-1).value:
            continue
        buf = ctypes.create_string_buffer(max(a.ulValueLen, 1))
        a.pValue = ctypes.cast(buf, ctypes.c_void_p)
        if fn(24, U, U, P, U)(h, o, ctypes.byref(a), 1) != 0:
            continue
        raw = buf.raw[:a.ulValueLen]
        if t in ULONGS:
            d[name] = int.from_bytes(raw, sys.byteorder)
        elif t in BOOLS:
            d[name] = raw != b"\0"
        elif t == 0x3:
            d[name] = raw.decode("utf-8", "replace")
        else:
            d[name] = raw.hex()
    objs.append(d)
fn(1, P)(None)
json.dump(objs, open(out, "w"), indent=1)
PY
}

# tca_issue_dates CSR OUT START END: a qualified leaf with explicit validity
# (YYYYMMDDHHMMSSZ), e.g. one that has expired.
tca_issue_dates() {
    mkdir -p "$TCA/db"
    : > "$TCA/db/index.txt"
    cat > "$TCA/db/ca.cnf" <<EOC
[ca]
default_ca = tca
[tca]
database = $TCA/db/index.txt
new_certs_dir = $TCA/db
serial = $TCA/db/serial
default_md = sha256
policy = any
unique_subject = no
[any]
countryName = optional
organizationName = optional
commonName = optional
EOC
    od -An -N8 -tx8 /dev/urandom | tr -d ' ' > "$TCA/db/serial"
    openssl ca -batch -config "$TCA/db/ca.cnf" -in "$1" -out "$2" -notext -preserveDN \
        -cert "$TCA/int.pem" -keyfile "$TCA/int.key" -startdate "$3" -enddate "$4" \
        -extfile "$TCA/ext.cnf" -extensions leaf > /dev/null 2>&1
}

# tca_replacement_fixture PIN: a SoftHSM2 token QSCD-01 holding an RSA key
# (ID c0ffee) with an "old" certificate installed, a "new" one issued for the
# same key ($T/old.pem, $T/new.pem, OLD_SERIAL, NEW_SERIAL), and a snapshot
# of the token directory that `restore` puts back.  S and F are the module
# options for SoftHSM2 and for the fault module.  Needs softhsm_setup first.
tca_replacement_fixture() {
    softhsm_token QSCD-01 "$1"
    softhsm_keypair QSCD-01 c0ffee rsa:2048 "$1"
    ( umask 077; printf '%s\n' "$1" > "$T/pin" )
    export QSCD_PIN_SOURCE="file:$T/pin"
    tca_init || { fail "test CA could not be made"; finish; }
    S=(--module "$SOFTHSM_MODULE")
    F=(--module "$QSCD_P11FAULT")
    agent "${S[@]}" token csr --subject "$TOKEN_SUBJECT" -o "$T/csr"
    tca_issue "$T/csr" "$T/old.pem"
    tca_issue "$T/csr" "$T/new.pem"
    agent "${S[@]}" token install "$T/old.pem" --chain "$TCA/chain.pem"
    expect_rc 0 "the old certificate is installed"
    OLD_SERIAL=$(openssl x509 -in "$T/old.pem" -noout -serial | cut -d= -f2)
    NEW_SERIAL=$(openssl x509 -in "$T/new.pem" -noout -serial | cut -d= -f2)
    cp -a "$T/softhsm/tokens" "$T/snapshot"
}

restore() { rm -rf "$T/softhsm/tokens"; cp -a "$T/snapshot" "$T/softhsm/tokens"; }

# Serials of the certificates with the key's ID, sorted, and the number of
# certificate objects: as SoftHSM2 itself (not the agent) sees them.
leaf_serials() {
    pkcs11-tool "${S[@]}" --token-label QSCD-01 -O --type cert 2>/dev/null |
        awk '/^Certificate Object/{s=""} /serial:/{s=$2} /ID:/{ if ($2 == "c0ffee") print s }' |
        sort | tr '\n' ' '
}
count_certs() {
    pkcs11-tool "${S[@]}" --token-label QSCD-01 -O --type cert 2>/dev/null |
        grep -c '^Certificate Object'
}
