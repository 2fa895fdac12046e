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
    description: A structured before/after (networks, e-mails, API access, key fingerprints, password changed or not); never a hash.
  safe_file_operations:
    support: full
    description: Files are written to a temp file in the same directory, then C(atomic_move); the password through C(chpasswd -e).
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
    description: When set, C(http.conf) C([general] bindaddr) (the address ARI listens on). Left as it is otherwise.
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
    description: Path of C(ari.conf).
    type: path
    default: /etc/asterisk/ari.conf
  http_config_file:
    description: Path of C(http.conf).
    type: path
    default: /etc/asterisk/http.conf
  sshd_dropin_dir:
    description: sshd's drop-in directory; the file is C(pbxguard-admin-USERNAME.conf).
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
  totp_secret:
    description: Internal, set by the action plugin (the base32 TOTP secret). Never set it in a task.
    type: str
  password_hash:
    description:
      - Internal, set by the action plugin. The SHA-512 crypt hash to store. Never set it in a task.
    type: str
  ari_password_hash:
    description:
      - Internal, set by the action plugin. The crypt hash for the ARI user. Never set it in a task.
    type: str
  probe:
    description:
      - Internal, set by the action plugin. Validate, read the stored hashes for the
        controller-side verification and plan with them; changes nothing. When the password
        verifies against the stored hashes and that plan changes nothing, the probe's result is the
        task's result, so a run with nothing to do is one module execution.
    type: bool
    default: false
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

import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pbxguard.asterisk.plugins.module_utils._module import refuse_bad_bytes

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _admin as admin
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _files as files
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sshd as sshd
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _totp as totp
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import (
    run_cli, AsteriskCliError,
)

SHADOW = "/etc/shadow"
PROFILE_DIR = "/etc/pbxguard/admin"


def _user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _ari_users(module):
    out = run_cli(module, "ari show users", wait_for_command=True)
    names = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("Yes", "No"):
            names.append(parts[-1])
    return names


def _describe(state):
    return "\n".join("%s: %s" % (k, state[k]) for k in sorted(state)) + "\n"


def _summary(user, want, final_keys, api_access):
    nets = ", ".join(want["allowed_networks"]) or "every address"
    return "admin %s: SSH from %s, %d key%s, API %s, %d e-mail%s" % (
        user, nets, len(final_keys), "" if len(final_keys) == 1 else "s",
        "on (ARI user)" if api_access else "off", len(want["emails"]),
        "" if len(want["emails"]) == 1 else "s")


def main():
    refuse_bad_bytes()
    module = AnsibleModule(
        argument_spec=dict(
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
            totp_secret=dict(type="str", no_log=True),
            password_hash=dict(type="str", no_log=True),
            ari_password_hash=dict(type="str", no_log=True),
            probe=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["password"] is not None:
        module.fail_json(msg="password: is hashed on the controller by the action plugin of "
                             "pbxguard.asterisk.admin; it is never sent to the host")
    try:
        want = admin.validate(p)
        admin.check_takeover(want["username"], p["adopt_existing"], PROFILE_DIR)
    except PolicyError as e:
        module.fail_json(msg=str(e))
    user = want["username"]
    ari_path = p["ari_config_file"]
    http_path = p["http_config_file"]
    two = p["totp"]
    if p["totp_secret"] is not None:
        try:
            totp.check_secret(p["totp_secret"], "totp_secret")
        except PolicyError as e:
            module.fail_json(msg=str(e))
    # the second factor's probe (read-only) before the account's: the action plugin plans both
    probe_extra = {}
    if two is not None and p["probe"]:
        t_result, t_stored, t_final = totp.apply(module, user, two["state"], two["methods"], None, True,
                                                 prefix="totp: ", created_in_run=True)
        probe_extra = dict(totp=t_result, _pbxguard_totp_stored=t_stored, _pbxguard_totp_final=t_final)

    with files.HostLock():
        pw = _user(user)
        shadow = files.read_bytes(SHADOW)
        cur_hash = admin.shadow_hash(shadow, user)
        ari_old = files.read_bytes(ari_path)
        stored_ari = admin.ari_hash_of(ari_old, user)
        stored = dict(user_exists=pw is not None, shadow_hash=cur_hash, ari_hash=stored_ari)

        def refuse(msg, **extra):
            # a probe never fails on the plan: the action plugin then runs the module for real
            if p["probe"]:
                module.exit_json(changed=False, _pbxguard_stored=stored, _pbxguard_final=False, **probe_extra)
            module.fail_json(msg=msg, **extra)

        conn = sshd.controller_address()
        if conn and not p["force"] and not sshd.address_allowed(conn[0], want["allowed_networks"]):
            refuse("allowed_networks: would exclude the controller's own address %s "
                   "(SSH_CONNECTION); add it or set force=true" % conn[0])

        result = dict(changed=False, user_created=pw is None, password_changed=False,
                      sshd_reloaded=False, asterisk_reloaded=False, ari_user=None)
        # a probe plans with the stored hashes (read-only): if that changes nothing and the
        # controller's password verifies against them, the probe's result is the task's result
        new_hash = cur_hash if p["probe"] else p["password_hash"]
        if pw is not None and p["password_update"] == "on_create":
            new_hash = None
        password_changed = bool(new_hash) and new_hash != cur_hash
        home = pw.pw_dir if pw else os.path.join("/home", user)

        # ---- plan every file
        dropin = os.path.join(p["sshd_dropin_dir"], "pbxguard-admin-%s.conf" % user)
        dropin_old = files.read_bytes(dropin)
        dropin_new = admin.render_sshd(user, want["allowed_networks"])

        keys_path = os.path.join(home, ".ssh", "authorized_keys")
        keys_old = files.read_bytes(keys_path) if pw else None
        keys_new, added, removed, final_keys = admin.plan_keys(keys_old, want["keys"], want["exclusive"])

        profile = os.path.join(PROFILE_DIR, "%s.json" % user)
        profile_old = files.read_bytes(profile)
        profile_new = admin.render_profile(user, want["emails"])

        ari_hash = (None if p["probe"] else p["ari_password_hash"]) or stored_ari
        if p["api_access"] and not ari_hash:
            refuse("password: required for api_access (the ARI user needs a password)")
        try:
            ari_new, ari_action = admin.plan_ari(ari_old, ari_path, user, p["api_access"], ari_hash,
                                                 want["allowed_networks"])
        except PolicyError as e:
            refuse(str(e))
        http_old = files.read_bytes(http_path)
        http_new = admin.plan_http(http_old, http_path, want.get("api_bind_address")) if p["api_access"] else http_old

        changes = dict(
            user=pw is None, password=password_changed, sshd=dropin_new != dropin_old,
            keys=keys_new != keys_old, profile=profile_new != profile_old,
            ari=ari_new != (ari_old or b""), http=http_new != http_old)
        changed = any(changes.values())
        old_keys = [k["fingerprint"] for _r, k in admin.parse_authorized_keys(keys_old) if k]
        result.update(
            changed=changed, user_created=pw is None, password_changed=password_changed,
            allowed_networks=want["allowed_networks"], emails=want["emails"],
            api_access=p["api_access"], ari_user=ari_action if changes["ari"] else None,
            ssh_keys=final_keys, ssh_keys_added=added, ssh_keys_removed=removed)
        if module._diff and changed:
            before = dict(exists=pw is not None,
                          allowed_networks=admin.networks_of_dropin(dropin_old, user),
                          emails=admin.emails_of_profile(profile_old), ssh_keys=old_keys,
                          ari_user=admin.ari_hash_of(ari_old, user) is not None,
                          password="(stored hash)" if cur_hash else "(none)")
            after = dict(exists=True, allowed_networks=want["allowed_networks"], emails=want["emails"],
                         ssh_keys=[k["fingerprint"] for k in final_keys], ari_user=p["api_access"],
                         password="(new hash)" if password_changed else "(stored hash)")
            result["diff"] = dict(before_header="admin %s" % user, after_header="admin %s" % user,
                                  before=_describe(before), after=_describe(after))
        result["summary"] = _summary(user, want, final_keys, p["api_access"])
        if p["probe"]:
            if probe_extra:
                result["changed"] = changed or probe_extra["totp"]["changed"]
                result["summary"] += "; " + probe_extra["totp"]["summary"]
            module.exit_json(_pbxguard_stored=stored, _pbxguard_final=not changed, **dict(result, **probe_extra))

        if changed and not module.check_mode:
            try:
                if pw is None:
                    rc, out, err = module.run_command(
                        ["useradd", "-m", "-U", "-s", p["shell"], "-c", admin.ACCOUNT_GECOS, user])
                    if rc != 0:
                        module.fail_json(msg="useradd %s failed: %s" % (user, (out + err).strip()), **result)
                    pw = _user(user)
                if password_changed:
                    rc, out, err = module.run_command(["chpasswd", "-e"], data="%s:%s" % (user, new_hash))
                    if rc != 0 or admin.shadow_hash(files.read_bytes(SHADOW), user) != new_hash:
                        module.fail_json(msg="chpasswd -e for %s failed: %s" % (user, (out + err).strip()),
                                         **result)
                if changes["profile"]:
                    if not os.path.isdir(PROFILE_DIR):
                        os.makedirs(PROFILE_DIR, 0o755)
                    files.write_atomic(module, profile, profile_new, owner="root", group="root", mode=0o644)
                if changes["keys"]:
                    ssh_dir = os.path.dirname(keys_path)
                    if not os.path.isdir(ssh_dir):
                        os.mkdir(ssh_dir, 0o700)
                    os.chown(ssh_dir, pw.pw_uid, pw.pw_gid)
                    os.chmod(ssh_dir, 0o700)
                    grp_name = files.grp.getgrgid(pw.pw_gid).gr_name
                    files.write_atomic(module, keys_path, keys_new, owner=user, group=grp_name, mode=0o600)
                if changes["sshd"]:
                    sshd.apply(module, {dropin: (dropin_old, dropin_new, "root", "root", 0o644)})
                    result["sshd_reloaded"] = True
                    problems = []
                    outside = None if sshd.address_allowed("192.0.2.1", want["allowed_networks"]) else "192.0.2.1"
                    if conn and sshd.user_denied(sshd.effective(module, user, conn[0]), user):
                        problems.append("the controller's address %s is denied" % conn[0])
                    if outside and not sshd.user_denied(sshd.effective(module, user, outside), user):
                        problems.append("an outside address (%s) is not denied" % outside)
                    if problems:
                        sshd.restore_files(module, {dropin: (dropin_old, dropin_new, "root", "root", 0o644)})
                        sshd.reload_ssh(module)
                        module.fail_json(msg="sshd -T after reload: %s; the previous drop-in was restored"
                                             % "; ".join(problems), **result)
                if changes["ari"] or changes["http"]:
                    if changes["http"]:
                        files.write_atomic(module, http_path, http_new)
                    if changes["ari"]:
                        files.write_atomic(module, ari_path, ari_new)
                    if changes["http"]:
                        run_cli(module, "module reload http")
                    run_cli(module, "module reload res_ari.so")
                    result["asterisk_reloaded"] = True
                    live = _ari_users(module)
                    if (user in live) != bool(p["api_access"]):
                        if changes["ari"]:
                            files.write_atomic(module, ari_path, ari_old or b"")
                        if changes["http"]:
                            files.write_atomic(module, http_path, http_old or b"")
                            run_cli(module, "module reload http")
                        run_cli(module, "module reload res_ari.so")
                        module.fail_json(msg="Asterisk did not take the ARI user change (ari show users: %s); "
                                             "the previous files were restored" % ", ".join(live), **result)
            except sshd.SshdError as e:
                module.fail_json(msg=str(e), **result)
            except AsteriskCliError as e:
                module.fail_json(msg=str(e), **result)
            except (IOError, OSError) as e:
                module.fail_json(msg="writing failed: %s" % e, **result)

    if two is not None:
        # after the account exists (it may have been made just now): the same as the totp module
        t_result = totp.apply(module, user, two["state"], two["methods"], p["totp_secret"], False,
                              prefix="totp: ")[0]
        result["totp"] = t_result
        result["changed"] = result["changed"] or t_result["changed"]
        result["sshd_reloaded"] = result["sshd_reloaded"] or t_result["sshd_reloaded"]
        result["summary"] += "; " + t_result["summary"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
