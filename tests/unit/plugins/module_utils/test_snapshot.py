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
