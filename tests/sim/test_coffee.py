"""Coffee twin: adapter contract, contact observability, mistake detector, scripted oracle (true / observed)."""

import json

import numpy as np
import pytest

from imgen_core import keys as K
from imgen_core import se3
from imgen_core.errors import SafetyError
from imgen_core.task import TaskAdapter
from sim.operators import make_oracle
from sim.operators.coffee_oracle import CoffeeOracle
from sim.tasks import make_task, make_task_from_env_args
from sim.tasks.coffee import CONTACT_SIGNAL, OBS_CONTACT_FLAG, OBS_CONTACT_POS
from sim.tasks.coffee_env import HOLDER_INNER_RADIUS, HOLDER_WALL_HEIGHT, POD_HEIGHT

pytestmark = pytest.mark.sim

OBS_KEYS = {K.OBS_EEF_POS: (3,), K.OBS_EEF_QUAT: (4,), K.OBS_GRIPPER_WIDTH: (1,), "pod_pos": (3,),
            "pod_quat": (4,), "machine_pos": (3,), "machine_quat": (4,), OBS_CONTACT_FLAG: (1,),
            OBS_CONTACT_POS: (3,)}


@pytest.fixture(scope="module")
def coffee():
    a = make_task("coffee", corruption="coffee_radial", observability="full")
    yield a
    a.close()


@pytest.fixture
def obs_mode(coffee):
    """Switch the shared adapter's observability for one test (restored afterwards)."""
    saved = coffee.observability

    def set_mode(mode):
        coffee.observability = mode

    yield set_mode
    coffee.observability = saved


def _pod_at(coffee, dx, dz):
    """Upright pod pose: ``dx`` beside the holder axis (base x), bottom ``dz`` above the holder floor."""
    h = coffee.holder_pose()
    return se3.make_pose(h[:3, 3] + np.array([dx, 0.0, POD_HEIGHT / 2 + dz]), np.eye(3))


def test_protocol_observation_and_start_state(coffee):
    assert isinstance(coffee, TaskAdapter)
    assert coffee.object_names == ("pod", "machine")
    assert coffee.subtasks[0].object_ref == "machine" and coffee.subtasks[0].term_signal is None
    obs = coffee.reset(3)
    assert {k: v.shape for k, v in obs.items()} == OBS_KEYS
    assert obs[OBS_CONTACT_FLAG][0] == 0.0 and not obs[OBS_CONTACT_POS].any()
    assert 0.039 < obs[K.OBS_GRIPPER_WIDTH][0] < 0.042  # closed on the 4 cm pod
    assert coffee.contacts().held and coffee.last_gripper_command > 0
    h = coffee.holder_pose()
    assert 0.50 <= h[0, 3] <= 0.60 and -0.05 <= h[1, 3] <= 0.05
    np.testing.assert_allclose(h[:3, 3] - coffee.object_poses()["machine"][:3, 3], [0.0, 0.0, 0.08])
    off = obs["machine_pos"] - coffee.object_poses()["machine"][:3, 3]
    assert 0.02 <= np.linalg.norm(off[:2]) <= 0.04 and off[2] == 0.0  # coffee_radial on the machine only
    np.testing.assert_allclose(obs["pod_pos"], coffee.object_poses()["pod"][:3, 3])


def test_reset_is_a_function_of_the_seed_and_reset_to_restores(coffee):
    o1 = coffee.reset(21)
    s1, c1 = coffee.get_state(), coffee.corruption
    coffee.reset(22)
    assert not np.allclose(coffee.get_state()[1:], s1[1:])
    o2 = coffee.reset(21)
    np.testing.assert_array_equal(coffee.get_state(), s1)
    assert coffee.corruption == c1
    for k in o1:
        np.testing.assert_array_equal(o1[k], o2[k])
    for _ in range(5):
        coffee.step(np.array([0.3, 0.0, -0.2, 0.0, 0.0, 0.0, 1.0]))
    mid, obs_mid = coffee.get_state(), coffee.observation()
    for _ in range(5):  # leave the state (the corruption sample is kept by reset_to)
        coffee.step(np.array([0.0, 0.3, 0.0, 0.0, 0.0, 0.0, -1.0]))
    restored = coffee.reset_to(mid)
    for k in obs_mid:
        np.testing.assert_allclose(restored[k], obs_mid[k], atol=1e-12)
    with pytest.raises(SafetyError):
        coffee.step(np.array([np.nan, 0, 0, 0, 0, 0, 1.0]))


def test_env_args_rebuild_the_same_scene(coffee):
    coffee.reset(8)
    args = json.loads(json.dumps(coffee.env_args()))
    assert args["imgen"] == {"task": "coffee", "corruption": "coffee_radial", "observability": "full",
                             "horizon": coffee.horizon}
    other = make_task_from_env_args(args)
    try:
        other.reset(8)
        np.testing.assert_array_equal(other.get_state(), coffee.get_state())
        assert other.corruption == coffee.corruption
    finally:
        other.close()


@pytest.mark.parametrize("mode", ["none", "full", "partial"])
def test_observability_switches_exactly_at_the_first_pod_holder_contact(coffee, obs_mode, mode):
    obs_mode(mode)
    coffee.reset(4)
    coffee.set_object_pose("pod", _pod_at(coffee, 0.0, 0.02))  # above the floor: no holder contact yet
    before = coffee.observation()
    assert not coffee.contacts().pod_holder and before[OBS_CONTACT_FLAG][0] == 0.0
    corrupted = before["machine_pos"].copy()
    assert np.linalg.norm(corrupted - coffee.object_poses()["machine"][:3, 3]) >= 0.02
    coffee.set_object_pose("pod", _pod_at(coffee, 0.0, -0.0005))  # resting on the floor: first contact
    assert coffee.contacts().pod_holder
    d, n = coffee.robot.data, int(coffee.robot.data.ncon)
    hit = coffee._pair_mask(d.contact.geom1[:n], d.contact.geom2[:n], "pod", "holder")
    expected_pos = (coffee.robot.base_T_world @ np.append(d.contact.pos[:n][hit].mean(axis=0), 1.0))[:3]
    after = coffee.observation()
    true_machine = coffee.object_poses()["machine"][:3, 3]
    if mode == "none":
        assert after[OBS_CONTACT_FLAG][0] == 0.0 and not after[OBS_CONTACT_POS].any()
        np.testing.assert_array_equal(after["machine_pos"], corrupted)
    elif mode == "full":
        assert after[OBS_CONTACT_FLAG][0] == 1.0
        np.testing.assert_allclose(after["machine_pos"], true_machine)
        np.testing.assert_allclose(after[OBS_CONTACT_POS], coffee.holder_pose()[:3, 3])
    else:
        assert after[OBS_CONTACT_FLAG][0] == 1.0
        np.testing.assert_allclose(after[OBS_CONTACT_POS], expected_pos, atol=1e-12)
        assert abs(after[OBS_CONTACT_POS][2] - coffee.holder_pose()[2, 3]) < 0.002  # on the floor
        np.testing.assert_array_equal(after["machine_pos"], corrupted)
    if mode != "none":  # latched: leaving the holder does not undo it, nor move the partial position
        coffee.set_object_pose("pod", _pod_at(coffee, 0.0, 0.05))
        np.testing.assert_array_equal(coffee.observation()[OBS_CONTACT_POS], after[OBS_CONTACT_POS])


def test_mistake_detector_on_constructed_states(coffee):
    coffee.reset(6)
    assert coffee.mistake() is None
    coffee.set_object_pose("pod", _pod_at(coffee, HOLDER_INNER_RADIUS, HOLDER_WALL_HEIGHT - 0.0005))
    assert coffee.contacts().pod_holder and coffee.mistake() == "pod_on_rim"
    coffee.set_object_pose("pod", _pod_at(coffee, -0.0485, -0.005))  # pressed against a wall from outside
    assert coffee.mistake() == "pod_misaligned_contact"
    table_z = -0.112 + POD_HEIGHT / 2
    h = coffee.holder_pose()
    coffee.set_object_pose("pod", se3.make_pose(np.array([h[0, 3] - 0.12, h[1, 3], table_z - 0.0005]), np.eye(3)))
    assert coffee.contacts().pod_table and coffee.mistake() == "pod_dropped_outside"
    coffee.set_object_pose("pod", _pod_at(coffee, 0.002, -0.0005))  # inside, still "held" (gripper closed)
    assert coffee.mistake() is None and not coffee.is_success()


def test_oracle_inserts_and_releases_with_true_poses(coffee):
    oracle = make_oracle(coffee)
    assert isinstance(oracle, CoffeeOracle) and oracle.label == K.OPERATOR_SCRIPTED
    for seed in (0, 1):
        coffee.reset(seed)
        oracle.reset(seed)
        flags, touching, seen, poses = [], [], [], [coffee.eef_pose()[:3, 3]]
        states, actions = [coffee.get_state()], []
        for _ in range(coffee.horizon):
            action, target = oracle.act()
            assert action.shape == (7,) and target.shape == (4, 4)
            obs = coffee.step(action)
            actions.append(action)
            states.append(coffee.get_state())
            poses.append(obs[K.OBS_EEF_POS])
            flags.append(obs[OBS_CONTACT_FLAG][0])
            seen.append(np.allclose(obs["machine_pos"], coffee.object_poses()["machine"][:3, 3]))
            touching.append(coffee.subtask_signals()[CONTACT_SIGNAL])
            assert coffee.mistake() is None
            if coffee.is_success():
                break
        assert coffee.is_success(), f"seed {seed}"
        assert any(touching)  # the subtask signal turns on during the episode
        first = int(np.argmax(touching))
        assert int(np.argmax(flags)) == first and flags[first - 1] == 0.0  # revealed exactly at the first contact
        assert seen[first] and not seen[first - 1]  # full: the machine pose turns true at that step
        speed = np.linalg.norm(np.diff(np.array(poses), axis=0), axis=1) / 0.05
        assert speed.max() < 0.16  # m/s: bounded, human-like
    coffee.reset(seed + 1)  # replaying the last demo from its first state reproduces it
    coffee.reset_to(states[0])
    for t, action in enumerate(actions):
        coffee.step(action)
        np.testing.assert_allclose(coffee.get_state(), states[t + 1], atol=1e-9)
    assert coffee.is_success()


@pytest.mark.slow
def test_observed_pose_oracle_fails_and_the_true_oracle_recovers(coffee):
    policy = CoffeeOracle(coffee, pose_source="observed")
    human = CoffeeOracle(coffee)
    failures = 0
    for seed in (0, 1):
        coffee.reset(seed)
        policy.reset(seed)
        first = None
        for _ in range(150):
            coffee.step(policy.act()[0])
            first = first or coffee.mistake()
            if first:
                break
        failures += (not coffee.is_success()) and first is not None
    assert failures >= 1
    coffee.reset(7)
    policy.reset(7)
    human.reset(7)
    reason, steps = None, 0
    while reason is None and steps < coffee.horizon:
        reason = human.judge(steps)
        if reason is None:
            coffee.step(policy.act()[0])
            steps += 1
    assert reason is not None
    human.take_over()
    for _ in range(coffee.horizon):
        coffee.step(human.act()[0])
        if coffee.is_success():
            break
    assert coffee.is_success() and not human.aborted()
