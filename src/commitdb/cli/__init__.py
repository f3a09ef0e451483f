"""The ``commitdb`` command line (thin: each command parses, makes one library call, formats)."""
