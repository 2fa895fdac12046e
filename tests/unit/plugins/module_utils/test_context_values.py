# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values in the context where they land: the one expression check and the
one path-component check of _policy, and every option that uses them; Kea's
reserved class names; the admin module's refusal to take over accounts."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _admin as admin
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _dhcp
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _extension as extension
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _mail as mail
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError


def refused(fn, *args, **kw):
    with pytest.raises(PolicyError) as e:
        fn(*args, **kw)
    return str(e.value)


# ------------------------------------------------------------ no_expression
@pytest.mark.parametrize("value", ["PBX", "US$ 5", "$", "cost $5", "a$b", "{x}", "$ {x}", "$(x)", "$$"])
def test_no_expression_accepts_literal_dollars(value):
    assert policy.no_expression(value, "opt") == value


@pytest.mark.parametrize("value, opener", [
    ("${SHELL(id)}", "${"), ("PBX ${CALLERID(num)}", "${"), ("$[1+1]", "$["), ("a$[b", "$["),
    ("x${", "${"), ("$${x}", "${"),
])
def test_no_expression_refuses_substitution_openers(value, opener):
    msg = refused(policy.no_expression, value, "mail.from_name")
    assert msg == ("mail.from_name: contains '%s'; Asterisk would evaluate it as an expression "
                   "(a lone '$' is fine)" % opener)


def test_no_expression_needs_a_string():
    assert refused(policy.no_expression, 5, "o") == "o: must be a string"


# ----------------------------------------------------------- path_component
@pytest.mark.parametrize("value", ["rollout-1", "a.b", "...", ".hidden", "a..b", "x@y"])
def test_path_component_accepts_names(value):
    assert policy.path_component(value, "name") == value


@pytest.mark.parametrize("value, fragment", [
    ("", "must not be empty"), (".", "'.' is not a name"), ("..", "'..' is not a name"),
    ("a/b", "contains '/'"), ("/etc", "contains '/'"), ("../x", "contains '/'"),
    ("a\x00b", "contains NUL"),
])
def test_path_component_refuses(value, fragment):
    msg = refused(policy.path_component, value, "name")
    assert msg.startswith("name: ") and fragment in msg, msg


# ---------------------------------------------------------------- mail
def mail_params(**kw):
    p = dict(server="smtp.example.org", port=None, tls="starttls", tls_ca_file=None,
             client_hostname="pbx1.example.org", sender_address="pbx@example.org",
             sender_name="PBX", username="u", password="Pw-1234567", send_test_to=None)
    p.update(kw)
    return p


def test_mail_sender_name_with_expression_refused():
    msg = refused(mail.validate, mail_params(sender_name="Voicemail ${SHELL(id)}"))
    assert "sender_name: contains '${'; Asterisk would evaluate it as an expression" in msg


def test_mail_sender_name_with_lone_dollar_written_as_it_is():
    want = mail.validate(mail_params(sender_name="PBX $5 line"))
    text = mail.plan_voicemail(b"[general]\n", want).decode()
    assert "fromstring=PBX $5 line" in text.replace(" = ", "=")


# ----------------------------------------------------------- extension
def ext_params(**e):
    x = dict(number="100", secret="Abc-12345xyz", state="present")
    x.update(e)
    return dict(context="from-internal", voicemail_context="default", extensions=[x])


def test_extension_name_with_expression_refused():
    msg = refused(extension.validate, ext_params(name="Bob ${EVAL(x)}"))
    assert msg == ("extensions[0] (100).name: contains '${'; Asterisk would evaluate it as an "
                   "expression (a lone '$' is fine)")


def test_extension_name_with_lone_dollar_accepted():
    assert extension.validate(ext_params(name="Bob $ Sales"))[1][0]["name"] == "Bob $ Sales"


@pytest.mark.parametrize("key", ["..", "."])
def test_extension_rsa_key_stays_in_the_keys_directory(key):
    msg = refused(extension.validate, ext_params(iax={"enabled": True, "auth": "rsa", "rsa_key": key}))
    assert msg.startswith("extensions[0] (100).iax.rsa_key: '%s' is not a name" % key), msg


@pytest.mark.parametrize("ctx", ["..", "."])
def test_voicemail_context_is_a_spool_directory(ctx):
    p = ext_params()
    p["voicemail_context"] = ctx
    assert refused(extension.validate, p).startswith("voicemail_context: '%s' is not a name" % ctx)


# ------------------------------------------------------------ admin names
@pytest.mark.parametrize("name", [".", ".."])
def test_admin_username_is_a_path_component(name):
    assert "username:" in refused(admin.check_username, name)


# ------------------------------------------------------------------ Kea
@pytest.mark.parametrize("name", ["ALL", "KNOWN", "UNKNOWN", "BOOTP", "DROP", "SKIP_DDNS",
                                  "VENDOR_CLASS_yealink", "HA_server1", "AFTER_x", "EXTERNAL_x",
                                  "SPAWN_x", "VENDOR_CLASS_"])
def test_kea_reserved_class_names_refused(name):
    msg = refused(_dhcp.check_class_name, name, "vendor_classes[0].name")
    assert msg.startswith("vendor_classes[0].name: '%s' " % name) and "Kea reserves" in msg


@pytest.mark.parametrize("name", ["drop", "Known", "all", "vendor_class_x", "ha_1", "yealink", "DROPPED",
                                  "pbxguard-vendor-0"])
def test_kea_compares_case_sensitively_so_these_are_ordinary(name):
    assert _dhcp.check_class_name(name, "n") == name


def dhcp_params(**kw):
    p = dict(enabled=True, interface="eth0", gateway="198.18.0.1", subnet_mask="255.255.255.0",
             dns=["198.18.0.1"], range_start="198.18.0.100", range_end="198.18.0.199",
             lease_time=3600, tftp_server="198.18.0.11", vendor_format="raw_ip", ntp_server=None,
             reservations=[], vendor_classes=[])
    p.update(kw)
    return p


def test_dhcp_validate_refuses_a_reserved_vendor_class_name():
    msg = refused(_dhcp.validate, dhcp_params(vendor_classes=[
        {"name": "yealink", "match": "Yealink", "vendor_format": "tftp_url"},
        {"name": "DROP", "match": "Grandstream", "vendor_format": "raw_ip"}]))
    assert msg.startswith("vendor_classes[1].name: 'DROP' is a class Kea reserves for itself"), msg


@pytest.mark.parametrize("iface", [".", ".."])
def test_dhcp_interface_is_a_path_component(iface):
    assert refused(_dhcp.validate, dhcp_params(interface=iface)).startswith("interface: ")


# ------------------------------------------------------- admin takeover
RANGE = (1000, 60000)
OURS = admin.render_profile("pbxadmin", [])


def test_uid_range_from_login_defs():
    assert admin.uid_range(None) == (1000, 60000)
    assert admin.uid_range(b"# UID_MIN 5\nUID_MIN\t\t 2000\nUID_MAX 29999\n") == (2000, 29999)
    assert admin.uid_range(b"UID_MIN abc\n") == (1000, 60000)


def test_an_account_the_module_created_is_managed():
    assert admin.takeover_problem("pbxadmin", 1001, admin.ACCOUNT_GECOS, RANGE, None, False) is None
    assert admin.takeover_problem("pbxadmin", 1001, admin.ACCOUNT_GECOS + ",,,", RANGE, None, False) is None
    # adopted once (adopt_existing wrote its profile): managed from then on
    assert admin.takeover_problem("pbxadmin", 1001, "Bob", RANGE, OURS, False) is None


def test_a_foreign_account_needs_adopt_existing():
    msg = admin.takeover_problem("bob", 1001, "Bob Smith,,,", RANGE, None, False)
    assert msg.startswith("adopt_existing: the account 'bob' (uid 1001) exists and was not created by this module")
    assert admin.takeover_problem("bob", 1001, "Bob Smith,,,", RANGE, b'{"managed_by": "someone"}', False)
    assert admin.takeover_problem("bob", 1001, "Bob Smith,,,", RANGE, b"not json", False)
    assert admin.takeover_problem("bob", 1001, "Bob Smith,,,", RANGE, None, True) is None


@pytest.mark.parametrize("uid", [0, 1, 100, 999, 60001, 65534])
def test_a_system_account_needs_adopt_existing_on_every_run(uid):
    msg = admin.takeover_problem("svc", uid, admin.ACCOUNT_GECOS, RANGE, OURS, False)
    assert msg.startswith("adopt_existing: 'svc' is an existing system account (uid %d, outside UID_MIN 1000" % uid)
    assert admin.takeover_problem("svc", uid, "", RANGE, None, True) is None


def test_uid_min_from_the_host_counts():
    assert admin.takeover_problem("a", 1500, admin.ACCOUNT_GECOS, (2000, 60000), None, False).startswith(
        "adopt_existing: 'a' is an existing system account (uid 1500, outside UID_MIN 2000")


def _this_host():
    """The transaction's read-only Host on this machine (accounts from its passwd)."""
    import types
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx
    return tx.Host(types.SimpleNamespace(check_mode=False, tmpdir="/tmp"))


def test_check_takeover_of_a_missing_account_is_fine(tmp_path):
    assert admin.check_takeover("pbxguard-no-such-user-x", False, str(tmp_path), _this_host()) is None


def test_check_takeover_refuses_root_like_system_accounts(tmp_path):
    import pwd
    name = pwd.getpwuid(0).pw_name
    assert refused(admin.check_takeover, name, False, str(tmp_path), _this_host()).startswith("adopt_existing: ")


def test_profile_is_ours():
    assert admin.profile_is_ours(OURS)
    assert json.loads(OURS.decode())["managed_by"] == admin.PROFILE_MANAGED_BY
    assert not admin.profile_is_ours(None) and not admin.profile_is_ours(b"[1]")
