"""`python -m storyloom.cli`: the same command as the `storyloom` entry point, for
subprocess tests and environments where the console script is not on PATH."""

from storyloom.cli.entry import main

if __name__ == "__main__":
    main()
