#!/usr/bin/env python
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a timed test): N extensions on one lab host, measured in
one run, printed as ratios.

  A. pbxguard.asterisk.extension with the whole list (writes, reloads res_pjsip,
     verifies the live objects)
  B. one ansible.builtin.template task rendering the same PJSIP objects
     (writes only: no reload, no verification)
  C. a per-item loop (ansible.builtin.blockinfile, one block per extension,
     the shape of an ini_file-per-item playbook), timed on 100 items and
     extrapolated to N

Each for a first run (empty host) and a rerun (nothing to change).
Usage: [LAB_PREFIX=bench LAB_NET=40] tests/bench/bench_extension.py [N]   (as root, after `make venv image`)
"""
import os
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
# a lab slot of its own; LAB_PREFIX/LAB_NET choose another (e.g. beside other labs)
PREFIX, NET = os.environ.get("LAB_PREFIX", "bench"), os.environ.get("LAB_NET", "40")
ENV = dict(os.environ, LAB_PREFIX=PREFIX, LAB_NET=NET, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
           ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
           PATH=os.path.join(ROOT, ".venv", "bin") + ":" + os.environ["PATH"])
INV = "/var/lib/pbxguard-lab/%s/inventory.yml" % PREFIX

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


def play(tasks, varsfile):
    pb = [{"hosts": "pbx1", "gather_facts": False, "vars_files": [varsfile], "tasks": tasks}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(pb, f)
    t0 = time.time()
    p = subprocess.run(["ansible-playbook", "-i", INV, f.name], env=ENV, capture_output=True, text=True, check=False)
    dt = time.time() - t0
    os.unlink(f.name)
    if p.returncode != 0:
        sys.exit("benchmark play failed:\n" + p.stdout[-3000:] + p.stderr[-2000:])
    return dt


def main():
    subprocess.run([sys.executable, os.path.join(ROOT, "tests/lab/labctl.py"), "up", "--hosts", "pbx1"],
                   env=ENV, check=True)
    try:
        work = tempfile.mkdtemp()
        exts = [{"number": str(100000 + i), "secret": "Bench%05d-Xy%d" % (i, i % 7)} for i in range(N)]
        varsfile = os.path.join(work, "exts.yml")
        with open(varsfile, "w") as f:
            yaml.safe_dump({"exts": exts, "few": exts[:100]}, f)
        tpl = os.path.join(work, "pjsip.j2")
        with open(tpl, "w") as f:
            f.write(TEMPLATE)
        mod = [{"pbxguard.asterisk.extension": {"extensions": "{{ exts }}"}}]
        templ = [{"ansible.builtin.template": {"src": tpl, "dest": "/etc/asterisk/pjsip_bench_tpl.conf",
                                               "owner": "asterisk", "group": "asterisk", "mode": "0640"}}]
        block = ("[{{ item.number }}]\ntype=auth\nauth_type=digest\nusername={{ item.number }}\n"
                 "password={{ item.secret }}\n")
        loop = [{"ansible.builtin.blockinfile": {
            "path": "/etc/asterisk/pjsip_bench_loop.conf", "create": True, "mode": "0640",
            "marker": "; {mark} ext {{ item.number }}", "block": block},
            "loop": "{{ few }}", "no_log": True}]
        r = {}
        r["module first"] = play(mod, varsfile)
        r["module rerun"] = play(mod, varsfile)
        r["template first"] = play(templ, varsfile)
        r["template rerun"] = play(templ, varsfile)
        r["loop100 first"] = play(loop, varsfile)
        r["loop100 rerun"] = play(loop, varsfile)
        print("\npbxguard.asterisk.extension benchmark, %d extensions, one lab host, one run" % N)
        print("  %-34s %8s" % ("", "seconds"))
        for k, v in r.items():
            print("  %-34s %8.1f" % (k, v))
        for phase in ("first", "rerun"):
            loop_n = r["loop100 %s" % phase] * N / 100.0
            print("  %s: module %.1fs, template %.1fs, per-item loop ~%.0fs (extrapolated) -> "
                  "module/template = %.2fx, loop/module = %.0fx"
                  % (phase, r["module %s" % phase], r["template %s" % phase], loop_n,
                     r["module %s" % phase] / r["template %s" % phase], loop_n / r["module %s" % phase]))
        print("  (the module also reloads res_pjsip and verifies every object; the template does neither)")
    finally:
        subprocess.run([sys.executable, os.path.join(ROOT, "tests/lab/labctl.py"), "down"], env=ENV, check=False)


if __name__ == "__main__":
    main()
