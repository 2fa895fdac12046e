# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What test_fuzz.py fuzzes, per module: a valid task (base), the files the
module writes, and per option a strategy, where the value goes in the task,
what to ask the consumer after an accepted run, and how the consumer's answer
must match the value asked for. To cover another option: add an Opt."""
import copy
import json
import ipaddress
import re
import secrets

import corpus
import fuzz_strategies as fs
from hypothesis import strategies as st


class FuzzCtx(object):
    def __init__(self, lab):
        self.ip = lab.ip
        self.controller = lab.controller_ip
        self.net = lab.ip.rsplit(".", 1)[0] + ".0/24"
        self.secret = "Fz%s-%s7" % (secrets.token_hex(4).upper(), secrets.token_hex(4))

    def host(self, last):
        return "%s.%d" % (self.ip.rsplit(".", 1)[0], last)


class Opt(object):
    """One option: ``path`` dotted as in corpus.py (``users.0.permit.0``)."""

    def __init__(self, path, strategy, check, readback=None, rule_words=(), names=None, optional=False, also=(),
                 secret=False):
        self.path = path
        # a no_log option: Ansible masks its value wherever it occurs in the message
        self.secret = secret
        # options a refusal may name instead: the value is fine alone but breaks a rule
        # it shares with them (a netmask that leaves range_end outside the subnet)
        self.also = tuple(also)
        # an optional option given as "" is the option left out (the module's documented default)
        self.strategy = strategy.filter(lambda v: v != "") if optional else strategy
        self._check = check
        self._readback = readback
        self.rule_words = tuple(rule_words)
        self.names = names

    def fragments(self):
        return self.names or corpus.option_fragments(self.path)

    def place(self, base, value):
        args = copy.deepcopy(base)
        corpus._set(args, self.path, value)
        return args

    def readback(self, value, args, ctx):
        return self._readback(value, args, ctx) if self._readback else []

    def check(self, value, args, out):
        return self._check(value, args, out)


class Target(object):
    def __init__(self, module, base, files, options, prepare=None):
        self.module = module
        self.base = base
        # a list, or a function of the task's arguments (files named after a user name)
        self.files = files if callable(files) else list(files)
        self.options = options
        self._prepare = prepare

    def files_of(self, args):
        return list(self.files(args)) if callable(self.files) else self.files

    def prepare(self, lab, ctx):
        if self._prepare:
            self._prepare(lab, ctx)


def restore_services(lab):
    """After the saved files are back: the daemons read them again."""
    # a restart: pjsip transports are not reloadable (sip_transport's fuzzing replaced lab-udp)
    lab.sh("systemctl reset-failed asterisk; systemctl restart asterisk; systemctl try-restart kea-dhcp4-server ssh vsftpd tftpd-hpa; true",
           check=False)
    # the kernel's rules: web_access's table as the saved files have it, or none
    lab.sh("nft delete table inet pbxguard 2>/dev/null; [ ! -f /etc/nftables.d/pbxguard.nft ] || "
           "nft -f /etc/nftables.d/pbxguard.nft; true", check=False)
    lab.sh("asterisk -rx 'core waitfullybooted' >/dev/null 2>&1; for i in $(seq 60); do "
           "asterisk -rx 'pjsip show transports' 2>/dev/null | grep -q Transport && break; sleep 0.5; done; true",
           check=False)


# ------------------------------------------------------------ consumer parsing
def colon_value(text, key):
    """The value of ``key: value`` in an Asterisk CLI answer (first match)."""
    for line in (text or "").splitlines():
        k, sep, v = line.partition(":")
        if sep and k.strip().lower() == key.lower():
            return v.strip()
    return None


def acl_networks(text, action="permit"):
    """The networks of an ACL as ``manager show user`` lists it
    ("  2: allow - 198.18.0.0/255.255.255.0")."""
    nets = []
    for line in (text or "").splitlines():
        m = re.match(r"^\s*\d+:\s+(permit|allow|deny)\s+-\s+(\S+)/(\S+)\s*$", line)
        if m and m.group(1).replace("allow", "permit") == action:
            addr = ipaddress.ip_address(m.group(2))
            mask = int(ipaddress.ip_address(m.group(3)))
            prefix = bin(mask).count("1")
            nets.append(ipaddress.ip_network("%s/%d" % (addr, prefix)))
    return nets


def asked_network(value):
    """The network the task asked for, read by Python's ipaddress (an
    independent reading: strict, so host bits set are not a network)."""
    return ipaddress.ip_network(value, strict=True)


def _mismatch(what, want, got):
    return "%s: asked %r, the consumer has %r" % (what, want, got)


# ------------------------------------------------------------------------ ami
AMI_FILES = ["/etc/asterisk/manager.conf"]


def _ami_base(c):
    return dict(enabled=True, bind_address="127.0.0.1", port=5038, purge_users=True,
                users=[{"name": "fzami", "secret": c.secret, "permit": ["127.0.0.1/32"], "read": ["system"],
                        "write": ["originate"]}])


def _ami_show(value, args, c):
    return [["cli", "manager show user %s" % args["users"][0]["name"]]]


def _ami_name(value, args, out):
    got = colon_value(out[0], "username")
    return None if got == value else _mismatch("manager show user: username", value, got)


def _ami_secret(value, args, out):
    said = out[0]
    return None if "Response: Success" in said else "a real AMI login with the secret: %r" % said[:200]


def _ami_permit(value, args, out):
    want = asked_network(value)
    got = acl_networks(out[0])
    return None if got == [want] else _mismatch("manager show user: ACL permit", str(want), [str(n) for n in got])


def _ami_perm(key):
    def check(value, args, out):
        got = colon_value(out[0], key)
        want = value.strip().lower()
        shown = set((got or "").split(","))
        if want == "all":
            return None if len(shown) > 5 else _mismatch("manager show user: " + key, value, got)
        return None if shown == set([want]) else _mismatch("manager show user: " + key, value, got)
    return check


def _ami_bind(value, args, out):
    got = colon_value(out[0], "TCP Bindaddress")
    want = ipaddress.ip_address(value)
    addr = (got or "").rsplit(":", 1)[0].strip("[]")
    try:
        ok = ipaddress.ip_address(addr) == want
    except ValueError:
        ok = False
    return None if ok else _mismatch("manager show settings: TCP Bindaddress", value, got)


AMI = Target("ami", _ami_base, AMI_FILES, [
    Opt("users.0.name", fs.field(fs.name(max_size=85)), _ami_name, _ami_show),
    Opt("users.0.secret", fs.field(fs.secret), _ami_secret,
        lambda v, a, c: [["ami_login", [a["users"][0]["name"], v]]], secret=True),
    Opt("users.0.permit.0", fs.field(fs.network), _ami_permit, _ami_show),
    Opt("users.0.read.0", fs.field(st.sampled_from(["system", "call", "CALL", " agent", "user", "cdr", "all", "bogus"])),
        _ami_perm("read perm"), _ami_show),
    Opt("users.0.write.0", fs.field(st.sampled_from(["originate", "system", "Command", "config", "all", "dtmf"])),
        _ami_perm("write perm"), _ami_show),
    Opt("bind_address", fs.field(st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "::", "127.000.0.1"]), fs.ip_text),
        _ami_bind, lambda v, a, c: [["cli", "manager show settings"]]),
])

# ------------------------------------------------------------------ extension
EXT_FILES = ["/etc/asterisk/pjsip.conf", "/etc/asterisk/iax.conf", "/etc/asterisk/voicemail.conf",
             "/etc/asterisk/pjsip_pbxguard.conf", "/etc/asterisk/iax_pbxguard.conf"]


def _ext_base(c):
    return dict(context="from-internal", voicemail_context="default", purge=True,
                extensions=[{"number": "3901", "name": "Fz Desk", "username": "fz3901", "authname": "fz3901a",
                             "secret": c.secret, "permit": [c.net], "email": "desk@example.org", "pin": "8474",
                             "pin_update": "always", "context": "from-internal"}])


def _ext(args):
    e = args["extensions"][0]
    return e, e.get("username") or e["number"]


def _vm(field):
    def steps(value, args, c):
        e, user = _ext(args)
        return [["cli", "pjsip show endpoint %s" % user], ["cli", "pjsip show auth %s" % user],
                ["cli", "dialplan eval function VM_INFO(%s@%s,%s)" % (e["number"], args["voicemail_context"], field)]]
    return steps


def _endpoint_field(key, want):
    def check(value, args, out):
        got = _param(out[0], key)
        w = want(value, args)
        return None if got == w else _mismatch("pjsip show endpoint: " + key, w, got)
    return check


def _param(text, key):
    """``key : value`` of a ``pjsip show endpoint/auth`` parameter table."""
    for line in (text or "").splitlines():
        k, sep, v = line.partition(" : ")
        if sep and k.strip() == key:
            return v.strip()
    return None


def _vm_result(out):
    for line in (out or "").splitlines():
        if line.startswith("Result:"):
            return line[len("Result:"):].strip()
    return None


def _callerid(name, number):
    """callerid as pjsip show endpoint prints it (ast_callerid_merge: "name" <num>)."""
    return '"%s" <%s>' % (name, number)


def _ext_number(value, args, out):
    e, user = _ext(args)
    got = (_param(out[0], "callerid"), _param(out[0], "mailboxes"), _vm_result(out[2]))
    want = (_callerid(e["name"], value), "%s@default" % value, "1")
    return None if got == want else _mismatch("endpoint callerid, mailboxes, VM_INFO(exists)", want, got)


def _ext_name(value, args, out):
    got = (_param(out[0], "callerid"), _vm_result(out[2]))
    want = (_callerid(value, "3901"), value)
    return None if got == want else _mismatch("endpoint callerid, VM_INFO(fullname)", want, got)


def _ext_username(value, args, out):
    got = _param(out[0], "aors")
    return None if got == value else _mismatch("pjsip show endpoint %s: aors" % value, value, got)


def _ext_auth(value, args, out):
    got = _param(out[1], "username")
    return None if got == value else _mismatch("pjsip show auth: username", value, got)


def _ext_secret(value, args, out):
    got = _param(out[1], "password")
    return None if got == value else "pjsip show auth: password differs from the one asked for"


def _ext_vm(value, args, out):
    got = _vm_result(out[2])
    return None if got == value else _mismatch("VM_INFO", value, got)


def _ext_permit(value, args, out):
    # pjsip prints an endpoint's ACL only as "deny/permit"; the network text itself is
    # policy.parse_network's, read back exactly by manager.c in the ami target
    got = _param(out[0], "acl")
    return None if got and "permit" in got else _mismatch("pjsip show endpoint: acl", value, got)


def _ext_vmctx(value, args, out):
    got = (_param(out[0], "mailboxes"), _vm_result(out[2]))
    want = ("3901@%s" % value, "1")
    return None if got == want else _mismatch("endpoint mailboxes, VM_INFO(exists)", want, got)


class IaxOpt(Opt):
    """An option of the extension's IAX peer: the peer is enabled with auth=rsa."""

    def place(self, base, value):
        args = copy.deepcopy(base)
        args["extensions"][0]["iax"] = dict(enabled=True, auth="rsa", rsa_key=value)
        return args


def _iax_steps(value, args, c):
    # chan_iax2's reading of the peer (the included iax_pbxguard.conf, as config.c reads it)
    e, user = _ext(args)
    return [["cli", "dialplan eval function AST_CONFIG(iax.conf,%s,inkeys)" % user],
            ["cli", "dialplan eval function AST_CONFIG(iax.conf,%s,auth)" % user],
            ["cli", "iax2 show peer %s" % user]]


def _ext_inkeys(value, args, out):
    got = (_vm_result(out[0]), _vm_result(out[1]))
    if got != (value, "rsa"):
        return _mismatch("AST_CONFIG(iax.conf) inkeys, auth", (value, "rsa"), got)
    return None if "* Name" in (out[2] or "") or "Name" in (out[2] or "") else "iax2 show peer: %r" % out[2][:200]


EXTENSION = Target("extension", _ext_base, EXT_FILES, [
    Opt("extensions.0.number", fs.field(st.from_regex(r"\A[0-9]{1,16}\Z", fullmatch=True)), _ext_number, _vm("exists")),
    Opt("extensions.0.name", fs.field(fs.free_text, st.sampled_from([
        'Bob "B" Jones', "O'Neil", "A\\B", "Anna (desk)", "x" * 81, "US$ 5", "${CALLERID(num)}"])),
        _ext_name, _vm("fullname"), optional=True),
    Opt("extensions.0.username", fs.field(fs.name(max_size=85)), _ext_username, _vm("exists"), optional=True),
    Opt("extensions.0.authname", fs.field(fs.name(max_size=85)), _ext_auth, _vm("exists"), optional=True),
    Opt("extensions.0.secret", fs.field(fs.secret), _ext_secret, _vm("exists"), secret=True),
    Opt("extensions.0.email", fs.field(fs.email), _ext_vm, _vm("email"), optional=True),
    Opt("extensions.0.pin", fs.field(st.integers(0, 9999).map(lambda n: "%04d" % n),
                                     st.from_regex(r"\A[0-9]{3,5}\Z", fullmatch=True)), _ext_vm, _vm("password"),
        secret=True),
    Opt("extensions.0.context", fs.field(fs.name(max_size=85)),
        _endpoint_field("context", lambda v, a: v), _vm("exists"), optional=True),
    Opt("extensions.0.permit.0", fs.field(fs.network), _ext_permit, _vm("exists")),
    Opt("voicemail_context", fs.field(fs.name(max_size=85)), _ext_vmctx, _vm("exists")),
    Opt("extensions.0.auth_user", fs.field(fs.name(max_size=85)), _ext_auth, _vm("exists"), optional=True),
    IaxOpt("extensions.0.iax.rsa_key", fs.field(fs.name(max_size=60), st.sampled_from([
        "fzkey", "fz.key", "fz@k+1", ".", "..", "a/b", "nokey"])), _ext_inkeys, _iax_steps),
])

# ----------------------------------------------------------------------- mail
MAIL_FILES = ["/etc/msmtprc", "/etc/asterisk/voicemail.conf", "/etc/asterisk/modules.conf"]


def _mail_base(c):
    return dict(server="smtp.example.org", port=587, tls="starttls", sender_address="pbx@example.org",
                sender_name="PBX Fz", client_hostname="pbx.example.org", username="fzuser", password=c.secret)


def _mail_steps(value, args, c):
    # msmtp's own reading of /etc/msmtprc, and voicemail.conf through Asterisk's config.c (AST_CONFIG)
    return [["sh", "msmtp --pretend -a pbxguard </dev/null"],
            ["cli", "dialplan eval function AST_CONFIG(voicemail.conf,general,fromstring)"],
            ["cli", "dialplan eval function AST_CONFIG(voicemail.conf,general,serveremail)"]]


def _msmtp(out, key):
    for line in (out[0][1] if out and isinstance(out[0], list) else "").splitlines():
        k, sep, v = line.partition(" = ")
        if sep and k == key:
            return v
    return None


def _mail_field(key, vm=None, want=lambda v: v):
    def check(value, args, out):
        got = _msmtp(out, key)
        problems = []
        if got != want(value):
            problems.append(_mismatch("msmtp --pretend: " + key, want(value), got))
        if vm is not None and _vm_result(out[vm]) != value:
            problems.append(_mismatch("AST_CONFIG(voicemail.conf)", value, _vm_result(out[vm])))
        return "; ".join(problems) or None
    return check


def _mail_name(value, args, out):
    got = _vm_result(out[1])
    return None if got == value else _mismatch("AST_CONFIG(voicemail.conf,general,fromstring)", value, got)


def _canon_host(v):
    try:
        return str(ipaddress.ip_address(v))
    except ValueError:
        return v


MAIL_CTX = {}
SMTP_PLAIN_PORT = 2526


def _mail_prepare(lab, c):
    """A real SMTP server (tests/lab/clients/smtp_server.py, aiosmtpd) on the controller side of
    the lab network, for send_test_to: its spool holds every message it accepted."""
    import os
    import subprocess
    import tempfile
    if MAIL_CTX.get("proc"):
        return
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    d = tempfile.mkdtemp(prefix="pbxfuzz-smtp-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/key", "-out",
                    d + "/crt", "-days", "2", "-subj", "/CN=smtp.lab.test"], check=True, capture_output=True)
    with open(d + "/pw", "w") as f:
        f.write(secrets.token_hex(8) + "\n")
    proc = subprocess.Popen([os.path.join(root, ".venv", "bin", "python"),
                             os.path.join(root, "tests", "lab", "clients", "smtp_server.py"), "--bind", c.controller,
                             "--cert", d + "/crt", "--key", d + "/key", "--user", "fz", "--password-file", d + "/pw",
                             "--spool", d + "/spool", "--plain-port", str(SMTP_PLAIN_PORT), "--starttls-port",
                             str(SMTP_PLAIN_PORT + 1), "--tls-port", str(SMTP_PLAIN_PORT + 2)],
                            stdout=subprocess.PIPE, stderr=open(d + "/server.log", "w"), text=True)
    line = proc.stdout.readline()
    assert line.strip() == "ready", "SMTP server did not start: %s" % open(d + "/server.log").read()
    MAIL_CTX.update(proc=proc, spool=d + "/spool", dir=d, server=c.controller)


def stop_helpers():
    """What targets started on the controller (the SMTP server)."""
    import shutil
    proc = MAIL_CTX.pop("proc", None)
    if proc:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(MAIL_CTX["dir"], ignore_errors=True)


class SendOpt(Opt):
    """send_test_to: the account points at the controller's SMTP server (plain port, no
    login), and the test mail must arrive there for exactly the address asked."""

    def place(self, base, value):
        args = Opt.place(self, base, value)
        args.update(server=MAIL_CTX["server"], port=SMTP_PLAIN_PORT, tls="none")
        args.pop("username", None)
        args.pop("password", None)
        return args


def _mail_sent(value, args, out):
    import glob
    import os
    from email import message_from_string
    for path in sorted(glob.glob(os.path.join(MAIL_CTX["spool"], "*.json")), reverse=True):
        with open(path) as f:
            m = json.load(f)
        if m["rcpt_tos"] == [value]:
            to = message_from_string(m["data"])["To"]
            return None if to == value else _mismatch("the test mail's To header", value, to)
    return "the SMTP server got no mail for exactly %r" % value


MAIL = Target("mail", _mail_base, MAIL_FILES, [
    Opt("server", fs.field(fs.hostname, fs.ipv4, fs.ip_text), _mail_field("host", want=_canon_host),
        _mail_steps),
    Opt("client_hostname", fs.field(fs.hostname, fs.ipv4), _mail_field("domain", want=_canon_host),
        _mail_steps),
    Opt("sender_address", fs.field(fs.email), _mail_field("from", vm=2), _mail_steps),
    Opt("sender_name", fs.field(fs.free_text, st.sampled_from(['A "B"', "O'Neil", "US$ 5", "${SHELL(id)}", "a\\b"])),
        _mail_name, _mail_steps),
    Opt("username", fs.field(fs.name(max_size=40), fs.email, fs.free_text), _mail_field("user"), _mail_steps),
    # msmtp --pretend prints a password as '*': set, not its text (the text's quoting is _mail._q's)
    Opt("password", fs.field(fs.secret, fs.free_text), _mail_field("password", want=lambda v: "*"), _mail_steps,
        secret=True),
    Opt("tls_ca_file", fs.field(st.sampled_from([
        "/etc/ssl/certs/ca-certificates.crt", "/nonexistent.pem", "relative.pem",
        "/etc/ssl/certs/../certs/ca-certificates.crt"])),
        _mail_field("tls_trust_file"), _mail_steps),
    SendOpt("send_test_to", fs.field(fs.email, st.sampled_from(["a+b@example.org", "A.B@Example.ORG",
                                                                "x@[198.18.0.1]", "a@b", "\"a b\"@example.org"])),
            _mail_sent, _mail_steps),
], prepare=_mail_prepare)


# ----------------------------------------------------------------------- dhcp
DHCP_FILES = ["/etc/kea/kea-dhcp4.conf"]


def _dhcp_base(c):
    return dict(enabled=True, interface="eth0", gateway=c.controller, subnet_mask="255.255.255.0",
                dns=[c.controller, "9.9.9.9"], range_start=c.host(100), range_end=c.host(199), lease_time=3600,
                tftp_server=c.ip, vendor_format="raw_ip", ntp_server=c.controller,
                reservations=[{"mac": "00:0b:82:aa:bb:cc", "address": c.host(150)}],
                vendor_classes=[{"name": "yealink", "match": "yealink", "vendor_format": "tftp_url"},
                                {"name": "polycom", "mac_prefix": "00:04:f2", "vendor_format": "raw_ip"}])


def _kea_steps(value, args, c):
    return [["kea", "config-get"], ["sh", "kea-dhcp4 -t /etc/kea/kea-dhcp4.conf >/dev/null 2>&1; echo $?"]]


def _kea(out):
    try:
        return out[0]["arguments"]["Dhcp4"]
    except (TypeError, KeyError, IndexError):
        return {}


def _opt(options, name):
    for o in options or []:
        if o.get("name") == name:
            return o.get("data")
    return None


def _subnet(out):
    subs = _kea(out).get("subnet4") or [{}]
    return subs[0]


def _kea_check(what, get, want=lambda v, a: v):
    def check(value, args, out):
        if not (isinstance(out[1], list) and out[1][1].strip() == "0"):
            return "kea-dhcp4 -t refuses the written file: %r" % (out[1],)
        try:
            got = get(out, value, args)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            got = "unreadable (%s)" % e
        try:
            w = want(value, args)
        except ValueError as e:  # Kea took a value Python's ipaddress cannot read at all
            return "Kea took %r, which ipaddress cannot read (%s)" % (value, e)
        return None if got == w else _mismatch("Kea config-get: " + what, w, got)
    return check


def _classes(out):
    return dict((c.get("name"), c) for c in _kea(out).get("client-classes") or [])


DHCP_CTX = {}


def _lab_ip():
    return st.integers(2, 254).map(lambda n: "198.18.%d.%d" % (DHCP_CTX.get("net", 20), n))


DHCP = Target("dhcp", _dhcp_base, DHCP_FILES, [
    Opt("interface", fs.field(st.sampled_from(["eth0", "lo", "eth9", "eth0.100", "*"])),
        _kea_check("interfaces", lambda o, v, a: _kea(o)["interfaces-config"]["interfaces"], lambda v, a: [v]),
        _kea_steps),
    Opt("gateway", fs.field(st.deferred(_lab_ip), fs.ip_text),
        _kea_check("routers", lambda o, v, a: _opt(_subnet(o).get("option-data"), "routers"),
                   lambda v, a: str(ipaddress.ip_address(v))), _kea_steps),
    Opt("subnet_mask", fs.field(st.sampled_from(["255.255.255.0", "255.255.0.0", "255.255.255.128", "255.0.255.0",
                                                 "255.255.255.255", "0.0.0.0", "24"])),
        _kea_check("subnet", lambda o, v, a: _subnet(o)["subnet"],
                   lambda v, a: str(ipaddress.ip_network("%s/%s" % (a["gateway"], v), strict=False))), _kea_steps,
        rule_words=("leaves no room",), also=("range_start", "range_end", "reservations[0].address", "gateway")),
    Opt("dns.0", fs.field(st.deferred(_lab_ip), fs.ipv4, fs.ip_text),
        _kea_check("domain-name-servers", lambda o, v, a: _opt(_subnet(o).get("option-data"), "domain-name-servers"),
                   lambda v, a: ", ".join(str(ipaddress.ip_address(x)) for x in a["dns"])), _kea_steps),
    Opt("range_start", fs.field(st.deferred(_lab_ip), fs.ip_text),
        _kea_check("pool", lambda o, v, a: _subnet(o)["pools"][0]["pool"],
                   lambda v, a: "%s-%s" % (ipaddress.ip_address(v), a["range_end"])), _kea_steps),
    Opt("range_end", fs.field(st.deferred(_lab_ip), fs.ip_text),
        _kea_check("pool", lambda o, v, a: _subnet(o)["pools"][0]["pool"],
                   lambda v, a: "%s-%s" % (a["range_start"], ipaddress.ip_address(v))), _kea_steps),
    Opt("tftp_server", fs.field(fs.ipv4, fs.hostname, fs.ip_text),
        _kea_check("tftp-server-name", lambda o, v, a: _opt(_kea(o).get("option-data"), "tftp-server-name"),
                   lambda v, a: _canon_host(v)), _kea_steps),
    Opt("ntp_server", fs.field(fs.ipv4, fs.ip_text),
        _kea_check("ntp-servers", lambda o, v, a: _opt(_subnet(o).get("option-data"), "ntp-servers"),
                   lambda v, a: str(ipaddress.ip_address(v))), _kea_steps),
    Opt("reservations.0.mac", fs.field(st.binary(min_size=6, max_size=6).map(lambda b: ":".join("%02x" % x for x in b)),
                                       st.binary(min_size=6, max_size=6).map(lambda b: "-".join("%02X" % x for x in b))),
        _kea_check("reservation hw-address", lambda o, v, a: _subnet(o)["reservations"][0]["hw-address"],
                   lambda v, a: v.lower().replace("-", ":")), _kea_steps),
    Opt("reservations.0.address", fs.field(st.deferred(_lab_ip), fs.ip_text),
        _kea_check("reservation ip-address", lambda o, v, a: _subnet(o)["reservations"][0]["ip-address"],
                   lambda v, a: str(ipaddress.ip_address(v))), _kea_steps),
    Opt("vendor_classes.0.name", fs.field(fs.name(max_size=40), st.sampled_from([
        "ALL", "KNOWN", "UNKNOWN", "DROP", "VENDOR_CLASS_x", "HA_server1"])),
        _kea_check("client-classes", lambda o, v, a: sorted(_classes(o)),
                   # '' is the name left out: the documented default pbxguard-vendor-INDEX
                   lambda v, a: sorted([v or "pbxguard-vendor-0", "polycom"])),
        _kea_steps),
    Opt("vendor_classes.0.match", fs.field(fs.name(max_size=30), fs.free_text,
                                           st.sampled_from(["yea'link", "a' or 'b' == 'b", "x\\"])),
        _kea_check("client-class test", lambda o, v, a: _classes(o)["yealink"]["test"],
                   lambda v, a: "substring(option[60].text,0,%d) == '%s'" % (len(v.encode()), v)), _kea_steps),
    Opt("vendor_classes.1.mac_prefix", fs.field(st.binary(min_size=3, max_size=3).map(
        lambda b: ":".join("%02x" % x for x in b))),
        _kea_check("client-class test", lambda o, v, a: _classes(o)["polycom"]["test"],
                   lambda v, a: "substring(pkt4.mac,0,3) == 0x%s" % v.replace(":", "").lower()), _kea_steps),
], prepare=lambda lab, c: DHCP_CTX.update(net=int(c.ip.split(".")[2])))

# ----------------------------------------------------------------- web_access
WA_FILES = ["/etc/nftables.d/pbxguard.nft", "/etc/nftables.conf"]


def _wa_base(c):
    # ssh: its port is always live (web's exist only while Asterisk's HTTP server runs)
    return dict(mode="permitted", permitted=[c.net], services=["ssh"])


def _nft_sets(out):
    """The networks in table inet pbxguard's allowed sets, as the kernel holds them."""
    nets = []
    try:
        data = json.loads(out[0][1])["nftables"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    for obj in data:
        st_ = obj.get("set")
        if not st_ or not st_.get("name", "").startswith("allowed"):
            continue
        for e in st_.get("elem", []):
            if isinstance(e, str):
                nets.append(ipaddress.ip_network(e))
            elif "prefix" in e:
                nets.append(ipaddress.ip_network("%s/%d" % (e["prefix"]["addr"], e["prefix"]["len"])))
            else:
                nets.append(repr(e))
    return nets


def _wa_permitted(value, args, out):
    want = [asked_network(value)]
    got = _nft_sets(out)
    return None if got == want else _mismatch("nft list table inet pbxguard: allowed sets", [str(n) for n in want],
                                              [str(n) for n in got or []])


WEB_ACCESS = Target("web_access", _wa_base, WA_FILES, [
    Opt("permitted.0", fs.field(fs.network), _wa_permitted,
        lambda v, a, c: [["sh", "nft -j list table inet pbxguard"]]),
])

# -------------------------------------------------------------- sip_transport
SIP_FILES = ["/etc/asterisk/pjsip.conf", "/etc/asterisk/iax.conf"]
SIP_CTX = {}


def _sip_bind(value, args, out):
    want = ipaddress.ip_address(value)
    got = []
    for line in (out[0] or "").splitlines():
        m = re.match(r"^\s*Transport:\s+(pbxguard-\S+)\s+\S+\s+\d+\s+\d+\s+(\S+)\s*$", line)
        if m:
            got.append(m.group(2).rsplit(":", 1)[0].strip("[]"))
    ok = len(got) == 2 and all(ipaddress.ip_address(g) == want for g in got)
    return None if ok else _mismatch("pjsip show transports: bind", value, got)


def _sip_addresses():
    # mostly addresses the host has (those can be accepted), then foreign and malformed ones
    return st.sampled_from(["0.0.0.0", "127.0.0.1", SIP_CTX.get("ip", "127.0.0.1"), "::", "203.0.113.9"])


def _sip_prepare(lab, c):
    """The other suites' hand-written lab-udp transport (conftest.TRANSPORT) holds 5060: out of
    the files while sip_transport is fuzzed (the saved files and a restart bring it back)."""
    SIP_CTX.update(ip=c.ip)
    lab.sh("sed -i '/pjsip_lab.conf/d' /etc/asterisk/pjsip.conf; rm -f /etc/asterisk/pjsip_lab.conf")


class TlsOpt(Opt):
    """A file option of the TLS transport: the transport is enabled with the lab's
    certificate and key (web's, made by _tls_prepare) and this one value."""

    def place(self, base, value):
        args = copy.deepcopy(base)
        args["tls"] = dict(enabled=True, cert_file=WEB_CERT, key_file=WEB_KEY, security_level="modern")
        args["tls"][self.path.split(".")[1]] = value
        return args


def _tls_steps(value, args, c):
    return [["cli", "pjsip show transport pbxguard-tls"]]


def _tls_file(key):
    def check(value, args, out):
        got = _param(out[0], key)
        return None if got == value else _mismatch("pjsip show transport pbxguard-tls: " + key, value, got)
    return check


NO_START_LIMIT = "/etc/systemd/system/asterisk.service.d/pbxfuzz-no-start-limit.conf"


def _sip_tls_prepare(lab, c):
    """A TLS transport is not reloadable: every accepted value is an Asterisk restart, and
    systemd refuses a sixth start within 10 s (StartLimitBurst) - the harness's pace, not
    the value's fault: no start limit while fuzzing (test_fuzz.py removes the drop-in)."""
    lab.sh("mkdir -p %s && printf '[Unit]\\nStartLimitIntervalSec=0\\n' > %s && systemctl daemon-reload"
           " && systemctl reset-failed asterisk" % (NO_START_LIMIT.rsplit("/", 1)[0], NO_START_LIMIT))
    _sip_prepare(lab, c)
    _web_prepare(lab, c)
    lab.sh("cp /etc/ssl/certs/ca-certificates.crt /etc/asterisk/keys/fz-ca.pem && chmod 644 /etc/asterisk/keys/fz-ca.pem")


def _sip_tls_paths(real):
    return st.one_of(_paths(real), st.sampled_from(["/etc/asterisk/keys/fz-ca.pem", "/etc/asterisk/keys/fz.crt",
                                                    "/dev/null", "/etc/asterisk/keys/fz;x.pem"]))


SIP_TRANSPORT = Target("sip_transport", lambda c: dict(bind_address="0.0.0.0"), SIP_FILES, [
    Opt("bind_address", fs.field(st.deferred(_sip_addresses), fs.ip_text), _sip_bind,
        lambda v, a, c: [["cli", "pjsip show transports"]]),
    TlsOpt("tls.cert_file", fs.field(st.deferred(lambda: _sip_tls_paths(WEB_CERT))), _tls_file("cert_file"),
           _tls_steps),
    TlsOpt("tls.key_file", fs.field(st.deferred(lambda: _sip_tls_paths(WEB_KEY))), _tls_file("priv_key_file"),
           _tls_steps),
    TlsOpt("tls.ca_file", fs.field(st.deferred(lambda: _sip_tls_paths("/etc/asterisk/keys/fz-ca.pem"))),
           _tls_file("ca_list_file"), _tls_steps),
], prepare=_sip_tls_prepare)


# ------------------------------------------------------------------------ web
WEB_FILES = ["/etc/asterisk/http.conf"]
WEB_CERT, WEB_KEY = "/etc/asterisk/keys/fz.crt", "/etc/asterisk/keys/fz.key"


def _web_prepare(lab, c):
    import subprocess
    import tempfile
    d = tempfile.mkdtemp()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/key", "-out",
                    d + "/crt", "-days", "30", "-subj", "/CN=%s" % c.ip], check=True, capture_output=True)
    lab.sh("mkdir -p /etc/asterisk/keys")
    for src, dst, mode in (("crt", WEB_CERT, "644"), ("key", WEB_KEY, "640")):
        with open(d + "/" + src) as f:
            lab.sh("cat > %s && chown root:asterisk %s && chmod %s %s" % (dst, dst, mode, dst), input=f.read())
    SIP_CTX.update(ip=c.ip)


def _web_base(c):
    return dict(enabled=True, protocol="https", port=8088, bind_address="0.0.0.0", cert_file=WEB_CERT,
                key_file=WEB_KEY, security_level="high", auto_logout=15)


def _web_steps(value, args, c):
    # http show status prints no HTTPS line in 22.10 when only TLS listens: the kernel's listener
    # (ss, owned by asterisk) is the live bind address; the files as config.c reads http.conf
    return [["sh", "sleep 0.3; ss -Hltnp sport = :8088"],
            ["cli", "dialplan eval function AST_CONFIG(http.conf,general,tlscertfile)"],
            ["cli", "dialplan eval function AST_CONFIG(http.conf,general,tlsprivatekey)"]]


def _ss_local(out):
    """The local address of asterisk's listener in ``ss -Hltnp`` output."""
    for line in (out[0][1] if isinstance(out[0], list) else "").splitlines():
        cols = line.split()
        if len(cols) >= 4 and "asterisk" in line:
            # ss prints "*" for a dual-stack socket bound to "::" (IPV6_V6ONLY off);
            # an IPv4-only wildcard is "0.0.0.0", an IPv6-only one "[::]"
            local = cols[3].rsplit(":", 1)[0].strip("[]")
            return "::" if local == "*" else local
    return None


def _web_bind(value, args, out):
    got = _ss_local(out)
    try:
        ok = got is not None and ipaddress.ip_address(got) == ipaddress.ip_address(value)
    except ValueError:
        ok = False
    return None if ok else _mismatch("ss -ltnp: asterisk's listener on 8088", value, got)


def _web_file(index):
    def check(value, args, out):
        got = _vm_result(out[index])
        if _ss_local(out) is None:
            return "ss: asterisk does not listen on 8088"
        return None if got == value else _mismatch("AST_CONFIG(http.conf)", value, got)
    return check


def _paths(real):
    return st.sampled_from([real, real + ".missing", "relative.pem", real.replace("/keys/", "/keys/../keys/"),
                            "/etc/asterisk/keys/", "/etc/shadow"])


WEB = Target("web", _web_base, WEB_FILES, [
    Opt("bind_address", fs.field(st.deferred(_sip_addresses), fs.ip_text), _web_bind, _web_steps),
    Opt("cert_file", fs.field(_paths(WEB_CERT)), _web_file(1), _web_steps),
    Opt("key_file", fs.field(_paths(WEB_KEY)), _web_file(2), _web_steps),
], prepare=_web_prepare)

# ---------------------------------------------------------------------- admin
# What the action plugin hands the module after its probe (plugins/action/admin.py): one
# typed _plan with the SHA-512 crypt hash, made once here on the controller (libpass), as
# the plugin would. The password's own policy is the plugin's (tests/unit/plugins/action).
ADMIN_CTX = {}
ADMIN_USER = "fzadm"
# an address no sensible admin network holds: sshd -T must deny the user from there
OUTSIDES = ("192.0.2.1", "2001:db8::1", "198.51.100.1")


def shq(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _admin_prepare(lab, c):
    import subprocess
    import tempfile
    from passlib.hash import sha512_crypt
    if "hash" not in ADMIN_CTX:
        ADMIN_CTX["hash"] = sha512_crypt.using(rounds=5000).hash("Fz-" + secrets.token_hex(8) + "A7%")
        d = tempfile.mkdtemp()
        keys = []
        for kind, bits in (("ed25519", None), ("ecdsa", "256"), ("ecdsa", "384"), ("ecdsa", "521"), ("rsa", "2048")):
            path = "%s/%s%s" % (d, kind, bits or "")
            subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "fz", "-f", path]
                           + (["-b", bits] if bits else []), check=True, capture_output=True)
            with open(path + ".pub") as f:
                keys.append(" ".join(f.read().split()[:2]))
        ADMIN_CTX["keys"] = keys
    ADMIN_CTX.update(ip=c.ip, net=c.net)
    # Asterisk's HTTP server as a fresh host has it, enabled: ARI (api_access) needs it. The
    # web target's https listener (same port) would clash with the plain one api_bind_address
    # sets - a true refusal of the port plan, but of the web target's leftovers, not the value
    lab.sh("printf '[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = 8088\n' > /etc/asterisk/http.conf"
           " && printf '[general]\nenabled = yes\n' > /etc/asterisk/ari.conf"
           " && chown asterisk:asterisk /etc/asterisk/http.conf /etc/asterisk/ari.conf"
           " && chmod 640 /etc/asterisk/http.conf /etc/asterisk/ari.conf"
           " && rm -f /etc/systemd/system/pbxguard-web-redirect.service"
           " && asterisk -rx 'module reload http' >/dev/null && asterisk -rx 'module reload res_ari.so' >/dev/null")


def _admin_base(c):
    return dict(username=ADMIN_USER, allowed_networks=[c.net], emails=["fz@example.org"], api_access=True,
                ssh_keys={"present": [ADMIN_CTX["keys"][0]]}, shell="/bin/bash",
                _plan=dict(shape="pbxguard.asterisk.admin/v1", password_hash=ADMIN_CTX["hash"],
                           ari_password_hash=ADMIN_CTX["hash"]))


def _admin_files(args):
    user = args.get("username") if isinstance(args.get("username"), str) else ADMIN_USER
    user = user if user and "/" not in user and "\x00" not in user else ADMIN_USER
    return ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/asterisk/ari.conf", "/etc/asterisk/http.conf",
            "/etc/ssh/sshd_config.d/pbxguard-admin-%s.conf" % user, "/home/%s/.ssh/authorized_keys" % user,
            "/etc/pbxguard/admin/%s.json" % user]


def _inside(net):
    try:
        n = ipaddress.ip_network(net, strict=False)
    except ValueError:  # a value the module refuses: the steps are not run
        return "198.18.0.1"
    return str(n[1] if n.num_addresses > 2 else n.network_address)


def _outside(nets):
    for a in OUTSIDES:
        try:
            if not any(ipaddress.ip_address(a) in ipaddress.ip_network(n, strict=False) for n in nets):
                return a
        except ValueError:
            return a
    return OUTSIDES[0]


def _sshd_t(user, addr):
    return ["sh", "sshd -T -C %s" % shq("user=%s,host=client.invalid,addr=%s,laddr=%s,lport=22" % (
        user, addr, ADMIN_CTX["ip"]))]


def _denied(out, user):
    """sshd -T's answer: does it deny ``user`` (a DenyUsers line naming it)?"""
    if not isinstance(out, list) or out[0] != 0:
        return "sshd -T failed: %r" % (out,)
    for line in out[1].splitlines():
        k, _sep, v = line.partition(" ")
        if k.lower() == "denyusers" and user in v.split():
            return True
    return False


def _admin_steps(value, args, c):
    """The account (getent), sshd's effective view from inside and outside the allowed
    networks, ARI's user as config.c reads ari.conf, the keys, the profile, http's listener."""
    user = args["username"]
    nets = args["allowed_networks"]
    home = "/home/%s" % user
    return [["sh", "getent passwd %s" % shq(user)],
            _sshd_t(user, _inside(nets[0])),
            _sshd_t(user, _outside(nets)),
            ["cli", "dialplan eval function AST_CONFIG(ari.conf,%s,type)" % user],
            ["cli", "dialplan eval function AST_CONFIG(ari.conf,%s,permit)" % user],
            ["sh", "cat %s/.ssh/authorized_keys; echo =; ssh-keygen -l -E sha256 -f %s/.ssh/authorized_keys"
             % (shq(home), shq(home))],
            ["sh", "cat /etc/pbxguard/admin/%s.json" % shq(user)],
            ["sh", "sleep 0.3; ss -Hltnp sport = :8088"],
            ["expand", args.get("shell") or "/bin/bash"],
            ["expand", args.get("sshd_dropin_dir") or "/etc/ssh/sshd_config.d"]]


def _account(user, out, shell=None):
    """getent's passwd entry of ``user`` as this module makes it, or a problem."""
    ent = out[0][1].strip().split(":") if isinstance(out[0], list) and out[0][0] == 0 else None
    if not ent or ent[0] != user or not ent[4].startswith("PBX administrator"):
        return _mismatch("getent passwd", user, out[0])
    if shell is not None and ent[6] != shell:
        return _mismatch("getent passwd %s: shell" % user, shell, ent[6])
    return None


def _admin_live(user, out):
    """The account exists, sshd lets it in from inside and denies it from outside, ARI has it."""
    problems = [p for p in [_account(user, out)] if p]
    if _denied(out[1], user) is not False:
        problems.append("sshd -T from inside the allowed network: %r" % (_denied(out[1], user),))
    if _denied(out[2], user) is not True:
        problems.append("sshd -T from outside the allowed network does not deny %s: %r" % (user, out[2]))
    if _vm_result(out[3]) != "user":
        problems.append(_mismatch("AST_CONFIG(ari.conf,%s,type)" % user, "user", _vm_result(out[3])))
    return "; ".join(problems) or None


def _admin_username(value, args, out):
    return _admin_live(value, out)


def _admin_network(value, args, out):
    problem = _admin_live(args["username"], out)
    if problem:
        return problem
    try:
        want = asked_network(value)
    except ValueError as e:
        return "accepted %r, which is not a network to ipaddress (strict): %s" % (value, e)
    got = _vm_result(out[4])
    try:
        ok = ipaddress.ip_network(got, strict=True) == want
    except ValueError:
        ok = False
    return None if ok else _mismatch("AST_CONFIG(ari.conf,%s,permit)" % args["username"], str(want), got)


def _admin_emails(value, args, out):
    try:
        got = json.loads(out[6][1]).get("emails")
    except (ValueError, TypeError, IndexError):
        return "profile unreadable: %r" % (out[6],)
    # documented: one string may hold several addresses separated by ';'
    want = []
    for part in value.split(";"):
        if part.strip() and part.strip() not in want:
            want.append(part.strip())
    return None if got == want else _mismatch("/etc/pbxguard/admin/%s.json emails" % args["username"], want, got)


def _key_fingerprint(line):
    import base64
    import hashlib
    blob = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _admin_key(value, args, out):
    """The line is in authorized_keys as given, and ssh-keygen (OpenSSH's own reader of that
    file) lists its fingerprint."""
    text = out[5][1] if isinstance(out[5], list) else ""
    keys, _sep, listing = text.partition("\n=\n")
    lines = keys.split("\n")
    # as given - or the same key was authorized already (another spelling: kept, not added twice)
    if value not in lines and not any(ln.split()[1:2] == value.split()[1:2] for ln in lines if ln.strip()):
        return "authorized_keys has no line %r: %r" % (value, keys[-400:])
    try:
        fp = _key_fingerprint(value)
    except (ValueError, IndexError) as e:
        return "accepted %r, whose key data does not decode: %s" % (value, e)
    return None if fp in listing else _mismatch("ssh-keygen -l of authorized_keys", fp, listing[-400:])


def _admin_bind(value, args, out):
    got = _ss_local([out[7]])
    try:
        ok = got is not None and ipaddress.ip_address(got) == ipaddress.ip_address(value)
    except ValueError:
        ok = False
    return None if ok else _mismatch("ss -ltnp: asterisk's listener on 8088", value, got)


def _admin_shell(value, args, out):
    return _account(args["username"], out, shell=out[8])


def _admin_dropin(value, args, out):
    problem = _admin_live(args["username"], out)
    if problem:
        return problem
    import posixpath
    if posixpath.normpath(out[9]) != "/etc/ssh/sshd_config.d":
        return "accepted sshd_dropin_dir %r (%s), which sshd_config does not include" % (value, out[9])
    return None


class ShellOpt(Opt):
    """shell applies to a new account only: each value gets an account of its own
    (a name derived from the value, so a repeated value is the same task)."""

    def place(self, base, value):
        import hashlib
        args = Opt.place(self, base, value)
        args["username"] = "fzsh" + hashlib.sha1(json.dumps(value).encode("utf-8", "surrogatepass")).hexdigest()[:8]
        return args


def _admin_keys():
    return st.sampled_from(ADMIN_CTX["keys"])


_key_line = st.one_of(st.deferred(_admin_keys), st.tuples(st.deferred(_admin_keys), fs.free_text).map(" ".join),
                      st.tuples(st.deferred(_admin_keys), st.sampled_from(["\t", "  ", " \t"]),
                                fs.name()).map("".join))
_key_hostile = st.one_of(
    st.deferred(_admin_keys).map(lambda k: 'command="id" ' + k), st.deferred(_admin_keys).map(lambda k: " " + k),
    st.deferred(_admin_keys).map(lambda k: k.replace(" ", "\t", 1)), st.deferred(_admin_keys).map(lambda k: k + " "),
    st.deferred(_admin_keys).map(lambda k: k[:-4]), st.deferred(_admin_keys).map(lambda k: k + "\rssh-rsa AAAA"),
    st.deferred(_admin_keys).map(lambda k: "rsa-sha2-512" + k[k.index(" "):]),
    st.deferred(_admin_keys).map(lambda k: k.split()[0] + " " + k.split()[1] + "="))

ADMIN = Target("admin", _admin_base, _admin_files, [
    Opt("username", fs.field(fs.name(fs.ASCII + "_.-", max_size=34), st.sampled_from([
        "daemon", "nobody", "users", "staff", "root", "general", "fz.adm", "_fz", "Fz-Adm", "fz@host", "a" * 33,
        ".", "..", "fz..x", "-fz", "fz/x"])), _admin_username, _admin_steps,
        # an existing account is refused by the option that would allow taking it over
        also=("adopt_existing",)),
    Opt("allowed_networks.0", fs.field(fs.network), _admin_network, _admin_steps),
    Opt("emails.0", fs.field(fs.email, st.lists(fs.email, min_size=2, max_size=3).map(";".join),
                             st.lists(fs.email, min_size=2, max_size=3).map(" ; ".join)), _admin_emails,
        _admin_steps, names=["emails[0]"]),
    Opt("api_bind_address", fs.field(st.deferred(_sip_addresses), fs.ip_text), _admin_bind, _admin_steps,
        optional=True),
    ShellOpt("shell", fs.field(st.sampled_from(["/bin/bash", "/bin/sh", "/usr/sbin/nologin", "/bin/false",
                                                "/bin/../bin/sh", "/bin/bash/", "bash", "/bin/ba sh"])),
             _admin_shell, _admin_steps),
    Opt("ssh_keys.present.0", fs.field(_key_line, _key_hostile), _admin_key, _admin_steps),
    Opt("sshd_dropin_dir", fs.field(st.sampled_from([
        "/etc/ssh/sshd_config.d", "/etc/ssh/sshd_config.d/", "/etc/ssh/../ssh/sshd_config.d",
        "/etc/ssh/sshd_config.d/.", "/tmp", "/", "relative", "/nonexistent"])), _admin_dropin, _admin_steps,
        rule_words=("not included", "does not read", "would not read")),
], prepare=_admin_prepare)

# ----------------------------------------------------------------------- totp
# The host side of the second factor: the user's ~/.google_authenticator, PAM and the user's
# sshd drop-in; the secret comes in the _plan the action plugin makes (base32, made here once).
TOTP_USERS = ["fztotp", "fz.t-2", "_fzt3", "Fz_T4"]
TOTP_CTX = {}


def _totp_prepare(lab, c):
    import base64
    import os as _os
    TOTP_CTX.update(ip=c.ip, secret=base64.b32encode(_os.urandom(20)).decode())
    ADMIN_CTX.setdefault("ip", c.ip)
    for u in TOTP_USERS:
        lab.sh("getent passwd %s >/dev/null || useradd -m -U -s /bin/bash %s" % (shq(u), shq(u)))


def _totp_base(c):
    return dict(user=TOTP_USERS[0], state="enabled", methods="publickey_or_password",
                _plan=dict(shape="pbxguard.asterisk.totp/v1", secret=TOTP_CTX["secret"]))


def _totp_files(args):
    user = args.get("user") if isinstance(args.get("user"), str) else TOTP_USERS[0]
    user = user if user and "/" not in user and "\x00" not in user else TOTP_USERS[0]
    return ["/etc/pam.d/sshd", "/etc/ssh/sshd_config.d/pbxguard-totp-%s.conf" % user,
            "/home/%s/.google_authenticator" % user]


def _totp_steps(value, args, c):
    user = args["user"]
    return [["sh", "cat \"$(getent passwd %s | cut -d: -f6)/.google_authenticator\"" % shq(user)],
            _sshd_t(user, "192.0.2.1"),
            ["sh", "grep -c '^auth required pam_google_authenticator.so nullok$' /etc/pam.d/sshd"]]


TOTP_METHODS = {"publickey_or_password": "publickey,keyboard-interactive keyboard-interactive",
                "password": "keyboard-interactive"}


def _totp_check(value, args, out):
    problems = []
    ga = out[0][1].split("\n") if isinstance(out[0], list) and out[0][0] == 0 else None
    if not ga or ga[0] != args["_plan"]["secret"]:
        problems.append("~%s/.google_authenticator: the first line is not the secret asked for (%r)"
                        % (args["user"], ga[1:] if ga else out[0]))
    conf = {}
    if isinstance(out[1], list) and out[1][0] == 0:
        for line in out[1][1].splitlines():
            k, _sep, v = line.partition(" ")
            conf.setdefault(k.lower(), v)
    want = TOTP_METHODS.get(args["methods"])
    if conf.get("authenticationmethods") != want:
        problems.append(_mismatch("sshd -T -C user=%s: authenticationmethods" % args["user"], want,
                                  conf.get("authenticationmethods")))
    if conf.get("kbdinteractiveauthentication") != "yes" or conf.get("usepam") != "yes":
        problems.append("sshd -T: kbdinteractiveauthentication %r, usepam %r" % (
            conf.get("kbdinteractiveauthentication"), conf.get("usepam")))
    if not (isinstance(out[2], list) and out[2][1].strip() == "1"):
        problems.append("/etc/pam.d/sshd: the google-authenticator rule is there %r times" % (out[2],))
    return "; ".join(problems) or None


_base32 = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=64)

TOTP = Target("totp", _totp_base, _totp_files, [
    Opt("user", fs.field(st.sampled_from(TOTP_USERS), st.sampled_from(TOTP_USERS), fs.name(max_size=34),
                         st.sampled_from(["root", "nobody", "daemon", "fz@x", "nosuchuser"])),
        _totp_check, _totp_steps, rule_words=("no account",)),
    Opt("methods", fs.field(st.sampled_from(["publickey_or_password", "password", "Password", "publickey",
                                             "password "])), _totp_check, _totp_steps),
    Opt("_plan.secret", fs.field(_base32, _base32.map(str.lower), _base32.map(lambda s: s + "===="),
                                 st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", max_size=15)),
        _totp_check, _totp_steps, secret=True),
], prepare=_totp_prepare)

# --------------------------------------------------------------- host_service
HS_FILES = ["/etc/systemd/system/tftpd-hpa.service.d/10-pbxguard.conf",
            "/etc/systemd/system/tftpd-hpa.socket.d/10-pbxguard.conf", "/etc/vsftpd.conf"]


def _hs_steps(value, args, c):
    # systemd's own reading of the drop-ins it loaded
    return [["sh", "systemctl show tftpd-hpa.socket -p Listen --value; systemctl show tftpd-hpa.service "
                   "-p Environment --value"]]


def _hs_address(value, args, out):
    listen = out[0][1].splitlines()[0] if out[0][1] else ""
    addr = listen.rsplit(":", 1)[0].strip("[]")
    try:
        ok = ipaddress.ip_address(addr) == ipaddress.ip_address(value) and listen.endswith(":69 (Datagram)")
    except ValueError:
        ok = False
    return None if ok else _mismatch("systemctl show tftpd-hpa.socket: Listen", value, listen)


def _hs_root(value, args, out):
    import shlex
    lines = out[0][1].splitlines()
    env = dict(x.split("=", 1) for x in shlex.split(lines[1] if len(lines) > 1 else "") if "=" in x)
    got = env.get("TFTPD_HOME")
    return None if got == value else _mismatch("systemctl show tftpd-hpa.service: TFTPD_HOME", value, got)


def _hs_prepare(lab, c):
    lab.sh("mkdir -p /srv/tftp '/srv/tftp two' /srv/tftp%x")
    SIP_CTX.update(ip=c.ip)


HOST_SERVICE = Target("host_service", lambda c: dict(
    service="tftp", state="enabled", address=c.ip, root_dir="/srv/tftp"), HS_FILES, [
    Opt("address", fs.field(st.deferred(_sip_addresses), fs.ip_text), _hs_address, _hs_steps),
    Opt("root_dir", fs.field(st.sampled_from(["/srv/tftp", "/srv/tftp two", "/srv/tftp%x", "/srv/tftp/",
                                              "/srv/../srv/tftp", "/nonexistent", "relative", "/"])),
        _hs_root, _hs_steps),
], prepare=_hs_prepare)

# ------------------------------------------------------------------- snapshot
SNAP_DIR = "/var/backups/pbxguard-fuzz"


def _snap_steps(value, args, c):
    # the store as the filesystem has it, and the manifest that state=restored reads
    return [["sh", "ls -1 %s" % SNAP_DIR], ["sh", "cat '%s/%s/manifest.json'" % (SNAP_DIR, args["name"].replace("'", ""))]]


def _snap_name(value, args, out):
    names = out[0][1].splitlines()
    return None if value in names and out[1][0] == 0 else _mismatch("ls %s" % SNAP_DIR, value, names)


def _snap_manifest(key):
    def check(value, args, out):
        try:
            m = json.loads(out[1][1])
        except ValueError:
            return "manifest.json unreadable: %r" % out[1][1][:200]
        got = m.get(key)
        if key == "units":
            got = sorted(u for u in (got or {}))
        return None if got == [value] else _mismatch("manifest.json " + key, [value], got)
    return check


SNAPSHOT = Target("snapshot", lambda c: dict(
    name="fz", state="saved", directory=SNAP_DIR, paths=["/etc/asterisk/manager.conf"], globs=["/etc/kea/*.conf"],
    units=["vsftpd.service"]), [], [
    Opt("name", fs.field(fs.name(max_size=90), st.sampled_from([".", "..", "a/b", "fz..x", "-x"])), _snap_name,
        _snap_steps),
    Opt("globs.0", fs.field(st.sampled_from(["/etc/kea/*.conf", "/etc/asterisk/m*.conf", "/etc/**/x", "relative/*",
                                             "/etc/asterisk/[mp]*.conf"])), _snap_manifest("globs"), _snap_steps),
    Opt("units.0", fs.field(st.sampled_from(["vsftpd.service", "tftpd-hpa.socket", "kea-dhcp4-server.service",
                                             "ssh.service", "nonexistent.service", "../x.service"])),
        _snap_manifest("units"), _snap_steps),
])

TARGETS = {"ami": AMI, "extension": EXTENSION, "mail": MAIL, "dhcp": DHCP, "web_access": WEB_ACCESS,
           "sip_transport": SIP_TRANSPORT, "web": WEB, "admin": ADMIN, "totp": TOTP, "host_service": HOST_SERVICE,
           "snapshot": SNAPSHOT}
ORDER = ["ami", "extension", "mail", "dhcp", "web_access", "sip_transport", "web", "admin", "totp", "host_service",
         "snapshot"]
ORDER = [m for m in ORDER if m in TARGETS]
