#!/usr/bin/env python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the local migration (run by hand: ``make bench``; not part of ``make test``).

    tests/bench/bench_migration.py [--layout multiconnect|single] [--runs N] [--fleet N] [--no-fleet] [--no-kill]

In ONE run on this machine, against the emulator images (tests/e2e/lab.py labs, all named wabiz-bench-*):

* per round (``--runs``, default 3; the median is printed): the playbook (playbooks/migrate.yml, steps 1-9)
  on one lab, and on a second lab the playbook's steps 1-4 followed by tests/bench/direct_steps_5_7.sh (docker
  + curl doing steps 5-7 by hand) like for like: a graceful ``docker stop`` with the stop timeout of the
  playbook's step 5 (``stack_uninstall_stop_timeout``), then ``docker rm``; on a third lab (unless
  ``--no-kill``) the same script with ``docker rm -f``. Printed: the downtimes (step 5 start to the first
  accepted test message) and the ratio playbook / like-for-like script, the emulator's initialisation time
  after a restore and the target (init + 3 s), the playbook's wall time and seconds per step;
* the fleet figure (``--fleet``, default 4): the wall time of one single-instance migration, then of N
  single-instance migrations started at once (each its own names, ports, state record and lock), and the
  ratio N / one;
* the number of tasks of migrate.yml (``--list-tasks``) and how many of them are bookkeeping.

The downtime rounds run the new setup's emulator with a heartbeat of ``--heartbeat`` seconds (default 0.1;
``WA_EMULATOR_TICK_SECONDS`` through the playbook's ``wabiz_new_env``), in both arms alike. With the emulator's
default of 1 s, a node notices the end of its initialisation up to a second late, at a random moment: that adds
0-1 s to both downtimes, which hides a difference of a few tenths and makes the ratio look closer to 1. The
fleet keeps the default heartbeat (it measures whole runs, and a faster heartbeat costs CPU).

Targets (issues 9 and 22): downtime <= 1.2 x the like-for-like direct script's and <= init + 3 s; fleet <= 1.5 x;
tasks <= 80 with at most a quarter bookkeeping. The figures are printed with PASS/MISS, never asserted: the
machine's load changes them, and a benchmark reports.
"""
import argparse
import json
import resource
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, os.path.join(REPO, "tools"))

import lab as labmod  # noqa: E402
import demo_report  # noqa: E402

STEPS_1_4 = "step1_install,step2_login,step3_cleanup,step4_backup"
# The graceful stop of the playbook's step 5 (the role's default; migrate.yml does not change it).
with open(os.path.join(REPO, "roles", "stack_uninstall", "defaults", "main.yml"), encoding="utf-8") as _fh:
    STOP_TIMEOUT = int(re.search(r"^stack_uninstall_stop_timeout: *(\d+)", _fh.read(), re.M).group(1))
# A task is bookkeeping when it only keeps the state record / this run's identity, or only reports.
BOOKKEEPING = re.compile(r"migration_state|record|lock|Run \| |Summary|Say what|Report |Refused|work directory", re.I)


def log(msg):
    print(msg, flush=True)


def ansible_playbook():
    cand = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return cand if os.path.exists(cand) else "ansible-playbook"


class Bench:
    def __init__(self, colls):
        self.colls = colls
        self.count = 0
        self.lock = threading.Lock()

    def lab(self, layout):
        with self.lock:
            self.count += 1
            prefix = "wabiz-bench-%d-%d" % (os.getpid(), self.count)
        return labmod.Lab(prefix, layout, workdir=os.path.join(tempfile.gettempdir(), prefix))

    def playbook(self, lab, tags=None, heartbeat=None):
        varfile = os.path.join(lab.workdir, "vars.json")
        extra = lab.extra_vars()
        if heartbeat:
            extra["wabiz_new_env"] = dict(extra.get("wabiz_new_env") or {}, WA_EMULATOR_TICK_SECONDS=str(heartbeat))
        with open(varfile, "w", encoding="utf-8") as fh:
            json.dump(extra, fh)
        cmd = [ansible_playbook(), "-i", os.path.join(REPO, "inventories", "local"),
               os.path.join(REPO, "playbooks", "migrate.yml"), "-e", "@" + varfile]
        if tags:
            cmd += ["--tags", tags]
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.colls, ANSIBLE_NOCOLOR="1")
        t0 = time.monotonic()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, check=False)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-4000:])
            raise SystemExit("%s: migrate.yml failed (rc %d)" % (lab.prefix, proc.returncode))
        return wall

    @staticmethod
    def record(lab):
        with open(os.path.join(lab.state_dir, lab.prefix + ".json"), encoding="utf-8") as fh:
            return json.load(fh)

    @staticmethod
    def init_seconds(lab):
        status, body = labmod.dockerctl.http("GET", lab.new_url + "/_emulator/config")
        return float((body or {}).get("init_seconds", "nan")) if status == 200 else float("nan")

    def playbook_round(self, layout, heartbeat):
        lab = self.lab(layout)
        try:
            lab.up(prove_old_webhook=False)
            wall = self.playbook(lab, heartbeat=heartbeat)
            rec = self.record(lab)
            fig = demo_report.figures(rec)
            fig["plan"] = demo_report.steps_of(rec)
            fig["wall"] = round(wall, 3)
            fig["init_seconds"] = self.init_seconds(lab)
            return fig
        finally:
            self.down(lab)

    def direct_round(self, layout, heartbeat, stop):
        lab = self.lab(layout)
        try:
            lab.up(prove_old_webhook=False)
            self.playbook(lab, tags=STEPS_1_4, heartbeat=heartbeat)
            rec = self.record(lab)
            counts = lab.counts
            connected = 1 if counts["shards"] == 1 else counts["shards"] + 1
            out = subprocess.run(
                ["bash", os.path.join(HERE, "direct_steps_5_7.sh"), lab.old_project, lab.new_url,
                 labmod.NEW_ADMIN_PASSWORD, rec["backup"]["path"], labmod.BACKUP_PASSWORD, "15550003333",
                 str(connected), "0.25", str(stop)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit("direct script failed: %s" % out.stderr[-2000:])
            return json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            self.down(lab)

    def fleet(self, n):
        labs = [self.lab("single") for _index in range(n + 1)]
        try:
            threads = [threading.Thread(target=lab.up, kwargs={"prove_old_webhook": False}) for lab in labs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            cpu0, busy0 = children_cpu(), machine_busy()
            one = self.playbook(labs[0])
            cpu_one, busy_one = children_cpu() - cpu0, machine_busy() - busy0
            walls = [None] * n

            def run(i):
                walls[i] = self.playbook(labs[i + 1])

            t0, busy0 = time.monotonic(), machine_busy()
            threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            together, busy_together = time.monotonic() - t0, machine_busy() - busy0
            if None in walls:
                raise SystemExit("a fleet migration failed")
            records = [self.record(lab) for lab in labs[1:]]
            assert all(r["status"] == "migrated" for r in records), [r["status"] for r in records]
            return dict(one=one, together=together, walls=walls, cpu_one=cpu_one, busy_one=busy_one,
                        busy_together=busy_together)
        finally:
            for lab in labs:
                self.down(lab)

    @staticmethod
    def down(lab):
        try:
            lab.down()
        finally:
            shutil.rmtree(lab.workdir, ignore_errors=True)


def children_cpu():
    """CPU seconds (user + system) of this process's finished children: ansible-playbook and its modules."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def machine_busy():
    """CPU seconds the whole machine has spent busy since boot (every process: Ansible, the Docker engine, the
    emulator's containers, their databases), from /proc/stat; the fleet's CPU bound is computed from it."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / float(os.sysconf("SC_CLK_TCK"))


def list_tasks(colls):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=colls, ANSIBLE_NOCOLOR="1")
    out = subprocess.run([ansible_playbook(), "-i", os.path.join(REPO, "inventories", "local"),
                          os.path.join(REPO, "playbooks", "migrate.yml"), "--list-tasks"],
                         stdout=subprocess.PIPE, text=True, env=env, check=True).stdout
    tasks = [line.strip() for line in out.splitlines() if "TAGS:" in line and not line.strip().startswith("play #")]
    return len(tasks), len([t for t in tasks if BOOKKEEPING.search(t)])


def verdict(ok):
    return "PASS" if ok else "MISS"


def report_fleet(fleet, n, cores):
    """The fleet figure and why it is what it is: N migrations at once on this machine's cores can be no faster
    than N x (the CPU one migration keeps busy) / cores, whatever the playbook does."""
    one, together = fleet["one"], fleet["together"]
    log("fleet: one single-instance migration                %7.1f s" % one)
    log("fleet: CPU of one migration, Ansible and its modules %6.1f s" % fleet["cpu_one"])
    log("fleet: CPU of one migration, the whole machine      %7.1f s  (%.2f cores busy on average; the rest is"
        " the Docker engine, the emulator and its databases)" % (fleet["busy_one"], fleet["busy_one"] / one))
    bound = n * fleet["busy_one"] / cores
    log("fleet: %d at once need at least %d x %.1f / %d cores = %.1f s, ratio >= %.2f"
        % (n, n, fleet["busy_one"], cores, bound, max(1.0, bound / one)))
    log("fleet: ratio 1.50 needs one migration to keep at most %.2f cores busy, i.e. <= %.1f CPU-s in %.1f s"
        % (1.5 * cores / n, 1.5 * cores / n * one, one))
    log("fleet: %d at once (each %s s)  %7.1f s  (machine busy %.0f %% of %d cores)"
        % (n, ", ".join("%.0f" % w for w in fleet["walls"]), together,
           100.0 * fleet["busy_together"] / (together * cores), cores))
    log("ratio %d at once / one                               %7.2f   target <= 1.50  %s"
        % (n, together / one, verdict(together <= 1.5 * one)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--layout", choices=sorted(labmod.LAYOUTS), default="multiconnect")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fleet", type=int, default=4)
    parser.add_argument("--no-fleet", action="store_true")
    parser.add_argument("--no-kill", action="store_true", help="skip the direct script's docker rm -f variant")
    parser.add_argument("--heartbeat", type=float, default=0.1,
                        help="the new setup's emulator heartbeat in the downtime rounds (0: its default, 1 s)")
    args = parser.parse_args(argv)
    colls = tempfile.mkdtemp(prefix="wabiz-bench-colls-")
    os.makedirs(os.path.join(colls, "ansible_collections", "wabiz"))
    os.symlink(REPO, os.path.join(colls, "ansible_collections", "wabiz", "api_client"))
    bench = Bench(colls)
    t_start = time.monotonic()
    pb, direct, kill = [], [], []
    try:
        tasks, bookkeeping = list_tasks(colls)
        for n in range(1, args.runs + 1):
            pb.append(bench.playbook_round(args.layout, args.heartbeat))
            direct.append(bench.direct_round(args.layout, args.heartbeat, STOP_TIMEOUT))
            if not args.no_kill:
                kill.append(bench.direct_round(args.layout, args.heartbeat, "kill"))
            log("round %d: playbook downtime %.2f s, direct script %.2f s (ratio %.2f)%s; playbook wall %.1f s"
                % (n, pb[-1]["downtime_seconds"], direct[-1]["downtime"],
                   pb[-1]["downtime_seconds"] / direct[-1]["downtime"],
                   (", direct script with rm -f %.2f s" % kill[-1]["downtime"]) if kill else "", pb[-1]["wall"]))
        fleet = None if args.no_fleet else bench.fleet(args.fleet)
    finally:
        shutil.rmtree(colls, ignore_errors=True)

    med = statistics.median
    d_pb = med([r["downtime_seconds"] for r in pb])
    d_direct = med([r["downtime"] for r in direct])
    init = med([r["init_seconds"] for r in pb])
    log("\n=== wabiz.api_client benchmark: layout %s, median of %d round(s), load average %s"
        % (args.layout, len(pb), " ".join("%.1f" % x for x in os.getloadavg())))
    log("downtime rounds: the new setup's emulator heartbeat %s, in both arms"
        % (("%g s" % args.heartbeat) if args.heartbeat else "1 s (its default)"))
    log("seconds per step (playbook):")
    for key, label in pb[0]["plan"]:
        vals = [r["steps"][key] for r in pb if key in r["steps"]]
        log("  step %-44s %7.2f s" % (label, med(vals) if vals else float("nan")))
    for key in ("step5_uninstall", "step6_restore", "step7_health"):
        log("  direct script %-36s %7.2f s" % (key, med([r[key] for r in direct])))
    log("playbook wall time (steps 1-9)                      %7.1f s" % med([r["wall"] for r in pb]))
    log("downtime, playbook (step 5 start -> test message)   %7.2f s" % d_pb)
    log("downtime, direct script (docker stop -t %-3d + rm)    %7.2f s" % (STOP_TIMEOUT, d_direct))
    if kill:
        log("downtime, direct script (docker rm -f)              %7.2f s" % med([r["downtime"] for r in kill]))
    log("ratio playbook / direct (docker stop, like for like) %6.2f   target <= 1.20  %s"
        % (d_pb / d_direct, verdict(d_pb <= 1.2 * d_direct)))
    log("emulator initialisation after a restore             %7.2f s  target downtime <= %.2f s  %s"
        % (init, init + 3, verdict(d_pb <= init + 3)))
    log("tasks in migrate.yml (--list-tasks)                 %7d     target <= 80  %s" % (tasks, verdict(tasks <= 80)))
    log("bookkeeping tasks                                   %7d     %.0f %%, target <= 25 %%  %s"
        % (bookkeeping, 100.0 * bookkeeping / tasks, verdict(bookkeeping * 4 <= tasks)))
    if fleet:
        report_fleet(fleet, args.fleet, os.cpu_count() or 1)
    log("benchmark wall time                                 %7.1f s" % (time.monotonic() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
