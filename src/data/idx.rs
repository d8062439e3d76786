//! The IDX file format (big-endian header, then u8 data), raw or gzip.
//!
//! An idx3 image file is the magic 0x00000803, then big-endian u32 count,
//! rows and cols, then count × rows × cols pixel bytes. An idx1 label file is
//! the magic 0x00000801, a big-endian u32 count, then count label bytes.
//! A file is read as gzip when it starts with the gzip magic bytes 0x1f 0x8b,
//! whatever its name. Bytes after the data are an error (the header and the
//! file must agree exactly).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};
use flate2::read::MultiGzDecoder;

/// Magic number of an idx3-ubyte (u8 images) file.
pub const IDX3_UBYTE_MAGIC: u32 = 0x0000_0803;
/// Magic number of an idx1-ubyte (u8 labels) file.
pub const IDX1_UBYTE_MAGIC: u32 = 0x0000_0801;

/// Images as read from an idx3 file.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

/// Reads an idx3-ubyte image file (magic 0x00000803).
///
/// Returns `count` images of `rows`×`cols` pixels, row-major, one after
/// another (`pixels.len() == count * rows * cols`). Errors name the file and
/// say what is wrong: unreadable, not an image file, zero rows or columns,
/// shorter or longer than its header says, or a corrupt gzip stream.
pub fn read_idx_images(path: &Path) -> Result<IdxImages> {
    images(IdxReader::open(path)?)
}

/// [`read_idx_images`] of a file already in memory (raw or gzip); `name`
/// stands for the file in error messages.
pub fn idx_images_from_bytes(bytes: &[u8], name: &Path) -> Result<IdxImages> {
    images(IdxReader::from_bytes(bytes, name)?)
}

fn images(mut file: IdxReader) -> Result<IdxImages> {
    let path = file.path;
    let [magic, count, rows, cols] = file.header::<4>(IDX3_UBYTE_MAGIC)?;
    if rows == 0 || cols == 0 {
        bail!(
            "{}: the IDX header says the images are {rows}x{cols} pixels; \
             rows and columns must be at least 1 (the file is damaged or not an image file)",
            path.display()
        );
    }
    debug_assert_eq!(magic, IDX3_UBYTE_MAGIC);
    let bytes = u64::from(count)
        .checked_mul(u64::from(rows))
        .and_then(|b| b.checked_mul(u64::from(cols)))
        .with_context(|| {
            format!(
                "{}: the IDX header says {count} images of {rows}x{cols} pixels, \
                 more bytes than a 64-bit size can hold; the file is damaged",
                path.display()
            )
        })?;
    let what = || format!("{count} images of {rows}x{cols} pixels");
    let pixels = file.data(bytes, &what)?;
    Ok(IdxImages {
        count: to_usize(count),
        rows: to_usize(rows),
        cols: to_usize(cols),
        pixels,
    })
}

/// Reads an idx1-ubyte label file (magic 0x00000801).
///
/// Returns one u8 label per item. Errors name the file and say what is wrong:
/// unreadable, not a label file, shorter or longer than its header says, or a
/// corrupt gzip stream.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    labels(IdxReader::open(path)?)
}

/// [`read_idx_labels`] of a file already in memory (raw or gzip); `name`
/// stands for the file in error messages.
pub fn idx_labels_from_bytes(bytes: &[u8], name: &Path) -> Result<Vec<u8>> {
    labels(IdxReader::from_bytes(bytes, name)?)
}

fn labels(mut file: IdxReader) -> Result<Vec<u8>> {
    let [magic, count] = file.header::<2>(IDX1_UBYTE_MAGIC)?;
    debug_assert_eq!(magic, IDX1_UBYTE_MAGIC);
    let what = || format!("{count} labels");
    file.data(u64::from(count), &what)
}

/// u32 → usize; every platform this crate builds for has a usize of 32 bits
/// or more.
fn to_usize(x: u32) -> usize {
    // invariant: usize is at least 32 bits on every supported target.
    usize::try_from(x).expect("usize holds a u32") // invariant: usize ≥ 32 bits
}

/// What an IDX magic number says the file is, for error messages.
fn describe_magic(magic: u32) -> String {
    match magic {
        IDX3_UBYTE_MAGIC => "an IDX image file".to_string(),
        IDX1_UBYTE_MAGIC => "an IDX label file".to_string(),
        _ if magic >> 16 == 0 && (magic >> 8) & 0xff >= 0x08 && (magic & 0xff) >= 1 => {
            format!(
                "an IDX file of type 0x{:02x} with {} dimensions",
                (magic >> 8) & 0xff,
                magic & 0xff
            )
        }
        _ => "not an IDX file".to_string(),
    }
}

/// An open IDX file, decompressed on the fly when it is gzip.
struct IdxReader<'a> {
    path: &'a Path,
    gzip: bool,
    /// Length of the file on disk (compressed length for gzip).
    file_len: u64,
    reader: Box<dyn Read + 'a>,
}

impl<'a> IdxReader<'a> {
    /// Opens `path`, sniffing the gzip magic bytes 0x1f 0x8b.
    fn open(path: &'a Path) -> Result<Self> {
        let file = File::open(path).with_context(|| {
            format!(
                "cannot open {}; check that the file exists and is readable",
                path.display()
            )
        })?;
        let file_len = file
            .metadata()
            .with_context(|| format!("cannot read the metadata of {}", path.display()))?
            .len();
        Self::sniff(Box::new(BufReader::new(file)), file_len, path)
    }

    /// Reads a file already in memory; `name` stands for it in messages.
    fn from_bytes(bytes: &'a [u8], name: &'a Path) -> Result<Self> {
        Self::sniff(Box::new(bytes), bytes.len() as u64, name)
    }

    /// Sniffs the gzip magic bytes 0x1f 0x8b at the start of `file` (of
    /// `file_len` bytes) and decompresses when they are there.
    fn sniff(mut file: Box<dyn Read + 'a>, file_len: u64, path: &'a Path) -> Result<Self> {
        let mut magic = [0u8; 2];
        let mut got = 0;
        while got < magic.len() {
            let n = read_retrying(&mut file, &mut magic[got..])
                .with_context(|| format!("cannot read {}", path.display()))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        let gzip = got == 2 && magic == [0x1f, 0x8b];
        // Put the sniffed bytes back in front of the rest of the file.
        let head = io::Cursor::new(magic[..got].to_vec());
        let raw = head.chain(file);
        let reader: Box<dyn Read + 'a> = if gzip {
            Box::new(MultiGzDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        Ok(IdxReader {
            path,
            gzip,
            file_len,
            reader,
        })
    }

    /// The error for a read failure of the (possibly decompressed) stream.
    fn read_error(&self, e: io::Error) -> anyhow::Error {
        if self.gzip {
            anyhow::anyhow!(
                "{}: the gzip stream is corrupt or cut off ({e}); \
                 download or install the file again, or check it with `gzip -t`",
                self.path.display()
            )
        } else {
            anyhow::anyhow!("cannot read {}: {e}", self.path.display())
        }
    }

    /// Reads as many bytes as the stream has, up to `buf.len()`; returns how
    /// many it read.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match read_retrying(&mut self.reader, &mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => return Err(self.read_error(e)),
            }
        }
        Ok(got)
    }

    /// Reads the `N` big-endian u32 words of the header, the first being the
    /// magic number, which must equal `expected`.
    fn header<const N: usize>(&mut self, expected: u32) -> Result<[u32; N]> {
        let mut bytes = vec![0u8; 4 * N];
        let got = self.fill(&mut bytes)?;
        let want = describe_magic(expected);
        if got >= 4 {
            let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            if magic != expected {
                let found = describe_magic(magic);
                let hint = if magic == IDX1_UBYTE_MAGIC || magic == IDX3_UBYTE_MAGIC {
                    "; check that the images and labels files are not swapped"
                } else {
                    "; pass the right file, or download or install it again"
                };
                bail!(
                    "{} is not {want}: its magic number is 0x{magic:08x} ({found}), \
                     expected 0x{expected:08x}{hint}",
                    self.path.display()
                );
            }
        }
        if got < bytes.len() {
            bail!(
                "{} is truncated: it ends after {got} bytes{}, inside the {}-byte header of {want}; \
                 download or install the file again",
                self.path.display(),
                if self.gzip { " (decompressed)" } else { "" },
                bytes.len()
            );
        }
        let mut words = [0u32; N];
        for (w, b) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }
        Ok(words)
    }

    /// Reads exactly `expected` data bytes and checks that nothing follows.
    /// Memory grows with the bytes that actually arrive, never with what a
    /// (possibly bogus) header claims.
    fn data(&mut self, expected: u64, what: &dyn Fn() -> String) -> Result<Vec<u8>> {
        // A first guess at the size, capped by what the file on disk can hold:
        // raw files hold their data one to one; gzip rarely beats 8:1 on images.
        let plausible = if self.gzip {
            self.file_len.saturating_mul(8)
        } else {
            self.file_len
        };
        let reserve = usize::try_from(expected.min(plausible)).unwrap_or(0);
        let mut data = Vec::new();
        data.try_reserve(reserve).with_context(|| {
            format!(
                "{}: cannot allocate {reserve} bytes for {}",
                self.path.display(),
                what()
            )
        })?;
        let path = self.path;
        let gzip = self.gzip;
        let got = {
            let mut limited = (&mut self.reader).take(expected);
            limited.read_to_end(&mut data)
        };
        if let Err(e) = got {
            return Err(self.read_error(e));
        }
        let got = data.len() as u64;
        if got < expected {
            bail!(
                "{} is truncated: its header says {} = {expected} bytes of data, \
                 but the file has only {got}{}; download or install the file again",
                path.display(),
                what(),
                if gzip { " (decompressed)" } else { "" }
            );
        }
        // Read to the end: this also makes the gzip decoder check its CRC.
        let extra = io::copy(&mut self.reader, &mut io::sink()).map_err(|e| self.read_error(e))?;
        if extra > 0 {
            bail!(
                "{} has {extra} bytes after the data: its header says {} = {expected} bytes; \
                 the header or the file is damaged, download or install the file again",
                path.display(),
                what()
            );
        }
        Ok(data)
    }
}

/// `Read::read`, retried on `Interrupted`.
fn read_retrying(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
