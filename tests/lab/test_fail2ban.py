# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role pbxguard.asterisk.fail2ban against a real Asterisk 22 and fail2ban 1.1
on a lab host, proven with real brute-force bursts from the outside-client
namespace: wrong-password SIP REGISTERs (sipsak), wrong AMI secrets
(clients/ami_login.py) and wrong SSH passwords (clients/ssh_login.py, paramiko)
get the outside address banned (fail2ban-client status lists it, the nftables
set holds it, the service no longer answers); the controller's own failures are
ignored; unban gives access back. Bad input fails before any change; check
mode writes nothing; a second run changes nothing."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import CLIENTS, ROOT

JAIL = "/etc/fail2ban/jail.d/pbxguard.local"
LOGGER = "/etc/asterisk/logger.conf"
SECLOG = "/var/log/asterisk/security.log"
NUMBER = "3101"
SIP_SECRET = "Sx9kQ_7f2bTEST"
AMI_USER = "f2bprobe"
AMI_SECRET = "Ax9kQ_7f2bTEST"
MAXRETRY = 3
TIMES = {}


# changes check mode predicted, compared with the real run that follows
PREDICTED = {}


def run(cmd, ns=None, timeout=30, input=""):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, input=input)


def role(**kw):
    v = {"fail2ban_maxretry": MAXRETRY, "fail2ban_findtime": 600, "fail2ban_bantime": 600}
    v.update(kw)
    return {"name": "fail2ban role", "ansible.builtin.include_role": {"name": "pbxguard.asterisk.fail2ban"}, "vars": v}


# ----------------------------------------------------------------- clients
def sip_answers(lab, outside=True):
    """REGISTER (then unregister) with the right secret, from the outside
    client or the controller: True on 200 OK. The probe must not count as a
    failure itself: an anonymous OPTIONS (sipsak -s without -a) is logged by
    Asterisk as InvalidAccountID twice plus ChallengeResponseFailed, i.e. three
    failures to fail2ban, so an OPTIONS probe would ban the prober."""
    client = lab.vars["lab_outside_ip"] if outside else lab.controller_ip
    p = run(["timeout", "8", "sipsak", "-U", "-C", "sip:%s@%s:5099" % (NUMBER, client),
             "-s", "sip:%s@%s:5060" % (NUMBER, lab.ip), "-a", SIP_SECRET, "-u", NUMBER, "-i"],
            lab.outside_ns if outside else None)
    return p.returncode == 0


def sip_wrong_register(lab, ns=None, client_ip=None):
    client_ip = client_ip or lab.vars["lab_outside_ip"]
    p = run(["timeout", "10", "sipsak", "-U", "-C", "sip:%s@%s:5099" % (NUMBER, client_ip),
             "-s", "sip:%s@%s:5060" % (NUMBER, lab.ip), "-a", "wrong-" + SIP_SECRET, "-u", NUMBER, "-i"],
            ns if ns is not None else lab.outside_ns)
    return p.returncode


def ami(lab, secret, ns="outside"):
    rc, out = lab.ami_login(AMI_USER, secret, ns=lab.outside_ns if ns == "outside" else ns)
    return rc


def ssh_password(lab, password, ns="outside"):
    cmd = [os.path.join(ROOT, ".venv", "bin", "python"), os.path.join(CLIENTS, "ssh_login.py"), lab.ip, "root", "password"]
    p = run(cmd, lab.outside_ns if ns == "outside" else ns, timeout=40, input=password + "\n")
    return p.returncode, (p.stdout + p.stderr).strip()[-300:]


def ssh_banner(lab):
    """The SSH banner from the outside client, None when the port refuses or times out."""
    p = run(["timeout", "6", "python3", "-c", "import socket; s = socket.create_connection(('%s', 22), 4); "
             "print(s.recv(64).decode(errors='replace'))" % lab.ip], lab.outside_ns)
    return p.stdout.strip() if p.returncode == 0 and p.stdout.startswith("SSH-") else None


# ---------------------------------------------------------------- fail2ban
def banned(lab, jail):
    out = lab.sh("fail2ban-client status %s" % jail)
    m = re.search(r"Banned IP list:\s*(.*)", out)
    return m.group(1).split() if m else []


def nft_set(lab, name):
    return lab.sh("nft list set inet f2b-table %s 2>/dev/null || true" % name)


def wait_banned(lab, jail, ip, seconds=20):
    """True once fail2ban lists ``ip`` as banned in ``jail`` and the nftables
    sets of all the jail's actions hold it: the actions run after the ban is
    listed, and the first ban creates the table (on demand)."""
    sets = {"asterisk": ("addr-set-asterisk-tcp", "addr-set-asterisk-udp"), "sshd": ("addr-set-sshd",)}
    end = time.time() + seconds
    while time.time() < end:
        # the jail's actions run one after the other (asterisk: tcp, then udp)
        if ip in banned(lab, jail) and all(ip in nft_set(lab, name) for name in sets[jail]):
            return True
        time.sleep(0.25)
    return False


def unban_all(lab):
    lab.sh("fail2ban-client unban --all >/dev/null 2>&1 || true")


def fail2ban_active(lab):
    return lab.sh("systemctl is-active fail2ban", check=False).strip()


def asterisk_started(lab):
    out = lab.cli("core show uptime seconds")
    return int(time.time()) - int(re.search(r"System uptime:\s*(\d+)", out).group(1))


def fresh(lab):
    """fail2ban stopped and disabled as in the image, no jail file, no ban
    database, no f2b table, no security channel in logger.conf (live too)."""
    lab.sh("systemctl disable --now fail2ban >/dev/null 2>&1; rm -f %s /var/lib/fail2ban/fail2ban.sqlite3 %s;"
           " nft delete table inet f2b-table 2>/dev/null; sed -i '/^security\\(\\.log\\)\\? *=>/d' %s;"
           " asterisk -rx 'logger reload' >/dev/null; true" % (JAIL, SECLOG, LOGGER))


@pytest.fixture(scope="module", autouse=True)
def targets(lab):
    """Something to attack: PJSIP on UDP/TCP 5060 with extension 3101, AMI on
    0.0.0.0:5038 with a user permitted from the lab networks."""
    net = lab.ip.rsplit(".", 1)[0] + ".0/24"
    outside = lab.vars["lab_outside_ip"].rsplit(".", 1)[0] + ".0/24"
    r = lab.playbook([
        {"name": "sip", "pbxguard.asterisk.sip_transport": {"udp": {"enabled": True, "port": 5060},
                                                            "tcp": {"enabled": True, "port": 5060},
                                                            "tls": {"enabled": False}}},
        {"name": "ext", "pbxguard.asterisk.extension": {"extensions": [{"number": NUMBER, "secret": SIP_SECRET}]}},
        {"name": "ami", "pbxguard.asterisk.ami": {"bind_address": "0.0.0.0", "users": [
            {"name": AMI_USER, "secret": AMI_SECRET, "permit": [net, outside], "read": ["system"]}]}},
    ])
    assert not r.failed, r.raw[-3000:]
    fresh(lab)
    yield
    unban_all(lab)
    out = os.path.join(ROOT, "tests", "output")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "fail2ban-lab.json"), "w") as f:
        json.dump(TIMES, f, indent=1, sort_keys=True)


def jail_diff(r):
    """(before, after) of the jail file in a --diff run's results; before_header
    is the file (absent while it does not exist), after_header the template."""
    for res in r.results:
        diffs = res.get("diff") or []
        for d in diffs if isinstance(diffs, list) else [diffs]:
            heads = [str(d.get(k, "")) for k in ("before_header", "after_header")] if isinstance(d, dict) else []
            if any(h.endswith(("pbxguard.local", "pbxguard.local.j2")) for h in heads):
                return d.get("before", ""), d.get("after", "")
    raise AssertionError("no diff of %s in the results" % JAIL)


def same_reload(lab, mark):
    """No Asterisk reload since ``mark`` (lab.reload_marker(); +-1 s of rounding)."""
    now = lab.reload_marker()
    return now is not None and mark is not None and abs(now - mark) <= 1


@pytest.fixture(autouse=True)
def no_ban_left(lab):
    """Each test starts and ends without bans: a failing ban test must not
    leave the outside client banned for the next one."""
    yield
    unban_all(lab)


def watched(lab):
    return {p: lab.sha(p) for p in (LOGGER, JAIL)}


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize("kw,msg", [
    ({"fail2ban_ignoreip": ["198.18.0.0/24", "10.0.0.0/33"]},
     "fail2ban_ignoreip[1]: is not an IP address, IP/prefix or IP/netmask"),
    ({"fail2ban_ignoreip": ["10.0.0.1/8"]}, "fail2ban_ignoreip[0]: host bits set; did you mean 10.0.0.0/8?"),
    ({"fail2ban_maxretry": 0}, "fail2ban_maxretry: must be 1 or more (got 0)"),
    ({"fail2ban_bantime": 0}, "fail2ban_bantime: must be 1 or more seconds, or -1 for ever (got 0)"),
    ({"fail2ban_ssh_ports": [22, 70000]}, "fail2ban_ssh_ports: every port must be 1-65535"),
    ({"fail2ban_jails": ["asterisk", "ftp"]}, "fail2ban_jails"),
    ({"fail2ban_banaction": "iptables"}, "fail2ban_banaction"),
    ({"fail2ban_maxretry": "five"}, "fail2ban_maxretry"),
    ({"fail2ban_controller_address": "pbx-admin"}, "fail2ban_controller_address[0]: is not an IP address"),
])
def test_bad_input_fails_naming_the_variable_before_any_change(lab, kw, msg):
    before, state, mark = watched(lab), fail2ban_active(lab), lab.reload_marker()
    r = lab.playbook([role(**kw)])
    assert r.failed
    text = json.dumps(r.results)
    assert msg in text, text[-1500:]
    assert watched(lab) == before and fail2ban_active(lab) == state and same_reload(lab, mark)


# --------------------------------------------------------- check, apply
def test_check_mode_on_a_fresh_host_predicts_and_writes_nothing(lab):
    before, mark = watched(lab), lab.reload_marker()
    assert before[JAIL] is None and fail2ban_active(lab) != "active"
    r = lab.playbook([role()], check=True, diff=True)
    assert not r.failed and r.changed >= 3, r.raw[-3000:]
    PREDICTED["fresh"] = r.changed
    assert "security.log => security" in r.raw
    assert "ignoreip = 127.0.0.1/8 ::1 %s/32\n" % lab.controller_ip in jail_diff(r)[1]
    assert watched(lab) == before and fail2ban_active(lab) != "active" and same_reload(lab, mark)
    assert "security.log" not in lab.cli("logger show channels")


def test_first_apply_logs_security_events_and_starts_the_jails(lab):
    started = asterisk_started(lab)
    r = lab.playbook([role()], diff=True)
    assert not r.failed and r.changed >= 3, r.raw[-3000:]
    # check mode predicted exactly this many changes (reloads included)
    assert r.changed == PREDICTED.get("fresh", r.changed), (r.changed, PREDICTED)
    assert abs(asterisk_started(lab) - started) <= 2, "Asterisk restarted; logger reload was enough"
    assert re.search(r"^/var/log/asterisk/security\.log\s+File\s+\S+\s+Enabled\s+- SECURITY", lab.cli("logger show channels"), re.M)
    assert lab.sh("stat -c '%U:%G %a' " + SECLOG).strip() == "asterisk:asterisk 640"
    assert lab.sh("stat -c '%U:%G %a' " + LOGGER).strip() == "asterisk:asterisk 640"
    assert lab.sh("grep -c '^security.log => security$' " + LOGGER).strip() == "1"
    assert fail2ban_active(lab) == "active" and lab.sh("systemctl is-enabled fail2ban").strip() == "enabled"
    assert re.search(r"Jail list:\s*asterisk, sshd", lab.sh("fail2ban-client status"))
    assert "`- File list:\t%s" % SECLOG in lab.sh("fail2ban-client status asterisk")
    jail = lab.read(JAIL).decode()
    assert "port = 22\n" in jail and "backend = systemd" in jail and "banaction = nftables-multiport" in jail
    assert "ignoreip = 127.0.0.1/8 ::1 %s/32\n" % lab.controller_ip in jail
    assert lab.controller_ip in lab.sh("fail2ban-client get sshd ignoreip")


def test_second_run_changes_nothing_check_mode_too(lab):
    mark = lab.reload_marker()
    r = lab.playbook([role()])
    assert not r.failed and r.changed == 0, r.raw[-3000:]
    r = lab.playbook([role()], check=True)
    assert not r.failed and r.changed == 0, r.raw[-3000:]
    assert same_reload(lab, mark)


# ------------------------------------------------------------- bursts
def test_sip_register_burst_from_outside_is_banned_then_unbanned(lab):
    out_ip = lab.vars["lab_outside_ip"]
    assert sip_answers(lab), "the outside client must register before the burst"
    for dummy in range(MAXRETRY - 1):
        assert sip_wrong_register(lab) != 0
    assert not wait_banned(lab, "asterisk", out_ip, seconds=3), "banned before maxretry failures"
    assert "Currently failed:\t1" in lab.sh("fail2ban-client status asterisk")
    t0 = time.time()
    assert sip_wrong_register(lab) != 0
    assert wait_banned(lab, "asterisk", out_ip), lab.sh("fail2ban-client status asterisk; tail -5 " + SECLOG)
    TIMES["sip_last_failure_to_ban_s"] = round(time.time() - t0, 2)
    assert out_ip in nft_set(lab, "addr-set-asterisk-udp") and out_ip in nft_set(lab, "addr-set-asterisk-tcp")
    assert not sip_answers(lab), "a banned address still registers"
    assert sip_answers(lab, outside=False), "the controller is not banned and still registers"
    lab.sh("fail2ban-client set asterisk unbanip %s" % out_ip)
    assert out_ip not in banned(lab, "asterisk") and out_ip not in nft_set(lab, "addr-set-asterisk-udp")
    assert sip_answers(lab), "unbanned, the outside client registers again"


def test_ami_wrong_secret_burst_is_banned(lab):
    out_ip = lab.vars["lab_outside_ip"]
    assert ami(lab, AMI_SECRET) == 0, "the AMI user must log in from outside before the burst"
    t0 = time.time()
    for dummy in range(MAXRETRY):
        assert ami(lab, "wrong-" + AMI_SECRET) == 1
    assert wait_banned(lab, "asterisk", out_ip), lab.sh("fail2ban-client status asterisk; tail -5 " + SECLOG)
    TIMES["ami_burst_to_ban_s"] = round(time.time() - t0, 2)
    assert ami(lab, AMI_SECRET) == 2, "a banned address still reaches AMI"
    assert ami(lab, AMI_SECRET, ns=None) == 0, "the controller still reaches AMI"
    unban_all(lab)
    assert ami(lab, AMI_SECRET) == 0


def test_ssh_password_burst_is_banned(lab):
    out_ip = lab.vars["lab_outside_ip"]
    assert ssh_banner(lab)
    t0 = time.time()
    for dummy in range(MAXRETRY):
        rc, out = ssh_password(lab, "wrong-password")
        assert rc == 1 and "Authentication" in out, out
    assert wait_banned(lab, "sshd", out_ip), lab.sh("fail2ban-client status sshd; journalctl -u ssh -n 8 --no-pager")
    TIMES["ssh_burst_to_ban_s"] = round(time.time() - t0, 2)
    assert out_ip in nft_set(lab, "addr-set-sshd")
    assert ssh_banner(lab) is None, "a banned address still gets the SSH banner"
    assert sip_answers(lab), "multiport: the sshd ban covers only the SSH port"
    unban_all(lab)
    assert ssh_banner(lab)


def test_controller_failures_are_ignored_not_banned(lab):
    """The same bursts from the controller's address: seen by fail2ban
    ("Ignore ... by ip" in its log) and not banned; Ansible still connects."""
    lab.sh("truncate -s 0 /var/log/fail2ban.log")
    for dummy in range(MAXRETRY + 1):
        assert sip_wrong_register(lab, ns="", client_ip=lab.controller_ip) != 0
        assert ssh_password(lab, "wrong-password", ns=None)[0] == 1
    time.sleep(2)
    log = lab.sh("cat /var/log/fail2ban.log")
    assert re.search(r"\[asterisk\] Ignore %s by ip" % re.escape(lab.controller_ip), log), log[-1500:]
    assert re.search(r"\[sshd\] Ignore %s by ip" % re.escape(lab.controller_ip), log), log[-1500:]
    assert lab.controller_ip not in banned(lab, "asterisk") + banned(lab, "sshd")
    assert lab.controller_ip not in lab.sh("nft list table inet f2b-table")
    r = lab.playbook([role()])
    assert not r.failed and r.changed == 0, r.raw[-2000:]


def test_ignoreip_list_protects_a_network(lab):
    out_ip = lab.vars["lab_outside_ip"]
    net = out_ip.rsplit(".", 1)[0] + ".0/24"
    r = lab.playbook([role(fail2ban_ignoreip=[net])], check=True)
    assert not r.failed and r.changed == 2, r.raw[-2000:]  # predicted: the file and the reload
    r = lab.playbook([role(fail2ban_ignoreip=[net])])
    try:
        assert not r.failed and r.changed == 2, r.raw[-2000:]  # the file, then fail2ban-client reload
        assert net in lab.sh("fail2ban-client get asterisk ignoreip")
        for dummy in range(MAXRETRY + 1):
            sip_wrong_register(lab)
        assert not wait_banned(lab, "asterisk", out_ip, seconds=4)
        assert sip_answers(lab)
    finally:
        r = lab.playbook([role()])
    assert not r.failed and r.changed == 2, r.raw[-2000:]
    assert net not in lab.sh("fail2ban-client get asterisk ignoreip")


def test_ignore_controller_false_is_explicit_and_shown(lab):
    r = lab.playbook([role(fail2ban_ignore_controller=False)], check=True, diff=True)
    assert not r.failed and r.changed == 2, r.raw[-2000:]  # the file and the reload a real run makes
    before, after = jail_diff(r)
    assert "ignoreip = 127.0.0.1/8 ::1 %s/32\n" % lab.controller_ip in before
    assert "ignoreip = 127.0.0.1/8 ::1\n" in after and lab.controller_ip not in after


def test_ssh_ports_follow_sshd_and_can_be_named(lab):
    r = lab.playbook([role(fail2ban_ssh_ports=[8022, 22])], check=True, diff=True)
    assert not r.failed and r.changed == 2, r.raw[-2000:]  # the file and the reload
    assert "port = 8022,22\n" in jail_diff(r)[1]
    lab.sh("printf 'Port 22\\nPort 2222\\n' > /etc/ssh/sshd_config.d/90-f2btest.conf")
    try:
        r = lab.playbook([role()], check=True, diff=True)
        assert not r.failed and r.changed == 2, r.raw[-2000:]  # the file and the reload
        assert "port = 22,2222\n" in jail_diff(r)[1]
    finally:
        lab.sh("rm -f /etc/ssh/sshd_config.d/90-f2btest.conf")


def test_drift_a_jail_without_actions_is_restarted(lab):
    """What a plain reload after a banaction change leaves behind."""
    lab.sh("fail2ban-client set sshd delaction nftables-multiport")
    assert "No actions" in lab.sh("fail2ban-client get sshd actions")
    r = lab.playbook([role()])
    assert not r.failed and r.changed == 1, r.raw[-2000:]
    assert "nftables-multiport" in lab.sh("fail2ban-client get sshd actions")


def test_drift_a_stopped_jail_is_restored(lab):
    lab.sh("fail2ban-client stop asterisk")
    assert re.search(r"Jail list:\s*sshd\s*$", lab.sh("fail2ban-client status"), re.M)
    r = lab.playbook([role()])
    assert not r.failed and r.changed == 1, r.raw[-2000:]
    assert re.search(r"Jail list:\s*asterisk, sshd", lab.sh("fail2ban-client status"))
    r = lab.playbook([role()])
    assert not r.failed and r.changed == 0, r.raw[-2000:]


def test_allports_bans_every_port(lab):
    """Also a change of ban action: fail2ban 1.1.1's plain reload left the
    jails without any action (bans listed, nothing in nftables), so the role
    restarts the jails (reload --restart)."""
    out_ip = lab.vars["lab_outside_ip"]
    r = lab.playbook([role(fail2ban_banaction="nftables-allports")])
    try:
        assert not r.failed and r.changed >= 1, r.raw[-2000:]
        assert "nftables-allports-tcp, nftables-allports-udp" in lab.sh("fail2ban-client get asterisk actions")
        for dummy in range(MAXRETRY):
            sip_wrong_register(lab)
        assert wait_banned(lab, "asterisk", out_ip)
        assert ssh_banner(lab) is None, "allports: a SIP ban closes SSH too"
        unban_all(lab)
        assert ssh_banner(lab) and sip_answers(lab)
    finally:
        r = lab.playbook([role()])
    assert not r.failed, r.raw[-2000:]


def test_without_the_asterisk_jail_a_sip_burst_is_not_banned(lab):
    """What the ban tests prove is the jail: with only sshd enabled the same
    burst bans nothing (the asterisk jail is written enabled = false)."""
    out_ip = lab.vars["lab_outside_ip"]
    r = lab.playbook([role(fail2ban_jails=["sshd"])])
    try:
        assert not r.failed and r.changed >= 1, r.raw[-2000:]
        assert re.search(r"Jail list:\s*sshd\s*$", lab.sh("fail2ban-client status"), re.M)
        assert "[asterisk]\nenabled = false\n" in lab.read(JAIL).decode()
        for dummy in range(MAXRETRY + 1):
            sip_wrong_register(lab)
        time.sleep(3)
        assert sip_answers(lab)
        assert "addr-set-asterisk" not in lab.sh("nft list ruleset")
    finally:
        r = lab.playbook([role()])
    assert not r.failed, r.raw[-2000:]
    unban_all(lab)
