# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Call policy core (toll-fraud defence): validate -> plan (pure) -> the
change transaction writes, reloads the dialplan, verifies and restores.

The module owns one whole file, ``extensions_pbxguard.conf``, pulled in by a
``#tryinclude`` line it adds to extensions.conf (hand-written dialplan is never
touched). Each policy becomes a context ``pbxguard-policy-NAME``: the dialled
number is normalised (``+CC...``, ``<intl prefix>CC...`` to the national form,
``+...`` to the international prefix), then classified by Asterisk's own
pattern matching (the most specific pattern wins), and every call - allowed or
not - goes through one subroutine, ``pbxguard-call``, that refuses anything
that is not digits (so nothing but digits reaches a Dial string), refuses a
class the policy does not allow (SIP 403, a SECURITY log line naming policy,
extension, number, class and reason), and for trunk calls sets the absolute
timeout, counts concurrent calls (GROUP/GROUP_COUNT, SIP 486 over the limit)
and keeps a sliding one-minute window of call attempts in AstDB (403 over the
limit). Emergency numbers are literal extensions (always the most specific
match), dialled to the trunk with no limit in every policy."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import string

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import Change, File, Plan
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ensure_include as config_include
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import (
    ConfigFile, NAME_MAX, load_tree, resolve_include,
)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import (
    ASTERISK_LOG, log_offset, log_since,
)

MARKER = "managed by pbxguard.asterisk"
MANAGED_NAME = "extensions_pbxguard.conf"
HEADER = ("; %s (call_policy): this whole file is generated, edits are overwritten.\n"
          "; Hand-written dialplan belongs in extensions.conf or its other includes.\n" % MARKER)
INDEX_TAG = "; pbxguard call-policy "
CONTEXT_PREFIX = "pbxguard-policy-"
CALL_CONTEXT = "pbxguard-call"
GROUP_CATEGORY = "pbxguard_calls"
RATE_FAMILY = "pbxguard_rate"
LOG_PREFIX = "pbxguard call-policy:"

CLASSES = ("internal", "emergency", "local", "national", "mobile", "international", "premium")
PATTERN_CLASSES = tuple(c for c in CLASSES if c != "emergency")
# classes that never leave the PBX: no trunk, no limits
ON_NET = ("internal",)
# SIP answers of a refused call: hangup causes as chan_pjsip maps them
CAUSE_REFUSED = 21      # call rejected -> 403 Forbidden
CAUSE_BUSY = 17         # user busy -> 486 Busy Here (too many calls at once)

# Built-in tables per country code for the standard plan (national prefix 0,
# international prefix 00). Patterns apply to the number after
# normalisation, in the national form.
COUNTRY = {
    "49": {  # Germany: Bundesnetzagentur numbering plan
        "emergency": ["112", "110"],
        "mobile": ["_015X.", "_016X.", "_017X."],
        # 0900 premium, 0137/0138 mass calls, 0118 directory enquiries,
        # 0180 shared cost, 0190 legacy premium, 0700 personal numbers
        "premium": ["_0900X.", "_0137X.", "_0138X.", "_0118X.", "_0180X.", "_0190X.", "_0700X."],
    },
    "43": {  # Austria (RTR)
        "emergency": ["112", "122", "133", "144"],
        "mobile": ["_065X.", "_066X.", "_067X.", "_068X.", "_069X."],
        "premium": ["_0900X.", "_0901X.", "_0930X.", "_0931X.", "_0939X.", "_0118X."],
    },
    "41": {  # Switzerland (BAKOM)
        "emergency": ["112", "117", "118", "144"],
        "mobile": ["_074X.", "_075X.", "_076X.", "_077X.", "_078X.", "_079X."],
        "premium": ["_0900X.", "_0901X.", "_0906X.", "_018X."],
    },
    "44": {  # United Kingdom (Ofcom)
        "emergency": ["999", "112"],
        "mobile": ["_07X."],
        "premium": ["_09X.", "_087X.", "_118X.", "_070X."],
    },
}
INTERNAL_DEFAULT = ["_[1-9]XX", "_[1-9]XXX"]
LOCAL_DEFAULT = ["_[1-9]XXXX."]
DIGITS = frozenset(string.digits)
ANY = frozenset(string.digits + "*#")
LIMIT_DEFAULTS = {"max_call_seconds": 7200, "max_concurrent": 2, "max_calls_per_minute": 10}
NAME_RE = re.compile(r"^[A-Za-z0-9_-]+\Z")


# ------------------------------------------------------------------ patterns
def parse_pattern(text, option):
    """An Asterisk extension pattern as the module accepts it -> (tokens,
    tail): tokens a list of frozensets of characters, tail True for a
    trailing ``.`` (one or more of any). Exact numbers (no ``_``) are digits,
    ``*`` and ``#``. Patterns: ``_`` then digits, ``*``, ``#``, ``X`` (0-9),
    ``Z`` (1-9), ``N`` (2-9), ``[...]`` sets of digits and ranges, and an
    optional final ``.``. ``!`` and anything else is refused: patterns apply to
    the normalised number, which has digits only."""
    if not isinstance(text, str) or not text:
        raise policy.PolicyError("%s: must be a non-empty string (a number or a pattern starting with _)" % option)
    if not text.startswith("_"):
        if not re.match(r"^[0-9*#]{1,20}\Z", text):
            raise policy.PolicyError("%s: %r is neither a number (digits, * and #) nor a pattern starting "
                                     "with _" % (option, text))
        return [frozenset(c) for c in text], False
    body = text[1:]
    tokens, tail, i = [], False, 0
    while i < len(body):
        c = body[i]
        if c in string.digits + "*#":
            tokens.append(frozenset(c))
        elif c in "xX":
            tokens.append(DIGITS)
        elif c in "zZ":
            tokens.append(frozenset("123456789"))
        elif c in "nN":
            tokens.append(frozenset("23456789"))
        elif c == "[":
            end = body.find("]", i)
            if end < 0:
                raise policy.PolicyError("%s: %r has a '[' without ']'" % (option, text))
            inner, chars, j = body[i + 1:end], set(), 0
            if not inner:
                raise policy.PolicyError("%s: %r has an empty set []" % (option, text))
            while j < len(inner):
                if j + 2 < len(inner) and inner[j + 1] == "-":
                    a, b = inner[j], inner[j + 2]
                    if a not in string.digits or b not in string.digits or a > b:
                        raise policy.PolicyError("%s: %r: range %s-%s is not a digit range" % (option, text, a, b))
                    chars.update(str(d) for d in range(int(a), int(b) + 1))
                    j += 3
                elif inner[j] in string.digits + "*#":
                    chars.add(inner[j])
                    j += 1
                else:
                    raise policy.PolicyError("%s: %r: %s is not allowed in a set (digits, ranges, * and #)"
                                             % (option, text, policy._describe_chars(inner[j])))
            tokens.append(frozenset(chars))
            i = end
        elif c == "." and i == len(body) - 1:
            tail = True
        else:
            raise policy.PolicyError(
                "%s: %r: %s is not allowed; a pattern has digits, * # X Z N [sets] and an optional final '.' "
                "(it applies to the normalised number, digits only)" % (option, text, policy._describe_chars(c)))
        i += 1
    if not tokens:
        raise policy.PolicyError("%s: %r matches no fixed digit; a pattern needs at least one" % (option, text))
    if len(tokens) > 30:
        raise policy.PolicyError("%s: %r is longer than 30 positions" % (option, text))
    return tokens, tail


def _lengths(p):
    tokens, tail = p
    return (len(tokens) + 1, None) if tail else (len(tokens), len(tokens))


def _at(p, j):
    tokens, tail = p
    if j < len(tokens):
        return tokens[j]
    return ANY if tail else frozenset()


def _example(p, q, length):
    # the lowest digit of each position (a digit before * and #: it reads as a number)
    return "".join(sorted(_at(p, j) & _at(q, j), key=lambda c: (c not in DIGITS, c))[0] for j in range(length))


def overlap(p, q):
    """None when Asterisk's choice between patterns ``p`` and ``q`` is clear
    for every number both match, else an example number that is ambiguous.
    Asterisk's pattern trie tries the more specific character first at each
    position; at the first position where two patterns differ, the winner
    must therefore cover a subset of the other's characters - otherwise some
    numbers of the narrower-looking set go the other way (``[1-5]`` against
    ``[3-9]``), and two patterns equal at every position are the same
    pattern in two classes."""
    (plo, phi), (qlo, qhi) = _lengths(p), _lengths(q)
    lo = max(plo, qlo)
    if (phi is not None and lo > phi) or (qhi is not None and lo > qhi):
        return None
    for j in range(lo):
        if not (_at(p, j) & _at(q, j)):
            return None
    example = _example(p, q, lo)
    span = max(len(p[0]), len(q[0]))
    for j in range(span):
        a, b = _at(p, j), _at(q, j)
        if a == b:
            continue
        if a < b or b < a:
            return None
        return example
    if p[1] == q[1]:
        return example
    return None


# ------------------------------------------------------------------ validate
def _digits(value, option, allow_empty=False, max_len=6):
    if isinstance(value, int) and not isinstance(value, bool):
        raise policy.PolicyError("%s: must be a quoted string of digits (an unquoted number loses leading zeros)"
                                 % option)
    if not isinstance(value, str):
        raise policy.PolicyError("%s: must be a string of digits" % option)
    if value == "" and allow_empty:
        return value
    if not re.match(r"^[0-9]{1,%d}\Z" % max_len, value):
        raise policy.PolicyError("%s: must be 1-%d digits" % (option, max_len))
    return value


def _limit(value, option):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise policy.PolicyError("%s: must be a whole number (0 = no limit)" % option)
    if value < 0:
        raise policy.PolicyError("%s: must not be negative (0 = no limit)" % option)
    if value > 10 ** 7:
        raise policy.PolicyError("%s: %d is out of range (at most 10000000)" % (option, value))
    return value


def _endpoint(value, option):
    value = policy.check_name(value, option, max_length=NAME_MAX)
    policy.no_expression(value, option)
    if "@" in value or "/" in value:
        raise policy.PolicyError("%s: a PJSIP endpoint name has no '@' or '/'" % option)
    return value


def validate(params):
    """Every check before anything is read or written: one message listing
    every problem, each naming the option and the rule."""
    errors = []

    def err(fn, *a, **kw):
        try:
            return fn(*a, **kw)
        except policy.PolicyError as e:
            errors.append(str(e))
            return None

    numbering = params.get("numbering") or {}
    cc = err(_digits, numbering.get("country_code"), "numbering.country_code", max_len=3)
    np = err(_digits, numbering.get("national_prefix", "0"), "numbering.national_prefix", allow_empty=True, max_len=3)
    ip = err(_digits, numbering.get("international_prefix", "00"), "numbering.international_prefix", max_len=4)
    if np and ip and ip.startswith(np) is False and np.startswith(ip):
        errors.append("numbering.national_prefix: %r starts with the international prefix %r" % (np, ip))
    if np is not None and ip is not None and np == ip:
        errors.append("numbering.international_prefix: must differ from the national prefix")
    table = COUNTRY.get(cc or "", {}) if (np, ip) == ("0", "00") else {}

    emergency = params.get("emergency")
    if emergency is None:
        emergency = table.get("emergency", ["112"])
    if not isinstance(emergency, list) or not emergency:
        errors.append("emergency: must list at least one emergency number (they are always allowed)")
        emergency = []
    emergency = [err(_digits, e, "emergency[%d]" % i, max_len=6) for i, e in enumerate(emergency)]
    emergency = sorted(set(e for e in emergency if e))

    trunk = err(_endpoint, params.get("trunk"), "trunk")
    class_trunks = {}
    for k, v in sorted((params.get("class_trunks") or {}).items()):
        if k not in CLASSES or k in ON_NET:
            errors.append("class_trunks.%s: unknown class or one that uses no trunk; classes with a trunk: %s"
                          % (k, ", ".join(c for c in CLASSES if c not in ON_NET)))
            continue
        class_trunks[k] = err(_endpoint, v, "class_trunks.%s" % k)
    internal_context = params.get("internal_context")
    if internal_context:
        internal_context = err(policy.check_name, internal_context, "internal_context", max_length=NAME_MAX)
        if internal_context and internal_context.startswith(CONTEXT_PREFIX):
            errors.append("internal_context: %s... contexts are the policies' own" % CONTEXT_PREFIX)

    # classes: defaults per numbering plan, overrides replace a class's list
    defaults = {"internal": INTERNAL_DEFAULT, "local": LOCAL_DEFAULT}
    if np:
        defaults["national"] = ["_%s[1-9]X." % np]
    if ip:
        defaults["international"] = ["_%sX." % ip]
    for c in ("mobile", "premium"):
        if c in table:
            defaults[c] = table[c]
    overrides = params.get("classes") or {}
    if not isinstance(overrides, dict):
        errors.append("classes: must be a mapping of class to a list of patterns")
        overrides = {}
    for k in overrides:
        if k not in PATTERN_CLASSES:
            errors.append("classes.%s: unknown class; classes are: %s (emergency numbers go in 'emergency')"
                          % (k, ", ".join(PATTERN_CLASSES)))
    if "premium" not in overrides and "premium" not in defaults:
        errors.append("classes.premium: there are no built-in premium-rate ranges for country code %s with "
                      "national prefix %r and international prefix %r; list them (or [] to state there are "
                      "none) - an unlisted premium number would count as national" % (cc, np, ip))
    patterns = {}
    parsed = []  # (class, text, parsed)
    for c in PATTERN_CLASSES:
        src = overrides.get(c, defaults.get(c, []))
        if src is None:
            src = []
        if not isinstance(src, list):
            errors.append("classes.%s: must be a list of patterns" % c)
            continue
        out = []
        for i, t in enumerate(src):
            opt = "classes.%s[%d]" % (c, i) if c in overrides else "classes.%s (default %r)" % (c, t)
            p = err(parse_pattern, t, opt)
            if p is not None and t not in out:
                out.append(t)
                parsed.append((c, t, p, opt))
        patterns[c] = out
    # normalisation patterns take part in the overlap check as well
    norm = normalisation(cc, np, ip) if None not in (cc, np, ip) else []
    norm_parsed = [("normalisation", n[0], parse_pattern(n[0], "normalisation"), "normalisation %r" % n[0])
                   for n in norm if not n[0].startswith("_+")]
    for e in emergency:
        parsed.append(("emergency", e, parse_pattern(e, "emergency"), "emergency %r" % e))
    allp = parsed + norm_parsed
    for a in range(len(allp)):
        for b in range(a + 1, len(allp)):
            ca, ta, pa, oa = allp[a]
            cb, tb, pb, ob = allp[b]
            if ca == cb:
                continue
            ex = overlap(pa, pb)
            if ex is not None:
                errors.append("classes: %s and %s overlap: number %s matches both and neither is more specific "
                              "at the position where they differ (make one pattern a narrower case of the "
                              "other, or remove one)" % (oa, ob, ex))

    policies, seen = [], {}
    raw_policies = params.get("policies") or []
    if not raw_policies:
        errors.append("policies: at least one policy is needed")
    for i, p in enumerate(raw_policies):
        label = "policies[%d]" % i
        name = p.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name or ""):
            errors.append("%s.name: must be letters, digits, _ and - only" % label)
            continue
        if len(CONTEXT_PREFIX + name) > NAME_MAX:
            errors.append("%s.name: longer than %d characters (the context %s%s would be cut by Asterisk)"
                          % (label, NAME_MAX - len(CONTEXT_PREFIX), CONTEXT_PREFIX, name))
            continue
        label = "policies[%d] (%s)" % (i, name)
        if name.lower() in seen:
            errors.append("%s.name: listed twice (also policies[%d]; context names compare case-insensitively)"
                          % (label, seen[name.lower()]))
            continue
        seen[name.lower()] = i
        allow = p.get("allow")
        if not isinstance(allow, list) or not [a for a in allow if a != "emergency"]:
            errors.append("%s.allow: allows nothing; list the classes this policy may call (emergency numbers "
                          "are always allowed): %s" % (label, ", ".join(CLASSES)))
            continue
        unknown = [a for a in allow if a not in CLASSES]
        if unknown:
            errors.append("%s.allow: unknown class %s; classes are: %s"
                          % (label, ", ".join(repr(u) for u in unknown), ", ".join(CLASSES)))
            continue
        empty = [a for a in allow if a in PATTERN_CLASSES and not patterns.get(a)]
        if empty:
            errors.append("%s.allow: class %s has no pattern (set classes.%s)" % (label, empty[0], empty[0]))
        limits = {}
        for k, d in LIMIT_DEFAULTS.items():
            v = err(_limit, p.get(k), "%s.%s" % (label, k))
            limits[k] = d if v is None else v
        policies.append(dict(name=name, allow=[c for c in CLASSES if c in allow], **limits))
    default_policy = params.get("default_policy")
    if default_policy is not None and default_policy not in [p["name"] for p in policies] and policies:
        errors.append("default_policy: %r is not one of the policies (%s)"
                      % (default_policy, ", ".join(p["name"] for p in policies)))
    if errors:
        raise policy.PolicyError("\n".join(errors))
    return dict(country_code=cc, national_prefix=np, international_prefix=ip, emergency=emergency,
                trunk=trunk, class_trunks=class_trunks, internal_context=internal_context or None,
                patterns=patterns, policies=policies, default_policy=default_policy or policies[0]["name"],
                normalisation=norm)


def normalisation(cc, np, ip):
    """(pattern, target expression) of the numbers rewritten to the form the
    classes apply to: +CC... and <ip>CC... to the national form, +... to the
    international prefix."""
    return [
        ("_+%sX." % cc, "%s${EXTEN:%d}" % (np, 1 + len(cc))),
        ("_+X.", "%s${EXTEN:1}" % ip),
        ("_%s%sX." % (ip, cc), "%s${EXTEN:%d}" % (np, len(ip) + len(cc))),
    ]


# -------------------------------------------------------------------- render
class Context(object):
    def __init__(self, name):
        self.name = name
        self.lines = []
        self.extensions = 0
        self.priorities = 0

    def exten(self, pattern, apps, comment=None):
        if comment:
            self.lines.append("; %s" % comment)
        self.extensions += 1
        for i, (label, app) in enumerate(apps):
            lab = "(%s)" % label if label else ""
            if i == 0:
                self.lines.append("exten => %s,1%s,%s" % (pattern, lab, app))
            else:
                self.lines.append(" same => n%s,%s" % (lab, app))
            self.priorities += 1

    def text(self):
        return "[%s]\n%s\n" % (self.name, "\n".join(self.lines))


def call_context():
    """The one subroutine every policy call goes through (see the module
    docstring). ARG1 policy, ARG2 class, ARG3 allow|deny, ARG4 max seconds,
    ARG5 max concurrent, ARG6 max calls per minute (0: no limit); the number
    in PBXGUARD_NUMBER. Every check jumps to its pass label only when its
    expression is true, so an expression error refuses the call (fail closed)."""
    c = Context(CALL_CONTEXT)
    c.lines.append("; ARG1 policy, ARG2 class, ARG3 allow|deny, ARG4 max seconds, ARG5 max concurrent,")
    c.lines.append("; ARG6 max calls per minute (0: no limit); the dialled number in PBXGUARD_NUMBER")
    c.exten("s", [
        (None, "Set(LOCAL(num)=${PBXGUARD_NUMBER})"),
        (None, "Set(LOCAL(who)=${CHANNEL(name)})"),
        # the channel name without its unique suffix: PJSIP/2001-0000002a -> PJSIP/2001
        (None, "Set(LOCAL(sfx)=${CUT(who,-,${FIELDQTY(who,-)})})"),
        (None, "Set(LOCAL(who)=${who:0:-$[${LEN(${sfx})} + 1]})"),
        (None, "Set(LOCAL(ext)=${CUT(who,/,2)})"),
        (None, "Set(LOCAL(key)=${FILTER(0-9A-Za-z_,${who})})"),
        # what is logged of the number: its digits, * # and + only (a newline or a
        # forged log line in a dialled string must not reach the security log)
        (None, "Set(LOCAL(shown)=${FILTER(0-9*#+,${num})})"),
        (None, "GotoIf($[${LEN(${FILTER(0-9,${num})})} = ${LEN(${num})} & ${LEN(${num})} > 0]?digits)"),
        (None, "Set(LOCAL(why)=invalid-number)"),
        (None, "Goto(deny)"),
        ("digits", "GotoIf($[\"${ARG3}\" = \"allow\"]?limits)"),
        (None, "Set(LOCAL(why)=class-not-allowed)"),
        (None, "Goto(deny)"),
        ("limits", "ExecIf($[${ARG4} > 0]?Set(TIMEOUT(absolute)=${ARG4}))"),
        (None, "GotoIf($[${ARG5} > 0]?:rate)"),
        (None, "Set(GROUP(%s)=${key})" % GROUP_CATEGORY),
        (None, "GotoIf($[${GROUP_COUNT(${key}@%s)} <= ${ARG5}]?rate)" % GROUP_CATEGORY),
        (None, "Set(LOCAL(why)=max-concurrent-${ARG5})"),
        (None, "Goto(deny)"),
        # sliding window: the last ARG6 attempt times, oldest first; refused when
        # the oldest of ARG6 is less than 60 s old
        ("rate", "GotoIf($[${ARG6} > 0]?:done)"),
        (None, "Set(LOCAL(times)=${DB(%s/${key})})" % RATE_FAMILY),
        (None, "GotoIf($[${FIELDQTY(times,-)} < ${ARG6}]?record)"),
        (None, "GotoIf($[${CUT(times,-,1)} <= ${EPOCH} - 60]?record)"),
        (None, "Set(LOCAL(why)=max-calls-per-minute-${ARG6})"),
        (None, "Goto(deny)"),
        ("record", "ExecIf($[${FIELDQTY(times,-)} >= ${ARG6}]?Set(LOCAL(times)=${CUT(times,-,2-)}))"),
        (None, "Set(DB(%s/${key})=${times}${IF($[${LEN(${times})} > 0]?-)}${EPOCH})" % RATE_FAMILY),
        ("done", "Return()"),
        ("deny", "Log(SECURITY,%s call refused policy=${ARG1} extension=${ext} number=${shown} "
                 "class=${ARG2} reason=${why})" % LOG_PREFIX),
        (None, "Hangup(${IF($[\"${why:0:14}\" = \"max-concurrent\"]?%d:%d)})" % (CAUSE_BUSY, CAUSE_REFUSED)),
    ])
    return c


def policy_context(spec, p):
    c = Context(CONTEXT_PREFIX + p["name"])
    name = p["name"]
    c.lines.append("%spolicy %s allow=%s max_call_seconds=%d max_concurrent=%d max_calls_per_minute=%d"
                   % (INDEX_TAG, name, ",".join(p["allow"]), p["max_call_seconds"], p["max_concurrent"],
                      p["max_calls_per_minute"]))
    for e in spec["emergency"]:
        trunk = spec["class_trunks"].get("emergency", spec["trunk"])
        # a literal number: no pattern is more specific, no limit, nothing substituted into Dial
        c.exten(e, [
            (None, "Log(NOTICE,%s emergency call policy=%s channel=${CHANNEL(name)} number=%s)" % (LOG_PREFIX, name, e)),
            (None, "Dial(PJSIP/%s@%s)" % (e, trunk)),
            (None, "Hangup()"),
        ], comment="emergency: always allowed, never limited" if e == spec["emergency"][0] else None)
    first = True
    for pattern, target in spec["normalisation"]:
        check = "${EXTEN:1}" if pattern.startswith("_+") else "${EXTEN}"
        c.exten(pattern, [
            (None, "Set(PBXGUARD_NUMBER=%s)" % check),
            (None, "Gosub(%s,s,1(%s,normalisation,allow,0,0,0))" % (CALL_CONTEXT, name)),
            (None, "Goto(${CONTEXT},%s,1)" % target),
        ], comment="normalisation to the national or international form" if first else None)
        first = False
    for cls in PATTERN_CLASSES:
        allowed = cls in p["allow"]
        for i, pattern in enumerate(spec["patterns"][cls]):
            apps = [(None, "Set(PBXGUARD_NUMBER=${EXTEN})")]
            if not allowed:
                apps += [(None, "Gosub(%s,s,1(%s,%s,deny,0,0,0))" % (CALL_CONTEXT, name, cls)),
                         (None, "Hangup(%d)" % CAUSE_REFUSED)]
            elif cls in ON_NET:
                apps.append((None, "Gosub(%s,s,1(%s,%s,allow,0,0,0))" % (CALL_CONTEXT, name, cls)))
                if spec["internal_context"]:
                    apps.append((None, "Goto(%s,${EXTEN},1)" % spec["internal_context"]))
                else:
                    apps += [(None, "Dial(PJSIP/${EXTEN},60)"), (None, "Hangup()")]
            else:
                trunk = spec["class_trunks"].get(cls, spec["trunk"])
                apps += [(None, "Gosub(%s,s,1(%s,%s,allow,%d,%d,%d))"
                                % (CALL_CONTEXT, name, cls, p["max_call_seconds"], p["max_concurrent"],
                                   p["max_calls_per_minute"])),
                         (None, "Dial(PJSIP/${EXTEN}@%s)" % trunk), (None, "Hangup()")]
            c.exten(pattern, apps, comment=("%s: %s" % (cls, "allowed" if allowed else "refused")) if i == 0 else None)
    # whatever no class matches: refused and logged, not a silent 404
    for pattern in ("_[*#0-9]", "_[*#0-9].", "_+."):
        c.exten(pattern, [
            (None, "Set(PBXGUARD_NUMBER=${EXTEN})"),
            (None, "Gosub(%s,s,1(%s,unclassified,deny,0,0,0))" % (CALL_CONTEXT, name)),
            (None, "Hangup(%d)" % CAUSE_REFUSED),
        ], comment="no class: refused" if pattern == "_[*#0-9]" else None)
    return c


def render(spec):
    """The managed file (bytes) and {context: (extensions, priorities)}."""
    contexts = [call_context()] + [policy_context(spec, p) for p in spec["policies"]]
    index = ["%sdefault %s\n" % (INDEX_TAG, spec["default_policy"])]
    index += ["%sindex %s %s%s\n" % (INDEX_TAG, p["name"], CONTEXT_PREFIX, p["name"]) for p in spec["policies"]]
    text = HEADER + "".join(index) + "\n" + "\n".join(c.text() for c in contexts)
    return text.encode("utf-8"), dict((c.name, (c.extensions, c.priorities)) for c in contexts)


def read_index(data):
    """Pure: (policy names -> context, default policy) of a managed file, or
    ({}, None) when there is none. What the extension module reads."""
    names, default = {}, None
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        if not line.startswith(INDEX_TAG):
            continue
        words = line[len(INDEX_TAG):].split()
        if len(words) == 2 and words[0] == "default":
            default = words[1]
        elif len(words) == 3 and words[0] == "index":
            names[words[1]] = words[2]
    return names, default


DEFAULT_CONTEXT = "from-internal"  # the extension module's context when no call policy is in use


def managed_path(conf_dir_file):
    """The generated file next to ``conf_dir_file`` (extensions.conf, or the
    extension module's pjsip.conf: both live in Asterisk's config directory)."""
    return os.path.join(os.path.dirname(conf_dir_file), MANAGED_NAME)


def check_policy_option(ext, label):
    """An extension's ``policy`` (validated as a policy name) or None; it
    excludes a per-extension ``context`` (the policy sets the context)."""
    name = ext.get("policy")
    if name is None:
        return None
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise policy.PolicyError("%s.policy: must be a policy name (letters, digits, _ and -)" % label)
    if ext.get("context"):
        raise policy.PolicyError("%s.policy: give policy or context, not both (the policy sets the context)" % label)
    return name


def resolve_contexts(exts, index_data):
    """Set each present extension's context from its policy (or the default
    policy when it names neither policy nor context), from the call policy
    file's index (``index_data``, None when call_policy was never applied).
    Raises PolicyError - before anything is written - for a policy that does
    not exist."""
    names, default = read_index(index_data)
    errors = []
    for x in exts:
        if x.get("state") != "present":
            continue
        wanted = x.get("policy")
        if wanted is not None:
            if wanted not in names:
                errors.append("%s.policy: no call policy %r on this host (%s); apply pbxguard.asterisk.call_policy "
                              "with it first" % (x["label"], wanted,
                                                 "known: " + ", ".join(sorted(names)) if names else "none applied"))
                continue
            x["context"] = names[wanted]
        elif x.get("context") is None:
            x["context"] = names.get(default, DEFAULT_CONTEXT) if default else DEFAULT_CONTEXT
    if errors:
        raise policy.PolicyError("\n".join(errors))


def managed_contexts(data):
    """Contexts defined in the managed file (for removals)."""
    cfg = ConfigFile.from_bytes(data or b"")
    return [s.name for s in cfg.sections]


def ensure_include(data):
    """extensions.conf with a ``#tryinclude`` of the managed file at its end."""
    return config_include(data, MANAGED_NAME, "%s: call policies" % MARKER)


def hand_written_contexts(conf_path, data):
    """{context (folded): 'file:line'} of contexts outside the managed file."""
    found = {}
    if data is None:
        return found
    cfg = ConfigFile.from_bytes(data, conf_path)
    seen = set([os.path.realpath(conf_path)])
    trees = [cfg]
    for inc in cfg.includes():
        for p in resolve_include(os.path.dirname(conf_path), inc.argument):
            if os.path.basename(p) == MANAGED_NAME:
                continue
            trees.extend(load_tree(p, seen))
    for c in trees:
        for s in c.sections:
            found.setdefault(s.name.lower(), "%s:%d" % (c.path, s.header.number))
    return found


def plan(conf_path, conf_data, managed_data, spec):
    """Pure: the new files and what changes."""
    hand = hand_written_contexts(conf_path, conf_data)
    wanted = [CALL_CONTEXT] + [CONTEXT_PREFIX + p["name"] for p in spec["policies"]]
    clashes = ["policies: context %s is defined by hand at %s; rename the policy or the context (this module "
               "does not take over hand-written dialplan)" % (w, hand[w.lower()]) for w in wanted if w.lower() in hand]
    if spec["internal_context"] and spec["internal_context"].lower() not in hand:
        clashes.append("internal_context: context %s is not defined in %s or its includes"
                       % (spec["internal_context"], conf_path))
    if clashes:
        raise policy.PolicyError("\n".join(clashes))
    new, counts = render(spec)
    old_contexts = managed_contexts(managed_data)
    old_index = read_index(managed_data)[0]
    names = [p["name"] for p in spec["policies"]]
    return {
        "managed": new,
        "conf": ensure_include(conf_data),
        "counts": counts,
        "removed_contexts": [c for c in old_contexts if c not in counts],
        "added": [n for n in names if n not in old_index],
        "removed": sorted(n for n in old_index if n not in names),
    }


# ------------------------------------------------------------------- verify
SHOW_RE = re.compile(r"-= (\d+) extensions? \((\d+) priorit(?:y|ies)\) in (\d+) contexts?\. =-")


def verify(host, counts, removed):
    """Each context as Asterisk loaded it: ``dialplan show CONTEXT`` names it
    and counts exactly the extensions and priorities rendered (an extension
    Asterisk refused makes the counts differ); removed contexts are gone."""
    problems = []
    for ctx, (n_ext, n_prio) in sorted(counts.items()):
        out = host.cli("dialplan show %s" % ctx)
        m = SHOW_RE.search(out)
        if "[ Context '%s'" % ctx not in out or not m:
            problems.append("context %s is not loaded (dialplan show: %s)" % (ctx, out.strip().splitlines()[-1:]))
            continue
        if (int(m.group(1)), int(m.group(2))) != (n_ext, n_prio):
            problems.append("context %s: Asterisk loaded %s extensions / %s priorities, %d / %d were written"
                            % (ctx, m.group(1), m.group(2), n_ext, n_prio))
    for ctx in removed:
        out = host.cli("dialplan show %s" % ctx)
        if "[ Context '%s'" % ctx in out:
            problems.append("context %s is still loaded after its removal" % ctx)
    return problems


def security_channel(host):
    """True when a logger channel writes the SECURITY level (where refused
    calls are logged)."""
    out = host.cli("logger show channels")
    return any("SECURITY" in line and "Enabled" in line for line in out.splitlines())


def summary(spec):
    parts = []
    for p in spec["policies"]:
        parts.append("%s (%s; %ss, %s at once, %s/min)" % (
            p["name"], ", ".join(p["allow"]), p["max_call_seconds"] or "unlimited ",
            p["max_concurrent"] or "unlimited", p["max_calls_per_minute"] or "unlimited"))
    return "call policies: %s; default %s; emergency %s always allowed" % (
        "; ".join(parts), spec["default_policy"], ", ".join(spec["emergency"]))


class CallPolicyChange(Change):
    """extensions_pbxguard.conf (owned whole) and the include line in
    extensions.conf; ``dialplan reload``; the contexts read back."""

    name = "call_policy"

    def validate(self, params):
        spec = validate(params)
        spec["conf_path"] = params["extensions_conf"]
        spec["managed_path"] = os.path.join(os.path.dirname(params["extensions_conf"]), MANAGED_NAME)
        spec["backup"] = params["backup"]
        return spec

    def plan(self, host, spec):
        conf_path, managed_path = spec["conf_path"], spec["managed_path"]
        if not host.exists(conf_path):
            raise policy.PolicyError("extensions_conf: %s does not exist (is Asterisk installed?)" % conf_path)
        conf_old = host.read(conf_path)
        managed_old = host.read(managed_path)
        planned = plan(conf_path, conf_old, managed_old, spec)
        files = [
            # the managed file first: the include must never point at a missing or old file
            File(managed_path, managed_old, planned["managed"], backup=spec["backup"],
                 attributes_differ=managed_old is not None and host.attributes_differ(managed_path)),
            File(conf_path, conf_old, planned["conf"], backup=spec["backup"]),
        ]
        changed = any(f.changed for f in files)
        result = dict(reloaded=False, added=planned["added"], removed=planned["removed"],
                      contexts=sorted(c for c in planned["counts"] if c != CALL_CONTEXT),
                      default_context=CONTEXT_PREFIX + spec["default_policy"],
                      classes=spec["patterns"], emergency=spec["emergency"],
                      policies=spec["policies"], summary=summary(spec))
        offset = []

        def apply(h):
            offset.append(log_offset(ASTERISK_LOG))
            out = h.cli("dialplan reload")
            return dict(reloaded=True, reload_said=out.strip())

        def verify_live(h):
            if not any(f.content_changed for f in files):
                return []
            return verify(h, planned["counts"], planned["removed_contexts"])

        def after(h, res, applied):
            # where refused calls are logged: say so when nothing writes it
            if not h.check_mode or not changed:
                try:
                    ok = security_channel(h)
                except Exception:  # pylint: disable=broad-except
                    return {}
                if not ok:
                    h.warn("no logger channel writes the SECURITY level: refused calls are logged there "
                           "(logger.conf 'security.log => security'; the fail2ban role sets it)")
                return dict(security_log=ok)
            return {}

        return Plan(result, files, apply=apply, verify=verify_live,
                    revert=lambda h: h.cli("dialplan reload"),
                    said=lambda: log_since(ASTERISK_LOG, offset[0] if offset else None),
                    failure="Asterisk did not load the new dialplan as written; the previous files were "
                            "restored and reloaded", after=after)
