# Protocols and user interface: VE.Direct text and HEX, the console and its authentication, Instant Readout.
# Pure like the core (shunt/) and importing only from it; adapters and the app sit above (docs/architecture.md).
