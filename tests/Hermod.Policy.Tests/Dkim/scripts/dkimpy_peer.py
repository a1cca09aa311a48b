"""dkimpy (Debian python3-dkim), the DKIM implementation the interop tests compare against. Run with /usr/bin/python3.

  dkimpy_peer.py verify RECORD_TEXT            < message   prints "pass" or "fail" (the topmost signature)
  dkimpy_peer.py sign SELECTOR DOMAIN ALGORITHM KEY_FILE  < message   prints the signed message
ALGORITHM is rsa-sha256 (KEY_FILE: PKCS#1 PEM) or ed25519-sha256 (KEY_FILE: base64 of the 32-byte seed).
The DNS lookup of the key answers RECORD_TEXT for any name. Log lines go to stderr.
"""
import logging
import sys

import dkim

logging.basicConfig(stream=sys.stderr, level=logging.DEBUG)
log = logging.getLogger("dkimpy")
mode = sys.argv[1]
message = sys.stdin.buffer.read()

if mode == "verify":
    record = sys.argv[2].encode()

    def dnsfunc(name, timeout=5):
        log.debug("DNS %s -> %s", name, record)
        return record

    ok = dkim.verify(message, logger=log, dnsfunc=dnsfunc)
    sys.stdout.write("pass" if ok else "fail")
elif mode == "sign":
    selector, domain, algorithm, key_file = sys.argv[2:6]
    with open(key_file, "rb") as f:
        key = f.read().strip()
    signature = dkim.sign(message, selector.encode(), domain.encode(), key,
                          canonicalize=(b"relaxed", b"relaxed"),
                          signature_algorithm=algorithm.encode(),
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                          logger=log)
    sys.stdout.buffer.write(signature + message)
else:
    sys.exit("unknown mode " + mode)
