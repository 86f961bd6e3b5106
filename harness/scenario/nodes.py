"""YAML nodes that remember where they are in their file, so that every validation error
begins with ``FILE:LINE:``; mappings refuse keys they do not allow."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from harness.errors import ConfigError


class Node:
    """A YAML node with its file position, for errors that say FILE:LINE."""

    def __init__(self, node: yaml.Node, source: str) -> None:
        self.node = node
        self.source = source

    @property
    def line(self) -> int:
        return int(self.node.start_mark.line) + 1

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.source}:{self.line}: {message}")

    def scalar(self, what: str, kind: type) -> Any:
        """The node's value as ``kind`` (str, int, float or bool), strictly: "5" is not an
        int and 5 is not a str."""
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error(f"{what} must be {type_name(kind)}, got a {node_kind(self.node)}")
        # The composer already resolved the tag: quoted "5" is a str, plain 5 an int.
        value: Any = self.node.value
        if self.node.tag != "tag:yaml.org,2002:str":
            value = yaml.safe_load(self.node.value)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(f"{what} must be {type_name(kind)}, got {self.node.value!r}")
        return value

    def items(self, what: str) -> list[Node]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error(f"{what} must be a list, got a {node_kind(self.node)}")
        return [Node(n, self.source) for n in self.node.value]

    def mapping(self, what: str, allowed: Sequence[str]) -> StrictMapping:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"{what} must be a mapping, got a {node_kind(self.node)}")
        return StrictMapping(self, what, allowed)


class StrictMapping:
    """A mapping whose keys must all be in ``allowed``; values are taken one by one."""

    def __init__(self, node: Node, what: str, allowed: Sequence[str]) -> None:
        self.node = node
        self.what = what
        self.values: dict[str, Node] = {}
        assert isinstance(node.node, yaml.MappingNode)
        for key_node, value_node in node.node.value:
            key = Node(key_node, node.source)
            name: str | None = (
                key.scalar(f"a key of {what}", str)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if name is None or name not in allowed:
                raise key.error(
                    f"unknown key {key_node.value!r} in {what}; allowed: " + ", ".join(allowed)
                )
            if name in self.values:
                raise key.error(f"key {name!r} appears twice in {what}")
            self.values[name] = Node(value_node, node.source)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def get(self, key: str, kind: type, default: Any = None, *, required: bool = False) -> Any:
        if key not in self.values:
            if required:
                raise self.node.error(f"{self.what} needs the key {key!r}")
            return default
        return self.values[key].scalar(self.label(key), kind)

    def label(self, key: str) -> str:
        """How a key is named in errors: ``workload.orders``, or ``seed`` at the top."""
        return key if self.what == "the scenario" else f"{self.what}.{key}"

    def child(self, key: str) -> Node | None:
        return self.values.get(key)


def type_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}[kind]


def node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    if isinstance(node, yaml.SequenceNode):
        return "list"
    return f"value {node.value!r}"


def positive(node: StrictMapping, key: str, value: float | None, *, zero_ok: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not zero_ok):
        where = node.child(key) or node.node
        raise where.error(f"{node.label(key)} must be {'>= 0' if zero_ok else '> 0'}, got {value}")


def choice(node: Node | StrictMapping, what: str, value: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        where = node if isinstance(node, Node) else node.node
        raise where.error(f"{what} {value!r} is unknown; allowed: " + ", ".join(allowed))
    return value
