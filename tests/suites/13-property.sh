#!/usr/bin/env bash
# Property-based test of every module's inputs (Hypothesis, tests/property): generated arguments of every
# type and value for every option; no traceback, a message naming the option, nothing sent when invalid.
# Prints the number of generated cases per module. WABIZ_PROPERTY_EXAMPLES sets the cases per property.
set -euo pipefail
cd "$WABIZ_COLLECTION"
export PYTHONPATH="$WABIZ_COLLECTIONS_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export ANSIBLE_COLLECTIONS_PATH="$WABIZ_COLLECTIONS_ROOT"
python -m pytest -p no:cacheprovider -q -rA -s tests/property
