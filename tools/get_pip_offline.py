#!/usr/bin/env python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the ``get-pip.py`` that ansible-test downloads.

ansible-test builds its virtual environments without pip and then fetches
``https://ci-files.testing.ansible.com/ansible-test/get-pip-<ver>.py``. Air-gapped machines (and this
project's CI) cannot reach that host. ansible-test first looks for a cached copy at
``~/.ansible/test/cache/get_pip_<ver>.py``: ``tools/install-get-pip-offline.sh`` puts this file there.

What it does, with the arguments ansible-test gives get-pip:
1. ``ensurepip`` installs the pip bundled with CPython into the venv (no network);
2. ``PIP_CONFIG_FILE`` is removed from the environment (ensurepip sets it to /dev/null, which would
   hide the machine's pip configuration: its mirror/index and find-links);
3. ``python -m pip install <arguments>`` with the machine's pip configuration, minus the get-pip-only
   flags ``--no-setuptools`` and ``--no-wheel``.
"""

import os
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main(argv):
    env = dict(os.environ)
    env.pop("PIP_CONFIG_FILE", None)
    env.pop("GET_PIP", None)
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], env=env)
    args = [a for a in argv if a not in GET_PIP_ONLY]
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
