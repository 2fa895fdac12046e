# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import (
    ConfigFile, load_tree, parse_line, OPTION, SECTION, DIRECTIVE, COMMENT,
)

# The real corpus: /etc/asterisk of the lab image (built by `make image`).
CORPUS_DIRS = sorted(glob.glob("/var/cache/pbxguard-lab/images/*/rootfs/etc/asterisk"))
CORPUS = sorted(p for d in CORPUS_DIRS[-1:] for p in glob.glob(os.path.join(d, "**", "*.conf"), recursive=True))


def test_corpus_present():
    assert CORPUS, "no lab image corpus found: run `make image` first"
    assert len(CORPUS) >= 90  # Debian ships ~100 sample files


@pytest.mark.parametrize("path", CORPUS, ids=[os.path.basename(p) for p in CORPUS])
def test_corpus_round_trip_byte_for_byte(path):
    with open(path, "rb") as f:
        data = f.read()
    cfg = ConfigFile.from_bytes(data)
    assert cfg.to_bytes() == data


@pytest.mark.parametrize("path", CORPUS, ids=[os.path.basename(p) for p in CORPUS])
def test_corpus_edit_touches_only_its_section(path):
    with open(path, "rb") as f:
        data = f.read()
    cfg = ConfigFile.from_bytes(data)
    if not cfg.sections:
        return
    target = cfg.sections[-1]
    target.set("pbxguard_probe", "1")
    out = cfg.to_bytes().decode("utf-8", "surrogateescape").splitlines(True)
    orig = data.decode("utf-8", "surrogateescape").splitlines(True)
    added = [ln for ln in out if ln.startswith("pbxguard_probe")]
    assert added == ["pbxguard_probe = 1\n"] or added == ["pbxguard_probe = 1\r\n"]
    rest = [ln for ln in out if not ln.startswith("pbxguard_probe")]
    # only the final-newline fix may differ when the file lacked one
    assert "".join(rest).rstrip("\r\n") == "".join(orig).rstrip("\r\n")
    target.remove("pbxguard_probe")
    assert cfg.to_bytes().rstrip(b"\r\n") == data.rstrip(b"\r\n")


SAMPLE = """\
; top comment
#include "common.conf" ; inline
[general]
enabled = yes ; AMI on
port=5038
bindaddr = 127.0.0.1

;-- a block comment
[not-a-section]
--;
[6001]
type=endpoint
allow=!all,ulaw
allow=alaw
aors=6001

[6001]
type=auth
username=6001
password=a\\;b

[tmpl](!)
context=from-internal
[child](tmpl,other)
exten => 1,1,Answer()
[child](+)
foo=bar
"""


def test_structure():
    cfg = ConfigFile(SAMPLE)
    assert cfg.serialize() == SAMPLE
    assert [s.name for s in cfg.sections] == ["general", "6001", "6001", "tmpl", "child", "child"]
    assert cfg.preamble[1].kind == DIRECTIVE and cfg.preamble[1].argument == "common.conf"
    assert cfg.first("general").get("enabled") == "yes"
    assert cfg.first("general").get("port") == "5038"
    assert cfg.first("6001", type="endpoint").get_all("allow") == ["!all,ulaw", "alaw"]
    assert cfg.first("6001", type="auth").get("password") == "a;b"
    assert cfg.first("tmpl").is_template
    child, child_add = cfg.find("child")
    assert child.inherits == ["tmpl", "other"]
    assert child_add.is_append
    assert child.option_lines("exten")[0].arrow is True
    assert child.get("exten") == "1,1,Answer()"
    assert all(ln.kind == COMMENT for ln in cfg.sections[0].lines[4:7])


def test_set_keeps_spacing_and_comment():
    cfg = ConfigFile(SAMPLE)
    g = cfg.first("general")
    g.set("enabled", "no")
    g.set("port", "5039")
    assert "enabled = no ; AMI on\n" in cfg.serialize()
    assert "port=5039\n" in cfg.serialize()


def test_set_removes_duplicates_and_inserts():
    cfg = ConfigFile("[a]\nx=1\nx=2\n; trailing\n")
    cfg.first("a").set("x", "3")
    assert cfg.serialize() == "[a]\nx=3\n; trailing\n"
    cfg.first("a").set("y", "4")
    assert cfg.serialize() == "[a]\nx=3\ny = 4\n; trailing\n"


def test_add_and_remove_section_round_trip():
    cfg = ConfigFile(SAMPLE)
    s = cfg.add_section("new", [("secret", "x"), ("deny", "0.0.0.0/0.0.0.0"), ("deny", "::/0")],
                        comments=["managed"])
    assert s.get_all("deny") == ["0.0.0.0/0.0.0.0", "::/0"]
    text = cfg.serialize()
    assert text.startswith(SAMPLE)
    assert text.endswith("\n[new]\n; managed\nsecret = x\ndeny = 0.0.0.0/0.0.0.0\ndeny = ::/0\n")
    again = ConfigFile(text)
    again.remove_section(again.sections[-1])
    assert again.serialize() == SAMPLE


def test_remove_middle_section_keeps_following_comment():
    text = "[a]\nx=1\n\n; about b\n[b]\ny=2\n\n; about c\n[c]\nz=3\n"
    cfg = ConfigFile(text)
    cfg.remove_section(cfg.first("b"))
    assert cfg.serialize() == "[a]\nx=1\n\n; about b\n; about c\n[c]\nz=3\n"


def test_replace_body():
    cfg = ConfigFile("[u]\nsecret=old\nread=all\n\n; next\n[v]\n")
    cfg.first("u").replace_body([("secret", "new"), ("read", "system")], comments=["m"])
    assert cfg.serialize() == "[u]\n; m\nsecret = new\nread = system\n\n; next\n[v]\n"


def test_no_final_newline_and_crlf():
    assert ConfigFile("[a]\r\nx=1").serialize() == "[a]\r\nx=1"
    cfg = ConfigFile("[a]\r\nx=1")
    cfg.add_section("b", [("y", "2")])
    assert cfg.serialize() == "[a]\r\nx=1\r\n\r\n[b]\r\ny = 2\r\n"


def test_non_utf8_bytes_round_trip():
    data = b"[a]\nname=J\xf6rg ; latin-1\n"
    assert ConfigFile.from_bytes(data).to_bytes() == data


@pytest.mark.parametrize("raw,kind,key,value", [
    ("x = 1", OPTION, "x", "1"),
    ("x=>1", OPTION, "x", "1"),
    ("  x =  a b  ; c", OPTION, "x", "a b"),
    ("[s](!) ; c", SECTION, "s", ["!"]),
    ("[s]", SECTION, "s", []),
    ("permit=198.18.0.0/255.255.255.0", OPTION, "permit", "198.18.0.0/255.255.255.0"),
    ("x = a\\;b", OPTION, "x", "a;b"),
    ("x =", OPTION, "x", ""),
])
def test_parse_line(raw, kind, key, value):
    ln = parse_line(raw + "\n")
    assert (ln.kind, ln.key, ln.value) == (kind, key, value)


def test_load_tree_follows_includes(tmp_path):
    (tmp_path / "manager.d").mkdir()
    (tmp_path / "manager.conf").write_text('[general]\n#include "manager.d/*.conf"\n#tryinclude missing.conf\n')
    (tmp_path / "manager.d" / "a.conf").write_text("[alice]\nsecret=x\n")
    (tmp_path / "manager.d" / "b.conf").write_text("[bob]\nsecret=y\n#include ../manager.conf\n")
    tree = load_tree(str(tmp_path / "manager.conf"))
    names = [s.name for c in tree for s in c.sections]
    assert names == ["general", "alice", "bob"]


# ------------------------------------------------- as main/config.c reads a file
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import (  # noqa: E402
    consumer_view, consume_comments, physical_lines)


def _vars(text):
    return [(e[2], e[3]) for e in consumer_view(text) if e[1] == "variable"]


def test_escaped_semicolon_keeps_the_value_whole():
    assert _vars("[u]\nsecret = ab\\;cd ; note\n") == [("secret", "ab;cd")]


def test_backslash_backslash_semicolon_is_still_an_escape():
    # config.c only looks at the one char before ';' (no escaped backslash)
    assert _vars("[u]\nsecret = a\\\\;b\n") == [("secret", "a\\;b")]
    cfg = ConfigFile("[u]\nsecret = a\\\\;b\n")
    assert cfg.sections[0].get("secret") == "a\\;b"


def test_block_comment_opens_mid_line_and_nests():
    text = "[u]\na = 1 ;-- start\nb = 2\n;-- inner --;\nc = 3 --; d = 4\ne = 5\n"
    assert _vars(text) == [("a", "1"), ("d", "4"), ("e", "5")]
    cfg = ConfigFile(text)
    assert cfg.sections[0].items() == [("a", "1"), ("d", "4"), ("e", "5")]


def test_three_dashes_is_a_plain_comment():
    assert _vars("[u]\na = 1 ;--- not a block\nb = 2\n") == [("a", "1"), ("b", "2")]


def test_a_stray_block_end_hides_the_rest_of_the_file():
    # "--;" with no block open drives Asterisk's nesting below zero: the line keeps
    # its text (value included) and every later line is ignored
    text = "[u]\nsecret = x--; y\n[v]\nsecret = z\n"
    view = consumer_view(text)
    assert [e[1:4] if e[1] == "category" else e[1:5] for e in view] == [
        ("category", "u", []), ("variable", "secret", "x--; y", "=")]
    assert consume_comments("secret = x--; y", 0)[1] == -1
    assert [s.name for s in ConfigFile(text).sections] == ["u"]


def test_section_header_as_config_c_reads_it():
    view = consumer_view("[ spaced ]\n[tmpl](!)\n[late] (!)\n[x](a,b)\n")
    assert [e[2:4] for e in view] == [(" spaced ", []), ("tmpl", ["!"]), ("late", []), ("x", ["a", "b"])]
    assert consumer_view("[open\n")[0][1] == "invalid"
    assert consumer_view("[a](!\n")[0][1] == "invalid"


def test_names_are_cut_at_79_characters():
    name = "n" * 100
    assert consumer_view("[%s]\n" % name)[0][2] == "n" * 79


def test_lines_split_at_lf_only():
    text = "[u]\nsecret = a\x0cb\u2028c\n"
    assert len(physical_lines(text)) == 2
    assert _vars(text) == [("secret", "a\x0cb\u2028c")]
    assert ConfigFile(text).sections[0].get("secret") == "a\x0cb\u2028c"


def test_operators_escape_and_errors():
    assert [e[:5] for e in consumer_view("[u]\na => 1\nb += 2\n\\;c = 3\n")[1:]] == [
        (2, "variable", "a", "1", "=>"), (3, "variable", "b", "2", "+="), (4, "variable", ";c", "3", "=")]
    assert consumer_view("a = 1\n")[0][1] == "invalid"  # no category yet
    assert consumer_view("[u]\nno equal sign\n")[1][1] == "ignored"
    assert consumer_view("[u]\n#INCLUDE \"x.conf\"\n")[1][1:] == ("directive", "include", "x.conf")
    assert consumer_view("\ufeff[u]\n")[0][1:4] == ("category", "u", [])


def test_control_characters_are_stripped_like_blanks():
    assert _vars("[u]\nkey = v\x01\n") == [("key", "v")]


class DictFiles(object):
    """A host's read side made of a dict: load_tree must read includes
    through it, never from the disk behind it."""

    def __init__(self, files):
        self.files = files
        self.reads = []

    def read(self, path):
        self.reads.append(os.path.normpath(path))
        return self.files.get(os.path.normpath(path))

    def exists(self, path):
        return path in self.files

    def glob(self, pattern):
        import fnmatch
        return sorted(p for p in self.files if fnmatch.fnmatch(p, pattern))

    def realpath(self, path):
        return os.path.normpath(path)


def test_load_tree_reads_includes_through_the_hosts_read_side():
    files = DictFiles({
        "/nowhere/pjsip.conf": b"[a]\ntype=aor\n#include pjsip.d/*.conf\n#include extra.conf\n",
        "/nowhere/pjsip.d/1.conf": b"[b]\ntype=aor\n#include pjsip.conf\n",
        "/nowhere/extra.conf": b"[c]\ntype=auth\n",
    })
    trees = load_tree("/nowhere/pjsip.conf", files=files)
    assert [c.path for c in trees] == ["/nowhere/pjsip.conf", "/nowhere/pjsip.d/1.conf", "/nowhere/extra.conf"]
    assert [s.name for c in trees for s in c.sections] == ["a", "b", "c"]
    # relative names start in the top file's directory (Asterisk's config dir):
    # the include loop back to pjsip.conf is read once
    assert files.reads.count("/nowhere/pjsip.conf") == 1


# ---- load_config: categories as ast_config_load2 builds them
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import (  # noqa: E402
    load_config, fold)


def _load(files, top="/etc/asterisk/x.conf"):
    data = dict((k, v.encode("utf-8")) for k, v in files.items())
    return load_config(top, data.get, glob_fn=lambda pat: sorted(
        p for p in data if __import__("fnmatch").fnmatchcase(p, pat)))


def test_templates_inheritance_and_append():
    cfg = _load({"/etc/asterisk/x.conf": "[t](!)\ntype=endpoint\n[a](t)\nauth=a\n[A](+)\naors=a\n[t](+)\nx=1\n"})
    assert [c.name for c in cfg.browse()] == ["a"]  # (+) folds the name and skips templates
    a = cfg.browse()[0]
    assert [(v[0], v[1], v[2]) for v in a.variables] == [
        ("type", "endpoint", True), ("auth", "a", False), ("aors", "a", False)]
    assert cfg.status == "invalid"  # '[t](+)': no non-template 't' to append to
    assert _load({"/etc/asterisk/x.conf": "[a](nope)\n"}).status == "invalid"


def test_plus_equals_appends_as_written():
    cfg = _load({"/etc/asterisk/x.conf": "[a]\nv = x\nv +=  y \nw += z\n"})
    assert [(v[0], v[1]) for v in cfg.browse()[0].variables] == [("v", "x  y"), ("w", "z")]


def test_includes_from_the_config_dir_and_current_category():
    files = {"/etc/asterisk/x.conf": "[a]\n#include \"sub/i.conf\"\nafter=1\n",
             "/etc/asterisk/sub/i.conf": "inc=1\n#tryinclude \"j.conf\"\n#include \"sub/k.conf\"\n",
             "/etc/asterisk/j.conf": "[j]\n", "/etc/asterisk/sub/j.conf": "[wrong]\n",
             "/etc/asterisk/sub/k.conf": "[k]\n[open\n[lost]\n"}
    cfg = _load(files)
    # an included file goes on in the including file's category; the includer goes on in its own;
    # 'j.conf' is /etc/asterisk/j.conf even from sub/; an invalid include ends only itself
    assert [(c.name, [v[0] for v in c.variables]) for c in cfg.categories] == [
        ("a", ["inc", "after"]), ("j", []), ("k", [])]
    assert cfg.status == "ok"
    assert _load({"/etc/asterisk/x.conf": "[a]\n#include \"none*.conf\"\n"}).status == "invalid"
    assert _load({"/etc/asterisk/x.conf": "[a]\n#tryinclude \"none*.conf\"\n"}).status == "ok"


def test_fold_is_ascii_only_like_strcasecmp():
    assert fold("ÄbC") == "Äbc"
    cfg = _load({"/etc/asterisk/x.conf": "[Ä]\n[ä](+)\n"})
    assert cfg.status == "invalid"


def _loaded(cfg):
    return (cfg.status, cfg.problems,
            [(c.name, c.template, c.variables, c.path, c.lineno, c.inherits) for c in cfg.categories])


def test_inlined_variable_lines_load_as_the_general_path(monkeypatch):
    """Differential: load_config's inlined 'name = value' path gives exactly
    what classify() + _process_line() give (categories, variables with their
    places, status, problems), on random files with templates, appends,
    '+=', '=>', blanks and control characters, comments, includes and lines
    without '=' or a name."""
    import random
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _asterisk_config as ac
    rnd = random.Random(16)
    lines = ["[a]", "[b](!)", "[c](b)", "[a](+)", "[x](+)", "[t](!,b)", "k=v", "k = v ", "k=>v", "k =>  v",
             "k+=w", "k += w", "=v", " = v", "novalue", "k==v", "k=>", "k=", "\tk\t=\tv\x01", "k=v ; c",
             "; comment", ";-- block", "--;", "\\k=v", "#include inc.conf", "#tryinclude none.conf",
             "k=v\\;x", "[", "", "type=endpoint", "K=V", "a b=c d", "k=>>v", "\x7fk=v"]
    for dummy in range(400):
        main = "\n".join(rnd.choice(lines) for dummy in range(rnd.randint(0, 30))) + rnd.choice(("", "\n"))
        inc = "\n".join(rnd.choice(lines[6:21]) for dummy in range(rnd.randint(0, 5)))
        files = {"/etc/asterisk/m.conf": main.encode(), "/etc/asterisk/inc.conf": inc.encode()}

        def read(path):
            return files.get(path)
        monkeypatch.setattr(ac, "_FAST_VARIABLES", True)
        fast = _loaded(ac.load_config("/etc/asterisk/m.conf", read, "/etc/asterisk", glob_fn=lambda p: []))
        monkeypatch.setattr(ac, "_FAST_VARIABLES", False)
        general = _loaded(ac.load_config("/etc/asterisk/m.conf", read, "/etc/asterisk", glob_fn=lambda p: []))
        assert fast == general, main
