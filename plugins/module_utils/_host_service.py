# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssh / ftp / tftp on the PBX host, as a change of the one transaction:
validate -> plan (reads only) -> write -> apply -> verify -> restore.

SSH ports live in one drop-in owned by this collection. Moving the port is a
two-step transition that can never lock the controller out:

1. the controller is connected over SSH on port OLD and asks for NEW: the
   drop-in lists both ports (``sshd -t``, reload, NEW proven to answer with an
   SSH banner on the host); the result says ``ssh_transition: pending``;
2. the play switches ``ansible_port`` to NEW and runs the same task again:
   now ``SSH_CONNECTION`` proves the controller reached the host on NEW, and
   OLD is closed.

Without an SSH connection (local run) or with ``force`` the move is done in
one step.

Several services can be handled in one module run (``services``): one
lock, one port plan of the host for all of them, one ``systemctl show`` for
every unit state; the services are applied in the order given, then each is
verified. When one fails, every file of the run is put back and every
service touched is put back to the unit state it had (and reloaded)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import socket
import time

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sshd as sshd
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import (
    Change, ChangeError, File, Plan)

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


def ssh_connection(environ=None):
    """(client_ip, server_port) of the SSH connection this module runs under, or None."""
    env = os.environ if environ is None else environ
    words = (env.get("SSH_CONNECTION") or "").split()
    if len(words) != 4 or not words[3].isdigit():
        return None
    return words[0], int(words[3])


def validate(params, prefix=""):
    """One service's options -> want dict; raises PolicyError naming the
    option (``prefix`` e.g. "services[1]." for an entry of a list)."""
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
        raise policy.PolicyError("\n".join(prefix + e for e in errors))
    return out


def validate_all(params):
    """The module's options -> [want] in the order given: either the single
    ``service`` (with state/port/address/root_dir) or the ``services`` list.
    Raises PolicyError listing every problem."""
    force = bool(params.get("force"))
    items = params.get("services")
    if items is None:
        return [validate(dict(params, force=force))]
    errors = []
    for opt in ("port", "address", "root_dir"):
        if params.get(opt) is not None:
            errors.append("%s: give it inside the services entry it belongs to, not next to services" % opt)
    if not items:
        errors.append("services: empty; name at least one of ssh, ftp, tftp")
    wants, seen = [], set()
    for i, item in enumerate(items or []):
        prefix = "services[%d]." % i
        if item.get("service") in seen:
            errors.append("%sservice: %s is named twice" % (prefix, item.get("service")))
            continue
        seen.add(item.get("service"))
        try:
            wants.append(validate(dict(item, force=force), prefix))
        except policy.PolicyError as e:
            errors.append(str(e))
    if errors:
        raise policy.PolicyError("\n".join(errors))
    return wants


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


def sshd_port_sources(read, glob):
    """(every port sshd reads, {port: file} of Port lines outside our drop-in),
    through ``_sshd.ports``: the one reader of sshd_config."""
    foreign = {}
    for port, path in sshd.ports(read, glob, SSHD_CONFIG, skip=(SSHD_DROPIN,)):
        foreign.setdefault(port, path)
    return sshd.ports_or_default(read, glob, SSHD_CONFIG), foreign


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
def needs_change(states, service, enabled):
    """Pure: the units of ``service`` whose (unit file state, active state)
    in ``states`` differ from enabled+running (or stopped+disabled)."""
    changes = []
    for unit in UNITS[service]:
        en, act = states.get(unit, ("", ""))
        if enabled and (en != "enabled" or act != "active"):
            changes.append(unit)
        if not enabled and (en not in ("disabled", "masked") or act in ("active", "activating", "reloading")):
            changes.append(unit)
    return changes


def _run(host, cmd):
    """Run a service action; a refusal is a ChangeError with systemd's words."""
    rc, out, err = host.run_command(cmd)
    if rc != 0:
        raise ChangeError("%s failed: %s" % (" ".join(cmd), ((out or "") + (err or "")).strip()))


def set_units(host, service, enabled):
    _run(host, ["systemctl", "enable" if enabled else "disable", "--now"] + UNITS[service])


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


# ------------------------------------------------------ plan (reads only)
class PlanError(policy.PolicyError):
    """A refused plan; ``extra`` goes into the failure result."""

    def __init__(self, msg, **extra):
        super(PlanError, self).__init__(msg)
        self.extra = extra


def plan_one(host, want, connection):
    """Read one service's files and plan them (nothing is written).
    Returns dict(service, enabled, writes=[(path, old, new)], ports, proto,
    address, transition, summary, file_changes); raises PlanError."""
    svc = want["service"]
    out = dict(service=svc, enabled=want["enabled"], writes=[], ports=[], transition=None,
               proto="udp" if svc == "tftp" else "tcp", address=want.get("address") or "")
    if svc == "ssh":
        current, foreign = sshd_port_sources(host.read, host.glob)
        try:
            sp = plan_ssh(want, current, foreign, connection)
        except policy.PolicyError as e:
            raise PlanError(str(e), ports=current)
        if sp["ports"] is not None:
            out["writes"].append((SSHD_DROPIN, host.read(SSHD_DROPIN), render_sshd_dropin(sp["ports"])))
            out["ports"] = sp["ports"]
        else:
            out["ports"] = current
        out["transition"] = sp["transition"]
        out["summary"] = sp["message"]
    elif svc == "ftp":
        old = host.read(VSFTPD_CONF)
        new = plan_vsftpd((old or b"").decode("utf-8", "replace"), want["port"]).encode()
        out["writes"].append((VSFTPD_CONF, old, new))
        out["ports"] = [b.port for b in portplan.vsftpd_bindings(new.decode())]
        out["summary"] = "ftp (vsftpd) on port %d, anonymous login off" % out["ports"][0]
    else:
        if want["root_dir"] and not host.isdir(want["root_dir"]):
            raise PlanError("root_dir: %s does not exist on the host" % want["root_dir"])
        service_dropin, socket_dropin = render_tftp_dropins(want["root_dir"], want["address"])
        if service_dropin:
            out["writes"].append((TFTP_SERVICE_DROPIN, host.read(TFTP_SERVICE_DROPIN), service_dropin))
        if socket_dropin:
            out["writes"].append((TFTP_SOCKET_DROPIN, host.read(TFTP_SOCKET_DROPIN), socket_dropin))
        out["ports"] = [69]
        root = ", root %s" % want["root_dir"] if want["root_dir"] else ""
        out["summary"] = "tftp on %s:69/udp%s" % (want["address"] or "*", root)
    if not want["enabled"]:
        out["ports"] = []
        out["summary"] = "%s disabled" % svc
    out["file_changes"] = [(p, o, n) for p, o, n in out["writes"] if o != n]
    return out


def plan_all(host, wants, connection):
    """Plan every wanted service, check the port plan of the whole host with
    all their new ports at once, and read every unit state in one
    ``systemctl show``. Returns (plans, port plan, unit states); raises PlanError."""
    plans = [plan_one(host, w, connection) for w in wants]
    svcs = [p["service"] for p in plans]
    wanted = [portplan.Binding(p["service"], p["proto"], port, p["address"], p["service"], "task")
              for p in plans for port in p["ports"]]
    states = portplan.unit_states(host, list(portplan.LIVE_UNITS) + [u for s in svcs for u in UNITS[s]])
    try:
        plan = portplan.check(portplan.collect_live(host, states), svcs, wanted)
    except policy.PolicyError as e:
        raise PlanError(str(e))
    for p in plans:
        p["units"] = needs_change(states, p["service"], p["enabled"])
        p["changed"] = bool(p["file_changes"] or p["units"])
    return plans, plan, states


# ------------------------------------------- service actions (the transaction's)
def apply_one(host, p):
    """Reload/restart one planned service after its files are written."""
    svc, file_changes = p["service"], p["file_changes"]
    if svc == "ssh" and file_changes:
        rc, said = sshd.sshd_test(host)
        if rc != 0:
            raise ChangeError("sshd -t refused the new drop-in; the previous one was restored: %s"
                              % said.strip())
    if svc == "tftp" and file_changes:
        _run(host, ["systemctl", "daemon-reload"])
    if not p["enabled"]:
        set_units(host, svc, False)
        return
    set_units(host, svc, True)
    if file_changes:
        if svc == "ssh":
            try:
                sshd.reload_ssh(host)
            except sshd.SshdError as e:
                raise ChangeError(str(e))
        else:
            _run(host, ["systemctl", "restart"] + UNITS[svc])


def verify_one(host, p):
    """Problems of one applied service: every TCP port answers like the
    service (SSH banner, FTP 220), tftp's socket is active."""
    if not p["enabled"]:
        return []
    expect = {"ssh": "SSH-", "ftp": "220"}.get(p["service"])
    if expect:
        bad = [port for port in p["ports"] if not (banner(port) or "").startswith(expect)]
        if bad:
            return ["%s does not answer on port(s) %s after the change"
                    % (p["service"], ", ".join(str(x) for x in bad))]
        return []
    _rc, active, _e = host.run_command(["systemctl", "is-active", "tftpd-hpa.socket"])
    if active.strip() != "active":
        return ["tftpd-hpa.socket is %s after the change" % active.strip()]
    return []


def revert_one(host, p, states):
    """After the files are back: the units of ``p`` to the state read before
    the run, and a reload/restart so the restored files are what runs."""
    svc = p["service"]
    if svc == "tftp" and p["file_changes"]:
        host.run_command(["systemctl", "daemon-reload"])
    for unit in UNITS[svc]:
        en, act = states.get(unit, ("", ""))
        if unit in p["units"]:
            if en in ("enabled", "disabled"):
                host.run_command(["systemctl", "enable" if en == "enabled" else "disable", unit])
            host.run_command(["systemctl", "start" if act == "active" else "stop", unit])
        elif p["file_changes"] and act == "active":
            if svc == "ssh":
                try:
                    sshd.reload_ssh(host)
                except sshd.SshdError:
                    pass
            else:
                host.run_command(["systemctl", "restart", unit])


def _entry(p):
    out = dict(service=p["service"], enabled=p["enabled"], ports=p["ports"], units_changed=p["units"],
               changed=p["changed"], summary=p["summary"])
    if p["service"] == "ssh":
        out["ssh_transition"] = p["transition"]
    return out


class HostServiceChange(Change):
    """Every service of the run in one plan: their files, then apply in the
    order given, verify each, and on failure put every file and unit back."""

    name = "host_service"
    daemon = "systemd"

    def __init__(self):
        self.extra = {}

    def validate(self, params):
        return dict(wants=validate_all(params), single=params.get("services") is None)

    def fail(self, module, msg, result):
        Change.fail(self, module, msg, dict(result, **self.extra))

    def plan(self, host, spec):
        wants, single = spec["wants"], spec["single"]
        try:
            plans, port_plan, states = plan_all(host, wants, ssh_connection())
        except PlanError as e:
            self.extra = dict(units_changed=[], **e.extra)
            raise
        result = dict(port_plan=[b.as_dict() for b in port_plan],
                      units_changed=[u for p in plans for u in p["units"]],
                      summary="; ".join(p["summary"] for p in plans))
        if single:
            result.update(service=plans[0]["service"], enabled=plans[0]["enabled"], ports=plans[0]["ports"])
        else:
            result["services"] = [_entry(p) for p in plans]
        for p in plans:
            if p["service"] == "ssh":
                result["ssh_transition"] = p["transition"]
        todo = [p for p in plans if p["changed"]]
        plan_files = [File(path, old, new, owner="root", group="root", mode=0o644, make_dirs=0o755)
                      for p in plans for path, old, new in p["writes"]]

        def named(p, text):
            return text if single else "%s: %s" % (p["service"], text)

        def apply(h):
            for p in todo:
                try:
                    apply_one(h, p)
                except ChangeError as e:
                    raise ChangeError(named(p, str(e)))

        def verify(h):
            return [named(p, problem) for p in todo for problem in verify_one(h, p)]

        def revert(h):
            for p in reversed(todo):
                revert_one(h, p, states)

        return Plan(result, plan_files, changed=any(p["units"] for p in plans), apply=apply,
                    verify=verify, revert=revert,
                    failure="the change did not take; the previous configuration was restored")
