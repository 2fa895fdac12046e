# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change transaction driven with a fake host: order of steps, check
mode, masking, restore order, OSError in the middle of a multi-file write."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError


class Exit(Exception):
    def __init__(self, failed, result):
        Exception.__init__(self, result.get("msg"))
        self.failed = failed
        self.result = result


class FakeModule(object):
    def __init__(self, check_mode=False, diff=False, no_log_values=()):
        self.check_mode = check_mode
        self._diff = diff
        self.tmpdir = "/nonexistent"
        self.no_log_values = set(no_log_values)
        self.params = {}

    def exit_json(self, **result):
        raise Exit(False, result)

    def fail_json(self, **result):
        raise Exit(True, result)

    def warn(self, text):
        pass


Stat = collections.namedtuple("Stat", "st_mode st_uid st_gid")


class FakeDisk(object):
    """Files and a log of every write-side call, shared by host and writer."""

    def __init__(self, files=None, fail_on=None):
        self.files = dict(files or {})
        self.log = []
        self.fail_on = fail_on  # path whose write raises OSError

    def read(self, path):
        return self.files.get(path, (None,))[0]


class FakeHost(tx.Host):
    def __init__(self, module, disk):
        self.module = module
        self.check_mode = module.check_mode
        self.tmpdir = module.tmpdir
        self.disk = disk

    def read(self, path):
        return self.disk.read(path)

    # the rest of the read side over the fake disk too: a planner that asks
    # the real disk behind the fake (glob, exists) would pass here and read
    # another host's files in production
    def exists(self, path):
        return path in self.disk.files or self.isdir(path)

    def isfile(self, path):
        return path in self.disk.files

    def isdir(self, path):
        return any(p.startswith(path.rstrip("/") + "/") for p in self.disk.files)

    def glob(self, pattern):
        import fnmatch
        n = pattern.count("/")
        return sorted(p for p in self.disk.files if p.count("/") == n and fnmatch.fnmatchcase(p, pattern))

    def listdir(self, path):
        prefix = path.rstrip("/") + "/"
        return sorted(set(p[len(prefix):].split("/")[0] for p in self.disk.files if p.startswith(prefix)))

    def realpath(self, path):
        import os
        return os.path.normpath(path)

    def attributes_differ(self, path, owner="asterisk", group="asterisk", mode=0o640):
        entry = self.disk.files.get(path)
        return entry is not None and entry[1:] != (owner, group, mode)

    def run_command(self, args, **kw):
        self.disk.log.append(("run",) + tuple(args))
        return 0, "", ""


class FakeWriter(object):
    def __init__(self, disk):
        self.disk = disk

    def write(self, path, data, owner, group, mode, backup=False):
        self.disk.log.append(("write", path, data))
        if path == self.disk.fail_on:
            raise OSError(28, "No space left on device")
        self.disk.files[path] = (data, owner, group, mode)
        return None

    def remove(self, path):
        self.disk.log.append(("remove", path))
        self.disk.files.pop(path, None)

    def makedirs(self, path, mode):
        self.disk.log.append(("makedirs", path))

    def stat(self, path):
        entry = self.disk.files.get(path)
        if entry is None:
            return None
        return Stat(0o100000 | entry[3], entry[1], entry[2])

    def owner_names(self, st):
        return st.st_uid, st.st_gid

    def set_attributes(self, path, owner, group, mode):
        self.disk.log.append(("attrs", path))
        data = self.disk.files[path][0]
        self.disk.files[path] = (data, owner, group, mode)

    def check_file(self, command, data, tmpdir):
        self.disk.log.append(("check",) + tuple(command))
        return (1, "syntax error") if b"BAD" in data else (0, "")


class TwoFiles(tx.Change):
    """A change of two files, apply and verify recorded in the disk's log."""

    def __init__(self, new_a, new_b, problems=(), check=None, validate_error=None, secrets=()):
        self.new_a, self.new_b = new_a, new_b
        self.problems = list(problems)
        self.check = check
        self.validate_error = validate_error
        self.secrets = list(secrets)

    def validate(self, params):
        if self.validate_error:
            raise PolicyError(self.validate_error)
        return params

    def plan(self, host, spec):
        disk = host.disk
        files = [tx.File("/etc/a.conf", host.read("/etc/a.conf"), self.new_a, check=self.check,
                         attributes_differ=host.attributes_differ("/etc/a.conf")),
                 tx.File("/etc/b.conf", host.read("/etc/b.conf"), self.new_b, owner="root", group="root",
                         mode=0o644)]

        def apply(h):
            disk.log.append(("apply",))
            return dict(reloaded=True)

        def verify(h):
            disk.log.append(("verify",))
            return self.problems

        def revert(h):
            disk.log.append(("revert",))

        return tx.Plan(dict(summary="two files"), files, apply=apply, verify=verify, revert=revert,
                       said=lambda: ["ERROR[1]: rejected"], failure="the daemon did not take it",
                       secrets=self.secrets)


def run(change, disk, **module_kw):
    module = FakeModule(**module_kw)
    t = tx.Transaction(module, change, host=FakeHost(module, disk), writer=FakeWriter(disk),
                       portplan_check=lambda host, manages, bindings: None)
    with pytest.raises(Exit) as e:
        t.run({})
    return e.value


def base_disk(**kw):
    return FakeDisk({"/etc/a.conf": (b"a-old\n", "asterisk", "asterisk", 0o640),
                     "/etc/b.conf": (b"b-old\n", "root", "root", 0o600)}, **kw)


def writes(disk):
    return [e for e in disk.log if e[0] in ("write", "remove", "attrs")]


def test_validation_error_fails_before_any_io():
    disk = base_disk()
    r = run(TwoFiles(b"x", b"y", validate_error="users[0].name: empty"), disk)
    assert r.failed and r.result["msg"] == "users[0].name: empty"
    assert disk.log == []


def test_no_change_is_no_write_and_no_apply():
    disk = base_disk()
    r = run(TwoFiles(b"a-old\n", b"b-old\n"), disk)
    assert not r.failed and r.result["changed"] is False
    assert disk.log == []


def test_check_mode_predicts_and_writes_nothing():
    disk = base_disk()
    r = run(TwoFiles(b"a-new\n", b"b-old\n"), disk, check_mode=True, diff=True)
    assert r.result["changed"] is True and not r.failed
    assert disk.log == [] and disk.read("/etc/a.conf") == b"a-old\n"
    assert [d["before_header"] for d in r.result["diff"]] == ["/etc/a.conf"]  # a list: two files planned


def test_writes_in_order_then_apply_then_verify():
    disk = base_disk()
    r = run(TwoFiles(b"a-new\n", b"b-new\n"), disk)
    assert not r.failed and r.result["changed"] and r.result["reloaded"]
    assert [e[0:2] for e in disk.log] == [("write", "/etc/a.conf"), ("write", "/etc/b.conf"),
                                          ("apply",), ("verify",)]
    assert disk.files["/etc/b.conf"] == (b"b-new\n", "root", "root", 0o644)


def test_attributes_only_are_fixed_without_rewriting():
    disk = base_disk()
    disk.files["/etc/a.conf"] = (b"a-old\n", "root", "root", 0o644)
    r = run(TwoFiles(b"a-old\n", b"b-old\n"), disk)
    assert r.result["changed"] and writes(disk) == [("attrs", "/etc/a.conf")]


def test_verify_problems_restore_every_file_last_first_then_revert():
    disk = base_disk()
    r = run(TwoFiles(b"a-new\n", b"b-new\n", problems=["user x not loaded"]), disk)
    assert r.failed
    msg = r.result["msg"]
    assert "did not take it" in msg and "user x not loaded" in msg and "ERROR[1]: rejected" in msg
    assert writes(disk)[2:] == [("write", "/etc/b.conf", b"b-old\n"), ("write", "/etc/a.conf", b"a-old\n")]
    assert disk.log[-1] == ("revert",)
    # the old owner and mode came back with the old bytes
    assert disk.files["/etc/b.conf"] == (b"b-old\n", "root", "root", 0o600)
    assert disk.files["/etc/a.conf"] == (b"a-old\n", "asterisk", "asterisk", 0o640)


def test_oserror_in_the_middle_restores_what_was_written():
    disk = base_disk(fail_on="/etc/b.conf")
    r = run(TwoFiles(b"a-new\n", b"b-new\n"), disk)
    assert r.failed and "No space left" in r.result["msg"]
    assert disk.files["/etc/a.conf"][0] == b"a-old\n"
    assert ("apply",) not in disk.log and disk.log[-1] == ("revert",)


def test_new_file_is_removed_on_restore():
    disk = FakeDisk({"/etc/b.conf": (b"b-old\n", "root", "root", 0o600)})
    r = run(TwoFiles(b"a-new\n", b"b-new\n", problems=["no"]), disk)
    assert r.failed and "/etc/a.conf" not in disk.files
    assert ("remove", "/etc/a.conf") in disk.log


def test_removed_file_comes_back_on_failure():
    disk = base_disk()
    r = run(TwoFiles(None, b"b-new\n", problems=["no"]), disk)
    assert r.failed and disk.files["/etc/a.conf"][0] == b"a-old\n"


def test_candidate_check_refusal_changes_nothing():
    disk = base_disk()
    r = run(TwoFiles(b"BAD\n", b"b-new\n", check=["nft", "-c", "-f", "{}"]), disk)
    assert r.failed and "nft refused the new /etc/a.conf (nothing was changed): syntax error" in r.result["msg"]
    assert writes(disk) == []


def test_diff_masks_secret_keys_task_values_and_plan_secrets():
    disk = FakeDisk({"/etc/a.conf": (b"[u]\nsecret = HandS3cret!\n", "asterisk", "asterisk", 0o640),
                     "/etc/b.conf": (b"b-old\n", "root", "root", 0o600)})
    new_a = b"[u]\nsecret = TaskS3cret!\nnote = TaskS3cret! PlanS3cret!\n"
    r = run(TwoFiles(new_a, b"b PlanS3cret!\n", secrets=["PlanS3cret!"]), disk, check_mode=True, diff=True,
            no_log_values=["TaskS3cret!"])
    text = repr(r.result["diff"])
    for s in ("HandS3cret!", "TaskS3cret!", "PlanS3cret!"):
        assert s not in text
    assert "<secret:" in text


def test_daemon_refusal_fails_with_its_words_and_restores():
    class Refused(TwoFiles):
        def plan(self, host, spec):
            p = TwoFiles.plan(self, host, spec)

            def apply(h):
                raise tx.ChangeError("reload refused: bad section")
            p.apply = apply
            return p
    disk = base_disk()
    r = run(Refused(b"a-new\n", b"b-new\n"), disk)
    assert r.failed and r.result["msg"].startswith("reload refused: bad section")
    assert disk.files["/etc/a.conf"][0] == b"a-old\n" and disk.files["/etc/b.conf"][0] == b"b-old\n"


def test_prepare_runs_before_the_writes_and_its_refusal_reverts():
    class Prepared(TwoFiles):
        def __init__(self, refuse=False, **kw):
            TwoFiles.__init__(self, b"a-new\n", b"b-new\n", **kw)
            self.refuse = refuse

        def plan(self, host, spec):
            p = TwoFiles.plan(self, host, spec)
            disk = host.disk

            def prepare(h):
                disk.log.append(("prepare",))
                if self.refuse:
                    raise tx.ChangeError("systemctl disable --now x.service failed: busy")
            p.prepare = prepare
            return p
    disk = base_disk()
    r = run(Prepared(), disk)
    assert not r.failed and [e[0] for e in disk.log] == ["prepare", "write", "write", "apply", "verify"]
    disk = base_disk()
    r = run(Prepared(refuse=True), disk)
    assert r.failed and r.result["msg"].startswith("systemctl disable --now x.service failed: busy")
    assert writes(disk) == [] and disk.log[-1] == ("revert",)
    r = run(Prepared(), base_disk(), check_mode=True)
    assert not r.failed and r.result["changed"]


def test_longer_secret_is_masked_whole_around_a_shorter_one():
    # msmtp writes the task's password quoted: the quoted form must become one tag
    disk = FakeDisk({"/etc/a.conf": (b"password \"0ld\"\n", "asterisk", "asterisk", 0o640),
                     "/etc/b.conf": (b"b-old\n", "root", "root", 0o600)})
    r = run(TwoFiles(b"password \"N3w!\"\n", b"b-old\n", secrets=['"N3w!"', '"0ld"']), disk, check_mode=True,
            diff=True, no_log_values=["N3w!"])
    d = r.result["diff"][0]
    assert d["before"].startswith("password <secret:") and d["after"].startswith("password <secret:")
    assert "N3w!" not in repr(d) and "0ld" not in repr(d)


class After(TwoFiles):
    def __init__(self, *args, **kw):
        self.refuse = kw.pop("refuse", False)
        TwoFiles.__init__(self, *args, **kw)

    def plan(self, host, spec):
        p = TwoFiles.plan(self, host, spec)

        def after(h, result, applied):
            host.disk.log.append(("after", applied))
            if self.refuse:
                raise tx.ChangeError("the test mail was not sent")
            return dict(test_mail="sent")
        p.after = after
        return p


def test_after_runs_last_and_joins_the_result():
    disk = base_disk()
    r = run(After(b"a-new\n", b"b-old\n"), disk)
    assert not r.failed and r.result["test_mail"] == "sent" and disk.log[-1] == ("after", True)
    disk = base_disk()
    r = run(After(b"a-old\n", b"b-old\n"), disk)
    assert not r.failed and disk.log == [("after", False)]


def test_after_refusal_fails_the_task_without_restoring():
    disk = base_disk()
    r = run(After(b"a-new\n", b"b-old\n", refuse=True), disk)
    assert r.failed and r.result["msg"] == "the test mail was not sent" and r.result["changed"] is True
    assert disk.files["/etc/a.conf"][0] == b"a-new\n" and ("revert",) not in disk.log


def test_candidate_check_in_check_mode_only_when_the_file_asks():
    class Checked(TwoFiles):
        def __init__(self, *args, **kw):
            self.in_check_mode = kw.pop("in_check_mode")
            TwoFiles.__init__(self, *args, **kw)

        def plan(self, host, spec):
            p = TwoFiles.plan(self, host, spec)
            p.files[0].check_in_check_mode = self.in_check_mode
            return p
    disk = base_disk()
    r = run(Checked(b"BAD\n", b"b-old\n", check=["kea-dhcp4", "-t", "{}"], in_check_mode=False), disk,
            check_mode=True)
    assert not r.failed and disk.log == []
    r = run(Checked(b"BAD\n", b"b-old\n", check=["kea-dhcp4", "-t", "{}"], in_check_mode=True), disk,
            check_mode=True)
    assert r.failed and "kea-dhcp4 refused the new /etc/a.conf (nothing was changed)" in r.result["msg"]
    assert writes(disk) == []


def test_a_bug_in_apply_still_restores_every_file():
    class Buggy(TwoFiles):
        def plan(self, host, spec):
            p = TwoFiles.plan(self, host, spec)

            def apply(h):
                raise KeyError("users")
            p.apply = apply
            return p
    disk = base_disk()
    r = run(Buggy(b"a-new\n", b"b-new\n"), disk)
    assert r.failed and r.result["msg"].startswith("internal error (KeyError")
    assert disk.files["/etc/a.conf"][0] == b"a-old\n" and disk.files["/etc/b.conf"][0] == b"b-old\n"
    assert disk.log[-1] == ("revert",)


class PreparedWithDiff(TwoFiles):
    """TwoFiles with a prepare step (an account the files need) and a non-file diff."""

    def __init__(self, *a, **kw):
        self.prepare_error = kw.pop("prepare_error", None)
        TwoFiles.__init__(self, *a, **kw)

    def plan(self, host, spec):
        p = TwoFiles.plan(self, host, spec)

        def prepare(h):
            host.disk.log.append(("prepare",))
            if self.prepare_error:
                raise tx.ChangeError(self.prepare_error)
        p.prepare = prepare
        p.diffs = [dict(before_header="account", after_header="account", before="password: old\n",
                        after="password: PlanS3cret!\n")]
        p.secrets = ["PlanS3cret!"]
        return p


def test_prepare_with_a_non_file_diff_not_in_check_mode():
    disk = base_disk()
    r = run(PreparedWithDiff(b"a-new\n", b"b-new\n"), disk)
    assert not r.failed
    assert [e[0] for e in disk.log] == ["prepare", "write", "write", "apply", "verify"]
    disk = base_disk()
    r = run(PreparedWithDiff(b"a-new\n", b"b-new\n"), disk, check_mode=True, diff=True)
    assert disk.log == [] and r.result["changed"]
    # the non-file diff comes after the files', masked like them
    assert [d["before_header"] for d in r.result["diff"]] == ["/etc/a.conf", "/etc/b.conf", "account"]
    assert "PlanS3cret!" not in repr(r.result["diff"]) and "<secret:" in r.result["diff"][-1]["after"]


def test_prepare_failure_writes_nothing_and_reverts():
    disk = base_disk()
    r = run(PreparedWithDiff(b"a-new\n", b"b-new\n", prepare_error="useradd u failed: group u exists"), disk)
    assert r.failed and r.result["msg"].startswith("useradd u failed: group u exists")
    assert writes(disk) == [] and disk.log[-1] == ("revert",)


def test_host_user_and_glob(tmp_path):
    import os
    import pwd
    me = pwd.getpwuid(os.getuid())
    host = tx.Host(FakeModule())
    u = host.user(me.pw_name)
    assert (u["name"], u["uid"], u["home"]) == (me.pw_name, me.pw_uid, me.pw_dir)
    assert host.user("no-such-user-pbxguard") is None
    for name in ("b.conf", "a.conf", "c.txt"):
        (tmp_path / name).write_text("")
    assert host.glob(str(tmp_path / "*.conf")) == [str(tmp_path / "a.conf"), str(tmp_path / "b.conf")]
