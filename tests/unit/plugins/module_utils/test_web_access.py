# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""web_access's planner driven through the transaction with a fake host:
both candidates checked with nft -c, and a failure after the write puts
both files back and loads the previous table again."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _web_access as wa
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_transaction import (
    Exit, FakeDisk, FakeHost, FakeModule, FakeWriter)

OLD_TABLE = 'table inet pbxguard {\n\tcomment "pbxguard web_access 0123 mode=unrestricted"\n}\n'
CONF = b"#!/usr/sbin/nft -f\nflush ruleset\n"


class NftHost(FakeHost):
    """Answers the commands web_access runs; ``refuse`` maps an argv prefix to (rc, stderr)."""

    def __init__(self, module, disk, enabled="enabled", live=OLD_TABLE, refuse=None):
        FakeHost.__init__(self, module, disk)
        self.enabled, self.live, self.refuse = enabled, live, dict(refuse or {})

    def run_command(self, args, **kw):
        self.disk.log.append(("run",) + tuple(args))
        for prefix, (rc, err) in self.refuse.items():
            if tuple(args[:len(prefix)]) == prefix:
                return rc, "", err
        if args[:2] == ["nft", "-f"]:  # what is loaded is what is listed afterwards
            self.live = (kw["data"] if args[2] == "-" else self.disk.read(args[2])).decode()
        if args[:4] == ["nft", "list", "table", "inet"]:
            return (0, self.live, "") if self.live else (1, "", "No such file or directory")
        if args[:2] == ["systemctl", "is-enabled"]:
            return 0, self.enabled + "\n", ""
        return 0, "", ""


@pytest.fixture(autouse=True)
def http_on_8088(monkeypatch):
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.setattr(portplan, "collect_live", lambda host, states=None: [
        portplan.Binding(portplan.HTTP, "tcp", 8088, source="/etc/asterisk/http.conf"),
        portplan.Binding(portplan.SSH, "tcp", 22, source="/etc/ssh/sshd_config")])


PARAMS = dict(mode="permitted", permitted=["198.18.0.0/24"], services=["web"], extra_ports=[], force=False)


def run(disk, check_mode=False, **host_kw):
    module = FakeModule(check_mode=check_mode)
    host = NftHost(module, disk, **host_kw)
    t = tx.Transaction(module, wa.WebAccessChange(), host=host, writer=FakeWriter(disk))
    with pytest.raises(Exit) as e:
        t.run(dict(PARAMS))
    e.value.host = host
    return e.value


def test_plan_checks_both_candidates_writes_loads_and_enables():
    disk = FakeDisk({wa.NFT_CONF: (CONF, "root", "root", 0o755)})
    r = run(disk, enabled="disabled")
    assert not r.failed and r.result["loaded"] and r.result["ports"] == [8088], r.result
    assert r.result["summary"] == "web_access: permitted, tcp 8088 only from 198.18.0.0/24"
    steps = [e[:3] for e in disk.log if e[0] != "makedirs" and (e[0] != "run" or e[2] not in ("list", "is-enabled"))]
    assert steps[:3] == [("check", "nft", "-c"), ("check", "nft", "-c"), ("write", wa.RULES_FILE, disk.read(wa.RULES_FILE))]
    assert [e[1] for e in disk.log if e[0] == "write"] == [wa.RULES_FILE, wa.NFT_CONF]
    assert ("run", "nft", "-f", wa.RULES_FILE) in disk.log and ("run", "systemctl", "enable", wa.SERVICE) in disk.log
    assert wa.INCLUDE_LINE.encode() in disk.files[wa.NFT_CONF][0]
    assert disk.files[wa.RULES_FILE][1:] == ("root", "root", 0o644)


def test_failure_after_the_write_restores_both_files_and_the_old_table():
    disk = FakeDisk({wa.NFT_CONF: (CONF, "root", "root", 0o755)})
    r = run(disk, enabled="masked", refuse={("systemctl", "enable"): (1, "Unit file nftables.service is masked.")})
    assert r.failed
    assert "systemctl enable nftables.service failed: Unit file nftables.service is masked." in r.result["msg"]
    assert "restored: %s, %s" % (wa.NFT_CONF, wa.RULES_FILE) in r.result["msg"]
    assert disk.files == {wa.NFT_CONF: (CONF, "root", "root", 0o755)}  # the new rules file is gone again
    reload_old = [i for i, e in enumerate(disk.log) if e == ("run", "nft", "-f", "-")]
    assert reload_old and reload_old[0] > max(i for i, e in enumerate(disk.log) if e[0] in ("write", "remove"))
    assert r.host.live == wa.replace_script(OLD_TABLE)


def test_no_table_before_is_deleted_again_on_failure():
    disk = FakeDisk({wa.NFT_CONF: (CONF, "root", "root", 0o755)})
    r = run(disk, live=None, refuse={("nft", "-f"): (1, "Error: Could not process rule")})
    assert r.failed and "nft -f %s failed: Error: Could not process rule" % wa.RULES_FILE in r.result["msg"]
    assert disk.log[-1] == ("run", "nft", "delete", "table", "inet", wa.TABLE)


def test_unchanged_and_loaded_is_no_change_and_check_mode_writes_nothing():
    data, tag = wa.render("permitted", ["198.18.0.0/24"], [8088])
    conf = wa.plan_nft_conf(CONF.decode()).encode()
    files = {wa.NFT_CONF: (conf, "root", "root", 0o755), wa.RULES_FILE: (data, "root", "root", 0o644)}
    disk = FakeDisk(files)
    r = run(disk, live="table inet pbxguard { comment \"pbxguard web_access %s\" }" % tag)
    assert not r.failed and r.result["changed"] is False and r.result["loaded"] is False
    disk = FakeDisk(files)
    r = run(disk, check_mode=True)  # the live table is another one: a change, predicted only
    assert not r.failed and r.result["changed"] is True
    assert not [e for e in disk.log if e[0] in ("write", "check") or e[1:3] == ("nft", "-f")]
