//! Loading the register from a folder of CSV files: each row is checked by
//! the register service's own rules, then written through the store's bulk
//! loader. One transaction for the whole folder: a bad row names its file
//! and line and changes nothing. Re-importing the same files changes nothing
//! either (rows are upserted).

use std::path::Path;

mod rows;

use crate::register::RegisterLoader;
use crate::store::Database;
use crate::vocabulary::InternalError;
use rows::{CustomerBatch, Loaded};

/// A long import reports progress every this many rows of a file.
pub const PROGRESS_EVERY: usize = 10_000;

/// Where an import reports how far it has come: (file, rows so far).
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize);

/// The files a fixture folder may hold, in the order they are loaded (each
/// may refer to rows of the ones before it).
const FILES: [&str; 5] = [
    "titles.csv",
    "customers.csv",
    "relation_types.csv",
    "users.csv",
    "subscriptions.csv",
];

/// One fixture file: its name (as shown in errors) and its contents.
#[derive(Debug, Clone)]
pub struct FixtureFile {
    pub path: String,
    pub contents: String,
}

impl FixtureFile {
    fn kind(&self) -> &str {
        Path::new(&self.path)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}:{line}: {message}")]
pub struct ImportError {
    pub path: String,
    /// 1-based; 0 when the error is about the file as a whole.
    pub line: u64,
    pub message: String,
}

/// Rows read, per file kind, in load order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub rows: Vec<(String, usize)>,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<_> = self.rows.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// The demo data set (README, "Run it"), built into the binary so `--demo` works
/// from any directory.
pub fn demo_fixtures() -> Vec<FixtureFile> {
    macro_rules! demo {
        ($($name:literal),+) => {
            vec![$(FixtureFile {
                path: concat!("fixtures/demo/", $name).to_owned(),
                contents: include_str!(concat!("../../fixtures/demo/", $name)).to_owned(),
            }),+]
        };
    }
    demo!(
        "titles.csv",
        "customers.csv",
        "relation_types.csv",
        "users.csv",
        "subscriptions.csv"
    )
}

/// Where a file stops being UTF-8, by line.
fn not_utf8(path: &Path, error: &std::string::FromUtf8Error) -> ImportError {
    let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
    let line = valid.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    ImportError {
        path: path.display().to_string(),
        line,
        message: "not UTF-8 (convert it, e.g. iconv -f latin1 -t utf-8)".to_owned(),
    }
}

/// Reads the fixture files of a folder. Files the importer does not know are
/// refused rather than skipped, so a misspelt name cannot go unnoticed.
pub fn read_fixture_dir(dir: &Path) -> Result<Vec<FixtureFile>, ImportError> {
    let whole = |path: &Path, message: String| ImportError {
        path: path.display().to_string(),
        line: 0,
        message,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| whole(dir, e.to_string()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| whole(dir, e.to_string()))?.path();
        if !path.is_file() {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !FILES.contains(&name) {
            return Err(whole(
                &path,
                format!("unknown fixture file; expected any of {}", FILES.join(", ")),
            ));
        }
        let bytes = std::fs::read(&path).map_err(|e| whole(&path, e.to_string()))?;
        let contents = String::from_utf8(bytes).map_err(|e| not_utf8(&path, &e))?;
        files.push(FixtureFile {
            path: path.display().to_string(),
            contents,
        });
    }
    if files.is_empty() {
        return Err(whole(
            dir,
            format!("no fixture files; expected any of {}", FILES.join(", ")),
        ));
    }
    Ok(files)
}

/// Loads fixture files in one transaction: all of them or nothing.
pub fn import(database: &Database, files: &[FixtureFile]) -> Result<ImportSummary, ImportError> {
    import_with_progress(database, files, &mut |_, _| {})
}

/// As [`import`], calling `progress` with a file's name and its rows so far
/// every [`PROGRESS_EVERY`] rows.
pub fn import_with_progress(
    database: &Database,
    files: &[FixtureFile],
    progress: Progress<'_>,
) -> Result<ImportSummary, ImportError> {
    database.bulk_load(|loader| import_all(loader, files, progress))
}

/// A database failure outside any one row.
impl From<InternalError> for ImportError {
    fn from(error: InternalError) -> Self {
        ImportError {
            path: "(database)".into(),
            line: 0,
            message: error.to_string(),
        }
    }
}

fn import_all(
    loader: &mut dyn RegisterLoader,
    files: &[FixtureFile],
    progress: Progress<'_>,
) -> Result<ImportSummary, ImportError> {
    let mut summary = ImportSummary::default();
    for kind in FILES {
        for file in files.iter().filter(|f| f.kind() == kind) {
            let rows = import_file(loader, file, progress)?;
            summary
                .rows
                .push((kind.trim_end_matches(".csv").to_owned(), rows));
        }
    }
    Ok(summary)
}

fn import_file(
    loader: &mut dyn RegisterLoader,
    file: &FixtureFile,
    progress: Progress<'_>,
) -> Result<usize, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file.contents.as_bytes());
    let at = |line: u64, message: String| ImportError {
        path: file.path.clone(),
        line,
        message,
    };
    let headers = reader.headers().map_err(|e| at(1, e.to_string()))?.clone();
    let mut customers = CustomerBatch::default();
    let mut count = 0;
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            at(line, e.to_string())
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        // A quote left open makes one record of several lines; say so when
        // that record is refused.
        let next_line = reader.position().line();
        let spans = |message: String| {
            if next_line > line + 1 {
                format!(
                    "{message} (the record runs from line {line} to line {}: is a quote left open?)",
                    next_line - 1
                )
            } else {
                message
            }
        };
        let loaded = Loaded {
            loader: &mut *loader,
            record: &record,
            headers: &headers,
            line,
        };
        let outcome = match file.kind() {
            "titles.csv" => loaded.title(),
            "customers.csv" => loaded.customer(&mut customers),
            "relation_types.csv" => loaded.relation_type(),
            "users.csv" => loaded.user(),
            "subscriptions.csv" => loaded.subscription(),
            other => Err(format!("unknown fixture file kind '{other}'")),
        };
        outcome.map_err(|message| at(line, spans(message)))?;
        count += 1;
        if count % PROGRESS_EVERY == 0 {
            progress(&file.path, count);
        }
    }
    customers
        .flush(loader)
        .map_err(|message| at(customers.first_line(), message))?;
    Ok(count)
}
