# Sphinx configuration of the collection's documentation site (docs/site/build.sh).
# Offline: no intersphinx inventories are fetched; links to other collections' docs are plain URLs.

project = "llmops.ollama"
copyright = "llmops.ollama contributors"
title = "llmops.ollama documentation"
html_short_title = "llmops.ollama"
extensions = ["sphinx_antsibull_ext"]
pygments_style = "ansible"
highlight_language = "YAML+Jinja"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
html_theme_options = {"display_version": False}
default_role = "any"
nitpicky = True

# antsibull-docs' pages refer to two labels of Ansible's own documentation. No inventory can be
# downloaded here, so one that holds just those two is written next to the build and read from there.
import os  # noqa: E402
import zlib  # noqa: E402

ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
_LABELS = {
    "common_return_values": ("reference_appendices/common_return_values.html", "Return Values"),
    "ansible_configuration_settings": ("reference_appendices/config.html", "Ansible Configuration Settings"),
}
_INVENTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "docs", "ansible_devel.inv")
os.makedirs(os.path.dirname(_INVENTORY), exist_ok=True)
with open(_INVENTORY, "wb") as _handle:
    _handle.write(b"# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
                  b"# The remainder of this file is compressed using zlib.\n")
    _handle.write(zlib.compress("".join("%s std:label -1 %s %s\n" % (name, uri, title)
                                        for name, (uri, title) in _LABELS.items()).encode()))
extensions.append("sphinx.ext.intersphinx")
intersphinx_mapping = {"ansible_devel": (ANSIBLE_DOCS, _INVENTORY)}
intersphinx_disabled_reftypes = []
