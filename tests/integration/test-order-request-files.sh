#!/bin/bash
# Request files through the real binary (order submit --dry-run: parse and
# validate, nothing sent): the seed's trailing comma at its exact line and
# column, the fixed seed and the demo example valid, every problem of a bad
# file listed at once, encoding errors, and no card number or CVV echoed.
. "$(dirname "$0")/lib.sh"

echo "test-order-request-files"
D=tests/data/requests

agent order submit "$D/seed-trailing-comma.json" --dry-run
expect_rc 2 "the seed as published (trailing comma) is refused"
expect_err "seed-trailing-comma.json: line 5, column 2: unexpected \"\}\" \(a trailing comma before it\?\)" \
    "the error points at line 5, column 2"

for f in "$D/seed-fixed.json" docs/examples/pkio-qualified-eseal-order.json \
         "$D/card-payment.json"; do
    agent order submit "$f" --dry-run
    expect_rc 0 "$(basename "$f") validates"
done

# Every problem at once, each naming its JSON path; the card data stays out.
python3 - "$D/card-payment.json" "$T/bad.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["csa_agreed_to"] = "yes"
r["ship_info"]["method"] = "OVERNIGHT"
del r["organization"]["contacts"][0]["contact_type"]
r["order_validity"] = {"custom_expiration_date": "31 FEB 2027"}
r["credit_card"]["number"] = "4111 1111 1111 1112"
r["credit_card"]["cvv"] = "98765"
json.dump(r, open(sys.argv[2], "w"), indent=2)
PY
agent order submit "$T/bad.json" --dry-run
expect_rc 2 "a request with six problems is refused"
expect_err 'csa_agreed_to: must be a boolean \(got string "yes"\)' "csa_agreed_to named with its type"
expect_err 'ship_info.method: must be STANDARD or EXPEDITED \(got "OVERNIGHT"\)' "ship_info.method named"
expect_err 'organization.contacts\[0\].contact_type: is required' "the contact's missing type named"
expect_err 'order_validity.custom_expiration_date: is not a real date' "the impossible date named"
expect_err 'credit_card.number: fails the card number check digit' "the card number problem named"
expect_err 'credit_card.cvv: must be 3 or 4 digits' "the CVV problem named"
expect_no_string "1111 1112" "the card number is not echoed" "$T/out" "$T/err"
expect_no_string "98765" "the CVV is not echoed" "$T/out" "$T/err"

# Encoding: a BOM and a NUL byte get their own clear errors.
printf '\xef\xbb\xbf' > "$T/bom.json"
cat "$D/seed-fixed.json" >> "$T/bom.json"
agent order submit "$T/bom.json" --dry-run
expect_rc 2 "a file with a BOM is refused"
expect_err "line 1, column 1: .*byte order mark" "the BOM is named"
printf '{\n  "a": 1,\0\n}' > "$T/nul.json"
agent order submit "$T/nul.json" --dry-run
expect_rc 2 "a file with a NUL byte is refused"
expect_err "line 2, column 10: NUL byte" "the NUL byte's position is given"
: > "$T/empty.json"
agent order submit "$T/empty.json" --dry-run
expect_rc 2 "an empty file is refused"
expect_err "the request is empty" "emptiness is named"

finish
