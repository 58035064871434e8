# Register-level fakes of the hardware, for host tests and the simulator. Never deployed to a board.
