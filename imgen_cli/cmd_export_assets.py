"""``imgen export-assets``: copy the small policies and source interventions shipped with imgen.

They are made by imgen itself: ``imgen experiment table4 --preset cpu`` builds them as its ``train_base``,
``src_int`` and ``train_imgen`` stages (the main job uses the base policy and the interventions; the real-deploy
rehearsal uses the I-MG policy); this command copies the finished stages' files into ``assets/<task>/`` with a
``PROVENANCE.json`` (stage parameters, inputs, digests, the command). The shipped Block Grasp files come from the
table's ``full`` observability, its default until 2026-12-07: today ``imgen experiment table4 --preset cpu
--observability full``, then ``--experiment runs/experiments/table4/cpu_obs-full`` here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from imgen_core.errors import ImgenError
from imgen_core.stages import file_digest

FILES = {"train_base": ("best.pt", "base_policy.pt"), "src_int": ("data.hdf5", "source_interventions.hdf5"),
         "train_imgen": ("best.pt", "imgen_policy.pt")}


def _export(args: argparse.Namespace) -> int:
    root, out = Path(args.experiment), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    prov: dict[str, object] = {"made_by": f"imgen experiment {root.parent.name} --preset {root.name}",
                               "exported_by": f"imgen export-assets --experiment {root} --task {args.task}",
                               "date": time.strftime("%Y-%m-%d"), "files": {}}
    found = {}
    for stage in FILES:  # every stage must be finished before anything in --out is replaced
        dones = sorted(root.glob(f"{args.task}-{stage}-*/done.json"), key=lambda p: p.stat().st_mtime)
        if not dones:
            raise ImgenError(f"no finished stage {args.task}-{stage} under {root}; run the experiment first")
        found[stage] = dones[-1]
    for stage, (src_name, dst_name) in FILES.items():
        stage_dir = found[stage].parent
        shutil.copyfile(stage_dir / src_name, out / dst_name)
        done = json.loads(found[stage].read_text())
        prov["files"][dst_name] = {"stage": stage_dir.name, "sha256": file_digest(out / dst_name),  # type: ignore
                                   "params": done["params"], "result": done["result"]}
        print(f"{out / dst_name} <- {stage_dir / src_name}")
    (out / "PROVENANCE.json").write_text(json.dumps(prov, indent=2, default=str))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-assets", help="copy the shipped policies + source interventions from an experiment",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiment", default="runs/experiments/table4/cpu", help="experiment stage cache")
    p.add_argument("--task", default="block_grasp")
    p.add_argument("--out", default="assets/block_grasp")
    p.set_defaults(func=_export)
