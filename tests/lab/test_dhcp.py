# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxguard.asterisk.dhcp against a real Kea 3.0 in a lab host, checked with
real DHCP clients (busybox udhcpc, and tests/lab/clients/dhcp_discover.py for
the option 66 bytes udhcpc shows as "bad") in a client namespace on the lab
bridge. Addresses are computed from the lab host's own, so any LAB_PREFIX and
LAB_NET work."""
import json
import os
import random
import subprocess
import tempfile

import pytest

CONF = "/etc/kea/kea-dhcp4.conf"
HERE = os.path.dirname(os.path.abspath(__file__))
DISCOVER = os.path.join(HERE, "clients", "dhcp_discover.py")
RESERVED_MAC = "00:0b:82:aa:bb:cc"
UDHCPC_SCRIPT = """#!/bin/sh
[ "$1" = bound ] || exit 0
printf 'ip=%s\\nsubnet=%s\\nrouter=%s\\ndns=%s\\ntftp=%s\\nntpsrv=%s\\n' "$ip" "$subnet" "$router" "$dns" "$tftp" "$ntpsrv"
"""


def prefix_of(lab):
    if os.environ.get("LAB_PREFIX"):
        return os.environ["LAB_PREFIX"]
    return os.path.basename(os.path.dirname(os.path.abspath(lab.inventory))) or "pbxt"


def net(lab, last):
    return "%s.%d" % (lab.ip.rsplit(".", 1)[0], last)


def dhcp(lab, **kw):
    params = dict(enabled=True, interface="eth0", gateway=lab.controller_ip, subnet_mask="255.255.255.0",
                  dns=[lab.controller_ip, "9.9.9.9"], range_start=net(lab, 100), range_end=net(lab, 199),
                  lease_time=3600, tftp_server=lab.ip, vendor_format="raw_ip",
                  reservations=[{"mac": RESERVED_MAC, "address": net(lab, 150)}])
    params.update(kw)
    return {"name": "dhcp", "pbxguard.asterisk.dhcp": params}


def random_mac():
    return "02:%02x:%02x:%02x:%02x:%02x" % tuple(random.randint(0, 255) for dummy in range(5))


class Client(object):
    """A client namespace with a veth on the lab bridge."""

    def __init__(self, prefix):
        self.ns = "%s-cl1" % prefix
        self.link = ("%scl1" % prefix)[:15]
        self.bridge = "%sbr" % prefix
        fd, self.script = tempfile.mkstemp(prefix="udhcpc-", suffix=".sh")
        with os.fdopen(fd, "w") as f:
            f.write(UDHCPC_SCRIPT)
        os.chmod(self.script, 0o755)

    def run(self, *cmd, **kw):
        return subprocess.run(["ip", "netns", "exec", self.ns] + list(cmd), text=True, capture_output=True,
                              timeout=kw.get("timeout", 30), check=kw.get("check", False))

    def up(self):
        self.down()
        for cmd in (["ip", "netns", "add", self.ns],
                    ["ip", "link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns", self.ns],
                    ["ip", "link", "set", self.link, "master", self.bridge, "up"]):
            subprocess.run(cmd, check=True, capture_output=True)
        self.run("ip", "link", "set", "lo", "up", check=True)
        self.set_mac(random_mac())

    def down(self):
        subprocess.run(["ip", "link", "del", self.link], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, check=False)

    def set_mac(self, mac):
        self.run("ip", "link", "set", "eth0", "down", check=True)
        self.run("ip", "link", "set", "eth0", "address", mac, check=True)
        self.run("ip", "link", "set", "eth0", "up", check=True)

    def udhcpc(self, vendor=None):
        """One real lease attempt: (rc, {ip, subnet, router, dns, tftp, ntpsrv})."""
        cmd = ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3", "-T", "1",
               "-O", "tftp", "-O", "ntpsrv", "-s", self.script]
        if vendor:
            cmd += ["-V", vendor]
        p = self.run(*cmd)
        env = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
        return p.returncode, env

    def discover(self, vendor=None):
        """The OFFER's options exactly as sent."""
        p = self.run("python3", DISCOVER, "eth0", *([vendor] if vendor else []))
        return p.returncode, json.loads(p.stdout or "{}")


@pytest.fixture(scope="module")
def client(lab):
    c = Client(prefix_of(lab))
    c.up()
    yield c
    c.down()
    os.unlink(c.script)


def kea_pid(lab):
    return lab.sh("systemctl show -p MainPID --value kea-dhcp4-server").strip()


def serving(lab, client):
    client.set_mac(random_mac())
    rc, env = client.udhcpc()
    return rc == 0 and env.get("ip", "").startswith(lab.ip.rsplit(".", 1)[0] + ".")


@pytest.fixture(scope="module", autouse=True)
def converged(lab):
    r = lab.playbook([dhcp(lab)])
    assert not r.failed, r.raw
    yield r
    lab.sh("systemctl enable --now kea-dhcp4-server", check=False)


def test_second_run_changes_nothing(lab):
    pid = kea_pid(lab)
    r = lab.playbook([dhcp(lab)])
    assert not r.failed and r.changed == 0
    assert r.last["applied_with"] == "none" and r.last["config_changed"] is False
    assert r.last["summary"] == "DHCP: serving %s - %s on eth0 (%s/24), 1 reservation, option 66 %s" % (
        net(lab, 100), net(lab, 199), net(lab, 0), lab.ip)
    assert kea_pid(lab) == pid


def test_file_is_json_with_debians_owner_and_mode(lab):
    assert lab.sh("stat -c '%U:%G %a' " + CONF).strip() == "root:root 644"
    assert json.loads(lab.read(CONF))["Dhcp4"]["subnet4"][0]["subnet"] == net(lab, 0) + "/24"
    assert lab.sh("systemctl is-active kea-dhcp4-server; systemctl is-enabled kea-dhcp4-server").split() == [
        "active", "enabled"]


def test_client_gets_pool_address_and_every_option(lab, client):
    client.set_mac(random_mac())
    rc, env = client.udhcpc()
    assert rc == 0, env
    last = int(env["ip"].rsplit(".", 1)[1])
    assert env["ip"].rsplit(".", 1)[0] == lab.ip.rsplit(".", 1)[0] and 100 <= last <= 199
    assert env["subnet"] == "255.255.255.0"
    assert env["router"] == lab.controller_ip
    assert env["dns"].split() == [lab.controller_ip, "9.9.9.9"]
    assert env["tftp"] == lab.ip  # raw_ip: the bare address
    assert env["ntpsrv"] == lab.ip  # option 42 defaults to the PBX's own address


def test_reserved_mac_gets_reserved_address(lab, client):
    client.set_mac(RESERVED_MAC)
    rc, env = client.udhcpc()
    assert rc == 0 and env["ip"] == net(lab, 150), env


def test_ntp_server_can_be_set(lab, client):
    r = lab.playbook([dhcp(lab, ntp_server=lab.controller_ip)])
    assert not r.failed and r.changed == 1
    client.set_mac(random_mac())
    assert client.udhcpc()[1]["ntpsrv"] == lab.controller_ip
    assert not lab.playbook([dhcp(lab)]).failed


def test_tftp_url_format(lab, client):
    r = lab.playbook([dhcp(lab, vendor_format="tftp_url")])
    assert not r.failed and r.last["config"]["tftp_server_name"] == "tftp://" + lab.ip
    client.set_mac(random_mac())
    rc, env = client.udhcpc()
    assert rc == 0 and env["tftp"] == "bad"  # busybox checks option 66 as a host name
    rc, offer = client.discover()
    assert rc == 0 and offer["tftp_server_name"] == "tftp://" + lab.ip, offer
    assert not lab.playbook([dhcp(lab)]).failed
    rc, offer = client.discover()
    assert offer["tftp_server_name"] == lab.ip


def test_vendor_classes_choose_option_66_per_vendor(lab, client):
    classes = [{"name": "yealink", "match": "yealink", "vendor_format": "tftp_url"},
               {"mac_prefix": "00:15:65", "vendor_format": "tftp_url"}]
    r = lab.playbook([dhcp(lab, vendor_classes=classes)])
    assert not r.failed and r.changed == 1
    client.set_mac(random_mac())
    assert client.discover("yealinkT46")[1]["tftp_server_name"] == "tftp://" + lab.ip
    assert client.discover("Grandstream GXP2170")[1]["tftp_server_name"] == lab.ip
    assert client.discover()[1]["tftp_server_name"] == lab.ip
    client.set_mac("00:15:65:01:02:03")
    assert client.discover()[1]["tftp_server_name"] == "tftp://" + lab.ip
    assert lab.playbook([dhcp(lab, vendor_classes=classes)]).changed == 0
    assert not lab.playbook([dhcp(lab)]).failed


def test_change_is_applied_with_config_reload_in_the_same_process(lab, client):
    pid = kea_pid(lab)
    r = lab.playbook([dhcp(lab, range_start=net(lab, 120))])
    assert not r.failed and r.last["applied_with"] == "config-reload"
    assert kea_pid(lab) == pid
    client.set_mac(random_mac())
    rc, env = client.udhcpc()
    assert rc == 0 and 120 <= int(env["ip"].rsplit(".", 1)[1]) <= 199
    assert not lab.playbook([dhcp(lab)]).failed


def test_check_mode_predicts_and_writes_nothing(lab, client):
    before, pid = lab.sha(CONF), kea_pid(lab)
    r = lab.playbook([dhcp(lab, lease_time=7200)], check=True)
    assert not r.failed and r.changed == 1 and r.last["config_changed"] is True
    assert r.last["config"]["lease_time"] == 7200
    assert lab.sha(CONF) == before and kea_pid(lab) == pid
    client.set_mac(random_mac())
    assert "lease time 3600" in client.run("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3",
                                           "-T", "1", "-s", client.script).stderr
    # the real run does what check mode said
    r = lab.playbook([dhcp(lab, lease_time=7200)])
    assert r.changed == 1 and r.last["config"]["lease_time"] == 7200
    assert not lab.playbook([dhcp(lab)]).failed


def test_check_mode_of_disable_touches_nothing(lab):
    r = lab.playbook([dhcp(lab, enabled=False)], check=True)
    assert not r.failed and r.changed == 1
    assert lab.sh("systemctl is-active kea-dhcp4-server").strip() == "active"


def test_diff_shows_json_before_and_after(lab):
    r = lab.playbook([dhcp(lab, lease_time=1800)], diff=True)
    d = r.last["diff"]
    assert json.loads(d["before"])["Dhcp4"]["valid-lifetime"] == 3600
    assert json.loads(d["after"])["Dhcp4"]["valid-lifetime"] == 1800
    r = lab.playbook([dhcp(lab)], diff=True)
    assert r.changed == 1
    r = lab.playbook([dhcp(lab)], diff=True)
    assert r.changed == 0 and "diff" not in r.last


def test_reformatted_file_with_same_content_is_left_alone(lab):
    lab.sh("python3 -c \"import json;p='%s';d=json.load(open(p));open(p,'w').write(json.dumps(d,indent=1))\"" % CONF)
    before = lab.sha(CONF)
    r = lab.playbook([dhcp(lab)])
    assert not r.failed and r.changed == 0 and lab.sha(CONF) == before


def test_wrong_mode_is_repaired_without_reload(lab):
    lab.sh("chmod 600 " + CONF)
    pid = kea_pid(lab)
    r = lab.playbook([dhcp(lab)])
    assert not r.failed and r.changed == 1 and r.last["config_changed"] is False
    assert lab.sh("stat -c '%a' " + CONF).strip() == "644" and kea_pid(lab) == pid


def test_disable_means_no_lease_and_enable_serves_again(lab, client):
    r = lab.playbook([dhcp(lab, enabled=False)])
    assert not r.failed and r.changed == 1
    assert lab.sh("systemctl is-active kea-dhcp4-server; systemctl is-enabled kea-dhcp4-server",
                  check=False).split() == ["inactive", "disabled"]
    client.set_mac(random_mac())
    rc, env = client.udhcpc()
    assert rc != 0 and "ip" not in env
    assert lab.playbook([{"name": "off", "pbxguard.asterisk.dhcp": {"enabled": False}}]).changed == 0
    r = lab.playbook([dhcp(lab)])
    assert not r.failed and r.changed == 1 and r.last["applied_with"] == "start"
    assert serving(lab, client)
    assert lab.playbook([dhcp(lab)]).changed == 0


def test_kea_failing_to_start_restores_the_file(lab, client):
    """Kea stopped and blocked from starting (an ExecStartPre=/bin/false
    drop-in): a changed config is written, the start fails, the previous file
    must come back and the task must say so."""
    drop = "/run/systemd/system/kea-dhcp4-server.service.d"
    lab.sh("systemctl stop kea-dhcp4-server; mkdir -p %s; printf '[Service]\\nExecStartPre=/bin/false\\n' > %s/zz-block.conf;"
           " systemctl daemon-reload" % (drop, drop))
    try:
        before = lab.sha(CONF)
        r = lab.playbook([dhcp(lab, lease_time=900)])
        assert r.failed
        assert "previous file was restored" in r.last["msg"] and "systemctl start" in r.last["msg"], r.last["msg"]
        assert lab.sha(CONF) == before
    finally:
        lab.sh("rm -rf %s; systemctl daemon-reload; systemctl start kea-dhcp4-server" % drop)
    assert serving(lab, client)
    assert lab.playbook([dhcp(lab)]).changed == 0


# names Kea 3.0 gives a meaning of its own, as the module refuses them
KEA_RESERVED_SAMPLES = ("DROP", "KNOWN", "ALL", "BOOTP", "VENDOR_CLASS_Yealink", "SPAWN_x", "HA_server1")


def kea_check(lab, name):
    """kea-dhcp4 -t (the daemon's own parser) on the live file plus one client
    class ``name`` with a vendor test: (exit code, output)."""
    conf = json.loads(lab.read(CONF))
    conf["Dhcp4"]["client-classes"] = [{"name": name, "test": "substring(option[60].text,0,7) == 'Yealink'",
                                        "option-data": [{"name": "tftp-server-name", "data": "tftp://%s" % lab.ip}]}]
    lab.sh("cat > /tmp/pbxguard-kea-class.json", input=json.dumps(conf))
    out = lab.sh("kea-dhcp4 -t /tmp/pbxguard-kea-class.json 2>&1; echo rc=$?", check=False)
    lab.sh("rm -f /tmp/pbxguard-kea-class.json")
    return int(out.rsplit("rc=", 1)[1]), out


def test_kea_itself_on_reserved_class_names(lab):
    """Why the names are refused: Kea refuses a test on its built-in classes,
    and takes a class DROP (which drops every matching packet) and the
    reserved prefixes silently, so only the module's check stops them."""
    for name in ("KNOWN", "ALL", "UNKNOWN", "BOOTP"):
        rc, out = kea_check(lab, name)
        assert rc != 0 and "built-in class '%s' test expression must be empty" % name in out, out
    for name in ("DROP", "VENDOR_CLASS_Yealink", "SPAWN_x", "yealink"):
        rc, out = kea_check(lab, name)
        assert rc == 0, out


def test_kea_class_names_compare_case_sensitively(lab, client):
    """'drop' is an ordinary class for Kea (it compares names case-sensitively):
    the module takes it and a real Yealink DISCOVER gets that class's option 66."""
    classes = [{"name": "drop", "match": "Yealink", "vendor_format": "tftp_url"}]
    r = lab.playbook([dhcp(lab, vendor_classes=classes)])
    assert not r.failed, r.raw
    try:
        client.set_mac(random_mac())
        rc, offer = client.discover("Yealink SIP-T46U")
        assert rc == 0 and offer["tftp_server_name"] == "tftp://" + lab.ip, offer
    finally:
        assert not lab.playbook([dhcp(lab)]).failed


def bad_cases(lab):
    return [
        ("range-outside-subnet", dict(range_start="198.255.1.100", range_end="198.255.1.199"),
         ["range_start: 198.255.1.100 is outside the subnet %s/24 of eth0" % net(lab, 0)]),
        ("start-after-end", dict(range_start=net(lab, 200)),
         ["range_start: %s is after range_end %s" % (net(lab, 200), net(lab, 199))]),
        ("mask-not-contiguous", dict(subnet_mask="255.0.255.0"), ["subnet_mask:", "not contiguous"]),
        ("gateway-in-range", dict(gateway=net(lab, 120)), ["range_start:", "contains the gateway %s" % net(lab, 120)]),
        ("pbx-address-in-range", dict(range_start=net(lab, 2)), ["range_start:", "the PBX's own address on eth0"]),
        ("gateway-outside", dict(gateway="198.255.0.1"), ["gateway: 198.255.0.1 is outside the subnet"]),
        ("bad-mac", dict(reservations=[{"mac": "00:0b:82:aa:bb", "address": net(lab, 150)}]),
         ["reservations[0].mac: is not a MAC address"]),
        ("duplicate-mac", dict(reservations=[{"mac": RESERVED_MAC, "address": net(lab, 150)},
                                             {"mac": RESERVED_MAC.upper(), "address": net(lab, 151)}]),
         ["reservations[1].mac:", "already reserved by reservations[0]"]),
        ("duplicate-address", dict(reservations=[{"mac": RESERVED_MAC, "address": net(lab, 150)},
                                                 {"mac": "00:0b:82:aa:bb:cd", "address": net(lab, 150)}]),
         ["reservations[1].address:", "already reserved"]),
        ("reservation-outside-subnet", dict(reservations=[{"mac": RESERVED_MAC, "address": "198.255.0.5"}]),
         ["reservations[0].address: 198.255.0.5 is outside the subnet"]),
        ("newline-in-interface", dict(interface="eth0\nlo"), ["interface:", "newline"]),
        ("semicolon-in-interface", dict(interface="eth0;reboot"), ["interface:", "';'"]),
        ("missing-interface", dict(interface="eth9"), ["interface: eth9 does not exist on this host"]),
        ("dns-not-ip", dict(dns=["dns.example"]), ["dns[0]: is not an IP address"]),
        ("ntp-not-ip", dict(ntp_server="198.18.0.1\n"), ["ntp_server: is not an IP address"]),
        ("unknown-vendor-format", dict(vendor_format="url"), ["vendor_format"]),
        ("vendor-class-quote", dict(vendor_classes=[{"match": "a' or 'a", "vendor_format": "raw_ip"}]),
         ["vendor_classes[0].match:"]),
        ("lease-too-short", dict(lease_time=5), ["lease_time:"]),
        ("interface-dotdot", dict(interface=".."), ["interface: '..' is not a name"]),
    ] + [("kea-class-" + name, dict(vendor_classes=[{"name": name, "match": "Yealink", "vendor_format": "tftp_url"}]),
          ["vendor_classes[0].name: '%s' " % name, "Kea reserves"])
         for name in KEA_RESERVED_SAMPLES]


BAD_IDS = [c[0] for c in bad_cases(type("L", (), {"ip": "198.18.0.11", "controller_ip": "198.18.0.1"}))]


@pytest.mark.parametrize("case", BAD_IDS)
def test_bad_input_refused_and_nothing_changes(lab, client, case):
    params, expected = [(c[1], c[2]) for c in bad_cases(lab) if c[0] == case][0]
    before, pid = lab.sha(CONF), kea_pid(lab)
    r = lab.playbook([dhcp(lab, **params)])
    assert r.failed
    msg = r.last.get("msg", "")
    for fragment in expected:
        assert fragment in msg, "%r not in %r" % (fragment, msg)
    assert lab.sha(CONF) == before, "kea-dhcp4.conf changed"
    assert kea_pid(lab) == pid, "Kea was restarted"
    assert serving(lab, client), "Kea no longer serves"
