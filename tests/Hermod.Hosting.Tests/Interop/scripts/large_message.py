"""One large message through Python smtplib (DATA, so smtplib dot-stuffs it).

The body is made of numbered CRLF lines; every 7th starts with a dot and every 1000th is a lone ".", so
dot-stuffing is exercised throughout. Prints the SHA-256 and size of the message as given to sendmail() (the
bytes the server must store after undoing the dot-stuffing) and the reply to the end of DATA.

usage: large_message.py HOST PORT SENDER RECIPIENT SIZE_BYTES
"""
import hashlib
import json
import smtplib
import sys
import time


class Client(smtplib.SMTP):
    def __init__(self, *args, **kwargs):
        self.data_replies = []
        super().__init__(*args, **kwargs)

    def data(self, msg):
        code, text = super().data(msg)
        self.data_replies.append([code, text.decode("utf-8", "replace")])
        return code, text


def build(sender, rcpt, size):
    header = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: large message\r\n"
              f"X-Size: {size}\r\n\r\n").encode()
    parts = [header]
    total = len(header)
    filler = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
    i = 0
    while total < size:
        if i % 1000 == 999:
            line = b".\r\n"
        elif i % 7 == 0:
            line = b".%010d %s\r\n" % (i, filler)
        else:
            line = b"%010d %s\r\n" % (i, filler)
        parts.append(line)
        total += len(line)
        i += 1
    return b"".join(parts)


def main():
    host, port, sender, rcpt, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    t0 = time.monotonic()
    message = build(sender, rcpt, size)
    digest = hashlib.sha256(message).hexdigest()
    t1 = time.monotonic()
    with Client(host, port, local_hostname="client.test", timeout=120) as smtp:
        smtp.ehlo()
        advertised_size = smtp.esmtp_features.get("size")
        refused = smtp.sendmail(sender, [rcpt], message)
        smtp.quit()
    t2 = time.monotonic()
    print(json.dumps({
        "sha256": digest,
        "size": len(message),
        "advertised_size": advertised_size,
        "refused": refused,
        "data_replies": smtp.data_replies,
        "build_seconds": round(t1 - t0, 3),
        "send_seconds": round(t2 - t1, 3),
    }))


if __name__ == "__main__":
    main()
