"""A durability soak: mixed concurrent load against the real server, kill -9 at random moments,
restart on the same data directory, and check every acknowledged operation (`python soak/run.py`)."""
