#!/usr/bin/env python3
"""Runs a command and prints the seconds it took (monotonic clock around the child alone).

Usage: timed.py LIMIT COMMAND [ARG...]

Exit status: the command's; 124 when it ran past LIMIT seconds (it is killed); 143 on SIGTERM (it is
killed too). The wait blocks in waitpid, so the figure ends when the child does: subprocess's own
timeout polls with sleeps of up to 50 ms, which rounded every run up to the next 50 ms step.
"""
import signal
import subprocess
import sys
import threading
import time


def main() -> int:
    limit = float(sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    timed_out = threading.Event()
    start = time.monotonic()
    child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL)
    try:
        watchdog = threading.Timer(limit, lambda: (timed_out.set(), child.kill()))
        watchdog.daemon = True
        watchdog.start()
        code = child.wait()
        elapsed = time.monotonic() - start
        watchdog.cancel()
    finally:
        if child.poll() is None:
            child.kill()
    if timed_out.is_set():
        print(f"{sys.argv[2]} did not finish within {limit:.0f} s", file=sys.stderr)
        return 124
    print(f"{elapsed:.6f}")
    return code


if __name__ == "__main__":
    sys.exit(main())
