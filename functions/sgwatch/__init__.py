"""Shared logic of the SG Watch Lambda functions.

Pure modules (``rules``, ``diff``, ``csvio``) take plain data and never touch AWS.
``aws`` and ``evidence`` hold the thin I/O layer.
"""

__version__ = "0.1.0"
