#!/usr/bin/env python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the collection's extra docs (docs/docsite/rst/*.rst) from their Markdown sources (docs/*.md).

The Markdown files are the source (GitHub and Galaxy render them); antsibull-docs renders only RST extra
docs, so this converts the small Markdown subset the guides use: headings, paragraphs, bullet and
numbered lists (nested by indentation), fenced code blocks, pipe tables, inline code, bold and links.

    python tools/docs_md_to_rst.py           # rewrite docs/docsite/rst/<name>.rst
    python tools/docs_md_to_rst.py --check   # exit 1 when a .rst file is not what its .md gives
"""

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Markdown source -> extra doc name (docs/docsite/rst/<name>.rst, label ...docsite.<name>).
SOURCES = {"docs/operations.md": "operations"}
LABEL = "ansible_collections.wabiz.api_client.docsite.%s"
UNDERLINE = {1: "=", 2: "-", 3: "^", 4: '"'}
LIST_ITEM = re.compile(r"^(\s*)([-*]|\d+\.)\s+(.*)$")


def inline(text):
    """Inline Markdown -> RST: `code`, [text](url); **bold** is the same in both."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append("``%s``" % part[1:-1])
        else:
            out.append(re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"`\1 <\2>`__", part))
    return "".join(out)


def table(rows):
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows]
    header, body = cells[0], [r for r in cells[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header] + body:
        for i, cell in enumerate(row):
            out.append("   %s %s" % ("* -" if i == 0 else "  -", inline(cell) if cell else "\\"))
    return out + [""]


def join_split_code(lines):
    """Join a line whose inline code span continues on the next line (RST keeps literals whole)."""
    out, fenced = [], False
    for line in lines:
        if (out and not fenced and not line.lstrip().startswith("```") and not out[-1].lstrip().startswith("```")
                and out[-1].count("`") % 2):
            out[-1] += " " + line.strip()
            continue
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append(line)
    return out


def convert(md, name):
    lines = join_split_code(md.splitlines())
    out = [".. _%s:" % (LABEL % name), ""]
    i = 0
    list_indents = []  # indentation of the list items we are inside
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            pad = line[:len(line) - len(line.lstrip())]  # a fence indented into a list item stays in it
            lang = line.strip()[3:].strip() or "text"
            block = []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                block.append(lines[i][len(pad):] if lines[i].startswith(pad) else lines[i].lstrip())
                i += 1
            i += 1
            if out and out[-1] != "":
                out.append("")
            out += [pad + ".. code-block:: %s" % lang, ""] + [(pad + "  " + b) if b else "" for b in block] + [""]
            if not pad:
                list_indents = []
            continue
        heading = re.match(r"^(#{1,4})\s+(.*)$", line)
        if heading:
            title = inline(heading.group(2))
            out += [title, UNDERLINE[len(heading.group(1))] * len(title), ""]
            list_indents = []
            i += 1
            continue
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            out += table(rows)
            list_indents = []
            continue
        item = LIST_ITEM.match(line)
        if item:
            indent = len(item.group(1))
            if list_indents and indent != list_indents[-1] and out and out[-1] != "":
                out.append("")  # RST wants a blank line around a nested list
            while list_indents and list_indents[-1] > indent:
                list_indents.pop()
            if not list_indents or list_indents[-1] < indent:
                list_indents.append(indent)
            out.append(line[:indent] + ("- " if item.group(2) in "-*" else item.group(2) + " ") + inline(item.group(3)))
            i += 1
            continue
        if not line.strip():
            list_indents = [] if not (i + 1 < len(lines) and lines[i + 1].startswith(" ")) else list_indents
            if out and out[-1] != "":
                out.append("")
            i += 1
            continue
        out.append(inline(line))
        i += 1
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the .rst files are current")
    args = parser.parse_args()
    stale = []
    for src, name in SOURCES.items():
        with open(os.path.join(ROOT, src), encoding="utf-8") as fh:
            rst = convert(fh.read(), name)
        dest = os.path.join(ROOT, "docs", "docsite", "rst", name + ".rst")
        current = open(dest, encoding="utf-8").read() if os.path.exists(dest) else None
        if current == rst:
            continue
        if args.check:
            stale.append(dest)
        else:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "w", encoding="utf-8") as fh:
                fh.write(rst)
            print("wrote %s" % os.path.relpath(dest, ROOT))
    if stale:
        print("out of date (run: python3 tools/docs_md_to_rst.py): %s" % ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
