# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: policy_emails
short_description: Check a list of e-mail addresses against the collection's policy
version_added: 0.1.0
description:
  - Each item is one address or several separated by C(;) (as O(pbxguard.asterisk.admin#module:emails)
    takes them); each address must be a plain C(local@domain.tld) (the same rule as every module of the
    collection, C(plugins/module_utils/_policy.py)). The result is the flat list of addresses,
    duplicates dropped, order kept.
  - "A bad item fails the task with C(<option>[<index>]: <rule>), e.g.
    C(fail2ban_alert_emails[0]: is not an e-mail address (local@domain.tld)), on the controller,
    before anything is read or written on a host."
author:
  - pbxguard.asterisk contributors (@pbxguard)
options:
  _input:
    description: The addresses.
    type: list
    elements: str
    required: true
  option:
    description: The variable name used in error messages.
    type: str
    default: emails
"""

EXAMPLES = r"""
- name: Alert addresses, or a failure naming the variable
  ansible.builtin.set_fact:
    f2b_alert_to: "{{ fail2ban_alert_emails | pbxguard.asterisk.policy_emails('fail2ban_alert_emails') }}"
"""

RETURN = r"""
_value:
  description: The addresses, without duplicates, in the given order.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
from ansible_collections.pbxguard.asterisk.plugins.module_utils._admin import split_emails


def policy_emails(value, option="emails"):
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("%s: must be a list of e-mail addresses" % option)
    try:
        return split_emails(list(value), option)
    except PolicyError as e:
        raise AnsibleFilterError(str(e))


class FilterModule(object):
    def filters(self):
        return {"policy_emails": policy_emails}
