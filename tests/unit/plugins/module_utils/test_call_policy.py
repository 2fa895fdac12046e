# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _call_policy as cp
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import consumer_view
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError

STAFF = dict(name="staff", allow=["internal", "local", "national", "mobile"], max_call_seconds=7200,
             max_concurrent=2, max_calls_per_minute=6)
LOBBY = dict(name="lobby", allow=["internal"], max_call_seconds=7200, max_concurrent=2, max_calls_per_minute=10)
DEBIAN = b"[general]\nstatic=yes\n\n[default]\nexten => 1,1,Hangup()\n"


def params(**kw):
    p = dict(numbering={"country_code": "49", "national_prefix": "0", "international_prefix": "00"},
             emergency=["112", "110"], trunk="carrier", class_trunks={}, classes={"premium": ["_0900X.", "_0137X."]},
             policies=[STAFF, LOBBY], default_policy="lobby", internal_context=None)
    p.update(kw)
    return p


def error(**kw):
    with pytest.raises(PolicyError) as e:
        cp.validate(params(**kw))
    return str(e.value)


# ------------------------------------------------------------------ patterns
@pytest.mark.parametrize("text,tokens,tail", [
    ("112", ["1", "1", "2"], False),
    ("_0[1-9]X.", ["0", "123456789", "0123456789"], True),
    ("_NXX", ["23456789", "0123456789", "0123456789"], False),
    ("_*9[#0]", ["*", "9", "#0"], False),
])
def test_parse_pattern(text, tokens, tail):
    got, got_tail = cp.parse_pattern(text, "x")
    assert ["".join(sorted(t)) for t in got] == ["".join(sorted(t)) for t in tokens] and got_tail == tail


@pytest.mark.parametrize("text,rule", [
    ("_0X!", "'!' is not allowed"),
    ("_0X.X", "'.' is not allowed"),
    ("_+49X.", "'+' is not allowed"),
    ("_0[a-z]", "is not a digit range"),
    ("_0[", "without ']'"),
    ("_.", "matches no fixed digit"),
    ("01${X}", "neither a number"),
    ("_0X.,1,Dial(x)", "is not allowed"),
])
def test_parse_pattern_refuses(text, rule):
    with pytest.raises(PolicyError) as e:
        cp.parse_pattern(text, "classes.premium[0]")
    assert str(e.value).startswith("classes.premium[0]: ") and rule in str(e.value)


def P(t):
    return cp.parse_pattern(t, "x")


@pytest.mark.parametrize("a,b,example", [
    ("_0[1-9]X.", "_0900X.", None),      # premium is a narrower case of national
    ("_0[1-9]X.", "_00X.", None),        # disjoint at the second digit
    ("_[1-9]XX", "_[1-9]XXXX.", None),   # 3 digits against 5 or more: no common number
    ("112", "_[1-9]XX", None),           # a literal is always more specific
    ("_0[1-5]X.", "_0[3-9]X.", "0300"),   # [1-5] against [3-9]: Asterisk's pick is arbitrary
    ("_0900X.", "_0900[0-9].", "090000"),  # the same numbers twice
    ("_09X.", "_0[7-9]0X.", None),       # {9} inside [7-9]... then X against 0: nested
])
def test_overlap(a, b, example):
    assert cp.overlap(P(a), P(b)) == example
    assert cp.overlap(P(b), P(a)) == example


# ------------------------------------------------------------------ validate
def test_defaults_for_germany():
    spec = cp.validate(params(classes={}))
    assert spec["patterns"]["national"] == ["_0[1-9]X."]
    assert spec["patterns"]["international"] == ["_00X."]
    assert "_0900X." in spec["patterns"]["premium"] and "_015X." in spec["patterns"]["mobile"]
    assert spec["default_policy"] == "lobby"
    assert ("_0049X.", "0${EXTEN:4}") in spec["normalisation"]


def test_unknown_country_needs_premium():
    msg = error(numbering={"country_code": "999"}, classes={"mobile": ["_07X."]})
    assert msg.startswith("classes.premium: there are no built-in premium-rate ranges for country code 999")
    spec = cp.validate(params(numbering={"country_code": "999"}, classes={"premium": [], "mobile": ["_07X."]}))
    assert spec["patterns"]["premium"] == [] and spec["emergency"] == ["110", "112"]
    # a policy may not allow a class that has no pattern
    assert "policies[0] (staff).allow: class mobile has no pattern (set classes.mobile)" in error(
        numbering={"country_code": "999"}, classes={"premium": []})


@pytest.mark.parametrize("kw,rule", [
    (dict(classes={"satellite": ["_00881X."], "premium": []}), "classes.satellite: unknown class"),
    (dict(classes={"premium": ["_0[1-5]X."], "national": ["_0[3-9]X."]}),
     "classes: classes.national[0] and classes.premium[0] overlap: number 0300 matches both"),
    (dict(classes={"premium": ["112"]}), "overlap"),
    (dict(policies=[dict(STAFF, allow=[])]), "policies[0] (staff).allow: allows nothing"),
    (dict(policies=[dict(STAFF, allow=["emergency"])]), "policies[0] (staff).allow: allows nothing"),
    (dict(policies=[dict(STAFF, allow=["national", "toll"])]), "policies[0] (staff).allow: unknown class 'toll'"),
    (dict(policies=[dict(STAFF, max_call_seconds=-1)]), "policies[0] (staff).max_call_seconds: must not be negative"),
    (dict(policies=[dict(STAFF, max_concurrent=-1)]), "policies[0] (staff).max_concurrent: must not be negative"),
    (dict(policies=[dict(STAFF, max_calls_per_minute=-5)]), "max_calls_per_minute: must not be negative"),
    (dict(policies=[dict(STAFF, name="a,b")]), "policies[0].name: must be letters, digits, _ and - only"),
    (dict(policies=[STAFF, dict(LOBBY, name="STAFF")]), "policies[1] (STAFF).name: listed twice"),
    (dict(trunk="carrier)${SHELL(id)}"), "trunk: contains"),
    (dict(trunk="a@b"), "trunk: a PJSIP endpoint name has no '@' or '/'"),
    (dict(class_trunks={"internal": "x"}), "class_trunks.internal: unknown class or one that uses no trunk"),
    (dict(emergency=["11 2"]), "emergency[0]: must be 1-6 digits"),
    (dict(emergency=[]), "emergency: must list at least one emergency number"),
    (dict(numbering={"country_code": 49}), "numbering.country_code: must be a quoted string of digits"),
    (dict(numbering={"country_code": "49", "international_prefix": "0", "national_prefix": "0"}),
     "must differ from the national prefix"),
    (dict(default_policy="boss"), "default_policy: 'boss' is not one of the policies (staff, lobby)"),
    (dict(internal_context="pbxguard-policy-x"), "internal_context: pbxguard-policy-... contexts are the policies' own"),
])
def test_validate_refuses(kw, rule):
    assert rule in error(**kw)


def test_every_problem_at_once():
    msg = error(trunk="a@b", policies=[dict(STAFF, max_concurrent=-1), dict(LOBBY, allow=[])])
    lines = msg.splitlines()
    assert lines[0].startswith("trunk: ") and lines[1].startswith("policies[0] (staff).max_concurrent: ")
    assert lines[2].startswith("policies[1] (lobby).allow: ")


# -------------------------------------------------------------------- render
def plan(managed=None, conf=DEBIAN, **kw):
    return cp.plan("/nonexistent/extensions.conf", conf, managed, cp.validate(params(**kw)))


def test_render_is_a_valid_config_and_idempotent():
    first = plan()
    view = consumer_view(first["managed"].decode())
    assert not [e for e in view if e[1] in ("invalid", "ignored")]
    cats = [e[2] for e in view if e[1] == "category"]
    assert cats == ["pbxguard-call", "pbxguard-policy-staff", "pbxguard-policy-lobby"]
    assert first["added"] == ["staff", "lobby"]
    second = plan(managed=first["managed"], conf=first["conf"])
    assert second["managed"] == first["managed"] and second["conf"] == first["conf"]
    assert second["added"] == second["removed"] == []


def test_include_added_once_hand_written_kept():
    r = plan()
    assert r["conf"].startswith(DEBIAN)
    assert r["conf"].count(b'#tryinclude "extensions_pbxguard.conf"') == 1


def test_counts_match_the_text():
    r = plan()
    text = r["managed"].decode()
    for ctx, (n_ext, n_prio) in r["counts"].items():
        body = text.split("[%s]\n" % ctx, 1)[1].split("\n[", 1)[0]
        lines = [ln for ln in body.splitlines() if not ln.startswith(";") and ln.strip()]
        assert sum(1 for ln in lines if ln.startswith("exten => ")) == n_ext
        assert len(lines) == n_prio


def test_denied_classes_never_dial_and_emergency_is_literal():
    text = plan()["managed"].decode()
    lobby = text.split("[pbxguard-policy-lobby]\n", 1)[1]
    assert "exten => _0[1-9]X.,1,Set(PBXGUARD_NUMBER=${EXTEN})\n same => n,Gosub(pbxguard-call,s,1(lobby,national,deny,0,0,0))\n same => n,Hangup(21)" in lobby
    assert "@carrier)" not in lobby.replace("Dial(PJSIP/112@carrier)", "").replace("Dial(PJSIP/110@carrier)", "")
    assert "exten => 112,1,Log(NOTICE" in lobby and " same => n,Dial(PJSIP/112@carrier)" in lobby
    staff = text.split("[pbxguard-policy-staff]\n", 1)[1].split("\n[", 1)[0]
    assert "Gosub(pbxguard-call,s,1(staff,national,allow,7200,2,6))\n same => n,Dial(PJSIP/${EXTEN}@carrier)" in staff
    assert "(staff,international,deny,0,0,0)" in staff and "(staff,premium,deny,0,0,0)" in staff


def test_removed_policy_and_hand_written_clash():
    first = plan()
    r = plan(managed=first["managed"], conf=first["conf"], policies=[STAFF], default_policy="staff")
    assert r["removed"] == ["lobby"] and r["removed_contexts"] == ["pbxguard-policy-lobby"]
    with pytest.raises(PolicyError) as e:
        plan(conf=DEBIAN + b"\n[pbxguard-policy-staff]\nexten => 1,1,Hangup()\n")
    assert "context pbxguard-policy-staff is defined by hand at /nonexistent/extensions.conf:7" in str(e.value)


def test_internal_context_must_exist():
    with pytest.raises(PolicyError) as e:
        plan(internal_context="phones")
    assert "internal_context: context phones is not defined" in str(e.value)
    assert "Goto(default,${EXTEN},1)" in plan(internal_context="default")["managed"].decode()


# ------------------------------------------- what the extension module reads
def test_index_and_resolve_contexts():
    managed = plan()["managed"]
    assert cp.read_index(managed) == ({"staff": "pbxguard-policy-staff", "lobby": "pbxguard-policy-lobby"}, "lobby")
    exts = [dict(label="extensions[0] (1)", state="present", policy="staff", context=None),
            dict(label="extensions[1] (2)", state="present", policy=None, context=None),
            dict(label="extensions[2] (3)", state="present", policy=None, context="own")]
    cp.resolve_contexts(exts, managed)
    assert [x["context"] for x in exts] == ["pbxguard-policy-staff", "pbxguard-policy-lobby", "own"]
    none = [dict(label="e", state="present", policy=None, context=None)]
    cp.resolve_contexts(none, None)
    assert none[0]["context"] == "from-internal"
    with pytest.raises(PolicyError) as e:
        cp.resolve_contexts([dict(label="extensions[0] (1)", state="present", policy="boss", context=None)], managed)
    assert str(e.value).startswith("extensions[0] (1).policy: no call policy 'boss' on this host (known: lobby, staff)")


def test_policy_option_excludes_context():
    with pytest.raises(PolicyError) as e:
        cp.check_policy_option(dict(policy="staff", context="x"), "extensions[0] (1)")
    assert "give policy or context, not both" in str(e.value)
    with pytest.raises(PolicyError):
        cp.check_policy_option(dict(policy="st aff"), "extensions[0] (1)")
