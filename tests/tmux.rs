//! Smoke test of the real binary in a real terminal: `kimp --demo` in a detached tmux session,
//! driven with `send-keys`, read with `capture-pane`. It checks what a user sees (rows, 비트코인,
//! the filter, the sort, the venue switch, the help, resizes) and that `q` leaves the alternate
//! screen and exits 0 back to the shell.
//!
//! Without tmux it prints a note and passes (CI installs tmux). With `KIMP_SAVE_SCREENS=1` it
//! also writes the 80×24 and 200×60 captures to `assets/` for the README.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long the demo may take to show data.
const DATA_DEADLINE: Duration = Duration::from_secs(20);
/// How long any later screen change may take.
const STEP_DEADLINE: Duration = Duration::from_secs(10);
const SESSION: &str = "kimp";

/// A private tmux server (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-u", "-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env("LC_ALL", "C.UTF-8")
            .output()
            .expect("run tmux")
    }

    fn ok(&self, args: &[&str]) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn capture(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", SESSION]).stdout)
            .into_owned()
    }

    fn alternate_on(&self) -> bool {
        let out = self.run(&["display-message", "-p", "-t", SESSION, "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Keys by tmux name (`Enter`, `Escape`) or literal text, then a pause so an `Escape` is not
    /// read together with the next key as Alt+key.
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.ok(&args);
        std::thread::sleep(Duration::from_millis(300));
    }

    fn literal(&self, text: &str) {
        self.ok(&["send-keys", "-t", SESSION, "-l", text]);
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Polls the pane until `want` holds; fails with the pane's content at the deadline.
    fn wait_for(&self, what: &str, deadline: Duration, want: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if want(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < deadline,
                "timed out waiting for {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn shows(&self, needle: &str) -> String {
        self.wait_for(needle, STEP_DEADLINE, |s| s.contains(needle))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Rows of the premium table that carry numbers.
fn table_rows(screen: &str) -> usize {
    screen
        .lines()
        .filter(|l| l.starts_with('│') && l.contains('%'))
        .count()
}

fn resize_and_capture(tmux: &Tmux, w: u16, h: u16) -> String {
    let (ws, hs) = (w.to_string(), h.to_string());
    tmux.ok(&["resize-window", "-t", SESSION, "-x", &ws, "-y", &hs]);
    tmux.wait_for(&format!("a {w}×{h} frame"), STEP_DEADLINE, |s| {
        let lines: Vec<&str> = s.lines().collect();
        // Right after a resize the whole frame is redrawn top to bottom: it is complete once the
        // clock ends the first row and the key hints fill the last.
        lines.len() == usize::from(h)
            && lines[0].ends_with("KST")
            && lines[lines.len() - 1].contains("q 종료")
            && table_rows(s) >= 3
    })
}

/// Lines of the liquidation tape with an event.
fn tape_rows(screen: &str) -> usize {
    screen
        .lines()
        .filter(|l| l.contains(" LONG ") || l.contains(" SHORT "))
        .count()
}

fn save(name: &str, screen: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(name);
    std::fs::write(&path, screen).expect("write the captured screen");
}

/// Starts a shell in a detached 120×40 session and types the demo command into it.
fn start_demo(tmux: &Tmux, dir: &Path) {
    let config = dir.join("config.toml");
    std::fs::write(&config, "").expect("write an empty config");
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "120",
        "-y",
        "40",
        "env PS1='$ ' sh",
    ]);
    let command = format!(
        "'{}' --demo --seed 1 --no-persist --config '{}' --data-dir '{}'; echo kimp-exit=$?",
        env!("CARGO_BIN_EXE_kimp"),
        config.display(),
        dir.display()
    );
    tmux.literal(&command);
    tmux.keys(&["Enter"]);
}

/// Resizes to 80×24 and 200×60 (and back): the layout follows the terminal. With
/// `KIMP_SAVE_SCREENS` set, waits for a busy tape and saves both screens for the README.
fn resizes(tmux: &Tmux) {
    let saving = std::env::var_os("KIMP_SAVE_SCREENS").is_some();
    if saving {
        tmux.wait_for("a busy tape", Duration::from_secs(120), |s| {
            tape_rows(s) >= 8
        });
    }
    let small = resize_and_capture(tmux, 80, 24);
    assert!(!small.contains("English"), "{small}");
    let wide = resize_and_capture(tmux, 200, 60);
    assert!(wide.contains("English") && wide.contains("청산"), "{wide}");
    if saving {
        save("dashboard-80x24.txt", &small);
        save("dashboard-200x60.txt", &wide);
    }
    resize_and_capture(tmux, 120, 40);
}

/// `/BTC`, `Esc`, `s`, `d`, `?`, `Esc`: what each one shows.
fn keys(tmux: &Tmux) {
    tmux.literal("/BTC");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the BTC row alone", STEP_DEADLINE, |s| {
        s.contains("비트코인 BTC") && s.contains("필터: BTC") && !s.contains("이더리움 ETH")
    });
    assert!(screen.contains("Upbit ₩"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("the filter cleared", STEP_DEADLINE, |s| {
        !s.contains("필터:") && table_rows(s) >= 10
    });

    tmux.keys(&["s"]);
    tmux.shows("정렬 테더김프 ▼");
    tmux.keys(&["d"]);
    let screen = tmux.shows("Bithumb ↔ Binance");
    assert!(!screen.contains("Upbit ↔"), "{screen}");
    tmux.shows("Bithumb ₩");

    tmux.keys(&["?"]);
    let screen = tmux.shows("도움말 — 키");
    assert!(
        screen.contains("q C-c") && screen.contains("Space"),
        "{screen}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("the help closed", STEP_DEADLINE, |s| {
        !s.contains("도움말 — 키")
    });
}

#[test]
fn dashboard_in_tmux() {
    if !tmux_available() {
        eprintln!("skipping the tmux smoke test: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux {
        socket: format!("kimp-test-{}", std::process::id()),
    };
    start_demo(&tmux, dir.path());
    let screen = tmux.wait_for("table rows", DATA_DEADLINE, |s| table_rows(s) >= 10);
    assert!(
        tmux.alternate_on(),
        "the dashboard runs on the alternate screen"
    );
    assert!(
        screen.contains("Upbit ↔ Binance") && screen.contains("USD/KRW"),
        "{screen}"
    );

    resizes(&tmux);
    keys(&tmux);

    tmux.keys(&["q"]);
    // The command line itself reads `echo kimp-exit=$?`; the status is the line echo prints.
    let screen = tmux.wait_for("the shell back", STEP_DEADLINE, |s| {
        s.lines().any(|l| l.starts_with("kimp-exit="))
    });
    assert!(screen.contains("kimp-exit=0"), "{screen}");
    assert!(
        !tmux.alternate_on(),
        "the alternate screen was left:\n{screen}"
    );
    // The dashboard's frame is gone: the pane shows the shell, not the table.
    assert!(!screen.contains("USD/KRW"), "{screen}");
}
