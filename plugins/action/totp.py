# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of pbxguard.asterisk.totp: the TOTP secret is generated,
verified against verify_code and rendered as a QR code on the controller
(pyotp, segno); the host only stores it. A new secret is returned for
``register`` with the whole result marked no_log."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
import os

from ansible.plugins.action import ActionBase

from ansible_collections.pbxguard.asterisk.plugins.plugin_utils._hidden import execute_hidden

from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import check_text, check_username, PolicyError
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _totp as totp
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _action_plan as action_plan

# pyotp and segno are imported when used: this plugin is imported afresh in every worker
# process (one per host and task), and a no-op run uses neither (~30 ms saved per host).
HAS_PYOTP = importlib.util.find_spec("pyotp") is not None
HAS_SEGNO = importlib.util.find_spec("segno") is not None

MODULE = "pbxguard.asterisk.totp"
# the one internal option, and the loose ones it replaced (a task setting them is refused by name)
INTERNAL = (action_plan.OPTION, "secret", "probe")


def otpauth_uri(secret, user, issuer):
    """RFC 6238 defaults: SHA1, 6 digits, 30 s."""
    import pyotp
    return pyotp.TOTP(secret, digits=6, interval=30).provisioning_uri(name=user, issuer_name=issuer)


def code_matches(secret, code, at=None):
    """The code of the current 30 s step or the one before/after (clock drift)."""
    import pyotp
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
    import segno
    buf = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(buf, kind="png", scale=6, border=4)
    return buf.getvalue()


def controller_path(action, value):
    if not value:
        return None
    path = os.path.expanduser(value)
    if not os.path.isabs(path) and action._loader is not None:
        path = os.path.join(action._loader.get_basedir(), path)
    return path


def prepare(action, args, user, prefix=""):
    """Validate the controller-side options (``args``: state, issuer, qr_path,
    secret_path, verify_code; verify_code is removed from ``args``) before any
    module run. Returns (plan state dict, None) or (None, error message);
    ``prefix`` names the options inside another module's (admin's "totp.")."""
    state = args.get("state", "enabled")
    code = args.pop("verify_code", None)
    try:
        user = check_username(user, prefix + "user" if prefix else "user")
        issuer = check_text(args.get("issuer", "PBX"), prefix + "issuer", max_length=100, forbid=":")
        if code is not None:
            code = totp.check_code(code, prefix + "verify_code")
    except PolicyError as e:
        return None, str(e)
    qr_path = controller_path(action, args.get("qr_path"))
    secret_path = controller_path(action, args.get("secret_path"))
    if state == "enabled" and not HAS_PYOTP:
        return None, "%s needs pyotp on the controller (pip install pyotp)" % (prefix.rstrip(".") or MODULE)
    if state == "enabled" and qr_path and not HAS_SEGNO:
        return None, "%sqr_path: needs segno on the controller (pip install segno)" % prefix
    return dict(state=state, code=code, user=user, issuer=issuer, qr_path=qr_path, secret_path=secret_path,
                prefix=prefix), None


def plan(action, prep, stored, final):
    """After the probe: what the real run needs. Returns a dict with
    ``final`` (the probe's result stands: nothing to do) and the ``secret``
    a real run would send (None for state=disabled), ``new`` and the
    controller files ``written``, and ``uri`` for a new secret; or ``failed``
    and ``msg`` (nothing was changed on the host)."""
    prefix = prep["prefix"]
    qr_path, secret_path, code = prep["qr_path"], prep["secret_path"], prep["code"]
    if prep["state"] == "disabled":
        return dict(final=final, secret=None, new=False, written=[])
    if final and stored.get("secret") and (not qr_path or os.path.exists(qr_path)) \
            and (code is None or code_matches(stored["secret"], code)):
        return dict(final=True, secret=stored["secret"], new=False, written=[])
    secret, new = stored.get("secret"), False
    if not secret and secret_path and os.path.exists(secret_path):
        with open(secret_path) as f:
            kept = f.read().strip()
        try:
            secret = totp.check_secret(kept, "%ssecret_path (%s)" % (prefix, secret_path))
        except PolicyError as e:
            return dict(failed=True, msg=str(e), written=[])
    if not secret:
        import pyotp
        secret, new = pyotp.random_base32(length=32), True
    uri = otpauth_uri(secret, prep["user"], prep["issuer"])
    written = []
    if not action._play_context.check_mode:
        if new and secret_path:
            write_private(secret_path, (secret + "\n").encode("ascii"))
        if qr_path and (new or not os.path.exists(qr_path)):
            write_private(qr_path, qr_png(uri))
            written.append(qr_path)
    if code is not None:
        if new:
            msg = ("%sverify_code: enrolment pending - this secret was made just now, so no app can show a "
                   "code for it yet; scan the QR code%s and rerun with a code from the app (nothing was "
                   "changed on the host)" % (prefix, " at %s" % qr_path if qr_path else ""))
            if not secret_path:
                msg += "; give %ssecret_path so the new secret is kept until then" % prefix
            return dict(failed=True, msg=msg, changed=bool(written), new_secret=True, written=written)
        if not code_matches(secret, code):
            return dict(failed=True, written=written,
                        msg="%sverify_code: does not match the enrolled secret (a code is valid for 30 s; "
                            "check the phone's clock); nothing was changed" % prefix)
    return dict(final=False, secret=secret, new=new, written=written, uri=uri)


def finish(result, step, check_mode):
    """Add the controller's part of ``step`` to a module result (in place)."""
    result["new_secret"] = step["new"]
    if step["written"]:
        result["qr_path"] = step["written"][-1]
        result["changed"] = True
    if step["new"] and not check_mode and not result.get("failed"):
        result.update(otpauth_uri=step["uri"], secret=step["secret"])
    return result


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        for opt in INTERNAL:
            if opt in args:
                result.update(failed=True, msg="%s: an internal option of the action plugin, never set in a task" % opt)
                return result
        prep, error = prepare(self, args, args.get("user"))
        if error:
            result.update(failed=True, msg=error)
            return result

        # One module run when nothing is to be done: the probe reads the live state and plans
        # with the host's own secret; if that changes nothing (and the controller has nothing to
        # write or check against another secret), its result is the task's result.
        probe = execute_hidden(self, MODULE, dict(args, **{action_plan.OPTION: action_plan.make("totp", probe=True)}),
                               task_vars)
        answer = probe.pop(action_plan.PROBE, None) or {}
        stored, final = answer.get("stored"), answer.get("final", False)
        if probe.get("failed") or stored is None:
            probe.pop("invocation", None)
            result.update(probe)
            if not probe.get("failed"):  # never report success on an incomplete answer
                result["msg"] = "internal error: the probe of %s answered without the stored state" % MODULE
            result["failed"] = True
            return result
        step = plan(self, prep, stored, final)
        if step.get("failed"):
            step.pop("written")
            result.update(step)
            return result
        if step["final"]:
            result.update(probe)
            if prep["state"] == "enabled":
                result["new_secret"] = False
            return result
        margs = dict(args, **{action_plan.OPTION: action_plan.make("totp", secret=step.get("secret"))})
        res = self._execute_module(module_name=MODULE, module_args=margs, task_vars=task_vars)
        res.pop(action_plan.PROBE, None)
        result.update(res)
        if prep["state"] == "enabled":
            finish(result, step, self._play_context.check_mode)
        if result.get("secret"):
            result["_ansible_no_log"] = True
        return result
