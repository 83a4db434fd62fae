"""Model zoo: registry of named models as data, weights download and cache, safe loading."""
