# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the backup file writing and verification."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.wabiz.api_client.plugins.module_utils import _backup

DATA = "V0FFTVVCSzEAAAGG" * 20
META = {"source_url": "https://old:9090", "topology": {"masters": 2, "coreapps": 3, "shards": 2}, "wa_id": "1555"}


def test_write_backup_is_0600_with_sidecar_and_verifies(tmp_path):
    dest = str(tmp_path / "s.bak")
    size, digest, meta = _backup.write_backup(dest, DATA, META)
    assert open(dest).read() == DATA
    assert size == len(DATA) and meta["sha256"] == digest and meta["size"] == size
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(dest + ".meta.json").st_mode) == 0o600
    on_disk = json.load(open(dest + ".meta.json"))
    assert on_disk == meta and on_disk["topology"] == META["topology"]
    assert DATA not in open(dest + ".meta.json").read()
    # no temporary file left behind
    assert sorted(os.listdir(str(tmp_path))) == ["s.bak", "s.bak.meta.json"]
    data, read_meta = _backup.verify_backup(dest)
    assert data == DATA and read_meta == meta


def test_write_replaces_atomically(tmp_path):
    dest = str(tmp_path / "s.bak")
    _backup.write_backup(dest, DATA, META)
    _backup.write_backup(dest, "TkVXREFUQQ==", META)
    assert _backup.verify_backup(dest)[0] == "TkVXREFUQQ=="


def test_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    dest = str(tmp_path / "s.bak")

    def boom(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(_backup.os, "replace", boom)
    with pytest.raises(OSError):
        _backup.write_atomic(dest, b"x")
    assert os.listdir(str(tmp_path)) == []


def test_tampered_file_is_refused(tmp_path):
    dest = str(tmp_path / "s.bak")
    _backup.write_backup(dest, DATA, META)
    with open(dest, "a") as handle:
        handle.write("AAAA")
    with pytest.raises(_backup.BackupFileError, match="does not match its metadata: sha256"):
        _backup.verify_backup(dest)


def test_missing_metadata_is_refused_unless_allowed(tmp_path):
    dest = str(tmp_path / "s.bak")
    with open(dest, "w") as handle:
        handle.write(DATA + "\n")
    with pytest.raises(_backup.BackupFileError, match="has no metadata file"):
        _backup.verify_backup(dest)
    assert _backup.verify_backup(dest, require_metadata=False) == (DATA, None)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(_backup.BackupFileError, match="does not exist"):
        _backup.verify_backup(str(tmp_path / "nope.bak"))
    dest = str(tmp_path / "empty.bak")
    open(dest, "w").close()
    with pytest.raises(_backup.BackupFileError, match="is empty"):
        _backup.verify_backup(dest, require_metadata=False)


def test_bad_metadata_json(tmp_path):
    dest = str(tmp_path / "s.bak")
    open(dest, "w").write(DATA)
    open(dest + ".meta.json", "w").write("{not json")
    with pytest.raises(_backup.BackupFileError, match="not valid JSON"):
        _backup.verify_backup(dest)


def test_missing_directory_and_empty_data(tmp_path):
    with pytest.raises(_backup.BackupFileError, match="does not exist"):
        _backup.write_backup(str(tmp_path / "no" / "s.bak"), DATA, META)
    with pytest.raises(_backup.BackupFileError, match="no data"):
        _backup.write_backup(str(tmp_path / "s.bak"), "", META)
