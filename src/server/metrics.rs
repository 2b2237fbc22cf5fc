//! `GET /metrics`: `OpenMetrics` text from the `prometheus-client` crate. HTTP and WebSocket
//! counters are real metrics registered once; feed figures (messages, parse errors, reconnects,
//! outage seconds, last-message age) come from the snapshot's health rows at scrape time, through
//! a [`Collector`] in a per-scrape registry.
//!
//! The crate appends `_total` to counters (and the unit to names registered with one), so
//! counters are registered without it and the exposed sample names are the ones dashboards use:
//! `kimp_http_requests_total`, `kimp_feed_gap_seconds_total`, ….

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder, text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::{Registry, Unit};

use super::Service;
use crate::state::snapshot::{FeedRow, Snapshot};

/// The two WebSocket streams: market data (`/ws/market`, `/ws/prices`) and liquidations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Market,
    Liquidations,
}

impl Stream {
    const ALL: [Stream; 2] = [Stream::Market, Stream::Liquidations];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Market => "market",
            Stream::Liquidations => "liquidations",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl EncodeLabelValue for Stream {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
        fmt::Write::write_str(encoder, self.as_str())
    }
}

impl EncodeLabelValue for Service {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
        fmt::Write::write_str(encoder, self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    service: Service,
    code: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ServiceLabels {
    service: Service,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StreamLabels {
    stream: Stream,
}

/// Counters of one WebSocket stream: handles to the samples of the registered families, so
/// `counters.messages.inc()` is what `/metrics` reports.
#[derive(Debug)]
pub struct WsCounters {
    /// Connections open now.
    pub open: Gauge,
    pub accepted: Counter,
    pub messages: Counter,
    pub bytes: Counter,
    /// Fresh snapshots sent to clients that fell behind (or asked for one).
    pub resyncs: Counter,
    /// Clients closed with 1013 (stopped reading, or lagged repeatedly).
    pub evicted: Counter,
    /// Clients closed for what they sent (binary, oversized, broken frames).
    pub bad_input: Counter,
}

/// Every counter of the API, shared by the three services.
#[derive(Debug)]
pub struct Metrics {
    /// HTTP, connection and WebSocket metrics, then the log collector.
    registry: Registry,
    http: Family<HttpLabels, Counter>,
    refused: [Counter; 3],
    ws: [WsCounters; 2],
    /// Liquidations the fan-out missed from the state task (it then resynced every client).
    pub hub_lagged: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::default();

        let http = Family::<HttpLabels, Counter>::default();
        registry.register("kimp_http_requests", "HTTP requests answered", http.clone());

        let refused_family = Family::<ServiceLabels, Counter>::default();
        let refused = Service::ALL.map(|service| {
            refused_family
                .get_or_create(&ServiceLabels { service })
                .clone()
        });
        registry.register(
            "kimp_connections_refused",
            "connections refused at server.max_connections",
            refused_family,
        );

        let open = Family::<StreamLabels, Gauge>::default();
        let counter_families: [(&str, &str, Family<StreamLabels, Counter>); 6] = [
            ("kimp_ws_connections", "WebSocket connections accepted"),
            ("kimp_ws_messages_sent", "WebSocket messages sent"),
            ("kimp_ws_bytes_sent", "WebSocket payload bytes sent"),
            (
                "kimp_ws_resyncs",
                "fresh snapshots sent to clients that fell behind",
            ),
            (
                "kimp_ws_evictions",
                "clients closed with 1013 for not keeping up",
            ),
            (
                "kimp_ws_bad_input_closes",
                "clients closed for what they sent",
            ),
        ]
        .map(|(name, help)| (name, help, Family::default()));
        let ws = Stream::ALL.map(|stream| {
            let labels = StreamLabels { stream };
            let [accepted, messages, bytes, resyncs, evicted, bad_input] = counter_families
                .each_ref()
                .map(|(_, _, family)| family.get_or_create(&labels).clone());
            WsCounters {
                open: open.get_or_create(&labels).clone(),
                accepted,
                messages,
                bytes,
                resyncs,
                evicted,
                bad_input,
            }
        });
        registry.register(
            "kimp_ws_connections_open",
            "WebSocket connections open",
            open,
        );
        for (name, help, family) in counter_families {
            registry.register(name, help, family);
        }

        let hub_lagged = Counter::default();
        registry.register(
            "kimp_ws_fanout_lagged",
            "liquidations the fan-out missed from the state task (clients were resynced)",
            hub_lagged.clone(),
        );
        registry.register_collector(Box::new(LogDropped));

        Self {
            registry,
            http,
            refused,
            ws,
            hub_lagged,
        }
    }

    /// Counts one answered request.
    pub fn http(&self, service: Service, status: u16) {
        self.http
            .get_or_create(&HttpLabels {
                service,
                code: status,
            })
            .inc();
    }

    /// Counts one connection refused at the connection cap.
    pub fn refused(&self, service: Service) {
        self.refused[service.index()].inc();
    }

    /// The counters of a WebSocket stream.
    #[must_use]
    pub fn ws(&self, stream: Stream) -> &WsCounters {
        &self.ws[stream.index()]
    }

    /// The whole exposition for `service`, with the feeds that service depends on, ending with
    /// `# EOF`.
    #[must_use]
    pub fn render(&self, service: Service, snap: &Snapshot) -> String {
        self.render_feeds(
            snap.feeds
                .iter()
                .filter(|f| super::health::serves(service, f.feed)),
        )
    }

    /// The exposition with these feed rows.
    fn render_feeds<'a>(&self, rows: impl Iterator<Item = &'a FeedRow>) -> String {
        let feeds = FeedCollector(rows.map(FeedSample::from).collect());
        let mut scrape = Registry::default();
        scrape.register_collector(Box::new(feeds));
        let mut out = String::with_capacity(8192);
        // Writing to a `String` cannot fail, nor can the encoders on their own.
        let _ = text::encode_registry(&mut out, &scrape)
            .and_then(|()| text::encode_registry(&mut out, &self.registry))
            .and_then(|()| text::encode_eof(&mut out));
        out
    }
}

/// `kimp_log_dropped_lines_total`, read from the logger at scrape time.
#[derive(Debug)]
struct LogDropped;

impl Collector for LogDropped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let dropped = ConstCounter::new(crate::logging::dropped_lines());
        let metric = encoder.encode_descriptor(
            "kimp_log_dropped_lines",
            "log lines dropped because a log file writer fell behind.",
            None,
            dropped.metric_type(),
        )?;
        dropped.encode(metric)
    }
}

/// What the exposition needs of one health row.
#[derive(Debug)]
struct FeedSample {
    feed: &'static str,
    state: &'static str,
    up: bool,
    messages: u64,
    parse_errors: u64,
    reconnects: u64,
    gap_seconds: f64,
    age_seconds: Option<f64>,
}

impl From<&FeedRow> for FeedSample {
    fn from(f: &FeedRow) -> Self {
        FeedSample {
            feed: f.feed,
            state: f.state.as_str(),
            up: f.state.is_usable(),
            messages: f.messages,
            parse_errors: f.parse_errors,
            reconnects: f.reconnects,
            gap_seconds: f.gap_ms as f64 / 1000.0,
            age_seconds: f.age_ms.map(|ms| ms as f64 / 1000.0),
        }
    }
}

/// The feed families of one scrape, for the feeds one service depends on.
#[derive(Debug)]
struct FeedCollector(Vec<FeedSample>);

impl FeedCollector {
    /// One family with a `feed` label per row (rows without a value are left out).
    fn family<M: EncodeMetric>(
        &self,
        encoder: &mut DescriptorEncoder,
        (name, help, unit): (&str, &str, Option<&Unit>),
        metric_type: MetricType,
        value: impl Fn(&FeedSample) -> Option<M>,
    ) -> fmt::Result {
        let mut family = encoder.encode_descriptor(name, help, unit, metric_type)?;
        for f in &self.0 {
            if let Some(metric) = value(f) {
                metric.encode(family.encode_family(&[("feed", f.feed)])?)?;
            }
        }
        Ok(())
    }
}

impl Collector for FeedCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let counter = MetricType::Counter;
        let gauge = MetricType::Gauge;
        self.family(
            &mut encoder,
            ("kimp_feed_messages", "frames received per feed.", None),
            counter,
            |f| Some(ConstCounter::new(f.messages)),
        )?;
        self.family(
            &mut encoder,
            ("kimp_feed_parse_errors", "frames that did not parse.", None),
            counter,
            |f| Some(ConstCounter::new(f.parse_errors)),
        )?;
        self.family(
            &mut encoder,
            ("kimp_feed_reconnects", "reconnects per feed.", None),
            counter,
            |f| Some(ConstCounter::new(f.reconnects)),
        )?;
        self.family(
            &mut encoder,
            (
                "kimp_feed_gap",
                "outage time per feed (open gaps count until now).",
                Some(&Unit::Seconds),
            ),
            counter,
            |f| Some(ConstCounter::new(f.gap_seconds)),
        )?;
        self.family(
            &mut encoder,
            (
                "kimp_feed_last_message_age",
                "age of the last frame (absent before the first).",
                Some(&Unit::Seconds),
            ),
            gauge,
            |f| f.age_seconds.map(ConstGauge::new),
        )?;
        let mut up = encoder.encode_descriptor(
            "kimp_feed_up",
            "1 when the feed is usable (live or quiet); the state is a label.",
            None,
            gauge,
        )?;
        for f in &self.0 {
            let labels = [("feed", f.feed), ("state", f.state)];
            ConstGauge::new(i64::from(f.up)).encode(up.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FeedState;

    /// Every sample line is `name{labels} value` or `name value`, belongs to the family its
    /// `# TYPE` line declared, and the text ends with `# EOF`.
    fn check_format(text: &str) -> Vec<(String, String)> {
        assert!(text.ends_with("# EOF\n"), "{text}");
        let mut family: Option<(String, String)> = None;
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("type line");
                family = Some((name.to_owned(), kind.to_owned()));
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("sample line");
            value.parse::<f64>().expect("sample value");
            let name = series.split_once('{').map_or(series, |(name, labels)| {
                assert!(labels.ends_with('}'), "{line}");
                name
            });
            let (family_name, kind) = family.as_ref().expect("a family before its samples");
            let expected = if kind == "counter" {
                format!("{family_name}_total")
            } else {
                family_name.clone()
            };
            assert_eq!(name, expected, "{line}");
            samples.push((series.to_owned(), value.to_owned()));
        }
        samples
    }

    fn feed_row(
        feed: &'static str,
        state: FeedState,
        age_ms: Option<i64>,
        messages: u64,
        gap_ms: i64,
    ) -> FeedRow {
        FeedRow {
            feed,
            state,
            age_ms,
            messages,
            parse_errors: messages / 7,
            reconnects: messages / 7 * 2,
            gap_ms,
            gaps: Vec::new(),
            detail: None,
            last_error: None,
        }
    }

    #[test]
    fn render_is_openmetrics_with_the_old_names() {
        let metrics = Metrics::default();
        metrics.http(Service::Market, 200);
        metrics.http(Service::Market, 200);
        metrics.refused(Service::Gateway);
        metrics.ws(Stream::Liquidations).evicted.inc();
        metrics.ws(Stream::Market).open.inc();
        metrics.ws(Stream::Market).bytes.inc_by(100);
        metrics.hub_lagged.inc_by(3);
        let rows = [
            feed_row("upbit.ticker", FeedState::Live, Some(1500), 7, 2500),
            feed_row("odd \"feed\"", FeedState::Connecting, None, 0, 0),
        ];
        let text = metrics.render_feeds(rows.iter());
        let samples = check_format(&text);
        let value = |series: &str| {
            samples
                .iter()
                .find(|(s, _)| s == series)
                .map_or_else(|| panic!("no {series} in {text}"), |(_, v)| v.as_str())
        };
        assert_eq!(
            value("kimp_feed_messages_total{feed=\"upbit.ticker\"}"),
            "7"
        );
        assert_eq!(
            value("kimp_feed_parse_errors_total{feed=\"upbit.ticker\"}"),
            "1"
        );
        assert_eq!(
            value("kimp_feed_reconnects_total{feed=\"upbit.ticker\"}"),
            "2"
        );
        assert_eq!(
            value("kimp_feed_gap_seconds_total{feed=\"upbit.ticker\"}"),
            "2.5"
        );
        assert_eq!(
            value("kimp_feed_last_message_age_seconds{feed=\"upbit.ticker\"}"),
            "1.5"
        );
        assert_eq!(
            value("kimp_feed_up{feed=\"upbit.ticker\",state=\"live\"}"),
            "1"
        );
        // No age before the first frame; label values are escaped.
        assert!(!text.contains("kimp_feed_last_message_age_seconds{feed=\"odd"));
        assert_eq!(
            value("kimp_feed_messages_total{feed=\"odd \\\"feed\\\"\"}"),
            "0"
        );
        assert!(
            text.contains("# UNIT kimp_feed_gap_seconds seconds\n"),
            "{text}"
        );
        assert_eq!(
            value("kimp_http_requests_total{service=\"market\",code=\"200\"}"),
            "2"
        );
        assert_eq!(
            value("kimp_connections_refused_total{service=\"gateway\"}"),
            "1"
        );
        assert_eq!(
            value("kimp_connections_refused_total{service=\"market\"}"),
            "0"
        );
        assert_eq!(value("kimp_ws_connections_open{stream=\"market\"}"), "1");
        assert_eq!(value("kimp_ws_connections_total{stream=\"market\"}"), "0");
        assert_eq!(value("kimp_ws_bytes_sent_total{stream=\"market\"}"), "100");
        assert_eq!(
            value("kimp_ws_evictions_total{stream=\"liquidations\"}"),
            "1"
        );
        assert_eq!(value("kimp_ws_fanout_lagged_total"), "3");
        value("kimp_log_dropped_lines_total");
        for name in [
            "kimp_ws_messages_sent_total",
            "kimp_ws_resyncs_total",
            "kimp_ws_bad_input_closes_total",
        ] {
            value(&format!("{name}{{stream=\"liquidations\"}}"));
        }
    }
}
