# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fuzzing harness's host side (tests/reliability/test_fuzz.py copies it
to the lab host with the collection's modules and ansible.module_utils).

One run of this script is one batch: it reads a JSON request on stdin,
{"module": NAME, "runs": [{"args": {...}, "files": [PATHS], "readback": [STEPS]}, ...]},
and for every run, in order, in this one Python process:

1. hashes the files (sha256, inode, mtime: a rewrite with the same bytes
   counts as a change too),
2. runs the module's real main() with the run's arguments, as AnsiballZ
   would (basic._ANSIBLE_ARGS), capturing its JSON answer; an exception that
   escapes main() is reported with its traceback (a crash),
3. hashes the files again,
4. only if the module succeeded: asks the real consumer (the readback
   steps: an Asterisk CLI command, a shell command such as ``kea-dhcp4 -t``
   or ``sshd -T``, a real AMI login, a file read) and returns what it said.

It judges nothing: the controller compares. Standard library only (the lab
host has python3 and nothing else)."""
import hashlib
import importlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, ROOT)

from ansible.module_utils import basic  # noqa: E402


def fingerprint(paths):
    out = {}
    for p in paths:
        try:
            st = os.lstat(p)
            with open(p, "rb") as f:
                out[p] = [hashlib.sha256(f.read()).hexdigest(), st.st_ino, st.st_mtime_ns, st.st_mode]
        except OSError:
            out[p] = None
    return out


def run_module(name, args):
    mod = importlib.import_module("ansible_collections.pbxguard.asterisk.plugins.modules." + name)
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8", "surrogatepass")
    basic._ANSIBLE_PROFILE = "legacy"
    basic._PARSED_MODULE_ARGS = None
    buf, old = io.StringIO(), sys.stdout
    sys.stdout = buf
    crash = None
    try:
        mod.main()
    except SystemExit:
        pass
    except BaseException:  # pylint: disable=broad-except
        crash = traceback.format_exc()
    finally:
        sys.stdout = old
        basic._ANSIBLE_ARGS = None
    text = buf.getvalue()
    if crash:
        return {"crash": crash, "stdout": text[-2000:]}
    try:
        return json.loads(text.strip().splitlines()[-1] if text.strip() else "")
    except (ValueError, IndexError):
        return {"crash": "module printed no JSON answer", "stdout": text[-2000:]}


def ami_login(user, secret, host="127.0.0.1", port=5038):
    """A real AMI login: what manager.c answers to Action: Login."""
    s = socket.create_connection((host, port), timeout=5)
    try:
        s.settimeout(5)
        data = b""
        while b"\r\n" not in data:
            data += s.recv(4096)
        s.sendall(("Action: Login\r\nUsername: %s\r\nSecret: %s\r\n\r\n" % (user, secret)).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", "replace")
    finally:
        s.close()


def kea(command, path="/run/kea/kea4-ctrl-socket"):
    """Kea's own view of its configuration: a command on its control socket."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
        s.sendall(json.dumps({"command": command}).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            try:
                return json.loads(data.decode())
            except ValueError:
                continue
        return json.loads(data.decode())
    finally:
        s.close()


def readback(steps):
    out = []
    for step in steps:
        kind, arg = step[0], step[1]
        try:
            if kind == "cli":
                p = subprocess.run(["asterisk", "-rx", arg], capture_output=True, timeout=30, check=False)
                out.append(p.stdout.decode("utf-8", "surrogateescape"))
            elif kind == "sh":
                p = subprocess.run(["sh", "-c", arg], capture_output=True, timeout=60, check=False)
                out.append([p.returncode, p.stdout.decode("utf-8", "surrogateescape"),
                            p.stderr.decode("utf-8", "surrogateescape")])
            elif kind == "read":
                with open(arg, "rb") as f:
                    out.append(f.read().decode("utf-8", "surrogateescape"))
            elif kind == "expand":
                # what AnsibleModule makes of a type=path value, in the module's own process
                out.append(os.path.expanduser(os.path.expandvars(arg)))
            elif kind == "kea":
                out.append(kea(arg))
            elif kind == "ami_login":
                out.append(ami_login(*arg))
            elif kind == "sleep":
                time.sleep(arg)
                out.append(None)
            else:
                out.append("unknown step %r" % kind)
        except Exception as e:  # pylint: disable=broad-except
            out.append("readback step %s failed: %s: %s" % (kind, type(e).__name__, e))
    return out


def main():
    req = json.loads(sys.stdin.buffer.read().decode("utf-8", "surrogatepass"))
    results = []
    for r in req["runs"]:
        before = fingerprint(r.get("files", []))
        t0 = time.time()
        res = run_module(req["module"], r["args"])
        took = time.time() - t0
        after = fingerprint(r.get("files", []))
        # bytes or mode differ / the file was rewritten (inode, mtime) even with the same bytes
        changed = sorted(p for p in before if (before[p] and before[p][::3]) != (after[p] and after[p][::3]))
        rewritten = sorted(p for p in before if before[p] != after[p])
        back = None
        if not res.get("crash") and not res.get("failed") and r.get("readback"):
            back = readback(r["readback"])
        # the module's own result keys that the controller may need, nothing more
        keep = dict((k, res.get(k)) for k in ("failed", "changed", "msg", "crash", "stdout", "exception")
                    if k in res)
        results.append({"result": keep, "files_changed": changed, "files_rewritten": rewritten, "readback": back, "seconds": round(took, 3)})
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
