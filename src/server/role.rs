//! `--role` (SPEC §6.2): which services a `--serve` process runs, and which collectors feed them.
//! `all` runs everything in one process; `market` only the market collectors and 8001;
//! `liquidation` only the liquidation collectors and 8002; `gateway` no exchange collectors, only
//! 8000, fed by the other two services' streams (see [`crate::remote::Upstreams::split`]).

use super::Service;
use crate::config::Config;

/// The services of one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    All,
    Market,
    Liquidation,
    Gateway,
}

impl Role {
    /// Every role, as `--role` accepts them.
    pub const ALL: [Role; 4] = [Role::All, Role::Market, Role::Liquidation, Role::Gateway];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Market => "market",
            Role::Liquidation => "liquidation",
            Role::Gateway => "gateway",
        }
    }

    #[must_use]
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The services this role binds.
    #[must_use]
    pub fn services(self) -> &'static [Service] {
        match self {
            Role::All => &Service::ALL,
            Role::Market => &[Service::Market],
            Role::Liquidation => &[Service::Liquidation],
            Role::Gateway => &[Service::Gateway],
        }
    }

    /// Turns off the collectors the role's services do not use. A gateway runs no collectors
    /// (its names and fear & greed pollers are the remote client's, [`crate::remote::local`]);
    /// the market service leaves fear & greed to the gateway, which is the one serving it.
    pub fn apply(self, cfg: &mut Config) {
        match self {
            Role::All | Role::Gateway => {}
            Role::Market => {
                cfg.fear_greed.enabled = false;
                let liq = &mut cfg.liquidations;
                liq.binance_enabled = false;
                liq.bybit_enabled = false;
                liq.okx_enabled = false;
                liq.bitmex_enabled = false;
            }
            Role::Liquidation => {
                cfg.upbit.enabled = false;
                cfg.bithumb.enabled = false;
                cfg.binance.enabled = false;
                cfg.bybit.enabled = false;
                cfg.okx.enabled = false;
                cfg.fear_greed.enabled = false;
                cfg.fx.sources.clear();
            }
        }
    }
}
