"""The bracket/bisect planner (pure) and the [tune] table's validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w

from evalsuite.errors import UserError
from evalsuite.suite.spec import load_suite
from evalsuite.tune.search import answer, bracket, grid_answer, next_index


def _search(passes: list[bool], warm: tuple[int, ...] = ()) -> tuple[int | None, list[int]]:
    """Run the planner against a known pass/fail grid; return (answer, probe order)."""
    outcomes: dict[int, bool] = {}
    order = []
    while (i := next_index(len(passes), outcomes, warm)) is not None:
        assert i not in outcomes, "probed the same point twice"
        order.append(i)
        outcomes[i] = passes[i]
    return answer(len(passes), outcomes), order


@pytest.mark.parametrize("n", [1, 2, 5, 9, 17, 100])
def test_bisection_finds_the_last_pass_of_every_monotone_grid(n: int) -> None:
    for cut in range(n + 1):  # indices < cut pass
        passes = [i < cut for i in range(n)]
        found, order = _search(passes)
        assert found == grid_answer(passes)
        assert order[0] == n - 1  # the top first
        assert len(order) <= 2 + n.bit_length()


def test_a_top_that_passes_ends_the_search_at_once() -> None:
    assert _search([True] * 9) == (8, [8])


def test_nothing_passes() -> None:
    found, order = _search([False] * 9)
    assert found is None and 0 in order


def test_warm_start_points_are_probed_first_while_inside_the_bracket() -> None:
    passes = [i < 6 for i in range(17)]
    found, order = _search(passes, warm=(5, 7, 12))
    assert found == 5 and order[:3] == [16, 5, 7]  # 12 lies above the failure at 7: skipped


def test_a_pass_above_a_failure_is_ignored() -> None:
    b = bracket(9, {8: False, 2: True, 5: False, 7: True})
    assert (b.passing, b.failing) == (2, 5)


def _suite(tmp_path: Path, tune: dict) -> Path:
    raw = {"name": "t", "model": {"id": "tiny", "device": "cpu"}, "metrics": {"use": ["psnr", "ssim"]},
           "variant": [{"name": "baseline"}], "tune": tune}
    path = tmp_path / "s.toml"
    path.write_text(tomli_w.dumps(raw))
    return path


GOOD = {"accelerator": "fbcache", "parameter": "threshold", "range": [0.0, 0.4], "step": 0.05,
        "budget": [{"metric": "ssim", "max_drop": 0.01}]}


def test_a_valid_table_round_trips(tmp_path: Path) -> None:
    suite = load_suite(str(_suite(tmp_path, {**GOOD, "confirm": {"steps": [20, 50], "height": 768}})))
    assert suite.tune is not None and len(suite.tune.confirm) == 2
    assert suite.tune is not None and suite.tune.n_points == 9 and suite.tune.value(3) == 0.15
    again = tmp_path / "again.toml"
    again.write_text(tomli_w.dumps(suite.to_dict()))
    assert load_suite(str(again)).tune == suite.tune


@pytest.mark.parametrize(("change", "key"), [
    ({"accelerator": "nope"}, "tune.accelerator"),
    ({"parameter": "warmup"}, "tune.parameter"),
    ({"range": [0.4, 0.1]}, "tune.range"),
    ({"range": [-1.0, 0.4]}, "tune.range"),
    ({"step": 0.07}, "tune.step"),
    ({"step": 0.5}, "tune.step"),
    ({"confidence": 1.5}, "tune.confidence"),
    ({"first_prompts": 1}, "tune.first_prompts"),
    ({"speed_prompts": 1}, "tune.speed_prompts"),
    ({"max_prompts": 4, "first_prompts": 8}, "tune.max_prompts"),
    ({"fixed": {"fbcache": {}}}, "tune.fixed.fbcache"),
    ({"fixed": {"compile": {"nope": 1}}}, "tune.fixed.compile.nope"),
    ({"budget": []}, "tune.budget"),
    ({"budget": [{"metric": "ssim", "max_rise": 0.1}]}, "tune.budget[0].max_rise"),
    ({"objective": "speed"}, "tune.objective"),
    ({"colour": "red"}, "tune.colour"),
    ({"confirm": {"colour": [1]}}, "tune.confirm.colour"),
    ({"confirm": {"height": [30]}}, "tune.confirm.height"),
])
def test_bad_tables_fail_with_one_line_naming_the_key(tmp_path: Path, change: dict, key: str) -> None:
    with pytest.raises(UserError) as err:
        load_suite(str(_suite(tmp_path, {**GOOD, **change})))
    message = str(err.value)
    assert f": {key}" in message and "\n" not in message and "s.toml" in message


def test_a_step_larger_than_the_range_says_it_makes_zero_steps(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        load_suite(str(_suite(tmp_path, {**GOOD, "step": 0.5})))
    assert "zero steps" in str(err.value) and "at most" not in str(err.value)


def test_tune_spec_and_result_take_keywords_only() -> None:
    from evalsuite.suite.tune_spec import TuneSpec
    from evalsuite.tune.result import TuneResult

    with pytest.raises(TypeError):
        TuneSpec("fbcache", "threshold", 0.0, 0.4, 0.05, (), ())  # type: ignore[misc]
    with pytest.raises(TypeError):
        TuneResult(None, (), None, (), 0, 0, 0, None, None, "")  # type: ignore[misc]
