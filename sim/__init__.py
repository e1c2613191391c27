"""MuJoCo/robosuite twins of the imgen tasks, operators (scripted oracle, teleop devices) and rendering.

Nothing heavy is imported here: ``import sim`` does not import robosuite or MuJoCo. Import
``sim.tasks.block_grasp`` (registers the robosuite env ``ImgenBlockGrasp``) or use
:func:`sim.tasks.make_task` to build a :class:`~imgen_core.task.TaskAdapter`.
"""
