#!/usr/bin/env python
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a timed test): N extensions on one lab host, the module
against what a template playbook does, ratios measured in one run.

For each N (default 10000):
  module     pbxguard.asterisk.extension with the whole list (validates, writes,
             reloads res_pjsip, verifies every live object)
  template   one ansible.builtin.template task rendering the same PJSIP objects
             into a file pjsip.conf includes, plus the reload that makes it live
             (a command task run when the file changed, timed on the host)
  first run from an empty host, rerun (nothing to change), one extension's
  secret changed; then the same with N hand-written objects (other names) in
  a file pjsip.conf includes, which the module reads to refuse clashes.
  REPEAT rounds (default 2; 1 above 10,000), module and template alternating
  in order; the median is reported with the spread of the rounds.
Once: a per-item loop (ansible.builtin.blockinfile, one block per extension)
on 100 items, extrapolated; Asterisk's own costs (module reload res_pjsip.so,
pjsip show endpoints) at N objects; the module profiled on the host (cProfile,
first run, rerun and one change) and the controller's task worker (cProfile,
rerun), top entries printed.

Usage: [LAB_PREFIX=bench LAB_NET=40] tests/bench/bench_extension.py [N ...]
(as root, after `make venv collection image`). BENCH_OUT=FILE also writes
the report there (make bench: docs/bench-extension.txt). PROFILE=0 skips the
profiles; KEEP_LAB=1 leaves the lab host up; HAND_MAX (default 10000) is the
largest N run with the hand-written objects."""
import glob
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZES = [int(a) for a in sys.argv[1:]] or [10000]
# a lab slot of its own; LAB_PREFIX/LAB_NET choose another (e.g. beside other labs)
PREFIX, NET = os.environ.get("LAB_PREFIX") or "bench", os.environ.get("LAB_NET") or "40"
PROFILE = os.environ.get("PROFILE", "1") != "0"
# the hand-written variant only up to this N (at 50,000 it alone would take most of an hour here)
HAND_MAX = int(os.environ.get("HAND_MAX") or 10000)
ENV = dict(os.environ, LAB_PREFIX=PREFIX, LAB_NET=NET, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
           ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
           ANSIBLE_DEPRECATION_WARNINGS="false",
           PATH=os.path.join(ROOT, ".venv", "bin") + ":" + os.environ["PATH"])
INV = "/var/lib/pbxguard-lab/%s/inventory.yml" % PREFIX
ETC = "/etc/asterisk"
TPL_FILE, HAND_FILE = "pjsip_bench_tpl.conf", "pjsip_bench_hand.conf"
RELOAD_TIME = "/root/bench-reload-time"
TARGETS = dict(first=1.3, rerun=1.1, one=1.2, loop=300)

TEMPLATE = """; rendered by ansible.builtin.template
{% for e in exts %}
[{{ e.number }}]
type=endpoint
context=from-internal
disallow=all
allow=ulaw,alaw,g722
auth={{ e.number }}
aors={{ e.number }}
callerid=<{{ e.number }}>

[{{ e.number }}]
type=auth
auth_type=digest
username={{ e.number }}
password={{ e.secret }}

[{{ e.number }}]
type=aor
max_contacts=1
remove_existing=yes

{% endfor %}
"""

REPORT = []


def say(text=""):
    print(text)
    sys.stdout.flush()
    REPORT.append(text)


class Host(object):
    """The lab host from outside: commands through nsenter into its
    namespaces (untimed setup), files through /proc/PID1/root."""

    def __init__(self):
        with open(INV) as f:
            inv = yaml.safe_load(f)
        self.pid = inv["all"]["hosts"]["pbx1"]["lab_pid1"]
        self.root = "/proc/%d/root" % self.pid

    def sh(self, cmd, check=True):
        p = subprocess.run(["nsenter", "-t", str(self.pid), "-a", "-r", "-w", "sh", "-c", cmd],
                           capture_output=True, text=True, check=False)
        if check and p.returncode != 0:
            sys.exit("host command failed: %s\n%s%s" % (cmd, p.stdout, p.stderr))
        return p.stdout

    def put(self, path, data):
        with open(self.root + path, "w") as f:
            f.write(data)

    def get(self, path):
        with open(self.root + path) as f:
            return f.read()

    def cli_time(self, command, repeat=3):
        """Seconds of ``asterisk -rx COMMAND`` on the host, each try."""
        self.put("/root/bench-clitime.py", "import subprocess, sys, time\n"
                 "for i in range(int(sys.argv[2])):\n"
                 "    t = time.time()\n"
                 "    subprocess.run(['asterisk', '-rx', sys.argv[1]], capture_output=True)\n"
                 "    print(time.time() - t)\n")
        out = self.sh("python3 /root/bench-clitime.py '%s' %d" % (command, repeat))
        return [float(x) for x in out.split()]

    def reset(self, n, template=False, hand=False):
        """Debian's pjsip/iax/voicemail files, no managed file; optionally the
        include of the template's file and N hand-written objects; loaded."""
        self.sh("cp /root/bench-orig/*.conf %s/ && rm -f %s/pjsip_pbxguard.conf* %s/iax_pbxguard.conf* "
                "%s/pjsip_bench_*" % (ETC, ETC, ETC, ETC))
        extra = ""
        if hand:
            self.put("%s/%s" % (ETC, HAND_FILE), hand_written(n))
            extra += '\n#include "%s"\n' % HAND_FILE
        if template:
            extra += '\n#tryinclude "%s"\n' % TPL_FILE
        if extra:
            self.put(ETC + "/pjsip.conf", self.get(ETC + "/pjsip.conf") + extra)
        self.sh("chown asterisk:asterisk %s/*.conf; asterisk -rx 'module reload res_pjsip.so' >/dev/null; "
                "asterisk -rx 'iax2 reload' >/dev/null" % ETC)


def hand_written(n):
    """N PJSIP extensions written by hand (other names than the module's)."""
    out = ["; written by hand (benchmark)\n"]
    for i in range(n):
        u = str(500000 + i)
        out.append("[%s]\ntype=endpoint\ncontext=from-internal\ndisallow=all\nallow=ulaw\nauth=%s\naors=%s\n\n"
                   "[%s]\ntype=auth\nauth_type=digest\nusername=%s\npassword=Hand%05d-Xy\n\n"
                   "[%s]\ntype=aor\nmax_contacts=1\n\n" % (u, u, u, u, u, i, u))
    return "".join(out)


def play(tasks, varsfile, env=None, argv0=None):
    """Wall seconds and controller CPU seconds of one ansible-playbook run."""
    pb = [{"hosts": "pbx1", "gather_facts": False, "vars_files": [varsfile], "tasks": tasks}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(pb, f)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    cmd = (argv0 or ["ansible-playbook"]) + ["-i", INV, f.name]
    p = subprocess.run(cmd, env=dict(ENV, **(env or {})), capture_output=True, text=True, check=False)
    dt = time.time() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.unlink(f.name)
    if p.returncode != 0:
        sys.exit("benchmark play failed:\n" + p.stdout[-3000:] + p.stderr[-2000:])
    return dt, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def short(path):
    for cut in ("/site-packages/", "/debug_dir/", "/lib/python3"):
        if cut in path:
            return path.split(cut, 1)[1]
    return path


def top(stats_text_source, n=14):
    """The top ``n`` entries (own time) of a pstats dump, as text lines."""
    import pstats
    st = pstats.Stats(stats_text_source)
    rows = []
    for func, (_cc, nc, tt, ct, _callers) in st.stats.items():
        rows.append((tt, ct, nc, "%s:%d(%s)" % (short(func[0]), func[1], func[2])))
    rows.sort(reverse=True)
    total = st.total_tt
    lines = ["    %8s %8s %9s  %s   (profiled total %.2f s)" % ("own s", "cum s", "calls", "function", total)]
    for tt, ct, nc, name in rows[:n]:
        lines.append("    %8.3f %8.3f %9d  %s" % (tt, ct, nc, name[:110]))
    return lines


def top_cumulative(path, names, n=12):
    """Cumulative time of the functions whose name contains one of ``names``."""
    import pstats
    st = pstats.Stats(path)
    rows = []
    for func, (_cc, nc, tt, ct, _callers) in st.stats.items():
        label = "%s:%d(%s)" % (short(func[0]), func[1], func[2])
        if any(x in label for x in names):
            rows.append((ct, nc, label))
    rows.sort(reverse=True)
    return ["    %8.3f %9d  %s" % (ct, nc, label[:110]) for ct, nc, label in rows[:n]]


class Bench(object):
    def __init__(self, host, work, n):
        self.host, self.work, self.n = host, work, n
        exts = [{"number": str(100000 + i), "secret": "Bench%05d-Xy%d" % (i, i % 7)} for i in range(n)]
        self.vars = os.path.join(work, "exts-%d.yml" % n)
        with open(self.vars, "w") as f:
            yaml.safe_dump({"exts": exts}, f)
        exts[n // 2] = dict(exts[n // 2], secret="Changed%05d-Zq" % n)
        self.vars_one = os.path.join(work, "exts-one-%d.yml" % n)
        with open(self.vars_one, "w") as f:
            yaml.safe_dump({"exts": exts}, f)
        tpl = os.path.join(work, "pjsip.j2")
        with open(tpl, "w") as f:
            f.write(TEMPLATE)
        self.mod = [{"pbxguard.asterisk.extension": {"extensions": "{{ exts }}"}}]
        reload_cmd = ("s=$(date +%%s.%%N); asterisk -rx 'module reload res_pjsip.so'; "
                      "e=$(date +%%s.%%N); echo \"$s $e\" > %s" % RELOAD_TIME)
        self.tpl = [{"ansible.builtin.template": {"src": tpl, "dest": "%s/%s" % (ETC, TPL_FILE),
                                                  "owner": "asterisk", "group": "asterisk", "mode": "0640"},
                     "register": "rendered"},
                    {"name": "reload res_pjsip (what makes the template's file live)",
                     "ansible.builtin.shell": reload_cmd, "when": "rendered is changed",
                     "changed_when": True}]
        self.times = {}

    def record(self, key, value):
        self.times.setdefault(key, []).append(value)

    def reload_seconds(self):
        s, e = self.host.get(RELOAD_TIME).split()
        self.host.sh("rm -f %s" % RELOAD_TIME)
        return float(e) - float(s)

    def module_round(self, hand):
        tag = " hand" if hand else ""
        self.host.reset(self.n, hand=hand)
        self.record("module first" + tag, play(self.mod, self.vars))
        self.record("module rerun" + tag, play(self.mod, self.vars))
        self.record("module one change" + tag, play(self.mod, self.vars_one))

    def template_round(self, hand):
        tag = " hand" if hand else ""
        self.host.reset(self.n, template=True, hand=hand)
        self.record("template+reload first" + tag, play(self.tpl, self.vars))
        self.record("  of which the reload" + tag, (self.reload_seconds(), 0.0))
        self.record("template rerun" + tag, play(self.tpl, self.vars))
        self.record("template+reload one change" + tag, play(self.tpl, self.vars_one))
        self.record("  of which the reload (one)" + tag, (self.reload_seconds(), 0.0))

    def run(self, repeat, with_hand):
        for r in range(repeat):
            for hand in ((False, True) if with_hand else (False,)):
                if r % 2 == 0:
                    self.module_round(hand)
                    self.template_round(hand)
                else:
                    self.template_round(hand)
                    self.module_round(hand)

    def med(self, key):
        return statistics.median(v[0] for v in self.times[key])

    def report(self, loop100, with_hand):
        say("")
        say("== %d extensions (%d round(s); seconds: median wall, spread of the rounds, controller CPU) =="
            % (self.n, len(self.times["module first"])))
        for key, values in self.times.items():
            walls = [v[0] for v in values]
            m = statistics.median(walls)
            spread = (max(walls) - min(walls)) / m * 100 if m else 0.0
            cpu = statistics.median(v[1] for v in values)
            say("  %-36s %7.2f  %5.0f%%  %6s  %s" % (key, m, spread, "%.2f" % cpu if cpu else "",
                                                     " ".join("%.2f" % w for w in walls)))
        loop_n = loop100 * self.n / 100.0
        for tag, label in (("", "empty host"), (" hand", "with %d hand-written objects" % self.n))[:2 if with_hand else 1]:
            mf, tf = self.med("module first" + tag), self.med("template+reload first" + tag)
            mr, tr = self.med("module rerun" + tag), self.med("template rerun" + tag)
            mo = self.med("module one change" + tag)
            say("  %s:" % label)
            for name, value, target, ok in (
                    ("first run  module / (template + reload)", mf / tf, "<= %.1fx" % TARGETS["first"],
                     mf / tf <= TARGETS["first"]),
                    ("rerun      module / template rerun", mr / tr, "<= %.1fx" % TARGETS["rerun"],
                     mr / tr <= TARGETS["rerun"]),
                    ("one change module / template rerun", mo / tr, "<= %.1fx" % TARGETS["one"],
                     mo / tr <= TARGETS["one"]),
                    ("per-item loop (~%.0f s) / module first" % loop_n, loop_n / mf, ">= %dx" % TARGETS["loop"],
                     loop_n / mf >= TARGETS["loop"])):
                say("    %-44s %7.2fx  target %-7s %s" % (name, value, target, "met" if ok else "MISSED"))
        # pairwise ratios of the rounds (each module run against the template run of the same round)
        for key_m, key_t in (("module first", "template+reload first"), ("module rerun", "template rerun"),
                             ("module one change", "template rerun")):
            pairs = ["%.2f" % (a[0] / b[0]) for a, b in zip(self.times[key_m], self.times[key_t])]
            say("    round by round %-30s %s" % (key_m + " / " + key_t.split()[0] + ":", " ".join(pairs)))


def asterisk_costs(host, what):
    say("  Asterisk's own costs with %s (seconds, 3 tries each):" % what)
    # 'like': the listing the module's verify asks for (the managed names' prefixes)
    for command in ("module reload res_pjsip.so", "pjsip show endpoints", "pjsip show endpoints like ^(10)",
                    "pjsip show endpoint 100000"):
        say("    %-34s %s" % (command, " ".join("%.2f" % t for t in host.cli_time(command))))


def profile_module(host, b):
    """cProfile of the module on the host: its AnsiballZ payload kept from one
    run, exploded, run again by hand under cProfile (first run, rerun)."""
    host.reset(b.n)
    host.sh("rm -rf /root/.ansible/tmp/ansible-tmp-*")
    play(b.mod, b.vars, env=dict(ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_PIPELINING="False"))
    d = host.sh("ls -d /root/.ansible/tmp/ansible-tmp-*/ | tail -1").strip()
    host.sh("cd %s && python3 AnsiballZ_extension.py explode >/dev/null" % d)
    # the same arguments with the one-change list's secret (what vars_one holds)
    args = json.loads(host.get(d + "/debug_dir/args"))
    with open(b.vars_one) as f:
        args["ANSIBLE_MODULE_ARGS"]["extensions"][b.n // 2]["secret"] = yaml.safe_load(f)["exts"][b.n // 2]["secret"]
    host.put(d + "/debug_dir/args_one", json.dumps(args))
    host.reset(b.n)
    for phase, argfile in (("first run", "args"), ("rerun", "args"), ("one change", "args_one")):
        host.sh("cd %s/debug_dir && python3 -m cProfile -o /root/bench-module.prof -m "
                "ansible_collections.pbxguard.asterisk.plugins.modules.extension %s >/dev/null" % (d, argfile))
        local = os.path.join(b.work, "module.prof")
        shutil.copy(host.root + "/root/bench-module.prof", local)
        say("  module on the host, %s, %d extensions (cProfile; top entries by own time):" % (phase, b.n))
        for line in top(local):
            say(line)
        say("    phases (cumulative s):")
        for line in top_cumulative(local, ("_transaction.py:", "(validate)", "(plan)", "(verify)", "(apply)",
                                           "(exit_json)", "(run_cli)", "(_validate_sub_spec)", "(read_managed)",
                                           "(check_pjsip_listing)", "(write_atomic)", "(masked_diffs)",
                                           "(hand_written_objects)", "(load_config)",
                                           "basic.py:367(__init__)")):
            say(line)
    # back to the task's list: the controller's profile that follows is a rerun
    host.sh("cd %s/debug_dir && python3 -m ansible_collections.pbxguard.asterisk.plugins.modules.extension args "
            ">/dev/null" % d)
    host.sh("rm -rf %s /root/bench-module.prof" % d)


def profile_controller(host, b):
    pdir = tempfile.mkdtemp(prefix="bench-worker-")
    try:
        play(b.mod, b.vars, env=dict(PROFILE_DIR=pdir),
             argv0=[os.path.join(ROOT, ".venv", "bin", "python"),
                    os.path.join(ROOT, "tests", "bench", "profiled_playbook.py")])
        for f in glob.glob(os.path.join(pdir, "*.prof")):
            say("  controller task worker, module rerun, %d extensions (cProfile; top by own time):" % b.n)
            for line in top(f):
                say(line)
            say("    phases (cumulative s):")
            for line in top_cumulative(f, ("(post_validate)", "(_execute_module)", "(_low_level_execute_command)",
                                           "(send_task_result)", "(modify_module)", "(_parse_returned_data)",
                                           "(remove_values)", "(_clean_returned_data)", "(dumps)")):
                say(line)
    finally:
        shutil.rmtree(pdir, ignore_errors=True)


def main():
    subprocess.run([sys.executable, os.path.join(ROOT, "tests/lab/labctl.py"), "up", "--hosts", "pbx1", "--reuse"],
                   env=ENV, check=True)
    work = tempfile.mkdtemp(prefix="bench-extension-")
    try:
        host = Host()
        host.sh("mkdir -p /root/bench-orig && cp %s/pjsip.conf %s/iax.conf %s/voicemail.conf /root/bench-orig/"
                % (ETC, ETC, ETC))
        version = host.sh("asterisk -rx 'core show version'").strip()
        say("pbxguard.asterisk.extension benchmark (tests/bench/bench_extension.py %s)"
            % " ".join(str(n) for n in SIZES))
        core = subprocess.run(["ansible", "--version"], env=ENV, capture_output=True, text=True, check=False)
        say("one lab host (%s), ansible-core %s, %d CPU(s) shared, load average at start %.1f"
            % (version.split(" built")[0], core.stdout.split("\n")[0].split()[-1].rstrip("]"),
               os.cpu_count(), os.getloadavg()[0]))
        # the per-item loop, once: 100 items, extrapolated (its cost does not depend on N)
        few = os.path.join(work, "few.yml")
        with open(few, "w") as f:
            yaml.safe_dump({"few": [{"number": str(900000 + i), "secret": "Loop%05d-Xy" % i} for i in range(100)]}, f)
        block = ("[{{ item.number }}]\ntype=auth\nauth_type=digest\nusername={{ item.number }}\n"
                 "password={{ item.secret }}\n")
        loop = [{"ansible.builtin.blockinfile": {
            "path": "%s/pjsip_bench_loop.conf" % ETC, "create": True, "mode": "0640",
            "marker": "; {mark} ext {{ item.number }}", "block": block},
            "loop": "{{ few }}", "no_log": True}]
        host.sh("rm -f %s/pjsip_bench_loop.conf" % ETC)
        loop100 = play(loop, few)[0]
        host.sh("rm -f %s/pjsip_bench_loop.conf" % ETC)
        say("per-item loop (blockinfile, 100 items, first run): %.2f s = %.0f ms per item" % (loop100, loop100 * 10))
        for n in SIZES:
            b = Bench(host, work, n)
            repeat = int(os.environ.get("REPEAT") or (2 if n <= 10000 else 1))
            with_hand = n <= HAND_MAX
            b.run(repeat, with_hand)
            b.report(loop100, with_hand)
            if with_hand:  # the last round left both sets live
                asterisk_costs(host, "%d managed + %d hand-written PJSIP extensions" % (n, n))
            host.reset(n)
            play(b.mod, b.vars)
            asterisk_costs(host, "%d PJSIP extensions" % n)
            if PROFILE:
                profile_module(host, b)
                profile_controller(host, b)
            say("  load average after: %.1f" % os.getloadavg()[0])
        say("")
        say("(module: validates every item, writes atomically, reloads res_pjsip and verifies every live")
        say(" object; template: writes and reloads only. Wall seconds on a shared 2-core machine: see the")
        say(" spread column and the round-by-round ratios for the noise.)")
    finally:
        if os.environ.get("KEEP_LAB") != "1":
            subprocess.run([sys.executable, os.path.join(ROOT, "tests/lab/labctl.py"), "down"], env=ENV, check=False)
        shutil.rmtree(work, ignore_errors=True)
        if os.environ.get("BENCH_OUT") and REPORT:
            with open(os.environ["BENCH_OUT"], "w") as f:
                f.write("# written by `make bench` (tests/bench/bench_extension.py); regenerate, do not edit\n\n")
                f.write("\n".join(REPORT) + "\n")


if __name__ == "__main__":
    main()
