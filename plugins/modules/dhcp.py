#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: dhcp
short_description: Kea DHCPv4 server for phone provisioning (address, gateway, DNS, option 66 and 42)
version_added: 0.1.0
description:
  - Writes the whole Kea DHCPv4 configuration C(/etc/kea/kea-dhcp4.conf) (plain JSON) for one
    subnet on one interface of the PBX and runs or stops the C(kea-dhcp4-server) service.
  - Clients get an address from O(range_start)-O(range_end), the router O(gateway), the DNS
    servers O(dns), option 66 (TFTP server) in the O(vendor_format) the phones expect and
    option 42 (NTP) - by default the PBX's own address on O(interface).
  - "Everything is checked before anything is written: the subnet is the address of
    O(interface) on the host (read with C(ip -j addr show dev IFACE)) masked with
    O(subnet_mask); the gateway, the range and every reservation must lie inside it (never on
    its network or broadcast address); the range must not contain the PBX's own address nor
    the gateway; MAC addresses must be well formed and neither a MAC nor an address may be
    reserved twice. Errors name the option and the rule, e.g.
    C(range_start: 198.18.1.100 is outside the subnet 198.18.0.0/24 of eth0)."
  - Reservations may lie inside the pool or outside it (but inside the subnet). Kea hands a
    reserved address only to its MAC; a reservation inside the pool is skipped by the pool for
    other clients. Outside the pool is the cleaner layout.
  - The rendered file is checked with C(kea-dhcp4 -t) on a temp file before it replaces the
    live one (in check mode too). Kea then reads it with C(config-reload) over its control
    socket (C(systemctl reload) is not applicable to Debian's unit, which has no ExecReload;
    C(config-reload) keeps the process and its leases and was measured at about 50 ms in the
    lab); when the socket does not answer, the service is restarted instead. Nothing is
    reloaded when the file did not change.
  - Afterwards the module reads the running configuration back (C(config-get)); if Kea is not
    running or not serving the new subnet, pool and reservations, the previous file is
    restored, Kea reloaded, and the task fails with what Kea said.
  - "Several phone vendors on one network: O(vendor_classes) become Kea client classes with
    their own option 66, chosen by the start of the vendor class identifier (option 60) the
    phone sends or by the first octets of its MAC address. The first matching class wins;
    a phone matching no class gets the O(vendor_format) form."
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description:
      - Predicts exactly (including a rejection by C(kea-dhcp4 -t), run on a temp file outside
        C(/etc/kea)); writes nothing, reloads, starts or stops nothing.
  diff_mode:
    support: full
    description: Before/after text of C(kea-dhcp4.conf) (no secrets are involved).
  safe_file_operations:
    support: full
    description: Temp file in the same directory, then C(atomic_move); the previous file is restored when Kea does not take the new one.
  idempotent:
    support: full
    description:
      - A rerun with the same input reports no change and does not reload. The file is compared
        as parsed JSON, so a file reformatted by hand but with the same content is left alone.
options:
  enabled:
    description:
      - V(true) writes the configuration and keeps C(kea-dhcp4-server) enabled and running.
      - V(false) stops and disables the service; the configuration file is left as it is and
        the other options (except O(interface)'s format) are not needed and not checked.
    type: bool
    default: true
  interface:
    description:
      - The interface Kea listens on. Its first global IPv4 address gives the subnet and the
        default NTP server. Required when O(enabled=true).
    type: str
  gateway:
    description: Default router for the clients (option 3), inside the subnet. Required when O(enabled=true).
    type: str
  subnet_mask:
    description:
      - Dotted netmask of the served subnet, contiguous (e.g. V(255.255.255.0)).
      - Defaults to the prefix length of the address of O(interface).
    type: str
  dns:
    description: DNS servers (option 6), IPv4, preferred first, one to four. Required when O(enabled=true).
    type: list
    elements: str
  range_start:
    description: First address of the pool. Required when O(enabled=true).
    type: str
  range_end:
    description: Last address of the pool, not before O(range_start). Required when O(enabled=true).
    type: str
  lease_time:
    description: Lease time in seconds (60 to 31536000). Renew and rebind times are derived by Kea (50% and 87.5%).
    type: int
    default: 3600
  tftp_server:
    description:
      - IPv4 address of the provisioning TFTP server, sent as option 66 (C(tftp-server-name)).
      - Omitted means no option 66.
    type: str
  vendor_format:
    description:
      - How option 66 is written for phones that match no O(vendor_classes) entry.
      - V(raw_ip) sends the bare address (Grandstream, Panasonic, Avantec).
      - V(tftp_url) sends C(tftp://ADDRESS) (most other vendors).
    type: str
    choices: [raw_ip, tftp_url]
    default: raw_ip
  ntp_server:
    description: NTP server (option 42). Defaults to the PBX's own address on O(interface).
    type: str
  reservations:
    description: Fixed addresses by MAC address, inside the subnet (inside or outside the pool).
    type: list
    elements: dict
    default: []
    suboptions:
      mac:
        description: MAC address, six hex pairs separated by C(:) or C(-); quote it in YAML.
        type: str
        required: true
      address:
        description: The reserved IPv4 address; not the PBX's own address, not the gateway.
        type: str
        required: true
  vendor_classes:
    description:
      - Per-vendor option 66 format, rendered as Kea client classes in order (the first match wins).
      - Each entry has exactly one of O(vendor_classes[].match) or O(vendor_classes[].mac_prefix).
      - Needs O(tftp_server).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Kea class name. Letters, digits and C(_ . @ + -). Default C(pbxguard-vendor-INDEX).
          - Not a name Kea reserves for its own classes (compared case-sensitively, as Kea does)
            C(ALL), C(KNOWN), C(UNKNOWN), C(BOOTP), C(DROP), C(SKIP_DDNS), nor one starting with
            C(VENDOR_CLASS_), C(HA_), C(AFTER_), C(EXTERNAL_) or C(SPAWN_).
        type: str
      match:
        description:
          - The start of the vendor class identifier (option 60) the phone sends, case-sensitive,
            e.g. V(Grandstream). Kea's expressions have no "contains", so this is a prefix match.
          - "1-64 characters of letters, digits, space and C(. _ + / : -)."
        type: str
      mac_prefix:
        description: The first 1-6 octets of the phone's MAC address, e.g. V(00:0b:82) (an OUI).
        type: str
      vendor_format:
        description: Option 66 form for these phones.
        type: str
        choices: [raw_ip, tftp_url]
        required: true
  backup:
    description: Keep a timestamped copy of the previous C(kea-dhcp4.conf) when it changes.
    type: bool
    default: false
notes:
  - The module owns C(/etc/kea/kea-dhcp4.conf) whole; hand edits are overwritten. The file is
    written C(root:root) mode C(0644), as Debian's C(kea-dhcp4-server) package ships it.
  - The rendered configuration keeps Debian's control socket (C(kea4-ctrl-socket) in C(/run/kea))
    and memfile lease database, and logs to the journal.
  - Only one subnet on one interface. IPv4 only (Kea DHCPv6 is not managed).
  - "A busybox C(udhcpc) client shows a URL-form option 66 as C(tftp=bad) (it checks option 66
    as a host name); phones read it as sent."
seealso:
  - name: Kea DHCPv4 configuration
    description: The Kea Administrator Reference Manual, DHCPv4 server.
    link: https://kea.readthedocs.io/en/latest/arm/dhcp4-srv.html
"""

EXAMPLES = r"""
- name: DHCP for the phone VLAN on eth0, Grandstream phones (bare address in option 66)
  pbxguard.asterisk.dhcp:
    enabled: true
    interface: eth0
    gateway: 198.18.0.1
    subnet_mask: 255.255.255.0
    dns: [198.18.0.1, 9.9.9.9]
    range_start: 198.18.0.100
    range_end: 198.18.0.199
    lease_time: 3600
    tftp_server: 198.18.0.11
    vendor_format: raw_ip
    reservations:
      - mac: "00:0b:82:aa:bb:cc"
        address: 198.18.0.150

- name: Mixed phones - tftp:// URL by default, bare address for Grandstream and Panasonic
  pbxguard.asterisk.dhcp:
    interface: eth0
    gateway: 198.18.0.1
    dns: [198.18.0.1]
    range_start: 198.18.0.100
    range_end: 198.18.0.199
    tftp_server: 198.18.0.11
    vendor_format: tftp_url
    ntp_server: 198.18.0.1
    vendor_classes:
      - name: grandstream
        match: Grandstream
        vendor_format: raw_ip
      - name: panasonic
        mac_prefix: "08:00:23"
        vendor_format: raw_ip

- name: Turn the DHCP server off
  pbxguard.asterisk.dhcp:
    enabled: false
"""

RETURN = r"""
config:
  description: What clients get from the configuration after the run (none when O(enabled=false)).
  returned: when enabled
  type: dict
  sample:
    interface: eth0
    subnet: 198.18.0.0/24
    pool: 198.18.0.100 - 198.18.0.199
    routers: 198.18.0.1
    dns: [198.18.0.1, 9.9.9.9]
    ntp_server: 198.18.0.11
    tftp_server_name: 198.18.0.11
    lease_time: 3600
    reservations: [{mac: "00:0b:82:aa:bb:cc", address: 198.18.0.150}]
    vendor_classes: []
interface_address:
  description: The address of O(interface) with its prefix, as read on the host.
  returned: when enabled
  type: str
  sample: 198.18.0.11/24
config_changed:
  description: Whether C(kea-dhcp4.conf) was (or in check mode would be) rewritten.
  returned: always
  type: bool
applied_with:
  description:
    - How Kea was made to read the new file - V(config-reload) (control socket), V(restart),
      V(start) (it was not running) - or V(none).
  returned: always
  type: str
  sample: config-reload
service:
  description: State of C(kea-dhcp4-server) after the run (predicted in check mode).
  returned: always
  type: dict
  sample: {active: true, enabled: true}
summary:
  description: One line saying what now holds.
  returned: always
  type: str
  sample: "DHCP: serving 198.18.0.100 - 198.18.0.199 on eth0 (198.18.0.0/24), 1 reservation, option 66 198.18.0.11"
backup_file:
  description: Name of the backup copy, when O(backup) made one.
  returned: changed and backup
  type: str
"""

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils._dhcp import DhcpChange, VENDOR_FORMATS
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run


def main():
    run(DhcpChange(), dict(
        enabled=dict(type="bool", default=True),
        interface=dict(type="str"),
        gateway=dict(type="str"),
        subnet_mask=dict(type="str"),
        dns=dict(type="list", elements="str"),
        range_start=dict(type="str"),
        range_end=dict(type="str"),
        lease_time=dict(type="int", default=3600),
        tftp_server=dict(type="str"),
        vendor_format=dict(type="str", choices=list(VENDOR_FORMATS), default="raw_ip"),
        ntp_server=dict(type="str"),
        reservations=dict(type="list", elements="dict", default=[], options=dict(
            mac=dict(type="str", required=True),
            address=dict(type="str", required=True),
        )),
        vendor_classes=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str"),
            match=dict(type="str"),
            mac_prefix=dict(type="str"),
            vendor_format=dict(type="str", choices=list(VENDOR_FORMATS), required=True),
        )),
        backup=dict(type="bool", default=False),
    ))


if __name__ == "__main__":
    main()
