#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: samples
short_description: Remove the sample accounts Debian's Asterisk configuration ships, and only those
version_added: 0.2.0
description:
  - Debian's C(asterisk-config) installs Asterisk's sample configuration as C(/etc/asterisk). Two of
    its files define accounts that are live on a fresh host - the IAX user C([guest]) without secret or
    keys (anyone may call into its context C(public)) and the voicemail boxes C(1234@default) (PIN 4242)
    and C(1234@other) (PIN 5678) with the alias C(1234@devices) - which the audit reports as
    C(IAX-NO-AUTH) and C(VM-TRIVIAL-PIN).
  - With O(state=absent) each of them is removed only when its lines are byte for byte the ones Debian
    ships (header and every non-comment line, spacing and line endings included). One changed byte (a
    PIN changed from the phone, a secret added, a comment at the end of a line, CRLF line endings, a
    C([guest](+)) in an included file) makes it a hand edit, which is kept and listed in RV(kept).
    Comments, blank lines and context headers stay.
  - Every other uncommented account of Debian's sample set was checked and is not live - C(users.conf)
    holds only C([general]) defaults, the sample connections of C(res_odbc.conf) are C(enabled => no) -
    so nothing else is touched.
  - The change goes through the collection's transaction - masked diff, check mode that writes
    nothing, atomic writes, C(iax2 reload) / C(voicemail reload) only for the file that changed, and
    C(iax2 show users) / C(voicemail show users) read back; if a removed object is still loaded, both
    files are put back and reloaded and the task fails.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Predicts exactly what would be removed; writes and reloads nothing.
  diff_mode:
    support: full
    description: Before/after of each changed file, voicemail PINs masked.
  safe_file_operations:
    support: full
    description: Temp file in the same directory, then C(atomic_move); files restored on any failure.
  idempotent:
    support: full
    description: A second run finds nothing left to remove.
options:
  state:
    description:
      - V(absent) removes the byte-exact samples; V(present) changes nothing and lists them in RV(present).
    type: str
    choices: [absent, present]
    default: absent
  asterisk_dir:
    description: Asterisk configuration directory (C(iax.conf) and C(voicemail.conf) in it).
    type: path
    default: /etc/asterisk
  backup:
    description: Keep a timestamped copy of each changed file.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Remove Debian's sample IAX guest and sample mailboxes (hand edits are kept)
  pbxguard.asterisk.samples:
    state: absent
  register: samples

- name: Say what was kept
  ansible.builtin.debug:
    var: samples.kept
"""

RETURN = r"""
removed:
  description: Sample objects removed (in check mode, to be removed).
  returned: always
  type: list
  elements: str
  sample: ["/etc/asterisk/iax.conf [guest]", "1234@default", "1234@devices (alias in [myaliases])", "1234@other"]
kept:
  description: Objects with a sample's name that differ from Debian's sample (hand edits), never removed.
  returned: always
  type: list
  elements: str
  sample: ["1234@default (/etc/asterisk/voicemail.conf:536): differs from Debian's sample (edited by hand)"]
present:
  description: With O(state=present), the byte-exact samples still on the host.
  returned: when O(state=present)
  type: list
  elements: str
reloaded:
  description: Asterisk modules reloaded (V(iax), V(voicemail)).
  returned: always
  type: list
  elements: str
summary:
  description: One line saying what now holds.
  returned: always
  type: str
"""

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils._samples import SamplesChange
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run


def main():
    run(SamplesChange(), dict(
        state=dict(type="str", default="absent", choices=["absent", "present"]),
        asterisk_dir=dict(type="path", default="/etc/asterisk"),
        backup=dict(type="bool", default=False),
    ))


if __name__ == "__main__":
    main()
