"""Geography: beats (polygons), point-in-beat, gazetteer, postcodes, police.uk, geocoding."""
