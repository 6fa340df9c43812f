"""`python -m oncopanel`: the same command line as `oncopanel`."""

import sys

from oncopanel.cli import main

sys.exit(main())
