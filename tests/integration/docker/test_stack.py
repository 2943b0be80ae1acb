# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker side on a real engine: stack / stack_info / db_container modules and the stack_install,
stack_uninstall and preflight roles, driven by real ansible-playbook runs on the emulator images."""

from __future__ import annotations

import json
import ssl
import time
import urllib.request

import pytest

from conftest import DB_IMAGE, DB_PASSWORD, NEW, OLD, containers, docker, free_port, https_status, sql  # pylint: disable=import-error

import dockerctl  # pylint: disable=import-error

ADMIN_PASSWORD = "Old-Admin-Passw0rd!"


def install_role(**variables):
    lines = "".join("        %s: %s\n" % (k, _yaml(v)) for k, v in variables.items())
    return "  roles:\n    - role: wabiz.api_client.stack_install\n      vars:\n" + lines


def role(name, **variables):
    lines = "".join("        %s: %s\n" % (k, _yaml(v)) for k, v in variables.items())
    return "  roles:\n    - role: wabiz.api_client.%s\n      vars:\n%s" % (name, lines)


def _yaml(value):
    import json
    return json.dumps(value)


def image_vars(run_images, prefix, core=OLD, web=OLD):  # pylint: disable=unused-argument
    """stack_install variables for this run's private image tags (see the run_images fixture; the play's
    wabiz_coreapp_images / wabiz_web_images recognise them)."""
    return dict(stack_install_coreapp_image=run_images[("coreapp", core)],
                stack_install_web_image=run_images[("web", web)])


def snapshot(prefix):
    """Containers, volumes and networks named with ``prefix`` (to prove that nothing changed)."""
    vols = sorted(v for v in docker("volume", "ls", "--format", "{{.Name}}").split() if v.startswith(prefix))
    nets = sorted(n for n in docker("network", "ls", "--format", "{{.Name}}").split() if n.startswith(prefix))
    return containers(prefix), vols, nets


# -- failures before any change -------------------------------------------------------------------------

def test_missing_image_fails_before_any_change(play, prefix):
    name = "%s-noimg" % prefix
    before = snapshot(name)
    res = play("  tasks:\n"
               "    - wabiz.api_client.stack:\n"
               "        name: %s\n"
               "        version: 9.9.9\n"
               "        network: %s\n"
               "        media_volume: %s-media\n"
               "        db: {hostname: db, password: pw}\n" % (name, name, name))
    assert res.failed, res
    _task, msg = res.failure()
    # version names the images in the first repository of coreapp_images (the play's, through module_defaults).
    assert "%s/coreapp:v9.9.9" % prefix in msg and "docker load" in msg and "Nothing was changed" in msg
    assert snapshot(name) == before == ({}, [], [])


def test_install_refuses_broken_topologies(play, prefix):
    name = "%s-bad" % prefix
    base = dict(stack_install_name=name, stack_install_version=OLD, stack_install_db_password=DB_PASSWORD,
                stack_install_db_container=True)
    cases = [
        (dict(stack_install_masters=0, stack_install_coreapps=3), "0 Master(s), 3 CoreApp(s)"),
        (dict(stack_install_masters=2, stack_install_coreapps=1, stack_install_shards=2), "2 shard(s)"),
        (dict(stack_install_masters=2, stack_install_coreapps=3, stack_install_shards=3), "3 shard(s)"),
        (dict(stack_install_masters=1, stack_install_coreapps=1, stack_install_webapps=0), "0 Webapp(s)"),
    ]
    outcomes = role_cases(play, [dict(base, **c[0]) for c in cases], "stack_install")
    for (counts, words), msg in zip(cases, outcomes):
        assert "Refusing the topology" in msg and words in msg and "Nothing was changed" in msg, (counts, msg)
    assert len(outcomes) == len(cases)
    assert snapshot(name) == ({}, [], [])


def test_install_validates_the_totals_over_several_docker_hosts(play, prefix):
    """Each Docker host sets its own counts; the role validates the sum once, before any host changes."""
    common = dict(stack_install_version=OLD, stack_install_db_password=DB_PASSWORD, stack_install_masters=0,
                  stack_install_coreapps=1)
    inventory = {"host-a": dict(common, stack_install_name="%s-ha" % prefix),
                 "host-b": dict(common, stack_install_name="%s-hb" % prefix)}
    res = play("  roles:\n    - wabiz.api_client.stack_install\n", inventory=inventory)
    assert res.failed, res
    _task, msg = res.failure()
    assert "0 Master(s), 2 CoreApp(s), 2 Webapp(s)" in msg and "total over 2 Docker host(s)" in msg
    assert snapshot("%s-h" % prefix) == ({}, [], [])


def emulator_network(standin, name):
    """A user-defined network with the WhatsApp network stand-in on it; returns a free host port for a Webapp."""
    docker("network", "create", name)
    standin.attach(name)
    return free_port()


def emulator_state(port, timeout=10):
    """The emulator's admin view (``/_emulator/state``) of the setup behind the Webapp on ``port``."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen("https://127.0.0.1:%d/_emulator/state" % port, timeout=timeout,
                                context=context) as resp:
        return json.loads(resp.read())


def test_install_spread_over_two_docker_hosts_forms_one_setup(play, prefix, standin, run_images):
    """Two Docker hosts of one play, each with its own stack name and its share of the counts: host a runs the
    database, the Webapp, 1 Master and 2 CoreApps; host b 1 Master and 1 CoreApp. (Both hosts are this engine
    with a local connection: distinct stack names keep their container names apart, as on real hosts.) The
    nodes of both register in the one database: the Webapp sees one setup of 2 Masters and 3 CoreApps."""
    net = "%s-spread" % prefix
    port = emulator_network(standin, net)
    try:
        common = dict(stack_install_db_password=DB_PASSWORD, stack_install_shards=2, stack_install_network=net,
                      stack_install_db_hostname="%s-a-db" % prefix, stack_install_web_port=port,
                      **image_vars(run_images, prefix))
        inventory = {
            "host-a": dict(common, stack_install_name="%s-a" % prefix, stack_install_db_container=True,
                           stack_install_masters=1, stack_install_coreapps=2, stack_install_webapps=1),
            "host-b": dict(common, stack_install_name="%s-b" % prefix, stack_install_masters=1,
                           stack_install_coreapps=1, stack_install_webapps=0),
        }
        res = play("  roles:\n    - wabiz.api_client.stack_install\n", inventory=inventory)
        assert not res.failed, res
        assert sorted(containers("%s-a-" % prefix)) == sorted(
            ["%s-a-db" % prefix, "%s-a-master1" % prefix, "%s-a-wacore1" % prefix, "%s-a-wacore2" % prefix,
             "%s-a-waweb1" % prefix])
        assert sorted(containers("%s-b-" % prefix)) == ["%s-b-master1" % prefix, "%s-b-wacore1" % prefix]
        # One setup: 2 Masters and 3 CoreApps over both hosts, one primary Master (the election takes a moment).
        wanted = ["coreapp", "coreapp", "coreapp", "primary_master", "secondary_master"]
        deadline = time.monotonic() + 90
        while True:
            state = emulator_state(port)
            roles = sorted(v["role"] for v in state["health"].values())
            if roles == wanted or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert roles == wanted, state["health"]
        assert (state["topology"]["masters"], state["topology"]["coreapps"]) == (2, 3), state["nodes"]
        names = sorted(n["name"] for n in state["nodes"])
        assert len([n for n in names if n.startswith("%s-a-" % prefix)]) == 3, names
        assert len([n for n in names if n.startswith("%s-b-" % prefix)]) == 2, names
        again = play("  roles:\n    - wabiz.api_client.stack_install\n", inventory=inventory)
        assert not again.failed and again.changed == 0, again
    finally:
        standin.detach(net)


# -- single instance -------------------------------------------------------------------------------------------

def test_single_instance_install_rerun_uninstall(play, prefix, standin, run_images):
    name = "%s-single" % prefix
    port = emulator_network(standin, name)
    variables = dict(stack_install_name=name, stack_install_db_password=DB_PASSWORD,
                     stack_install_db_container=True, stack_install_web_port=port, **image_vars(run_images, prefix))
    res = play(install_role(**variables))
    assert not res.failed, res
    result = res.result("Run the Masters, CoreApps and Webapps")
    assert result["created"] == ["%s-wacore1" % name, "%s-waweb1" % name]
    now = containers(name)
    assert {n: s for n, (_i, s) in now.items()} == {
        "%s-db" % name: "running", "%s-wacore1" % name: "running", "%s-waweb1" % name: "running"}
    assert https_status(port) is not None, "the Webapp does not answer HTTPS"

    again = play(install_role(**variables))
    assert not again.failed and again.changed == 0, again
    assert containers(name) == now

    gone = play(role("stack_uninstall", stack_uninstall_name=name))
    assert not gone.failed, gone
    assert {n: s for n, (_i, s) in containers(name).items()} == {"%s-db" % name: "running"}
    assert "%s-db-data" % name in snapshot(name)[1] and "%s-media" % name in snapshot(name)[1]
    standin.detach(name)


# -- multiconnect: install, idempotence, preflight, version change, uninstall ----------------------------------------

@pytest.fixture(scope="module")
def multi(play, prefix, standin, run_images):
    name = "%s-multi" % prefix
    port = emulator_network(standin, name)
    variables = dict(stack_install_name=name, stack_install_db_password=DB_PASSWORD,
                     stack_install_db_container=True, stack_install_web_port=port, stack_install_masters=2,
                     stack_install_coreapps=3, stack_install_shards=2, **image_vars(run_images, prefix))
    res = play(install_role(**variables))
    yield dict(name=name, port=port, vars=variables, first=res, images=run_images, prefix=prefix)
    standin.detach(name)


def test_multiconnect_runs_and_answers(multi):
    res = multi["first"]
    assert not res.failed, res
    name = multi["name"]
    states = {n: s for n, (_i, s) in containers(name).items()}
    expected = ["%s-db" % name] + ["%s-master%d" % (name, i) for i in (1, 2)] + [
        "%s-wacore%d" % (name, i) for i in (1, 2, 3)] + ["%s-waweb1" % name]
    assert sorted(states) == sorted(expected)
    assert set(states.values()) == {"running"}
    assert https_status(multi["port"]) is not None


def test_multiconnect_stack_info_counts(play, multi):
    res = play("  tasks:\n    - wabiz.api_client.stack_info:\n        name: %s\n        coreapp_images: [%s/coreapp]\n"
               "        web_images: [%s/web]\n" % (multi["name"], multi["prefix"], multi["prefix"]))
    info = res.result("stack_info")
    assert len(info["stacks"]) == 1
    st = info["stacks"][0]
    assert st["counts"] == {"masters": 2, "coreapps": 3, "webapps": 1, "databases": 1}
    assert st["managed"] is True and st["version"] == OLD and st["web_port"] == multi["port"]
    assert DB_PASSWORD not in repr(info)


def test_multiconnect_rerun_changes_nothing(play, multi):
    before = containers(multi["name"])
    res = play(install_role(**multi["vars"]))
    assert not res.failed and res.changed == 0, res
    assert containers(multi["name"]) == before


def role_cases(play, cases, role_name="preflight", secrets=()):
    """Run a role once per case in ONE play (block/rescue); returns each case's failure message (or "PASSED").
    One play instead of one per case keeps the suite fast on a loaded machine."""
    body = "  tasks:\n"
    for i, variables in enumerate(cases):
        body += ("    - name: Case %d\n"
                 "      block:\n"
                 "        - name: Role case %d\n"
                 "          ansible.builtin.include_role:\n"
                 "            name: wabiz.api_client.%s\n"
                 "          vars: %s\n"
                 "        - name: Record a pass\n"
                 "          ansible.builtin.set_fact:\n"
                 "            wabiz_it_outcomes: \"{{ wabiz_it_outcomes | default([]) + ['PASSED'] }}\"\n"
                 "      rescue:\n"
                 "        - name: Record the failure\n"
                 "          ansible.builtin.set_fact:\n"
                 "            wabiz_it_outcomes: \"{{ wabiz_it_outcomes | default([]) + [ansible_failed_result.msg] }}\"\n"
                 % (i, i, role_name, _yaml(variables)))
    body += "    - name: Outcomes\n      ansible.builtin.debug:\n        var: wabiz_it_outcomes\n"
    res = play(body)
    assert not res.failed, res
    for secret in secrets:
        assert secret not in repr(res.data)
    return res.result("Outcomes")["wabiz_it_outcomes"]


def test_preflight_fails_on_each_mismatch_and_changes_nothing(play, prefix, multi, tmp_path):
    old = dict(preflight_old_stack_name=multi["name"], preflight_old_shards=2)
    same = dict(old, preflight_new_masters=2, preflight_new_coreapps=3, preflight_new_shards=2)
    cases = [
        (dict(same, preflight_new_masters=1), "The new setup has 1 Master(s), the old has 2"),
        (dict(same, preflight_new_coreapps=4), "The new setup has 4 CoreApp(s), the old has 3"),
        (dict(same, preflight_new_shards=4), "The new setup has 4 shard(s), the old has 2"),
        (dict(same, preflight_new_images=["wabiz-emulator/coreapp:v0.0.1"]), "wabiz-emulator/coreapp:v0.0.1"),
        (dict(same, preflight_required_secrets={"backup_password": "", "admin_password": "x"}),
         "Required secret(s) missing or empty: backup_password."),
        (dict(same, preflight_backup_dir=str(tmp_path / "nope")), "does not exist"),
        (dict(same, preflight_backup_dir=str(tmp_path), preflight_backup_min_free_mb=10 ** 9), "MiB free"),
        (dict(same, preflight_db_host="127.0.0.1", preflight_db_port=free_port(), preflight_db_timeout=1),
         "does not accept connections"),
        (dict(old, preflight_old_stack_name="%s-nosuchstack" % prefix, preflight_new_masters=2,
              preflight_new_coreapps=3), "has no CoreApp"),
    ]
    before = snapshot(prefix)
    outcomes = role_cases(play, [c[0] for c in cases])
    for (variables, words), outcome in zip(cases, outcomes):
        assert words in outcome and "Nothing was changed" in outcome, (variables, outcome)
    assert len(outcomes) == len(cases)
    assert snapshot(prefix) == before


def test_preflight_passes_when_the_counts_match(play, multi, tmp_path):
    res = play(role("preflight", preflight_old_stack_name=multi["name"], preflight_old_shards=2,
                    preflight_new_masters=2, preflight_new_coreapps=3, preflight_new_shards=2,
                    preflight_new_images=["wabiz-emulator/coreapp:v%s" % NEW, "wabiz-emulator/web:v%s" % NEW],
                    preflight_backup_dir=str(tmp_path), preflight_required_secrets={"backup_password": "x"}))
    assert not res.failed, res
    assert res.changed == 0


def test_check_mode_reports_the_change_and_changes_nothing(play, prefix, multi):
    name = multi["name"]
    before = snapshot(prefix)
    variables = dict(multi["vars"], stack_install_masters=2, stack_install_coreapps=4)
    body = install_role(**variables).replace("  roles:", "  check_mode: true\n  diff: true\n  roles:", 1)
    res = play(body)
    assert not res.failed, res
    result = res.result("Run the Masters, CoreApps and Webapps")
    assert result["changed"] is True and result["created"] == ["%s-wacore4" % name]
    after_names = [c["name"] for c in result["diff"]["after"]["containers"]]
    before_names = [c["name"] for c in result["diff"]["before"]["containers"]]
    assert "%s-wacore4" % name in after_names and "%s-wacore4" % name not in before_names
    assert DB_PASSWORD not in repr(result)
    assert snapshot(prefix) == before


def test_changed_web_version_recreates_only_the_webapp(play, multi):
    name = multi["name"]
    before = containers(name)
    variables = dict(multi["vars"], stack_install_web_image=multi["images"][("web", NEW)])
    res = play(install_role(**variables))
    assert not res.failed, res
    result = res.result("Run the Masters, CoreApps and Webapps")
    assert result["recreated"] == ["%s-waweb1" % name] and result["created"] == [] and result["removed"] == []
    after = containers(name)
    changed = sorted(n for n in after if after[n][0] != before[n][0])
    assert changed == ["%s-waweb1" % name]
    assert docker("inspect", "--format", "{{.Config.Image}}", "%s-waweb1" % name) == multi["images"][("web", NEW)]
    assert https_status(multi["port"]) is not None


def test_restarted_restarts_only_the_roles_asked_for(play, multi):
    name = multi["name"]

    def started():
        return {n: docker("inspect", "--format", "{{.State.StartedAt}}", n) for n in containers(name)}

    before = started()
    task = ("  tasks:\n    - wabiz.api_client.stack:\n        name: %s\n        state: restarted\n"
            "        restart_roles: [master, coreapp]\n        stop_timeout: 5\n" % name)
    res = play(task.replace("  tasks:", "  check_mode: true\n  tasks:"))
    assert not res.failed and res.changed == 1, res
    assert started() == before, "check mode restarted a container"
    res = play(task)
    assert not res.failed and res.changed == 1, res
    result = res.result("wabiz.api_client.stack")
    wanted = ["%s-master%d" % (name, i) for i in (1, 2)] + ["%s-wacore%d" % (name, i) for i in (1, 2, 3)]
    assert sorted(result["restarted"]) == sorted(wanted)
    after = started()
    assert set(n for n in after if after[n] != before[n]) == set(wanted)
    assert set(s for _i, s in containers(name).values()) == {"running"}
    assert https_status(multi["port"]) is not None
    # A stack without app containers on this host: a clear failure, nothing touched.
    res = play(task.replace("name: %s" % name, "name: %s-nosuch" % name))
    assert res.failed and "has no app container" in res.failure()[1], res


def test_stopped_then_present_again(play, multi):
    name = multi["name"]
    res = play("  tasks:\n    - wabiz.api_client.stack:\n        name: %s\n        state: stopped\n"
               "        stop_timeout: 5\n" % name)
    assert not res.failed, res
    assert len(res.result("wabiz.api_client.stack")["stopped"]) == 6
    states = {n: s for n, (_i, s) in containers(name).items()}
    assert states.pop("%s-db" % name) == "running" and set(states.values()) == {"exited"}
    variables = dict(multi["vars"], stack_install_web_image=multi["images"][("web", NEW)])
    res = play(install_role(**variables))
    assert not res.failed, res
    result = res.result("Run the Masters, CoreApps and Webapps")
    assert len(result["started"]) == 6 and result["created"] == [] and result["recreated"] == []
    assert set(s for _i, s in containers(name).values()) == {"running"}
    assert https_status(multi["port"]) is not None


def test_uninstall_keeps_db_data_and_volumes(play, multi):
    name = multi["name"]
    db = "%s-db" % name
    sql(db, "CREATE DATABASE IF NOT EXISTS wabiz_it; CREATE TABLE IF NOT EXISTS wabiz_it.t (v VARCHAR(40)); "
            "INSERT INTO wabiz_it.t VALUES ('written-before-uninstall');")
    vols_before = snapshot(name)[1]
    res = play(role("stack_uninstall", stack_uninstall_name=name))
    assert not res.failed, res
    result = res.result("Remove the Master, CoreApp and Webapp containers")
    assert sorted(result["removed"]) == sorted(
        ["%s-master%d" % (name, i) for i in (1, 2)] + ["%s-wacore%d" % (name, i) for i in (1, 2, 3)] + ["%s-waweb1" % name])
    assert [d["name"] for d in result["kept"]["databases"]] == [db]
    # The module checked the kept database itself (the role's verify_databases): it runs and speaks MySQL.
    assert result["kept"]["databases"][0]["answers"] is True and result["kept"]["databases"][0]["running"]
    assert {n: s for n, (_i, s) in containers(name).items()} == {db: "running"}
    assert sql(db, "SELECT v FROM wabiz_it.t") == "written-before-uninstall"
    assert snapshot(name)[1] == vols_before and "%s-db-data" % name in vols_before and "%s-media" % name in vols_before
    again = play(role("stack_uninstall", stack_uninstall_name=name))
    assert not again.failed and again.changed == 0, again
    # A stopped database fails the check, naming it; nothing else is touched.
    docker("stop", db)
    try:
        stopped = play(role("stack_uninstall", stack_uninstall_name=name, stack_uninstall_db_wait_timeout=2))
        assert stopped.failed, stopped
        task, msg = stopped.failure()
        assert "Remove the Master, CoreApp and Webapp containers" in task and db in msg and "does not answer" in msg
        assert containers(name)[db][1] == "exited"
    finally:
        docker("start", db)


# -- Meta's official multiconnect compose layout -----------------------------------------------------------------------

def test_official_compose_stack_info_and_uninstall(play, prefix, standin):
    fast = {"WA_EMULATOR_TICK_SECONDS": "0.5", "WA_EMULATOR_LEASE_SECONDS": "4", "WA_EMULATOR_INIT_SECONDS": "1"}
    stack = dockerctl.Stack("%s-compose" % prefix, layout="multiconnect", version=OLD, db_env=fast)
    try:
        stack.up()
        stack.attach_network(standin)
        project = stack.project
        res = play("  tasks:\n    - wabiz.api_client.stack_info:\n        name: %s\n      register: info\n" % project)
        st = res.result("stack_info")["stacks"][0]
        assert st["compose_project"] == project and st["managed"] is False
        assert st["counts"] == {"masters": 2, "coreapps": 3, "webapps": 1, "databases": 1}
        db = stack.container("db")
        assert [d["name"] for d in st["databases"]] == [db]
        assert sorted(st["volumes"]) == ["%s_mysqlData" % project, "%s_whatsappMedia" % project]
        assert st["db"]["hostname"] == "db" and "testpass" not in repr(st)

        # The preflight reads the old setup's shard count through its API (account_info).
        stack.seed("15550001234", shards=2, admin_password=ADMIN_PASSWORD)
        stack.wait_health(stack.login(ADMIN_PASSWORD), expect_shards=2)
        api = dict(api_url=stack.web_url(), api_username="admin", api_password=ADMIN_PASSWORD, validate_certs=False)
        counts = dict(preflight_old_stack_name=project, preflight_old_api=api, preflight_new_masters=2,
                      preflight_new_coreapps=3)
        before = snapshot(project)
        # Without the API the shard count of a multiconnect setup is unknown and the preflight would fail:
        # the pass with 2 shards shows that they were read through the API.
        outcomes = role_cases(play, [dict(counts, preflight_new_shards=4), dict(counts, preflight_new_shards=2)],
                              secrets=[ADMIN_PASSWORD])
        assert "The new setup has 4 shard(s), the old has 2" in outcomes[0] and outcomes[1] == "PASSED", outcomes
        assert snapshot(project) == before

        sql(db, "CREATE DATABASE IF NOT EXISTS wabiz_it; CREATE TABLE IF NOT EXISTS wabiz_it.t (v VARCHAR(40)); "
                "INSERT INTO wabiz_it.t VALUES ('compose-row');", password="testpass")
        res = play(role("stack_uninstall", stack_uninstall_name=project))
        assert not res.failed, res
        left = stack.containers()
        assert list(left) == ["db"], left
        assert docker("inspect", "--format", "{{.State.Status}}", db) == "running"
        assert sql(db, "SELECT v FROM wabiz_it.t", password="testpass") == "compose-row"
        vols = docker("volume", "ls", "--format", "{{.Name}}").split()
        assert "%s_mysqlData" % project in vols and "%s_whatsappMedia" % project in vols
    finally:
        stack.down(volumes=True)


# -- images: archive and pull -------------------------------------------------------------------------------------------

def test_image_source_archive_loads_missing_images(play, prefix, tmp_path):
    name = "%s-arch" % prefix
    core, web = "%s/coreapp:v%s" % (prefix, OLD), "%s/web:v%s" % (prefix, OLD)
    archive = tmp_path / "images.tar"
    docker("tag", "wabiz-emulator/coreapp:v%s" % OLD, core)
    docker("tag", "wabiz-emulator/web:v%s" % OLD, web)
    try:
        docker("save", "-o", str(archive), core, web)
        docker("rmi", core, web)
        task = ("  tasks:\n"
                "    - wabiz.api_client.stack:\n"
                "        name: %s\n"
                "        coreapp_image: %s\n"
                "        web_image: %s\n"
                "        image_source: archive\n"
                "        image_archive: [%s]\n"
                "        network: %s\n"
                "        wait: false\n"
                "        coreapp_images: [%s/coreapp]\n"
                "        web_images: [%s/web]\n"
                "        db: {hostname: nowhere, password: pw}\n")
        # An archive that cannot be read: fails, naming it; no container was made.
        res = play(task % (name, core, web, tmp_path / "missing.tar", name, prefix, prefix))
        assert res.failed and "Cannot read image archive" in res.failure()[1], res
        assert containers(name) == {}
        res = play(task % (name, core, web, archive, name, prefix, prefix))
        assert not res.failed, res
        result = res.result("wabiz.api_client.stack")
        assert result["images"] == {core: "loaded", web: "loaded"}
        assert sorted(result["created"]) == ["%s-wacore1" % name, "%s-waweb1" % name]
        assert docker("inspect", "--format", "{{.Config.Image}}", "%s-wacore1" % name) == core
    finally:
        ids = docker("ps", "-aq", "--filter", "name=^/%s" % name, check=False).split()
        if ids:
            docker("rm", "-f", *ids, check=False)
        docker("rmi", core, web, check=False)


def test_image_source_pull_failure_changes_nothing(play, prefix):
    name = "%s-pull" % prefix
    res = play("  tasks:\n"
               "    - wabiz.api_client.stack:\n"
               "        name: %s\n"
               "        coreapp_image: 127.0.0.1:1/wabiz-it/coreapp:v1\n"
               "        web_image: wabiz-emulator/web:v%s\n"
               "        image_source: pull\n"
               "        network: %s\n"
               "        db: {hostname: db, password: pw}\n" % (name, OLD, name))
    assert res.failed and "Cannot pull image 127.0.0.1:1/wabiz-it/coreapp:v1" in res.failure()[1], res
    assert snapshot(name) == ({}, [], [])


# -- a stack made by hand (docker run, no labels) -----------------------------------------------------------------------

def test_hand_made_stack_is_recognised_and_uninstalled_keeping_its_db(play, prefix):
    net = "%s-hand" % prefix
    db, core, web = "%s-hand-mydb" % prefix, "%s-hand-core" % prefix, "%s-hand-web" % prefix
    env = ["-e", "WA_DB_ENGINE=MYSQL", "-e", "WA_DB_HOSTNAME=%s" % db, "-e", "WA_DB_PORT=3306",
           "-e", "WA_DB_USERNAME=root", "-e", "WA_DB_PASSWORD=%s" % DB_PASSWORD]
    command = ["/opt/whatsapp/bin/wait_on_mysql.sh", "/opt/whatsapp/bin/launch_within_docker.sh"]
    docker("network", "create", net)
    docker("run", "-d", "--name", db, "--network", net, "-e", "MYSQL_ROOT_PASSWORD=%s" % DB_PASSWORD,
           "-v", "%s-data:/var/lib/mysql" % db, DB_IMAGE)
    # Secrets a field setup carries beside WA_DB_PASSWORD: masked by name (MYSQL_PWD) and by value (DSN, proxy).
    leaky = dict(MYSQL_PWD="Pwd-Secret-31", DATABASE_URL="mysql://wa:Dsn-Secret-32@%s:3306/wa" % db,
                 HTTPS_PROXY="http://px:Proxy-Secret-33@proxy.example:3128",
                 PG_CONNECTION="host=%s user=wa password=Kv-Secret-34 dbname=wa" % db)
    extra = [item for k, val in sorted(leaky.items()) for item in ("-e", "%s=%s" % (k, val))]
    docker("run", "-d", "--name", core, "--network", net, *env, *extra, "-e", "COREAPP_HOSTNAME=%s" % core,
           "-v", "%s-media:/usr/local/wamedia" % net, "wabiz-emulator/coreapp:v%s" % OLD, *command)
    docker("run", "-d", "--name", web, "--network", net, *env, "-e", "WACORE_HOSTNAME=%s" % core,
           "-v", "%s-media:/usr/local/wamedia" % net, "wabiz-emulator/web:v%s" % OLD, *command)
    res = play("  tasks:\n    - wabiz.api_client.stack_info:\n        name: %s\n" % net)
    stacks = res.result("stack_info")["stacks"]
    assert len(stacks) == 1 and stacks[0]["managed"] is False and stacks[0]["compose_project"] is None
    assert stacks[0]["counts"] == {"masters": 0, "coreapps": 1, "webapps": 1, "databases": 1}
    assert stacks[0]["databases"][0]["name"] == db and DB_PASSWORD not in repr(stacks)
    core_env = stacks[0]["coreapps"][0]["env"]
    assert core_env["MYSQL_PWD"] == "********" and core_env["DATABASE_URL"] == "mysql://********@%s:3306/wa" % db
    assert core_env["HTTPS_PROXY"] == "http://********@proxy.example:3128"
    assert core_env["PG_CONNECTION"] == "host=%s user=wa password=******** dbname=wa" % db
    for secret in [DB_PASSWORD] + ["%s-Secret-3%d" % (w, i) for i, w in enumerate(("Pwd", "Dsn", "Proxy", "Kv"), 1)]:
        assert secret not in json.dumps(res.data) and secret not in res.stderr
    # An image list that names the database image never makes the database an app container (issue 23.8): its
    # container (no label: made by hand) is kept, running, with its data.
    res = play(role("stack_uninstall", stack_uninstall_name=net,
                    stack_uninstall_coreapp_images=["wabiz-emulator/coreapp", "wabiz-emulator/mysql"],
                    stack_uninstall_web_images=["wabiz-emulator/web", DB_IMAGE]))
    assert not res.failed, res
    assert sorted(res.result("Remove the Master, CoreApp and Webapp containers")["removed"]) == sorted([core, web])
    assert {n: s for n, (_i, s) in containers("%s-hand" % prefix).items()} == {db: "running"}
    vols = docker("volume", "ls", "--format", "{{.Name}}").split()
    assert "%s-data" % db in vols and "%s-media" % net in vols
