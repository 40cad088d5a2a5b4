"""Where tables go. Every sink takes `vpkg.sources.Source` objects, never the package:

``duckdb``
    DuckDB views over sources, and queries on them.
``warehouse``
    The persistent DuckDB warehouse: newest-wins upserts, one transaction per package.
``parquet``
    Parquet files and Hive-style datasets.
``results``
    DuckDB query results as text for the terminal (an aligned table, CSV, JSON).
"""
