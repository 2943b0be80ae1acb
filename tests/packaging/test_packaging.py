# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as Galaxy and AWX users get it (suite tests/suites/13-packaging.sh): the built tarball,
galaxy-importer's verdict on it, the execution environment's build context, the rendered docs, and the
AWX path for secrets (credential type <-> inventory, inventory sync without a vault). Real tools, no mocks."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import jinja2
import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.environ.get("WABIZ_COLLECTION") or REPO
BIN = os.path.dirname(sys.executable)
EXAMPLE_VAULT_PASSWORD = "example-vault-password"

# The credential's inputs in the AWX tests, and the variables of the playbooks that must take them.
CREDENTIAL = {"old_api_username": "admin-old", "old_api_password": "cred-old-pw", "new_api_password": "cred-new-pw",
              "backup_password": "cred-backup-pw", "two_step_pin": "246810", "old_db_password": "cred-old-db",
              "new_db_password": "cred-new-db"}
SECRETS = ["wabiz_old_api_username", "wabiz_old_api_password", "wabiz_new_api_password", "wabiz_backup_password",
           "wabiz_two_step_pin", "wabiz_old_db_password", "wabiz_new_db_secret"]


def tool(name):
    path = os.path.join(BIN, name)
    return path if os.path.exists(path) else shutil.which(name) or name


def run(cmd, cwd=None, env=None, timeout=900):
    full_env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1",
                    ANSIBLE_FORCE_COLOR="0")
    for key in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_VAULT_PASSWORD_FILE"):
        full_env.pop(key, None)
    full_env.update(env or {})
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, check=False)
    return proc.returncode, proc.stdout


def load_yaml(*parts):
    with open(os.path.join(SOURCE, *parts), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    rc, log = run([tool("ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out), SOURCE])
    assert rc == 0, log
    (tarball,) = list(out.glob("wabiz-api_client-*.tar.gz"))
    return tarball


@pytest.fixture(scope="session")
def installed(built, tmp_path_factory):
    """The tarball installed (offline) as a user installs it; returns the collections root."""
    root = tmp_path_factory.mktemp("installed")
    rc, log = run([tool("ansible-galaxy"), "collection", "install", "--offline", "-p", str(root), str(built)])
    assert rc == 0, log
    return root


def members(tarball):
    with tarfile.open(tarball) as tar:
        return {m.name: m for m in tar.getmembers()}


def member_text(tarball, name):
    with tarfile.open(tarball) as tar:
        return tar.extractfile(name).read().decode("utf-8")


# --- the tarball --------------------------------------------------------------------------------------

def test_tarball_ships_the_collection_without_tests_tools_or_dev_scripts(built):
    names = members(built)
    top = {n.split("/")[0] for n in names}
    assert not top & {"tests", "tools", "Makefile", "requirements-test.txt", ".ci", ".venv", ".git"}, sorted(top)
    # inventories/local is the lab against the project's emulator: the repository's, never a user's.
    assert not [n for n in names if n.startswith(("extensions/molecule", "changelogs/fragments/", "inventories/local"))]
    assert not [n for n in names if n.endswith(".sh")], "no shell script ships (they install Debian packages)"
    for needed in ("LICENSE", "README.md", "requirements.txt", "bindep.txt", "meta/runtime.yml",
                   "meta/execution-environment.yml", "extensions/awx/credential_type.yml",
                   "extensions/awx/execution-environment.yml", "docs/operations.md", "docs/docsite/links.yml",
                   "docs/docsite/extra-docs.yml", "docs/docsite/rst/operations.rst", "changelogs/changelog.yaml",
                   "inventories/example/hosts.yml", "inventories/example/group_vars/all/main.yml",
                   "inventories/example-vault.yml", "playbooks/migrate.yml"):
        assert needed in names, needed
    license_text = member_text(built, "LICENSE")
    assert "GNU GENERAL PUBLIC LICENSE" in license_text and "Version 3, 29 June 2007" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text and len(license_text) > 30000
    # The plugins are the biggest part again (the emulator used to outweigh them).
    plugin_bytes = sum(m.size for n, m in names.items() if n.startswith("plugins/"))
    assert plugin_bytes > sum(m.size for n, m in names.items() if not n.startswith("plugins/")) / 4
    manifest = json.loads(member_text(built, "MANIFEST.json"))["collection_info"]
    galaxy = load_yaml("galaxy.yml")
    assert manifest["version"] == galaxy["version"] and built.name == "wabiz-api_client-%s.tar.gz" % galaxy["version"]
    assert manifest["license"] == ["GPL-3.0-or-later"]
    assert {"whatsapp", "docker", "migration"} <= set(manifest["tags"])
    # A released changelog for this version (antsibull-changelog release), rendered to CHANGELOG.rst.
    changelog = yaml.safe_load(member_text(built, "changelogs/changelog.yaml"))
    assert str(galaxy["version"]) in changelog["releases"], "run: antsibull-changelog release"
    assert "release_summary" in changelog["releases"][str(galaxy["version"])]["changes"]
    assert "v%s" % galaxy["version"] in member_text(built, "CHANGELOG.rst")
    rc, log = run([tool("antsibull-changelog"), "lint"], cwd=SOURCE)
    assert rc == 0 and log.strip() == "", log


def test_galaxy_importer_accepts_the_tarball(built, tmp_path):
    # As Galaxy imports it, minus ansible-lint (suite 12-lint runs it on the same files with the stricter
    # production profile; Galaxy reports lint findings without refusing an import).
    env = {"GALAXY_IMPORTER_RUN_ANSIBLE_LINT": "0", "GALAXY_IMPORTER_CHECK_REQUIRED_TAGS": "1",
           "GALAXY_IMPORTER_CHECK_CHANGELOG": "1", "GALAXY_IMPORTER_REQUIRE_V1_OR_GREATER": "1",
           "GALAXY_IMPORTER_TMP_ROOT_DIR": str(tmp_path)}
    rc, log = run([sys.executable, "-m", "galaxy_importer.main", str(built)], cwd=str(tmp_path), env=env)
    print(log[-3000:])
    assert rc == 0, log
    assert "Importer processing completed successfully" in log
    problems = [line for line in log.splitlines() if re.match(r"^(WARNING|ERROR)", line)]
    assert problems == [], problems
    with open(tmp_path / "importer_result.json", encoding="utf-8") as fh:
        result = json.load(fh)
    contents = {(c["content_type"], c["name"]) for c in result["contents"]}
    modules = {f[:-3] for f in os.listdir(os.path.join(SOURCE, "plugins", "modules")) if f.endswith(".py")}
    roles = set(os.listdir(os.path.join(SOURCE, "roles")))
    assert {n for t, n in contents if t == "module"} == modules
    assert {n for t, n in contents if t == "role"} == roles
    assert result["requires_ansible"] == ">=2.19.0"
    assert not result["custom_license"]
    assert "operations.md" in {d["name"] for d in result["docs_blob"]["documentation_files"]}


# --- the execution environment ---------------------------------------------------------------------------

def ee_create(awx_dir, context):
    return run([tool("ansible-builder"), "create", "-f", os.path.join(awx_dir, "execution-environment.yml"),
                "-c", str(context)])


def test_execution_environment_build_context_is_complete(built, tmp_path):
    """The documented commands (extensions/awx/execution-environment.yml), then the galaxy and introspect
    stages of the image build replayed without a container (the base image needs a registry)."""
    awx = tmp_path / "awx"
    shutil.copytree(os.path.join(SOURCE, "extensions", "awx"), awx)
    # Without the tarball ansible-builder still exits 0: its output is what tells.
    rc, log = ee_create(awx, tmp_path / "ctx-missing")
    assert rc == 0 and "No matches for" in log, log
    shutil.copy(built, awx / "wabiz-api_client.tar.gz")  # cp .../wabiz-api_client-*.tar.gz .../wabiz-api_client.tar.gz
    ctx = tmp_path / "ctx"
    rc, log = ee_create(awx, ctx)
    print(log)
    assert rc == 0 and "Complete!" in log and "No matches" not in log and "rror" not in log, log
    build = ctx / "_build"
    assert hashlib.sha256((build / "wabiz-api_client.tar.gz").read_bytes()).digest() == \
        hashlib.sha256(built.read_bytes()).digest()
    containerfile = next(p for p in (ctx / "Containerfile", ctx / "Dockerfile") if p.exists()).read_text()
    assert "ansible-galaxy collection install" in containerfile and "ansible-core>=2.21,<2.22" in containerfile and "awx-ee:latest" not in containerfile
    # Galaxy stage: RUN ansible-galaxy collection install -r requirements.yml (in _build).
    share = tmp_path / "share" / "collections"
    rc, log = run([tool("ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml",
                   "--collections-path", str(share)], cwd=str(build), env={"ANSIBLE_GALAXY_DISABLE_GPG_VERIFY": "1"})
    assert rc == 0 and "wabiz.api_client" in log, log
    # Builder stage: introspect finds the collection's Python and system requirements.
    rc, log = run([sys.executable, str(build / "scripts" / "introspect.py"), "introspect",
                   "--write-pip", str(tmp_path / "pip.txt"), "--write-bindep", str(tmp_path / "bindep.txt"),
                   str(share)])
    assert rc == 0, log

    def requirements(path):
        with open(path, encoding="utf-8") as fh:
            return sorted(line.split("#")[0].strip() for line in fh if line.split("#")[0].strip())

    assert requirements(tmp_path / "pip.txt") == requirements(os.path.join(SOURCE, "requirements.txt"))
    assert requirements(tmp_path / "bindep.txt") == requirements(os.path.join(SOURCE, "bindep.txt"))


# --- docs ------------------------------------------------------------------------------------------------

def test_extra_docs_are_current_and_render_with_the_collection(installed, tmp_path):
    rc, log = run([sys.executable, os.path.join(SOURCE, "tools", "docs_md_to_rst.py"), "--check"])
    assert rc == 0, log
    coll = installed / "ansible_collections" / "wabiz" / "api_client"
    rc, log = run([tool("antsibull-docs"), "lint-collection-docs", str(coll)])
    assert rc == 0 and log.strip() == "", log
    dest = tmp_path / "html-src"
    dest.mkdir()
    rc, log = run([tool("antsibull-docs"), "collection", "--use-current", "--dest-dir", str(dest),
                   "wabiz.api_client"], env={"ANSIBLE_COLLECTIONS_PATH": str(installed)})
    assert rc == 0, log
    page = dest / "collections" / "wabiz" / "api_client" / "docsite" / "operations.rst"
    assert page.exists(), log
    assert "Running a real migration" in page.read_text(encoding="utf-8")
    index = (dest / "collections" / "wabiz" / "api_client" / "index.rst").read_text(encoding="utf-8")
    assert "docsite/operations" in index and "settings_backup_module" in index


# --- AWX: secrets from the credential type, an inventory without a vault ----------------------------------

def injected_extra_vars(inputs):
    """The credential type's extra vars as AWX renders them for a credential with these inputs."""
    cred = load_yaml("extensions", "awx", "credential_type.yml")
    return {k: jinja2.Template(v).render(**inputs) for k, v in cred["injectors"]["extra_vars"].items()}


def yaml_tasks(tasks):
    for task in tasks:
        yield task
        for key in ("block", "rescue", "always"):
            yield from yaml_tasks(task.get(key, []))


def test_credential_type_injects_the_playbooks_variables_and_requires_what_every_migration_needs():
    cred = load_yaml("extensions", "awx", "credential_type.yml")
    assert list(cred["injectors"]) == ["extra_vars"]  # AWX's own way, whatever the inventory: no env mapping
    injected = cred["injectors"]["extra_vars"]
    fields = {f["id"] for f in cred["inputs"]["fields"]}
    sets = {}  # field -> the variable it sets
    for var, template in injected.items():
        used = re.findall(r"\{\{\s*(\w+)", template)
        assert len(used) == 1 and used[0] in fields, template
        sets[used[0]] = var
    assert set(sets) == fields  # every field reaches the playbooks
    # Every injected variable is one the playbooks validate (playbooks/vars/specs.yml), secrets with no_log.
    specs = load_yaml("playbooks", "vars", "specs.yml")
    known = {}
    for name, spec in specs.items():
        if name.startswith("wabiz_spec_") and isinstance(spec, dict):
            known.update(spec)
    for text in specs["wabiz_specs"].values():
        known.update({k: yaml.safe_load("{%s}" % v) for k, v in re.findall(r"'(wabiz_\w+)': \{([^}]*)\}", text)})
    for var in injected:
        assert var in known, var
        assert var == "wabiz_old_api_username" or known[var].get("no_log") is True, var
    # Every required field is a secret the migration's preflight requires (naming the variable), and the
    # preflight requires no other; the PIN only with wabiz_disable_two_step, so it is not required.
    preflight = load_yaml("playbooks", "steps", "preflight.yml")
    needed = [t for t in yaml_tasks(preflight) if "preflight_required_secrets" in t.get("vars", {})]
    assert len(needed) == 1
    needed = set(needed[0]["vars"]["preflight_required_secrets"]) - {"wabiz_two_step_pin"}
    assert {sets[f] for f in cred["inputs"]["required"]} == needed
    assert "two_step_pin" not in cred["inputs"]["required"]
    # An empty user field gives the default user, not an empty one.
    assert injected_extra_vars({})["wabiz_old_api_username"] == "admin"


def copy_documented_layout(tmp_path):
    """cp -r inventories/example inventories/prod, and the vault file next to it (docs/operations.md)."""
    project = tmp_path / "project"
    shutil.copytree(os.path.join(SOURCE, "inventories", "example"), project / "inventories" / "prod")
    shutil.copy(os.path.join(SOURCE, "inventories", "example-vault.yml"), project / "inventories" / "prod-vault.yml")
    return project


def test_awx_inventory_sync_of_the_documented_layout_needs_no_vault_secret(tmp_path):
    project = copy_documented_layout(tmp_path)
    inventory = project / "inventories" / "prod"
    for dirpath, _dirs, files in os.walk(inventory):
        for name in files:
            with open(os.path.join(dirpath, name), encoding="utf-8") as fh:
                assert not fh.read().startswith("$ANSIBLE_VAULT"), "a vault file inside the inventory source"
    # What an AWX inventory update runs on a project inventory source (no vault credential exists for it).
    for source in (inventory / "hosts.yml", inventory):
        rc, out = run([tool("ansible-inventory"), "-i", str(source), "--list", "--export",
                       "--playbook-dir", str(project)], cwd=str(project))
        assert rc == 0, out
        data = json.loads(out[out.index("{"):])
        for group in ("wabiz_old_docker", "wabiz_new_docker", "wabiz_backup", "wabiz_managed"):
            assert group in data, group
        assert "ansible.builtin.env" not in out  # the credential sets the variables, the inventory maps nothing
        # The SSH user is the Machine credential's: the inventory does not override it.
        assert "ansible_user" not in json.dumps(data["wabiz_managed"]), data["wabiz_managed"]
    # The same sync with the vault file inside the inventory (the old layout) fails as AWX reported.
    shutil.copy(project / "inventories" / "prod-vault.yml", inventory / "group_vars" / "all" / "vault.yml")
    rc, out = run([tool("ansible-inventory"), "-i", str(inventory / "hosts.yml"), "--list", "--export"],
                  cwd=str(project))
    assert rc != 0 and "no vault secrets" in out, out


def resolved_secrets(project, inventory, extra=()):
    """The secrets as a play of the playbooks sees them (their vars/main.yml too), printed once as JSON."""
    play = project / "secrets.yml"
    play.write_text(yaml.safe_dump([{
        "name": "Secrets", "hosts": "backup-1.example.com", "gather_facts": False,
        "vars_files": [os.path.join(SOURCE, "playbooks", "vars", "main.yml")],
        "tasks": [{"ansible.builtin.debug": {"msg": "{{ {%s} | to_json }}" % ", ".join(
            '"%s": %s' % (var, var) for var in SECRETS)}}]}]))
    rc, out = run([tool("ansible-playbook"), "-i", str(inventory), str(play), "-c", "local", "-e", "ansible_become=false",
                   "-e", "ansible_python_interpreter=" + sys.executable, *extra], cwd=str(project))
    assert rc == 0, out
    match = re.search(r'"msg": "(\{.*\})"', out)
    assert match, out
    return json.loads(json.loads('"%s"' % match.group(1)))


def test_secrets_come_from_the_credential_type_or_the_vault_file_outside_the_inventory(tmp_path):
    project = copy_documented_layout(tmp_path)
    prod = project / "inventories" / "prod"
    # AWX: a credential of the type, its extra vars rendered as AWX renders them, no vault password at all;
    # the documented inventory and one built in the AWX UI (hosts and groups, no variables) alike.
    extra_vars = project / "credential-extra-vars.json"
    extra_vars.write_text(json.dumps(injected_extra_vars(CREDENTIAL)))
    ui_built = project / "ui-inventory.yml"
    ui_built.write_text("all:\n  children:\n    wabiz_backup:\n      hosts:\n        backup-1.example.com:\n")
    want = {"wabiz_%s" % k: v for k, v in CREDENTIAL.items() if k != "new_db_password"}
    want["wabiz_new_db_secret"] = CREDENTIAL["new_db_password"]
    for inventory in (prod, ui_built):
        assert resolved_secrets(project, inventory, ["-e", "@" + str(extra_vars)]) == want, inventory
    # Command line: the vault file next to the inventory, passed with -e @ and its vault password.
    password_file = tmp_path / "vault-pass"
    password_file.write_text(EXAMPLE_VAULT_PASSWORD)
    got = resolved_secrets(project, prod, ["-e", "@" + str(project / "inventories" / "prod-vault.yml"),
                                           "--vault-password-file", str(password_file)])
    assert got["wabiz_backup_password"] == "CHANGE-ME-backup-password"
    assert got["wabiz_new_db_secret"] == "CHANGE-ME-new-db-password"
    assert got["wabiz_old_api_username"] == "admin" and got["wabiz_two_step_pin"] == "000000"
    # No PIN given (two-step verification left as it is): the PIN is empty, not an undefined-variable error.
    given = []
    for name in ("old_api_password", "new_api_password", "backup_password", "old_db_password", "new_db_password"):
        given += ["-e", "vault_wabiz_%s=x" % name]
    got = resolved_secrets(project, prod, given)
    assert got["wabiz_two_step_pin"] == "" and got["wabiz_new_db_secret"] == "x"
