#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit
short_description: Read-only security audit of an Asterisk PBX host
version_added: 0.1.0
description:
  - Reads the host's Asterisk configuration (with every file it includes) and system configuration
    and returns findings. Never writes anything; works on hosts this collection never touched.
  - "Checks: AMI users without ACL or permitting everywhere, weak AMI secrets, C(read/write=all),
    AMI on all addresses; weak PJSIP passwords or password equal to the user name, old TLS methods on
    SIP transports; IAX plaintext authentication, users without secret, weak IAX secrets, call tokens
    off; Asterisk's HTTP server without TLS or with TLS 1.0/1.1, ARI plaintext or weak passwords;
    voicemail boxes without PIN or with guessable PINs (runs like 1234 or 5678, one digit repeated,
    repeated patterns, the box number, sample PINs); SSH root password login, drop-ins in /etc/ssh/sshd_config.d that sshd_config does not
    include (their settings have no effect), and accounts with a
    usable password that SSH lets in with the password alone (C(sshd -T -C) per account from a
    loopback and an outside address; keyboard-interactive counts as two factors when PAM asks the
    account for a google-authenticator code); FTP and TFTP running; DHCP option 66 pointing at a
    foreign TFTP server; the weak-password switch recorded by this collection's modules."
  - "Toll fraud: a dialplan context reachable from an inbound trunk, an endpoint without auth, the PJSIP
    C(anonymous) endpoint or an IAX user without secret (through C(include), C(Goto), C(GotoIf),
    C(Gosub), C(Local/...@context)) that dials a trunk; phones that reach a trunk outside a call policy;
    a call policy without duration limit; an aor taking more than 10 contacts (C(max_contacts)); AMI
    users that may originate and have C(system), C(command) or C(all) write; C(live_dangerously).
    The PJSIP C(anonymous) endpoint counts only when a request can reach it without credentials - the
    anonymous identifier loaded per C(modules.conf) (no C(noload) of
    C(res_pjsip_endpoint_identifier_anonymous.so)), or no C(auth) and an C(identify_by) that matches by
    the caller's user name (the default C(username,ip))."
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode changes nothing either.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  idempotent:
    support: full
    description: Never reports a change.
options:
  asterisk_dir:
    description: Asterisk configuration directory.
    type: path
    default: /etc/asterisk
  min_severity:
    description: Leave out findings below this severity.
    type: str
    choices: [critical, high, medium, low, info]
    default: info
notes:
  - Secrets are evaluated on the host and never returned; findings name the object, not its secret.
"""

EXAMPLES = r"""
- name: Audit a PBX
  pbxguard.asterisk.audit:
  register: audit

- name: Fail on anything high or critical
  ansible.builtin.assert:
    that: audit.counts.critical == 0 and audit.counts.high == 0
"""

RETURN = r"""
findings:
  description:
    - Findings, most severe first. C(fix) names the baseline variable and module option that fix it
      (for Debian's shipped samples V(pbx_samples=remove)); where the collection has none it says so
      and names the hand edit.
  returned: always
  type: list
  elements: dict
  sample: [{id: IAX-NO-AUTH, severity: medium, file: /etc/asterisk/iax.conf, line: 481,
            message: "IAX user 'guest' has no secret and no keys: anyone can use it",
            remediation: "Remove Debian's sample [guest] user.",
            fix: "pbx_samples: remove (pbxguard.asterisk.samples state=absent)"}]
counts:
  description: Number of findings per severity.
  returned: always
  type: dict
  sample: {critical: 0, high: 1, medium: 3, low: 1, info: 0}
worst:
  description: The most severe level found, or V(none).
  returned: always
  type: str
asterisk_version:
  description: Output of C(core show version), when Asterisk runs.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils._toll_audit import audit as toll_audit
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _audit as audit
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sshd as sshd_config
from ansible_collections.pbxguard.asterisk.plugins.module_utils._files import read_bytes


def _glob(pattern):
    import glob
    return sorted(glob.glob(pattern))


def _read(path):
    try:
        return read_bytes(path)
    except (IOError, OSError):
        return None


def _ssh_password_users(module, sshd):
    """{user: ([effective sshd config from a loopback and an outside address],
    TOTP asked)} for every account with a usable password; None if unreadable."""
    shadow = _read("/etc/shadow")
    if shadow is None:
        return None
    homes = {}
    for line in (_read("/etc/passwd") or b"").decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) >= 6:
            homes[parts[0]] = parts[5]
    pam_totp = audit.pam_stack_has_totp(_read)
    users = {}
    for user in audit.password_users(shadow.decode("utf-8", "replace"))[:200]:
        texts = []
        for addr in ("127.0.0.1", "198.51.100.1"):
            spec = "user=%s,host=audit.invalid,addr=%s,laddr=127.0.0.1,lport=22" % (user, addr)
            rc, out, dummy = module.run_command([sshd, "-T", "-C", spec])
            if rc == 0:
                texts.append(out)
        home = homes.get(user)
        totp = bool(pam_totp and home and os.path.exists(os.path.join(home, ".google_authenticator")))
        users[user] = (texts, totp)
    return users


def main():
    module = AnsibleModule(
        argument_spec=dict(
            asterisk_dir=dict(type="path", default="/etc/asterisk"),
            min_severity=dict(type="str", default="info", choices=list(audit.SEVERITIES)),
        ),
        supports_check_mode=True,
    )
    d = module.params["asterisk_dir"]

    def conf(name):
        return audit.load(os.path.join(d, name), _read)

    findings = []
    findings += audit.audit_manager(conf("manager.conf"))
    findings += audit.audit_pjsip(conf("pjsip.conf"))
    findings += audit.audit_iax(conf("iax.conf"))
    findings += audit.audit_http(conf("http.conf"), conf("ari.conf"))
    findings += audit.audit_voicemail(conf("voicemail.conf"))
    # toll fraud: unauthenticated/inbound paths that reach a trunk, phones without a call policy
    findings += toll_audit(conf("extensions.conf"), conf("pjsip.conf"), conf("iax.conf"), conf("manager.conf"),
                           conf("asterisk.conf"), _read(os.path.join(d, "extensions_pbxguard.conf")),
                           _read(os.path.join(d, "modules.conf")))
    for name in ("pjsip_pbxguard.conf", "iax_pbxguard.conf"):
        data = _read(os.path.join(d, name)) or b""
        if b"allow_weak_secrets: true" in data:
            findings.append(audit.finding("POLICY-WEAK-SWITCH", "medium", os.path.join(d, name), 1,
                                          "The weak-password switch was on when this file was written",
                                          "Run the extension task with allow_weak_secrets: false."))
    sshd = module.get_bin_path("sshd") or "/usr/sbin/sshd"
    rc, out, dummy = module.run_command([sshd, "-T"])
    if rc == 0:
        findings += audit.audit_sshd(out, _ssh_password_users(module, sshd))
    findings += audit.audit_sshd_dropins([(p, _read(p)) for p in sshd_config.dropins_not_included(_read, _glob)])
    active = {}
    systemctl = module.get_bin_path("systemctl")
    if systemctl:
        for unit in ("vsftpd", "tftpd-hpa", "tftpd-hpa.socket", "kea-dhcp4-server"):
            rc, out, dummy = module.run_command([systemctl, "is-active", unit])
            active[unit] = out.strip()
    findings += audit.audit_services(active)
    if active.get("kea-dhcp4-server") == "active":
        own = set()
        rc, out, dummy = module.run_command(["ip", "-o", "addr", "show"])
        for line in out.splitlines():
            parts = line.split()
            if "inet" in parts:
                own.add(parts[parts.index("inet") + 1].split("/")[0])
        findings += audit.audit_kea(_read("/etc/kea/kea-dhcp4.conf"), own)
    order = dict((s, i) for i, s in enumerate(audit.SEVERITIES))
    limit = order[module.params["min_severity"]]
    findings = [f for f in findings if order[f["severity"]] <= limit]
    findings.sort(key=lambda f: (order[f["severity"]], f["id"], f["file"] or "", f["line"] or 0))
    counts, worst = audit.summarize(findings)
    rc, out, dummy = module.run_command(["timeout", "10", "asterisk", "-rx", "core show version"])
    module.exit_json(changed=False, findings=findings, counts=counts, worst=worst,
                     asterisk_version=out.strip() if rc == 0 else "")


if __name__ == "__main__":
    main()
