# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TOTP second factor for SSH (pam_google_authenticator): pure renderers and
parsers. The secret is generated on the controller (pyotp); the host keeps it
in ~USER/.google_authenticator, which this code reads back for idempotence."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy

MARKER = "managed by pbxguard.asterisk"
PAM_LINE = "auth required pam_google_authenticator.so nullok"
PAM_COMMENT = "# %s (totp): second factor for users with ~/.google_authenticator" % MARKER
OPTIONS = ('" RATE_LIMIT 3 30', '" WINDOW_SIZE 3', '" DISALLOW_REUSE', '" TOTP_AUTH')
SECRET_RE = re.compile(r"^[A-Z2-7]{16,128}\Z")
CODE_RE = re.compile(r"^[0-9]{6}\Z")


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
