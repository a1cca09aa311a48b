"""BDAT (RFC 3030 CHUNKING) by hand over Python smtplib, which has no BDAT of its own.

Each chunk file is sent as "BDAT <size>\r\n" + its bytes, the last one with LAST; with --empty-last every file is
sent without LAST and a final "BDAT 0 LAST" ends the message.

usage: bdat.py HOST PORT SENDER RECIPIENT [--empty-last] CHUNK_FILE...
Prints one JSON object on stdout: the replies to MAIL, RCPT and each BDAT.
"""
import json
import smtplib
import sys


def main():
    host, port, sender, rcpt = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    rest = sys.argv[5:]
    empty_last = "--empty-last" in rest
    files = [f for f in rest if f != "--empty-last"]
    chunks = []
    for path in files:
        with open(path, "rb") as f:
            chunks.append(f.read())

    with smtplib.SMTP(host, port, local_hostname="client.test", timeout=30) as smtp:
        smtp.ehlo()
        result = {"chunking": smtp.has_extn("chunking")}
        code, text = smtp.mail(sender, ["BODY=8BITMIME"])
        result["mail"] = [code, text.decode()]
        code, text = smtp.rcpt(rcpt)
        result["rcpt"] = [code, text.decode()]
        replies = []
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1 and not empty_last
            smtp.send(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"") + chunk)
            code, text = smtp.getreply()
            replies.append([code, text.decode("utf-8", "replace")])
        if empty_last:
            smtp.send(b"BDAT 0 LAST\r\n")
            code, text = smtp.getreply()
            replies.append([code, text.decode("utf-8", "replace")])
        result["bdat"] = replies
        smtp.quit()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
