"""A manifest file read as Ollama reads it: json.NewDecoder(f).Decode(&manifest.Manifest{})
(manifest/manifest.go:136-139 at v0.17.1, unchanged to v0.33.0-rc2).

What that means, unlike Python's json.loads: only the first JSON value counts (bytes after it
are ignored); keys match struct fields case-insensitively (`"LAYERS"` is `layers`), unknown keys
are ignored; `null` leaves a field as it was; a type mismatch (`"layers": "x"`, `"size": "12"`,
`"size": 1.5`) is an error although the rest is decoded; NaN and Infinity are not JSON.
Error texts follow encoding/json's (syntax errors approximately).
"""

import json
import re


class ManifestError(ValueError):
    """The manifest does not decode; str() is what Go's err.Error() would say."""


class _Object(list):
    """A JSON object as its (key, value) pairs, in order (duplicates kept, as Go sees them)."""


class _Number(str):
    """A JSON number kept as its literal, as Go's decoder sees it."""


_LAYER = {"mediaType": "string", "digest": "string", "size": "int64", "from": "string",
          "name": "string"}
_MANIFEST = {"schemaVersion": "int", "mediaType": "string", "config": "layer", "layers": "layers"}
_GO_TYPE = {"string": "string", "int": "int", "int64": "int64", "layer": "manifest.Layer",
            "layers": "[]manifest.Layer"}


def _kind(value):
    if isinstance(value, _Object):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, _Number):
        return "number"
    return "string"


class _Decoder:
    """json.Decoder.Decode into manifest.Manifest: fields matched case-insensitively, the first
    type mismatch remembered while decoding goes on, null leaves a field as it was."""

    def __init__(self):
        self.error = None

    def mismatch(self, value, struct, path, gotype, literal=False):
        if self.error is None:
            shown = f"number {value}" if literal else _kind(value)
            where = f"Go struct field {struct}.{'.'.join(path)}" if struct else "Go value"
            self.error = f"json: cannot unmarshal {shown} into {where} of type {_GO_TYPE[gotype]}"

    def struct(self, pairs, fields, struct, path, target):
        for key, value in pairs:
            field = key if key in fields else next(
                (name for name in fields if name.lower() == key.lower()), None)
            if field is not None:
                result = self.value(value, fields[field], struct, path + [field], target.get(field))
                if result is None:
                    target.pop(field, None)
                else:
                    target[field] = result
        return target

    def value(self, value, gotype, struct, path, current):
        if value is None:
            return None if gotype == "layers" else current
        if gotype == "string":
            if isinstance(value, str) and not isinstance(value, _Number):
                return value
        elif gotype in ("int", "int64"):
            if isinstance(value, _Number):
                if re.fullmatch(r"-?\d+", value) and -2**63 <= int(value) < 2**63:
                    return int(value)
                self.mismatch(value, struct, path, gotype, literal=True)
                return current
        elif gotype == "layer":
            if isinstance(value, _Object):
                return self.struct(value, _LAYER, "Layer", path, dict(current or {}))
        elif gotype == "layers":
            if isinstance(value, list) and not isinstance(value, _Object):
                return [self.value(item, "layer", struct, path, None) or {} for item in value]
        self.mismatch(value, struct, path, gotype)
        return current


_CONTEXTS = (
    ("Expecting value", "looking for beginning of value"),
    ("Expecting property name enclosed in double quotes", "looking for beginning of object key string"),
    ("Expecting ':' delimiter", "after object key"),
    ("Invalid control character", "in string literal"),
    ("Invalid \\escape", "in string escape code"),
)


def _innermost(doc, pos):
    """'{' or '[': the bracket still open at pos (strings skipped)."""
    stack, in_string, escaped = [], False, False
    for char in doc[:pos]:
        if in_string:
            escaped, in_string = (not escaped and char == "\\"), in_string and (escaped or char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _quote_char(char):
    """encoding/json's quoteChar of the offending byte (a non-ASCII one shows as Latin-1)."""
    char = chr(char.encode("utf-8", "surrogatepass")[0]) if ord(char) > 127 else char
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + json.dumps(char, ensure_ascii=False)[1:-1] + "'"


def _syntax_error(text):
    """Go's text for a JSON syntax error (close to it: json.Decoder reads the value first)."""
    try:
        json.JSONDecoder().raw_decode(text.lstrip(" \t\n\r"))
    except json.JSONDecodeError as err:
        if err.pos >= len(err.doc):
            return "unexpected EOF"
        if err.msg.startswith("Expecting ',' delimiter"):
            context = "after array element" if _innermost(err.doc, err.pos) == "[" \
                else "after object key:value pair"
        else:
            context = next((go for python, go in _CONTEXTS if err.msg.startswith(python)),
                           "looking for beginning of value")
        at = err.pos + 1 if err.msg.startswith("Invalid \\escape") else err.pos
        return f"invalid character {_quote_char(err.doc[min(at, len(err.doc) - 1)])} {context}"
    return "unexpected EOF"


def decode(raw):
    """manifest.Manifest from the file's bytes: the known fields under their own names (absent
    ones absent, a null layer as {}); ManifestError with the text Go's decoder gives."""
    text = raw.decode("utf-8", "replace")
    body = text.lstrip(" \t\n\r")

    def reject(constant):
        raise ValueError(constant)

    decoder = json.JSONDecoder(object_pairs_hook=_Object, parse_int=_Number, parse_float=_Number,
                               parse_constant=reject)
    if not body:
        raise ManifestError("EOF")
    try:
        value, _ = decoder.raw_decode(body)
    except json.JSONDecodeError:
        raise ManifestError(_syntax_error(text)) from None
    except RecursionError:
        raise ManifestError("exceeded max depth") from None
    except ValueError as err:  # NaN, Infinity, -Infinity: not JSON to Go
        constant = str(err)
        where = "in numeric literal" if constant.startswith("-") else "looking for beginning of value"
        raise ManifestError(f"invalid character 'I' {where}" if constant != "NaN"
                      else f"invalid character 'N' {where}") from None
    go = _Decoder()
    manifest = {}
    if isinstance(value, _Object):
        manifest = go.struct(value, _MANIFEST, "Manifest", [], {})
    elif value is not None:
        go.error = f"json: cannot unmarshal {_kind(value)} into Go value of type manifest.Manifest"
    if go.error:
        raise ManifestError(go.error)
    return manifest


