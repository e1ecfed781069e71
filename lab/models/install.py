"""Writes a catalog model straight into an Ollama models directory, as a pull would leave it
(blobs first, manifest last), for tests that run the Ollama double without a registry.

    python3 lab/models/install.py MODELS_DIR NAME [NAME...]
"""

import os
import sys

import build
import catalog


def install(models_dir, name):
    model = build.build(name, catalog.MODELS[name])
    blobs = os.path.join(models_dir, "blobs")
    os.makedirs(blobs, exist_ok=True)
    for blob in model.blobs:
        with open(os.path.join(blobs, "sha256-" + blob.digest[7:]), "wb") as out:
            for chunk in blob.chunks():
                out.write(chunk)
    model_name, tag = name.split(":")
    manifest = os.path.join(models_dir, "manifests", "registry.ollama.ai", "library", model_name, tag)
    os.makedirs(os.path.dirname(manifest), exist_ok=True)
    with open(manifest, "wb") as out:
        out.write(model.manifest)
    return model.size


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    for name in argv[1:]:
        print(name, install(argv[0], name))


if __name__ == "__main__":
    main(sys.argv[1:])
