# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet: playbooks/rollout.yml over five lab hosts (canary, batches,
snapshot, verify, automatic rollback) and playbooks/audit.yml's report."""
import json
import os
import subprocess

import pytest
import yaml

from conftest import ROOT

CONF = "/etc/asterisk/manager.conf"


class Fleet(object):
    def __init__(self, inventory):
        self.inventory = inventory
        with open(inventory) as f:
            inv = yaml.safe_load(f)
        self.hosts = inv["all"]["hosts"]
        self.names = sorted(self.hosts)

    def sh(self, host, cmd):
        p = subprocess.run(["nsenter", "-t", str(self.hosts[host]["lab_pid1"]), "-a", "-r", "-w", "sh", "-c", cmd],
                           capture_output=True, text=True, timeout=60, check=False)
        return p.stdout

    def sha(self, host, path=CONF):
        return self.sh(host, "sha256sum %s | cut -d' ' -f1" % path).strip()

    def playbook(self, name, extra):
        with open(os.path.join(ROOT, ".cache", "fleet-vars.json"), "w") as f:
            json.dump(extra, f)
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="lab_json",
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "tests", "lab", "callback_plugins"))
        p = subprocess.run(["ansible-playbook", "-i", self.inventory, "pbxguard.asterisk." + name,
                            "-e", "@" + os.path.join(ROOT, ".cache", "fleet-vars.json")],
                           capture_output=True, text=True, env=env, timeout=900, check=False)
        try:
            data = json.loads(p.stdout)
        except ValueError:
            raise AssertionError(p.stdout[-3000:] + p.stderr[-3000:])
        return p.returncode, data


@pytest.fixture(scope="module")
def fleet():
    inv = os.environ.get("LAB_INVENTORY")
    assert inv and os.path.exists(inv), "LAB_INVENTORY must name a lab inventory"
    f = Fleet(inv)
    assert len(f.names) >= 5, "the fleet suite needs at least five lab hosts"
    return f


@pytest.fixture(scope="module")
def extra(tmp_path_factory):
    d = tmp_path_factory.mktemp("fleet")
    return {
        "pbx_credentials_dir": str(d / "credentials"),
        "pbx_rollout_summary_file": str(d / "summary.json"),
        "pbx_report_dir": str(d / "reports"),
        "pbx_rollout_serial": [1, 2],
        "pbx_ami": {"enabled": True, "bind_address": "127.0.0.1", "users": [
            {"name": "monitor", "secret": "Fleet-M0nitor-%s" % os.getpid(), "permit": ["127.0.0.1/32"],
             "read": ["system", "call"]}]},
    }


def changed(data):
    """Changes on the PBX hosts (the controller writing reports does not count)."""
    return sum(s.get("changed", 0) for h, s in data["stats"].items() if h != "localhost")


def summary(extra):
    with open(extra["pbx_rollout_summary_file"]) as f:
        return json.load(f)


def test_rollout_converges_all_then_reruns_without_change(fleet, extra):
    rc, data = fleet.playbook("rollout", extra)
    assert rc == 0
    assert summary(extra) == {"done": fleet.names, "rolled_back": [], "not_reached": [], "reasons": {}}
    rc, data = fleet.playbook("rollout", extra)
    assert rc == 0 and changed(data) == 0


def test_sabotaged_host_is_rolled_back_and_rollout_stops(fleet, extra):
    victim = fleet.names[2]  # batches: [pbx1], [pbx2, pbx3], [pbx4, pbx5]
    before = dict((h, fleet.sha(h)) for h in fleet.names)
    # sabotage: AMI's port blocked by a firewall rule, so verification fails
    fleet.sh(victim, "nft add table inet sabotage && nft add chain inet sabotage input "
                     "'{ type filter hook input priority -10 ; }' && nft add rule inet sabotage input tcp dport 5038 drop")
    try:
        new = dict(extra)
        new["pbx_ami"] = dict(extra["pbx_ami"])
        new["pbx_ami"]["users"] = extra["pbx_ami"]["users"] + [
            {"name": "reporting", "secret": "Rep0rting-%s" % os.getpid(), "permit": ["127.0.0.1/32"], "read": ["cdr"]}]
        rc, data = fleet.playbook("rollout", new)
        assert rc != 0
        s = summary(extra)
        assert s["done"] == fleet.names[:2]
        assert s["rolled_back"] == [victim]
        assert s["not_reached"] == fleet.names[3:]
        assert "AMI answers with its banner" in s["reasons"][victim]
        # the victim is back on its previous file, and Asterisk on it too
        assert fleet.sha(victim) == before[victim]
        assert "There is no manager called reporting" in fleet.sh(victim, "asterisk -rx 'manager show user reporting'")
        # hosts already done are consistently on the new baseline; later ones untouched
        for h in fleet.names[:2]:
            assert fleet.sha(h) != before[h]
            assert "username: reporting" in fleet.sh(h, "asterisk -rx 'manager show user reporting'")
        for h in fleet.names[3:]:
            assert fleet.sha(h) == before[h]
    finally:
        fleet.sh(victim, "nft delete table inet sabotage")
    rc, data = fleet.playbook("rollout", extra)
    assert rc == 0 and summary(extra)["done"] == fleet.names


def test_audit_report(fleet, extra):
    weak_host = fleet.names[1]
    fleet.sh(weak_host, "printf '[legacy]\\nsecret = admin\\nread = all\\nwrite = all\\n' > /etc/asterisk/manager.d/legacy.conf")
    before = dict((h, fleet.sha(h)) for h in fleet.names)
    try:
        rc, data = fleet.playbook("audit", extra)
        assert rc == 0 and changed(data) == 0
        assert dict((h, fleet.sha(h)) for h in fleet.names) == before  # read-only
        with open(os.path.join(extra["pbx_report_dir"], "audit-report.json")) as f:
            report = json.load(f)["hosts"]
        assert sorted(report) == fleet.names
        for h in fleet.names:
            ids = set(x["id"] for x in report[h]["findings"])
            # Debian's sample config: IAX [guest] without auth, sample mailbox PIN, FTP/TFTP running
            assert {"IAX-NO-AUTH", "VM-TRIVIAL-PIN", "FTP-ENABLED", "TFTP-ENABLED"} <= ids, (h, ids)
            # the baseline's own AMI users are clean
            assert not [x for x in report[h]["findings"] if "'monitor'" in x["message"]]
        weak = set(x["id"] for x in report[weak_host]["findings"])
        assert {"AMI-NO-ACL", "AMI-WEAK-SECRET", "AMI-ALL-PERMS"} <= weak
        assert report[weak_host]["worst"] == "high"
        assert all("AMI-NO-ACL" not in set(x["id"] for x in report[h]["findings"]) for h in fleet.names if h != weak_host)
        html = open(os.path.join(extra["pbx_report_dir"], "audit-report.html")).read()
        md = open(os.path.join(extra["pbx_report_dir"], "audit-report.md")).read()
        assert html.count("<h2 id=") == len(fleet.names) and "AMI-WEAK-SECRET" in html
        assert "| %s | high |" % weak_host in md
        assert "secret = admin" not in html + md + json.dumps(report)
    finally:
        fleet.sh(weak_host, "rm -f /etc/asterisk/manager.d/legacy.conf")
