# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures of the lab suites: they drive real ansible-playbook runs
against a lab PBX host booted by tests/lab/labctl.py and check the result with
real clients. LAB_INVENTORY names the inventory labctl wrote."""
import hashlib
import json
import os
import subprocess
import tempfile

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENTS = os.path.join(ROOT, "tests", "lab", "clients")
# voicemail PINs the policy accepts (no runs, repetitions, box numbers, well-known PINs)
GOOD_PINS = ("8474", "6093", "2719", "5360", "9182", "3507", "7426", "0851")
TLS_NAMES = {"tls1": "TLSv1", "tls1_1": "TLSv1.1", "tls1_2": "TLSv1.2", "tls1_3": "TLSv1.3"}


def tls_handshake(ip, port, version, ns=None):
    """The protocol a real ``openssl s_client`` offering only ``version``
    (tls1, tls1_1, tls1_2, tls1_3) negotiated with ip:port, None when refused.
    Only the exit code proves a handshake: OpenSSL 3 prints a session block
    with "Protocol : TLSv1.1" even for a refused one, and with TLS 1.3 that
    block can be missing when s_client exits on stdin EOF before the session
    ticket arrives. So: exit 0 and a real cipher, then the version offered
    (the only one s_client allowed), cross-checked with the Protocol line when
    it is there."""
    cmd = ["timeout", "8", "openssl", "s_client", "-connect", "%s:%d" % (ip, port), "-" + version,
           "-cipher", "DEFAULT@SECLEVEL=0"]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False, input="")
    out = p.stdout + p.stderr
    if p.returncode != 0 or "Cipher is (NONE)" in out or "Cipher is " not in out:
        return None
    want = TLS_NAMES[version]
    for line in out.splitlines():
        if line.strip().startswith("Protocol") and ":" in line:
            got = line.split(":", 1)[1].strip()
            assert got == want, "s_client offered only %s but reports %s" % (want, got)
    return want


class Lab(object):
    def __init__(self, inventory):
        self.inventory = inventory
        with open(inventory) as f:
            inv = yaml.safe_load(f)
        self.hosts = inv["all"]["hosts"]
        self.vars = inv["all"]["vars"]
        self.name = sorted(self.hosts)[0]
        self.host = self.hosts[self.name]
        self.ip = self.host["ansible_host"]
        self.pid1 = self.host["lab_pid1"]
        self.outside_ns = self.vars["lab_outside_netns"]
        self.controller_ip = self.vars["lab_controller_ip"]
        # name resolution the host was given (labctl.py LAB_RESOLVER)
        self.resolver = self.vars.get("lab_resolver", "refuse")

    def reboot(self, name=None):
        """Reboot a lab host (tests/lab/labctl.py reboot): its systemd stops and
        boots again over the same disk (overlay upper dir) and network
        namespace; waits for systemd and Asterisk, then reads the new PID 1."""
        name = name or self.name
        host = self.hosts[name]
        env = dict(os.environ, LAB_PREFIX=host["lab_netns"].rsplit("-", 1)[0],
                   LAB_NET=host["ansible_host"].split(".")[2])
        p = subprocess.run(["python3", os.path.join(ROOT, "tests", "lab", "labctl.py"), "reboot", name,
                            "--inventory", self.inventory], env=env, text=True, capture_output=True,
                           timeout=300, check=False)
        if p.returncode != 0:
            raise AssertionError("labctl reboot %s failed (%d):\n%s%s" % (name, p.returncode, p.stdout, p.stderr))
        with open(self.inventory) as f:
            self.hosts = yaml.safe_load(f)["all"]["hosts"]
        self.host = self.hosts[self.name]
        self.pid1 = self.host["lab_pid1"]

    # ---- inside the host (as root, via its PID 1's namespaces)
    def sh(self, cmd, check=True, input=None):
        p = subprocess.run(["nsenter", "-t", str(self.pid1), "-a", "-r", "-w", "sh", "-c", cmd],
                           text=True, capture_output=True, input=input, timeout=60, check=False)
        if check and p.returncode != 0:
            raise AssertionError("lab command failed (%d): %s\n%s%s" % (p.returncode, cmd, p.stdout, p.stderr))
        return p.stdout

    def cli(self, command):
        return self.sh("asterisk -rx '%s'" % command)

    def read(self, path):
        p = subprocess.run(["nsenter", "-t", str(self.pid1), "-a", "-r", "-w", "cat", path],
                           capture_output=True, timeout=30, check=False)
        return p.stdout if p.returncode == 0 else None

    def sha(self, path):
        data = self.read(path)
        return None if data is None else hashlib.sha256(data).hexdigest()

    def last_reload(self):
        """Seconds since Asterisk's last reload ("core show uptime seconds")."""
        out = self.cli("core show uptime seconds")
        for line in out.splitlines():
            if line.startswith("Last reload:"):
                return int(line.split(":")[1])
        return None

    def reload_marker(self):
        """Something that changes whenever any reload happened."""
        import time
        lr = self.last_reload()
        return None if lr is None else int(time.time()) - lr

    # ---- ansible
    def playbook(self, tasks, extra_args=(), check=False, diff=False, verbosity=0, json_out=True,
                 play_vars=None):
        play = [{"name": "lab scenario", "hosts": self.name, "gather_facts": False,
                 "vars": play_vars or {}, "tasks": tasks}]
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=ROOT + "/.cache") as f:
            yaml.safe_dump(play, f)
            pb = f.name
        env = dict(os.environ)
        if json_out:
            env["ANSIBLE_STDOUT_CALLBACK"] = "lab_json"
            env["ANSIBLE_CALLBACK_PLUGINS"] = os.path.join(ROOT, "tests", "lab", "callback_plugins")
        cmd = ["ansible-playbook", "-i", self.inventory, pb] + list(extra_args)
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        try:
            p = subprocess.run(cmd, text=True, capture_output=True, env=env, timeout=300, check=False)
        finally:
            os.unlink(pb)
        if not json_out:
            return p
        try:
            data = json.loads(p.stdout)
        except ValueError:
            raise AssertionError("ansible-playbook printed no JSON:\n%s\n%s" % (p.stdout, p.stderr))
        results = []
        for play_ in data["plays"]:
            for task in play_["tasks"]:
                results.append(task["hosts"].get(self.name, {}))
        return Result(p.returncode, results, data.get("stats", {}).get(self.name, {}), p.stdout)

    # ---- real clients
    def ami_login(self, user, secret, ns=None, port=5038):
        cmd = ["python3", os.path.join(CLIENTS, "ami_login.py"), self.ip, str(port), user]
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        p = subprocess.run(cmd, input=secret + "\n", text=True, capture_output=True, timeout=30, check=False)
        return p.returncode, p.stdout.strip()


class Result(object):
    def __init__(self, rc, results, stats, raw):
        self.rc = rc
        self.results = results
        self.stats = stats
        self.raw = raw

    @property
    def last(self):
        return self.results[-1] if self.results else {}

    @property
    def failed(self):
        return self.rc != 0 or any(r.get("failed") for r in self.results)

    @property
    def changed(self):
        return self.stats.get("changed", 0)


# seconds a failing lookup of a name not in /etc/hosts takes on the host, per
# LAB_RESOLVER: (at least, at most)
RESOLVER_WAIT = {"refuse": (0, 1.5), "slow": (2.0, 4.5), "unreachable": (9.0, 12.0)}


def check_resolver_condition(lab):
    """The suite runs under the name resolution its lab claims: a lookup of a
    name that no nameserver knows fails, after the resolver's time."""
    import time
    low, high = RESOLVER_WAIT[lab.resolver]
    t0 = time.time()
    p = subprocess.run(["nsenter", "-t", str(lab.pid1), "-a", "-r", "-w", "getent", "ahosts", "pbxguard-lab.invalid"],
                       capture_output=True, text=True, timeout=30, check=False)
    took = time.time() - t0
    assert p.returncode == 2, "getent ahosts pbxguard-lab.invalid on the lab host: exit %d %s" % (p.returncode, p.stdout)
    assert low <= took <= high, "lab resolver %r: a failing lookup took %.1f s, expected %.1f-%.1f s" % (
        lab.resolver, took, low, high)


@pytest.fixture(scope="session")
def lab():
    inv = os.environ.get("LAB_INVENTORY")
    assert inv and os.path.exists(inv), "LAB_INVENTORY must name a lab inventory (tests/lab/labctl.py up)"
    lab = Lab(inv)
    check_resolver_condition(lab)
    return lab
