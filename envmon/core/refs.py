"""Objects named by reference, "module:attribute", imported when first needed.

Core names what lives above it this way (a source's generator, a store's
schema, every domain's lake tables), so importing core imports no domain.
"""

from __future__ import annotations

import importlib
from typing import Any


def resolve(ref: str) -> Any:
    """The attribute `ref` names; ImportError or AttributeError if there is none."""
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)
