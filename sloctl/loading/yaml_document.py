"""Safe YAML loading that remembers where every value came from.

Only plain data is accepted: python tags are refused by the safe constructor, files are
capped in size, and alias bombs are caught by counting the document's expanded size before
anything walks it. Duplicate keys are an error instead of silently keeping the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sloctl.errors import YamlError
from sloctl.loading.files import MAX_FILE_BYTES

MAX_EXPANDED_NODES = 100_000

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, location: Location) -> int | None:
        """The line of ``location``, or of its closest enclosing value that has one."""
        loc = tuple(location)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())


def _expanded_size(node: Node, memo: dict[int, int], limit: int) -> int:
    """Nodes in the document with every alias expanded, counted without expanding anything."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = 1  # a recursive alias counts once instead of looping forever
    size = 1
    if isinstance(node, SequenceNode):
        for child in node.value:
            size += _expanded_size(child, memo, limit)
            if size > limit:
                break
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            size += _expanded_size(key, memo, limit) + _expanded_size(value, memo, limit)
            if size > limit:
                break
    memo[id(node)] = size
    return size


def _record_lines(node: Node, location: Location, lines: dict[Location, int]) -> None:
    lines.setdefault(location, node.start_mark.line + 1)
    if isinstance(node, SequenceNode):
        for index, child in enumerate(node.value):
            _record_lines(child, (*location, index), lines)
    elif isinstance(node, MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else repr(key_node.value)
            if key in seen:
                raise YamlError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
            seen.add(key)
            _record_lines(value_node, (*location, key), lines)


def parse_yaml(text: str) -> Document:
    """Parse one YAML document from ``text``; raises YamlError with a clear reason."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise YamlError(f"file is larger than {MAX_FILE_BYTES // 1024} KiB")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(None, {})
        size = _expanded_size(node, {}, MAX_EXPANDED_NODES)
        if size > MAX_EXPANDED_NODES:
            raise YamlError(
                f"document expands to more than {MAX_EXPANDED_NODES} values "
                "(anchors and aliases used as a bomb?)"
            )
        lines: dict[Location, int] = {}
        _record_lines(node, (), lines)
        data = loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise YamlError(
            f"unsupported YAML: {exc.problem} (only plain data is accepted)",
            None if mark is None else mark.line + 1,
        ) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise YamlError(
            f"invalid YAML: {exc.problem}", None if mark is None else mark.line + 1
        ) from exc
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise YamlError("YAML nests too deeply") from exc
    except YamlError:
        raise
    except (ValueError, OverflowError) as exc:  # an integer of thousands of digits, say
        raise YamlError(f"unreadable value: {str(exc)[:120]}") from exc
    finally:
        loader.dispose()
    return Document(data, lines)


def load_yaml(path: Path) -> Document:
    """Read and parse ``path``; raises YamlError (or OSError when it cannot be read)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise YamlError(f"file is {size} bytes, larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return parse_yaml(text)
