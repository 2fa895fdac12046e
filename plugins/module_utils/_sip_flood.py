# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SIP/IAX flood defence inside ``table inet pbxguard`` (web_access's table).

Per source address (IPv4 and IPv6), on the SIP and IAX ports read from the
live config through the port plan: a packet rate (every covered port) and a
new-connection rate (the TCP/TLS ports). A source over either limit is added
to a ban set with a timeout and its packets to those ports are dropped until
the element expires. Loopback, the controller's address, the permitted
networks (mode permitted) and ``exempt`` never meet the limits.

Pure: validation and rendering; _web_access does the I/O. The rendered text
never contains the dynamic elements (bans, meters): the content tag is taken
from what is rendered, so a run after a ban is not a change."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan

OPTION = "sip_flood"
DEFAULTS = {"enabled": False, "packets_per_second": 50, "burst": 100, "new_connections_per_minute": 60,
            "ban_seconds": 600, "exempt": []}
BOUNDS = {"packets_per_second": (1, 100000), "burst": (1, 1000000),
          "new_connections_per_minute": (1, 100000), "ban_seconds": (10, 604800)}
LOOPBACK = ("127.0.0.0/8", "::1/128")
SET_SIZE = 65535
PACKET_METER_SECONDS = 60   # a per-second bucket refills long before its element expires
CONNECTION_METER_SECONDS = 120  # a per-minute bucket needs its state for a minute
CHAIN = "sip_flood"


def validate(value):
    """The option's dict (None: not given) -> spec dict, or None when off.
    Raises PolicyError listing every bad value, each naming its option."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise policy.PolicyError("%s: must be a dict" % OPTION)
    spec = dict(DEFAULTS)
    spec.update(dict((k, v) for k, v in value.items() if v is not None))
    errors = []
    unknown = sorted(set(spec) - set(DEFAULTS))
    if unknown:
        errors.append("%s: unknown option(s) %s" % (OPTION, ", ".join(unknown)))
    if not isinstance(spec["enabled"], bool):
        errors.append("%s.enabled: must be true or false" % OPTION)
    for key in sorted(BOUNDS):
        low, high = BOUNDS[key]
        v = spec[key]
        if isinstance(v, bool) or not isinstance(v, int):
            errors.append("%s.%s: must be an integer %d-%d" % (OPTION, key, low, high))
        elif not low <= v <= high:
            errors.append("%s.%s: %d is out of range %d-%d" % (OPTION, key, v, low, high))
    nets = []
    exempt = spec["exempt"]
    if not isinstance(exempt, list):
        errors.append("%s.exempt: must be a list of networks" % OPTION)
        exempt = []
    for i, n in enumerate(exempt):
        try:
            nets.append(policy.parse_network(n, "%s.exempt[%d]" % (OPTION, i)))
        except policy.PolicyError as e:
            errors.append(str(e))
    if errors:
        raise policy.PolicyError("\n".join(errors))
    if not spec["enabled"]:
        return None
    spec["exempt"] = nets
    return spec


def covered_ports(bindings):
    """Pure: (udp ports, tcp ports) of the PJSIP transports (udp, tcp, tls)
    and IAX among the port plan's bindings."""
    udp = sorted(set(b.port for b in bindings if b.service in (portplan.PJSIP, portplan.IAX) and b.proto == "udp"))
    tcp = sorted(set(b.port for b in bindings if b.service == portplan.PJSIP and b.proto == "tcp"))
    return udp, tcp


def _network(text):
    a = ipaddress.ip_network(text, strict=False)
    if a.version == 6 and a.prefixlen == 128 and a.network_address.ipv4_mapped:
        return ipaddress.ip_network(a.network_address.ipv4_mapped)
    return a


def exempt_networks(spec, controller=None, permitted=()):
    """Pure: the exempt networks, collapsed per family (an interval set
    refuses overlapping elements): loopback, the controller's address, the
    permitted networks and ``exempt``. -> (v4 list, v6 list) of text."""
    nets = [_network(n) for n in LOOPBACK]
    if controller:
        try:
            nets.append(_network(controller.split("%", 1)[0]))
        except ValueError:
            pass
    nets.extend(_network(n) for n in list(permitted) + list(spec["exempt"]))
    v4 = [str(n) for n in ipaddress.collapse_addresses([n for n in nets if n.version == 4])]
    v6 = [str(n) for n in ipaddress.collapse_addresses([n for n in nets if n.version == 6])]
    return v4, v6


def _set(name, family, elements=None, timeout=None):
    if timeout is None:
        return ("\tset %s {\n\t\ttype %s_addr; flags interval;\n\t\telements = { %s }\n\t}\n"
                % (name, family, ", ".join(elements)))
    return ("\tset %s {\n\t\ttype %s_addr; size %d; flags dynamic, timeout; timeout %ds;\n\t}\n"
            % (name, family, SET_SIZE, timeout))


def render(spec, udp, tcp, exempt4, exempt6):
    """Pure: (sets, jump rules for chain input, the sip_flood chain) as nft
    text for inside ``table inet pbxguard``. Empty strings when off."""
    if spec is None:
        return "", "", ""
    sets = [_set("sip_exempt4", "ipv4", exempt4), _set("sip_exempt6", "ipv6", exempt6)]
    for fam, ip in (("4", "ipv4"), ("6", "ipv6")):
        sets.append(_set("sip_ban" + fam, ip, timeout=spec["ban_seconds"]))
        sets.append(_set("sip_pkt" + fam, ip, timeout=PACKET_METER_SECONDS))
        sets.append(_set("sip_new" + fam, ip, timeout=CONNECTION_METER_SECONDS))
    jumps = []
    if udp:
        jumps.append("\t\tudp dport { %s } jump %s\n" % (", ".join(str(p) for p in udp), CHAIN))
    if tcp:
        jumps.append("\t\ttcp dport { %s } jump %s\n" % (", ".join(str(p) for p in tcp), CHAIN))
    conn = "limit rate over %d/minute burst %d packets" % (
        spec["new_connections_per_minute"], spec["new_connections_per_minute"])
    pkt = "limit rate over %d/second burst %d packets" % (spec["packets_per_second"], spec["burst"])
    chain = ["\tchain %s {\n" % CHAIN, '\t\tiif "lo" return\n',
             "\t\tip saddr @sip_exempt4 return\n", "\t\tip6 saddr @sip_exempt6 return\n",
             "\t\tip saddr @sip_ban4 counter drop\n", "\t\tip6 saddr @sip_ban6 counter drop\n"]
    # the set statements' keys carry no implicit family match: meta nfproto says it
    fams = (("4", "ipv4", "ip saddr"), ("6", "ipv6", "ip6 saddr"))
    for fam, nfproto, key in fams:
        chain.append("\t\tmeta nfproto %s meta l4proto tcp ct state new update @sip_new%s { %s %s } "
                     "add @sip_ban%s { %s } counter drop\n" % (nfproto, fam, key, conn, fam, key))
    for fam, nfproto, key in fams:
        chain.append("\t\tmeta nfproto %s update @sip_pkt%s { %s %s } add @sip_ban%s { %s } counter drop\n"
                     % (nfproto, fam, key, pkt, fam, key))
    chain.append("\t}\n")
    return "".join(sets), "".join(jumps), "".join(chain)


def summary(spec, udp, tcp):
    if spec is None:
        return "sip_flood: off"
    if not udp and not tcp:
        return "sip_flood: on, but no SIP/IAX port found in the config"
    ports = ["%d/udp" % p for p in udp] + ["%d/tcp" % p for p in tcp]
    return ("sip_flood: %s per source over %d packets/s (burst %d)%s banned for %d s"
            % (", ".join(ports), spec["packets_per_second"], spec["burst"],
               " or %d new connections/min" % spec["new_connections_per_minute"] if tcp else "",
               spec["ban_seconds"]))
