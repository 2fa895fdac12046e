# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port-80 listener of the web module: a small python3 ``http.server``
redirector run by systemd (``pbxguard-web-redirect.service``) that answers
every request with ``301 Moved Permanently`` to ``https://HOST:PORT/PATH``
(the path and query kept). Asterisk's own ``redirect`` option of http.conf
cannot do this: it is an exact-URI 302 on the plain listener.

render/parse are pure; ``probe`` talks HTTP to the running listener;
``assess`` reads and plans the files for the web module's transaction, and
``prepare``/``start``/``revert`` are its service actions around the writes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import socket
import time

from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import ChangeError, File

UNIT = "pbxguard-web-redirect.service"
UNIT_FILE = "/etc/systemd/system/" + UNIT
SCRIPT_DIR = "/usr/local/lib/pbxguard"
SCRIPT_FILE = SCRIPT_DIR + "/web-redirect.py"
PORT = 80
HEADER = "# managed by pbxguard.asterisk (web): changes made here are overwritten\n"

# The redirector itself (runs on the managed host, python3 standard library only).
SCRIPT = HEADER + r'''"""Answers every HTTP request with 301 to https://HOST:HTTPS_PORT/PATH.

HOST is the request's Host header without its port when it is a plain host
name or address, else the address the client connected to."""
import argparse
import os
import re
import socket
import socketserver
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOST_RE = re.compile(r"^(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252})(:[0-9]{1,5})?\Z")


class Redirect(BaseHTTPRequestHandler):
    https_port = 443
    server_version = "pbxguard-redirect"
    sys_version = ""
    timeout = 10
    protocol_version = "HTTP/1.0"

    def _host(self):
        m = HOST_RE.match((self.headers.get("Host") or "").strip())
        if m:
            return m.group(1)
        addr = self.connection.getsockname()[0]
        if addr.startswith("::ffff:") and "." in addr:
            addr = addr[7:]
        return "[%s]" % addr if ":" in addr else addr

    def _redirect(self):
        path = self.path
        if not path.startswith("/"):
            # absolute-form request target: keep only path and query
            u = urlsplit(path)
            path = (u.path or "/") + ("?" + u.query if u.query else "")
            if not path.startswith("/"):
                path = "/" + path
        self.send_response(301)
        self.send_header("Location", "https://%s:%d%s" % (self._host(), self.https_port, path))
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _redirect

    def log_message(self, fmt, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        # HTTPServer.server_bind asks socket.getfqdn() for the bind address's
        # name: on a host without a reachable nameserver that waited ~10 s
        # before the port was opened. The name is used by nothing here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class Server6(Server):
    address_family = socket.AF_INET6


def make_server(bind, port):
    """Bound and listening when it returns."""
    return (Server6 if ":" in bind else Server)((bind, port), Redirect)


def notify_ready():
    """sd_notify(READY=1) for Type=notify: systemctl start returns once the
    port listens. Without NOTIFY_SOCKET (not run by systemd) nothing to do."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect(path)
        s.sendall(b"READY=1")
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--https-port", type=int, required=True)
    a = ap.parse_args()
    Redirect.https_port = a.https_port
    server = make_server(a.bind, a.port)
    notify_ready()
    server.serve_forever()


if __name__ == "__main__":
    main()
'''


def python_path():
    return "/usr/bin/python3"


def render_unit(bind_address, https_port, python=None):
    """Pure: the systemd unit text."""
    return (HEADER +
            "[Unit]\n"
            "Description=pbxguard: permanent redirect from http port %d to Asterisk's https port %d\n"
            "After=network.target\n"
            "\n"
            "[Service]\n"
            # notify: started means listening (the script says READY=1 after bind)
            "Type=notify\n"
            "TimeoutStartSec=30\n"
            "ExecStart=%s %s --bind %s --port %d --https-port %d\n"
            "DynamicUser=yes\n"
            "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"
            "NoNewPrivileges=yes\n"
            "ProtectSystem=strict\n"
            "ProtectHome=yes\n"
            "PrivateTmp=yes\n"
            "Restart=on-failure\n"
            "\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n"
            % (PORT, https_port, python or python_path(), SCRIPT_FILE, bind_address, PORT, https_port)).encode()


def parse_unit(text):
    """Pure: (bind address, port, https port) of a unit written by render_unit,
    or None when the text has no such ExecStart."""
    m = re.search(r"(?m)^ExecStart=\S+ \S+ --bind (\S+) --port ([0-9]+) --https-port ([0-9]+)\s*$", text or "")
    if not m:
        return None
    return m.group(1), int(m.group(2)), int(m.group(3))


def _connect_host(address):
    return "127.0.0.1" if address in ("0.0.0.0", "") else ("::1" if address == "::" else address)


def probe(bind_address, path="/pbxguard-probe?x=1", tries=10):
    """HEAD request to the running redirector on the host. Returns
    (status, Location) or (None, reason) when nothing answered."""
    host = _connect_host(bind_address)
    hosthdr = "[%s]" % host if ":" in host else host
    last = ""
    for attempt in range(tries):
        try:
            s = socket.create_connection((host, PORT), timeout=3)
        except (OSError, socket.error) as e:
            last = str(e)
            time.sleep(0.3)
            continue
        try:
            s.sendall(("HEAD %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, hosthdr)).encode())
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 8192:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (OSError, socket.error) as e:
            last = str(e)
            time.sleep(0.3)
            continue
        finally:
            s.close()
        lines = data.decode("iso-8859-1").split("\r\n")
        words = lines[0].split()
        status = int(words[1]) if len(words) > 1 and words[1].isdigit() else None
        location = None
        for line in lines[1:]:
            k, _sep, v = line.partition(":")
            if k.strip().lower() == "location":
                location = v.strip()
        return status, location
    return None, last


def expected_location(bind_address, https_port, path="/pbxguard-probe?x=1"):
    host = _connect_host(bind_address)
    return "https://%s:%d%s" % ("[%s]" % host if ":" in host else host, https_port, path)


class RedirectError(ChangeError):
    """The redirector did not start or answer (a refused change)."""


def desired(w):
    """Pure: {path: bytes or None (absent)} for the wanted state."""
    if w.get("redirect_http"):
        return {SCRIPT_FILE: SCRIPT.encode(), UNIT_FILE: render_unit(w["bind_address"], w["port"])}
    return {SCRIPT_FILE: None, UNIT_FILE: None}


def unit_state(module):
    _rc, enabled, _e = module.run_command(["systemctl", "is-enabled", UNIT])
    _rc, active, _e = module.run_command(["systemctl", "is-active", UNIT])
    return enabled.strip(), active.strip()


def live_problem(w):
    """None when the running redirector answers 301 to the right place, else why not."""
    status, location = probe(w["bind_address"])
    want = expected_location(w["bind_address"], w["port"])
    if status is None:
        return "nothing answers HTTP on port %d (%s)" % (PORT, location)
    if status != 301 or location != want:
        return "port %d answers %s with Location %s, wanted 301 to %s" % (PORT, status, location, want)
    return None


def assess(host, w):
    """Read-only: what a run would change. Returns a dict with files
    [File in write order], file_changes [(path, old, new)], units (bool),
    drift (str or None), old_state."""
    want = desired(w)
    plan_files, changes = [], []
    for path in (SCRIPT_FILE, UNIT_FILE):
        old = host.read(path)
        plan_files.append(File(path, old, want[path], owner="root", group="root", mode=0o644, make_dirs=0o755))
        if old != want[path]:
            changes.append((path, old, want[path]))
    enabled, active = unit_state(host)
    drift = None
    if w.get("redirect_http"):
        units = enabled != "enabled" or active != "active"
        if not changes and not units:
            drift = live_problem(w)
    else:
        units = enabled in ("enabled", "enabled-runtime") or active in ("active", "activating", "reloading")
    return {"files": plan_files, "file_changes": changes, "units": units, "drift": drift,
            "old_state": (enabled, active), "changed": bool(changes or units or drift)}


def _systemctl(host, *args):
    rc, out, err = host.run_command(["systemctl"] + list(args))
    return rc, ((out or "") + (err or "")).strip()


def prepare(host, w, plan):
    """Before the files are written: a redirector being turned off is stopped
    and disabled while its unit file still exists (systemctl cannot disable
    a unit whose file is gone)."""
    if not w.get("redirect_http") and plan["units"]:
        rc, out = _systemctl(host, "disable", "--now", UNIT)
        if rc != 0:
            raise RedirectError("redirect_http: systemctl disable --now %s failed: %s" % (UNIT, out))


def start(host, w, plan):
    """After the files are written: systemd told, the redirector enabled and
    (re)started, and proven to answer. Raises RedirectError."""
    if plan["file_changes"]:
        _systemctl(host, "daemon-reload")
    if not w.get("redirect_http"):
        return
    rc, out = _systemctl(host, "enable", UNIT)
    if rc == 0:
        rc, out = _systemctl(host, "restart" if (plan["file_changes"] or plan["drift"]) else "start", UNIT)
    problem = ("systemctl: %s" % out) if rc != 0 else live_problem(w)
    if problem is not None:
        raise RedirectError("redirect_http: the port %d redirector did not work (%s); the previous state was "
                            "restored (journalctl -u %s)" % (PORT, problem, UNIT))


def revert(host, plan):
    """After the transaction put the files back: the unit as it was before
    the run (enabled or not, running or not)."""
    if not (plan["file_changes"] or plan["units"] or plan["drift"]):
        return
    _systemctl(host, "daemon-reload")
    enabled, active = plan["old_state"]
    if host.read(UNIT_FILE) is None:
        _systemctl(host, "stop", UNIT)
        _systemctl(host, "disable", UNIT)  # best effort: its wants link, if systemd still can
        return
    _systemctl(host, "enable" if enabled == "enabled" else "disable", UNIT)
    _systemctl(host, "restart" if active == "active" else "stop", UNIT)
