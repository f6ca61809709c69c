"""The rooms keep their doors: dependencies point bot -> handlers, scheduler -> domain <- storage,
and inside domain/ and storage/ the features keep theirs.

Every module under domain/, handlers/, storage/, scheduler/ and bot/ is parsed (not imported)
and each import statement, including those under `if TYPE_CHECKING:` and inside functions, is
checked against what its room may use. A domain feature may use another feature's values and
contracts (model, rules, policy, ports, events) but never its use cases or read models: to make
another feature act it records an event. A storage feature may join another feature's tables
but never uses its repository.
"""

from __future__ import annotations

import ast

from tests.support.paths import ROOT

MESSENGERS = {"aiogram", "telegram"}

FORBIDDEN = {
    "domain": {"sqlalchemy", "alembic", "handlers", "storage", "bot", "scheduler"} | MESSENGERS,
    "handlers": {"sqlalchemy", "alembic", "storage", "bot"} | MESSENGERS,
    "storage": {"handlers", "bot", "scheduler"} | MESSENGERS,
    "scheduler": {"handlers", "bot"} | MESSENGERS,  # only bot/ speaks to a messenger framework
    "bot": set(),
}


# What one domain feature may import of another (domain/shared is everyone's).
SHARED_FEATURE = "shared"
OPEN_TO_OTHER_FEATURES = {
    "domain": {"model", "rules", "policy", "ports", "events"},
    "storage": {"tables"},
}


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            if node.module.count(".") == 1:  # `from domain.tickets import services`
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def feature_violations(room: str, feature: str, tree: ast.AST, where: str) -> list[str]:
    """Imports in `room`/`feature` of another feature's closed modules."""
    problems = []
    allowed = OPEN_TO_OTHER_FEATURES[room]
    for line, module in _imported_modules(tree):
        parts = module.split(".")
        if len(parts) < 3 or parts[0] != room:
            continue
        other, leaf = parts[1], parts[2]
        if other in (feature, SHARED_FEATURE) or leaf in allowed:
            continue
        if not (ROOT / room / other).is_dir():
            continue  # a module of the room itself (storage.uow), not a feature
        problems.append(
            f"{where}:{line} imports {module}: {room}/{feature} may use only "
            f"{', '.join(sorted(allowed))} of {room}/{other}"
        )
    return problems


def _feature_violations() -> list[str]:
    problems = []
    for room in OPEN_TO_OTHER_FEATURES:
        for path in sorted((ROOT / room).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if len(rel.parts) < 3:
                continue  # room-level modules (storage/uow.py) compose the features
            feature = rel.parts[1]
            if feature == SHARED_FEATURE:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            problems += feature_violations(room, feature, tree, rel.as_posix())
    return problems


def _imported_packages(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def _violations() -> list[str]:
    problems = []
    for room, banned in FORBIDDEN.items():
        for path in sorted((ROOT / room).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, package in _imported_packages(tree):
                if package in banned:
                    where = path.relative_to(ROOT).as_posix()
                    problems.append(f"{where}:{line} imports {package}, which {room}/ must not")
    return problems


def test_every_room_imports_only_what_its_layer_may() -> None:
    assert _violations() == []


def test_the_check_sees_imports_hidden_in_functions_and_type_checking_blocks() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from storage.uow import SqlUnitOfWork\n"
        "def f():\n"
        "    import aiogram.types\n"
        "from . import sibling\n"
    )
    assert _imported_packages(ast.parse(source)) == [(1, "typing"), (3, "storage"), (5, "aiogram")]


def test_every_room_exists_so_the_check_is_not_vacuous() -> None:
    for room in FORBIDDEN:
        assert any((ROOT / room).rglob("*.py")), room


def test_no_feature_uses_another_features_services() -> None:
    assert _feature_violations() == []


def test_the_feature_check_catches_a_deliberately_wrong_import() -> None:
    wrong = ast.parse(
        "from domain.tickets.services import open_ticket\n"
        "def later():\n"
        "    from domain.tickets import views\n"
        "from domain.tickets.events import TicketClosed\n"
        "from domain.shared.clock import Clock\n"
    )
    problems = feature_violations("domain", "surveys", wrong, "domain/surveys/x.py")
    assert problems == [
        "domain/surveys/x.py:1 imports domain.tickets.services: domain/surveys may use only "
        "events, model, policy, ports, rules of domain/tickets",
        "domain/surveys/x.py:3 imports domain.tickets.views: domain/surveys may use only "
        "events, model, policy, ports, rules of domain/tickets",
    ]
    storage_wrong = ast.parse("from storage.members.repository import member_from_row\n")
    assert feature_violations("storage", "tickets", storage_wrong, "s.py") != []
