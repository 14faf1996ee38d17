import sys

from soulsyncd.cli import main

sys.exit(main())
