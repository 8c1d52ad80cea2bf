"""docs/workflows.md is generated from the lifecycle tables, and the tables are well formed.

No app and no database: these read ``agencyapp.lifecycles`` and the document only.
"""

import re

import pytest

from agencyapp import workflow_docs
from agencyapp.actions import Action
from agencyapp.lifecycles import LIFECYCLES, State
from agencyapp.workflow_docs import UNCHANGED, render, terminal_states

by_name = pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=lambda lc: lc.name)


def _section(text, lifecycle):
    """The part of the document about one lifecycle: from its heading to the next one."""
    heading = f"## {lifecycle.label}（`{lifecycle.name}`）"
    assert heading in text, f"no section for {lifecycle.name}"
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


def _diagram(section):
    blocks = re.findall(r"```mermaid\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "each lifecycle has exactly one mermaid block"
    return blocks[0].splitlines()


def test_committed_document_is_up_to_date():
    assert workflow_docs.DOCUMENT.is_file(), "docs/workflows.md is missing: run `make docs`"
    committed = workflow_docs.DOCUMENT.read_text(encoding="utf-8")
    assert committed == render(), "docs/workflows.md differs from agencyapp/lifecycles.py: run `make docs`"


def test_check_reports_a_stale_document(tmp_path, monkeypatch, capsys):
    document = tmp_path / "docs" / "workflows.md"
    monkeypatch.setattr(workflow_docs, "DOCUMENT", document)
    assert workflow_docs.main(["--check"]) == 1
    assert "make docs" in capsys.readouterr().out
    assert workflow_docs.main([]) == 0
    assert document.read_text(encoding="utf-8") == render()
    assert workflow_docs.main(["--check"]) == 0
    document.write_text(render() + "手で書き足した行\n", encoding="utf-8")
    assert workflow_docs.main(["--check"]) == 1


def test_render_is_deterministic():
    assert render() == render()


@by_name
def test_every_state_and_transition_is_documented(lifecycle):
    section = _section(render(), lifecycle)
    diagram = _diagram(section)
    assert diagram[0] == "stateDiagram-v2"
    assert f"    [*] --> {lifecycle.initial.value}" in diagram
    assert f"- 初期状態: {lifecycle.initial.label}（`{lifecycle.initial.value}`）" in section
    for state in lifecycle.states:
        assert f"| `{state.value}` | {state.label} |" in section
        assert f'    state "{state.label}" as {state.value}' in diagram
    for t in lifecycle.transitions:
        row = next((line for line in section.splitlines() if line.startswith(f"| `{t.name}` |")), None)
        assert row is not None, f"no row for {lifecycle.name}.{t.name}"
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1] == t.label
        assert cells[2] == "、".join(s.label for s in t.sources)
        assert cells[3] == (UNCHANGED if t.target is None else t.target.label)
        assert cells[4] == f"`{t.action.value}`"
        assert cells[5] == f"`{t.event}`"
        for source in t.sources:
            target = source if t.target is None else t.target
            assert f"    {source.value} --> {target.value} : {t.label}" in diagram, f"{t.name} from {source}"
    ends = [line.split()[0] for line in diagram if line.endswith("--> [*]")]
    assert ends == [s.value for s in terminal_states(lifecycle)]


def test_terminal_states():
    assert {lc.name: [s.value for s in terminal_states(lc)] for lc in LIFECYCLES} == {
        "submission": [],  # 確認済 can be reopened
        "point": ["closed"],
        "hearing": ["reported", "cancelled"],
        "version": ["retired"],
        "cycle": ["closed"],  # a closed year is not reopened: its report is frozen
    }


@by_name
def test_lifecycle_tables_are_well_formed(lifecycle):
    assert issubclass(lifecycle.states, State)
    assert isinstance(lifecycle.initial, lifecycle.states)
    assert lifecycle.label and lifecycle.description
    for state in lifecycle.states:
        assert state.label and state.badge, f"{lifecycle.name}.{state.value} needs a label and a badge"
    names = [t.name for t in lifecycle.transitions]
    assert len(names) == len(set(names)), f"{lifecycle.name}: duplicate transition names"
    for t in lifecycle.transitions:
        where = f"{lifecycle.name}.{t.name}"
        assert t.sources, f"{where} starts from no state"
        assert len(t.sources) == len(set(t.sources)), f"{where} names a source twice"
        assert all(isinstance(s, lifecycle.states) for s in t.sources), where
        assert t.target is None or isinstance(t.target, lifecycle.states), where
        assert isinstance(t.action, Action) and Action(t.action.value) is t.action, f"{where}: unknown action"
        assert t.label and t.event and t.cannot, where


@by_name
def test_every_state_is_reachable_from_the_initial_state(lifecycle):
    reached, frontier = {lifecycle.initial}, [lifecycle.initial]
    while frontier:
        state = frontier.pop()
        for t in lifecycle.transitions:
            if state in t.sources and t.target is not None and t.target not in reached:
                reached.add(t.target)
                frontier.append(t.target)
    unreachable = [s.value for s in lifecycle.states if s not in reached]
    assert not unreachable, f"{lifecycle.name}: unreachable from {lifecycle.initial.value}: {unreachable}"
