"""`sessionstats serve`: the Sessions panel in a browser, capture over HTTP and an OTLP receiver.

Imported only by the `serve` command (Starlette and uvicorn are the optional `serve` extra). Every
handler calls the Python API (`sessionstats.connect()`), which opens the database per unit of work.
"""
