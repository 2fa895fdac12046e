#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: ami
short_description: Harden the Asterisk Manager Interface (manager.conf) and manage its users
version_added: 0.1.0
description:
  - Sets C([general]) C(enabled), C(bindaddr) and C(port) of C(manager.conf) and manages AMI
    users as sections of that file, each marked as managed by this collection.
  - Every managed user gets C(deny=0.0.0.0/0.0.0.0) and C(deny=::/0) before its permits, so a
    user without O(users[].permit) is denied from everywhere, over IPv4 and IPv6.
  - Users defined by hand in C(manager.conf) or in files it includes are left alone; naming
    such a user in O(users) is an error, never a silent duplicate.
  - Every value is validated before anything is read or written. Secrets must pass the
    strong-secret policy (at least 8 characters with upper and lower case letters, a digit
    and one of C(! % * _ -); only C(a-z A-Z 0-9 ! % * _ -)) unless O(allow_weak_secrets).
  - Applies with C(manager reload) only when the file changed, then reads the live state back
    (C(manager show settings), C(manager show user NAME)). If Asterisk did not take the file,
    the previous file is restored and reloaded, and the task fails with what Asterisk said.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Predicts exactly what a real run changes; writes nothing, reloads nothing.
  diff_mode:
    support: full
    description: Before/after text of C(manager.conf); every secret value is replaced by a tag.
  safe_file_operations:
    support: full
    description: Temp file in the same directory, then C(atomic_move).
  idempotent:
    support: full
    description: A second run with the same input reports no change and does not reload.
extends_documentation_fragment:
  - pbxguard.asterisk.asterisk_version
options:
  enabled:
    description: C([general] enabled). V(false) switches AMI off.
    type: bool
    default: true
  bind_address:
    description:
      - C([general] bindaddr), an IPv4 or IPv6 address.
      - Defaults to the loopback address, never to all addresses.
    type: str
    default: 127.0.0.1
  port:
    description: C([general] port). 1-65535; 8090 is reserved.
    type: int
    default: 5038
  users:
    description: AMI users managed by this task.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: User name (section name). Letters, digits and C(_ . @ + -) only.
        type: str
        required: true
      secret:
        description:
          - Plaintext AMI secret (Asterisk stores AMI secrets only in plaintext).
          - Required when O(users[].state=present).
        type: str
      permit:
        description:
          - Source networks allowed to log in as this user, in order. IP, IP/prefix or
            IP/netmask, IPv4 or IPv6.
          - Empty means the user is denied from everywhere.
        type: list
        elements: str
        default: []
      read:
        description:
          - Read (event) classes. Grant only what the client needs (least privilege).
          - C(command), C(originate) and C(config) are meaningful only as write classes and
            are refused here.
        type: list
        elements: str
        default: []
      write:
        description:
          - Write (action) classes.
          - C(log), C(verbose), C(dtmf), C(cdr), C(dialplan), C(cc) and C(security) are event
            streams only and are refused here.
        type: list
        elements: str
        default: []
      state:
        description: V(absent) removes a managed user of that name.
        type: str
        choices: [present, absent]
        default: present
  purge_users:
    description: Remove managed users that O(users) does not name. Hand-written users are never removed.
    type: bool
    default: false
  allow_weak_secrets:
    description:
      - The explicit "allow weak password" switch. Skips the strength rules (the allowed
        character set still applies, so nothing can be smuggled into the file).
    type: bool
    default: false
  config_file:
    description: Path of C(manager.conf).
    type: path
    default: /etc/asterisk/manager.conf
  backup:
    description: Keep a timestamped copy of the previous file (same owner and mode, 0640).
    type: bool
    default: false
notes:
  - The file is written owned C(asterisk:asterisk), mode C(0640), like Debian's own Asterisk files.
seealso:
  - name: Asterisk manager.conf sample
    description: Option reference of the Asterisk Manager Interface.
    link: https://docs.asterisk.org/Configuration/Interfaces/Asterisk-Manager-Interface-AMI/
"""

EXAMPLES = r"""
- name: AMI on loopback, one monitoring user from the LAN, one originate user
  pbxguard.asterisk.ami:
    enabled: true
    bind_address: 127.0.0.1
    port: 5038
    users:
      - name: monitor
        secret: "{{ vault_ami_monitor }}"
        permit: [198.18.0.0/24]
        read: [system, call]
        write: []
      - name: dialer
        secret: "{{ vault_ami_dialer }}"
        permit: [127.0.0.1/32, "::1/128"]
        read: [call]
        write: [originate]
      - name: olduser
        state: absent
    purge_users: false

- name: Turn AMI off entirely
  pbxguard.asterisk.ami:
    enabled: false
"""

RETURN = r"""
added:
  description: Managed users created by this run.
  returned: always
  type: list
  elements: str
  sample: [monitor]
updated:
  description: Managed users whose section changed.
  returned: always
  type: list
  elements: str
removed:
  description: Managed users removed (O(users[].state=absent) or O(purge_users)).
  returned: always
  type: list
  elements: str
reloaded:
  description: Whether C(manager reload) ran.
  returned: always
  type: bool
users:
  description:
    - Every user managed by this collection in the file after the run (also those not named
      in this task), without secrets. C(restricted) means its ACL starts with deny-all for
      IPv4 and IPv6.
  returned: always
  type: list
  elements: dict
  sample: [{name: monitor, permit: [198.18.0.0/24], read: [system, call], write: [], restricted: true}]
unmanaged_users:
  description: User sections defined by hand (left alone by this module).
  returned: always
  type: list
  elements: str
summary:
  description: One line saying what now holds.
  returned: always
  type: str
  sample: "AMI: enabled on 127.0.0.1:5038, 2 users, all restricted"
backup_file:
  description: Name of the backup copy, when O(backup) made one.
  returned: changed and backup
  type: str
asterisk_version:
  description: The Asterisk version found by O(min_asterisk_version).
  returned: when O(min_asterisk_version) is given
  type: str
  sample: 22.10.1+dfsg+~cs6.17.60671434-1
"""

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils._ami import AmiChange
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run


def main():
    run(AmiChange(), dict(
        enabled=dict(type="bool", default=True),
        bind_address=dict(type="str", default="127.0.0.1"),
        port=dict(type="int", default=5038),
        users=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            secret=dict(type="str", no_log=True),
            permit=dict(type="list", elements="str", default=[]),
            read=dict(type="list", elements="str", default=[]),
            write=dict(type="list", elements="str", default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        )),
        purge_users=dict(type="bool", default=False),
        allow_weak_secrets=dict(type="bool", default=False),
        config_file=dict(type="path", default="/etc/asterisk/manager.conf"),
        backup=dict(type="bool", default=False),
        min_asterisk_version=dict(type="int"),
    ))


if __name__ == "__main__":
    main()
