# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_bulk_args.fast_elements gives what AnsibleModule's own validation gives
(ArgumentSpecValidator, the code AnsibleModule runs) for the lists it takes
on, and declines every list that needs a conversion or an error message."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.pbxguard.asterisk.plugins.module_utils._bulk_args import fast_elements
from ansible_collections.pbxguard.asterisk.plugins.modules import extension

SPEC = None


def spec():
    """The extension module's own argument spec, as main() passes it."""
    global SPEC
    if SPEC is None:
        captured = {}

        def fake_run(change, argument_spec, **kw):
            captured.update(argument_spec)
        orig = extension.run
        extension.run = fake_run
        try:
            extension.main()
        finally:
            extension.run = orig
        SPEC = captured
    return SPEC


def ansible_validates(elements):
    result = ArgumentSpecValidator({"extensions": spec()["extensions"]}).validate(
        {"extensions": copy.deepcopy(elements)})
    return result


GOOD = [
    [dict(number="1008", secret="Sx1A2B3C4D_e5f6a7b87")],
    [dict(number="1008", name="Front Desk", secret="Sx1A2B3C4D_e5f6a7b87", pin="8474", email="a@b.org",
          permit=["198.18.0.0/24", "10.0.0.1"], secret_update="on_create", pin_update="always", context="x",
          username="u", authname="a", auth_user="au", state="present", max_contacts=3, remove_existing=False,
          contact_permit=["198.18.0.0/24"]),
     dict(number="1009", secret="", iax=dict(enabled=True, auth="rsa", rsa_key="k", encryption=True)),
     dict(number="1010", state="absent", iax={}),
     dict(number="1011", secret="s", pin="", permit=[])],
]


@pytest.mark.parametrize("elements", GOOD)
def test_same_result_and_no_log_values_as_ansible(elements):
    fast = fast_elements(spec()["extensions"]["options"], copy.deepcopy(elements))
    result = ansible_validates(elements)
    assert result.error_messages == []
    assert fast is not None
    assert fast[0] == result.validated_parameters["extensions"]
    assert fast[1] == result._no_log_values


BAD = [
    [dict(number=1008, secret="s")],                          # int: AnsibleModule converts
    [dict(number="1008", secret=None)],                        # None
    [dict(number="1008", bogus="x")],                          # unknown key: its error
    [dict(secret="s")],                                        # required missing: its error
    [dict(number="1008", state="gone")],                       # not among the choices
    [dict(number="1008", permit="10.0.0.1,10.0.0.2")],         # a string it splits into a list
    [dict(number="1008", iax=dict(enabled="yes"))],            # a bool it converts
    [dict(number="1008", max_contacts="2")],                   # an int it converts
    [dict(number="1008", iax="enabled=yes")],                  # a dict it parses from a string
    ["1008"],                                                  # not a dict
    [dict(number="1008", secret="s"), dict(number="1009", pin=1234)],  # one of many
]


@pytest.mark.parametrize("elements", BAD)
def test_declines_what_needs_ansibles_own_validation(elements):
    assert fast_elements(spec()["extensions"]["options"], copy.deepcopy(elements)) is None


def test_declines_a_spec_it_does_not_know():
    assert fast_elements(dict(a=dict(type="float")), [dict(a=1.0)]) is None
    # an int is taken as is, anything AnsibleModule would convert to one is not
    assert fast_elements(dict(a=dict(type="int")), [dict(a=1)]) == ([dict(a=1)], set())
    assert fast_elements(dict(a=dict(type="int")), [dict(a=True)]) is None
    assert fast_elements(dict(a=dict(type="str", aliases=["b"])), [dict(a="x")]) is None
    assert fast_elements(dict(a=dict(type="list", elements="dict", options={})), [dict(a=[])]) is None


def _module(monkeypatch, exts, cls):
    import json
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes
    args = dict(extensions=exts, _ansible_remote_tmp="/tmp", _ansible_keep_remote_files=False)
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    return cls(argument_spec=copy.deepcopy(spec()), supports_check_mode=True)


@pytest.mark.parametrize("exts", [GOOD[1], [dict(number=1008, secret="Sx1A2B3C4D_e5f6a7b87", pin="8474")]])
def test_extension_module_params_and_no_log_values_as_ansiblemodule(monkeypatch, exts):
    """ExtensionModule (the shortcut, or AnsibleModule's path for a list it
    declines: an int number) ends with AnsibleModule's params and secrets."""
    from ansible.module_utils.basic import AnsibleModule
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._extension import ExtensionModule
    stock = _module(monkeypatch, exts, AnsibleModule)
    ours = _module(monkeypatch, exts, ExtensionModule)
    assert ours.params == stock.params
    assert ours.no_log_values == stock.no_log_values and "8474" in ours.no_log_values
    assert (ours._bulk is not None) == (exts is GOOD[1])
