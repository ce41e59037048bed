"""`python -m bridge.runtime` is `bridge-task`."""

from bridge.runtime.cli import main

main()
