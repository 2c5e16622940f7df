-- A bounded mixed load for wrk: scripts/soak.sh and tests/soak_short.rs.
--   85 % tiles at every zoom 0-14 over the synthetic data's regions (random places, so the
--        pyramid holds far more tiles than the cache), 40 % of them as an agent; a third
--        with a filter (taxon, period, dataset) or H3 aggregates;
--    8 % indicators (a fixed set of variants, public and agent: their answers are cached);
--    4 % TileJSON, 3 % health.
-- Environment: SOAK_TOKEN (an agent's JWT; none: public only), SOAK_TAXA, SOAK_DATASETS and
-- SOAK_PLACES (comma-separated values taken from the input file).

local function split(s)
  local t = {}
  for v in string.gmatch(s or "", "[^,]+") do t[#t + 1] = v end
  return t
end

local token = os.getenv("SOAK_TOKEN")
if token == "" then token = nil end
local taxa = split(os.getenv("SOAK_TAXA"))
local datasets = split(os.getenv("SOAK_DATASETS"))

-- Where the records are: SOAK_PLACES "lon:lat,lon:lat,..." (the script and the test take
-- the mean position of the records of the busiest departments), else a few cities.
local places = {}
for _, p in ipairs(split(os.getenv("SOAK_PLACES"))) do
  local lon, lat = string.match(p, "^([-%d.]+):([-%d.]+)$")
  if lon then places[#places + 1] = {tonumber(lon), tonumber(lat)} end
end
if #places == 0 then
  places = {{5.72, 45.19}, {3.08, 45.78}, {4.83, 45.76}, {6.64, 44.56}, {3.01, 45.09}}
end

local indicators = {
  "/indicators",
  "/indicators/richness?unit=departement",
  "/indicators/observations?unit=maille10",
  "/indicators/pressure?unit=commune&format=csv",
  "/indicators/precise-share?unit=departement",
  "/indicators/first-last?unit=maille10&from=2000-01-01",
  "/indicators/observations?unit=region&by=year",
  "/indicators/richness?unit=h3:5",
  "/indicators/observations?unit=all&by=group",
}

local function tile(lon, lat, z)
  local n = 2 ^ z
  local x = math.floor((lon + 180) / 360 * n)
  local r = math.rad(lat)
  local y = math.floor((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
  return x, y
end

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  -- Deterministic per thread: the same load for the same seed.
  math.randomseed(1000 + (id or 0))
end

function request()
  local headers = {}
  if token and math.random() < 0.4 then
    headers["Authorization"] = "Bearer " .. token
  end
  local r = math.random()
  local path
  if r < 0.85 then
    local z = math.random(0, 14)
    local p = places[math.random(#places)]
    local lon = p[1] + (math.random() - 0.5) * 0.6
    local lat = p[2] + (math.random() - 0.5) * 0.4
    local x, y = tile(lon, lat, z)
    path = string.format("/tiles/%d/%d/%d.mvt", z, x, y)
    local f = math.random()
    if f < 0.12 and #taxa > 0 then
      path = path .. "?taxon=" .. taxa[math.random(#taxa)]
    elseif f < 0.22 then
      path = path .. "?from=2010-01-01&to=2020-12-31"
    elseif f < 0.28 and #datasets > 0 then
      path = path .. "?dataset=" .. datasets[math.random(#datasets)]
    elseif f < 0.33 then
      path = path .. "?aggregate=h3"
    end
  elseif r < 0.93 then
    path = indicators[math.random(#indicators)]
  elseif r < 0.97 then
    path = "/tiles.json"
  else
    path = "/health"
  end
  return wrk.format("GET", path, headers)
end
