"""The one YAML reader of the project's hand-written files (the plan, its secrets, campaigns.yaml,
notifications.yaml): positions kept, every problem a `Problem` at FILE:LINE:COL, reading goes on.

It works on ruamel's node graph rather than loaded objects: scalars keep their exact text
("0101", "+74951234567"), duplicate keys become problems instead of exceptions, and nothing
(dates, times) is converted behind our back. Typical use:

    problems: list[Problem] = []
    root = compose(read_text(path), str(path), problems)
    r = Reader(str(path))
    top = r.mapping(root, "file", ("a", "b"))
    ...
    if problems + r.problems: raise ProblemsError(problems + r.problems)
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node as YNode, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from ivr.errors import ConfigError

__all__ = ["Fields", "Problem", "ProblemsError", "Reader", "compose", "describe", "did_you_mean", "is_null",
           "read_text"]

_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int          # 1-based
    col: int           # 1-based
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class ProblemsError(ConfigError):
    """A file that cannot be used; `problems` lists every problem found, not just the first."""

    error_id = "invalid-file"

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__(
            "\n".join(str(p) for p in self.problems),
            details={"problems": [
                {"file": p.file, "line": p.line, "col": p.col, "message": p.message}
                for p in self.problems
            ]},
        )


def read_text(path: Path, error: type[ProblemsError] = ProblemsError) -> str:
    """The file as text; unreadable or not UTF-8 raises `error` naming the file and position."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise error([Problem(str(path), 1, 1, f"cannot read: {e.strerror or e}")]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise error([Problem(str(path), line, col, "not UTF-8 text; save the file as UTF-8")]) from None


def compose(text: str, source: str, problems: list[Problem]) -> YNode | None:
    """The node tree of one YAML document (positions kept), or None after recording the syntax error."""
    try:
        return YAML(typ="rt").compose(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = "; ".join(str(part) for part in (e.context, e.problem) if part)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        if e.context_mark is not None and mark is not None and e.context_mark.line != mark.line:
            what += f" (it started on line {e.context_mark.line + 1})"
        problems.append(Problem(source, line, col, f"YAML syntax error: {what or e}"))
    except ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        col = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        problems.append(Problem(source, line, col, f"character {e.character!r} is not allowed in YAML"))
    except YAMLError as e:
        problems.append(Problem(source, 1, 1, f"YAML error: {e}"))
    except RecursionError:
        problems.append(Problem(source, 1, 1, "the YAML is nested too deeply"))
    return None


def _tag(node: YNode) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag) or "")


def is_null(node: YNode | None) -> bool:
    return node is None or (isinstance(node, ScalarNode) and _tag(node) == _NULL_TAG)


def describe(node: YNode) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    text = str(node.value)
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


@dataclass
class Fields:
    """The entries of one YAML mapping: key text -> (key node, value node)."""
    entries: dict[str, tuple[YNode, YNode]]
    at: YNode                                  # where to report a missing key

    def get(self, name: str) -> YNode | None:
        entry = self.entries.get(name)
        return None if entry is None or is_null(entry[1]) else entry[1]


class Reader:
    """Typed access to a node tree that records problems instead of raising them."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, at: YNode | None, message: str) -> None:
        mark = at.start_mark if at is not None else None
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = Problem(self.source, line, col, message)
        # An anchor merged or aliased in several places would repeat the same problem.
        if problem not in self.problems:
            self.problems.append(problem)

    def mapping(self, node: YNode, what: str, known: Collection[str] | None = None) -> Fields | None:
        if not isinstance(node, MappingNode):
            self.problem(node, f"{what}: expected a mapping of key: value, got {describe(node)}")
            return None
        entries: dict[str, tuple[YNode, YNode]] = {}
        for key, value in self._explicit(node):
            if not isinstance(key, ScalarNode):
                self.problem(key, f"{what}: a key must be plain text, not {describe(key)}")
                continue
            name = str(key.value)
            if name in entries:
                first = entries[name][0].start_mark.line + 1
                self.problem(key, f"{what}: '{name}' is given twice (first on line {first})")
                continue
            if known is not None and name not in known:
                self.problem(key, f"{what}: unknown key '{name}'{did_you_mean(name, known)}")
                continue
            entries[name] = (key, value)
        for key, value in self._merged(node, what, {id(node)}):
            name = str(key.value)
            if known is not None and name not in known:
                self.problem(key, f"{what}: unknown key '{name}'{did_you_mean(name, known)}")
            elif name not in entries:
                entries[name] = (key, value)
        return Fields(entries, node)

    @staticmethod
    def _explicit(node: MappingNode) -> list[tuple[YNode, YNode]]:
        return [(k, v) for k, v in node.value if _tag(k) != _MERGE_TAG]

    def _merged(self, node: MappingNode, what: str, seen: set[int]) -> list[tuple[YNode, YNode]]:
        """Entries brought in with YAML merge keys (`<<: *office_hours`); `seen` stops an anchor
        that merges itself."""
        items: list[tuple[YNode, YNode]] = []
        for key, value in node.value:
            if _tag(key) != _MERGE_TAG:
                continue
            for source in value.value if isinstance(value, SequenceNode) else [value]:
                if not isinstance(source, MappingNode):
                    self.problem(source, f"{what}: '<<' must name a mapping (an &anchor)")
                elif id(source) not in seen:
                    seen.add(id(source))
                    items += [(k, v) for k, v in self._explicit(source) if isinstance(k, ScalarNode)]
                    items += self._merged(source, what, seen)
        return items

    def optional(self, fields: Fields, name: str, read: Callable[[YNode, str], object], default):
        """`read` the value of an optional key; its absence, or a bad value (reported), gives `default`."""
        node = fields.get(name)
        if node is None:
            return default
        value = read(node, name)
        return default if value is None else value

    def require(self, fields: Fields, name: str, what: str) -> YNode | None:
        node = fields.get(name)
        if node is None:
            self.problem(fields.at, f"{what}: '{name}' is missing")
        return node

    def text(self, node: YNode, what: str) -> str | None:
        if isinstance(node, ScalarNode) and not is_null(node) and str(node.value).strip():
            return str(node.value).strip()
        self.problem(node, f"{what}: expected text, got {describe(node) if not is_null(node) else 'nothing'}")
        return None

    def choice(self, node: YNode, what: str, allowed: Collection[str]) -> str | None:
        value = self.text(node, what)
        if value is not None and value not in allowed:
            self.problem(node, f"{what}: '{value}' is not one of {', '.join(allowed)}"
                               f"{did_you_mean(value, allowed)}")
            return None
        return value

    def number(self, node: YNode, what: str, *, integer: bool = False, positive: bool = False) -> float | None:
        kind = "a whole number" if integer else "a number of seconds"
        if isinstance(node, ScalarNode) and not is_null(node):
            try:
                value = float(str(node.value))
            except ValueError:
                value = None
            if value is not None and value == value and abs(value) != float("inf"):
                if integer and value != int(value):
                    self.problem(node, f"{what}: expected {kind}, got {describe(node)}")
                    return None
                if value < 0 or (positive and value == 0):
                    self.problem(node, f"{what}: must be {'more than' if positive else 'at least'} 0")
                    return None
                return value
        self.problem(node, f"{what}: expected {kind}, got {describe(node)}")
        return None

    def boolean(self, node: YNode, what: str) -> bool | None:
        if isinstance(node, ScalarNode):
            word = str(node.value).strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
        self.problem(node, f"{what}: expected yes or no, got {describe(node)}")
        return None

    def texts(self, node: YNode, what: str) -> list[tuple[str, YNode]]:
        """A list of texts; a single text is a list of one (`prompts: welcome`)."""
        items = node.value if isinstance(node, SequenceNode) else [node]
        found = []
        for item in items:
            value = self.text(item, what)
            if value is not None:
                found.append((value, item))
        return found

