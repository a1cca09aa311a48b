#!/usr/bin/python3
"""A real HTTP receiver for the http delivery target's tests (Python's http.server, email package).

usage: http_receiver.py DIR STATUSES

Listens on 127.0.0.1, port 0, and prints "PORT <n>" on stdout. Request n (from 1) is answered with the n-th
entry of STATUSES (comma-separated; the last one repeats): an HTTP status code, or "stall" (read the request,
never answer). A request's arrival (its header read) is marked by an empty file n.arrived; each request is saved
in DIR before the answer: n.envelope.json and n.message.eml (the parts'
exact bytes, split by boundary), then n.request.json (method, path, headers, the parts' names and content types
as the email package parsed them). Exits when stdin closes.
"""
import email.parser
import email.policy
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

directory = sys.argv[1]
statuses = sys.argv[2].split(",")
lock = threading.Lock()
count = 0
stopping = threading.Event()


def read_chunked(rfile):
    chunks = []
    while True:
        size = int(rfile.readline(1024).split(b";")[0].strip(), 16)
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunks.append(rfile.read(size))
        if rfile.read(2) != b"\r\n":
            raise ValueError("chunk not followed by CRLF")


def split_parts(body, boundary):
    """The parts' raw header blocks and contents, byte-exact (RFC 2046 5.1.1)."""
    delimiter = b"\r\n--" + boundary.encode("ascii")
    segments = (b"\r\n" + body).split(delimiter)
    if not segments[-1].startswith(b"--"):
        raise ValueError("no close delimiter")
    parts = []
    for segment in segments[1:-1]:
        segment = segment[segment.index(b"\r\n") + 2:]  # the rest of the delimiter line
        headers, content = segment.split(b"\r\n\r\n", 1)
        parts.append((headers, content))
    return parts


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        sys.stderr.write("http_receiver: " + (format % args) + "\n")

    def do_POST(self):
        global count
        with lock:
            count += 1
            n = count
        status = statuses[min(n, len(statuses)) - 1]
        open(os.path.join(directory, f"{n}.arrived"), "w").close()

        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        body = read_chunked(self.rfile) if chunked else self.rfile.read(int(self.headers.get("Content-Length", "0")))

        content_type = self.headers.get("Content-Type", "")
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
        parts = []
        if parsed.is_multipart():
            for part in parsed.iter_parts():
                parts.append({"name": part.get_param("name", header="content-disposition"),
                              "content_type": part.get_content_type()})
            for i, (_, content) in enumerate(split_parts(body, parsed.get_boundary())):
                name = parts[i]["name"]
                suffix = {"envelope": "envelope.json", "message": "message.eml"}.get(name, name + ".bin")
                with open(os.path.join(directory, f"{n}.{suffix}"), "wb") as f:
                    f.write(content)
        request = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "transfer_encoding": "chunked" if chunked else "length",
            "content_type": parsed.get_content_type(),
            "parts": parts,
        }
        with open(os.path.join(directory, f"{n}.request.json.tmp"), "w") as f:
            json.dump(request, f)
        os.rename(os.path.join(directory, f"{n}.request.json.tmp"), os.path.join(directory, f"{n}.request.json"))

        if status == "stall":
            stopping.wait()
            return
        code = int(status)
        text = f"receiver says {code}\r\n\x07 caf\u00e9 " + "x" * 300
        data = text.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print(f"PORT {server.server_address[1]}", flush=True)
sys.stdin.read()
stopping.set()
server.shutdown()
