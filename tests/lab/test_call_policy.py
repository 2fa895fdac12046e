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


def sipp(lab, *args, timeout=90):
    p = subprocess.run(["python3", os.path.join(CLIENTS, "sipp_call.py")] + [str(a) for a in args],
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
