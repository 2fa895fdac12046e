#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: web_access
short_description: Who may reach the PBX's web ports (and optionally AMI and SSH) - an nftables table owned by the module
version_added: 0.1.0
description:
  - Owns the nftables table C(inet pbxguard) and nothing else (other tables are never touched).
    Its input chain (priority C(filter - 10)) drops TCP to the covered ports from every source
    outside the allowed networks; loopback is always allowed.
  - The covered ports are read from the live config files through the port plan. C(web) covers
    every listener of Asterisk's HTTP server (http.conf), which also serves ARI and AMI over HTTP,
    and port 80 of the redirector of M(pbxguard.asterisk.web) (O(pbxguard.asterisk.web#module:redirect_http)).
    C(ami) covers manager.conf's ports, and C(ssh) covers every sshd C(Port).
  - V(local) allows the host's own connected networks (from C(ip -j addr) at run time; run again after
    an address change). V(permitted) allows O(permitted), and V(unrestricted) keeps the table but
    filters nothing.
  - The script, and C(/etc/nftables.conf) with its include line, are checked with C(nft -c -f)
    before anything is written; the script is loaded with C(nft -f) (atomically replacing the table).
    When loading, enabling C(nftables.service) or the read-back of the loaded table fails, both files
    are put back byte for byte and the table that was live before is loaded again. It persists as C(/etc/nftables.d/pbxguard.nft), included
    from C(/etc/nftables.conf), with C(nftables.service) enabled, so the table survives a reboot.
  - B(Lockout protection.) When the controller is connected over SSH, a rule set that would not
    allow the controller's address (C(SSH_CONNECTION)) is refused with no change unless O(force).
  - B(SIP flood defence) (O(sip_flood), off by default). In the same table, per source address (IPv4
    and IPv6), a packet rate on every SIP and IAX port and a new-connection rate on the SIP TCP/TLS
    ports. A source over either limit goes into the ban set C(sip_ban4)/C(sip_ban6) for
    O(sip_flood.ban_seconds), and its packets to those ports are dropped until then. The ports are
    read from the live config through the port plan (pjsip transports of protocol udp, tcp and tls,
    and iax.conf's port). Never limited are loopback, the controller's address (C(SSH_CONNECTION)), the
    O(permitted) networks when O(mode=permitted), and O(sip_flood.exempt).
  - The bans and the meters are dynamic set elements, not part of the rendered rules or
    the content tag, so a run while sources are banned is no change; a run that changes the rules
    reloads the table, which drops the bans. C(nft flush set inet pbxguard sip_ban4) lifts them by hand.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Renders the rules and predicts the change; checks (C(nft -c)), loads and writes nothing.
  diff_mode:
    support: full
    description: Before/after text of the rules file and of C(/etc/nftables.conf).
  safe_file_operations:
    support: full
    description: Temp file in the same directory, then C(atomic_move); the live table is replaced in one nft transaction.
  idempotent:
    support: full
    description: Unchanged when the file is the same and the loaded table carries the same content tag.
extends_documentation_fragment:
  - pbxguard.asterisk.asterisk_version
options:
  mode:
    description: V(local), V(permitted) or V(unrestricted).
    type: str
    required: true
    choices: [local, permitted, unrestricted]
  permitted:
    description: Allowed sources for V(permitted). IP, IP/prefix or IP/netmask, IPv4 or IPv6.
    type: list
    elements: str
    default: []
  services:
    description: Which listeners to cover. C(web) is the HTTP server (web UI, ARI, AMI over HTTP).
    type: list
    elements: str
    choices: [web, ami, ssh]
    default: [web]
  extra_ports:
    description: More TCP ports to cover (for example a port the HTTP server does not have yet).
    type: list
    elements: int
    default: []
  force:
    description: Apply even if the rules would exclude the address the controller is connected from.
    type: bool
    default: false
  sip_flood:
    description:
      - Per source rate limits on the SIP and IAX ports; a source over a limit is dropped on those
        ports for O(sip_flood.ban_seconds). Not given or O(sip_flood.enabled=false) renders nothing
        (the table is what it was without the option).
      - IAX2 carries its audio on its signalling port (about 50 packets per second per call with
        20 ms frames), so IAX trunks and peers that carry calls belong in O(sip_flood.exempt).
    type: dict
    suboptions:
      enabled:
        description: Switch the flood defence on.
        type: bool
        default: false
      packets_per_second:
        description: Packets per second per source to the covered ports before it is banned (1-100000).
        type: int
        default: 50
      burst:
        description: Packets a source may send at once above the rate (1-1000000).
        type: int
        default: 100
      new_connections_per_minute:
        description:
          - New TCP connections (SIP over TCP and TLS) per minute per source (1-100000); as many may
            come at once.
        type: int
        default: 60
      ban_seconds:
        description: How long a source over a limit is dropped on the covered ports (10-604800).
        type: int
        default: 600
      exempt:
        description: More sources never limited (trunks, IAX peers). IP, IP/prefix or IP/netmask, IPv4 or IPv6.
        type: list
        elements: str
        default: []
notes:
  - Proven in the lab across a reboot of the host (its systemd stopped and booted again over the same
    disk). The table is loaded by C(nftables.service) at boot and filters as before.
"""

EXAMPLES = r"""
- name: Web and AMI ports only from the admin network and one jump host
  pbxguard.asterisk.web_access:
    mode: permitted
    permitted: [198.18.0.0/24, 203.0.113.7]
    services: [web, ami]

- name: Only the PBX's own networks
  pbxguard.asterisk.web_access:
    mode: local

- name: Web ports from the admin network; SIP floods cut, the carrier never limited
  pbxguard.asterisk.web_access:
    mode: permitted
    permitted: [198.18.0.0/24]
    sip_flood:
      enabled: true
      exempt: [203.0.113.10]
"""

RETURN = r"""
ports:
  description: TCP ports covered.
  returned: always
  type: list
  elements: int
  sample: [8088]
allowed:
  description: Source networks allowed (empty for unrestricted).
  returned: always
  type: list
  elements: str
loaded:
  description: Whether the table was (re)loaded by this run.
  returned: always
  type: bool
sip_flood:
  description: The flood defence as rendered.
  returned: always
  type: dict
  contains:
    enabled:
      description: Whether it is on.
      type: bool
    udp_ports:
      description: UDP ports limited (SIP over UDP, IAX).
      type: list
      elements: int
      sample: [4569, 5060]
    tcp_ports:
      description: TCP ports limited (SIP over TCP and TLS).
      type: list
      elements: int
      sample: [5061]
    exempt:
      description: Sources never limited (collapsed networks, loopback and the controller included).
      type: list
      elements: str
      sample: [127.0.0.0/8, 198.18.0.0/24, "::1/128"]
summary:
  description: One line saying what now holds.
  returned: always
  type: str
  sample: "web_access: permitted, tcp 8088 only from 198.18.60.1/32"
asterisk_version:
  description: The Asterisk version found by O(min_asterisk_version).
  returned: when O(min_asterisk_version) is given
  type: str
  sample: 22.10.1+dfsg+~cs6.17.60671434-1
"""

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run
from ansible_collections.pbxguard.asterisk.plugins.module_utils._web_access import WebAccessChange


def main():
    run(WebAccessChange(), dict(
        mode=dict(type="str", required=True, choices=["local", "permitted", "unrestricted"]),
        permitted=dict(type="list", elements="str", default=[]),
        services=dict(type="list", elements="str", choices=["web", "ami", "ssh"], default=["web"]),
        extra_ports=dict(type="list", elements="int", default=[]),
        force=dict(type="bool", default=False),
        sip_flood=dict(type="dict", options=dict(
            enabled=dict(type="bool", default=False),
            packets_per_second=dict(type="int", default=50),
            burst=dict(type="int", default=100),
            new_connections_per_minute=dict(type="int", default=60),
            ban_seconds=dict(type="int", default=600),
            exempt=dict(type="list", elements="str", default=[]),
        )),
        min_asterisk_version=dict(type="int"),
    ))


if __name__ == "__main__":
    main()
