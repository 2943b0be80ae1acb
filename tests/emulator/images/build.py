#!/usr/bin/env python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the emulator's Docker images from Debian packages only (nothing is pulled from a registry).

Usage: build.py [--versions 2.61.2,2.62.5] [--force] [--list]

1. base   ``wabiz-emulator/base:<hash>``: ``debootstrap --variant=minbase --include=<packages.txt>``
          from the machine's Debian mirror, cleaned, ``docker import``-ed. The root file system tarball
          is cached in ``$WABIZ_EMULATOR_CACHE`` (default ``/var/cache/wabiz-emulator``, or
          ``~/.cache/wabiz-emulator`` when that is not writable), keyed by the hash of the package list.
2. ``wabiz-emulator/mysql:8.0.33``: MariaDB stand-in honouring the official mysql image's contract (mysql/);
   ``wabiz-emulator/postgres:13``: Debian PostgreSQL stand-in honouring the official postgres image's
   contract (postgres/); both entry points source dbcommon/entrypoint-common.sh (``*_FILE`` variables,
   ``/docker-entrypoint-initdb.d``).
3. for each version V: ``wabiz-emulator/coreapp:vV`` and ``wabiz-emulator/web:vV``
   (whatsapp/ + the ``wa_emulator`` package at ``/opt/whatsapp/emulator``).
4. ``wabiz-emulator/network:latest`` and ``wabiz-emulator/webhook-receiver:latest``.

Every image carries the label ``biz.wabiz.emulator.hash``: a hash of everything that went into it
(package list, Dockerfile, scripts, emulator source, version). An image whose label matches is not
rebuilt ("up to date"), so a warm run takes about a second. The previous build of a rebuilt tag is removed
when nothing uses it any more (never forced), and only when it carries the emulator's label.

Every image is built under the emulator's own repository ``wabiz-emulator/``, never a name real setups use
(``docker.whatsapp.biz/...``, ``mysql:...``, ``postgres:...``): the inventories, compose files and tests name
them through the collection's options (``coreapp_images``, ``web_images``, the database ``image``). Before
building anything, every tag is checked: a tag held by an image WITHOUT the label ``biz.wabiz.emulator`` stops
the build with a message naming it; nothing is built over it and nothing is removed. Versions: ``--versions`` or
``$WABIZ_EMULATOR_VERSIONS`` (comma or space separated), default 2.61.2 (old) and 2.62.5 (new).
Concurrent runs on one machine are serialised with a lock file in the cache directory.
"""

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR_DIR = os.path.dirname(HERE)
PACKAGE_DIR = os.path.join(EMULATOR_DIR, "wa_emulator")

DEFAULT_VERSIONS = ("2.61.2", "2.62.5")
SUITE = "bookworm"
# Bump when the way the root file system is made or cleaned changes (it is part of the base hash).
ROOTFS_RECIPE = "2"
BASE_REPO = "wabiz-emulator/base"
# Every image under the emulator's own repository: never a name a real setup uses.
REPOSITORY = "wabiz-emulator"
MYSQL_TAG = REPOSITORY + "/mysql:8.0.33"
MYSQL_VERSION = "8.0.33"
POSTGRES_TAG = REPOSITORY + "/postgres:13"
POSTGRES_VERSION = "13"
DESCRIPTION = "EMULATOR of the WhatsApp Business API client for tests — not Meta's software"
HASH_LABEL = "biz.wabiz.emulator.hash"
EMULATOR_LABEL = "biz.wabiz.emulator"
#: The database stand-ins' build contexts: each gets dbcommon/ (what their entry points share) too.
DB_CONTEXTS = ("mysql", "postgres")
SKIP_NAMES = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".swp", "~")

# role -> (image repository, title, exposed ports)
ROLES = {
    "coreapp": (REPOSITORY + "/coreapp", "WhatsApp Business API CoreApp (EMULATOR)", "6250 6251 6252 6253"),
    "web": (REPOSITORY + "/web", "WhatsApp Business API Webapp (EMULATOR)", "443"),
    "network": (REPOSITORY + "/network", "WhatsApp network stand-in (EMULATOR)", "8080"),
    "webhook-receiver": (REPOSITORY + "/webhook-receiver", "Webhook receiver (EMULATOR)", "8443"),
}


def log(msg):
    print("build-images: %s" % msg, flush=True)


def die(msg):
    print("build-images: ERROR: %s" % msg, file=sys.stderr, flush=True)
    sys.exit(1)


def run(cmd, **kw):
    """Run a command; on failure print its output and stop."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, **kw)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-6000:])
        die("command failed (exit %d): %s" % (proc.returncode, " ".join(cmd)[:300]))
    return proc.stdout


def image_label(tag, label):
    """The value of ``label`` on local image ``tag``; None when the image does not exist."""
    labels = image_labels(tag)
    return None if labels is None else labels.get(label, "")


def image_labels(ref):
    """Labels of local image ``ref`` (tag or id) as a dict; None when the image does not exist."""
    proc = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", ref],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout.strip() or "null") or {}


def is_ours(labels):
    """True when an image's labels say it is one of the emulator's images."""
    return (labels or {}).get(EMULATOR_LABEL) == "true" and bool((labels or {}).get(HASH_LABEL))


def foreign_tags(tags):
    """The tags among ``tags`` held by a local image that is not one of the emulator's: (tag, title)."""
    out = []
    for tag in tags:
        labels = image_labels(tag)
        if labels is not None and not is_ours(labels):
            out.append((tag, labels.get("org.opencontainers.image.title") or "no emulator label"))
    return out


def refuse_foreign(tags):
    """Stop, before anything is built or removed, when a tag we would build holds someone else's image."""
    foreign = foreign_tags(tags)
    if foreign:
        die("refusing to build over image(s) that are not the emulator's (no label %s=true): %s. They may be "
            "someone else's images: nothing was built, tagged or removed. To replace them on purpose, re-tag or "
            "remove them yourself first (docker image tag / docker image rm)."
            % (EMULATOR_LABEL, "; ".join("%s (%s)" % item for item in foreign)))


# --- inputs and hashes -------------------------------------------------------------------------

def read_packages():
    with open(os.path.join(HERE, "packages.txt"), encoding="utf-8") as fh:
        pkgs = [line.split("#", 1)[0].strip() for line in fh]
    return [p for p in pkgs if p]


def debian_mirror():
    """The Debian mirror this machine's apt uses for the main suite (deb822 or one-line format)."""
    if os.environ.get("WABIZ_DEBIAN_MIRROR"):
        return os.environ["WABIZ_DEBIAN_MIRROR"]
    deb822 = "/etc/apt/sources.list.d/debian.sources"
    if os.path.exists(deb822):
        with open(deb822, encoding="utf-8") as fh:
            stanzas = fh.read().split("\n\n")
        for stanza in stanzas:
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.lstrip().startswith("#"):
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.strip()
            suites = fields.get("suites", "").split()
            if SUITE in suites and "deb" in fields.get("types", "").split() and fields.get("uris"):
                return fields["uris"].split()[0]
    for path in ("/etc/apt/sources.list",):
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) >= 3 and parts[0] == "deb" and parts[2] == SUITE:
                        url = [p for p in parts[1:] if not p.startswith("[")][0]
                        return url
    return "http://deb.debian.org/debian"


def tree_files(root, prefix):
    """(archive path, absolute path) of every file below root, sorted, caches skipped."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_NAMES)
        for name in sorted(filenames):
            if name.endswith(SKIP_SUFFIXES):
                continue
            full = os.path.join(dirpath, name)
            out.append((os.path.join(prefix, os.path.relpath(full, root)), full))
    return out


def files_hash(files, *extra):
    h = hashlib.sha256()
    for item in extra:
        h.update(repr(item).encode() + b"\0")
    for rel, full in files:
        h.update(rel.encode() + b"\0")
        h.update(b"x" if os.access(full, os.X_OK) else b"-")
        with open(full, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def cache_dir():
    wanted = os.environ.get("WABIZ_EMULATOR_CACHE")
    candidates = [wanted] if wanted else ["/var/cache/wabiz-emulator", os.path.expanduser("~/.cache/wabiz-emulator")]
    for path in candidates:
        try:
            os.makedirs(path, exist_ok=True)
            if os.access(path, os.W_OK):
                return path
        except OSError:
            continue
    die("no writable cache directory (tried %s)" % ", ".join(candidates))
    return None


# --- base image ----------------------------------------------------------------------------------

def clean_rootfs(root):
    """Drop what an image does not need: apt caches and lists, docs, man pages, translations, the
    data directories the MariaDB and PostgreSQL packages initialised (the stand-ins initialise at first
    start)."""
    for rel in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
                "usr/share/info", "usr/share/locale", "var/log", "var/lib/mysql", "var/lib/postgresql", "tmp"):
        path = os.path.join(root, rel)
        if os.path.isdir(path):
            for name in os.listdir(path):
                full = os.path.join(path, name)
                if os.path.isdir(full) and not os.path.islink(full):
                    shutil.rmtree(full)
                else:
                    os.unlink(full)
    for rel in ("var/cache/apt/pkgcache.bin", "var/cache/apt/srcpkgcache.bin", "etc/machine-id"):
        path = os.path.join(root, rel)
        if os.path.exists(path):
            os.unlink(path)
    os.makedirs(os.path.join(root, "var/cache/apt/archives/partial"), exist_ok=True)
    os.makedirs(os.path.join(root, "var/lib/apt/lists/partial"), exist_ok=True)
    # Keep docs out of later installs too (e.g. `apt-get install` in a debugging session).
    with open(os.path.join(root, "etc/dpkg/dpkg.cfg.d/01-wabiz-nodoc"), "w", encoding="utf-8") as fh:
        fh.write("path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\n"
                 "path-exclude /usr/share/locale/*\n")


def make_rootfs_tar(tarball, packages, mirror):
    if os.geteuid() != 0:
        die("debootstrap needs root (the base root file system %s is not cached yet)" % tarball)
    if not shutil.which("debootstrap"):
        log("installing Debian package debootstrap")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if subprocess.call(["apt-get", "install", "-y", "-q", "debootstrap"], env=env,
                           stdout=subprocess.DEVNULL) != 0:
            run(["apt-get", "update", "-q"], env=env)
            run(["apt-get", "install", "-y", "-q", "debootstrap"], env=env)
    work = tarball + ".d"
    if os.path.exists(work):
        shutil.rmtree(work)
    t0 = time.monotonic()
    log("debootstrap %s from %s (%d packages) ..." % (SUITE, mirror, len(packages)))
    cmd = ["debootstrap", "--variant=minbase", "--include=" + ",".join(packages), SUITE, work, mirror]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:])
        logfile = os.path.join(work, "debootstrap", "debootstrap.log")
        if os.path.exists(logfile):
            with open(logfile, encoding="utf-8", errors="replace") as fh:
                sys.stderr.write("----- %s (end) -----\n%s" % (logfile, fh.read()[-4000:]))
        die("debootstrap failed (exit %d)" % proc.returncode)
    log("debootstrap done in %.1fs" % (time.monotonic() - t0))
    clean_rootfs(work)
    run(["tar", "--numeric-owner", "-C", work, "-cf", tarball + ".part", "."])
    os.replace(tarball + ".part", tarball)
    shutil.rmtree(work)
    # Tarballs of other package lists are stale: one root file system is enough on disk.
    cache = os.path.dirname(tarball)
    for name in os.listdir(cache):
        if name.startswith("rootfs-") and name.endswith(".tar") and name != os.path.basename(tarball):
            os.unlink(os.path.join(cache, name))
    log("root file system cached: %s (%d MB)" % (tarball, os.path.getsize(tarball) // 2**20))


def ensure_base(cache, force):
    packages = read_packages()
    base_hash = hashlib.sha256(json.dumps([SUITE, "minbase", ROOTFS_RECIPE, sorted(packages)])
                               .encode()).hexdigest()
    tag = "%s:%s" % (BASE_REPO, base_hash[:12])
    if not force and image_label(tag, HASH_LABEL) == base_hash:
        log("%-45s up to date" % tag)
        return tag, base_hash
    tarball = os.path.join(cache, "rootfs-%s-%s.tar" % (SUITE, base_hash[:12]))
    if not os.path.exists(tarball):  # --force re-imports it; delete the tarball to debootstrap again
        make_rootfs_tar(tarball, packages, debian_mirror())
    t0 = time.monotonic()
    changes = [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        'LABEL org.opencontainers.image.title="wabiz emulator base (Debian %s minbase)"' % SUITE,
        'LABEL org.opencontainers.image.description="%s"' % DESCRIPTION,
        "LABEL org.opencontainers.image.version=%s" % base_hash[:12],
        "LABEL biz.wabiz.emulator=true",
        "LABEL biz.wabiz.emulator.component=base",
        "LABEL %s=%s" % (HASH_LABEL, base_hash),
        'CMD ["/bin/bash"]',
    ]
    refuse_foreign([tag])
    cmd = ["docker", "import"]
    for change in changes:
        cmd += ["--change", change]
    run(cmd + [tarball, tag])
    log("%-45s imported in %.1fs" % (tag, time.monotonic() - t0))
    return tag, base_hash


# --- derived images ------------------------------------------------------------------------------

def stage_context(name, dest):
    """Copy one build context (mysql/ or postgres/ [+ dbcommon/], or whatsapp/ [+ the emulator package])
    into dest."""
    files = tree_files(os.path.join(HERE, name), "")
    if name in DB_CONTEXTS:
        files += tree_files(os.path.join(HERE, "dbcommon"), "")
    if name == "whatsapp":
        if not os.path.exists(os.path.join(PACKAGE_DIR, "__main__.py")):
            log("WARNING: %s has no __main__.py yet: the images will not run the emulator" % PACKAGE_DIR)
        files += tree_files(PACKAGE_DIR, os.path.join("emulator", "wa_emulator"))
    staged = []
    for rel, full in files:
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(full, target)
        staged.append((rel, target))
    # Hash what was copied (the work tree may change meanwhile: others edit the emulator).
    return staged


def docker_build(context, tag, build_args):
    cmd = ["docker", "build", "--quiet", "--tag", tag]
    for key, value in build_args.items():
        cmd += ["--build-arg", "%s=%s" % (key, value)]
    env = dict(os.environ, DOCKER_BUILDKIT="0")  # the legacy builder: no buildx plugin needed
    run(cmd + [context], env=env)


def build_one(tag, context, files, build_args, force, results):
    # BASE names the base image by its hash, so the package list is part of this hash too.
    image_hash = files_hash(files, tag, sorted(build_args.items()))
    if not force and image_label(tag, HASH_LABEL) == image_hash:
        log("%-45s up to date" % tag)
        results.append((tag, "up to date", 0.0))
        return
    refuse_foreign([tag])  # checked again under the lock: the tag may have changed hands since
    old_id = image_id(tag)
    t0 = time.monotonic()
    docker_build(context, tag, dict(build_args, HASH=image_hash))
    took = time.monotonic() - t0
    log("%-45s built in %.1fs" % (tag, took))
    results.append((tag, "built", took))
    remove_if_dangling(old_id)


def image_id(tag):
    proc = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", tag], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def remove_if_dangling(old_id):
    """Remove our own previous build of a tag once nothing names it any more. Without force: an image a
    container still uses, or one with another tag or with child images (someone's image built on it),
    stays; an image without the emulator's label is never removed."""
    if not old_id or not is_ours(image_labels(old_id)):
        return
    proc = subprocess.run(["docker", "image", "inspect", "--format", "{{len .RepoTags}}", old_id],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False)
    if proc.returncode == 0 and proc.stdout.strip() == "0":
        subprocess.run(["docker", "image", "rm", old_id], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)


def parse_versions(text):
    out = []
    for item in text.replace(",", " ").split():
        item = item.lstrip("v")
        if item and item not in out:
            out.append(item)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--versions", default=os.environ.get("WABIZ_EMULATOR_VERSIONS", ""),
                        help="client versions to build (default: %s)" % ",".join(DEFAULT_VERSIONS))
    parser.add_argument("--force", action="store_true",
                        help="rebuild every image, even when up to date (the cached root file system tarball "
                             "is re-imported; delete it from the cache directory to debootstrap again)")
    parser.add_argument("--list", action="store_true", help="print the image tags and exit")
    args = parser.parse_args(argv)
    versions = parse_versions(args.versions) or list(DEFAULT_VERSIONS)

    tags = [MYSQL_TAG, POSTGRES_TAG]
    for version in versions:
        tags += ["%s:v%s" % (ROLES["coreapp"][0], version), "%s:v%s" % (ROLES["web"][0], version)]
    tags += ["%s:latest" % ROLES["network"][0], "%s:latest" % ROLES["webhook-receiver"][0]]
    if args.list:
        print("\n".join(tags))
        return 0

    started = time.monotonic()
    if subprocess.call(["docker", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
        die("the Docker engine does not answer (run tools/ensure-docker.sh first)")
    refuse_foreign(tags)  # every tag, before anything is built: all or nothing (build_one checks again)
    cache = cache_dir()
    with open(os.path.join(cache, "build.lock"), "w", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another build runs on this machine; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        t0 = time.monotonic()
        base_tag, base_hash = ensure_base(cache, args.force)
        base_took = time.monotonic() - t0
        results = []
        with tempfile.TemporaryDirectory(prefix="wabiz-emulator-build-") as tmp:
            mysql_ctx = os.path.join(tmp, "mysql")
            mysql_files = stage_context("mysql", mysql_ctx)
            build_one(MYSQL_TAG, mysql_ctx, mysql_files,
                      {"BASE": base_tag, "VERSION": MYSQL_VERSION},
                      args.force, results)
            pg_ctx = os.path.join(tmp, "postgres")
            pg_files = stage_context("postgres", pg_ctx)
            build_one(POSTGRES_TAG, pg_ctx, pg_files,
                      {"BASE": base_tag, "VERSION": POSTGRES_VERSION},
                      args.force, results)
            wa_ctx = os.path.join(tmp, "whatsapp")
            wa_files = stage_context("whatsapp", wa_ctx)
            jobs = []
            for version in versions:
                for role in ("coreapp", "web"):
                    jobs.append(("%s:v%s" % (ROLES[role][0], version), role, "v" + version))
            for role in ("network", "webhook-receiver"):
                jobs.append(("%s:latest" % ROLES[role][0], role, "latest"))
            for tag, role, version in jobs:
                repo, title, ports = ROLES[role]
                build_one(tag, wa_ctx, wa_files,
                          {"BASE": base_tag, "ROLE": role,
                           "VERSION": version, "TITLE": title, "PORTS": ports},
                          args.force, results)
    built = sum(1 for result in results if result[1] == "built")
    log("done in %.1fs (base %.1fs, %d image(s) built, %d up to date)"
        % (time.monotonic() - started, base_took, built, len(results) - built))
    return 0


if __name__ == "__main__":
    sys.exit(main())
