"""The network simulator: the real node logic over the in-memory transport, in simulated time.

docs/simulator.md says what is simulated for real and what is modelled; `run_scenario` in
engine.py is the entry point, `cctns sim kerala|india` the command.
"""
