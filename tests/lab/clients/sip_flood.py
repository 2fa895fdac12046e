#!/usr/bin/env python
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bounded SIP OPTIONS flood over UDP to ONE lab host, counting the answers.

Usage: sip_flood.py HOST PORT COUNT SECONDS. COUNT (at most 5000) requests,
evenly paced over SECONDS (at most 10), each with its own branch and Call-ID,
from one socket; every SIP response that arrives (during the flood and one
second after it) is read and matched to its request by the branch. Prints one
JSON line: sent, answered, first_answered and last_answered (request numbers,
0-based, or null), seconds.

sip_flood.py --tcp HOST PORT COUNT: up to COUNT (at most 200) TCP connections
one after the other (each closed again), until one is not accepted within a
second. Prints one JSON line: attempted, connected."""
import json
import os
import re
import select
import socket
import sys
import time

MAX_COUNT = 5000
MAX_SECONDS = 10.0
MAX_CONNECTS = 200


def request(host, port, src, sport, n, tag):
    return ("OPTIONS sip:pbx@{h}:{p} SIP/2.0\r\n"
            "Via: SIP/2.0/UDP {s}:{sp};branch=z9hG4bK-{t}-{n};rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:flood@{s}>;tag={t}{n}\r\n"
            "To: <sip:pbx@{h}>\r\n"
            "Call-ID: {t}-{n}@{s}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Contact: <sip:flood@{s}:{sp}>\r\n"
            "Accept: application/sdp\r\n"
            "Content-Length: 0\r\n\r\n").format(h=host, p=port, s=src, sp=sport, n=n, t=tag).encode()


def connects(host, port, count):
    connected = 0
    for n in range(min(count, MAX_CONNECTS)):
        try:
            c = socket.create_connection((host, port), timeout=1.0)
        except (socket.timeout, OSError):
            return n + 1, connected
        c.close()
        connected += 1
    return min(count, MAX_CONNECTS), connected


def main():
    if sys.argv[1] == "--tcp":
        attempted, connected = connects(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        print(json.dumps({"attempted": attempted, "connected": connected}))
        return
    host, port = sys.argv[1], int(sys.argv[2])
    count = min(int(sys.argv[3]), MAX_COUNT)
    seconds = min(float(sys.argv[4]), MAX_SECONDS)
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    src, sport = s.getsockname()[:2]
    s.setblocking(False)
    tag = "fl%x" % os.getpid()
    pattern = re.compile(r"branch=z9hG4bK-%s-(\d+)" % tag)
    answered = set()

    def drain(until):
        while True:
            left = until - time.time()
            r, _w, _x = select.select([s], [], [], max(0.0, left))
            if not r:
                return
            try:
                data = s.recv(65535)
            except (BlockingIOError, ConnectionRefusedError):
                continue
            m = pattern.search(data.decode("utf-8", "replace"))
            if data.startswith(b"SIP/2.0 ") and m:
                answered.add(int(m.group(1)))

    t0 = time.time()
    for n in range(count):
        try:
            s.send(request(host, port, src, sport, n, tag))
        except (BlockingIOError, ConnectionRefusedError):
            pass
        drain(t0 + seconds * (n + 1) / count)
    drain(time.time() + 1.0)
    print(json.dumps({"sent": count, "answered": len(answered),
                      "first_answered": min(answered) if answered else None,
                      "last_answered": max(answered) if answered else None,
                      "seconds": round(time.time() - t0, 2)}))


if __name__ == "__main__":
    main()
