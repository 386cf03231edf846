"""JupyterHub as a lease provider: the idle culler's earliest stop, the maximum age and
jupyterlab-server-timer's fixed run time, as a :class:`~jupyter_lease.core.Reading`.

:mod:`.config` (the environment, pure), :mod:`.model` (the Hub's answer → a reading, pure),
:mod:`.source` (:class:`HubSource`: the Hub's API with the server's own token),
:mod:`.discover` (facts for ``doctor``).
"""
