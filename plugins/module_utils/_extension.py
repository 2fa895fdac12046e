# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Extensions core: PJSIP endpoint/auth/aor, IAX peers and voicemail boxes in
bulk. validate -> plan (pure, one pass over the list); ``ExtensionChange``
hands the files, the reloads and the live check to the change transaction
(module_utils/_transaction.py), which writes, verifies and restores.

Ownership: the module owns two whole files, ``pjsip_pbxguard.conf`` and
``iax_pbxguard.conf``, each pulled in by a ``#tryinclude`` line it adds to
pjsip.conf / iax.conf. Voicemail boxes live in voicemail.conf itself (Asterisk
rewrites that file when a user changes a PIN); a box is managed when its
number is an extension of the managed PJSIP file."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bulk_args as bulk_args
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _samples as samples
from ansible_collections.pbxguard.asterisk.plugins.module_utils._files import LOCAL
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _call_policy as call_policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import Change, File, Plan
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ensure_include as config_include
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import (
    ConfigFile, ast_true, load_config, fold, make_option, NAME_MAX, OPTION,
)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import (
    run_cli, ASTERISK_LOG, log_offset, log_since,
)

MARKER = "managed by pbxguard.asterisk"
HEADER = ("; %s (extension): this whole file is generated, edits are overwritten.\n"
          "; Hand-written objects belong in pjsip.conf / iax.conf or other includes.\n" % MARKER)
EXT_TAG = "; pbxguard extension "
IAX_AUTH = ("md5", "plaintext", "rsa", "none")
DENY_ALL = ("0.0.0.0/0.0.0.0", "::/0")
NUMBER_RE = re.compile(r"^[0-9]{1,15}\Z")


def _err(errors, fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except policy.PolicyError as e:
        errors.append(str(e))
        return None


def validate(params):
    """All checks before anything is read or written; one message listing
    every problem, each naming extensions[i] (number).option and the rule."""
    errors = []
    # names Asterisk keeps in 80-byte buffers (config.c category names, AST_MAX_CONTEXT,
    # AST_MAX_EXTENSION): a longer one would be cut, and two names equal in their
    # first 79 characters would be the same object
    # None: the call policy's default context, else from-internal (call_policy.resolve_contexts)
    context = (_err(errors, policy.check_name, params["context"], "context", NAME_MAX)
               if params.get("context") is not None else None)
    vm_context = _err(errors, policy.check_name, params.get("voicemail_context"), "voicemail_context", NAME_MAX)
    if vm_context is not None and fold(vm_context) in VM_RESERVED:
        errors.append("voicemail_context: '%s' is voicemail.conf's %s section (app_voicemail compares it "
                      "case-insensitively and reads no mailboxes from it)" % (vm_context, fold(vm_context)))
        vm_context = None
    if vm_context is not None:
        # app_voicemail keeps each box under /var/spool/asterisk/voicemail/CONTEXT/
        vm_context = _err(errors, policy.path_component, vm_context, "voicemail_context")
    allow_weak = bool(params.get("allow_weak_secrets"))
    exts = []
    seen_numbers, seen_users = {}, {}
    for i, e in enumerate(params.get("extensions") or []):
        number = e.get("number")
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        label = "extensions[%d]" % i
        if not isinstance(number, str) or not NUMBER_RE.match(number):
            errors.append("%s.number: must be 1-15 digits" % label)
            continue
        label = "extensions[%d] (%s)" % (i, number)
        if number in seen_numbers:
            errors.append("%s.number: listed twice (also extensions[%d])" % (label, seen_numbers[number]))
            continue
        seen_numbers[number] = i
        state = e.get("state") or "present"
        x = {"number": number, "state": state, "index": i, "label": label}
        n_err = len(errors)
        x["username"] = _err(errors, policy.check_name, e.get("username") or number, label + ".username",
                             NAME_MAX)
        if x["username"] and x["username"] in seen_users and state == "present":
            errors.append("%s.username: '%s' is already used by extensions[%d]"
                          % (label, x["username"], seen_users[x["username"]]))
        elif x["username"]:
            seen_users[x["username"]] = i
        if state == "present":
            x["authname"] = _err(errors, policy.check_name, e.get("authname") or x["username"] or number,
                                 label + ".authname")
            x["auth_user"] = (_err(errors, policy.check_name, e["auth_user"], label + ".auth_user")
                              if e.get("auth_user") else None)
            # a backslash too: pjsip reads callerid="A<backslash>B" as AB (ast_callerid_parse
            # unescapes inside the quotes), voicemail keeps it (found by tests/reliability/test_fuzz.py)
            x["name"] = (_err(errors, policy.check_text, e["name"], label + ".name", 80, ',"<>|\\')
                         if e.get("name") else "")
            if x["name"]:
                # the caller ID name and the box's full name: voicemail mails and
                # dialplans paste them into text Asterisk substitutes
                x["name"] = _err(errors, policy.no_expression, x["name"], label + ".name")
            x["email"] = _err(errors, policy.check_email, e["email"], label + ".email") if e.get("email") else ""
            x["secret_update"] = e.get("secret_update") or "always"
            if e.get("secret") in (None, ""):
                errors.append("%s.secret: required when state is present" % label)
            else:
                x["secret"] = _err(errors, policy.check_secret, e.get("secret"), label + ".secret",
                                   allow_weak=allow_weak)
            x["permit"] = [_err(errors, policy.parse_network, p, "%s.permit[%d]" % (label, j))
                           for j, p in enumerate(e.get("permit") or [])]
            # registration limits (issue 17): contacts per aor, and where a contact may point
            mc = e.get("max_contacts", 1)
            if isinstance(mc, bool) or not isinstance(mc, int) or not 1 <= mc <= 100:
                errors.append("%s.max_contacts: must be 1-100 (contacts one account may register)" % label)
            x["max_contacts"] = mc
            x["remove_existing"] = e.get("remove_existing", True) is not False
            x["contact_permit"] = [_err(errors, policy.parse_network, p, "%s.contact_permit[%d]" % (label, j))
                                   for j, p in enumerate(e.get("contact_permit") or [])]
            x["pin"] = (_err(errors, policy.check_pin, e["pin"], label + ".pin", box=number, allow_weak=allow_weak)
                        if e.get("pin") is not None else None)
            x["pin_update"] = e.get("pin_update") or "on_create"
            x["context"] = (_err(errors, policy.check_name, e["context"], label + ".context")
                            if e.get("context") else context)
            x["policy"] = _err(errors, call_policy.check_policy_option, e, label)
            iax = e.get("iax") or {}
            x["iax"] = None
            if iax.get("enabled") and x["username"] and fold(x["username"]) in IAX_RESERVED:
                errors.append("%s.username: '%s' names a section of iax.conf that chan_iax2 never reads as a "
                              "peer (compared case-insensitively); choose another username for IAX"
                              % (label, x["username"]))
            if iax.get("enabled"):
                auth = iax.get("auth") or "md5"
                if auth == "rc4":
                    errors.append("%s.iax.auth: 'rc4' does not exist in Asterisk's chan_iax2 (only md5, "
                                  "plaintext, rsa); for encrypted calls use auth md5 or rsa with "
                                  "encryption: true (AES-128)" % label)
                elif auth not in IAX_AUTH:
                    errors.append("%s.iax.auth: unknown '%s'; allowed: md5, plaintext, rsa, none" % (label, auth))
                elif auth == "none" and not iax.get("allow_no_auth"):
                    errors.append("%s.iax.auth: 'none' lets anyone use this peer; set "
                                  "iax.allow_no_auth: true to acknowledge" % label)
                elif iax.get("encryption") and auth not in ("md5", "rsa"):
                    errors.append("%s.iax.encryption: needs auth md5 or rsa (IAX encryption keys "
                                  "derive from the md5/rsa challenge), not %s" % (label, auth))
                rsa_key = None
                if auth == "rsa":
                    if not iax.get("rsa_key"):
                        errors.append("%s.iax.rsa_key: required when auth is rsa" % label)
                    else:
                        rsa_key = _err(errors, policy.check_name, iax["rsa_key"], label + ".iax.rsa_key")
                        if rsa_key is not None:
                            # chan_iax2 reads /var/lib/asterisk/keys/NAME.pub
                            rsa_key = _err(errors, policy.path_component, rsa_key, label + ".iax.rsa_key")
                x["iax"] = {"auth": auth, "rsa_key": rsa_key, "encryption": bool(iax.get("encryption"))}
        if len(errors) == n_err:
            exts.append(x)
    if errors:
        raise policy.PolicyError("\n".join(errors))
    return {"context": context, "voicemail_context": vm_context}, exts


# ------------------------------------------------------------------ render
def _q(text):
    return text.replace('"', "")


def render_pjsip(x, secret):
    u = x["username"]
    lines = ["[%s]" % u, "%s%s" % (EXT_TAG, x["number"]), "type=endpoint",
             "context=%s" % x["context"], "disallow=all", "allow=ulaw,alaw,g722",
             "auth=%s" % u, "aors=%s" % u]
    if x["name"]:
        lines.append('callerid="%s" <%s>' % (_q(x["name"]), x["number"]))
    else:
        lines.append("callerid=<%s>" % x["number"])
    if x.get("mailbox"):
        lines.append("mailboxes=%s" % x["mailbox"])
    if x["auth_user"]:
        lines.append("identify_by=username,auth_username")
    if x["permit"]:
        lines += ["deny=%s" % d for d in DENY_ALL] + ["permit=%s" % p for p in x["permit"]]
    if x.get("contact_permit"):
        lines += ["contact_deny=%s" % d for d in DENY_ALL] + ["contact_permit=%s" % p for p in x["contact_permit"]]
    lines += ["", "[%s]" % u, "type=auth", "auth_type=digest",
              "username=%s" % (x["auth_user"] or x["authname"]), "password=%s" % secret,
              "", "[%s]" % u, "type=aor", "max_contacts=%d" % x.get("max_contacts", 1),
              "remove_existing=%s" % ("yes" if x.get("remove_existing", True) else "no"), ""]
    return "\n".join(lines) + "\n"


def render_iax(x, secret):
    iax = x["iax"]
    lines = ["[%s]" % x["username"], "%s%s" % (EXT_TAG, x["number"]), "type=friend", "host=dynamic",
             "context=%s" % x["context"], "requirecalltoken=yes"]
    if iax["auth"] in ("md5", "plaintext"):
        lines += ["auth=%s" % iax["auth"], "secret=%s" % secret]
    elif iax["auth"] == "rsa":
        lines += ["auth=rsa", "inkeys=%s" % iax["rsa_key"]]
    if iax["encryption"]:
        lines += ["encryption=aes128", "forceencryption=yes"]
    if x["name"]:
        lines.append('callerid="%s" <%s>' % (_q(x["name"]), x["number"]))
    if x["permit"]:
        lines += ["deny=%s" % d for d in DENY_ALL] + ["permit=%s" % p for p in x["permit"]]
    return "\n".join(lines) + "\n\n"


# ------------------------------------------------------------- existing state
# What Asterisk builds from the files, read as its modules read them: the
# consumer's view of config.c (_asterisk_config.load_config: #include relative
# to /etc/asterisk, templates, inheritance, (+) appends, names cut at 79), then
# the rules of the module that loads it. The lab's differential test
# (tests/lab/test_config_differential.py) compares these readers with what the
# real Asterisk reports.
PJSIP_TYPES = ("endpoint", "auth", "aor")
# chan_iax2 set_config(): sections it never reads as peers/users (strcasecmp)
IAX_RESERVED = ("general", "callnumberlimits")
# app_voicemail load_users(): sections that hold no mailboxes (strcasecmp);
# an empty aliasescontext (the default) makes '[]' one of them
VM_RESERVED = ("general", "zonemessages")
VM_ID_MAX = 79  # ast_vm_user.mailbox[AST_MAX_EXTENSION], .context[AST_MAX_CONTEXT], .fullname[80]


def file_reader(known, files=None):
    """read(path) for load_config: ``known`` {path: bytes or None} first (what
    the plan was given, or b'' to leave a file out), else the file as the
    host's read side ``files`` (a planner's ``Host``; default the local disk)
    has it."""
    files = files or LOCAL

    def read(path):
        if path in known:
            return known[path]
        try:
            return files.read(path)
        except (IOError, OSError):
            return None
    return read


def pjsip_objects(cfg):
    """res_sorcery_config over a loaded pjsip.conf: {type: {id: Category}}
    for every type named. An object's type is the *first* ``type`` variable
    (inherited ones come first; the name folds, the value does not:
    ast_sorcery_changeset_create / ast_variable_find_in_list + strcmp); its id
    is the category name, compared with strcmp (case-sensitive). A type with
    one id twice is None: Asterisk rejects every object of that type ("a
    duplicate object") and keeps the ones it had."""
    out = {}
    for c in cfg.browse():
        t = c.find_first("type")
        if t is None:
            continue
        objs = out.setdefault(t, {})
        if objs is None:
            continue
        if c.name in objs:
            out[t] = None
        else:
            objs[c.name] = c
    return out


def pjsip_option(c, name):
    """An option as ast_sorcery_objectset_apply leaves it: the last value of
    ``name`` (option names fold, as aco matches them)."""
    return c.last(name)


def pjsip_endpoint_auths(c, auths):
    """[(auth id, its username)] of an endpoint's ``auth`` list that exist as
    auth objects (``pjsip show endpoints`` InAuth lines)."""
    out = []
    for a in (pjsip_option(c, "auth") or "").split(","):
        a = a.strip()
        if a and auths and a in auths:
            out.append((a, pjsip_option(auths[a], "username") or ""))
    return out


def iax_objects(cfg):
    """chan_iax2 set_config() over a loaded iax.conf: ({peer name: Category},
    {user name: Category}). ``type`` is the first one (ast_variable_retrieve
    of Asterisk 22), compared with strcasecmp; names with strcmp (peer_cmp_cb/user_cmp_cb): a
    second section of the same name updates the first object."""
    peers, users = {}, {}
    for c in cfg.browse():
        if fold(c.name) in IAX_RESERVED:
            continue
        t = c.retrieve("type")
        if t is None:
            continue
        t = fold(t)
        if t in ("user", "friend"):
            users.setdefault(c.name, c)
        if t in ("peer", "friend"):
            peers.setdefault(c.name, c)
    return peers, users


def voicemail_boxes(cfg):
    """app_voicemail load_users() over a loaded voicemail.conf: the mailboxes in
    the order Asterisk keeps them, as dicts (context, mailbox, fullname, where).
    find_or_create(): '*' at the start is refused; a box equal (strcasecmp) to
    one already kept in the same context - or in any context when
    ``searchcontexts`` is on - is ignored; the comparison takes the new name
    whole against the kept one cut at 79 characters."""
    general = cfg.get("general")
    search = bool(general is not None and ast_true(general.retrieve("searchcontexts")))
    aliases = (general.retrieve("aliasescontext") if general is not None else None) or ""
    boxes = []
    # the kept boxes, folded as strcasecmp compares them: one lookup per box instead of
    # find_or_create's walk over the list (10,000 boxes)
    kept, kept_boxes = set(), set()
    for c in cfg.browse():
        if fold(c.name) in VM_RESERVED or fold(c.name) == fold(aliases):
            continue
        context = fold(c.name[:VM_ID_MAX])
        for v in c.variables:
            box, data = v[0], v[1]
            if box.startswith("*"):
                continue
            if (search and fold(box) in kept_boxes) or (context, fold(box)) in kept:
                continue
            kept.add((context, fold(box[:VM_ID_MAX])))
            kept_boxes.add(fold(box[:VM_ID_MAX]))
            parts = data.split(",")
            boxes.append({"context": c.name[:VM_ID_MAX], "mailbox": box[:VM_ID_MAX],
                          "fullname": parts[1][:VM_ID_MAX] if len(parts) > 1 else "", "where": v[3]})
    return boxes


def hand_written_objects(conf_path, data, managed_path, files=None):
    """The objects Asterisk builds from ``conf_path`` (bytes ``data``) and its
    includes (read through ``files``, the host's read side), the managed file
    left out: (the loaded config, its problems)."""
    files = files or LOCAL
    return load_config(conf_path, file_reader({conf_path: data or b"", managed_path: b""}, files),
                       config_dir=os.path.dirname(conf_path), glob_fn=files.glob)


def ensure_include(data, managed_name, label="extensions"):
    """pjsip.conf / iax.conf with a ``#tryinclude`` of the managed file."""
    return config_include(data, managed_name, "%s: %s" % (MARKER, label))


# ------------------------------------------------------------------- plan
def index_blocks(cfg):
    """{number: raw text of its sections} for a managed file: a tagged section
    starts an extension's block; untagged sections after it belong to it."""
    blocks, users = {}, {}
    _index_sections(cfg.sections, blocks, users, None)
    return blocks, users


def _index_sections(sections, blocks, users, current):
    """index_blocks over ``sections`` into ``blocks``/``users``, ``current``
    the number whose block the first untagged section continues; returns the
    number current after them."""
    for sec in sections:
        for ln in sec.lines:
            if ln.kind == "comment" and ln.text.startswith(EXT_TAG):
                current = ln.text[len(EXT_TAG):].strip()
                users[current] = sec.name
                break
        if current is not None:
            blocks[current] = blocks.get(current, "") + sec.header.raw + "".join(ln.raw for ln in sec.lines)
    return current


def _rendered_secret(x, secret_type):
    """What the ``secret_type`` section of x's rendered block holds under the
    secret key, as a parse reads it back (render_pjsip always writes the
    auth's password; render_iax writes secret= only for md5/plaintext).
    Secrets and names pass the policy's character sets (no ';', '=', '>' at
    the start, blanks or control characters), so the value reads back as
    written."""
    if secret_type == "auth":
        return x["secret"]
    return x["secret"] if x["iax"]["auth"] in ("md5", "plaintext") else None


def read_managed(data, secret_type, secret_key, rendered):
    """(blocks, users, secrets) of a managed file: ``index_blocks`` and the
    secret of each ``secret_type`` section by name (the last section of a
    name wins), exactly what a parse of the whole file gives.

    ``rendered``: [(x, block)] of the task's present extensions rendered with
    the task's secrets. Parsing 210,000 lines is ~1-2 s at 10,000
    extensions; a rerun or a one-extension change finds nearly every block
    byte for byte as rendered, so the file is read piecewise: a stretch that
    is exactly x's rendered block is taken as what its parse is known to give (its tagged
    endpoint section, then the untagged auth and aor; the auth or friend
    section carries the task's secret), and only the stretches in between
    are parsed, in file order. That equals the parse of the whole file
    because ConfigFile carries nothing from line to line but the block
    comment level and the current section: the piecewise read is used only
    without ';--', '--;' and NUL anywhere in the file (the level stays 0),
    and a parsed stretch after a block must begin with a section header (else
    its first lines would continue the block's last section) - any other content, or a
    file without the module's header, is parsed whole
    (tests/unit/plugins/module_utils/test_extension.py compares the two on
    random edits)."""
    head = HEADER + "\n"
    if data and rendered and data.startswith(head.encode("utf-8")):
        text = data.decode("utf-8", "surrogateescape")
        if ";--" not in text and "--;" not in text and "\0" not in text:
            got = _read_piecewise(text, len(head), secret_type, secret_key, rendered)
            if got is not None:
                return got
    cfg = ConfigFile.from_bytes(data or b"")
    blocks, users = index_blocks(cfg)
    return blocks, users, _secrets(cfg, secret_type, secret_key)


def _block_at(text, pos, by_number):
    """(x, block) when ``text`` holds x's rendered block at ``pos``, else None
    (what follows is checked by the caller: a parsed stretch after it must
    begin with a section header)."""
    if not text.startswith("[", pos):
        return None
    eol = text.find("\n", pos)
    if eol < 0 or not text.startswith(EXT_TAG, eol + 1):
        return None
    tag_end = text.find("\n", eol + 1)
    if tag_end < 0:
        return None
    hit = by_number.get(text[eol + 1 + len(EXT_TAG):tag_end])
    if hit is None or not text.startswith(hit[1], pos):
        return None
    return hit


def _read_piecewise(text, pos, secret_type, secret_key, rendered):
    by_number = dict((x["number"], (x, b)) for x, b in rendered)
    start = pos
    blocks, users, secrets = {}, {}, {}
    current = None
    n = len(text)
    while pos < n:
        hit = _block_at(text, pos, by_number)
        if hit is not None:
            x, block = hit
            current = x["number"]
            users[current] = x["username"]
            blocks[current] = blocks.get(current, "") + block
            # the endpoint/aor sections of the same name are of other types
            secrets[x["username"]] = _rendered_secret(x, secret_type)
            pos += len(block)
            continue
        # a stretch no rendered block explains: up to the next line that starts one
        end = pos
        while True:
            end = text.find("\n[", end)
            if end < 0:
                end = n
                break
            end += 1
            if _block_at(text, end, by_number) is not None:
                break
        cfg = ConfigFile(text[pos:end])
        if cfg.preamble and pos != start:
            return None
        current = _index_sections(cfg.sections, blocks, users, current)
        for sec in cfg.sections:
            if sec.type == secret_type:
                secrets[sec.name] = sec.get(secret_key)
        pos = end
    return blocks, users, secrets


def _secrets(cfg, key_type, key):
    out = {}
    for sec in cfg.sections:
        if sec.type == key_type:
            out[sec.name] = sec.get(key)
    return out


def _vm_index(sec):
    idx = {}
    if sec is not None:
        for ln in sec.lines:
            if ln.kind == OPTION:
                idx.setdefault(ln.key, []).append(ln)
    return idx


def plan(s, exts, purge, files, host=None):
    """Pure, one pass. ``files``: current contents (bytes or None) of
    'pjsip_conf', 'pjsip_managed', 'iax_conf', 'iax_managed', 'voicemail', and
    their 'paths'; files they include are read through ``host`` (the
    planner's read-only Host; default the local disk). Returns the new
    contents and what changes."""
    paths = files["paths"]
    vm_ctx = s["voicemail_context"]
    # each present extension rendered once with the task's secret: what read_managed
    # compares the files with, and the new block itself unless an on_create secret
    # keeps the old one (render_* are pure: the same x and secret give the same text)
    pj_rendered = [(x, render_pjsip(dict(x, mailbox="%s@%s" % (x["number"], vm_ctx) if x["pin"] else None),
                                    x["secret"]))
                   for x in exts if x["state"] == "present"]
    iax_rendered = [(x, render_iax(x, x["secret"])) for x in exts if x["state"] == "present" and x["iax"]]
    pj_blocks, pj_users, pj_secrets = read_managed(files["pjsip_managed"], "auth", "password", pj_rendered)
    iax_blocks, iax_users, iax_secrets = read_managed(files["iax_managed"], "friend", "secret", iax_rendered)
    pj_as_rendered = dict((x["number"], b) for x, b in pj_rendered)
    iax_as_rendered = dict((x["number"], b) for x, b in iax_rendered)
    managed = set(pj_blocks) | set(iax_blocks)
    pj_loaded = hand_written_objects(paths["pjsip_conf"], files["pjsip_conf"], paths["pjsip_managed"], host)
    iax_loaded = hand_written_objects(paths["iax_conf"], files["iax_conf"], paths["iax_managed"], host)
    pj_hand = pjsip_objects(pj_loaded)
    iax_peers, iax_users_hand = iax_objects(iax_loaded)
    vm_cfg = ConfigFile.from_bytes(files["voicemail"] or b"", paths["voicemail"])
    vm_sec = vm_cfg.first(vm_ctx)
    vm_idx = _vm_index(vm_sec)
    vm_loaded = load_config(paths["voicemail"], file_reader({paths["voicemail"]: files["voicemail"] or b""}, host),
                            config_dir=os.path.dirname(paths["voicemail"]), glob_fn=(host or LOCAL).glob)
    vm_by_box = {}
    for b in voicemail_boxes(vm_loaded):
        # a kept box is cut at 79 characters; an extension number (at most 15 digits) compares whole
        vm_by_box.setdefault(fold(b["mailbox"]), []).append(b)
    vm_general = vm_loaded.get("general")
    vm_search = vm_general is not None and ast_true(vm_general.retrieve("searchcontexts"))

    present = [x for x in exts if x["state"] == "present"]
    named = set(x["number"] for x in exts)
    errors = []
    for x in present:
        u = x["username"]
        for t in PJSIP_TYPES:
            objs = pj_hand.get(t) or {}
            if u in objs:
                c = objs[u]
                errors.append("%s.username: a PJSIP %s '%s' is defined by hand at %s:%d; remove or rename it "
                              "there (this module does not take over hand-written objects; Asterisk "
                              "rejects every %s of the file when one id is there twice)"
                              % (x["label"], t, u, c.path, c.lineno, t))
        if x["iax"]:
            for kind, objs in (("peer", iax_peers), ("user", iax_users_hand)):
                if u in objs:
                    errors.append("%s.username: an IAX %s '%s' is defined by hand at %s:%d (chan_iax2 "
                                  "would merge the two into one object)"
                                  % (x["label"], kind, u, objs[u].path, objs[u].lineno))
                    break
        if x["pin"]:
            # the box's own line in the managed context is ours; every other box
            # Asterisk would take for the same one is a clash (app_voicemail
            # find_or_create: strcasecmp on context and box, or on the box alone
            # with searchcontexts=yes)
            ours = set()
            if x["number"] in managed:
                ours = set("%s:%d" % (paths["voicemail"], ln.number) for ln in vm_idx.get(x["number"], []))
            for b in vm_by_box.get(fold(x["number"]), ()):
                if b["where"] in ours:
                    continue
                if vm_search or fold(b["context"]) == fold(vm_ctx):
                    errors.append("%s.pin: mailbox %s@%s is defined by hand at %s as %s@%s; remove it there "
                                  "first (Asterisk compares mailbox contexts and numbers case-insensitively%s "
                                  "and keeps only the first)"
                                  % (x["label"], x["number"], vm_ctx, b["where"], b["mailbox"], b["context"],
                                     ", across all contexts with searchcontexts=yes," if vm_search else ""))
                    break
    if errors:
        raise policy.PolicyError("\n".join(errors))

    absent = set(x["number"] for x in exts if x["state"] == "absent")
    removed = sorted(((managed - named) if purge else set()) | (managed & absent))
    kept = [] if purge else sorted(managed - named)
    pj_out, iax_out = [HEADER, "\n"], [HEADER, "\n"]
    created, updated, unchanged, secret_changed = [], [], [], []
    vm_changed = False
    rendered_secrets = []
    for x in present:
        number, u = x["number"], x["username"]
        old_user = pj_users.get(number)
        old_secret = pj_secrets.get(old_user) if old_user else None
        secret = x["secret"]
        if x["secret_update"] == "on_create" and old_secret:
            secret = old_secret
        if old_secret is not None and secret != old_secret:
            secret_changed.append(number)
        rendered_secrets.append(secret)
        x["mailbox"] = "%s@%s" % (number, vm_ctx) if x["pin"] else None
        pj_block = pj_as_rendered[number] if secret == x["secret"] else render_pjsip(x, secret)
        pj_out.append(pj_block)
        iax_block = ""
        if x["iax"]:
            old_iax = iax_secrets.get(iax_users.get(number)) if iax_users.get(number) else None
            isecret = old_iax if (x["secret_update"] == "on_create" and old_iax) else x["secret"]
            rendered_secrets.append(isecret)
            iax_block = iax_as_rendered[number] if isecret == x["secret"] else render_iax(x, isecret)
            iax_out.append(iax_block)
        vm_delta = _plan_voicemail(vm_idx, vm_ctx, x)
        before = (pj_blocks.get(number, ""), iax_blocks.get(number, ""))
        if number not in managed:
            created.append(number)
        elif before != (pj_block, iax_block) or vm_delta:
            updated.append(number)
        else:
            unchanged.append(number)
        if vm_delta:
            vm_changed = True
            vm_sec = _apply_voicemail(vm_cfg, vm_sec, vm_idx, vm_ctx, x["number"], vm_delta)
    for number in kept:  # managed before, not named now: kept exactly as they are
        if number in pj_blocks:
            pj_out.append(pj_blocks[number])
        if number in iax_blocks:
            iax_out.append(iax_blocks[number])
    # boxes of removed extensions, and of extensions that no longer have a PIN
    no_pin = [x["number"] for x in present if not x["pin"] and x["number"] in managed]
    drop = set()
    for number in removed + no_pin:
        if number in vm_idx and vm_sec is not None:
            drop.update(id(ln) for ln in vm_idx.pop(number))
    if drop:
        # one filter pass (list.remove per box was quadratic when purging thousands)
        vm_sec.lines = [ln for ln in vm_sec.lines if id(ln) not in drop]
        vm_changed = True
    if vm_changed and no_pin:
        # one pass with a set: 'number in unchanged' on the list was quadratic
        # (2.5 s at 10,000 extensions without PINs)
        moved = set(no_pin) & set(unchanged)
        if moved:
            unchanged = [n for n in unchanged if n not in moved]
            updated += [n for n in no_pin if n in moved]

    new_vm = vm_cfg.to_bytes() if vm_changed else files["voicemail"]
    # a renumbered extension that keeps its username is no removal of that object
    # (found by tests/reliability/test_fuzz.py: its verify failed the change)
    kept_users = set(x["username"] for x in present)
    removed_users = [u for u in (pj_users.get(n) or iax_users.get(n) for n in removed) if u not in kept_users]
    return {
        "files": {
            "pjsip_managed": "".join(pj_out).encode("utf-8", "surrogateescape"),
            "iax_managed": "".join(iax_out).encode("utf-8", "surrogateescape"),
            "voicemail": new_vm,
            "pjsip_conf": ensure_include(files["pjsip_conf"], os.path.basename(paths["pjsip_managed"])),
            "iax_conf": ensure_include(files["iax_conf"], os.path.basename(paths["iax_managed"])),
        },
        "created": created,
        "updated": updated,
        "removed": removed,
        "removed_users": [u for u in removed_users if u],
        "unchanged": len(unchanged),
        "secret_changed": secret_changed,
        "kinds": {
            "pjsip": len(present) + len([n for n in kept if n in pj_blocks]),
            "iax": len([x for x in present if x["iax"]]) + len([n for n in kept if n in iax_blocks]),
            "voicemail": len([x for x in present if x["pin"]]),
        },
        "present": present,
        "vm_context": vm_ctx,
        "secrets": rendered_secrets + [x["secret"] for x in present],
        "pins": [x["pin"] for x in present if x["pin"]],
    }


def _plan_voicemail(vm_idx, context, x):
    """The new ``pin,name,email`` value for x's box, or None when unchanged.
    A PIN already set is kept unless pin_update is 'always' (users change
    their PIN from the phone; Asterisk then rewrites voicemail.conf)."""
    if not x["pin"]:
        return None
    lines = vm_idx.get(x["number"], [])
    old = lines[0].value if lines else None
    pin = x["pin"]
    if old is not None and x["pin_update"] == "on_create":
        old_pin = old.split(",", 1)[0]
        if old_pin:
            pin = old_pin
    value = "%s,%s" % (pin, x["name"])
    if x["email"]:
        value += ",%s" % x["email"]
    if old == value and len(lines) == 1:
        return None
    return value


def _apply_voicemail(cfg, sec, vm_idx, context, number, value):
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import _rewrite_value
    if sec is None:
        sec = cfg.add_section(context)
    lines = vm_idx.get(number)
    if lines:
        _rewrite_value(lines[0], value)
        for dup in lines[1:]:
            sec.lines.remove(dup)
        vm_idx[number] = lines[:1]
    else:
        idx = sec._insert_index()
        prev = sec.lines[idx - 1] if idx else sec.header
        if not prev.raw.endswith("\n"):
            prev.raw += "\n"
        ln = make_option(number, value, "\n", arrow=True)
        sec.lines.insert(idx, ln)
        vm_idx[number] = [ln]
    return sec


# ------------------------------------------------------------------ verify
# 'pjsip show endpoints' prints each endpoint's name/caller-ID number in a
# field of CLI_LAST_TABSTOP - indent - 2 = 51 characters (cut, not widened),
# then, one level deeper, each of its inbound auths that exists live as
# 'InAuth:  ID/USERNAME' (never cut) and each aor that exists live in a field
# of 39 characters followed by its max_contacts (res/res_pjsip/
# pjsip_configuration.c cli_endpoint_print_body, config_auth.c cli_print_body,
# location.c cli_aor_print_body; ast_sip_for_each_auth/aor skip objects that
# are not loaded). One listing thus proves every endpoint, the auth it uses
# with its live user name and its aor - each listing costs Asterisk ~1 s at
# 10,000 endpoints, so one instead of three (endpoints, auths, aors).
ENDPOINT_FIELD = 51
AOR_FIELD = 39


def parse_endpoints(text):
    """Pure: ``pjsip show endpoints`` output -> list of dicts ``field`` (the
    printed 'name/cid', right-stripped), ``cut`` (the field was full, so it may
    be cut), ``auths`` [(id, username)], ``aors`` [(field, cut, max_contacts)]."""
    blocks = []
    current = None
    for line in text.splitlines():
        head, sep, rest = line.partition(":  ")
        if not sep:
            continue
        title = head.strip()
        if title == "Endpoint":
            if rest.startswith("<"):
                current = None
                continue
            field = rest[:ENDPOINT_FIELD]
            current = dict(field=field.rstrip(), cut=len(field) == ENDPOINT_FIELD and field[-1:] != " ",
                           auths=[], aors=[])
            blocks.append(current)
        elif current is None:
            continue
        elif title == "InAuth":
            auth_id, _slash, user = rest.strip().partition("/")
            current["auths"].append((auth_id, user))
        elif title == "Aor" and not rest.startswith("<"):
            field = rest[:AOR_FIELD]
            tail = rest[AOR_FIELD:].split()
            current["aors"].append((field.rstrip(), len(field) == AOR_FIELD and field[-1:] != " ",
                                    tail[0] if tail else ""))
    return blocks


def _printed(full, width):
    return full[:width]


def index_endpoints(blocks):
    """{printed field: [blocks]} (a cut field may stand for several names)."""
    index = {}
    for b in blocks:
        index.setdefault(b["field"], []).append(b)
    return index


def _find_endpoint(index, name, number):
    full = "%s/%s" % (name, number) if number else name
    found = index.get(_printed(full, ENDPOINT_FIELD), [])
    if len(full) < ENDPOINT_FIELD:
        return found[0] if found else None
    # cut: the endpoint whose inbound auth (printed whole) carries its name
    for b in found:
        if any(a[0] == name for a in b["auths"]):
            return b
    return found[0] if len(found) == 1 else None


def check_pjsip_listing(text, present, removed_users):
    """Pure: problems of the live PJSIP objects against the wanted ones, from
    one ``pjsip show endpoints`` listing: every endpoint with its caller-ID
    number, its auth with the live user name (Asterisk keeps the old object
    when it rejects a new one: a changed user name shows it) and its aor
    with max_contacts; removed endpoints gone."""
    problems = []
    blocks = parse_endpoints(text)
    index = index_endpoints(blocks)
    for x in present:
        u = x["username"]
        b = _find_endpoint(index, u, x["number"])
        if b is None:
            problems.append("%s: PJSIP endpoint/auth/aor '%s' not loaded" % (x["label"], u))
            continue
        want_user = x["auth_user"] or x["authname"]
        auths = [a for a in b["auths"] if a[0] == u]
        aor_field = _printed(u, AOR_FIELD)
        aors = [a for a in b["aors"] if a[0] == aor_field]
        missing = [k for k, have in (("auth", auths), ("aor", aors)) if not have]
        if missing:
            problems.append("%s: PJSIP %s '%s' not loaded" % (x["label"], "/".join(missing), u))
        if auths and want_user and auths[0][1] != want_user:
            problems.append("%s: live auth username is not '%s' (Asterisk kept the old object)"
                            % (x["label"], want_user))
        if aors and aors[0][2] != str(x.get("max_contacts", 1)):
            problems.append("%s: live aor max_contacts is %s, not %d (Asterisk kept the old object)"
                            % (x["label"], aors[0][2], x.get("max_contacts", 1)))
    by_name = {}  # the name part of each printed field ('name/cid' or a cut 'name...')
    for b in blocks:
        by_name.setdefault(b["field"].partition("/")[0], []).append(b)
    for u in removed_users:
        if len(u) < ENDPOINT_FIELD:
            still = bool(by_name.get(u))
        else:  # the field holds only the name's first 51 characters: its auth tells
            still = any(a[0] == u or not b["auths"] for b in by_name.get(u[:ENDPOINT_FIELD], [])
                        for a in (b["auths"] or [("", "")]))
        if still:
            problems.append("PJSIP endpoint '%s' still loaded after its removal" % u)
    return problems


def _ere(text):
    """``text`` literally in a POSIX extended regex: of the characters a
    username may hold (letters, digits, _ . @ + -) only '.' and '+' are
    special; a bracket holds each."""
    return "".join("[%s]" % c if c in ".+" else c for c in text)


def listing_pattern(names, budget=200):
    """The regex for ``pjsip show endpoints like REGEX`` that matches every
    one of ``names`` (and maybe others): '^(P1|P2|...)' over their shortest
    common prefixes, as deep as ``budget`` characters allow (res_sorcery_config
    regcomp()s it with REG_EXTENDED and matches it against each object's id,
    case-sensitively as ids compare). With 10,000 hand-written endpoints
    beside 10,000 managed ones the full listing costs Asterisk 8-18 s, the
    managed ones alone ~1.3 s. None without names (no filter)."""
    names = sorted(set(names))
    if not names:
        return None
    best = None
    for depth in range(1, max(len(n) for n in names) + 1):
        prefixes = []
        for n in names:  # sorted: every name that starts with a kept prefix follows it
            p = n[:depth]
            if not prefixes or not p.startswith(prefixes[-1]):
                prefixes.append(p)
        pattern = "^(%s)" % "|".join(_ere(p) for p in prefixes)
        if len(pattern) > budget:
            break
        best = pattern
    return best


def _spread(items, sample):
    """Up to ``sample`` of ``items``, evenly spread (first and last included)."""
    if len(items) <= sample:
        return list(items)
    step = (len(items) - 1) / float(sample - 1)
    return [items[int(round(i * step))] for i in range(sample)]


def verify(module, result, changed_kinds, sample=20):
    """Compare the live objects with the desired ones: every managed PJSIP
    object (one listing of the endpoints listing_pattern names, see
    check_pjsip_listing) and every mailbox (one
    listing); the endpoint details Asterisk prints only one by one (context,
    ACL) for up to ``sample`` changed extensions spread over the list."""
    problems = []
    present = result["present"]
    if "pjsip" in changed_kinds:
        # only the endpoints whose names could be managed ones (every managed and
        # removed one is among them): hand-written endpoints need no proof
        pattern = listing_pattern([x["username"] for x in present] + list(result["removed_users"]))
        problems += check_pjsip_listing(
            run_cli(module, "pjsip show endpoints" + (" like %s" % pattern if pattern else ""),
                    timeout=120, wait_for_command=True),
            present, result["removed_users"])
        changed = set(result["created"] + result["updated"])
        for x in _spread([x for x in present if x["number"] in changed], sample):
            out = run_cli(module, "pjsip show endpoint %s" % x["username"])
            if "context" in out and ": %s" % x["context"] not in out:
                problems.append("%s: live endpoint context differs" % x["label"])
            acl_expected = bool(x["permit"])
            if acl_expected and "deny/permit" not in out:
                problems.append("%s: live endpoint has no ACL" % x["label"])
    if "iax" in changed_kinds:
        changed = set(result["created"] + result["updated"])
        for x in [x for x in present if x["iax"] and x["number"] in changed][:sample]:
            out = run_cli(module, "iax2 show peer %s" % x["username"])
            if "Name       : %s" % x["username"] not in out:
                problems.append("%s: IAX peer '%s' not loaded" % (x["label"], x["username"]))
                continue
            if x["iax"]["encryption"] and "aes128" not in out:
                problems.append("%s: IAX peer has no encryption live" % x["label"])
            if "Calltoken req: Yes" not in out:
                problems.append("%s: IAX peer does not require call tokens live" % x["label"])
    if "voicemail" in changed_kinds:
        out = run_cli(module, "voicemail show users for %s" % result["vm_context"])
        boxes = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == result["vm_context"]:
                boxes.add(parts[1])
        for x in present:
            if x["pin"] and x["number"] not in boxes:
                problems.append("%s: mailbox %s@%s not loaded" % (x["label"], x["number"], result["vm_context"]))
        for number in result["removed"]:
            if number in boxes:
                problems.append("mailbox %s@%s still loaded after removal" % (number, result["vm_context"]))
    if result.get("samples_removed"):
        problems += samples.live_leftovers(
            result["samples_removed"],
            run_cli(module, "iax2 show users") if "iax" in changed_kinds else "",
            run_cli(module, "voicemail show users") if "voicemail" in changed_kinds else "")
    return problems


RELOAD = {
    "pjsip": "module reload res_pjsip.so",
    "iax": "iax2 reload",
    "voicemail": "voicemail reload",
}

KIND_OF = {"pjsip_managed": "pjsip", "pjsip_conf": "pjsip", "iax_managed": "iax", "iax_conf": "iax",
           "voicemail": "voicemail"}
WRITE_ORDER = ("pjsip_managed", "iax_managed", "pjsip_conf", "iax_conf", "voicemail")


MANAGED = ("pjsip_managed", "iax_managed")  # the files this module owns whole


def paths_of(params):
    return {
        "pjsip_conf": params["pjsip_conf"],
        "pjsip_managed": os.path.join(os.path.dirname(params["pjsip_conf"]), "pjsip_pbxguard.conf"),
        "iax_conf": params["iax_conf"],
        "iax_managed": os.path.join(os.path.dirname(params["iax_conf"]), "iax_pbxguard.conf"),
        "voicemail": params["voicemail_conf"],
    }


class ExtensionModule(AnsibleModule):
    """AnsibleModule whose journal entry summarises the call: the stock one
    writes str() of every argument, each scrubbed against every secret, which
    is O(arguments x secrets) - over 20 s at 10,000 extensions.

    The ``extensions`` list is validated by _bulk_args.fast_elements when it
    gives AnsibleModule's own result (0.5 s less at 10,000 extensions); any
    list it does not take on is validated by AnsibleModule as before."""

    def __init__(self, argument_spec, **kwargs):
        self._bulk_options = argument_spec["extensions"]["options"]
        self._bulk = None
        AnsibleModule.__init__(self, argument_spec=argument_spec, **kwargs)
        if self._bulk is not None:
            self.params["extensions"], secrets = self._bulk
            self.no_log_values.update(secrets)

    def _load_params(self):
        AnsibleModule._load_params(self)
        exts = self.params.get("extensions")
        if isinstance(exts, list) and exts:
            self._bulk = bulk_args.fast_elements(self._bulk_options, exts)
            if self._bulk is not None:
                # validated already: AnsibleModule checks the other options
                self.params["extensions"] = []

    def _log_invocation(self):
        p = self.params
        count = len(self._bulk[0]) if self._bulk is not None else len(p.get("extensions") or [])
        self.log("Invoked pbxguard.asterisk.extension with %d extension(s), purge=%s, context=%s"
                 % (count, p.get("purge"), p.get("context")))


def _summary_args(module):
    args = dict((k, v) for k, v in module.params.items() if k != "extensions")
    args["extensions"] = "%d extension(s)" % len(module.params["extensions"] or [])
    return {"module_args": args}


class ExtensionChange(Change):
    """Up to five files in WRITE_ORDER, a reload of only the Asterisk modules
    concerned, the live objects compared with the wanted ones.

    Performance at 10,000 extensions: run_command scrubs every command line
    and output against every secret of the task (O(output x secrets): 20 s).
    The commands are fixed CLI strings whose outputs are only quoted on
    failure, so ``apply`` empties ``module.no_log_values`` for the reloads,
    the live check and the revert; ``fail`` puts the full list back before
    anything is returned, ``exit`` keeps it only for the (masked) diff text:
    the other returned values are built from validated digits and counts."""

    name = "extension"

    def validate(self, params):
        settings, exts = validate(params)
        return dict(settings=settings, exts=exts, purge=params["purge"],
                    remove_samples=params["remove_samples"], backup=params["backup"],
                    paths=paths_of(params))

    def plan(self, host, spec):
        paths = spec["paths"]
        old = dict((k, host.read(v)) for k, v in paths.items())
        base = dict(old, paths=paths)
        removed_samples = []
        if spec["remove_samples"]:
            base["iax_conf"], r_iax = samples.remove_iax_samples(old["iax_conf"], paths["iax_conf"])
            base["voicemail"], r_vm = samples.remove_voicemail_samples(old["voicemail"], paths["voicemail"])
            removed_samples = r_iax + r_vm
        # policy -> context from the call policy file, before anything is written
        call_policy.resolve_contexts(spec["exts"], host.read(call_policy.managed_path(paths["pjsip_conf"])))
        planned = plan(spec["settings"], spec["exts"], spec["purge"], base, host)
        planned["samples_removed"] = removed_samples
        new = dict((k, old[k] if v is None else v) for k, v in planned["files"].items())
        files = [File(paths[k], old[k], new[k], backup=spec["backup"],
                      attributes_differ=k in MANAGED and old[k] is not None and host.attributes_differ(paths[k]))
                 for k in WRITE_ORDER]
        kinds = []
        for k, f in zip(WRITE_ORDER, files):
            if f.changed and KIND_OF[k] not in kinds:
                kinds.append(KIND_OF[k])
        result = dict(
            reloaded=[],
            created=planned["created"], updated=planned["updated"], removed=planned["removed"],
            counts=dict(created=len(planned["created"]), updated=len(planned["updated"]),
                        removed=len(planned["removed"]), unchanged=planned["unchanged"]),
            kinds=planned["kinds"], secrets_changed=len(planned["secret_changed"]),
            samples_removed=removed_samples,
        )
        said, offset = [], []

        def apply(h):
            self._quiet(h.module)
            offset.append(log_offset(ASTERISK_LOG))
            for kind in kinds:
                said.append(run_cli(h, RELOAD[kind], timeout=120).strip())
            return dict(reloaded=list(kinds))

        def revert(h):
            for kind in kinds:
                run_cli(h, RELOAD[kind], timeout=120)

        return Plan(result, files, apply=apply,
                    verify=lambda h: verify(h, planned, kinds), revert=revert,
                    said=lambda: (log_since(ASTERISK_LOG, offset[0] if offset else None)
                                  or [x for x in said if x] or ["(nothing)"]),
                    failure="Asterisk did not take the new configuration; the previous files were "
                            "restored and reloaded",
                    secrets=planned["secrets"])

    @staticmethod
    def _quiet(module):
        if getattr(module, "pbxguard_no_log_values", None) is None:
            module.pbxguard_no_log_values = module.no_log_values
            module.no_log_values = set()

    @staticmethod
    def _loud(module):
        if getattr(module, "pbxguard_no_log_values", None) is not None:
            module.no_log_values = module.pbxguard_no_log_values
            module.pbxguard_no_log_values = None

    def exit(self, module, result):
        """Return without echoing every extension back (``invocation``
        summarises the arguments); Ansible's per-string scrubbing against
        every secret (minutes at 10,000 extensions) is kept only when there
        is diff text."""
        result["invocation"] = _summary_args(module)
        self._loud(module)
        if "diff" not in result:
            module.no_log_values = set()
        module.exit_json(**result)

    def fail(self, module, msg, result):
        """Fail with a compact ``invocation``; scrubbing stays on (messages
        come from the policy and Asterisk, which never echo a secret, but
        stay careful)."""
        self._loud(module)
        result = dict(result, invocation=_summary_args(module))
        result.pop("msg", None)
        module.fail_json(msg=msg, **result)
