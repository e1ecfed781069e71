#!/bin/sh
# ansible-test --venv bootstraps pip in each new virtualenv with a get-pip script it downloads
# from a CI file host that this network cannot reach. It accepts a script already saved in its
# cache, so save an equivalent one: the pip wheel from the package index plus a few lines that
# run "pip install" from that wheel, as get-pip does.
set -eu
venv_bin=$1
version=$("$venv_bin/python" -c 'import re, ansible_test, pathlib; p = pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py"; print(re.search(r"pip=.([0-9.]+).,", p.read_text()).group(1))')
cache="$HOME/.ansible/test/cache"
script="$cache/get_pip_$(echo "$version" | tr . _).py"
[ -f "$script" ] && exit 0
mkdir -p "$cache"
"$venv_bin/pip" download --quiet --no-deps --only-binary=:all: --dest "$cache" "pip==$version"
cat > "$script.tmp" <<PY
import glob
import os
import sys

wheel = glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-$version-*.whl"))[0]
sys.path.insert(0, wheel)
from pip._internal.cli.main import main  # noqa: E402

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall"] + args))
PY
mv "$script.tmp" "$script"
