-- Builds gn_synthese.synthese from the imported CSVs (run after the \copy of both).
\set ON_ERROR_STOP on
ANALYZE gn_synthese.import_raw;
ANALYZE gn_synthese.import_sensi;
CREATE TABLE gn_synthese.synthese AS
SELECT row_number() OVER ()::bigint AS id_synthese,
       r.id AS unique_id_sinp, r.cd_nom, r.cd_ref, r.nom_cite,
       r.date_debut AS date_min, r.date_fin AS date_max,
       r.ds_publique, nullif(r.diff_niv, '')::smallint AS diffusion_niveau_precision,
       r.id_jdd AS id_dataset, s.sensi AS sensi_niveau,
       c.id_area AS id_area_com, c.dep_code,
       ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) AS the_geom_4326,
       ST_Transform(ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326), 3857) AS the_geom_3857,
       ST_Transform(ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326), 2154) AS the_geom_local
FROM gn_synthese.import_raw r
JOIN gn_synthese.import_sensi s ON s.id = r.id
JOIN LATERAL (
  SELECT a.id_area, a.dep_code FROM ref_geo.l_areas a
  WHERE a.type_code = 'COM' AND ST_Within(ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326), a.geom)
  ORDER BY a.area_code LIMIT 1
) c ON true;

-- The public diffusion rank, and the Lambert-93 cells (10 km for aggregates, the public
-- diffusion cell for records blurred to a grid), computed by PostgreSQL from the record.
ALTER TABLE gn_synthese.synthese
  ADD COLUMN pub_rank smallint GENERATED ALWAYS AS
    (gn_synthese.public_rank(sensi_niveau, diffusion_niveau_precision, ds_publique)) STORED,
  ADD COLUMN c10_e integer GENERATED ALWAYS AS (floor(ST_X(the_geom_local) / 10000)::integer) STORED,
  ADD COLUMN c10_n integer GENERATED ALWAYS AS (floor(ST_Y(the_geom_local) / 10000)::integer) STORED,
  ADD COLUMN pub_cell_e integer GENERATED ALWAYS AS (floor(ST_X(the_geom_local) /
    gn_synthese.rank_metres(gn_synthese.public_rank(sensi_niveau, diffusion_niveau_precision, ds_publique)))::integer) STORED,
  ADD COLUMN pub_cell_n integer GENERATED ALWAYS AS (floor(ST_Y(the_geom_local) /
    gn_synthese.rank_metres(gn_synthese.public_rank(sensi_niveau, diffusion_niveau_precision, ds_publique)))::integer) STORED,
  ADD COLUMN agg_dep text;

-- The department a record is aggregated in at low zoom, from its diffusion area only (as
-- flou's departement_of_cell): for a record blurred to a grid cell, the department of the
-- commune under the cell's centre (else of any commune meeting the cell); otherwise the
-- department of its commune.
CREATE TABLE gn_synthese.cell_dep AS
WITH cells AS (
  SELECT DISTINCT pub_rank, gn_synthese.rank_metres(pub_rank) AS m, pub_cell_e AS e, pub_cell_n AS n
  FROM gn_synthese.synthese WHERE pub_rank IN (1, 2, 4, 5, 6, 7)
)
SELECT cells.pub_rank, cells.e, cells.n, coalesce(
  (SELECT a.dep_code FROM ref_geo.l_areas a WHERE a.type_code = 'COM'
     AND ST_Within(ST_Transform(ST_SetSRID(ST_MakePoint((e + 0.5) * m, (n + 0.5) * m), 2154), 4326), a.geom) LIMIT 1),
  (SELECT a.dep_code FROM ref_geo.l_areas a WHERE a.type_code = 'COM'
     AND ST_Intersects(ST_Transform(ST_MakeEnvelope(e::float8 * m, n::float8 * m, (e + 1)::float8 * m, (n + 1)::float8 * m, 2154), 4326), a.geom)
     ORDER BY a.area_code LIMIT 1)) AS dep_code
FROM cells;
UPDATE gn_synthese.synthese s SET agg_dep = s.dep_code WHERE s.pub_rank NOT IN (1, 2, 4, 5, 6, 7);
UPDATE gn_synthese.synthese s SET agg_dep = c.dep_code FROM gn_synthese.cell_dep c
  WHERE s.pub_rank = c.pub_rank AND s.pub_cell_e = c.e AND s.pub_cell_n = c.n;

-- Indexes as a PostGIS admin would create them for these queries.
ALTER TABLE gn_synthese.synthese ADD PRIMARY KEY (id_synthese);
CREATE INDEX synthese_geom_3857 ON gn_synthese.synthese USING gist (the_geom_3857);
CREATE INDEX synthese_geom_4326 ON gn_synthese.synthese USING gist (the_geom_4326);
CREATE INDEX synthese_pub_com ON gn_synthese.synthese (pub_rank, id_area_com);
CREATE INDEX synthese_pub_dep ON gn_synthese.synthese (pub_rank, dep_code);
CREATE INDEX synthese_pub_cell ON gn_synthese.synthese (pub_rank, pub_cell_e, pub_cell_n);
CREATE INDEX synthese_c10 ON gn_synthese.synthese (c10_e, c10_n);
CREATE INDEX synthese_agg_dep ON gn_synthese.synthese (agg_dep, cd_ref);
CREATE INDEX synthese_cd_ref ON gn_synthese.synthese (cd_ref);
DROP TABLE gn_synthese.import_raw;
DROP TABLE gn_synthese.import_sensi;
VACUUM ANALYZE gn_synthese.synthese;
