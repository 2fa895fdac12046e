#!/usr/bin/env python
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real AMI client: TCP connect, read the banner, Action: Login, read the
response, Action: Logoff.  Usage: ami_login.py HOST PORT USER  (secret on stdin
or in $AMI_SECRET, so it never shows in a process list).  Exit 0 = "Authentication accepted",
1 = refused by Asterisk, 2 = no connection / no AMI answer."""
import os
import socket
import sys


def main():
    host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    secret = os.environ.get("AMI_SECRET") or sys.stdin.readline().rstrip("\n")
    try:
        s = socket.create_connection((host, port), timeout=5)
        banner = s.recv(200).decode(errors="replace")
        if not banner.startswith("Asterisk Call Manager"):
            print("no AMI banner: %r" % banner)
            return 2
        s.sendall(("Action: Login\r\nActionID: 1\r\nUsername: %s\r\nSecret: %s\r\n\r\n"
                   % (user, secret)).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        text = data.decode(errors="replace")
        if "Response: Success" in text:
            s.sendall(b"Action: Logoff\r\n\r\n")
            s.close()
            print("accepted")
            return 0
        print("refused: %s" % " ".join(text.split()))
        return 1
    except (OSError, socket.timeout) as e:
        print("no connection: %s" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
