-- The peer's schema, in GeoNature's shape: ref_geo.l_areas (communes, departments),
-- gn_synthese.synthese (one row per observation, with its commune found by ST_Within as
-- GeoNature's cor_area_synthese trigger does, and its sensitivity level as flou computed
-- it), and the public diffusion level of each record as a stored generated column.
-- Loaded by benches/peer/load.sh; psql variables :csv and :sensi name the input files.
\set ON_ERROR_STOP on
DROP SCHEMA IF EXISTS gn_synthese CASCADE;
CREATE SCHEMA gn_synthese;

-- Communes and departments, as ogr2ogr loaded them into ref_geo.*_src.
DROP TABLE IF EXISTS ref_geo.l_areas;
CREATE TABLE ref_geo.l_areas (
  id_area serial PRIMARY KEY,
  type_code text NOT NULL,           -- COM | DEP
  area_code text NOT NULL,
  area_name text NOT NULL,
  dep_code text NOT NULL,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  geom_3857 geometry(MultiPolygon, 3857) NOT NULL
);
INSERT INTO ref_geo.l_areas (type_code, area_code, area_name, dep_code, geom, geom_3857)
SELECT 'COM', code, nom, left(code, 2), geom, ST_Transform(geom, 3857) FROM ref_geo.communes_src
UNION ALL
SELECT 'DEP', code, nom, code, geom, ST_Transform(geom, 3857) FROM ref_geo.departements_src;
CREATE INDEX l_areas_geom ON ref_geo.l_areas USING gist (geom);
CREATE INDEX l_areas_geom_3857 ON ref_geo.l_areas USING gist (geom_3857);
CREATE UNIQUE INDEX l_areas_type_code ON ref_geo.l_areas (type_code, area_code);
ANALYZE ref_geo.l_areas;

-- Public diffusion rank, flou's coarseness order (src/access/diffusion.rs):
-- 0 precise, 1 1 km, 2 2 km, 3 commune, 4 5 km, 5 10 km, 6 20 km, 7 50 km, 9 department,
-- 10 hidden. The coarsest of the sensitivity level, the producer's
-- diffusionNiveauPrecision, private data at least at the commune (when the producer left
-- the default) and the public policy ("precise" for this comparison, so no floor).
CREATE OR REPLACE FUNCTION gn_synthese.public_rank(sensi text, producer smallint, ds_publique text)
RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT greatest(
    CASE sensi WHEN '0' THEN 0 WHEN '1' THEN 3 WHEN '2' THEN 5 WHEN '3' THEN 9 WHEN '4' THEN 10
      WHEN '2.1' THEN 1 WHEN '2.2' THEN 2 WHEN '2.3' THEN 4 WHEN '2.4' THEN 5 WHEN '2.5' THEN 6
      WHEN '2.6' THEN 7 WHEN '2.7' THEN 9 WHEN '2.8' THEN 10 ELSE 10 END,
    CASE producer WHEN 1 THEN 3 WHEN 2 THEN 5 WHEN 3 THEN 9 WHEN 4 THEN 10 ELSE 0 END,
    CASE WHEN ds_publique = 'Pr' AND coalesce(producer, 0) = 0 THEN 3 ELSE 0 END
  )::smallint
$$;

-- Grid side in metres of a grid rank (NULL for other ranks).
CREATE OR REPLACE FUNCTION gn_synthese.rank_metres(r smallint)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE r WHEN 1 THEN 1000 WHEN 2 THEN 2000 WHEN 4 THEN 5000 WHEN 5 THEN 10000
    WHEN 6 THEN 20000 WHEN 7 THEN 50000 END
$$;

-- INPN code of a Lambert-93 cell (src/geo/grid.rs): 10 km in 10 km units 3/3 digits,
-- 1/2 km in km 3/4 digits, 5/20/50 km in km 4/4 digits.
CREATE OR REPLACE FUNCTION gn_synthese.cell_code(metres integer, e integer, n integer)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN metres = 10000 THEN '10kmL93E' || lpad(e::text, 3, '0') || 'N' || lpad(n::text, 3, '0')
    WHEN metres <= 2000 THEN (metres / 1000) || 'kmL93E' || lpad((e * metres / 1000)::text, 3, '0')
                              || 'N' || lpad((n * metres / 1000)::text, 4, '0')
    ELSE (metres / 1000) || 'kmL93E' || lpad((e * metres / 1000)::text, 4, '0')
         || 'N' || lpad((n * metres / 1000)::text, 4, '0')
  END
$$;

-- The cell's square, densified (8 points per edge, as flou draws it), in Web Mercator.
CREATE OR REPLACE FUNCTION gn_synthese.cell_geom(metres integer, e integer, n integer)
RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ST_Transform(ST_Segmentize(ST_MakeEnvelope(e::float8 * metres, n::float8 * metres,
    (e + 1)::float8 * metres, (n + 1)::float8 * metres, 2154), metres / 8.0), 3857)
$$;

CREATE UNLOGGED TABLE gn_synthese.import_raw (
  id text, cd_nom integer, cd_ref integer, nom_cite text, date_debut date, date_fin date,
  statut text, comportement text, ds_publique text, diff_niv text, id_jdd text,
  lon float8, lat float8, code_commune text
);
CREATE UNLOGGED TABLE gn_synthese.import_sensi (
  id text, sensi text, alerte text, cd_sl text, rule_id text, until text
);
