#!/usr/bin/env python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the local migration (run by hand: ``make bench``; not part of ``make test``).

    tests/bench/bench_migration.py [--layout multiconnect|single] [--runs N] [--keep]

Each run starts a lab (the old setup on the emulator, tests/e2e/lab.py), runs playbooks/migrate.yml
with inventories/local, and reads the figures from the migration's state record. Prints, per run and as
the median over the runs: the seconds of each step, the downtime (step 5 start to the first successful
test message), the critical steps 5+6+7, the whole playbook's wall time, and the ratios downtime / sum of
steps and downtime / wall time. Needs the Docker engine and the images (make images).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, os.path.join(REPO, "tools"))

import lab as labmod  # noqa: E402
import demo_report  # noqa: E402


def ansible_playbook():
    cand = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return cand if os.path.exists(cand) else "ansible-playbook"


def one_run(n, layout, colls):
    prefix = "wabiz-bench-%d-%d" % (os.getpid(), n)
    lab = labmod.Lab(prefix, layout, workdir=os.path.join(tempfile.gettempdir(), prefix))
    try:
        lab.up(prove_old_webhook=False)
        varfile = os.path.join(lab.workdir, "vars.json")
        with open(varfile, "w", encoding="utf-8") as fh:
            json.dump(lab.extra_vars(), fh)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=colls, ANSIBLE_NOCOLOR="1")
        t0 = time.monotonic()
        proc = subprocess.run([ansible_playbook(), "-i", os.path.join(REPO, "inventories", "local"),
                               os.path.join(REPO, "playbooks", "migrate.yml"), "-e", "@" + varfile],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, check=False)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-4000:])
            raise SystemExit("run %d: migrate.yml failed (rc %d)" % (n, proc.returncode))
        with open(os.path.join(lab.state_dir, prefix + ".json"), encoding="utf-8") as fh:
            state = json.load(fh)
        fig = demo_report.figures(state)
        fig["playbook_wall_seconds"] = round(wall, 3)
        fig["critical_5_6_7_seconds"] = round(sum(fig["steps"].get(k, 0) for k in
                                                  ("step5_uninstall", "step6_restore", "step7_health")), 3)
        fig["downtime_over_wall"] = round(float(fig["downtime_seconds"] or 0) / wall, 3)
        return fig
    finally:
        lab.down()
        shutil.rmtree(lab.workdir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--layout", choices=sorted(labmod.LAYOUTS), default="multiconnect")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    colls = tempfile.mkdtemp(prefix="wabiz-bench-colls-")
    os.makedirs(os.path.join(colls, "ansible_collections", "wabiz"))
    os.symlink(REPO, os.path.join(colls, "ansible_collections", "wabiz", "api_client"))
    results = []
    try:
        for n in range(1, args.runs + 1):
            fig = one_run(n, args.layout, colls)
            results.append(fig)
            print("run %d: downtime %.2f s, steps 5+6+7 %.2f s, playbook %.1f s, downtime/steps %.3f, "
                  "downtime/wall %.3f" % (n, float(fig["downtime_seconds"] or 0), fig["critical_5_6_7_seconds"],
                                          fig["playbook_wall_seconds"], float(fig.get("downtime_ratio") or 0),
                                          fig["downtime_over_wall"]), flush=True)
    finally:
        shutil.rmtree(colls, ignore_errors=True)

    def med(key, sub=None):
        vals = [r[key][sub] if sub else r[key] for r in results if (r[key].get(sub) if sub else r[key]) is not None]
        return statistics.median(vals) if vals else float("nan")

    print("\nmedian over %d run(s), layout %s" % (len(results), args.layout))
    for key, label in demo_report.STEPS:
        print("  step %-42s %7.2f s" % (label, med("steps", key)))
    print("  %-47s %7.2f s" % ("downtime (step 5 start -> first test message)", med("downtime_seconds")))
    print("  %-47s %7.2f s" % ("critical steps 5+6+7", med("critical_5_6_7_seconds")))
    print("  %-47s %7.2f s" % ("sum of steps", med("total_step_seconds")))
    print("  %-47s %7.2f s" % ("playbook wall time", med("playbook_wall_seconds")))
    print("  %-47s %7.3f" % ("ratio downtime / sum of steps", med("downtime_ratio")))
    print("  %-47s %7.3f" % ("ratio downtime / playbook wall time", med("downtime_over_wall")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
