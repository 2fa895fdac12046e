# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Administrator account core: validate -> plan (pure) -> the admin module's
``AdminChange`` on the change transaction.

The account is a login user (/etc/shadow SHA-512 crypt hash made on the
controller), its allowed source networks (an sshd drop-in), its e-mail
addresses, its SSH keys (authorized_keys) and its ARI user (ari.conf,
password_format=crypt), and optionally its second factor (module_utils/_totp).
Every file is a ``File`` of one plan; the account itself (useradd before the
files, chpasswd -e after them) is a service action that revert undoes. No
function here ever returns a hash or a secret."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import hashlib
import ipaddress
import json
import os
import re

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _action_plan as action_plan
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sshd as sshd
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _totp as totp
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import AsteriskCliError
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ConfigFile, ast_true
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import Change, ChangeError, File, Plan
# in _policy so that the controller-side plugins need not import this file (see there)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import check_username  # noqa: F401

MARKER = "managed by pbxguard.asterisk"
ARI_MARKER_COMMENT = "%s (admin): changes made here are overwritten" % MARKER
SHA512_CRYPT_RE = re.compile(r"^\$6\$(rounds=[0-9]+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}\Z")
# the GECOS field useradd gets for an account this module creates (its mark of ownership)
ACCOUNT_GECOS = "PBX administrator (pbxguard)"
PROFILE_MANAGED_BY = "pbxguard.asterisk.admin"
LOGIN_DEFS = "/etc/login.defs"
# shadow-utils' defaults when login.defs does not say
DEFAULT_UID_MIN = 1000
DEFAULT_UID_MAX = 60000
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
             "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss")


# ------------------------------------------------------------------ validate
def check_shell(value, option="shell"):
    """A login shell for useradd: an absolute path of letters, digits and
    ``_ . / -`` without ``..`` (it ends up in /etc/passwd)."""
    if not isinstance(value, str) or not value:
        raise policy.PolicyError("%s: must be an absolute path such as /bin/bash" % option)
    bad = [c for c in value if not (c.isascii() and (c.isalnum() or c in "_./-"))]
    if bad:
        raise policy.PolicyError("%s: contains %s; allowed are letters, digits and _ . / -"
                                 % (option, policy._describe_chars(bad)))
    if not value.startswith("/") or "/../" in value + "/" or value.endswith("/"):
        raise policy.PolicyError("%s: must be an absolute path such as /bin/bash" % option)
    return value


def check_hash(value, option):
    if not isinstance(value, str) or not SHA512_CRYPT_RE.match(value):
        raise policy.PolicyError("%s: is not a SHA-512 crypt hash ($6$...)" % option)
    return value


def split_emails(values, option="emails"):
    out = []
    if values is None:
        return out
    if isinstance(values, str):
        values = [values]
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise policy.PolicyError("%s[%d]: must be a string" % (option, i))
        for part in v.split(";"):
            part = part.strip()
            if not part:
                continue
            policy.check_email(part, "%s[%d]" % (option, i))
            if part not in out:
                out.append(part)
    return out


# characters a reader of the file could take for the end of a line: sshd's getline()
# splits at LF only and a C string ends at NUL, but Python's splitlines (and so many
# tools, this collection's audit once) splits at every one of these as well
LINE_BREAKS = "\n\r\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _describe(c):
    return "U+%04X" % ord(c)


def parse_key(text, option):
    """A public key value -> dict(type, blob, comment, fingerprint, line).

    The value is written as it is, as one line of authorized_keys, so it is
    refused unless that line, re-read as sshd reads it (sshd_key_of_line, a
    port of auth2-pubkeyfile.c + sshkey_read), yields exactly the one key the
    value names, read at the start of the line (no key options in front):
    a line break of any kind, blanks or '#' in front, options, or text that
    sshd splits otherwise (only blanks and tabs separate its fields) are
    refused with the rule that catches them."""
    if not isinstance(text, str):
        raise policy.PolicyError("%s: must be a string" % option)
    breaks = sorted(set(c for c in text if c in LINE_BREAKS))
    if breaks:
        raise policy.PolicyError("%s: must be one line (contains %s, which a re-read of authorized_keys "
                                 "would take as a line end)" % (option, ", ".join(_describe(c) for c in breaks)))
    if text[:1].isspace() or text[:1] == "#":
        raise policy.PolicyError("%s: starts with %s; give the key line as 'TYPE BASE64 [COMMENT]' with nothing "
                                 "in front (sshd reads a line starting with '#' as a comment)"
                                 % (option, "'#'" if text[:1] == "#" else "a blank (%s)" % _describe(text[0])))
    ktype, b64, comment = _sshd_fields(text)
    if ktype not in KEY_TYPES:
        behind_options = sshd_key_of_line(text) is not None and ktype not in SSHD_KEY_TYPES
        if behind_options or any(c in ktype for c in '="') or (ktype not in SSHD_KEY_TYPES and "," in ktype):
            raise policy.PolicyError("%s: starts with key options ('%s'); sshd would read them as options of "
                                     "the key, this option takes the key alone ('TYPE BASE64 [COMMENT]')"
                                     % (option, ktype[:40]))
        raise policy.PolicyError("%s: is not a public key line 'TYPE BASE64 [COMMENT]' (types: %s)"
                                 % (option, ", ".join(KEY_TYPES)))
    key = _key(ktype, b64, comment) if b64 is not None else None
    if key is None:
        raise policy.PolicyError("%s: the key data is not valid base64 of a %s key (sshd separates the "
                                 "fields at blanks and tabs only)" % (option, ktype))
    problem = _wire_problem(ktype, _blob_bytes(key))
    if problem:
        raise policy.PolicyError("%s: the %s key data is not a key sshd can load (%s)" % (option, ktype, problem))
    reread = sshd_key_of_line(text)
    if reread is None or reread["type"] != key["type"] or _blob_bytes(reread) != _blob_bytes(key):
        raise policy.PolicyError("%s: sshd would not read this line as the %s key it names" % (option, ktype))
    key["line"] = text  # written as given: what was checked is what sshd reads
    return key


def _sshd_fields(text):
    """sshkey_read()'s split of a line: (type, blob, comment) at runs of
    blanks/tabs (strcspn(" \t")), blob None when missing."""
    m = re.match(r"^([^ \t]*)[ \t]*([^ \t]*)[ \t]*(.*)$", text, re.S)
    ktype, b64, comment = m.group(1), m.group(2), m.group(3)
    return ktype, (b64 or None), comment


_EC_POINT = {"nistp256": 65, "nistp384": 97, "nistp521": 133}


def _wire_problem(ktype, blob):
    """Why sshkey_from_blob() would refuse ``blob`` as a public key of
    ``ktype`` (its deserialize_public and the "no trailing data" check), or
    None. The fields as OpenSSH writes them: strings and mpints, each a
    4-byte length and its bytes."""
    pos = [0]

    def string():
        if pos[0] + 4 > len(blob):
            raise ValueError("truncated")
        n = int.from_bytes(blob[pos[0]:pos[0] + 4], "big")
        if pos[0] + 4 + n > len(blob):
            raise ValueError("truncated")
        pos[0] += 4 + n
        return blob[pos[0] - n:pos[0]]
    try:
        string()  # the type name, checked by _key
        if ktype == "ssh-rsa":
            e, n = string(), string()
            if not e or not n or (n[0] & 0x80) or (e[0] & 0x80):
                return "bad RSA numbers"
            if (len(n.lstrip(b"\x00")) * 8) < 1024:
                return "RSA modulus below 1024 bits"
        elif ktype in ("ssh-ed25519", "sk-ssh-ed25519@openssh.com"):
            if len(string()) != 32:
                return "an Ed25519 key has 32 bytes"
            if ktype.startswith("sk-"):
                string()  # application
        elif ktype.startswith(("ecdsa-sha2-", "sk-ecdsa-sha2-")):
            curve = ktype.split("-")[-1].split("@")[0] if ktype.startswith("ecdsa") else "nistp256"
            if string() != curve.encode("ascii"):
                return "curve name differs from the key type"
            q = string()
            if len(q) != _EC_POINT[curve] or q[:1] != b"\x04":
                return "not an uncompressed %s point" % curve
            if ktype.startswith("sk-"):
                string()
        elif ktype == "ssh-dss":
            for _i in range(4):
                string()
    except ValueError as e:
        return str(e)
    if pos[0] != len(blob):
        return "trailing data after the key"
    return None


def _blob_bytes(key):
    return base64.b64decode(key["blob"].encode("ascii"))


def _key(ktype, b64, comment, blob_type=None):
    try:
        blob = base64.b64decode(b64.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    if len(blob) < 4:
        return None
    n = int.from_bytes(blob[:4], "big")
    if blob[4:4 + n].decode("ascii", "replace") != (blob_type or ktype):
        return None
    fp = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    line = "%s %s%s" % (ktype, b64, (" " + comment) if comment else "")
    return {"type": ktype, "blob": b64, "comment": comment, "fingerprint": fp, "line": line}


# every key type name OpenSSH's sshkey.c knows (sshkey_type_from_name): sshd accepts a
# line whose type is any of them, so `exclusive` must recognise them all (certificates too)
SSHD_KEY_TYPES = frozenset(KEY_TYPES + (
    "rsa-sha2-256", "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com", "ssh-ed25519-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "ssh-xmss@openssh.com", "ssh-xmss-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com"))
# the type named inside the blob of a key written under another algorithm name
_BLOB_TYPE = {"rsa-sha2-256": "ssh-rsa", "rsa-sha2-512": "ssh-rsa",
              "rsa-sha2-256-cert-v01@openssh.com": "ssh-rsa-cert-v01@openssh.com",
              "rsa-sha2-512-cert-v01@openssh.com": "ssh-rsa-cert-v01@openssh.com",
              "webauthn-sk-ecdsa-sha2-nistp256@openssh.com": "sk-ecdsa-sha2-nistp256@openssh.com"}


def _sshd_read_key(text):
    """sshkey_read() on ``text``: the key dict when it starts with TYPE BLOB, else None."""
    ktype, b64, comment = _sshd_fields(text)
    if b64 is None or ktype not in SSHD_KEY_TYPES:
        return None
    return _key(ktype, b64, comment.rstrip(" \t"), blob_type=_BLOB_TYPE.get(ktype, ktype))


def _advance_past_options(text):
    """sshkey_advance_past_options(): the rest after the options field (quotes
    may hold blanks, \\" is a quote inside them), or None for an unterminated quote."""
    quoted = False
    i = 0
    while i < len(text) and (quoted or text[i] not in " \t"):
        if text[i] == "\\" and text[i + 1:i + 2] == '"':
            i += 1
        elif text[i] == '"':
            quoted = not quoted
        i += 1
    if i >= len(text) and quoted:
        return None
    return text[i:]


def sshd_key_of_line(line):
    """The key sshd takes from one authorized_keys line, as auth2-pubkeyfile.c
    reads it: leading blanks skipped, '#' or empty is nothing; a key at the
    start, else the options field skipped and a key after it."""
    cp = line.lstrip(" \t")
    if not cp or cp[0] == "#":
        return None
    key = _sshd_read_key(cp)
    if key is None:
        rest = _advance_past_options(cp)
        if rest is not None:
            key = _sshd_read_key(rest.lstrip(" \t"))
    return key


def parse_authorized_keys(data):
    """Lines of authorized_keys -> list of (raw line, key dict or None), split
    at LF only as sshd's getline() does (a CR or form feed is part of a line)."""
    out = []
    text = (data or b"").decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for raw in lines:
        out.append((raw, sshd_key_of_line(raw)))
    return out


def validate(params):
    """Every option checked before anything is read or written; errors joined."""
    errors = []
    want = {}

    def attempt(fn):
        try:
            return fn()
        except policy.PolicyError as e:
            errors.append(str(e))
            return None

    want["username"] = attempt(lambda: check_username(params.get("username")))
    want["allowed_networks"] = []
    for i, n in enumerate(params.get("allowed_networks") or []):
        net = attempt(lambda: policy.parse_network(n, "allowed_networks[%d]" % i))
        if net and net not in want["allowed_networks"]:
            want["allowed_networks"].append(net)
    want["emails"] = attempt(lambda: split_emails(params.get("emails")))
    keys = params.get("ssh_keys") or {}
    want["keys"] = []
    for i, k in enumerate(keys.get("present") or []):
        key = attempt(lambda: parse_key(k, "ssh_keys.present[%d]" % i))
        if key and key["blob"] not in [x["blob"] for x in want["keys"]]:
            want["keys"].append(key)
    want["exclusive"] = bool(keys.get("exclusive"))
    want["plan"] = attempt(lambda: action_plan.check(params.get(action_plan.OPTION), "admin"))
    if params.get("shell") is not None:
        attempt(lambda: check_shell(params["shell"]))
    for key in ("sshd_dropin_dir", "ari_config_file", "http_config_file"):
        if params.get(key) is not None:
            want[key] = attempt(lambda: policy.absolute_path(params[key], key))
    if params.get("api_bind_address"):
        want["api_bind_address"] = attempt(lambda: policy.check_ip(params["api_bind_address"],
                                                                   "api_bind_address"))
    if errors:
        raise policy.PolicyError("\n".join(errors))
    return want


# ------------------------------------------------------- existing accounts
def uid_range(login_defs):
    """(UID_MIN, UID_MAX) of regular accounts from the bytes of /etc/login.defs
    (None or unreadable values: shadow-utils' defaults 1000 and 60000)."""
    found = {}
    for raw in (login_defs or b"").decode("utf-8", "replace").splitlines():
        parts = raw.split()
        if len(parts) >= 2 and parts[0] in ("UID_MIN", "UID_MAX") and parts[1].isdigit():
            found[parts[0]] = int(parts[1])
    return found.get("UID_MIN", DEFAULT_UID_MIN), found.get("UID_MAX", DEFAULT_UID_MAX)


def profile_is_ours(data):
    try:
        return json.loads((data or b"{}").decode("utf-8")).get("managed_by") == PROFILE_MANAGED_BY
    except (ValueError, AttributeError):
        return False


def takeover_problem(username, uid, gecos, uid_range_, profile_data, adopt_existing):
    """Why managing the existing account ``username`` would take it over, or
    None. A system account (uid outside UID_MIN..UID_MAX) or an account this
    module neither created (GECOS mark) nor adopted before (its profile) is
    only managed with adopt_existing: true; a system account needs it on
    every run. Pure: the caller passes what it read."""
    if adopt_existing:
        return None
    uid_min, uid_max = uid_range_
    if not uid_min <= uid <= uid_max:
        return ("adopt_existing: '%s' is an existing system account (uid %d, outside UID_MIN %d .. "
                "UID_MAX %d of /etc/login.defs); this module takes over its password, keys and SSH "
                "access only with adopt_existing: true" % (username, uid, uid_min, uid_max))
    if (gecos or "").split(",")[0] != ACCOUNT_GECOS and not profile_is_ours(profile_data):
        return ("adopt_existing: the account '%s' (uid %d) exists and was not created by this module "
                "(no '%s' in its GECOS field, no /etc/pbxguard/admin/%s.json); this module takes over "
                "its password, keys and SSH access only with adopt_existing: true"
                % (username, uid, ACCOUNT_GECOS, username))
    return None


def check_takeover(username, adopt_existing, profile_dir, host):
    """takeover_problem() for the account as it is on this host (reads
    /etc/passwd, /etc/login.defs and the profile through ``host``; changes
    nothing). Raises PolicyError."""
    entry = host.user(username)
    if entry is None:
        return
    try:
        profile = host.read("%s/%s.json" % (profile_dir, username))
    except (IOError, OSError):
        profile = None
    try:
        defs = host.read(LOGIN_DEFS)
    except (IOError, OSError):
        defs = None
    problem = takeover_problem(username, entry["uid"], entry["gecos"], uid_range(defs), profile,
                               adopt_existing)
    if problem:
        raise policy.PolicyError(problem)


# --------------------------------------------------------------- pure plans
def render_sshd(username, networks):
    """The sshd drop-in refusing ``username`` from outside ``networks``; None
    when every address is allowed (no drop-in)."""
    if not networks:
        return None
    v4 = [n for n in networks if ":" not in n]
    v6 = [n for n in networks if ":" in n]
    patterns = ["0.0.0.0/0", "::/0"] + ["!" + n for n in v4 + v6]
    return ("# %s (admin %s): changes made here are overwritten\n"
            "# %s may log in over SSH only from: %s\n"
            "Match User %s Address %s\n"
            "    DenyUsers %s\n" % (MARKER, username, username, ", ".join(networks),
                                    username, ",".join(patterns), username)).encode("ascii")


def plan_keys(data, wanted, exclusive):
    """Pure: new authorized_keys content, added and removed fingerprints, final list."""
    lines = parse_authorized_keys(data)
    wanted_blobs = set(k["blob"] for k in wanted)
    have_blobs = set(k["blob"] for _raw, k in lines if k)
    out, removed = [], []
    for raw, key in lines:
        if key and exclusive and key["blob"] not in wanted_blobs:
            removed.append(key["fingerprint"])
            continue
        out.append(raw)
    added = []
    for k in wanted:
        if k["blob"] not in have_blobs:
            out.append(k["line"])
            added.append(k["fingerprint"])
            have_blobs.add(k["blob"])
    new = ("\n".join(out) + "\n").encode("utf-8", "surrogateescape") if out else b""
    if data is None and not wanted:
        new = None
    final = [dict((f, k[f]) for f in ("type", "fingerprint", "comment"))
             for _raw, k in parse_authorized_keys(new) if k]
    return new, added, removed, final


def is_managed(section):
    return section.has_comment(MARKER)


def plan_ari(data, path, username, api_access, ari_hash, networks=()):
    """Pure: new ari.conf bytes and what happened to the user ('added',
    'updated', 'removed' or None). A hand-written section of that name is an error."""
    cfg = ConfigFile.from_bytes(data or b"", path)
    sections = [s for s in cfg.sections if s.name == username]
    hand = [s for s in sections if not is_managed(s)]
    if hand:
        raise policy.PolicyError("api_access: an ARI user '%s' is defined by hand at %s:%d; remove "
                                 "it there, this module does not take over hand-written users"
                                 % (username, path, hand[0].header.number))
    action = None
    if api_access:
        g = cfg.first("general")
        if g is None:
            g = cfg.add_section("general")
            cfg.sections.insert(0, cfg.sections.pop())
        g.set("enabled", "yes")
        pairs = [("type", "user"), ("read_only", "no"), ("password_format", "crypt"),
                 ("password", ari_hash)]
        if networks:
            pairs += [("deny", "0.0.0.0/0"), ("deny", "::/0")] + [("permit", n) for n in networks]
        if not sections:
            cfg.add_section(username, pairs, comments=[ARI_MARKER_COMMENT])
            action = "added"
        else:
            for extra in sections[1:]:
                cfg.remove_section(extra)
            if sections[0].items() != pairs:
                sections[0].replace_body(pairs, comments=[ARI_MARKER_COMMENT])
                action = "updated"
    else:
        for s in sections:
            cfg.remove_section(s)
            action = "removed"
    return cfg.to_bytes(), action


def ari_hash_of(data, username):
    """The crypt hash stored for ``username`` in ari.conf (for the action plugin only)."""
    cfg = ConfigFile.from_bytes(data or b"")
    for s in cfg.sections:
        if s.name == username and is_managed(s):
            if (s.get("password_format") or "").lower() == "crypt":
                return s.get("password")
    return None


def _same_address(a, b):
    try:
        return ipaddress.ip_address(a.strip()) == ipaddress.ip_address(b.strip())
    except ValueError:
        return a.strip() == b.strip()


def plan_http(data, path, bind_address):
    """http.conf with the HTTP server on and, with api_bind_address, the plain
    listener's address. When the server serves only https (TLS on, no plain
    bindaddr: pbxguard.asterisk.web with protocol https), a bindaddr would open
    a second, plain listener on bindport (8088 unless set) - next to the TLS one
    or clashing with it on the same port - so the address is then checked
    against the TLS listener instead of written."""
    cfg = ConfigFile.from_bytes(data or b"", path)
    g = cfg.first("general")
    if g is None:
        g = cfg.add_section("general")
        cfg.sections.insert(0, cfg.sections.pop())
    g.set("enabled", "yes")
    if bind_address:
        if ast_true(g.get("tlsenable")) and not (g.get("bindaddr") or "").strip():
            tls_address = portplan.split_hostport(g.get("tlsbindaddr"), 8089)[0]
            if not _same_address(bind_address, tls_address):
                raise policy.PolicyError(
                    "api_bind_address: %s: the HTTP server serves only https, on %s (tlsbindaddr in %s, as "
                    "pbxguard.asterisk.web writes it for protocol https); a plain listener would open beside it. "
                    "Set the address with the web module's bind_address, or leave api_bind_address out"
                    % (bind_address, tls_address, path))
        else:
            g.set("bindaddr", bind_address)
    return cfg.to_bytes()


def http_bindings(http_new, http_path, bind_address):
    """Pure: the port plan's ``(manages, bindings)`` for http.conf's plain
    listener when this run sets its address (api_bind_address), else None.
    The shared check (module_utils/_portplan.py, run by the transaction)
    then refuses an address the host does not have and a clash with another
    listener (web's https on the same port), as for web, ami and sip_transport."""
    if not bind_address:
        return None
    want = [b for b in portplan.http_bindings(http_new, http_path) if b.name == "http"]
    for b in want:
        b.source, b.option = "task", "api_bind_address"
    return ([(portplan.HTTP, "http")], want)


def render_profile(username, emails):
    return (json.dumps({"username": username, "emails": emails,
                        "managed_by": PROFILE_MANAGED_BY}, indent=1, sort_keys=True)
            + "\n").encode("utf-8")


def shadow_hash(shadow_data, username):
    for line in (shadow_data or b"").decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) > 1 and parts[0] == username:
            return parts[1]
    return None


def networks_of_dropin(data, username):
    prefix = "# %s may log in over SSH only from: " % username
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        if line.startswith(prefix):
            return [n.strip() for n in line[len(prefix):].split(",") if n.strip()]
    return []


def emails_of_profile(data):
    try:
        return list(json.loads((data or b"{}").decode("utf-8")).get("emails") or [])
    except ValueError:
        return []


# ------------------------------------------------------------ the change
SHADOW = "/etc/shadow"
PROFILE_DIR = "/etc/pbxguard/admin"
# an address outside every sensible admin network: sshd -T must deny the user from there
OUTSIDE = "192.0.2.1"


def allowed_address(networks):
    """An address inside the first allowed network (its first host), or None."""
    import ipaddress
    if not networks:
        return None
    net = ipaddress.ip_network(networks[0], strict=False)
    return str(net[1] if net.num_addresses > 2 else net.network_address)


def describe(state):
    return "\n".join("%s: %s" % (k, state[k]) for k in sorted(state)) + "\n"


def summary(user, want, final_keys, api_access):
    nets = ", ".join(want["allowed_networks"]) or "every address"
    return "admin %s: SSH from %s, %d key%s, API %s, %d e-mail%s" % (
        user, nets, len(final_keys), "" if len(final_keys) == 1 else "s",
        "on (ARI user)" if api_access else "off", len(want["emails"]),
        "" if len(want["emails"]) == 1 else "s")


def ari_users(host):
    out = host.cli("ari show users", wait_for_command=True)
    names = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("Yes", "No"):
            names.append(parts[-1])
    return names


def _file(host, path, old, new, owner, group, mode, pending=False, **kw):
    """A File whose owner may be an account this run creates (``pending``:
    it does not exist yet to compare with, so an existing file is re-owned)."""
    differ = old is not None and new is not None and (pending or host.attributes_differ(path, owner, group, mode))
    return File(path, old, new, owner=owner, group=group, mode=mode, attributes_differ=differ, **kw)


def _run(host, args, what, data=None):
    kw = {} if data is None else dict(data=data)
    rc, out, err = host.run_command(args, **kw)
    if rc != 0:
        raise ChangeError("%s failed: %s" % (what, ((out or "") + (err or "")).strip()))


class AdminChange(Change):
    """The admin module: the account (useradd before its files, chpasswd -e
    after them), profile, authorized_keys, sshd drop-in, http.conf, ari.conf
    and, with the totp option, the user's second factor, all in one plan;
    then ``sshd -t`` + reload, ``module reload`` of http/res_ari, and the live
    state read back (``sshd -T``, ``ari show users``)."""

    name = "admin"
    daemon = "sshd"

    def validate(self, params):
        if params.get("password") is not None:
            raise policy.PolicyError("password: is hashed on the controller by the action plugin of "
                                     "pbxguard.asterisk.admin; it is never sent to the host")
        want = validate(params)
        want.update(password_update=params["password_update"], force=params["force"],
                    api_access=params["api_access"], shell=params["shell"], ari_path=want.get("ari_config_file") or params["ari_config_file"],
                    http_path=want.get("http_config_file") or params["http_config_file"],
                    dropin_dir=want.get("sshd_dropin_dir") or params["sshd_dropin_dir"],
                    totp=params.get("totp"), adopt_existing=params.get("adopt_existing", False))
        return want

    def plan(self, host, spec):
        user, probe = spec["username"], spec["plan"]["probe"]
        # never take over a system account or one this module did not create (read-only)
        check_takeover(user, spec["adopt_existing"], PROFILE_DIR, host)
        account = host.user(user)
        cur_hash = shadow_hash(host.read(SHADOW), user)
        ari_path, http_path = spec["ari_path"], spec["http_path"]
        ari_old = host.read(ari_path)
        stored = dict(user_exists=account is not None, shadow_hash=cur_hash, ari_hash=ari_hash_of(ari_old, user))
        home = account["home"] if account else os.path.join("/home", user)
        # useradd -U makes a group of the user's name
        owner = account or dict(name=user, home=home, group=user, pending=True)
        two = spec["totp"]
        factor = None
        try:
            if spec["allowed_networks"]:
                # what is live counts: found here, before the account or any file is touched
                # (and before the second factor's own check, so one message names both)
                what = "allowed networks" + (" and the second factor" if two and two["state"] == "enabled" else "")
                sshd.require_included(host, os.path.join(spec["dropin_dir"], "pbxguard-admin-%s.conf" % user),
                                      "the %s of %s" % (what, user), "allowed_networks, sshd_dropin_dir: ")
            if two is not None:
                factor = totp.plan_factor(host, user, owner, two["state"], two["methods"],
                                          spec["plan"]["totp_secret"], probe, prefix="totp: ")
            return self._plan(host, spec, user, account, owner, cur_hash, ari_old, stored, factor)
        except policy.PolicyError:
            if not probe:
                raise
            # a probe never fails on the plan: the action plugin then runs the module for real
            answer, result = dict(stored=stored, final=False), {}
            if factor is not None:
                answer.update(totp_stored=factor.stored, totp_final=False)
                result["totp"] = factor.result
            elif two is not None:
                # the factor's own plan refused: the real run refuses again, with the words
                answer.update(totp_stored=dict(secret=None), totp_final=False)
            return Plan(dict(result, **{action_plan.PROBE: answer}))

    def _plan(self, host, spec, user, account, owner, cur_hash, ari_old, stored, factor):
        probe = spec["plan"]["probe"]
        networks = spec["allowed_networks"]
        conn = sshd.controller_address()
        if conn and not spec["force"] and not sshd.address_allowed(conn[0], networks):
            raise policy.PolicyError("allowed_networks: would exclude the controller's own address %s "
                                     "(SSH_CONNECTION); add it or set force=true" % conn[0])
        # a probe plans with the stored hashes (read-only): if that changes nothing and the
        # controller's password verifies against them, the probe's result is the task's result
        new_hash = cur_hash if probe else spec["plan"]["password_hash"]
        if account is not None and spec["password_update"] == "on_create":
            new_hash = None
        password_changed = bool(new_hash) and new_hash != cur_hash
        pending = account is None
        home, group = owner["home"], owner["group"]

        dropin = os.path.join(spec["dropin_dir"], "pbxguard-admin-%s.conf" % user)
        dropin_file = sshd.config_file(host, dropin, render_sshd(user, networks))

        def network_problems(h):
            """sshd -T -C from an allowed and an outside address: the drop-in in effect."""
            out = []
            inside = conn[0] if conn and sshd.address_allowed(conn[0], networks) else allowed_address(networks)
            if inside and sshd.user_denied(sshd.effective(h, user, inside), user):
                out.append("sshd -T -C user=%s,addr=%s: denied from an allowed address%s"
                           % (user, inside, " (the controller's)" if conn and inside == conn[0] else ""))
            if not sshd.address_allowed(OUTSIDE, networks) and \
                    not sshd.user_denied(sshd.effective(h, user, OUTSIDE), user):
                out.append("sshd -T -C user=%s,addr=%s: an outside address is not denied (another setting read "
                           "before this module's drop-in %s wins)" % (user, OUTSIDE, dropin))
            return out

        if dropin_file.new is not None and not dropin_file.content_changed and account is not None:
            problems = network_problems(host)
            if problems:
                raise policy.PolicyError("allowed_networks: not in effect: %s; nothing was changed"
                                         % "; ".join(problems))
        keys_path = os.path.join(home, ".ssh", "authorized_keys")
        keys_disk = host.read(keys_path)
        # a new account's keys are the task's alone (not a leftover file's), yet the file
        # restored on failure is what was on disk
        keys_old = keys_disk if account else None
        keys_new, added, removed, final_keys = plan_keys(keys_old, spec["keys"], spec["exclusive"])
        if keys_new is None:
            keys_new = keys_disk
        keys_file = _file(host, keys_path, keys_disk, keys_new, user, group, 0o600, pending=pending)
        profile = os.path.join(PROFILE_DIR, "%s.json" % user)
        profile_old = host.read(profile)
        profile_file = _file(host, profile, profile_old, render_profile(user, spec["emails"]), "root", "root",
                             0o644, make_dirs=0o755)

        api = spec["api_access"]
        ari_path, http_path = spec["ari_path"], spec["http_path"]
        ari_hash = (None if probe else spec["plan"]["ari_password_hash"]) or stored["ari_hash"]
        if api and not ari_hash:
            raise policy.PolicyError("password: required for api_access (the ARI user needs a password)")
        ari_new, ari_action = plan_ari(ari_old, ari_path, user, api, ari_hash, networks)
        if ari_old is None and not ari_new:
            ari_new = None  # no ari.conf and nothing to put in one
        ari_file = _file(host, ari_path, ari_old, ari_new, "asterisk", "asterisk", 0o640)
        http_old = host.read(http_path)
        http_new = plan_http(http_old, http_path, spec.get("api_bind_address")) if api else http_old
        http_file = _file(host, http_path, http_old, http_new, "asterisk", "asterisk", 0o640)

        files = [profile_file, keys_file, dropin_file, http_file, ari_file] + (factor.files if factor else [])
        account_changed = pending or password_changed
        changed = account_changed or any(f.changed for f in files)
        result = dict(user_created=pending, password_changed=password_changed, sshd_reloaded=False,
                      asterisk_reloaded=False, allowed_networks=networks, emails=spec["emails"], api_access=api,
                      ari_user=ari_action if ari_file.content_changed else None, ssh_keys=final_keys,
                      ssh_keys_added=added, ssh_keys_removed=removed,
                      summary=summary(user, spec, final_keys, api))
        if factor is not None:
            result["totp"] = factor.result
            result["summary"] += "; " + factor.result["summary"]
        if probe:  # read-only: nothing to write, the action plugin decides
            answer = dict(stored=stored, final=not changed)
            if factor is not None:
                answer.update(totp_stored=factor.stored, totp_final=factor.final)
            return Plan(dict(result, **{action_plan.PROBE: answer}))
        diffs = []
        if changed:
            old_keys = [k["fingerprint"] for _r, k in parse_authorized_keys(keys_old) if k]
            before = dict(exists=account is not None, allowed_networks=networks_of_dropin(dropin_file.old, user),
                          emails=emails_of_profile(profile_old), ssh_keys=old_keys,
                          ari_user=stored["ari_hash"] is not None, password="(stored hash)" if cur_hash else "(none)")
            after = dict(exists=True, allowed_networks=networks, emails=spec["emails"],
                         ssh_keys=[k["fingerprint"] for k in final_keys], ari_user=api,
                         password="(new hash)" if password_changed else "(stored hash)")
            diffs.append(dict(before_header="admin %s" % user, after_header="admin %s" % user,
                              before=describe(before), after=describe(after)))

        done = dict(created=False, ssh_dir=False, password=False, ssh=False, asterisk=False)
        ssh_dir = os.path.dirname(keys_path)
        home_existed = host.isdir(home)
        ssh_dir_existed = host.isdir(ssh_dir)
        reload_ssh = dropin_file.content_changed or (factor is not None and factor.reload)
        asterisk_reload = ari_file.content_changed or http_file.content_changed

        def prepare(h):
            # the account must exist before files it owns are written
            if pending:
                done["created"] = True
                _run(h, ["useradd", "-m", "-d", home, "-U", "-s", spec["shell"], "-c",
                         ACCOUNT_GECOS, user], "useradd %s" % user)
            if keys_file.changed:
                done["ssh_dir"] = not ssh_dir_existed
                _run(h, ["install", "-d", "-m", "0700", "-o", user, "-g", group, ssh_dir],
                     "creating %s" % ssh_dir)

        def apply(h):
            out = {}
            if password_changed:
                done["password"] = True
                rc, _out, _err = h.run_command(["chpasswd", "-e"], data="%s:%s" % (user, new_hash))
                # chpasswd's own output may echo the input line: never quote it
                if rc != 0 or shadow_hash(h.read(SHADOW), user) != new_hash:
                    raise ChangeError("chpasswd -e for %s failed (rc=%d)" % (user, rc))
            if reload_ssh:
                done["ssh"] = True
                sshd.test_and_reload(h)
                out["sshd_reloaded"] = True
                if factor is not None and factor.reload:
                    out["totp"] = dict(factor.result, sshd_reloaded=True)
            if asterisk_reload:
                done["asterisk"] = True
                if http_file.content_changed:
                    h.cli("module reload http")
                h.cli("module reload res_ari.so")
                out["asterisk_reloaded"] = True
            return out

        def verify(h):
            problems = []
            if dropin_file.new is not None:
                problems += ["after reload: " + p for p in network_problems(h)]
            if factor is not None:
                problems += factor.verify(h)
            if asterisk_reload:
                live = ari_users(h)
                if (user in live) != bool(api):
                    problems.append("Asterisk did not take the ARI user change (ari show users: %s)"
                                    % (", ".join(live) or "none"))
            return problems

        def revert(h):
            # the files are back: each service step undone that was attempted (best effort)
            if done["ssh"]:
                sshd.reload_quietly(h)
            if done["asterisk"]:
                for command in ("module reload http", "module reload res_ari.so"):
                    try:
                        h.cli(command)
                    except AsteriskCliError:
                        pass
            if done["password"] and not pending and cur_hash is not None:
                h.run_command(["chpasswd", "-e"], data="%s:%s" % (user, cur_hash))
            if done["ssh_dir"] and not pending:
                h.run_command(["rmdir", ssh_dir])
            if done["created"]:
                # a home that was there before useradd is not ours to remove
                h.run_command(["userdel", "-r", user] if not home_existed else ["userdel", user])

        secrets = [v for v in (new_hash, cur_hash, ari_hash, stored["ari_hash"]) if v]
        if factor is not None:
            secrets += factor.secrets
        bindings = http_bindings(http_new, http_path, spec.get("api_bind_address")) \
            if http_file.content_changed else None
        return Plan(result, files, changed=account_changed, prepare=prepare, apply=apply, verify=verify,
                    bindings=bindings,
                    revert=revert, secrets=secrets, diffs=diffs,
                    failure="admin %s: the host did not take the change; every file written was restored" % user)
