"""Parses a DSN with Python's email package and prints what a DSN consumer sees, as JSON."""
import email
import email.policy
import json
import sys

msg = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.compat32)
out = {
    "content_type": msg.get_content_type(),
    "report_type": msg.get_param("report-type"),
    "subject": msg["Subject"],
    "to": msg["To"],
    "auto_submitted": msg["Auto-Submitted"],
    "parts": [p.get_content_type() for p in msg.get_payload()],
    "defects": [str(d) for d in msg.defects],
}
text, status, original = msg.get_payload()
out["text"] = text.get_payload(decode=True).decode("utf-8")
groups = status.get_payload()  # message/delivery-status: a list of header blocks
out["per_message"] = dict(groups[0].items())
out["per_recipient"] = [dict(g.items()) for g in groups[1:]]
payload = original.get_payload()
out["original"] = payload[0].as_string() if isinstance(payload, list) else payload
print(json.dumps(out))
