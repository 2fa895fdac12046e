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
    description:
      - Name the PBX gives in EHLO (msmtp C(domain)).
      - Default the host's name as C(hostname) gives it (no DNS lookup; set it when the host name is not the FQDN).
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

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils._mail import MailChange, TLS_MODES
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run


def main():
    run(MailChange(), dict(
        server=dict(type="str", required=True),
        port=dict(type="int"),
        tls=dict(type="str", choices=list(TLS_MODES), default="starttls"),
        tls_ca_file=dict(type="path"),
        client_hostname=dict(type="str"),
        sender_address=dict(type="str", required=True),
        sender_name=dict(type="str"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        send_test_to=dict(type="str"),
        fix_voicemail_module=dict(type="bool", default=True),
    ))


if __name__ == "__main__":
    main()
