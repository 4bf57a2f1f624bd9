#!/bin/sh
# with_machine_lock.sh CMD... - runs CMD holding /tmp/kspan.lock.
# One kspan per machine: two agents share the sockhash and insert each other's
# ids, so every test or benchmark that starts kspan runs under this lock.
# KSPAN_LOCK_HELD=1 says a caller holds it already (locking again would wait
# forever on our own lock).
if [ "${KSPAN_LOCK_HELD:-}" = 1 ]; then
	exec "$@"
fi
KSPAN_LOCK_HELD=1
export KSPAN_LOCK_HELD
exec flock /tmp/kspan.lock "$@"
