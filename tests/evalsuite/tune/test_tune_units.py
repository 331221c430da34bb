"""tune's records, JSON, snippet and page, and its bad-input exits (no generation)."""

from __future__ import annotations

import dataclasses
import html
import json
import math
import tomllib
from pathlib import Path

import pytest
import tomli_w

from evalsuite.cli.main import main
from evalsuite.run.speed_trial import SpeedTrial, TrialPair
from evalsuite.suite.spec import BUILTIN_DIR, load_suite
from evalsuite.tune.frontier import reference_steps
from evalsuite.tune.result import Holdout, Look, Probe, SpeedCheck, Timing, TuneResult
from evalsuite.tune.warm import predicted_skip_rate, warm_indices
from reports.bootstrap import Interval
from reports.records import Budget
from reports.sequential import judge
from reports.speedup import speedup_entry
from reports.summary_records import SpeedupEntry
from reports.traces import ImageTrace
from reports.tune_chart import tune_page

SPEC = load_suite("tune-smoke").tune


def _probe(order: int, index: int, bound: float, passed: bool) -> Probe:
    look = judge(Budget("psnr", "min", 55.0), Interval(bound + 1, bound, bound + 2, 4, 4))
    return Probe(order, index, SPEC.value(index), f"fbcache-{SPEC.value(index):g}", "id",  # type: ignore[union-attr]
                 (Look(4, 0.98, look.verdict, (look,)),), passed,
                 Timing(0.5, SpeedupEntry(2.0, (1.6, 2.4), verdict="faster"), 0.4, 0.01))


def _check(reason: str | None = None) -> SpeedCheck:
    """A speed trial of 4 pairs in which the winner took half the baseline's time."""
    ref, mine = (1.0, 1.1, 0.9, 1.2), (0.5, 0.55, 0.45, 0.6)
    pairs = tuple(TrialPair(f"p{i}", 0, "AB" if i % 2 == 0 else "BA", r, m)
                  for i, (r, m) in enumerate(zip(ref, mine, strict=True)))
    trial = SpeedTrial("base-id", "win-id", pairs, (2.0, 1.5, 1.0), (2.5, 1.6, 1.0), 100.0, 104.0)
    candidate, reference = trial.times()
    return SpeedCheck(trial, speedup_entry(candidate, reference, is_baseline=False), 0.02, reason)


def _result(probes: tuple[Probe, ...], winner: Probe | None, certified: bool = True) -> TuneResult:
    holdouts = ()
    if winner is not None:
        holdouts = (Holdout(8, winner.looks[0], certified, winner.timing, {}),)
    return TuneResult(spec=SPEC, probes=probes, winner=winner, holdouts=holdouts,  # type: ignore[arg-type]
                      images_generated=30, grid_images=160, search_prompts=16, vs_fewer_steps=None,
                      warm_start="none", speed=_check() if winner is not None else None)


def test_json_object_has_the_documented_keys_and_a_pasteable_snippet() -> None:
    win = _probe(2, 4, 56.0, True)
    d = _result((_probe(1, 8, 50.0, False), win), win).to_dict()
    for key in ("setting", "certified", "speedup", "metrics", "images_generated", "grid_images",
                "probes", "vs_fewer_steps"):
        assert key in d
    assert d["setting"] == {"accelerator": "fbcache", "parameter": "threshold", "value": 0.2,
                            "variant": "fbcache-0.2", "fixed": {}}
    assert d["certified"] is True and d["metrics"]["psnr"]["ci_bound"] == 56.0
    pasted = tomllib.loads(d["snippet"])
    assert pasted["variant"][0]["fbcache"] == {"threshold": 0.2}
    json.dumps(d, allow_nan=False)  # strict JSON


def test_not_certified_when_the_holdout_fails_and_closest_when_nothing_passes() -> None:
    win = _probe(1, 4, 56.0, True)
    assert _result((win,), win, certified=False).to_dict()["certified"] is False
    far, near = _probe(1, 8, 40.0, False), _probe(2, 4, 54.0, False)
    d = _result((far, near), None).to_dict()
    assert d["setting"] is None and d["certified"] is False
    assert d["closest"]["variant"] == near.variant and d["closest"]["margin"] == pytest.approx(-1.0)


def test_a_winner_whose_speedup_is_noise_is_not_certified() -> None:
    win = _probe(1, 4, 56.0, True)
    reason = "speedup 1.02x (95% CI 0.97-1.08) is indistinguishable from 1x"
    result = dataclasses.replace(_result((win,), win), speed=_check(reason))
    d = result.to_dict()
    assert not result.certified and d["certified"] is False
    assert d["not_certified_because"] == reason and d["speed_check"] == reason
    assert reason in tune_page(d)
    assert _result((win,), win, certified=False).why_not_certified() == "the holdout failed"


def test_the_speed_verdict_shows_its_trial_and_latencies_over_the_same_images(
        capsys: pytest.CaptureFixture) -> None:
    win = _probe(1, 4, 56.0, True)
    d = json.loads(json.dumps(_result((win,), win).to_dict(), allow_nan=False))  # as --json prints it
    assert d["certified"] is True and d["speedup"] == pytest.approx(2.0)
    # both latencies are the trial's p50s: their ratio is the speedup (not mean over p50,
    # nor the winner's look against every search prompt's baseline)
    assert d["baseline_latency_s"] / d["latency_s"] == pytest.approx(d["speedup"])
    assert (d["latency_s"], d["baseline_latency_s"]) == (pytest.approx(0.525), pytest.approx(1.05))
    trial = d["speed_trial"]
    assert trial["n_pairs"] == 4 and trial["order"] == "AB BA AB BA" and trial["method"] == "alternating"
    assert trial["load_before"] == [2.0, 1.5, 1.0] and trial["load_after"] == [2.5, 1.6, 1.0]
    summary = "4 pairs in turns (AB BA AB BA) over 4 s, load average 2.00 -> 2.50"
    assert trial["summary"] == summary
    assert html.escape(summary) in tune_page(d)
    from evalsuite.cli.tune import _print_text

    _print_text(d, Path("run"))
    assert f"speed trial: {summary}" in capsys.readouterr().out
    assert SpeedTrial.from_dict(json.loads(json.dumps(trial))) == _check().trial


def test_the_page_draws_the_path_and_lists_the_probes() -> None:
    win = _probe(2, 4, 56.0, True)
    page = tune_page(_result((_probe(1, 8, 50.0, False), win), win).to_dict())
    assert "search path" in page and "plotly" in page and "fbcache-0.2" in page
    assert "[[variant]]" in page


def test_reference_steps() -> None:
    assert reference_steps(8, 0.5) == 4  # as many steps as the cache computed
    assert reference_steps(8, 0.05) == 7 and reference_steps(8, 0.99) == 1
    assert reference_steps(8, 0.0) is None and reference_steps(1, 0.5) is None


def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["tune", "smoke"]) == 2  # a suite without [tune]
    assert "no [tune] table" in capsys.readouterr().err
    source = Path(load_suite("tune-smoke").source)
    raw = tomllib.loads(source.read_text())
    raw["tune"]["range"] = [0.5, 0.1]
    raw["prompts"]["file"][0]["path"] = str(source.parent / "tune-smoke-prompts.txt")
    bad = tmp_path / "bad.toml"
    bad.write_text(tomli_w.dumps(raw))
    assert main(["tune", str(bad), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "tune.range" in err and "\n" not in err
    assert not (tmp_path / "run").exists()


def _trace(i: int) -> ImageTrace:
    """FBCache's signal grows with the distance to the last computed step: 0.04 per step."""
    steps = 12
    rel = tuple(tuple(0.04 * (t - s) * (1 + 0.1 * i) if s < t else math.nan for s in range(steps))
                for t in range(steps))
    return ImageTrace(f"p{i}", 0, steps, 4, {"first_block": rel})


def test_warm_start_places_probes_where_the_predicted_speedup_crosses_targets() -> None:
    traces = [_trace(i) for i in range(3)]
    rates = [predicted_skip_rate(traces, SPEC, SPEC.value(i)) for i in range(SPEC.n_points)]  # type: ignore[union-attr]
    assert rates[0] == 0.0 and rates == sorted(rates) and rates[-1] > 0.5
    warm = warm_indices(traces, SPEC)  # type: ignore[arg-type]
    assert warm and list(warm) == sorted(warm) and all(0 < i < SPEC.n_points for i in warm)  # type: ignore[union-attr]
    assert warm_indices([], SPEC) == () and predicted_skip_rate([], SPEC, 0.2) is None  # type: ignore[arg-type]
    other = dataclasses.replace(SPEC, parameter="nope")  # type: ignore[type-var]
    assert warm_indices(traces, other) == ()


def test_the_warm_start_traces_the_pipeline_the_probes_run(tmp_path: Path) -> None:
    from evalsuite.tune.variants import trace_reference

    view, traced = trace_reference(load_suite("tune-smoke"))
    assert traced.name == view.baseline == "baseline"
    raw = tomllib.loads(Path(load_suite("tune-smoke").source).read_text())
    raw["tune"]["fixed"] = {"channels_last": {}}
    raw["prompts"]["file"][0]["path"] = str(BUILTIN_DIR / raw["prompts"]["file"][0]["path"])
    path = tmp_path / "fixed.toml"
    path.write_text(tomli_w.dumps(raw))
    view, traced = trace_reference(load_suite(str(path)))
    # the companions alone: what the probes run, minus the cache being tuned
    assert [a.name for a in traced.accelerators] == ["channels_last"] and traced in view.variants
    assert any(a.name == "fbcache" for v in view.variants for a in v.accelerators)


def _tune_smoke_copy(tmp_path: Path, **tune: object) -> Path:
    source = Path(load_suite("tune-smoke").source)
    raw = tomllib.loads(source.read_text())
    raw["tune"].update(tune)
    raw["prompts"]["file"][0]["path"] = str(source.parent / "tune-smoke-prompts.txt")
    path = tmp_path / "copy.toml"
    path.write_text(tomli_w.dumps(raw))
    return path


@pytest.mark.parametrize(("change", "key"), [
    ({"holdout": 70}, "tune.holdout"),
    ({"first_prompts": 60, "max_prompts": 60}, "tune.first_prompts"),
])
def test_too_few_prompts_names_the_file_and_the_key(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                     change: dict, key: str) -> None:
    path = _tune_smoke_copy(tmp_path, **change)
    assert main(["tune", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path}: {key}: the suite selects 64 prompts" in err and "\n" not in err
    assert not (tmp_path / "run").exists()


def test_a_zero_drop_never_prints_minus_zero(capsys: pytest.CaptureFixture) -> None:
    look = judge(Budget("ssim", "max_drop", 0.01), Interval(0.0, 0.0, 0.0, 4, 4))
    assert (look.estimate, look.pessimistic, look.optimistic) == (0.0, 0.0, 0.0)
    assert all(math.copysign(1.0, x) == 1.0 for x in (look.estimate, look.pessimistic, look.optimistic))  # type: ignore[arg-type]
    win = dataclasses.replace(_probe(1, 4, 56.0, True), looks=(Look(4, 0.98, look.verdict, (look,)),))
    d = _result((win,), win).to_dict()
    assert json.dumps(d["metrics"]["ssim"]).count("-0.0") == 0
    from evalsuite.cli.tune import _print_text

    _print_text(d, Path("run"))
    assert "-0" not in capsys.readouterr().out
