"""Server-side alerts with no page open (docs/server-alerts.md).

:mod:`.decide` is pure (which alerts are due, given a reading, the shared sent record and the
time); :mod:`.channels` says where the Apprise URLs come from and shows them as schemes only;
:mod:`.sender` delivers through Apprise (the optional ``jupyter_lease[notify]`` extra, imported
on first send) with retries; :mod:`.notifier` claims each alert once under the lease cache's
lock. The server wires them in :mod:`jupyter_lease.server.notify_server`.
"""
