# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bad-input corpus: one table per module, easy to extend.

A module entry is
    MODULES["name"] = {
        "base": callable(ctx) -> valid parameters (the task would succeed),
        "strings": [field path, ...]  every string that reaches a file,
        "cases": callable(ctx) -> [(case id, override, [expected fragments]), ...],
    }
A field path is dotted with list indexes, e.g. "users.0.secret"; it is also the
option named in the error ("users[0]" ... "secret"). Every string field gets
every payload of INJECTIONS; the hand-written cases add policy violations,
bad CIDRs and masks, ports, wrong types and unknown choices. ROLE_CASES feed
the baseline role's argument specs. To cover a new module (sip_transport,
mail ...) add one MODULES entry: the suite picks it up.

ctx has: ip (the PBX), net (its /24), controller, cert, key, pubkey, secret.
"""
import base64
import copy
import os

ROLE_SPECS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "roles", "baseline", "meta", "argument_specs.yml")

# payload id -> (text spliced into a valid value, rule words one of which the message must name)
INJECTIONS = {
    "newline": ("\n[evil]\nx=1", ("newline", "line break", "control", "non-printable")),
    "open-bracket": ("[", ("'['", "contains [", "allowed", "not a", "not an", "must", "invalid")),
    "close-bracket": ("]", ("']'", "contains ]", "allowed", "not a", "not an", "must", "invalid")),
    "semicolon": (";", ("';'", "contains ;", "allowed", "not a", "not an", "must", "invalid")),
    "equals": ("=", ("'='", "contains =", "allowed", "not a", "not an", "must", "invalid")),
    "include": ("#include /etc/shadow",
                ("'#'", "#include", "allowed", "not a", "not an", "must", "invalid", "space", "whitespace")),
    "nul": ("\x00", ("NUL", "null", "non-printable", "control")),
    # bytes that are not UTF-8: delivered through b64decode (Ansible hands them to the
    # module as surrogate escapes, exactly as from a vars file read with a wrong encoding)
    "non-utf8": (b"\xff\xfe", ("UTF-8", "utf-8", "non-printable", "not a", "not an", "allowed", "must", "invalid")),
}

# generic rule words for the hand-written cases
RULE_WORDS = ("must", "allowed", "not a", "not an", "is not", "invalid", "required", "out of range", "reserved",
              "unknown", "one of", "contiguous", "host bits", "outside", "twice", "clash", "needs at least",
              "does not exist", "exactly", "contains", "after", "newline", "NUL", "choices", "type",
              "cannot", "neither", "only", "too", "at least", "at most", "not valid", "one line", "not UTF-8", "Supported parameters",
              "internal option", "acknowledge", "needs ", "minutes 1-", "dictionary requested")


def _set(params, path, value):
    keys = path.split(".")
    cur = params
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur[k]
    last = keys[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value


def _get(params, path):
    cur = params
    for k in path.split("."):
        cur = cur[int(k)] if isinstance(cur, list) else cur[k]
    return cur


def option_fragments(path):
    """What the message must contain to name the option: e.g. users.0.secret ->
    ["users[0]", "secret"]; bind_address -> ["bind_address"]."""
    parts = path.split(".")
    frags = []
    cur = ""
    for p in parts:
        if p.isdigit():
            cur += "[%s]" % p
        else:
            if cur:
                frags.append(cur)
            cur = p
    frags.append(cur)
    return frags


def _splice(value, payload):
    """A valid value with the payload in its middle (after the first character
    for short values), so only the payload is wrong."""
    value = str(value)
    cut = max(1, len(value) // 2)
    if isinstance(payload, bytes):
        raw = value[:cut].encode() + payload + value[cut:].encode()
        return "{{ '%s' | b64decode }}" % base64.b64encode(raw).decode()
    return value[:cut] + payload + value[cut:]


# --------------------------------------------------------------- the modules
def _ami_base(c):
    return dict(enabled=True, bind_address="127.0.0.1", port=5038, purge_users=False,
                users=[{"name": "relmon", "secret": c.secret, "permit": [c.net], "read": ["system"],
                        "write": ["originate"]}])


def _ami_cases(c):
    def u(**kw):
        return {"users": [dict(_ami_base(c)["users"][0], **kw)]}
    return [
        ("weak-secret", u(secret="password"), ["users[0]", "secret", "upper"]),
        ("short-secret", u(secret="Ab1%"), ["users[0]", "secret", "8"]),
        ("no-digit-secret", u(secret="Abcdefgh%"), ["users[0]", "secret", "digit"]),
        ("no-special-secret", u(secret="Abcdefgh1"), ["users[0]", "secret", "special"]),
        ("dollar-secret", u(secret="Abcdef1%$x"), ["users[0]", "secret", "allowed"]),
        ("no-secret", {"users": [{"name": "relmon", "permit": [c.net]}]}, ["secret", "required"]),
        ("cidr-33", u(permit=["198.18.0.0/33"]), ["permit[0]"]),
        ("cidr-host-bits", u(permit=["198.18.0.5/24"]), ["permit[0]", "host bits"]),
        ("mask-noncontiguous", u(permit=["198.18.0.0/255.0.255.0"]), ["permit[0]", "contiguous"]),
        ("cidr-octet-300", u(permit=["198.18.0.300/32"]), ["permit[0]"]),
        ("cidr-v6-129", u(permit=["2001:db8::/129"]), ["permit[0]"]),
        ("cidr-empty", u(permit=[""]), ["permit[0]"]),
        ("cidr-negative", u(permit=["198.18.0.0/-1"]), ["permit[0]"]),
        ("port-0", {"port": 0}, ["port"]),
        ("port-65536", {"port": 65536}, ["port"]),
        ("port-negative", {"port": -1}, ["port"]),
        ("port-reserved-8090", {"port": 8090}, ["port", "reserved"]),
        ("port-ssh-22", {"port": 22}, ["port", "clash"]),
        ("port-string", {"port": "fivethousand"}, ["port", "int"]),
        ("enabled-not-bool", {"enabled": "maybe"}, ["enabled", "bool"]),
        ("users-not-list", {"users": "relmon"}, ["dictionary requested"]),  # ansible-core's words
        ("bind-hostname", {"bind_address": "pbx.example.org"}, ["bind_address"]),
        ("unknown-read", u(read=["bogus"]), ["read", "unknown"]),
        ("read-write-only-class", u(read=["originate"]), ["read", "write"]),
        ("write-read-only-class", u(write=["dtmf"]), ["write", "read"]),
        ("unknown-state", u(state="gone"), ["state", "one of"]),
        ("general-user", u(name="general"), ["general"]),
        ("duplicate-user", {"users": _ami_base(c)["users"] * 2}, ["users[1]", "twice"]),
        ("unknown-option", {"colour": "red"}, ["colour"]),
    ]


def _ext_base(c):
    return dict(context="from-internal", voicemail_context="default", purge=False,
                extensions=[{"number": "3901", "name": "Rel Desk", "username": "rel3901", "authname": "rel3901a",
                             "secret": c.secret, "permit": [c.net], "email": "desk@example.org", "pin": "8474",
                             "context": "from-internal"},
                            {"number": "3902", "secret": c.secret, "auth_user": "rel3902",
                             "iax": {"enabled": True, "auth": "rsa", "rsa_key": "relkey"}}])


def _ext_cases(c):
    def e(**kw):
        b = _ext_base(c)
        b["extensions"][0].update(kw)
        return {"extensions": b["extensions"]}

    def iax(**kw):
        b = _ext_base(c)
        b["extensions"][1]["iax"].update(kw)
        return {"extensions": b["extensions"]}
    return [
        ("weak-secret", e(secret="password"), ["extensions[0]", "secret", "upper"]),
        ("short-secret", e(secret="Ab1%"), ["extensions[0]", "secret", "8"]),
        ("no-lower-secret", e(secret="ABCDEFG1%"), ["secret", "lower"]),
        ("no-digit-secret", e(secret="Abcdefgh%"), ["secret", "digit"]),
        ("no-special-secret", e(secret="Abcdefgh1"), ["secret", "special"]),
        ("dollar-secret", e(secret="Abcdefg1%$"), ["secret", "allowed"]),
        ("pin-3", e(pin="123"), ["pin", "4 digits"]),
        ("pin-letters", e(pin="12a4"), ["pin", "4 digits"]),
        ("pin-5", e(pin="12345"), ["pin", "4 digits"]),
        ("pin-run", e(pin="1234"), ["pin", "guessable", "a sequence"]),
        ("pin-repeated", e(pin="7777"), ["pin", "guessable", "one digit repeated"]),
        ("number-letters", e(number="39a1"), ["number", "digits"]),
        ("number-16", e(number="1234567890123456"), ["number", "digits"]),
        ("number-empty", e(number=""), ["number"]),
        ("name-comma", e(name="Doe, John"), ["name", "','"]),
        ("email-bad", e(email="nobody"), ["email", "e-mail"]),
        ("email-two-at", e(email="a@b@example.org"), ["email", "e-mail"]),
        ("cidr-33", e(permit=["198.18.0.0/33"]), ["permit[0]"]),
        ("cidr-host-bits", e(permit=["198.18.0.1/24"]), ["permit[0]", "host bits"]),
        ("mask-noncontiguous", e(permit=["198.18.0.0/255.255.0.255"]), ["permit[0]", "contiguous"]),
        ("cidr-garbage", e(permit=["any"]), ["permit[0]"]),
        ("iax-rc4", iax(auth="rc4"), ["iax", "rc4"]),
        ("iax-none", iax(auth="none", rsa_key=None), ["allow_no_auth"]),
        ("iax-plain-encrypted", iax(auth="plaintext", encryption=True, rsa_key=None), ["encryption"]),
        ("iax-rsa-nokey", iax(rsa_key=None), ["rsa_key", "required"]),
        ("iax-unknown-auth", iax(auth="kerberos"), ["auth", "one of"]),
        ("unknown-state", e(state="gone"), ["state", "one of"]),
        ("unknown-secret-update", e(secret_update="sometimes"), ["secret_update", "one of"]),
        ("unknown-pin-update", e(pin_update="never"), ["pin_update", "one of"]),
        ("duplicate-number", {"extensions": [_ext_base(c)["extensions"][0]] * 2}, ["extensions[1]", "twice"]),
        ("no-secret", e(secret=None), ["secret", "required"]),
        ("extensions-not-list", {"extensions": "3901"}, ["dictionary requested"]),  # ansible-core's words
        ("purge-not-bool", {"purge": "perhaps"}, ["purge", "bool"]),
        ("iax-not-dict", e(iax="yes"), ["dictionary requested"]),  # ansible-core's words
        ("unknown-ext-option", e(colour="red"), ["colour"]),
    ]


def _dhcp_base(c):
    return dict(enabled=True, interface="eth0", gateway=c.controller, subnet_mask="255.255.255.0",
                dns=[c.controller, "9.9.9.9"], range_start=c.host(100), range_end=c.host(199), lease_time=3600,
                tftp_server=c.ip, vendor_format="raw_ip", ntp_server=c.controller,
                reservations=[{"mac": "00:0b:82:aa:bb:cc", "address": c.host(150)}],
                vendor_classes=[{"name": "yealink", "match": "yealink", "vendor_format": "tftp_url"},
                                {"name": "polycom", "mac_prefix": "00:04:f2", "vendor_format": "raw_ip"}])


def _dhcp_cases(c):
    return [
        ("range-outside", {"range_start": "198.255.1.100", "range_end": "198.255.1.199"}, ["range_start", "outside"]),
        ("start-after-end", {"range_start": c.host(200)}, ["range_start", "after"]),
        ("mask-noncontiguous", {"subnet_mask": "255.0.255.0"}, ["subnet_mask", "contiguous"]),
        ("mask-octet-256", {"subnet_mask": "255.255.256.0"}, ["subnet_mask"]),
        ("mask-cidr-33", {"subnet_mask": "/33"}, ["subnet_mask"]),
        ("gateway-in-range", {"gateway": c.host(120)}, ["range_start", "gateway"]),
        ("gateway-outside", {"gateway": "198.255.0.1"}, ["gateway", "outside"]),
        ("pbx-in-range", {"range_start": c.host(2)}, ["range_start", "PBX"]),
        ("mac-short", {"reservations": [{"mac": "00:0b:82:aa:bb", "address": c.host(150)}]},
         ["reservations[0]", "mac", "MAC"]),
        ("mac-hex", {"reservations": [{"mac": "00:0b:82:aa:bb:zz", "address": c.host(150)}]},
         ["reservations[0]", "mac", "MAC"]),
        ("res-outside", {"reservations": [{"mac": "00:0b:82:aa:bb:cc", "address": "198.255.0.5"}]},
         ["reservations[0]", "address", "outside"]),
        ("res-dup-mac", {"reservations": [{"mac": "00:0b:82:aa:bb:cc", "address": c.host(150)},
                                          {"mac": "00:0B:82:AA:BB:CC", "address": c.host(151)}]},
         ["reservations[1]", "mac", "already"]),
        ("dns-hostname", {"dns": ["dns.example"]}, ["dns[0]", "IP address"]),
        ("dns-not-list", {"dns": {"a": 1}}, ["dns"]),
        ("missing-interface", {"interface": "eth9"}, ["interface", "does not exist"]),
        ("lease-5", {"lease_time": 5}, ["lease_time"]),
        ("lease-negative", {"lease_time": -3600}, ["lease_time"]),
        ("lease-string", {"lease_time": "a day"}, ["lease_time", "int"]),
        ("unknown-vendor-format", {"vendor_format": "url"}, ["vendor_format", "one of"]),
        ("vc-unknown-format", {"vendor_classes": [{"name": "x", "match": "x", "vendor_format": "ftp"}]},
         ["vendor_format", "one of"]),
        ("vc-missing-format", {"vendor_classes": [{"name": "x", "match": "x"}]}, ["vendor_format", "required"]),
        ("res-missing-mac", {"reservations": [{"address": c.host(150)}]}, ["mac", "required"]),
        ("enabled-not-bool", {"enabled": "sometimes"}, ["enabled", "bool"]),
    ]


def _admin_base(c):
    return dict(username="reladmin", password=c.secret, allowed_networks=[c.net], emails=["ops@example.org"],
                api_access=True, api_bind_address="0.0.0.0", ssh_keys={"present": [c.pubkey]}, shell="/bin/bash")


def _admin_cases(c):
    return [
        ("root-user", {"username": "root"}, ["username", "reserved"]),
        ("at-in-username", {"username": "pbx@admin"}, ["username", "'@'"]),
        ("weak-password", {"password": "qwertyuiop"}, ["password", "upper"]),
        ("short-password", {"password": "Ab1%"}, ["password", "8"]),
        ("internal-hash", {"password_hash": "$6$x$y"}, ["password_hash", "internal"]),
        ("cidr-33", {"allowed_networks": ["198.18.0.0/33"]}, ["allowed_networks[0]"]),
        ("cidr-host-bits", {"allowed_networks": ["198.18.50.1/24"]}, ["allowed_networks[0]", "host bits"]),
        ("mask-noncontiguous", {"allowed_networks": ["198.18.0.0/255.0.255.0"]}, ["allowed_networks[0]"]),
        ("email-bad", {"emails": ["not-an-email"]}, ["emails[0]", "e-mail"]),
        ("email-list-string", {"emails": "ops@example.org;nope"}, ["emails[0]", "e-mail"]),
        ("bad-key", {"ssh_keys": {"present": ["ssh-ed25519 AAAAnotbase64!! x"]}}, ["ssh_keys.present[0]"]),
        ("unknown-update", {"password_update": "sometimes"}, ["password_update", "one of"]),
        ("api-bind-hostname", {"api_bind_address": "api.example.org"}, ["api_bind_address"]),
        ("api-not-bool", {"api_access": "perhaps"}, ["api_access", "bool"]),
        ("shell-relative", {"shell": "bash"}, ["shell"]),
    ]


def _totp_base(c):
    return dict(user="reladmin", issuer="PBX lab", methods="password", state="enabled")


def _totp_cases(c):
    return [
        ("unknown-state", {"state": "on"}, ["state", "one of"]),
        ("unknown-methods", {"methods": "sms"}, ["methods", "one of"]),
        ("secret-given", {"secret": "JBSWY3DPEHPK3PXP"}, ["secret", "internal"]),
        ("code-letters", {"verify_code": "12ab56"}, ["verify_code"]),
        ("code-5-digits", {"verify_code": "12345"}, ["verify_code"]),
        ("root-user", {"user": "root"}, ["user"]),
        ("missing-user", {"user": None}, ["user", "must be a string"]),
    ]


def _web_base(c):
    return dict(enabled=True, protocol="https", port=8088, bind_address="0.0.0.0", cert_file=c.cert,
                key_file=c.key, security_level="high", auto_logout=15)


def _web_cases(c):
    return [
        ("port-ssh", {"port": 22}, ["port", "clash"]),
        ("port-ami", {"port": 5038}, ["port", "clash"]),
        ("port-reserved", {"port": 8090}, ["port", "reserved"]),
        ("port-70000", {"port": 70000}, ["port", "range"]),
        ("port-0", {"port": 0}, ["port"]),
        ("port-string", {"port": "http"}, ["port", "int"]),
        ("bind-300", {"bind_address": "10.0.0.300"}, ["bind_address", "IP address"]),
        ("bind-cidr", {"bind_address": "10.0.0.0/8"}, ["bind_address", "IP address"]),
        ("missing-key", {"key_file": "/etc/asterisk/keys/nope.key"}, ["key_file", "does not exist"]),
        ("no-cert", {"cert_file": None}, ["cert_file", "required"]),
        ("logout-0", {"auto_logout": 0}, ["auto_logout"]),
        ("logout-negative", {"auto_logout": -5}, ["auto_logout"]),
        ("unknown-level", {"security_level": "paranoid"}, ["security_level", "one of"]),
        ("unknown-protocol", {"protocol": "gopher"}, ["protocol", "one of"]),
    ]


def _wa_base(c):
    return dict(mode="permitted", permitted=[c.net], services=["web"])


def _wa_cases(c):
    return [
        ("unknown-mode", {"mode": "open"}, ["mode", "one of"]),
        ("unknown-service", {"services": ["telnet"]}, ["services", "one or more of"]),
        ("cidr-33", {"permitted": ["198.18.0.0/33"]}, ["permitted[0]"]),
        ("cidr-host-bits", {"permitted": ["198.18.0.1/24"]}, ["permitted[0]"]),
        ("permitted-empty", {"permitted": []}, ["permitted"]),
        ("extra-port-0", {"extra_ports": [0]}, ["extra_ports[0]"]),
        ("extra-port-70000", {"extra_ports": [70000]}, ["extra_ports[0]"]),
        ("extra-port-string", {"extra_ports": ["web"]}, ["extra_ports"]),
        ("missing-mode", {"mode": None}, ["mode", "required"]),
        ("sip-flood-pps-0", {"sip_flood": {"enabled": True, "packets_per_second": 0}},
         ["sip_flood.packets_per_second", "out of range"]),
        ("sip-flood-ban-5", {"sip_flood": {"enabled": True, "ban_seconds": 5}}, ["sip_flood.ban_seconds"]),
        ("sip-flood-ban-string", {"sip_flood": {"enabled": True, "ban_seconds": "long"}}, ["ban_seconds"]),
        ("sip-flood-exempt-33", {"sip_flood": {"enabled": True, "exempt": ["198.18.0.0/33"]}},
         ["sip_flood.exempt[0]"]),
    ]


def _hs_base(c):
    return dict(service="tftp", state="enabled", address=c.ip, root_dir="/srv/tftp")


FTP = {"service": "ftp", "address": None, "root_dir": None}


def _hs_cases(c):
    return [
        ("unknown-service", {"service": "telnet"}, ["service", "one of"]),
        ("unknown-state", {"state": "on"}, ["state", "one of"]),
        ("port-0", dict(FTP, port=0), ["port"]),
        ("port-70000", dict(FTP, port=70000), ["port", "range"]),
        ("port-ami-clash", dict(FTP, port=5038), ["port", "clash"]),
        ("port-reserved", dict(FTP, port=8090), ["port", "reserved"]),
        ("ssh-port-5038", dict(FTP, service="ssh", port=5038), ["port", "clash"]),
        ("tftp-port", {"port": 70}, ["port", "69"]),
        ("address-bad", {"address": "10.0.0.300"}, ["address"]),
        ("address-hostname", {"address": "tftp.example.org"}, ["address"]),
        ("root-relative", {"root_dir": "srv/tftp"}, ["root_dir"]),
        ("port-string", dict(FTP, port="tftp"), ["port", "int"]),
    ]


MODULES = {
    "ami": {"base": _ami_base, "cases": _ami_cases,
            "strings": ["bind_address", "users.0.name", "users.0.secret", "users.0.permit.0", ("users.0.read.0", ["users[0]", "read"]),
                        ("users.0.write.0", ["users[0]", "write"])]},
    "extension": {"base": _ext_base, "cases": _ext_cases,
                  "strings": ["context", "voicemail_context", "extensions.0.number", "extensions.0.name",
                              "extensions.0.username", "extensions.0.authname", "extensions.0.secret",
                              "extensions.0.permit.0", "extensions.0.email", "extensions.0.pin",
                              "extensions.0.context", "extensions.1.auth_user", "extensions.1.iax.rsa_key"]},
    "dhcp": {"base": _dhcp_base, "cases": _dhcp_cases,
             "strings": ["interface", "gateway", "subnet_mask", "dns.0", "range_start", "range_end", "tftp_server",
                         "ntp_server", "reservations.0.mac", "reservations.0.address", "vendor_classes.0.name",
                         "vendor_classes.0.match", "vendor_classes.1.mac_prefix"]},
    "admin": {"base": _admin_base, "cases": _admin_cases,
              "strings": ["username", "password", "allowed_networks.0", "emails.0", "ssh_keys.present.0",
                          "api_bind_address", "shell"]},
    "totp": {"base": _totp_base, "cases": _totp_cases, "strings": ["user", "issuer"]},
    "web": {"base": _web_base, "cases": _web_cases, "strings": ["bind_address", "cert_file", "key_file"]},
    "web_access": {"base": _wa_base, "cases": _wa_cases, "strings": ["permitted.0"]},
    "host_service": {"base": _hs_base, "cases": _hs_cases, "strings": ["address", "root_dir"]},
}


def _role_cases(c):
    """Cases for the baseline role's argument specs: (id, role vars, expected)."""
    ami_user = {"name": "relmon", "secret": c.secret, "permit": [c.net]}
    return [
        ("ami-not-dict", {"pbx_ami": "yes"}, ["pbx_ami", "dict"]),
        ("ami-port-string", {"pbx_ami": {"port": "high"}}, ["port", "int"]),
        ("ami-enabled-not-bool", {"pbx_ami": {"enabled": "sometimes"}}, ["enabled", "bool"]),
        ("ami-users-not-list", {"pbx_ami": {"users": 5}}, ["users", "list"]),
        ("ami-user-no-name", {"pbx_ami": {"users": [{"secret": c.secret}]}}, ["name", "required"]),
        ("ami-user-state", {"pbx_ami": {"users": [dict(ami_user, state="gone")]}}, ["state", "one of"]),
        ("ami-user-unknown", {"pbx_ami": {"users": [dict(ami_user, colour="red")]}}, ["colour"]),
        ("ami-unknown", {"pbx_ami": {"colour": "red"}}, ["colour"]),
        ("ext-not-dict", {"pbx_extensions": ["3001"]}, ["pbx_extensions", "dict"]),
        ("ext-list-not-list", {"pbx_extensions": {"list": "3001"}}, ["list"]),
        ("ext-purge-not-bool", {"pbx_extensions": {"purge": "maybe"}}, ["purge", "bool"]),
        ("dhcp-lease-string", {"pbx_dhcp": {"lease_time": "a day"}}, ["lease_time", "int"]),
        ("dhcp-dns-not-list", {"pbx_dhcp": {"dns": {"a": 1}}}, ["dns", "list"]),
        ("dhcp-enabled", {"pbx_dhcp": {"enabled": "often"}}, ["enabled", "bool"]),
        ("admin-update", {"pbx_admin": {"password_update": "sometimes"}}, ["password_update", "one of"]),
        ("admin-nets-not-list", {"pbx_admin": {"allowed_networks": {"net": 7}}}, ["allowed_networks", "list"]),
        ("admin-api-not-bool", {"pbx_admin": {"api_access": "perhaps"}}, ["api_access", "bool"]),
        ("admin-keys-not-dict", {"pbx_admin": {"ssh_keys": "ssh-ed25519 AAAA"}}, ["ssh_keys", "dict"]),
        ("totp-state", {"pbx_totp": {"state": "on"}}, ["state", "one of"]),
        ("verify-severity", {"pbx_verify": {"max_severity": "apocalyptic"}}, ["max_severity", "one of"]),
        ("min-asterisk-string", {"pbx_min_asterisk": "twenty"}, ["pbx_min_asterisk", "int"]),
        ("policy-not-dict", {"pbx_password_policy": "weak"}, ["pbx_password_policy", "dict"]),
        ("policy-allow-weak", {"pbx_password_policy": {"allow_weak": "please"}}, ["allow_weak", "bool"]),
        ("unknown-policy-key", {"pbx_password_policy": {"allow_everything": True}}, ["allow_everything"]),
    ]


class Ctx(object):
    def __init__(self, ip, controller, cert, key, pubkey, secret):
        self.ip = ip
        self.controller = controller
        self.net = ip.rsplit(".", 1)[0] + ".0/24"
        self.cert = cert
        self.key = key
        self.pubkey = pubkey
        self.secret = secret

    def host(self, last):
        return "%s.%d" % (self.ip.rsplit(".", 1)[0], last)


def module_cases(ctx, only=None):
    """Every module case as dicts: id, module, kind, params, expect (fragments),
    rule_any (one of these words must appear; None = RULE_WORDS)."""
    out = []
    for mod, spec in sorted(MODULES.items()):
        if only and mod not in only:
            continue
        base = spec["base"](ctx)
        for path in spec["strings"]:
            expect = None
            if isinstance(path, tuple):
                path, expect = path
            valid = _get(base, path)
            for pid, (payload, rules) in INJECTIONS.items():
                params = copy.deepcopy(base)
                _set(params, path, _splice(valid, payload))
                out.append({"id": "%s/%s/%s" % (mod, path, pid), "module": mod, "kind": "injection:" + pid,
                            "params": params, "expect": expect or option_fragments(path), "rule_any": list(rules)})
        for cid, override, expect in spec["cases"](ctx):
            params = copy.deepcopy(base)
            for k, v in override.items():
                if v is None:
                    params.pop(k, None)
                else:
                    params[k] = copy.deepcopy(v)
            # None inside nested overrides removes the key
            for ext in params.get("extensions", []) if isinstance(params.get("extensions"), list) else []:
                for k in [k for k, v in ext.items() if v is None]:
                    ext.pop(k)
                if isinstance(ext.get("iax"), dict):
                    for k in [k for k, v in ext["iax"].items() if v is None]:
                        ext["iax"].pop(k)
            out.append({"id": "%s/%s" % (mod, cid), "module": mod, "kind": "case", "params": params,
                        "expect": expect, "rule_any": None})
    return out


def role_cases(ctx):
    return [{"id": "role/%s" % cid, "module": "role:baseline", "kind": "argument_spec", "vars": v,
             "expect": expect, "rule_any": None} for cid, v, expect in _role_cases(ctx)]


def task_for(case):
    """The Ansible task of one case (ignore_errors: the batch goes on)."""
    if case["module"].startswith("role:"):
        # exactly what the role's injected validation task does, without running the role
        return {"name": case["id"], "ansible.builtin.validate_argument_spec": {
            "argument_spec": "{{ (lookup('file', '%s') | from_yaml).argument_specs.main.options }}" % ROLE_SPECS,
            "provided_arguments": case["vars"]}, "ignore_errors": True}
    return {"name": case["id"], "pbxguard.asterisk." + case["module"]: case["params"], "ignore_errors": True}


def check_message(case, msg):
    """None when msg names the option and a rule, else why not."""
    missing = [f for f in case["expect"] if f not in msg]
    if missing:
        return "option/rule fragment(s) %r missing" % missing
    words = list(case["rule_any"] or []) + list(RULE_WORDS)
    if not any(w in msg for w in words):
        return "no rule named (none of %r)" % (words,)
    return None
