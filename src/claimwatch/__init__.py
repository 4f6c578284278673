"""claimwatch: insurance claims supervision and service-quality management."""

__version__ = "0.1.0"
