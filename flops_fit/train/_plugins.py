"""Load a plugin by import path: ``module.sub:Attr`` (an attribute) or ``module`` (the module itself).

Private stand-in until the framework's own loader lands.
"""
import importlib


def load(path: str):
    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj
