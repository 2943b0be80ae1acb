# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settings backup files: atomic writing, the sidecar metadata and verification.

PRIVATE to this collection. Used by ``settings_backup`` (write) and ``settings_restore`` (read).

A backup is two files on the host where the module runs:

* ``<dest>``: the encrypted, base64 data exactly as ``POST /v1/settings/backup`` returned it, mode 0600;
* ``<dest>.meta.json``: metadata without secrets (source URL, time, topology, wa_id, size, sha256).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile

from ansible_collections.wabiz.api_client.plugins.module_utils import _validate

META_SUFFIX = ".meta.json"
FORMAT = "wabiz.api_client/settings-backup/1"
#: settings_backup writes mappings of plain values two levels deep; deeper metadata is not its own.
MAX_METADATA_DEPTH = 4
#: The backup data is base64 text (standard or URL-safe alphabet); shorter than this it cannot be a backup.
MIN_DATA_LENGTH = 16
DATA_RE = re.compile(r"^[A-Za-z0-9+/=_\-\s]+\Z")


class BackupFileError(Exception):
    """A backup file that is missing, unreadable, or does not match its metadata."""


def meta_path(path):
    return path + META_SUFFIX


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def write_atomic(path, content, mode=0o600):
    """Write ``content`` (bytes) to ``path`` through a temporary file in the same directory, fsync,
    rename over ``path``, then fsync the directory. The file has ``mode`` from its first byte."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise BackupFileError("the directory %s does not exist" % directory)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dir_fd)


def read_file(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        raise BackupFileError("cannot read %s: %s" % (path, exc.strerror or exc))


def data_problem(data, name="data"):
    """Why ``data`` (the option, or the text of a backup file named by ``name``) cannot be backup data, or
    ``None``. Never shows the value."""
    if not data:
        return "%s must not be empty: give the content of the backup file settings_backup wrote" % name
    if len(data) < MIN_DATA_LENGTH or not DATA_RE.match(data):
        return ("%s must be the base64 text of a backup as settings_backup wrote it (at least %d characters of A-Z, "
                "a-z, 0-9, +, /, =, _ and -)" % (name, MIN_DATA_LENGTH))
    return None


def shape_problem(value, depth=0):
    """A value nested deeper than settings_backup writes, or a number that is not finite, anywhere in ``value``."""
    if depth > MAX_METADATA_DEPTH:
        return "must not nest deeper than %d levels" % MAX_METADATA_DEPTH
    if isinstance(value, float) and not math.isfinite(value):
        return "must hold finite numbers only (got %r)" % value
    for item in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
        found = shape_problem(item, depth + 1)
        if found:
            return found
    return None


def metadata_problems(metadata):
    """What is wrong with backup metadata (a ``.meta.json`` file or the ``metadata`` option), as sentences."""
    if not isinstance(metadata, dict):
        return ["must be a JSON object (a mapping) as settings_backup writes it, not %s" % type(metadata).__name__]
    if shape_problem(metadata):
        return [shape_problem(metadata)]
    found = []
    topo = metadata.get("topology")
    if topo is not None:
        if not isinstance(topo, dict):
            return ["topology must be a mapping with masters, coreapps and shards"]
        for key in ("masters", "coreapps"):
            what = _validate.int_range(0, 100)(topo[key]) if topo.get(key) is not None else None
            if what:
                found.append("topology.%s must be %s (got %r)" % (key, what, topo[key]))
        if topo.get("shards") is not None and _validate.one_of(*_validate.VALID_SHARDS)(topo["shards"]):
            found.append("topology.shards must be one of %s (got %r)" % (
                ", ".join(str(n) for n in _validate.VALID_SHARDS), topo["shards"]))
    for key in ("wa_id", "sha256", "source_url", "version"):
        if metadata.get(key) is not None and not isinstance(metadata[key], str):
            found.append("%s must be a string (got %r)" % (key, metadata[key]))
    if metadata.get("size") is not None and _validate.int_range(0)(metadata["size"]):
        found.append("size must be an integer >= 0 (got %r)" % (metadata["size"],))
    return found


def read_metadata(path):
    """The sidecar metadata of the backup at ``path``, or ``None`` when there is none."""
    mpath = meta_path(path)
    if not os.path.exists(mpath):
        return None
    try:
        metadata = json.loads(read_file(mpath).decode("utf-8"))
    except ValueError as exc:  # also UnicodeDecodeError: a binary file
        raise BackupFileError("the metadata file %s is not valid JSON: %s" % (mpath, exc))
    except RecursionError:
        raise BackupFileError("the metadata file %s is not what settings_backup writes: it must not nest deeper "
                              "than %d levels" % (mpath, MAX_METADATA_DEPTH))
    found = metadata_problems(metadata)
    if found:
        raise BackupFileError("the metadata file %s is not what settings_backup writes: %s" % (mpath, "; ".join(found)))
    return metadata


def write_backup(path, data, metadata):
    """Write the data and its metadata atomically, then read both back and verify them.

    Returns ``(size, sha256, metadata)``; ``metadata`` gains ``size`` and ``sha256``.
    """
    if not isinstance(data, str) or data_problem(data):
        raise BackupFileError("the backup answer carries no data as a backup (base64 text)")
    content = data.encode("utf-8")  # ASCII base64, kept byte for byte
    digest = sha256_bytes(content)
    metadata = dict(metadata)
    metadata.update(format=FORMAT, size=len(content), sha256=digest)
    write_atomic(path, content)
    write_atomic(meta_path(path), (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode("utf-8"),
                 mode=0o600)
    verify_backup(path, expected=metadata)
    return len(content), digest, metadata


def verify_backup(path, expected=None, require_metadata=True):
    """Read the backup at ``path`` and check size and sha256 against its metadata.

    Returns ``(data, metadata)`` where ``data`` is the text for the restore call. ``metadata`` is
    ``None`` when there is no sidecar and ``require_metadata`` is false.
    """
    if not os.path.isfile(path):
        raise BackupFileError("the backup file %s does not exist" % path)
    content = read_file(path)
    metadata = expected if expected is not None else read_metadata(path)
    if metadata is None:
        if require_metadata:
            raise BackupFileError("the backup file %s has no metadata file %s, so it cannot be verified"
                                  % (path, meta_path(path)))
    else:
        digest = sha256_bytes(content)
        if metadata.get("sha256") != digest:
            raise BackupFileError("the backup file %s does not match its metadata: sha256 is %s, the metadata "
                                  "records %s" % (path, digest, metadata.get("sha256")))
        if metadata.get("size") is not None and metadata.get("size") != len(content):
            raise BackupFileError("the backup file %s does not match its metadata: %d bytes, the metadata "
                                  "records %s" % (path, len(content), metadata.get("size")))
    try:
        data = content.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BackupFileError("the backup file %s is not text (expected the base64 data of the API)" % path)
    if data_problem(data, "the backup file %s" % path):
        raise BackupFileError(data_problem(data, "the backup file %s" % path))
    return data, metadata
