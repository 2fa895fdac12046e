# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: strong
short_description: Does a value satisfy the collection's strong-secret policy?
version_added: 0.1.0
description:
  - True when the value has at least 8 characters, upper and lower case letters, a digit and one
    of C(! % * _ -), and no other characters than C(a-z A-Z 0-9 ! % * _ -).
author:
  - pbxguard.asterisk contributors (@pbxguard)
options:
  _input:
    description: The value to test.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse to deploy a weak vault value
  ansible.builtin.assert:
    that: vault_ext_1008 is pbxguard.asterisk.strong
    fail_msg: vault_ext_1008 does not meet the secret policy
    quiet: true
  no_log: true
"""

RETURN = r"""
_value:
  description: Whether the value meets the policy.
  type: bool
"""

from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import secret_problems


def strong(value):
    return isinstance(value, str) and not secret_problems(value)


class TestModule(object):
    def tests(self):
        return {"strong": strong}
