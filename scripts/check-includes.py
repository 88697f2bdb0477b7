#!/usr/bin/env python3
"""Checks the shape of the tree from its #include lines (docs/architecture.md):

- no circle of includes among the modules of server/ and of server/store/
  (a module is a .c file with its .h: a.c including b.h while b.c includes
  a.h is a circle, as it is between a.h and b.h);
- common/ includes neither libuv, LMDB nor any header of server/ or client/;
- core/ (when present) includes neither libuv nor a server header other than
  the store's interface (server/store/store.h);
- no handler includes the network layer (server/net/).

Exits 0 when the tree keeps to these, 1 (listing each breach) when not.
Usage: scripts/check-includes.py [SOURCE_DIR]
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def sources(root, top):
    for d, _, files in os.walk(os.path.join(root, top)):
        for f in files:
            if f.endswith(('.c', '.h')):
                yield os.path.relpath(os.path.join(d, f), root)


def includes(root, path):
    with open(os.path.join(root, path), encoding='utf-8', errors='replace') as f:
        return INCLUDE.findall(f.read())


def resolve(root, path, name, search):
    """The repository file a quoted include names, or None (generated or system)."""
    for d in [os.path.dirname(path)] + search:
        candidate = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(root, candidate)):
            return candidate
    return None


def cycles(graph):
    """Strongly connected components of more than one node (or a self loop)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), '..'))
    search = ['common', 'core', 'server', 'server/store', 'client']
    problems = []
    graph = {}
    for top in ('common', 'core', 'server', 'client', 'tools'):
        for path in sources(root, top):
            for kind, name in includes(root, path):
                target = resolve(root, path, name, search) if kind == '"' else None
                where = f'{path}: #include {kind}{name}{">" if kind == "<" else chr(34)}'
                if top in ('common', 'core'):
                    if kind == '<' and (name.startswith('uv') or name == 'lmdb.h' and top == 'common'):
                        problems.append(f'{where}: {top}/ must not depend on libuv'
                                        + (' or LMDB' if top == 'common' else ''))
                    if target and target.startswith(('server/', 'client/')):
                        allowed = top == 'core' and target == 'server/store/store.h'
                        if not allowed:
                            problems.append(f'{where}: {top}/ must not include {target}')
                if path.startswith('server/handlers/') and target and target.startswith('server/net/'):
                    problems.append(f'{where}: a handler must not include the network layer')
                if path.startswith('server/') and target and target.startswith('server/'):
                    a, b = os.path.splitext(path)[0], os.path.splitext(target)[0]
                    if a != b:
                        graph.setdefault(a, set()).add(b)
    for comp in cycles(graph):
        problems.append('a circle of includes: ' + ' -> '.join(comp + comp[:1]))
    for p in problems:
        print(p)
    if problems:
        print(f'check-includes: {len(problems)} problem(s)')
        return 1
    print('check-includes: the include structure keeps to docs/architecture.md')
    return 0


if __name__ == '__main__':
    sys.exit(main())
