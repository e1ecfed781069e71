#!/usr/bin/env bash
# Sanity and unit tests of the collection on one ansible-core version, with the python3 found on
# PATH (on this machine, or inside the Debian 13 container that tests/matrix/run.sh starts).
# Everything it makes stays under build/matrix: a virtual environment per version, a collection
# copy per version, and a HOME per Python that keeps ansible-test's own virtual environments, so a
# second run installs nothing.
# Usage: tests/matrix/one.sh MINOR PINNED_VERSION PYTHON   (e.g. 2.18 2.18.19 3.11)
set -euo pipefail
minor=${1:?minor} pin=${2:?version} python=${3:?python}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$root/build/matrix
venv=$work/venv-$minor
have=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$have" != "$python" ]; then
  echo "matrix $minor: needs Python $python, python3 here is $have" >&2
  exit 2
fi

export HOME=$work/home-py$python
mkdir -p "$HOME"
if [ -n "${MATRIX_PIP_CERT:-}" ]; then
  # ansible-test hands its pip runs HOME but no PIP_* variables: the CA bundle goes in pip.conf.
  mkdir -p "$HOME/.config/pip"
  printf '[global]\ncert = %s\n' "$MATRIX_PIP_CERT" >"$HOME/.config/pip/pip.conf"
fi

# ansible-core, pytest, and what the unit tests import beside them (tests/unit/requirements.txt, the
# file ansible-test units reads too); made again only when one of them changes.
unit_requirements=$root/tests/unit/requirements.txt
install=("ansible-core==$pin" "pytest==9.2.0")
stamp=$venv/.installed-$pin
if [ -f "$unit_requirements" ]; then
  install+=(-r "$unit_requirements")
  stamp=$stamp-$(sha256sum <"$unit_requirements" | cut -c1-12)
fi
if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${install[@]}"
  touch "$stamp"
fi
"$root/tests/sanity/bootstrap_pip.sh" "$venv/bin"

tree=$work/$minor
dest=$tree/ansible_collections/llmops/ollama
"$root/tests/matrix/copy_collection.sh" "$dest"
cd "$dest"
echo "--- ansible-core $("$venv/bin/ansible" --version | head -n1 | sed 's/.*core //; s/]//'), Python $python: ansible-test sanity"
# Both stages run even when the first fails, so one run shows everything a version breaks.
sanity=0 units=0
# The version's own virtual environment is the controller (no --venv: that one would be made again
# in the fresh collection copy, from the network, on every run); the tests' own environments are
# kept under HOME.
PATH="$venv/bin:$PATH" ansible-test sanity --python "$python" --color no || sanity=$?
echo "--- ansible-core $pin, Python $python: unit tests"
PYTHONPATH="$tree:$root/tests/pytest_plugins" "$venv/bin/pytest" -q -rs -p ci_strict -p no:cacheprovider tests/unit || units=$?
echo "--- ansible-core $pin, Python $python: sanity $([ "$sanity" -eq 0 ] && echo passed || echo FAILED), units $([ "$units" -eq 0 ] && echo passed || echo FAILED)"
[ "$sanity" -eq 0 ] && [ "$units" -eq 0 ]
