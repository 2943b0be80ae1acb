# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real remote Docker hosts on this one machine: extra Docker engines and SSH hosts (tests only).

* ``Engine``: a second (third, ...) ``dockerd`` beside the machine's own, with its own socket, data root,
  exec root, pid file, containerd namespaces and bridge (``br-<tag>``, 10.213.<n>.1/24; its user-defined
  networks come from 10.214.<n>.0/24). Never started with ``--bridge none`` (that deletes docker0).
  Privileged containers, hence Docker-in-Docker, cannot start on this machine; two engines can.
* ``SshHost``: a real OpenSSH ``sshd`` (Debian's ``openssh-server``) listening on its own loopback address
  (127.213.<n>.<m>:22), key-based only, for one non-root user made for it (member of the ``docker`` group,
  passwordless ``sudo`` for ``become``). ``SetEnv DOCKER_HOST=...`` points the user's sessions at the
  host's engine, as a Docker host's profile would.

Containers of every engine reach each other only through ports published on the machine, at the address
of an extra engine's bridge (``Engine.address``), as separate machines reach each other through their
addresses. Everything is named ``<prefix>...`` and removed by ``stop()``; nothing that this module did not
create is touched (the machine's own engine only gets containers made by the tests, with their prefix).
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import time

APT_PACKAGES = {
    "/usr/sbin/sshd": "openssh-server",
    "/usr/bin/ssh": "openssh-client",
    "/usr/bin/ssh-keygen": "openssh-client",
    "/usr/bin/sudo": "sudo",
}
# Debian 12 / Ubuntu 22.04 and 24.04 ship the Docker SDK as python3-docker (5.0.3): the SSH hosts run the
# modules with the system Python and that package, as a Docker host "as it comes".
HOST_PYTHON = "/usr/bin/python3"


class TopologyError(RuntimeError):
    pass


def run(cmd, check=True, env=None, timeout=300, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          timeout=timeout, check=False, **kw)
    if check and proc.returncode != 0:
        raise TopologyError("%s: rc=%s\n%s%s" % (" ".join(cmd), proc.returncode, proc.stdout[-2000:],
                                                 proc.stderr[-2000:]))
    return proc


def log(msg):
    print("topology: %s" % msg, flush=True)


def log_tail(path, lines=30):
    """The last lines of a daemon's log file (for error messages)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return ""


def ensure_packages():
    """Install (Debian packages) what the SSH hosts need: sshd, ssh, sudo, the system Python's Docker SDK."""
    missing = sorted({pkg for path, pkg in APT_PACKAGES.items() if not os.path.exists(path)})
    if run([HOST_PYTHON, "-c", "import docker"], check=False).returncode != 0:
        missing.append("python3-docker")
    if not missing:
        return
    if os.geteuid() != 0:
        raise TopologyError("need root to install %s" % ", ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing
    log("installing Debian packages: %s" % " ".join(missing))
    if run(cmd, check=False, env=env, timeout=600).returncode != 0:
        run(["apt-get", "update", "-q"], env=env, timeout=600)
        run(cmd, check=False, env=env, timeout=600)
    still = sorted({pkg for path, pkg in APT_PACKAGES.items() if not os.path.exists(path)})
    if run([HOST_PYTHON, "-c", "import docker"], check=False).returncode != 0:
        still.append("python3-docker")
    if still:
        raise TopologyError("could not install %s" % ", ".join(still))


def _used_subnets():
    out = run(["ip", "-o", "-4", "addr", "show"]).stdout + run(["ip", "-4", "route"]).stdout
    return out


def _free_index(taken=()):
    """A number n for which 10.213.n.0/24, 10.214.n.0/24 and 127.213.n.0/24 are unused here."""
    used = _used_subnets()
    for dummy in range(200):
        n = random.randint(16, 250)
        if n in taken or ("10.213.%d." % n) in used or ("10.214.%d." % n) in used:
            continue
        if run(["ss", "-Hltn", "src", "127.213.%d.0/24" % n], check=False).stdout.strip():
            continue
        return n
    raise TopologyError("no free 10.213.n.0/24 subnet")


class Engine:
    """One extra Docker engine (``dockerd``) with its own state, socket and bridge."""

    def __init__(self, prefix, tag, index, root):
        self.tag = "%s%s" % (prefix, tag)  # short: bridge names have at most 15 characters
        self.bridge = "br-" + self.tag
        if len(self.bridge) > 15:
            raise TopologyError("bridge name %s is too long" % self.bridge)
        self.index = index
        self.address = "10.213.%d.1" % index
        self.dir = os.path.join(root, tag)
        self.socket = os.path.join(self.dir, "docker.sock")
        self.host = "unix://" + self.socket
        self.pidfile = os.path.join(self.dir, "docker.pid")
        self.logfile = os.path.join(self.dir, "dockerd.log")
        self.proc = None

    def env(self):
        return dict(os.environ, DOCKER_HOST=self.host)

    def docker(self, *args, check=True, timeout=300):
        return run(["docker"] + list(args), check=check, env=self.env(), timeout=timeout).stdout.strip()

    def answers(self):
        return run(["docker", "info"], check=False, env=self.env(), timeout=30).returncode == 0

    def start(self, timeout=90):
        os.makedirs(self.dir, exist_ok=True)
        run(["ip", "link", "add", self.bridge, "type", "bridge"])
        run(["ip", "addr", "add", self.address + "/24", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])
        cmd = ["dockerd", "-H", self.host, "--data-root", os.path.join(self.dir, "data"),
               "--exec-root", os.path.join(self.dir, "exec"), "--pidfile", self.pidfile,
               "--bridge", self.bridge, "--group", "docker",
               "--default-address-pool", "base=10.214.%d.0/24,size=26" % self.index,
               "--containerd-namespace", self.tag, "--containerd-plugins-namespace", self.tag + "-plugins"]
        with open(self.logfile, "a", encoding="utf-8") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise TopologyError("dockerd %s did not answer (rc %s):\n%s"
                                    % (self.tag, self.proc.poll(), self.log_tail()))
            time.sleep(0.5)
        log("engine %s answers at %s (bridge %s %s)" % (self.tag, self.host, self.bridge, self.address))
        return self

    def log_tail(self, lines=30):
        return log_tail(self.logfile, lines)

    def load_images(self, images):
        """Copy images from the machine's own engine: docker save | docker load."""
        t0 = time.monotonic()
        save = subprocess.Popen(["docker", "save"] + list(images), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        load = subprocess.run(["docker", "load"], stdin=save.stdout, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=self.env(), check=False, timeout=600)
        save.stdout.close()
        save_err = save.stderr.read().decode(errors="replace")
        save.wait()
        if save.returncode != 0 or load.returncode != 0:
            raise TopologyError("docker save | docker load into %s failed: %s %s"
                                % (self.tag, save_err, load.stderr.decode(errors="replace")))
        log("engine %s: loaded %s in %.1fs" % (self.tag, ", ".join(images), time.monotonic() - t0))

    def stop(self):
        """Remove the engine's containers, stop it, delete its bridge, its iptables rules and its state."""
        if self.proc is not None and self.proc.poll() is None:
            ids = self.docker("ps", "-aq", check=False).split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        for table in ("filter", "nat"):
            rules = run(["iptables", "-t", table, "-S"], check=False).stdout.splitlines()
            for rule in rules:
                if rule.startswith("-A ") and (self.bridge in rule.split() or
                                               ("10.213.%d.0/24" % self.index) in rule):
                    run(["iptables", "-t", table, "-D"] + rule.split()[1:], check=False)
        run(["ip", "link", "del", self.bridge], check=False)
        mounts = run(["findmnt", "-rn", "-o", "TARGET"], check=False).stdout.split()
        for target in sorted((m for m in mounts if m.startswith(self.dir + "/")), reverse=True):
            run(["umount", "-l", target], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class SshHost:
    """A real sshd on a loopback address, for one non-root user, pointing at one Docker engine."""

    def __init__(self, name, address, user, root, client_key, docker_host=None):
        self.name, self.address, self.user = name, address, user
        self.dir = os.path.join(root, "ssh-" + name)
        self.client_key = client_key
        self.docker_host = docker_host
        self.host_key = os.path.join(self.dir, "host_key")
        self.config = os.path.join(self.dir, "sshd_config")
        self.logfile = os.path.join(self.dir, "sshd.log")
        self.sudoers = "/etc/sudoers.d/%s" % user.replace(".", "_")
        self.proc = None
        self.user_made = False

    @property
    def home(self):
        return "/home/%s" % self.user

    def start(self, timeout=30):
        os.makedirs(self.dir, exist_ok=True)
        groups = ["--groups", "docker"] if self.docker_host else []  # the engine's socket belongs to group docker
        run(["useradd", "--create-home", "--shell", "/bin/bash"] + groups + [self.user])
        self.user_made = True
        # '*': no password, not locked (sshd refuses locked accounts); only the key logs in.
        run(["usermod", "-p", "*", self.user])
        ssh_dir = os.path.join(self.home, ".ssh")
        os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
        with open(self.client_key + ".pub", encoding="utf-8") as src:
            pub = src.read()
        keys = os.path.join(ssh_dir, "authorized_keys")
        with open(keys, "w", encoding="utf-8") as fh:
            fh.write(pub)
        os.chmod(keys, 0o600)
        run(["chown", "-R", "%s:%s" % (self.user, self.user), ssh_dir])
        with open(self.sudoers, "w", encoding="utf-8") as fh:
            fh.write("%s ALL=(ALL) NOPASSWD:ALL\n" % self.user)
        os.chmod(self.sudoers, 0o440)
        run(["visudo", "-cf", self.sudoers])
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.host_key])
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        lines = [
            "ListenAddress %s:22" % self.address,
            "HostKey %s" % self.host_key,
            "PidFile %s" % os.path.join(self.dir, "sshd.pid"),
            "AllowUsers %s" % self.user,
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no",
            "UsePAM no",
            "LogLevel VERBOSE",
            "Subsystem sftp /usr/lib/openssh/sftp-server",
        ]
        if self.docker_host:
            lines.append("SetEnv DOCKER_HOST=%s" % self.docker_host)
        with open(self.config, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        run(["/usr/sbin/sshd", "-t", "-f", self.config])
        with open(self.logfile, "a", encoding="utf-8") as fh:
            self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", self.config], stdout=fh,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((self.address, 22), timeout=2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise TopologyError("sshd %s on %s did not start:\n%s" % (self.name, self.address,
                                                                              self.log_tail()))
                time.sleep(0.2)
        log("ssh host %s: %s@%s (DOCKER_HOST=%s)" % (self.name, self.user, self.address, self.docker_host))
        return self

    def known_hosts_line(self):
        with open(self.host_key + ".pub", encoding="utf-8") as fh:
            key_type, key = fh.read().split()[:2]
        return "%s %s %s\n" % (self.address, key_type, key)

    def log_tail(self, lines=30):
        return log_tail(self.logfile, lines)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if os.path.exists(self.sudoers):
            os.unlink(self.sudoers)
        if self.user_made:
            # The sessions of this user end once the client's control masters are closed (Topology.stop).
            for dummy in range(20):
                if run(["userdel", "--remove", self.user], check=False).returncode in (0, 6):
                    break
                time.sleep(0.5)
        shutil.rmtree(self.dir, ignore_errors=True)


class Topology:
    """Engines and SSH hosts for one test run; ``inventory_host_vars()`` gives the SSH connection vars.

    ``engines``: names of the extra engines to start (the machine's own engine is ``None``).
    ``hosts``: {host name: engine name, or None for the machine's own engine, or "" for no Docker}.
    """

    def __init__(self, prefix, root, engines, hosts):
        self.prefix = prefix
        self.root = root
        self.engine_names = list(engines)
        self.host_engines = dict(hosts)
        self.engines = {}
        self.hosts = {}
        self.index = None
        self.control_dir = os.path.join(root, "cp")
        self.client_key = os.path.join(root, "id_ed25519")
        self.known_hosts = os.path.join(root, "known_hosts")

    def docker_host(self, host):
        engine = self.host_engines[host]
        if engine is None:
            return "unix:///var/run/docker.sock"
        return self.engines[engine].host if engine else None

    def start(self):
        ensure_packages()
        os.makedirs(self.root, exist_ok=True)
        os.makedirs(self.control_dir, mode=0o700, exist_ok=True)
        taken = []
        for name in self.engine_names:
            n = _free_index(taken)
            taken.append(n)
            self.engines[name] = Engine(self.prefix, name, n, self.root)
            self.engines[name].start()
        self.index = _free_index(taken)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.client_key])
        for i, host in enumerate(sorted(self.host_engines), start=2):
            ssh = SshHost(host, "127.213.%d.%d" % (self.index, i), "%s%s" % (self.prefix, host), self.root,
                          self.client_key, docker_host=self.docker_host(host))
            self.hosts[host] = ssh
            ssh.start()
        with open(self.known_hosts, "w", encoding="utf-8") as fh:
            for ssh in self.hosts.values():
                fh.write(ssh.known_hosts_line())
        return self

    def host_vars(self, host):
        """The inventory variables that reach ``host`` over SSH (strict host key checking, key only)."""
        ssh = self.hosts[host]
        return {
            "ansible_connection": "ssh",
            "ansible_host": ssh.address,
            "ansible_port": 22,
            "ansible_user": ssh.user,
            "ansible_ssh_private_key_file": self.client_key,
            "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes "
                                       "-o IdentitiesOnly=yes -o PasswordAuthentication=no" % self.known_hosts,
            "ansible_python_interpreter": HOST_PYTHON,
        }

    def ansible_env(self):
        return {"ANSIBLE_SSH_CONTROL_PATH_DIR": self.control_dir, "ANSIBLE_HOST_KEY_CHECKING": "True"}

    def ssh(self, host, command, check=True):
        """Run a shell command on ``host`` over SSH as its user (what Ansible's connection does)."""
        ssh = self.hosts[host]
        return run(["ssh", "-i", self.client_key, "-o", "UserKnownHostsFile=%s" % self.known_hosts,
                    "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                    "%s@%s" % (ssh.user, ssh.address), command], check=check)

    def stop(self):
        errors = []
        for path in (os.listdir(self.control_dir) if os.path.isdir(self.control_dir) else []):
            run(["ssh", "-o", "ControlPath=%s" % os.path.join(self.control_dir, path), "-O", "exit", "x"],
                check=False, timeout=20)
        for ssh in self.hosts.values():
            try:
                ssh.stop()
            except Exception as exc:  # noqa: BLE001 - clean-up goes on
                errors.append("%s: %s" % (ssh.name, exc))
        for engine in self.engines.values():
            try:
                engine.stop()
            except Exception as exc:  # noqa: BLE001 - clean-up goes on
                errors.append("%s: %s" % (engine.tag, exc))
        shutil.rmtree(self.root, ignore_errors=True)
        if errors:
            raise TopologyError("clean-up: %s" % "; ".join(errors))
