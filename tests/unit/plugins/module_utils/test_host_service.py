# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _asterisk_cli as cli
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _host_service as hs
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils import test_transaction as fake


def single(**kw):
    params = dict(service=None, services=None, state="enabled", port=None, address=None, root_dir=None,
                  force=False)
    params.update(kw)
    return params


def entry(service, **kw):
    e = dict(service=service, state="enabled", port=None, address=None, root_dir=None)
    e.update(kw)
    return e


def test_validate_all_single_service_unchanged():
    (want,) = hs.validate_all(single(service="ssh", port=8022))
    assert want == dict(service="ssh", enabled=True, force=False, port=8022, address=None, root_dir=None)
    with pytest.raises(PolicyError, match=r"^port: tftpd listens on 69/udp"):
        hs.validate_all(single(service="tftp", port=70))


def test_validate_all_services_in_order_with_force():
    wants = hs.validate_all(single(services=[entry("ftp", state="disabled"), entry("tftp", state="disabled"),
                                             entry("ssh")], force=True))
    assert [(w["service"], w["enabled"], w["force"]) for w in wants] == [
        ("ftp", False, True), ("tftp", False, True), ("ssh", True, True)]


def test_validate_all_services_errors_name_the_entry():
    with pytest.raises(PolicyError) as e:
        hs.validate_all(single(services=[entry("ftp", port=0), entry("tftp", port=70), entry("ssh", address="1.2.3.4"),
                                         entry("ftp")]))
    msg = str(e.value)
    assert "services[0].port" in msg and "services[1].port: tftpd listens on 69/udp" in msg
    assert "services[2].address: only for tftp" in msg and "services[3].service: ftp is named twice" in msg
    with pytest.raises(PolicyError, match="port: give it inside the services entry"):
        hs.validate_all(single(services=[entry("ftp")], port=2121))
    with pytest.raises(PolicyError, match="services: empty"):
        hs.validate_all(single(services=[]))


SHOW = """Id=ssh.service
ActiveState=active
UnitFileState=enabled

Id=ssh.socket
ActiveState=inactive
UnitFileState=disabled

Id=vsftpd.service
ActiveState=inactive
UnitFileState=disabled

Id=tftpd-hpa.socket
ActiveState=active
UnitFileState=enabled

Id=tftpd-hpa.service
ActiveState=inactive
UnitFileState=static

Id=nothere.service
ActiveState=inactive
UnitFileState=
"""


def test_parse_systemctl_show_and_live_enabled():
    states = portplan.parse_systemctl_show(SHOW)
    assert states["ssh.service"] == ("enabled", "active")
    assert states["tftpd-hpa.service"] == ("static", "inactive")
    assert states["nothere.service"] == ("", "inactive")
    assert portplan.live_enabled(states) == {portplan.SSH: True, portplan.FTP: False, portplan.TFTP: True}


def test_needs_change_from_states():
    states = portplan.parse_systemctl_show(SHOW)
    assert hs.needs_change(states, "ssh", True) == []
    assert hs.needs_change(states, "ftp", False) == []
    assert hs.needs_change(states, "ftp", True) == ["vsftpd.service"]
    # tftp off: the socket is enabled and running; the service is static (not disabled)
    assert hs.needs_change(states, "tftp", False) == ["tftpd-hpa.socket", "tftpd-hpa.service"]
    assert hs.needs_change({}, "ssh", False) == ["ssh.service"]


class FakeModule(object):
    def __init__(self, answers):
        self.answers, self.commands = answers, []

    def run_command(self, cmd, **kw):
        self.commands.append(cmd)
        return self.answers.pop(0)


def test_unit_states_is_one_systemctl_call():
    m = FakeModule([(0, SHOW, "")])
    states = portplan.unit_states(m, list(portplan.LIVE_UNITS) + ["vsftpd.service"])
    assert len(m.commands) == 1 and m.commands[0][:3] == ["systemctl", "show", "--property=Id,UnitFileState,ActiveState"]
    assert m.commands[0].count("vsftpd.service") == 1
    assert set(portplan.LIVE_UNITS) <= set(states)


def test_unit_states_falls_back_to_is_enabled():
    m = FakeModule([(1, "", "boom"), (0, "enabled\n", ""), (0, "active\n", "")])
    assert portplan.unit_states(m, ["ssh.service"]) == {"ssh.service": ("enabled", "active")}
    assert [c[1] for c in m.commands] == ["show", "is-enabled", "is-active"]


@pytest.mark.parametrize("text, want", [
    ("Asterisk 22.10.1+dfsg+~cs6.17.60671434-1 built by debian @ builder on a x86_64 running Linux",
     ("22.10.1+dfsg+~cs6.17.60671434-1", 22)),
    ("Asterisk 18.2.0 built by x", ("18.2.0", 18)),
    ("Asterisk 20 built by x", ("20", 20)),
    ("No such command 'core show version'", None),
    ("", None),
])
def test_parse_version(text, want):
    assert cli.parse_version(text) == want


class GateModule(object):
    def __init__(self, out):
        self.out, self.failed = out, None

    def run_command(self, cmd, **kw):
        return 0, self.out, ""

    def fail_json(self, **kw):
        self.failed = kw
        raise SystemExit(1)


def test_version_gate():
    assert cli.version_gate(GateModule("unused"), None) is None
    assert cli.version_gate(GateModule("Asterisk 22.10.1 built by x\n"), 20) == "22.10.1"
    m = GateModule("Asterisk 18.2.0 built by x\n")
    with pytest.raises(SystemExit):
        cli.version_gate(m, 20)
    assert m.failed["msg"].startswith("min_asterisk_version: Asterisk 18.2.0 runs on this host, at least 20")
    assert "nothing was changed" in m.failed["msg"]
    m = GateModule("Unable to connect to remote asterisk (does /run/asterisk/asterisk.ctl exist?)\n")
    with pytest.raises(SystemExit):
        cli.version_gate(m, 20)
    assert "cannot read the Asterisk version" in m.failed["msg"] and "not running" in m.failed["msg"]


# ------------------------------------------------- planner through the transaction (fake host)


class SystemdHost(fake.FakeHost):
    def isdir(self, path):
        return True


def run_change(params, disk, states, monkeypatch, answers=True, check_mode=False):
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.setattr(portplan, "unit_states", lambda host, units: dict(states))
    monkeypatch.setattr(portplan, "collect_live", lambda host, states=None: [])
    monkeypatch.setattr(hs, "banner", lambda port: "220 (vsFTPd 3.0.5)" if answers else None)
    module = fake.FakeModule(check_mode=check_mode)
    t = tx.Transaction(module, hs.HostServiceChange(), host=SystemdHost(module, disk), writer=fake.FakeWriter(disk))
    with pytest.raises(fake.Exit) as e:
        t.run(params)
    return e.value


FTP_OFF = {"vsftpd.service": ("disabled", "inactive")}


def test_ftp_on_writes_enables_restarts_and_proves_the_banner(monkeypatch):
    disk = fake.FakeDisk({hs.VSFTPD_CONF: (b"listen=YES\nanonymous_enable=YES\n", "root", "root", 0o644)})
    r = run_change(single(service="ftp", port=2121), disk, FTP_OFF, monkeypatch)
    assert not r.failed and r.result["changed"] and r.result["ports"] == [2121], r.result
    assert r.result["units_changed"] == ["vsftpd.service"]
    assert disk.read(hs.VSFTPD_CONF) == b"listen=YES\nanonymous_enable=NO\nlisten_port=2121\n"
    assert [e for e in disk.log if e[0] == "run" and e[1] != "ip"] == [
        ("run", "systemctl", "enable", "--now", "vsftpd.service"), ("run", "systemctl", "restart", "vsftpd.service")]


def test_ftp_not_answering_restores_the_file_and_the_unit_state(monkeypatch):
    old = b"listen=YES\nanonymous_enable=YES\n"
    disk = fake.FakeDisk({hs.VSFTPD_CONF: (old, "root", "root", 0o600)})
    r = run_change(single(service="ftp", port=2121), disk, FTP_OFF, monkeypatch, answers=False)
    assert r.failed and r.result["msg"].startswith(
        "the change did not take; the previous configuration was restored. Live state: "
        "ftp does not answer on port(s) 2121 after the change"), r.result["msg"]
    assert disk.files[hs.VSFTPD_CONF] == (old, "root", "root", 0o600)
    runs = [e for e in disk.log if e[0] == "run" and e[1] != "ip"]
    assert runs[-2:] == [("run", "systemctl", "disable", "vsftpd.service"), ("run", "systemctl", "stop", "vsftpd.service")]


def test_services_list_names_the_failing_entry_and_check_mode_writes_nothing(monkeypatch):
    disk = fake.FakeDisk({hs.VSFTPD_CONF: (b"anonymous_enable=YES\n", "root", "root", 0o644)})
    params = single(services=[entry("ftp")])
    r = run_change(params, disk, FTP_OFF, monkeypatch, check_mode=True)
    assert not r.failed and r.result["changed"] and r.result["services"][0]["units_changed"] == ["vsftpd.service"]
    assert [e for e in disk.log if e[:2] != ("run", "ip")] == []  # ip -j addr: a read
    r = run_change(params, disk, FTP_OFF, monkeypatch, answers=False)
    assert r.failed and "ftp: ftp does not answer on port(s) 21" in r.result["msg"]
    assert disk.read(hs.VSFTPD_CONF) == b"anonymous_enable=YES\n"
