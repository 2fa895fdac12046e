# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every audit finding names its fix, and every variable a fix names exists
in the baseline role's argument spec (so no fix points at nothing)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import yaml

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _audit as audit
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _audit_fixes as fixes
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ConfigFile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
# every file that makes findings (the toll audit too: its ids had no fix until it was scanned)
SOURCES = [os.path.join(ROOT, "plugins", "module_utils", "_audit.py"),
           os.path.join(ROOT, "plugins", "module_utils", "_toll_audit.py"),
           os.path.join(ROOT, "plugins", "modules", "audit.py")]


def _ids_in_sources():
    ids = set()
    for p in SOURCES:
        ids.update(re.findall(r'finding\(\s*"([A-Z0-9-]+)"', open(p).read()))
    return ids


def test_every_finding_id_has_a_fix():
    ids = _ids_in_sources()
    assert len(ids) >= 33
    assert set(["TOLL-OPEN-TRUNK", "TOLL-NO-POLICY", "TOLL-UNLIMITED-DURATION", "TOLL-MAX-CONTACTS",
                "AMI-ORIGINATE-SYSTEM", "AST-LIVE-DANGEROUSLY"]) <= ids
    assert sorted(i for i in ids if not fixes.FIXES.get(i)) == []


def test_fix_table_sorted_by_id():
    assert list(fixes.FIXES) == sorted(fixes.FIXES)


def _spec_paths():
    spec = yaml.safe_load(open(os.path.join(ROOT, "roles", "baseline", "meta", "argument_specs.yml")))
    paths = set()

    def walk(opts, prefix):
        for name, o in (opts or {}).items():
            p = prefix + name
            paths.add(p)
            walk(o.get("options"), p + ("[]." if o.get("type") == "list" else "."))
    walk(spec["argument_specs"]["main"]["options"], "")
    return paths


def test_every_named_variable_exists_in_the_argument_spec():
    paths = _spec_paths()
    named = set()
    for text in list(fixes.FIXES.values()) + [fixes.SAMPLES, fixes.ANONYMOUS]:
        named.update(re.findall(r"\b(pbx_[a-z_]+(?:\[\])?(?:\.[a-z_]+(?:\[\])?)*)", text))
    # pbx_extensions.list elements are the extension module's own options (a free dict there)
    missing = sorted(n for n in named if n not in paths and not n.startswith("pbx_extensions.list[]."))
    assert missing == []


def test_sample_objects_get_the_samples_fix_hand_edits_do_not():
    iax = ConfigFile.from_bytes(b'[guest]\ntype=user\ncontext=public\ncallerid="Guest IAX User"\n'
                                b'[visitor]\ntype=user\ncontext=public\n', "/etc/asterisk/iax.conf")
    got = dict((f["message"].split("'")[1], f["fix"]) for f in audit.audit_iax([iax]))
    assert got == {"guest": fixes.SAMPLES, "visitor": fixes.FIXES["IAX-NO-AUTH"]}
    vm = ConfigFile.from_bytes(b"[default]\n1234 => 4242,Example Mailbox,root@localhost\n"
                               b"1235 => 4242,Edited\n", "/etc/asterisk/voicemail.conf")
    got = [(f["id"], f["fix"]) for f in audit.audit_voicemail([vm])]
    assert got == [("VM-TRIVIAL-PIN", fixes.SAMPLES), ("VM-TRIVIAL-PIN", fixes.FIXES["VM-TRIVIAL-PIN"])]
