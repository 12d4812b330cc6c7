"""`python main.py [SOURCE] [--pipeline F]` opens Vision Desk (on its built-in demo source by default), the same as
`vision-desk [SOURCE] [--pipeline F]` and `vision-desk gui ...`; `python main.py COMMAND ...` runs a command."""

import sys

from vision_desk.cli import main

if __name__ == "__main__":
    sys.exit(main())
