"""Recording cache decision traces on the baseline (the maths lives in reports/traces.py).

After generation, a worker of its own (evalsuite/run/trace_step.py) generates a few baseline
images again with read-only hooks on the transformer that record, per denoising step, the
signal every cache decides on (see ``reports.traces`` for the list). A separate, untimed
pass keeps the baseline's latency clean: the hooks synchronise the device on every step. The
images are identical to the timed ones (the hooks only read), so the trace describes exactly
the baseline's run.

The hooks assume one transformer call per denoising step (FLUX.1-dev's guidance-distilled
pipeline); a trace whose call count differs from the step count is dropped with a note.
Memory: every computed step's first-block residual (and each traced Fn residual) is kept
on the device until the image ends, ~25 MB per step for FLUX at 1024x1024 in bfloat16.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalsuite.accelerators.teacache import flux_modulated_input
from evalsuite.store.paths import trace_path
from reports.traces import ImageTrace

if TYPE_CHECKING:
    import torch

    from evalsuite.suite.spec import Suite
    from evalsuite.suite.types import ModelSpec, Variant

DEFAULT_TRACE_IMAGES = 4  # per suite with a cache variant; [run] trace_images overrides


def trace_request(suite: Suite, keys: Sequence[tuple[str, str, int]], run_dir: Path,
                  variant: Variant | None = None) -> tuple[list[tuple[str, str, int]], tuple[int, ...]]:
    """What the baseline's worker should trace: (prompt id, text, seed) not yet traced, and
    the cache-dit Fn values whose residual to record.

    Args:
        suite: the parsed suite.
        keys: (prompt id, text, seed) of the run's images, in run order; the first
            ``[run] trace_images`` of them are traced (default: 4 when a variant has a cache).
        run_dir: the run folder.
        variant: the variant to trace (default: the suite's baseline).
    """
    from evalsuite.accelerators import ACCELERATORS

    caches = [a for v in suite.variants for a in v.accelerators if ACCELERATORS.get(a.name).family == "cache"]
    n = suite.run.trace_images
    n = (DEFAULT_TRACE_IMAGES if caches else 0) if n is None else n
    base = variant or suite.baseline_variant
    done = {(t.prompt_id, t.seed) for t in read_traces(trace_path(run_dir, base.name, base.id))}
    fn = tuple(sorted({int(dict(a.params)["Fn_compute_blocks"]) for a in caches if a.name == "cache_dit"}))
    return [k for k in keys[:n] if (k[0], k[2]) not in done], fn


def trace_to_json(trace: ImageTrace) -> dict[str, Any]:
    """One line of a trace file: the trace with NaN written as null (strict JSON)."""
    return {"prompt_id": trace.prompt_id, "seed": trace.seed, "steps": trace.steps,
            "n_blocks": trace.n_blocks, "signals": {k: _jsonable(v) for k, v in trace.signals.items()}}


def trace_from_json(d: Mapping[str, Any]) -> ImageTrace:
    """Inverse of :func:`trace_to_json` (null -> NaN, lists -> tuples)."""
    return ImageTrace(str(d["prompt_id"]), int(d["seed"]), int(d["steps"]), int(d["n_blocks"]),
                      {k: _from_json(v) for k, v in d["signals"].items()})


def _jsonable(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return None if isinstance(v, float) and math.isnan(v) else v


def _from_json(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_from_json(x) for x in v)
    return math.nan if v is None else float(v)


def read_traces(path: Path) -> list[ImageTrace]:
    """The traces in ``path`` (none if it does not exist); a torn last line is ignored."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(trace_from_json(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # a worker killed mid-write leaves a partial line; that image is traced again
    return out


def _append(path: Path, trace: ImageTrace) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A worker killed mid-write left a torn last line: end it, or this trace would join it.
    torn = path.is_file() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(("\n" if torn else "") + json.dumps(trace_to_json(trace), allow_nan=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _rel(current: torch.Tensor, previous: torch.Tensor) -> float:
    """Relative mean-absolute change, written exactly as the caches write it (same dtype)."""
    return ((current - previous).abs().mean() / previous.abs().mean()).item()


class _Stream:
    """One sequence of transformer calls whose consecutive calls are compared: the calls of
    one transformer in one cache context (Wan's "cond" and "uncond" alternate within a step)."""

    def __init__(self, fn_blocks: Sequence[int]) -> None:
        self.calls = 0
        self.step: dict[str, Any] = {}
        self.history: dict[str, list[Any]] = {"first_block": [], "mag": [], "modulated": [], "output": [],
                                              **{f"fn{k}": [] for k in fn_blocks}}
        self.signals: dict[str, list[Any]] = {"first_block": [], "modulated": [math.nan],
                                              "output": [math.nan], "mag_ratio": [1.0],
                                              **{f"fn{k}": [] for k in fn_blocks}}


class Tracer:
    """Read-only hooks on a transformer that record per-step decision signals.

    Each cache context the pipeline opens on the transformer (``cache_context("cond")``, and
    "uncond" where classifier-free guidance calls it twice per step) is a stream of its own, as
    it is to the caches; a pipeline that opens none has one stream, "".
    """

    def __init__(self, transformer: Any, fn_blocks: Iterable[int] = (), family: Any = None) -> None:
        from diffusers.hooks._helpers import TransformerBlockRegistry

        if family is not None:
            lists = family.block_lists(transformer)
            doubles = list(lists[0][1]) if lists else []
            blocks = [b for _, blocks in lists for b in blocks]
        else:
            doubles = list(getattr(transformer, "transformer_blocks", []))
            blocks = [*doubles, *getattr(transformer, "single_transformer_blocks", [])]
        if not blocks or not hasattr(blocks[0], "norm1"):
            raise ValueError(f"tracing needs FLUX-style blocks; {type(transformer).__name__} has none")
        self.modulate = getattr(family, "modulated_input", flux_modulated_input)
        self.n_blocks = len(blocks)
        self.fn_blocks = sorted({k for k in fn_blocks if 1 <= k < len(doubles)})
        self._head = TransformerBlockRegistry.get(type(blocks[0]))
        metas = {k: TransformerBlockRegistry.get(type(doubles[k - 1])) for k in self.fn_blocks}
        tail = TransformerBlockRegistry.get(type(blocks[-1]))
        self._handles = [
            blocks[0].register_forward_pre_hook(self._head_in, with_kwargs=True),
            blocks[0].register_forward_hook(self._out_hook("first_block", self._head), with_kwargs=True),
            blocks[-1].register_forward_hook(self._out_hook("mag", tail), with_kwargs=True),
            transformer.register_forward_hook(self._step_end),
            *(doubles[k - 1].register_forward_hook(self._out_hook(f"fn{k}", metas[k]), with_kwargs=True)
              for k in self.fn_blocks),
        ]
        self._transformer, self.context = transformer, ""
        if hasattr(transformer, "cache_context"):  # which stream a call belongs to
            opened = transformer.cache_context

            @contextlib.contextmanager
            def named(name: str, **kwargs: Any) -> Any:
                self.context = name
                with opened(name, **kwargs):
                    yield
            transformer.cache_context = named
        self.active = False

    def start(self) -> None:
        """Begin recording one image."""
        self.active, self.streams = True, {}

    @property
    def _stream(self) -> _Stream:
        if self.context not in self.streams:
            self.streams[self.context] = _Stream(self.fn_blocks)
        return self.streams[self.context]

    @property
    def calls(self) -> int:
        """Transformer calls of the main stream (the first context opened) so far."""
        return next(iter(self.streams.values())).calls if self.streams else 0

    def _head_in(self, module: Any, args: tuple, kwargs: dict) -> None:
        if not self.active:
            return
        hidden = self._head._get_parameter_from_args_kwargs("hidden_states", args, kwargs)
        temb = self._head._get_parameter_from_args_kwargs("temb", args, kwargs)
        self._stream.step = {"input": hidden, "modulated": self.modulate(module, hidden, temb)}

    def _out_hook(self, name: str, meta: Any) -> Any:
        def hook(_module: Any, _args: tuple, _kwargs: dict, output: Any) -> None:
            stream = self._stream if self.active else None
            if stream is not None and "input" in stream.step:
                out = output[meta.return_hidden_states_index] if isinstance(output, tuple) else output
                stream.step[name] = out - stream.step["input"]  # image tokens: the residual so far
        return hook

    def _step_end(self, _module: Any, _args: tuple, output: Any) -> None:
        import torch

        if not self.active:
            return
        s = self._stream
        s.calls += 1
        out = output[0] if isinstance(output, tuple) else getattr(output, "sample", output)
        current = {**s.step, "output": out}
        for name in ("first_block", *(f"fn{k}" for k in self.fn_blocks)):
            s.signals[name].append(tuple(_rel(current[name], prev) for prev in s.history[name]))
        if s.history["modulated"]:
            s.signals["modulated"].append(_rel(current["modulated"], s.history["modulated"][-1]))
            s.signals["output"].append(_rel(current["output"], s.history["output"][-1]))
            prev = s.history["mag"][-1]  # MagCache's own calibration formula
            ratio = torch.linalg.norm(current["mag"].float(), dim=-1) / (
                torch.linalg.norm(prev.float(), dim=-1) + 1e-8)
            s.signals["mag_ratio"].append(ratio.mean().item())
        for name in s.history:
            if name in ("modulated", "output", "mag"):
                s.history[name][:] = [current[name]]  # consecutive signals need one step back
            else:
                s.history[name].append(current[name])
        s.step = {}

    def finish(self, prompt_id: str, seed: int, steps: int) -> ImageTrace | None:
        """Stop recording; the image's trace (its main stream), or None if calls and steps
        disagree."""
        traces = self.finish_streams(prompt_id, seed)
        main = next(iter(traces.values()), None)
        return main if main is not None and main.steps == steps else None

    def finish_streams(self, prompt_id: str, seed: int) -> dict[str, ImageTrace]:
        """Stop recording; one trace per stream (its ``steps``: the stream's calls)."""
        self.active = False
        streams, self.streams = self.streams, {}
        return {name: ImageTrace(prompt_id, seed, s.calls, self.n_blocks,
                                 {k: tuple(v) for k, v in s.signals.items()})
                for name, s in streams.items()}

    def remove(self) -> None:
        """Remove the hooks (and the cache-context wrapper)."""
        for h in self._handles:
            h.remove()
        self._transformer.__dict__.pop("cache_context", None)


def record_traces(pipe: Any, model: ModelSpec, device: str, items: Sequence[Any], path: Path,
                  fn_blocks: Iterable[int] = ()) -> list[str]:
    """Generate ``items`` again with the tracer on, appending each trace to ``path``.

    Returns notes about images that could not be traced.
    """
    import torch

    from evalsuite.models.pipeline import generate

    done = {(t.prompt_id, t.seed) for t in read_traces(path)}
    try:
        tracer = Tracer(pipe.transformer, fn_blocks)
    except (AttributeError, ValueError) as exc:  # another family's blocks: its caches still run
        return [f"cache traces not recorded: {exc}"]
    notes = []
    try:
        for item in items:
            if (item.prompt_id, item.seed) in done:
                continue
            tracer.start()
            try:
                with torch.no_grad():
                    generate(pipe, model, device, item.text, item.seed)
            except (KeyError, TypeError, ValueError) as exc:  # the hooks met another block layout
                return [*notes, f"cache traces not recorded: {str(exc).splitlines()[0][:200]}"]
            trace = tracer.finish(item.prompt_id, item.seed, model.steps)
            if trace is None:
                notes.append(f"{item.prompt_id}-{item.seed}: {tracer.calls} transformer calls for "
                             f"{model.steps} steps; not traced")
                continue
            _append(path, trace)
    finally:
        tracer.remove()
    return notes


def record_expert_traces(pipe: Any, model: ModelSpec, device: str, items: Sequence[Any],
                         paths: Callable[[str], Path], family: Any,
                         fn_blocks: Iterable[int] = ()) -> list[str]:
    """Generate ``items`` again with a tracer on each of the family's transformers (Wan 2.2's two
    experts; one elsewhere), appending each transformer's trace of its main stream (the first
    cache context its calls open) to ``paths(name)`` (``evalsuite calibrate``).

    An item is traced again unless every transformer's file holds it. Returns notes about
    what could not be traced.
    """
    import torch

    from evalsuite.models.pipeline import generate

    named = family.named_transformers(pipe)
    done = set.intersection(*({(t.prompt_id, t.seed) for t in read_traces(paths(name))} for name in named))
    try:
        tracers = {name: Tracer(t, fn_blocks, family=family) for name, t in named.items()}
    except (AttributeError, ValueError) as exc:
        return [f"cache traces not recorded: {exc}"]
    notes: list[str] = []
    try:
        for item in items:
            if (item.prompt_id, item.seed) in done:
                continue
            for tracer in tracers.values():
                tracer.start()
            try:
                with torch.no_grad():
                    generate(pipe, model, device, item.text, item.seed, family)
            except (KeyError, TypeError, ValueError) as exc:  # the hooks met another block layout
                return [*notes, f"cache traces not recorded: {str(exc).splitlines()[0][:200]}"]
            for name, tracer in tracers.items():
                main = next(iter(tracer.finish_streams(item.prompt_id, item.seed).values()), None)
                if main is None or main.steps < 2:
                    calls = 0 if main is None else main.steps
                    notes.append(f"{item.prompt_id}-{item.seed}: {name} made {calls} calls; not traced")
                    continue
                _append(paths(name), main)
    finally:
        for tracer in tracers.values():
            tracer.remove()
    return notes


def trace_images(pipe: Any, model: Any, family: Any, items: Sequence[tuple[str, str, int]],
                 device: str) -> list[ImageTrace]:
    """Traces of ``items`` ((prompt id, text, seed)) generated on ``pipe``, kept in memory (a
    variant's ``"calibrate"``: evalsuite.models.calibration): one per image, or for a model
    with several transformers (Wan 2.2's experts) or several guidance passes per step (Wan's
    cond and uncond calls), one per transformer and pass, pooled by the fit.

    Raises:
        ValueError: the tracer cannot hook this model, or an image called the transformer other
            than once per step.
    """
    import torch

    from evalsuite.models.pipeline import generate

    named = family.named_transformers(pipe) if family is not None else {"transformer": pipe.transformer}
    tracers = [Tracer(t, family=family) for t in named.values()]
    out = []
    try:
        for prompt_id, text, seed in items:
            for tracer in tracers:
                tracer.start()
            with torch.no_grad():
                generate(pipe, model, device, text, seed, family)
            streams = [t for tracer in tracers for t in tracer.finish_streams(prompt_id, seed).values()]
            calls = sum(t.steps for t in streams)
            if len(named) == 1 and len(streams) == 1 and calls != model.steps:
                raise ValueError(f"{calls} transformer calls for {model.steps} steps (tracing "
                                 "needs one per step)")
            # Each expert and each guidance pass (cond, uncond) is a stream of its own.
            out += [t for t in streams if t.steps > 1]
    finally:
        for tracer in tracers:
            tracer.remove()
    return out


def prediction_params(accelerator: str, params: dict[str, Any],
                      fitted: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A variant's parameters as ``reports.traces.predict`` needs them.

    MagCache with no table of its own runs on diffusers' FLUX.1-dev ratios; the prediction
    needs that table spelled out. A "calibrate" parameter takes the numbers the variant's
    worker fitted (``fitted``: its telemetry's ``calibration`` record).

    Raises:
        ValueError: a "calibrate" parameter and no fitted numbers to put in its place.
    """
    from evalsuite.accelerators.base import to_calibrate

    if (key := to_calibrate(accelerator, params)) is not None:
        if not fitted or key not in fitted:
            raise ValueError(f"{accelerator}.{key} was fitted in the run, and its numbers were not recorded")
        params = {**params, key: list(fitted[key])}
    if accelerator == "magcache" and not params.get("mag_ratios"):
        from diffusers.hooks.mag_cache import FLUX_MAG_RATIOS

        return {**params, "mag_ratios": [float(r) for r in FLUX_MAG_RATIOS]}
    return dict(params)
