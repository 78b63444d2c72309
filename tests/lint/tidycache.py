#!/usr/bin/env python3
"""tidycache.py - which files clang-tidy need not analyse again.

clang-tidy's result for a file is a function of what it reads: the file as
preprocessed (every header included, comments kept, since NOLINT comments
change the result), the compile command, .clang-tidy and clang-tidy
itself. A file's key is the SHA-256 of all of these (the source and build
directories' absolute paths written as @SRC@ and @BUILD@, so that a clone
in another folder has the same keys). tests/lint/clang-tidy.passed lists
the keys of inputs that were analysed with zero findings; a file whose
key is listed would give zero findings again, and is not analysed.

  tidycache.py plan CCDB_DIR SRC_DIR PASSED_FILE
      prints the files to analyse, one a line (those whose key is not in
      PASSED_FILE, or every file if SHMSTAT_TIDY_CACHE=0), and writes
      CCDB_DIR/keys ("key file" a line, every file).
  tidycache.py save CCDB_DIR SRC_DIR FAILED_FILE OUT_FILE
      writes to OUT_FILE the keys of every file that is not listed in
      FAILED_FILE: the list to commit as tests/lint/clang-tidy.passed.

A file whose key cannot be computed (clang missing, the preprocessor
failing) is analysed, and its key is not saved.
"""
import hashlib
import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

SCHEME = b'shmstat tidycache 1\n'


def tool_version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def preprocess_args(entry):
    """The compile command turned into clang's preprocessing to stdout."""
    args = shlex.split(entry['command'])
    out = ['clang']
    i = 1
    while i < len(args):
        a = args[i]
        if a in ('-MQ', '-MF', '-MT', '-o'):
            i += 2
            continue
        if a in ('-MD', '-MMD', '-c'):
            i += 1
            continue
        out.append(a)
        i += 1
    return out + ['-E', '-C', '-o', '-']


def key_of(entry, common, src, build):
    try:
        pp = subprocess.run(preprocess_args(entry), cwd=entry['directory'],
                            capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    h = hashlib.sha256(common)
    for text in (entry['command'].encode(), pp):
        text = text.replace(build, b'@BUILD@').replace(src, b'@SRC@')
        h.update(b'\0%d\0' % len(text))
        h.update(text)
    return h.hexdigest()


def rel(path, src):
    return os.path.relpath(path, src)


def plan(ccdb, src, passed):
    with open(os.path.join(ccdb, 'compile_commands.json')) as f:
        db = json.load(f)
    tidy = tool_version([os.environ.get('TIDY', 'clang-tidy'), '--version'])
    clang = tool_version(['clang', '--version'])
    with open(os.path.join(src, '.clang-tidy'), 'rb') as f:
        config = f.read()
    srcb = os.path.realpath(src).encode()
    keys = {}
    if tidy is not None and clang is not None:
        common = SCHEME + tidy + clang + config
        builds = {os.path.realpath(e['directory']).encode() for e in db}
        build = builds.pop() if len(builds) == 1 else b'\0'

        def one(e):
            return os.path.realpath(os.path.join(e['directory'], e['file'])), \
                key_of(e, common, srcb, build)

        with ThreadPoolExecutor(max_workers=int(os.environ.get('LINT_JOBS', '2'))) as ex:
            for path, k in ex.map(one, db):
                # a file compiled by two targets: the key of both commands
                if path in keys:
                    k = None if k is None or keys[path] is None else \
                        hashlib.sha256(''.join(sorted((k, keys[path]))).encode()).hexdigest()
                keys[path] = k
    known = set()
    if os.environ.get('SHMSTAT_TIDY_CACHE', '1') != '0' and os.path.exists(passed):
        with open(passed) as f:
            known = {ln.split()[0] for ln in f if ln.strip() and not ln.startswith('#')}
    with open(os.path.join(ccdb, 'keys'), 'w') as f:
        for path, k in sorted(keys.items()):
            if k is not None:
                f.write('%s %s\n' % (k, path))
    todo = []
    for e in db:
        path = os.path.realpath(os.path.join(e['directory'], e['file']))
        if keys.get(path) is None or keys[path] not in known:
            todo.append(path)
    for path in sorted(set(todo)):
        print(path)
    print('tidycache: %d of %d files to analyse (%d known to pass)'
          % (len(set(todo)), len(db), len(db) - len(set(todo))), file=sys.stderr)


def save(ccdb, src, failed, out):
    bad = set()
    if os.path.exists(failed):
        with open(failed) as f:
            bad = {os.path.realpath(ln.strip()) for ln in f if ln.strip()}
    lines = []
    with open(os.path.join(ccdb, 'keys')) as f:
        for ln in f:
            k, path = ln.split(' ', 1)
            path = path.strip()
            if path not in bad:
                lines.append('%s %s\n' % (k, rel(path, os.path.realpath(src))))
    with open(out, 'w') as f:
        f.write('# clang-tidy: inputs analysed with zero findings (tests/lint/tidycache.py)\n')
        f.writelines(sorted(lines, key=lambda s: s.split(' ', 1)[1]))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == 'plan':
        plan(*sys.argv[2:])
    elif len(sys.argv) == 6 and sys.argv[1] == 'save':
        save(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
