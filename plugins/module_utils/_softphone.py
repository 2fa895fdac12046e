# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Softphone provisioning payloads for a QR code, built on the controller
(action plugin softphone_qr). Pure functions: validated options in, payload
text out; ``parse_grandstream_wave`` reads a payload back as the app's XML
reader would (used by the tests that decode the PNG).

Format ``grandstream_wave``: what Grandstream Wave (Android/iOS) imports with
"Add account -> UCM account (Scan QR code)", the code Grandstream's UCM PBXs
show per extension. One XML document, the credentials inline (nothing is
fetched from a server):

  <?xml version="1.0" encoding="utf-8"?><AccountConfig version="1"><Account>
  <RegisterServer>host:port</RegisterServer><UserID>..</UserID><AuthID>..</AuthID>
  <AuthPass>..</AuthPass><AccountName>..</AccountName><DisplayName>..</DisplayName>
  <Voicemail>..</Voicemail></Account></AccountConfig>

Source of the element names and order: the payload of the FreePBX generator
for Wave's UCM QR import (github.com/lamin69/Grandstream-Gs-Wave-QR-Generator-
for-Freepbx-, README: the XML it encodes, "choose UCM Account (Scan QR Code)"
in the app). The format has no transport element: Wave registers over UDP to
RegisterServer; TLS/TCP are set in the app afterwards.

Not chosen: Linphone's QR code carries only the URL of a remote-provisioning
XML file (the secret would have to be served over HTTP); Zoiper's QR code is a
URL of zoiper.com's OEM service with the password in its query (the secret
would go to a third party)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import (
    PolicyError, check_host, check_port, check_secret, check_text, check_name)

FORMATS = ("grandstream_wave",)
NUMBER_RE = re.compile(r"^[0-9]{1,15}\Z")
VOICEMAIL_RE = re.compile(r"^[0-9*#]{1,15}\Z")
# an entry of the extension module's list is taken as it is: what the QR code needs is
# read, the rest of the extension module's options ignored (state: absent -> no code)
USED = ("number", "secret", "name", "username", "authname", "auth_user")
# the extension module's other options of an entry (nothing a softphone needs); a unit test
# checks this covers every suboption its DOCUMENTATION lists, so the lists cannot drift
IGNORED = ("secret_update", "permit", "max_contacts", "remove_existing", "contact_permit", "email", "pin",
           "pin_update", "context", "policy", "iax", "state")
WAVE_FIELDS = ("RegisterServer", "UserID", "AuthID", "AuthPass", "AccountName", "DisplayName", "Voicemail")


def validate(args):
    """The action's options, every problem at once (PolicyError naming option and rule)."""
    errors = []

    def check(fn, *a):
        try:
            return fn(*a)
        except PolicyError as e:
            errors.append(str(e))
            return None

    fmt = args.get("format") or "grandstream_wave"
    if fmt not in FORMATS:
        errors.append("format: must be one of %s, got %r" % (", ".join(FORMATS), fmt))
    server = check(check_host, args.get("server"), "server")
    port = args.get("port", 5060)
    try:
        port = int(port) if not isinstance(port, bool) else port
    except (TypeError, ValueError):
        pass
    port = check(check_port, port, "port")
    dest = args.get("dest_dir")
    if not isinstance(dest, str) or not dest:
        errors.append("dest_dir: required, the controller directory the PNG files go to")
    voicemail = args.get("voicemail")
    if voicemail is not None and not (isinstance(voicemail, str) and VOICEMAIL_RE.match(voicemail)):
        errors.append("voicemail: must be 1-15 of 0-9 * # (the number the app dials for voicemail)")
    exts = args.get("extensions")
    if not isinstance(exts, list) or not exts:
        errors.append("extensions: required, a list of {number, secret, name}")
        exts = []
    out, seen = [], set()
    for i, e in enumerate(exts):
        label = "extensions[%d]" % i
        if not isinstance(e, dict):
            errors.append("%s: must be a dict with number and secret" % label)
            continue
        unknown = sorted(set(e) - set(USED) - set(IGNORED))
        if unknown:
            errors.append("%s: unknown option(s) %s" % (label, ", ".join(unknown)))
        if e.get("state", "present") == "absent":
            continue
        number = str(e.get("number")) if isinstance(e.get("number"), int) and not isinstance(e.get("number"), bool) \
            else e.get("number")
        if not isinstance(number, str) or not NUMBER_RE.match(number):
            errors.append("%s.number: must be 1-15 digits" % label)
            continue
        label = "%s (%s)" % (label, number)
        if number in seen:
            errors.append("%s.number: listed twice" % label)
        seen.add(number)
        secret = check(check_secret, e.get("secret"), label + ".secret")
        username = check(check_name, e.get("username") or number, label + ".username")
        authname = check(check_name, e.get("auth_user") or e.get("authname") or username or number,
                         label + (".auth_user" if e.get("auth_user") else ".authname"))
        name = check(check_text, e["name"], label + ".name", 80, "") if e.get("name") is not None else None
        out.append(dict(number=number, secret=secret, username=username, authname=authname, name=name or number))
    if errors:
        raise PolicyError("; ".join(errors))
    return dict(format=fmt, server=server, port=port, dest_dir=dest, voicemail=voicemail, extensions=out)


def grandstream_wave(ext, server, port, voicemail=None):
    """The AccountConfig XML of one extension (every value XML-escaped)."""
    host = "[%s]" % server if ":" in server else server
    values = (("RegisterServer", "%s:%d" % (host, port)), ("UserID", ext["username"]), ("AuthID", ext["authname"]),
              ("AuthPass", ext["secret"]), ("AccountName", ext["number"]), ("DisplayName", ext["name"]),
              ("Voicemail", voicemail or ""))
    body = "".join("<%s>%s</%s>" % (k, escape(v), k) for k, v in values)
    return '<?xml version="1.0" encoding="utf-8"?><AccountConfig version="1"><Account>%s</Account></AccountConfig>' % body


def parse_grandstream_wave(text):
    """{element: text} of the one Account of a payload; ValueError when it is not one."""
    root = ET.fromstring(text.encode("utf-8"))
    if root.tag != "AccountConfig" or root.get("version") != "1":
        raise ValueError("not an AccountConfig version 1 document")
    accounts = root.findall("Account")
    if len(accounts) != 1:
        raise ValueError("expected one Account, found %d" % len(accounts))
    return dict((child.tag, child.text or "") for child in accounts[0])
