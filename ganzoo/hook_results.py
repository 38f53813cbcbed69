"""What each hook must return, checked where the engine receives it.

A plugin that returns the wrong thing would otherwise fail far from its cause (``replace() should be
called on dataclass instances`` from every command, or a ``.values()`` of a list deep in the loop).
Collecting hooks (``ganzoo_variants``, ``ganzoo_datasets``, ``ganzoo_metrics``, and any kind added
later) are checked against the spec class of their kind: a plugin whose answer does not fit is
recorded as failed, shown by ``ganzoo plugins``, and the others keep working. Per-run hooks
(networks, schedule, losses, a training step, samples) are checked by type; a wrong answer is a
one-line :class:`~ganzoo.errors.PluginError` naming the plugin and the hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ganzoo.errors import PluginError


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def collected_items(hook_name: str, answer: Any, spec_class: type) -> list[Any]:
    """The items of one plugin's answer to a collecting hook, each a ``spec_class`` with a name.

    ``None`` is an empty answer; anything else that is not a list (or tuple) of ``spec_class``
    instances raises :class:`TypeError` saying what came back and what was expected."""
    if answer is None:
        return []
    expected = f"a list of {spec_class.__name__}"
    if not isinstance(answer, (list, tuple)):
        raise TypeError(f"{hook_name} returned {_short(answer)}, not {expected}")
    for item in answer:
        if not isinstance(item, spec_class):
            raise TypeError(f"{hook_name} returned {_short(item)} in its list, not a {spec_class.__name__}")
        name = getattr(item, "name", None)
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"{hook_name} returned a {spec_class.__name__} without a name")
    return list(answer)


# --------------------------------------------------------------------------------------------------
# Per-run hooks
# --------------------------------------------------------------------------------------------------


def _is_module_dict(value: Any) -> bool:
    from torch import nn

    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, nn.Module) for k, v in value.items())


def _is_tensor_dict(value: Any) -> bool:
    import torch

    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())


def _is_schedule(value: Any) -> bool:
    from ganzoo.spec import Player, Schedule

    return isinstance(value, Schedule) and all(isinstance(p, Player) for p in value.players)


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


#: For each per-run hook: the check of an answer, and what the hook must return (for the message).
PER_RUN: dict[str, tuple[Callable[[Any], bool], str]] = {
    "ganzoo_networks": (_is_module_dict, "a dict of name -> torch.nn.Module"),
    "ganzoo_schedule": (_is_schedule, "a ganzoo.Schedule of Player"),
    "ganzoo_losses": (_is_tensor_dict, "a dict of term name -> tensor"),
    "ganzoo_train_step": (_is_tensor_dict, "a dict of '<player>/<term>' -> tensor"),
    "ganzoo_sample": (_is_tensor, "one tensor of samples"),
}


def check_answer(pm: Any, package_of: Callable[[object], str], hook_name: str, answer: Any, kwargs: dict[str, Any]) -> Any:
    """Return ``answer`` if it is what ``hook_name`` must return (``None`` passes: the caller
    handles "no plugin answered"); else raise a PluginError naming the plugin that answered."""
    is_valid, expected = PER_RUN[hook_name]
    if answer is None or is_valid(answer):
        return answer
    who = answering_plugin(pm, package_of, hook_name, kwargs)
    raise PluginError(
        f"plugin {who} returned {type(answer).__name__} {_short(answer)} from {hook_name}; expected {expected}"
    )


def answering_plugin(pm: Any, package_of: Callable[[object], str], hook_name: str, kwargs: dict[str, Any]) -> str:
    """Which plugin answers a first-result hook for ``kwargs``: its implementations are asked again
    in pluggy's order (only on the error path, so asking twice costs nothing in a healthy run)."""
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        if getattr(impl, "hookwrapper", False) or getattr(impl, "wrapper", False):
            continue
        try:
            found = impl.function(**{name: kwargs[name] for name in impl.argnames if name in kwargs})
        except Exception:  # noqa: BLE001 - a plugin failing when asked again is not the one we look for
            continue
        if found is not None:
            name = pm.get_name(impl.plugin) or "?"
            package = package_of(impl.plugin)
            return repr(name) if package == name else f"{name!r} ({package})"
    return "'?' (a hook wrapper changed the answer)"
