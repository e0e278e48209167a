"""drift-if-keeper: keeper daemon and staker CLI for the Drift Insurance Fund."""

__version__ = "0.1.0"
