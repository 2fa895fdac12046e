# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Web access control as an nftables table owned by this collection
(``table inet pbxguard``): render (pure) -> ``nft -c`` -> write -> ``nft -f``
-> verify. Persisted as /etc/nftables.d/pbxguard.nft, included from
/etc/nftables.conf, nftables.service enabled."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import ipaddress
import json

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy

TABLE = "pbxguard"
RULES_FILE = "/etc/nftables.d/pbxguard.nft"
NFT_CONF = "/etc/nftables.conf"
INCLUDE_LINE = 'include "/etc/nftables.d/*.nft"'


def validate(params):
    errors = []
    mode = params["mode"]
    nets = []
    for i, n in enumerate(params.get("permitted") or []):
        try:
            nets.append(policy.parse_network(n, "permitted[%d]" % i))
        except policy.PolicyError as e:
            errors.append(str(e))
    if mode == "permitted" and not (params.get("permitted") or []):
        errors.append("permitted: at least one network is needed when mode is permitted")
    if mode != "permitted" and params.get("permitted"):
        errors.append("permitted: only meaningful with mode: permitted")
    extra = []
    for i, p in enumerate(params.get("extra_ports") or []):
        try:
            extra.append(policy.check_port(p, "extra_ports[%d]" % i, reserved=()))
        except policy.PolicyError as e:
            errors.append(str(e))
    if errors:
        raise policy.PolicyError("\n".join(errors))
    return {"mode": mode, "permitted": nets, "services": list(params.get("services") or ["web"]),
            "extra_ports": extra, "force": bool(params.get("force"))}


def local_networks(ip_json):
    """Connected networks of the host from ``ip -j addr`` output (loopback included)."""
    nets = []
    for link in json.loads(ip_json or "[]"):
        for a in link.get("addr_info", []):
            if a.get("scope") == "link" and a.get("family") == "inet6":
                continue
            try:
                n = str(ipaddress.ip_network("%s/%s" % (a["local"], a["prefixlen"]), strict=False))
            except (KeyError, ValueError):
                continue
            if n not in nets:
                nets.append(n)
    return nets


def allowed(address, networks):
    a = ipaddress.ip_address(address)
    return any(a in ipaddress.ip_network(n) for n in networks)


def render(mode, networks, ports):
    """Pure: the nft script that (re)defines ``table inet pbxguard``. Loading
    it replaces the table atomically (declare, delete, define)."""
    ports = sorted(set(ports))
    v4 = [n for n in networks if ipaddress.ip_network(n).version == 4]
    v6 = [n for n in networks if ipaddress.ip_network(n).version == 6]
    body = []
    if mode != "unrestricted" and ports:
        body.append("\tset allowed4 {\n\t\ttype ipv4_addr; flags interval;\n%s\t}\n"
                    % ("\t\telements = { %s }\n" % ", ".join(v4) if v4 else ""))
        body.append("\tset allowed6 {\n\t\ttype ipv6_addr; flags interval;\n%s\t}\n"
                    % ("\t\telements = { %s }\n" % ", ".join(v6) if v6 else ""))
    chain = ["\tchain input {\n", "\t\ttype filter hook input priority filter - 10; policy accept;\n"]
    if mode != "unrestricted" and ports:
        plist = ", ".join(str(p) for p in ports)
        chain.append('\t\tiif "lo" accept\n')
        chain.append("\t\ttcp dport { %s } ip saddr @allowed4 accept\n" % plist)
        chain.append("\t\ttcp dport { %s } ip6 saddr @allowed6 accept\n" % plist)
        chain.append("\t\ttcp dport { %s } drop\n" % plist)
    chain.append("\t}\n")
    text = "".join(body) + "".join(chain)
    digest = hashlib.sha256(("%s|%s|%s" % (mode, networks, ports)).encode()).hexdigest()[:16]
    return ("# managed by pbxguard.asterisk (web_access): changes made here are overwritten\n"
            "table inet %s {}\ndelete table inet %s\n"
            "table inet %s {\n\tcomment \"pbxguard web_access %s mode=%s\"\n%s}\n"
            % (TABLE, TABLE, TABLE, digest, mode, text)).encode(), digest


def plan_nft_conf(text):
    """nftables.conf with the include of /etc/nftables.d/*.nft appended (once)."""
    text = text or "#!/usr/sbin/nft -f\n"
    if any(line.strip() == INCLUDE_LINE for line in text.splitlines()):
        return text
    if not text.endswith("\n"):
        text += "\n"
    return text + "\n# added by pbxguard.asterisk (web_access)\n" + INCLUDE_LINE + "\n"
