//! Hostile input files (issue 5): every input kept from fuzzing
//! (`tests/fuzz_regressions/<target>/`, see "Hostile files" in the README)
//! goes through its loader, which must return Ok or Err, never panic; and
//! headers that claim far more data than the file holds are refused without
//! allocating what they claim.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use fashion_nn::data::{
    idx_images_from_bytes, idx_labels_from_bytes, read_idx_images, read_idx_labels,
};
use fashion_nn::model::{load, load_bytes};

/// The system allocator, noting the largest single request made by a thread
/// while that thread watches.
struct Watching;

thread_local! {
    static WATCH: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // try_with: a thread being torn down may still allocate.
    if WATCH.try_with(Cell::get).unwrap_or(false) {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
    }
}

// SAFETY: every call goes straight to `System` with the caller's arguments;
// the bookkeeping only touches const-initialized thread-locals, which never
// allocate.
unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

/// Runs `f` and returns its result with the largest single allocation it
/// made on this thread.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    WATCH.with(|w| w.set(true));
    let out = f();
    WATCH.with(|w| w.set(false));
    (out, LARGEST.with(Cell::get))
}

/// Far below anything a lying header claims, far above a read buffer.
const SMALL: usize = 1 << 20;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("write to a Vec");
    gz.finish().expect("finish a Vec")
}

/// The files kept for `target`, sorted; at least `min` of them.
fn regressions(target: &str, min: usize) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= min,
        "{}: {} files, expected at least {min}",
        dir.display(),
        files.len()
    );
    files
}

/// Calls `load` on each file's bytes and path; fails naming every file that
/// panicked. Returns the messages of the errors, one per file that failed.
fn none_panics<T>(
    files: &[PathBuf],
    load_bytes: impl Fn(&[u8], &Path) -> anyhow::Result<T>,
    load_path: impl Fn(&Path) -> anyhow::Result<T>,
    check_ok: impl Fn(&T),
) -> Vec<String> {
    let mut panicked = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        let bytes = fs::read(path).expect("read the regression file");
        let result = catch_unwind(AssertUnwindSafe(|| {
            let from_bytes = load_bytes(&bytes, path);
            let from_path = load_path(path);
            // The path version reads the same bytes the same way.
            assert_eq!(
                from_bytes.as_ref().err().map(|e| format!("{e:#}")),
                from_path.as_ref().err().map(|e| format!("{e:#}"))
            );
            match from_bytes {
                Ok(v) => {
                    check_ok(&v);
                    None
                }
                Err(e) => Some(format!("{e:#}")),
            }
        }));
        match result {
            Ok(Some(msg)) => {
                eprintln!("{msg}");
                let name = path.display().to_string();
                assert!(msg.contains(&name), "{name}: message lacks the file: {msg}");
                errors.push(msg);
            }
            Ok(None) => eprintln!("{}: loads", path.display()),
            Err(_) => panicked.push(path.display().to_string()),
        }
    }
    assert!(panicked.is_empty(), "panicked on {panicked:?}");
    errors
}

#[test]
fn kept_idx_image_inputs_load_or_fail_without_panicking() {
    let files = regressions("idx_images", 5);
    let errors = none_panics(&files, idx_images_from_bytes, read_idx_images, |im| {
        assert_eq!(im.pixels.len(), im.count * im.rows * im.cols);
    });
    assert!(!errors.is_empty(), "hostile inputs should mostly fail");
}

#[test]
fn kept_idx_label_inputs_load_or_fail_without_panicking() {
    let files = regressions("idx_labels", 5);
    let errors = none_panics(&files, idx_labels_from_bytes, read_idx_labels, |_| {});
    assert!(!errors.is_empty(), "hostile inputs should mostly fail");
}

#[test]
fn kept_model_file_inputs_load_or_fail_without_panicking() {
    let files = regressions("model_file", 5);
    let errors = none_panics(&files, load_bytes, load, |m| {
        let s = m.params.shape;
        assert_eq!(s.inputs, m.rows * m.cols);
        assert_eq!(m.params.w1.len(), s.hidden * s.inputs);
        assert_eq!(m.class_names.len(), s.classes);
    });
    assert!(!errors.is_empty(), "hostile inputs should mostly fail");
}

/// An idx3 header claiming `count` images of `rows`×`cols`, then `data`.
fn idx3(count: u32, rows: u32, cols: u32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [0x803, count, rows, cols] {
        v.extend(u32::to_be_bytes(w));
    }
    v.extend(data);
    v
}

#[test]
fn billions_of_images_claimed_in_a_small_file_fail_without_a_large_allocation() {
    // 4 294 967 295 images of 28x28 (3.4 TB) claimed in 1 016 bytes.
    let raw = idx3(u32::MAX, 28, 28, &[7; 1000]);
    for (name, bytes) in [("liar", raw.clone()), ("liar.gz", gzip(&raw))] {
        let (result, largest) =
            largest_allocation(|| idx_images_from_bytes(&bytes, Path::new(name)));
        let msg = format!("{:#}", result.expect_err("a lying header is an error"));
        assert!(msg.contains("truncated"), "{msg}");
        assert!(msg.contains("4294967295 images"), "{msg}");
        assert!(largest < SMALL, "{name}: allocated {largest} bytes at once");
    }
}

#[test]
fn billions_of_labels_claimed_in_a_small_file_fail_without_a_large_allocation() {
    let mut raw = Vec::new();
    raw.extend(u32::to_be_bytes(0x801));
    raw.extend(u32::to_be_bytes(u32::MAX));
    raw.extend([3u8; 100]);
    for (name, bytes) in [("liar", raw.clone()), ("liar.gz", gzip(&raw))] {
        let (result, largest) =
            largest_allocation(|| idx_labels_from_bytes(&bytes, Path::new(name)));
        let msg = format!("{:#}", result.expect_err("a lying header is an error"));
        assert!(msg.contains("truncated"), "{msg}");
        assert!(largest < SMALL, "{name}: allocated {largest} bytes at once");
    }
}

#[test]
fn model_header_claiming_a_huge_length_fails_without_a_large_allocation() {
    // safetensors starts with the u64 length of its JSON header.
    let mut bytes = (1u64 << 40).to_le_bytes().to_vec();
    bytes.extend(b"{\"w1\":{}}");
    let (result, largest) =
        largest_allocation(|| load_bytes(&bytes, Path::new("liar.safetensors")));
    let msg = format!("{:#}", result.expect_err("a lying header is an error"));
    assert!(msg.contains("liar.safetensors"), "{msg}");
    assert!(largest < SMALL, "allocated {largest} bytes at once");
}

#[test]
fn model_whose_rows_times_cols_overflows_is_an_error_not_a_panic() {
    // Found by hand before fuzzing: `rows * cols` overflowed (a panic with
    // overflow checks, a wrapped size without).
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions/model_file/hand-rows-times-cols-overflows");
    let msg = format!("{:#}", load(&path).expect_err("an impossible size"));
    assert!(msg.contains("4294967296x4294967296"), "{msg}");
    assert!(msg.contains("`w1` takes 4 pixels"), "{msg}");
}
