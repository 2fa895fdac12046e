# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install dev-sec's devsec.hardening collection (the ssh_hardening role), pinned,
for the coexist lab scenario - at test time, never committed into this repository.

usage: devsec.py DEST     installs into DEST/ansible_collections/ (a collections path)

- devsec.hardening: from a git snapshot of github.com/dev-sec/ansible-collection-hardening
  (DEVSEC_HARDENING_GIT, a git dir; the default is this machine's mirror). The commit is
  pinned (DEVSEC_COMMIT) and its galaxy.yml must say DEVSEC_VERSION; built with
  ``ansible-galaxy collection build`` and installed with ``--no-deps`` (Galaxy is not
  reachable, and the role needs only one of its four dependencies here).
- community.general (the role's pamd task, which rewrites /etc/pam.d/sshd): from the
  ``ansible`` package on PyPI, pinned (ANSIBLE_PACKAGE), downloaded once with pip into
  .cache/ and only its ansible_collections/community/general/ taken out.

Exit 0 when installed (or already installed at these pins), 3 with a line
"SKIP: ..." when the dev-sec source is not there, 1 on any other problem."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_GIT = "/work/.mirror/dev-sec+ansible-collection-hardening/repo"
DEVSEC_COMMIT = "c3822fca2d101ab93a40a614d9618f69fbbb52e9"
DEVSEC_VERSION = "10.6.0"
ANSIBLE_PACKAGE = "ansible==14.5.0"  # carries community.general 13.5.0
SKIP = 3


def source():
    return os.environ.get("DEVSEC_HARDENING_GIT") or DEFAULT_GIT


def git(gitdir, *args, **kw):
    return subprocess.run(["git", "--git-dir=%s" % gitdir] + list(args), check=False, **kw)


def installed_version(dest, namespace, name):
    try:
        with open(os.path.join(dest, "ansible_collections", namespace, name, "MANIFEST.json")) as f:
            return json.load(f)["collection_info"]["version"]
    except (IOError, OSError, ValueError, KeyError):
        return None


def install_devsec(dest, bin_dir):
    gitdir = source()
    if not os.path.isdir(gitdir):
        print("SKIP: the dev-sec source (DEVSEC_HARDENING_GIT=%s) is not on this machine; the coexist "
              "scenario needs a git snapshot of github.com/dev-sec/ansible-collection-hardening at %s"
              % (gitdir, DEVSEC_COMMIT))
        return SKIP
    if git(gitdir, "cat-file", "-e", DEVSEC_COMMIT + "^{commit}", capture_output=True).returncode != 0:
        print("SKIP: %s has no commit %s (the pinned devsec.hardening %s)" % (gitdir, DEVSEC_COMMIT, DEVSEC_VERSION))
        return SKIP
    stamp = os.path.join(dest, ".devsec-commit")
    if installed_version(dest, "devsec", "hardening") == DEVSEC_VERSION and os.path.exists(stamp) \
            and open(stamp).read().strip() == DEVSEC_COMMIT:
        return 0
    tmp = tempfile.mkdtemp(prefix="pbxguard-devsec-")
    try:
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        archive = git(gitdir, "archive", DEVSEC_COMMIT, stdout=subprocess.PIPE)
        if archive.returncode != 0:
            print("git archive %s failed" % DEVSEC_COMMIT)
            return 1
        subprocess.run(["tar", "-x", "-C", src], input=archive.stdout, check=True)
        import yaml
        with open(os.path.join(src, "galaxy.yml")) as f:
            meta = yaml.safe_load(f)
        if (meta.get("namespace"), meta.get("name"), str(meta.get("version"))) != ("devsec", "hardening", DEVSEC_VERSION):
            print("the pinned commit %s is %s.%s %s, expected devsec.hardening %s"
                  % (DEVSEC_COMMIT, meta.get("namespace"), meta.get("name"), meta.get("version"), DEVSEC_VERSION))
            return 1
        out = os.path.join(tmp, "build")
        subprocess.run([os.path.join(bin_dir, "ansible-galaxy"), "collection", "build", "--output-path", out, src],
                       check=True, stdout=subprocess.DEVNULL)
        tarball = os.path.join(out, "devsec-hardening-%s.tar.gz" % DEVSEC_VERSION)
        subprocess.run([os.path.join(bin_dir, "ansible-galaxy"), "collection", "install", "--no-deps", "--force",
                        "-p", dest, tarball], check=True, stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(stamp, "w") as f:
        f.write(DEVSEC_COMMIT + "\n")
    return 0


def install_community_general(dest, bin_dir):
    if installed_version(dest, "community", "general"):
        return 0
    cache = os.path.join(ROOT, ".cache", "pip-ansible")
    name = ANSIBLE_PACKAGE.replace("==", "-")
    wheels = [w for w in os.listdir(cache) if w.startswith(name + "-")] if os.path.isdir(cache) else []
    if not wheels:
        subprocess.run([os.path.join(bin_dir, "pip"), "download", "-q", "--no-deps", "--ignore-requires-python",
                        "--only-binary=:all:", ANSIBLE_PACKAGE, "-d", cache], check=True)
        wheels = [w for w in os.listdir(cache) if w.startswith(name + "-")]
    prefix = "ansible_collections/community/general/"
    with zipfile.ZipFile(os.path.join(cache, wheels[0])) as z:
        for member in z.namelist():
            if member.startswith(prefix) and not member.endswith("/"):
                z.extract(member, dest)
    return 0


def main():
    dest = os.path.abspath(sys.argv[1])
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    os.makedirs(dest, exist_ok=True)
    rc = install_devsec(dest, bin_dir)
    if rc != 0:
        return rc
    install_community_general(dest, bin_dir)
    print("devsec.hardening %s (%s) and community.general %s in %s" % (
        installed_version(dest, "devsec", "hardening"), DEVSEC_COMMIT[:12],
        installed_version(dest, "community", "general"), dest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
