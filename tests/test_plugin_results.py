"""A plugin that answers a hook with the wrong thing: collecting hooks leave it out and record it
(``ganzoo plugins`` shows it and exits 0, the other plugins keep working); per-run hooks stop the
run with one line naming the plugin and the hook."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from fakeplugins import install_fake_distribution
from test_crash_safety import RUN_ARGS

from ganzoo import hookimpl
from ganzoo.cli.main import cli
from ganzoo.hook_results import collected_items
from ganzoo.registry import get_registry

BAD_ANSWERS = {  # hook: (what the plugin returns, the start of the recorded error)
    "ganzoo_variants": ('["x"]', "TypeError: ganzoo_variants returned 'x' in its list, not a VariantSpec"),
    "ganzoo_datasets": ('"ring8"', "TypeError: ganzoo_datasets returned 'ring8', not a list of DatasetSpec"),
    "ganzoo_metrics": ("[{'name': 'fid'}]", "TypeError: ganzoo_metrics returned {'name': 'fid'} in its list, not a MetricSpec"),
}


@pytest.mark.parametrize("hook", list(BAD_ANSWERS))
def test_a_plugin_declaring_the_wrong_type_is_recorded_and_the_cli_keeps_working(hook, site):
    answer, error = BAD_ANSWERS[hook]
    source = f"from ganzoo import hookimpl\n@hookimpl\ndef {hook}():\n    return {answer}\n"
    module = f"wrong_{hook}"  # one module per case: an imported module stays in sys.modules
    install_fake_distribution(site, "ganzoo-wrong", "0.1", {module: source}, {"wrong": module})
    runner = CliRunner()
    plugins = runner.invoke(cli, ["plugins", "--json"])
    assert plugins.exit_code == 0, plugins.output
    record = next(r for r in json.loads(plugins.stdout) if r["name"] == "wrong")
    assert record["status"] == "failed" and record["error"] == error
    table = runner.invoke(cli, ["plugins"])
    assert table.exit_code == 0 and "failed" in table.stdout
    listed = runner.invoke(cli, ["list", "--json"])
    assert listed.exit_code == 0 and "gan" in {row["name"] for row in json.loads(listed.stdout)}
    assert f"ganzoo: warning: ganzoo-wrong failed in {hook}: {error}" in plugins.stderr  # warned once


def test_collecting_is_generic_over_kinds():
    @dataclass(frozen=True)
    class AddonSpec:  # a kind the core does not know: checked by its class alone
        name: str

    assert collected_items("ganzoo_addons", [AddonSpec("ema")], AddonSpec) == [AddonSpec("ema")]
    assert collected_items("ganzoo_addons", None, AddonSpec) == []
    for bad, says in (({"ema": 1}, "not a list of AddonSpec"), (["ema"], "'ema' in its list, not a AddonSpec"),
                      ([AddonSpec("")], "a AddonSpec without a name")):
        with pytest.raises(TypeError, match=says):
            collected_items("ganzoo_addons", bad, AddonSpec)


def wrong_answer(hook: str, value):
    """A plugin answering ``hook`` for the ``gan`` variant with ``value``, ahead of gan's own."""

    def answer(self, variant):
        return value if variant.name == "gan" else None

    return type("WrongAnswer", (), {hook: hookimpl(tryfirst=True)(answer)})()


PER_RUN = {  # hook: (wrong answer, what the message says is expected)
    "ganzoo_networks": (["generator"], "list ['generator'] from ganzoo_networks; expected a dict of name -> torch.nn.Module"),
    "ganzoo_schedule": ({"players": []}, "dict {'players': []} from ganzoo_schedule; expected a ganzoo.Schedule of Player"),
    "ganzoo_losses": (0.5, "float 0.5 from ganzoo_losses; expected a dict of term name -> tensor"),
    "ganzoo_sample": ([[0.0]], "list [[0.0]] from ganzoo_sample; expected one tensor of samples"),
}


@pytest.mark.parametrize("hook", list(PER_RUN))
def test_a_per_run_hook_answering_the_wrong_type_is_one_line_naming_plugin_and_hook(hook, tmp_path):
    value, message = PER_RUN[hook]
    get_registry().register(wrong_answer(hook, value), name="wrong-answers")
    result = CliRunner().invoke(cli, ["run", "gan", *RUN_ARGS, "--steps", "2", "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"error: plugin 'wrong-answers' returned {message}"]
    if hook == "ganzoo_losses":  # the first step: the run's start-up files are there, to restart
        from ganzoo.engine.run_folder import leftover_variant

        assert leftover_variant(tmp_path / "run") == "gan"
    else:  # while building, before any file: the claimed folder is removed again
        assert not (tmp_path / "run").exists()
