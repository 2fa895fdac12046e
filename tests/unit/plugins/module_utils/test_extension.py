# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ExtensionChange through the change transaction with a fake host: the
files in WRITE_ORDER, reloads of only the modules concerned, PINs and
secrets masked in the diff, every file restored and reloaded when Asterisk
does not take the change, and the 10,000-extension measures (no_log_values
emptied for the CLI, put back on failure; invocation summarised)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _extension as ext
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_transaction import (
    Exit, FakeDisk, FakeHost, FakeModule, FakeWriter,
)

PJSIP = "/etc/asterisk/pjsip.conf"
PJ_MANAGED = "/etc/asterisk/pjsip_pbxguard.conf"
IAX = "/etc/asterisk/iax.conf"
IAX_MANAGED = "/etc/asterisk/iax_pbxguard.conf"
VM = "/etc/asterisk/voicemail.conf"
S1008, S1009 = "Sx1A2B3C4D_e5f6a7b87", "Sx9F8E7D6C_c5b4a3927"


def params(exts, **kw):
    p = dict(context="from-internal", voicemail_context="default", allow_weak_secrets=False, purge=True,
             remove_samples=False, extensions=exts, pjsip_conf=PJSIP, iax_conf=IAX, voicemail_conf=VM,
             backup=False)
    p.update(kw)
    return p


def base_exts():
    return [dict(number="1008", name="Front Desk", secret=S1008, pin="8474", email="fd@example.org"),
            dict(number="1009", secret=S1009, iax=dict(enabled=True, auth="md5", encryption=True))]


def debian_disk():
    own = ("asterisk", "asterisk", 0o640)
    return FakeDisk({PJSIP: (b"[global]\ntype=global\n",) + own,
                     IAX: (b"[general]\nbindport=4569\n\n[guest]\ntype=user\ncontext=public\ncallerid=\"Guest IAX User\"\n",) + own,
                     VM: (b"[general]\nformat=wav49\n\n[default]\n1234 => 4242,Example Mailbox,root@localhost\n",)
                     + own})


class Asterisk(FakeHost):
    """Answers the CLI like an Asterisk that loaded ``live`` (numbers), or
    nothing at all when it rejected the files."""

    def __init__(self, module, disk, live=("1008", "1009")):
        FakeHost.__init__(self, module, disk)
        self.live = list(live)
        self.quiet_cli = []  # were no_log_values empty while the CLI ran?

    def run_command(self, args, **kw):
        self.disk.log.append(("run",) + tuple(args))
        if args[:1] != ["timeout"]:
            return 0, "", ""
        self.quiet_cli.append(not self.module.no_log_values)
        cmd = args[-1]
        if cmd in ("pjsip show endpoints", "pjsip show auths", "pjsip show aors"):
            label = {"endpoints": "Endpoint", "auths": "Auth", "aors": "Aor"}[cmd.split()[-1]]
            return 0, "".join(" %s:  %s\n" % (label, n) for n in self.live) or "No objects found.\n", ""
        if cmd.startswith("pjsip show endpoint "):
            return 0, " context : from-internal\n", ""
        if cmd.startswith("pjsip show auth "):
            return 0, " username : %s\n" % cmd.split()[-1], ""
        if cmd.startswith("iax2 show peer "):
            n = cmd.split()[-1]
            return 0, ("  Name       : %s\n  Encryption   : aes128\n  Calltoken req: Yes\n" % n
                       if n in self.live else "Peer %s not found.\n" % n), ""
        if cmd == "voicemail show users for default":
            return 0, "".join("default   %s   x\n" % n for n in self.live if n == "1008"), ""
        return 0, "", ""


def run(exts, disk, live=("1008", "1009"), **kw):
    module = FakeModule(check_mode=kw.pop("check_mode", False), diff=kw.pop("diff", False),
                        no_log_values=[S1008, S1009, "8474"])
    module.params = params(exts, **kw)
    host = Asterisk(module, disk, live)
    t = tx.Transaction(module, ext.ExtensionChange(), host=host, writer=FakeWriter(disk))
    with pytest.raises(Exit) as e:
        t.run(module.params)
    return e.value, module, host


def cli(disk):
    return [e[-1] for e in disk.log if e[:2] == ("run", "timeout")]


def test_first_run_writes_in_order_reloads_each_module_once_and_verifies():
    disk = debian_disk()
    r, module, host = run(base_exts(), disk)
    assert not r.failed, r.result.get("msg")
    res = r.result
    assert res["changed"] and res["created"] == ["1008", "1009"] and res["reloaded"] == ["pjsip", "iax", "voicemail"]
    assert [e[1] for e in disk.log if e[0] == "write"] == [PJ_MANAGED, IAX_MANAGED, PJSIP, IAX, VM]
    assert b'#tryinclude "pjsip_pbxguard.conf"' in disk.read(PJSIP)
    assert b"1008 => 8474,Front Desk,fd@example.org" in disk.read(VM)
    assert res["invocation"] == {"module_args": dict(params([]), extensions="2 extension(s)")}
    commands = cli(disk)
    assert commands[:3] == ["module reload res_pjsip.so", "iax2 reload", "voicemail reload"]
    assert "pjsip show endpoints" in commands and "voicemail show users for default" in commands
    # the CLI ran without the per-string scrub; nothing to scrub in a result without diff
    assert all(host.quiet_cli) and module.no_log_values == set()


def test_rerun_changes_nothing_and_runs_no_command():
    disk = debian_disk()
    run(base_exts(), disk)
    disk.log = []
    r, module, host = run(base_exts(), disk)
    assert not r.failed and r.result["changed"] is False and r.result["reloaded"] == []
    assert r.result["counts"] == {"created": 0, "updated": 0, "removed": 0, "unchanged": 2}
    assert disk.log == []


def test_only_the_module_concerned_is_reloaded():
    disk = debian_disk()
    run(base_exts(), disk)
    disk.log = []
    exts = base_exts()
    exts[0]["secret"] = "Sx0A0B0C0D_ffffeeee1"
    r, module, host = run(exts, disk)
    assert r.result["updated"] == ["1008"] and r.result["secrets_changed"] == 1
    assert [e[1] for e in disk.log if e[0] == "write"] == [PJ_MANAGED]
    assert [c for c in cli(disk) if "reload" in c] == ["module reload res_pjsip.so"]


def test_check_mode_diff_masks_secrets_and_every_pin_in_voicemail_conf():
    disk = debian_disk()
    run(base_exts(), disk)
    # a user changed 1008's PIN from the phone: the file holds a PIN the task never names
    data = disk.read(VM).replace(b"1008 => 8474,", b"1008 => 5150,")
    disk.files[VM] = (data, "asterisk", "asterisk", 0o640)
    before, disk.log = dict(disk.files), []
    exts = base_exts() + [dict(number="1010", secret="Sx5A5B5C5D_a1b2c3d47", pin="6093")]
    exts[0]["email"] = "desk@example.org"
    r, module, host = run(exts, disk, check_mode=True, diff=True)
    assert not r.failed and r.result["changed"] and r.result["created"] == ["1010"]
    assert disk.files == before and not any(e[0] == "write" for e in disk.log)
    text = repr(r.result["diff"])
    assert [d["before_header"] for d in r.result["diff"]] == [PJ_MANAGED, VM]
    assert "<secret:" in text and "desk@example.org" in text
    for value in (S1008, S1009, "Sx5A5B5C5D_a1b2c3d47", "5150", "6093", "8474", "4242"):
        assert value not in text, value


def test_not_taken_restores_every_file_last_first_reloads_and_says_why():
    disk = debian_disk()
    before = dict(disk.files)
    r, module, host = run(base_exts(), disk, live=())
    assert r.failed
    msg = r.result["msg"]
    assert msg.startswith("Asterisk did not take the new configuration; the previous files were restored and "
                          "reloaded. Live state: extensions[0] (1008): PJSIP endpoint/auth/aor '1008' not loaded")
    assert "Asterisk said: " in msg
    written = [e[1] for e in disk.log if e[0] in ("write", "remove")]
    assert written == [PJ_MANAGED, IAX_MANAGED, PJSIP, IAX, VM, VM, IAX, PJSIP, IAX_MANAGED, PJ_MANAGED]
    assert disk.files == before  # new files removed, old ones byte-identical with their owner/mode
    reloads = [c for c in cli(disk) if "reload" in c]
    assert reloads == ["module reload res_pjsip.so", "iax2 reload", "voicemail reload"] * 2
    # the full scrub list is back before anything is returned
    assert module.no_log_values == set([S1008, S1009, "8474"])
    assert r.result["invocation"]["module_args"]["extensions"] == "2 extension(s)"


def test_policy_errors_before_any_io():
    disk = debian_disk()
    r, module, host = run([dict(number="1008", secret="weak")], disk)
    assert r.failed and "extensions[0] (1008).secret: needs at least 8 characters" in r.result["msg"]
    assert disk.log == []


def test_hand_written_mailbox_refused_after_reading_nothing_written():
    disk = debian_disk()
    r, module, host = run([dict(number="1234", secret=S1008, pin="8474")], disk)
    assert r.failed and "mailbox 1234@default is defined by hand at %s:5" % VM in r.result["msg"]
    assert not any(e[0] == "write" for e in disk.log)


def test_remove_samples_in_the_same_pass_verified_live():
    disk = debian_disk()
    r, module, host = run(base_exts(), disk, remove_samples=True)
    assert not r.failed, r.result.get("msg")
    assert r.result["samples_removed"] == [IAX + " [guest]", "1234@default"]
    assert b"[guest]" not in disk.read(IAX) and b"4242" not in disk.read(VM)
    assert "iax2 show users" in cli(disk) and "voicemail show users" in cli(disk)


def test_masker_hides_every_box_pin_form():
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._masking import Masker
    data = "[default]\n1008 => 5150,Desk\n1009=>-6093 , x\n[zonemessages]\neastern=America/New_York|x\n"
    masked = Masker().text(data, path="/etc/asterisk/voicemail.conf")
    assert "5150" not in masked and "6093" not in masked and "America/New_York" in masked
