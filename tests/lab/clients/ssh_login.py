# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real SSH client (paramiko) for the lab suites.

usage: ssh_login.py HOST USER MODE [KEYFILE]
MODE: password (password auth), kbd (keyboard-interactive: answers
"Password:" with line 1 and "Verification code:" with line 2 of stdin; an
empty line 2 answers the code prompt with nothing), key (public key KEYFILE only).
Secrets come on stdin, never on the command line. Prints "OK <id -un>" and
exits 0 when logged in, "FAIL <reason>" and exits 1 otherwise. With
SSH_LOGIN_PROMPTS=1 a last line "PROMPTS <n> <prompt>|<prompt>..." lists the
keyboard-interactive prompts the server sent (a code asked twice shows)."""
import os
import socket
import sys

import paramiko


def main():
    host, user, mode = sys.argv[1:4]
    keyfile = sys.argv[4] if len(sys.argv) > 4 else None
    lines = sys.stdin.read().split("\n")
    password = lines[0] if lines else ""
    code = lines[1] if len(lines) > 1 else ""
    sock = socket.create_connection((host, 22), timeout=10)
    t = paramiko.Transport(sock)
    prompts_seen = []
    try:
        t.start_client(timeout=10)
        if mode == "password":
            t.auth_password(user, password)
        elif mode == "key":
            key = paramiko.PKey.from_path(keyfile)
            t.auth_publickey(user, key)
        elif mode == "kbd":

            def handler(title, instructions, prompts):
                answers = []
                for text, _echo in prompts:
                    prompts_seen.append(text.strip())
                    answers.append(code if "code" in text.lower() else password)
                return answers
            t.auth_interactive(user, handler)
        else:
            raise SystemExit("unknown mode " + mode)
        if not t.is_authenticated():
            print("FAIL partial authentication")
            return 1
        ch = t.open_session(timeout=10)
        ch.exec_command("id -un")
        out = ch.makefile().read().decode().strip()
        print("OK", out)
        return 0
    except paramiko.BadAuthenticationType as e:
        print("FAIL bad auth type, allowed:", ",".join(e.allowed_types))
        return 1
    except (paramiko.AuthenticationException, paramiko.SSHException, socket.error) as e:
        print("FAIL", type(e).__name__, e)
        return 1
    finally:
        t.close()
        if mode == "kbd" and os.environ.get("SSH_LOGIN_PROMPTS") == "1":
            print("PROMPTS %d %s" % (len(prompts_seen), "|".join(prompts_seen)))


if __name__ == "__main__":
    sys.exit(main())
