"""Reads a GGUF file's metadata and tensor table (what /api/show reports as model_info)."""

import struct

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
            11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# ggml type ids -> names, for the tensors list
GGML_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0",
              10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 30: "BF16"}


class NotGGUF(ValueError):
    pass


class _Reader:
    def __init__(self, handle):
        self.handle = handle

    def take(self, fmt):
        size = struct.calcsize(fmt)
        data = self.handle.read(size)
        if len(data) != size:
            raise NotGGUF("unexpected EOF")
        return struct.unpack(fmt, data)[0]

    def string(self):
        length = self.take("<Q")
        if length > 1 << 24:
            raise NotGGUF("string too long")
        data = self.handle.read(length)
        if len(data) != length:
            raise NotGGUF("unexpected EOF")
        return data.decode("utf-8", "replace")

    def value(self, value_type):
        if value_type in _SCALARS:
            return self.take(_SCALARS[value_type])
        if value_type == _STRING:
            return self.string()
        if value_type == _ARRAY:
            item_type, count = self.take("<I"), self.take("<Q")
            if count > 1 << 24:
                raise NotGGUF("array too long")
            return [self.value(item_type) for _ in range(count)]
        raise NotGGUF(f"invalid type {value_type}")


def read(path):
    """Returns (metadata dict in file order, tensors [{name,type,shape}])."""
    with open(path, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise NotGGUF("invalid file magic")
        reader = _Reader(handle)
        version = reader.take("<I")
        if version not in (2, 3):
            raise NotGGUF(f"unsupported GGUF version {version}")
        tensor_count, kv_count = reader.take("<Q"), reader.take("<Q")
        metadata = {}
        for _ in range(kv_count):
            key = reader.string()
            metadata[key] = reader.value(reader.take("<I"))
        tensors = []
        for _ in range(tensor_count):
            name = reader.string()
            shape = [reader.take("<Q") for _ in range(reader.take("<I"))]
            ggml_type = reader.take("<I")
            reader.take("<Q")  # offset
            tensors.append({"name": name, "type": GGML_TYPES.get(ggml_type, str(ggml_type)),
                            "shape": shape})
    return metadata, tensors


def is_gguf(path):
    with open(path, "rb") as handle:
        return handle.read(4) == b"GGUF"
