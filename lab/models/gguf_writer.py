"""Writes small but valid GGUF v3 files (header, metadata, tensor infos, aligned tensor data)."""

import struct

ALIGNMENT = 32
GGML_TYPE_F32 = 0

# GGUF metadata value types
_UINT32, _INT32, _FLOAT32, _BOOL, _STRING, _ARRAY, _UINT64 = 4, 5, 6, 7, 8, 9, 10


def _string(text):
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def _typed_value(value):
    """Returns (gguf type, encoded bytes) for a Python value."""
    if isinstance(value, bool):
        return _BOOL, struct.pack("<?", value)
    if isinstance(value, int):
        if 0 <= value < 2**32:
            return _UINT32, struct.pack("<I", value)
        if value >= 0:
            return _UINT64, struct.pack("<Q", value)
        return _INT32, struct.pack("<i", value)
    if isinstance(value, float):
        return _FLOAT32, struct.pack("<f", value)
    if isinstance(value, str):
        return _STRING, _string(value)
    if isinstance(value, (list, tuple)):
        item_type = _typed_value(value[0])[0] if value else _STRING
        items = b"".join(_typed_value(item)[1] for item in value)
        return _ARRAY, struct.pack("<IQ", item_type, len(value)) + items
    raise TypeError(f"unsupported GGUF metadata value: {value!r}")


def header(metadata, tensors):
    """GGUF bytes up to the start of tensor data.

    metadata: ordered dict of key -> value; tensors: list of (name, shape) of F32 tensors,
    whose data is laid out back to back (each padded to ALIGNMENT) after the header.
    """
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)))
    for key, value in metadata.items():
        value_type, encoded = _typed_value(value)
        out += _string(key) + struct.pack("<I", value_type) + encoded
    offset = 0
    for name, shape in tensors:
        out += _string(name) + struct.pack("<I", len(shape))
        out += b"".join(struct.pack("<Q", dim) for dim in shape)
        out += struct.pack("<IQ", GGML_TYPE_F32, offset)
        offset += _padded(tensor_bytes(shape))
    out += b"\0" * (_padded(len(out)) - len(out))
    return bytes(out)


def tensor_bytes(shape):
    count = 1
    for dim in shape:
        count *= dim
    return 4 * count


def _padded(length):
    return (length + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
