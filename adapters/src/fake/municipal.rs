//! A municipality on the fakes: both fake servers holding a generated municipality's resources
//! and bookings, the Pronestor and WinKAS sources pointed at them, and full poll cycles with the
//! requests each cost. For `klar bench` and `cargo bench --bench sync`: the requests of a cycle
//! must grow with locations (Pronestor asks per location) or batches (WinKAS asks for all
//! resources at once), never with bookings.

use std::path::Path;

use chrono::{DateTime, Utc};
use klar_engine::site::SourceConfig;

use super::pronestor::{FakePronestor, FakePronestorOptions};
use super::winkas::{FakeWinkas, FakeWinkasOptions};
use super::{FakeClock, FakeData};
use crate::http::{HttpClient, HttpConfig};
use crate::sources::{self, BuildContext, PollRequest, Source, SourceError};

/// How big a municipality to put on the fakes. Each vendor holds half the resources and half
/// the bookings, over its own locations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MunicipalSpec {
    pub seed: u64,
    /// The fakes' now: the week of bookings starts at the local midnight before it.
    pub now: DateTime<Utc>,
    /// Locations (buildings) per vendor.
    pub locations: usize,
    /// Bookable resources, both vendors together.
    pub resources: usize,
    /// Bookings over the week, both vendors together.
    pub bookings: usize,
    /// How far ahead each poll asks.
    pub lookahead_hours: u32,
}

/// What one poll cycle of both sources cost and found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleReport {
    pub pronestor_requests: u32,
    pub winkas_requests: u32,
    /// Bookings both sources returned for the window.
    pub bookings: usize,
}

impl CycleReport {
    pub fn requests(&self) -> u32 {
        self.pronestor_requests + self.winkas_requests
    }
}

/// Both fakes serving a municipality, and the two sources that poll them.
pub struct MunicipalFakes {
    pub spec: MunicipalSpec,
    pub pronestor: FakePronestor,
    pub winkas: FakeWinkas,
    sources: Vec<Box<dyn Source>>,
}

impl MunicipalFakes {
    /// Starts both fakes on loopback with the municipality's data and builds the sources;
    /// their password files are written to `dir`.
    pub async fn start(spec: MunicipalSpec, dir: &Path) -> std::io::Result<MunicipalFakes> {
        let clock = FakeClock::fixed(spec.now);
        let half = |n: usize| n.div_ceil(2);
        let pronestor = FakePronestor::start(FakePronestorOptions {
            seed: spec.seed,
            clock: clock.clone(),
            empty: true,
            ..FakePronestorOptions::default()
        })
        .await?;
        pronestor.replace_data(FakeData::municipal(
            spec.seed,
            spec.now,
            spec.locations,
            half(spec.resources),
            half(spec.bookings),
        ));
        let winkas = FakeWinkas::start(FakeWinkasOptions {
            seed: spec.seed,
            clock,
            empty: true,
            ..FakeWinkasOptions::default()
        })
        .await?;
        winkas.replace_data(FakeData::municipal(
            spec.seed ^ 1,
            spec.now,
            spec.locations,
            spec.resources / 2,
            spec.bookings / 2,
        ));

        let (user, password) = pronestor.credentials();
        std::fs::write(dir.join("pronestor.pw"), password)?;
        let planner = format!(
            "url = '{}'\nusername = '{user}'\npassword_file = 'pronestor.pw'\nlookahead_hours = {}",
            pronestor.base_url(),
            spec.lookahead_hours
        );
        let (user, password, code) = winkas.credentials();
        std::fs::write(dir.join("winkas.pw"), password)?;
        let halls = format!(
            "url = '{}'\nusername = '{user}'\ncontract_code = '{code}'\npassword_file = 'winkas.pw'\nlookahead_hours = {}",
            winkas.base_url(),
            spec.lookahead_hours
        );
        let http = HttpClient::new(HttpConfig::default()).map_err(std::io::Error::other)?;
        let ctx = BuildContext {
            http,
            base_dir: dir.to_owned(),
            time_zone: chrono_tz::Europe::Copenhagen,
        };
        let mut built = Vec::new();
        for (name, kind, settings) in [
            ("planner", "pronestor", planner),
            ("halls", "winkas", halls),
        ] {
            let settings: toml::Table = toml::from_str(&settings).map_err(std::io::Error::other)?;
            let config = SourceConfig {
                name: name.into(),
                kind: kind.into(),
                settings,
            };
            built.push(sources::build(&config, &ctx).map_err(std::io::Error::other)?);
        }
        Ok(MunicipalFakes {
            spec,
            pronestor,
            winkas,
            sources: built,
        })
    }

    /// One poll of each source at the spec's now, as the daemon's pollers make it, and the
    /// requests each fake answered meanwhile. The first cycle includes the logins.
    pub async fn cycle(&mut self) -> Result<CycleReport, SourceError> {
        let (p0, w0) = (
            self.pronestor.counters().requests,
            self.winkas.counters().requests,
        );
        let mut bookings = 0;
        for source in &mut self.sources {
            let window = source.cadence().window(self.spec.now);
            let outcome = source
                .poll(PollRequest {
                    now: self.spec.now,
                    window,
                })
                .await?;
            bookings += outcome.bookings.len();
        }
        Ok(CycleReport {
            pronestor_requests: self.pronestor.counters().requests - p0,
            winkas_requests: self.winkas.counters().requests - w0,
            bookings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(bookings: usize) -> MunicipalSpec {
        MunicipalSpec {
            seed: 9,
            now: DateTime::parse_from_rfc3339("2026-11-23T06:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            locations: 5,
            resources: 40,
            bookings,
            lookahead_hours: 48,
        }
    }

    #[tokio::test]
    async fn a_cycle_costs_requests_per_location_and_batch_not_per_booking() {
        let dir = tempfile::tempdir().unwrap();
        let mut small = MunicipalFakes::start(spec(400), dir.path()).await.unwrap();
        let first = small.cycle().await.unwrap();
        let steady = small.cycle().await.unwrap();
        assert!(steady.bookings > 50, "{steady:?}");
        assert!(
            first.requests() > steady.requests(),
            "logins only once: {first:?} {steady:?}"
        );

        let dir2 = tempfile::tempdir().unwrap();
        let mut big = MunicipalFakes::start(spec(1_600), dir2.path())
            .await
            .unwrap();
        big.cycle().await.unwrap();
        let big_steady = big.cycle().await.unwrap();
        assert!(big_steady.bookings >= 3 * steady.bookings, "{big_steady:?}");
        assert_eq!(big_steady.requests(), steady.requests());

        // Pronestor asks per location, WinKAS in one batch.
        let mut more = spec(400);
        more.locations = 10;
        let dir3 = tempfile::tempdir().unwrap();
        let mut wide = MunicipalFakes::start(more, dir3.path()).await.unwrap();
        wide.cycle().await.unwrap();
        let wide_steady = wide.cycle().await.unwrap();
        assert!(wide_steady.pronestor_requests > steady.pronestor_requests);
        assert_eq!(wide_steady.winkas_requests, steady.winkas_requests);
    }
}
