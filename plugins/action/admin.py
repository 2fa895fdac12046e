# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of pbxguard.asterisk.admin: the password is checked against
the policy and hashed (SHA-512 crypt) on the controller; the host only ever
receives a hash. Idempotence: the stored hashes are read from the host (a
probe run of the module), the password is verified against them here, and a
new hash is made only when it does not verify."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ctypes
import ctypes.util
import hmac
import importlib.util

from ansible.plugins.action import ActionBase

from ansible_collections.pbxguard.asterisk.plugins.plugin_utils._hidden import execute_hidden
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import check_secret, check_username, PolicyError
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _action_plan as action_plan
from ansible_collections.pbxguard.asterisk.plugins.action import totp as totp_action

# passlib (libpass) is imported only when a hash is made, or verified without libcrypt:
# this plugin is imported afresh in every worker process (one per host and task), and
# a no-op run on a fleet makes no hash (~20 ms saved per host).
HAS_PASSLIB = importlib.util.find_spec("passlib") is not None


def _sha512_crypt():
    from passlib.hash import sha512_crypt
    return sha512_crypt


MODULE = "pbxguard.asterisk.admin"
# the one internal option, and the loose ones it replaced (a task setting them is refused by name)
INTERNAL = (action_plan.OPTION, "password_hash", "ari_password_hash", "totp_secret", "probe")
# sshd/PAM and Asterisk (on every ARI request) verify this hash: enough
# rounds to slow guessing, few enough that a login costs ~0.1 s of CPU.
ROUNDS = 100000


def _load_libcrypt():
    """The system's crypt(3) (libxcrypt on Debian), or None. It verifies a
    SHA-512 crypt hash about twice as fast as passlib's pure-Python backend;
    on a fleet the controller verifies one hash per host and run."""
    try:
        name = ctypes.util.find_library("crypt")
        if not name:
            return None
        fn = ctypes.CDLL(name).crypt
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_char_p
    fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return fn


_LIBCRYPT = _load_libcrypt()


def verifies(password, stored):
    """True when ``password`` matches the SHA-512 crypt hash ``stored``."""
    if not stored or not stored.startswith("$6$"):
        return False
    if _LIBCRYPT is not None:
        try:
            out = _LIBCRYPT(password.encode("utf-8"), stored.encode("ascii"))
        except (UnicodeError, ctypes.ArgumentError):
            return False
        return bool(out) and hmac.compare_digest(out, stored.encode("ascii"))
    if not HAS_PASSLIB:
        return False
    try:
        return bool(_sha512_crypt().verify(password, stored))
    except (ValueError, TypeError):
        return False


def make_hash(password):
    return _sha512_crypt().using(rounds=ROUNDS).hash(password)


def decide(password, stored, update):
    """(shadow hash to send or None, ari hash to send or None) from the
    plaintext and what the probe found. Pure apart from hashing."""
    exists = stored.get("user_exists")
    shadow = stored.get("shadow_hash")
    ari = stored.get("ari_hash")
    if password is None:
        return None, None
    shadow_ok = verifies(password, shadow)
    if shadow_ok:
        pw_hash = shadow
    elif exists and update == "on_create":
        pw_hash = None
    else:
        pw_hash = make_hash(password)
    # the ARI hash is usually the shadow hash itself: verified once (~0.05 s each)
    if shadow_ok if (ari and ari == shadow) else verifies(password, ari):
        ari_hash = ari
    elif pw_hash:
        ari_hash = pw_hash
    elif ari:
        ari_hash = ari  # on_create: the stored credential stays authoritative
    elif shadow and shadow.startswith("$6$"):
        ari_hash = shadow
    else:
        ari_hash = make_hash(password)
    return pw_hash, ari_hash


def keeps_stored(pw_hash, ari_hash, stored, api_access):
    """True when a run with these hashes writes exactly what the probe planned
    with the stored ones: no new shadow hash, and no new ARI hash where one is
    used (only with api_access)."""
    if pw_hash not in (None, stored.get("shadow_hash")):
        return False
    return not api_access or ari_hash in (None, stored.get("ari_hash"))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        for opt in INTERNAL:
            if opt in args:
                result.update(failed=True, msg="%s: an internal option of the action plugin, never set in a task; "
                                               "give password instead" % opt)
                return result
        password = args.pop("password", None)
        try:
            check_username(args.get("username", "admin"))
            if password is not None:
                check_secret(password, "password",
                             allow_weak=boolean(args.get("allow_weak", False), strict=False))
        except PolicyError as e:
            result.update(failed=True, msg=str(e))
            return result
        if password is not None and not HAS_PASSLIB:
            result.update(failed=True, msg="password: hashing needs libpass (or passlib) on the controller "
                                           "(pip install libpass)")
            return result

        # The second factor of the same user (option totp) rides on the same module runs.
        prep = None
        if args.get("totp") is not None:
            args["totp"] = dict(args["totp"])
            prep, error = totp_action.prepare(self, args["totp"], args.get("username", "admin"), prefix="totp.")
            if error:
                result.update(failed=True, msg=error)
                return result

        # The probe reads the live state and plans with the stored hashes. When the password
        # verifies against them (nothing new to send) and that plan changes nothing, the probe's
        # result is the task's result: one module run on a host with nothing to do.
        probe = execute_hidden(self, MODULE, dict(args, **{action_plan.OPTION: action_plan.make("admin", probe=True)}),
                               task_vars)
        answer = probe.pop(action_plan.PROBE, None) or {}
        stored, final = answer.get("stored"), answer.get("final", False)
        totp_stored, totp_final = answer.get("totp_stored"), answer.get("totp_final", False)
        if probe.get("failed") or stored is None or (prep and totp_stored is None):
            probe.pop("invocation", None)
            result.update(probe)
            if not probe.get("failed"):  # never report success on an answer that is not complete
                result["msg"] = "internal error: the probe of %s answered without %s" % (
                    MODULE, "the stored state" if stored is None else "the second factor's state")
            result["failed"] = True
            return result
        step = totp_action.plan(self, prep, totp_stored, totp_final) if prep else dict(final=True)
        if step.get("failed"):
            result.update(failed=True, msg=step["msg"], changed=step.get("changed", False))
            return result
        pw_hash, ari_hash = decide(password, stored, args.get("password_update", "always"))
        if final and step["final"] and keeps_stored(pw_hash, ari_hash, stored,
                                                    boolean(args.get("api_access", False), strict=False)):
            result.update(probe)
            if prep and prep["state"] == "enabled":
                result["totp"]["new_secret"] = False
            return result
        try:
            args[action_plan.OPTION] = action_plan.make(
                "admin", password_hash=pw_hash, ari_password_hash=ari_hash,
                totp_secret=step.get("secret") if prep else None)
        except PolicyError as e:  # a stored hash of another scheme (never quoted)
            result.update(failed=True, msg=str(e))
            return result
        res = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        res.pop(action_plan.PROBE, None)
        result.update(res)
        if prep and prep["state"] == "enabled" and isinstance(result.get("totp"), dict):
            totp_action.finish(result["totp"], step, self._play_context.check_mode)
            if step["written"]:
                result["changed"] = True
            if result["totp"].get("secret"):
                # a new secret is in the result (for register): no callback may print it
                result["_ansible_no_log"] = True
        return result
