#!/bin/sh
# sealtrace, from a release tarball: the bundled Node runs the bundled dist/, wherever the tarball was extracted.
# The host's Node settings are dropped: NODE_OPTIONS or NODE_PATH on a compromised host could inject code into
# the recorder, and NODE_EXTRA_CA_CERTS only slows start-up (sealtrace makes no TLS connection).
unset NODE_OPTIONS NODE_PATH NODE_EXTRA_CA_CERTS
here=$(dirname "$(readlink -f "$0")")
exec "$here/node/bin/node" "$here/dist/src/cli/main.js" "$@"
