# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one internal option ``_plan`` an action plugin hands its module.

The controller side of admin and totp (hashing, the TOTP secret) decides
what the host side needs and passes it as one dict, never as loose options:

- admin, shape ``pbxguard.asterisk.admin/v1``: ``probe`` (bool: read the
  stored hashes and plan with them, change nothing), ``password_hash`` and
  ``ari_password_hash`` (SHA-512 crypt), ``totp_secret`` (base32)
- totp, shape ``pbxguard.asterisk.totp/v1``: ``probe``, ``secret`` (base32)

A probe answers in one result key, ``_pbxguard_probe`` (``PROBE``): what
it read back (``stored``: hashes or the enrolled secret) and whether its
result stands (``final``); admin's adds ``totp_stored``/``totp_final``.

Every key but ``shape`` may be left out (None / False). ``check`` is the one
validator (the module's side); ``make`` builds and checks a plan (the action
plugin's side), so both ends agree on one definition. The option is
``no_log``: every string in it is masked in any output; the shape name is a
string, not a number, because Ansible would mask a number's digits
everywhere."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError

OPTION = "_plan"
# the one key a probe's result carries back to the action plugin:
# dict(stored=..., final=...) and, for admin with totp, totp_stored/totp_final
PROBE = "_pbxguard_probe"


def _bool(value, name):
    if not isinstance(value, bool):
        raise PolicyError("%s: must be true or false" % name)
    return value


def _hash(value, name):
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._admin import check_hash
    return check_hash(value, name)


def _secret(value, name):
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._totp import check_secret
    return check_secret(value, name)


# kind -> {key: checker}; a new key or meaning is a new shape version
FIELDS = {
    "admin": {"probe": _bool, "password_hash": _hash, "ari_password_hash": _hash, "totp_secret": _secret},
    "totp": {"probe": _bool, "secret": _secret},
}


def shape(kind):
    return "pbxguard.asterisk.%s/v1" % kind


def check(value, kind, option=OPTION):
    """The plan of module ``kind`` as a dict with every key (None/False when
    left out), or PolicyError naming the key and the rule (never a value)."""
    fields = FIELDS[kind]
    out = dict((k, False if k == "probe" else None) for k in fields)
    if value is None:
        return out
    if not isinstance(value, dict):
        raise PolicyError("%s: must be a dict (internal, set by the action plugin of pbxguard.asterisk.%s; "
                          "never set it in a task)" % (option, kind))
    if value.get("shape") != shape(kind):
        raise PolicyError("%s.shape: must be %r (the action plugin and the module of pbxguard.asterisk.%s "
                          "must come from the same collection version)" % (option, shape(kind), kind))
    unknown = sorted(str(k) for k in value if k != "shape" and k not in fields)
    if unknown:
        raise PolicyError("%s: unknown key%s %s (shape %s has: %s)" % (
            option, "" if len(unknown) == 1 else "s", ", ".join(unknown), shape(kind), ", ".join(sorted(fields))))
    for key, checker in fields.items():
        if value.get(key) is not None:
            out[key] = checker(value[key], "%s.%s" % (option, key))
    return out


def make(kind, **values):
    """A checked plan for module ``kind`` (None values left out)."""
    plan = dict((k, v) for k, v in values.items() if v is not None)
    plan["shape"] = shape(kind)
    check(plan, kind)
    return plan
