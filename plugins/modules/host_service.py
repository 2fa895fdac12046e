#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_service
short_description: Switch SSH, FTP and TFTP on the PBX host on or off, set their ports, without locking anyone out
version_added: 0.1.0
description:
  - V(enabled) means the systemd unit(s) enabled and started, V(disabled) stopped and disabled
    (C(ssh.service); C(vsftpd.service); C(tftpd-hpa.socket) and C(tftpd-hpa.service)).
  - SSH ports are written as C(Port) lines of the drop-in C(/etc/ssh/sshd_config.d/10-pbxguard.conf),
    validated with C(sshd -t) before C(systemctl reload ssh); a rejected drop-in is restored.
    Every listening port is proven afterwards by reading its SSH banner on the host.
  - FTP (vsftpd) always gets C(anonymous_enable=NO); O(port) sets C(listen_port).
  - TFTP (tftpd-hpa) gets its root directory and listen address through systemd drop-ins.
  - Before anything changes, the port plan of the whole host (Asterisk HTTP, PJSIP transports,
    IAX, AMI, sshd, vsftpd, tftpd, read from their live config files) is checked with the
    service's new ports; a clash or a reserved port (8090) fails the task listing the clash.
  - B(Lockout protection.) When the controller is connected over SSH (C(SSH_CONNECTION) on the host),
    O(state=disabled) for ssh is refused unless O(force). Moving the SSH port is a two-step
    transition that never closes the port the controller is connected on before a connection on
    the new port is proven. The first run opens the new port next to the old one
    (RV(ssh_transition=pending)); the play then sets C(ansible_port) to the new port, resets the
    connection and runs the same task again. Arriving on the new port proves it, and the old port
    is closed (RV(ssh_transition=done)). O(force) does the move in one step.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Predicts the change (files and units) without writing, reloading or starting anything.
  diff_mode:
    support: full
    description: Before/after text of the files this module writes.
  safe_file_operations:
    support: full
    description: Temp file in the same directory, then C(atomic_move); sshd drop-in restored when C(sshd -t) fails.
  idempotent:
    support: full
    description: >-
      A second run with the same input reports no change. During an SSH port move, the second run
      (on the new port) closes the old port: that is the documented second step.
options:
  service:
    description: Which host service.
    type: str
    required: true
    choices: [ssh, ftp, tftp]
  state:
    description: V(enabled) (unit enabled and running) or V(disabled) (stopped and disabled).
    type: str
    choices: [enabled, disabled]
    default: enabled
  port:
    description:
      - TCP port for ssh (the seed PBX uses 8022) or ftp (C(listen_port), default 21 when never set).
      - Omitted means the current port is kept. 8090 is reserved. Not for tftp (69/udp).
    type: int
  address:
    description: Only for tftp, the address tftpd listens on (all addresses when omitted).
    type: str
  root_dir:
    description: Only for tftp, the directory served (must exist on the host).
    type: path
  force:
    description:
      - Allow disabling SSH while the controller is connected over SSH, and move the SSH port in
        one step (no proof of the new port first).
    type: bool
    default: false
notes:
  - A playbook that moves the SSH port runs the task, sets C(ansible_port), resets the connection
    and runs the task again; see the examples. The play finishes on the new port.
  - Port lines set outside the module's drop-in (in C(sshd_config) or another drop-in) cannot be
    closed by it; a port move that would leave them open fails and names the file.
seealso:
  - module: pbxguard.asterisk.web_access
"""

EXAMPLES = r"""
- name: Move SSH to 8022 without locking the controller out
  block:
    - name: Open 8022 next to the current port
      pbxguard.asterisk.host_service:
        service: ssh
        port: 8022
      register: ssh_move

    - name: Talk to the host on the new port from now on
      ansible.builtin.set_fact:
        ansible_port: 8022

    - name: Reconnect (the old control connection is on the old port)
      ansible.builtin.meta: reset_connection

    - name: Prove the new port and close the old one
      pbxguard.asterisk.host_service:
        service: ssh
        port: 8022

- name: FTP off
  pbxguard.asterisk.host_service:
    service: ftp
    state: disabled

- name: TFTP on one address, serving /srv/tftp
  pbxguard.asterisk.host_service:
    service: tftp
    address: 198.18.0.11
    root_dir: /srv/tftp
"""

RETURN = r"""
service:
  description: The service handled.
  returned: always
  type: str
enabled:
  description: Whether the service is enabled and running after the task.
  returned: always
  type: bool
ports:
  description: Ports the service listens on after the task (empty when disabled).
  returned: always
  type: list
  elements: int
  sample: [22, 8022]
ssh_transition:
  description:
    - V(pending) when the SSH port move is half done (old and new port open), so reconnect on the new
      port and run the task again. V(done) when this run closed the old port. null otherwise.
  returned: service is ssh
  type: str
units_changed:
  description: systemd units started/stopped/enabled/disabled by this run.
  returned: always
  type: list
  elements: str
port_plan:
  description: Every listener of the host after the change (service, name, proto, port, address, source).
  returned: always
  type: list
  elements: dict
summary:
  description: One line saying what now holds.
  returned: always
  type: str
  sample: "ssh listens on ports 22 and 8022; reconnect on 8022 (ansible_port=8022) and run this task again to close port 22"
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pbxguard.asterisk.plugins.module_utils._module import refuse_bad_bytes

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _files as files
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _host_service as hs
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError


def _write(module, path, data):
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.makedirs(d, 0o755)
    files.write_atomic(module, path, data, owner="root", group="root", mode=0o644)


def _restore(module, path, old):
    if old is None:
        if os.path.exists(path):
            os.unlink(path)
    else:
        _write(module, path, old)


def main():
    refuse_bad_bytes()
    module = AnsibleModule(
        argument_spec=dict(
            service=dict(type="str", required=True, choices=["ssh", "ftp", "tftp"]),
            state=dict(type="str", choices=["enabled", "disabled"], default="enabled"),
            port=dict(type="int"),
            address=dict(type="str"),
            root_dir=dict(type="path"),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    try:
        want = hs.validate(module.params)
    except PolicyError as e:
        module.fail_json(msg=str(e))
    svc = want["service"]
    connection = hs.ssh_connection()
    result = dict(changed=False, service=svc, enabled=want["enabled"], units_changed=[])
    with files.HostLock():
        # ---- plan: what the files become
        writes = []  # (path, old, new)
        ports = []
        if svc == "ssh":
            texts = portplan.sshd_texts(hs.SSHD_CONFIG)
            current, foreign = hs.sshd_port_sources(texts)
            try:
                sp = hs.plan_ssh(want, current, foreign, connection)
            except PolicyError as e:
                module.fail_json(msg=str(e), ports=current)
            if sp["ports"] is not None:
                old = files.read_bytes(hs.SSHD_DROPIN)
                writes.append((hs.SSHD_DROPIN, old, hs.render_sshd_dropin(sp["ports"])))
                ports = sp["ports"]
            else:
                ports = current
            result["ssh_transition"] = sp["transition"]
            result["summary"] = sp["message"]
        elif svc == "ftp":
            old = files.read_bytes(hs.VSFTPD_CONF)
            text = (old or b"").decode("utf-8", "replace")
            writes.append((hs.VSFTPD_CONF, old, hs.plan_vsftpd(text, want["port"]).encode()))
            ports = [b.port for b in portplan.vsftpd_bindings(writes[0][2].decode())]
            result["summary"] = "ftp (vsftpd) on port %d, anonymous login off" % ports[0]
        else:
            if want["root_dir"] and not os.path.isdir(want["root_dir"]):
                module.fail_json(msg="root_dir: %s does not exist on the host" % want["root_dir"])
            service_dropin, socket_dropin = hs.render_tftp_dropins(want["root_dir"], want["address"])
            if service_dropin:
                writes.append((hs.TFTP_SERVICE_DROPIN, files.read_bytes(hs.TFTP_SERVICE_DROPIN), service_dropin))
            if socket_dropin:
                writes.append((hs.TFTP_SOCKET_DROPIN, files.read_bytes(hs.TFTP_SOCKET_DROPIN), socket_dropin))
            ports = [69]
            root = ", root %s" % want["root_dir"] if want["root_dir"] else ""
            result["summary"] = "tftp on %s:69/udp%s" % (want["address"] or "*", root)
        if not want["enabled"]:
            ports = []
            result["summary"] = "%s disabled" % svc

        # ---- the port plan of the whole host, before any change
        proto = "udp" if svc == "tftp" else "tcp"
        wanted = [portplan.Binding(svc, proto, p, want.get("address") or "", svc, "task") for p in ports]
        try:
            plan = portplan.check(portplan.collect_live(module), [svc], wanted)
        except PolicyError as e:
            module.fail_json(msg=str(e))
        result["port_plan"] = [b.as_dict() for b in plan]
        result["ports"] = ports

        file_changes = [(p, o, n) for p, o, n in writes if o != n]
        units = hs.units_need_change(module, svc, want["enabled"])
        result["changed"] = bool(file_changes or units)
        result["units_changed"] = units
        if module._diff and file_changes:
            result["diff"] = [dict(before_header=p, after_header=p,
                                   before=(o or b"").decode("utf-8", "replace"),
                                   after=n.decode("utf-8", "replace")) for p, o, n in file_changes]
        if module.check_mode or not result["changed"]:
            module.exit_json(**result)

        # ---- apply
        try:
            for path, old, new in file_changes:
                _write(module, path, new)
            if svc == "ssh" and file_changes:
                rc, out, err = module.run_command(["sshd", "-t"])
                if rc != 0:
                    for path, old, new in file_changes:
                        _restore(module, path, old)
                    module.fail_json(msg="sshd -t refused the new drop-in; the previous one was restored: %s"
                                     % (out + err).strip(), **result)
            if svc == "tftp" and file_changes:
                module.run_command(["systemctl", "daemon-reload"], check_rc=True)
            if want["enabled"]:
                hs.set_units(module, svc, True)
                if file_changes:
                    if svc == "ssh":
                        module.run_command(["systemctl", "reload", "ssh.service"], check_rc=True)
                    else:
                        module.run_command(["systemctl", "restart"] + hs.UNITS[svc], check_rc=True)
                # verify: every TCP port answers like the service
                expect = {"ssh": "SSH-", "ftp": "220"}.get(svc)
                if expect:
                    bad = [p for p in ports if not (hs.banner(p) or "").startswith(expect)]
                    if bad:
                        for path, old, new in file_changes:
                            _restore(module, path, old)
                        if svc == "ssh":
                            module.run_command(["systemctl", "reload", "ssh.service"])
                        else:
                            module.run_command(["systemctl", "restart"] + hs.UNITS[svc])
                        module.fail_json(msg="%s does not answer on port(s) %s after the change; the previous "
                                             "configuration was restored" % (svc, ", ".join(str(p) for p in bad)),
                                         **result)
                else:
                    _rc, active, _e = module.run_command(["systemctl", "is-active", "tftpd-hpa.socket"])
                    if active.strip() != "active":
                        module.fail_json(msg="tftpd-hpa.socket is %s after the change" % active.strip(), **result)
            else:
                hs.set_units(module, svc, False)
        except hs.HostServiceError as e:
            module.fail_json(msg=str(e), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
