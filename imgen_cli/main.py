"""``imgen``: one entry point for the whole pipeline.

Each sub-command lives in ``imgen_cli/cmd_<name>.py`` and exposes ``register(subparsers)``; its handler
is set with ``parser.set_defaults(func=handler)`` and returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys

import imgen_cli
from imgen_core import __version__
from imgen_core.errors import ImgenError

PIPELINE = """\
pipeline (one task, end to end; every arrow is one sub-command):
  imgen collect demos          --task block_grasp --operator scripted_oracle --n 10  --out data/src_demos.hdf5
  imgen generate mimicgen      --task block_grasp --source data/src_demos.hdf5 --n 1000 --out data/mg_demos.hdf5
  imgen train                  --dataset data/mg_demos.hdf5 --preset cpu --out runs/base
  imgen collect interventions  --task block_grasp --policy runs/base/best.pt --corruption block --n 10 --out data/src_int.hdf5
  imgen generate imgen         --task block_grasp --source data/src_int.hdf5 --policy runs/base/best.pt --n 1000 --out data/imgen.hdf5
  imgen train                  --dataset data/mg_demos.hdf5 --dataset data/imgen.hdf5 --preset cpu --out runs/imgen
  imgen eval runs/imgen/best.pt --task block_grasp --corruption block --trials 50
  imgen experiment table4 --preset cpu          (all of the above, cached, plus every baseline row)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imgen",
        description="Interventional MimicGen: generate synthetic corrective interventions from a few human ones "
                    "and train pose-error-robust policies (MuJoCo twin + ROS 2 + Franka FR3).",
        epilog=PIPELINE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"imgen {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in sorted(m.name for m in pkgutil.iter_modules(imgen_cli.__path__) if m.name.startswith("cmd_")):
        importlib.import_module(f"imgen_cli.{mod}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MUJOCO_GL", "osmesa")
    os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ImgenError as exc:
        print(f"imgen {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"imgen {args.command}: interrupted (finished work is kept; re-run with --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
