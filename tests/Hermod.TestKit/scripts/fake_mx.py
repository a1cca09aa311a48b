#!/usr/bin/python3
"""A small fake internet of MX hosts for Hermod's delivery tests (Debian python3-aiosmtpd).

Every host listens on the same --port at its own loopback address and behaves as its mode says:
  accept              250 to everything
  tempfail-once       451 4.3.0 to the first MAIL it sees, then like accept
  reject              550 5.7.1 to every MAIL
  reject553           553 5.1.8 to every MAIL (sender address refused)
  busy                451 4.3.2 to every MAIL (a host that is up but not taking mail now)
  slow                like accept, but each DATA takes half a second; --dir/<address>/max_in_data records
                      how many transactions were in DATA at once
  stall               greets, then never answers MAIL (the client's timeout must end it)
  drop                greets, then closes the connection when MAIL comes
  no-utf8             like accept, without the SMTPUTF8 extension
  data-tempfail       accepts MAIL and RCPT, then 451 4.3.0 after every final dot (nothing stored)
  data-reject         accepts MAIL and RCPT, then 554 5.6.0 after every final dot (nothing stored)
  data-stall          accepts MAIL and RCPT, then never answers the final dot (the client's timeout must end it)
  data-drop           accepts MAIL and RCPT, takes the content, then closes the connection without answering (a next
                      hop that dies with the message in hand; nothing stored)
  data-tempfail-once  451 4.3.0 after the first final dot this host sees (nothing stored), then like accept

Recipient-driven answers, on any host, by the recipient's local part (case-insensitive prefix):
  reject...        RCPT gets 550 5.1.1
  tempfail...      RCPT gets 451 4.2.0
  stallrcpt...     RCPT is never answered (the client's timeout or disconnect must end it)
  datareject...    RCPT gets 250; the end of DATA gets 554 5.6.0 (nothing stored)
  datatempfail...  RCPT gets 250; the end of DATA gets 451 4.3.0 (nothing stored)
In SMTP the reply to the final dot is one reply for the whole transaction (LMTP aside), so one "datareject"
or "datatempfail" recipient decides for every recipient of that transaction ("datareject" wins if both are
present). A host mode that answers the final dot itself (data-tempfail, data-reject, data-stall, the first
transaction of data-tempfail-once) comes before these prefixes; the prefixes apply where the host would accept.
Stalls sleep up to an hour; a client that disconnects ends them cleanly (the session task is cancelled).

What the hosts record, under --dir/<address>/ (counters are rewritten atomically: written aside, then renamed):
  connections   connections accepted
  rcpts         RCPT commands seen, whatever the answer (also malformed or out-of-sequence ones, and stalled ones)
  datas         DATA transactions that reached the final dot, whatever the answer (also refused and stalled
                ones; aiosmtpd's own 500/552 for an over-long line or an over-size message are not counted).
                aiosmtpd offers no CHUNKING, so clients send DATA, never BDAT.
  <n>.eml       each accepted message only: content as received (dot-stuffing removed), written first
  <n>.json      then its envelope (mail_from, mail_options, rcpt_tos, rcpt_options, tls), the JSON last
Prints "READY" when all hosts listen; exits when stdin closes.

  fake_mx.py --port 2525 --dir /tmp/x 127.0.0.2=accept 127.0.0.3=tempfail-once 127.0.0.4=data-reject
"""
import argparse
import asyncio
import json
import os
import sys

from aiosmtpd.smtp import SMTP

STALL_SECONDS = 3600


class Host:
    def __init__(self, address, mode, directory):
        self.address = address
        self.mode = mode
        self.directory = os.path.join(directory, address)
        os.makedirs(self.directory, exist_ok=True)
        self.count = 0
        self.mails = 0
        self.connections = 0
        self.rcpts = 0
        self.datas = 0
        self.in_data = 0
        self.max_in_data = 0

    def write_counter(self, name, value):
        path = os.path.join(self.directory, name)
        with open(path + ".tmp", "w") as f:
            f.write(str(value))
        os.rename(path + ".tmp", path)

    def connected(self):
        self.connections += 1
        self.write_counter("connections", self.connections)

    def rcpt_seen(self):
        self.rcpts += 1
        self.write_counter("rcpts", self.rcpts)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mails += 1
        if self.mode == "tempfail-once" and self.mails == 1:
            return "451 4.3.0 Temporary trouble, try again"
        if self.mode == "reject":
            return "550 5.7.1 Mail refused by policy"
        if self.mode == "busy":
            return "451 4.3.2 System busy, try another MX"
        if self.mode == "reject553":
            return "553 5.1.8 Sender address rejected"
        if self.mode == "stall":
            await asyncio.sleep(STALL_SECONDS)
        if self.mode == "drop":
            server.transport.abort()
            return "421 4.3.0 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        if local.startswith("tempfail"):
            return "451 4.2.0 Mailbox busy, try again later"
        if local.startswith("stallrcpt"):
            await asyncio.sleep(STALL_SECONDS)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    def refusal(self, envelope):
        """The reply to the final dot when this transaction is not accepted, else None."""
        if self.mode == "data-tempfail" or (self.mode == "data-tempfail-once" and self.datas == 1):
            return "451 4.3.0 Temporary trouble at end of data, try again"
        if self.mode == "data-reject":
            return "554 5.6.0 Message content rejected"
        locals_ = [rcpt.split("@")[0].lower() for rcpt in envelope.rcpt_tos]
        if any(local.startswith("datareject") for local in locals_):
            return "554 5.6.0 Message content rejected"
        if any(local.startswith("datatempfail") for local in locals_):
            return "451 4.3.0 Temporary trouble at end of data, try again"
        return None

    async def handle_DATA(self, server, session, envelope):
        self.datas += 1
        self.write_counter("datas", self.datas)
        if self.mode == "data-stall":
            await asyncio.sleep(STALL_SECONDS)
        if self.mode == "data-drop":
            server.transport.close()
            return "421 4.3.2 gone"  # never reaches the client: the connection is closed
        refusal = self.refusal(envelope)
        if refusal is not None:
            return refusal
        if self.mode == "slow":
            self.in_data += 1
            self.max_in_data = max(self.max_in_data, self.in_data)
            self.write_counter("max_in_data", self.max_in_data)
            await asyncio.sleep(0.5)
            self.in_data -= 1
        self.count += 1
        base = os.path.join(self.directory, str(self.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        record = {
            "mail_from": "" if envelope.mail_from == "<>" else envelope.mail_from,  # the null reverse-path as ""
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "rcpt_options": envelope.rcpt_options,
            "tls": session.ssl is not None,
        }
        with open(base + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(base + ".tmp", base + ".json")
        return "250 2.0.0 Message accepted for delivery"


class CountingSMTP(SMTP):
    """aiosmtpd's server, counting every RCPT command before aiosmtpd checks its syntax and sequence."""

    async def smtp_RCPT(self, arg):
        self.event_handler.rcpt_seen()
        await super().smtp_RCPT(arg)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("hosts", nargs="+")
    args = parser.parse_args()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    servers = []
    for spec in args.hosts:
        address, mode = spec.split("=", 1)
        host = Host(address, mode, args.dir)

        def factory(host=host):
            host.connected()
            return CountingSMTP(host, hostname=f"mx-{host.address}.test", enable_SMTPUTF8=host.mode != "no-utf8",
                                decode_data=False)

        servers.append(loop.run_until_complete(loop.create_server(factory, host=address, port=args.port)))

    def stdin_closed():
        if not sys.stdin.buffer.read1(4096):
            loop.stop()

    loop.add_reader(sys.stdin.fileno(), stdin_closed)
    print("READY", flush=True)
    try:
        loop.run_forever()
    finally:
        for server in servers:
            server.close()


if __name__ == "__main__":
    main()
