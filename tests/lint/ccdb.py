#!/usr/bin/env python3
"""ccdb.py BUILD_DIR OUT_DIR [--no-system-includes] - the part of BUILD_DIR's
compile_commands.json that the lint tests check, in OUT_DIR.

Kept: the library as it is shipped (the objects of libshmstat, built once
for the shared and the static library) and the tools. Left out: the same
library files compiled again with sanitizers for the tests, the tests, the
benchmarks. --no-system-includes drops -I/usr/... (for cppcheck, which is
given the standard and POSIX functions by its --library files rather than by
the system headers). Prints the source files kept, one a line, absolute.
"""
import json
import os
import re
import sys

# meson's object directories of the targets checked
KEEP = ('libshm/libshmstat_objs.a.p/', 'tools/shmstat.p/',
        'tools/shmstat-demo.p/', 'tools/shmstat-cachesim.p/')


def main():
    build, out = sys.argv[1], sys.argv[2]
    nosys = '--no-system-includes' in sys.argv[3:]
    with open(os.path.join(build, 'compile_commands.json')) as f:
        db = json.load(f)
    kept = []
    for e in db:
        if not e.get('output', '').startswith(KEEP):
            continue
        cmd = e['command'].replace(' -fdiagnostics-color=always', '')
        if nosys:
            cmd = re.sub(r' -I/usr/\S+', '', cmd)
        e = dict(e, command=cmd)
        kept.append(e)
    if not kept:
        sys.exit('ccdb.py: no library or tool sources in %s/compile_commands.json' % build)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'compile_commands.json'), 'w') as f:
        json.dump(kept, f, indent=1)
    files = sorted({os.path.normpath(os.path.join(e['directory'], e['file'])) for e in kept})
    print('\n'.join(files))


main()
