# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the hostile-answer property tests share: JSON of any shape, and a real answer with one node replaced."""

from __future__ import annotations

import json

from hypothesis import strategies as st


def any_json(fields, words):
    """JSON of any shape and type: keys from ``fields`` (the names the code reads) or any text, scalars of every
    type including huge numbers, NaN and lone surrogates, and the strings ``words``."""
    scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=10 ** 20, max_value=10 ** 300),
                       st.floats(), st.text(max_size=20), st.sampled_from(["", "\x00", "\ud800"] + list(words)))
    return st.recursive(scalar, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(fields), st.text(max_size=6)), inner,
                                                     max_size=4)), max_leaves=16)


def replace_one(answer, index, value):
    """``answer`` with its ``index``-th node (counted depth first, modulo their number) replaced by ``value``."""
    nodes = []

    def walk(node, parent, key):
        nodes.append((parent, key))
        for k, v in (node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()):
            walk(v, node, k)
    answer = json.loads(json.dumps(answer))
    walk(answer, None, None)
    parent, key = nodes[index % len(nodes)]
    if parent is None:
        return value
    parent[key] = value
    return answer
