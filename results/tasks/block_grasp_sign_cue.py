"""Does anything a Block Grasp policy observes tell which side of the cube to recover to, without contact observability?

The scripted oracle acts on the corrupted cube pose (as the base policy does) until the mistake detector fires
(a finger on the cube top); five more steps, then it prints the sign of the y offset beside the EE's and the observed
cube's rotation since the reset (rotation vector, degrees) and the observed cube − EE position.

    .venv/bin/python results/tasks/block_grasp_sign_cue.py > results/tasks/block_grasp_sign_cue.txt
"""

import numpy as np
from scipy.spatial.transform import Rotation

from sim.operators import make_oracle
from sim.tasks import make_task

if __name__ == "__main__":
    task = make_task("block_grasp", corruption="block", observability="none")
    oracle = make_oracle(task, pose_source="observed")
    agree = 0
    for seed in range(16):
        obs = task.reset(seed)
        oracle.reset(seed)
        off_y = float(task.corruption.offset_array[1])
        eef0, cube0 = Rotation.from_quat(obs["robot0_eef_quat"]), Rotation.from_quat(obs["cube_quat"])
        mistake, at, action = None, 0, np.zeros(7)
        for step in range(300):
            action, _ = oracle.act()
            obs = task.step(action)
            mistake, at = task.mistake(), step
            if mistake:
                break
        for _ in range(5):
            obs = task.step(action)
        d_eef = np.degrees((Rotation.from_quat(obs["robot0_eef_quat"]) * eef0.inv()).as_rotvec())
        d_cube = np.degrees((Rotation.from_quat(obs["cube_quat"]) * cube0.inv()).as_rotvec())
        agree += int(np.sign(d_cube[0]) == np.sign(off_y))
        rel = obs["cube_pos"] - obs["robot0_eef_pos"]
        print(f"seed {seed:2d}  offset_y {off_y:+.3f}  mistake {mistake} at step {at}  eef_rot_deg "
              f"{np.round(d_eef, 2)}  cube_rot_deg {np.round(d_cube, 2)}  cube-eef {np.round(rel, 3)}")
    print(f"sign of the cube's tilt about x agrees with the sign of the y offset in {agree}/16")
