# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the reliability suites (tests/reliability): the lab host of
tests/lab (same Lab class), a fingerprint of every managed file, Asterisk's
reload and start markers, and a per-suite JSON result that
scripts/reliability-report turns into docs/reliability.md."""
import importlib.util
import json
import os
import subprocess
import tempfile
import time

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RESULTS = os.environ.get("RELIABILITY_RESULTS", os.path.join(ROOT, "tests", "output", "reliability"))
CALLBACKS = os.path.join(ROOT, "tests", "lab", "callback_plugins")

_spec = importlib.util.spec_from_file_location("lab_conftest", os.path.join(ROOT, "tests", "lab", "conftest.py"))
labconf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(labconf)
GOOD_PINS = labconf.GOOD_PINS

# every file a pbxguard module may write, by directory (plus single files)
MANAGED_DIRS = ("/etc/asterisk", "/etc/kea", "/etc/ssh/sshd_config.d", "/etc/nftables.d")
MANAGED_FILES = ("/etc/ssh/sshd_config", "/etc/pam.d/sshd", "/etc/vsftpd.conf", "/etc/nftables.conf",
                 "/etc/shadow", "/etc/passwd", "/etc/group")

# One python run on the host: path -> [sha256, inode, mtime_ns, mode, owner:group]
_FP = r"""
import grp, hashlib, json, os, pwd, sys
out = {}
def add(p):
    try:
        st = os.lstat(p)
        if not os.path.isfile(p) or os.path.islink(p):
            return
        h = hashlib.sha256(open(p, 'rb').read()).hexdigest()
        try:
            og = pwd.getpwuid(st.st_uid).pw_name + ':' + grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            og = '%d:%d' % (st.st_uid, st.st_gid)
        out[p] = [h, st.st_ino, st.st_mtime_ns, '%o' % (st.st_mode & 0o7777), og]
    except OSError:
        pass
for d in sys.argv[1].split(','):
    for base, dirs, files in os.walk(d):
        for f in files:
            add(os.path.join(base, f))
for f in sys.argv[2].split(','):
    add(f)
home = '/home'
for u in (os.listdir(home) if os.path.isdir(home) else []):
    for f in ('.ssh/authorized_keys', '.google_authenticator'):
        add(os.path.join(home, u, f))
print(json.dumps(out))
"""


class RelLab(labconf.Lab):
    """The lab host plus what the reliability suites need."""

    def fingerprint(self):
        out = self.sh("python3 -c %s %s %s" % (shq(_FP), ",".join(MANAGED_DIRS), ",".join(MANAGED_FILES)))
        return json.loads(out)

    def markers(self):
        """(start, last reload) of Asterisk as seconds since its start: both
        read from one `core show uptime seconds`, so independent of clocks."""
        out = self.sh("asterisk -rx 'core show uptime seconds'", check=False)
        vals = {}
        for line in out.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                try:
                    vals[k.strip()] = int(v.strip())
                except ValueError:
                    pass
        if "System uptime" not in vals:
            return None
        return {"uptime": vals["System uptime"], "last_reload": vals.get("Last reload"),
                "reload_offset": vals["System uptime"] - vals.get("Last reload", vals["System uptime"]),
                "pid": self.sh("systemctl show -p MainPID --value asterisk", check=False).strip()}

    def run_playbook(self, plays, extra_args=(), verbosity=0, json_out=True, timeout=900, env_extra=None,
                     inventory=None):
        """Run a list of plays (dicts); returns (returncode, parsed JSON or None, stdout, stderr)."""
        os.makedirs(os.path.join(ROOT, ".cache"), exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=os.path.join(ROOT, ".cache")) as f:
            yaml.safe_dump(plays, f, allow_unicode=False, width=1000)
            pb = f.name
        env = dict(os.environ)
        if json_out:
            env["ANSIBLE_STDOUT_CALLBACK"] = "lab_json"
            env["ANSIBLE_CALLBACK_PLUGINS"] = CALLBACKS
        env.update(env_extra or {})
        cmd = ["ansible-playbook", "-i", inventory or self.inventory, pb] + list(extra_args)
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        try:
            p = subprocess.run(cmd, text=True, capture_output=True, env=env, timeout=timeout, check=False)
        finally:
            os.unlink(pb)
        data = None
        if json_out:
            try:
                data = json.loads(p.stdout)
            except ValueError:
                data = None
        return p.returncode, data, p.stdout, p.stderr

    def play(self, tasks, name="reliability", **kw):
        return [{"name": name, "hosts": self.name, "gather_facts": False, "tasks": tasks}]


def shq(s):
    return "'" + s.replace("'", "'\"'\"'") + "'"


def diff_fingerprints(before, after):
    """Paths whose content, inode, mtime, mode or owner changed, appeared or vanished."""
    changed = []
    for p in sorted(set(before) | set(after)):
        if before.get(p) != after.get(p):
            changed.append(p)
    return changed


@pytest.fixture(scope="session")
def lab():
    inv = os.environ.get("LAB_INVENTORY")
    assert inv and os.path.exists(inv), "LAB_INVENTORY must name a lab inventory (tests/lab/labctl.py up)"
    return RelLab(inv)


def record(suite, data):
    """Write this suite's result (counts and details) for scripts/reliability-report."""
    os.makedirs(RESULTS, exist_ok=True)
    data = dict(data, suite=suite, finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    with open(os.path.join(RESULTS, suite + ".json"), "w") as f:
        json.dump(data, f, indent=1, sort_keys=True, default=str)


def counts_line(suite, **counts):
    line = "[reliability] %s: %s" % (suite, ", ".join("%s=%s" % kv for kv in counts.items()))
    print("\n" + line)
    return line


def strong(prefix="Rl"):
    import secrets
    return "%s%s-%s7" % (prefix, secrets.token_hex(4).upper(), secrets.token_hex(4))


TRANSPORT = ("printf '[lab-udp]\\ntype=transport\\nprotocol=udp\\nbind=0.0.0.0:5060\\n' > /etc/asterisk/pjsip_lab.conf"
             " && chown asterisk:asterisk /etc/asterisk/pjsip_lab.conf && chmod 640 /etc/asterisk/pjsip_lab.conf"
             " && (grep -q pjsip_lab.conf /etc/asterisk/pjsip.conf || echo '#include pjsip_lab.conf' >> /etc/asterisk/pjsip.conf)")


def wait_asterisk(lab, needle="lab-udp", command="pjsip show transports", tries=120):
    for dummy in range(tries):
        if needle in lab.sh("asterisk -rx '%s' 2>&1 || true" % command, check=False):
            return True
        time.sleep(0.5)
    return False


@pytest.fixture(scope="session")
def transport(lab):
    """A UDP transport (Debian's pjsip.conf has none), added by hand as an admin would."""
    if "lab-udp" not in lab.sh("asterisk -rx 'pjsip show transports' 2>&1 || true", check=False):
        lab.sh(TRANSPORT + " && systemctl restart asterisk")
        assert wait_asterisk(lab), "the lab transport did not come up"
    return "lab-udp"
