# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hypothesis strategies for the values a task hands the modules: each option
gets values of its own domain (names, secrets, IPs, networks, host names,
e-mail addresses, free text), the same values with hostile characters
spliced in (config syntax, control characters, line separators that are not
LF, look-alike Unicode, bytes that are not UTF-8), and raw hostile text.

A domain value should mostly be accepted and read back by the consumer; a
spliced or raw one should mostly be refused. Both are judged the same way
(test_fuzz.py): refused with option and rule named and files untouched, or
read back exactly."""
import ipaddress
import string

from hypothesis import strategies as st

# what config syntaxes and shells give a meaning to, what splits lines somewhere
# (FF, VT, NEL, U+2028/9), what looks like ASCII but is not (dotless I, Kelvin
# sign), what is invisible (ZWSP, BOM, NBSP), and one byte that is not UTF-8
# (a surrogate escape, as Ansible hands it to a module)
HOSTILE = list(";[]=#\\$\"'{}()<>|&`~^?*!%,:/@.+-_ \t\n\r\x0b\x0c\x1c\x1f\x7f") + [
    "\x85", "\xa0", "\u2028", "\u2029", "\u200b", "\ufeff", "\u0130", "\u0131", "\u212a", "\xe9",
    "\udcff", "${", "$[", "#include", "#exec", ";--", "--;", "\\;", "=>", "(!)", "\\n", "'\\''"]
ASCII = string.ascii_letters + string.digits

hostile_piece = st.sampled_from(HOSTILE)


def _splice(args):
    value, pos, pieces = args
    value = str(value)
    pos = pos % (len(value) + 1)
    return value[:pos] + "".join(pieces) + value[pos:]


def spliced(valid):
    """A domain value with 1-3 hostile pieces inserted at one place."""
    return st.tuples(valid, st.integers(0, 200), st.lists(hostile_piece, min_size=1, max_size=3)).map(_splice)


hostile_text = st.lists(st.one_of(hostile_piece, st.sampled_from(list(ASCII)), st.characters(blacklist_categories=["Cs"])),
                        max_size=24).map("".join)


def field(valid, *extra):
    """What one option gets: its domain (twice the weight), spliced, raw hostile."""
    return st.one_of(valid, valid, spliced(valid), hostile_text, *extra)


# ------------------------------------------------------------------ domains
def name(alphabet=ASCII + "_.@+-", min_size=1, max_size=90):
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


SECRET_ALPHABET = ASCII + "!%*_-"
# strong by construction (one of each class first), then any allowed characters
strong_secret = st.builds(lambda a, b: "Qz7%" + a + b, st.text(SECRET_ALPHABET, min_size=4, max_size=30),
                          st.text(SECRET_ALPHABET, max_size=8))
secret = st.one_of(strong_secret, strong_secret, st.text(SECRET_ALPHABET + "$#;\"' ", min_size=0, max_size=20))

ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
ip_text = st.one_of(ipv4, ipv4, ipv6,
                    # forms some parsers accept and others do not
                    ipv4.map(lambda a: ".".join("0" + o if o != "0" else o for o in a.split("."))),
                    ipv6.map(lambda a: a + "%eth0"), ipv4.map(lambda a: "::ffff:" + a),
                    ipv6.map(str.upper), ipv4.map(lambda a: a + "."), st.just("0x7f.1"), st.just("127.1"))


def _net(args):
    addr, prefix, form, strict = args
    a = ipaddress.ip_address(addr)
    prefix = prefix % (a.max_prefixlen + 1)
    net = ipaddress.ip_network("%s/%d" % (a, prefix), strict=False)
    base = str(net.network_address if strict else a)
    if form == "plain":
        return base if prefix == a.max_prefixlen else "%s/%d" % (base, prefix)
    if form == "mask" and a.version == 4:
        return "%s/%s" % (base, net.netmask)
    return "%s/%d" % (base, prefix)


network = st.one_of(
    st.tuples(st.one_of(ipv4, ipv6), st.integers(0, 200), st.sampled_from(["plain", "prefix", "mask"]),
              st.booleans()).map(_net),
    ip_text, st.sampled_from(["0.0.0.0/0", "::/0", "198.18.0.0/255.0.255.0", "10.0.0.0/33", "any", ""]))

_label = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z", fullmatch=True)
hostname = st.lists(_label, min_size=1, max_size=4).map(lambda ls: ".".join(ls + ["example"]))
email = st.builds(lambda l, d: "%s@%s.org" % (l, d), name(ASCII + "._%+-", 1, 20), _label)
# printable free text (a person's name, an issuer): Unicode letters included
free_text = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=40)
