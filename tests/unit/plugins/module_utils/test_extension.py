# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ExtensionChange through the change transaction with a fake host: the
files in WRITE_ORDER, reloads of only the modules concerned, PINs and
secrets masked in the diff, every file restored and reloaded when Asterisk
does not take the change, and the 10,000-extension measures (no_log_values
emptied for the CLI, put back on failure; invocation summarised)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _extension as ext
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_transaction import (
    Exit, FakeDisk, FakeHost, FakeModule, FakeWriter,
)

PJSIP = "/etc/asterisk/pjsip.conf"
PJ_MANAGED = "/etc/asterisk/pjsip_pbxguard.conf"
IAX = "/etc/asterisk/iax.conf"
IAX_MANAGED = "/etc/asterisk/iax_pbxguard.conf"
VM = "/etc/asterisk/voicemail.conf"
S1008, S1009 = "Sx1A2B3C4D_e5f6a7b87", "Sx9F8E7D6C_c5b4a3927"


def params(exts, **kw):
    p = dict(context="from-internal", voicemail_context="default", allow_weak_secrets=False, purge=True,
             remove_samples=False, extensions=exts, pjsip_conf=PJSIP, iax_conf=IAX, voicemail_conf=VM,
             backup=False)
    p.update(kw)
    return p


def base_exts():
    return [dict(number="1008", name="Front Desk", secret=S1008, pin="8474", email="fd@example.org"),
            dict(number="1009", secret=S1009, iax=dict(enabled=True, auth="md5", encryption=True))]


def debian_disk():
    own = ("asterisk", "asterisk", 0o640)
    return FakeDisk({PJSIP: (b"[global]\ntype=global\n",) + own,
                     IAX: (b"[general]\nbindport=4569\n\n[guest]\ntype=user\ncontext=public\ncallerid=\"Guest IAX User\"\n",) + own,
                     VM: (b"[general]\nformat=wav49\n\n[default]\n1234 => 4242,Example Mailbox,root@localhost\n",)
                     + own})


class Asterisk(FakeHost):
    """Answers the CLI like an Asterisk that loaded ``live`` (numbers), or
    nothing at all when it rejected the files."""

    def __init__(self, module, disk, live=("1008", "1009")):
        FakeHost.__init__(self, module, disk)
        self.live = list(live)
        self.quiet_cli = []  # were no_log_values empty while the CLI ran?

    def run_command(self, args, **kw):
        self.disk.log.append(("run",) + tuple(args))
        if args[:1] != ["timeout"]:
            return 0, "", ""
        self.quiet_cli.append(not self.module.no_log_values)
        cmd = args[-1]
        if cmd == "pjsip show endpoints" or cmd.startswith("pjsip show endpoints like "):
            return 0, endpoints_listing([(n, n, n, 1) for n in self.live if listed(cmd, n)]), ""
        if cmd.startswith("pjsip show endpoint "):
            return 0, " context : from-internal\n", ""
        if cmd.startswith("iax2 show peer "):
            n = cmd.split()[-1]
            return 0, ("  Name       : %s\n  Encryption   : aes128\n  Calltoken req: Yes\n" % n
                       if n in self.live else "Peer %s not found.\n" % n), ""
        if cmd == "voicemail show users for default":
            return 0, "".join("default   %s   x\n" % n for n in self.live if n == "1008"), ""
        return 0, "", ""


def listed(cmd, name):
    """Whether ``pjsip show endpoints [like REGEX]`` lists endpoint ``name``
    (res_sorcery_config: regexec of the id, unanchored unless the regex is)."""
    import re
    return cmd == "pjsip show endpoints" or re.search(cmd[len("pjsip show endpoints like "):], name) is not None


def endpoints_listing(live):
    """``pjsip show endpoints`` as Asterisk 22 prints it (pjsip_configuration.c
    cli_endpoint_print_body and its children): (name, cid, auth user, max_contacts)."""
    if not live:
        return "\nNo objects found.\n\n"
    out = [" Endpoint:  <Endpoint/CID.....................................>  <State.....>  <Channels.>\n",
           "    I/OAuth:  <AuthId/UserName...........................................................>\n",
           "        Aor:  <Aor............................................>  <MaxContact>\n",
           "=" * 90 + "\n\n"]
    for name, cid, user, max_contacts in live:
        out.append(" Endpoint:  %-51.51s  %-12.12s  0 of inf\n" % ("%s/%s" % (name, cid), "Unavailable"))
        if user is not None:
            out.append("     InAuth:  %s/%s\n" % (name, user))
        if max_contacts is not None:
            out.append("        Aor:  %-39.39s %12u\n" % (name, max_contacts))
        out.append("\n")
    return "".join(out)


def run(exts, disk, live=("1008", "1009"), **kw):
    module = FakeModule(check_mode=kw.pop("check_mode", False), diff=kw.pop("diff", False),
                        no_log_values=[S1008, S1009, "8474"])
    module.params = params(exts, **kw)
    host = Asterisk(module, disk, live)
    t = tx.Transaction(module, ext.ExtensionChange(), host=host, writer=FakeWriter(disk))
    with pytest.raises(Exit) as e:
        t.run(module.params)
    return e.value, module, host


def cli(disk):
    return [e[-1] for e in disk.log if e[:2] == ("run", "timeout")]


def test_first_run_writes_in_order_reloads_each_module_once_and_verifies():
    disk = debian_disk()
    r, module, host = run(base_exts(), disk)
    assert not r.failed, r.result.get("msg")
    res = r.result
    assert res["changed"] and res["created"] == ["1008", "1009"] and res["reloaded"] == ["pjsip", "iax", "voicemail"]
    assert [e[1] for e in disk.log if e[0] == "write"] == [PJ_MANAGED, IAX_MANAGED, PJSIP, IAX, VM]
    assert b'#tryinclude "pjsip_pbxguard.conf"' in disk.read(PJSIP)
    assert b"1008 => 8474,Front Desk,fd@example.org" in disk.read(VM)
    assert res["invocation"] == {"module_args": dict(params([]), extensions="2 extension(s)")}
    commands = cli(disk)
    assert commands[:3] == ["module reload res_pjsip.so", "iax2 reload", "voicemail reload"]
    # the listing of the managed names only (hand-written endpoints need no proof)
    assert "pjsip show endpoints like ^(1008|1009)" in commands and "voicemail show users for default" in commands
    # the CLI ran without the per-string scrub; nothing to scrub in a result without diff
    assert all(host.quiet_cli) and module.no_log_values == set()


def test_rerun_changes_nothing_and_runs_no_command():
    disk = debian_disk()
    run(base_exts(), disk)
    disk.log = []
    r, module, host = run(base_exts(), disk)
    assert not r.failed and r.result["changed"] is False and r.result["reloaded"] == []
    assert r.result["counts"] == {"created": 0, "updated": 0, "removed": 0, "unchanged": 2}
    assert disk.log == []


def test_only_the_module_concerned_is_reloaded():
    disk = debian_disk()
    run(base_exts(), disk)
    disk.log = []
    exts = base_exts()
    exts[0]["secret"] = "Sx0A0B0C0D_ffffeeee1"
    r, module, host = run(exts, disk)
    assert r.result["updated"] == ["1008"] and r.result["secrets_changed"] == 1
    assert [e[1] for e in disk.log if e[0] == "write"] == [PJ_MANAGED]
    assert [c for c in cli(disk) if "reload" in c] == ["module reload res_pjsip.so"]


def test_check_mode_diff_masks_secrets_and_every_pin_in_voicemail_conf():
    disk = debian_disk()
    run(base_exts(), disk)
    # a user changed 1008's PIN from the phone: the file holds a PIN the task never names
    data = disk.read(VM).replace(b"1008 => 8474,", b"1008 => 5150,")
    disk.files[VM] = (data, "asterisk", "asterisk", 0o640)
    before, disk.log = dict(disk.files), []
    exts = base_exts() + [dict(number="1010", secret="Sx5A5B5C5D_a1b2c3d47", pin="6093")]
    exts[0]["email"] = "desk@example.org"
    r, module, host = run(exts, disk, check_mode=True, diff=True)
    assert not r.failed and r.result["changed"] and r.result["created"] == ["1010"]
    assert disk.files == before and not any(e[0] == "write" for e in disk.log)
    text = repr(r.result["diff"])
    assert [d["before_header"] for d in r.result["diff"]] == [PJ_MANAGED, VM]
    assert "<secret:" in text and "desk@example.org" in text
    for value in (S1008, S1009, "Sx5A5B5C5D_a1b2c3d47", "5150", "6093", "8474", "4242"):
        assert value not in text, value


def test_not_taken_restores_every_file_last_first_reloads_and_says_why():
    disk = debian_disk()
    before = dict(disk.files)
    r, module, host = run(base_exts(), disk, live=())
    assert r.failed
    msg = r.result["msg"]
    assert msg.startswith("Asterisk did not take the new configuration; the previous files were restored and "
                          "reloaded. Live state: extensions[0] (1008): PJSIP endpoint/auth/aor '1008' not loaded")
    assert "Asterisk said: " in msg
    written = [e[1] for e in disk.log if e[0] in ("write", "remove")]
    assert written == [PJ_MANAGED, IAX_MANAGED, PJSIP, IAX, VM, VM, IAX, PJSIP, IAX_MANAGED, PJ_MANAGED]
    assert disk.files == before  # new files removed, old ones byte-identical with their owner/mode
    reloads = [c for c in cli(disk) if "reload" in c]
    assert reloads == ["module reload res_pjsip.so", "iax2 reload", "voicemail reload"] * 2
    # the full scrub list is back before anything is returned
    assert module.no_log_values == set([S1008, S1009, "8474"])
    assert r.result["invocation"]["module_args"]["extensions"] == "2 extension(s)"


def test_policy_errors_before_any_io():
    disk = debian_disk()
    r, module, host = run([dict(number="1008", secret="weak")], disk)
    assert r.failed and "extensions[0] (1008).secret: needs at least 8 characters" in r.result["msg"]
    assert disk.log == []


def test_hand_written_mailbox_refused_after_reading_nothing_written():
    disk = debian_disk()
    r, module, host = run([dict(number="1234", secret=S1008, pin="8474")], disk)
    assert r.failed and "mailbox 1234@default is defined by hand at %s:5" % VM in r.result["msg"]
    assert not any(e[0] == "write" for e in disk.log)


def test_remove_samples_in_the_same_pass_verified_live():
    disk = debian_disk()
    r, module, host = run(base_exts(), disk, remove_samples=True)
    assert not r.failed, r.result.get("msg")
    assert r.result["samples_removed"] == [IAX + " [guest]", "1234@default"]
    assert b"[guest]" not in disk.read(IAX) and b"4242" not in disk.read(VM)
    assert "iax2 show users" in cli(disk) and "voicemail show users" in cli(disk)


def test_masker_hides_every_box_pin_form():
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._masking import Masker
    data = "[default]\n1008 => 5150,Desk\n1009=>-6093 , x\n[zonemessages]\neastern=America/New_York|x\n"
    masked = Masker().text(data, path="/etc/asterisk/voicemail.conf")
    assert "5150" not in masked and "6093" not in masked and "America/New_York" in masked


def _disk_with(pjsip=None, iax=None, vm=None):
    disk = debian_disk()
    own = ("asterisk", "asterisk", 0o640)
    for path, data in ((PJSIP, pjsip), (IAX, iax), (VM, vm)):
        if data is not None:
            disk.files[path] = (data,) + own
    return disk


def test_a_clash_asterisk_would_merge_is_refused_naming_option_and_rule():
    """Objects Asterisk builds through templates, (+) appends and folded
    names: each a clear error before anything is written."""
    cases = [
        # an endpoint whose type comes from a template
        (dict(pjsip=b"[t](!)\ntype=endpoint\n[1008](t)\n"), "a PJSIP endpoint '1008' is defined by hand at %s:3" % PJSIP),
        # a context differing only in case: app_voicemail's strcasecmp makes it the same box
        (dict(vm=b"[general]\n[Default]\n1008 => 1111,Old\n"), "mailbox 1008@default is defined by hand at %s:3 as "
                                                               "1008@Default" % VM),
        # searchcontexts=yes: the box number alone
        (dict(vm=b"[general]\nsearchcontexts=yes\n[other]\n1008 => 1111\n"), "across all contexts"),
        # an IAX peer made by appending type=peer to a section
        (dict(iax=b"[general]\n[1009]\ncontext=x\n[1009](+)\ntype=peer\n"), "an IAX peer '1009' is defined by hand"),
    ]
    for files, want in cases:
        disk = _disk_with(**files)
        r, module, host = run(base_exts(), disk)
        assert r.failed and want in r.result["msg"], (files, r.result.get("msg"))
        assert not any(e[0] == "write" for e in disk.log)


def test_templates_and_other_types_are_no_clash():
    # a template named like the extension builds no object; type=Endpoint is no endpoint (strcmp)
    disk = _disk_with(pjsip=b"[1008](!)\ntype=endpoint\n[1009]\ntype=Endpoint\n",
                      vm=b"[general]\n[zonemessages]\n1008 => 1\n")
    r, module, host = run(base_exts(), disk)
    assert not r.failed, r.result.get("msg")


@pytest.mark.parametrize("kw, want", [
    (dict(voicemail_context="General"), "voicemail_context: 'General' is voicemail.conf's general section"),
    (dict(voicemail_context="c" * 80), "voicemail_context: longer than 79 characters"),
])
def test_names_asterisk_would_not_read_as_given(kw, want):
    disk = debian_disk()
    r, module, host = run(base_exts(), disk, **kw)
    assert r.failed and want in r.result["msg"], r.result.get("msg")
    assert disk.log == []


def test_long_and_reserved_usernames():
    disk = debian_disk()
    exts = [dict(number="1", username="u" * 80, secret=S1008),
            dict(number="2", username="callNumberLimits", secret=S1009, iax=dict(enabled=True))]
    r, module, host = run(exts, disk)
    msg = r.result["msg"]
    assert "extensions[0] (1).username: longer than 79 characters" in msg
    assert "extensions[1] (2).username: 'callNumberLimits' names a section of iax.conf" in msg
    assert disk.log == []


def test_readers_follow_the_consumers():
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import load_config
    text = {"/e/p.conf": b"[t](!)\ntype=aor\n[a](t)\ntype=endpoint\nauth=x, y\n[x]\ntype=auth\nusername=u1\n"
                         b"UserName=u2\n[d]\ntype=aor\n[d]\ntype=aor\n"}
    objs = ext.pjsip_objects(load_config("/e/p.conf", text.get))
    assert sorted(objs) == ["aor", "auth"]  # 'a' is an aor: the inherited type comes first
    assert objs["aor"] is None  # '[d]' twice: Asterisk rejects every aor
    assert ext.pjsip_option(objs["auth"]["x"], "username") == "u2"
    vm = {"/e/v.conf": b"[general]\n[c]\n" + b"B" * 85 + b" => 1,Name\n" + b"b" * 85 + b" => 2\n*9 => 3\n9 => 4\n"
                       b"[C]\n9 => 5\n"}
    boxes = ext.voicemail_boxes(load_config("/e/v.conf", vm.get))
    # an 85-character box is kept cut at 79; the next one is compared whole against the cut one: kept too
    assert [(b["context"], b["mailbox"], b["fullname"]) for b in boxes] == [
        ("c", "B" * 79, "Name"), ("c", "b" * 79, ""), ("c", "9", "")]


def _want(number, username=None, authname=None, auth_user=None):
    u = username or number
    return dict(number=number, username=u, authname=authname or u, auth_user=auth_user,
                label="extensions[0] (%s)" % number)


def test_listing_proves_every_object_and_its_live_values():
    text = endpoints_listing([("1008", "1008", "1008", 1), ("1009", "1009", "old-user", 1),
                              ("1010", "1010", None, 1), ("1011", "1011", "1011", None),
                              ("1012", "1012", "1012", 5), ("1099", "1099", "1099", 1)])
    wanted = [_want("1008"), _want("1009"), _want("1010"), _want("1011"), _want("1012"), _want("1013")]
    problems = ext.check_pjsip_listing(text, wanted, ["1099", "1098"])
    assert problems == [
        "extensions[0] (1009): live auth username is not '1009' (Asterisk kept the old object)",
        "extensions[0] (1010): PJSIP auth '1010' not loaded",
        "extensions[0] (1011): PJSIP aor '1011' not loaded",
        "extensions[0] (1012): live aor max_contacts is 5, not 1 (Asterisk kept the old object)",
        "extensions[0] (1013): PJSIP endpoint/auth/aor '1013' not loaded",
        "PJSIP endpoint '1099' still loaded after its removal",
    ]


def test_listing_with_names_longer_than_asterisks_columns():
    """Asterisk cuts 'name/cid' at 51 and an aor name at 39 characters; the
    auth line is printed whole and tells endpoints with the same first 51
    characters apart."""
    a, b = "a" * 60 + "x", "a" * 60 + "y"
    text = endpoints_listing([(a, "2001", a, 1), (b, "2002", "wrong", 1)])
    problems = ext.check_pjsip_listing(text, [_want("2001", a), _want("2002", b)], [])
    assert problems == ["extensions[0] (2002): live auth username is not '%s' (Asterisk kept the old object)" % b]
    assert ext.check_pjsip_listing(text, [], [a]) == ["PJSIP endpoint '%s' still loaded after its removal" % a]
    assert ext.check_pjsip_listing(endpoints_listing([(b, "2002", b, 1)]), [], [a]) == []


def test_listing_parse_of_asterisks_own_header_and_no_objects():
    assert ext.parse_endpoints(endpoints_listing([])) == []
    assert ext.parse_endpoints(endpoints_listing([("1008", "1008", "1008", 1)])) == [
        dict(field="1008/1008", cut=False, auths=[("1008", "1008")], aors=[("1008", False, "1")])]


def test_spread_keeps_first_and_last():
    assert ext._spread(list(range(100)), 5) == [0, 25, 50, 74, 99]
    assert ext._spread([1, 2], 5) == [1, 2]


def test_managed_file_as_rendered_is_read_like_a_parse():
    """The rerun shortcut of read_managed gives what the full parse gives."""
    exts = [dict(number="1008", name="Front Desk", secret=S1008, pin="8474", email="fd@example.org",
                 permit=["198.18.0.0/24"], auth_user="fd-auth"),
            dict(number="1009", secret=S1009, username="soft9", iax=dict(enabled=True, auth="md5", encryption=True))]
    settings, xs = ext.validate(params(exts))
    files = dict(paths=ext.paths_of(params([])), pjsip_conf=b"", iax_conf=b"", voicemail=b"[default]\n")
    files.update(pjsip_managed=None, iax_managed=None)
    first = ext.plan(settings, xs, False, files)["files"]
    rendered_pj = [(x, ext.render_pjsip(dict(x, mailbox="%s@default" % x["number"] if x["pin"] else None), x["secret"]))
                   for x in xs]
    rendered_iax = [(x, ext.render_iax(x, x["secret"])) for x in xs if x["iax"]]
    for data, kind, key, rendered in ((first["pjsip_managed"], "auth", "password", rendered_pj),
                                      (first["iax_managed"], "friend", "secret", rendered_iax)):
        fast = ext.read_managed(data, kind, key, rendered)
        cfg = ext.ConfigFile.from_bytes(data)
        assert fast == ext.index_blocks(cfg) + (ext._secrets(cfg, kind, key),)
        # one byte else: parsed in full (and still the same answer as a parse)
        edited = data.replace(b"max_contacts=1", b"max_contacts=1 ") if kind == "auth" else data + b"\n"
        cfg = ext.ConfigFile.from_bytes(edited)
        assert ext.read_managed(edited, kind, key, rendered) == ext.index_blocks(cfg) + (ext._secrets(cfg, kind, key),)
    files.update(pjsip_managed=first["pjsip_managed"], iax_managed=first["iax_managed"], voicemail=first["voicemail"])
    again = ext.plan(settings, xs, False, files)
    assert again["files"]["pjsip_managed"] == first["pjsip_managed"] and again["unchanged"] == 2


def _full_read(data, kind, key):
    cfg = ext.ConfigFile.from_bytes(data or b"")
    return ext.index_blocks(cfg) + (ext._secrets(cfg, kind, key),)


def _as_lists(got):
    """The three dicts with their order (a parse keeps file order)."""
    return [list(d.items()) for d in got]


def test_piecewise_read_of_the_managed_file_equals_a_full_parse():
    """Differential: read_managed reads a managed file piecewise (only the
    stretches that are not a block as rendered are parsed); on random edits
    of a rendered file - a changed secret or value, blocks removed, moved,
    doubled, foreign sections and lines, comments, block comments, a tag
    changed, no final newline, CRLF - it gives exactly what parsing the
    whole file gives, order included."""
    import random
    rnd = random.Random(16)
    exts = []
    for i in range(12):
        e = dict(number=str(2000 + i), secret="Sx%02dA2B3C4D_e5f6a7b8" % i)
        if i % 3 == 0:
            e.update(name="Desk %d" % i, pin="84%02d" % i)
        if i % 4 == 1:
            e.update(username="user-%d" % i, auth_user="au%d" % i, permit=["198.18.0.0/24"])
        if i % 2 == 0:
            e.update(iax=dict(enabled=True, auth=("md5", "rsa", "plaintext", "none")[i % 4], encryption=i % 4 == 0,
                              rsa_key="k%d" % i if i % 4 == 1 else None))
        exts.append(e)
    for e in exts:
        if e.get("iax") and e["iax"]["rsa_key"] is None:
            del e["iax"]["rsa_key"]
        if e.get("iax") and e["iax"]["auth"] == "rsa":
            e["iax"]["rsa_key"] = "k" + e["number"]
    settings, xs = ext.validate(params(exts))
    files = dict(paths=ext.paths_of(params([])), pjsip_conf=b"", iax_conf=b"", voicemail=b"[default]\n",
                 pjsip_managed=None, iax_managed=None)
    first = ext.plan(settings, xs, False, files)["files"]
    rendered_pj = [(x, ext.render_pjsip(dict(x, mailbox="%s@default" % x["number"] if x["pin"] else None),
                                        x["secret"])) for x in xs]
    rendered_iax = [(x, ext.render_iax(x, x["secret"])) for x in xs if x["iax"]]
    foreign = ["[hand]\ntype=auth\npassword=Hand1-Xy\n\n", "[2003]\ntype=auth\npassword=Other9-Zz\n",
               "; a comment\n", "\n", "stray=line\n", ";-- open\n", "--; close\n", "[bad\n",
               "[2005]\n; pbxguard extension 2005\ntype=endpoint\n\n", "#include other.conf\n",
               "[t](!)\ntype=auth\n", "password=NoSection1-x\n", "a\\;b=c\n", "[x]\r\ntype=auth\r\n"]

    def edit(text, blocks):
        pieces = [text[:len(ext.HEADER) + 1]] + list(blocks)
        for dummy in range(rnd.randint(1, 4)):
            op = rnd.randrange(9)
            i = rnd.randrange(1, len(pieces)) if len(pieces) > 1 else 1
            if op == 0 and len(pieces) > 1:
                del pieces[i]
            elif op == 1:
                pieces.insert(i, rnd.choice(foreign))
            elif op == 2 and len(pieces) > 1:
                pieces.insert(rnd.randrange(1, len(pieces) + 1), pieces[i])
            elif op == 3 and len(pieces) > 2:
                j = rnd.randrange(1, len(pieces))
                pieces[i], pieces[j] = pieces[j], pieces[i]
            elif op == 4 and len(pieces) > 1:
                pieces[i] = pieces[i].replace("password=Sx", "password=Qx").replace("secret=Sx", "secret=Qx")
            elif op == 5 and len(pieces) > 1:
                pieces[i] = pieces[i].replace("; pbxguard extension 20", "; pbxguard extension 21", 1)
            elif op == 6 and len(pieces) > 1:
                k = rnd.randrange(len(pieces[i]) + 1)
                pieces[i] = pieces[i][:k] + rnd.choice(foreign) + pieces[i][k:]
            elif op == 7:
                pieces.append(rnd.choice(foreign).rstrip("\n"))
            else:
                pieces[i] = pieces[i].replace("\n", "\r\n", 2) if len(pieces) > 1 else pieces[i]
        return "".join(pieces)

    for data, kind, key, rendered in ((first["pjsip_managed"], "auth", "password", rendered_pj),
                                      (first["iax_managed"], "friend", "secret", rendered_iax)):
        text = data.decode("utf-8")
        blocks = [b for _x, b in rendered]
        assert text == ext.HEADER + "\n" + "".join(blocks)
        assert _as_lists(ext.read_managed(data, kind, key, rendered)) == _as_lists(_full_read(data, kind, key))
        for dummy in range(400):
            edited = edit(text, blocks).encode("utf-8")
            assert _as_lists(ext.read_managed(edited, kind, key, rendered)) == \
                _as_lists(_full_read(edited, kind, key)), edited.decode()
        # the task's list changed (one secret, one extension fewer): other rendered blocks
        changed = [(x, b.replace("password=Sx05", "password=Zz05").replace("secret=Sx04", "secret=Zz04"))
                   for x, b in rendered[1:]]
        assert _as_lists(ext.read_managed(data, kind, key, changed)) == _as_lists(_full_read(data, kind, key))


def test_one_change_plans_the_same_as_before():
    """A changed secret and an on_create secret: the plan reuses the block
    rendered for read_managed only where the secret is the task's own."""
    exts = [dict(number=str(3000 + i), secret="Sx%02dA2B3C4D_e5f6a7b8" % i,
                 iax=dict(enabled=True, auth="md5")) for i in range(5)]
    settings, xs = ext.validate(params(exts))
    files = dict(paths=ext.paths_of(params([])), pjsip_conf=b"", iax_conf=b"", voicemail=b"[default]\n",
                 pjsip_managed=None, iax_managed=None)
    first = ext.plan(settings, xs, False, files)["files"]
    files.update(pjsip_managed=first["pjsip_managed"], iax_managed=first["iax_managed"], voicemail=first["voicemail"])
    exts[2]["secret"] = "Changed02-Zq_x7"
    exts[3].update(secret="Other03-Zq_x7yy", secret_update="on_create")
    settings, xs = ext.validate(params(exts))
    planned = ext.plan(settings, xs, False, files)
    assert planned["updated"] == ["3002"] and planned["unchanged"] == 4 and planned["secret_changed"] == ["3002"]
    pj = planned["files"]["pjsip_managed"].decode()
    iax = planned["files"]["iax_managed"].decode()
    assert "password=Changed02-Zq_x7" in pj and "secret=Changed02-Zq_x7" in iax
    assert "Other03" not in pj and "Other03" not in iax and "password=Sx03A2B3C4D_e5f6a7b8" in pj
    assert pj == first["pjsip_managed"].decode().replace("Sx02A2B3C4D_e5f6a7b8", "Changed02-Zq_x7")


def test_listing_pattern_matches_every_name_within_its_budget():
    """The ``like`` filter of the verifying listing: every managed (and
    removed) username matches it - Python's re reads '^(..|..)' and '[.]'
    as POSIX ERE does - hand-written names with other prefixes do not."""
    import random
    import re
    assert ext.listing_pattern([]) is None
    managed = [str(100000 + i) for i in range(10000)]
    pattern = ext.listing_pattern(managed)
    assert len(pattern) <= 200 and pattern.startswith("^(1")
    assert all(re.match(pattern, n) for n in managed)
    assert not any(re.match(pattern, str(500000 + i)) for i in range(10000))
    assert ext.listing_pattern(["1008", "1009"]) == "^(1008|1009)"
    assert ext.listing_pattern(["10", "100", "1001"]) == "^(10)"
    assert ext.listing_pattern(["a.b", "a+b", "a-b_c@d"]) == "^(a[+]b|a-b_c@d|a[.]b)"
    assert not re.match(ext.listing_pattern(["a.b"]), "axb")
    rnd = random.Random(16)
    chars = "abcXYZ019_.@+-"
    for dummy in range(300):
        names = ["".join(rnd.choice(chars) for dummy in range(rnd.randint(1, 79))) for dummy in range(rnd.randint(1, 400))]
        budget = rnd.choice((40, 200, 1000))
        pattern = ext.listing_pattern(names, budget)
        assert len(pattern) <= budget or pattern.count("|") == len(set(n[0] for n in names)) - 1
        assert all(re.match(pattern, n) for n in names), (pattern, names)
