"""One module per `vpkg` subcommand; each defines `register(subparsers)` and `run(args)`."""
