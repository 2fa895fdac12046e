# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _snapshot as snapshot


def test_expand_adds_glob_matches_once(tmp_path):
    d = tmp_path / "sshd_config.d"
    d.mkdir()
    for n in ("10-pbxguard.conf", "pbxguard-admin-a.conf", "50-other.conf"):
        (d / n).write_text("x")
    fixed = str(tmp_path / "missing.conf")
    got = snapshot.expand([fixed, str(d / "10-pbxguard.conf")], [str(d / "*pbxguard*.conf")])
    assert got == [fixed, str(d / "10-pbxguard.conf"), str(d / "pbxguard-admin-a.conf")]


def test_strays_are_new_glob_matches(tmp_path):
    (tmp_path / "pbxguard-admin-a.conf").write_text("x")
    (tmp_path / "pbxguard-admin-b.conf").write_text("x")
    pattern = str(tmp_path / "pbxguard-admin-*.conf")
    assert snapshot.strays([pattern], [str(tmp_path / "pbxguard-admin-a.conf")]) == [
        str(tmp_path / "pbxguard-admin-b.conf")]


def test_restore_actions_reload_only_what_changed():
    actions, units = snapshot.restore_actions(["/etc/asterisk/manager.conf"])
    assert actions == [("asterisk", "manager reload")] and units == []
    actions, units = snapshot.restore_actions(["/etc/vsftpd.conf", "/etc/ssh/sshd_config.d/10-pbxguard.conf"])
    assert actions == [("reload-ssh", None)] and units == ["vsftpd.service"]
    actions, units = snapshot.restore_actions(["/etc/systemd/system/tftpd-hpa.socket.d/10-pbxguard.conf"])
    assert actions == [("daemon-reload", None)] and units == ["tftpd-hpa.socket", "tftpd-hpa.service"]


def test_restore_actions_transports_restart_instead_of_pjsip_reload():
    actions, dummy = snapshot.restore_actions(["/etc/asterisk/pjsip_transport_pbxguard.conf",
                                               "/etc/asterisk/pjsip.conf", "/etc/asterisk/manager.conf"])
    assert actions == [("restart", "asterisk")]


def test_restore_actions_nftables_table(tmp_path):
    # the rules file gone (it did not exist in the snapshot): the table is deleted
    actions, dummy = snapshot.restore_actions(["/etc/nftables.d/pbxguard.nft"])
    expected = "nft-load" if os.path.exists("/etc/nftables.d/pbxguard.nft") else "nft-delete"
    assert actions == [(expected, "/etc/nftables.d/pbxguard.nft")]


def test_unit_steps_back_to_saved_state():
    saved = {"vsftpd.service": {"enabled": "enabled", "active": "active"},
             "kea-dhcp4-server.service": {"enabled": "disabled", "active": "inactive"},
             "fail2ban.service": {"enabled": "not-found", "active": "inactive"},
             "tftpd-hpa.socket": {"enabled": "enabled", "active": "active"},
             "pbxguard-web-redirect.service": {"enabled": "masked", "active": "inactive"}}
    now = {"vsftpd.service": {"enabled": "disabled", "active": "inactive"},
           "kea-dhcp4-server.service": {"enabled": "enabled", "active": "active"},
           "fail2ban.service": {"enabled": "enabled", "active": "active"},
           "tftpd-hpa.socket": {"enabled": "enabled", "active": "active"},
           "pbxguard-web-redirect.service": {"enabled": "enabled", "active": "active"}}
    steps = snapshot.unit_steps(saved, now, ["tftpd-hpa.socket"])
    assert steps == [["stop", "fail2ban.service"], ["disable", "kea-dhcp4-server.service"], ["stop", "kea-dhcp4-server.service"],
                     ["mask", "pbxguard-web-redirect.service"], ["stop", "pbxguard-web-redirect.service"],
                     ["restart", "tftpd-hpa.socket"],
                     ["enable", "vsftpd.service"], ["start", "vsftpd.service"]]
    # a unit created after the snapshot (its file removed by the restore) is stopped
    assert snapshot.unit_steps({"x.service": {"enabled": "not-found", "active": "inactive"}},
                               {"x.service": {"enabled": "not-found", "active": "active"}}, []) == [["stop", "x.service"]]
    # already as saved: nothing
    assert snapshot.unit_steps(saved, saved, []) == []


def test_ssh_is_not_a_default_unit():
    assert not [u for u in snapshot.DEFAULT_UNITS if u.startswith("ssh")]


# ------------------------------------------------------------ the planner on the transaction
import hashlib  # noqa: E402
import json  # noqa: E402

import pytest  # noqa: E402

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx  # noqa: E402
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_transaction import (  # noqa: E402
    Exit, FakeDisk, FakeHost, FakeModule, FakeWriter, Stat)

SAVED = b"[general]\nenabled = no\n"
SABOTAGED = b"[general]\nenabled = yes\n"


class SnapHost(FakeHost):
    """Files from the fake disk, systemctl with state (``fail`` = a verb that fails)."""

    def __init__(self, module, disk, units, fail=None):
        FakeHost.__init__(self, module, disk)
        self.units = units
        self.fail = fail

    def stat(self, path):
        entry = self.disk.files.get(path)
        if entry is None:  # the store's directories are real ones (tmp_path)
            return tx.Host.stat(self, path)
        return Stat(0o100000 | entry[3], 0, 0)

    def isfile(self, path):
        return path in self.disk.files

    def run_command(self, args, **kw):
        self.disk.log.append(("run",) + tuple(args))
        verb, unit = args[1], args[-1]
        u = self.units.get(unit)
        if verb == "is-enabled":
            return 0, (u["enabled"] if u else "not-found") + "\n", ""
        if verb == "is-active":
            return 0, (u["active"] if u else "inactive") + "\n", ""
        if verb == self.fail:
            return 1, "", "Job for %s failed." % unit
        if verb in ("enable", "disable"):
            u["enabled"] = verb + "d"
        elif verb in ("start", "restart"):
            u["active"] = "active"
        elif verb == "stop":
            u["active"] = "inactive"
        return 0, "", ""


def restore_disk():
    manifest = {"files": [{"path": "/etc/x/manager.conf", "existed": True, "blob": "f000", "uid": 0, "gid": 0,
                           "mode": 0o640, "sha256": hashlib.sha256(SAVED).hexdigest()},
                          {"path": "/etc/x/new.conf", "existed": False, "blob": "f001", "sha256": None}],
                "globs": [], "units": {"vsftpd.service": {"enabled": "enabled", "active": "active"}}}
    return FakeDisk({"/etc/x/manager.conf": (SABOTAGED, "root", "root", 0o644),
                     "/etc/x/new.conf": (b"made by the rollout\n", "root", "root", 0o644),
                     "/snap/s1/f000": (SAVED, "root", "root", 0o600),
                     "/snap/s1/manifest.json": (json.dumps(manifest).encode(), "root", "root", 0o600)})


def run_snap(disk, units, state="restored", directory="/snap", check_mode=False, fail=None):
    module = FakeModule(check_mode=check_mode)
    t = tx.Transaction(module, snapshot.SnapshotChange(), host=SnapHost(module, disk, units, fail=fail),
                       writer=FakeWriter(disk), portplan_check=lambda h, m, b: None)
    with pytest.raises(Exit) as e:
        t.run(dict(name="s1", state=state, paths=["/etc/x/manager.conf", "/etc/x/new.conf"], globs=[],
                   units=["vsftpd.service"], directory=directory))
    return e.value


def test_planner_restore_writes_saved_bytes_with_saved_mode_and_brings_units_back():
    disk = restore_disk()
    units = {"vsftpd.service": {"enabled": "disabled", "active": "inactive"}}
    r = run_snap(disk, units, check_mode=True)
    assert not r.failed and r.result["changed"]
    assert r.result["files"] == ["/etc/x/manager.conf", "/etc/x/new.conf"]
    assert r.result["units"] == ["enable vsftpd.service", "start vsftpd.service"]
    assert [e for e in disk.log if e[0] != "run"] == [] and units["vsftpd.service"]["active"] == "inactive"
    r = run_snap(disk, units)
    assert not r.failed, r.result["msg"]
    assert disk.files["/etc/x/manager.conf"] == (SAVED, "root", "root", 0o640)
    assert "/etc/x/new.conf" not in disk.files
    assert units["vsftpd.service"] == {"enabled": "enabled", "active": "active"}
    # again: nothing to do
    disk.log[:] = []
    r = run_snap(disk, units)
    assert not r.failed and r.result["changed"] is False and [e for e in disk.log if e[0] != "run"] == []


def test_planner_failed_unit_step_puts_the_files_back_as_before_the_restore():
    disk = restore_disk()
    before = dict(disk.files)
    units = {"vsftpd.service": {"enabled": "disabled", "active": "inactive"}}
    r = run_snap(disk, units, fail="start")
    assert r.failed
    msg = r.result["msg"]
    assert msg.startswith("the restore of snapshot s1 did not hold; the files were put back as they were before "
                          "it: 'systemctl start vsftpd.service' failed: Job for vsftpd.service failed."), msg
    assert disk.files == before
    assert units["vsftpd.service"]["enabled"] == "disabled"  # revert: the unit as it was too


def test_planner_damaged_blob_is_refused_before_any_write():
    disk = restore_disk()
    disk.files["/snap/s1/f000"] = (b"tampered", "root", "root", 0o600)
    r = run_snap(disk, {"vsftpd.service": {"enabled": "enabled", "active": "active"}})
    assert r.failed and r.result["msg"] == "snapshot s1 is damaged: /etc/x/manager.conf does not match its manifest"
    assert [e for e in disk.log if e[0] != "run"] == []


def test_planner_save_writes_blobs_then_the_manifest_root_only(tmp_path):
    (tmp_path / "s1").mkdir()
    snap = str(tmp_path / "s1")
    disk = FakeDisk({"/etc/x/manager.conf": (SAVED, "root", "root", 0o640)})
    units = {"vsftpd.service": {"enabled": "enabled", "active": "active"}}
    r = run_snap(disk, units, state="saved", directory=str(tmp_path))
    assert not r.failed and r.result["changed"] and r.result["files"] == ["/etc/x/manager.conf"]
    assert [e[1] for e in disk.log if e[0] == "write"] == [snap + "/f000", snap + "/manifest.json"]
    assert disk.files[snap + "/f000"] == (SAVED, "root", "root", 0o600)
    manifest = json.loads(disk.files[snap + "/manifest.json"][0])
    assert manifest["units"] == units and manifest["files"][1]["existed"] is False
    assert oct(os.stat(snap).st_mode & 0o777) == oct(0o700)
    disk.log[:] = []
    r = run_snap(disk, units, state="saved", directory=str(tmp_path))
    assert not r.failed and r.result["changed"] is False and [e for e in disk.log if e[0] == "write"] == []
