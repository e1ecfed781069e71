#!/usr/bin/env python3
"""Print the Debian archive URLs this machine's apt is configured with.

The lab never writes an archive host into a file: debootstrap and the images'
sources.list take the mirror from the build machine's own apt configuration.

    apt-sources.py mirror            -> the main archive URL (for debootstrap)
    apt-sources.py sources SUITE     -> a one-line-style sources.list for SUITE
"""
import glob
import sys


def entries():
    """Yield (uri, suites) for every enabled 'deb' source."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path, encoding="utf-8") as fh:
            for stanza in fh.read().split("\n\n"):
                fields = {}
                for line in stanza.splitlines():
                    if not line.strip() or line.lstrip().startswith("#") or ":" not in line:
                        continue
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if "deb" not in fields.get("types", "").split():
                    continue
                if fields.get("enabled", "yes").lower() == "no":
                    continue
                for uri in fields.get("uris", "").split():
                    yield uri, fields.get("suites", "").split()
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(path, encoding="utf-8") as fh:
                lines = fh.readlines()
        except OSError:
            continue
        for line in lines:
            words = line.split("#", 1)[0].split()
            if len(words) < 3 or words[0] != "deb":
                continue
            words = [w for w in words[1:] if not w.startswith("[")]
            if len(words) >= 2:
                yield words[0], [words[1]]


def is_debian_suite(suite):
    return suite.split("-")[0] in {
        "buster", "bullseye", "bookworm", "trixie", "forky", "sid",
        "stable", "testing", "unstable", "oldstable"}


def pick():
    main = security = None
    for uri, suites in entries():
        if not any(is_debian_suite(s) for s in suites):
            continue
        if any(s.endswith("-security") for s in suites):
            security = security or uri
        elif main is None:
            main = uri
    if main is None:
        sys.exit("apt-sources.py: no Debian archive found in /etc/apt/sources*")
    return main.rstrip("/"), security.rstrip("/") if security else None


def main(argv):
    archive, security = pick()
    if argv[1:2] == ["mirror"]:
        print(archive)
    elif argv[1:2] == ["sources"] and len(argv) == 3:
        suite = argv[2]
        print(f"deb {archive} {suite} main")
        print(f"deb {archive} {suite}-updates main")
        if security:
            print(f"deb {security} {suite}-security main")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
