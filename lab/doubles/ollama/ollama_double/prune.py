"""What `ollama serve` does to the models directory before it listens, version by version.

Read in github.com/ollama/ollama (tags v0.17.1 = 9bf41969f, v0.18.0, v0.21.0, v0.33.0-rc2):

- Order: RunServer binds the port first (cmd/cmd.go:1751 net.Listen, then 1756 server.Serve),
  so the port is open, but unanswered, while Serve() prunes; "Listening on" is logged after.
- Serve() (server/routes.go:1667-1693 at v0.17.1, 1731-1758 at v0.18.0, 1756-1783 at v0.21.0):
  1. `manifest.BlobsPath("")` creates `<models>/blobs` (MkdirAll 0755, manifest/paths.go:40-61),
     always, OLLAMA_NOPRUNE or not.
  2. `fixBlobs` (server/fixblobs.go:11-26) walks blobs/ (filepath.Walk: lexical order, links
     not followed) and renames every `sha256:<x>` to `sha256-<x>`; any walk or rename error
     makes Serve fail.
  3. Unless `envconfig.NoPrune()`: `manifest.Manifests(false)` (manifest/manifest.go:175-227).
     If it returns an error, Serve logs WARN "corrupt manifests detected, skipping prune
     operation.  Re-pull or delete to clear" (routes.go:1677) and prunes NOTHING: no partial,
     no unused blob, no empty directory. The bad manifest is not deleted either.
  4. Otherwise `PruneLayers()` (server/images.go:441-483), then `manifest.Path()` (which
     creates `<models>/manifests`) and `manifest.PruneDirectory` on it (paths.go:63-95): empty
     directories are removed depth first, `manifests` itself too when nothing is left in it;
     symlinks are not followed. An error there makes Serve fail.
- Manifests(continueOnError) (manifest.go:175-227): `filepath.Glob(manifests/*/*/*/*)` (Go's `*`
  matches dot files too; directories that cannot be read are skipped silently). Per match:
  os.Stat error (a dangling link) is returned even with continueOnError; directories are skipped;
  a path whose four parts do not form a valid name (types/model/name.go:182-197, 268-281,
  333-372) is an error `"<rel> %!w(<nil>)"` (a nil %w); `ParseNamedManifest` (manifest.go:
  112-146) decodes the first JSON value with json.Decoder (bytes after it are ignored; a type
  mismatch such as `"layers": "x"` is an error) and an error there is `"<name> <err>"`. With
  continueOnError those two are logged (WARN "bad manifest name" manifest.go:209, "bad manifest"
  manifest.go:218) and skipped.
- PruneLayers (images.go:441-483 at v0.17.1; 445-487 at v0.18.0, identical code): os.ReadDir(blobs)
  (sorted); each name with "-" replaced by ":" must match `^sha256[:-][0-9a-fA-F]{64}$`
  (paths.go:42); one that does not (`sha256-<hex>-partial`, `-partial-0`, any other name,
  directories included) is os.Remove'd at once, failures logged ERROR "couldn't remove blob"
  (images.go:463). The rest go into deleteMap; INFO "total blobs: N" (images.go:473).
  deleteUnusedLayers (images.go:410-439) enumerates Manifests(true) again and drops from
  deleteMap every layer digest and the config digest, compared as exact strings, then removes
  what is left (INFO "couldn't remove file ..." on failure, images.go:433); INFO "total unused
  blobs removed: N" (images.go:480) counts what it tried to remove. No line names a deleted file.
- Grace period: commit 2bb7ea00d "create: avoid gc race with create (#15628)" added
  `const layerPruneGracePeriod = time.Hour` (images.go:39 at v0.21.0). First tags containing it:
  v0.21.0-rc1 and v0.21.0 (`git tag --contains`; v0.20.8-rc0 and earlier do not have it).
  From then on PruneLayers (images.go:486-498 at v0.21.0) skips directories entirely, and skips
  every entry whose own (lstat) mtime is less than an hour ago (`time.Since(ModTime) < 1h`),
  BEFORE the name check: fresh `-partial` files survive as well as fresh unreferenced blobs.
  Unchanged up to v0.33.0-rc2 (images.go:874-929).
- OLLAMA_NOPRUNE (envconfig/config.go:199, Bool -> BoolWithDefault 154-167, Var 340-342):
  spaces then quotes trimmed; empty means false; otherwise strconv.ParseBool, and a value it
  cannot parse means TRUE ("yes", "on", "no" all disable pruning); only 0 f F false FALSE False
  enable it.
- Logs go through slog's text handler with `source=<file>:<line>` (logutil/logutil.go:14-31).
"""

import datetime
import errno
import json
import os
import re
import stat
import sys
import time

from . import manifestjson, names

DIGEST = re.compile(r"sha256[:-][0-9a-fA-F]{64}")
GRACE_NS = 3600 * 10**9
GRACE_SINCE = (0, 21, 0, 0, 1)  # v0.21.0-rc1: the first tag with layerPruneGracePeriod

# Source lines of the log calls: exact at 0.17.1, 0.18.0, 0.21.0, 0.31.2, 0.32.15 and 0.33.0-rc2 (PruneLayers,
# deleteUnusedLayers and Serve's prune are the same code at 0.31.2, 0.32.15 and 0.33.0-rc2); a version in between takes
# the row of the nearest lower one (older: the oldest row). The lab publishes 0.32.15 and 0.40.2; 0.40.2 takes the
# 0.33.0-rc2 row, not read in its source (the copy of Ollama's source used here ends at v0.33.0-rc2).
_LINES = (
    ((0, 17, 1), {"corrupt": "routes.go:1677", "read_dir": "images.go:450",
                  "remove_blob": "images.go:463", "total": "images.go:473",
                  "unused": "images.go:476", "remove_file": "images.go:433",
                  "removed": "images.go:480"}),
    ((0, 18, 0), {"corrupt": "routes.go:1741", "read_dir": "images.go:454",
                  "remove_blob": "images.go:467", "total": "images.go:477",
                  "unused": "images.go:480", "remove_file": "images.go:437",
                  "removed": "images.go:484"}),
    ((0, 21, 0), {"corrupt": "routes.go:1766", "read_dir": "images.go:481", "stat": "images.go:492",
                  "remove_blob": "images.go:507", "total": "images.go:517",
                  "unused": "images.go:520", "remove_file": "images.go:464",
                  "removed": "images.go:524"}),
    ((0, 31, 2), {"corrupt": "routes.go:1961", "read_dir": "images.go:847", "stat": "images.go:858",
                  "remove_blob": "images.go:873", "total": "images.go:883",
                  "unused": "images.go:886", "remove_file": "images.go:830",
                  "removed": "images.go:890"}),
    ((0, 32, 15), {"corrupt": "routes.go:1965", "read_dir": "images.go:883", "stat": "images.go:894",
                   "remove_blob": "images.go:909", "total": "images.go:919",
                   "unused": "images.go:922", "remove_file": "images.go:866",
                   "removed": "images.go:926"}),
    ((0, 33, 0), {"corrupt": "routes.go:1965", "read_dir": "images.go:883", "stat": "images.go:894",
                  "remove_blob": "images.go:909", "total": "images.go:919",
                  "unused": "images.go:922", "remove_file": "images.go:866",
                  "removed": "images.go:926"}),
)


class StartFailed(Exception):
    """Serve() returned this error: the real binary prints `Error: <it>` and exits 1."""


class _Failed(Exception):
    """An error value inside the Go code (its text is what Go's err.Error() would say)."""


# --- versions ----------------------------------------------------------------------------------

def version_key(text):
    """'0.21.0-rc1' -> (0, 21, 0, 0, 1); '0.21.0' -> (0, 21, 0, 1, 0); None when unparseable."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)(?:-rc(\d+))?", text or "")
    if not match:
        return None
    major, minor, patch, rc = match.groups()
    release = (1, 0) if rc is None else (0, int(rc))
    return (int(major), int(minor), int(patch)) + release


def has_grace(version):
    """True from v0.21.0-rc1 on; 0.0.0 (a source build) and unknown strings count as today's main."""
    key = version_key(version)
    if key is None or key[:3] == (0, 0, 0):
        return True
    return key >= GRACE_SINCE


def _lines(version):
    key = version_key(version)
    if key is None or key[:3] == (0, 0, 0):
        return _LINES[-1][1]
    chosen = _LINES[0][1]
    for since, lines in _LINES:
        if key[:3] >= since:
            chosen = lines
    return chosen


# --- Go-shaped logging and errors ----------------------------------------------------------------

def _quote(value):
    """slog's text handler: quote when empty, or with space, '=', '"' or a control character."""
    text = str(value)
    if text and not any(c in ' ="' or not c.isprintable() for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


def slog(level, source, msg, *attrs, out=None):
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="milliseconds")
    stamp = stamp[:-6] + "Z" if stamp.endswith("+00:00") else stamp
    fields = [f"time={stamp}", f"level={level}", f"source={source}", f"msg={_quote(msg)}"]
    fields += [f"{key}={_quote(value)}" for key, value in attrs]
    print(" ".join(fields), file=out or sys.stderr, flush=True)


def _errno_text(err):
    text = os.strerror(err.errno) if err.errno else str(err)
    return text[:1].lower() + text[1:]


def _path_error(op, path, err):
    return f"{op} {path}: {_errno_text(err)}"


def _go_remove(path):
    """os.Remove: unlink, then rmdir; reports rmdir's error unless that was ENOTDIR."""
    try:
        os.unlink(path)
        return
    except OSError as err:
        first = err
    try:
        os.rmdir(path)
    except OSError as err:
        raise _Failed(_path_error("remove", path, first if err.errno == errno.ENOTDIR else err))


def _mkdir_all(path):
    try:
        os.makedirs(path, mode=0o755, exist_ok=True)
    except OSError as err:
        raise _Failed(f"{_path_error('mkdir', err.filename or path, err)}: "
                      "ensure path elements are traversable")
    return path


# --- manifests, as manifest.Manifests reads them ---------------------------------------------------

def decode_manifest(raw):
    """The digests a manifest file references (layers, then config), or _Failed with Go's text."""
    try:
        manifest = manifestjson.decode(raw)
    except manifestjson.ManifestError as err:
        raise _Failed(str(err)) from None
    digests = [layer.get("digest") or "" for layer in manifest.get("layers") or []]
    return digests + [(manifest.get("config") or {}).get("digest") or ""]


def _glob4(root):
    """filepath.Glob(root/*/*/*/*): sorted, dot files included, unreadable directories skipped."""
    level = [root]
    for _ in range(4):
        found = []
        for directory in level:
            try:
                if not stat.S_ISDIR(os.stat(directory).st_mode):
                    continue
                entries = sorted(os.listdir(directory))
            except OSError:
                continue
            found += [os.path.join(directory, entry) for entry in entries]
        level = found
    return level


def manifests(models, continue_on_error, log):
    """manifest.Manifests: {name string: [digests]}; _Failed as Manifests(false) would fail."""
    root = _mkdir_all(os.path.join(models, "manifests"))
    found = {}
    for match in _glob4(root):
        try:
            info = os.stat(match)
        except OSError as err:
            raise _Failed(_path_error("stat", match, err))
        if stat.S_ISDIR(info.st_mode):
            continue
        rel = os.path.relpath(match, root)
        name = names.from_manifest_path(rel.split(os.sep))
        if not name.is_valid():
            if not continue_on_error:
                raise _Failed(f"{rel} %!w(<nil>)")
            log("WARN", "manifest.go:209", "bad manifest name", ("path", rel))
            continue
        label = f"{name.host}/{name.namespace}/{name.model}:{name.tag}"
        try:
            try:
                with open(match, "rb") as handle:
                    raw = handle.read()
            except OSError as err:
                raise _Failed(_path_error("open" if err.filename else "read", match, err))
            found[label] = decode_manifest(raw)
        except _Failed as err:
            if not continue_on_error:
                raise _Failed(f"{label} {err}")
            log("WARN", "manifest.go:218", "bad manifest", ("name", label), ("error", err))
    return found


# --- the steps of Serve() ------------------------------------------------------------------------

def fix_blobs(blobs):
    """fixBlobs: filepath.Walk renaming sha256:<x> to sha256-<x>; a walk error fails Serve."""
    def walk(path, info):
        base = os.path.basename(path)
        kind, colon, rest = base.partition(":")
        if colon and kind == "sha256":
            target = os.path.join(os.path.dirname(path), "sha256-" + rest)
            try:
                os.rename(path, target)
            except OSError as err:
                raise _Failed(f"rename {path} {target}: {_errno_text(err)}")
        if not stat.S_ISDIR(info.st_mode):
            return
        try:
            entries = sorted(os.listdir(path))
        except OSError as err:
            raise _Failed(_path_error("open", path, err))
        for entry in entries:
            child = os.path.join(path, entry)
            try:
                child_info = os.lstat(child)
            except OSError as err:
                raise _Failed(_path_error("lstat", child, err))
            walk(child, child_info)

    try:
        root_info = os.lstat(blobs)
    except OSError as err:
        raise _Failed(_path_error("lstat", blobs, err))
    walk(blobs, root_info)


def prune_layers(models, grace, lines, log):
    """PruneLayers + deleteUnusedLayers."""
    blobs = _mkdir_all(os.path.join(models, "blobs"))
    try:
        with os.scandir(blobs) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as err:
        text = _path_error("open", blobs, err)
        log("INFO", lines["read_dir"], f"couldn't read dir '{blobs}': {text}")
        raise _Failed(text)
    candidates = {}
    now = time.time_ns()
    for entry in entries:
        if grace:
            if entry.is_dir(follow_symlinks=False):
                continue
            try:
                mtime = entry.stat(follow_symlinks=False).st_mtime_ns
            except OSError as err:
                log("ERROR", lines.get("stat", "images.go"), "couldn't stat blob",
                    ("blob", entry.name), ("error", _path_error("lstat", entry.path, err)))
                continue
            if now - mtime < GRACE_NS:
                continue
        key = entry.name.replace("-", ":")
        if not DIGEST.fullmatch(key):
            try:
                _go_remove(entry.path)
            except _Failed as err:
                log("ERROR", lines["remove_blob"], "couldn't remove blob", ("blob", entry.name),
                    ("error", err))
            continue
        candidates[key] = None
    log("INFO", lines["total"], f"total blobs: {len(candidates)}")
    try:
        referenced = manifests(models, True, log)
    except _Failed as err:
        log("ERROR", lines["unused"], f"couldn't remove unused layers: {err}")
        return
    for digests in referenced.values():
        for digest in digests:
            candidates.pop(digest, None)
    for key in candidates:
        path = os.path.join(blobs, key.replace(":", "-"))
        try:
            _go_remove(path)
        except _Failed as err:
            log("INFO", lines["remove_file"], f"couldn't remove file '{path}': {err}")
    log("INFO", lines["removed"], f"total unused blobs removed: {len(candidates)}")


def prune_directory(path):
    """manifest.PruneDirectory: removes empty directories depth first, path itself included."""
    try:
        info = os.lstat(path)
    except OSError as err:
        raise _Failed(_path_error("lstat", path, err))
    if not stat.S_ISDIR(info.st_mode):
        return
    try:
        for entry in sorted(os.listdir(path)):
            prune_directory(os.path.join(path, entry))
        if os.listdir(path):
            return
    except OSError as err:
        raise _Failed(_path_error("open", path, err))
    _go_remove(path)


def at_start(models, version, noprune, out=None):
    """Serve()'s start-up work on the models directory; raises StartFailed as Serve would fail."""
    lines = _lines(version)

    def log(level, source, msg, *attrs):
        slog(level, source, msg, *attrs, out=out)

    try:
        blobs = _mkdir_all(os.path.join(models, "blobs"))
        fix_blobs(blobs)
        if noprune:
            return
        try:
            manifests(models, False, log)
        except _Failed as err:
            log("WARN", lines["corrupt"], "corrupt manifests detected, skipping prune operation.  "
                "Re-pull or delete to clear", ("error", err))
            return
        prune_layers(models, has_grace(version), lines, log)
        prune_directory(_mkdir_all(os.path.join(models, "manifests")))
    except _Failed as err:
        raise StartFailed(str(err)) from None
