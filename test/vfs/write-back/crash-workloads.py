# Workloads of the crash-consistency suite (crash-consistency.test.ts), run
# against a real mount: python3 crash-workloads.py <folder in the mount> <name>.
# Each step that publishes a version of a file says so on stdout, one JSON
# object per line, before and after the call that makes it durable:
#   {"file": "f.bin", "closing": "v2"}   ... close(2) / rename(2) ...
#   {"file": "f.bin", "closed": "v2"}
# A version is named by its content (VERSIONS below), so the test can tell
# which one the server holds. The process the mount serves may die at any
# point (the suite kills it at a crash point); a call then fails with
# ENOTCONN and this script stops with an error, which is expected.
import json
import os
import sys

MiB = 1024 * 1024
CHUNK = 128 * 1024


def version(name):
    """The bytes of a version: a 1-3 MiB pattern that names it."""
    sizes = {'v1': 3 * MiB, 'v2': 1 * MiB, 'v3': 2 * MiB}
    base = name.encode() * (CHUNK // len(name))
    return (base * (sizes[name] // len(base) + 1))[:sizes[name]]


def say(**fields):
    print(json.dumps(fields), flush=True)


def write_all(fd, data, offset=None):
    for at in range(0, len(data), CHUNK):
        part = data[at:at + CHUNK]
        if offset is None:
            os.write(fd, part)
        else:
            os.pwrite(fd, part, offset + at)


def close(fd, file, v):
    say(file=file, closing=v)
    os.close(fd)
    say(file=file, closed=v)


def create(dir, file, v):
    fd = os.open(os.path.join(dir, file), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    write_all(fd, version(v))
    close(fd, file, v)


def new_file(dir):
    create(dir, 'f.bin', 'v1')


def in_place(dir):
    # v2 = v1 with 1 MiB of "v2" written at 1 MiB: a change below the closed size.
    create(dir, 'f.bin', 'v1')
    fd = os.open(os.path.join(dir, 'f.bin'), os.O_RDWR)
    write_all(fd, version('v2'), offset=MiB)
    close(fd, 'f.bin', 'v1+v2@1M')


def truncated(dir):
    create(dir, 'f.bin', 'v1')
    create(dir, 'f.bin', 'v2')


def appended(dir):
    create(dir, 'f.bin', 'v1')
    fd = os.open(os.path.join(dir, 'f.bin'), os.O_WRONLY | os.O_APPEND)
    write_all(fd, version('v2'))
    close(fd, 'f.bin', 'v1+v2')


def editor_save(dir):
    # Write a temporary file, then rename it over the original (vim, sed -i, most editors).
    create(dir, 'f.bin', 'v1')
    create(dir, 'f.bin.tmp', 'v2')
    say(file='f.bin', closing='v2', moved_from='f.bin.tmp')
    os.rename(os.path.join(dir, 'f.bin.tmp'), os.path.join(dir, 'f.bin'))
    say(file='f.bin', closed='v2', moved_from='f.bin.tmp')


def fsync_then_change(dir):
    # fsync makes v1 durable on the server while the file stays open; then a change nobody closes.
    fd = os.open(os.path.join(dir, 'f.bin'), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    write_all(fd, version('v1'))
    say(file='f.bin', closing='v1')
    os.fsync(fd)
    say(file='f.bin', closed='v1')
    write_all(fd, version('v3'), offset=0)
    close(fd, 'f.bin', 'v3+v1')


def disk_full(dir):
    # The cache disk (a 4 MiB tmpfs) fills while v1 is reopened and grown: the close fails.
    create(dir, 'f.bin', 'v2')
    fd = os.open(os.path.join(dir, 'f.bin'), os.O_RDWR)
    try:
        for _ in range(64):
            write_all(fd, version('v1'), offset=0)
            os.lseek(fd, 0, os.SEEK_END)
            write_all(fd, version('v1'))
    except OSError as err:
        say(write_error=err.strerror)
    try:
        os.close(fd)
    except OSError as err:
        say(close_error=err.strerror)


WORKLOADS = {
    'new-file': new_file,
    'in-place': in_place,
    'truncated': truncated,
    'appended': appended,
    'editor-save': editor_save,
    'fsync-then-change': fsync_then_change,
    'disk-full': disk_full,
}

if __name__ == '__main__':
    WORKLOADS[sys.argv[2]](sys.argv[1])
    say(done=True)
