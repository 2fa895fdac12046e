# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _toll_audit as ta
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ConfigFile

PJSIP = b"""[carrier]
type=endpoint
context=from-carrier
aors=carrier

[carrier]
type=aor
contact=sip:198.18.0.12:5060

[carrier]
type=identify
endpoint=carrier
match=198.18.0.12

[2001]
type=endpoint
context=%s
auth=2001
"""


def cfg(text, path="/etc/asterisk/x.conf"):
    return [ConfigFile.from_bytes(text, path)]


def run(ext, pjsip_ctx=b"pbxguard-policy-staff", iax=b"", manager=b"", asterisk=b"", policy=None):
    return ta.audit(cfg(ext, "/etc/asterisk/extensions.conf"), cfg(PJSIP % pjsip_ctx, "/etc/asterisk/pjsip.conf"),
                    cfg(iax, "/etc/asterisk/iax.conf"), cfg(manager), cfg(asterisk), policy)


def ids(findings):
    return sorted(f["id"] for f in findings)


def test_inbound_context_reaching_the_trunk_through_include_and_goto():
    ext = b"""[from-carrier]
include => incoming
[incoming]
exten => _X.,1,GotoIf($[1]?outbound,${EXTEN},1)
[outbound]
exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier,60)
[pbxguard-policy-staff]
exten => _0X.,1,Dial(PJSIP/${EXTEN}@carrier)
"""
    f = run(ext)
    assert ids(f) == ["TOLL-OPEN-TRUNK"]
    assert "from-carrier -> incoming -> outbound" in f[0]["message"] and f[0]["line"] == 6


def test_inbound_to_phones_only_is_silent_and_policy_contexts_are_guarded():
    ext = b"""[from-carrier]
exten => _X.,1,Dial(PJSIP/2001)
exten => 99,1,Goto(pbxguard-policy-staff,${EXTEN},1)
[pbxguard-policy-staff]
exten => _0X.,1,Dial(PJSIP/${EXTEN}@carrier)
"""
    assert run(ext) == []


def test_guest_and_local_channels_and_phone_without_policy():
    ext = b"""[public]
exten => _X.,1,Dial(Local/${EXTEN}@out/n)
[out]
exten => _X.,1,Dial(PJSIP/carrier/sip:${EXTEN}@198.18.0.12)
[phones]
exten => _X.,1,Gosub(out,${EXTEN},1)
"""
    iax = b"[guest]\ntype=user\ncontext=public\n"
    f = run(ext, pjsip_ctx=b"phones", iax=iax)
    assert ids(f) == ["TOLL-NO-POLICY", "TOLL-OPEN-TRUNK"]
    assert "IAX user 'guest' without secret" in [x for x in f if x["id"] == "TOLL-OPEN-TRUNK"][0]["message"]


def test_ami_originate_system_live_dangerously_unlimited_policy():
    f = run(b"", manager=b"[general]\n[dialer]\nwrite=originate,system\n[ok]\nwrite=originate\n",
            asterisk=b"[options]\nlive_dangerously = yes\n",
            policy=b"; pbxguard call-policy policy staff allow=national max_call_seconds=0 max_concurrent=2\n")
    assert ids(f) == ["AMI-ORIGINATE-SYSTEM", "AST-LIVE-DANGEROUSLY", "TOLL-UNLIMITED-DURATION"]
