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

from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run
from ansible_collections.pbxguard.asterisk.plugins.module_utils._web_access import WebAccessChange


def main():
    run(WebAccessChange(), dict(
        mode=dict(type="str", required=True, choices=["local", "permitted", "unrestricted"]),
        permitted=dict(type="list", elements="str", default=[]),
        services=dict(type="list", elements="str", choices=["web", "ami", "ssh"], default=["web"]),
        extra_ports=dict(type="list", elements="int", default=[]),
        force=dict(type="bool", default=False),
        min_asterisk_version=dict(type="int"),
    ))


if __name__ == "__main__":
    main()
