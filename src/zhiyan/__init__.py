"""知言 zhiyan: a knowledge-grounded assistant for small machines, the web and feature phones."""

__version__ = "0.1.0"
