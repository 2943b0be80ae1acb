# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test message says what it proved (accepted, with its id) and can be sent as a template (issue 25)."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.module_utils import _api
from ansible_collections.wabiz.api_client.plugins.modules import message

TEMPLATE = {"namespace": "ns-1", "name": "migration_check", "language": "en_US", "parameters": ["wa-new"]}


@pytest.fixture
def sent(monkeypatch):
    """Records the body of every request; POST /v1/messages answers an id."""
    bodies = []

    def request(self, method, path, **kwargs):
        bodies.append((method, path, kwargs.get("json_body")))
        return {"messages": [{"id": "gBEunit"}]}
    monkeypatch.setattr(_api.WAClient, "request", request)
    return bodies


def run(capsys, args):
    with patch_module_args(dict(api_url="https://wa.example.test:9090", api_token="tok", to="15550003333", **args)):
        with pytest.raises(SystemExit):
            message.main()
    return json.loads(capsys.readouterr().out)


def test_text_result_says_accepted_not_delivered(capsys, sent):
    result = run(capsys, dict(body="hi"))
    assert result["message_id"] == "gBEunit"
    assert result["msg"].startswith("accepted: message id gBEunit") and "deliver" not in result["msg"].split("(")[0]
    assert sent[0][2]["type"] == "text" and sent[0][2]["text"] == {"body": "hi"}


def test_template_is_sent_as_metas_on_premises_template(capsys, sent):
    result = run(capsys, dict(template=TEMPLATE))
    assert result["changed"] and result["message_id"] == "gBEunit"
    body = sent[0][2]
    assert body["type"] == "template" and "text" not in body
    assert body["template"] == {"namespace": "ns-1", "name": "migration_check",
                                "language": {"policy": "deterministic", "code": "en_US"},
                                "components": [{"type": "body", "parameters": [{"type": "text", "text": "wa-new"}]}]}


@pytest.mark.parametrize("args, words", [
    (dict(), "one of the following is required: body, template"),
    (dict(body="hi", template=TEMPLATE), "mutually exclusive: body|template"),
    (dict(template=dict(TEMPLATE, name=" ")), "template.namespace, template.name and template.language"),
    (dict(template={"name": "x", "language": "en"}), "namespace"),
])
def test_bad_template_options_send_nothing(capsys, sent, args, words):
    result = run(capsys, args)
    assert result["failed"] and words in result["msg"], result["msg"]
    assert sent == []


def test_check_mode_names_the_template(capsys, sent):
    result = run(capsys, dict(template=TEMPLATE, _ansible_check_mode=True))
    assert result["changed"] and "the template migration_check" in result["msg"] and sent == []
