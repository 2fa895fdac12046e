# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket
import subprocess
import sys

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as pp
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _web as web
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _web_redirect as rd
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils import test_transaction as fake


def test_unit_round_trip_and_port_plan():
    unit = rd.render_unit("198.18.0.11", 8443).decode()
    assert "ExecStart=/usr/bin/python3 %s --bind 198.18.0.11 --port 80 --https-port 8443\n" % rd.SCRIPT_FILE in unit
    assert "DynamicUser=yes" in unit and "AmbientCapabilities=CAP_NET_BIND_SERVICE" in unit
    assert "WantedBy=multi-user.target" in unit
    # started means listening: the script reports READY=1 after its bind
    assert "Type=notify\n" in unit
    assert rd.parse_unit(unit) == ("198.18.0.11", 80, 8443)
    assert rd.parse_unit("[Service]\nExecStart=/bin/true\n") is None
    b = pp.redirect_bindings(unit, "u")
    assert [(x.service, x.proto, x.port, x.address) for x in b] == [(pp.WEB_REDIRECT, "tcp", 80, "198.18.0.11")]
    assert pp.redirect_bindings("") == []


def test_desired_files():
    on = rd.desired({"redirect_http": True, "bind_address": "0.0.0.0", "port": 8088})
    assert on[rd.SCRIPT_FILE].startswith(rd.HEADER.encode()) and b"--https-port 8088" in on[rd.UNIT_FILE]
    assert rd.desired({"redirect_http": False}) == {rd.SCRIPT_FILE: None, rd.UNIT_FILE: None}


def test_script_compiles():
    compile(rd.SCRIPT, rd.SCRIPT_FILE, "exec")


def test_expected_location():
    assert rd.expected_location("0.0.0.0", 8088) == "https://127.0.0.1:8088/pbxguard-probe?x=1"
    assert rd.expected_location("::", 8443, "/") == "https://[::1]:8443/"


@pytest.mark.parametrize("params,msg", [
    (dict(protocol="http"), "redirect_http: needs"),
    (dict(enabled=False), "redirect_http: needs"),
])
def test_validate_redirect_needs_https(params, msg):
    p = dict(enabled=True, protocol="https", port=8088, bind_address="0.0.0.0", cert_file="/c", key_file="/k",
             security_level="high", auto_logout=15, redirect_http=True)
    p.update(params)
    with pytest.raises(PolicyError) as e:
        web.validate(p)
    assert msg in str(e.value)


def test_redirect_port_clash_in_plan():
    current = [pp.Binding(pp.HTTP, "tcp", 80, "", "http", "http.conf")]
    with pytest.raises(PolicyError) as e:
        pp.check(current, [pp.WEB_REDIRECT], [pp.Binding(pp.WEB_REDIRECT, "tcp", 80, "", pp.WEB_REDIRECT)])
    assert "port clash on 80/tcp" in str(e.value)


def _request(port, raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head = data.decode("iso-8859-1").split("\r\n")
    loc = [h.split(":", 1)[1].strip() for h in head if h.lower().startswith("location:")]
    return head[0], (loc[0] if loc else None)


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def redirector(tmp_path):
    """The real redirector script on a free local port, started as systemd
    starts a Type=notify service: it is up when it says READY=1."""
    script = tmp_path / "web-redirect.py"
    script.write_text(rd.SCRIPT)
    port = _free_port()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(20)
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"))
    p = subprocess.Popen([sys.executable, str(script), "--bind", "127.0.0.1", "--port", str(port),
                          "--https-port", "8088"], env=env)
    try:
        assert notify.recv(64) == b"READY=1"
    finally:
        notify.close()
    yield port
    p.terminate()
    p.wait(10)


def test_ready_means_listening(redirector):
    # no retry: the port accepts at the moment READY=1 arrived
    socket.create_connection(("127.0.0.1", redirector), timeout=1).close()


def test_bind_does_no_name_lookup(monkeypatch):
    """HTTPServer's own server_bind calls socket.getfqdn(): ~10 s on a host
    whose nameserver cannot be reached. The redirector's must not look up."""
    ns = {"__name__": "redirector"}
    exec(compile(rd.SCRIPT, rd.SCRIPT_FILE, "exec"), ns)

    def no_lookup(*args):
        raise AssertionError("name lookup %r" % (args,))
    for name in ("getfqdn", "gethostbyaddr", "gethostbyname", "gethostbyname_ex", "getnameinfo"):
        monkeypatch.setattr(socket, name, no_lookup)
    server = ns["make_server"]("127.0.0.1", 0)
    try:
        socket.create_connection(server.server_address, timeout=1).close()
    finally:
        server.server_close()


@pytest.mark.parametrize("raw,location", [
    (b"HEAD /some/path HTTP/1.1\r\nHost: pbx.example\r\n\r\n", "https://pbx.example:8088/some/path"),
    (b"GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: 198.18.0.11\r\n\r\n", "https://198.18.0.11:8088/a/b?x=1&y=2"),
    (b"GET / HTTP/1.1\r\nHost: 198.18.0.11:80\r\n\r\n", "https://198.18.0.11:8088/"),
    (b"POST /x HTTP/1.1\r\nHost: [2001:db8::1]:80\r\nContent-Length: 0\r\n\r\n", "https://[2001:db8::1]:8088/x"),
    # a Host header that is not a plain name/address falls back to the connected address
    (b"GET /p HTTP/1.1\r\nHost: evil.example/x?\r\n\r\n", "https://127.0.0.1:8088/p"),
    (b"GET /p HTTP/1.0\r\n\r\n", "https://127.0.0.1:8088/p"),
    # absolute-form target: only path and query are kept, never the requested host
    (b"GET http://other.example/q?z=1 HTTP/1.1\r\nHost: pbx\r\n\r\n", "https://pbx:8088/q?z=1"),
])
def test_redirector_answers_301(redirector, raw, location):
    status, loc = _request(redirector, raw)
    assert status.split()[1] == "301", status
    assert loc == location


# ------------------------------------------- web's planner through the transaction (fake host)
class SystemdHost(fake.FakeHost):
    def __init__(self, module, disk, unit=("enabled", "active")):
        fake.FakeHost.__init__(self, module, disk)
        self.unit = unit

    def run_command(self, args, **kw):
        self.disk.log.append(("run",) + tuple(args))
        if args[:2] == ["systemctl", "is-enabled"]:
            return 0, self.unit[0] + "\n", ""
        if args[:2] == ["systemctl", "is-active"]:
            return 0, self.unit[1] + "\n", ""
        return 0, "", ""


def web_change(disk, monkeypatch, redirect_http, live_problem=None):
    monkeypatch.setattr(pp, "collect_live", lambda host, states=None: [])
    monkeypatch.setattr(web, "check_cert", lambda cert, key: [])
    monkeypatch.setattr(web, "verify", lambda host, w, text=None: ([], {}))
    monkeypatch.setattr(rd, "live_problem", lambda w: live_problem)
    params = dict(enabled=True, protocol="https", port=8088, bind_address="0.0.0.0", cert_file="/k/c",
                  key_file="/k/k", security_level="high", auto_logout=15, redirect_http=redirect_http,
                  config_file="/etc/asterisk/http.conf")
    w = web.validate(params)
    w["path"] = params["config_file"]
    disk.files["/etc/asterisk/http.conf"] = (web.plan(None, w, w["path"]), "asterisk", "asterisk", 0o640)
    module = fake.FakeModule()
    t = tx.Transaction(module, web.WebChange(), host=SystemdHost(module, disk), writer=fake.FakeWriter(disk))
    with pytest.raises(fake.Exit) as e:
        t.run(params)
    return e.value


def test_redirect_off_disables_the_unit_before_its_file_is_removed(monkeypatch):
    w = {"redirect_http": True, "bind_address": "0.0.0.0", "port": 8088}
    disk = fake.FakeDisk(dict((p, (d, "root", "root", 0o644)) for p, d in rd.desired(w).items()))
    r = web_change(disk, monkeypatch, redirect_http=False)
    assert not r.failed and r.result["changed"] and r.result["redirect"] == "off", r.result
    steps = [e[:4] for e in disk.log if e[0] != "run" or (e[1] != "ip" and e[2] not in ("is-enabled", "is-active"))]
    assert steps == [("run", "systemctl", "disable", "--now"), ("remove", rd.SCRIPT_FILE),
                     ("remove", rd.UNIT_FILE), ("run", "systemctl", "daemon-reload")]


def test_redirect_not_answering_removes_the_new_files_and_stops_the_unit(monkeypatch):
    disk = fake.FakeDisk()
    r = web_change(disk, monkeypatch, redirect_http=True, live_problem="nothing answers HTTP on port 80")
    assert r.failed and r.result["msg"].startswith(
        "redirect_http: the port 80 redirector did not work (nothing answers HTTP on port 80)"), r.result["msg"]
    assert rd.SCRIPT_FILE not in disk.files and rd.UNIT_FILE not in disk.files
    assert ("run", "systemctl", "stop", rd.UNIT) in disk.log
