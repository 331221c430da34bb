"""Suite files: TOML parsed into frozen dataclasses, validated strictly, sweeps expanded.

Every problem is a :class:`UserError` with one line naming the file and the key, raised
before any work starts.
"""

from __future__ import annotations

import itertools
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import prompts
from evalsuite.accelerators import ACCELERATORS
from evalsuite.endpoints import PROTOCOLS, EndpointSpec, EndpointSpecError, parse_endpoint
from evalsuite.errors import UserError, spec_error
from evalsuite.suite.build import (
    VariantSettings,
    given_params,
    is_sweep,
    make_variant,
    sweep_name,
    variant_id,
)
from evalsuite.suite.calibrate_spec import CalibrateSpec, calibrate_dict, parse_calibrate
from evalsuite.suite.calibration_ref import calibrated_params
from evalsuite.suite.gate_spec import gate_dict, parse_gate
from evalsuite.suite.modality import (
    IMAGE_METRICS,
    VIDEO_METRICS,
    check_endpoint_modality,
    check_modality,
    makes_clips,
)
from evalsuite.suite.model_spec import (
    VARIANT_MODEL_KEYS,
    own_model_of,
    own_model_table,
    parse_lora,
    resolve_model,
    resolve_own,
    unfit,
)
from evalsuite.suite.overrides import GENERATION_KEYS, apply_overrides, check_override
from evalsuite.suite.presets import expand_metric_presets
from evalsuite.suite.report_spec import NOISE_SEED_OFFSET, ReportSpec, parse_report, report_dict
from evalsuite.suite.tune_spec import TuneSpec, parse_tune, tune_dict
from evalsuite.suite.types import HardwareSpec, MetricUse, ModelResolver, ModelSpec, RunSpec, Variant
from reports.frontier import FRONTIER_ROLE
from reports.gate import GateBudgets
from reports.records import SweepAxis

BUILTIN_DIR = Path(__file__).parents[1] / "suites"
DTYPES = ("float32", "bfloat16", "float16")


def _variant_tables(variants: tuple[Variant, ...]) -> list[dict[str, Any]]:
    """The ``[[variant]]`` tables that expand to ``variants``: a sweep is written as its lists."""
    tables: list[dict[str, Any]] = []
    done: set[str] = set()
    for v in variants:
        if v.seed_offset or v.role is not None or (v.sweep and v.group in done):
            continue
        endpoint = {"endpoint": v.endpoint.to_dict()} if v.endpoint else {}
        endpoint.update(own_model_table(v))
        if not v.sweep:
            tables.append({"name": v.name, **v.describe(), **dict(v.generation), **endpoint})
            continue
        done.add(v.group)
        # Swept keys first, in the sweep's order: expansion walks the table in order, so this
        # reproduces the same names and the same variant order. Accelerator "" is a
        # generation setting (steps, guidance, ...), written at the table's top level.
        table: dict[str, Any] = {"name": v.group}
        for axis in v.sweep:
            if axis.accelerator:
                table.setdefault(axis.accelerator, {})[axis.param] = list(axis.values)
            else:
                table[axis.param] = list(axis.values)
        for key, value in v.generation:
            table.setdefault(key, value)
        for acc, params in v.describe().items():
            fixed = table.setdefault(acc, {})
            fixed.update({k: x for k, x in params.items() if k not in fixed})
        tables.append({**table, **endpoint})
    return tables


@dataclass(frozen=True)
class Suite:
    """A parsed, validated suite with its sweeps expanded."""

    name: str
    description: str
    baseline: str
    model: ModelSpec
    prompts: prompts.PromptSelection
    hardware: HardwareSpec
    run: RunSpec
    metrics: tuple[MetricUse, ...]
    variants: tuple[Variant, ...]
    source: str
    report: ReportSpec = ReportSpec()
    tune: TuneSpec | None = None  # the [tune] table, for `evalsuite tune`
    gate: GateBudgets | None = None  # the [gate] table, for `evalsuite gate`
    calibrate: CalibrateSpec | None = None  # the [calibrate] table, for `evalsuite calibrate`

    @property
    def baseline_variant(self) -> Variant:
        """The variant every other is measured against (named by ``baseline``; parsing
        guarantees it exists)."""
        return next(v for v in self.variants if v.name == self.baseline)

    def to_dict(self) -> dict[str, Any]:
        """The resolved suite, defaults filled in, in the suite file's own layout."""
        drop_none = lambda d: {k: v for k, v in d.items() if v is not None}  # noqa: E731
        metrics: dict[str, Any] = {"use": [m.name for m in self.metrics]}
        metrics.update({m.name: dict(m.options) for m in self.metrics if m.options})
        return {
            "name": self.name, "description": self.description, "baseline": self.baseline,
            "model": {k: (drop_none(v) if isinstance(v, dict) else v)
                  for k, v in drop_none(asdict(self.model)).items()},
            "prompts": drop_none(self.prompts.to_dict()),
            "hardware": drop_none(asdict(self.hardware)), "run": drop_none(asdict(self.run)),
            "metrics": metrics,
            "variant": _variant_tables(self.variants),
            **({"report": report_dict(self.report)} if self.report != ReportSpec() else {}),
            **({"tune": tune_dict(self.tune)} if self.tune else {}),
            **({"gate": gate_dict(self.gate)} if self.gate else {}),
            **({"calibrate": calibrate_dict(self.calibrate)} if self.calibrate else {}),
        }


def _table(source: str, raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise spec_error(source, key, "expected a table")
    return value


def _dataclass_from(cls: type, source: str, section: str, table: Mapping[str, Any]) -> Any:
    """Build a flat spec dataclass, checking keys and types against its annotations."""
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in hints:
            raise spec_error(source, f"{section}.{key}", f"unknown key (known: {', '.join(hints)})")
        allowed = [t for t in typing.get_args(hints[key]) or (hints[key],) if t is not type(None)]
        expected = allowed[0]
        ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise spec_error(source, f"{section}.{key}",
                             f"expected {expected.__name__}, got {type(value).__name__}")
        out[key] = value
    return cls(**out)


def _check_model(source: str, m: ModelSpec) -> None:
    checks = {
        "dtype": m.dtype in DTYPES,
        "steps": m.steps >= 1,
        "guidance": m.guidance >= 0,
        "height": m.height >= 16 and m.height % 16 == 0,
        "width": m.width >= 16 and m.width % 16 == 0,
        "device": m.device in ("auto", "cpu", "cuda") or m.device.startswith("cuda:"),
        "max_sequence_length": m.max_sequence_length is None or 1 <= m.max_sequence_length <= 512,
        "frames": m.frames is None or m.frames >= 1,
        "fps": m.fps is None or m.fps >= 1,
    }
    for key, ok in checks.items():
        if not ok:
            hint = {"dtype": f"one of {', '.join(DTYPES)}", "height": "a multiple of 16",
                    "width": "a multiple of 16", "device": "auto, cpu, cuda or cuda:N"}
            raise spec_error(source, f"model.{key}", f"invalid value {getattr(m, key)!r}"
                             + (f" ({hint[key]})" if key in hint else ""))


def _expand_variant(source: str, index: int, raw: Mapping[str, Any]
                    ) -> tuple[list[tuple[str, dict, dict]], tuple[SweepAxis, ...]]:
    """Validate one ``[[variant]]`` table and expand list-valued parameters into a grid.

    Returns:
        (name, accelerator -> params given, generation overrides) per concrete variant, and
        the swept axes in the table's order (accelerator "" for steps/guidance/height/width).
        :func:`make_variant` fills in and validates the parameters.
    """
    where = f"variant[{index}]"
    name = raw.get("name")
    if not isinstance(name, str) or not name or any(c in name for c in "/\\\0"):
        raise spec_error(source, f"{where}.name", "expected a non-empty name without slashes")
    where = f"variant.{name}"
    per_acc: dict[str, dict[str, Any]] = {}
    axes: list[tuple[str, str, list[Any]]] = []  # ("", key, values) for a generation setting
    generation: dict[str, Any] = {}
    for written, params in raw.items():
        # parsed by _endpoint_of, own_model_of and calibrated_params
        if written in ("name", "endpoint", "calibration", *VARIANT_MODEL_KEYS):
            continue
        if written in GENERATION_KEYS:
            values = params if isinstance(params, list) else [params]
            if not values:
                raise spec_error(source, f"{where}.{written}", "empty sweep list")
            try:
                values = [check_override(written, v) for v in values]
            except ValueError as exc:
                raise spec_error(source, f"{where}.{written}", str(exc)) from None
            if isinstance(params, list):
                axes.append(("", written, values))
            generation[written] = values[0]
            continue
        try:  # an old spelling warns and maps to the new key
            acc_name = ACCELERATORS.resolve(written, where=f"{source}: {where}.{written}")
        except KeyError:
            raise spec_error(source, f"{where}.{written}",
                             f"unknown accelerator (known: {', '.join(ACCELERATORS.names())})") from None
        if acc_name in per_acc:
            raise spec_error(source, f"{where}.{written}", f"{acc_name} is given twice")
        values = given_params(source, where, acc_name, params)
        for key, value in values.items():
            if is_sweep(acc_name, key, value):
                if not value:
                    raise spec_error(source, f"{where}.{acc_name}.{key}", "empty sweep list")
                axes.append((acc_name, key, value))
        per_acc[acc_name] = values
    sweep = tuple(SweepAxis(a, k, tuple(values)) for a, k, values in axes)
    expanded = []
    for combo in itertools.product(*(values for _, _, values in axes)):
        chosen = {a: dict(p) for a, p in per_acc.items()}
        gen = dict(generation)
        for (acc_name, key, _), value in zip(axes, combo, strict=True):
            (chosen[acc_name] if acc_name else gen)[key] = value
        expanded.append((sweep_name(name, sweep, combo), chosen, gen))
    return expanded, sweep


def _endpoint_of(source: str, index: int, raw: Mapping[str, Any]) -> EndpointSpec | None:
    """The variant's ``endpoint`` table, validated, or None for a local variant."""
    if "endpoint" not in raw:
        return None
    where = f"variant.{raw.get('name', index)}.endpoint"
    table = raw["endpoint"]
    if not isinstance(table, dict):
        raise spec_error(source, where, "expected a table such as { protocol = ..., url = ... }")
    try:
        return parse_endpoint(table, PROTOCOLS)
    except EndpointSpecError as exc:
        raise UserError(f"{source}: {where}.{exc}") from None


def parse_suite(raw: Mapping[str, Any], source: str, base_dir: Path, resolver: ModelResolver | None = None,
                refused: list[str] | None = None) -> Suite:
    """Validate a suite given as a dict (the parsed TOML).

    Args:
        raw: the parsed TOML.
        source: the file, for errors.
        base_dir: where relative prompt paths start.
        resolver: model knowledge from the models layer: with it the family is found, the
            settings ``[model]`` leaves out take the family's defaults, LoRAs are checked and a
            technique that does not fit its variant's model is refused. Without it (a run
            folder's resolved copy, unit tests) the settings default to the tiny model's.
        refused: with a list, a variant that does not fit its model is left out and its
            one-line reason appended, instead of failing (a model sweep; see ``sweep.py``).
    """
    from metrics import SCORERS

    known = {"name", "description", "baseline", "model", "prompts", "hardware", "run",
             "metrics", "variant", "report", "tune", "gate", "calibrate"}
    for key in raw:
        if key not in known:
            raise spec_error(source, key, f"unknown key (known: {', '.join(sorted(known))})")
    name = raw.get("name", Path(source).stem)
    if not isinstance(name, str) or not name or any(c in name for c in "/\\\0"):
        raise spec_error(source, "name", "expected a non-empty name without slashes")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise spec_error(source, "description", "expected a string")
    model_table = dict(_table(source, raw, "model"))
    lora = parse_lora(source, "model.lora", model_table.pop("lora")) if "lora" in model_table else None
    if isinstance(model_table.get("id"), list):
        raise spec_error(source, "model.id", "a list of models is a model sweep: `evalsuite run` runs one "
                         "suite per model; other commands take one model")
    model = replace(_dataclass_from(ModelSpec, source, "model", model_table), lora=lora)
    if resolver is not None:
        model = resolve_model(resolver, source, "model", model, model_table)
    _check_model(source, model)
    hardware = _dataclass_from(HardwareSpec, source, "hardware", _table(source, raw, "hardware"))
    if hardware.gpus < 1:
        raise spec_error(source, "hardware.gpus", "must be at least 1")
    if hardware.price_per_hour is not None and hardware.price_per_hour < 0:
        raise spec_error(source, "hardware.price_per_hour", "must not be negative")
    run = _dataclass_from(RunSpec, source, "run", _table(source, raw, "run"))
    if run.warmup < 0 or (run.timeout_s is not None and run.timeout_s <= 0):
        raise spec_error(source, "run", "warmup must be >= 0 and timeout_s > 0")
    if run.drift_images < 0:
        raise spec_error(source, "run.drift_images", "must be >= 0")
    if run.trace_images is not None and run.trace_images < 0:
        raise spec_error(source, "run.trace_images", "must be >= 0")
    try:
        selection = prompts.parse_prompts_table(_table(source, raw, "prompts"), base_dir)
    except prompts.PromptError as exc:
        raise UserError(f"{source}: {exc}") from None

    metrics_table = _table(source, raw, "metrics")
    use = metrics_table.get("use", list(VIDEO_METRICS if makes_clips(model) else IMAGE_METRICS))
    if not isinstance(use, list) or not all(isinstance(m, str) for m in use):
        raise spec_error(source, "metrics.use", "expected a list of metric names")
    try:
        use = expand_metric_presets(use)
    except KeyError as exc:
        raise spec_error(source, "metrics.use", str(exc.args[0])) from None
    for key in metrics_table:
        if key != "use" and key not in use:
            raise spec_error(source, f"metrics.{key}", "options for a metric not listed in metrics.use")
    metric_uses = []
    for m in dict.fromkeys(use):
        if m not in SCORERS:
            raise spec_error(source, "metrics.use",
                             f"unknown metric {m!r} (known: {', '.join(SCORERS.names())})")
        options = metrics_table.get(m, {})
        if not isinstance(options, dict):
            raise spec_error(source, f"metrics.{m}", "expected a table of options")
        try:
            import inspect

            inspect.signature(SCORERS.get(m)).bind(**options)
        except TypeError as exc:
            raise spec_error(source, f"metrics.{m}", f"bad option ({exc})") from None
        metric_uses.append(MetricUse(m, tuple(sorted(options.items()))))
    if resolver is not None or makes_clips(model):  # unresolved, an unset frames says nothing yet
        check_modality(source, model, [u.name for u in metric_uses], selection)

    raw_variants = raw.get("variant", [])
    if not isinstance(raw_variants, list) or not raw_variants:
        raise spec_error(source, "variant", "expected at least one [[variant]] table")
    variants: list[Variant] = []
    seen: set[str] = set()
    for index, rv in enumerate(raw_variants):
        if not isinstance(rv, dict):
            raise spec_error(source, f"variant[{index}]", "expected a table")
        endpoint = _endpoint_of(source, index, rv)
        if endpoint is not None:
            check_endpoint_modality(source, str(rv.get("name", index)), model, endpoint.protocol)
        expanded, sweep = _expand_variant(source, index, rv)
        own = own_model_of(source, str(rv["name"]), rv)
        if resolver is not None:
            own = resolve_own(resolver, source, str(rv["name"]), model, own)
        for vname, accs, gen in expanded:
            if vname in seen:
                raise spec_error(source, f"variant.{vname}", "duplicate variant name")
            seen.add(vname)
            if "calibration" in rv:  # numbers from `evalsuite calibrate`, identity checked
                accs = calibrated_params(source, f"variant.{rv['name']}.calibration", rv["calibration"],
                                         base_dir, apply_overrides(model, own), accs)
            if endpoint is not None and accs:
                raise spec_error(source, f"variant.{vname}", "an endpoint variant takes no accelerators "
                                 "(the server applies its own; see `evalsuite serve --variant`)")
            variant = make_variant(model, vname, accs, source=source, generation=gen,
                                   group=str(rv["name"]), sweep=sweep, endpoint=endpoint, own_model=own)
            why = unfit(resolver, source, model, variant) if resolver is not None else None
            if why is not None and (refused is None or vname == raw.get("baseline", "baseline")):
                raise UserError(why)
            if why is not None:
                refused.append(why)
                continue
            variants.append(variant)
    baseline = raw.get("baseline", "baseline")
    if not isinstance(baseline, str) or baseline not in seen:
        raise spec_error(source, "baseline", f"no variant named {baseline!r}")
    if any(v.accelerators or v.generation or v.model for v in variants if v.name == baseline):
        raise spec_error(source, "baseline", f"variant {baseline!r} must have no accelerators and no "
                         "steps/guidance/height/width, model or lora of its own (set them in [model])")
    report = parse_report(source, _table(source, raw, "report"), {u.name for u in metric_uses},
                          model.steps)
    tune = (parse_tune(source, _table(source, raw, "tune"), {u.name for u in metric_uses}, report, model,
                       base_dir) if "tune" in raw else None)
    gate = (parse_gate(source, _table(source, raw, "gate"), {u.name for u in metric_uses})
            if "gate" in raw else None)
    calibrate = (parse_calibrate(source, _table(source, raw, "calibrate"), tune.confirm if tune else ())
                 if "calibrate" in raw else None)
    base_ep = next((v.endpoint for v in variants if v.name == baseline), None)  # an endpoint baseline too
    if report.noise_floor:
        noise_name = f"{baseline}~noise"
        if noise_name in seen:
            raise spec_error(source, f"variant.{noise_name}", "name is reserved for the noise floor")
        variants.append(Variant(noise_name, (), variant_id(model, (), NOISE_SEED_OFFSET, base_ep),
                                NOISE_SEED_OFFSET, endpoint=base_ep))
    for n in report.steps_frontier:  # the baseline at fewer steps (reports/frontier.py)
        ref_name = f"{baseline}~steps-{n}"
        if ref_name in seen:
            raise spec_error(source, f"variant.{ref_name}", "name is reserved for the steps frontier")
        fewer = (("steps", n),)
        variants.append(Variant(ref_name, (), variant_id(apply_overrides(model, dict(fewer)), (),
                                                         endpoint=base_ep),
                                generation=fewer, role=FRONTIER_ROLE, endpoint=base_ep))
    return Suite(name, description, baseline, model, selection, hardware, run,
                 tuple(metric_uses), tuple(variants), source, report, tune, gate, calibrate)


def with_variants(suite: Suite, settings: Sequence[VariantSettings], **model: Any) -> Suite:
    """``suite`` with its baseline and ``settings``' variants only, optionally at other
    generation ``model`` settings (e.g. ``steps=20``, already checked by ``check_override``).

    No noise-floor or fewer-steps reference variants; the report keeps only its objective and
    budgets. Every variant, the baseline included, is rebuilt on the new model, so ids
    follow the settings exactly as a suite file with that ``[model]`` would give them.
    """
    new_model = replace(suite.model, **model) if model else suite.model
    base = suite.baseline_variant
    variants = [make_variant(new_model, base.name, {}, source=suite.source, group=base.group,
                             endpoint=base.endpoint),
                *(s.build(new_model, suite.source) for s in settings)]
    if len({v.name for v in variants}) < len(variants):
        raise ValueError(f"duplicate variant names in {[v.name for v in variants]}")
    return replace(suite, model=new_model, variants=tuple(variants),
                   report=ReportSpec(objective=suite.report.objective, budgets=suite.report.budgets))


def builtin_suites() -> dict[str, Path]:
    """Name -> path of the suites shipped with evalsuite."""
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.toml"))}


def read_suite_file(ref: str | None) -> tuple[dict[str, Any], Path]:
    """The parsed TOML of a suite file or built-in name (``None`` = ``smoke``), and its path."""
    ref = ref or "smoke"
    path = Path(ref)
    if not path.is_file():
        builtins = builtin_suites()
        if ref not in builtins:
            raise UserError(f"{ref}: no such suite file or built-in suite "
                            f"(built-in: {', '.join(builtins)})")
        path = builtins[ref]
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    return raw, path


def load_suite(ref: str | None, resolver: ModelResolver | None = None) -> Suite:
    """Load a suite by path or built-in name (``None`` = the default ``smoke`` suite).

    Pass ``resolver`` (``evalsuite.models.families.RESOLVER``) to run it: see :func:`parse_suite`.
    """
    raw, path = read_suite_file(ref)
    return parse_suite(raw, str(path), path.parent, resolver)
