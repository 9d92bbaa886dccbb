//! Writing calibration data (CSV, JSON lines or Parquet), row by row.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::builder::{StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, Float64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::{Calibration, DataError, Format, Location, Row};

/// Column names written by [`CalibrationWriter`], in order.
pub const WRITTEN_COLUMNS: [&str; 4] = ["prompt_id", "response_id", "proxy", "true"];

/// Rows buffered per Parquet record batch.
const PARQUET_BATCH_ROWS: usize = 64 * 1024;

/// A streaming writer of calibration rows with columns `prompt_id,response_id,proxy,true`.
///
/// Rows are written as they come (Parquet: in record batches of 65,536 rows), so arbitrarily many rows can be
/// written in bounded memory. [`CalibrationWriter::finish`] must be called at the end: it flushes the data
/// and, for Parquet, writes the footer without which the file is unreadable.
///
/// ```
/// use hedge_data::{CalibrationWriter, Format, LoadOptions, Row, load};
/// let path = std::env::temp_dir().join(format!("hedge-data-doc-{}.parquet", std::process::id()));
/// let path = path.to_str().unwrap();
/// let mut w = CalibrationWriter::create(path, None)?; // format from the extension
/// for (p, r, x, y) in [("a", 0, 0.5, 1.0), ("a", 1, 0.7, 0.0), ("b", 0, 0.1, 0.0), ("b", 1, 0.2, 1.0)] {
///     w.write_row(&Row { prompt_id: p, response_id: Some(r), proxy: x, truth: y })?;
/// }
/// assert_eq!(w.finish()?, 4);
/// let cal = load(path, &LoadOptions::new())?;
/// assert_eq!(cal.prompt(1), ("b", &[0.1, 0.2][..], &[0.0, 1.0][..]));
/// # std::fs::remove_file(path).unwrap();
/// # Ok::<(), hedge_data::DataError>(())
/// ```
pub struct CalibrationWriter {
    name: String,
    rows: u64,
    sink: Sink,
}

enum Sink {
    Csv(Box<csv::Writer<Box<dyn Write + Send>>>),
    Jsonl(BufWriter<Box<dyn Write + Send>>),
    Parquet(Box<ParquetSink>),
}

struct ParquetSink {
    writer: ArrowWriter<Box<dyn Write + Send>>,
    schema: SchemaRef,
    prompt: StringBuilder,
    response: UInt64Builder,
    proxy: Vec<f64>,
    truth: Vec<f64>,
}

impl CalibrationWriter {
    /// Creates (or truncates) the file `path` and writes the header, if the format has one. `path` `"-"` is
    /// standard output. `format`: `None` detects it from the extension (see [`Format::from_path`]); for
    /// standard output `None` means CSV.
    pub fn create(path: &str, format: Option<Format>) -> Result<Self, DataError> {
        if path == "-" {
            return Self::new(std::io::stdout(), "<stdout>", format.unwrap_or(Format::Csv));
        }
        let format = match format.or_else(|| Format::from_path(path)) {
            Some(f) => f,
            None => {
                return Err(DataError::UnknownFormat {
                    path: path.to_string(),
                    extension: crate::format::extension(path).unwrap_or("").to_string(),
                });
            }
        };
        let file = File::create(path).map_err(|e| DataError::io(path, e))?;
        Self::new(file, path, format)
    }

    /// Writes to any writer; `name` is used in error messages.
    pub fn new<W: Write + Send + 'static>(writer: W, name: &str, format: Format) -> Result<Self, DataError> {
        let writer: Box<dyn Write + Send> = Box::new(writer);
        let sink = match format {
            Format::Csv => {
                let mut w = csv::WriterBuilder::new().buffer_capacity(1 << 17).from_writer(writer);
                w.write_record(WRITTEN_COLUMNS).map_err(|e| csv_write_error(e, name))?;
                Sink::Csv(Box::new(w))
            }
            Format::JsonLines => Sink::Jsonl(BufWriter::with_capacity(1 << 17, writer)),
            Format::Parquet => {
                let schema = Arc::new(Schema::new(vec![
                    Field::new(WRITTEN_COLUMNS[0], DataType::Utf8, false),
                    Field::new(WRITTEN_COLUMNS[1], DataType::UInt64, true),
                    Field::new(WRITTEN_COLUMNS[2], DataType::Float64, false),
                    Field::new(WRITTEN_COLUMNS[3], DataType::Float64, false),
                ]));
                // Rewards are mostly distinct floats, for which dictionary encoding only costs time.
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_column_dictionary_enabled(ColumnPath::from(WRITTEN_COLUMNS[2]), false)
                    .set_column_dictionary_enabled(ColumnPath::from(WRITTEN_COLUMNS[3]), false)
                    .build();
                let writer = ArrowWriter::try_new(writer, schema.clone(), Some(props))
                    .map_err(|e| DataError::parquet(name, e))?;
                Sink::Parquet(Box::new(ParquetSink {
                    writer,
                    schema,
                    prompt: StringBuilder::with_capacity(PARQUET_BATCH_ROWS, PARQUET_BATCH_ROWS * 8),
                    response: UInt64Builder::with_capacity(PARQUET_BATCH_ROWS),
                    proxy: Vec::with_capacity(PARQUET_BATCH_ROWS),
                    truth: Vec::with_capacity(PARQUET_BATCH_ROWS),
                }))
            }
        };
        Ok(CalibrationWriter {
            name: name.to_string(),
            rows: 0,
            sink,
        })
    }

    /// Number of rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.rows
    }

    /// Writes one row. Fails on an empty prompt id or a non-finite reward (which could not be loaded back).
    pub fn write_row(&mut self, row: &Row<'_>) -> Result<(), DataError> {
        let location = Location::Row(self.rows + 1);
        if row.prompt_id.is_empty() {
            return Err(DataError::Missing {
                path: self.name.clone(),
                location,
                column: WRITTEN_COLUMNS[0].into(),
            });
        }
        for (value, column) in [(row.proxy, WRITTEN_COLUMNS[2]), (row.truth, WRITTEN_COLUMNS[3])] {
            if !value.is_finite() {
                return Err(DataError::NonFinite {
                    path: self.name.clone(),
                    location,
                    column: column.into(),
                    value: value.to_string(),
                });
            }
        }
        let name = &self.name;
        match &mut self.sink {
            Sink::Csv(w) => {
                let mut ibuf = [0u8; 24];
                let mut xbuf = ryu::Buffer::new();
                let mut ybuf = ryu::Buffer::new();
                let response: &[u8] = match row.response_id {
                    Some(r) => crate::numeric::format_u64(r, &mut ibuf),
                    None => b"",
                };
                w.write_record([
                    row.prompt_id.as_bytes(),
                    response,
                    xbuf.format_finite(row.proxy).as_bytes(),
                    ybuf.format_finite(row.truth).as_bytes(),
                ])
                .map_err(|e| csv_write_error(e, name))?;
            }
            Sink::Jsonl(w) => write_json_row(w, row).map_err(|e| DataError::io(name, e))?,
            Sink::Parquet(p) => {
                p.prompt.append_value(row.prompt_id);
                p.response.append_option(row.response_id);
                p.proxy.push(row.proxy);
                p.truth.push(row.truth);
                if p.proxy.len() >= PARQUET_BATCH_ROWS {
                    p.flush_batch(name)?;
                }
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Flushes everything (for Parquet: the last batch and the footer) and returns the number of rows written.
    pub fn finish(self) -> Result<u64, DataError> {
        let name = &self.name;
        match self.sink {
            Sink::Csv(w) => {
                let mut inner = (*w).into_inner().map_err(|e| DataError::io(name, e.into_error()))?;
                inner.flush().map_err(|e| DataError::io(name, e))?;
            }
            Sink::Jsonl(mut w) => w.flush().map_err(|e| DataError::io(name, e))?,
            Sink::Parquet(mut p) => {
                p.flush_batch(name)?;
                let ParquetSink { writer, .. } = *p;
                let mut inner = writer.into_inner().map_err(|e| DataError::parquet(name, e))?;
                inner.flush().map_err(|e| DataError::io(name, e))?;
            }
        }
        Ok(self.rows)
    }
}

impl ParquetSink {
    fn flush_batch(&mut self, name: &str) -> Result<(), DataError> {
        if self.proxy.is_empty() {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.prompt.finish()),
            Arc::new(self.response.finish()),
            Arc::new(Float64Array::from(std::mem::take(&mut self.proxy))),
            Arc::new(Float64Array::from(std::mem::take(&mut self.truth))),
        ];
        self.proxy.reserve(PARQUET_BATCH_ROWS);
        self.truth.reserve(PARQUET_BATCH_ROWS);
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| DataError::parquet(name, e))?;
        self.writer.write(&batch).map_err(|e| DataError::parquet(name, e))
    }
}

fn write_json_row(w: &mut impl Write, row: &Row<'_>) -> std::io::Result<()> {
    w.write_all(b"{\"prompt_id\":")?;
    serde_json::to_writer(&mut *w, row.prompt_id)?;
    match row.response_id {
        Some(r) => {
            let mut ibuf = [0u8; 24];
            w.write_all(b",\"response_id\":")?;
            w.write_all(crate::numeric::format_u64(r, &mut ibuf))?;
        }
        None => w.write_all(b",\"response_id\":null")?,
    }
    let mut buf = ryu::Buffer::new();
    w.write_all(b",\"proxy\":")?;
    w.write_all(buf.format_finite(row.proxy).as_bytes())?;
    w.write_all(b",\"true\":")?;
    w.write_all(buf.format_finite(row.truth).as_bytes())?;
    w.write_all(b"}\n")
}

fn csv_write_error(err: csv::Error, name: &str) -> DataError {
    match err.into_kind() {
        csv::ErrorKind::Io(e) => DataError::io(name, e),
        other => DataError::io(name, std::io::Error::other(format!("{other:?}"))),
    }
}

/// Writes all `rows` to `path` (`"-"` = standard output) and returns how many were written; see
/// [`CalibrationWriter::create`] for `format`.
pub fn write<'a, I>(path: &str, format: Option<Format>, rows: I) -> Result<u64, DataError>
where
    I: IntoIterator<Item = Row<'a>>,
{
    let mut w = CalibrationWriter::create(path, format)?;
    for row in rows {
        w.write_row(&row)?;
    }
    w.finish()
}

/// Writes a [`Calibration`] to `path` (response ids are 0, 1, … within each prompt); see [`write()`].
pub fn write_calibration(path: &str, format: Option<Format>, calibration: &Calibration) -> Result<u64, DataError> {
    write(path, format, calibration.rows())
}
