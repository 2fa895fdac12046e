# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet: playbooks/rollout.yml over five lab hosts (canary, batches,
snapshot, verify, automatic rollback) and playbooks/audit.yml's report."""
import html.parser
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pyotp
import pytest
import yaml

from conftest import CLIENTS, ROOT
from mitogen_env import mitogen_env

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

    def playbook(self, name, extra, mitogen=False):
        with open(os.path.join(ROOT, ".cache", "fleet-vars.json"), "w") as f:
            json.dump(extra, f)
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="lab_json",
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "tests", "lab", "callback_plugins"))
        if mitogen:
            env = mitogen_env(env)
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


ADMIN_PASSWORD = "Fleet-Adm1n-%d" % os.getpid()


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
        # FTP and TFTP off (the role's default for pbx_service), SSH kept
        "pbx_service": {"ssh": {"state": "enabled"}},
        # one extension with a box; purge also removes Debian's sample IAX guest and mailboxes
        "pbx_extensions": {"purge": True, "list": [
            {"number": "1008", "name": "Front Desk", "secret": "Fleet-Ext1008-%d" % os.getpid(), "pin": "8474"}]},
        # an administrator with a password, and TOTP as the second factor for it
        "pbx_admin": {"username": "pbxadmin", "password": ADMIN_PASSWORD},
        "pbx_totp": {"user": "pbxadmin", "secret_path": str(d / "credentials") + "/{{ inventory_hostname }}-pbxadmin.totp"},
    }


def audit_report(fleet, extra, report_dir):
    rc, data = fleet.playbook("audit", dict(extra, pbx_report_dir=report_dir))
    assert rc == 0 and changed(data) == 0
    with open(os.path.join(report_dir, "audit-report.json")) as f:
        return json.load(f)["hosts"]


def ids_of(findings):
    return set(x["id"] for x in findings)


def test_audit_fresh_hosts_finds_debian_sample_weaknesses(fleet, extra, tmp_path):
    """Before any baseline: Debian's shipped config, never touched by this
    collection. Under molecule the hosts are baselined by converge before this
    suite runs, so the scenario's create step audits them right after boot
    and names that report in FLEET_FRESH_REPORT_DIR."""
    fresh_dir = os.environ.get("FLEET_FRESH_REPORT_DIR")
    if fresh_dir:
        with open(os.path.join(fresh_dir, "audit-report.json")) as f:
            report = json.load(f)["hosts"]
    else:
        before = dict((h, fleet.sha(h)) for h in fleet.names)
        report = audit_report(fleet, extra, str(tmp_path / "fresh"))
        assert dict((h, fleet.sha(h)) for h in fleet.names) == before  # read-only
    assert sorted(report) == fleet.names
    for h in fleet.names:
        found = report[h]["findings"]
        # iax.conf [guest] without secret, sample boxes 1234@default (PIN 4242) and 1234@other
        # (PIN 5678, a sequence), vsftpd and tftpd-hpa running
        assert {"IAX-NO-AUTH", "VM-TRIVIAL-PIN", "FTP-ENABLED", "TFTP-ENABLED"} <= ids_of(found), (h, found)
        pins = sorted(x["message"] for x in found if x["id"] == "VM-TRIVIAL-PIN")
        assert pins == ["Mailbox 1234@default has a guessable PIN (a repeated pattern)",
                        "Mailbox 1234@other has a guessable PIN (a sequence)"], pins
        guest = [x for x in found if x["id"] == "IAX-NO-AUTH"]
        assert guest[0]["file"] == "/etc/asterisk/iax.conf" and "'guest'" in guest[0]["message"]
        # no account has a password on the fresh image: password login is only informational
        assert "SSH-PASSWORD-NO-2FA" not in ids_of(found)
        assert report[h]["worst"] == "medium" and report[h]["counts"]["critical"] == 0


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
    # drift the baseline will undo: FTP switched back on by hand. The rollback
    # must bring the host back to exactly this state (files and unit state).
    fleet.sh(victim, "systemctl enable --now vsftpd.service")
    assert fleet.sh(victim, "systemctl is-active vsftpd.service").strip() == "active"
    vsftpd_before = fleet.sha(victim, "/etc/vsftpd.conf")
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
        # ... and its units as they were: FTP on again (the baseline had switched it off)
        assert fleet.sh(victim, "systemctl is-active vsftpd.service").strip() == "active"
        assert fleet.sh(victim, "systemctl is-enabled vsftpd.service").strip() == "enabled"
        assert fleet.sha(victim, "/etc/vsftpd.conf") == vsftpd_before
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
    assert fleet.sh(victim, "systemctl is-active vsftpd.service").strip() != "active"


def test_baselined_hosts_are_clean_and_really_hardened(fleet, extra, tmp_path):
    report = audit_report(fleet, extra, str(tmp_path / "baselined"))
    for h in fleet.names:
        above_info = [x for x in report[h]["findings"] if x["severity"] != "info"]
        assert above_info == [], (h, above_info)
        assert report[h]["worst"] in ("info", "none")
    # what the clean report stands for, checked with real clients on one host
    h = fleet.names[0]
    ip = fleet.hosts[h]["ansible_host"]
    assert "guest" not in fleet.sh(h, "asterisk -rx 'iax2 show users'")
    boxes = fleet.sh(h, "asterisk -rx 'voicemail show users'")
    assert " 1008 " in boxes and " 1234 " not in boxes
    for port in (21,):
        with pytest.raises(OSError):
            socket.create_connection((ip, port), timeout=5).close()
    tftp = subprocess.run(["curl", "-s", "-m", "5", "tftp://%s/probe" % ip], capture_output=True, check=False)
    assert tftp.returncode == 28  # nothing answers on 69/udp (68 would be "not found" from a server)
    # the administrator's password alone is refused; password + TOTP code logs in
    login = [sys.executable, os.path.join(CLIENTS, "ssh_login.py"), ip, "pbxadmin", "kbd"]
    alone = subprocess.run(login, input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, timeout=60, check=False)
    assert alone.returncode == 1, alone.stdout
    secret = fleet.sh(h, "head -n1 ~pbxadmin/.google_authenticator").strip()
    code = pyotp.TOTP(secret).now()
    both = subprocess.run(login, input="%s\n%s\n" % (ADMIN_PASSWORD, code), capture_output=True, text=True,
                          timeout=60, check=False)
    assert both.returncode == 0 and both.stdout.strip() == "OK pbxadmin", both.stdout


def ssh_answers(ip, port):
    """True when an SSH server answers its banner on ip:port."""
    try:
        s = socket.create_connection((ip, port), timeout=5)
    except OSError:
        return False
    try:
        s.settimeout(5)
        return s.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False
    finally:
        s.close()


def test_role_moves_the_ssh_port_without_locking_the_controller_out(fleet, extra, tmp_path):
    """pbx_service.ssh.port through the role: the new port is opened next to
    the old one, the play reconnects on it (ssh_move.yml), and only then the
    old port closes; a rerun on the new port changes nothing; and back."""
    h = fleet.names[-1]
    ip = fleet.hosts[h]["ansible_host"]
    assert ssh_answers(ip, 22) and not ssh_answers(ip, 8022)
    moved = dict(extra, pbx_target=h, pbx_service={"ssh": {"state": "enabled", "port": 8022}})
    rc, data = fleet.playbook("site", moved)
    assert rc == 0
    assert ssh_answers(ip, 8022) and not ssh_answers(ip, 22)
    # the inventory now says 8022 for this host (as a user's inventory would)
    with open(fleet.inventory) as f:
        inv = yaml.safe_load(f)
    inv["all"]["hosts"][h]["ansible_port"] = 8022
    inv_path = str(tmp_path / "inventory-8022.yml")
    with open(inv_path, "w") as f:
        yaml.safe_dump(inv, f)
    on_8022 = Fleet(inv_path)
    rc, data = on_8022.playbook("site", moved)
    assert rc == 0 and changed(data) == 0
    # and back to 22 the same way (connected on 8022)
    rc, data = on_8022.playbook("site", dict(extra, pbx_target=h, pbx_service={"ssh": {"state": "enabled", "port": 22}}))
    assert rc == 0
    assert ssh_answers(ip, 22) and not ssh_answers(ip, 8022)
    rc, data = fleet.playbook("site", dict(extra, pbx_target=h, pbx_service={"ssh": {"state": "enabled", "port": 22}}))
    assert rc == 0 and changed(data) == 0


def snapshot_task(fleet, host, args):
    """One pbxguard.asterisk.snapshot task on ``host``: its result."""
    play = [{"name": "snapshot", "hosts": host, "gather_facts": False,
             "tasks": [{"name": "snapshot", "pbxguard.asterisk.snapshot": args}]}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=os.path.join(ROOT, ".cache")) as f:
        yaml.safe_dump(play, f)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="lab_json",
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "tests", "lab", "callback_plugins"))
    try:
        p = subprocess.run(["ansible-playbook", "-i", fleet.inventory, f.name], capture_output=True, text=True,
                           env=env, timeout=300, check=False)
    finally:
        os.unlink(f.name)
    try:
        return json.loads(p.stdout)["plays"][0]["tasks"][0]["hosts"][host]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(p.stdout[-3000:] + p.stderr[-3000:])


@pytest.mark.parametrize("name", ["..", ".", ""])
@pytest.mark.parametrize("state", ["absent", "saved", "restored"])
def test_snapshot_name_never_leaves_its_directory(fleet, name, state):
    """'..' as a snapshot name would be /var/backups itself (state absent:
    removed with everything in it). Refused before any I/O: the tree around
    the snapshot directory stays byte-identical."""
    host = fleet.names[-1]
    fleet.sh(host, "mkdir -p /var/backups/pbxguard && echo keep > /var/backups/pbxguard-sentinel")
    tree = "find /var/backups -xdev -printf '%p %s %m\\n' | sort | sha256sum"
    before = fleet.sh(host, tree)
    res = snapshot_task(fleet, host, {"name": name, "state": state})
    assert res.get("failed"), res
    assert res["msg"].startswith("name: "), res["msg"]
    assert ("is not a name" in res["msg"]) if name else ("must not be empty" in res["msg"]), res["msg"]
    assert fleet.sh(host, tree) == before
    assert fleet.sh(host, "cat /var/backups/pbxguard-sentinel").strip() == "keep"


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
        weak = ids_of(report[weak_host]["findings"])
        assert {"AMI-NO-ACL", "AMI-WEAK-SECRET", "AMI-ALL-PERMS"} <= weak
        assert report[weak_host]["worst"] == "high"
        for h in fleet.names:
            if h != weak_host:
                assert [x for x in report[h]["findings"] if x["severity"] != "info"] == []
            # the baseline's own AMI users are clean
            assert not [x for x in report[h]["findings"] if "'monitor'" in x["message"]]
        html = open(os.path.join(extra["pbx_report_dir"], "audit-report.html")).read()
        md = open(os.path.join(extra["pbx_report_dir"], "audit-report.md")).read()
        assert html.count("<h2 id=") == len(fleet.names) and "AMI-WEAK-SECRET" in html
        assert "| %s | high |" % weak_host in md
        assert "secret = admin" not in html + md + json.dumps(report)
        render_in_chromium(extra["pbx_report_dir"], report, fleet.names)
    finally:
        fleet.sh(weak_host, "rm -f /etc/asterisk/manager.d/legacy.conf")


# ------------------------------------------------------------------ browser
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(args):
    exe = shutil.which("chromium")
    assert exe, "chromium is not installed (make deps installs it)"
    profile = tempfile.mkdtemp(prefix="pbxguard-chromium-")
    try:
        p = subprocess.run([exe] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile] + args,
                           capture_output=True, text=True, timeout=120, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


class ReportDom(html.parser.HTMLParser):
    """Per host table (class findings, data-host) -> rows of cell texts."""

    def __init__(self):
        html.parser.HTMLParser.__init__(self)
        self.tables, self.table, self.row, self.cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "findings" in (a.get("class") or "").split():
            self.table = self.tables.setdefault(a.get("data-host"), [])
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row:
                self.table.append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def png_pixels(path):
    """(width, height, set of RGB colours) of an 8-bit RGB/RGBA PNG (unpacked by
    the lab's own PNG reader in clients/qr_decode.py)."""
    sys.path.insert(0, CLIENTS)
    try:
        from qr_decode import png_rows
    finally:
        sys.path.remove(CLIENTS)
    with open(path, "rb") as f:
        width, height, depth, ctype, dummy, bpp, rows = png_rows(f.read())
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    colours = set()
    for line in rows:
        colours.update(bytes(line[x:x + 3]) for x in range(0, len(line), bpp))
    return width, height, colours


def render_in_chromium(report_dir, report, names):
    """The HTML report opens in a real browser: the DOM Chromium built has one
    findings table per host with one row per finding, and the screenshot shows
    the severity colours of the stylesheet (high: #e65100, info: #e3f2fd)."""
    url = "file://" + os.path.join(report_dir, "audit-report.html")
    dom = chromium(["--dump-dom", url])
    parser = ReportDom()
    parser.feed(dom)
    assert sorted(parser.tables) == names
    for h in names:
        rows = parser.tables[h]
        want = [[x["severity"], x["id"]] for x in report[h]["findings"]] or [["No findings."]]
        assert [r[:2] if len(r) > 1 else r for r in rows] == want, (h, rows)
    shot = os.path.join(report_dir, "audit-report.png")
    chromium(["--screenshot=" + shot, "--window-size=1280,1600", "--hide-scrollbars", url])
    width, height, colours = png_pixels(shot)
    assert (width, height) == (1280, 1600)
    assert bytes.fromhex("e65100") in colours and bytes.fromhex("e3f2fd") in colours


# ------------------------------------------------------------------ mitogen
def task_results(data, host):
    """(task, changed, failed, skipped) of every task that ran on ``host``, in play order."""
    return [(t["task"]["name"], bool(r.get("changed")), bool(r.get("failed")), bool(r.get("skipped")))
            for play in data["plays"] for t in play["tasks"] for h, r in t["hosts"].items() if h == host]


def test_rollout_and_audit_under_mitogen_as_under_the_default_strategy(fleet, extra, tmp_path):
    """strategy mitogen_linear (many fleet users run it) gives the results of
    the default strategy: one change rolled out on two hosts under each
    strategy (the same tasks run, change and skip on all four), a no-op under
    each, the same audit findings; then back to the suite's baseline under
    mitogen alone (and Asterisk on those hosts says it took)."""
    linear, under_mitogen = fleet.names[:2], fleet.names[2:4]
    new = dict(extra, pbx_ami=dict(extra["pbx_ami"], users=extra["pbx_ami"]["users"] + [
        {"name": "mitotest", "secret": "Mit0gen-T3st-%d" % os.getpid(), "permit": ["127.0.0.1/32"], "read": ["cdr"]}]))
    try:
        for step in ("change", "no-op"):
            seen = {}
            for hosts, mitogen in ((linear, False), (under_mitogen, True)):
                rc, data = fleet.playbook("rollout", dict(new, pbx_target=",".join(hosts)), mitogen=mitogen)
                assert rc == 0, (step, mitogen)
                assert (changed(data) > 0) == (step == "change"), (step, mitogen, data["stats"])
                for h in hosts:
                    seen[h] = task_results(data, h)
            first = seen[linear[0]]
            assert first and all(seen[h] == first for h in fleet.names[:4]), (step, seen)
        for h in linear + under_mitogen:
            assert "username: mitotest" in fleet.sh(h, "asterisk -rx 'manager show user mitotest'")
        reports = {}
        for mitogen in (False, True):
            d = str(tmp_path / ("audit-mitogen" if mitogen else "audit-linear"))
            rc, data = fleet.playbook("audit", dict(new, pbx_report_dir=d), mitogen=mitogen)
            assert rc == 0 and changed(data) == 0
            with open(os.path.join(d, "audit-report.json")) as f:
                reports[mitogen] = dict((h, sorted((x["id"], x["message"]) for x in r["findings"]))
                                        for h, r in json.load(f)["hosts"].items())
        assert sorted(reports[True]) == fleet.names and reports[True] == reports[False]
    finally:
        # AMI users not listed are kept (purge_users: false): the suite's baseline plus the removal
        gone = dict(extra, pbx_ami=dict(extra["pbx_ami"], users=extra["pbx_ami"]["users"] + [
            {"name": "mitotest", "state": "absent"}]))
        rc, data = fleet.playbook("rollout", dict(gone, pbx_target=",".join(linear + under_mitogen)), mitogen=True)
    assert rc == 0 and changed(data) > 0
    for h in linear + under_mitogen:
        assert "There is no manager called mitotest" in fleet.sh(h, "asterisk -rx 'manager show user mitotest'")
