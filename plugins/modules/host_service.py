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
  - O(services) handles several services in one module run (one port plan for all of them, one
    C(systemctl show) for every unit state; the services are applied in the order given, then
    each is verified as when it is handled alone). When one of them fails, every file of the run is
    restored and every unit touched is put back to the state it had before the run. A role switching FTP, TFTP and SSH needs one round trip
    per host instead of three.
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
extends_documentation_fragment:
  - pbxguard.asterisk.asterisk_version
options:
  service:
    description:
      - Which host service (with O(state), O(port), O(address), O(root_dir)).
      - Exactly one of O(service) and O(services) is required.
    type: str
    choices: [ssh, ftp, tftp]
  services:
    description:
      - Several services in one run, each entry with the options of a single service. A service may
        be named once. O(port), O(address) and O(root_dir) cannot be given next to it (O(state) is
        ignored then, each entry has its own).
      - An SSH port move keeps its two steps; the second step is a run with O(service=ssh) (or the
        same O(services) again) on the new port.
    type: list
    elements: dict
    suboptions:
      service:
        description: Which host service.
        type: str
        required: true
        choices: [ssh, ftp, tftp]
      state:
        description: V(enabled) or V(disabled), as O(state).
        type: str
        choices: [enabled, disabled]
        default: enabled
      port:
        description: As O(port).
        type: int
      address:
        description: As O(address) (tftp only).
        type: str
      root_dir:
        description: As O(root_dir) (tftp only).
        type: path
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

- name: FTP and TFTP off, SSH kept, in one run
  pbxguard.asterisk.host_service:
    services:
      - service: ftp
        state: disabled
      - service: tftp
        state: disabled
      - service: ssh
  register: host_services

- name: TFTP on one address, serving /srv/tftp
  pbxguard.asterisk.host_service:
    service: tftp
    address: 198.18.0.11
    root_dir: /srv/tftp
"""

RETURN = r"""
service:
  description: The service handled.
  returned: when O(service) is given
  type: str
enabled:
  description: Whether the service is enabled and running after the task.
  returned: when O(service) is given
  type: bool
ports:
  description: Ports the service listens on after the task (empty when disabled).
  returned: when O(service) is given
  type: list
  elements: int
  sample: [22, 8022]
services:
  description: One entry per service of O(services), in their order.
  returned: when O(services) is given
  type: list
  elements: dict
  contains:
    service:
      description: The service.
      type: str
    enabled:
      description: Whether it is enabled and running after the task.
      type: bool
    ports:
      description: Ports it listens on after the task.
      type: list
      elements: int
    units_changed:
      description: Its systemd units changed by this run.
      type: list
      elements: str
    changed:
      description: Whether this service changed.
      type: bool
    ssh_transition:
      description: As RV(ssh_transition), for ssh only.
      type: str
    summary:
      description: What now holds for this service.
      type: str
ssh_transition:
  description:
    - V(pending) when the SSH port move is half done (old and new port open), so reconnect on the new
      port and run the task again. V(done) when this run closed the old port. null otherwise.
  returned: when ssh is handled
  type: str
asterisk_version:
  description: The Asterisk version found by O(min_asterisk_version).
  returned: when O(min_asterisk_version) is given
  type: str
  sample: 22.10.1+dfsg+~cs6.17.60671434-1
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
  description: One line saying what now holds (with O(services), each service's joined by C(; )).
  returned: always
  type: str
  sample: "ssh listens on ports 22 and 8022; reconnect on 8022 (ansible_port=8022) and run this task again to close port 22"
"""

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils._host_service import HostServiceChange
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run

SERVICES = ["ssh", "ftp", "tftp"]
STATES = ["enabled", "disabled"]


def main():
    run(HostServiceChange(), dict(
        service=dict(type="str", choices=SERVICES),
        services=dict(type="list", elements="dict", options=dict(
            service=dict(type="str", required=True, choices=SERVICES),
            state=dict(type="str", choices=STATES, default="enabled"),
            port=dict(type="int"),
            address=dict(type="str"),
            root_dir=dict(type="path"),
        )),
        state=dict(type="str", choices=STATES, default="enabled"),
        port=dict(type="int"),
        address=dict(type="str"),
        root_dir=dict(type="path"),
        force=dict(type="bool", default=False),
        min_asterisk_version=dict(type="int"),
    ), mutually_exclusive=[("service", "services")], required_one_of=[("service", "services")])


if __name__ == "__main__":
    main()
