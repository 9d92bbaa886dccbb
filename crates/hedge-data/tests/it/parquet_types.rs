//! Parquet column types: which Arrow types the loader reads as prompt ids and rewards, and batches.

use crate::common;

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray,
    StringArray,
};
use common::{TempFile, parquet_file};
use hedge_data::{CalibrationWriter, DataError, LoadOptions, Row};

#[test]
fn parquet_column_types() {
    let expected_ids = ["10", "11"];
    let keys = Int32Array::from(vec![0, 0, 1, 1, 0]);
    let dict: DictionaryArray<Int32Type> =
        DictionaryArray::try_new(keys, Arc::new(StringArray::from(vec!["10", "11"]))).unwrap();
    let prompt_variants: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![10, 10, 11, 11, 10])),
        Arc::new(Int64Array::from(vec![10, 10, 11, 11, 10])),
        Arc::new(LargeStringArray::from(vec!["10", "10", "11", "11", "10"])),
        Arc::new(arrow_array::StringViewArray::from(vec!["10", "10", "11", "11", "10"])),
        Arc::new(dict),
    ];
    for prompt in prompt_variants {
        let dt = prompt.data_type().clone();
        let f = parquet_file(
            "types.parquet",
            vec![
                ("prompt_id", prompt),
                (
                    "proxy",
                    Arc::new(Float32Array::from(vec![0.5f32, 1.5, 2.5, 3.5, 4.5])) as ArrayRef,
                ),
                (
                    "true",
                    Arc::new(BooleanArray::from(vec![true, false, true, false, true])),
                ),
                (
                    "response_id",
                    Arc::new(StringArray::from(vec![Some("a"), Some("b"), Some("a"), None, None])),
                ),
            ],
        );
        let cal = f.load(&LoadOptions::new()).unwrap_or_else(|e| panic!("{dt}: {e}"));
        assert_eq!(cal.prompt_ids, expected_ids, "{dt}");
        assert_eq!(cal.proxy, [0.5, 1.5, 4.5, 2.5, 3.5], "{dt}");
        assert_eq!(cal.truth, [1.0, 0.0, 1.0, 1.0, 0.0], "{dt}");
    }
    // Unsupported types are named.
    let f = parquet_file(
        "bad_type.parquet",
        vec![
            ("prompt_id", Arc::new(Float64Array::from(vec![1.0, 1.0])) as ArrayRef),
            ("proxy", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
            ("true", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
        ],
    );
    let err = f.load(&LoadOptions::new()).unwrap_err();
    assert!(
        matches!(err, DataError::UnsupportedType { ref column, .. } if column == "prompt_id"),
        "{err}"
    );
    assert!(err.to_string().contains("Float64"), "{err}");
}

#[test]
fn parquet_spans_many_batches() {
    // More rows than one record batch, non-grouped, with a dictionary-encoded prompt column on disk.
    let f = TempFile::new("big.parquet");
    let mut w = CalibrationWriter::create(f.path(), None).unwrap();
    let (prompts, per) = (300usize, 500usize);
    for r in 0..per {
        for p in 0..prompts {
            let id = format!("p{p}");
            w.write_row(&Row {
                prompt_id: &id,
                response_id: Some(r as u64),
                proxy: (p * per + r) as f64,
                truth: r as f64,
            })
            .unwrap();
        }
    }
    w.finish().unwrap();
    let cal = f.load(&LoadOptions::new()).unwrap();
    assert_eq!(cal.num_prompts(), prompts);
    assert_eq!(cal.num_rows(), prompts * per);
    for p in 0..prompts {
        let (id, proxy, truth) = cal.prompt(p);
        assert_eq!(id, format!("p{p}"));
        assert!(proxy.iter().enumerate().all(|(r, &x)| x == (p * per + r) as f64));
        assert!(truth.iter().enumerate().all(|(r, &y)| y == r as f64));
    }
}
