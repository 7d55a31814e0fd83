//! UniLock: the simulator, the driver from desired state to UniLock objects, and the HTTP protocol.
