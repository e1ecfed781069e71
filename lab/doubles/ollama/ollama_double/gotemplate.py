"""Enough of Go's text/template parser to refuse what Ollama's template.Parse refuses.

Checked: actions left open, and {{if}}/{{range}}/{{with}}/{{block}}/{{define}} blocks without
their {{end}} or an {{end}}/{{else}} without a block, with text/template's own error texts
(`template: :LINE: ...`, the template being named ""). Function names and pipelines are not
checked.
"""

import re

_OPENERS = ("if", "range", "with", "block", "define")
_ACTION = re.compile(r"\{\{(-\s)?(?P<body>.*?)(\s-)?\}\}", re.S)


def parse_error(text):
    """None when the template parses, else text/template's error message."""
    stack = []
    position = 0
    while True:
        start = text.find("{{", position)
        if start < 0:
            break
        line = text.count("\n", 0, start) + 1
        match = _ACTION.match(text, start)
        if match is None:
            return f"template: :{text.count(chr(10)) + 1}: unclosed action"
        position = match.end()
        body = match["body"].strip()
        if body.startswith("/*"):
            continue
        word = body.split(None, 1)[0] if body else ""
        if word in _OPENERS:
            stack.append(word)
        elif word == "end":
            if not stack:
                return f"template: :{line}: unexpected {{{{end}}}}"
            stack.pop()
        elif word == "else":
            if not stack or stack[-1] not in ("if", "range", "with"):
                return f"template: :{line}: unexpected {{{{else}}}}"
        elif not body:
            return f"template: :{line}: missing value for command"
    if stack:
        return f"template: :{text.count(chr(10)) + 1}: unexpected EOF"
    return None
