"""p4e: pay-for-equity measurement and settlement on Spark and Delta Lake."""

__version__ = "0.1.0"
