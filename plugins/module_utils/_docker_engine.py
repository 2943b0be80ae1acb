# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Calls to the Docker engine (thin wrappers around the SDK's low-level client), used by the Docker modules
through ``_docker.DockerModule`` and by ``_stack.StackManager``.

PRIVATE to this collection: no compatibility promise to other collections.

It owns, in one place: reading container records, getting images (present, pull, load an archive),
networks and volumes, creating, removing and waiting for containers. An engine error is
a ``DockerException``; a refusal is a ``_docker.DockerFailure``; ``DockerModule.docker_errors()`` turns
both into one clear failure.
"""

from __future__ import annotations

from ansible_collections.wabiz.api_client.plugins.module_utils import _stack_model as m, _wait
from ansible_collections.wabiz.api_client.plugins.module_utils._answer import read
from ansible_collections.wabiz.api_client.plugins.module_utils._docker import (
    APIError, DockerException, DockerFailure, ImageNotFound, NotFound, engine_step)

#: How a message names an engine call whose answer is read (``_answer.read``).
CALL = "%s of the Docker engine"


def list_records(client, filters=None):
    """Records of every container (running or not) matching ``filters``."""
    records, listed = [], client.containers(all=True, filters=filters or {})
    for index in range(len(read(listed, CALL % "containers", list))):
        record = find_container(client, read(listed, CALL % "containers", "text", index, "Id"))
        if record:  # else removed meanwhile
            records.append(record)
    return records


def find_container(client, name_or_id):
    """The record of one container (see ``_stack_model.summarize_container``), or None when there is none."""
    try:
        return m.summarize_container(client.inspect_container(name_or_id))
    except NotFound:
        return None


# --------------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------------

def image_id(client, image):
    """The id of a local image, or None when it is not on the host."""
    try:
        return read(client.inspect_image(image), CALL % "inspect_image", "text", "Id")
    except (ImageNotFound, NotFound):
        return None


def _drain(stream, call):
    """Read an engine progress stream to its end; raise DockerException(engine's message) on an error line.

    The SDK's ``load_image`` and streamed ``pull`` return generators: the engine finishes the work only
    while the response is read, and reports failures as ``{"error": ...}`` lines, not as HTTP errors.
    """
    for line in stream or ():
        detail = (read(line, call, str, "error", required=False)
                  or read(line, call, str, "errorDetail", "message", required=False))
        if detail:
            raise DockerException(detail)


def load_archive(client, fh):
    """``docker load`` from an open binary file; returns when the engine has finished loading."""
    _drain(client.load_image(fh), CALL % "load_image")


def pull_image(client, image):
    """``docker pull``; returns when the engine has the image, raises DockerException otherwise."""
    repo, tag = m.split_image(image)
    _drain(client.pull(repo, tag=tag or "latest", stream=True, decode=True), CALL % "pull")


def _load_archives(client, archives, check_mode):
    for path in archives:
        try:
            with open(path, "rb") as fh:
                if not check_mode:
                    with engine_step("docker load of %s failed: {error}. No container was changed." % path):
                        load_archive(client, fh)
        except (IOError, OSError) as exc:
            raise DockerFailure("Cannot read image archive %s: %s. Nothing was changed." % (path, exc))


def ensure_images(client, names, source="present", archives=(), check_mode=False, sources=("present", "pull", "archive")):
    """Every image of ``names`` on the host, checked first, then obtained per ``source`` (``present``: must be
    there; ``pull``; ``archive``: ``docker load`` of ``archives``; ``sources``: those the module offers, named
    in the messages). Raises DockerFailure before any container changes when an image is missing and not obtained.

    Returns ``(status, ids, changed)``: image -> ``present``/``pulled``/``loaded`` (``would pull``/``would
    load`` in check mode), image -> id, and whether an image was (or would be) obtained.
    """
    status, ids, missing = {}, {}, []
    for image in names:
        ids[image] = image_id(client, image)
        if ids[image]:
            status[image] = "present"
        else:
            missing.append(image)
    if not missing:
        return status, ids, False
    if source == "present":
        raise DockerFailure("Image(s) not on the Docker host: %s. Load them first (docker load -i <tarball>)%s%s. "
                            "Nothing was changed." % (
                                ", ".join(missing),
                                ", or set image_source=archive with image_archive" if "archive" in sources else "",
                                ", or set image_source=pull when a registry is reachable" if "pull" in sources else ""),
                            missing_images=missing)
    if source == "archive":
        if not archives:
            raise DockerFailure("Image(s) not on the Docker host: %s, and image_source=archive needs image_archive. "
                                "Nothing was changed." % ", ".join(missing), missing_images=missing)
        _load_archives(client, archives, check_mode)
    for image in missing:
        if check_mode:
            status[image] = "would load" if source == "archive" else "would pull"
            continue
        if source == "pull":
            with engine_step("Cannot pull image %s: {error}. Load it with docker load%s. Nothing else was changed."
                             % (image, ", or use image_source=archive" if "archive" in sources else ""),
                             missing_images=[image]):
                pull_image(client, image)
        ids[image] = image_id(client, image)
        if not ids[image]:
            raise DockerFailure("Image %s is still missing after loading %s: the archive does not contain it. "
                                "Nothing else was changed." % (image, ", ".join(archives)), missing_images=[image])
        status[image] = "loaded" if source == "archive" else "pulled"
    return status, ids, True


# --------------------------------------------------------------------------------------------------
# Networks, volumes, containers
# --------------------------------------------------------------------------------------------------

def ensure_network(client, name, labels=None, check_mode=False):
    """Create a user-defined bridge network when missing; True when it was (or would be) created."""
    if not name or name in m.DEFAULT_NETWORKS:
        return False
    found, call = client.networks(names=[name]), CALL % "networks"
    if name in [read(found, call, str, i, "Name") for i in range(len(read(found, call, list)))]:
        return False
    if not check_mode:
        client.create_network(name, driver="bridge", labels=labels or {}, check_duplicate=True)
    return True


def volume_exists(client, name):
    try:
        client.inspect_volume(name)
        return True
    except NotFound:
        return False


def ensure_volume(client, name, labels=None, check_mode=False):
    """Create a named volume when missing; True when it was (or would be) created."""
    if not name or name.startswith("/") or volume_exists(client, name):
        return False
    if not check_mode:
        client.create_volume(name=name, labels=labels or {})
    return True


def create_container(client, spec):
    """Create and start a container from a spec (see ``_stack_model.desired_specs``); returns its id."""
    binds = []
    for mount in spec.get("mounts") or []:
        binds.append("%s:%s%s" % (mount["source"], mount["target"], ":ro" if mount.get("read_only") else ""))
    port_bindings = {}
    exposed = []
    for cport, hport in (spec.get("ports") or {}).items():
        number, _sep, proto = cport.partition("/")
        key = (int(number), proto or "tcp")
        exposed.append(key if key[1] != "tcp" else key[0])
        port_bindings[key[0] if key[1] == "tcp" else "%d/%s" % key] = hport
    host_config = client.create_host_config(
        binds=binds or None,
        port_bindings=port_bindings or None,
        restart_policy={"Name": spec.get("restart_policy") or "no"},
        network_mode=spec.get("network") or None,
    )
    networking_config = None
    if spec.get("network"):
        networking_config = client.create_networking_config({
            spec["network"]: client.create_endpoint_config(aliases=spec.get("aliases") or None)})
    container = client.create_container(
        image=spec["image"],
        command=spec.get("command") or None,
        name=spec["name"],
        hostname=spec.get("hostname"),
        environment=["%s=%s" % kv for kv in sorted((spec.get("env") or {}).items())],
        labels=spec.get("labels") or {},
        ports=exposed or None,
        host_config=host_config,
        networking_config=networking_config,
    )
    cid = read(container, CALL % "create_container", "text", "Id")
    client.start(cid)
    return cid


def remove_container(client, name_or_id, stop_timeout=10):
    try:
        client.stop(name_or_id, timeout=stop_timeout)
    except NotFound:
        return
    except APIError:
        pass
    try:
        client.remove_container(name_or_id, force=True)
    except NotFound:
        pass


def container_logs(client, name_or_id, lines=20):
    try:
        text = client.logs(name_or_id, tail=lines)
        return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    except Exception:  # pylint: disable=broad-except
        return ""


def wait_running(client, names, timeout, settle=2.0):
    """Wait until every named container runs and has kept running for ``settle`` seconds.

    Returns None, or an error text naming the container that exited (with its last log lines).
    """
    seen = dict(problems=[], stable_since=None)

    def check(deadline):
        problems = seen["problems"] = []
        for name in names:
            try:
                answer = client.inspect_container(name)
            except NotFound:
                problems.append((name, "missing"))
                continue
            record = m.summarize_container(answer)
            if record["state"] in ("exited", "dead"):
                problems.append((name, "exited with code %s" % read(
                    answer, CALL % "inspect_container", int, "State", "ExitCode", required=False)))
            elif not record["running"]:
                problems.append((name, record["state"]))
        if problems:
            seen["stable_since"] = None
            return False
        if seen["stable_since"] is None:
            seen["stable_since"] = deadline.clock()
        return deadline.clock() - seen["stable_since"] >= settle

    if _wait.poll(check, timeout, 0.5)[0]:
        return None
    name, what = (seen["problems"] or [(names[0], "unstable")])[0]
    logs = container_logs(client, name)
    return "container %s is not running after %ss (%s)%s" % (
        name, timeout, what, ("; last log lines:\n" + logs) if logs else "")
