"""The one JSON reader for delivered documents, strict where Python's json is lenient.

Python's `json` keeps the LAST of two equal keys in an object (an export
with "manifests" twice loaded 107 of its 1,697 rows with status ok), reads
NaN and Infinity (not JSON), and recurses once per nesting level (10,000
levels end in a RecursionError traceback). Every reader of received JSON
(OpenAQ pages, cnemc-water pages, manifest-json exports) calls load_json,
which turns each of these into an InputError naming the file.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from typing import Any

from envmon.core.errors import InputError

# The delivered formats nest 4 levels at most. The C decoder's own limit is
# the interpreter's recursion limit (about 1,000 frames) minus the caller's
# stack, so whether 950 levels loaded depended on who called; a fixed limit
# far below it gives one answer, and leaves a loaded document room to be
# walked or re-encoded further down (json.dumps of a refused item).
MAX_DEPTH = 100


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key
        self.offset: int | None = None  # of the object's "{", once located


class _Constant(Exception):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def load_json(data: bytes | str, *, name: str) -> Any:
    """The JSON value in `data`, or an InputError for `name` (one line, no traceback).

    Refused: text that is not JSON, NaN / Infinity, a key repeated within an
    object, nesting deeper than MAX_DEPTH. Bytes are decoded as json.loads
    does (UTF-8, -16 or -32, by the first bytes).
    """
    try:
        value = json.loads(data, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except _DuplicateKey as dup:
        raise _duplicate_error(data, dup, name) from None
    except _Constant as exc:
        raise InputError(f"not valid JSON: {exc.token} is not a JSON value", file=name) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", file=name,
                         row=exc.lineno) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid JSON: undecodable byte at {exc.start}", file=name) from None
    except RecursionError:
        # The C decoder recurses per level: only a document far deeper than
        # MAX_DEPTH gets here, so the message below holds.
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels", file=name) from None
    if _deeper_than(value, MAX_DEPTH):
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels", file=name)
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _no_constant(token: str) -> Any:
    raise _Constant(token)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (the top one is level 1).

    Level by level, without recursion; costs about a sixth of the parse.
    """
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [child for node in level
                 for child in (node.values() if type(node) is dict else node)
                 if type(child) is dict or type(child) is list]
    return False


def _duplicate_error(data: bytes | str, dup: _DuplicateKey, name: str) -> InputError:
    """Name the key and, found by a second (pure-Python) parse, where its object starts.

    The C decoder tells the hook no position; the slow parse runs only on
    this error path.
    """
    text = data if isinstance(data, str) else data.decode(json.detect_encoding(data),
                                                          "surrogatepass")
    offset = _duplicate_offset(text)
    message = f"duplicate key {dup.key!r} in a JSON object"
    reason = "(refused: JSON readers silently keep only the last one)"
    if offset is None:
        return InputError(f"{message} {reason}", file=name)
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    return InputError(f"{message} starting at column {column} {reason}", file=name, row=line)


def _duplicate_offset(text: str) -> int | None:
    """Offset of the "{" of the innermost object holding the first repeated key."""
    decoder = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant)

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[dict, int]:
        try:
            return json.decoder.JSONObject(s_and_end, *args)
        except _DuplicateKey as dup:
            if dup.offset is None:  # set by the innermost object: the one with the key
                dup.offset = s_and_end[1] - 1
            raise

    decoder.parse_object = parse_object
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    try:
        decoder.decode(text)
    except _DuplicateKey as dup:
        return dup.offset
    except (ValueError, RecursionError, _Constant):
        return None
    return None
