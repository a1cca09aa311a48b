#!/usr/bin/python3
"""Reference SPF answers from pyspf (Debian python3-spf) against one DNS server on 127.0.0.1.

Usage: pyspf_check.py PORT RECEIVER < cases.json, where cases.json is [{"ip":..., "sender":..., "helo":...}, ...].
Prints [{"result": "pass", "explanation": "..." or null, "mechanism": "..."}, ...] in the same order.

pyspf does its own DNS (dnspython when installed, else pydns): both are pointed at 127.0.0.1:PORT only, so no
answer ever comes from the real internet.
"""
import json
import sys

import spf

port = int(sys.argv[1])
receiver = sys.argv[2]

if spf.DNSLookup.__name__ == "DNSLookup_dnspython":
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port
    resolver.timeout = resolver.lifetime = 5
    dns.resolver.default_resolver = resolver
else:
    import DNS

    DNS.defaults["server"] = ["127.0.0.1"]
    DNS.defaults["port"] = port

answers = []
for case in json.load(sys.stdin):
    q = spf.query(i=case["ip"], s=case["sender"], h=case["helo"], receiver=receiver)
    q.set_default_explanation("DEFAULT")
    result, _, explanation = q.check()
    result = {"unknown": "permerror", "error": "temperror"}.get(result, result)
    if result != "fail" or explanation == "DEFAULT":
        explanation = None
    answers.append({"result": result, "explanation": explanation, "mechanism": getattr(q, "mechanism", None)})
json.dump(answers, sys.stdout)
