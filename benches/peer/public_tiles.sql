-- The peer's public tile: a Martin function source serving the layers flou serves to an
-- anonymous caller (README.md "Serving", src/tiles/render.rs), computed the GeoNature way:
-- each record's public diffusion rank (gn_synthese.public_rank, public policy "precise"),
-- then the precise rows as points and the blurred rows counted per diffusion area, joined
-- to the commune / grid cell / department geometry. ST_AsMVTGeom + ST_AsMVT, extent 4096,
-- buffer 64. Query parameter `taxon` (a cd_ref) filters the records.
--
-- Zoom plan (flou's defaults):
--   z <= 6  aggregates per department (every visible record, in the department of its
--           diffusion area), boundaries (departments);
--   z 7–9   aggregates per 10 km cell (precise records and records blurred to 1/2/5/10 km),
--           blurred (communes, 20/50 km cells, departments), boundaries;
--   z >= 10 observations (precise points; point groups in tiles of more than 4096 below
--           z16), blurred (every blurred area), boundaries (departments and communes).
CREATE OR REPLACE FUNCTION public.flou_public(z integer, x integer, y integer, query_params json)
RETURNS bytea LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  benv geometry := ST_TileEnvelope(z, x, y, margin => 64.0 / 4096);
  l93 box2d := Box2D(ST_Transform(ST_Segmentize(ST_TileEnvelope(z, x, y, margin => 64.0 / 4096),
                 (ST_XMax(ST_TileEnvelope(z, x, y)) - ST_XMin(ST_TileEnvelope(z, x, y))) / 8), 2154));
  taxon integer := nullif(query_params ->> 'taxon', '')::integer;
  agg bytea := '';
  blur bytea := '';
  obs bytea := '';
  bnd bytea := '';
  blurred_ranks smallint[];
BEGIN
  IF z <= 6 THEN
    SELECT ST_AsMVT(t, 'aggregates', 4096, 'geom', 'fid') INTO agg FROM (
      SELECT d.id_area AS fid, 'departement' AS unit, d.area_code AS code, d.area_name AS name,
             c.n AS observations, c.taxa,
             ST_AsMVTGeom(d.geom_3857, env, 4096, 64, true) AS geom
      FROM ref_geo.l_areas d
      JOIN LATERAL (
        SELECT count(*) AS n, count(DISTINCT s.cd_ref) AS taxa FROM gn_synthese.synthese s
        WHERE s.agg_dep = d.area_code AND s.pub_rank < 10 AND (taxon IS NULL OR s.cd_ref = taxon)
      ) c ON c.n > 0
      WHERE d.type_code = 'DEP' AND d.geom_3857 && benv
    ) t WHERE t.geom IS NOT NULL;
  ELSIF z <= 9 THEN
    SELECT ST_AsMVT(t, 'aggregates', 4096, 'geom', 'fid') INTO agg FROM (
      SELECT (c.e::bigint * 100000 + c.n) AS fid, 'maille10' AS unit,
             gn_synthese.cell_code(10000, c.e, c.n) AS code, gn_synthese.cell_code(10000, c.e, c.n) AS name,
             c.n_obs AS observations, c.taxa,
             ST_AsMVTGeom(gn_synthese.cell_geom(10000, c.e, c.n), env, 4096, 64, true) AS geom
      FROM (
        SELECT s.c10_e AS e, s.c10_n AS n, count(*) AS n_obs, count(DISTINCT s.cd_ref) AS taxa
        FROM gn_synthese.synthese s
        WHERE s.c10_e BETWEEN floor(ST_XMin(l93) / 10000)::integer AND floor(ST_XMax(l93) / 10000)::integer
          AND s.c10_n BETWEEN floor(ST_YMin(l93) / 10000)::integer AND floor(ST_YMax(l93) / 10000)::integer
          AND s.pub_rank IN (0, 1, 2, 4, 5) AND (taxon IS NULL OR s.cd_ref = taxon)
        GROUP BY 1, 2
        OFFSET 0  -- a fence: the cell geometry is tested per cell, not pushed down per record
      ) c
      WHERE gn_synthese.cell_geom(10000, c.e, c.n) && benv
    ) t WHERE t.geom IS NOT NULL;
    blurred_ranks := ARRAY[3, 6, 7, 9]::smallint[];
  ELSE
    -- Precise points; in a tile of more than 4096 below z16, those sharing a 64-unit square
    -- (aligned on the world grid: -64, 0, 64, ...) are one point group with their count,
    -- the members' taxon and level when uniform (else level 'mixed'), at their mean.
    WITH p AS MATERIALIZED (
      SELECT s.id_synthese AS fid, s.unique_id_sinp AS id, s.cd_ref, s.nom_cite AS name,
             s.date_min::text AS date_debut, s.date_max::text AS date_fin, s.id_dataset AS dataset,
             s.sensi_niveau::text AS level,
             ST_AsMVTGeom(s.the_geom_3857, env, 4096, 64, true) AS geom
      FROM gn_synthese.synthese s
      WHERE s.the_geom_3857 && benv AND s.pub_rank = 0 AND (taxon IS NULL OR s.cd_ref = taxon)
    ), k AS MATERIALIZED (
      SELECT p.*, floor((ST_X(p.geom) + 64) / 64)::integer AS gx,
             floor((ST_Y(p.geom) + 64) / 64)::integer AS gy
      FROM p WHERE p.geom IS NOT NULL
    ), g AS (
      SELECT k.gx, k.gy, count(*) AS n FROM k
      WHERE z < 16 AND (SELECT count(*) FROM k) > 4096
      GROUP BY k.gx, k.gy
    )
    SELECT ST_AsMVT(t, 'observations', 4096, 'geom', 'fid') INTO obs FROM (
      SELECT k.fid, k.id, k.cd_ref, k.name, k.date_debut, k.date_fin, k.dataset, k.level,
             NULL::bigint AS observations, k.geom
      FROM k LEFT JOIN g ON g.gx = k.gx AND g.gy = k.gy
      WHERE g.n IS NULL OR g.n = 1
      UNION ALL
      SELECT NULL::bigint, NULL, CASE WHEN min(k.cd_ref) = max(k.cd_ref) THEN min(k.cd_ref) END,
             NULL, NULL, NULL, NULL,
             CASE WHEN min(k.level) = max(k.level) THEN min(k.level) ELSE 'mixed' END,
             count(*), ST_Point(round(avg(ST_X(k.geom))), round(avg(ST_Y(k.geom))))
      FROM k JOIN g ON g.gx = k.gx AND g.gy = k.gy
      WHERE g.n > 1
      GROUP BY k.gx, k.gy
    ) t;
    blurred_ranks := ARRAY[1, 2, 3, 4, 5, 6, 7, 9]::smallint[];
  END IF;

  IF blurred_ranks IS NOT NULL THEN
    SELECT ST_AsMVT(t, 'blurred', 4096, 'geom', 'fid') INTO blur FROM (
      -- Communes meeting the tile, with the records blurred to them.
      SELECT a.id_area AS fid, 'commune' AS kind, 'commune' AS precision, a.area_code AS code,
             a.area_name AS name, c.n AS observations, c.taxa,
             ST_AsMVTGeom(a.geom_3857, env, 4096, 64, true) AS geom
      FROM ref_geo.l_areas a
      JOIN LATERAL (
        SELECT count(*) AS n, count(DISTINCT s.cd_ref) AS taxa FROM gn_synthese.synthese s
        WHERE s.pub_rank = 3 AND s.id_area_com = a.id_area AND (taxon IS NULL OR s.cd_ref = taxon)
      ) c ON c.n > 0
      WHERE a.type_code = 'COM' AND a.geom_3857 && benv AND 3 = ANY (blurred_ranks)
      UNION ALL
      -- Departments meeting the tile.
      SELECT a.id_area, 'departement', 'departement', a.area_code, a.area_name, c.n, c.taxa,
             ST_AsMVTGeom(a.geom_3857, env, 4096, 64, true)
      FROM ref_geo.l_areas a
      JOIN LATERAL (
        SELECT count(*) AS n, count(DISTINCT s.cd_ref) AS taxa FROM gn_synthese.synthese s
        WHERE s.pub_rank = 9 AND s.dep_code = a.area_code AND (taxon IS NULL OR s.cd_ref = taxon)
      ) c ON c.n > 0
      WHERE a.type_code = 'DEP' AND a.geom_3857 && benv
      UNION ALL
      -- Grid cells (1–50 km) meeting the tile.
      SELECT (g.r::bigint * 10000000000 + g.e::bigint * 100000 + g.n), 'maille',
             (gn_synthese.rank_metres(g.r) / 1000) || 'km',
             gn_synthese.cell_code(gn_synthese.rank_metres(g.r), g.e, g.n),
             gn_synthese.cell_code(gn_synthese.rank_metres(g.r), g.e, g.n), g.n_obs, g.taxa,
             ST_AsMVTGeom(gn_synthese.cell_geom(gn_synthese.rank_metres(g.r), g.e, g.n), env, 4096, 64, true)
      FROM unnest(blurred_ranks) AS rk(r0)
      JOIN LATERAL (
        SELECT s.pub_rank AS r, s.pub_cell_e AS e, s.pub_cell_n AS n, count(*) AS n_obs,
               count(DISTINCT s.cd_ref) AS taxa
        FROM gn_synthese.synthese s
        WHERE s.pub_rank = rk.r0
          AND s.pub_cell_e BETWEEN floor(ST_XMin(l93) / gn_synthese.rank_metres(rk.r0))::integer
                               AND floor(ST_XMax(l93) / gn_synthese.rank_metres(rk.r0))::integer
          AND s.pub_cell_n BETWEEN floor(ST_YMin(l93) / gn_synthese.rank_metres(rk.r0))::integer
                               AND floor(ST_YMax(l93) / gn_synthese.rank_metres(rk.r0))::integer
          AND (taxon IS NULL OR s.cd_ref = taxon)
        GROUP BY 1, 2, 3
        OFFSET 0  -- a fence, as above
      ) g ON true
      WHERE rk.r0 IN (1, 2, 4, 5, 6, 7)
        AND gn_synthese.cell_geom(gn_synthese.rank_metres(g.r), g.e, g.n) && benv
    ) t WHERE t.geom IS NOT NULL;
  END IF;

  SELECT ST_AsMVT(t, 'boundaries', 4096, 'geom', 'fid') INTO bnd FROM (
    SELECT a.id_area AS fid, CASE a.type_code WHEN 'DEP' THEN 'departement' ELSE 'commune' END AS kind,
           a.area_code AS code, a.area_name AS name,
           ST_AsMVTGeom(a.geom_3857, env, 4096, 64, true) AS geom
    FROM ref_geo.l_areas a
    WHERE a.geom_3857 && benv AND (a.type_code = 'DEP' OR z >= 10)
  ) t WHERE t.geom IS NOT NULL;

  RETURN coalesce(agg, '') || coalesce(blur, '') || coalesce(obs, '') || coalesce(bnd, '');
END
$$;
