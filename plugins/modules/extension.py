#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: extension
short_description: Manage PJSIP and IAX extensions and voicemail boxes in bulk, with strong secrets
version_added: 0.1.0
description:
  - Manages any number of extensions in one call (one read, one diff, one write per file, one
    reload per Asterisk module concerned). 10,000 extensions in one task is a normal input.
  - "PJSIP: per extension an endpoint, an auth and an aor, all named O(extensions[].username),
    in C(pjsip_pbxguard.conf), a file this module owns whole and pulls into C(pjsip.conf) with a
    C(#tryinclude) line. Objects written by hand elsewhere stay untouched; a name clash is an error."
  - "IAX: a C(type=friend) peer in C(iax_pbxguard.conf) (included from C(iax.conf)) with
    C(requirecalltoken=yes), C(auth), C(secret) or C(inkeys), and C(encryption=aes128) plus
    C(forceencryption=yes) when asked."
  - "Voicemail: C(NUMBER => PIN,NAME,EMAIL) in O(voicemail_context) of C(voicemail.conf). A PIN once
    set is kept by later runs (users change it from the phone, Asterisk rewrites the file) unless
    O(extensions[].pin_update=always)."
  - "Every secret, PIN, name and address goes through the collection's policy before anything is
    written; errors name the extension and the rule, for example
    C(extensions[3] (1008).secret: needs at least 1 special character of ! % * _ -)."
  - After writing, reloads only what changed (C(module reload res_pjsip.so), C(iax2 reload),
    C(voicemail reload)), never restarts, and compares the live objects with the desired ones; if
    Asterisk did not take them, every file is restored and reloaded and the task fails.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Predicts exactly which extensions are created, updated and removed; writes nothing.
  diff_mode:
    support: full
    description: Before/after of every changed file with secrets and PINs replaced by tags.
  safe_file_operations:
    support: full
    description: Temp file in the same directory, then C(atomic_move); restore on rejection.
  idempotent:
    support: full
    description: A rerun with the same input reports no change and reloads nothing.
options:
  context:
    description:
      - Dialplan context of the extensions (O(extensions[].context) or O(extensions[].policy) overrides it).
      - Default the context of the call policy's C(default_policy) when M(pbxguard.asterisk.call_policy)
        was applied on the host, else C(from-internal).
    type: str
  voicemail_context:
    description:
      - Context section of C(voicemail.conf) that holds the boxes (also the directory
        C(/var/spool/asterisk/voicemail/CONTEXT), so not C(.) or C(..)).
    type: str
    default: default
  allow_weak_secrets:
    description:
      - The explicit "allow weak password" switch. Skips the strength rules for secrets (the
        allowed character set still applies) and the guessable-PIN rule. Audited as a finding.
    type: bool
    default: false
  purge:
    description: Remove managed extensions this task does not name. Hand-written objects are never removed.
    type: bool
    default: false
  remove_samples:
    description:
      - Remove the live weaknesses Asterisk's sample configuration ships with, exactly as shipped
        (an object someone edited is left alone). In C(iax.conf) the C([guest]) user without
        secret or keys (anyone may call into its context). In C(voicemail.conf) the sample boxes
        C(1234@default) (PIN 4242) and C(1234@other) (PIN 5678) and the sample alias in C([myaliases]).
        Only objects byte for byte as Debian ships them go (the same rule as M(pbxguard.asterisk.samples));
        comments and context headers stay.
      - Applied in the same pass as the extensions (one write per file, one reload per module),
        and verified live (C(iax2 show users), C(voicemail show users)).
    type: bool
    default: false
  extensions:
    description: The extensions.
    type: list
    elements: dict
    default: []
    suboptions:
      number:
        description: Extension number (1-15 digits). Voicemail box number and caller ID number.
        type: str
        required: true
      name:
        description:
          - Display name (caller ID name, voicemail name). No C(, " < > |), no newline or C(;).
          - No C(${) or C($[) (voicemail mails and dialplans paste the name into text Asterisk
            substitutes, where it would be evaluated as an expression); a lone C($) is fine.
        type: str
      username:
        description:
          - Registration user name (the user part the phone registers as). Names the PJSIP
            endpoint, auth and aor and the IAX peer. Defaults to O(extensions[].number).
        type: str
      authname:
        description:
          - Name used in digest authentication (the PJSIP auth object's C(username)).
            Defaults to O(extensions[].username).
        type: str
      auth_user:
        description:
          - Optional authorization user, for phones whose "Authentication ID" differs from the
            registration user. When set it replaces O(extensions[].authname) as the digest
            C(username) of the auth object, and the endpoint gets
            C(identify_by=username,auth_username) so the phone is found by either name.
        type: str
      secret:
        description: SIP/IAX secret. Must pass the strong-secret policy unless O(allow_weak_secrets).
        type: str
      secret_update:
        description: V(always) sets the secret on every run; V(on_create) only when the extension is new.
        type: str
        choices: [always, on_create]
        default: always
      permit:
        description:
          - Source networks allowed for registration and calls (IP, IP/prefix, IP/netmask).
            Rendered as deny-all (IPv4 and IPv6) then these permits. Empty means no source ACL.
        type: list
        elements: str
        default: []
      max_contacts:
        description: Contacts this account may register at once (the aor's C(max_contacts)), 1-100.
        type: int
        default: 1
      remove_existing:
        description:
          - A REGISTER beyond O(extensions[].max_contacts) replaces the oldest contact (V(true)) or is
            refused (V(false)).
        type: bool
        default: true
      contact_permit:
        description:
          - Networks a registered contact may point at (C(contact_deny) all, IPv4 and IPv6, then these
            C(contact_permit)). Empty means no contact ACL.
        type: list
        elements: str
        default: []
      email:
        description: E-mail address of the voicemail box.
        type: str
      pin:
        description:
          - Voicemail PIN, exactly 4 digits (quote it). Without a PIN the extension has no box.
          - Refused when guessable (unless O(allow_weak_secrets)) - one digit repeated (V(0000)), a run up
            or down (V(1234), V(8901), V(4321)), a repeated pattern (V(1212)), the extension number or
            its reverse, or a well-known PIN (V(2580)).
        type: str
      pin_update:
        description: V(on_create) keeps a PIN users changed from the phone; V(always) resets it each run.
        type: str
        choices: [on_create, always]
        default: on_create
      context:
        description: Dialplan context of this extension (default O(context)).
        type: str
      policy:
        description:
          - Call policy of this extension (M(pbxguard.asterisk.call_policy)); sets the endpoint's context to
            C(pbxguard-policy-NAME). Default the call policy's C(default_policy).
          - A policy that is not applied on the host is an error before anything is written. Excludes
            O(extensions[].context).
        type: str
      iax:
        description: An IAX peer for the extension.
        type: dict
        suboptions:
          enabled:
            description: Create the IAX peer.
            type: bool
            default: false
          auth:
            description:
              - IAX authentication. There is no C(rc4) in Asterisk (an error explains it).
              - V(none) needs O(extensions[].iax.allow_no_auth) and is reported by the audit.
            type: str
            choices: [md5, plaintext, rsa, none, rc4]
            default: md5
          rsa_key:
            description:
              - Key name in C(/var/lib/asterisk/keys) (C(inkeys), the file C(NAME.pub)); required with
                V(rsa). Letters, digits and C(_ . @ + -); not C(.) or C(..).
            type: str
          encryption:
            description: AES-128 encryption (C(encryption=aes128), C(forceencryption=yes)); only with V(md5) or V(rsa).
            type: bool
            default: false
          allow_no_auth:
            description: Acknowledge O(extensions[].iax.auth=none).
            type: bool
            default: false
      state:
        description: V(absent) removes the extension's objects and its voicemail box.
        type: str
        choices: [present, absent]
        default: present
  pjsip_conf:
    description: Path of C(pjsip.conf); the managed file sits beside it.
    type: path
    default: /etc/asterisk/pjsip.conf
  iax_conf:
    description: Path of C(iax.conf); the managed file sits beside it.
    type: path
    default: /etc/asterisk/iax.conf
  voicemail_conf:
    description: Path of C(voicemail.conf).
    type: path
    default: /etc/asterisk/voicemail.conf
  backup:
    description: Keep a copy of each changed file (same owner, mode 0640).
    type: bool
    default: false
notes:
  - Files are written C(asterisk:asterisk) mode C(0640); a file Asterisk cannot read would silently
    invalidate the whole C(pjsip.conf).
  - Transports are not managed here (see the transport module); without one no phone can register.
"""

EXAMPLES = r"""
- name: Front desk and a softphone with IAX, strong generated secrets
  pbxguard.asterisk.extension:
    context: from-internal
    extensions:
      - number: "1008"
        name: Front Desk
        secret: "{{ lookup('pbxguard.asterisk.strong_secret', 'credentials/pbx1/1008') }}"
        permit: [198.18.0.0/24]
        email: frontdesk@example.org
        pin: "8474"
      - number: "1009"
        secret: "{{ vault_ext_1009 }}"
        iax:
          enabled: true
          auth: md5
          encryption: true
      - number: "1010"
        state: absent
"""

RETURN = r"""
created:
  description: Numbers of extensions created.
  returned: always
  type: list
  elements: str
updated:
  description: Numbers of extensions whose objects or box changed.
  returned: always
  type: list
  elements: str
removed:
  description: Numbers of extensions removed.
  returned: always
  type: list
  elements: str
counts:
  description: How many extensions were created, updated, removed or left unchanged.
  returned: always
  type: dict
  sample: {created: 2, updated: 1, removed: 0, unchanged: 997}
kinds:
  description: How many managed PJSIP extensions, IAX peers and voicemail boxes exist after the run.
  returned: always
  type: dict
  sample: {pjsip: 1000, iax: 10, voicemail: 1000}
reloaded:
  description: Asterisk modules reloaded (pjsip, iax, voicemail).
  returned: always
  type: list
  elements: str
secrets_changed:
  description: How many existing extensions got a new secret (the secrets themselves are never returned).
  returned: always
  type: int
samples_removed:
  description: Sample objects removed (or, in check mode, to be removed) by O(remove_samples).
  returned: always
  type: list
  elements: str
  sample: ["/etc/asterisk/iax.conf [guest]", "1234@default", "1234@other"]
"""

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils._extension import (
    ExtensionChange, ExtensionModule,
)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run


def main():
    run(ExtensionChange(), dict(
        context=dict(type="str"),
        voicemail_context=dict(type="str", default="default"),
        allow_weak_secrets=dict(type="bool", default=False),
        purge=dict(type="bool", default=False),
        remove_samples=dict(type="bool", default=False),
        extensions=dict(type="list", elements="dict", default=[], options=dict(
            number=dict(type="str", required=True),
            name=dict(type="str"),
            username=dict(type="str"),
            authname=dict(type="str"),
            auth_user=dict(type="str"),
            secret=dict(type="str", no_log=True),
            secret_update=dict(type="str", choices=["always", "on_create"], default="always"),
            permit=dict(type="list", elements="str", default=[]),
            max_contacts=dict(type="int", default=1),
            remove_existing=dict(type="bool", default=True),
            contact_permit=dict(type="list", elements="str", default=[]),
            email=dict(type="str"),
            pin=dict(type="str", no_log=True),
            pin_update=dict(type="str", choices=["on_create", "always"], default="on_create"),
            context=dict(type="str"),
            policy=dict(type="str"),
            iax=dict(type="dict", options=dict(
                enabled=dict(type="bool", default=False),
                auth=dict(type="str", choices=["md5", "plaintext", "rsa", "none", "rc4"], default="md5"),
                rsa_key=dict(type="str", no_log=False),
                encryption=dict(type="bool", default=False),
                allow_no_auth=dict(type="bool", default=False),
            )),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        )),
        pjsip_conf=dict(type="path", default="/etc/asterisk/pjsip.conf"),
        iax_conf=dict(type="path", default="/etc/asterisk/iax.conf"),
        voicemail_conf=dict(type="path", default="/etc/asterisk/voicemail.conf"),
        backup=dict(type="bool", default=False),
    ), module_class=ExtensionModule)


if __name__ == "__main__":
    main()
