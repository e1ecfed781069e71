#!/usr/bin/env python3
"""Publishes the lab's synthetic models to an OCI registry as library/<model>:<tag>.

Idempotent: blobs the registry already has are skipped (HEAD), and an identical manifest is
not re-pushed, so a second run uploads nothing.
"""

import argparse
import sys
import time

import build
import oci
from catalog import MODELS


def publish(registry, model):
    """Pushes blobs first and the manifest last; returns the number of bytes uploaded."""
    if registry.get_manifest(model.repository, model.tag) == model.manifest:
        print(f"{model.name}: up to date ({model.digest[7:19]}), nothing uploaded", flush=True)
        return 0
    uploaded = 0
    for blob in model.blobs:
        if not registry.blob_exists(model.repository, blob.digest):
            registry.upload_blob(model.repository, blob.digest, blob.size, blob.chunks)
            uploaded += blob.size
    registry.put_manifest(model.repository, model.tag, model.manifest)
    print(f"{model.name}: published {model.repository}:{model.tag} ({model.digest[7:19]}, "
          f"{model.size} bytes), uploaded {uploaded} bytes", flush=True)
    return uploaded


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", default="http://127.0.0.1:5000",
                        help="registry base URL (default: %(default)s)")
    parser.add_argument("--only", action="append", choices=sorted(MODELS), metavar="NAME",
                        help="publish only this model (repeatable); default: all of "
                             + ", ".join(MODELS))
    args = parser.parse_args(argv)
    registry = oci.Registry(args.registry)
    started = time.monotonic()
    try:
        if not registry.ping():
            print(f"publish: {args.registry}/v2/ does not answer 200", file=sys.stderr)
            return 1
        total = sum(publish(registry, build.build(name, MODELS[name]))
                    for name in (args.only or MODELS))
    except oci.RegistryError as err:
        print(f"publish: {err}", file=sys.stderr)
        return 1
    print(f"uploaded {total} bytes in {time.monotonic() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
