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
