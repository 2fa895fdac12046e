# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alert mails of role pbxguard.asterisk.fail2ban against a real fail2ban 1.1,
Asterisk 22 and a real SMTP server (aiosmtpd, tests/lab/lab_smtp.py) on the
controller side: the host sends through the account of pbxguard.asterisk.mail
(STARTTLS, login). A real ban (wrong SIP passwords from the outside client)
mails each administrator address once; further bans within the period mail
nobody and are counted in the next mail; a burst of calls the call policy
refused (real sipp calls) mails once and bans nothing; attacker-chosen text
(an AMI user name with shell and quote characters, CR/LF in what fail2ban
passes) neither runs on the host nor adds a mail header."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import CLIENTS
from lab_smtp import CA_ON_HOST, SMTP_NAME, USER, parse, start

ADMINS = ["ops@lab.test", "noc@lab.test"]
SENDER = "pbx1@lab.test"
NUMBER = "3101"
LOBBY = "2004"
SIP_SECRET = "Sx9kQ_7f2bALERT"
LOBBY_SECRET = "Lx4mP_9f2bALERT"
AMI_USER = "f2balert"
AMI_SECRET = "Ax9kQ_7f2bALERT"
MAXRETRY = 3
STATE = "/var/lib/pbxguard-alert/state.json"
ACTION = "/etc/fail2ban/action.d/pbxguard-alert.conf"
SCRIPT = "/usr/local/lib/pbxguard-alert/pbxguard_alert.py"
# what a mail from pbxguard-alert carries, no more (msmtp adds From)
HEADERS = {"To", "Date", "Message-ID", "Auto-Submitted", "Subject", "From", "MIME-Version",
           "Content-Type", "Content-Transfer-Encoding"}


def run(cmd, ns=None, timeout=60):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def role(**kw):
    v = {"fail2ban_maxretry": MAXRETRY, "fail2ban_findtime": 600, "fail2ban_bantime": 600,
         "fail2ban_alert_emails": ["ops@lab.test; noc@lab.test"], "fail2ban_alert_period": 3600,
         "fail2ban_alert_calls_maxretry": MAXRETRY, "fail2ban_alert_calls_findtime": 600}
    v.update(kw)
    return {"name": "fail2ban role", "ansible.builtin.include_role": {"name": "pbxguard.asterisk.fail2ban"}, "vars": v}


def banned(lab, jail):
    m = re.search(r"Banned IP list:\s*(.*)", lab.sh("fail2ban-client status %s" % jail))
    return m.group(1).split() if m else []


def wait_banned(lab, jail, ident, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        if ident in banned(lab, jail):
            return True
        time.sleep(0.25)
    return False


def sip_wrong_register(lab):
    out = lab.vars["lab_outside_ip"]
    return run(["timeout", "10", "sipsak", "-U", "-C", "sip:%s@%s:5099" % (NUMBER, out),
                "-s", "sip:%s@%s:5060" % (NUMBER, lab.ip), "-a", "wrong-" + SIP_SECRET, "-u", NUMBER, "-i"],
               lab.outside_ns).returncode


def call(lab, port, ext, secret, number):
    p = run(["python3", os.path.join(CLIENTS, "sipp_call.py"), "call", lab.ip, lab.controller_ip, str(port),
             ext, secret, number, "300"], timeout=120)
    return json.loads(p.stdout.strip().splitlines()[-1])


def state(lab):
    return json.loads(lab.sh("cat %s 2>/dev/null || echo '{}'" % STATE))


def new_mails(smtp, n, count, timeout=30):
    """The mails after the first ``n``, once ``count`` of them arrived (or the timeout)."""
    return smtp.wait_for(n + count, timeout=timeout)[n:]


def quiet(smtp, n, seconds=4):
    """No mail after the first ``n`` for ``seconds`` (the send is detached)."""
    time.sleep(seconds)
    return smtp.mails()[n:]


@pytest.fixture(scope="module")
def smtp(lab):
    server = start(lab)
    yield server
    server.stop()


@pytest.fixture(scope="module", autouse=True)
def converged(lab, smtp):
    """SIP with extension 3101 (the banned one) and the lobby phone 2004 (internal
    calls only), AMI from the lab networks, the mail account (STARTTLS, login),
    then the fail2ban role with two administrator addresses."""
    net = lab.ip.rsplit(".", 1)[0] + ".0/24"
    outside = lab.vars["lab_outside_ip"].rsplit(".", 1)[0] + ".0/24"
    lab.sh("fail2ban-client unban --all >/dev/null 2>&1; rm -rf /var/lib/pbxguard-alert; true")
    r = lab.playbook([
        {"name": "mail", "pbxguard.asterisk.mail": {
            "server": SMTP_NAME, "port": 587, "tls": "starttls", "tls_ca_file": CA_ON_HOST,
            "sender_address": SENDER, "username": USER, "password": smtp.password}},
        {"name": "sip", "pbxguard.asterisk.sip_transport": {"udp": {"enabled": True, "port": 5060},
                                                            "tcp": {"enabled": True, "port": 5060},
                                                            "tls": {"enabled": False}}},
        {"name": "policy", "pbxguard.asterisk.call_policy": {
            "numbering": {"country_code": "49", "national_prefix": "0", "international_prefix": "00"},
            "emergency": ["112"], "trunk": "carrier", "policies": [{"name": "lobby", "allow": ["internal"]}],
            "default_policy": "lobby"}},
        {"name": "ext", "pbxguard.asterisk.extension": {"extensions": [
            {"number": NUMBER, "secret": SIP_SECRET}, {"number": LOBBY, "secret": LOBBY_SECRET}]}},
        {"name": "ami", "pbxguard.asterisk.ami": {"bind_address": "0.0.0.0", "users": [
            {"name": AMI_USER, "secret": AMI_SECRET, "permit": [net, outside], "read": ["system"]}]}},
        role(),
    ])
    assert not r.failed, r.raw[-3000:]
    assert smtp.password not in r.raw
    yield r
    lab.sh("fail2ban-client unban --all >/dev/null 2>&1 || true")


@pytest.fixture(autouse=True)
def no_ban_left(lab):
    yield
    lab.sh("fail2ban-client unban --all >/dev/null 2>&1 || true")


# ------------------------------------------------------------- the role
def test_alert_files_jails_and_a_second_run(lab):
    """Check mode with alerts on a fresh host: the molecule scenario's check step (its
    converge sets pbx_mail and pbx_admin.emails)."""
    assert lab.sh("stat -c '%U:%G %a' " + SCRIPT + " /var/lib/pbxguard-alert "
                  + ACTION).split("\n")[:3] == ["root:root 644", "root:root 700", "root:root 644"]
    assert "dest = ops@lab.test noc@lab.test\n" in lab.read(ACTION).decode()
    assert re.search(r"Jail list:\s*asterisk, pbxguard-calls, sshd", lab.sh("fail2ban-client status"))
    for jail in ("asterisk", "sshd", "pbxguard-calls"):
        assert "pbxguard-alert" in lab.sh("fail2ban-client get %s actions" % jail), jail
    assert "nftables" not in lab.sh("fail2ban-client get pbxguard-calls actions")
    # a second run changes nothing
    r = lab.playbook([role()])
    assert not r.failed and r.changed == 0, r.raw[-2000:]


@pytest.mark.parametrize("kw,msg", [
    ({"fail2ban_alert_emails": ["ops@lab.test", "ops.lab.test"]},
     "fail2ban_alert_emails[1]: is not an e-mail address (local@domain.tld)"),
    ({"fail2ban_alert_emails": ["ops@lab.test\nBcc: x@evil.test"]}, "fail2ban_alert_emails[0]: must not contain"),
    ({"fail2ban_alert_period": 0}, "fail2ban_alert_period: must be 1 or more seconds (got 0)"),
    ({"fail2ban_alert_calls_maxretry": -1}, "fail2ban_alert_calls_maxretry: must be 0 (no jail) or more (got -1)"),
])
def test_bad_alert_values_fail_before_any_change(lab, kw, msg):
    before = {p: lab.sha(p) for p in (ACTION, "/etc/fail2ban/jail.d/pbxguard.local")}
    r = lab.playbook([role(**kw)])
    assert r.failed and msg in json.dumps(r.results), json.dumps(r.results)[-1500:]
    assert {p: lab.sha(p) for p in before} == before


# ------------------------------------------------------------- the mails
def test_a_real_ban_mails_each_admin_once_a_second_ban_nobody(lab, smtp):
    out_ip = lab.vars["lab_outside_ip"]
    n = len(smtp.mails())
    for dummy in range(MAXRETRY):
        assert sip_wrong_register(lab) != 0
    assert wait_banned(lab, "asterisk", out_ip), lab.sh("fail2ban-client status asterisk")
    got = new_mails(smtp, n, 2)
    assert sorted(m["rcpt_tos"][0] for m in got) == sorted(ADMINS) and all(len(m["rcpt_tos"]) == 1 for m in got)
    for m in got:
        assert (m["port"], m["tls"], m["login"], m["mail_from"]) == (587, True, USER, SENDER)
        msg = parse(m)
        assert set(msg.keys()) == HEADERS, msg.keys()
        assert msg["To"] == m["rcpt_tos"][0] and msg["From"] == SENDER
        assert msg["Subject"] == "[pbxguard] pbx1: fail2ban banned %s (jail asterisk)" % out_ip
        body = msg.get_content()
        assert "Lift the ban: fail2ban-client set asterisk unbanip %s" % out_ip in body
        assert "after 3 failures" in body and ("InvalidPassword" in body or "ChallengeResponseFailed" in body), body
    # a second ban (another jail, the same kind) within the period: no mail, counted
    lab.sh("fail2ban-client set sshd banip 203.0.113.7 >/dev/null")
    assert wait_banned(lab, "sshd", "203.0.113.7")
    assert quiet(smtp, n + 2) == []
    s = state(lab)
    assert [s["ban %s" % a]["suppressed"] for a in ADMINS] == [1, 1], s
    # the period over (the last mail an hour and a second ago): the next ban mails, naming what was not mailed
    lab.sh("python3 -c \"import json; p='%s'; s=json.load(open(p)); "
           "[e.update(sent=e['sent'] - 3601) for k, e in s.items() if k.startswith('ban ')]; "
           "json.dump(s, open(p, 'w'))\"" % STATE)
    lab.sh("fail2ban-client set sshd banip 203.0.113.8 >/dev/null")
    got = new_mails(smtp, n + 2, 2)
    assert sorted(m["rcpt_tos"][0] for m in got) == sorted(ADMINS)
    body = parse(got[0]).get_content()
    assert parse(got[0])["Subject"] == "[pbxguard] pbx1: fail2ban banned 203.0.113.8 (jail sshd)"
    assert "1 more alert(s) of this kind were not mailed since" in body, body


def test_a_burst_of_refused_calls_mails_once_and_bans_nothing(lab, smtp):
    n = len(smtp.mails())
    answers = [call(lab, 6100 + 10 * i, LOBBY, LOBBY_SECRET, "0044201234567")["answer"] for i in range(MAXRETRY)]
    assert answers == [403] * MAXRETRY, answers
    got = new_mails(smtp, n, 2)
    assert sorted(m["rcpt_tos"][0] for m in got) == sorted(ADMINS), got
    msg = parse(got[0])
    assert msg["Subject"] == "[pbxguard] pbx1: 3 refused calls from extension %s" % LOBBY
    body = msg.get_content()
    assert "no address is banned" in body and "class=international reason=class-not-allowed" in body, body
    assert LOBBY in banned(lab, "pbxguard-calls")
    # nothing banned: the phone still reaches the PBX (its next call is refused by the policy, not dropped)
    assert call(lab, 6200, LOBBY, LOBBY_SECRET, "0044201234567")["answer"] == 403
    assert quiet(smtp, n + 2, 3) == [], "a refused call after the alert mailed again"


def test_attacker_text_runs_nothing_and_adds_no_header(lab, smtp):
    """An AMI user name with shell and quote characters reaches fail2ban's
    matches (AccountID="..."); the alert runs nothing of it and mails it as
    plain body text. Then CR/LF in every value fail2ban passes."""
    lab.sh("rm -f %s /tmp/pbxguard-pwned" % STATE)
    out_ip = lab.vars["lab_outside_ip"]
    evil = "$(touch /tmp/pbxguard-pwned)`touch /tmp/pbxguard-pwned`\"';x"
    n = len(smtp.mails())
    for dummy in range(MAXRETRY):
        lab.ami_login(evil, "wrong", ns=lab.outside_ns)
    assert wait_banned(lab, "asterisk", out_ip), lab.sh("fail2ban-client status asterisk; tail -3 "
                                                        "/var/log/asterisk/security.log")
    got = new_mails(smtp, n, 2)
    assert sorted(m["rcpt_tos"][0] for m in got) == sorted(ADMINS)
    msg = parse(got[0])
    assert set(msg.keys()) == HEADERS
    assert 'AccountID="%s"' % evil in msg.get_content(), msg.get_content()
    assert lab.sh("test -e /tmp/pbxguard-pwned && echo yes || echo no").strip() == "no"
    # CR/LF and a forged header in the jail name, the ID and the matched lines
    n = len(smtp.mails())
    lab.sh("/usr/bin/python3 -I " + SCRIPT + " --foreground --kind ban --jail \"$(printf 'asterisk\\r\\nBcc: j@evil.test')\""
           " --id \"$(printf '1.2.3.4\\r\\nSubject: pwned')\" --failures 3 --period 3600 --to sec@lab.test"
           " --matches \"$(printf 'line one\\r\\nBcc: m@evil.test\\n\\nX-Injected: yes')\"")
    got = new_mails(smtp, n, 1)
    assert len(got) == 1 and got[0]["rcpt_tos"] == ["sec@lab.test"], got
    msg = parse(got[0])
    assert set(msg.keys()) == HEADERS, msg.keys()
    assert msg["Subject"] == "[pbxguard] pbx1: fail2ban banned 1.2.3.4??Subject:?pwned (jail asterisk??Bcc:?j@evil.test)"
    # the matched lines stay body lines, each indented
    assert "\n  line one\n  Bcc: m@evil.test\n  X-Injected: yes\n" in msg.get_content().replace("\r\n", "\n")
    assert quiet(smtp, n + 1, 2) == []


def test_failed_send_is_logged_and_retried(lab, smtp):
    """An SMTP server that refuses (the password is wrong now): nothing is
    mailed, syslog says why, and the next event tries again."""
    lab.sh("rm -f %s; cp /etc/msmtprc /tmp/msmtprc.keep; sed -i 's/^password .*/password \"wrong\"/' /etc/msmtprc" % STATE)
    try:
        n = len(smtp.mails())
        lab.sh("/usr/bin/python3 -I " + SCRIPT + " --foreground --kind ban --jail sshd --id 203.0.113.9 --period 3600"
               " --to ops@lab.test")
        assert quiet(smtp, n, 1) == []
        assert "msmtp exit" in lab.sh("journalctl -t pbxguard-alert -n 3 --no-pager")
        assert state(lab)["ban ops@lab.test"].get("sent", 0) == 0
    finally:
        lab.sh("cp /tmp/msmtprc.keep /etc/msmtprc")
    lab.sh("/usr/bin/python3 -I " + SCRIPT + " --foreground --kind ban --jail sshd --id 203.0.113.9 --period 3600"
           " --to ops@lab.test")
    got = new_mails(smtp, n, 1)
    assert len(got) == 1 and "1 more alert(s) of this kind were not mailed" in parse(got[0]).get_content()


def test_without_addresses_the_alerts_are_gone(lab):
    r = lab.playbook([role(fail2ban_alert_emails=[])])
    assert not r.failed, r.raw[-2000:]
    assert lab.sha(ACTION) is None and lab.sha(SCRIPT) is None
    assert re.search(r"Jail list:\s*asterisk, sshd\s*$", lab.sh("fail2ban-client status"), re.M)
    assert "pbxguard-alert" not in lab.sh("fail2ban-client get asterisk actions")
    assert lab.sh("test -e /var/lib/pbxguard-alert && echo yes || echo no").strip() == "no"
