# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssh / ftp / tftp on the PBX host: validate -> plan (pure) -> apply -> verify -> restore.

SSH ports live in one drop-in owned by this collection. Moving the port is a
two-step transition that can never lock the controller out:

1. the controller is connected over SSH on port OLD and asks for NEW: the
   drop-in lists both ports (``sshd -t``, reload, NEW proven to answer with an
   SSH banner on the host); the result says ``ssh_transition: pending``;
2. the play switches ``ansible_port`` to NEW and runs the same task again:
   now ``SSH_CONNECTION`` proves the controller reached the host on NEW, and
   OLD is closed.

Without an SSH connection (local run) or with ``force`` the move is done in
one step."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import socket
import time

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan

SSHD_DROPIN = "/etc/ssh/sshd_config.d/10-pbxguard.conf"
SSHD_CONFIG = "/etc/ssh/sshd_config"
VSFTPD_CONF = "/etc/vsftpd.conf"
TFTP_SERVICE_DROPIN = "/etc/systemd/system/tftpd-hpa.service.d/10-pbxguard.conf"
TFTP_SOCKET_DROPIN = "/etc/systemd/system/tftpd-hpa.socket.d/10-pbxguard.conf"
HEADER = "# managed by pbxguard.asterisk (host_service): changes made here are overwritten\n"

UNITS = {
    "ssh": ["ssh.service"],
    "ftp": ["vsftpd.service"],
    "tftp": ["tftpd-hpa.socket", "tftpd-hpa.service"],
}


class HostServiceError(Exception):
    pass


def ssh_connection(environ=None):
    """(client_ip, server_port) of the SSH connection this module runs under, or None."""
    env = os.environ if environ is None else environ
    words = (env.get("SSH_CONNECTION") or "").split()
    if len(words) != 4 or not words[3].isdigit():
        return None
    return words[0], int(words[3])


def validate(params):
    errors = []
    svc = params["service"]
    out = {"service": svc, "enabled": params.get("state", "enabled") == "enabled",
           "force": bool(params.get("force"))}
    port = params.get("port")
    if port is not None:
        if svc == "tftp":
            errors.append("port: tftpd listens on 69/udp; only 'address' and 'root_dir' can be set for tftp")
        else:
            try:
                out["port"] = policy.check_port(port, "port")
            except policy.PolicyError as e:
                errors.append(str(e))
    else:
        out["port"] = None
    addr = params.get("address")
    if addr is not None:
        if svc != "tftp":
            errors.append("address: only for tftp (ssh listens on every address; use web_access to filter)")
        else:
            try:
                out["address"] = policy.check_ip(addr, "address")
            except policy.PolicyError as e:
                errors.append(str(e))
    else:
        out["address"] = None
    root = params.get("root_dir")
    if root is not None:
        if svc != "tftp":
            errors.append("root_dir: only for tftp")
        elif not root.startswith("/") or re.search(r"[\s\"'\\$%;]", root) or "/../" in root + "/":
            errors.append("root_dir: must be an absolute path without spaces, quotes, '$', '%', ';' or '..'")
    out["root_dir"] = root
    if errors:
        raise policy.PolicyError("\n".join(errors))
    return out


# ------------------------------------------------------------------ ssh (pure)
def render_sshd_dropin(ports):
    return (HEADER + "".join("Port %d\n" % p for p in ports)).encode()


def plan_ssh(want, current_ports, foreign, connection):
    """Pure. ``current_ports``: every Port sshd reads now; ``foreign``:
    {port: file} set outside our drop-in (we cannot close those);
    ``connection``: (client, server_port) or None.
    Returns dict(ports=list or None (drop-in unchanged), transition, message)
    or raises PolicyError."""
    if not want["enabled"]:
        if connection and not want["force"]:
            raise policy.PolicyError(
                "state=disabled: refused, the controller is connected over SSH (from %s to port %d); "
                "disabling SSH would lock it out. Set force: true if another way in exists."
                % connection)
        return {"ports": None, "transition": None, "message": "ssh disabled"}
    target = want["port"]
    if target is None:
        return {"ports": None, "transition": None,
                "message": "ssh enabled on port%s %s" % ("s" if len(current_ports) > 1 else "",
                                                         ", ".join(str(p) for p in current_ports))}
    if connection is None or want["force"] or connection[1] == target or connection[1] not in current_ports:
        ports = [target]
        transition = "done" if connection and connection[1] == target and set(current_ports) != set(ports) else None
        msg = "ssh on port %d" % target
        if transition:
            msg += " (the controller's connection on port %d proves it; old port closed)" % target
    else:
        via = connection[1]
        ports = sorted(set([via, target]))
        transition = "pending"
        msg = ("ssh listens on ports %d and %d; reconnect on %d (ansible_port=%d) and run this task "
               "again to close port %d" % (via, target, target, target, via))
    left = sorted(p for p in foreign if p not in ports)
    if left:
        raise policy.PolicyError(
            "port: sshd also listens on %s, set outside this module's drop-in (%s); remove it there, "
            "SSH ports are managed through %s" % (", ".join(str(p) for p in left),
                                                  ", ".join(foreign[p] for p in left), SSHD_DROPIN))
    return {"ports": ports, "transition": transition, "message": msg}


def sshd_port_sources(texts):
    """(every port sshd reads, {port: file} of Port lines outside our drop-in)."""
    foreign = {}
    for path, text in texts:
        if path == SSHD_DROPIN:
            continue
        for port in re.findall(r"(?mi)^\s*port\s+([0-9]+)\s*$", text.split("\nMatch ")[0]):
            foreign.setdefault(int(port), path)
    return portplan.sshd_ports(texts), foreign


# ------------------------------------------------------------------ ftp (pure)
def plan_vsftpd(text, port):
    """Set anonymous_enable=NO (and listen_port) in vsftpd.conf text, keeping
    every other line. Returns the new text."""
    want = [("anonymous_enable", "NO")]
    if port is not None:
        want.append(("listen_port", str(port)))
    lines = (text or "").splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    for key, value in want:
        found = False
        new = []
        for ln in lines:
            k, sep, _v = ln.strip().partition("=")
            if sep and k.strip() == key and not ln.lstrip().startswith("#"):
                if found:
                    continue
                found = True
                new.append("%s=%s\n" % (key, value))
            else:
                new.append(ln)
        if not found:
            new.append("%s=%s\n" % (key, value))
        lines = new
    return "".join(lines)


# ----------------------------------------------------------------- tftp (pure)
def render_tftp_dropins(root_dir, address):
    service = None
    sock = None
    if root_dir:
        service = (HEADER + "[Service]\nEnvironment=TFTPD_HOME=%s\nReadWritePaths=%s\n" % (root_dir, root_dir)).encode()
    if address:
        a = "[%s]" % address if ":" in address else address
        sock = (HEADER + "[Socket]\nListenDatagram=\nListenDatagram=%s:69\n" % a).encode()
    return service, sock


# ---------------------------------------------------------------- host side
def unit_state(module, unit):
    _rc, enabled, _e = module.run_command(["systemctl", "is-enabled", unit])
    _rc, active, _e = module.run_command(["systemctl", "is-active", unit])
    return enabled.strip(), active.strip()


def units_need_change(module, service, enabled):
    changes = []
    for unit in UNITS[service]:
        en, act = unit_state(module, unit)
        if enabled and (en != "enabled" or act != "active"):
            changes.append(unit)
        if not enabled and (en not in ("disabled", "masked") or act in ("active", "activating", "reloading")):
            changes.append(unit)
    return changes


def set_units(module, service, enabled):
    units = UNITS[service]
    cmd = ["systemctl", "enable" if enabled else "disable", "--now"] + units
    rc, out, err = module.run_command(cmd)
    if rc != 0:
        raise HostServiceError("%s failed: %s" % (" ".join(cmd), (out + err).strip()))


def banner(port, host="127.0.0.1", timeout=2.0, tries=10):
    """First bytes a TCP service sends (SSH-2.0-..., 220 ...), or None."""
    for attempt in range(tries):
        try:
            s = socket.create_connection((host, port), timeout=timeout)
            try:
                s.settimeout(timeout)
                return s.recv(200).decode("utf-8", "replace")
            finally:
                s.close()
        except (OSError, socket.timeout):
            if attempt + 1 < tries:
                time.sleep(0.5)
    return None
