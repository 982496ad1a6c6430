"""spark-submit entrypoint of the nightly refresh: validate -> ... -> settlement -> reports.

spark-submit --py-files p4e.zip jobs/nightly.py --conf p4e.yaml [--lakehouse DIR]
"""

import sys

from p4e.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "nightly", *sys.argv[1:]]))
