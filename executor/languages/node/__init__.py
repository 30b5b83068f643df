"""Node.js: V8 capped by --max-old-space-size, runs started ahead as runners."""

from executor.languages.node.plan import node_plan

__all__ = ["node_plan"]
