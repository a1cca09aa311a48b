#!/usr/bin/env python3
"""One SMTP session that times each step of each message: MAIL, RCPT, DATA and the end of data.

Usage: latency.py PORT COUNT

Sends COUNT messages of about 1 KiB (one recipient, u@example.test) on one connection to 127.0.0.1:PORT and prints,
per step and for the whole message, the mean, the median, p90 and p99 in microseconds. Where smtp-source gives
only the total time, this shows whether a mean comes from every message or from a few slow ones. Exits non-zero
on any reply that is not positive.
"""
import socket
import sys
import time


def main() -> int:
    port, count = int(sys.argv[1]), int(sys.argv[2])
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    replies = sock.makefile("rb")

    def reply(expected: bytes) -> None:
        while True:
            line = replies.readline()
            if not line.startswith(expected):
                raise SystemExit(f"unexpected reply {line!r} (wanted {expected!r})")
            if line[3:4] != b"-":
                return

    reply(b"220")
    sock.sendall(b"EHLO latency.test\r\n")
    reply(b"250")
    body = b"Subject: latency\r\n\r\n" + (b"x" * 76 + b"\r\n") * 13 + b".\r\n"
    steps = [(b"MAIL FROM:<a@remote.test>\r\n", b"250"), (b"RCPT TO:<u@example.test>\r\n", b"250"),
             (b"DATA\r\n", b"354"), (body, b"250")]
    times = [[] for _ in range(len(steps) + 1)]
    for _ in range(count):
        start = previous = time.perf_counter_ns()
        for i, (line, expected) in enumerate(steps):
            sock.sendall(line)
            reply(expected)
            now = time.perf_counter_ns()
            times[i].append(now - previous)
            previous = now
        times[-1].append(previous - start)
    sock.sendall(b"QUIT\r\n")

    for name, values in zip(["MAIL", "RCPT", "DATA", "end of data", "message"], times):
        values.sort()
        pick = lambda q: values[min(len(values) - 1, int(len(values) * q))] / 1000  # noqa: E731
        print(f"  {name:12} mean {sum(values) / len(values) / 1000:7.1f}  p50 {pick(0.5):7.1f}"
              f"  p90 {pick(0.9):7.1f}  p99 {pick(0.99):7.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
