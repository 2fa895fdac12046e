# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared start of every module: refuse NUL and bytes that are not UTF-8 in
any argument before AnsibleModule sees them (its invocation log to syslog
fails on NUL with a message naming no option, and a non-UTF-8 byte arrives as
a surrogate escape that crashes it). The message names the option and the
rule and never echoes the value."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
import sys

# NUL, and the surrogate escapes U+DC80..U+DCFF a byte that is not UTF-8 becomes
_SUSPECT = re.compile(u"[\x00\udc80-\udcff]")
_SURROGATE = re.compile(u"[\udc80-\udcff]")


def _walk(value, path, problems):
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and k.startswith("_ansible"):
                continue
            _walk(v, "%s.%s" % (path, k) if path else str(k), problems)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _walk(v, "%s[%d]" % (path, i), problems)
    elif isinstance(value, str) and _SUSPECT.search(value):
        # one regex scan per string (a per-character generator cost 0.2 s at 10,000 extensions)
        if "\x00" in value:
            problems.append("%s: contains NUL; not allowed in any value" % path)
        if _SURROGATE.search(value):
            problems.append("%s: contains a byte that is not UTF-8; not allowed in any value" % path)


def problems_of(params):
    """Pure: the problems found in ``params`` (a dict of module arguments)."""
    problems = []
    _walk(params, "", problems)
    return problems


def refuse_bad_bytes():
    """Call first in main(): exits with a failure when an argument holds NUL
    or non-UTF-8 bytes."""
    from ansible.module_utils.basic import _load_params
    problems = problems_of(_load_params())
    if problems:
        # AnsibleModule cannot be built yet (its invocation log is what fails): answer like fail_json
        print(json.dumps({"failed": True, "changed": False, "msg": "; ".join(problems)}))  # pylint: disable=ansible-bad-function
        sys.exit(1)  # pylint: disable=ansible-bad-function
