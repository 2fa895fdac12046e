# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
name: strong_secret
short_description: Generate (once) and read back a policy-compliant secret kept in a controller file
version_added: 0.1.0
description:
  - Like C(ansible.builtin.password), but every generated secret passes the collection's
    strong-secret policy (upper, lower, digit and one of C(! % * _ -); only
    C(a-z A-Z 0-9 ! % * _ -)), so it is accepted by every module of this collection.
  - The first lookup of a path generates the secret and writes it to that file on the
    controller (mode 0600, directory 0700); later lookups return the stored value.
author:
  - pbxguard.asterisk contributors (@pbxguard)
options:
  _terms:
    description: Path(s) of the credential file(s) on the controller.
    required: true
    type: list
    elements: path
  length:
    description: Length of a newly generated secret (at least 8).
    type: int
    default: 20
  regenerate:
    description: Generate a new secret even if the file exists (secret rotation).
    type: bool
    default: false
  kind:
    description:
      - V(secret) (policy-compliant secret of O(length)) or V(pin) (a voicemail PIN - exactly 4 digits,
        not guessable for mailbox O(box), as the extension module's C(pin) requires).
    type: str
    choices: [secret, pin]
    default: secret
  box:
    description: With O(kind=pin), the mailbox number (its own number, or reversed, is never generated).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: A per-host AMI secret kept in the credentials directory
  ansible.builtin.set_fact:
    ami_secret: "{{ lookup('pbxguard.asterisk.strong_secret', 'credentials/' ~ inventory_hostname ~ '-ami-monitor') }}"

- name: A voicemail PIN for box 1001, generated once
  ansible.builtin.set_fact:
    pin_1001: "{{ lookup('pbxguard.asterisk.strong_secret', 'credentials/pbx1-1001.pin', kind='pin', box='1001') }}"
"""

RETURN = r"""
_raw:
  description: The secret(s), one per term.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import (
    generate_secret, check_secret, generate_pin, check_pin, PolicyError,
)


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        length = self.get_option("length")
        regenerate = self.get_option("regenerate")
        pin, box = self.get_option("kind") == "pin", self.get_option("box")
        result = []
        for term in terms:
            path = os.path.expanduser(term)
            if not os.path.isabs(path) and self._loader is not None:
                path = os.path.join(self._loader.get_basedir(), path)
            value = None
            if os.path.exists(path) and not regenerate:
                with open(path) as f:
                    value = f.read().strip()
                try:
                    check_pin(value, path, box) if pin else check_secret(value, path)
                except PolicyError as e:
                    raise AnsibleError("stored secret does not pass the policy: %s" % to_native(e))
            else:
                try:
                    value = generate_pin(box) if pin else generate_secret(length)
                except PolicyError as e:
                    raise AnsibleError(to_native(e))
                directory = os.path.dirname(path)
                if directory and not os.path.isdir(directory):
                    os.makedirs(directory, 0o700)
                    os.chmod(directory, 0o700)
                tmp = path + ".tmp"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(value + "\n")
                os.rename(tmp, path)
            result.append(value)
        return result
