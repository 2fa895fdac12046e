# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port plan shared by every service module.

Every listener of every managed service on the host is read from the live
configuration files (not only from the task): Asterisk's HTTP server
(http.conf), PJSIP transports (pjsip.conf and the files it includes), IAX
(iax.conf), AMI (manager.conf), sshd (sshd_config and its drop-ins), vsftpd
(vsftpd.conf) and tftpd (69/udp). A task says which services it manages and
which listeners it wants for them; ``check`` refuses two services on the same
port and protocol (on overlapping addresses) and reserved ports, listing
every clash, before anything is changed.

The parsers are pure (bytes in, Binding list out); ``collect`` is the only
function that reads files."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os
import re

from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ConfigFile, ast_true, load_tree
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sshd as sshd
from ansible_collections.pbxguard.asterisk.plugins.module_utils._files import LOCAL
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError, RESERVED_PORTS

WILDCARD = ""  # any address

# service names used as owners of bindings
HTTP = "http"
PJSIP = "pjsip"
IAX = "iax"
AMI = "ami"
SSH = "ssh"
FTP = "ftp"
TFTP = "tftp"
WEB_REDIRECT = "web-redirect"


class Binding(object):
    """One listener: ``service`` owns it, ``name`` tells it apart within the
    service (a transport, 'https'), ``source`` says where it was read."""

    __slots__ = ("service", "name", "proto", "port", "address", "source", "option")

    def __init__(self, service, proto, port, address=WILDCARD, name=None, source="task", option="address"):
        self.service = service
        self.option = option  # the task option that set the address (named in a refusal)
        self.name = name or service
        self.proto = proto
        self.port = int(port)
        self.address = _norm_addr(address)
        self.source = source

    @property
    def owner(self):
        return "%s %s" % (self.service, self.name) if self.name != self.service else self.service

    def label(self):
        where = self.address or "*"
        if ":" in where:
            where = "[%s]" % where
        return "%s on %s:%d/%s (%s)" % (self.owner, where, self.port, self.proto, self.source)

    def as_dict(self):
        return {"service": self.service, "name": self.name, "proto": self.proto,
                "port": self.port, "address": self.address or "*", "source": self.source}

    def __eq__(self, other):
        return isinstance(other, Binding) and self.as_dict() == other.as_dict()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(tuple(sorted(self.as_dict().items())))

    def __repr__(self):
        return "Binding(%s)" % self.label()


def _norm_addr(address):
    a = (address or "").strip()
    if a.startswith("[") and a.endswith("]"):
        a = a[1:-1]
    if a in ("", "*", "0.0.0.0", "::", "0:0:0:0:0:0:0:0"):
        return WILDCARD
    try:
        return str(ipaddress.ip_address(a))
    except ValueError:
        return a  # a host name: compared as text


def split_hostport(text, default_port):
    """'1.2.3.4:5060', '[::1]:5061', '0.0.0.0', '::' -> (address, port)."""
    t = (text or "").strip()
    if not t:
        return WILDCARD, default_port
    if t.startswith("["):
        addr, _sep, rest = t[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif t.count(":") == 1:
        addr, _sep, port = t.partition(":")
    else:
        addr, port = t, ""  # bare IPv4 or bare IPv6
    if port and re.match(r"^[0-9]+\Z", port):
        return addr, int(port)
    return addr, default_port


def _general(configs):
    """Merged [general] options of a config tree: the last value wins."""
    merged = {}
    for cfg in configs:
        for s in cfg.find("general"):
            for k, v in s.items():
                merged[k.lower()] = v
    return merged


def _as_configs(data, path):
    if data is None:
        return []
    if isinstance(data, ConfigFile):
        return [data]
    if isinstance(data, list):
        return data
    return [ConfigFile.from_bytes(data, path)]


# ------------------------------------------------------------- parsers (pure)
def http_bindings(data, path="http.conf"):
    g = _general(_as_configs(data, path))
    out = []
    if not ast_true(g.get("enabled")):
        return out
    if g.get("bindaddr"):
        addr = g["bindaddr"]
        port = g.get("bindport", "8088")
        if re.match(r"^[0-9]+\Z", port.strip()):
            out.append(Binding(HTTP, "tcp", int(port), addr, "http", path))
    if ast_true(g.get("tlsenable")):
        addr, port = split_hostport(g.get("tlsbindaddr"), 8089)
        out.append(Binding(HTTP, "tcp", port, addr, "https", path))
    return out


_PJSIP_PROTO = {"udp": ("udp", 5060), "tcp": ("tcp", 5060), "tls": ("tcp", 5061)}


def pjsip_bindings(data, path="pjsip.conf"):
    """Transports of pjsip.conf and its included files (pass a list of
    ConfigFile from load_tree to include them). ws/wss ride on the HTTP server."""
    out = []
    for cfg in _as_configs(data, path):
        for s in cfg.sections:
            if s.is_template or (s.type or "").lower() != "transport":
                continue
            proto = (s.get("protocol") or "udp").strip().lower()
            if proto not in _PJSIP_PROTO:
                continue
            l4, default = _PJSIP_PROTO[proto]
            addr, port = split_hostport(s.get("bind"), default)
            out.append(Binding(PJSIP, l4, port, addr, "transport %s (%s)" % (s.name, proto),
                               cfg.path or path))
    return out


def iax_bindings(data, path="iax.conf"):
    configs = _as_configs(data, path)
    if not configs:
        return []
    g = _general(configs)
    port = (g.get("bindport") or "4569").strip()
    port = int(port) if re.match(r"^[0-9]+\Z", port) else 4569
    addr, aport = split_hostport(g.get("bindaddr"), port)
    return [Binding(IAX, "udp", aport, addr, IAX, path)]


def manager_bindings(data, path="manager.conf"):
    g = _general(_as_configs(data, path))
    out = []
    if not ast_true(g.get("enabled")):
        return out
    port = (g.get("port") or "5038").strip()
    port = int(port) if re.match(r"^[0-9]+\Z", port) else 5038
    out.append(Binding(AMI, "tcp", port, g.get("bindaddr") or WILDCARD, AMI, path))
    if ast_true(g.get("tlsenable")):
        addr, tport = split_hostport(g.get("tlsbindaddr"), 5039)
        out.append(Binding(AMI, "tcp", tport, addr, "ami-tls", path))
    return out


def sshd_bindings(ports, path="sshd_config"):
    """``ports``: sshd's ports as ``_sshd.ports_or_default`` reads them."""
    return [Binding(SSH, "tcp", p, WILDCARD, SSH, path) for p in ports]


def vsftpd_bindings(text, path="vsftpd.conf"):
    port = 21
    for line in (text or "").splitlines():
        k, _sep, v = line.strip().partition("=")
        if k.strip() == "listen_port" and re.match(r"^[0-9]+\Z", v.strip()):
            port = int(v.strip())
    return [Binding(FTP, "tcp", port, WILDCARD, FTP, path)]


def redirect_bindings(text, path="pbxguard-web-redirect.service"):
    """The web module's port-80 redirector (its systemd unit's ExecStart)."""
    m = re.search(r"(?m)^ExecStart=\S+ \S+ --bind (\S+) --port ([0-9]+) ", text or "")
    if not m:
        return []
    return [Binding(WEB_REDIRECT, "tcp", int(m.group(2)), m.group(1), WEB_REDIRECT, path)]


def tftp_bindings(port=69, address=WILDCARD, path="tftpd-hpa.socket"):
    return [Binding(TFTP, "udp", port, address, TFTP, path)]


# ---------------------------------------------------------------- the check
def _overlap(a, b):
    return a == WILDCARD or b == WILDCARD or a == b


def check(current, manages, want, reserved=RESERVED_PORTS, local=None):
    """Pure. ``current``: the host's bindings read from the live files;
    ``manages``: service names (or (service, name) pairs) whose current
    bindings the task replaces; ``want``: the bindings the task wants;
    ``local``: the host's own addresses (local_addresses), when known.
    Returns the resulting plan (list of Binding); raises PolicyError listing
    every clash, every reserved port and every address the host does not
    have (the daemon could not listen there: found by tests/reliability/
    test_fuzz.py, where a foreign bind_address was written, refused by the
    daemon and rolled back, with a message naming no option)."""
    manages = set(manages)
    if local is not None:
        foreign = []
        for b in want:
            if b.address != WILDCARD and b.address not in local:
                key = "%s: %s is not an address of this host (ip addr); %s could not listen there" % (
                    b.option, b.address, b.owner)
                if key not in foreign:
                    foreign.append(key)
        if foreign:
            raise PolicyError("\n".join(foreign))

    def replaced(b):
        return b.service in manages or (b.service, b.name) in manages

    plan = [b for b in current if not replaced(b)] + list(want)
    problems = []
    for b in want:
        if b.port in reserved:
            problems.append("%s: port %d is reserved" % (b.label(), b.port))
    seen = []
    for i, a in enumerate(plan):
        for b in plan[i + 1:]:
            if a.proto == b.proto and a.port == b.port and _overlap(a.address, b.address) \
                    and a.owner != b.owner:
                key = (a.label(), b.label())
                if key not in seen:
                    seen.append(key)
                    problems.append("port clash on %d/%s: %s and %s" % (a.port, a.proto, a.label(), b.label()))
    if problems:
        raise PolicyError("port plan refused (nothing was changed):\n  " + "\n  ".join(problems))
    return plan


# ------------------------------------------------------------ reading (I/O)
def parse_ip_addr(text):
    """The addresses in ``ip -j addr show`` output (normalised as Binding does)."""
    import json
    out = set()
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return None
    for link in data:
        for a in link.get("addr_info", []):
            if a.get("local"):
                out.add(_norm_addr(a["local"]))
    return out or None  # no address at all: ip did not tell (a host has at least lo)


def local_addresses(host):
    """The host's own addresses, or None when ``ip`` cannot tell (then no check)."""
    try:
        rc, out, err = host.run_command(["ip", "-j", "addr", "show"])
    except Exception:  # pylint: disable=broad-except
        return None
    return parse_ip_addr(out) if rc == 0 else None


def _read_text(path, files):
    try:
        data = files.read(path)
    except (IOError, OSError):
        return None
    return None if data is None else data.decode("utf-8", "replace")


def collect(asterisk_dir="/etc/asterisk", sshd_config="/etc/ssh/sshd_config",
            vsftpd_conf="/etc/vsftpd.conf", enabled=None,
            redirect_unit="/etc/systemd/system/pbxguard-web-redirect.service", files=None):
    """Every binding of the host, read from the live files. ``enabled`` maps
    ssh/ftp/tftp to whether the service is enabled (a disabled host service
    claims no port); missing means enabled when its config exists.
    ``files``: the host's read side (a planner's ``Host``)."""
    files = files or LOCAL
    enabled = enabled or {}
    out = []
    for name, fn in (("http.conf", http_bindings), ("pjsip.conf", pjsip_bindings),
                     ("iax.conf", iax_bindings), ("manager.conf", manager_bindings)):
        path = os.path.join(asterisk_dir, name)
        if files.exists(path):
            out.extend(fn(load_tree(path, files=files), path))
    if enabled.get(SSH, True) and files.exists(sshd_config):
        out.extend(sshd_bindings(sshd.ports_or_default(files.read, files.glob, sshd_config), sshd_config))
    text = _read_text(vsftpd_conf, files)
    if text is not None and enabled.get(FTP, True):
        out.extend(vsftpd_bindings(text, vsftpd_conf))
    if enabled.get(TFTP, False):
        out.extend(tftp_bindings())
    text = _read_text(redirect_unit, files)
    if text is not None:
        out.extend(redirect_bindings(text, redirect_unit))
    return out


ENABLED_STATES = ("enabled", "enabled-runtime", "static", "alias", "indirect", "generated")
LIVE_UNITS = ("ssh.service", "ssh.socket", "vsftpd.service", "tftpd-hpa.socket", "tftpd-hpa.service")


def parse_systemctl_show(text):
    """Pure: ``systemctl show --property=Id,UnitFileState,ActiveState U1 U2 ...``
    output -> {unit: (unit file state, active state)}. A unit that does not
    exist has an empty unit file state (as ``is-enabled`` has no answer)."""
    states = {}
    for block in re.split(r"\n\s*\n", text or ""):
        props = {}
        for line in block.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                props[key.strip()] = value.strip()
        if props.get("Id"):
            states[props["Id"]] = (props.get("UnitFileState", ""), props.get("ActiveState", "") or "inactive")
    return states


def unit_states(module, units):
    """{unit: (unit file state, active state)} of every unit, in one ``systemctl show``
    (one process instead of an is-enabled and an is-active per unit)."""
    units = list(dict.fromkeys(units))
    rc, out, _err = module.run_command(["systemctl", "show", "--property=Id,UnitFileState,ActiveState"] + units)
    states = parse_systemctl_show(out) if rc == 0 else {}
    for unit in units:
        if unit not in states:  # systemctl show failed, or named the unit differently (an alias)
            _rc, en, _e = module.run_command(["systemctl", "is-enabled", unit])
            _rc, act, _e = module.run_command(["systemctl", "is-active", unit])
            states[unit] = (en.strip(), act.strip())
    return states


def systemd_enabled(module, unit):
    rc, out, _err = module.run_command(["systemctl", "is-enabled", unit])
    return out.strip() in ENABLED_STATES


def live_enabled(states):
    """Pure: ssh/ftp/tftp enabled, from unit_states() of LIVE_UNITS."""
    def on(unit):
        return states.get(unit, ("", ""))[0] in ENABLED_STATES
    return {
        SSH: on("ssh.service") or on("ssh.socket"),
        FTP: on("vsftpd.service"),
        TFTP: on("tftpd-hpa.socket") or on("tftpd-hpa.service"),
    }


def collect_live(module, states=None, **kw):
    """collect() with ssh/ftp/tftp enabled states asked from systemd (one
    ``systemctl show``; ``states`` from unit_states() when the caller has them)."""
    if states is None or any(u not in states for u in LIVE_UNITS):
        states = unit_states(module, LIVE_UNITS)
    kw.setdefault("files", module if hasattr(module, "read") else None)
    return collect(enabled=live_enabled(states), **kw)
