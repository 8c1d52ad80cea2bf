"""docs/workflows.md: the lifecycle tables of ``agencyapp.lifecycles`` as Markdown and Mermaid diagrams.

``render()`` is a pure function of the tables; ``python -m agencyapp.workflow_docs`` (``make docs``)
writes the document, and ``--check`` exits 1 when the document on disk differs from the tables.
"""

import argparse
import sys
from pathlib import Path

from agencyapp.lifecycles import LIFECYCLES, Lifecycle, State

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "workflows.md"
REGENERATE = "make docs"
UNCHANGED = "（状態は変わらない）"


def terminal_states(lifecycle: Lifecycle) -> tuple:
    """The states no transition leads out of: work within a state (target ``None`` or itself) does not count."""
    leaving = {s for t in lifecycle.transitions for s in t.sources if t.target is not None and t.target != s}
    return tuple(s for s in lifecycle.states if s not in leaving)


def _cell(text) -> str:
    """A Markdown table cell: a ``|`` would end the cell, a line break the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _mermaid_label(text) -> str:
    return str(text).replace('"', "#quot;").replace("\n", " ")


def _state_name(state: State) -> str:
    return f"{state.label}（`{state.value}`）"


def _states_table(lifecycle: Lifecycle) -> list:
    lines = ["| コード | 表示名 |", "|---|---|"]
    lines += [f"| `{s.value}` | {_cell(s.label)} |" for s in lifecycle.states]
    return lines


def _transitions_table(lifecycle: Lifecycle) -> list:
    lines = ["| 操作 | 表示名 | 遷移元 | 遷移先 | 権限 | 操作履歴 |", "|---|---|---|---|---|---|"]
    for t in lifecycle.transitions:
        sources = "、".join(s.label for s in t.sources)
        target = UNCHANGED if t.target is None else t.target.label
        lines.append(
            f"| `{t.name}` | {_cell(t.label)} | {_cell(sources)} | {_cell(target)} "
            f"| `{t.action.value}` | `{_cell(t.event)}` |"
        )
    return lines


def _diagram(lifecycle: Lifecycle) -> list:
    lines = ["```mermaid", "stateDiagram-v2"]
    lines += [f'    state "{_mermaid_label(s.label)}" as {s.value}' for s in lifecycle.states]
    lines.append(f"    [*] --> {lifecycle.initial.value}")
    for t in lifecycle.transitions:
        for source in t.sources:
            target = source if t.target is None else t.target
            lines.append(f"    {source.value} --> {target.value} : {_mermaid_label(t.label)}")
    lines += [f"    {s.value} --> [*]" for s in terminal_states(lifecycle)]
    lines.append("```")
    return lines


def _section(lifecycle: Lifecycle) -> list:
    lines = [f"## {lifecycle.label}（`{lifecycle.name}`）", ""]
    if lifecycle.description:
        lines += [lifecycle.description, ""]
    lines.append(f"- 初期状態: {_state_name(lifecycle.initial)}")
    terminals = "、".join(_state_name(s) for s in terminal_states(lifecycle)) or "なし"
    lines += [f"- 終了状態（状態を変える操作がない）: {terminals}", ""]
    lines += ["### 状態", "", *_states_table(lifecycle), ""]
    lines += ["### 操作", "", *_transitions_table(lifecycle), ""]
    lines += ["### 状態遷移図", "", *_diagram(lifecycle), ""]
    return lines


def render() -> str:
    """The whole document, in the order of ``LIFECYCLES`` and of each table."""
    lines = [
        "# 業務の状態遷移（ライフサイクル）",
        "",
        "このファイルは `agencyapp/lifecycles.py` の表から `agencyapp/workflow_docs.py` が生成したものです。"
        "手で編集しないでください。",
        f"表を変更したら `{REGENERATE}`（`.venv/bin/python -m agencyapp.workflow_docs`）で再生成します。"
        "`tests/test_workflow_docs.py` は、このファイルが表と食い違うと失敗します。",
        "",
        f"操作の表で遷移先が「{UNCHANGED}」のものは、その状態のまま行う作業です（図では同じ状態への矢印）。"
        "権限は `agencyapp.actions.Action` の値で、誰に許すかは `agencyapp/policy.py` が決めます。"
        "操作履歴は、その操作が書く監査イベント名です。"
        "終了状態は、状態を変える操作が一つもない状態です（図では `[*]` への矢印）。",
        "",
    ]
    lines += [f"- [{lc.label}（`{lc.name}`）](#{lc.name})" for lc in LIFECYCLES]
    lines.append("")
    for lifecycle in LIFECYCLES:
        lines += [f'<a id="{lifecycle.name}"></a>', "", *_section(lifecycle)]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agencyapp.workflow_docs", description="docs/workflows.md を状態遷移の表から生成する"
    )
    parser.add_argument("--check", action="store_true", help="書き込まず、ファイルが古ければ終了コード 1 で終わる")
    args = parser.parse_args(argv)
    text = render()
    relative = DOCUMENT.relative_to(DOCUMENT.parent.parent)
    if args.check:
        current = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else None
        if current != text:
            print(f"{relative} が agencyapp/lifecycles.py と一致しません。`{REGENERATE}` で再生成してください。")
            return 1
        print(f"{relative} は最新です。")
        return 0
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    with DOCUMENT.open("w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"{relative} を書き出しました。")
    return 0


if __name__ == "__main__":
    sys.exit(main())
