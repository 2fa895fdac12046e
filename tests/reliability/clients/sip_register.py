#!/usr/bin/env python
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""N SIP phones in one process: each REGISTERs (UDP, digest MD5) from its own
local port, then re-REGISTERs every --interval seconds until --duration is
over, and finally prints one JSON line: registrations tried, 200 OK, failures
(with the status line), and the slowest answer.

    sip_register.py PBX_IP LOCAL_IP FIRST_NUMBER COUNT --duration S < secret
The secret (one line on stdin) is the same for every phone (test only)."""
import argparse
import hashlib
import json
import random
import re
import select
import signal
import socket
import sys
import time


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


class Phone(object):
    def __init__(self, pbx, local_ip, number, secret, expires):
        self.pbx, self.number, self.secret, self.expires = pbx, number, secret, expires
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local_ip, 0))
        self.local = self.sock.getsockname()
        self.call_id = "%x@%s" % (random.getrandbits(64), local_ip)
        self.cseq = 0
        self.tag = "%x" % random.getrandbits(32)

    def request(self, auth=None):
        self.cseq += 1
        uri = "sip:%s" % self.pbx
        lines = [
            "REGISTER %s SIP/2.0" % uri,
            "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%x;rport" % (self.local[0], self.local[1], random.getrandbits(48)),
            "Max-Forwards: 70",
            "From: <sip:%s@%s>;tag=%s" % (self.number, self.pbx, self.tag),
            "To: <sip:%s@%s>" % (self.number, self.pbx),
            "Call-ID: %s" % self.call_id,
            "CSeq: %d REGISTER" % self.cseq,
            "Contact: <sip:%s@%s:%d>" % (self.number, self.local[0], self.local[1]),
            "Expires: %d" % self.expires,
            "User-Agent: pbxguard-reliability",
        ]
        if auth:
            lines.append(auth)
        lines += ["Content-Length: 0", "", ""]
        self.sock.sendto("\r\n".join(lines).encode(), (self.pbx, 5060))

    def wait(self, timeout=5.0):
        r, _w, _x = select.select([self.sock], [], [], timeout)
        if not r:
            return None
        data = self.sock.recv(65535).decode("utf-8", "replace")
        return data

    def register(self):
        """One full registration (with the digest challenge); returns (ok, status, seconds)."""
        t0 = time.time()
        self.request()
        for dummy in range(4):
            resp = self.wait()
            if resp is None:
                return False, "timeout", time.time() - t0
            status = resp.split("\r\n", 1)[0]
            code = int(status.split()[1])
            if code == 100:
                continue
            if code == 401:
                m = re.search(r'WWW-Authenticate:\s*Digest\s+(.*)', resp, re.I)
                params = dict(re.findall(r'(\w+)="?([^",]+)"?', m.group(1)))
                realm, nonce = params["realm"], params["nonce"]
                uri = "sip:%s" % self.pbx
                ha1 = md5("%s:%s:%s" % (self.number, realm, self.secret))
                ha2 = md5("REGISTER:%s" % uri)
                if "qop" in params:
                    cnonce = "%x" % random.getrandbits(32)
                    resp_hash = md5("%s:%s:00000001:%s:auth:%s" % (ha1, nonce, cnonce, ha2))
                    auth = ('Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                            'response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="%s"'
                            % (self.number, realm, nonce, uri, resp_hash, cnonce))
                else:
                    resp_hash = md5("%s:%s:%s" % (ha1, nonce, ha2))
                    auth = ('Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                            'response="%s", algorithm=MD5' % (self.number, realm, nonce, uri, resp_hash))
                if "opaque" in params:
                    auth += ', opaque="%s"' % params["opaque"]
                self.request(auth)
                continue
            return code == 200, status, time.time() - t0
        return False, "no final answer", time.time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pbx")
    ap.add_argument("local_ip")
    ap.add_argument("first", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("--duration", type=float, default=0)
    ap.add_argument("--interval", type=float, default=5)
    ap.add_argument("--expires", type=int, default=600)
    ap.add_argument("--ready-file")
    a = ap.parse_args()
    secret = sys.stdin.readline().strip()
    phones = [Phone(a.pbx, a.local_ip, str(a.first + i), secret, a.expires) for i in range(a.count)]
    stats = {"phones": a.count, "tried": 0, "ok": 0, "failures": [], "slowest_s": 0.0, "initial_ok": 0}
    for ph in phones:
        ok, status, took = ph.register()
        stats["tried"] += 1
        stats["ok"] += ok
        stats["initial_ok"] += ok
        stats["slowest_s"] = max(stats["slowest_s"], took)
        if not ok:
            stats["failures"].append("%s: %s" % (ph.number, status))
    if a.ready_file:
        open(a.ready_file, "w").write(json.dumps(stats))
    end = time.time() + a.duration
    stop = []
    signal.signal(signal.SIGTERM, lambda *x: stop.append(1))
    i = 0
    while time.time() < end and not stop:
        ph = phones[i % len(phones)]
        i += 1
        ok, status, took = ph.register()
        stats["tried"] += 1
        stats["ok"] += ok
        stats["slowest_s"] = max(stats["slowest_s"], took)
        if not ok:
            stats["failures"].append("%s: %s at +%.1fs" % (ph.number, status, a.duration - (end - time.time())))
        time.sleep(max(0.0, a.interval / len(phones)))
    stats["slowest_s"] = round(stats["slowest_s"], 3)
    print(json.dumps(stats))
    return 0 if not stats["failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
