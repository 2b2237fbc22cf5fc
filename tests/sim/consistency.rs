//! The second venues price the same market as the leaders: Bithumb ≈ Upbit, Bybit ≈ OKX ≈
//! Binance, within 1 % (a small basis, never identical), except where a ticker names two coins.

use super::*;

fn ratio_check(
    pairs: &BTreeMap<String, f64>,
    others: &[(String, f64)],
    key: impl Fn(&str) -> String,
) -> (usize, f64) {
    let mut compared = 0;
    let mut max_gap = 0.0_f64;
    for (name, price) in others {
        let Some(reference) = pairs.get(&key(name)) else {
            continue;
        };
        let gap = (price / reference - 1.0).abs();
        assert!(gap < 0.01, "{name}: {price} vs {reference}");
        max_gap = max_gap.max(gap);
        compared += 1;
    }
    (compared, max_gap)
}

#[tokio::test]
async fn second_venues_track_the_leaders_within_one_percent() {
    let sim = start().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = sim.model_state();
    let upbit: BTreeMap<String, f64> = s.upbit.iter().cloned().collect();
    // Bithumb's ALT is ArchLoot; Upbit does not list an ALT, so no false pair here.
    let (n, gap) = ratio_check(&upbit, &s.bithumb, str::to_owned);
    assert!(n >= 35, "{n} Bithumb markets compared");
    assert!(gap > 1e-4, "a basis, not a copy: {gap}");
    let binance: BTreeMap<String, f64> = s.binance.iter().cloned().collect();
    let (n, gap) = ratio_check(&binance, &s.bybit, str::to_owned);
    assert!(n >= 35 && gap > 1e-5, "{n} Bybit symbols, max gap {gap}");
    let (n, gap) = ratio_check(&binance, &s.okx, |id| id.replace('-', ""));
    assert!(n >= 35 && gap > 1e-5, "{n} OKX instruments, max gap {gap}");

    // Over the wire too: Bithumb's legacy REST, Bybit's REST against the model's leaders.
    let all_krw: Value =
        serde_json::from_str(&get(&sim, "/bithumb/public/ticker/ALL_KRW").await.1).unwrap();
    let spot: Value =
        serde_json::from_str(&get(&sim, "/bybit/v5/market/tickers?category=spot").await.1).unwrap();
    let s = sim.model_state();
    let upbit: BTreeMap<String, f64> = s.upbit.iter().cloned().collect();
    let binance: BTreeMap<String, f64> = s.binance.iter().cloned().collect();
    for coin in ["BTC", "ETH", "XRP", "USDT"] {
        let k: f64 = all_krw["data"][coin]["closing_price"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let u = upbit[&format!("KRW-{coin}")];
        assert!(
            (k / u - 1.0).abs() < 0.01,
            "{coin}: Bithumb {k} vs Upbit {u}"
        );
    }
    for row in spot["result"]["list"].as_array().unwrap() {
        let symbol = row["symbol"].as_str().unwrap();
        if let Some(g) = binance.get(symbol) {
            let p: f64 = row["lastPrice"].as_str().unwrap().parse().unwrap();
            assert!(
                (p / g - 1.0).abs() < 0.01,
                "{symbol}: Bybit {p} vs Binance {g}"
            );
        }
    }

    // The ticker clash: pairing Bithumb's ALT (ArchLoot) with the global ALT (AltLayer) by
    // ticker gives an absurd premium, which is what the clash rule must catch.
    let archloot = s.bithumb.iter().find(|(c, _)| c == "KRW-ALT").unwrap().1;
    let altlayer = binance["ALTUSDT"];
    let naive_kimp = archloot / (altlayer * s.usdt_krw) - 1.0;
    assert!(naive_kimp < -0.3, "{naive_kimp}");
    sim.shutdown().await;
}
