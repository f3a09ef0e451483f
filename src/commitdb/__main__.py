"""``python -m commitdb`` runs the command line."""

from commitdb.cli.main import main

if __name__ == "__main__":
    main()
