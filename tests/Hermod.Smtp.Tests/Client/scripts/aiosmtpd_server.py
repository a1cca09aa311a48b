#!/usr/bin/python3
"""An aiosmtpd MX for the Hermod SMTP client interop tests.

Listens on 127.0.0.1 (port 0: the kernel picks one) and prints "PORT <n>" once it accepts connections.
Every accepted message is written to --dir as <n>.eml (the content exactly as received, dot-stuffing
removed) and then <n>.json (envelope: mail_from, mail_options, rcpt_tos, rcpt_options, auth), the JSON last,
so a reader that sees the JSON sees the whole message. The handler answers before aiosmtpd replies 250.

  --reject ADDR     answer RCPT TO:<ADDR> with 550 5.1.1 (repeatable)
  --tempfail ADDR   answer RCPT TO:<ADDR> with 451 4.2.0 (repeatable)
  --tls-cert F --tls-key F   offer STARTTLS with this PEM certificate and key
  --auth USER:PASSWORD       offer AUTH PLAIN LOGIN (only over TLS) and accept these credentials

The server exits when its stdin closes, so a test run that dies does not leave it behind.
Runs under Debian's /usr/bin/python3 (package python3-aiosmtpd).
"""
import argparse
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, directory, reject, tempfail):
        self.directory = directory
        self.reject = {a.lower() for a in reject}
        self.tempfail = {a.lower() for a in tempfail}
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 No such user here"
        if address.lower() in self.tempfail:
            return "451 4.2.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, str(self.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        record = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "rcpt_options": envelope.rcpt_options,
            "smtp_utf8": envelope.smtp_utf8,
            "tls": session.ssl is not None,
            "auth": session.auth_data.decode() if isinstance(session.auth_data, bytes) else None,
        }
        with open(base + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(base + ".tmp", base + ".json")
        return "250 2.0.0 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--reject", action="append", default=[])
    parser.add_argument("--tempfail", action="append", default=[])
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--auth")
    args = parser.parse_args()

    handler = Handler(args.dir, args.reject, args.tempfail)
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not args.auth or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = args.auth.split(":", 1)
        ok = auth_data.login == user.encode() and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    def factory():
        return SMTP(handler, hostname="aiosmtpd.test", enable_SMTPUTF8=True, decode_data=False,
                    tls_context=tls_context, auth_require_tls=True,
                    authenticator=authenticator if args.auth else None)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(factory, host="127.0.0.1", port=0))
    port = server.sockets[0].getsockname()[1]

    def stdin_closed():
        if not sys.stdin.buffer.read1(4096):
            loop.stop()

    loop.add_reader(sys.stdin.fileno(), stdin_closed)
    print(f"PORT {port}", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
