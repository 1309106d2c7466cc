"""No two modules import each other, directly or round a longer circle (issue 31, item 4).

import-linter's contracts (pyproject.toml) hold the layers it is told about; this walks the
whole import graph of ``schemas``, ``assets`` and ``pipelines`` (grimp, import-linter's own
graph, which sees imports inside functions too) and fails on any circle not listed below.
"""

import grimp
import pytest

# circles known and owned elsewhere, with why (none: keep it so; a new entry needs a reason)
KNOWN: set[frozenset[str]] = set()


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("schemas", "assets", "pipelines")


def test_no_import_circles(graph):
    ours = set(graph.modules)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) & ours for m in ours}
    unknown = [c for c in circles(edges) if frozenset(c) not in KNOWN]
    assert not unknown, f"modules that import each other (directly or round a circle): {unknown}"


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),  # two modules, each other
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),  # round three
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),  # one way
        ({"a": {"a"}}, []),  # a module and itself: no circle of modules
    ],
)
def test_circles_finds_what_it_is_for(edges, expected):
    assert circles(edges) == expected
