"""An example moviebench plugin: `pip install -e examples/plugin`, then `bench ls`."""
