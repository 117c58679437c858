"""Entry point for ``spark-submit`` (a file run as a script, so absolute imports only)::

    spark-submit --master yarn "$(python -c 'import reidcheck.submit as s; print(s.__file__)')" \\
        --spark-master submit attack unicity hdfs://lake/cdr/ --engine spark --json unicity.json
"""

import sys

from reidcheck.cli import main

if __name__ == "__main__":
    sys.exit(main())
