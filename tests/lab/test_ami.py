# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxguard.asterisk.ami against a real Asterisk 22 in a lab host, checked
with a real AMI client over TCP from permitted and refused addresses."""
import secrets

import pytest

CONF = "/etc/asterisk/manager.conf"
CANARY = "/etc/asterisk/manager.d/zz-canary.conf"


def strong():
    return "Lab%s-%s9" % (secrets.token_hex(4).upper(), secrets.token_hex(4))


@pytest.fixture(scope="module")
def s():
    return {n: strong() for n in ("alpha", "beta", "gamma", "temp", "hand")}


def ami(users, **kw):
    params = dict(bind_address="0.0.0.0", port=5038, users=users, purge_users=True)
    params.update(kw)
    return {"name": "ami", "pbxguard.asterisk.ami": params}


def base_users(lab, s):
    return [
        {"name": "alpha", "secret": s["alpha"], "permit": ["%s/32" % lab.controller_ip],
         "read": ["system", "call"], "write": []},
        {"name": "beta", "secret": s["beta"], "permit": [lab.ip.rsplit(".", 1)[0] + ".0/24"],
         "read": ["call"], "write": ["originate"]},
    ]


@pytest.fixture(scope="module", autouse=True)
def converged(lab, s):
    r = lab.playbook([ami(base_users(lab, s))])
    assert not r.failed, r.raw
    return r


def test_second_run_changes_nothing(lab, s):
    r = lab.playbook([ami(base_users(lab, s))])
    assert not r.failed
    assert r.changed == 0
    assert r.last["reloaded"] is False
    assert r.last["summary"].startswith("AMI: enabled on 0.0.0.0:5038, 2 managed users, all restricted")


def test_module_utils_load_from_the_hosts_bytecode_cache(lab, s):
    """The runs above compiled the module's module_utils once into the host's cache
    (_bytecode.py); a rerun finds every one of them there (no new entry) and reads
    them (their access times move) instead of compiling."""
    d = "/var/cache/pbxguard-asterisk/bytecode"
    assert lab.sh("stat -c '%U %a' " + d).strip() == "root 700"
    entries = [ln.split() for ln in lab.sh("find %s -name '*.pyc' -printf '%%f %%u %%m\\n'" % d).splitlines()]
    assert len(entries) >= 8, entries  # _ami and the module_utils it imports
    assert all(owner == "root" and mode == "600" for dummy, owner, mode in entries), entries
    lab.sh("touch -a -d '2000-01-01 00:00' %s/*.pyc" % d)
    r = lab.playbook([ami(base_users(lab, s))])
    assert not r.failed and r.changed == 0
    after = lab.sh("find %s -name '*.pyc' -printf '%%f %%AY\\n'" % d).splitlines()
    assert sorted(ln.split()[0] for ln in after) == sorted(e[0] for e in entries)
    read = [ln for ln in after if not ln.endswith(" 2000")]
    assert len(read) >= 8, after


def test_file_owned_and_moded_like_asterisks_own(lab):
    assert lab.sh("stat -c '%U:%G %a' " + CONF).strip() == "asterisk:asterisk 640"


def test_live_state_matches(lab):
    out = lab.cli("manager show user alpha")
    assert "read perm: system,call" in out
    assert "0:  deny - 0.0.0.0/0.0.0.0" in out and "1:  deny - ::/::" in out
    assert "allow - %s/255.255.255.255" % lab.controller_ip in out
    assert "TCP Bindaddress:           0.0.0.0:5038" in lab.cli("manager show settings")


def test_login_from_permitted_address(lab, s):
    rc, out = lab.ami_login("alpha", s["alpha"])
    assert rc == 0, out
    rc, out = lab.ami_login("beta", s["beta"])
    assert rc == 0, out


def test_login_from_outside_client_refused(lab, s):
    rc, out = lab.ami_login("alpha", s["alpha"], ns=lab.outside_ns)
    assert rc == 1 and "Authentication failed" in out, out
    rc, out = lab.ami_login("beta", s["beta"], ns=lab.outside_ns)
    assert rc == 1, out


def test_wrong_secret_refused(lab, s):
    rc, out = lab.ami_login("alpha", s["beta"])
    assert rc == 1 and "Authentication failed" in out, out


def test_no_permit_means_denied_everywhere(lab, s):
    users = base_users(lab, s) + [{"name": "gamma", "secret": s["gamma"], "read": ["system"]}]
    r = lab.playbook([ami(users)])
    assert not r.failed and r.last["added"] == ["gamma"]
    assert "There is no manager called" not in lab.cli("manager show user gamma")
    assert lab.ami_login("gamma", s["gamma"])[0] == 1
    assert lab.ami_login("gamma", s["gamma"], ns=lab.outside_ns)[0] == 1
    # IPv6 too: from the host itself over ::1 when AMI listens on [::]
    r = lab.playbook([ami(users, bind_address="::")])
    assert not r.failed, r.last.get("msg")
    v6 = lab.sh("python3 -c \"import socket,sys;s=socket.create_connection(('::1',5038),timeout=5);"
                "s.recv(100);s.sendall(b'Action: Login\\r\\nUsername: gamma\\r\\nSecret: '+sys.stdin.readline().strip().encode()+b'\\r\\n\\r\\n');"
                "import time;time.sleep(0.5);print(s.recv(500).decode())\"", input=s["gamma"] + "\n")
    assert "Authentication failed" in v6, v6
    r = lab.playbook([ami(base_users(lab, s) + [{"name": "gamma", "state": "absent"}])])
    assert not r.failed and r.last["removed"] == ["gamma"]


def test_absent_user_can_no_longer_log_in(lab, s):
    users = base_users(lab, s) + [{"name": "temp", "secret": s["temp"], "permit": ["%s/32" % lab.controller_ip]}]
    r = lab.playbook([ami(users)])
    assert not r.failed and r.last["added"] == ["temp"]
    assert lab.ami_login("temp", s["temp"])[0] == 0
    r = lab.playbook([ami(base_users(lab, s) + [{"name": "temp", "state": "absent"}])])
    assert not r.failed and r.last["removed"] == ["temp"] and r.last["reloaded"]
    assert "There is no manager called temp" in lab.cli("manager show user temp")
    assert lab.ami_login("temp", s["temp"])[0] == 1
    assert "[temp]" not in lab.read(CONF).decode()


@pytest.fixture
def canary(lab, s):
    """A hand-written user in an included file, not yet loaded: if anything
    runs `manager reload`, it appears. Detects reloads that must not happen."""
    lab.sh("printf '[zzcanary]\\nsecret = %s\\nread = system\\nwrite =\\n' > %s && chown asterisk:asterisk %s && chmod 640 %s"
           % (s["hand"], CANARY, CANARY, CANARY))
    assert "There is no manager called zzcanary" in lab.cli("manager show user zzcanary")

    def reloaded():
        return "There is no manager called zzcanary" not in lab.cli("manager show user zzcanary")
    yield reloaded
    lab.sh("rm -f %s" % CANARY)
    lab.cli("manager reload")


def test_check_mode_predicts_exactly_and_writes_nothing(lab, s, canary):
    users = base_users(lab, s)
    users[0] = dict(users[0], read=["system"])
    users.append({"name": "delta", "secret": strong(), "read": ["call"]})
    before = lab.sha(CONF)
    r = lab.playbook([ami(users)], check=True)
    assert not r.failed and r.changed == 1
    predicted = (r.last["added"], r.last["updated"], r.last["removed"])
    assert predicted == (["delta"], ["alpha"], [])
    assert lab.sha(CONF) == before
    assert not canary(), "check mode reloaded the manager module"
    # the real run does exactly what check mode said
    r = lab.playbook([ami(users)])
    assert (r.last["added"], r.last["updated"], r.last["removed"]) == predicted
    r = lab.playbook([ami(base_users(lab, s) + [{"name": "delta", "state": "absent"}])])
    assert r.last["updated"] == ["alpha"] and r.last["removed"] == ["delta"]


def test_diff_shows_change_but_never_a_secret(lab, s):
    new = strong()
    users = base_users(lab, s)
    users[1] = dict(users[1], secret=new)
    r = lab.playbook([ami(users)], diff=True)
    diff = r.last["diff"]
    text = diff["before"] + diff["after"]
    assert "<secret:" in text
    for secret in list(s.values()) + [new]:
        assert secret not in r.raw
    # the changed secret is visible as a changed tag, the unchanged one is not
    before = [ln for ln in diff["before"].splitlines() if ln.startswith("secret")]
    after = [ln for ln in diff["after"].splitlines() if ln.startswith("secret")]
    assert before[0] == after[0] and before[1] != after[1]
    assert lab.ami_login("beta", new)[0] == 0
    lab.playbook([ami(base_users(lab, s))])


def test_vvv_output_contains_no_secret(lab, s):
    new = strong()
    users = base_users(lab, s)
    users[0] = dict(users[0], secret=new)
    p = lab.playbook([ami(users)], diff=True, verbosity=3, json_out=False)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    assert "ESTABLISH SSH CONNECTION" in out and "<secret:" in out  # -vvv and diff shown
    for secret in list(s.values()) + [new]:
        assert secret not in out
    p = lab.playbook([ami(base_users(lab, s))], diff=True, verbosity=3, json_out=False)
    for secret in list(s.values()) + [new]:
        assert secret not in p.stdout + p.stderr


def _drop_sections(text, prefix):
    """``text`` without the sections whose name starts with ``prefix``."""
    out, dropping = [], False
    for line in text.splitlines(True):
        if line.startswith("["):
            dropping = line.startswith("[" + prefix)
        if not dropping:
            out.append(line)
    return "".join(out)


def test_hand_planted_secrets_never_in_vvv_diff(lab, s, monkeypatch):
    """Secrets written by hand into manager.conf (the file this module
    rewrites), in the forms Asterisk reads, none of them a task value: the
    -vvv --diff output of a run shows none. Real logins prove Asterisk takes
    each form as the user's secret (an upper-case key, '=>', an escaped ';')."""
    p = {k: "Pl%s%s" % (k, secrets.token_hex(5)) for k in ("upper", "arrow", "escA", "escB", "old")}
    plant = ("\n[handplant1]\nSECRET = %(upper)s ; written by hand\nread = system\n;secret = %(old)s\n"
             "\n[handplant2]\nsecret=>%(arrow)s\nread = system\n"
             "\n[handplant3]\nSecret =  %(escA)s\\;%(escB)s  \nread = system\n" % p)
    lab.sh("cat >> %s" % CONF, input=plant)
    try:
        users = base_users(lab, s)
        users[0] = dict(users[0], secret=strong())
        # the whole files in the printed diff, not 3 lines around each change
        monkeypatch.setenv("ANSIBLE_DIFF_CONTEXT", "100000")
        run = lab.playbook([ami(users)], diff=True, verbosity=3, json_out=False)
        out = run.stdout + run.stderr
        assert run.returncode == 0, out[-3000:]
        # -vvv, a diff, and the hand-written sections inside it
        assert "ESTABLISH SSH CONNECTION" in out and "<secret:" in out and "[handplant3]" in out
        leaked = [k for k, v in p.items() if v in out] + (
            ["escaped"] if "%s;%s" % (p["escA"], p["escB"]) in out else [])
        assert not leaked, "hand-planted secrets in the -vvv --diff output: %s" % leaked
        assert lab.ami_login("handplant1", p["upper"])[0] == 0
        assert lab.ami_login("handplant2", p["arrow"])[0] == 0
        assert lab.ami_login("handplant3", "%s;%s" % (p["escA"], p["escB"]))[0] == 0
    finally:
        lab.sh("cat > %s" % CONF, input=_drop_sections(lab.read(CONF).decode(), "handplant"))
        lab.cli("manager reload")
        monkeypatch.delenv("ANSIBLE_DIFF_CONTEXT", raising=False)
        lab.playbook([ami(base_users(lab, s))])


BAD = [
    ("weak-secret", {"users": [{"name": "u1", "secret": "password"}]},
     ["users[0] (u1).secret", "upper", "digit", "special"]),
    ("short-secret", {"users": [{"name": "u1", "secret": "Ab1%"}]}, ["users[0] (u1).secret", "8"]),
    ("newline-in-secret", {"users": [{"name": "u1", "secret": "Abcdef1%\n[evil]"}]},
     ["users[0] (u1).secret", "newline"]),
    ("semicolon-in-secret", {"users": [{"name": "u1", "secret": "Abcdef1%;x"}]},
     ["users[0] (u1).secret", ";"]),
    ("newline-in-name", {"users": [{"name": "u1\n[general]", "secret": "Abcdef1%x"}]},
     ["users[0].name", "newline"]),
    ("bracket-in-name", {"users": [{"name": "u]1", "secret": "Abcdef1%x"}]}, ["users[0].name", "]"]),
    ("bad-cidr", {"users": [{"name": "u1", "secret": "Abcdef1%x", "permit": ["198.18.0.0/33"]}]},
     ["users[0] (u1).permit[0]"]),
    ("host-bits", {"users": [{"name": "u1", "secret": "Abcdef1%x", "permit": ["198.18.0.5/24"]}]},
     ["users[0] (u1).permit[0]", "host bits"]),
    ("bad-netmask", {"users": [{"name": "u1", "secret": "Abcdef1%x", "permit": ["198.18.0.0/255.0.255.0"]}]},
     ["users[0] (u1).permit[0]", "contiguous"]),
    ("port-8090", {"port": 8090}, ["port", "8090", "reserved"]),
    ("port-0", {"port": 0}, ["port"]),
    ("port-65536", {"port": 65536}, ["port"]),
    ("bad-bind", {"bind_address": "0.0.0.0\nenabled=yes"}, ["bind_address"]),
    ("unknown-read-class", {"users": [{"name": "u1", "secret": "Abcdef1%x", "read": ["bogus"]}]},
     ["users[0] (u1).read", "unknown class 'bogus'"]),
    ("write-only-class-in-read", {"users": [{"name": "u1", "secret": "Abcdef1%x", "read": ["originate"]}]},
     ["users[0] (u1).read", "'originate' is meaningful only as a write class"]),
    ("read-only-class-in-write", {"users": [{"name": "u1", "secret": "Abcdef1%x", "write": ["dtmf"]}]},
     ["users[0] (u1).write", "'dtmf' is meaningful only as a read class"]),
    ("no-secret", {"users": [{"name": "u1"}]}, ["users[0] (u1).secret", "required"]),
    ("general-as-user", {"users": [{"name": "general", "secret": "Abcdef1%x"}]}, ["general"]),
    ("duplicate-user", {"users": [{"name": "u1", "secret": "Abcdef1%x"}, {"name": "u1", "secret": "Abcdef1%x"}]},
     ["users[1] (u1).name", "twice"]),
    ("unknown-state", {"users": [{"name": "u1", "secret": "Abcdef1%x", "state": "gone"}]}, ["state"]),
]


@pytest.mark.parametrize("params,expected", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_refused_and_nothing_changes(lab, s, canary, params, expected):
    users = params.pop("users", None)
    task = ami(base_users(lab, s) if users is None else users, **params)
    before = lab.sha(CONF)
    r = lab.playbook([task])
    assert r.failed
    msg = r.last.get("msg", "")
    for fragment in expected:
        assert fragment in msg, "%r not in %r" % (fragment, msg)
    assert lab.sha(CONF) == before, "manager.conf changed"
    assert not canary(), "Asterisk was reloaded"
    for secret in s.values():
        assert secret not in r.raw


def test_hand_written_user_is_left_alone_and_a_clash_is_an_error(lab, s):
    hand = "/etc/asterisk/manager.d/hand.conf"
    lab.sh("printf '[handuser]\\nsecret = %s\\ndeny=0.0.0.0/0.0.0.0\\npermit=%s/32\\nread = system\\nwrite =\\n' > %s"
           " && chown asterisk:asterisk %s && chmod 640 %s" % (s["hand"], lab.controller_ip, hand, hand, hand))
    lab.cli("manager reload")
    try:
        before = (lab.sha(CONF), lab.sha(hand))
        r = lab.playbook([ami(base_users(lab, s) + [{"name": "handuser", "secret": strong()}])])
        assert r.failed
        assert "defined by hand at %s:1" % hand in r.last["msg"]
        assert (lab.sha(CONF), lab.sha(hand)) == before
        r = lab.playbook([ami(base_users(lab, s), purge_users=True)])
        assert not r.failed and "handuser" in r.last["unmanaged_users"]
        assert lab.sha(hand) == before[1]
        assert lab.ami_login("handuser", s["hand"])[0] == 0
    finally:
        lab.sh("rm -f " + hand)
        lab.cli("manager reload")


def test_asterisk_rejecting_the_file_restores_it(lab, s):
    """A hand-added #include whose glob matches nothing makes Asterisk declare
    the whole manager.conf invalid and keep the old config: the module must
    notice (new user not live), restore the previous file and say why."""
    lab.sh("printf '#include \"pbxguard-missing.d/*.conf\"\\n' >> " + CONF)
    try:
        before = lab.sha(CONF)
        users = base_users(lab, s) + [{"name": "newbie", "secret": strong(), "read": ["system"]}]
        r = lab.playbook([ami(users)])
        assert r.failed
        msg = r.last["msg"]
        assert "did not take" in msg and "restored" in msg
        assert "pbxguard-missing.d/*.conf" in msg  # Asterisk's own words
        assert "newbie was not loaded" in msg
        assert lab.sha(CONF) == before
        assert "There is no manager called newbie" in lab.cli("manager show user newbie")
    finally:
        lab.sh("sed -i '/pbxguard-missing.d/d' " + CONF)
    r = lab.playbook([ami(base_users(lab, s))])
    assert not r.failed
    assert lab.ami_login("alpha", s["alpha"])[0] == 0


def test_disable_and_enable_ami(lab, s):
    r = lab.playbook([ami(base_users(lab, s), enabled=False)])
    assert not r.failed and r.last["summary"].startswith("AMI: disabled")
    assert "Manager (AMI):             No" in lab.cli("manager show settings")
    assert lab.ami_login("alpha", s["alpha"])[0] == 2  # nothing listens
    r = lab.playbook([ami(base_users(lab, s))])
    assert not r.failed
    assert lab.ami_login("alpha", s["alpha"])[0] == 0
