# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker hosts as they come: the Docker modules run with the Docker SDK 5.0.3 that Debian 12 and Ubuntu
22.04/24.04 ship, and refuse an SDK that cannot work with a message naming the fix. Real venvs (pip from the
package registry), real ansible runs of ``stack_info`` against this machine's engine, ``ansible_python_interpreter``
pointing at each venv as the docs tell users to do. (The SSH e2e runs every Docker module with Debian's own
``python3-docker`` 5.0.3 on its hosts.)"""

import json
import os
import secrets
import subprocess
import sys

import pytest

from conftest import tool

HERE = os.path.dirname(os.path.abspath(__file__))


def make_venv(path, *requirements):
    subprocess.run([sys.executable, "-m", "venv", path], check=True)
    proc = subprocess.run([os.path.join(path, "bin", "pip"), "install", "-q"] + list(requirements),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:]
    return os.path.join(path, "bin", "python")


@pytest.fixture(scope="module")
def stack_name():
    """A created (not started) CoreApp container of a stack of its own on this machine's engine."""
    name = "wmhsdk-%s" % secrets.token_hex(3)
    subprocess.run(["docker", "create", "--name", name + "-wacore1", "--label", "biz.wabiz.stack=" + name,
                    "--label", "biz.wabiz.role=coreapp", "--label", "biz.wabiz.index=1",
                    "wabiz-emulator/coreapp:v2.62.5"], check=True, stdout=subprocess.DEVNULL)
    yield name
    subprocess.run(["docker", "rm", "-f", name + "-wacore1"], check=False, stdout=subprocess.DEVNULL)


def stack_info(collections_root, python, name):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal")
    env.pop("DOCKER_HOST", None)
    proc = subprocess.run([tool("ansible"), "localhost", "-c", "local", "-e", "ansible_python_interpreter=" + python,
                           "-m", "wabiz.api_client.stack_info", "-a", json.dumps({"name": name})],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, check=False)
    marker = "=> "  # "localhost | SUCCESS => {...}" / "localhost | FAILED! => {...}"
    body = proc.stdout[proc.stdout.rindex(marker) + len(marker):] if marker in proc.stdout else "{}"
    return proc.returncode, proc.stdout, json.loads(body)


def test_stack_info_runs_with_docker_sdk_5_0_3(tmp_path, collections_root, stack_name):
    # The Python libraries of Debian 12: python3-docker 5.0.3, python3-requests 2.28.1, python3-urllib3 1.26.12.
    python = make_venv(str(tmp_path / "sdk503"), "docker==5.0.3", "requests==2.28.1", "urllib3==1.26.12")
    rc, out, result = stack_info(collections_root, python, stack_name)
    assert rc == 0, out
    assert [s["name"] for s in result["stacks"]] == [stack_name], out
    assert result["stacks"][0]["counts"]["coreapps"] == 1, out


def test_docker_sdk_5_with_requests_2_32_fails_with_the_fix(tmp_path, collections_root, stack_name):
    python = make_venv(str(tmp_path / "sdk503r232"), "docker==5.0.3", "requests>=2.32,<3")
    rc, out, result = stack_info(collections_root, python, stack_name)
    assert rc != 0, out
    msg = result.get("msg", "")
    for words in ("5.0.3", "requests 2.3", "7.1.0 or later", "ansible_python_interpreter", "python3-docker"):
        assert words in msg, (words, out)
    assert "Traceback" not in out and "http+docker" not in out
