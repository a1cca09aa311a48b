#!/usr/bin/python3
"""Verifies every DKIM-Signature of a message with dkimpy (Debian python3-dkim; run with /usr/bin/python3).

usage: dkim_verify.py RECORDS_JSON   < message
RECORDS_JSON maps a DNS name (selector._domainkey.domain) to its TXT text: dkimpy's key lookup goes through a dnsfunc
that answers from it (the way tests/Hermod.Policy.Tests/Dkim/scripts/dkimpy_peer.py serves the key) and records each
name asked; a name not in the map has no record. Prints JSON: {"signatures": [{"d", "s", "a", "ok", "reason"}], "queries": [...]}.
Log lines go to stderr.
"""
import email.parser
import email.policy
import json
import logging
import sys

import dkim
import dkim.util

logging.basicConfig(stream=sys.stderr, level=logging.DEBUG)
log = logging.getLogger("dkimpy")
records = json.loads(sys.argv[1])
message = sys.stdin.buffer.read()
queries = []


def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    name = name.rstrip(".").lower()
    queries.append(name)
    text = records.get(name)
    log.debug("DNS %s -> %s", name, text)
    return text.encode() if text is not None else None


header = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(message)
signatures = []
for idx, value in enumerate(header.get_all("DKIM-Signature") or []):
    tags = dkim.util.parse_tag_value("".join(str(value).split()).encode())
    try:
        ok, reason = bool(dkim.DKIM(message, logger=log).verify(idx=idx, dnsfunc=dnsfunc)), ""
    except dkim.DKIMException as e:  # e.g. "body hash mismatch": the method raises where dkim.verify() says False
        ok, reason = False, str(e)
    signatures.append({"d": tags[b"d"].decode(), "s": tags[b"s"].decode(), "a": tags[b"a"].decode(), "ok": ok, "reason": reason})
json.dump({"signatures": signatures, "queries": queries}, sys.stdout)
