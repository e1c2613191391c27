"""The ``imgen`` command line (sub-commands live in ``cmd_*.py`` modules, discovered at start)."""
