"""`python -m textrnn.distributed MODULE:FUNCTION ARGS_JSON`: one worker of `spawn`."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path


def _load(target: str) -> object:
    where, _, name = target.rpartition(":")
    if where.endswith(".py"):
        spec = importlib.util.spec_from_file_location("__textrnn_worker__", where)
        if spec is None or spec.loader is None:
            raise ImportError(f"Cannot load {where}.")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(Path(where).parent))
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    obj: object = module
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def main() -> int:
    from textrnn.distributed import init, shutdown
    from textrnn.distributed.group import finish

    fn = _load(sys.argv[1])
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else []
    init()
    try:
        fn(*args)  # type: ignore[operator]
    except BaseException:
        shutdown()
        raise
    finish()  # every rank done: leave without the interpreter's teardown


if __name__ == "__main__":
    sys.exit(main())
