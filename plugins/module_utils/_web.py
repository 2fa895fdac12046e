# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Asterisk's HTTP server (http.conf), as a change of the one transaction:
validate -> plan (reads only) -> write -> reload -> verify live -> restore.

protocol https runs only the TLS listener (no plain ``bindaddr``: Asterisk
then reports "Server Disabled" for the plain server and serves TLS on
``tlsbindaddr``). TLS versions map to tlsdisablev1/v11/v12; Asterisk 22 has no
tlsdisablev13, so TLS 1.3 is always offered: ``high`` and ``modern`` both mean
TLS 1.2 + 1.3 on this server."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket
import stat
import ssl
import time
import warnings

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _web_redirect as redirect
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import (
    Change, ChangeError, File, Plan)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ConfigFile
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import run_cli, AsteriskCliError

# level -> (tlsdisablev1, tlsdisablev11, tlsdisablev12, tlscipher or None)
LEVELS = {
    "high": ("yes", "yes", "no", None),
    "modern": ("yes", "yes", "no", None),
    "low": ("no", "no", "no", "DEFAULT:@SECLEVEL=0"),
}
TLS_KEYS = ("tlsenable", "tlsbindaddr", "tlscertfile", "tlsprivatekey", "tlsdisablev1",
            "tlsdisablev11", "tlsdisablev12", "tlscipher")
PLAIN_KEYS = ("bindaddr", "bindport")


class WebError(Exception):
    """No TCP connection or TLS handshake with the server (a live-check problem)."""


def validate(params):
    errors = []
    w = {"enabled": bool(params.get("enabled", True)), "protocol": params.get("protocol") or "https",
         "security_level": params.get("security_level") or "high"}
    for key, fn in (("port", policy.check_port), ("bind_address", policy.check_ip)):
        try:
            w[key] = fn(params.get(key), key)
        except policy.PolicyError as e:
            errors.append(str(e))
    minutes = params.get("auto_logout")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 1440:
        errors.append("auto_logout: minutes 1-1440")
    else:
        w["session_inactivity"] = minutes * 60000
    for key in ("cert_file", "key_file"):
        v = params.get(key)
        if w["protocol"] == "https" and w["enabled"] and not v:
            errors.append("%s: required when protocol is https" % key)
        if v is not None and (not v.startswith("/") or any(c in v for c in "\n\r;,")):
            errors.append("%s: must be an absolute path without ';' ',' or line breaks" % key)
        w[key] = v
    w["redirect_http"] = bool(params.get("redirect_http", False))
    if w["redirect_http"] and not (w["enabled"] and w["protocol"] == "https"):
        errors.append("redirect_http: needs enabled: true and protocol: https (it redirects port 80 to the https port)")
    if errors:
        raise policy.PolicyError("\n".join(errors))
    return w


def plan(data, w, path="http.conf"):
    """Pure: new http.conf bytes."""
    cfg = ConfigFile.from_bytes(data or b"", path)
    g = cfg.first("general")
    if g is None:
        g = cfg.add_section("general")
        cfg.sections.insert(0, cfg.sections.pop())
    g.set("enabled", "yes" if w["enabled"] else "no")
    if not w["enabled"]:
        return cfg.to_bytes()
    g.set("session_inactivity", str(w["session_inactivity"]))
    addr = w["bind_address"]
    hostport = "%s:%d" % ("[%s]" % addr if ":" in addr else addr, w["port"])
    if w["protocol"] == "http":
        g.set("bindaddr", addr)
        g.set("bindport", str(w["port"]))
        g.set("tlsenable", "no")
        for k in TLS_KEYS[1:]:
            g.remove(k)
    else:
        for k in PLAIN_KEYS:
            g.remove(k)
        v1, v11, v12, cipher = LEVELS[w["security_level"]]
        g.set("tlsenable", "yes")
        g.set("tlsbindaddr", hostport)
        g.set("tlscertfile", w["cert_file"])
        g.set("tlsprivatekey", w["key_file"])
        g.set("tlsdisablev1", v1)
        g.set("tlsdisablev11", v11)
        g.set("tlsdisablev12", v12)
        if cipher:
            g.set("tlscipher", cipher)
        else:
            g.remove("tlscipher")
    return cfg.to_bytes()


def check_cert(cert_file, key_file, group="asterisk"):
    """Host-side: both files exist, Asterisk (group asterisk) can read them,
    and the key belongs to the certificate. Returns a list of problems."""
    import grp
    problems = []
    for label, p in (("cert_file", cert_file), ("key_file", key_file)):
        try:
            st = os.stat(p)
        except OSError:
            problems.append("%s: %s does not exist on the host" % (label, p))
            continue
        # a directory (or a device, a FIFO) is "readable" by its mode bits, but
        # Asterisk's TLS set-up fails on it at load time, after the write
        if not stat.S_ISREG(st.st_mode):
            problems.append("%s: %s is not a regular file (give the path of the PEM file)" % (label, p))
            continue
        try:
            gid = grp.getgrnam(group).gr_gid
            uid = __import__("pwd").getpwnam(group).pw_uid
        except KeyError:
            gid = uid = None
        readable = (st.st_mode & 0o004) or (gid is not None and st.st_gid == gid and st.st_mode & 0o040) \
            or (uid is not None and st.st_uid == uid and st.st_mode & 0o400)
        if not readable:
            problems.append("%s: %s is not readable by user/group asterisk" % (label, p))
        if label == "key_file" and st.st_mode & 0o004:
            problems.append("key_file: %s is world-readable; a private key must not be (make it 0640 root:asterisk)" % p)
    if problems:
        return problems
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as e:
        problems.append("cert_file/key_file: the key does not match the certificate or a file is not PEM (%s)"
                        % (e.reason or e))
    except (IOError, OSError) as e:
        problems.append("cert_file/key_file: cannot be read: %s" % e)
    return problems


def cert_der(cert_file):
    with open(cert_file) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def _host(address):
    return "127.0.0.1" if address in ("0.0.0.0", "") else ("::1" if address == "::" else address)


def _client_context(version=None):
    """Client context; with ``version`` pinned to exactly that TLS version at
    OpenSSL security level 0 (so the host's OpenSSL may offer old versions)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            v = getattr(ssl.TLSVersion, version)
            ctx.set_ciphers("DEFAULT@SECLEVEL=0")
            ctx.minimum_version = v
            ctx.maximum_version = v
    return ctx


# legacy_version of a ClientHello pinned to one version (TLS 1.3 says 1.2 there)
HELLO_VERSION = {"TLSv1": b"\x03\x01", "TLSv1_1": b"\x03\x02", "TLSv1_2": b"\x03\x03"}


def client_can_offer(version):
    """Whether this host's Python/OpenSSL can send a ClientHello for exactly
    ``version`` (built in memory, no network). OpenSSL builds with a raised
    security level or without old protocols cannot, and then a refused
    handshake would prove nothing about the server. Returns (bool, reason)."""
    try:
        ctx = _client_context(version)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_side=False)
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = out.read()
    except (ValueError, AttributeError, ssl.SSLError) as e:
        return False, "%s: %s" % (type(e).__name__, getattr(e, "reason", None) or e)
    # record header (5) + handshake header (4), then client_version
    if len(hello) < 11 or hello[0:1] != b"\x16" or hello[5:6] != b"\x01":
        return False, "no ClientHello produced"
    if version in HELLO_VERSION and hello[9:11] != HELLO_VERSION[version]:
        return False, "ClientHello carries version %r" % hello[9:11]
    return True, ""


def probe(address, port, version, tries=3):
    """One real handshake offering exactly ``version``. Returns the negotiated
    version when the server accepted, None when it refused the handshake.
    Raises WebError when no TCP connection is possible (no listener)."""
    host = _host(address)
    last = None
    for attempt in range(tries):
        ctx = _client_context(version)
        try:
            s = socket.create_connection((host, port), timeout=3)
        except (OSError, socket.error) as e:
            last = e
            time.sleep(0.5)
            continue
        try:
            t = ctx.wrap_socket(s, server_hostname=None)
            try:
                return t.version()
            finally:
                t.close()
        except ssl.SSLError:
            # alert protocol version / handshake failure / unsupported protocol:
            # the server did not do this version with us
            return None
        except (OSError, socket.error):
            # reset or EOF right after our ClientHello: refused as well
            return None
        finally:
            s.close()
    raise WebError("no TCP connection to %s:%d: %s" % (host, port, last))


def handshake(address, port, tries=10, max_version=None):
    """TLS handshake with the server from the host. Returns (version, peer cert DER) or raises."""
    host = _host(address)
    ctx = _client_context()
    if max_version is not None:
        ctx.maximum_version = max_version
    last = None
    for attempt in range(tries):
        try:
            s = socket.create_connection((host, port), timeout=3)
            try:
                t = ctx.wrap_socket(s, server_hostname=None)
                try:
                    return t.version(), t.getpeercert(True)
                finally:
                    t.close()
            finally:
                s.close()
        except (OSError, ssl.SSLError) as e:
            last = e
            time.sleep(0.5)
    raise WebError("no TLS handshake on %s:%d: %s" % (host, port, last))


def live_tls(w, config_text=None):
    """Prove the running HTTPS server's TLS level with real handshakes from the
    host. Returns (problems, info); info["tls_check"] says how it was proven."""
    problems = []
    info = {}
    try:
        version, der = handshake(w["bind_address"], w["port"])
        info["tls_version"] = version
        if der != cert_der(w["cert_file"]):
            problems.append("the HTTPS server presents another certificate than %s" % w["cert_file"])
    except WebError as e:
        return [str(e)], info
    if probe(w["bind_address"], w["port"], "TLSv1_2") is None:
        problems.append("the HTTPS server refuses TLS 1.2")
    want_old = w["security_level"] == "low"
    can, why = client_can_offer("TLSv1_1")
    if can:
        got = probe(w["bind_address"], w["port"], "TLSv1_1")
        info["tls_check"] = "handshake"
        info["tls11_live"] = "accepted" if got else "refused"
        if want_old and not got:
            problems.append("the running HTTPS server refuses TLS 1.1, security_level low wants it offered")
        elif got and not want_old:
            problems.append("the running HTTPS server still accepts TLS 1.1 (%s), security_level %s forbids it"
                            % (got, w["security_level"]))
    else:
        # The host cannot offer TLS 1.1, so a refusal would prove nothing, and
        # Asterisk's CLI (http show status) does not show the TLS settings: only
        # the file can be checked. Documented limit of the live check.
        info["tls_check"] = "config only: this host's Python/OpenSSL cannot offer TLS 1.1 (%s)" % why
        info["tls11_live"] = "unknown"
        if config_text is not None:
            want = LEVELS[w["security_level"]][1]
            cfg = ConfigFile.from_bytes(config_text, "http.conf").first("general")
            have = cfg.get("tlsdisablev11") if cfg is not None else None
            if (have or "no").strip().lower() != want:
                problems.append("http.conf has tlsdisablev11=%s, security_level %s wants %s" % (have, w["security_level"], want))
    return problems, info


def verify(module, w, config_text=None):
    """Live state versus ``w``. Returns (problems, info)."""
    problems = []
    info = {}
    status = run_cli(module, "http show status")
    if not w["enabled"]:
        if "Server Disabled" not in status:
            problems.append("http show status: server still enabled")
        return problems, info
    if w["protocol"] == "http":
        addr = w["bind_address"]
        want = "Server Enabled and Bound to %s:%d" % ("[%s]" % addr if ":" in addr else addr, w["port"])
        if want not in status:
            problems.append("http show status does not say %r" % want)
    else:
        problems, info = live_tls(w, config_text)
    return problems, info


def reload_http(module):
    return run_cli(module, "module reload http").strip()


def touch_reload(module, path):
    """Asterisk skips a file whose mtime did not change since its last read:
    touch it so the reload really re-reads it."""
    os.utime(path, None)
    return reload_http(module)


def converge_live(module, path, w, config_text, out=""):
    """Reload until the running server matches the file: at most two
    touch+reloads (switching between the plain and the TLS listener on the same
    port needs the second one: "Address already in use" on the first). ``http``
    is built into Asterisk's core (no res_http module to unload/load), and a
    restart is not done here. Returns (problems, info, reload output, reloads)."""
    problems, info = verify(module, w, config_text)
    reloads = 0
    while problems and reloads < 2:
        out = touch_reload(module, path)
        reloads += 1
        problems, info = verify(module, w, config_text)
    return problems, info, out, reloads


LEVEL_TEXT = {"high": "TLS 1.2+1.3", "modern": "TLS 1.2+1.3", "low": "TLS 1.0-1.3, SECLEVEL 0"}


def summary(w):
    if not w["enabled"]:
        return "web: disabled"
    text = "web: %s on %s:%d%s, auto logout %d min" % (
        w["protocol"], w["bind_address"], w["port"],
        " (%s)" % LEVEL_TEXT[w["security_level"]] if w["protocol"] == "https" else "",
        w["session_inactivity"] // 60000)
    if w["redirect_http"]:
        text += ", port %d redirects to https (301)" % redirect.PORT
    return text


class WebChange(Change):
    """http.conf, then the port-80 redirector's script and unit: one plan.
    http.conf is proven live (``http show status``, real TLS handshakes)
    before the redirector is started and proven to answer 301; when any
    step fails every file is put back, Asterisk reloaded and the
    redirector's unit put back as it was."""

    name = "web"

    def validate(self, params):
        w = validate(params)
        w["path"] = params["config_file"]
        return w

    def plan(self, host, spec):
        w = spec
        path = w["path"]
        if w["enabled"] and w["protocol"] == "https":
            problems = check_cert(w["cert_file"], w["key_file"])
            if problems:
                raise policy.PolicyError("\n".join(problems))
        wanted = []
        if w["enabled"]:
            wanted = [portplan.Binding(portplan.HTTP, "tcp", w["port"], w["bind_address"], w["protocol"], "task",
                                       "bind_address")]
        if w["redirect_http"]:
            wanted.append(portplan.Binding(portplan.WEB_REDIRECT, "tcp", redirect.PORT, w["bind_address"],
                                           portplan.WEB_REDIRECT, "task", "bind_address"))
        port_plan = portplan.check(portplan.collect_live(host), [portplan.HTTP, portplan.WEB_REDIRECT], wanted,
                                   local=portplan.local_addresses(host))
        result = dict(reloaded=False, port_plan=[b.as_dict() for b in port_plan], summary=summary(w),
                      redirect=("301 to https://HOST:%d/PATH" % w["port"]) if w["redirect_http"] else "off")
        old = host.read(path)
        new = plan(old, w, path)
        http = File(path, old, new, attributes_differ=old is not None and host.attributes_differ(path))
        drift = []
        if not http.changed:
            # The file is as wanted; is the running server too? (A reload
            # that was skipped or failed, or a file restored behind
            # Asterisk's back, leaves them apart.)
            drift, info = verify(host, w, new)
            result.update(info)
            if drift:
                result["drift"] = drift
        rd = redirect.assess(host, w)
        if rd["drift"]:
            result["redirect_drift"] = rd["drift"]

        def prepare(h):
            if rd["changed"]:
                redirect.prepare(h, w, rd)

        def apply(h):
            out = {}
            if http.content_changed:
                said = reload_http(h)
                problems, info, said, reloads = converge_live(h, path, w, new, said)
                out.update(info)
                if problems:
                    raise ChangeError(
                        "Asterisk's HTTP server did not take the new %s after %d reloads; the previous file "
                        "was restored and reloaded. Reload said: %s. Live state: %s"
                        % (path, reloads + 1, said, "; ".join(problems)))
            elif http.attributes_differ:
                problems, info, said, reloads = converge_live(h, path, w, new, touch_reload(h, path))
                out.update(info)
                if problems:
                    raise ChangeError("Asterisk's HTTP server does not match %s after fixing its owner/mode "
                                      "and reloading: %s" % (path, "; ".join(problems)))
            elif drift:
                problems, info, said, reloads = converge_live(h, path, w, new)
                out.update(info)
                if problems:
                    raise ChangeError(
                        "the running HTTP server still differs from %s after %d touch+reloads (module reload "
                        "http); Asterisk may need a restart: %s. Reload said: %s"
                        % (path, reloads, "; ".join(problems), said))
            if http.changed or drift:
                out["reloaded"] = True
            # port 80 after http.conf, so it points at a proven https port
            if rd["changed"]:
                redirect.start(h, w, rd)
            return out

        def revert(h):
            if rd["changed"]:
                redirect.revert(h, rd)
            if http.changed:
                try:
                    touch_reload(h, path) if old is not None else reload_http(h)
                except AsteriskCliError:
                    pass

        return Plan(result, [http] + rd["files"], changed=bool(drift) or rd["changed"], prepare=prepare,
                    apply=apply, revert=revert)
