"""``python -m jobman`` runs the command-line interface."""

from jobman.cli import main

if __name__ == "__main__":
    main()
