#!/usr/bin/python3
"""Reads Maildirs with Python's mailbox.Maildir (an independent reader) for the maildir target's tests.

usage: read_maildir.py MAILDIR...
Prints JSON: {maildir: {"messages": [{"key", "in_new", "content" (base64 of get_bytes)}], "tmp": [names]}}.
"""
import base64
import json
import mailbox
import os
import sys

result = {}
for path in sys.argv[1:]:
    box = mailbox.Maildir(path, factory=None, create=False)
    new = set(os.listdir(os.path.join(path, "new")))
    messages = []
    for key in box.keys():
        messages.append({
            "key": key,
            "in_new": key in new,
            "content": base64.b64encode(box.get_bytes(key)).decode("ascii"),
        })
    result[path] = {"messages": messages, "tmp": sorted(os.listdir(os.path.join(path, "tmp")))}
json.dump(result, sys.stdout)
