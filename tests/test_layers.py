"""The layers import one way, as the folders say: interfaces (cli, serve) -> API -> reports / ingest / pricing -> store.

Each module's imports are read with `ast` (function-level imports included). The rules for the core say what a
layer may never import; the rule for the interfaces says what they may import: the API, the shared vocabulary,
display and each other. Known exceptions are listed with their reason, and must still be needed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sessionstats

PACKAGE = Path(sessionstats.__file__).parent
INTERFACES = ("sessionstats.cli", "sessionstats.serve", "sessionstats.__main__")
DISPLAY = ("sessionstats.display",)
API = ("sessionstats.api", "sessionstats.api_records", "sessionstats.api_tasks", "sessionstats.session_api",
       "sessionstats.tracking")
VOCABULARY = ("sessionstats.errors", "sessionstats.validate", "sessionstats.times", "sessionstats.ids")
# What an interface may import besides the package itself (`from sessionstats import connect`, its public names).
INTERFACE_MAY_IMPORT = INTERFACES + API + VOCABULARY + DISPLAY
# layer prefix -> the prefixes it must never import
NEVER = {
    "sessionstats.store": INTERFACES + DISPLAY + API + ("sessionstats.reports", "sessionstats.ingest",
                                                        "sessionstats.pricing", "sessionstats.sessions"),
    "sessionstats.pricing": INTERFACES + DISPLAY + API + ("sessionstats.reports", "sessionstats.ingest"),
    "sessionstats.reports": INTERFACES + DISPLAY + API + ("sessionstats.ingest",),
    "sessionstats.ingest": INTERFACES + DISPLAY + API + ("sessionstats.reports",),
    "sessionstats.sessions": INTERFACES + DISPLAY + API + ("sessionstats.reports", "sessionstats.ingest",
                                                           "sessionstats.pricing"),
    "sessionstats.display": INTERFACES + API + ("sessionstats.store", "sessionstats.reports", "sessionstats.ingest",
                                                "sessionstats.pricing"),
    "sessionstats.api": INTERFACES + DISPLAY,
    "sessionstats.api_records": INTERFACES + DISPLAY,
    "sessionstats.api_tasks": INTERFACES + DISPLAY,
    "sessionstats.session_api": INTERFACES + DISPLAY,
    "sessionstats.tracking": INTERFACES + DISPLAY,
}
KNOWN_EXCEPTIONS = {
    # A writer folds the journal in before its own work, so a record kept while the database was busy is stored
    # by the next write from any process, whichever path that write came by.
    ("sessionstats.store", "sessionstats.ingest.journal"),
    # doctor reports where each agent's history is, with the importers' own default locations.
    ("sessionstats.reports.doctor", "sessionstats.ingest"),
    # `to_json` prints a result exactly as the CLI's --format json does: one JSON writer for both.
    ("sessionstats.api", "sessionstats.display.render"),
    # For its types only: a batch is stored through the API's Database (its target, owner and writing()).
    ("sessionstats.ingest.batch_recording", "sessionstats.api"),
    # serve's capture writer holds one open database across many requests' batches and journals them itself,
    # building the journal's entries (batch_recording, journal, records) that the API's batch_writer takes.
    ("sessionstats.serve.batching", "sessionstats.ingest"),
    # The OTLP receiver maps each export with `import otel`'s own reader and stores many exports in the batch
    # writer's one transaction (its Store); no API call takes OTLP events yet.
    ("sessionstats.serve.otlp", "sessionstats.ingest"),
    ("sessionstats.serve.otlp", "sessionstats.store"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("sessionstats")}


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def excused(module: str, imported: str) -> tuple[str, str] | None:
    for owner, target in KNOWN_EXCEPTIONS:
        if under(module, owner) and under(imported, target):
            return owner, target
    return None


def layer_imports() -> list[tuple[str, str]]:
    """Every (module, what it imports) pair the rules forbid, excused ones included."""
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        for layer, forbidden in NEVER.items():
            if under(module, layer):
                bad += [(module, name) for name in sorted(imports(path))
                        if any(under(name, prefix) for prefix in forbidden)]
    return bad


def interface_imports() -> list[tuple[str, str]]:
    """Every (interface module, what it imports) pair outside the API, vocabulary and display, excused ones included."""
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        if any(under(module, prefix) for prefix in INTERFACES):
            bad += [(module, name) for name in sorted(imports(path)) if not allowed_in_interface(name)]
    return bad


def allowed_in_interface(name: str) -> bool:
    return name == "sessionstats" or any(under(name, prefix) for prefix in INTERFACE_MAY_IMPORT)


def test_no_core_module_imports_a_layer_above_it() -> None:
    wrong = [pair for pair in layer_imports() if excused(*pair) is None]
    assert wrong == []


def test_the_interfaces_import_only_the_api_the_vocabulary_and_display() -> None:
    wrong = [pair for pair in interface_imports() if excused(*pair) is None]
    assert wrong == []


def test_the_cli_reaches_past_the_api_nowhere() -> None:
    assert [pair for pair in interface_imports() if under(pair[0], "sessionstats.cli")] == []


def test_every_known_exception_is_still_needed() -> None:
    used = {excused(*pair) for pair in layer_imports() + interface_imports()}
    assert used >= KNOWN_EXCEPTIONS


def test_the_folders_name_the_layers() -> None:
    folders = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}
    assert {"cli", "serve", "reports", "ingest", "pricing", "store", "display"} <= folders
    flat = {path.stem for path in PACKAGE.glob("*.py")}
    assert flat <= {"__init__", "__main__", "api", "api_records", "api_tasks", "session_api", "tracking", "sessions",
                    "errors", "validate", "times", "ids"}


def test_the_rules_catch_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text("from sessionstats.cli.app import app\nimport sessionstats.reports.stats\n")
    assert imports(module) == {"sessionstats.cli.app", "sessionstats.reports.stats"}
    assert excused("sessionstats.pricing.prices", "sessionstats.cli.app") is None
    assert not allowed_in_interface("sessionstats.store") and not allowed_in_interface("sessionstats.reports.stats")
    assert allowed_in_interface("sessionstats") and allowed_in_interface("sessionstats.display.render")
    assert not allowed_in_interface("sessionstats.sessions")  # the core's sessions module, not the API
