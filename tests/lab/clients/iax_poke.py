#!/usr/bin/env python
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real IAX2 client: send a POKE full frame (RFC 5456 section 8.1.2: frame
type 6 = IAX control, subclass 0x1e = POKE) over UDP and wait for the PONG
(subclass 0x03) that an IAX2 server answers with, then ACK it.
Usage: iax_poke.py HOST PORT [TIMEOUT]. Exit 0 = PONG received, 1 = some other
answer, 2 = no answer (nothing listens or the port is filtered)."""
import os
import socket
import struct
import sys

IAX = 6
POKE = 0x1E
PONG = 0x03
ACK = 0x04


def full_frame(src, dst, ts, oseq, iseq, subclass):
    return struct.pack("!HHIBBBB", 0x8000 | src, dst, ts, oseq, iseq, IAX, subclass)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    src = 1 + (os.getpid() % 0x7FFE)
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(full_frame(src, 0, 3, 0, 0, POKE), (host, port))
    try:
        data, _addr = s.recvfrom(4096)
    except (socket.timeout, OSError) as e:
        print("no answer from %s:%d/udp (%s)" % (host, port, type(e).__name__))
        return 2
    if len(data) < 12 or not data[0] & 0x80:
        print("not an IAX2 full frame: %r" % data[:16])
        return 1
    scall, dcall, ts, oseq, iseq, ftype, sub = struct.unpack("!HHIBBBB", data[:12])
    if ftype == IAX and sub == PONG and dcall & 0x7FFF == src:
        s.sendto(full_frame(src, scall & 0x7FFF, ts, iseq, oseq + 1, ACK), (host, port))
        print("PONG from %s:%d (call %d)" % (host, port, scall & 0x7FFF))
        return 0
    print("IAX2 answer type %d subclass 0x%02x, not PONG" % (ftype, sub))
    return 1


if __name__ == "__main__":
    sys.exit(main())
