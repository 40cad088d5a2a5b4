import sys

from vpkg.cli import main

sys.exit(main())
