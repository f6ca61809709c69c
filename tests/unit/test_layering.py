"""The rooms keep their doors: dependencies point bot -> handlers, scheduler -> domain <- storage.

Every module under domain/, handlers/, storage/, scheduler/ and bot/ is parsed (not imported)
and each import statement, including those under `if TYPE_CHECKING:` and inside functions, is
checked against what its room may use.
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
