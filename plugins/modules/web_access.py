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
  - The script is checked with C(nft -c -f) before it is written and loaded with C(nft -f)
    (atomically replacing the table). It persists as C(/etc/nftables.d/pbxguard.nft), included
    from C(/etc/nftables.conf), with C(nftables.service) enabled, so the table survives a reboot.
  - B(Lockout protection.) When the controller is connected over SSH, a rule set that would not
    allow the controller's address (C(SSH_CONNECTION)) is refused with no change unless O(force).
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Renders and checks the rules (C(nft -c)) and predicts the change; loads and writes nothing.
  diff_mode:
    support: full
    description: Before/after text of the rules file.
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

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pbxguard.asterisk.plugins.module_utils._module import refuse_bad_bytes

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _files as files
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _host_service as hs
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _web_access as wa
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import version_gate
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError

SERVICE_OWNERS = {"web": (portplan.HTTP, portplan.WEB_REDIRECT), "ami": (portplan.AMI,), "ssh": (portplan.SSH,)}


def _write(module, path, data):
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.makedirs(d, 0o755)
    files.write_atomic(module, path, data, owner="root", group="root", mode=0o644)


def main():
    refuse_bad_bytes()
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type="str", required=True, choices=["local", "permitted", "unrestricted"]),
            permitted=dict(type="list", elements="str", default=[]),
            services=dict(type="list", elements="str", choices=["web", "ami", "ssh"], default=["web"]),
            extra_ports=dict(type="list", elements="int", default=[]),
            force=dict(type="bool", default=False),
            min_asterisk_version=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    try:
        w = wa.validate(module.params)
    except PolicyError as e:
        module.fail_json(msg=str(e))
    result = dict(changed=False, loaded=False)
    version = version_gate(module, module.params["min_asterisk_version"])
    if version:
        result["asterisk_version"] = version
    with files.HostLock():
        bindings = portplan.collect_live(module)
        owners = set(o for s in w["services"] for o in SERVICE_OWNERS[s])
        ports = sorted(set([b.port for b in bindings if b.service in owners and b.proto == "tcp"] + w["extra_ports"]))
        if w["mode"] == "local":
            _rc, out, _e = module.run_command(["ip", "-j", "addr"], check_rc=True)
            nets = wa.local_networks(out)
        elif w["mode"] == "permitted":
            nets = w["permitted"]
        else:
            nets = []
        result.update(ports=ports, allowed=nets)
        conn = hs.ssh_connection()
        if conn and w["mode"] != "unrestricted" and ports and not wa.allowed(conn[0], nets) and not w["force"]:
            module.fail_json(msg="refused: the controller is connected from %s, which these rules do not allow "
                                 "(allowed: %s); it would be locked out of tcp %s. Add it to permitted or set "
                                 "force: true." % (conn[0], ", ".join(nets) or "nothing",
                                                   ", ".join(str(p) for p in ports)), **result)
        data, tag = wa.render(w["mode"], nets, ports)
        # validate the script before anything is written
        tmp = os.path.join(module.tmpdir, "pbxguard.nft")
        with open(tmp, "wb") as f:
            f.write(data)
        rc, out, err = module.run_command(["nft", "-c", "-f", tmp])
        if rc != 0:
            module.fail_json(msg="nft -c refused the rules (nothing was changed): %s" % (out + err).strip(), **result)
        old = files.read_bytes(wa.RULES_FILE)
        conf_old = files.read_bytes(wa.NFT_CONF)
        conf_new = wa.plan_nft_conf((conf_old or b"").decode("utf-8", "replace")).encode()
        rc, live, _e = module.run_command(["nft", "list", "table", "inet", wa.TABLE])
        live_ok = rc == 0 and tag in live
        _rc, en, _e = module.run_command(["systemctl", "is-enabled", "nftables.service"])
        service_ok = en.strip() == "enabled"
        result["changed"] = old != data or conf_old != conf_new or not live_ok or not service_ok
        if module._diff and old != data:
            result["diff"] = dict(before_header=wa.RULES_FILE, after_header=wa.RULES_FILE,
                                  before=(old or b"").decode("utf-8", "replace"), after=data.decode())
        if result["changed"] and not module.check_mode:
            if old != data:
                _write(module, wa.RULES_FILE, data)
            if conf_old != conf_new:
                _write(module, wa.NFT_CONF + ".pbxguard-check", conf_new)
                rc, out, err = module.run_command(["nft", "-c", "-f", wa.NFT_CONF + ".pbxguard-check"])
                os.unlink(wa.NFT_CONF + ".pbxguard-check")
                if rc != 0:
                    module.fail_json(msg="nft -c refused %s with the include added: %s" % (wa.NFT_CONF, (out + err).strip()),
                                     **result)
                _write(module, wa.NFT_CONF, conf_new)
                os.chmod(wa.NFT_CONF, 0o755)
            rc, out, err = module.run_command(["nft", "-f", wa.RULES_FILE])
            if rc != 0:
                module.fail_json(msg="nft -f %s failed: %s" % (wa.RULES_FILE, (out + err).strip()), **result)
            result["loaded"] = True
            if not service_ok:
                module.run_command(["systemctl", "enable", "nftables.service"], check_rc=True)
            rc, live, _e = module.run_command(["nft", "list", "table", "inet", wa.TABLE])
            if rc != 0 or tag not in live:
                module.fail_json(msg="the loaded table inet %s does not carry the new rules" % wa.TABLE, **result)
    if w["mode"] == "unrestricted" or not ports:
        result["summary"] = "web_access: unrestricted (tcp %s open to everyone)" % (", ".join(str(p) for p in ports) or "-")
    else:
        result["summary"] = "web_access: %s, tcp %s only from %s" % (
            w["mode"], ", ".join(str(p) for p in ports), ", ".join(nets))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
