"""`python main.py` opens Vision Desk on its built-in demo source (the same as `vision-desk`)."""

import sys

from vision_desk.cli import main

if __name__ == "__main__":
    sys.exit(main())
