"""Command line of the lab's sinks (webhook_sink.py, smtp_sink.py): where to listen and where to keep what arrives.
Installed beside them in /opt/redfire-sinks/ (lab/platform.yml), imported from the script's own directory."""
import argparse


def parse_sink_args(doc, listen, store_option, store, store_help):
    """(args, host, port): `--listen HOST:PORT` (default `listen`) and the sink's storage option `store_option`
    (default `store`); `doc` is the sink's module docstring (its first line is the description)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--listen", default=listen, help="HOST:PORT to listen on (default %(default)s)")
    parser.add_argument(store_option, default=store, help="%s (default %%(default)s)" % store_help)
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    return args, host, int(port)
