//! REST throughput: `wrk` against the gateway's `/api/coins/latest`, then against nginx serving the
//! same bytes as a static file (started here on a spare port with a generated minimal config, as
//! the current user). Runs alternate A, B, A, B and the means are compared.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

use crate::harness::{self, GATEWAY_PORT};
use crate::report::{Report, Row};

const NGINX_PORT: u16 = 18_080;
/// wrk threads and connections (two cores: one wrk thread per core).
const WRK_THREADS: &str = "2";
const WRK_CONNECTIONS: &str = "64";
const ROUNDS: usize = 2;

pub struct Rest {
    pub kimp: f64,
    pub nginx: f64,
    pub bytes: usize,
}

pub async fn run(scratch: &Path, secs: u64) -> anyhow::Result<Rest> {
    let client = reqwest::Client::new();
    let body = harness::get(&client, &harness::url(GATEWAY_PORT, "/api/coins/latest")).await?;
    let root = scratch.join("nginx");
    std::fs::create_dir_all(root.join("api/coins"))?;
    std::fs::write(root.join("api/coins/latest"), &body)?;
    let mut nginx = start_nginx(&root).await?;
    let kimp_url = harness::url(GATEWAY_PORT, "/api/coins/latest");
    let nginx_url = harness::url(NGINX_PORT, "/api/coins/latest");
    let (mut kimp, mut ngx) = (0.0, 0.0);
    for _ in 0..ROUNDS {
        kimp += wrk(&kimp_url, secs).await?;
        ngx += wrk(&nginx_url, secs).await?;
    }
    stop_nginx(&mut nginx, &root).await;
    Ok(Rest {
        kimp: kimp / ROUNDS as f64,
        nginx: ngx / ROUNDS as f64,
        bytes: body.len(),
    })
}

async fn start_nginx(root: &Path) -> anyhow::Result<Child> {
    let conf = root.join("nginx.conf");
    let r = root.display();
    std::fs::write(
        &conf,
        format!(
            "worker_processes auto;\npid {r}/nginx.pid;\nerror_log {r}/error.log;\ndaemon off;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {r}/tmp;\n  proxy_temp_path {r}/tmp;\n\
             \x20 fastcgi_temp_path {r}/tmp;\n  uwsgi_temp_path {r}/tmp;\n  scgi_temp_path {r}/tmp;\n\
             \x20 default_type application/json;\n  sendfile on;\n  keepalive_requests 1000000;\n\
             \x20 server {{\n    listen 127.0.0.1:{NGINX_PORT};\n    root {r};\n  }}\n}}\n"
        ),
    )?;
    // Workers run as the user nginx starts as when that is not root, else as root's `user`
    // default (nobody): make the tree readable by anyone.
    allow_read(root)?;
    let child = Command::new("nginx")
        .arg("-p")
        .arg(root)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting nginx (apt-get install nginx-light)")?;
    let client = reqwest::Client::new();
    for _ in 0..50 {
        if harness::get(&client, &harness::url(NGINX_PORT, "/api/coins/latest"))
            .await
            .is_ok()
        {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut child = child;
    stop_nginx(&mut child, root).await;
    bail!("nginx did not answer on port {NGINX_PORT}: see {r}/error.log")
}

/// Asks nginx to quit (its workers would outlive a killed master), then makes sure.
async fn stop_nginx(nginx: &mut Child, root: &Path) {
    let quit = Command::new("nginx")
        .arg("-p")
        .arg(root)
        .arg("-c")
        .arg(root.join("nginx.conf"))
        .args(["-s", "quit"])
        .output()
        .await;
    if quit.is_err()
        || tokio::time::timeout(Duration::from_secs(5), nginx.wait())
            .await
            .is_err()
    {
        let _ = nginx.kill().await;
    }
}

fn allow_read(root: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut dir = Some(root);
    while let Some(d) = dir {
        let mode = std::fs::metadata(d)?.permissions().mode();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode | 0o755))?;
        dir = d
            .parent()
            .filter(|p| p.starts_with(std::env::temp_dir()) && *p != std::env::temp_dir());
    }
    for sub in ["api", "api/coins"] {
        std::fs::set_permissions(root.join(sub), std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::set_permissions(
        root.join("api/coins/latest"),
        std::fs::Permissions::from_mode(0o644),
    )?;
    std::fs::create_dir_all(root.join("tmp"))?;
    Ok(())
}

/// Requests per second `wrk` reports for `url`.
async fn wrk(url: &str, secs: u64) -> anyhow::Result<f64> {
    let out = Command::new("wrk")
        .args(["-t", WRK_THREADS, "-c", WRK_CONNECTIONS, "-d"])
        .arg(format!("{secs}s"))
        .arg(url)
        .output()
        .await
        .context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .with_context(|| format!("wrk printed no Requests/sec for {url}: {text}"))?;
    if let Some(errors) = text.lines().find(|l| l.contains("Non-2xx")) {
        bail!("wrk saw errors from {url}: {errors}");
    }
    line.trim_start_matches("Requests/sec:")
        .trim()
        .parse()
        .context("wrk's Requests/sec")
}

impl Rest {
    pub fn rows(&self, report: &mut Report) {
        report.push(
            Row::new("REST /api/coins/latest")
                .figure(self.kimp, "req/s")
                .reference(format!(
                    "nginx static file {:.0} req/s ({} KB body, wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS})",
                    self.nginx,
                    self.bytes / 1000
                ))
                .ratio(self.kimp / self.nginx)
                .ratio_at_least(0.8, "≥ 0.8× nginx"),
        );
    }
}
