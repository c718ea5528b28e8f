//! A headless Chromium driven through ChromeDriver over the W3C WebDriver protocol (plain
//! JSON over HTTP to a local driver, so a few calls over reqwest do: no WebDriver client
//! crate and its TLS stack for a connection that never leaves the machine). Screenshots go
//! to `target/browser-screenshots/<test>/`.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    driver_url: String,
    session: String,
    driver: Child,
    shots: PathBuf,
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium session. Fails (does not skip) when they
    /// are missing: `.ci/run` installs Debian's `chromium` and `chromium-driver`.
    pub fn start(test: &str) -> Browser {
        let driver_bin = find_program(&["chromedriver"]).expect("the browser tests need ChromeDriver: apt-get install chromium chromium-driver (.ci/run installs them)");
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]).expect("the browser tests need Chromium: apt-get install chromium chromium-driver (.ci/run installs them)");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let http = reqwest::Client::new();
        let driver_url = format!("http://127.0.0.1:{port}");
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = rt.block_on(async {
                http.get(format!("{driver_url}/status"))
                    .send()
                    .await
                    .ok()?
                    .json::<Value>()
                    .await
                    .ok()
            });
            if ready.is_some_and(|v| v["value"]["ready"] == true) {
                break;
            }
            assert!(Instant::now() < until, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]
        }}}});
        let created: Value = rt.block_on(async {
            http.post(format!("{driver_url}/session"))
                .json(&caps)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_string();
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/browser-screenshots")
            .join(test);
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            rt,
            http,
            driver_url,
            session,
            driver,
            shots,
        }
    }

    fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver_url, self.session);
        let v: Value = self.rt.block_on(async {
            let mut req = self.http.request(method, url);
            if let Some(b) = body {
                req = req.json(&b);
            }
            req.send().await.unwrap().json().await.unwrap()
        });
        if let Some(e) = v["value"].get("error") {
            panic!("webdriver {path}: {e} {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})));
    }

    pub fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn element(&self, css: &str) -> String {
        let v = self.cmd(
            reqwest::Method::POST,
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        );
    }

    pub fn fill(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        );
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Waits until the page holds `text`, reloading it every half second when `reload`.
    pub fn wait_for(&self, text: &str, reload: bool) {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let page = self.source();
            if page.contains(text) {
                return;
            }
            assert!(
                Instant::now() < until,
                "{text:?} never appeared on {}:\n{page}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(500));
            if reload {
                self.cmd(reqwest::Method::POST, "/refresh", Some(json!({})));
            }
        }
    }

    /// Saves a PNG of the page as `<name>.png`.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine as _;
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.rt.block_on(
            self.http
                .delete(format!("{}/session/{}", self.driver_url, self.session))
                .send(),
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
