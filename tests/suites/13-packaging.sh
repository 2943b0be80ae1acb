#!/usr/bin/env bash
# The collection as Galaxy and AWX users get it (tests/packaging): the built tarball (no tests/, no tools/,
# LICENSE, tags), galaxy-importer's verdict, `ansible-builder create` on the shipped EE file and the
# build's galaxy/introspect stages, the operations guide rendered by antsibull-docs with the collection,
# and the AWX secrets path (credential type <-> inventory; inventory sync of the documented layout).
# No Docker engine needed.
set -euo pipefail
cd "$WABIZ_COLLECTION"
python -m pytest tests/packaging -p no:cacheprovider -v -rfEs --durations=0 "$@"
