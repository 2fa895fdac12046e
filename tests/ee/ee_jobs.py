#!/usr/bin/env python
"""Jobs through the execution environment, the way AWX runs them.

    tests/ee/ee_jobs.py IMAGE        (LAB_PREFIX / LAB_NET name the lab, as for make lab)

Boots two lab PBX hosts (tests/lab/labctl.py), then runs playbooks/audit.yml and
playbooks/rollout.yml of the collection baked into IMAGE through AWX's work-unit
protocol, with no AWX in between:

    ansible-runner transmit DIR | podman run -i IMAGE ansible-runner worker
                                | ansible-runner process OUT

DIR is what AWX's job template hands the worker: a project whose playbooks import the
collection's own (`pbxguard.asterisk.rollout`), an inventory of one site, the machine
credential as env/ssh_key (ansible-runner loads it into an ssh-agent) and the PBX
secrets as extra vars, as an AWX custom credential injects them. Asserts on the job
events that ansible-runner process wrote: per-host results and changed counts (audit
read-only, rollout changes every host then nothing on a second run, serial batches
canary first) and that no secret or key appears in any event. Prints the time of each
job. Exit status 1 on the first failed assertion (lab torn down either way).
"""
import glob
import json
import os
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, ".venv", "bin")
LABCTL = [sys.executable, os.path.join(ROOT, "tests", "lab", "labctl.py")]
HOSTS = ["pbx1", "pbx2"]


def log(msg):
    print("ee-jobs: %s" % msg, flush=True)


def secret(length=24):
    """A value the collection's strong-secret policy accepts (four character classes)."""
    pools = (string.ascii_uppercase, string.ascii_lowercase, string.digits, "!%*_-")
    chars = [secrets.choice(p) for p in pools] + [secrets.choice("".join(pools)) for dummy in range(length - 4)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def private_data_dir(base, lab_inventory, extravars):
    """An ansible-runner private data dir as AWX builds one for a job template run."""
    with open(lab_inventory) as f:
        inv = yaml.safe_load(f)
    hosts = {h: {"ansible_host": v["ansible_host"]} for h, v in inv["all"]["hosts"].items()}
    lab_vars = inv["all"]["vars"]
    key_file = lab_vars["ansible_ssh_private_key_file"]
    # the inventory of one site, as an AWX inventory source: no key path (the machine
    # credential brings the key), the rest of the connection settings as host vars
    group_vars = {k: v for k, v in lab_vars.items()
                  if k.startswith("ansible_") and k != "ansible_ssh_private_key_file"}
    os.makedirs(os.path.join(base, "project"))
    os.makedirs(os.path.join(base, "inventory"))
    os.makedirs(os.path.join(base, "env"))
    with open(os.path.join(base, "inventory", "hosts.yml"), "w") as f:
        yaml.safe_dump({"site_lab": {"hosts": hosts, "vars": group_vars}}, f)
    # the machine credential: ansible-runner adds env/ssh_key to an ssh-agent in the EE
    shutil.copy(key_file, os.path.join(base, "env", "ssh_key"))
    with open(os.path.join(base, "env", "extravars"), "w") as f:
        json.dump(extravars, f)
    # the project: playbooks that run the collection's own, as an AWX project would
    for name in ("audit", "rollout"):
        with open(os.path.join(base, "project", name + ".yml"), "w") as f:
            f.write("---\n- name: The collection's %s playbook\n"
                    "  ansible.builtin.import_playbook: pbxguard.asterisk.%s\n" % (name, name))
    with open(key_file) as f:
        key_text = f.read()
    return key_text


def run_job(image, data_dir, playbook, ident, out):
    """transmit | podman run ... worker | process; returns (status, events, seconds)."""
    t0 = time.time()
    transmit = subprocess.Popen([os.path.join(BIN, "ansible-runner"), "transmit", data_dir,
                                 "-p", playbook, "--ident", ident], stdout=subprocess.PIPE)
    worker = subprocess.Popen([os.path.join(ROOT, "scripts", "ee"), "podman", "run", "--rm", "-i",
                               # the lab hosts sit behind a bridge of this host's network
                               "--network", "host", image, "ansible-runner", "worker"],
                              stdin=transmit.stdout, stdout=subprocess.PIPE)
    transmit.stdout.close()
    process = subprocess.run([os.path.join(BIN, "ansible-runner"), "process", out, "--ident", ident],
                             stdin=worker.stdout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             check=False)
    worker.stdout.close()
    worker.wait()
    transmit.wait()
    seconds = time.time() - t0
    check(transmit.returncode == 0, "%s: ansible-runner transmit exited %d" % (ident, transmit.returncode))
    check(worker.returncode == 0, "%s: podman run ... ansible-runner worker exited %d" % (ident, worker.returncode))
    art = os.path.join(out, "artifacts", ident)
    status_file = os.path.join(art, "status")
    check(os.path.exists(status_file), "%s: ansible-runner process wrote no status (%s)" % (ident, process.stdout[-2000:]))
    with open(status_file) as f:
        status = f.read().strip()
    events = []
    for path in glob.glob(os.path.join(art, "job_events", "*.json")):
        with open(path) as f:
            events.append(json.load(f))
    events.sort(key=lambda e: e.get("counter", 0))
    log("%s: %s, %d job events in %.1f s" % (ident, status, len(events), seconds))
    if status != "successful":
        sys.stdout.write(process.stdout[-4000:])
    return status, events, seconds


def stats(events):
    ev = [e for e in events if e.get("event") == "playbook_on_stats"]
    check(len(ev) == 1, "expected one playbook_on_stats event, got %d" % len(ev))
    return ev[0]["event_data"]


def no_secret(ident, events, values):
    blob = json.dumps(events)
    for name, value in values.items():
        check(value not in blob, "%s: the %s appears in a job event" % (ident, name))


def host_results(events, task_prefix):
    """{host: [event names]} of the tasks whose name starts with task_prefix."""
    res = {}
    for e in events:
        d = e.get("event_data", {})
        if e.get("event", "").startswith("runner_on_") and e["event"] != "runner_on_start" and d.get("task", "").startswith(task_prefix):
            res.setdefault(d.get("host"), []).append(e["event"])
    return res


def main(image):
    prefix = os.environ.get("LAB_PREFIX", "pbxe")
    net = os.environ.get("LAB_NET", "100")
    env = dict(os.environ, LAB_PREFIX=prefix, LAB_NET=net)
    work = tempfile.mkdtemp(prefix="pbxguard-ee-jobs-")
    inv = os.path.join(work, "lab-inventory.yml")
    times = {}
    try:
        t0 = time.time()
        subprocess.run(LABCTL + ["up", "--hosts", ",".join(HOSTS), "--inventory", inv], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        log("lab %s up (%s) in %.0f s" % (prefix, ", ".join(HOSTS), time.time() - t0))
        values = {"AMI secret": secret(), "extension secret": secret(), "admin password": secret(28)}
        extravars = {
            # AWX: a custom credential type injects these as extra vars (never in the project)
            "pbx_ami": {"enabled": True, "bind_address": "127.0.0.1",
                        "users": [{"name": "monitor", "secret": values["AMI secret"],
                                   "permit": ["127.0.0.1/32"], "read": ["system", "call"]}]},
            "pbx_extensions": {"purge": True, "list": [{"number": "1008", "name": "Front Desk",
                                                        "secret": values["extension secret"], "pin": "8474"}]},
            "pbx_admin": {"username": "pbxadmin", "password": values["admin password"]},
            "pbx_service": {"ssh": {"state": "enabled"}},
            # canary, then the rest: the job template's rollout shape
            "pbx_rollout_serial": [1, "50%"],
            # the EE's file system is thrown away after the job; reports go to /tmp there
            "pbx_report_dir": "/tmp/pbx-reports",
            "pbx_rollout_summary_file": "/tmp/rollout-summary.json",
        }
        data = os.path.join(work, "job")
        key_text = private_data_dir(data, inv, extravars)
        values["SSH private key"] = key_text.strip().splitlines()[1]  # a line of the key body
        out = os.path.join(work, "out")

        # 1. audit of a fresh fleet: read-only, every host audited, nothing changed
        status, events, times["audit"] = run_job(image, data, "audit.yml", "audit", out)
        check(status == "successful", "audit: job %s" % status)
        st = stats(events)
        for h in HOSTS:
            check(h in st["ok"], "audit: no result for %s (%s)" % (h, st))
            check(st["changed"].get(h, 0) == 0, "audit: changed %s on %s" % (st["changed"].get(h), h))
            check(not st["failures"].get(h) and not st["dark"].get(h), "audit: %s failed/unreachable" % h)
        audited = host_results(events, "Audit")
        check(all(audited.get(h) == ["runner_on_ok"] for h in HOSTS), "audit: Audit task results %s" % audited)
        no_secret("audit", events, values)

        # 2. rollout: every host changed, in batches (canary first), all verified
        status, events, times["rollout"] = run_job(image, data, "rollout.yml", "rollout", out)
        check(status == "successful", "rollout: job %s" % status)
        st = stats(events)
        for h in HOSTS:
            check(st["changed"].get(h, 0) > 0, "rollout: nothing changed on %s (%s)" % (h, st["changed"]))
            check(not st["failures"].get(h) and not st["dark"].get(h), "rollout: %s failed/unreachable" % h)
        plays = [e["event_data"].get("play") for e in events if e.get("event") == "playbook_on_play_start"]
        check(plays.count("Roll out the pbxguard baseline") == 2,
              "rollout: expected 2 batches (canary, then the rest), plays %s" % plays)
        first_batch = [e["event_data"]["host"] for e in events if e.get("event") == "runner_on_ok"
                       and e["event_data"].get("task") == "Name this host's snapshot"]
        check(first_batch[:1] == ["pbx1"] and sorted(first_batch) == HOSTS,
              "rollout: canary order %s" % first_batch)
        summary = [e for e in events if e.get("event") == "runner_on_ok"
                   and e["event_data"].get("task") == "Summarise"]
        facts = summary[0]["event_data"]["res"]["ansible_facts"]["pbx_rollout_summary"] if summary else {}
        check(sorted(facts.get("done", [])) == HOSTS and not facts.get("rolled_back"),
              "rollout: summary %s" % facts)
        changed_rollout = dict(st["changed"])
        no_secret("rollout", events, values)

        # 3. the same job again: the fleet is on the baseline, nothing changes
        status, events, times["rollout again"] = run_job(image, data, "rollout.yml", "rollout-again", out)
        check(status == "successful", "rollout again: job %s" % status)
        st = stats(events)
        for h in HOSTS:
            check(st["changed"].get(h, 0) == 0, "rollout again: changed %s on %s (not idempotent)"
                  % (st["changed"].get(h), h))
        no_secret("rollout again", events, values)
        log("PASSED: audit, rollout (changed %s), rollout again (changed 0) through "
            "transmit | podman worker | process; no secret in any event; times %s"
            % (changed_rollout, ", ".join("%s %.0f s" % kv for kv in times.items())))
        return 0
    except Failed as e:
        log("FAILED: %s" % e)
        return 1
    finally:
        subprocess.run(LABCTL + ["down"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        if os.environ.get("EE_JOBS_KEEP") == "1":
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
