#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: mail
short_description: The PBX's mail account (SMTP via msmtp) for voicemail mails, and a test mail
version_added: 0.1.0
description:
  - Configures the mail transport Asterisk's voicemail uses. msmtp is the transport; its system
    file C(/etc/msmtprc) (owner C(root), group C(asterisk), mode C(0640), the password inside)
    holds one account with the SMTP server, port, TLS mode, client host name (EHLO), sender
    address and login.
  - In C(voicemail.conf) C([general]) it sets C(mailcmd=/usr/bin/msmtp -t), C(serveremail)
    (the sender address) and C(fromstring) (the sender name), and reloads
    C(app_voicemail.so) only when that file changed.
  - Debian's Asterisk ships C(app_voicemail_odbc.so) beside C(app_voicemail.so). With
    C(autoload=yes) it loads after C(app_voicemail.so), fails (no ODBC database) and on its way out
    unregisters the C(VoiceMail) and C(VoiceMailMain) applications by name, so voicemail silently
    stops working while C(app_voicemail.so) still shows as running. With O(fix_voicemail_module)
    this module adds C(noload => app_voicemail_odbc.so) to C(modules.conf) and, only while the
    C(VoiceMail) application is missing, restarts Asterisk once (C(module unload) of
    C(app_voicemail.so) is refused, so a restart is the only way back).
  - O(send_test_to) sends a test mail through the same transport, as user C(asterisk) like
    voicemail does; if the SMTP server refuses it the task fails quoting the server's answer.
    Sending it is not a change. When the same run changed the account, a refused test mail
    restores the previous files (wrong credentials never replace working ones).
  - Every value is validated before anything is read or written (host names, e-mail
    addresses, port; no line break, C(;), C(#) or C([) in any value reaching a file). The live
    state is read back (msmtp's own reading of the file as user C(asterisk), C(app_voicemail.so)
    running with its applications); if it does not hold, the previous files are restored.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Predicts exactly what a real run changes (and whether a restart is due); writes,
      reloads, restarts and sends nothing.
  diff_mode:
    support: full
    description: Before/after text of each changed file; the password is replaced by a tag.
  safe_file_operations:
    support: full
    description: Temp file in the same directory, then C(atomic_move).
  idempotent:
    support: full
    description: A second run with the same input reports no change and does not reload.
options:
  server:
    description: SMTP server, a host name or an IP address.
    type: str
    required: true
  port:
    description: SMTP port, 1-65535. Default 587 for V(starttls), 465 for V(tls), 25 for V(none).
    type: int
  tls:
    description:
      - V(starttls) (plain connection upgraded with STARTTLS, usually port 587), V(tls) (implicit
        TLS, usually port 465) or V(none).
      - The server certificate is always checked (name and chain) when TLS is on.
      - V(none) cannot be combined with a password (it would cross the network in clear text).
    type: str
    choices: [starttls, tls, none]
    default: starttls
  tls_ca_file:
    description:
      - CA certificate file on the host that signs the server's certificate (msmtp
        C(tls_trust_file)). Default the system's trust store.
    type: path
  client_hostname:
    description: Name the PBX gives in EHLO (msmtp C(domain)). Default the host's FQDN.
    type: str
  sender_address:
    description: Sender address of voicemail and test mails (C(serveremail), msmtp C(from)).
    type: str
    required: true
  sender_name:
    description:
      - Sender name shown in voicemail mails (C(fromstring)). No C(" \\ < >).
      - No C(${) or C($[) (app_voicemail substitutes C(fromstring) and would evaluate them as an
        expression); a lone C($) is written and shown as it is.
    type: str
  username:
    description: SMTP login. Without it no SMTP AUTH is used.
    type: str
  password:
    description: SMTP password (with O(username)). Stored only in C(/etc/msmtprc); never shown.
    type: str
  send_test_to:
    description: Send a test mail to this address after configuring (not in check mode).
    type: str
  fix_voicemail_module:
    description:
      - Add C(noload => app_voicemail_odbc.so) to C(modules.conf) when Debian's ODBC variant
        would be autoloaded, and restart Asterisk once if it already removed the C(VoiceMail)
        application (active calls drop at that restart).
      - V(false) fails with an explanation instead, before anything is written.
    type: bool
    default: true
notes:
  - Requires msmtp on the host (Debian package C(msmtp); C(msmtp-mta) also makes it
    C(/usr/sbin/sendmail)). C(mailcmd) names C(/usr/bin/msmtp) itself, so another MTA installed
    as sendmail does not matter.
  - Asterisk has no CLI that shows C(mailcmd) or C(serveremail); the module reads back what msmtp
    makes of its file and that voicemail runs with its applications.
  - A user file C(~asterisk/.msmtprc) would override the system file; do not create one.
seealso:
  - name: msmtp documentation
    description: Configuration file commands of msmtp.
    link: https://marlam.de/msmtp/msmtp.html
"""

EXAMPLES = r"""
- name: Voicemail mails through the provider's submission port
  pbxguard.asterisk.mail:
    server: smtp.example.org
    port: 587
    tls: starttls
    client_hostname: pbx1.example.org
    sender_address: pbx@example.org
    sender_name: PBX voicemail
    username: pbx@example.org
    password: "{{ vault_smtp_password }}"
    send_test_to: ops@example.org
"""

RETURN = r"""
msmtprc_changed:
  description: Whether C(/etc/msmtprc) was (or in check mode would be) rewritten.
  returned: always
  type: bool
voicemail_changed:
  description: Whether C(voicemail.conf) was (or would be) changed.
  returned: always
  type: bool
modules_changed:
  description: Whether C(noload => app_voicemail_odbc.so) was (or would be) added to C(modules.conf).
  returned: always
  type: bool
reloaded:
  description: Whether C(module reload app_voicemail.so) ran.
  returned: always
  type: bool
restarted:
  description: Whether Asterisk was (or in check mode would be) restarted to recover the VoiceMail application.
  returned: always
  type: bool
test_mail:
  description: What happened to the test mail (sent, or not sent in check mode).
  returned: when send_test_to is given
  type: str
  sample: test mail sent to ops@example.org via smtp.example.org:587
settings:
  description: The account without its password.
  returned: always
  type: dict
  sample: {server: smtp.example.org, port: 587, tls: starttls, client_hostname: pbx1.example.org,
           sender_address: pbx@example.org, sender_name: PBX voicemail, username: pbx@example.org,
           mailcmd: /usr/bin/msmtp -t}
summary:
  description: One line saying what now holds.
  returned: always
  type: str
"""

import os
import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _mail as mail
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _files as files
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import (
    AsteriskCliError, run_cli, log_offset,
)

RC_OWNER = "root"
RC_GROUP = "asterisk"
RC_MODE = 0o640


def _text(data):
    return (data or b"").decode("utf-8", "surrogateescape")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            server=dict(type="str", required=True),
            port=dict(type="int"),
            tls=dict(type="str", choices=list(mail.TLS_MODES), default="starttls"),
            tls_ca_file=dict(type="path"),
            client_hostname=dict(type="str"),
            sender_address=dict(type="str", required=True),
            sender_name=dict(type="str"),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
            send_test_to=dict(type="str"),
            fix_voicemail_module=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        want = mail.validate(p, default_domain=socket.getfqdn())
    except PolicyError as e:
        module.fail_json(msg=str(e))

    settings = dict(server=want["server"], port=want["port"], tls=want["tls"],
                    client_hostname=want["domain"], sender_address=want["from"],
                    sender_name=want["name"], username=want["user"], mailcmd=mail.MAILCMD)
    result = dict(changed=False, msmtprc_changed=False, voicemail_changed=False,
                  modules_changed=False, reloaded=False, restarted=False, settings=settings)
    fix = want["fix_voicemail_module"]
    with files.HostLock():
        if not os.path.exists(mail.MSMTP):
            module.fail_json(msg="msmtp is not installed on the host (%s missing): install the "
                                 "Debian package msmtp (and msmtp-mta for /usr/sbin/sendmail)"
                                 % mail.MSMTP, **result)
        if want["ca"] and not os.path.isfile(want["ca"]):
            module.fail_json(msg="tls_ca_file: %s does not exist on the host" % want["ca"], **result)
        old_rc = files.read_bytes(mail.MSMTPRC)
        new_rc = mail.render_msmtprc(want).encode("utf-8")
        rc_content = old_rc != new_rc
        rc_changed = rc_content or files.attributes_differ(mail.MSMTPRC, RC_OWNER, RC_GROUP, RC_MODE)

        old_vm = files.read_bytes(mail.VOICEMAIL_CONF)
        if old_vm is None:
            module.fail_json(msg="%s does not exist: Asterisk's voicemail is not installed here"
                                 % mail.VOICEMAIL_CONF, **result)
        new_vm = mail.plan_voicemail(old_vm, want)
        vm_content = new_vm != old_vm
        vm_changed = vm_content or files.attributes_differ(mail.VOICEMAIL_CONF)

        old_mod = files.read_bytes(mail.MODULES_CONF)
        new_mod = old_mod
        try:
            running, registered = mail.voicemail_state(module)
            if old_mod is not None and mail.odbc_module_present():
                new_mod, dummy = mail.plan_modules(old_mod, mail.MODULES_CONF)
        except AsteriskCliError as e:
            module.fail_json(msg=str(e), **result)
        except PolicyError as e:
            if fix:
                module.fail_json(msg=str(e), **result)
        mod_changed = new_mod != old_mod
        if not running:
            module.fail_json(msg="app_voicemail.so is not running (module show like app_voicemail.so): "
                                 "voicemail cannot send mails; load it (modules.conf) first", **result)
        if not fix and (mod_changed or not registered):
            module.fail_json(msg=(
                "fix_voicemail_module=false, but Debian's %s %s: when it fails to load it unregisters "
                "app_voicemail's VoiceMail applications (core show applications like VoiceMail: %s). "
                "Add 'noload => %s' to [modules] of %s and restart Asterisk, or let this module do it "
                "(fix_voicemail_module=true)." % (
                    mail.ODBC_MODULE, "is autoloaded" if mod_changed else "was loaded",
                    "registered" if registered else "missing", mail.ODBC_MODULE, mail.MODULES_CONF)),
                **result)
        if not fix:
            new_mod, mod_changed = old_mod, False
        restart = fix and not registered
        changed = rc_changed or vm_changed or mod_changed or restart
        result.update(changed=changed, msmtprc_changed=rc_changed, voicemail_changed=vm_changed,
                      modules_changed=mod_changed, restarted=restart)
        if module._diff:
            masker = files.Masker()
            diffs = []
            for path, old, new, content, mask in (
                    (mail.MSMTPRC, old_rc, new_rc, rc_content, mail.mask_msmtprc),
                    (mail.VOICEMAIL_CONF, old_vm, new_vm, vm_content, mail.mask_voicemail),
                    (mail.MODULES_CONF, old_mod, new_mod, mod_changed, None)):
                if content:
                    diffs.append(dict(before_header=path, after_header=path,
                                      before=mask(_text(old), masker) if mask else _text(old),
                                      after=mask(_text(new), masker) if mask else _text(new)))
            if diffs:
                result["diff"] = diffs
        if changed and not module.check_mode:
            written = []
            offset = log_offset(mail.ASTERISK_LOG)
            try:
                try:
                    if rc_changed:
                        files.write_atomic(module, mail.MSMTPRC, new_rc, RC_OWNER, RC_GROUP, RC_MODE)
                        written.append((mail.MSMTPRC, old_rc, (RC_OWNER, RC_GROUP, RC_MODE)))
                    if mod_changed:
                        # kept even if the account fails below: it repairs voicemail itself
                        files.write_atomic(module, mail.MODULES_CONF, new_mod)
                    if vm_changed:
                        files.write_atomic(module, mail.VOICEMAIL_CONF, new_vm)
                        written.append((mail.VOICEMAIL_CONF, old_vm, None))
                    if restart:
                        mail.restart_asterisk(module)
                    elif vm_changed:
                        run_cli(module, "module reload app_voicemail.so")
                        result["reloaded"] = True
                    problems = mail.verify(module, want, fix)
                    if not problems and want["test_to"]:
                        # the test mail proves the new account: refused -> the old files return
                        result["test_mail"] = mail.send_test(module, want, want["test_to"])
                except mail.MailError as e:
                    problems = [str(e)]
                if problems:
                    said = mail.log_words(offset)
                    for path, old, attrs in reversed(written):
                        if old is None:
                            os.unlink(path)
                        elif attrs:
                            files.write_atomic(module, path, old, *attrs)
                        else:
                            files.write_atomic(module, path, old)
                    if any(w[0] == mail.VOICEMAIL_CONF for w in written):
                        run_cli(module, "module reload app_voicemail.so")
                    module.fail_json(msg="the new mail settings did not hold; the previous files were "
                                         "restored. %s%s" % ("; ".join(problems),
                                                             (" Asterisk said: " + " | ".join(said)) if said else ""),
                                     **result)
            except AsteriskCliError as e:
                module.fail_json(msg=str(e), **result)
            except (IOError, OSError) as e:
                module.fail_json(msg="writing failed: %s" % e, **result)
    if want["test_to"] and "test_mail" not in result:
        if module.check_mode:
            result["test_mail"] = "not sent in check mode (would go to %s)" % want["test_to"]
        else:
            try:
                result["test_mail"] = mail.send_test(module, want, want["test_to"])
            except mail.MailError as e:
                module.fail_json(msg=str(e), **result)
    result["summary"] = "Mail: %s:%d %s as %s%s, voicemail mailcmd %s" % (
        want["server"], want["port"], {"starttls": "STARTTLS", "tls": "TLS", "none": "without TLS"}[want["tls"]],
        want["from"], (", login %s" % want["user"]) if want["user"] else ", no login", mail.MAILCMD)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
