# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Toll-fraud findings of the audit (issue 17), read-only and pure over the
parsed config files: which dialplan contexts a caller who is not an
authenticated phone reaches - an inbound trunk, an endpoint without auth, the
PJSIP ``anonymous`` endpoint, an IAX user without secret - following
``include =>``, ``Goto``/``GotoIf``/``Gosub``/``GosubIf`` and ``Local/...@ctx``,
and whether one of them dials a trunk. The call policy's own contexts are
guarded (every call in them goes through its checks) and are not followed."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.pbxguard.asterisk.plugins.module_utils._audit import finding
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ast_true
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _audit_fixes as fixes
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _modules_conf as modules_conf
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _pjsip_identify as identify

GUARDED_PREFIXES = ("pbxguard-policy-", "pbxguard-call")
# an aor's max_contacts (res_pjsip: 0, the default, refuses every REGISTER;
# there is no "unlimited") above this is reported: the extension module
# allows 1-100 and writes 1 by default; a desk phone, a softphone and a few
# more devices per account stay below it
MAX_CONTACTS_LIMIT = 10
_APP_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)
_TARGET_APPS = ("goto", "gotoif", "gosub", "gosubif")


def _split_args(text):
    """Top-level comma split (parentheses and ${...} nest)."""
    out, depth, cur = [], 0, ""
    for c in text:
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
    out.append(cur)
    return [a.strip() for a in out]


def _app(value, is_exten):
    """(app name lower-case, args text, pattern) of an ``exten``/``same`` value."""
    parts = _split_args(value)
    if is_exten:
        if len(parts) < 3:
            return None, "", None
        pattern, app = parts[0], ",".join(parts[2:])
    else:
        if len(parts) < 2:
            return None, "", None
        pattern, app = None, ",".join(parts[1:])
    m = _APP_RE.match(app)
    if not m:
        return None, "", pattern
    return m.group(1).lower(), m.group(2) or "", pattern


def _goto_contexts(app, args):
    """Contexts a Goto-like application names (literal ones only)."""
    labels = []
    if app in ("gotoif", "gosubif"):
        q = args.find("?")
        if q < 0:
            return []
        for lab in args[q + 1:].split(":"):
            labels.append(lab)
    else:
        labels.append(args)
    out = []
    for lab in labels:
        lab = re.sub(r"\(.*\)\s*$", "", lab.strip())  # Gosub arguments
        parts = _split_args(lab)
        if len(parts) == 3 and parts[0] and "$" not in parts[0]:
            out.append(parts[0])
    return out


def _dial_targets(args):
    """(technology, resource, context or None) of each channel of a Dial."""
    first = _split_args(args)[0] if args else ""
    out = []
    for chan in first.split("&"):
        chan = chan.strip()
        tech, _sep, rest = chan.partition("/")
        tech = tech.upper()
        if tech == "LOCAL":
            ctx = rest.partition("@")[2].split("/")[0]
            out.append((tech, rest, ctx or None))
        elif tech in ("PJSIP", "IAX2", "SIP"):
            if "/" in rest or "@" not in rest:  # PJSIP/endpoint[/sip:...], IAX2/peer[/number]
                out.append((tech, rest.split("/")[0], None))
            else:                               # PJSIP/number@endpoint
                out.append((tech, rest.rpartition("@")[2], None))
    return out


def dialplan(cfgs):
    """{context: {"edges": [(context, path, line)], "dials": [(tech, resource, path, line)]}}
    over extensions.conf and its includes; contexts repeat across files and merge."""
    ctxs = {}
    for cfg in cfgs:
        for s in cfg.sections:
            if s.name in ("general", "globals"):
                continue
            c = ctxs.setdefault(s.name, {"edges": [], "dials": [], "where": "%s:%d" % (cfg.path, s.header.number)})
            for ln in s.option_lines():
                key = ln.key.lower()
                if key == "include":
                    target = ln.value.split(",")[0].strip()  # include => ctx,timing
                    c["edges"].append((target, cfg.path, ln.number))
                elif key in ("exten", "same"):
                    app, args, dummy = _app(ln.value, key == "exten")
                    if app in _TARGET_APPS:
                        for t in _goto_contexts(app, args):
                            c["edges"].append((t, cfg.path, ln.number))
                    elif app == "dial":
                        for tech, res, ctx in _dial_targets(args):
                            if ctx:
                                c["edges"].append((ctx, cfg.path, ln.number))
                            else:
                                c["dials"].append((tech, res, cfg.path, ln.number))
    return ctxs


def sip_paths(pjsip_cfgs, iax_cfgs, anonymous_loaded=True):
    """(trunks, entries): the trunk endpoints/peers, and the unauthenticated
    ways into the dialplan as [(description, context, fix or None)].
    ``anonymous_loaded``: modules.conf loads the anonymous identifier (an
    endpoint ``anonymous`` that neither it nor a name-matching identify_by
    method reaches is no way in; one with auth is challenged)."""
    endpoints, aors, identified, trunks, entries = {}, {}, set(), set(), []
    for cfg in pjsip_cfgs:
        for s in cfg.sections:
            if s.is_template:
                continue
            if s.type == "endpoint":
                endpoints[s.name] = (s, cfg.path)
            elif s.type == "aor":
                aors[s.name] = s
            elif s.type == "identify" and s.get("endpoint"):
                identified.add(s.get("endpoint"))
    for name, (s, path) in endpoints.items():
        static = any(aors.get(a.strip()) is not None and aors[a.strip()].get("contact")
                     for a in (s.get("aors") or "").split(","))
        if name in identified or s.get("outbound_auth") or static:
            trunks.add(name)
        ctx = s.get("context") or "default"
        if identify.is_anonymous_name(name):
            if s.get("auth"):
                continue
            ways = (["the anonymous identifier (%s)" % identify.ANON_MODULE] if anonymous_loaded else []) + \
                ["identify_by %s (From/Authorization/Request-URI user '%s')" % (m, name.split("@")[0])
                 for m in identify.by_name(s.get("identify_by"))[:1]]
            if ways:
                entries.append(("the PJSIP anonymous endpoint '%s' (%s:%d, reached through %s)"
                                % (name, path, s.header.number, " and ".join(ways)), ctx, fixes.ANONYMOUS))
        elif name in identified and not s.get("auth"):
            entries.append(("calls from trunk '%s' (inbound, identified by address)" % name, ctx, None))
        elif not s.get("auth"):
            entries.append(("PJSIP endpoint '%s' without auth (%s:%d)" % (name, path, s.header.number), ctx, None))
    for cfg in iax_cfgs:
        for s in cfg.sections:
            if s.name == "general" or s.is_template or s.type not in ("user", "peer", "friend"):
                continue
            if s.type in ("peer", "friend") and (s.get("host") or "dynamic") != "dynamic":
                trunks.add(s.name)
            if s.type in ("user", "friend") and not s.get("secret") and not s.get("inkeys"):
                entries.append(("IAX %s '%s' without secret (%s:%d)" % (s.type, s.name, cfg.path, s.header.number),
                                s.get("context") or "default", None))
    return trunks, entries


def reachable(ctxs, start):
    """[(context, via)] reachable from ``start`` (breadth first, guarded
    contexts not entered); ``via`` is the chain of contexts."""
    seen, out, todo = set(), [], [(start, [start])]
    while todo:
        ctx, chain = todo.pop(0)
        if ctx in seen or ctx.startswith(GUARDED_PREFIXES):
            continue
        seen.add(ctx)
        out.append((ctx, chain))
        for t, dummy, dummy2 in ctxs.get(ctx, {}).get("edges", []):
            todo.append((t, chain + [t]))
    return out


def max_contacts(pjsip_cfgs, limit=MAX_CONTACTS_LIMIT):
    """TOLL-MAX-CONTACTS: aors that take more than ``limit`` contacts."""
    f = []
    for cfg in pjsip_cfgs:
        for s in cfg.sections:
            if s.is_template or s.type != "aor":
                continue
            v = (s.get("max_contacts") or "0").strip()
            if v.isdigit() and int(v) > limit:
                f.append(finding("TOLL-MAX-CONTACTS", "medium", cfg.path, s.header.number,
                                 "aor '%s' takes up to %s contacts (max_contacts=%s, more than %d): one stolen "
                                 "secret registers that many devices at once, each of them able to place calls"
                                 % (s.name, v, v, limit),
                                 "Set max_contacts to the devices the account really has (the extension module "
                                 "writes 1; max_contacts)."))
    return f


def audit(ext_cfgs, pjsip_cfgs, iax_cfgs, manager_cfgs, asterisk_cfgs, policy_data=None, modules_data=None):
    """``modules_data``: modules.conf's bytes (None: unread; the anonymous
    identifier is then taken as loaded)."""
    f = []
    ctxs = dialplan(ext_cfgs)
    anon = modules_data is None or modules_conf.loads(modules_data, identify.ANON_MODULE)
    trunks, entries = sip_paths(pjsip_cfgs, iax_cfgs, anonymous_loaded=anon)
    reported = set()
    for what, start, fix in entries:
        for ctx, chain in reachable(ctxs, start):
            for tech, res, path, line in ctxs.get(ctx, {}).get("dials", []):
                if res in trunks and (ctx, res, start) not in reported:
                    reported.add((ctx, res, start))
                    f.append(finding(
                        "TOLL-OPEN-TRUNK", "critical", path, line,
                        "%s reaches context '%s' (%s), which dials trunk '%s' with no call policy: anyone "
                        "coming that way can place calls at your cost" % (what, ctx, " -> ".join(chain), res),
                        "Send unauthenticated and inbound calls only to contexts that reach phones, never a "
                        "trunk; outbound calls through pbxguard.asterisk.call_policy contexts.", fix=fix))
    # phones in contexts that are no call policy, while trunks exist
    if trunks:
        for cfg in pjsip_cfgs:
            for s in cfg.sections:
                if s.is_template or s.type != "endpoint" or s.name in trunks or not s.get("auth"):
                    continue
                ctx = s.get("context") or "default"
                if ctx.startswith("pbxguard-policy-"):
                    continue
                dials = [(c, d) for c, chain in reachable(ctxs, ctx) for d in ctxs.get(c, {}).get("dials", [])
                         if d[1] in trunks]
                if dials:
                    c, d = dials[0]
                    f.append(finding(
                        "TOLL-NO-POLICY", "high", cfg.path, s.header.number,
                        "extension '%s' (context %s) dials trunk '%s' in context '%s' (%s:%d) with no call "
                        "policy: no destination classes, no duration, concurrency or rate limit"
                        % (s.name, ctx, d[1], c, d[2], d[3]),
                        "Give it a policy (pbxguard.asterisk.extension policy, pbxguard.asterisk.call_policy)."))
    f += max_contacts(pjsip_cfgs)
    for line in (policy_data or b"").decode("utf-8", "replace").splitlines():
        m = re.match(r"^; pbxguard call-policy policy (\S+) .*max_call_seconds=0\b", line)
        if m:
            f.append(finding("TOLL-UNLIMITED-DURATION", "medium", None, None,
                             "call policy '%s' has no call duration limit (max_call_seconds: 0): a stolen "
                             "account can hold a premium or international call for days" % m.group(1),
                             "Set max_call_seconds (e.g. 7200)."))
    for cfg in manager_cfgs:
        for s in cfg.sections:
            if s.name == "general" or s.is_template:
                continue
            write = set(w.strip().lower() for w in (s.get("write") or "").split(",") if w.strip())
            if ("originate" in write or "all" in write) and write & set(["system", "command", "all"]):
                f.append(finding("AMI-ORIGINATE-SYSTEM", "high", cfg.path, s.header.number,
                                 "AMI user '%s' may originate calls and has write '%s': it can originate into "
                                 "System()/a trunk and run commands on the host" % (s.name, ",".join(sorted(write))),
                                 "Give originate users no system, command or all write class."))
    for cfg in asterisk_cfgs:
        for s in cfg.sections:
            if s.name == "options" and ast_true(s.get("live_dangerously")):
                f.append(finding("AST-LIVE-DANGEROUSLY", "high", cfg.path, s.header.number,
                                 "live_dangerously=yes: dialplan functions such as SHELL() and FILE() may be "
                                 "called from external sources (AMI, ARI, SIP headers)",
                                 "Remove live_dangerously (the default is no)."))
    return f
