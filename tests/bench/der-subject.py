#!/usr/bin/env python3
"""der-subject.py CERT.der OUT.der: the subject Name of an X.509 certificate,
as DER, for tests/bench/floor_install (which parses nothing itself)."""
import sys

def tlv(b, i):
    """(start of value, end of value) of the TLV at i."""
    n = b[i + 1]
    j = i + 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(b[j:j + k], "big")
        j += k
    return j, j + n

der = open(sys.argv[1], "rb").read()
_, _ = tlv(der, 0)
tbs, _ = tlv(der, 0)              # Certificate ::= SEQUENCE { tbsCertificate, ... }
i, _ = tlv(der, tbs)              # inside tbsCertificate
fields = []
while len(fields) < 6:
    s, e = tlv(der, i)
    fields.append((i, e))
    i = e
# [0] version is optional: it starts with 0xa0.
if der[fields[0][0]] != 0xA0:
    fields.insert(0, None)
start, end = fields[5]            # version, serial, signature, issuer, validity, subject
open(sys.argv[2], "wb").write(der[start:end])
