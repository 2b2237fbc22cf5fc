//! Simulated alternative.me fear & greed index.

use super::*;

fn class_of(value: u64) -> &'static str {
    match value {
        0..=25 => "Extreme Fear",
        26..=45 => "Fear",
        46..=54 => "Neutral",
        55..=75 => "Greed",
        _ => "Extreme Greed",
    }
}

#[tokio::test]
async fn fear_greed_has_the_alternative_me_shape() {
    let sim = start().await;
    let (status, body) = get(&sim, "/fng/?limit=2").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["name"], "Fear and Greed Index");
    assert!(v["metadata"]["error"].is_null());
    let rows = v["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let mut stamps = Vec::new();
    for row in rows {
        let value: u64 = row["value"].as_str().unwrap().parse().unwrap();
        assert!((20..=80).contains(&value), "{value}");
        assert_eq!(row["value_classification"], class_of(value));
        let ts: u64 = row["timestamp"].as_str().unwrap().parse().unwrap();
        assert_eq!(ts % 86_400, 0, "00:00 UTC in seconds");
        stamps.push(ts);
    }
    assert_eq!(
        stamps[0],
        stamps[1] + 86_400,
        "newest first, then yesterday"
    );
    let until: u64 = rows[0]["time_until_update"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&until));
    assert!(rows[1].get("time_until_update").is_none());
    // The index changes once a day, not per request.
    let again: Value = serde_json::from_str(&get(&sim, "/fng/?limit=2").await.1).unwrap();
    assert_eq!(again["data"][0]["value"], rows[0]["value"]);
    assert_eq!(again["data"][1]["value"], rows[1]["value"]);
    let one: Value = serde_json::from_str(&get(&sim, "/fng/").await.1).unwrap();
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    let (status, bad) = get(&sim, "/fng/?limit=abc").await;
    let bad: Value = serde_json::from_str(&bad).unwrap();
    assert_eq!(status, 200);
    assert!(bad["metadata"]["error"].is_string() && bad["data"].as_array().unwrap().is_empty());
    sim.shutdown().await;
}
