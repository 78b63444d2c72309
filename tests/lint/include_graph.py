#!/usr/bin/env python3
"""include_graph.py - the module graph of libshm from #include lines.

A module is a .c/.h pair (libshm/counter.c + libshm/counter.h is module
"counter"; a private header NAME_int.h belongs to module NAME); module A
depends on B when a file of A includes B's header.
Prints the edges and every cycle (strongly connected component of more
than one module). Exit 0 when there is no cycle, 1 otherwise.

Not a test yet (issue 18): the core still has cycles; this is the
measuring stick for removing them. Usage: include_graph.py [SRCDIR]
"""
import os
import re
import sys

def modules(root):
    mods = {}
    for dirpath, _, files in os.walk(os.path.join(root, 'libshm')):
        if os.sep + 'include' in dirpath:
            continue
        for f in files:
            if f.endswith(('.c', '.h')):
                name = f[:-2]
                if name.endswith('_int'):
                    name = name[:-4]
                mods.setdefault(name, []).append(os.path.join(dirpath, f))
    return mods

def graph(mods):
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"', re.M)
    g = {m: set() for m in mods}
    for m, files in mods.items():
        for path in files:
            with open(path, encoding='utf-8') as fh:
                for dep in inc.findall(fh.read()):
                    dep = os.path.basename(dep)
                    if dep.endswith('_int'):
                        dep = dep[:-4]
                    if dep != m and dep in g:
                        g[m].add(dep)
    return g

def sccs(g):
    index, low, stack, on, out = {}, {}, [], set(), []
    n = [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1
        stack.append(v); on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out

def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    g = graph(modules(root))
    for m in sorted(g):
        print('%-10s -> %s' % (m, ' '.join(sorted(g[m])) or '-'))
    cyc = sccs(g)
    for c in cyc:
        print('cycle: ' + ' '.join(c))
    return 1 if cyc else 0

if __name__ == '__main__':
    sys.exit(main())
