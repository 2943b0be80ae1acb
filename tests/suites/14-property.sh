#!/usr/bin/env bash
# Property-based tests (Hypothesis, tests/property): generated arguments of every type and value for every
# option (no traceback, a message naming the option, nothing sent when invalid), every API module against
# generated Webapp answers and every Docker module against generated Docker engine answers (no traceback, no
# secret in the output). Prints the generated cases per module.
# WABIZ_PROPERTY_EXAMPLES sets the cases per input property, WABIZ_PROPERTY_ANSWERS per module for the answers.
set -euo pipefail
cd "$WABIZ_COLLECTION"
export PYTHONPATH="$WABIZ_COLLECTIONS_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export ANSIBLE_COLLECTIONS_PATH="$WABIZ_COLLECTIONS_ROOT"
python -m pytest -p no:cacheprovider -q -rA -s tests/property
