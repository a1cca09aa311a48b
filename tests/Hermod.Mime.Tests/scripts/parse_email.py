"""Parses a MIME message with Python's email package (policy.default) and prints what it found as JSON.

Usage: /usr/bin/python3 parse_email.py MESSAGE_FILE
Output: {"subject", "from", "to", "cc", "reply_to", "bcc_present", "text", "html", "attachments", "defects"}.
Addresses are [{"address", "name"}]; attachments are every leaf part that is not the text or html body:
[{"filename", "content_type", "content" (base64), "content_id" (no angle brackets), "disposition"}].
Text bodies are returned with their line ends as parsed (the caller normalises CRLF / LF).
"""
import base64
import email
import email.policy
import json
import sys


def fix(text):
    # Raw UTF-8 in headers (RFC 6532) comes back as surrogate escapes: decode them as UTF-8.
    if text is None:
        return None
    return text.encode("utf-8", "surrogateescape").decode("utf-8")


def addresses(msg, name):
    header = msg[name]
    if header is None:
        return None
    return [{"address": fix(a.addr_spec), "name": fix(a.display_name) or None} for a in header.addresses]


def main():
    with open(sys.argv[1], "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.default)

    defects = []
    for part in msg.walk():
        defects.extend(f"{part.get_content_type()}: {d!r}" for d in part.defects)
        for key in part.keys():
            defects.extend(f"{key}: {d!r}" for d in getattr(part[key], "defects", ()))

    result = {
        "subject": fix(str(msg["subject"])) if msg["subject"] is not None else None,
        "from": addresses(msg, "from"),
        "to": addresses(msg, "to"),
        "cc": addresses(msg, "cc"),
        "reply_to": addresses(msg, "reply-to"),
        "bcc_present": "bcc" in msg,
    }

    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    result["text"] = text_part.get_content() if text_part is not None else None
    result["html"] = html_part.get_content() if html_part is not None else None

    attachments = []
    for part in msg.walk():
        if part.is_multipart() or part is text_part or part is html_part:
            continue
        content_id = part["content-id"]
        if content_id is not None:
            content_id = str(content_id).strip().removeprefix("<").removesuffix(">")
        attachments.append({
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
            "content": base64.b64encode(part.get_payload(decode=True) or b"").decode("ascii"),
            "content_id": content_id,
            "disposition": part.get_content_disposition(),
        })
    result["attachments"] = attachments
    result["defects"] = defects
    json.dump(result, sys.stdout, ensure_ascii=True)


main()
