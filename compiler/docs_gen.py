"""Generate docs/diagnostics.md from the code table: `python -m aispec.compiler.docs_gen > docs/diagnostics.md`."""

from __future__ import annotations

from .codes import BASE_EXAMPLE, CODES

_STAGES = {
    "1": "Syntax (1xx)", "2": "Schema (2xx)", "3": "Semantic checks (3xx)", "4": "Rendering (4xx)",
    "5": "Writing and updating (5xx)", "9": "Internal (9xx)",
}


def diagnostics_markdown() -> str:
    out = [
        "# Diagnostic codes",
        "",
        "Generated from `compiler/codes.py` by `python -m aispec.compiler.docs_gen > docs/diagnostics.md`;",
        "a test fails when this page and the code table disagree. `aispec explain CODE` prints one entry.",
        "",
        "Every diagnostic prints as `file:line:col: severity[CODE]: message`, then the source line with a",
        "caret under the span, then a hint. `aispec check --format json` gives the same data as JSON.",
        "",
        "Unless an example is a whole file, it is a fragment merged onto this valid spec:",
        "",
        "```yaml",
        BASE_EXAMPLE.rstrip(),
        "```",
        "",
    ]
    stage = ""
    for code, info in sorted(CODES.items()):
        if code[3] != stage:
            stage = code[3]
            out += [f"## {_STAGES.get(stage, stage)}", ""]
        out += [f"### {code}: {info.title}", "", f"Severity: **{info.severity.value}**.", "", info.explanation, ""]
        if info.example:
            lang = "hcl" if info.example_syntax == "dsl" else "yaml"
            out += ["Example:", "", f"```{lang}", info.example.rstrip(), "```", ""]
        out += [f"Fix: {info.fix}", ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(diagnostics_markdown(), end="")
