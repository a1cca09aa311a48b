#!/usr/bin/python3
"""Prints the OpenSPF YAML test suite (argv[1]) as JSON for Hermod's loader (needs Debian python3-yaml).

Zone data is normalised the way the suite's own driver (pyspf's testspf.py) reads it: every record becomes
[type, value]; a name that lists SPF records but no TXT record also gets them as TXT records; "SPF: NONE"
means no such record; a bare TIMEOUT entry stays "TIMEOUT". Results are always lists.
"""
import json
import sys

import yaml


def records(name, entries):
    out, generated, has_txt = [], [], False
    for entry in entries:
        if not isinstance(entry, dict):
            out.append(entry)  # TIMEOUT
            continue
        for rtype, value in entry.items():
            if rtype in ("TXT", "SPF") and isinstance(value, str):
                value = [value]
            if rtype == "TXT":
                has_txt = True
            elif rtype == "SPF":
                generated.append(["TXT", value])
            if value != ["NONE"]:
                out.append([rtype, value])
    if not has_txt:
        out.extend(g for g in generated if g[1] != ["NONE"])
    return out


scenarios = []
with open(sys.argv[1], "rb") as f:
    for doc in yaml.safe_load_all(f):
        tests = {}
        for test_id, t in doc["tests"].items():
            result = t["result"]
            tests[test_id] = {
                "spec": str(t.get("spec", "")),
                "description": t.get("description", ""),
                "helo": t.get("helo", ""),
                "host": t["host"],
                "mailfrom": t.get("mailfrom", ""),
                "result": result if isinstance(result, list) else [result],
                "explanation": t.get("explanation"),
            }
        scenarios.append({
            "description": doc.get("description", ""),
            "zonedata": {name.lower(): records(name, entries or []) for name, entries in doc.get("zonedata", {}).items()},
            "tests": tests,
        })
json.dump(scenarios, sys.stdout)
