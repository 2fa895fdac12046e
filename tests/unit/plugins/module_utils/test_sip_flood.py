# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SIP flood defence: validation, the ports from the port plan, the exempt
set, the rendering inside web_access's table, and the planner: off changes
nothing, the tag does not follow the bans, a bad value is refused before I/O."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sip_flood as sf
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _web_access as wa
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_web_access import (
    CONF, PARAMS, run)
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_transaction import FakeDisk

PJSIP = b"""[udp]
type=transport
protocol=udp
bind=0.0.0.0:5060

[tcp]
type=transport
protocol=tcp
bind=0.0.0.0:5070

[tls]
type=transport
protocol=tls
bind=[::]:5061

[ws]
type=transport
protocol=ws
bind=0.0.0.0
"""


def spec(**kw):
    v = dict(enabled=True)
    v.update(kw)
    return sf.validate(v)


# ---------------------------------------------------------------- validation
def test_not_given_or_disabled_is_off_and_defaults_fill_in():
    assert sf.validate(None) is None
    assert sf.validate({"enabled": False, "packets_per_second": 7}) is None
    s = spec()
    assert (s["packets_per_second"], s["burst"], s["new_connections_per_minute"], s["ban_seconds"]) == (50, 100, 60, 600)
    assert spec(exempt=["203.0.113.7", "2001:db8::/32", "10.0.0.0/255.0.0.0"])["exempt"] == [
        "203.0.113.7/32", "2001:db8::/32", "10.0.0.0/8"]


def test_every_bad_value_named_in_one_error():
    with pytest.raises(PolicyError) as e:
        spec(packets_per_second=0, burst=True, new_connections_per_minute=100001, ban_seconds="600",
             exempt=["198.18.0.0/33", "nohost"])
    msg = str(e.value)
    assert "sip_flood.packets_per_second: 0 is out of range 1-100000" in msg
    assert "sip_flood.burst: must be an integer 1-1000000" in msg
    assert "sip_flood.new_connections_per_minute: 100001 is out of range 1-100000" in msg
    assert "sip_flood.ban_seconds: must be an integer 10-604800" in msg
    assert "sip_flood.exempt[0]" in msg and "sip_flood.exempt[1]" in msg
    # checked even when off: a typo does not wait until the day it is switched on
    with pytest.raises(PolicyError, match=r"sip_flood\.ban_seconds: 5 is out of range"):
        sf.validate({"enabled": False, "ban_seconds": 5})
    with pytest.raises(PolicyError, match="unknown option"):
        sf.validate({"enabled": True, "rate": 5})


def test_web_access_validate_collects_its_errors_and_sip_floods():
    with pytest.raises(PolicyError) as e:
        wa.validate(dict(PARAMS, extra_ports=[0], sip_flood={"enabled": True, "burst": -1}))
    assert "extra_ports[0]" in str(e.value) and "sip_flood.burst: -1 is out of range" in str(e.value)


# ---------------------------------------------------------------- ports, exempt
def test_ports_of_the_pjsip_transports_and_iax_only():
    b = portplan.pjsip_bindings(PJSIP) + portplan.iax_bindings(b"[general]\nbindport=4570\n") + [
        portplan.Binding(portplan.HTTP, "tcp", 8088), portplan.Binding(portplan.TFTP, "udp", 69)]
    assert sf.covered_ports(b) == ([4570, 5060], [5061, 5070])


def test_exempt_collapsed_per_family_with_loopback_and_controller():
    v4, v6 = sf.exempt_networks(spec(exempt=["2001:db8::1", "198.18.0.128/25"]), "198.18.0.1",
                                ["198.18.0.0/24"])
    # 198.18.0.1 and .128/25 lie in the permitted /24: one interval element (nft refuses overlaps)
    assert v4 == ["127.0.0.0/8", "198.18.0.0/24"]
    assert v6 == ["::1/128", "2001:db8::1/128"]
    assert sf.exempt_networks(spec(), "::ffff:203.0.113.9")[0] == ["127.0.0.0/8", "203.0.113.9/32"]
    assert sf.exempt_networks(spec(), "fe80::1%eth0")[1] == ["::1/128", "fe80::1/128"]


# ---------------------------------------------------------------- rendering
def test_render_limits_bans_and_exempts_per_family():
    sets, jumps, chain = sf.render(spec(packets_per_second=20, burst=40, new_connections_per_minute=30,
                                        ban_seconds=900), [4569, 5060], [5061],
                                   ["127.0.0.0/8", "198.18.0.1/32"], ["::1/128"])
    assert "set sip_exempt4 {\n\t\ttype ipv4_addr; flags interval;\n\t\telements = { 127.0.0.0/8, 198.18.0.1/32 }" in sets
    assert "set sip_ban6 {\n\t\ttype ipv6_addr; size 65535; flags dynamic, timeout; timeout 900s;" in sets
    assert jumps == "\t\tudp dport { 4569, 5060 } jump sip_flood\n\t\ttcp dport { 5061 } jump sip_flood\n"
    lines = [ln.strip() for ln in chain.splitlines()]
    # exempt first, then the bans, then the limits that ban
    assert lines[1:7] == ['iif "lo" return', "ip saddr @sip_exempt4 return", "ip6 saddr @sip_exempt6 return",
                          "ip saddr @sip_ban4 counter drop", "ip6 saddr @sip_ban6 counter drop",
                          "meta nfproto ipv4 meta l4proto tcp ct state new update @sip_new4 { ip saddr limit rate "
                          "over 30/minute burst 30 packets } add @sip_ban4 { ip saddr } counter drop"]
    assert ("meta nfproto ipv6 update @sip_pkt6 { ip6 saddr limit rate over 20/second burst 40 packets } "
            "add @sip_ban6 { ip6 saddr } counter drop") in lines
    assert sf.render(None, [5060], [], [], []) == ("", "", "")
    assert sf.render(spec(), [], [], ["127.0.0.0/8"], ["::1/128"])[1] == ""  # no port: nothing jumps


def test_off_renders_the_table_as_before_and_on_changes_the_tag():
    before = wa.render("permitted", ["198.18.0.0/24"], [8088])
    assert wa.render("permitted", ["198.18.0.0/24"], [8088], sf.render(None, [5060], [], [], [])) == before
    parts = sf.render(spec(), [5060], [], ["127.0.0.0/8"], ["::1/128"])
    data, tag = wa.render("permitted", ["198.18.0.0/24"], [8088], parts)
    assert tag != before[1] and b"chain sip_flood {" in data and b"jump sip_flood" in data
    assert data.index(b"set sip_ban4") < data.index(b"chain input") < data.index(b"chain sip_flood")
    other = wa.render("permitted", ["198.18.0.0/24"], [8088], sf.render(spec(ban_seconds=60), [5060], [],
                                                                        ["127.0.0.0/8"], ["::1/128"]))
    assert other[1] != tag
    assert sf.summary(spec(), [5060], [5061]) == (
        "sip_flood: 5060/udp, 5061/tcp per source over 50 packets/s (burst 100) or 60 new connections/min "
        "banned for 600 s")


# ---------------------------------------------------------------- the planner
@pytest.fixture()
def sip_ports(monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "198.18.0.1 40000 198.18.0.11 22")
    monkeypatch.setattr(portplan, "collect_live", lambda host, states=None: [
        portplan.Binding(portplan.HTTP, "tcp", 8088), portplan.Binding(portplan.PJSIP, "udp", 5060),
        portplan.Binding(portplan.IAX, "udp", 4569)])


def flood_run(disk, live, flood, **kw):
    import ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_web_access as twa
    old = twa.PARAMS
    twa.PARAMS = dict(old, sip_flood=flood)
    try:
        return run(disk, live=live, **kw)
    finally:
        twa.PARAMS = old


def test_planner_renders_the_controller_exempt_and_ignores_live_bans(sip_ports):
    disk = FakeDisk({wa.NFT_CONF: (CONF, "root", "root", 0o755)})
    r = flood_run(disk, None, {"enabled": True, "exempt": ["203.0.113.10"]})
    assert not r.failed, r.result
    f = r.result["sip_flood"]
    assert f == {"enabled": True, "udp_ports": [4569, 5060], "tcp_ports": [],
                 "exempt": ["127.0.0.0/8", "198.18.0.0/24", "203.0.113.10/32", "::1/128"]}
    assert r.result["summary"].endswith("; sip_flood: 4569/udp, 5060/udp per source over 50 packets/s "
                                        "(burst 100) banned for 600 s")
    rules = disk.read(wa.RULES_FILE)
    assert b"udp dport { 4569, 5060 } jump sip_flood" in rules
    # the loaded table now holds bans and meter state: the next run is no change
    live = r.host.live.replace("timeout 600s;\n", "timeout 600s;\n\t\telements = { 198.19.0.2 expires 9m58s }\n", 1)
    assert live != r.host.live
    again = flood_run(disk, live, {"enabled": True, "exempt": ["203.0.113.10"]})
    assert not again.failed and again.result["changed"] is False and again.result["loaded"] is False


def test_planner_refuses_a_bad_value_before_any_io(sip_ports):
    disk = FakeDisk({wa.NFT_CONF: (CONF, "root", "root", 0o755)})
    r = flood_run(disk, None, {"enabled": True, "packets_per_second": 0})
    assert r.failed and "sip_flood.packets_per_second: 0 is out of range 1-100000" in r.result["msg"]
    assert disk.files == {wa.NFT_CONF: (CONF, "root", "root", 0o755)}
    assert not [e for e in disk.log if e[0] in ("run", "write", "check")]
