# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxguard.asterisk.web_access sip_flood against a real Asterisk 22 and the
real nft of the lab host: a bounded SIP OPTIONS flood over UDP from the
outside-client namespace (to the lab host only) is cut - the source lands in
the ban set, gets no SIP (sipsak) or IAX (POKE) answer any more, and is let
in again when the ban expires - while a phone on the permitted network keeps
registering (sipsak REGISTER with digest auth, 200), the carrier host is still
answered and the controller keeps its SSH. A TCP connection flood is cut by the
new-connection limit. Check mode writes nothing, a rerun while a source is
banned is no change, a bad value is refused with the files byte-identical."""
import json
import os
import re
import secrets
import subprocess
import time

import pytest

from conftest import CLIENTS

RULES = "/etc/nftables.d/pbxguard.nft"
NFT_CONF = "/etc/nftables.conf"
BAN_SECONDS = 30  # long enough for the checks and a rerun while banned on a busy machine
NUMBER = "2951"
FLOOD = (3000, 3.0)  # requests, seconds: 1000/s against a limit of 50/s (burst 100)
CONNECTS = 10  # new TCP connections per minute (and at once) in the lab
TCP_PORT = 5070


def run(cmd, ns=None, timeout=30):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, input="")


def net(lab):
    return lab.ip.rsplit(".", 1)[0] + ".0/24"


def task(lab, **flood):
    opts = dict(enabled=True, ban_seconds=BAN_SECONDS, new_connections_per_minute=CONNECTS)
    opts.update(flood)
    return {"name": "web access with sip flood defence", "pbxguard.asterisk.web_access": {
        "mode": "permitted", "permitted": [net(lab)], "sip_flood": opts}}


def answered_options(lab, ns, timeout=4):
    """sipsak OPTIONS: True when Asterisk answered (any SIP response with its
    Server header; 401 for an anonymous OPTIONS), False when nothing came."""
    p = run(["timeout", str(timeout), "sipsak", "-vv", "-s", "sip:%s:5060" % lab.ip], ns)
    out = p.stdout + p.stderr
    return bool(re.search(r"^SIP/2\.0 \d{3} ", out, re.M)) and "Server: Asterisk PBX" in out


def iax_pong(lab, ns):
    return run(["python3", os.path.join(CLIENTS, "iax_poke.py"), lab.ip, "4569", "2"], ns).returncode == 0


def register(lab, secret):
    """sipsak REGISTER with digest auth from the controller, then unregister; 0 = 200 OK."""
    p = run(["timeout", "20", "sipsak", "-U", "-l", "5077", "-C", "sip:%s@%s:5077" % (NUMBER, lab.controller_ip),
             "-s", "sip:%s@%s" % (NUMBER, lab.ip), "-a", secret, "-u", NUMBER, "-i"])
    return p.returncode, (p.stdout + p.stderr)[-400:]


def ssh_from_controller(lab):
    key = lab.vars["ansible_ssh_private_key_file"]
    p = run(["timeout", "20", "ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "BatchMode=yes", "-o", "ControlMaster=no", "-o", "ControlPath=none", "root@%s" % lab.ip,
             "echo ssh-ok"])
    return p.stdout.strip() == "ssh-ok"


def banned(lab, family="4"):
    out = lab.sh("nft -j list set inet pbxguard sip_ban%s" % family)
    elems = json.loads(out)["nftables"][1]["set"].get("elem", [])
    return sorted(e["elem"]["val"] if isinstance(e, dict) else e for e in elems)


def live_tag(lab):
    out = lab.sh("nft list table inet pbxguard 2>/dev/null || true", check=False)
    m = re.search(r'comment "pbxguard web_access (\w+)', out)
    return m.group(1) if m else None


def flush(lab):
    lab.sh("for s in sip_ban4 sip_ban6 sip_pkt4 sip_pkt6 sip_new4 sip_new6; do "
           "nft flush set inet pbxguard $s 2>/dev/null; done; true", check=False)


@pytest.fixture(scope="module")
def secret():
    return "Sx%s_%s7" % (secrets.token_hex(4).upper(), secrets.token_hex(4))


@pytest.fixture(scope="module", autouse=True)
def pbx(lab, secret):
    """A UDP transport (the call_policy suite's, or one added by hand as an
    admin would), a TCP one, and one phone; the lab host as the earlier
    suites left it otherwise."""
    lab.sh("grep -qs '^\\[lab-tcp\\]' /etc/asterisk/pjsip_lab.conf || {"
           " (grep -qs '^\\[lab-udp\\]' /etc/asterisk/pjsip_lab.conf ||"
           "  printf '[lab-udp]\\ntype=transport\\nprotocol=udp\\nbind=0.0.0.0:5060\\n\\n' >> /etc/asterisk/pjsip_lab.conf)"
           " && printf '\\n[lab-tcp]\\ntype=transport\\nprotocol=tcp\\nbind=0.0.0.0:%d\\n' >> /etc/asterisk/pjsip_lab.conf"
           " && chown asterisk:asterisk /etc/asterisk/pjsip_lab.conf && chmod 640 /etc/asterisk/pjsip_lab.conf"
           " && (grep -q pjsip_lab.conf /etc/asterisk/pjsip.conf || echo '#include pjsip_lab.conf' >> /etc/asterisk/pjsip.conf)"
           " && systemctl restart asterisk; }" % TCP_PORT)
    for dummy in range(60):
        if "lab-tcp" in lab.sh("asterisk -rx 'pjsip show transports' 2>&1 || true", check=False):
            break
        time.sleep(0.5)
    r = lab.playbook([{"name": "a phone", "pbxguard.asterisk.extension": {
        "extensions": [{"number": NUMBER, "secret": secret}]}}])
    assert not r.failed, r.raw[-3000:]
    yield
    flush(lab)


@pytest.fixture(scope="module")
def applied(lab):
    """Off first (the table as without the option), check mode (writes
    nothing), then the real run."""
    r = lab.playbook([task(lab, enabled=False)])
    assert not r.failed and r.last["sip_flood"]["enabled"] is False, r.raw[-2000:]
    assert "sip_flood" not in lab.read(RULES).decode()
    before = (lab.sha(RULES), lab.sha(NFT_CONF), live_tag(lab))
    r = lab.playbook([task(lab)], check=True)
    assert not r.failed and r.changed == 1, r.raw[-2000:]
    assert (lab.sha(RULES), lab.sha(NFT_CONF), live_tag(lab)) == before, "check mode changed the host"
    r = lab.playbook([task(lab)])
    assert not r.failed and r.changed == 1, r.raw[-2000:]
    return r.last


def test_rendered_from_the_port_plan_with_the_controller_exempt(lab, applied):
    f = applied["sip_flood"]
    assert f["enabled"] and 5060 in f["udp_ports"] and 4569 in f["udp_ports"] and TCP_PORT in f["tcp_ports"], f
    assert net(lab) in f["exempt"] and "127.0.0.0/8" in f["exempt"], f
    assert "sip_flood: " in applied["summary"] and "banned for %d s" % BAN_SECONDS in applied["summary"]
    text = lab.read(RULES).decode()
    assert "jump sip_flood" in text and "limit rate over 50/second burst 100 packets" in text
    assert "include \"/etc/nftables.d/*.nft\"" in lab.read(NFT_CONF).decode()
    assert lab.sh("systemctl is-enabled nftables.service").strip() == "enabled"


def test_bad_value_refused_nothing_changes(lab, applied):
    """Refused naming the options, the files byte-identical, the same table loaded."""
    shas, tag = (lab.sha(RULES), lab.sha(NFT_CONF)), live_tag(lab)
    r = lab.playbook([task(lab, packets_per_second=0, exempt=["198.18.0.0/33"])])
    assert r.failed, r.raw[-2000:]
    msg = r.last.get("msg", "")
    assert "sip_flood.packets_per_second: 0 is out of range 1-100000" in msg and "sip_flood.exempt[0]" in msg, msg
    assert (lab.sha(RULES), lab.sha(NFT_CONF)) == shas and live_tag(lab) == tag


def test_flood_from_outside_is_cut_phone_and_controller_keep_working(lab, applied, secret):
    flush(lab)
    out_ns, out_ip = lab.outside_ns, lab.vars["lab_outside_ip"]
    assert answered_options(lab, out_ns), "before the flood the outside client is answered"
    iax_before = iax_pong(lab, out_ns)
    t0 = time.time()
    p = run(["python3", os.path.join(CLIENTS, "sip_flood.py"), lab.ip, "5060", str(FLOOD[0]), str(FLOOD[1])],
            out_ns, timeout=30)
    flood = json.loads(p.stdout.strip().splitlines()[-1])
    assert flood["sent"] == FLOOD[0], flood
    print("sip flood from %s: %s" % (out_ip, flood))
    # answered until the source went over 50/s + a burst of 100, then never again
    assert 0 < flood["answered"] <= 300 and flood["last_answered"] < 400, flood
    assert banned(lab) == [out_ip], "the outside source (only) is in the ban set"
    assert not answered_options(lab, out_ns), "after the flood the outside client gets no SIP answer"
    assert iax_before, "before the flood the outside client gets an IAX PONG"
    assert not iax_pong(lab, out_ns), "the ban covers the IAX port too"
    # the permitted network: a phone registers (200), the controller keeps SSH
    rc, said = register(lab, secret)
    assert rc == 0, said
    for name, host in sorted(lab.hosts.items()):
        # the carrier host, on the permitted network (the PBX identifies it as the carrier
        # endpoint by its address, so it does not register as a phone): still answered
        if name != lab.name:
            assert answered_options(lab, host["lab_netns"]), name
    assert ssh_from_controller(lab)
    assert lab.controller_ip not in banned(lab)

    # a rerun while the source is banned: no change, the table not reloaded (the ban stays)
    r = lab.playbook([task(lab)])
    assert not r.failed and r.changed == 0 and r.last["loaded"] is False, r.raw[-2000:]
    assert time.time() - t0 < BAN_SECONDS - 1, "the rerun took too long to prove anything about the ban"
    assert banned(lab) == [out_ip]

    # dropped for a while: once the ban expires the outside client is answered again
    deadline = t0 + BAN_SECONDS + 15
    while banned(lab) and time.time() < deadline:
        time.sleep(1)
    assert banned(lab) == [], "the ban expires after ban_seconds"
    assert time.time() - t0 >= BAN_SECONDS - 1
    assert answered_options(lab, out_ns), "after the ban the outside client is answered again"


def rule_counter(lab, needle):
    """Packets counted by the sip_flood rule whose text contains ``needle``."""
    for line in lab.sh("nft list chain inet pbxguard sip_flood").splitlines():
        if needle in line:
            m = re.search(r"counter packets (\d+)", line)
            return int(m.group(1)) if m else None
    return None


def test_connection_flood_over_tcp_is_cut(lab, applied, secret):
    flush(lab)
    out_ns, out_ip = lab.outside_ns, lab.vars["lab_outside_ip"]
    new0, pkt0 = rule_counter(lab, "update @sip_new4"), rule_counter(lab, "update @sip_pkt4")
    p = run(["python3", os.path.join(CLIENTS, "sip_flood.py"), "--tcp", lab.ip, str(TCP_PORT), "40"], out_ns)
    got = json.loads(p.stdout.strip().splitlines()[-1])
    print("tcp connects from %s: %s" % (out_ip, got))
    # the burst (as many as per minute) is accepted, the next SYN is dropped and the source banned
    assert CONNECTS - 2 <= got["connected"] <= CONNECTS + 1 and got["attempted"] == got["connected"] + 1, got
    assert banned(lab) == [out_ip]
    assert rule_counter(lab, "update @sip_new4") == new0 + 1, "banned by the new-connection limit"
    assert rule_counter(lab, "update @sip_pkt4") == pkt0, "not by the packet limit"
    # the ban covers the UDP ports too; the phone on the permitted network registers
    assert not answered_options(lab, out_ns, timeout=3)
    rc, said = register(lab, secret)
    assert rc == 0, said
    flush(lab)
    assert answered_options(lab, out_ns), "a flushed ban lets the source in at once"
