# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: policy_networks
short_description: Check a list of networks against the collection's policy and return them canonical
version_added: 0.1.0
description:
  - Each item must be an IP address, IP/prefix or IPv4 IP/dotted-netmask (the same rule as every
    module of the collection, C(plugins/module_utils/_policy.py)); the result is the list of
    canonical networks (C(198.18.0.0/24), C(203.0.113.7/32), C(2001:db8::/32)), duplicates dropped,
    order kept.
  - "A bad item fails the task with C(<option>[<index>]: <rule>), e.g.
    C(fail2ban_ignoreip[0]: is not an IP address, IP/prefix or IP/netmask), on the controller,
    before anything is read or written on a host."
author:
  - pbxguard.asterisk contributors (@pbxguard)
options:
  _input:
    description: The networks.
    type: list
    elements: str
    required: true
  option:
    description: The variable name used in error messages.
    type: str
    default: networks
"""

EXAMPLES = r"""
- name: Canonical ignore list, or a failure naming the variable
  ansible.builtin.set_fact:
    f2b_ignore: "{{ fail2ban_ignoreip | pbxguard.asterisk.policy_networks('fail2ban_ignoreip') }}"
"""

RETURN = r"""
_value:
  description: The canonical networks, without duplicates, in the given order.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError, parse_network


def policy_networks(value, option="networks"):
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("%s: must be a list of networks" % option)
    result = []
    for i, item in enumerate(value):
        name = "%s[%d]" % (option, i)
        if not isinstance(item, str):
            raise AnsibleFilterError("%s: is not an IP address, IP/prefix or IP/netmask" % name)
        try:
            net = parse_network(item, name)
        except PolicyError as e:
            raise AnsibleFilterError(str(e))
        if net not in result:
            result.append(net)
    return result


class FilterModule(object):
    def filters(self):
        return {"policy_networks": policy_networks}
