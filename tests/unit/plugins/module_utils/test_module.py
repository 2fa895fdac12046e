# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils._module import problems_of


@pytest.mark.parametrize("params,expected", [
    ({"name": "ok", "users": [{"secret": "Abc1%defg"}]}, []),
    ({"bind_address": "127.0.0.1\x00"}, ["bind_address: contains NUL; not allowed in any value"]),
    ({"users": [{"name": "u", "read": ["sys\udcfftem"]}]},
     ["users[0].read[0]: contains a byte that is not UTF-8; not allowed in any value"]),
    ({"iax": {"rsa_key": "k\x00\udcfe"}}, ["iax.rsa_key: contains NUL; not allowed in any value",
                                           "iax.rsa_key: contains a byte that is not UTF-8; not allowed in any value"]),
    ({"_ansible_check_mode": False, "port": 5038, "enabled": True}, []),
])
def test_problems_name_the_option_and_never_the_value(params, expected):
    got = problems_of(params)
    assert got == expected
    for p in got:
        assert "Abc1" not in p and "127.0.0.1" not in p
