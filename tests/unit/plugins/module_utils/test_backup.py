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
    _backup.write_backup(dest, "TkVXREFUQUFB" * 4, META)
    assert _backup.verify_backup(dest)[0] == "TkVXREFUQUFB" * 4


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
    with pytest.raises(_backup.BackupFileError, match="must not be empty"):
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


@pytest.mark.parametrize("sidecar, words", [
    ('{"topology": {"masters": Infinity, "coreapps": 1}}', "finite numbers only"),
    ('{"topology": {"masters": 1, "coreapps": NaN}}', "finite numbers only"),
    ('{"size": 1e999}', "finite numbers only"),
    ('{"note": -Infinity}', "finite numbers only"),
    ('{"topology": {"masters": 1, "coreapps": 1, "shards": true}}', "topology.shards must be one of"),
    ('{"topology": {"masters": true, "coreapps": 1}}', "topology.masters must be an integer"),
    ('{"size": false}', "size must be an integer"),
    ('{"a": ' + "[" * 100000 + "]" * 100000 + "}", "must not nest deeper than 4 levels"),
    ('{"a": [[[[[1]]]]]}', "must not nest deeper than 4 levels"),
])
def test_metadata_with_non_finite_numbers_booleans_or_deep_nesting_is_refused(tmp_path, sidecar, words):
    """Issue 23.3: such a .meta.json crashed the restore (OverflowError, RecursionError) or passed (true = 1 shard)."""
    dest = str(tmp_path / "s.bak")
    open(dest, "w").write(DATA)
    open(dest + ".meta.json", "w").write(sidecar)
    with pytest.raises(_backup.BackupFileError, match="is not what settings_backup writes: .*%s" % words):
        _backup.verify_backup(dest)


@pytest.mark.parametrize("content", ["myhost\n", "root:x:0:0:root:/root:/bin/bash\n" * 3, "short=="])
def test_a_file_that_is_not_backup_data_is_refused_even_without_metadata(tmp_path, content):
    """Issue 23.3: with force (no metadata needed) /etc/hostname was sent as the backup."""
    dest = str(tmp_path / "hostname")
    open(dest, "w").write(content)
    with pytest.raises(_backup.BackupFileError, match="the backup file %s must be the base64 text" % dest):
        _backup.verify_backup(dest, require_metadata=False)
