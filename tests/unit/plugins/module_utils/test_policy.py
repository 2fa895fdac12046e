# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import random
import string

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError

OPT = "users[2] (monitor).secret"


def refused(func, value, option, *args, **kwargs):
    """The PolicyError message, after checking it starts with the option path."""
    with pytest.raises(PolicyError) as e:
        func(value, option, *args, **kwargs)
    msg = str(e.value)
    assert msg.startswith(option + ": "), msg
    return msg


def test_constants_and_error_type():
    assert policy.SECRET_SPECIALS == "!%*_-"
    assert policy.SECRET_MIN_LENGTH == 8
    assert issubclass(PolicyError, ValueError)
    assert str(PolicyError("a: b")) == "a: b"


# ------------------------------------------------------------------ secrets
@pytest.mark.parametrize("value", [
    "Str0ng!Pass", "aB3%aaaa", "Zz9_zzzzzzzz", "Q-w1eRTYuiop", "x*Y2abcd", "-----aA1", "A" * 60 + "b1!",
])
def test_secret_strong_ok(value):
    assert policy.check_secret(value, OPT) == value
    assert policy.secret_problems(value) == []


@pytest.mark.parametrize("value,rules", [
    ("", ["must not be empty"]),
    ("Ab1%", ["needs at least 8 characters"]),
    ("abcdefg1%", ["needs at least 1 upper-case letter"]),
    ("ABCDEFG1%", ["needs at least 1 lower-case letter"]),
    ("Abcdefgh%", ["needs at least 1 digit"]),
    ("Abcdefgh1", ["needs at least 1 special character of ! % * _ -"]),
    ("password", ["1 upper-case letter", "1 digit", "1 special character"]),
    ("Abcdefg1%\n", ["contains newline"]),
    ("Abcdefg1%\r", ["carriage return"]),
    ("Abcdefg1%;", ["';'"]),
    ("Abcdefg1%[", ["'['"]),
    ("Abcdefg1%]", ["']'"]),
    ("Abcdefg1%=", ["'='"]),
    ("Abcdefg1%#", ["'#'"]),
    ("Abcdefg1% ", ["space"]),
    ("Abcdefg1%\t", ["tab"]),
    ("Abcdefg1%\x00", ["NUL"]),
    ("Abcdefg1%\x07", ["control character"]),
    ("Abcdefg1%\x7f", ["control character"]),
    ("Abcdefg1%\u00e9", ["non-ASCII character"]),
    ("Abcdefg1%\u2028", ["non-printable character"]),
    ("Abcdefg\uff11%", ["non-ASCII character", "needs at least 1 digit"]),
    ("Abcdefg1%$", ["contains '$'", "allowed are only a-z A-Z 0-9 ! % * _ -"]),
    ("$$$$$$$$", ["has no allowed character", "1 upper-case letter"]),
])
def test_secret_rules_named(value, rules):
    msg = refused(policy.check_secret, value, OPT)
    for r in rules:
        assert r in msg


def test_secret_all_rules_listed_joined():
    msg = refused(policy.check_secret, "a;", OPT)
    assert msg == (OPT + ": contains ';'; allowed are only a-z A-Z 0-9 ! % * _ -; "
                   "needs at least 8 characters; needs at least 1 upper-case letter; "
                   "needs at least 1 digit; needs at least 1 special character of ! % * _ -")


@pytest.mark.parametrize("value", [None, 12345678, b"Str0ng!Pass", ["Str0ng!Pass"], True])
def test_secret_not_string(value):
    assert refused(policy.check_secret, value, OPT) == OPT + ": must be a string"
    assert refused(policy.check_secret, value, OPT, allow_weak=True) == OPT + ": must be a string"


@pytest.mark.parametrize("value", ["weak", "1234", "a", "password", "-"])
def test_secret_allow_weak_skips_strength(value):
    assert policy.check_secret(value, OPT, allow_weak=True) == value
    assert policy.secret_problems(value, allow_weak=True) == []


@pytest.mark.parametrize("value,fragment", [
    ("", "must not be empty"), ("we ak", "space"), ("weak\n[x]", "newline"), ("a;b", "';'"),
    ("a=b", "'='"), ("a#b", "'#'"), ("a\x00", "NUL"), ("[x]", "'['"), ("caf\u00e9", "non-ASCII"),
])
def test_secret_allow_weak_keeps_charset(value, fragment):
    msg = refused(policy.check_secret, value, OPT, allow_weak=True)
    assert fragment in msg
    assert "needs at least" not in msg


BAD_SECRETS = [
    "hunter2", "Qz;xW7p9", "Abcdef1%\n[evil]", "Pa55 w0rd!", "s3cr3t=X!", "$$$$$$$$", "\u00e9\u00e9\u00e9\u00e9",
    "Xy#Xy#Xy#", "zZ9;\r\n\x00!", "]]]]]]", "Tr0ub4dor&3", "correct horse battery staple",
]


@pytest.mark.parametrize("allow_weak", [False, True])
def test_secret_never_echoed(allow_weak):
    rnd = random.Random(4711)
    alphabet = string.ascii_letters + string.digits + "!%*_-;[]=# \n\t$&\x00\u00e9"
    candidates = BAD_SECRETS + ["".join(rnd.choice(alphabet) for dummy in range(12)) for dummy in range(300)]
    refusals = 0
    for value in candidates:
        try:
            policy.check_secret(value, OPT, allow_weak=allow_weak)
        except PolicyError as e:
            refusals += 1
            assert value not in str(e)[len(OPT):]
    assert refusals >= len(BAD_SECRETS) // 2


@pytest.mark.parametrize("length", [8, 9, 12, 20, 64, 128])
def test_generate_secret_passes_policy(length):
    seen = set()
    for dummy in range(500 if length == 20 else 50):
        s = policy.generate_secret(length)
        assert isinstance(s, str) and len(s) == length
        assert policy.check_secret(s, "generated") == s
        seen.add(s)
    assert len(seen) > 1


def test_generate_secret_default_length():
    assert len(policy.generate_secret()) == 20


@pytest.mark.parametrize("length", [7, 0, -1, 4, "20", None, True, 20.0])
def test_generate_secret_refuses_bad_length(length):
    with pytest.raises(PolicyError, match="^length: .*at least 8 characters"):
        policy.generate_secret(length)


# --------------------------------------------------------------------- PINs
@pytest.mark.parametrize("value", ["0247", "8474", "9130", "1235"])
def test_pin_ok(value):
    assert policy.check_pin(value, "pin", box="1008") == value


@pytest.mark.parametrize("value,why", [
    ("0000", "one digit repeated"), ("1234", "a sequence"), ("8901", "a sequence"), ("4321", "a sequence"),
    ("1212", "a repeated pattern"), ("1008", "the mailbox number"), ("8001", "the mailbox number"),
    ("2580", "a well-known PIN"),
])
def test_pin_guessable_refused_unless_allow_weak(value, why):
    msg = refused(policy.check_pin, value, "extensions[0] (1008).pin", box="1008")
    assert msg.startswith("extensions[0] (1008).pin: must not be guessable (%s)" % why), msg
    assert "allow_weak_secrets" in msg
    assert policy.check_pin(value, "pin", box="1008", allow_weak=True) == value


@pytest.mark.parametrize("value,fragment", [
    ("123", "must be exactly 4 digits"), ("12345", "must be exactly 4 digits"), ("12a4", "exactly 4 digits"),
    ("1234\n", "exactly 4 digits"), (" 123", "exactly 4 digits"), ("", "exactly 4 digits"),
    ("\uff11\uff12\uff13\uff14", "exactly 4 digits"), ("12;4", "exactly 4 digits"),
    (1234, "quote it"), (123, "leading zeros"), (None, "must be a string"), (12.34, "must be a string"),
    (True, "must be a string"),
])
def test_pin_bad(value, fragment):
    assert fragment in refused(policy.check_pin, value, "extensions[0] (1008).pin")
    # the format rules hold even with the weak switch on
    assert fragment in refused(policy.check_pin, value, "extensions[0] (1008).pin", allow_weak=True)


# -------------------------------------------------------------------- ports
@pytest.mark.parametrize("value,expected", [
    (1, 1), (5038, 5038), ("5060", 5060), (65535, 65535), ("65535", 65535), ("0443", 443),
])
def test_port_ok(value, expected):
    assert policy.check_port(value, "port") == expected


@pytest.mark.parametrize("value,fragment", [
    (0, "port 0 is out of range 1-65535"), (65536, "out of range"), (-1, "out of range"),
    ("0", "out of range"), ("99999", "out of range"),
    (8090, "port 8090 is reserved"), ("8090", "port 8090 is reserved"),
    ("http", "port number"), ("-1", "port number"), (" 5060", "port number"), ("5060\n", "port number"),
    ("", "port number"), (True, "port number"), (False, "port number"), (None, "port number"),
    (50.5, "port number"), (5060.0, "port number"), ([5060], "port number"),
])
def test_port_bad(value, fragment):
    assert fragment in refused(policy.check_port, value, "web.port")


def test_port_custom_reserved():
    assert "port 5038 is reserved" in refused(policy.check_port, 5038, "p", reserved=(5038, 5060))
    assert policy.check_port(8090, "p", reserved=()) == 8090


# ----------------------------------------------------------------- networks
@pytest.mark.parametrize("value,expected", [
    ("198.18.0.0/24", "198.18.0.0/24"),
    ("198.18.0.0/255.255.255.0", "198.18.0.0/24"),
    ("203.0.113.7/255.255.255.255", "203.0.113.7/32"),
    ("203.0.113.7", "203.0.113.7/32"),
    ("203.0.113.7/32", "203.0.113.7/32"),
    ("10.0.0.0/8", "10.0.0.0/8"),
    ("10.0.0.0/255.0.0.0", "10.0.0.0/8"),
    ("0.0.0.0/0", "0.0.0.0/0"),
    ("0.0.0.0/0.0.0.0", "0.0.0.0/0"),
    ("2001:db8::/32", "2001:db8::/32"),
    ("2001:DB8:0:0::/64", "2001:db8::/64"),
    ("2001:0db8:0000::/48", "2001:db8::/48"),
    ("::1", "::1/128"),
    ("::/0", "::/0"),
    ("fe80::1/128", "fe80::1/128"),
    ("::198.18.0.1", "::c612:1/128"),
    ("64:ff9b::198.18.0.1", "64:ff9b::c612:1/128"),
])
def test_network_ok(value, expected):
    assert policy.parse_network(value, "permit[0]") == expected


@pytest.mark.parametrize("value,fragment", [
    ("198.18.0.5/24", "host bits set; did you mean 198.18.0.0/24?"),
    ("198.18.0.5/255.255.255.0", "host bits set; did you mean 198.18.0.0/24?"),
    ("2001:db8::1/32", "host bits set; did you mean 2001:db8::/32?"),
    ("198.18.0.0/255.0.255.0", "netmask 255.0.255.0 is not contiguous"),
    ("198.18.0.0/255.255.255.1", "netmask 255.255.255.1 is not contiguous"),
    ("198.18.0.0/33", "is not an IP address, IP/prefix or IP/netmask"),
    ("2001:db8::/129", "is not an IP address, IP/prefix or IP/netmask"),
    ("2001:db8::/255.255.0.0", "is not an IP address"),
    ("198.18.0.0/255.255.256.0", "is not an IP address"),
    ("198.18.0.0/", "is not an IP address"),
    ("198.18.0.0/-1", "is not an IP address"),
    ("198.18.0.0/24/8", "is not an IP address"),
    ("198.18.0.256", "is not an IP address"),
    ("010.0.0.0/8", "is not an IP address"),
    ("example.org", "is not an IP address"),
    ("198.18.0.0/24\npermit=0.0.0.0/0", "is not an IP address"),
    (" 198.18.0.0/24", "is not an IP address"),
    ("198.18.0.0/24 ", "is not an IP address"),
    ("fe80::1%eth0", "is not an IP address"),
    ("fe80::1%a\n[x]/128", "is not an IP address"),
    ("2001:db8:::/32", "is not an IP address"),
    ("::ffff:198.18.0.1", "an IPv4-mapped IPv6 address is not allowed; use its IPv4 form 198.18.0.1/32"),
    ("::ffff:198.18.0.0/120", "an IPv4-mapped IPv6 address is not allowed; use its IPv4 form 198.18.0.0/24"),
    ("::ffff:c612:5/120", "an IPv4-mapped IPv6 address is not allowed; use its IPv4 form 198.18.0.0/24"),
    ("::ffff:0:0/96", "an IPv4-mapped IPv6 address is not allowed; use its IPv4 form 0.0.0.0/0"),
    ("::ffff:010.0.0.1", "is not an IP address"),
    ("", "is not an IP address"),
    (None, "must be a string"),
    (3232235520, "must be a string"),
])
def test_network_bad(value, fragment):
    assert fragment in refused(policy.parse_network, value, "users[0] (monitor).permit[0]")


@pytest.mark.parametrize("value", [
    "255.255.255.0", "255.255.0.0", "255.255.255.252", "255.255.255.128", "128.0.0.0", "0.0.0.0",
    "255.255.255.255",
])
def test_netmask_ok(value):
    assert policy.check_netmask(value, "subnet_mask") == value


@pytest.mark.parametrize("value,fragment", [
    ("255.0.255.0", "netmask 255.0.255.0 is not contiguous"), ("255.255.255.1", "not contiguous"),
    ("0.255.255.255", "not contiguous"), ("24", "is not a dotted IPv4 netmask"),
    ("255.255.255", "dotted IPv4 netmask"), ("255.255.255.000", "dotted IPv4 netmask"),
    ("ffff:ffff::", "dotted IPv4 netmask"), ("255.255.255.0\n", "dotted IPv4 netmask"),
    (None, "must be a string"),
])
def test_netmask_bad(value, fragment):
    assert fragment in refused(policy.check_netmask, value, "subnet_mask")


@pytest.mark.parametrize("value,version,expected", [
    ("127.0.0.1", None, "127.0.0.1"), ("0.0.0.0", 4, "0.0.0.0"), ("::", None, "::"),
    ("::1", 6, "::1"), ("2001:DB8::0001", None, "2001:db8::1"), ("198.18.0.1", 4, "198.18.0.1"),
])
def test_ip_ok(value, version, expected):
    assert policy.check_ip(value, "bind_address", version=version) == expected


@pytest.mark.parametrize("value,version,fragment", [
    ("::1", 4, "must be an IPv4 address"), ("198.18.0.1", 6, "must be an IPv6 address"),
    ("localhost", None, "is not an IP address"), ("1.2.3.4\n", None, "is not an IP address"),
    ("0.0.0.0\nenabled=yes", None, "is not an IP address"), ("01.2.3.4", None, "is not an IP address"),
    ("fe80::1%eth0", None, "is not an IP address"), ("198.18.0.0/24", None, "is not an IP address"),
    ("::ffff:198.18.0.1", None, "an IPv4-mapped IPv6 address is not allowed; use its IPv4 form 198.18.0.1"),
    ("::ffff:c612:1", 6, "an IPv4-mapped IPv6 address is not allowed; use its IPv4 form 198.18.0.1"),
    ("", None, "is not an IP address"), (2130706433, None, "must be a string"),
])
def test_ip_bad(value, version, fragment):
    assert fragment in refused(policy.check_ip, value, "bind_address", version=version)


# ------------------------------------------------------------------- names
@pytest.mark.parametrize("value", ["monitor", "1008", "from-internal", "a.b@c+d_e", "-lead", "x" * 80])
def test_name_ok(value):
    assert policy.check_name(value, "name") == value


@pytest.mark.parametrize("value,fragment", [
    ("a\nb", "contains newline"), ("a[b", "contains '['"), ("a]b", "contains ']'"), ("a;b", "contains ';'"),
    ("a=b", "contains '='"), ("a#b", "contains '#'"), ("a b", "contains space"), ("a\tb", "tab"),
    ("a\x00", "NUL"), ("a\x1b", "control character"), ("\u00e9", "non-ASCII"), ("a/b", "'/'"),
    ("a,b", "','"), ("", "must not be empty"), ("x" * 81, "longer than 80 characters"),
    (5, "must be a string"), (None, "must be a string"),
    ("a;b", "allowed are letters, digits and _ . @ + -"),
])
def test_name_bad(value, fragment):
    assert fragment in refused(policy.check_name, value, "users[0].name")


def test_name_all_rules_and_max_length():
    msg = refused(policy.check_name, "ab]\n" + "x" * 20, "interface", max_length=15)
    assert msg == ("interface: contains newline, ']'; allowed are letters, digits and _ . @ + -; "
                   "longer than 15 characters")
    assert policy.check_name("x" * 15, "interface", max_length=15) == "x" * 15


# -------------------------------------------------------------------- text
@pytest.mark.parametrize("value,forbid", [
    ("Front Desk", ","), ("J\u00f6rg M\u00fcller", ","), ("Room 101 (north)", ","), ("a+b @1", ","),
    ("Doe, John", ""), ("x" * 200, ","),
])
def test_text_ok(value, forbid):
    assert policy.check_text(value, "name", forbid=forbid) == value


@pytest.mark.parametrize("value,forbid,fragment", [
    ("a\nb", "", "must not contain newline"), ("a;b", "", "';'"), ("a[b", "", "'['"), ("a]b", "", "']'"),
    ("a\rb", "", "carriage return"), ("a\x00b", "", "NUL"), ("a\tb", "", "tab"),
    ("a\x1bb", "", "control character"), ("a\u2028b", "", "non-printable"),
    ("a=b", "", "'='"), ("Desk #include x", "", "'#'"), ("a\udcffb", "", "byte that is not UTF-8"),
    ("Doe, John", ",", "must not contain ','"), ("a|b", ',"<>|', "'|'"),
    (" lead", "", "must not start or end with whitespace"), ("trail ", "", "whitespace"),
    ("x" * 201, "", "longer than 200 characters"), ("", "", "must not be empty"), (42, "", "must be a string"),
])
def test_text_bad(value, forbid, fragment):
    assert fragment in refused(policy.check_text, value, "extensions[0] (1008).name", forbid=forbid)


def test_text_defaults_and_all_rules():
    assert "','" in refused(policy.check_text, "Doe, John", "name")
    msg = refused(policy.check_text, " Evil\n[general] ", "name", max_length=5)
    assert msg == ("name: must not contain newline, '[', ']'; must not start or end with whitespace; "
                   "longer than 5 characters")


# ------------------------------------------------------------------- e-mail
@pytest.mark.parametrize("value", ["ops@example.org", "a.b+c@sub.example.co.uk", "x_y-z@mail-1.example.de"])
def test_email_ok(value):
    assert policy.check_email(value, "email") == value


@pytest.mark.parametrize("value,fragment", [
    ("no-at.example.org", "is not an e-mail address"), ("a@b", "is not an e-mail address"),
    ("a@@example.org", "e-mail"), ("@example.org", "e-mail"), ("a@example.", "e-mail"),
    ("a b@example.org", "space"), ("a@example.org;x", "';'"), ("a,b@example.org", "','"),
    ("a@example.org\n[x]", "newline"), ("", "must not be empty"), (None, "must be a string"),
])
def test_email_bad(value, fragment):
    assert fragment in refused(policy.check_email, value, "extensions[0] (1008).email")


# ------------------------------------------------------------------ choices
@pytest.mark.parametrize("values,allowed", [
    (["md5"], ("md5", "rsa")), ([], ("md5",)), (["rsa", "md5"], ["md5", "rsa"]), (("md5",), {"md5", "rsa"}),
])
def test_choices_ok(values, allowed):
    assert policy.check_choices(values, "auth", allowed) == list(values)


@pytest.mark.parametrize("values,allowed,expected", [
    (["rc4"], ("md5", "rsa"), "auth: unknown 'rc4'; allowed: md5, rsa"),
    (["md5", "rc4", "x", "rc4"], ("md5", "rsa"), "auth: unknown 'rc4', 'x'; allowed: md5, rsa"),
    (["z"], {"rsa", "md5"}, "auth: unknown 'z'; allowed: md5, rsa"),
    ("md5", ("md5",), "auth: must be a list"),
    (None, ("md5",), "auth: must be a list"),
])
def test_choices_bad(values, allowed, expected):
    assert refused(policy.check_choices, values, "auth", allowed) == expected


def _secret_problems_by_walk(value, allow_weak=False):
    """secret_problems before its set-operation fast path (the reference)."""
    if not isinstance(value, str):
        return ["must be a string"]
    if value == "":
        return ["must not be empty"]
    problems = []
    bad = [c for c in value if c not in policy.SECRET_ALLOWED]
    if len(bad) == len(value):
        problems.append("has no allowed character; allowed are only a-z A-Z 0-9 ! % * _ -")
    elif bad:
        problems.append("contains %s; allowed are only a-z A-Z 0-9 ! %% * _ -" % policy._describe_chars(bad))
    if allow_weak:
        return problems
    if len(value) < policy.SECRET_MIN_LENGTH:
        problems.append("needs at least %d characters" % policy.SECRET_MIN_LENGTH)
    for pool, what in ((string.ascii_uppercase, "upper-case letter"), (string.ascii_lowercase, "lower-case letter"),
                       (string.digits, "digit"), (policy.SECRET_SPECIALS, "special character of ! % * _ -")):
        if not any(c in pool for c in value):
            problems.append("needs at least 1 %s" % what)
    return problems


def test_secret_problems_fast_path_equals_the_walk():
    """Differential: the set-operation shortcut for passing secrets gives
    what the per-character walk gives, on random strings (allowed and
    forbidden characters, every length around the minimum)."""
    rnd = random.Random(16)
    pools = ["abcxyz", "ABCXYZ", "0189", "!%*_-", " ;=\\\"'\u00e9\u00c4\t#"]
    for dummy in range(5000):
        chosen = rnd.sample(pools, rnd.randint(1, len(pools)))
        value = "".join(rnd.choice(rnd.choice(chosen)) for dummy in range(rnd.randint(0, 14)))
        for weak in (False, True):
            assert policy.secret_problems(value, weak) == _secret_problems_by_walk(value, weak), (value, weak)
