"""Franka FR3 control over ``franky``: the 20 Hz delta-pose executor, its safety layer, and the franky-sim twin.

Modules (nothing heavy is imported here; import what you need):

* :mod:`control.config` — :class:`~control.config.ControllerConfig` (robot IP, rate, limits, gains; validated).
* :mod:`control.franka_controller` — :class:`~control.franka_controller.FrankaController`: consumes 7-D normalised
  actions (DESIGN §4) and moves the arm as robosuite's OSC moves the sim arm (the response model of
  :mod:`imgen_core.control_model`), with watchdog, limits, error recovery, asynchronous gripper.
* :mod:`control.safety` — watchdog, event log, limit enforcement glue.
* :mod:`control.twin` — franky-sim with the Block Grasp scene (table, 5 cm red cube, D415 camera) on loopback,
  in-process (:class:`~control.twin.FrankySimTwin`) or in a child process (:class:`~control.twin.TwinProcess`).
* :mod:`control.osc_emulator` — the default response model: robosuite's own OSC on a Panda, stepped per action.
* :mod:`control.sim_reference` — robosuite-side references: TCP pose of a robosuite Panda
  (:func:`~control.sim_reference.robosuite_base_T_tcp`), recording the OSC's response to action sequences, fitting
  the per-axis response model (``imgen control fit-response``).

The pure math (action ↔ target, FR3 kinematics, per-axis response model, workspace/step/brake limits) is
:mod:`imgen_core.control_model`.
"""
