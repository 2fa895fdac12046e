# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

import pytest

passlib_hash = pytest.importorskip("passlib.hash")
pyotp = pytest.importorskip("pyotp")

from ansible_collections.pbxguard.asterisk.plugins.action import admin as admin_action  # noqa: E402
from ansible_collections.pbxguard.asterisk.plugins.action import totp as totp_action  # noqa: E402
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _action_plan as action_plan  # noqa: E402

PW = "Str0ng-Passw0rd"


def test_hash_is_sha512_crypt_with_random_salt():
    a, b = admin_action.make_hash(PW), admin_action.make_hash(PW)
    assert a.startswith("$6$rounds=100000$") and a != b
    assert admin_action.verifies(PW, a) and not admin_action.verifies("other", a)
    assert not admin_action.verifies(PW, None) and not admin_action.verifies(PW, "$y$j9T$x$y")


def test_decide_keeps_a_verifying_hash():
    h = admin_action.make_hash(PW)
    assert admin_action.decide(PW, dict(user_exists=True, shadow_hash=h, ari_hash=h), "always") == (h, h)


def test_decide_rehashes_a_wrong_or_foreign_hash():
    old = admin_action.make_hash("Other-Passw0rd")
    pw_hash, ari_hash = admin_action.decide(PW, dict(user_exists=True, shadow_hash=old, ari_hash=None), "always")
    assert pw_hash != old and admin_action.verifies(PW, pw_hash) and ari_hash == pw_hash


def test_decide_on_create_keeps_the_stored_password():
    old = admin_action.make_hash("Other-Passw0rd")
    assert admin_action.decide(PW, dict(user_exists=True, shadow_hash=old, ari_hash=None), "on_create") == (None, old)
    pw_hash, dummy = admin_action.decide(PW, dict(user_exists=False, shadow_hash=None, ari_hash=None), "on_create")
    assert admin_action.verifies(PW, pw_hash)
    assert admin_action.decide(None, dict(user_exists=True), "always") == (None, None)


def test_totp_uri_and_code():
    secret = pyotp.random_base32(length=32)
    uri = totp_action.otpauth_uri(secret, "pbxadmin", "PBX lab")
    assert uri == "otpauth://totp/PBX%%20lab:pbxadmin?secret=%s&issuer=PBX%%20lab" % secret
    now = time.time()
    assert totp_action.code_matches(secret, pyotp.TOTP(secret).at(now), now)
    assert totp_action.code_matches(secret, pyotp.TOTP(secret).at(now - 30), now)
    assert not totp_action.code_matches(secret, pyotp.TOTP(secret).at(now - 300), now)


def test_qr_png_is_deterministic():
    segno = pytest.importorskip("segno")
    assert segno
    png = totp_action.qr_png("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == totp_action.qr_png("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP")


# ---- one module execution when nothing is to be done (the probe's plan is final)
class FakeTask(object):
    def __init__(self, action, args):
        self.action, self.args = action, args
        self.async_val, self.check_mode, self.no_log = 0, False, False


def answer(stored, final, **extra):
    """A probe's one result key for the action plugin."""
    return {action_plan.PROBE: dict(stored=stored, final=final, **extra)}


class FakeModules(object):
    """Stands in for _execute_module: answers the probe and counts every run."""

    def __init__(self, probe, real=None, kind=None):
        self.probe, self.real, self.calls = probe, real or dict(changed=True), []
        self.kind = kind

    def __call__(self, module_name=None, module_args=None, task_vars=None):
        self.calls.append(dict(module_args))
        plan = module_args.get("_plan") or {}
        # every run gets one plan of the module's shape, never loose internal options
        action_plan.check(plan, self.kind)
        assert not set(module_args) & {"probe", "secret", "password_hash", "ari_password_hash", "totp_secret"}
        return dict(self.probe) if plan.get("probe") else dict(self.real)


def run_action(mod, args, modules, check=False):
    from unittest import mock
    play_context = mock.MagicMock(check_mode=check, no_log=False)
    # shared_loader_obj passed as the task executor passes it: ansible-core 2.16 requires it
    action = mod.ActionModule(FakeTask(mod.MODULE, args), mock.MagicMock(), play_context, None, None, None)
    action._task.check_mode = check
    action._execute_module = modules
    if isinstance(modules, FakeModules) and modules.kind is None:
        modules.kind = mod.MODULE.rsplit(".", 1)[1]
    return action.run(task_vars={})


def test_admin_keeps_stored_rules():
    h = admin_action.make_hash(PW)
    stored = dict(user_exists=True, shadow_hash=h, ari_hash=None)
    assert admin_action.keeps_stored(h, h, stored, api_access=False)
    assert admin_action.keeps_stored(None, None, stored, api_access=False)
    assert not admin_action.keeps_stored(h, h, stored, api_access=True)  # a new ARI hash would be written
    assert not admin_action.keeps_stored("$6$other", h, stored, api_access=False)
    assert admin_action.keeps_stored(h, h, dict(stored, ari_hash=h), api_access=True)


def test_admin_noop_is_one_module_run():
    h = admin_action.make_hash(PW)
    probe = dict(changed=False, summary="admin pbxadmin: ...",
                 **answer(dict(user_exists=True, shadow_hash=h, ari_hash=None), True))
    modules = FakeModules(probe)
    res = run_action(admin_action, dict(username="pbxadmin", password=PW), modules)
    assert len(modules.calls) == 1 and modules.calls[0]["_plan"]["probe"] is True and "password" not in modules.calls[0]
    assert res["changed"] is False and res["summary"] == "admin pbxadmin: ..."
    assert not any(k.startswith("_pbxguard") or k == "_plan" for k in res)


def test_admin_runs_again_on_drift_or_a_new_password():
    h = admin_action.make_hash("Other-Passw0rd")
    stored = dict(user_exists=True, shadow_hash=h, ari_hash=None)
    # the plan with the stored hash would change something (drift): a second, real run
    modules = FakeModules(dict(changed=True, **answer(stored, False)))
    run_action(admin_action, dict(username="pbxadmin"), modules)
    assert len(modules.calls) == 2 and "probe" not in modules.calls[1]["_plan"]
    # nothing drifted, but the password does not verify: the new hash goes to the host
    modules = FakeModules(dict(changed=False, **answer(stored, True)))
    res = run_action(admin_action, dict(username="pbxadmin", password=PW), modules)
    assert len(modules.calls) == 2 and admin_action.verifies(PW, modules.calls[1]["_plan"]["password_hash"])
    assert res["changed"] is True


SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_totp_noop_is_one_module_run(tmp_path):
    qr = tmp_path / "qr.png"
    qr.write_bytes(b"png")
    probe = dict(changed=False, enrolled=True, summary="totp u: enabled", **answer(dict(secret=SECRET), True))
    modules = FakeModules(probe)
    res = run_action(totp_action, dict(user="pbxadmin", qr_path=str(qr)), modules)
    assert len(modules.calls) == 1 and res["changed"] is False and res["new_secret"] is False
    assert "secret" not in res and "_pbxguard_probe" not in res
    # a valid code against the enrolled secret: still one run
    modules = FakeModules(probe)
    res = run_action(totp_action, dict(user="pbxadmin", verify_code=pyotp.TOTP(SECRET).now()), modules)
    assert len(modules.calls) == 1 and not res.get("failed")


def test_totp_runs_again_when_something_is_to_do(tmp_path):
    stored = dict(secret=SECRET)
    # drift on the host (plan not final)
    modules = FakeModules(dict(changed=True, **answer(stored, False)))
    run_action(totp_action, dict(user="pbxadmin"), modules)
    assert len(modules.calls) == 2 and modules.calls[1]["_plan"]["secret"] == SECRET
    # the QR code is missing on the controller: written, and the module runs for real
    modules = FakeModules(dict(changed=False, **answer(stored, True)), real=dict(changed=False))
    res = run_action(totp_action, dict(user="pbxadmin", qr_path=str(tmp_path / "new.png")), modules)
    assert len(modules.calls) == 2 and res["changed"] is True and (tmp_path / "new.png").exists()
    # a wrong code fails and nothing runs after the probe
    modules = FakeModules(dict(changed=False, **answer(stored, True)))
    res = run_action(totp_action, dict(user="pbxadmin", verify_code="000000" if pyotp.TOTP(SECRET).now() != "000000"
                                       else "111111"), modules)
    assert res["failed"] and len(modules.calls) == 1
    # nothing enrolled yet: a new secret is made and sent
    modules = FakeModules(dict(changed=False, **answer(dict(secret=None), False)))
    res = run_action(totp_action, dict(user="pbxadmin"), modules)
    assert len(modules.calls) == 2 and res["new_secret"] is True and modules.calls[1]["_plan"]["secret"] == res["secret"]


def test_totp_disabled_noop_is_one_module_run():
    modules = FakeModules(dict(changed=False, enrolled=False, **answer(dict(secret=None), True)))
    res = run_action(totp_action, dict(user="pbxadmin", state="disabled"), modules)
    assert len(modules.calls) == 1 and res["changed"] is False


def test_libcrypt_and_passlib_verify_alike(monkeypatch):
    h = admin_action.make_hash(PW)
    if admin_action._LIBCRYPT is None:
        pytest.skip("no libcrypt on this controller: passlib verifies (tested above)")
    for password, stored in ((PW, h), ("other", h), (PW, h[:-1] + ("A" if h[-1] != "A" else "B")), (PW, "$6$")):
        fast = admin_action.verifies(password, stored)
        monkeypatch.setattr(admin_action, "_LIBCRYPT", None)
        slow = admin_action.verifies(password, stored)
        monkeypatch.undo()
        assert fast == slow, (password, stored)
    assert admin_action.verifies(PW, h)


def test_decide_verifies_a_shared_hash_once(monkeypatch):
    h = admin_action.make_hash(PW)
    calls = []
    real = admin_action.verifies
    monkeypatch.setattr(admin_action, "verifies", lambda p, s: calls.append(s) or real(p, s))
    assert admin_action.decide(PW, dict(user_exists=True, shadow_hash=h, ari_hash=h), "always") == (h, h)
    assert calls == [h]
    old = admin_action.make_hash("Other-Passw0rd")
    del calls[:]
    assert admin_action.decide(PW, dict(user_exists=True, shadow_hash=old, ari_hash=old), "on_create") == (None, old)
    assert calls == [old]


# ---- admin with its totp option: account and second factor in the same module runs
def admin_probe(h, totp_secret, admin_final=True, totp_final=True, **extra):
    return dict(changed=False, summary="admin pbxadmin: ...",
                totp=dict(changed=not totp_final, enrolled=True, summary="totp pbxadmin: enabled"),
                **dict(answer(dict(user_exists=True, shadow_hash=h, ari_hash=h), admin_final,
                              totp_stored=dict(secret=totp_secret), totp_final=totp_final), **extra))


def test_admin_with_totp_noop_is_one_module_run():
    h = admin_action.make_hash(PW)
    modules = FakeModules(admin_probe(h, SECRET))
    res = run_action(admin_action, dict(username="pbxadmin", password=PW, totp=dict(issuer="PBX x")), modules)
    assert len(modules.calls) == 1 and modules.calls[0]["totp"] == dict(issuer="PBX x")
    assert res["changed"] is False and res["totp"]["new_secret"] is False
    assert not any(k.startswith("_pbxguard") for k in res) and "secret" not in res["totp"]


def test_admin_with_totp_sends_the_kept_secret_when_only_the_account_drifted():
    h = admin_action.make_hash(PW)
    modules = FakeModules(admin_probe(h, SECRET, admin_final=False),
                          real=dict(changed=True, totp=dict(changed=False, enrolled=True)))
    res = run_action(admin_action, dict(username="pbxadmin", password=PW, totp={}), modules)
    assert len(modules.calls) == 2 and modules.calls[1]["_plan"]["totp_secret"] == SECRET
    assert res["changed"] is True and res["totp"]["new_secret"] is False and "secret" not in res["totp"]
    assert not res.get("_ansible_no_log")


def test_admin_with_totp_enrols_a_new_secret_censored(tmp_path):
    h = admin_action.make_hash(PW)
    modules = FakeModules(admin_probe(h, None, totp_final=False),
                          real=dict(changed=True, totp=dict(changed=True, enrolled=True)))
    qr = tmp_path / "qr.png"
    res = run_action(admin_action, dict(username="pbxadmin", password=PW, totp=dict(qr_path=str(qr))), modules)
    sent = modules.calls[1]["_plan"]["totp_secret"]
    assert len(modules.calls) == 2 and len(sent) == 32 and res["totp"]["secret"] == sent
    assert res["totp"]["new_secret"] is True and res["_ansible_no_log"] is True and qr.exists()


def test_admin_with_totp_wrong_code_fails_after_the_probe_only():
    h = admin_action.make_hash(PW)
    wrong = "000000" if pyotp.TOTP(SECRET).now() != "000000" else "111111"
    modules = FakeModules(admin_probe(h, SECRET, admin_final=False))
    res = run_action(admin_action, dict(username="pbxadmin", password=PW, totp=dict(verify_code=wrong)), modules)
    assert res["failed"] and res["msg"].startswith("totp.verify_code: does not match") and len(modules.calls) == 1
    assert "verify_code" not in modules.calls[0]["totp"]
    res = run_action(admin_action, dict(username="pbxadmin", password=PW, totp=dict(verify_code="12a")),
                     FakeModules(admin_probe(h, SECRET)))
    assert res["failed"] and res["msg"].startswith("totp.verify_code: must be exactly 6 digits")
    res = run_action(admin_action, dict(username="pbxadmin", totp_secret=SECRET), FakeModules({}))
    assert res["failed"] and "totp_secret: an internal option of the action plugin" in res["msg"]
    for opt in ("_plan", "password_hash", "probe"):
        res = run_action(admin_action, {"username": "pbxadmin", opt: {}}, FakeModules({}))
        assert res["failed"] and res["msg"].startswith(opt + ": an internal option of the action plugin")


@pytest.mark.parametrize("password,fragment", [
    ("short", "password: "), ("alllowercase-1", "password: "), ("Str0ng Passw0rd", "password: "),
])
def test_admin_password_policy_is_the_controllers(password, fragment):
    # the password never reaches a file as text (only its hash): its policy is checked
    # here, before any module run (the fuzzing of the host side cannot see it)
    modules = FakeModules(dict(changed=False))
    res = run_action(admin_action, dict(username="pbxadmin", password=password), modules)
    assert res["failed"] and res["msg"].startswith(fragment) and modules.calls == []
    assert password not in res["msg"]


def test_admin_allow_weak_keeps_the_character_set():
    modules = FakeModules(dict(changed=True, **answer(dict(user_exists=False, shadow_hash=None, ari_hash=None),
                                                      False)))
    res = run_action(admin_action, dict(username="pbxadmin", password="weakpass", allow_weak=True), modules)
    assert not res.get("failed") and len(modules.calls) == 2
    assert admin_action.verifies("weakpass", modules.calls[1]["_plan"]["password_hash"])
    modules = FakeModules(dict(changed=True))
    res = run_action(admin_action, dict(username="pbxadmin", password="weak pass;", allow_weak=True), modules)
    assert res["failed"] and res["msg"].startswith("password: ") and modules.calls == []
