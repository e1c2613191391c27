"""MimicGen and Interventional MimicGen (Algorithm 1) over the :class:`~imgen_core.task.TaskAdapter` interface."""

from imgen_core.generation.config import GenerationConfig
from imgen_core.generation.interventional import generate_interventional
from imgen_core.generation.mimicgen import Attempt, generate_mimicgen
from imgen_core.generation.runner import GenerationJob, GenerationStats, episode_seed, run_job
from imgen_core.generation.sources import demo_segments, intervention_sources

__all__ = [
    "Attempt", "GenerationConfig", "GenerationJob", "GenerationStats", "demo_segments", "episode_seed",
    "generate_interventional", "generate_mimicgen", "intervention_sources", "run_job",
]
