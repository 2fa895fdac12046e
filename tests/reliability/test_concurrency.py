# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Concurrency: two ansible-playbook runs started at the same instant, each
adding different extensions (purge off) on the same host, repeated: both
changes must be present afterwards in the file and live in Asterisk (the
modules serialise on a host lock), and no file is torn."""
import os
import re
import subprocess
import tempfile

import yaml

from conftest import CALLBACKS, ROOT, counts_line, record, strong

SUITE = "concurrency"
ROUNDS = int(os.environ.get("RELIABILITY_CONCURRENCY_ROUNDS", "5"))
PER_PLAY = 150
PJ = "/etc/asterisk/pjsip_pbxguard.conf"


def play_file(lab, numbers, secret):
    exts = [{"number": str(n), "secret": secret} for n in numbers]
    f = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=os.path.join(ROOT, ".cache"))
    yaml.safe_dump(lab.play([{"name": "add", "pbxguard.asterisk.extension": {"extensions": exts, "purge": False}}]), f)
    f.close()
    return f.name


def test_two_plays_at_once_keep_both_changes(lab, transport):
    secret = strong("Cc")
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="lab_json", ANSIBLE_CALLBACK_PLUGINS=CALLBACKS)
    problems, rows = [], []
    lab.run_playbook(lab.play([{"pbxguard.asterisk.extension": {"extensions": [], "purge": True}}]))
    for r in range(ROUNDS):
        a = [7000 + r * 1000 + i for i in range(PER_PLAY)]
        b = [7500 + r * 1000 + i for i in range(PER_PLAY)]
        files = [play_file(lab, a, secret), play_file(lab, b, secret)]
        procs = [subprocess.Popen(["ansible-playbook", "-i", lab.inventory, f], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env) for f in files]
        outs = [p.communicate(timeout=600) for p in procs]
        for f in files:
            os.unlink(f)
        rcs = [p.returncode for p in procs]
        text = lab.read(PJ).decode("utf-8", "replace")
        sections = re.findall(r"^\[(\d+)\]", text, re.M)
        in_file = set(int(s) for s in sections)
        missing = [n for n in a + b if n not in in_file]
        per = dict((int(s), 0) for s in sections)
        for s in sections:
            per[int(s)] += 1
        incomplete = [n for n, c in per.items() if c != 3]  # endpoint, auth, aor each
        live = lab.cli("pjsip show endpoints")
        live_missing = [n for n in (a[0], a[-1], b[0], b[-1]) if not re.search(r"Endpoint:\s+%d\b" % n, live)]
        row = {"round": r + 1, "rc": rcs, "in_file": len(in_file), "missing": len(missing),
               "incomplete_objects": len(incomplete), "live_missing": live_missing}
        rows.append(row)
        if rcs != [0, 0]:
            problems.append("round %d: rc %s: %s" % (r + 1, rcs, [o[1][-300:] for o in outs]))
        if missing or incomplete or live_missing or not text.endswith("\n"):
            problems.append("round %d: missing %d, incomplete %d, not live %s"
                            % (r + 1, len(missing), len(incomplete), live_missing))
    total = sum(r_["in_file"] for r_ in rows[-1:])
    line = counts_line(SUITE, rounds=ROUNDS, plays=2 * ROUNDS, extensions_expected=2 * PER_PLAY * ROUNDS,
                       extensions_in_file=total, failures=len(problems))
    record(SUITE, {"rounds": ROUNDS, "plays": 2 * ROUNDS, "per_play": PER_PLAY, "rows": rows,
                   "failures": len(problems), "problems": problems, "files_compared": ROUNDS, "line": line})
    lab.run_playbook(lab.play([{"pbxguard.asterisk.extension": {"extensions": [], "purge": True}}]))
    assert not problems, "\n".join(problems)
