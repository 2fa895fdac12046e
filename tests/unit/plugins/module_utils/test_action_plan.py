# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one internal option _plan: its shapes, and refusals of anything else."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _action_plan as action_plan
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError

H = "$6$rounds=100000$abcdefgh$" + "A" * 86
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_absent_plan_is_every_key_left_out():
    assert action_plan.check(None, "admin") == dict(probe=False, password_hash=None, ari_password_hash=None,
                                                    totp_secret=None)
    assert action_plan.check(None, "totp") == dict(probe=False, secret=None)


def test_make_and_check_agree():
    plan = action_plan.make("admin", password_hash=H, ari_password_hash=None, totp_secret=SECRET)
    assert plan == dict(shape="pbxguard.asterisk.admin/v1", password_hash=H, totp_secret=SECRET)
    assert action_plan.check(plan, "admin") == dict(probe=False, password_hash=H, ari_password_hash=None,
                                                    totp_secret=SECRET)
    assert action_plan.check(action_plan.make("totp", probe=True), "totp")["probe"] is True


@pytest.mark.parametrize("value,kind,fragment", [
    ("x", "admin", "_plan: must be a dict"),
    ([], "totp", "_plan: must be a dict"),
    (dict(password_hash=H), "admin", "_plan.shape: must be 'pbxguard.asterisk.admin/v1'"),
    (dict(shape="pbxguard.asterisk.admin/v2"), "admin", "_plan.shape: must be"),
    (dict(shape="pbxguard.asterisk.totp/v1"), "admin", "_plan.shape: must be"),  # another module's plan
    (dict(shape="pbxguard.asterisk.admin/v1", password=H), "admin", "_plan: unknown key password (shape"),
    (dict(shape="pbxguard.asterisk.totp/v1", secret=SECRET, probe=True, x=1, y=2), "totp",
     "_plan: unknown keys x, y"),
    (dict(shape="pbxguard.asterisk.admin/v1", probe="yes"), "admin", "_plan.probe: must be true or false"),
    (dict(shape="pbxguard.asterisk.admin/v1", password_hash="$1$md5$x"), "admin",
     "_plan.password_hash: is not a SHA-512 crypt hash"),
    (dict(shape="pbxguard.asterisk.admin/v1", ari_password_hash=7), "admin", "_plan.ari_password_hash: is not"),
    (dict(shape="pbxguard.asterisk.admin/v1", totp_secret="lowercase-secret"), "admin",
     "_plan.totp_secret: is not a base32 TOTP secret"),
    (dict(shape="pbxguard.asterisk.totp/v1", secret="A" * 8), "totp", "_plan.secret: is not a base32"),
])
def test_wrong_shape_refused_naming_key_and_rule(value, kind, fragment):
    with pytest.raises(PolicyError) as e:
        action_plan.check(value, kind)
    assert fragment in str(e.value)
    assert "lowercase-secret" not in str(e.value) and "$1$md5$x" not in str(e.value)


def test_make_refuses_what_check_refuses():
    with pytest.raises(PolicyError, match="_plan.password_hash"):
        action_plan.make("admin", password_hash="$5$sha256$x")
    with pytest.raises(PolicyError, match="unknown key"):
        action_plan.make("totp", totp_secret=SECRET)


def test_shape_name_is_a_string_not_a_number():
    # the option is no_log: Ansible masks every value in it, and a number would mask its digits
    for kind in action_plan.FIELDS:
        assert isinstance(action_plan.make(kind)["shape"], str)
