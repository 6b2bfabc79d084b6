"""One module per SMS gateway; `base.load_provider(name)` finds them by file name."""
