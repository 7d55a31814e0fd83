//! Rule-pack test cases (`cases/*.yaml`) and their snapshots.
