# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment that runs ansible-playbook under mitogen's strategy, as
fleet users run it (``strategy = mitogen_linear`` with mitogen's strategy
directory in ``strategy_plugins``). mitogen comes from requirements.txt;
its strategy plugins live in the installed package, not in a collection."""
import os


def strategy_dir():
    import ansible_mitogen  # pylint: disable=import-outside-toplevel
    return os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy")


def mitogen_env(env):
    """A copy of ``env`` with the strategy set to mitogen_linear."""
    return dict(env, ANSIBLE_STRATEGY_PLUGINS=strategy_dir(), ANSIBLE_STRATEGY="mitogen_linear")
