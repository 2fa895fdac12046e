# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.pbxguard.asterisk.plugins.test.strong import strong, TestModule
from ansible.plugins.loader import lookup_loader
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import check_secret


@pytest.mark.parametrize("value,ok", [("Str0ng!Pass", True), ("password", False), ("", False),
                                      (12345678, False), ("Str0ng!Pass\n", False)])
def test_strong(value, ok):
    assert strong(value) is ok
    assert TestModule().tests()["strong"] is strong


def test_strong_secret_lookup_generates_once_and_keeps(tmp_path):
    lk = lookup_loader.get("pbxguard.asterisk.strong_secret")
    path = str(tmp_path / "creds" / "pbx1" / "1008")
    first = lk.run([path], variables={}, length=16)[0]
    check_secret(first, "generated")
    assert len(first) == 16
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert lk.run([path], variables={})[0] == first
    rotated = lk.run([path], variables={}, regenerate=True)[0]
    assert rotated != first and lk.run([path], variables={})[0] == rotated
