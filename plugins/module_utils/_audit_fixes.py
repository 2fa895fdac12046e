# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What fixes each audit finding: the baseline role's variable (roles/baseline,
meta/argument_specs.yml) and the module option behind it. ``finding()`` in
_audit.py attaches the entry of its id as ``fix``; a check that knows better
for one object (Debian's sample [guest] is fixed by pbx_samples, a hand-made
IAX user by its own secret) passes ``fix=`` itself.

One table, one line per finding id, sorted by id: a new check adds its line
here (tests/unit/.../test_audit_fixes.py fails for an id without one). Where
the collection has no variable for it, the entry says so and names the hand
edit, rather than pointing at something that does not exist."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

BY_HAND = "no baseline variable: "

FIXES = {
    "AMI-ALL-PERMS": "pbx_ami.users[].read / .write (pbxguard.asterisk.ami users)",
    "AMI-BIND-ALL": "pbx_ami.bind_address (pbxguard.asterisk.ami bind_address)",
    "AMI-NO-ACL": "pbx_ami.users[].permit (pbxguard.asterisk.ami users; a hand-written user: remove its section, then declare it there)",
    "AMI-ORIGINATE-SYSTEM": ("pbx_ami.users[].write (pbxguard.asterisk.ami users: an originate user gets no system, "
                             "command or all write class)"),
    "AMI-PERMIT-ALL": "pbx_ami.users[].permit (pbxguard.asterisk.ami users)",
    "AMI-WEAK-SECRET": "pbx_ami.users[].secret with lookup('pbxguard.asterisk.strong_secret', ...)",
    "ARI-PLAIN-PASSWORD": "pbx_admin.password + api_access (pbxguard.asterisk.admin: crypt hash in ari.conf)",
    "ARI-WEAK-PASSWORD": "pbx_admin.password (pbxguard.asterisk.admin password)",
    "AST-LIVE-DANGEROUSLY": BY_HAND + "delete live_dangerously from [options] of /etc/asterisk/asterisk.conf (default no)",
    "DHCP-FOREIGN-TFTP": "pbx_dhcp.tftp_server (pbxguard.asterisk.dhcp tftp_server)",
    "FTP-ENABLED": "pbx_service.ftp.state: disabled (pbxguard.asterisk.host_service)",
    "HTTP-NO-TLS": "pbx_service.web.protocol: https (pbxguard.asterisk.web protocol)",
    "HTTP-TLS10": "pbx_service.web.security_level: high (pbxguard.asterisk.web security_level)",
    "HTTP-TLS11": "pbx_service.web.security_level: high (pbxguard.asterisk.web security_level)",
    "IAX-NO-AUTH": "pbx_extensions.list[].secret with iax.enabled (pbxguard.asterisk.extension)",
    "IAX-NO-CALLTOKEN": BY_HAND + "delete requirecalltoken=no (extensions managed by pbx_extensions always require call tokens)",
    "IAX-PLAINTEXT": "pbx_extensions.list[].iax.auth: md5 or rsa (pbxguard.asterisk.extension)",
    "IAX-WEAK-SECRET": "pbx_extensions.list[].secret (pbxguard.asterisk.extension)",
    "POLICY-WEAK-SWITCH": "pbx_password_policy.allow_weak: false (allow_weak_secrets of the extension module)",
    "SIP-SECRET-IS-USER": "pbx_extensions.list[].secret (pbxguard.asterisk.extension)",
    "SIP-TLS-OLD": "pbx_sip_transport.tls.security_level: high (pbxguard.asterisk.sip_transport)",
    "SIP-TLS-SYSTEM-MIN": "pbx_sip_transport.tls.security_level: high (pbxguard.asterisk.sip_transport)",
    "SIP-WEAK-SECRET": "pbx_extensions.list[].secret (pbxguard.asterisk.extension)",
    "SSH-DROPIN-NOT-INCLUDED": BY_HAND + ("put 'Include /etc/ssh/sshd_config.d/*.conf' back as the first line of "
                                          "/etc/ssh/sshd_config (devsec.hardening: sshd_custom_options, see the README)"),
    "SSH-PASSWORD-ENABLED": "pbx_totp.methods (pbxguard.asterisk.totp methods; keys only: PasswordAuthentication no by hand)",
    "SSH-PASSWORD-NO-2FA": "pbx_totp / pbx_admin with pbx_totp (pbxguard.asterisk.totp, admin totp)",
    "SSH-ROOT-PASSWORD": BY_HAND + "PermitRootLogin prohibit-password in an sshd_config.d drop-in",
    "TFTP-ENABLED": "pbx_service.tftp.state: disabled (pbxguard.asterisk.host_service)",
    "TOLL-MAX-CONTACTS": "pbx_extensions.list[].max_contacts (pbxguard.asterisk.extension max_contacts, default 1)",
    "TOLL-NO-POLICY": ("pbx_call_policy.policies and pbx_extensions.list[].policy (pbxguard.asterisk.call_policy, "
                       "extension policy)"),
    "TOLL-OPEN-TRUNK": ("pbx_call_policy (outbound calls only through its contexts) and "
                        "pbx_sip_transport.anonymous: false; an inbound context that dials a trunk is a hand edit "
                        "of extensions.conf"),
    "TOLL-UNLIMITED-DURATION": "pbx_call_policy.policies (max_call_seconds of the policy, e.g. 7200)",
    "VM-EMPTY-PIN": "pbx_extensions.list[].pin (pbxguard.asterisk.extension)",
    "VM-TRIVIAL-PIN": "pbx_extensions.list[].pin (pbxguard.asterisk.extension)",
}

# a hand-written PJSIP endpoint "anonymous" reached without credentials
ANONYMOUS = ("pbx_sip_transport.anonymous: false (pbxguard.asterisk.sip_transport: the anonymous identifier "
             "unloaded; an endpoint anonymous without auth must not identify by username: identify_by=ip)")

# Debian's shipped sample objects (module_utils/_samples.py): one fix for them all
SAMPLES = "pbx_samples: remove (pbxguard.asterisk.samples state=absent)"


def fix_for(fid):
    return FIXES.get(fid)
