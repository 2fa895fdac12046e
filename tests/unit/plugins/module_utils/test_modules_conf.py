# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_modules_conf: autoload read as Asterisk's loader reads it (ast_true)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _modules_conf as mc

MOD = "res_pjsip_endpoint_identifier_anonymous.so"


@pytest.mark.parametrize("value,loaded", [("yes", True), ("t", True), ("Y", True), ("on", True), ("no", False),
                                          ("0", False)])
def test_autoload_values(value, loaded):
    data = ("[modules]\nautoload=%s\n" % value).encode()
    assert mc.loads(data, MOD) is loaded
    new, added = mc.ensure_noload(data, MOD, "anonymous", "anonymous: true")
    assert added is loaded
    assert mc.loads(new, MOD) is False
