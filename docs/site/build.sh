#!/usr/bin/env bash
# make docs: the collection's documentation site, built offline with antsibull-docs and Sphinx into
# build/docs/html (not committed), from the modules' DOCUMENTATION, the roles' argument specs and
# the Markdown guides (README.md, docs/*.md, converted by docs/site/guides.py).
# Fails on any warning of antsibull-docs or Sphinx, on a role README.md that differs from its
# argument specs (docs/site/role_readme.py), and when a module's or role's page is missing.
# The tools come from requirements-docs.txt, in build/docs/venv (made once per requirements file).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$root/build/docs
venv=$work/venv
stamp=$venv/.installed-$(sha256sum requirements-docs.txt | cut -c1-12)
if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r requirements-docs.txt
  touch "$stamp"
fi
command -v pandoc >/dev/null 2>&1 || lab/bin/apt-ensure pandoc

echo "--- role READMEs against meta/argument_specs.yml"
"$venv/bin/python" docs/site/role_readme.py --check

echo "--- collection copy with the guides as extra docs"
tree=$work/collections/ansible_collections/llmops/ollama
tests/matrix/copy_collection.sh "$tree"
"$venv/bin/python" docs/site/guides.py "$tree"
# The dependency collections (galaxy.yml) come from the ansible package in .venv, as for lint.
deps=$("$root/.venv/bin/python" -c 'import ansible_collections, os; print(os.path.dirname(list(ansible_collections.__path__)[0]))')
export ANSIBLE_COLLECTIONS_PATH=$work/collections:$deps
export PATH=$venv/bin:$PATH

log=$work/log
mkdir -p "$log"
warned() {  # LOGFILE: fail when the tool warned
  if grep -n -i -E 'warning|error' "$1"; then
    echo "docs: the lines above are warnings or errors ($1)" >&2
    return 1
  fi
}

echo "--- antsibull-docs lint-collection-docs"
antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck "$tree" 2>&1 | tee "$log/lint.txt"
warned "$log/lint.txt"

echo "--- antsibull-docs collection"
rst=$work/rst
rm -rf "$rst"
mkdir -m 0700 "$rst"
antsibull-docs collection --use-current --squash-hierarchy --dest-dir "$rst" llmops.ollama 2>&1 | tee "$log/antsibull.txt"
warned "$log/antsibull.txt"

echo "--- sphinx-build"
rm -rf "$work/html" "$work/doctrees"
sphinx-build -q -b html -W --keep-going -d "$work/doctrees" -c docs/site "$rst" "$work/html" 2>&1 | tee "$log/sphinx.txt"
warned "$log/sphinx.txt"

missing=()
for module in plugins/modules/*.py; do
  name=$(basename "$module" .py)
  [ -f "$work/html/${name}_module.html" ] || missing+=("${name}_module.html")
done
for spec in roles/*/meta/argument_specs.yml; do
  role=$(basename "$(dirname "$(dirname "$spec")")")
  case "$role" in _*) continue ;; esac
  [ -f "$work/html/${role}_role.html" ] || missing+=("${role}_role.html")
done
for page in readme rollout modules; do
  [ -f "$work/html/docsite/$page.html" ] || missing+=("docsite/$page.html")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "docs: pages missing from build/docs/html: ${missing[*]}" >&2
  exit 1
fi
echo "docs: $(find "$work/html" -name '*.html' | wc -l) pages in build/docs/html (index: build/docs/html/index.html)"
