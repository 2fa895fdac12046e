# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TOTP second factor for SSH (pam_google_authenticator): pure renderers and
parsers, and the host side (apply) shared by the totp module and the admin
module's totp option. The secret is generated on the controller (pyotp); the
host keeps it in ~USER/.google_authenticator, which this code reads back for
idempotence."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import grp
import os
import pwd
import re

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _files as files
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sshd as sshd

MARKER = "managed by pbxguard.asterisk"
PAM_LINE = "auth required pam_google_authenticator.so nullok"
PAM_COMMENT = "# %s (totp): second factor for users with ~/.google_authenticator" % MARKER
OPTIONS = ('" RATE_LIMIT 3 30', '" WINDOW_SIZE 3', '" DISALLOW_REUSE', '" TOTP_AUTH')
SECRET_RE = re.compile(r"^[A-Z2-7]{16,128}\Z")
CODE_RE = re.compile(r"^[0-9]{6}\Z")
PAM_SSHD = "/etc/pam.d/sshd"
METHODS = {"publickey_or_password": "publickey,keyboard-interactive keyboard-interactive",
           "password": "keyboard-interactive"}


def option_spec():
    """The second factor's options: the totp module's own, and the admin module's totp
    suboptions (one spec for both; a fresh dict per call)."""
    return dict(
        state=dict(type="str", choices=["enabled", "disabled"], default="enabled"),
        issuer=dict(type="str", default="PBX"),
        methods=dict(type="str", choices=list(METHODS), default="publickey_or_password"),
        qr_path=dict(type="path"),
        secret_path=dict(type="path", no_log=False),
        verify_code=dict(type="str", no_log=True),
    )


def check_code(value, option="verify_code"):
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise policy.PolicyError("%s: must be the 6-digit code of the authenticator app" % option)
    if isinstance(value, int):
        raise policy.PolicyError("%s: must be a quoted string of 6 digits (an unquoted number "
                                 "loses leading zeros)" % option)
    value = value.strip().replace(" ", "")
    if not CODE_RE.match(value):
        raise policy.PolicyError("%s: must be exactly 6 digits (has %d characters)" % (option, len(value)))
    return value


def check_secret(value, option="secret"):
    if not isinstance(value, str) or not SECRET_RE.match(value):
        raise policy.PolicyError("%s: is not a base32 TOTP secret (A-Z 2-7, at least 16)" % option)
    return value


def render_file(secret):
    return ("%s\n%s\n" % (secret, "\n".join(OPTIONS))).encode("ascii")


def parse_file(data):
    """(secret or None, True when every option keyword is present)."""
    if not data:
        return None, False
    lines = data.decode("ascii", "replace").splitlines()
    secret = lines[0].strip() if lines else ""
    if not SECRET_RE.match(secret):
        return None, False
    keys = set(ln.split()[1] for ln in lines[1:] if ln.startswith('" ') and len(ln.split()) > 1)
    complete = all(opt.split()[1] in keys for opt in OPTIONS)
    return secret, complete


def render_dropin(user, methods):
    return ("# %s (totp %s): changes made here are overwritten\n"
            "KbdInteractiveAuthentication yes\n"
            "Match User %s\n"
            "    AuthenticationMethods %s\n" % (MARKER, user, user, methods)).encode("ascii")


def plan_pam(data, enable):
    """Pure: /etc/pam.d/sshd with (enable) or without our line at the top of
    the auth stack (before the first auth line or @include common-auth)."""
    text = (data or b"").decode("utf-8", "surrogateescape")
    lines = text.splitlines(True)
    ours = [i for i, ln in enumerate(lines) if ln.strip() in (PAM_LINE, PAM_COMMENT)]
    rest = [ln for i, ln in enumerate(lines) if i not in ours]
    if not enable:
        return "".join(rest).encode("utf-8", "surrogateescape")
    idx = len(rest)
    for i, ln in enumerate(rest):
        s = ln.strip()
        if s.startswith("@include common-auth") or re.match(r"^-?auth\s", s):
            idx = i
            break
    new = rest[:idx] + [PAM_COMMENT + "\n", PAM_LINE + "\n"] + rest[idx:]
    return "".join(new).encode("utf-8", "surrogateescape")


def apply(module, user, state, methods, secret, probe, prefix="", created_in_run=False):
    """The host side of one user's second factor, under the host lock.

    Returns (result, stored, final): the result dict (changed, enrolled, ...),
    the stored secret for the action plugin (dict(secret=...)) and, for a
    probe, whether a run keeping that secret changes nothing. A probe reads
    only; otherwise ``secret`` (from the action plugin) is enrolled or, with
    state=disabled, this user's factor removed. Failures end the module
    (fail_json) with ``prefix`` before the message. ``created_in_run``: a
    missing account is one the same module run creates (admin's totp option),
    so its probe plans an enrolment instead of failing."""
    enable = state == "enabled"
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        if module.check_mode or (probe and created_in_run):  # made earlier in this (check) run
            return (dict(changed=enable, enrolled=enable, sshd_reloaded=False, new_secret=False,
                         summary="totp %s: no such account yet; it would be enrolled once it exists" % user),
                    dict(secret=None), False)
        module.fail_json(msg="%suser: no account '%s' on the host (create it first, e.g. with "
                             "pbxguard.asterisk.admin)" % (prefix, user))
    ga = os.path.join(pw.pw_dir, ".google_authenticator")
    dropin_dir = sshd.DROPIN_DIR
    dropin = os.path.join(dropin_dir, "pbxguard-totp-%s.conf" % user)

    with files.HostLock():
        ga_old = files.read_bytes(ga)
        have_secret, complete = parse_file(ga_old)
        if probe:
            # read-only: the stored secret for the action plugin, and whether a run keeping
            # that secret would change anything (if not, this probe is the task's result)
            if enable and not have_secret:
                return (dict(changed=True, enrolled=True, sshd_reloaded=False, new_secret=False,
                             summary="totp %s: not enrolled yet; a run enrols it" % user),
                        dict(secret=None), False)
            secret = have_secret
        elif enable and not secret:
            module.fail_json(msg="%ssecret: missing; the action plugin sets it" % prefix)
        group = grp.getgrgid(pw.pw_gid).gr_name
        if enable:
            ga_new = ga_old if (have_secret == secret and complete) else render_file(secret)
            st = os.stat(ga) if ga_old is not None else None
            attrs = st is not None and (st.st_uid, st.st_mode & 0o7777) != (pw.pw_uid, 0o400)
        else:
            ga_new, attrs = None, False
        others = [f for f in glob.glob(os.path.join(dropin_dir, "pbxguard-totp-*.conf")) if f != dropin]
        pam_old = files.read_bytes(PAM_SSHD)
        pam_new = plan_pam(pam_old, enable or bool(others))
        dropin_old = files.read_bytes(dropin)
        dropin_new = render_dropin(user, METHODS[methods]) if enable else None
        changes = dict(file=ga_new != ga_old or attrs, pam=pam_new != pam_old, sshd=dropin_new != dropin_old)
        changed = any(changes.values())
        result = dict(changed=changed, enrolled=enable, sshd_reloaded=False, new_secret=False)
        if enable:
            result["authentication_methods"] = METHODS[methods]
        result["summary"] = ("totp %s: enabled (SSH needs %s)" % (user, METHODS[methods]) if enable
                             else "totp %s: disabled" % user)
        if probe:
            return result, dict(secret=have_secret), not changed
        if changed and not module.check_mode:
            try:
                if changes["file"]:
                    if ga_new is None:
                        os.unlink(ga)
                    else:
                        files.write_atomic(module, ga, ga_new, owner=user, group=group, mode=0o400)
                if changes["pam"]:
                    files.write_atomic(module, PAM_SSHD, pam_new, owner="root", group="root", mode=0o644)
                if changes["sshd"]:
                    sshd.apply(module, {dropin: (dropin_old, dropin_new, "root", "root", 0o644)})
                    result["sshd_reloaded"] = True
                    conf = sshd.effective(module, user, "192.0.2.1")
                    got = " ".join(conf.get("authenticationmethods", []))
                    want = METHODS[methods] if enable else "any"
                    if got != want:
                        module.fail_json(msg="%ssshd -T: AuthenticationMethods for %s is %r, expected %r"
                                             % (prefix, user, got, want), **result)
            except sshd.SshdError as e:
                if changes["pam"]:
                    files.write_atomic(module, PAM_SSHD, pam_old, owner="root", group="root", mode=0o644)
                module.fail_json(msg=prefix + str(e), **result)
            except (IOError, OSError) as e:
                module.fail_json(msg="%swriting failed: %s" % (prefix, e), **result)
    return result, dict(secret=have_secret), False
