//! Controllers: the systems klar drives (UniLock, MQTT).

pub mod mqtt;
pub mod unilock;
