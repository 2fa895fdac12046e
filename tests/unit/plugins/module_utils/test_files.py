# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _files as files


class FakeModule(object):
    def atomic_move(self, src, dest):
        os.rename(src, dest)

    def backup_local(self, path):
        dest = path + ".bak"
        with open(path, "rb") as a, open(dest, "wb") as b:
            b.write(a.read())
        return dest


def test_masker_hides_secrets_but_shows_change():
    m = files.Masker()
    before = m.text("[u]\nsecret = OldS3cret!\nread = all\npassword=Xyz1%abcd ; c\n")
    after = m.text("[u]\nsecret = NewS3cret!\nread = all\npassword=Xyz1%abcd ; c\n")
    for s in ("OldS3cret!", "NewS3cret!", "Xyz1%abcd"):
        assert s not in before + after
    assert before.splitlines()[1] != after.splitlines()[1]
    assert before.splitlines()[3] == after.splitlines()[3]
    assert before.splitlines()[3].endswith("; c")
    assert "read = all" in after


def test_masker_tags_are_per_instance():
    assert files.Masker().tag("x") != files.Masker().tag("x")


def test_masker_extra_values():
    m = files.Masker(extra_values=["Sup3r!Secret"])
    assert "Sup3r!Secret" not in m.text("exten => 1,1,Set(X=Sup3r!Secret)\n")


def test_write_atomic_sets_mode_and_keeps_backup_private(tmp_path):
    me = __import__("pwd").getpwuid(os.getuid()).pw_name
    grp_name = __import__("grp").getgrgid(os.getgid()).gr_name
    p = tmp_path / "x.conf"
    p.write_bytes(b"old")
    os.chmod(str(p), 0o644)
    backup = files.write_atomic(FakeModule(), str(p), b"new", owner=me, group=grp_name, mode=0o640, backup=True)
    assert p.read_bytes() == b"new"
    assert os.stat(str(p)).st_mode & 0o777 == 0o640
    assert open(backup, "rb").read() == b"old"
    assert os.stat(backup).st_mode & 0o777 == 0o640
    assert not [f for f in os.listdir(str(tmp_path)) if f.startswith(".pbxguard-")]
    assert files.attributes_differ(str(p), owner=me, group=grp_name, mode=0o600)
    assert not files.attributes_differ(str(p), owner=me, group=grp_name, mode=0o640)


def test_read_bytes_missing(tmp_path):
    assert files.read_bytes(str(tmp_path / "nope")) is None


def test_host_lock(tmp_path):
    with files.HostLock(directory=str(tmp_path)) as lock:
        assert os.path.exists(lock.path)
