#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: admin
short_description: The PBX administrator account (login, allowed networks, e-mails, SSH keys, ARI user)
version_added: 0.1.0
description:
  - Manages one administrator login account on the Asterisk host and everything that belongs to
    it, like the administrator page of a commercial PBX.
  - The password exists on the host only as a SHA-512 crypt hash, in C(/etc/shadow) and, with
    O(api_access), in C(ari.conf) (C(password_format=crypt)). The hash is computed on the
    controller by this module's action plugin (libpass), so managed hosts need only Python itself.
  - Idempotence by verifying the given password against the stored hash on the controller (never
    by rehashing with a fixed salt); the hash is never returned or printed.
  - The password must pass the strong-secret policy (at least 8 characters with upper and lower
    case letters, a digit and one of C(! % * _ -); only C(a-z A-Z 0-9 ! % * _ -)) unless
    O(allow_weak).
  - O(allowed_networks) becomes an sshd drop-in (C(Match User ... Address) with C(DenyUsers))
    validated with C(sshd -t) before C(systemctl reload ssh); the effective configuration is read
    back with C(sshd -T -C). A change that would exclude the controller's own address (from
    C(SSH_CONNECTION)) is refused unless O(force).
  - O(allowed_networks) also becomes the ARI user's own ACL (C(deny=0.0.0.0/0), C(deny=::/0),
    then one C(permit) per network), so the API refuses the user from elsewhere; other ARI users
    and the nftables table of the web access module are left alone.
  - Every option is validated before anything is read or written.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Predicts every change (user, password, networks, keys, ARI); writes nothing, reloads nothing.
  diff_mode:
    support: full
    description:
      - Every file changed (C(ari.conf)'s password masked), then a structured before/after of the
        account (networks, e-mails, API access, key fingerprints, password changed or not); never a hash.
  safe_file_operations:
    support: full
    description:
      - Files are written to a temp file in the same directory, then C(atomic_move); the password through C(chpasswd -e).
      - When sshd or Asterisk refuses the result (C(sshd -t), a reload, C(sshd -T) or C(ari show users)
        read back), every file written is put back, ssh and Asterisk reloaded, a replaced password
        hash set back and an account created in that run removed again (C(userdel -r), or without
        C(-r) when its home directory was there before).
  idempotent:
    support: full
    description: A second run with the same input reports no change, keeps the stored hash and reloads nothing.
options:
  username:
    description:
      - Login name. Case-sensitive. Letters, digits and C(_ . -), starting with a letter or C(_);
        no C(@) (sshd reads C(user@host) as a host pattern). Not C(root).
    type: str
    default: admin
  password:
    description:
      - The administrator password. Hashed on the controller (SHA-512 crypt) by the action plugin;
        only the hash reaches the host.
      - Required to create the ARI user (O(api_access)). Without it a new account has a locked
        password (key login only).
    type: str
  password_update:
    description: V(always) sets the password when it does not verify against the stored hash; V(on_create) only for a new account.
    type: str
    choices: [always, on_create]
    default: always
  allow_weak:
    description: The explicit "allow weak password" switch (the character set still applies).
    type: bool
    default: false
  allowed_networks:
    description:
      - Source networks the account may log in from over SSH (IP, IP/prefix or IP/netmask, IPv4 or
        IPv6). Empty means every address.
    type: list
    elements: str
    default: []
  force:
    description: Apply O(allowed_networks) even when they exclude the controller's own address.
    type: bool
    default: false
  adopt_existing:
    description:
      - Manage an account that exists already although this module did not create it (no
        C(PBX administrator (pbxguard)) GECOS field, no C(/etc/pbxguard/admin/USERNAME.json)), or
        a system account (uid outside C(UID_MIN) .. C(UID_MAX) of C(/etc/login.defs), by default
        1000 .. 60000).
      - Without it such an account is refused before anything changes. An adopted regular account
        counts as managed afterwards (its profile file); a system account needs this option on
        every run.
    type: bool
    default: false
    version_added: 0.2.0
  emails:
    description:
      - E-mail addresses of the administrator (notifications). A list, or one string with
        addresses separated by C(;).
      - Kept in C(/etc/pbxguard/admin/USERNAME.json) on the host.
    type: list
    elements: str
    default: []
  api_access:
    description:
      - V(true) creates an ARI user of the same name with the password's crypt hash, enables ARI
        (C(ari.conf) C([general] enabled)) and Asterisk's HTTP server (C(http.conf)), so the
        administrator can use the REST interface with Basic auth.
      - V(false) removes that ARI user (only one this module created).
    type: bool
    default: false
  api_bind_address:
    description:
      - When set, C(http.conf) C([general] bindaddr) (the address ARI listens on). Left as it is otherwise.
      - Checked by the port plan of the collection before anything is written, as the other modules'
        listeners are - an address of this host (C(ip addr)), no clash with another listener on the port
        (such as M(pbxguard.asterisk.web)'s HTTPS on the same port).
      - When the HTTP server serves only https (C(tlsenable) on and no plain C(bindaddr), as
        M(pbxguard.asterisk.web) writes it for V(https)), no plain listener is added; the value must
        then be the address of the TLS listener (C(tlsbindaddr)), else the task fails before any change.
    type: str
  ssh_keys:
    description: Public keys of the administrator in C(~USERNAME/.ssh/authorized_keys).
    type: dict
    default: {}
    suboptions:
      present:
        description: Key lines C(TYPE BASE64 [COMMENT]) that must be authorized.
        type: list
        elements: str
        default: []
      exclusive:
        description: Revoke every key not listed in O(ssh_keys.present).
        type: bool
        default: false
  shell:
    description: Login shell of a new account.
    type: path
    default: /bin/bash
  ari_config_file:
    description: Path of C(ari.conf). An absolute path without C(.) or C(..) components.
    type: path
    default: /etc/asterisk/ari.conf
  http_config_file:
    description: Path of C(http.conf). An absolute path without C(.) or C(..) components.
    type: path
    default: /etc/asterisk/http.conf
  sshd_dropin_dir:
    description:
      - sshd's drop-in directory; the file is C(pbxguard-admin-USERNAME.conf). An absolute path without
        C(.) or C(..) components, one that C(sshd_config) includes (else the run is refused).
    type: path
    default: /etc/ssh/sshd_config.d
  totp:
    description:
      - The administrator's second factor (TOTP per RFC 6238 - SHA1, 6 digits, 30 s), managed in the same
        module runs as the account, exactly as M(pbxguard.asterisk.totp) does it for this user (see
        there for what is written on the host and on the controller).
      - Omitted, the second factor is left as it is.
    type: dict
    suboptions:
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
        description: Controller path of a QR code PNG of the otpauth URI (mode 0600), written when the secret is new or the file is missing.
        type: path
      secret_path:
        description: Controller path (mode 0600) where a new secret is kept until O(totp.verify_code) confirms it.
        type: path
      verify_code:
        description: A 6-digit code from the app; enabling first checks it against the secret.
        type: str
  _plan:
    description:
      - Internal, set by the action plugin; never set it in a task. One dict of shape
        C(pbxguard.asterisk.admin/v1) (checked by C(module_utils/_action_plan.py)) with
        C(password_hash) and C(ari_password_hash) (the SHA-512 crypt hashes to store),
        C(totp_secret) (the base32 TOTP secret) and C(probe) (validate, read the stored hashes for
        the controller-side verification and plan with them, changing nothing).
      - When the password verifies against the stored hashes and the probe's plan changes nothing,
        the probe's result is the task's result, so a run with nothing to do is one module
        execution.
    type: dict
notes:
  - Runs through the action plugin of the same name (it hashes on the controller); libpass (or
    passlib) must be installed on the controller.
  - C(ari.conf) and C(http.conf) are written owned C(asterisk:asterisk), mode C(0640).
  - With O(totp) and a new secret, the result carries RV(totp.secret) and RV(totp.otpauth_uri) for
    C(register) and the whole result is then marked C(no_log) (so that run shows no diff either).
    pyotp (and segno for O(totp.qr_path)) must be installed on the controller.
seealso:
  - module: pbxguard.asterisk.totp
  - name: Asterisk ARI configuration
    description: ari.conf and http.conf of the Asterisk REST Interface.
    link: https://docs.asterisk.org/Configuration/Interfaces/Asterisk-REST-Interface-ARI/
"""

EXAMPLES = r"""
- name: The administrator account
  pbxguard.asterisk.admin:
    username: pbxadmin
    password: "{{ vault_admin_pw }}"
    password_update: always
    allowed_networks: [198.18.0.0/24, 203.0.113.7/255.255.255.255]
    emails: "ops@example.org;noc@example.org"
    api_access: true
    ssh_keys:
      present: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ4b3rL8mZ4sQf4nq5qkq1q3bqv0y3Q6rQx9cR8bq7n laptop"]
      exclusive: true
  register: admin

- name: Show the administrator's keys (the "used tokens" table)
  ansible.builtin.debug:
    msg: "{{ admin.ssh_keys | map(attribute='fingerprint') | list }}"
"""

RETURN = r"""
totp:
  description: The second factor, with O(totp) (the same keys as the result of M(pbxguard.asterisk.totp)).
  returned: when O(totp) is given
  type: dict
  contains:
    changed:
      description: Whether the second factor changed.
      type: bool
    enrolled:
      description: Whether the user has the second factor after the run.
      type: bool
    new_secret:
      description: Whether a new secret was generated in this run.
      type: bool
    secret:
      description: The base32 secret. Only when the secret is new; the whole result is then marked no_log.
      type: str
      returned: when new_secret
    otpauth_uri:
      description: The otpauth URI (contains the secret). Only when the secret is new; the result is then marked no_log.
      type: str
      returned: when new_secret
    qr_path:
      description: Controller path of the QR code PNG, when written in this run.
      type: str
      returned: when written
    authentication_methods:
      description: The sshd C(AuthenticationMethods) of the user.
      type: str
      returned: when enrolled
    sshd_reloaded:
      description: Whether ssh was reloaded for the second factor.
      type: bool
    summary:
      description: One line saying what now holds.
      type: str
user_created:
  description: Whether the account was created by this run.
  returned: always
  type: bool
password_changed:
  description: Whether the stored password hash was replaced (the hash itself is never returned).
  returned: always
  type: bool
allowed_networks:
  description: Networks the account may log in from over SSH (empty = every address).
  returned: always
  type: list
  elements: str
emails:
  description: The administrator's e-mail addresses.
  returned: always
  type: list
  elements: str
api_access:
  description: Whether an ARI user of this name exists after the run.
  returned: always
  type: bool
ari_user:
  description: What happened to the ARI user (V(added), V(updated), V(removed)) or null.
  returned: always
  type: str
ssh_keys:
  description: Authorized keys of the account after the run.
  returned: always
  type: list
  elements: dict
  sample: [{type: ssh-ed25519, fingerprint: "SHA256:Jv1Xc0a...", comment: laptop}]
ssh_keys_added:
  description: Fingerprints of keys added.
  returned: always
  type: list
  elements: str
ssh_keys_removed:
  description: Fingerprints of keys revoked.
  returned: always
  type: list
  elements: str
sshd_reloaded:
  description: Whether ssh was reloaded.
  returned: always
  type: bool
asterisk_reloaded:
  description: Whether res_ari (and http) were reloaded.
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

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _admin as admin
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _totp as totp
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run


def main():
    run(admin.AdminChange(), dict(
        username=dict(type="str", default="admin"),
        password=dict(type="str", no_log=True),
        password_update=dict(type="str", no_log=False, choices=["always", "on_create"], default="always"),
        allow_weak=dict(type="bool", default=False),
        allowed_networks=dict(type="list", elements="str", default=[]),
        force=dict(type="bool", default=False),
        adopt_existing=dict(type="bool", default=False),
        emails=dict(type="list", elements="str", default=[]),
        api_access=dict(type="bool", default=False),
        api_bind_address=dict(type="str"),
        ssh_keys=dict(type="dict", default={}, no_log=False, options=dict(
            present=dict(type="list", elements="str", default=[], no_log=False),
            exclusive=dict(type="bool", default=False),
        )),
        shell=dict(type="path", default="/bin/bash"),
        ari_config_file=dict(type="path", default="/etc/asterisk/ari.conf"),
        http_config_file=dict(type="path", default="/etc/asterisk/http.conf"),
        sshd_dropin_dir=dict(type="path", default="/etc/ssh/sshd_config.d"),
        totp=dict(type="dict", options=totp.option_spec()),
        _plan=dict(type="dict", no_log=True),
    ))


if __name__ == "__main__":
    main()
