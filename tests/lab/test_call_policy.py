# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxguard.asterisk.call_policy (toll-fraud defence) against a real
Asterisk 22, with a second lab host as the carrier (a plain Asterisk that
answers every call and counts the INVITEs that reach its dialplan, per
number, in its AstDB) and sipp as the phones (REGISTER and INVITE with
digest auth, from the controller's address)."""
import json
import os
import re
import secrets
import subprocess
import threading
import time

import pytest

from conftest import CLIENTS

MANAGED = "/etc/asterisk/extensions_pbxguard.conf"
EXT_CONF = "/etc/asterisk/extensions.conf"
FILES = (MANAGED, EXT_CONF)
SECURITY_LOG = "/var/log/asterisk/security.log"
MAX_SECONDS = int(os.environ.get("LAB_CALL_SECONDS", "6"))  # the staff policy's call limit in the lab

# extensions: 2001 registers (the internal target), 2002 makes the class and
# duration/concurrency calls, 2003 the rate calls, 2004 is the lobby phone
STAFF = {"name": "staff", "allow": ["internal", "local", "national", "mobile"],
         "max_call_seconds": MAX_SECONDS, "max_concurrent": 2, "max_calls_per_minute": 6}
LOBBY = {"name": "lobby", "allow": ["internal"]}


def strong():
    return "Sx%s_%s7" % (secrets.token_hex(4).upper(), secrets.token_hex(4))


def policy_task(**kw):
    params = dict(numbering={"country_code": "49", "national_prefix": "0", "international_prefix": "00"},
                  emergency=["112", "110"], trunk="carrier",
                  classes={"premium": ["_0900X.", "_0137X."]},
                  policies=[STAFF, LOBBY], default_policy="lobby")
    params.update(kw)
    return {"name": "call policy", "pbxguard.asterisk.call_policy": params}


class Carrier(object):
    """The second lab host: plain Asterisk, one endpoint for the PBX."""

    def __init__(self, lab, name="pbx2"):
        self.host = lab.hosts[name]
        self.ip = self.host["ansible_host"]
        self.pid1 = self.host["lab_pid1"]

    def sh(self, cmd):
        p = subprocess.run(["nsenter", "-t", str(self.pid1), "-a", "-r", "-w", "sh", "-c", cmd],
                           text=True, capture_output=True, timeout=60, check=False)
        assert p.returncode == 0, "carrier: %s\n%s%s" % (cmd, p.stdout, p.stderr)
        return p.stdout

    def counts(self):
        """{number: INVITEs that reached the carrier's dialplan}."""
        out = self.sh("asterisk -rx 'database show carrier'")
        return dict((m.group(1), int(m.group(2))) for m in re.finditer(r"^/carrier/(\S+)\s*:\s*(\d+)", out, re.M))

    def total(self):
        return sum(self.counts().values())


def sipp(lab, *args, timeout=90, ns=None):
    cmd = ["python3", os.path.join(CLIENTS, "sipp_call.py")] + [str(a) for a in args]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    p = subprocess.run(cmd,
                       capture_output=True, text=True, timeout=timeout + 60, check=False)
    assert p.stdout.strip(), "sipp_call printed nothing: %s" % p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


_port = [6000]
_port_lock = threading.Lock()


def call(lab, s, ext, number, hold_ms=300):
    """One call from a sipp phone on its own port (calls run side by side)."""
    with _port_lock:
        _port[0] += 10  # sipp takes media ports from -mp upwards
        port = _port[0]
    return sipp(lab, "call", lab.ip, lab.controller_ip, port, ext, s[ext], number, hold_ms)


@pytest.fixture(scope="module")
def s():
    return {n: strong() for n in ("2001", "2002", "2003", "2004")}


@pytest.fixture(scope="module")
def carrier(lab):
    c = Carrier(lab)
    c.sh("cat > /etc/asterisk/pjsip.conf <<'EOF'\n"
         "[udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5060\n\n"
         "[pbx]\ntype=endpoint\ncontext=carrier-in\ndisallow=all\nallow=ulaw,alaw\n\n"
         "[pbx]\ntype=identify\nendpoint=pbx\nmatch=%s\nEOF\n"
         "cat > /etc/asterisk/extensions.conf <<'EOF'\n"
         "[general]\nstatic=yes\nwriteprotect=yes\n\n"
         "[carrier-in]\n"
         "exten => _[0-9].,1,Set(DB(carrier/${EXTEN})=$[0${DB(carrier/${EXTEN})} + 1])\n"
         " same => n,Answer()\n same => n,Wait(120)\n same => n,Hangup()\nEOF\n"
         "asterisk -rx 'database deltree carrier' >/dev/null; systemctl restart asterisk" % lab.ip)
    for dummy in range(60):
        if "udp" in c.sh("asterisk -rx 'pjsip show transports' 2>&1 || true"):
            break
        time.sleep(0.5)
    return c


@pytest.fixture(scope="module", autouse=True)
def pbx(lab, s, carrier):
    """The PBX as an admin sets it up by hand: a UDP transport, the carrier
    trunk and a security log channel; then the policy and the extensions."""
    lab.sh("cat > /etc/asterisk/pjsip_lab.conf <<'EOF'\n"
           "[lab-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5060\n\n"
           "[carrier]\ntype=endpoint\ncontext=from-carrier\ndisallow=all\nallow=ulaw,alaw\naors=carrier\n"
           "direct_media=no\n\n"
           "[carrier]\ntype=aor\ncontact=sip:%s:5060\n\n"
           "[carrier]\ntype=identify\nendpoint=carrier\nmatch=%s\nEOF\n"
           "chown asterisk:asterisk /etc/asterisk/pjsip_lab.conf && chmod 640 /etc/asterisk/pjsip_lab.conf\n"
           "grep -q pjsip_lab.conf /etc/asterisk/pjsip.conf || echo '#include pjsip_lab.conf' >> /etc/asterisk/pjsip.conf\n"
           "grep -q '^security.log' /etc/asterisk/logger.conf || echo 'security.log => security' >> /etc/asterisk/logger.conf\n"
           "systemctl restart asterisk" % (carrier.ip, carrier.ip))
    for dummy in range(60):
        if "lab-udp" in lab.sh("asterisk -rx 'pjsip show transports' 2>&1 || true", check=False):
            break
        time.sleep(0.5)
    r = lab.playbook([policy_task(), ext_task(s)])
    assert not r.failed, r.raw[-3000:]
    return r


def ext_task(s, **over):
    exts = [{"number": "2001", "secret": s["2001"], "policy": "staff"},
            {"number": "2002", "secret": s["2002"], "policy": "staff"},
            {"number": "2003", "secret": s["2003"], "policy": "staff"},
            {"number": "2004", "secret": s["2004"]}]  # no policy: the default, lobby
    for e in exts:
        e.update(over.get(e["number"], {}))
    return {"name": "extensions", "pbxguard.asterisk.extension": {"extensions": exts, "purge": True}}


def security_lines(lab, since=0):
    data = lab.read(SECURITY_LOG) or b""
    return [ln for ln in data.decode("utf-8", "replace").splitlines()[since:] if "pbxguard call-policy" in ln]


def log_len(lab):
    return len((lab.read(SECURITY_LOG) or b"").decode("utf-8", "replace").splitlines())


# ------------------------------------------------------------------ the module
def test_rerun_changes_nothing(lab, s):
    r = lab.playbook([policy_task(), ext_task(s)])
    assert not r.failed and r.changed == 0, r.raw[-2000:]
    assert r.results[0]["reloaded"] is False and r.results[0]["security_log"] is True


def test_contexts_loaded_and_endpoints_pointed_at_them(lab):
    assert "pbxguard-policy-staff" in lab.cli("dialplan show pbxguard-policy-staff")
    assert re.search(r"context\s+: pbxguard-policy-staff", lab.cli("pjsip show endpoint 2002"))
    # no policy named: the default policy's context
    assert re.search(r"context\s+: pbxguard-policy-lobby", lab.cli("pjsip show endpoint 2004"))
    text = lab.read(EXT_CONF).decode()
    assert text.count('#tryinclude "extensions_pbxguard.conf"') == 1


# ------------------------------------------------------------ calls, real phones
def test_international_and_premium_refused_never_reach_carrier(lab, s, carrier):
    before, n = carrier.counts(), log_len(lab)
    for number in ("0044201234567", "+44201234567", "09001234567", "01371234567"):
        r = call(lab, s, "2002", number)
        assert r["answer"] == 403, (number, r)
    assert carrier.counts() == before
    lines = security_lines(lab, n)
    assert any("extension=2002 number=0044201234567 class=international reason=class-not-allowed" in ln
               for ln in lines), lines
    assert any("number=0044201234567 class=international" in ln for ln in lines[1:2]), \
        "+44... is normalised to 0044...: %s" % lines
    assert any("number=09001234567 class=premium" in ln for ln in lines), lines


def test_national_answered_by_carrier(lab, s, carrier):
    before = carrier.counts().get("0301234567", 0)
    r = call(lab, s, "2002", "0301234567")
    assert r["answer"] == 200 and not r["peer_hung_up"], r
    assert carrier.counts().get("0301234567") == before + 1
    # +49 and 0049 are the same national number for the carrier
    r = call(lab, s, "2002", "+49301234567")
    assert r["answer"] == 200, r
    assert carrier.counts().get("0301234567") == before + 2


def test_injection_in_dialled_string_refused(lab, s, carrier):
    before, n = carrier.total(), log_len(lab)
    # '&' would add a second channel to Dial (PJSIP/0044...@carrier); pjsip unescapes %2F and %40
    r = call(lab, s, "2002", "0301234567&PJSIP%2F0044201234%40carrier")
    assert r["answer"] == 403, r
    assert carrier.total() == before
    assert any("reason=invalid-number" in ln for ln in security_lines(lab, n))


def test_third_concurrent_call_refused_and_calls_cut_at_max_seconds(lab, s, carrier):
    before = carrier.total()
    held = [None, None]

    def hold(i):
        held[i] = call(lab, s, "2002", "030123450%d" % i, hold_ms=(MAX_SECONDS + 20) * 1000)

    threads = [threading.Thread(target=hold, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    deadline = time.time() + 15
    while carrier.total() < before + 2 and time.time() < deadline:
        time.sleep(0.2)
    reached = carrier.total() - before
    third = call(lab, s, "2002", "0301234509") if reached == 2 else None
    for t in threads:
        t.join()
    assert reached == 2, ("both held calls reach the carrier", held)
    assert third["answer"] == 486, third
    assert carrier.total() == before + 2, "the third call never reached the carrier"
    for h in held:
        assert h["answer"] == 200 and h["peer_hung_up"], h
        # TIMEOUT(absolute) starts before the Dial: the cut comes at most MAX_SECONDS after the answer
        assert MAX_SECONDS - 1.5 <= h["seconds_to_bye"] <= MAX_SECONDS + 1.0, h


def test_seventh_attempt_within_a_minute_refused(lab, s, carrier):
    results = [call(lab, s, "2003", "03012345%02d" % i) for i in range(7)]
    answers = [r["answer"] for r in results]
    assert answers == [200] * 6 + [403], answers
    assert "reason=max-calls-per-minute-6" in security_lines(lab)[-1]
    # emergency numbers are never limited, even now
    r = call(lab, s, "2003", "112")
    assert r["answer"] == 200, r


def test_emergency_goes_through_from_every_policy(lab, s, carrier):
    before = carrier.counts()
    for ext, number in (("2004", "112"), ("2004", "110"), ("2002", "110")):
        r = call(lab, s, ext, number)
        assert r["answer"] == 200, (ext, number, r)
    after = carrier.counts()
    assert after.get("112", 0) == before.get("112", 0) + 1
    assert after.get("110", 0) == before.get("110", 0) + 2


def test_lobby_internal_only(lab, s, carrier):
    # 2001 registers with sipp; a sipp UAS answers at its contact
    reg = sipp(lab, "register", lab.ip, lab.controller_ip, 6500, "2001", s["2001"], 6600, 120)
    assert reg["answer"] == 200 or reg["rc"] == 0, reg
    answered = {}

    def phone():
        answered.update(sipp(lab, "answer", lab.ip, lab.controller_ip, 6600, "2001", "-", "-", 30))

    t = threading.Thread(target=phone)
    t.start()
    time.sleep(0.5)
    r = call(lab, s, "2004", "2001")
    t.join()
    assert r["answer"] == 200, r
    assert answered.get("answer") == 200 and answered.get("peer_hung_up"), answered
    before = carrier.total()
    for number in ("0301234567", "01511234567", "0044201234567"):
        r = call(lab, s, "2004", number)
        assert r["answer"] == 403, (number, r)
    assert carrier.total() == before


# ------------------------------------------------- check, diff, bad input, restore
def test_check_mode_predicts_and_writes_nothing(lab, s):
    before = [lab.sha(f) for f in FILES]
    lobby = dict(LOBBY, allow=["internal", "local"])
    r = lab.playbook([policy_task(policies=[STAFF, lobby])], check=True, diff=True)
    assert not r.failed and r.changed == 1, r.raw[-2000:]
    assert r.last["reloaded"] is False
    diff = r.last["diff"]
    text = "".join(d["after"] for d in (diff if isinstance(diff, list) else [diff]))
    assert "local,allow" in text and "lobby" in text
    assert [lab.sha(f) for f in FILES] == before
    # the real run does what check mode said, and reloads once
    r = lab.playbook([policy_task(policies=[STAFF, lobby])])
    assert not r.failed and r.changed == 1 and r.last["reloaded"] is True, r.raw[-2000:]
    assert "local,allow" in lab.cli("dialplan show pbxguard-policy-lobby")
    r = lab.playbook([policy_task()])
    assert not r.failed and r.changed == 1


BAD = [
    (dict(classes={"premium": ["_0900X."], "satellite": ["_00881X."]}), "classes.satellite: unknown class"),
    (dict(classes={"premium": ["_0[1-5]X."], "national": ["_0[3-9]X."]}), "overlap: number 03"),
    (dict(classes={"premium": ["_0900X."], "mobile": ["_0900X."]}), "overlap"),
    (dict(policies=[dict(STAFF, allow=[]), LOBBY]), "policies[0] (staff).allow: allows nothing"),
    (dict(policies=[dict(STAFF, allow=["national", "satellite"]), LOBBY]), "unknown class 'satellite'"),
    (dict(policies=[dict(STAFF, max_call_seconds=-1), LOBBY]), "policies[0] (staff).max_call_seconds: must not be negative"),
    (dict(policies=[dict(STAFF, max_concurrent=-2), LOBBY]), "max_concurrent: must not be negative"),
    (dict(trunk="carrier,1)${SHELL(id)}"), "trunk: contains"),
    (dict(trunk="${SHELL(id)}"), "trunk: contains"),
    (dict(classes={"premium": ["_0900X.&PJSIP/x"]}), "classes.premium[0]"),
    (dict(classes={"premium": ["_0900X.", "_${EXTEN}"]}), "classes.premium[1]"),
    (dict(emergency=["112", "11;2"]), "emergency[1]: must be 1-6 digits"),
    (dict(numbering={"country_code": "4$9"}), "numbering.country_code: must be 1-3 digits"),
    (dict(policies=[dict(STAFF, name="staff]\n[evil"), LOBBY]), "policies[0].name"),
    (dict(default_policy="boss"), "default_policy: 'boss' is not one of the policies"),
]


@pytest.fixture(scope="module")
def bad_runs(lab):
    """Every bad input as one task of one playbook (ignore_errors: one
    ansible-playbook start instead of one per case), the files' hashes
    and Asterisk's last reload around it."""
    before = [lab.sha(f) for f in FILES]
    tasks = []
    for over, dummy in BAD:
        t = policy_task(**over)
        t["ignore_errors"] = True
        tasks.append(t)
    t0 = time.time()
    r = lab.playbook(tasks)
    took = time.time() - t0
    return dict(result=r, before=before, after=[lab.sha(f) for f in FILES], took=took,
                last_reload=lab.last_reload())


@pytest.mark.parametrize("i", range(len(BAD)), ids=[b[1][:30] for b in BAD])
def test_bad_input_refused_files_untouched(bad_runs, i):
    res = bad_runs["result"].results[i]
    assert res.get("failed"), res
    assert BAD[i][1] in res.get("msg", ""), res.get("msg")
    assert bad_runs["after"] == bad_runs["before"]
    # no reload during the run: the last one is older than the run (1 s of rounding)
    assert bad_runs["last_reload"] >= int(bad_runs["took"]) - 1


def test_extension_with_unknown_policy_refused_before_any_write(lab, s):
    files = ("/etc/asterisk/pjsip_pbxguard.conf", "/etc/asterisk/pjsip.conf")
    before = [lab.sha(f) for f in files]
    r = lab.playbook([ext_task(s, **{"2003": {"policy": "boss"}})])
    assert r.failed and "extensions[2] (2003).policy: no call policy 'boss'" in r.last["msg"], r.last.get("msg")
    assert [lab.sha(f) for f in files] == before


def test_hand_written_context_clash_refused(lab):
    lab.sh("cp -p %s /tmp/ext.bak && printf '\\n[pbxguard-policy-boss]\\nexten => 1,1,Hangup()\\n' >> %s" % (EXT_CONF, EXT_CONF))
    try:
        before = [lab.sha(f) for f in FILES]
        r = lab.playbook([policy_task(policies=[STAFF, LOBBY, dict(name="boss", allow=["international"])])])
        assert r.failed and "context pbxguard-policy-boss is defined by hand at %s:" % EXT_CONF in r.last["msg"]
        assert [lab.sha(f) for f in FILES] == before
    finally:
        lab.sh("cp -p /tmp/ext.bak %s" % EXT_CONF)


def test_rejected_dialplan_restored(lab):
    """A hand-written include that matches nothing makes Asterisk declare
    extensions.conf invalid (config.c): the reload loads none of the new
    contexts, the module sees it in 'dialplan show', restores both files and
    reloads the old ones."""
    lab.sh("cp -p %s /tmp/ext.bak && printf '\\n#include \"nothing-here-*.conf\"\\n' >> %s" % (EXT_CONF, EXT_CONF))
    try:
        before = [lab.sha(f) for f in FILES]
        lobby = dict(LOBBY, allow=["internal", "mobile"])
        r = lab.playbook([policy_task(policies=[STAFF, lobby])])
        assert r.failed, r.raw[-1500:]
        assert "restored" in r.last["msg"], r.last["msg"]
        print("REJECTION MESSAGE:", r.last["msg"])
        assert [lab.sha(f) for f in FILES] == before
    finally:
        lab.sh("cp -p /tmp/ext.bak %s && asterisk -rx 'dialplan reload'" % EXT_CONF)
    r = lab.playbook([policy_task()])
    assert not r.failed and r.changed == 0


def toll_findings(lab):
    r = lab.playbook([{"name": "audit", "pbxguard.asterisk.audit": {}}])
    assert not r.failed, r.raw[-1500:]
    return [f for f in r.last["findings"] if f["id"].startswith(("TOLL-", "AMI-ORIGINATE", "AST-LIVE"))]


def test_audit_finds_a_planted_dialplan_hole_and_is_silent_without(lab):
    # the carrier's inbound context, written by hand, sends every number back out to the carrier
    lab.sh("cp -p %s /tmp/ext.bak && printf '\\n[from-carrier]\\ninclude => transit\\n\\n[transit]\\n"
           "exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\\n' >> %s" % (EXT_CONF, EXT_CONF))
    try:
        found = toll_findings(lab)
        assert [f["id"] for f in found] == ["TOLL-OPEN-TRUNK"], found
        assert "calls from trunk 'carrier'" in found[0]["message"] and "from-carrier -> transit" in found[0]["message"]
        assert found[0]["severity"] == "critical" and found[0]["file"] == EXT_CONF
    finally:
        lab.sh("cp -p /tmp/ext.bak %s" % EXT_CONF)
    assert toll_findings(lab) == []


# --------------------------------------------------------- registration limits
def contacts(lab, ext):
    return re.findall(r"Contact:\s+%s/sip:%s@[0-9.]+:(\d+)" % (ext, ext), lab.cli("pjsip show aor %s" % ext))


def test_second_contact_replaces_or_is_refused(lab, s):
    # max_contacts 1 with remove_existing (the default): the newer contact replaces the older
    for port, contact in ((6710, 6711), (6720, 6721)):
        r = sipp(lab, "register", lab.ip, lab.controller_ip, port, "2002", s["2002"], contact, 120)
        assert r["answer"] == 200, r
    assert contacts(lab, "2002") == ["6721"], lab.cli("pjsip show aor 2002")
    # remove_existing: false - the second contact is refused while the first is registered
    r = lab.playbook([policy_task(), ext_task(s, **{"2003": {"remove_existing": False}})])
    assert not r.failed and r.last["updated"] == ["2003"], r.raw[-1500:]
    assert "remove_existing=no" in lab.read("/etc/asterisk/pjsip_pbxguard.conf").decode()
    r = sipp(lab, "register", lab.ip, lab.controller_ip, 6730, "2003", s["2003"], 6731, 120)
    assert r["answer"] == 200, r
    r = sipp(lab, "register", lab.ip, lab.controller_ip, 6740, "2003", s["2003"], 6741, 120)
    assert r["answer"] == 403, r
    assert contacts(lab, "2003") == ["6731"]
    r = lab.playbook([policy_task(), ext_task(s)])
    assert not r.failed and r.last["updated"] == ["2003"]


def test_anonymous_invite_from_outside_rejected(lab, carrier):
    """No anonymous endpoint: an INVITE from the outside namespace with a
    user that is no endpoint, or a real one with a wrong secret, never gets a
    call up and never reaches the carrier."""
    before = carrier.total()
    for user in ("anonymous", "2002"):
        r = sipp(lab, "call", lab.ip, lab.vars["lab_outside_ip"], 6800, user, "Wrong_Secret1", "0301234567", 300,
                 ns=lab.outside_ns)
        # a digest challenge again (wrong secret, or the fake one for an unknown user), never a call
        assert r["answer"] in (401, 403), r
    assert carrier.total() == before


# ------------------------------------------- issue 17: a planted hole and the baseline
ANON_PLANT = "/etc/asterisk/pjsip_lab_anon.conf"
OPEN_IDS = ("TOLL-", "AMI-ORIGINATE", "AST-LIVE")


def test_planted_anonymous_hole_found_then_closed_by_the_baseline(lab, s, carrier):
    """A hand-written [anonymous] endpoint (reached only through PJSIP's
    anonymous identifier) whose context includes one that dials the trunk:
    an INVITE without credentials from the outside reaches the carrier and
    the audit names the hole. The fleet baseline (call policy, extensions,
    sip_transport with its anonymous default) unloads the identifier without
    a restart of its own: the same INVITE is challenged, the carrier's count
    stays, and the audit has no toll finding left. Last in the file: the
    baseline moves the managed SIP transport to 5062 (the lab's hand-written
    one keeps 5060)."""
    lab.sh("cp -p %s /tmp/ext-anon.bak && printf '\\n[from-anon]\\ninclude => anon-transit\\n\\n[anon-transit]\\n"
           "exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\\n' >> %s" % (EXT_CONF, EXT_CONF))
    lab.sh("printf '[anonymous]\\ntype=endpoint\\ncontext=from-anon\\nidentify_by=ip\\ndisallow=all\\n"
           "allow=ulaw,alaw\\n' > %s && chown asterisk:asterisk %s && chmod 640 %s"
           " && (grep -q pjsip_lab_anon.conf /etc/asterisk/pjsip.conf"
           " || echo '#include pjsip_lab_anon.conf' >> /etc/asterisk/pjsip.conf)"
           " && sed -i '/res_pjsip_endpoint_identifier_anonymous.so/d' /etc/asterisk/modules.conf"
           " && (asterisk -rx 'module load res_pjsip_endpoint_identifier_anonymous.so' || true)"
           " && asterisk -rx 'module reload res_pjsip.so' && asterisk -rx 'dialplan reload'"
           % (ANON_PLANT, ANON_PLANT, ANON_PLANT))
    try:
        before = carrier.total()
        r = sipp(lab, "anon", lab.ip, lab.vars["lab_outside_ip"], 6850, "9999", "-", "0301234567", 300,
                 ns=lab.outside_ns)
        assert r["answer"] == 200 and carrier.total() == before + 1, r  # toll fraud, at the carrier
        found = [f for f in toll_findings(lab) if f["severity"] != "info"]
        assert [f["id"] for f in found] == ["TOLL-OPEN-TRUNK"], found
        assert "the PJSIP anonymous endpoint 'anonymous'" in found[0]["message"]
        assert "from-anon -> anon-transit" in found[0]["message"] and found[0]["severity"] == "critical"
        assert found[0]["fix"].startswith("pbx_sip_transport.anonymous: false")
        exts = ext_task(s)["pbxguard.asterisk.extension"]
        play_vars = {"pbx_call_policy": policy_task()["pbxguard.asterisk.call_policy"],
                     "pbx_extensions": {"list": exts["extensions"], "purge": True},
                     "pbx_sip_transport": {"udp": {"port": 5062}, "tcp": {"enabled": False}}}
        r = lab.playbook([{"name": "baseline", "ansible.builtin.include_role": {"name": "pbxguard.asterisk.baseline"}}],
                         play_vars=play_vars)
        assert not r.failed, r.raw[-3000:]
        st = [x for x in r.results if "anonymous_identifier" in x]
        assert st and st[-1]["anonymous_identifier"] == "not loaded", r.raw[-3000:]
        assert "0 modules loaded" in lab.cli("module show like anonymous")
        before = carrier.total()
        for user in ("9999", "anonymous"):
            r = sipp(lab, "anon", lab.ip, lab.vars["lab_outside_ip"], 6860, user, "-", "0301234567", 300,
                     ns=lab.outside_ns)
            assert r["answer"] in (401, 403) and r["provisional"] == [], r
        assert carrier.total() == before
        left = [f for f in toll_findings(lab) if f["id"].startswith(OPEN_IDS)]
        assert left == [], left
    finally:
        lab.sh("cp -p /tmp/ext-anon.bak %s && rm -f %s && sed -i '/pjsip_lab_anon.conf/d' /etc/asterisk/pjsip.conf"
               " && asterisk -rx 'dialplan reload' && asterisk -rx 'module reload res_pjsip.so'"
               % (EXT_CONF, ANON_PLANT))
