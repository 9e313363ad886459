"""Hub-scale: the community lineage index.

- source.py: card dumps (parquet, JSON lines, JSON, CSV; local or fsspec URLs) -> a Dask dataframe, columns
  mapped from either public layout (model_cards_with_metadata, model-tree dumps);
- rows.py: the per-row stage (card -> license facts -> declared bases, else the inferred tiers `check`
  finds), Dask map_partitions;
- closure.py: the lineage graph closed on the driver (effective license, conflicts along the chain; weak
  inferred edges as `check` treats them);
- build.py: `mlaudit index build` (in-process, a local cluster, or an existing one; incremental);
- store.py: the versioned index file (SQLite; why in its docstring);
- lookup.py: the index as an ancestor source of the Resolver (`--index`);
- stats.py: `mlaudit index stats`.

Only build.py, source.py and rows.py' process_frame need the `scale` extra (dask, pyarrow, pandas), and they
import it inside the functions that use it: reading an index needs the standard library only.
"""
