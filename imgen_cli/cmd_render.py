"""``imgen render FILE --demo N --out x.mp4``: replay a recorded episode's states offscreen to an MP4."""

from __future__ import annotations

import argparse
import json


def _render(args: argparse.Namespace) -> int:
    import h5py

    from imgen_core import keys as K
    from imgen_core.dataset import demo_name, file_attrs, read_episode
    from imgen_core.errors import DatasetError
    from sim.render import EpisodeRenderer, write_mp4
    from sim.tasks import make_task_from_env_args

    attrs = file_attrs(args.file)
    name = demo_name(args.demo)
    with h5py.File(args.file, "r") as f:
        if name not in f[K.DATA]:
            have = sorted(f[K.DATA].keys(), key=lambda n: int(n.split("_")[-1]) if n.startswith(K.DEMO_PREFIX) else -1)
            raise DatasetError(f"{args.file} has no {name}; it holds {len(have)} demos ({', '.join(have[:5])}...)")
        ep = read_episode(f[K.DATA][name])
    adapter = make_task_from_env_args(attrs[K.ATTR_ENV_ARGS])
    renderer = EpisodeRenderer(adapter, args.width, args.height, args.camera)
    n = write_mp4(renderer.episode_frames(ep, every=args.every), args.out, fps=max(1, args.fps // args.every))
    renderer.close()
    print(json.dumps({"file": args.file, "demo": name, "frames": n, "out": args.out, "success": ep.success,
                      "operator": ep.operator, "corruption": ep.info.get("corruption")}))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a recorded episode to MP4 (offscreen)",
                       description="Replays the stored MuJoCo states of one demo offscreen (MUJOCO_GL=osmesa) and "
                                   "writes an MP4. The observed (corrupted) cube is a translucent ghost; for "
                                   "interventions a band on top shows robot (blue) or human (orange) control.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("file", help="dataset HDF5")
    p.add_argument("--demo", type=int, default=0, help="demo index N (data/demo_N)")
    p.add_argument("--out", required=True, help="output .mp4")
    p.add_argument("--camera", help="model camera name (frontview, agentview, ...); default: a free camera")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--fps", type=int, default=20, help="playback rate (20 = real time)")
    p.add_argument("--every", type=int, default=1, help="render every k-th step")
    p.set_defaults(func=_render)
