# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Living beside other tools: PAM rules recognised by meaning (module_utils/_pam.py,
_totp.plan_pam) and sshd drop-ins that sshd_config does not include (_sshd.find_include),
with the files other tools really write (devsec.hardening 10.6.0's sshd_config
template, community.general.pamd's spacing)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _audit as audit
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _pam as pam
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sshd as sshd
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _totp as totp

DEBIAN_PAM = b"""# PAM configuration for the Secure Shell service

# Standard Un*x authentication.
@include common-auth

# Disallow non-root logins when /etc/nologin exists.
account    required     pam_nologin.so
@include common-account
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close
session    required     pam_loginuid.so
session    optional     pam_motd.so  motd=/run/motd.dynamic
@include common-session
@include common-password
"""
COMMON_AUTH = b"auth\t[success=1 default=ignore]\tpam_unix.so nullok\nauth\trequisite\t\t\tpam_deny.so\n"


def pamd_rewrite(data):
    """What community.general.pamd writes for each rule (its PamdRule.__str__:
    the type padded to 11 columns, then control, path and args)."""
    out = []
    for ln in data.decode().splitlines():
        rule = pam.rule_of(ln) if not ln.startswith(("#", "@")) else None
        if isinstance(rule, pam.Rule):
            words = pam._words(ln.split("#", 1)[0])
            out.append(("%-11s%s %s %s" % (words[0], words[1], words[2], " ".join(words[3:]))).rstrip())
        else:
            out.append(ln)
    return ("\n".join(out) + "\n").encode()


@pytest.mark.parametrize("a,b", [
    ("auth required pam_google_authenticator.so nullok", "auth       required pam_google_authenticator.so nullok"),
    ("auth required pam_google_authenticator.so nullok", "AUTH\tRequired\t/lib/x86_64-linux-gnu/security/pam_google_authenticator.so nullok"),
    ("auth required pam_google_authenticator.so nullok",
     "auth [success=ok new_authtok_reqd=ok ignore=ignore default=bad] pam_google_authenticator.so nullok"),
    ("auth required pam_google_authenticator.so nullok",
     "auth [default=bad ignore=ignore success=ok new_authtok_reqd=ok] pam_google_authenticator.so nullok"),
    ("auth required pam_google_authenticator.so nullok echo_verification_code",
     "auth required pam_google_authenticator.so echo_verification_code nullok"),
    ("auth required pam_google_authenticator.so nullok", "-auth required pam_google_authenticator.so nullok"),
    ("auth required pam_x.so", "auth required pam_x.so # a comment"),
])
def test_same_meaning(a, b):
    assert pam.rule_of(a).meaning == pam.rule_of(b).meaning


@pytest.mark.parametrize("a,b", [
    ("auth required pam_google_authenticator.so nullok", "auth requisite pam_google_authenticator.so nullok"),
    ("auth required pam_google_authenticator.so nullok", "auth sufficient pam_google_authenticator.so nullok"),
    ("auth required pam_google_authenticator.so nullok", "auth required pam_google_authenticator.so"),
    ("auth required pam_google_authenticator.so nullok", "account required pam_google_authenticator.so nullok"),
    ("auth required pam_google_authenticator.so nullok", "auth [success=done default=bad] pam_google_authenticator.so nullok"),
])
def test_different_meaning(a, b):
    assert pam.rule_of(a).meaning != pam.rule_of(b).meaning


def test_continuation_and_comment():
    rules = pam.parse(b"auth required \\\n  pam_google_authenticator.so nullok # ours\n# auth required pam_x.so\n", "f")
    assert len(rules) == 1 and rules[0].module == "pam_google_authenticator.so" and rules[0].args == ("nullok",)


def test_bracket_argument_stays_one_word():
    rule = pam.rule_of("auth required pam_exec.so [quiet expose_authtok] /bin/true")
    assert rule.args == ("[quiet expose_authtok]", "/bin/true")


def test_plan_pam_recognises_pamd_rewrite():
    """devsec.hardening rewrites our rule through community.general.pamd: the
    next run must see it as ours (before: a second rule, the code asked twice)."""
    on = totp.plan_pam(DEBIAN_PAM, True)
    rewritten = pamd_rewrite(on)
    assert rewritten != on and b"auth       required pam_google_authenticator.so nullok" in rewritten
    assert totp.plan_pam(rewritten, True) == rewritten
    assert rewritten.count(b"pam_google_authenticator") == 1
    off = totp.plan_pam(rewritten, False)
    assert b"pam_google_authenticator" not in off and totp.PAM_COMMENT.encode() not in off


def test_plan_pam_collapses_duplicates():
    """A file the old exact-text matching left with two rules (ours and a
    rewritten copy) gets one again; the first stays where it is."""
    on = totp.plan_pam(DEBIAN_PAM, True)
    doubled = on.replace(b"@include common-auth",
                         b"%s\nauth   required   pam_google_authenticator.so   nullok\n@include common-auth"
                         % totp.PAM_COMMENT.encode())
    fixed = totp.plan_pam(doubled, True)
    assert fixed.count(b"pam_google_authenticator") == 1 and fixed.count(totp.PAM_COMMENT.encode()) == 1
    assert fixed == on


def test_stack_follows_includes():
    files = {"/etc/pam.d/sshd": totp.plan_pam(DEBIAN_PAM, True), "/etc/pam.d/common-auth": COMMON_AUTH}
    auth = pam.stack(files.get, "sshd", "auth")
    assert [r.module for r in auth] == ["pam_google_authenticator.so", "pam_unix.so", "pam_deny.so"]
    assert [r.path for r in auth][1:] == ["/etc/pam.d/common-auth"] * 2
    files["/etc/pam.d/sshd"] = b"auth include common-auth\nauth substack other\n"
    files["/etc/pam.d/other"] = b"auth required pam_warn.so\naccount required pam_deny.so\n"
    assert [r.module for r in pam.stack(files.get, "sshd", "auth")] == ["pam_unix.so", "pam_deny.so", "pam_warn.so"]


def test_pam_problem_code_asked_twice():
    files = {"/etc/pam.d/common-auth": COMMON_AUTH + b"auth required pam_google_authenticator.so\n"}
    new = totp.plan_pam(DEBIAN_PAM, True)
    problem = totp.pam_problem(files.get, new, True)
    assert "2 times" in problem and "/etc/pam.d/common-auth:3" in problem and "nothing was changed" in problem
    assert totp.pam_problem({"/etc/pam.d/common-auth": COMMON_AUTH}.get, new, True) is None
    assert totp.pam_problem({}.get, DEBIAN_PAM, True).startswith("PAM: sshd's auth stack would not ask")


# ------------------------------------------------------------ sshd include
DEBIAN_SSHD = b"""# This is the sshd server system-wide configuration file.
Include /etc/ssh/sshd_config.d/*.conf
#Port 22
KbdInteractiveAuthentication no
UsePAM yes
"""
# the shape devsec.hardening 10.6.0's opensshd.conf.j2 renders (no Include; with
# sshd_custom_options its lines come first)
DEVSEC_SSHD = b"""# Ansible managed
# Generated by Ansible role ssh_hardening
PermitRootLogin without-password
Port 22
UsePAM yes
AuthenticationMethods publickey
PasswordAuthentication no
ChallengeResponseAuthentication no
Match Group sftponly
    ForceCommand internal-sftp -l INFO -f LOCAL6 -u 0027
"""
TARGET = "/etc/ssh/sshd_config.d/pbxguard-admin-pbxadmin.conf"


def fake(files):
    def glob(pattern):
        return sorted(p for p in files if sshd.glob_matches(pattern, p))
    return files.get, glob


@pytest.mark.parametrize("line,words", [
    ("Include /etc/ssh/sshd_config.d/*.conf", ("include", ["/etc/ssh/sshd_config.d/*.conf"])),
    ("  include=sshd_config.d/*.conf", ("include", ["sshd_config.d/*.conf"])),
    ("INCLUDE = a b # comment", ("include", ["a", "b"])),
    ('Include "/etc/ssh/my dir/*.conf"', ("include", ["/etc/ssh/my dir/*.conf"])),
    ("# Include /etc/ssh/sshd_config.d/*.conf", None),
    ("", None),
])
def test_split_line(line, words):
    assert sshd.split_line(line) == words


def test_glob_matches_like_glob3():
    assert sshd.glob_matches("/etc/ssh/sshd_config.d/*.conf", TARGET)
    assert not sshd.glob_matches("/etc/ssh/*.conf", TARGET)  # '*' never crosses '/'
    assert not sshd.glob_matches("/etc/ssh/sshd_config.d/*.conf", "/etc/ssh/sshd_config.d/.hidden.conf")
    assert not sshd.glob_matches("/etc/ssh/sshd_config.d/*", "/etc/ssh/sshd_config.d")
    assert fnmatch.fnmatch(TARGET, "/etc/ssh/*.conf")  # what a naive fnmatch would say


def test_debian_config_includes_dropins():
    got = sshd.find_include(*fake({sshd.SSHD_CONFIG: DEBIAN_SSHD}), target=TARGET)
    assert got == dict(found=True, where=(sshd.SSHD_CONFIG, 2, "/etc/ssh/sshd_config.d/*.conf"), conditional=False)
    assert sshd.not_included_problem(*fake({sshd.SSHD_CONFIG: DEBIAN_SSHD}), target=TARGET, what="x") is None


def test_relative_and_nested_include():
    files = {sshd.SSHD_CONFIG: b"Include conf.d/main.conf\n", "/etc/ssh/conf.d/main.conf": b"Include sshd_config.d/*.conf\n"}
    assert sshd.find_include(*fake(files), target=TARGET)["where"] == (
        "/etc/ssh/conf.d/main.conf", 1, "/etc/ssh/sshd_config.d/*.conf")


def test_devsec_config_does_not_include():
    read, glob = fake({sshd.SSHD_CONFIG: DEVSEC_SSHD, TARGET: b"Match User pbxadmin\n"})
    assert not sshd.find_include(read, glob, TARGET)["found"]
    problem = sshd.not_included_problem(read, glob, TARGET, "the allowed networks of pbxadmin")
    assert "sshd does not read %s" % TARGET in problem and "nothing was changed" in problem
    assert "sshd_custom_options: ['Include /etc/ssh/sshd_config.d/*.conf']" in problem
    assert sshd.dropins_not_included(read, glob) == [TARGET]
    fixed = b"Include /etc/ssh/sshd_config.d/*.conf\n" + DEVSEC_SSHD
    assert sshd.dropins_not_included(*fake({sshd.SSHD_CONFIG: fixed, TARGET: b""})) == []


def test_include_inside_match_is_conditional():
    conf = DEVSEC_SSHD + b"    Include /etc/ssh/sshd_config.d/*.conf\n"
    got = sshd.find_include(*fake({sshd.SSHD_CONFIG: conf}), target=TARGET)
    assert got["found"] and got["conditional"]
    assert "only inside a Match block" in sshd.not_included_problem(*fake({sshd.SSHD_CONFIG: conf}), target=TARGET, what="x")
    after_match_all = DEVSEC_SSHD + b"Match all\nInclude /etc/ssh/sshd_config.d/*.conf\n"
    assert not sshd.find_include(*fake({sshd.SSHD_CONFIG: after_match_all}), target=TARGET)["conditional"]


def test_missing_config():
    assert "is missing" in sshd.not_included_problem({}.get, lambda p: [], TARGET, "x")


def test_first_setting_follows_order_and_aliases():
    dropin = "/etc/ssh/sshd_config.d/pbxguard-totp-pbxadmin.conf"
    files = {sshd.SSHD_CONFIG: b"Include /etc/ssh/sshd_config.d/*.conf\n" + DEVSEC_SSHD,
             dropin: b"KbdInteractiveAuthentication yes\nMatch User pbxadmin\n    AuthenticationMethods keyboard-interactive\n"}
    assert sshd.first_setting(*fake(files), keywords=sshd.KBD_KEYWORDS) == (dropin, 1, "kbdinteractiveauthentication", ["yes"])
    files[sshd.SSHD_CONFIG] = b"ChallengeResponseAuthentication no\n" + files[sshd.SSHD_CONFIG]
    assert sshd.first_setting(*fake(files), keywords=sshd.KBD_KEYWORDS)[:2] == (sshd.SSHD_CONFIG, 1)
    # a Match block of an included file ends with that file
    files[sshd.SSHD_CONFIG] = b"Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\n"
    files[dropin] = b"Match User x\n    KbdInteractiveAuthentication yes\n"
    assert sshd.first_setting(*fake(files), keywords=sshd.KBD_KEYWORDS)[:2] == (sshd.SSHD_CONFIG, 2)


def test_audit_dropin_finding():
    f = audit.audit_sshd_dropins([(TARGET, b"# managed by pbxguard.asterisk (admin pbxadmin)\n"),
                                  ("/etc/ssh/sshd_config.d/local.conf", b"X11Forwarding no\n")])
    assert [(x["id"], x["severity"], x["file"]) for x in f] == [
        ("SSH-DROPIN-NOT-INCLUDED", "high", TARGET),
        ("SSH-DROPIN-NOT-INCLUDED", "medium", "/etc/ssh/sshd_config.d/local.conf")]
    assert "sshd_custom_options" in f[0]["remediation"]


def test_audit_pam_stack_has_totp():
    files = {"/etc/pam.d/sshd": b"@include common-auth\n", "/etc/pam.d/common-auth": b"auth required pam_google_authenticator.so\n"}
    assert audit.pam_stack_has_totp(files.get)
    assert not audit.pam_stack_has_totp({"/etc/pam.d/sshd": DEBIAN_PAM}.get)


def test_admin_fails_in_the_plan_when_sshd_config_has_no_include():
    """devsec.hardening first, then the admin module: the refusal comes before
    useradd and before any write (before: account created, password set)."""
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _admin as admin
    from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils import test_admin_change as tac
    for change, params in ((admin.AdminChange(), tac.admin_params(totp=dict(state="enabled", methods="password"))),
                           (admin.AdminChange(), tac.admin_params(allowed_networks=[], api_access=False,
                                                                  totp=dict(state="enabled", methods="password")))):
        disk = tac.fresh_disk()
        disk.files[sshd.SSHD_CONFIG] = (DEVSEC_SSHD, "root", "root", 0o600)
        before = dict(disk.files)
        r, host = tac.drive(change, params, disk)
        assert r.failed and "sshd does not read /etc/ssh/sshd_config.d/pbxguard-" in r.result["msg"]
        assert "sshd_custom_options" in r.result["msg"] and "nothing was changed" in r.result["msg"]
        assert disk.files == before and not [e for e in disk.log if e[0] != "run" or e[1] != "sshd"]
        assert tac.USER not in host.accounts


def test_noop_run_fails_when_an_earlier_line_turns_keyboard_interactive_off():
    from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils import test_admin_change as tac

    class KbdOff(tac.SshdHost):
        def run_command(self, args, **kw):
            rc, out, err = tac.SshdHost.run_command(self, args, **kw)
            if args[:2] == ["sshd", "-T"]:
                out = out.replace("kbdinteractiveauthentication yes", "kbdinteractiveauthentication no")
            return rc, out, err
    disk, accounts = tac.enrolled_disk()
    tac.drive(totp.TotpChange(), tac.totp_params(), disk, accounts)
    disk.files[sshd.SSHD_CONFIG] = (b"KbdInteractiveAuthentication no\nInclude /etc/ssh/sshd_config.d/*.conf\n",
                                    "root", "root", 0o644)
    before = dict(disk.files)
    module = tac.FakeModule()
    t = tac.tx.Transaction(module, totp.TotpChange(), host=KbdOff(module, disk, accounts), writer=tac.FakeWriter(disk))
    with pytest.raises(tac.Exit) as e:
        t.run(tac.totp_params())
    msg = e.value.result["msg"]
    assert e.value.failed and "kbdinteractiveauthentication is 'no'" in msg, msg
    assert "/etc/ssh/sshd_config:1 'kbdinteractiveauthentication no' is read first" in msg and "nothing was changed" in msg
    assert disk.files == before
