#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: call_policy
short_description: Toll-fraud defence in the dialplan - allowed destinations and call limits per policy
version_added: 0.3.0
description:
  - Generates the dialplan file C(extensions_pbxguard.conf), which this module owns whole, and pulls
    it into C(extensions.conf) with a C(#tryinclude) line. Hand-written dialplan stays untouched;
    a policy whose context is defined by hand is an error.
  - Each policy becomes a context C(pbxguard-policy-NAME); the extension module's
    option C(extensions[].policy) points an endpoint at it.
  - "Each dialled number is normalised (C(+49301234) and C(0049301234) become C(0301234), C(+44...)
    becomes C(0044...)) and classified by Asterisk's own pattern matching into internal, emergency,
    local, national, mobile, international or premium; the most specific pattern wins. A number that
    matches no class is refused."
  - "A refused call gets SIP 403 Forbidden and a line in Asterisk's security log (level SECURITY)
    naming policy, extension, number, class and reason, e.g. C(pbxguard call-policy: call refused
    policy=staff extension=2001 number=0044201234 class=international reason=class-not-allowed)."
  - "Trunk calls are limited in the dialplan: an absolute timeout (O(policies[].max_call_seconds)),
    concurrent calls per extension with C(GROUP)/C(GROUP_COUNT) (SIP 486 Busy Here over the limit) and
    a sliding one-minute window of call attempts per extension in AstDB (SIP 403 over the limit).
    Internal calls are not limited."
  - Emergency numbers are literal extensions in every policy, always allowed and never limited.
  - Only digits reach a C(Dial) string; any other dialled string is refused (no dialplan injection
    through C(&) or C(,)).
  - Applied with C(dialplan reload) (never a restart) and verified with C(dialplan show CONTEXT)
    (Asterisk must report exactly the extensions and priorities written). If it does not, the
    previous files are restored and reloaded and the task fails with Asterisk's words.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Predicts exactly; writes nothing, reloads nothing.
  diff_mode:
    support: full
    description: Before/after of the generated file and of the include line (no secrets in either).
  safe_file_operations:
    support: full
    description: Temp file in the same directory, then C(atomic_move); restore on rejection.
  idempotent:
    support: full
    description: A rerun with the same input reports no change and does not reload.
extends_documentation_fragment:
  - pbxguard.asterisk.asterisk_version
options:
  numbering:
    description: The numbering plan the numbers are normalised and classified for.
    type: dict
    required: true
    suboptions:
      country_code:
        description: Country calling code, digits (C("49")). Selects built-in mobile, premium and emergency tables.
        type: str
        required: true
      national_prefix:
        description: Trunk prefix of national numbers (C("0")); empty when the plan has none.
        type: str
        default: "0"
      international_prefix:
        description: International call prefix (C("00")).
        type: str
        default: "00"
  emergency:
    description:
      - Emergency numbers, always allowed in every policy and never limited.
      - Default from the country table (Germany C(112), C(110); UK C(999), C(112); ...), else C(112).
    type: list
    elements: str
  trunk:
    description: PJSIP endpoint of the carrier that outside calls are dialled to.
    type: str
    required: true
  class_trunks:
    description: "Another trunk for some classes, e.g. C({emergency: carrier2})."
    type: dict
    default: {}
  classes:
    description:
      - "Patterns per class, replacing that class's defaults. Asterisk patterns on the normalised number:
        C(_) then digits, C(* #), C(X Z N), C([sets]) and an optional final C(.); or a plain number."
      - "Defaults: internal C(_[1-9]XX), C(_[1-9]XXX); local C(_[1-9]XXXX.); national C(_0[1-9]X.);
        international C(_00X.); mobile and premium from the country table (Germany, Austria,
        Switzerland, UK). Another country needs O(classes) C(premium) (C([]) to state there are none)."
      - Two patterns of different classes that match a common number must be a narrower case of one another
        where they differ; otherwise it is an error naming both.
    type: dict
  policies:
    description: The policies; each becomes a dialplan context.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Policy name (letters, digits, C(_), C(-)); the context is C(pbxguard-policy-NAME).
        type: str
        required: true
      allow:
        description: Classes this policy may call (emergency is always allowed). Must allow something.
        type: list
        elements: str
        required: true
      max_call_seconds:
        description: Absolute limit of a trunk call in seconds (C(TIMEOUT(absolute))); 0 = none.
        type: int
        default: 7200
      max_concurrent:
        description: Trunk calls at once per extension; 0 = no limit.
        type: int
        default: 2
      max_calls_per_minute:
        description: Trunk call attempts per extension within any 60 seconds; 0 = no limit.
        type: int
        default: 10
  default_policy:
    description: The policy of extensions that name none (the extension module reads it). Default the first policy.
    type: str
  internal_context:
    description:
      - Hand-written context internal numbers go to (C(Goto)); default C(Dial(PJSIP/NUMBER,60)).
    type: str
  extensions_conf:
    description: Path of C(extensions.conf); the generated file lives next to it.
    type: path
    default: /etc/asterisk/extensions.conf
  backup:
    description: Keep a timestamped copy of each changed file.
    type: bool
    default: false
notes:
  - Refused calls are logged at level SECURITY; the module warns when no logger channel writes it
    (C(security.log => security) in C(logger.conf); the fail2ban role sets it).
  - Concurrent calls and the rate window are per calling channel's endpoint (C(PJSIP/2001)), not per
    caller ID, which a phone can set.
seealso:
  - module: pbxguard.asterisk.extension
"""

EXAMPLES = r"""
- name: Staff may call national and mobile numbers, the lobby phone only internal ones
  pbxguard.asterisk.call_policy:
    numbering: {country_code: "49", national_prefix: "0", international_prefix: "00"}
    emergency: ["112", "110"]
    trunk: carrier
    classes:
      premium: ["_0900X.", "_0137X."]
    policies:
      - name: staff
        allow: [internal, local, national, mobile]
        max_call_seconds: 7200
        max_concurrent: 2
        max_calls_per_minute: 6
      - name: lobby
        allow: [internal]
    default_policy: lobby
"""

RETURN = r"""
contexts:
  description: The policy contexts in the generated file.
  returned: always
  type: list
  elements: str
  sample: [pbxguard-policy-lobby, pbxguard-policy-staff]
default_context:
  description: Context of the default policy.
  returned: always
  type: str
added:
  description: Policies new in this run.
  returned: always
  type: list
  elements: str
removed:
  description: Policies the file had and no longer has.
  returned: always
  type: list
  elements: str
classes:
  description: The effective patterns per class (defaults and overrides).
  returned: always
  type: dict
emergency:
  description: The emergency numbers.
  returned: always
  type: list
  elements: str
policies:
  description: The policies with their limits after defaults.
  returned: always
  type: list
  elements: dict
reloaded:
  description: Whether C(dialplan reload) ran.
  returned: always
  type: bool
security_log:
  description: Whether a logger channel writes the SECURITY level (where refused calls are logged).
  returned: when the host was read (not in check mode with changes)
  type: bool
summary:
  description: One line saying what now holds.
  returned: always
  type: str
asterisk_version:
  description: The Asterisk version found by O(min_asterisk_version).
  returned: when O(min_asterisk_version) is given
  type: str
"""

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils._call_policy import CallPolicyChange
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run


def main():
    run(CallPolicyChange(), dict(
        numbering=dict(type="dict", required=True, options=dict(
            country_code=dict(type="str", required=True),
            national_prefix=dict(type="str", default="0"),
            international_prefix=dict(type="str", default="00"),
        )),
        emergency=dict(type="list", elements="str"),
        trunk=dict(type="str", required=True),
        class_trunks=dict(type="dict", default={}),
        classes=dict(type="dict"),
        policies=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            allow=dict(type="list", elements="str", required=True),
            max_call_seconds=dict(type="int", default=7200),
            max_concurrent=dict(type="int", default=2),
            max_calls_per_minute=dict(type="int", default=10),
        )),
        default_policy=dict(type="str"),
        internal_context=dict(type="str"),
        extensions_conf=dict(type="path", default="/etc/asterisk/extensions.conf"),
        backup=dict(type="bool", default=False),
        min_asterisk_version=dict(type="int"),
    ))


if __name__ == "__main__":
    main()
