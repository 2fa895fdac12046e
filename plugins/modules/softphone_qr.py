#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: softphone_qr
short_description: A softphone provisioning QR code per extension, on the controller
version_added: 0.2.0
description:
  - Writes one PNG per extension, C(DEST_DIR/NUMBER.png), mode 0600 (a missing O(dest_dir) is created 0700).
    Runs on the controller only (an action plugin); the managed host is not contacted.
  - "O(format=grandstream_wave): the account XML that Grandstream Wave (Android, iOS) imports with
    I(Add account, UCM account - Scan QR code): C(<AccountConfig version=\"1\"><Account>) with
    C(RegisterServer) (O(server):O(port)), C(UserID), C(AuthID), C(AuthPass), C(AccountName), C(DisplayName),
    C(Voicemail). Element names as in the FreePBX generator for Wave's UCM QR import
    (github.com/lamin69/Grandstream-Gs-Wave-QR-Generator-for-Freepbx-). The format has no transport: Wave
    registers over UDP to RegisterServer."
  - Not offered, and why. Linphone's QR code carries only the URL of a remote-provisioning XML file, so the
    secret would have to be served over HTTP; Zoiper's QR code is a URL of zoiper.com's OEM service with the
    password in its query, so the secret would go to a third party.
  - The secret appears only inside the PNG. The result names the files (RV(files)); it never contains the
    payload or the secret. A file whose bytes and mode are already right is left alone (the same payload
    gives the same PNG), so a second run reports no change.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Says which files would be written; writes nothing.
  diff_mode:
    support: none
    description: No diff (it would show the secret).
  idempotent:
    support: full
    description: Unchanged files (bytes and mode 0600) are not written again.
options:
  extensions:
    description:
      - The accounts. The extension module's own list can be given as it is - the options a QR code does not need
        (C(pin), C(email), C(permit), C(iax), C(context), C(secret_update), C(pin_update)) are ignored; any other
        unknown option is an error.
    type: list
    elements: dict
    required: true
    suboptions:
      number:
        description: Extension number (1-15 digits); also the file name and C(AccountName).
        type: str
        required: true
      secret:
        description: Its SIP secret (strong-secret policy, as the extension module requires).
        type: str
        required: true
      name:
        description: Display name (default the number).
        type: str
      username:
        description: SIP user name (default the number).
        type: str
      authname:
        description: Authentication name (default the user name).
        type: str
      auth_user:
        description: When set, the authentication name instead of O(extensions[].authname) (as in the extension module).
        type: str
      state:
        description: V(absent) - no QR code for this entry (the list can be the extension module's).
        type: str
        choices: [present, absent]
        default: present
  server:
    description: The host name or address the softphone registers with (as the phone reaches the PBX).
    type: str
    required: true
  port:
    description: Its SIP port.
    type: int
    default: 5060
  voicemail:
    description: The number the app dials for voicemail (digits, C(*), C(#)).
    type: str
  format:
    description: The provisioning format.
    type: str
    choices: [grandstream_wave]
    default: grandstream_wave
  dest_dir:
    description: Controller directory for the PNG files.
    type: path
    required: true
requirements:
  - segno (on the controller)
notes:
  - Set C(no_log) on the task when its arguments (the secrets) could be logged by a callback.
"""

EXAMPLES = r"""
- name: A QR code per extension for Grandstream Wave
  pbxguard.asterisk.softphone_qr:
    server: 198.18.10.11
    dest_dir: "{{ playbook_dir }}/../.cache/softphone-qr"
    voicemail: "*97"
    extensions:
      - number: "1001"
        name: Front Desk
        secret: "{{ lookup('pbxguard.asterisk.strong_secret', 'credentials/pbx1-1001') }}"
  delegate_to: localhost
"""

RETURN = r"""
files:
  description: Extension number -> PNG path on the controller.
  returned: always
  type: dict
  sample: {"1001": /home/ops/.cache/softphone-qr/1001.png}
written:
  description: Extension numbers whose PNG was (in check mode, would be) written.
  returned: always
  type: list
  elements: str
format:
  description: The format used.
  returned: always
  type: str
summary:
  description: One line saying where the files are.
  returned: always
  type: str
msg:
  description: Where the files are (never what is in them); RV(summary) says the same.
  returned: always
  type: str
"""
