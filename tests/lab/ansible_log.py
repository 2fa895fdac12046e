# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading an ``ansible-playbook -vvv`` log: how many module executions each host
had (used by the lab suites and by tests/bench/bench_fleet.py)."""
import re

# one module execution on a host, as -vvv logs the ssh connection's command: with
# pipelining the AnsiballZ payload goes to the remote python on stdin
# ('/bin/sh -c /usr/bin/python3' on ansible-core 2.21, '... python3 && sleep 0' before),
# without it python3 runs the module file put on the host. A colour code may wrap the line
# (molecule sets ANSIBLE_FORCE_COLOR=1, and the lab suites run in its verify step).
COLOUR = r"(?:\x1b\[[0-9;]*m)?"
MODULE_RUN = re.compile(r"^" + COLOUR + r"<(\S+)> SSH: EXEC .*(?:python3'" + COLOUR + r"$|python3 && sleep 0|"
                        r"python3 \S*AnsiballZ_\w+\.py)", re.M)


def module_runs(log):
    """{host: module executions} in a -vvv log."""
    counts = {}
    for host in MODULE_RUN.findall(log):
        counts[host] = counts.get(host, 0) + 1
    return counts
