//! Parquet loading: only the needed columns are read, in record batches (bounded memory besides the result).

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Int64Array, LargeStringArray, StringArray, StringViewArray, UInt64Array};
use arrow_buffer::ScalarBuffer;
use arrow_cast::cast;
use std::sync::Arc;

use arrow_array::DictionaryArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, UInt64Type};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::reader::ChunkReader;

use crate::accumulate::{Accumulator, ResponseKey};
use crate::error::shorten;
use crate::numeric::{RewardColumn, format_i64, format_u64, within};
use crate::{Calibration, DataError, LoadOptions, Location, Reward};

/// Rows per record batch. Small enough that the reader's per-batch buffers (64 KiB per column) come from the
/// allocator's heap and are reused, instead of fresh zeroed pages from the OS for every batch.
const BATCH_ROWS: usize = 8192;

const ID_TYPES: &str = "a string or integer column";
const NUM_TYPES: &str = "a numeric, boolean or numeric-string column";

/// Rows reserved up front at most (see [`read_parquet`]).
const RESERVE_ROWS: usize = 1 << 20;

/// Loads a Parquet file from any [`ChunkReader`] (a `File`, or `bytes::Bytes` holding the whole file).
///
/// The `parquet` and `arrow` crates panic on some corrupt files instead of returning an error (index out of
/// bounds in the RLE decoder, `unwrap` on missing Thrift fields, unsupported types in the embedded Arrow schema,
/// "capacity overflow", …; found by fuzzing, see `fuzz/README.md`). Such a panic is caught here and reported as
/// a [`DataError::Parquet`] ("corrupt file"), like the errors they return. (The panic hook still runs: unless
/// the program replaced it, the panic message is also printed to standard error.)
pub(crate) fn load_parquet<T: ChunkReader + 'static>(
    reader: T,
    name: &str,
    opts: &LoadOptions,
) -> Result<Calibration, DataError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_parquet(reader, name, opts))).unwrap_or_else(
        |payload| {
            let what = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("unknown error");
            Err(DataError::parquet(
                name,
                format!("corrupt file (the Parquet reader failed: {})", shorten(what.as_bytes())),
            ))
        },
    )
}

/// [`load_parquet`], without catching panics.
fn read_parquet<T: ChunkReader + 'static>(reader: T, name: &str, opts: &LoadOptions) -> Result<Calibration, DataError> {
    let reader = Shared(Arc::new(reader));
    let meta =
        ArrowReaderMetadata::load(&reader, ArrowReaderOptions::new()).map_err(|e| DataError::parquet(name, e))?;
    let schema = meta.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let (pi, xi, ti, ri) = crate::options::column_positions(&names, name, opts)?;
    check_column_types(&schema, name, (pi, xi, ti, ri))?;
    let mut read = vec![pi, xi, ti];
    read.extend(ri);
    check_dictionaries(&reader.0, meta.metadata(), &names, &read, name)?;
    let meta = with_dictionary_prompts(meta, &schema, pi);

    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(reader, meta);
    let total = builder.metadata().file_metadata().num_rows();
    if total <= 0 {
        return Err(DataError::Empty { path: name.to_string() });
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), read);
    let batches = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| DataError::parquet(name, e))?;

    let reward = |reward, i: usize| RewardColumn {
        name: &names[i],
        reward,
        field: None,
        max_abs: opts.reward_bound(),
    };
    let columns = Columns {
        prompt: &names[pi],
        proxy: reward(Reward::Proxy, xi),
        truth: reward(Reward::True, ti),
        response: ri.map(|ri| names[ri].as_str()),
    };
    let mut acc = Accumulator::new(name, columns.prompt, ri.is_some()).sorting(opts.sorts_by_proxy());
    // The footer's row count is the file's claim, not a fact: reserve at most RESERVE_ROWS up front
    // (found by fuzzing: a 1.3 KB file claiming ~10^9 rows had 4 GB reserved and zeroed before its
    // first page failed to decode); beyond that the vectors grow as rows actually arrive.
    acc.reserve(usize::try_from(total).unwrap_or(0).min(RESERVE_ROWS));
    let mut row_base: u64 = 0;
    for batch in batches {
        let batch = batch.map_err(|e| DataError::parquet(name, e))?;
        accumulate_batch(&mut acc, &batch, &columns, name, row_base)?;
        row_base += batch.num_rows() as u64;
    }
    acc.finish(name.to_string())
}

/// A reader shared between the dictionary check and the record batch reader.
struct Shared<T>(Arc<T>);

impl<T: ChunkReader> parquet::file::reader::Length for Shared<T> {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl<T: ChunkReader> ChunkReader for Shared<T> {
    type T = T::T;
    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        self.0.get_read(start)
    }
    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.0.get_bytes(start, length)
    }
}

/// Checks the dictionary page of every column chunk read: the `parquet` crate allocates the decoded
/// dictionary from the page header's value count before it looks at the page's bytes, so a tiny corrupt
/// file claiming 10^9 dictionary values had gigabytes allocated (found by fuzzing: 4 GB and seconds for a
/// 1.3 KB file, an abort where memory is short). A dictionary page holds its values PLAIN-encoded, so it needs
/// at least `count × width` bytes (4 per BYTE_ARRAY length prefix, 1/8 per BOOLEAN): a page claiming more
/// values than its bytes can hold is refused here as a corrupt file.
fn check_dictionaries<T: ChunkReader + 'static>(
    reader: &Arc<T>,
    meta: &parquet::file::metadata::ParquetMetaData,
    names: &[String],
    roots: &[usize],
    name: &str,
) -> Result<(), DataError> {
    use parquet::basic::Type as Physical;
    use parquet::column::page::{Page, PageReader};
    use parquet::file::serialized_reader::SerializedPageReader;
    let wanted: Vec<&str> = roots.iter().map(|&i| names[i].as_str()).collect();
    for (g, group) in meta.row_groups().iter().enumerate() {
        for chunk in group.columns() {
            let root = chunk
                .column_path()
                .parts()
                .first()
                .map(String::as_str)
                .unwrap_or_default();
            if chunk.dictionary_page_offset().is_none() || !wanted.contains(&root) {
                continue;
            }
            let rows = usize::try_from(group.num_rows()).unwrap_or(0);
            let mut pages = SerializedPageReader::new(reader.clone(), chunk, rows, None)
                .map_err(|e| DataError::parquet(name, e))?;
            let Some(Page::DictionaryPage { buf, num_values, .. }) =
                pages.get_next_page().map_err(|e| DataError::parquet(name, e))?
            else {
                continue;
            };
            let bits_per_value: u64 = match chunk.column_type() {
                Physical::BOOLEAN => 1,
                Physical::INT32 | Physical::FLOAT | Physical::BYTE_ARRAY => 32,
                Physical::INT64 | Physical::DOUBLE => 64,
                Physical::INT96 => 96,
                Physical::FIXED_LEN_BYTE_ARRAY => 8,
            };
            let needed = (u64::from(num_values) * bits_per_value).div_ceil(8);
            if needed > buf.len() as u64 {
                return Err(DataError::parquet(
                    name,
                    format!(
                        "corrupt file: the dictionary page of column \"{root}\" (row group {g}) claims {num_values} values \
                         but holds {} bytes",
                        buf.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The columns read, by role.
struct Columns<'a> {
    prompt: &'a str,
    proxy: RewardColumn<'a>,
    truth: RewardColumn<'a>,
    response: Option<&'a str>,
}

/// Checks the types of the prompt, proxy, true and (optional) response columns, given by position.
fn check_column_types(
    schema: &Schema,
    name: &str,
    (pi, xi, ti, ri): (usize, usize, usize, Option<usize>),
) -> Result<(), DataError> {
    let unsupported = |i: usize, expected: &'static str| DataError::UnsupportedType {
        path: name.to_string(),
        column: schema.field(i).name().clone(),
        data_type: schema.field(i).data_type().to_string(),
        expected,
    };
    if !id_type_ok(schema.field(pi).data_type()) {
        return Err(unsupported(pi, ID_TYPES));
    }
    for i in [xi, ti] {
        if !numeric_type_ok(schema.field(i).data_type()) {
            return Err(unsupported(i, NUM_TYPES));
        }
    }
    if let Some(ri) = ri {
        if !id_type_ok(schema.field(ri).data_type()) {
            return Err(unsupported(ri, ID_TYPES));
        }
    }
    Ok(())
}

/// Asks the reader for a string prompt column (position `pi`) as a dictionary array: a grouped file then
/// costs one integer comparison per row instead of materialising and comparing every prompt string.
/// Other prompt types, or a file the hint does not fit, keep `meta` as it is.
fn with_dictionary_prompts(meta: ArrowReaderMetadata, schema: &Schema, pi: usize) -> ArrowReaderMetadata {
    match schema.field(pi).data_type() {
        dt @ (DataType::Utf8 | DataType::LargeUtf8) => {
            let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(dt.clone()));
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    if i == pi {
                        f.as_ref().clone().with_data_type(dict.clone())
                    } else {
                        f.as_ref().clone()
                    }
                })
                .collect();
            let hinted = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
            ArrowReaderMetadata::try_new(meta.metadata().clone(), ArrowReaderOptions::new().with_schema(hinted))
                .unwrap_or(meta)
        }
        _ => meta,
    }
}

/// Adds the rows of one record batch, whose first row is row `row_base + 1` of the file.
fn accumulate_batch(
    acc: &mut Accumulator,
    batch: &RecordBatch,
    columns: &Columns<'_>,
    name: &str,
    row_base: u64,
) -> Result<(), DataError> {
    let get = |col: &str| {
        batch
            .column_by_name(col)
            .cloned()
            .ok_or_else(|| DataError::parquet(name, format!("column \"{col}\" not in batch")))
    };
    let prompt_arr = id_array(get(columns.prompt)?, name)?;
    let prompts = IdColumn::new(&prompt_arr);
    let proxy = numeric_values(&get(columns.proxy.name)?, &columns.proxy, name, row_base)?;
    let truth = numeric_values(&get(columns.truth.name)?, &columns.truth, name, row_base)?;
    let resp_arr = match columns.response {
        Some(col) => Some(id_array(get(col)?, name)?),
        None => None,
    };
    let responses = resp_arr.as_ref().map(IdColumn::new);

    let mut id_buf = [0u8; 24];
    let mut resp_buf = [0u8; 24];
    for i in 0..batch.num_rows() {
        let loc = Location::Row(row_base + i as u64 + 1);
        // For integer ids, only format the value when it differs from the previous row's.
        if i == 0 || !prompts.same_as_previous(i) {
            match prompts.get(i, &mut id_buf) {
                Some(id) => acc.set_prompt(id, loc)?,
                None => {
                    return Err(DataError::Missing {
                        path: name.to_string(),
                        location: loc,
                        column: columns.prompt.to_string(),
                    });
                }
            }
        }
        let response = match &responses {
            Some(r) => r.key(i, &mut resp_buf),
            None => None,
        };
        acc.push_key(response, proxy[i], truth[i], loc)?;
    }
    Ok(())
}

fn id_type_ok(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(_, values) => id_type_ok(values),
        dt => dt.is_integer() || matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View),
    }
}

fn numeric_type_ok(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(_, values) => numeric_type_ok(values),
        dt => {
            dt.is_numeric()
                || matches!(
                    dt,
                    DataType::Boolean | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
        }
    }
}

/// Brings an id column to one of the types [`IdColumn`] reads directly.
fn id_array(arr: ArrayRef, name: &str) -> Result<ArrayRef, DataError> {
    let target = match arr.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Int64 | DataType::UInt64 => {
            return Ok(arr);
        }
        DataType::Dictionary(k, v) if **k == DataType::Int32 && matches!(**v, DataType::Utf8 | DataType::LargeUtf8) => {
            return Ok(arr);
        }
        DataType::Int8 | DataType::Int16 | DataType::Int32 => DataType::Int64,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => DataType::UInt64,
        _ => DataType::Utf8,
    };
    cast(&arr, &target).map_err(|e| DataError::parquet(name, e))
}

/// Read access to an id column.
enum IdColumn<'a> {
    Str(&'a StringArray),
    LargeStr(&'a LargeStringArray),
    View(&'a StringViewArray),
    Int(&'a Int64Array),
    UInt(&'a UInt64Array),
    /// Dictionary with `Int32` keys; the values are one of the string variants.
    Dict(&'a DictionaryArray<Int32Type>, Box<IdColumn<'a>>),
}

impl<'a> IdColumn<'a> {
    fn new(arr: &'a ArrayRef) -> Self {
        match arr.data_type() {
            DataType::Utf8 => IdColumn::Str(arr.as_string::<i32>()),
            DataType::LargeUtf8 => IdColumn::LargeStr(arr.as_string::<i64>()),
            DataType::Utf8View => IdColumn::View(arr.as_string_view()),
            DataType::Int64 => IdColumn::Int(arr.as_primitive::<Int64Type>()),
            DataType::UInt64 => IdColumn::UInt(arr.as_primitive::<UInt64Type>()),
            DataType::Dictionary(..) => {
                let dict = arr.as_dictionary::<Int32Type>();
                IdColumn::Dict(dict, Box::new(IdColumn::new(dict.values())))
            }
            other => unreachable!("id_array produced {other}"),
        }
    }

    /// True if rows `i` (> 0) and `i - 1` certainly hold the same id (same integer or dictionary key).
    /// False means "maybe different": string ids are then compared by the accumulator.
    #[inline]
    fn same_as_previous(&self, i: usize) -> bool {
        match self {
            IdColumn::Int(a) => a.is_valid(i) && a.is_valid(i - 1) && a.value(i) == a.value(i - 1),
            IdColumn::UInt(a) => a.is_valid(i) && a.is_valid(i - 1) && a.value(i) == a.value(i - 1),
            IdColumn::Dict(d, _) => {
                let keys = d.keys();
                keys.is_valid(i) && keys.is_valid(i - 1) && keys.value(i) == keys.value(i - 1)
            }
            _ => false,
        }
    }

    /// The id of row `i` as text, `None` if null.
    #[inline]
    fn get<'b>(&'b self, i: usize, buf: &'b mut [u8; 24]) -> Option<&'b [u8]> {
        match self {
            IdColumn::Str(a) => a.is_valid(i).then(|| a.value(i).as_bytes()),
            IdColumn::LargeStr(a) => a.is_valid(i).then(|| a.value(i).as_bytes()),
            IdColumn::View(a) => a.is_valid(i).then(|| a.value(i).as_bytes()),
            IdColumn::Int(a) => a.is_valid(i).then(|| format_i64(a.value(i), buf)),
            IdColumn::UInt(a) => a.is_valid(i).then(|| format_u64(a.value(i), buf)),
            IdColumn::Dict(d, values) => {
                let keys = d.keys();
                if !keys.is_valid(i) {
                    return None;
                }
                usize::try_from(keys.value(i)).ok().and_then(|k| values.get(k, buf))
            }
        }
    }

    /// The id of row `i` as a response key (integers stay integers), `None` if null.
    #[inline]
    fn key<'b>(&'b self, i: usize, buf: &'b mut [u8; 24]) -> Option<ResponseKey<'b>> {
        match self {
            IdColumn::UInt(a) => a.is_valid(i).then(|| ResponseKey::Int(a.value(i))),
            IdColumn::Int(a) if a.is_valid(i) && a.value(i) >= 0 => Some(ResponseKey::Int(a.value(i) as u64)),
            _ => self.get(i, buf).map(ResponseKey::Text),
        }
    }
}

/// The values of a numeric column as `f64`, checked for nulls and against the column's bound (which also refuses
/// non-finite values).
fn numeric_values(
    arr: &ArrayRef,
    column: &RewardColumn<'_>,
    name: &str,
    row_base: u64,
) -> Result<ScalarBuffer<f64>, DataError> {
    let loc = |i: usize| Location::Row(row_base + i as u64 + 1);
    let missing = |i: usize| DataError::Missing {
        path: name.to_string(),
        location: loc(i),
        column: column.name.to_string(),
    };
    let text = match arr.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(arr.clone()),
        DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
            Some(cast(arr, &DataType::Utf8).map_err(|e| DataError::parquet(name, e))?)
        }
        _ => None,
    };
    if let Some(text) = text {
        let ids = id_array(text, name)?;
        let col = IdColumn::new(&ids);
        let mut scratch = [0u8; 24];
        let mut out = Vec::with_capacity(arr.len());
        for i in 0..arr.len() {
            let bytes = col.get(i, &mut scratch).ok_or_else(|| missing(i))?;
            out.push(column.parse(bytes, name, loc(i))?);
        }
        return Ok(ScalarBuffer::from(out));
    }
    let floats = if arr.data_type() == &DataType::Float64 {
        arr.clone()
    } else {
        cast(arr, &DataType::Float64).map_err(|e| DataError::parquet(name, e))?
    };
    let f = floats.as_primitive::<Float64Type>();
    if f.null_count() > 0 {
        let i = (0..f.len()).find(|&i| f.is_null(i)).unwrap_or(0);
        return Err(missing(i));
    }
    let values = f.values();
    let max_abs = column.max_abs;
    // `within` is false for NaN too: the one comparison checks finiteness and the bound.
    if let Some(i) = values.iter().position(|&v| within(v, max_abs).is_err()) {
        return Err(column.refuse(values[i], name, loc(i)));
    }
    Ok(values.clone())
}
