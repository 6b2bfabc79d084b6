"""The assistant: one turn pipeline that every channel calls."""
