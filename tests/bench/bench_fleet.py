#!/usr/bin/env python
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a timed test): the baseline role on a fleet of N lab hosts
(default 20), measured in one run:

  A. first converge of the baseline on N fresh hosts
  B. the baseline again with nothing to change (no-op rerun, changed=0 checked)
  C. one ansible.builtin.ping task on the same hosts
  D. as many ping tasks as the no-op rerun runs modules per host (the floor:
     what that many module runs cost when each is as cheap as Ansible's own)
  E. the no-op rerun of B under strategy mitogen_linear (mitogen from
     requirements.txt), changed=0 checked as well
  F. one ping task under mitogen_linear (what mitogen's own start costs a
     play: its interpreter on every host, before any module runs)
  G. D under mitogen_linear (as many ping tasks as the no-op runs modules):
     E/G is to mitogen what B/D is to the default strategy
  H. the baseline role's skeleton: the same argument spec, defaults, vars and
     part include, with ansible.builtin.ping in place of each part's module:
     B/D = (H/D: the role's own cost) x (B/H: the modules' cost beyond ping)

and the ratios B/D (what the modules cost beyond Ansible's own per run;
target <= 1.2) and E/C (the no-op under mitogen against one ping task; target
<= 2.5), with B/C and D/C for reference (the old "B/C <= 5x" line is retired:
one module per settings page stays). B, C, D and E are each run REPEAT times
(default 3), alternating, and the median is reported. Same forks for all.

Baseline variables (group_vars/all.yml next to both plays): AMI with one
restricted user, FTP/TFTP off, SSH kept, one extension with a voicemail box
plus removal of Debian's samples, an administrator with a password and TOTP -
the fleet scenario's baseline.

Usage: tests/bench/bench_fleet.py [N]   (as root, after `make venv collection image`)
Environment: LAB_PREFIX (default pbxf), LAB_NET (default 35), FORKS (default N),
REPEAT (default 3), PROFILE=1 (also print the wall time of each task of the last
no-op rerun, measured by a small callback written to the work directory)."""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
from ansible_log import module_runs  # noqa: E402  pylint: disable=wrong-import-position
from mitogen_env import mitogen_env  # noqa: E402  pylint: disable=wrong-import-position
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20
PREFIX = os.environ.get("LAB_PREFIX") or "pbxf"
NET = os.environ.get("LAB_NET") or "35"
FORKS = int(os.environ.get("FORKS") or N)
REPEAT = int(os.environ.get("REPEAT") or 3)
PROFILE = os.environ.get("PROFILE") == "1"
ENV = dict(os.environ, LAB_PREFIX=PREFIX, LAB_NET=NET, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
           ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"), ANSIBLE_FORKS=str(FORKS),
           ANSIBLE_DEPRECATION_WARNINGS="false", ANSIBLE_TIMEOUT=os.environ.get("ANSIBLE_TIMEOUT", "30"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
           PATH=os.path.join(ROOT, ".venv", "bin") + ":" + os.environ["PATH"])
INV = "/var/lib/pbxguard-lab/%s/inventory.yml" % PREFIX
# PROFILE=1: wall time per task (the linear strategy runs a task on all hosts before the next one)
# and the controller's CPU time in it (its own and its reaped workers')
PROFILE_CALLBACK = '''
from __future__ import absolute_import, division, print_function
__metaclass__ = type
import os
import time
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_profile"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.rows, self.cur, self.t0 = [], None, time.time()
        self.c0 = self._cpu()

    def _cpu(self):
        t = os.times()
        return t[0] + t[1] + t[2] + t[3]

    def _close(self):
        if self.cur:
            self.rows.append((self.cur[0], time.time() - self.cur[1], self._cpu() - self.cur[2]))
        self.cur = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.cur = (task.get_name(), time.time(), self._cpu())

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_playbook_on_stats(self, stats):
        self._close()
        with open(os.environ["BENCH_PROFILE_OUT"], "w") as f:
            for name, dt, cpu in self.rows:
                f.write("%8.2f s %6.2f cpu  %s\\n" % (dt, cpu, name))
            f.write("controller cpu from callback start %.2f\\n" % (self._cpu() - self.c0))
            f.write("%8.2f s  (whole play, from the callback's start)\\n" % (time.time() - self.t0))
'''
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def verdict(ratio, limit):
    return "met" if ratio <= limit else "MISSED"


def baseline_vars(work):
    creds = os.path.join(work, "credentials")
    lookup = "{{ lookup('pbxguard.asterisk.strong_secret', '%s/' ~ inventory_hostname ~ '-%s') }}"
    return {
        "pbx_ami": {"enabled": True, "bind_address": "127.0.0.1", "users": [
            {"name": "monitor", "secret": lookup % (creds, "ami-monitor"), "permit": ["127.0.0.1/32"],
             "read": ["system", "call"]}]},
        "pbx_service": {"ssh": {"state": "enabled"}},
        "pbx_extensions": {"purge": True, "list": [
            {"number": "1008", "name": "Front Desk", "secret": lookup % (creds, "1008"), "pin": "8474"}]},
        "pbx_admin": {"username": "pbxadmin", "password": lookup % (creds, "pbxadmin")},
        "pbx_totp": {"user": "pbxadmin", "secret_path": creds + "/{{ inventory_hostname }}-pbxadmin.totp"},
    }


def play(pb_path, env=None, verbose=False):
    """(seconds, changes, stdout) of one ansible-playbook run on the lab; exits when it failed."""
    t0 = time.time()
    p = subprocess.run(["ansible-playbook", "-i", INV, pb_path] + (["-vvv"] if verbose else []), env=env or ENV,
                       capture_output=True, text=True, check=False)
    dt = time.time() - t0
    recap = RECAP.findall(p.stdout)
    if p.returncode != 0 or len(recap) != N or any(int(r[3]) or int(r[4]) for r in recap):
        sys.exit("benchmark play %s failed (rc %d):\n%s%s" % (pb_path, p.returncode, p.stdout[-4000:],
                                                              p.stderr[-2000:]))
    return dt, sum(int(r[2]) for r in recap), p.stdout


def main():
    hosts = ",".join("pbx%d" % i for i in range(1, N + 1))
    t0 = time.time()
    subprocess.run([sys.executable, os.path.join(ROOT, "tests/lab/labctl.py"), "up", "--hosts", hosts],
                   env=ENV, check=True, stdout=subprocess.DEVNULL)
    boot = time.time() - t0
    try:
        work = tempfile.mkdtemp(prefix="bench-fleet-")
        # the fleet's variables where an infrastructure-as-code repo keeps them: group_vars next
        # to the playbooks (both plays below see them). Not vars_files: ansible-core re-reads a
        # play's vars_files for every host and task in the controller's main process.
        os.makedirs(os.path.join(work, "group_vars"))
        with open(os.path.join(work, "group_vars", "all.yml"), "w") as f:
            yaml.safe_dump(baseline_vars(work), f)
        base_pb = os.path.join(work, "baseline-play.yml")
        with open(base_pb, "w") as f:
            yaml.safe_dump([{"name": "baseline", "hosts": "all", "gather_facts": False,
                             "roles": [{"role": "pbxguard.asterisk.baseline"}]}], f)
        skeleton = os.path.join(work, "roles", "skeleton")
        shutil.copytree(os.path.join(ROOT, "roles", "baseline"), skeleton)
        for part in os.listdir(os.path.join(skeleton, "tasks", "parts")):
            path = os.path.join(skeleton, "tasks", "parts", part)
            with open(path) as f:
                tasks = yaml.safe_load(f) or []
            with open(path, "w") as f:
                yaml.safe_dump([{"name": t.get("name", "part"), "ansible.builtin.ping": {}} for t in tasks], f)
        skel_pb = os.path.join(work, "skeleton-play.yml")
        with open(skel_pb, "w") as f:
            yaml.safe_dump([{"name": "skeleton", "hosts": "all", "gather_facts": False,
                             "roles": [{"role": skeleton}]}], f)
        ping_pb = os.path.join(work, "ping-play.yml")
        with open(ping_pb, "w") as f:
            yaml.safe_dump([{"name": "ping", "hosts": "all", "gather_facts": False,
                             "tasks": [{"name": "ping", "ansible.builtin.ping": {}}]}], f)
        penv, profile_out = ENV, os.path.join(work, "profile.txt")
        if PROFILE:
            cb_dir = os.path.join(work, "callback_plugins")
            os.makedirs(cb_dir)
            with open(os.path.join(cb_dir, "bench_profile.py"), "w") as f:
                f.write(PROFILE_CALLBACK)
            penv = dict(ENV, ANSIBLE_CALLBACK_PLUGINS=cb_dir, ANSIBLE_CALLBACKS_ENABLED="bench_profile",
                        BENCH_PROFILE_OUT=profile_out)
        first, first_changed, dummy = play(base_pb)
        # how many modules a no-op rerun runs on a host (counted in a -vvv run, not timed)
        dummy, changed, log = play(base_pb, verbose=True)
        runs = max(module_runs(log).values(), default=0)
        if changed or not runs:
            sys.exit("the baseline rerun changed %d things, %d module runs: not a no-op" % (changed, runs))
        floor_pb = os.path.join(work, "floor-play.yml")
        with open(floor_pb, "w") as f:
            yaml.safe_dump([{"name": "floor", "hosts": "all", "gather_facts": False,
                             "tasks": [{"name": "ping %d" % i, "ansible.builtin.ping": {}}
                                       for i in range(1, runs + 1)]}], f)
        noop, ping, floor, mito, mping, mfloor, skel = [], [], [], [], [], [], []
        for dummy in range(REPEAT):
            dt, changed, dummy = play(base_pb, penv)
            if changed:
                sys.exit("the baseline rerun changed %d things: not a no-op" % changed)
            noop.append(dt)
            ping.append(play(ping_pb)[0])
            floor.append(play(floor_pb)[0])
            menv = dict(mitogen_env(penv), BENCH_PROFILE_OUT=profile_out + ".mitogen") if PROFILE else mitogen_env(ENV)
            dt, changed, dummy = play(base_pb, menv)
            if changed:
                sys.exit("the baseline rerun under mitogen changed %d things: not a no-op" % changed)
            mito.append(dt)
            mping.append(play(ping_pb, mitogen_env(ENV))[0])
            mfloor.append(play(floor_pb, mitogen_env(ENV))[0])
            skel.append(play(skel_pb)[0])
        m_noop, m_ping, m_floor = statistics.median(noop), statistics.median(ping), statistics.median(floor)
        m_mito, m_mping, m_mfloor = statistics.median(mito), statistics.median(mping), statistics.median(mfloor)
        m_skel = statistics.median(skel)
        tasks = subprocess.run(["ansible-playbook", "-i", INV, base_pb, "--list-tasks"], env=ENV,
                               capture_output=True, text=True, check=False).stdout
        n_tasks = len([ln for ln in tasks.splitlines() if "TAGS:" in ln])
        print("pbxguard.asterisk baseline benchmark: %d lab hosts, one run, forks %d, %d CPU cores"
              % (N, FORKS, os.cpu_count() or 0))
        print("  lab boot (labctl up, %d hosts)            %7.1f s" % (N, boot))
        print("  A. first converge of the baseline         %7.1f s  (%d changes)" % (first, first_changed))
        print("  B. baseline no-op rerun (changed=0)       %7.1f s  median of %s" % (
            m_noop, ", ".join("%.1f" % x for x in noop)))
        print("  C. one ansible.builtin.ping task          %7.1f s  median of %s" % (
            m_ping, ", ".join("%.1f" % x for x in ping)))
        print("  D. %d ansible.builtin.ping tasks          %7.1f s  median of %s" % (
            runs, m_floor, ", ".join("%.1f" % x for x in floor)))
        print("  E. baseline no-op rerun, mitogen_linear   %7.1f s  median of %s" % (
            m_mito, ", ".join("%.1f" % x for x in mito)))
        print("  F. one ping task, mitogen_linear          %7.1f s  median of %s" % (
            m_mping, ", ".join("%.1f" % x for x in mping)))
        print("  G. %d ping tasks, mitogen_linear          %7.1f s  median of %s" % (
            runs, m_mfloor, ", ".join("%.1f" % x for x in mfloor)))
        print("  H. the role's skeleton, ping per part      %7.1f s  median of %s" % (
            m_skel, ", ".join("%.1f" % x for x in skel)))
        print("  B/D = %.2fx  target <= 1.2x %s (the modules' cost beyond %d ping runs per host)" % (
            m_noop / m_floor, verdict(m_noop / m_floor, 1.2), runs))
        print("  E/C = %.2fx  target <= 2.5x %s (the no-op under mitogen against one ping task)" % (
            m_mito / m_ping, verdict(m_mito / m_ping, 2.5)))
        print("  for reference: B/C = %.2fx, D/C = %.2fx, E/B = %.2fx; the role has %d tasks in its task list,"
              " a no-op runs %d modules per host" % (m_noop / m_ping, m_floor / m_ping, m_mito / m_noop, n_tasks, runs))
        print("  H/D = %.2fx: the role's own cost (argument spec check, part include) over %d ping tasks;"
              " B/H = %.2fx: the modules' cost beyond ping inside the role" % (m_skel / m_floor, runs, m_noop / m_skel))
        print("  F/C = %.2fx: mitogen's start alone, the floor of E/C; G/C = %.2fx: the floor with %d module runs;"
              " E/G = %.2fx: the modules' cost beyond that under mitogen" % (
                  m_mping / m_ping, m_mfloor / m_ping, runs, m_mito / m_mfloor))
        if PROFILE and os.path.exists(profile_out):
            print("  wall time and controller CPU per task of the last no-op rerun (PROFILE=1):")
            with open(profile_out) as f:
                for line in f:
                    print("    " + line.rstrip())
        if PROFILE and os.path.exists(profile_out + ".mitogen"):
            print("  the same for the last no-op rerun under mitogen_linear (E):")
            with open(profile_out + ".mitogen") as f:
                for line in f:
                    print("    " + line.rstrip())
    finally:
        subprocess.run([sys.executable, os.path.join(ROOT, "tests/lab/labctl.py"), "down"], env=ENV, check=False,
                       stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
