# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

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


@pytest.mark.parametrize("value,found", [("t", True), ("On", True), ("1", True), ("no", False), ("", False)])
def test_live_dangerously_read_as_ast_true_reads_it(value, found):
    # asterisk.conf's options are read with ast_true(): "t" is true too (the audit's own list missed it)
    f = run(b"", asterisk=b"[options]\nlive_dangerously = " + value.encode() + b"\n")
    assert ("AST-LIVE-DANGEROUSLY" in ids(f)) == found


# ------------------------------------------------- anonymous endpoint, max_contacts
OPEN_DIAL = b"""[anon-in]
include => transit
[transit]
exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)
"""
MODS = b"[modules]\nautoload=yes\n"
NOLOAD = MODS + b"noload => res_pjsip_endpoint_identifier_anonymous.so\n"


def anon_run(endpoint, modules):
    pjsip = cfg(PJSIP % b"pbxguard-policy-staff" + b"\n" + endpoint, "/etc/asterisk/pjsip.conf")
    return ta.audit(cfg(OPEN_DIAL, "/etc/asterisk/extensions.conf"), pjsip, cfg(b""), cfg(b""), cfg(b""), None, modules)


def test_anonymous_endpoint_reached_through_the_identifier_or_its_user_name():
    plain = b"[anonymous]\ntype=endpoint\ncontext=anon-in\n"
    ip_only = plain + b"identify_by=ip\n"
    f = anon_run(ip_only, MODS)
    assert ids(f) == ["TOLL-OPEN-TRUNK"] and f[0]["severity"] == "critical"
    assert "the PJSIP anonymous endpoint 'anonymous'" in f[0]["message"]
    assert "the anonymous identifier (res_pjsip_endpoint_identifier_anonymous.so)" in f[0]["message"]
    assert f[0]["fix"].startswith("pbx_sip_transport.anonymous: false")
    # the noload: an endpoint only the anonymous identifier reaches is no way in
    assert anon_run(ip_only, NOLOAD) == []
    # without identify_by=ip the username identifier still takes From: anonymous to it
    f = anon_run(plain, NOLOAD)
    assert ids(f) == ["TOLL-OPEN-TRUNK"] and "identify_by username (From/Authorization/Request-URI user " \
        "'anonymous')" in f[0]["message"]
    # with auth it is challenged like any phone (and judged like one: no call policy)
    assert ids(anon_run(plain + b"auth=anon\n", MODS)) == ["TOLL-NO-POLICY"]
    # modules.conf unreadable: taken as loaded
    assert ids(anon_run(ip_only, None)) == ["TOLL-OPEN-TRUNK"]
    assert ids(anon_run(b"[anonymous@example.com]\ntype=endpoint\ncontext=anon-in\nidentify_by=ip\n",
                        MODS)) == ["TOLL-OPEN-TRUNK"]


def test_max_contacts_above_the_limit():
    pjsip = b"[2001]\ntype=aor\nmax_contacts=11\n[2002]\ntype=aor\nmax_contacts=10\n[t](!)\ntype=aor\n" \
            b"max_contacts=50\n[2003]\ntype=aor\n"
    f = ta.max_contacts(cfg(pjsip, "/etc/asterisk/pjsip.conf"))
    assert [(x["id"], x["line"], x["severity"]) for x in f] == [("TOLL-MAX-CONTACTS", 1, "medium")]
    assert "aor '2001' takes up to 11 contacts" in f[0]["message"]
    assert f[0]["fix"].startswith("pbx_extensions.list[].max_contacts")
