//! OKX's spot instrument list: `GET {rest_url}/api/v5/public/instruments?instType=SPOT`, the USDT
//! pairs whose `state` is `live` (not `suspend`, `preopen` or `test`).

use std::borrow::Cow;

use serde::Deserialize;

use crate::feed::ParseError;
use crate::feed::bybit::ObjectOr;
use crate::feed::num::Num;

/// <https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments>, abridged:
/// `{"code":"0","msg":"","data":[{"alias":"","baseCcy":"BTC","category":"1","ctMult":"",
/// "ctType":"","ctVal":"","ctValCcy":"","expTime":"","instFamily":"","instId":"BTC-USDT",
/// "instType":"SPOT","lever":"10","listTime":"1606468572000","lotSz":"0.00000001","minSz":"0.00001",
/// "quoteCcy":"USDT","settleCcy":"","state":"live","tickSz":"0.1","uly":""}]}`.
/// Errors keep the envelope: `{"code":"51001","msg":"Instrument ID does not exist","data":[]}`.
#[derive(Deserialize)]
struct OkxInstrumentsBody<'a> {
    #[serde(borrow)]
    code: Option<Num<'a>>,
    #[serde(borrow)]
    msg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Vec<ObjectOr<OkxInstrument<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OkxInstrument<'a> {
    #[serde(borrow)]
    inst_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    inst_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    state: Option<Cow<'a, str>>,
}

/// The base assets of the live `…-USDT` spot instruments of a list body; `code ≠ "0"` is `Venue`.
pub fn parse_instruments(body: &[u8]) -> Result<Vec<String>, ParseError> {
    let body: OkxInstrumentsBody<'_> = serde_json::from_slice(body)?;
    let code = body
        .code
        .ok_or_else(|| ParseError::field("code", "missing"))?
        .describe();
    if code != "0" {
        return Err(ParseError::Venue(format!(
            "{code}: {}",
            body.msg.as_deref().unwrap_or("")
        )));
    }
    Ok(body
        .data
        .into_iter()
        .filter_map(|row| match row {
            ObjectOr::Object(row) => Some(row),
            ObjectOr::Other => None,
        })
        .filter(|row| {
            row.state.as_deref() == Some("live")
                && row.inst_type.as_deref().is_none_or(|t| t == "SPOT")
        })
        .filter_map(|row| {
            row.inst_id
                .as_deref()
                .and_then(super::usdt_base)
                .map(str::to_owned)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_usdt_spot_only() {
        let body = br#"{"code":"0","msg":"","data":[
            {"instId":"BTC-USDT","instType":"SPOT","state":"live"},
            {"instId":"ETH-USDC","instType":"SPOT","state":"live"},
            {"instId":"OLD-USDT","instType":"SPOT","state":"suspend"},
            {"instId":"BTC-USDT-SWAP","instType":"SWAP","state":"live"},
            {"instId":"XRP-USDT","state":"live","extra":{"a":[1]}}, ["not", "a", "row"]]}"#;
        assert_eq!(parse_instruments(body).unwrap(), vec!["BTC", "XRP"]);
        let err = parse_instruments(br#"{"code":"50011","msg":"Too Many Requests","data":[]}"#);
        assert!(matches!(err, Err(ParseError::Venue(m)) if m == "50011: Too Many Requests"));
        assert!(matches!(
            parse_instruments(b"{}"),
            Err(ParseError::Field { field: "code", .. })
        ));
    }
}
