# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One policy for every value that reaches a PBX: secrets, PINs, ports,
networks, names and free text. Every check returns the canonical value or
raises PolicyError('<option>: <rule>[; <rule>...]'). A secret is never echoed."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re
import secrets
import string

SECRET_SPECIALS = "!%*_-"
SECRET_MIN_LENGTH = 8
SECRET_ALLOWED = frozenset(string.ascii_letters + string.digits + SECRET_SPECIALS)
RESERVED_PORTS = (8090,)
NAME_ALLOWED = frozenset(string.ascii_letters + string.digits + "_.@+-")

_DANGEROUS = [
    ("\n", "newline"), ("\r", "carriage return"), ("\x00", "NUL"), ("[", "'['"), ("]", "']'"),
    (";", "';'"), ("=", "'='"), ("#", "'#'"), (",", "','"), (" ", "space"), ("\t", "tab"),
]


class PolicyError(ValueError):
    pass


def _describe_chars(chars):
    """Human names of offending characters, without echoing anything else."""
    names = []
    for c in chars:
        name = dict(_DANGEROUS).get(c)
        if name is None:
            if ord(c) < 32 or ord(c) == 127:
                name = "control character"
            elif ord(c) > 127:
                name = "non-ASCII character"
            else:
                name = "'%s'" % c
        if name not in names:
            names.append(name)
    return ", ".join(names)


def _require_str(value, option):
    if not isinstance(value, str):
        raise PolicyError("%s: must be a string" % option)
    return value


# ------------------------------------------------------------------ secrets
def secret_problems(value, allow_weak=False):
    """The rules ``value`` breaks (never quoting it)."""
    problems = []
    if value == "":
        return ["must not be empty"]
    bad = sorted(set(c for c in value if c not in SECRET_ALLOWED))
    if bad:
        problems.append("contains %s; allowed are only a-z A-Z 0-9 ! %% * _ -" % _describe_chars(bad))
    if allow_weak:
        return problems
    if len(value) < SECRET_MIN_LENGTH:
        problems.append("needs at least %d characters (has %d)" % (SECRET_MIN_LENGTH, len(value)))
    if not any(c.isupper() and c.isascii() for c in value):
        problems.append("needs at least 1 upper-case letter")
    if not any(c.islower() and c.isascii() for c in value):
        problems.append("needs at least 1 lower-case letter")
    if not any(c.isdigit() and c.isascii() for c in value):
        problems.append("needs at least 1 digit")
    if not any(c in SECRET_SPECIALS for c in value):
        problems.append("needs at least 1 special character of ! % * _ -")
    return problems


def check_secret(value, option, allow_weak=False):
    """Strong-secret policy; with ``allow_weak`` only non-empty and the
    character set (so nothing can be smuggled into a config file)."""
    _require_str(value, option)
    problems = secret_problems(value, allow_weak)
    if problems:
        raise PolicyError("%s: %s" % (option, "; ".join(problems)))
    return value


def generate_secret(length=20):
    """A random secret that passes check_secret."""
    if not isinstance(length, int) or length < SECRET_MIN_LENGTH:
        raise PolicyError("length: a generated secret needs at least %d characters" % SECRET_MIN_LENGTH)
    rnd = secrets.SystemRandom()
    pools = [string.ascii_uppercase, string.ascii_lowercase, string.digits, SECRET_SPECIALS]
    chars = [secrets.choice(p) for p in pools]
    alphabet = string.ascii_letters + string.digits + SECRET_SPECIALS
    chars += [secrets.choice(alphabet) for dummy in range(length - len(chars))]
    rnd.shuffle(chars)
    return "".join(chars)


def check_pin(value, option):
    """A voicemail PIN: exactly 4 digits, given as a string."""
    if isinstance(value, bool) or isinstance(value, int):
        raise PolicyError("%s: must be a quoted string of exactly 4 digits "
                          "(an unquoted number loses leading zeros)" % option)
    _require_str(value, option)
    if not re.match(r"^[0-9]{4}\Z", value):
        raise PolicyError("%s: must be exactly 4 digits" % option)
    return value


# -------------------------------------------------------------------- ports
def check_port(value, option, reserved=RESERVED_PORTS):
    if isinstance(value, bool):
        raise PolicyError("%s: must be a port number 1-65535" % option)
    if isinstance(value, str) and re.match(r"^[0-9]+\Z", value.strip()):
        value = int(value.strip())
    if not isinstance(value, int):
        raise PolicyError("%s: must be a port number 1-65535" % option)
    if not 1 <= value <= 65535:
        raise PolicyError("%s: port %d is out of range 1-65535" % (option, value))
    if value in reserved:
        raise PolicyError("%s: port %d is reserved" % (option, value))
    return value


# ----------------------------------------------------------------- networks
def check_ip(value, option, version=None):
    """An IPv4 or IPv6 address (canonical text)."""
    _require_str(value, option)
    try:
        addr = ipaddress.ip_address(value.strip() if value.strip() == value else value)
    except ValueError:
        raise PolicyError("%s: is not an IP address" % option)
    if version is not None and addr.version != version:
        raise PolicyError("%s: must be an IPv%d address" % (option, version))
    return str(addr)


def check_netmask(value, option):
    """A dotted IPv4 netmask with contiguous bits, e.g. 255.255.255.0."""
    _require_str(value, option)
    try:
        mask = ipaddress.IPv4Address(value)
    except ValueError:
        raise PolicyError("%s: is not a dotted IPv4 netmask" % option)
    bits = int(mask)
    inverted = (~bits) & 0xFFFFFFFF
    if inverted & (inverted + 1):
        raise PolicyError("%s: netmask %s is not contiguous" % (option, value))
    return str(mask)


def parse_network(value, option):
    """IP, IP/prefix or IPv4 IP/netmask (IPv4 or IPv6) -> canonical CIDR text."""
    _require_str(value, option)
    if not value or not re.match(r"^[0-9A-Fa-f:./]+\Z", value):
        raise PolicyError("%s: is not an IP address, IP/prefix or IP/netmask" % option)
    text = value
    if "/" in text:
        addr, _sep, mask = text.partition("/")
        if "." in mask:
            try:
                ipaddress.IPv4Address(addr)
            except ValueError:
                raise PolicyError("%s: is not an IP address, IP/prefix or IP/netmask" % option)
            check_netmask(mask, option)
            text = "%s/%d" % (addr, bin(int(ipaddress.IPv4Address(mask))).count("1"))
        elif not re.match(r"^[0-9]{1,3}\Z", mask):
            raise PolicyError("%s: is not an IP address, IP/prefix or IP/netmask" % option)
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        if "has host bits set" in str(e):
            loose = ipaddress.ip_network(text, strict=False)
            raise PolicyError("%s: host bits set; did you mean %s?" % (option, loose))
        raise PolicyError("%s: is not an IP address, IP/prefix or IP/netmask" % option)
    return str(net)


# ------------------------------------------------------------ names & text
def check_name(value, option, max_length=80):
    """An identifier that becomes a section name or key: letters, digits and
    ``_ . @ + -`` only."""
    _require_str(value, option)
    if not value:
        raise PolicyError("%s: must not be empty" % option)
    bad = sorted(set(c for c in value if c not in NAME_ALLOWED))
    if bad:
        raise PolicyError("%s: contains %s; allowed are letters, digits and _ . @ + -"
                          % (option, _describe_chars(bad)))
    if len(value) > max_length:
        raise PolicyError("%s: longer than %d characters" % (option, max_length))
    return value


def check_text(value, option, max_length=200, forbid=""):
    """Free text written as a config value (a person's name, an e-mail)."""
    _require_str(value, option)
    bad = sorted(set(c for c in value if c in "\n\r\x00;[]" or ord(c) < 32 or ord(c) == 127
                     or c in forbid))
    if bad:
        raise PolicyError("%s: must not contain %s" % (option, _describe_chars(bad)))
    if value != value.strip():
        raise PolicyError("%s: must not start or end with whitespace" % option)
    if len(value) > max_length:
        raise PolicyError("%s: longer than %d characters" % (option, max_length))
    return value


_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\Z")


def check_email(value, option):
    check_text(value, option, forbid=", ")
    if not _EMAIL_RE.match(value):
        raise PolicyError("%s: is not an e-mail address (local@domain.tld)" % option)
    return value


def check_choices(values, option, allowed):
    if not isinstance(values, list):
        raise PolicyError("%s: must be a list" % option)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise PolicyError("%s: unknown %s; allowed: %s"
                          % (option, ", ".join(repr(u) for u in unknown), ", ".join(allowed)))
    return list(values)
