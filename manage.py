#!/usr/bin/env python
"""meshview's management entry point (same as the `meshview` console script)."""

from meshview.__main__ import main

if __name__ == "__main__":
    main()
