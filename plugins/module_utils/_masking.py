# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret masking for diff text: every module's diff goes through one Masker.

Two rules, applied to the whole text of a file (so hand-written objects are
covered as much as managed ones):

* by key: the value of every secret-bearing option, parsed the way the daemon
  reading the file parses it (Asterisk's config.c, app_voicemail's mailbox
  lines, msmtp's ``command argument``, JSON ``"key": "value"``);
* by value: every value the task passed through ``no_log`` (``extra_values``),
  wherever it appears, found in time linear in the text whatever the number of
  values (an index of value prefixes, never one loop or one regex alternative
  per value).

A secret becomes ``<secret:xxxxxx>``, an HMAC under a key drawn per Masker:
equal secrets show equal tags within one diff (a changed secret shows as a
changed tag), nothing links tags across runs or lets a tag be checked against
a guess.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import hmac
import os
import re

from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import (
    ast_strip, classify, consume_comments, split_comment, unescape)

# Option names whose values are secrets, compared case-insensitively (Asterisk
# matches option names with strcasecmp) and against the last part of a
# pjsip_wizard name such as ``inbound_auth/password``. Sources: Asterisk 22's
# configs/samples and the modules reading them (res_pjsip auth: password,
# md5_cred, oauth_secret, refresh_token, password_digest; chan_iax2 and
# manager: secret, md5secret, dbsecret; res_ari: password; app_voicemail:
# authpassword, imappassword/imapsecret, vmsecret; res_config_mysql/dbsep:
# dbpass; rtp: turnpassword; res_curl: userpwd, proxyuserpwd, ssl_keypasswd;
# websocket_client: proxy_password; hep: capture_password; prometheus:
# auth_password; confbridge: pin; minivm: pincode; iaxprov and res_ldap: pass).
SECRET_KEYS = frozenset([
    "secret", "password", "md5secret", "dbsecret", "remotesecret", "password_digest", "md5_cred",
    "oauth_secret", "refresh_token", "passwd", "pass", "dbpass", "pin", "pincode",
    "authpassword", "imappassword", "imapsecret", "vmsecret", "turnpassword", "userpwd",
    "proxyuserpwd", "ssl_keypasswd", "proxy_password", "capture_password", "auth_password",
    "tlsprivatekey_password", "outkey_password",
])

# msmtp commands whose argument is a secret (passwordeval's command line may
# well carry one, e.g. ``echo PASS``)
MSMTP_SECRET_COMMANDS = frozenset(["password", "passwordeval"])

ASTERISK = "asterisk"
VOICEMAIL = "voicemail"
MEETME = "meetme"
MSMTP = "msmtp"
JSON = "json"
TOTP = "totp"

# app_voicemail.c load_users(): every section is a mailbox context except these
# (and the one [general] names in aliasescontext)
_VOICEMAIL_NON_MAILBOX = ("general", "zonemessages")

_TAG_RE = re.compile(r"<secret:[0-9a-f]{6}>\Z")
_ZONEMESSAGES_RE = re.compile(r"^[ \t]*\[[ \t]*zonemessages[ \t]*\]", re.I | re.M)
_ALIASES_RE = re.compile(r"^[ \t]*aliasescontext[ \t]*=>?[ \t]*([^;\r\n]*)", re.I | re.M)
_JSON_PAIR_RE = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:\s*)"((?:[^"\\]|\\.)*)"')
# the prefix length of the value index: values shorter than this are looked up
# by each of their (few) lengths at every position instead
_GRAM = 6


def kind_of(path, text=""):
    """The file kind deciding how keys are found. ``path`` None: generic
    Asterisk ``key = value``, or voicemail.conf when the text has its
    ``[zonemessages]`` section (callers that do not pass a path)."""
    if path is None:
        return VOICEMAIL if _ZONEMESSAGES_RE.search(text) else ASTERISK
    name = os.path.basename(path).lower()
    if name.startswith("voicemail") and name.endswith(".conf"):
        return VOICEMAIL
    if name == "meetme.conf":
        return MEETME
    if "msmtprc" in name:
        return MSMTP
    if name == ".google_authenticator":
        return TOTP
    if name.endswith(".json") or name.startswith("kea-"):
        return JSON
    return ASTERISK


def _strip_parts(s):
    """(leading whitespace, core, trailing whitespace) of ``s``."""
    core = s.strip()
    if not core:
        return s, "", ""
    start = s.find(core)
    return s[:start], core, s[start + len(core):]


class Masker(object):
    """Masks secrets in config text for diffs (see the module docstring)."""

    def __init__(self, secret_keys=SECRET_KEYS, extra_values=()):
        self._key = os.urandom(32)
        self._tags = {}
        self.secret_keys = frozenset(k.lower() for k in secret_keys)
        # operations spent in the value search (index look-ups and
        # comparisons): a bound the tests check instead of a wall-clock time
        self.operations = 0
        self._forms = {}
        for value in extra_values:
            if value is None:
                continue
            if isinstance(value, bytes):
                value = value.decode("utf-8", "surrogateescape")
            elif not isinstance(value, str):
                value = str(value)  # a number passed as no_log
            # a multi-line value (a key, a certificate) is searched line by line
            for part in value.splitlines() or [value]:
                part = part.strip()
                if not part or _TAG_RE.match(part):
                    continue
                t = self.tag(part)
                self._forms[part] = t
                if ";" in part:  # as Asterisk files carry it
                    self._forms[part.replace(";", "\\;")] = t
        self._build_index()
        # a line whose option name (maybe commented out, maybe a pjsip_wizard
        # ``x/password``, maybe ``+=``) ends in a secret key: a superset of the
        # lines _asterisk_line masks by key, found at C speed
        names = "|".join(re.escape(k) for k in sorted(self.secret_keys | set(["register"]), key=len, reverse=True))
        # (or a line where a block comment closes before such a name: ``;-- x --; secret=v``)
        self._candidate_re = re.compile(r"^(?:[^\n]*--;)?[ \t;]*\\?(?:[^=\n]*/)?[ \t]*(?:%s)[ \t]*\+?[ \t]*="
                                        % names, re.I | re.M)

    # ------------------------------------------------------------ tags
    def tag(self, value):
        if value == "":
            return ""
        t = self._tags.get(value)
        if t is None:
            t = self._tags[value] = "<secret:%s>" % hmac.new(
                self._key, value.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:6]
        return t

    def _tag_raw(self, raw):
        """Tag of an Asterisk value as written; an existing tag stays as is
        (a caller may have masked a field before)."""
        if _TAG_RE.match(raw):
            return raw
        return self.tag(unescape(raw))

    # ------------------------------------------------------------ text
    def text(self, text, path=None):
        """``text`` with every secret replaced by its tag; ``path`` (the
        file's path) selects the file kind's syntax."""
        if not text:
            return text
        kind = kind_of(path, text)
        if kind == VOICEMAIL:
            m = _ALIASES_RE.search(text)
            skip = set(_VOICEMAIL_NON_MAILBOX)
            if m and m.group(1).strip():
                skip.add(m.group(1).strip().lower())
            state = {"section": None, "skip": skip}
        else:
            state = {"section": None}
        if kind == ASTERISK:
            segments = self._asterisk_text(text)
        else:
            mask_line = {MSMTP: self._msmtp_line, JSON: self._json_line,
                         TOTP: self._totp_line}.get(kind, self._asterisk_line)
            segments = []
            for line in text.split("\n"):
                cr = ""
                if line.endswith("\r"):
                    line, cr = line[:-1], "\r"
                if line:
                    segments.extend(mask_line(line, kind, state))
                segments.append((cr + "\n", False))
            # split() gave one line more than there are line ends
            segments[-1] = (segments[-1][0][:-1], False)
        if self._forms:
            segments = self._mask_values(segments)
        return "".join(s for s, _masked in segments)

    def _asterisk_text(self, text):
        """Generic Asterisk files are large (10,000 extensions): one regex pass
        finds the lines whose option name is a secret key, only those are
        parsed; the text between them passes unchanged (to the value rule)."""
        segments, last = [], 0
        for m in self._candidate_re.finditer(text):
            start = m.start()
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            line = text[start:end]
            eol = ""
            if line.endswith("\r"):
                line, eol = line[:-1], "\r"
            segments.append((text[last:start], False))
            segments.extend(self._asterisk_line(line, ASTERISK, {"section": None}))
            segments.append((eol, False))
            last = end
        segments.append((text[last:], False))
        return segments

    # ------------------------------------------------------------ key rules
    def _asterisk_line(self, line, kind, state, commented=False):
        """Segments [(text, masked)] of one Asterisk config line."""
        if not commented and (";--" in line or "--;" in line):
            # block comment marks inside a line: what config.c hands on may be an
            # option this line-based view calls a comment (``;-- x --; secret=v``)
            processed = ast_strip(consume_comments(line, 0)[0] or "")
            entry = classify(processed) if processed else ("none",)
            if entry[0] == "variable" and entry[2] and \
                    entry[1].lower().rsplit("/", 1)[-1] in self.secret_keys:
                masked = line
                for form in (entry[2].replace(";", "\\;"), entry[2]):
                    masked = masked.replace(form, self.tag(entry[2]))
                return [(masked, True)]
        content, comment = split_comment(line)
        stripped = content.strip()
        if not stripped:
            if comment and not commented:
                # a commented-out option (``;secret = old``) is still a secret
                body = comment.lstrip(";")
                lead = comment[:len(comment) - len(body)]
                return [(lead, False)] + self._asterisk_line(body, kind, state, commented=True)
            return [(line, False)]
        if stripped.startswith("["):
            if not commented:
                close = stripped.find("]")
                state["section"] = (stripped[1:close] if close > 0 else stripped[1:]).strip().lower()
            return [(line, False)]
        if stripped.startswith("#"):
            return [(line, False)]
        start = 1 if stripped.startswith("\\") else 0  # config.c: an escaped first character
        eq = content.find("=", content.find(stripped) + start)
        if eq < 0:
            return [(line, False)]
        name = content[:eq].strip()
        if name.endswith("+"):  # ``key += more`` appends to key
            name = name[:-1].rstrip()
        if name.startswith("\\"):
            name = name[1:]
        head = eq + 1
        if content[head:head + 1] == ">":  # ``=>`` is ``=``
            head += 1
        lead, value, trail = _strip_parts(content[head:])
        if not value:
            return [(line, False)]
        prefix = content[:head] + lead
        suffix = [(trail + comment, False)]
        key = name.lower().rsplit("/", 1)[-1]
        if key in self.secret_keys:
            return [(prefix, False), (self._tag_raw(value), True)] + suffix
        if key == "register" and "@" in value:
            # chan_iax2 iax2_register(): user[:secret]@host[:port]
            user, at, host = value.partition("@")
            login, colon, secret = user.partition(":")
            if colon and secret:
                return [(prefix + login + colon, False), (self._tag_raw(secret), True),
                        (at + host, False)] + suffix
        if kind == VOICEMAIL and state["section"] is not None and state["section"] not in state["skip"]:
            return [(prefix, False)] + self._voicemail_value(value) + suffix
        if kind == MEETME and key == "conf":
            return [(prefix, False)] + self._meetme_value(value) + suffix
        return [(line, False)]

    def _voicemail_value(self, value):
        """app_voicemail.c append_mailbox(): ``pin,full name,email,pager,
        opt=v|opt=v``; a leading ``-`` on the PIN only forbids changing it."""
        fields = value.split(",", 4)
        lead, pin, trail = _strip_parts(fields[0])
        segs = []
        if pin.startswith("-"):
            lead, pin = lead + "-", pin[1:]
        if pin:
            segs += [(lead, False), (self._tag_raw(pin), True), (trail, False)]
        else:
            segs.append((fields[0], False))
        if len(fields) > 1:
            segs.append(("," + ",".join(fields[1:4]), False))
        if len(fields) == 5:
            # apply_options(): ``|``-separated var=value, imappassword among them
            opts = fields[4].split("|")
            segs.append((",", False))
            for i, opt in enumerate(opts):
                if i:
                    segs.append(("|", False))
                var, eq, val = opt.partition("=")
                lead, core, trail = _strip_parts(val)
                if eq and core and var.strip().lower() in self.secret_keys:
                    segs += [(var + eq + lead, False), (self._tag_raw(core), True), (trail, False)]
                else:
                    segs.append((opt, False))
        return segs

    def _meetme_value(self, value):
        """meetme.conf ``conf => confno[,pin][,adminpin]``."""
        fields = value.split(",")
        segs = [(fields[0], False)]
        for i, f in enumerate(fields[1:3]):
            lead, core, trail = _strip_parts(f)
            segs.append(("," + lead, False))
            if core:
                segs.append((self._tag_raw(core), True))
            segs.append((trail, False))
        if len(fields) > 3:
            segs.append(("," + ",".join(fields[3:]), False))
        return segs

    def _msmtp_line(self, line, kind, state):
        """msmtp's conf.c: blanks are space and tab, ``#`` as the first
        non-blank starts a comment line, the command is the first word, the
        argument the trimmed rest (double quotes around it are dropped)."""
        body = line.lstrip(" \t")
        lead = line[:len(line) - len(body)]
        if body.startswith("#"):
            # a commented-out password is still one
            inner = body.lstrip("#")
            if inner.strip():
                segs = self._msmtp_line(inner, kind, state)
                return [(lead + body[:len(body) - len(inner)], False)] + segs
            return [(line, False)]
        n = 0
        while n < len(body) and body[n] not in " \t":
            n += 1
        cmd, rest = body[:n], body[n:]
        if cmd.lower() not in MSMTP_SECRET_COMMANDS:
            return [(line, False)]
        sep, arg, trail = _strip_parts(rest)
        if not arg:
            return [(line, False)]
        plain = arg[1:-1] if len(arg) >= 2 and arg[0] == arg[-1] == '"' else arg
        t = plain if _TAG_RE.match(plain) else self.tag(plain)
        return [(lead + cmd + sep, False), (t, True), (trail, False)]

    def _json_line(self, line, kind, state):
        segs, last = [], 0
        for m in _JSON_PAIR_RE.finditer(line):
            if m.group(1).lower().replace("-", "_") in self.secret_keys and m.group(3):
                segs.append((line[last:m.start(3)], False))
                segs.append((self.tag(m.group(3)), True))
                last = m.end(3)
        segs.append((line[last:], False))
        return segs

    def _totp_line(self, line, kind, state):
        """~/.google_authenticator: the first line is the TOTP secret, lines
        starting with ``"`` are options, every other line a scratch code."""
        if line.startswith('"') or not line.strip():
            return [(line, False)]
        lead, core, trail = _strip_parts(line)
        return [(lead, False), (self.tag(core), True), (trail, False)]

    # ------------------------------------------------------------ value rule
    def _build_index(self):
        """Values by the first _GRAM characters (long ones) or by length
        (short ones), and the characters any value can have: a value lies
        inside one run of those characters, so only such runs are searched."""
        forms = self._forms
        self._long = {}
        short_lengths = set()
        chars = set()
        for f in forms:
            chars.update(f)
            if len(f) >= _GRAM:
                self._long.setdefault(f[:_GRAM], set()).add(len(f))
            else:
                short_lengths.add(len(f))
        self._long = dict((g, sorted(ls, reverse=True)) for g, ls in self._long.items())
        self._short_lengths = sorted(short_lengths, reverse=True)
        self._min_len = min(len(f) for f in forms) if forms else 0
        self._run_re = None
        if chars:
            self._run_re = re.compile("[%s]{%d,}" % ("".join(re.escape(c) for c in sorted(chars)),
                                                     self._min_len))

    def _mask_values(self, segments):
        out = []
        for s, masked in segments:
            if masked or len(s) < self._min_len:
                out.append((s, masked))
            else:
                out.extend(self._search(s))
        return out

    def _search(self, s):
        """Leftmost-longest occurrences of the values in ``s``."""
        forms, long_idx, shorts = self._forms, self._long, self._short_lengths
        segs, last, ops = [], 0, 0
        for m in self._run_re.finditer(s):
            run, base = m.group(), m.start()
            ops += 1
            t = forms.get(run)
            if t is not None:
                segs += [(s[last:base], False), (t, True)]
                last = m.end()
                continue
            n, i = len(run), 0
            end = n - self._min_len
            while i <= end:
                hit = None
                lens = long_idx.get(run[i:i + _GRAM]) if long_idx else None
                ops += 1
                if lens:
                    for ln in lens:
                        ops += 1
                        if run[i:i + ln] in forms:
                            hit = ln
                            break
                if hit is None:
                    for ln in shorts:
                        ops += 1
                        if run[i:i + ln] in forms:
                            hit = ln
                            break
                if hit is None:
                    i += 1
                    continue
                segs += [(s[last:base + i], False), (forms[run[i:i + hit]], True)]
                i += hit
                last = base + i
        self.operations += ops
        if not segs:
            return [(s, False)]
        segs.append((s[last:], False))
        return segs
