# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Web access control as an nftables table owned by this collection
(``table inet pbxguard``), as a change of the one transaction: render (pure)
-> ``nft -c`` of both candidates -> write -> ``nft -f`` -> enable
nftables.service -> verify the loaded table's tag; on any failure both
files are put back and the table that was live before is loaded again.
Persisted as /etc/nftables.d/pbxguard.nft, included from /etc/nftables.conf."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import ipaddress
import json

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sip_flood as sip_flood
from ansible_collections.pbxguard.asterisk.plugins.module_utils._host_service import ssh_connection
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import (
    Change, ChangeError, File, Plan)

TABLE = "pbxguard"
RULES_FILE = "/etc/nftables.d/pbxguard.nft"
NFT_CONF = "/etc/nftables.conf"
INCLUDE_LINE = 'include "/etc/nftables.d/*.nft"'
NFT_CHECK = ["nft", "-c", "-f", "{}"]
SERVICE = "nftables.service"
SERVICE_OWNERS = {"web": (portplan.HTTP, portplan.WEB_REDIRECT), "ami": (portplan.AMI,), "ssh": (portplan.SSH,)}


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
    flood = None
    try:
        flood = sip_flood.validate(params.get("sip_flood"))
    except policy.PolicyError as e:
        errors.append(str(e))
    if errors:
        raise policy.PolicyError("\n".join(errors))
    return {"mode": mode, "permitted": nets, "services": list(params.get("services") or ["web"]),
            "extra_ports": extra, "force": bool(params.get("force")), "sip_flood": flood}


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


def render(mode, networks, ports, flood=("", "", "")):
    """Pure: the nft script that (re)defines ``table inet pbxguard``. Loading
    it replaces the table atomically (declare, delete, define). ``flood``:
    _sip_flood.render's (sets, jumps, chain); the tag covers it when given,
    and is the same as before without it."""
    flood_sets, flood_jumps, flood_chain = flood
    ports = sorted(set(ports))
    v4 = [n for n in networks if ipaddress.ip_network(n).version == 4]
    v6 = [n for n in networks if ipaddress.ip_network(n).version == 6]
    body = []
    if mode != "unrestricted" and ports:
        body.append("\tset allowed4 {\n\t\ttype ipv4_addr; flags interval;\n%s\t}\n"
                    % ("\t\telements = { %s }\n" % ", ".join(v4) if v4 else ""))
        body.append("\tset allowed6 {\n\t\ttype ipv6_addr; flags interval;\n%s\t}\n"
                    % ("\t\telements = { %s }\n" % ", ".join(v6) if v6 else ""))
    body.append(flood_sets)
    chain = ["\tchain input {\n", "\t\ttype filter hook input priority filter - 10; policy accept;\n", flood_jumps]
    if mode != "unrestricted" and ports:
        plist = ", ".join(str(p) for p in ports)
        chain.append('\t\tiif "lo" accept\n')
        chain.append("\t\ttcp dport { %s } ip saddr @allowed4 accept\n" % plist)
        chain.append("\t\ttcp dport { %s } ip6 saddr @allowed6 accept\n" % plist)
        chain.append("\t\ttcp dport { %s } drop\n" % plist)
    chain.append("\t}\n")
    chain.append(flood_chain)
    text = "".join(body) + "".join(chain)
    key = "%s|%s|%s" % (mode, networks, ports)
    if any(flood):
        key += "|" + "".join(flood)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
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


def replace_script(listing):
    """Pure: an nft script that replaces our table with ``listing`` (the
    output of ``nft list table inet pbxguard``) in one transaction."""
    return "table inet %s {}\ndelete table inet %s\n%s" % (TABLE, TABLE, listing)


def summary(mode, nets, ports):
    if mode == "unrestricted" or not ports:
        return "web_access: unrestricted (tcp %s open to everyone)" % (", ".join(str(p) for p in ports) or "-")
    return "web_access: %s, tcp %s only from %s" % (mode, ", ".join(str(p) for p in ports), ", ".join(nets))


def _nft(host, args, data=None):
    kw = {} if data is None else dict(data=data, binary_data=True)
    rc, out, err = host.run_command(["nft"] + args, **kw)
    return rc, ((out or "") + (err or "")).strip()


class WebAccessChange(Change):
    """The rules file and nftables.conf, ``nft -f``, nftables.service enabled,
    the loaded table read back; the previous table reloaded on failure."""

    name = "web_access"
    daemon = "nft"

    def validate(self, params):
        return validate(params)

    def plan(self, host, spec):
        w = spec
        owners = set(o for s in w["services"] for o in SERVICE_OWNERS[s])
        bindings = portplan.collect_live(host)
        ports = sorted(set([b.port for b in bindings
                            if b.service in owners and b.proto == "tcp"] + w["extra_ports"]))
        if w["mode"] == "local":
            rc, out, err = host.run_command(["ip", "-j", "addr"])
            if rc != 0:
                raise ChangeError("ip -j addr failed: %s" % ((out or "") + (err or "")).strip())
            nets = local_networks(out)
        elif w["mode"] == "permitted":
            nets = w["permitted"]
        else:
            nets = []
        conn = ssh_connection()
        flood = w["sip_flood"]
        udp, tcp = sip_flood.covered_ports(bindings)
        exempt4, exempt6 = sip_flood.exempt_networks(
            flood, conn[0] if conn else None, w["permitted"] if w["mode"] == "permitted" else ()) \
            if flood else ([], [])
        if conn and w["mode"] != "unrestricted" and ports and not allowed(conn[0], nets) and not w["force"]:
            raise policy.PolicyError(
                "refused: the controller is connected from %s, which these rules do not allow "
                "(allowed: %s); it would be locked out of tcp %s. Add it to permitted or set "
                "force: true." % (conn[0], ", ".join(nets) or "nothing", ", ".join(str(p) for p in ports)))
        data, tag = render(w["mode"], nets, ports, sip_flood.render(flood, udp, tcp, exempt4, exempt6))
        old = host.read(RULES_FILE)
        conf_old = host.read(NFT_CONF)
        conf_new = plan_nft_conf((conf_old or b"").decode("utf-8", "replace")).encode()
        rc, live_before, _e = host.run_command(["nft", "list", "table", "inet", TABLE])
        live_before = live_before if rc == 0 else None
        live_ok = live_before is not None and tag in live_before
        _rc, enabled_before, _e = host.run_command(["systemctl", "is-enabled", SERVICE])
        enabled_before = enabled_before.strip()
        service_ok = enabled_before == "enabled"
        # both candidates pass nft -c before anything is written; nftables.conf
        # is checked with its include line, as nftables.service will load it
        rules = File(RULES_FILE, old, data, owner="root", group="root", mode=0o644, make_dirs=0o755,
                     check=NFT_CHECK)
        conf = File(NFT_CONF, conf_old, conf_new, owner="root", group="root", mode=0o755, check=NFT_CHECK)
        result = dict(loaded=False, ports=ports, allowed=nets,
                      summary=summary(w["mode"], nets, ports) + ("; " + sip_flood.summary(flood, udp, tcp) if flood else ""),
                      sip_flood=dict(enabled=flood is not None, udp_ports=udp if flood else [],
                                     tcp_ports=tcp if flood else [], exempt=exempt4 + exempt6))

        def apply(h):
            rc, said = _nft(h, ["-f", RULES_FILE])
            if rc != 0:
                raise ChangeError("nft -f %s failed: %s" % (RULES_FILE, said))
            if not service_ok:
                rc, out, err = h.run_command(["systemctl", "enable", SERVICE])
                if rc != 0:
                    raise ChangeError("systemctl enable %s failed: %s"
                                      % (SERVICE, ((out or "") + (err or "")).strip()))
            return dict(loaded=True)

        def verify(h):
            rc, live, _e = h.run_command(["nft", "list", "table", "inet", TABLE])
            if rc != 0 or tag not in live:
                return ["the loaded table inet %s does not carry the new rules" % TABLE]
            return []

        def revert(h):
            # the files are back; now the table that was live before this run
            if live_before is None:
                _nft(h, ["delete", "table", "inet", TABLE])
            else:
                _nft(h, ["-f", "-"], replace_script(live_before).encode())
            if not service_ok and enabled_before == "disabled":
                h.run_command(["systemctl", "disable", SERVICE])

        return Plan(result, [rules, conf], changed=not live_ok or not service_ok, apply=apply,
                    verify=verify, revert=revert,
                    failure="nft did not take the new rules; the previous files and table were restored")
