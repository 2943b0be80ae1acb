# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What step 7's test message proves (issue 25): the new setup accepted it; its outcome reaches the operator's new
webhook server after step 9 as a status callback. A recipient who has not written in 24 hours gets no free-form
text (failed, 470); an approved template reaches them (delivered). Real playbook runs, single-instance labs."""

import time

import lab as labmod
from conftest import state_record
from test_migration import MESSAGE_TO

TEMPLATE = {"namespace": "wabiz-e2e-ns", "name": "migration_check", "language": "en", "parameters": ["new setup"]}


def outside_the_window(lab):
    """The test recipient is on WhatsApp but last wrote to the business number 25 hours ago."""
    status, body = labmod.dockerctl.http("POST", lab.network_url() + "/recipients", {
        "number": MESSAGE_TO, "whatsapp_user": True, "last_wrote": {labmod.WA_ID: time.time() - 25 * 3600}})
    assert status == 200, body


def statuses_at_new_webhook(lab, msg_id, until, timeout=90):
    """The status callbacks of ``msg_id`` the new webhook receiver got, once ``until(statuses)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        got = [st for rec in lab.new_hooks.received() for st in ((rec.get("body") or {}).get("statuses") or [])
               if st.get("id") == msg_id]
        if until(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_free_form_test_message_outside_the_window_fails_470_at_the_new_webhook(make_lab, runner):
    lab = make_lab("single")
    outside_the_window(lab)
    runner.playbook("migrate", lab, check=True)
    msg_id = state_record(lab)["test_message"]["id"]
    got = statuses_at_new_webhook(lab, msg_id, lambda s: any(x["status"] == "failed" for x in s))
    assert [s["status"] for s in got] == ["failed"], got
    assert got[0]["errors"][0]["code"] == 470 and got[0]["recipient_id"] == MESSAGE_TO, got
    assert not [st for rec in lab.old_hooks.received() for st in ((rec.get("body") or {}).get("statuses") or [])]


def test_template_test_message_is_delivered_outside_the_window(make_lab, runner):
    lab = make_lab("single")
    outside_the_window(lab)
    status, body = labmod.dockerctl.http("POST", lab.network_url() + "/templates", dict(TEMPLATE, parameters=1))
    assert status == 200, body
    runner.playbook("migrate", lab, extra={"wabiz_test_message_template": TEMPLATE}, check=True)
    msg_id = state_record(lab)["test_message"]["id"]
    got = statuses_at_new_webhook(lab, msg_id, lambda s: any(x["status"] == "delivered" for x in s))
    assert [s["status"] for s in got] == ["sent", "delivered"], got
    sent = [m for m in lab.network_get("/messages") if m["id"] == msg_id]
    assert sent[0]["type"] == "template" and sent[0]["template"]["name"] == "migration_check"
