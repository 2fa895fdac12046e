#!/usr/bin/env python
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disposable lab PBX hosts: a cached Debian sid image, N hosts booted with
systemd as PID 1 in their own network/PID/mount/UTS namespaces on an overlay
over the image, an "outside client" namespace, and a complete tear-down.

    labctl.py image                    build (or reuse) the cached image
    labctl.py up [--hosts pbx1,pbx2]   boot hosts, write the inventory
    labctl.py reboot pbx1              stop the host's systemd and boot it again
                                       (same overlay upper dir and netns)
    labctl.py down                     remove everything of this prefix
    labctl.py down --all               remove every lab of every prefix
    labctl.py status

Several labs can run side by side: LAB_PREFIX (<= 5 chars, default "pbxg")
names namespaces, links and the state directory; LAB_NET (0-255, default 0)
picks 198.18.NET.0/24 for the hosts and 198.19.NET.0/24 for the outside client.

LAB_RESOLVER picks the name resolution the hosts get (a PBX on a voice VLAN
often has no reachable nameserver; the lab should not hide that):
  refuse       (default) the host's own name in /etc/hosts and a resolver on
               the host's loopback that refuses at once: lookups fail fast
  unreachable  /etc/hosts as the image has it (localhost, not the host's own
               name) and a nameserver, 192.0.2.53, whose queries vanish inside
               the host's network namespace; glibc's default timeouts: every
               lookup of a name not in /etc/hosts (the host's own too) waits
               ~10 s and fails
  slow         /etc/hosts as for unreachable and a nameserver, 127.0.0.53 (a
               small responder in the host's network namespace, outside its
               systemd, logging each query to hosts/HOST/slow-resolver.log in
               the state directory), that answers NXDOMAIN after 2.5 s
The inventory says which (lab_resolver); the lab suites check it holds.
"""
import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

PACKAGES = [
    "asterisk", "asterisk-modules", "openssh-server", "python3", "vsftpd",
    "tftpd-hpa", "kea-dhcp4-server", "nftables", "libpam-google-authenticator",
    "iproute2", "msmtp", "msmtp-mta",
    # the mail module verifies SMTP servers against the system CA bundle by default
    "ca-certificates",
    # fail2ban role: sshd logs only to the journal here (no rsyslog, no
    # auth.log), so fail2ban's systemd backend needs python3-systemd
    "fail2ban", "python3-systemd",
    # coexist scenario: devsec.hardening's ssh_hardening reads the version with `ssh -V`
    # and lists openssh-client among its packages (sid's openssh-server no longer pulls
    # it in); the lab has no network for the role to install it
    "openssh-client",
]
SUITE = "sid"
IMAGE_RECIPE_VERSION = "2"  # bump when the post-build customisation changes
CACHE = os.environ.get("LAB_CACHE", "/var/cache/pbxguard-lab")
STATE_ROOT = os.environ.get("LAB_STATE", "/var/lib/pbxguard-lab")
PREFIX = os.environ.get("LAB_PREFIX", "pbxg")
NET = int(os.environ.get("LAB_NET", "0"))
RESOLVER = os.environ.get("LAB_RESOLVER", "") or "refuse"
RESOLVERS = ("refuse", "unreachable", "slow")
# TEST-NET-1 (RFC 5737): on no network; the host routes it to an interface
# whose packets go nowhere, so queries time out as with a nameserver beyond a
# gateway that drops them (no ICMP, no reply)
UNREACHABLE_NS = "192.0.2.53"
SLOW_NS = "127.0.0.53"
SLOW_DELAY = 2.5

if not (1 <= len(PREFIX) <= 5 and PREFIX.isalnum()):
    sys.exit("LAB_PREFIX must be 1-5 letters/digits")
if not 0 <= NET <= 255:
    sys.exit("LAB_NET must be 0..255")
if RESOLVER not in RESOLVERS:
    sys.exit("LAB_RESOLVER must be one of %s, not %r" % (", ".join(RESOLVERS), RESOLVER))


def log(msg):
    print("[lab] %s" % msg, file=sys.stderr, flush=True)


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, text=True, **kw)


def out(cmd, check=False):
    p = subprocess.run(cmd, text=True, capture_output=True, check=check)
    return p.stdout


# --------------------------------------------------------------------- image
def image_key():
    recipe = json.dumps({"suite": SUITE, "packages": sorted(PACKAGES),
                         "variant": "minbase", "recipe": IMAGE_RECIPE_VERSION})
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def image_dir():
    return os.path.join(CACHE, "images", image_key())


def build_image(force=False):
    root = os.path.join(image_dir(), "rootfs")
    done = os.path.join(image_dir(), "complete")
    if os.path.exists(done) and not force:
        log("image %s cached at %s" % (image_key(), root))
        return root
    if shutil.which("debootstrap") is None:
        sys.exit("debootstrap is missing: run 'make deps' (apt-get install debootstrap)")
    tmp = image_dir() + ".building"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(image_dir(), ignore_errors=True)
    os.makedirs(tmp)
    log("building Debian %s minbase image (%s) - this takes a minute or two" % (SUITE, image_key()))
    t0 = time.time()
    p = run(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
             SUITE, os.path.join(tmp, "rootfs")], check=False,
            stdout=open(os.path.join(tmp, "debootstrap.log"), "w"), stderr=subprocess.STDOUT)
    if p.returncode != 0:
        sys.stderr.write(open(os.path.join(tmp, "debootstrap.log")).read()[-4000:])
        sys.exit("IMAGE BUILD FAILED: debootstrap of Debian %s exited %d (sid moves daily; "
                 "see %s/debootstrap.log)" % (SUITE, p.returncode, tmp))
    r = os.path.join(tmp, "rootfs")
    # lab customisation: host keys, root ssh dir, no apt caches
    run(["chroot", r, "ssh-keygen", "-A"], stdout=subprocess.DEVNULL)
    # fail2ban is installed for the fail2ban role but must not run until that
    # role enables it: Debian enables it with an sshd jail, which would ban the
    # controller in suites that try wrong SSH passwords on purpose
    run(["chroot", r, "systemctl", "disable", "fail2ban.service"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.path.lexists(os.path.join(r, "etc/systemd/system/multi-user.target.wants/fail2ban.service")):
        sys.exit("IMAGE BUILD FAILED: could not disable fail2ban.service in the image")
    os.makedirs(os.path.join(r, "root/.ssh"), mode=0o700, exist_ok=True)
    for d in ("var/cache/apt/archives",):
        for f in os.listdir(os.path.join(r, d)):
            if f.endswith(".deb"):
                os.unlink(os.path.join(r, d, f))
    with open(os.path.join(r, "etc/pbxguard-lab-image"), "w") as f:
        f.write(json.dumps({"key": image_key(), "packages": PACKAGES, "suite": SUITE,
                            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}) + "\n")
    open(os.path.join(tmp, "complete"), "w").close()
    os.rename(tmp, image_dir())
    log("image built in %.0f s" % (time.time() - t0))
    return os.path.join(image_dir(), "rootfs")


# --------------------------------------------------------------------- hosts
def state_dir():
    return os.path.join(STATE_ROOT, PREFIX)


def host_ip(i):
    return "198.18.%d.%d" % (NET, 11 + i)


def names():
    return {
        "bridge": "%sbr" % PREFIX,
        "ns": lambda h: "%s-%s" % (PREFIX, h),
        "veth": lambda h: "%s%s" % (PREFIX, h)[:15],
        "out_ns": "%s-out" % PREFIX,
        "out_veth": "%sout" % PREFIX,
        "gw": "198.18.%d.1" % NET,
        "out_ip": "198.19.%d.2" % NET,
    }


MASKED_UNITS = ("getty@.service", "serial-getty@.service", "console-getty.service",
                "getty-static.service", "container-getty@.service", "getty.target")

BOOT = r"""#!/bin/sh
set -e
R={merged}
mount -t overlay overlay -o lowerdir={lower},upperdir={upper},workdir={work} $R
hostname {hostname}
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup
mount -t tmpfs -o mode=0755 tmpfs $R/run
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount --bind /dev $R/dev
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts $R/dev/pts 2>/dev/null || true
exec chroot $R /lib/systemd/systemd --system
"""


def sh_in(pid, cmd, timeout=30):
    return subprocess.run(["nsenter", "-t", str(pid), "-a", "-r", "-w"] + cmd,
                          text=True, capture_output=True, timeout=timeout, check=False)


def ssh_key():
    key = os.path.join(state_dir(), "id_ed25519")
    if not os.path.exists(key):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pbxguard-lab", "-f", key])
    return key


def raise_inotify_limit(minimum=1024):
    """Every lab host runs systemd, which takes several inotify instances;
    the kernel's default of 128 per user ends at about 10 hosts ("Failed to
    allocate manager object")."""
    path = "/proc/sys/fs/inotify/max_user_instances"
    try:
        if int(open(path).read()) < minimum:
            with open(path, "w") as f:
                f.write(str(minimum))
    except (OSError, ValueError):
        pass


HOSTS_WITH_NAME = "127.0.0.1\tlocalhost\n%s\t%s\n::1\tlocalhost ip6-localhost\n"

# The slow nameserver: every query is answered NXDOMAIN after SLOW_DELAY
# seconds (python3 standard library of the controller, run in the host's
# network namespace: it dies with the namespace, and the host's systemd does
# not see it)
SLOW_RESPONDER = r"""
import socket, sys, threading, time
delay = float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("slow resolver on %s:53, %.1f s per answer" % (sys.argv[1], delay), flush=True)

def answer(query, peer):
    time.sleep(delay)
    # header: same id, QR=1, opcode and RD copied, RA=1, RCODE=3 (NXDOMAIN);
    # the question section echoed, no records
    flags = 0x8000 | (query[2] << 8 & 0x7900) | 0x0080 | 3
    end = 12
    while end < len(query) and query[end]:
        end += 1 + query[end]
    question = query[12:end + 5]
    s.sendto(query[:2] + flags.to_bytes(2, "big") + b"\x00\x01" + bytes(6) + question, peer)
    # the log names every lookup the host made
    labels, i = [], 12
    while i < end:
        labels.append(query[i + 1:i + 1 + query[i]].decode("ascii", "replace"))
        i += 1 + query[i]
    qtype = int.from_bytes(question[-4:-2], "big") if len(question) >= 5 else 0
    print("%s %s type %d NXDOMAIN after %.1f s" % (time.strftime("%H:%M:%S"), ".".join(labels) or ".",
                                                   qtype, delay), flush=True)

while True:
    query, peer = s.recvfrom(4096)
    if len(query) >= 12:
        threading.Thread(target=answer, args=(query, peer), daemon=True).start()
"""


def write_resolution(upper, h, ip):
    """/etc/hosts and /etc/resolv.conf of a host for LAB_RESOLVER."""
    if RESOLVER == "refuse":
        # name resolution that answers at once: the host's own name from
        # /etc/hosts, and a resolver on the host's loopback that refuses
        # (with the machine's resolv.conf every lookup waited for a nameserver
        # the namespace cannot reach, and an Asterisk restart took ~50 s)
        hosts, resolv = HOSTS_WITH_NAME % (ip, h), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
    else:
        # the image's /etc/hosts (no own name) and glibc's default timeouts
        # (5 s, 2 attempts), as on a host installed without a name in /etc/hosts
        hosts = None
        resolv = "nameserver %s\n" % (UNREACHABLE_NS if RESOLVER == "unreachable" else SLOW_NS)
    if hosts is not None:
        with open(os.path.join(upper, "etc/hosts"), "w") as f:
            f.write(hosts)
    with open(os.path.join(upper, "etc/resolv.conf"), "w") as f:
        f.write(resolv)


def resolver_network(ns, base):
    """The host's network side of LAB_RESOLVER; returns what goes into lab.json."""
    if RESOLVER == "unreachable":
        # a veth pair inside the namespace with its far end down and no ARP:
        # what is routed to it is dropped without an answer or an error
        run(["ip", "-n", ns, "link", "add", "nodns0", "type", "veth", "peer", "name", "nodns1"])
        run(["ip", "-n", ns, "link", "set", "nodns0", "arp", "off", "up"])
        run(["ip", "-n", ns, "route", "add", UNREACHABLE_NS + "/32", "dev", "nodns0"])
        return {}
    if RESOLVER == "slow":
        logf = open(os.path.join(base, "slow-resolver.log"), "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SLOW_RESPONDER,
                              SLOW_NS, str(SLOW_DELAY)],
                             stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        return {"slow_resolver": p.pid}
    return {}


def up(hosts, inventory):
    lower = build_image()
    raise_inotify_limit()
    down(quiet=True)  # recover stale leftovers of an earlier (killed) run
    n = names()
    os.makedirs(state_dir(), exist_ok=True)
    key = ssh_key()
    pub = open(key + ".pub").read()
    run(["ip", "link", "add", n["bridge"], "type", "bridge"])
    run(["ip", "addr", "add", n["gw"] + "/24", "dev", n["bridge"]])
    run(["ip", "link", "set", n["bridge"], "up"])
    meta = {"hosts": {}, "bridge": n["bridge"], "resolver": RESOLVER}
    for i, h in enumerate(hosts):
        ns, veth, ip = n["ns"](h), n["veth"](h), host_ip(i)
        base = os.path.join(state_dir(), "hosts", h)
        for d in ("upper", "work", "merged"):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        up_ = os.path.join(base, "upper")
        os.makedirs(os.path.join(up_, "etc"), exist_ok=True)
        os.makedirs(os.path.join(up_, "root/.ssh"), mode=0o700, exist_ok=True)
        with open(os.path.join(up_, "etc/hostname"), "w") as f:
            f.write(h + "\n")
        write_resolution(up_, h, ip)
        with open(os.path.join(up_, "etc/machine-id"), "w") as f:
            f.write(secrets.token_hex(16) + "\n")
        # no consoles in a lab host: gettys on the bind-mounted /dev would
        # respawn forever on the machine's own ttys (hundreds of restarts a
        # minute per host)
        units = os.path.join(up_, "etc/systemd/system")
        os.makedirs(units, exist_ok=True)
        for unit in MASKED_UNITS:
            link = os.path.join(units, unit)
            if not os.path.lexists(link):
                os.symlink("/dev/null", link)
        ak = os.path.join(up_, "root/.ssh/authorized_keys")
        with open(ak, "w") as f:
            f.write(pub)
        os.chmod(ak, 0o600)
        run(["ip", "netns", "add", ns])
        run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        run(["ip", "link", "set", veth, "master", n["bridge"], "up"])
        run(["ip", "-n", ns, "addr", "add", ip + "/24", "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", ns, "route", "add", "default", "via", n["gw"]])
        run(["ip", "-n", ns, "route", "add", "198.19.%d.0/24" % NET, "dev", "eth0"])
        meta_extra = resolver_network(ns, base)
        boot = os.path.join(base, "boot.sh")
        with open(boot, "w") as f:
            f.write(BOOT.format(merged=os.path.join(base, "merged"), lower=lower,
                                upper=up_, work=os.path.join(base, "work"), hostname=h))
        logf = open(os.path.join(base, "boot.log"), "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "-p", "-f", "-m", "-u",
                              "-i", "-C", "--propagation", "private", "/bin/sh", boot],
                             stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        meta["hosts"][h] = dict(meta_extra, ip=ip, ns=ns, launcher=p.pid)
    # outside client
    run(["ip", "netns", "add", n["out_ns"]])
    run(["ip", "link", "add", n["out_veth"], "type", "veth", "peer", "name", "eth0",
         "netns", n["out_ns"]])
    run(["ip", "link", "set", n["out_veth"], "master", n["bridge"], "up"])
    run(["ip", "-n", n["out_ns"], "addr", "add", n["out_ip"] + "/24", "dev", "eth0"])
    run(["ip", "-n", n["out_ns"], "link", "set", "eth0", "up"])
    run(["ip", "-n", n["out_ns"], "link", "set", "lo", "up"])
    run(["ip", "-n", n["out_ns"], "route", "add", "198.18.%d.0/24" % NET, "dev", "eth0"])
    # find each host's PID 1 and wait until it is up
    deadline = time.time() + 180
    for h, m in meta["hosts"].items():
        pid = None
        while time.time() < deadline and pid is None:
            kids = out(["pgrep", "-P", str(m["launcher"])]).split()
            # launcher = ip netns exec -> execs unshare; its child is PID 1 of the host
            for k in kids:
                if os.path.basename(os.readlink("/proc/%s/exe" % k)).startswith("systemd"):
                    pid = int(k)
            if pid is None:
                time.sleep(0.2)
        if pid is None:
            sys.exit("host %s: systemd did not start; see %s" % (
                h, os.path.join(state_dir(), "hosts", h, "boot.log")))
        m["pid1"] = pid
    save_meta(meta)
    for h, m in meta["hosts"].items():
        wait_ready(h, m, deadline)
    write_inventory(meta, inventory)
    log("up: %s (outside client %s in netns %s); inventory %s" % (
        ", ".join("%s=%s" % (h, m["ip"]) for h, m in meta["hosts"].items()),
        n["out_ip"], n["out_ns"], inventory))


def reboot(h, inventory):
    """Stop host ``h``'s systemd (poweroff: its PID namespace, mounts and
    processes end) and boot it again from its own boot script: the same
    overlay upper dir (what was written to disk survives), the same network
    namespace and address, fresh /run and /tmp - like a reboot."""
    meta = load_meta()
    if not meta or h not in meta["hosts"]:
        sys.exit("no host %s in lab %s" % (h, PREFIX))
    m = meta["hosts"][h]
    base = os.path.join(state_dir(), "hosts", h)
    t0 = time.time()
    try:
        sh_in(m["pid1"], ["systemctl", "poweroff"], timeout=15)
    except subprocess.TimeoutExpired:
        pass
    for pid, grace in ((m["pid1"], 60), (m["launcher"], 10)):
        end = time.time() + grace
        while os.path.exists("/proc/%d" % pid) and time.time() < end:
            time.sleep(0.2)
        if os.path.exists("/proc/%d" % pid):
            log("host %s: pid %d still there after %d s, killing it" % (h, pid, grace))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            while os.path.exists("/proc/%d" % pid) and time.time() < end + 10:
                time.sleep(0.2)
    logf = open(os.path.join(base, "boot.log"), "a")
    p = subprocess.Popen(["ip", "netns", "exec", m["ns"], "unshare", "-p", "-f", "-m", "-u",
                          "-i", "-C", "--propagation", "private", "/bin/sh", os.path.join(base, "boot.sh")],
                         stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    deadline = time.time() + 180
    pid = None
    while time.time() < deadline and pid is None:
        for k in out(["pgrep", "-P", str(p.pid)]).split():
            try:
                if os.path.basename(os.readlink("/proc/%s/exe" % k)).startswith("systemd"):
                    pid = int(k)
            except OSError:
                pass
        if pid is None:
            if p.poll() is not None:
                sys.exit("host %s: boot script exited %s; see %s/boot.log" % (h, p.returncode, base))
            time.sleep(0.2)
    if pid is None:
        sys.exit("host %s: systemd did not start again; see %s/boot.log" % (h, base))
    m["launcher"], m["pid1"] = p.pid, pid
    save_meta(meta)
    wait_ready(h, m, deadline)
    write_inventory(meta, inventory)
    log("host %s rebooted in %.0f s (pid1 %d); inventory %s" % (h, time.time() - t0, pid, inventory))


def ssh_banner(ip, port=22, timeout=5):
    """True once sshd on the host sends its banner to the controller (systemd may call
    the host running while sshd is still slow to answer; a play's first connection then
    timed out "during banner exchange" under load)."""
    try:
        with socket.create_connection((ip, port), timeout=timeout) as c:
            c.settimeout(timeout)
            return c.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def wait_ready(h, m, deadline):
    state = ""
    while time.time() < deadline:
        try:
            state = sh_in(m["pid1"], ["systemctl", "is-system-running"]).stdout.strip()
            ast = sh_in(m["pid1"], ["asterisk", "-rx", "core show version"], timeout=10).stdout
        except subprocess.TimeoutExpired:
            ast = ""
        if state in ("running", "degraded") and "Asterisk" in ast and ssh_banner(m["ip"]):
            if state == "degraded":
                failed = sh_in(m["pid1"], ["systemctl", "--failed", "--no-legend"]).stdout
                log("host %s degraded: %s" % (h, failed.strip()))
            log("host %s ready (%s)" % (h, ast.strip().split(" built")[0]))
            return
        time.sleep(0.5)
    sys.exit("host %s not ready in time (systemd state %r)" % (h, state))


def save_meta(meta):
    with open(os.path.join(state_dir(), "lab.json"), "w") as f:
        json.dump(meta, f, indent=1)


def load_meta(prefix=None):
    try:
        with open(os.path.join(STATE_ROOT, prefix or PREFIX, "lab.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_inventory(meta, path):
    n = names()
    lines = ["# written by tests/lab/labctl.py up - lab hosts, do not edit",
             "all:", "  hosts:"]
    for h, m in meta["hosts"].items():
        lines.append("    %s:" % h)
        lines.append("      ansible_host: %s" % m["ip"])
        lines.append("      lab_netns: %s" % m["ns"])
        lines.append("      lab_pid1: %d" % m["pid1"])
    lines += [
        "  vars:",
        "    ansible_user: root",
        "    ansible_ssh_private_key_file: %s" % ssh_key(),
        "    ansible_ssh_common_args: >-",
        "      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "      -o LogLevel=ERROR -o ControlMaster=auto -o ControlPersist=60s",
        "    ansible_python_interpreter: /usr/bin/python3",
        "    lab_controller_ip: %s" % n["gw"],
        "    lab_outside_netns: %s" % n["out_ns"],
        "    lab_outside_ip: %s" % n["out_ip"],
        "    lab_resolver: %s" % meta.get("resolver", "refuse"),
    ]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def _kill_netns(ns):
    pids = out(["ip", "netns", "pids", ns]).split()
    for p in pids:
        try:
            os.kill(int(p), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    for dummy in range(50):
        if not out(["ip", "netns", "pids", ns]).split():
            break
        time.sleep(0.1)
    run(["ip", "netns", "del", ns], check=False, stderr=subprocess.DEVNULL)


def down(quiet=False, prefix=None):
    prefix = prefix or PREFIX
    # every netns and link of this prefix, whatever the recorded state says
    for line in out(["ip", "netns", "list"]).splitlines():
        ns = line.split()[0] if line.strip() else ""
        if ns.startswith(prefix + "-"):
            _kill_netns(ns)
    for kind in ("veth", "bridge"):
        for line in out(["ip", "-o", "link", "show", "type", kind]).splitlines():
            name = line.split(":")[1].strip().split("@")[0]
            if name.startswith(prefix):
                run(["ip", "link", "del", name], check=False, stderr=subprocess.DEVNULL)
    # mounts live in the hosts' private mount namespaces and died with them;
    # clean any that leaked into ours all the same
    base = os.path.join(STATE_ROOT, prefix)
    for line in reversed(open("/proc/self/mounts").read().splitlines()):
        mp = line.split()[1]
        if mp.startswith(base + "/"):
            run(["umount", "-l", mp], check=False)
    shutil.rmtree(os.path.join(base, "hosts"), ignore_errors=True)
    # the lab's SSH key goes with it (the next `up` makes a new one): nothing of
    # the lab stays behind on the machine
    for f in ("lab.json", "inventory.yml", "id_ed25519", "id_ed25519.pub"):
        try:
            os.unlink(os.path.join(base, f))
        except OSError:
            pass
    try:
        os.rmdir(base)
    except OSError:
        pass
    if not quiet:
        log("down: lab %s removed" % prefix)


def down_all():
    prefixes = set()
    if os.path.isdir(STATE_ROOT):
        prefixes.update(os.listdir(STATE_ROOT))
    for p in prefixes:
        down(prefix=p)


def status():
    meta = load_meta()
    if not meta:
        print("no lab %s" % PREFIX)
        return 1
    for h, m in meta["hosts"].items():
        alive = os.path.exists("/proc/%d" % m.get("pid1", 0))
        print("%s %s pid1=%s %s" % (h, m["ip"], m.get("pid1"), "up" if alive else "DEAD"))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("image")
    i.add_argument("--force", action="store_true")
    i.add_argument("--print-root", action="store_true")
    u = sub.add_parser("up")
    u.add_argument("--hosts", default="pbx1")
    u.add_argument("--inventory", default=None)
    u.add_argument("--reuse", action="store_true",
                   help="keep hosts that are already up (same names), boot otherwise")
    rb = sub.add_parser("reboot")
    rb.add_argument("host")
    rb.add_argument("--inventory", default=None)
    d = sub.add_parser("down")
    d.add_argument("--all", action="store_true")
    sub.add_parser("status")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("labctl must run as root")
    if a.cmd == "image":
        root = build_image(a.force)
        if a.print_root:
            print(root)
    elif a.cmd == "up":
        hosts = [h for h in a.hosts.split(",") if h]
        for h in hosts:
            if not (h.isalnum() and len(h) <= 6):
                sys.exit("host names: letters/digits, at most 6")
        inv = a.inventory or os.path.join(state_dir(), "inventory.yml")
        meta = load_meta()
        if a.reuse and meta and sorted(meta["hosts"]) == sorted(hosts) and meta.get("resolver", "refuse") == RESOLVER and all(
                os.path.exists("/proc/%d" % m.get("pid1", 0)) for m in meta["hosts"].values()):
            write_inventory(meta, inv)
            log("reusing running lab %s (%s)" % (PREFIX, ", ".join(hosts)))
            return 0
        up(hosts, inv)
    elif a.cmd == "reboot":
        reboot(a.host, a.inventory or os.path.join(state_dir(), "inventory.yml"))
    elif a.cmd == "down":
        down_all() if a.all else down()
    else:
        return status()
    return 0


if __name__ == "__main__":
    sys.exit(main())
