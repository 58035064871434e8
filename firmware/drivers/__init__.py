# Adapters: one module per piece of hardware or transport (docs/core-interface.md, STYLE.md).
