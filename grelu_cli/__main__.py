"""`python -m grelu_cli` is the same program as `grelu`."""

from grelu_cli.cli import main

if __name__ == "__main__":
    main()
