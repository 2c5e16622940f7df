// maplibre placeholder
