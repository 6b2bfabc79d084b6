"""Channel adapters: each translates one wire format into a turn and back."""
