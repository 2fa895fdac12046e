# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TOTP second factor for SSH (pam_google_authenticator): pure renderers and
parsers, the planner of one user's factor (``plan_factor``, shared by the
totp module and the admin module's totp option) and the totp module's
``TotpChange`` on the change transaction. The secret is generated on the
controller (pyotp); the host keeps it in ~USER/.google_authenticator, which
this code reads back for idempotence. Every file (that one, /etc/pam.d/sshd,
the user's sshd drop-in) is a ``File`` of one plan: when sshd refuses the
result, all of them come back."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _action_plan as action_plan
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _pam as pam
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sshd as sshd
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import Change, File, Plan

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


GA_MODULE = "pam_google_authenticator.so"


def _is_our_comment(line):
    return " ".join(line.split()) == " ".join(PAM_COMMENT.split())


def plan_pam(data, enable):
    """Pure: /etc/pam.d/sshd with (enable) or without our rule at the top of
    the auth stack (before the first auth line or @include common-auth).
    Our rule is recognised by meaning (module/_pam.py), not by its spelling:
    devsec.hardening rewrites every line through community.general.pamd in
    its own spacing, and a rule written as ``auth [success=ok ...]
    /lib/x86_64-linux-gnu/security/pam_google_authenticator.so nullok`` is the
    same rule. The first copy stays where it is, every further copy goes (two
    copies ask for the code twice)."""
    text = (data or b"").decode("utf-8", "surrogateescape")
    lines = text.splitlines(True)
    want = pam.rule_of(PAM_LINE).meaning
    ours = []
    for i, ln in enumerate(lines):
        rule = pam.parse_line(PAM_SSHD, i + 1, ln.split("#", 1)[0])
        if isinstance(rule, pam.Rule) and rule.meaning == want:
            ours.append(i)
    comments = [i for i, ln in enumerate(lines) if _is_our_comment(ln)]
    if enable and ours:
        keep = ours[0]
        drop = set(ours[1:]) | set(c for c in comments if c != keep - 1)
        return "".join(ln for i, ln in enumerate(lines) if i not in drop).encode("utf-8", "surrogateescape")
    rest = [ln for i, ln in enumerate(lines) if i not in set(ours) | set(comments)]
    if not enable:
        return "".join(rest).encode("utf-8", "surrogateescape")
    idx = len(rest)
    for i, ln in enumerate(rest):
        s = ln.strip()
        if s.startswith("@include common-auth") or re.match(r"^-?auth\s", s, re.I):
            idx = i
            break
    new = rest[:idx] + [PAM_COMMENT + "\n", PAM_LINE + "\n"] + rest[idx:]
    return "".join(new).encode("utf-8", "surrogateescape")


def pam_problem(read, pam_new, enable):
    """Plan phase: the auth stack of sshd as PAM will read it with ``pam_new``
    as /etc/pam.d/sshd (following @include and include/substack): with the
    factor enabled exactly one google-authenticator rule (another one, e.g. in
    common-auth or hand-written with other options, would ask for a code
    twice). A text naming file, line and fix, or None."""
    rules = [r for r in pam.stack(read, "sshd", "auth", {PAM_SSHD: pam_new}) if r.module == GA_MODULE]
    if enable and len(rules) > 1:
        others = [r for r in rules if r.meaning != pam.rule_of(PAM_LINE).meaning] or rules[1:]
        where = ", ".join("%s:%d" % (r.path, r.number) for r in others)
        return ("PAM: sshd's auth stack would ask for the google-authenticator code %d times (%s); another "
                "rule than this module's '%s' is at %s; nothing was changed. Remove that rule (this module "
                "keeps one rule in %s)" % (len(rules), "; ".join(repr(r) for r in rules), PAM_LINE, where, PAM_SSHD))
    if enable and not rules:
        return "PAM: sshd's auth stack would not ask for the code (no %s rule reached)" % GA_MODULE
    return None


def live_problems(host, user, methods, prefix=""):
    """sshd's effective configuration for ``user`` (``sshd -T -C``) against
    what the second factor needs: our AuthenticationMethods, keyboard-
    interactive on (the code is asked there) and PAM. Each problem names the
    line that wins instead, when sshd_config has one."""
    spec = "user=%s,addr=192.0.2.1" % user
    conf = sshd.effective(host, user, "192.0.2.1")
    out = []
    got = " ".join(conf.get("authenticationmethods", []))
    if got != METHODS[methods]:
        out.append("%ssshd -T -C %s: AuthenticationMethods is %r, expected %r (another Match block read "
                   "before this module's drop-in sets it)" % (prefix, spec, got, METHODS[methods]))
    for key, needed, keywords in (("kbdinteractiveauthentication", "yes", sshd.KBD_KEYWORDS),
                                  ("usepam", "yes", ("usepam",))):
        value = " ".join(conf.get(key, []))
        if value != needed:
            line = sshd.first_setting(host.read, host.glob, keywords)
            where = (" - %s:%d '%s %s' is read first and sshd keeps the first value; remove it or put the "
                     "Include of %s above it" % (line[0], line[1], line[2], " ".join(line[3]), sshd.DROPIN_DIR)
                     if line else "")
            out.append("%ssshd -T -C %s: %s is %r, the second factor needs %r%s"
                       % (prefix, spec, key, value, needed, where))
    return out


class Factor(object):
    """One user's second factor as planned: ``files`` (the secret file, PAM,
    the drop-in, in write order), the ``result`` dict, ``stored`` (the
    enrolled secret, for the action plugin), ``final`` (a probe: a run keeping
    that secret changes nothing), ``reload`` (the drop-in changes: sshd must
    test and reload) and ``verify(host)`` (problems in sshd's live view)."""

    def __init__(self, files, result, stored, final, reload=False, verify=None, secrets=()):
        self.files = files
        self.result = result
        self.stored = stored
        self.final = final
        self.reload = reload
        self.verify = verify or (lambda host: [])
        self.secrets = [s for s in secrets if s]


def plan_factor(host, user, account, state, methods, secret, probe, prefix=""):
    """Plan one user's second factor, reading through ``host`` only.

    ``account`` is ``host.user(user)``, or the account the same run creates
    (admin's totp option: dict(home, group, pending=True)), or None. A probe
    plans with the enrolled secret; otherwise ``secret`` (from the action
    plugin) is enrolled or, with state=disabled, this user's factor removed.
    Refusals raise PolicyError with ``prefix`` before the option name."""
    enable = state == "enabled"
    if account is None:
        if host.check_mode:  # made earlier in this check run (e.g. by the admin module)
            return Factor([], dict(changed=enable, enrolled=enable, sshd_reloaded=False, new_secret=False,
                                   summary="totp %s: no such account yet; it would be enrolled once it "
                                           "exists" % user), dict(secret=None), False)
        raise policy.PolicyError("%suser: no account '%s' on the host (create it first, e.g. with "
                                 "pbxguard.asterisk.admin)" % (prefix, user))
    ga = os.path.join(account["home"], ".google_authenticator")
    dropin = os.path.join(sshd.DROPIN_DIR, "pbxguard-totp-%s.conf" % user)
    ga_old = host.read(ga)
    have_secret, complete = parse_file(ga_old)
    if probe:
        if enable and not have_secret:
            return Factor([], dict(changed=True, enrolled=True, sshd_reloaded=False, new_secret=False,
                                   summary="totp %s: not enrolled yet; a run enrols it" % user),
                          dict(secret=None), False)
        secret = have_secret
    elif enable and not secret:
        raise policy.PolicyError("%ssecret: missing from %s; the action plugin sets it" % (prefix, action_plan.OPTION))
    group = account["group"]
    if enable:
        ga_new = ga_old if (have_secret == secret and complete) else render_file(secret)
        # an account made in this run does not exist yet to compare owners with
        attrs = ga_old is not None and (account.get("pending") or host.attributes_differ(ga, user, group, 0o400))
    else:
        ga_new, attrs = None, False
    ga_file = File(ga, ga_old, ga_new, owner=user, group=group, mode=0o400, attributes_differ=attrs)
    others = [f for f in host.glob(os.path.join(sshd.DROPIN_DIR, "pbxguard-totp-*.conf")) if f != dropin]
    pam_old = host.read(PAM_SSHD)
    pam_new = plan_pam(pam_old, enable or bool(others)) if (pam_old is not None or enable) else None
    pam_file = sshd.config_file(host, PAM_SSHD, pam_new)
    dropin_file = sshd.config_file(host, dropin, render_dropin(user, METHODS[methods]) if enable else None)
    files = [ga_file, pam_file, dropin_file]
    changed = any(f.changed for f in files)
    if enable:
        # what is live counts: before anything is written (and on a run with nothing to
        # write) sshd must read the drop-in and PAM must ask for the code exactly once
        sshd.require_included(host, dropin, "the second factor of %s" % user, prefix)
        problem = pam_problem(host.read, pam_new, True)
        if problem:
            raise policy.PolicyError(prefix + problem)
        if not changed:
            problems = live_problems(host, user, methods, prefix)
            if problems:
                raise policy.PolicyError("; ".join(problems) + "; nothing was changed")
    result = dict(changed=changed, enrolled=enable, sshd_reloaded=False, new_secret=False)
    if enable:
        result["authentication_methods"] = METHODS[methods]
    result["summary"] = ("totp %s: enabled (SSH needs %s)" % (user, METHODS[methods]) if enable
                         else "totp %s: disabled" % user)

    def verify(h):
        if enable:
            return live_problems(h, user, methods, prefix)
        if not dropin_file.content_changed:
            return []
        # without our Match the user gets the global methods (any, or e.g. devsec's publickey)
        got = " ".join(sshd.effective(h, user, "192.0.2.1").get("authenticationmethods", []))
        if got == METHODS[methods]:
            return ["%ssshd -T: AuthenticationMethods for %s is still %r" % (prefix, user, got)]
        return []

    return Factor(files, result, dict(secret=have_secret), not changed, reload=dropin_file.content_changed,
                  verify=verify, secrets=[secret, have_secret])


def probe_result(result, stored, final):
    """A probe's module result: the plan's result plus what the action plugin
    reads back (the stored secret, whether the probe's result stands)."""
    return dict(result, **{action_plan.PROBE: dict(stored=stored, final=final)})


def system_account_problem(host, user, account):
    """Refuse a system account (uid outside UID_MIN .. UID_MAX of /etc/login.defs): its
    home is a system directory (daemon's is /usr/sbin), no place for a secret file, and
    nobody logs in as it (tests/reliability/test_fuzz.py enrolled 'daemon')."""
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _admin as admin
    try:
        defs = host.read(admin.LOGIN_DEFS)
    except (IOError, OSError):
        defs = None
    low, high = admin.uid_range(defs)
    if not low <= account["uid"] <= high:
        raise policy.PolicyError("user: '%s' is a system account (uid %d, outside UID_MIN %d .. UID_MAX %d of %s); "
                                 "the second factor is only for login accounts (its secret file would go to %s)"
                                 % (user, account["uid"], low, high, admin.LOGIN_DEFS, account["home"]))


class TotpChange(Change):
    """The totp module: the secret file, PAM and the user's sshd drop-in in
    one plan; ``sshd -t`` + reload, then ``sshd -T`` read back."""

    name = "totp"
    daemon = "sshd"

    def validate(self, params):
        from ansible_collections.pbxguard.asterisk.plugins.module_utils._admin import check_username
        errors, out = [], dict(state=params["state"], methods=params["methods"])
        for key, fn in (("user", lambda: check_username(params["user"], "user")),
                        ("plan", lambda: action_plan.check(params.get(action_plan.OPTION), "totp"))):
            try:
                out[key] = fn()
            except policy.PolicyError as e:
                errors.append(str(e))
        if errors:
            raise policy.PolicyError("\n".join(errors))
        return out

    def plan(self, host, spec):
        user, probe = spec["user"], spec["plan"]["probe"]
        account = host.user(user)
        if account is not None and spec["state"] == "enabled":
            system_account_problem(host, user, account)
        factor = plan_factor(host, user, account, spec["state"], spec["methods"],
                             spec["plan"]["secret"], probe)
        if probe:  # read-only: nothing to write, the action plugin decides
            return Plan(probe_result(factor.result, factor.stored, factor.final))
        reloaded = []

        def apply(h):
            if not factor.reload:
                return {}
            reloaded.append(True)
            sshd.test_and_reload(h)
            return dict(sshd_reloaded=True)

        def revert(h):
            if reloaded:
                sshd.reload_quietly(h)

        return Plan(factor.result, factor.files, changed=bool(factor.result["changed"] and not factor.files),
                    apply=apply, verify=factor.verify, revert=revert, secrets=factor.secrets,
                    failure="sshd did not take the second factor of %s; the previous files were restored" % user)
