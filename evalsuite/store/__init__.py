"""The run folder: the results database, its schema, shards and atomic writes."""
