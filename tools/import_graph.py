#!/usr/bin/env python3
"""The import graph of the two layers: helpers.py and the machinery/ modules (who imports whom), read with ast.

    python tools/import_graph.py            # prints the graph as text
    python tools/import_graph.py --dot      # Graphviz source: ... --dot | dot -Tpng -o import_graph.png
"""
import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def edges():
    """{module: sorted list of the machinery modules it imports} for helpers and every machinery module."""
    graph = {}
    for path in [REPO / "helpers.py", *sorted((REPO / "machinery").glob("*.py"))]:
        name = "helpers" if path.name == "helpers.py" else path.stem
        if name == "__init__":
            continue
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.module == "machinery" or (node.level == 1 and not node.module):
                    deps |= {a.name for a in node.names}
                elif node.level == 1 and node.module:
                    deps.add(node.module.split(".")[0])
                elif (node.module or "").startswith("machinery."):
                    deps.add(node.module.split(".")[1])
        graph[name] = sorted(deps)
    return graph


def main():
    graph = edges()
    if "--dot" in sys.argv:
        print("digraph imports {\n  rankdir=TB; node [shape=box, fontname=Helvetica];")
        print('  helpers [style=filled, fillcolor="#cfe2f3"];')
        for module, deps in graph.items():
            for dep in deps:
                print(f"  {module} -> {dep};")
        print("}")
        return
    for module, deps in graph.items():
        print(f"{module:12} -> {', '.join(deps) if deps else '(standard library, torch, numpy only)'}")


if __name__ == "__main__":
    main()
