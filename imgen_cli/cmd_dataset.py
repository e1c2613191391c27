"""``imgen dataset info|validate|merge|split``."""

from __future__ import annotations

import argparse
import json
import sys

from imgen_core import dataset


def _info(args: argparse.Namespace) -> int:
    for path in args.files:
        summary = dataset.info(path)
        if args.json:
            print(json.dumps(summary, indent=2))
            continue
        prov = summary["provenance"]
        print(f"{path}\n  env: {summary['env_name']}   task: {prov.get('task')}   operator: {prov.get('operator')}"
              f"   corruption: {prov.get('corruption', 'none')}")
        print(f"  demos: {summary['demos']}   steps: {summary['steps']}   length min/mean/max: "
              f"{summary['length_min']}/{summary['length_mean']:.1f}/{summary['length_max']}")
        if summary["human_step_fraction"] is not None:
            print(f"  human (intervention) steps: {100 * summary['human_step_fraction']:.1f} %")
        print(f"  obs keys: {', '.join(summary['obs_keys'])}")
        if summary["masks"]:
            print(f"  masks: {summary['masks']}")
        if summary["sources"]:
            print(f"  merged from: {', '.join(s['file'] for s in summary['sources'])}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    bad = 0
    for path in args.files:
        problems = dataset.validate_file(path, require_intervention=args.interventions)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            bad += 1
        else:
            print(f"{path}: ok")
    return 1 if bad else 0


def _merge(args: argparse.Namespace) -> int:
    n = dataset.merge(args.inputs, args.out, weights=args.weights, overwrite=args.overwrite)
    print(f"{args.out}: {n} demos from {len(args.inputs)} files")
    return 0


def _split(args: argparse.Namespace) -> int:
    counts = dataset.split(args.file, valid_fraction=args.valid, seed=args.seed)
    print(f"{args.file}: mask/train {counts['train']} demos, mask/valid {counts['valid']} demos")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dataset", help="inspect, validate, merge and split robomimic HDF5 datasets",
                       description="Inspect and manage imgen datasets (robomimic HDF5 + datagen_info).")
    ds = p.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    q = ds.add_parser("info", help="summary of one or more files")
    q.add_argument("files", nargs="+")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(func=_info)
    q = ds.add_parser("validate", help="check layout, shapes and values; exit 1 naming file, demo and problem")
    q.add_argument("files", nargs="+")
    q.add_argument("--interventions", action="store_true", help="also require the per-step intervention mask")
    q.set_defaults(func=_validate)
    q = ds.add_parser("merge", help="concatenate datasets of one env, keeping provenance per source")
    q.add_argument("inputs", nargs="+")
    q.add_argument("--out", required=True)
    q.add_argument("--weights", type=float, nargs="+", help="per-input sampling weight stored on every demo")
    q.add_argument("--overwrite", action="store_true")
    q.set_defaults(func=_merge)
    q = ds.add_parser("split", help="write robomimic mask/train and mask/valid filter keys")
    q.add_argument("file")
    q.add_argument("--valid", type=float, default=0.1, help="fraction of demos for validation (default 0.1)")
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_split)
