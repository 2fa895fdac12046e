# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.pbxguard.asterisk.plugins.filter.policy_networks import FilterModule, policy_networks


def test_canonical_and_deduplicated():
    got = policy_networks(["198.18.0.0/24", "203.0.113.7", "10.0.0.0/255.0.0.0", "2001:db8::/32", "203.0.113.7/32"],
                          "fail2ban_ignoreip")
    assert got == ["198.18.0.0/24", "203.0.113.7/32", "10.0.0.0/8", "2001:db8::/32"]
    assert FilterModule().filters()["policy_networks"] is policy_networks


@pytest.mark.parametrize("value,msg", [
    (["10.0.0.0/33"], "fail2ban_ignoreip[0]: is not an IP address, IP/prefix or IP/netmask"),
    (["198.18.0.0/24", "10.0.0.1/8"], "fail2ban_ignoreip[1]: host bits set; did you mean 10.0.0.0/8?"),
    (["example.org"], "fail2ban_ignoreip[0]: is not an IP address"),
    ([7], "fail2ban_ignoreip[0]: is not an IP address"),
    (["10.0.0.0/8 1.2.3.4"], "fail2ban_ignoreip[0]: is not an IP address"),
    ("10.0.0.0/8", "fail2ban_ignoreip: must be a list of networks"),
])
def test_refused_with_option_named(value, msg):
    with pytest.raises(AnsibleFilterError) as e:
        policy_networks(value, "fail2ban_ignoreip")
    assert str(e.value).startswith(msg)
