# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.pbxguard.asterisk.plugins.filter.policy_emails import FilterModule, policy_emails


def test_flat_and_deduplicated():
    got = policy_emails(["ops@example.org; noc@example.org", "ops@example.org", "sec@example.org"],
                        "fail2ban_alert_emails")
    assert got == ["ops@example.org", "noc@example.org", "sec@example.org"]
    assert policy_emails([]) == []
    assert FilterModule().filters()["policy_emails"] is policy_emails


@pytest.mark.parametrize("value,msg", [
    (["ops.example.org"], "fail2ban_alert_emails[0]: is not an e-mail address (local@domain.tld)"),
    (["ops@example.org", "ops@example.org\nBcc: x@evil.test"], "fail2ban_alert_emails[1]: must not contain"),
    (["ops@example.org, noc@example.org"], "fail2ban_alert_emails[0]: must not contain"),
    ([7], "fail2ban_alert_emails[0]: must be a string"),
    ("ops@example.org", "fail2ban_alert_emails: must be a list of e-mail addresses"),
])
def test_refused_with_option_named(value, msg):
    with pytest.raises(AnsibleFilterError) as e:
        policy_emails(value, "fail2ban_alert_emails")
    assert msg in str(e.value)
