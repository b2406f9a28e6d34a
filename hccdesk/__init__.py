"""HCC Desk: grade hepatocellular carcinoma on multi-phase liver MR with local + non-local feature fusion."""

__version__ = "0.1.0"
