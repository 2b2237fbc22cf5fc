//! Reading a recording: plain or zstd (told by the zstd magic number, not the name), line by line
//! with line numbers, the header checked first.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, bail};

use super::line::{FORMAT_VERSION, Header};

/// The first four bytes of a zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The lines of a recording after its header.
pub struct Reader {
    inner: Box<dyn BufRead + Send>,
    /// Number of the last line read (the header is line 1).
    line_no: usize,
    done: bool,
}

/// One step of [`Reader::next_line`].
#[derive(Debug)]
pub enum Step {
    /// Line `n` and its bytes (without the newline).
    Line(usize, Vec<u8>),
    /// The file could not be read past line `n` (a truncated zstd stream, an I/O error): the end.
    Broken(usize, String),
}

/// Opens `path`, reads and checks the header.
pub fn open(path: &Path) -> anyhow::Result<(Header, Reader)> {
    let name = path.display();
    let mut file = File::open(path).with_context(|| format!("--replay {name}"))?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic).with_context(|| format!("--replay {name}"))?;
    let head = std::io::Cursor::new(magic[..n].to_vec()).chain(file);
    let inner: Box<dyn BufRead + Send> = if n == 4 && magic == ZSTD_MAGIC {
        let decoder = zstd::Decoder::new(head).with_context(|| format!("--replay {name}: zstd"))?;
        Box::new(BufReader::with_capacity(1 << 16, decoder))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, head))
    };
    let mut reader = Reader {
        inner,
        line_no: 0,
        done: false,
    };
    let header = match reader.next_line() {
        Some(Step::Line(_, bytes)) => parse_header(&bytes)
            .with_context(|| format!("--replay {name} line 1: not a kimp recording header"))?,
        Some(Step::Broken(_, why)) => bail!("--replay {name}: cannot read: {why}"),
        None => bail!("--replay {name}: empty file"),
    };
    if header.kimp_recording != FORMAT_VERSION {
        bail!(
            "--replay {name}: recording format {} (this kimp reads format {FORMAT_VERSION})",
            header.kimp_recording
        );
    }
    Ok((header, reader))
}

fn parse_header(bytes: &[u8]) -> anyhow::Result<Header> {
    Ok(serde_json::from_slice(bytes)?)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

impl Reader {
    /// The next line, `None` at the end. Blank lines are skipped.
    pub fn next_line(&mut self) -> Option<Step> {
        while !self.done {
            let mut buf = Vec::new();
            match self.inner.read_until(b'\n', &mut buf) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line_no += 1;
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                    }
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some(Step::Line(self.line_no, buf));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    return Some(Step::Broken(self.line_no, e.to_string()));
                }
            }
        }
        None
    }
}
