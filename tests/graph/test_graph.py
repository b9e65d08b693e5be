"""The escalation graph's searches: shortest paths, tie-breaks, reachable privilege."""

from __future__ import annotations

from nhiscan.analyze.graph import Graph, Reach, describe
from nhiscan.analyze.graph.edge import Edge
from nhiscan.model import Identity


def ident(name: str) -> Identity:
    return Identity(id=name, provider="test", kind="test-identity", name=name, scope="s")


def graph(levels: dict[str, str], *edges: Edge) -> Graph:
    return Graph([ident(n) for n in levels], edges, levels)


def e(a: str, b: str, kind: str = "k", *, cond: bool = False) -> Edge:
    return Edge(a, b, kind, f"{a}->{b}", "file.json", cond, "c" if cond else "")


def hops(path: tuple[Edge, ...] | None) -> list[str]:
    assert path is not None
    return [path[0].source, *(x.target for x in path)] if path else []


def test_shortest_path_to_admin_takes_fewest_hops() -> None:
    g = graph(
        {"a": "read", "b": "read", "c": "read", "d": "read", "admin": "admin"},
        e("a", "b"),
        e("b", "c"),
        e("c", "admin"),
        e("a", "d"),
        e("d", "admin"),
    )
    assert hops(g.path_to_admin("a")) == ["a", "d", "admin"]
    assert g.to_admin().dist == {"admin": 0, "c": 1, "d": 1, "b": 2, "a": 2}
    assert g.path_to_admin("admin") == ()


def test_unreachable_node_has_no_path() -> None:
    g = graph({"a": "read", "b": "write", "admin": "admin"}, e("a", "b"), e("admin", "a"))
    assert g.path_to_admin("a") is None
    assert g.path_to("b", "a") is None
    assert hops(g.path_to("admin", "b")) == ["admin", "a", "b"]


def test_ties_prefer_unconditional_then_lowest_id() -> None:
    g = graph(
        {"a": "read", "x": "read", "y": "read", "z": "read", "admin": "admin"},
        e("a", "x", cond=True),
        e("x", "admin"),
        e("a", "z"),
        e("z", "admin"),
        e("a", "y"),
        e("y", "admin"),
    )
    # x is first by id but its hop is conditional: y (unconditional, lower id than z) wins
    assert hops(g.path_to_admin("a")) == ["a", "y", "admin"]
    # the same answer built from edges in another order
    g2 = graph(
        {"a": "read", "x": "read", "y": "read", "z": "read", "admin": "admin"},
        e("z", "admin"),
        e("y", "admin"),
        e("a", "z"),
        e("x", "admin"),
        e("a", "y"),
        e("a", "x", cond=True),
    )
    assert g2.path_to_admin("a") == g.path_to_admin("a")


def test_shorter_conditional_path_beats_longer_unconditional_one() -> None:
    g = graph(
        {"a": "read", "b": "read", "c": "read", "admin": "admin"},
        e("a", "admin", cond=True),
        e("a", "b"),
        e("b", "c"),
        e("c", "admin"),
    )
    path = g.path_to_admin("a")
    assert hops(path) == ["a", "admin"] and path is not None and path[0].conditional


def test_conditional_count_propagates_along_the_path() -> None:
    # a -> m1 -> admin has a conditional second hop; a -> m2 -> admin is clean: same length
    g = graph(
        {"a": "read", "m1": "read", "m2": "read", "admin": "admin"},
        e("a", "m1"),
        e("m1", "admin", cond=True),
        e("a", "m2"),
        e("m2", "admin"),
    )
    assert hops(g.path_to_admin("a")) == ["a", "m2", "admin"]


def test_multi_source_search_reaches_the_nearest_admin() -> None:
    g = graph(
        {"a": "read", "b": "read", "admin1": "admin", "admin2": "admin"},
        e("a", "b"),
        e("b", "admin1"),
        e("a", "admin2"),
    )
    assert hops(g.path_to_admin("a")) == ["a", "admin2"]
    assert g.admin_nodes() == ["admin1", "admin2"]


def test_cycles_terminate() -> None:
    g = graph(
        {"a": "read", "b": "read", "admin": "admin"},
        e("a", "b"),
        e("b", "a"),
        e("b", "admin"),
        e("admin", "a"),
    )
    assert hops(g.path_to_admin("a")) == ["a", "b", "admin"]
    assert g.edge_count == 4
    assert set(g.reachable_from("a")) == {"b", "admin"}


def test_a_self_edge_means_the_identity_can_grant_itself_admin() -> None:
    """A builder's self-edge (A can write its own permissions) is an edge to A's self-granted admin
    node: A reaches admin in one hop, and whoever reaches A reaches admin through it."""
    g = graph(
        {"a": "write", "b": "read", "c": "read"},
        e("a", "a"),
        e("b", "a"),
        e("c", "b"),
    )
    assert hops(g.path_to_admin("a")) == ["a", "self-grant:a"]
    assert hops(g.path_to_admin("c")) == ["c", "b", "a", "self-grant:a"]
    assert g.reach("b").level == "admin" and g.reach("b").hops == 2
    assert g.short("self-grant:a") == "a (self-granted admin)"


def test_reachable_privilege_is_the_highest_level_reached() -> None:
    g = graph(
        {"w": "write", "r": "read", "esc": "escalation", "admin": "admin", "n": "none", "lone": "read"},
        e("n", "r"),
        e("r", "w"),
        e("w", "esc"),
        e("n", "admin"),
    )
    reach = g.reach_all()
    assert reach["n"].level == "admin" and hops(reach["n"].path) == ["n", "admin"]
    assert reach["r"].level == "escalation" and hops(reach["r"].path) == ["r", "w", "esc"]
    assert reach["r"].target == "esc" and reach["r"].hops == 2
    assert reach["w"].level == "escalation"
    assert reach["esc"] == Reach("escalation")  # its own: no path
    assert reach["admin"] == Reach("admin")
    assert reach["lone"] == Reach("read")


def test_reachable_privilege_of_pseudo_nodes() -> None:
    g = graph({"svc": "read", "admin": "admin"}, e("secret:abc", "svc"), e("svc", "admin"))
    r = g.reach("secret:abc")
    assert r.level == "admin" and hops(r.path) == ["secret:abc", "svc", "admin"]
    assert g.level("secret:abc") == "none"


def test_reach_is_not_lowered_by_a_node_claimed_at_a_higher_level() -> None:
    # b reaches admin; a reaches b and also a write node: a is admin through b
    g = graph(
        {"a": "read", "b": "read", "w": "write", "admin": "admin"},
        e("a", "w"),
        e("a", "b"),
        e("b", "admin"),
    )
    assert g.reach("a").level == "admin"
    assert hops(g.reach("a").path) == ["a", "b", "admin"]


def test_reachable_from_lists_every_node_with_its_shortest_path() -> None:
    g = graph(
        {"a": "read", "b": "read", "c": "write", "admin": "admin"},
        e("a", "b"),
        e("b", "c"),
        e("a", "c", cond=True),
        e("c", "admin"),
    )
    out = g.reachable_from("a")
    assert {k: hops(v) for k, v in out.items()} == {
        "b": ["a", "b"],
        "c": ["a", "c"],
        "admin": ["a", "c", "admin"],
    }


def test_describe_names_each_hop() -> None:
    g = graph({"a": "read", "admin": "admin"}, e("a", "admin", "aws-assume-role", cond=True))
    assert describe(g.path_to_admin("a") or (), g) == (
        "test-identity a (s) -[aws-assume-role (conditional)]-> test-identity admin (s)"
    )


def test_one_search_answers_every_node_in_linear_time() -> None:
    # a long chain and a wide fan-in: the answer for all 20,000 nodes comes from one search
    n = 10_000
    levels = {f"c{i}": "read" for i in range(n)} | {f"f{i}": "read" for i in range(n)} | {"admin": "admin"}
    edges = [e(f"c{i}", f"c{i + 1}") for i in range(n - 1)] + [e(f"c{n - 1}", "admin")]
    edges += [e(f"f{i}", "admin") for i in range(n)]
    g = graph(levels, *edges)
    tree = g.to_admin()
    assert tree.dist["c0"] == n and tree.dist["f5"] == 1
    assert len(g.path_to_admin("c0") or ()) == n
    assert g.reach("c0").level == "admin"
