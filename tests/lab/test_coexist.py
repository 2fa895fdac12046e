# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The baseline beside dev-sec's devsec.hardening ssh_hardening role (10.6.0,
pinned in tests/lab/devsec.py), in both orders, as a user runs them:

- pbx1: baseline first (admin with allowed networks + TOTP), then dev-sec. dev-sec
  writes an sshd_config without an Include of sshd_config.d and rewrites
  /etc/pam.d/sshd in community.general.pamd's spacing. The baseline's rerun must
  fail naming the cause and the fix, with nothing changed; the audit names the
  drop-ins sshd does not read. With dev-sec's documented fix (sshd_custom_options
  carrying the Include) the rerun changes nothing: the rewritten PAM rule is
  recognised, no second one (the code asked once).
- pbx2: dev-sec first, then the baseline: refused in the plan, before the account
  or any file exists. With the fix: applied; a rerun changes nothing; a line of
  dev-sec's turning keyboard-interactive off above the Include fails the next no-op
  run naming that line.

Every "works" is a real SSH login (paramiko) from an allowed address with password
and TOTP code, every "refused" one without the code and one from the outside
namespace."""
import copy
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time

import pyotp
import pytest
import yaml

from conftest import CLIENTS, ROOT, Result

USER = "pbxadmin"
DEVSEC = os.path.join(ROOT, "tests", "lab", "devsec.py")
COLLECTIONS = os.path.join(ROOT, ".cache", "coexist-collections")
INCLUDE = "Include /etc/ssh/sshd_config.d/*.conf"
ADMIN_DROPIN = "/etc/ssh/sshd_config.d/pbxguard-admin-%s.conf" % USER
TOTP_DROPIN = "/etc/ssh/sshd_config.d/pbxguard-totp-%s.conf" % USER
# what the admin/totp modules own or touch: byte-identical after a refused run
WATCHED = ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/pam.d/sshd", ADMIN_DROPIN, TOTP_DROPIN,
           "/home/%s/.google_authenticator" % USER, "/etc/pbxguard/admin/%s.json" % USER,
           "/etc/asterisk/ari.conf", "/etc/ssh/sshd_config")

# devsec.hardening as a user of a PBX would set it, offline. Everything else is the
# role's default (AuthenticationMethods publickey, PasswordAuthentication no,
# KbdInteractiveAuthentication no through ChallengeResponseAuthentication, MaxAuthTries 2,
# the pam_motd removal through community.general.pamd).
DEVSEC_VARS = {
    # the controller connects as root with a key (the role's default "no" locks it out)
    "ssh_permit_root_login": "without-password",
    # no package installs: the lab has no network (the apt module would first try to
    # install python3-apt); openssh-server and -client are in the image
    "ssh_pkgs": [],
    # the image's host keys (ssh-keygen -A): skips crypto_hostkeys.yml, which regenerates
    # a 4096-bit RSA key with community.crypto (not installed, and CPU this test does not need)
    "ssh_host_key_files": ["/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key",
                           "/etc/ssh/ssh_host_ed25519_key"],
}
# The lab image is Debian sid, whose major version "forky/sid" makes the role's
# `version('12', '>=')` test fail ("Version comparison failed"); dev-sec supports
# Debian stable, which production PBXs run: the facts say what Debian 13 says.
DEBIAN_13_FACTS = {"name": "The facts of Debian 13 (the role's version tests fail on sid's 'forky/sid')",
                   "ansible.builtin.set_fact": {"ansible_distribution_major_version": "13",
                                                "ansible_distribution_version": "13.2", "cacheable": True}}


@pytest.fixture(scope="module")
def devsec_installed():
    """devsec.hardening (pinned) and community.general in COLLECTIONS, or a skip saying why."""
    p = subprocess.run([sys.executable, DEVSEC, COLLECTIONS], capture_output=True, text=True, timeout=600, check=False)
    if p.returncode == 3:
        pytest.skip(p.stdout.strip())
    assert p.returncode == 0, "installing devsec.hardening failed:\n%s%s" % (p.stdout, p.stderr)
    return p.stdout.strip()


class Host(object):
    """One lab host of the inventory, with what the suite keeps about it."""

    def __init__(self, lab, name, creds):
        self.lab = copy.copy(lab)
        self.lab.name = name
        self.lab.host = lab.hosts[name]
        self.lab.ip = self.lab.host["ansible_host"]
        self.lab.pid1 = self.lab.host["lab_pid1"]
        self.name = name
        # kept beside the TOTP secret for the lab's life (a suite rerun on the same hosts sees no change)
        pw_path = os.path.join(creds, name + ".password")
        if not os.path.exists(pw_path):
            with open(pw_path, "w") as f:
                f.write("Adm%s-%s7" % (secrets.token_hex(4).upper(), secrets.token_hex(4)))
        with open(pw_path) as f:
            self.password = f.read().strip()
        self.secret_path = os.path.join(creds, name + ".totp")
        self.qr_path = os.path.join(creds, name + ".png")
        self.used_codes = set()
        self.last_round = 0.0

    def baseline_vars(self):
        return {"pbx_admin": {"username": USER, "password": self.password,
                              "allowed_networks": ["%s/32" % self.lab.controller_ip]},
                "pbx_totp": {"methods": "password", "secret_path": self.secret_path, "qr_path": self.qr_path}}

    def shas(self):
        return dict((p, self.lab.sha(p)) for p in WATCHED)

    def code(self):
        """A TOTP code not used yet (DISALLOW_REUSE; WINDOW_SIZE 3 takes the step before and after)."""
        with open(self.secret_path) as f:
            totp = pyotp.TOTP(f.read().strip())
        now = time.time()
        for at in (now, now - 30, now + 30):
            c = totp.at(at)
            if c not in self.used_codes:
                self.used_codes.add(c)
                return c
        raise AssertionError("no unused TOTP code in the window")

    def login(self, code, ns=None):
        cmd = [sys.executable, os.path.join(CLIENTS, "ssh_login.py"), self.lab.ip, USER, "kbd"]
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        p = subprocess.run(cmd, input="%s\n%s\n" % (self.password, code), text=True, capture_output=True,
                           timeout=60, check=False, env=dict(os.environ, SSH_LOGIN_PROMPTS="1"))
        return p.returncode, p.stdout.strip()

    def prove_logins(self):
        """Password + code from the allowed address logs in, asked for the code once;
        without the code refused; from the outside namespace refused (DenyUsers)."""
        # RATE_LIMIT 3 30: at most 3 attempts reach the module in 30 s; a round makes 2
        wait = self.last_round + 31 - time.time()
        if wait > 0:
            time.sleep(wait)
        self.last_round = time.time()
        rc, out = self.login(self.code())
        assert rc == 0 and out.splitlines()[0] == "OK " + USER, (self.name, out)
        prompts = out.splitlines()[-1]
        assert prompts.startswith("PROMPTS 2 ") and sum("code" in x.lower() for x in prompts.split("|")) == 1, out
        rc, out = self.login("")
        assert rc == 1 and out.startswith("FAIL"), (self.name, out)
        rc, out = self.login(self.code(), ns=self.lab.outside_ns)
        assert rc == 1 and out.startswith("FAIL"), (self.name, out)
        # and sshd itself says so for that address
        assert "denyusers %s" % USER in self.effective(self.lab.vars["lab_outside_ip"])

    def effective(self, addr):
        """sshd -T -C for the admin from ``addr``, lower-cased (sshd 10 prints e.g. "DenyUsers")."""
        return self.lab.sh("sshd -T -C user=%s,host=x.invalid,addr=%s,laddr=%s,lport=22 2>/dev/null"
                           % (USER, addr, self.lab.ip)).lower()

    def ga_rules(self):
        return [ln for ln in self.lab.read("/etc/pam.d/sshd").decode().splitlines()
                if "pam_google_authenticator" in ln.split("#", 1)[0]]


def play(hosts, plays):
    """One ansible-playbook run of ``plays`` (each with its hosts), results as JSON
    (tests/lab/callback_plugins): {host name: Result}. Both lab hosts in one run: the
    two orders advance side by side."""
    first = next(iter(hosts.values()))
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=os.path.join(ROOT, ".cache")) as f:
        yaml.safe_dump(plays, f)
        pb = f.name
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="lab_json",
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "tests", "lab", "callback_plugins"),
               ANSIBLE_COLLECTIONS_PATH=COLLECTIONS + ":" + os.environ.get(
                   "ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".cache", "collections")))
    try:
        p = subprocess.run(["ansible-playbook", "-i", first.lab.inventory, pb], text=True, capture_output=True,
                           env=env, timeout=600, check=False)
    finally:
        os.unlink(pb)
    try:
        data = json.loads(p.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook printed no JSON:\n%s\n%s" % (p.stdout, p.stderr))
    out = {}
    for name in hosts:
        results = [t["hosts"][name] for pl in data["plays"] for t in pl["tasks"] if name in t["hosts"]]
        failed = any(r.get("failed") for r in results)
        out[name] = Result(1 if failed else 0, results, data.get("stats", {}).get(name, {}), p.stdout)
    return out


def devsec(hosts, names):
    """devsec.hardening's ssh_hardening on ``names`` ({name: sshd_custom_options or
    None for the role's default}), one play on all of them (the hosts side by side)."""
    v = dict(DEVSEC_VARS, _pbx_custom=dict((n, o or []) for n, o in names.items()),
             sshd_custom_options="{{ _pbx_custom[inventory_hostname] }}")
    res = play(dict((n, hosts[n]) for n in names), [
        {"name": "devsec.hardening ssh_hardening", "hosts": ",".join(names), "gather_facts": True, "vars": v,
         "pre_tasks": [DEBIAN_13_FACTS], "roles": ["devsec.hardening.ssh_hardening"]}])
    for name, r in res.items():
        assert not r.failed, (name, r.raw[-3000:])
    return res


def baseline(hosts, names):
    """The baseline (admin with allowed networks + TOTP) on ``names``, one play."""
    per_host = dict((n, hosts[n].baseline_vars()) for n in names)
    return play(dict((n, hosts[n]) for n in names), [
        {"name": "pbxguard baseline", "hosts": ",".join(names), "gather_facts": False,
         "vars": {"_pbx_host": per_host, "pbx_admin": "{{ _pbx_host[inventory_hostname].pbx_admin }}",
                  "pbx_totp": "{{ _pbx_host[inventory_hostname].pbx_totp }}"},
         "roles": ["pbxguard.asterisk.baseline"]}])


def failure(r):
    failed = [x for x in r.results if x.get("failed")]
    assert r.failed and failed, r.raw[-3000:]
    return failed[0]


@pytest.fixture(scope="module")
def hosts(lab, devsec_installed):
    creds = os.path.join(ROOT, ".cache", "coexist-creds", lab.hosts["pbx1"]["lab_netns"].rsplit("-", 1)[0])
    os.makedirs(creds, mode=0o700, exist_ok=True)
    return dict((n, Host(lab, n, creds)) for n in ("pbx1", "pbx2"))


def test_pbx1_baseline_first(hosts):
    h = hosts["pbx1"]
    r = baseline(hosts, ["pbx1"])["pbx1"]
    assert not r.failed and r.changed, r.raw[-3000:]
    h.prove_logins()


def test_devsec_drops_the_include_and_rewrites_pam(hosts):
    """pbx1 after the baseline, pbx2 before it: dev-sec's defaults."""
    devsec(hosts, {"pbx1": None, "pbx2": None})
    for h in hosts.values():
        conf = h.lab.read("/etc/ssh/sshd_config").decode()
        assert "Generated by Ansible role devsec.hardening.ssh_hardening" in conf
        assert not [ln for ln in conf.splitlines() if ln.strip().lower().startswith("include")], conf
    h = hosts["pbx1"]
    # the condition is real: sshd no longer applies the admin's drop-in (no deny from outside)
    assert "denyusers" not in h.effective(h.lab.vars["lab_outside_ip"])
    # (dev-sec's global methods, not the admin's Match: its drop-ins are not read at all)
    assert "authenticationmethods publickey" in h.effective(h.lab.vars["lab_outside_ip"])
    # community.general.pamd wrote our rule in its own spacing
    assert h.ga_rules() == ["auth       required pam_google_authenticator.so nullok"]


def test_baseline_refused_in_the_plan_naming_cause_and_fix(hosts):
    """pbx1: the rerun (before: changed=1 and success). pbx2: the first run (before:
    the account created and its password set). Both: nothing changed."""
    before = dict((n, h.shas()) for n, h in hosts.items())
    res = baseline(hosts, ["pbx1", "pbx2"])
    for name, r in res.items():
        f = failure(r)
        assert "allowed_networks: sshd does not read %s" % ADMIN_DROPIN in f["msg"], (name, f["msg"])
        assert "the allowed networks and the second factor of pbxadmin" in f["msg"], f["msg"]
        assert "sshd_custom_options: ['%s']" % INCLUDE in f["msg"] and "nothing was changed" in f["msg"], f["msg"]
        assert not f.get("changed") and hosts[name].shas() == before[name], name
    assert res["pbx1"].changed == 0
    assert hosts["pbx2"].lab.sh("getent passwd %s || true" % USER).strip() == ""


def test_audit_names_the_dropins_sshd_does_not_read(hosts):
    r = play({"pbx1": hosts["pbx1"]}, [{"name": "audit", "hosts": "pbx1", "gather_facts": False,
                                        "tasks": [{"pbxguard.asterisk.audit": {}}]}])["pbx1"]
    assert not r.failed, r.raw[-2000:]
    got = sorted((x["file"], x["severity"]) for x in r.last["findings"] if x["id"] == "SSH-DROPIN-NOT-INCLUDED")
    assert got == [(ADMIN_DROPIN, "high"), (TOTP_DROPIN, "high")], r.last["findings"]


def test_devsec_with_the_include_then_the_baseline(hosts):
    """dev-sec's documented fix: pbx1's rerun changes nothing (the rule dev-sec
    rewrote is recognised, no second one), pbx2 is applied; logins prove both;
    a further run changes nothing on either."""
    devsec(hosts, {"pbx1": [INCLUDE], "pbx2": [INCLUDE]})
    for h in hosts.values():
        assert h.lab.read("/etc/ssh/sshd_config").decode().count(INCLUDE) == 1
    res = baseline(hosts, ["pbx1", "pbx2"])
    assert not res["pbx1"].failed and res["pbx1"].changed == 0, res["pbx1"].raw[-3000:]
    assert not res["pbx2"].failed and res["pbx2"].changed, res["pbx2"].raw[-3000:]
    for h in hosts.values():
        assert len(h.ga_rules()) == 1, h.ga_rules()
        h.prove_logins()
    res = baseline(hosts, ["pbx1", "pbx2"])
    for name, r in res.items():
        assert not r.failed and r.changed == 0, (name, r.raw[-3000:])


def test_an_earlier_line_turning_keyboard_interactive_off_fails_the_noop_run(hosts):
    """What is live counts on a run with nothing to write: sshd keeps the first
    value, so a custom line of dev-sec's above the Include turns the second factor off."""
    h = hosts["pbx2"]
    devsec(hosts, {"pbx2": ["KbdInteractiveAuthentication no", INCLUDE]})
    before = h.shas()
    r = baseline(hosts, ["pbx2"])["pbx2"]
    f = failure(r)
    assert "kbdinteractiveauthentication is 'no'" in f["msg"], f["msg"]
    assert "/etc/ssh/sshd_config:" in f["msg"] and "is read first" in f["msg"], f["msg"]
    assert r.changed == 0 and h.shas() == before
