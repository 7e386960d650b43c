"""Block-wise generation and sharded tasks: the same data whatever the shard size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from synthetic import population as P
from synthetic import shards as S
from synthetic.errors import ConfigError
from synthetic.scenario import ScenarioConfig, _Pool, build_task, parse_scenario
from synthetic.shards import load_sharded_task, register_shards, write_sharded_task
from tests.conftest import TINY, read_toml_text

TABLES = ("query", "register", "truth", "query_people", "register_people", "noise_log")
BLOCK = 2_000  # test block size: the 6,500-person scenario below has 4 blocks


def _scenario(size: int = 6_500, mix: bool = True) -> ScenarioConfig:
    data = read_toml_text(TINY)
    data["population"].update(size=size, people_per_zip=400, mover_share=0.3)
    data["register"]["noise"].update(stale_address={"rate": 0.5}, other_address={"rate": 0.05})
    data["query"]["noise"]["other_address"] = {"rate": 0.05}
    if mix:
        data["query"]["group_mix"] = {"hispanic": 0.5, "white": 0.3, "black": 0.2}
    return parse_scenario(data)


def _assert_same(a, b) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(P, "BLOCK_SIZE", BLOCK)


def test_one_block_sharded_task_equals_build_task(tmp_path: Path) -> None:
    cfg = _scenario(size=6_000)
    manifest = write_sharded_task(cfg, 4, tmp_path, shard_size=1_000)
    assert manifest["blocks"] == 1
    _assert_same(load_sharded_task(tmp_path), build_task(cfg, 4))


def test_shard_sizes_give_the_same_data(tmp_path: Path, small_blocks: None) -> None:
    cfg = _scenario()
    a = write_sharded_task(cfg, 9, tmp_path / "a", shard_size=777)
    b = write_sharded_task(cfg, 9, tmp_path / "b", shard_size=100_000)
    assert a["blocks"] == b["blocks"] == 4 and a["sizes"] == b["sizes"]
    task = load_sharded_task(tmp_path / "a")
    _assert_same(task, load_sharded_task(tmp_path / "b"))
    # the in-memory task of the same blocks, generated or from a given population
    _assert_same(task, build_task(cfg, 9))
    _assert_same(task, build_task(cfg, 9, P.generate_population(cfg.population, 9)))
    # query and truth files do not depend on the shard size at all
    for name in ("query", "query_people", "truth"):
        pq_a = (tmp_path / "a" / f"{name}.parquet").read_bytes()
        assert pq_a == (tmp_path / "b" / f"{name}.parquet").read_bytes()


def test_shards_layout_and_manifest(tmp_path: Path, small_blocks: None) -> None:
    cfg = _scenario()
    manifest = write_sharded_task(cfg, 9, tmp_path, shard_size=1_000)
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    n_reg, shards = manifest["sizes"]["register"], manifest["shards"]
    assert manifest["shard_size"] == 1_000 and manifest["block_size"] == BLOCK
    # parts follow each other, each at most shard_size records of one block
    starts = [s["first_row"] for s in shards]
    assert starts == [0, *np.cumsum([s["rows"] for s in shards])[:-1].tolist()]
    assert sum(s["rows"] for s in shards) == n_reg and max(s["rows"] for s in shards) <= 1_000
    people = pd.concat([pq.read_table(tmp_path / s["people"]).to_pandas() for s in shards])
    block = np.searchsorted(np.arange(4) * 6_500 // 4, people["person_id"].to_numpy(), "right")
    part = np.repeat(np.arange(len(shards)), [s["rows"] for s in shards])
    assert (pd.Series(block).groupby(part).nunique() == 1).all()
    per_block = np.bincount(block - 1)
    assert len(per_block) == 4 and len(shards) == sum(-(-n // 1_000) for n in per_block) > 4
    paths = register_shards(tmp_path)
    assert paths == [tmp_path / "register" / f"part-{i:05d}.parquet" for i in range(len(shards))]
    schemas = set()
    for s, path in zip(shards, paths, strict=True):
        reg = pq.read_table(path)
        assert reg.num_rows == s["rows"] == pq.read_table(tmp_path / s["people"]).num_rows
        log = pq.read_table(tmp_path / s["noise_log"]).to_pandas()
        rows = log["row"].to_numpy()
        assert ((rows >= s["first_row"]) & (rows < s["first_row"] + s["rows"])).all()
        assert (log["side"] == "register").all()
        schemas.add(reg.schema.remove_metadata())
    assert len(schemas) == 1  # DuckDB reads the parts as one table
    task = load_sharded_task(tmp_path)
    ids = task.register["record_id"]
    assert ids.is_unique and (ids.str.len() == 8).all()  # "R" + 7 digits
    assert ids.iloc[-1] == f"R{n_reg - 1:07d}"
    assert manifest["sizes"]["true_links"] == len(task.truth) == 150
    assert manifest["sizes"]["query"] == len(task.query) == 300


def test_sharded_files_are_deterministic(tmp_path: Path, small_blocks: None) -> None:
    cfg = _scenario(mix=False)
    write_sharded_task(cfg, 2, tmp_path / "a", shard_size=1_500)
    write_sharded_task(cfg, 2, tmp_path / "b", shard_size=1_500)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert len(files) > 10
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_worker_processes_write_the_same_files(tmp_path: Path, small_blocks: None) -> None:
    """Blocks done in two worker processes (which take the test's block size with them) give
    the files one process gives, byte for byte."""
    cfg = _scenario()
    here = write_sharded_task(cfg, 5, tmp_path / "here", shard_size=700, workers=0)
    apart = write_sharded_task(cfg, 5, tmp_path / "apart", shard_size=700, workers=2)
    assert here == apart and here["blocks"] == 4
    files = sorted(p.relative_to(tmp_path / "here") for p in (tmp_path / "here").rglob("*.*"))
    assert files == sorted(
        p.relative_to(tmp_path / "apart") for p in (tmp_path / "apart").rglob("*.*")
    )
    for f in files:
        assert (tmp_path / "here" / f).read_bytes() == (tmp_path / "apart" / f).read_bytes(), f


def test_a_block_waiting_for_another_stops_when_told(tmp_path: Path, small_blocks: None) -> None:
    """A worker's block waits for the counts of the blocks before it, unless another worker
    failed: then it stops instead of waiting for ever."""
    cfg = _scenario()
    layout = P.block_layout(cfg.population, 5)
    job = S._Job(cfg, 5, layout, 4, 7, str(tmp_path), 700, BLOCK)
    for sub in S.SHARDED:
        (tmp_path / sub).mkdir(parents=True)

    class Flag:
        value = 1

    counts = [-1] * 4
    with pytest.raises(RuntimeError, match="another block's worker failed"):
        S._block(job, 2, counts, Flag())
    assert counts[2] > 0 and counts[:2] == [-1, -1]  # its own count was published first
    counts[:2] = [0, 0]
    draw, files = S._block(job, 2, counts, Flag())  # nothing to wait for: no abort check
    assert draw.first == 0 and draw.n_rows == counts[2] and files[0][1:] == (0, 700)


def test_rewriting_removes_stale_parts(tmp_path: Path, small_blocks: None) -> None:
    cfg = _scenario(mix=False)
    many = write_sharded_task(cfg, 2, tmp_path, shard_size=500)["shards"]
    few = write_sharded_task(cfg, 2, tmp_path, shard_size=100_000)["shards"]
    assert len(many) > len(few) == 4  # a part a block
    for sub in ("register", "noise_log/register"):
        names = sorted(p.name for p in (tmp_path / sub).iterdir())
        assert names == [s["file"].rsplit("/", 1)[1] for s in few]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_shard_size_must_be_a_positive_integer(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ConfigError, match="shard_size"):
        write_sharded_task(_scenario(), 1, tmp_path, shard_size=bad)  # type: ignore[arg-type]


def test_blocks_are_separate_populations_with_global_ids(small_blocks: None) -> None:
    cfg = P.PopulationConfig(size=6_500, people_per_zip=400, mover_share=0.3)
    layout = P.block_layout(cfg, 3)
    assert layout.people.tolist() == [1_625] * 4
    pop = P.generate_population(cfg, 3)
    people, addresses = pop.people, pop.addresses
    n = len(people)
    assert (people["person_id"].to_numpy() == np.arange(n)).all()
    assert (addresses["address_id"].to_numpy() == np.arange(len(addresses))).all()
    block = np.repeat(np.arange(4), layout.people)
    hh = people["household_id"].to_numpy()
    assert (np.diff(hh) >= 0).all() and len(np.unique(hh)) == hh.max() + 1
    assert (pd.Series(block).groupby(hh).nunique() == 1).all()  # households never cross blocks
    # every address, current or previous, belongs to the person's block; ZIPs are disjoint
    addr_block = np.empty(len(addresses), dtype=np.int64)
    addr_block[people["address_id"].to_numpy()] = block
    prev = people["previous_address_id"].to_numpy()
    assert (prev >= 0).any() and (addr_block[prev[prev >= 0]] == block[prev >= 0]).all()
    zips = pd.Series(addresses["zip"].to_numpy()).groupby(addr_block).unique()
    assert sum(len(z) for z in zips) == addresses["zip"].nunique() >= 4 * 4
    for col in ("twin_id", "namesake_id"):
        other = people[col].to_numpy()
        has = other >= 0
        assert has.any() and (block[other[has]] == block[has]).all()
        assert (people["household_id"].to_numpy()[other[has]] == hh[has]).all()
    # the blocks are generated one at a time, with the same result
    for b in (0, 3):
        part = P.generate_block(cfg, 3, b, layout).people
        lo = layout.person_start(b)
        pd.testing.assert_frame_equal(
            part, people.iloc[lo : lo + len(part)].reset_index(drop=True), check_exact=True
        )


def test_one_block_population_is_unchanged_by_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = P.PopulationConfig(size=3_000, people_per_zip=500)
    before = P.generate_population(cfg, 8)
    monkeypatch.setattr(P, "BLOCK_SIZE", 3_000)  # still one block
    pd.testing.assert_frame_equal(before.people, P.generate_population(cfg, 8).people)
    monkeypatch.setattr(P, "BLOCK_SIZE", 1_500)  # two blocks: other streams
    after = P.generate_population(cfg, 8).people
    assert len(after) == 3_000 and not after["first_name"].equals(before.people["first_name"])


@pytest.mark.parametrize("mix", [None, {"hispanic": 0.7, "white": 0.0, "api": 0.3}])
def test_query_sample_does_not_depend_on_blocks(mix: dict[str, float] | None) -> None:
    """The pooled candidates give the k smallest keys of the whole pool, however it is cut."""
    rng = np.random.default_rng(0)
    n, k = 5_000, 300
    groups = np.array(["hispanic", "white", "api", "black"])
    code = rng.choice(4, n, p=[0.2, 0.5, 0.1, 0.2])
    exp = rng.exponential(size=n)
    # the whole pool: Efraimidis-Spirakis keys with the group weights share / pool share
    weight = np.ones(4)
    for g, share in (mix or {}).items():
        c = list(groups).index(g)
        weight[c] = share / (code == c).mean()
    with np.errstate(divide="ignore"):
        expected = np.sort(np.argsort(exp / weight[code])[:k])
    code = np.array([P.N.GROUPS.index(g) for g in groups])[code]
    for cuts in ([n], [1_000] * 5, [7, 2_993, 1_800, 200], [100] * 50):
        pool = _Pool(k, "in the register")
        lo = 0
        for size in cuts:
            rows = np.arange(lo, lo + size)
            cls = code[rows] if mix else np.zeros(size, dtype=np.int64)
            pool.counts += np.bincount(code[rows], minlength=len(pool.counts))
            pool.add(exp[rows], cls, code[rows], pd.DataFrame({"row": rows}))
            lo += size
        chosen = pool.choose(mix)
        assert chosen is not None
        assert (chosen["row"].to_numpy() == expected).all(), cuts


def test_cli_generate_with_shard_size(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from bench.cli import main

    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["generate", str(scenario), "--shard-size", "1000", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "manifest.json")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["shard_size"] == 1_000 and manifest["seed"] == 11
    _assert_same(load_sharded_task(out), build_task(parse_scenario(read_toml_text(TINY)), 11))
    # a scenario's own shard_size is the default; csv is not a sharded format
    big = tmp_path / "big.toml"
    big.write_text(TINY.replace("seed = 11", "seed = 11\nshard_size = 1500") + "\n")
    assert main(["generate", str(big), "--out", str(tmp_path / "big"), "--no-progress"]) == 0
    assert json.loads((tmp_path / "big" / "manifest.json").read_text())["shard_size"] == 1_500
    code = main(["generate", str(big), "--out", str(tmp_path / "csv"), "--format", "csv"])
    assert code == 2 and "parquet only" in capsys.readouterr().err
