"""The command line's entry point (`executor`, `python -m executor`): imports the command line
with the cyclic garbage collector paused, then freezes what the imports made out of its reach.

Why: importing the service makes a few hundred thousand objects (modules, classes, functions,
pydantic's validators) that live as long as the process. With the collector on, the import runs
collections that can free none of them; after it, every full collection would walk them again.
`gc.freeze()` moves them to the permanent generation, which collections skip. A replica's start
is CPU-bound at half a CPU (ACA's size), so its import decides how soon `/readyz` answers 200.
Measured in the Python image (`import executor.cli`, CPU time, 25 alternating runs): median
380 ms with the collector on, 351 ms paused.
"""

import gc


def main() -> int:
    gc.disable()
    try:
        # Imported here, not at the top: the pause must cover it (see the module's docstring).
        from executor.cli import main as cli_main
    finally:
        gc.freeze()
        gc.enable()
    return cli_main()
