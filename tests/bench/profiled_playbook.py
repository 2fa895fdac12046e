#!/usr/bin/env python
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-playbook with the controller's task worker under cProfile (the
benchmark's view of the controller side: templating the task's arguments,
building and sending the module, reading its result, no_log handling).

Workers are forked processes, so a profiler around ansible-playbook alone
would not see them: WorkerProcess._run is wrapped here, and each worker
writes its profile to $PROFILE_DIR/worker-PID.prof.
Usage: PROFILE_DIR=DIR profiled_playbook.py ANSIBLE-PLAYBOOK-ARGS..."""
import cProfile
import os
import sys

from ansible.executor.process import worker


def main():
    out = os.environ["PROFILE_DIR"]
    original = worker.WorkerProcess._run

    def _run(self):
        prof = cProfile.Profile()
        send = self._final_q.send_task_result

        def send_then_dump(*args, **kwargs):
            # the result's pickling included; written before the main process
            # can finish the play and reap this worker
            try:
                return send(*args, **kwargs)
            finally:
                prof.disable()
                path = os.path.join(out, "worker-%d.prof" % os.getpid())
                prof.dump_stats(path + ".part")
                os.rename(path + ".part", path)

        self._final_q.send_task_result = send_then_dump
        return prof.runcall(original, self)

    worker.WorkerProcess._run = _run
    from ansible.cli.playbook import main as playbook_main
    sys.argv = ["ansible-playbook"] + sys.argv[1:]
    return playbook_main()


if __name__ == "__main__":
    sys.exit(main())
