#!/usr/bin/env python3
"""tmpdirs.py - every shell script of the tree (./dev, .ci/run, the test
scripts) stops when mktemp fails.

A script that goes on after `dir=$(mktemp -d)` failed (a TMPDIR that does
not exist, a full /tmp) has an empty name for its directory: "$dir/x" is
"/x". Under a TMPDIR that did not exist, as root, five scripts of suite
cli wrote 118 files (570 MB) into / and left them there, dev.sh copied
./dev to /dev/dev, and install.sh would run `meson install --destdir ''`,
which installs into /usr/local. So a line
that assigns $(mktemp ...) must say what to do when it fails (`|| exit
1`, `|| fail ...`), unless its script runs under `set -e`.

Fails (exit 1) naming each such line. Usage: tmpdirs.py SRCDIR
"""
import os
import re
import sys

ASSIGN = re.compile(r'^\s*(?:local\s+)?[A-Za-z_][A-Za-z_0-9]*=\$\(mktemp\b')
SET_E = re.compile(r'^set\s+-[a-z]*e', re.M)


def scripts(root):
    for name in ('dev', os.path.join('.ci', 'run')):
        yield os.path.join(root, name)
    for dirpath, _, files in os.walk(os.path.join(root, 'tests')):
        for f in sorted(files):
            if f.endswith('.sh'):
                yield os.path.join(dirpath, f)


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: tmpdirs.py SRCDIR')
    root = sys.argv[1]
    bad = 0
    for path in scripts(root):
        try:
            with open(path, encoding='utf-8') as f:
                text = f.read()
        except OSError as e:
            print(f'tmpdirs.py: cannot read {path}: {e.strerror}')
            bad += 1
            continue
        if SET_E.search(text):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if ASSIGN.match(line) and '||' not in line:
                print(f'{os.path.relpath(path, root)}:{n}: a failed mktemp goes on with an '
                      f'empty directory name (add "|| exit 1"): {line.strip()}')
                bad += 1
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
