# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import json

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _dhcp
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_transaction import (
    Exit, FakeDisk, FakeHost, FakeModule as TxModule, FakeWriter)

IFACE = ipaddress.IPv4Interface("198.18.0.11/24")


def params(**kw):
    p = dict(enabled=True, interface="eth0", gateway="198.18.0.1", subnet_mask="255.255.255.0",
             dns=["198.18.0.1", "9.9.9.9"], range_start="198.18.0.100", range_end="198.18.0.199",
             lease_time=3600, tftp_server="198.18.0.11", vendor_format="raw_ip", ntp_server=None,
             reservations=[{"mac": "00:0b:82:aa:bb:cc", "address": "198.18.0.150"}], vendor_classes=[])
    p.update(kw)
    return p


def build(**kw):
    return _dhcp.plan(_dhcp.validate(params(**kw)), IFACE)


def error_of(fn):
    with pytest.raises(PolicyError) as e:
        fn()
    return str(e.value)


def test_spec_example_renders():
    cfg = build()
    d = cfg["Dhcp4"]
    assert d["interfaces-config"]["interfaces"] == ["eth0"]
    s = d["subnet4"][0]
    assert s["id"] == 1 and s["subnet"] == "198.18.0.0/24" and s["interface"] == "eth0"
    assert s["pools"] == [{"pool": "198.18.0.100 - 198.18.0.199"}]
    opts = dict((o["name"], o["data"]) for o in s["option-data"])
    assert opts == {"routers": "198.18.0.1", "domain-name-servers": "198.18.0.1, 9.9.9.9",
                    "ntp-servers": "198.18.0.11"}
    assert d["option-data"] == [{"name": "tftp-server-name", "data": "198.18.0.11"}]
    assert s["reservations"] == [{"hw-address": "00:0b:82:aa:bb:cc", "ip-address": "198.18.0.150"}]
    assert d["valid-lifetime"] == 3600
    assert "client-classes" not in d


def test_render_is_stable_json_and_parses_back():
    cfg = build()
    data = _dhcp.render(cfg)
    assert data == _dhcp.render(build())
    assert _dhcp.parse(data) == cfg
    assert data.endswith(b"\n")


@pytest.mark.parametrize("data", [None, b"", b"// comment\n{}", b"\xff\xfe", b"{"])
def test_parse_non_json_is_none(data):
    assert _dhcp.parse(data) is None


@pytest.mark.parametrize("fmt,value", [("raw_ip", "198.18.0.11"), ("tftp_url", "tftp://198.18.0.11")])
def test_vendor_format(fmt, value):
    assert build(vendor_format=fmt)["Dhcp4"]["option-data"][0]["data"] == value


def test_no_tftp_server_means_no_option_66():
    assert "option-data" not in build(tftp_server=None)["Dhcp4"]


def test_ntp_defaults_to_own_address_and_can_be_set():
    def ntp(cfg):
        return [o["data"] for o in cfg["Dhcp4"]["subnet4"][0]["option-data"] if o["name"] == "ntp-servers"]
    assert ntp(build()) == ["198.18.0.11"]
    assert ntp(build(ntp_server="198.18.0.1")) == ["198.18.0.1"]


def test_mask_defaults_to_interface_prefix():
    want = _dhcp.validate(params(subnet_mask=None, range_start="198.18.0.20", range_end="198.18.0.60",
                                 reservations=[{"mac": "00:0b:82:aa:bb:cc", "address": "198.18.0.70"}]))
    cfg = _dhcp.plan(want, ipaddress.IPv4Interface("198.18.0.11/25"))
    assert cfg["Dhcp4"]["subnet4"][0]["subnet"] == "198.18.0.0/25"


def test_reservation_outside_pool_is_fine():
    cfg = build(reservations=[{"mac": "00-0B-82-AA-BB-CD", "address": "198.18.0.20"}])
    assert cfg["Dhcp4"]["subnet4"][0]["reservations"] == [
        {"hw-address": "00:0b:82:aa:bb:cd", "ip-address": "198.18.0.20"}]


def test_vendor_classes_render():
    cfg = build(vendor_format="tftp_url", vendor_classes=[
        {"name": "grandstream", "match": "Grandstream", "vendor_format": "raw_ip"},
        {"mac_prefix": "08:00:23", "vendor_format": "raw_ip"},
    ])
    classes = cfg["Dhcp4"]["client-classes"]
    assert classes[0] == {"name": "grandstream", "test": "substring(option[60].text,0,11) == 'Grandstream'",
                          "option-data": [{"name": "tftp-server-name", "data": "198.18.0.11"}]}
    assert classes[1]["name"] == "pbxguard-vendor-1"
    assert classes[1]["test"] == "substring(pkt4.mac,0,3) == 0x080023"
    assert cfg["Dhcp4"]["option-data"][0]["data"] == "tftp://198.18.0.11"


def test_summary_of():
    s = _dhcp.summary_of(build())
    assert s["pool"] == "198.18.0.100 - 198.18.0.199" and s["dns"] == ["198.18.0.1", "9.9.9.9"]
    assert s["tftp_server_name"] == "198.18.0.11" and s["ntp_server"] == "198.18.0.11"
    assert s["reservations"] == [{"mac": "00:0b:82:aa:bb:cc", "address": "198.18.0.150"}]


def test_disabled_needs_nothing_else():
    assert _dhcp.validate({"enabled": False}) == {"enabled": False, "interface": None}


@pytest.mark.parametrize("kw,expected", [
    ({"interface": None}, "interface: required when enabled is true"),
    ({"dns": []}, "dns: required"),
    ({"interface": "eth0\nx"}, "interface: contains newline"),
    ({"interface": "eth0;reboot"}, "interface: contains ';'"),
    ({"interface": "a" * 16}, "interface: longer than 15"),
    ({"interface": "../x"}, "interface: contains '/'"),
    ({"gateway": "198.18.0.300"}, "gateway: is not an IP address"),
    ({"gateway": "2001:db8::1"}, "gateway: must be an IPv4 address"),
    ({"subnet_mask": "255.0.255.0"}, "subnet_mask: netmask 255.0.255.0 is not contiguous"),
    ({"subnet_mask": "255.255.255.255"}, "subnet_mask: 255.255.255.255 leaves no room"),
    ({"subnet_mask": "24"}, "subnet_mask: is not a dotted IPv4 netmask"),
    ({"range_start": "198.18.0.200"}, "range_start: 198.18.0.200 is after range_end 198.18.0.199"),
    ({"range_end": "x"}, "range_end: is not an IP address"),
    ({"dns": ["9.9.9.9", "9.9.9.9"]}, "dns[1]: 9.9.9.9 is listed twice"),
    ({"dns": ["dns.example"]}, "dns[0]: is not an IP address"),
    ({"dns": ["1.1.1.1", "1.0.0.1", "9.9.9.9", "8.8.8.8", "8.8.4.4"]}, "dns: at most 4"),
    ({"ntp_server": "ntp.example"}, "ntp_server: is not an IP address"),
    ({"tftp_server": "198.18.0.11\n"}, "tftp_server: is not an IP address"),
    ({"lease_time": 10}, "lease_time: must be whole seconds from 60"),
    ({"lease_time": True}, "lease_time:"),
    ({"vendor_format": "url"}, "vendor_format: unknown vendor format 'url'"),
    ({"reservations": [{"mac": "00:0b:82:aa:bb", "address": "198.18.0.150"}]},
     "reservations[0].mac: is not a MAC address"),
    ({"reservations": [{"mac": "00:0b:82:aa:bb:zz", "address": "198.18.0.150"}]},
     "reservations[0].mac: is not a MAC address"),
    ({"reservations": [{"mac": "00:0b:82-aa:bb:cc", "address": "198.18.0.150"}]},
     "reservations[0].mac: is not a MAC address"),
    ({"reservations": [{"mac": "ff:ff:ff:ff:ff:ff", "address": "198.18.0.150"}]},
     "reservations[0].mac: ff:ff:ff:ff:ff:ff is not a usable device address"),
    ({"reservations": [{"mac": "01:00:5e:00:00:01", "address": "198.18.0.150"}]},
     "reservations[0].mac: 01:00:5e:00:00:01 is a multicast address"),
    ({"reservations": [{"mac": 123, "address": "198.18.0.150"}]}, "reservations[0].mac: must be a string"),
    ({"reservations": [{"mac": "00:0b:82:aa:bb:cc", "address": "198.18.0.150"},
                       {"mac": "00:0B:82:AA:BB:CC", "address": "198.18.0.151"}]},
     "reservations[1].mac: 00:0b:82:aa:bb:cc is already reserved by reservations[0]"),
    ({"reservations": [{"mac": "00:0b:82:aa:bb:cc", "address": "198.18.0.150"},
                       {"mac": "00:0b:82:aa:bb:cd", "address": "198.18.0.150"}]},
     "reservations[1].address: 198.18.0.150 is already reserved by reservations[0]"),
    ({"vendor_classes": [{"vendor_format": "raw_ip"}]}, "vendor_classes[0]: give exactly one of match or mac_prefix"),
    ({"vendor_classes": [{"match": "x", "mac_prefix": "00:0b:82", "vendor_format": "raw_ip"}]},
     "vendor_classes[0]: give exactly one"),
    ({"vendor_classes": [{"match": "Grand'stream", "vendor_format": "raw_ip"}]}, "vendor_classes[0].match:"),
    ({"vendor_classes": [{"mac_prefix": "00:0b:8", "vendor_format": "raw_ip"}]},
     "vendor_classes[0].mac_prefix: is not a MAC prefix"),
    ({"vendor_classes": [{"match": "Yealink", "vendor_format": "ftp"}]},
     "vendor_classes[0].vendor_format: unknown vendor format 'ftp'"),
    ({"vendor_classes": [{"name": "a", "match": "Y", "vendor_format": "raw_ip"},
                         {"name": "a", "match": "G", "vendor_format": "raw_ip"}]},
     "vendor_classes[1].name: a is already used"),
    ({"tftp_server": None, "vendor_classes": [{"match": "Y", "vendor_format": "raw_ip"}]},
     "vendor_classes: need tftp_server"),
])
def test_validate_errors(kw, expected):
    msg = error_of(lambda: _dhcp.validate(params(**kw)))
    assert expected in msg
    assert msg.split(":", maxsplit=1)[0] in expected  # starts with the option name


def test_validate_collects_every_error():
    msg = error_of(lambda: _dhcp.validate(params(gateway="x", range_end="y", dns=["z"])))
    assert msg.splitlines() == ["gateway: is not an IP address", "range_end: is not an IP address",
                                "dns[0]: is not an IP address"]


@pytest.mark.parametrize("kw,expected", [
    ({"range_start": "198.18.1.100", "range_end": "198.18.1.199"},
     "range_start: 198.18.1.100 is outside the subnet 198.18.0.0/24 of eth0"),
    ({"range_end": "198.18.1.10"}, "range_end: 198.18.1.10 is outside the subnet 198.18.0.0/24 of eth0"),
    ({"range_end": "198.18.0.255"}, "range_end: 198.18.0.255 is the broadcast address of the subnet"),
    ({"range_start": "198.18.0.0"}, "range_start: 198.18.0.0 is the network address"),
    ({"gateway": "198.18.5.1"}, "gateway: 198.18.5.1 is outside the subnet 198.18.0.0/24 of eth0"),
    ({"range_start": "198.18.0.2"}, "range_start: the range 198.18.0.2 - 198.18.0.199 contains 198.18.0.11, "
                                    "the PBX's own address on eth0"),
    ({"gateway": "198.18.0.120"}, "range_start: the range 198.18.0.100 - 198.18.0.199 contains the gateway "
                                  "198.18.0.120"),
    ({"reservations": [{"mac": "00:0b:82:aa:bb:cc", "address": "198.18.9.150"}]},
     "reservations[0].address: 198.18.9.150 is outside the subnet"),
    ({"reservations": [{"mac": "00:0b:82:aa:bb:cc", "address": "198.18.0.11"}]},
     "reservations[0].address: 198.18.0.11 is the PBX's own address on eth0"),
    ({"reservations": [{"mac": "00:0b:82:aa:bb:cc", "address": "198.18.0.1"}]},
     "reservations[0].address: 198.18.0.1 is the gateway"),
    ({"subnet_mask": "255.255.255.128", "range_end": "198.18.0.200"},
     "range_end: 198.18.0.200 is outside the subnet 198.18.0.0/25 of eth0"),
])
def test_plan_errors(kw, expected):
    msg = error_of(lambda: build(**kw))
    assert expected in msg


def test_wider_mask_than_interface_is_allowed():
    cfg = build(subnet_mask="255.255.0.0", range_start="198.18.1.1", range_end="198.18.1.200")
    assert cfg["Dhcp4"]["subnet4"][0]["subnet"] == "198.18.0.0/16"


IP_JSON = json.dumps([{"ifname": "eth0", "addr_info": [
    {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"},
    {"family": "inet", "local": "198.18.0.11", "prefixlen": 24, "scope": "global"},
    {"family": "inet", "local": "198.18.0.12", "prefixlen": 24, "scope": "global"},
    {"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host"},
]}])


def test_interface_addresses():
    assert _dhcp.interface_addresses(IP_JSON, "eth0") == [ipaddress.IPv4Interface("198.18.0.11/24"),
                                                          ipaddress.IPv4Interface("198.18.0.12/24")]
    assert _dhcp.interface_addresses(IP_JSON, "eth1") == []
    assert _dhcp.interface_addresses("[]", "eth0") == []
    with pytest.raises(_dhcp.DhcpError):
        _dhcp.interface_addresses("not json", "eth0")


@pytest.mark.parametrize("value,canonical", [
    ("00:0b:82:aa:bb:cc", "00:0b:82:aa:bb:cc"),
    ("00-0B-82-AA-BB-CC", "00:0b:82:aa:bb:cc"),
    ("02:00:00:00:00:01", "02:00:00:00:00:01"),
])
def test_check_mac_ok(value, canonical):
    assert _dhcp.check_mac(value, "m") == canonical


@pytest.mark.parametrize("value", ["00:0b:82", "00", "00:0b:82:aa:bb:cc", "00-0B"])
def test_check_mac_prefix_ok(value):
    assert _dhcp.check_mac_prefix(value, "p") == value.lower().replace("-", ":")


@pytest.mark.parametrize("value", ["", "0", "00:0b:82:aa:bb:cc:dd", "0b:82:", "zz"])
def test_check_mac_prefix_bad(value):
    assert error_of(lambda: _dhcp.check_mac_prefix(value, "p")).startswith("p: ")


class FakeModule(object):
    def __init__(self, rc, out, err=""):
        self.answer = (rc, out, err)
        self.calls = []

    def run_command(self, args):
        self.calls.append(args)
        return self.answer


def test_read_interface_uses_argv_and_reports_missing():
    m = FakeModule(0, IP_JSON)
    assert _dhcp.read_interface(m, "eth0") == ipaddress.IPv4Interface("198.18.0.11/24")
    assert m.calls == [["ip", "-j", "addr", "show", "dev", "eth0"]]
    msg = error_of(lambda: _dhcp.read_interface(FakeModule(1, "", 'Device "eth9" does not exist.'), "eth9"))
    assert msg.startswith("interface: eth9 does not exist on this host")
    msg = error_of(lambda: _dhcp.read_interface(FakeModule(0, json.dumps([{"ifname": "eth1", "addr_info": []}])),
                                                "eth1"))
    assert msg.startswith("interface: eth1 has no IPv4 address")


# ------------------------------------------------------------ the planner on the transaction
class KeaHost(FakeHost):
    """systemctl and ip as the planner sees them; ``start_rc`` for a start that fails."""

    def __init__(self, module, disk, active=True, enabled=True, start_rc=0):
        FakeHost.__init__(self, module, disk)
        self.active, self.enabled, self.start_rc = active, enabled, start_rc

    def attributes_differ(self, path, owner="root", group="root", mode=0o644):
        return FakeHost.attributes_differ(self, path, owner, group, mode)

    def run_command(self, args, **kw):
        self.disk.log.append(("run",) + tuple(args))
        if args[:2] == ["systemctl", "is-active"]:
            return 0, "active\n" if self.active else "inactive\n", ""
        if args[:2] == ["systemctl", "is-enabled"]:
            return 0, "enabled\n" if self.enabled else "disabled\n", ""
        if args[:2] == ["systemctl", "start"]:
            return self.start_rc, "", "Job for kea-dhcp4-server.service failed." if self.start_rc else ""
        if args[0] == "ip":
            return 0, IP_JSON, ""
        return 0, "", ""


def run_kea(disk, p, check_mode=False, diff=False, **host_kw):
    module = TxModule(check_mode=check_mode, diff=diff)
    t = tx.Transaction(module, _dhcp.DhcpChange(), host=KeaHost(module, disk, **host_kw), writer=FakeWriter(disk),
                       portplan_check=lambda h, m, b: None)
    with pytest.raises(Exit) as e:
        t.run(dict(p, backup=False))
    return e.value


def kea_disk(data=b"# Debian's sample with comments\n"):
    return FakeDisk({_dhcp.CONFIG_FILE: (data, "root", "root", 0o644)})


def test_planner_check_mode_runs_kea_check_and_writes_nothing():
    disk = kea_disk()
    r = run_kea(disk, params(), check_mode=True, diff=True)
    assert not r.failed and r.result["changed"] and r.result["config_changed"]
    assert ("check", "kea-dhcp4", "-t", "{}") in disk.log
    assert json.loads(r.result["diff"]["after"]) == build()
    assert [e for e in disk.log if e[0] not in ("run", "check")] == []


def test_planner_same_config_in_another_layout_is_left_alone():
    disk = kea_disk(json.dumps(build(), indent=1).encode())
    r = run_kea(disk, params())
    assert not r.failed and r.result["changed"] is False and r.result["applied_with"] == "none"
    assert [e for e in disk.log if e[0] != "run"] == []


def test_planner_failed_start_restores_the_file_and_stops_kea_again():
    disk = kea_disk()
    r = run_kea(disk, params(), active=False, start_rc=1)
    assert r.failed
    msg = r.result["msg"]
    assert "(applied with start); the previous file was restored" in msg and "systemctl start" in msg, msg
    assert disk.files[_dhcp.CONFIG_FILE][0] == b"# Debian's sample with comments\n"
    assert disk.log[-1] == ("run", "systemctl", "stop", _dhcp.SERVICE)  # revert: stopped as it was


def test_planner_disabled_stops_and_disables_without_reading_the_interface():
    disk = kea_disk()
    r = run_kea(disk, {"enabled": False})
    assert r.failed  # the fake systemctl still says active afterwards: verify catches it
    assert "kea-dhcp4-server did not stop" in r.result["msg"] and "still active" in r.result["msg"]
    runs = [e[1:] for e in disk.log if e[0] == "run"]
    assert ("systemctl", "stop", _dhcp.SERVICE) in runs and ("systemctl", "disable", _dhcp.SERVICE) in runs
    assert not [a for a in runs if a[0] == "ip"]
    disk = kea_disk()
    r = run_kea(disk, {"enabled": False}, active=False, enabled=False)
    assert not r.failed and r.result["changed"] is False
    assert r.result["service"] == {"active": False, "enabled": False}
