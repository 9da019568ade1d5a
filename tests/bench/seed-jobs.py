#!/usr/bin/env python3
"""seed-jobs.py JOBS_DIR IDS_JSON: one job file per order id in IDS_JSON
({"ids": [...]}, as the simulator's /_sim/orders answers), copied from the
one job file already in JOBS_DIR (the journal's own format, as `order
submit` wrote it).  For the readiness benchmark: a thousand `order submit`
runs would measure the submit, not the refresh.
    seed-jobs.py --strip JOBS_DIR: drop every job's "remote" object (and
the refresh record beside), so the next refresh is a first one again."""
import json, os, secrets, sys

if sys.argv[1] == "--strip":
    jobs = sys.argv[2]
    for f in os.listdir(jobs):
        if f.endswith(".json"):
            p = os.path.join(jobs, f)
            j = json.load(open(p))
            if j.pop("remote", None) is not None:
                json.dump(j, open(p, "w"), indent=2)
    rec = os.path.join(os.path.dirname(jobs.rstrip("/")), "remote", "refresh.json")
    if os.path.exists(rec):
        os.remove(rec)
    sys.exit(0)

jobs, ids = sys.argv[1], json.load(open(sys.argv[2]))["ids"]
tmpl = json.load(open(os.path.join(jobs, [f for f in os.listdir(jobs) if f.endswith(".json")][0])))
for i in ids:
    j = json.loads(json.dumps(tmpl))
    j["ref"] = "job-" + secrets.token_hex(8)
    j["order"]["id"] = str(i)
    j["order"]["request_id"] = None
    with open(os.path.join(jobs, j["ref"] + ".json"), "w") as f:
        json.dump(j, f, indent=2)
