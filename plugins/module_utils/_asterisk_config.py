# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One parser/serializer for Asterisk configuration files.

Asterisk's format is not INI: keys repeat and their order matters, section
names repeat (told apart by ``type=``), ``[name](!)`` is a template,
``[name](a,b)`` inherits, ``[name](+)`` appends, ``#include``/``#tryinclude``
pull in other files, ``=>`` means ``=``, ``;`` starts a comment (``\\;`` is a
literal semicolon) and ``;-- ... --;`` is a block comment.

The model keeps every line's raw text, so ``serialize(parse(text)) == text``
for any input (byte for byte, including encoding, line endings and a missing
final newline). Edits only regenerate the lines they touch.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import re

BLANK = "blank"
COMMENT = "comment"
SECTION = "section"
DIRECTIVE = "directive"
OPTION = "option"
OTHER = "other"

_SECTION_RE = re.compile(r"^(\s*)\[([^\]]*)\]([ \t]*\(([^)]*)\))?")
_DIRECTIVE_RE = re.compile(r"^\s*#\s*(include|tryinclude|exec)\s+(.*?)\s*$")
_OPTION_RE = re.compile(r"^(\s*)([^=;\[]*?)(\s*)(=>?)(\s*)(.*)$")


def split_comment(text):
    """Split ``text`` at the first ``;`` that starts a comment, as config.c
    does: unless the one character before it is a backslash (``\\;`` is a
    literal ``;``; config.c looks no further back, so ``\\\\;`` is too).
    Returns (content, comment-or-'')."""
    i = text.find(";")
    while i > 0 and text[i - 1] == "\\":
        i = text.find(";", i + 1)
    if i < 0:
        return text, ""
    return text[:i], text[i:]


def unescape(value):
    """Asterisk reads ``\\;`` as a literal ``;``."""
    return value.replace("\\;", ";")


def _eol(raw):
    if raw.endswith("\r\n"):
        return "\r\n"
    if raw.endswith("\n"):
        return "\n"
    return ""


# ---------------------------------------------------------------- as config.c reads
# main/config.c (config_text_file_load, process_text_line) of Asterisk 22, ported
# statement for statement: the collection must see exactly what Asterisk sees.
MAX_NESTED_COMMENTS = 128
CONFIG_LINE_MAX = 8191  # fgets into char buf[8192]: a longer line is skipped whole
NAME_MAX = 79  # ast_category.name[80], ast_manager_user.username[80]


def physical_lines(text):
    """Lines as fgets() splits them: at LF only (str.splitlines also splits at
    VT, FF, \\x1c-\\x1e, NEL, U+2028/9, which Asterisk keeps inside a line)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


_BELOW_33 = "".join(chr(c) for c in range(33))


def ast_strip(text):
    """ast_strip(): drops every char below 33 at both ends (not only whitespace)."""
    return text.strip(_BELOW_33)


def consume_comments(buf, level):
    """One line through config.c's comment loop. ``level`` is the block comment
    nesting at the line's start. Returns (text handed to process_text_line or
    None, level after the line). ``\\;`` is a literal ``;`` (the backslash
    goes), ``;--`` opens a block comment anywhere in a line unless a third
    ``-`` follows, ``--;`` closes one - and, as in Asterisk, a ``--;`` outside
    any block drives the level below zero, so every later line is ignored."""
    if "\0" not in buf:
        # Fast paths, the same result as the loop below for the lines that make
        # up nearly every file (a per-character walk cost ~10 us a line: 2.7 s
        # for a 10,000-extension file). No ';': the loop breaks at once.
        p = buf.find(";")
        if p < 0:
            return (None if level else buf), level
        # first ';' plainly starts a comment: not escaped, not ';--' opening
        # a block, not the end of '--;'
        if (not level and (p == 0 or buf[p - 1] != "\\") and buf[p + 1:p + 3] != "--"
                and not (p >= 2 and buf[p - 2:p] == "--")):
            return buf[:p], level
    s = list(buf) + ["\0"]

    def at(i):
        return s[i] if 0 <= i < len(s) else "\0"

    def cstr_end(i):
        while s[i] != "\0":
            i += 1
        return i

    def strchr(i, c):
        while s[i] != "\0":
            if s[i] == c:
                return i
            i += 1
        return -1

    new = 0
    process = None if level else 0
    while True:
        p = strchr(new, ";")
        if p < 0:
            break
        if p > new and s[p - 1] == "\\":
            del s[p - 1]  # memmove over the backslash
            new = p
        elif at(p + 1) == "-" and at(p + 2) == "-" and at(p + 3) != "-":
            if level < MAX_NESTED_COMMENTS:
                s[p] = "\0"
                new = p + 3
                level += 1
            else:
                new = p + 1
        elif p >= new + 2 and s[p - 1] == "-" and s[p - 2] == "-":
            level -= 1
            new = p + 1
            if not level:
                if process is not None:
                    old = cstr_end(process)
                    tail = s[new:cstr_end(new) + 1]
                    s[old:old + len(tail)] = tail
                    new = old
                else:
                    process = new
        elif not level:
            s[p] = "\0"
            new = p
            break
        else:
            new = p + 1
    if process is None:
        return None, level
    return "".join(s[process:cstr_end(process)]), level


def statements(text, level=0):
    """config.c's reading of one file's text up to its statements:
    ([(lineno, statement)], level) - each non-empty line with comments
    consumed and blanks stripped, ``None`` for a line too long (config.c
    skips it with a warning), and the block-comment ``level`` at the end
    (config.c carries it on through the files of one glob)."""
    out = []
    short = CONFIG_LINE_MAX // 4  # a character is at most 4 bytes in UTF-8: no encode() for shorter lines
    for lineno, raw in enumerate(physical_lines(text), 1):
        if (len(raw) > short and len(raw.encode("utf-8", "surrogateescape")) > CONFIG_LINE_MAX
                and not raw.endswith("\n")):
            out.append((lineno, None))
            continue
        if lineno == 1 and raw.startswith("\ufeff"):
            raw = raw[1:]
        processed, level = consume_comments(raw, level)
        if processed is None:
            continue
        t = processed.strip(_BELOW_33)  # ast_strip
        if t:
            out.append((lineno, t))
    return out, level


def consumer_view(text):
    """What config.c makes of one file's text, without includes: a list of
    entries ``(lineno, kind, a, b, c)``:
    ``("category", name, options)``, ``("variable", name, value, op)`` with op
    ``=``, ``=>`` or ``+=``, ``("directive", word, argument)``,
    ``("ignored", reason)`` (a warning, the line is skipped) and
    ``("invalid", reason)`` (Asterisk declares the whole file invalid)."""
    out = []
    have_category = False
    for lineno, t in statements(text)[0]:
        if t is None:
            out.append((lineno, "ignored", "line too long"))
            continue
        entry = classify(t)
        if entry[0] == "category":
            have_category = True
        elif entry[0] == "variable" and not have_category:
            entry = ("invalid", "no category context")
        out.append((lineno,) + entry)
    return out


def classify(t):
    """process_text_line() on a stripped, comment-free line ``t``."""
    if t[0] == "[":
        c = t.find("]")
        if c < 0:
            return ("invalid", "no closing ']'")
        name, rest = t[1:c], t[c + 1:]
        options = []
        if rest.startswith("("):  # only right after ']': "[a] (!)" has no options
            close = rest.find(")")
            if close < 0:
                return ("invalid", "no closing ')'")
            options = rest[1:close].split(",")
        # the uncut name last: a (+) looks its category up by the name as written
        return ("category", name[:NAME_MAX], options, name)
    if t[0] == "#":
        i = 1
        while i < len(t) and ord(t[i]) > 32:
            i += 1
        word, arg = t[1:i], ast_strip(t[i + 1:]) if i < len(t) else ""
        if word.lower() not in ("include", "tryinclude", "exec"):
            return ("ignored", "unknown directive #%s" % word)
        if not arg:
            return ("ignored", "directive #%s needs an argument" % word)
        if arg[0] in "\"<" and arg[-1] == {"\"": "\"", "<": ">"}[arg[0]] and len(arg) > 1:
            arg = arg[1:-1]
        return ("directive", word.lower(), arg)
    cur = 0
    if t[0] == "\\":
        cur = 1
        if len(t) < 2 or ord(t[1]) < 33:
            return ("invalid", "invalid escape")
    c = t.find("=", cur + cur)
    if c < 0:
        return ("ignored", "no '='")
    op = "="
    if c > cur + cur and t[c - 1] == "+":
        name, op = ast_strip(t[cur:c - 1]), "+="
        value = t[c + 1:]
    else:
        name, value = ast_strip(t[cur:c]), t[c + 1:]
        if value.startswith(">"):
            op, value = "=>", value[1:]
    if not name:
        return ("ignored", "no variable name")
    # the unstripped value last: '+=' appends it as written (config.c strips only the joined value)
    return ("variable", name, ast_strip(value), op, value)


class Line(object):
    """One physical line. ``raw`` includes its line ending (if any)."""

    __slots__ = ("raw", "kind", "key", "value", "arrow", "directive", "argument", "number")

    def __init__(self, raw, kind, key=None, value=None, arrow=False,
                 directive=None, argument=None, number=0):
        self.raw = raw
        self.kind = kind
        self.key = key
        self.value = value
        self.arrow = arrow
        self.directive = directive
        self.argument = argument
        self.number = number

    @property
    def text(self):
        return self.raw.rstrip("\r\n")

    def __repr__(self):
        return "Line(%d, %s, %r)" % (self.number, self.kind, self.text)


def _line_from(raw, processed, number):
    """The Line for ``raw`` given what config.c's comment loop handed on."""
    if not raw.strip():
        return Line(raw, BLANK, number=number)
    t = processed.strip(_BELOW_33) if processed is not None else ""
    if not t:
        return Line(raw, COMMENT, number=number)
    if t[0] not in "[#\\":
        # classify()'s variable branch inlined for the common 'key = value'
        # line (a function call and a tuple per line cost ~1 s at 200,000 lines)
        c = t.find("=")
        if c > 0:
            if t[c - 1] == "+":
                name, value, arrow = t[:c - 1].strip(_BELOW_33), t[c + 1:], False
            else:
                name, value = t[:c].strip(_BELOW_33), t[c + 1:]
                arrow = value[:1] == ">"
                if arrow:
                    value = value[1:]
            if name:
                return Line(raw, OPTION, name, value.strip(_BELOW_33), arrow, None, None, number)
        return Line(raw, OTHER, number=number)
    entry = classify(t)
    if entry[0] == "category":
        return Line(raw, SECTION, key=entry[1], value=entry[2], number=number)
    if entry[0] == "directive":
        return Line(raw, DIRECTIVE, directive=entry[1], argument=entry[2], number=number)
    if entry[0] == "variable":
        return Line(raw, OPTION, key=entry[1], value=entry[2], arrow=entry[3] == "=>", number=number)
    return Line(raw, OTHER, number=number)


def parse_line(raw, number=0):
    """One line read on its own (outside any block comment)."""
    return _line_from(raw, consume_comments(raw.rstrip("\r\n"), 0)[0], number)


class Section(object):
    """A ``[name](options)`` header and the lines up to the next header."""

    def __init__(self, header, lines=None):
        self.header = header
        self.lines = lines if lines is not None else []

    # --- reading
    @property
    def name(self):
        return self.header.key

    @property
    def options(self):
        """Header options: ``!`` (template), ``+`` (append) and template names."""
        return list(self.header.value)

    @property
    def is_template(self):
        return "!" in self.header.value

    @property
    def is_append(self):
        return "+" in self.header.value

    @property
    def inherits(self):
        return [o for o in self.header.value if o not in ("!", "+")]

    def option_lines(self, key=None):
        return [ln for ln in self.lines
                if ln.kind == OPTION and (key is None or ln.key == key)]

    def items(self):
        return [(ln.key, ln.value) for ln in self.option_lines()]

    def get_all(self, key):
        return [ln.value for ln in self.option_lines(key)]

    def get(self, key, default=None):
        values = self.get_all(key)
        return values[-1] if values else default

    @property
    def type(self):
        return self.get("type")

    def has_comment(self, marker):
        return any(ln.kind == COMMENT and marker in ln.text for ln in self.lines)

    # --- editing
    def _eol(self):
        for ln in [self.header] + self.lines:
            e = _eol(ln.raw)
            if e:
                return e
        return "\n"

    def _insert_index(self):
        """Index after the last option/directive/other line (comments and blank
        lines that follow it usually introduce the next section)."""
        idx = 0
        for i, ln in enumerate(self.lines):
            if ln.kind in (OPTION, DIRECTIVE, OTHER):
                idx = i + 1
        return idx

    def set(self, key, value):
        """Give ``key`` exactly one value: the first existing line is rewritten in
        place (spacing and comment kept), later duplicates are removed."""
        value = str(value)
        existing = self.option_lines(key)
        if existing:
            first = existing[0]
            if first.value != value or len(existing) > 1:
                _rewrite_value(first, value)
                for dup in existing[1:]:
                    self.lines.remove(dup)
            return
        idx = self._insert_index()
        prev = self.lines[idx - 1] if idx else self.header
        if not _eol(prev.raw):
            prev.raw += self._eol()
        self.lines.insert(idx, make_option(key, value, self._eol()))

    def remove(self, key):
        self.lines = [ln for ln in self.lines if not (ln.kind == OPTION and ln.key == key)]

    def replace_body(self, pairs, comments=()):
        """Replace all option lines with ``pairs`` (list of (key, value)),
        preceded by ``comments``; keeps trailing comment/blank lines."""
        eol = self._eol()
        if not _eol(self.header.raw):
            self.header.raw += eol
        idx = self._insert_index()
        if idx and not _eol(self.lines[idx - 1].raw):
            self.lines[idx - 1].raw += eol
        tail = self.lines[idx:]
        body = [make_comment(c, eol) for c in comments]
        body += [make_option(k, v, eol) for k, v in pairs]
        self.lines = body + tail


def _rewrite_value(line, value):
    text = line.text
    content, comment = split_comment(text)
    m = _OPTION_RE.match(content)
    trailing = content[len(content.rstrip()):]
    new = "%s%s%s%s%s%s" % (m.group(1), m.group(2), m.group(3), m.group(4),
                            m.group(5) if (m.group(5) or not m.group(3)) else " ", value)
    if comment:
        new += trailing if trailing else " "
        new += comment
    line.raw = new + _eol(line.raw)
    line.value = value


def make_option(key, value, eol="\n", arrow=False):
    value = str(value)
    raw = "%s %s%s%s" % (key, "=>" if arrow else "=", " " + value if value else "", eol)
    return Line(raw, OPTION, key=key, value=value, arrow=arrow)


def make_comment(text, eol="\n"):
    return Line("; %s%s" % (text, eol) if text else ";%s" % eol, COMMENT)


def make_header(name, options=(), eol="\n"):
    opts = "(%s)" % ",".join(options) if options else ""
    return Line("[%s]%s%s" % (name, opts, eol), SECTION, key=name, value=list(options))


class ConfigFile(object):
    """A parsed Asterisk config file: ``preamble`` lines before the first
    section, then ``sections`` in file order."""

    def __init__(self, text="", path=None):
        self.path = path
        self.preamble = []
        self.sections = []
        current = None
        level = 0  # block comment nesting, carried from line to line as config.c does
        for number, raw in enumerate(physical_lines(text), 1):
            body = raw[1:] if number == 1 and raw.startswith("\ufeff") else raw
            processed, level = consume_comments(body.rstrip("\n"), level)
            line = _line_from(raw, processed, number)
            if line.kind == SECTION:
                current = Section(line)
                self.sections.append(current)
            elif current is None:
                self.preamble.append(line)
            else:
                current.lines.append(line)

    @classmethod
    def from_bytes(cls, data, path=None):
        return cls(data.decode("utf-8", "surrogateescape"), path)

    def serialize(self):
        out = [ln.raw for ln in self.preamble]
        for s in self.sections:
            out.append(s.header.raw)
            out.extend(ln.raw for ln in s.lines)
        return "".join(out)

    def to_bytes(self):
        return self.serialize().encode("utf-8", "surrogateescape")

    # --- queries
    def find(self, name=None, type=None, templates=True):
        """Sections by name and/or ``type=`` value (in file order)."""
        found = []
        for s in self.sections:
            if name is not None and s.name != name:
                continue
            if type is not None and s.type != type:
                continue
            if not templates and s.is_template:
                continue
            found.append(s)
        return found

    def first(self, name, type=None):
        found = self.find(name, type)
        return found[0] if found else None

    def includes(self):
        lines = list(self.preamble)
        for s in self.sections:
            lines.extend(s.lines)
        return [ln for ln in lines if ln.kind == DIRECTIVE and ln.directive in ("include", "tryinclude")]

    # --- editing
    def _eol(self):
        for ln in self.preamble + [s.header for s in self.sections]:
            e = _eol(ln.raw)
            if e:
                return e
        return "\n"

    def _ensure_final_newline(self):
        last = None
        if self.sections:
            s = self.sections[-1]
            last = s.lines[-1] if s.lines else s.header
        elif self.preamble:
            last = self.preamble[-1]
        if last is not None and not _eol(last.raw):
            last.raw += self._eol()

    def add_section(self, name, pairs=(), options=(), comments=(), blank_before=True):
        eol = self._eol()
        self._ensure_final_newline()
        if blank_before and (self.sections or self.preamble):
            prev = self.sections[-1].lines if self.sections else self.preamble
            if prev and prev[-1].kind != BLANK:
                prev.append(Line(eol, BLANK))
        s = Section(make_header(name, options, eol))
        s.lines = [make_comment(c, eol) for c in comments]
        s.lines += [make_option(k, v, eol) for k, v in pairs]
        self.sections.append(s)
        return s

    def remove_section(self, section):
        """Drop a section's header and body up to its last option line, plus
        blank lines right after it; comments after that stay (they usually
        belong to what follows). The section's blank separator before it goes
        too when it was added by add_section."""
        idx = self.sections.index(section)
        keep = section.lines[section._insert_index():]
        while keep and keep[0].kind == BLANK:
            keep.pop(0)
        prev = self.sections[idx - 1].lines if idx > 0 else self.preamble
        del self.sections[idx]
        if not keep and prev and prev[-1].kind == BLANK and idx == len(self.sections):
            prev.pop()  # it was the last section: drop the blank separator too
        prev.extend(keep)

    def section_line_numbers(self, section):
        return section.header.number


def ensure_include(data, managed_name, comment):
    """``data`` (a config file's bytes, or None) with a ``#tryinclude`` of
    ``managed_name`` at its end after a ``; comment`` line; unchanged when it
    already includes that file. The one way a module hooks the file it owns
    into a hand-written one (pjsip.conf, iax.conf, extensions.conf)."""
    cfg = ConfigFile.from_bytes(data or b"")
    for inc in cfg.includes():
        if inc.argument == managed_name:
            return data or b""
    text = cfg.serialize()
    if text and not text.endswith("\n"):
        text += "\n"
    text += "\n; %s\n#tryinclude \"%s\"\n" % (comment, managed_name)
    return text.encode("utf-8", "surrogateescape")


def _local(files):
    if files is None:
        # imported here: _files -> _masking -> this file
        from ansible_collections.pbxguard.asterisk.plugins.module_utils._files import LOCAL
        return LOCAL
    return files


def resolve_include(base_dir, argument, files=None):
    """Files an ``#include`` argument names (globs allowed), sorted.
    ``files``: the host's read side (``_files.LocalFiles``; a planner passes
    its ``Host``)."""
    files = _local(files)
    path = argument if os.path.isabs(argument) else os.path.join(base_dir, argument)
    if any(c in path for c in "*?["):
        return files.glob(path)
    return [path] if files.exists(path) else []


def load_tree(path, _seen=None, config_dir=None, files=None):
    """``path`` and every file it includes (recursively), as ConfigFiles, in
    order. Unreadable/missing includes are skipped (read-only helper used to
    find clashes with objects defined by hand). Relative #include names are
    looked up in ``config_dir`` (default: the top file's directory), as
    Asterisk looks them up in its config directory even from a file in a
    subdirectory. ``files``: the host's read side (a planner's ``Host``)."""
    files = _local(files)
    seen = _seen if _seen is not None else set()
    base = config_dir or os.path.dirname(path)
    real = files.realpath(path)
    if real in seen:
        return []
    seen.add(real)
    try:
        data = files.read(path)
    except (IOError, OSError):
        return []
    if data is None:
        return []
    cfg = ConfigFile.from_bytes(data, path)
    result = [cfg]
    for inc in cfg.includes():
        for p in resolve_include(base, inc.argument, files):
            result.extend(load_tree(p, seen, base, files))
    return result


# ------------------------------------------------------- as ast_config_load builds it
# main/config.c again, one level up: what a module gets from ast_config_load2() -
# categories after #include, templates, inheritance and (+) appends. The readers of
# the modules (e.g. _extension.pjsip_objects) walk this, as Asterisk's modules walk
# theirs, so the collection sees the objects Asterisk builds.
MAX_INCLUDE_LEVEL = 10
CONFIG_DIR = "/etc/asterisk"  # ast_config_AST_CONFIG_DIR: relative #include names start here


_FOLD = dict((c, c + 32) for c in range(65, 91))


def fold(text):
    """strcasecmp()'s folding in the C locale: A-Z only (Python's lower()
    also folds non-ASCII letters, which Asterisk compares as they are)."""
    return text.translate(_FOLD)


def ast_true(value):
    """ast_true(): yes, true, y, t, 1, on (case-insensitive); None is false."""
    return value is not None and fold(value.strip()) in ("yes", "true", "y", "t", "1", "on")


class Category(object):
    """One ast_category: ``name`` (cut at 79), ``template`` (the ``ignored``
    flag: '(!)'), ``variables`` as [name, value, inherited, 'path:line'] in order, where
    it was defined (``path``, ``lineno``) and the templates it inherited."""

    __slots__ = ("name", "template", "variables", "path", "lineno", "inherits")

    def __init__(self, name, path, lineno):
        self.name = name
        self.template = False
        self.variables = []
        self.path = path
        self.lineno = lineno
        self.inherits = []

    def retrieve(self, name):
        """ast_variable_retrieve() of Asterisk 22: the *first* value of ``name``
        (case-insensitive) - inherited ones come first. (Asterisk 23 returns
        the last one, upstream commit c157ee62f6; the lab's 22.10 showed the
        first: '[p] type=peer type=user' is a peer.)"""
        return self.find_first(name)

    def last(self, name):
        """The last value of ``name`` (case-insensitive): what applying the
        variables in order leaves (ast_sorcery_objectset_apply, manager.c)."""
        found = None
        for v in self.variables:
            if fold(v[0]) == fold(name):
                found = v[1]
        return found

    def find_first(self, name):
        """ast_variable_find_in_list(): the first value of ``name`` (case-insensitive)."""
        for v in self.variables:
            if fold(v[0]) == fold(name):
                return v[1]
        return None

    def __repr__(self):
        return "Category(%r%s, %r)" % (self.name, "(!)" if self.template else "", self.variables)


class LoadedConfig(object):
    """What ast_config_load2() returned: ``status`` is 'ok', 'invalid'
    (CONFIG_STATUS_FILEINVALID: the module keeps its old configuration) or
    'missing' (NULL); ``categories`` in order; ``problems`` what Asterisk
    would log (path:line: reason)."""

    def __init__(self):
        self.categories = []
        self.status = "ok"
        self.problems = []
        self.current = None
        self.include_level = 0

    def browse(self):
        """ast_category_browse(): every category that is not a template."""
        return [c for c in self.categories if not c.template]

    def get(self, name, templates=False):
        """ast_category_get(): the first category named ``name`` (case-insensitive)."""
        for c in self.categories:
            if fold(c.name) == fold(name) and (templates or not c.template):
                return c
        return None


def _category_matches(cat, name, match, sep):
    """does_category_match(): name (case-insensitive, None/'' = any) and the
    ``name=regex`` filter list (``TEMPLATES=include|restrict``)."""
    if name and fold(cat.name) != fold(name):
        return False
    if not match:
        return not cat.template
    found = expressions = 0
    template_ok = False
    for nvp in match.split(sep):
        nvp = nvp.strip()
        expressions += 1
        if "=" not in nvp:
            break
        mname, mvalue = [x.strip() for x in nvp.split("=", 1)]
        if mname == "TEMPLATES":
            if fold(mvalue) == "include":
                template_ok = template_ok or cat.template
                found += 1
            elif fold(mvalue) == "restrict":
                if cat.template:
                    found += 1
                    template_ok = True
                else:
                    break
            continue
        try:
            rn, rv = re.compile(mname), re.compile(mvalue)
        except re.error:
            return False
        if any(rn.search(v[0]) and rv.search(v[1]) for v in cat.variables):
            found += 1
    return found == expressions and (not cat.template or template_ok)


def _category_get(cfg, name, match, sep):
    for c in cfg.categories:
        if _category_matches(c, name, match, sep):
            return c
    return None


def _include_paths(filename, config_dir, glob_fn):
    fn = filename if filename.startswith("/") else "%s/%s" % (config_dir, filename)
    if any(c in fn for c in "*?["):
        return sorted(glob_fn(fn))
    return [fn]  # GLOB_NOMAGIC: the name itself, opened (or not) below


_FAST_VARIABLES = True  # the inlined variable path of _load_text_file (tests compare it with the general one)


def _load_text_file(cfg, filename, read, config_dir, glob_fn):
    """config_text_file_load(): None (no file: NULL), 'invalid' or 'ok'."""
    if cfg.include_level == MAX_INCLUDE_LEVEL + 1:
        cfg.problems.append("%s: maximum include level exceeded" % filename)
        return None
    cfg.include_level += 1
    cat = cfg.current  # an included file goes on in the category it was included from
    count = 0
    level = 0  # one comment state for every file of a glob, as config.c has it
    status = "ok"
    for path in _include_paths(filename, config_dir, glob_fn):
        data = read(path)
        if data is None:
            continue
        count += 1
        text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
        found, level = statements(text, level)
        fast = _FAST_VARIABLES
        for lineno, t in found:
            if t is None:
                cfg.problems.append("%s:%d: line too long, skipped" % (path, lineno))
                continue
            if fast and cat is not None and t[0] not in "[#\\":
                # classify() + _process_line() inlined for a plain 'name = value' or
                # 'name => value' in a category (the same variable; two calls and a
                # tuple per line cost ~1 s at 150,000 hand-written lines); '+=', no
                # '=' or no name take the general way
                c = t.find("=")
                if c > 0 and t[c - 1] != "+":
                    name = t[:c].strip(_BELOW_33)
                    if name:
                        value = t[c + 1:]
                        if value[:1] == ">":
                            value = value[1:]
                        cat.variables.append([name, value.strip(_BELOW_33), False, "%s:%d" % (path, lineno)])
                        continue
            ok, cat = _process_line(cfg, cat, classify(t), path, lineno, read, config_dir, glob_fn)
            if not ok:
                status = "invalid"
                break
        if status == "invalid":
            break
    if status == "invalid":
        return "invalid"  # include_level stays raised, as in ast_config_internal_load
    cfg.include_level -= 1
    return "ok" if count else None


def _process_line(cfg, cat, entry, path, lineno, read, config_dir, glob_fn):
    """process_text_line(): (False, cat) when Asterisk returns -1 here."""
    where = "%s:%d" % (path, lineno)
    kind = entry[0]
    if kind == "invalid":
        cfg.problems.append("%s: %s" % (where, entry[1]))
        return False, cat
    if kind == "ignored":
        cfg.problems.append("%s: %s (line ignored)" % (where, entry[1]))
        return True, cat
    if kind == "category":
        name, options, uncut = entry[1], entry[2], entry[3]
        newcat = Category(name, path, lineno)
        cat = newcat
        for opt in options:
            if opt == "!":
                cat.template = True
            elif opt.startswith("+"):
                found = _category_get(cfg, uncut, opt[1:], "&")
                if found is None:
                    cfg.problems.append("%s: category addition requested, but category '%s' does not exist"
                                        % (where, uncut))
                    return False, cat
                cat = found
                cfg.current = found
                if newcat is not None:
                    found.template = found.template or newcat.template
                    found.variables.extend(newcat.variables)
                    newcat = None
            else:
                base = _category_get(cfg, opt, "TEMPLATES=include", ",")
                if base is None:
                    cfg.problems.append("%s: inheritance requested, but category '%s' does not exist"
                                        % (where, opt))
                    return False, cat
                cat.inherits.append(base.name)
                cat.variables.extend([v[0], v[1], True, v[3]] for v in base.variables)
        if newcat is not None:
            cfg.categories.append(newcat)
            cfg.current = newcat
        return True, cat
    if kind == "directive":
        word, arg = entry[1], entry[2]
        if word == "exec":
            cfg.problems.append("%s: #exec needs execincludes (ignored)" % where)
            return True, cat
        result = _load_text_file(cfg, arg, read, config_dir, glob_fn)
        if result is None and word != "tryinclude":
            cfg.problems.append("%s: the file '%s' was listed as a #include but it does not exist" % (where, arg))
            return False, cat
        return True, cat
    # a variable
    if cat is None:
        cfg.problems.append("%s: no category context" % where)
        return False, cat
    name, value, op = entry[1], entry[2], entry[3]
    if op == "+=":
        replace = None
        for v in cat.variables:
            if v[0] == name:  # strcmp: the last of exactly this name
                replace = v
        if replace is not None:
            joined = ast_strip(replace[1] + entry[4])  # ast_str_trim_blanks + ast_skip_blanks: < 33
            old = replace[1]
            # ast_variable_update(): the first variable of that name (and old value), case-insensitive
            for v in cat.variables:
                if fold(v[0]) == fold(replace[0]) and fold(v[1]) == fold(old):
                    v[1] = joined
                    v[2] = False
                    v[3] = where
                    break
            return True, cat
    cat.variables.append([name, value, False, where])
    return True, cat


def load_config(filename, read=None, config_dir=CONFIG_DIR, glob_fn=None):
    """ast_config_load2(filename): a LoadedConfig. ``read(path)`` returns a
    file's bytes or None (default: the local file system), ``glob_fn`` expands
    an #include pattern (default: glob.glob)."""
    if read is None:
        def read(path):
            try:
                with open(path, "rb") as f:
                    return f.read()
            except (IOError, OSError):
                return None
    cfg = LoadedConfig()
    result = _load_text_file(cfg, filename, read, config_dir, glob_fn or glob.glob)
    if result is None:
        cfg.status = "missing"
    elif result == "invalid":
        cfg.status = "invalid"
    return cfg
