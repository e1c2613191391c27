"""Importing the sim package, task registry and operators pulls in no simulator (lazy imports)."""

import subprocess
import sys


def test_sim_registry_and_operators_import_without_robosuite():
    code = ("import sys, sim, sim.tasks, sim.operators, sim.osc, sim.collect, sim.oracle_eval\n"
            "print(','.join(m for m in ('robosuite', 'mujoco', 'torch', 'robomimic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
