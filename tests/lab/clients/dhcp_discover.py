#!/usr/bin/env python
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal DHCPv4 client for lab tests: sends one DISCOVER (broadcast flag
set, optional vendor class identifier, option 60) out of IFACE and prints the
OFFER's address and options exactly as sent, as JSON. busybox udhcpc shows a
URL-form option 66 as "bad"; this reads it byte for byte.

usage: dhcp_discover.py IFACE [VENDOR_CLASS] (run inside the client netns, as root)
exit 0 with JSON on an OFFER, 1 when nothing answered within the timeout."""
import json
import os
import random
import socket
import struct
import sys
import time

NAMES = {1: "subnet_mask", 3: "router", 6: "dns", 42: "ntp", 51: "lease_time", 54: "server_id",
         66: "tftp_server_name", 53: "message_type"}


def mac_of(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return bytes(int(x, 16) for x in f.read().strip().split(":"))


def ips(data):
    return [socket.inet_ntoa(data[i:i + 4]) for i in range(0, len(data), 4)]


def main():
    iface = sys.argv[1]
    vendor = sys.argv[2] if len(sys.argv) > 2 else None
    timeout = float(os.environ.get("DHCP_TIMEOUT", "4"))
    mac = mac_of(iface)
    xid = random.getrandbits(32)
    pkt = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                      b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, mac + b"\0" * 10, b"", b"")
    pkt += b"\x63\x82\x53\x63" + b"\x35\x01\x01" + b"\x37\x06\x01\x03\x06\x2a\x42\x33"
    if vendor:
        v = vendor.encode()
        pkt += bytes([60, len(v)]) + v
    pkt += b"\xff"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, 25, iface.encode() + b"\0")  # SO_BINDTODEVICE
    s.bind(("0.0.0.0", 68))
    s.settimeout(0.5)
    deadline = time.time() + timeout
    next_send = 0
    while time.time() < deadline:
        if time.time() >= next_send:
            s.sendto(pkt, ("255.255.255.255", 67))
            next_send = time.time() + 1
        try:
            data, _addr = s.recvfrom(4096)
        except socket.timeout:
            continue
        if len(data) < 240 or data[0] != 2 or struct.unpack("!I", data[4:8])[0] != xid:
            continue
        out = {"yiaddr": socket.inet_ntoa(data[16:20])}
        i = 240
        while i < len(data) and data[i] != 255:
            if data[i] == 0:
                i += 1
                continue
            code, ln = data[i], data[i + 1]
            val = data[i + 2:i + 2 + ln]
            i += 2 + ln
            name = NAMES.get(code, str(code))
            if code in (1, 54):
                out[name] = ips(val)[0]
            elif code in (3, 6, 42):
                out[name] = ips(val)
            elif code == 51:
                out[name] = struct.unpack("!I", val)[0]
            elif code == 53:
                out[name] = val[0]
            else:
                out[name] = val.decode("latin-1")
        if out.get("message_type") != 2:
            continue
        print(json.dumps(out, sort_keys=True))
        return 0
    print(json.dumps({"error": "no offer within %ss" % timeout}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
