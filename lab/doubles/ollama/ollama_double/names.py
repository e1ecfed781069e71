"""Ollama's model-name rules (types/model/name.go): parse, validate, display, map to disk."""

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
MISSING = "!MISSING!"

_MAX_LEN = {"host": 350, "namespace": 80, "model": 80, "tag": 80}


class Name:
    def __init__(self, host, namespace, model, tag, scheme=""):
        self.host, self.namespace, self.model, self.tag = host, namespace, model, tag
        self.scheme = scheme

    def parts(self):
        return [self.host, self.namespace, self.model, self.tag]

    def is_valid(self):
        kinds = ("host", "namespace", "model", "tag")
        return all(_valid_part(kind, part) for kind, part in zip(kinds, self.parts()))

    def display(self):
        """DisplayShortest: model:tag, ns/model:tag or host/ns/model:tag."""
        prefix = ""
        if self.host.lower() != DEFAULT_HOST:
            prefix = f"{self.host}/{self.namespace}/"
        elif self.namespace.lower() != DEFAULT_NAMESPACE:
            prefix = f"{self.namespace}/"
        return f"{prefix}{self.model}:{self.tag}"

    def full(self):
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    def is_default_registry(self):
        return self.host.lower() == DEFAULT_HOST

    def key(self):
        """Case-insensitive identity, as Name.EqualFold."""
        return tuple(part.lower() for part in self.parts())

    def __repr__(self):
        return f"Name({self.full()!r})"


def _cut_promised(text, sep):
    """Splits at the last sep; an empty part after a present separator becomes MISSING."""
    index = text.rfind(sep)
    if index < 0:
        return text, "", False
    return text[:index], text[index + len(sep):] or MISSING, True


def parse_bare(text):
    tag = ""
    if text.rfind(":") > text.rfind("/"):
        text, tag, _ = _cut_promised(text, ":")
    text, model, promised = _cut_promised(text, "/")
    if not promised:
        return Name("", "", text, tag)
    text, namespace, promised = _cut_promised(text, "/")
    if not promised:
        return Name("", text, model, tag)
    scheme, sep, host = text.partition("://")
    if not sep:
        scheme, host = "", text
    return Name(host, namespace, model, tag, scheme)


def parse(text):
    """ParseName: the bare parse with registry.ollama.ai/library/...:latest defaults merged in."""
    name = parse_bare(text or "")
    name.host = name.host or DEFAULT_HOST
    name.namespace = name.namespace or DEFAULT_NAMESPACE
    name.tag = name.tag or DEFAULT_TAG
    return name


def from_manifest_path(relative_parts):
    """manifests/<host>/<ns>/<model>/<tag> path parts -> Name (maybe invalid)."""
    host, namespace, model, tag = relative_parts
    return Name(host, namespace, model, tag)


def _valid_part(kind, part):
    if not part or len(part) > _MAX_LEN[kind]:
        return False
    if not (part[0].isascii() and (part[0].isalnum() or part[0] == "_")):
        return False
    for char in part[1:]:
        if char in "_-":
            continue
        if char == ".":
            if kind == "namespace":
                return False
            continue
        if char == ":":
            if kind != "host":
                return False
            continue
        if not (char.isascii() and char.isalnum()):
            return False
    return True
