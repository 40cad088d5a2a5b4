"""One module per `vpkg` subcommand; each defines `register(subparsers)` and `run(args)`.

`filters` and `signals` are not subcommands: the flags `download` and `sync` share, and the
signal handling of long commands."""
