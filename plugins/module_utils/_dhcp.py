# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kea DHCPv4 for phone provisioning: validate -> plan (pure) -> the change transaction.

``validate`` checks the form of every option (no host needed); ``plan`` checks
the addresses against the interface's own subnet and builds the Kea config
(pure: the interface's address is passed in); ``render`` gives the file bytes.
``DhcpChange`` hands the file to the transaction (_transaction.py) with
``kea-dhcp4 -t`` as its candidate check, makes Kea load it (control-socket
``config-reload``, restart as the fallback, start when it was stopped), reads
the running config back; on failure the transaction restores the old file
and Kea is made to read that again."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import json
import os
import re
import socket
import time

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import (
    Change, ChangeError, File, Plan)

CONFIG_FILE = "/etc/kea/kea-dhcp4.conf"
SERVICE = "kea-dhcp4-server"
# as Debian's kea-dhcp4-server package ships the file
CONFIG_OWNER = "root"
CONFIG_GROUP = "root"
CONFIG_MODE = 0o644
CONTROL_SOCKET = "/run/kea/kea4-ctrl-socket"
LEASE_FILE = "/var/lib/kea/kea-leases4.csv"

VENDOR_FORMATS = ("raw_ip", "tftp_url")
MIN_LEASE = 60
MAX_LEASE = 31536000  # one year
MAX_DNS = 4
SUBNET_ID = 1
MANAGED_COMMENT = "managed by pbxguard.asterisk (dhcp): changes made here are overwritten"

_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}\Z")
_PREFIX_RE = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){0,5}\Z")
_IFACE_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,15}\Z")
_MATCH_ALLOWED = re.compile(r"^[A-Za-z0-9 ._+/:-]{1,64}\Z")
# Class names Kea 3.0 gives a meaning of its own (src/lib/dhcpsrv/client_class_def.cc
# builtinNames/builtinPrefixes, the special DROP and SKIP_DDNS, the SPAWN_ prefix of
# template classes; doc/sphinx/arm/classify.rst "Built-in Client Classes"). Kea
# compares names case-sensitively, so 'drop' is an ordinary class and 'DROP' is not:
# a class DROP with a test drops every matching packet, KNOWN/ALL/... refuse a test.
KEA_RESERVED_CLASSES = ("ALL", "KNOWN", "UNKNOWN", "BOOTP", "DROP", "SKIP_DDNS")
KEA_RESERVED_PREFIXES = ("VENDOR_CLASS_", "HA_", "AFTER_", "EXTERNAL_", "SPAWN_")


class DhcpError(ChangeError):
    """systemctl or Kea refused (their words in the message)."""


# ------------------------------------------------------------------ validate
def check_mac(value, option):
    """A MAC address aa:bb:cc:dd:ee:ff (or with '-'), canonical lower case with ':'."""
    if not isinstance(value, str):
        raise PolicyError("%s: must be a string (quote MAC addresses in YAML)" % option)
    if not _MAC_RE.match(value):
        raise PolicyError("%s: is not a MAC address (six hex pairs separated by ':', "
                          "e.g. 00:0b:82:aa:bb:cc)" % option)
    mac = value.lower().replace("-", ":")
    if mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        raise PolicyError("%s: %s is not a usable device address" % (option, mac))
    if int(mac[:2], 16) & 1:
        raise PolicyError("%s: %s is a multicast address, not a device's" % (option, mac))
    return mac


def check_mac_prefix(value, option):
    """1 to 6 octets of a MAC address, e.g. 00:0b:82 (an OUI)."""
    if not isinstance(value, str) or not _PREFIX_RE.match(value):
        raise PolicyError("%s: is not a MAC prefix (1 to 6 hex pairs separated by ':', "
                          "e.g. 00:0b:82)" % option)
    return value.lower().replace("-", ":")


def check_interface(value, option="interface"):
    """A Linux interface name (at most 15 characters, no '/', no whitespace)."""
    policy.check_name(value, option, max_length=15)
    policy.path_component(value, option)  # the kernel's /sys/class/net/NAME
    if not _IFACE_RE.match(value):
        raise PolicyError("%s: is not a network interface name" % option)
    return value


def check_class_name(value, option):
    """A client class name of ours (check_name) that is none of Kea's own."""
    policy.check_name(value, option)
    if value in KEA_RESERVED_CLASSES:
        raise PolicyError("%s: '%s' is a class Kea reserves for itself (%s); pick another name"
                          % (option, value, ", ".join(KEA_RESERVED_CLASSES)))
    for prefix in KEA_RESERVED_PREFIXES:
        if value.startswith(prefix):
            raise PolicyError("%s: '%s' starts with %s, a prefix Kea reserves for its own classes "
                              "(%s); pick another name"
                              % (option, value, prefix, ", ".join(KEA_RESERVED_PREFIXES)))
    return value


def _ipv4(value, option):
    return ipaddress.IPv4Address(policy.check_ip(value, option, version=4))


def _vendor_format(value, option):
    if value not in VENDOR_FORMATS:
        raise PolicyError("%s: unknown vendor format %r; allowed: %s"
                          % (option, value, ", ".join(VENDOR_FORMATS)))
    return value


def _collect(errors, fn, *args):
    try:
        return fn(*args)
    except PolicyError as e:
        errors.append(str(e))
        return None


def validate(params):
    """Check the form of every option before anything is read or written.
    Returns the canonical values; raises PolicyError('<option>: <rule>', one
    line per problem)."""
    errors = []
    want = {"enabled": bool(params.get("enabled", True))}
    if not want["enabled"]:
        want["interface"] = None
        if params.get("interface") is not None:
            want["interface"] = _collect(errors, check_interface, params.get("interface"))
        if errors:
            raise PolicyError("\n".join(errors))
        return want
    for name in ("interface", "gateway", "range_start", "range_end"):
        if params.get(name) in (None, ""):
            errors.append("%s: required when enabled is true" % name)
    if not params.get("dns"):
        errors.append("dns: required when enabled is true (at least one DNS server)")
    if errors:
        raise PolicyError("\n".join(errors))

    want["interface"] = _collect(errors, check_interface, params["interface"])
    want["gateway"] = _collect(errors, _ipv4, params["gateway"], "gateway")
    mask = params.get("subnet_mask")
    want["subnet_mask"] = None
    if mask not in (None, ""):
        m = _collect(errors, policy.check_netmask, mask, "subnet_mask")
        if m is not None and m in ("0.0.0.0", "255.255.255.255", "255.255.255.254"):
            errors.append("subnet_mask: %s leaves no room for a DHCP range" % m)
            m = None
        want["subnet_mask"] = m
    want["range_start"] = _collect(errors, _ipv4, params["range_start"], "range_start")
    want["range_end"] = _collect(errors, _ipv4, params["range_end"], "range_end")
    if want["range_start"] is not None and want["range_end"] is not None \
            and want["range_start"] > want["range_end"]:
        errors.append("range_start: %s is after range_end %s" % (want["range_start"], want["range_end"]))

    dns = params.get("dns")
    want["dns"] = []
    if not isinstance(dns, list):
        errors.append("dns: must be a list of IPv4 addresses (preferred first)")
    else:
        if len(dns) > MAX_DNS:
            errors.append("dns: at most %d servers" % MAX_DNS)
        for i, d in enumerate(dns):
            a = _collect(errors, _ipv4, d, "dns[%d]" % i)
            if a is not None:
                if a in want["dns"]:
                    errors.append("dns[%d]: %s is listed twice" % (i, a))
                want["dns"].append(a)

    lease = params.get("lease_time", 3600)
    if isinstance(lease, bool) or not isinstance(lease, int) or not MIN_LEASE <= lease <= MAX_LEASE:
        errors.append("lease_time: must be whole seconds from %d to %d" % (MIN_LEASE, MAX_LEASE))
    want["lease_time"] = lease

    want["tftp_server"] = None
    if params.get("tftp_server") not in (None, ""):
        want["tftp_server"] = _collect(errors, _ipv4, params["tftp_server"], "tftp_server")
    want["vendor_format"] = _collect(errors, _vendor_format, params.get("vendor_format") or "raw_ip",
                                     "vendor_format")
    want["ntp_server"] = None
    if params.get("ntp_server") not in (None, ""):
        want["ntp_server"] = _collect(errors, _ipv4, params["ntp_server"], "ntp_server")

    want["reservations"] = []
    macs, addrs = {}, {}
    for i, r in enumerate(params.get("reservations") or []):
        label = "reservations[%d]" % i
        if not isinstance(r, dict):
            errors.append("%s: must be a dict with mac and address" % label)
            continue
        mac = _collect(errors, check_mac, r.get("mac"), label + ".mac")
        addr = _collect(errors, _ipv4, r.get("address"), label + ".address")
        if mac is not None:
            if mac in macs:
                errors.append("%s.mac: %s is already reserved by reservations[%d]" % (label, mac, macs[mac]))
            macs.setdefault(mac, i)
        if addr is not None:
            if addr in addrs:
                errors.append("%s.address: %s is already reserved by reservations[%d]"
                              % (label, addr, addrs[addr]))
            addrs.setdefault(addr, i)
        if mac is not None and addr is not None:
            want["reservations"].append({"mac": mac, "address": addr, "index": i})

    want["vendor_classes"] = []
    names = {}
    for i, c in enumerate(params.get("vendor_classes") or []):
        label = "vendor_classes[%d]" % i
        if not isinstance(c, dict):
            errors.append("%s: must be a dict" % label)
            continue
        match, prefix = c.get("match"), c.get("mac_prefix")
        if (match in (None, "")) == (prefix in (None, "")):
            errors.append("%s: give exactly one of match or mac_prefix" % label)
            continue
        cls = {"index": i}
        if match not in (None, ""):
            if not isinstance(match, str) or not _MATCH_ALLOWED.match(match):
                errors.append("%s.match: 1-64 characters of letters, digits, space and . _ + / : - only"
                              % label)
                continue
            cls["match"] = match
        else:
            p = _collect(errors, check_mac_prefix, prefix, label + ".mac_prefix")
            if p is None:
                continue
            cls["mac_prefix"] = p
        fmt = _collect(errors, _vendor_format, c.get("vendor_format"), label + ".vendor_format")
        if fmt is None:
            continue
        cls["vendor_format"] = fmt
        name = c.get("name")
        if name in (None, ""):
            name = "pbxguard-vendor-%d" % i
        else:
            name = _collect(errors, check_class_name, name, label + ".name")
            if name is None:
                continue
        if name in names:
            errors.append("%s.name: %s is already used by vendor_classes[%d]" % (label, name, names[name]))
            continue
        names[name] = i
        cls["name"] = name
        want["vendor_classes"].append(cls)
    if want["vendor_classes"] and want["tftp_server"] is None:
        errors.append("vendor_classes: need tftp_server (they only choose how option 66 is written)")
    if errors:
        raise PolicyError("\n".join(errors))
    return want


# --------------------------------------------------------------------- plan
def interface_addresses(ip_json, interface):
    """IPv4 interfaces (``ipaddress.IPv4Interface``) of ``interface`` from the
    output of ``ip -j addr show dev IFACE``, primary first."""
    try:
        data = json.loads(ip_json or "[]")
    except ValueError:
        raise DhcpError("interface: cannot read the output of 'ip -j addr show dev %s'" % interface)
    out = []
    for link in data:
        if link.get("ifname") != interface:
            continue
        for a in link.get("addr_info", []):
            if a.get("family") == "inet" and a.get("scope", "global") == "global" and a.get("local"):
                out.append(ipaddress.IPv4Interface("%s/%s" % (a["local"], a.get("prefixlen", 32))))
    return out


def tftp_value(server, fmt):
    """Option 66 text: the bare address (Grandstream, Panasonic, Avantec) or a tftp:// URL."""
    return str(server) if fmt == "raw_ip" else "tftp://%s" % server


def plan(want, iface_addr):
    """Pure: check the addresses against the subnet of the interface and
    build the Kea DHCPv4 config (a dict). ``iface_addr`` is the interface's
    ``IPv4Interface``. Raises PolicyError naming option and rule."""
    iface = want["interface"]
    own = iface_addr.ip
    mask = want["subnet_mask"] or str(iface_addr.netmask)
    net = ipaddress.IPv4Network("%s/%s" % (own, mask), strict=False)
    where = "the subnet %s of %s" % (net, iface)
    errors = []

    def inside(addr, option):
        if addr not in net:
            errors.append("%s: %s is outside %s" % (option, addr, where))
            return False
        if addr in (net.network_address, net.broadcast_address):
            errors.append("%s: %s is the %s address of %s" % (
                option, addr, "network" if addr == net.network_address else "broadcast", where))
            return False
        return True

    gw = want["gateway"]
    inside(gw, "gateway")
    start, end = want["range_start"], want["range_end"]
    ok_start = inside(start, "range_start")
    ok_end = inside(end, "range_end")
    if ok_start and ok_end:
        if start <= own <= end:
            errors.append("range_start: the range %s - %s contains %s, the PBX's own address on %s"
                          % (start, end, own, iface))
        if start <= gw <= end:
            errors.append("range_start: the range %s - %s contains the gateway %s" % (start, end, gw))
    for r in want["reservations"]:
        label = "reservations[%d].address" % r["index"]
        a = r["address"]
        if inside(a, label):
            if a == own:
                errors.append("%s: %s is the PBX's own address on %s" % (label, a, iface))
            elif a == gw:
                errors.append("%s: %s is the gateway" % (label, a))
    if errors:
        raise PolicyError("\n".join(errors))

    ntp = want["ntp_server"] or own
    subnet_options = [
        {"name": "routers", "data": str(gw)},
        {"name": "domain-name-servers", "data": ", ".join(str(d) for d in want["dns"])},
        {"name": "ntp-servers", "data": str(ntp)},
    ]
    dhcp4 = {
        "interfaces-config": {"interfaces": [iface]},
        "control-socket": {"socket-type": "unix", "socket-name": os.path.basename(CONTROL_SOCKET)},
        "lease-database": {"type": "memfile", "lfc-interval": 3600},
        "valid-lifetime": want["lease_time"],
        "calculate-tee-times": True,
    }
    if want["tftp_server"] is not None:
        # global scope: a client class's own option 66 takes precedence over it
        dhcp4["option-data"] = [{"name": "tftp-server-name",
                                 "data": tftp_value(want["tftp_server"], want["vendor_format"])}]
    if want["vendor_classes"]:
        classes = []
        for c in want["vendor_classes"]:
            if "match" in c:
                test = "substring(option[60].text,0,%d) == '%s'" % (len(c["match"]), c["match"])
            else:
                octets = c["mac_prefix"].split(":")
                test = "substring(pkt4.mac,0,%d) == 0x%s" % (len(octets), "".join(octets))
            classes.append({
                "name": c["name"],
                "test": test,
                "option-data": [{"name": "tftp-server-name",
                                 "data": tftp_value(want["tftp_server"], c["vendor_format"])}],
            })
        dhcp4["client-classes"] = classes
    subnet = {
        "id": SUBNET_ID,
        "subnet": str(net),
        "interface": iface,
        "pools": [{"pool": "%s - %s" % (start, end)}],
        "option-data": subnet_options,
    }
    if want["reservations"]:
        subnet["reservations"] = [{"hw-address": r["mac"], "ip-address": str(r["address"])}
                                  for r in want["reservations"]]
    dhcp4["subnet4"] = [subnet]
    dhcp4["loggers"] = [{"name": "kea-dhcp4", "output-options": [{"output": "stdout"}],
                         "severity": "INFO"}]
    return {"Dhcp4": dhcp4}


def render(config):
    """The file's bytes: stable JSON (Kea reads plain JSON)."""
    return (json.dumps(config, indent=4, sort_keys=False) + "\n").encode("utf-8")


def parse(data):
    """The parsed JSON of the current file, or None (missing, or not plain
    JSON, e.g. Debian's sample with comments)."""
    if data is None:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def summary_of(config):
    """What clients get, for the result."""
    d = config["Dhcp4"]
    s = d["subnet4"][0]
    opts = dict((o["name"], o["data"]) for o in s["option-data"])
    out = {
        "interface": d["interfaces-config"]["interfaces"][0],
        "subnet": s["subnet"],
        "pool": s["pools"][0]["pool"],
        "routers": opts.get("routers"),
        "dns": [x.strip() for x in opts.get("domain-name-servers", "").split(",") if x.strip()],
        "ntp_server": opts.get("ntp-servers"),
        "tftp_server_name": None,
        "lease_time": d["valid-lifetime"],
        "reservations": [{"mac": r["hw-address"], "address": r["ip-address"]} for r in s.get("reservations", [])],
        "vendor_classes": [{"name": c["name"], "test": c["test"], "tftp_server_name": c["option-data"][0]["data"]}
                           for c in d.get("client-classes", [])],
    }
    for o in d.get("option-data", []):
        if o["name"] == "tftp-server-name":
            out["tftp_server_name"] = o["data"]
    return out


# -------------------------------------------------------------------- apply
def read_interface(module, interface):
    """The primary IPv4 address of ``interface`` on the host (IPv4Interface)."""
    rc, out, err = module.run_command(["ip", "-j", "addr", "show", "dev", interface])
    if rc != 0:
        raise PolicyError("interface: %s does not exist on this host (%s)"
                          % (interface, (err or out).strip().splitlines()[0] if (err or out).strip() else rc))
    addrs = interface_addresses(out, interface)
    if not addrs:
        raise PolicyError("interface: %s has no IPv4 address; Kea can only serve the subnet "
                          "of an address it has" % interface)
    return addrs[0]


def service_state(module):
    """(active, enabled) of the Kea unit."""
    rc, out, _err = module.run_command(["systemctl", "is-active", SERVICE])
    active = out.strip() == "active"
    rc, out, _err = module.run_command(["systemctl", "is-enabled", SERVICE])
    enabled = out.strip() in ("enabled", "enabled-runtime", "alias")
    return active, enabled


def systemctl(module, verb):
    rc, out, err = module.run_command(["systemctl", verb, SERVICE])
    if rc != 0:
        raise DhcpError("systemctl %s %s failed: %s" % (verb, SERVICE, (err or out).strip()))


def control(command, path=CONTROL_SOCKET, timeout=10):
    """Send one command to Kea's control socket; returns the parsed answer
    (a dict, or the first element of a list) or raises OSError/ValueError."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(json.dumps({"command": command}).encode("utf-8"))
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
            try:
                answer = json.loads(b"".join(chunks).decode("utf-8"))
                break
            except ValueError:
                continue
        else:
            answer = None
        if chunks and answer is None:
            answer = json.loads(b"".join(chunks).decode("utf-8"))
    finally:
        s.close()
    if isinstance(answer, list):
        answer = answer[0] if answer else {}
    if not isinstance(answer, dict):
        raise ValueError("no answer")
    return answer


def load_config(module):
    """Make the running Kea read its file: ``config-reload`` over the control
    socket (``systemctl reload`` is not applicable: the unit has no
    ExecReload), a restart when the socket does not answer. Returns
    ('config-reload'|'restart', text)."""
    try:
        answer = control("config-reload")
        if answer.get("result") == 0:
            return "config-reload", answer.get("text", "")
        return "config-reload", "FAILED: %s" % answer.get("text", answer)
    except (OSError, IOError, ValueError):
        systemctl(module, "restart")
        return "restart", ""


def live_matches(config):
    """Problems between ``config`` and what the running Kea reports
    (``config-get``), or a list with why it could not be read."""
    try:
        answer = control("config-get")
    except (OSError, IOError, ValueError) as e:
        return ["Kea's control socket %s does not answer (%s)" % (CONTROL_SOCKET, e)]
    if answer.get("result") != 0:
        return ["config-get failed: %s" % answer.get("text")]
    live = (answer.get("arguments") or {}).get("Dhcp4") or {}
    want = config["Dhcp4"]
    problems = []
    if live.get("interfaces-config", {}).get("interfaces") != want["interfaces-config"]["interfaces"]:
        problems.append("live interfaces are %r" % live.get("interfaces-config", {}).get("interfaces"))
    ls = [(s.get("subnet"), [p.get("pool") for p in s.get("pools", [])]) for s in live.get("subnet4", [])]
    ws = [(s["subnet"], [p["pool"] for p in s["pools"]]) for s in want["subnet4"]]

    def norm(items):
        return [(n, [re.sub(r"\s+", "", p) for p in pools]) for n, pools in items]
    if norm(ls) != norm(ws):
        problems.append("live subnets/pools are %r, expected %r" % (ls, ws))
    wres = sorted((r["hw-address"], r["ip-address"]) for r in want["subnet4"][0].get("reservations", []))
    lres = sorted((r.get("hw-address"), r.get("ip-address"))
                  for s in live.get("subnet4", []) for r in s.get("reservations", []))
    if wres != lres:
        problems.append("live reservations are %r, expected %r" % (lres, wres))
    if live.get("valid-lifetime") != want["valid-lifetime"]:
        problems.append("live valid-lifetime is %r" % live.get("valid-lifetime"))
    return problems


def wait_active(module, seconds=10):
    deadline = time.time() + seconds
    while True:
        active, _enabled = service_state(module)
        if active or time.time() > deadline:
            return active
        time.sleep(0.5)


def verify(module, config, seconds=10):
    """Running and serving ``config``. Returns problems (empty = good)."""
    if not wait_active(module):
        return ["%s is not running" % SERVICE]
    deadline = time.time() + seconds
    while True:
        problems = live_matches(config)
        if not problems or time.time() > deadline:
            return problems
        time.sleep(0.5)


def journal_tail(module, lines=8):
    rc, out, _err = module.run_command(["journalctl", "-u", SERVICE, "-n", str(lines), "--no-pager", "-o", "cat"])
    return " | ".join(ln.strip() for ln in (out or "").splitlines() if ln.strip()) if rc == 0 else ""


def summary_text(c):
    n = len(c["reservations"])
    return "DHCP: serving %s on %s (%s), %d reservation%s, option 66 %s%s" % (
        c["pool"], c["interface"], c["subnet"], n, "" if n == 1 else "s",
        c["tftp_server_name"] or "not sent",
        (", %d vendor class%s" % (len(c["vendor_classes"]), "" if len(c["vendor_classes"]) == 1 else "es"))
        if c["vendor_classes"] else "")


class DhcpChange(Change):
    """kea-dhcp4.conf (checked by ``kea-dhcp4 -t`` before it is written),
    Kea made to read it, its running config read back; or the unit stopped
    and disabled."""

    name = "dhcp"
    daemon = "Kea"

    def validate(self, params):
        return dict(want=validate(params), backup=bool(params.get("backup")))

    def plan(self, host, spec):
        want = spec["want"]
        active, enabled = service_state(host)
        if not want["enabled"]:
            return self._plan_off(active, enabled)
        iface_addr = read_interface(host, want["interface"])
        config = plan(want, iface_addr)
        old = host.read(CONFIG_FILE)
        content_changed = parse(old) != config
        # the same config in another layout (a hand re-indent) is left as it is
        f = File(CONFIG_FILE, old, render(config) if content_changed else old, CONFIG_OWNER, CONFIG_GROUP,
                 CONFIG_MODE, attributes_differ=host.attributes_differ(CONFIG_FILE, CONFIG_OWNER, CONFIG_GROUP,
                                                                       CONFIG_MODE),
                 check=["kea-dhcp4", "-t", "{}"], check_in_check_mode=True, backup=spec["backup"])
        summary = summary_of(config)
        result = dict(config_changed=content_changed, applied_with="none", interface_address=str(iface_addr),
                      config=summary, service=dict(active=True, enabled=True), summary=summary_text(summary))
        how = "config-reload" if active else "start"

        def apply(h):
            out = {}
            if content_changed or not active:
                out["applied_with"] = how
                try:
                    if active:
                        out["applied_with"], said = load_config(h)
                        if said.startswith("FAILED"):
                            raise DhcpError("config-reload answered: %s" % said[len("FAILED: "):])
                    else:
                        systemctl(h, "start")
                except DhcpError as e:
                    if not content_changed:
                        raise ChangeError("%s did not start with %s: %s" % (SERVICE, CONFIG_FILE, e))
                    raise ChangeError("Kea did not take the new %s (applied with %s); the previous file was "
                                      "restored%s. Problems: %s" % (CONFIG_FILE, out["applied_with"],
                                                                    " and reloaded" if active else "", e))
            if not enabled:
                systemctl(h, "enable")
            return out

        def verify_live(h):
            if not content_changed and active:  # only owner/mode were fixed, or only enabled
                return []
            return verify(h, config)

        def revert(h):
            if active:
                now_active, dummy = service_state(h)
                if now_active:
                    load_config(h)
                else:
                    systemctl(h, "restart")
            else:
                systemctl(h, "stop")

        return Plan(result, [f], changed=not active or not enabled, apply=apply, verify=verify_live,
                    revert=revert, said=lambda: [journal_tail(host) or "(nothing)"],
                    failure="Kea did not take the new %s (applied with %s); the previous file was restored%s"
                            % (CONFIG_FILE, how, " and reloaded" if active else ""))

    def _plan_off(self, active, enabled):
        def apply(h):
            if active:
                systemctl(h, "stop")
            if enabled:
                systemctl(h, "disable")

        def verify_off(h):
            now_active, now_enabled = service_state(h)
            return ["%s is still %s" % (SERVICE, state) for state, on in
                    (("active", now_active), ("enabled", now_enabled)) if on]

        result = dict(config_changed=False, applied_with="none", service=dict(active=False, enabled=False),
                      summary="DHCP: %s stopped and disabled" % SERVICE)
        return Plan(result, [], changed=active or enabled, apply=apply, verify=verify_off,
                    failure="%s did not stop" % SERVICE)
