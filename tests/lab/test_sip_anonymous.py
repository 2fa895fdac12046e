# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxguard.asterisk.sip_transport's toll-fraud settings against a real
Asterisk 22: ``anonymous: false`` (noload + live ``module unload`` of the
anonymous endpoint identifier, no restart) and the PJSIP global
``unidentified_request_*`` values (applied by ``module reload
res_pjsip.so``, read back with ``pjsip show settings``).

The judge is sipp in the outside namespace sending INVITEs without
credentials to a hand-written ``[anonymous]`` endpoint whose context answers
every number: before the module it is answered (200), afterwards challenged
(401), never 100/180/200."""
import os
import re
import subprocess
import json
import time

import pytest

from conftest import CLIENTS

ETC = "/etc/asterisk/"
MANAGED = ETC + "pjsip_transport_pbxguard.conf"
PJSIP = ETC + "pjsip.conf"
MODULES = ETC + "modules.conf"
EXT = ETC + "extensions.conf"
PLANT = ETC + "pjsip_lab_anon.conf"
ANON = "res_pjsip_endpoint_identifier_anonymous.so"
NOLOAD = "noload => " + ANON
WATCHED = (MANAGED, PJSIP, MODULES, PLANT)
ENDPOINT = "[anonymous]\ntype=endpoint\ncontext=lab-anon\ndisallow=all\nallow=ulaw\n"


def task(**kw):
    params = dict(tls={"enabled": False})
    params.update(kw)
    return {"name": "sip transports", "pbxguard.asterisk.sip_transport": params}


def anon_invite(lab, user, port=6950, number="0301234567"):
    """An INVITE without credentials from the outside namespace (sipp)."""
    cmd = ["ip", "netns", "exec", lab.outside_ns, "python3", os.path.join(CLIENTS, "sipp_call.py"), "anon",
           lab.ip, lab.vars["lab_outside_ip"], str(port), user, "-", number, "300"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert p.stdout.strip(), "sipp_call printed nothing: %s" % p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def started(lab):
    m = re.search(r"System uptime:\s*(\d+)", lab.cli("core show uptime seconds"))
    return int(time.time()) - int(m.group(1))


def anon_loaded(lab):
    return ANON in lab.cli("module show like anonymous")


def settings(lab):
    out = lab.cli("pjsip show settings")
    return dict((k, int(v)) for k, v in re.findall(r"^\s*unidentified_request_(\w+)\s+:\s*(\d+)", out, re.M))


def shas(lab):
    return dict((f, lab.sha(f)) for f in WATCHED)


def plant(lab, body=ENDPOINT + "identify_by=ip\n"):
    lab.sh("cat > %s && chown asterisk:asterisk %s && chmod 640 %s" % (PLANT, PLANT, PLANT), input=body)
    lab.sh("touch %s && asterisk -rx 'module reload res_pjsip.so' >/dev/null" % PJSIP)


def unplant(lab):
    """Idempotent: no plant file, no include of it, no lab-anon context."""
    lab.sh("rm -f %s && sed -i '/pjsip_lab_anon.conf/d' %s && sed -i '/^\\[lab-anon\\]$/,+3d' %s"
           " && asterisk -rx 'dialplan reload' >/dev/null && asterisk -rx 'module reload res_pjsip.so' >/dev/null"
           % (PLANT, PJSIP, EXT))


@pytest.fixture(scope="module", autouse=True)
def setup(lab):
    """A hand-written [anonymous] endpoint that only the anonymous identifier
    reaches (identify_by=ip, no identify object), its context answering any
    number; the module's transports and global object in place with the
    anonymous identifier loaded (anonymous: true), so the tests below change
    nothing but what they name."""
    unplant(lab)
    lab.sh("printf '[lab-anon]\\nexten => _X.,1,Answer()\\n same => n,Wait(1)\\n same => n,Hangup()\\n' >> %s"
           " && asterisk -rx 'dialplan reload' >/dev/null" % EXT)
    lab.sh("echo '#include pjsip_lab_anon.conf' >> %s" % PJSIP)
    plant(lab)
    r = lab.playbook([task(anonymous=True)])
    assert not r.failed, r.raw[-3000:]
    assert anon_loaded(lab) and NOLOAD not in lab.read(MODULES).decode()
    yield
    unplant(lab)


def test_planted_anonymous_endpoint_answers_while_the_identifier_runs(lab):
    r = anon_invite(lab, "9999")
    assert r["answer"] == 200, r  # the plant is a real open path: anyone calls any number


def test_check_mode_predicts_unload_and_changes_nothing(lab):
    before = shas(lab)
    r = lab.playbook([task()], check=True, diff=True)
    assert not r.failed and r.last["changed"] and r.last["anonymous_action"] == "unload", r.raw[-2000:]
    assert r.last["restart_needed"] is False and r.last["modules_changed"] is True
    assert any(d["after_header"] == MODULES and NOLOAD in d["after"] for d in r.last["diff"])
    assert shas(lab) == before and anon_loaded(lab)


def test_anonymous_false_unloads_without_restart_and_invites_are_challenged(lab):
    mark = started(lab)
    r = lab.playbook([task()])
    assert not r.failed and r.last["changed"], r.raw[-2000:]
    assert r.last["anonymous_action"] == "unload" and r.last["restarted"] is False
    assert abs(started(lab) - mark) <= 2, "Asterisk restarted"
    assert "0 modules loaded" in lab.cli("module show like anonymous")
    assert NOLOAD in lab.read(MODULES).decode().splitlines()
    for user in ("9999", "anonymous"):
        r = anon_invite(lab, user)
        assert r["answer"] in (401, 403), r
        assert r["provisional"] == [] and not any(" 200 " in f for f in r["finals"]), r


def test_rerun_changes_nothing(lab):
    r = lab.playbook([task()])
    assert not r.failed and r.changed == 0 and r.last["anonymous_action"] is None


def test_noload_holds_across_a_module_reload(lab):
    lab.sh("asterisk -rx 'module reload res_pjsip.so' >/dev/null")
    assert not anon_loaded(lab)


def test_global_values_live(lab):
    assert settings(lab) == {"count": 3, "period": 60, "prune_interval": 60}
    assert "unidentified_request_count=3" in lab.read(MANAGED).decode()


def test_every_unidentified_request_logged(lab):
    """Asterisk 22 without auth_username identification reports each INVITE
    that matches no endpoint at once (what fail2ban counts)."""
    before = lab.sh("grep -c 'No matching endpoint found' /var/log/asterisk/messages.log || true").strip()
    for i in range(3):
        anon_invite(lab, "88%d" % i, port=6960 + 10 * i)
    after = lab.sh("grep -c 'No matching endpoint found' /var/log/asterisk/messages.log || true").strip()
    assert int(after) - int(before or 0) == 3


def test_global_change_is_a_reload_not_a_restart(lab):
    mark = started(lab)
    before = shas(lab)
    r = lab.playbook([task(unidentified_requests={"count": 4, "period": 120})], check=True)
    assert not r.failed and r.last["changed"] and r.last["reload_needed"] is True
    assert shas(lab) == before and settings(lab)["count"] == 3
    r = lab.playbook([task(unidentified_requests={"count": 4, "period": 120})])
    assert not r.failed and r.last["reloaded"] is True and r.last["restarted"] is False, r.raw[-2000:]
    assert r.last["reload_reason"] == ["PJSIP global unidentified_request_count 3 -> 4",
                                       "PJSIP global unidentified_request_period 60 -> 120"]
    assert settings(lab) == {"count": 4, "period": 120, "prune_interval": 60}
    r = lab.playbook([task()])
    assert not r.failed and r.last["reloaded"] is True and settings(lab)["count"] == 3
    assert abs(started(lab) - mark) <= 2


@pytest.mark.parametrize("kw,words", [
    ({"unidentified_requests": {"count": 0}}, "unidentified_requests.count: must be a whole number from 1 to 1000"),
    ({"unidentified_requests": {"prune_interval": 100000}}, "unidentified_requests.prune_interval: must be a whole"),
    ({"unidentified_requests": {"period": "soon"}}, "period"),
    ({"anonymous": "perhaps"}, "anonymous"),
])
def test_bad_values_refused_files_untouched(lab, kw, words):
    before = shas(lab)
    r = lab.playbook([task(**kw)])
    assert r.failed and words in r.last["msg"], r.last.get("msg")
    assert shas(lab) == before


def test_hand_written_global_refused_unless_null(lab):
    plant(lab, ENDPOINT + "identify_by=ip\n\n[global]\ntype=global\nuser_agent=lab\n")
    try:
        before = shas(lab)
        r = lab.playbook([task()])
        assert r.failed and "%s:8 already defines the PJSIP global object ([global], type=global)" % PLANT \
            in r.last["msg"], r.last.get("msg")
        assert "unidentified_requests.enabled: false" in r.last["msg"] and shas(lab) == before
        # opted out: the module writes no global object, the hand-written one applies
        r = lab.playbook([task(unidentified_requests={"enabled": False})])
        assert not r.failed and r.last["reloaded"] is True, r.raw[-2000:]
        assert "type=global" not in lab.read(MANAGED).decode()
        assert "user_agent                                 : lab" in lab.cli("pjsip show settings")
    finally:
        plant(lab)
    r = lab.playbook([task()])
    assert not r.failed and settings(lab)["count"] == 3


def test_anonymous_endpoint_matched_by_user_name_refused(lab):
    """Without identify_by=ip the username identifier takes From: anonymous
    to the endpoint, with the anonymous identifier unloaded or not: the
    module names it and changes nothing."""
    plant(lab, ENDPOINT)
    try:
        assert anon_invite(lab, "anonymous")["answer"] == 200  # the hole the refusal names
        before = shas(lab)
        r = lab.playbook([task()])
        assert r.failed and "%s:1 defines endpoint 'anonymous' without auth and identify_by username,ip" % PLANT \
            in r.last["msg"], r.last.get("msg")
        assert shas(lab) == before
    finally:
        plant(lab)
    assert anon_invite(lab, "anonymous")["answer"] == 401
