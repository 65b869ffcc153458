"""Hostile inputs for the two C extensions, shared by a seeded test in the suite
(``tests/unit/test_atk6_extension_fuzz.py``) and a long sanitizer run started by hand
(``tests/fuzz/sanitize_extensions.py``)."""
