# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _ami as ami
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError

DEBIAN = b"""; Asterisk Call Management support
[general]
enabled = yes
port = 5038
bindaddr = 127.0.0.1

#include "manager.d/*.conf"
"""


def params(users=None, **kw):
    p = dict(enabled=True, bind_address="127.0.0.1", port=5038, users=users or [],
             purge_users=False, allow_weak_secrets=False)
    p.update(kw)
    return p


def user(name="mon", secret="Str0ng!Pass", **kw):
    u = dict(name=name, secret=secret, permit=[], read=[], write=[], state="present")
    u.update(kw)
    return u


def plan(data, users, path="/nonexistent/manager.conf", purge=False, **kw):
    general, valid = ami.validate(params(users, **kw))
    return ami.plan(path, data, general, valid, purge)


def test_add_user_denies_everything_first():
    r = plan(DEBIAN, [user(permit=["198.18.0.0/24"], read=["system", "call"], write=["originate"])])
    text = r["data"].decode()
    assert text.startswith(DEBIAN.decode())
    assert text.endswith("\n[mon]\n; %s\nsecret = Str0ng!Pass\ndeny = 0.0.0.0/0.0.0.0\ndeny = ::/0\n"
                         "permit = 198.18.0.0/24\nread = system,call\nwrite = originate\n" % ami.MARKER_COMMENT)
    assert r["added"] == ["mon"]
    assert r["managed_after"][0]["restricted"] is True


def test_idempotent_second_plan():
    first = plan(DEBIAN, [user()])["data"]
    second = plan(first, [user()])
    assert second["data"] == first
    assert second["added"] == second["updated"] == second["removed"] == []


def test_update_remove_and_purge():
    data = plan(DEBIAN, [user("a"), user("b"), user("c")])["data"]
    r = plan(data, [user("a", read=["call"]), user("b", state="absent")])
    assert (r["added"], r["updated"], r["removed"]) == ([], ["a"], ["b"])
    assert b"[c]" in r["data"]
    r = plan(data, [user("a")], purge=True)
    assert r["removed"] == ["b", "c"]
    assert r["data"] == plan(DEBIAN, [user("a")])["data"]


def test_general_settings_rewritten_in_place():
    r = plan(DEBIAN, [], bind_address="::1", port=15038, enabled=False)
    assert b"enabled = no\nport = 15038\nbindaddr = ::1\n" in r["data"]


def test_missing_general_is_created_first():
    r = plan(b"[handuser]\nsecret=x\n", [])
    assert r["data"].startswith(b"[general]\n")


def test_hand_written_user_clash():
    data = DEBIAN + b"\n[mon]\nsecret = hand\n"
    with pytest.raises(PolicyError) as e:
        plan(data, [user()], path="/etc/asterisk/manager.conf")
    assert "defined by hand at /etc/asterisk/manager.conf:" in str(e.value)


def test_hand_written_user_in_included_file(tmp_path):
    (tmp_path / "manager.d").mkdir()
    (tmp_path / "manager.d" / "x.conf").write_text("[legacy]\nsecret=x\n")
    conf = tmp_path / "manager.conf"
    conf.write_bytes(DEBIAN)
    r = plan(DEBIAN, [user("fine")], path=str(conf))
    assert r["unmanaged_users"] == ["legacy"]
    with pytest.raises(PolicyError) as e:
        plan(DEBIAN, [user("legacy")], path=str(conf))
    assert "x.conf:1" in str(e.value)


@pytest.mark.parametrize("users,kw,fragment", [
    ([user(secret="weak")], {}, "users[0] (mon).secret: "),
    ([user(read=["originate"])], {}, "users[0] (mon).read[0]: class 'originate' is meaningful only as a write class"),
    ([user(read=["command"])], {}, "only as a write class"),
    ([user(write=["verbose"])], {}, "users[0] (mon).write[0]: class 'verbose' is meaningful only as a read class"),
    ([user(read=["nope"])], {}, "unknown class 'nope'"),
    # found by tests/reliability/test_fuzz.py: the element was not named (read, not read[1])
    ([user(read=["call", ""])], {}, "users[0] (mon).read[1]: unknown class ''"),
    ([user(write=["originate", "dtmf"])], {}, "users[0] (mon).write[1]: class 'dtmf' is meaningful only as a read"),
    ([user(permit=["10.0.0.1/8"])], {}, "users[0] (mon).permit[0]: host bits set"),
    ([user(name="bad name")], {}, "users[0].name: contains space"),
    ([user(name="x\n[general]")], {}, "newline"),
    ([user(name="general")], {}, "'general' is manager.conf's settings section"),
    ([user(secret=None)], {}, "required when state is present"),
    ([user(), user()], {}, "listed twice"),
    ([], {"port": 8090}, "port: port 8090 is reserved"),
    ([], {"bind_address": "localhost"}, "bind_address: is not an IP address"),
])
def test_validation_errors(users, kw, fragment):
    with pytest.raises(PolicyError) as e:
        ami.validate(params(users, **kw))
    assert fragment in str(e.value)


def test_all_errors_reported_at_once():
    with pytest.raises(PolicyError) as e:
        ami.validate(params([user("a", secret="weak"), user("b", read=["bogus"])], port=0))
    lines = str(e.value).splitlines()
    assert len(lines) == 3


def test_weak_switch_still_refuses_injection():
    ami.validate(params([user(secret="weak")], allow_weak_secrets=True))
    with pytest.raises(PolicyError):
        ami.validate(params([user(secret="weak\n[x]")], allow_weak_secrets=True))


def test_absent_needs_no_secret():
    general, users = ami.validate(params([dict(name="gone", state="absent")]))
    assert users == [{"name": "gone", "state": "absent"}]


def test_perm_set_parsing():
    assert ami._perm_set("<none>") == set()
    assert ami._perm_set("system,call") == {"system", "call"}


def test_names_asterisk_folds_are_duplicates_and_clashes():
    base = dict(enabled=True, bind_address="127.0.0.1", port=5038, purge_users=False, allow_weak_secrets=False)
    u = dict(secret="Str0ng!Secret", permit=[], read=[], write=[], state="present")
    with pytest.raises(PolicyError) as e:
        ami.validate(dict(base, users=[dict(u, name="Bob"), dict(u, name="bob")]))
    assert "listed twice" in str(e.value) and "case-insensitively" in str(e.value)
    with pytest.raises(PolicyError) as e:
        ami.validate(dict(base, users=[dict(u, name="x" * 80)]))
    assert "users[0].name" in str(e.value)
    general, users = ami.validate(dict(base, users=[dict(u, name="Bob")]))
    with pytest.raises(PolicyError) as e:
        ami.plan("/nonexistent/manager.conf", b"[general]\nenabled=yes\n[BOB]\nsecret=x\n", general, users, False)
    assert "defined by hand at /nonexistent/manager.conf:3" in str(e.value)
