"""repairbot: automated program repair for Python and Java projects, and any language
registered in `repairbot.languages.registry`."""

__version__ = "0.1.0"
