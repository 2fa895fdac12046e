# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _files as files
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _masking as masking
from ansible_collections.pbxguard.asterisk.plugins.module_utils._masking import Masker, kind_of

TAG = re.compile(r"<secret:[0-9a-f]{6}>")
BULK = re.compile(r"Bulk[0-9a-f]{6}-[0-9]{4}X")


def visible(text):
    """``text`` without its tags (hex: a tag may spell a short secret by chance)."""
    return TAG.sub("", text)


def lines(text):
    return text.splitlines()


# ------------------------------------------------------------ Asterisk keys
@pytest.mark.parametrize("line,secret", [
    # pjsip auth
    ("password=Pj1%secret", "Pj1%secret"),
    ("md5_cred = 0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
    ("oauth_secret = OauthS3cret", "OauthS3cret"),
    ("refresh_token=1//RefreshTok", "1//RefreshTok"),
    ("password_digest = SHA-256:abcdef0123", "SHA-256:abcdef0123"),
    # iax / manager
    ("secret = IaxS3cret!", "IaxS3cret!"),
    ("md5secret=Md5S3cret", "Md5S3cret"),
    ("dbsecret = family/key1", "family/key1"),
    # voicemail [general] IMAP, res_odbc-like, rtp, curl
    ("authpassword=ImapAuth1", "ImapAuth1"),
    ("dbpass = Mysql1pass", "Mysql1pass"),
    ("turnpassword=Turn1pass", "Turn1pass"),
    ("userpwd=user:Curl1pass", "user:Curl1pass"),
    # case as Asterisk matches it, => as =, += appends, surrounding whitespace
    ("SECRET = UpperKey1", "UpperKey1"),
    ("PassWord=>ArrowVal1", "ArrowVal1"),
    ("secret += Appended1", "Appended1"),
    ("\t  secret\t=\t  Spaced1  \t", "Spaced1"),
    # pjsip_wizard names
    ("inbound_auth/password = Wizard1", "Wizard1"),
    ("outbound_auth/password=Wizard2", "Wizard2"),
    # a value may contain '=' and ','
    ("secret = a=b,c=d1", "a=b,c=d1"),
    # commented out: still a secret
    (";secret=OldOne1", "OldOne1"),
    ("; password = OldTwo2", "OldTwo2"),
])
def test_secret_keys_masked(line, secret):
    out = Masker().text("[obj]\n" + line + "\n")
    assert secret not in visible(out)
    assert TAG.search(out)


def test_trailing_comment_kept_and_value_whole():
    m = Masker()
    out = m.text("[u]\nsecret = OldS3cret! ; rotated in May\npassword=Xyz1%abcd;c\n")
    assert "OldS3cret!" not in visible(out) and "Xyz1%abcd" not in visible(out)
    assert lines(out)[1] == "secret = %s ; rotated in May" % m.tag("OldS3cret!")
    assert lines(out)[2] == "password=%s;c" % m.tag("Xyz1%abcd")


def test_escaped_semicolon_is_part_of_the_secret():
    m = Masker()
    out = m.text("[u]\nsecret = ab\\;cd\\;ef ; note\n")
    assert lines(out)[1] == "secret = %s ; note" % m.tag("ab;cd;ef")
    for piece in ("ab", "cd", "ef"):
        assert piece not in visible(out)


def test_non_secret_keys_untouched():
    text = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n[u]\nread = system,call\nusername=1001\n"
    assert Masker().text(text) == text


def test_iax_register_line():
    m = Masker()
    out = m.text("[general]\nregister => marko:Reg1secret@pbx.example.org:4569\nregister => joe@remotehost:5656\n")
    assert lines(out)[1] == "register => marko:%s@pbx.example.org:4569" % m.tag("Reg1secret")
    assert lines(out)[2] == "register => joe@remotehost:5656"


def test_hand_written_objects_in_whole_files():
    """Managed and hand-written objects alike: the rule is by key, over the
    whole text the module rewrites."""
    pjsip = ("; hand-written trunk\n[trunk-auth]\ntype=auth\nauth_type=digest\nusername=trunk\n"
             "password = Tr4nk!hand\n\n; pbxguard: extensions\n#tryinclude \"pjsip_pbxguard.conf\"\n")
    iax = "[hand-peer]\ntype=peer\nhost=198.18.0.9\nsecret=Iax!hand9\n"
    manager = "[general]\nenabled = yes\n\n[handuser]\nsecret = Mgr!hand7\nread = system\n"
    m = Masker()
    for text, secret in ((pjsip, "Tr4nk!hand"), (iax, "Iax!hand9"), (manager, "Mgr!hand7")):
        out = m.text(text, path="/etc/asterisk/x.conf")
        assert secret not in visible(out) and m.tag(secret) in out
        assert len(lines(out)) == len(lines(text))


def test_line_endings_and_final_newline_preserved():
    m = Masker()
    for text in ("[u]\r\nsecret=Crlf1\r\nread=all\r\n", "[u]\nsecret=NoEol1", "secret=Crlf2\r", "\n\n"):
        out = m.text(text)
        assert out.count("\n") == text.count("\n") and out.count("\r") == text.count("\r")
        assert "Crlf1" not in visible(out) and "NoEol1" not in visible(out) and "Crlf2" not in visible(out)


# ------------------------------------------------------------ voicemail
VOICEMAIL = """[general]
format=wav49|gsm|wav
serveremail=asterisk
maxmsg = 100
aliasescontext = myaliases
authpassword = Imap!general1
[zonemessages]
eastern=America/New_York|'vm-received' Q 'digits/at' IMp
[default]
1234 => 4242,Example Mailbox,root@localhost
1008 = 8474,Front Desk,frontdesk@example.org
alice => -9137,Alice,alice@example.org
  4200 =>   9855 , Mark Spencer,mark@example.org ; note
4300 => 3300,Ben,,,imapuser=ben|imappassword=Imap!ben2|attach=no
4400 => 0123\\;9,Escaped
[Other-Context]
5000 => 5555
; 6000 => 6066,Commented Box
[myaliases]
4242@example.org => 1234@default
"""


def test_voicemail_pins_in_every_form():
    m = Masker()
    out = m.text(VOICEMAIL, path="/etc/asterisk/voicemail.conf")
    for pin in ("4242,", "8474", "9137", "9855", "3300", "5555", "6066", "0123"):
        assert pin not in visible(out), pin
    assert "Imap!ben2" not in visible(out) and "Imap!general1" not in visible(out)
    got = lines(out)
    assert got[9] == "1234 => %s,Example Mailbox,root@localhost" % m.tag("4242")
    assert got[10] == "1008 = %s,Front Desk,frontdesk@example.org" % m.tag("8474")
    # the '-' (user may not change the PIN) stays readable, the PIN does not
    assert got[11] == "alice => -%s,Alice,alice@example.org" % m.tag("9137")
    assert got[12] == "  4200 =>   %s , Mark Spencer,mark@example.org ; note" % m.tag("9855")
    assert got[13] == "4300 => %s,Ben,,,imapuser=ben|imappassword=%s|attach=no" % (m.tag("3300"), m.tag("Imap!ben2"))
    assert got[14] == "4400 => %s,Escaped" % m.tag("0123;9")


def test_voicemail_general_zonemessages_and_aliases_are_not_mailboxes():
    out = Masker().text(VOICEMAIL, path="/etc/asterisk/voicemail.conf")
    for line in ("format=wav49|gsm|wav", "serveremail=asterisk", "maxmsg = 100",
                 "eastern=America/New_York|'vm-received' Q 'digits/at' IMp",
                 "4242@example.org => 1234@default"):
        assert line in lines(out)


def test_voicemail_without_path_recognised_by_zonemessages():
    """Callers that pass no path (the modules before the change transaction)
    still get PINs masked: voicemail.conf is the file with [zonemessages]."""
    assert kind_of(None, VOICEMAIL) == masking.VOICEMAIL
    assert kind_of(None, "[general]\nenabled=yes\n") == masking.ASTERISK
    out = Masker().text(VOICEMAIL)
    assert "9137" not in visible(out) and "5555" not in visible(out)


def test_voicemail_field_masked_before_is_not_masked_twice():
    m = Masker()
    once = m.text("[zonemessages]\n[default]\n1008 => %s,Desk\n" % m.tag("8474"))
    assert lines(once)[2] == "1008 => %s,Desk" % m.tag("8474")


def test_meetme_pins():
    m = Masker()
    out = m.text("[rooms]\nconf => 1234,5678,9012\nconf => 2345\n", path="/etc/asterisk/meetme.conf")
    assert lines(out)[1] == "conf => 1234,%s,%s" % (m.tag("5678"), m.tag("9012"))
    assert lines(out)[2] == "conf => 2345"


# ------------------------------------------------------------ other daemons
def test_msmtprc_password_with_a_space():
    m = Masker()
    text = ("defaults\ntls on\naccount pbx\nhost smtp.example.org\nuser pbx@example.org\n"
            "password Sm7p!pass\n\tpassword   \"with space 1\"  \n#password Old!pass3\n"
            "passwordeval gpg -d ~/.pw.gpg\naccount default : pbx\n")
    out = m.text(text, path="/etc/msmtprc")
    for s in ("Sm7p!pass", "with space 1", "Old!pass3", "gpg -d"):
        assert s not in visible(out)
    got = lines(out)
    assert got[5] == "password " + m.tag("Sm7p!pass")
    assert got[6] == "\tpassword   " + m.tag("with space 1") + "  "
    assert "user pbx@example.org" in got and "host smtp.example.org" in got


def test_kea_json_passwords():
    m = Masker()
    text = '{"Dhcp4": {"lease-database": {"type": "postgresql", "user": "kea", "password": "Ke4!db"},\n' \
           '"interfaces-config": {"interfaces": ["eth0"]}}}\n'
    out = m.text(text, path="/etc/kea/kea-dhcp4.conf")
    assert "Ke4!db" not in visible(out) and '"user": "kea"' in out and '"interfaces": ["eth0"]' in out


def test_google_authenticator_secret_and_scratch_codes():
    m = Masker()
    text = 'JBSWY3DPEHPK3PXPJBSWY3DP\n" RATE_LIMIT 3 30\n" TOTP_AUTH\n12345678\n'
    out = m.text(text, path="/home/u/.google_authenticator")
    assert "JBSWY3DP" not in visible(out) and "12345678" not in visible(out) and '" TOTP_AUTH' in out


# ------------------------------------------------------------ extra values
def test_extra_values_wherever_they_appear():
    m = Masker(extra_values=["Sup3r!Secret", "Other%Val9"])
    out = m.text("exten => 1,1,Set(X=Sup3r!Secret)\nsame => n,Dial(PJSIP/x,,Other%Val9Other%Val9)\n"
                 "; Sup3r!Secret in a comment\nusername=Sup3r!Secret\n", path="/etc/asterisk/extensions.conf")
    assert "Sup3r!Secret" not in visible(out) and "Other%Val9" not in visible(out)
    assert out.count(m.tag("Sup3r!Secret")) == 3 and out.count(m.tag("Other%Val9")) == 2


def test_extra_value_longest_match_wins_and_tags_are_not_rescanned():
    m = Masker(extra_values=["abcdef12", "abcdef1234", "secret"])
    out = m.text("x=abcdef1234 y=abcdef12\n")
    assert out == "x=%s y=%s\n" % (m.tag("abcdef1234"), m.tag("abcdef12"))
    # "secret" is a value too: the key's name is masked like any occurrence, but
    # the tags (which spell "<secret:...>") are never searched again
    out = m.text("[u]\nsecret=Zz9!zzzz\n")
    assert lines(out)[1] == "%s=%s" % (m.tag("secret"), m.tag("Zz9!zzzz"))


def test_extra_values_short_long_multiline_and_escaped():
    m = Masker(extra_values=["1234", "", None, "-----BEGIN KEY-----\nMIIEabc\n-----END KEY-----", "ab;cd12",
                             b"Byt3s!val", 987654321])
    out = m.text("pin 1234 here\nMIIEabc\nexten => s,1,Set(P=ab\\;cd12)\nx Byt3s!val 987654321\n")
    for s in ("1234", "MIIEabc", "cd12", "Byt3s!val", "987654321"):
        assert s not in visible(out)
    assert m.tag("ab;cd12") in out


def test_same_value_same_tag_key_rule_and_value_rule():
    m = Masker(extra_values=["Same!Val1"])
    out = m.text("[a]\nsecret=Same!Val1\n[b]\nsetvar=X=Same!Val1\n")
    assert out.count(m.tag("Same!Val1")) == 2


# ------------------------------------------------------------ tags
def test_tags_stable_within_one_masker_different_across():
    m = Masker()
    a = m.text("[u]\nsecret = OldS3cret!\nread = all\npassword=Xyz1%abcd ; c\n")
    b = m.text("[u]\nsecret = NewS3cret!\nread = all\npassword=Xyz1%abcd ; c\n")
    assert lines(a)[1] != lines(b)[1] and lines(a)[3] == lines(b)[3]
    assert m.tag("x") == m.tag("x") and Masker().tag("x") != Masker().tag("x")
    assert Masker().text("secret=Same1") != Masker().text("secret=Same1")


def test_files_reexports_the_masker():
    assert files.Masker is Masker and files.SECRET_KEYS is masking.SECRET_KEYS
    for key in ("password", "md5_cred", "oauth_secret", "refresh_token", "password_digest",
                "secret", "md5secret", "dbsecret"):
        assert key in files.SECRET_KEYS


def test_custom_secret_keys():
    m = Masker(secret_keys=["token"])
    out = m.text("token=Tok1\nsecret=Shown1\n")
    assert "Tok1" not in visible(out) and "Shown1" in out


# ------------------------------------------------------------ cost
def _bulk(n):
    """n extension-like blocks (pjsip endpoint, auth, aor and dialplan lines
    using the secret outside any secret key, once as a word, once inside a
    longer word, which only the search by position finds) and their secrets."""
    secrets = ["Bulk%06x-%04dX" % ((i * 2654435761) % 0xFFFFFF, i) for i in range(n)]
    text = "".join(
        "[%d]\n; pbxguard-ext: %d\ntype=endpoint\ncontext=internal\nallow=ulaw,alaw\nauth=%d\naors=%d\n"
        "callerid=\"User %d\" <%d>\n\n[%d]\ntype=auth\nusername=%d\npassword=%s\n\n[%d]\ntype=aor\n"
        "max_contacts=1\nexten => %d,1,Set(S=%s)\nsame => n,Set(T=ab%scd)\n" % (
            10000 + i, 10000 + i, 10000 + i, 10000 + i, i, 10000 + i, 10000 + i, 10000 + i, s, 10000 + i,
            10000 + i, s, s)
        for i, s in enumerate(secrets))
    return text, secrets


def test_cost_is_linear_in_the_text_not_in_the_number_of_values():
    text, secrets = _bulk(10000)
    assert text.count("\n") > 30000
    m = Masker(extra_values=secrets)
    out = m.text(text)
    assert not BULK.search(out)  # (a loop of `in` over 10,000 values would be the slow part)
    big = m.operations
    # a handful of index look-ups per character searched, whatever the number of values
    assert big <= 2 * len(text)
    few_text, few = _bulk(100)
    m = Masker(extra_values=few)
    m.text(few_text)
    per_char_few = m.operations / len(few_text)
    assert big / len(text) <= 2 * per_char_few + 0.01


def test_cost_bounded_with_short_values_among_many():
    """Short values (PINs) cannot use the prefix index: each of their few
    lengths is looked up per position, still independent of their number."""
    text, secrets = _bulk(2000)
    pins = ["%04d" % ((i * 7919) % 10000) for i in range(2000)]
    m = Masker(extra_values=secrets + pins)
    out = m.text(text)
    assert not BULK.search(out)  # (a loop of `in` over 10,000 values would be the slow part)
    # per searched position: one prefix look-up, one per candidate length, one per short length
    assert m.operations <= 4 * len(text)


def test_secret_after_a_closed_block_comment_is_masked():
    # config.c hands " secret=abc12345" on: the line is not a comment for Asterisk
    m = Masker()
    out = m.text("[u]\n;-- old --; secret = Abc12345!x\n")
    assert "Abc12345!x" not in out and "<secret:" in out
