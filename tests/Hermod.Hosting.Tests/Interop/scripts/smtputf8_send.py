"""SMTPUTF8 through Python smtplib.

1. sendmail(..., mail_options=['SMTPUTF8', 'BODY=8BITMIME']) with UTF-8 addresses given as str;
2. send_message() of an EmailMessage with the same addresses (smtplib adds SMTPUTF8 by itself).

usage: smtputf8_send.py HOST PORT SENDER RECIPIENT
Prints one JSON object on stdout; any exception ends the script with a traceback and a non-zero exit code.
"""
import json
import smtplib
import sys
from email.message import EmailMessage


class Client(smtplib.SMTP):
    """smtplib drops the reply to the end of DATA; keep it, it carries the queue id."""

    def __init__(self, *args, **kwargs):
        self.data_replies = []
        super().__init__(*args, **kwargs)

    def data(self, msg):
        code, text = super().data(msg)
        self.data_replies.append([code, text.decode("utf-8", "replace")])
        return code, text


def main():
    host, port, sender, rcpt = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    raw = (
        f"From: {sender}\r\n"
        f"To: {rcpt}\r\n"
        "Subject: Grüße aus smtplib\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Hallo Jürgen,\r\n"
        "schöne Grüße — 日本語 too.\r\n"
    ).encode("utf-8")
    with Client(host, port, local_hostname="client.test", timeout=30) as smtp:
        smtp.ehlo()
        advertised = smtp.has_extn("smtputf8")
        refused = smtp.sendmail(sender, [rcpt], raw, mail_options=["SMTPUTF8", "BODY=8BITMIME"])

        message = EmailMessage()
        message["From"] = sender
        message["To"] = rcpt
        message["Subject"] = "Zweite Nachricht"
        message.set_content("Noch einmal: Grüße.\n")
        refused_second = smtp.send_message(message)
        smtp.quit()

    print(json.dumps({
        "smtputf8_advertised": advertised,
        "refused": refused,
        "refused_second": refused_second,
        "data_replies": smtp.data_replies,
        "sent_hex": raw.hex(),
    }))


if __name__ == "__main__":
    main()
