"""`python -m bot.cli`: the same as the `retailbot` command."""

import sys

from bot.cli.main import main

sys.exit(main())
