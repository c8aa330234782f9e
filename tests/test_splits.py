import numpy as np

from moviebench.splits import make_split


def ids(n: int, start: int = 0) -> np.ndarray:
    return np.array([f"movie-{i}" for i in range(start, start + n)])


def test_parts_are_disjoint_and_cover_every_row():
    split = make_split(ids(1000), seed=0)
    parts = [set(split.train), set(split.val), set(split.test)]
    assert sum(len(p) for p in parts) == 1000
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])


def test_fractions_are_roughly_70_15_15():
    split = make_split(ids(5000), seed=0)
    assert abs(len(split.train) / 5000 - 0.70) < 0.03
    assert abs(len(split.val) / 5000 - 0.15) < 0.02


def test_same_keys_give_same_split_and_hash_whatever_the_order():
    keys = ids(500)
    a = make_split(keys, seed=3)
    shuffled = np.random.default_rng(1).permutation(keys)
    b = make_split(shuffled, seed=3)
    assert set(keys[a.test]) == set(shuffled[b.test])
    assert a.hash == b.hash


def test_seed_changes_the_split():
    keys = ids(500)
    assert make_split(keys, seed=0).hash != make_split(keys, seed=1).hash


def test_adding_rows_never_moves_existing_rows():
    old_keys, new_keys = ids(500), ids(700)
    old, new = make_split(old_keys, seed=0), make_split(new_keys, seed=0)
    for part in ("train", "val", "test"):
        old_members = set(old_keys[old.part(part)])
        new_members = set(new_keys[new.part(part)])
        assert old_members <= new_members
    assert old.hash != new.hash  # the hash records exactly which rows were split


def test_grouped_split_deals_each_group_over_all_parts_and_is_local() -> None:
    keys = np.array([f"film{i // 6}#{i % 6}" for i in range(60)])
    groups = np.array([k.split("#")[0] for k in keys])
    split = make_split(keys, seed=2, groups=groups)
    for g in np.unique(groups):
        rows = set(np.flatnonzero(groups == g))
        assert all(rows & set(split.part(p)) for p in ("train", "val", "test")), g
    # another film added changes nothing for the others, and a rerun is the same split
    more = np.concatenate([keys, ["new#0", "new#1", "new#2"]])
    again = make_split(more, seed=2, groups=np.array([k.split("#")[0] for k in more]))
    assert np.array_equal(again.train[again.train < 60], split.train)
    assert make_split(keys, seed=2, groups=groups).hash == split.hash
    # a group too small for three parts keeps its plain hashed part
    plain = make_split(np.array(["solo#0"]), seed=2)
    alone = make_split(np.array(["solo#0"]), seed=2, groups=np.array(["solo"]))
    assert plain.hash == alone.hash
