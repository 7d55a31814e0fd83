//! The process's wasmtime engines: one per way of limiting time (epoch deadlines, or fuel for
//! deterministic runs), each created once and shared by every Wasm pack.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch ticker advances the epoch engine's clock: the granularity of deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The largest memory cap a pack may be given; the pooling allocator's slot size.
pub const MAX_MEMORY_CAP: usize = 256 << 20;

/// Concurrent instances the pool holds. Each planning thread holds one instance per pack at a
/// time; more than this at once makes instantiation fail (that booking fails closed).
const POOL_INSTANCES: u32 = 256;

/// How a store's running time is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metering {
    /// Wall-clock deadlines counted in epoch ticks: cheap, but depend on the machine.
    Epoch,
    /// Fuel (about one unit per Wasm instruction): the same stop on every machine.
    Fuel,
}

static EPOCH: OnceLock<Result<Engine, String>> = OnceLock::new();
static FUEL: OnceLock<Result<Engine, String>> = OnceLock::new();

/// The shared engine for `metering`; the epoch engine's ticker thread starts with it.
pub fn engine(metering: Metering) -> Result<Engine, String> {
    let cell = match metering {
        Metering::Epoch => &EPOCH,
        Metering::Fuel => &FUEL,
    };
    cell.get_or_init(|| {
        let engine = Engine::new(&config(metering)).map_err(|e| format!("{e:#}"))?;
        if metering == Metering::Epoch {
            start_ticker(engine.clone())?;
        }
        Ok(engine)
    })
    .clone()
}

fn config(metering: Metering) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    match metering {
        Metering::Epoch => config.epoch_interruption(true),
        Metering::Fuel => config.consume_fuel(true),
    };
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES * 4)
        .total_memories(POOL_INSTANCES)
        .total_tables(POOL_INSTANCES * 2)
        .max_memory_size(MAX_MEMORY_CAP);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Advances the epoch every [`EPOCH_TICK`] for as long as the process runs.
fn start_ticker(engine: Engine) -> Result<(), String> {
    std::thread::Builder::new()
        .name("klar-wasm-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .map(|_| ())
        .map_err(|e| format!("cannot start the epoch ticker thread: {e}"))
}
