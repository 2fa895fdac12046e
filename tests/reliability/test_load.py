# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load: 100 SIP phones (tests/reliability/clients/sip_register.py, real UDP
REGISTER with digest auth from the controller) stay registered while a
converge of 1,000 changed extensions runs: no Asterisk restart, no contact
dropped (`pjsip show contacts` polled every second), every re-REGISTER during
the converge answered 200 OK. Measured and printed."""
import json
import os
import re
import subprocess
import threading
import time

from conftest import HERE, counts_line, record, strong

SUITE = "load"
PHONES = int(os.environ.get("RELIABILITY_PHONES", "100"))
CHANGED = int(os.environ.get("RELIABILITY_LOAD_EXTENSIONS", "1000"))
CLIENT = os.path.join(HERE, "clients", "sip_register.py")


def phones(lab, secret):
    net = lab.controller_ip.rsplit(".", 1)[0] + ".0/24"
    return [{"number": str(4000 + i), "secret": secret, "permit": [net]} for i in range(PHONES)]


def bulk(version, secret):
    return [{"number": str(6000 + i), "name": "%s load %d" % (version.upper(), i), "authname": "%s%d" % (version, 6000 + i),
             "secret": secret} for i in range(CHANGED)]


def task(exts):
    return {"name": "converge", "pbxguard.asterisk.extension": {"extensions": exts, "purge": True}}


def contacts(lab):
    out = lab.sh("asterisk -rx 'pjsip show contacts'", check=False)
    return len(set(re.findall(r"Contact:\s+(4\d{3})/sip:", out)))


def test_phones_stay_registered_during_a_large_converge(lab, transport, tmp_path):
    secret, bulk_secret = strong("Ph"), strong("Bk")
    rc, data, out, err = lab.run_playbook(lab.play([task(phones(lab, secret) + bulk("a", bulk_secret))]))
    assert rc == 0, (out + err)[-3000:]
    mk0 = lab.markers()
    ready = str(tmp_path / "ready.json")
    client = subprocess.Popen([os.sys.executable, CLIENT, lab.ip, lab.controller_ip, "4000", str(PHONES),
                               "--duration", "900", "--interval", "5", "--ready-file", ready],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client.stdin.write(secret + "\n")
    client.stdin.flush()
    t0 = time.time()
    while not os.path.exists(ready) and time.time() - t0 < 120:
        time.sleep(0.2)
    assert os.path.exists(ready), "the phones did not finish registering"
    initial = json.load(open(ready))
    before = contacts(lab)
    samples, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            samples.append((round(time.time() - t0, 1), contacts(lab)))
            stop.wait(1.0)
    th = threading.Thread(target=poll)
    th.start()
    t1 = time.time()
    rc, data, out, err = lab.run_playbook(lab.play([task(phones(lab, secret) + bulk("b", bulk_secret))]))
    converge_s = time.time() - t1
    time.sleep(2)
    stop.set()
    th.join()
    client.terminate()
    cout, cerr = client.communicate(timeout=30)
    stats = json.loads(cout.strip().splitlines()[-1]) if cout.strip() else {"failures": ["client printed nothing: %s" % cerr[-500:]]}
    res = data["plays"][0]["tasks"][-1]["hosts"][lab.name] if data else {}
    mk1 = lab.markers()
    after = contacts(lab)
    low = min(c for dummy, c in samples) if samples else None
    restarted = mk0["pid"] != mk1["pid"] or mk1["uptime"] < mk0["uptime"]
    updated = (res.get("counts") or {}).get("updated")
    result = {"phones": PHONES, "changed_extensions": CHANGED, "converge_seconds": round(converge_s, 1),
              "updated_reported": updated, "initial_registered": initial["initial_ok"],
              "contacts_before": before, "contacts_min_during": low, "contacts_after": after,
              "polls": len(samples), "reregisters_tried": stats.get("tried"), "reregisters_ok": stats.get("ok"),
              "register_failures": stats.get("failures", [])[:20], "slowest_register_s": stats.get("slowest_s"),
              "asterisk_restarted": restarted, "reloaded": res.get("reloaded")}
    problems = []
    if rc != 0:
        problems.append("converge failed: %s" % res.get("msg"))
    if updated != CHANGED:
        problems.append("converge changed %s extensions, not %d" % (updated, CHANGED))
    if initial["initial_ok"] != PHONES or before != PHONES:
        problems.append("only %s/%s phones registered before" % (initial["initial_ok"], before))
    if low != PHONES or after != PHONES:
        problems.append("contacts dropped: min %s, after %s of %d" % (low, after, PHONES))
    if stats.get("failures"):
        problems.append("%d REGISTER failures: %s" % (len(stats["failures"]), stats["failures"][:5]))
    if restarted:
        problems.append("Asterisk restarted")
    result["failures"] = len(problems)
    result["problems"] = problems
    result["line"] = counts_line(SUITE, phones=PHONES, changed_extensions=CHANGED, converge_s=round(converge_s, 1),
                                 contacts_min=low, contacts_after=after, reregisters=stats.get("tried"),
                                 register_failures=len(stats.get("failures", [])), restarted=restarted,
                                 failures=len(problems))
    record(SUITE, result)
    # leave the host without the bulk (other suites start from a small config)
    lab.run_playbook(lab.play([task([])]))
    assert not problems, "\n".join(problems)
