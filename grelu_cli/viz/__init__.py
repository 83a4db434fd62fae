"""Plot predicted tracks: read a region from bigWig/parquet (tracks.py), draw it (draw.py).

Importing this package imports neither matplotlib nor pyBigWig; the functions that need them
import them when called.
"""
