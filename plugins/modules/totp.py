#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: totp
short_description: TOTP two-factor SSH login (authenticator app) for one user
version_added: 0.1.0
description:
  - Enrols a user for TOTP (RFC 6238, SHA1, 6 digits, 30 s) with C(pam_google_authenticator) for
    sshd, like the authenticator-app 2FA of a commercial PBX.
  - The secret is generated once on the controller (pyotp, 160 bits) by the action plugin and
    kept; later runs read it back from the host's C(~USER/.google_authenticator) (or from
    O(secret_path) on the controller), so the task is idempotent.
  - On the host, C(~USER/.google_authenticator) (owner the user, mode 0400) carries the secret and
    C(RATE_LIMIT 3 30), C(WINDOW_SIZE 3), C(DISALLOW_REUSE), C(TOTP_AUTH);
    C(/etc/pam.d/sshd) gets C(auth required pam_google_authenticator.so nullok) at the top of its
    auth stack (C(nullok) so users without a file, and the controller's own key session, are
    never locked out); an sshd drop-in C(pbxguard-totp-USER.conf) enables keyboard-interactive and
    sets the user's C(AuthenticationMethods), validated with C(sshd -t) before C(systemctl reload ssh).
  - With O(verify_code) nothing is written on the host until the code verifies against the
    secret; for a secret made in that very run the task stops after writing O(secret_path) and
    O(qr_path) on the controller (enrolment pending) and asks for a code from the app.
  - O(state=disabled) removes the second factor of this user only.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Predicts the change; writes nothing on the host nor on the controller.
  diff_mode:
    support: full
    description: The secret file, C(/etc/pam.d/sshd) and the drop-in; the secret itself is masked.
  safe_file_operations:
    support: full
    description:
      - Temp file in the same directory, then C(atomic_move).
      - When sshd refuses the result (C(sshd -t), the reload, or C(sshd -T) read back), every file
        written is put back (the secret file, PAM and the drop-in) and ssh reloaded.
  idempotent:
    support: full
    description: The secret is read back and kept; a second run changes nothing and reloads nothing.
options:
  user:
    description:
      - The login user (it must exist, e.g. made by M(pbxguard.asterisk.admin)).
      - Not a system account (uid outside C(UID_MIN) .. C(UID_MAX) of C(/etc/login.defs)) for
        O(state=enabled); its home is a system directory.
    type: str
    required: true
  state:
    description: V(enabled) requires the code at SSH login; V(disabled) removes it for this user.
    type: str
    choices: [enabled, disabled]
    default: enabled
  issuer:
    description: Issuer shown by the authenticator app.
    type: str
    default: PBX
  methods:
    description:
      - V(publickey_or_password) - a key and then password plus code, or password plus code.
      - V(password) - password plus code only (keys alone are refused for this user).
    type: str
    choices: [publickey_or_password, password]
    default: publickey_or_password
  qr_path:
    description:
      - Controller path of a QR code PNG of the otpauth URI (mode 0600), written when the secret is
        new or the file is missing. Relative paths are relative to the playbook directory.
    type: path
  secret_path:
    description:
      - Controller path (mode 0600) where a new secret is kept, so enrolment can be completed with
        O(verify_code) before anything is enforced on the host.
    type: path
  verify_code:
    description: A 6-digit code from the app; enabling first checks it against the secret.
    type: str
  _plan:
    description:
      - Internal, set by the action plugin; never set it in a task. One dict of shape
        C(pbxguard.asterisk.totp/v1) (checked by C(module_utils/_action_plan.py)) with C(secret),
        the base32 secret to enrol, and C(probe), read the enrolled secret back and plan with it,
        changing nothing. When keeping that secret changes nothing, the probe's result is the
        task's result, so a run with nothing to do is one module execution.
    type: dict
notes:
  - Runs through the action plugin of the same name; pyotp (and segno for O(qr_path)) must be
    installed on the controller. The host needs C(libpam-google-authenticator).
  - When the secret is new, the result carries C(otpauth_uri) and C(secret) for C(register), and
    the whole result is then marked C(no_log) so no callback prints it, at any verbosity. Still put
    C(no_log) on the task if the registered value is used in later output.
seealso:
  - module: pbxguard.asterisk.admin
"""

EXAMPLES = r"""
- name: Two-factor SSH login for the administrator
  pbxguard.asterisk.totp:
    user: pbxadmin
    state: enabled
    issuer: "PBX {{ inventory_hostname }}"
    qr_path: "credentials/{{ inventory_hostname }}-pbxadmin.png"
  register: totp
  no_log: true

- name: Enrol only after the phone showed a valid code
  pbxguard.asterisk.totp:
    user: pbxadmin
    secret_path: "credentials/{{ inventory_hostname }}-pbxadmin.totp"
    qr_path: "credentials/{{ inventory_hostname }}-pbxadmin.png"
    verify_code: "{{ code | default(omit) }}"
"""

RETURN = r"""
enrolled:
  description: Whether the user has the second factor after the run.
  returned: always
  type: bool
new_secret:
  description: Whether a new secret was generated in this run.
  returned: always
  type: bool
otpauth_uri:
  description: The otpauth URI (contains the secret). Only when the secret is new; the result is then marked no_log.
  returned: when new_secret
  type: str
secret:
  description: The base32 secret. Only when the secret is new; the result is then marked no_log.
  returned: when new_secret
  type: str
qr_path:
  description: Controller path of the QR code PNG, when written in this run.
  returned: when written
  type: str
authentication_methods:
  description: The sshd C(AuthenticationMethods) of the user.
  returned: when enrolled
  type: str
sshd_reloaded:
  description: Whether ssh was reloaded.
  returned: always
  type: bool
summary:
  description: One line saying what now holds.
  returned: always
  type: str
"""

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _totp as totp
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run


def main():
    run(totp.TotpChange(), dict(
        user=dict(type="str", required=True),
        _plan=dict(type="dict", no_log=True),
        **totp.option_spec()
    ))


if __name__ == "__main__":
    main()
