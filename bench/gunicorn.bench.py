"""gunicorn config for the benchmark server: deliberately (almost) empty.

Without an explicit --config, gunicorn reads ./gunicorn.conf.py from the
project, whose production choices (an access-log line per request on stdout,
worker recycling every ~2,000 requests) the harness's peers don't have. The
command line in the target file (2 sync workers, 127.0.0.1 only, log level
warning) is then the whole configuration, as for the peers. Set
COPSITE_GUNICORN_CONF=project when running bench/run.sh to measure with the
project's own gunicorn.conf.py instead.
"""
