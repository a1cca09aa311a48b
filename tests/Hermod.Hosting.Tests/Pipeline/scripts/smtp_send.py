#!/usr/bin/python3
"""One SMTP transaction through Python's smtplib, every reply recorded (a real client no one here wrote).

usage: smtp_send.py HOST PORT SENDER RECIPIENT...   < message (bytes, CRLF lines)
EHLO, MAIL, one RCPT per recipient (a refusal does not stop the others), then DATA when any recipient was
accepted. Prints JSON: {"mail": [code, text], "rcpt": [[address, code, text], ...], "data": [code, text] | null}.
"""
import json
import smtplib
import sys


def reply(code, text):
    return [code, text.decode("utf-8", "replace")]


def main():
    host, port, sender, recipients = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    message = sys.stdin.buffer.read()
    result = {"rcpt": [], "data": None}
    with smtplib.SMTP(host, port, local_hostname="client.test", timeout=30) as smtp:
        smtp.ehlo()
        result["mail"] = reply(*smtp.mail(sender))
        accepted = 0
        for rcpt in recipients:
            code, text = smtp.rcpt(rcpt)
            result["rcpt"].append([rcpt, *reply(code, text)])
            accepted += code == 250
        if result["mail"][0] == 250 and accepted > 0:
            result["data"] = reply(*smtp.data(message))
        smtp.quit()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
