#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: sip_transport
short_description: SIP transports (UDP, TCP, TLS) and the IAX port of an Asterisk PBX, restarted only when changed
version_added: 0.1.0
description:
  - Manages the PJSIP transports C(pbxguard-udp), C(pbxguard-tcp) and C(pbxguard-tls) in a file the module
    owns, C(pjsip_transport_pbxguard.conf) next to C(pjsip.conf), pulled in by a C(#tryinclude) line the
    module adds to C(pjsip.conf). A disabled transport is absent from that file. Transports written by hand
    in C(pjsip.conf) are left alone; if one uses a port wanted here, the port plan check fails.
  - Manages the IAX port (C(bindport) in C([general]) of C(iax.conf)). An absent C(bindport) already means
    4569, so the file is only touched when the port must differ.
  - Before anything is written, every option is validated (ports, address, paths without C(;), C([), C(,)
    or line breaks), the TLS files are checked on the host (certificate and key exist, readable by user or
    group C(asterisk), key not world-readable, key belongs to the certificate; the CA file exists, is
    readable and holds a PEM certificate; in check mode a file that does not exist yet is only a warning,
    since an earlier task of the play may create it), and the port plan of the whole host is checked (Asterisk HTTP,
    PJSIP transports, IAX, AMI, sshd, vsftpd, tftpd, read from their live config files). A clash or the
    reserved port 8090 fails the task listing every clash, and nothing changes.
  - PJSIP does not apply transport changes on reload, and C(iax2 reload) does not move the IAX socket, so a
    change is applied by restarting Asterisk (C(systemctl restart asterisk)). This drops calls in progress.
    The restart happens only when a file really changed, or when the running Asterisk differs from
    unchanged files (RV(drift)); RV(restarted) and RV(restart_reason) say so.
  - After the restart the live state is read back. C(pjsip show transports) must list each wanted transport
    with its protocol and bind, and no disabled one. C(ss -lnup)/C(ss -lntp) on the host must show
    C(asterisk) listening on each SIP port and the IAX port. For TLS, real handshakes on the host must get
    the configured certificate, and one handshake per TLS version must be accepted or refused as the
    O(tls.security_level) says. If any check fails, the previous files are restored, Asterisk is restarted
    again and the task fails quoting Asterisk's log.
  - Scanner settings (O(unidentified_requests)) - the PJSIP global object (C([global]), C(type=global)) in
    the managed file, with C(unidentified_request_count), C(unidentified_request_period) and
    C(unidentified_request_prune_interval) (this module's default 3 within 60 s, pruned every 60 s;
    res_pjsip's own is 5 within 5 s, pruned every 30 s). res_pjsip counts requests that match no endpoint
    per source address with these only while C(auth_username) is in C(endpoint_identifier_order) (the
    first request of such a caller carries no credentials yet) and reports the address once the count is
    reached; otherwise Asterisk 22 reports every such request at once (C(No matching endpoint found) in its
    log and an C(InvalidAccountID) security event, what the C(fail2ban) role bans) - measured in the lab.
    res_pjsip takes exactly one global object, so a hand-written one in C(pjsip.conf) or a file it includes is
    refused (naming its file and line) unless O(unidentified_requests.enabled=false). A change of these values only
    is applied with C(module reload res_pjsip.so), not a restart, and read back with C(pjsip show settings).
  - Unauthenticated calls (O(anonymous)) - a request that names no known endpoint user and comes from no
    identified address matches the endpoint C(anonymous) only through the module
    C(res_pjsip_endpoint_identifier_anonymous.so); without it PJSIP answers such a request with a digest
    challenge of its artificial endpoint (401), whatever C([anonymous]) endpoint is configured.
    O(anonymous=false) (the default) adds C(noload => res_pjsip_endpoint_identifier_anonymous.so) to
    C([modules]) of C(modules.conf) (only when C(autoload=yes) would load it; a hand-written C(load =>) line of
    it is refused) and unloads the running module with C(module unload) - no restart - proven with
    C(module show like anonymous). O(anonymous=true) removes that C(noload) line and loads the module.
  - The anonymous identifier is not the only way to an endpoint called C(anonymous) - PJSIP's C(username)
    identifier (in every endpoint's default C(identify_by=username,ip)) matches a request whose From user
    is C(anonymous) (RFC 3323's anonymous caller) to it too, as C(auth_username) and C(request_uri) do
    with the names they read. With O(anonymous=false) a hand-written endpoint C(anonymous) or
    C(anonymous@DOMAIN) without C(auth) and with such a method is refused, naming its file and line (give it
    C(auth), set C(identify_by=ip), remove it, or set O(anonymous=true)); nothing is written.
    A failure restores C(modules.conf) with the other files and puts the module back as it was.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Predicts exactly what a real run changes (RV(restart_needed)); writes nothing, restarts nothing.
  diff_mode:
    support: full
    description: Before/after text of every file that changes, masked like every diff of the collection.
  safe_file_operations:
    support: full
    description: Temp file in the same directory, then C(atomic_move); restored when Asterisk does not take it.
  idempotent:
    support: full
    description: A second run with the same input reports no change and does not restart Asterisk.
options:
  bind_address:
    description: Address every SIP transport binds to (C(bind=ADDRESS:PORT)); V(0.0.0.0) is every IPv4 address.
    type: str
    default: 0.0.0.0
  udp:
    description: SIP over UDP (transport C(pbxguard-udp)).
    type: dict
    default: {}
    suboptions:
      enabled: &transport_enabled
        description: Whether the transport exists.
        type: bool
        default: true
      port:
        description: UDP port.
        type: int
        default: 5060
  tcp:
    description: SIP over TCP (transport C(pbxguard-tcp)).
    type: dict
    default: {}
    suboptions:
      enabled: *transport_enabled
      port:
        description: TCP port. Must differ from O(tls.port) when both are enabled.
        type: int
        default: 5060
  tls:
    description: SIP over TLS (transport C(pbxguard-tls)).
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Whether the transport exists.
        type: bool
        default: false
      port:
        description: TCP port.
        type: int
        default: 5061
      cert_file:
        description: PEM certificate on the host (C(cert_file)). Required when enabled.
        type: path
      key_file:
        description: PEM private key on the host (C(priv_key_file)), mode 0640 group C(asterisk). Required when enabled.
        type: path
      ca_file:
        description: PEM CA list on the host (C(ca_list_file)), for verifying peers.
        type: path
      security_level:
        description:
          - TLS versions served, proven by handshakes after every change.
          - V(high) writes C(method=tlsv1_2) and means exactly TLS 1.2 (1.1 and 1.3 refused).
          - V(modern) writes C(method=sslv23) and means TLS 1.2 + 1.3.
          - V(low) is meant to be TLS 1.0 to 1.2 but pjsip cannot express it. Its C(method=tlsv1) (and an
            unset or V(default) method) serves TLS 1.0 only, and C(method=sslv23) serves what OpenSSL allows
            (measured with Asterisk 22.10 and OpenSSL 3.6 as TLS 1.2 + 1.3; pjsip's C(cipher) option cannot
            lower OpenSSL's security level). V(low) therefore writes C(method=sslv23), like V(modern), and
            the result carries a warning.
        type: str
        choices: [high, modern, low]
        default: high
  iax_port:
    description: UDP port of IAX (C(bindport) in C([general]) of C(iax.conf)). V(null) leaves it alone.
    type: int
    default: 4569
  pjsip_config:
    description: Path of C(pjsip.conf). The managed file is written next to it.
    type: path
    default: /etc/asterisk/pjsip.conf
  iax_config:
    description: Path of C(iax.conf).
    type: path
    default: /etc/asterisk/iax.conf
  unidentified_requests:
    description:
      - The PJSIP global object's C(unidentified_request_*) settings, written as C([global]) in the managed file.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: V(false) writes no global object (res_pjsip's defaults, or a hand-written one, apply).
        type: bool
        default: true
      count:
        description: Requests matching no endpoint (1-1000) from one address that get it reported.
        type: int
        default: 3
      period:
        description: Seconds (1-86400) within which they count.
        type: int
        default: 60
      prune_interval:
        description: Seconds (1-86400) between prunes of the tracked addresses.
        type: int
        default: 60
  anonymous:
    description:
      - Whether PJSIP may identify requests as the endpoint C(anonymous) (module
        C(res_pjsip_endpoint_identifier_anonymous.so)). V(false) keeps it unloaded (C(noload) in C(modules.conf)),
        so no unauthenticated request reaches a dialplan through an C([anonymous]) endpoint.
    type: bool
    default: false
  modules_config:
    description: Path of C(modules.conf).
    type: path
    default: /etc/asterisk/modules.conf
notes:
  - A C(bindaddr) in C([general]) of C(iax.conf) is bound before a C(bindport) that follows it (and may carry
    its own port), so with one present the module refuses to manage O(iax_port); remove it or set
    O(iax_port=null).
  - Restarting Asterisk drops active calls; schedule changes accordingly.
"""

EXAMPLES = r"""
- name: UDP and TCP on 5060, TLS on 5061 (TLS 1.2 only), IAX on 4569
  pbxguard.asterisk.sip_transport:
    bind_address: 0.0.0.0
    udp: {enabled: true, port: 5060}
    tcp: {enabled: true, port: 5060}
    tls:
      enabled: true
      port: 5061
      cert_file: /etc/asterisk/keys/sip.crt
      key_file: /etc/asterisk/keys/sip.key
      security_level: high
    iax_port: 4569

- name: Scanners reported after 5 unmatched requests within 2 minutes; no anonymous calls (the default)
  pbxguard.asterisk.sip_transport:
    unidentified_requests: {count: 5, period: 120, prune_interval: 60}
    anonymous: false

- name: TLS only (TLS 1.2 + 1.3), no plain SIP
  pbxguard.asterisk.sip_transport:
    udp: {enabled: false}
    tcp: {enabled: false}
    tls:
      enabled: true
      cert_file: /etc/asterisk/keys/sip.crt
      key_file: /etc/asterisk/keys/sip.key
      security_level: modern
"""

RETURN = r"""
restarted:
  description: Whether Asterisk was restarted by this run.
  returned: always
  type: bool
restart_needed:
  description: Whether a restart is (or, in check mode, would be) needed to apply the change.
  returned: always
  type: bool
restart_reason:
  description: Why Asterisk was (or would be) restarted.
  returned: when RV(restart_needed) is true
  type: list
  elements: str
  sample: ["transport pbxguard-tls added", "IAX port 4569 -> 4570"]
reload_needed:
  description: Whether only the PJSIP global settings change, applied (or, in check mode, to be applied) with C(module reload res_pjsip.so).
  returned: always
  type: bool
reloaded:
  description: Whether C(module reload res_pjsip.so) ran.
  returned: always
  type: bool
reload_reason:
  description: What changes in the PJSIP global object.
  returned: when RV(reload_needed) is true
  type: list
  elements: str
  sample: ["PJSIP global unidentified_request_count (default) -> 3"]
anonymous_identifier:
  description: State of C(res_pjsip_endpoint_identifier_anonymous.so) after the run (V(loaded) or V(not loaded)).
  returned: always
  type: str
anonymous_action:
  description: C(unload) or C(load) of the anonymous identifier done (or, in check mode, to be done) live, V(null) for none.
  returned: always
  type: str
modules_changed:
  description: Whether C(modules.conf) changes (the C(noload) line of the anonymous identifier).
  returned: always
  type: bool
restart_seconds:
  description: Seconds from C(systemctl restart asterisk) until Asterisk was fully booted with its PJSIP CLI.
  returned: when restarted
  type: float
drift:
  description: How the running Asterisk differed from unchanged files (then C(changed) is true).
  returned: when the running Asterisk differed from the files
  type: list
  elements: str
live_transports:
  description: Transports as C(pjsip show transports) lists them after the run (name -> protocol and bind).
  returned: when Asterisk was asked
  type: dict
  sample: {"pbxguard-udp": "udp 0.0.0.0:5060"}
tls_version:
  description: TLS version of the verifying handshake.
  returned: when TLS is enabled and the live state was proven
  type: str
  sample: TLSv1.2
tls_versions:
  description: What a handshake offering exactly one TLS version got from the running transport.
  returned: when TLS is enabled and the live state was proven
  type: dict
  sample: {"TLSv1": refused, "TLSv1_1": refused, "TLSv1_2": accepted, "TLSv1_3": refused}
port_plan:
  description: Every listener of the host after the change.
  returned: always
  type: list
  elements: dict
summary:
  description: One line saying what now holds.
  returned: always
  type: str
  sample: "SIP on 0.0.0.0: UDP 5060, TCP 5060, TLS 5061 (TLS 1.2 only); IAX 4569"
"""

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils._sip_transport import SipTransportChange
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run


def _transport_spec(enabled, port, tls=False):
    spec = dict(enabled=dict(type="bool", default=enabled), port=dict(type="int", default=port))
    if tls:
        spec.update(cert_file=dict(type="path"), key_file=dict(type="path", no_log=False),
                    ca_file=dict(type="path"),
                    security_level=dict(type="str", choices=["high", "modern", "low"], default="high"))
    return spec


def main():
    run(SipTransportChange(), dict(
        bind_address=dict(type="str", default="0.0.0.0"),
        udp=dict(type="dict", default={}, options=_transport_spec(True, 5060)),
        tcp=dict(type="dict", default={}, options=_transport_spec(True, 5060)),
        tls=dict(type="dict", default={}, options=_transport_spec(False, 5061, tls=True)),
        iax_port=dict(type="int", default=4569),
        pjsip_config=dict(type="path", default="/etc/asterisk/pjsip.conf"),
        iax_config=dict(type="path", default="/etc/asterisk/iax.conf"),
        unidentified_requests=dict(type="dict", default={}, options=dict(
            enabled=dict(type="bool", default=True), count=dict(type="int", default=3), period=dict(type="int", default=60),
            prune_interval=dict(type="int", default=60))),
        anonymous=dict(type="bool", default=False),
        modules_config=dict(type="path", default="/etc/asterisk/modules.conf"),
    ))


if __name__ == "__main__":
    main()
