"""robomimic's own rollout utilities run on our EnvBase (a tiny BC-RNN with random weights drives the arm)."""

import numpy as np
import pytest

pytestmark = pytest.mark.sim


def _tiny_rollout_policy(obs_shapes):
    import robomimic.utils.obs_utils as ObsUtils
    import torch
    from robomimic.algo import RolloutPolicy, algo_factory
    from robomimic.config import config_factory

    torch.manual_seed(0)
    config = config_factory("bc")
    with config.values_unlocked():
        config.observation.modalities.obs.low_dim = sorted(obs_shapes)
        config.observation.modalities.obs.rgb = []
        config.algo.rnn.enabled = True
        config.algo.rnn.horizon = 5
        config.algo.rnn.hidden_dim = 16
        config.algo.rnn.num_layers = 1
        config.algo.actor_layer_dims = []
        config.train.cuda = False
    ObsUtils.initialize_obs_utils_with_config(config)
    model = algo_factory("bc", config, obs_key_shapes={k: list(v) for k, v in obs_shapes.items()}, ac_dim=7,
                         device=torch.device("cpu"))
    return RolloutPolicy(model)


def test_run_rollout_on_imgen_env_base(adapter):
    from robomimic.envs.env_base import EnvBase, EnvType
    from robomimic.utils.train_utils import run_rollout

    from sim.robomimic_env import ImgenRobomimicEnv

    env = ImgenRobomimicEnv(adapter=adapter, seed=40)
    assert isinstance(env, EnvBase) and env.type == EnvType.ROBOSUITE_TYPE and env.action_dimension == 7
    obs = env.reset()
    policy = _tiny_rollout_policy({k: v.shape for k, v in obs.items()})
    start = adapter.eef_pose()[:3, 3].copy()
    results = run_rollout(policy, env, horizon=12)
    assert results["Horizon"] == 12 and results["Success_Rate"] in (0.0, 1.0) and "Return" in results
    assert np.linalg.norm(adapter.eef_pose()[:3, 3] - start) > 1e-4  # the policy's actions moved the arm
    s = env.get_state()
    o = env.reset_to(s)
    np.testing.assert_allclose(o["robot0_eef_pos"], adapter.eef_pose()[:3, 3])
    assert env.is_success() == {"task": False}
    assert env.serialize()["env_name"] == "ImgenBlockGrasp"
    frame = env.render(mode="rgb_array", height=96, width=128)
    assert frame.shape == (96, 128, 3) and frame.std() > 1.0
