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


def _split_comment(text):
    """Split ``text`` at the first unescaped ``;``: (content, comment-or-'')."""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            i += 2
            continue
        if c == ";":
            return text[:i], text[i:]
        i += 1
    return text, ""


def unescape(value):
    """Asterisk reads ``\\;`` as a literal ``;``."""
    return value.replace("\\;", ";")


def _eol(raw):
    if raw.endswith("\r\n"):
        return "\r\n"
    if raw.endswith("\n"):
        return "\n"
    return ""


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


def parse_line(raw, number=0):
    text = raw.rstrip("\r\n")
    stripped = text.strip()
    if not stripped:
        return Line(raw, BLANK, number=number)
    if stripped.startswith(";"):
        return Line(raw, COMMENT, number=number)
    m = _DIRECTIVE_RE.match(text)
    if m:
        arg = _split_comment(m.group(2))[0].strip()
        if len(arg) >= 2 and arg[0] == arg[-1] == '"':
            arg = arg[1:-1]
        return Line(raw, DIRECTIVE, directive=m.group(1), argument=arg, number=number)
    content, _comment = _split_comment(text)
    m = _SECTION_RE.match(content)
    if m:
        return Line(raw, SECTION, key=m.group(2).strip(),
                    value=[o.strip() for o in (m.group(4) or "").split(",") if o.strip()],
                    number=number)
    m = _OPTION_RE.match(content)
    if m and m.group(2).strip():
        value = m.group(6).strip()
        arrow = m.group(4) == "=>"
        return Line(raw, OPTION, key=m.group(2).strip(), value=unescape(value),
                    arrow=arrow, number=number)
    return Line(raw, OTHER, number=number)


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
    content, comment = _split_comment(text)
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
        in_block = False
        current = None
        for number, raw in enumerate(text.splitlines(True), 1):
            if in_block:
                line = Line(raw, COMMENT, number=number)
                if "--;" in raw:
                    in_block = False
            else:
                stripped = raw.strip()
                if stripped.startswith(";--") and "--;" not in stripped[3:]:
                    in_block = True
                    line = Line(raw, COMMENT, number=number)
                else:
                    line = parse_line(raw, number)
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


def resolve_include(base_dir, argument):
    """Files an ``#include`` argument names (globs allowed), sorted."""
    path = argument if os.path.isabs(argument) else os.path.join(base_dir, argument)
    if any(c in path for c in "*?["):
        return sorted(glob.glob(path))
    return [path] if os.path.exists(path) else []


def load_tree(path, _seen=None):
    """``path`` and every file it includes (recursively), as ConfigFiles, in
    order. Unreadable/missing includes are skipped (read-only helper used to
    find clashes with objects defined by hand)."""
    seen = _seen if _seen is not None else set()
    real = os.path.realpath(path)
    if real in seen:
        return []
    seen.add(real)
    try:
        with open(path, "rb") as f:
            cfg = ConfigFile.from_bytes(f.read(), path)
    except (IOError, OSError):
        return []
    result = [cfg]
    for inc in cfg.includes():
        for p in resolve_include(os.path.dirname(path), inc.argument):
            result.extend(load_tree(p, seen))
    return result
