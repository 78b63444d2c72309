#!/usr/bin/env python3
"""layers.py - the architecture of libshm, checked from #include lines
(issue 18; docs/architecture.md draws the same layers).

A module is a .c/.h pair (libshm/tls.c + libshm/tls.h is module "tls"; a
private header NAME_int.h belongs to module NAME); module A depends on B
when a file of A includes B's header. Fails (exit 1), naming what is
wrong, when
  - the module graph has a cycle (a strongly connected component of more
    than one module);
  - a core module includes a header of a metric type (the core reaches
    the types only through type.h, and types.c names them all);
  - a source file in libshm/ or tools/ is longer than 1,000 lines
    without saying why at its top ("longer than 1,000 lines:" in its
    first 30 lines);
  - a .c file in libshm/ or tools/ is not named in
    docs/architecture.md (by its name without .c, as the page names
    them), so that the page stays a map of every file.
Prints the graph with --print. Usage: layers.py SRCDIR [--print]
"""
import os
import re
import sys

# the core: segment, process table, thread stripes, registry, fold and
# reaper, reader and snapshot, and what they share
CORE = {'attach', 'copier', 'grace', 'hook', 'layout', 'mdir', 'procs', 'rcuuse', 'reader',
        'reaplock', 'registry', 'segment', 'snap', 'snapshot', 'sparse', 'tls', 'type', 'util', 'version'}
# the metric types and the profile tables, plugged in by types.c
TYPES = {'counter', 'gaugesnap', 'histogram', 'hsparse', 'siggeo', 'sigmerge', 'sigsnap', 'sigtable', 'sigowner',
         'cfi', 'cfifile', 'cfitab', 'modmap', 'profile', 'profiler', 'rangeix', 'stacks',
         'unwind'}
MAX_LINES = 1000


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
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
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
            if len(comp) > 1:
                out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def long_files(root):
    bad = []
    for top in ('libshm', 'tools'):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith(('.c', '.h')):
                    continue
                path = os.path.join(dirpath, f)
                with open(path, encoding='utf-8') as fh:
                    lines = fh.read().split('\n')
                n = len(lines) - (1 if lines and lines[-1] == '' else 0)
                if n > MAX_LINES and not any('longer than 1,000 lines:' in l
                                             for l in lines[:30]):
                    bad.append((os.path.relpath(path, root), n))
    return bad


def unmapped_files(root):
    doc = os.path.join(root, 'docs', 'architecture.md')
    if not os.path.exists(doc):
        return ['docs/architecture.md']
    with open(doc, encoding='utf-8') as fh:
        words = set(re.findall(r'[A-Za-z0-9_]+', fh.read()))
    bad = []
    for top in ('libshm', 'tools'):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if f.endswith('.c') and f[:-2] not in words:
                    bad.append(os.path.relpath(os.path.join(dirpath, f), root))
    return bad


def main():
    if len(sys.argv) < 2:
        print('usage: layers.py SRCDIR [--print]', file=sys.stderr)
        return 2
    root = sys.argv[1]
    mods = modules(root)
    g = graph(mods)
    errors = []
    if '--print' in sys.argv[2:]:
        for m in sorted(g):
            print('%-10s -> %s' % (m, ' '.join(sorted(g[m])) or '-'))
    for c in sccs(g):
        errors.append('include cycle among modules: ' + ' '.join(c))
    for m in sorted(CORE & set(g)):
        for dep in sorted(g[m] & TYPES):
            errors.append('core module %s includes %s.h, a type\'s header '
                          '(reach types through type.h)' % (m, dep))
    for m in sorted(set(g) - CORE - TYPES - {'types'}):
        # the history files and window.c sit above the types
        if not any('/history/' in p for p in mods[m]):
            errors.append('module %s is in no layer: add it to CORE or TYPES '
                          'in tests/checks/layers.py and to docs/architecture.md' % m)
    for path, n in long_files(root):
        errors.append('%s has %d lines (over %d) and does not say why at its top'
                      % (path, n, MAX_LINES))
    for path in unmapped_files(root):
        errors.append('%s is not named in docs/architecture.md (say there '
                      'what it holds)' % path)
    for e in errors:
        print('layers: ' + e, file=sys.stderr)
    if not errors:
        print('layers: %d modules, no cycle, the core includes no type, '
              'no file over %d lines, every file on the map' % (len(g), MAX_LINES))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
