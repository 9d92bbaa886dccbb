//! Writes the Parquet seeds of `fuzz/corpus/parquet_load/` (each file is a flags byte, then the Parquet file;
//! see `hedge_fuzz::data_target`). Run from `fuzz/`:
//!
//! ```text
//! cargo afl build --release --example parquet_seeds && target/release/examples/parquet_seeds corpus/parquet_load
//! ```

use std::sync::{Arc, Mutex};

use arrow::array::{
    ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray,
    StringArray, StringViewArray, UInt64Array,
};
use arrow::datatypes::{Field, Int32Type, Schema};
use arrow::record_batch::RecordBatch;
use hedge_data::{CalibrationWriter, Format, Row};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A Parquet file with these columns (all nullable), uncompressed unless `snappy`.
fn arrow_file(columns: Vec<(&str, ArrayRef)>, snappy: bool) -> Vec<u8> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect()).unwrap();
    let props = WriterProperties::builder()
        .set_compression(if snappy {
            Compression::SNAPPY
        } else {
            Compression::UNCOMPRESSED
        })
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: parquet_seeds DIR");
    let save = |name: &str, flags: u8, bytes: Vec<u8>| {
        let mut data = vec![flags];
        data.extend(bytes);
        std::fs::write(format!("{dir}/{name}"), data).unwrap();
    };

    // hedge-data's own writer (as `hedge collect` and `hedge simulate` write): non-grouped, a single-response
    // prompt, a null response id.
    let buf = Buf::default();
    let mut w = CalibrationWriter::new(buf.clone(), "seed", Format::Parquet).unwrap();
    for (p, r, x, y) in [
        ("a", Some(0), 0.5, 1.0),
        ("b", Some(0), 0.1, 0.0),
        ("a", Some(1), 0.7, 0.0),
        ("b", None, 0.2, 1.0),
        ("c", Some(0), 1.0, 1.0),
    ] {
        w.write_row(&Row {
            prompt_id: p,
            response_id: r,
            proxy: x,
            truth: y,
        })
        .unwrap();
    }
    w.finish().unwrap();
    save("writer", 0x0f, std::mem::take(&mut *buf.0.lock().unwrap()));

    // Integer prompt and response ids, float32 proxy, boolean true reward.
    save(
        "int_ids_bool",
        0x0b,
        arrow_file(
            vec![
                ("prompt_id", Arc::new(Int64Array::from(vec![7, 7, 8, 8])) as ArrayRef),
                ("response_id", Arc::new(Int32Array::from(vec![1, 2, 1, 2]))),
                ("proxy", Arc::new(Float32Array::from(vec![0.5, -1.5, 2.0, 0.25]))),
                ("true", Arc::new(BooleanArray::from(vec![true, false, false, true]))),
            ],
            false,
        ),
    );

    // Dictionary prompt ids, numeric strings as rewards, snappy.
    let keys = Int32Array::from(vec![0, 0, 1, 1, 0]);
    let dict: DictionaryArray<Int32Type> =
        DictionaryArray::try_new(keys, Arc::new(StringArray::from(vec!["p", "q"]))).unwrap();
    save(
        "dict_strings",
        0x3f,
        arrow_file(
            vec![
                ("prompt_id", Arc::new(dict) as ArrayRef),
                (
                    "proxy",
                    Arc::new(StringArray::from(vec!["1", "2.5", " 3 ", "-0", "1e3"])),
                ),
                (
                    "true",
                    Arc::new(StringArray::from(vec!["true", "0", "FALSE", "1", "0.5"])),
                ),
            ],
            true,
        ),
    );

    // Large and view strings, u64 response ids, a null proxy (an error).
    save(
        "nulls_views",
        0x07,
        arrow_file(
            vec![
                (
                    "prompt_id",
                    Arc::new(LargeStringArray::from(vec!["a", "a", "b"])) as ArrayRef,
                ),
                ("response_id", Arc::new(UInt64Array::from(vec![Some(0), Some(1), None]))),
                ("proxy", Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)]))),
                ("true", Arc::new(StringViewArray::from(vec!["1", "0", "1"]))),
            ],
            false,
        ),
    );

    // A missing column (an error) and a NaN (an error).
    save(
        "missing_nan",
        0x01,
        arrow_file(
            vec![
                ("prompt_id", Arc::new(StringArray::from(vec!["a", "a"])) as ArrayRef),
                ("proxy", Arc::new(Float64Array::from(vec![f64::NAN, 1.0]))),
            ],
            false,
        ),
    );
}
