"""Every benchmark scenario's plain reference loop still trains the model ganzoo trains.

A variant's networks or config can change under its reference loop (``benchmarks/reference/``);
then ``ganzoo bench`` would compare ganzoo with another model, or fail. Each scenario, at its small
size, builds both contenders and runs an iteration of each: same parameter count, same FLOPs per
iteration (the same work), and the plain loop really updates its networks.
"""

from __future__ import annotations

import pytest
import torch

from ganzoo.bench import harness
from ganzoo.bench.flops import count_flops
from ganzoo.bench.scenarios import benchmarks_dir, load_reference, load_scenarios
from ganzoo.registry import get_registry

FOLDER = benchmarks_dir()
SCENARIOS = load_scenarios(FOLDER)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_reference_loop_trains_the_same_model_as_ganzoo(scenario, tmp_path):
    registry = get_registry()
    if scenario.variant not in registry.variants():
        pytest.skip(f"{scenario.variant} is not installed")
    scenario = scenario.sized(True)
    settings = harness.Settings(device=torch.device("cpu"), steps=1, warmup=0, repeats=1, modes=("eager",), small=True)
    builder = harness.Builder(scenario, settings, registry, tmp_path, FOLDER)
    info = harness.synthetic_info(scenario, builder.variant.data_kind)

    assert load_reference(FOLDER, scenario) is not None, f"benchmarks/reference/{scenario.reference_name}.py is missing"
    plain, ganzoo = builder.plain(info), builder.ganzoo("eager", info)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in plain.networks.items()}
    # both counted on their first iteration, where every lazy or periodic phase of a schedule is due
    plain_flops = count_flops(plain.step)
    for name, net in plain.networks.items():
        moved = any(not torch.equal(old, new) for old, new in zip(before[name], net.parameters(), strict=True))
        assert moved, f"the plain loop did not update {name}"

    assert ganzoo.parameters == plain.parameters
    assert count_flops(ganzoo.step) == plain_flops
