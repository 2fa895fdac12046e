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
