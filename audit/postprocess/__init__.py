"""Post-processors: they transform the inputs of an audit (the lockfile pins what is read) or a finished
report (the lockfile's integrity and drift checks, the baseline). They never call back into audit.api."""
