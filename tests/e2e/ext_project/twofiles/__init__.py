from ._two import value
