"""spark-submit entrypoint of one pipeline step.

spark-submit --py-files p4e.zip jobs/run_step.py measures --conf p4e.yaml [--year 2024]
"""

import sys

from p4e.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
