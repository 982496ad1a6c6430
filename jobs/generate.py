"""spark-submit entrypoint of the synthetic lakehouse generator.

spark-submit --py-files p4e.zip jobs/generate.py --members 1000000 --seed 7 --lakehouse DIR
"""

import sys

from p4e.cli import main

if __name__ == "__main__":
    sys.exit(main(["generate", *sys.argv[1:]]))
