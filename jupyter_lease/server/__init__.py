"""The Jupyter server extension (``…/jupyter-lease/api/…``), keep-alive while busy, and the client
side that finds a running server from its runtime files. Importing this package imports nothing
of jupyter_server: kernels and the CLI use :mod:`.running` and :mod:`.busy_client`."""
