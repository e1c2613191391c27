"""MimicGen: synthesise a full demonstration in a new scene from object-centric source segments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from imgen_core import se3
from imgen_core.dataset import Episode, EpisodeRecorder
from imgen_core.errors import ConfigError
from imgen_core.generation.config import GenerationConfig
from imgen_core.generation.execute import StepTimer, execute_targets, interpolation, settle
from imgen_core.generation.sources import Segment


@dataclass
class Attempt:
    """Outcome of one generation attempt: the episode to keep (or None) and why."""

    episode: Episode | None
    success: bool
    reason: str
    info: dict[str, Any]


ROT_WEIGHT = 0.05  # metres per radian when comparing EE-in-object poses (5 cm ~ 1 rad)


def select_segment(candidates: list[Segment], world_T_obj: np.ndarray, cfg: GenerationConfig,
                   rng: np.random.Generator, eef_pose: np.ndarray | None = None) -> Segment:
    """Pick a source segment: uniformly, or among the ``nearest_k`` most like the current state.

    ``nearest`` compares the EE pose in the object's frame now (``eef_pose``, ``world_T_obj``) with the same
    relation at each candidate's start: position distance plus ``ROT_WEIGHT`` × rotation angle (MimicGen's
    nearest-neighbour strategy), skipping any whose distance exceeds the best by more than ``nearest_slack``.
    A recovery then starts from a mistake like the current one — a finger on the
    same side of the cube — instead of one the interpolation would have to cross the object to reach.
    Without ``eef_pose`` it falls back to the object positions.
    """
    if cfg.select == "random" or len(candidates) == 1:
        return candidates[int(rng.integers(len(candidates)))]
    if eef_pose is None:
        pos = world_T_obj[:3, 3]
        d = np.array([np.linalg.norm(c.world_T_obj[:3, 3] - pos) for c in candidates])
    else:
        now = se3.pose_inv(world_T_obj) @ eef_pose
        rel = [c.obj_T_eef for c in candidates]
        d = np.array([np.linalg.norm(r[:3, 3] - now[:3, 3]) + ROT_WEIGHT * se3.rotation_angle(r[:3, :3].T @ now[:3, :3])
                      for r in rel])
    order = np.argsort(d, kind="stable")[:min(cfg.nearest_k, len(candidates))]
    order = order[d[order] <= d[order[0]] + cfg.nearest_slack]  # never a start much farther than the best
    return candidates[int(rng.choice(order))]


def replay_segment(adapter: Any, rec: EpisodeRecorder, seg: Segment, cfg: GenerationConfig,
                   rng: np.random.Generator, timer: StepTimer, intervention: bool,
                   interp_gripper: float | None = None, stop_on_success: bool = False) -> bool:
    """Transform ``seg`` to the object's current *true* pose, interpolate to its start, execute open loop."""
    targets = seg.transformed(adapter.object_poses()[seg.object_ref])
    g0 = float(seg.gripper[0]) if interp_gripper is None else interp_gripper
    interp = interpolation(adapter, targets[0], cfg.interp_steps)
    if execute_targets(adapter, rec, interp, np.full(len(interp), g0), rng, cfg.action_noise, timer, intervention,
                       stop_on_success):
        return True
    return execute_targets(adapter, rec, targets, seg.gripper, rng, cfg.action_noise, timer, intervention,
                           stop_on_success)


def generate_mimicgen(adapter: Any, segments: list[list[Segment]], seed: int, cfg: GenerationConfig,
                      timer: StepTimer) -> Attempt:
    """One MimicGen attempt in the scene of ``seed`` (true poses, no corruption).

    Every subtask replays a segment of the same source demo (MimicGen's default): a later subtask then starts
    from the in-hand object pose its source had (e.g. the side of a nut's handle that was grasped). The first
    interpolation keeps the source's initial gripper command (the object may start in the hand).
    """
    rng = np.random.default_rng(seed)
    adapter.reset(seed)
    rec = EpisodeRecorder(adapter)
    chosen = []
    last_g: float | None = None
    source: int | None = None
    for k, spec in enumerate(adapter.subtasks):
        candidates = [s for s in segments[k] if s.source == source] or segments[k]
        seg = select_segment(candidates, adapter.object_poses()[spec.object_ref], cfg, rng, adapter.eef_pose())
        source = seg.source
        chosen.append([seg.source, seg.span.start, seg.span.stop])
        replay_segment(adapter, rec, seg, cfg, rng, timer, intervention=False, interp_gripper=last_g)
        last_g = float(seg.gripper[-1])
    if last_g is None:
        raise ConfigError(f"task {adapter.name!r} declares no subtasks: nothing to generate")
    ok = settle(adapter, rec, rec.last_target, last_g, cfg.settle_steps, timer, intervention=False)
    info = {"seed": seed, "sources": chosen, "method": "mimicgen"}
    if not ok:
        return Attempt(None, False, "task_failed", info)
    return Attempt(rec.finish(success=True, seed=seed, info=info), True, "ok", info)
