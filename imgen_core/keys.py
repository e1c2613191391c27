"""Every dataset key and attribute name, in one place (robomimic HDF5 layout + imgen's ``datagen_info``).

File layout::

    data/                         attrs: total, env_args (JSON), imgen_provenance (JSON), imgen_sources (JSON)
    data/demo_N/                  attrs: num_samples, seed, operator, source (merge), weight
        actions (T,7) states (T,S) rewards (T,) dones (T,)
        obs/<OBS_*> (T,d)
        datagen_info/eef_pose (T,4,4) target_pose (T,4,4) gripper_action (T,1)
                     object_poses/<obj> (T,4,4)            true poses, robot base frame
                     observed_object_poses/<obj> (T,4,4)   what the robot believed (after corruption)
                     subtask_term_signals/<signal> (T,)
                     intervention (T,) bool                True = human in control (interventions only)
    mask/<filter_key>             array of demo names (bytes), e.g. mask/train, mask/valid
"""

DATA = "data"
MASK = "mask"
DEMO_PREFIX = "demo_"

ACTIONS = "actions"
STATES = "states"
REWARDS = "rewards"
DONES = "dones"
OBS = "obs"
NEXT_OBS = "next_obs"

DATAGEN_INFO = "datagen_info"
EEF_POSE = "eef_pose"
TARGET_POSE = "target_pose"
GRIPPER_ACTION = "gripper_action"
OBJECT_POSES = "object_poses"
OBSERVED_OBJECT_POSES = "observed_object_poses"
SUBTASK_TERM_SIGNALS = "subtask_term_signals"
INTERVENTION = "intervention"

# attributes
ATTR_TOTAL = "total"
ATTR_ENV_ARGS = "env_args"
ATTR_PROVENANCE = "imgen_provenance"
ATTR_SOURCES = "imgen_sources"
ATTR_NUM_SAMPLES = "num_samples"
ATTR_SEED = "seed"
ATTR_OPERATOR = "operator"
ATTR_SOURCE = "source"
ATTR_WEIGHT = "weight"
ATTR_EPISODE = "episode_info"

# policy observation keys (quaternions xyzw, positions metres, all in the robot base frame)
OBS_EEF_POS = "robot0_eef_pos"
OBS_EEF_QUAT = "robot0_eef_quat"
OBS_GRIPPER_WIDTH = "robot0_gripper_width"


def obs_object_pos(obj: str) -> str:
    """Observation key of an object's *observed* (possibly corrupted) position."""
    return f"{obj}_pos"


def obs_object_quat(obj: str) -> str:
    """Observation key of an object's *observed* (possibly corrupted) orientation (xyzw)."""
    return f"{obj}_quat"


OPERATOR_SCRIPTED = "scripted_oracle"
OPERATOR_HUMAN_PREFIX = "human/"
OPERATOR_GENERATED_PREFIX = "generated/"

ACTION_DIM = 7
