"""`python -m sounding`: the same as the `sounding` command (serve uses it to start the worker)."""

from sounding.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
