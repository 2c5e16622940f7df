//! The `flou` command line.
#![forbid(unsafe_code)]

/// jemalloc, with a background thread that returns freed pages to the system after a delay:
/// glibc malloc kept what the parallel day-index build and the renders had freed (see
/// Cargo.toml and benches/RESULTS.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use flou::date::Day;
use flou::ingest::append::{run_append, AppendOptions};
use flou::ingest::pipeline::{self, IngestOptions, ReferentialPaths};
use flou::ingest::reevaluate::{run_reevaluate, ReevaluateOptions, ReevaluateReport};
use flou::ingest::Srid;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "flou",
    version,
    about = "SINP observations as tiles and indicators, blurred to each caller's rights"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum SridArg {
    #[value(name = "4326")]
    Wgs84,
    #[value(name = "2154")]
    Lambert93,
}

#[derive(Subcommand)]
enum Command {
    /// Read occurrence files, compute each observation's sensitivity, write a new store generation.
    Ingest {
        /// Occurrence files: SINP CSV (.csv), GeoJSON (.geojson) or FlatGeobuf (.fgb).
        /// Default (full ingest): the real GeoNature sample shipped in data/.
        #[arg(long, num_args = 1..)]
        occurrences: Vec<PathBuf>,
        /// More occurrence files (same as --occurrences).
        files: Vec<PathBuf>,
        /// Add the files as one more segment of an existing store (daily delta) instead of
        /// writing a new store: same checks, rejects and summary; records replace earlier
        /// ones with the same idSINPOccTax, deletions become tombstones.
        #[arg(long)]
        append: bool,
        /// The store to append to (with --append; --out is accepted too).
        #[arg(long, requires = "append")]
        store: Option<PathBuf>,
        /// CSV files of deleted observations (an idSINPOccTax column), with --append.
        #[arg(long, num_args = 1.., requires = "append")]
        delete: Vec<PathBuf>,
        /// Column mapping file (TOML): source column names and values → SINP fields and
        /// codes. See docs/column-mapping.md and data/mappings/.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// SRID of a WKT `geometrie` column.
        #[arg(long, value_enum, default_value = "4326")]
        srid: SridArg,
        /// Sensitivity rules (especesensible.csv).
        #[arg(long)]
        referential: Option<PathBuf>,
        /// Sensitivity lists (especesensiblelistes.csv).
        #[arg(long)]
        lists: Option<PathBuf>,
        /// Department → pre-2016 region table.
        #[arg(long)]
        departement_regions: Option<PathBuf>,
        /// Taxonomy: GeoNature bib_noms.csv or a TAXREF table.
        #[arg(long)]
        taxonomy: Option<PathBuf>,
        /// Ingest without any taxonomy (cd_ref = the file's cdRef or cdNom).
        #[arg(long, conflicts_with = "taxonomy")]
        no_taxonomy: bool,
        /// Communes GeoJSON (properties code, nom).
        #[arg(long)]
        communes: Option<PathBuf>,
        /// Departments GeoJSON (properties code, nom).
        #[arg(long)]
        departements: Option<PathBuf>,
        /// The store directory (created, or given a new generation).
        #[arg(long, default_value = "flou-store")]
        out: PathBuf,
        /// Directory of the embedded defaults (default: $FLOU_DATA, ./data, or the source tree's data/).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Merge the live records of every segment of a store into one segment (new generation).
    Compact {
        #[arg(long, default_value = "flou-store")]
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Re-evaluate every stored observation's sensitivity with a new referential or taxonomy
    /// (the observation files are not read again) and publish the result as a new generation.
    Reevaluate {
        #[arg(long, default_value = "flou-store")]
        store: PathBuf,
        /// Sensitivity rules (especesensible.csv).
        #[arg(long)]
        referential: Option<PathBuf>,
        /// Sensitivity lists (especesensiblelistes.csv).
        #[arg(long)]
        lists: Option<PathBuf>,
        /// Department → pre-2016 region table.
        #[arg(long)]
        departement_regions: Option<PathBuf>,
        /// Taxonomy: GeoNature bib_noms.csv or a TAXREF table.
        #[arg(long)]
        taxonomy: Option<PathBuf>,
        #[arg(long, conflicts_with = "taxonomy")]
        no_taxonomy: bool,
        /// "Changed level" is evaluated on this day (YYYY-MM-DD) instead of today.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// One CSV row per observation: idSINPOccTax,sensiNiveau,sensiAlerte,cdSl,ruleId,sensitiveUntil.
    SensitivityReport {
        #[arg(long, default_value = "flou-store")]
        store: PathBuf,
        /// Evaluate on this day (YYYY-MM-DD) instead of today.
        #[arg(long)]
        at: Option<String>,
        /// Only this dataset (idSINPJdd).
        #[arg(long)]
        dataset: Option<String>,
    },
    /// Counts, extent, size and format version of a store.
    Info {
        #[arg(long, default_value = "flou-store")]
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Serve tiles, TileJSON, styles and the viewer. With no store, the embedded default data
    /// is ingested into ./flou-store first.
    Serve {
        #[arg(long)]
        store: Option<PathBuf>,
        /// flou.toml: public policy, token key, tile plan (see src/server/config.rs).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Answer an extract request (SINP F1/F2/F3 files and the request summary) into DIR.
    Extract {
        #[arg(long, default_value = "flou-store")]
        store: PathBuf,
        /// The request (JSON: perimeter | communes | departements, taxa, from, to, study,
        /// released_groups).
        #[arg(long)]
        request: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// The caller's JWT, verified with the config's [auth]; `none` (default): public.
        #[arg(long, default_value = "none")]
        token: String,
        /// flou.toml: public policy, token key, taxonomy.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Write the public tile pyramid (z0..maxzoom over the store's areas) as a PMTiles v3
    /// archive; tiles are the bytes /tiles serves the public, stored gzip-compressed.
    ExportPmtiles {
        #[arg(long, default_value = "flou-store")]
        store: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 12)]
        maxzoom: u8,
        /// flou.toml: public policy and tile plan, as for serve.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Write a realistic synthetic SINP CSV for scale tests.
    Synth {
        #[arg(long)]
        records: u64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Directory of the referentials to draw from (default: as for ingest).
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

fn day_arg(s: Option<&str>) -> Result<Day> {
    match s {
        Some(s) => Day::parse(s).with_context(|| format!("--at {s:?}")),
        None => Ok(Day::today()),
    }
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Ingest {
            mut occurrences,
            files,
            append,
            store,
            delete,
            mapping,
            srid,
            referential,
            lists,
            departement_regions,
            taxonomy,
            no_taxonomy,
            communes,
            departements,
            out,
            data,
            json,
        } => {
            let data = data.unwrap_or_else(pipeline::default_data_dir);
            let d = ReferentialPaths::embedded(&data);
            let referentials = ReferentialPaths {
                rules: referential.unwrap_or(d.rules),
                lists: lists.unwrap_or(d.lists),
                departement_regions: departement_regions.unwrap_or(d.departement_regions),
                taxonomy: if no_taxonomy {
                    None
                } else {
                    taxonomy.or(d.taxonomy)
                },
                communes: communes.unwrap_or(d.communes),
                departements: departements.unwrap_or(d.departements),
            };
            occurrences.extend(files);
            let srid = match srid {
                SridArg::Wgs84 => Srid::Wgs84,
                SridArg::Lambert93 => Srid::Lambert93,
            };
            if append {
                if occurrences.is_empty() && delete.is_empty() {
                    bail!("--append needs occurrence files or --delete files");
                }
                let store = store.unwrap_or(out);
                let opts = AppendOptions {
                    store: store.clone(),
                    occurrences,
                    deletions: delete,
                    srid,
                    referentials,
                    mapping,
                    progress: std::io::stderr().is_terminal(),
                    today: Day::today(),
                };
                let s = run_append(&opts)
                    .context("append failed; the previous store generation is unchanged")?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&s)?);
                } else {
                    print_summary(&s, &store, opts.today);
                    println!(
                        "delta        {} replaced, {} deleted ({} naming no live record)",
                        s.replaced, s.deletions, s.deletions_unmatched
                    );
                }
                return Ok(());
            }
            let occurrences = if occurrences.is_empty() {
                vec![data.join("occurrences/geonature-synthese-sample.csv")]
            } else {
                occurrences
            };
            let opts = IngestOptions {
                occurrences,
                srid,
                referentials,
                out,
                progress: std::io::stderr().is_terminal(),
                today: Day::today(),
                mapping,
            };
            let s =
                pipeline::run(&opts).context("ingest failed; any previous store is unchanged")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                print_summary(&s, &opts.out, opts.today);
            }
        }
        Command::Compact { store, json } => {
            let s = flou::store::compact::compact(&store)
                .context("compaction failed; the previous store generation is unchanged")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!(
                    "store        {} (generation {})",
                    store.display(),
                    s.generation
                );
                println!(
                    "segments     {} → 1; records {} → {} (live)",
                    s.segments_before, s.records_before, s.records_after
                );
                println!("size         {} → {} bytes", s.bytes_before, s.bytes_after);
                println!("time         {:.2} s", s.seconds);
            }
        }
        Command::Reevaluate {
            store,
            referential,
            lists,
            departement_regions,
            taxonomy,
            no_taxonomy,
            at,
            data,
            json,
        } => {
            let data = data.unwrap_or_else(pipeline::default_data_dir);
            let d = ReferentialPaths::embedded(&data);
            let opts = ReevaluateOptions {
                store: store.clone(),
                referentials: ReferentialPaths {
                    rules: referential.unwrap_or(d.rules),
                    lists: lists.unwrap_or(d.lists),
                    departement_regions: departement_regions.unwrap_or(d.departement_regions),
                    taxonomy: if no_taxonomy {
                        None
                    } else {
                        taxonomy.or(d.taxonomy)
                    },
                    communes: d.communes,
                    departements: d.departements,
                },
                today: day_arg(at.as_deref())?,
            };
            let r = run_reevaluate(&opts)
                .context("re-evaluation failed; the previous store generation is unchanged")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print_reevaluation(&r, &store);
            }
        }
        Command::SensitivityReport { store, at, dataset } => {
            let at = day_arg(at.as_deref())?;
            let store = flou::store::Store::open(&store)?;
            let stdout = std::io::stdout().lock();
            flou::report::sensitivity_report(&store, at, dataset.as_deref(), stdout)?;
        }
        Command::Info { store, json } => {
            let store = flou::store::Store::open(&store)?;
            let info = flou::report::store_info(&store, Day::today());
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print_info(&info);
            }
        }
        Command::Serve {
            store,
            config,
            bind,
        } => serve(store, config, bind)?,
        Command::Extract {
            store,
            request,
            out,
            token,
            config,
        } => extract(store, request, out, token, config)?,
        Command::ExportPmtiles {
            store,
            out,
            maxzoom,
            config,
        } => {
            let (cfg, loaded) = open_for_export(&store, config.as_deref())?;
            let s = flou::pmtiles_export::export_public(
                &loaded,
                cfg.policy()?,
                &cfg.plan(),
                maxzoom,
                Day::today(),
                &out,
            )?;
            println!("{}", serde_json::to_string_pretty(&s)?);
        }
        Command::Synth {
            records,
            out,
            seed,
            data,
        } => {
            let data = data.unwrap_or_else(pipeline::default_data_dir);
            if records == 0 {
                bail!("--records must be at least 1");
            }
            let n =
                flou::synth::write_csv(&ReferentialPaths::embedded(&data), records, seed, &out)?;
            eprintln!("wrote {n} synthetic observations to {}", out.display());
        }
    }
    Ok(())
}

fn serve(store: Option<PathBuf>, config: Option<PathBuf>, bind: Option<String>) -> Result<()> {
    use flou::server::{AppState, Loaded, ServeConfig};
    let cfg = match &config {
        Some(p) => ServeConfig::read(p)?,
        None => ServeConfig::default(),
    };
    flou::server::logging::init(&cfg.log)?;
    let data = pipeline::default_data_dir();
    let store = store
        .or(cfg.store.clone())
        .unwrap_or_else(|| PathBuf::from("flou-store"));
    if !store.join("manifest.json").exists() {
        eprintln!(
            "no store at {}: ingesting the embedded default data first",
            store.display()
        );
        let opts = IngestOptions {
            occurrences: vec![data.join("occurrences/geonature-synthese-sample.csv")],
            srid: Srid::Wgs84,
            referentials: ReferentialPaths::embedded(&data),
            out: store.clone(),
            progress: std::io::stderr().is_terminal(),
            today: Day::today(),
            mapping: None,
        };
        let s = pipeline::run(&opts).context("ingest of the embedded default data failed")?;
        print_summary(&s, &opts.out, opts.today);
    }
    let taxonomy = cfg
        .taxonomy
        .clone()
        .or_else(|| ReferentialPaths::embedded(&data).taxonomy);
    let loaded = Loaded::open(&store, taxonomy.as_deref().filter(|p| p.exists()))
        .with_context(|| format!("opening the store {}", store.display()))?;
    let state = AppState::new(loaded, &cfg)?;
    let bind = bind
        .or(cfg.bind.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let limits = flou::server::limits::Limits::from_section(&cfg.limits)?;
    // Renders, indicators and extracts run on the blocking pool; a request that times out
    // does not stop its work, so the pool, not only the requests, is bounded.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(limits.max_in_flight)
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(flou::server::limits::serve_with_limits(
        state,
        limits,
        &bind,
        |addr| {
            // Tests and scripts read this line to learn the port.
            println!("flou serving {} on http://{addr}/", store.display());
            tracing::info!(target: "flou::serve", %addr, "listening");
        },
    ))?;
    Ok(())
}

/// The config (or defaults) and the store opened as `serve` opens it.
fn open_for_export(
    store: &std::path::Path,
    config: Option<&std::path::Path>,
) -> Result<(flou::server::ServeConfig, flou::server::Loaded)> {
    use flou::server::{Loaded, ServeConfig};
    let cfg = match config {
        Some(p) => ServeConfig::read(p)?,
        None => ServeConfig::default(),
    };
    let taxonomy = cfg
        .taxonomy
        .clone()
        .or_else(|| ReferentialPaths::embedded(&pipeline::default_data_dir()).taxonomy);
    let loaded = Loaded::open(store, taxonomy.as_deref().filter(|p| p.exists()))
        .with_context(|| format!("opening the store {}", store.display()))?;
    Ok((cfg, loaded))
}

fn extract(
    store: PathBuf,
    request: PathBuf,
    out: PathBuf,
    token: String,
    config: Option<PathBuf>,
) -> Result<()> {
    use flou::access::view::AccessContext;
    let (cfg, loaded) = open_for_export(&store, config.as_deref())?;
    let caller = if token == "none" {
        flou::access::Caller::Public
    } else {
        let verifier = cfg
            .verifier()?
            .context("--token needs a --config with an [auth] section")?;
        verifier
            .caller_from_header(Some(&format!("Bearer {token}")))
            .map_err(|e| anyhow::anyhow!("--token: {}", e.public_message()))?
    };
    let text = std::fs::read_to_string(&request)
        .with_context(|| format!("reading {}", request.display()))?;
    let req: flou::extracts::ExtractRequest =
        serde_json::from_str(&text).with_context(|| format!("{}", request.display()))?;
    let released = req
        .released_groups
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let l = &loaded;
    let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, cfg.policy()?, &l.cells);
    let ex = flou::extracts::run(&ctx, &l.taxonomy, &caller, &req, &released, Day::today())
        .with_context(|| format!("{}", request.display()))?;
    let files = flou::extracts::output::write_all(&ctx, &l.taxonomy, &ex, &out)?;
    println!("{}", serde_json::to_string_pretty(&ex.summary)?);
    eprintln!("wrote {} files to {}", files.len(), out.display());
    Ok(())
}

fn print_reevaluation(r: &ReevaluateReport, store: &std::path::Path) {
    println!(
        "store        {} (generation {})",
        store.display(),
        r.generation
    );
    println!("observations {} (live)", r.observations);
    println!(
        "changed      {} levels in force on {}, {} timelines, {} valid names",
        r.total.changed_level, r.day, r.total.changed_timeline, r.changed_cd_ref
    );
    for (t, n) in &r.transitions {
        println!("  {t:<12} {n}");
    }
    println!("per taxon    (cd_ref, name: levels changed today / timelines changed)");
    for t in &r.per_taxon {
        println!(
            "  {:<8} {:<40} {} / {}",
            t.cd_ref,
            t.name.as_deref().unwrap_or("?"),
            t.count.changed_level,
            t.count.changed_timeline
        );
    }
    println!("per department");
    for d in &r.per_departement {
        println!(
            "  {:<4} {:<30} {} / {}",
            d.code, d.name, d.count.changed_level, d.count.changed_timeline
        );
    }
    println!("time         {:.2} s", r.seconds);
}

fn print_summary(s: &pipeline::IngestSummary, out: &std::path::Path, today: Day) {
    println!(
        "store        {} (generation {})",
        out.display(),
        s.generation
    );
    println!("rows read    {}", s.rows_read);
    println!("accepted     {}", s.accepted);
    println!("rejected     {}  → {}", s.rejected, s.rejects_report);
    for (field, n) in &s.rejected_by_field {
        println!("  {field:<22} {n}");
    }
    for f in &s.files {
        println!(
            "file         {}: {} rows, {} rejected",
            f.path, f.rows, f.rejected
        );
    }
    println!("sensitivity  (in force on {})", today);
    for (level, n) in &s.per_level {
        println!("  sensiNiveau {level:<4} {n}");
    }
    println!("  alerts (manual check) {}", s.alerts);
    let per_obs = if s.accepted > 0 {
        s.segment_bytes as f64 / s.accepted as f64
    } else {
        0.0
    };
    println!(
        "size         {} bytes: segment {} ({per_obs:.1} bytes/observation), areas {}",
        s.store_bytes,
        s.segment_bytes,
        s.store_bytes - s.segment_bytes
    );
    println!(
        "time         {:.2} s ({:.0} rows/s)",
        s.seconds,
        s.rows_read as f64 / s.seconds.max(1e-9)
    );
}

fn print_info(i: &flou::report::StoreInfo) {
    println!("store            {}", i.path);
    println!("format version   {}", i.format_version);
    println!("generation       {} ({})", i.generation, i.created);
    println!("segments         {}", i.segments);
    println!("records          {} ({} live)", i.records, i.live_records);
    println!(
        "areas            {} communes, {} departments",
        i.communes, i.departements
    );
    println!("datasets         {}", i.datasets);
    if let Some(e) = i.extent {
        println!(
            "extent           lon {:.5}..{:.5}, lat {:.5}..{:.5}",
            e[0], e[2], e[1], e[3]
        );
    }
    if let (Some(a), Some(b)) = (&i.first_date, &i.last_date) {
        println!("dates            {a} .. {b}");
    }
    println!(
        "size             {} bytes of segments ({:.1} bytes/record) + {} bytes of areas",
        i.segment_bytes, i.bytes_per_record, i.areas_bytes
    );
    println!("sensitivity on {}:", i.on);
    for (level, n) in &i.per_level {
        println!("  sensiNiveau {level:<4} {n}");
    }
}
