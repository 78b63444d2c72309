#!/usr/bin/env python3
"""tidycache_test.py SRC_DIR - tidycache.py skips a file only when its input
is the one that passed: a key changes with a comment in the file or in a
header it includes, with a flag, with .clang-tidy; it does not change with
the folder the tree is in. Needs clang (exit 77 without it)."""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile


def plan(tool, tree, passed):
    r = subprocess.run([sys.executable, tool, 'plan', os.path.join(tree, 'cc'), tree, passed],
                       capture_output=True, text=True, check=True, env=dict(os.environ, TIDY='true'))
    with open(os.path.join(tree, 'cc', 'keys')) as f:
        keys = dict(ln.rstrip('\n').split(' ', 1)[::-1] for ln in f)
    return r.stdout.splitlines(), {os.path.relpath(p, tree): k for p, k in keys.items()}


def make_tree(root, flag='-O2'):
    os.makedirs(os.path.join(root, 'b'))
    os.makedirs(os.path.join(root, 'cc'))
    with open(os.path.join(root, 'a.h'), 'w') as f:
        f.write('/* a header */\nint a(void);\n')
    for name in ('x.c', 'y.c'):
        with open(os.path.join(root, name), 'w') as f:
            f.write('#include "a.h"\n' if name == 'x.c' else '')
            f.write('int %s(void) { return 1; }\n' % name[0])
    with open(os.path.join(root, '.clang-tidy'), 'w') as f:
        f.write('Checks: -*,bugprone-*\n')
    # x.c named by its absolute path (its preprocessed text then holds the
    # folder), y.c by a relative one, as meson does
    db = [{'directory': os.path.join(root, 'b'), 'file': p,
           'command': 'cc %s %s -o %s.o -c %s' % (shlex.quote('-I' + root), flag, n, shlex.quote(p))}
          for n, p in (('x.c', os.path.join(root, 'x.c')), ('y.c', '../y.c'))]
    with open(os.path.join(root, 'cc', 'compile_commands.json'), 'w') as f:
        json.dump(db, f)


def main():
    tool = os.path.join(sys.argv[1], 'tests', 'lint', 'tidycache.py')
    if shutil.which('clang') is None:
        print('clang is not installed: skipped')
        sys.exit(77)
    fails = []

    def expect(what, got, want):
        if got != want:
            fails.append('%s: %r, expected %r' % (what, got, want))

    with tempfile.TemporaryDirectory() as tmp:
        t1, t2 = os.path.join(tmp, 'a tree'), os.path.join(tmp, 'other tree')
        make_tree(t1)
        make_tree(t2)
        passed = os.path.join(tmp, 'passed')
        todo, k1 = plan(tool, t1, passed)
        expect('no list: files to analyse', len(todo), 2)
        expect('keys', sorted(k1), ['x.c', 'y.c'])
        subprocess.run([sys.executable, tool, 'save', os.path.join(t1, 'cc'), t1,
                        os.path.join(tmp, 'nofailed'), passed], check=True)
        todo, _ = plan(tool, t1, passed)
        expect('every file passed: files to analyse', todo, [])
        todo, k2 = plan(tool, t2, passed)
        expect('the same tree in another folder: keys', k2, k1)
        expect('the same tree in another folder: files to analyse', todo, [])
        with open(os.path.join(t2, 'a.h'), 'a') as f:
            f.write('/* NOLINT */\n')
        todo, _ = plan(tool, t2, passed)
        expect('a comment in a header: files to analyse',
               [os.path.basename(p) for p in todo], ['x.c'])
        with open(os.path.join(t2, '.clang-tidy'), 'a') as f:
            f.write('# changed\n')
        todo, _ = plan(tool, t2, passed)
        expect('.clang-tidy changed: files to analyse', len(todo), 2)
        t3 = os.path.join(tmp, 'three')
        make_tree(t3, flag='-O0')
        todo, _ = plan(tool, t3, passed)
        expect('another flag: files to analyse', len(todo), 2)
        r = subprocess.run([sys.executable, tool, 'save', os.path.join(t1, 'cc'), t1,
                            os.path.join(tmp, 'failed'), passed], check=False)
        with open(os.path.join(tmp, 'failed'), 'w') as f:
            f.write(os.path.join(t1, 'y.c') + '\n')
        subprocess.run([sys.executable, tool, 'save', os.path.join(t1, 'cc'), t1,
                        os.path.join(tmp, 'failed'), passed], check=True)
        with open(passed) as f:
            names = [ln.split()[1] for ln in f if not ln.startswith('#')]
        expect('a file with findings: listed', names, ['x.c'])
        expect('save without a failed file: status', r.returncode, 0)
    for f in fails:
        print('FAIL', f)
    if fails:
        sys.exit(1)
    print('tidycache: keys follow the input, not the folder')


if __name__ == '__main__':
    main()
