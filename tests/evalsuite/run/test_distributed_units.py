"""The pieces of the torchrun path that need no launch: plan, merge, statuses, validation, drift keys."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from evalsuite.analysis.reporting import variant_run
from evalsuite.errors import UserError
from evalsuite.models.cp_checks import check_parallel_variants, gpus_per_image
from evalsuite.run.drift import drift_rows, retime_baseline
from evalsuite.run.phases import set_metric_variants
from evalsuite.run.plan import make_plan, suite_items
from evalsuite.run.runner import validate_run
from evalsuite.store.db import SampleRow, Store
from evalsuite.store.paths import DRIFT_STORE, shard_path
from evalsuite.store.records import VariantRecord
from evalsuite.store.schema import VariantStatus
from evalsuite.store.shards import RankStatus, ScoringView, combine_statuses, merge_shards
from evalsuite.suite.spec import parse_suite
from reports.records import Pricing, SampleRecord
from reports.summary import build_summary

SUITE = """
name = "t"
[model]
id = "tiny"
device = "cpu"
max_sequence_length = {msl}
[prompts]
limit = 3
seeds = [0, 1]
[metrics]
use = ["sharpness", "psnr"]
[[variant]]
name = "baseline"
[[variant]]
name = "fbc"
fbcache = {{ threshold = 0.1 }}
[[variant]]
name = "cp"
context_parallel = {{ {cp} }}
"""


def suite(cp: str = "ulysses = 2", msl: int = 128, extra: str = ""):
    text = SUITE.format(cp=cp, msl=msl) + extra
    return parse_suite(tomllib.loads(text), "suite.toml", Path("."))


def test_plan_splits_pending_items_disjointly_and_cp_groups_share_theirs() -> None:
    import prompts

    s = suite()
    selected = prompts.resolve_prompts(s.prompts)
    base, fbc, cp = s.variants
    done = {base.id: {(selected[0].id, 0)}}
    plan = make_plan(s.variants, suite_items(selected, s.prompts.seeds), done, {base.id: "ok"}, 4)
    assert [vp.variant.name for vp in plan.variants] == ["baseline", "fbc", "cp"]  # CP last
    vb, vf, vc = plan.variants
    got = [i for r in range(4) for i in vb.items_for(r) or ()]
    assert len(got) == len(set(got)) == 5 and (selected[0].id, 0) not in {(i.prompt_id, i.seed) for i in got}
    assert sum(len(vf.items_for(r) or ()) for r in range(4)) == 6
    assert vc.k == 2 and len(vc.shares) == 2
    assert vc.items_for(0) == vc.items_for(1) and vc.items_for(2) == vc.items_for(3)
    assert set(vc.items_for(0)).isdisjoint(vc.items_for(2))
    # Everything stored and marked ok: nobody starts a worker; stored but not ok: group 0 does.
    all_done = {v.id: {(p.id, sd) for p in selected for sd in (0, 1)} for v in s.variants}
    again = make_plan(s.variants, suite_items(selected, s.prompts.seeds), all_done,
                      {base.id: "ok", fbc.id: "failed"}, 4)
    assert again.variants[0].ranks(4) == [] and again.variants[1].ranks(4) == [0]
    assert again.variants[2].ranks(4) == [0, 1]


def _shard(run: Path, rank: int, rows: list[SampleRow], status: str = "ok") -> None:
    (run / "shards").mkdir(exist_ok=True)
    store = Store(shard_path(run, rank))
    store.put_variant("v", "v", {})
    for row in rows:
        store.put_sample(row)
    store.put_scores("sharpness", "{}", [(r.variant_id, r.prompt_id, r.seed, 1.0, None) for r in rows])
    store.set_variant_status("v", status, None if status == "ok" else "boom", load_s=rank + 1.0,
                             checks='["inert: torch.compile compiled nothing", "note"]')
    store.close()


def test_merge_is_idempotent_and_never_replaces_a_finished_sample(tmp_path: Path) -> None:
    main = Store(tmp_path / "results.sqlite")
    main.put_prompts([("p", "a cat", "smoke", 0, "", {})])
    main.put_sample(SampleRow("v", "p", 0, "ok", 1.0, image="first.png"))
    _shard(tmp_path, 0, [SampleRow("v", "p", 0, "ok", 2.0, image="again.png"),
                         SampleRow("v", "p", 1, "ok", 2.0, image="b.png")])
    _shard(tmp_path, 1, [SampleRow("v", "p", 2, "ok", 2.0, image="c.png")], status="failed")
    result = merge_shards(tmp_path, main)
    assert result.samples == 2 and result.scores == 3
    images = {(r.seed, r.image) for r in main.samples()}
    assert images == {(0, "first.png"), (1, "b.png"), (2, "c.png")}
    assert not list((tmp_path / "shards").iterdir())
    assert merge_shards(tmp_path, main).samples == 0
    combined = combine_statuses([0, 1], result.statuses["v"])
    assert combined.status == "failed" and combined.error == "rank 1: boom"
    assert combined.timings["load_s"] == 2.0
    assert combined.checks == ["inert: torch.compile compiled nothing", "note"]  # the union
    assert combine_statuses([0, 2], [RankStatus(0, "ok", None)]).error == "rank 2: worker did not finish"
    main.close()


def test_scoring_shares_cover_every_sample_once(tmp_path: Path) -> None:
    main = Store(tmp_path / "results.sqlite")
    main.put_prompts([(f"p{i}", "t", "smoke", i, "", {}) for i in range(5)])
    for i in range(5):
        main.put_sample(SampleRow("v", f"p{i}", 0, "ok", 1.0, image="x.png"))
    everything = {("v", f"p{i}", 0) for i in range(5)}
    owned = [everything - ScoringView(main, main, r, 3).foreign for r in range(3)]
    assert set().union(*owned) == everything and sum(map(len, owned)) == 5
    s = suite()
    assert set_metric_variants(s, 0, 2) is None  # no set-level metric in this suite
    main.close()


@pytest.mark.parametrize(("cp", "msl", "world", "message"), [
    ("ulysses = 2", 128, 3, "degree 2 does not divide the world size 3"),
    ("ulysses = 8", 128, 8, "ulysses: 8 does not divide the model's 4 attention heads"),
    ("ring = 3", 128, 3, "degree 3 does not divide the 256 image tokens"),
    ("ulysses = 4", 130, 4, "degree 4 does not divide the 130 text tokens"),
])
def test_validation_rejects_what_the_launch_or_model_cannot_split(cp, msl, world, message) -> None:
    with pytest.raises(UserError, match=message):
        check_parallel_variants(suite(cp, msl), world)
    check_parallel_variants(suite(), 2)


def test_validation_rejects_cp_with_a_cache_ring_on_cpu_and_degree_one() -> None:
    with pytest.raises(UserError, match="cannot combine with cache fbcache"):
        check_parallel_variants(suite("ulysses = 2", extra="fbcache = { threshold = 0.1 }\n"), 2)
    with pytest.raises(UserError, match="return_lse=True"):
        validate_run(suite("ring = 2"), "cpu", 2)
    with pytest.raises(UserError, match="set ulysses or ring to 2 or more"):
        validate_run(suite("ulysses = 1"), "cpu", 2)
    with pytest.raises(UserError, match="without torchrun the world is 1"):
        validate_run(suite(), "cpu")


def test_summary_counts_the_gpus_of_a_cp_group_in_the_cost(tmp_path: Path) -> None:
    s = suite("ulysses = 2, ring = 2")
    assert [gpus_per_image(v) for v in s.variants] == [1, 1, 4]
    variants = [variant_run(s, v, VariantRecord(v.id, v.name, status=VariantStatus.OK), tmp_path)
                for v in s.variants]
    samples = [SampleRecord(v.id, "p", 0, "ok", latency_s=2.0, peak_mem_bytes=1, steps_computed=1,
                      steps_skipped=0) for v in s.variants]
    out = build_summary(suite="t", baseline="baseline", variants=variants, samples=samples, scores=[],
                        set_scores=[], metrics={}, expected_per_variant=1, pricing=Pricing("x", 3600.0))
    assert [(v.gpus_per_image, v.cost_per_image_usd) for v in out.variants] == [(1, 2.0), (1, 2.0), (4, 8.0)]


def test_drift_check_under_torchrun_retimes_only_what_rank_0_timed(tmp_path: Path) -> None:
    import prompts

    s = suite()
    selected = prompts.resolve_prompts(s.prompts)
    base, fbc = s.variants[:2]
    store = Store(tmp_path / "results.sqlite")
    store.put_prompts((p.id, p.text, p.set, p.index, p.category, {}) for p in selected)
    items = suite_items(selected, s.prompts.seeds)
    for n, i in enumerate(items):  # every baseline image timed but the third; fbc's never count
        store.put_sample(SampleRow(base.id, i.prompt_id, i.seed, "failed" if n == 2 else "ok",
                                   None if n == 2 else 1.0 + n))
        store.put_sample(SampleRow(fbc.id, i.prompt_id, i.seed, "ok", 0.5))
    in_order = sorted(i.key for i in items)
    key = lambda r: (r.prompt_id, r.seed)  # noqa: E731
    assert [key(r) for r in drift_rows(s, store, 3)] == [k for k in in_order if k != items[2].key][:3]
    mine = make_plan(s.variants, items, {}, {}, 2).keys_for(base.id, 0)
    assert mine == {i.key for i in items[0::2]}  # round-robin: rank 0 has the even items
    assert [key(r) for r in drift_rows(s, store, 9, mine)] == sorted(mine - {items[2].key})
    assert drift_rows(s, store, 9, frozenset()) == []
    store.close()
    # Rank 0 timed one baseline image in this launch: no check, and an older one is dropped.
    (tmp_path / DRIFT_STORE).write_bytes(b"")
    why = retime_baseline(s, tmp_path, "cpu", print, {items[0].key})
    assert why == "fewer than two baseline images were timed on this device in this launch"
    assert not (tmp_path / DRIFT_STORE).exists()
