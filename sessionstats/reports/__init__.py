"""Reports: the aggregate queries behind every figure, computed on demand (DuckDB SQL on both backends)."""
