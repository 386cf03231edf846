"""What runs inside an IPython kernel (or terminal IPython): ``%load_ext``, ``%lease``, the
anywidget countdown and the terminal line. Kept empty so that ``%load_ext`` imports only
:mod:`.extension` and :mod:`.magic` (a budget of 5 ms, see benchmarks/)."""
