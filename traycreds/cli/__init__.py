"""The command line front end: argparse, one line of error, a documented exit code."""
