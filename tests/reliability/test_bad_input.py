# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input, table-driven (corpus.py): every case must fail, with a message
naming the option and the rule, while every managed file stays byte-identical
(sha256, and the same inode and mtime: not even rewritten) and Asterisk does
not reload (`core show uptime seconds`: Last reload unchanged).

The cases run in batches, one ansible-playbook per module with one task per
case (ignore_errors, JSON callback), files fingerprinted and reload marker read
before and after each batch: nothing changed across a batch means no case of
it changed anything (a write changes inode and mtime; any reload moves the
marker). A batch that did change something is re-run case by case to name the
culprit."""
import json
import os
import subprocess
import tempfile
import time

import pytest

import corpus
from conftest import ROOT, counts_line, diff_fingerprints, record, strong

SUITE = "bad_input"
BATCHES = [["ami", "extension", "dhcp", "admin", "totp", "web", "web_access", "host_service", "role"]]
MAX_BISECT = int(os.environ.get("RELIABILITY_MAX_BISECT", "12"))
PARALLEL = int(os.environ.get("RELIABILITY_PARALLEL", "3"))


@pytest.fixture(scope="module")
def ctx(lab):
    d = tempfile.mkdtemp()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rel", "-f", d + "/k"], check=True)
    pub = open(d + "/k.pub").read().strip()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/key", "-out",
                    d + "/crt", "-days", "30", "-subj", "/CN=%s" % lab.ip], check=True, capture_output=True)
    lab.sh("mkdir -p /etc/asterisk/keys /srv/tftp")
    for src, dst, mode in (("crt", "/etc/asterisk/keys/rel.crt", "644"), ("key", "/etc/asterisk/keys/rel.key", "640")):
        lab.sh("cat > %s && chown root:asterisk %s && chmod %s %s" % (dst, dst, mode, dst), input=open(d + "/" + src).read())
    return corpus.Ctx(lab.ip, lab.controller_ip, "/etc/asterisk/keys/rel.crt", "/etc/asterisk/keys/rel.key", pub,
                      strong())


def _start(lab, cases):
    import yaml
    from conftest import CALLBACKS, ROOT
    f = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=os.path.join(ROOT, ".cache"))
    yaml.safe_dump(lab.play([corpus.task_for(c) for c in cases]), f, width=1000)
    f.close()
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="lab_json", ANSIBLE_CALLBACK_PLUGINS=CALLBACKS)
    p = subprocess.Popen(["ansible-playbook", "-i", lab.inventory, f.name], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    return p, f.name


def run_batch(lab, cases, parallel=PARALLEL):
    """Run cases in `parallel` concurrent playbooks (one task per case);
    returns (per-case results, changed paths, reloaded, restarted, seconds, files)."""
    fp0, mk0 = lab.fingerprint(), lab.markers()
    t0 = time.time()
    slices = [cases[i::parallel] for i in range(parallel) if cases[i::parallel]]
    procs = [_start(lab, sl) for sl in slices]
    by_name = {}
    for (p, pb), sl in zip(procs, slices):
        out, err = p.communicate(timeout=1800)
        os.unlink(pb)
        try:
            data = json.loads(out)
        except ValueError:
            raise AssertionError("ansible-playbook printed no JSON (rc %d):\n%s\n%s" % (p.returncode, out[-2000:], err[-3000:]))
        for t in data["plays"][0]["tasks"]:
            res = t["hosts"].get(lab.name)
            if res is not None:
                by_name.setdefault(t["task"]["name"], []).append(res)
    took = time.time() - t0
    fp1, mk1 = lab.fingerprint(), lab.markers()
    results = {}
    for c in cases:
        rs = by_name.get(c["id"], [])
        # a role case records its own include and the failing task inside the role
        failed = [r for r in rs if r.get("failed")]
        results[c["id"]] = failed[-1] if failed else (rs[-1] if rs else {"missing": True})
    changed = diff_fingerprints(fp0, fp1)
    reloaded = abs(mk0["reload_offset"] - mk1["reload_offset"]) > 1
    restarted = mk0["pid"] != mk1["pid"] or mk1["uptime"] < mk0["uptime"]
    return results, changed, reloaded, restarted, took, len(fp0)


def test_bad_input_corpus(lab, ctx):
    cases = corpus.module_cases(ctx) + corpus.role_cases(ctx)
    assert len(cases) >= 300
    failures, details, batches = [], [], []
    files_compared = 0
    t_all = time.time()
    for group in BATCHES:
        batch = [c for c in cases if (c["module"] in group) or ("role" in group and c["module"].startswith("role:"))]
        results, changed, reloaded, restarted, took, nfiles = run_batch(lab, batch)
        files_compared += nfiles * len(batch)
        suspects = []
        print("batch %s: %d cases in %.1fs, changed %s, reloaded %s, restarted %s"
              % ("+".join(group), len(batch), took, changed, reloaded, restarted), flush=True)
        if changed or reloaded or restarted:
            # a case that did not fail is a culprit (and a failure already);
            # only when every case failed is each one re-run on its own
            passed = [c for c in batch if not results[c["id"]].get("failed")]
            with open(os.path.join(ROOT, ".cache", "bad-input-last.json"), "w") as f:
                json.dump(dict((k, {"failed": v.get("failed"), "msg": str(v.get("msg", ""))[:300]})
                               for k, v in results.items()), f, indent=1)
            if passed:
                for c in passed:
                    suspects.append((c["id"], changed, reloaded, restarted))
            else:
                for c in batch[:MAX_BISECT]:
                    r1, ch1, rl1, rs1, dummy, dummy2 = run_batch(lab, [c], parallel=1)
                    if ch1 or rl1 or rs1:
                        suspects.append((c["id"], ch1, rl1, rs1))
                if not suspects:
                    suspects.append(("batch " + "+".join(group), changed, reloaded, restarted))
        batches.append({"modules": group, "cases": len(batch), "seconds": round(took, 1), "files": nfiles,
                        "changed_files": changed, "reloaded": reloaded, "restarted": restarted})
        for c in batch:
            r = results[c["id"]]
            msg = str(r.get("msg", ""))
            why = []
            if not r.get("failed"):
                why.append("task did not fail (changed=%s)" % r.get("changed"))
            else:
                bad = corpus.check_message(c, msg)
                if bad:
                    why.append(bad)
            for sid, ch, rl, rs in suspects:
                if sid == c["id"] or sid.startswith("batch "):
                    why.append("files changed %s / reloaded %s / restarted %s" % (ch, rl, rs))
            if lab.vars and ctx.secret in msg:
                why.append("the secret appears in the message")
            details.append({"id": c["id"], "module": c["module"], "kind": c["kind"], "ok": not why,
                            "msg": msg[:300], "why": why})
            if why:
                failures.append("%s: %s -- msg: %r" % (c["id"], "; ".join(why), msg[:240]))
    took = time.time() - t_all
    kinds = {}
    for d in details:
        k = d["module"]
        kinds.setdefault(k, [0, 0])
        kinds[k][0] += 1
        kinds[k][1] += 0 if d["ok"] else 1
    line = counts_line(SUITE, cases=len(details), failures=len(failures), files_compared=files_compared,
                       batches=len(batches), seconds=round(took))
    record(SUITE, {"cases": len(details), "failures": len(failures), "files_compared": files_compared,
                   "seconds": round(took, 1), "per_module": kinds, "batches": batches, "line": line,
                   "failed_cases": failures[:100],
                   "injections": sorted(corpus.INJECTIONS), "details": details})
    assert not failures, "%d of %d cases failed:\n%s" % (len(failures), len(details), "\n".join(failures[:80]))
