"""docs/design.md's stage table and input reference are the declarations' (issue 13): regenerate when stale."""

from pathlib import Path

from minecarbon.pipeline import STAGES
from minecarbon.pipeline.docs import update

DESIGN = Path(__file__).resolve().parents[2] / "docs" / "design.md"


def test_generated_blocks_are_current() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    assert update(text) == text, "docs/design.md is stale: run 'python scripts/update_design_doc.py'"


def test_every_stage_and_output_is_in_the_page() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    for st in STAGES:
        assert f"| `{st.name}` |" in text
        for o in st.outputs:
            assert f"`{o.id}`: {o.path}" in text
