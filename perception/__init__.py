"""D415 capture (pyrealsense2) and ICP cube pose estimation (open3d) in the robot base frame.

Modules (import what you need; nothing heavy is imported here):

* :mod:`perception.capture` — :class:`~perception.capture.D415Capture` (live camera, ``.bag``/``.db3`` recording, or
  a :class:`~perception.software_device.SoftwareD415` fed with numpy frames), post-processing filters, align.
* :mod:`perception.cube_pose` — :class:`~perception.cube_pose.CubePoseEstimator` →
  :class:`~perception.cube_pose.CubePoseResult` (``base_T_cube`` or None + status ``tracking``/``lost``/``no_cube``).
* :mod:`perception.extrinsics` — the ``base_T_camera_color_optical_frame`` JSON file and hand-eye calibration.
* :mod:`perception.camera_model`, :mod:`perception.cube_model`, :mod:`perception.segmentation`,
  :mod:`perception.silhouette` — geometry pieces; :mod:`perception.baseline` — the plain open3d pipeline;
  :mod:`perception.visualize` — annotated images.
"""
