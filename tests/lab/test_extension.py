# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxguard.asterisk.extension against a real Asterisk 22, checked with a
real SIP client (sipsak REGISTER with digest auth) from permitted and refused
addresses, plus IAX and voicemail state read back from Asterisk."""
import re
import secrets
import subprocess
import time

import pytest

from conftest import GOOD_PINS

PJ = "/etc/asterisk/pjsip_pbxguard.conf"
IAX = "/etc/asterisk/iax_pbxguard.conf"
VM = "/etc/asterisk/voicemail.conf"
FILES = ("/etc/asterisk/pjsip.conf", PJ, "/etc/asterisk/iax.conf", IAX, VM)


def strong():
    return "Sx%s_%s7" % (secrets.token_hex(4).upper(), secrets.token_hex(4))


def ext_task(exts, **kw):
    params = dict(extensions=exts, purge=True)
    params.update(kw)
    return {"name": "extensions", "pbxguard.asterisk.extension": params}


def sip_register(lab, number, secret, authname=None, ns=None, port=5070, expires=None):
    """REGISTER with sipsak; 0 = 200 OK after digest auth."""
    client_ip = lab.controller_ip if ns is None else lab.vars["lab_outside_ip"]
    cmd = ["sipsak", "-U", "-C", "sip:%s@%s:%d" % (number, client_ip, port),
           "-s", "sip:%s@%s" % (number, lab.ip), "-a", secret, "-u", authname or number]
    cmd += ["-x", str(expires)] if expires else ["-i"]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    return p.returncode, (p.stdout + p.stderr).strip()


@pytest.fixture(scope="module")
def s():
    return {n: strong() for n in ("1008", "1009", "1010", "2001")}


@pytest.fixture(scope="module", autouse=True)
def transport(lab):
    """Debian's pjsip.conf has no transport: add one by hand (as an admin
    would; transports need a restart), so phones can register."""
    lab.sh("printf '[lab-udp]\\ntype=transport\\nprotocol=udp\\nbind=0.0.0.0:5060\\n' > /etc/asterisk/pjsip_lab.conf"
           " && chown asterisk:asterisk /etc/asterisk/pjsip_lab.conf && chmod 640 /etc/asterisk/pjsip_lab.conf"
           " && (grep -q pjsip_lab.conf /etc/asterisk/pjsip.conf || echo '#include pjsip_lab.conf' >> /etc/asterisk/pjsip.conf)"
           " && systemctl restart asterisk")
    for dummy in range(60):
        if "lab-udp" in lab.sh("asterisk -rx 'pjsip show transports' 2>&1 || true", check=False):
            break
        time.sleep(0.5)
    yield


def base(lab, s):
    net = lab.ip.rsplit(".", 1)[0] + ".0/24"
    return [
        {"number": "1008", "name": "Front Desk", "secret": s["1008"], "permit": [net],
         "email": "frontdesk@example.org", "pin": "8474"},
        {"number": "1009", "secret": s["1009"], "authname": "frontdesk9", "pin": "6093",
         "iax": {"enabled": True, "auth": "md5", "encryption": True}},
    ]


@pytest.fixture(scope="module", autouse=True)
def converged(lab, s, transport):
    r = lab.playbook([ext_task(base(lab, s))])
    assert not r.failed, r.raw[-3000:]
    return r


def test_rerun_changes_nothing(lab, s):
    r = lab.playbook([ext_task(base(lab, s))])
    assert not r.failed and r.changed == 0
    assert r.last["counts"] == {"created": 0, "updated": 0, "removed": 0, "unchanged": 2}
    assert r.last["reloaded"] == []


def test_files_owned_like_asterisks_own(lab):
    for f in (PJ, IAX, VM):
        assert lab.sh("stat -c '%U:%G %a' " + f).strip() == "asterisk:asterisk 640", f


def test_register_with_right_secret(lab, s):
    rc, out = sip_register(lab, "1008", s["1008"])
    assert rc == 0, out
    rc, out = sip_register(lab, "1009", s["1009"], authname="frontdesk9")
    assert rc == 0, out


def test_register_wrong_secret_refused(lab, s):
    rc, out = sip_register(lab, "1008", s["1009"])
    assert rc != 0 and "authorization failed" in out, out


def test_register_from_non_permitted_source_refused(lab, s):
    rc, out = sip_register(lab, "1008", s["1008"], ns=lab.outside_ns)
    assert rc != 0, out
    # 1009 has no permit list: the outside client may register
    rc, out = sip_register(lab, "1009", s["1009"], authname="frontdesk9", ns=lab.outside_ns)
    assert rc == 0, out


def test_live_objects(lab):
    ep = lab.cli("pjsip show endpoint 1008")
    assert re.search(r"context\s+: from-internal", ep) and "deny/permit" in ep
    assert re.search(r"mailboxes\s+: 1008@default", ep)
    assert "username" in lab.cli("pjsip show auth 1009") and "frontdesk9" in lab.cli("pjsip show auth 1009")
    peer = lab.cli("iax2 show peer 1009")
    assert "aes128" in peer and "Calltoken req: Yes" in peer and "Secret       : <Set>" in peer
    vm = lab.cli("voicemail show users for default")
    assert re.search(r"default\s+1008\s+Front Desk", vm)


def test_pin_changed_on_host_is_kept(lab, s):
    lab.sh("sed -i 's/^1008 => 8474,/1008 => 5150,/' %s && asterisk -rx 'voicemail reload'" % VM)
    r = lab.playbook([ext_task(base(lab, s))])
    assert not r.failed and r.changed == 0
    assert "1008 => 5150,Front Desk,frontdesk@example.org" in lab.read(VM).decode()
    exts = base(lab, s)
    exts[0]["pin_update"] = "always"
    r = lab.playbook([ext_task(exts)])
    assert r.last["updated"] == ["1008"]
    assert "1008 => 8474,Front Desk" in lab.read(VM).decode()


def test_check_mode_and_diff(lab, s):
    exts = base(lab, s) + [{"number": "1010", "secret": s["1010"]}]
    exts[0]["secret"] = strong()
    before = [lab.sha(f) for f in FILES]
    r = lab.playbook([ext_task(exts)], check=True, diff=True)
    assert not r.failed and r.changed == 1
    assert (r.last["created"], r.last["updated"]) == (["1010"], ["1008"])
    assert [lab.sha(f) for f in FILES] == before
    assert "1010" not in lab.cli("pjsip show endpoints")
    text = str(r.last["diff"])
    assert "<secret:" in text
    for secret in list(s.values()) + [exts[0]["secret"], "8474", "6093"]:
        assert secret not in r.raw, "secret or PIN in output"
    r = lab.playbook([ext_task(base(lab, s))])
    assert not r.failed and r.changed == 0


def test_absent_extension_can_no_longer_register(lab, s):
    r = lab.playbook([ext_task(base(lab, s) + [{"number": "1010", "secret": s["1010"]}])])
    assert r.last["created"] == ["1010"]
    assert sip_register(lab, "1010", s["1010"])[0] == 0
    r = lab.playbook([ext_task(base(lab, s) + [{"number": "1010", "state": "absent"}])])
    assert r.last["removed"] == ["1010"] and "pjsip" in r.last["reloaded"]
    assert sip_register(lab, "1010", s["1010"])[0] != 0
    assert "1010" not in lab.cli("pjsip show endpoints")


def test_vvv_output_has_no_secret(lab, s):
    exts = base(lab, s)
    exts[1]["secret"] = strong()
    p = lab.playbook([ext_task(exts)], diff=True, verbosity=3, json_out=False)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "ESTABLISH SSH CONNECTION" in out and "<secret:" in out  # -vvv and diff
    for secret in list(s.values()) + [exts[1]["secret"], "8474"]:
        assert secret not in out
    lab.playbook([ext_task(base(lab, s))])


def _drop(text, sections=(), containing=()):
    """``text`` without the named sections and the lines containing any of
    ``containing``."""
    out, dropping = [], False
    for line in text.splitlines(True):
        if line.startswith("["):
            dropping = line.split("]")[0][1:] in sections
        if not dropping and not any(c in line for c in containing):
            out.append(line)
    return "".join(out)


def test_hand_planted_secrets_never_in_vvv_diff(lab, s, monkeypatch):
    """Secrets written by hand into the files this module rewrites (a pjsip
    auth, an iax peer and register line, voicemail boxes in each PIN form),
    none of them a task value: the -vvv --diff output of a run that rewrites
    all of them shows none. Asterisk itself lists the hand-written objects."""
    p = {k: "Pl%s%s" % (k, secrets.token_hex(5)) for k in ("pjsip", "pjold", "iax", "reg")}
    pins = dict(("vm%d" % i, "%06d" % (100000 + secrets.randbelow(900000))) for i in range(3))
    p.update(pins)
    pj, iax = "/etc/asterisk/pjsip.conf", "/etc/asterisk/iax.conf"
    originals = dict((f, lab.read(f).decode()) for f in (pj, iax, VM))
    # the managed #tryinclude lines go, so the module rewrites both files (and diffs them)
    lab.sh("cat > %s" % pj, input=_drop(originals[pj], containing=("pjsip_pbxguard.conf", "managed by pbxguard")) +
           "\n[handtrunk]\ntype=auth\nauth_type=digest\nusername=handtrunk\n"
           "Password = %(pjsip)s ; written by hand\n;password=%(pjold)s\n" % p)
    lab.sh("cat > %s" % iax, input=_drop(originals[iax], containing=("iax_pbxguard.conf", "managed by pbxguard"))
           .replace("[general]\n", "[general]\nregister => handreg:%(reg)s@198.18.0.99\n" % p, 1) +
           "\n[handpeer]\ntype=peer\nhost=198.18.0.99\nsecret = %(iax)s\n" % p)
    lab.sh("cat >> %s" % VM, input="\n[handctx]\nhandbox => -%(vm0)s,Hand Box,hand@example.org\n"
           "4711 =   %(vm1)s , Hand Two\n4712 => %(vm2)s\n" % p)
    try:
        exts = base(lab, s) + [{"number": "1010", "secret": s["1010"], "pin": GOOD_PINS[3]}]
        # the whole files in the printed diff, not 3 lines around each change
        monkeypatch.setenv("ANSIBLE_DIFF_CONTEXT", "100000")
        run = lab.playbook([ext_task(exts)], diff=True, verbosity=3, json_out=False)
        out = run.stdout + run.stderr
        assert run.returncode == 0, out[-3000:]
        # -vvv, a diff, and every hand-written object inside it
        assert "ESTABLISH SSH CONNECTION" in out and "<secret:" in out
        for name in ("[handtrunk]", "[handpeer]", "handreg:", "[handctx]", "handbox =>"):
            assert name in out, name
        leaked = sorted(k for k, v in p.items() if v in out)
        assert not leaked, "hand-planted secrets in the -vvv --diff output: %s" % leaked
        assert "handtrunk" in lab.cli("pjsip show auths")
        assert "handpeer" in lab.cli("iax2 show peers")
        assert "handbox" in lab.cli("voicemail show users for handctx")
    finally:
        for f, text in originals.items():
            lab.sh("cat > %s" % f, input=text)
        for cmd in ("module reload res_pjsip.so", "iax2 reload", "voicemail reload"):
            lab.cli(cmd)
        monkeypatch.delenv("ANSIBLE_DIFF_CONTEXT", raising=False)
        lab.playbook([ext_task(base(lab, s))])


BAD = [
    ("short", {"secret": "Ab1%"}, "extensions[2] (3001).secret: needs at least 8 characters"),
    ("no-upper", {"secret": "abcdefg1%"}, "needs at least 1 upper-case letter"),
    ("no-lower", {"secret": "ABCDEFG1%"}, "needs at least 1 lower-case letter"),
    ("no-digit", {"secret": "Abcdefgh%"}, "needs at least 1 digit"),
    ("no-special", {"secret": "Abcdefgh1"}, "needs at least 1 special character of ! % * _ -"),
    ("bad-char", {"secret": "Abcdefg1%$"}, "allowed are only a-z A-Z 0-9 ! % * _ -"),
    ("newline-secret", {"secret": "Abcdefg1%\n[x]"}, "newline"),
    ("semicolon-secret", {"secret": "Abcdefg1%;x"}, "';'"),
    ("pin-3", {"pin": "123"}, "extensions[2] (3001).pin: must be exactly 4 digits"),
    ("pin-letters", {"pin": "12a4"}, "exactly 4 digits"),
    ("name-newline", {"name": "Evil\n[general]"}, "extensions[2] (3001).name: must not contain newline"),
    ("name-comma", {"name": "Doe, John"}, "','"),
    ("name-semicolon", {"name": "a;b"}, "';'"),
    ("username-bracket", {"username": "30]01"}, "extensions[2] (3001).username: contains ']'"),
    ("username-newline", {"username": "3001\ntype=aor"}, "newline"),
    ("authname-eq", {"authname": "a=b"}, "extensions[2] (3001).authname: contains '='"),
    ("email-bad", {"email": "nobody"}, "extensions[2] (3001).email: is not an e-mail address"),
    ("email-newline", {"email": "a@example.org\n[x]"}, "newline"),
    ("permit-bad", {"permit": ["198.18.0.0/33"]}, "extensions[2] (3001).permit[0]"),
    ("permit-hostbits", {"permit": ["198.18.0.1/24"]}, "host bits set"),
    ("iax-rc4", {"iax": {"enabled": True, "auth": "rc4"}}, "'rc4' does not exist in Asterisk"),
    ("iax-enc-plain", {"iax": {"enabled": True, "auth": "plaintext", "encryption": True}},
     "iax.encryption: needs auth md5 or rsa"),
    ("iax-none", {"iax": {"enabled": True, "auth": "none"}}, "allow_no_auth"),
    ("iax-rsa-nokey", {"iax": {"enabled": True, "auth": "rsa"}}, "iax.rsa_key: required"),
    ("number-letters", {"number": "10a8"}, "extensions[2].number: must be 1-15 digits"),
    ("no-secret", {"secret": None}, "secret: required"),
    ("name-expression", {"name": "Bob ${SHELL(id)}"},
     "extensions[2] (3001).name: contains '${'; Asterisk would evaluate it as an expression"),
    ("iax-rsa-key-dotdot", {"iax": {"enabled": True, "auth": "rsa", "rsa_key": ".."}},
     "extensions[2] (3001).iax.rsa_key: '..' is not a name"),
]


@pytest.mark.parametrize("override,fragment", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_refused_files_unchanged(lab, s, override, fragment):
    e = {"number": "3001", "secret": "G00d!Secret"}
    e.update(override)
    e = dict((k, v) for k, v in e.items() if v is not None)
    before = [lab.sha(f) for f in FILES]
    r = lab.playbook([ext_task(base(lab, s) + [e])])
    assert r.failed
    assert fragment in r.last.get("msg", ""), r.last.get("msg")
    assert [lab.sha(f) for f in FILES] == before


def test_voicemail_context_cannot_leave_the_spool_directory(lab, s):
    before = [lab.sha(f) for f in FILES]
    r = lab.playbook([ext_task(base(lab, s), voicemail_context="..")])
    assert r.failed
    assert r.last.get("msg", "").startswith("voicemail_context: '..' is not a name"), r.last.get("msg")
    assert [lab.sha(f) for f in FILES] == before


def test_name_with_a_lone_dollar_is_taken_literally(lab, s):
    """A '$' that opens no expression is accepted and Asterisk holds it as
    written (caller ID of the live endpoint, full name of the live box)."""
    e = {"number": "3002", "name": "Price $5 Desk", "secret": strong(), "pin": "8157"}
    r = lab.playbook([ext_task(base(lab, s) + [e])])
    assert not r.failed, r.raw[-3000:]
    try:
        ep = lab.cli("pjsip show endpoint 3002")
        assert '"Price $5 Desk" <3002>' in ep, ep
        assert "Price $5 Desk" in lab.cli("voicemail show users for default")
    finally:
        assert not lab.playbook([ext_task(base(lab, s))]).failed


def test_duplicate_numbers_and_hand_written_clash(lab, s):
    r = lab.playbook([ext_task(base(lab, s) + [{"number": "1008", "secret": strong()}])])
    assert r.failed and "extensions[2] (1008).number: listed twice (also extensions[0])" in r.last["msg"]
    lab.sh("printf '\\n[2001]\\ntype=endpoint\\ncontext=x\\n' >> /etc/asterisk/pjsip_lab.conf")
    try:
        before = [lab.sha(f) for f in FILES]
        r = lab.playbook([ext_task(base(lab, s) + [{"number": "2001", "secret": s["2001"]}])])
        assert r.failed and "a PJSIP endpoint '2001' is defined by hand at /etc/asterisk/pjsip_lab.conf" in r.last["msg"]
        assert [lab.sha(f) for f in FILES] == before
    finally:
        lab.sh("sed -i '/^\\[2001\\]/,$d' /etc/asterisk/pjsip_lab.conf")


def test_clashes_asterisk_would_merge_are_refused_before_any_write(lab, s):
    """Hand-written objects that are the managed ones to Asterisk although
    their text differs: a mailbox in '[Default]' (app_voicemail compares
    contexts with strcasecmp) and an endpoint that takes its type from a
    template. Asterisk itself shows the merge; the module refuses with the
    option and the rule, and no file changes."""
    lab.sh("printf '\\n[Default]\\n2002 => 4711,Hand Box\\n' >> %s" % VM)
    lab.sh("printf '\\n[handtmpl](!)\\ntype=endpoint\\ncontext=x\\n[2003](handtmpl)\\n' >> /etc/asterisk/pjsip_lab.conf")
    try:
        lab.cli("voicemail reload")
        # the real Asterisk: the hand-written box is 2002@default (find_user: strcasecmp)
        assert "Hand Box" in lab.cli("voicemail show mailbox 2002 default")
        before = [lab.sha(f) for f in FILES]
        r = lab.playbook([ext_task(base(lab, s) + [{"number": "2002", "secret": strong(), "pin": "7391"},
                                                   {"number": "2003", "secret": strong()}])])
        assert r.failed, r.raw[-2000:]
        msg = r.last["msg"]
        assert ("extensions[2] (2002).pin: mailbox 2002@default is defined by hand at %s:" % VM) in msg, msg
        assert "as 2002@Default" in msg and "case-insensitively" in msg, msg
        assert ("extensions[3] (2003).username: a PJSIP endpoint '2003' is defined by hand at "
                "/etc/asterisk/pjsip_lab.conf:") in msg, msg
        assert [lab.sha(f) for f in FILES] == before
    finally:
        lab.sh("sed -i '/^\\[Default\\]$/,$d' %s" % VM)
        lab.sh("sed -i '/^\\[handtmpl\\]/,$d' /etc/asterisk/pjsip_lab.conf")
        lab.cli("voicemail reload")


def endpoints(lab):
    return sorted(re.findall(r"^\s*Endpoint:\s+([^</\s][^/\s]*)/", lab.cli("pjsip show endpoints"), re.M))


def test_asterisk_rejecting_restores_everything(lab, s):
    """A hand-broken include in pjsip.conf makes Asterisk drop the whole file
    on reload: the module sees the new endpoint missing, restores and fails."""
    lab.sh("echo '#include \"pbxguard-missing.d/*.conf\"' >> /etc/asterisk/pjsip.conf")
    try:
        before, live_before = [lab.sha(f) for f in FILES], endpoints(lab)
        r = lab.playbook([ext_task(base(lab, s) + [{"number": "2002", "secret": strong()}])])
        assert r.failed
        assert "did not take" in r.last["msg"] and "restored" in r.last["msg"]
        assert "(2002): PJSIP endpoint/auth/aor '2002' not loaded" in r.last["msg"], r.last["msg"]
        assert "Asterisk said: " in r.last["msg"] and "pbxguard-missing.d" in r.last["msg"]  # its own words
        assert [lab.sha(f) for f in FILES] == before
        # reloaded onto the restored files: the same endpoints live as before, 2002 not among them
        assert endpoints(lab) == live_before and "1008" in live_before and "2002" not in live_before
    finally:
        lab.sh("sed -i '/pbxguard-missing.d/d' /etc/asterisk/pjsip.conf && asterisk -rx 'module reload res_pjsip.so'")
    time.sleep(1)
    assert sip_register(lab, "1008", s["1008"])[0] == 0


def _uptime(lab):
    out = lab.cli("core show uptime seconds")
    return int(re.search(r"System uptime: (\d+)", out).group(1))


def test_thousand_extensions(lab, s):
    many = [{"number": str(4000 + i), "secret": "Bulk%s-%04dX" % (secrets.token_hex(3), i),
             "pin": GOOD_PINS[i % len(GOOD_PINS)]}
            for i in range(1000)]
    t0 = time.time()
    r = lab.playbook([ext_task(base(lab, s) + many)])
    first = time.time() - t0
    assert not r.failed, r.last.get("msg")
    assert r.last["counts"]["created"] == 1000
    assert r.last["kinds"] == {"pjsip": 1002, "iax": 1, "voicemail": 1002}
    # register some of them and keep them registered
    for e in many[:5]:
        assert sip_register(lab, e["number"], e["secret"], port=6000 + int(e["number"]) % 100, expires=600)[0] == 0
    contacts_before = lab.cli("pjsip show contacts").count("Contact:  40")
    up_before = _uptime(lab)
    t0 = time.time()
    r = lab.playbook([ext_task(base(lab, s) + many)])
    rerun = time.time() - t0
    assert not r.failed and r.changed == 0 and r.last["counts"]["unchanged"] == 1002
    many[500]["secret"] = strong()
    r = lab.playbook([ext_task(base(lab, s) + many)])
    assert r.last["updated"] == ["4500"] and r.last["created"] == [] and r.last["removed"] == []
    assert r.last["reloaded"] == ["pjsip"]
    assert _uptime(lab) >= up_before, "Asterisk was restarted"
    assert lab.cli("pjsip show contacts").count("Contact:  40") == contacts_before == 5
    assert sip_register(lab, "4500", many[500]["secret"])[0] == 0
    print("\n1000 extensions: first converge %.1fs, rerun %.1fs" % (first, rerun))
    r = lab.playbook([ext_task(base(lab, s))])
    assert r.last["counts"]["removed"] == 1000
