"""`make test` runs `pytest tests notebooks --nbval-lax`: nbval executes the English notebooks found here. The
Chinese ones are executed by tests/test_notebook_language.py instead (papermill, once each): the same execution,
with the same failure on any error, plus the scan of what they print for English sentences. Executing them here
too would double their cost."""
collect_ignore_glob = ["zh/*.ipynb"]
