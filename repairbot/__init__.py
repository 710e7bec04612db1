"""repairbot: automated program repair for Python (and, later, Java) projects."""

__version__ = "0.1.0"
