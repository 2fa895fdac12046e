# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based fuzzing with the consumer as the oracle (issue 18, 5).

Every string (or list-of-string element) option of a module that reaches a
file gets Hypothesis-generated values (fuzz_strategies.py). Each value must
either

- be refused: the task fails, the message names the option and a rule, and
  the module's files are unchanged (sha256, inode and mtime), or
- be written and read back by the real consumer as exactly the value asked
  for: Asterisk's CLI (``manager show user``, ``pjsip show endpoint`` ...),
  a real AMI login, ``kea-dhcp4 -t`` plus Kea's config read back, ``sshd -T``,
  ``nft list``, msmtp ``--pretend``.

Anything else - a crash, a traceback, a refusal that names no option or
touched a file, a value the consumer reads differently - is a finding.

Speed: no ansible-playbook per example. fuzz_host.py, the collection's
modules and ansible.module_utils are copied to the lab host once; one
Hypothesis example is one batch - one value for every option of the module -
run by one python3 on the host (the module's real main(), as AnsiballZ runs
it, then the consumer read-back), one round trip through nsenter.
FUZZ_EXAMPLES sets the values per option (default 5, which keeps the suite
short); counts go to tests/output/fuzz.json for docs/reliability.md."""
import json
import os
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import corpus
import fuzz_targets
from conftest import ROOT, counts_line

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
ONLY = [m for m in os.environ.get("FUZZ_MODULES", "").split(",") if m]
OUT = os.path.join(ROOT, "tests", "output", "fuzz.json")
HOST_DIR = "/tmp/pbxfuzz"
# what the fuzzing may change, saved before and put back after (the other suites keep their lab)
SAVED = ("etc/asterisk", "etc/kea", "etc/ssh", "etc/msmtprc", "etc/nftables.conf", "etc/nftables.d", "etc/pam.d/sshd",
         "etc/vsftpd.conf", "etc/default/tftpd-hpa", "etc/systemd/system", "srv/tftp",
         # admin and totp make accounts (their homes are removed by name, see fuzzhost)
         "etc/passwd", "etc/shadow", "etc/group", "etc/gshadow", "etc/subuid", "etc/subgid", "etc/pbxguard")
# removed before the saved tar is unpacked: what fuzzing added there must go too
REPLACED = "etc/asterisk etc/kea etc/nftables.d etc/ssh/sshd_config.d etc/pbxguard"
STATS = {}
PREPARED = set()
# values per round trip to the host (one python3 there runs them all)
BATCH = int(os.environ.get("FUZZ_BATCH", "25"))


def _site_packages():
    import ansible
    return os.path.dirname(os.path.dirname(ansible.__file__))


@pytest.fixture(scope="module")
def fuzzhost(lab):
    """Copy the harness, the installed collection's modules and
    ansible.module_utils to the host; save what fuzzing may change."""
    coll = os.path.join(ROOT, ".cache", "collections")
    base = ["nsenter", "-t", str(lab.pid1), "-a", "-r", "-w"]
    lab.sh("rm -rf %s && mkdir -p %s" % (HOST_DIR, HOST_DIR))
    for src, members in ((_site_packages(), ["ansible/module_utils"]),
                         (coll, ["ansible_collections/pbxguard/asterisk/plugins/modules",
                                 "ansible_collections/pbxguard/asterisk/plugins/module_utils"])):
        tar = subprocess.Popen(["tar", "-C", src, "-c", "--exclude=__pycache__"] + members, stdout=subprocess.PIPE)
        subprocess.run(base + ["tar", "-C", HOST_DIR, "-x"], stdin=tar.stdout, check=True)
        assert tar.wait() == 0
    lab.sh("touch %s/ansible/__init__.py" % HOST_DIR)
    with open(os.path.join(HERE, "fuzz_host.py")) as f:
        lab.sh("cat > %s/fuzz_host.py" % HOST_DIR, input=f.read())
    lab.sh("cd / && tar -c -f /var/tmp/pbxfuzz-saved.tar --ignore-failed-read %s 2>/dev/null; true" % " ".join(SAVED))
    homes = set(lab.sh("ls -1 /home 2>/dev/null; true").split())
    yield lab
    # the homes of the accounts admin/totp fuzzing made (the accounts go with /etc/passwd)
    for h in set(lab.sh("ls -1 /home 2>/dev/null; true").split()) - homes:
        if h not in (".", "..") and "/" not in h:
            lab.sh("rm -rf '/home/%s'" % h.replace("'", ""), check=False)
    # put the lab back as the other suites left it (files, then the daemons re-read them)
    lab.sh("cd / && rm -rf " + REPLACED + " && rm -f " + fuzz_targets.NO_START_LIMIT
           + " && tar -x -p -f /var/tmp/pbxfuzz-saved.tar"
           " && rm -f /var/tmp/pbxfuzz-saved.tar && rm -rf %s /var/backups/pbxguard-fuzz && systemctl daemon-reload" % HOST_DIR)
    fuzz_targets.restore_services(lab)
    fuzz_targets.stop_helpers()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"examples_per_option": EXAMPLES, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "modules": STATS}, f, indent=1, sort_keys=True)


def run_batch(lab, module, runs):
    """One round trip: every run of the batch on the host, in order."""
    p = subprocess.run(["nsenter", "-t", str(lab.pid1), "-a", "-r", "-w", "python3", HOST_DIR + "/fuzz_host.py"],
                       input=json.dumps({"module": module, "runs": runs}).encode(), capture_output=True,
                       timeout=900, check=False)
    if p.returncode != 0:
        raise AssertionError("fuzz harness failed on the host (%d): %s" % (p.returncode, p.stderr.decode()[-3000:]))
    return json.loads(p.stdout.decode())


def judge(opt, value, args, got):
    """(verdict, problem): 'refused', 'accepted' or 'finding'."""
    res = got["result"]
    if res.get("crash") or res.get("exception"):
        return "finding", "crash: %s" % (res.get("crash") or res.get("exception"))[-1500:]
    if res.get("failed"):
        msg = res.get("msg") or ""
        if opt.secret and isinstance(value, str) and value and "********" in msg:
            # Ansible masks every occurrence of a no_log value in the output: a one-letter
            # PIN 'n' turns "extensions[0] (3901).pin" into "exte********sio****...". The
            # module's own message is the unmasked one
            msg = msg.replace("********", value)
        problems = []
        missing = [frag for frag in opt.fragments() if frag not in msg]
        if missing and not any(a in msg for a in opt.also):
            problems.extend("the message does not name %r" % frag for frag in missing)
        if not any(w.lower() in msg.lower() for w in corpus.RULE_WORDS + opt.rule_words + ("longer than",)):
            problems.append("the message names no rule")
        if "internal error" in msg or "Traceback" in msg:
            problems.append("an internal error")
        if got["files_changed"]:
            problems.append("files changed although refused: %s" % ", ".join(got["files_changed"]))
        elif got["files_rewritten"] and "restored" not in msg:
            problems.append("files rewritten (same bytes) although refused: %s" % ", ".join(got["files_rewritten"]))
        if problems:
            return "finding", "refused badly (%s): %s" % ("; ".join(problems), msg[:600])
        return "refused", None
    problem = opt.check(value, args, got["readback"])
    if problem:
        return "finding", "accepted but the consumer disagrees: %s" % problem
    return "accepted", None


def _stats(module):
    return STATS.setdefault(module, {"tried": 0, "refused": 0, "accepted": 0, "findings": 0, "shrink_runs": 0,
                                     "options": {}, "shrunk": []})


CASES = [(m, o.path) for m in fuzz_targets.ORDER if not ONLY or m in ONLY for o in fuzz_targets.TARGETS[m].options]


@pytest.mark.parametrize("name,path", CASES, ids=["%s:%s" % c for c in CASES])
def test_fuzz_option(fuzzhost, ctx_fuzz, name, path):
    """FUZZ_EXAMPLES values of one option, in batches of at most BATCH values
    (one round trip each). A failing batch is shrunk by Hypothesis: first to
    the one value that fails, then to its simplest form."""
    lab = fuzzhost
    target = fuzz_targets.TARGETS[name]
    opt = [o for o in target.options if o.path == path][0]
    stats = _stats(name)
    o_stats = stats["options"].setdefault(path, {"tried": 0, "refused": 0, "accepted": 0, "findings": 0})
    if name not in PREPARED:
        target.prepare(lab, ctx_fuzz)
        PREPARED.add(name)
    base = target.base(ctx_fuzz)  # after prepare: a base may use what prepare made (keys, hashes)
    size = min(EXAMPLES, BATCH)
    seen_failure = []
    left = [EXAMPLES]
    memo = {}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
    @given(values=st.lists(opt.strategy, min_size=size, max_size=size))
    def batch(values):
        # a value already judged is not run again: Hypothesis's first example repeats its
        # simplest value, and while shrinking most values of a step are known
        todo = []
        for v in values:
            if json.dumps(v) not in memo and v not in todo:
                todo.append(v)
        if not seen_failure:
            # generation: EXAMPLES distinct values in all, then further examples are no-ops
            if left[0] <= 0:
                return
            todo = todo[:left[0]]
            left[0] -= len(todo)
            values = [v for v in values if v in todo or json.dumps(v) in memo]
        runs = []
        for v in todo:
            args = opt.place(base, v)
            runs.append({"args": args, "files": target.files_of(args), "readback": opt.readback(v, args, ctx_fuzz)})
        t0 = time.time()
        got = run_batch(lab, target.module, runs) if runs else []
        stats["seconds"] = round(stats.get("seconds", 0) + time.time() - t0, 1)
        if os.environ.get("FUZZ_TIMES"):
            print("\n[fuzz] %s: %d values in %.1f s, module runs %s" % (
                path, len(runs), time.time() - t0, [g.get("seconds") for g in got]))
        for v, run, g in zip(todo, runs, got):
            verdict, problem = judge(opt, v, run["args"], g)
            memo[json.dumps(v)] = (verdict, problem)
            samples = o_stats.setdefault("samples", {})
            if len(samples.setdefault(verdict, [])) < 3:
                samples[verdict].append([v, (g["result"].get("msg") or "")[:300]])
            if seen_failure:
                stats["shrink_runs"] += 1
            else:
                for d in (stats, o_stats):
                    d["tried"] += 1
                    d[verdict if verdict != "finding" else "findings"] += 1
        problems = ["%s = %r: %s" % (path, v, memo[json.dumps(v)][1]) for v in values if memo[json.dumps(v)][1]]
        if problems:
            seen_failure.append(problems)
            raise AssertionError("\n".join(problems))

    try:
        batch()
    except AssertionError as e:
        stats["shrunk"].append(str(e).split("\n", maxsplit=1)[0][:1500])
        raise
    finally:
        counts_line("fuzz/%s/%s" % (name, path), **dict((k, o_stats[k]) for k in ("tried", "refused", "accepted", "findings")))


@pytest.fixture(scope="module")
def ctx_fuzz(lab):
    return fuzz_targets.FuzzCtx(lab)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s"]))
