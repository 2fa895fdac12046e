# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _admin as admin
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sshd as sshd
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _totp as totp
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError


def key(comment="laptop", seed=b"k1"):
    blob = b"\x00\x00\x00\x0bssh-ed25519" + b"\x00\x00\x00\x20" + hashlib.sha256(seed).digest()
    return "ssh-ed25519 %s %s" % (base64.b64encode(blob).decode(), comment), blob


@pytest.mark.parametrize("name,ok", [("pbxadmin", True), ("PbxAdmin", True), ("_ops.1-x", True),
                                     ("pbx@admin", False), ("root", False), ("", False),
                                     ("a b", False), ("-x", False), ("x" * 33, False), (5, False)])
def test_check_username(name, ok):
    if ok:
        assert admin.check_username(name) == name
    else:
        with pytest.raises(PolicyError) as e:
            admin.check_username(name)
        assert str(e.value).startswith("username: ")


def test_at_sign_message_is_clear():
    with pytest.raises(PolicyError, match="must not contain '@'"):
        admin.check_username("a@b")


def test_split_emails():
    assert admin.split_emails("a@example.org;b@example.org") == ["a@example.org", "b@example.org"]
    assert admin.split_emails(["a@example.org", "b@example.org; a@example.org"]) == ["a@example.org", "b@example.org"]
    with pytest.raises(PolicyError, match=r"^emails\[0\]: "):
        admin.split_emails("a@example.org;nope")


def test_parse_key_fingerprint_like_ssh_keygen():
    line, blob = key()
    k = admin.parse_key(line, "k")
    assert k["type"] == "ssh-ed25519" and k["comment"] == "laptop"
    assert k["fingerprint"] == "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    for bad in ("ssh-ed25519 !!!", "ssh-foo AAAA", "ssh-rsa " + line.split()[1], "x\nssh-ed25519 AAAA"):
        with pytest.raises(PolicyError):
            admin.parse_key(bad, "k")


def test_plan_keys_exclusive_and_idempotent():
    k1, k2 = key("one", b"1")[0], key("two", b"2")[0]
    data = ('# note\nfrom="1.2.3.4" %s\n' % k2).encode()
    want = [admin.parse_key(k1, "k")]
    new, added, removed, final = admin.plan_keys(data, want, exclusive=True)
    assert len(added) == 1 and len(removed) == 1
    assert [k["comment"] for k in final] == ["one"] and b"# note" in new
    again = admin.plan_keys(new, want, exclusive=True)
    assert again[0] == new and again[1] == [] and again[2] == []
    new2, added2, removed2, final2 = admin.plan_keys(data, want, exclusive=False)
    assert removed2 == [] and len(final2) == 2


def test_render_sshd():
    assert admin.render_sshd("u", []) is None
    text = admin.render_sshd("u", ["198.18.0.0/24", "2001:db8::/32"]).decode()
    assert "Match User u Address 0.0.0.0/0,::/0,!198.18.0.0/24,!2001:db8::/32\n    DenyUsers u\n" in text
    assert admin.networks_of_dropin(text.encode(), "u") == ["198.18.0.0/24", "2001:db8::/32"]


H = "$6$rounds=100000$abcdefgh$" + "a" * 86


def test_plan_ari_add_update_remove_and_hand_written():
    new, action = admin.plan_ari(b"[general]\nenabled = no\n", "ari.conf", "adm", True, H, ["198.18.0.0/24"])
    text = new.decode()
    assert action == "added" and "enabled = yes" in text and "password_format = crypt" in text
    assert "deny = 0.0.0.0/0" in text and "permit = 198.18.0.0/24" in text
    assert admin.ari_hash_of(new, "adm") == H
    assert admin.plan_ari(new, "ari.conf", "adm", True, H, ["198.18.0.0/24"]) == (new, None)
    assert admin.plan_ari(new, "ari.conf", "adm", True, H, [])[1] == "updated"
    gone, action = admin.plan_ari(new, "ari.conf", "adm", False, None)
    assert action == "removed" and "[adm]" not in gone.decode()
    with pytest.raises(PolicyError, match="defined by hand at ari.conf:3"):
        admin.plan_ari(b"[general]\n\n[adm]\ntype=user\n", "ari.conf", "adm", True, H)


def test_validate_collects_every_error():
    with pytest.raises(PolicyError) as e:
        admin.validate(dict(username="a@b", allowed_networks=["1.2.3.4/33"], emails="x",
                            ssh_keys={"present": ["bogus"]},
                            _plan=dict(shape="pbxguard.asterisk.admin/v1", password_hash="plain")))
    msg = str(e.value)
    for opt in ("username:", "allowed_networks[0]:", "emails[0]:", "ssh_keys.present[0]:", "_plan.password_hash:"):
        assert opt in msg


def test_shadow_hash():
    assert admin.shadow_hash(b"root:*:1::\nadm:%s:2::\n" % H.encode(), "adm") == H
    assert admin.shadow_hash(b"root:*:1::\n", "adm") is None


def test_sshd_helpers():
    assert sshd.controller_address({"SSH_CONNECTION": "198.18.0.1 5000 198.18.0.11 22"})[0] == "198.18.0.1"
    assert sshd.controller_address({}) is None
    assert sshd.address_allowed("198.18.0.1", []) is True
    assert sshd.address_allowed("198.18.0.1", ["198.18.0.0/24"]) is True
    assert sshd.address_allowed("::ffff:198.18.0.1", ["198.18.0.0/24"]) is True
    assert sshd.address_allowed("198.19.0.1", ["198.18.0.0/24", "2001:db8::/32"]) is False
    assert sshd.user_denied({"denyusers": ["adm"]}, "adm") and not sshd.user_denied({}, "adm")


@pytest.mark.parametrize("code,ok", [("123456", True), (" 123 456", True), ("12345", False),
                                     ("1234567", False), ("12a456", False), (123456, False), (None, False)])
def test_check_code(code, ok):
    if ok:
        assert totp.check_code(code) == "123456"
    else:
        with pytest.raises(PolicyError, match="^verify_code: "):
            totp.check_code(code)


def test_totp_file_and_pam():
    s = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    data = totp.render_file(s)
    assert totp.parse_file(data) == (s, True)
    assert totp.parse_file(data + b'" DISALLOW_REUSE 5912345\n') == (s, True)
    assert totp.parse_file(s.encode() + b"\n") == (s, False)
    assert totp.parse_file(b"not a secret\n") == (None, False)
    pam = b"# PAM\n@include common-auth\naccount required pam_nologin.so\n"
    on = totp.plan_pam(pam, True)
    lines = on.decode().splitlines()
    assert lines.index(totp.PAM_LINE) == lines.index("@include common-auth") - 1
    assert totp.plan_pam(on, True) == on and totp.plan_pam(on, False) == pam
    assert b"AuthenticationMethods keyboard-interactive" in totp.render_dropin("u", "keyboard-interactive")


def _blob(ktype, seed):
    t = ktype.encode()
    return base64.b64encode(len(t).to_bytes(4, "big") + t + b"\x00\x00\x00\x20"
                            + hashlib.sha256(seed).digest()).decode()


def test_authorized_keys_read_as_sshd_reads_them():
    real, decoy = key("real", b"r")[0], key("decoy", b"d")[0]
    cert = "ssh-ed25519-cert-v01@openssh.com %s c" % _blob("ssh-ed25519-cert-v01@openssh.com", b"c")
    lines = [
        # a key behind options whose quoted string holds a key lookalike: sshd takes the real one
        'command="echo %s",no-pty %s' % (decoy, real),
        # an escaped quote inside the quoted option
        'command="a \\" b" %s' % key("esc", b"e")[0],
        cert,
        "rsa-sha2-512 %s r" % _blob("ssh-rsa", b"s"),
        "   \t" + key("indented", b"i")[0],
        "# " + key("commented", b"x")[0],
        'command="never closed %s' % key("unterminated", b"u")[0],
    ]
    got = [k["comment"] if k else None for _raw, k in admin.parse_authorized_keys("\n".join(lines).encode())]
    assert got == ["real", "esc", "c", "r", "indented", None, None]


def test_exclusive_removes_every_key_sshd_would_accept():
    keep = key("keep", b"k")
    planted = ['from="10.0.0.1",command="echo %s" %s' % (key("x", b"x")[0], key("planted", b"p")[0]),
               "ssh-ed25519-cert-v01@openssh.com %s cert" % _blob("ssh-ed25519-cert-v01@openssh.com", b"c")]
    data = ("\n".join(planted) + "\n").encode()
    new, added, removed, final = admin.plan_keys(data, [admin.parse_key(keep[0], "k")], exclusive=True)
    assert len(removed) == 2 and [k["comment"] for k in final] == ["keep"]
    assert b"planted" not in new and b"cert" not in new


def test_lines_split_at_lf_only_and_bytes_kept():
    data = b"# caf\xe9 \x0c note\r\n" + key("k", b"k")[0].encode() + b"\n"
    new, _a, _r, final = admin.plan_keys(data, [], exclusive=False)
    assert new == data and [k["comment"] for k in final] == ["k"]


@pytest.mark.parametrize("value, rule", [
    ("{k}\u2028ssh-ed25519 {b2} planted", "must be one line (contains U+2028"),
    ("{k}\x85x", "must be one line (contains U+0085"),
    ("{k}\x0c", "must be one line (contains U+000C"),
    ("{k}\rssh-ed25519 {b2}", "must be one line (contains U+000D"),
    (" {k}", "starts with a blank (U+0020)"),
    ("\u3000{k}", "starts with a blank (U+3000)"),
    ("#{k}", "starts with '#'"),
    ('command="id" {k}', "starts with key options ('command=\"id\"')"),
    ("no-pty,no-agent-forwarding {k}", "starts with key options"),
    ("restrict {k}", "starts with key options ('restrict')"),
    # Python's split() would cut at U+00A0 and read a key; sshd's fields end at blank/tab only
    ("ssh-ed25519\u00a0{b}", "is not a public key line"),
    ("ssh-ed25519 {b}\u00a0note", "the key data is not valid base64"),
    ("ssh-ed25519 {b}junk", "not a key sshd can load (trailing data after the key)"),
])
def test_a_key_value_sshd_would_read_otherwise_is_refused(value, rule):
    k = key("c", b"k")[0]
    b, b2 = k.split()[1], key("d", b"d")[0].split()[1]
    with pytest.raises(admin.policy.PolicyError) as e:
        admin.parse_key(value.format(k=k, b=b, b2=b2), "ssh_keys.present[0]")
    assert str(e.value).startswith("ssh_keys.present[0]: ") and rule in str(e.value), str(e.value)


def test_an_accepted_key_is_written_as_given_and_read_back_by_sshd_rules():
    k = key("c", b"k")[0]
    for value in (k, k.replace(" ", "\t", 1) + "  two  words\t", k + " caf\u00e9 \u00a0 note"):
        parsed = admin.parse_key(value, "o")
        assert parsed["line"] == value
        again = admin.sshd_key_of_line(parsed["line"])
        assert (again["type"], again["blob"]) == (parsed["type"], parsed["blob"])
