"""SQL-level mutants of the SQL that decides the number, built with sqlglot's DuckDB dialect.

mutmut corrupts a SQL string only as a whole (trivially killed), so this module parses each SQL
constant of the target modules, applies one small change at a time (comparison operator,
ASC/DESC, NULLS FIRST/LAST, a dropped WHERE/FILTER conjunct, AND/OR, COUNT vs COUNT DISTINCT,
window PARTITION/ORDER items, a dropped UNION branch) and regenerates the SQL. The mutant is
applied in memory by ``sql_worker.py`` (module constants and function constants are patched;
no file is rewritten); ``run.py`` drives the workers and counts the result.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

ROOT = Path(__file__).resolve().parents[2]

# The fast tests that pin each statement (a mutant runs only the selection of its statement).
# Ordered cheapest first: the selection stops at the first failure (-x).
MEASURE_TESTS = ("tests/measures/test_mutants_sql.py", "tests/measures/test_measure_sql.py")
_C = "tests/measures/test_counting.py::test_"
COUNTING_TESTS = (
    _C + "counts_in_is_every_published_column_by_hand",
    _C + "is_counted_needs_no_quarantine_approved_and_a_date",
    _C + "type_and_determination_macros",
    _C + "hand_scr_current_measures_by_hand",
    _C + "the_recount_agrees_with_the_measures",
    MEASURE_TESTS[0],
)
DETERMINATION_TESTS = (
    _C + "determination_rows_are_the_scrs_with_a_quarter",
    _C + "the_recount_agrees_with_the_measures",
    _C + "scrs_of_a_quarter_without_measures_are_a_mismatch",
    _C + "a_quarterly_count_off_by_one_is_named_with_both_numbers",
    _C + "a_category_count_off_by_one_is_named_with_both_numbers",
    _C + "category_mismatches_are_listed_by_quarter_then_category",
)
RESTATEMENT_TESTS = (
    _C + "pending_restatements_by_hand",
    _C + "column_changes_by_hand",
    _C + "republishing_the_same_determinations_is_no_publication",
    _C + "an_unpublished_quarter_is_not_restated",
    _C + "a_move_across_fiscal_years_is_restated_against_the_latest_publication",
    _C + "an_scr_that_stops_counting_in_its_quarter_is_restated",
)
_R = "tests/rules/test_scr_rules_fast.py::test_"
RULE_TESTS = (
    _R + "one_sided_padding_is_trimmed_in_every_column",
    _R + "one_sided_padding_of_a_lower_case_identity_is_shown_trimmed",
    _R + "typed_values_by_hand",
    "tests/measures/test_mutants_sql.py::test_typed_view_keeps_the_value_as_written_only_where_cleaning_changed_it",
    _R + "one_batch_yields_exactly_the_findings_worked_out_by_hand",
)

# Where the SQL that decides a row's fate or a count lives, and the tests that pin it:
# (where, names, tests). ``where`` is a module (its constants, or "fn:<function>" for SQL literals
# inside a function) or a ``.sql`` file of named statements (assets/_shared/sql.py). A constant
# holding several statements (MULTI_STATEMENT: the counting macros) is one site per statement.
# Smaller SQL embedded in larger SQL (TYPED_COLUMNS_SQL inside CURRENT_SQL) is mutated once, at
# its own site.
TARGETS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("schemas.scr_extract", ("TYPED_COLUMNS_SQL",), RULE_TESTS),
    ("schemas.counting", ("COUNTING_MACROS",), COUNTING_TESTS),
    ("assets.scr.determine", ("CURRENT_SQL",), MEASURE_TESTS),
    ("assets/measures/quarterly.sql", ("quarter_rows", "category_rows", "changed_quarters",
                                       "present_quarters"), MEASURE_TESTS),
    ("assets/measures/determinations.sql", ("determination_rows", "changed_keys",
                                            "quarterly_mismatches", "category_mismatches"),
     DETERMINATION_TESTS),
    ("assets/measures/restatements.sql", ("pending", "republishes_the_last", "column_changes"),
     RESTATEMENT_TESTS),
    ("assets/measures/annual.sql", ("annual_rows",), MEASURE_TESTS[:1]),
)  # fmt: skip
# Survivors no input the pipeline can produce tells apart from the statement, by mutant key
# (statement and mutated text: a change to the statement turns them into plain survivors until
# checked again). They stay survivors in the score, never kills; run.py names them with the
# reason. docs/TESTING.md ("Surviving SQL mutants") has the argument for each group.
_TZ = "the TIMESTAMPTZ cast skips WHITESPACE on both sides (test_timestamp_casts_skip_...)"
_TS = "the TIMESTAMP cast skips leading WHITESPACE (test_timestamp_casts_skip_...)"
_OFF = "the offset pattern is anchored at the end only: leading padding cannot change a match"
_NULL = "with one side NULL the ELSE branch `result >= target` is NULL too"
_ONE = "scr_current has one row per scr_id, so no (quarter, category) cell counts an id twice"
EQUIVALENT: dict[str, str] = {
    # TYPED_COLUMNS_SQL, the trim's fast path inside eastern_timestamp (created_at, last_modified_at)
    "40bf17491362d75a": _TZ, "a0e5e82708d48a29": _TZ, "e44b0b280d670ff6": _TZ,
    "a4c07c9ba18bec09": _TZ, "10f1e50dc54ac611": _TZ, "eae233747042d499": _TZ,
    "0d489cf96b59e095": _TZ, "a19cc057205110a1": _TZ, "d332e84e9e2e70bc": _TZ,
    "778b0b2e07d87b76": _TZ,
    "609b5318eb99301b": _TS, "c13b04ff3fefaa6f": _TS, "ed8cb70376216125": _TS,
    "0bebab39bd8e80f8": _TS,
    "f0467bf5aeeb4a47": _OFF, "87dc9ec8ae63c17a": _OFF, "0b8592f2e886580b": _OFF,
    "636b103b41d8ac3b": _OFF,
    # CURRENT_SQL, indicator_conflict without `tco_involvement IS NOT NULL`
    "c4113b1fd49f27c1": "with no checkbox `(tco_involvement = 'Y') <> ...` is NULL and "
    "coalesce(..., false) gives false either way",
    # quarterly.sql category_rows: COUNT(d.scr_id) -> COUNT(DISTINCT d.scr_id), one per column
    "634cfdd5e031cebb": _ONE, "3139207ced716657": _ONE, "59160f79d29e3f3c": _ONE,
    "3c3a82bec04bd01f": _ONE, "3d55f6248f0b9158": _ONE, "8c3acb0a8d154ca7": _ONE,
    "5ee7fa3458108026": _ONE, "6dbc0927b224ac29": _ONE,
    "d39c104d1a35e9c1": "category_rows' dd rows without the year filter: they are joined to "
    "`quarters`, which has it",
    "1bde0ba2bc768bde": "present_quarters without __q_new: with_determination_keys adds every "
    "quarter with a current SCR, a superset of the quarters with a counted one",
    "d2e9231ca1732fcf": "pending without `fiscal_year IS NOT NULL`: a NULL quarter never passes "
    "the EXISTS on published quarters",
    "114ac3366707fbf0": "column_changes `len(c.scrs) >= 0`: list() FILTER over no row is NULL, "
    "never []",
    # annual.sql: `target IS NULL OR result IS NULL THEN NULL` -> AND, for each method
    "0ca9a1c8de09c0c2": _NULL, "3a844365d53004e0": _NULL,
}  # fmt: skip
MULTI_STATEMENT = {"COUNTING_MACROS"}  # constants of several statements, each ending ";\n"
# A constant a function builds afresh for its tests: the mutant replaces the function's result too.
BUILDERS = {("schemas.scr_extract", "TYPED_COLUMNS_SQL"): "typed_columns_sql"}
WRAP = ("SELECT ", " FROM __wrapped")  # a bare select list parses inside this


@dataclass(frozen=True)
class Site:
    module: str  # a module name or a .sql file relative to the project
    name: str
    text: str  # the SQL exactly as it is in memory after import
    tests: tuple[str, ...] = ()  # the fast tests that pin it


@dataclass(frozen=True)
class Mutant:
    site: Site
    op: str
    detail: str
    mutated: str  # full replacement text for site.text

    @property
    def key(self) -> str:
        """Stable across runs while the statement is unchanged (``run.py --rerun-survivors``)."""
        text = f"{self.site.module}|{self.site.name}|{self.mutated}"
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return f"{self.site.module}.{self.site.name}: {self.op} {self.detail}"


def sites() -> list[Site]:
    from assets._shared.sql import load_sql

    found = []
    for where, names, tests in TARGETS:
        if where.endswith(".sql"):
            found += [Site(where, n, load_sql(ROOT / where, n), tests) for n in names]
            continue
        mod = importlib.import_module(where)
        for name in names:
            if name.startswith("fn:"):
                fn = getattr(mod, name[3:])
                for text in _code_strings(fn.__code__):
                    if "SELECT" in text.upper():
                        found.append(Site(where, name, text, tests))
            elif name in MULTI_STATEMENT:
                for part in (p.strip() for p in getattr(mod, name).split(";\n")):
                    if part:
                        macro = part.split("(")[0].split()[-1]
                        found.append(Site(where, f"{name}[{macro}]", part, tests))
            else:
                found.append(Site(where, name, getattr(mod, name), tests))
    return found


def _code_strings(code: types.CodeType) -> Iterator[str]:
    for c in code.co_consts:
        if isinstance(c, str):
            yield c
        elif inspect.iscode(c):
            yield from _code_strings(c)


def _parse(text: str, placeholders: dict[str, str]) -> tuple[exp.Expression, bool]:
    for original, ph in placeholders.items():
        text = text.replace(original, ph)
    try:
        return sqlglot.parse_one(text, dialect="duckdb"), False
    except sqlglot.errors.ParseError:
        return sqlglot.parse_one(WRAP[0] + text + WRAP[1], dialect="duckdb"), True


def _render(tree: exp.Expression, wrapped: bool, placeholders: dict[str, str]) -> str:
    text = tree.sql(dialect="duckdb")
    if wrapped:
        assert text.startswith(WRAP[0]) and text.endswith(WRAP[1]), text[:80]
        text = text[len(WRAP[0]) : -len(WRAP[1])]
    for original, ph in placeholders.items():
        text = text.replace(ph, original)
    return text


CMP = {exp.GT: exp.GTE, exp.GTE: exp.GT, exp.LT: exp.LTE, exp.LTE: exp.LT, exp.EQ: exp.NEQ,
       exp.NEQ: exp.EQ}  # fmt: skip


def _edits(node: exp.Expression) -> Iterator[tuple[str, str, callable]]:
    """(operator, detail, edit) for one node; ``edit`` changes a copy of the node in place."""
    short = node.sql(dialect="duckdb")[:70]
    if type(node) in CMP:
        new = CMP[type(node)]
        yield (
            "cmp",
            f"{short!r} -> {new.__name__}",
            lambda n: n.replace(new(this=n.this, expression=n.expression)),
        )
    if isinstance(node, exp.And):
        yield "and->or", short, lambda n: n.replace(exp.Or(this=n.this, expression=n.expression))
        yield "drop-conjunct", f"right of {short!r}", lambda n: n.replace(n.this)
        yield "drop-conjunct", f"left of {short!r}", lambda n: n.replace(n.expression)
    if isinstance(node, exp.Or):
        yield "or->and", short, lambda n: n.replace(exp.And(this=n.this, expression=n.expression))
    if isinstance(node, exp.Where) and not isinstance(node.this, exp.And):
        if not isinstance(node.parent, exp.Filter):  # a FILTER without its condition is invalid
            yield "drop-where", short, lambda n: n.pop()
        else:
            yield "drop-filter", short, lambda n: n.parent.replace(n.parent.this)
    if isinstance(node, exp.Ordered):
        yield "asc/desc", short, lambda n: n.set("desc", not n.args.get("desc"))
        if n_first := node.args.get("nulls_first"):
            yield "nulls-first->last", short, lambda n: n.set("nulls_first", not n_first)
    if isinstance(node, exp.Count) and not isinstance(node.this, exp.Star):
        if isinstance(node.this, exp.Distinct):
            yield "count-distinct->count", short, lambda n: n.set("this", n.this.expressions[0])
        else:
            yield (
                "count->count-distinct",
                short,
                lambda n: n.set("this", exp.Distinct(expressions=[n.this])),
            )
    if isinstance(node, exp.Window):
        if node.args.get("partition_by"):
            yield "drop-partition-by", short, lambda n: n.set("partition_by", None)
        order = node.args.get("order")
        if order is not None:
            items = order.expressions
            if len(items) == 1:
                yield "drop-window-order", short, lambda n: n.set("order", None)
            else:
                for i, item in enumerate(items):
                    yield "drop-window-order-item", f"{item.sql(dialect='duckdb')!r} in {short!r}", (
                        lambda n, i=i: n.args["order"].set(
                            "expressions", [e for j, e in enumerate(n.args["order"].expressions) if j != i]
                        )
                    )  # fmt: skip
    if isinstance(node, exp.In) and len(node.expressions) >= 2:
        for i, item in enumerate(node.expressions):
            yield "drop-in-item", f"{item.sql(dialect='duckdb')!r} in {short!r}", (
                lambda n, i=i: n.set("expressions", [e for j, e in enumerate(n.expressions) if j != i])
            )  # fmt: skip
    if isinstance(node, exp.Union):
        yield "drop-union-branch", f"right of {short!r}", lambda n: n.replace(n.this)
        yield "drop-union-branch", f"left of {short!r}", lambda n: n.replace(n.expression)


def identity(site: Site, all_sites: list[Site]) -> str:
    """The site's SQL parsed and regenerated unchanged (the baseline every mutant starts from)."""
    ph = _placeholders(site, all_sites)
    tree, wrapped = _parse(site.text, ph)
    return _render(tree, wrapped, ph)


def _placeholders(site: Site, all_sites: list[Site]) -> dict[str, str]:
    inner = [s for s in all_sites if s.text != site.text and s.text in site.text]
    return {s.text: f"__site_{i}__" for i, s in enumerate(inner)}


def mutants(site: Site, all_sites: list[Site]) -> list[Mutant]:
    ph = _placeholders(site, all_sites)
    tree, wrapped = _parse(site.text, ph)
    base = _render(tree, wrapped, ph)
    out, seen = [], {base}
    nodes = list(tree.walk())
    for i, node in enumerate(nodes):
        for op, detail, edit in _edits(node):
            copy = tree.copy()
            target = list(copy.walk())[i]
            replaced = edit(target)
            if target is copy and isinstance(replaced, exp.Expression):
                copy = replaced  # the root itself was replaced (a top-level UNION branch dropped)
            try:
                text = _render(copy, wrapped, ph)
            except Exception:  # noqa: BLE001 - an edit sqlglot cannot render is not a mutant
                continue
            if text not in seen:
                seen.add(text)
                out.append(Mutant(site, op, detail, text))
    return out


def all_mutants() -> list[Mutant]:
    found = sites()
    return [m for s in found for m in mutants(s, found)]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    for n, m in enumerate(all_mutants()):
        print(n, m.label)


# --- applying a mutant in memory ------------------------------------------------------------
PROJECT_PACKAGES = ("schemas", "assets", "pipelines")


def _project_modules() -> list[types.ModuleType]:
    return [
        m
        for name, m in list(sys.modules.items())
        if m is not None and name.split(".")[0] in PROJECT_PACKAGES
    ]


def _swap_code(code: types.CodeType, old: str, new: str) -> types.CodeType:
    consts = tuple(
        c.replace(old, new)
        if isinstance(c, str) and old in c
        else _swap_code(c, old, new)
        if inspect.iscode(c)
        else c
        for c in code.co_consts
    )
    return code.replace(co_consts=consts) if consts != code.co_consts else code


def patch(old: str, new: str) -> Callable[[], None]:
    """Replace ``old`` by ``new`` inside every SQL string the project holds in memory (module
    constants, dict values, function literals); returns an undo. Raises if nothing matched."""
    if old == new:
        return lambda: None
    undo: list[Callable[[], None]] = []
    built = {m: getattr(sys.modules[m], c) for m, c in BUILDERS if m in sys.modules}
    for mod in _project_modules():
        for name, value in list(vars(mod).items()):
            if isinstance(value, str) and old in value:
                setattr(mod, name, value.replace(old, new))
                undo.append(lambda m=mod, n=name, v=value: setattr(m, n, v))
            elif isinstance(value, dict) and any(
                isinstance(v, str) and old in v for v in value.values()
            ):
                saved = dict(value)
                value.update(
                    {k: v.replace(old, new) for k, v in value.items() if isinstance(v, str)}
                )
                undo.append(lambda d=value, s=saved: (d.clear(), d.update(s)))
            elif inspect.isfunction(value) and value.__module__ == mod.__name__:
                code = value.__code__
                swapped = _swap_code(code, old, new)
                if swapped is not code:
                    value.__code__ = swapped
                    undo.append(lambda f=value, c=code: setattr(f, "__code__", c))
    for (mod_name, const), builder in BUILDERS.items():
        mod = sys.modules.get(mod_name)
        if mod is not None and (mutated := getattr(mod, const)) != built.get(mod_name):
            fn = getattr(mod, builder)
            setattr(mod, builder, lambda v=mutated: v)  # the builder returns the mutant too
            undo.append(lambda m=mod, b=builder, f=fn: setattr(m, b, f))
    if not undo:
        raise LookupError("mutant matched no SQL in memory")

    def revert() -> None:
        for u in reversed(undo):
            u()

    return revert
