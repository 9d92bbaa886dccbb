//! Loading and writing: round trips in every format, the writer, column selection, grouping, sniffing and
//! the real data sets.

use crate::common;

use common::{TempFile, csr, expected_sample, shared_data, write_sample};
use hedge_data::{
    CalibrationWriter, DataError, Format, LoadOptions, Row, load, load_reader, load_reader_sniffed, write,
    write_calibration,
};

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
