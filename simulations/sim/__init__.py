"""The network simulator: the real node logic over the in-memory transport, in simulated time.

docs/simulator.md says what is simulated for real and what is modelled; `run_scenario` in
engine.py is the entry point (parts.py when it is split over processes, `jobs`),
`cctns sim kerala|india` the command.
"""
