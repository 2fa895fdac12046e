# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of pbxguard.asterisk.totp: the TOTP secret is generated,
verified against verify_code and rendered as a QR code on the controller
(pyotp, segno); the host only stores it. A new secret is returned for
``register`` with the whole result marked no_log."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

from ansible_collections.pbxguard.asterisk.plugins.plugin_utils._hidden import execute_hidden

from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import check_text, PolicyError
from ansible_collections.pbxguard.asterisk.plugins.module_utils._admin import check_username
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _totp as totp

try:
    import pyotp
    HAS_PYOTP = True
except ImportError:
    pyotp = None
    HAS_PYOTP = False

try:
    import segno
    HAS_SEGNO = True
except ImportError:
    segno = None
    HAS_SEGNO = False

MODULE = "pbxguard.asterisk.totp"
INTERNAL = ("secret", "probe")


def otpauth_uri(secret, user, issuer):
    """RFC 6238 defaults: SHA1, 6 digits, 30 s."""
    return pyotp.TOTP(secret, digits=6, interval=30).provisioning_uri(name=user, issuer_name=issuer)


def code_matches(secret, code, at=None):
    """The code of the current 30 s step or the one before/after (clock drift)."""
    if at is None:
        return bool(pyotp.TOTP(secret).verify(code, valid_window=1))
    return bool(pyotp.TOTP(secret).verify(code, for_time=int(at), valid_window=1))


def write_private(path, data):
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


def qr_png(uri):
    """PNG bytes of the QR code of ``uri`` (deterministic for one URI)."""
    import io
    buf = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(buf, kind="png", scale=6, border=4)
    return buf.getvalue()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def _path(self, value):
        if not value:
            return None
        path = os.path.expanduser(value)
        if not os.path.isabs(path) and self._loader is not None:
            path = os.path.join(self._loader.get_basedir(), path)
        return path

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        for opt in INTERNAL:
            if opt in args:
                result.update(failed=True, msg="%s: internal option set by the action plugin" % opt)
                return result
        state = args.get("state", "enabled")
        code = args.pop("verify_code", None)
        try:
            user = check_username(args.get("user"), "user")
            issuer = check_text(args.get("issuer", "PBX"), "issuer", max_length=100, forbid=":")
            if code is not None:
                code = totp.check_code(code)
        except PolicyError as e:
            result.update(failed=True, msg=str(e))
            return result
        qr_path = self._path(args.get("qr_path"))
        secret_path = self._path(args.get("secret_path"))
        if state == "enabled" and not HAS_PYOTP:
            result.update(failed=True, msg="pbxguard.asterisk.totp needs pyotp on the controller (pip install pyotp)")
            return result
        if state == "enabled" and qr_path and not HAS_SEGNO:
            result.update(failed=True, msg="qr_path: needs segno on the controller (pip install segno)")
            return result

        # One module run when nothing is to be done: the probe reads the live state and plans
        # with the host's own secret; if that changes nothing (and the controller has nothing to
        # write or check against another secret), its result is the task's result.
        probe = execute_hidden(self, MODULE, dict(args, probe=True), task_vars)
        stored = probe.pop("_pbxguard_stored", None)
        final = probe.pop("_pbxguard_final", False)
        if probe.get("failed") or stored is None:
            probe.pop("invocation", None)
            result.update(probe)
            result.setdefault("failed", True)
            return result
        if state == "disabled":
            if final:
                result.update(probe)
                return result
            result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            return result
        if final and stored.get("secret") and (not qr_path or os.path.exists(qr_path)) \
                and (code is None or code_matches(stored["secret"], code)):
            result.update(probe)
            result["new_secret"] = False
            return result

        secret, new = stored.get("secret"), False
        if not secret and secret_path and os.path.exists(secret_path):
            with open(secret_path) as f:
                kept = f.read().strip()
            try:
                secret = totp.check_secret(kept, "secret_path (%s)" % secret_path)
            except PolicyError as e:
                result.update(failed=True, msg=str(e))
                return result
        if not secret:
            secret, new = pyotp.random_base32(length=32), True
        uri = otpauth_uri(secret, user, issuer)
        check = self._play_context.check_mode
        written = []
        if not check:
            if new and secret_path:
                write_private(secret_path, (secret + "\n").encode("ascii"))
            if qr_path and (new or not os.path.exists(qr_path)):
                write_private(qr_path, qr_png(uri))
                written.append(qr_path)
        if code is not None:
            if new:
                result.update(failed=True, changed=bool(written), new_secret=True,
                              msg="verify_code: enrolment pending - this secret was made just now, so no "
                                  "app can show a code for it yet; scan the QR code%s and rerun with a code "
                                  "from the app (nothing was changed on the host)"
                                  % (" at %s" % qr_path if qr_path else ""))
                if not secret_path:
                    result["msg"] += "; give secret_path so the new secret is kept until then"
                return result
            if not code_matches(secret, code):
                result.update(failed=True, msg="verify_code: does not match the enrolled secret (a code is "
                                               "valid for 30 s; check the phone's clock); nothing was changed")
                return result
        res = self._execute_module(module_name=MODULE, module_args=dict(args, secret=secret),
                                   task_vars=task_vars)
        res.pop("_pbxguard_stored", None)
        result.update(res)
        result["new_secret"] = new
        if written:
            result["qr_path"] = qr_path
            result["changed"] = True
        if new and not check and not res.get("failed"):
            result.update(otpauth_uri=uri, secret=secret, _ansible_no_log=True)
        return result
