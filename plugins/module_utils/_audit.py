# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only security audit of an Asterisk PBX host. Pure checks over file
contents and command outputs; each finding has id, severity, file, line,
message and remediation. Works on hosts this collection never touched."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import json
import os

from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import (
    ConfigFile, resolve_include,
)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import secret_problems, trivial_pin
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _audit_fixes as fixes
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _samples as samples

SEVERITIES = ("critical", "high", "medium", "low", "info")


def finding(fid, severity, path, line, message, remediation, fix=None):
    """``fix``: the baseline variable / module option that fixes it; by
    default the entry of ``fid`` in _audit_fixes.FIXES."""
    return {"id": fid, "severity": severity, "file": path, "line": line,
            "message": message, "remediation": remediation, "fix": fix or fixes.fix_for(fid)}


def load(path, reader):
    """ConfigFiles of ``path`` and its includes (read through ``reader``)."""
    out = []
    seen = set()

    def visit(p):
        if p in seen:
            return
        seen.add(p)
        data = reader(p)
        if data is None:
            return
        cfg = ConfigFile.from_bytes(data, p)
        out.append(cfg)
        for inc in cfg.includes():
            for q in resolve_include(os.path.dirname(p), inc.argument):
                visit(q)
    visit(path)
    return out


def _weak(secret):
    return bool(secret_problems(secret or ""))


def _all_networks(v):
    v = (v or "").strip()
    try:
        net = ipaddress.ip_network(v.replace("/0.0.0.0", "/0"), strict=False)
        return net.prefixlen == 0
    except ValueError:
        return False


def audit_manager(cfgs):
    f = []
    for cfg in cfgs:
        for s in cfg.sections:
            if s.name == "general":
                if (s.get("enabled") or "no").lower() in ("yes", "true", "1", "on"):
                    bind = s.get("bindaddr")
                    if bind is None or bind in ("0.0.0.0", "::", "[::]"):
                        f.append(finding("AMI-BIND-ALL", "medium", cfg.path, s.header.number,
                                         "AMI listens on all addresses (bindaddr %s)" % (bind or "absent: [::]"),
                                         "Bind AMI to 127.0.0.1 or a management address (pbxguard.asterisk.ami bind_address)."))
                continue
            acl = [(k, v) for k, v in s.items() if k in ("deny", "permit", "acl")]
            secret = s.get("secret")
            line = s.header.number
            if not acl:
                f.append(finding("AMI-NO-ACL", "high", cfg.path, line,
                                 "AMI user '%s' has no deny/permit: it may log in from anywhere" % s.name,
                                 "Give it deny=0.0.0.0/0.0.0.0, deny=::/0 then narrow permits."))
            for k, v in acl:
                if k == "permit" and _all_networks(v):
                    f.append(finding("AMI-PERMIT-ALL", "high", cfg.path, line,
                                     "AMI user '%s' permits %s (everywhere)" % (s.name, v),
                                     "Permit only the networks of the AMI clients."))
            if secret is not None and _weak(secret):
                f.append(finding("AMI-WEAK-SECRET", "high", cfg.path, line,
                                 "AMI user '%s' has a secret that fails the strong-secret policy" % s.name,
                                 "Rotate it with a generated secret (pbxguard.asterisk.strong_secret)."))
            for k in ("read", "write"):
                if "all" in [c.strip() for c in (s.get(k) or "").split(",")]:
                    f.append(finding("AMI-ALL-PERMS", "medium", cfg.path, line,
                                     "AMI user '%s' has %s=all" % (s.name, k),
                                     "Grant only the classes the client needs."))
    return f


def audit_pjsip(cfgs):
    f = []
    endpoints_with_acl = set()
    for cfg in cfgs:
        for s in cfg.sections:
            if s.type == "endpoint" and any(k in ("deny", "permit", "acl") for k, dummy in s.items()):
                endpoints_with_acl.add(s.name)
    for cfg in cfgs:
        for s in cfg.sections:
            if s.is_template:
                continue
            if s.type == "auth":
                pw = s.get("password")
                user = s.get("username") or s.name
                if pw is not None and (pw == user or pw == s.name):
                    f.append(finding("SIP-SECRET-IS-USER", "critical", cfg.path, s.header.number,
                                     "PJSIP auth '%s' uses its user name as password" % s.name,
                                     "Set a generated strong secret (pbxguard.asterisk.extension)."))
                elif pw is not None and _weak(pw):
                    f.append(finding("SIP-WEAK-SECRET", "high", cfg.path, s.header.number,
                                     "PJSIP auth '%s' has a password that fails the strong-secret policy" % s.name,
                                     "Set a generated strong secret (pbxguard.asterisk.extension)."))
            if s.type == "transport" and (s.get("protocol") or "") == "tls":
                method = (s.get("method") or "").lower()
                # measured on Asterisk 22 (pjproject): no method / "default" / tlsv1
                # = TLS 1.0 only; tlsv1_1 = 1.1 only; tlsv1_2 = 1.2 only; sslv23 =
                # whatever OpenSSL allows (Debian's MinProtocol: TLS 1.2 and 1.3)
                if method in ("", "default", "unspecified", "tlsv1", "tlsv1_1", "sslv2", "sslv3"):
                    f.append(finding("SIP-TLS-OLD", "medium", cfg.path, s.header.number,
                                     "PJSIP TLS transport '%s' %s: Asterisk then speaks TLS %s only"
                                     % (s.name, "sets method=%s" % method if method else "sets no method",
                                        "1.1" if method == "tlsv1_1" else "1.0" if method not in ("sslv2", "sslv3")
                                        else "below 1.0 (SSL)"),
                                     "Set method=tlsv1_2 (pbxguard.asterisk.sip_transport security_level high)."))
                elif method == "sslv23":
                    f.append(finding("SIP-TLS-SYSTEM-MIN", "info", cfg.path, s.header.number,
                                     "PJSIP TLS transport '%s' uses method=sslv23: the versions offered are "
                                     "those OpenSSL's system policy allows (MinProtocol in openssl.cnf; TLS 1.2 "
                                     "and 1.3 on Debian)" % s.name,
                                     "Keep the system's MinProtocol at TLSv1.2, or set method=tlsv1_2."))
    return f


def audit_iax(cfgs):
    f = []
    for cfg in cfgs:
        for s in cfg.sections:
            if s.name == "general" or s.is_template:
                if s.name == "general" and (s.get("requirecalltoken") or "").lower() == "no":
                    f.append(finding("IAX-NO-CALLTOKEN", "medium", cfg.path, s.header.number,
                                     "IAX call tokens are disabled globally (requirecalltoken=no)",
                                     "Remove it: call tokens stop IAX spoofing/amplification."))
                continue
            if s.type not in ("user", "peer", "friend"):
                continue
            auth = (s.get("auth") or "md5").lower()
            secret = s.get("secret")
            line = s.header.number
            if "plaintext" in auth:
                f.append(finding("IAX-PLAINTEXT", "high", cfg.path, line,
                                 "IAX %s '%s' accepts plaintext authentication" % (s.type, s.name),
                                 "Use auth=md5 or rsa (pbxguard.asterisk.extension iax.auth)."))
            if not secret and not s.get("inkeys") and s.type in ("user", "friend"):
                sample = samples.is_sample_section(s, cfg.path)
                f.append(finding("IAX-NO-AUTH", "medium", cfg.path, line,
                                 "IAX %s '%s' has no secret and no keys: anyone can use it" % (s.type, s.name),
                                 "Remove Debian's sample [guest] user." if sample else
                                 "Give it a secret or remove it.", fix=fixes.SAMPLES if sample else None))
            elif secret and _weak(secret):
                f.append(finding("IAX-WEAK-SECRET", "high", cfg.path, line,
                                 "IAX %s '%s' has a secret that fails the strong-secret policy" % (s.type, s.name),
                                 "Set a generated strong secret."))
            if (s.get("requirecalltoken") or "").lower() == "no":
                f.append(finding("IAX-NO-CALLTOKEN", "medium", cfg.path, line,
                                 "IAX %s '%s' does not require call tokens" % (s.type, s.name),
                                 "Remove requirecalltoken=no."))
    return f


def audit_http(http_cfgs, ari_cfgs):
    f = []
    enabled = False
    for cfg in http_cfgs:
        g = cfg.first("general")
        if g is None:
            continue
        enabled = (g.get("enabled") or "no").lower() in ("yes", "true")
        tls = (g.get("tlsenable") or "no").lower() in ("yes", "true")
        if enabled and not tls:
            f.append(finding("HTTP-NO-TLS", "medium", cfg.path, g.header.number,
                             "Asterisk's HTTP server (ARI, AMI over HTTP) is enabled without TLS",
                             "Serve it over https (pbxguard.asterisk.web protocol: https)."))
        if tls:
            if (g.get("tlsdisablev1") or "yes").lower() in ("no", "false"):
                f.append(finding("HTTP-TLS10", "medium", cfg.path, g.header.number,
                                 "Asterisk's HTTP server accepts TLS 1.0", "Set security_level high."))
            if (g.get("tlsdisablev11") or "no").lower() in ("no", "false"):
                f.append(finding("HTTP-TLS11", "medium", cfg.path, g.header.number,
                                 "Asterisk's HTTP server accepts TLS 1.1", "Set security_level high."))
    for cfg in ari_cfgs:
        for s in cfg.sections:
            if s.type == "user":
                if (s.get("password_format") or "plain").lower() == "plain":
                    f.append(finding("ARI-PLAIN-PASSWORD", "medium", cfg.path, s.header.number,
                                     "ARI user '%s' stores its password in plaintext" % s.name,
                                     "Use password_format=crypt (pbxguard.asterisk.admin)."))
                plain = (s.get("password_format") or "plain").lower() == "plain"
                if plain and _weak(s.get("password")):
                    f.append(finding("ARI-WEAK-PASSWORD", "high", cfg.path, s.header.number,
                                     "ARI user '%s' has a weak password" % s.name, "Rotate it."))
    return f


def audit_voicemail(cfgs):
    f = []
    for cfg in cfgs:
        for s in cfg.sections:
            if s.name in ("general", "zonemessages"):
                continue
            for ln in s.option_lines():
                if not ln.key.isdigit():
                    continue
                pin = (ln.value or "").split(",", 1)[0].lstrip("-").strip()
                where = "%s@%s" % (ln.key, s.name)
                if pin == "":
                    f.append(finding("VM-EMPTY-PIN", "high", cfg.path, ln.number,
                                     "Mailbox %s has no PIN: no PIN prompt at all" % where,
                                     "Set a 4-digit PIN (pbxguard.asterisk.extension pin)."))
                elif trivial_pin(pin, ln.key):
                    sample = samples.is_sample_line(s, ln, cfg.path)
                    f.append(finding("VM-TRIVIAL-PIN", "medium", cfg.path, ln.number,
                                     "Mailbox %s has a guessable PIN (%s)" % (where, trivial_pin(pin, ln.key)),
                                     "Remove Debian's sample mailbox." if sample else
                                     "Set an individual PIN; users change it from the phone.",
                                     fix=fixes.SAMPLES if sample else None))
    return f


def parse_sshd_t(text):
    """``sshd -T`` output: {keyword: value} (first value of each keyword)."""
    opts = {}
    for line in (text or "").splitlines():
        k, dummy, v = line.strip().partition(" ")
        if k:
            opts.setdefault(k.lower(), v.strip())
    return opts


def _password_methods(opts):
    """The single-step login methods that take only a password-like secret."""
    out = []
    if opts.get("passwordauthentication") == "yes":
        out.append("password")
    if opts.get("kbdinteractiveauthentication") == "yes" and opts.get("usepam") == "yes":
        out.append("keyboard-interactive")
    return out


def single_factor_password(opts, totp_user, user=None):
    """True when ``opts`` (effective ``sshd -T -C`` of one user) lets that
    user log in with a password alone. ``totp_user``: keyboard-interactive
    asks this user for a TOTP code too (PAM google-authenticator and the
    user's ~/.google_authenticator)."""
    if user == "root" and opts.get("permitrootlogin") != "yes":
        return False
    single = [m for m in _password_methods(opts) if not (m == "keyboard-interactive" and totp_user)]
    if not single:
        return False
    chains = [c.split(",") for c in (opts.get("authenticationmethods") or "any").split()]
    for chain in chains:
        if chain == ["any"]:
            return True
        steps = [m.split(":")[0] for m in chain]
        if len(steps) == 1 and steps[0] in single:
            return True
    return False


def audit_sshd(sshd_t, users=None, path="sshd -T"):
    """``sshd_t``: global ``sshd -T`` output. ``users``: {name: ([effective
    ``sshd -T -C`` output for that user, one per source address checked], has
    TOTP)} for the accounts that have a usable password; None when that could
    not be read."""
    f = []
    opts = parse_sshd_t(sshd_t)
    if not opts:
        return f
    if opts.get("permitrootlogin") == "yes":
        f.append(finding("SSH-ROOT-PASSWORD", "high", path, None, "SSH allows root login with a password",
                         "PermitRootLogin prohibit-password (keys only)."))
    if users is None:
        if _password_methods(opts) and single_factor_password(opts, False):
            f.append(finding("SSH-PASSWORD-NO-2FA", "medium", path, None,
                             "SSH accepts passwords without a second factor",
                             "Enable TOTP (pbxguard.asterisk.totp) or PasswordAuthentication no."))
        return f
    weak = sorted(u for u, (texts, totp) in users.items()
                  if any(single_factor_password(parse_sshd_t(t), totp, u) for t in texts))
    if weak:
        f.append(finding("SSH-PASSWORD-NO-2FA", "medium", path, None,
                         "SSH accepts a password alone (no second factor) for: %s" % ", ".join(weak),
                         "Enable TOTP for them (pbxguard.asterisk.totp), lock their passwords, "
                         "or PasswordAuthentication no."))
    elif single_factor_password(opts, False):
        f.append(finding("SSH-PASSWORD-ENABLED", "info", path, None,
                         "SSH accepts password login, but no account without a second factor has a password now",
                         "PasswordAuthentication no when only keys and TOTP logins are used."))
    return f


def pam_has_totp(pam_sshd):
    """/etc/pam.d/sshd asks for a google-authenticator code (an active auth line)."""
    for line in (pam_sshd or "").splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 3 and words[0].lstrip("-") == "auth" and any("pam_google_authenticator" in w for w in words):
            return True
    return False


def pam_stack_has_totp(read):
    """sshd's auth stack as PAM builds it (@include, include/substack followed)
    has a google-authenticator rule."""
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _pam as pam
    return any(r.module == "pam_google_authenticator.so" for r in pam.stack(read, "sshd", "auth"))


def audit_sshd_dropins(not_included, main="/etc/ssh/sshd_config"):
    """``not_included``: [(path, bytes)] of the sshd drop-ins that no Include
    of ``main`` covers (module_utils/_sshd.dropins_not_included): sshd never
    reads them. One of this collection's (its marker inside: an administrator's
    allowed networks or second factor) is high, any other medium."""
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._sshd import INCLUDE_FIX, MARKER
    f = []
    for path, data in not_included:
        ours = MARKER.encode("ascii") in (data or b"")
        f.append(finding("SSH-DROPIN-NOT-INCLUDED", "high" if ours else "medium", path, None,
                         "sshd does not read this drop-in: no Include in %s covers it, so its settings "
                         "(%s) have no effect" % (main, "written by pbxguard.asterisk: allowed networks, "
                                                  "second factor or ports" if ours else "written by hand or "
                                                  "another tool"),
                         INCLUDE_FIX[0].upper() + INCLUDE_FIX[1:] + "."))
    return f


def password_users(shadow):
    """Account names of /etc/shadow text with a usable password hash."""
    out = []
    for line in (shadow or "").splitlines():
        parts = line.split(":")
        if len(parts) > 1 and parts[1] and not parts[1].startswith(("!", "*")):
            out.append(parts[0])
    return out


def audit_services(active):
    """``active``: {unit: 'active'|'inactive'|...}."""
    f = []
    if active.get("vsftpd") == "active":
        f.append(finding("FTP-ENABLED", "medium", "vsftpd.service", None,
                         "FTP (plaintext credentials) is running",
                         "Disable it unless phones need it (pbxguard.asterisk.host_service ftp)."))
    if active.get("tftpd-hpa") == "active" or active.get("tftpd-hpa.socket") == "active":
        f.append(finding("TFTP-ENABLED", "low", "tftpd-hpa.service", None,
                         "TFTP (unauthenticated file reads, e.g. phone provisioning) is running",
                         "Disable it when no phone is being provisioned."))
    return f


def audit_kea(data, own_addresses, path="/etc/kea/kea-dhcp4.conf"):
    f = []
    if not data:
        return f
    try:
        text = "\n".join(ln for ln in data.decode("utf-8", "replace").splitlines()
                         if not ln.strip().startswith("//") and not ln.strip().startswith("#"))
        conf = json.loads(text)
    except ValueError:
        return f
    options = []
    d4 = conf.get("Dhcp4", {})
    options += d4.get("option-data", [])
    for sub in d4.get("subnet4", []):
        options += sub.get("option-data", [])
    for o in options:
        if o.get("name") == "tftp-server-name" or o.get("code") == 66:
            target = (o.get("data") or "").replace("tftp://", "").split("/")[0].split(":")[0]
            if target and target not in own_addresses:
                f.append(finding("DHCP-FOREIGN-TFTP", "medium", path, None,
                                 "DHCP tells phones to fetch their configuration from %s, not this PBX" % target,
                                 "Point option 66 at the PBX (pbxguard.asterisk.dhcp tftp_server)."))
    return f


def summarize(findings):
    counts = dict((s, 0) for s in SEVERITIES)
    for x in findings:
        counts[x["severity"]] += 1
    worst = next((s for s in SEVERITIES if counts[s]), "none")
    return counts, worst
