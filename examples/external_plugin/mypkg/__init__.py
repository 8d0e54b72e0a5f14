"""mypkg: a complete, minimal flops-fit user package (model, data and loss plugins + their config).

Copy this folder anywhere, put its parent folder on PYTHONPATH (or `pip install -e` a project that
contains it) and run the sweep -- see docs/plugins.md in flops-fit.
"""
