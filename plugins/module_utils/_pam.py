# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PAM service files read as Linux-PAM reads them (libpam/pam_handlers.c,
pam.conf(5)), so that a rule is recognised by what it means, not by its
spelling: other tools (community.general.pamd, used by devsec.hardening)
rewrite every line of a file in their own spacing.

A rule's meaning is its type (``-auth`` is ``auth`` that stays silent when
the module is missing), its control (a keyword is the bracket form pam.conf(5)
defines for it; the value=action pairs of a bracket are a map, their order
is irrelevant), its module (a bare name and a path into a PAM module
directory are the same module) and its arguments (options such as
``nullok`` or ``secret=...``: their order does not matter to the modules
compared here). ``stack`` follows ``@include`` and the ``include`` /
``substack`` controls the way PAM builds the stack of one type. Pure:
callers pass a reader."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import posixpath

PAM_DIR = "/etc/pam.d"
TYPES = ("account", "auth", "password", "session")
# pam.conf(5): the keyword controls and the bracket forms they stand for
KEYWORD_CONTROLS = {
    "required": "success=ok new_authtok_reqd=ok ignore=ignore default=bad",
    "requisite": "success=ok new_authtok_reqd=ok ignore=ignore default=die",
    "sufficient": "success=done new_authtok_reqd=done default=ignore",
    "optional": "success=ok new_authtok_reqd=ok default=ignore",
}
INCLUDE_DEPTH = 32  # libpam's PAM_SUBSTACK_MAX_LEVEL is 16; beyond this it is a loop


class Rule(object):
    """One rule: ``path`` and ``number`` where it stands, ``type`` (without
    '-'), ``silent`` (the '-' prefix), ``control`` (normalised: a keyword as
    itself for include/substack, else a sorted tuple of value=action pairs),
    ``module`` (basename of a module path), ``args`` (tuple as written)."""

    def __init__(self, path, number, rtype, silent, control, module, args, text, target=None):
        self.path = path
        self.target = target or module  # the module path (or file of include/substack) as written
        self.number = number
        self.type = rtype
        self.silent = silent
        self.control = control
        self.module = module
        self.args = tuple(args)
        self.text = text

    @property
    def meaning(self):
        """What PAM does with the rule, for comparing two spellings."""
        return (self.type, self.control, self.module, tuple(sorted(self.args)))

    def __repr__(self):
        return "%s:%d %s" % (self.path, self.number, self.text.strip())


def _words(text):
    """Split a logical line into words; ``[...]`` (a control or an argument
    with blanks, as pam_handlers.c allows) stays one word."""
    out, cur, depth = [], [], 0
    for c in text:
        if c == "[" and not cur and depth == 0:
            depth = 1
            cur.append(c)
        elif depth:
            cur.append(c)
            if c == "]":
                depth = 0
                out.append("".join(cur))
                cur = []
        elif c in " \t\r\n\f\v":
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(c)
    if cur:
        out.append("".join(cur))
    return out


def normalise_control(word):
    w = word.strip()
    if w.startswith("["):
        pairs = {}
        for item in w[1:-1 if w.endswith("]") else None].replace(" = ", "=").split():
            value, _sep, action = item.partition("=")
            pairs[value.lower()] = action.lower()
        return tuple(sorted(pairs.items()))
    w = w.lower()
    if w in KEYWORD_CONTROLS:
        return normalise_control("[%s]" % KEYWORD_CONTROLS[w])
    return w  # include, substack (and anything PAM would refuse: kept as is)


def module_name(path):
    """``pam_x.so`` for ``pam_x.so`` and for ``/lib/x86_64-linux-gnu/security/pam_x.so``
    (a path into any directory: PAM loads a bare name from its module directory)."""
    return posixpath.basename(path)


def logical_lines(text):
    """(first line number, text) of each logical line: a backslash at the end
    of a line joins the next one; '#' starts a comment (pam_handlers.c)."""
    out, buf, start = [], "", None
    for number, raw in enumerate(text.splitlines(), 1):
        if start is None:
            start = number
        if raw.endswith("\\"):
            buf += raw[:-1] + " "
            continue
        buf += raw
        out.append((start, buf.split("#", 1)[0]))
        buf, start = "", None
    if start is not None:
        out.append((start, buf.split("#", 1)[0]))
    return out


def parse_line(path, number, text):
    """A Rule, ('@include', file) or None for one logical line (comments already cut)."""
    words = _words(text)
    if not words:
        return None
    if words[0] == "@include":
        return ("@include", words[1] if len(words) > 1 else "")
    if len(words) < 3:
        return None
    rtype, silent = words[0].lower(), False
    if rtype.startswith("-"):
        rtype, silent = rtype[1:], True
    if rtype not in TYPES:
        return None
    return Rule(path, number, rtype, silent, normalise_control(words[1]), module_name(words[2]), words[3:], text,
                target=words[2])


def parse(data, path):
    """Every rule and @include of a file's bytes, in order."""
    out = []
    for number, text in logical_lines((data or b"").decode("utf-8", "surrogateescape")):
        item = parse_line(path, number, text)
        if item is not None:
            out.append(item)
    return out


def rule_of(text):
    """The Rule of one line of text (``auth required x.so a``), or None."""
    lines = logical_lines(text)
    return parse_line("<rule>", 1, lines[0][1]) if lines else None


def stack(read, service, rtype, overrides=None):
    """The rules of type ``rtype`` that PAM runs for ``service``, in order,
    with ``@include`` and ``include``/``substack`` followed. ``read(path)``
    returns bytes or None; ``overrides``: {path: bytes} read instead (a
    candidate file before it is written)."""
    overrides = overrides or {}

    def load(path):
        return overrides[path] if path in overrides else read(path)

    out = []

    def visit(path, only_type, depth):
        if depth > INCLUDE_DEPTH:
            return
        for item in parse(load(path), path):
            if isinstance(item, tuple):
                visit(posixpath.join(PAM_DIR, item[1]), only_type, depth + 1)
            elif item.type == only_type:
                if item.control in ("include", "substack"):
                    visit(item.target if item.target.startswith("/") else posixpath.join(PAM_DIR, item.target),
                          only_type, depth + 1)
                else:
                    out.append(item)

    visit(posixpath.join(PAM_DIR, service), rtype, 0)
    return out
