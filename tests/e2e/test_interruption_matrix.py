# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash consistency: ``ansible-playbook playbooks/migrate.yml`` interrupted with SIGINT (Ctrl-C) and with
SIGKILL (a cancelled CI job, a killed container) at every step boundary and inside steps 4 to 7, then run
again. Every case must end with the new setup healthy on the original backup, or with a clear refusal; after
every interruption the old database (container, rows, volumes) and the verified backup are intact.

Lean on time: the single-instance layout, and one lab per signal walking the points in order — the run that
follows an interruption is itself interrupted at the next point, so every point is both a place the
migration stops and a place a re-run starts from; the last run goes to the end. The two signals run in
parallel. The boundaries come from the state record (a step's ``finished`` mark appearing), the points
inside a step from the run's own task headers. The signal goes to the run's whole process group, as Ctrl-C
in a terminal or a job cancellation does. A table (point of interruption -> outcome) is printed.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import time

from conftest import assert_no_secrets, state_record, tail
from test_migration import assert_migrated, before_migration, docker_names, old_containers, old_db_container, \
    old_db_keys, volumes

# (label, kind, what): "after" step N = the step's finish mark appears in the state record, or (for steps whose
# mark is written later, with the next one's) the first task of a later step starts, whichever comes first;
# "inside" = a task header of the step appears in the run's output (then `delay` seconds, so the task is
# under way).
POINTS = [
    ("after step 1", "after", "step1_install"),
    ("after step 2", "after", "step2_login"),
    ("after step 3", "after", "step3_cleanup"),
    ("inside step 4 (backup)", "inside", (r"^TASK \[Step 4 \| Back up", 0.3)),
    ("after step 4", "after", "step4_backup"),
    ("inside step 5 (uninstall)", "inside",
     (r"^TASK \[(Step 5 \| (Uninstall|Remove)|wabiz\.api_client\.stack_uninstall : Remove)", 0.5)),
    ("after step 5", "after", "step5_uninstall"),
    ("inside step 6 (restore)", "inside", (r"^TASK \[Step 6 \| Restore", 0.5)),
    ("after step 6", "after", "step6_restore"),
    ("inside step 7 (health)", "inside", (r"^TASK \[Step 7 \| Wait", 0.5)),
    ("after step 7", "after", "step7_health"),
    ("after step 8", "after", "step8_two_step"),
]
# WABIZ_INTERRUPT_POINTS="inside step 5,after step 5" walks only the points whose label contains one of the
# words (to study one point; the first run then goes straight to it). Default: every point.
SELECTED = [w.strip() for w in os.environ.get("WABIZ_INTERRUPT_POINTS", "").split(",") if w.strip()]
if SELECTED:
    POINTS = [p for p in POINTS if any(w in p[0] for w in SELECTED)]
SIGNALS = {"SIGINT": signal.SIGINT, "SIGKILL": signal.SIGKILL}
RUN_TIMEOUT = 900
# A Ctrl-C that reaches an Ansible worker while it holds the shared result queue's lock leaves ansible-playbook
# waiting for ever (multiprocessing; seen once, 2026-11-29, SIGINT in step 4's last task). An operator then
# kills the run; the matrix does the same after this many seconds and says so in the row: the state it leaves
# must still be one a re-run continues from.
SIGINT_HANG = 90
# No process of an interrupted run (a module with a password in its arguments) may outlive it: the modules run
# inside the run's process group, which the signal reaches (no async job). Seconds a dying process may take.
LEFT_GRACE = 5
LAB_MARK = "WABIZ_E2E_LAB"


def read_record(lab):
    try:
        with open(os.path.join(lab.state_dir, lab.prefix + ".json"), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):  # not there yet, or being replaced
        return None


def finished_mark(record, step):
    return (((record or {}).get("steps") or {}).get(step) or {}).get("finished")


def sha256_of(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def refusal(output):
    """The message of a clear refusal (one failed assertion or fail task with a message), else None."""
    fatal = [line for line in output.splitlines() if line.startswith("fatal:") or "FAILED!" in line]
    if len(fatal) != 1 or "Traceback" in output or "MODULE FAILURE" in output:
        return None
    match = re.search(r'"msg": "([^"]{40,})', fatal[0])
    return match.group(1) if match else None


class Chain:
    """One lab, one signal, every point in order; the table rows it produced."""

    def __init__(self, make_lab, runner, signame):
        self.make_lab, self.runner, self.signame = make_lab, runner, signame
        self.rows = []
        self.error = None

    def new_lab(self):
        self.lab = self.make_lab("single")
        self.old_token, self.old_state = before_migration(self.lab)
        self.old_keys = old_db_keys(self.lab)
        self.old_volumes = {"%s_mysqlData" % self.lab.old_project, "%s_whatsappMedia" % self.lab.old_project}
        self.backup = None  # (path, sha256) of the first verified backup, once recorded
        self.hung = False  # the last run hung after its SIGINT and was killed

    def run(self, point=None):
        """Run migrate.yml; interrupt it at ``point`` (None: let it finish). Returns (rc, output, fired)."""
        cmd, logfile = self.runner.command("migrate", self.lab)
        before = read_record(self.lab)
        with open(logfile, "w", encoding="utf-8") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True,  # pylint: disable=consider-using-with
                                    env=self.runner.env({LAB_MARK: self.lab.prefix}), cwd=self.lab.workdir,
                                    start_new_session=True)
        fired = None
        self.hung = False
        deadline = time.monotonic() + RUN_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            if point and fired is None and self.reached(point, before, logfile):
                if point[1] == "inside":
                    time.sleep(point[2][1])
                fired = time.monotonic()
                try:
                    os.killpg(proc.pid, SIGNALS[self.signame])
                except ProcessLookupError:
                    pass
            if fired is not None and not self.hung and time.monotonic() - fired > SIGINT_HANG:
                self.hung = True  # a hung Ctrl-C: killed, as an operator would
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError("migrate.yml did not end within %ss (log %s)" % (RUN_TIMEOUT, logfile))
        # A killed run may leave workers of its group behind for a moment: wait until the group is gone.
        for _attempt in range(200):
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        if fired is not None:
            self.assert_nothing_left()
        with open(logfile, encoding="utf-8") as fh:
            output = fh.read()
        assert_no_secrets(output, "output of migrate.yml")
        return proc.returncode, output, fired

    def assert_nothing_left(self):
        """No process of this lab's runs (the environment they pass on names the lab) still runs."""
        deadline = time.monotonic() + LEFT_GRACE
        left = processes_left(self.lab.prefix)
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = processes_left(self.lab.prefix)
        assert not left, "%s: a process outlived the interrupted run by %ss: %s" % (self.signame, LEFT_GRACE, left)

    def reached(self, point, before, logfile):
        _label, kind, what = point
        with open(logfile, encoding="utf-8") as fh:
            output = fh.read()
        if kind == "inside":
            return re.search(what[0], output, re.M) is not None
        mark = finished_mark(read_record(self.lab), what)
        if mark is not None and mark != finished_mark(before, what):
            return True
        step = int(re.match(r"step(\d+)_", what).group(1))
        return any(int(n) > step for n in re.findall(r"^TASK \[Step (\d+) \|", output, re.M))

    def check_intact(self):
        """The old database (container running, rows, volumes) and the verified backup are intact."""
        lab = self.lab
        assert docker_names("name=^%s$" % old_db_container(lab), "status=running") == [old_db_container(lab)]
        assert old_db_keys(lab) == self.old_keys
        assert self.old_volumes <= volumes()
        record = read_record(lab) or {}
        if (record.get("backup") or {}).get("sha256"):
            path, digest = record["backup"]["path"], record["backup"]["sha256"]
            if self.backup is None:
                self.backup = (path, digest)
            assert (path, digest) == self.backup, "the verified backup changed: %s" % record["backup"]
            assert sha256_of(path) == digest, "the backup file %s no longer matches its checksum" % path
        return record

    def walk(self):
        try:
            self.new_lab()
            for point in POINTS:
                t0 = time.monotonic()
                rc, output, fired = self.run(point)
                if fired is None:  # the re-run stopped before the point: only a clear refusal may do that
                    message = refusal(output)
                    assert rc != 0 and message, "%s: %s was never reached (rc %s)\n%s" % (
                        self.signame, point[0], rc, tail(output, 30))
                    self.check_intact()
                    self.rows[-1]["outcome"] = "re-run refused: %s" % message[:70]
                    self.new_lab()  # the points left go on with a fresh lab
                    t0 = time.monotonic()
                    rc, output, fired = self.run(point)
                    assert fired is not None, "%s: %s was never reached on a fresh lab (rc %s)\n%s" % (
                        self.signame, point[0], rc, tail(output, 30))
                record = self.check_intact()
                steps = [s for s in (record.get("steps") or {}) if finished_mark(record, s)]
                self.rows.append(dict(point=point[0], signal=self.signame, rc=rc, status=record.get("status"),
                                      finished=len(steps), old_client=len(old_containers(self.lab)) - 1,
                                      seconds=round(time.monotonic() - t0, 1),
                                      outcome="re-run continued" + (" (Ctrl-C hung; killed)" if self.hung else "")))
            t0 = time.monotonic()
            rc, output, _fired = self.run()
            self.check_intact()
            if rc == 0:
                state = assert_migrated(self.lab, None, self.old_token, self.old_state)
                assert (state["backup"]["path"], state["backup"]["sha256"]) == self.backup
                outcome = "migrated: healthy, restored once from the original backup"
            else:
                message = refusal(output)
                assert message, "the final run failed without a clear refusal (rc %s)\n%s" % (rc, tail(output))
                outcome = "refused: %s" % message[:70]
            self.rows.append(dict(point="(final run)", signal=self.signame, rc=rc, status=state_record(self.lab)["status"],
                                  finished=None, old_client=len(old_containers(self.lab)) - 1,
                                  seconds=round(time.monotonic() - t0, 1), outcome=outcome))
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            self.error = exc


def processes_left(lab_prefix):
    """(pid, command line) of the processes of the lab's runs: ansible-playbook, its workers and their modules
    inherit the environment of the run, which names the lab (LAB_MARK)."""
    mark = ("%s=%s" % (LAB_MARK, lab_prefix)).encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open("/proc/%s/environ" % pid, "rb") as fh:
                if mark not in fh.read().split(b"\0"):
                    continue
        except OSError:
            continue
        found.append((int(pid), cmdline[:160]))
    return found


def print_table(rows):
    head = "%-27s %-8s %5s %-12s %8s %10s %7s  %s" % ("interrupted at", "signal", "rc", "record", "finished",
                                                      "old client", "seconds", "outcome")
    print("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        print("%-27s %-8s %5s %-12s %8s %10s %7s  %s" % (r["point"], r["signal"], r["rc"], r["status"],
                                                         "-" if r["finished"] is None else r["finished"],
                                                         r["old_client"], r["seconds"], r["outcome"]))


def test_interruption_matrix(make_lab, runner):
    t0 = time.monotonic()
    chains = [Chain(make_lab, runner, name) for name in SIGNALS]
    threads = [threading.Thread(target=chain.walk, name=chain.signame) for chain in chains]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = [row for chain in chains for row in chain.rows]
    print_table(rows)
    print("interruption matrix: %d interruptions, %d final runs, %.0fs" % (
        sum(1 for r in rows if r["finished"] is not None), len(chains), time.monotonic() - t0))
    for chain in chains:
        if chain.error is not None:
            raise chain.error
    assert len(rows) == len(SIGNALS) * (len(POINTS) + 1)
    for chain in chains:
        assert chain.rows[-1]["outcome"].startswith(("migrated", "refused")), chain.rows[-1]
