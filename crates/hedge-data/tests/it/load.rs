//! Loading, round trips and error messages.

use crate::common;

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray,
    StringArray,
};
use arrow::datatypes::{Field, Int32Type, Schema};
use arrow::record_batch::RecordBatch;
use common::{TempFile, csr, load_err, shared_data};
use hedge_data::{
    Calibration, CalibrationWriter, DEFAULT_MAX_ABS_REWARD, DEFAULT_MAX_LINE_BYTES, DataError, Format, LoadOptions,
    Location, Reward, Row, load, load_reader, load_reader_sniffed, write, write_calibration,
};
use parquet::arrow::ArrowWriter;

/// Rows used by several tests: non-grouped ("a" reappears), with one single-response prompt ("c").
fn sample_rows() -> Vec<(&'static str, u64, f64, f64)> {
    vec![
        ("a", 0, 0.25, 1.0),
        ("a", 1, -1.5e-7, 0.0),
        ("b", 0, 3.0, 0.5),
        ("b", 1, 0.1 + 0.2, 0.25),
        ("c", 0, 1.0, 1.0),
        ("a", 2, 123456.789, 0.0),
        ("d \"quoted\", with comma", 7, 2.0, 1.0),
        // Exactly at the default bound on |reward| (values beyond it round-trip in roundtrip_prop.rs).
        ("d \"quoted\", with comma", 8, -1e6, -1.0),
    ]
}

fn expected_sample() -> Calibration {
    Calibration::from_rows(sample_rows().into_iter().map(|(p, _, x, y)| (p, x, y))).unwrap()
}

fn write_sample(file_name: &str, format: Option<Format>) -> TempFile {
    let f = TempFile::new(file_name);
    let rows = sample_rows();
    let n = write(
        f.path(),
        format,
        rows.iter().map(|&(p, r, x, y)| Row {
            prompt_id: p,
            response_id: Some(r),
            proxy: x,
            truth: y,
        }),
    )
    .unwrap();
    assert_eq!(n, rows.len() as u64);
    f
}

#[test]
fn round_trip_every_format() {
    let expected = expected_sample();
    assert_eq!(expected.prompt_ids, ["a", "b", "d \"quoted\", with comma"]);
    assert_eq!(expected.offsets, [0, 3, 5, 7]);
    assert_eq!(expected.skipped_single, 1);
    for name in [
        "data.csv",
        "data.jsonl",
        "data.ndjson",
        "data.json",
        "data.parquet",
        "data.pq",
    ] {
        let f = write_sample(name, None);
        let cal = f.load(&LoadOptions::new()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(csr(&cal), csr(&expected), "{name}");
        assert_eq!(cal.source, f.path());
        assert_eq!(cal.rows_read, 8);
        assert_eq!(cal.max_responses(), 3);
        // Floats survive bit for bit.
        assert_eq!(cal.proxy[4].to_bits(), (0.1f64 + 0.2).to_bits());
    }
}

#[test]
fn forced_format_overrides_extension() {
    let f = write_sample("data.txt", Some(Format::JsonLines));
    let err = f.load(&LoadOptions::new()).unwrap_err();
    assert!(
        matches!(err, DataError::UnknownFormat { ref extension, .. } if extension == "txt"),
        "{err}"
    );
    assert!(err.to_string().contains("data.txt"));
    let cal = f.load(&LoadOptions::new().format(Format::JsonLines)).unwrap();
    assert_eq!(csr(&cal), csr(&expected_sample()));
}

#[test]
fn write_calibration_round_trip() {
    let cal = expected_sample();
    for format in [Format::Csv, Format::JsonLines, Format::Parquet] {
        let f = TempFile::new(&format!("out.{}", format.extension()));
        assert_eq!(write_calibration(f.path(), None, &cal).unwrap(), 7);
        let back = f.load(&LoadOptions::new()).unwrap();
        assert_eq!(back.prompt_ids, cal.prompt_ids);
        assert_eq!(back.offsets, cal.offsets);
        assert_eq!(back.proxy, cal.proxy);
        assert_eq!(back.truth, cal.truth);
        assert_eq!(back.skipped_single, 0);
    }
}

#[test]
fn writer_without_response_ids() {
    for format in [Format::Csv, Format::JsonLines, Format::Parquet] {
        let f = TempFile::new(&format!("noresp.{}", format.extension()));
        let mut w = CalibrationWriter::create(f.path(), None).unwrap();
        for (p, x) in [("a", 1.0), ("a", 2.0), ("b", 3.0), ("b", 4.0)] {
            w.write_row(&Row {
                prompt_id: p,
                response_id: None,
                proxy: x,
                truth: 0.0,
            })
            .unwrap();
        }
        assert_eq!(w.rows_written(), 4);
        w.finish().unwrap();
        let cal = f.load(&LoadOptions::new()).unwrap();
        assert_eq!(cal.proxy, [1.0, 2.0, 3.0, 4.0], "{format}");
    }
}

#[test]
fn writer_rejects_bad_rows() {
    let f = TempFile::new("bad.csv");
    let mut w = CalibrationWriter::create(f.path(), None).unwrap();
    w.write_row(&Row {
        prompt_id: "a",
        response_id: None,
        proxy: 1.0,
        truth: 0.0,
    })
    .unwrap();
    let err = w
        .write_row(&Row {
            prompt_id: "a",
            response_id: None,
            proxy: f64::INFINITY,
            truth: 0.0,
        })
        .unwrap_err();
    assert_eq!(
        err.to_string().replace(f.path(), "bad.csv"),
        "bad.csv: row 2: column \"proxy\": inf is not a finite number"
    );
    let err = w
        .write_row(&Row {
            prompt_id: "",
            response_id: None,
            proxy: 1.0,
            truth: 0.0,
        })
        .unwrap_err();
    assert!(matches!(err, DataError::Missing { .. }), "{err}");
    let err = CalibrationWriter::create("/nonexistent-dir-hedge/x.csv", None)
        .err()
        .unwrap();
    assert!(
        matches!(err, DataError::Io { .. }) && err.to_string().contains("/nonexistent-dir-hedge/x.csv"),
        "{err}"
    );
    let err = CalibrationWriter::create("x.xlsx", None).err().unwrap();
    assert!(matches!(err, DataError::UnknownFormat { .. }), "{err}");
}

#[test]
fn column_selection_by_name() {
    let csv = "qid,label,score_a,score_b,extra\n\
               q1,1,0.1,10,x\n\
               q1,0,0.2,20,y\n\
               q2,0,0.3,30,z\n\
               q2,1,0.4,40,w\n";
    let opts = LoadOptions::new()
        .prompt_col("qid")
        .proxy_col("score_b")
        .true_col("label");
    let cal = load_reader(csv.as_bytes(), "sel.csv", Format::Csv, &opts).unwrap();
    assert_eq!(cal.prompt_ids, ["q1", "q2"]);
    assert_eq!(cal.proxy, [10.0, 20.0, 30.0, 40.0]);
    assert_eq!(cal.truth, [1.0, 0.0, 0.0, 1.0]);
    let cal = load_reader(
        csv.as_bytes(),
        "sel.csv",
        Format::Csv,
        &opts.clone().proxy_col("score_a"),
    )
    .unwrap();
    assert_eq!(cal.proxy, [0.1, 0.2, 0.3, 0.4]);

    let jsonl = r#"{"qid": "q1", "label": 1, "score_b": 10, "nested": {"a": [1, 2]}}
{"qid": "q1", "label": 0, "score_b": 20, "nested": null}
"#;
    let cal = load_reader(jsonl.as_bytes(), "sel.jsonl", Format::JsonLines, &opts).unwrap();
    assert_eq!(cal.proxy, [10.0, 20.0]);
}

#[test]
fn response_column_options() {
    // Duplicate "id" values, but "id" is only checked when named.
    let csv = "prompt_id,id,proxy,true\np,1,0.1,0\np,1,0.2,1\n";
    let cal = load_reader(csv.as_bytes(), "r.csv", Format::Csv, &LoadOptions::new()).unwrap();
    assert_eq!(cal.num_rows(), 2);
    let err = load_reader(
        csv.as_bytes(),
        "r.csv",
        Format::Csv,
        &LoadOptions::new().response_col("id"),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "r.csv:3: duplicate response id \"1\" for prompt \"p\"");
    let err = load_reader(
        csv.as_bytes(),
        "r.csv",
        Format::Csv,
        &LoadOptions::new().response_col("resp"),
    )
    .unwrap_err();
    assert!(
        matches!(err, DataError::MissingColumn { ref column, .. } if column == "resp"),
        "{err}"
    );
    let csv = "prompt_id,response_id,proxy,true\np,1,0.1,0\np,1,0.2,1\n";
    let opts = LoadOptions::new().ignore_response_col();
    assert_eq!(
        load_reader(csv.as_bytes(), "r.csv", Format::Csv, &opts)
            .unwrap()
            .num_rows(),
        2
    );
}

// ---------------------------------------------------------------------------------------------------------
// Error messages: file name, line (or row) and column.

#[test]
fn missing_column_lists_available() {
    let (msg, _) = load_err("data.csv", "prompt_id,proxy_a,true\np,1,1\n", &LoadOptions::new());
    assert_eq!(
        msg,
        "data.csv: missing column \"proxy\" (available columns: \"prompt_id\", \"proxy_a\", \"true\")"
    );
    let (msg, _) = load_err("data.jsonl", "{\"prompt_id\": 1, \"proxy\": 2}\n", &LoadOptions::new());
    assert_eq!(
        msg,
        "data.jsonl: missing column \"true\" (available columns: \"prompt_id\", \"proxy\")"
    );
    let f = write_sample("data.parquet", None);
    let err = f.load(&LoadOptions::new().proxy_col("nope")).unwrap_err();
    assert_eq!(
        err.to_string().replace(f.path(), "data.parquet"),
        "data.parquet: missing column \"nope\" (available columns: \"prompt_id\", \"response_id\", \"proxy\", \"true\")"
    );
}

#[test]
fn not_numeric() {
    let csv = "prompt_id,proxy,true\np,1,1\np,abc,0\n";
    let (msg, err) = load_err("data.csv", csv, &LoadOptions::new());
    assert_eq!(msg, "data.csv:3: column \"proxy\": \"abc\" is not a number");
    assert_eq!(err.location(), Some(Location::Line(3)));
    let (msg, _) = load_err("data.csv", "prompt_id,proxy,true\np,1,yes\n", &LoadOptions::new());
    assert_eq!(msg, "data.csv:2: column \"true\": \"yes\" is not a number");
    let (msg, _) = load_err(
        "d.jsonl",
        "{\"prompt_id\":\"p\",\"proxy\":\"x1\",\"true\":1}\n",
        &LoadOptions::new(),
    );
    assert_eq!(msg, "d.jsonl:1: column \"proxy\": \"x1\" is not a number");
    let (msg, _) = load_err(
        "d.jsonl",
        "{\"prompt_id\":\"p\",\"proxy\":true,\"true\":1}\n",
        &LoadOptions::new(),
    );
    assert_eq!(msg, "d.jsonl:1: column \"proxy\": \"true\" is not a number");
    let (msg, _) = load_err(
        "d.jsonl",
        "{\"prompt_id\":\"p\",\"proxy\":[1],\"true\":1}\n",
        &LoadOptions::new(),
    );
    assert_eq!(msg, "d.jsonl:1: column \"proxy\": \"[…]\" is not a number");
    // Parquet string column with a non-number.
    let f = parquet_file(
        "s.parquet",
        vec![
            (
                "prompt_id",
                Arc::new(StringArray::from(vec!["a", "a", "a"])) as ArrayRef,
            ),
            ("proxy", Arc::new(StringArray::from(vec!["1", "2.5", "zz"]))),
            ("true", Arc::new(StringArray::from(vec!["true", "0", "1"]))),
        ],
    );
    let err = f.load(&LoadOptions::new()).unwrap_err();
    assert_eq!(
        err.to_string().replace(f.path(), "s.parquet"),
        "s.parquet: row 3: column \"proxy\": \"zz\" is not a number"
    );
}

#[test]
fn non_finite() {
    for (value, shown) in [
        ("inf", "inf"),
        ("NaN", "NaN"),
        ("-Infinity", "-Infinity"),
        ("1e999", "1e999"),
    ] {
        let csv = format!("prompt_id,proxy,true\np,1,1\np,2,0\np,{value},0\n");
        let (msg, _) = load_err("data.csv", csv, &LoadOptions::new());
        assert_eq!(
            msg,
            format!("data.csv:4: column \"proxy\": {shown} is not a finite number")
        );
    }
    let (msg, _) = load_err(
        "d.jsonl",
        "\n{\"prompt_id\":\"p\",\"proxy\":1,\"true\":\"nan\"}\n",
        &LoadOptions::new(),
    );
    assert_eq!(msg, "d.jsonl:2: column \"true\": nan is not a finite number");
    let f = parquet_file(
        "nf.parquet",
        vec![
            ("prompt_id", Arc::new(StringArray::from(vec!["a", "a"])) as ArrayRef),
            ("proxy", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
            ("true", Arc::new(Float64Array::from(vec![0.0, f64::NAN]))),
        ],
    );
    let err = f.load(&LoadOptions::new()).unwrap_err();
    assert_eq!(
        err.to_string().replace(f.path(), "nf.parquet"),
        "nf.parquet: row 2: column \"true\": NaN is not a finite number"
    );
}

#[test]
fn empty_inputs() {
    let opts = LoadOptions::new();
    for (name, content) in [
        ("e.csv", ""),
        ("e.csv", "prompt_id,proxy,true\n"),
        ("e.csv", "prompt_id,proxy,true"),
        ("e.csv", "\n\n"),
        ("e.jsonl", ""),
        ("e.jsonl", "\n  \n\r\n"),
        ("e.parquet", ""),
    ] {
        let (msg, err) = load_err(name, content, &opts);
        assert!(matches!(err, DataError::Empty { .. }), "{name} {content:?}: {msg}");
        assert_eq!(msg, format!("{name}: no data rows"));
    }
    // A Parquet file with a schema but no rows.
    let f = TempFile::new("empty.parquet");
    CalibrationWriter::create(f.path(), None).unwrap().finish().unwrap();
    assert!(matches!(f.load(&opts), Err(DataError::Empty { .. })));
    // Standard-input style.
    let err = load_reader_sniffed(&b""[..], "<stdin>", &opts).unwrap_err();
    assert_eq!(err.to_string(), "<stdin>: no data rows");
}

#[test]
fn all_prompts_single() {
    let (msg, err) = load_err(
        "s.csv",
        "prompt_id,proxy,true\na,1,1\nb,2,0\nc,3,0\n",
        &LoadOptions::new(),
    );
    assert!(matches!(err, DataError::NoMultiResponsePrompt { prompts: 3, .. }));
    assert_eq!(
        msg,
        "s.csv: no prompt has two or more responses (3 prompts, each with a single response)"
    );
}

#[test]
fn malformed_json_lines() {
    let opts = LoadOptions::new();
    let good = "{\"prompt_id\":\"p\",\"proxy\":1,\"true\":1}\n";
    let (msg, err) = load_err(
        "m.jsonl",
        format!("{good}{good}\n{{\"prompt_id\":\"p\",\"proxy\":1,\n"),
        &opts,
    );
    assert_eq!(err.location(), Some(Location::Line(4)));
    assert!(msg.starts_with("m.jsonl:4: invalid JSON: "), "{msg}");
    let (msg, _) = load_err("m.jsonl", format!("{good}{good}{{\"prompt_id\":\"p\"}} x\n"), &opts);
    assert!(msg.starts_with("m.jsonl:3: invalid JSON: trailing characters"), "{msg}");
    let (msg, _) = load_err("m.jsonl", format!("{good}hello\n"), &opts);
    assert_eq!(msg, "m.jsonl:2: expected a JSON object, found \"hello\"");
    let (msg, _) = load_err("m.json", "[{\"prompt_id\":\"p\",\"proxy\":1,\"true\":1}]\n", &opts);
    assert_eq!(
        msg,
        "m.json:1: expected one JSON object per line (JSON lines); a JSON array is not supported"
    );
    let (msg, _) = load_err(
        "m.jsonl",
        format!("{good}{{\"prompt_id\":1.5,\"proxy\":1,\"true\":1}}\n"),
        &opts,
    );
    assert_eq!(
        msg,
        "m.jsonl:2: column \"prompt_id\": expected a string or an integer, found 1.5"
    );
}

#[test]
fn null_and_missing_values() {
    let opts = LoadOptions::new();
    let good = "{\"prompt_id\":\"p\",\"proxy\":1,\"true\":1}\n";
    let (msg, _) = load_err(
        "n.jsonl",
        format!("{good}\n{{\"prompt_id\":\"p\",\"proxy\":null,\"true\":1}}\n"),
        &opts,
    );
    assert_eq!(
        msg,
        "n.jsonl:3: column \"proxy\": missing value (empty, null or absent)"
    );
    let (msg, _) = load_err(
        "n.jsonl",
        format!("{good}{{\"prompt_id\":null,\"proxy\":1,\"true\":1}}\n"),
        &opts,
    );
    assert_eq!(
        msg,
        "n.jsonl:2: column \"prompt_id\": missing value (empty, null or absent)"
    );
    let (msg, _) = load_err("n.jsonl", format!("{good}{{\"prompt_id\":\"p\",\"proxy\":1}}\n"), &opts);
    assert_eq!(msg, "n.jsonl:2: column \"true\": missing value (empty, null or absent)");
    let (msg, _) = load_err("n.csv", "prompt_id,proxy,true\np,1,1\np,,1\n", &opts);
    assert_eq!(msg, "n.csv:3: column \"proxy\": missing value (empty, null or absent)");
    let (msg, _) = load_err("n.csv", "prompt_id,proxy,true\np,1,1\n,1,1\n", &opts);
    assert_eq!(
        msg,
        "n.csv:3: column \"prompt_id\": missing value (empty, null or absent)"
    );
    let f = parquet_file(
        "n.parquet",
        vec![
            (
                "prompt_id",
                Arc::new(StringArray::from(vec![Some("a"), Some("a"), None])) as ArrayRef,
            ),
            ("proxy", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
            ("true", Arc::new(Float64Array::from(vec![0.0, 1.0, 1.0]))),
        ],
    );
    let err = f.load(&opts).unwrap_err();
    assert_eq!(
        err.to_string().replace(f.path(), "n.parquet"),
        "n.parquet: row 3: column \"prompt_id\": missing value (empty, null or absent)"
    );
    let f = parquet_file(
        "n2.parquet",
        vec![
            ("prompt_id", Arc::new(StringArray::from(vec!["a", "a"])) as ArrayRef),
            ("proxy", Arc::new(Float64Array::from(vec![Some(1.0), None]))),
            ("true", Arc::new(Float64Array::from(vec![0.0, 1.0]))),
        ],
    );
    let err = f.load(&opts).unwrap_err();
    assert_eq!(
        err.to_string().replace(f.path(), "n2.parquet"),
        "n2.parquet: row 2: column \"proxy\": missing value (empty, null or absent)"
    );
}

#[test]
fn duplicate_response_ids() {
    let opts = LoadOptions::new();
    let csv = "prompt_id,response_id,proxy,true\na,0,1,1\na,1,1,1\nb,0,1,1\nb,0,2,2\n";
    let (msg, err) = load_err("d.csv", csv, &opts);
    assert_eq!(msg, "d.csv:5: duplicate response id \"0\" for prompt \"b\"");
    assert!(matches!(
        err,
        DataError::DuplicateResponse {
            location: Location::Line(5),
            ..
        }
    ));
    // Across a reappearance of the prompt (non-grouped file), with string ids.
    let csv = "prompt_id,response_id,proxy,true\na,r-x,1,1\nb,r-x,1,1\na,r-y,1,1\nb,r-y,1,1\na,r-x,3,3\n";
    let (msg, _) = load_err("d.csv", csv, &opts);
    assert_eq!(msg, "d.csv:6: duplicate response id \"r-x\" for prompt \"a\"");
    let jsonl = "{\"prompt_id\":1,\"response_id\":5,\"proxy\":1,\"true\":1}\n\
                 {\"prompt_id\":1,\"response_id\":\"5\",\"proxy\":1,\"true\":1}\n";
    let (msg, _) = load_err("d.jsonl", jsonl, &opts);
    assert_eq!(msg, "d.jsonl:2: duplicate response id \"5\" for prompt \"1\"");
    let f = parquet_file(
        "d.parquet",
        vec![
            ("prompt_id", Arc::new(Int64Array::from(vec![7, 7, 7, 8])) as ArrayRef),
            ("response_id", Arc::new(Int32Array::from(vec![1, 2, 1, 1]))),
            ("proxy", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0]))),
            ("true", Arc::new(Float64Array::from(vec![0.0, 1.0, 1.0, 1.0]))),
        ],
    );
    let err = f.load(&opts).unwrap_err();
    assert_eq!(
        err.to_string().replace(f.path(), "d.parquet"),
        "d.parquet: row 3: duplicate response id \"1\" for prompt \"7\""
    );
}

#[test]
fn csv_wrong_field_count_and_quoting() {
    let opts = LoadOptions::new();
    let (msg, _) = load_err("w.csv", "prompt_id,proxy,true\np,1,1\np,2\n", &opts);
    assert_eq!(msg, "w.csv:3: expected 3 fields (as in the header), found 2");
    let (msg, _) = load_err("w.csv", "prompt_id,proxy,true\np,1,1\np,2,3,4\n", &opts);
    assert_eq!(msg, "w.csv:3: expected 3 fields (as in the header), found 4");
    // A quoted field spanning two lines: later line numbers stay physical.
    let csv = "prompt_id,proxy,true\n\"multi\nline\",1,1\n\"multi\nline\",2,0\np,x,0\n";
    let (msg, _) = load_err("w.csv", csv, &opts);
    assert_eq!(msg, "w.csv:6: column \"proxy\": \"x\" is not a number");
}

#[test]
fn csv_details() {
    // BOM, CRLF, spaces around numbers and header names, booleans in the true column, quoted numbers.
    let csv = "\u{feff}prompt_id, proxy ,true\r\nq1, 0.5 ,TRUE\r\nq1,\"-1\",false\r\n\r\nq2,2,1\r\nq2,3,0";
    let cal = load_reader(csv.as_bytes(), "x.csv", Format::Csv, &LoadOptions::new()).unwrap();
    assert_eq!(cal.prompt_ids, ["q1", "q2"]);
    assert_eq!(cal.proxy, [0.5, -1.0, 2.0, 3.0]);
    assert_eq!(cal.truth, [1.0, 0.0, 1.0, 0.0]);
}

#[test]
fn jsonl_details() {
    let jsonl = "\u{feff}{\"prompt_id\": 12, \"proxy\": \"0.5\", \"true\": true, \"other\": [1, {\"x\": null}]}\r\n\
                 \n\
                 {\"true\": false, \"proxy\": -3, \"prompt_id\": 12}\n\
                 {\"prompt_id\": \"q\\u00e9\\n\", \"proxy\": 1e2, \"true\": \"1\"}\n\
                 {\"prompt_id\": \"q\\u00e9\\n\", \"proxy\": 7, \"true\": 0.25}";
    let cal = load_reader(jsonl.as_bytes(), "x.jsonl", Format::JsonLines, &LoadOptions::new()).unwrap();
    assert_eq!(cal.prompt_ids, ["12", "qé\n"]);
    assert_eq!(cal.proxy, [0.5, -3.0, 100.0, 7.0]);
    assert_eq!(cal.truth, [1.0, 0.0, 1.0, 0.25]);
}

#[test]
fn non_grouped_files_are_merged() {
    let csv = "prompt_id,response_id,proxy,true\n\
               b,0,1,10\na,0,2,20\nb,1,3,30\nc,0,4,40\na,1,5,50\nb,2,6,60\nc,1,7,70\nd,0,8,80\n";
    let cal = load_reader(csv.as_bytes(), "ng.csv", Format::Csv, &LoadOptions::new()).unwrap();
    assert_eq!(cal.prompt_ids, ["b", "a", "c"]);
    assert_eq!(cal.offsets, [0, 3, 5, 7]);
    assert_eq!(cal.proxy, [1.0, 3.0, 6.0, 2.0, 5.0, 4.0, 7.0]);
    assert_eq!(cal.truth, [10.0, 30.0, 60.0, 20.0, 50.0, 40.0, 70.0]);
    assert_eq!(cal.skipped_single, 1);
    assert_eq!(cal.rows_read, 8);
    assert_eq!(cal.prompt(2), ("c", &[4.0, 7.0][..], &[40.0, 70.0][..]));
    // The same through Parquet (written in this order).
    let f = TempFile::new("ng.parquet");
    let rows = [
        ("b", 1.0),
        ("a", 2.0),
        ("b", 3.0),
        ("c", 4.0),
        ("a", 5.0),
        ("b", 6.0),
        ("c", 7.0),
        ("d", 8.0),
    ];
    write(
        f.path(),
        None,
        rows.iter().map(|&(p, x)| Row {
            prompt_id: p,
            response_id: None,
            proxy: x,
            truth: 10.0 * x,
        }),
    )
    .unwrap();
    assert_eq!(csr(&f.load(&LoadOptions::new()).unwrap()), csr(&cal));
}

#[test]
fn single_response_prompts_are_skipped() {
    let csv =
        "prompt_id,proxy,true\nsolo1,1,1\npair,1,1\npair,2,2\nsolo2,3,3\ntrio,1,1\ntrio,2,2\ntrio,3,3\nsolo3,4,4\n";
    let cal = load_reader(csv.as_bytes(), "s.csv", Format::Csv, &LoadOptions::new()).unwrap();
    assert_eq!(cal.prompt_ids, ["pair", "trio"]);
    assert_eq!(cal.offsets, [0, 2, 5]);
    assert_eq!(cal.skipped_single, 3);
    assert_eq!(cal.rows_read, 8);
    assert_eq!(cal.num_rows(), 5);
    assert_eq!(cal.min_responses(), 2);
    // A prompt whose two rows are far apart is not single.
    let csv = "prompt_id,proxy,true\nx,1,1\ny,1,1\ny,2,2\nx,2,2\n";
    let cal = load_reader(csv.as_bytes(), "s.csv", Format::Csv, &LoadOptions::new()).unwrap();
    assert_eq!(cal.skipped_single, 0);
    assert_eq!(cal.offsets, [0, 2, 4]);
}

#[test]
fn sniffing_readers() {
    let expected = csr(&expected_sample());
    for format in [Format::Csv, Format::JsonLines, Format::Parquet] {
        let f = write_sample(&format!("sniff.{}", format.extension()), None);
        let bytes = std::fs::read(&f.path).unwrap();
        let cal = load_reader_sniffed(&bytes[..], "<stdin>", &LoadOptions::new()).unwrap();
        assert_eq!(csr(&cal), expected, "{format}");
        assert_eq!(cal.source, "<stdin>");
        // Explicit format through load_reader as well.
        let cal = load_reader(&bytes[..], "<stdin>", format, &LoadOptions::new()).unwrap();
        assert_eq!(csr(&cal), expected, "{format}");
    }
    // JSON lines with leading blank lines is still sniffed as JSON.
    let jsonl = "\n\n  {\"prompt_id\":\"p\",\"proxy\":1,\"true\":1}\n{\"prompt_id\":\"p\",\"proxy\":2,\"true\":0}\n";
    let cal = load_reader_sniffed(jsonl.as_bytes(), "<stdin>", &LoadOptions::new()).unwrap();
    assert_eq!(cal.proxy, [1.0, 2.0]);
    // A forced format wins over sniffing.
    let err = load_reader_sniffed(jsonl.as_bytes(), "<stdin>", &LoadOptions::new().format(Format::Csv)).unwrap_err();
    assert!(matches!(err, DataError::MissingColumn { .. }), "{err}");
}

#[test]
fn io_and_parquet_errors() {
    let err = load("/nonexistent-hedge/data.csv", &LoadOptions::new()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }));
    assert!(err.to_string().starts_with("/nonexistent-hedge/data.csv: "), "{err}");
    let (msg, err) = load_err("bad.parquet", "prompt_id,proxy,true\na,1,1\n", &LoadOptions::new());
    assert!(matches!(err, DataError::Parquet { .. }));
    assert!(msg.starts_with("bad.parquet: parquet: "), "{msg}");
    let err = load_reader(&b"PAR1garbagePAR1"[..], "<stdin>", Format::Parquet, &LoadOptions::new()).unwrap_err();
    assert!(err.to_string().starts_with("<stdin>: parquet: "), "{err}");
}

// ---------------------------------------------------------------------------------------------------------
// Parquet column types.

fn parquet_file(file_name: &str, columns: Vec<(&str, ArrayRef)>) -> TempFile {
    let f = TempFile::new(file_name);
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect()).unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(&f.path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    f
}

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
        Arc::new(arrow::array::StringViewArray::from(vec!["10", "10", "11", "11", "10"])),
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

// ---------------------------------------------------------------------------------------------------------
// Real data (shared/, beside the repository).

#[test]
fn real_data_realsumm() {
    let path = shared_data("realsumm/scores.csv");
    let cal = load(&path, &LoadOptions::new().proxy_col("proxy_rouge_1_precision")).unwrap();
    assert_eq!(cal.num_prompts(), 100);
    assert_eq!(cal.num_rows(), 2500);
    assert_eq!(cal.max_responses(), 25);
    assert_eq!(cal.min_responses(), 25);
    assert_eq!(cal.skipped_single, 0);
    assert_eq!(cal.prompt_ids[0], "doc000");
    let (_, proxy, truth) = cal.prompt(0);
    assert_eq!(proxy[0], 0.2);
    assert_eq!(truth[0], 0.0);
    assert!(cal.truth.iter().all(|&t| (0.0..=1.0).contains(&t)));
    // Another proxy column of the same file.
    let js = load(&path, &LoadOptions::new().proxy_col("proxy_js-2")).unwrap();
    assert_eq!(js.proxy[0], -0.6779144382668522);
    assert_eq!(js.truth, cal.truth);
}

#[test]
fn real_data_rewardmath() {
    let path = shared_data("rewardmath/scores.csv");
    let cal = load(&path, &LoadOptions::new().proxy_col("proxy_internlm2")).unwrap();
    assert_eq!(cal.num_prompts(), 483);
    assert_eq!(cal.num_rows(), 4830);
    assert_eq!(cal.max_responses(), 10);
    assert_eq!(cal.min_responses(), 10);
    assert_eq!(cal.prompt_ids[0], "math000");
    assert_eq!(cal.prompt(0).1[0], 0.1317138671875);
    // Exactly one correct solution per problem.
    for (id, _, truth) in cal.iter() {
        assert_eq!(truth.iter().filter(|&&t| t == 1.0).count(), 1, "{id}");
        assert!(truth.iter().all(|&t| t == 0.0 || t == 1.0));
    }
    // Convert to Parquet and JSON lines and back: identical.
    for format in [Format::Parquet, Format::JsonLines] {
        let f = TempFile::new(&format!("rm.{}", format.extension()));
        write_calibration(f.path(), None, &cal).unwrap();
        assert_eq!(csr(&f.load(&LoadOptions::new()).unwrap()), csr(&cal), "{format}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Bounds: |reward| <= max_abs_reward (default 1e6), lines <= max_line_bytes (default 16 MiB).

#[test]
fn defaults_of_the_bounds() {
    assert_eq!(DEFAULT_MAX_ABS_REWARD, 1e6);
    assert_eq!(DEFAULT_MAX_LINE_BYTES, 16 * 1024 * 1024);
    let opts = LoadOptions::new();
    assert_eq!(opts.reward_bound(), 1e6);
    assert_eq!(opts.line_cap(), 16 << 20);
    assert_eq!(opts.clone().max_abs_reward(5.0).reward_bound(), 5.0);
    assert_ne!(opts.clone().max_abs_reward(5.0), opts);
    assert_eq!(opts.clone().max_line_bytes(7).line_cap(), 7);
}

#[test]
fn csv_rewards_at_the_bound_load_and_beyond_it_are_refused() {
    // At the bound, both signs, in several spellings; the true column's booleans too.
    let csv = "prompt_id,proxy,true\np,1e6,-1000000\np,-1000000.0,1e6\np, 1E+6 ,true\n";
    let cal = load_reader(csv.as_bytes(), "data.csv", Format::Csv, &LoadOptions::new()).unwrap();
    assert_eq!(cal.proxy, [1e6, -1e6, 1e6]);
    assert_eq!(cal.truth, [-1e6, 1e6, 1.0]);
    // Just beyond, either column, either sign: file, line, field number, column, reward and value as written.
    for (row, line) in [
        (
            "p,1000000.000001,0",
            "data.csv:3:2: column \"proxy\": proxy reward 1000000.000001",
        ),
        (
            "p,-1000000.5,0",
            "data.csv:3:2: column \"proxy\": proxy reward -1000000.5",
        ),
        ("p,0,1e308", "data.csv:3:3: column \"true\": true reward 1e308"),
        ("p,0, -2e6 ", "data.csv:3:3: column \"true\": true reward -2e6"),
    ] {
        let csv = format!("prompt_id,proxy,true\np,0,0\n{row}\n");
        let (msg, err) = load_err("data.csv", &csv, &LoadOptions::new());
        assert_eq!(msg, format!("{line} is beyond --max-abs-reward 1000000"), "{row}");
        assert_eq!(err.location(), Some(Location::Line(3)));
    }
    // The error carries its data.
    let (_, err) = load_err(
        "data.csv",
        "prompt_id,true,x,proxy\np,0,0,0\np,0,0,-7\n",
        &LoadOptions::new().max_abs_reward(5.0),
    );
    match err {
        DataError::RewardTooLarge {
            location,
            field,
            column,
            reward,
            value,
            bound,
            ..
        } => {
            assert_eq!((location, field), (Location::Line(3), Some(4)));
            assert_eq!(
                (column.as_str(), reward, value.as_str(), bound),
                ("proxy", Reward::Proxy, "-7", 5.0)
            );
        }
        other => panic!("{other}"),
    }
    // A quoted field (the slow path), a custom column name and a bound below 1 (booleans are bounded too).
    let opts = LoadOptions::new().true_col("gold").max_abs_reward(0.5);
    let (msg, _) = load_err(
        "q.csv",
        "prompt_id,proxy,gold\np,\"0.5\",false\np,\"-0.5\",TRUE\n",
        &opts,
    );
    assert_eq!(
        msg,
        "q.csv:3:3: column \"gold\": true reward TRUE is beyond --max-abs-reward 0.5"
    );
    // Non-finite values keep their own error.
    let (msg, _) = load_err("data.csv", "prompt_id,proxy,true\np,inf,0\n", &LoadOptions::new());
    assert_eq!(msg, "data.csv:2: column \"proxy\": inf is not a finite number");
}

#[test]
fn jsonl_rewards_at_the_bound_load_and_beyond_it_are_refused() {
    let ok = "{\"prompt_id\":1,\"proxy\":1e6,\"true\":-1000000}\n\
              {\"prompt_id\":1,\"proxy\":\"-1e6\",\"true\":1000000.0}\n";
    let cal = load_reader(ok.as_bytes(), "data.jsonl", Format::JsonLines, &LoadOptions::new()).unwrap();
    assert_eq!(cal.proxy, [1e6, -1e6]);
    assert_eq!(cal.truth, [-1e6, 1e6]);
    for (cell, expected) in [
        ("\"proxy\":1e308,\"true\":0", "column \"proxy\": proxy reward 1e308"),
        (
            "\"proxy\":-1000000.5,\"true\":0",
            "column \"proxy\": proxy reward -1000000.5",
        ),
        ("\"proxy\":0,\"true\":1000001", "column \"true\": true reward 1000001"),
        ("\"proxy\":0,\"true\":-1000001", "column \"true\": true reward -1000001"),
        (
            "\"proxy\":0,\"true\":18446744073709551615",
            "column \"true\": true reward 18446744073709551615",
        ),
        ("\"proxy\":\" 2e6\",\"true\":0", "column \"proxy\": proxy reward 2e6"),
    ] {
        let jsonl = format!("{{\"prompt_id\":1,\"proxy\":0,\"true\":0}}\n\n{{\"prompt_id\":1,{cell}}}\n");
        let (msg, err) = load_err("data.jsonl", &jsonl, &LoadOptions::new());
        assert_eq!(
            msg,
            format!("data.jsonl:3: {expected} is beyond --max-abs-reward 1000000"),
            "{cell}"
        );
        assert!(matches!(err, DataError::RewardTooLarge { field: None, .. }), "{err:?}");
    }
    let opts = LoadOptions::new().max_abs_reward(0.25);
    let (msg, _) = load_err("b.jsonl", "{\"prompt_id\":1,\"proxy\":0.25,\"true\":true}\n", &opts);
    assert_eq!(
        msg,
        "b.jsonl:1: column \"true\": true reward 1 is beyond --max-abs-reward 0.25"
    );
}

#[test]
fn parquet_rewards_at_the_bound_load_and_beyond_it_are_refused() {
    let ids = || Arc::new(StringArray::from(vec!["a", "a", "a"])) as ArrayRef;
    let f = parquet_file(
        "ok.parquet",
        vec![
            ("prompt_id", ids()),
            ("proxy", Arc::new(Float64Array::from(vec![1e6, -1e6, 0.0]))),
            ("true", Arc::new(StringArray::from(vec!["-1e6", "1000000", "true"]))),
        ],
    );
    let cal = f.load(&LoadOptions::new()).unwrap();
    assert_eq!(cal.proxy, [1e6, -1e6, 0.0]);
    assert_eq!(cal.truth, [-1e6, 1e6, 1.0]);
    let cases: Vec<(ArrayRef, ArrayRef, &str)> = vec![
        (
            Arc::new(Float64Array::from(vec![0.0, -1000000.5, 0.0])),
            Arc::new(Float64Array::from(vec![0.0, 0.0, 0.0])),
            "row 2: column \"proxy\": proxy reward -1000000.5",
        ),
        (
            Arc::new(Float64Array::from(vec![0.0, 0.0, 0.0])),
            Arc::new(Float64Array::from(vec![0.0, 0.0, 1e308])),
            "row 3: column \"true\": true reward 1e308",
        ),
        (
            Arc::new(Int64Array::from(vec![0, 0, -10_000_000])),
            Arc::new(Int64Array::from(vec![0, 0, 0])),
            "row 3: column \"proxy\": proxy reward -10000000",
        ),
        (
            Arc::new(Float32Array::from(vec![0.0f32, 0.0, 0.0])),
            Arc::new(StringArray::from(vec!["0", "1000001", "0"])),
            "row 2: column \"true\": true reward 1000001",
        ),
    ];
    for (proxy, truth, expected) in cases {
        let f = parquet_file(
            "big.parquet",
            vec![("prompt_id", ids()), ("proxy", proxy), ("true", truth)],
        );
        let err = f.load(&LoadOptions::new()).unwrap_err();
        assert_eq!(
            err.to_string().replace(f.path(), "big.parquet"),
            format!("big.parquet: {expected} is beyond --max-abs-reward 1000000")
        );
    }
}

#[test]
fn reward_bound_applies_to_standard_input_and_can_be_raised() {
    let csv = "prompt_id,proxy,true\np,0,1e308\np,1,-1e308\n";
    let err = load_reader_sniffed(csv.as_bytes(), "<stdin>", &LoadOptions::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "<stdin>:2:3: column \"true\": true reward 1e308 is beyond --max-abs-reward 1000000"
    );
    let opts = LoadOptions::new().max_abs_reward(f64::MAX);
    let cal = load_reader_sniffed(csv.as_bytes(), "<stdin>", &opts).unwrap();
    assert_eq!(cal.truth, [1e308, -1e308]);
    for format in [Format::Csv, Format::JsonLines, Format::Parquet] {
        let f = TempFile::new(&format!("huge.{}", format.extension()));
        let cal = Calibration::from_rows([("p", f64::MAX, -f64::MAX), ("p", 1e300, -1e300)]).unwrap();
        write_calibration(f.path(), None, &cal).unwrap();
        assert_eq!(csr(&f.load(&opts).unwrap()), csr(&cal), "{format}");
        let err = f.load(&LoadOptions::new()).unwrap_err();
        assert!(matches!(err, DataError::RewardTooLarge { .. }), "{format}: {err}");
    }
}

#[test]
fn invalid_bounds_are_refused_before_reading() {
    for bound in [0.0, -1.0, f64::INFINITY, f64::NAN, -0.0] {
        let opts = LoadOptions::new().max_abs_reward(bound);
        let err = load_reader(&b"prompt_id,proxy,true\n"[..], "x.csv", Format::Csv, &opts).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::InvalidOption {
                    option: "max_abs_reward",
                    ..
                }
            ),
            "{bound}: {err}"
        );
        let err = load("/nonexistent-hedge/data.csv", &opts).unwrap_err();
        assert!(matches!(err, DataError::InvalidOption { .. }), "{err}");
    }
    let opts = LoadOptions::new().max_line_bytes(0);
    let err = load_reader(&b"prompt_id,proxy,true\n"[..], "x.jsonl", Format::JsonLines, &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.jsonl: invalid load option max_line_bytes = 0: must be at least 1"
    );
}

/// A valid row of `len` bytes (without line end): padded with blanks around the CSV proxy (quoting the prompt id
/// with `quoted`, which takes the CSV loader's slow path), with an ignored key in JSON lines.
fn row_of_len(format: Format, quoted: bool, len: usize) -> String {
    match format {
        Format::Csv => {
            let id = if quoted { "\"p\"" } else { "p" };
            format!("{id},{}2,0", " ".repeat(len - id.len() - 4))
        }
        _ => {
            let start = "{\"prompt_id\":\"p\",\"proxy\":2,\"true\":0,\"pad\":\"";
            format!("{start}{}\"}}", "x".repeat(len - start.len() - 2))
        }
    }
}

/// An input whose line 3 is `row` (lines 1 and 2: header and a row, or two rows), with `eol` line ends and
/// `last` after line 3.
fn input_with(format: Format, row: &str, eol: &str, last: &str) -> String {
    match format {
        Format::Csv => format!("prompt_id,proxy,true{eol}p,0,1{eol}{row}{last}"),
        _ => format!(
            "{{\"prompt_id\":\"p\",\"proxy\":0,\"true\":1}}{eol}{{\"prompt_id\":\"p\",\"proxy\":1,\"true\":0}}{eol}{row}{last}"
        ),
    }
}

#[test]
fn lines_up_to_the_cap_load_and_longer_ones_are_refused() {
    let opts = LoadOptions::new().max_line_bytes(1024);
    for format in [Format::Csv, Format::JsonLines] {
        for quoted in [false, true] {
            for (eol, last) in [("\n", "\n"), ("\r\n", "\r\n"), ("\n", ""), ("\r\n", "")] {
                let name = format!("long.{}", format.extension());
                let case = format!("{format} quoted={quoted} eol={eol:?} last={last:?}");
                let at_cap = input_with(format, &row_of_len(format, quoted, 1024), eol, last);
                let cal =
                    load_reader(at_cap.as_bytes(), &name, format, &opts).unwrap_or_else(|e| panic!("{case}: {e}"));
                let rows = if format == Format::Csv { 2 } else { 3 };
                assert_eq!((cal.num_rows(), cal.proxy[rows - 1]), (rows, 2.0), "{case}");
                let beyond = input_with(format, &row_of_len(format, quoted, 1025), eol, last);
                let err = load_reader(beyond.as_bytes(), &name, format, &opts).unwrap_err();
                assert_eq!(
                    err.to_string(),
                    format!("{name}:3: line longer than 1024 bytes (--max-line-bytes)"),
                    "{case}"
                );
                assert!(
                    matches!(
                        err,
                        DataError::LineTooLong {
                            line: 3,
                            limit: 1024,
                            ..
                        }
                    ),
                    "{case}"
                );
                // From a file, and from standard input (format sniffed) alike.
                let (msg, _) = load_err(&name, &beyond, &opts);
                assert_eq!(msg, err.to_string(), "{case}");
                let err = load_reader_sniffed(beyond.as_bytes(), "<stdin>", &opts).unwrap_err();
                assert!(matches!(err, DataError::LineTooLong { line: 3, .. }), "{case}: {err}");
            }
        }
    }
    // A header line and a first JSON line over the cap.
    let header = format!("prompt_id,proxy,true,{}\np,0,1\n", "c".repeat(2000));
    let (msg, _) = load_err("h.csv", header, &opts);
    assert_eq!(msg, "h.csv:1: line longer than 1024 bytes (--max-line-bytes)");
    let (msg, _) = load_err(
        "h.jsonl",
        format!("{}\n", row_of_len(Format::JsonLines, false, 5000)),
        &opts,
    );
    assert_eq!(msg, "h.jsonl:1: line longer than 1024 bytes (--max-line-bytes)");
    // A quoted CSV field spanning lines counts as one line, from where it starts.
    let multi = format!("prompt_id,proxy,true\np,0,1\n\"{}\",1,0\n", "p\n".repeat(600));
    let (msg, _) = load_err("m.csv", multi, &opts);
    assert_eq!(msg, "m.csv:3: line longer than 1024 bytes (--max-line-bytes)");
    // Bare carriage returns as line ends (every record through csv_core, which numbers lines by `\n` only).
    let cr = input_with(Format::Csv, &row_of_len(Format::Csv, false, 1024), "\r", "\r");
    assert_eq!(
        load_reader(cr.as_bytes(), "cr.csv", Format::Csv, &opts)
            .unwrap()
            .num_rows(),
        2
    );
    let cr = input_with(Format::Csv, &row_of_len(Format::Csv, false, 1025), "\r", "\r");
    let (_, err) = load_err("cr.csv", cr, &opts);
    assert!(matches!(err, DataError::LineTooLong { limit: 1024, .. }), "{err}");
}

/// A reader of a header, one row, then a line of `x` that goes on for `len` bytes; counts the bytes handed out.
struct EndlessLine {
    head: &'static [u8],
    left: u64,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl std::io::Read for EndlessLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head = &self.head[n..];
            n
        } else {
            let n = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
            buf[..n].fill(b'x');
            self.left -= n as u64;
            n
        };
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

#[test]
fn a_huge_line_is_refused_without_reading_it_whole() {
    // 4 GiB of one line: read whole, this test would need 4 GiB of memory and many seconds.
    for (format, head) in [
        (Format::Csv, &b"prompt_id,proxy,true\np,0,1\n\""[..]),
        (Format::Csv, &b"prompt_id,proxy,true\np,0,1\n"[..]),
        (
            Format::JsonLines,
            &b"{\"prompt_id\":1,\"proxy\":0,\"true\":1}\n{\"a\":\""[..],
        ),
    ] {
        for cap in [1024, 1 << 20] {
            let read = std::rc::Rc::new(std::cell::Cell::new(0));
            let reader = EndlessLine {
                head,
                left: 4 << 30,
                read: read.clone(),
            };
            let opts = LoadOptions::new().max_line_bytes(cap);
            let err = load_reader(reader, "<stdin>", format, &opts).unwrap_err();
            assert!(
                matches!(err, DataError::LineTooLong { line: 2 | 3, .. }),
                "{format}: {err}"
            );
            // At most the cap and one buffer of input (256 KiB for CSV, 128 KiB for JSON lines) beyond it.
            assert!(
                read.get() <= cap as u64 + (256 << 10) + 64,
                "{format} {cap}: read {} bytes",
                read.get()
            );
        }
    }
}
