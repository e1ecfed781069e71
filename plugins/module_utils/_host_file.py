# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""One small file on the managed host, read and replaced without following a link at its name.

Shared by secret_file and json_file. The parent directory is opened once (a link to a directory
there is followed, as any path lookup does) and every later step is relative to that descriptor
(dir_fd=): the file is looked at with lstat, opened with O_NOFOLLOW and checked again with fstat,
so a symbolic link or a special file at the file's own name is refused with an error naming the
path and is never read, written or changed. A new content is written to a temporary file created
in the same directory with O_EXCL and mode 0600, its owner and mode set on the descriptor, synced,
then renamed over the name, and the directory synced: a reader sees the old file or the new one,
never a part. Error messages name paths, never what a file holds.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import pwd
import secrets
import stat

MAX_BYTES = 16 * 1024 * 1024

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIR = os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC
_O_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _O_CLOEXEC
_O_TEMP = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _O_CLOEXEC


class HostFileError(Exception):
    pass


def kind(st):
    """What a stat result describes, in words."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _refuse(path, st):
    raise HostFileError("%s is %s, not a regular file; refusing to follow or replace it (remove it, and check how it "
                        "got there)" % (path, kind(st)))


def resolve_owner(owner, group):
    """(uid, gid) for a user and a group given by name or number; an unknown one fails naming it."""
    try:
        uid = int(owner) if str(owner).isdigit() else pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise HostFileError("owner: there is no user named %r on this host" % owner)
    try:
        gid = int(group) if str(group).isdigit() else grp.getgrnam(group).gr_gid
    except KeyError:
        raise HostFileError("group: there is no group named %r on this host" % group)
    return uid, gid


def parse_mode(value):
    """A file mode given as an octal string ("0644", "644") or as an integer (420, that is 0o644)."""
    if isinstance(value, bool):
        raise HostFileError("mode: %r is not a file mode; give an octal string such as \"0644\"" % (value,))
    if isinstance(value, int):
        mode = value
    else:
        text = str(value).strip()
        try:
            mode = int(text, 8)
        except ValueError:
            raise HostFileError("mode: %r is not an octal file mode such as \"0644\" (symbolic modes are not "
                                "supported)" % (value,))
    if not 0 <= mode <= 0o7777:
        raise HostFileError("mode: %r is outside 0000-7777" % (value,))
    return mode


def missing_dirs(directory):
    """The directories from the nearest existing ancestor down to `directory` that do not exist, outermost first."""
    missing = []
    current = directory
    while not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if os.path.lexists(current) and not os.path.isdir(current):
        raise HostFileError("%s is not a directory, so %s cannot be created under it" % (current, directory))
    return list(reversed(missing))


def make_dirs(dirs, mode, uid, gid):
    """Create each directory in `dirs` (outermost first) with this mode and owner; existing ones are left alone."""
    for directory in dirs:
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue  # made meanwhile by someone else: it is theirs, left as it is
        except OSError as e:
            raise HostFileError("cannot create the directory %s: %s" % (directory, e.strerror))
        fd = os.open(directory, _O_DIR | os.O_NOFOLLOW)
        try:
            st = os.fstat(fd)
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
        except OSError as e:
            raise HostFileError("cannot set the owner and mode of the new directory %s: %s" % (directory, e.strerror))
        finally:
            os.close(fd)


class HostFile:
    """A file at `path`; use as a context manager (it holds its directory open) once that directory exists."""

    def __init__(self, path):
        if not os.path.isabs(path):
            raise HostFileError("path: %r is not an absolute path" % path)
        self.path = os.path.normpath(path)
        self.directory, self.name = os.path.split(self.path)
        if not self.name or self.name in (".", ".."):
            raise HostFileError("path: %r names no file" % path)
        self.dir_fd = None

    def __enter__(self):
        try:
            self.dir_fd = os.open(self.directory, _O_DIR)
        except OSError as e:
            raise HostFileError("cannot open the directory %s: %s" % (self.directory, e.strerror))
        return self

    def __exit__(self, *exc):
        if self.dir_fd is not None:
            os.close(self.dir_fd)
            self.dir_fd = None

    def lstat(self):
        """The file's lstat result, or None when there is nothing at the name; a link or special file is refused."""
        try:
            st = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise HostFileError("cannot look at %s: %s" % (self.path, e.strerror))
        if not stat.S_ISREG(st.st_mode):
            _refuse(self.path, st)
        return st

    @contextlib.contextmanager
    def _open(self):
        try:
            fd = os.open(self.name, _O_READ, dir_fd=self.dir_fd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise HostFileError("%s is a symbolic link; refusing to follow it (remove it, and check how it got "
                                    "there)" % self.path)
            raise HostFileError("cannot open %s: %s" % (self.path, e.strerror))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                _refuse(self.path, st)
            yield fd, st
        finally:
            os.close(fd)

    def read(self, limit=MAX_BYTES):
        """(bytes, stat) of the file, or (None, None) when it does not exist."""
        if self.lstat() is None:
            return None, None
        with self._open() as (fd, st):
            if st.st_size > limit:
                raise HostFileError("%s is %d bytes, more than the %d this module reads" % (self.path, st.st_size, limit))
            chunks = []
            total = 0
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise HostFileError("%s is more than the %d bytes this module reads" % (self.path, limit))
                chunks.append(chunk)
            return b"".join(chunks), st

    def fix_attributes(self, mode, uid, gid):
        """Set mode and owner of the existing file through its descriptor; True when anything changed."""
        with self._open() as (fd, st):
            changed = False
            try:
                if (st.st_uid, st.st_gid) != (uid, gid):
                    os.fchown(fd, uid, gid)
                    changed = True
                if stat.S_IMODE(st.st_mode) != mode:
                    os.fchmod(fd, mode)
                    changed = True
            except OSError as e:
                raise HostFileError("cannot set the owner and mode of %s: %s" % (self.path, e.strerror))
            return changed

    def write(self, data, mode, uid, gid):
        """Replace the file with `data` atomically: temp file (O_EXCL, 0600) in the same directory, owner and mode
        set on its descriptor, fsync, rename over the name, fsync of the directory."""
        existing = self.lstat()  # refuses a link or special file before anything is written
        if existing is not None:
            with self._open():
                pass  # the same check through O_NOFOLLOW and fstat
        temp = None
        fd = None
        try:
            for dummy in range(100):
                candidate = ".%s.%s.tmp" % (self.name, secrets.token_hex(6))
                try:
                    fd = os.open(candidate, _O_TEMP, 0o600, dir_fd=self.dir_fd)
                except FileExistsError:
                    continue
                temp = candidate
                break
            if temp is None:
                raise HostFileError("cannot create a temporary file in %s" % self.directory)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            os.fsync(fd)
            os.close(fd)
            fd = None
            os.rename(temp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
            temp = None
            os.fsync(self.dir_fd)
        except OSError as e:
            raise HostFileError("cannot write %s: %s" % (self.path, e.strerror))
        finally:
            if fd is not None:
                os.close(fd)
            if temp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=self.dir_fd)


def keep_content(path, new, mode, owner, group, create_parent, check_mode, dir_mode=0o755):
    """Make the regular file at `path` hold the bytes `new` with this mode and owner, writing only what differs.

    `new` may also be a function of the file's bytes (None when it does not exist) returning the bytes to keep, for
    content worked out from what the file holds; the file is read once. Returns (changed, created, before): `before`
    is the file's bytes, None when it did not exist. In check mode nothing is written. A missing parent directory
    is created (dir_mode, this owner) when `create_parent` is set."""
    mode = parse_mode(mode)
    uid, gid = resolve_owner(owner, group)
    target = HostFile(path)
    dirs = missing_dirs(target.directory)
    if dirs and not create_parent:
        raise HostFileError("the directory %s does not exist, and create_parent is false" % dirs[-1])
    before = st = None
    if not dirs:
        with target:
            before, st = target.read()
    if callable(new):
        new = new(before)
    content_changed = before != new
    attributes_changed = st is not None and (stat.S_IMODE(st.st_mode) != mode or (st.st_uid, st.st_gid) != (uid, gid))
    changed = content_changed or attributes_changed
    if changed and not check_mode:
        make_dirs(dirs, dir_mode, uid, gid)
        with target:
            if content_changed:
                target.write(new, mode, uid, gid)
            else:
                target.fix_attributes(mode, uid, gid)
    return changed, before is None, before


# Who owns what a module writes on the host; documented by the llmops.ollama.host_file fragment.
OWNER_ARGS = {
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str", "default": "root"},
}

# The argument spec of the modules that keep a whole file's text (json_file, text_file); the documentation is the
# llmops.ollama.host_file and llmops.ollama.host_file.writer fragments.
WRITER_ARGS = dict(
    OWNER_ARGS,
    path={"type": "path", "required": True},
    mode={"type": "raw", "default": "0644"},
    create_parent={"type": "bool", "default": True},
)
