//! Error messages: file name, line (or row) and column.

use crate::common;

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, StringArray};
use common::{TempFile, load_err, parquet_file, write_sample};
use hedge_data::{CalibrationWriter, DataError, Format, LoadOptions, Location, load, load_reader, load_reader_sniffed};

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
