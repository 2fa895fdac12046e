# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SIP transports (PJSIP) and the IAX port: validate -> plan (reads only) ->
restart -> verify, as a ``SipTransportChange`` the change transaction
(module_utils/_transaction.py) runs; it writes, and restores on rejection.

Ownership: the module owns one whole file, ``pjsip_transport_pbxguard.conf``,
pulled in by a ``#tryinclude`` line it adds to pjsip.conf, holding the
transports ``pbxguard-udp``, ``pbxguard-tcp`` and ``pbxguard-tls``. The IAX
port is ``bindport`` in ``[general]`` of iax.conf.

PJSIP does not apply transport changes on reload and chan_iax2 does not move
its socket on ``iax2 reload``: both need an Asterisk restart, done only when a
file really changed (or the running Asterisk differs from the files).

TLS ``method`` measured with real handshakes against Asterisk 22.10 /
OpenSSL 3.6 (lab): unset, ``default`` and ``tlsv1`` serve TLS 1.0 only;
``tlsv1_1`` TLS 1.1 only; ``tlsv1_2`` exactly TLS 1.2; ``tlsv1_3`` exactly
TLS 1.3; ``sslv23`` TLS 1.2 + 1.3 (OpenSSL refuses 1.0/1.1 at its default
security level, and pjsip's ``cipher`` option cannot lower it). A range
1.0-1.2 cannot be expressed."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import os
import pwd
import re
import ssl
import stat
import time

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _modules_conf as modules_conf
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _pjsip_identify as identify
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _web as web
from ansible_collections.pbxguard.asterisk.plugins.module_utils._extension import (
    ensure_include as _ensure_include, hand_written_objects, pjsip_objects, pjsip_option,
)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ConfigFile
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import (
    run_cli, AsteriskCliError, ASTERISK_LOG, log_offset,
)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import ChangeError, Change, File, Plan

MARKER = "managed by pbxguard.asterisk"
MANAGED_NAME = "pjsip_transport_pbxguard.conf"
HEADER = ("; %s (sip_transport): this whole file is generated, edits are overwritten.\n"
          "; Hand-written transports belong in pjsip.conf; they must not use the ports listed here.\n" % MARKER)
NAMES = {"udp": "pbxguard-udp", "tcp": "pbxguard-tcp", "tls": "pbxguard-tls"}
PROTOS = ("udp", "tcp", "tls")
DEFAULT_PORT = {"udp": 5060, "tcp": 5060, "tls": 5061}
IAX_DEFAULT_PORT = 4569
# security_level -> pjsip TLS method
METHODS = {"high": "tlsv1_2", "modern": "sslv23", "low": "sslv23"}
LEVEL_TEXT = {"high": "TLS 1.2 only", "modern": "TLS 1.2+1.3", "low": "TLS 1.2+1.3 (1.0/1.1 not expressible)"}
# what a handshake offering exactly one version must get, per level
EXPECT = {
    "high": {"TLSv1_1": False, "TLSv1_2": True, "TLSv1_3": False},
    "modern": {"TLSv1_1": False, "TLSv1_2": True, "TLSv1_3": True},
    "low": {"TLSv1_2": True, "TLSv1_3": True},
}
LOW_WARNING = ("security_level low: pjsip cannot express TLS 1.0-1.2. method=tlsv1 (or none/default) serves "
               "TLS 1.0 ONLY, method=sslv23 serves what OpenSSL allows, measured here as TLS 1.2+1.3 (1.0 and "
               "1.1 refused). pbxguard writes sslv23, so phones that speak only TLS 1.0/1.1 cannot connect.")
_BAD_CHARS = "\n\r;[],\x00"
# PJSIP [global] unidentified_request_*: while auth_username is in
# endpoint_identifier_order, res_pjsip counts requests matching no endpoint
# per source address and reports the address ("... after N tries in M ms",
# an InvalidAccountID security event) once ``count`` arrived within
# ``period`` seconds, pruning its table every ``prune_interval`` seconds;
# without auth_username Asterisk 22 reports each such request at once (lab:
# 7 OPTIONS, 7 "No matching endpoint found" lines, pjsip show
# unidentified_requests empty). res_pjsip's defaults: 5 within 5 s, 30 s.
UNIDENTIFIED = (("count", "unidentified_request_count", 3, 1000),
                ("period", "unidentified_request_period", 60, 86400),
                ("prune_interval", "unidentified_request_prune_interval", 60, 86400))
UNIDENTIFIED_DEFAULTS = dict((k, d) for k, dummy, d, dummy2 in UNIDENTIFIED)
# the anonymous identifier and the name-matching identify_by methods: _pjsip_identify.py
ANON_MODULE = identify.ANON_MODULE


class SipTransportError(ChangeError):
    """Asterisk did not take the change (or cannot be managed safely)."""


def _path(value, option):
    if not isinstance(value, str) or not value:
        raise policy.PolicyError("%s: required, an absolute path" % option)
    bad = sorted(set(c for c in value if c in _BAD_CHARS or ord(c) < 32))
    if bad:
        raise policy.PolicyError("%s: must not contain %s" % (
            option, ", ".join(policy._char_name(c) if c in "\n\r\x00" else repr(c) for c in bad)))
    if not value.startswith("/"):
        raise policy.PolicyError("%s: must be an absolute path" % option)
    return value


def _err(errors, fn, *args):
    try:
        return fn(*args)
    except policy.PolicyError as e:
        errors.append(str(e))
        return None


def validate(params):
    """Check every option before anything is read or written. Returns the
    wanted state ``w``; raises PolicyError naming option and rule."""
    errors = []
    w = {"bind_address": _err(errors, policy.check_ip, params.get("bind_address"), "bind_address")}
    for proto in PROTOS:
        p = params.get(proto) or {}
        t = {"enabled": bool(p.get("enabled", proto != "tls"))}
        port = p.get("port", DEFAULT_PORT[proto])
        t["port"] = _err(errors, policy.check_port, DEFAULT_PORT[proto] if port is None else port, proto + ".port")
        if proto == "tls":
            level = p.get("security_level") or "high"
            if level not in METHODS:
                errors.append("tls.security_level: unknown '%s'; allowed: %s" % (level, ", ".join(sorted(METHODS))))
            t["security_level"] = level
            for key in ("cert_file", "key_file", "ca_file"):
                v = p.get(key)
                if v is None and (key == "ca_file" or not t["enabled"]):
                    t[key] = None
                else:
                    if v is None:
                        errors.append("tls.%s: required when tls.enabled is true" % key)
                    t[key] = _err(errors, _path, v, "tls." + key) if v is not None else None
        w[proto] = t
    iax = params.get("iax_port", IAX_DEFAULT_PORT)
    w["iax_port"] = None if iax is None else _err(errors, policy.check_port, iax, "iax_port")
    unid = params.get("unidentified_requests", {})
    if unid is None or isinstance(unid, dict) and unid.get("enabled") is False:
        w["unidentified"] = None
    elif not isinstance(unid, dict):
        errors.append("unidentified_requests: must be a dict (enabled, count, period, prune_interval)")
        w["unidentified"] = None
    else:
        w["unidentified"] = {}
        for key, dummy, default, top in UNIDENTIFIED:
            v = unid.get(key, default)
            v = default if v is None else v
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= top:
                errors.append("unidentified_requests.%s: must be a whole number from 1 to %d, got %r" % (key, top, v))
            w["unidentified"][key] = v
        if unid.get("enabled", True) is not True:
            errors.append("unidentified_requests.enabled: must be true or false")
        for key in sorted(set(unid) - set(UNIDENTIFIED_DEFAULTS) - set(["enabled"])):
            errors.append("unidentified_requests.%s: unknown; allowed: count, period, prune_interval" % key)
    anon = params.get("anonymous", False)
    if not isinstance(anon, bool):
        errors.append("anonymous: must be true or false")
    w["anonymous"] = anon is True
    enabled = [x for x in PROTOS if w[x]["enabled"]]
    if w["tcp"]["enabled"] and w["tls"]["enabled"] and w["tcp"]["port"] == w["tls"]["port"] \
            and w["tcp"]["port"] is not None:
        errors.append("tls.port: %d is tcp.port too (both are TCP listeners)" % w["tls"]["port"])
    if not enabled:
        errors.append("udp, tcp, tls: at least one SIP transport must be enabled (no phone could register)")
    if errors:
        raise policy.PolicyError("\n".join(errors))
    return w


def hostport(address, port):
    return "%s:%d" % ("[%s]" % address if ":" in address else address, port)


def render(w):
    """Pure: the whole managed file."""
    out = [HEADER]
    if w.get("unidentified"):
        lines = ["[global]", "type=global"] + ["%s=%d" % (opt, w["unidentified"][k]) for k, opt, dummy, dummy2
                                               in UNIDENTIFIED]
        out.append("\n" + "\n".join(lines) + "\n")
    for proto in PROTOS:
        t = w[proto]
        if not t["enabled"]:
            continue
        lines = ["[%s]" % NAMES[proto], "type=transport", "protocol=%s" % proto,
                 "bind=%s" % hostport(w["bind_address"], t["port"])]
        if proto == "tls":
            lines += ["cert_file=%s" % t["cert_file"], "priv_key_file=%s" % t["key_file"]]
            if t["ca_file"]:
                lines.append("ca_list_file=%s" % t["ca_file"])
            lines.append("method=%s" % METHODS[t["security_level"]])
        out.append("\n" + "\n".join(lines) + "\n")
    return "".join(out).encode("utf-8")


def ensure_include(data):
    """pjsip.conf with a ``#tryinclude`` of the managed file (the shared helper
    of the extension module, labelled for this one)."""
    return _ensure_include(data, MANAGED_NAME, label="sip transports")


def name_conflicts(conf_path, data, files=None, want_global=False, no_anonymous=False):
    """Problems when pjsip.conf (or a file it includes, other than the managed
    one) defines a transport with one of our names: a duplicate (name, type)
    makes Asterisk reject the whole pjsip.conf. ``want_global``: also a
    type=global object (res_pjsip takes one). ``no_anonymous``: also an
    endpoint ``anonymous`` that a caller reaches by naming it (no auth, a
    name-matching identify_by; _pjsip_identify.py)."""
    loaded = hand_written_objects(conf_path, data, os.path.join(os.path.dirname(conf_path), MANAGED_NAME), files)
    objects = pjsip_objects(loaded)
    found = objects.get("transport") or {}
    out = ["%s:%d already defines transport '%s' by hand; a second one with that name would make Asterisk "
           "reject every transport of pjsip.conf. Rename or remove it" % (found[n].path, found[n].lineno, n)
           for n in sorted(NAMES.values()) if n in found]
    if want_global:
        for name, c in sorted((objects.get("global") or {}).items()):
            out.append("unidentified_requests: %s:%d already defines the PJSIP global object ([%s], type=global) "
                       "by hand; res_pjsip takes exactly one. Move its settings out of the way (delete that "
                       "object) or set unidentified_requests.enabled: false to leave the global settings to it"
                       % (c.path, c.lineno, name))
    if no_anonymous:
        for name, c in sorted((objects.get("endpoint") or {}).items()):
            if not identify.is_anonymous_name(name) or pjsip_option(c, "auth"):
                continue
            by = identify.by_name(pjsip_option(c, "identify_by"))
            if by:
                given = pjsip_option(c, "identify_by") or "username,ip (the default)"
                out.append("anonymous: %s:%d defines endpoint '%s' without auth and identify_by %s: PJSIP's %s "
                           "identifier matches a request that names user '%s' to it, with or without %s, and "
                           "takes the call unauthenticated. Give it auth=, set identify_by=ip (it then matches "
                           "only through the anonymous identifier, which anonymous: false unloads), remove it, or "
                           "set anonymous: true"
                           % (c.path, c.lineno, name, given, by[0], name.split("@")[0], ANON_MODULE))
    return out


def iax_port_of(data, path="iax.conf"):
    """Effective bindport of iax.conf (4569 when absent or unreadable)."""
    if data is None:
        return IAX_DEFAULT_PORT
    return portplan.iax_bindings(data, path)[0].port


def plan_iax(data, port, path="iax.conf"):
    """Pure: iax.conf with ``bindport`` = ``port`` in [general]. An absent
    bindport already means 4569, so it is written only when it must differ.
    A ``bindaddr`` in [general] would be read before a bindport written after
    it (and may carry its own port): refused, naming its line."""
    if port is None:
        return data
    cfg = ConfigFile.from_bytes(data or b"", path)
    g = cfg.first("general")
    if g is not None:
        for ln in g.option_lines("bindaddr"):
            raise SipTransportError(
                "iax_port: %s:%d sets bindaddr=%s in [general]; chan_iax2 binds it before a bindport "
                "that follows, so iax_port cannot be managed safely. Remove the bindaddr line (IAX "
                "then listens on every address) or set iax_port: null" % (path, ln.number, ln.value))
    single = g is None or len(g.option_lines("bindport")) <= 1
    if iax_port_of(data, path) == port and single:
        return data
    if g is None:
        g = cfg.add_section("general")
        cfg.sections.insert(0, cfg.sections.pop())
    g.set("bindport", str(port))
    return cfg.to_bytes()


def transports_of(data, path=MANAGED_NAME):
    """{name: [(key, value), ...]} of the transports in a managed file."""
    if data is None:
        return {}
    cfg = ConfigFile.from_bytes(data, path)
    return dict((s.name, s.items()) for s in cfg.sections if (s.type or "") == "transport")


def globals_of(data, path=MANAGED_NAME):
    """[(key, value)] of the PJSIP global object of a managed file ([] without)."""
    if data is None:
        return []
    cfg = ConfigFile.from_bytes(data, path)
    return [kv for sec in cfg.sections if (sec.type or "") == "global" for kv in sec.items() if kv[0] != "type"]


def _without_global(data, path=MANAGED_NAME):
    if data is None:
        return None
    cfg = ConfigFile.from_bytes(data, path)
    for sec in [x for x in cfg.sections if (x.type or "") == "global"]:
        cfg.remove_section(sec)
    return cfg.to_bytes()


def changes(old, new):
    """Pure: human reasons for a restart, from the old and new file contents
    (dicts with 'managed', 'pjsip_conf', 'iax_conf'). The PJSIP global object
    is left out: res_pjsip applies it on reload (global_changes)."""
    reasons = []
    before, after = transports_of(old["managed"]), transports_of(new["managed"])
    for name in sorted(set(before) | set(after)):
        if name not in before:
            reasons.append("transport %s added" % name)
        elif name not in after:
            reasons.append("transport %s removed" % name)
        elif before[name] != after[name]:
            b, a = dict(before[name]), dict(after[name])
            what = ["%s %s -> %s" % (k, b.get(k, "(unset)"), a.get(k, "(unset)"))
                    for k in sorted(set(b) | set(a)) if b.get(k) != a.get(k)]
            reasons.append("transport %s changed (%s)" % (name, ", ".join(what)))
    if _without_global(old["managed"]) != _without_global(new["managed"]) and not reasons:
        reasons.append("%s rewritten" % MANAGED_NAME)
    if old["pjsip_conf"] != new["pjsip_conf"]:
        reasons.append("pjsip.conf now includes %s" % MANAGED_NAME)
    if old["iax_conf"] != new["iax_conf"]:
        reasons.append("IAX port %d -> %d" % (iax_port_of(old["iax_conf"]), iax_port_of(new["iax_conf"])))
    return reasons


def global_changes(old, new):
    """Pure: what changes in the managed PJSIP global object (a reload applies it)."""
    b, a = dict(globals_of(old)), dict(globals_of(new))
    if b == a:
        return []
    if not a:
        return ["PJSIP global object removed (res_pjsip's defaults apply)"]
    return ["PJSIP global %s %s -> %s" % (k, b.get(k, "(default)"), a.get(k, "(default)"))
            for k in sorted(set(b) | set(a)) if b.get(k) != a.get(k)]


# ---------------------------------------------------------------- port plan
def wanted_bindings(w):
    out = []
    for proto in PROTOS:
        t = w[proto]
        if t["enabled"]:
            l4 = "udp" if proto == "udp" else "tcp"
            out.append(portplan.Binding(portplan.PJSIP, l4, t["port"], w["bind_address"],
                                        "transport %s (%s)" % (NAMES[proto], proto), "task", "bind_address"))
    if w["iax_port"] is not None:
        out.append(portplan.Binding(portplan.IAX, "udp", w["iax_port"], "", portplan.IAX, "task"))
    return out


def managed_owners(w, current):
    """What the task replaces in the current plan: our transports (whatever
    their protocol was) and IAX when iax_port is managed."""
    mine = set("transport %s (" % n for n in NAMES.values())
    owners = set()
    for b in current:
        if b.service == portplan.PJSIP and any(b.name.startswith(m) for m in mine) \
                and os.path.basename(b.source) == MANAGED_NAME:
            owners.add((b.service, b.name))
    if w["iax_port"] is not None:
        owners.add(portplan.IAX)
    return owners


# ------------------------------------------------------------------ certificate
def _readable_by(st, user="asterisk"):
    try:
        gid = grp.getgrnam(user).gr_gid
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return bool(st.st_mode & 0o004)
    return bool((st.st_mode & 0o004) or (st.st_gid == gid and st.st_mode & 0o040)
                or (st.st_uid == uid and st.st_mode & 0o400))


def check_files(t, user="asterisk"):
    """Host-side: cert and key via the web module's check (exist, readable by
    asterisk, key not world-readable, key matches cert); the CA file exists, is
    readable by asterisk and holds at least one PEM certificate."""
    problems = ["tls." + p for p in web.check_cert(t["cert_file"], t["key_file"], group=user)]
    ca = t.get("ca_file")
    if ca:
        try:
            st = os.stat(ca)
        except OSError:
            problems.append("tls.ca_file: %s does not exist on the host" % ca)
            return problems
        if not stat.S_ISREG(st.st_mode):
            # a directory is "readable" by its mode bits; OpenSSL's error named no rule
            problems.append("tls.ca_file: %s is not a regular file (give the path of the PEM file)" % ca)
        elif not _readable_by(st, user):
            problems.append("tls.ca_file: %s is not readable by user/group asterisk" % ca)
        else:
            try:
                ssl.create_default_context(cafile=ca)
            except (ssl.SSLError, ValueError, IOError, OSError) as e:
                problems.append("tls.ca_file: %s holds no usable PEM certificate; it must hold at least one (%s)"
                                % (ca, e))
    return problems


# ---------------------------------------------------------------- live state
def parse_transports(text):
    """``pjsip show transports`` -> {name: (type, bind)}."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*Transport:\s+(\S+)\s+(\S+)\s+\d+\s+\d+\s+(\S+)\s*$", line)
        if m and not m.group(1).startswith("<"):
            out[m.group(1)] = (m.group(2).lower(), m.group(3))
    return out


def parse_ss(text):
    """``ss -lnXp`` -> set of (port, process name) listening."""
    out = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[0] == "State":
            continue
        local = parts[3]
        port = local.rpartition(":")[2]
        if not port.isdigit():
            continue
        for proc in re.findall(r'\(\("([^"]+)"', line) + re.findall(r'\),\("([^"]+)"', line):
            out.add((int(port), proc))
    return out


def listening(module):
    """{'udp': {(port, proc)}, 'tcp': {...}} from ss on the host."""
    out = {}
    for l4, flag in (("udp", "-lnup"), ("tcp", "-lntp")):
        rc, text, err = module.run_command(["ss", "-H", flag])
        if rc != 0:
            rc, text, err = module.run_command(["ss", flag])
        if rc != 0:
            raise SipTransportError("ss %s failed: %s" % (flag, err))
        out[l4] = parse_ss(text)
    return out


def live_tls(w):
    """Real handshakes to the TLS transport from the host. Returns (problems, info)."""
    t = w["tls"]
    problems = []
    info = {}
    addr = w["bind_address"]
    try:
        version, der = web.handshake(addr, t["port"], tries=6)
    except web.WebError as e:
        return ["tls: %s" % e], info
    info["tls_version"] = version
    try:
        if der != web.cert_der(t["cert_file"]):
            problems.append("tls: the transport presents another certificate than %s" % t["cert_file"])
    except (IOError, OSError, ValueError) as e:
        problems.append("tls: cannot read %s: %s" % (t["cert_file"], e))
    versions = {}
    for v in ("TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3"):
        can, why = web.client_can_offer(v) if v != "TLSv1_3" else (True, "")
        if not can:
            versions[v] = "unknown (this host's OpenSSL cannot offer it: %s)" % why
            continue
        try:
            got = web.probe(addr, t["port"], v)
        except web.WebError as e:
            problems.append("tls: %s" % e)
            break
        versions[v] = "accepted" if got else "refused"
        want = EXPECT[t["security_level"]].get(v)
        if want is not None and bool(got) != want:
            problems.append("tls: a handshake offering only %s was %s, security_level %s wants it %s"
                            % (v, versions[v], t["security_level"], "accepted" if want else "refused"))
    info["tls_versions"] = versions
    return problems, info


def verify(module, w, tls_check=True):
    """The running Asterisk versus ``w``: transports loaded with the wanted
    binds (``pjsip show transports``), sockets open (``ss``), IAX port open,
    TLS level by handshakes. Returns (problems, info)."""
    problems = []
    info = {}
    live = parse_transports(run_cli(module, "pjsip show transports", wait_for_command=True))
    info["live_transports"] = dict((n, "%s %s" % tb) for n, tb in sorted(live.items()))
    socks = listening(module)
    for proto in PROTOS:
        t = w[proto]
        name = NAMES[proto]
        if not t["enabled"]:
            if name in live:
                problems.append("transport %s is still loaded (%s)" % (name, live[name][1]))
            continue
        want_bind = hostport(w["bind_address"], t["port"])
        if name not in live:
            problems.append("transport %s is not loaded (pjsip show transports)" % name)
        elif live[name] != (proto, want_bind):
            problems.append("transport %s is live as %s %s, wanted %s %s"
                            % (name, live[name][0], live[name][1], proto, want_bind))
        l4 = "udp" if proto == "udp" else "tcp"
        if (t["port"], "asterisk") not in socks[l4]:
            problems.append("asterisk does not listen on %d/%s (ss)" % (t["port"], l4))
    if w["iax_port"] is not None and (w["iax_port"], "asterisk") not in socks["udp"]:
        problems.append("asterisk does not listen on IAX port %d/udp (ss)" % w["iax_port"])
    if tls_check and w["tls"]["enabled"] and not problems:
        p, i = live_tls(w)
        problems += p
        info.update(i)
    return problems, info


def parse_settings(text):
    """``pjsip show settings`` -> {option: value} (the Global Settings block)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([a-z_]+)\s+:\s*(.*?)\s*$", line)
        if m and m.group(1) not in out:
            out[m.group(1)] = m.group(2)
    return out


def verify_global(module, w):
    """The running res_pjsip's unidentified_request_* versus ``w``."""
    if not w.get("unidentified"):
        return []
    live = parse_settings(run_cli(module, "pjsip show settings", wait_for_command=True))
    return ["res_pjsip runs with %s=%s, wanted %d (pjsip show settings)"
            % (opt, live.get(opt, "(missing)"), w["unidentified"][k])
            for k, opt, dummy, dummy2 in UNIDENTIFIED if live.get(opt) != str(w["unidentified"][k])]


def anonymous_running(module):
    """Whether the anonymous endpoint identifier is loaded (``module show like``)."""
    out = run_cli(module, "module show like anonymous")
    return any(ln.split()[:1] == [ANON_MODULE] and "Not Running" not in ln and "Running" in ln
               for ln in out.splitlines())


def module_action(module, action):
    """``module load|unload`` of the anonymous identifier; raises with Asterisk's words."""
    out = run_cli(module, "module %s %s" % (action, ANON_MODULE))
    if ("Unloaded " if action == "unload" else "Loaded ") + ANON_MODULE not in out:
        raise SipTransportError("module %s %s failed: %s" % (action, ANON_MODULE, out.strip()))


def reload_pjsip(module):
    out = run_cli(module, "module reload res_pjsip.so")
    if "reloaded successfully" not in out.lower():
        raise SipTransportError("module reload res_pjsip.so: %s" % out.strip())


# -------------------------------------------------------------------- restart
_RELEVANT = re.compile(r"transport|res_pjsip|chan_iax2|pjsip_transport_pbxguard|cert|priv_key|ssl|tls", re.I)


def said_since(log_path, offset, limit=8):
    """Asterisk's ERROR/WARNING lines about transports, IAX or TLS logged
    since ``offset`` (a restart logs hundreds of unrelated lines)."""
    if offset is None:
        return []
    try:
        with open(log_path, "rb") as f:
            f.seek(offset)
            text = f.read(4 * 1024 * 1024).decode("utf-8", "replace")
    except (IOError, OSError):
        return []
    out = []
    for ln in text.splitlines():
        if ("ERROR[" in ln or "WARNING[" in ln) and _RELEVANT.search(ln.split("]", 2)[-1]) and ln.strip() not in out:
            out.append(ln.strip())
    return out[:limit]


def restart(module, timeout=90):
    """systemctl restart asterisk, then wait until Asterisk is fully booted
    and res_pjsip's CLI exists. Returns seconds taken."""
    start = time.time()
    rc, out, err = module.run_command(["systemctl", "restart", "asterisk"])
    if rc != 0:
        raise SipTransportError("systemctl restart asterisk failed (%d): %s%s" % (rc, out, err))
    last = None
    while time.time() - start < timeout:
        try:
            run_cli(module, "core waitfullybooted", timeout=30, retries=0)
            run_cli(module, "pjsip show transports", wait_for_command=True, retries=40)
            return round(time.time() - start, 1)
        except AsteriskCliError as e:
            last = e
            time.sleep(0.5)
    raise SipTransportError("Asterisk did not come back within %ds after the restart: %s" % (timeout, last))


def summary(w):
    parts = []
    for proto in PROTOS:
        t = w[proto]
        if t["enabled"]:
            s = "%s %d" % (proto.upper(), t["port"])
            if proto == "tls":
                s += " (%s)" % LEVEL_TEXT[t["security_level"]]
            parts.append(s)
        else:
            parts.append("%s off" % proto.upper())
    text = "SIP on %s: %s" % (w["bind_address"], ", ".join(parts))
    if w["iax_port"] is not None:
        text += "; IAX %d" % w["iax_port"]
    return text


ORDER = ("managed", "pjsip_conf", "iax_conf")  # the managed file before the include pulling it in


class SipTransportChange(Change):
    """Three files (the managed transports, pjsip.conf's include, iax.conf's
    bindport), an Asterisk restart only when one of them really changed or
    the running Asterisk differs from unchanged files, then the live state
    read back (transports, sockets, TLS handshakes)."""

    name = "sip_transport"

    def validate(self, params):
        w = validate(params)
        modules = params.get("modules_config") or modules_conf.MODULES_CONF
        _path(modules, "modules_config")
        return dict(w=w, pjsip_conf=params["pjsip_config"], iax_conf=params["iax_config"], modules_conf=modules)

    def plan(self, host, spec):
        w = spec["w"]
        paths = {"managed": os.path.join(os.path.dirname(spec["pjsip_conf"]), MANAGED_NAME),
                 "pjsip_conf": spec["pjsip_conf"], "iax_conf": spec["iax_conf"]}
        result = dict(restarted=False, restart_needed=False, summary=summary(w))
        if w["tls"]["enabled"]:
            if w["tls"]["security_level"] == "low":
                host.warn(LOW_WARNING)
            problems = check_files(w["tls"])
            if problems and host.check_mode and all("does not exist on the host" in x for x in problems):
                # an earlier task of the same play (skipped in check mode) may create them
                host.warn("check mode: %s; a real run fails unless an earlier task creates them"
                          % "; ".join(problems))
            elif problems:
                raise policy.PolicyError("\n".join(problems))
        # the whole host's port plan, also when nothing changes (returned as port_plan)
        current = portplan.collect_live(host, asterisk_dir=os.path.dirname(spec["pjsip_conf"]))
        ports = portplan.check(current, managed_owners(w, current), wanted_bindings(w),
                               local=portplan.local_addresses(host))
        result["port_plan"] = [b.as_dict() for b in ports]
        old = dict((k, host.read(v)) for k, v in paths.items())
        conflicts = name_conflicts(paths["pjsip_conf"], old["pjsip_conf"], host, want_global=bool(w["unidentified"]),
                                   no_anonymous=not w["anonymous"])
        if conflicts:
            raise policy.PolicyError("\n".join(conflicts))
        new = {"managed": render(w), "pjsip_conf": ensure_include(old["pjsip_conf"]),
               "iax_conf": plan_iax(old["iax_conf"], w["iax_port"], paths["iax_conf"])}
        mod_path = spec["modules_conf"]
        old_mod = host.read(mod_path)
        new_mod = plan_modules(old_mod, w["anonymous"], mod_path)
        files = [File(paths[k], old[k], new[k],
                      attributes_differ=k == "managed" and old[k] is not None and host.attributes_differ(paths[k]))
                 for k in ORDER]
        files.append(File(mod_path, old_mod, new_mod))
        transports_changed = any(f.content_changed for f in files[:len(ORDER)]
                                 ) and bool(changes(old, new))
        global_reasons = global_changes(old["managed"], new["managed"])
        drift = []
        if transports_changed:
            result.update(restart_needed=True, restart_reason=changes(old, new) + global_reasons)
        else:
            # The files are as wanted; is the running Asterisk too? (A change
            # without restart, a file fixed behind its back.)
            drift, info = verify(host, w)
            if not global_reasons:
                drift += verify_global(host, w)
            result.update(info)
            if drift:
                result.update(drift=list(drift), restart_needed=True,
                              restart_reason=["the running Asterisk differs from the files: " + "; ".join(drift)])
        restart_wanted = transports_changed or bool(drift)
        reload_wanted = bool(global_reasons) and not restart_wanted
        if reload_wanted:
            result.update(reload_needed=True, reload_reason=global_reasons)
        result.update(reloaded=False, reload_needed=reload_wanted)
        # the anonymous identifier: the running state after the restart (if
        # any) follows modules.conf; without one it is loaded/unloaded live
        running = anonymous_running(host)
        after_restart = modules_conf.loads(new_mod, ANON_MODULE, mod_path) if restart_wanted else running
        anon_action = None
        if after_restart and not w["anonymous"]:
            anon_action = "unload"
        elif not after_restart and w["anonymous"]:
            anon_action = "load"
        result.update(anonymous_identifier="loaded" if w["anonymous"] else "not loaded",
                      anonymous_action=anon_action, modules_changed=new_mod != old_mod)
        live, offset, done = {}, [], {}

        def apply(h):
            out = {}
            offset.append(log_offset(ASTERISK_LOG))
            if restart_wanted:
                out.update(restarted=True, restart_seconds=restart(h))
                done["restart"] = True
            elif reload_wanted:
                reload_pjsip(h)
                out["reloaded"] = done["reload"] = True
            now = anonymous_running(h)
            if now and not w["anonymous"]:
                module_action(h, "unload")
                done["anon"] = "unload"
            elif not now and w["anonymous"]:
                module_action(h, "load")
                done["anon"] = "load"
            return out

        def verify_live(h):
            problems = []
            if restart_wanted:
                p, info = verify(h, w)
                live.update(info)
                problems += p
            if restart_wanted or reload_wanted:
                problems += verify_global(h, w)
            if anonymous_running(h) != w["anonymous"]:
                problems.append("%s is %s (module show like anonymous)"
                                % (ANON_MODULE, "still loaded" if not w["anonymous"] else "not loaded"))
            return problems

        def revert(h):
            if done.get("restart") and transports_changed:
                restart(h)
            elif done.get("reload"):
                reload_pjsip(h)
            if done.get("anon"):
                module_action(h, "load" if done["anon"] == "unload" else "unload")

        if transports_changed:
            failure = ("Asterisk did not take the new transports; the previous files were restored and "
                       "Asterisk restarted")
        elif reload_wanted:
            failure = "res_pjsip did not take the new global settings; the previous files were restored and reloaded"
        elif drift:
            failure = "the running Asterisk still differs from the files after a restart"
        else:
            failure = "the anonymous endpoint identifier is not as wanted; the previous state was restored"
        return Plan(result, files, changed=bool(drift) or anon_action is not None, apply=apply, verify=verify_live,
                    revert=revert, said=lambda: said_since(ASTERISK_LOG, offset[0] if offset else None),
                    failure=failure, after=lambda h, res, applied: live)


def plan_modules(data, anonymous, path=modules_conf.MODULES_CONF):
    """Pure: modules.conf for ``anonymous``: false adds ``noload =>
    res_pjsip_endpoint_identifier_anonymous.so`` (when it would be autoloaded;
    a hand-written load line is refused), true removes such a noload line (and
    refuses when nothing would load the module then)."""
    if data is None:
        if anonymous:
            return None
        raise policy.PolicyError("anonymous: %s does not exist; without it Asterisk's loader cannot be told not "
                                 "to load %s" % (path, ANON_MODULE))
    if not anonymous:
        return modules_conf.ensure_noload(data, ANON_MODULE, "anonymous", "anonymous: true",
                                          why="the anonymous endpoint identifier would be loaded anyway", path=path)[0]
    new, dummy = modules_conf.remove_noload(data, ANON_MODULE, path)
    if not modules_conf.loads(new, ANON_MODULE, path):
        raise policy.PolicyError("anonymous: true, but %s loads no module by itself (autoload is not yes) and has no "
                                 "'load => %s': add that line first" % (path, ANON_MODULE))
    return new
