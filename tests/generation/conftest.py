"""Source files for generation tests: oracle demos and oracle-gated interventions on a weak policy."""

import pytest

from imgen_core.dataset import DatasetWriter


def _write(path, adapter, episodes, operator, corruption):
    with DatasetWriter(path, adapter.env_args(), {"task": "block_grasp", "operator": operator,
                                                   "corruption": corruption}) as w:
        for ep in episodes:
            w.add(ep)
    return str(path)


@pytest.fixture(scope="session")
def sources(tmp_path_factory):
    from sim.collect import record_demo, record_intervention
    from sim.operators import make_operator, make_scripted_policy
    from sim.tasks import make_task

    d = tmp_path_factory.mktemp("gen_sources")
    ad = make_task("block_grasp")
    op = make_operator("scripted_oracle", ad)
    demos = [record_demo(ad, op, seed=100 + s) for s in range(4)]
    assert all(r.success for r in demos)
    demo_path = _write(d / "demos.hdf5", ad, [r.episode for r in demos], "scripted_oracle", "none")
    adc = make_task("block_grasp", corruption="block")
    opc = make_operator("scripted_oracle", adc)
    pol = make_scripted_policy("observed_grasp", adc)
    ints = [record_intervention(adc, pol, opc, seed=200 + s) for s in range(4)]
    ints = [r for r in ints if r.success and r.has_both_segments]
    assert len(ints) >= 2
    int_path = _write(d / "ints.hdf5", adc, [r.episode for r in ints], "scripted_oracle", "block")
    return {"dir": d, "demos": demo_path, "ints": int_path, "adapter": ad, "adapter_c": adc, "policy": pol}
