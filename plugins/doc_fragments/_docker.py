# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker connection options every Docker module shares (private to this collection)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
attributes:
  idempotent:
    description:
      - When run again with the same options on the same state, the module reports no change and changes
        nothing on the Docker host.
  action_group:
    description: Action is part of action_group(s), for convenient setting of module_defaults.
    support: full
    membership:
      - wabiz.api_client.docker
options:
  docker_host:
    description:
      - The Docker engine to talk to, for example V(unix:///var/run/docker.sock) or V(tcp://10.0.0.5:2376).
      - If not set, the environment variable E(DOCKER_HOST) is used, else the local socket.
      - The modules run on the managed host; normally they use its local engine.
    type: str
    default: unix:///var/run/docker.sock
  tls:
    description:
      - Talk TLS to the engine without verifying its certificate (see O(validate_certs)).
      - If not set, the environment variable E(DOCKER_TLS) is used.
    type: bool
    default: false
  validate_certs:
    description:
      - Talk TLS to the engine and verify its certificate against O(ca_path).
      - If not set, the environment variable E(DOCKER_TLS_VERIFY) is used.
    type: bool
    default: false
  ca_path:
    description:
      - CA certificate (PEM) that signed the engine's certificate.
      - If not set and the environment variable E(DOCKER_CERT_PATH) is set, C(ca.pem) in that directory.
    type: path
  client_cert:
    description:
      - Client certificate (PEM) for TLS client authentication.
      - If not set and the environment variable E(DOCKER_CERT_PATH) is set, C(cert.pem) in that directory.
    type: path
  client_key:
    description:
      - Key of O(client_cert).
      - If not set and the environment variable E(DOCKER_CERT_PATH) is set, C(key.pem) in that directory.
    type: path
  timeout:
    description:
      - Seconds to wait for one answer of the Docker engine; from 1 to 3600.
      - If not set, the environment variable E(DOCKER_TIMEOUT) is used.
    type: int
    default: 60
requirements:
  - docker (the Docker SDK for Python) >= 7.0
notes:
  - "Set the connection once for all Docker modules with
    C(module_defaults: {group/wabiz.api_client.docker: {docker_host: ...}})."
  - The collection does not need C(community.docker).
"""

    #: The options for recognising WhatsApp Business API containers.
    DISCOVERY = r"""
options:
  coreapp_images:
    description:
      - Image repositories (tags ignored) whose containers are CoreApps, or Masters when their environment
        has C(WA_MASTER_NODE=1).
      - Add the names of a private mirror here, for example V(registry.example.com/whatsapp/coreapp).
      - Containers labelled C(biz.wabiz.role) by this collection are recognised whatever their image.
    type: list
    elements: str
    default: [docker.whatsapp.biz/coreapp]
  web_images:
    description:
      - Image repositories (tags ignored) whose containers are Webapps.
    type: list
    elements: str
    default: [docker.whatsapp.biz/web]
"""

    #: The counts checked against the documented topology rules (``_stack_model.topology_errors``).
    TOPOLOGY = r"""
options:
  topology:
    description:
      - The counts of the whole setup (summed over every Docker host it spans), checked against the documented
        rules before the engine is contacted; the module fails naming each broken rule and changes nothing.
      - "The rules: O(topology.shards) is one of 1, 2, 4, 8, 16, 32; at least 1 CoreApp and 1 Webapp; at least as
        many CoreApps as shards; a setup without a Master is a single instance (exactly 1 CoreApp and 1 shard)."
      - The roles and playbooks of this collection check their counts through this option.
    type: dict
    suboptions:
      masters:
        description: Masters of the whole setup.
        type: int
        required: true
      coreapps:
        description: CoreApps of the whole setup.
        type: int
        required: true
      webapps:
        description: Webapps of the whole setup; not checked when not set.
        type: int
      shards:
        description: Shards of the setup; not checked when not set.
        type: int
      hosts:
        description: Number of Docker hosts the counts are summed over (named in the message).
        type: int
        default: 1
"""
