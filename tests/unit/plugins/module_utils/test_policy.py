# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError


@pytest.mark.parametrize("value", ["Str0ng!Pass", "aB3%aaaa", "Zz9_zzzzzzzz", "Q-w1eRTYuiop", "x*Y2abcd"])
def test_strong_secrets_pass(value):
    assert policy.check_secret(value, "s") == value


@pytest.mark.parametrize("value,rules", [
    ("", ["must not be empty"]),
    ("Ab1%", ["at least 8 characters (has 4)"]),
    ("abcdefg1%", ["1 upper-case letter"]),
    ("ABCDEFG1%", ["1 lower-case letter"]),
    ("Abcdefgh%", ["1 digit"]),
    ("Abcdefgh1", ["1 special character of ! % * _ -"]),
    ("password", ["1 upper-case letter", "1 digit", "1 special character"]),
    ("Abcdefg1%\n", ["newline"]),
    ("Abcdefg1%;", ["';'"]),
    ("Abcdefg1%[", ["'['"]),
    ("Abcdefg1%]", ["']'"]),
    ("Abcdefg1%=", ["'='"]),
    ("Abcdefg1%#", ["'#'"]),
    ("Abcdefg1% ", ["space"]),
    ("Abcdefg1%\x00", ["NUL"]),
    ("Abcdefg1%\x07", ["control character"]),
    ("Abcdefg1%\u00e9", ["non-ASCII character"]),
    ("Abcdefg1%$", ["'$'", "allowed are only a-z A-Z 0-9 ! % * _ -"]),
])
def test_secret_rules_named(value, rules):
    with pytest.raises(PolicyError) as e:
        policy.check_secret(value, "extensions[3] (1008).secret")
    msg = str(e.value)
    assert msg.startswith("extensions[3] (1008).secret: ")
    for r in rules:
        assert r in msg
    if len(value) >= 4:
        assert value not in msg  # never echo a secret


def test_secret_not_string():
    with pytest.raises(PolicyError, match="must be a string"):
        policy.check_secret(12345678, "s")


@pytest.mark.parametrize("value", ["weak", "1234", "a"])
def test_allow_weak_skips_strength(value):
    assert policy.check_secret(value, "s", allow_weak=True) == value


@pytest.mark.parametrize("value", ["", "we ak", "weak\n[x]", "a;b", "a=b"])
def test_allow_weak_keeps_safety(value):
    with pytest.raises(PolicyError):
        policy.check_secret(value, "s", allow_weak=True)


@pytest.mark.parametrize("length", [8, 12, 20, 64])
def test_generator_is_policy_compliant(length):
    seen = set()
    for dummy in range(500 if length == 20 else 50):
        s = policy.generate_secret(length)
        assert len(s) == length
        policy.check_secret(s, "generated")
        seen.add(s)
    assert len(seen) > 1


def test_generator_refuses_short():
    with pytest.raises(PolicyError):
        policy.generate_secret(7)


@pytest.mark.parametrize("value", ["0000", "8474", "1234"])
def test_pin_ok(value):
    assert policy.check_pin(value, "pin") == value


@pytest.mark.parametrize("value,fragment", [
    ("123", "exactly 4 digits"), ("12345", "exactly 4 digits"), ("12a4", "exactly 4 digits"),
    ("1234\n", "exactly 4 digits"), (1234, "quoted string"), ("", "exactly 4 digits"), (None, "string"),
])
def test_pin_bad(value, fragment):
    with pytest.raises(PolicyError) as e:
        policy.check_pin(value, "extensions[0] (1008).pin")
    assert fragment in str(e.value) and str(e.value).startswith("extensions[0] (1008).pin: ")


@pytest.mark.parametrize("value,expected", [(1, 1), (5038, 5038), ("5060", 5060), (65535, 65535)])
def test_port_ok(value, expected):
    assert policy.check_port(value, "port") == expected


@pytest.mark.parametrize("value,fragment", [
    (0, "out of range"), (65536, "out of range"), (-1, "out of range"), (8090, "8090 is reserved"),
    ("http", "port number"), (True, "port number"), (None, "port number"), (50.5, "port number"),
])
def test_port_bad(value, fragment):
    with pytest.raises(PolicyError) as e:
        policy.check_port(value, "web.port")
    assert fragment in str(e.value) and str(e.value).startswith("web.port: ")


def test_port_custom_reserved():
    with pytest.raises(PolicyError):
        policy.check_port(5038, "p", reserved=(5038,))
    assert policy.check_port(8090, "p", reserved=()) == 8090


@pytest.mark.parametrize("value,expected", [
    ("198.18.0.0/24", "198.18.0.0/24"),
    ("198.18.0.0/255.255.255.0", "198.18.0.0/24"),
    ("203.0.113.7/255.255.255.255", "203.0.113.7/32"),
    ("203.0.113.7", "203.0.113.7/32"),
    ("0.0.0.0/0", "0.0.0.0/0"),
    ("0.0.0.0/0.0.0.0", "0.0.0.0/0"),
    ("2001:db8::/32", "2001:db8::/32"),
    ("::1", "::1/128"),
    ("::/0", "::/0"),
    ("fe80::1/128", "fe80::1/128"),
])
def test_network_ok(value, expected):
    assert policy.parse_network(value, "permit[0]") == expected


@pytest.mark.parametrize("value,fragment", [
    ("198.18.0.5/24", "host bits set; did you mean 198.18.0.0/24?"),
    ("198.18.0.0/255.0.255.0", "netmask 255.0.255.0 is not contiguous"),
    ("198.18.0.0/33", "is not an IP address, IP/prefix or IP/netmask"),
    ("198.18.0.256", "is not an IP address"),
    ("example.org", "is not an IP address"),
    ("198.18.0.0/24\npermit=0.0.0.0/0", "is not an IP address"),
    (" 198.18.0.0/24", "is not an IP address"),
    ("", "is not an IP address"),
    ("2001:db8::1/32", "host bits set"),
    ("2001:db8::/129", "is not an IP address"),
    ("198.18.0.0/-1", "is not an IP address"),
    (None, "must be a string"),
])
def test_network_bad(value, fragment):
    with pytest.raises(PolicyError) as e:
        policy.parse_network(value, "users[0] (monitor).permit[0]")
    assert fragment in str(e.value)
    assert str(e.value).startswith("users[0] (monitor).permit[0]: ")


@pytest.mark.parametrize("value", ["255.255.255.0", "255.255.0.0", "255.255.255.252", "0.0.0.0", "255.255.255.255"])
def test_netmask_ok(value):
    assert policy.check_netmask(value, "subnet_mask") == value


@pytest.mark.parametrize("value", ["255.0.255.0", "255.255.255.1", "0.255.255.255", "24", "255.255.255"])
def test_netmask_bad(value):
    with pytest.raises(PolicyError) as e:
        policy.check_netmask(value, "subnet_mask")
    assert str(e.value).startswith("subnet_mask: ")


@pytest.mark.parametrize("value,version,ok", [
    ("127.0.0.1", None, True), ("::", None, True), ("0.0.0.0", 4, True), ("::1", 4, False),
    ("198.18.0.1", 6, False), ("localhost", None, False), ("1.2.3.4\n", None, False),
])
def test_check_ip(value, version, ok):
    if ok:
        assert policy.check_ip(value, "bind_address", version=version)
    else:
        with pytest.raises(PolicyError, match="^bind_address: "):
            policy.check_ip(value, "bind_address", version=version)


@pytest.mark.parametrize("value", ["monitor", "1008", "from-internal", "a.b@c+d_e"])
def test_name_ok(value):
    assert policy.check_name(value, "name") == value


@pytest.mark.parametrize("value,fragment", [
    ("a\nb", "newline"), ("a[b", "'['"), ("a]b", "']'"), ("a;b", "';'"), ("a=b", "'='"),
    ("a b", "space"), ("a#b", "'#'"), ("", "must not be empty"), ("\u00e9", "non-ASCII"),
    ("a\x00", "NUL"), ("x" * 81, "longer than 80"), (5, "must be a string"),
])
def test_name_bad(value, fragment):
    with pytest.raises(PolicyError) as e:
        policy.check_name(value, "users[0].name")
    assert fragment in str(e.value)


@pytest.mark.parametrize("value", ["Front Desk", "J\u00f6rg M\u00fcller", "Room 101 (north)"])
def test_text_ok(value):
    assert policy.check_text(value, "name") == value


@pytest.mark.parametrize("value,forbid,fragment", [
    ("a\nb", "", "newline"), ("a;b", "", "';'"), ("a[b", "", "'['"), ("a\rb", "", "carriage return"),
    ("Doe, John", ",", "','"), (" lead", "", "whitespace"), ("x" * 201, "", "longer than 200"),
])
def test_text_bad(value, forbid, fragment):
    with pytest.raises(PolicyError) as e:
        policy.check_text(value, "extensions[0] (1008).name", forbid=forbid)
    assert fragment in str(e.value)


@pytest.mark.parametrize("value,ok", [
    ("ops@example.org", True), ("a.b+c@sub.example.co.uk", True), ("no-at.example.org", False),
    ("a@b", False), ("a b@example.org", False), ("a@example.org;x", False), ("a,b@example.org", False),
])
def test_email(value, ok):
    if ok:
        assert policy.check_email(value, "email") == value
    else:
        with pytest.raises(PolicyError, match="^email: "):
            policy.check_email(value, "email")


def test_choices():
    assert policy.check_choices(["md5"], "auth", ("md5", "rsa")) == ["md5"]
    with pytest.raises(PolicyError) as e:
        policy.check_choices(["rc4"], "auth", ("md5", "rsa"))
    assert "'rc4'" in str(e.value) and "md5, rsa" in str(e.value)
