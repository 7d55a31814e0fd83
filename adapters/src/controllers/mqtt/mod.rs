//! The MQTT controller driver: retained state and schedule topics for building automation.
