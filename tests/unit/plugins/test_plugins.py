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


def test_strong_secret_lookup_pins(tmp_path):
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import check_pin, trivial_pin
    lk = lookup_loader.get("pbxguard.asterisk.strong_secret")
    pins = set()
    for i in range(200):
        path = str(tmp_path / ("pin%d" % i))
        pin = lk.run([path], variables={}, kind="pin", box="1001")[0]
        check_pin(pin, "generated", "1001")
        assert trivial_pin(pin, "1001") is None and pin not in ("1001", "1001"[::-1])
        pins.add(pin)
        assert lk.run([path], variables={}, kind="pin", box="1001")[0] == pin
    assert len(pins) > 150   # random, not one fixed value
    with open(str(tmp_path / "bad"), "w") as f:
        f.write("1234\n")
    with pytest.raises(Exception, match="guessable"):
        lk.run([str(tmp_path / "bad")], variables={}, kind="pin", box="1001")
