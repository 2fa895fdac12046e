# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""softphone_qr: the PNG it writes is decoded by a real QR reader (zxing-cpp,
tests/lab/clients/qr_decode.py, independent of the encoder segno) and the
payload parsed as Grandstream Wave's account XML; the secret is only in the
file; check mode writes nothing; a rerun changes nothing; bad input names
the option."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat
import subprocess
import sys

import pytest

pytest.importorskip("segno")
pytest.importorskip("zxingcpp")

from ansible_collections.pbxguard.asterisk.plugins.action import softphone_qr  # noqa: E402
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _softphone as softphone  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
DECODER = os.path.join(ROOT, "tests", "lab", "clients", "qr_decode.py")
SECRET = "Qr-Test_S3cret%ab"


class Task(object):
    def __init__(self, args):
        self.args = args
        self.async_val = 0
        self.check_mode = False
        self.diff = False
        self.action = "pbxguard.asterisk.softphone_qr"
        self.environment = []
        self.no_log = False

    def get_name(self):
        return "softphone_qr"


class PlayContext(object):
    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.no_log = False
        self.become = False
        self.remote_addr = "localhost"


class Shell(object):
    tmpdir = "/nonexistent"   # set: the action never asks for a remote temp dir


class Connection(object):
    _shell = Shell()


def run(args, check_mode=False):
    task = Task(args)
    task.check_mode = check_mode
    action = softphone_qr.ActionModule(task=task, connection=Connection(), play_context=PlayContext(check_mode),
                                       loader=None, templar=None, shared_loader_obj=None)
    return action.run(task_vars={})


def decode(path):
    p = subprocess.run([sys.executable, DECODER, path], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout.rstrip("\n")


def args(tmp_path, **kw):
    a = dict(server="pbx1.lab.test", port=5060, voicemail="*97", dest_dir=str(tmp_path / "qr"),
             extensions=[dict(number="1001", secret=SECRET, name="Front Desk & Co"),
                         dict(number="1002", secret=SECRET.upper() + "x1", username="bob", authname="bob-auth")])
    a.update(kw)
    return a


def test_png_decodes_to_the_wave_account_xml(tmp_path):
    r = run(args(tmp_path))
    assert not r.get("failed"), r
    assert r["changed"] and r["written"] == ["1001", "1002"]
    path = r["files"]["1001"]
    assert path == str(tmp_path / "qr" / "1001.png")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(tmp_path / "qr")).st_mode) == 0o700
    got = softphone.parse_grandstream_wave(decode(path))
    assert got == {"RegisterServer": "pbx1.lab.test:5060", "UserID": "1001", "AuthID": "1001", "AuthPass": SECRET,
                   "AccountName": "1001", "DisplayName": "Front Desk & Co", "Voicemail": "*97"}
    got = softphone.parse_grandstream_wave(decode(r["files"]["1002"]))
    assert (got["UserID"], got["AuthID"], got["DisplayName"]) == ("bob", "bob-auth", "1002")
    # the secret is in the PNG only: the task's result says where, never what
    assert SECRET not in repr(r) and SECRET.upper() not in repr(r)
    assert path in r["msg"]


def test_rerun_changes_nothing_and_a_wrong_mode_is_fixed(tmp_path):
    run(args(tmp_path))
    path = str(tmp_path / "qr" / "1001.png")
    before = open(path, "rb").read()
    r = run(args(tmp_path))
    assert r["changed"] is False and r["written"] == []
    os.chmod(path, 0o644)
    r = run(args(tmp_path))
    assert r["written"] == ["1001"] and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert open(path, "rb").read() == before
    # a changed secret is a new PNG
    a = args(tmp_path)
    a["extensions"][0]["secret"] = "N3w-Secret_value"
    r = run(a)
    assert r["written"] == ["1001"] and softphone.parse_grandstream_wave(decode(path))["AuthPass"] == "N3w-Secret_value"


def test_missing_parents_are_private_too(tmp_path):
    r = run(args(tmp_path, dest_dir=str(tmp_path / "a" / "b" / "qr")))
    assert not r.get("failed"), r
    for d in ("a", "a/b", "a/b/qr"):
        assert stat.S_IMODE(os.stat(str(tmp_path / d)).st_mode) == 0o700


def test_check_mode_writes_nothing(tmp_path):
    r = run(args(tmp_path), check_mode=True)
    assert r["changed"] and r["written"] == ["1001", "1002"] and "would write" in r["msg"]
    assert not os.path.exists(str(tmp_path / "qr"))


def test_the_extension_modules_list_is_taken_as_it_is(tmp_path):
    exts = [dict(number="1001", secret=SECRET, pin="8474", email="a@example.org", permit=["198.18.0.0/24"],
                 auth_user="desk-1001"),
            dict(number="1003", secret=SECRET, state="absent")]
    r = run(args(tmp_path, extensions=exts))
    assert not r.get("failed"), r
    assert sorted(r["files"]) == ["1001"]   # an absent extension gets no code
    assert softphone.parse_grandstream_wave(decode(r["files"]["1001"]))["AuthID"] == "desk-1001"


def test_ipv6_server_is_bracketed():
    ext = dict(number="7", secret=SECRET, username="7", authname="7", name="7")
    xml = softphone.grandstream_wave(ext, "2001:db8::5", 5070)
    assert softphone.parse_grandstream_wave(xml)["RegisterServer"] == "[2001:db8::5]:5070"


@pytest.mark.parametrize("override,words", [
    ({"server": "pbx one"}, ["server"]),
    ({"port": 70000}, ["port"]),
    ({"dest_dir": ""}, ["dest_dir"]),
    ({"voicemail": "*97;x"}, ["voicemail"]),
    ({"format": "linphone"}, ["format", "grandstream_wave"]),
    ({"extensions": [{"number": "10a", "secret": SECRET}]}, ["extensions[0].number", "digits"]),
    ({"extensions": [{"number": "1001", "secret": "weak"}]}, ["extensions[0] (1001).secret"]),
    ({"extensions": [{"number": "1001", "secret": SECRET, "name": "A\nB"}]}, ["extensions[0] (1001).name"]),
    ({"extensions": [{"number": "1", "secret": SECRET}, {"number": "1", "secret": SECRET}]}, ["listed twice"]),
    ({"extensions": [{"number": "1", "secret": SECRET, "voicemail": "1234"}]}, ["unknown option", "voicemail"]),
    ({"bogus": 1}, ["unknown option", "bogus"]),
])
def test_bad_input_names_the_option_and_writes_nothing(tmp_path, override, words):
    r = run(args(tmp_path, **override))
    assert r.get("failed"), r
    for w in words:
        assert w in r["msg"], r["msg"]
    assert SECRET not in r["msg"]
    assert not os.path.exists(str(tmp_path / "qr"))


def test_every_extension_entry_option_is_read_or_ignored():
    """The baseline hands pbx_extensions.list as it is: every option an entry
    of the extension module may carry (its DOCUMENTATION, which ansible-test
    keeps equal to its argument spec) must be known here, or a valid list is
    refused ('unknown option(s) policy' broke make demo once)."""
    import yaml
    from ansible_collections.pbxguard.asterisk.plugins.modules import extension
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _softphone
    sub = yaml.safe_load(extension.DOCUMENTATION)["options"]["extensions"]["suboptions"]
    missing = sorted(set(sub) - set(_softphone.USED) - set(_softphone.IGNORED))
    assert missing == [], missing
