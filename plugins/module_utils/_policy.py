# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

# One policy for every value that reaches a PBX config file: secrets, PINs,
# ports, networks, names, free text. Every check returns the canonical value
# or raises PolicyError("<option>: <rule>[; <rule>...]"). A secret is never
# echoed: its messages name only the offending character classes.
# Standard library only; imports on Python 3.8+.

import ipaddress
import os
import re
import secrets
import string

SECRET_SPECIALS = "!%*_-"
SECRET_MIN_LENGTH = 8
SECRET_ALLOWED = frozenset(string.ascii_letters + string.digits + SECRET_SPECIALS)
RESERVED_PORTS = (8090,)
# check_name: ASCII letters, digits and _ . @ + - (a leading '-' is allowed).
NAME_ALLOWED = frozenset(string.ascii_letters + string.digits + "_.@+-")
# check_text: always refused on top of control and non-printable characters.
TEXT_FORBIDDEN = ";[]=#"  # comment, section, key=value, #include/#exec

_NOT_NETWORK = "is not an IP address, IP/prefix or IP/netmask"
_CHAR_NAMES = {
    "\n": "newline", "\r": "carriage return", "\x00": "NUL", "\t": "tab", " ": "space",
}
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_RE = re.compile(r"^%s(?:\.%s){3}\Z" % (_OCTET, _OCTET))
_IP_CHARS_RE = re.compile(r"^[0-9A-Fa-f:.]+\Z")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\Z")


class PolicyError(ValueError):
    """A value breaks the policy; str() is '<option>: <rule>[; <rule>...]'."""


def _fail(option, problems):
    if isinstance(problems, str):
        problems = [problems]
    raise PolicyError("%s: %s" % (option, "; ".join(problems)))


def _char_name(c):
    if c in _CHAR_NAMES:
        return _CHAR_NAMES[c]
    if ord(c) < 32 or ord(c) == 127:
        return "control character"
    if 0xDC80 <= ord(c) <= 0xDCFF:  # a byte that was not UTF-8 (surrogate escape)
        return "byte that is not UTF-8"
    if ord(c) > 127:
        return "non-ASCII character" if c.isprintable() else "non-printable character"
    return "'%s'" % c


def _describe_chars(chars):
    """Names of the offending characters, in code point order, deduplicated."""
    names = []
    for c in sorted(set(chars)):
        name = _char_name(c)
        if name not in names:
            names.append(name)
    return ", ".join(names)


def _require_str(value, option):
    if not isinstance(value, str):
        _fail(option, "must be a string")
    return value


# ------------------------------------------------------------------ secrets
_UPPER, _LOWER, _DIGITS, _SPECIALS = (frozenset(string.ascii_uppercase), frozenset(string.ascii_lowercase),
                                      frozenset(string.digits), frozenset(SECRET_SPECIALS))


def secret_problems(value, allow_weak=False):
    """The rules ``value`` breaks, never quoting it ([] if it passes)."""
    if not isinstance(value, str):
        return ["must be a string"]
    chars = set(value)
    if value and chars <= SECRET_ALLOWED and (allow_weak or (
            len(value) >= SECRET_MIN_LENGTH and chars & _UPPER and chars & _LOWER and chars & _DIGITS
            and chars & _SPECIALS)):
        # a secret that passes, in set operations (the per-character walks
        # below cost 0.2 s at 10,000 extensions): the same [] they give
        return []
    if value == "":
        return ["must not be empty"]
    problems = []
    bad = [c for c in value if c not in SECRET_ALLOWED]
    if len(bad) == len(value):
        # naming every character would spell the secret out
        problems.append("has no allowed character; allowed are only a-z A-Z 0-9 ! % * _ -")
    elif bad:
        problems.append("contains %s; allowed are only a-z A-Z 0-9 ! %% * _ -" % _describe_chars(bad))
    if allow_weak:
        return problems
    if len(value) < SECRET_MIN_LENGTH:
        problems.append("needs at least %d characters" % SECRET_MIN_LENGTH)
    for pool, what in ((string.ascii_uppercase, "upper-case letter"),
                       (string.ascii_lowercase, "lower-case letter"),
                       (string.digits, "digit"),
                       (SECRET_SPECIALS, "special character of ! % * _ -")):
        if not any(c in pool for c in value):
            problems.append("needs at least 1 %s" % what)
    return problems


def check_secret(value, option, allow_weak=False):
    """Strong-secret policy. ``allow_weak`` skips the strength rules only:
    the value must still be non-empty and use only a-z A-Z 0-9 ! % * _ -."""
    problems = secret_problems(value, allow_weak)
    if problems:
        _fail(option, problems)
    return value


def generate_secret(length=20):
    """A random secret of ``length`` characters that passes check_secret."""
    if isinstance(length, bool) or not isinstance(length, int) or length < SECRET_MIN_LENGTH:
        _fail("length", "a generated secret needs at least %d characters" % SECRET_MIN_LENGTH)
    pools = (string.ascii_uppercase, string.ascii_lowercase, string.digits, SECRET_SPECIALS)
    alphabet = "".join(pools)
    chars = [secrets.choice(p) for p in pools]
    chars += [secrets.choice(alphabet) for dummy in range(length - len(pools))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


# --------------------------------------------------------------------- PINs
TRIVIAL_PINS = set(["1212", "4242", "1357", "2468", "1004", "2000", "6969", "1122", "1313", "2580"])


def trivial_pin(pin, box=""):
    """Why a voicemail PIN is guessable, or None: shorter than 4 digits, one
    digit repeated (0000), a run up or down (1234, 5678, 7890, 4321), a short
    pattern repeated (1212, 123123), the box number itself or reversed, or a
    well-known PIN (sample 4242, keypad column 2580)."""
    if not pin.isdigit():
        return None
    if len(pin) < 4:
        return "shorter than 4 digits"
    if len(set(pin)) == 1:
        return "one digit repeated"
    steps = set((int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:]))
    if steps in ({1}, {9}):
        return "a sequence"
    for size in range(1, len(pin) // 2 + 1):
        if len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size):
            return "a repeated pattern"
    if box and pin in (box, box[::-1]):
        return "the mailbox number"
    if pin in TRIVIAL_PINS:
        return "a well-known PIN"
    return None


def generate_pin(box=""):
    """A random 4-digit PIN that check_pin accepts for mailbox ``box``."""
    while True:
        pin = "".join(secrets.choice(string.digits) for dummy in range(4))
        if not trivial_pin(pin, box):
            return pin


def check_pin(value, option, box="", allow_weak=False):
    """A voicemail PIN: exactly 4 digits, given as a (quoted) string, and not
    guessable (see trivial_pin) unless ``allow_weak`` (the module's explicit
    weak-password switch)."""
    if isinstance(value, int) and not isinstance(value, bool):
        _fail(option, "must be a quoted string of exactly 4 digits (quote it: an unquoted "
                      "number loses leading zeros)")
    _require_str(value, option)
    if not re.match(r"^[0-9]{4}\Z", value):
        _fail(option, "must be exactly 4 digits")
    why = None if allow_weak else trivial_pin(value, box)
    if why:
        _fail(option, "must not be guessable (%s): use 4 digits that are no run, repetition, mailbox "
                      "number or well-known PIN (allow_weak_secrets: true accepts it)" % why)
    return value


# -------------------------------------------------------------------- ports
def check_port(value, option, reserved=RESERVED_PORTS):
    """A TCP/UDP port (int or string of digits) in 1-65535, not ``reserved``."""
    if isinstance(value, str) and re.match(r"^[0-9]+\Z", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(option, "must be a port number 1-65535 (an integer or a string of digits)")
    if not 1 <= value <= 65535:
        _fail(option, "port %d is out of range 1-65535" % value)
    if value in reserved:
        _fail(option, "port %d is reserved" % value)
    return value


# ----------------------------------------------------------------- networks
def _parse_ip(text):
    """ip_address() that behaves the same on every Python 3.8+: no scope
    IDs, no whitespace, no IPv4 octets with leading zeros. None if invalid."""
    if not _IP_CHARS_RE.match(text):
        return None
    if "." in text:
        v4 = text.rpartition(":")[2]
        if not _IPV4_RE.match(v4):
            return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _mask_prefix(mask):
    """Prefix length of a dotted IPv4 netmask; None if not a dotted quad,
    -1 if its bits are not contiguous."""
    if not _IPV4_RE.match(mask):
        return None
    bits = int(ipaddress.IPv4Address(mask))
    inverted = ~bits & 0xFFFFFFFF
    if inverted & (inverted + 1):
        return -1
    return 32 - inverted.bit_length()


def check_ip(value, option, version=None):
    """An IPv4 or IPv6 address (``version`` 4 or 6 to insist) -> canonical text.
    IPv4-mapped IPv6 is refused (Python versions print it differently)."""
    _require_str(value, option)
    addr = _parse_ip(value)
    if addr is None:
        _fail(option, "is not an IP address")
    if addr.version == 6 and addr.ipv4_mapped is not None:
        _fail(option, "an IPv4-mapped IPv6 address is not allowed; use its IPv4 form %s" % addr.ipv4_mapped)
    if version is not None and addr.version != version:
        _fail(option, "must be an IPv%d address" % version)
    return str(addr)


def check_netmask(value, option):
    """A dotted IPv4 netmask with contiguous bits, e.g. 255.255.255.0."""
    _require_str(value, option)
    prefix = _mask_prefix(value)
    if prefix is None:
        _fail(option, "is not a dotted IPv4 netmask")
    if prefix < 0:
        _fail(option, "netmask %s is not contiguous" % value)
    return value


def parse_network(value, option):
    """IP, IP/prefix or IPv4 IP/dotted-netmask -> canonical network text as
    Asterisk ACLs take it (198.18.0.0/24, 203.0.113.7/32, 2001:db8::/32).
    IPv4-mapped IPv6 (::ffff:a.b.c.d) is refused in favour of the IPv4 form."""
    _require_str(value, option)
    addr_text, slash, mask = value.partition("/")
    addr = _parse_ip(addr_text)
    if addr is None:
        _fail(option, _NOT_NETWORK)
    if not slash:
        prefix = addr.max_prefixlen
    elif re.match(r"^[0-9]{1,3}\Z", mask):
        prefix = int(mask)
    elif addr.version == 4 and "." in mask:
        prefix = _mask_prefix(mask)
        if prefix is None:
            _fail(option, _NOT_NETWORK)
        if prefix < 0:
            _fail(option, "netmask %s is not contiguous" % mask)
    else:
        _fail(option, _NOT_NETWORK)
    if prefix > addr.max_prefixlen:
        _fail(option, _NOT_NETWORK)
    if addr.version == 6 and addr.ipv4_mapped is not None and prefix >= 96:
        # Asterisk turns these into IPv4 rules (and refuses a /128 mask there)
        _fail(option, "an IPv4-mapped IPv6 address is not allowed; use its IPv4 form %s"
              % ipaddress.ip_network("%s/%d" % (addr.ipv4_mapped, prefix - 96), strict=False))
    net = ipaddress.ip_network("%s/%d" % (addr, prefix), strict=False)
    if net.network_address != addr:
        _fail(option, "host bits set; did you mean %s?" % net)
    return str(net)


# ------------------------------------------------------------ names & text
def check_name(value, option, max_length=80):
    """An identifier written as a section name or key (AMI user, extension,
    context): 1..max_length of ASCII letters, digits and ``_ . @ + -``."""
    _require_str(value, option)
    if not value:
        _fail(option, "must not be empty")
    problems = []
    bad = [c for c in value if c not in NAME_ALLOWED]
    if bad:
        problems.append("contains %s; allowed are letters, digits and _ . @ + -" % _describe_chars(bad))
    if len(value) > max_length:
        problems.append("longer than %d characters" % max_length)
    if problems:
        _fail(option, problems)
    return value


def check_text(value, option, max_length=200, forbid=","):
    """Free text written as a config value (a person's name, an e-mail):
    printable, none of ``; [ ] = #``, no control characters, none of ``forbid``,
    no leading or trailing whitespace, 1..max_length characters."""
    _require_str(value, option)
    if not value:
        _fail(option, "must not be empty")
    problems = []
    bad = [c for c in value if c in TEXT_FORBIDDEN or c in forbid or not c.isprintable()]
    if bad:
        problems.append("must not contain %s" % _describe_chars(bad))
    if value != value.strip():
        problems.append("must not start or end with whitespace")
    if len(value) > max_length:
        problems.append("longer than %d characters" % max_length)
    if problems:
        _fail(option, problems)
    return value


def no_expression(value, option):
    """A value Asterisk runs through its variable substitution (voicemail's
    fromstring, a caller ID name that voicemail mails and dialplans paste in)
    must not carry an expression: Asterisk evaluates ``${...}`` (variable or
    function) and ``$[...]`` (arithmetic) wherever it substitutes, so
    ``${SHELL(...)}`` would run on the PBX. A lone ``$`` (``US$ 5``) stays
    literal there and is allowed."""
    _require_str(value, option)
    for opener in ("${", "$["):
        if opener in value:
            _fail(option, "contains '%s'; Asterisk would evaluate it as an expression "
                          "(a lone '$' is fine)" % opener)
    return value


def path_component(value, option):
    """A name that becomes one component of a path (a snapshot directory, a
    key file, a per-user file): never empty, ``.``, ``..``, and no ``/`` or
    NUL, so the path it builds cannot leave its directory."""
    _require_str(value, option)
    if not value:
        _fail(option, "must not be empty (it names a file or directory)")
    if value in (".", ".."):
        _fail(option, "'%s' is not a name: as a path component it means this or the parent "
                      "directory and would leave its directory" % value)
    bad = [c for c in value if c in "/\x00"]
    if bad:
        _fail(option, "contains %s; a name that becomes part of a path has no '/' and no NUL "
                      "(it would leave its directory)" % _describe_chars(bad))
    return value


def absolute_path(value, option):
    """A host path given by a task (a config file, a drop-in directory):
    absolute, no ``.`` or ``..`` component (the path means what it says:
    the file is where the consumer looks for it, never outside its
    directory), no NUL or control character. Returns it without a trailing
    ``/``."""
    _require_str(value, option)
    bad = [c for c in value if ord(c) < 32 or ord(c) == 127]
    if bad:
        _fail(option, "contains %s; a path has no NUL, line break or control character" % _describe_chars(bad))
    if not value.startswith("/"):
        _fail(option, "must be an absolute path (starting with '/')")
    parts = value.split("/")
    if any(p in (".", "..") for p in parts):
        _fail(option, "must not contain a '.' or '..' component (give the path itself, e.g. %s)"
                      % os.path.normpath(value))
    return value.rstrip("/") or "/"


def check_email(value, option):
    """A plain ``local@domain.tld`` address that also passes check_text."""
    check_text(value, option, max_length=254, forbid=", ")
    if not _EMAIL_RE.match(value):
        _fail(option, "is not an e-mail address (local@domain.tld)")
    return value


def check_choices(values, option, allowed):
    """Every element of the list ``values`` is one of ``allowed``."""
    if not isinstance(values, (list, tuple)):
        _fail(option, "must be a list")
    unknown = []
    for v in values:
        if v not in allowed and v not in unknown:
            unknown.append(v)
    if unknown:
        shown = list(allowed) if isinstance(allowed, (list, tuple)) else sorted(allowed, key=str)
        _fail(option, "unknown %s; allowed: %s"
              % (", ".join(repr(u) for u in unknown), ", ".join(str(a) for a in shown)))
    return list(values)


# --------------------------------------------------------------- unit names
_UNIT_RE = re.compile(r"^[A-Za-z0-9:_.\\@-]{1,240}\.(service|socket|timer|target|path|mount)\Z")


def check_unit_name(value, option):
    """A systemd unit name as systemd spells them (unit_name_is_valid):
    ASCII letters, digits and ``: _ . \\ @ -``, with a type suffix."""
    _require_str(value, option)
    if not _UNIT_RE.match(value):
        _fail(option, "is not a systemd unit name (letters, digits and : _ . \\ @ -, ending in "
                      ".service, .socket, .timer, .target, .path or .mount)")
    return value


# --------------------------------------------------------------- host names
_LABEL_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")


def check_hostname(value, option):
    """A DNS host name (RFC 1123): dot-separated labels of 1-63 ASCII letters,
    digits and inner hyphens, at most 253 characters, no trailing dot, the
    last label not all digits (that would be a mistyped IPv4 address)."""
    _require_str(value, option)
    if not value:
        _fail(option, "must not be empty")
    bad = [c for c in value if not (c in string.ascii_letters or c in string.digits or c in ".-")]
    if bad:
        _fail(option, "contains %s; a host name has only letters, digits, '-' and '.'"
              % _describe_chars(bad))
    if len(value) > 253:
        _fail(option, "longer than 253 characters")
    labels = value.split(".")
    for label in labels:
        if not label:
            _fail(option, "has an empty label (leading, trailing or double dot)")
        if len(label) > 63:
            _fail(option, "label longer than 63 characters")
        if not _LABEL_RE.match(label):
            _fail(option, "label '%s' starts or ends with '-'" % label)
    if labels[-1].isdigit():
        _fail(option, "is neither a host name nor a valid IP address")
    return value


def check_host(value, option):
    """A host name (check_hostname) or an IPv4/IPv6 address (canonical text)."""
    _require_str(value, option)
    if value and _IP_CHARS_RE.match(value) and (":" in value or value.replace(".", "").isdigit()):
        return check_ip(value, option)
    return check_hostname(value, option)


USERNAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\Z")


def check_username(value, option="username"):
    """A login name usable as Linux user, sshd pattern and ARI section. Here and
    not in _admin: the admin and totp action plugins check it on the controller, and
    ansible-core's collection loader compiles every file a plugin imports afresh in
    every worker process (one per host and task; it never uses __pycache__): _admin
    and its imports are ~180 KB of source."""
    if not isinstance(value, str):
        raise PolicyError("%s: must be a string" % option)
    if "@" in value:
        raise PolicyError("%s: must not contain '@' (sshd reads user@host as a host "
                          "restriction)" % option)
    # the set of a login name (not check_name's, which allows '@' and '+'): named as it is
    bad = [c for c in value if not (c.isascii() and (c.isalnum() or c in "_.-"))]
    if bad:
        raise PolicyError("%s: contains %s; allowed are letters, digits and _ . -"
                          % (option, _describe_chars(bad)))
    check_name(value, option, max_length=32)
    # the home directory, /etc/pbxguard/admin/NAME.json and the sshd drop-ins are named after it
    path_component(value, option)
    if not USERNAME_RE.match(value):
        raise PolicyError("%s: must start with a letter or '_' and contain only letters, "
                          "digits and _ . -" % option)
    if value in ("root", "general", "asterisk"):
        raise PolicyError("%s: '%s' is reserved; pick a separate administrator account"
                          % (option, value))
    return value
