# The board's asyncio tasks: one per concern (STYLE.md), driving the App (firmware/app.py) on the real clock.
# Spec: platform.md §2.7 (watchdog); battery-monitor.md §0.4 (board).

async def run(app, cfg, uart_console=None, ble=None, beacon=None, wdt=None, alert_flag=None):
    """Run the app on the board until reset. `cfg` is board_config; the hardware objects come from main.py."""
    import asyncio
    import time
    app.start(time.ticks_ms())
    health = [time.ticks_ms()]

    async def sample_task():
        # Every conversion: wait for the ALERT edge (or poll), read it, count it with the measured interval.
        while True:
            if alert_flag is not None:
                try:
                    await asyncio.wait_for_ms(alert_flag.wait(), 50)
                except asyncio.TimeoutError:
                    pass
            else:
                await asyncio.sleep_ms(20)
            now = time.ticks_ms()
            app.poll_sensor(now)
            health[0] = now

    async def port_task():
        while True:
            await asyncio.sleep_ms(20)
            app.poll_port(time.ticks_ms())

    async def beacon_task():
        while True:
            await asyncio.sleep_ms(1000)
            beacon.update(app.monitor)

    async def housekeeping_task():
        # Console lockouts run on measured time (proto.auth); a requested restart waits for its reply to leave.
        last = time.ticks_ms()
        while True:
            await asyncio.sleep_ms(200)
            now = time.ticks_ms()
            if app.auth is not None:
                app.auth.elapse(time.ticks_diff(now, last))
            last = now
            if app.restart_requested:
                await asyncio.sleep_ms(300)   # let the reply leave first
                import machine
                machine.reset()

    async def watchdog_task():
        # Fed only while the sampling task runs: a hung loop or a wedged sampler resets the board.
        while True:
            await asyncio.sleep_ms(1000)
            if time.ticks_diff(time.ticks_ms(), health[0]) < 3000:
                wdt.feed()

    tasks = [asyncio.create_task(sample_task()), asyncio.create_task(port_task()),
             asyncio.create_task(housekeeping_task())]
    if wdt is not None:
        tasks.append(asyncio.create_task(watchdog_task()))
    if beacon is not None:
        tasks.append(asyncio.create_task(beacon_task()))
    if uart_console is not None:
        tasks.append(asyncio.create_task(uart_console.run()))
    if ble is not None:
        tasks.append(asyncio.create_task(ble.run()))
    await asyncio.gather(*tasks)
