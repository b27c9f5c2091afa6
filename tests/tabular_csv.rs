//! CSV reading into `stratanet::tabular::Table`: quoting, missing-value markers, type
//! inference and declared types, column selection, header-less files, delimiters, every
//! error case (messages name the file, the 1-based line and the column), streamed chunks
//! equal to the whole-file read, table operations, and `to_tensor` / `to_labels` on both
//! engines (candle and, with feature `tch`, libtorch).

#[macro_use]
mod common;

use stratanet::tabular::{Column, ColumnType, CsvChunks, CsvOptions, Table};
use stratanet::{Backend, Device, Error};

/// Writes `text` to a file in a fresh temporary folder of its own; removed when the guard
/// drops.
struct TempCsv(common::TmpPath);

impl TempCsv {
    fn new(name: &str, text: &str) -> TempCsv {
        let path = common::tmp(name);
        std::fs::write(&path, text).unwrap();
        TempCsv(path)
    }

    fn read(&self, opts: &CsvOptions) -> stratanet::Result<Table> {
        Table::read_csv(&*self.0, opts)
    }

    /// The error message of reading the file, checked to name the file.
    fn error(&self, opts: &CsvOptions) -> String {
        let msg = self.read(opts).unwrap_err().to_string();
        assert!(msg.contains(&self.0.display().to_string()), "{msg}");
        msg
    }

    /// [`Self::error`], checked to contain every one of `fragments`.
    fn error_contains(&self, opts: &CsvOptions, fragments: &[&str]) -> String {
        let msg = self.error(opts);
        for fragment in fragments {
            assert!(msg.contains(fragment), "{fragment:?} not in {msg}");
        }
        msg
    }
}

/// Writes `text` as file `name` and reads it with the default options.
fn read_default(name: &str, text: &str) -> Table {
    TempCsv::new(name, text).read(&CsvOptions::new()).unwrap()
}

/// Asserts that each `(name, column)` of `want` is the column of `t` by that name.
fn assert_columns(t: &Table, want: &[(&str, Column)]) {
    for (name, column) in want {
        assert_eq!(t.column(name).unwrap(), column, "column {name}");
    }
}

fn floats(v: &[Option<f64>]) -> Column {
    Column::Float(v.to_vec())
}

fn ints(v: &[Option<i64>]) -> Column {
    Column::Int(v.to_vec())
}

fn strs(v: &[Option<&str>]) -> Column {
    Column::Str(v.iter().map(|s| s.map(String::from)).collect())
}

#[test]
fn quoted_fields() {
    let t = read_default(
        "quoted.csv",
        "name,note,x\n\"Smith, John\",\"said \"\"hi\"\"\",1\nplain,\"two\nlines\",2\n\"\",\"\",3\n",
    );
    assert_eq!(t.n_rows(), 3);
    // a quoted empty field is still an empty field, hence missing by default
    assert_columns(
        &t,
        &[
            ("name", strs(&[Some("Smith, John"), Some("plain"), None])),
            (
                "note",
                strs(&[Some("said \"hi\""), Some("two\nlines"), None]),
            ),
            ("x", Column::ints(vec![1, 2, 3])),
        ],
    );
}

#[test]
fn default_missing_markers() {
    let t = read_default(
        "na.csv",
        "a,b,c\n1,x,1.5\n,NA,NaN\nnan,null,NULL\nN/A, NA ,2\n5,y,\n",
    );
    assert_columns(
        &t,
        &[
            ("a", ints(&[Some(1), None, None, None, Some(5)])),
            ("b", strs(&[Some("x"), None, None, None, Some("y")])),
            ("c", floats(&[Some(1.5), None, None, Some(2.0), None])),
        ],
    );
    assert_eq!(
        t.columns()
            .iter()
            .map(Column::missing_count)
            .collect::<Vec<_>>(),
        [3, 3, 3]
    );
}

#[test]
fn custom_missing_markers() {
    let text = "a,b\n1,?\n-,2\n3,\n";
    let f = TempCsv::new("custom_na.csv", text);
    // "" no longer marks a missing value, so column b holds an empty string
    let t = f.read(&CsvOptions::new().na_values(&["?", "-"])).unwrap();
    assert_columns(
        &t,
        &[
            ("a", ints(&[Some(1), None, Some(3)])),
            ("b", strs(&[None, Some("2"), Some("")])),
        ],
    );
    let t = f
        .read(&CsvOptions::new().na_values(&["?", "-", ""]))
        .unwrap();
    assert_eq!(t.column("b").unwrap(), &ints(&[None, Some(2), None]));
}

#[test]
fn type_inference_per_column() {
    let t = read_default("types.csv", "i,f,mixed,sci,s,empty,neg\n1,0.5,1,1e3,a,,-4\n+2,-1,2.5,2E-2,3,,0\n3, 7 ,3,inf,x y,,-9223372036854775808\n");
    let types: Vec<ColumnType> = t.schema().into_iter().map(|(_, ty)| ty).collect();
    use ColumnType::*;
    assert_eq!(types, [Int, Float, Float, Float, Str, Float, Int]);
    assert_columns(
        &t,
        &[
            ("i", Column::ints(vec![1, 2, 3])),
            ("f", Column::floats(vec![0.5, -1.0, 7.0])),
            ("sci", Column::floats(vec![1000.0, 0.02, f64::INFINITY])),
            ("s", Column::strs(&["a", "3", "x y"])),
            ("empty", floats(&[None, None, None])),
            ("neg", Column::ints(vec![-4, 0, i64::MIN])),
        ],
    );
}

#[test]
fn declared_types() {
    let f = TempCsv::new("declared.csv", "zip,count,score\n00501,3,1\n02134,4,2\n");
    let opts = CsvOptions::new()
        .column_type("zip", ColumnType::Str)
        .column_type("count", ColumnType::Float)
        .column_type("score", ColumnType::Int);
    let t = f.read(&opts).unwrap();
    assert_columns(
        &t,
        &[
            ("zip", Column::strs(&["00501", "02134"])),
            ("count", Column::floats(vec![3.0, 4.0])),
            ("score", Column::ints(vec![1, 2])),
        ],
    );
    // a later declaration of the same column wins
    let t = f
        .read(&opts.clone().column_type("zip", ColumnType::Int))
        .unwrap();
    assert_eq!(t.column("zip").unwrap(), &Column::ints(vec![501, 2134]));
}

#[test]
fn column_selection() {
    let f = TempCsv::new("select.csv", "a,b,c,d\n1,x,2.5,4\n2,y,3.5,5\n");
    let t = f.read(&CsvOptions::new().columns(&["d", "b"])).unwrap();
    assert_eq!(t.names(), ["d", "b"]);
    assert_columns(
        &t,
        &[
            ("d", Column::ints(vec![4, 5])),
            ("b", Column::strs(&["x", "y"])),
        ],
    );
    f.error_contains(
        &CsvOptions::new().columns(&["a", "zz"]),
        &["line 1", "unknown column 'zz'", "known: a, b, c, d"],
    );
    f.error_contains(
        &CsvOptions::new().columns(&["a", "a"]),
        &["'a' selected twice"],
    );
    f.error_contains(
        &CsvOptions::new().column_type("e", ColumnType::Int),
        &["unknown column 'e' in CsvOptions::column_type"],
    );
}

#[test]
fn headerless_files() {
    let f = TempCsv::new("nohead.csv", "1,a,0.5\n2,b,\n");
    let t = f.read(&CsvOptions::new().has_header(false)).unwrap();
    assert_eq!(t.names(), ["0", "1", "2"]);
    assert_eq!(t.n_rows(), 2);
    assert_columns(
        &t,
        &[
            ("0", Column::ints(vec![1, 2])),
            ("2", floats(&[Some(0.5), None])),
        ],
    );
    let t = f
        .read(&CsvOptions::new().has_header(false).columns(&["1"]))
        .unwrap();
    assert_eq!(t.column("1").unwrap(), &Column::strs(&["a", "b"]));
    let bad = TempCsv::new("nohead_ragged.csv", "1,2\n3\n");
    bad.error_contains(
        &CsvOptions::new().has_header(false),
        &[
            "line 2",
            "expected 2 fields (as in the first line), got 1",
            "no value for column '1'",
        ],
    );
}

#[test]
fn delimiters_line_endings_and_bom() {
    let f = TempCsv::new("semi.csv", "a;b\r\n1,5;x\r\n2;y\r\n");
    let t = f
        .read(
            &CsvOptions::new()
                .delimiter(b';')
                .column_type("a", ColumnType::Str),
        )
        .unwrap();
    assert_columns(
        &t,
        &[
            ("a", Column::strs(&["1,5", "2"])),
            ("b", Column::strs(&["x", "y"])),
        ],
    );
    let f = TempCsv::new("tab.tsv", "\u{feff}a\tb\n1\t2\n\n3\t4\n");
    let t = f.read(&CsvOptions::new().delimiter(b'\t')).unwrap();
    assert_eq!(t.names(), ["a", "b"]);
    // blank lines are skipped
    assert_eq!(t.column("b").unwrap(), &Column::ints(vec![2, 4]));
    // header names are trimmed; an empty one is named like pandas
    let t = read_default("names.csv", " a , ,c\n1,2,3\n");
    assert_eq!(t.names(), ["a", "Unnamed: 1", "c"]);
}

#[test]
fn ragged_rows_name_file_line_and_column() {
    let f = TempCsv::new("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
    f.error_contains(
        &CsvOptions::new(),
        &[
            "line 3",
            "expected 3 fields (as in the header), got 2",
            "no value for column 'c'",
        ],
    );
    // a quoted field spanning two lines shifts the line numbers
    let f = TempCsv::new("ragged2.csv", "a,b\n\"x\ny\",1\n2,3,4\n");
    f.error_contains(
        &CsvOptions::new(),
        &["line 4", "extra field after column 'b'"],
    );
}

#[test]
fn unparsable_declared_numbers() {
    let f = TempCsv::new("auto-mpg.csv", "name,horsepower\na,130\nb,165\nc,abc\n");
    let msg = f.error(&CsvOptions::new().column_type("horsepower", ColumnType::Float));
    assert!(
        msg.ends_with(
            "auto-mpg.csv: line 4, column 'horsepower': cannot parse \"abc\" as a number"
        ),
        "{msg}"
    );
    let f = TempCsv::new("int.csv", "x\n1\n\n2.5\n");
    f.error_contains(
        &CsvOptions::new().column_type("x", ColumnType::Int),
        &["line 4, column 'x': cannot parse \"2.5\" as an integer"],
    );
    // blank lines, CRLF endings and a quoted two-line field all count as lines
    let f = TempCsv::new(
        "lines.csv",
        "a,b\r\n\r\n1,2\r\n\"x\r\ny\",3\r\n\r\nz,4.5\r\n",
    );
    f.error_contains(
        &CsvOptions::new().column_type("b", ColumnType::Int),
        &["line 7, column 'b': cannot parse \"4.5\" as an integer"],
    );
    assert!(matches!(
        f.read(&CsvOptions::new().column_type("x", ColumnType::Int)),
        Err(Error::Config { .. })
    ));
}

#[test]
fn header_errors() {
    let f = TempCsv::new("empty.csv", "");
    f.error_contains(&CsvOptions::new(), &["line 1: empty file: no header line"]);
    f.error_contains(
        &CsvOptions::new().has_header(false),
        &["empty file: no rows"],
    );
    let f = TempCsv::new("dup.csv", "a,b,a\n1,2,3\n");
    f.error_contains(
        &CsvOptions::new(),
        &[
            "line 1, column 'a'",
            "duplicate column name (fields 1 and 3",
        ],
    );
    // header only: zero rows, undeclared columns are float
    let f = TempCsv::new("header_only.csv", "a,b\n");
    let t = f
        .read(&CsvOptions::new().column_type("b", ColumnType::Str))
        .unwrap();
    assert_eq!((t.n_rows(), t.n_cols()), (0, 2));
    assert_eq!(
        t.schema(),
        [
            ("a".into(), ColumnType::Float),
            ("b".into(), ColumnType::Str)
        ]
    );
}

#[test]
fn missing_file_and_invalid_utf8() {
    let path = common::tmp("no-such-dir").join("none.csv");
    let msg = Table::read_csv(&path, &CsvOptions::new())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("none.csv") && msg.contains("cannot open"),
        "{msg}"
    );
    let f = TempCsv::new("utf8.csv", "a\nok\n");
    std::fs::write(&f.0, b"a\nok\n\xff\xfe\n").unwrap();
    f.error_contains(&CsvOptions::new(), &["line 3"]);
}

#[test]
fn from_csv_str_names_its_source() {
    let msg = Table::from_csv_str("a,b\n1\n", &CsvOptions::new())
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("<string>: line 2"), "{msg}");
}

fn big_csv(rows: usize) -> String {
    let mut s = String::from("id,x,label,note\n");
    for i in 0..rows {
        let x = if i % 17 == 3 {
            String::new()
        } else {
            // always with decimals, so that even a one-row first chunk infers Float
            format!("{:.2}", i as f64 * 0.25 - 7.0)
        };
        let note = if i % 5 == 0 { "\"a, b\"" } else { "c" };
        s.push_str(&format!("{i},{x},{},{note}\n", i % 3));
    }
    s
}

#[test]
fn chunks_concatenate_to_read_csv() {
    let f = TempCsv::new("big.csv", &big_csv(1000));
    let whole = f.read(&CsvOptions::new()).unwrap();
    assert_eq!(whole.n_rows(), 1000);
    for chunk_rows in [1usize, 7, 100, 999, 1000, 5000] {
        let chunks = CsvChunks::open(&f.0, &CsvOptions::new(), chunk_rows).unwrap();
        assert_eq!(chunks.schema(), whole.schema().as_slice());
        let tables: Vec<Table> = chunks.collect::<stratanet::Result<_>>().unwrap();
        assert_eq!(tables.len(), 1000_usize.div_ceil(chunk_rows));
        assert!(tables.iter().all(|t| t.n_rows() <= chunk_rows));
        assert_eq!(
            Table::concat(&tables).unwrap(),
            whole,
            "chunk_rows {chunk_rows}"
        );
    }
    // selection and declared types apply to every chunk
    let opts = CsvOptions::new()
        .columns(&["label", "x"])
        .column_type("label", ColumnType::Str);
    let tables: Vec<Table> = CsvChunks::open(&f.0, &opts, 64)
        .unwrap()
        .collect::<stratanet::Result<_>>()
        .unwrap();
    assert_eq!(Table::concat(&tables).unwrap(), f.read(&opts).unwrap());
}

#[test]
fn chunks_of_the_bundled_auto_mpg_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/auto-mpg/auto-mpg.csv");
    // The first 25 rows hold only whole numbers of miles per gallon and of displacement,
    // so both columns are inferred Int; line 67's displacement "97.5" (the first
    // fractional one) is then an error until the columns are declared Float.
    let mut chunks = CsvChunks::open(path, &CsvOptions::new(), 25).unwrap();
    assert_eq!(
        chunks.schema()[1],
        ("Miles_per_Gallon".into(), ColumnType::Int)
    );
    assert_eq!(chunks.schema()[3], ("Displacement".into(), ColumnType::Int));
    let err = chunks
        .find_map(|c| c.err())
        .expect("a later chunk has a fractional value")
        .to_string();
    assert!(
        err.contains(
            "auto-mpg.csv: line 67, column 'Displacement': cannot parse \"97.5\" as an integer"
        ),
        "{err}"
    );
    assert!(
        err.contains("declare this one with CsvOptions::column_type"),
        "{err}"
    );
    assert!(chunks.next().is_none(), "the iterator ends after an error");

    let opts = CsvOptions::new()
        .column_type("Miles_per_Gallon", ColumnType::Float)
        .column_type("Displacement", ColumnType::Float)
        .column_type("Acceleration", ColumnType::Float);
    let chunks = CsvChunks::open(path, &opts, 25).unwrap();
    let tables: Vec<Table> = chunks.collect::<stratanet::Result<_>>().unwrap();
    let whole = Table::read_csv(path, &CsvOptions::new()).unwrap();
    assert_eq!(Table::concat(&tables).unwrap(), whole);
    assert_eq!(whole, stratanet::datasets::auto_mpg().unwrap());
}

#[test]
fn chunk_errors() {
    let f = TempCsv::new("chunk_err.csv", "a,b\n1,2\n3,4\n5\n");
    let e = CsvChunks::open(&f.0, &CsvOptions::new(), 0).unwrap_err();
    assert!(e.to_string().contains("chunk_rows"), "{e}");
    let mut chunks = CsvChunks::open(&f.0, &CsvOptions::new(), 2).unwrap();
    assert_eq!(chunks.next().unwrap().unwrap().n_rows(), 2);
    let msg = chunks.next().unwrap().unwrap_err().to_string();
    assert!(msg.contains("chunk_err.csv: line 4") && msg.contains("no value for column 'b'"));
    assert!(chunks.next().is_none());
    assert_eq!(chunks.rows_read(), 2);
    let empty = TempCsv::new("chunk_empty.csv", "");
    assert!(CsvChunks::open(&empty.0, &CsvOptions::new(), 10).is_err());
    let header_only = TempCsv::new("chunk_header.csv", "a,b\n");
    assert_eq!(
        CsvChunks::open(&header_only.0, &CsvOptions::new(), 10)
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn table_operations() {
    let t = common::csv_table("id,x,y,kind\n1,0.5,,a\n2,1.5,3,b\n3,,4,\n4,2.5,5,a\n");
    assert_eq!((t.n_rows(), t.n_cols()), (4, 4));
    let e = t.column("z").unwrap_err().to_string();
    assert!(
        e.contains("unknown column") && e.contains("'z'") && e.contains("known: id, x, y, kind"),
        "{e}"
    );
    assert_eq!(t.select(&["y", "id"]).unwrap().names(), ["y", "id"]);
    assert!(t.select(&["id", "nope"]).is_err());
    assert_eq!(t.drop(&["x", "kind"]).unwrap().names(), ["id", "y"]);
    let sub = t.take(&[3, 0, 3]);
    assert_eq!(sub.column("id").unwrap(), &Column::ints(vec![4, 1, 4]));
    assert!(t
        .try_take(&[0, 4])
        .unwrap_err()
        .to_string()
        .contains("index 4"));
    assert_eq!(
        t.drop_missing(&["x"]).unwrap().column("id").unwrap(),
        &Column::ints(vec![1, 2, 4])
    );
    assert_eq!(
        t.drop_missing(&[]).unwrap().column("id").unwrap(),
        &Column::ints(vec![2, 4])
    );
    let t2 = t
        .clone()
        .with_column("x", Column::floats(vec![0.0; 4]))
        .unwrap()
        .with_column("w", Column::ints(vec![9; 4]))
        .unwrap();
    assert_eq!(t2.names(), ["id", "x", "y", "kind", "w"]);
    assert_eq!(t2.column("x").unwrap().missing_count(), 0);
    assert!(t.clone().with_column("w", Column::ints(vec![1])).is_err());
    let e = Table::new(vec![
        ("a".into(), Column::ints(vec![1, 2])),
        ("b".into(), Column::ints(vec![1])),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("column 'b' has 1 rows"), "{e}");
    let e = Table::new(vec![
        ("a".into(), Column::ints(vec![1])),
        ("a".into(), Column::ints(vec![1])),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("duplicate column name 'a'"), "{e}");
    assert!(Table::concat(&[t.clone(), t.select(&["id"]).unwrap()]).is_err());
}

fn to_tensor_and_labels<B: Backend>() {
    let t = common::csv_table("a,b,label,name\n1,0.5,2,x\n2,-1.25,0,y\n3,,1,z\n");
    let complete = t.drop_missing(&["b"]).unwrap();
    let x = complete.to_tensor::<B>(&["b", "a"], Device::Cpu).unwrap();
    assert_eq!(x.shape(), [2, 2]);
    assert_eq!(x.to_vec_f32().unwrap(), [0.5, 1.0, -1.25, 2.0]);
    let y = t.to_labels::<B>("label", Device::Cpu).unwrap();
    assert_eq!(y.shape(), [3]);
    assert_eq!(y.to_vec_i64().unwrap(), [2, 0, 1]);

    let msg = t
        .to_tensor::<B>(&["a", "b"], Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("column 'b'") && msg.contains("missing value at row 2"),
        "{msg}"
    );
    let msg = t
        .to_tensor::<B>(&["name"], Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("column 'name'") && msg.contains("string column"),
        "{msg}"
    );
    assert!(t.to_tensor::<B>(&["nope"], Device::Cpu).is_err());
    assert!(t.to_tensor::<B>(&[], Device::Cpu).is_err());
    let msg = t.to_labels::<B>("b", Device::Cpu).unwrap_err().to_string();
    assert!(
        msg.contains("column 'b'") && msg.contains("expected an int column, got a float"),
        "{msg}"
    );
    let t = t
        .with_column("label", ints(&[Some(1), None, Some(0)]))
        .unwrap();
    let msg = t
        .to_labels::<B>("label", Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("missing value at row 1"), "{msg}");
}

fn bundled_datasets_to_tensors<B: Backend>() {
    let cars = stratanet::datasets::auto_mpg()
        .unwrap()
        .drop_missing(&["Miles_per_Gallon", "Horsepower"])
        .unwrap();
    let x = cars
        .to_tensor::<B>(&["Cylinders", "Horsepower", "Weight_in_lbs"], Device::Cpu)
        .unwrap();
    assert_eq!(x.shape(), [392, 3]);
    // first row of the file: chevrolet chevelle malibu, 8 cylinders, 130 hp, 3504 lbs
    assert_eq!(x.to_vec_f32().unwrap()[..3], [8.0, 130.0, 3504.0]);
    let days = stratanet::datasets::seattle_weather().unwrap();
    let x = days
        .to_tensor::<B>(
            &["precipitation", "temp_max", "temp_min", "wind"],
            Device::Cpu,
        )
        .unwrap();
    assert_eq!(x.shape(), [1461, 4]);
    // 2012/01/01,0.0,12.8,5.0,4.7,drizzle
    assert_eq!(x.to_vec_f32().unwrap()[..4], [0.0, 12.8, 5.0, 4.7]);
}

engine_tests!(to_tensor_and_labels, bundled_datasets_to_tensors,);
