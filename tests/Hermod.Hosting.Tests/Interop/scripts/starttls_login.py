"""STARTTLS (unverified context: Hermod's certificate is self-signed) then AUTH through Python smtplib.

Before TLS: AUTH must not be advertised and must be refused. After TLS: a wrong password (smtplib.login tries
every advertised mechanism it knows, so each one fails), then the right one, then one message.

usage: starttls_login.py HOST PORT USER PASSWORD WRONG_PASSWORD SENDER RECIPIENT
Prints one JSON object on stdout.
"""
import base64
import json
import smtplib
import ssl
import sys


class Client(smtplib.SMTP):
    def __init__(self, *args, **kwargs):
        self.data_replies = []
        super().__init__(*args, **kwargs)

    def data(self, msg):
        code, text = super().data(msg)
        self.data_replies.append([code, text.decode("utf-8", "replace")])
        return code, text


def main():
    host, port, user, password, wrong, sender, rcpt = sys.argv[1], int(sys.argv[2]), *sys.argv[3:8]
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    result = {}
    with Client(host, port, local_hostname="client.test", timeout=30) as smtp:
        smtp.ehlo()
        result["before_tls"] = {"starttls": smtp.has_extn("starttls"), "auth": smtp.has_extn("auth")}
        initial = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        code, text = smtp.docmd("AUTH", "PLAIN " + initial)
        result["auth_before_tls"] = [code, text.decode()]

        code, text = smtp.starttls(context=context)
        result["starttls"] = [code, text.decode()]
        result["tls_version"] = smtp.sock.version()
        result["cipher"] = smtp.sock.cipher()[0]
        smtp.ehlo()
        result["after_tls"] = {"starttls": smtp.has_extn("starttls"), "auth": smtp.esmtp_features.get("auth")}

        try:
            smtp.login(user, wrong)
            result["wrong_login"] = None
        except smtplib.SMTPAuthenticationError as e:
            result["wrong_login"] = [e.smtp_code, e.smtp_error.decode()]

        code, text = smtp.login(user, password)
        result["login"] = [code, text.decode()]
        raw = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: smtplib over STARTTLS\r\n\r\nsent after AUTH\r\n").encode()
        result["refused"] = smtp.sendmail(sender, [rcpt], raw)
        smtp.quit()
    result["data_replies"] = smtp.data_replies
    print(json.dumps(result))


if __name__ == "__main__":
    main()
