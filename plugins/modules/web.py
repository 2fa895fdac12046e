#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: web
short_description: Asterisk's HTTP server (http.conf) - protocol, port, certificate, TLS level, auto logout
version_added: 0.1.0
description:
  - Sets C([general]) of C(http.conf), the web server behind ARI, AMI over HTTP and WebSocket.
  - V(https) runs only the TLS listener (C(tlsbindaddr)); the plain listener is switched off by
    removing C(bindaddr)/C(bindport) (C(http show status) then says "Server Disabled", and Asterisk
    logs a harmless "Unable to resolve host '(null)'" warning on reload).
  - The certificate and key are checked on the host before anything is written. Both must exist,
    be readable by user or group C(asterisk), the key must not be world-readable, and the key must
    belong to the certificate.
  - Before any change the port plan of the whole host is checked (Asterisk HTTP, PJSIP transports,
    IAX, AMI, sshd, vsftpd, tftpd from their live config files); a clash or port 8090 fails the task.
  - Applies with C(module reload http) when the file changed, then proves the running server. For
    http it reads C(http show status). For https it runs real TLS handshakes on the host; the
    presented certificate must be O(cert_file), TLS 1.2 must work, and a handshake offering only
    TLS 1.1 (OpenSSL security level 0) must be refused for V(high)/V(modern) and accepted for V(low).
  - The running server is checked on every run, also when the file is already right. When it
    differs from the file (a skipped or failed reload, a file restored behind Asterisk's back), that
    is a change (RV(drift) says why); the file is touched (Asterisk skips re-reading a file whose
    mtime did not change) and reloaded, at most twice (switching between the plain and the TLS
    listener on one port needs a second reload, "Address already in use"), then proven again; the
    task fails if it still differs. Asterisk is never restarted. In check mode the drift is only
    reported.
  - If a changed file is not taken after two reloads, or the port-80 redirector of
    O(redirect_http) does not start or answer afterwards, every file of the run (http.conf, the
    redirector's script and unit) is restored byte for byte with its old owner and mode, Asterisk
    is reloaded and the redirector's unit is put back as it was (enabled or not, running or not).
  - Limit of the live check. If the host's Python/OpenSSL cannot build a TLS 1.1 ClientHello (checked
    in memory first), a refused handshake proves nothing and C(http show status) does not show the
    TLS settings; then only C(tlsdisablev11) of the file is checked and RV(tls_check) says so.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Predicts exactly what a real run changes; writes nothing, reloads nothing.
  diff_mode:
    support: full
    description: Before/after text of C(http.conf).
  safe_file_operations:
    support: full
    description: Temp file in the same directory, then C(atomic_move); restored when Asterisk does not take it.
  idempotent:
    support: full
    description: A second run with the same input reports no change and does not reload.
extends_documentation_fragment:
  - pbxguard.asterisk.asterisk_version
options:
  enabled:
    description: C(enabled). V(false) switches the web server off.
    type: bool
    default: true
  protocol:
    description: V(https) (TLS listener only) or V(http) (plain listener only).
    type: str
    choices: [http, https]
    default: https
  port:
    description: TCP port of the listener (C(bindport) or the port of C(tlsbindaddr)). 8090 is reserved.
    type: int
    default: 8088
  bind_address:
    description: Address the listener binds to. Filter who may connect with M(pbxguard.asterisk.web_access).
    type: str
    default: 0.0.0.0
  cert_file:
    description: PEM certificate (C(tlscertfile)). Required for V(https).
    type: path
  key_file:
    description: PEM private key (C(tlsprivatekey)), mode 0640 group C(asterisk). Required for V(https).
    type: path
  security_level:
    description:
      - TLS versions offered. V(high) and V(modern) set C(tlsdisablev1=yes), C(tlsdisablev11=yes),
        C(tlsdisablev12=no). Asterisk 22 has no C(tlsdisablev13), so TLS 1.3 is always offered
        and both levels mean TLS 1.2 + 1.3 on this server ("TLS 1.2 only" cannot be expressed).
      - V(low) offers TLS 1.0 to 1.3 and lowers the OpenSSL security level (C(tlscipher=DEFAULT:@SECLEVEL=0)),
        so old phones can connect. Avoid it.
    type: str
    choices: [high, modern, low]
    default: high
  redirect_http:
    description:
      - A real listener on TCP port 80 that answers every request with C(301 Moved Permanently) to
        C(https://HOST:PORT/PATH) (the request's path and query kept; HOST from the request's Host
        header). It binds to O(bind_address) and needs O(protocol=https).
      - It is a small python3 C(http.server) redirector, C(/usr/local/lib/pbxguard/web-redirect.py)
        (0644 root), run by C(pbxguard-web-redirect.service) (C(DynamicUser), only
        C(CAP_NET_BIND_SERVICE)), enabled and started. Port 80 joins the port plan.
      - Proven after each change by an HTTP request to port 80 on the host (status 301 and the
        Location). V(false) stops, disables and removes the unit and the script.
    type: bool
    default: false
  auto_logout:
    description: Minutes of inactivity after which an HTTP session ends (C(session_inactivity), in ms).
    type: int
    default: 15
  config_file:
    description: Path of C(http.conf).
    type: path
    default: /etc/asterisk/http.conf
notes:
  - Asterisk's own C(redirect) option of C(http.conf) is an exact-URI 302 on the plain listener, not a
    permanent redirect of every path; O(redirect_http) runs its own listener instead.
  - M(pbxguard.asterisk.web_access) with C(services=[web]) covers port 80 of the redirector too.
"""

EXAMPLES = r"""
- name: HTTPS on 8088 with the PBX certificate, TLS 1.2+1.3
  pbxguard.asterisk.web:
    protocol: https
    port: 8088
    cert_file: /etc/asterisk/keys/web.crt
    key_file: /etc/asterisk/keys/web.key
    security_level: high
    auto_logout: 15
    redirect_http: true

- name: Web server off
  pbxguard.asterisk.web:
    enabled: false
"""

RETURN = r"""
reloaded:
  description: Whether C(module reload http) ran (after a touch of the file when it was unchanged).
  returned: always
  type: bool
tls_version:
  description: TLS version of the verifying handshake.
  returned: when https is enabled and the server answered
  type: str
  sample: TLSv1.3
tls_check:
  description: How the TLS level was proven, V(handshake) or why only the file could be checked.
  returned: when https is enabled and the server answered
  type: str
  sample: handshake
tls11_live:
  description: What the running server did with a TLS 1.1-only handshake, V(accepted), V(refused) or V(unknown).
  returned: when https is enabled and the server answered
  type: str
  sample: refused
drift:
  description: How the running server differed from an unchanged C(http.conf) (then C(changed) is true).
  returned: when the running server differed from the file
  type: list
  elements: str
redirect:
  description: What port 80 does after the task.
  returned: always
  type: str
  sample: "301 to https://HOST:8088/PATH"
redirect_drift:
  description: Why the running port-80 redirector differed from its unchanged files (then C(changed) is true).
  returned: when the redirector was enabled with the right files but did not answer as wanted
  type: str
port_plan:
  description: Every listener of the host after the change.
  returned: always
  type: list
  elements: dict
summary:
  description: One line saying what now holds.
  returned: always
  type: str
  sample: "web: https on 0.0.0.0:8088 (TLS 1.2+1.3), auto logout 15 min"
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
from ansible_collections.pbxguard.asterisk.plugins.module_utils._web import WebChange


def main():
    run(WebChange(), dict(
        enabled=dict(type="bool", default=True),
        protocol=dict(type="str", choices=["http", "https"], default="https"),
        port=dict(type="int", default=8088),
        bind_address=dict(type="str", default="0.0.0.0"),
        cert_file=dict(type="path"),
        key_file=dict(type="path", no_log=False),
        security_level=dict(type="str", choices=["high", "modern", "low"], default="high"),
        auto_logout=dict(type="int", default=15),
        redirect_http=dict(type="bool", default=False),
        config_file=dict(type="path", default="/etc/asterisk/http.conf"),
        min_asterisk_version=dict(type="int"),
    ))


if __name__ == "__main__":
    main()
