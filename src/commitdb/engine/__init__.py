"""The engine: opcodes and programs, replay, the DAG, states, mutable states, helpers."""
