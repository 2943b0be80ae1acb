#!/usr/bin/env python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the short report of a migration from its state record (tools/demo.sh, tests/bench).

    demo_report.py STATE_RECORD.json [--json]

Per step its duration, the downtime (step 5 start to the first successful test message), the new
setup's health, and where the backup is. The state record holds no secret.
"""
import json
import sys


def steps_of(state):
    """The steps in order with their labels, as the record carries them (the list lives once, in
    plugins/module_utils/_migration_state.py, and travels with every record it writes)."""
    plan = state.get("plan") or [{"step": name, "label": name} for name in sorted(state.get("steps", {}))]
    return [(item["step"], "%s %s" % (item["step"][4:].split("_", 1)[0], item["label"])) for item in plan]


def figures(state):
    steps = state.get("steps", {})
    out = {"status": state.get("status"), "steps": {}, "downtime_seconds": None}
    for key in (step[0] for step in steps_of(state)):
        if "seconds" in steps.get(key, {}):
            out["steps"][key] = float(steps[key]["seconds"])
    total = sum(out["steps"].values())
    out["total_step_seconds"] = round(total, 3)
    down = state.get("downtime", {})
    if down.get("seconds") not in (None, ""):
        out["downtime_seconds"] = float(down["seconds"])
        out["downtime_ratio"] = round(out["downtime_seconds"] / total, 3) if total else None
    first = [float(s["started"]) for s in steps.values() if "started" in s]
    last = [float(s["finished"]) for s in steps.values() if "finished" in s]
    if first and last:
        out["wall_seconds"] = round(max(last) - min(first), 3)
    return out


def report(state):
    f = figures(state)
    lines = ["", "Migration %s: %s" % (state.get("migration"), state.get("status")), ""]
    for key, label in steps_of(state):
        s = state.get("steps", {}).get(key, {})
        if "seconds" in s:
            when = "%7.2f s" % float(s["seconds"])
        elif "started" in s:
            when = "started, not finished"
        else:
            when = "not run"
        lines.append("  step %-42s %s" % (label, when))
    lines.append("")
    if f["downtime_seconds"] is not None:
        lines.append("  downtime (step 5 start -> first test message): %.2f s  (%.0f %% of %.1f s of steps)"
                     % (float(f["downtime_seconds"]), 100 * float(f.get("downtime_ratio") or 0),
                        float(f["total_step_seconds"])))
    else:
        lines.append("  downtime: not ended (no test message yet)")
    health = state.get("new_health") or {}
    if health:
        lines.append("  new setup health: %s, primary Master %s, %s CoreApps connected, topology %s"
                     % ("healthy" if health.get("healthy") else "NOT healthy", health.get("primary_master") or "-",
                        health.get("connected_coreapps"), health.get("topology")))
    backup = state.get("backup") or {}
    if backup:
        lines.append("  backup: %s:%s (mode 0600, sha256 %s)" % (backup.get("host"), backup.get("path"), backup.get("sha256")))
    if state.get("test_message"):
        lines.append("  test message: %s to %s" % (state["test_message"].get("id"), state["test_message"].get("to")))
    return "\n".join(lines) + "\n"


def main(argv):
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        state = json.load(fh)
    if "--json" in argv:
        print(json.dumps(figures(state), indent=2))
    else:
        sys.stdout.write(report(state))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
