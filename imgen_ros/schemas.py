"""Every node's declared parameters, in one place (pure Python; used by the nodes, the graph and ``--help``).

Topic names and message types are DESIGN §5; frame ids ``base`` (robot base) and ``camera_color_optical_frame``.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgen_core.task import OBSERVABILITY_MODES
from imgen_ros.params import ParamSpec

PACKAGE = "imgen"

# --- topics (DESIGN §5) --------------------------------------------------------------------------------------
CAMERA_NS = "/camera/camera"
COLOR_IMAGE = f"{CAMERA_NS}/color/image_raw"
COLOR_INFO = f"{CAMERA_NS}/color/camera_info"
DEPTH_IMAGE = f"{CAMERA_NS}/aligned_depth_to_color/image_raw"
DEPTH_INFO = f"{CAMERA_NS}/aligned_depth_to_color/camera_info"
EXTRINSICS = f"{CAMERA_NS}/extrinsics"  # latched PoseStamped base_T_camera_color_optical_frame (no tf2 on PyPI)
POINTS = "/cube_pose_estimator/points"  # segmented cube points, base frame (RViz needs no TF)
CUBE_POSE = "/cube_pose"
CUBE_POSE_STATUS = "/cube_pose/status"
EE_POSE = "/franka/ee_pose"
GRIPPER_WIDTH = "/franka/gripper_width"
JOINT_STATES = "/joint_states"
ACTION = "/imgen/action"
GRIPPER_COMMAND = "/imgen/gripper_command"
CUBE_POSE_TRUE = "/sim/cube_pose_true"
CUBE_POSE_OBSERVED = "/sim/cube_pose_observed"  # twin only: the corrupted pose the robot believes
TRIAL = "/imgen/trial"
MARKERS = "/imgen/markers"
PROGRESS = "/imgen/generation/progress"
DIAGNOSTICS = "/diagnostics"
CONTROLLER_STATUS = "/franka/status"

BASE_FRAME = "base"
OPTICAL_FRAME = "camera_color_optical_frame"
GRIPPER_JOINT = "gripper_width"

# topic -> ROS type name (what trial_recorder records and bag-eval reads)
TOPIC_TYPES: dict[str, str] = {
    COLOR_IMAGE: "sensor_msgs/msg/Image",
    COLOR_INFO: "sensor_msgs/msg/CameraInfo",
    DEPTH_IMAGE: "sensor_msgs/msg/Image",
    DEPTH_INFO: "sensor_msgs/msg/CameraInfo",
    CUBE_POSE: "geometry_msgs/msg/PoseStamped",
    CUBE_POSE_STATUS: "diagnostic_msgs/msg/DiagnosticStatus",
    EE_POSE: "geometry_msgs/msg/PoseStamped",
    GRIPPER_WIDTH: "sensor_msgs/msg/JointState",
    JOINT_STATES: "sensor_msgs/msg/JointState",
    ACTION: "geometry_msgs/msg/TwistStamped",
    GRIPPER_COMMAND: "std_msgs/msg/Float64",
    CUBE_POSE_TRUE: "geometry_msgs/msg/PoseStamped",
    CUBE_POSE_OBSERVED: "geometry_msgs/msg/PoseStamped",
    TRIAL: "std_msgs/msg/String",
    MARKERS: "visualization_msgs/msg/MarkerArray",
    PROGRESS: "std_msgs/msg/String",
    DIAGNOSTICS: "diagnostic_msgs/msg/DiagnosticArray",
    CONTROLLER_STATUS: "diagnostic_msgs/msg/DiagnosticStatus",
    POINTS: "sensor_msgs/msg/PointCloud2",
    EXTRINSICS: "geometry_msgs/msg/PoseStamped",
}
IMAGE_TOPICS = (COLOR_IMAGE, DEPTH_IMAGE, POINTS)  # large: recorded only with record_images

# --- parameters ----------------------------------------------------------------------------------------------
_DIAG = ParamSpec("diagnostics_period", float, 1.0, "seconds between /diagnostics health messages", (0.05, 60.0))
_TASK = ParamSpec("task", str, "block_grasp", "task twin name (sim.tasks registry)", required=True)
_CORR = ParamSpec("corruption", str, "none", "pose corruption model of the observed object poses", required=True)
_OBSV = ParamSpec("observability", str, "none", "contact observability: " + "|".join(OBSERVABILITY_MODES),
                  choices=OBSERVABILITY_MODES)
_SEED = ParamSpec("seed", int, 0, "random seed", (0, 2**31 - 1))
_RATE = ParamSpec("rate_hz", float, 20.0, "control loop rate [Hz]", (1.0, 200.0))


@dataclass(frozen=True)
class NodeInfo:
    """An executable of package ``imgen``: what it does and the parameters it declares."""

    executable: str
    description: str
    params: tuple[ParamSpec, ...]

    @property
    def module(self) -> str:
        return f"imgen_ros.nodes.{self.executable}"

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        from imgen_core.errors import ConfigError

        raise ConfigError(f"node {self.executable} has no parameter {name!r}; it has: "
                          f"{', '.join(p.name for p in self.params)}")


SIM_WORLD = NodeInfo("sim_world", "MuJoCo twin of the task: publishes true and observed cube pose, EE pose, gripper "
                     "width and markers; with closed_loop steps the sim from /imgen/action + /imgen/gripper_command "
                     "and runs seeded trials announced on /imgen/trial", (
    _TASK, _CORR, _OBSV, _SEED, _RATE,
    ParamSpec("closed_loop", bool, False, "step the sim from /imgen/action and /imgen/gripper_command"),
    ParamSpec("action_timeout", float, 0.25, "arm action older than this [s] is replaced by a zero (hold) action",
              (0.01, 10.0)),
    ParamSpec("trials", int, 0, "closed loop: number of seeded trials to run, then exit (0 = one endless episode)",
              (0, 100_000)),
    ParamSpec("trial_steps", int, 0, "closed loop: steps per trial (0 = the task horizon)", (0, 100_000)),
    ParamSpec("success_hold_steps", int, 10, "closed loop: success must hold this many steps to end a trial",
              (1, 10_000)),
    ParamSpec("policy_label", str, "", "policy name written into /imgen/trial events (informational)"),
    ParamSpec("announce_delay", float, 2.0, "closed loop: seconds after start before the first trial is announced, "
              "so that discovery has matched the /imgen/trial subscribers (the trial recorder) by then", (0.0, 60.0)),
    ParamSpec("publish_markers", bool, True, "publish true cube / EE markers on /imgen/markers"),
    _DIAG,
))

GENERATOR = NodeInfo("generator", "runs one MimicGen / I-MG generation job (imgen_core.generation.run_job) in a "
                     "worker thread; publishes progress, generated-trajectory markers and diagnostics; validates "
                     "the dataset at the end", (
    ParamSpec("method", str, "mimicgen", "generation method", choices=("mimicgen", "imgen", "imgen_no_policy")),
    _TASK,
    ParamSpec("source", str, "", "source demos (mimicgen) or interventions (imgen) HDF5", required=True),
    ParamSpec("policy", str, "", "base policy checkpoint or scripted:<name> (method imgen)"),
    ParamSpec("n", int, 10, "episodes to keep", (1, 1_000_000)),
    ParamSpec("out", str, "data/generated.hdf5", "output dataset HDF5", required=True),
    _CORR, _OBSV, _SEED,
    ParamSpec("workers", int, 1, "parallel generation workers (processes)", (1, 256)),
    ParamSpec("max_attempts", int, 0, "attempt budget (0 = 20 x n)", (0, 100_000_000)),
    ParamSpec("resume", bool, False, "continue an interrupted job"),
    ParamSpec("overwrite", bool, False, "replace an existing output"),
    ParamSpec("max_marker_episodes", int, 50, "most kept episodes drawn as LINE_STRIP markers", (0, 100_000)),
    ParamSpec("exit_when_done", bool, True, "exit (ending the graph) when the job is finished"),
    _DIAG,
))

POLICY_SERVER = NodeInfo("policy_server", "turns /franka/ee_pose, /franka/gripper_width and /cube_pose into 20 Hz "
                         "actions; holds still on stale, missing or non-finite observations", (
    ParamSpec("checkpoint", str, "", "policy checkpoint (.pt from imgen train) or scripted:<name>", required=True),
    _TASK,
    ParamSpec("object_name", str, "cube", "object whose pose arrives on /cube_pose", required=True),
    _RATE,
    ParamSpec("stale_timeout", float, 0.2, "observations older than this [s] count as stale (hold still)",
              (0.01, 10.0)),
    ParamSpec("reset_on_trial_start", bool, True,
              "reset the policy's RNN state on a /imgen/trial start event; between an end event and the next start, "
              "hold still and send no gripper command (the cell is being reset)"),
    _DIAG,
))

TRIAL_RECORDER = NodeInfo("trial_recorder", "writes one rosbag2 per trial (rosbags) with every DESIGN §5 topic; trial "
                          "boundaries and metadata from /imgen/trial JSON events", (
    ParamSpec("out_dir", str, "bags", "directory that receives one bag per trial", required=True),
    ParamSpec("storage", str, "mcap", "rosbag2 storage plugin", choices=("mcap", "sqlite3")),
    ParamSpec("record_images", bool, False, "also record camera images (large)"),
    ParamSpec("record_without_trials", bool, False, "record one bag from start to shutdown even without trial "
              "events"),
    ParamSpec("max_trial_seconds", float, 600.0, "close a trial's bag after this long without an end event",
              (1.0, 86_400.0)),
    ParamSpec("end_drain_s", float, 5.0, "after a trial's end event, keep writing until every streaming stamped "
              "topic delivered a message stamped after it, at most this long [s]", (0.0, 60.0)),
    _DIAG,
))

D415_CAMERA = NodeInfo("d415_camera", "RealSense D415 (live, recording or the sim twin's camera) publishing "
                       "colour, aligned depth and camera_info under /camera/camera (realsense-ros names) and the "
                       "latched extrinsics", (
    ParamSpec("source", str, "realsense", "realsense (live camera), recording (.bag/.db3) or sim (render the twin "
              "scene posed from /sim/cube_pose_true, /franka/ee_pose, /franka/gripper_width)",
              choices=("realsense", "recording", "sim")),
    ParamSpec("serial", str, "", "camera serial number (live; empty = first found)"),
    ParamSpec("recording", str, "", "recording file (source recording)"),
    ParamSpec("fps", int, 30, "frame rate [Hz] (sim: render rate)", (1, 90)),
    ParamSpec("width", int, 0, "image width [px] of depth and colour (a D415 profile, e.g. 1280, 848, 640, 424; "
              "0 = the source's default: 1280 live, 640 sim)", (0, 1920)),
    ParamSpec("height", int, 0, "image height [px] (e.g. 720, 480, 240; 0 = the source's default: 720 live, "
              "480 sim)", (0, 1080)),
    ParamSpec("extrinsics", str, "", "base_T_camera_color_optical_frame: a calibration JSON "
              "(perception.extrinsics) or 'x y z qx qy qz qw'; published latched on /camera/camera/extrinsics "
              "(sim: exact, from the scene)"),
    ParamSpec("table_z", float, 0.0, "sim: base-frame z of the table top [m] (the scene is rendered with its "
              "table there)", (-2.0, 2.0)),
    ParamSpec("via_librealsense", bool, True, "sim: pass rendered frames through librealsense's software device "
              "and the real capture code"),
    ParamSpec("seed", int, 0, "sim: noise seed", (0, 2**31 - 1)),
    _DIAG,
))

CUBE_POSE_ESTIMATOR = NodeInfo("cube_pose_estimator", "ICP pose of the 5 cm cube from aligned depth + colour, in the "
                               "base frame; /cube_pose stamped with the camera frame's stamp", (
    ParamSpec("extrinsics", str, "", "base_T_camera_color_optical_frame (calibration JSON or 'x y z qx qy qz qw'); "
              "empty = from the latched /camera/camera/extrinsics"),
    ParamSpec("table_z", float, 0.0, "base-frame z of the table top [m] (shifts the workspace box)", (-2.0, 2.0)),
    ParamSpec("publish_points", bool, True, "publish the cube's segmented points (base frame) for RViz"),
    ParamSpec("hold_max_s", float, 5.0, "publish the last confident pose for at most this long while frames give "
              "no estimate (occluded cube); 0 = publish only fresh estimates", (0.0, 3600.0)),
    ParamSpec("max_jump_m", float, 0.02, "an estimate farther than this from the held pose is only a candidate "
              "until confirm_frames agreeing frames confirm the move", (1e-4, 1.0)),
    ParamSpec("confirm_frames", int, 3, "consecutive agreeing frames that confirm a cube move", (1, 100)),
    _DIAG,
))

FRANKA_CONTROLLER = NodeInfo("franka_controller", "executes 20 Hz delta-pose actions on a Franka FR3 through franky "
                             "(or the franky-sim twin of the cell, which then also runs seeded Block Grasp trials); "
                             "publishes EE pose, joint states, gripper width and status", (
    ParamSpec("robot_ip", str, "172.16.0.2", "FR3 control box address (ignored by backend franky_sim)", required=True),
    ParamSpec("backend", str, "franky", "franky (the robot at robot_ip) or franky_sim (start the franky-sim twin of "
              "the cell on loopback and drive it)", choices=("franky", "franky_sim")),
    _RATE,
    ParamSpec("action_timeout", float, 0.1, "watchdog: stop the arm when no action arrived for this long [s] "
              "(1 to 20 control periods)", (0.01, 5.0)),
    ParamSpec("response_model", str, "robosuite_osc", "how the arm answers an action: robosuite_osc (the sim's OSC, "
              "as in training), fitted (per-axis fit) or ideal", choices=("robosuite_osc", "fitted", "ideal")),
    ParamSpec("workspace", str, "", "TCP box 'xmin ymin zmin xmax ymax zmax' [m], base frame (empty = "
              "0.25 -0.40 -0.10 0.85 0.40 0.45)"),
    ParamSpec("trials", int, 0, "franky_sim: seeded trials to run (home, place cube, announce on /imgen/trial), then "
              "exit; 0 = none", (0, 100_000)),
    ParamSpec("trial_steps", int, 400, "franky_sim: ticks per trial before it counts as failed (the task horizon)",
              (1, 100_000)),
    ParamSpec("success_hold_steps", int, 10, "franky_sim: ticks the cube must stay lifted and held", (1, 10_000)),
    ParamSpec("lift_height", float, 0.05, "franky_sim: lift above the rest height that counts as success [m]",
              (0.005, 0.5)),
    _CORR, _SEED,
    ParamSpec("policy_label", str, "", "policy name written into /imgen/trial events (informational)"),
    _DIAG,
))

NODES: dict[str, NodeInfo] = {n.executable: n for n in (SIM_WORLD, GENERATOR, POLICY_SERVER, TRIAL_RECORDER,
                                                         D415_CAMERA, CUBE_POSE_ESTIMATOR, FRANKA_CONTROLLER)}


def node_info(executable: str) -> NodeInfo:
    from imgen_core.errors import check_choice

    check_choice("node executable", executable, tuple(NODES))
    return NODES[executable]
